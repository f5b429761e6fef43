"""Sparse input for the trees (issue 14): a tree fitted on a CSC or CSR matrix is the tree
fitted on its dense copy, node for node, and every prediction method gives the dense
result on CSR/CSC rows. The data have several densities, both dtypes, negative values
(the zeros sit inside the sorted order), ties, explicit zeros, empty rows and columns,
unsorted indices and duplicate entries. The dense path (itself checked against
scikit-learn and a brute-force reference in test_features / test_correctness) is the
reference; scikit-learn's own sparse trees are a second, independent one."""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import tree as sk_tree

from skml.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)

from ._compare import compare_trees

_ARRAYS = ("children_left", "children_right", "feature", "threshold", "value", "impurity",
           "n_node_samples", "weighted_n_node_samples")


def sparse_problem(n, p, density, dtype, fmt, seed, classification=True, nonneg=False,
                   ties=True):
    """A sparse matrix with the awkward parts of real sparse data, its dense copy, and a
    target that depends on a few columns. Values are multiples of 1/4 (ties, and
    duplicates that add up exactly) or, without ``ties``, multiples of 2**-20 drawn
    from a wide range (distinct values; duplicates still add up exactly); the format's
    indices are shuffled within each row
    (column) so they are unsorted."""
    rng = np.random.RandomState(seed)
    mask = rng.rand(n, p) < density
    mask[rng.rand(n) < 0.1] = False                       # empty rows
    mask[:, -1] = False                                   # an empty column
    rows, cols = np.nonzero(mask)
    top = 13 if ties else 2**22
    vals = rng.randint(1 if nonneg else -top + 1, top, size=rows.size) / (4.0 if ties
                                                                           else 2.0**20)
    # explicit zeros where the value drew 0; and one entry in five split in two halves
    dup = rng.rand(rows.size) < 0.2
    rows = np.r_[rows, rows[dup]]
    cols = np.r_[cols, cols[dup]]
    vals = np.r_[np.where(dup, vals / 2, vals), vals[dup] / 2]
    coo = sp.coo_matrix((vals.astype(dtype), (rows, cols)), shape=(n, p))
    X = coo.tocsc() if fmt == "csc" else coo.tocsr()
    # tocsc/tocsr sum duplicates: rebuild the raw arrays with duplicates and shuffled order
    order = np.lexsort((rng.rand(rows.size), cols if fmt == "csc" else rows))
    major = (cols if fmt == "csc" else rows)[order]
    minor = (rows if fmt == "csc" else cols)[order]
    indptr = np.r_[0, np.cumsum(np.bincount(major, minlength=p if fmt == "csc" else n))]
    cls = sp.csc_matrix if fmt == "csc" else sp.csr_matrix
    X = cls((vals[order].astype(dtype), minor, indptr), shape=(n, p))
    Xd = coo.toarray()
    np.testing.assert_array_equal(X.toarray(), Xd)
    score = Xd[:, 0] - 0.5 * Xd[:, 1] + Xd[:, 2] * (Xd[:, 3] > 0) + 0.1 * rng.randn(n)
    if classification:
        y = np.digitize(score, np.quantile(score, [0.33, 0.66]))
    else:
        y = np.abs(score) if nonneg else score
    return X, Xd, y


def assert_same_fitted_tree(a, b, values_rtol=0.0):
    """Identical trees; ``values_rtol``: leaf values equal to rounding only (monotonic
    bounds come from the children's means, which a sparse scan sums in another order)."""
    for name in _ARRAYS:
        if values_rtol and name == "value":
            np.testing.assert_allclose(a.tree_.value, b.tree_.value, rtol=values_rtol)
            continue
        np.testing.assert_array_equal(getattr(a.tree_, name), getattr(b.tree_, name),
                                      err_msg=name)
    np.testing.assert_array_equal(a.feature_importances_, b.feature_importances_)


def assert_same_predictions(est_sparse, est_dense, X, Xd, rtol=0.0):
    for Xs in (X.tocsr(), X.tocsc(), X):
        np.testing.assert_allclose(est_sparse.predict(Xs), est_dense.predict(Xd), rtol=rtol,
                                   atol=0)
        np.testing.assert_array_equal(est_sparse.apply(Xs), est_dense.apply(Xd))
        path_s, path_d = est_sparse.decision_path(Xs), est_dense.decision_path(Xd)
        assert path_s.shape == path_d.shape and path_s.format == "csr"
        np.testing.assert_array_equal(path_s.indptr, path_d.indptr)
        np.testing.assert_array_equal(path_s.indices, path_d.indices)
        if hasattr(est_dense, "predict_proba"):
            proba_s, proba_d = est_sparse.predict_proba(Xs), est_dense.predict_proba(Xd)
            if isinstance(proba_d, list):   # multi-output: one array per output
                assert len(proba_s) == len(proba_d)
                for ps, pd in zip(proba_s, proba_d):
                    np.testing.assert_array_equal(ps, pd)
            else:
                np.testing.assert_array_equal(proba_s, proba_d)


