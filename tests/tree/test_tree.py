"""skml.tree: agreement with scikit-learn node by node, C4.5 behaviour (gain ratio, missing
values), pruning, the tree API, export_text and bad input."""
import pickle

import numpy as np
import pytest
from sklearn import tree as sk_tree
from sklearn.base import clone
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_iris, load_wine,
                              make_classification)
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils.class_weight import compute_sample_weight

from skml._kernels._tree import sort_keys
from skml.tree import DecisionTreeClassifier, DecisionTreeRegressor, export_text

from ._compare import assert_same_tree, compare_trees

LOADERS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer}
SK_SEEDS = range(5)


def _classification_data():
    X, y = make_classification(n_samples=400, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    return X.astype(np.float32), y


def _f32(X):
    """scikit-learn's trees work on float32 data; skml keeps float64 data in float64 (its
    thresholds are midpoints of float64 values), so exact node-by-node comparisons feed
    both the same float32 data."""
    return np.asarray(X, dtype=np.float32)


# --- agreement with scikit-learn -------------------------------------------------------------

@pytest.mark.parametrize("dataset", sorted(LOADERS))
@pytest.mark.parametrize("criterion", ["gini", "entropy"])
@pytest.mark.parametrize("params", [{}, {"max_depth": 3}, {"min_samples_leaf": 5}],
                         ids=["full", "depth3", "leaf5"])
def test_structure_matches_sklearn_wherever_there_is_no_tie(dataset, criterion, params):
    X, y = LOADERS[dataset](return_X_y=True)
    X = _f32(X)
    ours = DecisionTreeClassifier(criterion=criterion, **params).fit(X, y)
    _compare_with_sklearn_seeds(ours, X, y, criterion, params)


def _compare_with_sklearn_seeds(ours, X, y, criterion, params):
    n_identical = 0
    for seed in SK_SEEDS:
        theirs = sk_tree.DecisionTreeClassifier(criterion=criterion, random_state=seed,
                                                **params).fit(X, y)
        # every node agrees until two splits tie (sklearn breaks ties at random)
        compared, ties = compare_trees(ours, theirs)
        assert ours.tree_.node_count == theirs.tree_.node_count
        if ties == 0:
            n_identical += 1
            assert_same_tree(ours, theirs)
            np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X),
                                       rtol=1e-12)
        if not params:  # grown until pure: ties or not, the training labels come back
            np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
            np.testing.assert_array_equal(ours.predict(X), y)
    return n_identical


def test_iris_depth3_tree_is_sklearns_exactly_once_ties_agree():
    """iris's root is a tie (petal length and width both isolate setosa); sklearn's seed 4
    happens to pick the lower index as skml does, and then the whole tree is identical."""
    X, y = load_iris(return_X_y=True)
    X = _f32(X)
    ours = DecisionTreeClassifier(max_depth=3).fit(X, y)
    assert_same_tree(ours, sk_tree.DecisionTreeClassifier(max_depth=3, random_state=4).fit(X, y))


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_tie_free_tree_is_identical_and_predicts_identically_on_new_data(criterion):
    X, y = _classification_data()
    X_train, X_test, y_train = X[:300], X[300:], y[:300]
    # settings under which this data has no tie anywhere (checked against 5 sklearn seeds)
    params = (dict(criterion="gini", max_depth=3) if criterion == "gini"
              else dict(criterion="entropy", max_depth=4, min_samples_leaf=10))
    ours = DecisionTreeClassifier(**params).fit(X_train, y_train)
    for seed in SK_SEEDS:
        theirs = sk_tree.DecisionTreeClassifier(random_state=seed, **params).fit(X_train,
                                                                               y_train)
        assert_same_tree(ours, theirs)
        np.testing.assert_array_equal(ours.predict(X_test), theirs.predict(X_test))
        np.testing.assert_array_equal(ours.apply(X_test), theirs.apply(X_test))
        np.testing.assert_allclose(ours.predict_proba(X_test), theirs.predict_proba(X_test),
                                   rtol=1e-12)
        np.testing.assert_allclose(ours.feature_importances_, theirs.feature_importances_,
                                   rtol=1e-9, atol=1e-12)
        assert (ours.decision_path(X_test) != theirs.decision_path(X_test)).nnz == 0
        assert ours.get_n_leaves() == theirs.get_n_leaves()


