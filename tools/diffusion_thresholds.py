"""Choose the diffusion engine's reading thresholds for the harmony (``thresholds[2:]`` in the checkpoint's
config: onset, sustain) on POP909 validation songs that ``framescore evaluate pop909:validation:16`` does not
report (the split's songs after its first 16): overlap of the melody and harmony with POP909 training songs' openings
of the same lengths (evaluate's measure, through ``tools/validation_overlap.py``), chord accuracy, key agreement,
density correlation, median polyphony and pitch range, melody motion.

    .venv/bin/python tools/diffusion_thresholds.py [--songs 12] [--values=-0.422:0.161,-0.3:-0.2]

Each value is ``ONSET:SUSTAIN``. A note starts where the onset channel is above the first and lasts while the
sustain channel stays above the second (:func:`framescore.symbolic.roll.roll_to_notes`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--songs", type=int, default=12)
    ap.add_argument("--values", default="-0.422:0.161,-0.3:-0.2")
    ap.add_argument("--reference-songs", type=int, default=100)
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    sys.path.insert(0, str(ROOT / "tools"))
    from validation_overlap import diffusion_thresholds, measure, validation_set

    plans, ref = validation_set(args.songs, "diffusion", args.reference_songs)
    for value in args.values.split(","):
        onset, sustain = (float(x) for x in value.split(":"))
        with diffusion_thresholds({2: onset, 3: sustain}):
            print(f"{value}: {measure('diffusion', plans, ref)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
