"""Words as a musician writes them → the plan's explicit attributes: key, tempo, meter, chords, instruments and
duration, read out of free text before the mood lexicon (:mod:`framescore.vision.mood`) reads what is left.

``read_words("a slow sad waltz in D minor for cello and piano, 70 bpm, chords Dm Gm A7 Dm")`` reads the key
D minor ("in D minor"), the meter 3/4 ("waltz"), the tempo 70 ("70 bpm"), the chords Dm Gm A7 Dm, and the
instruments cello (melody) and piano (harmony), with no bass and no drums (an ensemble named is the whole
ensemble); "slow sad" is left for the mood.

What is read, and how:
- **Key**: a letter with an accidental (``#``, ``b``, ``♯``, ``♭``, "sharp", "flat", "-flat") and a mode word
  ("major", "minor", "maj", "min"), in any case: "G minor", "E♭ major", "E-flat major", "F-sharp minor"; a short
  form (``Gm``, ``Eb``) only after "in" or "key of", where it cannot be a chord.
- **Tempo**: "96 bpm", "90 beats per minute", "tempo 120", or an Italian term at the middle of its range
  (:data:`ITALIAN_TEMPI`, the ranges of the common metronome tables). Slow/fast words stay with the mood lexicon,
  which turns them into a tempo factor ("not too fast" reads slower).
- **Meter**: ``4/4``, ``6/8``, "three-four time", "common time" (4/4), "cut time" (2/2), and dances that imply one
  (:data:`DANCE_METERS`: waltz → 3/4, jig → 6/8, march → 2/4…).
- **Chords**: a run of two or more chord symbols (``Dm G7 Cmaj7``, ``Am - F - C - G``, ``Am | F C``) or Roman
  numerals (``I V vi IV``, ``ii–V–I``), or one or more after "chords"/"progression". Letter chords must start
  with a capital (so "a" and "I" as words are not chords, unless after "chords").
- **Instruments**: General MIDI names and common synonyms (:data:`EXTRA_INSTRUMENTS` beside the CLI's aliases),
  the longest name first ("string ensemble" before "strings"). Bass instruments take the bass role, drum words the
  drums, the others melody then harmony in the order named. Every further instrument gets its own track as a
  layer of a role (:mod:`framescore.symbolic.layers`): a lead (sax, flute, violin...) doubles the melody, a
  second bass the bass, any other (strings, organ, pads, guitars...) plays the harmony. "solo X" is X alone;
  "no drums", "without bass" drop a role.
- **Duration**: "30 seconds", "a 30-second jingle", "one minute", "1.5 minutes", "2 min", "1:30".
- **Style**: a genre word (pop, rock, jazz, bossa nova, lo-fi, ambient, cinematic... :mod:`framescore.symbolic.styles`),
  which sets the instruments, tempo range, texture, groove and swing wherever nothing more precise is said.

Conflicting statements: the later one wins, and :attr:`Reading.notes` says so. Every attribute read is listed
with the words it came from (:attr:`Reading.read`), for the plan's ``source``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DANCE_METERS", "EXTRA_INSTRUMENTS", "GLUE_WORDS", "ITALIAN_TEMPI", "Reading", "instrument_names", "read_words"]

#: Italian tempo terms → (low, high) bpm, the ranges the common metronome tables give; the plan takes the middle.
ITALIAN_TEMPI: dict[str, tuple[int, int]] = {
    "larghissimo": (20, 24), "grave": (25, 45), "largo": (40, 60), "lento": (45, 60), "larghetto": (60, 66),
    "adagio": (66, 76), "adagietto": (72, 76), "andante": (76, 108), "andantino": (80, 108),
    "moderato": (108, 120), "allegretto": (112, 120), "allegro": (120, 156), "vivace": (156, 176),
    "vivacissimo": (172, 176), "allegrissimo": (172, 176), "presto": (168, 200), "prestissimo": (200, 240),
}
#: Dances (and forms) whose name sets the meter.
DANCE_METERS: dict[str, str] = {
    "waltz": "3/4", "waltzes": "3/4", "minuet": "3/4", "mazurka": "3/4", "polonaise": "3/4", "sarabande": "3/4",
    "bolero": "3/4", "jig": "6/8", "gigue": "6/8", "tarantella": "6/8", "siciliano": "6/8", "barcarolle": "6/8",
    "march": "2/4", "polka": "2/4", "galop": "2/4", "reel": "2/2", "hornpipe": "4/4", "shuffle": "12/8",
}
#: Instrument words beyond the CLI's aliases (:data:`framescore.vision.mapping.INSTRUMENT_ALIASES`).
EXTRA_INSTRUMENTS: dict[str, int] = {
    "string quartet": 48, "string section": 48, "string orchestra": 48, "orchestral strings": 48,
    "violins": 40, "cellos": 42, "violas": 41, "flutes": 73, "trumpets": 56, "horns": 60, "french horns": 60,
    "brass section": 61, "brass ensemble": 61, "alto saxophone": 65, "tenor saxophone": 66,
    "soprano saxophone": 64, "baritone saxophone": 67, "hammond organ": 16, "hammond": 16, "drawbar organ": 16,
    "rock organ": 18, "pipe organ": 19, "synthesizer pad": 88, "synth pads": 88, "synthesizer lead": 80,
    "synthesizer": 80, "synth": 80, "choir aahs": 52, "choir": 52, "chorus": 52, "vocals": 53, "electric piano": 4,
    "keyboard": 0, "keys": 0, "upright piano": 0, "acoustic grand piano": 0, "pianos": 0, "guitars": 24,
    "clean electric guitar": 27, "clean guitar": 27, "electric bass guitar": 33, "bass guitar": 33,
    "fingered bass": 33, "picked bass": 34, "string bass": 32, "upright bass": 32, "standup bass": 32,
    "glock": 9, "orchestral harp": 46, "kettle drums": 47, "timpani": 47, "ukulele": 24, "mandolin": 105,
}
_DRUM_WORDS = {"drums", "drum", "drum kit", "drumkit", "drum set", "percussion", "beats", "drum machine"}
_ROLE_WORDS = {"bass": "bass", "drums": "drums", "drum": "drums", "percussion": "drums", "melody": "melody",
               "harmony": "harmony", "chords": "harmony"}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
            "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90, "half a": 0.5}
#: Words that carry the attributes above without being one ("set in", "a 4/4 time signature", "tempo"): not
#: reported as unknown.
GLUE_WORDS = {"key", "tempo", "time", "signature", "meter", "metre", "set", "featuring", "features", "feature",
              "with", "moves", "moving", "played", "playing", "plays", "song", "piece", "tune", "track", "music",
              "composition", "chords", "chord", "progression", "bpm", "beats", "minute", "for", "and", "in", "at",
              "then", "over", "using", "uses", "instrumentation", "instruments", "arrangement", "arranged",
              "written", "style", "sound", "sounds", "solo", "no", "without", "around", "about", "jingle", "cue",
              "score", "theme", "it", "its", "is", "be", "pace", "rhythm", "groove", "i", "want", "make", "write"}
_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "twelve": 12}


@dataclass
class Reading:
    """What :func:`read_words` found. Each attribute is ``None`` where the words did not state it."""

    text: str
    key: str | None = None
    tempo_bpm: float | None = None
    meter: str | None = None
    chords: str | None = None
    instruments: dict[str, int | None] = field(default_factory=dict)  # role → GM program, None: no track
    layers: dict[str, list[int]] = field(default_factory=dict)  # more instruments for a role, each its own track
    style: str | None = None  # a genre or style (symbolic/styles.py), by its canonical name
    duration_sec: float | None = None
    read: list[dict[str, Any]] = field(default_factory=list)  # {"attribute", "value", "words"} in text order
    notes: list[str] = field(default_factory=list)  # conflicts, a second drum kit named
    rest: str = ""  # the text with every span read blanked out: what the mood lexicon reads

    def stated(self) -> dict[str, Any]:
        """The attributes the words stated, by their override names."""
        out = {k: getattr(self, k) for k in ("key", "tempo_bpm", "meter", "chords", "duration_sec", "style")
               if getattr(self, k) is not None}
        if self.instruments:
            from .mapping import instruments_text

            out["instruments"] = instruments_text(self.instruments, self.layers)
        return out


class _Text:
    """The text with the spans already read marked, so no word is read twice."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.used = [False] * len(text)

    def free(self, m: re.Match) -> bool:
        return not any(self.used[m.start():m.end()])

    def take(self, m: re.Match) -> str:
        for i in range(m.start(), m.end()):
            self.used[i] = True
        return m.group(0).strip()

    def rest(self) -> str:
        out, prev = [], False
        for c, u in zip(self.text, self.used):
            if not u:
                out.append(c)
            elif not prev:
                out.append(" , ")  # a span read: a comma, so no negator reaches across it
            prev = u
        return "".join(out)


