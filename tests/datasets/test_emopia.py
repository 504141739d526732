"""The valence–arousal classifier: features, the shipped checkpoint, hand-set weights, and a training run on a tiny
fake EMOPIA folder written in code."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from framescore.datasets.emopia import FEATURES, QUADRANT_VA, VAClassifier, clip_list, features, main
from framescore.datasets.paths import DatasetError
from framescore.symbolic.midi_io import read_midi, write_midi
from framescore.symbolic.piece import Note, Piece, TempoChange, Track

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "emopia"

# Each quadrant's fake music: (notes a beat, velocity, scale steps: major or minor triad arpeggios, register).
STYLE = {1: (4, 110, (0, 4, 7), 72), 2: (4, 105, (0, 3, 6), 60), 3: (1, 40, (0, 3, 7), 52), 4: (1, 50, (0, 4, 7), 64)}


def clip(quadrant: int, variant: int) -> Piece:
    per_beat, vel, chord, low = STYLE[quadrant]
    step = 480 // per_beat
    notes = [Note(i * step, step, low + variant + chord[i % 3] + 12 * (i // 3 % 2), vel - variant)
             for i in range(16 * per_beat)]
    return Piece(tracks=[Track("piano", notes=notes)], tempos=[TempoChange(0, 120.0)])


def fake_emopia(root: Path, per_split: dict[str, int]) -> Path:
    (root / "midis").mkdir(parents=True)
    (root / "split").mkdir()
    labels = []
    for split, n in per_split.items():
        rows = []
        for q in range(1, 5):
            for v in range(n):
                name = f"Q{q}_{split}song{v}_0"
                write_midi(clip(q, v if split == "train" else v + 1), root / "midis" / f"{name}.mid")
                rows.append(f"{name}.mid")
                labels.append((name, q))
        with (root / "split" / f"{split}_clip.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["", "clip_name"])
            w.writerows(enumerate(rows))
    with (root / "label.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ID", "4Q", "annotator"])
        w.writerows((name, q, "T") for name, q in labels)
    return root


def test_features_shape_and_finite() -> None:
    x = features(clip(1, 0))
    assert x.shape == (len(FEATURES),) and np.all(np.isfinite(x))
    assert features(Piece(tracks=[], end_tick=480)).shape == (len(FEATURES),)


def test_shipped_checkpoint_predicts_probabilities() -> None:
    model = VAClassifier.load()
    p = model.predict_proba(clip(2, 0))
    assert p.shape == (4,) and p.sum() == pytest.approx(1.0) and np.all(p >= 0)
    v, a = model.valence_arousal(clip(2, 0))
    assert -1 <= v <= 1 and -1 <= a <= 1
    assert model.quadrant(clip(2, 0)) in (1, 2, 3, 4)
    # a fast loud clip reads as more aroused than a slow soft one
    assert model.valence_arousal(clip(1, 0))[1] > model.valence_arousal(clip(3, 0))[1]


def test_valence_arousal_is_expected_value_by_hand() -> None:
    n = len(FEATURES)
    probs = np.array([0.4, 0.3, 0.2, 0.1])
    model = VAClassifier(np.zeros(n), np.ones(n), np.zeros((4, n)), np.log(probs))
    piece = clip(4, 0)
    assert model.predict_proba(piece) == pytest.approx(probs)
    v, a = model.valence_arousal(piece)
    assert v == pytest.approx(0.4 - 0.3 - 0.2 + 0.1) and a == pytest.approx(0.4 + 0.3 - 0.2 - 0.1)
    assert model.quadrant(piece) == 1
    assert QUADRANT_VA.tolist() == [[1, 1], [-1, 1], [-1, -1], [1, -1]]


def test_training_on_fake_data_writes_a_working_checkpoint(tmp_path: Path) -> None:
    root = fake_emopia(tmp_path / "emopia", {"train": 4, "val": 1, "test": 1})
    out = tmp_path / "ckpt"
    assert main(["--data", str(root), "--out", str(out), "--l2", "0.1"]) == 0
    assert {p.name for p in out.iterdir()} == {"config.json", "model.safetensors", "card.md"}
    assert "CC BY-NC-SA" in (out / "card.md").read_text()
    model = VAClassifier.load(out)
    clips = clip_list(root, "test")
    pred = [model.quadrant(read_midi(path)) for path, _ in clips]
    assert np.mean([p == q for p, (_, q) in zip(pred, clips)]) >= 0.75  # the styles are easy to tell apart
    assert model.meta["figures"]["train"]["accuracy"] >= 0.75


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    root = fake_emopia(tmp_path / "emopia", {"train": 1})
    with pytest.raises(DatasetError, match="val_clip.csv"):
        clip_list(root, "validation")
    with pytest.raises(DatasetError, match="unknown split"):
        clip_list(root, "dev")
    with pytest.raises(DatasetError, match="missing"):
        VAClassifier.load(tmp_path)


@pytest.mark.skipif(not (REAL / "label.csv").is_file(), reason=f"EMOPIA not found at {REAL}")
def test_real_clip_lists() -> None:
    sizes = {s: len(clip_list(REAL, s)) for s in ("train", "validation", "test")}
    assert sizes == {"train": 876, "validation": 114, "test": 88}
    path, q = clip_list(REAL, "test")[0]
    assert path.name.startswith(f"Q{q}_") and VAClassifier.load().predict_proba(read_midi(path)).sum() == \
        pytest.approx(1.0)
