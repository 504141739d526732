"""The stages tied together: input → plan → piece → files. No music logic lives here.

Every job first checks everything it can without doing the work (the input's header, every override, the
soundfont, a melody file, the reference set, the output folder), so bad input is refused in a moment, not after
the analysis. Then it writes into a staging folder that :class:`framescore.outputs.OutputFolder` publishes
whole at the end, following its rule: a run owns the files it writes, and only those.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FramescoreError
from .media import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from .outputs import OutputError, OutputFolder, display
from .symbolic.piece import Piece
from .symbolic.plan import MusicPlan

__all__ = ["DEFAULT_IMAGE_DURATION", "IMAGE_EXTS", "InputError", "OutputError", "Stages", "VIDEO_EXTS",
           "compose_plan", "hear_hits", "input_kind", "listen", "output_names", "plan_picture", "render_midi",
           "score_image", "score_text", "score_video", "with_hits"]

VIDEO_EXTS = VIDEO_EXTENSIONS  # one list for the whole project: framescore.media's
IMAGE_EXTS = IMAGE_EXTENSIONS
DEFAULT_IMAGE_DURATION = 20.0
#: The files of a composing run, besides ``stems/<track>.wav`` (``video.mp4`` only for a video).
COMPOSED_FILES = ("plan.json", "score.mid", "score.musicxml", "mix.wav", "report.json", "pianoroll.png",
                  "timeline.png")


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
        """A callback taking a fraction done (or ``done, total``), drawn by tqdm on a terminal (nothing otherwise)."""
        if self.quiet or not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        bar = tqdm(total=1000, desc=f"  {label}", file=sys.stderr, leave=True, ncols=80, nrows=24,
                   bar_format="{desc} |{bar:30}| {percentage:3.0f}% {elapsed}<{remaining}")

        def show(done: float, total: float = 1.0) -> None:
            frac = min(max(done / total if total else 1.0, 0.0), 1.0)
            bar.update(round(1000 * frac) - bar.n)
            if frac >= 1.0:
                bar.close()
        return show


def input_kind(path: str | Path) -> str:
    """``"video"``, ``"image"``, ``"plan"`` or ``"midi"`` from the file name; errors for a missing file."""
    p = Path(path)
    if not str(path).strip():
        raise InputError("the input file name is empty")
    if not p.exists():
        raise InputError(f"input not found: {display(p)}")
    if not p.is_file():
        raise InputError(f"input is not a file: {display(p)}")
    ext = p.suffix.lower()
    if ext in VIDEO_EXTS:
        return "video"
    if ext in IMAGE_EXTS:
        return "image"
    if ext == ".json":
        return "plan"
    if ext in (".mid", ".midi"):
        return "midi"
    raise InputError(f"unsupported input type {ext or '(no extension)'!r}: {display(p)} "
                     f"(videos: {', '.join(sorted(VIDEO_EXTS))}; pictures: {', '.join(sorted(IMAGE_EXTS))})")


def output_names(kind: str, piece: Piece | None = None, video: str = "video.mp4") -> list[str]:
    """The files a run of ``kind`` (video, image, text, compose, render) writes, as paths relative to its folder;
    ``video`` is a video run's clip with its soundtrack (:func:`framescore.render.mux.output_name`)."""
    from .render.synth import stem_names

    names = ["mix.wav"] if kind == "render" else list(COMPOSED_FILES)
    names += [video] if kind == "video" else []
    if piece is not None:
        names += [f"stems/{n}.wav" for n in stem_names(piece)]
    return names


# ----- checks that come before any work ------------------------------------------------------------------------
def check_picture(path: str | Path, kind: str):
    """The input exists, is a ``kind`` file by its name, and its header reads as one (milliseconds). Returns a
    video's header (:class:`framescore.vision.video.VideoInfo`), None for a picture."""
    found = input_kind(path)
    if found != kind:
        other = "image" if kind == "video" else "video"
        raise InputError(f"not a {'video' if kind == 'video' else 'picture'} file: {display(path)} "
                         f"(use `framescore {other}` for {'pictures' if kind == 'video' else 'clips'})")
    from .vision.video import check_image, probe

    if kind == "video":
        return probe(path)
    check_image(path)
    return None


def check_overrides(overrides, kind: str):
    """Every override is valid, and a still picture has the duration it needs. Returns the overrides."""
    overrides.validate()
    if kind == "image" and overrides.duration_sec is None:
        raise InputError("a still picture needs a duration for its music (--duration SECONDS)")
    return overrides


