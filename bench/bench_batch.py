"""Benchmark: ``framescore batch`` against a shell loop of single ``framescore video`` runs, for every engine.

For each engine it scores the same 20 short clips three ways, each a fresh command as a user types it:

- **loop**: ``for c in clips; do framescore video $c -o OUT/$name --engine E; done`` (a process per clip, every
  start-up paid again);
- **batch, 1 worker** and **batch, 2 workers**: ``framescore batch CLIPS/ -o OUT --engine E --workers N``.

It prints the wall time and the throughput (clips per minute, start-up included), the whole machine's CPU seconds
per clip over each run (``/proc/stat``: Ray's own processes and every child counted), and from ``batch.jsonl``
the CPU seconds each item cost its worker (the actor and the renderers it forked). Every batch item's
``score.mid`` is checked byte-identical to the loop's.

``--long N`` then scores N 30-s 720p clips per engine with 2 workers and prints their per-item CPU seconds, and
the cores one million 30-s clips a day would need (``1e6 x cpu_s / 86400``, and at 75 % utilisation).

    .venv/bin/python bench/bench_batch.py [--engines rule,transformer,diffusion] [--clips 20] [--long 4]

Clips are cut once under ``.cache/bench/batch/`` from ``examples/bikes.mp4`` (real footage, five cuts in 10 s):
5 s each, clip k starting k x 0.25 s in, so no two are the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "bench" / "batch"
sys.path.insert(0, str(REPO / "bench"))

from bench_cli import ffmpeg  # noqa: E402
from bench_pipeline import make_clip  # noqa: E402

CLI = [str(Path(sys.executable).with_name("framescore"))]


def short_clips(n: int) -> Path:
    """``n`` distinct 5-s clips of the bundled footage in one folder (made once)."""
    folder = CACHE / f"short{n}"
    if folder.is_dir() and len(list(folder.glob("*.mp4"))) == n:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        start = (k * 0.25) % 5.0
        subprocess.run([ffmpeg(), "-v", "error", "-y", "-ss", f"{start:.2f}", "-i", str(REPO / "examples" / "bikes.mp4"),
                        "-t", "5", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                        "-an", str(folder / f"clip{k:02d}.mp4")], check=True)
    return folder


def long_clips(n: int) -> Path:
    """``n`` distinct 30-s 1280x720 clips: the benchmark's 30-s clip, each started at a different frame."""
    folder = CACHE / f"long{n}"
    if folder.is_dir() and len(list(folder.glob("*.mp4"))) == n:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    base = make_clip(REPO / ".cache" / "bench" / "clip30.mp4")
    for k in range(n):
        subprocess.run([ffmpeg(), "-v", "error", "-y", "-stream_loop", "1", "-ss", f"{k * 1.5:.2f}", "-i", str(base),
                        "-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                        "-an", str(folder / f"long{k:02d}.mp4")], check=True)
    return folder


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq), from ``/proc/stat``."""
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in parts[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed(cmds: list[list[str]]) -> tuple[float, float]:
    """Run the commands one after another; (wall seconds, machine CPU seconds)."""
    c0, t0 = machine_cpu(), time.perf_counter()
    for cmd in cmds:
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.strip()[-500:]}")
    return time.perf_counter() - t0, machine_cpu() - c0


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines() if line.strip()]


def bench_engine(engine: str, clips: Path, tmp: Path) -> dict:
    names = sorted(p for p in clips.glob("*.mp4"))
    n = len(names)
    row: dict = {"engine": engine, "clips": n}
    loop_out = tmp / f"loop-{engine}"
    wall, cpu = timed([[*CLI, "video", str(c), "-o", str(loop_out / c.stem), "--engine", engine, "-q"] for c in names])
    row["loop"] = (wall, cpu)
    for w in (1, 2):
        out = tmp / f"batch{w}-{engine}"
        wall, cpu = timed([[*CLI, "batch", str(clips), "-o", str(out), "--engine", engine, "--workers", str(w), "-q"]])
        recs = records(out)
        assert len(recs) == n and all(r["status"] == "done" for r in recs), recs
        same = sum(sha(out / c.stem / "score.mid") == sha(loop_out / c.stem / "score.mid") for c in names)
        row[f"batch{w}"] = (wall, cpu)
        row[f"item_cpu{w}"] = statistics.mean(r["cpu_seconds"] for r in recs)
        row[f"item_wall{w}"] = statistics.mean(r["seconds"] for r in recs)
        row[f"same{w}"] = same
    return row


def bench_long(engine: str, clips: Path, tmp: Path) -> dict:
    out = tmp / f"long-{engine}"
    wall, cpu = timed([[*CLI, "batch", str(clips), "-o", str(out), "--engine", engine, "--workers", "2", "-q"]])
    recs = records(out)
    assert all(r["status"] == "done" for r in recs), recs
    item = [r["cpu_seconds"] for r in recs]
    return {"engine": engine, "n": len(recs), "wall": wall, "machine_cpu": cpu / len(recs),
            "item_cpu": statistics.mean(item), "item_cpu_max": max(item),
            "item_wall": statistics.mean(r["seconds"] for r in recs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default="rule,transformer,diffusion")
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--long", type=int, default=4, help="30-s clips per engine for the CPU-seconds figure (0: none)")
    args = ap.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    clips = short_clips(args.clips)
    print(f"{os.cpu_count()} cores; {args.clips} clips of 5 s from examples/bikes.mp4 ({clips})")
    print("throughput = clips / wall time, start-up included; machine CPU = /proc/stat busy seconds / clips;"
          " item CPU = batch.jsonl cpu_seconds (mean)\n")
    hdr = f"{'engine':<12} {'run':<18} {'wall s':>8} {'clips/min':>10} {'machine CPU s/clip':>19} {'item CPU s':>11}" \
          f" {'same bytes':>11}"
    print(hdr)
    print("-" * len(hdr))
    tmp = Path(tempfile.mkdtemp(prefix="fs-bench-batch-"))
    try:
        for engine in engines:
            r = bench_engine(engine, clips, tmp)
            n = r["clips"]
            for label, key in (("shell loop", "loop"), ("batch, 1 worker", "batch1"), ("batch, 2 workers", "batch2")):
                wall, cpu = r[key]
                w = key[-1] if key != "loop" else ""
                item = f"{r[f'item_cpu{w}']:.2f}" if w else "-"
                same = f"{r[f'same{w}']}/{n}" if w else "-"
                print(f"{engine:<12} {label:<18} {wall:>8.1f} {n / wall * 60:>10.1f} {cpu / n:>19.2f} {item:>11}"
                      f" {same:>11}", flush=True)
        if args.long:
            folder = long_clips(args.long)
            print(f"\n{args.long} clips of 30 s, 1280x720 H.264, batch with 2 workers: CPU seconds per clip, and the"
                  " cores for one million such clips a day\n")
            hdr = f"{'engine':<12} {'item CPU s':>11} {'max':>6} {'machine CPU s':>14} {'item wall s':>12}" \
                  f" {'cores (100%)':>13} {'cores (75%)':>12}"
            print(hdr)
            print("-" * len(hdr))
            for engine in engines:
                r = bench_long(engine, folder, tmp)
                cores = 1e6 * r["item_cpu"] / 86400
                print(f"{engine:<12} {r['item_cpu']:>11.2f} {r['item_cpu_max']:>6.2f} {r['machine_cpu']:>14.2f}"
                      f" {r['item_wall']:>12.2f} {cores:>13.0f} {cores / 0.75:>12.0f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
