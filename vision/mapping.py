"""What is seen (or said) → a MusicPlan. Each rule is simple, written down here, and overridable by a flag.

Affect. Valence and arousal come from colour after Valdez & Mehrabian (1994), who found pleasure ≈ 0.69·B +
0.22·S and arousal ≈ -0.31·B + 0.60·S (B brightness, S saturation, standardised). Here B and S are centred
on typical footage (brightness 0.45, saturation 0.30) and scaled to [-1, 1] (``(b - 0.45) / 0.25``,
``(s - 0.30) / 0.30``, clipped); both weighted sums are divided by 0.91 (0.69 + 0.22; |-0.31| + 0.60) to span
[-1, 1]. For a video, arousal is 0.35 · that colour arousal + 0.65 · activity, activity mixing motion (0.6),
cut rate (0.25) and edge density (0.15), each mapped to [0, 1] by a saturating curve ``1 - exp(-x / x0)``
with x0 = 0.12 frame widths per second, 12 cuts per minute and 0.08 edge share (see ``_level``). A still
image gets 0.75 · colour arousal + 0.25 · edge density (visual complexity arouses, Berlyne 1971).

Key. Mode from valence (major when >= 0). Tonic from warmth and brightness on the circle of fifths: warm
and bright pictures move to the sharp side (G, D, A major; E, B, F# minor), cool and dark ones to the flat side
(F, Bb, Eb major; D, G, C minor), at most three fifths from C major / A minor. An aesthetic convention
("sharp keys sound brighter"), not a finding; ``--key`` replaces it.

Tempo and bars. Target tempo 60-150 bpm, linear in arousal (a mood's "slow"/"fast" scales it). Sections open
at cuts; a cut closer than ``min_gap`` (one bar at the target tempo, but within 1.0-1.4 s) to the previous
kept one or to the start, or nearer than 0.75 s to the end, is dropped (listed in ``plan.source["mapping"]``;
a fast montage is thinned rather than given one-beat bars). The rest is ``vision/timing.py``: one base tempo,
each section nudged at most 3% so its cut lands on a downbeat within 40 ms, a 2/4 or 3/4 bar before the cut
for the beats left over; a cut no beat can reach is not kept (``unhit_cuts``); a strong change of the
picture's pace (each stretch's target tempo) may change the base tempo there, over a ramp of one bar
(``tempo_changes``). The last bar may be cut short by the end; its chord is held to the last frame.

``--tempo`` fixes the tempo instead: each cut opens a section at the nearest beat (within half a beat, on a
downbeat thanks to a shorter bar before it). ``--follow-audio`` takes the video's own music's tempo.

Form (``vision/form.py``). A video's section returns to an earlier theme when its scene (feature means and a
thumbnail colour histogram) is within a measured distance of that theme's first statement (A, B, A'); a
picture or a text gets a form sized to its bars (intro A A' B A'' ending from 16 bars); ``--form`` names the
themes, ``--no-themes`` makes each section its own. Sections are split into phrases of 2, 4 or 8 bars, each
closed by a half or authentic cadence (a return at its statement's places); intro bars have no melody. What
was measured and decided is in ``plan.source["mapping"]["form"]``.

Chords. Each new theme (and an intro or ending) samples its own 4-bar loop from the POP909 chord model
(``symbolic/progression.py``), tilted by the section's valence; a return takes its first statement's chords bar
by bar. Then the cadences are written in: a half cadence's bar ends on V, an authentic one arrives on I after V,
and the piece's last bar is the tonic. ``--chords`` is used exactly as given instead, cycled over all bars (no
cadence chord is added to a user's progression; the phrases and their cadence marks stay).

Per bar, density and dynamics rise with the section's arousal (a' = (arousal + 1) / 2) and the motion level m
in that bar's seconds (``_level(motion, 0.12)``): density 0.15 + 0.45a' + 0.4m, dynamics 0.1 + 0.6a' + 0.3m;
without motion (pictures, text) 0.15 + 0.7a' and 0.1 + 0.7a' (calm music is played softly: about velocity 50 at
arousal -0.8, as EMOPIA's calm clips are, 53 on average). Calm, content music flows rather than holds (a
gentle broken chord, not a pad; EMOPIA's calm clips attack as often in Q4 as in Q3, about four times a second):
density gains ``CONTENT_FLOW`` · max(valence, 0) · (1 − a').
Instrumentation by valence-arousal quadrant (``QUADRANT_INSTRUMENTS``); drums only when arousal >= -0.35.
``--instruments`` replaces roles one by one; ``none`` drops a role (the plan then has no such track).

Overrides: ``--valence``/``--arousal``/``--mood`` replace the global values and shift every section's value
by the same amount (keeping the picture's contour); ``--key``, ``--meter``, ``--seed``, ``--engine`` replace
theirs. A video's duration is the video's unless ``--duration`` is given; a picture needs ``--duration``.
Clips shorter than the plan's minimum duration (0.05 s) get that minimum.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol

import numpy as np

from ..symbolic.chords import Chord, Key, parse_key, parse_progression
from ..symbolic.plan import (
    DURATION_RANGE,
    ROLES,
    TEMPO_RANGE,
    BarPlan,
    ChordSlot,
    MusicPlan,
    PlanError,
    Section,
    check_engine,
    parse_meter,
)
from .form import (
    RETURN_THRESHOLD,
    RETURN_THRESHOLD_FEATURES,
    FormPart,
    cadence_chords,
    cadences,
    distinct_themes,
    label_parts,
    length_form,
    parse_form,
    scene_of,
    share_bars,
    spread_chords,
    theme_letter,
    themes_for_scenes,
)
from .mood import MoodError, mood_to_va

__all__ = [
    "QUADRANT_INSTRUMENTS",
    "Overrides",
    "colour_affect",
    "fit_sections",
    "instrumentation_for",
    "key_for",
    "parse_instruments",
    "parse_layers",
    "instruments_text",
    "style_name",
    "coerce_overrides",
    "plan_from_features",
    "plan_from_text",
    "target_tempo",
]

TEMPO_FROM_AROUSAL = (60.0, 150.0)
BASE_TEMPO_SEARCH = (0.8, 1.25)
MIN_GAP_SEC = (1.0, 1.4)  # a kept cut is at least one bar at the target tempo after the last, within these
MIN_TAIL_SEC = 0.75
TARGET_WEIGHT = 1.0  # how much keeping the base tempo at the target counts against steady section tempos
MAX_STRETCH = 1.5  # a final section's tempo may be at most this far from the base before its bar is cut short
DRUMS_MIN_AROUSAL = -0.35

#: How much busier calm, content bars are than calm, sad ones (× valence × calmness, added to density).
CONTENT_FLOW = 0.25
#: valence-arousal quadrant → General MIDI programs (drums: kit number on channel 10).
QUADRANT_INSTRUMENTS: dict[str, dict[str, int]] = {
    "happy-energetic": {"melody": 65, "harmony": 4, "bass": 33, "drums": 0},  # alto sax, e-piano, finger bass
    "tense-agitated": {"melody": 40, "harmony": 44, "bass": 38, "drums": 16},  # violin, tremolo strings, synth bass
    "sad-still": {"melody": 42, "harmony": 0, "bass": 32, "drums": 40},  # cello, grand piano, acoustic bass, brush
    "calm-content": {"melody": 73, "harmony": 46, "bass": 32, "drums": 40},  # flute, harp, acoustic bass, brush
}
DRUM_KITS = {"standard": 0, "room": 8, "power": 16, "electronic": 24, "808": 25, "tr-808": 25, "jazz": 32,
             "brush": 40, "brushes": 40, "orchestra": 48, "orchestral": 48}
#: Short names people type, beyond the 128 General MIDI names (which are accepted too).
INSTRUMENT_ALIASES = {
    "piano": 0, "grand piano": 0, "acoustic piano": 0, "bright piano": 1, "electric piano": 4, "rhodes": 4,
    "epiano": 4, "e-piano": 4, "harpsichord": 6, "celesta": 8, "glockenspiel": 9, "music box": 10,
    "vibraphone": 11, "vibes": 11, "marimba": 12, "xylophone": 13, "bells": 14, "organ": 16,
    "church organ": 19, "accordion": 21, "harmonica": 22, "guitar": 24, "nylon guitar": 24,
    "classical guitar": 24, "acoustic guitar": 25, "steel guitar": 25, "jazz guitar": 26, "electric guitar": 27,
    "overdriven guitar": 29, "distortion guitar": 30, "bass": 33, "acoustic bass": 32, "upright bass": 32,
    "double bass": 32, "electric bass": 33, "fretless bass": 35, "slap bass": 36, "synth bass": 38,
    "violin": 40, "viola": 41, "cello": 42, "contrabass": 43, "tremolo strings": 44, "pizzicato": 45,
    "harp": 46, "timpani": 47, "strings": 48, "string ensemble": 48, "synth strings": 50, "choir": 52,
    "voice": 53, "trumpet": 56, "trombone": 57, "tuba": 58, "horn": 60, "french horn": 60, "brass": 61,
    "sax": 65, "saxophone": 65, "soprano sax": 64, "alto sax": 65, "tenor sax": 66, "baritone sax": 67,
    "oboe": 68, "english horn": 69, "bassoon": 70, "clarinet": 71, "piccolo": 72, "flute": 73, "recorder": 74,
    "pan flute": 75, "panpipes": 75, "whistle": 78, "ocarina": 79, "lead": 80, "synth lead": 80,
    "saw lead": 81, "pad": 88, "synth pad": 88, "warm pad": 89, "sitar": 104, "banjo": 105, "shamisen": 106,
    "koto": 107, "kalimba": 108, "bagpipe": 109, "fiddle": 110, "steel drums": 114,
}
_NONE_WORDS = {"none", "off", "no", "mute", "-"}


class Features(Protocol):
    """What the mapping reads from :class:`framescore.vision.features.VisualFeatures`."""

    times: np.ndarray
    brightness: np.ndarray
    saturation: np.ndarray
    warmth: np.ndarray
    edges: np.ndarray
    motion: np.ndarray
    cuts: list[float]
    duration_sec: float
    kind: str

    def summary(self) -> dict: ...

    def motion_at(self, t0: float, t1: float) -> float: ...


# ----- overrides -----------------------------------------------------------------------------------------------
@dataclass
class Overrides:
    """What the user fixed by flag; ``None`` leaves the field to the picture."""

    tempo_bpm: float | None = None
    key: str | None = None
    meter: str | None = None
    chords: str | None = None
    mood: str | None = None
    valence: float | None = None
    arousal: float | None = None
    instruments: str | None = None
    duration_sec: float | None = None
    seed: int | None = None
    engine: str | None = None
    form: str | None = None  # "A A B A", "intro A B A ending": the sections' themes in order (vision/form.py)
    themes: bool = True  # False (--no-themes): every section its own theme, none returns
    follow_audio: bool = False  # --follow-audio: take the tempo and beats from the video's own music
    like: str | None = None  # --like REF.mid: borrow its key, tempo, meter, progression, density, instruments
    style: str | None = None  # --style jazz: a genre's instruments, tempo range, texture, groove and swing

    def validate(self) -> Overrides:
        """Check each given field; raise :class:`PlanError` (or a chord/key error) naming the first bad one."""
        if self.tempo_bpm is not None and not (_finite(self.tempo_bpm)
                                               and TEMPO_RANGE[0] <= self.tempo_bpm <= TEMPO_RANGE[1]):
            raise PlanError(f"tempo {self.tempo_bpm:g} bpm out of range ({TEMPO_RANGE[0]:g}-{TEMPO_RANGE[1]:g})")
        if self.key is not None:
            parse_key(self.key)
        if self.meter is not None:
            parse_meter(self.meter)
        for name in ("valence", "arousal"):
            v = getattr(self, name)
            if v is not None and not (_finite(v) and -1.0 <= v <= 1.0):
                raise PlanError(f"{name} {v:g} out of range [-1, 1]")
        if self.duration_sec is not None and not (_finite(self.duration_sec)
                                                  and DURATION_RANGE[0] <= self.duration_sec <= DURATION_RANGE[1]):
            lo, hi = DURATION_RANGE
            raise PlanError(f"duration {self.duration_sec:g} s out of range ({lo:g}-{hi:g} s)")
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise PlanError(f"seed must be a non-negative integer, not {self.seed!r}")
        if self.engine is not None:
            check_engine(self.engine)
        if self.instruments is not None:
            parse_instruments(self.instruments)
        if self.chords is not None:
            if not self.chords.strip():
                raise PlanError("empty chord progression")
            # letters read alike in every key and Roman numerals in any key, so C major checks the spelling
            parse_progression(self.chords, parse_key(self.key) if self.key else parse_key("C major"))
        for name in ("themes", "follow_audio"):
            if not isinstance(getattr(self, name), bool):
                raise PlanError(f"{name} must be true or false, not {getattr(self, name)!r}")
        if self.style is not None:
            self.style = style_name(self.style)
        if self.like is not None:
            from ..symbolic.midi_io import read_midi

            if not read_midi(self.like).notes():
                raise PlanError(f"--like {self.like}: the reference has no pitched notes to borrow from")
        if self.form is not None:
            if not isinstance(self.form, str):
                raise PlanError(f"form must be text such as \"A A B A\", not {self.form!r}")
            parts = parse_form(self.form)
            again = next((p.theme for p in parts if p.role == "return"), None)
            if again is not None and not self.themes:
                raise PlanError(f"--form returns to theme {again} but --no-themes asks that no theme return")
        return self

    def given(self) -> dict[str, Any]:
        """The fields the user set (not left at their defaults), for ``plan.source``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _norm_name(s: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[()_]", " ", s.lower())).strip()


def gm_names() -> dict[str, int]:
    """The 128 General MIDI names (pretty_midi's list, lower case, brackets dropped) plus our aliases."""
    import pretty_midi

    names = {_norm_name(n): i for i, n in enumerate(pretty_midi.constants.INSTRUMENT_MAP)}
    names.update(INSTRUMENT_ALIASES)
    return names


def parse_instruments(text: str) -> dict[str, int | None]:
    """``"melody=flute,bass=33,drums=none"`` → ``{"melody": 73, "bass": 33, "drums": None}`` (None: no track).
    Layers (``harmony+=strings``) are read by :func:`parse_layers` and left out here."""
    return _parse_instrument_text(text)[0]


def parse_layers(text: str) -> dict[str, list[int]]:
    """The layers of an instruments text: ``"harmony=piano,harmony+=strings,melody+=alto sax"`` →
    ``{"harmony": [48], "melody": [65]}``: more instruments for a role, each its own track (:mod:`framescore.symbolic.layers`)."""
    return _parse_instrument_text(text)[1]


def coerce_overrides(given: dict[str, Any]) -> dict[str, Any]:
    """Override values typed as text (a form field, a CSV cell) as the numbers the fields take: ``tempo_bpm``,
    ``valence``, ``arousal``, ``duration_sec`` floats, ``seed`` an integer; a PlanError names one that is not."""
    out = dict(given)
    for k in ("tempo_bpm", "valence", "arousal", "duration_sec"):
        if isinstance(out.get(k), str):
            try:
                out[k] = float(out[k])
            except ValueError:
                raise PlanError(f"{k} must be a number, not {out[k]!r}") from None
    if isinstance(out.get("seed"), str):
        try:
            out["seed"] = int(out["seed"])
        except ValueError:
            raise PlanError(f"seed must be a whole number, not {out['seed']!r}") from None
    return out


def style_name(text: str) -> str:
    """A style or genre word → its name in :data:`framescore.symbolic.styles.STYLES` (synonyms read), else a
    PlanError listing them."""
    from ..symbolic.styles import ALIASES, STYLES

    key = " ".join(str(text).lower().replace("_", " ").split())
    key = ALIASES.get(key, key)
    if key not in STYLES:
        close = difflib.get_close_matches(key, list(STYLES), n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise PlanError(f"unknown style {text!r} ({hint}one of {', '.join(STYLES)})")
    return key


def _style_tempo(target: float, ov: Overrides) -> float:
    """The mood's tempo, clipped into the style's range."""
    if ov.style is None:
        return target
    from ..symbolic.styles import STYLES

    lo, hi = STYLES[ov.style].tempo
    return _clip(target, lo, hi)


def instruments_text(roles: dict[str, int | None], layers: dict[str, list[int]] | None = None) -> str:
    """The ``--instruments`` text of roles (None: no track) and layers: the inverse of :func:`parse_instruments`
    and :func:`parse_layers`."""
    parts = [f"{r}={'none' if p is None else p}" for r, p in roles.items()]
    parts += [f"{r}+={p}" for r, ps in (layers or {}).items() for p in ps]
    return ",".join(parts)


def _parse_instrument_text(text: str) -> tuple[dict[str, int | None], dict[str, list[int]]]:
    out: dict[str, int | None] = {}
    layers: dict[str, list[int]] = {}
    names: dict[str, int] | None = None
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise PlanError(f"instrument {part.strip()!r} needs a role: e.g. melody=flute")
        role, value = (s.strip() for s in part.split("=", 1))
        layer = role.endswith("+")
        role = role.removesuffix("+").strip().lower()
        if role not in ROLES:
            raise PlanError(f"unknown instrument role {role!r} (one of {', '.join(ROLES)})")
        if layer and role == "drums":
            raise PlanError("drums+= : the drums take no layers (one kit)")
        v = _norm_name(value)
        if v in _NONE_WORDS:
            if layer:
                raise PlanError(f"{role}+={value}: a layer needs an instrument")
            program = None
        elif v.isdigit():
            if not 0 <= int(v) <= 127:
                raise PlanError(f"instrument {role}: General MIDI program {v} out of range 0-127")
            program = int(v)
        elif role == "drums":
            if v not in DRUM_KITS:
                raise PlanError(f"unknown drum kit {value!r} (one of {', '.join(sorted(DRUM_KITS))}, or none)")
            program = DRUM_KITS[v]
        else:
            names = names or gm_names()
            if v not in names:
                close = difflib.get_close_matches(v, list(names), n=3, cutoff=0.6)
                hint = f"did you mean {' or '.join(close)}? " if close else ""
                raise PlanError(f"unknown instrument {value!r} for {role} ({hint}use a General MIDI name such as"
                                f" piano, flute, strings, or a program number 0-127)")
            program = names[v]
        if layer:
            layers.setdefault(role, []).append(program)
        else:
            out[role] = program
    if not out and not layers:
        raise PlanError(f"no instruments in {text!r} (e.g. melody=flute,drums=none)")
    return out, layers


# ----- affect, key and tempo rules ---------------------------------------------------------------------------
def _clip(x: float, lo: float = -1.0, hi: float = 1.0) -> float:
    return float(min(hi, max(lo, x)))


def _level(x: float, x0: float) -> float:
    """A non-negative quantity → [0, 1), saturating: x0 reads 0.63."""
    return 1.0 - math.exp(-max(0.0, x) / x0)


def colour_affect(brightness: float, saturation: float) -> tuple[float, float]:
    """Valdez & Mehrabian (1994) on centred, scaled brightness and saturation → (valence, arousal) in [-1, 1]."""
    b = _clip((brightness - 0.45) / 0.25)
    s = _clip((saturation - 0.30) / 0.30)
    return _clip((0.69 * b + 0.22 * s) / 0.91), _clip((-0.31 * b + 0.60 * s) / 0.91)


def _affect(f: Features, t0: float, t1: float, cuts_per_min: float) -> dict[str, float]:
    """Valence, arousal and the terms behind them, over the frames in [t0, t1) (the nearest frame if none)."""
    times = np.asarray(f.times, dtype=float)
    if times.size == 0:
        raise PlanError("the picture has no analysed frames")
    inside = (times >= t0) & (times < t1)
    if not inside.any():
        inside = np.zeros(times.size, bool)
        inside[int(np.argmin(np.abs(times - 0.5 * (t0 + t1))))] = True
    mean = {name: float(np.mean(np.asarray(getattr(f, name), dtype=float)[inside]))
            for name in ("brightness", "saturation", "warmth", "edges", "motion")}
    valence, colour_arousal = colour_affect(mean["brightness"], mean["saturation"])
    edges = _level(mean["edges"], 0.08)
    if f.kind == "image":
        arousal = 0.75 * colour_arousal + 0.25 * (2 * edges - 1)
    else:
        activity = 0.6 * _level(mean["motion"], 0.12) + 0.25 * _level(cuts_per_min, 12.0) + 0.15 * edges
        arousal = 0.35 * colour_arousal + 0.65 * (2 * activity - 1)
    return {"valence": valence, "arousal": _clip(arousal), "colour_arousal": colour_arousal, **mean}


def key_for(valence: float, warmth: float = 0.0, brightness: float = 0.45) -> Key:
    """Mode from valence; tonic up to three fifths sharp (warm, bright) or flat (cool, dark) of C / A minor."""
    x = _clip(0.7 * _clip(warmth / 0.25) + 0.3 * _clip((brightness - 0.45) / 0.25))
    fifths = round(3 * x)
    if valence >= 0:
        return Key((7 * fifths) % 12, "major")
    return Key((9 + 7 * fifths) % 12, "minor")


def target_tempo(arousal: float) -> float:
    """60 bpm at arousal -1 to 150 bpm at +1, linear."""
    lo, hi = TEMPO_FROM_AROUSAL
    return lo + (hi - lo) * (_clip(arousal) + 1.0) / 2.0


def instrumentation_for(valence: float, arousal: float) -> dict[str, int]:
    """General MIDI programs by quadrant; no drums when arousal < -0.35."""
    q = ("happy-energetic" if valence >= 0 else "tense-agitated") if arousal >= 0 else \
        ("calm-content" if valence >= 0 else "sad-still")
    inst = dict(QUADRANT_INSTRUMENTS[q])
    if arousal < DRUMS_MIN_AROUSAL:
        del inst["drums"]
    return inst


# ----- time: cuts → sections of whole bars -------------------------------------------------------------------
def _merge_cuts(cuts: list[float], duration: float, min_gap: float) -> tuple[list[float], list[float]]:
    """Keep cuts at least ``min_gap`` after the previous kept one and ``MIN_TAIL_SEC`` before the end."""
    kept: list[float] = []
    dropped: list[float] = []
    last = 0.0
    for c in sorted(float(c) for c in cuts):
        if c - last >= min_gap - 1e-9 and duration - c >= min(MIN_TAIL_SEC, min_gap) - 1e-9:
            kept.append(c)
            last = c
        else:
            dropped.append(c)
    return kept, dropped


def _best_bars(length: float, bar_sec: float) -> int:
    """Whole bars for a span: the count whose stretched bar is nearest ``bar_sec`` in log terms."""
    n0 = max(1, round(length / bar_sec))
    return min((n for n in (n0 - 1, n0, n0 + 1) if n >= 1), key=lambda n: (abs(math.log(length / n / bar_sec)), n))


def fit_sections(bounds: list[float], target_bpm: float,
                 quarters_per_bar: float) -> tuple[float, list[tuple[int, float]]]:
    """Spans between ``bounds`` (0, cuts..., end) → (base tempo, [(bars, tempo)] per span).

    Each span gets whole bars at its own tempo, so ``bars x bar length`` equals the span. The base tempo is the
    one in 0.8-1.25x the target around which the spans' tempos vary least. A final span too short for one bar
    at ``MAX_STRETCH`` x the base keeps the base tempo (its bar then runs past the end).
    """
    spans = [b - a for a, b in zip(bounds[:-1], bounds[1:])]
    qsec = quarters_per_bar * 60.0  # bar seconds x tempo

    def layout(base: float) -> list[tuple[int, float, float]]:
        out = []
        for i, length in enumerate(spans):
            bar = qsec / base
            last = i == len(spans) - 1
            if last and length < bar / MAX_STRETCH:
                n = max(1, math.ceil(length / bar - 1e-9))
                out.append((n, base, math.log(n * bar / length)))  # costs like the stretch it avoids
                continue
            n = _best_bars(length, bar)
            tempo = qsec * n / length
            while tempo > TEMPO_RANGE[1] and n > 1:
                n -= 1
                tempo = qsec * n / length
            while tempo < TEMPO_RANGE[0]:
                n += 1
                tempo = qsec * n / length
            out.append((n, tempo, math.log(tempo / base)))
        return out

    best: tuple[float, float, list[tuple[int, float, float]]] | None = None
    lo, hi = (math.log(target_bpm * r) for r in BASE_TEMPO_SEARCH)
    for x in np.linspace(lo, hi, 91):
        base = float(math.exp(x))
        lay = layout(base)
        n_total = sum(n for n, _, _ in lay)
        cost = sum(n * dev**2 for n, _, dev in lay)
        cost += TARGET_WEIGHT * n_total * math.log(base / target_bpm) ** 2
        if best is None or cost < best[0] - 1e-12:
            best = (cost, base, lay)
    assert best is not None
    return best[1], [(n, t) for n, t, _ in best[2]]


# ----- chords and bars --------------------------------------------------------------------------------------
def _section_label(i: int) -> str:
    return theme_letter(i)


@dataclass
class _Span:
    """One section's timing: where it starts, its bars (``meters``: each bar's meter when not the piece's), its
    tempo and whether it ramps to it over its first bar, the cut that opens it; then its affect."""

    start_sec: float
    n_bars: int
    tempo_bpm: float | None
    cut_sec: float | None
    valence: float = 0.0
    arousal: float = 0.0
    meters: list[str | None] = field(default_factory=list)
    ramp: bool = False

    def meter_of(self, k: int) -> str | None:
        return self.meters[k] if k < len(self.meters) else None


def _assemble(
    duration: float,
    spans: list[_Span],
    tempo_bpm: float,
    meter: str,
    key: Key,
    valence: float,
    arousal: float,
    motion: Callable[[float, float], float] | None,
    ov: Overrides,
    source: dict[str, Any],
    parts: list[FormPart] | None = None,
) -> MusicPlan:
    """Sections (with their themes and roles, ``parts``; default: each its own theme), chords with the phrases'
    cadences, per-bar melody flags, density and dynamics, instrumentation → a validated plan."""
    from ..symbolic.form import restated_bars
    from ..symbolic.progression import ChordModel

    if parts is None:
        parts = label_parts([_section_label(i) for i in range(len(spans))])
    num, _ = parse_meter(meter)
    seed = ov.seed if ov.seed is not None else 0
    rng = np.random.default_rng(seed)
    from ..symbolic.styles import STYLES

    style = STYLES[ov.style] if ov.style is not None else None
    flats = key.uses_flats
    sections = [Section(part.label, sum(s.n_bars for s in spans[:i]), s.n_bars,
                        None if s.cut_sec is None else round(s.cut_sec, 6), s.tempo_bpm,
                        round(s.valence, 3), round(s.arousal, 3), theme=part.theme, role=part.role, ramp=s.ramp)
                for i, (s, part) in enumerate(zip(spans, parts, strict=True))]
    n_total = sum(s.n_bars for s in spans)
    plan = MusicPlan(duration_sec=duration, tempo_bpm=tempo_bpm, meter=meter, key=key.name, bars=[],
                     sections=sections, valence=round(valence, 3), arousal=round(arousal, 3),
                     instrumentation={}, seed=seed, engine=ov.engine or "rule", source=source)
    bar_meters = [s.meter_of(k) for s in spans for k in range(s.n_bars)]
    beats = [parse_meter(m)[0] if m else num for m in bar_meters]  # a bar of another length: its own beats
    bar_cadences = cadences([(sec.role, sec.n_bars) for sec in sections])
    for b, src in restated_bars(plan).items():  # a return breathes where its statement did: same phrases
        sec = plan.section_of_bar(b)
        if b != sec.start_bar + sec.n_bars - 1 and b != n_total - 1:
            bar_cadences[b] = "half" if bar_cadences[src] else None
    if ov.chords is not None:  # the user's progression exactly as given, cycled: no cadence chords added
        prog = parse_progression(ov.chords, key)
        slots = [spread_chords(prog[b % len(prog)], beats[b]) for b in range(n_total)]
    else:
        model = ChordModel.load()
        restates = restated_bars(plan)  # a return takes its first statement's chords bar by bar
        chords: list[list[Chord]] = []
        for s, sec in zip(spans, sections):
            if sec.start_bar in restates:
                chords += [list(chords[restates[b]]) for b in range(sec.start_bar, sec.start_bar + sec.n_bars)]
            else:
                chords += [[c] for c in model.sample_progression(key, s.n_bars, rng, valence=s.valence,
                                                                 end_with_cadence=False)]
        starts = {sec.start_bar for sec in sections} | {b + 1 for b, c in enumerate(bar_cadences) if c}
        slots = cadence_chords(chords, beats, bar_cadences, starts, key)
    for b in range(n_total):
        plan.bars.append(BarPlan([ChordSlot(beat, c.symbol(flats)) for beat, c in slots[b]], meter=bar_meters[b],
                                 melody=plan.section_of_bar(b).role != "intro", cadence=bar_cadences[b]))
    lines = plan.bar_start_secs()
    for b in range(n_total):
        span = spans[next(i for i, s in enumerate(sections) if s.start_bar <= b < s.start_bar + s.n_bars)]
        t, t1 = lines[b], lines[b + 1]
        lift = (span.arousal + 1.0) / 2.0
        if motion is not None:
            m = _level(motion(t, max(t + 1e-6, min(t1, duration))), 0.12)
            density, dynamics = 0.15 + 0.45 * lift + 0.4 * m, 0.1 + 0.6 * lift + 0.3 * m
        else:
            density, dynamics = 0.15 + 0.7 * lift, 0.1 + 0.7 * lift
        density += CONTENT_FLOW * max(span.valence, 0.0) * (1.0 - lift)  # calm and content: it flows
        bar = plan.bars[b]
        if style is not None:  # the style's texture: busier or sparser, louder or softer
            density, dynamics = density * style.texture, dynamics + style.loudness
        bar.density, bar.dynamics = round(_clip(density, 0.05, 1.0), 3), round(_clip(dynamics, 0.1, 1.0), 3)
    inst: dict[str, int | None] = dict(instrumentation_for(valence, arousal))
    layers: dict[str, list[int]] = {}
    if style is not None:
        inst.update(parse_instruments(style.instruments))
        layers = parse_layers(style.instruments)
        plan.style = style.name
    if ov.instruments:
        inst.update(parse_instruments(ov.instruments))
        layers = parse_layers(ov.instruments)  # named instruments are the ensemble: the style's layers go
    plan.instrumentation = {r: p for r, p in sorted(inst.items(), key=lambda rp: ROLES.index(rp[0])) if p is not None}
    plan.layers = {r: ps for r, ps in layers.items() if r in plan.instrumentation}
    return plan.validate()


def _split_span(span: _Span, sizes: list[int], tempo_bpm: float, base_quarters: float) -> list[_Span]:
    """One span (a picture's, a text's) as consecutive spans of ``sizes`` bars: the same tempo, its bars' meters
    shared out, its ramp kept by the first; each start second from the bars before it."""
    out = []
    k, t = 0, span.start_sec
    bpm = span.tempo_bpm or tempo_bpm
    for i, n in enumerate(sizes):
        meters = [span.meter_of(j) for j in range(k, k + n)]
        out.append(_Span(t, n, span.tempo_bpm, span.cut_sec if i == 0 else None, span.valence, span.arousal,
                         meters if any(meters) else [], span.ramp if i == 0 else False))
        for m in meters:
            q = base_quarters if m is None else parse_meter(m)[0] * 4 / parse_meter(m)[1]
            t += q * 60.0 / bpm
        k += n
    return out


def _form(spans: list[_Span], tempo_bpm: float, meter: str, ov: Overrides, info: dict[str, Any],
          features: Features | None = None, duration: float = 0.0) -> tuple[list[_Span], list[FormPart]]:
    """The sections' themes and roles (vision/form.py). A video of several shots: one theme per span, from its
    scene (or ``--form``'s names, one per span). A picture, a text, or a video of one shot (one span): a form
    sized to its bars, or the bars shared among ``--form``'s sections."""
    given = ov.form
    record: dict[str, Any] = {"given": given, "themes": ov.themes}
    if len(spans) == 1:
        n = spans[0].n_bars
        parts = parse_form(given) if given is not None else length_form(n)
        if not ov.themes:
            parts = distinct_themes(parts)
        sizes = share_bars(n, parts)
        num, den = parse_meter(meter)
        spans = _split_span(spans[0], sizes, tempo_bpm, num * 4 / den)
        record["rule"] = "--form, the bars shared out" if given is not None else f"the form of a {n}-bar piece"
        if features is not None:
            record["rule"] += " (one shot, no kept cut)"
    elif given is not None:
        parts = parse_form(given)
        if len(parts) != len(spans):
            raise PlanError(f"--form names {len(parts)} sections but the video has {len(spans)} "
                            f"(one per kept cut, and the opening)")
        record["rule"] = "--form"
    elif features is not None:
        bounds = [s.cut_sec if s.cut_sec is not None else s.start_sec for s in spans] + [duration]
        scenes = [scene_of(features, a, max(b, a + 1e-6)) for a, b in zip(bounds, bounds[1:])]
        parts, measured = themes_for_scenes(scenes, ov.themes)
        record["rule"] = ("each scene its own theme (--no-themes)" if not ov.themes else
                          f"a scene within {RETURN_THRESHOLD} (colour histogram and features) or "
                          f"{RETURN_THRESHOLD_FEATURES} (features alone) of a theme's first statement returns to it")
        record["threshold"] = {"with_histogram": RETURN_THRESHOLD, "features_only": RETURN_THRESHOLD_FEATURES}
        record["scenes"] = measured
    else:
        parts = label_parts([_section_label(i) for i in range(len(spans))])
        record["rule"] = "each section its own theme"
    record["sections"] = [p.label for p in parts]
    info["form"] = record
    return spans, parts


def _timing(duration: float, cuts: list[float], target: float, meter: str, ov: Overrides,
            info: dict[str, Any], follow_tempo: float | None = None,
            pace: Callable[[float, float], float] | None = None) -> tuple[float, list[_Span]]:
    """Base tempo and sections (:mod:`.timing`): one steady tempo, each kept cut on a downbeat, or ``--tempo``."""
    from .timing import fit_timing

    num, den = parse_meter(meter)
    qpb = num * 4 / den
    if ov.tempo_bpm is not None:
        kept, dropped = sorted(cuts), []
    else:
        min_gap = _clip(qpb * 60.0 / target, *MIN_GAP_SEC)
        min_gap = max(min_gap, qpb * 60.0 / TEMPO_RANGE[1] * 1.001)
        kept, dropped = _merge_cuts(cuts, duration, min_gap)
        info["min_cut_gap_sec"] = round(min_gap, 3)
    timing = fit_timing(duration, kept, target, meter, fixed_tempo=ov.tempo_bpm, follow_tempo=follow_tempo,
                        pace=pace)
    spans = [_Span(sec.start_sec, sec.n_bars,
                   None if abs(sec.tempo_bpm / timing.base_tempo_bpm - 1) < 1e-9 else sec.tempo_bpm,
                   sec.cut_sec, meters=sec.meters, ramp=sec.ramp) for sec in timing.sections]
    info.update({"target_tempo_bpm": round(target, 3), "base_tempo_bpm": round(timing.base_tempo_bpm, 3),
                 "kept_cuts": [round(c, 3) for c in timing.kept_cuts],
                 "dropped_cuts": [round(c, 3) for c in dropped],
                 "unhit_cuts": [round(c, 3) for c in timing.unhit_cuts],
                 "cut_offsets_sec": [round(e, 4) for e in timing.hit_errors_sec],
                 "tempo_changes": timing.tempo_changes})
    if ov.tempo_bpm is not None:
        info["tempo"] = "fixed by --tempo; each cut opens its section at the nearest beat"
    elif follow_tempo is not None:
        info["tempo"] = f"the soundtrack's tempo ({follow_tempo:.1f} bpm, --follow-audio), nudged at most 3% a section"
    else:
        info["tempo"] = "one base tempo, each section nudged at most 3% so its cut lands on a downbeat"
    return timing.base_tempo_bpm, spans


def _apply_affect_overrides(valence: float, arousal: float, ov: Overrides,
                            info: dict[str, Any]) -> tuple[float, float, float]:
    """Mood, then explicit valence/arousal, replace the computed values. Returns (valence, arousal, tempo factor)."""
    tempo_factor = 1.0
    if ov.mood is not None:
        valence, arousal, mood = mood_to_va(ov.mood)
        info["mood"] = mood
        tempo_factor = mood.get("tempo_factor", 1.0)
    if ov.valence is not None:
        valence = ov.valence
    if ov.arousal is not None:
        arousal = ov.arousal
    return valence, arousal, tempo_factor


# ----- entry points ----------------------------------------------------------------------------------------------
def _with_like(ov: Overrides) -> tuple[Overrides, MusicPlan | None]:
    """``--like REF.mid``: the reference read into a plan (:func:`framescore.symbolic.reading.plan_from_piece`), and
    the overrides with its key, tempo, meter and instruments wherever the user (or the words) left them open; a
    role the reference has no track for gets none. None without ``--like``."""
    if ov.like is None:
        return ov, None
    from ..symbolic.midi_io import read_midi
    from ..symbolic.reading import plan_from_piece

    ref = plan_from_piece(read_midi(ov.like), ov.like, va=False)
    fill: dict[str, Any] = {}
    if ov.key is None:
        fill["key"] = ref.key
    if ov.tempo_bpm is None:
        fill["tempo_bpm"] = ref.tempo_bpm
    if ov.meter is None:
        fill["meter"] = ref.meter
    inst: dict[str, int | None] = {r: ref.instrumentation.get(r) for r in ROLES}
    layers = dict(ref.layers)
    if ov.instruments:
        inst.update(parse_instruments(ov.instruments))
        layers.update(parse_layers(ov.instruments))
    fill["instruments"] = instruments_text(inst, layers)
    return replace(ov, **fill).validate(), ref


def _borrowed(plan: MusicPlan, ref: MusicPlan | None, ov: Overrides) -> MusicPlan:
    """The plan with the reference's progression and density contour (:func:`framescore.symbolic.reading.borrow`);
    the user's ``--chords`` keep theirs."""
    if ref is None:
        return plan
    from ..symbolic.reading import borrow

    chords = [[ChordSlot(c.beat, c.chord) for c in bar.chords] for bar in plan.bars]
    plan = borrow(plan, ref)
    if ov.chords is not None:
        for bar, kept in zip(plan.bars, chords):
            bar.chords = kept
        plan.source["like"]["chords"] = "the --chords given win"
    return plan.validate()


def plan_from_features(features: Features, overrides: Overrides | None = None,
                       source: dict[str, Any] | None = None) -> MusicPlan:
    """Visual features of a video or picture (plus the user's overrides) → a validated :class:`MusicPlan`."""
    user = (overrides or Overrides()).validate()
    ov, ref = _with_like(user)
    is_image = features.kind == "image"
    if is_image:
        if ov.duration_sec is None:
            raise PlanError("a still picture needs a duration for its music (--duration SECONDS)")
        duration = float(ov.duration_sec)
        cuts: list[float] = []
    else:
        duration = float(ov.duration_sec if ov.duration_sec is not None else features.duration_sec)
        if not math.isfinite(duration) or duration <= 0:
            raise PlanError(f"the video has no duration ({features.duration_sec!r} s)")
        duration = min(max(duration, DURATION_RANGE[0]), DURATION_RANGE[1])
        cuts = [float(c) for c in features.cuts if 0.0 < c < duration]
    info: dict[str, Any] = {}
    cuts_per_min = 60.0 * len(cuts) / duration if not is_image else 0.0
    whole = _affect(features, 0.0, duration if duration < features.duration_sec else math.inf, cuts_per_min)
    info["computed"] = {k: round(v, 4) for k, v in whole.items()} | {"cuts_per_min": round(cuts_per_min, 3)}
    valence, arousal, tempo_factor = _apply_affect_overrides(whole["valence"], whole["arousal"], ov, info)
    key = parse_key(ov.key) if ov.key else key_for(valence, whole["warmth"], whole["brightness"])
    meter = "{}/{}".format(*parse_meter(ov.meter)) if ov.meter else "4/4"
    target = _style_tempo(_clip(target_tempo(arousal) * tempo_factor, *TEMPO_RANGE), ov)
    da = arousal - whole["arousal"]

    def pace(t0: float, t1: float) -> float:  # the tempo this stretch of picture asks for, as the whole's does
        local = _affect(features, t0, t1, cuts_per_min)["arousal"]
        return _clip(target_tempo(_clip(local + da)) * tempo_factor, *TEMPO_RANGE)

    soundtrack = getattr(features, "soundtrack", None) if getattr(ov, "follow_audio", False) else None
    follow = getattr(soundtrack, "tempo_bpm", None)
    tempo, spans = _timing(duration, cuts, target, meter, ov, info, follow_tempo=follow,
                           pace=None if is_image else pace)
    dv, da = valence - whole["valence"], arousal - whole["arousal"]
    t_end = [s.start_sec for s in spans[1:]] + [duration]
    for s, t1 in zip(spans, t_end):
        if is_image:
            s.valence, s.arousal = valence, arousal
        else:
            local = _affect(features, s.start_sec, t1, cuts_per_min)
            s.valence, s.arousal = _clip(local["valence"] + dv), _clip(local["arousal"] + da)
    spans, parts = _form(spans, tempo, meter, ov, info, None if is_image else features, duration)
    src = dict(source or {})
    src["features"] = features.summary()
    src["mapping"] = info
    if user.given():
        src["overrides"] = user.given()
    motion = None if is_image else features.motion_at
    return _borrowed(_assemble(duration, spans, tempo, meter, key, valence, arousal, motion, ov, src, parts), ref, ov)


def plan_from_text(text: str, duration_sec: float | None, overrides: Overrides | None = None) -> MusicPlan:
    """A description (``"a calm morning by the sea"``, ``"a slow waltz in D minor for cello and piano, 70 bpm"``)
    → a plan of ``duration_sec`` seconds, in a form sized to its bars (intro, A, A', B, A'', ending for 16 or
    more: vision/form.py).

    The attributes the words state (key, tempo, meter, chords, instruments, duration: :func:`read_words`) are taken
    as overrides; a flag given for the same field wins and the plan's ``source`` says so. The mood lexicon reads
    the rest; words stating only attributes (no mood word) give a neutral mood, leaning to the key's mode."""
    from .words import GLUE_WORDS, read_words

    flags = (overrides or Overrides()).validate()
    reading = read_words(text)
    stated = reading.stated()
    info: dict[str, Any] = {"text_read": reading.read}
    notes = list(reading.notes)
    merged: dict[str, Any] = {}
    for name, value in stated.items():
        flag = getattr(flags, name)
        if name == "instruments":
            merged[name] = instruments_text({**parse_instruments(value), **(parse_instruments(flag) if flag else {})},
                                            {**parse_layers(value), **(parse_layers(flag) if flag else {})})
        elif flag is None:
            merged[name] = value
        if flag is not None:
            notes.append(f"{name}: the flag's {flag!r} wins over the words' {value!r}")
    if duration_sec is not None and "duration_sec" in merged:
        notes.append(f"duration_sec: {duration_sec:g} s given wins over the words' {merged.pop('duration_sec'):g} s")
    ov, ref = _with_like(replace(flags, **merged).validate())
    duration = duration_sec if duration_sec is not None else ov.duration_sec
    if duration is None:
        raise PlanError("music from text needs a duration (--duration SECONDS, or words such as '30 seconds')")
    if not (_finite(duration) and DURATION_RANGE[0] <= duration <= DURATION_RANGE[1]):
        raise PlanError(f"duration {duration:g} s out of range ({DURATION_RANGE[0]:g}-{DURATION_RANGE[1]:g} s)")
    try:
        valence, arousal, mood = mood_to_va(reading.rest)
    except MoodError:
        if not stated:
            raise MoodError(f"no mood or musical attribute recognised in {text.strip()[:60]!r} (try words like"
                            " calm, sad, tense, or 'D minor, 90 bpm, waltz')") from None
        minor = ov.key is not None and parse_key(ov.key).mode == "minor"
        valence, arousal = (-0.3 if minor else 0.3) if ov.key else 0.0, 0.0
        mood = {"text": reading.rest, "words": [], "unknown": [],
                "note": "no mood word: neutral, leaning to the key's mode"}
    mood["text"] = text
    read_words_ = {w for x in reading.read for w in re.findall(r"[a-z]+", x["words"].lower())}
    mood["unknown"] = [w for w in mood.get("unknown", []) if w.lower() not in GLUE_WORDS | read_words_]
    info["text_mood"] = mood
    if notes:
        info["text_notes"] = notes
    valence, arousal, factor = _apply_affect_overrides(valence, arousal, ov, info)
    factor *= mood.get("tempo_factor", 1.0) if ov.mood is None else 1.0
    key = parse_key(ov.key) if ov.key else key_for(valence)
    meter = "{}/{}".format(*parse_meter(ov.meter)) if ov.meter else "4/4"
    target = _style_tempo(_clip(target_tempo(arousal) * factor, TEMPO_RANGE[0], TEMPO_RANGE[1]), ov)
    tempo, spans = _timing(float(duration), [], target, meter, ov, info)
    for s in spans:
        s.valence, s.arousal = valence, arousal
    spans, parts = _form(spans, tempo, meter, ov, info)
    src = {"text": text, "mapping": info}
    if flags.given():
        src["overrides"] = flags.given()
    return _borrowed(_assemble(float(duration), spans, tempo, meter, key, valence, arousal, None, ov, src, parts),
                     ref, ov)
