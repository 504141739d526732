"""Train the chord model: count key-relative, bar-level chord statistics over POP909's training songs.

Per song: bars come from ``beat_midi.txt`` (a bar runs from one downbeat, third column 1, to the next); each bar
gets the chord of ``chord_midi.txt`` that sounds longest in it (ties: the earlier one, i.e. the one on the
downbeat), and the key of ``key_audio.txt`` at the bar's middle. The chord is stored relative to that key as a
state ``"degree:family"`` (see :mod:`framescore.symbolic.progression`). A *phrase* is a run of bars with a chord
in one key: ``N`` bars and key changes end it. Counted per mode (major, minor): states, transitions, phrase
openings, phrase endings, the chord before a phrase's closing tonic (the cadence), and 4-bar patterns.

Smoothing (add-alpha towards the add-k unigram) is chosen by 5-fold cross-validation over training songs; the
figures in the card are on the validation split, which plays no part in training or in that choice.

``python -m framescore.datasets.chord_stats [--root DIR] [--out DIR]`` writes ``model.json`` and ``card.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from ..symbolic.chords import ChordError, Key, KeyError_, parse_chord, parse_key
from ..symbolic.progression import STATES, ChordModel, chord_state, default_model_dir, roman
from .paths import DatasetError, dataset_root
from .pop909_split import RULE, pop909_split

__all__ = ["count_phrases", "main", "song_bars", "song_phrases", "train"]

Phrase = tuple[str, list[str]]  # (mode, states one per bar)

ALPHAS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
UNIGRAM_K = 0.5
MIN_LOOP_COUNT = 3
MAX_LOOPS = 300
MIN_PHRASE_BARS = 4  # shorter runs still give transitions, but not openings, endings or cadences


def _rows(path: Path) -> list[list[str]]:
    try:
        return [ln.split() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except FileNotFoundError:
        raise DatasetError(f"missing annotation file: {path}") from None


def _bars(folder: Path) -> list[tuple[float, float]]:
    downbeats = [float(r[0]) for r in _rows(folder / "beat_midi.txt") if len(r) >= 3 and float(r[2]) == 1.0]
    if len(downbeats) < 2:
        return []
    spans = list(zip(downbeats[:-1], downbeats[1:]))
    lengths = sorted(b - a for a, b in spans)
    spans.append((downbeats[-1], downbeats[-1] + lengths[len(lengths) // 2]))
    return spans


def song_bars(folder: Path) -> list[tuple[Key | None, str | None]]:
    """One ``(key, state)`` per bar of a POP909 song folder; ``state`` is None where no chord sounds."""
    chords = []
    for r in _rows(folder / "chord_midi.txt"):
        try:
            chords.append((float(r[0]), float(r[1]), parse_chord(r[2])))
        except (ChordError, IndexError, ValueError):
            chords.append((float(r[0]), float(r[1]), None))  # unreadable: treated as no chord
    keys = []
    for r in _rows(folder / "key_audio.txt"):
        try:
            keys.append((float(r[0]), float(r[1]), parse_key(r[2])))
        except (KeyError_, IndexError, ValueError):
            continue
    out: list[tuple[Key | None, str | None]] = []
    for t0, t1 in _bars(folder):
        mid = 0.5 * (t0 + t1)
        key = min(keys, key=lambda k: 0.0 if k[0] <= mid < k[1] else min(abs(mid - k[0]), abs(mid - k[1])))[2] \
            if keys else None
        best, best_len = None, 0.0
        for c0, c1, chord in chords:
            overlap = min(t1, c1) - max(t0, c0)
            if overlap > best_len + 1e-9:
                best, best_len = chord, overlap
        state = None if best is None or key is None else chord_state(best, key)
        out.append((key, state))
    return out


def song_phrases(folder: Path) -> list[Phrase]:
    """Runs of bars with a chord in one key."""
    phrases: list[Phrase] = []
    cur: list[str] = []
    cur_key: Key | None = None
    for key, state in song_bars(folder) + [(None, None)]:
        if state is None or key != cur_key:
            if cur and cur_key is not None:
                phrases.append((cur_key.mode, cur))
            cur, cur_key = [], key
        if state is not None:
            cur.append(state)
    return phrases


def _cadence(states: list[str]) -> str | None:
    """The chord leading into a phrase's closing tonic (held tonic bars skipped), or None if it does not close."""
    i = len(states) - 1
    if not states[i].startswith("0:"):
        return None
    while i >= 0 and states[i].startswith("0:"):
        i -= 1
    return states[i] if i >= 0 else None


