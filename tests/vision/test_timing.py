"""vision/timing.py: one steady tempo, cuts on downbeats, bars of another length for what is left over."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framescore.vision.timing import HIT_TOLERANCE_SEC, NUDGE, beat_unit, fit_timing, split_beats


@pytest.mark.parametrize("n, meter, bars", [
    (8, "4/4", [None, None]), (6, "4/4", [None, "2/4"]), (7, "4/4", [None, "3/4"]), (5, "4/4", ["3/4", "2/4"]),
    (9, "4/4", [None, "3/4", "2/4"]), (1, "4/4", ["1/4"]), (4, "3/4", ["2/4", "2/4"]), (5, "3/4", [None, "2/4"]),
    (7, "6/8", [None, None, None, "3/8"]), (8, "7/8", ["4/8", "4/8"]), (3, "2/4", [None, "1/4"]),
])
def test_beats_split_into_bars_none_longer_than_the_meter(n, meter, bars):
    assert split_beats(n, meter) == bars
    per_bar, unit = beat_unit(meter)
    num, den = map(int, meter.split("/"))
    counts = [num if m is None else int(m.split("/")[0]) for m in bars]
    assert sum(counts) == n * unit and max(counts) <= num


def test_evenly_spaced_cuts_get_one_tempo_and_whole_bars():
    t = fit_timing(10.0, [2.5, 5.0, 7.5], 100.0, "4/4")
    # 2.5 s holds 4 beats at 96 bpm exactly (within the 3% band around the base); no bar of another length
    assert [(s.n_beats, round(s.tempo_bpm, 6), s.meters) for s in t.sections] == [(4, 96.0, [None])] * 4
    assert t.base_tempo_bpm == pytest.approx(96.0) and t.unhit_cuts == [] and t.hit_errors_sec == [0.0] * 3


def test_a_cut_between_bar_lines_gets_a_shorter_bar_before_it():
    # at 120 bpm a beat is 0.5 s: 3 s is a 4/4 bar and a 2/4 bar, then 4 s more is two 4/4 bars
    t = fit_timing(7.0, [3.0], 120.0, "4/4")
    assert [(s.cut_sec, s.n_beats, s.meters) for s in t.sections] == [(None, 6, [None, "2/4"]), (3.0, 8, [None, None])]
    assert all(s.tempo_bpm == pytest.approx(120.0) for s in t.sections)


def test_fixed_tempo_puts_each_cut_at_the_nearest_beat():
    t = fit_timing(10.0, [3.1, 7.4], 100.0, "4/4", fixed_tempo=100.0)  # a beat is 0.6 s
    assert [s.tempo_bpm for s in t.sections] == [100.0] * 3
    assert [round(s.start_sec, 6) for s in t.sections] == [0.0, 3.0, 7.2]  # beats 5 and 12
    assert [s.n_beats for s in t.sections] == [5, 7, 5]  # 17 beats: 10 s, the last cut short by the end


@settings(max_examples=150, deadline=None, derandomize=True)
@given(duration=st.floats(4.0, 120.0), target=st.floats(60.0, 150.0),
       gaps=st.lists(st.floats(1.0, 12.0), max_size=12), meter=st.sampled_from(["4/4", "3/4", "6/8", "2/4", "7/8"]))
def test_every_kept_cut_is_on_a_downbeat_at_one_steady_tempo(duration, target, gaps, meter):
    cuts, t = [], 0.0
    for g in gaps:
        t += g
        if t < duration - 0.75:
            cuts.append(t)
    fit = fit_timing(duration, cuts, target, meter)
    tempos = [s.tempo_bpm for s in fit.sections]
    assert max(tempos) / min(tempos) <= NUDGE ** 2 + 1e-9  # any two sections within 6%
    assert sorted(fit.kept_cuts + fit.unhit_cuts) == cuts
    num, den = map(int, meter.split("/"))
    pos = 0.0
    for s in fit.sections:
        if s.cut_sec is not None:  # this section's bar line (its first downbeat) is at the cut, within 40 ms
            assert abs(pos - s.cut_sec) <= HIT_TOLERANCE_SEC + 1e-9
        quarters = sum((num if m is None else int(m.split("/")[0])) * 4 / den for m in s.meters)
        assert quarters == pytest.approx(s.n_beats * beat_unit(meter)[1] * 4 / den)
        pos += quarters * 60.0 / s.tempo_bpm
    assert pos >= duration - 1e-6


def test_a_strong_change_of_pace_ramps_to_a_new_tempo_over_a_bar():
    # calm for 8 s (target 80), then a chase (target 130) for 8 s: two base tempos, the second reached by a ramp
    from framescore.symbolic.plan import BarPlan, ChordSlot, MusicPlan, Section

    fit = fit_timing(16.0, [8.0], 100.0, "4/4", pace=lambda a, b: 80.0 if b <= 8.0 else 130.0)
    first, second = fit.sections
    assert not first.ramp and second.ramp and second.cut_sec == 8.0
    assert 80.0 * 0.8 <= first.tempo_bpm <= 80.0 * 1.25 and 130.0 * 0.8 <= second.tempo_bpm <= 130.0 * 1.25
    assert second.tempo_bpm / first.tempo_bpm > 1.06
    assert fit.tempo_changes[0]["at_sec"] == 8.0 and "pace" in fit.tempo_changes[0]["why"]
    # the plan plays the ramp and still puts the cut and the end where they belong
    bars = [BarPlan([ChordSlot(0, "C:maj")], meter=m) for s in fit.sections for m in s.meters]
    secs, start = [], 0
    for i, s in enumerate(fit.sections):
        secs.append(Section("AB"[i], start, s.n_bars, cut_sec=s.cut_sec, tempo_bpm=s.tempo_bpm, ramp=s.ramp))
        start += s.n_bars
    plan = MusicPlan(16.0, fit.base_tempo_bpm, "4/4", "C major", bars, secs).validate()
    assert plan.bar_start_sec(first.n_bars) == pytest.approx(8.0, abs=HIT_TOLERANCE_SEC)
    assert plan.beat_tempos(first.n_bars)[-1] == pytest.approx(second.tempo_bpm)
    assert plan.bar_start_sec(plan.n_bars - 1) < 16.0 <= plan.bar_start_sec(plan.n_bars) + 1e-9
    # a small change of pace keeps one tempo
    steady = fit_timing(16.0, [8.0], 100.0, "4/4", pace=lambda a, b: 95.0 if b <= 8.0 else 105.0)
    assert not any(s.ramp for s in steady.sections) and steady.tempo_changes == []
