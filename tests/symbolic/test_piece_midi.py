"""Piece -> MIDI -> Piece (symbolic/midi_io.py), over many pieces: what write_midi says a file holds reads back.

The writer's promise (its module docstring): one named track per part with its General MIDI program (drums on
channel 10), its control changes, pitch bends and program changes; the tempo map; the meter and its changes;
the key signature; markers for chords and sections ("Section: A"). The reader's: ticks at TICKS_PER_QUARTER
(other resolutions rescaled, rounding half up, starts and lengths apart), a track per MIDI track and channel
with notes, the program the first note sounds with, the meter at each change tick. What MIDI itself cannot say
is left out of the pieces drawn here and said where: a note of one pitch that starts and ends inside another of
that pitch on its channel (note-offs pair first in, first out), a track without notes, a name with blanks around
it, an empty marker.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import mido
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framescore.symbolic.chords import ChordError, parse_chord, parse_key
from framescore.symbolic.midi_io import SECTION_PREFIX, midi_channels, read_midi, write_midi
from framescore.symbolic.piece import (TICKS_PER_QUARTER, ControlChange, Marker, MeterChange, Note, Piece,
                                       PitchBend, ProgramChange, TempoChange, Track)

Q = TICKS_PER_QUARTER
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

TONICS = ["C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B"]
CHORD_TEXTS = ["C:maj", "A:min/b3", "Bb:maj7", "Am", "F#m7", "G7", "Csus4", "D/F#", "N", "Eb:hdim7", "E:7/b7"]


# ----- strategies ----------------------------------------------------------------------------------------------
def fifo_safe(notes: list[Note]) -> list[Note]:
    """Drop any note that starts and ends inside another of its pitch (MIDI pairs note-offs first in, first out,
    so such a note reads back with the other's end): of each pitch, in order, the ends may not go down."""
    out, last_end = [], {}
    for n in sorted(notes):
        if n.end >= last_end.get(n.pitch, 0):
            out.append(n)
            last_end[n.pitch] = n.end
    return out


def is_chord(text: str) -> bool:
    try:
        parse_chord(text)
        return True
    except ChordError:
        return False


blank_free = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10).filter(
    lambda s: s == s.strip())  # names read back stripped
notes = st.builds(Note, st.integers(0, 16 * Q), st.integers(1, 4 * Q), st.integers(0, 127), st.integers(1, 127))
controls = st.builds(ControlChange, st.integers(0, 16 * Q), st.integers(0, 127), st.integers(0, 127))
bends = st.builds(PitchBend, st.integers(0, 16 * Q), st.integers(-8192, 8191))
program_changes = st.builds(ProgramChange, st.integers(0, 16 * Q), st.integers(0, 127))


@st.composite
def tracks(draw, drum: bool) -> Track:
    name = draw(st.one_of(st.sampled_from(["melody", "harmony", "bass", "drums", "pad 2", "Klavier rechts"]),
                          blank_free))
    return Track(name, draw(st.integers(0, 127)), drum, fifo_safe(draw(st.lists(notes, min_size=1, max_size=12))),
                 draw(st.lists(controls, max_size=5)), draw(st.lists(bends, max_size=4)),
                 draw(st.lists(program_changes, max_size=3)))


@st.composite
def markers(draw) -> Marker:
    tick = draw(st.integers(0, 16 * Q))
    kind = draw(st.sampled_from(["chord", "section", "marker"]))
    if kind == "chord":
        return Marker(tick, draw(st.sampled_from(CHORD_TEXTS)), "chord")
    if kind == "section":
        return Marker(tick, draw(st.one_of(st.sampled_from(["A", "B", "Chorus"]), st.text(max_size=8))), "section")
    text = draw(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
        lambda s: not s.startswith(SECTION_PREFIX) and not is_chord(s)))
    return Marker(tick, text, "marker")


