"""How a run stops: every stop signal unwinds like Ctrl-C, children end with the run, the final move is whole.

- SIGTERM and SIGHUP (a plain ``kill``, ``timeout``, a closed terminal, a cancelled job) raise
  :class:`Interrupted` in the main thread, a :class:`KeyboardInterrupt`, so every ``finally`` and ``with`` runs
  exactly as for Ctrl-C: the staging folder is removed and the children are stopped.
- Children die with the run even when it is killed outright: ffmpeg is started by :func:`start` or :func:`run`
  (Linux's parent-death signal, and a stop arriving during the start is not lost), and forked workers
  (:class:`ForkedCall`) set the same on themselves.
- :func:`signals_deferred` holds stop signals back over a short critical section (the renames that publish a
  finished run, the removal of a staging folder) and delivers them after it, so a stop never lands half-way.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ForkedCall", "Interrupted", "STOP_SIGNALS", "WorkerError", "become_worker", "child_preexec", "exit_status",
           "install_handlers", "run", "signals_deferred", "start"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


class WorkerError(RuntimeError):
    """A forked worker that died without an answer (killed, or out of memory)."""


class Interrupted(KeyboardInterrupt):
    """A stop signal other than SIGINT, raised where the main thread is, so the run unwinds and cleans up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def install_handlers() -> None:
    """SIGTERM and SIGHUP raise :class:`Interrupted` (SIGINT already raises KeyboardInterrupt).

    Only the main thread can take signals; called from another (a server running a job), it does nothing.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _raise_interrupted)


def exit_status(stop: KeyboardInterrupt) -> int:
    """The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)."""
    return 128 + getattr(stop, "signum", signal.SIGINT)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Block the stop signals inside the block; one that arrived meanwhile is delivered (and raised) after it."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()  # looked up once here: nothing is imported or allocated in a freshly forked child


def child_preexec() -> None:
    """In a new child, before it runs: it gets SIGKILL when this process dies, however it dies."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


@contextmanager
def _forking() -> Iterator[list]:
    """Hold stop signals back while a child is created, then deliver them; ``started`` collects the child.

    Python runs its at-fork hooks around the fork (``os.fork``, and ``subprocess`` with a ``preexec_fn``), and
    an exception raised by a signal handler inside such a hook is printed and swallowed: the stop would be
    lost. Held back, it is raised once the child exists; the block's ``cleanup`` callables then end the child,
    which the caller never got to see.
    """
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    cleanup: list = []
    try:
        yield cleanup
    finally:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a held-back stop is raised here
        except BaseException:
            for end in cleanup:
                end()
            raise


def _child_setup() -> None:
    child_preexec()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # the child can be stopped like any program


def start(cmd: list[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` for a helper program (ffmpeg): it dies with this process, and a stop signal that
    arrives while it is being started is not lost (:func:`_forking`)."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)  # a helper never reads the user's terminal (or CI's pipe)
    with _forking() as cleanup:
        proc = subprocess.Popen(cmd, preexec_fn=_child_setup, **kwargs)
        cleanup.append(lambda: (proc.kill(), proc.wait()))
    return proc


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, ...)`` through :func:`start`: the child is killed if this
    process is stopped while it runs."""
    with start(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs) as proc:
        try:
            out, err = proc.communicate()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def become_worker() -> None:
    """In a forked worker: die with the parent, and leave stop signals to it (no traceback from Ctrl-C).

    The terminal sends Ctrl-C to the whole process group; the parent decides what happens and stops the
    worker itself, so the worker ignores SIGINT and takes SIGTERM and SIGHUP by default (they end it at once).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    child_preexec()


class ForkedCall:
    """``fn(*args)`` in a forked child (which has every module already, so it starts at once).

    :meth:`result` waits and returns its value or raises its exception; :meth:`stop` ends it at once. The
    child never prints a traceback of its own: whatever it raises comes back to the parent, which reports it.

    With ``later=True`` the child is forked now and given its arguments later (:meth:`submit`, pickled; ``fn``
    itself is the child's from the fork): it runs ``warm()`` first (imports, say, while the parent does other
    work; a failure there is left for ``fn`` to meet again).
    """

    def __init__(self, fn, *args, warm=None, later: bool = False) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        r, w = os.pipe()
        jobs_r, jobs_w = os.pipe() if later else (None, None)
        self.pid: int | None = None
        self._fd: int | None = None
        self._jobs: int | None = None
        with _forking() as cleanup:
            pid = os.fork()
            if pid == 0:  # the child: run, send the answer, leave without running the parent's exit handlers
                os.close(r)
                if jobs_w is not None:
                    os.close(jobs_w)
                self._child(fn, args, w, parent, jobs_r, warm)
            os.close(w)
            if jobs_r is not None:
                os.close(jobs_r)
            self.pid, self._fd, self._jobs = pid, r, jobs_w
            cleanup.append(self.stop)

    def submit(self, *args) -> None:
        """Give a child forked with ``later=True`` its arguments. They are written to it by a thread, so this
        does not wait for the child's warm-up to end before it reads them."""
        import threading

        assert self._jobs is not None, "a ForkedCall takes one call"
        fd, self._jobs = self._jobs, None
        data = pickle.dumps(args)

        def send() -> None:
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            except OSError:  # the child is gone: result() says so
                pass

        threading.Thread(target=send, name="ForkedCall.submit", daemon=True).start()

    @staticmethod
    def _child(fn, args, w: int, parent: int, jobs: int | None = None, warm=None) -> None:
        code = 1
        try:
            try:
                become_worker()
                signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
                if os.getppid() != parent:  # the parent died before the death signal was armed
                    os._exit(1)
                if jobs is not None:
                    if warm is not None:
                        try:
                            warm()
                        except Exception:  # noqa: BLE001 - the call meets it again, and reports it
                            pass
                    with os.fdopen(jobs, "rb") as f:
                        job = f.read()
                    if not job:  # the parent closed without a call
                        os._exit(0)
                    args = pickle.loads(job)
                answer = ("ok", fn(*args))
                code = 0
            except BaseException as e:  # noqa: BLE001 - everything goes back to the parent
                answer = ("error", e)
            try:
                data = pickle.dumps(answer)
            except Exception as e:  # noqa: BLE001 - an exception that cannot be pickled
                data = pickle.dumps(("error", WorkerError(f"{type(answer[1]).__name__}: {answer[1]} ({e})")))
            with os.fdopen(w, "wb") as f:
                f.write(data)
        finally:
            os._exit(code)

    def result(self):
        assert self._fd is not None and self.pid is not None
        with os.fdopen(self._fd, "rb") as f:
            self._fd = None
            data = f.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if not data:
            why = (f"killed by {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
                   else f"exit status {os.waitstatus_to_exitcode(status)}")
            raise WorkerError(f"a worker process died without an answer ({why})")
        kind, value = pickle.loads(data)
        if kind == "error":
            raise value
        return value

    def stop(self) -> None:
        """End the child now (if it still runs) and reap it."""
        if self._jobs is not None:
            os.close(self._jobs)
            self._jobs = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None
