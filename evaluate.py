"""``framescore evaluate``: engines over many inputs, one table.

Each input gives one plan (a video or picture through vision/, a plan.json as it is, or ``pop909:SPLIT[:N]`` for
plans taken from POP909 songs' own annotations); every engine composes every plan with the same seed; each piece
is scored against its plan. Per engine, the set of pieces is then compared with a reference set of real music
(``--reference DIR`` of MIDI files, or ``pop909:test``) by the overlapping area of each metric's distribution.
The reference is cut to the pieces' lengths (a piece of n bars against every reference file's first n bars):
pitch range, pitch-class entropy and empty beats grow with length, so 32-bar openings of real songs overlap
whole real songs only about 0.76, where against real 32-bar openings they score 0.86-0.89. The real songs behind
the POP909 inputs are scored the same way, as the ceiling.

A score is compared with a score: the engines write on a sixteenth grid (and were trained on POP909 snapped to
it), while POP909's files are played, their onsets a few ticks either side of the grid, which groove consistency
counts as a new rhythm in every bar. So the reference's notes (and the ceiling's) are snapped to the sixteenth
grid first (:func:`~framescore.symbolic.metrics.on_grid`); ``--as-played`` keeps them as played.

Like is compared with like: POP909 holds a melody and a piano part (its MELODY, BRIDGE and PIANO tracks) and no
bass or drums, so the music metrics and the headline overlap are of the parts that correspond to it, our
``melody`` and ``harmony`` tracks (:data:`REFERENCE_PARTS`). The whole piece, with the rule engine's bass and
drums (whose drums fill every beat), is scored too and reported on its own line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import FramescoreError
from .outputs import check_output_file, write_file_atomically
from .pipeline import IMAGE_EXTS, VIDEO_EXTS, DEFAULT_IMAGE_DURATION, InputError, Stages, input_kind
from .symbolic.metrics import SCORE_STEPS_PER_QUARTER
from .symbolic.plan import MusicPlan

#: (column title, report group, metric key)
COLUMNS = [
    ("chord", "plan", "chord_accuracy"),
    ("key", "plan", "key_agreement"),
    ("dens r", "plan", "density_correlation"),
    ("dur err", "plan", "duration_error_sec"),
    ("cuts@1", "plan", "cuts_on_downbeat"),
    ("VA", "emotion", "quadrant_agreement"),
    ("val", "emotion", "valence_agreement"),
    ("PCE", "music", "pitch_class_entropy"),
    ("scale", "music", "scale_consistency"),
    ("groove", "music", "groove_consistency"),
    ("empty", "music", "empty_beat_rate"),
    ("poly", "music", "polyphony"),
    ("range", "music", "pitch_range"),
    ("rep", "melody", "repeated"),
    ("step", "melody", "step"),
    ("leap", "melody", "leap"),
]
#: The tracks of a piece that correspond to a POP909 song (melody; BRIDGE + PIANO as harmony).
REFERENCE_PARTS = ("melody", "harmony")
POP909_BARS = 32  # plans from POP909 songs are cut to their first bars, to keep evaluation quick


def collect_inputs(specs: list[str | Path]) -> list[str]:
    """Expand folders into the videos, pictures and plan files they hold (sorted); keep ``pop909:`` specs."""
    out: list[str] = []
    for spec in specs:
        s = str(spec)
        if s.startswith("pop909:"):
            _pop909_spec(s)  # a bad split or count fails here, before any work
            out.append(s)
            continue
        p = Path(s)
        if p.is_dir():
            found = sorted(q for q in p.iterdir()
                           if q.suffix.lower() in VIDEO_EXTS | IMAGE_EXTS | {".json"} and q.is_file())
            if not found:
                raise InputError(f"no videos, pictures or plans in {p}")
            out += [str(q) for q in found]
        else:
            input_kind(p)  # raises for a missing or unsupported file
            out.append(s)
    return out


def plans_for_input(spec: str, duration: float | None, seed: int, stages: Stages,
                    affect: tuple[float, float] | None = None) -> list[tuple[str, MusicPlan]]:
    """One or more ``(name, plan)`` for an input spec; ``affect`` plans a medium as ``--valence V --arousal A``."""
    from . import pipeline
    from .vision.mapping import Overrides

    if spec.startswith("pop909:"):
        return _pop909_plans(spec, seed)
    kind = input_kind(spec)
    if kind == "plan":
        from .symbolic.plan import load_plan

        plan = load_plan(spec)
        plan.seed = seed
        return [(Path(spec).name, plan)]
    overrides = Overrides(seed=seed, duration_sec=(duration or DEFAULT_IMAGE_DURATION) if kind == "image" else None)
    if affect is not None:
        overrides.valence, overrides.arousal = affect
    features = pipeline.analyze(spec, kind, stages)
    plan = pipeline.make_plan(features, overrides, {"input": spec, "kind": kind}, stages)
    return [(Path(spec).name, plan)]


def plans_for(specs: list[str], seed: int = 0, duration: float | None = None,
              log: Callable[[str], None] | None = None,
              affect: tuple[float, float] | None = None) -> list[tuple[str, MusicPlan]]:
    """Every ``(name, plan)`` of the specs :func:`collect_inputs` gave, in order, as evaluate composes them.

    ``affect`` = (valence, arousal) plans each medium as the user's ``--valence``/``--arousal`` would."""
    stages = Stages(quiet=True)
    plans: list[tuple[str, MusicPlan]] = []
    for spec in specs:
        if log:
            log(f"planning {spec}")
        plans += plans_for_input(spec, duration, seed, stages, affect)
    return plans


