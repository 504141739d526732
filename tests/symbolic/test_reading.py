"""Reading any piece back into a plan: chords per half bar, key, tempo, meter, roles, sections and themes; and
borrowing from a reference (``--like``). Pieces are made in code: by hand where the answer is worked out, and by
the rule engine from a plan whose form is known."""

from __future__ import annotations

from dataclasses import replace

import pytest

from framescore.symbolic.chord_reading import half_bars, read_chords
from framescore.symbolic.chords import parse_chord, parse_key
from framescore.symbolic.engines import compose
from framescore.symbolic.midi_io import read_midi, write_midi
from framescore.symbolic.piece import MeterChange, Note, Piece, TempoChange, Track
from framescore.symbolic.plan import PlanError
from framescore.symbolic.reading import borrow, melody_track, plan_from_piece, roles_of

Q = 480  # ticks a quarter


def _block(chords: list[tuple[str, list[int]]], beats: int = 2, meter=(4, 4)) -> Piece:
    """One block chord per ``beats`` beats, each given as (name, MIDI pitches low to high)."""
    notes = [Note(i * beats * Q, beats * Q, p, 80) for i, (_, ps) in enumerate(chords) for p in ps]
    return Piece(tracks=[Track("piano", 0, False, sorted(notes))], tempos=[TempoChange(0, 100.0)], meter=meter)


def test_block_chords_are_read_per_half_bar_with_their_qualities_and_bass():
    piece = _block([("C:maj", [48, 60, 64, 67]), ("A:min", [45, 57, 60, 64]), ("F:maj", [41, 60, 65, 69]),
                    ("G:7", [43, 59, 62, 65, 67]), ("C:maj/3", [52, 60, 67, 72]), ("D:min7", [38, 60, 65, 69, 62])])
    got = [c.symbol() for c in read_chords(piece, parse_key("C major"))]
    assert got == ["C:maj", "A:min", "F:maj", "G:7", "C:maj/3", "D:min7"]


