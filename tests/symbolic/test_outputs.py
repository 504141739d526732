"""The readable outputs: MusicXML (read back with music21), the piano roll and the timeline (PNG checked with PIL)."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from framescore.errors import FramescoreError
from framescore.symbolic.chords import QUALITIES, chord_label, parse_chord
from framescore.symbolic.musicxml import MusicXmlError, chord_figure, write_musicxml
from framescore.symbolic.piece import Note, Piece, TempoChange, Track, piece_from_plan_grid
from framescore.symbolic.plan import ChordSlot, Section, simple_plan
from framescore.symbolic.plot import PlotError, write_pianoroll
from framescore.vision.timeline import write_timeline

POP909_001 = Path("/work/shared/datasets/pop909/001/001.mid")
Q = 480  # ticks per quarter note


def two_section_plan():
    """8 bars of 4/4 in D minor: A at 120 bpm, B at 100 bpm; a slash chord mid-bar 4 and no chord at the end."""
    plan = simple_plan(16.0, tempo_bpm=120, key="D minor", chords="i VI III VII")
    plan.sections = [Section("A", 0, 4), Section("B", 4, plan.n_bars - 4, cut_sec=8.0, tempo_bpm=100)]
    plan.bars[3].chords = [ChordSlot(0, "C:maj"), ChordSlot(2, "C:maj/3")]
    plan.bars[-1].chords = [ChordSlot(0, "N")]
    for i, bar in enumerate(plan.bars):
        bar.density, bar.dynamics = 0.2 + 0.1 * i, 0.8 - 0.05 * i
    return plan.validate()


MELODY = [Note(0, 240, 62), Note(240, 240, 64), Note(480, 160, 65), Note(640, 160, 67), Note(800, 160, 69),
          Note(960, 1200, 70), Note(2160, 2400, 72)]  # eighths, a triplet, notes across bar lines


@pytest.fixture
def piece() -> Piece:
    p = piece_from_plan_grid(two_section_plan())
    tpb = p.ticks_per_bar
    harmony = Track("harmony", 0, notes=[Note(b * tpb + h * 2 * Q, 2 * Q, pitch, 70)
                                         for b in range(8) for h in range(2) for pitch in (50, 53, 57)])
    bass = Track("bass", 33, notes=[Note(b * tpb + beat * Q, Q, 38, 90) for b in range(8) for beat in range(4)])
    drums = Track("drums", 0, True, [Note(b * tpb + beat * Q, 60, 36 if beat % 2 == 0 else 38, 100)
                                     for b in range(8) for beat in range(4)]
                  + [Note(b * tpb + e * Q // 2, 60, 42, 70) for b in range(8) for e in range(8)])
    p.tracks = [Track("melody", 73, notes=list(MELODY)), harmony, bass, drums]
    return p


def read_back(path: Path):
    from music21 import converter

    return converter.parse(str(path))


def onsets(part) -> list[tuple[float, float, int]]:
    """(offset, length, MIDI pitch) of every pitched note in a parsed part, tied pieces joined.

    Joined here by pitch and time rather than with music21's ``stripTies``, which loses track of ties when
    several voices hold the same pitch.
    """
    from music21 import chord, harmony, note

    pieces = []  # (offset, length, pitch, tied to the next piece)
    for m in part.getElementsByClass("Measure"):
        for v in m.voices or [m]:
            base = m.offset + (v.offset if v is not m else 0)
            for n in v.getElementsByClass((note.Note, chord.Chord)):
                if isinstance(n, harmony.Harmony):  # chord symbols are music21 chords too
                    continue
                for sub in n.notes if isinstance(n, chord.Chord) else [n]:
                    tied = sub.tie is not None and sub.tie.type in ("start", "continue")
                    pieces.append((float(base + n.offset), float(n.quarterLength), sub.pitch.midi, tied,
                                   sub.tie is not None and sub.tie.type in ("stop", "continue")))
    pieces.sort()
    out, open_ties = [], {}  # (pitch, end) → index in out
    for start, length, pitch, tied_out, tied_in in pieces:
        key = (pitch, round(start, 4))
        if tied_in and key in open_ties:
            i = open_ties.pop(key)
            out[i][1] += length
        else:
            out.append([start, length, pitch])
            i = len(out) - 1
        if tied_out:
            open_ties[(pitch, round(out[i][0] + out[i][1], 4))] = i
    return sorted((round(s, 4), round(d, 4), p) for s, d, p in out)


def staves_by_part(score) -> list[list]:
    """The parsed score's parts, each as its staves (a grand staff comes back as two ``PartStaff`` streams)."""
    out, ids = [], []
    for part in score.parts:
        pid = str(part.id).split("-Staff")[0]
        if ids and ids[-1] == pid and "-Staff" in str(part.id):
            out[-1].append(part)
        else:
            out.append([part])
            ids.append(pid)
    return out


