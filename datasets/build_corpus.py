"""Tokenize every POP909 song of every split once, into a cache the transformer trains from.

``python -m framescore.datasets.build_corpus [--root DIR] [--out .cache/corpus]`` writes, per split,
``<split>.npy`` (all songs' ids end to end, uint16) and ``<split>_offsets.npy`` (where each song starts, int64,
one more entry than songs), plus ``tokenizer.json`` and ``meta.json`` (song ids, token counts, skipped songs).
Songs are read in sorted order and nothing depends on time or randomness, so a rebuild gives the same bytes.

Valence and arousal come from the EMOPIA classifier (``symbolic/models/va_classifier.py``) when it is trained,
else from the plans (0: POP909 has no emotion labels); ``meta.json`` says which (``va_source``). The classifier's raw outputs
are *standardised within POP909*: each is replaced by its quantile among the training split's songs, mapped to
[-1, 1]. Why: trained on EMOPIA's solo-piano clips, the classifier calls most POP909 songs high-arousal (raw
arousal saturates), so raw values would put nearly every song in one bin and teach the model nothing; quantiles
spread the songs evenly over the five bins, so a bin means "calmer / sadder than most pop songs" and a plan's
valence–arousal asks for a relative mood. The first split built (train, by default) fixes the scale: its sorted
raw values are kept in ``meta.json`` (``va_quantiles``) and applied unchanged to the other splits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from ..errors import FramescoreError
from .paths import DatasetError, repo_root

__all__ = ["build_corpus", "default_corpus_dir", "load_corpus", "main", "to_quantile"]

log = logging.getLogger(__name__)


def default_corpus_dir() -> Path:
    return repo_root() / ".cache" / "corpus"


def _va_labeller():
    """The EMOPIA valence/arousal classifier when it is available, else None (plans keep their own values)."""
    try:
        from ..symbolic.models.va_classifier import VAClassifier

        return VAClassifier.load()
    except Exception as e:  # not written yet, or no trained classifier: say so in meta.json
        log.info("valence/arousal from the plans (classifier unavailable: %s)", e)
        return None


def to_quantile(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each value's quantile among ``reference`` (sorted), mapped linearly to [-1, 1]; ties and values outside
    the reference clamp to the ends. Piecewise linear between reference points, so it is monotone and exact."""
    ref = np.asarray(reference, dtype=float)
    if len(ref) < 2:
        return np.zeros(len(values))
    return np.interp(np.asarray(values, dtype=float), ref, np.linspace(-1.0, 1.0, len(ref)))


def build_corpus(root: str | Path | None = None, out: str | Path | None = None, splits=("train", "validation", "test"),
                 limit: int | None = None, quiet: bool = False) -> dict:
    """Tokenize the splits into ``out`` (default ``.cache/corpus``); returns the meta dict also written there.

    ``limit`` keeps the first songs of each split (for quick trials).
    """
    from .paths import dataset_root
    from .pop909 import read_song
    from .pop909_split import pop909_split
    from ..symbolic.remi import PlanTokenizer

    root = Path(root) if root is not None else dataset_root("pop909")
    out = Path(out) if out is not None else default_corpus_dir()
    out.mkdir(parents=True, exist_ok=True)
    tok = PlanTokenizer()
    tok.save(out / "tokenizer.json")
    labeller = _va_labeller()
    ids_by_split = pop909_split(root)
    meta: dict = {"dataset": "pop909", "tokenizer_sha256": hashlib.sha256(
        (out / "tokenizer.json").read_bytes()).hexdigest(), "vocab_size": len(tok),
        "va_source": ("emopia classifier, quantiles over the train split" if labeller
                      else "plan fields (0 for POP909: no classifier)"),
        "splits": {}}
    t0 = time.time()
    quantiles: tuple[np.ndarray, np.ndarray] | None = None
    for split in splits:
        examples, kept, skipped = [], [], {}
        song_ids = ids_by_split[split][:limit] if limit else ids_by_split[split]
        for i, sid in enumerate(song_ids):
            try:
                examples.append(read_song(root / sid))
                kept.append(sid)
            except FramescoreError as e:  # a song that does not read
                skipped[sid] = str(e).replace(str(root), "POP909")  # no machine paths: same bytes anywhere
            if not quiet and (i + 1) % 50 == 0:
                print(f"  {split}: {i + 1}/{len(song_ids)} songs read, {time.time() - t0:.0f} s", file=sys.stderr)
        if labeller is not None and examples:
            raw = np.array([labeller.valence_arousal(ex.piece) for ex in examples], dtype=float)
            if quantiles is None:  # the first split (train, by default) fixes the scale for all
                quantiles = (np.sort(raw[:, 0]), np.sort(raw[:, 1]))
                meta["va_quantiles"] = {"split": split, "valence": [round(float(v), 6) for v in quantiles[0]],
                                        "arousal": [round(float(v), 6) for v in quantiles[1]]}
            val, aro = to_quantile(raw[:, 0], quantiles[0]), to_quantile(raw[:, 1], quantiles[1])
            for ex, v, a in zip(examples, val, aro):
                ex.plan.valence, ex.plan.arousal = float(v), float(a)
        seqs, ok = [], []
        for sid, ex in zip(kept, examples):
            try:
                seqs.append(tok.encode(ex.piece, ex.plan))
                ok.append(sid)
            except FramescoreError as e:  # a meter the vocabulary lacks
                skipped[sid] = str(e).replace(str(root), "POP909")
        kept = ok
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(s) for s in seqs])
        tokens = np.concatenate(seqs) if seqs else np.zeros(0, dtype=np.uint16)
        np.save(out / f"{split}.npy", tokens.astype(np.uint16))
        np.save(out / f"{split}_offsets.npy", offsets)
        meta["splits"][split] = {"songs": len(kept), "tokens": int(len(tokens)), "song_ids": kept, "skipped": skipped}
        if not quiet:
            print(f"{split}: {len(kept)} songs, {len(tokens):,} tokens, {len(skipped)} skipped", file=sys.stderr)
    (out / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return meta


def load_corpus(directory: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(tokens, offsets)`` of one split of a built corpus; raises :class:`DatasetError` when it is missing."""
    d = Path(directory)
    try:
        return np.load(d / f"{split}.npy"), np.load(d / f"{split}_offsets.npy")
    except FileNotFoundError:
        raise DatasetError(f"no {split} corpus in {d} (build it: python -m framescore.datasets.build_corpus)") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m framescore.datasets.build_corpus", description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, help="POP909 folder (default: $FRAMESCORE_DATA/pop909 or ../shared/datasets)")
    ap.add_argument("--out", type=Path, help=f"cache folder (default: {default_corpus_dir()})")
    ap.add_argument("--limit", type=int, help="only the first N songs of each split")
    args = ap.parse_args(argv)
    try:
        meta = build_corpus(args.root, args.out, limit=args.limit)
    except DatasetError as e:
        print(f"build_corpus: error: {e}", file=sys.stderr)
        return 1
    total = sum(s["tokens"] for s in meta["splits"].values())
    print(f"corpus: {total:,} tokens in {args.out or default_corpus_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
