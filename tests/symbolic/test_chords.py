"""symbolic/chords.py: every root, quality, bass and spelling the parser accepts reads, prints and reads again as
the same chord; every key reads and prints as itself; what it cannot read is a ChordError / KeyError_ naming it.

The expected values are written out here from music theory (pitch classes of note names, scale degrees, the
chord a lead-sheet suffix or a Roman numeral stands for), not taken from the module's own tables.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framescore.symbolic.chords import (QUALITIES, Chord, ChordError, Key, KeyError_, parse_chord, parse_key,
                                        parse_pitch_class, parse_progression, pc_name)

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# ----- the spec, written out -----------------------------------------------------------------------------------
NATURALS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
SHARPS = {"C#": 1, "D#": 3, "F#": 6, "G#": 8, "A#": 10}
FLATS = {"Db": 1, "Eb": 3, "Gb": 6, "Ab": 8, "Bb": 10}
ODD = {"Cb": 11, "Fb": 4, "E#": 5, "B#": 0}  # enharmonic spellings a key signature can ask for
ROOTS = {**NATURALS, **SHARPS, **FLATS, **ODD}
UNICODE_ROOTS = {"C♯": 1, "D♭": 1, "F♯": 6, "B♭": 10, "E♭": 3}  # lead sheets and keys (not POP909) take these

#: Intervals above the root for every quality name (Harte/POP909 names).
THEORY = {
    "maj": {0, 4, 7}, "min": {0, 3, 7}, "dim": {0, 3, 6}, "aug": {0, 4, 8}, "sus2": {0, 2, 7}, "sus4": {0, 5, 7},
    "7": {0, 4, 7, 10}, "maj7": {0, 4, 7, 11}, "min7": {0, 3, 7, 10}, "minmaj7": {0, 3, 7, 11},
    "hdim7": {0, 3, 6, 10}, "dim7": {0, 3, 6, 9}, "maj6": {0, 4, 7, 9}, "min6": {0, 3, 7, 9},
    "sus4(b7)": {0, 5, 7, 10}, "9": {0, 2, 4, 7, 10}, "maj9": {0, 2, 4, 7, 11}, "min9": {0, 2, 3, 7, 10},
    "add9": {0, 2, 4, 7},
}

#: Lead-sheet suffixes and the quality each one names.
LEAD_SHEET = {
    "": "maj", "M": "maj", "maj": "maj",
    "m": "min", "min": "min", "-": "min",
    "dim": "dim", "°": "dim", "o": "dim",
    "aug": "aug", "+": "aug",
    "sus2": "sus2", "sus4": "sus4", "sus": "sus4",
    "7": "7", "dom7": "7",
    "maj7": "maj7", "M7": "maj7", "Δ": "maj7", "Δ7": "maj7",
    "m7": "min7", "min7": "min7", "-7": "min7",
    "mM7": "minmaj7", "mmaj7": "minmaj7", "mMaj7": "minmaj7", "minmaj7": "minmaj7",
    "m7b5": "hdim7", "ø": "hdim7", "ø7": "hdim7", "hdim7": "hdim7",
    "dim7": "dim7", "°7": "dim7", "o7": "dim7",
    "6": "maj6", "maj6": "maj6", "m6": "min6", "min6": "min6",
    "7sus4": "sus4(b7)", "7sus": "sus4(b7)", "sus4(b7)": "sus4(b7)",
    "9": "9", "maj9": "maj9", "M9": "maj9", "m9": "min9", "min9": "min9", "add9": "add9",
}

#: POP909 bass degrees (semitones above the root).
DEGREES = {"1": 0, "b2": 1, "2": 2, "#2": 3, "b3": 3, "3": 4, "4": 5, "#4": 6, "b5": 6, "5": 7, "#5": 8, "b6": 8,
           "6": 9, "bb7": 9, "b7": 10, "7": 11, "b9": 1, "9": 2, "#9": 3, "11": 5, "#11": 6, "13": 9}

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)  # natural minor: a plain numeral counts from the key's own scale,
# one with an accidental from the tonic's major scale (bVII in A minor is G, as pop analysis writes it)
NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
ACCIDENTALS = {"": 0, "b": -1, "#": 1, "♭": -1, "♯": 1}


def roman_quality(upper: bool, mark: str, ext: str) -> str:
    """The chord a Roman numeral names: case gives major/minor, ° o ø + and the figure refine it."""
    if mark in ("°", "o"):
        return "dim7" if ext == "7" else "dim"
    if mark == "ø":
        return "hdim7"
    if mark == "+":
        return "aug"
    return {"": "maj" if upper else "min", "7": "7" if upper else "min7",
            "maj7": "maj7" if upper else "minmaj7", "M7": "maj7" if upper else "minmaj7",
            "6": "maj6" if upper else "min6", "9": "9" if upper else "min9", "sus2": "sus2", "sus4": "sus4"}[ext]


#: (mark, figure) combinations that name a chord: plain numerals with any figure, ° alone or with 7, ø alone or
#: with 7, + alone.
ROMAN_FORMS = [("", e) for e in ("", "7", "maj7", "M7", "6", "9", "sus2", "sus4")] + \
              [("°", ""), ("°", "7"), ("o", ""), ("o", "7"), ("ø", ""), ("ø", "7"), ("+", "")]

ALL_KEYS = [Key(t, m) for t in range(12) for m in ("major", "minor")]


def root_text(symbol: str) -> str:
    return symbol.split(":")[0]


def same_chord_again(chord: Chord) -> None:
    """Printing in either spelling and reading back gives the chord; the root is spelled as asked."""
    for flats in (False, True):
        text = chord.symbol(flats)
        assert parse_chord(text) == chord, (chord, text)
        root = root_text(text)
        assert ("#" not in root) if flats else ("b" not in root), text
        assert parse_pitch_class(root) == chord.root
    assert str(chord) == chord.symbol() == chord.symbol(False)


# ----- the quality table ---------------------------------------------------------------------------------------
def test_every_quality_has_its_chord_tones_and_a_lead_sheet_spelling():
    assert set(QUALITIES) == set(THEORY), "a quality was added or removed: add it to THEORY and LEAD_SHEET here"
    for q, intervals in QUALITIES.items():
        assert {i % 12 for i in intervals} == {i % 12 for i in THEORY[q]}, q
        assert 0 in intervals
    assert set(LEAD_SHEET.values()) == set(QUALITIES)


# ----- POP909 root:quality[/degree] ----------------------------------------------------------------------------
@pytest.mark.parametrize("quality", sorted(THEORY))
def test_pop909_every_root_quality_and_bass_degree(quality):
    for name, pc in ROOTS.items():
        plain = parse_chord(f"{name}:{quality}")
        assert plain == Chord(pc, quality) and plain.bass is None
        assert set(plain.pitch_classes) == {(pc + i) % 12 for i in THEORY[quality]}
        assert plain.bass_pc == pc
        same_chord_again(plain)
        for degree, semis in DEGREES.items():
            chord = parse_chord(f"{name}:{quality}/{degree}")
            assert chord.root == pc and chord.quality == quality, (name, quality, degree)
            assert chord.bass == (semis or None), (name, quality, degree)
            assert chord.bass_pc == (pc + semis) % 12
            assert chord.pitch_classes[0] == pc and chord.bass_pc in chord.pitch_classes
            assert parse_chord(chord.symbol(degree.startswith("b"))) == chord


def test_pop909_no_chord():
    for text in ("N", "N.C.", "NC", "-", " N "):
        chord = parse_chord(text)
        assert chord.is_none and chord.root is None and chord.pitch_classes == () and chord.bass_pc is None
        assert chord.symbol() == chord.symbol(True) == "N" and parse_chord(chord.symbol()) == chord
        assert chord.transpose(5) == chord


def test_every_no_chord_is_the_same_chord():
    assert Chord(None, "min") == Chord(None)
    assert parse_chord(Chord(None, "min", 3).symbol()) == Chord(None, "min", 3)


# ----- lead sheets ---------------------------------------------------------------------------------------------
FIRST_SUFFIX = {q: next(s for s in LEAD_SHEET if LEAD_SHEET[s] == q) for q in THEORY}


@pytest.mark.parametrize("quality", sorted(THEORY))
def test_lead_sheet_every_root_suffix_and_slash_bass(quality):
    """Every suffix on every root; over every bass note (in both spellings) for one suffix of each quality."""
    for suffix, name, pc in [(s, n, pc) for s in LEAD_SHEET if LEAD_SHEET[s] == quality
                             for n, pc in {**ROOTS, **UNICODE_ROOTS}.items()]:
        chord = parse_chord(name + suffix)
        assert chord == Chord(pc, quality), (name, suffix)
        same_chord_again(chord)
        if FIRST_SUFFIX[quality] != suffix and name not in ("C", "Db", "F#"):
            continue
        for bass_name, bass_pc in {**NATURALS, **SHARPS, **FLATS, **ODD}.items():
            slash = parse_chord(f"{name}{suffix}/{bass_name}")
            assert (slash.root, slash.quality, slash.bass_pc) == (pc, quality, bass_pc), (name, suffix, bass_name)
            assert slash.bass == (None if bass_pc == pc else (bass_pc - pc) % 12)
            assert parse_chord(slash.symbol(bass_name[1:] in ("b", "♭"))) == slash


def test_lead_sheet_examples():
    assert parse_chord("Am") == Chord(9, "min")
    assert parse_chord("F#m7") == Chord(6, "min7")
    assert parse_chord("Bbmaj7") == Chord(10, "maj7")
    assert parse_chord("G7") == Chord(7, "7")
    assert parse_chord("Csus4") == Chord(0, "sus4")
    assert parse_chord("D/F#") == Chord(2, "maj", 4) and parse_chord("D/F#").symbol() == "D:maj/3"
    assert parse_chord("Am/C").symbol() == "A:min/b3"
    assert parse_chord("Bbmaj7/Ab").symbol(True) == "Bb:maj7/b7"
    assert parse_chord("  Em7  ") == Chord(4, "min7")


def test_one_chord_in_every_spelling_is_one_chord():
    """C# minor seventh over E, five ways."""
    want = Chord(1, "min7", 3)
    assert {parse_chord(s) for s in ("C#:min7/b3", "Db:min7/b3", "C#m7/E", "Dbmin7/E", "C♯-7/Fb")} == {want}
    assert parse_chord("vi7/I", parse_key("E major")) == want


