"""A timeline picture of what was seen and what was planned, on one time axis in seconds.

From the top: a strip of frames, the sections (coloured spans, labelled), the chords of each bar, the per-bar
density and dynamics as step plots, and the motion over time; scene cuts are red dashed lines through every
lane. For a still image the picture sits at the left and the plan's lanes fill the rest. This is the picture
that shows a user why the plan is what it is (sections open at cuts, busy bars where things move).

``features`` is read through these attributes only: ``times``, ``motion``, ``brightness`` (arrays),
``cuts`` (seconds), ``duration_sec``, ``thumbnails`` (``(time_sec, HxWx3 uint8)`` pairs) and ``kind``
(``"video"`` or ``"image"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..symbolic.chords import chord_label
from ..symbolic.plan import MusicPlan
from ..symbolic.plot import (
    DPI,
    SECTION_COLOURS,
    PlotError,
    lane_label,
    new_figure,
    place_labels,
    save_png,
)

__all__ = ["write_timeline", "TIMELINE_SIZE_IN"]

TIMELINE_SIZE_IN = (12.0, 6.0)
IMAGE_TIMELINE_SIZE_IN = (12.0, 3.5)
_CUT = dict(color="#d62728", linestyle="--", linewidth=1.0, zorder=5)
_REQUIRED = ("times", "motion", "brightness", "cuts", "duration_sec", "thumbnails", "kind")


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
    bar_starts = np.array([plan.bar_start_sec(b) for b in range(plan.n_bars + 1)])

    fig = new_figure(IMAGE_TIMELINE_SIZE_IN if image else TIMELINE_SIZE_IN, DPI)
    left = 0.075 if plan_only or not image else 0.3
    names = ["frames", "sections", "chords", "plan", "motion"]
    ratios = [2.0, 0.4, 0.45, 1.3, 1.3]
    if image:  # the picture sits at the left; a still image has no motion to show
        names, ratios = names[1:4], [0.45, 0.5, 1.6]
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


def _draw_sections(ax, plan: MusicPlan, bar_starts: np.ndarray, duration: float) -> None:
    ax.set_ylim(0, 1)
    _bare(ax)
    for i, s in enumerate(plan.sections):
        x0 = bar_starts[s.start_bar]
        x1 = min(bar_starts[s.start_bar + s.n_bars], duration)
        ax.axvspan(x0, x1, color=SECTION_COLOURS[i % len(SECTION_COLOURS)], lw=0)
        ax.axvline(x0, color="#444444", linewidth=1.2)
        ax.text(x0 + duration * 0.004, 0.5, s.label, fontsize=9, fontweight="bold", va="center", clip_on=True)


def _draw_chords(ax, plan: MusicPlan, bar_starts: np.ndarray, duration: float) -> None:
    """Each chord at its beat; bar lines as ticks. Labels that would collide move to a second row."""
    ax.set_ylim(0, 1)
    _bare(ax)
    ax.vlines(bar_starts[bar_starts < duration], 0, 1, colors="#cccccc", linewidth=0.6, zorder=0)
    beat_q = 4.0 / plan.meter_tuple[1]  # quarter notes per beat
    items = []
    prev = None
    for b, bar in enumerate(plan.bars):
        sec_per_beat = beat_q * 60.0 / plan.bar_tempo(b)
        for slot in bar.chords:
            label = chord_label(slot.chord)
            if label != prev or slot.beat == 0:
                items.append((bar_starts[b] + slot.beat * sec_per_beat + duration * 0.002, label))
            prev = label
    items = [(x, text) for x, text in items if x < duration]
    lane_label(ax, "chords", place_labels(ax, items, rows=(0.68, 0.27), fontsize=8), len(items))


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
