"""`framescore evaluate`: one table over inputs and engines, with an overlap against a reference folder."""

from __future__ import annotations

import pytest

from framescore.errors import FramescoreError
from dataclasses import replace

from framescore.evaluate import evaluate, format_table, reference_parts
from framescore.symbolic.engines import compose
from framescore.symbolic.midi_io import write_midi
from framescore.symbolic.metrics import music_metrics
from framescore.symbolic.plan import load_plan, simple_plan


def test_table_over_a_clip_and_a_plan(two_shot_clip, tmp_path):
    plan_file = tmp_path / "plan.json"
    simple_plan(6.0, 100, "E minor", chords="i iv V i").save(plan_file)
    ref = tmp_path / "ref"
    ref.mkdir()
    for seed in range(4):  # a reference set of four pieces
        write_midi(compose(simple_plan(8.0, 90 + 10 * seed, "C major", seed=seed)), ref / f"r{seed}.mid")
    result = evaluate([str(two_shot_clip), str(plan_file)], ["rule"], reference=str(ref))
    assert [r["input"] for r in result["rows"]] == ["two_shots.mp4", "plan.json"]
    assert all(r["plan"]["chord_accuracy"] == 1.0 for r in result["rows"])
    overlap = result["summary"]["rule"]["overlap"]
    assert 0.0 <= overlap["mean"] <= 1.0
    assert 0.0 <= result["summary"]["rule"]["overlap_whole"]["mean"] <= 1.0
    # the music metrics are of the melody and harmony alone (what POP909 has); the whole piece's are kept apart
    row = result["rows"][1]
    parts = music_metrics(reference_parts(compose(replace(load_plan(plan_file), seed=0), "rule")))
    assert row["music"] == parts and row["music"] != row["music_whole"]
    table = format_table(result)
    assert table.splitlines()[0].startswith("| input | engine | bars | chord | key")
    assert "**mean**" in table and "Overlap with the reference" in table
    assert "| rule | melody and harmony |" in table and "| rule | whole piece |" in table


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FramescoreError, match="not found"):
        evaluate([str(tmp_path / "missing.mp4")], ["rule"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FramescoreError, match="no videos"):
        evaluate([str(tmp_path / "empty")], ["rule"])
    with pytest.raises(FramescoreError, match="unknown engine"):
        evaluate([], ["nope"])


POP909 = __import__("framescore.datasets.paths", fromlist=["dataset_root"]).dataset_root("pop909")


@pytest.mark.skipif(not (POP909 / "001").is_dir(), reason=f"POP909 not found at {POP909}")
def test_pop909_inputs_against_openings_of_their_length(tmp_path, monkeypatch):
    from framescore.evaluate import load_reference_spec

    monkeypatch.setenv("FRAMESCORE_CACHE", str(tmp_path / "cache"))
    result = evaluate(["pop909:validation:2"], ["rule"], reference="pop909:test:3")
    row = result["rows"][0]
    whole, opening = load_reference_spec("pop909:test:3"), load_reference_spec("pop909:test:3", bars=row["bars"])
    assert max(opening["pitch_range"]) <= max(whole["pitch_range"]) and opening != whole
    # the ceiling: the input song's own bars against the reference's openings of that length
    assert result["real"]["songs"] == 2 and 0.0 <= result["real"]["overlap"]["mean"] <= 1.0
    assert "| real POP909 | the 2 input songs' own bars |" in format_table(result)


@pytest.mark.skipif(not (POP909 / "001").is_dir(), reason=f"POP909 not found at {POP909}")
def test_the_reference_is_snapped_to_the_engines_grid_unless_asked_as_played(tmp_path, monkeypatch):
    from framescore.evaluate import load_reference_spec, matched_reference_spec

    monkeypatch.setenv("FRAMESCORE_CACHE", str(tmp_path / "cache"))
    played = load_reference_spec("pop909:test:3", bars=8)
    snapped = load_reference_spec("pop909:test:3", bars=8, steps_per_quarter=4)
    # POP909 is played a few ticks off the grid, which groove consistency hears as a new rhythm
    assert snapped["groove_consistency"] != played["groove_consistency"]
    assert snapped["pitch_range"] == played["pitch_range"]  # snapping moves time, not pitch
    assert matched_reference_spec("pop909:test:3", [8]) == snapped  # evaluate's default
    assert matched_reference_spec("pop909:test:3", [8], None) == played
    result = evaluate(["pop909:validation:1"], ["rule"], reference="pop909:test:3", steps_per_quarter=None)
    assert "its notes as played" in format_table(result)
    assert "snapped to 4 steps a quarter" in format_table(evaluate(["pop909:validation:1"], ["rule"],
                                                                   reference="pop909:test:3"))
