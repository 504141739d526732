"""Keys and chord symbols.

One canonical form, POP909's ``root:quality[/bass]`` (``C:maj``, ``Bb:min7``, ``A:min/b3``), is what plans store
and models see. The parser also reads common lead-sheet spellings (``Am``, ``F#m7``, ``Bbmaj7``, ``G7``,
``Csus4``, ``D/F#``) and Roman numerals relative to a key (``I V vi IV``, ``ii7 V7 Imaj7``). A symbol it cannot
read raises :class:`ChordError` naming it: never a silent guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import FramescoreError

__all__ = [
    "Chord",
    "ChordError",
    "Key",
    "KeyError_",
    "QUALITIES",
    "chord_label",
    "parse_chord",
    "parse_key",
    "parse_pitch_class",
    "parse_progression",
    "pc_name",
    "triad_of",
]

#: Intervals above the root, in semitones, for every quality POP909 uses (and a few more lead sheets use).
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "minmaj7": (0, 3, 7, 11),
    "hdim7": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
    "maj6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9),
    "sus4(b7)": (0, 5, 7, 10),
    "9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "min9": (0, 3, 7, 10, 14),
    "add9": (0, 4, 7, 14),
}

#: (triad, intervals it needs), most specific first: what a quality is built on once 7ths, 6ths and 9ths are dropped.
_TRIADS = (("dim", {3, 6}), ("aug", {4, 8}), ("maj", {4, 7}), ("min", {3, 7}), ("sus4", {5, 7}), ("sus2", {2, 7}))


def triad_of(quality: str) -> str:
    """The triad a quality is built on: ``"min7"`` → ``"min"``, ``"sus4(b7)"`` → ``"sus4"``, ``"hdim7"`` → ``"dim"``."""
    intervals = set(QUALITIES[quality])
    return next((name for name, need in _TRIADS if need <= intervals), quality)


_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

# Bass notes in POP909 are scale degrees above the chord root ("/3", "/b3", "/5", "/b7").
_DEGREE_SEMITONES = {
    "1": 0, "b2": 1, "2": 2, "#2": 3, "b3": 3, "3": 4, "4": 5, "#4": 6, "b5": 6, "5": 7, "#5": 8,
    "b6": 8, "6": 9, "bb7": 9, "b7": 10, "7": 11, "b9": 1, "9": 2, "#9": 3, "11": 5, "#11": 6, "13": 9,
}
_SEMITONE_DEGREE = {0: "1", 1: "b2", 2: "2", 3: "b3", 4: "3", 5: "4", 6: "b5", 7: "5", 8: "#5", 9: "6", 10: "b7", 11: "7"}


class ChordError(FramescoreError):
    """A chord symbol or progression that cannot be read."""


class KeyError_(FramescoreError):  # noqa: N801 - not the builtin KeyError
    """A key name that cannot be read."""


def parse_pitch_class(name: str) -> int:
    """``"C#"`` → 1, ``"Bb"`` → 10, ``"Cb"`` → 11. Raises ValueError on anything else."""
    m = re.fullmatch(r"([A-Ga-g])([#b♯♭]*)", name.strip())
    if not m:
        raise ChordError(f"not a note name: {name!r}")
    pc = _LETTER_PC[m.group(1).upper()]
    for acc in m.group(2):
        pc += 1 if acc in "#♯" else -1
    return pc % 12


# Keys whose signatures use flats; everything else is spelled with sharps.
_FLAT_MAJOR = {5, 10, 3, 8, 1, 6}  # F Bb Eb Ab Db Gb
_FLAT_MINOR = {2, 7, 0, 5, 10, 3}  # D G C F Bb Eb


def pc_name(pc: int, flats: bool = False) -> str:
    """Name a pitch class, with flats or sharps."""
    return (_FLAT_NAMES if flats else _SHARP_NAMES)[pc % 12]


@dataclass(frozen=True)
class Key:
    """A tonic pitch class and a mode (``major`` or ``minor``)."""

    tonic: int
    mode: str = "major"

    def __post_init__(self) -> None:
        if self.mode not in ("major", "minor"):
            raise KeyError_(f"unknown mode {self.mode!r} (use major or minor)")
        object.__setattr__(self, "tonic", self.tonic % 12)

    @property
    def uses_flats(self) -> bool:
        return self.tonic in (_FLAT_MAJOR if self.mode == "major" else _FLAT_MINOR)

    @property
    def name(self) -> str:
        """``"D minor"``: the form plans store."""
        return f"{pc_name(self.tonic, self.uses_flats)} {self.mode}"

    @property
    def scale(self) -> tuple[int, ...]:
        """Pitch classes of the scale (natural minor for minor keys), tonic first."""
        steps = (0, 2, 4, 5, 7, 9, 11) if self.mode == "major" else (0, 2, 3, 5, 7, 8, 10)
        return tuple((self.tonic + s) % 12 for s in steps)

    @property
    def fifths(self) -> int:
        """Sharps (positive) or flats (negative) in the key signature, for MIDI and MusicXML."""
        major_tonic = self.tonic if self.mode == "major" else (self.tonic + 3) % 12
        f = (major_tonic * 7) % 12  # position on the circle of fifths, 0..11
        if f > 6 or (f == 6 and self.uses_flats):
            f -= 12
        return f

    def __str__(self) -> str:
        return self.name


def parse_key(text: str) -> Key:
    """Read ``"D minor"``, ``"Dm"``, ``"D:min"``, ``"Gb:maj"``, ``"F# major"``, ``"c"`` (lower case = minor)."""
    s = text.strip()
    m = re.fullmatch(r"([A-Ga-g][#b♯♭]?)\s*(?::|\s)?\s*(major|minor|maj|min|m|M)?", s)
    if not m:
        raise KeyError_(f"unknown key {text!r} (try 'C major' or 'A minor')")
    tonic = parse_pitch_class(m.group(1))
    q = m.group(2)
    if q is None:
        mode = "minor" if m.group(1)[0].islower() else "major"
    else:
        mode = "major" if q in ("major", "maj", "M") else "minor"
    return Key(tonic, mode)


@dataclass(frozen=True)
class Chord:
    """A chord: root pitch class, quality from :data:`QUALITIES`, optional bass as semitones above the root.

    ``root is None`` is POP909's ``N``: no chord.
    """

    root: int | None
    quality: str = "maj"
    bass: int | None = None

    def __post_init__(self) -> None:
        if self.root is None:  # no chord has no quality or bass: every N is the same N
            object.__setattr__(self, "quality", "maj")
            object.__setattr__(self, "bass", None)
        else:
            if self.quality not in QUALITIES:
                raise ChordError(f"unknown chord quality {self.quality!r}")
            object.__setattr__(self, "root", self.root % 12)
            if self.bass is not None:
                object.__setattr__(self, "bass", self.bass % 12)
                if self.bass == 0:
                    object.__setattr__(self, "bass", None)

    @property
    def is_none(self) -> bool:
        return self.root is None

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """Chord tones (root first), plus the bass note if it is not one of them."""
        if self.root is None:
            return ()
        pcs = [(self.root + i) % 12 for i in QUALITIES[self.quality]]
        if self.bass is not None and (self.root + self.bass) % 12 not in pcs:
            pcs.append((self.root + self.bass) % 12)
        return tuple(dict.fromkeys(pcs))

    @property
    def bass_pc(self) -> int | None:
        """The lowest note's pitch class (the root unless inverted)."""
        if self.root is None:
            return None
        return (self.root + (self.bass or 0)) % 12

    @property
    def is_minor(self) -> bool:
        return self.quality in ("min", "min7", "min6", "min9", "minmaj7", "dim", "hdim7", "dim7")

    def symbol(self, flats: bool = False) -> str:
        """The canonical POP909 form, e.g. ``A:min/b3``."""
        if self.root is None:
            return "N"
        s = f"{pc_name(self.root, flats)}:{self.quality}"
        if self.bass is not None:
            s += "/" + _SEMITONE_DEGREE[self.bass]
        return s

    def transpose(self, semitones: int) -> Chord:
        if self.root is None:
            return self
        return Chord(self.root + semitones, self.quality, self.bass)

    def __str__(self) -> str:
        return self.symbol()


