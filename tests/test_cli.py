"""The command line, end to end on short clips made in code, and its answers to bad input."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from framescore.cli import main

OUTPUTS = ["plan.json", "score.mid", "score.musicxml", "mix.wav", "report.json", "pianoroll.png", "timeline.png"]


def wav_frames(path: Path) -> tuple[int, int]:
    with wave.open(str(path)) as w:
        return w.getnframes(), w.getframerate()


@pytest.fixture(scope="module")
def video_run(two_shot_clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(["video", str(two_shot_clip), "-o", str(out), "--seed", "3", "-q"]) == 0
    return out


def test_video_writes_every_output(video_run):
    for name in OUTPUTS + ["video.mp4"]:
        assert (video_run / name).is_file(), name
    plan = json.loads((video_run / "plan.json").read_text())
    assert plan["duration_sec"] == pytest.approx(2.5, abs=0.05)
    # the cut at 1.5 s opens a section whose first bar line is on the cut
    cuts = [s["cut_sec"] for s in plan["sections"] if s["cut_sec"] is not None]
    assert cuts and cuts[0] == pytest.approx(1.5, abs=0.15)
    stems = sorted((video_run / "stems").glob("*.wav"))
    assert {p.stem for p in stems} == set(plan["instrumentation"])
    lengths = {wav_frames(p) for p in stems} | {wav_frames(video_run / "mix.wav")}
    assert len(lengths) == 1, "stems and mix must be equal in length"
    (n, sr), = lengths
    assert n / sr == pytest.approx(plan["duration_sec"], abs=1e-3)  # within a tick
    report = json.loads((video_run / "report.json").read_text())
    assert report["plan"]["duration_error_sec"] < 0.01
    assert report["video"] == {"file": "video.mp4", "picture": "copied", "codec_in": "h264", "codec": "h264"}


def test_video_report_hears_the_cut_in_the_mix(video_run):
    """The report checks the kept cut in the sound too: cuts_heard beside cuts_on_downbeat, each cut's onset."""
    plan = json.loads((video_run / "plan.json").read_text())
    report = json.loads((video_run / "report.json").read_text())
    names = list(report["plan"])
    assert names[names.index("cuts_on_downbeat") + 1] == "cuts_heard"
    cuts = [s["cut_sec"] for s in plan["sections"] if s["cut_sec"] is not None]
    hits = report["hits"]
    assert [c["cut_sec"] for c in hits["cuts"]] == pytest.approx(cuts, abs=1e-3) and hits["n_cuts"] == len(cuts)
    heard = [c["heard"] for c in hits["cuts"]]
    assert report["plan"]["cuts_heard"] == pytest.approx(sum(heard) / len(heard))
    for c in hits["cuts"]:
        assert c["heard"] == (c["offset_sec"] is not None and abs(c["offset_sec"]) <= hits["tolerance_sec"] + 1e-3)


def test_same_seed_same_midi_bytes(video_run, two_shot_clip, tmp_path):
    out = tmp_path / "again"
    assert main(["video", str(two_shot_clip), "-o", str(out), "--seed", "3", "-q"]) == 0
    assert (out / "score.mid").read_bytes() == (video_run / "score.mid").read_bytes()
    assert (out / "plan.json").read_bytes() == (video_run / "plan.json").read_bytes()