@st.composite
def pieces(draw) -> Piece:
    parts = [draw(tracks(drum=False)) for _ in range(draw(st.integers(1, 4)))]
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), draw(tracks(drum=True)))
    ticks = sorted(draw(st.sets(st.integers(0, 16 * Q), min_size=1, max_size=5)))
    tempo_map = [TempoChange(t, draw(st.one_of(st.floats(10.0, 400.0), st.integers(20, 300)))) for t in ticks]
    meter = (draw(st.integers(1, 16)), draw(st.sampled_from([1, 2, 4, 8, 16, 32])))
    changes = draw(st.lists(st.builds(MeterChange, st.integers(0, 16 * Q), st.integers(1, 16),
                                      st.sampled_from([1, 2, 4, 8, 16, 32])), max_size=4))
    key = draw(st.one_of(st.none(), st.builds(lambda t, m, form: form.format(t=t, m=m), st.sampled_from(TONICS),
                                              st.sampled_from(["major", "minor"]),
                                              st.sampled_from(["{t} {m}", "{t}:{m}"]))))
    if key is not None:
        key = key.replace(":major", ":maj").replace(":minor", ":min")
    return Piece(tracks=parts, tempos=tempo_map, meter=meter, meter_changes=changes, key=key,
                 markers=draw(st.lists(markers(), max_size=6)))


# ----- what a piece should read back as ------------------------------------------------------------------------
def expected_track(t: Track) -> Track:
    """The track as read: notes sorted; controls, bends, program changes in time (kept in order within a tick);
    program changes up to the first note folded into the starting program (they are all that note hears)."""
    first = min(n.start for n in t.notes)
    changes = sorted(t.programs, key=lambda p: p.tick)
    heard = [p.program for p in changes if p.tick <= first]
    return Track(t.name, heard[-1] if heard else t.program, t.is_drum, sorted(t.notes),
                 sorted(t.controls, key=lambda c: c.tick), sorted(t.pitch_bends, key=lambda b: b.tick),
                 [p for p in changes if p.tick > first])


def expected_meters(piece: Piece) -> tuple[tuple[int, int], list[MeterChange]]:
    """The meter at tick 0 and the changes as read: at each change tick the meter the piece is in there (the
    last given at a tick), where it differs from the meter before."""
    meter = piece.meter_at(0)
    out, current = [], meter
    for tick in sorted({c.tick for c in piece.meter_changes if c.tick > 0}):
        if piece.meter_at(tick) != current:
            current = piece.meter_at(tick)
            out.append(MeterChange(tick, *current))
    return meter, out


def quarter_us(bpm: float) -> float:
    return 60e6 / bpm


def assert_same_tempo_map(back: Piece, piece: Piece) -> None:
    want = {t.tick: t.bpm for t in piece.tempos}  # one tempo a tick: the last given (as the piece reads it)
    assert [t.tick for t in back.tempos] == sorted(want)
    for t in back.tempos:  # a set_tempo holds whole microseconds per quarter note
        assert abs(quarter_us(t.bpm) - quarter_us(want[t.tick])) <= 0.5 + 1e-6, (t, want[t.tick])


def write_read(piece: Piece, path: Path, **kw) -> Piece:
    write_midi(piece, path, **kw)
    return read_midi(path)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """One folder for the module's files (a folder a test case costs more than the case)."""
    return tmp_path_factory.mktemp("midi")