def _set(r: Reading, attr: str, value: Any, words: str, at: int, found: dict[str, list]) -> None:
    found.setdefault(attr, []).append((at, value, words))


_ACC = r"(?:\s*(?:#|♯|b|♭|-?\s?sharp|-?\s?flat))?"
_KEY_LONG = re.compile(r"\b([A-Ga-g]" + _ACC + r")\s*-?\s*(major|minor|maj|min)\b", re.I)
_KEY_SHORT = re.compile(r"\b(?:in|key of)\s+(?:the\s+key\s+of\s+)?([A-G](?:#|♯|b|♭)?)(m)?(?![\w#♯♭/])")
_BPM = re.compile(r"\b(\d{2,3}(?:\.\d+)?)\s*-?\s*(?:bpm|b\.p\.m\.?|beats\s+(?:per|a|each)\s+minute)\b", re.I)
_TEMPO_N = re.compile(r"\btempo\s+(?:of\s+|at\s+|is\s+|=\s*)?(\d{2,3})\b(?!\s*/)", re.I)
_ITALIAN = re.compile(r"\b(" + "|".join(sorted(ITALIAN_TEMPI, key=len, reverse=True)) + r")\b", re.I)
_METER = re.compile(r"(?<![\d/])(\d{1,2})\s*/\s*(\d{1,2})(?![\d/])")
_METER_WORDS = re.compile(r"\b(two|three|four|five|six|seven|nine|twelve)[\s-](two|four|eight|sixteen)"
                          r"(?:\s+(?:time|meter|metre))?\b", re.I)
