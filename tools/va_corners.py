"""Valence–arousal that is heard: each engine's quadrant agreement on plans set to each corner of the VA plane.

    .venv/bin/python tools/va_corners.py [rule,transformer,diffusion] [--corner 0.8]

The plans: the shared media's (as ``framescore evaluate`` makes them), each composed four times, with valence and
arousal set to (+c, +c), (-c, +c), (-c, -c) and (+c, -c) and everything else as planned (the same chords, keys
and tempi in every quadrant, so only the engine's response to the two numbers differs). The EMOPIA classifier
judges the melody and harmony with bass and drums, as ``evaluate``'s VA column does.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORNERS = ((1, 1), (-1, 1), (-1, -1), (1, -1))  # Q1..Q4


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("engines", nargs="?", default="rule,transformer,diffusion")
    ap.add_argument("--corner", type=float, default=0.8)
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    from framescore import evaluate as E
    from framescore.symbolic.engines import compose
    from framescore.symbolic.models.va_classifier import VAClassifier

    classifier = VAClassifier.load()
    plans = E.plans_for(E.collect_inputs([str(ROOT.parent / "shared" / "media")]))
    for engine in args.engines.split(","):
        hits, per_q = 0, [0, 0, 0, 0]
        for _, plan in plans:
            for q, (sv, sa) in enumerate(CORNERS):
                p = dataclasses.replace(plan, engine=engine, valence=sv * args.corner, arousal=sa * args.corner)
                got = E.emotion_agreement(compose(p, engine), p, classifier)["quadrant_agreement"]
                hits += got
                per_q[q] += got
        n = len(plans)
        print(f"{engine}: quadrant agreement {hits / (4 * n):.3f} over {4 * n} plans; per quadrant Q1-Q4 "
              + " ".join(f"{h / n:.2f}" for h in per_q), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
