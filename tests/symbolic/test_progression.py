"""The POP909 split, the chord statistics that train the chord model, and sampling from the shipped model."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from framescore.datasets.chord_stats import count_phrases, song_bars, song_phrases, train
from framescore.datasets.paths import DatasetError, dataset_root
from framescore.datasets.pop909_split import pop909_split, split_of, split_path
from framescore.errors import FramescoreError
from framescore.symbolic.chords import parse_chord, parse_key
from framescore.symbolic.progression import (
    APPROACH_DEGREES,
    ChordModel,
    ModelError,
    chord_state,
    default_model_dir,
    roman,
)

# ----- split -----------------------------------------------------------------------------------------------------


def _song_dirs(root: Path, ids: list[str]) -> Path:
    for sid in ids:
        (root / sid / "versions").mkdir(parents=True)
    return root


def test_split_is_stable_disjoint_and_complete(tmp_path):
    ids = [f"{i:03d}" for i in range(1, 201)]
    full = pop909_split(_song_dirs(tmp_path / "a", ids))
    part = pop909_split(_song_dirs(tmp_path / "b", ids[::3]))  # a subset, as when songs are held out elsewhere
    assert sorted(sum(full.values(), [])) == ids  # every song once
    assert all(set(full[a]).isdisjoint(full[b]) for a in full for b in full if a != b)
    for name, members in part.items():
        assert set(members) <= set(full[name]), "a song must keep its split whatever else is present"
    assert all(v == sorted(v) for v in full.values())


def test_split_proportions_follow_the_rule():
    counts = Counter(split_of(f"{i:04d}") for i in range(5000))
    assert 0.77 < counts["train"] / 5000 < 0.83
    assert 0.08 < counts["validation"] / 5000 < 0.12


def test_shipped_split_file_matches_the_rule():
    doc = json.loads(split_path().read_text())
    assert "sha256" in doc["rule"]
    for name in ("train", "validation", "test"):
        assert doc[name] == sorted(doc[name]) and all(split_of(s) == name for s in doc[name])


def test_dataset_root_names_the_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMESCORE_DATA", str(tmp_path))
    with pytest.raises(DatasetError, match="nope"):
        dataset_root("nope")
    (tmp_path / "pop909").mkdir()
    assert dataset_root("pop909") == tmp_path / "pop909"


# ----- counting a song ---------------------------------------------------------------------------------------------


def _write_song(folder: Path, chords: list[tuple[float, float, str]], key: str = "G:maj", bars: int = 8) -> Path:
    """A song of 2-s bars (four 0.5-s beats), its chords and one key."""
    folder.mkdir(parents=True)
    beats = [f"{0.5 * i} 1.0 {1.0 if i % 4 == 0 else 0.0}" for i in range(4 * bars)]
    (folder / "beat_midi.txt").write_text("\n".join(beats) + "\n")
    (folder / "chord_midi.txt").write_text("".join(f"{a}\t{b}\t{c}\n" for a, b, c in chords))
    (folder / "key_audio.txt").write_text(f"0.0\t{2.0 * bars}\t{key}\n")
    return folder


def test_song_bars_take_the_longest_chord_relative_to_the_key(tmp_path):
    song = _write_song(tmp_path / "001", [
        (0.0, 2.0, "G:maj"), (2.0, 2.5, "C:maj"), (2.5, 4.0, "D:7"),  # bar 2: D sounds longer than C
        (4.0, 6.0, "E:min7/b7"), (6.0, 8.0, "N"), (8.0, 10.0, "C:maj6"), (10.0, 12.0, "D:sus4(b7)"),
        (12.0, 16.0, "G:maj"),
    ])
    states = [s for _, s in song_bars(song)]
    assert states == ["0:maj", "7:7", "9:min7", None, "5:maj", "7:sus4", "0:maj", "0:maj"]
    phrases = song_phrases(song)
    assert phrases == [("major", ["0:maj", "7:7", "9:min7"]), ("major", ["5:maj", "7:sus4", "0:maj", "0:maj"])]
    counts = count_phrases(phrases)["major"]
    assert counts["transitions"]["7:7"] == {"9:min7": 1}
    assert counts["cadence"] == {"7:sus4": 1}  # held tonic bars skipped back to the approach chord
    assert counts["end"] == {"0:maj": 1} and counts["start"] == {"5:maj": 1}  # only phrases of >= 4 bars


def test_train_writes_a_loadable_model_and_card(tmp_path):
    root = tmp_path / "pop909"
    prog = ["C:maj", "G:maj", "A:min", "F:maj"] * 3 + ["G:maj", "C:maj"]
    for i in range(1, 31):
        _write_song(root / f"{i:03d}", [(2.0 * b, 2.0 * b + 2.0, c) for b, c in enumerate(prog)], "C:maj", len(prog))
    figures = train(root, tmp_path / "ckpt")
    model = ChordModel.load(tmp_path / "ckpt")
    assert model.log_prob("major", "0:maj", "7:maj") > model.log_prob("major", "0:maj", "2:min")
    assert "validation" in figures and (tmp_path / "ckpt" / "card.md").read_text().startswith("# chord_model")


# ----- the shipped model ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> ChordModel:
    return ChordModel.load()


def test_load_errors_are_framescore_errors(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        ChordModel.load(tmp_path)
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(FramescoreError, match="malformed"):
        ChordModel.load(tmp_path)


def test_shipped_model_knows_pop(model):
    assert model.log_prob("major", "7:maj", "0:maj") > model.log_prob("major", "7:maj", "6:dim")
    assert "perplexity" in (default_model_dir() / "card.md").read_text()


@pytest.mark.parametrize("key_name", ["C major", "A minor", "Eb major", "F# minor"])
def test_progressions_stay_in_key_and_close_on_the_tonic(model, key_name):
    key = parse_key(key_name)
    in_key = total = 0
    for seed in range(20):
        chords = model.sample_progression(key, 12, np.random.default_rng(seed))
        assert len(chords) == 12
        assert chords[-1].root == key.tonic and chords[-1].is_minor == (key.mode == "minor")
        assert (chords[-2].root - key.tonic) % 12 in APPROACH_DEGREES
        in_key += sum(c.root in key.scale for c in chords)
        total += len(chords)
    assert in_key / total > 0.8


def test_sampling_is_deterministic_per_seed(model):
    key = parse_key("D major")
    a = model.sample_progression(key, 16, np.random.default_rng(7))
    assert a == model.sample_progression(key, 16, np.random.default_rng(7))
    others = {tuple(model.sample_progression(key, 16, np.random.default_rng(s))) for s in range(8)}
    assert len(others) > 1


def test_a_section_repeats_its_loop(model):
    chords = model.sample_progression(parse_key("C major"), 16, np.random.default_rng(3), end_with_cadence=False)
    assert all(chords[i] == chords[i + 4] for i in range(12))
    closed = model.sample_progression(parse_key("C major"), 16, np.random.default_rng(3))
    assert closed[:14] == chords[:14]  # only the last bars turn towards the cadence


def test_short_progressions_and_start(model):
    key = parse_key("G major")
    rng = np.random.default_rng(0)
    assert [c.symbol() for c in model.sample_progression(key, 1, rng)] == ["G:maj"]
    two = model.sample_progression(key, 2, rng)
    assert two[-1].root == key.tonic and len(two) == 2
    start = parse_chord("Em")
    assert model.sample_progression(key, 8, rng, start=start, end_with_cadence=False)[0] == start
    with pytest.raises(ModelError):
        model.sample_progression(key, 0, rng)


def test_negative_valence_favours_minor_chords(model):
    key = parse_key("C major")

    def minor_share(valence: float) -> float:
        chords = [c for s in range(30) for c in
                  model.sample_progression(key, 8, np.random.default_rng(s), valence=valence, end_with_cadence=False)]
        return sum(c.is_minor for c in chords) / len(chords)

    assert minor_share(-1.0) > minor_share(1.0) + 0.05


def test_states_and_numerals():
    key = parse_key("A minor")
    assert chord_state(parse_chord("G"), key) == "10:maj" and roman("10:maj") == "bVII"
    assert roman(chord_state(parse_chord("Dm7"), parse_key("C"))) == "ii7"
    assert chord_state(parse_chord("N"), key) is None
