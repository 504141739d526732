"""A train/validation/test split of POP909 that is stable per song.

Only part of POP909 is here (others hold the rest), so the split cannot be "shuffle the folder list": a song's
split is a function of its id alone, ``int(sha256(id)) % 100`` → below 80 train, below 90 validation, else test.
Adding or removing songs never moves another song. A song's ``versions/`` live in its folder and follow it.

``python -m framescore.datasets.pop909_split`` writes ``datasets/splits/pop909.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from .paths import DatasetError, dataset_root, repo_root

__all__ = ["RULE", "SPLITS", "main", "pop909_split", "song_ids", "split_of", "split_path"]

SPLITS = ("train", "validation", "test")
RULE = "int(sha256(song_id as UTF-8).hexdigest(), 16) % 100: < 80 train, < 90 validation, else test"


def split_of(song_id: str) -> str:
    """The split of one song id (e.g. ``"001"``), by hash: stable whatever else is in the folder."""
    h = int(hashlib.sha256(song_id.encode("utf-8")).hexdigest(), 16) % 100
    return "train" if h < 80 else "validation" if h < 90 else "test"


def song_ids(root: str | Path) -> list[str]:
    """Sorted ids of the song folders under ``root`` (folders named by digits, with annotations)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"POP909 folder not found: {root}")
    ids = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name.isdigit())
    if not ids:
        raise DatasetError(f"no POP909 song folders (001, 002, ...) in {root}")
    return ids


def pop909_split(root: str | Path | None = None) -> dict[str, list[str]]:
    """``{"train": [...], "validation": [...], "test": [...]}``, sorted ids of the songs present under ``root``."""
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    for sid in song_ids(root if root is not None else dataset_root("pop909")):
        out[split_of(sid)].append(sid)
    return out


def split_path() -> Path:
    return repo_root() / "datasets" / "splits" / "pop909.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m framescore.datasets.pop909_split", description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=None, help="POP909 folder (default: dataset_root('pop909'))")
    ap.add_argument("--out", type=Path, default=None, help=f"JSON to write (default: {split_path()})")
    args = ap.parse_args(argv)
    split = pop909_split(args.root)
    doc = {"dataset": "pop909", "rule": RULE, "counts": {k: len(v) for k, v in split.items()}, **split}
    out = args.out or split_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}: " + ", ".join(f"{k} {len(v)}" for k, v in split.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
