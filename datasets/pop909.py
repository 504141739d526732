"""POP909 songs as (Piece, MusicPlan) pairs: the music, and a plan made from the song's own annotations.

What the files hold (checked over all 819 songs here): ``beat_midi.txt`` has one row per beat, ``time_sec a b``;
column ``a`` marks every ``num_beats_per_measure``-th beat of ``index.csv`` (2, or 3 for 27 songs) and column
``b`` every second such mark. Mapped to ticks through the MIDI tempo map (329 songs change tempo, so the beat
times are not at one constant tempo), consecutive beats are exactly one quarter note (480 ticks) apart in 817
songs; two (418, 519) have one irregular beat, 83 and 41 ticks off, and are refused. Chord changes fall on those
beats, most often on the ``b`` marks: the songs are in 4/4 with ``b`` on the downbeat (3/4 with ``a`` on it when
``a`` comes every 3 beats). ``num_quavers_per_beat`` = 3 (22 songs) is a triplet feel on the same grid.

The bars are not all equal: many songs have a few bars of 2, 3, 5 or 6 beats (phrase extensions). A plan has one
meter, so :func:`read_song` pads each such bar with rests up to whole bars (2 → 4 beats, 6 → 8): every annotated
downbeat then lands exactly on a bar line, at the cost of a short silence (2,622 padded bars in 66,000, a median
of 3 a song). ``SongExample.padded_bars`` says where; :func:`segments` cuts a song at them into runs of untouched
bars, for training that should never see an inserted rest.

How a song becomes a piece and a plan:

- bar 0 is the bar of the (backwards-extended) downbeat grid that holds the first note, at tick 0. Notes before
  the first annotated downbeat (a pickup, in about a third of the songs) are kept, in leading bars whose chord is
  whatever chord_midi.txt says there (often 'N'); ``pickup_bars`` says how many;
- tracks: ``melody`` (MELODY) and ``harmony`` (BRIDGE + PIANO: the secondary melody and the accompaniment),
  program 0; the piece keeps the song's own tempo map;
- plan bars: chords from chord_midi.txt at the beat each starts on (the chord sounding at beat 0 is carried into
  each bar), canonical symbols spelled for the key; density and dynamics from :mod:`framescore.symbolic.attributes`;
- key: the key of key_audio.txt that covers most of the song (every key span goes in ``plan.source["keys"]``);
- tempo: quarter notes per minute averaged over the song (the piece's tempo map holds the detail), so that the
  plan's bars at that tempo last exactly the song's duration; one section "A"; valence and arousal 0 (unknown).

``versions/*.mid`` are other arrangements of the same song. 1,535 of the 1,794 line up with the main file in
seconds (90% of the main melody's onsets within 30 ms of one of theirs) and read with the song's annotations; the
rest are shifted or re-timed and do not fit them: :func:`read_song` refuses those, so :func:`iter_songs` with
``versions=True`` skips them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..symbolic.attributes import bar_densities, bar_dynamics_list, ticks_to_seconds
from ..symbolic.chords import ChordError, Key, KeyError_, parse_chord, parse_key
from ..symbolic.midi_io import MidiError, read_midi
from ..symbolic.piece import Note, Piece, TempoChange, Track, piece_from_plan_grid
from ..symbolic.plan import BarPlan, ChordSlot, MusicPlan, PlanError, Section
from ..symbolic.roll import chord_key
from .paths import DatasetError

__all__ = ["MAX_MISALIGNMENT_TICKS", "SongExample", "crop", "iter_songs", "main", "read_song", "segments",
           "version_aligned"]

log = logging.getLogger(__name__)

#: Largest distance (ticks, 480 a quarter) of an annotated beat from the quarter-note grid before a song is refused.
MAX_MISALIGNMENT_TICKS = 30
#: A version lines up when this share of the main melody's onsets have one of its own within the tolerance.
VERSION_MATCH_SHARE = 0.9
VERSION_TOLERANCE_SEC = 0.03


@dataclass
class SongExample:
    """One POP909 song, one of its versions, or a crop of either: the piece, its plan, how they were lined up."""

    song_id: str
    piece: Piece
    plan: MusicPlan
    version: str | None = None
    first_bar: int = 0  # where bar 0 of this example is in the whole song (crops)
    pickup_bars: int = 0  # bars before the first annotated downbeat
    padded_bars: list[int] = field(default_factory=list)  # bars that hold rests inserted to fill an irregular bar
    misalignment_ticks: int = 0  # largest distance of an annotated beat from the quarter-note grid

    @property
    def regular_spans(self) -> list[tuple[int, int]]:
        """``(first_bar, n_bars)`` runs of bars with no inserted rest."""
        spans, start = [], 0
        for b in [*sorted(self.padded_bars), self.plan.n_bars]:
            if b > start:
                spans.append((start, b - start))
            start = b + 1
        return spans


# ----- files ---------------------------------------------------------------------------------------------------------
def _read_table(path: Path, n_cols: int) -> list[list[str]]:
    if not path.is_file():
        raise DatasetError(f"POP909 annotation missing: {path}")
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    bad = next((r for r in rows if len(r) != n_cols), None)
    if bad is not None or not rows:
        raise DatasetError(f"{path}: expected {n_cols} columns per line, got {bad or 'no lines'}")
    return rows


def _tracks(midi: Piece) -> tuple[list[Note], list[Note]]:
    """Melody (the track named MELODY, else the first) and everything else."""
    pitched = [t for t in midi.tracks if not t.is_drum]
    if not pitched:
        raise DatasetError("no pitched track")
    mel = next((t for t in pitched if t.name.strip().upper() == "MELODY"), pitched[0])
    return list(mel.notes), [n for t in pitched if t is not mel for n in t.notes]


def version_aligned(main: Piece, other: Piece) -> float:
    """Share of the main melody's onsets (seconds) with an onset of ``other``'s melody within 30 ms."""
    a = ticks_to_seconds(main, np.array([n.start for n in _tracks(main)[0]]))
    b = np.unique(ticks_to_seconds(other, np.array([n.start for n in _tracks(other)[0]])))
    if not len(a) or not len(b):
        return 0.0
    i = np.searchsorted(b, a)
    d = np.minimum(np.abs(b[np.minimum(i, len(b) - 1)] - a), np.abs(b[np.maximum(i - 1, 0)] - a))
    return float(np.mean(d <= VERSION_TOLERANCE_SEC))


def _meter_and_downbeats(beats: np.ndarray) -> tuple[int, np.ndarray]:
    """Beats per bar and the indices of the downbeat rows (see the module docstring)."""
    marks = np.flatnonzero(beats[:, 1] == 1)
    if len(marks) < 2:
        raise DatasetError("beat_midi.txt marks fewer than two bars")
    spacing = int(np.bincount(np.diff(marks)).argmax())
    if spacing == 2:
        down = np.flatnonzero(beats[:, 2] == 1)
        return 4, down if len(down) >= 2 else marks
    if spacing in (3, 4):
        return spacing, marks
    raise DatasetError(f"beat_midi.txt: bars of {spacing} beats are not understood")


def _sec_to_tick(piece: Piece, sec: np.ndarray) -> np.ndarray:
    """Ticks of many times through the tempo map; times before 0 extrapolate with the first tempo."""
    bpm0 = piece.tempos[0].bpm
    return np.array([piece.sec_to_tick(s) if s >= 0 else round(s * bpm0 * piece.resolution / 60.0) for s in sec],
                    dtype=np.int64)


def _main_key(rows: list[list[str]], path: Path) -> Key:
    """The key whose spans in key_audio.txt add up to the longest time (the first listed wins a tie)."""
    total: dict[str, float] = {}
    for start, end, name in rows:
        try:
            key = parse_key(name).name
        except KeyError_ as e:
            raise DatasetError(f"{path}: {e}") from None
        total[key] = total.get(key, 0.0) + float(end) - float(start)
    return parse_key(max(total, key=total.__getitem__))


# ----- the time map: original ticks → padded, shifted ticks ---------------------------------------------------------
@dataclass
class _Grid:
    """Annotated downbeats ``down`` (original ticks) move to ``new`` (ticks, bars padded to whole bars)."""

    down: np.ndarray
    new: np.ndarray
    length: np.ndarray  # original length of each annotated bar, ticks (len(down) - 1)
    shift: int = 0  # subtracted after mapping, so that bar 0 starts at tick 0

    def forward(self, ticks: np.ndarray) -> np.ndarray:
        t = np.asarray(ticks, dtype=np.int64)
        i = np.searchsorted(self.down, t, side="right") - 1
        j = np.clip(i, 0, len(self.down) - 1)
        return self.new[j] + (t - self.down[j]) - self.shift

    def backward(self, tick: int) -> int:
        """The original tick of a new one (inside an inserted rest: the end of the original bar)."""
        u = tick + self.shift
        i = int(np.searchsorted(self.new, u, side="right")) - 1
        if i < 0:
            return int(self.down[0] + u)
        off = u - self.new[i]
        return int(self.down[i] + (min(off, self.length[i]) if i < len(self.length) else off))


def _tempo_at(piece: Piece, tick: int) -> float:
    """The tempo in force at ``tick`` (the first one for ticks before the file starts)."""
    bpm = piece.tempos[0].bpm
    for t in piece.tempos:
        if t.tick <= tick:
            bpm = t.bpm
    return bpm


def _assemble(song_id: str, tracks: list[Track], tempos: list[TempoChange], meter: tuple[int, int], end_tick: int,
              bar_chords: list[list[ChordSlot]], key: Key, source: dict) -> tuple[Piece, MusicPlan]:
    """The piece and its validated plan: tempo averaged, density and dynamics measured, markers from the plan.

    The key is the annotated one unless the chords clearly sit in another scale (:func:`framescore.symbolic.roll.chord_key`):
    key_audio.txt is read off the audio and now and then disagrees with the MIDI's own chords (song 017: D minor
    over chords in F# minor, which its notes are in too). The plan then takes the chords' key, and
    ``source["key_annotated"]`` keeps what the file said.
    """
    piece, plan = _assemble_with(song_id, tracks, tempos, meter, end_tick, bar_chords, key, source)
    fitted = chord_key(plan)
    if fitted == key:
        return piece, plan
    spelled = [[ChordSlot(c.beat, parse_chord(c.chord).symbol(fitted.uses_flats)) for c in bar] for bar in bar_chords]
    return _assemble_with(song_id, tracks, tempos, meter, end_tick, spelled, fitted,
                          dict(source, key_annotated=key.name))


def _assemble_with(song_id: str, tracks: list[Track], tempos: list[TempoChange], meter: tuple[int, int],
                   end_tick: int, bar_chords: list[list[ChordSlot]], key: Key, source: dict) -> tuple[Piece, MusicPlan]:
    piece = Piece(tracks=tracks, tempos=tempos, meter=meter, end_tick=end_tick)
    duration = piece.tick_to_sec(end_tick)
    tempo = end_tick / piece.resolution * 60.0 / duration
    n_bars = -(-end_tick // piece.ticks_per_bar)
    dens, dyn = bar_densities(piece, n_bars), bar_dynamics_list(piece, n_bars)
    # the song's own melody flags: a bar where its melody begins no note (an intro, a breath) rests in the plan too
    melody = next((t for t in tracks if t.name == "melody"), None)
    sung = {n.start // piece.ticks_per_bar for n in melody.notes} if melody is not None else set(range(n_bars))
    bars = [BarPlan([ChordSlot(s.beat, s.chord) for s in bar_chords[b]], round(dens[b], 4), round(dyn[b], 4),
                    melody=b in sung) for b in range(n_bars)]
    plan = MusicPlan(duration_sec=duration, tempo_bpm=tempo, meter=f"{meter[0]}/{meter[1]}", key=key.name,
                     bars=bars, sections=[Section("A", 0, n_bars)], source=source)
    try:
        plan.validate()
    except PlanError as e:
        raise DatasetError(f"POP909 {song_id}: the plan made from its annotations is invalid: {e}") from None
    piece.key, piece.markers, piece.plan = plan.key, piece_from_plan_grid(plan, piece.resolution).markers, plan
    return piece, plan


# ----- reading -------------------------------------------------------------------------------------------------------
def read_song(song_dir: str | Path, version: str | None = None,
              max_misalignment_ticks: int = MAX_MISALIGNMENT_TICKS) -> SongExample:
    """Read one song folder (``.../pop909/001``) into a piece and the plan its annotations describe.

    ``version`` names a file in ``versions/`` (``"001-v1"``); it must line up with the main file in time.
    Raises :class:`DatasetError` naming the problem (missing file, unreadable MIDI, a version or a beat grid
    that does not line up, a plan that does not validate).
    """
    song_dir = Path(song_dir)
    sid = song_dir.name
    midi_path = song_dir / f"{sid}.mid"
    try:
        midi = read_midi(midi_path)
        if version is not None:
            vpath = song_dir / "versions" / f"{version.removesuffix('.mid')}.mid"
            other = read_midi(vpath)
            share = version_aligned(midi, other)
            if share < VERSION_MATCH_SHARE:
                raise DatasetError(f"{vpath}: does not line up with the annotations "
                                   f"({share:.0%} of melody onsets match the main file)")
            midi, midi_path = other, vpath
    except MidiError as e:
        raise DatasetError(str(e)) from None
    res = midi.resolution

    beats = np.array(_read_table(song_dir / "beat_midi.txt", 3), dtype=float)
    chords = _read_table(song_dir / "chord_midi.txt", 3)
    key = _main_key(keys := _read_table(song_dir / "key_audio.txt", 3), song_dir / "key_audio.txt")
    num, down = _meter_and_downbeats(beats)
    tpb = res * num

    # the quarter-note grid through the first annotated beat; every annotated beat should sit on it
    beat_ticks = _sec_to_tick(midi, beats[:, 0])
    grid = beat_ticks[0] + res * np.arange(len(beat_ticks))
    misalign = int(np.abs(beat_ticks - grid).max())
    if misalign > max_misalignment_ticks:
        raise DatasetError(f"{song_dir}: annotated beats drift {misalign} ticks off the quarter-note grid")
    n_beats = np.diff(down)
    n_new = -(-n_beats // num) * num  # whole bars
    g = _Grid(down=grid[down], new=np.concatenate([[0], np.cumsum(n_new)]) * res, length=n_beats * res)

    melody, harmony = _tracks(midi)
    if not melody and not harmony:
        raise DatasetError(f"{midi_path}: no notes")
    first = int(g.forward(np.array([min(n.start for n in melody + harmony)]))[0])
    g.shift = math.floor(first / tpb) * tpb  # the bar holding the first note becomes bar 0
    pickup = max(0, -g.shift // tpb)
    padded = sorted({int(b) for i in np.flatnonzero(n_new != n_beats)
                     for b in range((g.new[i] - g.shift) // tpb, (g.new[i + 1] - g.shift) // tpb) if b >= 0})

    def moved(ns: list[Note]) -> list[Note]:
        starts = g.forward(np.array([n.start for n in ns], dtype=np.int64))
        return sorted(Note(int(s), n.duration, n.pitch, n.velocity) for s, n in zip(starts, ns))

    tracks = [Track("melody", 0, False, moved(melody)), Track("harmony", 0, False, moved(harmony))]
    end_tick = max(n.end for t in tracks for n in t.notes)
    tempo_ticks = g.forward(np.array([t.tick for t in midi.tempos]))
    tempos = {0: TempoChange(0, _tempo_at(midi, g.backward(0)))}
    for u, t in zip(tempo_ticks, midi.tempos):
        if u > 0 and abs(t.bpm - list(tempos.values())[-1].bpm) > 1e-6:  # drop repeats of the same tempo
            tempos[int(u)] = TempoChange(int(u), t.bpm)

    # chords: on the beat grid, then through the same map
    flats = key.uses_flats
    try:
        labels = [parse_chord(c[2]).symbol(flats) for c in chords]
    except ChordError as e:
        raise DatasetError(f"{song_dir / 'chord_midi.txt'}: {e}") from None

    def on_grid(col: int) -> np.ndarray:
        t = _sec_to_tick(midi, np.array([float(c[col]) for c in chords]))
        return g.forward(beat_ticks[0] + np.round((t - beat_ticks[0]) / res).astype(np.int64) * res)

    starts, ends = on_grid(0), on_grid(1)
    n_bars = -(-end_tick // tpb)

    def chord_at(tick: int) -> str:
        i = int(np.searchsorted(starts, tick, side="right")) - 1
        return labels[i] if i >= 0 and tick < ends[i] else "N"

    bar_chords = []
    for b in range(n_bars):
        lo = b * tpb
        slots = [ChordSlot(0.0, chord_at(lo))]
        for s in starts[(starts > lo) & (starts < lo + tpb)]:
            if (sym := chord_at(int(s))) != slots[-1].chord:
                slots.append(ChordSlot(float((s - lo) // res), sym))
        bar_chords.append(slots)

    start_sec = float(ticks_to_seconds(midi, np.array([g.backward(0)]))[0])
    probe = Piece(tracks=[], tempos=list(tempos.values()), meter=(num, 4), end_tick=1)
    key_ticks = g.forward(_sec_to_tick(midi, np.array([[float(k[0]), float(k[1])] for k in keys]).ravel()))
    key_sec = ticks_to_seconds(probe, np.maximum(key_ticks, 0)).reshape(-1, 2)
    source = {"dataset": "pop909", "song_id": sid, "version": version, "midi": midi_path.name,
              "start_sec": round(start_sec, 6), "pickup_bars": int(pickup), "padded_bars": padded,
              "keys": [{"start_sec": round(float(a), 3), "end_sec": round(float(b), 3), "key": parse_key(k[2]).name}
                       for (a, b), k in zip(key_sec, keys)]}
    piece, plan = _assemble(sid, tracks, list(tempos.values()), (num, 4), end_tick, bar_chords, key, source)
    return SongExample(sid, piece, plan, version, 0, int(pickup), padded, misalign)


def _span_key(plan: MusicPlan, lo_sec: float, hi_sec: float) -> Key:
    """The annotated key (``source["keys"]``) sounding longest within [lo_sec, hi_sec); the plan's when none is."""
    total: dict[str, float] = {}
    for k in plan.source.get("keys", []):
        overlap = min(hi_sec, k["end_sec"]) - max(lo_sec, k["start_sec"])
        if overlap > 0:
            total[k["key"]] = total.get(k["key"], 0.0) + overlap
    return parse_key(max(total, key=total.__getitem__)) if total else plan.key_obj