# ----- Roman numerals ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda k: k.name.replace(" ", "_"))
def test_roman_numerals_every_degree_accidental_and_figure(key):
    steps = MAJOR_STEPS if key.mode == "major" else MINOR_STEPS
    accidentals = ACCIDENTALS if key.tonic in (0, 9) else {a: n for a, n in ACCIDENTALS.items() if a.isascii()}
    for degree, numeral in enumerate(NUMERALS):
        for acc, shift in accidentals.items():
            for upper in (True, False):
                for mark, ext in ROMAN_FORMS:
                    text = acc + (numeral if upper else numeral.lower()) + mark + ext
                    chord = parse_chord(text, key)
                    base = MAJOR_STEPS if acc else steps
                    want = Chord(key.tonic + base[degree] + shift, roman_quality(upper, mark, ext))
                    assert chord == want, (key.name, text, chord)
                    assert parse_chord(chord.symbol(key.uses_flats), key) == chord


def test_roman_numerals_examples():
    c, a = parse_key("C major"), parse_key("A minor")
    assert [parse_chord(s, c).symbol() for s in "I V vi IV".split()] == ["C:maj", "G:maj", "A:min", "F:maj"]
    assert [parse_chord(s, c).symbol() for s in "ii7 V7 Imaj7".split()] == ["D:min7", "G:7", "C:maj7"]
    assert [parse_chord(s, a).symbol() for s in "i iv V VI III VII".split()] == \
        ["A:min", "D:min", "E:maj", "F:maj", "C:maj", "G:maj"]
    assert parse_chord("bVII", c).symbol(True) == "Bb:maj" and parse_chord("viiø7", c) == Chord(11, "hdim7")
    assert parse_chord("#iv°", c) == Chord(6, "dim") and parse_chord("vii°7", a) == Chord(7, "dim7")
    # borrowed chords in minor, as chord_stats' roman() prints them: i bVI bIII bVII is Am F C G
    assert [parse_chord(s, a).symbol() for s in "i bVI bIII bVII".split()] == ["A:min", "F:maj", "C:maj", "G:maj"]
    assert parse_chord("#iv°", a) == Chord(3, "dim") and parse_chord("bII", a) == Chord(10, "maj")


