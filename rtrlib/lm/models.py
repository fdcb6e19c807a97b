"""The OLMo-2-style model ladder, built with OLMo-core's ``TransformerConfig.llama_like``.

Every size uses OLMo 2's block (reordered norm, QK-norm, RoPE, SwiGLU MLP); only width, depth
and heads change. The CPU sizes are tiny; the GPU sizes follow OLMo-core's ``olmo2_*``
factories. The paper-size rungs (``4M``, ``20M``, ``300M``, ``1B``: about that many
non-embedding parameters in their blocks, the paper's 4M-1B) *are* OLMo-core's OLMo 2
configurations (``olmo2_30M``, ``olmo2_60M``, ``olmo2_370M``, ``olmo2_1B``, named there by
their parameters with the 100k-token vocabulary's embeddings). No hand-written transformer.
"""

from __future__ import annotations

import dataclasses

import torch
from olmo_core.nn.transformer import TransformerConfig

from rtrlib.params import ParameterError, require_int

__all__ = ["ModelSpec", "LADDER", "PAPER_RUNGS", "model_config", "build_model", "param_counts",
           "first_mlp", "ladder_table"]


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One rung of the ladder: width ``d_model``, ``n_layers`` blocks, ``n_heads`` heads;
    ``olmo2``: the name of the OLMo-core ``TransformerConfig`` factory the rung is (its own
    MLP width), or empty for the ladder's ``llama_like`` rungs."""

    name: str
    d_model: int
    n_layers: int
    n_heads: int
    olmo2: str = ""

    def __post_init__(self) -> None:
        require_int("d_model", self.d_model, 4)
        require_int("n_layers", self.n_layers, 1)
        require_int("n_heads", self.n_heads, 1)
        if self.d_model % self.n_heads:
            raise ParameterError("n_heads", self.n_heads, f"a divisor of d_model={self.d_model}")
        if self.olmo2 and not hasattr(TransformerConfig, self.olmo2):
            raise ParameterError("olmo2", self.olmo2, "an OLMo-core TransformerConfig factory")


#: CPU rungs (about 27k / 150k / 0.8M / 3.2M parameters in the blocks) and GPU rungs.
LADDER: dict[str, ModelSpec] = {s.name: s for s in (
    ModelSpec("tiny", 32, 2, 2),
    ModelSpec("small", 64, 3, 4),
    ModelSpec("medium", 128, 4, 4),
    ModelSpec("large", 256, 4, 8),
    ModelSpec("xl", 384, 8, 8),
    ModelSpec("xxl", 512, 12, 8),
    ModelSpec("xxxl", 768, 16, 12),
    # the paper's sizes by non-embedding (block) parameters: OLMo-core's OLMo 2 configurations
    ModelSpec("4M", 256, 4, 8, olmo2="olmo2_30M"),
    ModelSpec("20M", 384, 8, 8, olmo2="olmo2_60M"),
    ModelSpec("300M", 1024, 16, 16, olmo2="olmo2_370M"),
    ModelSpec("1B", 2048, 18, 16, olmo2="olmo2_1B"),
)}

#: The rungs of the paper's sizes (:data:`LADDER`'s last four).
PAPER_RUNGS = ("4M", "20M", "300M", "1B")


def get_spec(size: str | ModelSpec) -> ModelSpec:
    if isinstance(size, ModelSpec):
        return size
    if size not in LADDER:
        raise ParameterError("size", size, "one of " + ", ".join(LADDER))
    return LADDER[size]


def model_config(size: str | ModelSpec, vocab_size: int) -> TransformerConfig:
    """OLMo-core config of one rung (OLMo 2 block, fp32)."""
    spec = get_spec(size)
    if spec.olmo2:
        cfg = getattr(TransformerConfig, spec.olmo2)(vocab_size=vocab_size,
                                                     n_layers=spec.n_layers)
        if cfg.d_model != spec.d_model:
            raise ParameterError("size", spec.name, f"a rung matching OLMo-core's {spec.olmo2}")
        return cfg
    return TransformerConfig.llama_like(
        d_model=spec.d_model, vocab_size=vocab_size, n_layers=spec.n_layers,
        n_heads=spec.n_heads, block_name="reordered_norm", qk_norm=True, layer_norm_eps=1e-6,
        rope_theta=500_000, hidden_size_multiple_of=16,
    )


def build_model(size: str | ModelSpec, vocab_size: int, seed: int,
                device: str = "cpu") -> torch.nn.Module:
    """Build and initialise one rung deterministically for ``seed`` (a dry run initialises
    each rung, vocabulary and seed once per process: :func:`rtrlib.dry.reuse_init`)."""
    from rtrlib.dry import reuse_init

    cfg = model_config(size, vocab_size)
    cfg.init_seed = seed

    def make() -> torch.nn.Module:
        torch.manual_seed(seed)
        model = cfg.build(init_device="cpu")
        model.init_weights(device=torch.device("cpu"))
        return model

    model = reuse_init((get_spec(size), vocab_size, seed), make,
                       lambda: cfg.build(init_device="meta").to_empty(device="cpu"))
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
