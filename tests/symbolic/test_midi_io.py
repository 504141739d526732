"""symbolic/midi_io.py: files made in code with mido read back as they play (controllers, bends, programs, hanging
notes, format 2, SMPTE time), and what we write reads back the same."""

from __future__ import annotations

import mido
import pytest

from framescore.symbolic.midi_io import MidiError, read_midi, to_symusic, write_midi
from framescore.symbolic.piece import (ControlChange, Marker, Note, Piece, PitchBend, ProgramChange, TempoChange,
                                       Track)

Q = 480


def msg(kind: str, **kw) -> mido.Message:
    return mido.Message(kind, **kw)


def meta(kind: str, **kw) -> mido.MetaMessage:
    return mido.MetaMessage(kind, **kw)


def save(path, *tracks: list, type: int = 1, tpq: int = Q):
    """A file of tracks given as (absolute tick, message) lists."""
    f = mido.MidiFile(type=type, ticks_per_beat=tpq)
    for events in tracks:
        tr, last = mido.MidiTrack(), 0
        for tick, m in events:
            tr.append(m.copy(time=tick - last))
            last = tick
        f.tracks.append(tr)
    f.save(path)
    return path


def test_controls_bends_and_program_changes_go_with_their_notes(tmp_path):
    path = save(tmp_path / "a.mid", [
        (0, meta("track_name", name="piano")), (0, msg("program_change", program=0)),
        (0, msg("control_change", control=64, value=127)), (0, msg("note_on", note=60, velocity=90)),
        (Q, msg("note_off", note=60)), (Q, msg("control_change", control=64, value=0)),
        (Q, msg("program_change", program=40)), (Q, msg("pitchwheel", pitch=-4096)),
        (Q, msg("note_on", note=62, velocity=80)), (2 * Q, msg("note_off", note=62)),
        # an RPN (pitch-bend range 12 semitones): its order within the tick is kept
        (2 * Q, msg("control_change", control=101, value=0)), (2 * Q, msg("control_change", control=100, value=0)),
        (2 * Q, msg("control_change", control=6, value=12)), (2 * Q, msg("control_change", control=38, value=0))])
    piece = read_midi(path)
    [t] = piece.tracks
    assert (t.name, t.program, t.is_drum) == ("piano", 0, False)  # one track: a program change does not split it
    assert t.notes == [Note(0, Q, 60, 90), Note(Q, Q, 62, 80)]
    assert t.programs == [ProgramChange(Q, 40)]
    assert t.pitch_bends == [PitchBend(Q, -4096)]
    assert [(c.tick, c.number, c.value) for c in t.controls] == [
        (0, 64, 127), (Q, 64, 0), (2 * Q, 101, 0), (2 * Q, 100, 0), (2 * Q, 6, 12), (2 * Q, 38, 0)]
    assert piece.end_tick == 2 * Q


def test_a_track_on_several_channels_splits_by_channel_with_each_channels_events(tmp_path):
    path = save(tmp_path / "a.mid", [
        (0, meta("track_name", name="band")), (0, msg("program_change", channel=1, program=33)),
        (0, msg("control_change", channel=0, control=7, value=100)),
        (0, msg("control_change", channel=1, control=10, value=0)),
        (0, msg("note_on", channel=0, note=60, velocity=90)), (0, msg("note_on", channel=1, note=36, velocity=90)),
        (0, msg("note_on", channel=9, note=38, velocity=90)), (Q, msg("note_off", channel=0, note=60)),
        (Q, msg("note_off", channel=1, note=36)), (Q, msg("note_off", channel=9, note=38))])
    piece = read_midi(path)
    assert [(t.name, t.program, t.is_drum) for t in piece.tracks] == [
        ("band", 0, False), ("band", 33, False), ("band", 0, True)]
    assert [t.notes[0].pitch for t in piece.tracks] == [60, 36, 38]
    assert [t.controls for t in piece.tracks] == [[ControlChange(0, 7, 100)], [ControlChange(0, 10, 0)], []]


