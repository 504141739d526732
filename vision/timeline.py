"""A timeline picture of what was seen and what was planned, on one time axis in seconds.

From the top: a strip of frames, the sections (spans coloured by theme, so a return has the colour of the
section it returns to; each labelled with its name and its role in the form), the chords of each bar, the tempo
beat by beat (with the bars of another meter shaded and labelled, "2/4", and the tempo ramps, "accel." or
"rit."), the per-bar density and dynamics as step plots, and the motion over time; scene cuts are red dashed
lines through every lane. For a still image the picture sits at the left and the plan's lanes fill the rest.
This is the picture that shows a user why the plan is what it is (sections open at cuts, a theme returns where
a scene does, busy bars where things move). Bar lines come from :meth:`MusicPlan.bar_start_secs`.

``features`` is read through these attributes only: ``times``, ``motion``, ``brightness`` (arrays),
``cuts`` (seconds), ``duration_sec``, ``thumbnails`` (``(time_sec, HxWx3 uint8)`` pairs) and ``kind``
(``"video"`` or ``"image"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..symbolic.chords import chord_label
from ..symbolic.plan import MusicPlan, parse_meter
from ..symbolic.plot import (
    DPI,
    SECTION_COLOURS,
    PlotError,
    lane_label,
    new_figure,
    place_labels,
    save_png,
)

__all__ = ["write_timeline", "theme_colours", "TIMELINE_SIZE_IN"]

TIMELINE_SIZE_IN = (12.0, 6.0)
IMAGE_TIMELINE_SIZE_IN = (12.0, 3.5)
_CUT = dict(color="#d62728", linestyle="--", linewidth=1.0, zorder=5)
_REQUIRED = ("times", "motion", "brightness", "cuts", "duration_sec", "thumbnails", "kind")
_METER_BAND = "#fbd38d"  # a bar of another meter
_RAMP_BAND = "#d9c8f0"  # a bar whose tempo moves beat by beat


def write_timeline(features: Any, plan: MusicPlan, path: str | Path) -> None:
    """Draw frames, cuts, sections, chords, density/dynamics and motion on one time axis; write a 1200x600 PNG.

    ``features=None`` (a plan from words, or a plan composed on its own) draws the plan's lanes alone.
    """
    if features is not None:
        missing = [a for a in _REQUIRED if not hasattr(features, a)]
        if missing:
            raise PlotError(f"visual features lack {', '.join(missing)}: cannot draw a timeline")
    plan_only = features is None
    image = plan_only or features.kind == "image"
    duration = float(plan.duration_sec) if plan_only else max(float(features.duration_sec or 0.0),
                                                              float(plan.duration_sec))
    cuts = [] if plan_only else [float(c) for c in features.cuts]
    bar_starts = np.array(plan.bar_start_secs())

    fig = new_figure(IMAGE_TIMELINE_SIZE_IN if image else TIMELINE_SIZE_IN, DPI)
    left = 0.075 if plan_only or not image else 0.3
    names = ["frames", "sections", "chords", "tempo", "plan", "motion"]
    ratios = [2.0, 0.55, 0.45, 0.5, 1.2, 1.1]
    if image:  # the picture sits at the left; a still image has no motion to show
        names, ratios = names[1:5], [0.6, 0.5, 0.55, 1.3]
    gs = fig.add_gridspec(len(names), 1, height_ratios=ratios, hspace=0.12, left=left, right=0.985,
                          top=0.95 if image else 0.97, bottom=0.14 if image else 0.08)
    axes: dict[str, Any] = {}
    for i, name in enumerate(names):
        axes[name] = fig.add_subplot(gs[i], sharex=axes[names[0]] if i else None)
    for name, ax in axes.items():
        ax.set_xlim(0, duration)
        ax.tick_params(labelsize=8)
        ax.set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center")
        if name != names[-1]:
            ax.tick_params(axis="x", labelbottom=False)
        for cut in cuts:
            ax.axvline(cut, **_CUT)
    axes[names[-1]].set_xlabel("seconds", fontsize=9)

    _draw_sections(axes["sections"], plan, bar_starts, duration)
    _draw_chords(axes["chords"], plan, bar_starts, duration)
    _draw_tempo(axes["tempo"], plan, bar_starts, duration)
    _draw_plan(axes["plan"], plan, bar_starts, duration)
    if plan_only:
        pass
    elif image:
        _draw_picture(fig, features.thumbnails, left)
    else:
        _draw_strip(axes["frames"], features.thumbnails, duration)
        _draw_motion(axes["motion"], features)
    axes[names[0]].set_xlim(0, duration)  # images and plots may have widened the shared range
    save_png(fig, path)


def _bare(ax) -> None:
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


def _draw_strip(ax, thumbnails: list, duration: float) -> None:
    """Frames side by side across the time axis, each over the moment it shows, at its own aspect ratio: the
    strip holds as many as fit, picked nearest to evenly spaced times."""
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    if not thumbnails:
        ax.text(0.5, 0.5, "no frames", transform=ax.transAxes, ha="center", va="center", color="#777777")
        return
    fig = ax.figure
    pos = ax.get_position()
    w_px, h_px = pos.width * fig.get_figwidth() * fig.dpi, pos.height * fig.get_figheight() * fig.dpi
    h, w = np.asarray(thumbnails[0][1]).shape[:2]
    n_slots = max(1, min(len(thumbnails), int(round(w_px / (h_px * w / max(h, 1))))))
    times = np.array([float(t) for t, _ in thumbnails])
    slot = duration / n_slots
    for i in range(n_slots):
        centre = (i + 0.5) * slot
        _, frame = thumbnails[int(np.argmin(np.abs(times - centre)))]
        ax.imshow(np.asarray(frame), extent=(i * slot, (i + 1) * slot, 0, 1), aspect="auto", zorder=1,
                  interpolation="antialiased")
    ax.vlines(np.arange(1, n_slots) * slot, 0, 1, colors="white", linewidth=1.5, zorder=2)


def _draw_picture(fig, thumbnails: list, left: float) -> None:
    ax = fig.add_axes((0.01, 0.04, left - 0.09, 0.92))
    ax.set_axis_off()
    if thumbnails:
        ax.imshow(np.asarray(thumbnails[0][1]), interpolation="antialiased")
    else:
        ax.text(0.5, 0.5, "no picture", ha="center", va="center", color="#777777")


def theme_colours(plan: MusicPlan) -> list[str]:
    """Each section's colour: one per theme, in the order the themes first appear (a return has its first
    statement's colour); a section without a theme has a colour of its own."""
    index: dict[object, int] = {}
    out = []
    for i, s in enumerate(plan.sections):
        k = index.setdefault(s.theme if s.theme is not None else ("own", i), len(index))
        out.append(SECTION_COLOURS[k % len(SECTION_COLOURS)])
    return out


