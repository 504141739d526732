"""Valence–arousal that is heard: each engine's quadrant agreement on plans set to each corner of the VA plane.

    .venv/bin/python tools/va_corners.py [rule,transformer,diffusion] [--corner 0.8] [--mode replan|numbers|both]

The plans: the shared media's (as ``framescore evaluate`` makes them), each composed at the four corners
(+c, +c), (-c, +c), (-c, -c) and (+c, -c). Two ways to set a corner:

- ``replan`` (what a user gets from ``framescore compose MEDIUM --valence V --arousal A``): the picture is planned
  again with the override, so mode, tempo, per-bar density and dynamics and instruments follow the corner, while
  cuts, sections and themes stay the picture's;
- ``numbers``: only the plan's two numbers change, the same chords, keys and tempi in every quadrant, so the figure
  is the engine's own response to valence and arousal.

The EMOPIA classifier judges the melody and harmony with bass and drums, as ``evaluate``'s VA column does.
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
    ap.add_argument("--mode", choices=("replan", "numbers", "both"), default="replan")
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    from framescore import evaluate as E
    from framescore.symbolic.engines import compose
    from framescore.symbolic.models.va_classifier import VAClassifier

    classifier = VAClassifier.load()
    specs = E.collect_inputs([str(ROOT.parent / "shared" / "media")])
    modes = ("replan", "numbers") if args.mode == "both" else (args.mode,)
    corner_plans = {}
    for mode in modes:
        if mode == "replan":
            corner_plans[mode] = [E.plans_for(specs, affect=(sv * args.corner, sa * args.corner))
                                  for sv, sa in CORNERS]
        else:
            base = E.plans_for(specs)
            corner_plans[mode] = [[(n, dataclasses.replace(p, valence=sv * args.corner, arousal=sa * args.corner))
                                   for n, p in base] for sv, sa in CORNERS]
    for mode in modes:
        for engine in args.engines.split(","):
            hits, per_q = 0, [0, 0, 0, 0]
            for q, plans in enumerate(corner_plans[mode]):
                for _, plan in plans:
                    p = dataclasses.replace(plan, engine=engine)
                    got = E.emotion_agreement(compose(p, engine), p, classifier)["quadrant_agreement"]
                    hits += got
                    per_q[q] += got
            n = len(corner_plans[mode][0])
            print(f"{mode} {engine}: quadrant agreement {hits / (4 * n):.3f} over {4 * n} plans; per quadrant Q1-Q4 "
                  + " ".join(f"{h / n:.2f}" for h in per_q), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
