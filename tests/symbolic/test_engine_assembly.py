"""The gate's passes (symbolic/engines/assembly.py): a plan with bars of another length is composed on a
uniform proxy and mapped onto its own bars by a monotone tick map; bars whose melody is off hold no melody note;
calm sections are played legato. And a trained part set to the plan's dynamics. Values worked out by hand on
small plans."""

from __future__ import annotations

import importlib.util

import pytest

from framescore.symbolic.engines import compose, get_engine
from framescore.symbolic.engines.assembly import (BarMap, articulate, at_dynamics, close_on_tonic, legato_amount,
                                                  onto_proxy_bars, onto_real_bars, proxy_meter, silence_melody,
                                                  uniform_proxy)
from framescore.symbolic.piece import ControlChange, MeterChange, Note, Piece, Track, piece_from_plan_grid
from framescore.symbolic.plan import MusicPlan, simple_plan


def _plan(meters: dict[int, str], meter: str = "4/4", chords: str = "I vi IV V", cut: float = 0.3,
          n_bars: int = 4) -> MusicPlan:
    """``n_bars`` bars at 120 bpm (a 4/4 bar is 2 s), ``meters`` giving some bars their own, the end ``cut`` s
    before the last bar line."""
    num, den = (int(x) for x in meter.split("/"))
    bar_sec = num * 4 / den * 0.5
    plan = simple_plan((n_bars - 0.5) * bar_sec, 120, "C major", meter, chords, seed=3)
    assert plan.n_bars == n_bars
    for b, m in meters.items():
        plan.bars[b].meter = m
    plan.duration_sec = plan.bar_start_sec(plan.n_bars) - cut
    return plan.validate()


def test_the_proxy_is_the_plans_meter_unless_a_bar_is_longer():
    assert proxy_meter(_plan({1: "2/4", 2: "1/4"})) == (4, 4)
    assert proxy_meter(_plan({1: "5/4", 2: "2/4"})) == (5, 4)  # a user's longer bar: the proxy is as long
    assert proxy_meter(_plan({1: "3/8"}, meter="6/8", chords="I IV", n_bars=6)) == (6, 8)
    assert proxy_meter(_plan({2: "7/8"}, meter="3/4", n_bars=5)) == (7, 8)  # 3.5 quarters > 3


def test_the_proxy_keeps_every_bar_but_its_length_and_ends_at_the_same_offset():
    plan = _plan({1: "2/4"}, chords="I V | vi")  # bar 1's V on beat 2 of 4 is dropped below: a 2/4 bar has 0-1
    plan.bars[1].chords = plan.bars[1].chords[:1]
    plan.bars[2].melody, plan.bars[3].cadence = False, "authentic"
    plan.sections[0].theme, plan.sections[0].role = "A", "theme"
    plan.validate()
    proxy = uniform_proxy(plan)
    assert proxy.uniform and proxy.meter == "4/4" and proxy.n_bars == 4 and plan.bars[1].meter == "2/4"
    assert [[(c.beat, c.chord) for c in b.chords] for b in proxy.bars] == \
        [[(c.beat, c.chord) for c in b.chords] for b in plan.bars]
    assert [b.melody for b in proxy.bars] == [True, True, False, True] and proxy.bars[3].cadence == "authentic"
    assert proxy.sections == plan.sections and proxy.seed == plan.seed and proxy.key == plan.key
    # real bars 0, 1920, 2880, 4800, 6720; the end 0.3 s (288 ticks at 120 bpm) before the last line
    assert plan.bar_start_ticks() == [0, 1920, 2880, 4800, 6720]
    real_end = piece_from_plan_grid(plan).end_tick
    assert real_end == 6720 - 288
    assert proxy.bar_start_ticks() == [0, 1920, 3840, 5760, 7680]
    assert piece_from_plan_grid(proxy).end_tick == 7680 - 288


def test_a_chord_keeps_its_place_when_the_proxys_beat_is_another_note_value():
    plan = _plan({2: "7/8"}, meter="3/4", chords="I V | vi", n_bars=5)  # 3/4 bars in a 7/8 proxy
    proxy = uniform_proxy(plan)
    assert proxy.meter == "7/8"
    assert [c.beat for c in plan.bars[0].chords] == [0.0, 1.5] and [c.beat for c in proxy.bars[0].chords] == [0.0, 3.0]
    assert [s.start_tick - 0 for s in proxy.chord_spans(bar=0)] == [s.start_tick for s in plan.chord_spans(bar=0)]


def test_the_bar_map_by_hand():
    plan = _plan({1: "2/4"})  # real lines 0, 1920, 2880, 4800, 6720
    m = BarMap(plan, uniform_proxy(plan))  # proxy lines 0, 1920, 3840, 5760, 7680
    assert [m.to_real(t) for t in (0, 1919, 1920, 2500, 2879, 2880, 3000, 3839, 3840, 4000, 7680, 7700)] == \
        [0, 1919, 1920, 2500, 2879, 2880, 2880, 2880, 2880, 3040, 6720, 6740]
    assert [m.in_cut(t) for t in (2879, 2880, 3839, 3840, 1000)] == [False, True, True, False, False]
    assert [m.to_proxy(t) for t in (0, 2879, 2880, 3040, 6720)] == [0, 2879, 3840, 4000, 7680]


