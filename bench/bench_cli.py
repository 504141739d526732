"""Benchmark: ``framescore video`` as a user runs it, beside decoding the same clip alone, for every engine.

Prints, in one run, for each clip (30-s 1280x720 H.264, the same as 30-s VP8 WebM, a 5-s and a 1-s clip of the
bundled footage): the decode-only seconds (framescore's frame reader, what the analysis cannot do without), the
whole CLI's wall time per engine (a fresh process: start-up and imports included; best of ``--repeat``) with its
ratio to decode-only and its stages, and the targets of the speed issue; then the import time of each stage's
modules, each in a fresh process.

    .venv/bin/python bench/bench_cli.py [--engines rule,transformer,diffusion] [--repeat 3] [--clips 30s,webm,5s,1s]
    .venv/bin/python bench/bench_cli.py --long [--engines rule,transformer]   # a 10-minute 720p clip, once

Clips are made once under ``.cache/bench/`` from ``examples/bikes.mp4`` (real footage, five cuts in 10 s).
``--pythonpath DIR`` runs the CLI of another checkout (``DIR/framescore`` a link to it) for a before/after table.
``--long`` loops the 30-s clip to 10 minutes (the stream copied, not re-encoded) and prints wall time, peak
memory and the stages for each engine, with the 30-s clip's ratios beside it.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "bench"
sys.path.insert(0, str(REPO / "bench"))

from bench_pipeline import decode_only, make_clip  # noqa: E402

#: (clip, engine) -> the issue's target: a ratio to decode-only (float) or seconds ("s")
TARGETS = {("30s", "rule"): 1.6, ("30s", "transformer"): 2.5, ("30s", "diffusion"): 4.0,
           ("webm", "rule"): 1.6, ("webm", "transformer"): 2.5, ("webm", "diffusion"): 4.0,
           ("5s", "rule"): "1.5 s", ("5s", "transformer"): "2.5 s"}
#: What each stage imports, timed alone in a fresh interpreter (numpy is imported first and not counted).
STAGE_IMPORTS = {
    "cli (start-up)": "import framescore.cli",
    "analyse (vision)": "import framescore.vision.features, framescore.vision.mapping",
    "rule engine": "import framescore.symbolic.engines.rule",
    "transformer engine + model": (
        "from framescore.symbolic.engines import transformer as tr\n"
        "from framescore.symbolic.checkpoints import checkpoint_dir\ntr._load(str(checkpoint_dir('transformer')))"),
    "diffusion engine + model": (
        "from framescore.symbolic.engines import diffusion as df\ndf._load(df._checkpoint(None))"),
    "render (FluidSynth)": "import framescore.render.synth as s; s._fluidsynth(); import soundfile",
    "mix + mux + hits": "import framescore.render.mix, framescore.render.mux, framescore.render.hits",
    "notation (music21)": "import music21.musicxml.m21ToXml, framescore.symbolic.musicxml",
    "pictures (matplotlib)": "import matplotlib.figure, matplotlib.backends.backend_agg, framescore.symbolic.plot",
}


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def clips(names: list[str]) -> dict[str, Path]:
    """The benchmark's clips, made once."""
    CACHE.mkdir(parents=True, exist_ok=True)
    h264 = make_clip(CACHE / "bikes30_720p.mp4")
    made = {"30s": h264}
    recipes = {
        "webm": (CACHE / "bikes30_720p.webm", ["-i", str(h264), "-c:v", "libvpx", "-b:v", "1M", "-deadline",
                                                "realtime", "-cpu-used", "8"]),
        "5s": (CACHE / "bikes5.mp4", ["-i", str(REPO / "examples" / "bikes.mp4"), "-t", "5", "-c:v", "libx264",
                                      "-preset", "veryfast", "-pix_fmt", "yuv420p"]),
        "1s": (CACHE / "bikes1.mp4", ["-i", str(REPO / "examples" / "bikes.mp4"), "-t", "1", "-c:v", "libx264",
                                      "-preset", "veryfast", "-pix_fmt", "yuv420p"]),
        "10min": (CACHE / "bikes600_720p.mp4", ["-stream_loop", "19", "-i", str(h264), "-c", "copy"]),
    }
    for name in names:
        if name in recipes:
            path, args = recipes[name]
            if not path.is_file():
                subprocess.run([ffmpeg(), "-v", "error", "-y", *args, "-an", str(path)], check=True)
            made[name] = path
    return {n: made[n] for n in names}


