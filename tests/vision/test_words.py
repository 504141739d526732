"""Text → attributes: captions in MidiCaps's style and in free style, each with what it states (and nothing else)."""

from __future__ import annotations

import pytest

from framescore.symbolic.chords import parse_chord, parse_key
from framescore.symbolic.plan import PlanError
from framescore.vision.mapping import Overrides, plan_from_text
from framescore.vision.mood import MoodError
from framescore.vision.words import read_words

NONE = None
#: (caption, expected attributes). Instruments as role → GM program (None: no track); attributes not listed must
#: not be read.
CAPTIONS: list[tuple[str, dict]] = [
    # MidiCaps's style
    ("A melodic electronic song with ambient elements, featuring piano, acoustic guitar, alto saxophone, string "
     "ensemble, and electric bass. Set in G minor with a 4/4 time signature, it moves at a lively Presto tempo.",
     {"key": "G minor", "meter": "4/4", "tempo_bpm": 184.0,  # saxophone and strings: layers, each a track
      "instruments": {"melody": 0, "harmony": 25, "bass": 33, "drums": NONE},
      "layers": {"melody": [65], "harmony": [48]}}),
    ("A cinematic piece in C major with a 3/4 time signature at an Andante tempo, featuring string ensemble and "
     "french horn.", {"key": "C major", "meter": "3/4", "tempo_bpm": 92.0,
                      "instruments": {"melody": 48, "harmony": 60, "bass": NONE, "drums": NONE}}),
    ("This classical piece is set in D major with a 4/4 time signature and moves at a Moderato tempo. The chord "
     "progression D, A, Bm, G drives it.", {"key": "D major", "meter": "4/4", "tempo_bpm": 114.0,
                                           "chords": "D A Bm G"}),
    ("A pop song in A minor at an Allegro tempo with a 4/4 time signature, featuring electric piano and drums. "
     "The chord sequence Am, F, C, G repeats.", {"key": "A minor", "meter": "4/4", "tempo_bpm": 138.0,
                                                 "chords": "Am F C G",
                                                 "instruments": {"melody": 4, "drums": 0, "harmony": 4,
                                                                 "bass": NONE}}),
    ("A slow Largo piece in B-flat minor with a 6/8 time signature, played on cello.",
     {"key": "Bb minor", "meter": "6/8", "tempo_bpm": 50.0,
      "instruments": {"melody": 42, "harmony": 42, "bass": NONE, "drums": NONE}}),
    ("An energetic rock track set in E major, 4/4, at a Vivace tempo, with distortion guitar, electric bass and "
     "drums.", {"key": "E major", "meter": "4/4", "tempo_bpm": 166.0,
                "instruments": {"melody": 30, "bass": 33, "drums": 0, "harmony": 30}}),
    ("A jazz piece in F major in 4/4 at an Andante tempo, featuring tenor sax, acoustic bass and piano.",
     {"key": "F major", "meter": "4/4", "tempo_bpm": 92.0,
      "instruments": {"melody": 66, "bass": 32, "harmony": 0, "drums": NONE}}),
    ("A folk song in G major with a 3/4 time signature and an Allegretto tempo, featuring acoustic guitar and "
     "violin.", {"key": "G major", "meter": "3/4", "tempo_bpm": 116.0,
                 "instruments": {"melody": 25, "harmony": 40, "bass": NONE, "drums": NONE}}),
    ("An ambient track in E minor, 4/4 time signature, Adagio tempo, with synth pad and choir.",
     {"key": "E minor", "meter": "4/4", "tempo_bpm": 71.0,
      "instruments": {"melody": 88, "harmony": 52, "bass": NONE, "drums": NONE}}),
    ("A baroque piece in D minor in 3/4 at a Lento tempo, played by harpsichord and string ensemble.",
     {"key": "D minor", "meter": "3/4", "tempo_bpm": 52.0,
      "instruments": {"melody": 6, "harmony": 48, "bass": NONE, "drums": NONE}}),
    ("An orchestral piece set in E-flat major with a 2/4 time signature, at a Presto tempo, with trumpet, "
     "timpani and string ensemble.", {"key": "Eb major", "meter": "2/4", "tempo_bpm": 184.0,
                                      "instruments": {"melody": 56, "harmony": 47, "bass": NONE, "drums": NONE},
                                      "layers": {"harmony": [48]}}),
    ("A hip hop beat in C minor, 4/4, at 90 bpm with synth bass, electric piano and drums.",
     {"key": "C minor", "meter": "4/4", "tempo_bpm": 90.0,
      "instruments": {"bass": 38, "melody": 4, "drums": 0, "harmony": 4}}),
    ("A happy country song in A major at 120 beats per minute with a 2/4 time signature, banjo and fiddle.",
     {"key": "A major", "meter": "2/4", "tempo_bpm": 120.0,
      "instruments": {"melody": 105, "harmony": 110, "bass": NONE, "drums": NONE}}),
    ("A blues in E major with a 12/8 time signature at a Moderato tempo, featuring Hammond organ.",
     {"key": "E major", "meter": "12/8", "tempo_bpm": 114.0,
      "instruments": {"melody": 16, "harmony": 16, "bass": NONE, "drums": NONE}}),
    ("A tense electronic piece in F-sharp minor, 7/8, at an Allegro tempo with synth lead and drum machine.",
     {"key": "F# minor", "meter": "7/8", "tempo_bpm": 138.0,
      "instruments": {"melody": 80, "drums": 0, "harmony": 80, "bass": NONE}}),
    ("A romantic piece in A-flat major, 4/4 time signature, Larghetto tempo, with piano and strings.",
     {"key": "Ab major", "meter": "4/4", "tempo_bpm": 63.0,
      "instruments": {"melody": 0, "harmony": 48, "bass": NONE, "drums": NONE}}),
    ("A dark cinematic piece in C-sharp minor, 5/4, at a Grave tempo, featuring cello, contrabass and timpani.",
     {"key": "C# minor", "meter": "5/4", "tempo_bpm": 35.0,
      "instruments": {"melody": 42, "bass": 43, "harmony": 47, "drums": NONE}}),
    ("An uplifting pop song in D major, 4/4, Allegro, chords: D G Bm A, with acoustic guitar, electric bass "
     "and drums.", {"key": "D major", "meter": "4/4", "tempo_bpm": 138.0, "chords": "D G Bm A",
                    "instruments": {"melody": 25, "bass": 33, "drums": 0, "harmony": 25}}),
    ("A gentle lullaby in F major with a 6/8 time signature at an Andantino tempo, played on music box and harp.",
     {"key": "F major", "meter": "6/8", "tempo_bpm": 94.0,
      "instruments": {"melody": 10, "harmony": 46, "bass": NONE, "drums": NONE}}),
    ("A bossa nova in G major, 4/4, 130 bpm, nylon guitar, flute and upright bass, chords Gmaj7 Am7 D7 Gmaj7.",
     {"key": "G major", "meter": "4/4", "tempo_bpm": 130.0, "chords": "Gmaj7 Am7 D7 Gmaj7",
      "instruments": {"melody": 24, "harmony": 73, "bass": 32, "drums": NONE}}),
    # free style
    ("a slow sad waltz in D minor for cello and piano, 70 bpm, chords Dm Gm A7 Dm",
     {"key": "D minor", "meter": "3/4", "tempo_bpm": 70.0, "chords": "Dm Gm A7 Dm",
      "instruments": {"melody": 42, "harmony": 0, "bass": NONE, "drums": NONE}}),
    ("a calm morning by the sea", {}),
    ("an epic march in E-flat major, 2 minutes, I IV V I",
     {"key": "Eb major", "meter": "2/4", "duration_sec": 120.0, "chords": "I IV V I"}),
    ("a jig in F sharp minor", {"key": "F# minor", "meter": "6/8"}),
    ("solo piano nocturne in the key of Bb, Andante",
     {"key": "Bb major", "tempo_bpm": 92.0, "instruments": {"melody": 0, "harmony": 0, "bass": NONE,
                                                            "drums": NONE}}),
    ("Something in Gm for strings, three-four time", {"key": "G minor", "meter": "3/4",
                                                       "instruments": {"melody": 48, "harmony": 48, "bass": NONE,
                                                                       "drums": NONE}}),
    ("a 30-second jingle, happy and bouncy, no drums", {"duration_sec": 30.0, "instruments": {"drums": NONE}}),
    ("one minute of tense chase music at 150 BPM", {"duration_sec": 60.0, "tempo_bpm": 150.0}),
    ("a polka, fast and silly", {"meter": "2/4"}),
    ("minuet in G major, 1:30", {"key": "G major", "meter": "3/4", "duration_sec": 90.0}),
    ("E♭ major, 96 bpm, a hopeful sunrise", {"key": "Eb major", "tempo_bpm": 96.0}),
    ("a march in common time", {"meter": "4/4"}),
    ("brass section and timpani, heroic, in D major, cut time",
     {"key": "D major", "meter": "2/2", "instruments": {"melody": 61, "harmony": 47, "bass": NONE,
                                                        "drums": NONE}}),
    ("ii-V-I in C major, jazzy, 110 bpm", {"key": "C major", "chords": "ii V I", "tempo_bpm": 110.0}),
    ("a lonely night, Am - F - C - G, 90 beats per minute", {"chords": "Am F C G", "tempo_bpm": 90.0}),
    ("A MINOR, 80 BPM, SAD", {"key": "A minor", "tempo_bpm": 80.0}),
    ("dreamy, in the key of F-sharp major, progression I vi IV V",
     {"key": "F# major", "chords": "I vi IV V"}),
    ("at 120 bpm... no, make it 100 bpm", {"tempo_bpm": 100.0}),
    ("a 45 second piece in 6/8 with flute and electric bass and light percussion",
     {"duration_sec": 45.0, "meter": "6/8",
      "instruments": {"melody": 73, "bass": 33, "drums": 0, "harmony": 73}}),
    ("I love a happy day", {}),
    ("a 5/4 groove, alto sax over upright bass, tempo 140",
     {"meter": "5/4", "tempo_bpm": 140.0, "instruments": {"melody": 65, "bass": 32, "harmony": 65,
                                                          "drums": NONE}}),
    ("chords C | Am F | G, calm", {"chords": "C | Am F | G"}),
]
ATTRS = ("key", "tempo_bpm", "meter", "chords", "duration_sec", "instruments", "layers")