_COMMON = re.compile(r"\b(common|cut)\s+time\b", re.I)
_DANCE = re.compile(r"\b(" + "|".join(sorted(DANCE_METERS, key=len, reverse=True)) + r")\b", re.I)
_SECONDS = re.compile(r"\b(\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) +
                      r")[\s-]*(seconds?|secs?|s|minutes?|mins?)\b(?!\s*/)", re.I)
_CLOCK = re.compile(r"\b(\d{1,2}):([0-5]\d)\b")
_CHORD_TOKEN = (r"(?:[A-G](?:#|b|♯|♭)?(?:maj7|maj9|maj|min7|min|m7b5|m7|m9|m6|mM7|m|dim7|dim|aug|\+|sus2|sus4|"
                r"7sus4|add9|7|9|6)?(?:/[A-G](?:#|b|♯|♭)?)?"
                r"|(?:[b#♭♯])?(?:VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)(?:°|o|dim|maj7|7|\+)?)")
_SEP = r"(?:\s*(?:[-–—,|→>]+|\bthen\b|\bto\b)?\s*)"
_CHORD_RUN = re.compile(r"(?<![\w#♯♭/])" + _CHORD_TOKEN + r"(?:" + _SEP + _CHORD_TOKEN + r")+(?![\w#♯♭/+°])")
_CHORDS_AFTER = re.compile(r"\b(?:chords?|progression|changes)\s*(?:of|:|are|is)?\s*(" + _CHORD_TOKEN + r"(?:"
                           + _SEP + _CHORD_TOKEN + r")*)(?![\w#♯♭/+°])", re.I)
_NO_ROLE = re.compile(r"\b(?:no|without|minus)\s+(drums?|percussion|bass|melody)\b", re.I)
_SOLO = re.compile(r"\b(?:solo|unaccompanied)\s+([a-z][a-z ]*)", re.I)
_LIGHT = re.compile(r"\b(?:light|soft|gentle|sparse)\s+(percussion|drums)\b", re.I)


def _key(r: Reading, t: _Text, found: dict) -> None:
    from ..symbolic.chords import parse_key

    for m in _KEY_LONG.finditer(t.text):
        if not t.free(m):
            continue
        letter = m.group(1)
        acc = re.sub(r"[\s-]", "", letter[1:].lower())
        acc = {"sharp": "#", "♯": "#", "flat": "b", "♭": "b", "b": "b", "#": "#", "": ""}.get(acc, acc)
        mode = "minor" if m.group(2).lower().startswith("min") else "major"
        key = parse_key(f"{letter[0].upper()}{acc} {mode}")
        _set(r, "key", str(key), t.take(m), m.start(), found)
    for m in _KEY_SHORT.finditer(t.text):
        if t.free(m):
            key = parse_key(f"{m.group(1)} {'minor' if m.group(2) else 'major'}")
            _set(r, "key", str(key), t.take(m), m.start(), found)


