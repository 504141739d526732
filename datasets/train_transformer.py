"""Train the transformer engine's model: ``framescore train transformer`` (or ``python -m`` this module).

Data: the token cache of :mod:`framescore.datasets.build_corpus` (built first if missing). Each training example
is a random window of one song that starts at a ``Bar`` token, with the song's global tokens (``BOS Mode
TempoBin Valence Arousal``) put in front, so the model always sees them as it will at generation. The loss
counts only what the model chooses at generation: the plan tokens (global, ``TimeSig``, chords, density,
dynamics) are inserted there, so they are inputs here, never targets.

AdamW, linear warm-up then cosine decay; a run is bounded by ``--steps`` or, with ``--steps 0``, by
``--max-minutes`` (the step count is then re-fitted every 10 steps to the time left at the speed seen so far, so
the schedule ends with the budget even on a shared machine; a resumed run keeps the count it had).
Every ``--eval-every`` steps the validation loss is measured on a fixed set of windows of the validation split
and, when it improves, the model is saved to ``--out`` (``config.json``, ``model.safetensors``,
``tokenizer.json``); the full training state goes to ``--state`` every ``--save-minutes`` for ``--resume``.
SIGTERM/SIGINT stop cleanly after the current step, with a last evaluation and save. An add-k bigram model
counted on the training split is scored on the same validation tokens, as the floor to beat.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["bigram_nll", "main", "train"]

PREFIX_LEN = 5  # BOS Mode TempoBin Valence Arousal


def _log(msg: str, log_file: Path | None) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if log_file is not None:
        with open(log_file, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class Windows:
    """Windows of ``n_ctx`` ids that start at a ``Bar``, with the song's prefix in front, and their loss mask."""

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray, bar_id: int, pad_id: int, scored: np.ndarray,
                 n_ctx: int) -> None:
        self.tokens, self.offsets, self.pad_id, self.n_ctx = tokens.astype(np.int64), offsets, pad_id, n_ctx
        self.scored = scored  # bool per vocabulary id: is it a target the model chooses?
        self.bars = np.flatnonzero(tokens == bar_id)
        self.song_of_bar = np.searchsorted(offsets, self.bars, side="right") - 1
        if len(self.bars) == 0:
            raise ValueError("corpus has no Bar tokens")

    def window(self, bar_index: int) -> tuple[np.ndarray, np.ndarray]:
        """Input ids and labels (-100 where not scored) of the window starting at bar ``bar_index``."""
        pos, song = int(self.bars[bar_index]), int(self.song_of_bar[bar_index])
        start, end = int(self.offsets[song]), int(self.offsets[song + 1])
        body = self.tokens[pos:min(end, pos + self.n_ctx - PREFIX_LEN)]
        ids = np.full(self.n_ctx, self.pad_id, dtype=np.int64)
        seq = np.concatenate([self.tokens[start:start + PREFIX_LEN], body])
        ids[:len(seq)] = seq
        labels = np.where(self.scored[ids], ids, -100)
        labels[:PREFIX_LEN] = -100
        labels[len(seq):] = -100
        return ids, labels

    def batch(self, bar_indices) -> tuple:
        import torch

        pairs = [self.window(int(i)) for i in bar_indices]
        return torch.from_numpy(np.stack([p[0] for p in pairs])), torch.from_numpy(np.stack([p[1] for p in pairs]))

    def tiling(self, limit: int, seed: int = 1234) -> np.ndarray:
        """Bar indices of windows that follow one another without overlap, ``limit`` of them picked at random
        (fixed seed): the validation set, the same at every evaluation and in every run."""
        picks, next_free = [], -1
        for i, pos in enumerate(self.bars):
            song = self.song_of_bar[i]
            if pos >= next_free or (i > 0 and song != self.song_of_bar[i - 1]):
                picks.append(i)
                next_free = pos + self.n_ctx - PREFIX_LEN
        picks = np.asarray(picks)
        if len(picks) > limit:
            picks = np.sort(np.random.default_rng(seed).choice(picks, limit, replace=False))
        return picks