def _section_text(s) -> tuple[str, str]:
    """(name, second line) of a section: its label (and the theme it plays, when that is another name), then
    its role in the form."""
    name = s.label if s.theme is None or s.theme == s.label else f"{s.label} = {s.theme}"
    return name, s.role


def _draw_sections(ax, plan: MusicPlan, bar_starts: np.ndarray, duration: float) -> None:
    ax.set_ylim(0, 1)
    _bare(ax)
    for s, colour in zip(plan.sections, theme_colours(plan)):
        x0 = bar_starts[s.start_bar]
        x1 = min(bar_starts[s.start_bar + s.n_bars], duration)
        ax.axvspan(x0, x1, color=colour, lw=0)
        ax.axvline(x0, color="#444444", linewidth=1.2)
        name, role = _section_text(s)
        ax.text(x0 + duration * 0.004, 0.68, name, fontsize=9, fontweight="bold", va="center", clip_on=True)
        ax.text(x0 + duration * 0.004, 0.24, role, fontsize=7, style="italic", color="#444444", va="center",
                clip_on=True)


def _beat_edges(plan: MusicPlan, bar_starts: np.ndarray) -> list[np.ndarray]:
    """Per bar, the time of each beat line from its start to its end (numerator + 1 values), through the
    bar's own meter and its beats' tempos (a ramp's beats lengthen or shorten one by one)."""
    out = []
    for b in range(plan.n_bars):
        _, den = plan.bar_meter(b)
        lengths = [4.0 / den * 60.0 / t for t in plan.beat_tempos(b)]
        out.append(bar_starts[b] + np.concatenate([[0.0], np.cumsum(lengths)]))
    return out


def _draw_chords(ax, plan: MusicPlan, bar_starts: np.ndarray, duration: float) -> None:
    """Each chord at its beat; bar lines as ticks. Labels that would collide move to a second row."""
    ax.set_ylim(0, 1)
    _bare(ax)
    ax.vlines(bar_starts[bar_starts < duration], 0, 1, colors="#cccccc", linewidth=0.6, zorder=0)
    items = []
    prev = None
    for b, (bar, edges) in enumerate(zip(plan.bars, _beat_edges(plan, bar_starts))):
        beats = np.arange(len(edges))
        for slot in bar.chords:
            label = chord_label(slot.chord)
            if label != prev or slot.beat == 0:
                items.append((float(np.interp(slot.beat, beats, edges)) + duration * 0.002, label))
            prev = label
    items = [(x, text) for x, text in items if x < duration]
    lane_label(ax, "chords", place_labels(ax, items, rows=(0.68, 0.27), fontsize=8), len(items))


