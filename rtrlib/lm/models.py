"""The OLMo-2-style model ladder, built with OLMo-core's ``TransformerConfig.llama_like``.

Every size uses OLMo 2's block (reordered norm, QK-norm, RoPE, SwiGLU MLP); only width, depth
and heads change. The CPU sizes are tiny; the GPU sizes follow OLMo-core's ``olmo2_*``
factories. No hand-written transformer.
"""

from __future__ import annotations

import dataclasses

import torch
from olmo_core.nn.transformer import TransformerConfig

from rtrlib.params import ParameterError, require_int

__all__ = ["ModelSpec", "LADDER", "model_config", "build_model", "param_counts",
           "first_mlp", "ladder_table"]


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One rung of the ladder: width ``d_model``, ``n_layers`` blocks, ``n_heads`` heads."""

    name: str
    d_model: int
    n_layers: int
    n_heads: int

    def __post_init__(self) -> None:
        require_int("d_model", self.d_model, 4)
        require_int("n_layers", self.n_layers, 1)
        require_int("n_heads", self.n_heads, 1)
        if self.d_model % self.n_heads:
            raise ParameterError("n_heads", self.n_heads, f"a divisor of d_model={self.d_model}")


#: CPU rungs (about 27k / 150k / 0.8M / 3.2M parameters in the blocks) and GPU rungs.
LADDER: dict[str, ModelSpec] = {s.name: s for s in (
    ModelSpec("tiny", 32, 2, 2),
    ModelSpec("small", 64, 3, 4),
    ModelSpec("medium", 128, 4, 4),
    ModelSpec("large", 256, 4, 8),
    ModelSpec("xl", 384, 8, 8),
    ModelSpec("xxl", 512, 12, 8),
    ModelSpec("xxxl", 768, 16, 12),
)}


def get_spec(size: str | ModelSpec) -> ModelSpec:
    if isinstance(size, ModelSpec):
        return size
    if size not in LADDER:
        raise ParameterError("size", size, "one of " + ", ".join(LADDER))
    return LADDER[size]


def model_config(size: str | ModelSpec, vocab_size: int) -> TransformerConfig:
    """OLMo-core config of one rung (OLMo 2 block, fp32)."""
    spec = get_spec(size)
    return TransformerConfig.llama_like(
        d_model=spec.d_model, vocab_size=vocab_size, n_layers=spec.n_layers,
        n_heads=spec.n_heads, block_name="reordered_norm", qk_norm=True, layer_norm_eps=1e-6,
        rope_theta=500_000, hidden_size_multiple_of=16,
    )


def build_model(size: str | ModelSpec, vocab_size: int, seed: int,
                device: str = "cpu") -> torch.nn.Module:
    """Build and initialise one rung deterministically for ``seed``."""
    cfg = model_config(size, vocab_size)
    cfg.init_seed = seed
    torch.manual_seed(seed)
    model = cfg.build(init_device="cpu")
    model.init_weights(device=torch.device("cpu"))
    return model.to(device)


def param_counts(size: str | ModelSpec, vocab_size: int) -> dict[str, int]:
    """Parameter counts: total, non-embedding (OLMo-core: total minus the input embedding) and
    in the transformer blocks only (no embedding, no output head)."""
    spec = get_spec(size)
    cfg = model_config(spec, vocab_size)
    total = cfg.num_params
    head = spec.d_model * vocab_size + spec.d_model  # output projection + final norm
    return {"params": total, "non_embedding": cfg.num_non_embedding_params,
            "block_params": total - spec.d_model * vocab_size - head}


def first_mlp(model: torch.nn.Module):
    """The first block's feed-forward module (SwiGLU: ``w1``, ``w3`` in, ``w2`` out)."""
    return model.blocks["0"].feed_forward


def ladder_table(sizes, vocab_size: int):
    """A tidy table of the rungs with their parameter counts."""
    import pandas as pd

    rows = []
    for s in sizes:
        spec = get_spec(s)
        rows.append({"size": spec.name, "d_model": spec.d_model, "n_layers": spec.n_layers,
                     "n_heads": spec.n_heads, **param_counts(spec, vocab_size)})
    return pd.DataFrame(rows)