#: What a plan read from a MIDI file can take from the flags; the rest (its bars, meter, chords, form) is the file's.
MIDI_OVERRIDES = ("tempo_bpm", "key", "valence", "arousal", "instruments", "seed", "engine")


def check_midi_overrides(overrides):
    """The flags a plan read from a MIDI file takes (:data:`MIDI_OVERRIDES`), each valid; one line for any other."""
    overrides.validate()
    other = [name for name in overrides.given() if name not in MIDI_OVERRIDES]
    if other:
        flag = "--" + other[0].replace("_bpm", "").replace("_sec", "").replace("_", "-")
        raise InputError(f"{flag} does not apply to a MIDI file: its bars, meter, chords and form are read from it "
                         "(edit plan.json to change them)")
    return overrides


def plan_midi(path: str | Path, overrides, stages: Stages) -> MusicPlan:
    """``framescore plan song.mid``: the file read into a plan (:func:`framescore.symbolic.reading.plan_from_piece`),
    then the flags: a tempo scales every section's, a key of the same mode moves the chords there, valence and arousal replace the
    classifier's, instruments replace a role's program (``none`` drops it)."""
    from .symbolic.midi_io import read_midi
    from .symbolic.reading import plan_from_piece
    from .vision.mapping import parse_instruments

    with stages("read", f"reading {display(Path(path).name)}"):
        piece = read_midi(path)
        plan = plan_from_piece(piece, str(path), engine=overrides.engine or "rule", seed=overrides.seed or 0)
    if overrides.tempo_bpm is not None:
        factor = overrides.tempo_bpm / plan.tempo_bpm
        plan.tempo_bpm = overrides.tempo_bpm
        for sec in plan.sections:
            if sec.tempo_bpm is not None:
                sec.tempo_bpm = round(min(300.0, max(30.0, sec.tempo_bpm * factor)), 3)
        plan.duration_sec = round(plan.duration_sec / factor, 6)
    if overrides.key is not None:
        from .symbolic.chords import parse_chord, parse_key

        new, old = parse_key(overrides.key), plan.key_obj
        if new.mode != old.mode:
            raise InputError(f"--key {new.name}: {display(Path(path).name)} reads as {old.name}; its chords move "
                             f"to another {old.mode} key only (edit plan.json to change the mode)")
        shift = (new.tonic - old.tonic) % 12
        for bar in plan.bars:
            for slot in bar.chords:
                slot.chord = parse_chord(slot.chord).transpose(shift).symbol(new.uses_flats)
        plan.key = new.name
    for name in ("valence", "arousal"):
        if getattr(overrides, name) is not None:
            setattr(plan, name, getattr(overrides, name))
            for sec in plan.sections:
                setattr(sec, name, getattr(overrides, name))
    if overrides.instruments:
        inst = {**plan.instrumentation, **parse_instruments(overrides.instruments)}
        plan.instrumentation = {r: p for r, p in inst.items() if p is not None}
    if overrides.given():
        plan.source["overrides"] = overrides.given()
    return plan.validate()


def _check_melody_engine(engine: str) -> None:
    """The engine keeps a given melody: its registry entry says so (``keeps_melody``)."""
    from .symbolic.engines import registry

    able = [name for name, info in registry().items() if info.keeps_melody]
    if engine not in able:
        raise InputError(f"--melody needs --engine {' or '.join(able)} "
                         f"(the {engine} engine cannot keep a given melody)")


def check_melody(melody: str | Path | None, engine: str) -> None:
    """``--melody`` is a readable MIDI file and the engine can keep it."""
    if melody is None:
        return
    _check_melody_engine(engine)
    from .symbolic.midi_io import read_midi

    read_midi(melody)


def _prepare(out_dir: str | Path, inputs: list, soundfont: str | None, reference: str | None,
             melody: str | Path | None, engine: str) -> tuple[OutputFolder, Any]:
    """Every check a composing run can make before its work; returns the output folder and the reference set."""
    from .render.synth import find_soundfont

    sf2 = find_soundfont(soundfont)
    check_melody(melody, engine)
    folder = OutputFolder(out_dir, inputs=[*inputs, sf2, melody])
    return folder, load_reference_set(reference)


