"""symbolic/plan.py: any valid plan survives JSON (to_dict / to_json / save -> load_plan) unchanged and
byte-identical; validate() spells keys and chords one way and is idempotent; an invalid value in any field of
MusicPlan, BarPlan, ChordSlot or Section is a PlanError whose message names that field, whether the plan was
built in Python (validate()) or read from a file (load_plan)."""

from __future__ import annotations

import copy
import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framescore.symbolic.chords import QUALITIES, Chord, parse_chord, parse_key, pc_name
from framescore.symbolic.plan import (DURATION_RANGE, GM_DEFAULTS, ROLES, SCHEMA_VERSION, TEMPO_RANGE, BarPlan,
                                      ChordSlot, MusicPlan, PlanError, Section, load_plan, parse_meter, simple_plan)

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

METERS = ["2/4", "3/4", "4/4", "5/4", "6/8", "7/8", "3/8", "12/8", "2/2", "9/16"]
TONICS = ["C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab", "A", "A#", "Bb", "B", "Cb"]
NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
LEAD = {"maj": "", "min": "m", "dim": "dim", "aug": "+", "sus2": "sus2", "sus4": "sus4", "7": "7", "maj7": "maj7",
        "min7": "m7", "minmaj7": "mM7", "hdim7": "m7b5", "dim7": "dim7", "maj6": "6", "min6": "m6",
        "sus4(b7)": "7sus4", "9": "9", "maj9": "maj9", "min9": "m9", "add9": "add9"}
ROMAN = {"maj": ("I", ""), "min": ("i", ""), "7": ("I", "7"), "min7": ("i", "7"), "maj7": ("I", "maj7"),
         "dim": ("i", "°"), "hdim7": ("i", "ø7"), "dim7": ("i", "°7"), "aug": ("I", "+")}


# ----- strategies ----------------------------------------------------------------------------------------------
unit = st.floats(0.0, 1.0, allow_nan=False)
signed = st.floats(-1.0, 1.0, allow_nan=False)
tempos = st.one_of(st.integers(int(TEMPO_RANGE[0]), int(TEMPO_RANGE[1])),
                   st.floats(TEMPO_RANGE[0], TEMPO_RANGE[1], allow_nan=False))
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # any text UTF-8 can hold
json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**60, 2**60) | text |
                           st.floats(allow_nan=False, allow_infinity=False),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                           max_leaves=8)


@st.composite
def spelled_chord(draw, key) -> tuple[Chord, str]:
    """A chord and one way of writing it: POP909 (either spelling), lead sheet, a Roman numeral in the key, or N."""
    form = draw(st.sampled_from(["pop", "lead", "roman", "none"]))
    if form == "none":
        return Chord(None), draw(st.sampled_from(["N", "N.C.", "NC"]))
    if form == "roman":
        quality = draw(st.sampled_from(sorted(ROMAN)))
        degree = draw(st.integers(0, 6))
        acc = draw(st.sampled_from(["", "b", "#"]))
        case, tail = ROMAN[quality]
        numeral = NUMERALS[degree] if case == "I" else NUMERALS[degree].lower()
        # a plain numeral counts from the key's scale, one with an accidental from the tonic's major scale
        root = (key.scale[degree] if not acc else key.tonic + (0, 2, 4, 5, 7, 9, 11)[degree]
                + {"b": -1, "#": 1}[acc])
        return Chord(root, quality), acc + numeral + tail
    root = draw(st.integers(0, 11))
    quality = draw(st.sampled_from(sorted(QUALITIES)))
    bass = draw(st.one_of(st.none(), st.integers(1, 11)))
    chord = Chord(root, quality, bass)
    if form == "pop":
        return chord, chord.symbol(draw(st.booleans()))
    flats = draw(st.booleans())
    slash = "" if bass is None else "/" + pc_name(root + bass, flats)
    return chord, pc_name(root, flats) + LEAD[quality] + slash


