"""Features (or words) → MusicPlan: affect, key, tempo fitted to cuts, chords, overrides and the edge cases."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from framescore.errors import FramescoreError
from framescore.symbolic.chords import parse_chord, parse_key
from framescore.symbolic.plan import TEMPO_RANGE, MusicPlan, PlanError, velocity_of
from framescore.vision.mapping import CONTENT_FLOW, Overrides, parse_instruments, plan_from_features, plan_from_text
from framescore.vision.mood import MoodError, mood_to_va


def fake_features(duration: float = 10.0, cuts=(3.1, 7.4), brightness: float = 0.45, saturation: float = 0.3,
                  motion: float = 0.08, warmth: float = 0.0, edges: float = 0.08, kind: str = "video",
                  fps: float = 8.0) -> SimpleNamespace:
    """A stand-in for vision.features.VisualFeatures: constant series at ``fps``."""
    times = np.arange(0.0, duration, 1.0 / fps) if kind == "video" and duration > 0 else np.zeros(1)
    n = len(times)
    f = SimpleNamespace(
        times=times, brightness=np.full(n, brightness), saturation=np.full(n, saturation),
        colourfulness=np.full(n, saturation), warmth=np.full(n, warmth), contrast=np.full(n, 0.2),
        edges=np.full(n, edges), motion=np.full(n, motion if kind == "video" else 0.0), cuts=list(cuts),
        duration_sec=duration if kind == "video" else 0.0, kind=kind,
    )  # fmt: skip
    f.summary = lambda: {"kind": kind, "duration_sec": f.duration_sec, "cuts": list(cuts)}
    f.motion_at = lambda t0, t1: float(motion if kind == "video" else 0.0)
    return f


def checked(plan: MusicPlan) -> MusicPlan:
    """Every plan must validate and survive a JSON round trip unchanged."""
    plan.validate()
    assert MusicPlan.from_dict(plan.to_dict()).to_json() == plan.to_json()
    return plan


def chord_names(plan: MusicPlan) -> list[list[str]]:
    return [[s.chord for s in b.chords] for b in plan.bars]


# ----- time ---------------------------------------------------------------------------------------------------


def test_sections_open_at_cuts_and_the_music_lasts_exactly_the_video():
    plan = checked(plan_from_features(fake_features(), source={"input": "clip.mp4"}))
    assert [s.cut_sec for s in plan.sections] == [None, 3.1, 7.4]
    for s in plan.sections[1:]:  # on a downbeat, within the 40 ms a hit is heard as together
        assert plan.bar_start_sec(s.start_bar) == pytest.approx(s.cut_sec, abs=0.040)
    assert plan.bar_start_sec(plan.n_bars - 1) < 10.0 - 1e-6 <= plan.bar_start_sec(plan.n_bars)
    tempos = [plan.bar_tempo(b) for b in range(plan.n_bars)]
    assert max(tempos) / min(tempos) <= 1.06 + 1e-9, "one steady tempo: no two bars more than 6% apart"
    assert plan.tempo_bpm == pytest.approx(plan.source["mapping"]["base_tempo_bpm"], abs=1e-3)
    assert plan.source["input"] == "clip.mp4" and plan.source["features"]["kind"] == "video"


def test_close_cuts_are_merged_and_recorded():
    plan = checked(plan_from_features(fake_features(cuts=(0.3, 3.1, 3.5, 7.4, 9.9))))
    assert [s.cut_sec for s in plan.sections] == [None, 3.1, 7.4]
    assert plan.source["mapping"]["dropped_cuts"] == [0.3, 3.5, 9.9]
    assert plan.bar_start_sec(plan.n_bars - 1) < 10.0 <= plan.bar_start_sec(plan.n_bars) + 1e-9  # last bar may be cut short


def test_a_long_shot_gets_many_bars_at_a_steady_tempo():
    plan = checked(plan_from_features(fake_features(duration=60.0, cuts=(20.0, 41.0))))
    assert plan.n_bars > 15
    tempos = [plan.bar_tempo(b) for b in range(plan.n_bars)]
    assert max(tempos) / min(tempos) <= 1.06 + 1e-9
    assert plan.bar_start_sec(plan.n_bars - 1) < 60.0 <= plan.bar_start_sec(plan.n_bars) + 1e-9  # last bar may be cut short


@pytest.mark.parametrize("duration", [0.3, 0.04])
def test_sub_second_and_one_frame_videos_get_one_bar(duration):
    plan = checked(plan_from_features(fake_features(duration=duration, cuts=())))
    assert plan.n_bars == 1 and plan.bar_start_sec(1) >= plan.duration_sec
    assert 0 < plan.duration_sec <= 0.3


def test_fixed_tempo_rounds_cuts_to_bar_lines():
    plan = checked(plan_from_features(fake_features(), Overrides(tempo_bpm=100.0)))
    bar = 2.4
    assert plan.tempo_bpm == 100.0 and all(s.tempo_bpm is None for s in plan.sections)
    beat = bar / 4
    assert sum(plan.bar_quarters(b) for b in range(plan.n_bars)) == math.ceil(10.0 / beat)  # last bar cut short
    assert [s.cut_sec for s in plan.sections] == [None, 3.1, 7.4]
    for s in plan.sections[1:]:  # each cut opens its section at the nearest beat, a shorter bar before it
        assert abs(plan.bar_start_sec(s.start_bar) - s.cut_sec) <= beat / 2


def test_meter_three_four():
    plan = checked(plan_from_features(fake_features(), Overrides(meter="3/4")))
    assert plan.meter == "3/4" and plan.quarters_per_bar == 3
    assert plan.bar_start_sec(plan.n_bars - 1) < 10.0 - 1e-6 <= plan.bar_start_sec(plan.n_bars)
    assert all(slot.beat < 3 for b in plan.bars for slot in b.chords)


# ----- affect -------------------------------------------------------------------------------------------------


def test_bright_saturated_fast_is_happy_and_excited():
    bright = checked(plan_from_features(fake_features(brightness=0.8, saturation=0.8, motion=0.5, edges=0.15,
                                                      warmth=0.3)))
    dark = checked(plan_from_features(fake_features(brightness=0.1, saturation=0.05, motion=0.0, edges=0.02,
                                                    cuts=(), warmth=-0.3)))
    assert bright.valence > 0.3 and bright.arousal > 0.3 and bright.key_obj.mode == "major"
    assert dark.valence < -0.3 and dark.arousal < -0.3 and dark.key_obj.mode == "minor"
    assert bright.source["mapping"]["target_tempo_bpm"] > dark.source["mapping"]["target_tempo_bpm"] + 30
    assert "drums" in bright.instrumentation and "drums" not in dark.instrumentation
    assert np.mean([b.density for b in bright.bars]) > np.mean([b.density for b in dark.bars])
    assert bright.key_obj.fifths > 0 > dark.key_obj.fifths - parse_key("A minor").fifths


def test_calm_content_music_flows_and_calm_music_is_soft():
    calm = dict(arousal=-0.8, seed=1)
    content = checked(plan_from_features(fake_features(motion=0.0), Overrides(valence=0.8, **calm)))
    sad = checked(plan_from_features(fake_features(motion=0.0), Overrides(valence=-0.8, **calm)))
    # the same picture and arousal: only CONTENT_FLOW · valence · calmness tells the densities apart
    lift = (content.sections[0].arousal + 1) / 2
    assert np.mean([b.density for b in content.bars]) == pytest.approx(
        np.mean([b.density for b in sad.bars]) + CONTENT_FLOW * content.sections[0].valence * (1 - lift), abs=2e-3)
    assert max(velocity_of(b.dynamics) for b in sad.bars + content.bars) < 60  # soft: EMOPIA's calm clips ~53


def test_generated_chords_follow_the_model_and_close_on_the_tonic():
    plan = checked(plan_from_features(fake_features(duration=30.0, cuts=(10.0, 20.0)), Overrides(seed=4)))
    key = plan.key_obj
    chords = [parse_chord(c[0]) for c in chord_names(plan)]
    assert chords[-1].root == key.tonic
    assert sum(c.root in key.scale for c in chords) / len(chords) > 0.7


def test_same_seed_same_plan_and_seeds_differ():
    a = plan_from_features(fake_features(duration=30.0), Overrides(seed=1))
    assert a.to_json() == plan_from_features(fake_features(duration=30.0), Overrides(seed=1)).to_json()
    others = {str(chord_names(plan_from_features(fake_features(duration=30.0), Overrides(seed=s)))) for s in range(6)}
    assert len(others) > 1


# ----- overrides ----------------------------------------------------------------------------------------------


def test_key_valence_arousal_mood_overrides():
    f = fake_features(brightness=0.8, saturation=0.8)
    plan = checked(plan_from_features(f, Overrides(key="D minor")))
    assert plan.key == "D minor" and parse_chord(chord_names(plan)[-1][0]).root == 2
    plan = checked(plan_from_features(f, Overrides(valence=-0.8, arousal=-0.5)))
    assert plan.valence == -0.8 and plan.arousal == -0.5 and plan.key_obj.mode == "minor"
    assert all(s.valence < 0 for s in plan.sections)
    plan = checked(plan_from_features(f, Overrides(mood="dark, tense and slow")))
    assert plan.valence < 0 and plan.source["mapping"]["mood"]["tempo_factor"] < 1


def test_user_chords_are_used_exactly_cycled():
    f = fake_features()
    plan = checked(plan_from_features(f, Overrides(chords="Am F C G")))
    names = [c[0] for c in chord_names(plan)]
    assert names == [["A:min", "F:maj", "C:maj", "G:maj"][i % 4] for i in range(plan.n_bars)]
    plan = checked(plan_from_features(f, Overrides(chords="Am F | C G")))
    assert chord_names(plan)[:2] == [["A:min", "F:maj"], ["C:maj", "G:maj"]]
    assert [s.beat for s in plan.bars[0].chords] == [0.0, 2.0]
    plan = checked(plan_from_features(f, Overrides(chords="I V vi IV", key="G major")))
    assert [c[0] for c in chord_names(plan)[:4]] == ["G:maj", "D:maj", "E:min", "C:maj"]
    with pytest.raises(FramescoreError, match="H7"):
        plan_from_features(f, Overrides(chords="C H7 F"))


def test_instrument_overrides():
    f = fake_features(brightness=0.8, saturation=0.8, motion=0.5)
    plan = checked(plan_from_features(f, Overrides(
        instruments="melody=flute,harmony=piano,bass=acoustic bass,drums=none")))
    assert plan.instrumentation == {"melody": 73, "harmony": 0, "bass": 32}
    assert parse_instruments("melody=73, drums=brush") == {"melody": 73, "drums": 40}
    assert parse_instruments("harmony=String Ensemble 1") == {"harmony": 48}
    with pytest.raises(PlanError, match="fluet.*flute"):
        plan_from_features(f, Overrides(instruments="melody=fluet"))
    with pytest.raises(PlanError, match="singer"):
        parse_instruments("singer=piano")
    with pytest.raises(PlanError, match="0-127"):
        parse_instruments("bass=200")


@pytest.mark.parametrize("ov, needle", [
    (Overrides(tempo_bpm=900), "tempo"), (Overrides(valence=2.0), "valence"), (Overrides(meter="4/5"), "meter"),
    (Overrides(key="H major"), "H major"), (Overrides(duration_sec=-4), "duration"), (Overrides(seed=-1), "seed"),
    (Overrides(engine="magic"), "magic"), (Overrides(mood="xyzzy"), "xyzzy"),
])
def test_bad_overrides_are_one_line_errors(ov, needle):
    with pytest.raises(FramescoreError, match=needle) as e:
        plan_from_features(fake_features(), ov)
    assert "\n" not in str(e.value)


# ----- pictures and words -------------------------------------------------------------------------------------


def test_picture_needs_a_duration_and_gets_a_form_sized_to_it():
    f = fake_features(kind="image", cuts=())
    with pytest.raises(PlanError, match="duration"):
        plan_from_features(f)
    plan = checked(plan_from_features(f, Overrides(duration_sec=8.0)))
    assert plan.bar_start_sec(plan.n_bars - 1) < 8.0 <= plan.bar_start_sec(plan.n_bars) + 1e-9  # last bar may be cut short
    assert plan.n_bars == 4 and [(s.label, s.n_bars) for s in plan.sections] == [("A", 2), ("A'", 2)]
    assert all(s.cut_sec is None for s in plan.sections)
    plan = checked(plan_from_features(f, Overrides(duration_sec=2.0)))
    assert len(plan.sections) == 1, "under 4 bars: one section"


def test_text_calm_morning_by_the_sea():
    plan = checked(plan_from_text("a calm morning by the sea", 12.0))
    assert plan.valence > 0 and plan.arousal < 0 and plan.key_obj.mode == "major"
    assert plan.bar_start_sec(plan.n_bars - 1) < 12.0 <= plan.bar_start_sec(plan.n_bars) + 1e-9  # last bar may be cut short
    assert plan.source["text"] == "a calm morning by the sea"
    with pytest.raises(MoodError, match="calm"):  # the error suggests known words
        plan_from_text("qwzx blorf", 10.0)


def test_mood_words_negation_and_modifiers():
    v, a, info = mood_to_va("happy")
    assert v > 0.5 and a > 0
    assert mood_to_va("not happy")[0] < 0
    assert mood_to_va("very happy")[0] > v
    assert mood_to_va("slightly happy")[0] < v
    assert mood_to_va("slowly")[2]["tempo_factor"] < 1 and mood_to_va("fast chase")[2]["tempo_factor"] > 1
    assert mood_to_va("stormy waves")[1] > 0.3
    assert info["words"][0]["as"] == "happy"
