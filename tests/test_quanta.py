"""Chapter 1's quanta model: Zipf frequencies and tail mass, capacity and data limits, the
sampled sweep, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from rtrlib.params import ParameterError
from rtrlib.theory import quanta as qm

S = 1.46  # s = 1 + alpha for the paper's alpha


def small_sweep(**overrides) -> qm.QuantaSweepConfig:
    kw = dict(s=S, capacities={"small": 300, "large": 1200}, min_count=5, data_points=6, seed=1)
    return qm.QuantaSweepConfig(**(kw | overrides))


@pytest.mark.parametrize("call, name", [
    (lambda: qm.zipf_frequency([0, 1], S), "k"),
    (lambda: qm.zipf_frequency(1.5, S), "k"),
    (lambda: qm.zipf_frequency(1, 1.0), "s"),
    (lambda: qm.zipf_frequency(1, float("inf")), "s"),
    (lambda: qm.zipf_exponent_for(0.0), "alpha"),
    (lambda: qm.zipf_tail_mass(2.5, S), "n"),
    (lambda: qm.zipf_tail_mass(-1, S), "n"),
    (lambda: qm.zipf_mass_between(10, 5, S), "n_hi"),
    (lambda: qm.quanta_capacity(1e9, 0), "params_per_quantum"),
    (lambda: qm.quanta_capacity("big", 1e4), "n_params"),
    (lambda: qm.quanta_data_limit(-1.0, S), "n_tokens"),
    (lambda: qm.quanta_data_limit(1e9, S, min_count=0), "min_count"),
    (lambda: qm.quanta_loss(2.5, S), "n_learned"),
    (lambda: qm.quanta_loss(10, S, loss_per_quantum=0), "loss_per_quantum"),
    (lambda: qm.sample_quanta_counts(10, 0, S), "n_quanta"),
    (lambda: qm.sample_quanta_counts(-1, 10, S), "n_tokens"),
    (lambda: qm.sample_quanta_counts(10, 10, S, rng=-3), "rng"),
    (lambda: qm.learned_from_counts([1, 2], 1, min_count=0), "min_count"),
    (lambda: qm.learned_from_counts([1, -2], 1), "counts"),
    (lambda: qm.learned_from_counts(["a", "b"], 1), "counts"),
    (lambda: qm.learned_from_counts([1, 2], -1), "capacity"),
    (lambda: qm.unlearned_mass([1, 0], S), "learned"),
    (lambda: small_sweep(s=1.0), "s"),
    (lambda: small_sweep(capacities={}), "capacities"),
    (lambda: small_sweep(capacities={"a": 0}), "capacities"),
    (lambda: small_sweep(capacities={"a": 2.5}), "capacities['a']"),
    (lambda: small_sweep(min_count=0), "min_count"),
    (lambda: small_sweep(data_points=1), "data_points"),
    (lambda: small_sweep(budget_span=(1e4,)), "budget_span"),
    (lambda: small_sweep(budget_span=(0.5, 2.0)), "budget_span"),
    (lambda: small_sweep(budget_span=(1e4, -1.0)), "budget_span[1]"),
    (lambda: small_sweep(n_ranks=100), "n_ranks"),
    (lambda: small_sweep(seed=-1), "seed"),
    (lambda: qm.run_quanta_sweep({"s": S}), "config"),
])
def test_bad_inputs_name_the_parameter(call, name):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.name == name
    assert repr(name) in str(info.value)


def test_zipf_frequencies_and_tail_mass():
    s = qm.zipf_exponent_for(0.46)
    assert s == pytest.approx(1.46)
    k = np.arange(1, 200_001)
    p = np.asarray(qm.zipf_frequency(k, s))
    assert np.all(np.diff(p) < 0)
    # the finite sum plus the exact tail is 1; tail(0) = 1; tail(inf) = 0
    assert p.sum() + qm.zipf_tail_mass(k[-1], s) == pytest.approx(1.0, rel=1e-12)
    assert qm.zipf_tail_mass(0, s) == pytest.approx(1.0)
    assert qm.zipf_tail_mass(np.inf, s) == 0.0
    np.testing.assert_allclose(qm.zipf_tail_mass(np.array([10, 100]), s),
                               1 - np.cumsum(p)[[9, 99]], rtol=1e-10)
    assert qm.zipf_mass_between(10, 100, s) == pytest.approx(p[10:100].sum(), rel=1e-10)


def test_quanta_loss_falls_as_n_to_minus_alpha():
    alpha = 0.46
    s = qm.zipf_exponent_for(alpha)
    n = np.array([1e5, 1e7])
    slope = np.diff(np.log(qm.quanta_loss(n, s))) / np.diff(np.log(n))
    assert slope[0] == pytest.approx(-alpha, abs=2e-3)
    assert qm.quanta_loss(100, s, loss_per_quantum=3.0) == \
        pytest.approx(3.0 * qm.zipf_tail_mass(100, s))
    # with unlimited data the learned count is capacity-limited, hence loss ~ N^-alpha
    learned = qm.quanta_learned(np.array([1e9, 1e11]), 1e4, s)
    np.testing.assert_array_equal(learned, [1e5, 1e7])


def test_quanta_data_limit_and_sampling():
    assert qm.quanta_learned(1e12, 1e4, S, n_tokens=np.inf) == 1e8
    lim = qm.quanta_data_limit(1e9, S, min_count=5)
    # the last quantum inside the limit is expected >= 5 times, the next one < 5 times
    assert 1e9 * qm.zipf_frequency(int(lim), S) >= 5 > 1e9 * qm.zipf_frequency(int(lim) + 1, S)
    c1 = qm.sample_quanta_counts(10**8, 5000, S, rng=3)
    c2 = qm.sample_quanta_counts(np.int64(10**8), np.int64(5000), S, rng=3)
    np.testing.assert_array_equal(c1, c2)
    assert c1.sum() <= 10**8 and c1[0] > c1[100] > 0
    learned = qm.learned_from_counts(c1, capacity=300, min_count=5)
    assert learned[:300].all() and not learned[300:].any()
    # with little data, rare quanta inside capacity are missed
    few = qm.learned_from_counts(qm.sample_quanta_counts(10**4, 5000, S, rng=0), 5000, 5)
    assert 0 < few.sum() < 5000


def test_unlearned_mass_is_one_minus_the_learned_frequencies():
    mask = np.zeros(1000, dtype=bool)
    assert qm.unlearned_mass(mask, S) == 1.0
    mask[:100] = True
    assert qm.unlearned_mass(mask, S) == pytest.approx(qm.zipf_tail_mass(100, S), rel=1e-10)
    mask[500] = True
    assert qm.unlearned_mass(mask, S) == pytest.approx(
        qm.zipf_tail_mass(100, S) - qm.zipf_frequency(501, S), rel=1e-10)


def test_sweep_budgets_bracket_the_full_budget():
    cfg = small_sweep()
    d_full = cfg.full_budget()
    # at D_full the largest model's last quantum is expected min_count times
    assert d_full * qm.zipf_frequency(1200, S) == pytest.approx(5.0)
    budgets = cfg.token_budgets()
    assert budgets.dtype == np.int64 and np.all(np.diff(budgets) > 0)
    assert budgets[0] == int(d_full / 1e4) and budgets[-1] == int(d_full * 30)
    assert len(budgets) == 6
    assert cfg.ranks == 2400 and small_sweep(n_ranks=1500).ranks == 1500


def test_sweep_is_seeded_and_levels_off_at_capacity():
    cfg = small_sweep()
    df = qm.run_quanta_sweep(cfg)
    assert list(df.columns) == ["tokens", "model", "capacity", "learned", "reducible_loss"]
    assert list(df.model[:2]) == ["small", "large"] and len(df) == 2 * len(cfg.token_budgets())
    np.testing.assert_array_equal(df.reducible_loss, qm.run_quanta_sweep(cfg).reducible_loss)
    assert not np.array_equal(df.reducible_loss,
                              qm.run_quanta_sweep(small_sweep(seed=2)).reducible_loss)
    for name, cap in cfg.capacities.items():
        grp = df[df.model == name]
        assert (grp.learned <= cap).all()
        assert np.all(np.diff(grp.reducible_loss) <= 1e-15)  # more data never hurts here
        # at 30 D_full every quantum within capacity has been seen min_count times
        assert grp.learned.iloc[-1] == cap
        assert grp.reducible_loss.iloc[-1] == pytest.approx(qm.quanta_loss(cap, S), rel=1e-9)
    # the small model never gets below its capacity floor: the model-scaling-only gap
    small, large = df[df.model == "small"], df[df.model == "large"]
    assert np.all(small.reducible_loss.to_numpy() >= large.reducible_loss.to_numpy())
    assert small.reducible_loss.min() > large.reducible_loss.min()
