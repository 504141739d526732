"""Choose the transformer's note rules (``chord_tones``, ``diatonic_passing``) on POP909 validation songs that
``framescore evaluate pop909:validation:16`` does not report (the split's songs after its first 16): overlap of the
melody and harmony with POP909 training songs (the evaluate metrics), how the melody moves (repeated notes, steps,
leaps), chord accuracy and key agreement.

    .venv/bin/python tools/transformer_rules.py [--songs 12] [--rules harmony:1,strong:1,harmony:0,strong:0]

Each rule is ``CHORD_TONES:DIATONIC[:PASSING[:STRONG[:KEY_GUIDANCE[:KEY_MARGIN]]]]`` (``transformer.CHORD_TONE_MODES``;
1 or 0; the longest a passing tone may last, in grid positions; which beats are strong, every 1st or 2nd; the key
guide's strength and margin: defaults the engine's). ``--option NAME=VALUE`` (repeatable) passes any other
``compose`` option of the engine to every rule, e.g. ``--option trim_at_chord_changes=false``.
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
    ap.add_argument("--rules", default="harmony:1,strong:1,harmony:0,strong:0")
    ap.add_argument("--reference-songs", type=int, default=100)
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args(argv)
    import json

    extra = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
    os.environ.setdefault("FRAMESCORE_DATA", str(ROOT.parent / "shared" / "datasets"))
    import numpy as np

    from framescore.datasets.pop909_split import dataset_root, pop909_split
    from framescore.evaluate import matched_reference_spec, reference_parts, song_plans
    from framescore.symbolic.engines import compose
    from framescore.symbolic.engines.transformer import DEFAULTS
    from framescore.symbolic.metrics import (MUSIC_METRICS, chord_accuracy, key_agreement, melody_motion,
                                             music_metrics, overlap_with_reference)

    root = dataset_root("pop909")
    split = pop909_split(root)
    plans = [dataclasses.replace(plan, engine="transformer")  # a song the reader refuses is skipped, as the corpus does
             for _, plan in song_plans(root, split["validation"][16:], count=args.songs, skip=lambda sid, e: None)]
    ref = matched_reference_spec(f"pop909:train:{args.reference_songs}", [p.n_bars for p in plans])  # as evaluate's
    for rule in args.rules.split(","):
        mode, diatonic, *rest = rule.split(":")
        passing = int(rest[0]) if rest else DEFAULTS["passing_max_positions"]
        strong = int(rest[1]) if len(rest) > 1 else DEFAULTS["strong_beats"]
        guide = float(rest[2]) if len(rest) > 2 else DEFAULTS["key_guidance"]
        margin = float(rest[3]) if len(rest) > 3 else DEFAULTS["key_margin"]
        values: dict[str, list[float]] = {m: [] for m in MUSIC_METRICS}
        chords, keys, motion = [], [], []
        for plan in plans:
            piece = compose(plan, "transformer", chord_tones=mode, diatonic_passing=diatonic == "1",
                            passing_max_positions=passing, strong_beats=strong, key_guidance=guide,
                            key_margin=margin, **extra)
            if (m := melody_motion(piece)) is not None:
                motion.append(m)
            for m, v in music_metrics(reference_parts(piece)).items():
                if v is not None and m in values:
                    values[m].append(v)
            chords.append(chord_accuracy(piece, plan)[0])
            keys.append(key_agreement(piece, plan)["key_agreement"])
        ov = overlap_with_reference(values, ref)
        print(f"{rule}: overlap {ov['mean']:.3f} (" + " ".join(f"{m[:5]} {v:.2f}" for m, v in ov.items()
                                                          if m != "mean" and v is not None)
              + f"), chord accuracy {np.mean(chords):.3f}, key agreement {np.mean(keys):.3f}, melody "
              + " ".join(f"{k} {np.mean([m[k] for m in motion]):.3f}" for k in ("repeated", "step", "leap")),
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
