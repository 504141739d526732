"""The form a plan asks for, read the same way by every engine: phrases, cadences, which bars restate which.

The plan says it in its own fields (``Section.theme``/``role``, ``BarPlan.cadence``/``melody``); this module
turns them into the facts an engine composes from, so no engine reads the form its own way:

- a **phrase** is a run of bars of one section ending at a bar with a ``cadence``, or at the section's end;
- a section whose ``theme`` an earlier section already stated **restates** it: its bar ``k`` takes the material
  of the first statement's bar ``k`` (cycling when the return is longer than the statement);
- the **final bar** is the last one; the piece ends there on the tonic.
"""

from __future__ import annotations

from dataclasses import dataclass

from .plan import MusicPlan

__all__ = ["Phrase", "first_statements", "melody_bars", "phrases", "restated_bars"]


@dataclass(frozen=True)
class Phrase:
    """Bars ``start_bar`` .. ``start_bar + n_bars - 1`` of section ``section`` (its index), closed by ``cadence``
    (``"half"``, ``"authentic"``, or None when the section ends without one)."""

    start_bar: int
    n_bars: int
    cadence: str | None
    section: int

    @property
    def last_bar(self) -> int:
        return self.start_bar + self.n_bars - 1


def phrases(plan: MusicPlan) -> list[Phrase]:
    """Every phrase in order: each section split after each bar that carries a cadence."""
    out = []
    for i, sec in enumerate(plan.sections):
        start = sec.start_bar
        for b in range(sec.start_bar, sec.start_bar + sec.n_bars):
            cadence = plan.bars[b].cadence
            if cadence is not None or b == sec.start_bar + sec.n_bars - 1:
                out.append(Phrase(start, b - start + 1, cadence, i))
                start = b + 1
    return out


def first_statements(plan: MusicPlan) -> dict[int, int]:
    """Section index → the index of the earlier section that first stated its theme, for each return."""
    first: dict[str, int] = {}
    out = {}
    for i, sec in enumerate(plan.sections):
        if sec.theme is None:
            continue
        if sec.theme in first:
            out[i] = first[sec.theme]
        else:
            first[sec.theme] = i
    return out


def restated_bars(plan: MusicPlan) -> dict[int, int]:
    """Bar → the earlier bar whose material it restates: bar ``k`` of a return takes bar ``k`` of the first
    statement (``k`` modulo the statement's length when the return is longer)."""
    out = {}
    for i, j in first_statements(plan).items():
        ret, src = plan.sections[i], plan.sections[j]
        for k in range(ret.n_bars):
            out[ret.start_bar + k] = src.start_bar + k % src.n_bars
    return out


def melody_bars(plan: MusicPlan) -> list[bool]:
    """Per bar, whether the melody plays (``BarPlan.melody``)."""
    return [bar.melody for bar in plan.bars]
