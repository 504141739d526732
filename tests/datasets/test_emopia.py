"""Training the valence–arousal classifier: a run on a tiny fake EMOPIA folder written in code, and bad inputs.
(The classifier at run time: tests/symbolic/test_va_classifier.py.)"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from framescore.datasets.emopia import clip_list, main
from framescore.datasets.paths import DatasetError
from framescore.symbolic.midi_io import read_midi, write_midi
from framescore.symbolic.models.va_classifier import VAClassifier
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


@pytest.mark.skipif(not (REAL / "label.csv").is_file(), reason=f"EMOPIA not found at {REAL}")
def test_real_clip_lists() -> None:
    sizes = {s: len(clip_list(REAL, s)) for s in ("train", "validation", "test")}
    assert sizes == {"train": 876, "validation": 114, "test": 88}
    path, q = clip_list(REAL, "test")[0]
    assert path.name.startswith(f"Q{q}_") and VAClassifier.load().predict_proba(read_midi(path)).sum() == \
        pytest.approx(1.0)