def test_a_passing_note_does_not_change_the_chord_and_silence_before_the_music_is_no_chord():
    chord = [Note(4 * Q + i * Q, Q, p, 80) for i in range(4) for p in (48, 64, 67)]  # bar 1: C major, by quarters
    passing = [Note(4 * Q + 3 * Q, Q // 2, 62, 80), Note(4 * Q + 3 * Q + Q // 2, Q // 2, 65, 80)]
    piece = Piece(tracks=[Track("piano", 0, False, sorted(chord + passing))], tempos=[TempoChange(0, 100.0)])
    assert [c.symbol() for c in read_chords(piece)] == ["N", "N", "C:maj", "C:maj"]


def test_half_bars_follow_the_files_own_bar_lines_through_a_meter_change():
    piece = Piece(tracks=[Track("p", 0, False, [Note(0, 7 * Q, 60)])], meter=(4, 4),
                  meter_changes=[MeterChange(4 * Q, 3, 4)], end_tick=7 * Q)
    assert [(b, lo, hi) for b, _, lo, hi in half_bars(piece)] == [(0, 0, 2 * Q), (0, 2 * Q, 4 * Q),
                                                                  (1, 4 * Q, 5 * Q + Q // 2),
                                                                  (1, 5 * Q + Q // 2, 7 * Q)]


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    """A rule-engine piece from a plan whose form (A B A', 8 bars each), key, tempo, meter and instruments are
    known, written to MIDI and read back."""
    from framescore.vision.mapping import Overrides, plan_from_text

    plan = plan_from_text("a happy tune", 48.0, Overrides(tempo_bpm=120.0, key="G major", form="A B A",
                                                          instruments="melody=73,harmony=48,bass=33,drums=0"))
    assert [s.n_bars for s in plan.sections] == [8, 8, 8]
    piece = compose(plan)
    path = tmp_path_factory.mktemp("reading") / "known.mid"
    write_midi(piece, path)
    return plan, read_midi(path), path


def test_a_known_piece_reads_back_its_key_tempo_meter_instruments_and_chords(known):
    plan, piece, path = known
    got = plan_from_piece(piece, str(path))
    assert (got.key, got.meter, got.n_bars) == ("G major", "4/4", 24)
    assert got.tempo_bpm == pytest.approx(120.0, abs=0.01)
    assert got.duration_sec == pytest.approx(piece.duration_sec, abs=1e-3)
    assert got.instrumentation == {"melody": 73, "harmony": 48, "bass": 33, "drums": 0}
    assert got.source["from"] == "midi" and got.source["file"] == "known.mid"
    # the chords the engine was asked for, read back from its notes (root and triad family), in most half bars
    def family(sym):
        c = parse_chord(sym)
        return c.root, "min" if c.is_minor else "maj"

    want = [family(plan.chords_at(b)[-1 if h and len(plan.chords_at(b)) > 1 else 0][1].symbol())
            for b in range(24) for h in (0, 1)]
    read = [family(got.chords_at(b)[-1 if h and len(got.chords_at(b)) > 1 else 0][1].symbol())
            for b in range(24) for h in (0, 1)]
    assert sum(a == b for a, b in zip(want, read)) / len(want) >= 0.8


def test_the_return_is_found_and_the_contrast_is_not(known):
    _, piece, path = known
    got = plan_from_piece(piece, str(path), va=False)
    themes = [(s.start_bar, s.n_bars, s.theme, s.role) for s in got.sections]
    assert themes == [(0, 8, "A", "theme"), (8, 8, "B", "contrast"), (16, 8, "A", "return")], themes
    assert [s.label for s in got.sections] == ["A", "B", "A'"]


def test_the_melody_is_found_without_names_by_register_and_monophony(known):
    _, piece, _ = known
    unnamed = replace(piece, tracks=[replace(t, name=f"Track {i}") for i, t in enumerate(piece.tracks)])
    mel = melody_track(unnamed)
    assert piece.tracks[mel].name == "melody"
    roles = {r.name: r.role for r in roles_of(unnamed)}
    assert sorted(roles.values()) == ["bass", "drums", "harmony", "melody"]


def test_a_plan_read_from_midi_composes_with_every_engine_contract(known):
    _, piece, path = known
    got = plan_from_piece(piece, str(path), va=False)
    again = compose(got)  # the gate checks the piece against the plan it realizes
    assert again.duration_sec == pytest.approx(got.duration_sec, abs=0.01)


def test_no_pitched_notes_is_one_clear_error():
    with pytest.raises(PlanError, match="no pitched notes"):
        plan_from_piece(Piece(tracks=[Track("drums", 0, True, [Note(0, 10, 36)])]), "beat.mid")


def test_borrow_takes_the_references_progression_per_theme_and_its_density_contour(known):
    from framescore.vision.mapping import Overrides, plan_from_text

    _, piece, path = known
    ref = plan_from_piece(piece, str(path), va=False)
    base = plan_from_text("a calm evening", 20.0, Overrides(key="A major", tempo_bpm=120.0, form="A B A"))
    got = borrow(base, ref)
    shift = 2  # G major -> A major
    a, b, a2 = got.sections
    for sec, src in ((a, ref.sections[0]), (b, ref.sections[1]), (a2, ref.sections[0])):
        for j in range(sec.n_bars):
            if sec.start_bar + j == got.n_bars - 1:
                continue  # the last bar closes on the tonic
            want = [parse_chord(c.chord).transpose(shift) for c in ref.bars[src.start_bar + j].chords]
            assert [parse_chord(c.chord) for c in got.bars[sec.start_bar + j].chords] == want
    assert got.bars[-1].chords[0].chord == "A:maj"
    assert got.source["like"]["key"] == "G major"


def test_like_on_text_takes_key_tempo_meter_and_instruments_and_the_flags_win(known):
    from framescore.vision.mapping import Overrides, plan_from_text

    _, _, path = known
    got = plan_from_text("a calm evening", 20.0, Overrides(like=str(path)))
    assert (got.key, got.meter, round(got.tempo_bpm)) == ("G major", "4/4", 120)
    assert got.instrumentation == {"melody": 73, "harmony": 48, "bass": 33, "drums": 0}
    flags = plan_from_text("a calm evening", 20.0, Overrides(like=str(path), key="E major", tempo_bpm=90.0,
                                                             instruments="melody=40"))
    assert (flags.key, round(flags.tempo_bpm)) == ("E major", 90)
    assert flags.instrumentation["melody"] == 40 and flags.instrumentation["bass"] == 33