def count_phrases(phrases: list[Phrase]) -> dict[str, Any]:
    """Counts per mode, as plain sorted dicts (the body of ``model.json``)."""
    acc: dict[str, dict[str, Any]] = {
        m: {"unigram": Counter(), "transitions": defaultdict(Counter), "start": Counter(), "end": Counter(),
            "cadence": Counter(), "loops": Counter(), "phrases": 0, "bars": 0}
        for m in ("major", "minor")
    }
    for mode, states in phrases:
        a = acc[mode]
        a["unigram"].update(states)
        a["bars"] += len(states)
        for x, y in zip(states, states[1:]):
            a["transitions"][x][y] += 1
        for i in range(len(states) - 3):
            a["loops"][" ".join(states[i:i + 4])] += 1
        if len(states) >= MIN_PHRASE_BARS:
            a["phrases"] += 1
            a["start"][states[0]] += 1
            a["end"][states[-1]] += 1
            c = _cadence(states)
            if c is not None:
                a["cadence"][c] += 1
    out: dict[str, Any] = {}
    for mode, a in acc.items():
        loops = [(p, c) for p, c in a["loops"].items() if c >= MIN_LOOP_COUNT and len(set(p.split())) > 1]
        loops = sorted(loops, key=lambda pc: (-pc[1], pc[0]))[:MAX_LOOPS]
        out[mode] = {
            "bars": a["bars"], "phrases": a["phrases"],
            "unigram": dict(sorted(a["unigram"].items())),
            "transitions": {x: dict(sorted(r.items())) for x, r in sorted(a["transitions"].items())},
            "start": dict(sorted(a["start"].items())), "end": dict(sorted(a["end"].items())),
            "cadence": dict(sorted(a["cadence"].items())), "loops": dict(sorted(loops)),
        }
    return out


def _doc(counts: dict[str, Any], alpha: float) -> dict[str, Any]:
    return {"format": "framescore.chord_model", "version": 1, "states": "degree:family (see symbolic/progression.py)",
            "smoothing": {"alpha": alpha, "k": UNIGRAM_K}, "modes": counts}


def evaluate(model: ChordModel, phrases: list[Phrase]) -> dict[str, float]:
    """Mean per-bar negative log-likelihood (nats) of each next chord: the model, the unigram, uniform."""
    nll = uni = 0.0
    n = 0
    for mode, states in phrases:
        for x, y in zip(states, states[1:]):
            nll -= model.log_prob(mode, x, y)
            uni -= model.unigram_log_prob(mode, y)
            n += 1
    if n == 0:
        return {"transitions": 0}
    return {"transitions": n, "nll": nll / n, "perplexity": math.exp(nll / n), "unigram_nll": uni / n,
            "unigram_perplexity": math.exp(uni / n), "uniform_perplexity": float(len(STATES))}


def _fold(song_id: str) -> int:
    return int(hashlib.sha256(f"fold:{song_id}".encode()).hexdigest(), 16) % 5


def _choose_alpha(train: dict[str, list[Phrase]]) -> tuple[float, dict[str, float]]:
    """5-fold cross-validation over training songs: the alpha with the lowest held-out NLL."""
    scores: dict[str, float] = {}
    for alpha in ALPHAS:
        total = count = 0.0
        for f in range(5):
            fit = [p for sid, ps in train.items() if _fold(sid) != f for p in ps]
            held = [p for sid, ps in train.items() if _fold(sid) == f for p in ps]
            r = evaluate(ChordModel(_doc(count_phrases(fit), alpha)), held)
            if not r["transitions"]:
                continue
            total += r["nll"] * r["transitions"]
            count += r["transitions"]
        scores[str(alpha)] = round(total / count, 4) if count else 0.0
    best = min(ALPHAS, key=lambda a: scores[str(a)])
    return best, scores