def part_onsets(staves) -> list[tuple[float, float, int]]:
    return sorted(x for staff in staves for x in onsets(staff))


def expected(notes: list[Note]) -> list[tuple[float, float, int]]:
    return sorted((round(n.start / Q, 4), round(n.duration / Q, 4), n.pitch) for n in notes)


# ----- MusicXML -----------------------------------------------------------------------------------------------
def test_musicxml_reads_back_with_parts_key_meter_marks(piece, tmp_path):
    from music21 import expressions, harmony, key, meter, tempo

    path = tmp_path / "score.musicxml"
    write_musicxml(piece, path)
    score = read_back(path)
    assert path.read_bytes().count(b"<score-part ") == 4
    assert [len(staves) for staves in staves_by_part(score)] == [1, 2, 1, 1]  # the piano on a grand staff
    assert [p.partName for p in score.parts][0].startswith("Melody")
    k = score.parts[0].recurse().getElementsByClass(key.KeySignature).first()
    assert (k.tonic.name, k.mode) == ("D", "minor")
    assert score.recurse().getElementsByClass(meter.TimeSignature).first().ratioString == "4/4"
    figures = [c.figure for c in score.parts[0].recurse().getElementsByClass(harmony.Harmony)]
    assert figures == ["Dm", "B-", "F", "C", "C/E", "Dm", "B-", "F", "N.C."]
    marks = [(r.content, r.getContextByClass("Measure").number)
             for r in score.recurse().getElementsByClass(expressions.RehearsalMark)]
    assert marks == [("A", 1), ("B", 5)]
    tempos = [(t.number, t.getContextByClass("Measure").number)
              for t in score.recurse().getElementsByClass(tempo.MetronomeMark)]
    assert tempos == [(120, 1), (100, 5)]


def test_musicxml_keeps_every_note_in_time(piece, tmp_path):
    path = tmp_path / "score.musicxml"
    write_musicxml(piece, path)
    score = read_back(path)
    melody, harmony, bass, drums = staves_by_part(score)
    assert part_onsets(melody) == expected(MELODY)  # triplets and ties across bar lines come back exact
    assert part_onsets(harmony) == expected(piece.tracks[1].notes)
    assert part_onsets(bass) == expected(piece.tracks[2].notes)
    drum_hits = list(drums[0].recurse().getElementsByClass(("Unpitched", "PercussionChord")))
    assert len(drum_hits) == 8 * 8  # one hit (or chord of hits) per eighth note


def test_musicxml_same_piece_same_bytes(piece, tmp_path):
    write_musicxml(piece, tmp_path / "a.musicxml")
    write_musicxml(piece, tmp_path / "b.musicxml")
    data = (tmp_path / "a.musicxml").read_bytes()
    assert data == (tmp_path / "b.musicxml").read_bytes()
    assert b"encoding-date" not in data
    assert b'<score-part id="P1">' in data


def test_musicxml_overlapping_notes_become_voices(tmp_path):
    """A held bass note under moving chords (two voices on one guitar staff) and a slightly held melody note (cut
    short, legato)."""
    held = [Note(0, 4 * Q, 48), Note(0, Q, 60), Note(0, Q, 64), Note(Q, Q, 62), Note(2 * Q, 2 * Q, 65)]
    legato = [Note(0, Q + 60, 72), Note(Q, Q, 74)]  # 60 ticks of overlap: one voice, not two
    piece = Piece([Track("guitar", 24, notes=held), Track("melody", 0, notes=legato)], meter=(4, 4), end_tick=4 * Q)
    write_musicxml(piece, tmp_path / "v.musicxml")
    score = read_back(tmp_path / "v.musicxml")
    first = score.parts[0].getElementsByClass("Measure").first()
    assert first.hasVoices()
    assert onsets(score.parts[0]) == expected(held)
    assert not score.parts[1].getElementsByClass("Measure").first().hasVoices()
    assert onsets(score.parts[1]) == [(0.0, 1.0, 72), (1.0, 1.0, 74)]


def test_musicxml_awkward_input(tmp_path):
    """No key, 6/8, extreme pitches, unquantized times, a tempo change mid-bar, notes past the end."""
    rng = np.random.default_rng(0)
    notes = [Note(int(s), int(d), int(p), 64) for s, d, p in
             zip(np.sort(rng.integers(0, 12 * Q, 40)), rng.integers(1, 3 * Q, 40), rng.integers(0, 128, 40))]
    piece = Piece([Track("", 200 % 128, notes=notes)], tempos=[TempoChange(0, 90.0), TempoChange(700, 133.3)],
                  meter=(6, 8), end_tick=3 * Q)
    write_musicxml(piece, tmp_path / "odd.musicxml")
    score = read_back(tmp_path / "odd.musicxml")
    (staves,) = staves_by_part(score)
    assert len(staves) == 2  # eight octaves: a grand staff
    back = part_onsets(staves)
    assert sorted(p for _, _, p in back) == sorted(n.pitch for n in notes)
    for n in notes:  # every onset lands on the nearest 16th or eighth-triplet
        assert any(p == n.pitch and abs(s - n.start / Q) <= 1 / 6 + 1e-3 for s, _, p in back)