@pytest.mark.parametrize("key", ALL_KEYS[::5], ids=lambda k: k.name.replace(" ", "_"))
def test_roman_slash_is_a_bass_note_from_the_key(key):
    """``X/Y``: chord X over the root of numeral Y, both read in the key (as the parser reads a slash)."""
    steps = MAJOR_STEPS if key.mode == "major" else MINOR_STEPS
    for d in range(7):
        for over in range(7):
            text = f"{NUMERALS[d]}7/{NUMERALS[over].lower()}"
            chord = parse_chord(text, key)
            assert chord.root == (key.tonic + steps[d]) % 12 and chord.quality == "7", text
            assert chord.bass_pc == (key.tonic + steps[over]) % 12, text
            same_chord_again(chord)


def test_roman_figure_a_mark_cannot_carry_is_refused():
    read = {}
    for text in ("I+7", "I+maj7", "vii°9", "vii°maj7", "vii°sus2", "iiø9", "iiøsus4"):
        try:
            read[text] = parse_chord(text, parse_key("C major")).symbol()
        except ChordError as e:
            assert repr(text) in str(e)
    assert read == {}


def test_roman_numerals_need_a_key():
    for text in ("I", "V7", "vi", "bVII", "viiø7", "IV/V"):
        with pytest.raises(ChordError, match=f"{text!r}.*needs a key"):
            parse_chord(text)


