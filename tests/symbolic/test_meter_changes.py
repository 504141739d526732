"""Meter changes written and read back: MIDI time signatures (read by pretty_midi and symusic as a DAW reads them),
MusicXML measures in each bar's own meter (read back with music21), and the piano roll's bar lines.

The plan: 13 bars of 4/4 at 100 bpm, bar 2 in 2/4 and bar 5 in 3/4, and a second section from bar 6 at 92 bpm
reached over its first bar (a ritardando, beat by beat). Bar lines in ticks (480 a quarter): 0, 1920, 3840
(2/4), 4800, 6720, 8640 (3/4), 10080, 12000, ... At 100 bpm a quarter is 0.6 s, so the changes fall at 4.8 s
(tick 3840 = 8 quarters), 6.0 s (10), 10.8 s (18) and 12.6 s (21).
"""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from framescore.symbolic.midi_io import from_symusic, read_midi, to_symusic, write_midi
from framescore.symbolic.musicxml import write_musicxml
from framescore.symbolic.piece import MeterChange, Note, Piece, TempoChange, Track, piece_from_plan_grid
from framescore.symbolic.plan import ChordSlot, MusicPlan, Section, simple_plan
from framescore.symbolic.plot import write_pianoroll

Q = 480
LINES = [0, 1920, 3840, 4800, 6720, 8640, 10080, 12000, 13920, 15840, 17760, 19680, 21600, 23520]
CHANGES = [MeterChange(3840, 2, 4), MeterChange(4800, 4, 4), MeterChange(8640, 3, 4), MeterChange(10080, 4, 4)]


def meter_plan() -> MusicPlan:
    plan = simple_plan(30.0, tempo_bpm=100)
    assert plan.n_bars == 13
    plan.bars[2].meter = "2/4"
    plan.bars[2].chords = [ChordSlot(0, "C"), ChordSlot(1, "G")]
    plan.bars[5].meter = "3/4"
    plan.bars[5].chords = [ChordSlot(0, "F")]
    plan.sections[0].n_bars = 6
    plan.sections.append(Section("B", 6, 7, tempo_bpm=92.0, theme="B", role="contrast", ramp=True))
    return plan.validate()


def meter_piece() -> Piece:
    """The plan's grid with a melody: a half note from every bar line and, in bars of three beats or more, an
    eighth before the next bar line."""
    piece = piece_from_plan_grid(meter_plan())
    starts = piece.bar_starts()
    notes = [Note(t, 2 * Q, 60 + i, 90) for i, t in enumerate(starts[:-1])]
    notes += [Note(b - Q // 2, Q // 2, 72, 70) for a, b in zip(starts, starts[1:-1]) if b - a >= 3 * Q]
    piece.tracks.append(Track("melody", 73, notes=sorted(notes)))
    return piece


def test_the_grid_carries_the_plans_meters_and_ramp():
    piece = meter_piece()
    assert piece.meter == (4, 4) and piece.meter_changes == CHANGES
    assert piece.bar_starts() == LINES
    assert [t.tick for t in piece.tempos] == [0, 10080, 10560, 11040, 11520]  # the ramp's four beats
    assert piece.tempos[-1].bpm == 92.0


# ----- MIDI -----------------------------------------------------------------------------------------------------
def time_signatures(path: Path) -> list[tuple[int, int, int]]:
    return [(t, m.numerator, m.denominator) for t, m in _metas(path) if m.type == "time_signature"]


def _metas(path: Path):
    out = []
    for track in mido.MidiFile(str(path)).tracks:
        tick = 0
        for m in track:
            tick += m.time
            if m.is_meta:
                out.append((tick, m))
    return out


def test_a_time_signature_at_zero_and_at_every_change(tmp_path):
    write_midi(meter_piece(), tmp_path / "m.mid")
    assert time_signatures(tmp_path / "m.mid") == [(0, 4, 4), (3840, 2, 4), (4800, 4, 4), (8640, 3, 4),
                                                   (10080, 4, 4)]


def test_round_trip_keeps_meters_tempo_ramp_and_notes(tmp_path):
    piece = meter_piece()
    write_midi(piece, tmp_path / "a.mid")
    back = read_midi(tmp_path / "a.mid")
    assert back.meter == (4, 4) and back.meter_changes == CHANGES
    assert back.bar_starts(piece.end_tick) == LINES
    assert [t.tick for t in back.tempos] == [t.tick for t in piece.tempos]
    for got, want in zip(back.tempos, piece.tempos):  # a set_tempo holds whole microseconds a quarter
        assert got.bpm == pytest.approx(60e6 / round(60e6 / want.bpm), abs=1e-9)
    assert back.tracks[0].notes == piece.tracks[0].notes
    write_midi(back, tmp_path / "b.mid")  # and the file read is written back as it was
    assert (tmp_path / "b.mid").read_bytes() == (tmp_path / "a.mid").read_bytes()


def test_pretty_midi_and_symusic_see_the_same_time_signatures(tmp_path):
    import pretty_midi
    import symusic

    piece = meter_piece()
    write_midi(piece, tmp_path / "m.mid")
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "m.mid"))
    assert [(ts.numerator, ts.denominator) for ts in pm.time_signature_changes] == [(4, 4), (2, 4), (4, 4), (3, 4),
                                                                                   (4, 4)]
    assert [ts.time for ts in pm.time_signature_changes] == pytest.approx([0.0, 4.8, 6.0, 10.8, 12.6])
    score = symusic.Score(str(tmp_path / "m.mid"))
    assert [(int(t.time), t.numerator, t.denominator) for t in score.time_signatures] == time_signatures(
        tmp_path / "m.mid")


