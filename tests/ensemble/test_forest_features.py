"""skml.ensemble forest and bagging features shared with scikit-learn (issue 13):
warm_start, callable oob_score, estimators_samples_, decision_path, the members as a
sequence, multi-output targets, monotonic constraints, progress bars, extra trees."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.metrics import balanced_accuracy_score

from skml.ensemble import (
    BaggingClassifier,
    BaggingRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

FORESTS = [RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier,
           ExtraTreesRegressor]


def _data(cls):
    loader = load_wine if "Classifier" in cls.__name__ else load_diabetes
    return loader(return_X_y=True)


@pytest.mark.parametrize("cls", FORESTS + [BaggingClassifier, BaggingRegressor])
def test_warm_start_adds_trees_and_equals_a_single_fit(cls):
    X, y = _data(cls)
    warm = cls(n_estimators=4, random_state=0, warm_start=True).fit(X, y)
    first = list(warm.estimators_)
    warm.set_params(n_estimators=7).fit(X, y)
    assert len(warm) == 7 and warm.estimators_[:4] == first      # kept, not refitted
    cold = cls(n_estimators=7, random_state=0).fit(X, y)
    out = "predict_proba" if hasattr(cold, "predict_proba") else "predict"
    np.testing.assert_allclose(getattr(warm, out)(X), getattr(cold, out)(X), rtol=1e-12)
    with pytest.warns(UserWarning, match="without increasing n_estimators"):
        warm.fit(X, y)
    with pytest.raises(ValueError, match="must be larger or equal to len"):
        warm.set_params(n_estimators=3).fit(X, y)


def test_callable_oob_score_is_applied_to_the_out_of_bag_predictions():
    X, y = load_breast_cancer(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=40, oob_score=balanced_accuracy_score,
                                    random_state=0).fit(X, y)
    # reference: the mean over the trees that did not draw a sample
    sums = np.zeros((len(y), 2))
    for tree, drawn in zip(forest.estimators_, forest.estimators_samples_):
        oob = np.setdiff1d(np.arange(len(y)), drawn)
        sums[oob] += tree.predict_proba(X[oob])
    seen = sums.sum(axis=1) > 0
    np.testing.assert_allclose(forest.oob_decision_function_[seen],
                               sums[seen] / sums[seen].sum(axis=1, keepdims=True))
    assert forest.oob_score_ == pytest.approx(
        balanced_accuracy_score(y[seen], sums[seen].argmax(axis=1)))
    reg = RandomForestRegressor(n_estimators=30, oob_score=lambda a, b: -np.abs(a - b).mean(),
                                random_state=0).fit(*load_diabetes(return_X_y=True))
    assert -80 < reg.oob_score_ < -30


@pytest.mark.parametrize("cls", FORESTS)
@pytest.mark.parametrize("bootstrap", [True, False])
def test_estimators_samples_are_the_in_bag_samples_of_each_tree(cls, bootstrap):
    """Refitting a member on its in-bag rows gives the same tree (sklearn's test)."""
    X, y = _data(cls)
    forest = cls(n_estimators=4, bootstrap=bootstrap, max_features=0.5,
                 max_samples=0.5 if bootstrap else None, random_state=0).fit(X, y)
    samples = forest.estimators_samples_
    assert len(samples) == 4 and samples[0].dtype == np.int32
    for tree, drawn in zip(forest.estimators_, samples):
        if bootstrap:
            assert len(drawn) == len(X) // 2 and len(np.unique(drawn)) < len(drawn)
        else:
            np.testing.assert_array_equal(drawn, np.arange(len(X)))
    # (the trees of a classifier are trained on the class codes)
    again = clone(forest.estimators_[0]).fit(X[samples[0]], _codes(forest, y)[samples[0]])
    np.testing.assert_allclose(again.tree_.value, forest.estimators_[0].tree_.value,
                               rtol=1e-9)


def _codes(forest, y):
    if hasattr(forest, "classes_"):
        return np.searchsorted(forest.classes_, y)
    return y


def test_decision_path_apply_and_the_members_as_a_sequence():
    X, y = load_wine(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    indicator, ptr = forest.decision_path(X)
    assert indicator.shape == (len(X), ptr[-1]) and len(ptr) == 6
    leaves = forest.apply(X)
    for t, tree in enumerate(forest):
        block = indicator[:, ptr[t]:ptr[t + 1]]
        assert (block != tree.decision_path(X)).nnz == 0
        assert np.all(block[np.arange(len(X)), leaves[:, t]] == 1)
    assert len(forest) == 5 and forest[2] is forest.estimators_[2]
    assert list(iter(forest)) == forest.estimators_


def test_multi_output_forests_average_their_trees():
    X, y = load_breast_cancer(return_X_y=True)
    Y = np.column_stack([y, (X[:, 0] > 14).astype(int) + (X[:, 1] > 20)])
    clf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, Y)
    proba = clf.predict_proba(X)
    for k in range(2):
        mean = np.mean([t.predict_proba(X)[k] for t in clf.estimators_], axis=0)
        np.testing.assert_allclose(proba[k], mean, rtol=1e-12)
    pred = clf.predict(X)
    assert pred.shape == (len(X), 2) and np.mean(np.all(pred == Y, axis=1)) > 0.9
    Xd, yd = load_diabetes(return_X_y=True)
    Yd = np.column_stack([yd, -2 * yd])
    reg = RandomForestRegressor(n_estimators=10, oob_score=True, random_state=0).fit(Xd, Yd)
    np.testing.assert_allclose(reg.predict(Xd)[:, 1], -2 * reg.predict(Xd)[:, 0])
    assert reg.oob_prediction_.shape == (len(yd), 2)


def test_monotonic_forest_is_monotone():
    X, y = load_diabetes(return_X_y=True)
    cst = np.zeros(10, dtype=int)
    cst[2] = 1
    forest = RandomForestRegressor(n_estimators=10, monotonic_cst=cst,
                                   random_state=0).fit(X, y)
    grid = np.linspace(X[:, 2].min(), X[:, 2].max(), 40)
    for row in X[:30]:
        Z = np.repeat(row[None], 40, axis=0)
        Z[:, 2] = grid
        assert np.all(np.diff(forest.predict(Z)) >= -1e-9)


@pytest.mark.parametrize("cls", [RandomForestRegressor, BaggingRegressor])
def test_verbose_shows_a_progress_bar_and_silence_otherwise(cls, capfd):
    pytest.importorskip("tqdm")
    X, y = load_diabetes(return_X_y=True)
    cls(n_estimators=3, random_state=0).fit(X, y)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    cls(n_estimators=3, random_state=0, verbose=1).fit(X, y)
    out, err = capfd.readouterr()
    assert "3/3" in err and cls.__name__ in err


def test_extra_trees_use_random_splits_and_the_whole_training_set():
    X, y = load_wine(return_X_y=True)
    forest = ExtraTreesClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert not forest.bootstrap
    assert all(t.splitter == "random" for t in forest.estimators_)
    assert all(t.tree_.n_node_samples[0] == len(X) for t in forest.estimators_)
    assert forest.score(X, y) == 1.0


def test_bagging_defaults_are_sklearns():
    from sklearn import ensemble as sk_ensemble

    for ours, theirs in ((BaggingClassifier, sk_ensemble.BaggingClassifier),
                         (BaggingRegressor, sk_ensemble.BaggingRegressor),
                         (ExtraTreesClassifier, sk_ensemble.ExtraTreesClassifier),
                         (ExtraTreesRegressor, sk_ensemble.ExtraTreesRegressor)):
        assert ours().get_params() == theirs().get_params()
