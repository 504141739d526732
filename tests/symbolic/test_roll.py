"""The roll layout of the diffusion engine: key shift, roll ↔ notes, chord condition."""

from __future__ import annotations

import numpy as np
import pytest

from framescore.symbolic.chords import parse_key
from framescore.symbolic.piece import Note
from framescore.symbolic.plan import simple_plan
from framescore.symbolic.roll import (
    RollError,
    RollSpec,
    chord_shift,
    condition,
    key_shift,
    notes_to_roll,
    plan_chords,
    plan_density,
    roll_to_notes,
)

SPEC = RollSpec()


@pytest.mark.parametrize("key,shift", [("C major", 0), ("A minor", 0), ("D major", -2), ("G major", 5),
                                       ("F# major", -6), ("E minor", 5), ("C minor", -3)])
def test_key_shift_goes_to_c_major_or_a_minor(key, shift):
    assert key_shift(parse_key(key)) == shift


def test_roll_round_trip_on_the_grid():
    notes = [Note(0, 480, 60, 80), Note(120, 240, 64, 80), Note(480, 120, 60, 80), Note(600, 360, 60, 80),
             Note(1800, 240, 93, 80), Note(1800, 120, 42, 80)]
    for shift in (0, -6, 5):
        roll = notes_to_roll(notes, 20, SPEC, shift)
        assert roll.shape == (2, 20, 64)
        assert roll_to_notes(roll, SPEC, shift, velocity=80) == sorted(notes)
    # repeated notes of one pitch stay separate: the onset cuts the sustain
    roll = notes_to_roll([Note(0, 240, 60), Note(240, 240, 60)], 8, SPEC)
    assert [n.start for n in roll_to_notes(roll, SPEC)] == [0, 240]


def test_out_of_range_pitches_fold_by_octave_and_end_is_cut():
    roll = notes_to_roll([Note(0, 120, 30), Note(0, 120, 110)], 4, SPEC)
    assert {int(p) + SPEC.pitch_lo for p in np.nonzero(roll[0, 0])[0]} == {42, 98}
    notes = roll_to_notes(notes_to_roll([Note(0, 960, 60)], 16, SPEC), SPEC, end_tick=500)
    assert notes == [Note(0, 500, 60, 80)]
    assert roll_to_notes(notes_to_roll([Note(600, 120, 60)], 16, SPEC), SPEC, end_tick=500) == []


def test_chord_condition_marks_chord_tones_and_roots():
    plan = simple_plan(4 * 2.4, tempo_bpm=100, key="D major", chords="I IV", density=0.3)
    mask, root = plan_chords(plan, 64, SPEC, key_shift(plan.key_obj))
    # D major → C major: bars alternate C (C E G) and F (F A C)
    assert (root[0], root[16], root[32], root[63]) == (0, 5, 0, 5)
    cond = condition(mask, root, plan_density(plan, 64, SPEC), SPEC)
    assert cond.shape == (3, 64, 64)
    pcs = {(SPEC.pitch_lo + p) % 12 for p in np.nonzero(cond[0, 0])[0]}
    assert pcs == {0, 4, 7}
    assert {(SPEC.pitch_lo + p) % 12 for p in np.nonzero(cond[1, 16])[0]} == {5}
    assert np.allclose(cond[2], 0.3)
    mask, root = plan_chords(plan, 80, SPEC)
    assert root[70] == -1 and mask[70] == 0  # past the plan's 4 bars


def test_monophonic_reading_keeps_one_voice():
    part = np.full((2, 8, 64), -1.0)
    part[0, 0, [10, 14]] = [0.3, 0.8]  # two onsets at once: the stronger wins
    part[1, 0:6, 14] = 0.9  # it would sound 6 steps...
    part[0, 3, 20] = 0.5  # ...but the next melody note starts at step 3
    part[1, 3:5, 20] = 0.5
    notes = roll_to_notes(part, SPEC, threshold=(0.0, 0.0), monophonic=True)
    assert [(n.start, n.duration, n.pitch) for n in notes] == [(0, 360, 50), (360, 240, 56)]
    assert len(roll_to_notes(part, SPEC, threshold=0.0)) == 3


def test_a_weak_reattack_of_a_held_note_lets_it_go_on():
    part = np.full((2, 8, 64), -1.0)
    part[0, 0, 14] = 0.9
    part[1, 0:8, 14] = 0.9  # held all 8 steps (120 ticks a step)
    part[0, 2, 14], part[0, 5, 14] = 0.4, 0.8  # re-attacked weakly at step 2, strongly at step 5
    read = roll_to_notes(part, SPEC, threshold=(0.0, 0.0), monophonic=True, reattack=0.6)
    assert [(n.start, n.duration) for n in read] == [(0, 600), (600, 360)]
    plain = roll_to_notes(part, SPEC, threshold=(0.0, 0.0), monophonic=True)
    assert [n.start for n in plain] == [0, 240, 600]
    bars = roll_to_notes(part, SPEC, threshold=(0.0, 0.0), monophonic=True, reattack=0.6, bar_steps=2)
    assert [n.start for n in bars] == [0, 240, 600]  # step 2 opens the second bar: its only onset is kept
    part[1, 1, 14] = -1.0  # the note let go before step 2: step 2 is a new note however weak
    assert [n.start for n in roll_to_notes(part, SPEC, threshold=(0.0, 0.0), monophonic=True, reattack=0.6)] == [
        0, 240, 600]


def test_chord_shift_follows_the_key_unless_the_chords_clearly_sit_elsewhere():
    for key, chords in [("A minor", "i iv V i"), ("E minor", "i VI III VII"), ("Bb major", "I vi ii V7")]:
        plan = simple_plan(20, key=key, chords=chords)
        assert chord_shift(plan) == key_shift(plan.key_obj)
    # a key label that does not fit its chords (POP909 017: "D minor" over F# minor / A major chords)
    plan = simple_plan(20, key="D minor", chords="F#m A Bm E")
    assert chord_shift(plan) == 3  # A major / F# minor → C major / A minor


def test_a_meter_off_the_grid_is_a_roll_error():
    with pytest.raises(RollError, match="does not fit a grid"):
        RollSpec(steps_per_quarter=3).steps_per_bar((7, 8))
