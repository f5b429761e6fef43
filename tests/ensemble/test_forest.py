"""skml.ensemble random forests: footnote-10 defaults, reproducibility for any n_jobs,
out-of-bag scores, importances, missing values, the packed prediction kernel."""
import pickle

import numpy as np
import pytest
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_wine,
                              make_classification)
from sklearn.model_selection import StratifiedKFold, cross_val_score

from skml.ensemble import RandomForestClassifier, RandomForestRegressor


def test_defaults_are_sklearns_and_footnote_10_is_a_setting():
    from sklearn import ensemble as sk_ensemble

    for ours, theirs in ((RandomForestClassifier, sk_ensemble.RandomForestClassifier),
                         (RandomForestRegressor, sk_ensemble.RandomForestRegressor)):
        assert ours().get_params() == {k: v for k, v in theirs().get_params().items()}
    assert "footnote 10" in " ".join(RandomForestRegressor.__doc__.split())
    X, y = load_diabetes(return_X_y=True)                      # p = 10
    reg = RandomForestRegressor(n_estimators=5, random_state=0).fit(X, y)
    assert {t.max_features_ for t in reg.estimators_} == {10}  # all features
    notes = RandomForestRegressor(n_estimators=5, max_features=1 / 3, min_samples_leaf=5,
                                  random_state=0).fit(X, y)
    assert {t.max_features_ for t in notes.estimators_} == {3}  # floor(10 / 3)
    for t in notes.estimators_:
        leaves = t.tree_.children_left == -1
        assert t.tree_.n_node_samples[leaves].min() >= 5
    Xc, yc = load_breast_cancer(return_X_y=True)              # p = 30
    clf = RandomForestClassifier(n_estimators=3, random_state=0).fit(Xc, yc)
    assert {t.max_features_ for t in clf.estimators_} == {5}  # floor(sqrt(30))
    for p, expected in [(2, 1), (3, 1), (9, 3), (30, 10), (100, 33)]:
        X = np.random.RandomState(0).rand(20, p)
        f = RandomForestRegressor(n_estimators=1, max_features=1 / 3,
                                  random_state=0).fit(X, X[:, 0])
        assert f.estimators_[0].max_features_ == expected


@pytest.mark.parametrize("cls", [RandomForestClassifier, RandomForestRegressor])
def test_results_are_identical_for_any_n_jobs(cls):
    X, y = make_classification(n_samples=300, n_features=10, random_state=0)
    fits = [cls(n_estimators=12, random_state=3, n_jobs=n).fit(X, y) for n in (1, 2, -1)]
    ref = fits[0]
    for other in fits[1:]:
        for a, b in zip(ref.estimators_, other.estimators_):
            np.testing.assert_array_equal(a.tree_.feature, b.tree_.feature)
            np.testing.assert_array_equal(a.tree_.threshold, b.tree_.threshold)
        out = "predict_proba" if cls is RandomForestClassifier else "predict"
        np.testing.assert_array_equal(getattr(ref, out)(X), getattr(other, out)(X))
    other_seed = cls(n_estimators=12, random_state=4).fit(X, y)
    assert not np.array_equal(other_seed.estimators_[0].tree_.threshold,
                              ref.estimators_[0].tree_.threshold)


def test_prediction_kernel_averages_the_trees():
    X, y = load_wine(return_X_y=True)
    rng = np.random.RandomState(0)
    X_test = X + rng.normal(scale=0.1, size=X.shape)
    X_test[rng.rand(*X.shape) < 0.1] = np.nan
    clf = RandomForestClassifier(n_estimators=15, random_state=0).fit(X, y)
    mean = np.mean([t.predict_proba(X_test) for t in clf.estimators_], axis=0)
    np.testing.assert_allclose(clf.predict_proba(X_test), mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[mean.argmax(axis=1)])
    assert clf.apply(X_test).shape == (len(X), 15)
    Xd, yd = load_diabetes(return_X_y=True)
    reg = RandomForestRegressor(n_estimators=15, random_state=0).fit(Xd, yd)
    mean = np.mean([t.predict(Xd) for t in reg.estimators_], axis=0)
    np.testing.assert_allclose(reg.predict(Xd), mean, rtol=1e-12)


def test_oob_score_estimates_the_generalisation_accuracy():
    X, y = load_breast_cancer(return_X_y=True)
    clf = RandomForestClassifier(n_estimators=100, oob_score=True, random_state=0).fit(X, y)
    cv = cross_val_score(RandomForestClassifier(n_estimators=100, random_state=0), X, y,
                         cv=StratifiedKFold(5, shuffle=True, random_state=0)).mean()
    assert abs(clf.oob_score_ - cv) < 0.03
    assert clf.oob_decision_function_.shape == (len(y), 2)
    np.testing.assert_allclose(clf.oob_decision_function_.sum(axis=1), 1.0)
    Xd, yd = load_diabetes(return_X_y=True)
    reg = RandomForestRegressor(n_estimators=100, oob_score=True, random_state=0).fit(Xd, yd)
    assert 0.35 < reg.oob_score_ < 0.55
    assert reg.oob_prediction_.shape == (len(yd),)
    with pytest.warns(UserWarning, match="do not have OOB scores"):
        RandomForestClassifier(n_estimators=2, oob_score=True, random_state=0).fit(X, y)


