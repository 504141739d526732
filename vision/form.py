"""The form of the plan, vision side: which scenes return to which theme, the form of a picture or a text, the
phrases and their cadences, and the form the user names.

**Scenes → themes.** A section's scene is described by the means, over the analysis frames in its seconds, of
brightness, saturation, colourfulness, warmth, contrast and edge density (:data:`SCENE_FEATURES`), and by a
coarse colour histogram (HSV: 8 hues x 3 saturations x 4 values; each thumbnail's normalised, then averaged) of
the thumbnails that fall in it (:func:`scene_of`). The distance between two scenes (:func:`scene_distance`):

- feature distance ``d_f``: the mean over the six features of ``|a - b| / scale`` (:data:`FEATURE_SCALES`, the
  spread of scene means over ten real scenes, so 1 is "a typical scene apart");
- histogram distance ``d_h``: half the L1 distance of the two histograms (total variation: 0 the same colours,
  1 no colour in common);
- ``d = 0.25 d_f + 0.75 d_h`` when both scenes hold a thumbnail, threshold 0.30; else ``d = d_f``, threshold 0.38.

Each section is compared with the first statement of every earlier theme; the nearest within its threshold is
the theme it returns to (role ``return``); otherwise it states a new theme (letters A, B, C...; role ``theme``
for the first section, ``contrast`` for later new ones). Labels carry one prime per return (A, B, A', A'').
``--no-themes`` makes every section a new theme; ``--form`` names the themes instead.

The thresholds were chosen on real footage: the shots of the three shared clips and the three shared pictures
(under a slow zoom), cut with ffmpeg into eight shot-A / shot-B / shot-A' sequences (A' another stretch of A's
shot, or the picture under another zoom): Chaplin | bikes taxi | Chaplin; taxi | railing | taxi; cars |
Chaplin | cars; example2 | pedestrians | example2; rocket | cat | rocket; coffee | railing | coffee; Chaplin |
example2 | Chaplin | example2; wall | taxi | railing | taxi | wall. 27 shots of 10 scenes, 351 pairs, 33 of them
of one scene (34 pairs within one clip: 10 same, 24 other). Measured distances:

=======================  ================  ===========  ========================================
distance                 same scene: max   other: min   within one clip: same max / other min
=======================  ================  ===========  ========================================
``d_f`` (features)       0.342             0.159        0.337 / 0.419
``d_h`` (histogram)      0.257             0.286        0.257 / 0.364
``0.25 d_f + 0.75 d_h``  0.278             0.283        0.277 / 0.471
=======================  ================  ===========  ========================================

The close "other" pairs are the street shots of bikes.mp4 (cars, railing, pedestrians: grey city footage)
compared across clips. At 0.30 the combined distance returns every same-scene pair (33/33) and joins 1 of the
318 other pairs (two bikes street shots in different clips); within a clip it separates all. The feature
distance alone at 0.38 also returns 33/33 but joins 28/318 other pairs across clips (grey street shots,
black-and-white film), none within a clip: a weaker rule, used only for a scene without a thumbnail.

Through the whole mapping (cuts as detected, cuts too close together merged by the timing), the sequences
whose shots all stay sections come out A B A': Chaplin | taxi | Chaplin (the return at 0.022 from A; B at
0.63), coffee | railing | coffee (0.135; 1.245), rocket | cat | rocket (0.151; 1.025), wall | taxi | railing |
taxi | wall, kept as three sections (0.112; 0.435); bikes.mp4's four kept shots are A B C D (nearest pair
0.42). Where the timing merges a short shot into its neighbour the mixed section is its own theme (Chaplin |
example2 | Chaplin | example2, its 1-s example2 shot merged: A B C, B at 0.329 from A).

**A picture or a text** gets a form sized to its bars (:func:`length_form`), the bars shared out so that a
return is as long as its theme's first statement and can restate all of it (:func:`share_bars`: even lengths
where the bars allow, an intro or ending of 1 bar, 2 from 24 bars, or the other size when that evens the rest
out; 20 s at 120 bpm, 10 bars, is intro 2, A 2, B 4, A' 2):

==========  ==========================================
bars        form
==========  ==========================================
1-3         A
4-7         A A'
8-11        intro A B A'
12-15       intro A B A' ending
16-39       intro A A' B A'' ending
40 and up   intro A A' B A'' C A''' ending
==========  ==========================================

**Phrases and cadences.** Each section is split into phrases (:func:`phrase_lengths`): of 8 bars from 32 bars,
4 from 8, 2 from 4, one phrase below 4; a leftover joins the last phrase. A phrase's last bar carries a cadence
(:func:`cadences`): ``half`` inside a section and at an intro's end, ``authentic`` at the end of any other
section and at the piece's last bar. A 1-bar section holds no phrase of its own, so no cadence (an intro's
bar and the piece's last bar aside). The chords follow (:func:`cadence_chords`): a half cadence's bar ends on
V (its second half, from the middle of the bar); an authentic one's bar is I with V ending the bar before (in
the same phrase), or goes V → I in a 1-bar phrase; the piece's last bar is the tonic (I, or i in minor), the bar before it ending on V unless that bar
closes a cadence itself.

**--form** names the sections in order, separated by spaces or commas: ``"A A B A"``, ``"intro A B A ending"``,
or letters run together (``"AABA"``). ``intro`` and ``ending`` (any case; ``outro``, ``end`` and ``coda`` read as
``ending``) are the form's opening and close, with no theme of their own; any other word is a theme's name,
trailing primes (``A'``, ``A′``) ignored: the first theme is the ``theme``, a later new one a ``contrast``, a
name seen before a ``return`` to it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..symbolic.chords import Chord, Key
from ..symbolic.plan import PlanError

__all__ = [
    "FEATURE_SCALES",
    "HIST_WEIGHT",
    "RETURN_THRESHOLD",
    "RETURN_THRESHOLD_FEATURES",
    "SCENE_FEATURES",
    "FormPart",
    "Scene",
    "cadence_chords",
    "cadences",
    "colour_histogram",
    "distinct_themes",
    "label_parts",
    "length_form",
    "parse_form",
    "phrase_lengths",
    "scene_distance",
    "scene_of",
    "share_bars",
    "spread_chords",
    "theme_letter",
    "themes_for_scenes",
]

#: What a scene's descriptor averages over its frames (:mod:`.features`' time series).
SCENE_FEATURES = ("brightness", "saturation", "colourfulness", "warmth", "contrast", "edges")
#: Each feature's scale: the spread (standard deviation) of scene means over ten distinct real scenes, rounded.
FEATURE_SCALES = (0.12, 0.20, 0.20, 0.15, 0.06, 0.05)
#: Hue x saturation x value bins of the colour histogram (OpenCV's HSV: hue 0-180).
HIST_BINS = (8, 3, 4)
#: How much the histogram distance counts (against the feature distance) when both scenes have one.
HIST_WEIGHT = 0.75
#: A scene this close to a theme's first statement (or closer) returns to that theme.
RETURN_THRESHOLD = 0.30
#: The same for the feature distance alone (a scene with no thumbnail: a long video has 16 in all).
RETURN_THRESHOLD_FEATURES = 0.38

_PRIMES = "'′’"
_FRAME_WORDS = {"intro": "intro", "ending": "ending", "outro": "ending", "end": "ending", "coda": "ending"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_RUN = re.compile(r"(?:[A-Z][" + _PRIMES + r"]*){2,}")  # "AABA", "ABA'": one letter a section


# ----- form parts and labels ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FormPart:
    """One section of a form: its ``theme`` (None for an intro or ending), ``role`` (a plan FORM_ROLE) and the
    ``label`` its marker shows."""

    theme: str | None
    role: str
    label: str


def theme_letter(i: int) -> str:
    """The ``i``-th new theme's name: A..Z, then A1..Z1, ..."""
    return chr(ord("A") + i % 26) + (str(i // 26) if i >= 26 else "")


def label_parts(themes: Sequence[str | None], roles: Sequence[str] | None = None) -> list[FormPart]:
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


def distinct_themes(parts: Sequence[FormPart]) -> list[FormPart]:
    """The same parts with every themed one a new theme, in order (``--no-themes``): no returns."""
    letters = iter(range(10**6))
    themes = [None if p.theme is None else theme_letter(next(letters)) for p in parts]
    return label_parts(themes, [p.role for p in parts])


# ----- scenes ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scene:
    """What a section's shot looks like: the means of :data:`SCENE_FEATURES` and, when a thumbnail falls in it,
    the colour histogram (:func:`colour_histogram`) averaged over its thumbnails."""

    means: tuple[float, ...]
    hist: np.ndarray | None = None


def colour_histogram(rgb: np.ndarray) -> np.ndarray:
    """An RGB frame → its HSV histogram (:data:`HIST_BINS`), flattened, summing to 1."""
    import cv2

    hsv = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, list(HIST_BINS), [0, 180, 0, 256, 0, 256]).ravel().astype(float)
    return h / max(h.sum(), 1.0)


def scene_of(features: Any, t0: float, t1: float) -> Scene:
    """The scene over the analysis frames in [t0, t1) (the nearest frame if none) and the thumbnails there."""
    times = np.asarray(features.times, dtype=float)
    inside = (times >= t0) & (times < t1)
    if not inside.any():
        inside = np.zeros(times.size, bool)
        inside[int(np.argmin(np.abs(times - 0.5 * (t0 + t1))))] = True
    means = tuple(float(np.mean(np.asarray(getattr(features, n), dtype=float)[inside])) for n in SCENE_FEATURES)
    hists = [colour_histogram(im) for t, im in getattr(features, "thumbnails", None) or [] if t0 <= t < t1]
    return Scene(means, np.mean(hists, axis=0) if hists else None)


def scene_distance(a: Scene, b: Scene) -> tuple[float, float]:
    """``(distance, threshold)`` of two scenes: the combined distance and 0.30 when both have a histogram, the
    feature distance and 0.38 otherwise (see the module's notes)."""
    d_f = float(np.mean(np.abs(np.subtract(a.means, b.means)) / np.asarray(FEATURE_SCALES)))
    if a.hist is None or b.hist is None:
        return d_f, RETURN_THRESHOLD_FEATURES
    d_h = 0.5 * float(np.abs(a.hist - b.hist).sum())
    return (1.0 - HIST_WEIGHT) * d_f + HIST_WEIGHT * d_h, RETURN_THRESHOLD


def themes_for_scenes(scenes: Sequence[Scene], themes: bool = True) -> tuple[list[FormPart], list[dict[str, Any]]]:
    """Each section's theme from its scene: the nearest earlier first statement within the threshold, else a new
    theme. Returns the parts and, per section, what was measured (distance to each earlier theme's first
    statement, the threshold, the decision) for ``plan.source``."""
    firsts: list[tuple[str, Scene]] = []
    names: list[str] = []
    record: list[dict[str, Any]] = []
    for scene in scenes:
        dists = {name: scene_distance(scene, first) for name, first in firsts}
        near = [(d, name) for name, (d, thr) in dists.items() if d <= thr]
        entry: dict[str, Any] = {"distances": {n: round(d, 3) for n, (d, _) in dists.items()}}
        if dists:
            entry["threshold"] = {n: thr for n, (_, thr) in dists.items()}
        if themes and near:
            name = min(near)[1]
            entry["returns_to"] = name
        else:
            name = theme_letter(len(firsts))
            firsts.append((name, scene))
        names.append(name)
        record.append(entry)
    return label_parts(names), record


# ----- a picture's form --------------------------------------------------------------------------------------
_LENGTH_FORMS: tuple[tuple[int, str], ...] = (
    (40, "intro A A B A C A ending"),
    (16, "intro A A B A ending"),
    (12, "intro A B A ending"),
    (8, "intro A B A"),
    (4, "A A"),
    (1, "A"),
)


def length_form(n_bars: int) -> list[FormPart]:
    """The form of a picture or a text of ``n_bars`` bars (the table in the module's notes)."""
    text = next(form for least, form in _LENGTH_FORMS if n_bars >= least)
    return parse_form(text)


def share_bars(n_bars: int, parts: Sequence[FormPart]) -> list[int]:
    """Bars of each part. A return gets its theme's length, so it can restate the whole statement: the lengths
    per theme are chosen so the bars add up exactly, preferring (in order) fewest themed sections of one bar
    (which hold no phrase), fewest of an odd length (phrases come in 2-bar units), frames of their usual size (an
    intro or ending 1 bar, 2 from 24 bars, else the other of 1 or 2), the most even lengths, and then earlier
    themes the longer. When no such lengths add up (two statements of one theme in an odd number of bars, or more
    than :data:`_MAX_THEMES_SEARCHED` themes), the themed parts share 2-bar units as evenly as can be, an odd bar
    to the last; when there are fewer units than themed parts, a bar each and the rest to the earliest. A
    PlanError when there are more parts than bars."""
    if len(parts) > n_bars:
        raise PlanError(f"the form names {len(parts)} sections but the music has only {n_bars} "
                        f"bar{'' if n_bars == 1 else 's'}")
    body = [i for i, p in enumerate(parts) if p.theme is not None]
    n_frame = len(parts) - len(body)
    if not body:  # only an intro and an ending: they share the bars
        return [n_bars // n_frame + (k < n_bars % n_frame) for k in range(n_frame)]
    usual = 2 if n_bars >= 24 and n_bars - 2 * n_frame >= 2 * len(body) else 1
    best = _equal_returns(n_bars, parts, usual)
    if best is not None:
        return best
    out = [0 if p.theme is not None else usual for p in parts]
    rest = n_bars - usual * n_frame
    if rest >= 2 * len(body):
        units, odd = divmod(rest, 2)
        per, extra = divmod(units, len(body))
        for k, i in enumerate(body):
            out[i] = 2 * (per + (k < extra))
        out[body[-1]] += odd
    else:
        for k, i in enumerate(body):
            out[i] = 1 + (k < rest - len(body))
    return out


#: :func:`share_bars` searches lengths per theme up to this many distinct themes (the search grows as 9^themes).
_MAX_THEMES_SEARCHED = 5


def _equal_returns(n_bars: int, parts: Sequence[FormPart], usual: int) -> list[int] | None:
    """:func:`share_bars`' search: one length per theme, the bars adding up exactly, or None."""
    themes = list(dict.fromkeys(p.theme for p in parts if p.theme is not None))
    if len(themes) > _MAX_THEMES_SEARCHED:
        return None
    count = [sum(p.theme == t for p in parts) for t in themes]
    n_frame = sum(p.theme is None for p in parts)
    best: tuple[tuple, list[int]] | None = None
    for frame in ((usual, 3 - usual) if n_frame else (usual,)):
        rest = n_bars - frame * n_frame
        mean = rest / sum(count)
        around = range(max(1, int(mean) - 4), int(mean) + 6)
        for lengths in itertools.product(around, repeat=len(themes)):
            if sum(c * n for c, n in zip(count, lengths)) != rest:
                continue
            short = sum(c for c, n in zip(count, lengths) if n < 2)  # a 1-bar section holds no phrase
            odd = sum(c for c, n in zip(count, lengths) if n % 2)
            cost = (short, odd, frame != usual, max(lengths) - min(lengths), tuple(-n for n in lengths))
            if best is None or cost < best[0]:
                of = dict(zip(themes, lengths))
                best = (cost, [frame if p.theme is None else of[p.theme] for p in parts])
    return best[1] if best is not None else None


# ----- phrases and cadences ----------------------------------------------------------------------------------
def phrase_lengths(n_bars: int) -> list[int]:
    """A section of ``n_bars`` as phrases: of 8 bars from 32, of 4 from 8, of 2 from 4, else one phrase; a
    leftover joins the last phrase."""
    size = 8 if n_bars >= 32 else 4 if n_bars >= 8 else 2 if n_bars >= 4 else n_bars
    count = n_bars // size
    out = [size] * count
    out[-1] += n_bars - size * count
    return out


def cadences(sections: Sequence[tuple[str, int]]) -> list[str | None]:
    """Per bar of sections given as ``(role, n_bars)``, the cadence closing a phrase there, or None."""
    out: list[str | None] = []
    for role, n in sections:
        bars: list[str | None] = [None] * n
        if n >= 2 or role == "intro":
            end = 0
            for length in phrase_lengths(n):
                end += length
                bars[end - 1] = "half"
            bars[-1] = "half" if role == "intro" else "authentic"
        out += bars
    if out:
        out[-1] = "authentic"
    return out


def _is_dominant(chord: Chord, key: Key) -> bool:
    from ..symbolic.chords import triad_of

    return chord.root == (key.tonic + 7) % 12 and triad_of(chord.quality) == "maj"


def spread_chords(chords: Sequence[Chord], beats: int) -> list[tuple[float, Chord]]:
    """A bar's chords spread evenly over its ``beats`` (beat ``i * beats / n``, to 3 decimals)."""
    step = beats / len(chords)
    return [(round(i * step, 3), c) for i, c in enumerate(chords)]


def _ending_on(chords: list[tuple[float, Chord]], chord: Chord, beats: int) -> list[tuple[float, Chord]]:
    """A bar's chords with ``chord`` taking its second half (from beat ``beats / 2``, where :func:`spread_chords`
    puts a bar's second chord and the chord metrics judge a bar's second half); the whole bar if it has one beat
    or its first chord already is ``chord``."""
    half = beats / 2
    if beats < 2 or chords[0][1] == chord:
        return [(0.0, chord)]
    kept = [(b, c) for b, c in chords if b < half]
    if kept[-1][1] == chord:
        return kept
    return [*kept, (round(half, 3), chord)]


def cadence_chords(chords: Sequence[Sequence[Chord]], beats: Sequence[int], bar_cadences: Sequence[str | None],
                   phrase_starts: set[int], key: Key) -> list[list[tuple[float, Chord]]]:
    """Per bar, ``(beat, chord)`` pairs: the bar's chords spread evenly over its ``beats`` and the cadences
    written in (see the module's notes). ``phrase_starts``: the bars that open a phrase (an authentic cadence's
    V goes into the bar before only when that bar is in the same phrase)."""
    dominant = Chord((key.tonic + 7) % 12, "maj")
    tonic = Chord(key.tonic, "maj" if key.mode == "major" else "min")
    out = [spread_chords(list(c), n) for c, n in zip(chords, beats)]
    last = len(out) - 1
    for b, cadence in enumerate(bar_cadences):
        if cadence == "half":
            out[b] = _ending_on(out[b], dominant, beats[b])
        elif cadence == "authentic":
            prev_in_phrase = b > 0 and b not in phrase_starts
            if b == last and b > 0 and not prev_in_phrase and bar_cadences[b - 1] is None:
                prev_in_phrase = True  # the piece's last bar is the tonic: the bar before leads into it
            if prev_in_phrase:
                out[b - 1] = _ending_on(out[b - 1], dominant, beats[b - 1])
                out[b] = [(0.0, tonic)]
            elif b == last:
                out[b] = [(0.0, tonic)]  # after a cadence, or alone: the tonic
            else:
                out[b] = [(0.0, dominant), (beats[b] / 2, tonic)] if beats[b] >= 2 else [(0.0, tonic)]
    return out
