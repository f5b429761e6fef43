"""Regression tests for the linear models' faults (issue 11): integer targets, extreme
magnitudes, a user-supplied Gram matrix and parameter ranges. Right values come from
NumPy's least squares, closed forms, or scikit-learn on data of ordinary magnitude (the
same model after an exact change of units)."""
import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_regression

from skml.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    enet_path,
)

FLOAT_MAX = np.finfo(np.float64).max
pytestmark = pytest.mark.filterwarnings(
    # sklearn's own finiteness check sums X, which overflows near float max
    "ignore:invalid value encountered in reduce:RuntimeWarning")


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=40, n_features=4, noise=3.0, random_state=0)
    return X, y / np.std(y)


def _ols(X, y, fit_intercept):
    if fit_intercept:
        Xm, ym = X.mean(axis=0), y.mean()
        coef = np.linalg.lstsq(X - Xm, y - ym, rcond=None)[0]
        return coef, ym - Xm @ coef
    return np.linalg.lstsq(X, y, rcond=None)[0], 0.0


# ---- integer targets ------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True])
def test_integer_targets_without_intercept(data, weighted):
    X, y = data
    y_int = np.round(3 * y).astype(np.int64)
    sw = np.random.RandomState(1).uniform(0.5, 2, len(y)) if weighted else None
    root = np.ones(len(y)) if sw is None else np.sqrt(sw)
    ref = np.linalg.lstsq(X * root[:, None], y_int * root, rcond=None)[0]
    ours = LinearRegression(fit_intercept=False).fit(X, y_int, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, ref, rtol=1e-10)
    Xw, yw = X * root[:, None], y_int * root
    ridge_ref = np.linalg.solve(Xw.T @ Xw + 2.0 * np.eye(4), Xw.T @ yw)
    ridge = Ridge(alpha=2.0, fit_intercept=False).fit(X, y_int, sample_weight=sw)
    np.testing.assert_allclose(ridge.coef_, ridge_ref, rtol=1e-10)
    enet = ElasticNet(alpha=0.01, fit_intercept=False, tol=1e-12, max_iter=10_000)
    enet.fit(X, y_int, sample_weight=sw)
    sk_enet = sk.ElasticNet(alpha=0.01, fit_intercept=False, tol=1e-12, max_iter=10_000)
    sk_enet.fit(X, y_int.astype(float), sample_weight=sw)
    np.testing.assert_allclose(enet.coef_, sk_enet.coef_, rtol=1e-6)
    assert ours.coef_.dtype == ridge.coef_.dtype == np.float64


# ---- extreme magnitudes ---------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("scale", [1e160, 1e-160, "max"])
def test_least_squares_at_any_magnitude(data, scale):
    X, y = data
    s = FLOAT_MAX / np.abs(X).max() / 2 if scale == "max" else scale
    coef, intercept = _ols(X, y, True)
    # (Lasso's alpha in data units is alpha / s: 1e-12, negligible)
    for est in (LinearRegression(), Ridge(alpha=0.0), Lasso(alpha=1e-12 * s, tol=1e-14,
                                                             max_iter=100_000)):
        est.fit(X * s, y)
        np.testing.assert_allclose(est.coef_ * s, coef, rtol=1e-6, err_msg=repr(est))
        np.testing.assert_allclose(est.intercept_, intercept, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(est.predict(X * s), X @ coef + intercept, atol=1e-6)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@settings(max_examples=30, deadline=None)
@given(st.integers(-300, 300), st.sampled_from(["ridge", "lasso", "enet"]),
       st.booleans())
def test_penalised_models_are_the_rescaled_models(exponent, model, fit_intercept):
    """On X * s the penalties act on coefficients s times smaller: Ridge(a) on X * s is
    Ridge(a / s^2) on X, Lasso(a) is Lasso(a / s), ElasticNet mixes both (scikit-learn on
    X is the reference)."""
    X, y = make_regression(n_samples=30, n_features=3, noise=1.0, random_state=0)
    s = 10.0 ** exponent
    alpha = 0.5
    if model == "ridge":
        assume((alpha / s) / s < 1e250)  # the equivalent model on X is representable
        ours = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X * s, y)
        ref = sk.Ridge(alpha=(alpha / s) / s, fit_intercept=fit_intercept).fit(X, y)
    elif model == "lasso":
        ours = Lasso(alpha=alpha, fit_intercept=fit_intercept, tol=1e-12,
                     max_iter=100_000).fit(X * s, y)
        ref = sk.Lasso(alpha=alpha / s, fit_intercept=fit_intercept, tol=1e-12,
                       max_iter=100_000).fit(X, y)
    else:
        l1, l2 = alpha * 0.5 / s, (alpha * 0.5 / s) / s
        assume(1e-250 < l1 + l2 < 1e250)
        ours = ElasticNet(alpha=alpha, l1_ratio=0.5, fit_intercept=fit_intercept,
                          tol=1e-12, max_iter=100_000).fit(X * s, y)
        ref = sk.ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2),
                            fit_intercept=fit_intercept, tol=1e-12,
                            max_iter=100_000).fit(X, y)
    scale = max(np.abs(ref.coef_).max(), 1e-300)
    np.testing.assert_allclose(ours.coef_ * s, ref.coef_, atol=1e-6 * scale, rtol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-6 * np.abs(y).max())