# ----- stages --------------------------------------------------------------------------------------------------
def analyze(path: str | Path, kind: str, stages: Stages):
    from .vision.features import analyze_image, analyze_video

    if kind == "video":
        with stages("analyze", f"analysing {display(Path(path).name)}"):
            return analyze_video(path, progress=stages.progress("frames"))
    with stages("analyze", f"analysing {display(Path(path).name)}"):
        return analyze_image(path)


def listen(path: str | Path, kind: str, features, overrides, stages: Stages) -> dict[str, Any] | None:
    """``--follow-audio``: is there music in the video's own audio? Sets ``features.soundtrack`` to its beat grid
    (None without music), moves each cut seen within one analysis period of a beat onto it
    (:func:`framescore.vision.audio.snap_cuts`), and returns what was found and why, for the plan's
    ``source["soundtrack"]``; None when the overrides do not ask for it. A still picture has no audio: it says so."""
    if not getattr(overrides, "follow_audio", False):  # Overrides.follow_audio (vision/mapping.py)
        return None
    if kind != "video":
        return {"music": False, "reason": "a still picture has no soundtrack to follow"}
    from .vision.audio import analyse_soundtrack

    from .vision.audio import snap_cuts

    with stages("audio", "listening to the video's own audio for a beat to follow"):
        found = analyse_soundtrack(path)
    if not stages.quiet:
        print(f"framescore:   {found.reason}", file=sys.stderr, flush=True)
    summary = found.summary()
    features.soundtrack = found.grid
    if found.grid is not None and features.analysis_fps > 0:  # a cut is seen up to one analysis period off
        features.cuts, moved = snap_cuts(list(features.cuts), found.grid, 1.0 / features.analysis_fps)
        summary["cuts_moved_onto_beats"] = [{"seen_sec": round(a, 3), "beat_sec": round(b, 3)} for a, b in moved]
    return summary


def plan_picture(path: str | Path, kind: str, overrides, stages: Stages,
                 source: dict[str, Any] | None = None) -> tuple[Any, MusicPlan]:
    """A video's or picture's features and plan: analysis, the soundtrack when ``--follow-audio`` asks
    (:func:`listen`), then the mapping. ``source`` starts the plan's ``source`` (default: the input and its kind)."""
    source = dict(source) if source is not None else {"input": display(path), "kind": kind}
    features = analyze(path, kind, stages)
    soundtrack = listen(path, kind, features, overrides, stages)
    if soundtrack is not None:
        source["soundtrack"] = soundtrack
    return features, make_plan(features, overrides, source, stages)


def make_plan(features, overrides, source: dict[str, Any], stages: Stages) -> MusicPlan:
    from .vision.mapping import plan_from_features

    with stages("plan", "planning the music"):
        return plan_from_features(features, overrides, source=source)


def compose(plan: MusicPlan, stages: Stages, melody: str | Path | None = None, ready=None,
            bars: range | None = None, keep: Piece | None = None) -> Piece:
    """Realize the plan through the engines' gate (the piece is checked against it); ``melody`` (a MIDI file) is
    kept and accompanied, by an engine that can (``keeps_melody`` in the registry). ``ready``: the thread that
    prepares the engine (:func:`_in_background`), waited for inside the stage, so its seconds count there.
    ``bars`` and ``keep``: only those bars anew, the rest of ``keep`` kept (``compose --bars --keep``)."""
    from .symbolic.engines import compose as engine_compose

    # the melody and its engine were checked before the work (check_melody); the gate checks the engine again
    what = f"bars {bars.start + 1}-{bars.stop} of {plan.n_bars}" if bars is not None else f"{plan.n_bars} bars"
    with stages("compose", f"composing {what} with the {plan.engine} engine"):
        if ready is not None:
            ready.join()
        extra: dict[str, Any] = {} if bars is None else {"bars": bars, "keep": keep}
        if melody is not None:
            return engine_compose(plan, melody=melody, **extra)
        return engine_compose(plan, **extra)


def parse_bars(text: str, n_bars: int) -> range:
    """``"9-16"`` (bars counted from 1, as a score does; ``"9"`` one bar) → ``range(8, 16)``; one line otherwise."""
    import re

    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", text)
    if not m:
        raise InputError(f"--bars {text!r}: give a bar range counted from 1, e.g. 9-16")
    a, b = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1 <= a <= b <= n_bars:
        raise InputError(f"--bars {text}: the plan has bars 1-{n_bars}")
    return range(a - 1, b)


