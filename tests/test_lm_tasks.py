"""T_CMP and T_ADD: formats, labels, splits (rtrlib.lm.tasks)."""

import numpy as np
import pytest

from rtrlib.lm.tasks import make_task, sample_task_tokens
from rtrlib.params import ParameterError

TOKENS = np.array([300, 17, 905, 41, 77, 1200, 64, 512, 999])


@pytest.mark.parametrize("kind", ["cmp", "add"])
def test_split_covers_all_ordered_pairs_once(kind):
    task = make_task(kind, TOKENS, seed=3)
    n = len(TOKENS)
    assert task.train.shape == (n * n // 2, 3) and task.test.shape == (n * n - n * n // 2, 3)
    assert task.train.dtype.kind == "i"
    pairs = {tuple(r[:2]) for r in np.concatenate([task.train, task.test])}
    assert len(pairs) == n * n
    assert not ({tuple(r[:2]) for r in task.train} & {tuple(r[:2]) for r in task.test})
    assert set(np.unique(task.all)) <= set(TOKENS.tolist())


def test_cmp_label_is_the_later_token_in_the_hidden_order():
    task = make_task("cmp", TOKENS, seed=1)
    pos = dict(zip(task.tokens.tolist(), task.rank.tolist(), strict=True))
    for a, b, label in task.all:
        assert label == (b if pos[b] > pos[a] else a)
    # the hidden order is a permutation, and the maximum token always wins
    top = task.tokens[np.argmax(task.rank)]
    assert all(label == top for a, b, label in task.all if top in (a, b))


def test_add_label_is_modular_sum_under_hidden_bijection():
    task = make_task("add", TOKENS, seed=2)
    res = dict(zip(task.tokens.tolist(), task.rank.tolist(), strict=True))
    n = len(TOKENS)
    assert sorted(res.values()) == list(range(n))
    for a, b, label in task.all:
        assert res[label] == (res[a] + res[b]) % n
    # addition is commutative: (a, b) and (b, a) share a label
    lab = {(a, b): c for a, b, c in task.all}
    assert all(lab[(a, b)] == lab[(b, a)] for a, b in lab)


def test_deterministic_and_seed_dependent():
    a, b = make_task("cmp", TOKENS, 5), make_task("cmp", TOKENS, 5)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.rank, b.rank)
    c = make_task("cmp", TOKENS, 6)
    assert not np.array_equal(a.train, c.train)


def test_cmp_chance_is_half_between_prompt_tokens():
    task = make_task("cmp", np.arange(100, 140), seed=0)
    off = task.all[task.all[:, 0] != task.all[:, 1]]
    assert abs(np.mean(off[:, 2] == off[:, 0]) - 0.5) < 1e-9


def test_errors_name_the_parameter():
    with pytest.raises(ParameterError, match="kind"):
        make_task("mul", TOKENS, 0)
    with pytest.raises(ParameterError, match="tokens"):
        make_task("cmp", [5, 5, 6], 0)


def test_sample_task_tokens_avoids_eod_and_bytes():
    s = sample_task_tokens(2048, 16, seed=0)
    assert len(set(s.tolist())) == 16 and s.min() >= 256 and s.max() < 2048 and 0 not in s