def test_elastic_net_near_float_max_is_least_squares_not_zero(data):
    X, y = data
    s = FLOAT_MAX / np.abs(X).max()
    coef, intercept = _ols(X, y, True)
    for est in (ElasticNet(alpha=1.0, tol=1e-14, max_iter=100_000),
                Lasso(alpha=1.0, tol=1e-14, max_iter=100_000)):
        est.fit(X * s, y)  # alpha / s ~ 1e-308: no penalty left at this scale
        np.testing.assert_allclose(est.coef_ * s, coef, rtol=1e-6)
        np.testing.assert_allclose(est.intercept_, intercept, rtol=1e-6, atol=1e-9)
    _, coefs, _ = enet_path(X * s, y - y.mean(), alphas=[1.0], tol=1e-14, max_iter=100_000)
    np.testing.assert_allclose(coefs[:, 0] * s, _ols(X, y - y.mean(), False)[0], rtol=1e-4)


@pytest.mark.parametrize("exponent", [120, -120])
@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_logistic_regression_is_the_rescaled_model(exponent, penalty):
    """C sum loss + ||w||^2 / 2 on X * s is (C s^2) sum loss + ||v||^2 / 2 on X (for the
    L1 penalty: C s); reference: scikit-learn on X."""
    rng = np.random.RandomState(0)
    X = rng.randn(80, 3)
    y = (X @ [1.0, -2.0, 0.5] + rng.randn(80) > 0).astype(int)
    s = 10.0 ** exponent
    C_ref = 0.5
    C = C_ref / s / s if penalty == "l2" else C_ref / s
    ours = LogisticRegression(l1_ratio=0.0 if penalty == "l2" else 1.0, C=C, tol=1e-10,
                              solver="lbfgs" if penalty == "l2" else "saga",
                              max_iter=1000).fit(X * s, y)
    ref = sk.LogisticRegression(C=C_ref, l1_ratio=0.0 if penalty == "l2" else 1.0,
                                solver="lbfgs" if penalty == "l2" else "saga",
                                tol=1e-10, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_ * s, ref.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-4, atol=1e-5)


def test_logistic_regression_on_tiny_data_fits_the_intercept_only():
    """At |x| ~ 1e-160 the L2 penalty (C / s^2 in data units) forces w = 0: the model is
    the class prior, as scikit-learn's with a huge penalty on ordinary data."""
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = (X[:, 0] > 0.4).astype(int)
    ours = LogisticRegression().fit(X * 1e-160, y)
    assert np.all(ours.coef_ == 0)
    assert ours.intercept_[0] == pytest.approx(np.log(y.mean() / (1 - y.mean())), rel=1e-4)
    np.testing.assert_array_equal(ours.predict(X * 1e-160), np.zeros(40))


