"""The transformer engine's model: a small GPT-2 decoder over :mod:`framescore.datasets.tokens`, and its files.

Training uses transformers' ``GPT2LMHeadModel`` built from a ``GPT2Config`` (no pretrained weights). A
checkpoint folder is what ``save_pretrained`` writes (``config.json``, ``model.safetensors``) plus our
``tokenizer.json`` and a ``card.md``.

Generation does not import transformers: :class:`Decoder` runs the same GPT-2 forward pass in plain torch
from those two files, one token at a time with a preallocated key/value cache. On this project's CPUs, importing
transformers takes seconds and its per-token call overhead is several times the arithmetic of a model this
small, which would miss the engine's "32 bars in a few seconds" target; tests check that the two agree.
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

from ...errors import FramescoreError

if TYPE_CHECKING:
    import torch

    from ...datasets.tokens import PlanTokenizer

__all__ = [
    "CheckpointError",
    "Decoder",
    "ModelSize",
    "checkpoint_dir",
    "load_model",
    "load_tokenizer",
    "new_model",
    "save_checkpoint",
]

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
TOKENIZER = "tokenizer.json"


class CheckpointError(FramescoreError):
    """A checkpoint folder that is missing or incomplete."""


@dataclass(frozen=True)
class ModelSize:
    n_layer: int = 4
    n_embd: int = 192
    n_head: int = 4
    n_ctx: int = 512


def checkpoint_dir(name: str = "transformer") -> Path:
    """``checkpoints/<name>`` in the repository (``$FRAMESCORE_TRANSFORMER_CHECKPOINT`` overrides the default)."""
    env = os.environ.get("FRAMESCORE_TRANSFORMER_CHECKPOINT")
    if env and name == "transformer":
        return Path(env)
    return Path(__file__).resolve().parents[2] / "checkpoints" / name


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
    from ...datasets.tokens import PlanTokenizer

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
    """GPT-2 inference in plain torch with a key/value cache: ``feed(ids)`` → logits after the last id.

    The forward pass is transformers' GPT-2 (pre-LayerNorm blocks, tanh GELU, learned positions, tied output
    embedding), read from the checkpoint's ``config.json`` and ``model.safetensors``. ``reset()`` empties the
    cache (the generator re-encodes a sliding window of bars when the context fills).
    """

    def __init__(self, config: dict[str, Any], weights: dict[str, torch.Tensor]) -> None:
        import torch

        self.n_layer, self.n_head = int(config["n_layer"]), int(config["n_head"])
        self.n_embd, self.n_ctx = int(config["n_embd"]), int(config["n_positions"])
        self.eps = float(config.get("layer_norm_epsilon", 1e-5))
        if config.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
            raise CheckpointError(f"unsupported activation {config['activation_function']!r}")
        w = {k.removeprefix("transformer."): v.float().contiguous() for k, v in weights.items()}
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
            # fold attention's 1/sqrt(head size) into the query projection: one multiplication less per layer
            q_scale = torch.ones(3 * self.n_embd)
            q_scale[:self.n_embd] = 1.0 / math.sqrt(hd)
            layer[2], layer[3] = layer[2] * q_scale, layer[3] * q_scale
            self.layers.append(tuple(layer))
        self.cache = torch.zeros(self.n_layer, 2, self.n_head, self.n_ctx, hd)
        self.length = 0

    @classmethod
    def load(cls, directory: str | Path) -> Decoder:
        from safetensors.torch import load_file

        directory = Path(directory)
        _require(directory)
        config = json.loads((directory / CONFIG).read_text(encoding="utf-8"))
        return cls(config, load_file(str(directory / WEIGHTS)))

    def reset(self) -> None:
        self.length = 0

    def feed(self, ids: list[int]) -> torch.Tensor:
        """Append ``ids`` to the context; return the next-token logits (1-D, vocabulary size)."""
        import torch

        with torch.inference_mode():
            return self.feed_hidden(ids) @ self.lm_head.T

    def feed_hidden(self, ids: list[int]) -> torch.Tensor:
        """Append ``ids`` to the context; return the final hidden state after the last id (1-D, ``n_embd``).

        The generator multiplies it by only the output-embedding rows the grammar allows (``lm_head[rows]``),
        which saves most of the output layer's work when a handful of tokens can come next."""
        import torch
        import torch.nn.functional as F

        n, start = len(ids), self.length
        if n == 0:
            raise ValueError("feed() needs at least one id")
        if start + n > self.n_ctx:
            raise ValueError(f"context of {self.n_ctx} tokens exceeded ({start} + {n})")
        H, hd, d = self.n_head, self.n_embd // self.n_head, self.n_embd
        eps, layer_norm = self.eps, torch.layer_norm  # the op F.layer_norm wraps, without the wrapper's checks
        with torch.inference_mode():
            if n == 1:
                x = (self.wte[ids[0]] + self.wpe[start]).unsqueeze(0)
            else:
                x = self.wte[torch.tensor(ids)] + self.wpe[start:start + n]
            mask = None
            if n > 1:  # new query i sees every cached key and the new keys up to itself
                mask = torch.ones(n, start + n, dtype=torch.bool).tril(diagonal=start)
            for li, (l1w, l1b, aw, ab, pw, pb, l2w, l2b, fw, fb, f2w, f2b) in enumerate(self.layers):
                h = layer_norm(x, (d,), l1w, l1b, eps, False)
                qkv = torch.addmm(ab, h, aw).view(n, 3, H, hd).permute(1, 2, 0, 3)
                q = qkv[0]  # already scaled by 1/sqrt(hd)
                self.cache[li, :, :, start:start + n] = qkv[1:]
                keys, vals = self.cache[li, 0, :, :start + n], self.cache[li, 1, :, :start + n]
                if n == 1:  # one query: two small matrix products beat the fused kernel's set-up on a CPU
                    a = torch.bmm(torch.softmax(torch.bmm(q, keys.transpose(1, 2)), dim=-1), vals)
                else:
                    a = F.scaled_dot_product_attention(q, keys, vals, attn_mask=mask, scale=1.0)
                x = x + torch.addmm(pb, a.transpose(0, 1).reshape(n, d), pw)
                h = layer_norm(x, (d,), l2w, l2b, eps, False)
                x = x + torch.addmm(f2b, F.gelu(torch.addmm(fb, h, fw), approximate="tanh"), f2w)
            out = layer_norm(x[-1], (d,), self.ln_f[0], self.ln_f[1], eps, False)
        self.length = start + n
        return out
