"""The studio's jobs: each in a folder of its own, run one at a time from a queue, so two browser tabs never
write over each other's work.

A job is written into ``<root>/<id>.part/`` and renamed to ``<root>/<id>/`` only when it is whole; a failed job's
folder is removed and its one-line error kept; stopping the server removes any ``.part`` folder, and so does the
next start after a crash. What a job holds: its input (``input.<ext>``, or ``plan.json`` for a re-compose), the
run's output folder ``out/`` (the command line's files), ``frames/`` (thumbnails of a clip) and ``job.json``.
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FramescoreError
from ..pipeline import Stages

__all__ = ["JOB_ID", "Job", "Jobs", "JobStages"]

JOB_ID = re.compile(r"[0-9a-f]{12}")


@dataclass
class Job:
    """What the page polls: where a job stands."""

    id: str
    kind: str  # video, image, text, midi, plan, recompose
    status: str = "queued"  # queued, running, done, failed
    stage: str = "waiting for the jobs before it"
    error: str | None = None
    parent: str | None = None
    bars: str | None = None
    input: str | None = None  # the input file's name in the job folder (a video, picture, MIDI or plan)
    video: str | None = None  # the clip the music is for (this job's input, or its parent's), for the page
    source_path: str | None = None  # the input's path (in the job folder, or on this machine)
    video_path: str | None = None  # the clip's path, for a re-compose to give it its new soundtrack
    frames_from: str | None = None  # the job whose thumbnails this one shows
    created: float = field(default_factory=time.time)
    seconds: dict[str, float] = field(default_factory=dict)
    wall_sec: float | None = None

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class JobStages(Stages):
    """The pipeline's stages, told to the job (the page shows ``job.stage``) instead of stderr."""

    job: Job | None = None

    @contextmanager
    def __call__(self, name: str, what: str) -> Iterator[None]:  # type: ignore[override]
        if self.job is not None:
            self.job.stage = what
        with Stages.__call__(self, name, what):
            yield


class Jobs:
    """The queue and the folders under ``root``: one worker thread runs the jobs in the order they came."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self.root.mkdir(parents=True, exist_ok=True)
        self.clean()
        self.jobs: dict[str, Job] = {}
        for f in sorted(self.root.glob("*/job.json")):
            try:
                job = Job(**json.loads(f.read_text()))
            except (OSError, ValueError, TypeError):
                continue
            self.jobs[job.id] = job
        self._queue: queue.Queue = queue.Queue()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name="framescore-studio-jobs", daemon=True)
        self._worker.start()

    def clean(self) -> None:
        """Remove every half-written job folder (``*.part``)."""
        for part in self.root.glob("*.part"):
            shutil.rmtree(part, ignore_errors=True)

    def new(self, kind: str, **fields: Any) -> tuple[Job, Path]:
        """A job and its (empty) ``.part`` folder, for its input to be written into before :meth:`submit`."""
        while True:
            jid = secrets.token_hex(6)
            if jid not in self.jobs and not (self.root / jid).exists():
                break
        job = Job(jid, kind, **fields)
        part = self.root / f"{jid}.part"
        part.mkdir()
        with self._lock:
            self.jobs[jid] = job
        return job, part

    def drop(self, job: Job) -> None:
        """A job refused before it ran (bad input): no folder, no record."""
        shutil.rmtree(self.root / f"{job.id}.part", ignore_errors=True)
        with self._lock:
            self.jobs.pop(job.id, None)

    def submit(self, job: Job, run: Callable[[Path, JobStages], None]) -> Job:
        """Queue ``run(part_folder, stages)`` for ``job``."""
        self._queue.put((job, run))
        return job

    def get(self, jid: str) -> Job | None:
        return self.jobs.get(jid) if JOB_ID.fullmatch(jid or "") else None

    def folder(self, jid: str) -> Path | None:
        """The finished job's folder, or None (no such job, or not done)."""
        job = self.get(jid)
        if job is None or job.status != "done":
            return None
        return self.root / jid

    def wait(self, jid: str, timeout: float = 120.0) -> Job:
        """Block until the job is done or failed (for tests and scripts)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            job = self.jobs[jid]
            if job.status in ("done", "failed"):
                return job
            time.sleep(0.05)
        raise TimeoutError(f"job {jid} still {self.jobs[jid].status} after {timeout:g} s")

    def shutdown(self, wait: float = 0.0) -> None:
        """Stop: no queued job starts, the one running is thrown away when it ends, and what is half-written is
        removed (now, and again by the worker as it stops). ``wait``: seconds to wait for the worker."""
        self._stopping.set()
        self._queue.put(None)
        self.clean()
        if wait:
            self._worker.join(wait)

    @property
    def idle(self) -> bool:
        """No worker running (it stopped)."""
        return not self._worker.is_alive()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, run = item
            part = self.root / f"{job.id}.part"
            if self._stopping.is_set():  # stopped: a queued job never starts
                shutil.rmtree(part, ignore_errors=True)
                job.status, job.stage, job.error = "failed", "failed", "the studio stopped before this job ran"
                continue
            job.status, job.stage = "running", "starting"
            stages = JobStages(quiet=True, job=job)
            try:
                run(part, stages)
            except Exception as e:  # one line for the page, as the command line would print it
                job.status, job.stage = "failed", "failed"
                if self._stopping.is_set():  # its folder went with the stop
                    job.error = "the studio stopped while this job ran"
                    shutil.rmtree(part, ignore_errors=True)
                    continue
                job.error = str(e).strip().splitlines()[0] if isinstance(e, FramescoreError) and str(e).strip() \
                    else f"unexpected {type(e).__name__}: {str(e).strip()[:200]}"
                if not isinstance(e, FramescoreError):
                    traceback.print_exc()
                shutil.rmtree(part, ignore_errors=True)
                continue
            if self._stopping.is_set():  # stopped while it ran: nothing half-kept
                shutil.rmtree(part, ignore_errors=True)
                job.status, job.stage, job.error = "failed", "failed", "the studio stopped while this job ran"
                continue
            job.seconds = {k: round(v, 3) for k, v in stages.seconds.items()}
            job.wall_sec = round(stages.wall_sec, 3)
            record = dict(job.public(), status="done", stage="done")
            (part / "job.json").write_text(json.dumps(record, indent=1))
            part.rename(self.root / job.id)  # whole: only now does the page see it
            job.status, job.stage = "done", "done"
