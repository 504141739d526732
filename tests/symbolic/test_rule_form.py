"""The rule engine realizes the plan's form: melody flags, returning themes, phrases that breathe and cadence, and a
real ending. Plans are made in code and composed through the gate (``engines.compose``), which checks the contract."""

from __future__ import annotations

import numpy as np
import pytest
from test_rule_engine import check_plan_honoured

from framescore.symbolic import form
from framescore.symbolic.chords import parse_key, parse_progression
from framescore.symbolic.engines import compose
from framescore.symbolic.engines.rule_pitches import scale_step, steps_between
from framescore.symbolic.metrics import estimate_key
from framescore.symbolic.midi_io import write_midi
from framescore.symbolic.piece import Note, Piece
from framescore.symbolic.plan import BarPlan, ChordSlot, MusicPlan, Section, simple_plan

SECTIONS = [("Intro", 2, "I", "intro"), ("A", 4, "A", "theme"), ("B", 4, "B", "contrast"), ("A'", 4, "A", "return"),
            ("End", 2, "E", "ending")]
# the return's third bar is ii where the statement had IV: same melody, fitted to other chords there
CHORDS = "I I  I vi IV V  vi iii IV V  I vi ii V  IV I"
CADENCES = {5: "half", 9: "half", 13: "half", 15: "authentic"}


# ----- helpers -------------------------------------------------------------------------------------------------
def form_plan(chords: str = CHORDS, sections=SECTIONS, cadences=CADENCES, silent=(0, 1), *, meter: str = "4/4",
              key: str = "C major", tempo: float = 100.0, density: float = 0.5, seed: int = 0) -> MusicPlan:
    """One chord a bar (``chords``, Roman numerals), sections of (label, bars, theme, role), cadence bars, and the
    bars the melody rests in."""
    plan = simple_plan(4.0, tempo_bpm=tempo, key=key, meter=meter, density=density, seed=seed)
    k = parse_key(key)
    plan.bars = [BarPlan([ChordSlot(0, c.symbol(k.uses_flats)) for c in bar], density, 0.5)
                 for bar in parse_progression(chords, k)]
    for b, c in cadences.items():
        plan.bars[b].cadence = c
    for b in silent:
        plan.bars[b].melody = False
    start, plan.sections = 0, []
    for i, (label, n, theme, role) in enumerate(sections):
        plan.sections.append(Section(label, start, n, cut_sec=None if i == 0 else 1.0, theme=theme, role=role))
        start += n
    assert start == plan.n_bars
    plan.duration_sec = plan.bar_start_sec(plan.n_bars)
    return plan.validate()


def bar_notes(piece: Piece, bar: int, track: str = "melody") -> list[Note]:
    tpb = piece.ticks_per_bar
    return [n for n in piece.track(track).notes if bar * tpb <= n.start < (bar + 1) * tpb]