def _top_patterns(counts: dict[str, Any], mode: str, n: int = 8) -> list[tuple[str, int]]:
    loops = counts[mode]["loops"]
    top = sorted(loops.items(), key=lambda pc: (-pc[1], pc[0]))[:n]
    return [(" ".join(roman(s) for s in p.split()), c) for p, c in top]


def _top(d: dict[str, int], n: int = 6) -> str:
    total = sum(d.values()) or 1
    top = sorted(d.items(), key=lambda sc: (-sc[1], sc[0]))[:n]
    return ", ".join(f"{roman(s)} {100 * c / total:.0f}%" for s, c in top)


def _card(counts: dict[str, Any], split: dict[str, list[str]], alpha: float, cv: dict[str, float],
          val: dict[str, float], test_note: str, seconds: float, size: int) -> str:
    lines = [
        "# chord_model: key-relative chord Markov model from POP909",
        "",
        "What: one chord per bar, written relative to the key as `degree:family` (root in semitones above the",
        "tonic; family one of maj, min, 7, maj7, min7, dim, aug, sus2, sus4). Per mode (major/minor): bar-to-bar",
        "transition counts, phrase openings and endings, the chord leading into a closing tonic (cadence), and",
        "4-bar patterns. Used by `framescore.symbolic.progression.ChordModel` to sample a 4-bar loop per",
        "section, repeated, closing on a cadence.",
        "",
        "## Data",
        "",
        "POP909 (Wang et al., ISMIR 2020; MIT licence), the songs present under `../shared/datasets/pop909`:",
        f"{sum(len(v) for v in split.values())} songs. Annotations used: `beat_midi.txt` (downbeats → bars),",
        "`chord_midi.txt` (the chord sounding longest in each bar), `key_audio.txt` (the key at the bar's middle).",
        "Phrases are runs of bars with a chord in one key (an `N` bar or a key change ends one); openings, endings",
        f"and cadences are counted for phrases of at least {MIN_PHRASE_BARS} bars.",
        "",
        f"Split (`datasets/splits/pop909.json`, by song id, stable when songs are added): {RULE}.",
        f"Train {len(split['train'])} songs, validation {len(split['validation'])}, test {len(split['test'])}.",
        "Only the training songs are counted.",
        "",
        "## Training",
        "",
        "```",
        "python -m framescore.datasets.chord_stats      # or: framescore train chords",
        "```",
        "",
        f"Counting takes {seconds:.0f} s on one CPU core (including the smoothing search); `model.json` is"
        f" {size / 1024:.0f} KiB.",
        f"Smoothing: P(next|prev) = (c(prev,next) + alpha * U(next)) / (c(prev) + alpha), U the add-{UNIGRAM_K:g}",
        f"unigram. alpha = {alpha:g}, chosen by 5-fold cross-validation over training songs",
        f"(held-out NLL in nats by alpha: {', '.join(f'{a}: {s}' for a, s in cv.items())}).",
        "",
        "Training counts:",
    ]
    for mode in ("major", "minor"):
        c = counts[mode]
        lines.append(f"- {mode}: {c['bars']} bars, {c['phrases']} phrases of >= {MIN_PHRASE_BARS} bars,"
                     f" {sum(len(r) for r in c['transitions'].values())} distinct transitions")
    lines += [
        "",
        "## Validation figures",
        "",
        f"Per-bar next-chord prediction on the {len(split['validation'])} validation songs"
        f" ({val['transitions']} transitions, both modes):",
        "",
        "| model | NLL (nats/bar) | perplexity |",
        "|---|---|---|",
        f"| uniform over {len(STATES)} states | {math.log(len(STATES)):.3f} | {len(STATES)} |",
        f"| unigram (add-{UNIGRAM_K:g}) | {val.get('unigram_nll', math.nan):.3f} |"
        f" {val.get('unigram_perplexity', math.nan):.2f} |",
        f"| bigram Markov (this model) | {val.get('nll', math.nan):.3f} | {val.get('perplexity', math.nan):.2f} |",
        "",
        "The gain over the unigram is modest: in pop most diatonic chords can follow most others (a chord is held",
        "into the next bar only ~12% of the time), so one bar of context narrows the choice by about a tenth. The",
        "model's use is the shape it gives (V→I, IV→V, vi→IV, loops that close), not sharp prediction.",
        test_note,
        "",
        "## What the corpus does (training songs)",
        "",
    ]
    for mode in ("major", "minor"):
        c = counts[mode]
        lines += [
            f"{mode.capitalize()} keys.",
            f"- Phrase openings: {_top(c['start'])}",
            f"- Phrase endings: {_top(c['end'])}",
            f"- Into a closing tonic (cadence): {_top(c['cadence'])}",
            "- Most frequent 4-bar patterns (at least two chords): "
            + "; ".join(f"{p} ({n})" for p, n in _top_patterns(counts, mode)),
            "",
        ]
    lines += [
        "## Limits",
        "",
        "- One chord per bar: a bar with two chords keeps the longer (or the first); the model never splits bars.",
        "- POP909 is Chinese pop, mostly 4/4, annotated by algorithms checked by hand; keys come from audio.",
        "- Inversions (slash chords) are dropped; families stand for their qualities",
        "  (maj6 → maj, 9 → 7, hdim7 → dim).",
        "",
    ]
    return "\n".join(lines)


