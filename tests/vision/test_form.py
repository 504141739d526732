"""The form the mapping writes: scenes that return to a theme, a picture's form, phrases and cadences, --form."""

from __future__ import annotations

import numpy as np
import pytest
from test_mapping import checked, fake_features

from framescore.errors import FramescoreError
from framescore.symbolic.chords import Chord, parse_chord, parse_key
from framescore.symbolic.form import restated_bars
from framescore.symbolic.plan import PlanError
from framescore.vision.form import (
    FEATURE_SCALES,
    RETURN_THRESHOLD,
    RETURN_THRESHOLD_FEATURES,
    Scene,
    cadence_chords,
    cadences,
    colour_histogram,
    length_form,
    parse_form,
    phrase_lengths,
    scene_distance,
    scene_of,
    share_bars,
    themes_for_scenes,
)
from framescore.vision.mapping import Overrides, plan_from_features, plan_from_text

LOOKS = {  # brightness, saturation, colourfulness, warmth, contrast, edges; and a thumbnail colour
    "street": ((0.30, 0.08, 0.10, 0.02, 0.25, 0.20), (90, 95, 100)),
    "beach": ((0.70, 0.55, 0.60, 0.30, 0.15, 0.05), (240, 200, 120)),
    "night": ((0.12, 0.30, 0.25, -0.20, 0.10, 0.04), (20, 30, 90)),
}


def scenes_clip(shots: list[tuple[str, float]], thumbnails: bool = True, fps: float = 8.0):
    """Fake features of a video made of shots of the given looks and lengths; cuts between them; a solid-colour
    thumbnail every half second when ``thumbnails``."""
    duration = sum(d for _, d in shots)
    f = fake_features(duration=duration, cuts=np.cumsum([d for _, d in shots])[:-1].tolist(), fps=fps)
    names = ("brightness", "saturation", "colourfulness", "warmth", "contrast", "edges")
    t0 = 0.0
    for look, d in shots:
        inside = (f.times >= t0) & (f.times < t0 + d)
        for name, value in zip(names, LOOKS[look][0]):
            getattr(f, name)[inside] = value
        t0 += d
    f.thumbnails = []
    if thumbnails:
        bounds = np.cumsum([0.0] + [d for _, d in shots])
        for t in np.arange(0.0, duration, 0.5):
            look = shots[int(np.searchsorted(bounds, t, side="right")) - 1][0]
            f.thumbnails.append((float(t), np.full((9, 16, 3), LOOKS[look][1], np.uint8)))
    return f


ABA = [("street", 4.0), ("beach", 4.0), ("street", 4.0)]


# ----- scenes → themes ------------------------------------------------------------------------------------------
def test_scene_distance_by_hand():
    a = Scene((0.5, 0.3, 0.3, 0.0, 0.2, 0.1))
    b = Scene((0.5 + FEATURE_SCALES[0], 0.3, 0.3, 0.0, 0.2, 0.1))  # one scale brighter, nothing else
    assert scene_distance(a, b) == pytest.approx((1 / 6, RETURN_THRESHOLD_FEATURES))
    red, blue = colour_histogram(np.full((4, 4, 3), (255, 0, 0), np.uint8)), colour_histogram(
        np.full((4, 4, 3), (0, 0, 255), np.uint8))
    assert red.sum() == pytest.approx(1.0) and red.size == 8 * 3 * 4
    same = scene_distance(Scene(a.means, red), Scene(b.means, red))
    assert same == pytest.approx((0.25 / 6, RETURN_THRESHOLD))  # histograms equal: a quarter of the features'
    apart = scene_distance(Scene(a.means, red), Scene(a.means, blue))
    assert apart == pytest.approx((0.75, RETURN_THRESHOLD))  # no colour in common: total variation 1


def test_scene_of_averages_its_seconds_and_thumbnails():
    f = scenes_clip(ABA)
    s = scene_of(f, 4.0, 8.0)
    assert s.means == pytest.approx(LOOKS["beach"][0])
    assert s.hist is not None and s.hist.max() == pytest.approx(1.0)  # solid colour: one bin
    assert scene_of(scenes_clip(ABA, thumbnails=False), 4.0, 8.0).hist is None