def similarity(piece: Piece, first: int, ret: int, n_bars: int) -> float:
    """The theme similarity the issue asks for, until symbolic/metrics.py has it: over ``n_bars`` common bars,
    the Jaccard share of bar-relative onsets on a 16th grid (per bar pair, averaged), and the share of equal
    successive pitch intervals (per bar pair, position by position, over the longer of the two; pooled over the
    bars); the mean of the two."""
    tpb, sixteenth = piece.ticks_per_bar, piece.resolution // 4
    jaccard, equal, total = [], 0, 0
    for k in range(n_bars):
        a, b = bar_notes(piece, first + k), bar_notes(piece, ret + k)
        sa = {(n.start - (first + k) * tpb) // sixteenth for n in a}
        sb = {(n.start - (ret + k) * tpb) // sixteenth for n in b}
        jaccard.append(len(sa & sb) / len(sa | sb) if sa | sb else 1.0)
        ia, ib = np.diff([n.pitch for n in a]), np.diff([n.pitch for n in b])
        equal += sum(int(x == y) for x, y in zip(ia, ib))
        total += max(len(ia), len(ib))
    return (float(np.mean(jaccard)) + (equal / total if total else 1.0)) / 2


def rhythm(piece: Piece, bar: int) -> list[tuple[int, int]]:
    """The bar's melody as (offset from the bar line, duration)."""
    return [(n.start - bar * piece.ticks_per_bar, n.duration) for n in bar_notes(piece, bar)]


# ----- melody flags --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_no_melody_in_a_bar_that_rests_and_a_note_in_every_bar_that_plays(seed: int) -> None:
    silent = (0, 1, 7)  # an intro, and a breath bar inside the contrast
    plan = form_plan(silent=silent, seed=seed, density=0.8)
    piece = compose(plan, "rule")
    check_plan_honoured(plan, piece)
    tpb = piece.ticks_per_bar
    for n in piece.track("melody").notes:
        for b in silent:
            assert not (n.start < (b + 1) * tpb and n.end > b * tpb), f"melody {n} sounds in silent bar {b}"
    assert all(bar_notes(piece, b) for b in range(plan.n_bars) if b not in silent)  # coverage: 100%
    # the others play as usual: harmony, bass and drums in the intro
    assert all(bar_notes(piece, 0, t) for t in ("harmony", "bass", "drums"))


def test_a_silent_last_bar_has_no_final_melody_note() -> None:
    plan = form_plan(silent=(15,))
    piece = compose(plan, "rule")
    last = piece.track("melody").notes[-1]
    assert last.end <= 15 * piece.ticks_per_bar
    assert max(n.end for n in piece.track("bass").notes) == piece.end_tick  # the band still ends together


def test_a_melody_that_rests_throughout_is_an_empty_track() -> None:
    plan = form_plan(silent=range(16))
    piece = compose(plan, "rule")
    assert piece.track("melody") is not None and piece.track("melody").notes == []


# ----- returning themes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("density", [0.3, 0.6, 0.9])
def test_a_return_restates_its_first_statement_fitted_to_its_chords(seed: int, density: float) -> None:
    plan = form_plan(seed=seed, density=density)
    assert form.restated_bars(plan) == {10: 2, 11: 3, 12: 4, 13: 5}
    piece = compose(plan, "rule")
    check_plan_honoured(plan, piece)  # includes: chord tones on strong beats in the fitted bar too
    assert similarity(piece, 2, 10, 4) >= 0.8
    for k in range(4):  # the same rhythm (one chord a bar: no change needs a note of its own)
        assert rhythm(piece, 10 + k) == rhythm(piece, 2 + k)
    # over the same chords the same pitches; over ii instead of IV the strong beats move to the chord
    for k in (0, 1, 3):
        assert [n.pitch for n in bar_notes(piece, 10 + k)] == [n.pitch for n in bar_notes(piece, 2 + k)]
    fitted = bar_notes(piece, 12)
    assert {n.pitch % 12 for n in fitted if (n.start % piece.ticks_per_bar) in (0, 960)} <= {2, 5, 9}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("density", [0.3, 0.9])
def test_a_return_stays_a_restatement_where_the_key_guide_works(seed: int, density: float) -> None:
    """i VI VII III is as much C major as A minor: the key guide makes it heard in A minor, and the return still
    restates its statement note for note over the same chords, cadencing on tones of the dominant at a half cadence."""
    plan = form_plan("i i  i VI VII III  VI iv VII III  i VI VII III  VI i", key="A minor", seed=seed,
                     density=density)
    piece = compose(plan, "rule")
    check_plan_honoured(plan, piece)
    assert estimate_key(piece).name == estimate_key(piece, "krumhansl-kessler").name == "A minor"
    for k in range(4):
        assert rhythm(piece, 10 + k) == rhythm(piece, 2 + k)
        assert [n.pitch for n in bar_notes(piece, 10 + k)] == [n.pitch for n in bar_notes(piece, 2 + k)]
    for b in (5, 9, 13):  # half cadences over III (C E G): E or G, the tones of V (E) it holds
        assert bar_notes(piece, b)[-1].pitch % 12 in {4, 7}


def test_different_themes_get_different_material() -> None:
    """The contrast B against A (bars 2-5 and 6-9), and A against a theme C over A's own chords."""
    contrast = []
    for seed in range(6):
        for density in (0.3, 0.6, 0.9):
            piece = compose(form_plan(seed=seed, density=density), "rule")
            contrast.append(similarity(piece, 2, 6, 4))
            assert [n.pitch for n in bar_notes(piece, 6)] != [n.pitch for n in bar_notes(piece, 2)]
    assert np.mean(contrast) < 0.35 and max(contrast) < 0.5
    sections = [("Intro", 2, "I", "intro"), ("A", 4, "A", "theme"), ("B", 4, "B", "contrast"),
                ("C", 4, "C", "contrast"), ("End", 2, "E", "ending")]
    same_chords = "I I  I vi IV V  vi iii IV V  I vi IV V  IV I"
    for seed in range(3):
        piece = compose(form_plan(same_chords, sections, seed=seed), "rule")
        assert similarity(piece, 2, 10, 4) < 0.6
        again = compose(form_plan(same_chords, seed=seed), "rule")  # ... which, as a return of A, is A
        assert similarity(again, 2, 10, 4) == 1.0


def test_steps_between_counts_scale_steps_as_scale_step_takes_them() -> None:
    c_major = frozenset((0, 2, 4, 5, 7, 9, 11))
    assert steps_between(60, 67, c_major) == 4 and steps_between(67, 60, c_major) == -4  # C up to G: D E F G
    assert steps_between(64, 65, c_major) == 1 and steps_between(64, 64, c_major) == 0
    assert steps_between(60, 61, c_major) == 0  # C#, not in the scale, is not reached by a step
    for a in range(55, 80):
        for b in range(55, 80):
            if b % 12 in c_major:
                assert scale_step(a, steps_between(a, b, c_major), c_major) == b


@pytest.mark.parametrize("meter", ["4/4", "3/4", "2/4", "5/4", "6/8", "7/8"])
@pytest.mark.parametrize("density", [0.2, 0.6, 0.95])
def test_every_theme_keeps_the_plan_in_every_meter(meter: str, density: float) -> None:
    """The second theme's off-beat rhythm too: chord tones on strong beats and at changes, one voice, the end."""
    plan = form_plan(meter=meter, density=density, seed=2)
    piece = compose(plan, "rule")
    check_plan_honoured(plan, piece)
    assert all(bar_notes(piece, b) for b in range(2, plan.n_bars))


def test_a_return_longer_than_its_statement_cycles_through_it() -> None:
    sections = [("A", 2, "A", "theme"), ("B", 2, "B", "contrast"), ("A'", 5, "A", "return")]
    plan = form_plan("I V  vi IV  I V I V I", sections, cadences={1: "half", 8: "authentic"}, silent=())
    assert form.restated_bars(plan) == {4: 0, 5: 1, 6: 0, 7: 1, 8: 0}
    piece = compose(plan, "rule")
    check_plan_honoured(plan, piece)
    assert rhythm(piece, 4) == rhythm(piece, 0) and rhythm(piece, 6) == rhythm(piece, 0)
    assert rhythm(piece, 7) == rhythm(piece, 1)


def test_a_return_over_two_chords_a_bar_gets_a_note_at_a_change_its_held_note_clashes_with() -> None:
    plan = form_plan("I  IV  I", [("A", 1, "A", "theme"), ("B", 1, "B", "contrast"), ("A'", 1, "A", "return")],
                     cadences={}, silent=(), density=0.1)
    plan.bars[0].melody = True
    plan.bars.append(BarPlan([ChordSlot(0, "C:maj")]))  # a last bar for the final chord
    plan.sections[-1].n_bars = 2
    plan.bars[2].chords = [ChordSlot(0, "C:maj"), ChordSlot(1, "D:min"), ChordSlot(2, "G:maj"), ChordSlot(3, "C:maj")]
    plan.duration_sec = plan.bar_start_sec(plan.n_bars)
    plan.validate()
    piece = compose(plan, "rule")
    check_plan_honoured(plan, piece)
    tpb, beat = piece.ticks_per_bar, piece.resolution
    for t, pcs in ((1, {2, 5, 9}), (2, {7, 11, 2}), (3, {0, 4, 7})):  # whatever sounds at each change fits it
        tick = 2 * tpb + t * beat
        sounding = [n for n in piece.track("melody").notes if n.start <= tick < n.end]
        assert all(n.pitch % 12 in pcs for n in sounding), (t, sounding)


# ----- phrases ---------------------------------------------------------------------------------------------------
DEGREES = {"half": {2, 7, 11}, "authentic": {0, 4}}  # C major: 2, 5, 7 and 1, 3


@pytest.mark.parametrize("meter", ["4/4", "3/4", "6/8"])
@pytest.mark.parametrize("seed", range(3))
def test_a_phrase_ends_on_a_long_cadence_note_and_breathes(meter: str, seed: int) -> None:
    chords = "I IV V I  vi IV V I  I V vi V  IV V I I"  # half cadences on V, authentic ones on I
    sections = [("A", 8, "A", "theme"), ("B", 8, "B", "contrast")]
    cadences = {3: "authentic", 7: "authentic", 9: "half", 13: "half"}
    plan = form_plan(chords, sections, cadences, silent=(), meter=meter, density=0.9, seed=seed)
    phrases = form.phrases(plan)
    assert [(p.start_bar, p.n_bars, p.cadence) for p in phrases] == [
        (0, 4, "authentic"), (4, 4, "authentic"), (8, 2, "half"), (10, 4, "half"), (14, 2, None)]
    piece = compose(plan, "rule")
    check_plan_honoured(plan, piece)
    tpb, beat = piece.ticks_per_bar, piece.resolution * 4 // plan.meter_tuple[1]
    for b, cadence in cadences.items():
        last = bar_notes(piece, b)[-1]
        assert last.pitch % 12 in DEGREES[cadence], (b, last)
        assert last.duration >= beat * (3 if meter == "6/8" else 1) * 9 // 10, (b, last)  # a long note ...
        assert last.end < (b + 1) * tpb  # ... then a breath before the next phrase
        assert bar_notes(piece, b + 1)[0].start == (b + 1) * tpb  # which starts on its downbeat


def test_a_half_cadence_in_minor_lands_on_a_tone_of_the_major_dominant() -> None:
    plan = form_plan("i iv V7 V7  i iv V i", [("A", 4, "A", "theme"), ("A'", 4, "A", "return")],
                     {2: "half", 7: "authentic"}, silent=(), key="A minor", density=0.9)
    for seed in range(4):
        plan.seed = seed
        piece = compose(plan, "rule")
        check_plan_honoured(plan, piece)
        assert bar_notes(piece, 2)[-1].pitch % 12 in {11, 4, 8}  # B, E or G#: chord tones of E7 that are 2, 5, 7


def test_a_long_section_without_cadences_still_breathes_every_four_bars() -> None:
    plan = simple_plan(12 * 2.4, tempo_bpm=100, chords="I vi IV V", density=0.9, seed=3)  # one 12-bar phrase
    assert plan.n_bars == 12 and len(form.phrases(plan)) == 1
    piece = compose(plan, "rule")
    tpb = piece.ticks_per_bar
    for b in (3, 7):  # runs of four: a rest before bars 4 and 8, but not inside them
        assert bar_notes(piece, b)[-1].end < (b + 1) * tpb
    for b in (0, 1, 2, 4, 5, 6):
        nxt = bar_notes(piece, b + 1)[0]
        assert bar_notes(piece, b)[-1].end >= nxt.start - 24  # detached a little at most


def test_drums_mark_a_cadence_inside_a_section_with_a_short_fill() -> None:
    plan = form_plan("I IV V I  vi IV V I", [("A", 8, "A", "theme")], {3: "authentic"}, silent=(), density=0.8)
    plan.arousal = 0.5
    piece = compose(plan.validate(), "rule")
    toms = {50, 48, 47, 45}
    tpb = piece.ticks_per_bar
    bar3 = [(n.start % tpb, n.pitch) for n in bar_notes(piece, 3, "drums")]
    assert [t for t, p in bar3 if p in toms] and min(t for t, p in bar3 if p in toms) >= 3 * 480
    assert [t for t, p in bar3 if p == 38] == [480, 1440, 1560]  # the backbeats, then the fill on the last beat
    assert not [n for b in (1, 2, 4, 5) for n in bar_notes(piece, b, "drums") if n.pitch in toms]


def test_a_phrase_that_closes_in_a_short_bar_breathes_and_cadences_inside_it() -> None:
    """The timing's 2/4 bar before a cut closes section A: composed on the 4/4 proxy, the melody still ends on a
    cadence tone and rests before the real bar line, and the drum fill sounds in the bar's own two beats."""
    plan = form_plan("I vi IV V  I IV V I", [("A", 4, "A", "theme"), ("B", 4, "B", "contrast")],
                     {3: "half", 7: "authentic"}, silent=(), density=0.8)
    plan.bars[3].meter = "2/4"
    plan.arousal = 0.5
    plan.duration_sec = plan.bar_start_sec(plan.n_bars)
    plan.validate()
    piece = compose(plan, "rule")  # the gate checks the piece against the plan (its contract)
    lines = [round(t) for t in plan.bar_start_ticks(piece.resolution)]
    melody = [n for n in piece.track("melody").notes if lines[3] <= n.start < lines[4]]
    assert melody and melody[-1].end < lines[4]  # a breath before bar 4
    assert melody[-1].pitch % 12 in {2, 7, 11}  # a tone of V at the half cadence (C major)
    toms = {50, 48, 47, 45}
    assert [n for n in piece.track("drums").notes if lines[3] <= n.start < lines[4] and n.pitch in toms]


# ----- the ending --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, tonic, third", [("C major", 0, 4), ("A minor", 9, 0)])
@pytest.mark.parametrize("arousal", [-0.8, 0.5])
def test_the_last_bar_closes_on_the_tonic_held_to_the_end(key: str, tonic: int, third: int, arousal: float) -> None:
    chords = "I vi IV V  I vi IV V  I" if key == "C major" else "i VI iv V  i VI iv V  i"
    plan = form_plan(chords, [("A", 4, "A", "theme"), ("A'", 5, "A", "return")], {3: "half", 8: "authentic"},
                     silent=(), key=key, density=0.9)
    plan.arousal = arousal
    plan.validate()
    piece = compose(plan, "rule")
    check_plan_honoured(plan, piece)
    end, last_bar = piece.end_tick, 8 * piece.ticks_per_bar
    # the return's last bar restates bar 0 (A' is longer than A): bar 0's rhythm in its first half, the last of
    # those notes the tonic, held to the end
    melody, tpb = bar_notes(piece, 8), piece.ticks_per_bar
    head = [n.start for n in bar_notes(piece, 0) if n.start < tpb // 2]
    assert [n.start - last_bar for n in melody] == head and len(head) >= 2
    assert (melody[-1].end, melody[-1].pitch % 12) == (end, tonic)
    bass = bar_notes(piece, 8, "bass")
    assert [(n.start, n.end, n.pitch % 12) for n in bass] == [(last_bar, end, tonic)]
    harmony = bar_notes(piece, 8, "harmony")
    assert {n.pitch % 12 for n in harmony} == {tonic, third, (tonic + 7) % 12}
    assert all(n.start == last_bar and n.end == end for n in harmony)
    drums = bar_notes(piece, 8, "drums")
    assert {n.start for n in drums} == {last_bar}  # one hit ...
    assert max(n.end for n in drums) == end  # ... let ring


def test_a_return_that_ends_the_piece_closes_as_its_statement_closed() -> None:
    """A' as long as A: its last bar restates A's closing bar (rhythm and line), the last note on the tonic held to
    the end, so the return sounds whole."""
    plan = form_plan("i iv V i  VI iv V i  i", [("A", 3, "A", "theme"), ("B", 3, "B", "contrast"),
                                                 ("A'", 3, "A", "return")], {}, silent=(), key="A minor",
                     density=0.7)
    plan.validate()
    piece = compose(plan, "rule")
    check_plan_honoured(plan, piece)
    tpb, end = piece.ticks_per_bar, piece.end_tick
    closing, last = bar_notes(piece, 2), bar_notes(piece, 8)
    assert [n.start - 2 * tpb for n in closing] == [n.start - 8 * tpb for n in last]
    assert [b.pitch - a.pitch for a, b in zip(closing, closing[1:])][:-1] == \
        [b.pitch - a.pitch for a, b in zip(last, last[1:])][:-1]
    assert (last[-1].end, last[-1].pitch % 12) == (end, 9)


# ----- determinism -----------------------------------------------------------------------------------------------
def test_same_form_plan_same_bytes(tmp_path) -> None:
    def midi(seed: int, name: str) -> bytes:
        write_midi(compose(form_plan(seed=seed, silent=(0, 1, 7)), "rule"), tmp_path / name)
        return (tmp_path / name).read_bytes()

    assert midi(4, "a.mid") == midi(4, "b.mid")
    assert midi(4, "a.mid") != midi(5, "c.mid")