@pytest.mark.parametrize("caption, expected", CAPTIONS, ids=[c[:40] for c, _ in CAPTIONS])
def test_each_caption_gives_what_it_states_and_nothing_else(caption, expected):
    r = read_words(caption)
    got = {a: getattr(r, a) for a in ATTRS if getattr(r, a) not in (None, {})}
    if "key" in got and "key" in expected:  # the same key, however it is spelt (F# major is written Gb major)
        assert parse_key(got.pop("key")) == parse_key(expected.pop("key"))
    assert got == expected


def test_there_are_forty_captions_or_more():
    assert len(CAPTIONS) >= 40


def test_a_later_statement_wins_and_is_noted():
    r = read_words("at 120 bpm, no wait, 96 bpm, in C major... actually A minor")
    assert (r.tempo_bpm, r.key) == (96.0, "A minor")
    assert len(r.notes) == 2 and all("the later one wins" in n for n in r.notes)


def test_every_attribute_read_names_its_words_and_the_rest_goes_to_the_mood():
    r = read_words("a slow sad waltz in D minor, 70 bpm")
    assert {(x["attribute"], x["words"]) for x in r.read} == {("meter", "waltz"), ("key", "D minor"),
                                                              ("tempo_bpm", "70 bpm")}
    assert "minor" not in r.rest and "70" not in r.rest and "slow sad" in r.rest