def test_symusic_path_writes_and_reads_the_same(tmp_path):
    import symusic

    piece = meter_piece()
    write_midi(piece, tmp_path / "mido.mid")
    to_symusic(piece).dump_midi(str(tmp_path / "sym.mid"))
    assert (tmp_path / "sym.mid").read_bytes() == (tmp_path / "mido.mid").read_bytes()
    back = from_symusic(symusic.Score(str(tmp_path / "sym.mid")))
    assert back.meter == (4, 4) and back.meter_changes == CHANGES


def test_one_meter_writes_one_time_signature(tmp_path):
    piece = Piece([Track("melody", notes=[Note(0, 8 * Q, 60)])], meter=(3, 4),
                  meter_changes=[MeterChange(1440, 3, 4)])  # a "change" to the meter in force is no change
    write_midi(piece, tmp_path / "u.mid")
    assert time_signatures(tmp_path / "u.mid") == [(0, 3, 4)]
    assert read_midi(tmp_path / "u.mid").meter_changes == []


def save(path: Path, *tracks: list, tpq: int = Q) -> None:
    f = mido.MidiFile(type=1, ticks_per_beat=tpq)
    for events in tracks:
        f.tracks.append(mido.MidiTrack(events))
    f.save(str(path))


def ts(num: int, den: int, time: int = 0) -> mido.MetaMessage:
    return mido.MetaMessage("time_signature", numerator=num, denominator=den, time=time)


def notes(n: int, tpq: int) -> list:
    out = []
    for _ in range(n):
        out += [mido.Message("note_on", note=60, velocity=80, time=0),
                mido.Message("note_off", note=60, velocity=0, time=tpq)]
    return out


def test_reading_drops_repeats_keeps_the_first_at_a_tick_and_rescales(tmp_path):
    # 96 ticks a quarter: 6/8 at 0, repeated in the second track and again at 288 (a bar later); 2/4 at 576
    conductor = [ts(6, 8), ts(6, 8, 288), ts(2, 4, 288)]
    player = [ts(6, 8), ts(3, 4)] + notes(10, 96)  # a second one at tick 0: the first read counts
    save(tmp_path / "r.mid", conductor, player, tpq=96)
    back = read_midi(tmp_path / "r.mid")
    assert back.meter == (6, 8)
    assert back.meter_changes == [MeterChange(576 * 5, 2, 4)]  # 96 → 480 ticks a quarter
    assert back.bar_starts(10 * Q) == [0, 1440, 2880, 3840, 4800]


def test_a_file_without_time_signature_is_in_four_four(tmp_path):
    save(tmp_path / "n.mid", notes(4, Q))
    back = read_midi(tmp_path / "n.mid")
    assert back.meter == (4, 4) and back.meter_changes == []


# ----- MusicXML ---------------------------------------------------------------------------------------------------
def played(m) -> list:
    """A measure's notes and rests (without the chord symbols, which music21 counts among its notes)."""
    from music21 import harmony

    return [n for n in m.notesAndRests if not isinstance(n, harmony.Harmony)]


def measures(path: Path):
    from music21 import converter

    score = converter.parse(str(path))
    return score, [p.getElementsByClass("Measure") for p in score.parts]


