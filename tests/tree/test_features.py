"""skml.tree features shared with scikit-learn (issue 13): its missing-value rule,
best-first growth (max_leaf_nodes), random splits, friedman_mse and poisson, multi-output
targets, monotonic constraints, plot_tree. Each is compared with scikit-learn's tree node
by node (on float32 data, which both then use alike; ties are allowed to differ, as
scikit-learn breaks them at random), or with an exact computation."""
import numpy as np
import pytest
from sklearn import tree as sk_tree
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.model_selection import StratifiedKFold, cross_val_score

from skml.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
    plot_tree,
)

from ._compare import compare_trees

SEEDS = range(3)


def _agrees_with_sklearn(ours, make_theirs, X, y):
    """Every node compared agrees (values, impurities, weights), splits differ only at
    ties, for each of a few sklearn seeds; at least one seed gives the same tree."""
    ours.fit(X, y)
    identical = 0
    for seed in SEEDS:
        theirs = make_theirs(seed).fit(X, y)
        compared, ties = compare_trees(ours, theirs)
        assert ours.tree_.node_count == theirs.tree_.node_count
        identical += ties == 0 and compared == ours.tree_.node_count
    return identical


def _nan_data(loader, fraction=0.2, seed=0):
    X, y = loader(return_X_y=True)
    X = X.astype(np.float32)
    X[np.random.RandomState(seed).rand(*X.shape) < fraction] = np.nan
    return X, y


def _regression_data(n=300, seed=0, poisson=False, nan_fraction=0.0):
    """Continuous features and targets (few exact ties in the gains, unlike diabetes's
    binary feature and integer targets, where sklearn's random tie-breaking makes the
    trees differ)."""
    rng = np.random.RandomState(seed)
    X = rng.rand(n, 5).astype(np.float32)
    f = np.sin(4 * X[:, 0]) + 2 * X[:, 1] ** 2 - X[:, 2]
    y = rng.poisson(np.exp(f)).astype(float) if poisson else f + 0.3 * rng.randn(n)
    X[rng.rand(*X.shape) < nan_fraction] = np.nan
    return X, y


# --- missing values: scikit-learn's rule (every criterion but gain_ratio) -------------------

@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_missing_values_follow_sklearns_rule_for_classification(criterion):
    X, y = _nan_data(load_breast_cancer)
    _agrees_with_sklearn(
        DecisionTreeClassifier(criterion=criterion, max_depth=4),
        lambda s: sk_tree.DecisionTreeClassifier(criterion=criterion, max_depth=4,
                                                 random_state=s), X, y)


@pytest.mark.parametrize("criterion", ["squared_error", "absolute_error", "poisson"])
def test_missing_values_follow_sklearns_rule_for_regression(criterion):
    X, y = _regression_data(poisson=criterion == "poisson", nan_fraction=0.2)
    assert _agrees_with_sklearn(
        DecisionTreeRegressor(criterion=criterion, max_depth=4),
        lambda s: sk_tree.DecisionTreeRegressor(criterion=criterion, max_depth=4,
                                                random_state=s), X, y) >= 1


def test_a_tree_can_split_on_missingness_itself():
    """The label is whether x0 is missing (x0's known values carry no signal): a split
    "known left, missing right" (threshold inf) separates them. C4.5's rule cannot (it
    never sends known values of a feature to both sides by missingness)."""
    rng = np.random.RandomState(0)
    X = rng.rand(300, 2)
    y = rng.rand(300) < 0.5
    X[y, 0] = np.nan
    clf = DecisionTreeClassifier(max_depth=1).fit(X, y)
    assert clf.tree_.threshold[0] == np.inf and not clf.tree_.missing_go_to_left[0]
    assert clf.score(X, y) == 1.0
    c45 = DecisionTreeClassifier(criterion="gain_ratio", max_depth=1).fit(X, y)
    assert c45.score(X, y) < 0.75
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    assert cross_val_score(DecisionTreeClassifier(), X, y, cv=cv).mean() >= 0.85


