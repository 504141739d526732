"""A caption for any piece, in MidiCaps's style, and the same attributes as JSON (``framescore describe``).

The attributes come from the plan the piece reads into (:func:`framescore.symbolic.reading.plan_from_piece`):
the instruments (the programs of the tracks with a role, melody first), the key (the project's estimator), the
time signature, the tempo with its Italian term (:data:`TEMPO_TERMS`), the chord progression of the first theme
(its first statement's chords, repeats merged, at most :data:`MAX_CHORDS`), the mood (the quadrant of the
classifier's valence and arousal, in a word the mood lexicon knows) and the length.

**Genre is left out**: nothing here tells genre from notes (POP909 is all pop piano, EMOPIA all pop-piano
transcriptions), so the JSON says ``"genre": null`` and why, rather than guess.

The caption is written so that :func:`framescore.vision.words.read_words` reads back the same key, meter, tempo,
instruments and chords (tested for every General MIDI program and on real files).
"""

from __future__ import annotations

from typing import Any

from ..symbolic.chords import chord_label, parse_chord
from ..symbolic.plan import MusicPlan

__all__ = ["MAX_CHORDS", "TEMPO_TERMS", "attributes", "caption", "instrument_name", "tempo_term"]

#: (upper bpm bound, term): the Italian term a tempo is described with, from the ranges in
#: :data:`framescore.vision.words.ITALIAN_TEMPI` made contiguous.
TEMPO_TERMS = ((40, "Grave"), (60, "Largo"), (66, "Larghetto"), (76, "Adagio"), (108, "Andante"),
               (120, "Moderato"), (156, "Allegro"), (168, "Vivace"), (200, "Presto"), (10_000, "Prestissimo"))
#: The most chords the caption lists.
MAX_CHORDS = 8
#: Names too generic to describe a program with (they read back, but say little).
_GENERIC = {"bass", "keys", "keyboard", "lead", "pad", "voice", "bells", "horn", "synth", "synthesizer"}


def _plural(name: str) -> bool:
    return name.endswith("s") and not name.endswith("ss") and name != "strings"


def tempo_term(bpm: float) -> str:
    """The Italian term of :data:`TEMPO_TERMS` whose range holds ``bpm``."""
    return next(term for hi, term in TEMPO_TERMS if bpm < hi)


def instrument_name(program: int) -> str:
    """A short common name for a General MIDI program that :func:`read_words` maps back to it: the shortest
    singular, non-generic name it knows for the program ("piano", "string ensemble", "bass guitar")."""
    from .words import instrument_names

    names = [n for n, p in instrument_names().items() if p == program]
    good = [n for n in names if n not in _GENERIC and not _plural(n)] or names
    return min(good, key=lambda n: (len(n), n))


def _mood(valence: float, arousal: float) -> str:
    """One word the mood lexicon knows, for the quadrant (and strength) of valence and arousal."""
    strong = max(abs(valence), abs(arousal)) > 0.6
    if valence >= 0 and arousal >= 0:
        return "energetic" if strong and arousal > valence else "happy"
    if valence < 0 <= arousal:
        return "tense" if strong else "dark"
    if valence < 0:
        return "sad" if strong else "melancholic"
    return "peaceful" if strong else "calm"


def _progression(plan: MusicPlan) -> list[str]:
    """The first theme's chords: its first statement's slots in order, repeats merged, ``N`` left out."""
    first = next((s for s in plan.sections if s.role in ("theme", "contrast")), plan.sections[0])
    out: list[str] = []
    for b in range(first.start_bar, first.start_bar + first.n_bars):
        for slot in plan.bars[b].chords:
            label = chord_label(slot.chord)
            if not parse_chord(slot.chord).is_none and (not out or out[-1] != label):
                out.append(label)
    return out[:MAX_CHORDS]


def _form(plan: MusicPlan) -> str:
    return " ".join(s.label for s in plan.sections)


def attributes(plan: MusicPlan) -> dict[str, Any]:
    """The described attributes of a plan read from a piece, as JSON-ready values (caption included)."""
    order = ("melody", "harmony", "bass", "drums")
    programs = [(r, plan.instrumentation[r]) for r in order if r in plan.instrumentation]
    names: list[str] = []
    programs += [(r, p) for r in order if r != "drums" for p in plan.layers.get(r, [])]
    for role, program in programs:
        name = "drums" if role == "drums" else instrument_name(program)
        if name not in names:
            names.append(name)
    bpm = round(plan.tempo_bpm)
    out: dict[str, Any] = {
        "instruments": names,
        "instrumentation": dict(plan.instrumentation),
        "layers": {r: list(ps) for r, ps in plan.layers.items()},
        "key": plan.key,
        "time_signature": plan.meter,
        "tempo_bpm": bpm,
        "tempo_term": tempo_term(bpm),
        "chords": _progression(plan),
        "mood": _mood(plan.valence, plan.arousal),
        "valence": plan.valence,
        "arousal": plan.arousal,
        "genre": None,
        "genre_note": "not told from notes: no genre classifier is trained here (see framescore.vision.describe)",
        "duration_sec": round(plan.duration_sec, 1),
        "bars": plan.n_bars,
        "form": _form(plan),
    }
    out["caption"] = caption(out)
    return out


def _list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def caption(a: dict[str, Any]) -> str:
    """The MidiCaps-style sentence for :func:`attributes`: instruments, key, time signature, tempo with its term,
    chords, mood and length."""
    mood = a["mood"]
    article = "An" if mood[0] in "aeiou" else "A"
    parts = [f"{article} {mood} piece featuring {_list(a['instruments'])}." if a["instruments"] else
             f"{article} {mood} piece."]
    term = a["tempo_term"]
    parts.append(f"Set in {a['key']} with a {a['time_signature']} time signature, it moves at "
                 f"{'an' if term[0] in 'AEIOU' else 'a'} {term} tempo of {a['tempo_bpm']} bpm.")
    if a["chords"]:
        parts.append(f"The chord progression is {', '.join(a['chords'])}.")
    parts.append(f"It lasts {round(a['duration_sec'])} seconds.")
    return " ".join(parts)