# ----- the round trip ------------------------------------------------------------------------------------------
@SETTINGS
@given(pieces())
def test_a_piece_reads_back_as_written(scratch, piece):
    path = scratch / "a.mid"
    back = write_read(piece, path)
    assert back.tracks == [expected_track(t) for t in piece.tracks]
    assert [t.is_drum for t in back.tracks] == [t.is_drum for t in piece.tracks]
    assert_same_tempo_map(back, piece)
    meter, changes = expected_meters(piece)
    assert back.meter == meter and back.meter_changes == changes
    if piece.key is None:
        assert back.key is None
    else:
        assert parse_key(back.key) == parse_key(piece.key) and back.key == parse_key(piece.key).name
    assert back.markers == sorted(piece.markers, key=lambda m: m.tick)
    assert back.resolution == Q and back.plan is None
    # the file ends with its last event: a note's end, a controller, or the last tempo, meter change or marker
    assert back.end_tick == max([t.end for t in piece.tracks] + [t.tick for t in piece.tempos] +
                                [m.tick for m in piece.markers] + [c.tick for c in changes])
    # the same times in seconds, to the microsecond per quarter note the file keeps
    ticks = sorted({n.start for t in piece.tracks for n in t.notes} | {back.end_tick})
    for tick, a, b in zip(ticks, piece.ticks_to_secs(ticks), back.ticks_to_secs(ticks)):
        assert abs(a - b) <= 1e-6 * (tick / Q + 1), tick
    # channels: drums on 10 (9 from 0), the others never there
    mf = mido.MidiFile(str(path))
    used = [{m.channel for m in tr if not m.is_meta} for tr in mf.tracks]
    assert used == [{ch} for ch in midi_channels(piece.tracks)]
    assert all((ch == 9) == t.is_drum for t, ch in zip(piece.tracks, midi_channels(piece.tracks)))


@settings(SETTINGS, max_examples=15)
@given(pieces())
def test_a_read_piece_is_a_fixed_point(scratch, piece):
    """Written, read, written again: the same bytes from then on (and from the start when nothing had to be
    folded: no program change before a track's first note, one tempo a tick)."""
    d = scratch
    write_midi(piece, d / "a.mid")
    once = read_midi(d / "a.mid")
    write_midi(once, d / "b.mid")
    twice = read_midi(d / "b.mid")
    write_midi(twice, d / "c.mid")
    assert twice == once
    assert (d / "b.mid").read_bytes() == (d / "c.mid").read_bytes()
    folded = any(p.tick <= min(n.start for n in t.notes) for t in piece.tracks for p in t.programs)
    if not folded:
        assert (d / "a.mid").read_bytes() == (d / "b.mid").read_bytes()
    write_midi(piece, d / "again.mid")  # same piece, same bytes
    assert (d / "again.mid").read_bytes() == (d / "a.mid").read_bytes()


