"""LogisticRegression: every solver reaches scikit-learn's optimum; the optimisers on
their own (Wolfe conditions, Newton's safeguard, BFGS)."""
import numpy as np
import pytest
import sklearn.linear_model as sk
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.preprocessing import StandardScaler

from skml.linear_model import LogisticRegression
from skml.linear_model._optimize import bfgs, newton, wolfe_line_search

SOLVERS = ["newton", "bfgs", "lbfgs"]


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y  # pixel intensities in [0, 1]


@pytest.fixture(scope="module")
def sk_cancer(cancer):
    return sk.LogisticRegression(tol=1e-10, max_iter=10_000).fit(*cancer)


@pytest.fixture(scope="module")
def sk_digits(digits):
    return sk.LogisticRegression(tol=1e-10, max_iter=10_000).fit(*digits)


@pytest.mark.parametrize("solver", SOLVERS)
def test_same_optimum_as_sklearn_lbfgs_on_breast_cancer(cancer, sk_cancer, solver):
    X, y = cancer
    clf = LogisticRegression(solver=solver, tol=1e-8, max_iter=2000).fit(X, y)
    assert clf.coef_.shape == (1, X.shape[1]) and clf.intercept_.shape == (1,)
    assert rel(clf.coef_, sk_cancer.coef_) <= 1e-4
    assert rel(clf.intercept_, sk_cancer.intercept_) <= 1e-4
    np.testing.assert_allclose(clf.predict_proba(X), sk_cancer.predict_proba(X), atol=1e-5)
    # at the default tolerance the answer is already close
    default = LogisticRegression(solver=solver).fit(X, y)
    assert rel(default.coef_, sk_cancer.coef_) <= 0.05


@pytest.mark.parametrize("solver", SOLVERS)
def test_same_optimum_as_sklearn_lbfgs_on_digits(digits, sk_digits, solver):
    X, y = digits
    clf = LogisticRegression(solver=solver, tol=1e-8, max_iter=3000).fit(X, y)
    assert clf.coef_.shape == (10, 64) and clf.intercept_.shape == (10,)
    assert rel(clf.coef_, sk_digits.coef_) <= 1e-4
    assert rel(clf.intercept_, sk_digits.intercept_) <= 1e-4
    assert np.mean(clf.predict(X) == sk_digits.predict(X)) == 1.0


def test_newton_on_raw_digits_matches_sklearn_newton_cholesky():
    # raw pixels (0..16) make the problem ill-conditioned: L-BFGS stops ~1e-4 short of the
    # optimum there, while both Newton solvers reach it
    X, y = load_digits(return_X_y=True)
    ours = LogisticRegression(solver="newton", tol=1e-10).fit(X, y)
    ref = sk.LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)
    assert rel(ours.coef_, ref.coef_) <= 1e-4
    assert ours.n_iter_[0] < 30


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # tol=1e-10
@pytest.mark.parametrize("solver", SOLVERS)
def test_weights_and_no_penalty_match_sklearn(solver):
    X, y = make_classification(n_samples=300, n_features=6, n_redundant=0, flip_y=0.2,
                               random_state=0)
    sw = np.random.RandomState(0).uniform(0.2, 3.0, len(y))
    kw = {"tol": 1e-10, "max_iter": 5000}
    cases = [
        ({"class_weight": "balanced", "C": 0.3}, {"class_weight": "balanced", "C": 0.3}, None),
        ({"class_weight": {0: 2.0, 1: 0.5}}, {"class_weight": {0: 2.0, 1: 0.5}}, sw),
        ({"penalty": None}, {"C": np.inf}, None),
    ]
    for ours_kw, sk_kw, weight in cases:
        ours = LogisticRegression(solver=solver, **ours_kw, **kw).fit(X, y, sample_weight=weight)
        ref = sk.LogisticRegression(**sk_kw, **kw).fit(X, y, sample_weight=weight)
        assert rel(ours.coef_, ref.coef_) <= 1e-4, ours_kw


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_l1_penalty_reaches_a_sparse_optimum(cancer, solver):
    X, y = cancer
    C = 0.05
    clf = LogisticRegression(penalty="l1", C=C, solver=solver, tol=1e-9, max_iter=5000)
    clf.fit(X, y)
    w = clf.coef_.ravel()
    assert 0 < np.count_nonzero(w) < X.shape[1] // 2
    # optimality: C * X^T (y - p) = sign(w) where w != 0, |.| <= 1 elsewhere
    g = C * X.T @ (y - clf.predict_proba(X)[:, 1])
    nz = w != 0
    np.testing.assert_allclose(g[nz], np.sign(w[nz]), atol=1e-4)
    assert np.all(np.abs(g[~nz]) <= 1 + 1e-4)
    assert abs(np.sum(y - clf.predict_proba(X)[:, 1])) <= 1e-4  # free intercept
    other = LogisticRegression(penalty="l1", C=C, solver="newton" if solver == "lbfgs"
                               else "lbfgs", tol=1e-9, max_iter=5000).fit(X, y)
    assert rel(clf.coef_, other.coef_) <= 1e-3


