"""LinearSVC against scikit-learn's (liblinear): both reach the unique primal optimum."""
import warnings

import numpy as np
import pytest
from sklearn import svm as sk_svm
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skml.svm import LinearSVC


def _data(name):
    X, y = (load_iris if name == "iris" else load_breast_cancer)(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _objective(coef, intercept, X, y_pm, C, loss, scaling):
    """The primal with liblinear's regularised intercept (the weight of a constant
    feature ``scaling``)."""
    w_b = intercept / scaling
    z = X @ coef + intercept
    m = np.maximum(0, 1 - y_pm * z)
    loss_sum = (m**2).sum() if loss == "squared_hinge" else m.sum()
    return 0.5 * (coef @ coef + w_b**2) + C * loss_sum


@pytest.mark.parametrize("name", ["iris", "breast_cancer"])
@pytest.mark.parametrize("dual", [False, True])
def test_squared_hinge_reaches_sklearns_optimum(name, dual):
    X, y = _data(name)
    ours = LinearSVC(dual=dual, tol=1e-10, max_iter=200000, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = sk_svm.LinearSVC(dual=False, tol=1e-10, max_iter=200000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=2e-5)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=2e-5)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X),
                               atol=1e-4)


def test_hinge_loss_objective_is_as_low_as_sklearns():
    X, y = _data("breast_cancer")
    y_pm = np.where(y == 1, 1.0, -1.0)
    ours = LinearSVC(loss="hinge", C=0.1, tol=1e-8, max_iter=100000, random_state=0)
    ours.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = sk_svm.LinearSVC(loss="hinge", C=0.1, tol=1e-8, max_iter=100000).fit(X, y)
    f_ours = _objective(ours.coef_[0], ours.intercept_[0], X, y_pm, 0.1, "hinge", 1.0)
    f_theirs = _objective(theirs.coef_[0], theirs.intercept_[0], X, y_pm, 0.1, "hinge", 1.0)
    assert f_ours <= f_theirs * (1 + 1e-6)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-3)


def test_default_fit_is_at_least_as_close_to_the_optimum_as_sklearns():
    X, y = _data("iris")
    ours = LinearSVC().fit(X, y)
    theirs = sk_svm.LinearSVC().fit(X, y)
    best = LinearSVC(tol=1e-12, max_iter=1000).fit(X, y)
    assert ours.coef_.shape == (3, 4) and ours.intercept_.shape == (3,)
    for k in range(3):
        y_pm = np.where(y == k, 1.0, -1.0)
        f = [_objective(m.coef_[k], m.intercept_[k], X, y_pm, 1.0, "squared_hinge", 1.0)
             for m in (ours, theirs, best)]
        assert f[2] <= f[0] <= f[1] + 1e-9
        assert f[0] - f[2] <= 1e-4 * f[2]
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-2)
    assert ours.score(X, y) > 0.9
    assert ours.n_iter_ >= 1


def test_no_intercept_and_intercept_scaling():
    X, y = _data("breast_cancer")
    clf = LinearSVC(fit_intercept=False, tol=1e-10).fit(X, y)
    assert clf.intercept_ == 0.0
    ref = sk_svm.LinearSVC(fit_intercept=False, dual=False, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-6)
    big = LinearSVC(intercept_scaling=100.0, tol=1e-10).fit(X, y)
    ref = sk_svm.LinearSVC(intercept_scaling=100.0, dual=False, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(big.intercept_, ref.intercept_, atol=1e-5)


def test_class_and_sample_weights_scale_c():
    X, y = _data("breast_cancer")
    a = LinearSVC(C=2.0, tol=1e-10).fit(X, y)
    b = LinearSVC(C=1.0, tol=1e-10).fit(X, y, sample_weight=np.full(y.size, 2.0))
    c = LinearSVC(C=1.0, tol=1e-10, class_weight={0: 2.0, 1: 2.0}).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)
    np.testing.assert_allclose(a.coef_, c.coef_, atol=1e-8)
    # binary class_weight means the same as liblinear's
    cw = {0: 3.0, 1: 0.5}
    ours = LinearSVC(class_weight=cw, tol=1e-10).fit(X, y)
    theirs = sk_svm.LinearSVC(class_weight=cw, dual=False, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-5)


