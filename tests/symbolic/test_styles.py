"""Genre and style words change the music, not just a label: instruments, tempo range, texture, the drum groove
and the swing, for every style, through the engines' gate."""

from __future__ import annotations

import pytest

from framescore.symbolic.engines import compose
from framescore.symbolic.plan import PlanError
from framescore.symbolic.styles import STYLES
from framescore.vision.mapping import Overrides, parse_instruments, plan_from_text
from framescore.vision.words import read_words

KICK, SNARE, CLAP, RIDE, RIM = 36, 38, 39, 51, 37
Q = 480


@pytest.mark.parametrize("name", list(STYLES))
def test_every_style_sets_its_instruments_tempo_and_drums_and_composes(name):
    plan = plan_from_text(f"a happy {name} {'music' if name == 'house' else 'piece'}", 10.0)
    style = STYLES[name]
    assert plan.style == name
    lo, hi = style.tempo
    assert lo * 0.94 <= plan.tempo_bpm <= hi * 1.06  # the range, give or take the fit of whole bars to 10 s
    want = {r: p for r, p in parse_instruments(style.instruments).items() if p is not None}
    assert plan.instrumentation == want
    assert ("drums" in plan.instrumentation) == (style.groove != "none")
    piece = compose(plan)  # the gate checks the piece against the plan: grooves and swing keep the contract
    assert piece.track("melody").notes


def _drums(words: str, seed: int = 0):
    plan = plan_from_text(words, 24.0, Overrides(tempo_bpm=120.0, meter="4/4", seed=seed))
    piece = compose(plan)
    return plan, piece, piece.track("drums").notes


def _plain_bars(plan) -> list[int]:
    """Bars that are neither a section's first (a crash) nor last (a fill) nor a phrase's cadence (a short fill)."""
    edges = {s.start_bar for s in plan.sections} | {s.start_bar + s.n_bars - 1 for s in plan.sections}
    return [b for b in range(plan.n_bars - 1) if b not in edges and plan.bars[b].cadence is None]


def _bar_hits(plan, notes, bar: int, pitch: int) -> list[int]:
    tpb = 4 * Q
    return sorted(n.start - bar * tpb for n in notes if n.pitch == pitch and bar * tpb <= n.start < (bar + 1) * tpb)


def test_house_puts_a_kick_on_every_beat_and_claps_on_the_backbeats():
    plan, _, notes = _drums("deep house, happy")
    for bar in _plain_bars(plan)[:2]:
        assert _bar_hits(plan, notes, bar, KICK) == [0, Q, 2 * Q, 3 * Q]
        assert _bar_hits(plan, notes, bar, CLAP) == [Q, 3 * Q]


def test_hip_hop_is_half_time_the_snare_on_three_only():
    plan, _, notes = _drums("a hip hop beat, confident")
    bar = _plain_bars(plan)[0]
    assert _bar_hits(plan, notes, bar, SNARE) == [2 * Q]
    assert _bar_hits(plan, notes, bar, KICK) == [0, Q + Q // 2]


def test_bossa_nova_has_its_kick_and_a_two_bar_clave():
    plan, _, notes = _drums("a happy bossa nova")
    bar = _plain_bars(plan)[0]
    assert _bar_hits(plan, notes, bar, KICK) == [0, Q + Q // 2, 2 * Q, 3 * Q + Q // 2]
    clave = {0: [0, 3 * Q // 2, 3 * Q], 1: [Q, 5 * Q // 2]}  # over two bars: even bars, odd bars
    assert _bar_hits(plan, notes, bar, RIM) == clave[bar % 2]
    nxt = bar + 1  # a phrase may close there: its short fill takes the last beat only
    assert [t for t in _bar_hits(plan, notes, nxt, RIM) if t < 3 * Q] == [t for t in clave[nxt % 2] if t < 3 * Q]


def test_jazz_swings_every_part_two_to_one():
    plan, piece, notes = _drums("a happy jazz tune")
    straight = [n for t in piece.tracks for n in t.notes if n.start % Q == Q // 2]
    swung = [n for t in piece.tracks for n in t.notes if n.start % Q == 2 * Q // 3]
    assert not straight and swung
    bar = _plain_bars(plan)[0]
    assert _bar_hits(plan, notes, bar, RIDE) == [0, Q, Q + 2 * Q // 3, 2 * Q, 3 * Q, 3 * Q + 2 * Q // 3]


def test_a_style_changes_the_music_itself():
    pop = compose(plan_from_text("a happy pop song", 12.0, Overrides(tempo_bpm=110.0, key="C major")))
    rock = compose(plan_from_text("a happy rock song", 12.0, Overrides(tempo_bpm=110.0, key="C major")))
    assert [t.program for t in pop.tracks] != [t.program for t in rock.tracks]
    assert len(rock.notes()) > len(pop.notes())  # rock's texture is busier


def test_the_trained_engines_take_the_style_too():
    plan = plan_from_text("a happy jazz tune", 8.0, Overrides(engine="transformer", tempo_bpm=120.0))
    piece = compose(plan)
    assert piece.track("drums") is not None and not [n for t in piece.tracks for n in t.notes
                                                      if n.start % Q == Q // 2]


def test_words_read_styles_but_not_buildings_and_the_flag_wins():
    assert read_words("an old house at night").style is None
    assert read_words("deep house at 124 bpm").style == "house"
    assert read_words("a lofi hip-hop beat").style == "hip hop"  # the later style word wins (noted)
    assert read_words("Bossa Nova in F major").style == "bossa nova"
    assert plan_from_text("a jazz tune", 6.0, Overrides(style="rock")).style == "rock"
    with pytest.raises(PlanError, match="unknown style"):
        Overrides(style="polka-core").validate()


def test_named_instruments_win_over_the_styles():
    plan = plan_from_text("a jazz tune for trumpet and drums", 6.0)
    assert plan.style == "jazz" and plan.instrumentation == {"melody": 56, "harmony": 56, "drums": 0}