def test_image_plan_compose_render_score(picture, tmp_path, capsys):
    out = tmp_path / "img"
    assert main(["image", str(picture), "-o", str(out), "--duration", "3", "--chords", "I V vi IV",
                 "--key", "D major", "--meter", "3/4", "-q"]) == 0
    assert not (out / "video.mp4").exists()
    plan = json.loads((out / "plan.json").read_text())
    assert plan["key"] == "D major" and plan["meter"] == "3/4"
    assert plan["bars"][0]["chords"][0]["chord"] == "D:maj"
    # edit the plan (a chord, and no melody in the first bar) and compose it again: the edits are honoured
    plan["bars"][0]["chords"][0]["chord"] = "B:min"
    plan["bars"][0]["melody"] = False
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(plan))
    assert main(["compose", str(edited), "-o", str(tmp_path / "c"), "-q"]) == 0
    from framescore.symbolic.midi_io import read_midi

    again = read_midi(tmp_path / "c" / "score.mid")
    first_bar = again.bar_starts()[1]
    assert not [n for n in again.track("melody").notes if n.start < first_bar]
    assert any(m.text == "B:min" and m.tick == 0 for m in again.chord_markers())
    # render any MIDI; score it against its plan
    assert main(["render", str(out / "score.mid"), "-o", str(tmp_path / "r"), "-q"]) == 0
    assert (tmp_path / "r" / "mix.wav").is_file() and list((tmp_path / "r" / "stems").glob("*.wav"))
    capsys.readouterr()
    assert main(["score", str(out / "score.mid"), "--plan", str(out / "plan.json"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "music" in report and "plan" in report


def test_text_and_plan_only(two_shot_clip, tmp_path):
    assert main(["text", "a calm morning by the sea", "-o", str(tmp_path / "t"), "--duration", "2", "-q"]) == 0
    assert (tmp_path / "t" / "score.mid").is_file()
    assert main(["plan", str(two_shot_clip), "-o", str(tmp_path / "p" / "plan.json"), "-q"]) == 0
    assert json.loads((tmp_path / "p" / "plan.json").read_text())["schema_version"] == 2


def _fails(argv: list[str], capsys, needle: str) -> None:
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("framescore: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines  # progress lines may come first
    assert needle.lower() in errors[0].lower(), errors


def test_bad_input_one_line_and_nothing_left(two_shot_clip, picture, tmp_path, capsys):
    out = tmp_path / "out"
    _fails(["video", str(tmp_path / "missing.mp4"), "-o", str(out)], capsys, "not found")
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video")
    _fails(["video", str(fake), "-o", str(out)], capsys, "fake.mp4")
    notpic = tmp_path / "fake.png"
    notpic.write_text("not a picture")
    _fails(["image", str(notpic), "-o", str(out), "--duration", "2"], capsys, "fake.png")
    _fails(["video", str(two_shot_clip), "-o", str(out), "--chords", "C H7 F"], capsys, "H7")
    _fails(["video", str(two_shot_clip), "-o", str(out), "--tempo", "900"], capsys, "tempo")
    _fails(["image", str(picture), "-o", str(out), "--duration", "-4"], capsys, "duration")
    _fails(["video", str(two_shot_clip), "-o", str(out), "--soundfont", str(tmp_path / "no.sf2")], capsys, "no.sf2")
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    _fails(["video", str(two_shot_clip), "-o", str(blocker)], capsys, "not a folder")
    _fails(["compose", str(tmp_path / "nope.json"), "-o", str(out)], capsys, "not found")
    assert not out.exists(), "a failed run must leave no output behind"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")], "no partial folders either"


def test_one_frame_clip_is_not_an_error(tmp_path):
    from conftest import make_clip

    clip = make_clip(tmp_path / "one.mp4", [("green", 0.04)])
    assert main(["video", str(clip), "-o", str(tmp_path / "o"), "-q"]) == 0
    plan = json.loads((tmp_path / "o" / "plan.json").read_text())
    assert 0 < plan["duration_sec"] <= 0.1


def test_melody_is_kept_by_the_diffusion_engine(tmp_path, monkeypatch, capsys):
    """`--melody`: the given tune comes back in the melody track (debug diffusion model, so it runs in seconds)."""
    from framescore.symbolic.midi_io import read_midi, write_midi
    from framescore.symbolic.piece import Note, Piece, TempoChange, Track

    monkeypatch.setenv("FRAMESCORE_DIFFUSION_CHECKPOINT", str(Path(__file__).parents[1] / "checkpoints" / "diffusion-debug"))
    tune = tmp_path / "tune.mid"
    notes = [Note(i * 480, 480, p, 90) for i, p in enumerate([72, 74, 76, 77, 79, 77, 76, 74])]
    write_midi(Piece([Track("melody", 0, False, notes)], [TempoChange(0, 120.0)], key="C major"), tune)
    plan = tmp_path / "plan.json"
    from framescore.symbolic.plan import simple_plan

    simple_plan(4.0, 120, "C major", engine="diffusion").save(plan)
    _fails(["compose", str(plan), "-o", str(tmp_path / "x"), "--melody", str(tune), "--engine", "rule"], capsys,
           "--melody needs --engine diffusion")
    assert main(["compose", str(plan), "-o", str(tmp_path / "o"), "--melody", str(tune), "-q"]) == 0
    melody = read_midi(tmp_path / "o" / "score.mid").track("melody")
    assert [n.pitch for n in melody.notes] == [72, 74, 76, 77, 79, 77, 76, 74]


def test_plan_only_listens_to_the_soundtrack_when_asked(two_shot_clip, tmp_path):
    # `framescore plan --follow-audio` runs the same audio stage as `framescore video` (this clip has no sound)
    assert main(["plan", str(two_shot_clip), "-o", str(tmp_path / "p.json"), "--follow-audio", "-q"]) == 0
    source = json.loads((tmp_path / "p.json").read_text())["source"]
    assert "no audio" in json.dumps(source["soundtrack"])
    assert main(["plan", str(two_shot_clip), "-o", str(tmp_path / "q.json"), "-q"]) == 0
    assert "soundtrack" not in json.loads((tmp_path / "q.json").read_text())["source"]


def test_a_midi_file_becomes_a_plan_a_rearrangement_and_a_caption(video_run, two_shot_clip, tmp_path, capsys):
    """`plan song.mid`, `compose` of it, `describe`, and `--like` on a video: what the issue's user asks."""
    midi = video_run / "score.mid"
    plan_path = tmp_path / "song.json"
    assert main(["plan", str(midi), "-o", str(plan_path), "--engine", "rule", "-q"]) == 0
    plan = json.loads(plan_path.read_text())
    original = json.loads((video_run / "plan.json").read_text())
    assert plan["key"] == original["key"] and plan["meter"] == original["meter"]
    assert plan["source"]["from"] == "midi" and plan["source"]["file"] == "score.mid"
    assert main(["compose", str(plan_path), "-o", str(tmp_path / "again"), "-q"]) == 0
    assert (tmp_path / "again" / "score.mid").is_file()
    capsys.readouterr()
    assert main(["describe", str(midi)]) == 0
    line = capsys.readouterr().out.strip()
    assert original["key"] in line and "time signature" in line and "bpm" in line
    assert main(["describe", str(midi), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["caption"] == line
    out = tmp_path / "like"
    assert main(["video", str(two_shot_clip), "-o", str(out), "--like", str(midi), "-q"]) == 0
    liked = json.loads((out / "plan.json").read_text())
    assert liked["key"] == plan["key"] and liked["source"]["like"]["file"] == "score.mid"
    assert liked["sections"][0]["cut_sec"] is None and len(liked["sections"]) == len(original["sections"])


def test_a_midi_plan_refuses_what_the_file_decides_in_one_line(video_run, tmp_path, capsys):
    midi = video_run / "score.mid"
    _fails(["plan", str(midi), "-o", str(tmp_path / "p.json"), "--meter", "3/4"], capsys, "--meter does not apply")
    _fails(["describe", str(video_run / "plan.json")], capsys, "reads a MIDI file")
    _fails(["video", str(video_run / "nope.mp4"), "-o", str(tmp_path / "o"), "--like", str(midi)], capsys, "not found")
    _fails(["text", "calm", "-o", str(tmp_path / "o"), "--duration", "2", "--like", str(tmp_path / "no.mid")],
           capsys, "no.mid")
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "o").exists()
