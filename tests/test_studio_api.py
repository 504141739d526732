"""The studio's API (FastAPI's TestClient): opening, composing, re-composing a section, the bad inputs and the
folders. The real-browser test is tests/test_studio_browser.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from framescore.studio.app import create_app, sniff  # noqa: E402
from framescore.studio.jobs import Jobs  # noqa: E402


@pytest.fixture()
def studio(tmp_path):
    app = create_app(tmp_path / "jobs")
    with TestClient(app) as client:
        yield client, app.state.jobs, tmp_path / "jobs"


def _done(client, jobs, jid):
    job = jobs.wait(jid, 240)
    assert job.status == "done", job.error
    return client.get(f"/api/jobs/{jid}").json()


def _notes(client, jid):
    from framescore.symbolic.midi_io import read_midi

    r = client.get(f"/api/jobs/{jid}/files/score.mid")
    assert r.status_code == 200
    path = Path(client.app.state.jobs.root) / jid / "out" / "score.mid"
    return read_midi(path), r.content


def test_upload_a_clip_compose_and_recompose_one_section(studio, two_shot_clip):
    client, jobs, root = studio
    with open(two_shot_clip, "rb") as f:
        r = client.post("/api/jobs", files={"file": ("anything.bin", f, "application/octet-stream")},
                        data={"settings": json.dumps({"seed": 1, "form": "A B"})})
    assert r.status_code == 200, r.text
    job = _done(client, jobs, r.json()["id"])
    assert job["kind"] == "video" and job["video_file"].startswith("video.")
    assert {"score.mid", "score.musicxml", "mix.wav", "plan.json", "report.json"} <= set(job["files"])
    assert job["stems"] and job["frames"] and job["timeline"]["sections"] and job["tracks"]
    assert client.get(job["frames"][0]["url"]).headers["content-type"] == "image/jpeg"
    piece, _ = _notes(client, job["id"])
    # edit the last section's first chord and re-compose that section only
    plan = job["plan"]
    sec = plan["sections"][-1]
    first, last = sec["start_bar"], sec["start_bar"] + sec["n_bars"] - 1
    plan["bars"][first]["chords"] = [{"beat": 0.0, "chord": "F#:dim"}]
    r = client.post(f"/api/jobs/{job['id']}/compose", json={"plan": plan, "bars": f"{first + 1}-{last + 1}"})
    assert r.status_code == 200, r.text
    again = _done(client, jobs, r.json()["id"])
    assert again["parent"] == job["id"] and again["frames"] and again["video_file"]
    new, _ = _notes(client, again["id"])
    lines = piece.bar_starts()
    lo = lines[first]
    for old_t, new_t in zip(piece.tracks, new.tracks):
        assert sorted((n.start, n.pitch) for n in old_t.notes if n.start < lo) == \
            sorted((n.start, n.pitch) for n in new_t.notes if n.start < lo), old_t.name
    assert [m.text for m in new.chord_markers() if m.tick == lo] == ["F#:dim"]


def test_words_a_plan_file_and_two_jobs_at_once_each_in_its_own_folder(studio, tmp_path):
    client, jobs, root = studio
    a = client.post("/api/jobs", data={"text": "a calm morning, 4 seconds"}).json()["id"]
    b = client.post("/api/jobs", data={"text": "a happy jazz tune", "settings": json.dumps({"duration_sec": 4})}
                    ).json()["id"]
    ja, jb = _done(client, jobs, a), _done(client, jobs, b)
    assert a != b and (root / a / "out" / "score.mid").is_file() and (root / b / "out" / "score.mid").is_file()
    assert jb["plan"]["style"] == "jazz"
    plan = tmp_path / "mine.txt"  # a plan is told by its content, whatever its name
    plan.write_text(json.dumps(ja["plan"]))
    with open(plan, "rb") as f:
        c = client.post("/api/jobs", files={"file": ("mine.txt", f)}).json()["id"]
    assert _done(client, jobs, c)["kind"] == "plan"


def test_bad_inputs_are_one_line_and_leave_nothing(studio, tmp_path):
    client, jobs, root = studio

    def refused(r, status, needle):
        assert r.status_code == status, r.text
        assert needle in r.json()["error"] and "\n" not in r.json()["error"]

    refused(client.post("/api/jobs", files={"file": ("clip.mp4", b"this is not a video at all")}), 415,
            "by its content")
    refused(client.post("/api/jobs", data={"text": "calm", "settings": json.dumps({"tempo_bpm": 900})}), 400,
            "tempo")
    refused(client.post("/api/jobs", data={"text": "calm", "settings": json.dumps({"colour": "red"})}), 400,
            "unknown setting")
    refused(client.post("/api/jobs", data={"text": "calm"}), 400, "duration")
    refused(client.post("/api/jobs", data={}), 400, "open one thing")
    refused(client.post("/api/jobs", data={"path": str(tmp_path / "none.mp4")}), 404, "no such file")
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    refused(client.post("/api/jobs", data={"path": str(fake)}), 415, "content is image")
    refused(client.get("/api/jobs/0123456789ab"), 404, "no job")
    refused(client.post("/api/check", json={"plan": {"x": 1}}).status_code and client.get("/api/jobs/zz"),
            404, "no job")
    assert not [p for p in root.iterdir()], "a refused request leaves no folder"


def test_a_failed_job_shows_its_error_and_leaves_no_folder(studio, tmp_path):
    from framescore.symbolic.midi_io import write_midi
    from framescore.symbolic.piece import Note, Piece, Track

    client, jobs, root = studio
    beat = tmp_path / "beat.mid"
    write_midi(Piece(tracks=[Track("drums", 0, True, [Note(0, 100, 36)])], end_tick=480), beat)
    jid = client.post("/api/jobs", data={"path": str(beat)}).json()["id"]
    job = jobs.wait(jid, 60)
    assert job.status == "failed" and "no pitched notes" in job.error
    assert client.get(f"/api/jobs/{jid}").json()["error"] == job.error
    assert not list(root.iterdir())


def test_only_the_jobs_own_files_are_served(studio):
    client, jobs, root = studio
    jid = client.post("/api/jobs", data={"text": "a calm morning, 3 seconds"}).json()["id"]
    _done(client, jobs, jid)
    (root / "secret.txt").write_text("no")
    for name in ("../job.json", "..%2Fjob.json", "%2e%2e/%2e%2e/secret.txt", "/etc/passwd", "stems/../../job.json"):
        r = client.get(f"/api/jobs/{jid}/files/{name}")
        assert r.status_code == 404, name
    assert client.get(f"/api/jobs/{jid}/files/plan.json").status_code == 200
    assert client.get(f"/api/jobs/{jid}/frames/../../secret.txt").status_code == 404


def test_the_check_names_the_bar_and_the_upload_limit_holds(tmp_path, two_shot_clip):
    app = create_app(tmp_path / "jobs", max_upload_mb=0.001)
    with TestClient(app) as client:
        with open(two_shot_clip, "rb") as f:
            r = client.post("/api/jobs", files={"file": ("clip.mp4", f)})
        assert r.status_code == 413 and "limit" in r.json()["error"]
        jid = client.post("/api/jobs", data={"text": "a calm morning, 8 seconds"}).json()["id"]
        plan = _done(client, app.state.jobs, jid)["plan"]
        plan["bars"][1]["chords"] = [{"beat": 0.0, "chord": "H7"}]
        r = client.post("/api/check", json={"plan": plan}).json()
        assert r["ok"] is False and r["bar"] == 1 and "H7" in r["error"]
        assert [p.name for p in (tmp_path / "jobs").iterdir()] == [jid]


def test_half_written_job_folders_are_removed_at_start_and_stop(tmp_path):
    root = tmp_path / "jobs"
    (root / "abcdef012345.part").mkdir(parents=True)
    jobs = Jobs(root)
    assert not (root / "abcdef012345.part").exists()
    (root / "0123456789ab.part").mkdir()
    jobs.shutdown()
    assert not list(root.iterdir())


def test_sniff_tells_files_by_their_content():
    assert sniff(b"\x00\x00\x00\x18ftypisom") == ("video", ".mp4")
    assert sniff(b"\x1a\x45\xdf\xa3....webm") == ("video", ".webm")
    assert sniff(b"\xff\xd8\xff\xe0") == ("image", ".jpg")
    assert sniff(b"MThd\x00\x00\x00\x06") == ("midi", ".mid")
    assert sniff(b'  {"schema_version": 2') == ("plan", ".json")
    assert sniff(b"#!/bin/sh\nrm -rf /") is None


def test_stopping_the_server_mid_job_leaves_no_half_written_folder(tmp_path):
    app = create_app(tmp_path / "jobs")
    with TestClient(app) as client:
        for _ in range(3):  # a queue of work, the server stopped while it runs
            client.post("/api/jobs", data={"text": "a happy tune, 40 seconds"})
    jobs = app.state.jobs
    jobs.shutdown(wait=120)  # the lifespan already stopped it; wait for the job that was running to end
    assert jobs.idle
    assert not list((tmp_path / "jobs").iterdir()), "no half-written folder, no job kept from after the stop"
    assert all(j.status == "failed" and "stopped" in j.error for j in jobs.jobs.values())
