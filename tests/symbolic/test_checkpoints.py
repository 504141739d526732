"""One lookup for every model's folder, and every shipped checkpoint loading through it."""

from __future__ import annotations

import pytest

from framescore.symbolic.checkpoints import CHECKPOINTS, checkpoint_dir, env_var


def test_folders_and_their_environment_variables(monkeypatch, tmp_path):
    for name in ("transformer", "diffusion", "chord_model", "va_classifier", "transformer-debug"):
        monkeypatch.delenv(env_var(name), raising=False)
        assert checkpoint_dir(name) == CHECKPOINTS / name
    assert env_var("transformer") == "FRAMESCORE_TRANSFORMER_CHECKPOINT"
    assert env_var("diffusion") == "FRAMESCORE_DIFFUSION_CHECKPOINT"
    assert env_var("diffusion-debug") == "FRAMESCORE_DIFFUSION_DEBUG_CHECKPOINT"
    monkeypatch.setenv("FRAMESCORE_TRANSFORMER_CHECKPOINT", str(tmp_path))
    assert checkpoint_dir("transformer") == tmp_path
    assert checkpoint_dir("transformer-debug") == CHECKPOINTS / "transformer-debug"  # each name its own variable
    monkeypatch.setenv("FRAMESCORE_DIFFUSION_CHECKPOINT", str(tmp_path / "d"))
    assert checkpoint_dir("diffusion") == tmp_path / "d"


def test_every_shipped_checkpoint_loads(monkeypatch):
    from framescore.symbolic.models.remi_gpt import Decoder, load_tokenizer
    from framescore.symbolic.models.va_classifier import VAClassifier
    from framescore.symbolic.progression import ChordModel

    for name in ("transformer", "diffusion", "chord_model", "va_classifier"):
        monkeypatch.delenv(env_var(name), raising=False)
    assert {p.name for p in CHECKPOINTS.iterdir() if p.is_dir()} >= {
        "transformer", "transformer-debug", "diffusion", "diffusion-debug", "chord_model", "va_classifier"}
    for name in ("transformer", "transformer-debug"):
        tok, dec = load_tokenizer(checkpoint_dir(name)), Decoder.load(checkpoint_dir(name))
        assert dec.wte.shape[0] == len(tok)
    assert ChordModel.load().modes.keys() == {"major", "minor"}
    assert len(VAClassifier.load().mean) == len(VAClassifier.load().weight[0])
    pytest.importorskip("diffusers")
    from framescore.symbolic.models.roll_unet import load_model

    for name in ("diffusion", "diffusion-debug"):
        assert load_model(checkpoint_dir(name)).n_parameters > 0