@pytest.mark.parametrize("quality", sorted(QUALITIES))
def test_chord_figures_mean_the_same_chord_to_music21(quality):
    from music21 import harmony

    for symbol in (f"Bb:{quality}", f"F#:{quality}/b7"):
        chord = parse_chord(symbol)
        cs = harmony.ChordSymbol(chord_figure(symbol))
        assert {p.pitchClass for p in cs.pitches} == set(chord.pitch_classes)
        assert cs.bass().pitchClass == chord.bass_pc


def test_musicxml_errors(tmp_path):
    with pytest.raises(MusicXmlError, match="no notes"):
        write_musicxml(Piece([Track("melody")], end_tick=Q), tmp_path / "x.musicxml")
    with pytest.raises(MusicXmlError, match="cannot write"):
        write_musicxml(Piece([Track("m", notes=[Note(0, Q, 60)])]), tmp_path / "missing" / "x.musicxml")
    with pytest.raises(FramescoreError, match="unknown chord"):
        chord_figure("H:maj")


@pytest.mark.skipif(not POP909_001.is_file(), reason="POP909 not present")
def test_musicxml_pop909_song(tmp_path):
    """A real three-minute song read from MIDI (2/4, no key, played timing): about 3 s of music21."""
    from framescore.symbolic.midi_io import read_midi

    piece = read_midi(POP909_001)
    write_musicxml(piece, tmp_path / "001.musicxml")
    data = (tmp_path / "001.musicxml").read_bytes()
    assert data.count(b"<score-part ") == 3
    assert data.count(b"<measure ") == 3 * piece.n_bars


# ----- piano roll ---------------------------------------------------------------------------------------------
def png_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


def test_pianoroll_png(piece, tmp_path):
    write_pianoroll(piece, tmp_path / "a.png", title="two sections")
    write_pianoroll(piece, tmp_path / "b.png", title="two sections")
    assert png_size(tmp_path / "a.png") == (1200, 500)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_pianoroll_without_drums_or_markers(tmp_path):
    piece = Piece([Track("MELODY", 0, notes=list(MELODY))])
    write_pianoroll(piece, tmp_path / "m.png")
    assert png_size(tmp_path / "m.png") == (1200, 500)
    with pytest.raises(PlotError, match="empty"):
        write_pianoroll(Piece([Track("x")]), tmp_path / "e.png")


def test_chord_labels():
    assert [chord_label(s) for s in ("A:min7", "Bb:maj/3", "C:min/b3", "F#:hdim7", "N", "Bbm7", "IV")] == [
        "Am7", "Bb/D", "Cm/Eb", "F#m7b5", "N.C.", "Bbm7", "IV"]


# ----- timeline -----------------------------------------------------------------------------------------------
def fake_features(kind: str = "video", duration: float = 16.0):
    """A stand-in for vision.features.VisualFeatures: the attributes the timeline reads, nothing else."""
    rng = np.random.default_rng(1)
    times = np.arange(0.0, duration, 0.25)
    frames = []
    for i, t in enumerate(times[::4]):
        frame = np.zeros((45, 80, 3), np.uint8)
        frame[..., i % 3] = 200
        frame[10:30, 20 + i % 40:40 + i % 40] = 255
        frames.append((float(t), frame))
    if kind == "image":
        return types.SimpleNamespace(times=np.zeros(1), motion=np.zeros(1), brightness=np.full(1, 0.5), cuts=[],
                                     duration_sec=0.0, thumbnails=frames[:1], kind="image")
    return types.SimpleNamespace(times=times, motion=rng.random(times.size), brightness=rng.random(times.size),
                                 cuts=[8.0], duration_sec=duration, thumbnails=frames, kind="video")


def test_timeline_video(tmp_path):
    plan = two_section_plan()
    write_timeline(fake_features(), plan, tmp_path / "a.png")
    write_timeline(fake_features(), plan, tmp_path / "b.png")
    assert png_size(tmp_path / "a.png") == (1200, 600)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_timeline_image(tmp_path):
    write_timeline(fake_features("image"), simple_plan(20.0, tempo_bpm=80, chords="I vi ii7 V7"), tmp_path / "i.png")
    assert png_size(tmp_path / "i.png") == (1200, 350)


def test_timeline_rejects_other_objects(tmp_path):
    with pytest.raises(PlotError, match="lack"):
        write_timeline(types.SimpleNamespace(times=[]), two_section_plan(), tmp_path / "x.png")
