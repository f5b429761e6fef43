"""SVC against scikit-learn's (libsvm) on real data, probabilities, and bad input."""
import warnings

import numpy as np
import pytest
from sklearn import svm as sk_svm
from sklearn.datasets import load_iris, load_wine, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import laplacian_kernel
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skml.svm import SVC, SVR
from skml.svm._platt import couple, fit_sigmoid

# sklearn 1.9 deprecates its own probability=True; skml keeps it
pytestmark = pytest.mark.filterwarnings("ignore:The `probability` parameter:FutureWarning")


def _datasets():
    iris = load_iris(return_X_y=True)
    wine = load_wine(return_X_y=True)
    moons = make_moons(n_samples=300, noise=0.3, random_state=0)
    return {"iris": iris, "wine": wine, "moons": moons}


DATA = _datasets()


def _assert_same_model(ours, theirs, X, atol):
    np.testing.assert_array_equal(ours.support_, theirs.support_)
    np.testing.assert_array_equal(ours.n_support_, theirs.n_support_)
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X),
                               atol=atol, rtol=0)
    np.testing.assert_allclose(ours.dual_coef_, theirs.dual_coef_, atol=atol, rtol=0)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=atol, rtol=0)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("name", ["iris", "wine", "moons"])
@pytest.mark.parametrize("tol", [1e-3, 1e-6])
def test_decision_values_and_support_vectors_match_sklearn(name, tol):
    X, y = DATA[name]
    ours = SVC(tol=tol).fit(X, y)
    theirs = sk_svm.SVC(tol=tol).fit(X, y)
    _assert_same_model(ours, theirs, X, atol=1e-3 if tol == 1e-3 else 1e-6)
    # the same iterations, step for step
    np.testing.assert_array_equal(ours.n_iter_, theirs.n_iter_)


@pytest.mark.parametrize("params", [
    dict(kernel="linear", C=0.5),
    dict(kernel="poly", degree=2, coef0=1.0, gamma="auto"),
    dict(kernel="sigmoid", gamma=0.01, coef0=0.1),
    dict(kernel="rbf", C=10.0, gamma=0.5, shrinking=False),
    dict(kernel="rbf", class_weight="balanced"),
    dict(kernel="rbf", class_weight={0: 2.0, 1: 0.5, 2: 1.0}),
    dict(kernel="rbf", decision_function_shape="ovo"),
    dict(kernel="rbf", break_ties=True),
])
def test_kernels_and_options_match_sklearn(params):
    X, y = DATA["iris"]
    X = StandardScaler().fit_transform(X)
    ours = SVC(tol=1e-6, **params).fit(X, y)
    theirs = sk_svm.SVC(tol=1e-6, **params).fit(X, y)
    _assert_same_model(ours, theirs, X, atol=1e-6)
    if params["kernel"] == "linear":
        np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-6)


def test_sample_weight_matches_sklearn_with_a_fixed_gamma():
    # sklearn's gamma="scale" ignores the weights, skml's does not: fix gamma
    X, y = DATA["moons"]
    sw = np.random.RandomState(0).uniform(0, 3, size=y.size)
    sw[:10] = 0.0
    ours = SVC(gamma=0.7, tol=1e-6).fit(X, y, sample_weight=sw)
    theirs = sk_svm.SVC(gamma=0.7, tol=1e-6).fit(X, y, sample_weight=sw)
    # sklearn's support_ indexes the data left after dropping zero weights; skml's
    # indexes the data given to fit
    np.testing.assert_array_equal(ours.support_, np.flatnonzero(sw > 0)[theirs.support_])
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X),
                               atol=1e-6)
    np.testing.assert_allclose(ours.dual_coef_, theirs.dual_coef_, atol=1e-6)
    np.testing.assert_array_equal(ours.support_vectors_, X[ours.support_])
    assert not np.isin(np.arange(10), ours.support_).any()


