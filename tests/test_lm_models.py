"""The OLMo-core model ladder (rtrlib.lm.models)."""

import torch

from rtrlib.lm.models import LADDER, build_model, first_mlp, ladder_table, param_counts


def test_ladder_has_at_least_four_growing_sizes_with_counts():
    cpu = ["tiny", "small", "medium", "large"]
    table = ladder_table(cpu, 2048)
    assert len(LADDER) >= 4 and list(table["size"]) == cpu
    assert table["params"].is_monotonic_increasing
    assert table["block_params"].is_monotonic_increasing
    assert (table["non_embedding"] == table["params"] - table["d_model"] * 2048).all()


def test_counts_match_the_built_olmo_core_model():
    m = build_model("small", 512, seed=0)
    assert type(m).__module__.startswith("olmo_core")
    c = param_counts("small", 512)
    assert sum(p.numel() for p in m.parameters()) == c["params"]
    assert sum(p.numel() for p in m.blocks.parameters()) == c["block_params"]
    assert first_mlp(m).w1.weight.shape[1] == LADDER["small"].d_model


def test_init_is_deterministic_for_a_seed():
    a, b, c = (build_model("tiny", 300, s) for s in (1, 1, 2))
    x = torch.randint(0, 300, (2, 8))
    assert torch.equal(a(x), b(x)) and not torch.equal(a(x), c(x))
