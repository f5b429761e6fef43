"""LogisticRegression: every solver reaches scikit-learn's optimum; the optimisers on
their own (Wolfe conditions, Newton's safeguard, BFGS)."""
import numpy as np
import pytest
import sklearn.linear_model as sk
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, log_expit
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skml._kernels._loss import binary_logloss_residual
from skml.linear_model import LogisticRegression
from skml.linear_model._optimize import bfgs, newton, wolfe_line_search

# "newton" runs the code of "newton-cholesky"; "sag" and "saga" (L2) that of "lbfgs"
SOLVERS = ["newton-cholesky", "newton-cg", "bfgs", "lbfgs"]


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


# scikit-learn's reference fits run with one BLAS/OpenMP thread: on a busy machine idle
# threads spinning for a core made them ~30x slower (same results)
@pytest.fixture(scope="module")
def sk_cancer(cancer):
    with threadpool_limits(1):
        return sk.LogisticRegression(tol=1e-10, max_iter=10_000).fit(*cancer)


@pytest.fixture(scope="module")
def sk_digits(digits):
    with threadpool_limits(1):
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
    with threadpool_limits(1):
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
        ({"C": np.inf}, {"C": np.inf}, None),
    ]
    for ours_kw, sk_kw, weight in cases:
        ours = LogisticRegression(solver=solver, **ours_kw, **kw).fit(X, y, sample_weight=weight)
        with threadpool_limits(1):
            ref = sk.LogisticRegression(**sk_kw, **kw).fit(X, y, sample_weight=weight)
        assert rel(ours.coef_, ref.coef_) <= 1e-4, ours_kw


@pytest.mark.parametrize("solver", ["newton", "saga"])
def test_l1_penalty_reaches_a_sparse_optimum(cancer, solver):
    X, y = cancer
    C = 0.05
    clf = LogisticRegression(l1_ratio=1.0, C=C, solver=solver, tol=1e-9, max_iter=5000)
    clf.fit(X, y)
    w = clf.coef_.ravel()
    assert 0 < np.count_nonzero(w) < X.shape[1] // 2
    # optimality: C * X^T (y - p) = sign(w) where w != 0, |.| <= 1 elsewhere
    g = C * X.T @ (y - clf.predict_proba(X)[:, 1])
    nz = w != 0
    np.testing.assert_allclose(g[nz], np.sign(w[nz]), atol=1e-4)
    assert np.all(np.abs(g[~nz]) <= 1 + 1e-4)
    assert abs(np.sum(y - clf.predict_proba(X)[:, 1])) <= 1e-4  # free intercept
    other = LogisticRegression(l1_ratio=1.0, C=C, solver="newton" if solver == "saga"
                               else "saga", tol=1e-9, max_iter=5000).fit(X, y)
    assert rel(clf.coef_, other.coef_) <= 1e-3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["saga", "newton"])
def test_elastic_net_matches_sklearn_saga(cancer, solver):
    X, y = cancer
    X = X[:200]
    y = y[:200]
    ours = LogisticRegression(l1_ratio=0.5, C=0.2, solver=solver, tol=1e-10,
                              max_iter=5000).fit(X, y)
    ref = sk.LogisticRegression(l1_ratio=0.5, C=0.2, solver="saga", tol=1e-10,
                                max_iter=100_000).fit(X, y)
    assert rel(ours.coef_, ref.coef_) <= 1e-3
    assert abs(ours.intercept_[0] - ref.intercept_[0]) <= 1e-3


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
@pytest.mark.parametrize("intercept_scaling", [1.0, 10.0])
def test_liblinear_penalises_the_intercept_like_liblinear(cancer, l1_ratio,
                                                         intercept_scaling):
    X, y = cancer
    kw = dict(solver="liblinear", l1_ratio=l1_ratio, C=0.3, tol=1e-10, max_iter=10_000,
              intercept_scaling=intercept_scaling)
    ours = LogisticRegression(**kw).fit(X, y)
    ref = sk.LogisticRegression(**kw).fit(X, y)
    assert rel(ours.coef_, ref.coef_) <= 1e-3
    assert abs(ours.intercept_[0] - ref.intercept_[0]) <= 1e-3 * max(1, abs(ref.intercept_[0]))
    with pytest.raises(ValueError, match="does not support multiclass"):
        LogisticRegression(solver="liblinear").fit(X[:30], np.arange(30) % 3)


def test_sklearn_1_9_deprecations_and_warnings(cancer):
    X, y = cancer
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"):
        a = LogisticRegression(penalty="l1", solver="saga", tol=1e-8, max_iter=3000)
        a.fit(X, y)
    b = LogisticRegression(l1_ratio=1.0, solver="saga", tol=1e-8, max_iter=3000).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_)
    with pytest.warns(FutureWarning, match="'l1_ratio=None' was deprecated"):
        LogisticRegression(l1_ratio=None).fit(X, y)
    with pytest.warns(FutureWarning, match="'n_jobs' has no effect"):
        LogisticRegression(n_jobs=2).fit(X, y)
    with pytest.warns(UserWarning, match="Setting penalty=None will ignore the C"):
        LogisticRegression(penalty=None, C=2.0).fit(X, y)
    with pytest.warns(UserWarning, match="l1_ratio parameter is only used"):
        LogisticRegression(l1_ratio=0.5, C=np.inf).fit(X, y)


def test_sparsify_and_densify_keep_predictions(cancer):
    import scipy.sparse as sp

    X, y = cancer
    clf = LogisticRegression(l1_ratio=1.0, C=0.05, solver="saga").fit(X, y)
    dense = clf.decision_function(X)
    assert sp.issparse(clf.sparsify().coef_)
    np.testing.assert_allclose(clf.decision_function(X), dense)
    assert isinstance(clf.densify().coef_, np.ndarray)


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
    for solver in ("bfgs", "lbfgs", "newton-cg", "newton-cholesky", "sag"):
        with pytest.raises(ValueError, match=f"Solver {solver} supports only 'l2' or None"):
            LogisticRegression(l1_ratio=1.0, solver=solver).fit(X, y)
    with pytest.raises(ValueError, match="Only 'saga' solver supports elasticnet"):
        LogisticRegression(l1_ratio=0.5, solver="liblinear").fit(X, y)
    with pytest.raises(ValueError, match="supports only dual=False"):
        LogisticRegression(dual=True).fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        LogisticRegression(solver="sgd").fit(X, y)
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


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 40), st.integers(-300, 300), st.integers(0, 2**31 - 1))
def test_loss_kernel_equals_the_numpy_log_loss(n, exponent, seed):
    """binary_logloss_residual against scipy's log_expit/expit, at any magnitude (no
    overflow: the loss of a score of 1e300 is 1e300 or 0, never inf or NaN)."""
    rng = np.random.RandomState(seed)
    z = rng.randn(n) * 10.0 ** exponent
    y = rng.randint(0, 2, n).astype(np.float64)
    w = rng.uniform(0.0, 2.0, n)
    w.setflags(write=False)  # read-only inputs are accepted
    ref_loss = float(w @ (-y * log_expit(z) - (1 - y) * log_expit(-z)))
    # sigmoid(z) - y without cancellation (expit(17) - 1 keeps 8 digits only)
    ref_res = w * ((1 - y) * expit(z) - y * expit(-z))
    R = z.copy()
    loss = binary_logloss_residual(R, y, w)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(R, ref_res, rtol=1e-12, atol=1e-300)
    with pytest.raises(ValueError, match="one length"):
        binary_logloss_residual(z.copy(), y[:-1] if n else np.zeros(1), w)
