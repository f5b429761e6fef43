"""Correctness of the trees at the edges of the input space (issue 11): precision of the
thresholds (float64 data keeps float64 thresholds), extreme target and weight magnitudes,
fitted state, and a property-based test of the splitter against a brute-force NumPy
reference over magnitudes up to 1e300, ties, constant features, weights, dtypes, memory
layouts and read-only input."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import tree as sk_tree
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError

from skml.ensemble import (
    BaggingClassifier,
    BaggingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from skml.tree import DecisionTreeClassifier, DecisionTreeRegressor
from skml.utils import InvalidParameterError
from tests._layouts import as_layout

# --- thresholds keep the input's precision ---------------------------------------------------


def test_values_1e7_apart_are_split_in_float64():
    X, y = np.array([[0.0], [1e-7]]), np.array([0, 1])
    clf = DecisionTreeClassifier().fit(X, y)
    assert clf.get_n_leaves() == 2
    assert clf.tree_.threshold[0] == 5e-8
    np.testing.assert_array_equal(clf.predict(X), y)
    # sklearn rounds to float32 and treats values closer than 1e-7 as equal: one leaf
    assert sk_tree.DecisionTreeClassifier().fit(X, y).get_n_leaves() == 1


@pytest.mark.parametrize("cls", [DecisionTreeClassifier, DecisionTreeRegressor])
def test_timestamps_split_perfectly(cls):
    """1.7e9 + i: consecutive values are 1 apart, 128 share one float32 (55 of 200 training
    errors when thresholds are float32)."""
    rng = np.random.RandomState(0)
    X = (1.7e9 + np.arange(200.0))[:, None]
    y = rng.randint(0, 2, 200)
    est = cls().fit(X, y)
    np.testing.assert_array_equal(est.predict(X), y)
    t = est.tree_
    inner = t.children_left != -1
    # every threshold lies between two consecutive training values: x <= t < x + 1
    assert np.all(np.isin(np.floor(t.threshold[inner]), X[:, 0]))
    assert est.tree_.threshold.dtype == np.float64 and est.tree_.input_dtype == np.float64


def test_float32_input_stays_float32_and_predicts_in_float32():
    X, y = load_iris(return_X_y=True)
    clf = DecisionTreeClassifier(random_state=0).fit(X.astype(np.float32), y)
    assert clf.tree_.input_dtype == np.float32
    # float64 input at predict is compared in the training precision (as sklearn does)
    np.testing.assert_array_equal(clf.apply(X), clf.apply(X.astype(np.float32)))


def test_forests_keep_float64_thresholds():
    X = (1.7e9 + np.arange(300.0))[:, None]
    y = np.arange(300) % 2
    forest = RandomForestClassifier(n_estimators=5, bootstrap=False, max_features=None,
                                    random_state=0).fit(X, y)
    np.testing.assert_array_equal(forest.predict(X), y)


# --- extreme magnitudes -------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e300])
@pytest.mark.parametrize("criterion", ["squared_error", "absolute_error"])
def test_regression_targets_of_any_magnitude_split_as_the_unit_ones(scale, criterion):
    """Reference: the tree of y / scale (ordinary magnitudes) times scale. y**2 overflows
    at 1e200 (one leaf before), and variances of 1e-200 targets are below any absolute
    purity threshold."""
    rng = np.random.RandomState(0)
    X = rng.rand(60, 3)
    y_unit = np.where(X[:, 0] > 0.5, 3.0, -1.0) + rng.rand(60)
    ref = DecisionTreeRegressor(criterion=criterion, max_depth=3).fit(X, y_unit)
    big = DecisionTreeRegressor(criterion=criterion, max_depth=3).fit(X, y_unit * scale)
    np.testing.assert_array_equal(big.tree_.feature, ref.tree_.feature)
    np.testing.assert_array_equal(big.tree_.threshold, ref.tree_.threshold)
    np.testing.assert_allclose(big.predict(X), ref.predict(X) * scale, rtol=1e-12)
    assert np.all(np.isfinite(big.feature_importances_))
    np.testing.assert_allclose(big.feature_importances_, ref.feature_importances_,
                               rtol=1e-9, atol=1e-15)


def test_targets_far_from_zero_keep_their_splits():
    """y = 1e8 + small signal: sums of squares of the uncentred targets cancel. Reference:
    sklearn on the same targets minus 1e8 (exact: the subtraction of the offset is exact
    for these float64 values), where its arithmetic is accurate."""
    rng = np.random.RandomState(1)
    X = rng.rand(100, 2).astype(np.float32)
    y = 1e8 + np.sin(6 * X[:, 0]) + 0.1 * rng.rand(100)
    ours = DecisionTreeRegressor(max_depth=3).fit(X, y)
    # sklearn breaks exact ties at random (this data has one at depth 3): the same tree
    # for one of its seeds
    same = []
    for seed in range(5):
        theirs = sk_tree.DecisionTreeRegressor(max_depth=3, random_state=seed).fit(X, y - 1e8)
        if (np.array_equal(ours.tree_.feature, theirs.tree_.feature)
                and np.array_equal(ours.tree_.threshold, theirs.tree_.threshold)):
            np.testing.assert_allclose(ours.predict(X) - 1e8, theirs.predict(X), atol=1e-7)
            same.append(seed)
    assert same


_CRITERIA = [(DecisionTreeClassifier, "gini"), (DecisionTreeClassifier, "entropy"),
             (DecisionTreeRegressor, "squared_error"),
             (DecisionTreeRegressor, "absolute_error")]


@pytest.mark.parametrize("weight", [2.0**-1070, 2.0**-1000, 2.0**1000])
@pytest.mark.parametrize("cls,criterion", _CRITERIA)
def test_extreme_uniform_weights_give_the_unweighted_tree(cls, criterion, weight):
    """A constant weight changes nothing (reference: the unweighted tree): no NaN
    importances for denormal weights, no overflow for huge ones. (Powers of two, so that
    even the exact ties of iris are broken the same way.)"""
    X, y = load_iris(return_X_y=True)
    ref = cls(criterion=criterion, max_depth=4).fit(X, y)
    est = cls(criterion=criterion, max_depth=4).fit(X, y, sample_weight=np.full(150, weight))
    np.testing.assert_array_equal(est.tree_.feature, ref.tree_.feature)
    np.testing.assert_array_equal(est.tree_.threshold, ref.tree_.threshold)
    np.testing.assert_allclose(est.feature_importances_, ref.feature_importances_,
                               rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(est.tree_.weighted_n_node_samples,
                               ref.tree_.weighted_n_node_samples * weight, rtol=1e-12)


@pytest.mark.parametrize("cls,criterion", _CRITERIA)
def test_denormal_weights_give_finite_importances_and_fit(cls, criterion):
    """The issue's example: sample_weight=1e-320 (NaN importances before)."""
    rng = np.random.RandomState(0)
    X = rng.rand(80, 4)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    ref = cls(criterion=criterion).fit(X, y)
    est = cls(criterion=criterion).fit(X, y, sample_weight=np.full(80, 1e-320))
    assert np.all(np.isfinite(est.feature_importances_))
    assert est.feature_importances_.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(est.feature_importances_, ref.feature_importances_,
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(est.predict(X), y)


# --- parameters and fitted state -------------------------------------------------------


@pytest.mark.parametrize("params,name", [
    (dict(max_depth=2**63), "max_depth"), (dict(max_depth=1.5), "max_depth"),
    (dict(min_samples_split=2**63), "min_samples_split"),
    (dict(min_samples_split=1), "min_samples_split"),
    (dict(min_samples_leaf=2**63), "min_samples_leaf"),
    (dict(max_features=2**63), "max_features"),
    (dict(min_weight_fraction_leaf=0.6), "min_weight_fraction_leaf"),
    (dict(min_impurity_decrease=float("nan")), "min_impurity_decrease"),
    (dict(ccp_alpha=-1.0), "ccp_alpha"), (dict(random_state=2**40), "random_state"),
])
def test_out_of_range_parameters_raise_naming_the_parameter(params, name):
    X, y = load_iris(return_X_y=True)
    for cls in (DecisionTreeClassifier, RandomForestClassifier):
        with pytest.raises(InvalidParameterError, match=name):
            cls(**params).fit(X, y)


_UNFITTED = [
    (DecisionTreeClassifier(), ["apply", "decision_path", "predict", "predict_proba",
                                "predict_log_proba"]),
    (DecisionTreeRegressor(), ["apply", "decision_path", "predict"]),
    (RandomForestClassifier(), ["apply", "predict", "predict_proba", "predict_log_proba"]),
    (RandomForestRegressor(), ["apply", "predict"]),
    (BaggingClassifier(), ["predict", "predict_proba", "predict_log_proba"]),
    (BaggingRegressor(), ["predict"]),
]


@pytest.mark.parametrize("est,methods", _UNFITTED, ids=lambda v: type(v).__name__)
def test_every_method_of_an_unfitted_estimator_raises_not_fitted(est, methods):
    X = np.zeros((2, 3))
    for method in methods:
        with pytest.raises(NotFittedError):
            getattr(est, method)(X)
    if hasattr(type(est), "feature_importances_"):
        with pytest.raises(NotFittedError):
            est.feature_importances_
    for method in ("get_depth", "get_n_leaves"):
        if hasattr(est, method):
            with pytest.raises(NotFittedError):
                getattr(est, method)()


def _tree_mean(forest, X, method):
    return np.mean([getattr(t, method)(X) for t in forest.estimators_], axis=0)


def test_forest_predictions_follow_estimators_as_they_are():
    """Merging two forests and slicing one (common idioms) must give the mean over the
    trees present, not over the trees packed at fit."""
    X, y = load_iris(return_X_y=True)
    a = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    b = RandomForestClassifier(n_estimators=7, random_state=1).fit(X, y)
    a.estimators_ += b.estimators_
    proba = a.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba, _tree_mean(a, X, "predict_proba"), rtol=1e-12)
    a.estimators_ = a.estimators_[:3]
    np.testing.assert_allclose(a.predict_proba(X), _tree_mean(a, X, "predict_proba"),
                               rtol=1e-12)
    assert a.apply(X).shape == (150, 3)
    # a member refitted in place, or its leaf values edited, shows up too
    a.estimators_[0].tree_.value[:] = 0.0
    a.estimators_[0].tree_.value[:, 0, 0] = 1.0
    np.testing.assert_allclose(a.predict_proba(X), _tree_mean(a, X, "predict_proba"),
                               rtol=1e-12)
    r = RandomForestRegressor(n_estimators=4, random_state=0).fit(X, X[:, 0])
    r2 = RandomForestRegressor(n_estimators=3, random_state=2).fit(X, X[:, 0] * 2)
    r.estimators_ = r.estimators_ + r2.estimators_
    np.testing.assert_allclose(r.predict(X), _tree_mean(r, X, "predict"), rtol=1e-12)
    r.estimators_ = []
    with pytest.raises(ValueError, match="no trees"):
        r.predict(X)


