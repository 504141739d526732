"""The stages tied together: input → plan → piece → files. No music logic lives here.

Every run writes into a hidden temporary folder beside the output folder and moves the finished files into
place at the end, so a failure leaves nothing half-written behind.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FramescoreError
from .symbolic.piece import Piece
from .symbolic.plan import MusicPlan

VIDEO_EXTS = {".mp4", ".mov", ".avi", ".webm", ".mkv", ".gif", ".m4v"}
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
DEFAULT_IMAGE_DURATION = 20.0


class OutputError(FramescoreError):
    """The output folder cannot be written."""


class InputError(FramescoreError):
    """An input path that is missing or of a kind framescore does not read."""


@dataclass
class Stages:
    """Times each stage and tells the user what is happening (on stderr), so long work shows progress."""

    quiet: bool = False
    seconds: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @property
    def wall_sec(self) -> float:
        """Seconds since the run began (stages may overlap, so this is less than their sum)."""
        return time.perf_counter() - self.started

    @contextmanager
    def __call__(self, name: str, what: str) -> Iterator[None]:
        if not self.quiet:
            print(f"framescore: {what}…", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def progress(self, label: str) -> Callable[..., None] | None:
        """A callback taking a fraction done (or ``done, total``), drawn as a bar on a terminal (nothing otherwise)."""
        if self.quiet or not sys.stderr.isatty():
            return None

        def show(done: float, total: float = 1.0) -> None:
            frac = done / total if total else 1.0
            n = int(30 * min(max(frac, 0.0), 1.0))
            end = "\n" if frac >= 1.0 else ""
            print(f"\r  {label} [{'#' * n}{'.' * (30 - n)}] {100 * frac:3.0f}%", end=end, file=sys.stderr, flush=True)
        return show


@contextmanager
def staged_output(out_dir: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success move its contents into ``out_dir``, on failure remove it."""
    out = Path(out_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as e:
        raise OutputError(f"cannot write output folder {out}: {e.strerror or e}") from None
    if out.exists() and not os.access(out, os.W_OK | os.X_OK):
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot write output folder {out}: permission denied")
    try:
        yield tmp
        out.mkdir(exist_ok=True)
        for item in sorted(tmp.iterdir()):
            dest = out / item.name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(item, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def input_kind(path: str | Path) -> str:
    """``"video"``, ``"image"``, ``"plan"`` or ``"midi"`` from the file name; errors for a missing file."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"input not found: {p}")
    if not p.is_file():
        raise InputError(f"input is not a file: {p}")
    ext = p.suffix.lower()
    if ext in VIDEO_EXTS:
        return "video"
    if ext in IMAGE_EXTS:
        return "image"
    if ext == ".json":
        return "plan"
    if ext in (".mid", ".midi"):
        return "midi"
    raise InputError(f"unsupported input type {ext or '(no extension)'!r}: {p} "
                     f"(videos: {', '.join(sorted(VIDEO_EXTS))}; pictures: {', '.join(sorted(IMAGE_EXTS))})")


# ----- stages --------------------------------------------------------------------------------------------------
def analyze(path: str | Path, kind: str, stages: Stages):
    from .vision.features import analyze_image, analyze_video

    if kind == "video":
        with stages("analyze", f"analysing {Path(path).name}"):
            return analyze_video(path, progress=stages.progress("frames"))
    with stages("analyze", f"analysing {Path(path).name}"):
        return analyze_image(path)


def make_plan(features, overrides, source: dict[str, Any], stages: Stages) -> MusicPlan:
    from .vision.mapping import plan_from_features

    with stages("plan", "planning the music"):
        return plan_from_features(features, overrides, source=source)


def compose(plan: MusicPlan, stages: Stages, melody: str | Path | None = None) -> Piece:
    """Realize the plan; ``melody`` (a MIDI file) is kept and accompanied, which the diffusion engine can do."""
    from .symbolic.engines import compose as engine_compose

    if melody is not None and plan.engine != "diffusion":
        raise InputError(f"--melody needs --engine diffusion (the {plan.engine} engine cannot keep a given melody)")
    with stages("compose", f"composing {plan.n_bars} bars with the {plan.engine} engine"):
        if melody is not None:
            from .symbolic.engines.diffusion import compose_with_melody

            return compose_with_melody(plan, melody)
        return engine_compose(plan)


def write_outputs(piece: Piece, out: Path, stages: Stages, *, features=None, video: Path | None = None,
                  soundfont: str | None = None, reference: str | None = None, audio: bool = True) -> dict[str, Any]:
    """Write every file of a run into ``out`` (a staging folder). Returns the metrics report.

    Notation and pictures (music21, matplotlib: pure Python) are written by a forked process while this one
    makes the audio (FluidSynth, ffmpeg), so the two halves run on two cores without sharing a GIL. Where fork
    is not available they run one after the other.
    """
    from .symbolic.metrics import score_piece
    from .symbolic.midi_io import write_midi

    plan = piece.plan
    if plan is not None:
        plan.save(out / "plan.json")
    write_midi(piece, out / "score.mid")
    pool = _fork_pool()
    notation = pool.submit(_write_notation, piece, out, features, stages.quiet) if pool else None
    try:
        if notation is None:
            stages.seconds["write"] = _write_notation(piece, out, features, stages.quiet)
        if audio:
            render_audio(piece, out, stages, soundfont=soundfont)
            if video is not None:
                from .render.mux import mux_video

                with stages("mux", "putting the soundtrack under the video"):
                    mux_video(video, out / "mix.wav", out / "video.mp4")
        if notation is not None:
            stages.seconds["write"] = notation.result()
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    with stages("score", "scoring the result"):
        ref = _load_reference(reference)
        report = score_piece(piece, plan, reference=ref)
        _save_json(report, out / "report.json")
    return report


def _fork_pool():
    """A one-worker process pool started by fork (cheap: the child has every module already), or None."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))


def _write_notation(piece: Piece, out: Path, features, quiet: bool) -> float:
    """MusicXML, piano roll and timeline. Returns the seconds it took."""
    from .symbolic.musicxml import write_musicxml
    from .symbolic.plot import write_pianoroll

    t0 = time.perf_counter()
    if not quiet:
        print("framescore: writing MusicXML and pictures…", file=sys.stderr, flush=True)
    write_musicxml(piece, out / "score.musicxml")
    write_pianoroll(piece, out / "pianoroll.png")
    if piece.plan is not None:
        from .vision.timeline import write_timeline

        write_timeline(features, piece.plan, out / "timeline.png")
    return time.perf_counter() - t0


def render_audio(piece: Piece, out: Path, stages: Stages, soundfont: str | None = None) -> None:
    from .render.mix import mix_stems
    from .render.synth import SAMPLE_RATE, find_soundfont, render_stems

    sf2 = find_soundfont(soundfont)
    with stages("render", f"rendering {len(piece.tracks)} stems with FluidSynth"):
        stems = render_stems(piece, out / "stems", sf2, sample_rate=SAMPLE_RATE, progress=stages.progress("stems"))
    with stages("mix", "mixing"):
        mix_stems(stems, out / "mix.wav", sample_rate=SAMPLE_RATE)


def _load_reference(reference: str | None):
    if reference is None:
        return None
    from .symbolic.metrics import load_reference

    return load_reference(reference)


def _save_json(obj: Any, path: Path) -> None:
    import json

    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False, default=_json_default) + "\n",
                    encoding="utf-8")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


