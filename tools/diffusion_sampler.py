"""Choose the diffusion engine's sampler and step count on validation songs: chord accuracy, melody coverage,
overlap of the melody and harmony with real music, and seconds, per setting.

    .venv/bin/python tools/diffusion_sampler.py [--songs 16] [--settings ddim:20,dpmsolver++:10,dpmsolver++:8]

Plans: the shared media and the first ``--songs`` POP909 validation songs (32 bars each), as ``framescore
evaluate`` makes them; reference: the first ``--reference-songs`` training songs, cut and snapped as evaluate's
(overlap of the parts POP909 has, as evaluate's headline). Never the test split: settings are chosen without it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--songs", type=int, default=16)
    ap.add_argument("--reference-songs", type=int, default=100)
    ap.add_argument("--settings", default="ddim:20,dpmsolver++:10,dpmsolver++:8,dpmsolver++:6")
    args = ap.parse_args(argv)
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    import numpy as np

    from framescore import evaluate as E
    from framescore.symbolic.engines import compose, diffusion
    from framescore.symbolic.metrics import chord_accuracy, melody_coverage, music_metrics, overlap_with_reference

    plans = E.plans_for(E.collect_inputs([str(ROOT.parent / "shared" / "media"), f"pop909:validation:{args.songs}"]))
    ref = E.matched_reference_spec(f"pop909:train:{args.reference_songs}", [plan.n_bars for _, plan in plans])
    model = diffusion._load(diffusion._checkpoint(None))
    shipped = model.config
    for setting in args.settings.split(","):
        sampler, steps = setting.split(":")
        model.config = dataclasses.replace(shipped, sampler=sampler, sampling_steps=int(steps))
        chords, cover, secs, values = [], [], [], {}
        for _, plan in plans:
            plan = dataclasses.replace(plan, engine="diffusion")
            t0 = time.perf_counter()
            piece = compose(plan, "diffusion")
            secs.append((time.perf_counter() - t0) * 32 / plan.n_bars)
            chords.append(chord_accuracy(piece, plan)[0])
            cover.append(melody_coverage(piece, plan))
            for k, v in music_metrics(E.reference_parts(piece)).items():
                if v is not None:
                    values.setdefault(k, []).append(float(v))
        ov = overlap_with_reference(values, ref)
        print(f"{setting}: chord {np.mean([c for c in chords if c is not None]):.3f}, melody coverage "
              f"{np.mean([c for c in cover if c is not None]):.3f}, overlap {ov['mean']:.3f} "
              + " ".join(f"{k[:8]} {v:.3f}" for k, v in ov.items() if k != "mean" and v is not None)
              + f", median s per 32 bars {np.median(secs):.2f}", flush=True)
    model.config = shipped
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
