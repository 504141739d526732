"""A piano-roll picture of a :class:`Piece`: what the music does, bar by bar, at a glance.

Notes are bars coloured per track (shaded by velocity), drums in a lane of their own under the pitched roll,
with the bar lines, the sections (labelled, bold lines at their starts) and the chord symbols along the top;
the x axis counts bars, with seconds along the top edge. Time runs evenly in ticks; where the meter changes (a 2/4
bar inside 4/4) the bar lines follow :meth:`Piece.bar_starts`, the new time signature is written at its bar line
and the bar numbers stand where their bars start. Matplotlib's object API and Agg canvas are used
directly, so drawing never touches pyplot's global state or the user's backend. Same piece, same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FramescoreError
from .chords import chord_label, pc_name
from .piece import Piece

__all__ = [
    "DPI", "FIGSIZE_IN", "PlotError", "lane_label", "new_figure", "place_labels", "save_png", "track_colour",
    "write_pianoroll",
]

FIGSIZE_IN = (12.0, 5.0)
DPI = 100

#: Colours per role, so our pictures always show melody in red, bass in green...; other tracks cycle tab10.
ROLE_COLOURS = {"melody": "#d62728", "harmony": "#1f77b4", "bass": "#2ca02c", "drums": "#555555"}
_CYCLE = ("#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#1f77b4", "#2ca02c", "#d62728")
#: Section spans, light enough for text on top.
SECTION_COLOURS = ("#cfe2f3", "#fce5cd", "#d9ead3", "#ead1dc", "#fff2cc", "#d0e0e3", "#f4cccc", "#d9d2e9")


class PlotError(FramescoreError):
    """A picture that cannot be drawn or written."""


def track_colour(name: str, index: int) -> str:
    return ROLE_COLOURS.get(name.lower(), _CYCLE[index % len(_CYCLE)])


def new_figure(figsize: tuple[float, float], dpi: int = DPI):
    """A figure on its own Agg canvas (no pyplot, no global backend switch)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, path: str | Path) -> None:
    """Write a PNG without the matplotlib version in its metadata, so equal pictures are equal bytes."""
    try:
        fig.savefig(str(path), format="png", dpi=fig.dpi, metadata={"Software": None})
    except OSError as e:
        raise PlotError(f"cannot write picture {path}: {e.strerror or e}") from None


def place_labels(ax, items: list[tuple], rows: tuple[float, ...], fontsize: float, **text_kw: Any) -> int:
    """Write short labels at x positions, moving one to the next row when it would overlap the previous label
    in that row and leaving it out when every row is taken (a long piece has more chords than room).
    ``items``: ``(x, text)``, or ``(x, text, style)`` with text keywords of that label's own. Returns how many
    were written, so the caller can say that some were left out."""
    fig = ax.figure
    ax_width_px = ax.get_position().width * fig.get_figwidth() * fig.dpi
    x_min, x_lim = ax.get_xlim()
    units_per_px = (x_lim - x_min) / max(ax_width_px, 1.0)
    char_px = fontsize * 0.7 * fig.dpi / 72  # DejaVu Sans: about 0.6 em a character, more for m and M
    row_end = [-np.inf] * len(rows)
    written = 0
    for x, text, *style in items:
        width = (len(text) * char_px + 10) * units_per_px  # 10 px apart at least, so labels read as separate
        for r, y in enumerate(rows):
            if x >= row_end[r]:
                ax.text(x, y, text, fontsize=fontsize, va="center", ha="left", clip_on=True,
                        **{**text_kw, **(style[0] if style else {})})
                row_end[r] = x + width
                written += 1
                break
    return written


def lane_label(ax, name: str, written: int, total: int, fontsize: float = 9) -> None:
    """Name a lane at its left, with "(12/300)" under the name when labels were left out for want of room."""
    text = name if written >= total else f"{name}\n({written}/{total})"
    ax.set_ylabel(text, fontsize=fontsize, rotation=0, ha="right", va="center", labelpad=4)


def _pitch_name(p: int) -> str:
    return f"{pc_name(p % 12)}{p // 12 - 1}"


