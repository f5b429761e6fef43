"""Optimal transport against independent references: scipy's 1-D Wasserstein distance,
POT's network simplex (ot.emd2) and Sinkhorn (ot.sinkhorn2), the LP solution, and a
NumPy log-sum-exp Sinkhorn on awkward inputs (hypothesis)."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import wasserstein_distance as scipy_w1
from sklearn.exceptions import ConvergenceWarning

from skml.metrics import (
    optimal_transport,
    sliced_wasserstein,
    wasserstein_1d,
    wasserstein_distance,
)

ot = pytest.importorskip("ot")
RNG = np.random.RandomState(0)


def _histograms(n, m, rng=RNG):
    a, b = rng.rand(n), rng.rand(m)
    return a / a.sum(), b / b.sum()


# ----------------------------------------------------------------------------- 1-D

def test_wasserstein_1d_p1_matches_scipy():
    for _ in range(20):
        u, v = RNG.randn(RNG.randint(1, 50)), RNG.randn(RNG.randint(1, 50)) * 2 + 1
        uw, vw = RNG.rand(u.size), RNG.rand(v.size)
        assert wasserstein_1d(u, v, uw, vw) == pytest.approx(scipy_w1(u, v, uw, vw),
                                                             rel=1e-12, abs=1e-15)
        assert wasserstein_1d(u, v) == pytest.approx(scipy_w1(u, v), rel=1e-12)


@pytest.mark.parametrize("p", [1, 2, 3.5])
def test_wasserstein_1d_equals_the_transport_lp_on_random_histograms(p):
    for _ in range(5):
        n, m = RNG.randint(2, 30), RNG.randint(2, 30)
        x, y = np.sort(RNG.randn(n)), RNG.randn(m) + 0.5
        a, b = _histograms(n, m)
        M = np.abs(x[:, None] - y[None, :]) ** p
        _, lp_cost = optimal_transport(a, b, M)
        assert abs(wasserstein_1d(x, y, a, b, p=p) - lp_cost ** (1 / p)) < 1e-9


def test_wasserstein_1d_ties_magnitudes_and_example():
    # identical samples, duplicated support points
    assert wasserstein_1d([1.0, 1.0, 2.0], [2.0, 1.0, 1.0]) == 0.0
    # two unit masses 1e300 apart at p=2 do not overflow
    assert wasserstein_1d([-1e300], [1e300], p=2) == pytest.approx(2e300)
    assert wasserstein_1d([1e-300], [3e-300], p=3) == pytest.approx(2e-300)
    # shifting a distribution by c moves it by exactly |c| for every p
    u = RNG.randn(30)
    for p in (1, 2, 4):
        assert wasserstein_1d(u, u + 0.75, p=p) == pytest.approx(0.75)


def test_wasserstein_1d_bad_input():
    with pytest.raises(ValueError, match="u_values is empty"):
        wasserstein_1d([], [1.0])
    with pytest.raises(ValueError, match="negative mass"):
        wasserstein_1d([0.0, 1.0], [1.0], u_weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="zero total mass"):
        wasserstein_1d([0.0, 1.0], [1.0], u_weights=[0.0, 0.0])
    with pytest.raises(ValueError, match="one weight per point"):
        wasserstein_1d([0.0, 1.0], [1.0], u_weights=[1.0])
    with pytest.raises(ValueError, match="NaN"):
        wasserstein_1d([0.0, np.nan], [1.0])
    with pytest.raises(ValueError, match="must be 1-D"):
        wasserstein_1d([[0.0, 1.0]], [1.0])
    with pytest.raises(ValueError, match=r"p must be in \[1, inf\]"):
        wasserstein_1d([0.0], [1.0], p=0.5)


# ----------------------------------------------------------------------------- exact

def test_exact_ot_matches_pot_network_simplex():
    for n, m in [(1, 1), (1, 7), (6, 1), (20, 30), (40, 25)]:
        a, b = _histograms(n, m)
        M = RNG.rand(n, m) * 10
        plan, cost = optimal_transport(a, b, M)
        assert cost == pytest.approx(ot.emd2(a, b, M), rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-10)
        np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-10)
        assert plan.min() >= 0


def test_exact_ot_uniform_default_and_zero_masses():
    M = RNG.rand(5, 4)
    plan, cost = optimal_transport(None, None, M)
    assert cost == pytest.approx(ot.emd2(np.full(5, 0.2), np.full(4, 0.25), M))
    a, b = _histograms(5, 4)
    a[1] = 0.0
    a /= a.sum()
    plan, cost = optimal_transport(a, b, M)
    assert cost == pytest.approx(ot.emd2(a, b, M), rel=1e-9)
    assert np.all(plan[1] == 0)


# ----------------------------------------------------------------------------- Sinkhorn

def _clouds(n, m, seed=0):
    rng = np.random.RandomState(seed)
    X, Y = rng.randn(n, 2), rng.randn(m, 2) + 1
    M = ot.dist(X, Y)
    return M / M.max()


def test_sinkhorn_matches_pot():
    M = _clouds(60, 45)
    a, b = _histograms(60, 45)
    for reg in (0.5, 0.05):
        plan, cost = optimal_transport(a, b, M, method="sinkhorn", reg=reg, tol=1e-12,
                                       max_iter=100000)
        ref_plan = ot.sinkhorn(a, b, M, reg, stopThr=1e-13, numItermax=100000)
        np.testing.assert_allclose(plan, ref_plan, atol=1e-11)
        ref_cost = ot.sinkhorn2(a, b, M, reg, stopThr=1e-13, numItermax=100000)
        assert cost == pytest.approx(float(ref_cost), rel=1e-9)
        assert plan.dtype == np.float64


def test_sinkhorn_float32_costs_give_a_float32_plan_near_the_float64_one():
    M = _clouds(60, 45)
    a, b = _histograms(60, 45)
    M32 = M.astype(np.float32)
    plan, cost = optimal_transport(a, b, M32, method="sinkhorn", reg=0.05, tol=1e-7)
    assert plan.dtype == np.float32
    ref = ot.sinkhorn(a, b, M32.astype(np.float64), 0.05, stopThr=1e-13)
    np.testing.assert_allclose(plan, ref, rtol=1e-5, atol=1e-9)
    assert np.linalg.norm(plan.sum(axis=0) - b) <= 1e-6
    assert cost == pytest.approx(np.sum(ref * M32), rel=1e-5)


def test_sinkhorn_tends_to_the_exact_cost_monotonically():
    M = _clouds(25, 20, seed=1)
    a, b = _histograms(25, 20)
    _, exact = optimal_transport(a, b, M)
    regs = [1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001]
    costs = [optimal_transport(a, b, M, method="sinkhorn", reg=r, tol=1e-11,
                               max_iter=200000)[1] for r in regs]
    # the transport cost of the entropic plan decreases with reg, towards the LP cost
    assert np.all(np.diff(costs) <= 1e-9)
    assert np.all(np.asarray(costs) >= exact - 1e-9)
    assert costs[-1] - exact < 2e-3 * (costs[0] - exact)


def test_sinkhorn_small_reg_stays_finite_and_feasible():
    # reg = 1e-3 on costs of order 1: exp(-M / reg) underflows to 0 in every entry, so
    # Sinkhorn on the kernel exp(-M / reg) (POT's default) has nothing to scale
    M = _clouds(80, 70, seed=2) + 1.0
    a, b = _histograms(80, 70)
    assert np.exp(-M / 1e-3).max() == 0.0
    plan, cost = optimal_transport(a, b, M, method="sinkhorn", reg=1e-3, tol=1e-9,
                                   max_iter=100000)
    assert np.all(np.isfinite(plan)) and plan.min() >= 0
    assert np.linalg.norm(plan.sum(axis=0) - b) <= 1e-9
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-12)
    _, exact = optimal_transport(a, b, M)
    assert exact <= cost < exact + 0.01


def test_sinkhorn_result_does_not_depend_on_the_thread_count():
    M = _clouds(900, 700, seed=3)  # large enough for two threads
    a, b = _histograms(900, 700)
    p1, c1 = optimal_transport(a, b, M, method="sinkhorn", reg=0.05, n_jobs=1)
    p2, c2 = optimal_transport(a, b, M, method="sinkhorn", reg=0.05, n_jobs=2)
    np.testing.assert_array_equal(p1, p2)
    assert c1 == c2


def test_sinkhorn_zero_masses_and_convergence_warning():
    M = _clouds(10, 8)
    a, b = _histograms(10, 8)
    a[[0, 3]] = 0.0
    b[5] = 0.0
    a, b = a / a.sum(), b / b.sum()
    plan, cost = optimal_transport(a, b, M, method="sinkhorn", reg=0.1, tol=1e-12)
    assert np.all(plan[[0, 3]] == 0) and np.all(plan[:, 5] == 0)
    # POT cannot take zero masses (1 / a): compare with it on the rest
    rows, cols = a > 0, b > 0
    ref = ot.sinkhorn(a[rows], b[cols], M[np.ix_(rows, cols)], 0.1, stopThr=1e-13)
    np.testing.assert_allclose(plan[np.ix_(rows, cols)], ref, atol=1e-11)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        optimal_transport(a, b, M, method="sinkhorn", reg=0.001, max_iter=3)


@pytest.mark.parametrize("dtype, tol, atol", [(np.float64, 1e-11, 1e-12),
                                               (np.float32, 1e-8, 1e-7)])
def test_small_reg_matches_pot_log_domain_sinkhorn(dtype, tol, atol):
    # reg = 1e-3 on costs of order 1: POT's default solver underflows here, its
    # log-domain one (sinkhorn_log, computing in float64 on the same rounded costs) is
    # the reference
    M = _clouds(70, 60, seed=4).astype(dtype)
    a, b = _histograms(70, 60, np.random.RandomState(4))
    plan, cost = optimal_transport(a, b, M, method="sinkhorn", reg=1e-3, tol=tol,
                                   max_iter=100000)
    M64 = M.astype(np.float64)
    ref = ot.bregman.sinkhorn_log(a, b, M64, 1e-3, stopThr=1e-13, numItermax=100000)
    assert plan.dtype == dtype
    np.testing.assert_allclose(plan, ref, atol=atol)
    assert np.linalg.norm(plan.sum(axis=0, dtype=np.float64) - b) <= 2 * tol
    assert cost == pytest.approx(np.sum(ref * M64), rel=10 * tol)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # cost 1e600
@pytest.mark.parametrize("total", [1e-300, 1e-20, 1e300])
@pytest.mark.parametrize("scale", [1e-310, 1e-300, 1e300, 1.5e308])
def test_masses_and_costs_of_any_magnitude(total, scale):
    # the plan is linear in the masses and depends on M / reg only: the reference is
    # POT on the normalised problem. Before the rescaling, subnormal reg gave NaN, masses
    # summing to 1e-20 a plan "converged" at the start (absolute tol), huge costs
    # overflowing potentials, and the LP a wrong plan (absolute HiGHS tolerances).
    M = _clouds(12, 9, seed=5)
    a, b = _histograms(12, 9, np.random.RandomState(5))
    M_scaled = M * scale
    M_unit = M_scaled / scale  # the rounding of subnormal costs, as given
    ref = ot.sinkhorn(a, b, M_unit, 0.1, stopThr=1e-14, numItermax=100000)
    plan, cost = optimal_transport(a * total, b * total, M_scaled, method="sinkhorn",
                                   reg=0.1 * scale, tol=1e-12)
    np.testing.assert_allclose(plan / total, ref, atol=1e-11)
    exact_ref = ot.emd(a, b, M_unit)
    plan, exact_cost = optimal_transport(a * total, b * total, M_scaled)
    np.testing.assert_allclose(plan / total, exact_ref, atol=1e-9)
    if 1e-290 < total * scale < 1e290:
        assert cost / (total * scale) == pytest.approx(np.sum(ref * M_unit), rel=1e-9)
        assert exact_cost / (total * scale) == pytest.approx(ot.emd2(a, b, M_unit),
                                                             rel=1e-9)


def test_exact_ot_with_offset_costs_matches_pot():
    M = _clouds(15, 12, seed=6) + 1e6
    a, b = _histograms(15, 12, np.random.RandomState(6))
    plan, cost = optimal_transport(a, b, M)
    assert cost == pytest.approx(ot.emd2(a, b, M), rel=1e-14)
    np.testing.assert_allclose(plan, ot.emd(a, b, M), atol=1e-9)


def test_negligible_masses_in_float32_do_not_force_rebuilds(monkeypatch):
    # a row whose mass is below float32's smallest normal number has a zero row in the
    # float32 work matrix; it used to make every other iteration a full log-domain
    # rebuild (114 of 227 here). It carries no representable plan: it is left out.
    from skml._kernels import _sinkhorn

    calls = []
    kernel = _sinkhorn.sinkhorn

    def spy(*args):
        calls.append(kernel(*args))
        return calls[-1]

    monkeypatch.setattr(_sinkhorn, "sinkhorn", spy)
    M = np.random.RandomState(0).rand(40, 30).astype(np.float32)
    a = np.ones(40)
    a[-1] = 1e-45
    a /= a.sum()
    b = np.random.RandomState(1).rand(30)
    b /= b.sum()
    plan, _ = optimal_transport(a, b, M, method="sinkhorn", reg=0.01, tol=1e-7)
    n_iter, _, _, n_rebuilds = calls[-1]
    assert n_rebuilds <= 3, calls[-1]
    assert np.all(plan[-1] == 0) and np.all(np.isfinite(plan))
    ref = ot.sinkhorn(a[:-1], b, M[:-1].astype(np.float64), 0.01, stopThr=1e-13)
    np.testing.assert_allclose(plan[:-1], ref, atol=1e-7)


def test_sinkhorn_range_errors():
    M = _clouds(5, 4)
    a, b = _histograms(5, 4, np.random.RandomState(7))
    with pytest.raises(ValueError, match="below 1e-300 times the largest"):
        optimal_transport(a, b, M, method="sinkhorn", reg=1e-310)
    with pytest.raises(ValueError, match="outside the range of float32"):
        optimal_transport(a * 1e40, b * 1e40, M.astype(np.float32), method="sinkhorn",
                          reg=0.1)
    X = np.random.RandomState(8).randn(6, 2)
    with pytest.raises(ValueError, match="below 1e-300 times the largest cost"):
        wasserstein_distance(X * 1e300, X[::-1] * 1e300 + 1e300, method="sinkhorn",
                             reg=1e297)


def _reference_sinkhorn(a, b, M, reg, max_iter=1000):
    """Textbook log-domain Sinkhorn (scipy's logsumexp), to convergence."""
    f, g = np.zeros(len(a)), np.zeros(len(b))
    previous = np.inf
    for _ in range(max_iter):
        g = reg * np.log(b) - reg * logsumexp((f[:, None] - M) / reg, axis=0)
        f = reg * np.log(a) - reg * logsumexp((g[None, :] - M) / reg, axis=1)
        plan = np.exp((f[:, None] + g[None, :] - M) / reg)
        violation = np.abs(plan.sum(axis=0) - b).sum()
        # converged, or at the rounding floor (costs offset far from 0)
        if violation < 1e-14 or violation >= previous:
            break
        previous = violation
    return plan


problems = st.tuples(st.integers(1, 10), st.integers(1, 10),
                     st.sampled_from([1e-310, 1e-300, 1e-3, 1.0, 1e3, 1e300]),
                     st.sampled_from([0.0, 1e6]), st.sampled_from([0.2, 1.0, 5.0]),
                     st.sampled_from([1e-300, 1e-20, 1.0, 1e300]),
                     st.sampled_from([np.float64, np.float32]),
                     st.sampled_from(["C", "F", "strided"]), st.integers(0, 2**32 - 1))


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # cost 1e600
@settings(max_examples=40, deadline=None)
@given(problems)
def test_hypothesis_against_numpy_log_domain_sinkhorn(params):
    n, m, scale, offset, rel_reg, total, dtype, layout, seed = params
    if dtype == np.float32:
        # float32 holds costs up to 3e38 and a plan of total mass in [1e-38, 3e38]
        scale = min(max(scale, 1e-30), 1e30)
        total = min(max(total, 1e-20), 1.0)
    if offset * scale > 1e307:
        offset = 0.0
    rng = np.random.RandomState(seed)
    a, b = _histograms(n, m, rng)
    spread = rng.rand(n, m)
    if rng.rand() < 0.3:
        spread = np.round(spread * 3) / 3  # ties
    M = (spread * scale + offset * scale).astype(dtype)
    if layout == "F":
        M = np.asfortranarray(M)
    elif layout == "strided":
        M = np.repeat(M, 2, axis=1)[:, ::2]
    M.flags.writeable = False
    reg = rel_reg * scale
    tol, atol = (1e-12, 1e-9) if dtype == np.float64 else (1e-7, 1e-5)
    plan, cost = optimal_transport(a * total, b * total, M, method="sinkhorn", reg=reg,
                                   tol=tol, max_iter=5000)
    assert plan.dtype == dtype
    # the reference solves the normalised problem (unit masses, costs and reg / scale:
    # the same plan up to the factor total), from the costs as given
    M_unit = np.asarray(M, dtype=np.float64) / scale
    ref = _reference_sinkhorn(a, b, M_unit, rel_reg)
    assert np.all(np.isfinite(plan)) and plan.min() >= 0
    np.testing.assert_allclose(plan / total, ref, atol=atol)
    assert cost >= 0  # not NaN
    if 1e-290 < total * scale < 1e290:  # else the cost itself under/overflows
        ref_cost = np.sum(ref * M_unit)
        assert cost / total / scale == pytest.approx(
            ref_cost, rel=1e-5 if dtype == np.float32 else 1e-8)


# ----------------------------------------------------------------------------- clouds

@pytest.mark.parametrize("p", [1, 2])
def test_wasserstein_distance_between_clouds_matches_pot(p):
    X, Y = RNG.randn(40, 3), RNG.randn(30, 3) + 0.5
    xw, yw = _histograms(40, 30)
    M = ot.dist(X, Y, metric="euclidean") ** p
    expected = ot.emd2(xw, yw, M) ** (1 / p)
    assert wasserstein_distance(X, Y, x_weights=xw, y_weights=yw, p=p) == pytest.approx(
        expected, rel=1e-9)
    sink = wasserstein_distance(X, Y, x_weights=xw, y_weights=yw, p=p,
                                method="sinkhorn", reg=1e-3, max_iter=100000)
    assert sink == pytest.approx(expected, rel=1e-2)
    # translation by a vector t: W_2 of a cloud and its translate is |t|
    assert wasserstein_distance(X, X + [3.0, 4.0, 0.0]) == pytest.approx(5.0)
    # any magnitude: costs ||x - y||^p of 1e600 or 1e-600 are never formed as such
    for s in (1e-300, 1e300):
        got = wasserstein_distance(X * s, Y * s, x_weights=xw, y_weights=yw, p=p)
        assert got / s == pytest.approx(expected, rel=1e-9)


def test_sliced_wasserstein_matches_pot_with_the_same_directions():
    X, Y = RNG.randn(100, 4), RNG.randn(80, 4) * 1.5
    xw, yw = _histograms(100, 80)
    got = sliced_wasserstein(X, Y, x_weights=xw, y_weights=yw, n_projections=20, p=2,
                             random_state=3)
    directions = np.random.RandomState(3).standard_normal((20, 4))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    ref = ot.sliced_wasserstein_distance(X, Y, xw, yw, projections=directions.T, p=2)
    assert got == pytest.approx(ref, rel=1e-9)
    # any magnitude: 1e300 and subnormal coordinates scale the distance exactly
    for s in (1e300, 1e-310):
        assert sliced_wasserstein(X * s, Y * s, x_weights=xw, y_weights=yw,
                                  n_projections=20, p=2, random_state=3) / s == \
            pytest.approx(ref, rel=1e-12 if s > 1 else 1e-10)
    # the sliced distance never exceeds the true one (projections are 1-Lipschitz)
    assert got <= wasserstein_distance(X, Y, x_weights=xw, y_weights=yw) + 1e-12


def test_transport_bad_input():
    M = RNG.rand(3, 4)
    a, b = _histograms(3, 4)
    with pytest.raises(ValueError, match="a has negative mass"):
        optimal_transport([0.5, 0.7, -0.2], b, M)
    with pytest.raises(ValueError, match="unequal total mass"):
        optimal_transport(a * 2, b, M)
    with pytest.raises(ValueError, match="unequal total mass"):
        optimal_transport(a * 2, b, M, method="sinkhorn", reg=0.1)
    with pytest.raises(ValueError, match="b has shape"):
        optimal_transport(a, b[:3], M)
    with pytest.raises(ValueError, match="M is empty"):
        optimal_transport([], [], np.zeros((0, 0)))
    with pytest.raises(ValueError, match="NaN"):
        optimal_transport(a, b, np.where(M > 0.5, np.nan, M))
    with pytest.raises(ValueError, match="NaN"):
        optimal_transport([np.nan, 0.5, 0.5], b, M)
    with pytest.raises(ValueError, match="infinity"):
        optimal_transport(a, b, np.where(M > 0.5, np.inf, M), method="sinkhorn", reg=0.1)
    with pytest.raises(ValueError, match="infinity"):
        optimal_transport([np.inf, 0.5, 0.5], b, M)
    with pytest.raises(ValueError, match="infinity"):
        wasserstein_1d([0.0, np.inf], [1.0])
    with pytest.raises(ValueError, match="infinity"):
        wasserstein_distance([[0.0, -np.inf]], [[0.0, 0.0]])
    with pytest.raises(ValueError, match="reg must be given"):
        optimal_transport(a, b, M, method="sinkhorn")
    with pytest.raises(ValueError, match=r"reg must be in \(0, inf"):
        optimal_transport(a, b, M, method="sinkhorn", reg=0.0)
    with pytest.raises(ValueError, match="method must be one of"):
        optimal_transport(a, b, M, method="emd")
    with pytest.raises(ValueError, match="same number of features"):
        wasserstein_distance(RNG.rand(3, 2), RNG.rand(3, 3))
    with pytest.raises(ValueError, match="X is empty"):
        sliced_wasserstein(np.zeros((0, 2)), RNG.rand(3, 2))
    with pytest.raises(ValueError, match="x_weights has negative mass"):
        wasserstein_distance(RNG.rand(2, 2), RNG.rand(2, 2), x_weights=[1.0, -0.5])


def test_sinkhorn_kernel_checks_the_shapes_it_indexes_with():
    from skml._kernels import _sinkhorn

    M = np.ones((3, 4))
    good = dict(M=M, a=np.full(3, 1 / 3), b=np.full(4, 0.25), f=np.zeros(3),
                g=np.zeros(4), K=np.empty((3, 4)), acc=np.empty((1, 4)))
    for name, bad, match in [("a", np.ones(2), "a and f"), ("g", np.zeros(5), "b and g"),
                             ("K", np.empty((4, 3)), "K must have shape"),
                             ("acc", np.empty((0, 4)), "acc must have shape")]:
        args = dict(good, **{name: bad})
        with pytest.raises(ValueError, match=match):
            _sinkhorn.sinkhorn(args["M"], args["a"], args["b"], 0.1, 1e-9, 10, args["f"],
                               args["g"], args["K"], args["acc"], 1)
    with pytest.raises(ValueError, match="reg > 0"):
        _sinkhorn.sinkhorn(M, good["a"], good["b"], 0.0, 1e-9, 10, good["f"], good["g"],
                           good["K"], good["acc"], 1)