def song_plans(root: Path, ids: Iterable[str], seed: int = 0, count: int | None = None,
               skip: Callable[[str, Exception], None] | None = None) -> Iterator[tuple[str, MusicPlan]]:
    """``(song id, plan)`` of POP909 songs ``ids`` under ``root``, as evaluate plans them: the first
    :data:`POP909_BARS` bars with the key annotated for those bars, ``seed``; at most ``count`` plans. A song whose
    annotations do not read raises :class:`~framescore.datasets.paths.DatasetError`, or, with ``skip``, is
    handed to it (id, error) and left out."""
    from .datasets.paths import DatasetError
    from .datasets.pop909 import crop, read_song

    made = 0
    for sid in ids:
        if count is not None and made == count:
            return
        try:
            ex = read_song(root / sid)
        except DatasetError as e:
            if skip is None:
                raise
            skip(sid, e)
            continue
        plan = crop(ex, 0, min(POP909_BARS, ex.plan.n_bars)).plan  # the key annotated for these bars
        plan.seed = seed
        made += 1
        yield sid, plan


def _pop909_plans(spec: str, seed: int) -> list[tuple[str, MusicPlan]]:
    root, ids, limit = _pop909_spec(spec)
    return [(f"pop909/{sid}", plan) for sid, plan in song_plans(root, ids[:limit], seed)]


