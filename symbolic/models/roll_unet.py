"""The diffusion engine's model: a small diffusers ``UNet2DModel`` over piano-roll windows, its files, and its sampler.

The network sees the noisy roll (4 channels, :data:`~framescore.symbolic.roll.ROLL_CHANNELS`) and the condition
(3 channels, :data:`~framescore.symbolic.roll.COND_CHANNELS`) concatenated, as a ``(7, T, P)`` image with time
down and pitch across, and predicts the noise (epsilon). The image enters in 2×2 patches
(``pixel_unshuffle``: 28 channels at 32×32 for a 64×64 window) and leaves through ``pixel_shuffle``: on this
project's CPUs that makes a forward pass about 4 times cheaper than at full resolution, at the same layout.

Classifier-free guidance: in training the chord channels (tones and root, not density) are zeroed with
probability ``cond_drop``; sampling mixes ``eps_uncond + w * (eps_cond - eps_uncond)``. Inpainting (RePaint's
replacement): wherever ``known_mask`` is set, the sample is replaced at every step by the known roll noised to that
step, ``scheduler.add_noise(known, noise, t)``, and by the known roll itself at the end, so it is kept exactly.

A checkpoint folder holds diffusers' ``config.json`` (UNet2DModel's config, plus our roll layout and sampler
defaults under the key ``"_framescore"``, which diffusers ignores), ``diffusion_pytorch_model.safetensors`` (the
UNet's weights, by diffusers' own name), ``scheduler_config.json`` (the DDPMScheduler it was trained with; sampling
uses a DDIMScheduler built from it) and ``card.md``. So diffusers reads the folder as it is:
``UNet2DModel.from_pretrained(folder)`` and ``DDPMScheduler.from_pretrained(folder)``.

torch and diffusers are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checkpoints import CheckpointError
from ..key_profiles import GUIDE_PROFILES
from ..roll import COND_CHANNELS, ROLL_CHANNELS, RollSpec

if TYPE_CHECKING:
    import torch

__all__ = [
    "CheckpointError",
    "ModelConfig",
    "RollModel",
    "denoise",
    "load_model",
    "new_model",
    "sample",
    "save_model",
    "training_target",
]

CONFIG = "config.json"
WEIGHTS = "diffusion_pytorch_model.safetensors"  # diffusers' name: its from_pretrained reads the folder
OLD_WEIGHTS = "model.safetensors"  # what folders written before 2026-12 call it
SCHEDULER = "scheduler_config.json"
N_CHORD_CHANNELS = 2  # the first condition channels, the ones guidance drops
#: Pitch rows (of the key-normalised roll, from its lowest pitch, MIDI 36) where a melody floor raises onsets:
#: MIDI 57-88, where POP909's melodies lie, so a tune asked for is not found among the accompaniment's low notes.
MELODY_REGISTER = (21, 53)


@dataclass(frozen=True)
class ModelConfig:
    """Everything about a roll model that is not its weights: layout, network size, training and sampling defaults."""

    spec: RollSpec = field(default_factory=RollSpec)
    block_out_channels: tuple[int, ...] = (32, 64, 128)
    layers_per_block: int = 1
    norm_num_groups: int = 8
    patch: int = 2
    mid_attention: bool = True
    cond_drop: float = 0.15
    train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    prediction_type: str = "v_prediction"
    # what compose(plan) uses
    thresholds: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)  # per roll channel, read as on above it (calibrated)
    sampling_steps: int = 20
    sampler: str = "ddim"  # or "dpmsolver++" (see RollModel.sample_scheduler)
    guidance: float = 3.0
    tone_guidance: float = 0.0
    melody_tone_share: float = 0.5  # the tone guidance's strength on the melody, as a share of the accompaniment's
    key_guidance: float = 0.0  # strength of the key guide (see sample); 0: off
    hop_bars: int = 3

    @property
    def time_multiple(self) -> int:
        """Window lengths (steps) must be a multiple of this: the patch, then one halving per lower level."""
        return self.patch * 2 ** (len(self.block_out_channels) - 1)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["block_out_channels"] = list(self.block_out_channels)
        d["thresholds"] = list(self.thresholds)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        d = dict(d)
        d["spec"] = RollSpec(**d.get("spec", {}))
        for name in ("block_out_channels", "thresholds"):
            if name in d:
                d[name] = tuple(d[name])
        return cls(**d)


@dataclass
class RollModel:
    """A loaded model: the UNet (eval mode), our config, and the training scheduler's config."""

    unet: Any  # unet_lite.UNetLite, or diffusers.UNet2DModel for training
    config: ModelConfig
    scheduler_config: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)  # training figures stored with the checkpoint

    def train_scheduler(self):
        from diffusers import DDPMScheduler

        return DDPMScheduler.from_config(self.scheduler_config)

    def sample_scheduler(self):
        """The sampler of ``config.sampler`` from the training schedule, with trailing spacing so few steps still
        start at pure noise: DDIM (eta 0), or DPM-Solver++ (second order, multistep), which reaches the same
        quality in about half the steps (Lu et al. 2022)."""
        if self.config.sampler == "ddim":  # diffusers' DDIMScheduler, without importing diffusers
            from .unet_lite import DDIMLite

            return DDIMLite(self.scheduler_config, timestep_spacing="trailing")
        if self.config.sampler == "dpmsolver++":
            from diffusers import DPMSolverMultistepScheduler

            return DPMSolverMultistepScheduler.from_config(
                self.scheduler_config, timestep_spacing="trailing", algorithm_type="dpmsolver++", solver_order=2,
                final_sigmas_type="zero", lower_order_final=True)
        raise CheckpointError(f"sampler {self.config.sampler!r} is not known (ddim or dpmsolver++)")

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.unet.parameters())


