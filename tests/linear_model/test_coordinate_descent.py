"""Lasso, ElasticNet and their paths against scikit-learn, and the CD kernel against the
optimality (KKT) conditions it must reach."""
import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from sklearn.datasets import load_diabetes, make_regression
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skml._kernels._cd import enet_cd_dense, enet_cd_gram
from skml.linear_model import ElasticNet, Lasso, enet_path, lasso_path

TIGHT = {"tol": 1e-12, "max_iter": 100_000}


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def kkt_violation(X, y, w, alpha, l1_ratio=1.0, positive=False):
    """Largest violation of the elastic net's optimality conditions (sklearn scaling)."""
    n = X.shape[0]
    g = X.T @ (y - X @ w) / n - alpha * (1 - l1_ratio) * w  # = alpha*l1_ratio*subgradient
    lam = alpha * l1_ratio
    nz = w != 0
    v_nz = np.abs(g[nz] - lam * np.sign(w[nz]))
    v_z = np.maximum(g[~nz] - lam, 0) if positive else np.maximum(np.abs(g[~nz]) - lam, 0)
    return float(max(v_nz.max(initial=0), v_z.max(initial=0)))


@pytest.mark.parametrize("alpha", [0.001, 0.01, 0.1, 1.0])
@pytest.mark.parametrize("precompute", [False, True])
def test_lasso_matches_sklearn_on_diabetes(diabetes, alpha, precompute):
    X, y = diabetes
    ours = Lasso(alpha=alpha, precompute=precompute, **TIGHT).fit(X, y)
    ref = sk.Lasso(alpha=alpha, precompute=precompute, **TIGHT).fit(X, y)
    assert rel(ours.coef_, ref.coef_) <= 1e-6
    assert abs(ours.intercept_ - ref.intercept_) <= 1e-6 * abs(ref.intercept_)
    np.testing.assert_array_equal(ours.coef_ == 0, ref.coef_ == 0)


@pytest.mark.parametrize("l1_ratio", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("alpha", [0.001, 0.05])
def test_elastic_net_matches_sklearn_on_diabetes(diabetes, alpha, l1_ratio):
    X, y = diabetes
    ours = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, **TIGHT).fit(X, y)
    ref = sk.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, **TIGHT).fit(X, y)
    assert rel(ours.coef_, ref.coef_) <= 1e-6
    assert abs(ours.intercept_ - ref.intercept_) <= 1e-6 * abs(ref.intercept_)


def test_default_tolerance_is_close_and_dual_gap_is_small(diabetes):
    X, y = diabetes
    ours = Lasso(alpha=0.01).fit(X, y)
    ref = sk.Lasso(alpha=0.01).fit(X, y)
    assert rel(ours.coef_, ref.coef_) <= 1e-3  # both stop at a duality gap of tol*||y||^2/n
    assert ours.dual_gap_ <= 1e-4 * float(((y - y.mean()) ** 2).sum()) / len(y)


def test_sample_weight_matches_sklearn(diabetes):
    X, y = diabetes
    sw = np.random.RandomState(0).uniform(0.2, 3.0, len(y))
    for ours, ref in [(Lasso(alpha=0.02, **TIGHT), sk.Lasso(alpha=0.02, **TIGHT)),
                      (ElasticNet(alpha=0.01, **TIGHT), sk.ElasticNet(alpha=0.01, **TIGHT))]:
        ours.fit(X, y, sample_weight=sw)
        ref.fit(X, y, sample_weight=sw)
        assert rel(ours.coef_, ref.coef_) <= 1e-6
        assert abs(ours.intercept_ - ref.intercept_) <= 1e-6 * abs(ref.intercept_)