# --- best-first growth ------------------------------------------------------------------------

@pytest.mark.parametrize("max_leaf_nodes", [2, 7, 20])
def test_max_leaf_nodes_grows_sklearns_best_first_tree(max_leaf_nodes):
    X, y = _regression_data()
    ours = DecisionTreeRegressor(max_leaf_nodes=max_leaf_nodes)
    assert _agrees_with_sklearn(
        ours, lambda s: sk_tree.DecisionTreeRegressor(max_leaf_nodes=max_leaf_nodes,
                                                      random_state=s), X, y) >= 1
    assert ours.get_n_leaves() == max_leaf_nodes
    Xc, yc = load_breast_cancer(return_X_y=True)
    clf = DecisionTreeClassifier(max_leaf_nodes=max_leaf_nodes, max_depth=3)
    _agrees_with_sklearn(
        clf, lambda s: sk_tree.DecisionTreeClassifier(max_leaf_nodes=max_leaf_nodes,
                                                      max_depth=3, random_state=s),
        Xc.astype(np.float32), yc)
    assert clf.get_n_leaves() <= max_leaf_nodes and clf.get_depth() <= 3


# --- random splits ------------------------------------------------------------------------------

def test_random_splits_are_seeded_within_the_data_range_and_fit_the_training_set():
    X, y = load_iris(return_X_y=True)
    a = ExtraTreeClassifier(random_state=0).fit(X, y)
    b = ExtraTreeClassifier(random_state=0).fit(X, y)
    c = ExtraTreeClassifier(random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.tree_.threshold, b.tree_.threshold)
    assert not np.array_equal(a.tree_.threshold, c.tree_.threshold)
    assert a.score(X, y) == 1.0                     # grown until pure
    # every threshold lies within the range of its node's values of its feature
    path = a.decision_path(X).tocsc()
    for node in np.flatnonzero(a.tree_.children_left != -1):
        rows = path[:, node].nonzero()[0]
        values = X[rows, a.tree_.feature[node]]
        assert values.min() <= a.tree_.threshold[node] < values.max()
    best = DecisionTreeClassifier(random_state=0).fit(X, y)
    assert a.tree_.node_count > best.tree_.node_count       # random splits are worse
    reg = ExtraTreeRegressor(random_state=0).fit(X, X[:, 0] * 2)
    assert reg.max_features_ == 4 and reg.splitter == "random"


def test_random_splitter_keeps_thresholds_finite_when_values_are_missing():
    """(scikit-learn's regression test for its random splitter.)"""
    for X, y in [(np.array([[np.nan], [0.0], [1.0], [2.0]]), np.array([0.0, 1, 2, 3])),
                 (np.array([[np.nan], [1.0], [np.nan]]), np.array([0.0, 1, 0]))]:
        tree = ExtraTreeRegressor(max_depth=1, random_state=0).fit(X, y)
        assert tree.tree_.children_left[0] != -1
        known = X[~np.isnan(X)]
        assert known.min() <= tree.tree_.threshold[0] <= known.max()


# --- friedman_mse and poisson ---------------------------------------------------------------

def test_friedman_mse_splits_as_squared_error_with_friedmans_improvement():
    X, y = load_diabetes(return_X_y=True)
    mse = DecisionTreeRegressor(max_depth=4).fit(X, y)
    fried = DecisionTreeRegressor(criterion="friedman_mse", max_depth=4).fit(X, y)
    np.testing.assert_array_equal(fried.tree_.feature, mse.tree_.feature)
    np.testing.assert_array_equal(fried.tree_.threshold, mse.tree_.threshold)
    np.testing.assert_allclose(fried.tree_.impurity, mse.tree_.impurity, rtol=1e-12)
    # the root's improvement: wL wR (meanL - meanR)^2 / W (W: the training weight)
    left = X[:, mse.tree_.feature[0]] <= mse.tree_.threshold[0]
    nl, nr = left.sum(), (~left).sum()
    improvement = nl * nr * (y[left].mean() - y[~left].mean()) ** 2 / len(y)
    for mid, splits in ((improvement * (1 - 1e-9), True), (improvement * (1 + 1e-9), False)):
        stump = DecisionTreeRegressor(criterion="friedman_mse", max_depth=1,
                                      min_impurity_decrease=mid).fit(X, y)
        assert (stump.tree_.node_count == 3) == splits