@st.composite
def plans(draw) -> tuple[MusicPlan, list[list[Chord]], str]:
    """A valid plan as a person or a mapping might write it (any spelling), with the chords it means and its key
    as written."""
    meter = draw(st.sampled_from(METERS))
    num, _ = parse_meter(meter)
    tonic, mode = draw(st.sampled_from(TONICS)), draw(st.sampled_from(["major", "minor"]))
    key_text = draw(st.sampled_from([f"{tonic} {mode}", f"{tonic}:{mode[:3]}",
                                     tonic + ("m" if mode == "minor" else ""),
                                     tonic.lower() if mode == "minor" else tonic]))
    key = parse_key(key_text)
    sections, start = [], 0
    for i in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 3))
        sections.append(Section(
            label=draw(st.one_of(st.sampled_from(["A", "B", "intro", "chorus 2"]), text)), start_bar=start, n_bars=n,
            cut_sec=None if i == 0 else draw(st.one_of(st.none(), st.floats(0.0, 600.0, allow_nan=False))),
            tempo_bpm=draw(st.one_of(st.none(), tempos)),
            valence=draw(st.one_of(st.none(), signed)), arousal=draw(st.one_of(st.none(), signed))))
        start += n
    bars, meant = [], []
    for _ in range(start):
        k = draw(st.integers(1, min(4, num * 16)))
        sixteenths = sorted(draw(st.sets(st.integers(0, num * 16 - 1), min_size=k, max_size=k)))
        if draw(st.booleans()):  # most bars start with a chord on the downbeat
            sixteenths[0] = 0
            sixteenths = sorted(set(sixteenths))
        written = [draw(spelled_chord(key)) for _ in sixteenths]
        bars.append(BarPlan([ChordSlot(s / 16 if s % 16 else s // 16, t) for s, (_, t) in zip(sixteenths, written)],
                            draw(unit), draw(unit)))
        meant.append([c for c, _ in written])
    roles = draw(st.sets(st.sampled_from(["melody", "harmony", "bass"])))
    if draw(st.booleans()):
        roles.add("drums")
    plan = MusicPlan(duration_sec=1.0, tempo_bpm=draw(tempos), meter=meter, key=key_text, bars=bars,
                     sections=sections, valence=draw(signed), arousal=draw(signed),
                     instrumentation={r: draw(st.integers(0, 127)) for r in sorted(roles, key=ROLES.index)},
                     seed=draw(st.integers(0, 2**40)), engine="rule",
                     source=draw(st.dictionaries(text, json_values, max_size=3)))
    # the music ends somewhere in the last bar
    last, covered = plan.bar_start_sec(plan.n_bars - 1), plan.bar_start_sec(plan.n_bars)
    plan.duration_sec = max(DURATION_RANGE[0], last + draw(st.floats(0.01, 1.0)) * (covered - last))
    return plan, meant, key_text


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """One folder for the module's files (a folder a test case costs more than the case)."""
    return tmp_path_factory.mktemp("plans")


def root_spelling(symbol: str) -> str:
    return symbol.split(":")[0]


# ----- JSON round trips ----------------------------------------------------------------------------------------
@settings(SETTINGS, max_examples=25)
@given(plans())
def test_any_valid_plan_round_trips_through_json(scratch, drawn):
    plan, meant, key_text = drawn
    assert plan.validate() is plan
    key = parse_key(key_text)
    # validate spells the key by its name and every chord in POP909 form, with the key's sharps or flats
    assert plan.key == key.name and parse_key(plan.key) == key
    for bar, chords in zip(plan.bars, meant):
        assert [parse_chord(s.chord) for s in bar.chords] == chords
        for slot in bar.chords:
            assert slot.chord == parse_chord(slot.chord).symbol(key.uses_flats)
            assert ("#" not in root_spelling(slot.chord)) if key.uses_flats else ("b" not in root_spelling(slot.chord))
    text = plan.to_json()
    assert text.endswith("\n") and json.loads(text) == plan.to_dict()
    assert list(plan.to_dict())[0] == "schema_version" and plan.to_dict()["schema_version"] == SCHEMA_VERSION
    # validate again: nothing moves
    again = copy.deepcopy(plan).validate()
    assert again == plan and again.to_json() == text
    # text -> plan, file -> plan
    back = MusicPlan.from_dict(json.loads(text))
    assert back == plan and back.to_json() == text
    path = scratch / "round_trip.json"
    plan.save(path)
    assert path.read_text(encoding="utf-8") == text
    loaded = load_plan(path)
    assert loaded == plan and loaded.to_json() == text
    loaded.save(path)
    assert path.read_text(encoding="utf-8") == text
    # and what the plan means is what it meant
    for b in range(plan.n_bars):
        assert [c for _, c in loaded.chords_at(b)] == meant[b]
        section = loaded.section_of_bar(b)
        assert loaded.bar_tempo(b) == (plan.tempo_bpm if section.tempo_bpm is None else section.tempo_bpm)
    assert loaded.bar_start_sec(loaded.n_bars - 1) < loaded.duration_sec <= loaded.bar_start_sec(loaded.n_bars)


def test_plan_json_keeps_types_and_order():
    plan = simple_plan(6.0, tempo_bpm=90, key="Bb major", meter="6/8", chords="I | IV V")
    d = json.loads(plan.to_json())
    assert list(d) == ["schema_version", "duration_sec", "tempo_bpm", "meter", "key", "bars", "sections", "valence",
                       "arousal", "instrumentation", "seed", "engine", "source"]
    assert list(d["bars"][0]) == ["chords", "density", "dynamics", "meter", "melody", "cadence"]
    assert list(d["bars"][0]["chords"][0]) == ["beat", "chord"]
    assert list(d["sections"][0]) == ["label", "start_bar", "n_bars", "cut_sec", "tempo_bpm", "valence", "arousal",
                                      "theme", "role", "ramp"]
    assert d["tempo_bpm"] == 90 and isinstance(d["tempo_bpm"], int)  # an int stays an int: same text again
    assert [s["chord"] for s in d["bars"][1]["chords"]] == ["Eb:maj", "F:maj"] and d["instrumentation"] == GM_DEFAULTS
    assert "ü" in MusicPlan.from_dict({**d, "source": {"input": "Müller.mp4"}}).to_json()  # UTF-8, not \u escapes


# ----- simple_plan ---------------------------------------------------------------------------------------------
@settings(SETTINGS, max_examples=30)
@given(st.floats(DURATION_RANGE[0], 40.0), tempos, st.sampled_from(METERS), st.sampled_from(TONICS),
       st.sampled_from(["major", "minor"]),
       st.lists(st.lists(st.sampled_from(["I", "ii", "iii", "IV", "V7", "vi", "bVII", "Am", "F#m7", "N", "Bb:maj/3"]),
                         min_size=1, max_size=4), min_size=1, max_size=5))
def test_simple_plan_covers_the_duration_with_the_progression(duration, tempo, meter, tonic, mode, prog):
    text = "| " + " | ".join(" ".join(bar) for bar in prog) + " |"
    plan = simple_plan(duration, tempo_bpm=tempo, key=f"{tonic} {mode}", meter=meter, chords=text)
    num, den = parse_meter(meter)
    bar_sec = num * 4 / den * 60 / tempo
    assert plan.n_bars == max(1, math.ceil(duration / bar_sec - 1e-9))
    assert plan.bar_start_sec(plan.n_bars - 1) < duration <= plan.bar_start_sec(plan.n_bars) + 1e-6
    key = parse_key(f"{tonic} {mode}")
    for b, bar in enumerate(plan.bars):
        want = [parse_chord(c, key) for c in prog[b % len(prog)]]
        assert [parse_chord(s.chord) for s in bar.chords] == want
        assert [s.beat for s in bar.chords] == pytest.approx([i * num / len(want) for i in range(len(want))], abs=5e-4)
    assert [(s.start_bar, s.n_bars, s.tempo_bpm) for s in plan.sections] == [(0, plan.n_bars, None)]
    assert MusicPlan.from_dict(json.loads(plan.to_json())).to_json() == plan.to_json()


def test_simple_plan_refuses_what_validate_would():
    with pytest.raises(PlanError, match="tempo"):
        simple_plan(4.0, tempo_bpm=400)
    with pytest.raises(PlanError, match="duration"):
        simple_plan(0.0)
    with pytest.raises(PlanError, match="meter"):
        simple_plan(4.0, meter="4/5")
    with pytest.raises(PlanError, match="engine"):
        simple_plan(4.0, engine="nope")
    with pytest.raises(ValueError, match="'Q7'"):  # a ChordError (a FramescoreError too)
        simple_plan(4.0, chords="I Q7")


# ----- an invalid field is a PlanError naming it ---------------------------------------------------------------
def good_plan() -> MusicPlan:
    """D minor, 4/4, four bars (bar 1: two chords) in two sections: A at 100 bpm, B from a cut at 2.4 s."""
    plan = MusicPlan(duration_sec=8.5, tempo_bpm=120.0, meter="4/4", key="D minor",
                     bars=[BarPlan([ChordSlot(0, "D:min")], 0.4, 0.5),
                           BarPlan([ChordSlot(0, "G:min"), ChordSlot(2, "A:7")], 0.6, 0.7),
                           BarPlan([ChordSlot(0, "Bb:maj")]), BarPlan([ChordSlot(0, "A:maj")])],
                     sections=[Section("A", 0, 2, tempo_bpm=100.0), Section("B", 2, 2, cut_sec=4.8)],
                     valence=-0.2, arousal=0.3, seed=7)
    return plan.validate()


def test_the_good_plan_is_good():
    plan = good_plan()
    assert plan.bar_start_sec(4) == pytest.approx(2 * 2.4 + 2 * 2.0)
    assert MusicPlan.from_dict(json.loads(plan.to_json())) == plan


# (path to the field, invalid value, what the message must say): out of range or unreadable values
OUT_OF_RANGE = [
    (("schema_version",), 3, r"schema_version"),
    (("schema_version",), 0, r"schema_version"),
    (("duration_sec",), 0.0, r"duration"),
    (("duration_sec",), -3.0, r"duration"),
    (("duration_sec",), 4000.0, r"duration"),
    (("duration_sec",), math.nan, r"duration"),
    (("duration_sec",), math.inf, r"duration"),
    (("duration_sec",), 9.5, r"bars last 8\.800 s, shorter than duration 9\.500 s"),
    (("duration_sec",), 6.7, r"last bar starts at 6\.800 s, after the end \(6\.700 s\): too many bars"),
    (("tempo_bpm",), 29.0, r"tempo"),
    (("tempo_bpm",), 301, r"tempo"),
    (("tempo_bpm",), math.nan, r"tempo"),
    (("tempo_bpm",), -math.inf, r"tempo"),
    (("meter",), "4/5", r"meter '4/5'"),
    (("meter",), "0/4", r"meter '0/4'"),
    (("meter",), "17/8", r"meter '17/8'"),
    (("meter",), "four", r"meter 'four'"),
    (("meter",), "4/4/4", r"meter '4/4/4'"),
    (("meter",), "", r"meter ''"),
    (("key",), "H major", r"key 'H major'"),
    (("key",), "C dorian", r"key 'C dorian'"),
    (("key",), "", r"key ''"),
    (("valence",), 1.01, r"valence"),
    (("valence",), -7, r"valence"),
    (("valence",), math.nan, r"valence"),
    (("arousal",), 2.0, r"arousal"),
    (("arousal",), -math.inf, r"arousal"),
    (("instrumentation",), {"singer": 3}, r"instrument role 'singer'"),
    (("instrumentation",), {"bass": 128}, r"instrument bass.*128"),
    (("instrumentation",), {"drums": -1}, r"instrument drums.*-1"),
    (("seed",), -1, r"seed"),
    (("engine",), "nope", r"engine 'nope'"),
    (("engine",), "", r"engine ''"),
    (("bars",), [], r"no bars"),
    (("sections",), [], r"no sections"),
    (("bars", 1, "density"), -0.01, r"bar 1: density"),
    (("bars", 1, "density"), 1.5, r"bar 1: density"),
    (("bars", 1, "density"), math.nan, r"bar 1: density"),
    (("bars", 1, "dynamics"), 1.0001, r"bar 1: dynamics"),
    (("bars", 1, "dynamics"), -1, r"bar 1: dynamics"),
    (("bars", 1, "chords"), [], r"bar 1 has no chord"),
    (("bars", 1, "chords", 0, "beat"), -0.5, r"bar 1: chord beat -0\.5"),
    (("bars", 1, "chords", 1, "beat"), 4, r"bar 1: chord beat 4"),  # past the bar's last beat
    (("bars", 1, "chords", 1, "beat"), 0, r"bar 1: chord beat 0"),  # not after the previous chord
    (("bars", 1, "chords", 1, "beat"), 0.05, r"bar 1: chord beat 0\.05"),  # closer than a 64th
    (("bars", 1, "chords", 1, "beat"), math.nan, r"bar 1: chord beat nan"),
    (("bars", 1, "chords", 1, "chord"), "Xm7", r"bar 1: .*chord symbol 'Xm7'"),
    (("bars", 1, "chords", 1, "chord"), "", r"bar 1: .*chord symbol ''"),
    (("bars", 1, "chords", 1, "chord"), "C:maj/x", r"bar 1: .*'C:maj/x'.*bass"),
    (("sections", 1, "start_bar"), 3, r"section 'B' must start at bar 2"),
    (("sections", 1, "start_bar"), -1, r"section 'B' must start at bar 2"),
    (("sections", 0, "start_bar"), 1, r"section 'A' must start at bar 0"),
    (("sections", 1, "n_bars"), 0, r"section 'B' .*at least one bar"),
    (("sections", 1, "n_bars"), 3, r"sections cover 5 bars but the plan has 4"),
    (("sections", 1, "n_bars"), 1, r"sections cover 3 bars but the plan has 4"),
    (("sections", 1, "tempo_bpm"), 500.0, r"tempo"),
    (("sections", 1, "tempo_bpm"), math.nan, r"tempo"),
    (("sections", 1, "valence"), 1.5, r"section 'B': valence"),
    (("sections", 1, "arousal"), -1.5, r"section 'B': arousal"),
    (("sections", 1, "arousal"), math.nan, r"section 'B': arousal"),
]

def set_field(root, path, value):
    """Set ``path`` (attribute names / list indices) inside a plan object or its JSON dict."""
    node = root
    for k in path[:-1]:
        node = node[k] if isinstance(k, int) or isinstance(node, dict) else getattr(node, k)
    last = path[-1]
    if isinstance(node, (dict, list)):
        node[last] = value
    else:
        setattr(node, last, value)


def dotted(path: tuple) -> str:
    return ".".join(map(str, path))


def ids(params):
    return [f"{'.'.join(map(str, p[0] if not hasattr(p, 'values') else p.values[0]))}="
            f"{(p[1] if not hasattr(p, 'values') else p.values[1])!r}" for p in params]


@pytest.mark.parametrize("path, bad, names", OUT_OF_RANGE, ids=ids(OUT_OF_RANGE))
def test_an_invalid_field_is_a_plan_error_naming_it_in_validate(path, bad, names):
    plan = good_plan()
    set_field(plan, path, bad)
    with pytest.raises(PlanError, match=names):
        plan.validate()


def load_with(scratch, path, bad) -> MusicPlan:
    """The good plan with one field changed, through a file (NaN and Infinity as json writes them)."""
    d = json.loads(good_plan().to_json())
    set_field(d, path, bad)
    (scratch / "bad.json").write_text(json.dumps(d), encoding="utf-8")
    return load_plan(scratch / "bad.json")


@pytest.mark.parametrize("path, bad, names", OUT_OF_RANGE, ids=ids(OUT_OF_RANGE))
def test_an_invalid_field_is_a_plan_error_naming_it_in_a_file(scratch, path, bad, names):
    with pytest.raises(PlanError, match=names) as err:
        load_with(scratch, path, bad)
    assert "\n" not in str(err.value)


def refusals(scratch, path, bads, names) -> list[str]:
    """What is wrong with how the plan takes each bad value, in validate() and from a file (empty: all well)."""
    problems = []
    for bad in bads:
        plan = good_plan()
        set_field(plan, path, bad)
        for how, load in (("validate", plan.validate), ("file", lambda: load_with(scratch, path, bad))):
            try:
                load()
                problems.append(f"{how}: {dotted(path)}={bad!r} accepted")
            except PlanError as e:
                if not re.search(names, str(e)):
                    problems.append(f"{how}: {dotted(path)}={bad!r}: {e} (names no {names!r})")
    return problems


def test_a_section_tempo_out_of_range_names_the_section(scratch):
    assert refusals(scratch, ("sections", 1, "tempo_bpm"), [500.0, 10, math.nan], r"section 'B'.*tempo") == []


def test_a_cut_time_out_of_range_is_refused(scratch):
    assert refusals(scratch, ("sections", 1, "cut_sec"), [-1.0, math.nan, math.inf], r"cut") == []


# a value of the wrong JSON type: the message names the field and the type it must be
FIELDS = {  # path -> the type named in the message
    ("schema_version",): "int", ("duration_sec",): "float", ("tempo_bpm",): "float", ("meter",): "str",
    ("key",): "str", ("valence",): "float", ("arousal",): "float", ("instrumentation",): "dict", ("seed",): "int",
    ("engine",): "str", ("source",): "dict",
    ("bars", 1, "density"): "float", ("bars", 1, "dynamics"): "float",
    ("bars", 1, "chords", 1, "beat"): "float", ("bars", 1, "chords", 1, "chord"): "str",
    ("sections", 1, "label"): "str", ("sections", 1, "start_bar"): "int", ("sections", 1, "n_bars"): "int",
    ("sections", 1, "cut_sec"): "float | None", ("sections", 1, "tempo_bpm"): "float | None",
    ("sections", 1, "valence"): "float | None", ("sections", 1, "arousal"): "float | None",
}
WHERE = {"bars": "bar 1", "chords": "bar 1, chord 1", "sections": "section 1"}


def wrong_values(path: tuple, want: str) -> list:
    """Values of every JSON type but the one ``want`` names (an int is a float; true is no number)."""
    fits = {"str": ("x",), "int": (3,), "float": (3, 1.5), "float | None": (3, 1.5, None), "dict": ({"a": 1},)}[want]
    out = [v for v in ("x", 3, 1.5, None, True, [1], {"a": 1}) if not any(v is f or v == f and type(v) is type(f)
                                                                          for f in fits)]
    if path == ("instrumentation",):
        out.append({"bass": "x"})  # a dict, of the wrong values
    return out


TYPE_CASES = [(path, bad) for path, want in FIELDS.items() for bad in wrong_values(path, want)]


@pytest.mark.parametrize("path, bad", TYPE_CASES, ids=[f"{'.'.join(map(str, p))}={b!r}" for p, b in TYPE_CASES])
def test_a_wrongly_typed_field_in_json_is_a_plan_error_naming_it(path, bad):
    d = json.loads(good_plan().to_json())
    set_field(d, path, bad)
    where = WHERE["chords" if "chords" in path else path[0]] if len(path) > 1 else "plan"
    field = path[-1]
    with pytest.raises(PlanError) as err:
        MusicPlan.from_dict(json.loads(json.dumps(d)))
    msg = str(err.value)
    assert msg.startswith(f"{where}: {field} must be {FIELDS[path]}, not "), msg


@pytest.mark.parametrize("path", [("bars",), ("sections",), ("bars", 1, "chords")], ids=dotted)
@pytest.mark.parametrize("bad", ["x", {"a": 1}, 3, None, [7]], ids=repr)
def test_a_list_field_that_is_not_a_list_of_objects_names_itself(path, bad):
    d = json.loads(good_plan().to_json())
    set_field(d, path, bad)
    with pytest.raises(PlanError) as err:
        MusicPlan.from_dict(d)
    msg = str(err.value)
    if isinstance(bad, list):
        item = {"bars": "bar 0", "sections": "section 0", "chords": "bar 1, chord 0"}[path[-1]]
        assert msg == f"{item} must be a JSON object, not int"
    else:
        where = "bar 1: chords" if path[-1] == "chords" else path[-1]
        assert msg.startswith(f"{where} must be a JSON list")


REQUIRED = [("duration_sec",), ("tempo_bpm",), ("meter",), ("key",), ("bars",), ("sections",),
            ("bars", 1, "chords"), ("bars", 1, "chords", 1, "beat"), ("bars", 1, "chords", 1, "chord"),
            ("sections", 1, "label"), ("sections", 1, "start_bar"), ("sections", 1, "n_bars")]


@pytest.mark.parametrize("path", REQUIRED, ids=dotted)
def test_a_missing_required_field_is_named(path):
    d = json.loads(good_plan().to_json())
    node = d
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]
    with pytest.raises(PlanError, match=re.escape(path[-1])):
        MusicPlan.from_dict(d)


@pytest.mark.parametrize("path", [(), ("bars", 1), ("bars", 1, "chords", 1), ("sections", 1)], ids=repr)
def test_an_unknown_field_is_named(path):
    d = json.loads(good_plan().to_json())
    node = d
    for k in path:
        node = node[k]
    node["tempo"] = 120
    with pytest.raises(PlanError, match="unknown field 'tempo'"):
        MusicPlan.from_dict(d)


@pytest.mark.parametrize("path", [("valence",), ("arousal",), ("instrumentation",), ("seed",), ("engine",),
                                  ("source",), ("schema_version",), ("bars", 1, "density"),
                                  ("bars", 1, "dynamics"), ("sections", 1, "cut_sec"), ("sections", 1, "tempo_bpm"),
                                  ("sections", 1, "valence"), ("sections", 1, "arousal")], ids=dotted)
def test_an_optional_field_left_out_takes_its_default(path):
    d = json.loads(good_plan().to_json())
    node = d
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]
    plan = MusicPlan.from_dict(d)
    defaults = {"valence": 0.0, "arousal": 0.0, "instrumentation": GM_DEFAULTS, "seed": 0, "engine": "rule",
                "source": {}, "schema_version": SCHEMA_VERSION, "density": 0.5, "dynamics": 0.5}
    got = plan
    for k in path:
        got = got[k] if isinstance(k, int) else getattr(got, k)
    assert got == (None if path[0] == "sections" else defaults[path[-1]])


