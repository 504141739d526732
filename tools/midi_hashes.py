"""Print a SHA-256 of the MIDI bytes each engine writes for a fixed matrix of plans.

A refactor that must not change behaviour is checked by running this before and after and comparing the
lines (``diff``). The plans cover the meters, keys, tempo maps and chord rates the engines must handle; a
plan an engine refuses prints the refusal, which is part of the behaviour too.

    python tools/midi_hashes.py [--engines rule,transformer,diffusion] > hashes.txt
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

from framescore.symbolic.plan import BarPlan, ChordSlot, MusicPlan, Section, simple_plan


def _sections(plan: MusicPlan, tempos: list[float]) -> MusicPlan:
    """Split ``plan`` into len(tempos) sections, each with its own tempo (a tempo map)."""
    n = plan.n_bars
    size = max(1, n // len(tempos))
    secs, start = [], 0
    for i, t in enumerate(tempos):
        count = n - start if i == len(tempos) - 1 else min(size, n - start)
        if count <= 0:
            break
        secs.append(Section(chr(65 + i), start, count, cut_sec=None if i == 0 else 1.0, tempo_bpm=t))
        start += count
    plan.sections = secs
    plan.duration_sec = sum(plan.bar_seconds(b) for b in range(n))
    return plan.validate()


def _shaped(plan: MusicPlan) -> MusicPlan:
    """Density and dynamics that rise and fall across the bars, as a video's motion makes them."""
    n = plan.n_bars
    for i, bar in enumerate(plan.bars):
        x = i / max(1, n - 1)
        bar.density = round(0.2 + 0.7 * (1 - abs(2 * x - 1)), 3)
        bar.dynamics = round(0.3 + 0.6 * x, 3)
    return plan.validate()


def plans() -> dict[str, MusicPlan]:
    p = {}
    p["4/4 C major I vi IV V"] = simple_plan(12.0, 100, "C major", "4/4", "I vi IV V", seed=1)
    p["3/4 A minor"] = simple_plan(10.0, 120, "A minor", "3/4", "i iv V i", seed=2)
    p["2/4 F major"] = simple_plan(8.0, 132, "F major", "2/4", "I IV V I", seed=3)
    p["5/4 E minor"] = simple_plan(12.0, 110, "E minor", "5/4", "i VI III VII", seed=4)
    p["6/8 D major"] = simple_plan(10.0, 90, "D major", "6/8", "I IV I V", seed=5)
    p["7/8 Bb major"] = simple_plan(9.0, 140, "Bb major", "7/8", "I ii V I", seed=6)
    p["4/4 F# minor sharps"] = simple_plan(10.0, 96, "F# minor", "4/4", "i iv v i", valence=-0.6, arousal=0.4, seed=7)
    p["4/4 Eb major flats, shaped"] = _shaped(simple_plan(16.0, 104, "Eb major", "4/4", "I vi ii V", seed=8))
    p["4/4 tempo per section"] = _sections(simple_plan(16.0, 100, "G major", "4/4", "I V vi IV", seed=9), [84, 100, 126])
    p["4/4 chords twice a bar"] = simple_plan(10.0, 100, "C major", "4/4", "I V | vi IV | ii V | I", seed=10)
    p["one bar"] = simple_plan(2.0, 120, "D minor", "4/4", "i", seed=11)
    long = simple_plan(200.0, 120, "C minor", "4/4", "i VI III VII", seed=12, arousal=0.8)
    p["100 bars C minor, high arousal"] = long
    nodrums = simple_plan(10.0, 100, "A major", "4/4", "I IV V IV", seed=13)
    nodrums.instrumentation = {k: v for k, v in nodrums.instrumentation.items() if k != "drums"}
    p["drums off"] = nodrums
    quiet = simple_plan(10.0, 70, "C major", "4/4", "I IV I V", density=0.1, dynamics=0.1, valence=0.5, arousal=-0.8, seed=14)
    p["sparse and quiet"] = quiet
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default="rule,transformer,diffusion")
    args = ap.parse_args(argv)
    from framescore.symbolic.engines import compose
    from framescore.symbolic.midi_io import write_midi

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.mid"
        for engine in args.engines.split(","):
            for name, plan in plans().items():
                plan.engine = engine
                try:
                    piece = compose(plan, engine)
                    write_midi(piece, out)
                    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
                except Exception as e:  # noqa: BLE001 - a refusal is behaviour too
                    digest = f"refused: {type(e).__name__}: {e}"
                print(f"{engine:12s} {name:34s} {digest}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