def test_poisson_matches_sklearn_and_rejects_negative_targets():
    X, y = _regression_data(poisson=True)
    assert _agrees_with_sklearn(
        DecisionTreeRegressor(criterion="poisson", max_depth=4),
        lambda s: sk_tree.DecisionTreeRegressor(criterion="poisson", max_depth=4,
                                                random_state=s), X, y) >= 1
    with pytest.raises(ValueError, match="negative"):
        DecisionTreeRegressor(criterion="poisson").fit(X, y - 100)
    with pytest.raises(ValueError, match="not strictly positive"):
        DecisionTreeRegressor(criterion="poisson").fit(X, np.zeros_like(y))


def test_poisson_never_leaves_a_child_of_zero_mean():
    rng = np.random.RandomState(0)
    X = rng.rand(200, 3)
    y = np.where(X[:, 0] < 0.3, 0.0, rng.poisson(3, 200))
    reg = DecisionTreeRegressor(criterion="poisson").fit(X, y)
    leaves = reg.tree_.children_left == -1
    assert np.all(reg.tree_.value[leaves, 0, 0] > 0)


# --- multi-output ------------------------------------------------------------------------------

def test_multi_output_classification_matches_sklearn():
    X, y = load_breast_cancer(return_X_y=True)
    X = X.astype(np.float32)
    Y = np.column_stack([y, (X[:, 0] > 14).astype(int) + (X[:, 1] > 20)])
    ours = DecisionTreeClassifier(max_depth=4)
    _agrees_with_sklearn(ours, lambda s: sk_tree.DecisionTreeClassifier(
        max_depth=4, random_state=s), X, Y)
    assert ours.n_outputs_ == 2 and ours.n_classes_ == [2, 3]
    proba = ours.predict_proba(X)
    assert [p.shape for p in proba] == [(569, 2), (569, 3)]
    pred = ours.predict(X)
    assert pred.shape == (569, 2)
    for k in range(2):
        np.testing.assert_array_equal(pred[:, k], ours.classes_[k][proba[k].argmax(axis=1)])
    full = DecisionTreeClassifier().fit(X, Y)
    assert np.all(full.predict(X) == Y)


@pytest.mark.parametrize("criterion", ["squared_error", "absolute_error"])
def test_multi_output_regression_matches_sklearn(criterion):
    X, y = load_diabetes(return_X_y=True)
    X = X.astype(np.float32)
    Y = np.column_stack([y, np.round(X[:, 2] * 1000)])
    ours = DecisionTreeRegressor(criterion=criterion, max_depth=3)
    assert _agrees_with_sklearn(ours, lambda s: sk_tree.DecisionTreeRegressor(
        criterion=criterion, max_depth=3, random_state=s), X, Y) >= 1
    assert ours.predict(X).shape == (442, 2)


# --- monotonic constraints --------------------------------------------------------------------

@pytest.mark.parametrize("criterion", ["squared_error", "absolute_error"])
@pytest.mark.parametrize("max_leaf_nodes", [None, 15])
def test_monotonic_regression_trees_are_sklearns_and_monotone(criterion, max_leaf_nodes):
    X, y = _regression_data()
    cst = np.array([0, 1, -1, 0, 1])
    ours = DecisionTreeRegressor(criterion=criterion, max_depth=5, monotonic_cst=cst,
                                 max_leaf_nodes=max_leaf_nodes)
    assert _agrees_with_sklearn(ours, lambda s: sk_tree.DecisionTreeRegressor(
        criterion=criterion, max_depth=5, monotonic_cst=cst, max_leaf_nodes=max_leaf_nodes,
        random_state=s), X, y) >= 1
    _assert_monotone(ours.predict, X, {1: 1, 4: 1, 2: -1})


