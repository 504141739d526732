"""A diffusers-free copy of the two diffusers pieces the diffusion engine runs at inference.

Why: ``import diffusers`` costs about 1.5-2 s (it pulls torch._dynamo, every transformer model, scipy.stats...),
which dominated the engine's cold start, while sampling only needs ``UNet2DModel``'s forward pass and
``DDIMScheduler`` (eta 0, trailing spacing). This module re-implements exactly those, for exactly the
configurations our checkpoints use, with torch alone (numpy for the timestep grid, as diffusers has it):

* :class:`UNetLite` is ``UNet2DModel`` with ``DownBlock2D`` / ``UpBlock2D`` blocks and a ``UNetMidBlock2D``
  (with or without its attention). Its modules carry diffusers' names, so its ``state_dict()`` has the same keys
  and shapes and a checkpoint's ``diffusion_pytorch_model.safetensors`` loads into it with ``strict=True``;
  :func:`load_unet_lite` reads a checkpoint folder. Any config value it does not reproduce raises ValueError.
* :class:`DDIMLite` is ``DDIMScheduler.from_config(scheduler_config, timestep_spacing="trailing")`` as
  ``roll_unet.sample`` uses it (``set_timesteps``, ``timesteps``, ``alphas_cumprod``, ``add_noise``,
  ``get_velocity``, ``step(..., eta=0.0).prev_sample``).

Both do diffusers' arithmetic in diffusers' order, so their outputs equal diffusers' (to float rounding, in
practice bit for bit): ``tests/symbolic/test_unet_lite.py`` checks that against the installed diffusers, which
stays the training library and the oracle. Must not import diffusers, transformers, huggingface_hub or scipy.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DDIMLite", "DDIMLiteOutput", "UNetLite", "load_unet_lite"]

CONFIG = "config.json"
WEIGHTS = "diffusion_pytorch_model.safetensors"

# ----- the UNet ----------------------------------------------------------------------------------------------------
#: UNet2DModel's constructor arguments and defaults (diffusers 0.42), so a config missing a key means what it
#: means to diffusers.
_UNET_DEFAULTS: dict[str, Any] = {
    "sample_size": None,
    "in_channels": 3,
    "out_channels": 3,
    "center_input_sample": False,
    "time_embedding_type": "positional",
    "time_embedding_dim": None,
    "freq_shift": 0,
    "flip_sin_to_cos": True,
    "down_block_types": ("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
    "mid_block_type": "UNetMidBlock2D",
    "up_block_types": ("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    "block_out_channels": (224, 448, 672, 896),
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "downsample_padding": 1,
    "downsample_type": "conv",
    "upsample_type": "conv",
    "dropout": 0.0,
    "act_fn": "silu",
    "attention_head_dim": 8,
    "norm_num_groups": 32,
    "attn_norm_num_groups": None,
    "norm_eps": 1e-5,
    "resnet_time_scale_shift": "default",
    "add_attention": True,
    "class_embed_type": None,
    "num_class_embeds": None,
    "num_train_timesteps": None,  # only read by "learned" time embeddings
}

#: the values UNetLite reproduces, for the keys where only some are
_UNET_ONLY = {
    "center_input_sample": (False,),
    "time_embedding_type": ("positional",),
    "time_embedding_dim": (None,),
    "mid_block_type": ("UNetMidBlock2D",),
    "downsample_type": ("conv",),
    "upsample_type": ("conv",),
    "dropout": (0, 0.0),
    "act_fn": ("silu", "swish"),  # both are nn.SiLU in diffusers
    "attn_norm_num_groups": (None,),
    "resnet_time_scale_shift": ("default",),
    "class_embed_type": (None,),
    "num_class_embeds": (None,),
}


def _unsupported(key: str, value: Any, why: str = "") -> ValueError:
    return ValueError(f"UNetLite does not support {key}={value!r}{': ' + why if why else ''} "
                      "(use diffusers' UNet2DModel for that config)")


def _check_config(config: dict[str, Any]) -> dict[str, Any]:
    """The full config (defaults filled in as diffusers does), or ValueError naming the first unsupported value."""
    cfg = dict(_UNET_DEFAULTS)
    for key, value in config.items():
        if key.startswith("_"):
            continue
        if key not in _UNET_DEFAULTS:
            raise _unsupported(key, value, "not a UNet2DModel config key")
        cfg[key] = value
    for key, allowed in _UNET_ONLY.items():
        value = cfg[key]
        if not any(value is a if a is None or isinstance(a, bool) else (type(value) is not bool and value == a)
                   for a in allowed):
            raise _unsupported(key, value, f"only {' or '.join(repr(a) for a in allowed)}")
    channels = cfg["block_out_channels"]
    if (not isinstance(channels, (list, tuple)) or not channels
            or not all(isinstance(c, int) and c > 0 for c in channels)):
        raise _unsupported("block_out_channels", channels, "a non-empty list of positive ints")
    for key, block in (("down_block_types", "DownBlock2D"), ("up_block_types", "UpBlock2D")):
        types = cfg[key]
        if not isinstance(types, (list, tuple)) or any(t != block for t in types):
            raise _unsupported(key, types, f"every block must be {block!r}")
        if len(types) != len(channels):
            raise _unsupported(key, types, f"needs one block per block_out_channels entry ({len(channels)})")
    for key in ("in_channels", "out_channels", "layers_per_block", "norm_num_groups"):
        if not isinstance(cfg[key], int) or isinstance(cfg[key], bool) or cfg[key] < 1:
            raise _unsupported(key, cfg[key], "a positive int")
    if not isinstance(cfg["downsample_padding"], int) or cfg["downsample_padding"] < 0:
        raise _unsupported("downsample_padding", cfg["downsample_padding"], "an int >= 0")
    head = cfg["attention_head_dim"]
    if head is not None and (not isinstance(head, int) or head < 1):
        raise _unsupported("attention_head_dim", head, "a positive int or None")
    if not isinstance(cfg["add_attention"], bool):
        raise _unsupported("add_attention", cfg["add_attention"], "True or False")
    if cfg["add_attention"] and (head or channels[-1]) > channels[-1]:
        raise _unsupported("attention_head_dim", head, f"larger than the mid block's {channels[-1]} channels")
    if not isinstance(cfg["flip_sin_to_cos"], bool):
        raise _unsupported("flip_sin_to_cos", cfg["flip_sin_to_cos"], "True or False")
    return cfg


class _Resnet(nn.Module):
    """diffusers' ResnetBlock2D (pre-norm, "default" time embedding, SiLU, optional 1x1 shortcut)."""

    def __init__(self, in_channels: int, out_channels: int, temb_channels: int, groups: int, eps: float,
                 output_scale_factor: float = 1.0):
        super().__init__()
        self.output_scale_factor = output_scale_factor
        self.norm1 = nn.GroupNorm(num_groups=groups, num_channels=in_channels, eps=eps, affine=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
        self.time_emb_proj = nn.Linear(temb_channels, out_channels)
        self.norm2 = nn.GroupNorm(num_groups=groups, num_channels=out_channels, eps=eps, affine=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1)
        self.nonlinearity = nn.SiLU()
        self.conv_shortcut = (nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, padding=0)
                              if in_channels != out_channels else None)

    def forward(self, input_tensor: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        hidden = self.nonlinearity(self.norm1(input_tensor))
        hidden = self.conv1(hidden)
        hidden = hidden + self.time_emb_proj(self.nonlinearity(temb))[:, :, None, None]
        hidden = self.nonlinearity(self.norm2(hidden))
        hidden = self.conv2(hidden)
        if self.conv_shortcut is not None:
            input_tensor = self.conv_shortcut(input_tensor)
        return (input_tensor + hidden) / self.output_scale_factor


class _Attention(nn.Module):
    """diffusers' Attention as UNetMidBlock2D builds it (group norm, self-attention over pixels, residual), run
    as AttnProcessor2_0 runs it (``scaled_dot_product_attention``)."""

    def __init__(self, channels: int, head_dim: int, groups: int, eps: float, rescale_output_factor: float):
        super().__init__()
        self.heads = channels // head_dim
        inner = head_dim * self.heads
        self.rescale_output_factor = rescale_output_factor
        self.group_norm = nn.GroupNorm(num_channels=channels, num_groups=groups, eps=eps, affine=True)
        self.to_q = nn.Linear(channels, inner, bias=True)
        self.to_k = nn.Linear(channels, inner, bias=True)
        self.to_v = nn.Linear(channels, inner, bias=True)
        self.to_out = nn.ModuleList([nn.Linear(inner, channels, bias=True)])  # diffusers' [1] is a Dropout

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        residual = hidden
        b, c, h, w = hidden.shape
        hidden = hidden.view(b, c, h * w).transpose(1, 2)
        hidden = self.group_norm(hidden.transpose(1, 2)).transpose(1, 2)
        query, key, value = self.to_q(hidden), self.to_k(hidden), self.to_v(hidden)
        head_dim = key.shape[-1] // self.heads
        query = query.view(b, -1, self.heads, head_dim).transpose(1, 2)
        key = key.view(b, -1, self.heads, head_dim).transpose(1, 2)
        value = value.view(b, -1, self.heads, head_dim).transpose(1, 2)
        hidden = F.scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False)
        hidden = hidden.transpose(1, 2).reshape(b, -1, self.heads * head_dim).to(query.dtype)
        hidden = self.to_out[0](hidden)
        hidden = hidden.transpose(-1, -2).reshape(b, c, h, w)
        hidden = hidden + residual
        return hidden / self.rescale_output_factor


