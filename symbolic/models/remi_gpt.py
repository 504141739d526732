"""The transformer engine's model: a small GPT-2 decoder over :mod:`framescore.symbolic.remi`, and its files.

Training uses transformers' ``GPT2LMHeadModel`` built from a ``GPT2Config`` (no pretrained weights). A
checkpoint folder is what ``save_pretrained`` writes (``config.json``, ``model.safetensors``) plus our
``tokenizer.json`` and a ``card.md``.

Generation uses neither transformers nor torch: :class:`Decoder` runs the same GPT-2 forward pass in numpy
from those two files, one token at a time with a preallocated key/value cache. On this project's CPUs, importing
transformers takes seconds and its per-token call overhead is several times the arithmetic of a model this
small, which would miss the engine's "32 bars in under 5 s" target; tests check that the two agree.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checkpoints import CheckpointError

if TYPE_CHECKING:
    from ..remi import PlanTokenizer

__all__ = [
    "CheckpointError",
    "Decoder",
    "ModelSize",
    "load_model",
    "load_tokenizer",
    "new_model",
    "save_checkpoint",
]

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
TOKENIZER = "tokenizer.json"


@dataclass(frozen=True)
class ModelSize:
    n_layer: int = 4
    n_embd: int = 192
    n_head: int = 4
    n_ctx: int = 512


def new_model(tokenizer: PlanTokenizer, size: ModelSize = ModelSize(), seed: int = 0, dropout: float = 0.0):
    """A freshly initialised ``GPT2LMHeadModel`` for ``tokenizer``'s vocabulary (weights from ``seed``).

    Dropout defaults to 0: on a CPU budget the model sees less than one pass over POP909, so it cannot overfit.
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=len(tokenizer), n_positions=size.n_ctx, n_embd=size.n_embd, n_layer=size.n_layer,
                     n_head=size.n_head, bos_token_id=tokenizer.bos_id, eos_token_id=tokenizer.eos_id,
                     pad_token_id=tokenizer.pad_id, resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout)
    torch.manual_seed(seed)
    return GPT2LMHeadModel(cfg)