def round_half_up(x: Fraction) -> int:
    return int((2 * x.numerator + x.denominator) // (2 * x.denominator))


@SETTINGS
@given(st.sampled_from([24, 96, 100, 192, 240, 384, 960, 1000, 1920, 7]),
       st.lists(st.builds(Note, st.integers(0, 8 * 960), st.integers(1, 2 * 960), st.integers(0, 127),
                          st.integers(1, 127)), min_size=1, max_size=20),
       st.sets(st.integers(0, 8 * 960), max_size=4), st.lists(st.integers(0, 8 * 960), max_size=4))
def test_other_resolutions_rescale_half_up_starts_and_lengths_apart(scratch, res, raw, tempo_ticks, marks):
    piece = Piece([Track("piano", 4, False, fifo_safe(raw))], [TempoChange(t, 100.0 + t % 7) for t in tempo_ticks],
                  meter=(6, 8), key="A minor", markers=[Marker(t, f"cue {i}") for i, t in enumerate(marks)],
                  resolution=res)
    back = write_read(piece, scratch / "res.mid")
    ratio = Fraction(Q, res)
    scale = lambda t: round_half_up(t * ratio)  # noqa: E731
    want = sorted(Note(scale(n.start), max(1, scale(n.duration)), n.pitch, n.velocity)
                  for n in piece.tracks[0].notes)
    assert back.tracks[0].notes == want
    assert back.resolution == Q and back.meter == (6, 8) and back.key == "A minor"
    tempo_want = {scale(t.tick): t.bpm for t in piece.tempos}
    assert [t.tick for t in back.tempos] == sorted(tempo_want)
    assert all(abs(quarter_us(t.bpm) - quarter_us(tempo_want[t.tick])) <= 0.5 + 1e-6 for t in back.tempos)
    assert back.markers == [Marker(scale(m.tick), m.text) for m in sorted(piece.markers, key=lambda m: m.tick)]


# ----- by example: keys, meters, tempo maps --------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["major", "minor"])
@pytest.mark.parametrize("tonic", range(12))
def test_every_key_signature_reads_back(scratch, tonic, mode):
    from framescore.symbolic.chords import Key

    key = Key(tonic, mode)
    for written in (key.name, f"{key.name.split()[0]}:{mode[:3]}", key.name.split()[0] + ("m" if mode == "minor"
                                                                                          else "")):
        back = write_read(Piece([Track("p", 0, False, [Note(0, Q, 60)])], key=written), scratch / "k.mid")
        assert back.key == key.name
    mf = mido.MidiFile(str(scratch / "k.mid"))
    sig = next(m for m in mf.tracks[0] if m.type == "key_signature")
    sf, mi = sig.bytes()[-2:]
    assert (sf - 256 if sf > 127 else sf, mi) == (key.fifths, int(mode == "minor"))


@pytest.mark.parametrize("meter", [(2, 4), (3, 4), (4, 4), (5, 4), (6, 8), (7, 8), (12, 8), (2, 2), (3, 16), (1, 1),
                                   (15, 32), (9, 8)])
def test_every_meter_reads_back(scratch, meter):
    piece = Piece([Track("p", 0, False, [Note(0, Q, 60)])], meter=meter)
    back = write_read(piece, scratch / "m.mid")
    assert back.meter == meter and back.ticks_per_bar == piece.ticks_per_bar


@pytest.mark.parametrize("bpm", [3.6, 20.0, 59.999, 60.0, 97.3, 120.0, 133.33, 180.0, 300.0, 999.0, 60e6 / 7])
def test_tempos_keep_whole_microseconds(scratch, bpm):
    piece = Piece([Track("p", 0, False, [Note(0, 4 * Q, 60)])], [TempoChange(0, 120.0), TempoChange(Q, bpm),
                                                                 TempoChange(2 * Q, 120.0)])
    back = write_read(piece, scratch / "t.mid")
    us = int(60e6 / bpm + 0.5)
    assert [t.tick for t in back.tempos] == [0, Q, 2 * Q]
    assert back.tempos[1].bpm == pytest.approx(60e6 / us, rel=1e-12)
    assert abs(us - 60e6 / bpm) <= 0.5


def test_a_tempo_map_not_starting_at_zero_starts_with_its_first_tempo(tmp_path):
    piece = Piece([Track("p", 0, False, [Note(0, 8 * Q, 60)])], [TempoChange(2 * Q, 90.0), TempoChange(Q, 75.0)])
    assert [(t.tick, t.bpm) for t in piece.tempos] == [(0, 75.0), (Q, 75.0), (2 * Q, 90.0)]
    back = write_read(piece, tmp_path / "t.mid")
    assert [(t.tick, round(t.bpm, 3)) for t in back.tempos] == [(0, 75.0), (Q, 75.0), (2 * Q, 90.0)]
    assert back.duration_sec == pytest.approx(piece.duration_sec, abs=8 * 0.5e-6)  # 8 quarters, 0.5 us each


def test_two_tempos_at_one_tick_read_as_the_piece_plays_them(tmp_path):
    """The piece's clock takes the last tempo given at a tick; so does the reader."""
    piece = Piece([Track("p", 0, False, [Note(0, 4 * Q, 60)])],
                  [TempoChange(0, 120.0), TempoChange(Q, 60.0), TempoChange(Q, 90.0)])
    back = write_read(piece, tmp_path / "t.mid")
    assert [(t.tick, round(t.bpm, 3)) for t in back.tempos] == [(0, 120.0), (Q, 90.0)]
    assert back.tick_to_sec(4 * Q) == pytest.approx(piece.tick_to_sec(4 * Q))


def test_many_tracks_wrap_around_the_channels_and_read_back_in_order(tmp_path):
    parts = [Track(f"part {i}", i % 128, i == 11, [Note(i * 10, Q, 40 + i, 1 + i)]) for i in range(20)]
    back = write_read(Piece(parts), tmp_path / "many.mid")
    assert back.tracks == [expected_track(t) for t in parts]
    assert midi_channels(parts)[11] == 9 and 9 not in midi_channels(parts)[:11] + midi_channels(parts)[12:]


def test_a_chosen_subset_of_tracks_is_written_with_the_whole_tempo_map(tmp_path):
    parts = [Track("a", 1, False, [Note(0, Q, 60)]), Track("b", 2, True, [Note(Q, Q, 36)]),
             Track("c", 3, False, [Note(2 * Q, Q, 64)])]
    piece = Piece(parts, [TempoChange(0, 80.0), TempoChange(Q, 100.0)], meter=(3, 4), key="E major",
                  markers=[Marker(0, "A", "section"), Marker(Q, "E:maj", "chord")])
    back = write_read(piece, tmp_path / "sub.mid", tracks=parts[1:])
    assert back.tracks == [expected_track(t) for t in parts[1:]]
    assert (back.meter, back.key, back.markers) == ((3, 4), "E major", piece.markers)
    assert_same_tempo_map(back, piece)


def test_text_of_every_kind_survives(tmp_path):
    names = ["Mélodie", "ベース", "drums ☺", "a\tb", "x" * 200]
    parts = [Track(n, 0, False, [Note(i, Q, 60 + i)]) for i, n in enumerate(names)]
    marks = [Marker(0, "Übergang", "section"), Marker(0, "", "section"), Marker(1, "C#:min7", "chord"),
             Marker(2, "Bbmaj7", "chord"), Marker(3, "— hit —"), Marker(4, "Section:A")]
    back = write_read(Piece(parts, markers=marks), tmp_path / "text.mid")
    assert [t.name for t in back.tracks] == names
    assert back.markers == marks


def test_what_midi_cannot_hold_is_changed_the_documented_way(tmp_path):
    """A note inside another of its pitch pairs first in, first out; a track without notes is not a track; blank
    names lose their blanks (or take track<n>); a marker's kind is read from its text; empty markers go."""
    parts = [Track("  lead  ", 0, False, [Note(0, 4 * Q, 60), Note(Q, Q, 60)]), Track("silent", 5, False, [],
                                                                                      [ControlChange(0, 7, 100)]),
             Track("   ", 0, False, [Note(0, Q, 50)])]
    marks = [Marker(0, "Am", "marker"), Marker(0, "not a chord", "chord"), Marker(Q, "", "marker"),
             Marker(Q, "Section: B", "marker")]
    back = write_read(Piece(parts, markers=marks), tmp_path / "lossy.mid")
    assert [t.name for t in back.tracks] == ["lead", "track2"]
    assert back.tracks[0].notes == [Note(0, 2 * Q, 60), Note(Q, 3 * Q, 60)]  # the first note-off ends the first note
    assert back.markers == [Marker(0, "Am", "chord"), Marker(0, "not a chord", "marker"), Marker(Q, "B", "section")]


def test_a_note_of_no_length_is_written_one_tick_long(tmp_path):
    back = write_read(Piece([Track("p", 0, False, [Note(0, 0, 60), Note(Q, 5, 61)])]), tmp_path / "z.mid")
    assert back.tracks[0].notes == [Note(0, 1, 60), Note(Q, 5, 61)]


def test_written_file_is_type_1_at_the_piece_resolution(tmp_path):
    piece = Piece([Track("p", 0, False, [Note(0, Q, 60)])], resolution=960)
    write_midi(piece, tmp_path / "r.mid")
    mf = mido.MidiFile(str(tmp_path / "r.mid"))
    assert (mf.type, mf.ticks_per_beat, len(mf.tracks)) == (1, 960, 1)
    assert read_midi(tmp_path / "r.mid").tracks[0].notes == [Note(0, Q // 2, 60)]
    assert (tmp_path / "r.mid").read_bytes()[:4] == b"MThd"