def test_the_proxy_piece_onto_the_real_bars_by_hand():
    plan = _plan({1: "2/4"})
    proxy = uniform_proxy(plan)
    piece = piece_from_plan_grid(proxy)
    notes = [Note(0, 480, 60), Note(2400, 240, 62), Note(2800, 400, 64),  # the last held into the cut-off part
             Note(3000, 200, 65), Note(2880, 10, 66),  # both start in the cut-off part of bar 1: dropped
             Note(1800, 2400, 67),  # crosses two bar lines: ends 360 into bar 2 (3240)
             Note(7000, 392, 69)]  # the last note, to the end (7392 in the proxy: 1632 into bar 3, 6432 in the plan)
    piece.tracks = [Track("melody", 5, False, notes, controls=[ControlChange(3000, 64, 127)]),
                    Track("drums", 0, True, [Note(3840, 120, 36)])]
    real = onto_real_bars(piece, plan, proxy)
    assert real.meter_changes == [MeterChange(1920, 2, 4), MeterChange(2880, 4, 4)] and real.end_tick == 6432
    assert [(t.name, t.program, t.is_drum) for t in real.tracks] == [("melody", 5, False), ("drums", 0, True)]
    assert [(n.start, n.end, n.pitch) for n in real.tracks[0].notes] == \
        [(0, 480, 60), (1800, 3240, 67), (2400, 2640, 62), (2800, 2880, 64), (6040, 6432, 69)]
    assert real.tracks[0].controls == [ControlChange(2880, 64, 127)]
    assert [(n.start, n.end) for n in real.tracks[1].notes] == [(2880, 3000)]  # bar 2's downbeat


def test_a_users_melody_goes_onto_the_proxy_and_comes_back_as_it_was():
    plan = _plan({1: "2/4"})
    proxy = uniform_proxy(plan)
    tune = [Note(0, 480, 60), Note(1800, 600, 62), Note(2880, 960, 64), Note(6000, 432, 65)]
    melody = Piece([Track("melody", 0, False, list(tune))], end_tick=6432)
    moved = onto_proxy_bars(melody, plan, proxy)
    assert [(n.start, n.end) for n in moved.tracks[0].notes] == [(0, 480), (1800, 2400), (3840, 4800), (6960, 7392)]
    grid = piece_from_plan_grid(proxy)
    grid.tracks = moved.tracks
    assert onto_real_bars(grid, plan, proxy).tracks[0].notes == tune


def test_melody_off_drops_what_starts_there_and_cuts_what_rings_into_it():
    plan = _plan({})  # four 4/4 bars: 0, 1920, 3840, 5760
    plan.bars[1].melody = plan.bars[2].melody = False
    piece = piece_from_plan_grid(plan)
    melody = [Note(0, 480, 60), Note(1000, 2000, 62), Note(1920, 100, 64), Note(4000, 100, 65), Note(5760, 960, 67),
              Note(5000, 1000, 69)]
    piece.tracks = [Track("melody", 0, False, list(melody)), Track("harmony", 0, False, list(melody))]
    silence_melody(piece, plan)
    assert [(n.start, n.end) for n in piece.track("melody").notes] == [(0, 480), (1000, 1920), (5760, 6720)]
    assert piece.track("harmony").notes == melody  # only the melody


def test_melody_on_everywhere_changes_nothing():
    plan = _plan({})
    piece = piece_from_plan_grid(plan)
    notes = [Note(0, 7000, 60)]
    piece.tracks = [Track("melody", 0, False, notes)]
    assert silence_melody(piece, plan).track("melody").notes is notes


def test_the_gate_composes_a_uniform_plan_as_it_is_and_another_on_its_proxy():
    rule = get_engine("rule")
    plan = simple_plan(9.5, 100, "C major", "4/4", "I vi IV V", seed=1)
    assert compose(plan, "rule") == rule(plan)
    shaped = _plan({1: "2/4", 2: "1/4"})
    shaped.bars[3].melody = False
    shaped.validate()
    proxy = uniform_proxy(shaped)
    want = silence_melody(onto_real_bars(rule(proxy), shaped, proxy), shaped)
    got = compose(shaped, "rule")
    assert got.tracks == want.tracks and got.meter_changes == piece_from_plan_grid(shaped).meter_changes
    assert not [n for n in got.track("melody").notes if n.start >= shaped.bar_start_ticks()[3]]


@pytest.mark.skipif(importlib.util.find_spec("diffusers") is None, reason="the diffusion engine needs diffusers")
def test_the_diffusion_engine_keeps_a_users_melody_over_bars_of_another_length():
    from pathlib import Path

    plan = _plan({1: "2/4"})
    tune = [Note(0, 480, 72), Note(1800, 600, 74), Note(2880, 960, 76), Note(6000, 432, 77)]
    melody = Piece([Track("melody", 0, False, list(tune))], end_tick=6432)
    debug = Path(__file__).resolve().parents[2] / "checkpoints" / "diffusion-debug"
    piece = compose(plan, "diffusion", melody=melody, checkpoint=debug, steps=2)
    assert piece.track("melody").notes == tune


