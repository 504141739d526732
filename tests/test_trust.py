"""What a user must be able to count on: inputs never touched, one rule for output folders, one-line refusals
before any work, nothing left behind by any stop, children ending with the run.

Each bad input of the trust issue is a case here; ``tools/trust_cases.py`` runs the same kinds of case through the
installed command and prints the table of exit status, message and what was left on disk.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from framescore import pipeline
from framescore.cli import main
from framescore.outputs import RECORD

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _restore_signal_handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def refused(argv: list[str], capsys, needle: str) -> str:
    """The run exits 1 with exactly one line, an error naming the problem."""
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("framescore: error:"), err
    assert needle.lower() in err[0].lower(), err
    return err[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def no_analysis(monkeypatch):
    """Fail the test if the run gets as far as the analysis: refusals must come before any work."""
    def analyze(*a, **k):
        raise AssertionError("the analysis ran before the refusal")
    monkeypatch.setattr(pipeline, "analyze", analyze)


def bomb_png(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A tiny PNG whose header claims a huge picture (what a decompression bomb looks like to a reader)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))
    return path


# ----- 1. inputs are never touched ----------------------------------------------------------------------------
def test_input_inside_the_output_folder_is_never_replaced(two_shot_clip, tmp_path, capsys, no_analysis):
    inplace = tmp_path / "inplace"
    inplace.mkdir()
    video = inplace / "video.mp4"
    video.write_bytes(two_shot_clip.read_bytes())
    before = snapshot(inplace)
    refused(["video", str(video), "-o", str(inplace)], capsys, "is an input of this run")
    assert snapshot(inplace) == before
    # a hard link is the same file under another name
    os.link(two_shot_clip, tmp_path / "linked.mp4")
    (tmp_path / "o").mkdir()
    os.link(two_shot_clip, tmp_path / "o" / "video.mp4")
    refused(["video", str(tmp_path / "linked.mp4"), "-o", str(tmp_path / "o")], capsys, "input of this run")


def test_compose_refuses_to_replace_its_own_plan(picture, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["image", str(picture), "-o", str(out), "--duration", "2", "-q"]) == 0
    before = snapshot(out)
    refused(["compose", str(out / "plan.json"), "-o", str(out)], capsys, "input of this run")
    assert snapshot(out) == before


def test_plan_file_output(two_shot_clip, tmp_path, capsys, no_analysis):
    (tmp_path / "folder").mkdir()
    refused(["plan", str(two_shot_clip), "-o", str(tmp_path / "folder")], capsys, "is a folder")
    assert list((tmp_path / "folder").iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
    refused(["plan", str(two_shot_clip), "-o", str(two_shot_clip), "--force"], capsys, "input of this run")
    existing = tmp_path / "mine.json"
    existing.write_text("my notes")
    refused(["plan", str(two_shot_clip), "-o", str(existing)], capsys, "already exists")
    assert existing.read_text() == "my notes"


def test_plan_file_force_and_permissions(two_shot_clip, tmp_path):
    out = tmp_path / "p" / "plan.json"
    assert main(["plan", str(two_shot_clip), "-o", str(out), "-q"]) == 0
    assert json.loads(out.read_text())["schema_version"] == 2
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()
    out.write_text("old")
    assert main(["plan", str(two_shot_clip), "-o", str(out), "-q", "--force"]) == 0
    assert out.read_text() != "old" and [p.name for p in out.parent.iterdir()] == ["plan.json"]


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


# ----- 2, 3. output folders follow one rule --------------------------------------------------------------------
def test_empty_or_blocked_output_is_refused(picture, tmp_path, capsys, monkeypatch, no_analysis):
    monkeypatch.chdir(tmp_path)
    refused(["image", str(picture), "-o", "", "--duration", "2"], capsys, "empty")
    refused(["image", str(picture), "-o", "  ", "--duration", "2"], capsys, "empty")
    (tmp_path / "afile").write_text("x")
    refused(["image", str(picture), "-o", "afile/out", "--duration", "2"], capsys, "not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_reusing_an_output_folder(two_shot_clip, picture, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["video", str(two_shot_clip), "-o", str(out), "-q"]) == 0
    assert (out / "video.mp4").is_file() and (out / RECORD).is_file()
    (out / "stems" / "my_take.wav").write_bytes(b"mine")
    (out / "notes.txt").write_text("mine")
    # an image run replaces the video run's files; the video run's video.mp4 and stems it does not write go
    assert main(["image", str(picture), "-o", str(out), "--duration", "2", "--instruments", "drums=none", "-q"]) == 0
    assert not (out / "video.mp4").exists(), "a file of the earlier run contradicting this one was left"
    assert not (out / "stems" / "drums.wav").exists()
    assert (out / "stems" / "my_take.wav").read_bytes() == b"mine" and (out / "notes.txt").read_text() == "mine"
    plan = json.loads((out / "plan.json").read_text())
    assert plan["source"]["kind"] == "image"
    assert {p.stem for p in (out / "stems").glob("*.wav")} == set(plan["instrumentation"]) | {"my_take"}
    record = json.loads((out / RECORD).read_text())["files"]
    assert "notes.txt" not in record and "stems/my_take.wav" not in record and "plan.json" in record
    # a file the user changed is theirs now: the run stops before any work, the file intact
    (out / "mix.wav").write_bytes(b"edited")
    before = snapshot(out)
    refused(["image", str(picture), "-o", str(out), "--duration", "2"], capsys, "mix.wav was not written by framescore")
    assert snapshot(out) == before


def test_render_into_the_folder_keeps_its_input(picture, tmp_path):
    out = tmp_path / "out"
    assert main(["image", str(picture), "-o", str(out), "--duration", "2", "-q"]) == 0
    midi = (out / "score.mid").read_bytes()
    assert main(["render", str(out / "score.mid"), "-o", str(out), "-q"]) == 0
    assert (out / "score.mid").read_bytes() == midi, "the input of the render was removed or changed"
    assert not (out / "report.json").exists() and not (out / "plan.json").exists()  # the earlier run's, stale now
    assert (out / "mix.wav").is_file()


def test_a_folder_in_use_is_refused(picture, tmp_path, capsys, no_analysis):
    import fcntl

    out = tmp_path / "busy"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        refused(["image", str(picture), "-o", str(out), "--duration", "2"], capsys, "another framescore run")
    finally:
        os.close(fd)
    assert list(out.iterdir()) == []


# ----- 4, 7, 11. one line, exit 1, before any work -------------------------------------------------------------
@pytest.mark.parametrize("extra, needle", [
    (["--tempo", "0"], "tempo"),
    (["--tempo", "nan"], "tempo"),
    (["--tempo", "abc"], "invalid float value"),
    (["--key", "H"], "unknown key"),
    (["--chords", "Xq7"], "Xq7"),
    (["--chords", "| | |"], "no chords"),
    (["--chords", "C | | G"], "bar 2"),
    (["--meter", "4/5"], "meter"),
    (["--valence", "3"], "valence"),
    (["--duration", "inf"], "duration"),
    (["--seed", "-1"], "seed"),
    (["--instruments", "melody=kazoo"], "kazoo"),
    (["--engine", "foo"], "invalid choice"),
    (["--reference", "/nonexistent/refs"], "reference folder not found"),
    (["--soundfont", "/nonexistent.sf2"], "nonexistent.sf2"),
    (["--melody", "/nonexistent.mid", "--engine", "diffusion"], "not found"),
    (["--melody", "/nonexistent.mid"], "--melody needs --engine diffusion"),
])
def test_bad_overrides_are_refused_before_the_analysis(two_shot_clip, tmp_path, capsys, no_analysis, extra, needle):
    out = tmp_path / "a" / "b"
    refused(["video", str(two_shot_clip), "-o", str(out), *extra], capsys, needle)
    assert list(tmp_path.iterdir()) == [], "a refusal must leave nothing, not even the parent folders"


def test_bad_inputs_are_one_line(tmp_path, capsys, no_analysis):
    out = str(tmp_path / "out")
    refused(["image", str(bomb_png(tmp_path / "bomb.png")), "-o", out, "--duration", "2"], capsys, "too large")
    (tmp_path / "empty.mp4").write_bytes(b"")
    refused(["video", str(tmp_path / "empty.mp4"), "-o", out], capsys, "empty.mp4")
    refused(["video", str(tmp_path), "-o", out], capsys, "not a file")
    refused(["video", "", "-o", out], capsys, "empty")
    refused(["image", str(tmp_path / "bomb.png"), "-o", out], capsys, "--duration")
    refused(["video"], capsys, "required")
    (tmp_path / "bin.json").write_bytes(bytes(range(256)) * 8)
    refused(["compose", str(tmp_path / "bin.json"), "-o", out], capsys, "not a text file")
    (tmp_path / "typed.json").write_text(json.dumps({"duration_sec": "long", "bars": [], "sections": []}))
    refused(["compose", str(tmp_path / "typed.json"), "-o", out], capsys, "plan")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin.json", "bomb.png", "empty.mp4", "typed.json"]


def test_mistyped_plans_are_plan_errors(picture, tmp_path):
    """Every field of a real plan replaced by a value of another type: a PlanError, never another exception;
    what loads, the engine can compose."""
    from framescore.symbolic.engines import compose
    from framescore.symbolic.plan import MusicPlan, PlanError

    out = tmp_path / "o"
    assert main(["image", str(picture), "-o", str(out), "--duration", "2", "-q"]) == 0
    good = json.loads((out / "plan.json").read_text())
    paths = [(k,) for k in good] + [("bars", 0, k) for k in good["bars"][0]] + \
            [("sections", 0, k) for k in good["sections"][0]] + [("bars", 0, "chords", 0, k) for k in ("beat", "chord")]
    for path in paths:
        for bad in ("x", None, [1], {"a": 1}, -1e9, 1e9, True, float("nan")):
            plan = json.loads(json.dumps(good))
            node = plan
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = bad
            try:
                loaded = MusicPlan.from_dict(plan)
            except PlanError:
                continue
            compose(loaded)
        del node[path[-1]]  # and missing altogether
        try:
            compose(MusicPlan.from_dict(plan))
        except PlanError:
            pass


def test_undecodable_bytes_in_paths(two_shot_clip, tmp_path, capsys):
    src = Path(os.fsdecode(bytes(tmp_path) + b"/clip\xff.mp4"))
    src.write_bytes(two_shot_clip.read_bytes())
    out = Path(os.fsdecode(bytes(tmp_path) + b"/out\xfe"))
    assert main(["video", str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "\\xfe" in err  # the path is printed with its bad byte escaped
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert plan["source"]["input"].endswith("clip\\xff.mp4")
    assert (out / "video.mp4").is_file() and (out / "stems").is_dir()
    refused(["video", os.fsdecode(bytes(tmp_path) + b"/gone\xff.mp4"), "-o", str(out)], capsys, "\\xff")


def test_evaluate_checks_engines_and_reference_first(picture, tmp_path, capsys, monkeypatch):
    from framescore import evaluate

    def plans(*a, **k):
        raise AssertionError("planning ran before the refusal")
    monkeypatch.setattr(evaluate, "plans_for_input", plans)
    refused(["evaluate", str(picture), "--engines", "rule,foo"], capsys, "unknown engine 'foo'")
    refused(["evaluate", str(picture), "--reference", str(tmp_path / "none")], capsys, "reference folder not found")
    refused(["evaluate", "pop909:nosuch"], capsys, "unknown POP909 split")
    (tmp_path / "e.json").write_text("{}")
    refused(["evaluate", str(picture), "--json", str(tmp_path / "e.json")], capsys, "already exists")


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(picture, tmp_path, capsys, monkeypatch):
    def broken(*a, **k):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(pipeline, "make_plan", broken)
    out = tmp_path / "o"
    line = refused(["image", str(picture), "-o", str(out), "--duration", "2", "-q"], capsys, "ZeroDivisionError")
    assert "--debug" in line
    assert main(["--debug", "image", str(picture), "-o", str(out), "--duration", "2", "-q"]) == 1
    assert "Traceback" in capsys.readouterr().err
    assert main(["image", str(picture), "-o", str(out), "--duration", "2", "-q", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# ----- 5, 6. nothing left behind, whatever stops the run --------------------------------------------------------
def test_a_failure_inside_the_run_removes_what_it_created(picture, tmp_path, capsys, monkeypatch):
    from framescore.symbolic import engines

    def fail(plan, engine=None):
        raise engines.EngineError("the engine gave up")
    monkeypatch.setattr(engines, "compose", fail)
    refused(["image", str(picture), "-o", str(tmp_path / "a" / "b" / "c"), "--duration", "2", "-q"], capsys,
            "gave up")
    assert list(tmp_path.iterdir()) == []


def test_a_crash_in_the_notation_worker_is_one_line(picture, tmp_path, capsys, monkeypatch):
    def die(*a, **k):
        os._exit(3)  # the worker vanishes without an answer
    monkeypatch.setattr(pipeline, "_write_musicxml", die)
    refused(["image", str(picture), "-o", str(tmp_path / "o"), "--duration", "2", "-q"], capsys, "died")
    assert list(tmp_path.iterdir()) == []


def test_sigterm_unwinds_the_run(picture, tmp_path, capsys, monkeypatch):
    """SIGTERM in the middle of the audio: exit 143, one line, nothing left (the worker is stopped too)."""
    real = pipeline.render_audio

    def render_then_term(*a, **k):
        real(*a, **k)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises here
    monkeypatch.setattr(pipeline, "render_audio", render_then_term)
    existing = tmp_path / "out"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    assert main(["image", str(picture), "-o", str(existing), "--duration", "2", "-q"]) == 143
    assert capsys.readouterr().err.strip().splitlines() == [
        "framescore: interrupted (SIGTERM); nothing was left behind"]
    assert snapshot(existing) == {"keep.txt": b"mine"}


SCRIPT = """
import faulthandler, os, signal, subprocess, sys, time
faulthandler.register(signal.SIGUSR1, all_threads=True)  # where a hung run is, for the failure message
from framescore import pipeline
from framescore.cli import main
stage = sys.argv[1]
if stage == "notation":
    def slow(*a, **k):
        print("WORKER", os.getpid(), flush=True)
        time.sleep(60)
    pipeline._write_pictures = slow
