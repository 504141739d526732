"""The diffusion engine's register: where POP909's training notes lie, and what pulling the model's roll inside that
register does, on POP909 validation songs that ``framescore evaluate pop909:validation:16`` does not report (the
split's songs after its first 16).

    .venv/bin/python tools/diffusion_register.py [--songs 12] [--values 0,0.5,1] [--register-songs 300]

First the register: each part's 0.5th and 99.5th pitch percentiles over the first 32 bars of the first
``--register-songs`` training songs (what ``diffusion.REGISTER`` holds). Then, per ``register_guidance`` value:
overlap of the melody and harmony with POP909 training songs' openings of the same lengths (evaluate's measure),
chord accuracy, key agreement, density correlation, median pitch range and how the melody moves.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def register(n_songs: int) -> dict[str, tuple[float, float]]:
    """Each part's (0.5th, 99.5th) pitch percentile in the first 32 bars of the first ``n_songs`` training songs."""
    import numpy as np

    from framescore.datasets.paths import DatasetError
    from framescore.datasets.pop909 import crop, read_song
    from framescore.datasets.pop909_split import dataset_root, pop909_split
    from framescore.evaluate import POP909_BARS

    root = dataset_root("pop909")
    pitches: dict[str, list[int]] = {"melody": [], "harmony": []}
    for sid in pop909_split(root)["train"][:n_songs]:
        try:
            ex = read_song(root / sid)
        except DatasetError:
            continue
        for t in crop(ex, 0, min(POP909_BARS, ex.plan.n_bars)).piece.tracks:
            if t.name in pitches:
                pitches[t.name] += [n.pitch for n in t.notes]
    return {k: tuple(float(x) for x in np.percentile(v, [0.5, 99.5])) for k, v in pitches.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--songs", type=int, default=12)
    ap.add_argument("--values", default="0,0.5,1")
    ap.add_argument("--register-songs", type=int, default=300)
    ap.add_argument("--reference-songs", type=int, default=100)
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    sys.path.insert(0, str(ROOT / "tools"))
    from validation_overlap import measure, validation_set

    from framescore.symbolic.engines import diffusion

    found = register(args.register_songs)
    print("register (0.5th-99.5th percentile, training songs' first 32 bars): "
          + ", ".join(f"{k} {lo:.0f}-{hi:.0f}" for k, (lo, hi) in found.items())
          + f"; the engine's: {diffusion.REGISTER}", flush=True)
    plans, ref = validation_set(args.songs, "diffusion", args.reference_songs)
    for value in args.values.split(","):
        print(f"{value}: {measure('diffusion', plans, ref, register_guidance=float(value))}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