# ----- any chord, any spelling (hypothesis) --------------------------------------------------------------------
def spellings(chord: Chord) -> st.SearchStrategy[str]:
    """Texts the parser must read as ``chord``: POP909 with every root and degree spelling, lead sheets."""
    assert chord.root is not None
    roots = [n for n, pc in ROOTS.items() if pc == chord.root]
    degrees = [d for d, s in DEGREES.items() if s == (chord.bass or 0)]
    suffixes = [s for s, q in LEAD_SHEET.items() if q == chord.quality]
    basses = [n for n, pc in {**NATURALS, **SHARPS, **FLATS, **ODD}.items() if pc == chord.bass_pc]
    pop = st.builds(lambda r, d, with_bass: f"{r}:{chord.quality}" + (f"/{d}" if with_bass or chord.bass else ""),
                    st.sampled_from(roots), st.sampled_from(degrees), st.booleans())
    lead = st.builds(lambda r, s, b, with_bass: r + s + (f"/{b}" if with_bass or chord.bass else ""),
                     st.sampled_from(roots), st.sampled_from(suffixes), st.sampled_from(basses), st.booleans())
    return st.one_of(pop, lead)


chords = st.builds(Chord, st.integers(-30, 30), st.sampled_from(sorted(QUALITIES)),
                   st.one_of(st.none(), st.integers(-24, 24)))
chord_texts = chords.flatmap(lambda c: st.tuples(st.just(c), spellings(c)))


@SETTINGS
@given(chord_texts, st.integers(-13, 13))
def test_any_chord_in_any_spelling_reads_back(chord_and_text, shift):
    chord, text = chord_and_text
    assert parse_chord(text) == chord
    same_chord_again(chord)
    moved = chord.transpose(shift)
    assert moved.root == (chord.root + shift) % 12 and (moved.quality, moved.bass) == (chord.quality, chord.bass)
    assert [(p - shift) % 12 for p in moved.pitch_classes] == list(chord.pitch_classes)


@settings(SETTINGS, max_examples=25)
@given(st.lists(st.lists(chord_texts, min_size=1, max_size=4), min_size=1, max_size=6), st.booleans(),
       st.sampled_from([" ", "  ", "\t"]))