def test_a_set_up_track_reaches_every_track_on_its_channel(tmp_path):
    # track 1 sets programs and volumes; tracks 2 and 3 play channels 0 and 1 (common in files from sequencers)
    setup = [(0, msg("program_change", channel=0, program=40)), (0, msg("control_change", channel=0, control=7,
                                                                        value=50)),
             (0, msg("program_change", channel=1, program=73)), (2 * Q, msg("program_change", channel=1, program=0))]
    a = [(0, meta("track_name", name="violin")), (Q, msg("note_on", note=67, velocity=80)),
         (2 * Q, msg("note_off", note=67))]
    b = [(0, meta("track_name", name="flute")), (0, msg("note_on", channel=1, note=72, velocity=80)),
         (3 * Q, msg("note_off", channel=1, note=72))]
    piece = read_midi(save(tmp_path / "a.mid", [(0, meta("set_tempo", tempo=500000))], setup, a, b))
    violin, flute = piece.tracks
    assert (violin.name, violin.program, violin.controls) == ("violin", 40, [ControlChange(0, 7, 50)])
    assert (flute.name, flute.program, flute.programs) == ("flute", 73, [ProgramChange(2 * Q, 0)])


def test_a_note_never_let_go_lasts_until_the_end_of_its_track(tmp_path):
    path = save(tmp_path / "a.mid", [
        (0, msg("note_on", note=60, velocity=90)),  # no note-off ever
        (Q, msg("note_on", note=64, velocity=90)), (2 * Q, msg("note_off", note=64)),
        (4 * Q, msg("control_change", control=7, value=100))])  # the track ends at beat 4
    [t] = read_midi(path).tracks
    assert t.notes == [Note(0, 4 * Q, 60, 90), Note(Q, Q, 64, 90)]


def test_overlapping_notes_of_one_pitch_pair_first_in_first_out(tmp_path):
    path = save(tmp_path / "a.mid", [(0, msg("note_on", note=60, velocity=90)), (100, msg("note_on", note=60,
                                                                                          velocity=50)),
                                     (200, msg("note_off", note=60)), (400, msg("note_on", note=60, velocity=0))])
    assert read_midi(path).tracks[0].notes == [Note(0, 200, 60, 90), Note(100, 300, 60, 50)]


def test_format_2_plays_its_patterns_one_after_another(tmp_path):
    one = [(0, msg("note_on", note=60, velocity=90)), (2 * Q, msg("note_off", note=60))]
    two = [(0, msg("note_on", note=62, velocity=90)), (Q, msg("note_off", note=62))]
    piece = read_midi(save(tmp_path / "a.mid", one + [(3 * Q, meta("end_of_track"))], two, type=2))
    assert [[(n.start, n.end) for n in t.notes] for t in piece.tracks] == [[(0, 2 * Q)], [(3 * Q, 4 * Q)]]
    assert piece.duration_sec == pytest.approx(2.0)


@pytest.mark.parametrize("fps, per_frame, code", [(25, 40, -25), (30, 80, -30), (29.97, 100, -29)])
def test_smpte_time_reads_as_seconds(tmp_path, fps, per_frame, code):
    """Division -fps x ticks per frame: a tick lasts 1 / (fps x ticks per frame) s, whatever the tempo events say."""
    per_sec = fps * per_frame
    path = save(tmp_path / "a.mid", [(0, meta("set_tempo", tempo=250000)),  # 240 bpm: to be ignored
                                     (round(0.5 * per_sec), msg("note_on", note=60, velocity=90)),
                                     (round(2.0 * per_sec), msg("note_off", note=60))])
    data = bytearray(path.read_bytes())
    data[12:14] = (code & 0xFF, per_frame)  # the header's division: SMPTE format (mido writes only quarter notes)
    path.write_bytes(bytes(data))
    piece = read_midi(path)
    [n] = piece.tracks[0].notes
    assert piece.tick_to_sec(n.start) == pytest.approx(0.5, abs=2e-3)
    assert piece.tick_to_sec(n.end) == pytest.approx(2.0, abs=2e-3)
    assert [t.bpm for t in piece.tempos] == [120.0]


def test_other_resolutions_rescale_rounding_half_up_like_symusic(tmp_path):
    import symusic

    from framescore.symbolic.midi_io import from_symusic

    events = [(0, meta("set_tempo", tempo=600000)), (0, meta("key_signature", key="Bb")),
              (0, meta("time_signature", numerator=3, denominator=4)), (2, meta("marker", text="C:maj"))]
    for start, length, pitch in [(1, 1, 60), (2, 2, 62), (3, 3, 64), (10, 3, 65), (7, 2, 67), (5, 0, 69)]:
        events += [(start, msg("note_on", note=pitch, velocity=70)), (start + length, msg("note_off", note=pitch))]
    path = save(tmp_path / "a.mid", sorted(events, key=lambda e: e[0]), tpq=384)
    ours, theirs = read_midi(path), from_symusic(symusic.Score.from_file(str(path)))
    assert ours.tracks[0].notes == theirs.tracks[0].notes
    assert (ours.tempos, ours.meter, ours.key, ours.markers) == (theirs.tempos, theirs.meter, theirs.key,
                                                                  theirs.markers)


