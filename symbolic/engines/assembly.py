"""How an engine's parts become its piece: every note cut at the end of the music, and the trained engines'
melody and harmony laid over the rule engine's bass and drums (POP909, which they learnt from, has neither).

A helper module, not an engine: it declares no ``ENGINE``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from ..piece import Note, Piece, Track, piece_from_plan_grid
from ..plan import ROLES, MusicPlan

__all__ = ["BACKING_ROLES", "clip_to_end", "rule_backing", "with_backing"]

#: The roles a trained engine leaves to the rule engine.
BACKING_ROLES = ("bass", "drums")


def clip_to_end(notes: Iterable[Note], end: int) -> list[Note]:
    """The notes that start before ``end`` (the piece's end tick), each cut to end there at the latest."""
    return [n if n.end <= end else Note(n.start, end - n.start, n.pitch, n.velocity) for n in notes if n.start < end]


def rule_backing(plan: MusicPlan) -> dict[str, Track]:
    """The rule engine's tracks for the :data:`BACKING_ROLES` of ``plan``'s instrumentation, by role.

    The rule engine draws each part from its own random stream, so its bass and drums are the same notes whether
    or not it also writes a melody and harmony: composing only these two is the same music, for less.
    """
    from .rule import compose

    backing = {r: p for r, p in plan.instrumentation.items() if r in BACKING_ROLES}
    return {t.name: t for t in compose(dataclasses.replace(plan, instrumentation=backing)).tracks}


def with_backing(plan: MusicPlan, parts: Mapping[str, Iterable[Note]],
                 backing: Mapping[str, Track] | None = None) -> Piece:
    """The piece of ``plan``'s grid with a trained engine's ``parts`` (role → notes, e.g. melody and harmony) over
    the rule engine's bass and drums (``backing``, from :func:`rule_backing`; made here when not given).

    One track per role of the instrumentation, in :data:`~framescore.symbolic.plan.ROLES` order: a role in
    ``parts`` gets its notes cut at the end of the music (:func:`clip_to_end`) and sorted, on the role's program;
    any other role takes the backing's track as it is.
    """
    piece = piece_from_plan_grid(plan)
    backing = rule_backing(plan) if backing is None else backing
    for role in ROLES:
        if role not in plan.instrumentation:
            continue
        if role in parts:
            notes = sorted(clip_to_end(parts[role], piece.end_tick))
            piece.tracks.append(Track(role, plan.instrumentation[role], False, notes))
        elif role in backing:
            piece.tracks.append(backing[role])
    return piece
