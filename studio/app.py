"""The studio's web app: FastAPI over the pipeline, the plan types and the job queue (:mod:`.jobs`).

Routes (all JSON but the files):

- ``GET /``: the page (``static/index.html``; its script and style under ``/static``);
- ``POST /api/jobs``: open something and compose it: a form with one of ``file`` (an upload: a clip, a picture,
  a MIDI file or a ``plan.json``, told apart by its content, never its name), ``path`` (a file on this machine)
  or ``text`` (words), and ``settings`` (JSON: engine, seed and the command line's overrides by their plan names);
- ``POST /api/jobs/{id}/compose``: an edited plan (JSON ``{"plan": ..., "bars": "9-16" | null}``) composed again,
  the whole piece or only those bars with every other bar's notes kept;
- ``POST /api/check``: an edited plan checked by the plan's own validation (the error names the bar);
- ``GET /api/jobs/{id}``: where the job stands, and once done its plan, notes, timeline, frames and files;
- ``GET /api/jobs/{id}/files/{name}`` and ``/frames/{n}.jpg``: a finished job's files, nothing outside them.

Every refusal is one line (``{"error": ...}``) with a 4xx status, before any work is queued.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from contextlib import asynccontextmanager

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ..errors import FramescoreError
from .jobs import Job, Jobs, JobStages

__all__ = ["DEFAULT_MAX_UPLOAD_MB", "SETTINGS", "create_app", "sniff"]

STATIC = Path(__file__).with_name("static")
DEFAULT_MAX_UPLOAD_MB = 512
#: The settings a job takes: engine and seed, and the overrides by their plan names (the command line's flags).
SETTINGS = ("engine", "seed", "tempo_bpm", "key", "meter", "chords", "mood", "valence", "arousal", "instruments",
            "duration_sec", "form", "style")
_NAME = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?")


def sniff(head: bytes) -> tuple[str, str] | None:
    """``(kind, extension)`` of a file from its first bytes: a clip, a picture, a MIDI file or a JSON plan; None
    for anything else."""
    if head[4:8] == b"ftyp":
        return "video", ".mov" if head[8:10] == b"qt" else ".mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video", ".webm" if b"webm" in head[:64] else ".mkv"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video", ".avi"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "video", ".gif"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image", ".png"
    if head[:3] == b"\xff\xd8\xff":
        return "image", ".jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", ".webp"
    if head[:2] == b"BM":
        return "image", ".bmp"
    if head[:4] == b"MThd":
        return "midi", ".mid"
    if head.lstrip()[:1] == b"{":
        return "plan", ".json"
    return None


class Refused(FramescoreError):
    """A request the studio refuses: ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _overrides(settings: dict[str, Any]):
    from ..vision.mapping import Overrides, coerce_overrides

    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise Refused(f"unknown setting {unknown[0]!r} (one of {', '.join(SETTINGS)})")
    try:
        given = coerce_overrides({k: v for k, v in settings.items() if v not in (None, "")})
        return Overrides(**given).validate()
    except FramescoreError as e:
        raise Refused(str(e)) from None


def _notes(piece) -> list[dict[str, Any]]:
    """Each track's notes in seconds, for the piano roll: ``[start, length, pitch, velocity]``."""
    out = []
    for t in piece.tracks:
        starts = piece.ticks_to_secs([n.start for n in t.notes])
        ends = piece.ticks_to_secs([n.end for n in t.notes])
        out.append({"name": t.name, "program": t.program, "drums": t.is_drum,
                    "notes": [[round(a, 4), round(b - a, 4), n.pitch, n.velocity]
                              for a, b, n in zip(starts, ends, t.notes)]})
    return out


def _timeline(plan) -> dict[str, Any]:
    lines = plan.bar_start_secs()
    return {
        "bars": [{"start": round(lines[b], 4), "end": round(lines[b + 1], 4),
                  "chords": [{"beat": c.beat, "chord": c.chord} for c in plan.bars[b].chords],
                  "density": plan.bars[b].density, "dynamics": plan.bars[b].dynamics,
                  "melody": plan.bars[b].melody} for b in range(plan.n_bars)],
        "sections": [{"label": s.label, "theme": s.theme, "role": s.role, "start_bar": s.start_bar,
                      "n_bars": s.n_bars, "cut_sec": s.cut_sec, "start": round(lines[s.start_bar], 4)}
                     for s in plan.sections],
        "duration": plan.duration_sec,
    }