def test_the_standard_tempo_holds_until_the_first_tempo_event(tmp_path):
    path = save(tmp_path / "a.mid", [(0, msg("note_on", note=60, velocity=90)), (Q, meta("set_tempo", tempo=1000000)),
                                     (2 * Q, msg("note_off", note=60))])
    piece = read_midi(path)
    assert [(t.tick, t.bpm) for t in piece.tempos] == [(0, 120.0), (Q, 60.0)]
    assert piece.duration_sec == pytest.approx(1.5)


# ----- writing -------------------------------------------------------------------------------------------------
def performed() -> Piece:
    piano = Track("piano", 0, False, [Note(0, Q, 60, 90), Note(Q, 2 * Q, 64, 80), Note(Q, Q, 67, 70)],
                  controls=[ControlChange(0, 64, 127), ControlChange(2 * Q, 64, 0), ControlChange(0, 101, 0),
                            ControlChange(0, 100, 0), ControlChange(0, 6, 12)],
                  pitch_bends=[PitchBend(Q // 2, 8191), PitchBend(Q, -8192), PitchBend(2 * Q, 0)],
                  programs=[ProgramChange(Q, 48), ProgramChange(2 * Q, 0)])
    drums = Track("drums", 25, True, [Note(0, 60, 36, 110), Note(Q, 60, 38, 100)], controls=[ControlChange(0, 7, 90)])
    return Piece([piano, drums], [TempoChange(0, 100.0), TempoChange(2 * Q, 140.0)], meter=(3, 4), key="E minor")


def test_round_trip_keeps_controls_bends_and_program_changes(tmp_path):
    piece = performed()
    write_midi(piece, tmp_path / "a.mid")
    back = read_midi(tmp_path / "a.mid")
    for a, b in zip(piece.tracks, back.tracks):
        assert (b.name, b.program, b.is_drum, b.notes) == (a.name, a.program, a.is_drum, sorted(a.notes))
        assert (b.controls, b.pitch_bends, b.programs) == (sorted(a.controls, key=lambda c: c.tick),
                                                           a.pitch_bends, a.programs)
    assert (back.meter, back.key, back.end_tick) == (piece.meter, piece.key, piece.end_tick)
    assert [t.tick for t in back.tempos] == [t.tick for t in piece.tempos]
    assert [t.bpm for t in back.tempos] == pytest.approx([t.bpm for t in piece.tempos], rel=1e-5)  # whole us


def test_writing_is_deterministic_and_a_piece_of_notes_writes_as_symusic_did(tmp_path):
    write_midi(performed(), tmp_path / "a.mid")
    write_midi(performed(), tmp_path / "b.mid")
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    # notes alone (what our engines write): byte for byte what the project wrote with symusic before
    notes_only = performed()
    for t in notes_only.tracks:
        t.controls, t.pitch_bends, t.programs = [], [], []
    notes_only.markers = [Marker(0, "A", "section"), Marker(Q, "C:maj", "chord"), Marker(2 * Q, "Am", "chord")]
    for k in range(16):  # past 16 channels: they wrap around, skipping the drums' channel
        notes_only.tracks.append(Track(f"pad{k}", 89, False, [Note(0, 4 * Q, 52 + k, 60), Note(4 * Q, 0, 55, 60)]))
    write_midi(notes_only, tmp_path / "c.mid")
    assert (tmp_path / "c.mid").read_bytes() == bytes(to_symusic(notes_only).dumps_midi())


def test_unreadable_files_are_one_line_errors(tmp_path):
    with pytest.raises(MidiError, match="not found"):
        read_midi(tmp_path / "none.mid")
    (tmp_path / "junk.mid").write_bytes(b"MThd not really a midi file")
    with pytest.raises(MidiError, match="cannot read") as err:
        read_midi(tmp_path / "junk.mid")
    assert "\n" not in str(err.value)
    with pytest.raises(MidiError, match="has no notes"):
        read_midi(save(tmp_path / "empty.mid", [(0, meta("set_tempo", tempo=500000))]))
