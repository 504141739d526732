"""Readable MusicXML: grand staves split by hand, clefs by range, two voices a staff, rests that follow the beat,
integer tempo marks, part names as a musician writes them (read back with music21; pieces made here)."""

from __future__ import annotations

import re
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from framescore.symbolic.musicxml import MAX_VOICES, _Group, _rest_spans, _split_hands, write_musicxml
from framescore.symbolic.piece import Note, Piece, TempoChange, Track

Q = 480  # ticks per quarter note


def read_back(path: Path):
    from music21 import converter

    return converter.parse(str(path))


def write(tmp_path: Path, *tracks: Track, name: str = "score", **kw):
    path = tmp_path / f"{name}.musicxml"
    write_musicxml(Piece(list(tracks), **kw), path)
    return path, read_back(path)


def notes_of(staff) -> list[tuple[float, int]]:
    """(offset in the piece, MIDI pitch) of every struck (not tied-over) pitched note of a staff."""
    from music21 import chord, harmony, note

    out = []
    for n in staff.recurse().getElementsByClass((note.Note, chord.Chord)):
        if isinstance(n, harmony.Harmony) or (n.tie is not None and n.tie.type in ("stop", "continue")):
            continue
        for p in n.pitches:
            out.append((round(float(n.getOffsetInHierarchy(staff)), 4), p.midi))
    return sorted(out)


