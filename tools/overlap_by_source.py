"""The evaluate set's overlap with real music and chord accuracy, split by where the plans come from.

    .venv/bin/python tools/overlap_by_source.py [rule,transformer,diffusion] [--seed N]

``framescore evaluate ../shared/media pop909:validation:16 --reference pop909:test`` pools the shared media's
plans and the 16 POP909 validation plans into one distribution per metric. This prints the overlap (Yang &
Lerch, as evaluate computes it; its ``mean`` is over every metric, ``n_pitch_classes_used`` included, as in
evaluate's table) for the media alone, the POP909 plans alone and both pooled, and the mean chord accuracy of
each part, so a change in one part is not mistaken for a change in the other: a pooled overlap can fall while
both parts rise.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("engines", nargs="?", default="rule,transformer,diffusion")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    import numpy as np

    from framescore import evaluate as E
    from framescore.symbolic.engines import compose
    from framescore.symbolic.metrics import music_metrics, overlap_with_reference, score_piece

    plans = E.plans_for(E.collect_inputs([str(ROOT.parent / "shared" / "media"), "pop909:validation:16"]), args.seed)
    bars = {"media": [p.n_bars for n, p in plans if not n.startswith("pop909")],
            "pop909": [p.n_bars for n, p in plans if n.startswith("pop909")], "all": [p.n_bars for _, p in plans]}
    for engine in args.engines.split(","):
        values: dict[str, dict[str, list[float]]] = {"media": {}, "pop909": {}, "all": {}}
        chords: dict[str, list[float]] = {"media": [], "pop909": []}
        for name, plan in plans:
            plan = replace(plan, engine=engine)
            piece = compose(plan, engine)
            report = score_piece(piece, plan)
            part = "pop909" if name.startswith("pop909") else "media"
            if report["plan"].get("chord_accuracy") is not None:
                chords[part].append(report["plan"]["chord_accuracy"])
            for k, v in music_metrics(E.reference_parts(piece)).items():  # the parts POP909 has, as evaluate
                if v is not None:
                    for group in (part, "all"):
                        values[group].setdefault(k, []).append(float(v))
        for group, vals in values.items():
            overlap = overlap_with_reference(vals, E.matched_reference_spec("pop909:test", bars[group]))
            print(engine, group, "overlap", {k: round(v, 3) for k, v in overlap.items()})
        print(engine, "chord accuracy: media %.3f, pop909 %.3f" % (np.mean(chords["media"]), np.mean(chords["pop909"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