def test_precomputed_and_callable_kernels_give_the_rbf_model():
    X, y = DATA["wine"]
    X = StandardScaler().fit_transform(X)
    ref = SVC(kernel="rbf", gamma=0.1).fit(X, y)
    K = np.exp(-0.1 * ((X[:, None] - X[None]) ** 2).sum(-1))
    pre = SVC(kernel="precomputed").fit(K, y)
    np.testing.assert_array_equal(pre.support_, ref.support_)
    np.testing.assert_allclose(pre.decision_function(K), ref.decision_function(X),
                               atol=1e-6)
    assert pre.support_vectors_.shape == (0, 0)

    def rbf(A, B):
        return np.exp(-0.1 * ((A[:, None] - B[None]) ** 2).sum(-1))

    call = SVC(kernel=rbf).fit(X, y)
    np.testing.assert_allclose(call.decision_function(X[:20]), ref.decision_function(X[:20]),
                               atol=1e-6)


def test_laplace_kernel_matches_sklearn_on_its_laplacian_kernel():
    X, y = DATA["moons"]
    ours = SVC(kernel="laplace", gamma=0.8, tol=1e-6).fit(X, y)
    theirs = sk_svm.SVC(kernel="precomputed", tol=1e-6).fit(laplacian_kernel(X, gamma=0.8), y)
    np.testing.assert_array_equal(ours.support_, theirs.support_)
    np.testing.assert_allclose(ours.decision_function(X),
                               theirs.decision_function(laplacian_kernel(X, gamma=0.8)),
                               atol=1e-6)


def test_hard_margin_as_c_grows_on_separable_data():
    rng = np.random.RandomState(0)
    X = np.r_[rng.randn(30, 2) + 4, rng.randn(30, 2) - 4]
    y = np.r_[np.ones(30), np.zeros(30)]
    clf = SVC(kernel="linear", C=1e6).fit(X, y)
    margins = (2 * y - 1) * clf.decision_function(X)
    assert margins.min() == pytest.approx(1.0, abs=1e-3)  # support vectors on the margin
    assert np.all(np.abs(clf.dual_coef_) < 1e6)  # no support vector at the bound


def test_string_labels_float32_and_layouts_give_the_same_model():
    X, y = DATA["iris"]
    names = np.array(["setosa", "versicolor", "virginica"])
    ref = SVC().fit(X.astype(np.float32), y)
    clf = SVC().fit(np.asfortranarray(X.astype(np.float32)), names[y])
    assert list(clf.classes_) == list(names)
    np.testing.assert_array_equal(clf.predict(X), names[ref.predict(X)])
    X32 = X.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(clf.decision_function(X32), SVC().fit(X32, y)
                               .decision_function(X32), atol=1e-12)


def test_ovo_to_ovr_is_sklearns_transformation():
    X, y = DATA["wine"]
    ours = SVC(decision_function_shape="ovr").fit(X, y)
    theirs = sk_svm.SVC(decision_function_shape="ovr").fit(X, y)
    dec = ours.decision_function(X)
    assert dec.shape == (X.shape[0], 3)
    np.testing.assert_allclose(dec, theirs.decision_function(X), atol=1e-10)
    ovo = SVC(decision_function_shape="ovo").fit(X, y).decision_function(X)
    assert ovo.shape == (X.shape[0], 3)