# ---- a user-supplied Gram matrix ------------------------------------------------------

def test_gram_of_centred_data_is_used_and_others_are_checked(data):
    X, y = data
    Xc = X - X.mean(axis=0)
    ref = ElasticNet(alpha=0.05, tol=1e-12).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = ElasticNet(alpha=0.05, tol=1e-12, precompute=Xc.T @ Xc).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8)
    # the Gram of the uncentred X: recomputed with scikit-learn's warning, same model
    with pytest.warns(UserWarning, match="recomputing Gram matrix"):
        unc = ElasticNet(alpha=0.05, tol=1e-12, precompute=X.T @ X).fit(X, y)
    np.testing.assert_allclose(unc.coef_, ref.coef_, rtol=1e-8)
    sk_unc = sk.ElasticNet(alpha=0.05, tol=1e-12, precompute=X.T @ X)
    with pytest.warns(UserWarning, match="recomputing Gram matrix"):
        sk_unc.fit(X, y)
    np.testing.assert_allclose(unc.coef_, sk_unc.coef_, rtol=1e-6)
    # without intercept the Gram of X itself
    no_int = ElasticNet(alpha=0.05, fit_intercept=False, tol=1e-12)
    np.testing.assert_allclose(no_int.set_params(precompute=X.T @ X).fit(X, y).coef_,
                               no_int.set_params(precompute=False).fit(X, y).coef_,
                               rtol=1e-8)


@pytest.mark.parametrize("make_gram, match", [
    (lambda X: np.eye(3), "shape"),
    (lambda X: X.T @ X + np.triu(np.ones((4, 4)), 1), "not symmetric"),
    (lambda X: 2.0 * (X.T @ X), "does not match X"),
    (lambda X: np.full((4, 4), np.nan), "NaN"),
])
def test_bad_gram_matrices_are_errors(data, make_gram, match):
    X, y = data
    for fit_intercept in (True, False):
        with pytest.raises(ValueError, match=match):
            Lasso(alpha=0.1, precompute=make_gram(X), fit_intercept=fit_intercept).fit(X, y)
    with pytest.raises(ValueError, match=match if match != "does not match X" else "not X"):
        enet_path(X, y, precompute=make_gram(X), alphas=[0.1])


def test_weighted_gram_must_include_the_weights(data):
    X, y = data
    sw = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    sw_n = sw * len(y) / sw.sum()
    Xw = X * np.sqrt(sw_n)[:, None]
    ref = Lasso(alpha=0.05, fit_intercept=False, tol=1e-12).fit(X, y, sample_weight=sw)
    ours = Lasso(alpha=0.05, fit_intercept=False, tol=1e-12, precompute=Xw.T @ Xw)
    np.testing.assert_allclose(ours.fit(X, y, sample_weight=sw).coef_, ref.coef_, rtol=1e-8)
    with pytest.raises(ValueError, match="does not match X"):
        ours.set_params(precompute=X.T @ X).fit(X, y, sample_weight=sw)


# ---- parameter ranges -----------------------------------------------------------------

@pytest.mark.parametrize("est, match", [
    (ElasticNet(max_iter=2**31), r"max_iter must be in \[1, 2147483647\]"),
    (Lasso(max_iter=2**63), "max_iter must fit in a 64-bit integer"),
    (Lasso(tol=np.nan), "tol must not be NaN"),
    (ElasticNet(l1_ratio=1.5), r"l1_ratio must be in \[0, 1\]"),
    (Ridge(alpha=np.nan), "alpha must not be NaN"),
    (LogisticRegression(max_iter=2**63), "max_iter must fit in a 64-bit integer"),
    (LogisticRegression(C=np.nan), "C must not be NaN"),
])
def test_out_of_range_parameters_are_clear_errors(data, est, match):
    X, y = data
    if isinstance(est, LogisticRegression):
        y = (y > 0).astype(int)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    with pytest.raises(ValueError, match=r"max_iter must be in \[1, 2147483647\]"):
        enet_path(X, y, max_iter=2**31, alphas=[0.1])
