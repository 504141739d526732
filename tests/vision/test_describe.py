"""``framescore describe``: a MidiCaps-style caption whose words read back (``read_words``) to the same key, meter,
tempo, instruments and chords."""

from __future__ import annotations

import pytest

from framescore.symbolic.chords import parse_chord, parse_key
from framescore.symbolic.engines import compose
from framescore.symbolic.reading import plan_from_piece
from framescore.vision.describe import attributes, caption, instrument_name, tempo_term
from framescore.vision.mapping import Overrides, plan_from_text
from framescore.vision.words import read_words


@pytest.mark.parametrize("program", range(128))
def test_every_general_midi_program_has_a_name_that_reads_back(program):
    r = read_words(f"A calm piece featuring {instrument_name(program)}.")
    assert program in r.instruments.values(), (instrument_name(program), r.instruments)


def test_tempo_terms_by_hand():
    assert [tempo_term(b) for b in (35, 50, 63, 70, 92, 112, 130, 160, 180, 220)] == [
        "Grave", "Largo", "Larghetto", "Adagio", "Andante", "Moderato", "Allegro", "Vivace", "Presto", "Prestissimo"]


CASES = [
    ("a sad waltz", Overrides(key="D minor", tempo_bpm=70.0, meter="3/4", instruments="melody=42,harmony=0,bass=none,drums=none")),
    ("a happy tune", Overrides(key="Bb major", tempo_bpm=128.0, instruments="melody=65,harmony=48,bass=33,drums=0")),
    ("a calm evening", Overrides(key="F# minor", tempo_bpm=96.0, meter="6/8", instruments="melody=73,harmony=46")),
    ("a happy big band", Overrides(key="C major", tempo_bpm=112.0,
                             instruments="melody=56,harmony=0,bass=32,drums=0,melody+=65,harmony+=48,harmony+=16")),
    ("tense chase", Overrides(key="E major", tempo_bpm=150.0, meter="2/4", chords="E C#m A B7")),
]


@pytest.mark.parametrize("words,ov", CASES, ids=[c[0] for c in CASES])
def test_the_caption_reads_back_to_the_same_attributes(words, ov):
    piece = compose(plan_from_text(words, 16.0, ov))
    a = attributes(plan_from_piece(piece, "x.mid"))
    assert a["caption"] == caption(a) and a["genre"] is None
    back = read_words(a["caption"])
    assert parse_key(back.key) == parse_key(a["key"])
    assert back.meter == a["time_signature"]
    assert back.tempo_bpm == a["tempo_bpm"] and tempo_term(back.tempo_bpm) == a["tempo_term"]
    pitched = {p for r, p in a["instrumentation"].items() if r != "drums"} | {p for ps in a["layers"].values()
                                                                              for p in ps}
    read = {p for r, p in back.instruments.items() if p is not None and r != "drums"} | {p for ps in
                                                                                         back.layers.values() for p in ps}
    assert read == pitched  # a drum kit is "drums" in words
    assert ("drums" in back.instruments and back.instruments["drums"] is not None) == ("drums" in a["instrumentation"])
    read = [parse_chord(c) for c in back.chords.split()]
    assert read == [parse_chord(c) for c in a["chords"]]
    # and through the whole text path: the plan made from the caption has them too
    plan = plan_from_text(a["caption"], None)
    assert (parse_key(plan.key), plan.meter, round(plan.tempo_bpm)) == (parse_key(a["key"]), a["time_signature"],
                                                                        a["tempo_bpm"])
    assert round(plan.duration_sec) == round(a["duration_sec"])