def test_positive_random_selection_warm_start_and_multi_target(diabetes):
    X, y = diabetes
    pos = Lasso(alpha=0.01, positive=True, **TIGHT).fit(X, y)
    ref = sk.Lasso(alpha=0.01, positive=True, **TIGHT).fit(X, y)
    assert np.all(pos.coef_ >= 0) and rel(pos.coef_, ref.coef_) <= 1e-6
    rnd = Lasso(alpha=0.01, selection="random", random_state=0, **TIGHT).fit(X, y)
    cyc = Lasso(alpha=0.01, **TIGHT).fit(X, y)
    assert rel(rnd.coef_, cyc.coef_) <= 1e-6
    warm = Lasso(alpha=0.01, warm_start=True, **TIGHT).fit(X, y)
    n_cold = warm.n_iter_
    warm.fit(X, y)
    assert warm.n_iter_ < n_cold
    Y = np.column_stack([y, -y + 3.0])
    multi = Lasso(alpha=0.01, **TIGHT).fit(X, Y)
    assert multi.coef_.shape == (2, X.shape[1])
    np.testing.assert_allclose(multi.coef_[0], cyc.coef_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(multi.predict(X)[:, 1], Lasso(alpha=0.01, **TIGHT).fit(
        X, -y + 3.0).predict(X), rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gram", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
def test_cd_kernels_reach_the_kkt_conditions(dtype, gram, l1_ratio):
    X, y = make_regression(n_samples=120, n_features=40, n_informative=8, noise=5.0,
                           random_state=0)
    X, y = X.astype(dtype), y.astype(dtype)
    n = X.shape[0]
    alpha = 0.05 * np.max(np.abs(X.T @ y)) / n
    w = np.zeros(X.shape[1], dtype=dtype)
    args = (alpha * l1_ratio * n, alpha * (1 - l1_ratio) * n)
    tol = 1e-8 if dtype == np.float64 else 1e-5
    if gram:
        w, gap, tol_used, n_iter, conv = enet_cd_gram(
            w, *args, np.ascontiguousarray(X.T @ X), X.T @ y, float(y @ y), 10_000, tol, 1,
            False, False)
    else:
        w, gap, tol_used, n_iter, conv = enet_cd_dense(
            w, *args, np.asfortranarray(X), y, 10_000, tol, 1, False, False)
    assert conv and gap <= tol_used
    assert w.dtype == dtype and 0 < np.count_nonzero(w) < X.shape[1]
    scale = np.max(np.abs(X.T @ y)) / n
    bound = 1e-5 if dtype == np.float64 else 1e-2
    assert kkt_violation(X.astype(float), y.astype(float), w.astype(float), alpha,
                         l1_ratio) <= bound * scale


def test_lasso_path_matches_sklearn():
    X, y = make_regression(n_samples=200, n_features=30, n_informative=6, noise=3.0,
                           random_state=1)
    for precompute in ("auto", False):
        a, c, g = lasso_path(X, y, precompute=precompute, tol=1e-12, max_iter=100_000)
        a_sk, c_sk, g_sk = sk.lasso_path(X, y, precompute=precompute, tol=1e-12,
                                         max_iter=100_000)
        np.testing.assert_allclose(a, a_sk, rtol=1e-12)
        assert c.shape == c_sk.shape == (30, 100) and g.shape == (100,)
        assert rel(c, c_sk) <= 1e-6
    a, c, g, n_iter = lasso_path(X, y, alphas=7, return_n_iter=True)
    assert a.shape == (7,) and len(n_iter) == 7
    a, c, g = enet_path(X, y, l1_ratio=0.4, alphas=[0.1, 10.0, 1.0], tol=1e-12)
    a_sk, c_sk, _ = sk.enet_path(X, y, l1_ratio=0.4, alphas=[0.1, 10.0, 1.0], tol=1e-12)
    np.testing.assert_array_equal(a, [10.0, 1.0, 0.1])
    assert rel(c, c_sk) <= 1e-6
    Xy = X.T @ y
    a2, c2, _ = lasso_path(X, y, Xy=Xy, precompute=X.T @ X, alphas=5, tol=1e-12)
    a3, c3, _ = sk.lasso_path(X, y, Xy=Xy, precompute=X.T @ X, alphas=5, tol=1e-12)
    np.testing.assert_allclose(a2, a3, rtol=1e-12)
    assert rel(c2, c3) <= 1e-6
    _, cpos, _ = lasso_path(X, y, positive=True, alphas=10)
    assert np.all(cpos >= 0)


def test_path_bad_input_and_convergence_warning(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="one target"):
        lasso_path(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="Unexpected"):
        lasso_path(X, y, no_such_option=1)
    with pytest.raises(ValueError, match="l1_ratio=0"):
        enet_path(X, y, l1_ratio=0.0)
    with pytest.raises(ValueError, match="selection"):
        Lasso(selection="greedy").fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        Lasso(alpha=-0.1).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        Lasso(alpha=1e-4, max_iter=2, tol=1e-12).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Lasso(alpha=0.1).fit(X, y)


@pytest.mark.parametrize("gram", [False, True])
def test_edge_sizes_have_closed_form_answers(gram):
    rng = np.random.RandomState(0)
    # one feature: the lasso solution is a soft-thresholded least-squares coefficient
    x, y = rng.randn(50, 1), rng.randn(50)
    alpha = 0.05
    z = float(x[:, 0] @ y) / 50
    expected = np.sign(z) * max(abs(z) - alpha, 0) / (float(x[:, 0] @ x[:, 0]) / 50)
    _, coefs, _ = lasso_path(x, y, alphas=[alpha], precompute=gram, tol=1e-14)
    assert coefs[0, 0] == pytest.approx(expected, rel=1e-12)
    # an all-zero column keeps a zero coefficient; a zero target gives w = 0
    X = np.column_stack([rng.randn(30, 3), np.zeros(30)])
    _, coefs, gaps = lasso_path(X, rng.randn(30), alphas=5, precompute=gram)
    assert np.all(coefs[3] == 0) and np.all(np.isfinite(coefs)) and np.all(gaps >= -1e-12)
    alphas, coefs, _ = lasso_path(X, np.zeros(30), alphas=3, precompute=gram)
    assert np.all(coefs == 0) and np.all(alphas > 0)
    # float32 stays float32
    _, coefs32, _ = lasso_path(X.astype(np.float32), rng.randn(30).astype(np.float32),
                               alphas=4, precompute=gram)
    assert coefs32.dtype == np.float32
    # a single sample: the intercept takes y, every coefficient is 0
    one = Lasso(alpha=0.1, precompute=gram).fit(X[:1], [3.0])
    assert np.all(one.coef_ == 0) and one.intercept_ == pytest.approx(3.0)


# ---- the CD kernels' entry points (issue 11) ----------------------------------------------

def test_cd_kernels_reject_inconsistent_shapes():
    from skml._kernels._cd import l1_quadratic_cd

    rng = np.random.RandomState(0)
    X = np.asfortranarray(rng.randn(10, 3))
    y = rng.randn(10)
    for w, yy, match in [(np.zeros(4), y, "w has 4 entries, expected 3"),
                         (np.zeros(3), y[:9], "y has 9 entries, expected 10")]:
        with pytest.raises(ValueError, match=match):
            enet_cd_dense(w, 1.0, 0.0, X, yy, 10, 1e-4, 1, False, False)
    Q = np.ascontiguousarray(X.T @ X)
    for Qm, q, w, match in [(Q[:2], X.T @ y, np.zeros(3), "square"),
                            (Q, (X.T @ y)[:2], np.zeros(3), "q has 2 entries"),
                            (Q, X.T @ y, np.zeros(2), "w has 2 entries")]:
        with pytest.raises(ValueError, match=match):
            enet_cd_gram(w, 1.0, 0.0, np.ascontiguousarray(Qm), q, 1.0, 10, 1e-4, 1, False,
                         False)
    with pytest.raises(ValueError, match="max_iter must be >= 0"):
        enet_cd_dense(np.zeros(3), 1.0, 0.0, X, y, -1, 1e-4, 1, False, False)
    H = np.eye(3)
    for args, match in [((H[:2].copy(), np.zeros(3), np.zeros(3), np.zeros(3)), "square"),
                        ((H, np.zeros(2), np.zeros(3), np.zeros(3)), "b has 2"),
                        ((H, np.zeros(3), np.zeros(4), np.zeros(3)), "z has 4"),
                        ((H, np.zeros(3), np.zeros(3), np.zeros(1)), "lam has 1")]:
        with pytest.raises(ValueError, match=match):
            l1_quadratic_cd(*args, 10, 1e-6)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 15), st.integers(1, 6),
    st.sampled_from([np.float32, np.float64]),
    st.booleans(),  # Gram solver
    st.booleans(),  # read-only inputs
    st.booleans(),  # positive
    st.integers(-300, 300),  # magnitude of X: 10**k
    st.integers(0, 2**31 - 1),
)
def test_cd_kernels_reach_the_kkt_point_or_stop_cleanly(n, p, dtype, gram, readonly,
                                                       positive, exponent, seed):
    """Within float range the solution satisfies the lasso's optimality conditions
    (checked in NumPy, float64); at any magnitude the kernels stop within max_iter and
    keep w's shape and dtype, never crashing."""
    rng = np.random.RandomState(seed)
    if dtype == np.float32:
        exponent = exponent * 30 // 300
    scale = np.float64(10.0) ** exponent
    X = (rng.randn(n, p) * scale).astype(dtype)
    y = rng.randn(n).astype(dtype)
    alpha_user = 0.1 * scale
    l1 = alpha_user * n
    w = np.zeros(p, dtype=dtype)
    with np.errstate(all="ignore"):
        if gram:
            Q = np.ascontiguousarray(X.T @ X)
            q = X.T @ y
            if readonly:
                Q.setflags(write=False)
                q.setflags(write=False)
            w, gap, _, n_iter, converged = enet_cd_gram(
                w, l1, 0.0, Q, q, float(y.astype(np.float64) @ y), 500, 1e-10, 3, False,
                positive)
        else:
            Xf = np.asfortranarray(X)
            if readonly:
                Xf.setflags(write=False)
                y.setflags(write=False)
            w, gap, _, n_iter, converged = enet_cd_dense(w, l1, 0.0, Xf, y, 500, 1e-10, 3,
                                                         False, positive)
    assert w.shape == (p,) and w.dtype == dtype and 1 <= n_iter <= 500
    if abs(exponent) <= (10 if dtype == np.float32 else 100) and converged:
        X64, w64 = X.astype(np.float64) / scale, w.astype(np.float64) * scale
        tol = 1e-3 if dtype == np.float32 else 1e-6
        assert kkt_violation(X64, y.astype(np.float64), w64, 0.1,
                             positive=positive) <= tol * max(1.0, np.abs(y).max())
        if positive:
            assert np.all(w >= 0)