def write_outputs(piece: Piece, out: Path, stages: Stages, *, features=None, video: Path | None = None,
                  soundfont: str | None = None, reference: dict | None = None, audio: bool = True,
                  video_name: str = "video.mp4", notation=None) -> dict[str, Any]:
    """Write every file of a run into ``out`` (a staging folder). Returns the metrics report.

    ``video`` (a clip) gets its soundtrack in ``out / video_name`` (:func:`framescore.render.mux.output_name`),
    which the report names with how its picture got there (``video``: copied, or re-encoded to H.264).

    Notation and pictures (music21, matplotlib: pure Python) are written by a forked process while this one
    makes the audio (FluidSynth, ffmpeg), so the two halves run on two cores without sharing a GIL; if this
    process fails or is stopped, the worker is stopped with it. Where fork is not available they run one after
    the other. ``reference`` is a loaded reference set (:func:`framescore.symbolic.metrics.load_reference`).
    """
    from .lifecycle import ForkedCall
    from .symbolic.metrics import score_piece
    from .symbolic.midi_io import write_midi

    plan = piece.plan
    if plan is not None:
        plan.save(out / "plan.json")
    write_midi(piece, out / "score.mid")
    jobs = _notation_jobs(piece, out, features, stages.quiet)
    if notation is not None:
        for worker, (_, args) in zip(notation, jobs):
            worker.submit(*args)
    elif _can_fork():
        notation = [ForkedCall(fn, *args) for fn, args in jobs]
    try:
        if notation is None:
            stages.seconds["write"] = sum(fn(*args) for fn, args in jobs)
        hits = None
        if audio:
            render_audio(piece, out, stages, soundfont=soundfont)
            if video is not None:
                from .render.mux import mux_video

                with stages("mux", f"putting the soundtrack under the video ({video_name})"):
                    mux_video(video, out / "mix.wav", out / video_name)
            hits = hear_hits(plan, out / "mix.wav", stages)  # while the notation workers may still be busy
        if notation is not None:
            stages.seconds["write"] = max(worker.result() for worker in notation)
    finally:
        for worker in notation or ():
            worker.stop()
    with stages("score", "scoring the result"):
        report = with_hits(score_piece(piece, plan, reference=reference), hits)
        if video is not None and audio:
            report["video"] = _video_entry(video, out / video_name)
        _save_json(report, out / "report.json")
    return report


def _in_background(fn: Callable[..., Any], *args: Any):
    """``fn(*args)`` in a daemon thread, started now; ``join()`` it before using what it made. Whatever it raises
    is dropped: the real call meets it again and reports it. Started after every fork of the run (the notation
    workers), so that no fork copies a half-done import."""
    import threading

    def run() -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - met again, and reported, by the real call
            pass

    thread = threading.Thread(target=run, name=f"prepare {getattr(fn, '__name__', fn)}", daemon=True)
    thread.start()
    return thread


def _video_entry(video: Path, written: Path) -> dict[str, Any]:
    """The report's ``video``: the file written, and its picture's codec in and out (copied or re-encoded)."""
    from .render.mux import copies, probe

    codec_in, codec_out = probe(video).video.codec, probe(written).video.codec
    return {"file": written.name, "picture": "copied" if copies(codec_in, written.suffix) and codec_in == codec_out
            else "re-encoded", "codec_in": codec_in, "codec": codec_out}


def _cuts(plan: MusicPlan | None) -> list[float]:
    return [s.cut_sec for s in plan.sections if s.cut_sec is not None] if plan is not None else []


def hear_hits(plan: MusicPlan | None, mix: Path, stages: Stages):
    """The plan's kept cuts checked in the mix (:func:`framescore.render.hits.cut_hits`); None without cuts."""
    cuts = _cuts(plan)
    if not cuts:
        return None
    from .render.hits import cut_hits

    with stages("hits", f"listening for the {len(cuts)} hit{'s' if len(cuts) > 1 else ''} at the cuts"):
        return cut_hits(mix, cuts)


def with_hits(report: dict[str, Any], hits) -> dict[str, Any]:
    """The report with the cuts heard in the mix: ``plan.cuts_heard`` (the share, next to ``cuts_on_downbeat``;
    None when there are cuts but no audio was made) and a ``hits`` group, each cut's nearest onset."""
    plan = report.get("plan")
    if not plan or "cuts_on_downbeat" not in plan:
        return report
    entries = list(plan.items())
    at = [k for k, _ in entries].index("cuts_on_downbeat") + 1
    entries.insert(at, ("cuts_heard", hits.share_heard if hits is not None else None))
    report["plan"] = dict(entries)
    if hits is not None:
        report["hits"] = hits.summary()
    return report