def evaluate(inputs: list[str], engines: list[str], reference: str | None = None, duration: float | None = None,
             seed: int = 0, log: Callable[[str], None] | None = None,
             steps_per_quarter: int | None = SCORE_STEPS_PER_QUARTER) -> dict[str, Any]:
    """Compose every input's plan with every engine and score it. Returns rows and per-engine summaries.
    ``steps_per_quarter``: the grid the reference's notes are snapped to (None: as played)."""
    from .symbolic.engines import compose, get_engine
    from .symbolic.metrics import melody_motion, music_metrics, overlap_with_reference, score_piece

    for engine in engines:
        get_engine(engine)  # an unknown name fails before any work
    specs = collect_inputs(inputs)
    if reference:
        check_reference_spec(reference)  # a missing reference fails before any planning
    ref_motion = reference_melody_motion(reference) if reference else None
    plans = plans_for(specs, seed, duration, log)
    ref = (matched_reference_spec(reference, [plan.n_bars for _, plan in plans], steps_per_quarter)
           if reference else None)
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    from .symbolic.models.va_classifier import VAClassifier

    classifier = VAClassifier.load()
    for engine in engines:
        values: dict[str, list[float]] = {}
        for name, plan in plans:
            if log:
                log(f"{engine}: {name}")
            plan = replace(plan, engine=engine)
            piece = compose(plan, engine)  # the gate: the piece is checked against its plan
            report = score_piece(piece, plan)
            report["music_whole"] = report["music"]
            report["music"] = music_metrics(reference_parts(piece))
            report["melody"] = melody_motion(piece) or {}
            report["emotion"] = (emotion_agreement(piece, plan, classifier) if not name.startswith("pop909/")
                                 else {})  # see emotion_agreement: a POP909 plan asks for no mood
            rows.append({"input": name, "engine": engine, "bars": plan.n_bars, **report})
            for group in ("music", "music_whole"):
                for k, v in report[group].items():
                    if v is not None:
                        values.setdefault(group, {}).setdefault(k, []).append(float(v))
        eng_rows = [r for r in rows if r["engine"] == engine]
        means = {key: _mean([r[group].get(key) for r in eng_rows]) for _, group, key in COLUMNS}
        summary[engine] = {"means": means,
                           "overlap": overlap_with_reference(values.get("music", {}), ref) if ref else None,
                           "overlap_whole": overlap_with_reference(values.get("music_whole", {}), ref) if ref else None}
    return {"rows": rows, "summary": summary, "reference": reference, "seed": seed,
            "reference_steps_per_quarter": steps_per_quarter, "reference_melody": ref_motion,
            "real": real_overlap(plans, ref, reference, steps_per_quarter)}


def reference_parts(piece):
    """The piece cut to :data:`REFERENCE_PARTS`, the tracks a POP909 song has a counterpart of."""
    return replace(piece, tracks=[t for t in piece.tracks if t.name in REFERENCE_PARTS])


def emotion_agreement(piece, plan: MusicPlan, classifier) -> dict[str, Any]:
    """Does the music have the plan's valence–arousal quadrant, by the EMOPIA classifier's judgement?

    The plan's quadrant is the signs of its valence and arousal (0 counts as positive). ``valence_agreement``
    compares the valence sign alone: the classifier is much surer of arousal on EMOPIA (0.91 test accuracy)
    than of valence (0.75), and POP909-like music reads as high-arousal to it. Plans taken from POP909 songs
    are left out (evaluate gives them no emotion): they carry valence = arousal = 0, a mood nobody asked for,
    so agreement there would only say whether the classifier heard Q1.
    """
    v, a = classifier.valence_arousal(piece)
    q = classifier.quadrant(piece)
    plan_q = {(True, True): 1, (False, True): 2, (False, False): 3, (True, False): 4}[(plan.valence >= 0, plan.arousal >= 0)]
    return {"quadrant": q, "plan_quadrant": plan_q, "quadrant_agreement": q == plan_q,
            "valence_agreement": (v >= 0) == (plan.valence >= 0), "valence": v, "arousal": a}


def _pop909_spec(spec: str) -> tuple[Path, list[str], int | None]:
    """``pop909:SPLIT[:N]`` → (dataset root, the split's song ids, N or None)."""
    from .datasets.pop909_split import dataset_root, pop909_split

    parts = spec.split(":")
    split = parts[1] if len(parts) > 1 and parts[1] else "validation"
    if len(parts) > 3:
        raise InputError(f"unreadable POP909 input {spec!r} (use pop909:SPLIT or pop909:SPLIT:N)")
    try:
        limit = int(parts[2]) if len(parts) > 2 else None
    except ValueError:
        limit = -1
    if limit is not None and limit < 1:
        raise InputError(f"the song count in {spec!r} must be a positive whole number")
    root = dataset_root("pop909")
    ids = pop909_split(root).get(split)
    if ids is None:
        raise InputError(f"unknown POP909 split {split!r} (train, validation or test)")
    return root, ids, limit