def scored_mask(tokenizer) -> np.ndarray:
    """Ids the model chooses at generation (music tokens and ``Bar``); plan and special tokens are given."""
    mask = np.zeros(len(tokenizer), dtype=bool)
    for i in range(len(tokenizer)):
        mask[i] = not tokenizer.is_plan_token(i) and i not in (tokenizer.pad_id, tokenizer.bos_id)
    return mask


def bigram_nll(train: Windows, val_windows: list[tuple[np.ndarray, np.ndarray]], vocab: int,
               ks=(0.01, 0.03, 0.1, 0.3, 1.0)) -> tuple[float, float]:
    """Mean negative log-likelihood (nats/token) of an add-k bigram counted on the training songs, over the
    validation windows' scored tokens; the best k of ``ks`` (so the baseline is as strong as it can be) and it."""
    toks = train.tokens
    prev, nxt = toks[:-1], toks[1:]
    inside = np.ones(len(prev), dtype=bool)
    inside[train.offsets[1:-1] - 1] = False  # no pairs across songs
    counts = np.bincount(prev[inside] * vocab + nxt[inside], minlength=vocab * vocab).reshape(vocab, vocab)
    prev_v = np.concatenate([w[0][:-1] for w in val_windows])
    next_l = np.concatenate([w[1][1:] for w in val_windows])
    keep = next_l >= 0
    p, n = prev_v[keep], next_l[keep]
    best = (math.inf, ks[0])
    for k in ks:
        probs = (counts[p, n] + k) / (counts[p].sum(axis=1) + k * vocab)
        best = min(best, (float(-np.log(probs).mean()), k))
    return best


def _evaluate(model, val: Windows, picks: np.ndarray, batch: int) -> float:
    import torch

    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(picks), batch):
            ids, labels = val.batch(picks[i:i + batch])
            logits = model(ids).logits[:, :-1]
            tgt = labels[:, 1:]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                                                     ignore_index=-100, reduction="sum")
            total += float(loss)
            count += int((tgt >= 0).sum())
    model.train()
    return total / max(count, 1)