# Lead-sheet suffixes → quality. Longest match wins, so order does not matter here.
_SUFFIX_QUALITY = {
    "": "maj", "maj": "maj", "M": "maj",
    "m": "min", "min": "min", "-": "min",
    "dim": "dim", "°": "dim", "o": "dim",
    "aug": "aug", "+": "aug",
    "sus2": "sus2", "sus4": "sus4", "sus": "sus4",
    "7": "7", "dom7": "7",
    "maj7": "maj7", "M7": "maj7", "Δ": "maj7", "Δ7": "maj7",
    "m7": "min7", "min7": "min7", "-7": "min7",
    "mmaj7": "minmaj7", "mMaj7": "minmaj7", "mM7": "minmaj7", "minmaj7": "minmaj7",
    "m7b5": "hdim7", "ø": "hdim7", "ø7": "hdim7", "hdim7": "hdim7",
    "dim7": "dim7", "°7": "dim7", "o7": "dim7",
    "6": "maj6", "maj6": "maj6", "m6": "min6", "min6": "min6",
    "7sus4": "sus4(b7)", "7sus": "sus4(b7)", "sus4(b7)": "sus4(b7)",
    "9": "9", "maj9": "maj9", "M9": "maj9", "m9": "min9", "min9": "min9", "add9": "add9",
}
_SUFFIXES = sorted(_SUFFIX_QUALITY, key=len, reverse=True)

