"""The public API: three calls from a picture to files, lazily imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

import framescore
from framescore.errors import FramescoreError


def test_import_framescore_loads_nothing_heavy():
    code = ("import sys, framescore; heavy = [m for m in ('numpy', 'torch', 'music21', 'framescore.api') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_three_lines_from_a_picture_to_files(picture, tmp_path):
    plan = framescore.plan(picture, tempo_bpm=96, duration_sec=4, key="D minor")
    assert isinstance(plan, framescore.MusicPlan)
    assert (plan.tempo_bpm, plan.key) == (96, "D minor")
    piece = framescore.compose(plan, engine="rule")
    assert isinstance(piece, framescore.Piece) and piece.plan is plan
    out = framescore.write(piece, tmp_path / "out")
    names = {p.name for p in out.iterdir()}
    assert {"plan.json", "score.mid", "score.musicxml", "mix.wav", "report.json"} <= names
    assert framescore.load_plan(out / "plan.json").to_dict() == plan.to_dict()
    back = framescore.read_midi(out / "score.mid")
    assert sum(len(t.notes) for t in back.tracks) == sum(len(t.notes) for t in piece.tracks)
    report = framescore.score(piece)
    assert report["plan"]["key_plan"] == "D minor"
    framescore.write(piece, out)  # a second write replaces what the first wrote


def test_write_without_audio_and_text_plans(tmp_path):
    plan = framescore.plan(text="a calm morning by the sea", duration_sec=3)
    piece = framescore.compose(plan)
    out = framescore.write(piece, tmp_path / "o", audio=False)
    names = {p.name for p in out.iterdir()}
    assert "score.mid" in names and "mix.wav" not in names and "stems" not in names


def test_bad_calls_are_framescore_errors(picture, tmp_path):
    with pytest.raises(FramescoreError, match="tempo_bmp"):
        framescore.plan(picture, tempo_bmp=90)
    with pytest.raises(FramescoreError, match="not both"):
        framescore.plan(picture, text="calm")
    with pytest.raises(FramescoreError, match="duration"):
        framescore.plan(picture)
    plan = framescore.simple_plan(4.0)
    with pytest.raises(FramescoreError, match="engine"):
        framescore.compose(plan, engine="nope")
    with pytest.raises(AttributeError):
        framescore.nothing_here  # noqa: B018


def test_a_midi_file_plans_and_describes_through_the_api(tmp_path):
    import framescore

    plan = framescore.plan(text="a happy jazz tune in F major", duration_sec=6.0, seed=1)
    path = tmp_path / "tune.mid"
    framescore.write_midi(framescore.compose(plan), path)
    again = framescore.plan(path, tempo_bpm=100.0)
    assert again.key == "F major" and again.tempo_bpm == 100.0 and again.source["from"] == "midi"
    about = framescore.describe(path)
    assert "F major" in about["caption"] and about["instruments"][0] == "tenor sax"
