"""SVR against scikit-learn's (libsvm) and its own optimality conditions."""
import numpy as np
import pytest
from sklearn import svm as sk_svm
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler

from skml.svm import SVR
from skml.svm._base import kernel_matrix


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X, (y - y.mean()) / y.std()


@pytest.mark.parametrize("params", [
    dict(),
    dict(C=10.0, epsilon=0.05),
    dict(kernel="linear", C=0.3),
    dict(kernel="poly", degree=2, coef0=1.0, gamma=0.05),
    dict(kernel="rbf", gamma=0.2, shrinking=False),
])
def test_predictions_and_support_vectors_match_sklearn(params):
    X, y = _diabetes()
    ours = SVR(tol=1e-6, **params).fit(X, y)
    theirs = sk_svm.SVR(tol=1e-6, **params).fit(X, y)
    np.testing.assert_array_equal(ours.support_, theirs.support_)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-6)
    np.testing.assert_allclose(ours.dual_coef_, theirs.dual_coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-6)
    if params.get("kernel") == "linear":
        np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-6)


def test_default_tolerance_agrees_to_1e3_with_the_same_iterations():
    X, y = _diabetes()
    ours = SVR().fit(X, y)
    theirs = sk_svm.SVR().fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.support_, theirs.support_)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-3)


def test_epsilon_tube_conditions():
    """Inside the tube a_i = a_i* = 0; free support vectors sit on its edge."""
    X, y = _diabetes()
    C, eps = 2.0, 0.3
    reg = SVR(C=C, epsilon=eps, gamma=0.1, tol=1e-8).fit(X, y)
    resid = y - reg.predict(X)
    coef = np.zeros(X.shape[0])
    coef[reg.support_] = reg.dual_coef_[0]
    assert np.all(np.abs(resid[coef == 0]) <= eps + 1e-6)
    free = (coef != 0) & (np.abs(coef) < C - 1e-9)
    assert free.any()
    np.testing.assert_allclose(np.abs(resid[free]), eps, atol=1e-6)
    # outside the tube the coefficient is at the bound, with the sign of the residual
    out = np.abs(resid) > eps + 1e-6
    np.testing.assert_allclose(coef[out], C * np.sign(resid[out]), atol=1e-9)
    assert abs(coef.sum()) < 1e-9


def test_sample_weight_zero_drops_samples_and_weights_scale_c():
    X, y = _diabetes()
    sw = np.ones(X.shape[0])
    sw[:50] = 0.0
    a = SVR(gamma=0.1, tol=1e-8).fit(X, y, sample_weight=sw)
    b = SVR(gamma=0.1, tol=1e-8).fit(X[50:], y[50:])
    np.testing.assert_allclose(a.predict(X), b.predict(X), atol=1e-6)
    np.testing.assert_array_equal(a.support_, b.support_ + 50)
    c = SVR(gamma=0.1, C=3.0, tol=1e-8).fit(X, y)
    d = SVR(gamma=0.1, C=1.0, tol=1e-8).fit(X, y, sample_weight=np.full(X.shape[0], 3.0))
    np.testing.assert_allclose(c.predict(X), d.predict(X), atol=1e-6)


def test_precomputed_kernel_gives_the_rbf_model():
    X, y = _diabetes()
    ref = SVR(gamma=0.1).fit(X, y)
    K = kernel_matrix(X, X, "rbf", gamma=0.1)
    pre = SVR(kernel="precomputed").fit(K, y)
    np.testing.assert_allclose(pre.predict(K), ref.predict(X), atol=1e-8)


def test_huge_epsilon_gives_no_support_vectors_and_a_constant():
    X, y = _diabetes()
    reg = SVR(epsilon=100.0).fit(X, y)
    assert reg.support_.size == 0
    pred = reg.predict(X)
    assert np.all(pred == pred[0])


@pytest.mark.parametrize("params, match", [
    (dict(epsilon=-0.1), r"epsilon must be in \[0.0, inf\)"),
    (dict(gamma=0.0), r"gamma must be in \(0.0, inf\)"),
    (dict(C=-1.0), r"C must be in \(0.0, inf\)"),
])
def test_bad_hyper_parameters_are_clear_errors(params, match):
    X, y = _diabetes()
    with pytest.raises(ValueError, match=match):
        SVR(**params).fit(X, y)