@pytest.mark.parametrize("criterion,leaf", [("squared_error", 8), ("squared_error", 10),
                                            ("absolute_error", 5), ("absolute_error", 10)])
def test_regression_tree_is_sklearns_on_diabetes(criterion, leaf):
    X, y = load_diabetes(return_X_y=True)
    X = _f32(X)
    ours = DecisionTreeRegressor(criterion=criterion, min_samples_leaf=leaf).fit(X[:350],
                                                                                 y[:350])
    for seed in (0, 1):
        theirs = sk_tree.DecisionTreeRegressor(criterion=criterion, min_samples_leaf=leaf,
                                               random_state=seed).fit(X[:350], y[:350])
        assert_same_tree(ours, theirs)
        np.testing.assert_allclose(ours.predict(X[350:]), theirs.predict(X[350:]),
                                   rtol=1e-12)


def test_absolute_error_leaves_hold_weighted_medians():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 3)
    y = rng.standard_exponential(60)
    w = rng.randint(1, 4, 60).astype(float)
    reg = DecisionTreeRegressor(criterion="absolute_error", max_depth=2).fit(X, y,
                                                                           sample_weight=w)
    leaves = reg.apply(X)
    for leaf in np.unique(leaves):
        yy, ww = y[leaves == leaf], w[leaves == leaf]
        # the leaf value minimises the weighted absolute deviation
        value = reg.tree_.value[leaf, 0, 0]
        cost = np.sum(ww * np.abs(yy - value))
        assert cost <= np.min([np.sum(ww * np.abs(yy - c)) for c in yy]) + 1e-9
        np.testing.assert_allclose(reg.tree_.impurity[leaf], cost / ww.sum(), rtol=1e-9)


# --- C4.5: gain ratio ----------------------------------------------------------------------

def _entropy(y):
    p = np.bincount(y) / len(y)
    p = p[p > 0]
    return -np.sum(p * np.log2(p))


def _best_gain_and_ratio(x, y):
    """Best information gain over thresholds of x, and the gain ratio of that threshold."""
    best = (-1.0, 0.0)
    values = np.unique(x)
    for thr in (values[:-1] + values[1:]) / 2:
        left = x <= thr
        f = left.mean()
        gain = _entropy(y) - f * _entropy(y[left]) - (1 - f) * _entropy(y[~left])
        split_info = -(f * np.log2(f) + (1 - f) * np.log2(1 - f))
        if gain > best[0]:
            best = (gain, gain / split_info)
    return best


