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
import dataclasses
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
    from validation_overlap import measure, validation_plans

    from framescore.evaluate import matched_reference_spec
    from framescore.symbolic.engines import diffusion

    plans = validation_plans(args.songs, "diffusion")
    ref = matched_reference_spec(f"pop909:train:{args.reference_songs}", [p.n_bars for p in plans])
    model = diffusion._load(diffusion._checkpoint(None))
    shipped = model.config
    try:
        for value in args.values.split(","):
            tolerance, sustain = (float(v) for v in value.split(":"))
            th = list(shipped.thresholds)
            th[3] = sustain
            model.config = dataclasses.replace(shipped, thresholds=type(shipped.thresholds)(th))
            print(f"{value}: {measure('diffusion', plans, ref, density_tolerance=tolerance)}", flush=True)
    finally:
        model.config = shipped
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
