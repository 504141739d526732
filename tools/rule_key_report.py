"""Does the rule engine's music sound in its plan's key? Key agreement and chord accuracy on POP909 plans.

    FRAMESCORE_DATA=/work/shared/datasets .venv/bin/python tools/rule_key_report.py [--split train] [--n 40]
        [--start 0] [--no-guide] [--finders] [--songs] [--json FILE]

Plans: the first 32 bars (fewer in a shorter song) of songs ``--start`` .. ``--start + --n`` of a POP909 split
(``datasets.pop909_split``; a song whose annotations do not read is skipped, and said so), seed 0, composed by
the rule engine. Per piece: ``key_agreement`` (Krumhansl-Schmuckler with Albrecht-Shanahan profiles, drums out),
``key_agreement_relative`` and ``chord_accuracy`` (``symbolic.metrics``); with ``--finders`` also music21's
Aarden-Essen, Temperley-Kostka-Payne and Bellman-Budge finders, which the rule engine's key guide never sees.
``--no-guide`` composes with the guide off (``rule.KEY_GUIDE = False``): the engine as it was before it had one.

The guide's settings were chosen on training songs 40-399; without / with it, key agreement and chord accuracy:
train 0-39 0.950 / 1.000 and 0.914 / 0.915; validation 0-15 0.750 / 0.875 and 0.930 / 0.930; all 86 validation
songs 0.884 / 0.965 and 0.930 / 0.930 (music21's finders there: 0.860 / 0.930, 0.837 / 0.860, 0.802 / 0.814).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def plans(split: str, n: int, start: int = 0):
    """(song id, plan) for songs ``start`` .. ``start + n`` of ``split``: the first 32 bars, seed 0."""
    from framescore.datasets.pop909_split import dataset_root, pop909_split
    from framescore.evaluate import song_plans

    root = dataset_root("pop909")
    # a few songs' annotations do not read: left out, and said so
    yield from song_plans(root, pop909_split(root)[split][start:start + n],
                          skip=lambda sid, e: print(f"skipped {sid}: {e}", file=sys.stderr))


def measure(split: str, n: int, guide: bool, finders: bool, start: int = 0) -> dict:
    import numpy as np

    from framescore.symbolic.engines import compose, rule
    from framescore.symbolic.metrics import chord_accuracy, key_agreement

    rule.KEY_GUIDE = guide
    if finders:
        from framescore.datasets.train_transformer import _other_key_finders
    rows = []
    for sid, plan in plans(split, n, start):
        piece = compose(plan, "rule")
        k = key_agreement(piece, plan)
        row = {"song": sid, "key": plan.key, "heard": k["key_estimated"], "key_agreement": k["key_agreement"],
               "key_agreement_relative": k["key_agreement_relative"], "chord_accuracy": chord_accuracy(piece, plan)[0]}
        if finders:
            row.update({f"key_{name}": v for name, v in _other_key_finders(piece, plan.key_obj).items()})
        rows.append(row)
    cols = [c for c in rows[0] if c not in ("song", "key", "heard")]
    means = {c: float(np.mean([r[c] for r in rows if r[c] is not None])) for c in cols}
    return {"split": split, "n": len(rows), "guide": guide, "means": means, "songs": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="train", choices=("train", "validation", "test"))
    ap.add_argument("--n", type=int, default=40, help="how many songs of the split (from the first)")
    ap.add_argument("--start", type=int, default=0, help="skip this many songs of the split first")
    ap.add_argument("--no-guide", action="store_true", help="compose with the rule engine's key guide off")
    ap.add_argument("--finders", action="store_true", help="also music21's Aarden, Temperley, Bellman finders")
    ap.add_argument("--songs", action="store_true", help="print one line per song")
    ap.add_argument("--json", help="write the figures to this file too")
    args = ap.parse_args(argv)
    out = measure(args.split, args.n, not args.no_guide, args.finders, args.start)
    if args.songs:
        for r in out["songs"]:
            print(f"{r['song']} plan {r['key']:>9} heard {r['heard']:>9} chords {r['chord_accuracy']:.3f}"
                  + "".join(f" {c[4:]}={r[c]:.0f}" for c in r if c.startswith("key_") and c != "key_agreement"
                            and not c.startswith("key_agreement")))
    print(f"{out['split']} n={out['n']} guide={'on' if out['guide'] else 'off'}: "
          + ", ".join(f"{c} {v:.3f}" for c, v in out["means"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