def _tempo(r: Reading, t: _Text, found: dict) -> None:
    for pat in (_BPM, _TEMPO_N):
        for m in pat.finditer(t.text):
            if t.free(m):
                _set(r, "tempo_bpm", float(m.group(1)), t.take(m), m.start(), found)
    for m in _ITALIAN.finditer(t.text):
        if t.free(m):
            lo, hi = ITALIAN_TEMPI[m.group(1).lower()]
            _set(r, "tempo_bpm", float(round((lo + hi) / 2)), t.take(m), m.start(), found)


def _meter(r: Reading, t: _Text, found: dict) -> None:
    from ..symbolic.plan import parse_meter

    for m in _METER.finditer(t.text):
        if t.free(m):
            try:
                num, den = parse_meter(f"{m.group(1)}/{m.group(2)}")
            except Exception:  # noqa: BLE001 - "1/2 of the film" is not a meter
                continue
            _set(r, "meter", f"{num}/{den}", t.take(m), m.start(), found)
    for m in _METER_WORDS.finditer(t.text):
        if t.free(m):
            den = {"two": 2, "four": 4, "eight": 8, "sixteen": 16}[m.group(2).lower()]
            _set(r, "meter", f"{_COUNT_WORDS[m.group(1).lower()]}/{den}", t.take(m), m.start(), found)
    for m in _COMMON.finditer(t.text):
        if t.free(m):
            _set(r, "meter", "4/4" if m.group(1).lower() == "common" else "2/2", t.take(m), m.start(), found)
    for m in _DANCE.finditer(t.text):
        if t.free(m):  # the dance's word stays for the mood too ("march" is also a mood word)
            _set(r, "meter", DANCE_METERS[m.group(1).lower()], m.group(0), m.start(), found)


def _duration(r: Reading, t: _Text, found: dict) -> None:
    for m in _SECONDS.finditer(t.text):
        if not t.free(m):
            continue
        n = m.group(1).lower()
        value = float(n) if n[0].isdigit() else float(_NUMBERS[n])
        if m.group(2).lower().startswith("m"):
            value *= 60
        elif m.group(2).lower() == "s" and not n[0].isdigit():
            continue  # "a s" is not a duration
        _set(r, "duration_sec", value, t.take(m), m.start(), found)
    for m in _CLOCK.finditer(t.text):
        if t.free(m):
            _set(r, "duration_sec", float(int(m.group(1)) * 60 + int(m.group(2))), t.take(m), m.start(), found)


def _chords(r: Reading, t: _Text, found: dict) -> None:
    from ..symbolic.chords import ChordError, parse_progression

    from ..symbolic.chords import parse_key

    key = parse_key(found["key"][-1][1]) if found.get("key") else parse_key("C major")  # for Roman numerals

    def tokens(s: str) -> str:
        bars = [b for b in re.split(r"\s*\|\s*", s)]
        return " | ".join(" ".join(re.findall(_CHORD_TOKEN, b)) for b in bars if b.strip())

    for pat, group in ((_CHORDS_AFTER, 1), (_CHORD_RUN, 0)):
        for m in pat.finditer(t.text):
            if not t.free(m):
                continue
            text = tokens(m.group(group))
            if "|" not in m.group(group):
                text = text.replace(" | ", " ")
            try:
                parse_progression(text, key)
            except (ChordError, KeyError, ValueError):
                continue
            _set(r, "chords", text, t.take(m), m.start(), found)


def instrument_names() -> dict[str, int]:
    """Every instrument word the reader knows → its General MIDI program: the GM names and the CLI's aliases, then
    :data:`EXTRA_INSTRUMENTS`."""
    from .mapping import gm_names

    names = {n: p for n, p in gm_names().items() if n not in ("lead", "pad", "voice", "bells", "horn")}
    names.update(EXTRA_INSTRUMENTS)
    return names


def _is_bass(program: int) -> bool:
    """The General MIDI basses (32-39) and the contrabass (43) take the bass role."""
    return 32 <= program <= 39 or program == 43