def test_themes_for_scenes_returns_to_the_nearest_first_statement():
    street, beach = Scene(LOOKS["street"][0]), Scene(LOOKS["beach"][0])
    near_street = Scene(tuple(v + 0.3 * s for v, s in zip(LOOKS["street"][0], FEATURE_SCALES)))  # d_f = 0.3
    parts, record = themes_for_scenes([street, beach, near_street, beach])
    assert [(p.theme, p.role, p.label) for p in parts] == [
        ("A", "theme", "A"), ("B", "contrast", "B"), ("A", "return", "A'"), ("B", "return", "B'")]
    assert record[2]["distances"]["A"] == pytest.approx(0.3) and record[2]["returns_to"] == "A"
    assert record[1]["distances"]["A"] > RETURN_THRESHOLD_FEATURES and "returns_to" not in record[1]
    parts, _ = themes_for_scenes([street, beach, near_street], themes=False)
    assert [p.label for p in parts] == ["A", "B", "C"] and [p.role for p in parts] == ["theme", "contrast", "contrast"]


def test_a_b_a_video_returns_to_its_first_theme():
    plan = checked(plan_from_features(scenes_clip(ABA)))
    assert [(s.label, s.theme, s.role) for s in plan.sections] == [
        ("A", "A", "theme"), ("B", "B", "contrast"), ("A'", "A", "return")]
    scenes = plan.source["mapping"]["form"]["scenes"]
    assert scenes[2]["distances"]["A"] == pytest.approx(0.0) and scenes[2]["returns_to"] == "A"
    assert scenes[1]["distances"]["A"] > RETURN_THRESHOLD
    assert all(b.melody for b in plan.bars)
    # without thumbnails the feature distance decides alike
    plan = checked(plan_from_features(scenes_clip(ABA, thumbnails=False)))
    assert [s.theme for s in plan.sections] == ["A", "B", "A"]


def test_no_themes_gives_every_section_its_own():
    plan = checked(plan_from_features(scenes_clip(ABA), Overrides(themes=False)))
    assert [(s.label, s.theme, s.role) for s in plan.sections] == [
        ("A", "A", "theme"), ("B", "B", "contrast"), ("C", "C", "contrast")]
    assert restated_bars(plan) == {}


def free(plan, b: int) -> bool:
    """Bar ``b`` carries no cadence and leads into no authentic one: its chords are the model's (or copied)."""
    return plan.bars[b].cadence is None and (b + 1 == plan.n_bars or plan.bars[b + 1].cadence != "authentic")


def test_a_returns_chords_are_its_statements_but_for_its_cadences():
    shots = [("street", 20.0), ("night", 5.0), ("street", 24.0)]
    for seed in range(4):
        plan = checked(plan_from_features(scenes_clip(shots), Overrides(seed=seed, tempo_bpm=100.0)))
        assert [s.theme for s in plan.sections] == ["A", "B", "A"]
        restated = restated_bars(plan)
        assert restated, "the return restates bars"
        compared = 0
        for b, src in restated.items():
            if free(plan, b) and free(plan, src):
                assert [c.chord for c in plan.bars[b].chords] == [c.chord for c in plan.bars[src].chords]
                compared += 1
        assert compared >= 2


def test_form_names_a_videos_themes():
    plan = checked(plan_from_features(scenes_clip(ABA), Overrides(form="A B B")))
    assert [(s.label, s.theme, s.role) for s in plan.sections] == [
        ("A", "A", "theme"), ("B", "B", "contrast"), ("B'", "B", "return")]
    assert plan.source["mapping"]["form"]["given"] == "A B B"
    plan = checked(plan_from_features(scenes_clip(ABA), Overrides(form="intro A A")))
    assert [s.role for s in plan.sections] == ["intro", "theme", "return"]
    assert [b.melody for b in plan.bars] == [plan.section_of_bar(b).role != "intro" for b in range(plan.n_bars)]
    assert not plan.bars[0].melody
    with pytest.raises(PlanError, match="2 sections.*3") as e:
        plan_from_features(scenes_clip(ABA), Overrides(form="A B"))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("form, needle", [("", "empty form"), ("intro ending", "no theme"), ("A ? B", "'\\?'"),
                                         ("A,B,A", None), ("AABA", None), ("intro A B A' coda", None)])
def test_form_is_checked_before_any_analysis(form, needle):
    ov = Overrides(form=form)
    if needle is None:
        ov.validate()
        return
    with pytest.raises(PlanError, match=needle) as e:
        ov.validate()
    assert "\n" not in str(e.value)


