"""An engine on POP909 validation songs that ``framescore evaluate pop909:validation:16`` does not report (the split's
songs after its first 16), for choosing settings without the test split: overlap of the melody and harmony with
POP909 training songs' openings of the same lengths (evaluate's measure, snapped to the grid as evaluate's), chord
accuracy, key agreement, density correlation, median polyphony and pitch range, and how the melody moves.

    .venv/bin/python tools/validation_overlap.py --engine rule [--songs 24] [--option NAME=VALUE[,VALUE...]]

``--option`` (repeatable) passes a ``compose`` option of the engine; a comma-separated list of values (for one
option at most) gives one line per value, e.g. ``--engine diffusion --option register_guidance=0,0.5,1``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def validation_plans(n_songs: int, engine: str) -> list:
    """The plans of the first ``n_songs`` readable validation songs after evaluate's 16, for ``engine``."""
    from framescore.datasets.pop909_split import dataset_root, pop909_split
    from framescore.evaluate import song_plans

    root = dataset_root("pop909")
    return [dataclasses.replace(plan, engine=engine)  # a song the reader refuses is skipped, as the corpus does
            for _, plan in song_plans(root, pop909_split(root)["validation"][16:], count=n_songs,
                                      skip=lambda sid, e: None)]


def validation_set(n_songs: int, engine: str, reference_songs: int) -> tuple[list, dict[str, list[float]]]:
    """:func:`validation_plans` and the reference they are measured against: the first ``reference_songs``
    training songs, cut to the plans' lengths and snapped, as evaluate's."""
    from framescore.evaluate import matched_reference_spec

    plans = validation_plans(n_songs, engine)
    return plans, matched_reference_spec(f"pop909:train:{reference_songs}", [p.n_bars for p in plans])


@contextmanager
def diffusion_thresholds(changes: dict[int, float]) -> Iterator[None]:
    """The shipped diffusion checkpoint read with ``changes`` (index -> value) in its reading thresholds
    (``config.thresholds``: melody onset, sustain, harmony onset, sustain), restored on the way out."""
    from framescore.symbolic.engines import diffusion

    model = diffusion._load(diffusion._checkpoint(None))
    shipped = model.config
    th = list(shipped.thresholds)
    for i, v in changes.items():
        th[i] = v
    model.config = dataclasses.replace(shipped, thresholds=type(shipped.thresholds)(th))
    try:
        yield
    finally:
        model.config = shipped


def measure(engine: str, plans: list, ref: dict[str, list[float]], **options: Any) -> str:
    """One line of figures for ``engine`` over ``plans`` with ``options``."""
    import numpy as np

    from framescore.evaluate import reference_parts
    from framescore.symbolic.engines import compose
    from framescore.symbolic.metrics import (MUSIC_METRICS, chord_accuracy, density_correlation, key_agreement,
                                             melody_motion, music_metrics, overlap_with_reference)

    values: dict[str, list[float]] = {m: [] for m in MUSIC_METRICS}
    chords, keys, dens, motion = [], [], [], []
    for plan in plans:
        piece = compose(plan, engine, **options)
        chords.append(chord_accuracy(piece, plan)[0])
        keys.append(key_agreement(piece, plan)["key_agreement"])
        if (r := density_correlation(piece, plan)) is not None:
            dens.append(r)
        if (m := melody_motion(piece)) is not None:
            motion.append(m)
        for k, v in music_metrics(reference_parts(piece)).items():
            if v is not None:
                values[k].append(float(v))
    ov = overlap_with_reference(values, ref)
    return (f"overlap {ov['mean']:.3f} (" + " ".join(f"{k[:5]} {v:.2f}" for k, v in ov.items()
                                                    if k != "mean" and v is not None)
            + f"), chord accuracy {np.mean(chords):.3f}, key agreement {np.mean(keys):.3f}, density r "
            f"{np.mean(dens):.3f}, median polyphony {np.median(values['polyphony']):.2f}, median range "
            f"{np.median(values['pitch_range']):.1f}, melody "
            + " ".join(f"{k} {np.mean([m[k] for m in motion]):.3f}" for k in ("repeated", "step", "leap")))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="rule")
    ap.add_argument("--songs", type=int, default=24)
    ap.add_argument("--reference-songs", type=int, default=100)
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE[,VALUE...]")
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    options: dict[str, list[Any]] = {}
    for item in args.option:
        name, _, raw = item.partition("=")
        options[name] = [json.loads(v) if v not in ("None", "") else None for v in raw.split(",")]
    plans, ref = validation_set(args.songs, args.engine, args.reference_songs)
    fixed = {k: v[0] for k, v in options.items() if len(v) == 1}
    several = [(k, v) for k, v in options.items() if len(v) > 1]
    if len(several) > 1:
        ap.error(f"one option at a time may take several values, not {', '.join(k for k, _ in several)}")
    swept = several[0] if several else None
    for value in (swept[1] if swept else [None]):
        opts = dict(fixed, **({swept[0]: value} if swept else {}))
        label = ", ".join(f"{k}={v}" for k, v in opts.items()) or "defaults"
        print(f"{args.engine} {label}: {measure(args.engine, plans, ref, **opts)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