def test_every_instrument_past_the_four_roles_gets_its_own_track_as_a_layer():
    r = read_words("piano, acoustic guitar, alto saxophone, strings, synth bass and electric bass, with drums")
    assert r.instruments == {"melody": 0, "harmony": 25, "bass": 38, "drums": 0}
    assert r.layers == {"melody": [65], "harmony": [48], "bass": [33]}
    plan = plan_from_text(r.text, 8.0)
    assert plan.layers == {"melody": [65], "harmony": [48], "bass": [33]}
    from framescore.symbolic.engines import compose

    piece = compose(plan)
    assert [(t.name, t.program) for t in piece.tracks] == [
        ("melody", 0), ("harmony", 25), ("bass", 38), ("drums", 0), ("melody_2", 65), ("harmony_2", 48),
        ("bass_2", 33)]
    mel, sax = piece.track("melody"), piece.track("melody_2")
    assert [(n.start, n.pitch) for n in sax.notes] == [(n.start, n.pitch) for n in mel.notes]  # colla parte
    strings = piece.track("harmony_2")
    assert strings.notes and all(55 <= n.pitch < 80 for n in strings.notes)


def test_plan_from_text_takes_the_words_and_the_flags_win():
    plan = plan_from_text("a slow sad waltz in D minor for cello and piano, 70 bpm, chords Dm Gm A7 Dm", 20.0)
    assert (str(plan.key), plan.meter, plan.tempo_bpm) == ("D minor", "3/4", 70.0)
    assert plan.instrumentation == {"melody": 42, "harmony": 0}
    assert [parse_chord(b.chords[0].chord) for b in plan.bars[:4]] == [parse_chord(c) for c in "Dm Gm A7 Dm".split()]
    mapping = plan.source["mapping"]
    assert mapping["text_mood"]["unknown"] == []  # "waltz", "minor", "bpm", "cello"... are all understood
    assert plan.valence < 0  # "sad" still reads
    flagged = plan_from_text("a waltz in D minor, 70 bpm", 10.0, Overrides(key="E minor", tempo_bpm=90.0))
    assert (str(flagged.key), flagged.tempo_bpm, flagged.meter) == ("E minor", 90.0, "3/4")
    assert any("flag" in n for n in flagged.source["mapping"]["text_notes"])


def test_the_duration_can_come_from_the_words_and_is_needed_from_somewhere():
    assert plan_from_text("a happy 30-second jingle", None).duration_sec == pytest.approx(30.0)
    with pytest.raises(PlanError, match="needs a duration"):
        plan_from_text("a happy jingle", None)


def test_attributes_without_a_mood_word_are_enough_but_nothing_at_all_is_an_error():
    plan = plan_from_text("in C minor, 3/4, 100 bpm", 10.0)
    assert (str(plan.key), plan.meter, plan.tempo_bpm) == ("C minor", "3/4", 100.0)
    with pytest.raises(MoodError, match="no mood or musical attribute"):
        plan_from_text("xyzzy plugh", 10.0)