_STAGES = re.compile(r"in ([\d.]+) s \((.*?)(?:;|\))")


def cli_run(clip: Path, engine: str, pythonpath: str | None = None) -> tuple[float, str, float]:
    """One ``framescore video`` in a fresh process: wall seconds, its stage line, peak memory of the process
    (MB, the largest child so far: run the longest case last). ``pythonpath``: another checkout's code."""
    import os

    cli = REPO / ".venv" / "bin" / "framescore"
    cmd = [str(cli)] if cli.exists() and pythonpath is None else [sys.executable, "-m", "framescore.cli"]
    env = dict(os.environ, **({"PYTHONPATH": pythonpath} if pythonpath else {}))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = subprocess.run([*cmd, "video", str(clip), "-o", str(Path(tmp) / "o"), "--engine", engine, "--seed", "0"],
                           capture_output=True, text=True, env=env, cwd=tmp)
        wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{engine} on {clip.name} failed: {r.stderr.strip().splitlines()[-1]}")
    m = _STAGES.search(r.stderr)
    return wall, m.group(2) if m else "", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def import_seconds(code: str) -> float:
    """Seconds ``code`` takes in a fresh interpreter that has imported numpy already (best of 2)."""
    prog = f"import numpy, time\nt0 = time.perf_counter()\n{code}\nprint(time.perf_counter() - t0)"
    return min(float(subprocess.run([sys.executable, "-c", prog], check=True, capture_output=True,
                                    text=True, cwd=REPO).stdout.split()[-1]) for _ in range(2))


def target_text(clip: str, engine: str, wall: float, ratio: float) -> str:
    t = TARGETS.get((clip, engine))
    if t is None:
        return ""
    if isinstance(t, str):
        limit = float(t.split()[0])
        return f"target <= {t}: {'met' if wall <= limit else 'not met'}"
    return f"target <= {t}x: {'met' if ratio <= t else 'not met'}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default="rule,transformer,diffusion")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each case; the best is reported")
    ap.add_argument("--clips", default="30s,webm,5s,1s")
    ap.add_argument("--long", action="store_true", help="the 10-minute clip instead (one run each)")
    ap.add_argument("--no-imports", action="store_true", help="skip the import-time table")
    ap.add_argument("--pythonpath", help="run the CLI of the checkout linked as DIR/framescore (before/after)")
    args = ap.parse_args(argv)
    engines = args.engines.split(",")
    names = ["10min"] if args.long else args.clips.split(",")
    repeat = 1 if args.long else args.repeat

    print(f"{'clip':<7}{'engine':<13}{'decode s':>9}{'CLI s':>8}{'ratio':>7}  target; stages of the best run")
    for name, clip in clips(names).items():
        decode = min(decode_only(clip) for _ in range(repeat))
        for engine in engines:
            runs = [cli_run(clip, engine, args.pythonpath) for _ in range(repeat)]
            wall, stages, peak = min(runs)
            ratio = wall / decode
            print(f"{name:<7}{engine:<13}{decode:>9.2f}{wall:>8.2f}{ratio:>6.2f}x  "
                  f"{target_text(name, engine, wall, ratio)}; all runs "
                  + ", ".join(f"{r[0]:.2f}" for r in runs) + (f"; peak {peak:.0f} MB" if args.long else ""))
            print(f"{'':<20}{stages}", flush=True)
    if not args.no_imports and not args.long and not args.pythonpath:
        print("\nimport seconds, each in a fresh process (numpy already imported)")
        for stage, code in STAGE_IMPORTS.items():
            print(f"  {stage:<28}{import_seconds(code):>7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