# --- the splitter against a brute-force reference ------------------------------------------


def _impurity(y, w, classification):
    """Weighted impurity in the reference's units (targets already scaled to |y| <= 1)."""
    W = w.sum()
    if classification:
        p = np.array([w[y == c].sum() for c in np.unique(y)]) / W
        return 1.0 - np.sum(p * p)
    mean = np.sum(w * y) / W
    return np.sum(w * (y - mean) ** 2) / W


def _decrease(x, thr, y, w, classification):
    left = x <= thr
    W = w.sum()
    out = W * _impurity(y, w, classification)
    for side in (left, ~left):
        if w[side].sum() > 0:
            out -= w[side].sum() * _impurity(y[side], w[side], classification)
    return out / W


def _best_decrease(X, y, w, classification):
    best = 0.0
    for f in range(X.shape[1]):
        vals = np.unique(X[w > 0, f])
        for lo, hi in zip(vals[:-1], vals[1:]):
            best = max(best, _decrease(X[:, f], lo, y, w, classification))
    return best


@st.composite
def _split_problems(draw):
    n = draw(st.integers(2, 24))
    p = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    top = 1e30 if dtype == np.float32 else 1e300
    magnitude = draw(st.sampled_from([1.0, 1e-300 if dtype == np.float64 else 1e-30, top]))
    # few distinct levels give ties; a constant column and an offset one are common
    levels = draw(st.integers(1, 6))
    base = draw(st.lists(st.integers(-3, 3), min_size=levels, max_size=levels))
    idx = np.array(draw(st.lists(st.integers(0, levels - 1), min_size=n * p,
                                 max_size=n * p))).reshape(n, p)
    X = (np.array(base, dtype=np.float64)[idx] * magnitude).astype(dtype)
    if draw(st.booleans()):                                     # signed zeros
        X = np.where((X == 0) & (np.arange(X.size).reshape(X.shape) % 2 == 0),
                     np.array(-0.0, dtype=dtype), X)
    if draw(st.booleans()):
        X[:, 0] = X[0, 0]                                       # a constant feature
    if dtype == np.float64 and draw(st.booleans()):
        X = 1.7e9 + X / max(magnitude, 1.0)                     # offset (timestamps)
    classification = draw(st.booleans())
    if classification:
        y = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    else:
        ymag = draw(st.sampled_from([1.0, 1e-200, 1e200, 1e300]))
        y = np.array(draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))) * ymag
    wkind = draw(st.sampled_from(["none", "int", "tiny", "huge"]))
    w = {"none": np.ones(n),
         "int": np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), float),
         "tiny": np.full(n, 1e-320), "huge": np.full(n, 1e300)}[wkind]
    if w.sum() == 0:
        w[0] = 1.0
    layout = draw(st.sampled_from(["C", "F", "strided", "readonly"]))
    return X, y, w, classification, layout


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_split_problems())
def test_stump_finds_the_best_split_and_full_trees_are_consistent(problem):
    X, y, w, classification, layout = problem
    Xl = as_layout(X, layout)
    cls = DecisionTreeClassifier if classification else DecisionTreeRegressor
    stump = cls(max_depth=1).fit(Xl, y, sample_weight=w)
    # the reference works in units where |y| <= 1 and w <= 1 (exact: powers of two)
    ys = y if classification else y / np.max(np.abs(y)) if np.any(y) else y
    w = w / np.max(w)
    t = stump.tree_
    Xd = X.astype(np.float64)
    best = _best_decrease(Xd, ys, w, classification)
    if t.node_count == 1:
        assert best <= 1e-12 * max(1.0, _impurity(ys, w, classification))
    else:
        f, thr = t.feature[0], t.threshold[0]
        col = Xd[w > 0, f]
        # the threshold separates two consecutive values of the training data
        assert col[col <= thr].size and col[col > thr].size
        got = _decrease(Xd[:, f], thr, ys, w, classification)
        np.testing.assert_allclose(got, best, rtol=1e-9, atol=1e-14)
    full = cls().fit(Xl, y, sample_weight=w)
    for est in (stump, full):
        assert np.all(np.isfinite(est.feature_importances_))
        assert np.all(np.isfinite(est.tree_.value))
        pred = est.predict(Xl)
        assert np.all(np.isfinite(pred)) if not classification else True
    # fully grown: every leaf holds rows that are identical, or targets that are equal
    leaves = full.apply(Xl)
    for leaf in np.unique(leaves[w > 0]):
        rows = (leaves == leaf) & (w > 0)
        assert (np.all(Xd[rows] == Xd[rows][0]) or np.all(y[rows] == y[rows][0]))
        if not classification:
            mean = np.sum(w[rows] * ys[rows]) / w[rows].sum()
            scale = np.max(np.abs(y)) if np.any(y) else 1.0
            np.testing.assert_allclose(full.tree_.value[leaf, 0, 0] / scale, mean,
                                       rtol=1e-9, atol=1e-12)


