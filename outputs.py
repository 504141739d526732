"""Where a run writes, and the one rule it follows there: a run owns the files it writes, and only those.

- Every run writes into a hidden staging folder inside the output folder and, once everything is written,
  moves the finished files into place in one uninterrupted step (:func:`framescore.lifecycle.signals_deferred`).
  Whatever stops a run before that, the staging folder is removed, and so are the folders the run created.
- The output folder keeps a record of what framescore wrote there (``.framescore.json``: each file's size and
  modification time). A run replaces a file only when the record says framescore wrote it and it is unchanged
  since; any other file in its way (the user's own, or one the user edited) stops the run before any work, with
  a message naming it. Files of the earlier run that this run does not write again (the ``video.mp4`` of a
  video run when an image run follows, the stems of other tracks) are removed, again only if unchanged, so the
  folder never mixes two runs. Files the user added are never touched.
- No output may be, or replace, an input of the run (compared by inode, so hard links and other spellings of a
  path count too).
- Two runs cannot write one folder at the same time (an advisory lock on the folder).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .errors import FramescoreError
from .lifecycle import signals_deferred

__all__ = ["OutputError", "OutputFolder", "RECORD", "check_output_file", "display", "write_file_atomically"]

RECORD = ".framescore.json"
STAGING_PREFIX = ".framescore-partial-"


class OutputError(FramescoreError):
    """The output folder or file cannot be written, or writing it would replace something not ours."""


def display(path: str | os.PathLike) -> str:
    """A path as text that can always be printed and stored as UTF-8 (undecodable bytes as ``\\xNN``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _output_path(text: str | os.PathLike, what: str) -> Path:
    if not str(text).strip():
        raise OutputError(f"the {what} name is empty (give a path with -o)")
    return Path(text).expanduser().absolute()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _inputs_identities(inputs: Iterable[str | os.PathLike | None]) -> dict[tuple[int, int], Path]:
    found = {}
    for p in inputs:
        if p is None:
            continue
        p = Path(p)
        ident = _identity(p)
        if ident is not None and p.is_file():
            found[ident] = p
    return found


def _stat_entry(path: Path) -> list[int]:
    st = os.lstat(path)
    return [st.st_size, st.st_mtime_ns]


def check_output_file(out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None], *,
                      force: bool = False) -> Path:
    """Check a single output file (``framescore plan -o FILE``) before any work; returns its absolute path.

    An existing file is replaced only with ``force``; a folder, or an input of the run, never.
    """
    path = _output_path(out, "output file")
    if path.is_dir():
        raise OutputError(f"output {display(path)} is a folder; give a file name, e.g. {display(path / 'plan.json')}")
    ident = _identity(path)
    if ident is not None and ident in _inputs_identities(inputs):
        raise OutputError(f"output {display(path)} is an input of this run; choose another file")
    if path.exists() or path.is_symlink():
        if not force:
            raise OutputError(f"output {display(path)} already exists (use --force to replace it)")
        if not path.is_file():
            raise OutputError(f"output {display(path)} exists and is not a regular file")
    _writable_parent(path)
    return path