def save_checkpoint(directory: str | Path, model, tokenizer: PlanTokenizer) -> Path:
    """Write ``config.json``, ``model.safetensors`` and ``tokenizer.json`` into ``directory``, each file replaced
    atomically, so a reader (or a training run stopped mid-save) never sees half a file. Other files (the card)
    are left alone."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".save-", dir=directory))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save(tmp / TOKENIZER)
        for name in (TOKENIZER, CONFIG, WEIGHTS):  # weights last: a complete set appears when they do
            os.chmod(tmp / name, 0o644)
            os.replace(tmp / name, directory / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


def _require(directory: Path) -> None:
    missing = [n for n in (CONFIG, WEIGHTS, TOKENIZER) if not (directory / n).is_file()]
    if missing:
        raise CheckpointError(f"transformer checkpoint {directory} lacks {', '.join(missing)} "
                              "(train one with `framescore train transformer`, or use --engine rule)")


def load_tokenizer(directory: str | Path) -> PlanTokenizer:
    from ..remi import PlanTokenizer

    directory = Path(directory)
    _require(directory)
    return PlanTokenizer.load(directory / TOKENIZER)


def load_model(directory: str | Path):
    """The ``GPT2LMHeadModel`` of a checkpoint (for training and evaluation; generation uses :class:`Decoder`)."""
    from transformers import GPT2LMHeadModel

    directory = Path(directory)
    _require(directory)
    return GPT2LMHeadModel.from_pretrained(directory)


class Decoder:
    """GPT-2 inference in numpy with a key/value cache: ``feed(ids)`` → logits after the last id.

    The forward pass is transformers' GPT-2 (pre-LayerNorm blocks, tanh GELU, learned positions, tied output
    embedding), read from the checkpoint's ``config.json`` and ``model.safetensors``. ``reset()`` empties the
    cache (the generator re-encodes a sliding window of bars when the context fills).

    Why numpy and not torch: generation feeds one token at a time, about forty small operations a token, and on
    this project's 2-core CPU torch's dispatch costs 3-10 µs an operation against numpy's 1-2 µs; a token takes
    about 0.5 ms here against 1.0 ms in the leanest torch version (measured at 50-300 tokens of context), which
    is what brings 32 bars under 5 s.
    """

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        self.n_layer, self.n_head = int(config["n_layer"]), int(config["n_head"])
        self.n_embd, self.n_ctx = int(config["n_embd"]), int(config["n_positions"])
        self.eps = float(config.get("layer_norm_epsilon", 1e-5))
        if config.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
            raise CheckpointError(f"unsupported activation {config['activation_function']!r}")
        w = {k.removeprefix("transformer."): np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
        self.wte, self.wpe = w["wte.weight"], w["wpe.weight"]
        self.lm_head = w.get("lm_head.weight", self.wte)
        self.ln_f = (w["ln_f.weight"], w["ln_f.bias"])
        self.layers = []
        hd = self.n_embd // self.n_head
        for i in range(self.n_layer):
            p = f"h.{i}."
            layer = [w[p + n] for n in (
                "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                "mlp.c_proj.weight", "mlp.c_proj.bias")]
            l1w, l1b, aw, ab, pw, pb, l2w, l2b, fw, fb, f2w, f2b = layer
            # Fold what is linear into the matrices, so a step does fewer operations (exact up to rounding):
            # each layer norm's scale and shift into the projection after it, attention's 1/sqrt(head size)
            # into the query columns, and GELU's factor 1/2 into the MLP's output projection.
            q_scale = np.ones(3 * self.n_embd, dtype=np.float32)
            q_scale[:self.n_embd] = 1.0 / math.sqrt(hd)
            self.layers.append((l1w[:, None] * aw * q_scale, (l1b @ aw + ab) * q_scale, pw, pb,
                                l2w[:, None] * fw, l2b @ fw + fb, f2w * np.float32(0.5), f2b))
        # per layer: keys stored transposed (heads, head size, context) so a query multiplies them as they lie,
        # values as (heads, context, head size)
        self.keys_t = [np.zeros((self.n_head, hd, self.n_ctx), np.float32) for _ in range(self.n_layer)]
        self.values = [np.zeros((self.n_head, self.n_ctx, hd), np.float32) for _ in range(self.n_layer)]
        self.length = 0

    @classmethod
    def load(cls, directory: str | Path) -> Decoder:
        from safetensors.numpy import load_file

        directory = Path(directory)
        _require(directory)
        config = json.loads((directory / CONFIG).read_text(encoding="utf-8"))
        return cls(config, load_file(str(directory / WEIGHTS)))

    def reset(self) -> None:
        self.length = 0

    def feed(self, ids: list[int]) -> np.ndarray:
        """Append ``ids`` to the context; return the next-token logits (1-D, vocabulary size)."""
        return self.lm_head @ self.feed_hidden(ids)

    def feed_hidden(self, ids: list[int]) -> np.ndarray:
        """Append ``ids`` to the context; return the final hidden state after the last id (1-D, ``n_embd``).

        The generator multiplies it by only the output-embedding rows the grammar allows (``lm_head[rows]``),
        which saves most of the output layer's work when a handful of tokens can come next."""
        n, start = len(ids), self.length
        if n == 0:
            raise ValueError("feed() needs at least one id")
        if start + n > self.n_ctx:
            raise ValueError(f"context of {self.n_ctx} tokens exceeded ({start} + {n})")
        if n == 1:
            out = self._step(ids[0], start)
        else:
            out = self._block(ids, start)
        self.length = start + n
        return out

    def _step(self, token: int, start: int) -> np.ndarray:
        """One token, on 1-D vectors: the generator's inner loop, written for the fewest numpy calls."""
        H, d = self.n_head, self.n_embd
        hd, end, eps, tanh, matmul = d // H, start + 1, self.eps, np.tanh, np.matmul
        x = self.wte[token] + self.wpe[start]
        for (aw, ab, pw, pb, fw, fb, f2w, f2b), kt, vs in zip(self.layers, self.keys_t, self.values):
            xc = x - np.add.reduce(x) / d  # layer norm: its scale and shift live in aw, ab
            qkv = (xc @ aw) * (1.0 / math.sqrt(float(xc @ xc) / d + eps)) + ab
            qkv = qkv.reshape(3, H, hd)
            kt[:, :, start] = qkv[1]
            vs[:, start] = qkv[2]
            scores = matmul(qkv[0][:, None], kt[:, :, :end])  # (H, 1, end); q is pre-scaled
            scores -= np.maximum.reduce(scores, axis=2, keepdims=True)
            np.maximum(scores, _EXP_FLOOR, out=scores)  # exp stays a normal float: denormals are slow
            scores = np.exp(scores)
            a = matmul(scores, vs[:, :end]).reshape(H, hd) / np.add.reduce(scores, axis=2)
            x += a.reshape(d) @ pw
            x += pb
            xc = x - np.add.reduce(x) / d
            h = (xc @ fw) * (1.0 / math.sqrt(float(xc @ xc) / d + eps)) + fb
            t = h * h  # GPT-2's tanh GELU, its 1/2 in f2w: h + h tanh(c (h + 0.044715 h^3))
            t *= _GELU_C3
            t += _GELU_C
            t *= h
            tanh(t, out=t)
            t *= h
            t += h
            x += t @ f2w
            x += f2b
        xc = x - np.add.reduce(x) / d
        return xc * (self.ln_f[0] * (1.0 / math.sqrt(float(xc @ xc) / d + eps))) + self.ln_f[1]

    def _block(self, ids: list[int], start: int) -> np.ndarray:
        """Several tokens at once (a prompt, a bar's plan tokens, a re-encode), with a causal mask."""
        n, H, d = len(ids), self.n_head, self.n_embd
        hd, end = d // H, start + n
        x = self.wte[ids] + self.wpe[start:end]  # (n, d)
        # new query i sees every cached key and the new keys up to itself
        mask = np.triu(np.full((n, end), -np.inf, np.float32), k=start + 1)
        for (aw, ab, pw, pb, fw, fb, f2w, f2b), kt, vs in zip(self.layers, self.keys_t, self.values):
            qkv = (self._norm(x) @ aw + ab).reshape(n, 3, H, hd)
            kt[:, :, start:end] = qkv[:, 1].transpose(1, 2, 0)
            vs[:, start:end] = qkv[:, 2].transpose(1, 0, 2)
            scores = np.matmul(qkv[:, 0].transpose(1, 0, 2), kt[:, :, :end])  # (H, n, end); q is pre-scaled
            scores += mask
            scores = np.exp(np.maximum(scores - scores.max(axis=-1, keepdims=True), _EXP_FLOOR))
            scores /= scores.sum(axis=-1, keepdims=True)
            a = np.matmul(scores, vs[:, :end])  # (H, n, hd)
            x = x + (a.transpose(1, 0, 2).reshape(n, d) @ pw + pb)
            h = self._norm(x) @ fw + fb
            h = h + h * np.tanh(_GELU_C * (h + 0.044715 * (h * h * h)))  # tanh GELU, its 1/2 in f2w
            x = x + (h @ f2w + f2b)
        return self._norm(x[-1], *self.ln_f)

    def _norm(self, x: np.ndarray, w: np.ndarray | None = None, b: np.ndarray | None = None) -> np.ndarray:
        """Layer norm over the last axis (biased variance, as torch); scale and shift only when given."""
        xc = x - x.mean(axis=-1, keepdims=True)
        xc /= np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + self.eps)
        return xc if w is None else xc * w + b


_GELU_C = np.float32(math.sqrt(2.0 / math.pi))
#: Attention scores are floored here below their row's maximum before exp: exp(-80) is 1.8e-35, still a normal
#: float32, where lower scores would give denormals, which the CPU computes many times slower (a sharper model's
#: attention made decoding 30% slower); the weights lost are below 1e-34 of the largest.
_EXP_FLOOR = np.float32(-80.0)
_GELU_C3 = np.float32(math.sqrt(2.0 / math.pi) * 0.044715)