_CASES = [
    (DecisionTreeClassifier, {"criterion": "gini"}, "clf"),
    (DecisionTreeClassifier, {"criterion": "entropy"}, "clf"),
    (DecisionTreeClassifier, {"criterion": "gain_ratio"}, "clf"),
    (DecisionTreeRegressor, {"criterion": "squared_error"}, "reg"),
    (DecisionTreeRegressor, {"criterion": "friedman_mse"}, "reg"),
    (DecisionTreeRegressor, {"criterion": "absolute_error"}, "reg"),
    (DecisionTreeRegressor, {"criterion": "poisson"}, "poisson"),
]


@pytest.mark.parametrize("cls,params,kind", _CASES, ids=lambda v: str(v.get("criterion"))
                         if isinstance(v, dict) else None)
@pytest.mark.parametrize("density", [0.03, 0.3, 0.85])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", ["csc", "csr"])
def test_sparse_tree_is_the_dense_tree(cls, params, kind, density, dtype, fmt):
    X, Xd, y = sparse_problem(150, 12, density, dtype, fmt, seed=int(density * 100),
                              classification=kind == "clf", nonneg=kind == "poisson")
    a = cls(random_state=0, **params).fit(X, y)
    b = cls(random_state=0, **params).fit(Xd, y)
    assert a.tree_.node_count > 5
    assert a.tree_.input_dtype == dtype
    assert_same_fitted_tree(a, b)
    Xt, Xtd, _ = sparse_problem(60, 12, density, dtype, fmt, seed=7)
    assert_same_predictions(a, b, Xt, Xtd)


@pytest.mark.parametrize("cls,params", [
    (DecisionTreeClassifier, {"max_leaf_nodes": 9}),
    (DecisionTreeRegressor, {"max_leaf_nodes": 12, "criterion": "friedman_mse"}),
    (DecisionTreeClassifier, {"splitter": "random"}),
    (ExtraTreeClassifier, {}),
    (ExtraTreeRegressor, {"max_features": 0.5}),
    (DecisionTreeRegressor, {"max_features": 3, "min_samples_leaf": 4}),
    (DecisionTreeClassifier, {"min_weight_fraction_leaf": 0.05, "max_depth": 4}),
    (DecisionTreeRegressor, {"monotonic_cst": [1, -1] + [0] * 10}),
    (DecisionTreeClassifier, {"ccp_alpha": 0.01}),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_tree_options_are_the_dense_tree(cls, params, dtype):
    classification = cls in (DecisionTreeClassifier, ExtraTreeClassifier)
    X, Xd, y = sparse_problem(200, 12, 0.25, dtype, "csc", seed=3,
                              classification=classification)
    if "monotonic_cst" in params:
        y = Xd[:, 0] - Xd[:, 1] + 0.3 * np.sin(7 * Xd[:, 2])
    w = np.random.RandomState(0).randint(0, 4, size=y.shape[0]).astype(float)
    for sample_weight in (None, w):   # zero weights: samples the splitter leaves out
        a = cls(random_state=1, **params).fit(X, y, sample_weight=sample_weight)
        b = cls(random_state=1, **params).fit(Xd, y, sample_weight=sample_weight)
        assert a.tree_.node_count > 2
        rtol = 1e-13 if "monotonic_cst" in params else 0.0
        assert_same_fitted_tree(a, b, values_rtol=rtol)
        assert_same_predictions(a, b, X, Xd, rtol=rtol)


def test_multi_output_targets_on_sparse_input():
    X, Xd, y = sparse_problem(160, 10, 0.3, np.float64, "csr", seed=5)
    Y = np.column_stack([y, (Xd[:, 4] > 0).astype(int)])
    for cls, target in ((DecisionTreeClassifier, Y), (DecisionTreeRegressor, Y * 1.5)):
        a = cls(random_state=0).fit(X, target)
        b = cls(random_state=0).fit(Xd, target)
        assert_same_fitted_tree(a, b)
        assert_same_predictions(a, b, X, Xd)


@pytest.mark.parametrize("density", [0.05, 0.4])
@pytest.mark.parametrize("cls,sk_cls,criterion,kind", [
    (DecisionTreeClassifier, sk_tree.DecisionTreeClassifier, "gini", "clf"),
    (DecisionTreeClassifier, sk_tree.DecisionTreeClassifier, "entropy", "clf"),
    (DecisionTreeRegressor, sk_tree.DecisionTreeRegressor, "squared_error", "reg"),
    (DecisionTreeRegressor, sk_tree.DecisionTreeRegressor, "poisson", "poisson"),
])
def test_sparse_tree_agrees_with_sklearns_sparse_tree(cls, sk_cls, criterion, kind, density):
    """scikit-learn's sparse splitter on the same float32 CSC matrix: from the root down,
    every node agrees (sample counts, weights, values, impurities) and the two trees
    split differently only where the splits are an exact tie (sparse data tie often: one
    partition reached through several features; sklearn breaks ties at random)."""
    X, Xd, y = sparse_problem(300, 15, density, np.float32, "csc", seed=11,
                              classification=kind == "clf", nonneg=kind == "poisson",
                              ties=False)
    ours = cls(criterion=criterion, random_state=0).fit(X, y)
    # scikit-learn 1.9 loops forever on a CSC matrix with duplicate entries: give it the
    # canonical copy
    Xc = X.copy()
    Xc.sum_duplicates()
    for seed in range(3):
        theirs = sk_cls(criterion=criterion, random_state=seed).fit(Xc, y)
        compared, ties = compare_trees(ours, theirs)
        assert compared >= 15 and ties < compared / 2, (compared, ties)


def test_all_zero_and_one_row_sparse_inputs():
    # no stored entry at all: one leaf, as dense zeros give
    X = sp.csc_matrix((5, 3))
    y = np.array([0, 1, 0, 1, 1])
    a = DecisionTreeClassifier().fit(X, y)
    b = DecisionTreeClassifier().fit(X.toarray(), y)
    assert a.tree_.node_count == 1
    assert_same_fitted_tree(a, b)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X.toarray()))
    # one sample, and a matrix whose only entries are explicit zeros
    X1 = sp.csr_matrix((np.array([0.0, 0.0]), np.array([0, 2]), np.array([0, 2])),
                       shape=(1, 3))
    est = DecisionTreeRegressor().fit(X1, [3.0])
    assert est.tree_.node_count == 1 and est.predict(X1)[0] == 3.0


