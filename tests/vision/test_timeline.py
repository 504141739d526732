"""The timeline picture of a plan with a form: sections coloured by theme (a return in its first statement's
colour), their roles written, bars of another meter and tempo ramps marked, bar lines from the plan's timing."""

from __future__ import annotations

import types

import numpy as np
import pytest

from framescore.symbolic.plan import ChordSlot, MusicPlan, Section, simple_plan
from framescore.symbolic.plot import SECTION_COLOURS
from framescore.vision.timeline import theme_colours, write_timeline


def form_plan() -> MusicPlan:
    """13 bars of 4/4 at 100 bpm: A (bars 0-5, bar 2 in 2/4, bar 5 in 3/4), B (6-8, 92 bpm reached by a
    ritardando over bar 6), A2 returning to theme A (9-10, back at 100 bpm), an ending of its own (11-12, 84 bpm,
    another ritardando)."""
    plan = simple_plan(30.0, tempo_bpm=100)
    plan.bars[2].meter = "2/4"
    plan.bars[2].chords = [ChordSlot(0, "C"), ChordSlot(1, "G")]
    plan.bars[5].meter = "3/4"
    plan.bars[5].chords = [ChordSlot(0, "F")]
    plan.sections = [Section("A", 0, 6, theme="A"), Section("B", 6, 3, tempo_bpm=92.0, theme="B", role="contrast",
                                                            ramp=True),
                     Section("A2", 9, 2, theme="A", role="return"),
                     Section("E", 11, 2, tempo_bpm=84.0, theme=None, role="ending", ramp=True)]
    return plan.validate()


def features(kind: str = "video", duration: float = 30.0):
    """The attributes the timeline reads (vision.features.VisualFeatures has them), made here."""
    times = np.arange(0.0, duration, 0.25)
    frames = [(float(t), np.full((45, 80, 3), 40 * i % 255, np.uint8)) for i, t in enumerate(times[::8])]
    if kind == "image":
        return types.SimpleNamespace(times=np.zeros(1), motion=np.zeros(1), brightness=np.full(1, 0.5), cuts=[],
                                     duration_sec=0.0, thumbnails=frames[:1], kind="image")
    rng = np.random.default_rng(0)
    return types.SimpleNamespace(times=times, motion=rng.random(times.size), brightness=rng.random(times.size),
                                 cuts=[12.6, 20.3], duration_sec=duration, thumbnails=frames, kind="video")


def test_same_theme_same_colour_and_a_section_without_one_its_own():
    colours = theme_colours(form_plan())
    assert colours[0] == colours[2] == SECTION_COLOURS[0]  # A and its return
    assert colours[1] == SECTION_COLOURS[1] and colours[3] == SECTION_COLOURS[2]
    plan = form_plan()
    for s in plan.sections:
        s.theme = None
    assert len(set(theme_colours(plan))) == 4


class Drawn:
    """What the picture writes: every text and every shaded span (x range, colour), caught on the way."""

    def __init__(self, monkeypatch) -> None:
        from matplotlib.axes import Axes

        self.texts: list[tuple[float, str]] = []
        self.spans: list[tuple[float, float, object]] = []
        text, axvspan = Axes.text, Axes.axvspan

        def spy_text(ax, x, y, s, *a, **kw):
            self.texts.append((float(x), str(s)))
            return text(ax, x, y, s, *a, **kw)

        def spy_span(ax, x0, x1, *a, **kw):
            self.spans.append((float(x0), float(x1), kw.get("color")))
            return axvspan(ax, x0, x1, *a, **kw)

        monkeypatch.setattr(Axes, "text", spy_text)
        monkeypatch.setattr(Axes, "axvspan", spy_span)

    def at(self, label: str) -> list[float]:
        return [x for x, s in self.texts if s == label]


