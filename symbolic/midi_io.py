"""MIDI in and out of a :class:`Piece`, through mido: what a file holds, read and written event by event.

What a written file holds: one named track per role (General MIDI program, drums on channel 10), the tempo map,
a time signature at tick 0 and at every meter change (a 2/4 bar inside 4/4 is two events: 2/4, then 4/4 again),
the key signature, and markers for chord changes (``C:maj``) and sections (``Section: A``), so a DAW
shows the plan on its timeline; a track's control changes, pitch bends and program changes go with its notes.
The layout is the one symusic writes (the project wrote with it before), so a piece of notes alone gives the
same bytes as then.

What a read file gives (any Standard MIDI File): a track per MIDI track and channel that has notes, holding that
channel's notes, control changes (sustain pedal, volume, pan, expression, RPNs, ...), pitch bends and program
changes; every time signature, as the meter at tick 0 and the changes after it (a repeated one dropped).
Channel events in a track without notes on that channel (a set-up track of programs and volumes) go to
every track playing that channel. A note-on without its note-off lasts until the end of its track. Format 2
plays its patterns one after another. A file timed in SMPTE frames (negative division) is read at 120 bpm, its
tempo events ignored, as the standard says. Ticks are rescaled to :data:`TICKS_PER_QUARTER`, rounding half up,
starts and lengths apart (as ``symusic.Score.resample`` does), so files read the same as they did through symusic.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from pathlib import Path

from ..errors import FramescoreError
from .chords import ChordError, Key, parse_chord, parse_key
from .piece import (TICKS_PER_QUARTER, ControlChange, Marker, MeterChange, Note, Piece, PitchBend, ProgramChange,
                    TempoChange, Track)

__all__ = ["MidiError", "read_midi", "write_midi", "to_symusic", "from_symusic", "midi_channels"]

SECTION_PREFIX = "Section: "
DRUM_CHANNEL = 9  # General MIDI's channel 10
SMPTE_BPM = 120.0  # the fixed tempo a file timed in SMPTE frames is read at
_SMPTE_FPS = {24: Fraction(24), 25: Fraction(25), 29: Fraction(30000, 1001), 30: Fraction(30)}  # 29: drop-frame


class MidiError(FramescoreError):
    """A MIDI file that cannot be read."""


# ----- writing -------------------------------------------------------------------------------------------------
def midi_channels(tracks: list[Track]) -> list[int]:
    """The channel each track is written on: drums on 9, the others in turn on 0-8, 10-15, 0, ... (as symusic)."""
    out = []
    for i, t in enumerate(tracks):
        k = i % 15
        out.append(DRUM_CHANNEL if t.is_drum else k if k < DRUM_CHANNEL else k + 1)
    return out


def _latin1(text: str) -> str:
    """Text for mido, which writes meta text as latin-1: UTF-8 bytes, one character each."""
    return text.encode("utf-8").decode("latin-1")


def _to_mido(piece: Piece, tracks: list[Track] | None = None):
    import mido

    tracks = piece.tracks if tracks is None else tracks
    meta: list[tuple[int, object]] = [(tick, mido.MetaMessage("time_signature", numerator=num, denominator=den))
                                      for tick, num, den in _time_signatures(piece)]
    if piece.key:
        k = parse_key(piece.key)
        meta.append((0, mido.MetaMessage.from_bytes([0xFF, 0x59, 2, k.fifths & 0xFF, int(k.mode == "minor")])))
    meta += [(t.tick, mido.MetaMessage("set_tempo", tempo=int(60e6 / t.bpm + 0.5))) for t in piece.tempos]
    meta += sorted(((m.tick, mido.MetaMessage("marker", text=_latin1(SECTION_PREFIX + m.text if m.kind == "section"
                                                                       else m.text))) for m in piece.markers),
                   key=lambda e: e[0])
    f = mido.MidiFile(type=1, ticks_per_beat=piece.resolution)
    for i, (tr, ch) in enumerate(zip(tracks, midi_channels(tracks))):
        # (tick, class, message), sorted stably by tick then class: meta, name and program, program changes,
        # controls, bends, note-offs, note-ons (so a note ending where the next starts is released first)
        events = [(tick, 0, msg) for tick, msg in meta] if i == 0 else []
        events += [(0, 1, mido.MetaMessage("track_name", name=_latin1(tr.name))),
                   (0, 1, mido.Message("program_change", channel=ch, program=tr.program))]
        events += [(p.tick, 2, mido.Message("program_change", channel=ch, program=p.program)) for p in tr.programs]
        events += [(c.tick, 3, mido.Message("control_change", channel=ch, control=c.number, value=c.value))
                   for c in tr.controls]
        events += [(b.tick, 4, mido.Message("pitchwheel", channel=ch, pitch=b.value)) for b in tr.pitch_bends]
        for n in sorted(tr.notes):
            events.append((n.start, 6, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity)))
            events.append((n.start + max(1, n.duration), 5,
                           mido.Message("note_off", channel=ch, note=n.pitch, velocity=n.velocity)))
        events.sort(key=lambda e: (e[0], e[1]))
        f.tracks.append(_track(events))
    if not tracks:
        f.tracks.append(_track([(tick, 0, msg) for tick, msg in meta]))
    return f


def _time_signatures(piece: Piece) -> list[tuple[int, int, int]]:
    """``(tick, numerator, denominator)`` of every time signature a file holds: the meter at tick 0, then the
    meter in force at each later change tick (:meth:`Piece.meter_at`: the last given at a tick), where it differs
    from the one before."""
    out = [(0, *piece.meter_at(0))]
    for tick in sorted({c.tick for c in piece.meter_changes if c.tick > 0}):
        meter = piece.meter_at(tick)
        if meter != out[-1][1:]:
            out.append((tick, *meter))
    return out


def _track(events: list[tuple[int, int, object]]):
    import mido

    out, last = mido.MidiTrack(), 0
    for tick, _, msg in events:
        out.append(msg.copy(time=tick - last))
        last = tick
    out.append(mido.MetaMessage("end_of_track", time=1))
    return out


def write_midi(piece: Piece, path: str | Path, tracks: list[Track] | None = None) -> None:
    """Write a Standard MIDI File (type 1); ``tracks`` picks a subset. Same piece, same bytes."""
    _to_mido(piece, tracks).save(str(path))


def to_symusic(piece: Piece, tracks: list[Track] | None = None):
    """Build a ``symusic.Score`` (ticks) from a piece; ``tracks`` picks a subset.

    symusic keeps one program per track: program changes after the start are left out (:func:`write_midi` keeps
    them); control changes and pitch bends are kept.
    """
    import symusic

    score = symusic.Score(piece.resolution)
    for t in piece.tempos:
        score.tempos.append(symusic.Tempo(t.tick, qpm=float(t.bpm)))
    for tick, num, den in _time_signatures(piece):
        score.time_signatures.append(symusic.TimeSignature(tick, num, den))
    if piece.key:
        k = parse_key(piece.key)
        score.key_signatures.append(symusic.KeySignature(0, k.fifths, 1 if k.mode == "minor" else 0))
    for m in piece.markers:
        text = SECTION_PREFIX + m.text if m.kind == "section" else m.text
        score.markers.append(symusic.TextMeta(m.tick, text))
    for tr in piece.tracks if tracks is None else tracks:
        st = symusic.Track(tr.name, tr.program, tr.is_drum)
        for n in sorted(tr.notes):
            st.notes.append(symusic.Note(n.start, max(1, n.duration), n.pitch, n.velocity))
        for c in tr.controls:
            st.controls.append(symusic.ControlChange(c.tick, c.number, c.value))
        for b in tr.pitch_bends:
            st.pitch_bends.append(symusic.PitchBend(b.tick, b.value))
        score.tracks.append(st)
    return score


# ----- reading -------------------------------------------------------------------------------------------------
def from_symusic(score) -> Piece:
    """Convert a ``symusic.Score`` in ticks to a piece at our resolution (notes, controls, bends; one program)."""
    if score.tpq != TICKS_PER_QUARTER:
        score = score.resample(TICKS_PER_QUARTER, min_dur=1)
    tempos = [TempoChange(int(t.time), float(t.qpm)) for t in score.tempos] or [TempoChange(0, 120.0)]
    dedup: dict[int, TempoChange] = {t.tick: t for t in tempos}  # one tempo per tick (files repeat them)
    meter, meter_changes = _meters([(int(ts.time), (int(ts.numerator), int(ts.denominator)))
                                    for ts in score.time_signatures])
    key = None
    if len(score.key_signatures):
        ks = score.key_signatures[0]
        key = _key_from_signature(int(ks.key), int(ks.tonality))
    markers = [_marker(int(m.time), str(m.text)) for m in score.markers]
    tracks: list[Track] = []
    for i, st in enumerate(score.tracks):
        notes = [Note(int(n.time), max(1, int(n.duration)), int(n.pitch), max(1, int(n.velocity))) for n in st.notes]
        if not notes:
            continue
        name = str(st.name).strip() or f"track{i + 1}"
        tracks.append(Track(name, int(st.program), bool(st.is_drum), sorted(notes),
                            [ControlChange(int(c.time), int(c.number), int(c.value)) for c in st.controls],
                            [PitchBend(int(b.time), int(b.value)) for b in st.pitch_bends]))
    end = max([t.end for t in tracks] + [int(score.end())], default=0)
    return Piece(tracks=tracks, tempos=sorted(dedup.values(), key=lambda t: t.tick), meter=meter,
                 meter_changes=meter_changes, key=key, markers=markers, end_tick=end)


def _meters(signatures: list[tuple[int, tuple[int, int]]]) -> tuple[tuple[int, int], list[MeterChange]]:
    """The meter at tick 0 and the changes after it, from a file's time signatures ``(tick, (num, den))`` in
    our ticks: the first at each tick counts (a file may repeat one in every track), a signature equal to the
    meter in force is dropped, and the earliest holds from tick 0 (4/4 when there is none, as the standard
    says)."""
    first: dict[int, tuple[int, int]] = {}
    for tick, m in sorted(signatures, key=lambda e: e[0]):  # stable: file order within a tick
        first.setdefault(tick, m)
    ticks = sorted(first)
    if not ticks:
        return (4, 4), []
    meter = current = first[ticks[0]]
    changes = []
    for tick in ticks[1:]:
        if first[tick] != current:
            changes.append(MeterChange(tick, *first[tick]))
            current = first[tick]
    return meter, changes


def _marker(tick: int, text: str) -> Marker:
    if text.startswith(SECTION_PREFIX):
        return Marker(tick, text[len(SECTION_PREFIX):], "section")
    try:
        parse_chord(text)
        return Marker(tick, text, "chord")
    except (ChordError, ValueError):
        return Marker(tick, text, "marker")


def _text(text: str) -> str:
    """Meta text as written: UTF-8 when it decodes as such (mido reads latin-1), else as read."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _scale(division: int):
    """File ticks to ours: ``round_half_up(t * num / den)`` for quarter-note or SMPTE-frame division."""
    if division > 0:
        ratio = Fraction(TICKS_PER_QUARTER, division)
    else:  # high byte: minus the frame rate; low byte: ticks per frame
        fps, per_frame = -(division >> 8), division & 0xFF
        if fps not in _SMPTE_FPS or not per_frame:
            raise ValueError(f"SMPTE division of {fps} frames per second x {per_frame} ticks is not valid")
        ratio = Fraction(TICKS_PER_QUARTER) * Fraction(SMPTE_BPM) / 60 / (_SMPTE_FPS[fps] * per_frame)
    num, den = ratio.numerator, ratio.denominator
    if num == den:
        return lambda t: t
    return lambda t: (2 * t * num + den) // (2 * den)


