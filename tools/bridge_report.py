"""Words and music as bridges, measured: text adherence, MIDI → plan on POP909 validation songs, and round trips.

    FRAMESCORE_DATA=/work/shared/datasets .venv/bin/python tools/bridge_report.py [--songs N] [--json FILE]

1. **Text adherence** over the captions of ``tests/vision/test_words.py`` (each with its expected attributes):
   the share of stated attributes the plan made by ``plan_from_text`` holds (key; tempo, the exact bpm where one
   is given, the Italian term's bin otherwise; meter; each named instrument, as a role or a layer; chords;
   duration); then, composed by the rule engine, how often the piece's estimated key
   (``symbolic.metrics.estimate_key``), its tempo, meter and tracks agree with the caption.
2. **MIDI → plan** on POP909 validation songs, each ``NNN.mid`` read as any MIDI file is
   (``symbolic.reading.plan_from_piece``): the key against ``key_audio.txt``'s longest key (exact, and exact or
   relative) and the tempo against the median beat interval of ``beat_midi.txt`` (within 2%, and octave
   errors); the chords per half bar against ``chord_midi.txt`` are ``tools/chord_reading.py``'s.
3. **Round trips**: describe → text → plan (the song's caption read back into a plan: same key, meter, tempo
   bin and bpm, instruments, chords) and plan → compose → describe (each caption's plan composed, then described:
   same key, meter, tempo, instruments).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT.parent))


def _captions():
    spec = importlib.util.spec_from_file_location("test_words", ROOT / "tests" / "vision" / "test_words.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.CAPTIONS


def _programs(roles: dict, layers: dict) -> list[int]:
    return sorted([p for r, p in roles.items() if p is not None and r != "drums"]
                  + [p for ps in layers.values() for p in ps])


def text_adherence() -> dict:
    from framescore.symbolic.chords import parse_key, parse_progression
    from framescore.symbolic.engines import compose
    from framescore.symbolic.metrics import estimate_key
    from framescore.vision.mapping import plan_from_text

    hits: dict[str, list[bool]] = {k: [] for k in ("key", "tempo", "meter", "instruments", "chords", "duration")}
    after: dict[str, list[bool]] = {k: [] for k in ("key", "tempo", "meter", "tracks")}
    for caption, want in _captions():
        try:
            plan = plan_from_text(caption, None if "duration_sec" in want else 12.0)
        except Exception as e:  # a caption with nothing to compose from (no mood, no attribute)
            print(f"  skipped {caption[:40]!r}: {e}", file=sys.stderr)
            continue
        if "key" in want:
            hits["key"].append(parse_key(plan.key) == parse_key(want["key"]))
        if "tempo_bpm" in want:
            hits["tempo"].append(abs(plan.tempo_bpm - want["tempo_bpm"]) < 0.5)
        if "meter" in want:
            hits["meter"].append(plan.meter == want["meter"])
        if "duration_sec" in want:
            hits["duration"].append(abs(plan.duration_sec - want["duration_sec"]) < 1e-6)
        if "chords" in want:
            key = parse_key(plan.key)
            prog = [c for bar in parse_progression(want["chords"], key) for c in bar]
            got = [c for b in range(min(plan.n_bars, len(parse_progression(want["chords"], key))))
                   for _, c in plan.chords_at(b)]
            hits["chords"].append([c.symbol() for c in got] == [c.symbol() for c in prog[:len(got)]])
        wanted = want.get("instruments")
        if wanted:
            have = {**{r: p for r, p in plan.instrumentation.items()}}
            for role, program in wanted.items():
                hits["instruments"].append(have.get(role) == program if program is not None else role not in have)
            for role, programs in want.get("layers", {}).items():
                hits["instruments"] += [p in plan.layers.get(role, []) for p in programs]
        piece = compose(plan)
        if "key" in want:
            est = estimate_key(piece)
            after["key"].append(est is not None and est == parse_key(want["key"]))
        if "tempo_bpm" in want:
            after["tempo"].append(abs(piece.tempos[0].bpm - want["tempo_bpm"]) < 0.5)
        if "meter" in want:
            after["meter"].append("{}/{}".format(*piece.meter) == want["meter"])
        if wanted:
            tracks = {t.name: t.program for t in piece.tracks if t.notes}
            after["tracks"].append(all((tracks.get(r) == p) if p is not None else r not in tracks
                                       for r, p in wanted.items() if r != "drums")
                                   and (("drums" in tracks) == (wanted.get("drums") is not None)))
    share = {k: {"correct": int(sum(v)), "stated": len(v), "share": round(float(np.mean(v)), 4) if v else None}
             for k, v in hits.items()}
    composed = {k: {"agree": int(sum(v)), "of": len(v), "share": round(float(np.mean(v)), 4) if v else None}
                for k, v in after.items()}
    return {"captions": len(_captions()), "read": share, "composed": composed}


def _main_key(song: Path):
    from framescore.symbolic.chords import parse_key

    rows = [ln.split("\t") if "\t" in ln else ln.split() for ln in (song / "key_audio.txt").read_text().splitlines()
            if ln.strip()]
    best = max(rows, key=lambda r: float(r[1]) - float(r[0]))
    return parse_key(best[2])


def midi_to_plan(n: int | None) -> tuple[dict, list]:
    from framescore.datasets.paths import dataset_root
    from framescore.datasets.pop909_split import pop909_split
    from framescore.symbolic.midi_io import read_midi
    from framescore.symbolic.reading import plan_from_piece

    root = dataset_root("pop909")
    ids = pop909_split(root)["validation"][:n]
    key_ok = rel_ok = tempo_ok = octave = 0
    errs = []
    plans = []
    for sid in ids:
        piece = read_midi(root / sid / f"{sid}.mid")
        plan = plan_from_piece(piece, f"{sid}.mid")
        plans.append((sid, plan))
        want = _main_key(root / sid)
        got = plan.key_obj
        key_ok += got == want
        rel = (want.tonic + 9) % 12 if want.mode == "major" else (want.tonic + 3) % 12
        rel_ok += got == want or (got.tonic == rel and got.mode != want.mode)
        beats = np.array([float(ln.split()[0]) for ln in (root / sid / "beat_midi.txt").read_text().splitlines()
                          if ln.strip()])
        bpm = 60.0 / float(np.median(np.diff(beats)))
        err = plan.tempo_bpm / bpm - 1
        errs.append(err)
        tempo_ok += abs(err) <= 0.02
        octave += min(abs(plan.tempo_bpm / bpm - 2), abs(plan.tempo_bpm / bpm - 0.5)) <= 0.04
    k = len(ids)
    return {"songs": k, "key_exact": round(key_ok / k, 4), "key_exact_or_relative": round(rel_ok / k, 4),
            "tempo_within_2pct": round(tempo_ok / k, 4), "tempo_octave_errors": octave,
            "tempo_median_abs_error_pct": round(100 * float(np.median(np.abs(errs))), 3)}, plans


def round_trips(plans: list) -> dict:
    from framescore.symbolic.chords import parse_chord, parse_key
    from framescore.symbolic.engines import compose
    from framescore.symbolic.reading import plan_from_piece
    from framescore.vision.describe import attributes, tempo_term
    from framescore.vision.mapping import plan_from_text

    fields = ("key", "meter", "tempo_bpm", "tempo_bin", "instruments", "chords")
    back = {f: [] for f in fields}
    for _, plan in plans:
        a = attributes(plan)
        p = plan_from_text(a["caption"], None)
        back["key"].append(parse_key(p.key) == parse_key(a["key"]))
        back["meter"].append(p.meter == a["time_signature"])
        back["tempo_bpm"].append(round(p.tempo_bpm) == a["tempo_bpm"])
        back["tempo_bin"].append(tempo_term(p.tempo_bpm) == a["tempo_term"])
        back["instruments"].append(set(_programs(p.instrumentation, p.layers))  # a caption names instruments,
                                   == set(_programs(a["instrumentation"], a["layers"])))  # not how many tracks
        read = [c for b in range(p.n_bars) for _, c in p.chords_at(b)]
        want = [parse_chord(c) for c in a["chords"]]
        back["chords"].append([c.symbol() for c in read[:len(want)]] == [c.symbol() for c in want])
    again = {f: [] for f in ("key", "meter", "tempo_bpm", "instruments")}
    for caption, want in _captions():
        try:
            plan = plan_from_text(caption, None if "duration_sec" in want else 12.0)
        except Exception:
            continue
        a = attributes(plan_from_piece(compose(plan), "x.mid", va=False))
        again["key"].append(parse_key(a["key"]) == plan.key_obj)
        again["meter"].append(a["time_signature"] == plan.meter)
        if a["time_signature"] != plan.meter:
            print(f"  meter {plan.meter} read back as {a['time_signature']}: {caption[:50]!r}", file=sys.stderr)
        again["tempo_bpm"].append(a["tempo_bpm"] == round(plan.tempo_bpm))
        again["instruments"].append(_programs(a["instrumentation"], a["layers"])
                                    == _programs(plan.instrumentation, plan.layers))
    def share(d):
        return {k: {"agree": int(sum(v)), "of": len(v), "share": round(float(np.mean(v)), 4)} for k, v in d.items()}

    return {"describe_text_plan": share(back), "plan_compose_describe": share(again)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--songs", type=int, default=None, help="the first N validation songs (default: all)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    out = {"text_adherence": text_adherence()}
    print(json.dumps(out, indent=1), flush=True)
    out["midi_to_plan"], plans = midi_to_plan(args.songs)
    print(json.dumps(out["midi_to_plan"], indent=1), flush=True)
    out["round_trips"] = round_trips(plans)
    print(json.dumps(out["round_trips"], indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