@pytest.mark.parametrize("kind", ["video", "image", None])
def test_timeline_shows_themes_roles_meters_and_ramps(monkeypatch, tmp_path, kind):
    from PIL import Image

    drawn = Drawn(monkeypatch)
    plan = form_plan()
    write_timeline(None if kind is None else features(kind), plan, tmp_path / "t.png")
    with Image.open(tmp_path / "t.png") as im:
        assert im.size == ((1200, 350) if kind in ("image", None) else (1200, 600))
    starts = plan.bar_start_secs()
    assert starts[2] == pytest.approx(4.8) and starts[3] == pytest.approx(6.0)  # 8 and 10 quarters at 0.6 s
    texts = [s for _, s in drawn.texts]
    for word in ("A", "B", "A2 = A", "E", "theme", "contrast", "return", "ending"):
        assert word in texts, word
    # the 2/4 and 3/4 bars: labelled at their bar, shaded over exactly their span
    assert drawn.at("2/4") == [pytest.approx(starts[2], abs=0.1)]
    assert drawn.at("3/4") == [pytest.approx(starts[5], abs=0.1)]
    meter_spans = sorted((round(a, 6), round(b, 6)) for a, b, c in drawn.spans if c == "#fbd38d")
    assert meter_spans == [(round(starts[2], 6), round(starts[3], 6)), (round(starts[5], 6), round(starts[6], 6))]
    # the two ritardandos, over the first bar of B and of the ending; A2's return to 100 bpm is a jump, no ramp
    ramp_spans = sorted(round(a, 6) for a, b, c in drawn.spans if c == "#d9c8f0")
    assert ramp_spans == [round(starts[6], 6), round(starts[11], 6)]
    assert len(drawn.at("rit.")) == 2 and not drawn.at("accel.")
    # sections coloured by theme: A's colour twice
    section_spans = [(round(a, 6), c) for a, b, c in drawn.spans if c in SECTION_COLOURS]
    assert section_spans == [(0.0, SECTION_COLOURS[0]), (round(starts[6], 6), SECTION_COLOURS[1]),
                             (round(starts[9], 6), SECTION_COLOURS[0]), (round(starts[11], 6), SECTION_COLOURS[2])]


def test_an_accelerando_is_named_so(monkeypatch, tmp_path):
    drawn = Drawn(monkeypatch)
    plan = simple_plan(12.0, tempo_bpm=90)
    plan.sections = [Section("A", 0, 2, theme="A"), Section("B", 2, plan.n_bars - 2, tempo_bpm=96.0, theme="B",
                                                            ramp=True)]
    write_timeline(None, plan.validate(), tmp_path / "a.png")
    assert drawn.at("accel.") == [pytest.approx(plan.bar_start_sec(2), abs=0.03)]  # at its bar line
    assert not drawn.at("rit.") and not [s for _, s in drawn.texts if "/" in s]  # one meter: no meter label


def test_chords_stand_at_their_beat_in_a_short_bar(monkeypatch, tmp_path):
    """The 2/4 bar's G on its second beat: 0.6 s after the bar line at 100 bpm (the label sits a hair right)."""
    drawn = Drawn(monkeypatch)
    plan = form_plan()
    write_timeline(None, plan, tmp_path / "c.png")
    g = [x for x in drawn.at("G") if 4.8 < x < 6.0]
    assert g == [pytest.approx(5.4, abs=0.07)]


def test_labels_that_would_overlap_are_left_out(monkeypatch, tmp_path):
    """A long plan with a 3/4 bar in every 7 (300 bars, 10 minutes): every band drawn, far fewer labels, none
    closer than a label's width (about 20 px: 3 characters at 7 pt, 1090 px for the plan's length)."""
    drawn = Drawn(monkeypatch)
    plan = simple_plan(600.0, tempo_bpm=120)
    for b in range(3, plan.n_bars - 1, 7):
        plan.bars[b].meter = "3/4"
        plan.bars[b].chords = [ChordSlot(0, "C")]
    plan.duration_sec = plan.bar_start_secs()[-1] - 0.5
    write_timeline(None, plan.validate(), tmp_path / "long.png")
    bands = [a for a, b, c in drawn.spans if c == "#fbd38d"]
    assert len(bands) == len(range(3, plan.n_bars - 1, 7)) == 43
    xs = drawn.at("3/4")
    assert 5 <= len(xs) < len(bands)
    gap = min(b - a for a, b in zip(xs, xs[1:]))
    assert gap * 1090 / plan.duration_sec >= 20


def test_same_plan_same_bytes(tmp_path):
    plan = form_plan()
    write_timeline(features(), plan, tmp_path / "a.png")
    write_timeline(features(), plan, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
