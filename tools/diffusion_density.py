"""Choose the diffusion engine's density guide (``diffusion.DENSITY_TOLERANCE``) with the harmony's sustain
threshold on POP909 validation songs that ``framescore evaluate pop909:validation:16`` does not report (the
split's songs after its first 16): overlap of the melody and harmony with POP909 training songs' openings (as
``tools/validation_overlap.py``), chord accuracy, key agreement, density correlation, melody motion.

    .venv/bin/python tools/diffusion_density.py [--songs 16] [--values=-1:-0.2,0.3:-0.2,0.3:-0.5,0.15:-0.5]

Each value is ``TOLERANCE:SUSTAIN``: the density guide's tolerance (negative: no guide) and the harmony's
sustain threshold (``thresholds[3]`` in the checkpoint's config).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--songs", type=int, default=16)
    ap.add_argument("--values", default="-1:-0.2,0.3:-0.2,0.3:-0.5,0.15:-0.5")
    ap.add_argument("--reference-songs", type=int, default=100)
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    sys.path.insert(0, str(ROOT / "tools"))
    from validation_overlap import diffusion_thresholds, measure, validation_set

    plans, ref = validation_set(args.songs, "diffusion", args.reference_songs)
    for value in args.values.split(","):
        tolerance, sustain = (float(v) for v in value.split(":"))
        with diffusion_thresholds({3: sustain}):
            print(f"{value}: {measure('diffusion', plans, ref, density_tolerance=tolerance)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
