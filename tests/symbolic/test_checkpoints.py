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


@pytest.mark.parametrize("name", ["transformer-debug", "diffusion-debug"])
def test_a_checkpoint_folder_is_read_by_its_own_library(name):
    """The folders are what transformers' and diffusers' ``save_pretrained`` write, so their ``from_pretrained``
    reads them as they are, with the same weights as ours."""
    import torch

    folder = CHECKPOINTS / name
    if name.startswith("transformer"):
        transformers = pytest.importorskip("transformers")
        from framescore.symbolic.models.remi_gpt import Decoder

        theirs = transformers.GPT2LMHeadModel.from_pretrained(folder)
        assert torch.equal(theirs.transformer.wte.weight.detach(), torch.as_tensor(Decoder.load(folder).wte))
    else:
        diffusers = pytest.importorskip("diffusers")
        from framescore.symbolic.models.roll_unet import load_model

        theirs = diffusers.UNet2DModel.from_pretrained(folder)
        ours = load_model(folder).unet.state_dict()
        assert theirs.state_dict().keys() == ours.keys()
        assert all(torch.equal(v, ours[k]) for k, v in theirs.state_dict().items())
        assert diffusers.DDPMScheduler.from_pretrained(folder).config.num_train_timesteps > 0
