"""Regression tests for SVC / SVR / LinearSVC faults (issue 11): stale fitted state,
extreme magnitudes, parameter ranges and Platt scaling's monotonicity. Right values come
from scikit-learn on data of ordinary magnitude (the same model by an exact change of
units) or from the definitions."""
import warnings

import numpy as np
import pytest
from sklearn import svm as sk_svm
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from skml.svm import SVC, SVR, LinearSVC

pytestmark = [
    pytest.mark.filterwarnings("ignore:The `probability` parameter:FutureWarning"),
    # sklearn's own finiteness check sums X, which overflows near float max
    pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning"),
]

FLOAT_MAX = np.finfo(np.float64).max


@pytest.fixture(scope="module")
def clf_data():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int)
    return X, y


@pytest.fixture(scope="module")
def reg_data():
    X, y = make_regression(n_samples=60, n_features=3, noise=5.0, random_state=0)
    return X, y / np.std(y)


# ---- stale fitted state ---------------------------------------------------------------

def test_predict_proba_after_switching_probability_on_is_not_fitted(clf_data):
    X, y = clf_data
    clf = SVC().fit(X, y)
    clf.set_params(probability=True)
    with pytest.raises(NotFittedError, match="probability=False"):
        clf.predict_proba(X)
    with pytest.raises(NotFittedError, match="probability=False"):
        clf.predict_log_proba(X)
    ref = sk_svm.SVC().fit(X, y).set_params(probability=True)
    with pytest.raises(NotFittedError):  # scikit-learn's behaviour too
        ref.predict_proba(X)


@pytest.mark.parametrize("cls", [SVC, SVR])
def test_kernel_parameters_changed_after_fit_do_not_change_predictions(cls, clf_data):
    X, y = clf_data
    est = cls(kernel="poly", degree=2, coef0=1.0).fit(X, y)
    before = est.predict(X), (est.decision_function(X) if cls is SVC else None)
    est.set_params(kernel="linear", degree=5, coef0=-3.0, gamma=10.0)
    np.testing.assert_array_equal(est.predict(X), before[0])
    if cls is SVC:
        np.testing.assert_array_equal(est.decision_function(X), before[1])
    with pytest.raises(AttributeError, match="linear kernel"):
        est.coef_  # noqa: B018  (the fitted kernel is poly)


# ---- extreme magnitudes ---------------------------------------------------------------

@pytest.mark.parametrize("scale", [1e160, 1e-160, "max"])
@pytest.mark.parametrize("kernel", ["rbf", "poly", "sigmoid"])
def test_svc_with_gamma_scale_is_the_same_model_at_any_magnitude(clf_data, scale, kernel):
    """gamma="scale" makes rbf/poly/sigmoid invariant to the units of X: the model on
    X * scale is scikit-learn's on X (which itself fails at these magnitudes)."""
    X, y = clf_data
    factor = FLOAT_MAX / np.abs(X).max() if scale == "max" else scale
    params = dict(kernel=kernel, coef0=1.0 if kernel != "rbf" else 0.0, tol=1e-8)
    ours = SVC(**params).fit(X * factor, y)
    ref = sk_svm.SVC(**params).fit(X, y)
    np.testing.assert_array_equal(ours.support_, ref.support_)
    np.testing.assert_allclose(ours.decision_function(X * factor), ref.decision_function(X),
                               atol=1e-6)
    np.testing.assert_array_equal(ours.predict(X * factor), ref.predict(X))
    assert ours._gamma >= 0 and np.isfinite(ours._kernel_gamma)


@pytest.mark.parametrize("scale", [1e160, 1e-160])
def test_svr_with_gamma_scale_is_the_same_model_at_any_magnitude(reg_data, scale):
    X, y = reg_data
    ours = SVR(tol=1e-8).fit(X * scale, y)
    ref = sk_svm.SVR(tol=1e-8).fit(X, y)
    np.testing.assert_allclose(ours.predict(X * scale), ref.predict(X), atol=1e-6)
    np.testing.assert_array_equal(ours.support_, ref.support_)