class _Part:
    """One MIDI track's events on one channel, in file ticks; ``events``: (tick, kind, a, b) with kind cc/pb/pc."""

    __slots__ = ("channel", "track_index", "name", "notes", "events")

    def __init__(self, channel: int, track_index: int) -> None:
        self.channel, self.track_index = channel, track_index
        self.name = ""
        self.notes: list[tuple[int, int, int, int]] = []  # (start, end, pitch, velocity)
        self.events: list[tuple[int, str, int, int]] = []


def _read_tracks(mf, smpte: bool):
    """Walk every track: its parts (one per channel it uses, by channel), and the meta events."""
    parts: list[_Part] = []
    tempos, meters, keys, markers = [], [], [], []
    metas_end = 0
    offset = 0
    for ti, track in enumerate(mf.tracks):
        by_channel: dict[int, _Part] = {}
        sounding: dict[tuple[int, int], deque] = {}
        name, tick = "", offset
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind in ("note_on", "note_off"):
                part = by_channel.get(msg.channel)
                if part is None:
                    part = by_channel[msg.channel] = _Part(msg.channel, ti)
                if kind == "note_on" and msg.velocity > 0:
                    sounding.setdefault((msg.channel, msg.note), deque()).append((tick, msg.velocity))
                else:  # the earliest sounding note of that pitch ends (first in, first out, as symusic pairs)
                    queue = sounding.get((msg.channel, msg.note))
                    if queue:
                        start, velocity = queue.popleft()
                        part.notes.append((start, tick, msg.note, velocity))
                continue
            if msg.is_meta:
                if kind == "track_name":
                    name = msg.name
                elif kind == "set_tempo":
                    if not smpte:
                        tempos.append((tick, 60e6 / msg.tempo))
                elif kind == "time_signature":
                    meters.append((tick, (msg.numerator, msg.denominator)))
                elif kind == "key_signature":
                    sf, mi = msg.bytes()[-2:]
                    keys.append((tick, (sf - 256 if sf > 127 else sf, mi)))
                elif kind == "marker" and msg.text:  # an empty marker marks nothing (symusic left them out too)
                    markers.append((tick, _text(msg.text)))
                else:
                    continue
                metas_end = max(metas_end, tick)
                continue
            if kind == "control_change":
                event = (tick, "cc", msg.control, msg.value)
            elif kind == "pitchwheel":
                event = (tick, "pb", msg.pitch, 0)
            elif kind == "program_change":
                event = (tick, "pc", msg.program, 0)
            else:  # aftertouch, polyphonic pressure, sysex: not carried
                continue
            part = by_channel.get(msg.channel)
            if part is None:
                part = by_channel[msg.channel] = _Part(msg.channel, ti)
            part.events.append(event)
        for (channel, pitch), queue in sounding.items():  # notes never let go: held to the end of the track
            for start, velocity in queue:
                by_channel[channel].notes.append((start, tick, pitch, velocity))
        for part in by_channel.values():
            part.name = _text(name).strip()
        parts += sorted(by_channel.values(), key=lambda part: part.channel)
        if mf.type == 2:  # patterns play one after another
            offset = tick
    return parts, tempos, meters, keys, markers, metas_end