def test_gain_ratio_prefers_the_few_valued_feature_that_information_gain_passes_over():
    """Information gain favours a many-valued feature whose balanced split has the
    largest gain; gain ratio divides by the split information (1 bit for a balanced split,
    0.61 bits for a 15/85 one) and picks the binary feature instead (C4.5)."""
    rng = np.random.RandomState(0)
    y = np.array([0] * 45 + [1] * 5 + [0] * 15 + [1] * 35)       # 60 / 40
    many = np.arange(100.0)                                          # 100 distinct values
    rng.shuffle(many[:50])                                           # classes mixed inside
    rng.shuffle(many[50:])                                           # each half
    binary = np.zeros(100)
    binary[np.flatnonzero(y == 1)[-15:]] = 1.0                       # 15 samples, all class 1
    noise = rng.rand(100)
    X = np.column_stack([many, binary, noise])

    stats = [_best_gain_and_ratio(X[:, j], y) for j in range(3)]
    gains = np.array([s[0] for s in stats])
    ratios = np.array([s[1] for s in stats])
    assert np.argmax(gains) == 0                       # theory: IG picks the many-valued one
    qualified = gains >= gains.mean()                  # C4.5: gain at least average
    assert np.argmax(np.where(qualified, ratios, -1)) == 1
    assert ratios[1] > ratios[0] and gains[1] < gains[0]

    entropy_tree = DecisionTreeClassifier(criterion="entropy", max_depth=1).fit(X, y)
    ratio_tree = DecisionTreeClassifier(criterion="gain_ratio", max_depth=1).fit(X, y)
    assert entropy_tree.tree_.feature[0] == 0
    assert ratio_tree.tree_.feature[0] == 1
    assert ratio_tree.tree_.threshold[0] == 0.5
    # impurities are entropies in bits for both
    np.testing.assert_allclose(ratio_tree.tree_.impurity[0], _entropy(y))
    np.testing.assert_allclose(entropy_tree.tree_.impurity[0], _entropy(y))
    np.testing.assert_allclose(ratio_tree.tree_.impurity[2], 0.0, atol=1e-12)  # 15 pure


def test_gain_ratio_grows_full_trees_that_fit_the_training_data():
    X, y = load_wine(return_X_y=True)
    clf = DecisionTreeClassifier(criterion="gain_ratio").fit(X, y)
    assert clf.score(X, y) == 1.0
    cv = cross_val_score(DecisionTreeClassifier(criterion="gain_ratio"), X, y, cv=5)
    assert cv.mean() > 0.8


# --- C4.5: missing values ------------------------------------------------------------------

@pytest.mark.parametrize("missing_class,goes_left", [(1, False), (0, True)])
def test_missing_values_go_to_the_child_they_fit_best(missing_class, goes_left):
    x = np.array([0, 1, 2, 3, 4, 5, np.nan, np.nan, np.nan])
    y = np.array([0, 0, 0, 1, 1, 1] + [missing_class] * 3)
    clf = DecisionTreeClassifier(max_depth=1).fit(x[:, None], y)
    assert clf.tree_.threshold[0] == 2.5
    assert bool(clf.tree_.missing_go_to_left[0]) == goes_left
    assert clf.predict([[np.nan]])[0] == missing_class
    # the missing samples are counted in the child they went to
    child = clf.tree_.children_left[0] if goes_left else clf.tree_.children_right[0]
    assert clf.tree_.n_node_samples[child] == 6


@pytest.mark.parametrize("n_left,expected", [(3, 1), (5, 0)])
def test_unseen_missing_values_follow_the_larger_child(n_left, expected):
    x = np.arange(8.0)
    y = (x >= n_left).astype(int)
    clf = DecisionTreeClassifier(max_depth=1).fit(x[:, None], y)
    assert clf.predict([[np.nan]])[0] == expected