_ROMAN = {"I": 0, "II": 1, "III": 2, "IV": 3, "V": 4, "VI": 5, "VII": 6}
_ROMAN_RE = re.compile(r"([b#♭♯]?)(VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)(°|o|ø|\+)?(maj7|M7|7|6|9|sus2|sus4)?(?:/(.+))?")


_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
#: what each mark of a numeral can carry (``vii°7``, ``iiø7``); anything else is refused, never dropped
_MARK_FIGURES = {"°": (None, "7"), "o": (None, "7"), "ø": (None, "7"), "+": (None,)}


def _parse_roman(s: str, key: Key) -> Chord | None:
    """A numeral counts from the key's own scale (natural minor in a minor key: ``VII`` in A minor is G); one with
    an accidental counts from the tonic's major scale, as pop and jazz analysis write borrowed chords (``bVII``
    in A minor is G too, ``bVI`` is F, ``#iv`` is D#)."""
    m = _ROMAN_RE.fullmatch(s)
    if not m:
        return None
    acc, numeral, mark, ext, over = m.groups()
    degree = _ROMAN[numeral.upper()]
    if acc:
        root = key.tonic + _MAJOR_STEPS[degree] + (1 if acc in ("#", "♯") else -1)
    else:
        root = key.scale[degree]
    if mark is not None and ext not in _MARK_FIGURES[mark]:
        raise ChordError(f"Roman numeral chord {s!r}: {numeral}{mark} cannot carry {ext!r}")
    lower = numeral.islower()
    if mark in ("°", "o"):
        quality = "dim7" if ext == "7" else "dim"
    elif mark == "ø":
        quality = "hdim7"
    elif mark == "+":
        quality = "aug"
    elif ext == "7":
        quality = "min7" if lower else "7"
    elif ext in ("maj7", "M7"):
        quality = "minmaj7" if lower else "maj7"
    elif ext == "6":
        quality = "min6" if lower else "maj6"
    elif ext == "9":
        quality = "min9" if lower else "9"
    elif ext in ("sus2", "sus4"):
        quality = ext
    else:
        quality = "min" if lower else "maj"
    bass = None
    if over is not None:
        inner = _parse_roman(over, key)
        if inner is None or inner.root is None:
            return None
        bass = inner.root - root
    return Chord(root, quality, bass)


