"""Run framescore as a user would on bad input and stop signals; print one Markdown table row per case.

    .venv/bin/python tools/trust_cases.py [--python .venv/bin/python] [--clip examples/bikes.mp4]

Each case runs ``python -m framescore.cli ...`` in a fresh folder and reports its exit status, the last line it
printed on stderr, the number of stderr lines, what was left on disk besides the case's own fixtures (files
created, changed or removed), and any ffmpeg or framescore process still alive a second later. The same cases are
kept as tests in ``tests/test_trust.py``; this prints the table for a closing note (``--python`` can point at
another checkout's interpreter to compare).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def tree(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = os.fsencode(p.relative_to(root)).decode("utf-8", "backslashreplace")
            out[rel] = "dir" if p.is_dir() else hashlib.sha1(p.read_bytes()).hexdigest()[:8]
    return out


def bomb_png(path: Path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def children_alive(before: set[int]) -> list[str]:
    alive = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) in before:
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (d / "stat").read_text().split(") ")[1][0]
        except OSError:
            continue
        if state != "Z" and ("ffmpeg" in cmd or "framescore" in cmd) and "trust_cases" not in cmd:
            alive.append(cmd.split()[0].rsplit("/", 1)[-1])
    return alive


def pids() -> set[int]:
    return {int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit()}


def run_case(py: str, args: list[str], cwd: Path, stop: tuple[int, str] | None) -> tuple[int, list[str]]:
    """Run ``framescore ARGS``; with ``stop`` = (signal, text), send it once a stderr line contains the text.

    stderr is read by a thread, so a child that outlives the run and keeps the pipe open cannot hang the table.
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([py, "-m", "framescore.cli", *args], cwd=cwd, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, env=env, start_new_session=True)
    lines: list[str] = []

    def read() -> None:
        pending = stop
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append(line)
            if pending and pending[1] in line:
                time.sleep(0.15)
                if pending[0] == signal.SIGINT:
                    os.killpg(proc.pid, pending[0])  # Ctrl-C reaches the whole process group
                else:
                    proc.send_signal(pending[0])
                pending = None

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    code = proc.wait(timeout=600)
    reader.join(timeout=1.0)
    return code, list(lines)