# ----- the user-facing jobs ------------------------------------------------------------------------------------
def score_video(path: str | Path, out_dir: str | Path, overrides, *, soundfont: str | None = None,
                reference: str | None = None, quiet: bool = False, melody: str | None = None) -> Stages:
    """``framescore video``: the whole path for a clip, ending with the clip and its new soundtrack."""
    return _score_picture("video", path, out_dir, overrides, soundfont, reference, quiet, melody)


def score_image(path: str | Path, out_dir: str | Path, overrides, *, soundfont: str | None = None,
                reference: str | None = None, quiet: bool = False, melody: str | None = None) -> Stages:
    """``framescore image``: a still picture, music of the asked duration."""
    return _score_picture("image", path, out_dir, overrides, soundfont, reference, quiet, melody)


def _score_picture(kind: str, path: str | Path, out_dir: str | Path, overrides, soundfont: str | None,
                   reference: str | None, quiet: bool, melody: str | None = None) -> Stages:
    stages = Stages(quiet)
    if input_kind(path) != kind:
        other = "image" if kind == "video" else "video"
        raise InputError(f"not a {'video' if kind == 'video' else 'picture'} file: {path} "
                         f"(use `framescore {other}` for {'pictures' if kind == 'video' else 'clips'})")
    _check_soundfont(soundfont)
    features = analyze(path, kind, stages)
    plan = make_plan(features, overrides, {"input": str(path), "kind": kind}, stages)
    piece = compose(plan, stages, melody)
    with staged_output(out_dir) as out:
        write_outputs(piece, out, stages, features=features, video=Path(path) if kind == "video" else None,
                      soundfont=soundfont, reference=reference)
    return stages


def score_text(text: str, out_dir: str | Path, overrides, *, soundfont: str | None = None,
               reference: str | None = None, quiet: bool = False, melody: str | None = None) -> Stages:
    """``framescore text``: a plan from words alone."""
    from .vision.mapping import plan_from_text

    stages = Stages(quiet)
    _check_soundfont(soundfont)
    with stages("plan", "planning the music from the description"):
        plan = plan_from_text(text, overrides.duration_sec, overrides)
    piece = compose(plan, stages, melody)
    with staged_output(out_dir) as out:
        write_outputs(piece, out, stages, soundfont=soundfont, reference=reference)
    return stages


def compose_plan(plan: MusicPlan, out_dir: str | Path, *, soundfont: str | None = None,
                 reference: str | None = None, quiet: bool = False, melody: str | None = None) -> Stages:
    """``framescore compose``: realize a plan, edited or not."""
    stages = Stages(quiet)
    _check_soundfont(soundfont)
    piece = compose(plan, stages, melody)
    with staged_output(out_dir) as out:
        write_outputs(piece, out, stages, soundfont=soundfont, reference=reference)
    return stages


def render_midi(midi: str | Path, out_dir: str | Path, *, soundfont: str | None = None, quiet: bool = False) -> Stages:
    """``framescore render``: any MIDI file to stems and a mix."""
    from .symbolic.midi_io import read_midi

    stages = Stages(quiet)
    _check_soundfont(soundfont)
    with stages("read", f"reading {Path(midi).name}"):
        piece = read_midi(midi)
    with staged_output(out_dir) as out:
        render_audio(piece, out, stages, soundfont=soundfont)
    return stages


def _check_soundfont(soundfont: str | None) -> None:
    """Fail before any work when no soundfont can be found."""
    from .render.synth import find_soundfont

    find_soundfont(soundfont)
