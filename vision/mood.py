"""Words → valence and arousal: a small mood lexicon for ``--mood "tense, slow"`` and ``framescore text``.

Each entry places a common mood or scene word on Russell's circumplex (1980): valence (unpleasant -1 ..
pleasant +1) and arousal (calm -1 .. excited +1). The numbers are hand-set, guided by where Russell's and
Scherer's circumplex figures put the emotion words and by the ordering of the NRC VAD Lexicon (Mohammad 2018)
and Warriner et al.'s (2013) norms, rescaled from [0, 1] (or 1..9) to [-1, 1]; scene words (sea, storm, night)
get the affect their scenes are usually scored with. They are a starting point that any flag overrides, not
measurements.

Reading: lower-case words; a few suffixes are stripped when the word itself is unknown (``slowly`` → slow,
``happier`` → happy, ``waves`` → wave). ``not``/``no``/``never``/``without``/``n't`` before a word (within two
words) negate it: valence x -0.75 (VADER's damping, Hutto & Gilbert 2014) and arousal x -0.5, so "not calm"
reads tense-ish and "not happy" unhappy. ``very``/``really``/``so``... scale the next word's values by 1.4,
``slightly``/``a bit``/``somewhat``... by 0.5. Matched words are averaged. Tempo words (slow, fast...) also
give a tempo factor for the mapping (the geometric mean of theirs).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import FramescoreError

__all__ = ["LEXICON", "MoodError", "TEMPO_WORDS", "mood_to_va"]


class MoodError(FramescoreError):
    """A mood text with no word the lexicon knows."""


#: word → (valence, arousal), both in [-1, 1].
LEXICON: dict[str, tuple[float, float]] = {
    # pleasant, aroused
    "happy": (0.8, 0.5), "joy": (0.85, 0.6), "joyful": (0.85, 0.6), "cheerful": (0.8, 0.5), "glad": (0.7, 0.3),
    "delighted": (0.85, 0.6), "excited": (0.7, 0.85), "exciting": (0.7, 0.8), "thrilled": (0.8, 0.85),
    "elated": (0.85, 0.75), "euphoric": (0.85, 0.9), "playful": (0.7, 0.55), "fun": (0.75, 0.6),
    "funny": (0.6, 0.5), "triumphant": (0.8, 0.75), "victory": (0.85, 0.7), "proud": (0.7, 0.5),
    "confident": (0.6, 0.4), "hopeful": (0.65, 0.25), "hope": (0.65, 0.25), "optimistic": (0.7, 0.3),
    "festive": (0.8, 0.65), "party": (0.75, 0.8), "celebration": (0.85, 0.7), "dance": (0.7, 0.7),
    "energetic": (0.6, 0.85), "lively": (0.6, 0.65), "bouncy": (0.6, 0.6), "upbeat": (0.65, 0.6),
    "adventure": (0.6, 0.65), "epic": (0.5, 0.8), "heroic": (0.6, 0.7), "majestic": (0.55, 0.4),
    "grand": (0.5, 0.45), "wonder": (0.6, 0.35), "magical": (0.65, 0.35), "sexy": (0.6, 0.6),
    "wild": (0.3, 0.85), "free": (0.6, 0.3), "summer": (0.7, 0.4), "spring": (0.7, 0.3), "sun": (0.65, 0.3),
    "sunny": (0.7, 0.3), "bright": (0.6, 0.3), "birthday": (0.8, 0.6), "wedding": (0.8, 0.45),
    "holiday": (0.75, 0.4), "christmas": (0.75, 0.4), "travel": (0.6, 0.4), "journey": (0.5, 0.3),
    "beach": (0.7, 0.1), "children": (0.6, 0.45), "kids": (0.6, 0.5), "dog": (0.6, 0.3), "sport": (0.5, 0.75),
    "game": (0.5, 0.6), "race": (0.3, 0.85), "racing": (0.3, 0.85), "running": (0.3, 0.7), "run": (0.3, 0.7),
    "cycling": (0.45, 0.6), "bike": (0.45, 0.55), "action": (0.2, 0.8), "powerful": (0.4, 0.75),
    "strong": (0.4, 0.5), "love": (0.9, 0.35), "loving": (0.85, 0.3), "romantic": (0.75, 0.25),
    "romance": (0.75, 0.25), "futuristic": (0.3, 0.5), "cinematic": (0.3, 0.5), "city": (0.1, 0.5),
    "street": (0.0, 0.4), "crowd": (0.0, 0.55), "busy": (0.0, 0.6), "driving": (0.3, 0.55), "road": (0.2, 0.3),
    "fast": (0.2, 0.7), "quick": (0.2, 0.6), "rapid": (0.1, 0.75), "crazy": (0.0, 0.8), "wind": (0.0, 0.3),
    "waves": (0.3, 0.2), "wave": (0.3, 0.2), "rainbow": (0.75, 0.2), "day": (0.4, 0.1), "baby": (0.7, 0.0),
    "cat": (0.5, 0.0), "sweet": (0.7, 0.0), "warm": (0.6, 0.0), "cool": (0.4, 0.1), "mountain": (0.45, 0.0),
    "sunrise": (0.6, -0.1), "morning": (0.45, -0.1), "dawn": (0.5, -0.2), "flowers": (0.7, -0.1),
    "flower": (0.7, -0.1), "innocent": (0.5, -0.2), "tender": (0.6, -0.2), "satisfied": (0.6, -0.2),
    # pleasant, calm
    "calm": (0.5, -0.7), "peaceful": (0.65, -0.7), "peace": (0.65, -0.7), "serene": (0.65, -0.7),
    "tranquil": (0.6, -0.75), "relaxed": (0.6, -0.6), "relaxing": (0.6, -0.6), "content": (0.65, -0.35),
    "gentle": (0.5, -0.5), "soft": (0.4, -0.55), "cozy": (0.65, -0.45), "comfortable": (0.6, -0.4),
    "safe": (0.55, -0.4), "home": (0.6, -0.4), "chill": (0.45, -0.5), "dreamy": (0.4, -0.5),
    "dream": (0.4, -0.45), "sea": (0.4, -0.3), "ocean": (0.4, -0.2), "lake": (0.45, -0.55),
    "river": (0.4, -0.4), "forest": (0.4, -0.3), "garden": (0.6, -0.4), "nature": (0.6, -0.35),
    "sky": (0.5, -0.3), "stars": (0.5, -0.3), "star": (0.5, -0.3), "moon": (0.35, -0.45), "sunset": (0.5, -0.4),
    "evening": (0.3, -0.4), "dusk": (0.15, -0.45), "snow": (0.35, -0.3), "church": (0.3, -0.5),
    "clouds": (0.2, -0.4), "cloud": (0.2, -0.4), "nostalgic": (0.1, -0.35), "nostalgia": (0.1, -0.35),
    "quiet": (0.2, -0.7), "still": (0.1, -0.8), "sleepy": (0.05, -0.85), "sleep": (0.2, -0.85),
    "lazy": (0.1, -0.7), "slow": (0.0, -0.6), "light": (0.4, -0.1),
    # unpleasant, calm
    "sad": (-0.75, -0.4), "sadness": (-0.75, -0.4), "unhappy": (-0.7, -0.2), "sorrow": (-0.8, -0.35),
    "grief": (-0.85, -0.3), "mourning": (-0.8, -0.4), "funeral": (-0.75, -0.45), "melancholy": (-0.5, -0.45),
    "melancholic": (-0.5, -0.45), "wistful": (-0.2, -0.4), "bittersweet": (0.0, -0.2), "lonely": (-0.65, -0.45),
    "alone": (-0.4, -0.4), "empty": (-0.5, -0.55), "depressed": (-0.8, -0.55), "depressing": (-0.8, -0.5),
    "gloomy": (-0.65, -0.45), "bleak": (-0.65, -0.4), "tired": (-0.3, -0.7), "bored": (-0.4, -0.65),
    "boring": (-0.4, -0.6), "dull": (-0.3, -0.6), "lost": (-0.5, -0.1), "cold": (-0.3, -0.2),
    "regret": (-0.6, -0.2), "tears": (-0.55, -0.1), "broken": (-0.65, -0.2), "rain": (-0.1, -0.3),
    "rainy": (-0.2, -0.35), "night": (0.0, -0.4), "midnight": (-0.05, -0.35), "autumn": (0.2, -0.35),
    "winter": (0.0, -0.3), "fog": (-0.2, -0.4), "foggy": (-0.2, -0.4), "mist": (0.0, -0.45),
    "desert": (-0.1, -0.3), "grey": (-0.3, -0.4), "gray": (-0.3, -0.4),
    # unpleasant, aroused
    "dark": (-0.45, 0.1), "grim": (-0.6, 0.2), "heavy": (-0.3, 0.1), "mysterious": (-0.1, 0.2),
    "mystery": (-0.1, 0.2), "eerie": (-0.5, 0.35), "spooky": (-0.45, 0.45), "creepy": (-0.6, 0.45),
    "scary": (-0.7, 0.7), "horror": (-0.85, 0.75), "fear": (-0.75, 0.7), "afraid": (-0.7, 0.6),
    "frightened": (-0.75, 0.7), "terrified": (-0.85, 0.85), "anxious": (-0.6, 0.6), "nervous": (-0.5, 0.55),
    "worried": (-0.6, 0.4), "tense": (-0.5, 0.6), "tension": (-0.5, 0.6), "suspense": (-0.3, 0.6),
    "suspenseful": (-0.3, 0.6), "uneasy": (-0.5, 0.35), "ominous": (-0.6, 0.4), "threatening": (-0.7, 0.6),
    "dangerous": (-0.6, 0.7), "danger": (-0.65, 0.7), "angry": (-0.7, 0.8), "anger": (-0.7, 0.8),
    "rage": (-0.8, 0.9), "furious": (-0.8, 0.9), "aggressive": (-0.5, 0.85), "violent": (-0.8, 0.85),
    "fight": (-0.5, 0.8), "battle": (-0.4, 0.85), "war": (-0.8, 0.75), "chaos": (-0.5, 0.85),
    "chaotic": (-0.45, 0.8), "frantic": (-0.4, 0.85), "panic": (-0.75, 0.9), "urgent": (-0.2, 0.75),
    "chase": (-0.1, 0.85), "hectic": (-0.3, 0.8), "intense": (0.0, 0.85), "dramatic": (-0.1, 0.7),
    "drama": (-0.1, 0.6), "storm": (-0.4, 0.75), "stormy": (-0.4, 0.7), "thunder": (-0.3, 0.75),
    "lightning": (-0.2, 0.75), "fire": (-0.1, 0.75), "explosion": (-0.4, 0.9), "traffic": (-0.4, 0.65),
    "scared": (-0.7, 0.65), "pain": (-0.8, 0.4), "hurt": (-0.7, 0.2), "cry": (-0.65, 0.1), "crying": (-0.65, 0.2),
}

#: Words that also set the pace: a factor on the tempo the mapping would choose.
TEMPO_WORDS: dict[str, float] = {
    "slow": 0.8, "lazy": 0.85, "sleepy": 0.8, "still": 0.85, "calm": 0.9,
    "fast": 1.25, "quick": 1.2, "rapid": 1.3, "frantic": 1.3, "hectic": 1.25, "chase": 1.25, "race": 1.25,
}

_NEGATORS = {"not", "no", "never", "without", "nor", "hardly"}
_INTENSIFIERS = {"very": 1.4, "really": 1.4, "so": 1.3, "extremely": 1.6, "super": 1.4, "incredibly": 1.5,
                 "deeply": 1.4, "totally": 1.4, "quite": 1.2, "too": 1.3}
_DIMINISHERS = {"slightly": 0.5, "somewhat": 0.6, "bit": 0.5, "little": 0.5, "mildly": 0.5, "fairly": 0.7,
                "rather": 0.8, "kinda": 0.6}
_STOPWORDS = {"a", "an", "the", "of", "in", "on", "at", "by", "and", "or", "with", "to", "is", "it", "its",
              "this", "that", "for", "from", "some", "but", "as", "be", "are", "was", "feel", "feeling", "mood",
              "scene", "music", "like", "kind", "sort"}
_SUFFIXES = (("iest", "y"), ("ier", "y"), ("ily", "y"), ("ly", ""), ("ness", ""), ("est", ""), ("er", ""),
             ("es", ""), ("s", ""), ("ed", ""), ("y", ""))
_SUGGEST = ("calm", "happy", "sad", "tense", "dark", "romantic", "storm", "sea", "chase", "slow", "fast")


def _lookup(word: str) -> str | None:
    if word in LEXICON:
        return word
    for suf, rep in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            stem = word[: -len(suf)] + rep
            if stem in LEXICON:
                return stem
    return None


def mood_to_va(text: str) -> tuple[float, float, dict[str, Any]]:
    """``"a calm morning by the sea"`` → ``(valence, arousal, details)``; details name the words used.

    Raises :class:`MoodError` when no word is recognised.
    """
    tokens = re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())
    matched: list[dict[str, Any]] = []
    unknown: list[str] = []
    tempo_logs: list[float] = []
    negate_left = 0  # words the last negator still reaches
    scale = 1.0
    for tok in tokens:
        if tok in _NEGATORS or tok.endswith("n't"):
            negate_left = 3  # this word and the next two
        elif tok in _INTENSIFIERS or tok in _DIMINISHERS:
            scale *= _INTENSIFIERS.get(tok, 0.0) or _DIMINISHERS[tok]
        else:
            lemma = _lookup(tok)
            if lemma is None:
                if tok not in _STOPWORDS:
                    unknown.append(tok)
            else:
                v, a = LEXICON[lemma]
                negated = negate_left > 0
                if negated:
                    v, a = -0.75 * v, -0.5 * a
                    negate_left = 0  # a negator reaches one mood word
                v, a = max(-1.0, min(1.0, v * scale)), max(-1.0, min(1.0, a * scale))
                if lemma in TEMPO_WORDS:
                    tempo_logs.append(-math.log(TEMPO_WORDS[lemma]) if negated else math.log(TEMPO_WORDS[lemma]))
                matched.append({"word": tok, "as": lemma, "valence": round(v, 3), "arousal": round(a, 3),
                                "negated": negated, "scale": round(scale, 3)})
                scale = 1.0
        negate_left = max(0, negate_left - 1)
    if not matched:
        raise MoodError(f"no mood word recognised in {text.strip()[:60]!r} (try words like {', '.join(_SUGGEST)})")
    valence = sum(m["valence"] for m in matched) / len(matched)
    arousal = sum(m["arousal"] for m in matched) / len(matched)
    details: dict[str, Any] = {"text": text, "words": matched, "unknown": unknown}
    if tempo_logs:  # the geometric mean: "frantic chase" is fast, not faster than either word
        details["tempo_factor"] = round(math.exp(sum(tempo_logs) / len(tempo_logs)), 3)
    return round(valence, 3), round(arousal, 3), details