def _writable_parent(path: Path) -> None:
    """The nearest existing folder above ``path`` must be a writable folder (else nothing can be created)."""
    p = path.parent
    while not p.exists():
        p = p.parent
    if not p.is_dir():
        raise OutputError(f"cannot write {display(path)}: {display(p)} is not a folder")
    if not os.access(p, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {display(path)}: permission denied in {display(p)}")


def _make_dirs(path: Path) -> list[Path]:
    """``mkdir -p``; returns the folders it created, deepest last (to remove them again on failure)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    created = []
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        created.append(d)
    return created


def _remove_created(created: list[Path]) -> None:
    for d in reversed(created):
        try:
            d.rmdir()  # only if still empty: a file someone else put there keeps its folder
        except OSError:
            pass


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` through a temporary file beside it, moved into place; nothing is left if it fails."""
    created = _make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would make the file private, unlike any other
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        with signals_deferred():
            os.replace(tmp, path)
    except BaseException:
        with signals_deferred():
            Path(tmp).unlink(missing_ok=True)
            _remove_created(created)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class OutputFolder:
    """An output folder, checked and locked before any work, written through :meth:`staging`.

    ``names`` are the files the run expects to write (relative paths), checked early; the files actually staged
    are checked again when they are moved into place.
    """

    def __init__(self, out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = ()) -> None:
        self.path = _output_path(out, "output folder")
        self.inputs = _inputs_identities(inputs)
        if self.path.exists() and not self.path.is_dir():
            raise OutputError(f"output {display(self.path)} exists and is not a folder")
        if self.path.is_dir() and not os.access(self.path, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write output folder {display(self.path)}: permission denied")
        if not self.path.exists():
            _writable_parent(self.path)
        self._created: list[Path] = []
        self._lock_fd: int | None = None
        self._published = False

    # ----- the record of what framescore wrote here --------------------------------------------------------
    def _record(self) -> dict[str, list[int]]:
        try:
            data = json.loads((self.path / RECORD).read_text(encoding="utf-8"))
            files = data["files"]
            return {str(k): [int(v["size"]), int(v["mtime_ns"])] for k, v in files.items()}
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return {}  # no record, or one that cannot be read: nothing here counts as ours

    def _owned(self, rel: str, record: dict[str, list[int]]) -> bool:
        """Written by framescore (per the record) and unchanged since."""
        path = self.path / rel
        if rel not in record or path.is_symlink() or not path.is_file():
            return False
        return _stat_entry(path) == record[rel]

    def check(self, names: Iterable[str]) -> None:
        """Refuse, before any work, to write over an input or over a file framescore did not write here."""
        record = self._record()
        for rel in names:
            self._check_one(rel, record)

    def _check_one(self, rel: str, record: dict[str, list[int]]) -> None:
        dest = self.path / rel
        ident = _identity(dest)
        if ident is not None and ident in self.inputs:
            raise OutputError(f"output {display(dest)} is an input of this run ({display(self.inputs[ident])}); "
                              "choose another output folder")
        parent = dest.parent
        while parent != self.path:
            if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
                raise OutputError(f"{display(parent)} is in the way of {display(dest)}: "
                                  "move it away or choose another output folder")
            parent = parent.parent
        if (dest.exists() or dest.is_symlink()) and not self._owned(rel, record):
            raise OutputError(f"{display(dest)} was not written by framescore (or was changed since): "
                              "move it away or choose another output folder")

    # ----- a run ------------------------------------------------------------------------------------------
    @contextmanager
    def staging(self, names: Iterable[str] = ()) -> Iterator[Path]:
        """Lock the folder, check ``names``, yield a staging folder inside it; publish its files on success.

        On any failure or stop the staging folder goes, and so do the folders this run created.
        """
        try:
            self._created = _make_dirs(self.path)
        except OSError as e:
            raise OutputError(f"cannot create output folder {display(self.path)}: {e.strerror or e}") from None
        tmp: Path | None = None
        try:
            self._lock()
            self.check(names)
            tmp = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.path))
            yield tmp
            self._publish(tmp)
        except BaseException as e:
            if self._published and isinstance(e, KeyboardInterrupt):
                e.written = self.path  # type: ignore[attr-defined]  # the stop came once all was in place
            with signals_deferred():
                if tmp is not None:
                    shutil.rmtree(tmp, ignore_errors=True)
                self._unlock()
                _remove_created(self._created)
            raise
        with signals_deferred():
            shutil.rmtree(tmp, ignore_errors=True)
            self._unlock()

    def _lock(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(f"output folder {display(self.path)} is being written by another framescore run") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _publish(self, tmp: Path) -> None:
        staged = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        record = self._record()
        for rel in staged:
            self._check_one(rel, record)
        new = {rel: _stat_entry(tmp / rel) for rel in staged}  # a rename keeps size and mtime
        old = {rel: v for rel, v in record.items() if rel not in new and self._owned(rel, record)}
        kept_inputs = {rel: v for rel, v in old.items() if _identity(self.path / rel) in self.inputs}
        with signals_deferred():
            # first a record of both sets, so even a crash half-way leaves every file accounted for
            self._write_record({**old, **new}, tmp)
            for rel in staged:
                dest = self.path / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / rel, dest)
            for rel in old:
                if rel not in kept_inputs:
                    (self.path / rel).unlink(missing_ok=True)
                    self._remove_empty_parents(self.path / rel)
            self._write_record({**kept_inputs, **new}, tmp)
            self._created = []
            self._published = True  # a stop held back until here finds the run complete

    def _remove_empty_parents(self, path: Path) -> None:
        p = path.parent
        while p != self.path:
            try:
                p.rmdir()
            except OSError:
                return
            p = p.parent

    def _write_record(self, files: dict[str, list[int]], tmp: Path) -> None:
        data = {"written_by": f"framescore {__version__}",
                "note": "the files framescore wrote here; a later run replaces or removes them only if unchanged",
                "files": {rel: {"size": v[0], "mtime_ns": v[1]} for rel, v in sorted(files.items())}}
        part = tmp / (RECORD + ".partial")
        part.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.replace(part, self.path / RECORD)
