"""Sparse input for the SVMs (issue 14): kernel rows computed from CSR rows inside SMO,
LinearSVC's dual coordinate descent over CSR rows and its primal Newton on products —
the same models as on the dense copies (the text-classification pipeline is in
tests/test_text_classification.py)."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import svm as sk_svm

from skml._kernels import _smo
from skml.svm import SVC, SVR, LinearSVC
from skml.svm._base import KERNEL_CODES, kernel_matrix, sparse_kernel_matrix
from tests._sparse_cases import awkward_sparse

pytestmark = pytest.mark.filterwarnings("ignore:The `probability` parameter:FutureWarning")
KERNELS = ["linear", "poly", "rbf", "sigmoid", "laplace"]
CASES = [(0.05, np.float64, 0), (0.3, np.float32, 1), (0.7, np.float64, 2)]


def _labels(dense, seed, n_classes=2):
    rng = np.random.RandomState(seed)
    score = dense @ rng.randn(dense.shape[1]) + 0.3 * rng.randn(dense.shape[0])
    return np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))


@pytest.mark.parametrize("density, dtype, seed", CASES)
@pytest.mark.parametrize("kernel", KERNELS)
def test_svc_and_svr_equal_their_dense_fits(density, dtype, seed, kernel):
    X, dense = awkward_sparse(90, 12, density, seed, dtype)
    T, T_dense = awkward_sparse(30, 12, density, seed + 10, dtype)
    y = _labels(dense, seed, 3)
    params = dict(kernel=kernel, tol=1e-8, coef0=0.5 if kernel != "rbf" else 0.0)
    ours = SVC(probability=True, random_state=0, **params).fit(X, y)
    ref = SVC(probability=True, random_state=0, **params).fit(dense, y)
    np.testing.assert_array_equal(ours.support_, ref.support_)
    np.testing.assert_allclose(ours.decision_function(T), ref.decision_function(T_dense),
                               atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(T), ref.predict_proba(T_dense), atol=1e-7)
    assert sp.issparse(ours.support_vectors_) and sp.issparse(ours.dual_coef_)
    np.testing.assert_allclose(ours.support_vectors_.toarray(), ref.support_vectors_)
    target = dense @ np.linspace(-1, 1, 12)
    reg = SVR(**params).fit(X, target)
    reg_ref = SVR(**params).fit(dense, target)
    np.testing.assert_allclose(reg.predict(T), reg_ref.predict(T_dense), atol=1e-8)
    np.testing.assert_allclose(reg.predict(T_dense), reg_ref.predict(T_dense), atol=1e-8)


def test_sparse_svc_is_libsvms_sparse_svc():
    X, dense = awkward_sparse(150, 20, 0.2, 3)
    y = _labels(dense, 3, 3)
    ours = SVC(tol=1e-6).fit(X, y)
    ref = sk_svm.SVC(tol=1e-6).fit(X, y)
    np.testing.assert_array_equal(ours.support_, ref.support_)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X),
                               atol=1e-6)
    np.testing.assert_array_equal(ours.n_iter_, ref.n_iter_)  # step for step
    with pytest.raises(ValueError, match="cannot use sparse input in 'SVC' trained on dense"):
        SVC().fit(dense, y).predict(X)


@pytest.mark.parametrize("density, dtype, seed", CASES)
@pytest.mark.parametrize("params", [dict(dual=True), dict(dual=False),
                                    dict(dual=True, loss="hinge"),
                                    dict(penalty="l1", dual=False),
                                    dict(dual=True, fit_intercept=False),
                                    dict(multi_class="crammer_singer"),
                                    dict(class_weight="balanced")])
def test_linear_svc_equals_its_dense_fit(density, dtype, seed, params):
    X, dense = awkward_sparse(120, 15, density, seed, dtype)
    for n_classes in (2, 3):
        y = _labels(dense, seed, n_classes)
        kw = dict(tol=1e-10, max_iter=100_000, **params)
        ours = LinearSVC(**kw).fit(X, y)
        ref = LinearSVC(**kw).fit(dense, y)
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(dense),
                                   atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 12), st.integers(1, 12), st.integers(1, 6), st.floats(0.0, 1.0),
       st.sampled_from(KERNELS), st.integers(-150, 150), st.integers(0, 2**31 - 1))
def test_sparse_kernel_block_equals_the_dense_one(n_x, n_y, d, density, kernel, exponent,
                                                  seed):
    rng = np.random.RandomState(seed)
    scale = 10.0 ** exponent
    X = sp.random(n_x, d, density=density, format="csr", random_state=rng) * scale
    Y = sp.random(n_y, d, density=density, format="csr", random_state=rng) * scale
    kw = dict(gamma=0.4 / scale**2, coef0=0.3, degree=2, n_threads=2)
    ours = sparse_kernel_matrix(X, Y, kernel, **kw)
    ref = kernel_matrix(X.toarray(), Y.toarray(), kernel, **kw)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-300)


def test_sparse_solver_input_is_checked():
    X, _ = awkward_sparse(6, 3, 0.5, 0)
    X = sp.csr_matrix(X)
    X.sort_indices()
    data = X.data.astype(np.float64)
    indptr = X.indptr.astype(np.intp)
    n = 6
    args = (np.arange(n, dtype=np.intp), np.where(np.arange(n) % 2, 1.0, -1.0), -np.ones(n),
            np.ones(n), np.zeros(n), KERNEL_CODES["rbf"], 0.5, 0.0, 3, 1e-3, True, 100, 1.0)
    bad_cols = np.full(X.nnz, 7, dtype=np.intp)
    with pytest.raises(ValueError, match="column indices must lie in"):
        _smo.smo_solve((data, bad_cols, indptr, 3), *args)
    with pytest.raises(ValueError, match="indptr must rise"):
        _smo.smo_solve((data, X.indices.astype(np.intp), indptr[::-1].copy(), 3), *args)


@pytest.mark.filterwarnings("error::RuntimeWarning:skml")
@pytest.mark.parametrize("scale", [1e160, 1e-160, "max"])
def test_sparse_svms_at_extreme_magnitudes_equal_the_dense_ones(scale):
    """gamma="scale" and LinearSVC's rescaling on sparse X (issue 11 §5's mechanism)."""
    X, dense = awkward_sparse(80, 6, 0.5, 0)
    s = np.finfo(np.float64).max / np.abs(dense).max() / 2 if scale == "max" else scale
    y = _labels(dense, 0)
    target = dense @ np.linspace(-1, 1, 6)
    for est, t in [(SVC(tol=1e-10), y), (LinearSVC(tol=1e-12, max_iter=100_000), y)]:
        np.testing.assert_allclose(est.fit(X * s, t).decision_function(X * s),
                                   est.fit(dense * s, t).decision_function(dense * s),
                                   atol=1e-8, err_msg=type(est).__name__)
    reg = SVR(tol=1e-10)
    np.testing.assert_allclose(reg.fit(X * s, target).predict(X * s),
                               reg.fit(dense * s, target).predict(dense * s), atol=1e-8)
    # and the model of the unscaled data (gamma="scale" is scale-free)
    np.testing.assert_allclose(SVC(tol=1e-10).fit(X * s, y).decision_function(X * s),
                               SVC(tol=1e-10).fit(dense, y).decision_function(dense),
                               atol=1e-8)