def parse_chord(text: str, key: Key | None = None) -> Chord:
    """Read one chord symbol in any accepted spelling. Roman numerals need ``key``.

    Raises :class:`ChordError` naming the symbol when it cannot be read.
    """
    s = text.strip()
    if s in ("N", "N.C.", "NC", "-"):
        return Chord(None)
    # POP909: root:quality[/degree]
    m = re.fullmatch(r"([A-G][#b]?):([^/]+)(?:/(.+))?", s)
    if m:
        root_s, quality, degree = m.groups()
        if quality not in QUALITIES:
            raise ChordError(f"unknown chord symbol {text!r}: quality {quality!r} is not one of {', '.join(QUALITIES)}")
        bass = None
        if degree is not None:
            if degree not in _DEGREE_SEMITONES:
                raise ChordError(f"unknown chord symbol {text!r}: bass degree {degree!r}")
            bass = _DEGREE_SEMITONES[degree]
        return Chord(parse_pitch_class(root_s), quality, bass)
    # Lead sheet: root + suffix [/bass note]
    m = re.fullmatch(r"([A-G][#b♯♭]?)(.*?)(?:/([A-G][#b♯♭]?))?", s)
    if m and m.group(2) in _SUFFIX_QUALITY:
        root = parse_pitch_class(m.group(1))
        bass = None if m.group(3) is None else parse_pitch_class(m.group(3)) - root
        return Chord(root, _SUFFIX_QUALITY[m.group(2)], bass)
    if key is not None:
        chord = _parse_roman(s, key)
        if chord is not None:
            return chord
    elif _ROMAN_RE.fullmatch(s):
        raise ChordError(f"Roman numeral chord {text!r} needs a key")
    raise ChordError(f"unknown chord symbol {text!r}")


def parse_progression(text: str, key: Key | None = None) -> list[list[Chord]]:
    """Read a progression into bars of chords.

    ``"Am F C G"``: one chord a bar. ``"Am F | C G"``: bars split by ``|``, the chords in a bar sharing it equally.
    """
    if not text.strip():
        raise ChordError("empty chord progression")
    if "|" in text:
        bars = [b.split() for b in text.split("|")]
        while bars and not bars[0]:  # "| Am F | C G |": bar lines at either end are fine
            bars.pop(0)
        while bars and not bars[-1]:
            bars.pop()
        if not bars:
            raise ChordError(f"no chords in the progression {text!r}")
        empty = next((i for i, b in enumerate(bars) if not b), None)
        if empty is not None:
            raise ChordError(f"bar {empty + 1} of the progression {text!r} has no chord (use N for no chord)")
    else:
        bars = [[tok] for tok in text.split()]
    return [[parse_chord(tok, key) for tok in bar] for bar in bars]


_LABEL_SUFFIX = {
    "maj": "", "min": "m", "dim": "dim", "aug": "+", "sus2": "sus2", "sus4": "sus4", "7": "7", "maj7": "maj7",
    "min7": "m7", "minmaj7": "mM7", "hdim7": "m7b5", "dim7": "dim7", "maj6": "6", "min6": "m6",
    "sus4(b7)": "7sus4", "9": "9", "maj9": "maj9", "min9": "m9", "add9": "add9",
}


def chord_label(symbol: str) -> str:
    """Lead-sheet text for a chord in any accepted spelling, shorter to read on a picture: ``A:min7`` → ``Am7``,
    ``Bb:maj/3`` → ``Bb/D``, ``N`` → ``N.C.``. Roots keep the symbol's spelling. Text that is not a chord (a
    Roman numeral without its key, a stray marker) is returned as it is."""
    try:
        chord = parse_chord(symbol)
    except ChordError:
        return symbol
    if chord.root is None:
        return "N.C."
    m = re.match(r"([A-G])([#b]?)", symbol.strip())
    root_text = m.group(0) if m and parse_pitch_class(m.group(0)) == chord.root else pc_name(chord.root)
    text = root_text + _LABEL_SUFFIX[chord.quality]
    if chord.bass is not None:
        after = symbol.split("/", 1)[1] if "/" in symbol else ""
        flats = "b" in root_text[1:] or ("b" in after and "#" not in root_text)
        text += "/" + pc_name(chord.root + chord.bass, flats)
    return text