def test_progressions_read_bar_by_bar(bars, outer_bars, gap):
    text = " | ".join(gap.join(t for _, t in bar) for bar in bars)
    if outer_bars or len(bars) == 1:  # one bar of several chords needs its bar lines (else: a chord a bar)
        text = f"| {text} |"
    assert parse_progression(text) == [[c for c, _ in bar] for bar in bars]
    one_each = " ".join(bar[0][1] for bar in bars)  # without bar lines: one chord a bar
    assert parse_progression(one_each) == [[bar[0][0]] for bar in bars]


def test_progression_with_roman_numerals_and_no_chords():
    key = parse_key("G major")
    assert parse_progression("I V | vi IV | N | ii7 V7", key) == [
        [Chord(7), Chord(2)], [Chord(4, "min"), Chord(0)], [Chord(None)], [Chord(9, "min7"), Chord(2, "7")]]
    assert parse_progression("Em C G D") == [[Chord(4, "min")], [Chord(0)], [Chord(7)], [Chord(2)]]


def test_progression_errors_name_the_problem():
    for text in ("", "   ", "|", " | | "):
        with pytest.raises(ChordError, match="empty|no chords"):
            parse_progression(text)
    with pytest.raises(ChordError, match=r"bar 2 .*'Am \| \| C'"):
        parse_progression("Am | | C")
    with pytest.raises(ChordError, match="'Xm7'"):
        parse_progression("Am | Xm7 C")
    with pytest.raises(ChordError, match="'IV'.*needs a key"):
        parse_progression("C | IV")


# ----- what is not a chord -------------------------------------------------------------------------------------
BAD_CHORDS = ["", "x", "H", "Cx", "C:foo", "C:maj/x", "C:maj/", "C:", ":maj", "C:Maj", "c:maj", "Am/X", "Am/",
              "C#b", "C##", "A m", "Amm", "C/E/G", "N/C", "C:maj/b10", "C♯:maj", "7", "C7b9", "I", "viii"]


@pytest.mark.parametrize("text", BAD_CHORDS)
def test_unreadable_chords_are_chord_errors_naming_the_text(text):
    with pytest.raises(ChordError) as err:
        parse_chord(text)
    assert repr(text.strip()) in str(err.value) or repr(text) in str(err.value)
    assert isinstance(err.value, ValueError)  # FramescoreError: the command line prints it in one line
    assert "\n" not in str(err.value)


def test_unknown_quality_is_a_chord_error():
    with pytest.raises(ChordError, match="'min11'"):
        Chord(0, "min11")
    with pytest.raises(ChordError, match="'viii'"):
        parse_chord("viii", parse_key("C"))


@SETTINGS
@given(st.text(max_size=12) | st.from_regex(r"[A-Gb#]{1,2}[:a-z0-9#b()/°ø+Δ-]{0,8}", fullmatch=True))
def test_any_text_reads_as_a_chord_or_is_a_chord_error_naming_it(text):
    for key in (None, parse_key("Eb major")):
        try:
            chord = parse_chord(text, key)
        except ChordError as e:
            assert repr(text) in str(e), (text, str(e))
        else:  # whatever reads, prints as a symbol that reads back the same
            assert parse_chord(chord.symbol()) == chord and parse_chord(chord.symbol(True)) == chord


# ----- note names ----------------------------------------------------------------------------------------------
def test_pitch_class_names():
    for name, pc in {**ROOTS, **UNICODE_ROOTS}.items():
        assert parse_pitch_class(name) == pc and parse_pitch_class(name.lower()) == pc
    assert parse_pitch_class("C##") == 2 and parse_pitch_class("Dbb") == 0
    for pc in range(-12, 24):
        assert parse_pitch_class(pc_name(pc)) == parse_pitch_class(pc_name(pc, flats=True)) == pc % 12
        assert "b" not in pc_name(pc) and "#" not in pc_name(pc, True)
    for bad in ("", "H", "C x", "#", "Cm"):
        with pytest.raises(ChordError, match=re.escape(repr(bad))):
            parse_pitch_class(bad)


