"""Choose the diffusion engine's reading thresholds for the harmony (``thresholds[2:]`` in the checkpoint's
config: onset, sustain) on POP909 validation songs that ``framescore evaluate pop909:validation:16`` does not
report (the split's songs after its first 16): overlap of the melody and harmony with POP909 training songs' openings
of the same lengths (evaluate's measure), chord accuracy, density correlation, median polyphony and pitch range.

    .venv/bin/python tools/diffusion_thresholds.py [--songs 12] [--values=-0.422:0.161,-0.3:-0.2]

Each value is ``ONSET:SUSTAIN``. A note starts where the onset channel is above the first and lasts while the
sustain channel stays above the second (:func:`framescore.symbolic.roll.roll_to_notes`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--songs", type=int, default=12)
    ap.add_argument("--values", default="-0.422:0.161,-0.3:-0.2")
    ap.add_argument("--reference-songs", type=int, default=100)
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    import numpy as np

    from framescore.datasets.pop909_split import dataset_root, pop909_split
    from framescore.evaluate import matched_reference_spec, reference_parts, song_plans
    from framescore.symbolic.engines import compose, diffusion
    from framescore.symbolic.metrics import (MUSIC_METRICS, chord_accuracy, density_correlation, music_metrics,
                                             overlap_with_reference)

    root = dataset_root("pop909")
    split = pop909_split(root)
    plans = [dataclasses.replace(plan, engine="diffusion")  # a song the reader refuses is skipped, as the corpus does
             for _, plan in song_plans(root, split["validation"][16:], count=args.songs, skip=lambda sid, e: None)]
    ref = matched_reference_spec(f"pop909:train:{args.reference_songs}", [p.n_bars for p in plans])  # as evaluate's
    model = diffusion._load(diffusion._checkpoint(None))
    shipped = model.config
    try:
        for value in args.values.split(","):
            onset, sustain = (float(x) for x in value.split(":"))
            th = list(shipped.thresholds)
            th[2:4] = [onset, sustain]
            model.config = dataclasses.replace(shipped, thresholds=type(shipped.thresholds)(th))
            values: dict[str, list[float]] = {m: [] for m in MUSIC_METRICS}
            chords, dens = [], []
            for plan in plans:
                piece = compose(plan, "diffusion")
                chords.append(chord_accuracy(piece, plan)[0])
                if (r := density_correlation(piece, plan)) is not None:
                    dens.append(r)
                for k, v in music_metrics(reference_parts(piece)).items():
                    if v is not None:
                        values[k].append(float(v))
            ov = overlap_with_reference(values, ref)
            print(f"{value}: overlap {ov['mean']:.3f} (" + " ".join(f"{k[:5]} {v:.2f}" for k, v in ov.items()
                                                           if k != "mean" and v is not None)
                  + f"), chord accuracy {np.mean(chords):.3f}, density r {np.mean(dens):.3f}, median polyphony "
                  f"{np.median(values['polyphony']):.2f}, median range {np.median(values['pitch_range']):.1f}",
                  flush=True)
    finally:
        model.config = shipped
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
