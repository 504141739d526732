"""The form of the plan, vision side: which sections return to which theme, and the form the user names.

(Scene similarity and the picture forms follow below.)

``--form`` names the sections in order, separated by spaces or commas: ``"A A B A"``, ``"intro A B A ending"``,
or letters run together (``"AABA"``). ``intro`` and ``ending`` (any case; ``outro`` reads as ``ending``) are the
form's opening and close, with no theme of their own; any other word is a theme's name, trailing primes
(``A'``, ``A′``) ignored: the first theme is the ``theme``, a later new one a ``contrast``, a name seen before a
``return`` to it. Labels are the theme's name with one prime per return (A, B, A', A'').
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..symbolic.plan import PlanError

__all__ = ["FormPart", "label_parts", "parse_form"]

_PRIMES = "'′’"
_FRAME_WORDS = {"intro": "intro", "ending": "ending", "outro": "ending", "end": "ending", "coda": "ending"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_RUN = re.compile(r"(?:[A-Z][" + _PRIMES + r"]*){2,}")  # "AABA", "ABA'": one letter a section


@dataclass(frozen=True)
class FormPart:
    """One section of a form: its ``theme`` (None for an intro or ending), ``role`` (a plan FORM_ROLE) and the
    ``label`` its marker shows."""

    theme: str | None
    role: str
    label: str


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for tok in re.split(r"[\s,;|]+", text.strip()):
        if not tok:
            continue
        if _RUN.fullmatch(tok):
            out += re.findall(r"[A-Z][" + _PRIMES + r"]*", tok)
        else:
            out.append(tok)
    return out


def label_parts(themes: list[str | None], roles: list[str] | None = None) -> list[FormPart]:
    """Themes in order (None: an intro or ending, as ``roles`` says) → parts with roles and primed labels."""
    seen: dict[str, int] = {}
    parts = []
    for i, theme in enumerate(themes):
        if theme is None:
            role = roles[i] if roles is not None else "intro"
            parts.append(FormPart(None, role, role))
            continue
        n = seen.get(theme, 0)
        role = "return" if n else ("theme" if not seen else "contrast")
        seen[theme] = n + 1
        parts.append(FormPart(theme, role, theme + "'" * n))
    return parts


def parse_form(text: str) -> list[FormPart]:
    """``"intro A B A ending"`` → its parts; a PlanError (one line) names what cannot be read."""
    tokens = _tokens(text)
    if not tokens:
        raise PlanError(f"empty form {text!r} (e.g. --form \"A A B A\" or \"intro A B A ending\")")
    themes: list[str | None] = []
    roles: list[str] = []
    for tok in tokens:
        word = tok.lower()
        if word in _FRAME_WORDS:
            themes.append(None)
            roles.append(_FRAME_WORDS[word])
            continue
        name = tok.rstrip(_PRIMES)
        if not _NAME.fullmatch(name):
            raise PlanError(f"form part {tok!r} is not a theme name (letters or digits, e.g. A, B, verse) "
                            f"nor intro/ending")
        themes.append(name)
        roles.append("theme")
    if all(t is None for t in themes):
        raise PlanError(f"form {text!r} names no theme, only {' '.join(roles)}")
    return label_parts(themes, roles)