def new_model(config: ModelConfig = ModelConfig(), seed: int = 0) -> RollModel:
    """A freshly initialised model (weights from ``torch.manual_seed(seed)``) and its DDPM schedule."""
    import torch
    from diffusers import DDPMScheduler, UNet2DModel

    n = len(config.block_out_channels)
    p2 = config.patch ** 2
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        unet = UNet2DModel(
            sample_size=config.spec.window_bars * config.spec.steps_per_bar((4, 4)) // config.patch,
            in_channels=(len(ROLL_CHANNELS) + len(COND_CHANNELS)) * p2, out_channels=len(ROLL_CHANNELS) * p2,
            block_out_channels=config.block_out_channels, layers_per_block=config.layers_per_block,
            down_block_types=("DownBlock2D",) * n, up_block_types=("UpBlock2D",) * n,
            norm_num_groups=config.norm_num_groups, add_attention=config.mid_attention,
        )
    sched = DDPMScheduler(num_train_timesteps=config.train_timesteps, beta_schedule=config.beta_schedule,
                          prediction_type=config.prediction_type, clip_sample=True)
    return RollModel(unet.eval(), config, {k: v for k, v in sched.config.items() if not k.startswith("_")})


def denoise(model: RollModel, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    """The network's prediction (``prediction_type``: v or epsilon) for noisy rolls ``x`` ``(B, 4, T, P)`` at
    timesteps ``t`` ``(B,)`` under ``cond`` ``(B, 3, T, P)``."""
    import torch
    import torch.nn.functional as F

    r = model.config.patch
    inp = F.pixel_unshuffle(torch.cat([x, cond], dim=1), r)
    out = model.unet(inp, t)  # UNetLite gives the tensor, diffusers' UNet2DModel an output holding it
    return F.pixel_shuffle(out if isinstance(out, torch.Tensor) else out.sample, r)


def training_target(model: RollModel, scheduler, x0: torch.Tensor, noise: torch.Tensor,
                    t: torch.Tensor) -> torch.Tensor:
    """What the network learns to output: the noise, or v = sqrt(a) * noise - sqrt(1 - a) * x0."""
    kind = model.config.prediction_type
    if kind == "epsilon":
        return noise
    if kind == "v_prediction":
        return scheduler.get_velocity(x0, noise, t)
    raise CheckpointError(f"prediction type {kind!r} is not supported (epsilon or v_prediction)")


def sample(model: RollModel, cond: torch.Tensor, generator: torch.Generator, steps: int | None = None,
           guidance: float | None = None, known: torch.Tensor | None = None,
           known_mask: torch.Tensor | None = None, tone_guidance: float | None = None,
           melody_tone_share: float | None = None,
           ties: Sequence[tuple[int, int, int]] = (),
           melody_floor: tuple[Sequence[tuple[int, int]], float, int] | None = None,
           windows: tuple[int, Sequence[int]] | None = None,
           key_guide: KeyGuide | None = None, outside_register: torch.Tensor | None = None,
           density_guide: DensityGuide | None = None) -> torch.Tensor:
    """Rolls ``(B, 4, T, P)`` in [-1, 1] (threshold at 0) for conditions ``cond`` ``(B, 3, T, P)``.

    ``windows`` ``(size, starts)``: a roll longer than the network's window (one piece, ``B`` = 1) is denoised
    as the overlapping windows ``start .. start+size``, all in one batch, their predictions averaged where
    they overlap at every step (MultiDiffusion, Bar-Tal et al. 2023), so the piece is one roll, sampled in one
    pass instead of window after window. The starts must cover ``T``.

    ``key_guide`` (:class:`KeyGuide`) keeps the plan's key the one heard where the chords leave it open, as the
    transformer's key guide does: see there.

    ``guidance`` ``w``: 0 ignores the chords, 1 is the conditional model alone, above 1 pushes towards the chords
    (two network passes a step instead of one). ``known``/``known_mask`` (broadcastable to the sample) fix part of
    the roll: those cells come back exactly as ``known``. Deterministic for a given ``generator`` state.

    ``tone_guidance`` ``s`` in [0, 1] (training-free guidance, as in rule-guided diffusion): at every step the
    predicted clean roll is moved a share ``s`` of the way to "off" on the cells that are not tones of the
    sounding chord (accompaniment channels fully, melody channels at ``melody_tone_share`` of it, None: the
    config's, so passing tones stay possible), and the step continues from that prediction, so the network
    re-plans the rest of the roll around it at the next step. 0 (or no chord) leaves the sampler as it was.

    ``ties`` ``(dst, src, length)``: after every step the melody channels of time steps ``dst .. dst+length`` are
    set to those of ``src ..``, so two passages of one window are denoised as one melody (a theme and its
    return in the same window) while everything around them is free.

    ``melody_floor`` ``(spans, level, k)``: each span ``(t0, t1)`` of time steps must hold a tune. Where the
    predicted clean roll's melody onsets there (the strongest pitch of each step) have fewer than ``k`` steps
    above ``level`` (the onset threshold the roll is read with), the span's melody onset cells are raised by the
    shortfall of the ``k``-th strongest, so the steps the network already leans to become notes, and the next
    step re-plans around them (a guidance like the tone guidance, not a rule).

    ``outside_register`` (broadcastable to ``(B, 4, T, P)``, in [0, 1]): the share of the way each cell's predicted
    clean roll is moved to "off" at every step, as the tone guidance's pull (the stronger of the two counts), for
    the cells outside a part's register; the network re-plans the music around them, e.g. an octave lower.

    ``density_guide`` (:class:`DensityGuide`) keeps each bar's onsets within the plan's count: see there.
    """
    import torch

    cfg = model.config
    steps = cfg.sampling_steps if steps is None else steps
    w = cfg.guidance if guidance is None else guidance
    s = cfg.tone_guidance if tone_guidance is None else tone_guidance
    if not 0.0 <= s <= 1.0:
        raise CheckpointError(f"tone guidance {s} is not in [0, 1]")
    b, _, n_t, n_p = cond.shape
    size, starts = windows if windows is not None else (n_t, [0])
    if size % cfg.time_multiple or n_p % cfg.time_multiple:
        raise CheckpointError(f"roll window {size}x{n_p} is not a multiple of {cfg.time_multiple}")
    if windows is not None and (b != 1 or min(starts) != 0 or max(starts) + size < n_t):
        raise CheckpointError(f"windows of {size} steps at {list(starts)} do not cover one roll of {n_t}")
    sched = model.sample_scheduler()
    sched.set_timesteps(steps)
    step_kw = {"eta": 0.0} if cfg.sampler == "ddim" else {}
    shape = (b, len(ROLL_CHANNELS), n_t, n_p)
    x = torch.randn(shape, generator=generator)
    uncond = cond.clone()
    uncond[:, :N_CHORD_CHANNELS] = 0
    off_chord = None
    if s > 0:  # (B, 4, T, P) weight of the pull to "off": 0 on chord tones and where no chord sounds
        tones = cond[:, :1]
        has_chord = tones.amax(dim=-1, keepdim=True) > 0
        m = cfg.melody_tone_share if melody_tone_share is None else melody_tone_share
        part = torch.tensor([m, m, 1.0, 1.0]).view(1, 4, 1, 1)
        off_chord = s * part * ((tones == 0) & has_chord).float()
    allowed = None
    if outside_register is not None:
        reg = torch.broadcast_to(outside_register.float(), shape)
        off_chord = reg if off_chord is None else torch.maximum(off_chord, reg)
        allowed = reg[:, 0] < 1  # the melody floor raises no onset the register guide pulls all the way off
    alphas = sched.alphas_cumprod
    if known is not None:
        known_mask = torch.broadcast_to(known_mask.bool(), shape)
        known = torch.broadcast_to(known, shape)
    with torch.inference_mode():
        for t in sched.timesteps:
            if known is not None:
                noised = sched.add_noise(known, torch.randn(shape, generator=generator), t.repeat(b))
                x = torch.where(known_mask, noised, x)
            eps = _predict(model, x, t, cond, uncond, w, size, starts)
            if melody_floor is not None:
                eps = _raise_melody(eps, x, sched.alphas_cumprod[int(t)], melody_floor, cfg.prediction_type,
                                    allowed)
            if key_guide is not None:
                eps = key_guide.steer(eps, x, sched.alphas_cumprod[int(t)], cfg)
            if off_chord is not None:
                eps = _pull_off_chord(eps, x, alphas[int(t)], off_chord, cfg.prediction_type)
            if density_guide is not None:  # after the pulls, so it counts the onsets that will be read
                eps = density_guide.steer(eps, x, sched.alphas_cumprod[int(t)], cfg.prediction_type)
            x = sched.step(eps, t, x, **step_kw).prev_sample
            for dst, src, n in ties:
                x[:, :2, dst:dst + n] = x[:, :2, src:src + n]
        if known is not None:
            x = torch.where(known_mask, known, x)
        for dst, src, n in ties:
            x[:, :2, dst:dst + n] = x[:, :2, src:src + n]
    return x.clamp(-1.0, 1.0)


def _predict(model: RollModel, x: torch.Tensor, t, cond: torch.Tensor, uncond: torch.Tensor, w: float, size: int,
             starts: Sequence[int]) -> torch.Tensor:
    """The guided network output for ``x``: one pass per window (two with guidance), the windows in one batch,
    averaged where they overlap."""
    import torch

    def cut(a: torch.Tensor) -> torch.Tensor:
        return a if len(starts) == 1 and a.shape[2] == size else torch.cat([a[:, :, s:s + size] for s in starts])

    xs, n = cut(x), len(starts) * x.shape[0]
    tt = t.repeat(n)
    if w == 1.0:
        out = denoise(model, xs, tt, cut(cond))
    elif w == 0.0:
        out = denoise(model, xs, tt, cut(uncond))
    else:
        e_c, e_u = denoise(model, torch.cat([xs, xs]), tt.repeat(2), torch.cat([cut(cond), cut(uncond)])).chunk(2)
        out = e_u + w * (e_c - e_u)  # linear in the output, so the same for v as for epsilon
    if len(starts) == 1 and out.shape == x.shape:
        return out
    total = torch.zeros_like(x)
    count = torch.zeros((1, 1, x.shape[2], 1))
    for i, s in enumerate(starts):
        total[:, :, s:s + size] += out[i:i + 1]
        count[:, :, s:s + size] += 1
    return total / count


@dataclass(frozen=True)
class KeyGuide:
    """Keeps a key the one heard, in the roll's own (key-normalised) pitch space.

    At every step the predicted clean roll is read as notes (sustain cells above their thresholds) and, with
    ``backing`` (the steps each pitch class sounds in parts the model does not write: the rule engine's bass),
    turned into a pitch-class profile. For each set of key profiles where key ``target`` (0-11 major tonics, 12-23
    minor) does not lead every other key's correlation by ``margin``, the roll's cells of each pitch class are
    moved by ``strength`` × (target's profile − the closest rival's), averaged over the sets; the network
    re-plans around that at the next step. When the key is clear to every set it does nothing.
    """

    target: int
    strength: float
    margin: float = 0.1
    backing: tuple[float, ...] = (0.0,) * 12
    profiles: tuple[str, ...] = GUIDE_PROFILES

    def push(self, profile) -> Any:
        """The per-pitch-class move (12 values) for a profile, or None while the key leads."""
        import numpy as np

        from ..key_profiles import key_push

        push = key_push(np.asarray(profile, dtype=float) + np.asarray(self.backing), self.target, self.margin,
                        self.profiles)
        return None if push is None or not push.any() else self.strength * push

    def steer(self, out: torch.Tensor, x: torch.Tensor, alpha: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
        import torch

        x0 = _x0_of(out, x, alpha, cfg.prediction_type)
        th = torch.tensor([cfg.thresholds[1], cfg.thresholds[3]]).view(1, 2, 1, 1)
        sounding = (x0[:, 1::2] > th).float().sum(dim=(0, 1, 2))  # (P,) steps each pitch sounds
        pcs = (torch.arange(x0.shape[-1]) + cfg.spec.pitch_lo) % 12
        profile = torch.zeros(12).index_add_(0, pcs, sounding)
        push = self.push(profile.numpy())
        if push is None:
            return out
        x0 = (x0 + torch.as_tensor(push, dtype=x0.dtype)[pcs]).clamp(-1, 1)
        return _out_of(x0, x, alpha, cfg.prediction_type)


def _x0_of(out, x, alpha, prediction_type: str):
    """The clean roll the network output ``out`` predicts from ``x`` (clipped to [-1, 1], as the scheduler does)."""
    a, b = alpha.sqrt(), (1 - alpha).sqrt()
    if prediction_type == "v_prediction":
        return (a * x - b * out).clamp(-1, 1)
    return ((x - b * out) / a).clamp(-1, 1)


def _out_of(x0, x, alpha, prediction_type: str):
    """The network output that predicts ``x0`` from ``x``: what a guidance hands the scheduler."""
    a, b = alpha.sqrt(), (1 - alpha).sqrt()
    return (a * x - x0) / b if prediction_type == "v_prediction" else (x - a * x0) / b


#: The accompaniment onsets the density guide leaves in a bar under a given melody (``DensityGuide.keep``): a
#: chord, whatever the melody's own count, since the plan's density was not written for that melody.
MIN_ACCOMPANIMENT_ONSETS = 3


@dataclass(frozen=True)
class DensityGuide:
    """No bar busier than its plan asks, within ``tolerance``: the plan's density is an explicit element a user
    edits, and the network alone follows it loosely (on validation songs its onsets per bar rose only 0.36 for
    each one the plan added: its sparse bars too full, its busy ones too thin).

    ``bars``: ``(t0, t1, onsets)`` per bar, the steps it is heard and the onsets its plan asks for (melody and
    accompaniment together, as the plan's density counts them). At every step the predicted clean roll's onsets
    there are counted as they will be read (a melody step whose strongest onset is above ``levels[0]``, each
    accompaniment onset cell above ``levels[1]``); where they exceed the count by more than ``tolerance`` (a
    share), the weakest accompaniment onsets above the level are moved to "off", and the network re-plans around
    them at the next step, as it does for the tone guidance. It counts after the tone and register pulls, so what
    they remove is not counted, and it leaves every bar at least ``keep`` accompaniment onsets (its strongest: the
    engine asks :data:`MIN_ACCOMPANIMENT_ONSETS` under a user's melody, so a busy tune never loses its chords, and
    none under its own, whose sparse bars may be a bare tune, as real ones are). A bar sparser than asked is left
    to the network: raising its onsets (tried, with the strongest chord-tone cells) thickened the chords of busy
    video plans (median polyphony 4.5 against POP909's 3.7) more than it set their rhythm moving.
    """

    bars: tuple[tuple[int, int, float], ...]
    levels: tuple[float, float]
    tolerance: float
    keep: int = 0

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise CheckpointError(f"density tolerance {self.tolerance} is negative")

    def steer(self, out: torch.Tensor, x: torch.Tensor, alpha: torch.Tensor, prediction_type: str) -> torch.Tensor:
        """The network output whose predicted clean roll has no bar's onsets above the tolerance (one piece,
        batch 1), with the noise the step implies recomputed to match."""
        import torch

        if x.shape[0] != 1:
            raise CheckpointError(f"the density guide guides one piece, not a batch of {x.shape[0]}")
        x0 = _x0_of(out, x, alpha, prediction_type)
        changed = False
        lm, lh = self.levels
        for t0, t1, want in self.bars:
            mel = int((x0[0, 0, t0:t1].amax(dim=-1) > lm).sum())
            cells = x0[0, 2, t0:t1].reshape(-1)  # a view: writing it writes x0
            on = cells > lh
            have = mel + int(on.sum())
            if have > want * (1 + self.tolerance):
                k = min(int(on.sum()) - self.keep, int(round(have - want)))
                if k > 0:
                    idx = torch.nonzero(on).flatten()
                    cells[idx[cells[idx].argsort()[:k]]] = -1.0
                    changed = True
        return _out_of(x0, x, alpha, prediction_type) if changed else out


def _raise_melody(out: torch.Tensor, x: torch.Tensor, alpha: torch.Tensor,
                  floor: tuple[Sequence[tuple[int, int]], float, int], prediction_type: str,
                  allowed: torch.Tensor | None = None) -> torch.Tensor:
    """The network output whose predicted clean roll has at least ``k`` melody onsets above ``level`` in every
    span (see :func:`sample`), with the noise the step implies recomputed to match. ``allowed`` ``(B, T, P)``:
    the melody cells it may raise (those the register guide does not pull off; None: all)."""
    import torch

    spans, level, k = floor
    x0 = _x0_of(out, x, alpha, prediction_type)
    changed = False
    p0, p1 = MELODY_REGISTER
    for t0, t1 in spans:
        cells = x0[:, 0, t0:t1, p0:p1]
        ok = None if allowed is None else allowed[:, t0:t1, p0:p1]
        strongest = (cells if ok is None else cells.masked_fill(~ok, -3.0)).amax(dim=-1)  # (B, steps)
        kth = strongest.topk(min(k, t1 - t0), dim=-1).values[:, -1]  # (B,)
        lift = (level + 0.05 - kth).clamp(min=0)
        if bool((lift > 0).any()):
            raised = (cells + lift.view(-1, 1, 1)).clamp(-1, 1)
            x0[:, 0, t0:t1, p0:p1] = raised if ok is None else torch.where(ok, raised, cells)
            changed = True
    return _out_of(x0, x, alpha, prediction_type) if changed else out


def _pull_off_chord(out: torch.Tensor, x: torch.Tensor, alpha: torch.Tensor, weight: torch.Tensor,
                    prediction_type: str) -> torch.Tensor:
    """The network output that predicts the clean roll ``x0 - weight * (x0 + 1)`` instead of ``x0`` (``x0 = -1``
    is "off"), with the noise the step implies recomputed to match."""
    x0 = _x0_of(out, x, alpha, prediction_type)
    return _out_of(x0 - weight * (x0 + 1), x, alpha, prediction_type)


# ----- files -------------------------------------------------------------------------------------------------------
def save_model(model: RollModel, directory: str | Path, info: dict[str, Any] | None = None,
               card: str | None = None) -> Path:
    """Write the checkpoint folder atomically (a temporary folder, then a rename); ``info`` goes into config.json."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        cfg = dict(model.unet.config)
        cfg["_class_name"] = "UNet2DModel"  # UNetLite is the same network, loadable by diffusers
        cfg["_framescore"] = {"model": model.config.to_dict(), "info": info if info is not None else model.info}
        (tmp / CONFIG).write_text(json.dumps(_jsonable(cfg), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        state = {k: v.detach().contiguous() for k, v in model.unet.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS), metadata={"format": "pt"})
        sched = {"_class_name": "DDPMScheduler", **dict(model.scheduler_config)}
        (tmp / SCHEDULER).write_text(json.dumps(_jsonable(sched), indent=2, sort_keys=True)
                                     + "\n", encoding="utf-8")
        for f in tmp.iterdir():
            f.chmod(0o644)
        tmp.chmod(0o755)
        old_card = directory / "card.md"
        if card is not None:
            (tmp / "card.md").write_text(card, encoding="utf-8")
        elif old_card.is_file():
            shutil.copy(old_card, tmp / "card.md")
        if directory.exists():
            backup = directory.with_name(f".{directory.name}-old")
            shutil.rmtree(backup, ignore_errors=True)
            directory.rename(backup)
            tmp.rename(directory)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            tmp.rename(directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


def _jsonable(d: Any) -> Any:
    if isinstance(d, dict):
        return {str(k): _jsonable(v) for k, v in d.items() if not str(k).startswith("_use_default")}
    if isinstance(d, (list, tuple)):
        return [_jsonable(v) for v in d]
    return d


def load_model(directory: str | Path, diffusers: bool = False) -> RollModel:
    """Load a checkpoint folder written by :func:`save_model`; raises :class:`CheckpointError` naming what is wrong.

    The network is :class:`~.unet_lite.UNetLite` (the same UNet, its outputs equal, without importing diffusers,
    which costs seconds), or diffusers' ``UNet2DModel`` with ``diffusers=True``, as training and calibration use."""
    directory = Path(directory)
    weights = directory / (WEIGHTS if (directory / WEIGHTS).is_file() or not (directory / OLD_WEIGHTS).is_file()
                           else OLD_WEIGHTS)
    missing = [n for n in (CONFIG, weights.name, SCHEDULER) if not (directory / n).is_file()]
    if missing:
        raise CheckpointError(f"diffusion checkpoint {directory} is missing {', '.join(missing)} "
                              "(train one with: framescore train diffusion)")
    from safetensors.torch import load_file

    cfg = json.loads((directory / CONFIG).read_text(encoding="utf-8"))
    ours = cfg.get("_framescore")
    if not isinstance(ours, dict) or "model" not in ours:
        raise CheckpointError(f"{directory / CONFIG} has no '_framescore' section: not a framescore roll model")
    config = ModelConfig.from_dict(ours["model"])
    net_cfg = {k: v for k, v in cfg.items() if not k.startswith("_")}
    try:
        if diffusers:
            from diffusers import UNet2DModel

            unet = UNet2DModel.from_config(net_cfg)
        else:
            from .unet_lite import UNetLite

            unet = UNetLite.from_config(net_cfg)
        unet.load_state_dict(load_file(str(weights)), strict=True)
    except ValueError as e:
        raise CheckpointError(f"{directory / CONFIG}: {e}") from None
    except RuntimeError as e:
        raise CheckpointError(f"{weights} does not fit its config.json: {str(e).splitlines()[0]}") from None
    unet.eval().requires_grad_(False)
    sched_cfg = json.loads((directory / SCHEDULER).read_text(encoding="utf-8"))
    return RollModel(unet, config, sched_cfg, ours.get("info", {}))
