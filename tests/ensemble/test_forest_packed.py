"""The packed forest behind forest prediction (issue 12): thresholds in the input's
precision that give exactly the fitted trees' decisions, the packing cached between
predictions but never stale, and the kernels against a NumPy walk of the node arrays."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification

from skml._kernels import _tree
from skml.ensemble import RandomForestClassifier, RandomForestRegressor


def _tree_walk(left, right, feature, threshold, missing_left, x):
    """Leaf of row ``x`` (compared in float64, as the fitted tree's float64 thresholds
    are), by the plain definition of the node arrays."""
    node = 0
    while left[node] != -1:
        v = float(x[feature[node]])
        if np.isnan(v):
            node = left[node] if missing_left[node] else right[node]
        else:
            node = left[node] if v <= threshold[node] else right[node]
    return node


def _mean_of_trees(forest, X):
    """The mean of the members' leaf values, each tree walking its own node arrays."""
    return np.mean([t.tree_.predict(X) for t in forest.estimators_], axis=0)


def _data(n=300, seed=0):
    X, y = make_classification(n, 6, n_informative=4, random_state=seed)
    X[np.random.RandomState(seed).rand(*X.shape) < 0.1] = np.nan
    return X, y


# --- float32 thresholds: the same decision as the float64 ones, for every float32 x --------


def _rows_around_thresholds(forest, X):
    """Rows of X whose split feature is set to the float32 just below / at or under /
    just above each threshold, or NaN: every side of every split of the forest (the
    finite ones: a threshold of inf sends the known values left, the missing ones by
    missing_go_to_left)."""
    rows = []
    for est in forest.estimators_:
        t = est.tree_
        inner = np.flatnonzero(t.children_left != -1)
        for node in inner:
            thr = t.threshold[node]
            below = np.float32(thr)
            if below > thr:
                below = np.nextafter(below, np.float32(-np.inf))
            for v in (below, np.nextafter(below, np.float32(np.inf)),
                      np.nextafter(below, np.float32(-np.inf)), np.float32(np.nan)):
                if np.isinf(v):
                    continue
                row = X[node % X.shape[0]].copy()
                row[t.feature[node]] = v
                rows.append(row)
    return np.array(rows, dtype=np.float32)


def test_float32_forest_routes_every_side_of_every_threshold_as_its_trees():
    X, y = _data()
    forest = RandomForestClassifier(8, max_depth=6, random_state=0).fit(
        X.astype(np.float32), y)
    Xq = _rows_around_thresholds(forest, X.astype(np.float32))
    # both sides of each threshold occur (float32 thresholds would merge them if wrong)
    assert Xq.shape[0] > 400
    proba = forest.predict_proba(Xq)
    np.testing.assert_array_equal(proba, _mean_of_trees(forest, Xq))
    # the trees' own path: apply() walks the float64 thresholds
    for est in forest.estimators_:
        t = est.tree_
        ref = [_tree_walk(t.children_left, t.children_right, t.feature, t.threshold,
                          t.missing_go_to_left, x) for x in Xq[:200]]
        np.testing.assert_array_equal(est.apply(Xq[:200]), ref)


@pytest.mark.parametrize("big", [-1e300, 1e300])
def test_float32_forest_on_float64_values_beyond_float32_range(big):
    """Float64 input to a float32 forest is rounded to float32: +-1e300 become +-inf.
    -inf at the feature a leaf reads used to walk off the leaf (a crash)."""
    X, y = _data()
    forest = RandomForestClassifier(5, random_state=0).fit(X.astype(np.float32), y)
    Xq = X[:60].copy()
    Xq[:, 0] = big
    Xq[::3, 1] = -big
    with np.errstate(over="ignore"):
        proba = forest.predict_proba(Xq)
    with np.errstate(over="ignore"):
        X32 = Xq.astype(np.float32)
    np.testing.assert_array_equal(proba, _mean_of_trees(forest, X32))