def test_string_labels_probabilities_and_decision_function(cancer):
    X, y = cancer
    labels = np.array(["benign", "malignant"])[y]
    clf = LogisticRegression(solver="newton").fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["benign", "malignant"])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), atol=1e-10)
    d = clf.decision_function(X)
    assert d.shape == (len(y),)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(d > 0).astype(int)])
    assert clf.score(X, labels) > 0.97
    assert clf.n_iter_.shape == (1,)


def test_bad_input_gives_clear_errors(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="does not support penalty='l1'"):
        LogisticRegression(penalty="l1", solver="bfgs").fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        LogisticRegression(solver="saga").fit(X, y)
    with pytest.raises(ValueError, match="C must be"):
        LogisticRegression(C=0.0).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        LogisticRegression().fit(X, np.linspace(0, 1, len(y)))


def test_warm_start_and_convergence_warning(cancer):
    from sklearn.exceptions import ConvergenceWarning

    X, y = cancer
    with pytest.warns(ConvergenceWarning):
        LogisticRegression(solver="bfgs", max_iter=2).fit(X, y)
    clf = LogisticRegression(solver="newton", warm_start=True, tol=1e-8).fit(X, y)
    clf.fit(X, y)
    assert clf.n_iter_[0] <= 1


# -- the optimisers ----------------------------------------------------------------------

def rosenbrock(x):
    f = 100.0 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
    g = np.array([-400.0 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]),
                  200.0 * (x[1] - x[0] ** 2)])
    return f, g


def test_wolfe_line_search_satisfies_the_strong_wolfe_conditions():
    x = np.array([-1.2, 1.0])
    f0, g0 = rosenbrock(x)
    p = -g0
    slope0 = float(g0 @ p)

    def phi(a):
        f, g = rosenbrock(x + a * p)
        return f, float(g @ p), g

    alpha, f, slope, _ = wolfe_line_search(phi, f0, slope0, alpha0=1.0)
    assert f <= f0 + 1e-4 * alpha * slope0
    assert abs(slope) <= 0.9 * abs(slope0)


def test_bfgs_minimises_rosenbrock():
    x, n_iter, converged = bfgs(rosenbrock, np.array([-1.2, 1.0]), tol=1e-8, max_iter=500)
    assert converged
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-6)


def test_newton_step_halving_rescues_a_diverging_newton_iteration():
    # f(x) = sqrt(1 + x^2): pure Newton maps x to -x^3 and diverges from |x| > 1
    def fun_grad(x):
        r = np.sqrt(1 + x @ x)
        return float(r), x / r

    def hess(x):
        return np.array([[1.0 / (1 + x @ x) ** 1.5]])

    x, n_iter, converged = newton(fun_grad, hess, np.array([3.0]), tol=1e-10, max_iter=100)
    assert converged and abs(x[0]) < 1e-9