def test_monotonic_binary_classifier_is_sklearns_and_monotone():
    X, y = load_breast_cancer(return_X_y=True)
    X = X.astype(np.float32)
    cst = np.zeros(30, dtype=int)
    cst[[0, 7]], cst[3] = -1, 1
    ours = DecisionTreeClassifier(max_depth=5, monotonic_cst=cst)
    _agrees_with_sklearn(ours, lambda s: sk_tree.DecisionTreeClassifier(
        max_depth=5, monotonic_cst=cst, random_state=s), X, y)
    _assert_monotone(lambda Z: ours.predict_proba(Z)[:, 1], X, {0: -1, 7: -1, 3: 1})
    with pytest.raises(ValueError, match="multiclass"):
        DecisionTreeClassifier(monotonic_cst=[1, 0, 0, 0]).fit(*load_iris(return_X_y=True))
    with pytest.raises(ValueError, match="multiple outputs"):
        DecisionTreeRegressor(monotonic_cst=np.zeros(30)).fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match="-1, 0 or 1"):
        DecisionTreeClassifier(monotonic_cst=np.full(30, 2)).fit(X, y)


def _assert_monotone(predict, X, constraints):
    rng = np.random.RandomState(0)
    base = X[rng.choice(len(X), 40)]
    for f, sign in constraints.items():
        grid = np.linspace(X[:, f].min() - 1, X[:, f].max() + 1, 50)
        for row in base:
            Z = np.repeat(row[None], len(grid), axis=0)
            Z[:, f] = grid
            assert np.all(sign * np.diff(predict(Z)) >= -1e-12)


# --- plot_tree -----------------------------------------------------------------------------------

def test_plot_tree_draws_one_box_per_node_with_its_test_and_statistics():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    iris = load_iris()
    clf = DecisionTreeClassifier(max_depth=2).fit(iris.data, iris.target)
    fig, ax = plt.subplots()
    anns = plot_tree(clf, ax=ax, feature_names=iris.feature_names,
                     class_names=list(iris.target_names), filled=True)
    texts = [a.get_text() for a in anns]
    assert len(texts) == clf.tree_.node_count
    t = clf.tree_
    root = texts[0].split("\n")
    assert root == [f"petal length (cm) <= {round(t.threshold[0], 3)}",
                    f"gini = {round(t.impurity[0], 3)}", "samples = 150",
                    "value = [50, 50, 50]", "class = setosa"]
    # children drawn below their parent, the left one to the left
    xy = {i: a.xyann for i, a in zip(_preorder(t), anns)}
    for node in np.flatnonzero(t.children_left != -1):
        left, right = t.children_left[node], t.children_right[node]
        assert xy[left][1] < xy[node][1] and xy[left][0] < xy[right][0]
    reg = DecisionTreeRegressor(max_depth=3).fit(iris.data, iris.target)
    inner_at_1 = sum(reg.tree_.children_left[c] != -1 for c in (1, reg.tree_.children_right[0]))
    assert len(plot_tree(reg, ax=ax, max_depth=1)) == 3 + inner_at_1   # + "(...)"
    plt.close(fig)
    with pytest.raises(ValueError, match="fitted"):
        plot_tree(DecisionTreeClassifier())
    with pytest.raises(ValueError, match="feature_names must contain 4"):
        plot_tree(clf, feature_names=["a"])


def _preorder(t):
    out, stack = [], [0]
    while stack:
        node = stack.pop()
        out.append(node)
        if t.children_left[node] != -1:
            stack += [t.children_right[node], t.children_left[node]]
    return out