def crop(example: SongExample, first_bar: int, n_bars: int) -> SongExample:
    """Bars ``[first_bar, first_bar + n_bars)`` of an example as an example of their own.

    Notes that start in the window are kept (cut at its end); the plan keeps the bars' chords and recomputes
    tempo, duration, density and dynamics, and takes the annotated key that sounds longest in the window (checked
    against its chords as in :func:`read_song`). Raises :class:`DatasetError` for a window outside the song or
    without notes.
    """
    piece, plan = example.piece, example.plan
    if first_bar < 0 or n_bars < 1 or first_bar + n_bars > plan.n_bars:
        raise DatasetError(f"bars {first_bar}..{first_bar + n_bars - 1} are not in {example.song_id} "
                           f"({plan.n_bars} bars)")
    tpb = piece.ticks_per_bar
    lo, hi = first_bar * tpb, (first_bar + n_bars) * tpb
    tracks = [Track(t.name, t.program, t.is_drum,
                    [Note(n.start - lo, min(n.duration, hi - n.start), n.pitch, n.velocity)
                     for n in t.notes if lo <= n.start < hi]) for t in piece.tracks]
    if not any(t.notes for t in tracks):
        raise DatasetError(f"bars {first_bar}..{first_bar + n_bars - 1} of {example.song_id} hold no notes")
    tempos = [TempoChange(0, _tempo_at(piece, lo))] + [TempoChange(t.tick - lo, t.bpm) for t in piece.tempos
                                                        if lo < t.tick < hi]
    padded = [b - first_bar for b in example.padded_bars if first_bar <= b < first_bar + n_bars]
    source = dict(plan.source, first_bar=example.first_bar + first_bar, padded_bars=padded)
    source.pop("key_annotated", None)
    key = _span_key(plan, piece.tick_to_sec(lo), piece.tick_to_sec(min(hi, piece.end_tick)))
    new_piece, new_plan = _assemble(example.song_id, tracks, tempos, piece.meter, min(hi, piece.end_tick) - lo,
                                    [bar.chords for bar in plan.bars[first_bar:first_bar + n_bars]], key, source)
    return SongExample(example.song_id, new_piece, new_plan, example.version, example.first_bar + first_bar,
                       max(0, example.pickup_bars - first_bar), padded, example.misalignment_ticks)