def _instruments(r: Reading, t: _Text) -> None:
    names = instrument_names()
    pat = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(set(names) | _DRUM_WORDS, key=len, reverse=True))
                     + r")\b(?!\s+drum)", re.I)
    solo = {m.start(1) for m in _SOLO.finditer(t.text)}
    dropped: list[str] = []
    for m in _NO_ROLE.finditer(t.text):
        if t.free(m):
            role = _ROLE_WORDS[m.group(1).lower()]
            dropped.append(role)
            r.read.append({"attribute": "instruments", "value": f"{role}=none", "words": t.take(m)})
    named: list[tuple[str, int | None, str, bool]] = []  # (word, program or None for drums, role hint, solo)
    for m in pat.finditer(t.text):
        if not t.free(m):
            continue
        word = m.group(1).lower()
        drums = word in _DRUM_WORDS
        named.append((t.take(m), None if drums else names[word], "drums" if drums else "", m.start() in solo))
        light = [x for x in _LIGHT.finditer(t.text) if x.start(1) == m.start()]
        if light:
            r.notes.append(f"{light[0].group(0)!r}: drums kept, their density follows the plan's")
    if not named and not dropped:
        return
    roles: dict[str, int | None] = {}
    for word, program, hint, _ in named:
        role = hint or ("bass" if program is not None and _is_bass(program) and "bass" not in roles else "")
        if not role:
            role = next((x for x in ("melody", "harmony") if x not in roles), "")
        if role == "drums":
            program = 0  # the standard kit
        if not role or role in roles:
            if program is None:
                r.notes.append(f"{word!r}: the drums are already named; one kit plays")
                continue
            from ..symbolic.layers import layer_role

            extra = layer_role(program, _is_bass(program))
            r.layers.setdefault(extra, []).append(program)
            r.read.append({"attribute": "instruments", "value": f"{extra}+={program}", "words": word})
            continue
        roles[role] = program
        r.read.append({"attribute": "instruments", "value": f"{role}={program}", "words": word})
    pitched = [n for n in named if n[1] is not None and not _is_bass(n[1])]
    if len(pitched) == 1 and "melody" in roles:
        roles.setdefault("harmony", roles["melody"])  # "solo piano", "piano and drums": the piano plays both
    if named:  # an ensemble named is the whole ensemble
        for role in ("melody", "harmony", "bass", "drums"):
            roles.setdefault(role, None)
    for role in dropped:
        roles[role] = None
        r.layers.pop(role, None)
    r.layers = {role: ps for role, ps in r.layers.items() if roles.get(role) is not None}
    r.instruments = roles


def _style_words() -> dict[str, str]:
    """Every word or phrase that names a style → the style's name. Words that are often something else take a
    second word: "house music", "deep house" (a house is a building), "film score" (a film is a scene)."""
    from ..symbolic.styles import ALIASES, STYLES

    out = {name: name for name in STYLES if name != "house"}
    out.update({k: v for k, v in ALIASES.items() if k not in ("dance", "film")})
    out.update({w: "house" for w in ("house music", "deep house", "house track", "house beat", "house song")})
    out["film music"] = "cinematic"
    return out


def _style(r: Reading, t: _Text, found: dict) -> None:
    names = _style_words()
    pat = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b", re.I)
    for m in pat.finditer(t.text):
        if t.free(m):
            _set(r, "style", names[" ".join(m.group(1).lower().split())], t.take(m), m.start(), found)


def read_words(text: str) -> Reading:
    """Read the musical attributes stated in ``text`` (see the module's docstring)."""
    r = Reading(text)
    t = _Text(text)
    found: dict[str, list] = {}
    for step in (_key, _tempo, _meter, _duration, _chords):
        step(r, t, found)
    _instruments(r, t)
    _style(r, t, found)  # after the instruments: "orchestral strings" is an instrument, "orchestral" a style
    for attr, readings in found.items():
        readings.sort(key=lambda x: x[0])
        values = list(dict.fromkeys(v for _, v, _ in readings))
        if len(values) > 1:
            r.notes.append(f"{attr}: {' then '.join(repr(w) for _, _, w in readings)}: the later one wins")
        setattr(r, attr, readings[-1][1])
        r.read.extend({"attribute": attr, "value": v, "words": w} for _, v, w in readings)
    order = {w: text.lower().find(w.lower()) for w in (x["words"] for x in r.read)}
    r.read.sort(key=lambda x: order.get(x["words"], 0))
    r.rest = t.rest()
    return r