def create_app(workdir: str | Path, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB, jobs: Jobs | None = None):
    """The app, its jobs under ``workdir`` (``app.state.jobs``)."""
    jobs = jobs or Jobs(workdir)
    limit = int(max_upload_mb * 1024 * 1024)

    @asynccontextmanager
    async def lifespan(app):
        yield
        jobs.shutdown()  # stopping the server leaves no half-written job folder

    app = FastAPI(title="framescore studio", lifespan=lifespan)
    app.state.jobs = jobs
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(Refused)
    async def refused(_request: Request, e: Refused):
        return JSONResponse({"error": str(e)}, status_code=e.status)

    @app.exception_handler(FramescoreError)
    async def bad_input(_request: Request, e: FramescoreError):
        return JSONResponse({"error": str(e).strip().splitlines()[0] if str(e).strip() else "refused"},
                            status_code=400)

    @app.get("/")
    def index():
        return FileResponse(STATIC / "index.html")

    @app.post("/api/jobs")
    async def open_job(file: UploadFile | None = File(None), path: str | None = Form(None),
                       text: str | None = Form(None), settings: str | None = Form(None)):
        given = [x for x in (file, path, text) if x not in (None, "")]
        if len(given) != 1:
            raise Refused("open one thing: a file upload, a path on this machine, or words")
        try:
            opts = json.loads(settings) if settings else {}
        except ValueError:
            raise Refused("settings must be a JSON object") from None
        if not isinstance(opts, dict):
            raise Refused("settings must be a JSON object")
        ov = _overrides(opts)
        if text:
            job, part = jobs.new("text")
            if ov.duration_sec is None:
                from ..vision.words import read_words

                if read_words(text).duration_sec is None:
                    jobs.drop(job)
                    raise Refused("music from words needs a duration (a duration setting, or words such as "
                                  "'30 seconds')")
            return _queue_text(job, text, ov)
        if file is not None:
            job, part = jobs.new("upload")
            try:
                kind, ext = await _save_upload(file, part, limit)
            except Refused:
                jobs.drop(job)
                raise
            src = part / f"input{ext}"
        else:
            src = Path(path).expanduser()
            if not src.is_file():
                raise Refused(f"no such file on this machine: {path}", 404)
            with open(src, "rb") as f:
                found = sniff(f.read(64))
            if found is None:
                raise Refused(f"{src.name}: not a clip, picture, MIDI file or plan by its content", 415)
            kind, ext = found
            from ..pipeline import input_kind

            named = input_kind(src)
            if named != kind:
                raise Refused(f"{src.name}: its name says {named} but its content is {kind}", 415)
            job, part = jobs.new(kind)
        job.kind = kind
        try:
            return _queue_file(job, part, src, kind, ov)
        except FramescoreError:
            jobs.drop(job)
            raise

    def _queue_text(job: Job, text: str, ov) -> dict[str, Any]:
        from .. import pipeline

        def run(part: Path, stages: JobStages) -> None:
            pipeline.score_text(text, part / "out", ov, quiet=True, stages=stages)

        jobs.submit(job, run)
        return {"id": job.id}

    def _queue_file(job: Job, part: Path, src: Path, kind: str, ov) -> dict[str, Any]:
        from .. import pipeline

        job.input = src.name if src.parent == part else None
        if kind in ("video", "image"):
            pipeline.check_picture(src, kind)  # the header reads, before the work is queued
            pipeline.check_overrides(ov, kind)
            job.video = src.name if kind == "video" else None

            def run(part: Path, stages: JobStages) -> None:
                frames = part / "frames"
                score = pipeline.score_video if kind == "video" else pipeline.score_image
                score(src, part / "out", ov, quiet=True, stages=stages,
                      on_features=lambda f: _save_frames(f, frames))
        elif kind == "midi":
            pipeline.check_midi_overrides(ov)

            def run(part: Path, stages: JobStages) -> None:
                plan = pipeline.plan_midi(src, ov, stages)
                pipeline.compose_plan(plan, part / "out", quiet=True, stages=stages)
        else:
            from ..symbolic.plan import load_plan

            plan = load_plan(src)
            for k, v in ov.given().items():
                if k in ("engine", "seed"):
                    setattr(plan, k, v)
            plan.validate()

            def run(part: Path, stages: JobStages) -> None:
                pipeline.compose_plan(plan, part / "out", quiet=True, stages=stages)
        job.source_path = str(src)
        job.video_path = str(src) if kind == "video" else None
        jobs.submit(job, run)
        return {"id": job.id}

    @app.post("/api/jobs/{jid}/compose")
    async def recompose(jid: str, request: Request):
        from .. import pipeline
        from ..symbolic.plan import MusicPlan

        parent = jobs.folder(jid)
        pjob = jobs.get(jid)
        if parent is None or pjob is None:
            raise Refused(f"no finished job {jid}", 404)
        try:
            body = await request.json()
        except ValueError:
            raise Refused("send JSON: {\"plan\": ..., \"bars\": \"9-16\" or null}") from None
        if not isinstance(body, dict) or not isinstance(body.get("plan"), dict):
            raise Refused("send JSON with the edited plan: {\"plan\": {...}, \"bars\": \"9-16\" or null}")
        plan = MusicPlan.from_dict(body["plan"])
        bars = body.get("bars")
        if bars is not None:
            pipeline.parse_bars(str(bars), plan.n_bars)
        video = _video_of(parent, pjob)
        job, part = jobs.new("recompose", parent=jid, bars=bars, video=pjob.video)
        job.frames_from = pjob.frames_from or jid
        (part / "plan.json").write_text(plan.to_json(), encoding="utf-8")
        keep = parent / "out" / "score.mid"

        def run(part: Path, stages: JobStages) -> None:
            pipeline.compose_plan(plan, part / "out", quiet=True, plan_path=part / "plan.json",
                                  bars=None if bars is None else str(bars), keep=None if bars is None else keep,
                                  video=video, stages=stages)

        job.input = "plan.json"
        job.video_path = str(video) if video else None
        jobs.submit(job, run)
        return {"id": job.id}

    def _video_of(folder: Path, job: Job) -> Path | None:
        if job.video is None:
            return None
        if job.video_path:
            moved = folder / Path(job.video_path).name  # an upload: its .part folder is now the job's
            for path in (Path(job.video_path), moved):
                if path.is_file():
                    return path
        return None

    @app.post("/api/check")
    async def check(request: Request):
        from ..symbolic.plan import MusicPlan

        try:
            body = await request.json()
            MusicPlan.from_dict(body["plan"])
        except FramescoreError as e:
            msg = str(e).strip().splitlines()[0]
            m = re.match(r"bar (\d+)", msg)
            return {"ok": False, "error": msg, "bar": int(m.group(1)) if m else None}
        except (ValueError, KeyError, TypeError):
            return {"ok": False, "error": "send JSON: {\"plan\": {...}}", "bar": None}
        return {"ok": True}

    @app.get("/api/jobs/{jid}")
    def status(jid: str):
        job = jobs.get(jid)
        if job is None:
            raise Refused(f"no job {jid}", 404)
        out: dict[str, Any] = job.public()
        folder = jobs.folder(jid)
        if folder is None:
            return out
        from ..symbolic.midi_io import read_midi
        from ..symbolic.plan import load_plan

        run = folder / "out"
        plan = load_plan(run / "plan.json")
        out["plan"] = plan.to_dict()
        out["timeline"] = _timeline(plan)
        out["tracks"] = _notes(read_midi(run / "score.mid"))
        out["files"] = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()
                              and not p.name.startswith("."))
        out["stems"] = sorted(p.stem for p in (run / "stems").glob("*.wav"))
        src = job.frames_from or jid
        frames_dir = jobs.root / src / "frames"
        index = frames_dir / "frames.json"
        out["frames"] = [{"t": t, "url": f"/api/jobs/{src}/frames/{i}.jpg"}
                         for i, t in enumerate(json.loads(index.read_text()))] if index.is_file() else []
        video = next((n for n in out["files"] if n.startswith("video.")), None)
        out["video_file"] = video
        return out

    @app.get("/api/jobs/{jid}/files/{name:path}")
    def files(jid: str, name: str):
        folder = jobs.folder(jid)
        if folder is None:
            raise Refused(f"no finished job {jid}", 404)
        return FileResponse(_inside(folder / "out", name), filename=Path(name).name)

    @app.get("/api/jobs/{jid}/frames/{name}")
    def frames(jid: str, name: str):
        folder = jobs.folder(jid)
        if folder is None or not re.fullmatch(r"\d{1,4}\.jpg", name):
            raise Refused("no such frame", 404)
        return FileResponse(_inside(folder / "frames", name))

    return app