# ----- keys ----------------------------------------------------------------------------------------------------
KEY_FORMS = {  # how a key may be written, by mode: {T} the tonic as written, {t} in lower case
    "major": ["{T} major", "{T}:maj", "{T}maj", "{T}M", "{T}", "{T} maj",
              "{T}major", "{t} major", "  {T}  major  "],
    "minor": ["{T} minor", "{T}:min", "{T}min", "{T}m", "{t}", "{t}m", "{T} min", "{T}minor", "{t}:min"],
}


@pytest.mark.parametrize("mode", ["major", "minor"])
def test_every_tonic_and_mode_in_every_form(mode):
    for tonic, pc in {**ROOTS, **UNICODE_ROOTS}.items():
        want = Key(pc, mode)
        for form in KEY_FORMS[mode]:
            text = form.format(T=tonic, t=tonic.lower())
            key = parse_key(text)
            assert key == want, (text, key)
            assert parse_key(key.name) == key and parse_key(str(key)) == key
            assert key.name == str(key) and key.name.endswith(" " + mode)


@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda k: k.name.replace(" ", "_"))
def test_key_name_scale_and_signature_agree(key):
    tonic_name = key.name.split()[0]
    assert parse_pitch_class(tonic_name) == key.tonic
    assert key.name == f"{pc_name(key.tonic, key.uses_flats)} {key.mode}"
    steps = MAJOR_STEPS if key.mode == "major" else MINOR_STEPS
    assert key.scale == tuple((key.tonic + s) % 12 for s in steps)
    # the signature: the relative major is (fifths * 7) mod 12 semitones above C; flats spell flat keys
    assert -6 <= key.fifths <= 6
    relative_major = key.tonic if key.mode == "major" else (key.tonic + 3) % 12
    assert (key.fifths * 7) % 12 == relative_major
    assert key.fifths == Key(relative_major, "major").fifths
    if "b" in tonic_name:
        assert key.uses_flats and key.fifths < 0
    if "#" in tonic_name:
        assert not key.uses_flats and key.fifths > 0
    assert key.uses_flats == (key.fifths < 0)


def test_key_signatures_by_name():
    want = {"C major": 0, "G major": 1, "D major": 2, "A major": 3, "E major": 4, "B major": 5, "F major": -1,
            "Bb major": -2, "Eb major": -3, "Ab major": -4, "Db major": -5, "Gb major": -6, "A minor": 0,
            "E minor": 1, "B minor": 2, "F# minor": 3, "C# minor": 4, "G# minor": 5, "D minor": -1, "G minor": -2,
            "C minor": -3, "F minor": -4, "Bb minor": -5, "Eb minor": -6}
    assert {k.name: k.fifths for k in ALL_KEYS} == want


BAD_KEYS = ["", "H", "X major", "C dorian", "C majorr", "C##", "Cmm", "major", "C : : min", "1", "C# m m", "B b"]


@pytest.mark.parametrize("text", BAD_KEYS)
def test_unreadable_keys_are_key_errors_naming_the_text(text):
    with pytest.raises(KeyError_) as err:
        parse_key(text)
    assert repr(text) in str(err.value) and isinstance(err.value, ValueError)


def test_unknown_mode_is_a_key_error():
    with pytest.raises(KeyError_, match="'dorian'"):
        Key(0, "dorian")
    assert Key(14, "minor") == Key(2, "minor") and Key(-1).tonic == 11


@SETTINGS
@given(st.text(max_size=10) | st.from_regex(r"[A-Ga-g][#b♯♭]?[ :]?(major|minor|maj|min|m|M)?x?", fullmatch=True))
def test_any_text_reads_as_a_key_or_is_a_key_error_naming_it(text):
    try:
        key = parse_key(text)
    except KeyError_ as e:
        assert repr(text) in str(e)
    except ChordError as e:  # a tonic the key's pattern takes but no note name: must not happen
        pytest.fail(f"{text!r}: {e}")
    else:
        assert parse_key(key.name) == key
