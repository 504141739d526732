"""Plan schema version 2: bars of another length, tempo ramps, form fields, and the version-1 migration."""

from __future__ import annotations

import json

import pytest

from framescore.symbolic.piece import MeterChange, TempoChange, piece_from_plan_grid
from framescore.symbolic.plan import BarPlan, ChordSlot, MusicPlan, PlanError, Section, load_plan, migrate


def odd_bar_plan() -> MusicPlan:
    """4/4 at 120 (a bar 2 s), bar 1 in 2/4 (1 s), then a section B at 100 bpm reached by a ramp."""
    bars = [BarPlan([ChordSlot(0, "C:maj")]), BarPlan([ChordSlot(0, "F:maj"), ChordSlot(1, "G:maj")], meter="2/4",
                                                     cadence="half"),
            BarPlan([ChordSlot(0, "A:min")]), BarPlan([ChordSlot(0, "C:maj")], cadence="authentic", melody=False)]
    return MusicPlan(duration_sec=6.5, tempo_bpm=120.0, meter="4/4", key="C major", bars=bars,
                     sections=[Section("A", 0, 2, theme="A"), Section("B", 2, 2, cut_sec=3.0, tempo_bpm=100.0,
                                                                       theme="B", role="contrast", ramp=True)]
                     ).validate()


def test_a_bar_of_another_length_moves_every_later_bar_line():
    plan = odd_bar_plan()
    assert not plan.uniform and plan.bar_meter(1) == (2, 4) and plan.bar_meter(2) == (4, 4)
    assert plan.bar_start_ticks(480) == [0, 1920, 2880, 4800, 6720]
    assert plan.bar_start_ticks(4) == [0, 16, 24, 40, 56]  # a sixteenth-note grid
    # the chord on beat 1 of the 2/4 bar starts one quarter into it
    assert [(s.start_tick, s.end_tick) for s in plan.chord_spans()] == [(0, 1920), (1920, 2400), (2400, 2880),
                                                                       (2880, 4800), (4800, 6720)]
    assert [(s.start_tick, s.end_tick) for s in plan.chord_spans(bar=1)] == [(1920, 2400), (2400, 2880)]


def test_a_ramp_steps_the_tempo_beat_by_beat_to_the_new_one():
    plan = odd_bar_plan()
    ramp = plan.beat_tempos(2)
    # worked by hand: 120 * (100/120) ** (k/4), k = 1..4
    assert ramp == pytest.approx([114.65, 109.54, 104.66, 100.0], abs=0.01)
    assert plan.beat_tempos(3) == [100.0] * 4
    assert plan.bar_seconds(1) == pytest.approx(1.0)
    assert plan.bar_seconds(2) == pytest.approx(sum(60 / t for t in ramp))
    assert plan.bar_start_secs() == pytest.approx([plan.bar_start_sec(b) for b in range(5)])
    changes = plan.tempo_changes()
    assert changes[0] == (0, 120.0) and [t for t, _ in changes[1:]] == [2880, 3360, 3840, 4320]
    assert changes[-1][1] == pytest.approx(100.0)


def test_the_grid_writes_meter_changes_and_the_tempo_ramp():
    plan = odd_bar_plan()
    grid = piece_from_plan_grid(plan)
    assert grid.meter == (4, 4) and grid.meter_changes == [MeterChange(1920, 2, 4), MeterChange(2880, 4, 4)]
    assert grid.tempos[0] == TempoChange(0, 120.0) and len(grid.tempos) == 5
    assert grid.bar_starts()[:4] == [0, 1920, 2880, 4800]
    assert grid.bar_of([0, 1919, 1920, 2879, 2880, 6000]) == [0, 0, 1, 1, 2, 3]
    assert grid.meter_at(2000) == (2, 4) and grid.meter_at(2880) == (4, 4)
    assert grid.n_bars == 4
    assert grid.duration_sec == pytest.approx(plan.duration_sec, abs=0.002)
    assert grid.tick_to_sec(2880) == pytest.approx(3.0)  # the cut at 3 s lands on the bar line after the 2/4 bar


def test_form_fields_round_trip_through_json(tmp_path):
    plan = odd_bar_plan()
    plan.save(tmp_path / "p.json")
    again = load_plan(tmp_path / "p.json")
    assert again == plan and again.sections[1].role == "contrast" and again.bars[3].melody is False


