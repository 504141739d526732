"""Train the diffusion engine's roll model on POP909 (``framescore train diffusion``).

One CPU thread by default (the machines this runs on are shared). The loop: random 4-bar windows of the training
split's roll cache (:mod:`framescore.datasets.rolls`, built first when missing), DDPM noise at a uniform timestep,
epsilon MSE, the chord channels dropped with probability ``cond_drop`` for classifier-free guidance, AdamW with a
warm-up and a cosine decay over the run (its length in steps or minutes, whichever ends first), and an EMA of the
weights, which is what ships. Validation loss is the same MSE on fixed validation windows, noise and timesteps, so
numbers from different runs compare. Every ``--save-minutes`` the EMA weights go to ``--out`` (small: the UNet
alone) and the optimizer state to ``--state`` (under ``.cache``), so a run can be stopped at any time and resumed
with ``--resume``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..symbolic.checkpoints import checkpoint_dir
from ..symbolic.models.roll_unet import ModelConfig, RollModel, denoise, new_model, save_model, training_target
from .rolls import RollCache, default_cache_dir, load_cache

__all__ = ["TrainOptions", "build_parser", "calibrate", "main", "measure", "train", "validation_loss"]


class TrainOptions(argparse.Namespace):
    """The parsed command line (also built by tests)."""


def validation_loss(model: RollModel, cache: RollCache, n_windows: int = 256, batch: int = 32, seed: int = 1234,
                    ) -> float:
    """Mean MSE of the prediction (v or epsilon) over fixed windows, timesteps and noise (no chord dropped)."""
    import torch

    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(cache), size=min(n_windows, len(cache)), replace=False))
    g = torch.Generator().manual_seed(seed)
    sched = model.train_scheduler()
    total, count = 0.0, 0
    was_training = model.unet.training
    model.unet.eval()
    with torch.inference_mode():
        for i in range(0, len(idx), batch):
            rolls, cond = cache.batch(idx[i:i + batch])
            x0 = torch.from_numpy(rolls) * 2 - 1
            noise = torch.randn(x0.shape, generator=g)
            t = torch.randint(0, sched.config.num_train_timesteps, (len(x0),), generator=g)
            out = denoise(model, sched.add_noise(x0, noise, t), t, torch.from_numpy(cond))
            total += float(((out - training_target(model, sched, x0, noise, t)) ** 2).mean()) * len(x0)
            count += len(x0)
    model.unet.train(was_training)
    return total / count


def train(model: RollModel, train_cache: RollCache, val_cache: RollCache | None, opts: argparse.Namespace,
          log: Callable[[str], None] = print, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``model`` in place (its ``unet`` ends holding the EMA weights); returns the run's figures.

    ``opts`` needs: batch, lr, warmup, steps, max_minutes, ema, seed, log_every, eval_every, eval_windows,
    save_minutes, out (or None), state_path (or None). ``state`` resumes a run saved by a previous call.
    """
    import torch

    cfg = model.config
    net = model.unet.train().requires_grad_(True)
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=opts.lr, weight_decay=0.01)
    sched = model.train_scheduler()
    rng = np.random.default_rng(opts.seed)
    g = torch.Generator().manual_seed(opts.seed)
    step, elapsed, history = 0, 0.0, []
    if state is not None:
        net.load_state_dict(state["net"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        rng.bit_generator.state = state["numpy_rng"]
        g.set_state(state["torch_rng"])
        step, elapsed, history = state["step"], state["elapsed"], state["history"]
    budget_sec = opts.max_minutes * 60.0
    t_start = time.time() - elapsed
    last_save = time.time()
    losses: list[float] = []
    ema_model = RollModel(ema, cfg, model.scheduler_config)

    def progress() -> float:
        by_steps = step / opts.steps if opts.steps else 0.0
        return min(1.0, max(by_steps, (time.time() - t_start) / budget_sec))

    def figures() -> dict[str, Any]:
        vals = [h for h in history if h.get("val_loss") is not None]
        return {"steps": step, "minutes": round((time.time() - t_start) / 60, 1), "batch": opts.batch,
                "windows_seen": step * opts.batch, "parameters": model.n_parameters,
                "train_loss": round(float(np.mean(losses[-200:])), 5) if losses else None,
                "val_loss": vals[-1]["val_loss"] if vals else None,
                "best_val_loss": min((h["val_loss"] for h in vals), default=None),
                "train_windows": len(train_cache), "val_windows": len(val_cache) if val_cache is not None else 0}

    def save() -> None:
        info = figures()
        if opts.out is not None:
            save_model(ema_model, opts.out, info=info, card=card_text(cfg, info, opts))
        if opts.state_path is not None:
            Path(opts.state_path).parent.mkdir(parents=True, exist_ok=True)
            torch.save({"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                        "numpy_rng": rng.bit_generator.state, "torch_rng": g.get_state(), "step": step,
                        "elapsed": time.time() - t_start, "history": history, "model": cfg.to_dict()},
                       opts.state_path)
        log(f"saved step {step} to {opts.out}")

    def evaluate() -> None:
        if val_cache is None:
            return
        v = validation_loss(ema_model, val_cache, opts.eval_windows)
        history.append({"step": step, "minutes": round((time.time() - t_start) / 60, 2), "val_loss": round(v, 5),
                        "train_loss": round(float(np.mean(losses[-opts.eval_every:])), 5) if losses else None})
        log(f"step {step} val_loss {v:.5f} (EMA) train_loss {history[-1]['train_loss']}")

    while progress() < 1.0:
        frac = progress()
        lr = opts.lr * min(1.0, (step + 1) / max(1, opts.warmup)) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        rolls, cond_np = train_cache.batch(rng.integers(len(train_cache), size=opts.batch))
        x0 = torch.from_numpy(rolls) * 2 - 1
        cond = torch.from_numpy(cond_np)
        drop = torch.rand(len(x0), generator=g) < cfg.cond_drop
        cond[drop, :2] = 0
        noise = torch.randn(x0.shape, generator=g)
        t = torch.randint(0, sched.config.num_train_timesteps, (len(x0),), generator=g)
        loss = torch.nn.functional.mse_loss(denoise(model, sched.add_noise(x0, noise, t), t, cond),
                                            training_target(model, sched, x0, noise, t))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        decay = min(opts.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters()):
                pe.lerp_(pn, 1 - decay)
        losses.append(loss.item())
        if step % opts.log_every == 0:
            log(f"step {step} loss {np.mean(losses[-opts.log_every:]):.5f} lr {lr:.2e} "
                f"{(time.time() - t_start) / step:.2f} s/step")
        if opts.eval_every and step % opts.eval_every == 0:
            evaluate()
        if time.time() - last_save >= opts.save_minutes * 60:
            save()
            last_save = time.time()
    if not history or history[-1]["step"] != step:
        evaluate()
    model.unet = ema
    save()
    return figures()


_PREDICTS = {"epsilon": "the noise (epsilon)", "v_prediction": "v (v-prediction: a mix of noise and roll)"}


def calibrate(model: RollModel, cache: RollCache, n_windows: int = 32, batch: int = 8, seed: int = 0,
              log: Callable[[str], None] = print) -> RollModel:
    """The model with reading thresholds fitted so that each roll channel of its samples (default guidance and
    steps) is on as often as in the data of the same windows (quantiles of the sampled values).

    A short model samples blurred rolls (values between -1 and 1 where it hesitates, and the sparse melody
    hesitates most): a threshold at 0 then reads too few notes. This fits the reading, not the network, and
    uses training windows, so the validation figures stay untouched.
    """
    import torch

    from ..symbolic.models.roll_unet import sample

    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(cache), size=min(n_windows, len(cache)), replace=False))
    g = torch.Generator().manual_seed(seed)
    made, truth = [], []
    for i in range(0, len(idx), batch):
        rolls, cond = cache.batch(idx[i:i + batch])
        made.append(sample(model, torch.from_numpy(cond), g))
        truth.append(torch.from_numpy(rolls))
    x, y = torch.cat(made), torch.cat(truth)
    thresholds = []
    for c in range(x.shape[1]):
        share = float(y[:, c].mean())
        t = float(torch.quantile(x[:, c].flatten(), 1.0 - share)) if share > 0 else 0.0
        thresholds.append(round(min(0.9, max(-0.9, t)), 3))
        log(f"channel {c}: data on {share:.4f}, sampled above 0 {float((x[:, c] > 0).float().mean()):.4f}, "
            f"threshold {thresholds[-1]}")
    return RollModel(model.unet, dataclasses.replace(model.config, thresholds=tuple(thresholds)),
                     model.scheduler_config, model.info)


