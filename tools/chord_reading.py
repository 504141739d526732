"""How well does ``symbolic.chord_reading`` read POP909's chords? Accuracy per half bar against ``chord_midi.txt``.

    FRAMESCORE_DATA=/work/shared/datasets .venv/bin/python tools/chord_reading.py [--split validation]
        [--tune] [--n N] [--cache DIR] [--json FILE]

Each song is read by ``datasets.pop909.read_song`` (notes and annotations on one bar grid); its key is estimated
from the notes (``symbolic.metrics.estimate_key``, as ``framescore plan song.mid`` does); each half bar's chord is
read from the melody and piano notes and compared with the annotated chord sounding at the half bar's start.
Half bars annotated ``N`` are left out. Three figures:

- ``root_family``: root and triad family agree (C:7 counts as C:maj, A:min7 as A:min; sus2 and sus4 one family):
  the measure ``symbolic.metrics.chord_accuracy`` uses;
- ``majmin``: root and major/minor agree, every other family folded to the nearer of the two (MIREX "MajMin");
- ``exact``: the same quality and bass (``C:maj7/3`` only for ``C:maj7/3``).

``--tune`` grid-searches the weights on training songs (``--split train``) and prints the best; the defaults in
``symbolic.chord_reading`` came from it. The validation split is for the figure only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT.parent))


def _family(chord) -> str:
    from framescore.symbolic.chords import triad_of

    t = triad_of(chord.quality)
    return "sus" if t in ("sus2", "sus4") else t


def _majmin(chord) -> str:
    return "min" if chord.is_minor else "maj"


def songs(split: str, n: int | None, cache: Path):
    """``(song id, key, chroma, bass, reference chords)`` per readable song of ``split``, cached as .npz."""
    from framescore.datasets.pop909 import iter_songs
    from framescore.datasets.pop909_split import pop909_split
    from framescore.datasets.paths import dataset_root
    from framescore.symbolic.chord_reading import half_bar_chroma, half_bars
    from framescore.symbolic.chords import parse_chord, parse_key
    from framescore.symbolic.metrics import estimate_key

    cache.mkdir(parents=True, exist_ok=True)
    ids = pop909_split(dataset_root("pop909"))[split][:n]
    out = []
    missing = [sid for sid in ids if not (cache / f"{sid}.npz").is_file()]
    if missing:
        from framescore.datasets.pop909 import read_song
        from framescore.datasets.pop909 import DatasetError

        root = dataset_root("pop909")
        for sid in missing:
            try:
                ex = read_song(root / sid)
            except DatasetError:
                np.savez(cache / f"{sid}.npz", skipped=np.array(1))
                continue
            piece, plan = ex.piece, ex.plan
            spans = half_bars(piece)
            spans = [s for s in spans if s[0] < plan.n_bars]
            chroma, bass = half_bar_chroma(piece, spans)
            ref = []
            for b, h, _, _ in spans:
                beat = h * plan.bar_meter(b)[0] / 2
                chord = None
                for slot in plan.bars[b].chords:
                    if slot.beat <= beat + 1e-9:
                        chord = slot.chord
                if chord is None:  # held from the previous bar
                    chord = plan.bars[b - 1].chords[-1].chord if b else "N"
                ref.append(chord)
            key = estimate_key(piece)
            np.savez(cache / f"{sid}.npz", chroma=chroma, bass=bass, ref=np.array(ref),
                     key=np.array(key.name if key else ""))
    for sid in ids:
        d = np.load(cache / f"{sid}.npz")
        if "skipped" in d:
            continue
        key = str(d["key"])
        out.append((sid, parse_key(key) if key else None, d["chroma"], d["bass"],
                    [parse_chord(c) for c in d["ref"]]))
    return out


def score(data, weights) -> dict[str, float]:
    from framescore.symbolic.chord_reading import chords_from_chroma

    hits = {"root_family": 0, "majmin": 0, "exact": 0}
    judged = 0
    for _, key, chroma, bass, ref in data:
        got = chords_from_chroma(chroma, bass, key, weights)
        for g, r in zip(got, ref):
            if r.is_none:
                continue
            judged += 1
            if g.is_none:
                continue
            same_root = g.root == r.root
            hits["root_family"] += same_root and _family(g) == _family(r)
            hits["majmin"] += same_root and _majmin(g) == _majmin(r)
            hits["exact"] += g == r
    return {k: round(v / judged, 4) for k, v in hits.items()} | {"half_bars": judged, "songs": len(data)}


def main(argv: list[str] | None = None) -> int:
    from framescore.symbolic.chord_reading import DEFAULT

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="validation")
    ap.add_argument("--n", type=int, default=None, help="the first N songs of the split")
    ap.add_argument("--tune", action="store_true", help="grid-search the weights on this split")
    ap.add_argument("--cache", default="/tmp/framescore-chord-cache")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    data = songs(args.split, args.n, Path(args.cache))
    if args.tune:
        grid = {"extra_tone_cost": [0.04, 0.08, 0.12], "bass_bonus": [0.0, 0.1, 0.2],
                "diatonic_bonus": [0.0, 0.04, 0.08], "stay_bonus": [0.02, 0.08, 0.15],
                "rare_quality_cost": [0.0, 0.03, 0.06]}
        best = None
        for values in itertools.product(*grid.values()):
            w = replace(DEFAULT, **dict(zip(grid, values)))
            s = score(data, w)
            key = (s["root_family"], s["exact"])
            if best is None or key > best[0]:
                best = (key, w, s)
                print(json.dumps(asdict(w)), s, flush=True)
        print("best:", json.dumps(asdict(best[1])), best[2])
        return 0
    result = {"split": args.split, "weights": asdict(DEFAULT), **score(data, DEFAULT)}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