def segments(example: SongExample, min_bars: int = 4) -> list[SongExample]:
    """The example cut at its padded bars into runs of at least ``min_bars`` untouched bars (empty runs dropped)."""
    out = []
    for start, n in example.regular_spans:
        if n >= min_bars:
            try:
                out.append(crop(example, start, n))
            except DatasetError:
                continue
    return out


def iter_songs(root: str | Path | None = None, split: str = "train", versions: bool = False,
               as_segments: bool = False, min_bars: int = 4, stats: dict[str, int] | None = None,
               ) -> Iterator[SongExample]:
    """The songs of one split (``train``, ``validation`` or ``test``), skipping broken ones.

    ``root`` is the POP909 folder (default: :func:`.paths.dataset_root`). With ``versions``, every version that
    lines up with the annotations follows its song; with ``as_segments``, each is cut by :func:`segments`.
    ``stats`` (a dict), when given, is filled with counts of ``read``, ``skipped`` (songs) and
    ``versions_read``/``versions_skipped``; a logged warning reports the skips at the end.
    """
    from .paths import dataset_root
    from .pop909_split import SPLITS, pop909_split

    root = Path(root) if root is not None else dataset_root("pop909")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r} (one of {', '.join(SPLITS)})")
    counts = stats if stats is not None else {}
    for k in ("read", "skipped", "versions_read", "versions_skipped"):
        counts.setdefault(k, 0)
    for sid in pop909_split(root)[split]:
        todo = [None] + ([p.stem for p in sorted((root / sid / "versions").glob("*.mid"))] if versions else [])
        for version in todo:
            kind = "read" if version is None else "versions_read"
            try:
                ex = read_song(root / sid, version)
            except DatasetError as e:
                counts[kind.replace("read", "skipped")] += 1
                log.debug("skipped %s %s: %s", sid, version or "", e)
                if version is None:
                    break
                continue
            counts[kind] += 1
            yield from (segments(ex, min_bars) if as_segments else [ex])
    if counts["skipped"] or counts["versions_skipped"]:
        log.warning("POP909 %s: skipped %d songs and %d versions (unreadable, or not lined up with the annotations)",
                    split, counts["skipped"], counts["versions_skipped"])