def card_text(cfg: ModelConfig, info: dict[str, Any], opts: argparse.Namespace) -> str:
    """The checkpoint's card: data, split, command, time, figures (measurements are added by bench scripts)."""
    cmd = "framescore train diffusion " + " ".join(getattr(opts, "argv", []) or [])
    return f"""# diffusion: piano-roll DDPM for the `diffusion` engine

- **Model**: diffusers `UNet2DModel`, block_out_channels {list(cfg.block_out_channels)}, layers_per_block
  {cfg.layers_per_block}, mid-block attention {cfg.mid_attention}, input in {cfg.patch}×{cfg.patch} patches;
  {info['parameters']:,} parameters. Predicts {_PREDICTS[cfg.prediction_type]}; DDPM schedule `{cfg.beta_schedule}`,
  {cfg.train_timesteps} steps; sampling: DDIM (eta 0, trailing spacing), {cfg.sampling_steps} steps,
  classifier-free guidance w = {cfg.guidance} (chords dropped with p = {cfg.cond_drop} in training).
- **Input**: 4 roll channels (melody onset/sustain, harmony onset/sustain) + 3 condition channels (chord tones,
  chord root, bar density) on a {cfg.spec.window_bars}-bar window, sixteenth-note grid, MIDI
  {cfg.spec.pitch_lo}-{cfg.spec.pitch_hi}; songs transposed to C major / A minor.
- **Data**: POP909, 4/4 songs of the hash split of `framescore.datasets.pop909_split` (train for training,
  validation for the validation loss); {info['train_windows']:,} training windows (every bar start whose 4 bars
  hold no padded rest), {info['val_windows']:,} validation windows. Cache: `python -m framescore.datasets.rolls`.
- **Training**: `{cmd.strip()}`; {info['steps']:,} steps of batch {info['batch']} in {info['minutes']} min on one
  CPU thread; AdamW, lr {opts.lr:g} with warm-up and cosine decay, EMA {opts.ema}.
- **Figures**: final train loss {info['train_loss']}, validation loss (EMA weights, fixed windows/noise/timesteps)
  {info['val_loss']}, best {info['best_val_loss']}.
"""