def _from_mido(mf) -> Piece:
    smpte = mf.ticks_per_beat < 0
    scale = _scale(mf.ticks_per_beat)
    parts, tempos, meters, keys, markers, metas_end = _read_tracks(mf, smpte)

    # channel events from a track that plays no notes on that channel (a set-up track) go to every part on it
    shared: dict[int, list[tuple[int, int, int, tuple]]] = {}
    for part in parts:
        if not part.notes:
            shared.setdefault(part.channel, []).extend((e[0], part.track_index, i, e)
                                                       for i, e in enumerate(part.events))
    playing = [p for p in parts if p.notes]

    tracks: list[Track] = []
    for k, part in enumerate(playing):
        events = [(e[0], part.track_index, i, e) for i, e in enumerate(part.events)] + shared.get(part.channel, [])
        events.sort(key=lambda e: e[:3])  # by tick, then in track order, then in file order
        notes = sorted(Note(scale(s), max(1, scale(e - s)), pitch, max(1, v)) for s, e, pitch, v in part.notes)
        first = notes[0].start
        program, controls, bends, programs = 0, [], [], []
        for _, _, _, (tick, kind, a, b) in events:
            tick = scale(tick)
            if kind == "cc":
                controls.append(ControlChange(tick, a, b))
            elif kind == "pb":
                bends.append(PitchBend(tick, a))
            elif tick <= first:  # the program the first note sounds with; earlier changes are not heard
                program = a
            else:
                programs.append(ProgramChange(tick, a))
        name = part.name  # a track split by channel keeps its name on every part, as symusic did
        tracks.append(Track(name or f"track{k + 1}", program, part.channel == DRUM_CHANNEL, notes, controls, bends,
                            programs))

    tempo_map = {scale(t): TempoChange(scale(t), bpm) for t, bpm in sorted(tempos, key=lambda e: e[0])}
    if smpte:
        tempo_map = {}
    tempo_map.setdefault(0, TempoChange(0, SMPTE_BPM if smpte else 120.0))  # the standard's tempo until one is set
    meter, meter_changes = _meters([(scale(t), m) for t, m in meters])
    key = _key_from_signature(*min(keys, key=lambda e: e[0])[1]) if keys else None
    marks = [_marker(scale(t), text) for t, text in sorted(markers, key=lambda e: e[0])]
    end = max([t.end for t in tracks] + [scale(metas_end)])
    return Piece(tracks=tracks, tempos=sorted(tempo_map.values(), key=lambda t: t.tick), meter=meter,
                 meter_changes=meter_changes, key=key, markers=marks, end_tick=end)


def read_midi(path: str | Path) -> Piece:
    """Read any Standard MIDI File into a piece. Raises :class:`MidiError` with a one-line reason."""
    import mido

    p = Path(path)
    if not p.is_file():
        raise MidiError(f"MIDI file not found: {p}")
    try:
        # clip: data bytes above 127 are clamped, as players do, rather than refusing the file
        mf = mido.MidiFile(str(p), clip=True)
        piece = _from_mido(mf)
    except (OSError, EOFError, ValueError, KeyError, IndexError, mido.KeySignatureError) as e:  # what mido raises
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise MidiError(f"cannot read {p} as MIDI: {text}") from None
    if not piece.tracks:
        raise MidiError(f"MIDI file {p} has no notes")
    return piece


def _key_from_signature(fifths: int, minor: int) -> str:
    major_tonic = (fifths * 7) % 12
    return Key((major_tonic - 3) % 12 if minor else major_tonic, "minor" if minor else "major").name