def wide_piano() -> Track:
    """Two bars of piano: a low left hand (C2-G2 halves), high right-hand chords, and a right-hand line that
    walks down to B3 over the left hand's C3."""
    lh = [Note(b * 4 * Q + h * 2 * Q, 2 * Q, p, 70) for b in range(2) for h in range(2) for p in (36, 43)]
    rh = [Note(b * 4 * Q + beat * Q, Q, p, 70) for b in range(1) for beat in range(4) for p in (76, 79, 84)]
    line = [Note(4 * Q + i * Q // 2, Q // 2, p, 70) for i, p in enumerate((72, 71, 69, 67, 65, 64, 62, 59))]
    return Track("harmony", 0, notes=sorted(lh + rh + line))


# ----- grand staff --------------------------------------------------------------------------------------------
def test_wide_piano_part_is_a_grand_staff_split_by_register(tmp_path):
    from music21 import clef, layout

    track = wide_piano()
    path, score = write(tmp_path, Track("melody", 73, notes=[Note(0, 8 * Q, 72)]), track)
    data = path.read_bytes()
    assert data.count(b"<score-part ") == 2 and data.count(b"<staves>2</staves>") == 1
    assert re.search(rb'<clef number="1">\s*<sign>G</sign>\s*<line>2</line>', data)
    assert re.search(rb'<clef number="2">\s*<sign>F</sign>\s*<line>4</line>', data)
    melody, upper, lower = score.parts
    assert upper.id.endswith("Staff1") and lower.id.endswith("Staff2")
    assert isinstance(upper.recurse().getElementsByClass(clef.Clef).first(), clef.TrebleClef)
    assert isinstance(lower.recurse().getElementsByClass(clef.Clef).first(), clef.BassClef)
    group = score.getElementsByClass(layout.StaffGroup).first()
    assert group.symbol == "brace" and list(group) == [upper, lower]
    up, down = notes_of(upper), notes_of(lower)
    assert {p for _, p in down} == {36, 43}  # the left hand's notes, and only those, on the bass staff
    assert min(p for _, p in up) == 59  # the line keeps to the treble staff down to B3
    assert sorted(up + down) == sorted((n.start / Q, n.pitch) for n in track.notes)


def test_hands_keep_chords_together_and_lines_on_their_staff():
    def g(start, dur, *pitches):
        return _Group(F(start), F(dur), list(pitches), 80)

    right, left = _split_hands([g(0, 1, 52, 55, 60)])  # a close chord round middle C: one hand takes it
    assert right == [] and left[0].pitches == [52, 55, 60]
    right, left = _split_hands([g(0, 1, 48, 52, 55, 72, 76, 79)])  # two octaves apart: a hand each
    assert (right[0].pitches, left[0].pitches) == ([72, 76, 79], [48, 52, 55])
    line = [72, 71, 69, 67, 65, 64, 62, 60, 59, 57]  # a right-hand line going down over a held C3
    groups = [g(0, 10, 48)] + [g(i, 1, p) for i, p in enumerate(line)]
    groups.sort(key=lambda x: (x.start, -max(x.pitches)))
    right, left = _split_hands(groups)
    assert [x.pitches[0] for x in right] == line[:-1]  # stays up through middle C and B3; A3 goes down
    assert [x.pitches[0] for x in left] == [48, 57]


def test_one_staff_for_a_piano_melody_and_narrow_parts(tmp_path):
    melody = Track("melody", 0, notes=[Note(i * Q, Q, p) for i, p in enumerate((60, 64, 67, 72, 71, 67, 65, 64))])
    strings = Track("pad", 48, notes=[Note(0, 4 * Q, p) for p in (55, 60, 64)])
    path, score = write(tmp_path, melody, strings)
    assert b"<staves>" not in path.read_bytes()
    assert len(score.parts) == 2


def test_wide_non_keyboard_part_gets_a_grand_staff(tmp_path):
    strings = Track("harmony", 48, notes=[Note(b * 4 * Q, 4 * Q, p) for b in range(2) for p in (36, 43, 76, 84)])
    path, score = write(tmp_path, strings)
    assert path.read_bytes().count(b"<staves>2</staves>") == 1
    assert [notes_of(s) for s in score.parts] == [[(0.0, 76), (0.0, 84), (4.0, 76), (4.0, 84)],
                                                  [(0.0, 36), (0.0, 43), (4.0, 36), (4.0, 43)]]


@pytest.mark.parametrize("program, pitches, expected", [
    (73, (72, 76, 79, 84), "TrebleClef"),        # flute
    (42, (36, 43, 48, 55), "BassClef"),          # cello
    (57, (40, 47, 52, 58), "BassClef"),          # trombone
    (33, (28, 33, 38, 40), "Bass8vbClef"),       # electric bass, low E: the octave-down bass clef
    (25, (52, 57, 64, 71), "Treble8vbClef"),     # acoustic guitar
])
def test_clef_by_range(tmp_path, program, pitches, expected):
    from music21 import clef

    _, score = write(tmp_path, Track("part", program, notes=[Note(i * Q, Q, p) for i, p in enumerate(pitches)]))
    (part,) = score.parts
    assert type(part.recurse().getElementsByClass(clef.Clef).first()).__name__ == expected
    assert notes_of(part) == [(float(i), p) for i, p in enumerate(pitches)]  # written at sounding pitch


# ----- voices and rests ---------------------------------------------------------------------------------------
def dense_piano(seed: int = 0) -> Track:
    """Four bars of random, heavily overlapping notes on the 16th grid over five octaves."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, 64, 120) * Q // 4
    lengths = rng.integers(1, 12, 120) * Q // 4
    return Track("harmony", 0, notes=sorted(Note(int(s), int(d), int(p), 70)
                                            for s, d, p in zip(starts, lengths, rng.integers(33, 96, 120))))


def test_at_most_two_voices_per_staff_and_every_onset_kept(tmp_path):
    from music21 import note

    track = dense_piano()
    path, score = write(tmp_path, track, Track("strings", 48, notes=dense_piano(1).notes[:40]))
    assert MAX_VOICES == 2
    for staff in score.parts:
        for m in staff.getElementsByClass("Measure"):
            assert len(m.voices) <= 2
    data = path.read_bytes()
    for part in re.findall(rb"<part id=.*?</part>", data, re.S):  # each staff keeps two voice numbers throughout
        by_staff: dict[bytes, set] = {}
        for n in re.findall(rb"<note[ >].*?</note>", part, re.S):
            staff = re.search(rb"<staff>(\d)</staff>", n)
            by_staff.setdefault(staff.group(1) if staff else b"1", set()).add(re.search(rb"<voice>(\d+)", n).group(1))
        assert all(len(v) <= 2 for v in by_staff.values()) and len(set().union(*by_staff.values())) <= 4
    upper, lower = score.parts[:2]
    struck = {(n.start / Q, n.pitch) for n in track.notes}
    assert set(notes_of(upper) + notes_of(lower)) == struck  # lengths may be cut to fit two voices, onsets not
    for staff in score.parts:  # the second voice's rests are hidden, the first's shown
        for v in staff.recurse().getElementsByClass("Voice"):
            rests = list(v.getElementsByClass(note.Rest))
            if v.id in ("2", "6"):
                assert all(r.style.hideObjectOnPrint for r in rests)


def test_rest_spans_follow_the_beat():
    def spans(a, b, bar=F(4), beat=F(1)):
        return [(float(s), float(v)) for s, v in _rest_spans(F(a), F(b), F(0), bar, beat)]

    assert spans(F(1, 4), 4) == [(0.25, 0.25), (0.5, 0.5), (1, 1), (2, 2)]  # not 15 16th rests, nor a 3.75
    assert spans(0, 4) == [(0, 4)]
    assert spans(1, 3) == [(1, 1), (2, 1)]  # no half rest across the middle of a 4/4 bar
    assert spans(0, 3) == [(0, 2), (2, 1)]
    assert spans(F(1, 2), 3, F(3), F(3, 2)) == [(0.5, 1), (1.5, 1.5)]  # 6/8: a beat's last two eighths, a beat
    assert spans(F(1, 4), F(3, 2), F(3), F(3, 2)) == [(0.25, 0.25), (0.5, 1)]
    assert spans(F(1, 3), 2) == [(1 / 3, 2 / 3), (1, 1)]  # from a triplet: the triplet's value, then the beat


def test_consecutive_rests_are_merged(tmp_path):
    from music21 import note

    melody = Track("melody", 73, notes=[Note(0, Q // 4, 72), Note(8 * Q, Q, 74)])  # a 16th, then a bar's rest
    _, score = write(tmp_path, melody, end_tick=12 * Q)
    bars = list(score.parts[0].getElementsByClass("Measure"))
    rests = [[(float(r.offset), float(r.quarterLength)) for r in m.getElementsByClass(note.Rest)] for m in bars]
    assert rests[0] == [(0.25, 0.25), (0.5, 0.5), (1, 1), (2, 2)]
    assert rests[1] == [(0, 4)] and bars[1].getElementsByClass(note.Rest).first().fullMeasure in (True, "always")
    assert rests[2] == [(1, 1), (2, 2)]
    _, score = write(tmp_path, dense_piano(2), name="dense")  # no two rests in a row that one rest could be
    for staff in score.parts:
        for m in staff.getElementsByClass("Measure"):
            for v in m.voices or [m]:
                items = list(v.notesAndRests)
                for a, b in zip(items, items[1:]):
                    if a.isRest and b.isRest and a.quarterLength == b.quarterLength:
                        assert a.offset % (2 * a.quarterLength) != 0, (m.number, a.offset, a.quarterLength)


def test_short_gaps_become_staccato_and_no_double_dots(tmp_path):
    """A 16th and a 16th rest read as a staccato eighth; a note off the 16th beat is tied at the beat."""
    from music21 import articulations, note

    melody = Track("melody", 73, notes=[Note(0, Q // 4, 72), Note(Q // 2, Q // 4, 74), Note(Q, 7 * Q // 4, 76),
                                        Note(2 * Q + 3 * Q // 4, Q // 2, 77)])
    path, score = write(tmp_path, melody)
    ns = list(score.parts[0].recurse().getElementsByClass(note.Note))
    assert [(float(n.offset), float(n.quarterLength)) for n in ns] == [(0, 0.5), (0.5, 0.5), (1, 1.5), (2.5, 0.25),
                                                                       (2.75, 0.25), (3, 0.25)]
    staccato = [any(isinstance(a, articulations.Staccato) for a in n.articulations) for n in ns]
    assert staccato == [True, True, False, False, False, False]
    assert not re.search(rb"<dot />\s*<dot />", path.read_bytes())  # 1.75 beats: a dotted quarter and a 16th
    assert [n.tie.type if n.tie else None for n in ns[2:]] == ["start", "stop", "start", "stop"]


# ----- marks, names, accidentals ------------------------------------------------------------------------------
def test_tempo_marks_are_integers_and_playback_exact(tmp_path):
    from music21 import tempo

    melody = Track("melody", 73, notes=[Note(b * 4 * Q, 4 * Q, 72) for b in range(4)])
    path, score = write(tmp_path, melody, tempos=[TempoChange(0, 99.3), TempoChange(4 * Q, 133.6),
                                                  TempoChange(8 * Q, 133.8), TempoChange(12 * Q, 100.0)])
    marks = [(m.number, m.getContextByClass("Measure").number)
             for m in score.recurse().getElementsByClass(tempo.MetronomeMark)]
    assert marks == [(99, 1), (134, 2), (100, 4)]  # 133.8 reads as the 134 already shown
    data = path.read_bytes()
    assert b"<per-minute>99</per-minute>" in data and b'<sound tempo="99.3"' in data
    assert not re.search(rb"<per-minute>[^<]*\.", data)
    path, score = write(tmp_path, melody, name="compound", meter=(6, 8), tempos=[TempoChange(0, 133.0)])
    (mark,) = score.recurse().getElementsByClass(tempo.MetronomeMark)  # 6/8: dotted quarters a minute
    assert (mark.number, mark.referent.quarterLength) == (89, 1.5) and b'<sound tempo="133"' in path.read_bytes()


def test_part_names_as_a_musician_writes_them(tmp_path):
    tracks = [Track("melody", 73, notes=[Note(0, Q, 72)]), Track("harmony", 44, notes=[Note(0, Q, 64)]),
              Track("bass", 33, notes=[Note(0, Q, 40)]), Track("drums", 0, True, [Note(0, Q, 36)]),
              Track("PIANO", 0, notes=[Note(0, Q, 60)]), Track("", 40, notes=[Note(0, Q, 76)])]
    path, score = write(tmp_path, *tracks)
    assert [p.partName for p in score.parts] == ["Melody — Flute", "Harmony — Tremolo Strings", "Electric Bass",
                                                 "Drum Kit", "Piano", "Violin"]
    assert [p.partAbbreviation for p in score.parts][:4] == ["Mel.", "Harm.", "Bass", "Dr."]
    names = re.findall(rb"<(?:part|instrument)-(?:name|abbreviation)>([^<]*)<", path.read_bytes())
    assert names and not [n for n in names if re.search(rb"Instrument|[a-z][A-Z]|\(", n)]  # no class names


def test_accidentals_as_engraved(tmp_path):
    """D major: C natural shown once in its bar, the C# after it in the next bar gets a courtesy sharp, F# (in the
    key) none; a tied-over note none."""
    from music21 import note

    notes = [Note(0, Q, 72), Note(Q, Q, 72), Note(2 * Q, Q, 66), Note(3 * Q, 2 * Q, 65), Note(5 * Q, Q, 73),
             Note(6 * Q, Q, 73), Note(7 * Q, Q, 65)]
    _, score = write(tmp_path, Track("melody", 73, notes=notes), key="D major")
    shown = [(n.pitch.name, bool(n.pitch.accidental and n.pitch.accidental.displayStatus))
             for n in score.parts[0].recurse().getElementsByClass(note.Note)]
    assert shown == [("C", True), ("C", False), ("F#", False), ("F", True), ("F", False), ("C#", True),
                     ("C#", False), ("F", True)]


def test_grand_staff_same_piece_same_bytes(tmp_path):
    piece = Piece([Track("melody", 73, notes=[Note(0, Q, 72)]), dense_piano(), wide_piano()],
                  tempos=[TempoChange(0, 87.4)], key="A minor")
    write_musicxml(piece, tmp_path / "a.musicxml")
    write_musicxml(piece, tmp_path / "b.musicxml")
    assert (tmp_path / "a.musicxml").read_bytes() == (tmp_path / "b.musicxml").read_bytes()