def test_parse_form_reads_roles_and_labels():
    assert [(p.theme, p.role, p.label) for p in parse_form("intro A B A' ending")] == [
        (None, "intro", "intro"), ("A", "theme", "A"), ("B", "contrast", "B"), ("A", "return", "A'"),
        (None, "ending", "ending")]
    assert [p.label for p in parse_form("AABA")] == ["A", "A'", "B", "A''"]
    assert [p.label for p in parse_form("verse, chorus, verse")] == ["verse", "chorus", "verse'"]
    with pytest.raises(PlanError, match="no-themes"):
        Overrides(form="A B A", themes=False).validate()
    Overrides(form="A B C", themes=False).validate()  # no return: nothing contradicts
    with pytest.raises(PlanError, match="themes must be true or false"):
        Overrides(themes="no").validate()


def test_the_flags_reach_the_overrides(tmp_path):
    from framescore import cli

    out = tmp_path / "plan.json"
    assert cli.main(["plan", str(cli.__file__).replace("cli.py", "examples/coffee.png"), "--duration", "20",
                     "--form", "intro A B A", "--follow-audio", "-o", str(out), "-q"]) == 0
    from framescore.symbolic.plan import load_plan

    plan = load_plan(out)
    assert [s.label for s in plan.sections] == ["intro", "A", "B", "A'"]
    assert plan.source["overrides"]["form"] == "intro A B A" and plan.source["overrides"]["follow_audio"] is True
    args = cli.build_parser().parse_args(["text", "calm", "--duration", "9", "-o", "x", "--no-themes"])
    assert args.themes is False and args.form is None and args.follow_audio is False


# ----- a picture's form --------------------------------------------------------------------------------------
def test_length_forms_and_their_bars():
    table = {3: ["A"], 4: ["A", "A'"], 8: ["intro", "A", "B", "A'"], 12: ["intro", "A", "B", "A'", "ending"],
             16: ["intro", "A", "A'", "B", "A''", "ending"], 40: ["intro", "A", "A'", "B", "A''", "C", "A'''", "ending"]}
    for n, labels in table.items():
        assert [p.label for p in length_form(n)] == labels
    # a return as long as its statement; even lengths first, then frames of their usual size, then even-handed
    assert share_bars(16, length_form(16)) == [1, 4, 4, 2, 4, 1]
    assert share_bars(25, length_form(25)) == [2, 6, 6, 3, 6, 2]  # frames of 2 bars from 24; the odd bar to B
    assert share_bars(10, length_form(10)) == [2, 2, 4, 2]  # an intro of 2 rather than A and A' of 3
    assert share_bars(11, length_form(11)) == [1, 4, 2, 4]
    assert share_bars(5, parse_form("intro A B A ending")) == [1, 1, 1, 1, 1]
    assert share_bars(7, parse_form("A B A")) == [2, 3, 2]
    assert share_bars(11, parse_form("intro A B A ending")) == [1, 2, 5, 2, 1]  # not a B of one bar: [1, 4, 1, 4, 1]
    assert share_bars(7, parse_form("A A")) == [4, 3]  # no equal halves: 2-bar units, the odd bar to the last
    assert share_bars(13, parse_form("A B C D E F A")) == [2, 2, 2, 2, 2, 2, 1]  # too many themes to search
    for n in range(12, 90):
        sizes = share_bars(n, length_form(n))
        a = [k for k, p in zip(sizes, length_form(n)) if p.theme == "A"]
        assert len(set(a)) == 1, (n, sizes)
    with pytest.raises(PlanError, match="4 sections.*3 bars"):
        share_bars(3, parse_form("A B A C"))
    with pytest.raises(PlanError, match="6 sections but the music has only 1 bar$"):
        plan_from_text("calm", 1.0, Overrides(form="intro A B A C ending"))
    for n in range(1, 90):
        assert sum(share_bars(n, length_form(n))) == n


