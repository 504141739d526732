"""Choose the diffusion engine's key-guide strength on POP909 training songs: key agreement (the metric's
Albrecht-Shanahan key finder, and music21's Aarden-Essen, which the guide never sees) and chord accuracy.

    .venv/bin/python tools/diffusion_key.py [--split train] [--songs 24] [--strengths 0,0.15,0.3,0.5]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="train")
    ap.add_argument("--songs", type=int, default=24)
    ap.add_argument("--strengths", default="0,0.15,0.3,0.5")
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    import numpy as np

    from framescore.datasets.pop909_split import dataset_root, pop909_split
    from framescore.datasets.train_transformer import _other_key_finders
    from framescore.evaluate import song_plans
    from framescore.symbolic.engines import compose
    from framescore.symbolic.metrics import chord_accuracy, key_agreement

    root = dataset_root("pop909")
    plans = [dataclasses.replace(plan, engine="diffusion")
             for _, plan in song_plans(root, pop909_split(root)[args.split], count=args.songs)]
    for s in (float(v) for v in args.strengths.split(",")):
        keys, other, chords = [], [], []
        for plan in plans:
            piece = compose(plan, "diffusion", key_guidance=s)
            keys.append(key_agreement(piece, plan)["key_agreement"])
            other.append(_other_key_finders(piece, plan.key_obj).get("aarden_essen", np.nan))
            chords.append(chord_accuracy(piece, plan)[0])
        print(f"key guidance {s:g}: key agreement {np.mean(keys):.3f} (Aarden-Essen {np.nanmean(other):.3f}), "
              f"chord accuracy {np.mean(chords):.3f} over {len(plans)} {args.split} songs", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