def test_sparse_nan_and_inf_are_rejected_and_sparse_targets_too():
    X = sp.random(20, 4, density=0.5, format="csr", random_state=0)
    y = np.arange(20) % 2
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb.data[0] = bad
        with pytest.raises(ValueError, match="must be finite|infinity"):
            DecisionTreeClassifier().fit(Xb, y)
        est = DecisionTreeClassifier().fit(X, y)
        with pytest.raises(ValueError, match="must be finite|infinity"):
            est.predict(Xb)
    with pytest.raises(TypeError, match="sparse targets"):
        DecisionTreeRegressor().fit(X, sp.csr_matrix(y.reshape(-1, 1).astype(float)))
    est = DecisionTreeClassifier().fit(X, y)
    with pytest.raises(ValueError, match="4 features"):
        est.predict(sp.csr_matrix((3, 5)))


def test_fitting_sparse_data_never_densifies_it():
    """160 MB dense, 0.2 MB sparse: the fit and the predictions allocate (in NumPy,
    which tracemalloc sees) a small fraction of the dense size."""
    X = sp.random(10_000, 2_000, density=2e-4, format="csc", random_state=0)
    y = (X[:, :50].sum(axis=1).A1 > 0).astype(int)
    tracemalloc.start()
    try:
        est = DecisionTreeClassifier(random_state=0).fit(X, y)
        est.predict_proba(X.tocsr())
        est.decision_path(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16e6, peak
    assert est.score(X, y) == 1.0


def _hyp_matrix(draw):
    n = draw(st.integers(1, 30))
    p = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    scale = draw(st.sampled_from([1.0, 1e-300, 1e30, 1e300] if dtype == np.float64
                                 else [1.0, 1e-30, 1e30]))
    density = draw(st.sampled_from([0.1, 0.5, 0.9]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    pool = rng.randn(draw(st.integers(1, 6))) * scale       # few distinct values: ties
    if dtype == np.float64 and scale >= 1e30:
        # distinct float64 values sharing a float32 image (or beyond float32's range)
        pool = np.r_[pool, pool[0] * (1 + 2.0**-40)]
    mask = rng.rand(n, p) < density
    vals = rng.choice(pool, size=mask.sum()).astype(dtype)
    X = sp.csc_matrix((n, p), dtype=dtype)
    if mask.any():
        rows, cols = np.nonzero(mask)
        X = sp.csc_matrix((vals, (rows, cols)), shape=(n, p))
    fmt = draw(st.sampled_from(["csc", "csr"]))
    return X.asformat(fmt), rng


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_sparse_and_dense_trees_agree_on_random_sparse_problems(data):
    X, rng = _hyp_matrix(data.draw)
    classification = data.draw(st.booleans())
    n = X.shape[0]
    y = rng.randint(0, 3, n) if classification else rng.randn(n) * 10.0 ** rng.randint(-5, 6)
    w = rng.randint(0, 3, n).astype(float)
    if w.sum() == 0:
        w[0] = 1.0
    params = {"min_samples_leaf": data.draw(st.integers(1, 3)),
              "max_leaf_nodes": data.draw(st.sampled_from([None, 4]))}
    for cls in ((DecisionTreeClassifier, ExtraTreeClassifier) if classification
                else (DecisionTreeRegressor, ExtraTreeRegressor)):
        a = cls(random_state=0, **params).fit(X, y, sample_weight=w)
        b = cls(random_state=0, **params).fit(X.toarray(), y, sample_weight=w)
        assert_same_fitted_tree(a, b)
        assert np.all(np.isfinite(a.tree_.threshold))
        assert_same_predictions(a, b, X, X.toarray())
