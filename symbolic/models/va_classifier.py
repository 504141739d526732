"""The VA classifier at run time: valence and arousal of any piece, from whole-piece features.

A multinomial logistic regression on standardised features from :func:`framescore.symbolic.attributes.piece_attributes`,
measured in seconds and velocities, that gives the probabilities of the four valence–arousal quadrants: Q1 (+valence,
+arousal), Q2 (−, +), Q3 (−, −), Q4 (+, −). It judges whether generated music moves the way the plan asked
(``framescore evaluate``) and labels the training corpus. It is trained on EMOPIA's quadrant labels by
:mod:`framescore.datasets.emopia`; the shipped checkpoint is ``checkpoints/va_classifier``.

Use: ``VAClassifier.load().valence_arousal(piece)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..attributes import piece_attributes
from ..checkpoints import CheckpointError, checkpoint_dir
from ..piece import Piece

__all__ = ["FEATURES", "QUADRANT_VA", "VAClassifier", "features", "softmax"]

#: Feature names, in the order of the model's inputs (all from :func:`piece_attributes`).
FEATURES = ("onsets_per_sec", "attacks_per_sec", "pitch_mean", "pitch_std", "pitch_range", "velocity_mean",
            "velocity_std", "note_sec_mean", "legato", "polyphony", "major_corr", "minor_corr", "mode_major",
            "pc_entropy")
#: (valence, arousal) sign of each quadrant Q1..Q4.
QUADRANT_VA = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])


def features(piece: Piece) -> np.ndarray:
    """The model's input: :data:`FEATURES` of a piece, as float64 (log of the rates and lengths)."""
    a = piece_attributes(piece)
    x = np.array([float(a[name]) for name in FEATURES])
    for i, name in enumerate(FEATURES):
        if name in ("onsets_per_sec", "attacks_per_sec", "note_sec_mean"):
            x[i] = np.log(max(x[i], 1e-3))
    return x


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class VAClassifier:
    """Quadrant probabilities, valence and arousal of a piece, from :data:`FEATURES`."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                 feature_names: Sequence[str] = FEATURES, meta: dict[str, Any] | None = None) -> None:
        if tuple(feature_names) != FEATURES:
            raise CheckpointError("VA classifier checkpoint was made for other features; retrain it "
                                  "(python -m framescore.datasets.emopia)")
        self.mean, self.std = np.asarray(mean, float), np.asarray(std, float)
        self.weight, self.bias = np.asarray(weight, float), np.asarray(bias, float)
        self.meta = meta or {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> VAClassifier:
        """Read a checkpoint folder (default: the one shipped in ``checkpoints/va_classifier``)."""
        from safetensors.numpy import load_file

        folder = Path(path) if path is not None else checkpoint_dir("va_classifier")
        try:
            cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            tensors = load_file(str(folder / "model.safetensors"))
        except FileNotFoundError as e:
            raise CheckpointError(f"VA classifier checkpoint incomplete: {e.filename} is missing") from None
        except (OSError, ValueError) as e:
            raise CheckpointError(f"cannot read VA classifier checkpoint in {folder}: {e}") from None
        return cls(cfg["mean"], cfg["std"], tensors["weight"], tensors["bias"], cfg["features"], cfg)

    def save(self, folder: str | Path, meta: dict[str, Any] | None = None) -> None:
        """Write ``config.json`` (features, standardisation, figures) and ``model.safetensors``."""
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        cfg = {"model": "multinomial logistic regression on standardised features",
               "features": list(FEATURES), "classes": ["Q1", "Q2", "Q3", "Q4"],
               "quadrant_valence_arousal": QUADRANT_VA.tolist(),
               "mean": [round(float(v), 8) for v in self.mean], "std": [round(float(v), 8) for v in self.std],
               **(meta or {})}
        (folder / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
        save_file({"weight": self.weight.astype(np.float32), "bias": self.bias.astype(np.float32)},
                  str(folder / "model.safetensors"))
        (folder / "model.safetensors").chmod(0o644)  # safetensors writes 0600; the file ships with the package

    def proba_from_features(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (…, 4) from raw feature rows (…, n_features)."""
        return softmax(((np.asarray(x, float) - self.mean) / self.std) @ self.weight.T + self.bias)

    def predict_proba(self, piece: Piece) -> np.ndarray:
        """P(Q1), P(Q2), P(Q3), P(Q4)."""
        return self.proba_from_features(features(piece))

    def valence_arousal(self, piece: Piece) -> tuple[float, float]:
        """Expected valence and arousal in [-1, 1] under the quadrant probabilities (Q1 = (+1, +1), …)."""
        v, a = self.predict_proba(piece) @ QUADRANT_VA
        return float(v), float(a)

    def quadrant(self, piece: Piece) -> int:
        """The most probable quadrant, 1..4."""
        return int(np.argmax(self.predict_proba(piece))) + 1
