"""Choose the diffusion engine's melody re-attack threshold (``diffusion.REATTACK``) on POP909 validation songs
that ``framescore evaluate pop909:validation:16`` does not report (the split's songs after its first 16): how the
melody moves (repeated notes, steps, leaps) against POP909's training melodies, and chord accuracy. With
``--shares``, each value is tried with each melody share of the tone guidance (``melody_tone_share``).

    .venv/bin/python tools/diffusion_reattack.py [--songs 12] [--values none,-0.3,0,0.3,0.6] [--shares 0.5]
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
    ap.add_argument("--values", default="none,-0.3,0,0.3,0.6")
    ap.add_argument("--shares", default="")
    ap.add_argument("--reference-songs", type=int, default=100)
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    import numpy as np

    from framescore.datasets.pop909_split import dataset_root, pop909_split
    from framescore.evaluate import song_plans
    from framescore.symbolic.engines import compose
    from framescore.symbolic.metrics import chord_accuracy, melody_motion
    from framescore.symbolic.midi_io import read_midi

    root = dataset_root("pop909")
    split = pop909_split(root)
    shares = [melody_motion(read_midi(root / sid / f"{sid}.mid")) for sid in split["train"][:args.reference_songs]]
    ref = {k: float(np.mean([m[k] for m in shares if m])) for k in ("repeated", "step", "leap")}
    print("POP909 train melodies: " + " ".join(f"{k} {v:.3f}" for k, v in ref.items()), flush=True)
    plans = [dataclasses.replace(plan, engine="diffusion")  # a song the reader refuses is skipped, as the corpus does
             for _, plan in song_plans(root, split["validation"][16:], count=args.songs, skip=lambda sid, e: None)]
    shares = [float(v) for v in args.shares.split(",")] if args.shares else [None]
    for raw, share in ((r, m) for r in args.values.split(",") for m in shares):
        value = None if raw == "none" else float(raw)
        motion, chords = [], []
        for plan in plans:
            piece = compose(plan, "diffusion", reattack=value if value is not None else -1e9,
                            melody_tone_share=share)
            m = melody_motion(piece)
            if m:
                motion.append(m)
            chords.append(chord_accuracy(piece, plan)[0])
        got = {k: float(np.mean([m[k] for m in motion])) for k in ref}
        dist = sum(abs(got[k] - ref[k]) for k in ref)
        label = f"reattack {raw}" + ("" if share is None else f" melody share {share:g}")
        print(f"{label}: " + " ".join(f"{k} {v:.3f}" for k, v in got.items())
              + f"  L1 to POP909 {dist:.3f}  chord accuracy {np.mean(chords):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