def main(argv: list[str] | None = None) -> int:
    """Read a split and print how well its annotations fit its notes: the ceiling of the plan metrics."""
    import argparse

    from ..symbolic.metrics import chord_accuracy, key_agreement

    ap = argparse.ArgumentParser(prog="python -m framescore.datasets.pop909", description=main.__doc__)
    ap.add_argument("--root", type=Path, default=None, help="POP909 folder (default: dataset_root('pop909'))")
    ap.add_argument("--split", default="train", help="train, validation or test (default: train)")
    args = ap.parse_args(argv)
    stats: dict[str, int] = {}
    acc, half, key, rel, padded, bars = [], [], [], [], 0, 0
    for ex in iter_songs(args.root, args.split, stats=stats):
        a, n = chord_accuracy(ex.piece, ex.plan)
        if a is not None:
            acc.append(a)
            half.append(n)
        k = key_agreement(ex.piece, ex.plan)
        if k["key_agreement"] is not None:
            key.append(k["key_agreement"])
            rel.append(k["key_agreement_relative"])
        padded += len(ex.padded_bars)
        bars += ex.plan.n_bars
    if not acc:
        raise DatasetError(f"no song of split {args.split!r} could be scored")
    print(f"{args.split}: {stats['read']} songs read, {stats['skipped']} skipped; {bars} bars, {padded} padded")
    print(f"chord accuracy per half bar: {np.dot(acc, half) / sum(half):.4f} pooled over {sum(half)} half bars, "
          f"{np.mean(acc):.4f} mean per song")
    print(f"key agreement: {np.mean(key):.4f} ({np.mean(rel):.4f} counting the relative key)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