def load_reference_spec(spec: str, bars: int | None = None,
                        steps_per_quarter: int | None = None) -> dict[str, list[float]]:
    """The music metrics of a reference: a folder of MIDI files, or ``pop909:SPLIT`` (the songs of that split, read
    as :func:`~framescore.datasets.pop909.read_song` reads them, bar 0 on the first annotated downbeat); of each
    one's first ``bars`` bars when given, its notes snapped to ``steps_per_quarter`` when given
    (:func:`~framescore.symbolic.metrics.on_grid`)."""
    from .symbolic.metrics import load_reference, reference_for_files

    if spec.startswith("pop909:"):
        from .datasets.paths import DatasetError
        from .datasets.pop909 import read_song

        root, ids, limit = _pop909_spec(spec)
        return reference_for_files([root / sid / f"{sid}.mid" for sid in ids[:limit]], root, bars=bars,
                                   reader=lambda p: read_song(p.parent).piece, reader_name="pop909.read_song",
                                   unreadable=(DatasetError,), steps_per_quarter=steps_per_quarter)
    return load_reference(spec, bars=bars, steps_per_quarter=steps_per_quarter)


def check_reference_spec(spec: str) -> None:
    """Raise the error :func:`load_reference_spec` would for a reference that is not there, without reading it."""
    if spec.startswith("pop909:"):
        _pop909_spec(spec)
    else:
        from .symbolic.metrics import reference_files

        reference_files(spec)


def matched_reference_spec(spec: str, lengths: list[int],
                           steps_per_quarter: int | None = SCORE_STEPS_PER_QUARTER) -> dict[str, list[float]]:
    """The reference cut to the lengths of the pieces it is compared with
    (:func:`~framescore.symbolic.metrics.matched_reference`): a 32-bar excerpt is compared with real 32-bar
    openings, not with whole songs (real 32-bar openings against whole songs overlap only about 0.76). Its notes
    are snapped to the engines' sixteenth grid unless ``steps_per_quarter`` is None
    (:func:`~framescore.symbolic.metrics.on_grid`): a score is compared with a score, not with a performance."""
    from .symbolic.metrics import matched_reference

    return matched_reference(lengths, lambda n: load_reference_spec(spec, bars=n,
                                                                    steps_per_quarter=steps_per_quarter))


def real_overlap(plans: list[tuple[str, MusicPlan]], ref: dict[str, list[float]] | None,
                 reference: str | None, steps_per_quarter: int | None = SCORE_STEPS_PER_QUARTER) -> dict[str, Any] | None:
    """What real music scores: the POP909 inputs' own songs, the same bars their plans were cut to (snapped to
    the grid as the reference is), against the reference cut to those lengths. The ceiling the engines' overlap
    is read against; None without POP909 inputs or a reference."""
    from .datasets.pop909 import crop, read_song
    from .datasets.pop909_split import dataset_root
    from .symbolic.metrics import MUSIC_METRICS, music_metrics, on_grid, overlap_with_reference

    songs = [(name.split("/", 1)[1], plan.n_bars) for name, plan in plans if name.startswith("pop909/")]
    if not songs or ref is None or reference is None:
        return None
    root = dataset_root("pop909")
    values: dict[str, list[float]] = {m: [] for m in MUSIC_METRICS}
    for sid, n in songs:
        ex = read_song(root / sid)
        piece = crop(ex, 0, min(n, ex.plan.n_bars)).piece
        for k, v in music_metrics(on_grid(piece, steps_per_quarter) if steps_per_quarter else piece).items():
            if v is not None:
                values[k].append(float(v))
    lengths = [n for _, n in songs]
    return {"songs": len(songs),
            "overlap": overlap_with_reference(values, matched_reference_spec(reference, lengths, steps_per_quarter))}