def test_pack_forest_rounds_float32_thresholds_down_and_keeps_float64_ones():
    thr = np.array([0.1, -0.1, 1e300, -1e300, 1e-50, -1e-50, 5e-324, -0.0, np.inf, -np.inf,
                    3.4028235677973366e38, 16777217.0])
    n = thr.size
    # a chain: node i splits on feature 0 at thr[i]; its left child is a leaf
    left = np.full(2 * n + 1, -1, dtype=np.intp)
    right = np.full(2 * n + 1, -1, dtype=np.intp)
    feature = np.full(2 * n + 1, -2, dtype=np.intp)
    threshold = np.full(2 * n + 1, -2.0)
    for i in range(n):
        node = 2 * i
        left[node], right[node], feature[node], threshold[node] = node + 1, node + 2, 0, \
            thr[i]
    tree = (left, right, feature, threshold, np.zeros(2 * n + 1, dtype=np.uint8),
            np.zeros((2 * n + 1, 1)))
    _, n32, ids = _tree.pack_forest([tree], 1, dtype=np.float32, n_features=1)
    _, n64, _ = _tree.pack_forest([tree], 1, dtype=np.float64, n_features=1)
    inner32 = n32["threshold"][::2][:n]
    with np.errstate(over="ignore"):
        nearest = thr.astype(np.float32)
    expected = np.where(nearest.astype(np.float64) > thr,
                        np.nextafter(nearest, np.float32(-np.inf)), nearest)
    expected[thr == 3.4028235677973366e38] = np.finfo(np.float32).max
    np.testing.assert_array_equal(inner32, expected)
    assert np.all(inner32.astype(np.float64) <= thr)
    np.testing.assert_array_equal(n64["threshold"][::2][:n], thr)
    # leaves never send anything left, not even -inf: their threshold is NaN
    assert np.all(np.isnan(n32["threshold"][1::2])) and np.all(np.isnan(n64["threshold"][1::2]))
    assert n32.dtype.itemsize == 16 and n64.dtype.itemsize == 24
    np.testing.assert_array_equal(ids, np.arange(2 * n + 1))   # pre-order already


def test_pack_forest_rejects_features_out_of_range_and_nan_thresholds():
    left = np.array([1, -1, -1], dtype=np.intp)
    right = np.array([2, -1, -1], dtype=np.intp)
    miss = np.zeros(3, dtype=np.uint8)
    value = np.ones((3, 1))
    ok = (left, right, np.array([2, -2, -2], dtype=np.intp), np.array([0.5, -2, -2]), miss,
          value)
    _tree.pack_forest([ok], 1, n_features=3)
    with pytest.raises(ValueError, match="tree 0"):
        _tree.pack_forest([ok], 1, n_features=2)
    nan = (left, right, np.array([0, -2, -2], dtype=np.intp), np.array([np.nan, -2, -2]),
           miss, value)
    with pytest.raises(ValueError, match="tree 0"):
        _tree.pack_forest([nan], 1, n_features=3)
    with pytest.raises(ValueError, match="float32 or float64"):
        _tree.pack_forest([ok], 1, dtype=np.int32)


# --- property test of the kernels against the NumPy walk -------------------------------------

_POOL = np.array([0.0, -0.0, 0.1, -0.1, 1.0, 1.0 + 2.0**-30, 1e300, -1e300, 1e-50, -1e-50,
                  5e-324, 1.5e-45, 16777217.0, 3.4028235677973366e38, 3e38, -7.5, 2.5])


def _random_tree(rng, n_features, n_split, preorder):
    """Node arrays of a random binary tree with ``n_split`` splits on thresholds drawn
    from _POOL, numbered in pre-order or in a shuffled order (as best-first trees are)."""
    # grow by splitting random leaves
    kids = {0: None}
    leaves = [0]
    for _ in range(n_split):
        leaf = leaves.pop(rng.randint(len(leaves)))
        a, b = len(kids), len(kids) + 1
        kids[leaf] = (a, b)
        kids[a] = kids[b] = None
        leaves += [a, b]
    n = len(kids)
    if preorder:
        order, stack = [], [0]
        while stack:
            node = stack.pop()
            order.append(node)
            if kids[node] is not None:
                stack += [kids[node][1], kids[node][0]]
    else:
        order = [0] + list(1 + rng.permutation(n - 1))
    new_id = np.empty(n, dtype=np.intp)
    new_id[order] = np.arange(n)
    left = np.full(n, -1, dtype=np.intp)
    right = np.full(n, -1, dtype=np.intp)
    feature = np.full(n, -2, dtype=np.intp)
    threshold = np.full(n, -2.0)
    missing = np.zeros(n, dtype=np.uint8)
    for node, ch in kids.items():
        if ch is not None:
            i = new_id[node]
            left[i], right[i] = new_id[ch[0]], new_id[ch[1]]
            feature[i] = rng.randint(n_features)
            threshold[i] = rng.choice(_POOL)
            missing[i] = rng.randint(2)
    value = rng.randint(0, 1000, size=(n, 2)).astype(np.float64)
    return left, right, feature, threshold, missing, value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_rows=st.integers(0, 40),
       n_features=st.integers(1, 4), n_trees=st.integers(1, 4),
       dtype=st.sampled_from([np.float32, np.float64]), preorder=st.booleans())
