"""UNetLite / DDIMLite (symbolic/models/unet_lite.py) equal diffusers' UNet2DModel / DDIMScheduler, the oracle.

They exist so the diffusion engine can sample without importing diffusers (1.5-2 s); these tests keep them equal to
it: random tiny UNets and the shipped checkpoints, the DDIM schedule, noising and a full eta-0 sampling loop.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from framescore.symbolic.models.unet_lite import DDIMLite, UNetLite, load_unet_lite  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CHECKPOINTS = REPO / "checkpoints"
UNET_TOL = 1e-5
SCHED_TOL = 1e-6


def _diffusers():
    return pytest.importorskip("diffusers")


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape and a.dtype == b.dtype
    return (a - b).abs().max().item()


def _tiny_unet(layers: int, attention: bool, **extra):
    """A random diffusers UNet2DModel, every parameter perturbed so none is at its (often 0 or 1) initial value."""
    diffusers = _diffusers()
    kw = dict(sample_size=16, in_channels=6, out_channels=4, block_out_channels=(8, 16), layers_per_block=layers,
              down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
              norm_num_groups=4, add_attention=attention)
    kw.update(extra)
    with torch.random.fork_rng():
        torch.manual_seed(layers * 10 + attention)
        unet = diffusers.UNet2DModel(**kw).eval()
        with torch.no_grad():
            for p in unet.parameters():
                p.add_(0.1 * torch.randn_like(p))
    return unet


def _compare(unet, lite, shape, timesteps) -> float:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=gen)
    worst = 0.0
    with torch.inference_mode():
        for t in timesteps:
            ref = unet(x, t).sample
            out = lite(x, t)
            assert isinstance(out, torch.Tensor)
            worst = max(worst, _max_diff(ref, out))
    return worst


TIMESTEPS = [torch.tensor([0, 499, 999]), torch.tensor(250), torch.tensor([731]), 17,
             torch.tensor([0.5, 12.25, 998.0])]


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("attention", [True, False])
def test_tiny_unet_equals_diffusers(layers, attention):
    unet = _tiny_unet(layers, attention)
    lite = UNetLite.from_config(unet.config)
    assert {k: v.shape for k, v in lite.state_dict().items()} == {k: v.shape for k, v in unet.state_dict().items()}
    lite.load_state_dict(unet.state_dict(), strict=True)
    lite.eval()
    assert _compare(unet, lite, (3, 6, 16, 16), TIMESTEPS) < UNET_TOL


def test_tiny_unet_other_options_equal_diffusers():
    """The config values our checkpoints do not use but UNetLite still reproduces."""
    unet = _tiny_unet(1, True, block_out_channels=(8, 16, 24), down_block_types=("DownBlock2D",) * 3,
                      up_block_types=("UpBlock2D",) * 3, downsample_padding=0, mid_block_scale_factor=2.0,
                      freq_shift=1, flip_sin_to_cos=False, attention_head_dim=None, norm_eps=1e-6)
    lite = UNetLite.from_config(unet.config)
    lite.load_state_dict(unet.state_dict(), strict=True)
    assert _compare(unet, lite.eval(), (3, 6, 16, 16), TIMESTEPS) < UNET_TOL


@pytest.mark.parametrize("name", ["diffusion", "diffusion-debug"])
def test_shipped_checkpoint_equals_diffusers(name):
    diffusers = _diffusers()
    from safetensors.torch import load_file

    folder = CHECKPOINTS / name
    if not (folder / "diffusion_pytorch_model.safetensors").is_file():
        pytest.skip(f"no checkpoint at {folder}")
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    unet = diffusers.UNet2DModel.from_config({k: v for k, v in cfg.items() if not k.startswith("_")})
    unet.load_state_dict(load_file(str(folder / "diffusion_pytorch_model.safetensors")), strict=True)
    unet.eval()
    lite = load_unet_lite(folder)
    assert not lite.training and not any(p.requires_grad for p in lite.parameters())
    shape = (2, cfg["in_channels"], 32, 32)
    assert _compare(unet, lite, shape, [torch.tensor([999, 999]), torch.tensor([0, 500]), torch.tensor(99)]) \
        < UNET_TOL


@pytest.mark.parametrize("key, value", [
    ("down_block_types", ["AttnDownBlock2D", "DownBlock2D"]),
    ("up_block_types", ["UpBlock2D", "AttnUpBlock2D"]),
    ("time_embedding_type", "fourier"),
    ("resnet_time_scale_shift", "scale_shift"),
    ("class_embed_type", "timestep"),
    ("num_class_embeds", 10),
    ("attn_norm_num_groups", 2),
    ("center_input_sample", True),
    ("dropout", 0.1),
    ("act_fn", "gelu"),
    ("mid_block_type", None),
    ("time_embedding_dim", 64),
    ("downsample_type", "resnet"),
    ("upsample_type", "resnet"),
    ("some_new_key", 1),
])
def test_unsupported_config_is_named(key, value):
    cfg = dict(block_out_channels=[8, 16], down_block_types=["DownBlock2D"] * 2, up_block_types=["UpBlock2D"] * 2,
               norm_num_groups=4, _class_name="UNet2DModel", _framescore={"anything": 1})
    UNetLite.from_config(cfg)  # the base config is fine
    cfg[key] = value
    with pytest.raises(ValueError, match=key):
        UNetLite.from_config(cfg)


# ----- DDIM --------------------------------------------------------------------------------------------------------
def _scheduler_config() -> dict:
    path = CHECKPOINTS / "diffusion" / "scheduler_config.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"beta_schedule": "squaredcos_cap_v2", "prediction_type": "v_prediction", "clip_sample": True}


def _pair(**overrides):
    diffusers = _diffusers()
    cfg = {**_scheduler_config(), **overrides}
    return diffusers.DDIMScheduler.from_config(cfg, timestep_spacing="trailing"), DDIMLite(cfg)


def _check_schedulers(ref, lite, steps: int) -> float:
    """Everything sample() uses, compared; returns the largest difference seen."""
    assert torch.equal(ref.alphas_cumprod, lite.alphas_cumprod) and lite.alphas_cumprod.dtype == torch.float32
    ref.set_timesteps(steps)
    lite.set_timesteps(steps)
    assert lite.timesteps.dtype == ref.timesteps.dtype == torch.int64
    assert torch.equal(ref.timesteps, lite.timesteps)
    gen = torch.Generator().manual_seed(steps)
    shape = (2, 4, 8, 8)
    x0, noise = torch.rand(shape, generator=gen) * 2 - 1, torch.randn(shape, generator=gen)
    worst = 0.0
    last = lite.config["num_train_timesteps"] - 1
    for t in (torch.tensor([0, last]), torch.tensor([last // 2, 17]), lite.timesteps[:1].repeat(2)):
        worst = max(worst, _max_diff(ref.add_noise(x0, noise, t), lite.add_noise(x0, noise, t)),
                    _max_diff(ref.get_velocity(x0, noise, t), lite.get_velocity(x0, noise, t)))
    x_ref = x_lite = torch.randn(shape, generator=gen)
    for t_ref, t_lite in zip(ref.timesteps, lite.timesteps):
        out = 1.5 * torch.randn(shape, generator=gen)  # a model output, the same for both
        s_ref = ref.step(out, t_ref, x_ref, eta=0.0)
        s_lite = lite.step(out, t_lite, x_lite, eta=0.0)
        worst = max(worst, _max_diff(s_ref.pred_original_sample, s_lite.pred_original_sample))
        x_ref, x_lite = s_ref.prev_sample, s_lite.prev_sample
        worst = max(worst, _max_diff(x_ref, x_lite))
    return worst


@pytest.mark.parametrize("prediction_type", ["v_prediction", "epsilon"])
@pytest.mark.parametrize("steps", [4, 10, 20])
def test_ddim_equals_diffusers(prediction_type, steps):
    ref, lite = _pair(prediction_type=prediction_type)
    assert _check_schedulers(ref, lite, steps) < SCHED_TOL


@pytest.mark.parametrize("overrides", [
    {"beta_schedule": "linear", "beta_start": 0.00085, "beta_end": 0.012},
    {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "prediction_type": "epsilon"},
    {"clip_sample": False, "set_alpha_to_one": False},
    {"clip_sample_range": 0.5, "steps_offset": 1, "num_train_timesteps": 500},
    {"prediction_type": "sample"},
])
@pytest.mark.parametrize("steps", [3, 10])
def test_ddim_other_configs_equal_diffusers(overrides, steps):
    ref, lite = _pair(**overrides)
    assert _check_schedulers(ref, lite, steps) < SCHED_TOL


def test_ddim_python_int_timestep_and_errors():
    ref, lite = _pair()
    ref.set_timesteps(10)
    lite.set_timesteps(10)
    x, out = torch.randn(1, 4, 4, 4), torch.randn(1, 4, 4, 4)
    assert _max_diff(ref.step(out, 499, x).prev_sample, lite.step(out, 499, x).prev_sample) < SCHED_TOL
    with pytest.raises(ValueError, match="eta"):
        lite.step(out, 499, x, eta=0.5)
    with pytest.raises(ValueError, match="thresholding"):
        DDIMLite({**_scheduler_config(), "thresholding": True})
    with pytest.raises(ValueError, match="beta_schedule"):
        DDIMLite({"beta_schedule": "sigmoid"})


# ----- import cost -------------------------------------------------------------------------------------------------
def test_import_pulls_no_heavy_library():
    code = ("import framescore.symbolic.models.unet_lite, sys; "
            "assert not any(m.split('.')[0] in ('diffusers','transformers','scipy','huggingface_hub') "
            "for m in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