def test_explicit_gamma_on_huge_data_is_the_same_kernel(clf_data):
    """exp(-g ||x - y||^2) on X * s is exp(-(g s^2) ||x - y||^2) on X (laplace: g s)."""
    X, y = clf_data
    s = 1e120
    for kernel, g_big, g_ref in [("rbf", 0.7 / s**2, 0.7), ("laplace", 0.7 / s, 0.7)]:
        ours = SVC(kernel=kernel, gamma=g_big, tol=1e-8).fit(X * s, y)
        ref = SVC(kernel=kernel, gamma=g_ref, tol=1e-8).fit(X, y)
        np.testing.assert_allclose(ours.decision_function(X * s), ref.decision_function(X),
                                   atol=1e-6)


def test_linear_kernel_that_overflows_is_a_clear_error(clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match="linear kernel overflows"):
        SVC(kernel="linear").fit(X * 1e160, y)
    with pytest.raises(ValueError, match="linear kernel overflows"):
        SVR(kernel="linear").fit(X * 1e160, y.astype(float))


def test_non_finite_solution_is_an_error_not_a_silent_model(clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match="not finite"):  # (x.y)^3 ~ 1e600 overflows
        SVC(kernel="poly", gamma=1.0).fit(X * 1e100, y)
    with pytest.raises(ValueError, match="poly kernel overflows"):  # gamma s^2 = inf
        SVC(kernel="poly", gamma=1.0).fit(X * 1e200, y)
    with pytest.raises(ValueError, match="not finite"):
        SVR(kernel="poly", gamma=1.0).fit(X * 1e100, y.astype(float))


def test_linear_svc_on_huge_data_is_the_rescaled_model(clf_data):
    """1/2 ||w||^2 + C sum loss on X * s is, for v = s w and the synthetic feature
    scaled alike, the problem with C * s^2 on X: check against liblinear on X."""
    X, y = clf_data
    s = 1e120
    for dual in (True, False):
        ours = LinearSVC(C=1.0 / s**2, intercept_scaling=s, dual=dual, tol=1e-10,
                         max_iter=100_000).fit(X * s, y)
        ref = sk_svm.LinearSVC(C=1.0, dual=dual, tol=1e-10, max_iter=100_000).fit(X, y)
        np.testing.assert_allclose(ours.coef_ * s, ref.coef_, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-5, atol=1e-6)


# ---- parameter ranges -----------------------------------------------------------------

@pytest.mark.parametrize("cls, params, match", [
    (SVC, dict(degree=2**31), r"degree must be in \[0, 2147483647\]"),
    (SVR, dict(degree=2**31), r"degree must be in \[0, 2147483647\]"),
    (SVC, dict(max_iter=2**63), "max_iter must fit in a 64-bit integer"),
    (SVC, dict(coef0=np.inf), "coef0 must be in"),
    (SVC, dict(cache_size=np.inf), "cache_size must be in"),
    (SVR, dict(epsilon=np.inf), "epsilon must be in"),
    (SVC, dict(random_state=2**40), "random_state must be"),
    (LinearSVC, dict(max_iter=2**63), "max_iter must fit in a 64-bit integer"),
    (LinearSVC, dict(intercept_scaling=0.0), "intercept_scaling must be in"),
])
def test_out_of_range_parameters_are_clear_errors(cls, params, match, clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match=match):
        cls(**params).fit(X, y)


# ---- Platt scaling --------------------------------------------------------------------

def test_platt_probabilities_are_monotone_and_agree_with_predict_on_noise():
    """Pure noise (random labels, 100 x 100 standardised normal data, sigmoid kernel) is
    where libsvm's free sigmoid turns around; skml's must not, for any seed."""
    for seed in range(12):
        rng = np.random.RandomState(seed)
        X = StandardScaler().fit_transform(rng.randn(100, 100))
        y = rng.randint(0, 2, 100)
        clf = SVC(kernel="sigmoid", probability=True, random_state=seed).fit(X, y)
        X_test = np.r_[X, rng.randn(100, 100)]
        dec = clf.decision_function(X_test)
        P = clf.predict_proba(X_test)
        order = np.argsort(dec, kind="stable")
        assert np.all(np.diff(P[order, 1]) >= 0), seed
        np.testing.assert_array_equal(clf.classes_[P.argmax(axis=1)], clf.predict(X_test))
        assert clf.probA_[0] < 0 and clf.probB_[0] == 0.0