def measure(checkpoint: Path, n_songs: int = 10, n_bars: int = 32, guidances: tuple[float, ...] = (0.0, 1.0, 3.0),
            steps: int | None = None, root: Path | None = None, log: Callable[[str], None] = print,
            tone_guidances: tuple[float, ...] = (0.0,)) -> dict[str, Any]:
    """Chord accuracy and time of the engine on the first ``n_bars`` of ``n_songs`` POP909 validation songs (4/4).

    Per guidance ``w`` and tone guidance ``s``: chord accuracy (:func:`framescore.symbolic.metrics.chord_accuracy`, pooled over half bars)
    of the whole piece (with the rule engine's bass), of the model's own parts (melody + harmony), and of the whole
    piece after the engine's post-filter applied to the same sample; seconds per compose (model loaded). For
    context: the same for the songs' real music and for the rule engine.
    """
    from ..symbolic.engines import compose, diffusion
    from ..symbolic.metrics import chord_accuracy
    from ..symbolic.piece import Piece
    from .paths import dataset_root
    from .pop909 import crop, read_song
    from .pop909_split import pop909_split

    root = root or dataset_root("pop909")
    plans, real = [], []
    for sid in pop909_split(root)["validation"]:
        if len(plans) == n_songs:
            break
        ex = read_song(root / sid)
        if ex.plan.meter_tuple != (4, 4):
            continue
        ex = crop(ex, 0, min(n_bars, ex.plan.n_bars))
        ex.plan.seed, ex.plan.engine = 0, "diffusion"
        plans.append((sid, ex.plan))
        real.append(ex.piece)

    def pooled(pieces: list[Piece], own: bool = False) -> float:
        hits = total = 0
        for piece, (_, plan) in zip(pieces, plans):
            if own:
                own_parts = [t for t in piece.tracks if t.name in ("melody", "harmony")]
                piece = dataclasses.replace(piece, tracks=own_parts, plan=plan)
            acc, n = chord_accuracy(piece, plan)
            hits, total = hits + (acc or 0.0) * n, total + n
        return round(hits / total, 4) if total else float("nan")

    out: dict[str, Any] = {"checkpoint": str(checkpoint), "songs": [s for s, _ in plans], "bars": n_bars,
                           "real_music": pooled(real), "rule_engine": pooled([compose(p, "rule") for _, p in plans])}
    diffusion._load(str(checkpoint))  # load once, outside the timings
    for w, s in ((w, s) for w in guidances for s in tone_guidances):
        pieces, secs = [], []
        for sid, plan in plans:
            t0 = time.perf_counter()
            pieces.append(compose(plan, "diffusion", checkpoint=checkpoint, guidance=w, steps=steps, tone_guidance=s))
            secs.append(time.perf_counter() - t0)
        filtered = []
        for piece, (_, plan) in zip(pieces, plans):
            tracks = [dataclasses.replace(t, notes=diffusion.drop_off_chord_onsets(t.notes, plan))
                      if t.name in ("melody", "harmony") else t for t in piece.tracks]
            filtered.append(dataclasses.replace(piece, tracks=tracks))
        row = {"chord_accuracy": pooled(pieces), "model_parts_only": pooled(pieces, own=True),
               "with_post_filter": pooled(filtered), "sec_per_piece": round(float(np.mean(secs)), 2),
               "sec_per_32_bars": round(float(np.mean(secs)) * 32 / n_bars, 2),
               "notes_per_bar": round(float(np.mean([len(p.notes()) / p.n_bars for p in pieces])), 1)}
        out[f"w={w:g},s={s:g}"] = row
        log(f"w={w:g} s={s:g}: {json.dumps(row)}")
    return out