def reference_melody_motion(spec: str) -> dict[str, float] | None:
    """The mean :func:`~framescore.symbolic.metrics.melody_motion` shares over the reference's files that have a
    melody track (POP909's MELODY); None when none has."""
    from .symbolic.metrics import melody_motion
    from .symbolic.midi_io import MidiError, read_midi

    if spec.startswith("pop909:"):
        root, ids, limit = _pop909_spec(spec)
        files = [root / sid / f"{sid}.mid" for sid in ids[:limit]]
    else:
        files = sorted(p for p in Path(spec).rglob("*") if p.suffix.lower() in (".mid", ".midi") and p.is_file())
    shares = []
    for f in files:
        try:
            m = melody_motion(read_midi(f))
        except MidiError:
            continue
        if m is not None:
            shares.append(m)
    if not shares:
        return None
    return {k: sum(m[k] for m in shares) / len(shares) for k in ("repeated", "step", "leap")}


def _mean(vals: list[Any]) -> float | None:
    nums = [float(v) for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(nums) / len(nums) if nums else None


def _cell(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "1.000" if v else "0.000"
    if isinstance(v, int):
        return str(v)
    return f"{v:.3f}"


def format_table(result: dict[str, Any]) -> str:
    """A Markdown table: one row per input and engine, then a mean row and the overlap per engine."""
    head = ["input", "engine", "bars"] + [c for c, _, _ in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in result["rows"]:
        cells = [r["input"], r["engine"], str(r["bars"])] + [_cell(r[g].get(k)) for _, g, k in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    for engine, s in result["summary"].items():
        cells = ["**mean**", engine, ""] + [_cell(s["means"][k]) for _, _, k in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    motion = result.get("reference_melody")
    if motion:
        cells = ["**reference**", result["reference"], ""] + [_cell(motion.get(k)) if g == "melody" else ""
                                                            for _, g, k in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    if any(s["overlap"] for s in result["summary"].values()):
        metrics = [k for _, g, k in COLUMNS if g == "music"]
        parts = " and ".join(REFERENCE_PARTS)
        grid = result.get("reference_steps_per_quarter")
        timing = (f"its notes snapped to {grid} steps a quarter, the grid the engines write on" if grid
                  else "its notes as played")
        lines += ["", f"Overlap with the reference ({result['reference']}, each file cut to the lengths of the pieces "
                  f"compared: its first n bars for a piece of n; {timing}), per metric (Yang & Lerch), of the parts "
                  f"that correspond to POP909's ({parts}; the columns above are of these parts too; `mean` is over "
                  "every music metric, pitch classes used included); then of whole pieces, bass and drums "
                  "included; then, as the ceiling, of the real songs behind the POP909 inputs:", ""]
        head = ["engine", "parts"] + [c for c, g, _ in COLUMNS if g == "music"] + ["mean"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for key, label in (("overlap", parts), ("overlap_whole", "whole piece")):
            for engine, s in result["summary"].items():
                ov = s.get(key) or {}
                lines.append("| " + " | ".join([engine, label] + [_cell(ov.get(m)) for m in metrics]
                                               + [_cell(ov.get("mean"))]) + " |")
        real = result.get("real")
        if real:
            ov = real["overlap"]
            lines.append("| " + " | ".join(["real POP909", f"the {real['songs']} input songs' own bars"]
                                           + [_cell(ov.get(m)) for m in metrics] + [_cell(ov.get("mean"))]) + " |")
    return "\n".join(lines)


def evaluate_cli(args: argparse.Namespace) -> None:
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not engines:
        raise FramescoreError("no engines given (e.g. --engines rule,transformer)")
    json_out = check_output_file(args.json, args.inputs, force=args.force) if args.json is not None else None
    log = (lambda msg: print(f"framescore: {msg}", file=sys.stderr, flush=True))
    result = evaluate(args.inputs, engines, reference=args.reference, duration=args.duration, seed=args.seed, log=log,
                      steps_per_quarter=None if args.as_played else SCORE_STEPS_PER_QUARTER)
    print(format_table(result))
    if json_out is not None:
        from .pipeline import json_default

        write_file_atomically(json_out, (json.dumps(result, indent=2, default=json_default) + "\n").encode("utf-8"))