def test_a_twenty_second_picture_gets_a_form_with_cadences_and_an_intro():
    for brightness, mode in ((0.7, "major"), (0.15, "minor")):
        f = fake_features(kind="image", cuts=(), brightness=brightness, saturation=0.3)
        plan = checked(plan_from_features(f, Overrides(duration_sec=20.0)))
        assert plan.key_obj.mode == mode
        roles = [s.role for s in plan.sections]
        assert len(plan.sections) >= 4 and roles[0] == "intro" and "return" in roles
        intro = plan.sections[0]
        assert [b.melody for b in plan.bars] == [b >= intro.n_bars for b in range(plan.n_bars)]
        assert plan.bars[intro.n_bars - 1].cadence == "half"
        assert plan.bars[-1].cadence == "authentic"
        assert {b.cadence for b in plan.bars} >= {"half", "authentic"}
        key = plan.key_obj
        last = [parse_chord(s.chord) for s in plan.bars[-1].chords]
        assert last == [Chord(key.tonic, "maj" if mode == "major" else "min")], "the piece ends on the tonic"
        dominant = (key.tonic + 7) % 12
        for b, bar in enumerate(plan.bars):
            final = parse_chord(bar.chords[-1].chord)
            if bar.cadence == "half":
                assert final.root == dominant and final.quality == "maj"
            if bar.cadence == "authentic" and b > 0 and plan.bars[b].chords[0].chord == last[0].symbol():
                prev = parse_chord(plan.bars[b - 1].chords[-1].chord)
                assert prev.root == dominant or plan.bars[b - 1].cadence == "authentic"
        assert abs(plan.bar_start_sec(plan.n_bars) - 20.0) < 1e-6


def test_a_text_plan_gets_a_form_too_and_user_chords_stay_as_given():
    plan = checked(plan_from_text("a calm morning by the sea", 60.0))
    assert plan.sections[0].role == "intro" and plan.sections[-1].role == "ending"
    assert [s.theme for s in plan.sections if s.role in ("theme", "return")].count("A") >= 3
    plan = checked(plan_from_text("a calm morning by the sea", 60.0, Overrides(chords="Am F C G")))
    assert [b.chords[0].chord for b in plan.bars] == [["A:min", "F:maj", "C:maj", "G:maj"][b % 4]
                                                      for b in range(plan.n_bars)]
    assert all(len(b.chords) == 1 for b in plan.bars)
    assert plan.bars[-1].cadence == "authentic"  # the phrases are there, only the chords are the user's
    plan = checked(plan_from_text("a calm morning", 60.0, Overrides(themes=False)))
    themes = [s.theme for s in plan.sections if s.theme is not None]
    assert len(themes) == len(set(themes)) and restated_bars(plan) == {}
    plan = checked(plan_from_text("a calm morning", 30.0, Overrides(form="A B A B")))
    assert [s.label for s in plan.sections] == ["A", "B", "A'", "B'"]
    assert sum(s.n_bars for s in plan.sections) == plan.n_bars


# ----- phrases and cadences ------------------------------------------------------------------------------------
def test_phrases_and_cadences_by_hand():
    assert [phrase_lengths(n) for n in (1, 3, 4, 5, 7, 8, 9, 16, 32, 35)] == [
        [1], [3], [2, 2], [2, 3], [2, 2, 3], [4, 4], [4, 5], [4, 4, 4, 4], [8, 8, 8, 8], [8, 8, 8, 11]]
    assert cadences([("intro", 1), ("theme", 4), ("contrast", 1), ("ending", 2)]) == [
        "half", None, "half", None, "authentic", None, None, "authentic"]
    assert cadences([("theme", 1), ("contrast", 1)]) == [None, "authentic"]


def test_cadence_chords_by_hand():
    c_major, a_minor = parse_key("C major"), parse_key("A minor")
    F, Dm, Am, G, C = (parse_chord(s) for s in ("F", "Dm", "Am", "G", "C"))
    out = cadence_chords([[F], [Dm], [Am], [F]], [4, 4, 4, 4], [None, "half", None, "authentic"], {0, 2}, c_major)
    assert out == [[(0.0, F)], [(0.0, Dm), (2.0, G)], [(0.0, Am), (2.0, G)], [(0.0, C)]]
    # an authentic cadence opening its phrase goes V → I in its bar; a 3-beat bar's V from its middle (beat 1.5,
    # where a second chord is spread); the last bar is i
    out = cadence_chords([[F], [Dm], [F]], [4, 3, 4], [None, "authentic", None], {0, 1, 2}, c_major)
    assert out[1] == [(0.0, G), (1.5, C)]
    out = cadence_chords([[Dm], [F]], [3, 4], [None, "authentic"], {0, 1}, a_minor)
    assert out == [[(0.0, Dm), (1.5, parse_chord("E"))], [(0.0, Am)]]
    out = cadence_chords([[G], [F]], [4, 4], ["half", "authentic"], {0, 1}, c_major)
    assert out == [[(0.0, G)], [(0.0, C)]]  # a bar already on V stays V
