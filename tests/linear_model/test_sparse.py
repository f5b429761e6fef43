"""Sparse input for the linear models (issue 14): the same result as on the dense copy,
on random sparse matrices of several densities, both dtypes, CSR and CSC, with explicit
zeros, empty rows and unsorted indices. Centring stays implicit: nothing is densified."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from skml._kernels._cd import enet_cd_dense, enet_cd_sparse
from skml.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    enet_path,
)
from tests._sparse_cases import awkward_sparse

CASES = [(0.05, np.float64, "csr", 0), (0.3, np.float32, "csc", 1), (0.6, np.float64, "csc", 2)]


def _target(dense, seed, classes=None):
    rng = np.random.RandomState(seed)
    score = dense @ rng.randn(dense.shape[1]) + 0.3 * rng.randn(dense.shape[0]) + 2.0
    if classes is None:
        return score
    return np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))


@pytest.mark.parametrize("density, dtype, fmt, seed", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_least_squares_and_ridge_equal_their_dense_fits(density, dtype, fmt, seed, weighted):
    X, dense = awkward_sparse(120, 15, density, seed, dtype, fmt)
    y = _target(dense, seed)
    sw = np.random.RandomState(seed).uniform(0.5, 2.0, 120) if weighted else None
    for fit_intercept in (True, False):
        ours = LinearRegression(fit_intercept=fit_intercept, tol=1e-12).fit(X, y, sw)
        ref = LinearRegression(fit_intercept=fit_intercept).fit(dense, y, sw)
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(ours.predict(X), ref.predict(dense), rtol=1e-6, atol=1e-6)
        solvers = ["auto", "lsqr", "sparse_cg", "sag"] + ([] if fit_intercept else
                                                           ["cholesky"])
        ref = Ridge(alpha=0.7, fit_intercept=fit_intercept).fit(dense, y, sw)
        for solver in solvers:
            ours = Ridge(alpha=0.7, solver=solver, tol=1e-12,
                         fit_intercept=fit_intercept).fit(X, y, sw)
            np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-6,
                                       err_msg=solver)
            np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-5,
                                       atol=1e-6)
            assert ours.coef_.dtype == dtype
        pos = Ridge(alpha=0.7, positive=True, fit_intercept=fit_intercept, tol=1e-12)
        np.testing.assert_allclose(pos.fit(X, y, sw).coef_,
                                   pos.fit(dense, y, sw).coef_, atol=1e-6)


def test_ridge_sparse_solver_rules_are_sklearns():
    X, dense = awkward_sparse(40, 6, 0.3, 0)
    y = _target(dense, 0)
    for solver in ("cholesky", "svd", "saga"):
        with pytest.raises(ValueError, match=f"solver='{solver}' does not support fitting "
                                             "the intercept on sparse data"):
            Ridge(solver=solver).fit(X, y)
    with pytest.raises(TypeError, match="SVD solver does not support sparse"):
        Ridge(solver="svd", fit_intercept=False).fit(X, y)
    assert Ridge().fit(X, y).solver_ == "sparse_cg"


@pytest.mark.parametrize("density, dtype, fmt, seed", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_lasso_and_elastic_net_equal_their_dense_fits(density, dtype, fmt, seed, weighted):
    X, dense = awkward_sparse(150, 20, density, seed, dtype, fmt)
    y = _target(dense, seed)
    sw = np.random.RandomState(seed).uniform(0.5, 2.0, 150) if weighted else None
    for est in (Lasso(alpha=0.02, tol=1e-12, max_iter=10_000),
                ElasticNet(alpha=0.05, l1_ratio=0.4, tol=1e-12, max_iter=10_000),
                Lasso(alpha=0.02, fit_intercept=False, positive=True, tol=1e-12)):
        ours = est.fit(X, y, sample_weight=sw)
        coef, intercept = ours.coef_.copy(), ours.intercept_
        ref = est.fit(dense, y, sample_weight=sw)
        np.testing.assert_allclose(coef, ref.coef_, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(intercept, ref.intercept_, rtol=1e-7, atol=1e-9)
    # (the sparse path computes in float64; the reference is the float64 dense path)
    alphas, coefs, _ = enet_path(X, y, alphas=4, l1_ratio=0.7, tol=1e-12)
    a2, c2, _ = enet_path(dense.astype(np.float64), y, alphas=4, l1_ratio=0.7, tol=1e-12)
    np.testing.assert_allclose(alphas, a2, rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(coefs, c2, rtol=1e-4, atol=1e-5)
    assert coefs.dtype == dtype


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # tol=1e-10
@pytest.mark.parametrize("density, dtype, fmt, seed", CASES)
def test_logistic_regression_equals_its_dense_fit(density, dtype, fmt, seed):
    X, dense = awkward_sparse(200, 12, density, seed, dtype, fmt)
    for n_classes in (2, 3):
        y = _target(dense, seed, classes=n_classes)
        for solver, l1_ratio in [("lbfgs", 0.0), ("newton-cg", 0.0),
                                 ("newton-cholesky", 0.0), ("saga", 0.5), ("newton", 1.0)]:
            kw = dict(solver=solver, l1_ratio=l1_ratio, tol=1e-10, max_iter=10_000)
            ours = LogisticRegression(**kw).fit(X, y)
            ref = LogisticRegression(**kw).fit(dense, y)
            np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-6,
                                       err_msg=solver)
            np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(dense),
                                       atol=1e-6)
            assert ours.coef_.dtype == dtype
    # the other solvers, with class and sample weights
    y = _target(dense, seed, classes=3)
    sw = np.random.RandomState(seed).uniform(0.5, 2.0, 200)
    for solver in ("sag", "bfgs"):
        kw = dict(solver=solver, tol=1e-10, max_iter=10_000, class_weight="balanced")
        np.testing.assert_allclose(LogisticRegression(**kw).fit(X, y, sw).coef_,
                                   LogisticRegression(**kw).fit(dense, y, sw).coef_,
                                   rtol=1e-5, atol=1e-6, err_msg=solver)
    y = _target(dense, seed, classes=2)
    lib = dict(solver="liblinear", tol=1e-10, max_iter=10_000)
    np.testing.assert_allclose(LogisticRegression(**lib).fit(X, y).coef_,
                               LogisticRegression(**lib).fit(dense, y).coef_, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.integers(1, 8), st.floats(0.0, 1.0), st.booleans(),
       st.booleans(), st.integers(0, 2**31 - 1))
def test_sparse_cd_kernel_equals_the_dense_one(n, p, density, centred, weighted, seed):
    """enet_cd_sparse with implicit centring/weights = enet_cd_dense on the explicit
    design (same sweeps, so the same iterate to rounding)."""
    rng = np.random.RandomState(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=rng)
    sw = rng.uniform(0.5, 2.0, n) if weighted else np.ones(n)
    u = np.sqrt(sw)
    xm = (sw @ X.toarray()) / sw.sum() if centred else np.zeros(p)
    y = rng.randn(n)
    yw = u * (y - (sw @ y / sw.sum() if centred else 0.0))
    Xu = sp.csc_matrix(sp.diags(u) @ X)
    w1 = np.zeros(p)
    r1 = enet_cd_sparse(w1, 0.3, 0.2, Xu.data, Xu.indices.astype(np.intp),
                        Xu.indptr.astype(np.intp), n, yw, u, xm, 200, 1e-10, 1, False, False)
    w2 = np.zeros(p)
    Xd = np.asfortranarray(u[:, None] * (X.toarray() - xm))
    r2 = enet_cd_dense(w2, 0.3, 0.2, Xd, yw, 200, 1e-10, 1, False, False)
    np.testing.assert_allclose(r1[0], r2[0], rtol=1e-9, atol=1e-10)
    assert r1[3] == r2[3]


def test_sparse_cd_kernel_rejects_bad_csr():
    w = np.zeros(2)
    ok = dict(data=np.ones(2), indices=np.array([0, 1], dtype=np.intp),
              indptr=np.array([0, 1, 2], dtype=np.intp))
    args = (3, np.zeros(3), np.ones(3), np.zeros(2), 10, 1e-4, 1, False, False)
    with pytest.raises(ValueError, match="row indices must lie in"):
        enet_cd_sparse(w, 1.0, 0.0, ok["data"], np.array([0, 5], dtype=np.intp),
                       ok["indptr"], *args)
    with pytest.raises(ValueError, match="indptr must rise"):
        enet_cd_sparse(w, 1.0, 0.0, ok["data"], ok["indices"],
                       np.array([0, 2, 1], dtype=np.intp), *args)


@pytest.mark.parametrize("fmt", ["coo", "lil", "dok", "bsr", "dia", "csr_array",
                                 "csc_array"])
def test_every_sparse_format_is_accepted(fmt):
    """Formats other than CSR/CSC are converted (as scikit-learn does) to the same model."""
    X, dense = awkward_sparse(60, 8, 0.3, 4)
    X = sp.csr_array(X).asformat(fmt[:3]) if fmt.endswith("_array") else X.asformat(fmt)
    y = _target(dense, 4)
    labels = _target(dense, 4, classes=2)
    for est, target in [(LinearRegression(), y), (Ridge(tol=1e-12), y),
                        (Lasso(alpha=0.01, tol=1e-12), y),
                        (LogisticRegression(tol=1e-10), labels)]:
        np.testing.assert_allclose(est.fit(X, target).coef_.copy(),
                                   est.fit(dense, target).coef_, rtol=1e-6, atol=1e-7,
                                   err_msg=type(est).__name__)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("scale", [1e160, 1e-160, "max"])
def test_sparse_fits_at_extreme_magnitudes_equal_the_dense_ones(scale):
    """The dense paths rescale by a power of two (issue 11 §5); the sparse paths share
    that mechanism and give the same models at any magnitude."""
    X, dense = awkward_sparse(80, 6, 0.5, 0)
    s = np.finfo(np.float64).max / np.abs(dense).max() / 2 if scale == "max" else scale
    y = _target(dense, 0)
    labels = _target(dense, 0, classes=2)
    for est, target in [(LinearRegression(), y), (Lasso(alpha=1e-12 * s, tol=1e-14), y),
                        (ElasticNet(alpha=1.0, tol=1e-14, max_iter=100_000), y),
                        (Ridge(alpha=1e-300, solver="lsqr", tol=1e-14), y)]:
        ours = est.fit(X * s, target).predict(X * s)
        ref = est.fit(dense * s, target).predict(dense * s)
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6 * np.abs(y).max(),
                                   err_msg=type(est).__name__)
    clf = LogisticRegression(tol=1e-10)
    np.testing.assert_allclose(clf.fit(X * s, labels).predict_proba(X * s),
                               clf.fit(dense * s, labels).predict_proba(dense * s),
                               atol=1e-6)  # (at s ~ 1e307 the fit is unpenalised)