def test_kernel_cache_size_and_shrinking_do_not_change_the_model():
    X, y = DATA["moons"]
    ref = SVC(C=5.0).fit(X, y)
    tiny = SVC(C=5.0, cache_size=0.001).fit(X, y)
    np.testing.assert_array_equal(tiny.dual_coef_, ref.dual_coef_)
    noshrink = SVC(C=5.0, shrinking=False, tol=1e-8).fit(X, y)
    shrink = SVC(C=5.0, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(noshrink.decision_function(X), shrink.decision_function(X),
                               atol=1e-6)


# ---- probabilities --------------------------------------------------------------------

@pytest.mark.parametrize("slope, shift", [(-1.5, 0.3), (-0.4, -1.0), (1.0, 0.0)])
def test_platt_sigmoid_is_the_constrained_maximum_likelihood_fit(slope, shift):
    """Platt's likelihood maximised over A <= -1e-6 / max|f| with B = 0 (so P = 1/2 on the
    decision boundary), checked against SciPy's bounded scalar minimiser."""
    from scipy.optimize import minimize_scalar

    rng = np.random.RandomState(0)
    dec = rng.randn(200) * 2
    y = rng.rand(200) < 1 / (1 + np.exp(slope * dec + shift))
    A, B = fit_sigmoid(dec, y)
    n_pos, n_neg = y.sum(), (~y).sum()
    t = np.where(y, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def nll(a):
        z = a * dec
        return np.sum(np.logaddexp(0, z) - (1 - t) * z)

    bound = -1e-6 / np.abs(dec).max()
    ref = minimize_scalar(nll, bounds=(-50.0, bound), method="bounded",
                          options={"xatol": 1e-10}).x
    assert B == 0.0
    assert bound >= A and A == pytest.approx(ref, abs=1e-4)
    if slope > 0:  # labels run against the decision values: A stays at the bound
        assert A == bound


def test_pairwise_coupling_solves_the_wu_lin_weng_problem():
    from scipy.optimize import minimize

    rng = np.random.RandomState(1)
    k = 4
    r = rng.uniform(0.05, 0.95, size=(5, k * (k - 1) // 2))
    P = couple(r, k)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    for s in range(5):
        R = np.zeros((k, k))
        m = 0
        for i in range(k):
            for j in range(i + 1, k):
                R[i, j], R[j, i] = r[s, m], 1 - r[s, m]
                m += 1

        def obj(p):
            return sum((R[j, i] * p[i] - R[i, j] * p[j]) ** 2
                       for i in range(k) for j in range(k) if i != j)

        cons = {"type": "eq", "fun": lambda p: p.sum() - 1}
        ref = minimize(obj, np.full(k, 1 / k), constraints=cons, method="SLSQP",
                       options={"ftol": 1e-14}).x
        np.testing.assert_allclose(P[s], ref, atol=1e-5)


@pytest.mark.parametrize("name", ["iris", "moons"])
def test_predict_proba_is_calibrated_like_sklearns(name):
    X, y = DATA[name]
    ours = SVC(probability=True, random_state=0).fit(X, y)
    theirs = sk_svm.SVC(probability=True, random_state=0).fit(X, y)
    P = ours.predict_proba(X)
    assert P.shape == (X.shape[0], np.unique(y).size)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    # different CV folds than libsvm, so only close, not equal
    assert np.abs(P - theirs.predict_proba(X)).max() < 0.1
    assert (P.argmax(axis=1) == ours.predict(X)).mean() > 0.95
    np.testing.assert_allclose(ours.predict_log_proba(X), np.log(P))
    # reproducible for a fixed random_state
    again = SVC(probability=True, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), P)


def test_predict_proba_is_unavailable_without_probability():
    clf = SVC().fit(*DATA["moons"])
    assert not hasattr(clf, "predict_proba")
    with pytest.raises(AttributeError, match="has no attribute 'predict_proba'") as err:
        clf.predict_proba(DATA["moons"][0])
    assert "probability=False" in str(err.value.__cause__)


# ---- bad input ------------------------------------------------------------------------

def test_one_class_is_a_clear_error():
    X, _ = DATA["iris"]
    with pytest.raises(ValueError, match="greater than one; got 1 class"):
        SVC().fit(X, np.zeros(X.shape[0]))
    y = np.r_[np.zeros(75), np.ones(75)]
    sw = np.r_[np.ones(75), np.zeros(75)]
    with pytest.raises(ValueError, match="all samples with positive weights belong to the same"):
        SVC().fit(X, y, sample_weight=sw)


@pytest.mark.parametrize("gamma", [0.0, -1.0])
@pytest.mark.parametrize("cls", [SVC, SVR])
def test_gamma_must_be_positive(cls, gamma):
    X, y = DATA["iris"]
    with pytest.raises(ValueError, match=r"gamma must be in \(0.0, inf\), got"):
        cls(gamma=gamma).fit(X, y)
    with pytest.raises(ValueError, match="gamma must be one of"):
        cls(gamma="big").fit(X, y)


@pytest.mark.parametrize("params, match", [
    (dict(C=0.0), r"C must be in \(0.0, inf\)"),
    (dict(C=-np.inf), r"C must be in \(0.0, inf\)"),
    (dict(kernel="cosine"), "kernel must be one of"),
    (dict(degree=-1), r"degree must be in \[0"),
    (dict(tol=0), r"tol must be in \(0.0, inf\)"),
    (dict(max_iter=0), "max_iter must be -1"),
    (dict(cache_size=0), r"cache_size must be in \(0.0, inf\)"),
    (dict(decision_function_shape="ovx"), "decision_function_shape must be one of"),
])
def test_bad_hyper_parameters_are_clear_errors(params, match):
    X, y = DATA["iris"]
    with pytest.raises(ValueError, match=match):
        SVC(**params).fit(X, y)


def test_bad_precomputed_kernels():
    X, y = DATA["iris"]
    K = X @ X.T
    with pytest.raises(ValueError, match="must be a square matrix. Input is a 150x4"):
        SVC(kernel="precomputed").fit(X, y)
    asym = K.copy()
    asym[0, 1] += 1.0
    with pytest.raises(ValueError, match="is not symmetric"):
        SVC(kernel="precomputed").fit(asym, y)
    clf = SVC(kernel="precomputed").fit(K, y)
    with pytest.raises(ValueError, match="150 features"):
        clf.predict(K[:, :100])


def test_non_psd_precomputed_kernel_fits_with_a_warning_and_a_kkt_point():
    """Documented behaviour: an indefinite symmetric kernel is accepted like libsvm
    does, SMO stops at a stationary point, and fit warns."""
    X, y = DATA["moons"]
    K = np.tanh(2.0 * X @ X.T - 1.0)  # sigmoid kernel: symmetric, not PSD here
    assert np.linalg.eigvalsh(K).min() < -1e-6
    with pytest.warns(UserWarning, match="not positive semi-definite"):
        clf = SVC(kernel="precomputed").fit(K, y)
    a = np.abs(clf.dual_coef_[0])
    assert np.all(a <= 1.0 + 1e-12) and abs(clf.dual_coef_[0].sum()) < 1e-10
    neg_diag = K - np.diag(np.full(K.shape[0], 3.0))
    with pytest.warns(UserWarning, match="negative diagonal entry"):
        SVC(kernel="precomputed").fit(neg_diag, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SVC(kernel="precomputed").fit(X @ X.T, y)  # PSD: no warning


def test_a_class_with_only_zero_weights_is_never_predicted():
    X, y = DATA["iris"]
    sw = np.where(y == 2, 0.0, 1.0)
    clf = SVC().fit(X, y, sample_weight=sw)
    ref = SVC().fit(X[y < 2], y[y < 2])
    dec = clf.decision_function(X)
    assert np.all(np.isfinite(dec)) and clf.n_support_[2] == 0
    assert not np.any(clf.predict(X) == 2)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))


def test_negative_weights_drop_samples_and_all_non_positive_is_an_error():
    """libsvm's semantics: a sample with weight <= 0 is left out of the problem."""
    X, y = DATA["iris"]
    sw = np.ones(150)
    sw[::7] = -0.5
    dropped = SVC().fit(X, y, sample_weight=sw)
    ref = SVC().fit(X[sw > 0], y[sw > 0])
    np.testing.assert_allclose(dropped.decision_function(X), ref.decision_function(X),
                               atol=1e-10)
    for cls in (SVC, SVR):
        with pytest.raises(ValueError, match="all samples have zero or negative weights"):
            cls().fit(X, y, sample_weight=-np.ones(150))
        with pytest.raises(ValueError, match="all samples have zero or negative weights"):
            cls().fit(X, y, sample_weight=np.zeros(150))


def test_max_iter_warns_and_sets_fit_status():
    X, y = DATA["moons"]
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        clf = SVC(max_iter=5).fit(X, y)
    assert clf.fit_status_ == 1 and clf.n_iter_[0] == 5


def test_break_ties_with_ovo_is_refused_and_coef_needs_linear():
    X, y = DATA["iris"]
    clf = SVC(break_ties=True, decision_function_shape="ovo").fit(X, y)
    with pytest.raises(ValueError, match="break_ties must be False"):
        clf.predict(X)
    with pytest.raises(AttributeError, match="linear kernel"):
        SVC().fit(X, y).coef_  # noqa: B018


# sklearn's estimator checks for the precomputed-kernel variants (tests/test_common.py
# feeds raw data to its own checks, so these run here). One check fits a kernel matrix
# minus its mean, which has a negative diagonal: the non-PSD warning is expected there.
@pytest.mark.filterwarnings("ignore:The kernel matrix is not positive semi-definite")
@parametrize_with_checks([SVC(kernel="precomputed", tol=1e-10),
                          SVR(kernel="precomputed", tol=1e-10)])
def test_sklearn_checks_with_a_precomputed_kernel(estimator, check):
    check(estimator)