class _Downsample(nn.Module):
    """diffusers' Downsample2D(use_conv=True, name="op"): a stride-2 3x3 conv (padding 0: pad right/bottom by 1)."""

    def __init__(self, channels: int, padding: int):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=padding)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.padding == 0:
            hidden = F.pad(hidden, (0, 1, 0, 1), mode="constant", value=0)
        return self.conv(hidden)


class _Upsample(nn.Module):
    """diffusers' Upsample2D(use_conv=True): nearest 2x, then a 3x3 conv."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if hidden.shape[0] >= 64:
            hidden = hidden.contiguous()
        if hidden.numel() * 2 > pow(2, 31):
            hidden = hidden.contiguous()
        return self.conv(F.interpolate(hidden, scale_factor=2.0, mode="nearest"))


class _DownBlock(nn.Module):
    """diffusers' DownBlock2D."""

    def __init__(self, n: int, cin: int, cout: int, temb: int, groups: int, eps: float, downsample: bool,
                 padding: int):
        super().__init__()
        self.resnets = nn.ModuleList([_Resnet(cin if i == 0 else cout, cout, temb, groups, eps) for i in range(n)])
        self.downsamplers = nn.ModuleList([_Downsample(cout, padding)]) if downsample else None

    def forward(self, hidden: torch.Tensor, temb: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        states: tuple[torch.Tensor, ...] = ()
        for resnet in self.resnets:
            hidden = resnet(hidden, temb)
            states += (hidden,)
        if self.downsamplers is not None:
            for down in self.downsamplers:
                hidden = down(hidden)
            states += (hidden,)
        return hidden, states


class _UpBlock(nn.Module):
    """diffusers' UpBlock2D."""

    def __init__(self, n: int, cin: int, prev: int, cout: int, temb: int, groups: int, eps: float, upsample: bool):
        super().__init__()
        self.resnets = nn.ModuleList([
            _Resnet((prev if i == 0 else cout) + (cin if i == n - 1 else cout), cout, temb, groups, eps)
            for i in range(n)])
        self.upsamplers = nn.ModuleList([_Upsample(cout)]) if upsample else None

    def forward(self, hidden: torch.Tensor, skips: tuple[torch.Tensor, ...], temb: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            hidden = resnet(torch.cat([hidden, skips[-1]], dim=1), temb)
            skips = skips[:-1]
        if self.upsamplers is not None:
            for up in self.upsamplers:
                hidden = up(hidden)
        return hidden


class _MidBlock(nn.Module):
    """diffusers' UNetMidBlock2D (one layer): resnet, [attention], resnet."""

    def __init__(self, channels: int, temb: int, groups: int, eps: float, scale: float, head_dim: int,
                 attention: bool):
        super().__init__()
        self.resnets = nn.ModuleList([_Resnet(channels, channels, temb, groups, eps, scale) for _ in range(2)])
        self.attentions = nn.ModuleList([_Attention(channels, head_dim, groups, eps, scale)] if attention else [])

    def forward(self, hidden: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        hidden = self.resnets[0](hidden, temb)
        for attn in self.attentions:
            hidden = attn(hidden)
        return self.resnets[1](hidden, temb)


class _TimestepEmbedding(nn.Module):
    """diffusers' TimestepEmbedding: linear, SiLU, linear."""

    def __init__(self, cin: int, dim: int):
        super().__init__()
        self.linear_1 = nn.Linear(cin, dim, True)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(dim, dim, True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(x)))


def _timestep_embedding(timesteps: torch.Tensor, dim: int, flip_sin_to_cos: bool, shift: float,
                        max_period: int = 10000) -> torch.Tensor:
    """diffusers' get_timestep_embedding (scale 1), op for op."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32, device=timesteps.device)
    exponent = exponent / (half - shift)
    emb = timesteps[:, None].float() * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1, 0, 0))
    return emb


class UNetLite(nn.Module):
    """``diffusers.UNet2DModel`` without diffusers (its import costs 1.5-2 s), for DownBlock2D/UpBlock2D UNets.

    Same module names, so the same ``state_dict`` keys and shapes: diffusers' weights load with ``strict=True``.
    ``forward(sample, timestep)`` returns ``UNet2DModel(...)(sample, timestep).sample`` itself (no wrapper); it
    equals diffusers' output, checked by ``tests/symbolic/test_unet_lite.py``.
    """

    def __init__(self, **config: Any):
        super().__init__()
        cfg = _check_config(config)
        self.config = cfg
        ch = list(cfg["block_out_channels"])
        n_layers, groups, eps = cfg["layers_per_block"], cfg["norm_num_groups"], cfg["norm_eps"]
        temb = ch[0] * 4
        self.flip_sin_to_cos, self.freq_shift = cfg["flip_sin_to_cos"], cfg["freq_shift"]
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch[0], kernel_size=3, padding=(1, 1))
        self.time_embedding = _TimestepEmbedding(ch[0], temb)
        self.down_blocks = nn.ModuleList()
        out = ch[0]
        for i, c in enumerate(ch):
            cin, out = out, c
            self.down_blocks.append(_DownBlock(n_layers, cin, out, temb, groups, eps, i < len(ch) - 1,
                                               cfg["downsample_padding"]))
        head = cfg["attention_head_dim"] if cfg["attention_head_dim"] is not None else ch[-1]
        self.mid_block = _MidBlock(ch[-1], temb, groups, eps, cfg["mid_block_scale_factor"], head,
                                   cfg["add_attention"])
        rev = ch[::-1]
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i, c in enumerate(rev):
            prev, out = out, c
            cin = rev[min(i + 1, len(ch) - 1)]
            self.up_blocks.append(_UpBlock(n_layers + 1, cin, prev, out, temb, groups, eps, i < len(ch) - 1))
        self.conv_norm_out = nn.GroupNorm(num_channels=ch[0], num_groups=groups, eps=eps)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(ch[0], cfg["out_channels"], kernel_size=3, padding=1)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> UNetLite:
        """From a UNet2DModel config (config.json's dict, or ``unet.config``); keys starting with ``_`` are ignored."""
        return cls(**{k: v for k, v in dict(config).items() if not k.startswith("_")})

    @property
    def dtype(self) -> torch.dtype:
        return self.conv_in.weight.dtype

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor | float | int) -> torch.Tensor:
        """The network's output for ``sample`` ``(B, in_channels, H, W)`` at ``timestep`` (``(B,)``, one value as a
        0-d/1-element tensor or a python number, broadcast to the batch, as diffusers does)."""
        timesteps = timestep
        if not torch.is_tensor(timesteps):
            timesteps = torch.tensor([timesteps], dtype=torch.long, device=sample.device)
        elif len(timesteps.shape) == 0:
            timesteps = timesteps[None].to(sample.device)
        timesteps = timesteps * torch.ones(sample.shape[0], dtype=timesteps.dtype, device=timesteps.device)
        t_emb = _timestep_embedding(timesteps, self.conv_in.out_channels, self.flip_sin_to_cos, self.freq_shift)
        emb = self.time_embedding(t_emb.to(dtype=self.dtype))

        sample = self.conv_in(sample)
        skips: tuple[torch.Tensor, ...] = (sample,)
        for block in self.down_blocks:
            sample, states = block(sample, emb)
            skips += states
        sample = self.mid_block(sample, emb)
        for block in self.up_blocks:
            n = len(block.resnets)
            sample = block(sample, skips[-n:], emb)
            skips = skips[:-n]
        return self.conv_out(self.conv_act(self.conv_norm_out(sample)))


def load_unet_lite(directory: str | Path) -> UNetLite:
    """The UNet of a checkpoint folder (config.json + diffusion_pytorch_model.safetensors), in eval mode, without
    gradients; raises ValueError for a config it does not reproduce, RuntimeError for weights that do not fit."""
    from safetensors.torch import load_file

    directory = Path(directory)
    config = json.loads((directory / CONFIG).read_text(encoding="utf-8"))
    unet = UNetLite.from_config(config)
    unet.load_state_dict(load_file(str(directory / WEIGHTS)), strict=True)
    return unet.eval().requires_grad_(False)


# ----- the sampler -------------------------------------------------------------------------------------------------
@dataclass
class DDIMLiteOutput:
    """What :meth:`DDIMLite.step` returns: diffusers' DDIMSchedulerOutput's two fields."""

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor | None = None


#: DDIMScheduler's constructor arguments and defaults (diffusers 0.42); other keys in a scheduler config (a
#: DDPMScheduler's ``variance_type``...) are ignored, as DDIMScheduler.from_config ignores them.
_DDIM_DEFAULTS: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_start": 0.0001,
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "trained_betas": None,
    "clip_sample": True,
    "set_alpha_to_one": True,
    "steps_offset": 0,
    "prediction_type": "epsilon",
    "thresholding": False,
    "dynamic_thresholding_ratio": 0.995,
    "clip_sample_range": 1.0,
    "sample_max_value": 1.0,
    "timestep_spacing": "leading",
    "rescale_betas_zero_snr": False,
}


def _betas_for_alpha_bar(n: int, max_beta: float = 0.999) -> torch.Tensor:
    """diffusers' betas_for_alpha_bar with the cosine alpha bar ("squaredcos_cap_v2")."""

    def alpha_bar(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    return torch.tensor([min(1 - alpha_bar((i + 1) / n) / alpha_bar(i / n), max_beta) for i in range(n)],
                        dtype=torch.float32)


class DDIMLite:
    """``DDIMScheduler.from_config(scheduler_config, timestep_spacing="trailing")`` without diffusers (whose import
    costs 1.5-2 s), deterministic (eta 0) only.

    ``timestep_spacing`` is the keyword's, not the config's (the training config says "leading"; sampling overrides
    it with "trailing" so few steps still start at pure noise). Its ``timesteps``, ``alphas_cumprod``,
    ``add_noise``, ``get_velocity`` and ``step`` equal DDIMScheduler's, checked by ``tests/symbolic/test_unet_lite.py``.
    """

    order = 1
    init_noise_sigma = 1.0

    def __init__(self, config: dict[str, Any] | None = None, timestep_spacing: str = "trailing"):
        cfg = dict(_DDIM_DEFAULTS)
        cfg.update({k: v for k, v in dict(config or {}).items() if k in _DDIM_DEFAULTS})
        cfg["timestep_spacing"] = timestep_spacing
        if cfg["thresholding"]:
            raise ValueError("DDIMLite does not support thresholding=True (use diffusers' DDIMScheduler)")
        if timestep_spacing != "trailing":
            raise ValueError(f"DDIMLite does not support timestep_spacing={timestep_spacing!r} (only trailing, "
                             "the one sampling uses)")
        for key in ("trained_betas", "rescale_betas_zero_snr"):
            if cfg[key]:
                raise ValueError(f"DDIMLite does not support {key}={cfg[key]!r} (use diffusers' DDIMScheduler)")
        if cfg["prediction_type"] not in ("epsilon", "v_prediction", "sample"):
            raise ValueError(f"DDIMLite does not support prediction_type={cfg['prediction_type']!r} "
                             "(epsilon, v_prediction or sample)")
        self.config = cfg
        n = cfg["num_train_timesteps"]
        if cfg["beta_schedule"] == "linear":
            self.betas = torch.linspace(cfg["beta_start"], cfg["beta_end"], n, dtype=torch.float32)
        elif cfg["beta_schedule"] == "scaled_linear":
            self.betas = torch.linspace(cfg["beta_start"] ** 0.5, cfg["beta_end"] ** 0.5, n, dtype=torch.float32) ** 2
        elif cfg["beta_schedule"] == "squaredcos_cap_v2":
            self.betas = _betas_for_alpha_bar(n)
        else:
            raise ValueError(f"DDIMLite does not support beta_schedule={cfg['beta_schedule']!r} "
                             "(linear, scaled_linear or squaredcos_cap_v2)")
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.final_alpha_cumprod = torch.tensor(1.0) if cfg["set_alpha_to_one"] else self.alphas_cumprod[0]
        self.num_inference_steps: int | None = None
        self.timesteps = torch.arange(n - 1, -1, -1, dtype=torch.int64)

    @classmethod
    def from_config(cls, config: dict[str, Any], timestep_spacing: str = "trailing") -> DDIMLite:
        return cls(config, timestep_spacing=timestep_spacing)

    def __len__(self) -> int:
        return self.config["num_train_timesteps"]

    def scale_model_input(self, sample: torch.Tensor, timestep: Any = None) -> torch.Tensor:
        return sample

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        """The ``num_inference_steps`` timesteps, high to low, into ``self.timesteps`` (int64), as diffusers'."""
        import numpy as np

        n = self.config["num_train_timesteps"]
        if num_inference_steps > n:
            raise ValueError(f"num_inference_steps {num_inference_steps} is larger than num_train_timesteps {n}")
        self.num_inference_steps = num_inference_steps
        ratio = n / num_inference_steps  # trailing spacing
        ts = np.round(np.arange(n, 0, -ratio)).astype(np.int64) - 1
        self.timesteps = torch.from_numpy(ts).to(device)

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor,
             eta: float = 0.0) -> DDIMLiteOutput:
        """One deterministic DDIM step (formula 12 of Song et al.) from ``timestep`` to the previous one."""
        if eta != 0:
            raise ValueError(f"DDIMLite only supports eta=0 (deterministic DDIM), not eta={eta}")
        if self.num_inference_steps is None:
            raise ValueError("call set_timesteps before step")
        prev_timestep = timestep - self.config["num_train_timesteps"] // self.num_inference_steps
        alpha_prod_t = self.alphas_cumprod[timestep]
        alpha_prod_t_prev = self.alphas_cumprod[prev_timestep] if prev_timestep >= 0 else self.final_alpha_cumprod
        beta_prod_t = 1 - alpha_prod_t
        kind = self.config["prediction_type"]
        if kind == "epsilon":
            pred_original_sample = (sample - beta_prod_t ** (0.5) * model_output) / alpha_prod_t ** (0.5)
            pred_epsilon = model_output
        elif kind == "sample":
            pred_original_sample = model_output
            pred_epsilon = (sample - alpha_prod_t ** (0.5) * pred_original_sample) / beta_prod_t ** (0.5)
        else:  # v_prediction
            pred_original_sample = (alpha_prod_t**0.5) * sample - (beta_prod_t**0.5) * model_output
            pred_epsilon = (alpha_prod_t**0.5) * model_output + (beta_prod_t**0.5) * sample
        if self.config["clip_sample"]:
            r = self.config["clip_sample_range"]
            pred_original_sample = pred_original_sample.clamp(-r, r)
        pred_sample_direction = (1 - alpha_prod_t_prev) ** (0.5) * pred_epsilon  # eta 0: std_dev_t is 0
        prev_sample = alpha_prod_t_prev ** (0.5) * pred_original_sample + pred_sample_direction
        return DDIMLiteOutput(prev_sample=prev_sample, pred_original_sample=pred_original_sample)

    def _coefficients(self, like: torch.Tensor, timesteps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t), shaped to broadcast against ``like``."""
        self.alphas_cumprod = self.alphas_cumprod.to(device=like.device)
        alphas_cumprod = self.alphas_cumprod.to(dtype=like.dtype)
        timesteps = timesteps.to(like.device)
        a = (alphas_cumprod[timesteps] ** 0.5).flatten()
        b = ((1 - alphas_cumprod[timesteps]) ** 0.5).flatten()
        while len(a.shape) < len(like.shape):
            a = a.unsqueeze(-1)
        while len(b.shape) < len(like.shape):
            b = b.unsqueeze(-1)
        return a, b

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """The forward process: sqrt(a_t) * x0 + sqrt(1 - a_t) * noise."""
        a, b = self._coefficients(original_samples, timesteps)
        return a * original_samples + b * noise

    def get_velocity(self, sample: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """v = sqrt(a_t) * noise - sqrt(1 - a_t) * x0."""
        a, b = self._coefficients(sample, timesteps)
        return a * noise - b * sample