def write_pianoroll(piece: Piece, path: str | Path, title: str | None = None) -> None:
    """Draw ``piece`` as a piano roll and write it as a 1200x500 PNG."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator

    tpb = piece.ticks_per_bar
    pitched = [t for t in piece.tracks if not t.is_drum and t.notes]
    drums = [t for t in piece.tracks if t.is_drum and t.notes]
    end_tick = max([piece.end_tick] + [n.end for t in piece.tracks for n in t.notes])
    if end_tick <= 0:
        raise PlotError("piece is empty: nothing to draw")
    x_end = end_tick / tpb + 1  # x is in bars, bar 1 starting at x = 1

    fig = new_figure(FIGSIZE_IN)
    ratios = [0.55, 5.0] + ([0.9] if drums else [])
    gs = fig.add_gridspec(len(ratios), 1, height_ratios=ratios, hspace=0.04,
                          left=0.055, right=0.985, top=0.84, bottom=0.1)
    # lanes share the x range but not tick machinery: ticks are most of matplotlib's drawing time
    ax_top = fig.add_subplot(gs[0])
    ax = fig.add_subplot(gs[1])
    ax_drum = fig.add_subplot(gs[2]) if drums else None
    lanes = [a for a in (ax_top, ax, ax_drum) if a is not None]
    for a in lanes:
        a.set_xlim(1, x_end)
        a.xaxis.set_major_locator(NullLocator())

    # bar lines (each bar its own meter's length) and sections
    lines = piece.bar_starts(end_tick)
    n_bars = len(lines) - 1
    every = next(k for k in (1, 2, 4, 8, 16, 32, 10**9) if k * 1100 / max(n_bars, 1) >= 8)  # lines 8 px apart
    bar_x = np.array([lines[k] / tpb + 1 for k in range(0, n_bars + 1, every)])
    sections = piece.section_markers()
    section_x = {m.tick / tpb + 1 for m in sections}
    for a in lanes[1:]:
        a.vlines([x for x in bar_x if x not in section_x], 0, 1, transform=a.get_xaxis_transform(),
                 colors="#dddddd", linewidth=0.6, zorder=0)
        a.vlines(sorted(section_x), 0, 1, transform=a.get_xaxis_transform(), colors="#444444", linewidth=1.4,
                 zorder=3)
    end_x = piece.end_tick / tpb + 1
    if 1 < end_x < x_end - 1e-6:  # where the music is meant to end, when notes ring past it
        for a in lanes[1:]:
            a.axvline(end_x, color="#444444", linestyle=":", linewidth=1.2, zorder=3)
        ax.text(end_x, 0.98, " end", transform=ax.get_xaxis_transform(), fontsize=8, va="top", color="#444444")
    for c in _meter_marks(piece, end_tick):  # a bar of another meter: its time signature at its bar line
        ax.text(c.tick / tpb + 1, 0.98, f" {c.numerator}/{c.denominator}", transform=ax.get_xaxis_transform(),
                fontsize=8, fontweight="bold", va="top", ha="left", color="#7a4f00", zorder=4)
    for i, m in enumerate(sections):
        x0 = m.tick / tpb + 1
        x1 = sections[i + 1].tick / tpb + 1 if i + 1 < len(sections) else x_end
        ax_top.axvspan(x0, x1, ymin=0.5, ymax=1.0, color=SECTION_COLOURS[i % len(SECTION_COLOURS)], lw=0)
        ax_top.text(x0 + 0.08, 0.75, m.text, fontsize=9, fontweight="bold", va="center", ha="left", clip_on=True)
    ax_top.vlines(sorted(section_x), 0.5, 1, colors="#444444", linewidth=1.4)
    chords = [(m.tick / tpb + 1, chord_label(m.text)) for m in piece.chord_markers()]
    for x, _ in chords:
        ax_top.vlines(x, 0.02, 0.46, colors="#999999", linewidth=0.6)
    chords = [(x + 0.04, text) for x, text in chords if x < x_end]
    written = place_labels(ax_top, chords, rows=(0.25,), fontsize=8)
    if chords:
        lane_label(ax_top, "chords", written, len(chords), fontsize=8)
    ax_top.set_ylim(0, 1)
    ax_top.set_yticks([])
    for side in ("left", "right", "bottom"):
        ax_top.spines[side].set_visible(False)

    # pitched notes
    handles = []
    all_pitches = [n.pitch for t in pitched for n in t.notes]
    for i, track in enumerate(piece.tracks):
        if not track.notes:
            continue
        colour = track_colour(track.name, i)
        handles.append(Patch(facecolor=colour, label=track.name))
        if track.is_drum:
            continue
        arr = np.array([(n.start, n.end, n.pitch, n.velocity) for n in track.notes], dtype=float)
        ax.add_collection(_note_boxes(arr, tpb, colour, PolyCollection, outline=n_bars <= 40))
    if all_pitches:
        lo, hi = min(all_pitches) - 2, max(all_pitches) + 2
        ax.set_ylim(lo, hi)
        step = 12 if hi - lo > 30 else 6 if hi - lo > 14 else 2
        cs = [p for p in range((lo // step) * step, hi + 1, step) if lo <= p <= hi]
        ax.yaxis.set_major_locator(FixedLocator(cs))
        ax.set_yticklabels([_pitch_name(p) for p in cs], fontsize=8)
        ax.grid(axis="y", color="#eeeeee", linewidth=0.6, zorder=0)
    else:
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no pitched notes", transform=ax.transAxes, ha="center", color="#777777")
    ax.set_ylabel("pitch", fontsize=9)

    # drums: one row per drum sound used
    if ax_drum is not None:
        keys = sorted({n.pitch for t in drums for n in t.notes})
        row = {p: r for r, p in enumerate(keys)}
        for i, track in enumerate(piece.tracks):
            if track.is_drum and track.notes:
                arr = np.array([(n.start, n.start + tpb / 32, row[n.pitch], n.velocity) for n in track.notes],
                               dtype=float)
                ax_drum.add_collection(_note_boxes(arr, tpb, track_colour(track.name, i), PolyCollection))
        ax_drum.set_ylim(-0.6, len(keys) - 0.4)
        shown = keys if len(keys) <= 4 else [keys[0], keys[-1]]
        ax_drum.set_yticks([row[p] for p in shown])
        ax_drum.set_yticklabels([_DRUM_NAMES.get(p, str(p)) for p in shown], fontsize=7)
        ax_drum.set_ylabel("drums", fontsize=9)

    bottom = lanes[-1]
    if piece.meter_changes:  # bar numbers where the bars start (x counts bars of the first meter)
        numbers = [int(v) for v in MaxNLocator(integer=True, nbins=min(n_bars + 1, 24)).tick_values(1, n_bars + 1)
                   if 1 <= v <= n_bars + 1]
        bottom.xaxis.set_major_locator(FixedLocator([lines[k - 1] / tpb + 1 for k in numbers]))
        bottom.set_xticklabels([str(k) for k in numbers])
    else:
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(n_bars + 1, 24)))
    bottom.set_xlabel("bar", fontsize=9)
    for a in lanes:
        a.tick_params(labelsize=8)

    # seconds along the top, placed through the tempo map
    ticks = np.array([0] + [t.tick for t in piece.tempos[1:]] + [end_tick], dtype=float)
    secs = np.array([piece.tick_to_sec(t) for t in ticks])
    sec_values = MaxNLocator(nbins=10, steps=[1, 2, 2.5, 5, 10]).tick_values(0.0, secs[-1])
    sec_values = [v for v in sec_values if 0 <= v <= secs[-1] + 1e-9]
    ax_top.xaxis.set_major_locator(FixedLocator(np.interp(sec_values, secs, ticks / tpb + 1)))
    ax_top.set_xticklabels([f"{v:g}" for v in sec_values])
    ax_top.tick_params(axis="x", top=True, labeltop=True, bottom=False, labelbottom=False, labelsize=8)
    ax_top.xaxis.set_label_position("top")
    ax_top.set_xlabel("seconds", fontsize=8, labelpad=2)

    if handles:  # above the picture, not over the notes
        fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.99, 1.0), fontsize=8, frameon=False,
                   ncols=min(len(handles), 8), handlelength=1.2, columnspacing=1.2)
    if title:
        fig.text(0.055, 0.975, title, fontsize=11, fontweight="bold", va="top", ha="left")
    save_png(fig, path)


def _meter_marks(piece: Piece, end_tick: int) -> list:
    """The meter changes to label: each change to another meter before the end (none for one meter)."""
    out, current = [], piece.meter_at(0)
    for c in piece.meter_changes:
        if 0 < c.tick < end_tick and (c.numerator, c.denominator) != current:
            out.append(c)
        current = (c.numerator, c.denominator)
    return out


def _note_boxes(arr: np.ndarray, tpb: int, colour: str, poly_cls, outline: bool = False):
    """Rectangles (start..end in bars, pitch ± 0.4) shaded by velocity, as one collection (fast). An outline
    shows where repeated notes meet; on a long piece the boxes are too thin for one."""
    from matplotlib.colors import to_rgba

    x0, x1 = arr[:, 0] / tpb + 1, arr[:, 1] / tpb + 1
    y0, y1 = arr[:, 2] - 0.4, arr[:, 2] + 0.4
    verts = np.stack([np.stack([x0, y0], 1), np.stack([x0, y1], 1), np.stack([x1, y1], 1), np.stack([x1, y0], 1)], 1)
    rgba = np.tile(to_rgba(colour), (len(arr), 1))
    rgba[:, 3] = 0.45 + 0.55 * np.clip(arr[:, 3] / 127.0, 0, 1)
    edge = tuple(np.array(to_rgba(colour)) * [0.6, 0.6, 0.6, 1.0])
    return poly_cls(verts, facecolors=rgba, edgecolors=[edge] if outline else "none", linewidths=0.5, zorder=2)


_DRUM_NAMES = {
    35: "kick", 36: "kick", 37: "stick", 38: "snare", 39: "clap", 40: "snare", 41: "tom", 42: "hat", 43: "tom",
    44: "hat", 45: "tom", 46: "open hat", 47: "tom", 48: "tom", 49: "crash", 50: "tom", 51: "ride", 53: "bell",
    54: "tamb.", 56: "cowbell", 57: "crash", 59: "ride",
}