def _can_fork() -> bool:
    import os

    return hasattr(os, "fork")


def notation_workers() -> list | None:
    """Two forked workers, for the MusicXML (music21) and for the pictures (matplotlib), started before the
    analysis so that their imports (0.4 s and 0.5 s) run while the clip is decoded, side by side on two cores;
    None where fork is not available. Given their work by :func:`write_outputs`; the caller stops them
    (``stop()``) when the run ends, given their work or not."""
    if not _can_fork():
        return None
    from .lifecycle import ForkedCall

    return [ForkedCall(_write_musicxml, warm=_musicxml_imports, later=True),
            ForkedCall(_write_pictures, warm=_picture_imports, later=True)]


def preload_outputs() -> None:
    """Import what the notation and picture workers need (music21, matplotlib) into this process, once. For a
    process that scores clip after clip (a batch worker): every fork then starts with them loaded, instead of
    importing them again for each clip (about 0.9 CPU seconds a clip)."""
    _musicxml_imports()
    _picture_imports()


def _notation_jobs(piece: Piece, out: Path, features, quiet: bool) -> list[tuple[Callable[..., float], tuple]]:
    return [(_write_musicxml, (piece, out, quiet)), (_write_pictures, (piece, out, features))]


def _musicxml_imports() -> None:
    import music21.musicxml.m21ToXml  # noqa: F401

    from .symbolic import musicxml  # noqa: F401


def _picture_imports() -> None:
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.collections  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.patches  # noqa: F401

    from .symbolic import plot  # noqa: F401
    from .vision import timeline  # noqa: F401


def _write_musicxml(piece: Piece, out: Path, quiet: bool) -> float:
    """The MusicXML. Returns the seconds it took."""
    from .symbolic.musicxml import write_musicxml

    t0 = time.perf_counter()
    if not quiet:
        print("framescore: writing MusicXML and pictures…", file=sys.stderr, flush=True)
    write_musicxml(piece, out / "score.musicxml")
    return time.perf_counter() - t0


def _write_pictures(piece: Piece, out: Path, features) -> float:
    """The piano roll and the timeline. Returns the seconds it took."""
    from .symbolic.plot import write_pianoroll

    t0 = time.perf_counter()
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


def load_reference_set(reference: str | None):
    """The reference set's music metrics (:func:`framescore.symbolic.metrics.load_reference`), None without one."""
    if reference is None:
        return None
    from .symbolic.metrics import load_reference

    return load_reference(reference)


def _save_json(obj: Any, path: Path) -> None:
    import json

    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False, default=json_default) + "\n",
                    encoding="utf-8")


