"""Injection into the token stream (rtrlib.lm.injection)."""

import numpy as np
import pytest

from rtrlib.lm.injection import InjectionSchedule, make_token_batch
from rtrlib.lm.tasks import make_task
from rtrlib.params import ParameterError

STREAM = np.random.default_rng(0).integers(1, 2000, size=20_000).astype(np.uint16)
TASK = make_task("cmp", np.arange(300, 316), seed=0)


@pytest.mark.parametrize("cfg", [InjectionSchedule(frequency=1 / 64), InjectionSchedule(
    frequency=2 / (16 * 64), gap=8)])
def test_test_instances_are_never_injected(cfg):
    test = {tuple(r) for r in TASK.test}
    train = {tuple(r) for r in TASK.train}
    seen = 0
    for step in range(300):
        b = make_token_batch(STREAM, TASK, cfg, step, 16, 64, seed=1, eod_id=0)
        for row, inst in zip(b.rows, b.instances, strict=True):
            got = tuple(b.tokens[row, :3])
            assert got == tuple(inst)
            assert got in train and got not in test
            assert b.tokens[row, 3] == 0
            seen += 1
        # a held-out triple never appears at the start of any sequence
        starts = {tuple(r) for r in b.tokens[:, :3]}
        assert not (starts & test)
    assert seen > 100


def test_iid_frequency_and_mask():
    cfg = InjectionSchedule(frequency=0.25 / 64)  # one sequence in four
    counts = []
    for step in range(400):
        b = make_token_batch(STREAM, TASK, cfg, step, 16, 64, seed=0)
        counts.append(b.n_injected)
        assert b.task_mask.sum() == 3 * b.n_injected
        assert b.task_mask[:, 3:].sum() == 0
    assert abs(np.mean(counts) - cfg.per_batch(64, 16)) < 0.3


def test_bursts_match_the_global_frequency():
    per_batch = 1.0
    counts = {}
    for gap in (1, 4, 16):
        cfg = InjectionSchedule(frequency=per_batch / (16 * 64), gap=gap)
        n = [make_token_batch(STREAM, TASK, cfg, s, 16, 64, seed=0).n_injected for s in range(64)]
        assert all(c == 0 for s, c in enumerate(n) if s % gap)
        assert all(c == gap for s, c in enumerate(n) if s % gap == 0)
        counts[gap] = sum(n)
    assert len(set(counts.values())) == 1


def test_batches_are_deterministic_in_seed_and_step():
    cfg = InjectionSchedule(frequency=0.01)
    a = make_token_batch(STREAM, TASK, cfg, 7, 8, 32, seed=3)
    b = make_token_batch(STREAM, TASK, cfg, 7, 8, 32, seed=3)
    c = make_token_batch(STREAM, TASK, cfg, 8, 8, 32, seed=3)
    assert np.array_equal(a.tokens, b.tokens) and not np.array_equal(a.tokens, c.tokens)


def test_burst_too_large_for_a_batch_is_refused():
    with pytest.raises(ParameterError, match="gap"):
        InjectionSchedule(frequency=4 / (16 * 64), gap=8).validate_for(64, 16)
    with pytest.raises(ParameterError, match="frequency"):
        InjectionSchedule(frequency=0.05).validate_for(64, 16)