def kill_leftovers(before: set[int]) -> None:
    for pid in pids() - before:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if (b"ffmpeg" in cmd or b"framescore" in cmd) and b"trust_cases" not in cmd:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"))
    ap.add_argument("--clip", default=str(REPO / "examples" / "bikes.mp4"))
    args = ap.parse_args()
    clip, picture = Path(args.clip).resolve(), (REPO / "examples" / "coffee.png").resolve()

    def setup_inplace(d: Path) -> None:
        (d / "inplace").mkdir()
        shutil.copy(clip, d / "inplace" / "video.mp4")

    def setup_reuse(d: Path) -> None:
        subprocess.run([args.python, "-m", "framescore.cli", "video", str(clip), "-o", "out", "-q"], cwd=d, check=True)
        (d / "out" / "stems" / "my_take.wav").write_bytes(b"the user's own take")

    def setup_edited(d: Path) -> None:
        setup_reuse(d)
        (d / "out" / "mix.wav").write_bytes(b"edited by the user")

    def setup_nodur(d: Path) -> None:
        import imageio_ffmpeg

        with open(d / "streamed.webm", "wb") as f:
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                            "testsrc=s=160x90:r=30:d=3.13", "-c:v", "libvpx", "-f", "webm", "pipe:1"], stdout=f,
                           check=True)

    def setup_bytes(d: Path) -> None:
        shutil.copy(clip, Path(os.fsdecode(bytes(d) + b"/clip\xff.mp4")))

    v, p = str(clip), str(picture)
    cases: list[tuple[str, list[str], object, tuple[int, str] | None]] = [
        ("1 input video inside -o", ["video", "inplace/video.mp4", "-o", "inplace"], setup_inplace, None),
        ("2 -o \"\"", ["video", v, "-o", ""], None, None),
        ("3 reuse: video run then image run", ["image", p, "-o", "out", "--duration", "5", "-q"], setup_reuse, None),
        ("3 reuse: a file the user edited", ["image", p, "-o", "out", "--duration", "5", "-q"], setup_edited, None),
        ("4 20000x20000 PNG", ["image", "bomb.png", "-o", "out", "--duration", "5"],
         lambda d: bomb_png(d / "bomb.png"), None),
        ("4 --chords \"| | |\"", ["video", v, "-o", "out", "--chords", "| | |"], None, None),
        ("4 binary plan.json", ["compose", "plan.json", "-o", "out"],
         lambda d: (d / "plan.json").write_bytes(os.urandom(4096)), None),
        ("4 non-UTF-8 input and output", ["video", os.fsdecode(b"clip\xff.mp4"), "-o", os.fsdecode(b"out\xfe"),
                                          "-q"], setup_bytes, None),
        ("4 Ctrl-C during the mux", ["video", v, "-o", "out"], None, (signal.SIGINT, "putting the soundtrack")),
        ("5 plan -o an existing folder", ["plan", v, "-o", "folder"], lambda d: (d / "folder").mkdir(), None),
        ("5 failed run, new parents", ["video", v, "-o", "a/b/c", "--soundfont", "none.sf2"], None, None),
        ("6 SIGTERM while analysing", ["video", v, "-o", "out"], None, (signal.SIGTERM, "analysing")),
        ("6 SIGTERM while rendering", ["video", v, "-o", "out"], None, (signal.SIGTERM, "rendering")),
        ("6 SIGTERM during MusicXML", ["video", v, "-o", "out"], None, (signal.SIGTERM, "writing MusicXML")),
        ("6 SIGHUP during the mux", ["video", v, "-o", "out"], None, (signal.SIGHUP, "putting the soundtrack")),
        ("7 --tempo 0", ["video", v, "-o", "out", "--tempo", "0"], None, None),
        ("7 --key H", ["video", v, "-o", "out", "--key", "H"], None, None),
        ("7 --chords Xq7", ["video", v, "-o", "out", "--chords", "Xq7"], None, None),
        ("7 --reference /nonexistent", ["video", v, "-o", "out", "--reference", "/nonexistent"], None, None),
        ("7 evaluate --engines rule,foo", ["evaluate", p, "--engines", "rule,foo"], None, None),
        ("10 WebM without a duration", ["video", "streamed.webm", "-o", "out", "-q"], setup_nodur, None),
        ("11 --tempo abc", ["video", v, "-o", "out", "--tempo", "abc"], None, None),
        ("11 image without --duration", ["image", p, "-o", "out"], None, None),
        ("+ -o is a file", ["video", v, "-o", "afile"], lambda d: (d / "afile").write_text("x"), None),
        ("+ compose out/plan.json -o out", ["compose", "out/plan.json", "-o", "out"], setup_reuse, None),
        ("+ --melody with the rule engine", ["video", v, "-o", "out", "--melody", "tune.mid"],
         lambda d: (d / "tune.mid").write_bytes(b"MThd"), None),
        ("+ --tempo nan", ["video", v, "-o", "out", "--tempo", "nan"], None, None),
        ("+ empty .mp4", ["video", "empty.mp4", "-o", "out"], lambda d: (d / "empty.mp4").write_bytes(b""), None),
        ("+ plan field of the wrong type", ["compose", "plan.json", "-o", "out"],
         lambda d: (d / "plan.json").write_text('{"duration_sec": "long", "bars": [], "sections": []}'), None),
        ("+ evaluate pop909:nosuch", ["evaluate", "pop909:nosuch"], None, None),
    ]
    print("| case | exit | stderr lines | last line | left on disk | processes alive 1 s later |")
    print("|---|---|---|---|---|---|")
    for name, argv, setup, stop in cases:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            if setup:
                setup(d)
            before, procs = tree(d), pids()
            code, lines = run_case(args.python, argv, d, stop)
            time.sleep(1.0)
            after = tree(d)
            added = sorted(k for k in after if k not in before)
            changed = sorted(k for k in after if k in before and after[k] != before[k] and after[k] != "dir")
            removed = sorted(k for k in before if k not in after)
            left = "; ".join(filter(None, [
                f"new: {_short(added)}" if added else "", f"changed: {', '.join(changed)}" if changed else "",
                f"removed: {', '.join(removed)}" if removed else ""])) or "nothing"
            alive = ", ".join(children_alive(procs)) or "none"
            kill_leftovers(procs)
            last = (lines[-1] if lines else "").replace("|", "\\|")
            print(f"| {name} | {code} | {len(lines)} | {last[:150]} | {left} | {alive} |", flush=True)


def _short(paths: list[str]) -> str:
    top = sorted({p.split("/")[0] for p in paths})
    return ", ".join(top[:8]) + (f" (+{len(top) - 8})" if len(top) > 8 else "") + f" [{len(paths)} paths]"


if __name__ == "__main__":
    sys.exit(main())