else:
    import framescore.render.mux as mux
    def slow_mux(video, wav, out):
        # ffmpeg really running: the picture re-encoded slowly into the staging folder
        from framescore.lifecycle import start
        p = start([mux.ffmpeg_exe(), "-v", "quiet", "-nostdin", "-y", "-re", "-stream_loop", "-1", "-i", str(video),
                   "-c:v", "libx264", str(out)], stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("WORKER", p.pid, flush=True)
        try:
            p.wait()
        finally:  # as the real mux does (lifecycle.run): the helper program ends with the run
            p.kill()
            p.wait()
    mux.mux_video = slow_mux
sys.exit(main(sys.argv[2:]))
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to see the children")
@pytest.mark.parametrize("stage, sig", [("notation", signal.SIGTERM), ("notation", signal.SIGHUP),
                                        ("notation", signal.SIGINT), ("mux", signal.SIGTERM),
                                        ("notation", signal.SIGKILL)])
def test_a_stop_ends_the_children_and_leaves_nothing(two_shot_clip, tmp_path, stage, sig):
    out = tmp_path / "out"
    logs = tmp_path.parent / f"{tmp_path.name}-logs"  # files, not pipes: no read here can block on a live child
    logs.mkdir()
    with open(logs / "stdout", "w") as so, open(logs / "stderr", "w") as se:
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT, stage, "video", str(two_shot_clip), "-o", str(out), "-q"],
                                stdin=subprocess.DEVNULL, stdout=so, stderr=se, text=True, start_new_session=True)
    try:
        deadline = time.time() + 60
        while not (logs / "stdout").read_text().endswith("\n") and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        line = (logs / "stdout").read_text()
        assert line.startswith("WORKER"), (line, (logs / "stderr").read_text())
        child = int(line.split()[1])
        time.sleep(0.3)
        assert _alive(child)
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)  # Ctrl-C: the terminal signals the whole process group
        else:
            proc.send_signal(sig)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)
            time.sleep(1)
            pytest.fail(f"the run did not stop: {(logs / 'stderr').read_text()}")
        deadline = time.time() + 5
        while _alive(child) and time.time() < deadline:
            time.sleep(0.05)
        assert not _alive(child), f"the {stage} child outlived the run"
    finally:  # whatever failed above, nothing of this test outlives it
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    err = (logs / "stderr").read_text().strip().splitlines()
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL  # nothing can clean up after SIGKILL, but no child lives on
        return
    assert code == 128 + sig, err
    assert err == [f"framescore: interrupted ({signal.Signals(sig).name}); nothing was left behind"], err
    assert list(tmp_path.iterdir()) == []


# ----- 10. a WebM without a container duration -----------------------------------------------------------------
def test_webm_without_a_duration_is_timed_by_its_frames(tmp_path):
    from conftest import ffmpeg

    webm = tmp_path / "streamed.webm"
    with open(webm, "wb") as f:  # written to a pipe, the muxer cannot go back to write the duration
        subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc=s=160x90:r=30:d=3.13",
                        "-c:v", "libvpx", "-f", "webm", "pipe:1"], stdout=f, check=True)
    from framescore.vision.video import probe

    assert probe(webm).duration_sec == pytest.approx(3.133, abs=0.005)
    out = tmp_path / "o"
    assert main(["video", str(webm), "-o", str(out), "-q"]) == 0
    import soundfile as sf

    assert json.loads((out / "plan.json").read_text())["duration_sec"] == pytest.approx(3.133, abs=0.005)
    assert sf.info(str(out / "mix.wav")).duration == pytest.approx(3.133, abs=0.005)
