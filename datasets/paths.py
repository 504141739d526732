"""Where the training data lives: ``$FRAMESCORE_DATA`` or ``../shared/datasets`` next to the repository.

One helper, so every trainer finds the data the same way and says the same thing when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import FramescoreError

__all__ = ["DatasetError", "dataset_root", "repo_root"]


class DatasetError(FramescoreError):
    """A dataset folder or file that is missing or not what it should be."""


def repo_root() -> Path:
    """The repository root (it is the ``framescore`` package itself)."""
    return Path(__file__).resolve().parents[1]


def dataset_root(name: str) -> Path:
    """Folder of dataset ``name`` (e.g. ``"pop909"``); raises :class:`DatasetError` when it is not there."""
    base = os.environ.get("FRAMESCORE_DATA")
    root = Path(base) if base else repo_root().parent / "shared" / "datasets"
    path = root / name
    if not path.is_dir():
        hint = "set FRAMESCORE_DATA to the folder that holds it" if not base else "check FRAMESCORE_DATA"
        raise DatasetError(f"dataset {name!r} not found at {path} ({hint})")
    return path