def _inside(base: Path, name: str) -> Path:
    """``base / name`` when it is a file inside ``base`` (no ``..``, no link out), else a 404."""
    if not _NAME.fullmatch(name) or ".." in name.split("/"):
        raise Refused(f"no such file: {name}", 404)
    path = (base / name).resolve()
    if not path.is_file() or base.resolve() not in path.parents:
        raise Refused(f"no such file: {name}", 404)
    return path


async def _save_upload(file, part: Path, limit: int) -> tuple[str, str]:
    """Stream an upload into the job folder, at most ``limit`` bytes, its kind told by its content."""
    head = await file.read(64)
    found = sniff(head)
    if found is None:
        raise Refused(f"{file.filename or 'the upload'}: not a clip, picture, MIDI file or plan by its content",
                      415)
    kind, ext = found
    dest = part / f"input{ext}"
    size = len(head)
    with open(dest, "wb") as f:
        f.write(head)
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise Refused(f"{file.filename or 'the upload'}: larger than the studio's limit of "
                              f"{limit / 1024 / 1024:g} MB (framescore studio --max-upload-mb)", 413)
            f.write(chunk)
    return kind, ext


def _save_frames(features, folder: Path, most: int = 48) -> None:
    """A clip's thumbnails (from its analysis) as JPEGs and their times, for the page's timeline."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    thumbs = list(getattr(features, "thumbnails", []) or [])
    step = max(1, len(thumbs) // most)
    times = []
    for i, (t, rgb) in enumerate(thumbs[::step][:most]):
        Image.fromarray(rgb).save(folder / f"{i}.jpg", quality=80)
        times.append(round(float(t), 3))
    (folder / "frames.json").write_text(json.dumps(times))