def test_a_plan_file_that_is_no_plan_names_the_file(tmp_path):
    with pytest.raises(PlanError, match="not found.*nope.json"):
        load_plan(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text('{"duration_sec": 3,\n oops}')
    with pytest.raises(PlanError, match=r"bad.json is not valid JSON.*line 2"):
        load_plan(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(PlanError, match="plan must be a JSON object, not list"):
        load_plan(tmp_path / "list.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PlanError, match="bin.json is not a text file"):
        load_plan(tmp_path / "bin.json")
    with pytest.raises(PlanError, match="cannot read plan"):
        load_plan(tmp_path)  # a folder


# validate() on a plan built in Python: a wrong type must be a PlanError too (FramescoreError: one line, no
# traceback), as it is for the fields below ...
TYPED_OK = [(("tempo_bpm",), "fast", "tempo"), (("seed",), "7", "seed"), (("seed",), 1.0, "seed"),
            (("engine",), 3, "engine"), (("schema_version",), "1", "schema_version"),
            (("sections", 1, "tempo_bpm"), "fast", "tempo"), (("sections", 1, "start_bar"), "2", "section 'B'")]
# ... but not yet for these, which raise TypeError / AttributeError from inside validate()
TYPED_LEAKS = [(("duration_sec",), "9", "duration"), (("meter",), 44, "meter"), (("key",), None, "key"),
               (("valence",), "high", "valence"), (("arousal",), None, "arousal"),
               (("instrumentation",), ["bass"], "instrument"), (("bars",), "C:maj", "bar"),
               (("sections",), 3, "section"), (("bars", 1, "density"), "0.5", "density"),
               (("bars", 1, "dynamics"), None, "dynamics"), (("bars", 1, "chords"), "C:maj", "chord"),
               (("bars", 1, "chords", 1, "beat"), "2", "beat"), (("bars", 1, "chords", 1, "chord"), None, "chord"),
               (("sections", 1, "n_bars"), "2", "n_bars|section 'B'"), (("sections", 1, "valence"), "x", "valence")]
TYPED_UNSEEN = [(("sections", 1, "label"), 3, "label"), (("sections", 1, "cut_sec"), "soon", "cut"),
                (("source",), "camera", "source")]


@pytest.mark.parametrize("path, bad, names", TYPED_OK, ids=[f"{dotted(p)}={b!r}" for p, b, _ in TYPED_OK])
def test_a_wrongly_typed_field_in_python_is_a_plan_error_naming_it(path, bad, names):
    plan = good_plan()
    set_field(plan, path, bad)
    with pytest.raises(PlanError, match=names):
        plan.validate()


def validate_problems(cases) -> list[str]:
    problems = []
    for path, bad, names in cases:
        plan = good_plan()
        set_field(plan, path, bad)
        try:
            plan.validate()
            problems.append(f"{dotted(path)}={bad!r} accepted")
        except PlanError as e:
            if not re.search(names, str(e)):
                problems.append(f"{dotted(path)}={bad!r}: {e}")
        except Exception as e:  # noqa: BLE001 - the point: nothing but a PlanError
            problems.append(f"{dotted(path)}={bad!r}: {type(e).__name__}: {e}")
    return problems


def test_every_wrongly_typed_field_in_python_is_a_plan_error():
    assert validate_problems(TYPED_LEAKS) == []


def test_fields_validate_never_reads_are_still_checked():
    assert validate_problems(TYPED_UNSEEN) == []