def test_musicxml_measures_follow_each_bars_meter(tmp_path):
    from music21 import note

    piece = meter_piece()
    write_musicxml(piece, tmp_path / "m.musicxml")
    score, parts = measures(tmp_path / "m.musicxml")
    (ms,) = parts
    assert len(ms) == 13
    assert [(m.number, m.timeSignature.ratioString) for m in ms if m.timeSignature is not None] == [
        (1, "4/4"), (3, "2/4"), (4, "4/4"), (6, "3/4"), (7, "4/4")]
    want = [4, 4, 2, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4]
    assert [float(m.duration.quarterLength) for m in ms] == want
    for m, length in zip(ms, want):  # notes and rests fill each measure, in its own meter
        assert not m.hasVoices()
        assert sum(float(n.quarterLength) for n in played(m)) == length, m.number
    # every note struck where the piece strikes it (in quarters from the start)
    struck = sorted((float(n.getOffsetInHierarchy(score.parts[0])), n.pitch.midi)
                    for n in score.parts[0].recurse().getElementsByClass(note.Note))
    assert struck == sorted((n.start / Q, n.pitch) for n in piece.tracks[0].notes)
    assert [n.quarterLength for n in played(ms[2])] == [2.0]  # the 2/4 bar: its half note, no rest
    assert [(n.isRest, n.quarterLength) for n in played(ms[5])] == [(False, 2.0), (True, 0.5),
                                                                         (False, 0.5)]  # 3/4: half, rest, eighth


def test_a_note_over_a_meter_change_is_tied_into_the_new_bar(tmp_path):
    # 4/4 then 3/4 at tick 1920: a half note from beat 4 is a quarter in each bar, tied; rests fill the 3/4
    # bar's last two beats
    piece = Piece([Track("melody", 73, notes=[Note(0, 3 * Q, 60), Note(3 * Q, 2 * Q, 62)])], meter=(4, 4),
                  meter_changes=[MeterChange(4 * Q, 3, 4)], end_tick=7 * Q)
    write_musicxml(piece, tmp_path / "t.musicxml")
    _, (ms,) = measures(tmp_path / "t.musicxml")
    assert [m.timeSignature.ratioString for m in ms if m.timeSignature is not None] == ["4/4", "3/4"]
    first, second = played(ms[0]), played(ms[1])
    assert [(n.pitch.midi, n.quarterLength) for n in first] == [(60, 3.0), (62, 1.0)]
    assert first[1].tie.type == "start"
    assert second[0].pitch.midi == 62 and second[0].quarterLength == 1.0 and second[0].tie.type == "stop"
    assert sum(float(n.quarterLength) for n in second) == 3.0 and all(n.isRest for n in second[1:])


def test_musicxml_of_a_composed_meter_plan_reads_back_in_every_part(tmp_path):
    from framescore.symbolic.engines import compose

    piece = compose(meter_plan(), "rule")
    write_musicxml(piece, tmp_path / "r.musicxml")
    _, parts = measures(tmp_path / "r.musicxml")
    for ms in parts:
        assert [m.timeSignature.ratioString for m in ms if m.timeSignature is not None] == [
            "4/4", "2/4", "4/4", "3/4", "4/4"]
        assert [float(m.duration.quarterLength) for m in ms[:7]] == [4, 4, 2, 4, 4, 3, 4]


def test_musicxml_of_one_meter_has_one_time_element(tmp_path):
    piece = Piece([Track("melody", notes=[Note(i * Q, Q, 60 + i) for i in range(12)])], meter=(3, 4))
    write_musicxml(piece, tmp_path / "u.musicxml")
    data = (tmp_path / "u.musicxml").read_bytes()
    assert data.count(b"<time>") == 1 and data.count(b"<measure ") == 4