def json_default(o: Any) -> Any:
    """``json.dumps``' ``default=`` for what reports hold besides plain values: numpy numbers and arrays, paths."""
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return display(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


# ----- the user-facing jobs ------------------------------------------------------------------------------------
def score_video(path: str | Path, out_dir: str | Path, overrides, *, soundfont: str | None = None,
                reference: str | None = None, quiet: bool = False, melody: str | None = None,
                stages: Stages | None = None, on_features: Callable[[Any], None] | None = None) -> Stages:
    """``framescore video``: the whole path for a clip, ending with the clip and its new soundtrack.
    ``stages``: who hears of each stage (the studio's progress); ``on_features``: called with the analysis."""
    return _score_picture("video", path, out_dir, overrides, soundfont, reference, quiet, melody, stages,
                          on_features)


def score_image(path: str | Path, out_dir: str | Path, overrides, *, soundfont: str | None = None,
                reference: str | None = None, quiet: bool = False, melody: str | None = None,
                stages: Stages | None = None, on_features: Callable[[Any], None] | None = None) -> Stages:
    """``framescore image``: a still picture, music of the asked duration."""
    return _score_picture("image", path, out_dir, overrides, soundfont, reference, quiet, melody, stages,
                          on_features)


def _score_picture(kind: str, path: str | Path, out_dir: str | Path, overrides, soundfont: str | None,
                   reference: str | None, quiet: bool, melody: str | None = None, stages: Stages | None = None,
                   on_features: Callable[[Any], None] | None = None) -> Stages:
    stages = stages or Stages(quiet)
    info = check_picture(path, kind)
    check_overrides(overrides, kind)
    folder, ref = _prepare(out_dir, [path, overrides.like], soundfont, reference, melody, overrides.engine or "rule")
    from .render.mux import output_name

    video_name = output_name(info.codec) if info is not None else "video.mp4"
    with folder.staging(output_names(kind, video=video_name)) as out:
        from .symbolic.engines import prepare

        workers = notation_workers()
        engine = _in_background(prepare, overrides.engine or "rule")  # torch and a model, while the clip decodes
        try:
            features, plan = plan_picture(path, kind, overrides, stages)
            if on_features is not None:
                on_features(features)
            piece = compose(plan, stages, melody, ready=engine)
            folder.check(output_names(kind, piece, video=video_name))
            write_outputs(piece, out, stages, features=features, video=Path(path) if kind == "video" else None,
                          soundfont=soundfont, reference=ref, video_name=video_name, notation=workers)
        finally:
            for worker in workers or ():
                worker.stop()
    return stages


def score_text(text: str, out_dir: str | Path, overrides, *, soundfont: str | None = None,
               reference: str | None = None, quiet: bool = False, melody: str | None = None,
               stages: Stages | None = None) -> Stages:
    """``framescore text``: a plan from words alone."""
    from .vision.mapping import plan_from_text

    stages = stages or Stages(quiet)
    overrides.validate()
    folder, ref = _prepare(out_dir, [overrides.like], soundfont, reference, melody, overrides.engine or "rule")
    with folder.staging(output_names("text")) as out:
        with stages("plan", "planning the music from the description"):
            plan = plan_from_text(text, overrides.duration_sec, overrides)
        piece = compose(plan, stages, melody)
        folder.check(output_names("text", piece))
        write_outputs(piece, out, stages, soundfont=soundfont, reference=ref)
    return stages


def compose_plan(plan: MusicPlan, out_dir: str | Path, *, soundfont: str | None = None,
                 reference: str | None = None, quiet: bool = False, melody: str | None = None,
                 plan_path: str | Path | None = None, bars: str | None = None,
                 keep: str | Path | None = None, video: str | Path | None = None,
                 stages: Stages | None = None) -> Stages:
    """``framescore compose``: realize a plan, edited or not (``plan_path``: the file it came from, an input);
    ``bars`` ("9-16") with ``keep`` (a score.mid of this plan's grid): only those bars anew, the rest kept;
    ``video``: the clip the plan scores, to give its new soundtrack too (the studio's re-compose)."""
    stages = stages or Stages(quiet)
    plan.validate()
    if (bars is None) != (keep is None):
        raise InputError("--bars and --keep go together: the bars to compose anew and the score.mid to keep")
    kept = None
    if keep is not None:
        from .symbolic.midi_io import read_midi

        span = parse_bars(bars, plan.n_bars)
        kept = read_midi(keep)  # read whole before anything is written: it may be the score.mid being replaced
    video_name = "video.mp4"
    if video is not None:
        from .render.mux import output_name

        video_name = output_name(check_picture(video, "video").codec)
    kind = "video" if video is not None else "compose"
    folder, ref = _prepare(out_dir, [plan_path, video], soundfont, reference, melody, plan.engine)
    with folder.staging(output_names(kind, video=video_name)) as out:
        piece = compose(plan, stages, melody, bars=span if kept is not None else None, keep=kept)
        folder.check(output_names(kind, piece, video=video_name))
        write_outputs(piece, out, stages, soundfont=soundfont, reference=ref,
                      video=Path(video) if video is not None else None, video_name=video_name)
    return stages


def render_midi(midi: str | Path, out_dir: str | Path, *, soundfont: str | None = None, quiet: bool = False) -> Stages:
    """``framescore render``: any MIDI file to stems and a mix."""
    from .render.synth import find_soundfont
    from .symbolic.midi_io import read_midi

    stages = Stages(quiet)
    sf2 = find_soundfont(soundfont)
    with stages("read", f"reading {display(Path(midi).name)}"):
        piece = read_midi(midi)
    folder = OutputFolder(out_dir, inputs=[midi, sf2])
    with folder.staging(output_names("render", piece)) as out:
        render_audio(piece, out, stages, soundfont=soundfont)
    return stages