def _draw_tempo(ax, plan: MusicPlan, bar_starts: np.ndarray, duration: float) -> None:
    """The tempo of every beat as a step line; a bar of another meter shaded and labelled with its meter, a bar
    whose tempo moves (a section's ramp) shaded and labelled accel. or rit. (labels that would overlap are left
    out: the shading stays)."""
    edges = _beat_edges(plan, bar_starts)
    xs = np.concatenate([e[:-1] for e in edges] + [edges[-1][-1:]])
    bpm = np.concatenate([plan.beat_tempos(b) for b in range(plan.n_bars)])
    lo, hi = float(bpm.min()), float(bpm.max())
    pad = max((hi - lo) * 0.25, 3.0)
    ax.set_ylim(lo - pad, hi + 2.2 * pad)  # room above the line for the labels
    ax.set_yticks(sorted({round(lo), round(hi)}))
    ax.set_yticklabels([f"{v:g}" for v in sorted({round(lo), round(hi)})], fontsize=7)
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    base = plan.meter_tuple
    labels = []  # (x, text, style): in one row above the line, left out where they would overlap
    for b in range(plan.n_bars):
        x0, x1 = float(bar_starts[b]), float(bar_starts[b + 1])
        if x0 >= duration:
            break
        meter = plan.bars[b].meter
        other = meter is not None and parse_meter(meter) != base
        sec = plan.section_of_bar(b)
        before, after = (plan.bar_tempo(b - 1), plan.bar_tempo(b)) if b else (0.0, 0.0)
        ramp = sec.ramp and b == sec.start_bar and b > 0 and before != after
        if other:
            ax.axvspan(x0, x1, color=_METER_BAND, lw=0, zorder=0)
            labels.append((x0 + duration * 0.002, "{}/{}".format(*parse_meter(meter)),
                           {"fontweight": "bold", "color": "#7a4f00"}))
        if ramp:
            ax.axvspan(x0, x1, ymin=0, ymax=0.55 if other else 1, color=_RAMP_BAND, lw=0, zorder=0)
            labels.append((x0 + duration * 0.002, "accel." if after > before else "rit.",
                           {"style": "italic", "color": "#4b2a7a"}))
    place_labels(ax, sorted(labels, key=lambda e: e[0]), rows=(hi + 1.5 * pad,), fontsize=7)
    ax.stairs(bpm, xs, color="#333333", linewidth=1.2, baseline=None, zorder=2)
    for s in plan.sections:  # the tempo a section reaches, where it differs from the one before
        t = plan.bar_tempo(s.start_bar)
        if (s.start_bar == 0 or t != plan.bar_tempo(s.start_bar - 1)) and bar_starts[s.start_bar] < duration:
            x = float(edges[s.start_bar][-1] if s.ramp and s.start_bar else bar_starts[s.start_bar])
            ax.text(x + duration * 0.003, t + 0.3 * pad, f"{round(t, 1):g}", fontsize=7, color="#333333",
                    va="bottom", ha="left", clip_on=True)


def _draw_plan(ax, plan: MusicPlan, bar_starts: np.ndarray, duration: float) -> None:
    edges = np.minimum(bar_starts, max(duration, bar_starts[-1]))
    density = [b.density for b in plan.bars]
    dynamics = [b.dynamics for b in plan.bars]
    # density filled, dynamics a line: both stay visible where they are equal
    ax.stairs(density, edges, fill=True, color="#1f77b4", alpha=0.25, lw=0)
    ax.stairs(density, edges, color="#1f77b4", linewidth=1.4, label="density", baseline=None)
    ax.stairs(dynamics, edges, color="#ff7f0e", linewidth=1.8, label="dynamics", baseline=None)
    ax.set_ylim(-0.05, 1.12)
    ax.set_yticks([0, 0.5, 1])
    ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
    ax.legend(loc="upper right", fontsize=7, ncols=2, frameon=False, borderaxespad=0.1)


def _draw_motion(ax, features: Any) -> None:
    t = np.asarray(features.times, dtype=float)
    motion = np.asarray(features.motion, dtype=float)
    brightness = np.asarray(features.brightness, dtype=float)
    if t.size == 0 or motion.size != t.size:
        ax.text(0.5, 0.5, "no motion data", transform=ax.transAxes, ha="center", va="center", color="#777777")
        ax.set_yticks([])
        return
    top = float(np.nanmax(motion)) if np.isfinite(motion).any() else 0.0
    ax.fill_between(t, 0, motion, color="#2ca02c", alpha=0.3, lw=0)
    ax.plot(t, motion, color="#2ca02c", linewidth=1.2, label="motion")
    if brightness.size == t.size and np.isfinite(brightness).any():
        # brightness on motion's scale, so both read on one axis
        b_top = float(np.nanmax(brightness)) or 1.0
        ax.plot(t, brightness / b_top * (top or 1.0), color="#7f7f7f", linewidth=0.9, linestyle=":",
                label="brightness (scaled)")
    ax.set_ylim(0, (top or 1.0) * 1.2)
    ax.set_yticks([])  # arbitrary units: the shape is what matters
    ax.legend(loc="upper right", fontsize=7, ncols=2, frameon=False, borderaxespad=0.1)
