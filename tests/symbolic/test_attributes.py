"""The attribute extractors (per-bar density and dynamics, whole-piece features), worked out by hand."""

from __future__ import annotations

import pytest

from framescore.symbolic.attributes import (
    DENSITY_ONSETS_PER_BEAT,
    bar_densities,
    bar_density,
    bar_dynamics,
    bar_dynamics_list,
    density_to_onsets,
    piece_attributes,
    ticks_to_seconds,
)
from framescore.symbolic.piece import Note, Piece, TempoChange, Track
from framescore.symbolic.plan import dynamics_of, velocity_of


def test_bar_density_and_dynamics_by_hand() -> None:
    notes = [Note(0, 480, 60, 100), Note(0, 480, 64, 50), Note(960, 480, 67, 90), Note(1920, 480, 72, 30)]
    # bar [0, 1920): 3 onsets over 4 beats → 3 / 48; mean velocity 80
    assert bar_density(notes, 0, 1920, 480) == pytest.approx(3 / (4 * DENSITY_ONSETS_PER_BEAT))
    assert bar_dynamics(notes, 0, 1920) == pytest.approx((80 - 40) / 70)  # the engines' scale: 40 → 0, 110 → 1
    assert bar_dynamics(notes, 3840, 1920) == 0.0 and bar_density(notes, 3840, 1920, 480) == 0.0
    crowded = [Note(i * 10, 10, 60) for i in range(100)]
    assert bar_density(crowded, 0, 1920, 480) == 1.0  # clipped
    assert density_to_onsets(3 / 48, 4) == 3 and velocity_of(dynamics_of(80)) == pytest.approx(80)
    piece = Piece(tracks=[Track("a", notes=notes), Track("d", is_drum=True, notes=[Note(0, 10, 36, 127)])])
    assert bar_densities(piece) == pytest.approx([bar_density(notes, b * 1920, 1920, 480) for b in range(2)])
    assert bar_dynamics_list(piece) == pytest.approx([40 / 70, 0.0])  # drums never count; below 40 is 0


def test_dynamics_and_velocity_are_one_scale_both_ways() -> None:
    assert velocity_of(0.0) == 40 and velocity_of(1.0) == 110 and velocity_of(0.5) == 75
    for d in (0.0, 0.1, 0.33, 0.5, 0.9, 1.0):
        assert dynamics_of(velocity_of(d)) == pytest.approx(d)
    for v in range(40, 111):
        assert velocity_of(dynamics_of(v)) == pytest.approx(v)
    assert dynamics_of(20) == 0.0 and dynamics_of(127) == 1.0  # clipped outside 40-110


def test_piece_attributes_by_hand() -> None:
    # C major scale in quarter notes at 120 bpm (0.5 s each), velocity 64, then two overlapping notes
    scale = [Note(i * 480, 480, p, 64) for i, p in enumerate((60, 62, 64, 65, 67, 69, 71, 72))]
    piece = Piece(tracks=[Track("m", notes=scale)], tempos=[TempoChange(0, 120.0)])
    a = piece_attributes(piece)
    assert a["key"] == "C major"
    assert a["duration_sec"] == pytest.approx(4.0) and a["tempo_bpm"] == pytest.approx(120.0)
    assert a["onsets_per_sec"] == pytest.approx(2.0) and a["attacks_per_sec"] == pytest.approx(2.0)
    assert a["pitch_mean"] == pytest.approx(66.25) and a["pitch_range"] == 12
    assert a["velocity_mean"] == 64 and a["velocity_std"] == 0
    assert a["note_sec_mean"] == pytest.approx(0.5) and a["legato"] == pytest.approx(1.0)
    assert a["polyphony"] == pytest.approx(1.0)
    overlap = Piece(tracks=[Track("m", notes=[Note(0, 960, 60), Note(480, 960, 64)])])
    assert piece_attributes(overlap)["polyphony"] == pytest.approx(4 / 3)  # 1, 2, 1 notes over thirds
    empty = piece_attributes(Piece(tracks=[], end_tick=480))
    assert empty["key"] is None and empty["onsets_per_sec"] == 0.0


def test_ticks_to_seconds_follows_tempo_changes() -> None:
    piece = Piece(tracks=[], tempos=[TempoChange(0, 120.0), TempoChange(960, 60.0)], end_tick=1920)
    assert list(ticks_to_seconds(piece, [0, 480, 960, 1440])) == pytest.approx([0.0, 0.5, 1.0, 2.0])
    assert ticks_to_seconds(piece, [1440])[0] == pytest.approx(piece.tick_to_sec(1440))
