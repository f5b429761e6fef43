"""LinearRegression and Ridge against scikit-learn and the closed-form answers."""
import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from sklearn.datasets import load_diabetes

from skml.linear_model import LinearRegression, Ridge


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_linear_regression_matches_sklearn_on_diabetes(diabetes, fit_intercept, weighted):
    X, y = diabetes
    sw = np.random.RandomState(0).uniform(0.5, 2.0, len(y)) if weighted else None
    ours = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    ref = sk.LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    assert rel(ours.coef_, ref.coef_) <= 1e-6
    assert abs(ours.intercept_ - ref.intercept_) <= 1e-6 * max(1.0, abs(ref.intercept_))
    assert ours.rank_ == ref.rank_ == X.shape[1]
    np.testing.assert_allclose(ours.singular_, ref.singular_, rtol=1e-10)


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 10.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_ridge_matches_sklearn_on_diabetes(diabetes, alpha, weighted):
    X, y = diabetes
    sw = np.random.RandomState(1).uniform(0.5, 2.0, len(y)) if weighted else None
    ours = Ridge(alpha=alpha).fit(X, y, sample_weight=sw)
    ref = sk.Ridge(alpha=alpha).fit(X, y, sample_weight=sw)
    assert rel(ours.coef_, ref.coef_) <= 1e-6
    assert abs(ours.intercept_ - ref.intercept_) <= 1e-6 * abs(ref.intercept_)


def test_multi_output_and_per_target_alpha(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, np.log(y), -2 * y])
    ours = LinearRegression().fit(X, Y)
    ref = sk.LinearRegression().fit(X, Y)
    assert ours.coef_.shape == (3, X.shape[1]) and ours.intercept_.shape == (3,)
    assert rel(ours.coef_, ref.coef_) <= 1e-8
    alphas = np.array([0.1, 1.0, 10.0])
    ours = Ridge(alpha=alphas).fit(X, Y)
    ref = sk.Ridge(alpha=alphas).fit(X, Y)
    assert rel(ours.coef_, ref.coef_) <= 1e-8
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-8)


def test_ridge_dual_when_more_features_than_samples():
    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 60), rng.randn(20)
    for alpha in (0.01, 1.0):
        ours = Ridge(alpha=alpha).fit(X, y)
        ref = sk.Ridge(alpha=alpha).fit(X, y)
        assert rel(ours.coef_, ref.coef_) <= 1e-8
        assert rel(Ridge(alpha=alpha, solver="svd").fit(X, y).coef_, ref.coef_) <= 1e-8


def test_singular_X_gives_the_minimum_norm_solution():
    rng = np.random.RandomState(0)
    base = rng.randn(30, 3)
    X = np.column_stack([base, base[:, 0], 2 * base[:, 1], np.ones(30)])  # rank 3 after centring
    y = base @ [1.0, -2.0, 0.5] + 4.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = LinearRegression().fit(X, y)
    assert reg.rank_ == 3
    Xc = X - X.mean(axis=0)
    expected = np.linalg.pinv(Xc) @ (y - y.mean())
    np.testing.assert_allclose(reg.coef_, expected, atol=1e-10)
    np.testing.assert_allclose(reg.predict(X), y, atol=1e-10)
    # duplicated columns share the weight equally: the minimum-norm choice
    assert reg.coef_[0] == pytest.approx(reg.coef_[3])
    # more features than samples: interpolates with the smallest coefficients
    X2, y2 = rng.randn(5, 12), rng.randn(5)
    reg2 = LinearRegression(fit_intercept=False).fit(X2, y2)
    np.testing.assert_allclose(reg2.coef_, np.linalg.pinv(X2) @ y2, atol=1e-10)
    # Ridge with alpha=0 on the same singular data falls back to the same answer
    np.testing.assert_allclose(Ridge(alpha=0.0).fit(X, y).coef_, expected, atol=1e-8)


def test_positive_least_squares_matches_sklearn(diabetes):
    X, y = diabetes
    ours = LinearRegression(positive=True).fit(X, y)
    ref = sk.LinearRegression(positive=True).fit(X, y)
    assert np.all(ours.coef_ >= 0)
    assert rel(ours.coef_, ref.coef_) <= 1e-6


def test_integer_sample_weights_equal_repeated_rows(diabetes):
    X, y = diabetes
    X, y = X[:80], y[:80]
    w = np.random.RandomState(0).randint(0, 3, len(y))
    w[0] = 1
    Xr, yr = np.repeat(X, w, axis=0), np.repeat(y, w)
    for est in (LinearRegression(), Ridge(alpha=0.3)):
        a = est.fit(X, y, sample_weight=w).coef_.copy()
        b = est.fit(Xr, yr).coef_
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-8)


def test_bad_parameters_give_clear_errors(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="alpha"):
        Ridge(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        Ridge(solver="qr").fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        LinearRegression().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="number of penalties do not correspond: 2 != 1"):
        Ridge(alpha=[1.0, 2.0]).fit(X, y)


@pytest.mark.parametrize("solver", ["auto", "svd", "cholesky", "lsqr", "sparse_cg", "sag",
                                    "saga", "lbfgs"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_every_ridge_solver_reaches_sklearns_solution(diabetes, solver, fit_intercept):
    """Ridge(solver, tol, max_iter, positive): the unique ridge optimum of scikit-learn's
    same solver, weighted and multi-target; 'lbfgs' is the positive-constrained solver."""
    X, y = diabetes
    Y = np.column_stack([y, 3.0 - y])
    sw = np.random.RandomState(2).uniform(0.5, 2.0, len(y))
    positive = solver == "lbfgs"
    if positive:
        Y = np.column_stack([y, y + 5.0])
    kw = dict(alpha=0.3, solver=solver, fit_intercept=fit_intercept, positive=positive,
              tol=1e-10, max_iter=100_000)
    ours = Ridge(**kw).fit(X, Y, sample_weight=sw)
    ref = sk.Ridge(**kw).fit(X, Y, sample_weight=sw)
    assert rel(ours.coef_, ref.coef_) <= 1e-8, solver
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9, atol=1e-9)
    assert ours.solver_ == ref.solver_
    if positive:
        assert ours.coef_.min() >= 0 and ref.coef_.min() >= 0
        assert np.sum(ours.coef_ == 0) >= 2  # the constraint is active
    if solver in ("lsqr", "sag", "saga"):
        assert np.asarray(ours.n_iter_).shape == (2,)


def test_ridge_positive_and_max_iter_rules_are_sklearns(diabetes):
    X, y = diabetes
    for solver in ("svd", "cholesky", "lsqr", "sparse_cg", "sag", "saga"):
        with pytest.raises(ValueError, match=f"solver='{solver}' does not support positive"):
            Ridge(solver=solver, positive=True).fit(X, y)
    with pytest.raises(ValueError, match="'lbfgs' solver can be used only when positive"):
        Ridge(solver="lbfgs").fit(X, y)
    assert Ridge(positive=True).fit(X, y).solver_ == "lbfgs"
    with pytest.warns(Warning, match="lbfgs solver did not converge"):
        Ridge(positive=True, max_iter=2, tol=1e-12).fit(X, y)
    with pytest.raises(ValueError, match="max_iter"):
        Ridge(max_iter=0).fit(X, y)
    with pytest.raises(ValueError, match="tol"):
        Ridge(tol=-1.0).fit(X, y)