def test_feature_importances_rank_the_informative_features_first():
    X, y = make_classification(n_samples=600, n_features=10, n_informative=3,
                               n_redundant=0, shuffle=False, random_state=0)
    clf = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    imp = clf.feature_importances_
    assert imp.sum() == pytest.approx(1.0)
    assert set(np.argsort(imp)[-3:]) == {0, 1, 2}


def test_forests_handle_20_percent_missing_values():
    X, y = load_breast_cancer(return_X_y=True)
    X = X.copy()
    X[np.random.RandomState(0).rand(*X.shape) < 0.2] = np.nan
    score = cross_val_score(RandomForestClassifier(n_estimators=50, random_state=0), X, y,
                            cv=StratifiedKFold(5, shuffle=True, random_state=0)).mean()
    assert score > 0.9                                       # majority class: 0.63
    reg = RandomForestRegressor(n_estimators=20, random_state=0).fit(X, y.astype(float))
    assert np.all(np.isfinite(reg.predict(X)))


def test_bootstrap_options_and_class_weights():
    X, y = load_wine(return_X_y=True)
    full = RandomForestClassifier(n_estimators=3, bootstrap=False, max_features=None,
                                  random_state=0).fit(X, y)
    t0, t1 = (t.tree_ for t in full.estimators_[:2])
    np.testing.assert_array_equal(t0.threshold, t1.threshold)  # same data, all features
    half = RandomForestClassifier(n_estimators=3, max_samples=0.5, random_state=0).fit(X, y)
    assert half.estimators_[0].tree_.weighted_n_node_samples[0] == 89
    for cw in ("balanced", "balanced_subsample", {0: 1.0, 1: 2.0, 2: 1.0}):
        clf = RandomForestClassifier(n_estimators=10, class_weight=cw, random_state=0)
        assert clf.fit(X, y).score(X, y) > 0.95
    with pytest.raises(ValueError, match="oob_score=True needs bootstrap=True"):
        RandomForestClassifier(bootstrap=False, oob_score=True).fit(X, y)
    with pytest.raises(ValueError, match="max_samples can only be set"):
        RandomForestClassifier(bootstrap=False, max_samples=10).fit(X, y)
    with pytest.raises(ValueError, match="n_estimators"):
        RandomForestClassifier(n_estimators=0).fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        RandomForestClassifier().fit(X, y, sample_weight=-np.ones(len(y)))


def test_pickled_forest_predicts_the_same():
    X, y = load_wine(return_X_y=True)
    clf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_gain_ratio_and_absolute_error_forests():
    X, y = load_wine(return_X_y=True)
    clf = RandomForestClassifier(n_estimators=20, criterion="gain_ratio", random_state=0)
    assert clf.fit(X, y).score(X, y) == 1.0
    Xd, yd = load_diabetes(return_X_y=True)
    reg = RandomForestRegressor(n_estimators=10, criterion="absolute_error", random_state=0)
    assert reg.fit(Xd, yd).score(Xd, yd) > 0.5


def test_sample_weights_are_bootstrap_probabilities_as_in_sklearn_1_9():
    """With bootstrap, scikit-learn 1.9's forests and bagging draw the samples with
    probabilities proportional to their weights and fit the members on the counts (so a
    zero-weight sample is never drawn); ``estimators_samples_`` replays the draws."""
    from skml.ensemble import BaggingClassifier

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(10, 3))
    y = np.arange(10) % 2
    w = np.zeros(10)
    w[[1, 3]] = 1.0                         # only two samples of class 1 have weight
    forest = RandomForestClassifier(n_estimators=20, max_samples=2,
                                    random_state=0).fit(X, y, sample_weight=w)
    for tree, drawn in zip(forest.estimators_, forest.estimators_samples_):
        assert set(drawn) <= {1, 3} and len(drawn) == 2
        counts = np.bincount(drawn, minlength=10)
        assert tree.tree_.weighted_n_node_samples[0] == counts.sum() == 2
    np.testing.assert_array_equal(forest.predict(X), np.ones(10))
    bag = BaggingClassifier(n_estimators=20, max_samples=2, random_state=0)
    bag.fit(X, y, sample_weight=w)
    assert all(set(s) <= {1, 3} for s in bag.estimators_samples_)
    np.testing.assert_array_equal(bag.predict(X), np.ones(10))


def test_default_regressor_scores_sklearns_cv_r2_on_diabetes():
    """The defaults (sklearn's: max_features=1.0, min_samples_leaf=1, 100 trees) give
    scikit-learn's 5-fold CV R² on diabetes within seed noise (the spread between two
    sklearn seeds is ~0.01), far above the mean predictor's 0."""
    from sklearn.ensemble import RandomForestRegressor as SkForest
    from sklearn.model_selection import KFold

    X, y = load_diabetes(return_X_y=True)
    cv = KFold(5, shuffle=True, random_state=0)
    ours = cross_val_score(RandomForestRegressor(random_state=0), X, y, cv=cv).mean()
    theirs = cross_val_score(SkForest(random_state=0), X, y, cv=cv).mean()
    assert ours > 0.35
    assert abs(ours - theirs) < 0.03, (ours, theirs)