# --- the shared sorts (skml/_kernels/_sort.pxd) ----------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), max_size=700), st.integers(0, 3))
def test_radix_sort_by_high_half_matches_a_stable_numpy_sort(values, bits):
    from skml._kernels._tree import sort_keys_by_high_half

    # few distinct values (ties) or many; low halves are the input positions
    high = np.array(values, dtype=np.uint64) >> np.uint64(8 * bits)
    keys = (high << np.uint64(32)) | np.arange(len(values), dtype=np.uint64)
    expected = keys[np.argsort(high, kind="stable")]
    sort_keys_by_high_half(keys)
    np.testing.assert_array_equal(keys, expected)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(allow_nan=False, width=64), max_size=300))
def test_value_sort_carries_its_payload(values):
    from skml._kernels._tree import sort_values_with_payload

    v = np.array(values, dtype=np.float64)
    payload = np.arange(len(v), dtype=np.uint64)
    sorted_v = v.copy()
    sort_values_with_payload(sorted_v, payload)
    np.testing.assert_array_equal(sorted_v, np.sort(v))
    np.testing.assert_array_equal(v[payload.astype(np.intp)], sorted_v)


def test_signed_zeros_are_one_value():
    """-0.0 == 0.0: no threshold between them (a split there would send both left)."""
    X = np.array([[-0.0], [0.0], [-0.0], [0.0], [1.0]])
    y = np.array([0, 1, 0, 1, 1])
    for dtype in (np.float32, np.float64):
        clf = DecisionTreeClassifier().fit(X.astype(dtype), y)
        t = clf.tree_
        assert t.node_count == 3 and t.threshold[0] == 0.5
        assert np.all(t.n_node_samples > 0)


def test_packing_rejects_malformed_trees_instead_of_reading_out_of_bounds():
    from skml._kernels._tree import pack_forest

    left = np.array([1, -1, -1], dtype=np.intp)
    feature = np.array([0, -2, -2], dtype=np.intp)
    thr = np.array([0.5, -2.0, -2.0])
    miss = np.zeros(3, dtype=np.uint8)
    value = np.ones((3, 1))
    good = (left, np.array([2, -1, -1], dtype=np.intp), feature, thr, miss, value)
    roots, nodes, values = pack_forest([good], 1)
    assert nodes["right"].tolist() == [2, 1, 2]
    for right in ([5, -1, -1], [0, -1, -1], [-7, -1, -1]):   # out of range, cycle, marker
        bad = (left, np.array(right, dtype=np.intp), feature, thr, miss, value)
        with pytest.raises(ValueError, match="tree 0"):
            pack_forest([good, bad][1:], 1)
