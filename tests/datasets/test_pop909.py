"""POP909 reading, on a tiny song written in code (and on the real data when present).

The fake song (120 bpm, 0.5 s a beat, 480 ticks a beat) has 16 annotated beats from 0.5 s; downbeats at beats 1,
5, 7, 11, 15, so the bar from beat 5 is only 2 beats long and gets padded. One melody note comes before the
first downbeat (a pickup). Worked out by hand: original tick t maps to t + 960 before beat 5, t + 1920 after
the 2-beat bar (bar lines at 0, 1920, 3840 [padded], 5760, 7680, 9600); 960 ticks a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from framescore.datasets.paths import DatasetError
from framescore.datasets.pop909 import crop, iter_songs, main, read_song, segments
from framescore.datasets.pop909_split import split_of
from framescore.symbolic.attributes import DENSITY_ONSETS_PER_BEAT
from framescore.symbolic.midi_io import write_midi
from framescore.symbolic.piece import Note, Piece, TempoChange, Track
from framescore.symbolic.plan import dynamics_of

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "pop909"

MELODY = [Note(480, 240, 67, 64),  # pickup
          Note(960, 480, 60, 80), Note(1440, 480, 64, 80), Note(1920, 480, 67, 80), Note(2400, 480, 72, 80),
          Note(2880, 480, 65, 100), Note(3360, 480, 69, 100),  # the 2-beat bar
          Note(3840, 1920, 67, 40),
          Note(7680, 480, 60, 50)]  # after the last downbeat
BRIDGE = [Note(1200, 240, 76, 80)]
PIANO = [Note(960, 960, p, 80) for p in (48, 52, 55)] + [Note(t, 960, p, 90) for t in (5760, 6720)
                                                         for p in (48, 52, 55)]
CHORDS = [(0.0, 1.0, "N"), (1.0, 2.0, "C:maj"), (2.0, 3.0, "A:min"), (3.0, 4.0, "F:maj"), (4.0, 6.0, "G:7"),
          (6.0, 8.0, "C:maj")]
DOWNBEATS = (1, 5, 7, 11, 15)


def song_piece(melody_shift: int = 0) -> Piece:
    mel = [Note(n.start + melody_shift, n.duration, n.pitch, n.velocity) for n in MELODY]
    return Piece(tracks=[Track("MELODY", 0, False, mel), Track("BRIDGE", 0, False, BRIDGE),
                         Track("PIANO", 0, False, PIANO)], tempos=[TempoChange(0, 120.0)])


def write_song(folder: Path, chords: bool = True) -> Path:
    folder.mkdir(parents=True)
    write_midi(song_piece(), folder / f"{folder.name}.mid")
    rows = [f"{0.5 + 0.5 * j} {1.0 if j % 2 else 0.0} {1.0 if j in DOWNBEATS else 0.0}" for j in range(16)]
    (folder / "beat_midi.txt").write_text("\n".join(rows) + "\n")
    if chords:
        (folder / "chord_midi.txt").write_text("".join(f"{a}\t{b}\t{c}\n" for a, b, c in CHORDS))
    (folder / "key_audio.txt").write_text("0.0\t2.0\tG:maj\n2.0\t10.0\tC:maj\n")
    return folder


@pytest.fixture
def song(tmp_path: Path) -> Path:
    return write_song(tmp_path / "pop909" / "007")


def test_read_song_plan_matches_hand_worked_values(song: Path) -> None:
    ex = read_song(song)
    plan, piece = ex.plan, ex.piece
    assert (plan.meter, plan.key, plan.n_bars) == ("4/4", "C major", 6)
    assert plan.tempo_bpm == pytest.approx(120.0)
    assert plan.duration_sec == pytest.approx(10.5)  # last note ends at tick 10080
    assert [[(s.beat, s.chord) for s in b.chords] for b in plan.bars] == [
        [(0.0, "N")], [(0.0, "C:maj"), (2.0, "A:min")], [(0.0, "F:maj")], [(0.0, "G:7")], [(0.0, "C:maj")],
        [(0.0, "N")]]
    onsets = [1, 8, 2, 1, 6, 1]
    velocity = [64, 80, 100, 40, 90, 50]
    full = 4 * DENSITY_ONSETS_PER_BEAT
    assert [b.density for b in plan.bars] == pytest.approx([o / full for o in onsets], abs=1e-4)
    assert [b.dynamics for b in plan.bars] == pytest.approx([dynamics_of(v) for v in velocity], abs=1e-4)
    assert (ex.pickup_bars, ex.padded_bars, ex.regular_spans) == (1, [2], [(0, 2), (3, 3)])
    assert ex.misalignment_ticks == 0
    assert plan.source["start_sec"] == pytest.approx(-1.0)  # bar 0 starts a bar before the first downbeat
    assert plan.source["keys"][1] == {"start_sec": 3.0, "end_sec": 12.0, "key": "C major"}  # 1 s later, +1 s pad
    mel = piece.track("melody").notes
    assert [n.start for n in mel] == [1440, 1920, 2400, 2880, 3360, 3840, 4320, 5760, 9600]
    assert len(piece.track("harmony").notes) == 10  # BRIDGE 1 + PIANO 9
    assert piece.ticks_per_bar == 1920 and piece.end_tick == 10080 and piece.plan is plan
    assert [b.melody for b in plan.bars] == [True, True, True, True, False, True]  # bar 4: no melody onset
    chords = [(m.tick, m.text) for m in piece.chord_markers()]
    assert chords[:3] == [(0, "N"), (1920, "C:maj"), (2880, "A:min")]


def test_segments_and_crop(song: Path) -> None:
    ex = read_song(song)
    segs = segments(ex, min_bars=2)
    assert [(s.first_bar, s.plan.n_bars) for s in segs] == [(0, 2), (3, 3)]
    tail = segs[1]
    assert [b.chords[0].chord for b in tail.plan.bars] == ["G:7", "C:maj", "N"]
    assert [b.melody for b in tail.plan.bars] == [True, False, True]  # the song's melody flags travel with it
    assert [n.start for n in tail.piece.track("melody").notes] == [0, 3840]
    assert tail.plan.duration_sec == pytest.approx(10080 / 960 - 5760 / 960)
    assert tail.padded_bars == [] and tail.pickup_bars == 0
    with pytest.raises(DatasetError, match="not in"):
        crop(ex, 4, 5)


def test_versions_must_line_up(song: Path) -> None:
    (song / "versions").mkdir()
    write_midi(song_piece(), song / "versions" / "007-v1.mid")  # a copy, in time
    write_midi(song_piece(melody_shift=480), song / "versions" / "007-v2.mid")  # melody half a second late
    assert read_song(song, "007-v1").plan.to_dict() == {**read_song(song).plan.to_dict(),
                                                         "source": read_song(song, "007-v1").plan.source}
    with pytest.raises(DatasetError, match="does not line up"):
        read_song(song, "007-v2")


def test_iter_songs_skips_broken(tmp_path: Path) -> None:
    root = tmp_path / "pop909"
    split = split_of("007")
    other = next(f"{i:03d}" for i in range(8, 999) if split_of(f"{i:03d}") == split)
    write_song(root / "007")
    write_song(root / other, chords=False)
    stats: dict[str, int] = {}
    got = list(iter_songs(root, split, stats=stats))
    assert [e.song_id for e in got] == ["007"]
    assert stats["read"] == 1 and stats["skipped"] == 1
    with pytest.raises(DatasetError, match="unknown split"):
        list(iter_songs(root, "dev"))


def test_main_prints_the_ceiling(song: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(song.parent), "--split", split_of("007")]) == 0
    out = capsys.readouterr().out
    assert "1 songs read, 0 skipped; 6 bars, 1 padded" in out and "key agreement: 1.0000" in out


def test_missing_annotation_is_named(tmp_path: Path) -> None:
    folder = write_song(tmp_path / "pop909" / "009", chords=False)
    with pytest.raises(DatasetError, match="chord_midi.txt"):
        read_song(folder)


# ----- the real data, when it is there -----------------------------------------------------------------------------
@pytest.mark.skipif(not (REAL / "001").is_dir(), reason=f"POP909 not found at {REAL}")
def test_real_song_lines_up() -> None:
    from framescore.symbolic.metrics import chord_accuracy, key_agreement

    ex = read_song(REAL / "001")
    assert (ex.plan.meter, ex.plan.key, ex.plan.n_bars) == ("4/4", "Gb major", 73)
    assert ex.plan.tempo_bpm == pytest.approx(90.0, abs=0.01) and ex.misalignment_ticks == ex.pickup_bars == 0
    assert ex.padded_bars == []
    # every annotated downbeat (seconds) sits on a bar line of the piece
    rows = [line.split() for line in (REAL / "001" / "beat_midi.txt").read_text().splitlines()]
    lines = [ex.piece.tick_to_sec(b * ex.piece.ticks_per_bar) for b in range(ex.plan.n_bars + 1)]
    for t, _, down in rows:
        if float(down) == 1.0:
            sec = float(t) - ex.plan.source["start_sec"]
            assert min(abs(x - sec) for x in lines) < 0.002
    acc, _ = chord_accuracy(ex.piece, ex.plan)
    assert acc > 0.9 and key_agreement(ex.piece, ex.plan)["key_agreement"] == 1.0


@pytest.mark.skipif(not (REAL / "017").is_dir() or not (REAL / "091").is_dir(), reason=f"POP909 not found at {REAL}")
def test_real_keys_follow_the_chords_and_the_cropped_span():
    # 017: key_audio.txt says G minor then D minor, but its chords (and notes) sit in F# minor
    ex = read_song(REAL / "017")
    assert ex.plan.key == "F# minor" and ex.plan.source["key_annotated"] == "D minor"
    # 091: F minor for its first part, Bb major for longer; the first 32 bars are in F minor
    ex = read_song(REAL / "091")
    assert ex.plan.key == "Bb major" and "key_annotated" not in ex.plan.source
    assert crop(ex, 0, 32).plan.key == "F minor"
