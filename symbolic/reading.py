"""Any MIDI file → a plan: the music read back into the plan's own terms, so it can be re-arranged by any engine
(``framescore plan song.mid``), described (``framescore describe``) or borrowed from (``--like ref.mid``).

What is read, and how:

- **bars and meter**: the file's own bar lines and time signatures (:meth:`Piece.bar_starts`); the piece's meter
  is the one that holds most of its time, and a bar of another length keeps its own (``BarPlan.meter``);
- **tempo**: the base tempo is the whole piece's mean (quarters over minutes), a section's own when its mean
  differs by more than 2%; so every section lasts as long as it does in the file;
- **key**: the project's estimator (:func:`.metrics.estimate_key`); the file's key signature is only noted;
- **chords**: per half bar, by :mod:`.chord_reading` (template matching and Viterbi, its accuracy in the README);
- **density and dynamics**: per bar, by the same functions that label the training data (:mod:`.attributes`);
- **melody**: the track named melody, lead, vocal or voice, else the highest monophonic part
  (:func:`melody_track`); a bar has melody where that track starts a note;
- **instrumentation**: the programs of the tracks that play each role (:func:`roles_of`); every other pitched
  track keeps its instrument as a layer of the role nearest it (:func:`.layers.layer_role`);
- **sections**: by repetition and novelty over the bars (:func:`sections_of`), with theme labels where the
  material returns;
- **valence and arousal**: the EMOPIA classifier (:class:`.models.va_classifier.VAClassifier`), of the whole
  piece and of each section.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .attributes import bar_density, bar_dynamics
from .chord_reading import half_bars, read_chords
from .chords import Chord, Key
from .layers import layer_role
from .metrics import estimate_key
from .piece import Note, Piece, TempoChange, Track
from .plan import ROLES, BarPlan, ChordSlot, MusicPlan, PlanError, Section

__all__ = ["MELODY_NAMES", "TrackRole", "melody_track", "plan_from_piece", "roles_of", "sections_of",
           "bar_similarity"]

#: Track names (lower case, any part of the name) that say "this is the tune".
MELODY_NAMES = ("melody", "lead", "vocal", "voice", "tune", "solo")
#: Two bars whose similarity (:func:`bar_similarity`) is at least this play the same material.
SAME_BAR = 0.6
#: A section returns to an earlier theme when its bars match the theme's first statement's this well on average.
SAME_SECTION = 0.7
#: A phrase is about this many quarter notes (four bars of 4/4, eight of 2/4): the grid sections start on.
PHRASE_QUARTERS = 32


@dataclass(frozen=True)
class TrackRole:
    """One track of the file and the role it plays in the plan (None: a part the plan has no role for)."""

    index: int
    name: str
    program: int
    is_drum: bool
    notes: int
    role: str | None


def _polyphony(notes: list[Note]) -> float:
    """Share of the sounding time during which two or more of the notes sound."""
    if not notes:
        return 0.0
    ev = sorted([(n.start, 1) for n in notes] + [(n.end, -1) for n in notes])
    depth, last, sounding, poly = 0, ev[0][0], 0, 0
    for tick, d in ev:
        if depth > 0:
            sounding += tick - last
        if depth > 1:
            poly += tick - last
        depth, last = depth + d, tick
    return poly / sounding if sounding else 0.0


def melody_track(piece: Piece) -> int | None:
    """Index of the track that carries the tune: one named so (:data:`MELODY_NAMES`), else the pitched track with
    the highest mean pitch among the mostly monophonic ones (two notes at once under 20% of its time), when the
    piece has another pitched track to accompany it. None: no track is the tune (a solo piano part)."""
    pitched = [(i, t) for i, t in enumerate(piece.tracks) if not t.is_drum and t.notes]
    for i, t in pitched:
        if any(word in t.name.lower() for word in MELODY_NAMES):
            return i
    if len(pitched) < 2:
        return None
    mono = [(float(np.mean([n.pitch for n in t.notes])), i) for i, t in pitched if _polyphony(t.notes) < 0.2]
    return max(mono)[1] if mono else None


def _is_bass(t: Track) -> bool:
    return 32 <= t.program <= 39 or t.program == 43 or "bass" in t.name.lower() or (
        float(np.mean([n.pitch for n in t.notes])) < 48 and _polyphony(t.notes) < 0.2)


def roles_of(piece: Piece) -> list[TrackRole]:
    """Each track's role: the drums, the melody (:func:`melody_track`), a bass (a bass program or name, or a low
    monophonic part), and harmony for the pitched track with the most notes left. The other tracks are listed with
    no role (the plan keeps their instruments as layers)."""
    mel = melody_track(piece)
    roles: dict[int, str] = {}
    drums = [i for i, t in enumerate(piece.tracks) if t.is_drum and t.notes]
    if drums:
        roles[max(drums, key=lambda i: len(piece.tracks[i].notes))] = "drums"
    if mel is not None:
        roles[mel] = "melody"
    rest = [i for i, t in enumerate(piece.tracks) if not t.is_drum and t.notes and i not in roles]
    basses = [i for i in rest if _is_bass(piece.tracks[i])]
    if basses and len(rest) > 1:
        low = min(basses, key=lambda i: np.mean([n.pitch for n in piece.tracks[i].notes]))
        roles[low] = "bass"
        rest.remove(low)
    if rest:
        roles[max(rest, key=lambda i: len(piece.tracks[i].notes))] = "harmony"
    return [TrackRole(i, t.name, t.program, t.is_drum, len(t.notes), roles.get(i)) for i, t in enumerate(piece.tracks)]


# ----- sections: repetition and novelty ----------------------------------------------------------------------------
def _bar_features(piece: Piece, lines: list[int], tune: list[Note]) -> tuple[np.ndarray, list[set]]:
    """Per bar: its chroma (L2-normalised) and the set of (16th-note position, pitch) of the tune's onsets."""
    pitched = piece.notes()
    n = len(lines) - 1
    chroma = np.zeros((n, 12))
    for note in pitched:
        b0 = np.searchsorted(lines, note.start, side="right") - 1
        b1 = np.searchsorted(lines, note.end, side="left")
        for b in range(max(b0, 0), min(b1, n)):
            chroma[b, note.pitch % 12] += min(note.end, lines[b + 1]) - max(note.start, lines[b])
    norm = np.linalg.norm(chroma, axis=1, keepdims=True)
    np.divide(chroma, norm, out=chroma, where=norm > 0)
    step = max(1, piece.resolution // 4)
    onsets: list[set] = [set() for _ in range(n)]
    for note in tune:
        b = int(np.searchsorted(lines, note.start, side="right")) - 1
        if 0 <= b < n:
            onsets[b].add(((note.start - lines[b]) // step, note.pitch))
    return chroma, onsets


def bar_similarity(chroma: np.ndarray, onsets: list[set]) -> np.ndarray:
    """Bars × bars similarity in [0, 1]: the mean of the chroma cosine (each bar's chroma less the piece's mean, so
    that one key's usual sound does not make every bar alike) and the tune's onset Jaccard (bars where the tune is
    silent in both compare on chroma alone)."""
    centred = chroma - chroma.mean(axis=0, keepdims=True)  # what sets a bar apart from the piece's usual sound
    norm = np.linalg.norm(centred, axis=1, keepdims=True)
    np.divide(centred, norm, out=centred, where=norm > 0)
    cos = np.clip(centred @ centred.T, 0, 1)
    n = len(onsets)
    jac = np.zeros((n, n))
    both_silent = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(i, n):
            a, b = onsets[i], onsets[j]
            if not a and not b:
                both_silent[i, j] = both_silent[j, i] = True
            else:
                jac[i, j] = jac[j, i] = len(a & b) / len(a | b)
    return np.where(both_silent, cos, 0.5 * cos + 0.5 * jac)


def _phrase_starts(n: int, tune_bars: list[bool], phrase: int) -> list[int]:
    """Phrases of ``phrase`` bars counted from the bar the tune first enters; the bars before it (two or more) are
    one phrase of their own (an intro), and a last sliver of one bar joins the phrase before."""
    first = next((b for b, t in enumerate(tune_bars) if t), 0)
    offset = first if first >= 2 else 0
    starts = sorted({0, *range(offset, n, phrase)} - ({*range(1, offset)} if offset else set()))
    starts = [s for s in starts if s == 0 or s >= offset]
    if len(starts) > 1 and n - starts[-1] < 2:
        starts.pop()
    return starts


def _match(sim: np.ndarray, a: tuple[int, int], b: tuple[int, int]) -> float:
    """How alike two spans ``(start, length)`` are: the mean similarity of their bars, first with first."""
    k = min(a[1], b[1])
    return float(np.mean([sim[a[0] + j, b[0] + j] for j in range(k)]))


def sections_of(sim: np.ndarray, tune_bars: list[bool], phrase: int = 4) -> list[Section]:
    """Sections by repetition: the bars cut into phrases (:func:`_phrase_starts`); each phrase takes the label of
    the earlier one it matches best, at :data:`SAME_SECTION` or more (:func:`_match`), else a new label; a run of
    phrases with one label is one section. A label's first section states a theme (A, B, ...: role ``theme``
    first, ``contrast`` after), a later one returns to it (``return``, one prime per return). A first phrase
    without the tune is the intro; a last section with new material and no tune, or of one phrase, the ending."""
    n = len(sim)
    starts = _phrase_starts(n, tune_bars, phrase)
    spans = [(a, z - a) for a, z in zip(starts, starts[1:] + [n])]
    labels: list[int | None] = []
    bar_label: list[int | None] = []
    n_labels = 0
    for i, (start, length) in enumerate(spans):
        if i == 0 and len(spans) > 1 and any(tune_bars) and not any(tune_bars[start:start + length]):
            labels.append(None)  # the intro
        else:
            # the best match anywhere earlier, at any bar: a phrase grid that slips by a bar still finds its theme
            scores = [(_match(sim, (start, length), (j, min(length, start - j))), j) for j in range(start)
                      if bar_label[j] is not None and start - j >= max(2, length // 2)]
            score, j = max(scores, default=(0.0, -1))
            if score >= SAME_SECTION:
                labels.append(bar_label[j])
            else:
                labels.append(n_labels)
                n_labels += 1
        bar_label += [labels[-1]] * length
    runs: list[tuple[int | None, int, int]] = []  # (label, start bar, bars)
    for label, (start, length) in zip(labels, spans):
        if runs and runs[-1][0] == label and label is not None:
            runs[-1] = (label, runs[-1][1], runs[-1][2] + length)
        else:
            runs.append((label, start, length))
    first_run = {}
    for i, (label, _, _) in enumerate(runs):
        first_run.setdefault(label, i)
    out: list[Section] = []
    themes: dict[int, str] = {}
    returns: dict[int, int] = {}
    for i, (label, start, length) in enumerate(runs):
        last_new = i == len(runs) - 1 and i > 0 and first_run[label] == i
        if label is None:
            out.append(Section("intro", start, length, theme=None, role="intro"))
        elif last_new and (length <= phrase or not any(tune_bars[start:start + length])):
            out.append(Section("ending", start, length, theme=None, role="ending"))
        elif label in themes:
            returns[label] += 1
            t = themes[label]
            out.append(Section(t + "'" * returns[label], start, length, theme=t, role="return"))
        else:
            t = chr(ord("A") + len(themes)) if len(themes) < 26 else f"T{len(themes)}"
            themes[label], returns[label] = t, 0
            out.append(Section(t, start, length, theme=t, role="theme" if len(themes) == 1 else "contrast"))
    return out


# ----- the plan ----------------------------------------------------------------------------------------------------
def _bar_meter(piece: Piece, lo: int, hi: int) -> tuple[int, int]:
    """The meter of the bar ``[lo, hi)``: the one in force, or, for a bar cut short, its length in that unit."""
    num, den = piece.meter_at(lo)
    unit = piece.resolution * 4 // den
    if hi - lo != num * unit and (hi - lo) % unit == 0 and 1 <= (hi - lo) // unit <= 16:
        num = (hi - lo) // unit
    return num, den


def _mean_bpm(piece: Piece, lo: int, hi: int) -> float:
    secs = piece.ticks_to_secs([lo, hi])
    return (hi - lo) / piece.resolution * 60.0 / (secs[1] - secs[0])


def _crop(piece: Piece, lo: int, hi: int) -> Piece:
    """The notes that start in ``[lo, hi)``, moved to tick 0, with the tempo there (for the classifier)."""
    tracks = [Track(t.name, t.program, t.is_drum, [Note(n.start - lo, min(n.duration, hi - n.start), n.pitch,
                                                        n.velocity) for n in t.notes if lo <= n.start < hi])
              for t in piece.tracks]
    bpm = _mean_bpm(piece, lo, hi)
    return Piece(tracks=tracks, tempos=[TempoChange(0, bpm)], meter=piece.meter_at(lo), end_tick=hi - lo,
                 resolution=piece.resolution)


def plan_from_piece(piece: Piece, name: str = "", va: bool = True, engine: str = "rule", seed: int = 0) -> MusicPlan:
    """The plan of any piece (module docstring): validated, its ``source`` naming the file, its tracks and roles,
    the key signature it carries and how each attribute was read. ``va=False`` leaves valence and arousal at 0
    (no classifier)."""
    notes = piece.notes()
    if not notes:
        raise PlanError(f"{name or 'the MIDI file'}: no pitched notes to read a plan from")
    lines = piece.bar_starts()
    n_bars = len(lines) - 1
    meters = [_bar_meter(piece, a, z) for a, z in zip(lines, lines[1:])]
    span: dict[tuple[int, int], int] = {}
    for m, a, z in zip(meters, lines, lines[1:]):
        span[m] = span.get(m, 0) + z - a
    base = max(span, key=lambda m: span[m])  # the meter that holds the most of the music; others are bar meters
    key = estimate_key(piece) or Key(0, "major")
    flats = key.uses_flats
    spans = half_bars(piece)
    chords = read_chords(piece, key, spans=spans)
    halves: dict[int, list[Chord]] = {}
    for (b, h, _, _), c in zip(spans, chords):
        halves.setdefault(b, []).append(c)
    roles = roles_of(piece)
    mel = next((r.index for r in roles if r.role == "melody"), None)
    tune = piece.tracks[mel].notes if mel is not None else notes
    tune_starts = np.array([n.start for n in tune], dtype=np.int64)
    tune_bars = [bool(((tune_starts >= a) & (tune_starts < z)).any()) for a, z in zip(lines, lines[1:])]
    bars = []
    prev: Chord | None = None
    for b in range(n_bars):
        num, den = meters[b]
        slots: list[ChordSlot] = []
        for h, c in enumerate(halves.get(b) or [prev]):
            sym = c.symbol(flats) if c is not None else "N"
            if not slots or slots[-1].chord != sym:
                slots.append(ChordSlot(h * num / 2, sym))
            prev = c
        length = lines[b + 1] - lines[b]
        bars.append(BarPlan(slots, round(bar_density(notes, lines[b], length, piece.resolution * 4 // den), 4),
                            round(bar_dynamics(notes, lines[b], length), 4),
                            meter=None if (num, den) == base else f"{num}/{den}", melody=tune_bars[b]))
    chroma, onsets = _bar_features(piece, lines, tune)
    phrase = max(2, round(PHRASE_QUARTERS / (base[0] * 4 / base[1])))
    sections = sections_of(bar_similarity(chroma, onsets), tune_bars, min(phrase, 16))
    end = min(piece.end_tick, lines[-1])
    tempo = _mean_bpm(piece, 0, end)
    for s in sections:
        lo, hi = lines[s.start_bar], min(lines[s.start_bar + s.n_bars], end)
        if hi > lo:
            bpm = _mean_bpm(piece, lo, hi)
            s.tempo_bpm = round(bpm, 3) if abs(bpm / tempo - 1) > 0.02 else None
    valence = arousal = 0.0
    if va:
        from .models.va_classifier import VAClassifier

        clf = VAClassifier.load()
        valence, arousal = clf.valence_arousal(piece)
        for s in sections:
            lo, hi = lines[s.start_bar], lines[s.start_bar + s.n_bars]
            sub = _crop(piece, lo, hi)
            if sub.notes():
                s.valence, s.arousal = (round(float(v), 3) for v in clf.valence_arousal(sub))
    inst = {r.role: r.program for r in sorted((r for r in roles if r.role), key=lambda r: ROLES.index(r.role))}
    if "harmony" not in inst and "melody" not in inst:
        inst["harmony"] = next(r.program for r in roles if not r.is_drum and r.notes)
    if "melody" not in inst:  # a solo part: its top voice is the tune, on the same instrument
        inst["melody"] = inst["harmony"]
    inst = {r: inst[r] for r in ROLES if r in inst}
    layers: dict[str, list[int]] = {}
    room = 15 - sum(r != "drums" for r in inst)
    for r in roles:  # every other pitched track keeps its instrument, as a layer of the role it is nearest
        if r.role is None and not r.is_drum and r.notes and room > 0:
            role = layer_role(r.program, _is_bass(piece.tracks[r.index]))
            role = role if role in inst else "harmony" if "harmony" in inst else "melody"
            layers.setdefault(role, []).append(r.program)
            room -= 1
    source: dict[str, Any] = {
        "from": "midi", "file": Path(name).name if name else None,
        "tracks": [{"track": r.index, "name": r.name, "program": r.program, "drums": r.is_drum, "notes": r.notes,
                    "role": r.role} for r in roles],
        "key_signature": piece.key, "key_estimated": key.name,
        "chords": "read per half bar from the notes (symbolic.chord_reading)",
        "sections": "by repetition and novelty over the bars (symbolic.reading)",
        "tempo_changes": len(piece.tempos),
    }
    plan = MusicPlan(duration_sec=1.0, tempo_bpm=round(tempo, 3), meter=f"{base[0]}/{base[1]}", key=key.name,
                     bars=bars, sections=sections, valence=round(float(valence), 3),
                     arousal=round(float(arousal), 3), instrumentation=inst, layers=layers, seed=seed, engine=engine,
                     source=source)
    secs = plan.bar_start_secs()
    last = n_bars - 1
    frac = (end - lines[last]) / (lines[last + 1] - lines[last])
    plan.duration_sec = round(secs[last] + frac * (secs[last + 1] - secs[last]), 6)
    return plan.validate()


# ----- borrowing from a reference piece (--like) -----------------------------------------------------------------
def _statement_of(ref: MusicPlan, sec: Section, order: dict[str | None, int]) -> Section:
    """The reference section a new section borrows its chords from: the intro's or the ending's own (else the
    first or the last section), and for the k-th theme of the new plan the reference's k-th theme's first
    statement (cycling when the reference has fewer)."""
    themes = [s for s in ref.sections if s.role in ("theme", "contrast")] or list(ref.sections)
    if sec.role in ("intro", "ending"):
        own = [s for s in ref.sections if s.role == sec.role]
        return own[0] if own else (ref.sections[0] if sec.role == "intro" else ref.sections[-1])
    return themes[order.setdefault(sec.theme or sec.label, len(order)) % len(themes)]


def _resample(values: list[float], n: int) -> list[float]:
    """``values`` (one per bar) stretched or squeezed to ``n`` bars by linear interpolation over the position."""
    if n == 0:
        return []
    if len(values) == 1:
        return [values[0]] * n
    x = (np.arange(n) + 0.5) / n * len(values) - 0.5
    return [float(v) for v in np.interp(x, np.arange(len(values)), values)]


def borrow(plan: MusicPlan, ref: MusicPlan) -> MusicPlan:
    """``plan`` (its sections and bars decided by the picture) with the reference's progression and density
    contour: each section takes the chords of the reference section :func:`_statement_of` picks, bar by bar
    (cycling), so a returning scene brings back the same borrowed chords; the chords are moved into the plan's key
    (by the tonics' distance) and their beats scaled to the plan's meter; the last bar closes on the tonic.
    Density per bar follows the reference's contour, resampled to the plan's bars. The plan's key, tempo, meter
    and instruments are the mapping's business (it takes the reference's unless a flag says otherwise)."""
    from .chords import parse_chord

    shift = (plan.key_obj.tonic - ref.key_obj.tonic) % 12
    if shift > 6:
        shift -= 12
    flats = plan.key_obj.uses_flats
    order: dict[str | None, int] = {}
    for sec in plan.sections:
        src = _statement_of(ref, sec, order)
        for j in range(sec.n_bars):
            b = sec.start_bar + j
            rb = src.start_bar + j % src.n_bars
            num, rnum = plan.bar_meter(b)[0], ref.bar_meter(rb)[0]
            slots: list[ChordSlot] = []
            for slot in ref.bars[rb].chords:
                beat = round(slot.beat * num / rnum, 4)
                sym = parse_chord(slot.chord).transpose(shift).symbol(flats)
                if beat < num and (not slots or (beat - slots[-1].beat >= 0.0625 and sym != slots[-1].chord)):
                    slots.append(ChordSlot(beat, sym))
            plan.bars[b].chords = slots or [ChordSlot(0.0, "N")]
    key = plan.key_obj
    tonic = Chord(key.tonic, "min" if key.mode == "minor" else "maj")
    plan.bars[-1].chords = [ChordSlot(0.0, tonic.symbol(flats))]
    for bar, d in zip(plan.bars, _resample([b.density for b in ref.bars], plan.n_bars)):
        bar.density = round(min(1.0, max(0.0, d)), 4)
    plan.source["like"] = {
        "file": ref.source.get("file"), "key": ref.key, "tempo_bpm": ref.tempo_bpm, "meter": ref.meter,
        "instrumentation": dict(ref.instrumentation), "layers": dict(ref.layers),
        "chords": "each section takes a reference section's chords bar by bar (symbolic.reading.borrow)",
        "density": "the reference's per-bar contour, resampled",
    }
    return plan.validate()