def build_parser() -> argparse.ArgumentParser:
    from .paths import repo_root

    repo = repo_root()
    ap = argparse.ArgumentParser(prog="framescore train diffusion", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, help="datasets folder holding pop909/ (default: $FRAMESCORE_DATA or "
                                                "../shared/datasets); used when the roll cache must be built")
    ap.add_argument("--cache", type=Path, default=default_cache_dir(), help="roll cache folder (built when missing)")
    ap.add_argument("--out", type=Path, default=checkpoint_dir("diffusion"), help="checkpoint folder")
    ap.add_argument("--state", dest="state_path", type=Path,
                    default=repo / ".cache" / "train_diffusion" / "state.pt", help="optimizer state, for --resume")
    ap.add_argument("--resume", action="store_true",
                    help="continue the run saved in --state (--steps and --max-minutes count the whole run)")
    ap.add_argument("--channels", default="32,64,128", help="UNet block_out_channels")
    ap.add_argument("--layers", type=int, default=1, help="UNet layers_per_block")
    ap.add_argument("--groups", type=int, default=8, help="GroupNorm groups")
    ap.add_argument("--cond-drop", type=float, default=0.15, help="probability of dropping the chords (CFG)")
    ap.add_argument("--prediction", choices=["v_prediction", "epsilon"], default="v_prediction",
                    help="what the network predicts")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--ema", type=float, default=0.999, help="EMA decay of the shipped weights")
    ap.add_argument("--steps", type=int, default=0, help="optimizer steps (0: as many as --max-minutes allows)")
    ap.add_argument("--max-minutes", type=float, default=60.0)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-windows", type=int, default=256)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--save-minutes", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the default leaves the other cores free)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log", type=Path, help="also append the log to this file")
    ap.add_argument("--measure", action="store_true",
                    help="do not train: measure the checkpoint in --out (chord accuracy, seconds) on validation songs")
    ap.add_argument("--measure-songs", type=int, default=10)
    ap.add_argument("--measure-bars", type=int, default=32)
    ap.add_argument("--guidance", default="0,1,3", help="for --measure: comma-separated guidance weights")
    ap.add_argument("--sampling-steps", type=int, help="for --measure: DDIM steps (default: the checkpoint's)")
    ap.add_argument("--tone-guidance", default="0", help="for --measure: comma-separated tone-guidance strengths")
    ap.add_argument("--default-tone-guidance", type=float,
                    help="with --calibrate: the tone guidance compose(plan) uses, written to config.json")
    ap.add_argument("--calibrate", action="store_true",
                    help="do not train: fit the reading thresholds of the checkpoint in --out on training windows")
    ap.add_argument("--default-guidance", type=float,
                    help="with --calibrate: first store this guidance weight as the checkpoint's default")
    ap.add_argument("--default-steps", type=int,
                    help="with --calibrate: first store this number of DDIM steps as the checkpoint's default")
    ap.add_argument("--no-calibrate", dest="calibrate_after", action="store_false",
                    help="skip fitting the reading thresholds after training")
    return ap


