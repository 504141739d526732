"""Benchmark: rendering MIDI files made in code to stems and a mix. Prints seconds and peak resident memory.

Targets (the memory issue): a 10-minute 4-stem render + mix well under 500 MB, and memory flat as tracks x length
grow. Each case runs in a fresh subprocess so peaks do not mix; the peak is ``ru_maxrss`` after reading + rendering
and after mixing. What runs is what ``framescore render`` runs: ``read_midi``, ``render_stems``, ``mix_stems``.

    .venv/bin/python bench/bench_render.py                   # every case
    .venv/bin/python bench/bench_render.py --case 4x10min    # one of: 4x10min, 21x10min, 2x60min
    .venv/bin/python bench/bench_render.py --pedal           # ring time of pedalled piano notes (-60 dB)

``--pedal`` renders piano under a sustain pedal (one 1-s note with the pedal held 5 s; four notes of 0.5-1 s
with the pedal held 6 s) and prints when the stem falls for good 60 dB below its peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TPQ = 480
CASES = {"4x10min": (4, 600), "21x10min": (21, 600), "2x60min": (2, 3600)}
# General MIDI programs for the tracks, in order (piano, strings, bass, guitar, brass, ...); one drum track each
PROGRAMS = [0, 48, 33, 25, 61, 73, 40, 42, 56, 71, 68, 46, 11, 52, 89, 19, 4, 24, 65, 60, 57]


def make_midi(path: Path, n_tracks: int, seconds: int) -> Path:
    """A type-1 file at 120 bpm: every track plays a two-note chord every beat (the last track is drums)."""
    import mido

    beats = seconds * 2
    f = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    for k in range(n_tracks):
        drum = k == n_tracks - 1 and n_tracks > 1
        ch = 9 if drum else (k if k < 9 else k + 1) % 16
        tr = mido.MidiTrack([mido.MetaMessage("track_name", name="drums" if drum else f"part{k + 1}")])
        if k == 0:
            tr.insert(0, mido.MetaMessage("set_tempo", tempo=500000))
        if not drum:
            tr.append(mido.Message("program_change", channel=ch, program=PROGRAMS[k % len(PROGRAMS)]))
        last = 0
        for b in range(beats):
            root = (36, 42, 38)[b % 3] if drum else 48 + (7 * k + 5 * b) % 24
            pitches = (root, 42) if drum else (root, root + 4 + (b % 2))
            t_on, t_off = b * TPQ, b * TPQ + (TPQ // 4 if drum else TPQ * 7 // 8)
            for i, p in enumerate(pitches):
                tr.append(mido.Message("note_on", channel=ch, note=p, velocity=70 + (b * 7 + k) % 40,
                                       time=t_on - last if i == 0 else 0))
                last = t_on
            for i, p in enumerate(pitches):
                tr.append(mido.Message("note_off", channel=ch, note=p, time=t_off - last if i == 0 else 0))
                last = t_off
        f.tracks.append(tr)
    f.save(path)
    return path


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(name: str) -> dict:
    """One case in this process: make the file, then read, render and mix it."""
    from framescore.render.mix import mix_stems
    from framescore.render.synth import SAMPLE_RATE, find_soundfont, render_stems
    from framescore.symbolic.midi_io import read_midi

    n_tracks, seconds = CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        midi = make_midi(Path(tmp) / "in.mid", n_tracks, seconds)
        base = peak_mb()
        t0 = time.perf_counter()
        piece = read_midi(midi)
        stems = render_stems(piece, Path(tmp) / "stems", find_soundfont(), SAMPLE_RATE)
        t1 = time.perf_counter()
        render_peak = peak_mb()
        mix_stems(stems, Path(tmp) / "mix.wav", SAMPLE_RATE)
        t2 = time.perf_counter()
    return {"case": name, "tracks": n_tracks, "seconds": seconds, "render_s": round(t1 - t0, 1),
            "mix_s": round(t2 - t1, 1), "baseline_mb": round(base), "peak_after_render_mb": round(render_peak),
            "peak_mb": round(peak_mb())}


# ----- the pedal ------------------------------------------------------------------------------------------------
PEDAL_CASES = {  # name: (notes as (start beat, beats, pitch), pedal down/up beat); 120 bpm, so a beat is 0.5 s
    "one note": ([(0, 2, 60)], (0, 10)),  # C4 for 1 s, pedal held 5 s
    "phrase": ([(0, 2, 60), (2, 1, 64), (4, 2, 67), (6, 1, 72)], (0, 12)),  # notes of 0.5-1 s, pedal held 6 s
}


def make_pedal_midi(path: Path, notes: list[tuple[int, int, int]], pedal: tuple[int, int]) -> Path:
    """One piano track with a sustain pedal (CC64) down and up; a CC7 at 8 s sets the file's end."""
    import mido

    events = [(s * TPQ, 1, mido.Message("note_on", note=p, velocity=90)) for s, d, p in notes]
    events += [((s + d) * TPQ, 0, mido.Message("note_off", note=p)) for s, d, p in notes]
    events += [(pedal[0] * TPQ, 0, mido.Message("control_change", control=64, value=127)),
               (pedal[1] * TPQ, 0, mido.Message("control_change", control=64, value=0)),
               (16 * TPQ, 0, mido.Message("control_change", control=7, value=100))]
    tr, last = mido.MidiTrack([mido.Message("program_change", program=0)]), 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        tr.append(msg.copy(time=tick - last))
        last = tick
    f = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    f.tracks.append(tr)
    f.save(path)
    return path


def sounding_until(audio, sr: int, floor_db: float = -60.0) -> float:
    """The last time the envelope (10 ms windows) is within ``floor_db`` of the stem's peak, in seconds."""
    import numpy as np

    hop = sr // 100
    mono = np.abs(audio).max(axis=1)
    env = mono[: len(mono) // hop * hop].reshape(-1, hop).max(axis=1)
    above = np.nonzero(env > env.max() * 10 ** (floor_db / 20))[0]
    return (above[-1] + 1) * hop / sr if len(above) else 0.0


def run_pedal() -> list[dict]:
    import soundfile as sf

    from framescore.render.synth import find_soundfont, render_stems
    from framescore.symbolic.midi_io import read_midi

    sr, out = 44100, []
    for name, (notes, pedal) in PEDAL_CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            piece = read_midi(make_pedal_midi(Path(tmp) / "pedal.mid", notes, pedal))
            paths = render_stems(piece, Path(tmp) / "stems", find_soundfont(), sr)
            audio, _ = sf.read(next(iter(paths.values())), dtype="float32")
        out.append({"case": name, "file_s": round(len(audio) / sr, 2),
                    "last_note_off_s": max(s + d for s, d, _ in notes) / 2, "pedal_up_s": pedal[1] / 2,
                    "sounds_until_s": round(sounding_until(audio, sr), 2)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=sorted(CASES), help="run one case here (the default runs each in a subprocess)")
    ap.add_argument("--pedal", action="store_true", help="measure how long pedalled piano notes ring")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO.parent))
    if args.pedal:
        print(json.dumps(run_pedal()))
    elif args.case:
        print(json.dumps(run_case(args.case)))
    else:
        for name in CASES:
            out = subprocess.run([sys.executable, __file__, "--case", name], check=True, capture_output=True,
                                 text=True).stdout
            print(out.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
