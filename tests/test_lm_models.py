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


def test_paper_rungs_have_the_papers_non_embedding_sizes_on_the_meta_device():
    """The 4M, 20M, 300M and 1B rungs (OLMo-core's OLMo 2 configs), counted on the meta
    device (no memory): their block (non-embedding, no output head) parameters are within
    -20%/+25% of the name, and the counts agree with OLMo-core's own."""
    import pytest

    from rtrlib.lm.models import PAPER_RUNGS, model_config

    vocab = 100_352  # OLMo 2's padded vocabulary
    target = {"4M": 4e6, "20M": 20e6, "300M": 300e6, "1B": 1e9}
    blocks = []
    for name in PAPER_RUNGS:
        cfg = model_config(name, vocab)
        model = cfg.build(init_device="meta")
        assert all(p.device.type == "meta" for p in model.parameters())
        n = sum(p.numel() for p in model.parameters())
        emb = model.embeddings.weight.numel()
        head = sum(p.numel() for p in model.lm_head.parameters())
        counts = param_counts(name, vocab)
        assert n == counts["params"] == cfg.num_params
        assert n - emb == counts["non_embedding"] == cfg.num_non_embedding_params
        assert n - emb - head == counts["block_params"]
        assert target[name] * 0.8 <= counts["block_params"] <= target[name] * 1.25, name
        blocks.append(counts["block_params"])
    assert blocks == sorted(blocks)
    with pytest.raises(Exception, match="size"):
        param_counts("2B", vocab)