@pytest.mark.parametrize("missing_fraction,expected_root", [(0.4, 1), (0.1, 0)])
def test_gain_of_a_partly_missing_feature_is_scaled_by_its_known_fraction(
        missing_fraction, expected_root):
    """Feature 0 separates its known samples perfectly (gain 1 bit on them) but is missing
    for a fraction m of the samples; feature 1 is always known with gain 0.758 bits. C4.5
    compares (1 - m) * 1 with 0.758."""
    n = 100
    y = np.repeat([0, 1], 50)
    x1 = np.where(y == 0, 0.0, 1.0)
    x1[[0, 1, 50, 51]] = 1 - x1[[0, 1, 50, 51]]          # 2 errors per side: 0.758 bits
    x0 = y.astype(float)
    n_missing = int(missing_fraction * n)
    miss = np.concatenate([np.arange(n_missing // 2), 50 + np.arange(n_missing // 2)])
    x0[miss] = np.nan
    clf = DecisionTreeClassifier(criterion="entropy", max_depth=1).fit(
        np.column_stack([x0, x1]), y)
    assert clf.tree_.feature[0] == expected_root


def test_all_nan_column_is_never_used_and_trees_still_fit():
    X, y = load_iris(return_X_y=True)
    X = np.column_stack([np.full(len(X), np.nan), X])
    clf = DecisionTreeClassifier().fit(X, y)
    assert 0 not in clf.tree_.feature
    assert clf.score(X, y) == 1.0
    assert clf.feature_importances_[0] == 0.0
    only_nan = DecisionTreeClassifier().fit(X[:, :1], y)
    assert only_nan.get_n_leaves() == 1


@pytest.mark.parametrize("criterion", ["gini", "entropy", "gain_ratio"])
def test_trees_on_data_with_20_percent_nan_beat_the_majority_class_widely(criterion):
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.RandomState(0)
    X = X.copy()
    X[rng.rand(*X.shape) < 0.2] = np.nan
    majority = np.bincount(y).max() / len(y)                # 0.627
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    score = cross_val_score(DecisionTreeClassifier(criterion=criterion), X, y, cv=cv).mean()
    assert score > majority + 0.2
    reg = DecisionTreeRegressor(min_samples_leaf=5).fit(X, y.astype(float))
    assert reg.score(X, y) > 0.8


# --- pruning ---------------------------------------------------------------------------------

def test_cost_complexity_pruning_path_and_pruned_trees_match_sklearn():
    X, y = load_diabetes(return_X_y=True)
    X = _f32(X)
    ours = DecisionTreeRegressor(min_samples_leaf=10)
    theirs = sk_tree.DecisionTreeRegressor(min_samples_leaf=10, random_state=0)
    path = ours.cost_complexity_pruning_path(X, y)
    ref = theirs.cost_complexity_pruning_path(X, y)
    np.testing.assert_allclose(path.ccp_alphas, ref.ccp_alphas, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(path.impurities, ref.impurities, rtol=1e-9)
    assert path.ccp_alphas[0] == 0.0 and np.all(np.diff(path.ccp_alphas) >= 0)
    # skml computes node variances in two passes (centred), sklearn as E[y^2] - mean^2:
    # the alphas agree to ~1e-15 relative, so compare away from the exact breakpoints
    # (the last one, where only the root is left, is exact on both sides)
    mids = (path.ccp_alphas[:-1] + path.ccp_alphas[1:]) / 2
    for alpha in [*mids[[5, 20, -2]], path.ccp_alphas[-1]]:
        pruned = DecisionTreeRegressor(min_samples_leaf=10, ccp_alpha=alpha).fit(X, y)
        ref_pruned = sk_tree.DecisionTreeRegressor(min_samples_leaf=10, ccp_alpha=alpha,
                                                   random_state=0).fit(X, y)
        assert_same_tree(pruned, ref_pruned)
        np.testing.assert_allclose(pruned.predict(X), ref_pruned.predict(X))
    assert DecisionTreeRegressor(ccp_alpha=path.ccp_alphas[-1]).fit(X, y).get_n_leaves() == 1


def test_pruning_a_classifier_reduces_leaves_and_keeps_pre_order():
    X, y = load_breast_cancer(return_X_y=True)
    full = DecisionTreeClassifier().fit(X, y)
    path = full.cost_complexity_pruning_path(X, y)
    pruned = DecisionTreeClassifier(ccp_alpha=path.ccp_alphas[len(path.ccp_alphas) // 2])
    pruned.fit(X, y)
    assert 1 < pruned.get_n_leaves() < full.get_n_leaves()
    t = pruned.tree_
    inner = np.flatnonzero(t.children_left != -1)
    np.testing.assert_array_equal(t.children_left[inner], inner + 1)
    leaf_impurity = np.sum(t.weighted_n_node_samples[t.children_left == -1]
                           * t.impurity[t.children_left == -1]) / t.weighted_n_node_samples[0]
    assert leaf_impurity == pytest.approx(path.impurities[len(path.ccp_alphas) // 2])


# --- API ----------------------------------------------------------------------------------

def test_export_text_is_sklearns_layout():
    iris = load_iris()
    iris.data = _f32(iris.data)
    ours = DecisionTreeClassifier(max_depth=3).fit(iris.data, iris.target)
    theirs = sk_tree.DecisionTreeClassifier(max_depth=3, random_state=4).fit(iris.data,
                                                                             iris.target)
    names = list(iris.feature_names)
    assert export_text(ours, feature_names=names) == sk_tree.export_text(
        theirs, feature_names=names)
    assert export_text(ours, max_depth=1) == sk_tree.export_text(theirs, max_depth=1)
    assert export_text(ours, show_weights=True) == sk_tree.export_text(theirs,
                                                                       show_weights=True)
    reg = DecisionTreeRegressor(max_depth=2).fit(iris.data, iris.target)
    assert "value: [" in export_text(reg)
    assert "or missing" in export_text(ours, show_missing=True)
    with pytest.raises(ValueError, match="feature_names must contain 4"):
        export_text(ours, feature_names=["a"])


def test_decision_path_apply_and_depth_are_consistent():
    X, y = load_wine(return_X_y=True)
    clf = DecisionTreeClassifier(random_state=0).fit(X, y)
    path = clf.decision_path(X)
    leaves = clf.apply(X)
    assert path.shape == (len(X), clf.tree_.node_count)
    for i in range(len(X)):
        nodes = path.indices[path.indptr[i]:path.indptr[i + 1]]
        assert nodes[0] == 0 and nodes[-1] == leaves[i]
        assert len(nodes) - 1 <= clf.get_depth()
    assert clf.get_n_leaves() == len(np.unique(leaves))  # every leaf holds a sample
    imp = clf.feature_importances_
    assert imp.sum() == pytest.approx(1.0) and np.all(imp >= 0)


def test_class_weight_is_sample_weight_times_class_weights():
    X, y = load_breast_cancer(return_X_y=True)
    a = DecisionTreeClassifier(class_weight="balanced", max_depth=4).fit(X, y)
    b = DecisionTreeClassifier(max_depth=4).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y))
    assert_same_tree(a, b)


def test_integer_weights_equal_repeated_rows_for_every_criterion():
    """Weighted class counts are exact, so a classification tree with integer weights is
    the tree of the repeated rows, fully grown. Regression sums round differently in the
    two orders, which may flip exact ties deep down: compare shallower trees there."""
    X, y = load_wine(return_X_y=True)
    w = np.random.RandomState(0).randint(0, 3, len(y))
    Xd, yd = load_diabetes(return_X_y=True)
    wd = np.random.RandomState(1).randint(0, 3, len(yd))
    cases = [(DecisionTreeClassifier(criterion=c), X, y, w)
             for c in ("gini", "entropy", "gain_ratio")]
    cases += [(DecisionTreeRegressor(criterion=c, max_depth=3), Xd, yd, wd)
              for c in ("squared_error", "absolute_error")]
    for est, X_, y_, w_ in cases:
        weighted = clone(est).fit(X_, y_, sample_weight=w_)
        repeated = clone(est).fit(np.repeat(X_, w_, axis=0), np.repeat(y_, w_))
        np.testing.assert_array_equal(weighted.tree_.feature, repeated.tree_.feature)
        np.testing.assert_array_equal(weighted.tree_.threshold, repeated.tree_.threshold)
        np.testing.assert_allclose(weighted.predict(X_), repeated.predict(X_), rtol=1e-12)


def test_hyper_parameters_limit_the_tree():
    X, y = load_breast_cancer(return_X_y=True)
    assert DecisionTreeClassifier(max_depth=2).fit(X, y).get_depth() == 2
    t = DecisionTreeClassifier(min_samples_leaf=20).fit(X, y).tree_
    assert t.n_node_samples[t.children_left == -1].min() >= 20
    t = DecisionTreeClassifier(min_samples_split=50).fit(X, y).tree_
    assert t.n_node_samples[t.children_left != -1].min() >= 50
    full = DecisionTreeClassifier().fit(X, y)
    assert DecisionTreeClassifier(min_impurity_decrease=0.01).fit(X, y).get_n_leaves() < \
        full.get_n_leaves()
    t = DecisionTreeClassifier(min_weight_fraction_leaf=0.1).fit(X, y).tree_
    assert t.weighted_n_node_samples[t.children_left == -1].min() >= 0.1 * len(y) - 1e-9


def test_max_features_draws_are_seeded_and_change_the_tree():
    X, y = load_breast_cancer(return_X_y=True)
    a = DecisionTreeClassifier(max_features=3, random_state=0).fit(X, y)
    b = DecisionTreeClassifier(max_features=3, random_state=0).fit(X, y)
    c = DecisionTreeClassifier(max_features=3, random_state=1).fit(X, y)
    assert_same_tree(a, b)
    assert not np.array_equal(a.tree_.feature, c.tree_.feature)
    assert a.max_features_ == 3
    assert DecisionTreeClassifier(max_features="sqrt").fit(X, y).max_features_ == 5
    assert DecisionTreeClassifier(max_features="log2").fit(X, y).max_features_ == 4
    assert DecisionTreeClassifier(max_features=0.5).fit(X, y).max_features_ == 15


def test_pickle_keeps_the_tree():
    X, y = load_iris(return_X_y=True)
    clf = DecisionTreeClassifier().fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.tree_.threshold, clf.tree_.threshold)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


# --- bad input ---------------------------------------------------------------------------

def test_bad_input_gives_clear_errors():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="non-negative"):
        DecisionTreeClassifier().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match=r"max_depth must be in \[1, inf\], got 0"):
        DecisionTreeClassifier(max_depth=0).fit(X, y)
    with pytest.raises(ValueError, match="criterion must be one of"):
        DecisionTreeClassifier(criterion="squared_error").fit(X, y)
    with pytest.raises(ValueError, match="criterion must be one of"):
        DecisionTreeRegressor(criterion="gini").fit(X, y)
    with pytest.raises(ValueError, match="zero for every sample"):
        DecisionTreeClassifier().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        DecisionTreeClassifier().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="max_features must be in"):
        DecisionTreeClassifier(max_features=10).fit(X, y)
    with pytest.raises(ValueError, match="min_samples_leaf"):
        DecisionTreeClassifier(min_samples_leaf=0).fit(X, y)
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        DecisionTreeClassifier().fit(X_inf, y)
    clf = DecisionTreeClassifier().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


def test_a_single_sample_gives_a_one_leaf_tree():
    clf = DecisionTreeClassifier().fit([[1.0, 2.0]], ["a"])
    assert clf.get_n_leaves() == 1 and clf.get_depth() == 0
    assert clf.predict([[5.0, -1.0], [np.nan, 0.0]]).tolist() == ["a", "a"]
    reg = DecisionTreeRegressor(criterion="absolute_error").fit([[1.0]], [3.5])
    assert reg.predict([[0.0]]).tolist() == [3.5]
    np.testing.assert_array_equal(clf.feature_importances_, [0.0, 0.0])


# --- the kernel's sort ----------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 2, 16, 17, 100, 5000])
@pytest.mark.parametrize("order", ["random", "sorted", "reversed", "organ"])
def test_sort_keys_sorts_like_numpy(n, order):
    rng = np.random.RandomState(n)
    keys = rng.randint(0, 2**62, size=n, dtype=np.int64).astype(np.uint64)
    if order == "sorted":
        keys = np.sort(keys)
    elif order == "reversed":
        keys = np.sort(keys)[::-1].copy()
    elif order == "organ":
        s = np.sort(keys)
        keys = np.concatenate([s[::2], s[1::2][::-1]])
    expected = np.sort(keys)
    sort_keys(keys)
    np.testing.assert_array_equal(keys, expected)
