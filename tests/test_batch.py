"""`framescore batch` on a local Ray with 2 workers: a bad item among good ones, per-item overrides from a
manifest, byte equality with single runs, and resuming after an interrupted batch."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from conftest import make_clip  # noqa: E402

from framescore.batch import RECORD, expand, run_batch  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             object_store_memory=150 * 1024 * 1024)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    for colour, other in (("red", "blue"), ("green", "white"), ("navy", "orange")):
        make_clip(folder / f"{colour}.mp4", [(colour, 1.2), (other, 0.8)])
    return folder


def _records(out: Path) -> dict[str, dict]:
    recs = [json.loads(line) for line in (out / RECORD).read_text().splitlines()]
    return {r["name"]: r for r in recs}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_bad_item_fails_alone_and_the_good_ones_match_single_runs(local_ray, clips, tmp_path):
    from framescore.pipeline import score_video
    from framescore.vision.mapping import Overrides

    inputs = tmp_path / "in"
    inputs.mkdir()
    for f in clips.iterdir():
        (inputs / f.name).write_bytes(f.read_bytes())
    (inputs / "broken.mp4").write_text("not a video")
    out = tmp_path / "out"
    assert run_batch([str(inputs)], out, {"seed": 4}, workers=2, quiet=True) == 1
    recs = _records(out)
    assert recs["broken"]["status"] == "failed" and "broken.mp4" in recs["broken"]["error"]
    assert not (out / "broken").exists()
    for name in ("red", "green", "navy"):
        assert recs[name]["status"] == "done" and recs[name]["seconds"] > 0
        single = tmp_path / f"single_{name}"
        score_video(inputs / f"{name}.mp4", single, Overrides(seed=4), quiet=True)
        assert _sha(out / name / "score.mid") == _sha(single / "score.mid") == recs[name]["score_sha256"]
    # a rerun skips everything (the broken one too), --retry-failed tries the broken one again
    assert run_batch([str(inputs)], out, {"seed": 4}, workers=2, quiet=True) == 1
    assert len((out / RECORD).read_text().splitlines()) == 4
    assert run_batch([str(inputs)], out, {"seed": 4}, workers=2, quiet=True, retry_failed=True) == 1
    assert len((out / RECORD).read_text().splitlines()) == 5
    (inputs / "broken.mp4").unlink()
    # other settings are other work: every item runs again
    assert run_batch([str(inputs)], out, {"seed": 5}, workers=2, quiet=True) == 0
    assert len((out / RECORD).read_text().splitlines()) == 8


def test_a_manifest_gives_each_item_its_overrides(local_ray, clips, tmp_path):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(f"input,name,seed,tempo,key\n{clips / 'red.mp4'},first,1,96,D minor\n"
                        f"{clips / 'green.mp4'},second,2,,\n")
    jsonl = tmp_path / "words.jsonl"
    jsonl.write_text(json.dumps({"text": "a happy jazz tune", "duration": 4, "name": "tune"}) + "\n")
    out = tmp_path / "out"
    assert run_batch([str(manifest), str(jsonl)], out, {"key": "A major"}, workers=2, quiet=True) == 0
    first = json.loads((out / "first" / "plan.json").read_text())
    second = json.loads((out / "second" / "plan.json").read_text())
    tune = json.loads((out / "tune" / "plan.json").read_text())
    assert (first["key"], first["seed"]) == ("D minor", 1) and abs(first["tempo_bpm"] - 96) < 8
    assert (second["key"], second["seed"]) == ("A major", 2)
    assert tune["style"] == "jazz" and tune["key"] == "A major"
    with pytest.raises(Exception, match="unknown setting"):
        bad = tmp_path / "bad.csv"
        bad.write_text(f"input,colour\n{clips / 'red.mp4'},red\n")
        expand([str(bad)], {})


def test_an_interrupted_batch_keeps_what_finished_and_resumes(clips, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(6):  # long enough that the stop comes mid-batch
        (inputs / f"clip{i}.mp4").write_bytes((clips / ("red.mp4", "green.mp4", "navy.mp4")[i % 3]).read_bytes())
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "framescore.cli", "batch", str(inputs), "-o", str(out), "--workers", "1",
           "--seed", "3", "--duration", "20"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        if (out / RECORD).is_file() and (out / RECORD).read_text().count("\n") >= 1:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    assert proc.returncode != 0
    assert not list(out.glob("*/.framescore-partial-*")), "nothing half-written is left"
    done = {n for n, r in _records(out).items() if r["status"] == "done"}
    assert done and len(done) < 6
    for name in done:
        assert (out / name / "score.mid").is_file()
    assert all((out / d.name / "score.mid").is_file() for d in out.iterdir() if d.is_dir())
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{len(done)} already done, {6 - len(done)} to run" in again.stderr
    assert {n for n, r in _records(out).items() if r["status"] == "done"} == {f"clip{i}" for i in range(6)}