# ---- drop-in items (issue 13) ---------------------------------------------------------

def test_path_methods_and_sklearn_1_9_alpha_deprecations(diabetes):
    X, y = diabetes
    # scikit-learn's Lasso.path is enet_path (its l1_ratio defaults to 0.5)
    assert Lasso.path is enet_path and ElasticNet.path is enet_path
    a1, c1, _ = Lasso.path(X, y, alphas=5, l1_ratio=1.0)
    a2, c2, _ = sk.lasso_path(X, y, alphas=5)
    np.testing.assert_allclose(a1, a2, rtol=1e-12)
    assert rel(c1, c2) <= 1e-4
    e1 = ElasticNet.path(X, y, l1_ratio=0.3, alphas=[1.0, 0.1], tol=1e-12)[1]
    e2 = sk.ElasticNet.path(X, y, l1_ratio=0.3, alphas=[1.0, 0.1], tol=1e-12)[1]
    assert rel(e1, e2) <= 1e-6
    with pytest.warns(FutureWarning, match="'n_alphas' was deprecated in 1.9"):
        a3, _, _ = lasso_path(X, y, n_alphas=7)
    assert a3.shape == (7,)
    with pytest.warns(FutureWarning, match="'alphas=None' is deprecated"):
        a4, _, _ = enet_path(X, y, alphas=None)
    assert a4.shape == (100,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lasso_path(X, y)[0].shape == (100,)  # the defaults are silent
