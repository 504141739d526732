"""Where trained models are found: one lookup for every model the product loads.

A model ``name`` lives in the package's ``checkpoints/<name>`` folder (``transformer``, ``diffusion``,
``chord_model``, ``va_classifier``, and the small ``*-debug`` ones the tests use). The environment variable
``FRAMESCORE_<NAME>_CHECKPOINT`` (the name in capitals, ``-`` as ``_``: ``FRAMESCORE_TRANSFORMER_CHECKPOINT``,
``FRAMESCORE_DIFFUSION_CHECKPOINT``, ``FRAMESCORE_CHORD_MODEL_CHECKPOINT``, ...) names another folder instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import FramescoreError

__all__ = ["CHECKPOINTS", "CheckpointError", "checkpoint_dir", "env_var"]

#: The package's own checkpoint folder (the repository root is the package).
CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


class CheckpointError(FramescoreError):
    """A checkpoint folder that is missing, incomplete, or not the model it should be."""


def env_var(name: str) -> str:
    """The environment variable that overrides model ``name``'s folder: ``FRAMESCORE_<NAME>_CHECKPOINT``."""
    return f"FRAMESCORE_{name.upper().replace('-', '_')}_CHECKPOINT"


def checkpoint_dir(name: str) -> Path:
    """The folder of model ``name``: ``$FRAMESCORE_<NAME>_CHECKPOINT`` when set, else ``checkpoints/<name>``."""
    env = os.environ.get(env_var(name))
    return Path(env) if env else CHECKPOINTS / name
