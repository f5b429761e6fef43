"""Sparse input for forests and bagging (issue 14): a forest fitted on CSC/CSR data is the
forest fitted on the dense copy (same trees, so identical predictions, probabilities,
leaves, paths, importances and out-of-bag scores), whatever the thread count; the data
have several densities, both dtypes, explicit zeros, empty rows, unsorted indices and
duplicate entries (see tests/tree/test_sparse.py)."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import validate_data
from sklearn.ensemble import RandomForestClassifier as SkForest

from skml.ensemble import (
    BaggingClassifier,
    BaggingRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from ..tree.test_sparse import sparse_problem

_FORESTS = [
    (RandomForestClassifier, True, {"oob_score": True}),
    (RandomForestRegressor, False, {"oob_score": True, "max_features": 0.5}),
    (ExtraTreesClassifier, True, {"bootstrap": True, "oob_score": True}),
    (ExtraTreesRegressor, False, {}),
    (BaggingClassifier, True, {"oob_score": True, "max_features": 0.7}),
    (BaggingRegressor, False, {"bootstrap_features": True}),
]


@pytest.mark.parametrize("cls,classification,params", _FORESTS,
                         ids=lambda v: v.__name__ if isinstance(v, type) else "")
@pytest.mark.parametrize("density,dtype,fmt", [(0.05, np.float32, "csc"),
                                               (0.3, np.float64, "csr"),
                                               (0.8, np.float32, "csr")])
def test_sparse_forest_is_the_dense_forest(cls, classification, params, density, dtype,
                                           fmt):
    X, Xd, y = sparse_problem(160, 10, density, dtype, fmt, seed=2,
                              classification=classification)
    Xt, Xtd, _ = sparse_problem(50, 10, density, dtype, fmt, seed=9)
    a = cls(n_estimators=8, random_state=0, n_jobs=2, **params).fit(X, y)
    b = cls(n_estimators=8, random_state=0, n_jobs=1, **params).fit(Xd, y)
    for Xs in (Xt.tocsr(), Xt.tocsc(), Xt):
        np.testing.assert_array_equal(a.predict(Xs), b.predict(Xtd))
        if classification:
            np.testing.assert_array_equal(a.predict_proba(Xs), b.predict_proba(Xtd))
    if "oob_score" in params:
        assert a.oob_score_ == b.oob_score_
    if cls.__name__.startswith("Bagging"):
        for ea, eb in zip(a.estimators_, b.estimators_):
            np.testing.assert_array_equal(ea.tree_.threshold, eb.tree_.threshold)
        return
    np.testing.assert_array_equal(a.feature_importances_, b.feature_importances_)
    np.testing.assert_array_equal(a.apply(Xt), b.apply(Xtd))
    (pa, ptr_a), (pb, ptr_b) = a.decision_path(Xt), b.decision_path(Xtd)
    np.testing.assert_array_equal(ptr_a, ptr_b)
    assert (pa != pb).nnz == 0


def test_sparse_forest_matches_sklearns_on_sparse_text_like_data():
    """A bag-of-words-like matrix (counts, 3% dense): held-out accuracy equal to
    scikit-learn's sparse forest within noise, and well above the majority rate."""
    rng = np.random.RandomState(0)
    n, p = 1200, 300
    X = sp.random(n, p, density=0.03, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.randint(1, 4, k).astype(float))
    w = np.zeros(p)
    w[:60] = rng.randn(60) * 3
    y = (X @ w + 0.3 * rng.randn(n) > 0).astype(int)
    tr, te = slice(0, 800), slice(800, None)
    ours = RandomForestClassifier(n_estimators=60, random_state=0).fit(X[tr], y[tr])
    theirs = SkForest(n_estimators=60, random_state=0).fit(X[tr], y[tr])
    acc_ours = np.mean(ours.predict(X[te]) == y[te])
    acc_theirs = np.mean(theirs.predict(X[te]) == y[te])
    majority = max(np.mean(y[te]), 1 - np.mean(y[te]))
    assert acc_ours > majority + 0.1
    assert abs(acc_ours - acc_theirs) < 0.04, (acc_ours, acc_theirs)


class _DenseOnlyClassifier(ClassifierMixin, BaseEstimator):
    """A member without sparse support (scikit-learn's default tags)."""

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        self.classes_, counts = np.unique(y, return_counts=True)
        return self

    def predict(self, X):
        X = validate_data(self, X, reset=False)
        return np.full(X.shape[0], self.classes_[0])


def test_bagging_takes_sparse_input_only_when_its_member_does():
    X = sp.random(40, 5, density=0.5, format="csr", random_state=0)
    y = np.arange(40) % 2
    assert BaggingClassifier().__sklearn_tags__().input_tags.sparse
    bag = BaggingClassifier(_DenseOnlyClassifier(), n_estimators=3)
    assert not bag.__sklearn_tags__().input_tags.sparse
    with pytest.raises(TypeError, match="[Ss]parse"):
        bag.fit(X, y)
    bag.fit(X.toarray(), y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_predict_over_row_blocks_equals_the_dense_predict(dtype):
    """The CSR prediction kernel (blocks of rows, tree by tree, a dense buffer per row):
    bit-for-bit the dense kernel's sums on deep trees grown on counts, across several
    row blocks and both joblib row ranges, with unsorted indices and explicit zeros; and
    on a forest trained with missing values (nodes that send NaN left)."""
    import scipy.sparse as sp

    from skml.ensemble import RandomForestClassifier

    rng = np.random.RandomState(0)
    n, d = 1500, 200
    X = sp.random(n, d, density=0.25, format="csr", random_state=rng, dtype=dtype,
                  data_rvs=lambda k: rng.randint(1, 4, k).astype(dtype))
    y = (X[:, :20].sum(1).A1 + rng.normal(size=n) > 5).astype(int)
    Xt = X.copy()
    Xt.data[::7] = 0  # explicit zeros
    for i in range(0, n, 3):  # unsorted indices
        a, b = Xt.indptr[i], Xt.indptr[i + 1]
        Xt.indices[a:b] = Xt.indices[a:b][::-1].copy()
        Xt.data[a:b] = Xt.data[a:b][::-1].copy()
    Xt.has_sorted_indices = False
    dense = Xt.toarray()
    forest = RandomForestClassifier(5, random_state=0, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(forest.predict_proba(Xt), forest.predict_proba(dense))
    # trained on dense data with missing values: some nodes send NaN to the left
    D = X.toarray()
    D[rng.rand(n, d) < 0.05] = np.nan
    with_nan = RandomForestClassifier(5, random_state=0, n_jobs=2).fit(D, y)
    assert any(np.any(t.tree_.missing_go_to_left[t.tree_.children_left >= 0])
               for t in with_nan.estimators_)
    np.testing.assert_array_equal(with_nan.predict_proba(Xt),
                                  with_nan.predict_proba(dense))