def train(args: argparse.Namespace) -> dict:
    import torch

    from ..symbolic.models.remi_gpt import ModelSize, load_model, new_model, save_checkpoint
    from ..symbolic.remi import PlanTokenizer
    from .build_corpus import build_corpus, load_corpus

    torch.set_num_threads(args.threads)
    log_file = Path(args.log) if args.log else None
    corpus = Path(args.corpus)
    if not (corpus / "train.npy").is_file():
        _log(f"building the corpus in {corpus}", log_file)
        build_corpus(args.root, corpus, quiet=True)
    tok = PlanTokenizer.load(corpus / "tokenizer.json")
    scored = scored_mask(tok)
    tok.mark_unseen(load_corpus(corpus, "train")[0])  # stored with the checkpoint, for the generator
    size = ModelSize(args.layers, args.dim, args.heads, args.ctx)
    tr = Windows(*load_corpus(corpus, "train"), tok.bar_id, tok.pad_id, scored, size.n_ctx)
    va = Windows(*load_corpus(corpus, "validation"), tok.bar_id, tok.pad_id, scored, size.n_ctx)
    picks = va.tiling(args.eval_windows)
    _log(f"corpus: train {len(tr.tokens):,} tokens ({len(tr.offsets) - 1} songs, {len(tr.bars):,} bars), "
         f"validation {len(va.tokens):,} tokens; {len(picks)} validation windows of {size.n_ctx}", log_file)

    state_path = Path(args.state)
    rng = np.random.default_rng(args.seed)
    step, history, best, total_steps, trained_sec = 0, [], math.inf, args.steps, 0.0
    if args.resume and state_path.is_file():
        st = torch.load(state_path, weights_only=False)
        model = new_model(tok, ModelSize(**st["size"]))
        model.load_state_dict(st["model"])
        step, history, best = st["step"], st["history"], st["best"]
        total_steps = args.steps or st["total_steps"]
        trained_sec = st.get("trained_sec", 0.0)
        rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        _log(f"resumed at step {step} of {total_steps}", log_file)
    elif args.init and Path(args.init).is_dir():
        model = load_model(args.init)
    else:
        model = new_model(tok, size, seed=args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    _log(f"model: GPT-2 {size.n_layer} layers x {size.n_embd} dim x {size.n_head} heads, context {size.n_ctx}, "
         f"{n_params:,} parameters", log_file)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    if args.resume and state_path.is_file():
        opt.load_state_dict(st["opt"])

    bigram = None
    if args.bigram:
        val_windows = [va.window(int(i)) for i in picks]
        nll, k = bigram_nll(tr, val_windows, len(tok))
        bigram = {"nll": nll, "ppl": math.exp(nll), "k": k}
        _log(f"bigram baseline (add-{k}): validation loss {nll:.4f}, perplexity {math.exp(nll):.2f}", log_file)

    stop = {"now": False}

    def _stop(signum, frame):  # noqa: ARG001
        stop["now"] = True

    old = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}

    def lr_at(s: int) -> float:
        if s < args.warmup:
            return args.lr * (s + 1) / args.warmup
        frac = min(1.0, (s - args.warmup) / max(1, total_steps - args.warmup))
        return args.lr * (args.min_lr + (1 - args.min_lr) * 0.5 * (1 + math.cos(math.pi * frac)))

    def save_state() -> None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = state_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "history": history,
                    "best": best, "total_steps": total_steps, "rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(), "trained_sec": trained_sec,
                    "size": {"n_layer": model.config.n_layer, "n_embd": model.config.n_embd,
                             "n_head": model.config.n_head, "n_ctx": model.config.n_positions}}, tmp)
        tmp.replace(state_path)

    def evaluate_and_save() -> None:
        nonlocal best
        loss = _evaluate(model, va, picks, args.batch)
        history.append({"step": step, "val_loss": loss, "val_ppl": math.exp(loss), "train_sec": round(trained_sec)})
        msg = f"step {step}: validation loss {loss:.4f}, perplexity {math.exp(loss):.2f}"
        if loss < best:
            best = loss
            save_checkpoint(args.out, model, tok)
            msg += f" (best: saved to {args.out})"
        _log(msg, log_file)

    model.train()
    auto_steps = not args.steps and not (args.resume and state_path.is_file() and total_steps)
    first_step = step
    t_start, last_save, window_loss = time.time(), time.time(), []
    tokens_seen = 0
    try:
        while not stop["now"]:
            if total_steps and step >= total_steps:
                break
            t0 = time.time()
            ids, labels = tr.batch(rng.integers(0, len(tr.bars), size=args.batch))
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            loss = model(ids, labels=labels).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            trained_sec += time.time() - t0
            tokens_seen += ids.numel()
            window_loss.append(loss.item())
            if auto_steps and step % 10 == 0:  # fit the schedule to the time left, at the speed seen so far
                per_step = (time.time() - t_start) / (step - first_step)
                left = args.max_minutes * 60 * 0.97 - (time.time() - t_start)
                total_steps = max(args.warmup + 10, step + 1, step + int(left / per_step))
            if step % args.log_every == 0:
                el = time.time() - t_start
                _log(f"step {step}/{total_steps or '?'} loss {np.mean(window_loss):.4f} lr {lr_at(step):.2e} "
                     f"{tokens_seen / el:.0f} tok/s {el / 60:.1f} min", log_file)
                window_loss = []
            if step % args.eval_every == 0:
                evaluate_and_save()
            if time.time() - last_save > args.save_minutes * 60:
                save_state()
                last_save = time.time()
            if args.max_minutes and (time.time() - t_start) > args.max_minutes * 60:
                _log("time budget reached", log_file)
                break
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if not history or history[-1]["step"] != step:
        evaluate_and_save()
    save_state()
    result = {"steps": step, "total_steps": total_steps, "train_minutes": round(trained_sec / 60, 1),
              "best_val_loss": best, "best_val_ppl": math.exp(best), "bigram": bigram, "history": history,
              "parameters": n_params, "train_tokens_seen": int(step * args.batch * size.n_ctx),
              "corpus_tokens": {"train": int(len(tr.tokens)), "validation": int(len(va.tokens))},
              "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    (state_path.parent / "result.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    _log(f"done: {step} steps, best validation loss {best:.4f} (perplexity {math.exp(best):.2f})"
         + (f" vs bigram {bigram['nll']:.4f} ({bigram['ppl']:.2f})" if bigram else ""), log_file)
    return result


def measure(checkpoint: str | Path | None = None, n_songs: int = 8, n_bars: int = 32, root: str | Path | None = None,
            key_finders: bool = False, **sampling) -> dict:
    """Generation speed on a 32-bar plan, and chord accuracy / key agreement of the engine on the first
    ``n_bars`` bars of the first ``n_songs`` POP909 validation songs (the real songs' own first bars beside them:
    POP909's piano and melody scored against the plan made from POP909's annotations).

    ``key_finders`` also judges each song's key by music21's Aarden–Essen, Temperley–Kostka–Payne and
    Bellman–Budge key finders, which neither the metric nor the engine's key guide uses: a check that a better key
    agreement is the music's and not one template's."""
    from ..symbolic.engines import compose
    from ..symbolic.engines import transformer as engine
    from ..symbolic.metrics import plan_metrics
    from ..symbolic.plan import simple_plan
    from .pop909 import crop, iter_songs

    directory = Path(checkpoint) if checkpoint else None
    out: dict = {"sampling": {**engine.DEFAULTS, **sampling}}
    plan = simple_plan(32 * 2.4, tempo_bpm=100, key="D major", chords="I vi IV V", seed=0)
    t0 = time.perf_counter()
    compose(plan, "transformer", checkpoint=directory, **sampling)  # loads the checkpoint once
    out["first_compose_sec"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    opts = {k: v for k, v in {**engine.DEFAULTS, **sampling}.items() if k != "trim_at_chord_changes"}
    ids = engine.generate_tokens(plan, directory, **opts)
    gen_sec = time.perf_counter() - t0
    t0 = time.perf_counter()
    compose(plan, "transformer", checkpoint=directory, **sampling)
    out.update(bars=plan.n_bars, tokens=len(ids), generate_sec=gen_sec, tokens_per_sec=len(ids) / gen_sec,
               compose_32_bars_sec=time.perf_counter() - t0)
    rows = []
    for i, ex in enumerate(iter_songs(root, "validation")):
        if i >= n_songs:
            break
        ex = crop(ex, 0, min(n_bars, ex.plan.n_bars))  # the key annotated for these bars, as evaluate does
        p, real_piece = ex.plan, ex.piece
        p.seed = i
        piece = compose(p, "transformer", checkpoint=directory, **sampling)
        m = plan_metrics(piece, p)
        real = plan_metrics(real_piece, p)
        rows.append({"song": ex.song_id, "key": p.key, "chord_accuracy": m["chord_accuracy"],
                     "key_agreement": m["key_agreement"], "key_agreement_relative": m["key_agreement_relative"],
                     "density_correlation": m["density_correlation"], "real_chord_accuracy": real["chord_accuracy"],
                     "real_key_agreement": real["key_agreement"]})
        if key_finders:
            for name, agree in _other_key_finders(piece, p.key_obj).items():
                rows[-1][f"key_agreement_{name}"] = agree
            for name, agree in _other_key_finders(real_piece, p.key_obj).items():
                rows[-1][f"real_key_agreement_{name}"] = agree
    out["songs"] = rows
    finders = [f"{w}key_agreement_{n}" for n in OTHER_KEY_FINDERS for w in ("", "real_")] if key_finders else []
    for k in ["chord_accuracy", "key_agreement", "key_agreement_relative", "density_correlation",
              "real_chord_accuracy", "real_key_agreement"] + finders:
        vals = [r[k] for r in rows if r[k] is not None]
        out[f"mean_{k}"] = float(np.mean(vals)) if vals else None
    # hand-made plans like the ones the vision mapping writes: common progressions, keys around the circle
    synth = []
    for i, (key, chords, meter) in enumerate(SYNTHETIC_PLANS):
        p = simple_plan(16 * 2.4, tempo_bpm=100, key=key, meter=meter, chords=chords, seed=i)
        m = plan_metrics(compose(p, "transformer", checkpoint=directory, **sampling), p)
        synth.append({"key": key, "chords": chords, "meter": meter, "chord_accuracy": m["chord_accuracy"],
                      "key_agreement": m["key_agreement"], "key_agreement_relative": m["key_agreement_relative"],
                      "key_estimated": m["key_estimated"]})
    out["synthetic"] = synth
    for k in ("chord_accuracy", "key_agreement", "key_agreement_relative"):
        out[f"synthetic_mean_{k}"] = float(np.mean([r[k] for r in synth]))
    return out


OTHER_KEY_FINDERS = {"aarden_essen": "key.aarden", "temperley_kostka_payne": "key.temperley",
                     "bellman_budge": "key.bellman"}


def _other_key_finders(piece, key) -> dict[str, float]:
    """1.0 / 0.0: does each of music21's key finders in ``OTHER_KEY_FINDERS`` hear ``key`` in the pitched parts?"""
    import dataclasses
    import tempfile

    import music21

    from ..symbolic.midi_io import to_symusic

    pitched = dataclasses.replace(piece, tracks=[t for t in piece.tracks if not t.is_drum])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "piece.mid"
        to_symusic(pitched).dump_midi(str(path))
        stream = music21.converter.parse(str(path))
    out = {}
    for name, method in OTHER_KEY_FINDERS.items():
        k = stream.analyze(method)
        out[name] = float((k.tonic.pitchClass, k.mode) == (key.tonic % 12, key.mode))
    return out


def measure_va(checkpoint: str | Path | None = None, seeds: int = 2, **sampling) -> dict:
    """Does the plan's valence–arousal steer the model? The same hand-made plans (4 progressions × ``seeds``,
    16 bars, 100 bpm) with valence and arousal at each quadrant's corner (±0.8), and the EMOPIA classifier's
    mean valence and arousal of what the model writes (melody and piano, without the rule engine's parts)."""
    import dataclasses

    from ..symbolic.engines import compose
    from ..symbolic.models.va_classifier import VAClassifier
    from ..symbolic.plan import simple_plan

    clf = VAClassifier.load()
    directory = Path(checkpoint) if checkpoint else None
    out = {}
    for quadrant, (v, a) in {1: (0.8, 0.8), 2: (-0.8, 0.8), 3: (-0.8, -0.8), 4: (0.8, -0.8)}.items():
        got = []
        for key, chords, _meter in SYNTHETIC_PLANS[::2]:
            for seed in range(seeds):
                plan = simple_plan(16 * 2.4, tempo_bpm=100, key=key, chords=chords, seed=seed)
                plan.valence, plan.arousal = v, a
                piece = compose(plan, "transformer", checkpoint=directory, **sampling)
                own = dataclasses.replace(piece, tracks=[t for t in piece.tracks if t.name in ("melody", "harmony")])
                got.append(clf.valence_arousal(own))
        mean = np.mean(got, axis=0)
        out[f"Q{quadrant}"] = {"plan": [v, a], "classifier_valence": round(float(mean[0]), 3),
                               "classifier_arousal": round(float(mean[1]), 3), "pieces": len(got)}
    return out


SYNTHETIC_PLANS = [
    ("C major", "I vi IV V", "4/4"), ("G major", "I V vi IV", "4/4"), ("Eb major", "I IV V I", "3/4"),
    ("A major", "ii7 V7 Imaj7 vi", "4/4"), ("A minor", "i VI III VII", "4/4"), ("E minor", "i iv V i", "4/4"),
    ("F minor", "i VII VI V", "3/4"), ("C# minor", "i VI iv V", "4/4"),
]


def build_parser(ap: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    from ..symbolic.checkpoints import checkpoint_dir
    from .build_corpus import default_corpus_dir
    from .paths import repo_root

    repo = repo_root()
    ap = ap or argparse.ArgumentParser(prog="framescore train transformer", description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, help="POP909 folder, used when the corpus must be built")
    ap.add_argument("--corpus", type=Path, default=default_corpus_dir(), help="token cache (built when missing)")
    ap.add_argument("--out", type=Path, default=checkpoint_dir("transformer"), help="checkpoint folder")
    ap.add_argument("--state", type=Path, default=repo / ".cache" / "train_transformer" / "state.pt",
                    help="training state for --resume")
    ap.add_argument("--resume", action="store_true", help="continue from --state")
    ap.add_argument("--init", type=Path, help="start from this checkpoint's weights instead of random ones")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--dim", type=int, default=192)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=0.1, help="final learning rate, as a share of --lr")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--steps", type=int, default=0, help="optimizer steps (0: as many as --max-minutes allows)")
    ap.add_argument("--max-minutes", type=float, default=60.0)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-windows", type=int, default=96)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--save-minutes", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the default leaves the other cores free)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-bigram", dest="bigram", action="store_false", help="skip the bigram baseline")
    ap.add_argument("--log", help="also append the log to this file")
    ap.add_argument("--measure", action="store_true",
                    help="do not train: print generation speed and chord/key adherence of the --out checkpoint")
    ap.add_argument("--measure-va", action="store_true",
                    help="compose hand-made plans at each valence-arousal corner and print what the classifier hears")
    ap.add_argument("--measure-songs", type=int, default=8, help="validation songs --measure composes for")
    ap.add_argument("--chord-tones", choices=["none", "strong", "harmony", "all"], help="for --measure")
    ap.add_argument("--passing-max", type=int, help="for --measure: longest non-chord tone, in grid steps")
    ap.add_argument("--no-trim", action="store_true", help="for --measure: keep notes ringing into the next chord")
    ap.add_argument("--chromatic-passing", action="store_true",
                    help="for --measure: let non-chord tones leave the key's scale")
    ap.add_argument("--key-finders", action="store_true",
                    help="for --measure: also judge keys by three music21 key finders the engine does not use")
    ap.add_argument("--key-guidance", type=float,
                    help="for --measure and --measure-va: strength of the key guide in nats (0: off; default: the engine's)")
    return ap


def main(argv: list[str] | None = None) -> int:
    from ..errors import FramescoreError

    args = build_parser().parse_args(argv)
    try:
        if args.measure_va:
            sampling = {} if args.key_guidance is None else {"key_guidance": args.key_guidance}
            print(json.dumps(measure_va(args.out, **sampling), indent=1))
            return 0
        if args.measure:
            sampling = {"chord_tones": args.chord_tones} if args.chord_tones else {}
            if args.passing_max is not None:
                sampling["passing_max_positions"] = args.passing_max
            if args.no_trim:
                sampling["trim_at_chord_changes"] = False
            if args.chromatic_passing:
                sampling["diatonic_passing"] = False
            if args.key_guidance is not None:
                sampling["key_guidance"] = args.key_guidance
            print(json.dumps(measure(args.out, args.measure_songs, root=args.root, key_finders=args.key_finders,
                                     **sampling), indent=1))
            return 0
        train(args)
    except FramescoreError as e:
        print(f"framescore train transformer: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