def test_a_change_into_six_eight_beats_from_its_bar(tmp_path):
    """A 6/8 bar after a 2/4 one: its dotted-quarter beats count from its own bar line, so a dotted quarter on
    its second beat (2.5 quarters from the start, 1.5 into the bar) is one note head, not split at a beat."""
    piece = Piece([Track("melody", 73, notes=[Note(0, 2 * Q, 60), Note(2 * Q, 3 * Q // 2, 62),
                                              Note(7 * Q // 2, 3 * Q // 2, 64)])],
                  meter=(2, 4), meter_changes=[MeterChange(2 * Q, 6, 8)], end_tick=5 * Q)
    write_musicxml(piece, tmp_path / "c.musicxml")
    _, (ms,) = measures(tmp_path / "c.musicxml")
    assert [m.timeSignature.ratioString for m in ms if m.timeSignature is not None] == ["2/4", "6/8"]
    assert [(n.pitch.midi, float(n.quarterLength), n.tie) for n in played(ms[1])] == [(62, 1.5, None),
                                                                                    (64, 1.5, None)]


# ----- piano roll -------------------------------------------------------------------------------------------------
def test_piano_roll_draws_a_meter_plan(tmp_path):
    from PIL import Image

    from framescore.symbolic.engines import compose

    piece = compose(meter_plan(), "rule")
    write_pianoroll(piece, tmp_path / "a.png", title="meters")
    write_pianoroll(piece, tmp_path / "b.png", title="meters")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    with Image.open(tmp_path / "a.png") as im:
        assert im.size == (1200, 500)


def test_piano_roll_bar_lines_follow_the_meter(monkeypatch, tmp_path):
    """The bar lines drawn are the piece's bar lines (x counts bars of the first meter, bar 1 at x = 1)."""
    from matplotlib.axes import Axes

    drawn: list[list[float]] = []
    original = Axes.vlines

    def spy(self, x, *args, **kw):
        drawn.append([float(v) for v in x])
        return original(self, x, *args, **kw)

    monkeypatch.setattr(Axes, "vlines", spy)
    piece = meter_piece()
    piece.markers = []  # no sections or chords: only bar lines
    write_pianoroll(piece, tmp_path / "l.png")
    assert drawn[0] == [t / 1920 + 1 for t in LINES]


# ----- MusicXML: a ramp is a word and the tempo reached ------------------------------------------------------------
def tempo_marks(path: Path) -> tuple[list[str], list[str], list[str]]:
    """(printed tempo numbers, playback tempos, words) in the order the file has them."""
    import re

    data = path.read_text()
    return (re.findall(r"<per-minute>([^<]*)</per-minute>", data), re.findall(r'<sound tempo="([^"]*)"', data),
            re.findall(r"<words[^>]*>([^<]+)</words>", data))


def test_a_ritardando_is_written_rit_and_the_tempo_it_reaches(tmp_path):
    from music21 import converter, expressions, tempo

    write_musicxml(meter_piece(), tmp_path / "r.musicxml")
    printed, sounding, words = tempo_marks(tmp_path / "r.musicxml")
    assert printed == ["100", "92"]  # not a mark every beat of the ramp
    assert sounding == ["100", "97.94", "95.92", "93.94", "92"]  # 100 * 0.92 ** (k / 4), k = 1..4: exact playback
    assert words == ["rit."]
    score = converter.parse(str(tmp_path / "r.musicxml"))
    (rit,) = [e for e in score.recurse().getElementsByClass(expressions.TextExpression) if e.content == "rit."]
    assert rit.getOffsetInHierarchy(score.parts[0]) == 10080 / Q  # the ramp's bar line (bar 7)
    quarter_bpm = [round(m.getQuarterBPM(), 2) for m in score.recurse().getElementsByClass(tempo.MetronomeMark)]
    assert quarter_bpm == [100.0, 97.94, 95.92, 93.94, 92.0]


def test_an_accelerando_and_changes_that_are_no_ramp(tmp_path):
    melody = Track("melody", 73, notes=[Note(i * Q, Q, 60 + i % 5) for i in range(16)])
    accel = [TempoChange(0, 90.0), TempoChange(4 * Q, 92.0), TempoChange(5 * Q, 94.0), TempoChange(6 * Q, 96.0)]
    write_musicxml(Piece([melody], tempos=accel), tmp_path / "a.musicxml")
    assert tempo_marks(tmp_path / "a.musicxml") == (["90", "96"], ["90", "92", "94", "96"], ["accel."])
    # up then down a beat apart, and two steps two beats apart: plain tempo marks, each printed
    jumps = [TempoChange(0, 90.0), TempoChange(4 * Q, 100.0), TempoChange(5 * Q, 95.0), TempoChange(8 * Q, 96.0),
             TempoChange(10 * Q, 97.0)]
    write_musicxml(Piece([melody], tempos=jumps), tmp_path / "j.musicxml")
    assert tempo_marks(tmp_path / "j.musicxml") == (["90", "100", "95", "96", "97"],
                                                    ["90", "100", "95", "96", "97"], [])
