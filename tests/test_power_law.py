"""Chapter 1: SymPy derivation vs numpy closed forms; thresholds; bad inputs; derivation display."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import minimize_scalar

from rtrlib.params import ParameterError
from rtrlib.symbolic import power_law as sym
from rtrlib.theory import power_law as th

ALPHAS = (0.2, 0.34, 0.46, 0.7)
BETAS = (0.28, 0.51, 0.9)
PREFACTORS = ((1.0, 1.0), (406.4, 410.7), (0.3, 7.0))
SIZES = np.array([1e6, 3e8, 1e10, 2e12])


def grid():
    return itertools.product(ALPHAS, BETAS, PREFACTORS)


@pytest.fixture(scope="module")
def d():
    return sym.derive()


def test_infinite_data_loss_is_the_d_to_infinity_limit(d):
    assert sp.simplify(d.infinite_data_loss - (sym.L0 + sym.A * sym.N**-sym.alpha)) == 0


def test_compute_optimal_loss_has_same_exponent_as_infinite_data(d):
    ratio = sp.simplify((d.compute_optimal_loss - sym.L0) / (d.infinite_data_loss - sym.L0))
    assert sp.simplify(ratio - (1 + sym.alpha / sym.beta)) == 0
    assert not ratio.has(sym.N)


@pytest.mark.parametrize("L0", [0.0, 1.69])
def test_symbolic_frontier_matches_theory_on_grid(d, L0):
    f_lc = sym.numeric(d.compute_optimal_loss, "N", "L0", "A", "alpha", "beta")
    f_linf = sym.numeric(d.infinite_data_loss, "N", "L0", "A", "alpha")
    f_dopt = sym.numeric(d.tokens_opt, "N", "A", "B", "alpha", "beta")
    f_nopt = sym.numeric(d.params_opt, "C", "A", "B", "alpha", "beta")
    for a, b, (pa, pb) in grid():
        law = th.PowerLawLoss(alpha=a, beta=b, A=pa, B=pb, L0=L0)
        np.testing.assert_allclose(f_lc(SIZES, L0, pa, a, b), law.compute_optimal_loss(SIZES),
                                   rtol=1e-12)
        np.testing.assert_allclose(f_linf(SIZES, L0, pa, a), law.infinite_data_loss(SIZES),
                                   rtol=1e-12)
        np.testing.assert_allclose(f_dopt(SIZES, pa, pb, a, b),
                                   law.compute_optimal_tokens(SIZES), rtol=1e-10)
        c = 6 * SIZES * np.asarray(law.compute_optimal_tokens(SIZES))
        np.testing.assert_allclose(f_nopt(c, pa, pb, a, b), law.compute_optimal_params(c),
                                   rtol=1e-10)
        # N_opt(C) inverts C = 6 N D_opt(N)
        np.testing.assert_allclose(law.compute_optimal_params(c), SIZES, rtol=1e-9)


def test_frontier_is_the_numerical_minimum_at_fixed_compute():
    law = th.PowerLawLoss(alpha=0.46, beta=0.51, A=406.4, B=410.7, L0=1.69)
    for c in (1e18, 1e21, 1e24):
        res = minimize_scalar(lambda logn, c=c: law.loss(np.exp(logn), c / (6 * np.exp(logn))),
                              bounds=(np.log(1e3), np.log(1e15)), method="bounded",
                              options={"xatol": 1e-10})
        assert np.exp(res.x) == pytest.approx(law.compute_optimal_params(c), rel=1e-4)
        assert res.fun == pytest.approx(law.loss_at_compute(c), rel=1e-9)


def test_symbolic_threshold_matches_theory_on_grid(d):
    f_thr = sym.numeric(d.threshold, "N_l", "A", "alpha", "beta", "eps")
    f_ratio = sym.numeric(d.threshold_ratio_eps0, "alpha", "beta")
    for a, b, (pa, _) in grid():
        for e in (0.0, 1e-4, 0.05):
            n_l = SIZES
            want = th.model_scaling_threshold(a, b, e, A=pa, n_large=n_l)
            np.testing.assert_allclose(f_thr(n_l, pa, a, b, e) / n_l, want, rtol=1e-10)
        assert f_ratio(a, b) == pytest.approx(th.model_scaling_threshold(a, b), rel=1e-12)
        assert th.model_scaling_threshold(a, b) == pytest.approx((1 + a / b) ** (-1 / a))


def test_paper_values_give_about_a_quarter():
    r = th.model_scaling_threshold(th.ALPHA_PAPER, th.BETA_PAPER)
    assert 0.24 < r < 0.26


@pytest.mark.parametrize("eps", [0.0, 1e-5, 0.01])
def test_threshold_satisfies_definition_2(eps):
    law = th.PowerLawLoss(alpha=0.46, beta=0.51, A=406.4, B=410.7, L0=1.69)
    for n_l in SIZES:
        n_s = law.threshold(n_l, eps)
        gap = law.infinite_data_loss(n_s) - law.compute_optimal_loss(n_l)
        assert gap == pytest.approx(eps, abs=1e-9 * max(1.0, law.A * n_s ** -law.alpha))
        # slightly smaller models stay above eps; slightly larger ones do not
        assert law.infinite_data_loss(n_s * 0.99) - law.compute_optimal_loss(n_l) > eps
        assert law.infinite_data_loss(n_s * 1.01) - law.compute_optimal_loss(n_l) < eps


def test_empirical_threshold_symbolic_and_defining_equation(d):
    f_thr = sym.numeric(d.threshold_empirical, "N_l", "A", "A_C", "alpha", "gamma", "eps")
    for a, g, pa, ac, e in itertools.product((0.46, 0.6), (0.2, 0.34), (1.0, 406.4),
                                             (0.2, 30.0), (0.0, 1e-3)):
        ratio = th.model_scaling_threshold_empirical(a, g, SIZES, A=pa, A_C=ac, eps=e)
        np.testing.assert_allclose(f_thr(SIZES, pa, ac, a, g, e) / SIZES, ratio, rtol=1e-10)
        n_s = ratio * SIZES
        np.testing.assert_allclose(pa * n_s**-a - ac * SIZES**-g, e,
                                   atol=1e-9 * max(1.0, e))


def test_empirical_ratio_depends_on_n_large_unless_gamma_equals_alpha():
    law = th.PowerLawLoss()
    fr = th.EmpiricalFrontier.calibrated(law, gamma=0.34, n_ref=1e8)
    r = th.model_scaling_threshold_empirical(law.alpha, fr.gamma, SIZES, A=law.A, A_C=fr.A_C)
    assert np.all(np.diff(r) < 0)  # gamma < alpha: the ratio falls as N_l grows
    # calibration: at N_l = n_ref the two frontiers and the two thresholds agree
    assert fr.compute_optimal_loss(1e8) == pytest.approx(law.compute_optimal_loss(1e8))
    assert th.model_scaling_threshold_empirical(law.alpha, fr.gamma, 1e8, A=law.A, A_C=fr.A_C) \
        == pytest.approx(th.model_scaling_threshold(law.alpha, law.beta))
    fr_eq = th.EmpiricalFrontier.calibrated(law, gamma=law.alpha, n_ref=1e8)
    r_eq = th.model_scaling_threshold_empirical(law.alpha, law.alpha, SIZES, A_C=fr_eq.A_C)
    np.testing.assert_allclose(r_eq, th.model_scaling_threshold(law.alpha, law.beta))


def test_empirical_frontier_valid_from():
    law = th.PowerLawLoss()
    fr = th.EmpiricalFrontier.calibrated(law, gamma=0.34, n_ref=1e8)
    lo = fr.valid_from(law)
    assert 0 < lo < 1e8
    assert fr.compute_optimal_loss(lo) == pytest.approx(law.infinite_data_loss(lo))
    assert fr.compute_optimal_loss(2 * lo) > law.infinite_data_loss(2 * lo)
    assert fr.compute_optimal_loss(lo / 2) < law.infinite_data_loss(lo / 2)
    with pytest.raises(ParameterError) as info:
        th.loss_gap_decomposition([lo / 2], 1e10, law, fr)
    assert info.value.name == "n_small"
    with pytest.raises(ParameterError) as info:
        th.EmpiricalFrontier(gamma=0.5).valid_from(law)
    assert info.value.name == "gamma"


def test_gap_decomposition_adds_up_and_matches_classification():
    law = th.PowerLawLoss()
    n_l = 1e10
    n_s = np.geomspace(1e6, 0.999 * n_l, 200)
    for frontier in (None, th.EmpiricalFrontier.calibrated(law)):
        df = th.loss_gap_decomposition(n_s, n_l, law, frontier)
        np.testing.assert_allclose(df.data_recoverable + df.model_only, df.gap, rtol=1e-12)
        assert (df.data_recoverable >= -1e-18).all() and (df.model_only >= 0).all()
        kinds = [th.classify_pair(x, n_l, law, frontier) for x in n_s]
        assert all((k == "model") == (m > 0) for k, m in zip(kinds, df.model_only, strict=True))
        assert kinds[0] == "model" and kinds[-1] == "data"
    thr = law.threshold(n_l)
    assert th.classify_pair(0.9 * thr, n_l, law) == "model"
    assert th.classify_pair(1.1 * thr, n_l, law) == "data"


@pytest.mark.parametrize("call, name", [
    (lambda: th.model_scaling_threshold(-0.1, 0.5), "alpha"),
    (lambda: th.model_scaling_threshold(0.46, 0.0), "beta"),
    (lambda: th.model_scaling_threshold(0.46, 0.51, eps=-1.0), "eps"),
    (lambda: th.model_scaling_threshold(0.46, 0.51, eps=0.1), "n_large"),
    (lambda: th.model_scaling_threshold(0.46, 0.51, 0.1, n_large=-5), "n_large"),
    (lambda: th.model_scaling_threshold(0.46, 0.51, 0.1, A=0.0, n_large=1e9), "A"),
    (lambda: th.PowerLawLoss(alpha=float("nan")), "alpha"),
    (lambda: th.PowerLawLoss(B=-1.0), "B"),
    (lambda: th.PowerLawLoss().compute_optimal_loss([1e9, 0.0]), "n_params"),
    (lambda: th.PowerLawLoss().loss(1e9, 0.0), "n_tokens"),
    (lambda: th.PowerLawLoss().compute_optimal_params("lots"), "compute"),
    (lambda: th.EmpiricalFrontier(gamma=0.0), "gamma"),
    (lambda: th.model_scaling_threshold_empirical(0.46, 0.34, 1e9, A_C=-1.0), "A_C"),
    (lambda: th.loss_gap_decomposition([1e11], 1e10), "n_small"),
    (lambda: th.classify_pair(1e9, 1e10, eps=-1), "eps"),
    (lambda: th.classify_pair(1e9, 1e10, law="chinchilla"), "law"),
    (lambda: th.loss_gap_decomposition([1e9], 1e10, frontier=0.34), "frontier"),
    (lambda: th.EmpiricalFrontier(A_C=float("inf")), "A_C"),
    (lambda: th.model_scaling_threshold(float("inf"), 0.5), "alpha"),
    (lambda: th.calibrated_prefactor(0.46, 0.51, n_ref=float("inf")), "n_ref"),
    (lambda: th.PowerLawLoss().loss([1e9, 1e10], [1e9, 1e10, 1e11]), "n_tokens"),
    (lambda: th.model_scaling_threshold(0.46, 0.51, [0.1, 0.2], n_large=[1e9, 1e10, 1e11]),
     "n_large"),
    (lambda: th.model_scaling_threshold(0.46, 0.51, [0.0, 0.0], n_large=[1e9, 1e10, 1e11]),
     "n_large"),
    (lambda: th.model_scaling_threshold_empirical(0.46, 0.34, [1e9, 1e10], eps=[0, 0, 0]),
     "eps"),
    (lambda: th.PowerLawLoss().infinite_data_loss([]), "n_params"),
])
def test_bad_inputs_name_the_parameter(call, name):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.name == name
    assert repr(name) in str(info.value)


def test_arrays_broadcast_where_they_fit():
    law = th.PowerLawLoss()
    grid = law.loss(np.array([[1e9], [1e10]]), np.array([1e9, 1e10, np.inf]))
    assert grid.shape == (2, 3)
    assert grid[1, 2] == pytest.approx(law.infinite_data_loss(1e10))
    r = th.model_scaling_threshold(0.46, 0.51, np.array([[0.0], [1e-3]]), n_large=SIZES)
    assert r.shape == (2, len(SIZES)) and np.all(r[1] < r[0])


def test_derivation_steps_display_as_labelled_latex(d):
    from rtrlib.symbolic.display import show_step, step_latex

    text = step_latex("ratio", d.compute_optimal_ratio, lhs=r"\frac{L_C}{L_\infty}")
    assert text.startswith(r"\textsf{ratio}\qquad \frac{L_C}{L_\infty} = ")
    assert sp.latex(d.compute_optimal_ratio) in text
    assert step_latex("Eq. 1", d.loss) == r"\textsf{Eq. 1}\qquad " + sp.latex(d.loss)
    show_step("Eq. 1", d.loss)  # displays (prints the repr outside a notebook)


def test_kernel_free_player_has_alt_text():
    import matplotlib

    matplotlib.use("Agg")
    from rtrlib.widgets import kernel_free

    def draw(fig, a):
        fig.add_subplot().plot([0, 1], [0, a])

    page = kernel_free(draw, "a", [1.0, 2.0], alt='threshold "frames"').data
    assert '<img alt="threshold &quot;frames&quot;" id="_anim_img' in page
    assert 'alt="Precomputed frames' in kernel_free(draw, "a", [1.0]).data


def test_live_explorer_builds_three_sliders():
    import matplotlib

    matplotlib.use("Agg")
    import ipywidgets

    from rtrlib.widgets import live

    seen = []

    def draw(fig, alpha, beta, log10_n_large):
        seen.append((alpha, beta, log10_n_large))
        fig.add_subplot().plot([0, 1], [0, th.model_scaling_threshold(alpha, beta)])

    box = live(draw, alpha=(0.36, 0.8, 0.02, 0.46), beta=(0.2, 1.0, 0.01, 0.51),
               log10_n_large=(6.0, 14.0, 0.5, 10.0))
    sliders = box.children[0].children
    assert [w.description for w in sliders] == ["alpha", "beta", "log10_n_large"]
    assert all(isinstance(w, ipywidgets.FloatSlider) for w in sliders)
    assert seen and seen[-1] == pytest.approx((0.46, 0.51, 10.0))


def test_kernel_free_player_needs_no_network():
    import matplotlib

    matplotlib.use("Agg")
    from rtrlib.widgets import kernel_free

    page = kernel_free(lambda fig, a: fig.add_subplot().plot([0, a]), "a", [1.0, 2.0]).data
    assert "https://" not in page and "http://" not in page


def test_vanishes_verifies_chapter_1s_identities_and_refuses_wrong_closed_forms(d):
    """The checks chapter 1 records: each right closed form vanishes, a wrong one does not."""
    N, D, C, L0, A = sym.N, sym.D, sym.C, sym.L0, sym.A
    al, be, ga, N_l = sym.alpha, sym.beta, sym.gamma, sym.N_l
    along = d.loss.subs(D, C / (6 * N))
    assert sym.vanishes(sp.diff(along, N).subs(N, d.params_opt))
    assert not sym.vanishes(sp.diff(along, N).subs(N, 2 * d.params_opt))
    lc = d.loss.subs(D, d.tokens_opt)
    assert sym.vanishes(lc - (L0 + A * (1 + al / be) * N**-al))
    assert not sym.vanishes(lc - (L0 + A * (1 + be / al) * N**-al))
    assert not sym.vanishes(lc - (L0 + A * (1 + al / be) * N**-ga))

    def lc_of(n):
        return d.compute_optimal_loss.subs(N, n)

    def linf_of(n):
        return d.infinite_data_loss.subs(N, n)

    assert sym.vanishes(linf_of(N_l * (1 + al / be) ** (-1 / al)) - lc_of(N_l))
    assert not sym.vanishes(linf_of(N_l * (1 + al / be) ** (-1 / be)) - lc_of(N_l))
    x = sp.Symbol("x", positive=True)
    share = (linf_of(x * N_l) - lc_of(N_l)) / (lc_of(x * N_l) - lc_of(N_l))
    lim = sp.limit(share, x, 0, "+")
    assert sym.vanishes(lim - be / (al + be)) and not sym.vanishes(lim - al / (al + be))
    n_ref = sp.Symbol("N_ref", positive=True)
    r_emp = d.threshold_ratio_empirical_eps0.subs(sym.A_C,
                                                  A * (1 + al / be) * n_ref ** (ga - al))
    assert sym.vanishes(r_emp - (1 + al / be) ** (-1 / al) * (n_ref / N_l) ** (1 - ga / al))
    assert not sym.vanishes(r_emp - (1 + al / be) ** (-1 / al) * (n_ref / N_l) ** (1 - al / ga))
    assert sym.vanishes(r_emp.subs(ga, al) - d.threshold_ratio_eps0)