@pytest.mark.parametrize("edit, message", [
    (lambda p: setattr(p.bars[1], "meter", "5/5"), r"bar 1: meter '5/5' out of range"),
    (lambda p: setattr(p.bars[1].chords[1], "beat", 2), r"bar 1: chord beat 2 must increase within 0..1"),
    (lambda p: setattr(p.bars[0], "cadence", "plagal"), r"bar 0: cadence 'plagal' is not one of half, authentic"),
    (lambda p: setattr(p.sections[1], "role", "verse"), r"section 'B': role 'verse' is not one of intro"),
    (lambda p: setattr(p.sections[0], "theme", " "), r"section 'A': theme must be a name or null"),
    (lambda p: setattr(p.bars[0], "melody", "yes"), r"bar 0: melody must be bool"),
])
def test_a_bad_form_field_is_named(edit, message):
    plan = odd_bar_plan()
    edit(plan)
    with pytest.raises(PlanError, match=message):
        plan.validate()


def v1_plan_dict() -> dict:
    """A plan as version 1 wrote it: no form fields at all."""
    return {"schema_version": 1, "duration_sec": 5.0, "tempo_bpm": 96, "meter": "4/4", "key": "A minor",
            "bars": [{"chords": [{"beat": 0, "chord": "A:min"}], "density": 0.4, "dynamics": 0.6},
                     {"chords": [{"beat": 0, "chord": "E:7"}], "density": 0.5, "dynamics": 0.5}],
            "sections": [{"label": "A", "start_bar": 0, "n_bars": 1, "cut_sec": None, "tempo_bpm": None,
                          "valence": None, "arousal": None},
                         {"label": "B", "start_bar": 1, "n_bars": 1, "cut_sec": 2.5, "tempo_bpm": 96,
                          "valence": None, "arousal": None}],
            "valence": -0.3, "arousal": 0.1, "instrumentation": {"melody": 0}, "seed": 3, "engine": "rule",
            "source": {}}


def test_a_version_1_plan_loads_migrated_with_its_music_unchanged(tmp_path):
    d = v1_plan_dict()
    (tmp_path / "v1.json").write_text(json.dumps(d))
    plan = load_plan(tmp_path / "v1.json")
    assert plan.schema_version == 2
    assert [(s.theme, s.role, s.ramp) for s in plan.sections] == [("A", "theme", False), ("B", "theme", False)]
    assert all(b.meter is None and b.melody and b.cadence is None for b in plan.bars)
    assert plan.bar_start_ticks() == [0, 1920, 3840] and plan.tempo_changes() == [(0, 96)]
    assert [s.chord.symbol() for s in plan.chord_spans()] == ["A:min", "E:7"]
    assert d["schema_version"] == 1 and "theme" not in d["sections"][0]  # the caller's dict is not changed
    assert migrate(plan.to_dict()) == plan.to_dict()  # a version-2 plan passes through
    # saved again, it is a version-2 file that loads to the same plan
    plan.save(tmp_path / "v2.json")
    assert load_plan(tmp_path / "v2.json") == plan


def test_a_version_1_plan_with_a_bad_field_is_still_refused_by_name():
    d = v1_plan_dict()
    d["bars"][1]["density"] = 2.0
    with pytest.raises(PlanError, match=r"bar 1: density 2.0 out of range"):
        MusicPlan.from_dict(d)
    d = v1_plan_dict()
    d["sections"][0] = "A"
    with pytest.raises(PlanError, match=r"section 0 must be a JSON object"):
        MusicPlan.from_dict(d)


# ----- symbolic.form: what every engine reads of the form -------------------------------------------------------
def form_plan() -> MusicPlan:
    """Sections A (4 bars, a half cadence at bar 1), B (2 bars), A again (6 bars: longer than its statement)."""
    from framescore.symbolic.plan import simple_plan

    plan = simple_plan(24.0, tempo_bpm=120, chords="I vi IV V")  # 12 bars of 2 s
    plan.sections = [Section("A", 0, 4, theme="A"), Section("B", 4, 2, cut_sec=8.0, theme="B", role="contrast"),
                     Section("A'", 6, 6, cut_sec=12.0, theme="A", role="return")]
    plan.bars[1].cadence = "half"
    plan.bars[11].cadence = "authentic"
    plan.bars[6].melody = False
    return plan.validate()


def test_phrases_end_at_cadences_and_section_ends():
    from framescore.symbolic.form import Phrase, phrases

    assert phrases(form_plan()) == [Phrase(0, 2, "half", 0), Phrase(2, 2, None, 0), Phrase(4, 2, None, 1),
                                    Phrase(6, 6, "authentic", 2)]


def test_a_return_restates_its_first_statement_bar_by_bar():
    from framescore.symbolic.form import first_statements, melody_bars, restated_bars

    plan = form_plan()
    assert first_statements(plan) == {2: 0}
    assert restated_bars(plan) == {6: 0, 7: 1, 8: 2, 9: 3, 10: 0, 11: 1}
    assert melody_bars(plan)[5:8] == [True, False, True]
    plan.sections[2].theme = None  # material of its own: nothing restated
    assert restated_bars(plan) == {}