def test_platt_probabilities_agree_with_predict_on_real_binary_data():
    X, y = load_iris(return_X_y=True)
    X, y = X[y > 0], y[y > 0]
    clf = SVC(probability=True, random_state=0).fit(X, y)
    P = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.classes_[P.argmax(axis=1)], clf.predict(X))
    # still calibrated: the mean probability of the true class beats the base rate
    assert P[np.arange(len(y)), (y == 2).astype(int)].mean() > 0.85


def test_no_warnings_on_ordinary_data(clf_data):
    X, y = clf_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SVC().fit(X, y).predict(X)
        SVR().fit(X, y.astype(float)).predict(X)


# ---- drop-in items (issue 13) ---------------------------------------------------------

def test_verbose_progress_and_silence(clf_data, capsys):
    X, y = clf_data
    y3 = np.arange(len(y)) % 3
    SVC(verbose=0).fit(X, y3)
    SVR(verbose=0).fit(X, y.astype(float))
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    SVC(verbose=1).fit(X, y3)
    err = capsys.readouterr().err
    assert "SVC one-vs-one problems" in err and "3/3" in err  # a tqdm bar of 3 pairs
    SVR(verbose=1).fit(X, y.astype(float))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("[SVR] fitting: SMO on 120 variables")
    assert out[1].startswith("[SVR] SMO on 120 variables:") and "iterations" in out[1]


def test_callable_kernel_receives_the_raw_input():
    """As in scikit-learn: a callable kernel gets X as given (here strings)."""
    data = ["A A", "A", "B", "B B", "A B"]
    counts = np.array([[2, 0], [1, 0], [0, 1], [0, 2], [1, 1]], dtype=float)
    y = np.array([1, 1, 2, 2, 1])

    def string_kernel(A, B):
        return np.array([[a.count("A") * b.count("A") + a.count("B") * b.count("B")
                          for b in B] for a in A], dtype=float)

    for cls in (SVC, SVR):
        ours = cls(kernel=string_kernel).fit(data, y)
        lin = cls(kernel="linear").fit(counts, y)
        np.testing.assert_allclose(ours.predict(data), lin.predict(counts))
        assert ours.support_vectors_.shape == (0, 0)
        assert ours.shape_fit_ == (5,)


def test_hard_margin_c_inf_equals_a_huge_c():
    rng = np.random.RandomState(0)
    X = np.r_[rng.randn(20, 2) + 3, rng.randn(20, 2) - 3]
    y = np.r_[np.ones(20), np.zeros(20)]
    for cls in (SVC, SVR, LinearSVC):
        hard = cls(C=np.inf).fit(X, y)
        big = cls(C=1e10).fit(X, y)
        np.testing.assert_allclose(hard.predict(X), big.predict(X))


def test_sparse_precomputed_kernel_is_a_type_error():
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="Sparse precomputed"):
        SVC(kernel="precomputed").fit(sp.csr_matrix(np.eye(2)), [0, 1])


def test_ovr_decision_function_equals_sklearns_at_exact_ties():
    """A pairwise value of exactly 0 counts for the first class of the pair in the
    one-vs-rest scores, as in scikit-learn (gamma=1e6: every kernel value off the
    training points is 0)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(random_state=42, n_samples=20, n_features=2)
    grid = np.random.RandomState(0).uniform(X.min(), X.max(), (200, 2))
    ours = SVC(gamma=1e6).fit(X, y)
    ref = sk_svm.SVC(gamma=1e6).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(grid), ref.decision_function(grid),
                               atol=1e-12)
    np.testing.assert_array_equal(ours.predict(grid), ref.predict(grid))