def train(root: str | Path | None = None, out_dir: str | Path | None = None, test: bool = False) -> dict[str, Any]:
    """Count the training songs, choose the smoothing, evaluate on validation; write model.json and card.md.

    ``root`` is the POP909 folder (or the datasets folder that holds ``pop909/``); ``out_dir`` the checkpoint
    folder (default: the shipped ``checkpoints/chord_model``). ``test=True`` also reports the test split
    (leave it off while developing). Returns the figures.
    """
    t0 = time.time()
    root = Path(root) if root is not None else dataset_root("pop909")
    if (root / "pop909").is_dir() and not any(p.name.isdigit() for p in root.iterdir()):
        root = root / "pop909"  # the datasets folder was given (``framescore train chords --data``)
    out = Path(out_dir) if out_dir is not None else default_model_dir()
    split = pop909_split(root)
    phrases = {name: {sid: song_phrases(root / sid) for sid in ids} for name, ids in split.items()}
    train_phrases = [p for ps in phrases["train"].values() for p in ps]
    alpha, cv = _choose_alpha(phrases["train"])
    counts = count_phrases(train_phrases)
    doc = _doc(counts, alpha)
    model = ChordModel(doc)
    val = evaluate(model, [p for ps in phrases["validation"].values() for p in ps])
    figures: dict[str, Any] = {"alpha": alpha, "cv_nll": cv, "validation": {k: round(v, 4) for k, v in val.items()}}
    test_note = "The test split is not evaluated here (run with `--test` once, at the end)."
    if test:
        tst = evaluate(model, [p for ps in phrases["test"].values() for p in ps])
        figures["test"] = {k: round(v, 4) for k, v in tst.items()}
        test_note = (f"Test split ({tst['transitions']} transitions): perplexity {tst.get('perplexity', math.nan):.2f}"
                     f" vs unigram {tst.get('unigram_perplexity', math.nan):.2f}.")
    doc["training"] = {"dataset": "pop909", "split_rule": RULE, "train_songs": len(split["train"]),
                       "validation": figures["validation"], **({"test": figures["test"]} if test else {})}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.json").write_text(text, encoding="utf-8")
    seconds = time.time() - t0
    (out / "card.md").write_text(_card(counts, split, alpha, cv, val, test_note, seconds, len(text.encode())),
                                 encoding="utf-8")
    figures["seconds"] = round(seconds, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m framescore.datasets.chord_stats", description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=None, help="POP909 folder (default: dataset_root('pop909'))")
    ap.add_argument("--out", type=Path, default=None, help=f"checkpoint folder (default: {default_model_dir()})")
    ap.add_argument("--test", action="store_true", help="also report the test split")
    args = ap.parse_args(argv)
    figures = train(args.root, args.out, test=args.test)
    v = figures["validation"]
    print(f"alpha {figures['alpha']:g}; validation perplexity {v.get('perplexity', math.nan):.2f} (unigram"
          f" {v.get('unigram_perplexity', math.nan):.2f}) over {v['transitions']} transitions; {figures['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