# ----- calm music played legato, trained parts at the plan's dynamics ----------------------------------------------
def _calm(arousal: float) -> MusicPlan:
    """Two 4/4 bars at 120 bpm (a beat is 480 ticks), C then F, the section's arousal as given."""
    plan = simple_plan(4.0, 120, "C major", chords="C | F", seed=0)
    plan.sections[0].arousal = arousal
    return plan.validate()


def _piece(plan: MusicPlan, melody: list[Note], harmony: list[Note]) -> Piece:
    piece = piece_from_plan_grid(plan)
    piece.tracks = [Track("melody", 73, False, list(melody)), Track("harmony", 0, False, list(harmony))]
    return piece


def test_legato_grows_from_arousal_zero_to_minus_a_half():
    assert [legato_amount(_calm(a), 0) for a in (0.3, 0.0, -0.25, -0.5, -0.9)] == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_calm_melody_is_joined_up_but_keeps_its_breaths_and_the_harmony_rings_to_the_chord_change():
    melody = [Note(0, 240, 72, 80), Note(480, 240, 74, 80), Note(1920 + 960, 240, 76, 80), Note(3600, 120, 77, 80)]
    harmony = [Note(0, 240, 60, 60), Note(480, 240, 64, 60), Note(960, 240, 60, 60), Note(1920, 240, 65, 60)]
    piece = articulate(_piece(_calm(-0.5), melody, harmony), _calm(-0.5))
    # 0-240 joins the note at 480; 480-720 is 2,160 ticks (more than a beat) from the next: a breath, kept;
    # 2880-3120 is a beat from the next: joined; the last has none after it
    assert [(n.start, n.end) for n in piece.track("melody").notes] == [(0, 480), (480, 720), (2880, 3600),
                                                                       (3600, 3720)]
    # C rings until C comes again (960), E and the second C until F at the bar line, F until the end
    assert [(n.start, n.end) for n in piece.track("harmony").notes] == [(0, 960), (480, 1920), (960, 1920),
                                                                        (1920, 3840)]
    half = articulate(_piece(_calm(-0.25), melody, harmony), _calm(-0.25))
    assert [n.end for n in half.track("melody").notes][:2] == [360, 720]  # half-way at half the amount
    lively = articulate(_piece(_calm(0.2), melody, harmony), _calm(0.2))
    assert lively.track("melody").notes == melody and lively.track("harmony").notes == harmony


def test_legato_never_shortens_and_leaves_a_users_melody_as_given():
    melody = [Note(0, 960, 72, 80), Note(480, 240, 74, 80)]  # the first rings past the second's attack
    piece = articulate(_piece(_calm(-0.8), melody, []), _calm(-0.8))
    assert piece.track("melody").notes[0] == melody[0]
    given = [Note(0, 240, 72, 80), Note(480, 240, 74, 80)]
    kept = articulate(_piece(_calm(-0.8), given, []), _calm(-0.8), keep_melody=True)
    assert kept.track("melody").notes == given


def test_a_trained_part_is_moved_to_each_bars_planned_velocity_keeping_half_its_accents():
    plan = _calm(0.0)
    plan.bars[0].dynamics, plan.bars[1].dynamics = 0.0, 1.0  # velocity_of: 40 and 110
    notes = [Note(0, 240, 72, 100), Note(480, 240, 72, 120), Note(1920, 240, 72, 30), Note(2400, 240, 72, 50)]
    got = at_dynamics(notes, plan, "melody")  # melody: 6 over the plan's
    assert [n.velocity for n in got] == [41, 51, 111, 121]
    assert [(n.start, n.duration, n.pitch) for n in got] == [(n.start, n.duration, n.pitch) for n in notes]


def test_a_trained_melody_ends_on_the_nearest_tonic_held_to_the_end():
    plan = simple_plan(4.0, 120, "C major", chords="G | C", seed=0)  # two bars of 1,920 ticks
    got = close_on_tonic([Note(0, 480, 67, 80), Note(1920, 480, 64, 80), Note(2400, 240, 62, 80)], plan, 3840)
    assert got == [Note(0, 480, 67, 80), Note(1920, 480, 64, 80), Note(2400, 1440, 60, 80)]  # D: C below
    assert close_on_tonic([Note(2400, 240, 66, 80)], plan, 3840) == [Note(2400, 1440, 60, 80)]  # F#: a tie, down
    early = [Note(0, 480, 67, 80)]  # the last note is not in the last bar: a rest ends the tune, kept
    assert close_on_tonic(early, plan, 3840) == early
    on_v = simple_plan(4.0, 120, "C major", chords="C | G", seed=0)  # a last chord without the tonic: left
    assert close_on_tonic([Note(2400, 240, 62, 80)], on_v, 3840) == [Note(2400, 240, 62, 80)]
