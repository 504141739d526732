"""The Python API in three calls: ``plan`` → ``compose`` → ``write``.

    import framescore
    plan = framescore.plan("clip.mp4", tempo_bpm=96)          # a MusicPlan: edit it like any dataclass
    piece = framescore.compose(plan, engine="transformer")    # a Piece, checked against its plan
    framescore.write(piece, "out/")                           # the same files `framescore compose` writes

Each call is the command line's own path (the same checks, the same output rule: a run replaces only files it
wrote), without the printing. ``framescore/__init__.py`` imports this module only when one of its names is
first used, so ``import framescore`` stays instant.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from .pipeline import InputError, Stages
from .symbolic.piece import Piece
from .symbolic.plan import MusicPlan

__all__ = ["compose", "describe", "plan", "score", "write"]


def plan(source: str | Path | None = None, *, text: str | None = None, **overrides: Any) -> MusicPlan:
    """A plan for a video or a picture (``source``), a MIDI file (read into a plan), a plan file (``plan.json``,
    loaded), or words (``text``).

    ``overrides`` fix any field the picture would choose: ``tempo_bpm``, ``key``, ``meter``, ``chords``,
    ``mood``, ``valence``, ``arousal``, ``instruments``, ``duration_sec`` (a picture or text needs one),
    ``seed``, ``engine`` — the command line's flags, by their plan names.
    """
    from .pipeline import check_overrides, check_picture, input_kind, plan_picture
    from .vision.mapping import Overrides, plan_from_text

    if (source is None) == (text is None):
        raise InputError("give a picture, video or plan file, or text=..., not both")
    known = {f.name for f in fields(Overrides)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InputError(f"unknown override {unknown[0]!r} (one of {', '.join(sorted(known))})")
    ov = Overrides(**overrides)
    if text is not None:
        return plan_from_text(text, ov.duration_sec, ov)
    kind = input_kind(source)
    if kind == "plan":
        if overrides:
            raise InputError("a plan file is edited, not overridden: load it, then set its fields")
        from .symbolic.plan import load_plan

        return load_plan(source)
    if kind == "midi":  # the piece read back into a plan, to re-arrange (`framescore plan song.mid`)
        from .pipeline import check_midi_overrides, plan_midi

        return plan_midi(source, check_midi_overrides(ov), Stages(quiet=True))
    check_picture(source, kind)
    check_overrides(ov, kind)
    stages = Stages(quiet=True)
    return plan_picture(source, kind, ov, stages, {"input": str(source), "kind": kind})[1]


def compose(plan: MusicPlan, engine: str | None = None, *, melody: str | Path | None = None) -> Piece:
    """Realize ``plan`` with ``engine`` (default: the plan's own); ``melody``, a MIDI file, is kept and
    accompanied by an engine that can do so. The piece is checked against the plan before it is returned."""
    from .pipeline import check_melody
    from .pipeline import compose as run_compose

    if engine is not None:
        plan.engine = engine
    plan.validate()
    check_melody(melody, plan.engine)
    return run_compose(plan, Stages(quiet=True), melody)


def write(piece: Piece, out: str | Path, *, audio: bool = True, soundfont: str | None = None,
          reference: str | None = None) -> Path:
    """Write ``piece`` into the folder ``out``: plan, MIDI, MusicXML, pictures, report and (``audio``) the
    stems and the mix. Returns the folder. Files of an earlier framescore run there are replaced; anything else
    is never touched (the run refuses instead)."""
    from .outputs import OutputFolder
    from .pipeline import load_reference_set, output_names, write_outputs
    from .render.synth import find_soundfont

    inputs: list = []
    if audio:
        inputs.append(find_soundfont(soundfont))
    ref = load_reference_set(reference)
    names = output_names("compose", piece) if audio else [n for n in output_names("compose")
                                                          if n != "mix.wav"]
    folder = OutputFolder(out, inputs=inputs)
    with folder.staging(names) as staging:
        write_outputs(piece, staging, Stages(quiet=True), soundfont=soundfont, reference=ref, audio=audio)
    return Path(out)


def score(piece: Piece, plan: MusicPlan | None = None, reference: Any = None) -> dict[str, dict[str, Any]]:
    """The metrics report of ``piece`` (music, adherence to ``plan`` or the piece's own, and against a
    ``reference`` set of MIDI files when given): what ``report.json`` holds."""
    from .symbolic.metrics import score_piece

    return score_piece(piece, plan, reference=reference)


def describe(midi: str | Path) -> dict[str, Any]:
    """The attributes of any MIDI file and its MidiCaps-style caption (``["caption"]``): what
    ``framescore describe --json`` prints."""
    from .symbolic.midi_io import read_midi
    from .symbolic.reading import plan_from_piece
    from .vision.describe import attributes

    return attributes(plan_from_piece(read_midi(midi), str(midi)))