def test_forest_kernels_match_a_numpy_walk(seed, n_rows, n_features, n_trees, dtype,
                                           preorder):
    rng = np.random.RandomState(seed)
    trees = [_random_tree(rng, n_features, rng.randint(0, 12), preorder)
             for _ in range(n_trees)]
    # values around the thresholds (both float32 neighbours), NaN, +-inf and the pool
    with np.errstate(over="ignore"):
        near = _POOL.astype(np.float32)
    cand = np.r_[_POOL, near, np.nextafter(near, np.float32(np.inf)),
                 np.nextafter(near, np.float32(-np.inf)), np.nan, np.inf, -np.inf]
    X = rng.choice(cand, size=(n_rows, n_features))
    with np.errstate(over="ignore"):
        X = X.astype(dtype)
    roots, nodes, ids = _tree.pack_forest(list(trees), 2, dtype=dtype,
                                          n_features=n_features)
    values = [t[5] for t in trees]
    expected = np.zeros((n_rows, 2))
    for t in trees:
        for i, x in enumerate(X):
            expected[i] += t[5][_tree_walk(*t[:5], x)]
    start = rng.randint(0, n_rows + 1)
    out = np.zeros((n_rows, 2))
    _tree.forest_accumulate(X, roots, nodes, ids, values, out, 0, start)
    _tree.forest_accumulate(X, roots, nodes, ids, values, out, start, n_rows)
    np.testing.assert_array_equal(out, expected)
    Xs = sp.csr_matrix(np.where(rng.rand(*X.shape) < 0.5, X, 0))
    Xs.eliminate_zeros()
    expected_sp = np.zeros((n_rows, 2))
    for t in trees:
        for i, x in enumerate(Xs.toarray()):
            expected_sp[i] += t[5][_tree_walk(*t[:5], x)]
    out = np.zeros((n_rows, 2))
    _tree.forest_accumulate_csr(Xs.data, Xs.indices.astype(np.int32),
                                Xs.indptr.astype(np.intp), n_features, roots, nodes, ids,
                                values, out, 0, n_rows)
    np.testing.assert_array_equal(out, expected_sp)


def test_forest_kernels_reject_inputs_that_do_not_match_the_packing():
    t = _random_tree(np.random.RandomState(0), 2, 3, True)
    roots, nodes, ids = _tree.pack_forest([t], 2, dtype=np.float32, n_features=2)
    X = np.zeros((4, 2), dtype=np.float32)
    out = np.zeros((4, 2))
    _tree.forest_accumulate(X, roots, nodes, ids, [t[5]], out, 0, 4)
    with pytest.raises(ValueError, match="rows out of range"):
        _tree.forest_accumulate(X, roots, nodes, ids, [t[5]], out, 0, 5)
    with pytest.raises(ValueError):     # float64 rows need float64 thresholds
        _tree.forest_accumulate(X.astype(np.float64), roots, nodes, ids, [t[5]], out, 0, 4)
    with pytest.raises(ValueError, match="value array of tree 0"):
        _tree.forest_accumulate(X, roots, nodes, ids, [t[5][:-1]], out, 0, 4)
    with pytest.raises(ValueError, match="node ids or values"):
        _tree.forest_accumulate(X, roots, nodes, ids[:-1], [t[5]], out, 0, 4)
    with pytest.raises(ValueError, match="node ids or values"):
        _tree.forest_accumulate(X, roots, nodes, ids, [t[5], t[5]], out, 0, 4)


# --- the cache ---------------------------------------------------------------------------------


def test_packed_forest_is_reused_and_repacked_whenever_the_trees_change():
    X, y = _data()
    forest = RandomForestClassifier(6, random_state=0).fit(X, y)
    other = RandomForestClassifier(6, random_state=1).fit(X, y)
    np.testing.assert_array_equal(forest.predict_proba(X), _mean_of_trees(forest, X))
    state = forest._packed_forest._state
    forest.predict_proba(X[:10])
    assert forest._packed_forest._state is state            # reused, not repacked

    def check():
        np.testing.assert_array_equal(forest.predict_proba(X), _mean_of_trees(forest, X))

    forest.estimators_[0] = other.estimators_[0]             # a member replaced
    check()
    forest.estimators_ += other.estimators_[:2]              # appended in place
    check()
    forest.estimators_ = forest.estimators_[2:5]             # sliced
    check()
    del forest.estimators_[0]                                # removed in place
    check()
    forest.estimators_[1].fit(X[:150], y[:150])              # a member refitted in place
    check()
    forest.estimators_.reverse()                             # same trees, other order
    check()
    forest.estimators_[0].tree_.value[:] = 0.5               # leaf values edited in place
    check()
    state = forest._packed_forest._state
    forest.predict_proba(X[:10])
    assert forest._packed_forest._state is state            # (without repacking)
    # float32 input after float64: X follows the trees' dtype, the packing does too
    np.testing.assert_array_equal(forest.predict_proba(X.astype(np.float32)),
                                  _mean_of_trees(forest, X))


def test_packed_forest_is_not_pickled_and_predict_leaves_dict_unchanged():
    X, y = _data()
    forest = RandomForestRegressor(4, random_state=0).fit(X, y.astype(float))
    before = forest.__dict__.copy()
    pred = forest.predict(X)
    assert forest.__dict__ == before
    assert forest._packed_forest._state is not None
    again = pickle.loads(pickle.dumps(forest))
    assert again._packed_forest._state is None
    np.testing.assert_array_equal(again.predict(X), pred)
