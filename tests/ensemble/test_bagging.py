"""skml.ensemble bagging over any estimator: soft voting, hard voting, feature subsets,
out-of-bag scores and reproducibility."""
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import Perceptron, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skml.ensemble import BaggingClassifier, BaggingRegressor
from skml.tree import DecisionTreeClassifier, DecisionTreeRegressor


def test_default_member_is_the_skml_tree_and_votes_average_probabilities():
    X, y = load_wine(return_X_y=True)
    bag = BaggingClassifier(n_estimators=8, random_state=0).fit(X, y)
    assert all(isinstance(e, DecisionTreeClassifier) for e in bag.estimators_)
    mean = np.mean([e.predict_proba(X[:, f]) for e, f in
                    zip(bag.estimators_, bag.estimators_features_)], axis=0)
    np.testing.assert_allclose(bag.predict_proba(X), mean)
    assert bag.score(X, y) > 0.95
    reg = BaggingRegressor(n_estimators=8, random_state=0).fit(*load_diabetes(return_X_y=True))
    assert all(isinstance(e, DecisionTreeRegressor) for e in reg.estimators_)


def test_members_without_sample_weight_get_the_drawn_rows():
    X, y = load_wine(return_X_y=True)
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier())
    bag = BaggingClassifier(knn, n_estimators=10, random_state=0).fit(X, y)
    assert bag.score(X, y) > 0.9
    # scikit-learn 1.9: sample weights are drawing probabilities, so a member without
    # sample_weight still honours them (the drawn rows follow the weights)
    w = (y == 0).astype(float)
    bag = BaggingClassifier(knn, n_estimators=5, random_state=0).fit(X, y, sample_weight=w)
    assert all(np.all(y[s] == 0) for s in bag.estimators_samples_)


def test_members_without_predict_proba_vote():
    X, y = load_wine(return_X_y=True)
    member = make_pipeline(StandardScaler(), Perceptron(random_state=0))
    bag = BaggingClassifier(member, n_estimators=9, random_state=0).fit(X, y)
    proba = bag.predict_proba(X)
    np.testing.assert_allclose(proba * 9, np.round(proba * 9))   # vote fractions
    votes = np.zeros_like(proba)
    for e, f in zip(bag.estimators_, bag.estimators_features_):
        votes[np.arange(len(X)), e.predict(X[:, f])] += 1
    np.testing.assert_array_equal(bag.predict(X), bag.classes_[votes.argmax(axis=1)])


def test_feature_subsets_and_sample_sizes():
    X, y = load_wine(return_X_y=True)
    bag = BaggingClassifier(n_estimators=5, max_features=0.5, max_samples=40,
                            random_state=0).fit(X, y)
    assert all(len(f) == 6 and len(set(f)) == 6 for f in bag.estimators_features_)
    assert all(e.n_features_in_ == 6 for e in bag.estimators_)
    assert all(e.tree_.weighted_n_node_samples[0] == 40 for e in bag.estimators_)
    boot = BaggingClassifier(n_estimators=5, max_features=13, bootstrap_features=True,
                             random_state=0).fit(X, y)
    assert any(len(set(f)) < 13 for f in boot.estimators_features_)
    with pytest.raises(ValueError, match="max_features must be in"):
        BaggingClassifier(max_features=20).fit(X, y)
    with pytest.raises(ValueError, match="oob_score=True needs bootstrap=True"):
        BaggingClassifier(bootstrap=False, oob_score=True).fit(X, y)


def test_oob_scores():
    X, y = load_wine(return_X_y=True)
    bag = BaggingClassifier(n_estimators=40, oob_score=True, random_state=0).fit(X, y)
    assert 0.85 < bag.oob_score_ <= 1.0
    np.testing.assert_allclose(bag.oob_decision_function_.sum(axis=1), 1.0)
    Xd, yd = load_diabetes(return_X_y=True)
    reg = BaggingRegressor(Ridge(alpha=0.1), n_estimators=30, oob_score=True,
                           random_state=0).fit(Xd, yd)
    assert 0.4 < reg.oob_score_ < 0.55            # close to Ridge's own CV R^2 (~0.48)
    assert reg.oob_prediction_.shape == (len(yd),)


def test_identical_for_any_n_jobs_and_nan_allowed_with_the_tree():
    X, y = load_wine(return_X_y=True)
    X = X.copy()
    X[np.random.RandomState(0).rand(*X.shape) < 0.1] = np.nan
    a = BaggingClassifier(n_estimators=6, random_state=1, n_jobs=1).fit(X, y)
    b = BaggingClassifier(n_estimators=6, random_state=1, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.score(X, y) > 0.9
    with pytest.raises(ValueError, match="NaN"):
        BaggingClassifier(KNeighborsClassifier()).fit(X, y)