def main(argv: list[str] | None = None) -> int:
    import torch

    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv, namespace=TrainOptions())
    args.argv = argv
    torch.set_num_threads(args.threads)
    log_file = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        if log_file:
            log_file.write(line + "\n")
            log_file.flush()

    try:
        if args.measure:
            root = args.data / "pop909" if args.data else None
            figures = measure(args.out, args.measure_songs, args.measure_bars,
                              tuple(float(w) for w in args.guidance.split(",")), args.sampling_steps, root, log,
                              tuple(float(s) for s in args.tone_guidance.split(",")))
            print(json.dumps(figures, indent=1))
            return 0
        from ..symbolic.models.roll_unet import load_model
        from .rolls import build_cache
        from .paths import DatasetError

        try:
            train_cache = load_cache("train", args.cache)
        except DatasetError:
            root = args.data / "pop909" if args.data else None
            log(f"building the roll cache in {args.cache}")
            build_cache(root, args.cache)
            train_cache = load_cache("train", args.cache)
        val_cache = load_cache("validation", args.cache)
        if args.calibrate:
            model = load_model(args.out)
            changes = {k: v for k, v in (("guidance", args.default_guidance), ("sampling_steps", args.default_steps),
                                         ("tone_guidance", args.default_tone_guidance)) if v is not None}
            model.config = dataclasses.replace(model.config, **changes)
            model = calibrate(model, train_cache, log=log)
            save_model(model, args.out)
            log(f"thresholds {model.config.thresholds} written to {args.out}")
            return 0
        state = None
        if args.resume:
            if not args.state_path.is_file():
                from ..symbolic.checkpoints import CheckpointError

                raise CheckpointError(f"--resume: no training state at {args.state_path}")
            state = torch.load(args.state_path, weights_only=False)
            config = ModelConfig.from_dict(state["model"])
        else:
            config = ModelConfig(block_out_channels=tuple(int(c) for c in args.channels.split(",")),
                                 layers_per_block=args.layers, norm_num_groups=args.groups, cond_drop=args.cond_drop,
                                 prediction_type=args.prediction)
        model = new_model(config, seed=args.seed)
        log(f"model {model.n_parameters:,} parameters; train windows {len(train_cache):,}, "
            f"validation {len(val_cache):,}; {json.dumps(config.to_dict())}")
        figures = train(model, train_cache, val_cache, args, log, state)
        log("done: " + json.dumps(figures))
        if args.calibrate_after and args.out is not None:
            model = calibrate(load_model(args.out), train_cache, log=log)
            save_model(model, args.out)
            log(f"thresholds {model.config.thresholds} written to {args.out}")
    finally:
        if log_file:
            log_file.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
