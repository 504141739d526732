"""The diffusion engine's training data: POP909 songs as piano-roll windows, cached once.

The roll layout (grid, pitch range, channels, the transposition to C major / A minor) is the runtime's,
:mod:`framescore.symbolic.roll`; this module lays every song of a split on it. Only 4/4 songs are cached (POP909
reads as 4/4, or 3/4 for 27 songs: those are skipped and counted). Windows never cross a bar that :mod:`.pop909`
padded with rests.

``python -m framescore.datasets.rolls`` writes ``.cache/rolls/pop909-{split}.npz`` (rolls bit-packed over the
pitch axis) and ``meta.json`` with counts and a content hash; same data, same arrays.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..symbolic.roll import (COND_CHANNELS, ROLL_CHANNELS, RollSpec, condition, key_shift, piece_to_roll,
                             plan_chords, plan_density)
from .paths import DatasetError, repo_root

__all__ = ["CACHE_VERSION", "RollCache", "build_cache", "default_cache_dir", "load_cache", "main"]

log = logging.getLogger(__name__)

CACHE_VERSION = 1


def default_cache_dir() -> Path:
    return repo_root() / ".cache" / "rolls"


@dataclass
class RollCache:
    """One split's songs laid end to end: rolls (bit-packed), chords, density, and the valid window starts."""

    spec: RollSpec
    rolls: np.ndarray  # (T_all, 4, n_pitches // 8) uint8, np.packbits over pitch
    mask: np.ndarray  # (T_all,) uint16 chord pitch classes
    root: np.ndarray  # (T_all,) int8
    density: np.ndarray  # (T_all,) float32
    windows: np.ndarray  # (n_windows,) int64: global step where a valid window starts
    song_ids: np.ndarray  # (n_songs,) str
    song_offsets: np.ndarray  # (n_songs + 1,) int64

    @property
    def window_steps(self) -> int:
        return self.spec.window_bars * self.spec.steps_per_bar((4, 4))

    def __len__(self) -> int:
        return len(self.windows)

    def batch(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windows ``index`` (into :attr:`windows`) as rolls ``(B, 4, T, P)`` in {0, 1} and conditions
        ``(B, 3, T, P)``, both float32."""
        steps = self.windows[np.asarray(index)][:, None] + np.arange(self.window_steps)
        rolls = np.unpackbits(self.rolls[steps], axis=-1, count=self.spec.n_pitches)  # (B, T, 4, P)
        cond = condition(self.mask[steps], self.root[steps], self.density[steps], self.spec)
        return rolls.transpose(0, 2, 1, 3).astype(np.float32), cond


def _song_arrays(example, spec: RollSpec, window_bars: int):
    """Arrays of one song, and its valid window starts (in steps from the song's start)."""
    plan, piece = example.plan, example.piece
    spb = spec.steps_per_bar(plan.meter_tuple)
    n_steps = plan.n_bars * spb
    shift = key_shift(plan.key_obj)
    roll = piece_to_roll(piece, n_steps, spec, shift)
    mask, root = plan_chords(plan, n_steps, spec, shift)
    dens = plan_density(plan, n_steps, spec)
    bar_has_notes = roll[:, :, :].reshape(4, plan.n_bars, spb, -1).any(axis=(0, 2, 3))
    starts = [b * spb for first, n in example.regular_spans for b in range(first, first + n - window_bars + 1)
              if bar_has_notes[b:b + window_bars].any()]
    packed = np.packbits(roll.transpose(1, 0, 2), axis=-1)  # (T, 4, P/8)
    return packed, mask, root, dens, np.array(starts, dtype=np.int64)


def build_cache(root: str | Path | None = None, out_dir: str | Path | None = None, spec: RollSpec = RollSpec(),
                splits: Sequence[str] = ("train", "validation", "test")) -> dict:
    """Read POP909 and write one ``pop909-{split}.npz`` per split plus ``meta.json``; returns the meta dict."""
    from .pop909 import iter_songs

    out = Path(out_dir) if out_dir is not None else default_cache_dir()
    out.mkdir(parents=True, exist_ok=True)
    meta: dict = {"version": CACHE_VERSION, "spec": spec.to_dict(), "channels": list(ROLL_CHANNELS),
                  "condition": list(COND_CHANNELS), "key": "transposed to C major / A minor", "splits": {}}
    for split in splits:
        t0 = time.time()
        stats: dict[str, int] = {}
        arrays: list[tuple] = []
        ids, skipped_meter = [], 0
        for ex in iter_songs(root, split, stats=stats):
            if ex.plan.meter_tuple != (4, 4):
                skipped_meter += 1
                continue
            arrays.append(_song_arrays(ex, spec, spec.window_bars))
            ids.append(ex.song_id)
        if not arrays:
            raise DatasetError(f"POP909 {split}: no 4/4 song could be read")
        lengths = np.array([len(a[0]) for a in arrays], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        data = {
            "rolls": np.concatenate([a[0] for a in arrays]),
            "mask": np.concatenate([a[1] for a in arrays]),
            "root": np.concatenate([a[2] for a in arrays]),
            "density": np.concatenate([a[3] for a in arrays]),
            "windows": np.concatenate([a[4] + o for a, o in zip(arrays, offsets)]),
            "song_ids": np.array(ids),
            "song_offsets": offsets,
        }
        path = out / f"pop909-{split}.npz"
        np.savez_compressed(path, **data)
        digest = hashlib.sha256(b"".join(np.ascontiguousarray(v).tobytes() for v in data.values())).hexdigest()
        meta["splits"][split] = {"songs": len(ids), "skipped_unreadable": stats.get("skipped", 0),
                                 "skipped_not_4_4": skipped_meter,
                                 "bars": int(offsets[-1]) // spec.steps_per_bar((4, 4)),
                                 "windows": int(len(data["windows"])), "sha256": digest,
                                 "seconds": round(time.time() - t0, 1)}
        log.info("rolls %s: %s", split, meta["splits"][split])
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta


def load_cache(split: str, cache_dir: str | Path | None = None, spec: RollSpec = RollSpec()) -> RollCache:
    """The cached split; raises :class:`DatasetError` (saying how to build it) when missing or of another layout."""
    d = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path, meta_path = d / f"pop909-{split}.npz", d / "meta.json"
    if not path.is_file() or not meta_path.is_file():
        raise DatasetError(f"roll cache {path} missing: run python -m framescore.datasets.rolls")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("version") != CACHE_VERSION or meta.get("spec") != spec.to_dict():
        raise DatasetError(f"roll cache {d} was built with another layout: rebuild it "
                           "(python -m framescore.datasets.rolls)")
    with np.load(path) as z:
        return RollCache(spec, z["rolls"], z["mask"], z["root"], z["density"], z["windows"], z["song_ids"],
                         z["song_offsets"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m framescore.datasets.rolls", description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, help="POP909 folder (default: dataset_root('pop909'))")
    ap.add_argument("--out", type=Path, help=f"cache folder (default: {default_cache_dir()})")
    ap.add_argument("--splits", default="train,validation,test")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    meta = build_cache(args.root, args.out, splits=args.splits.split(","))
    print(json.dumps(meta["splits"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