def test_dual_auto_picks_the_primal_for_tall_data_and_the_dual_for_wide():
    rng = np.random.RandomState(0)
    X = rng.randn(20, 50)
    y = (X[:, 0] > 0).astype(int)
    wide = LinearSVC(tol=1e-10, max_iter=100000, random_state=0).fit(X, y)
    primal = LinearSVC(dual=False, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(wide.coef_, primal.coef_, atol=1e-6)
    # reproducible for a fixed random_state
    again = LinearSVC(tol=1e-10, max_iter=100000, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.coef_, wide.coef_)


@pytest.mark.parametrize("params, match", [
    (dict(loss="hinge", dual=False),
     "Unsupported set of arguments.*penalty='l2'.*loss='hinge'.*dual=False"),
    (dict(penalty="l1", dual=True),
     "Unsupported set of arguments.*penalty='l1'.*loss='squared_hinge'.*dual=True"),
    (dict(penalty="l1", loss="hinge"), "combination of penalty='l1' and loss='hinge' is not"),
    (dict(penalty="l3"), "penalty must be one of"),
    (dict(multi_class="ovo"), "multi_class must be one of"),
    (dict(C=0.0), r"C must be in \(0.0, inf\)"),
    (dict(dual="maybe"), "dual must be one of"),
    (dict(max_iter=0), r"max_iter must be in \[1"),
])
def test_bad_hyper_parameters_are_clear_errors(params, match):
    X, y = _data("iris")
    with pytest.raises(ValueError, match=match):
        LinearSVC(**params).fit(X, y)


def test_one_class_is_an_error_and_max_iter_warns():
    X, y = _data("iris")
    with pytest.raises(ValueError, match="greater than one"):
        LinearSVC().fit(X, np.ones(y.size))
    with pytest.warns(ConvergenceWarning, match="Liblinear failed to converge"):
        LinearSVC(dual=True, max_iter=2, tol=1e-12).fit(X, y)


@pytest.mark.parametrize("intercept_scaling", [1.0, 100.0])
def test_l1_penalty_matches_liblinear(intercept_scaling):
    """min ||w||_1 + C sum squared hinge, with the intercept as a penalised feature:
    scikit-learn's liblinear solution, and its optimality conditions."""
    X, y = _data("iris")
    y = (y == 1).astype(int)
    kw = dict(penalty="l1", dual=False, C=0.5, tol=1e-8, max_iter=10_000,
              intercept_scaling=intercept_scaling)
    ours = LinearSVC(**kw).fit(X, y)
    ref = sk_svm.LinearSVC(**kw).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)
    w = np.r_[ours.coef_[0], ours.intercept_[0] / intercept_scaling]
    Xa = np.c_[X, np.full(len(y), intercept_scaling)]
    ys = np.where(y == 1, 1.0, -1.0)
    margin = np.maximum(0, 1 - ys * (Xa @ w))
    g = -2 * 0.5 * Xa.T @ (margin * ys)  # gradient of the loss part
    nz = w != 0
    np.testing.assert_allclose(g[nz], -np.sign(w[nz]), atol=1e-4)
    assert np.all(np.abs(g[~nz]) <= 1 + 1e-4)


def test_l1_penalty_on_wide_sparse_data_needs_no_dense_hessian(monkeypatch):
    """More weights than a dense Hessian allows (TF-IDF-like, 2,500 features): L-BFGS-B on
    the split problem, never a d x d matrix, to liblinear's objective within 1e-5."""
    import scipy.sparse as sp

    from benchmarks.bench_linear import tfidf_like
    from skml.svm import _linear

    X, y, _, _ = tfidf_like(800, 0, 2500)
    monkeypatch.setattr(_linear._Design, "gram", None)  # any dense Hessian would fail
    ours = LinearSVC(penalty="l1", dual=False).fit(X, y)
    ref = sk_svm.LinearSVC(penalty="l1", dual=False).fit(X, y)

    def objective(m):
        w = m.coef_.ravel()
        ys = np.where(y == m.classes_[1], 1.0, -1.0)
        margin = np.maximum(0, 1 - ys * np.asarray(X @ w + m.intercept_[0]))
        return np.abs(w).sum() + abs(m.intercept_[0]) + (margin**2).sum()

    assert sp.issparse(X) and X.shape[1] > _linear._DIRECT_NEWTON_MAX_D
    assert objective(ours) <= objective(ref) * (1 + 1e-5)
    assert np.mean(ours.predict(X) == ref.predict(X)) >= 0.99
    assert 0 < np.sum(ours.coef_ != 0) < X.shape[1] / 2  # a sparse solution


@pytest.mark.parametrize("kw", [{}, dict(fit_intercept=False), dict(class_weight="balanced")])
@pytest.mark.parametrize("binary", [False, True])
def test_crammer_singer_matches_liblinear(kw, binary):
    """The joint multi-class SVM by the sequential dual method: liblinear's solution
    (dense and CSR), and w_1 - w_0 with two classes."""
    import scipy.sparse as sp

    X, y = _data("iris")
    if binary:
        y = (y == 1).astype(int)
    params = dict(multi_class="crammer_singer", tol=1e-10, max_iter=100_000, **kw)
    ours = LinearSVC(**params).fit(X, y)
    ref = sk_svm.LinearSVC(**params).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-7)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-7)
    np.testing.assert_allclose(LinearSVC(**params).fit(sp.csr_matrix(X), y).coef_,
                               ours.coef_, atol=1e-7)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
