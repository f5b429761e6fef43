"""Exact gradient boosting (skml.ensemble.GradientBoosting*) against scikit-learn, the
notes' algorithm (Definition 3.11, Example 25) and analytic leaf steps."""
import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.ensemble import GradientBoostingClassifier as SkGBC
from sklearn.ensemble import GradientBoostingRegressor as SkGBR
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeRegressor as SkTree

from skml.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from skml.utils import InvalidParameterError


@pytest.fixture(scope="module")
def smooth_data():
    """Continuous features without ties, so every split is unique and skml's trees
    are scikit-learn's."""
    rng = np.random.RandomState(0)
    X = rng.rand(300, 5)
    y = X[:, 0] * 3 + np.sin(6 * X[:, 1]) + 0.1 * rng.randn(300)
    y_bin = (y > np.median(y)).astype(int)
    y_3 = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    return X, y, y_bin, y_3


# ------------------------------------------------------------ agreement with sklearn

@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber"])
def test_regressor_equals_sklearn_without_ties(smooth_data, loss):
    X, y, _, _ = smooth_data
    ours = GradientBoostingRegressor(loss=loss, n_estimators=20, random_state=0).fit(X, y)
    ref = SkGBR(loss=loss, n_estimators=20, random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.train_score_, ref.train_score_, rtol=1e-10)


@pytest.mark.parametrize("loss", ["log_loss", "exponential"])
def test_binary_classifier_equals_sklearn_without_ties(smooth_data, loss):
    X, _, y, _ = smooth_data
    ours = GradientBoostingClassifier(loss=loss, n_estimators=20, random_state=0).fit(X, y)
    ref = SkGBC(loss=loss, n_estimators=20, random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-12)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X),
                               atol=1e-10)
    np.testing.assert_allclose(ours.train_score_, ref.train_score_, rtol=1e-10)


def test_multiclass_classifier_close_to_sklearn(smooth_data):
    X, _, _, y = smooth_data
    ours = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y)
    ref = SkGBC(n_estimators=10, random_state=0).fit(X, y)
    # the first stages agree exactly; near-ties of the K trees may split differently
    np.testing.assert_allclose(ours.train_score_[:3], ref.train_score_[:3], rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-2)


@pytest.mark.parametrize("name, loader, ours, ref, params, tol", [
    ("breast_cancer", load_breast_cancer, GradientBoostingClassifier, SkGBC,
     dict(n_estimators=25), 0.005),
    ("digits", load_digits, GradientBoostingClassifier, SkGBC,
     dict(n_estimators=5, max_depth=2), 0.005),
    ("diabetes", load_diabetes, GradientBoostingRegressor, SkGBR,
     dict(n_estimators=50), 0.01),
])
def test_cross_validated_quality_matches_sklearn(name, loader, ours, ref, params, tol):
    X, y = loader(return_X_y=True)
    if name == "digits":
        X, y = X[::2], y[::2]  # half of digits keeps the 10-class CV fast
    cv = (StratifiedKFold if ours is GradientBoostingClassifier else KFold)(
        5, shuffle=True, random_state=0)
    a = cross_val_score(ours(random_state=0, **params), X, y, cv=cv).mean()
    b = cross_val_score(ref(random_state=0, **params), X, y, cv=cv).mean()
    assert abs(a - b) <= tol, (name, a, b)


# -------------------------------------------------------------- the algorithm itself

def test_one_stage_is_a_tree_on_residuals_plus_the_mean(smooth_data):
    """Example 25 of the notes: F_1 = mean(y) + lr * h_1 with h_1 fitted to y - mean."""
    X, y, _, _ = smooth_data
    gb = GradientBoostingRegressor(n_estimators=1, learning_rate=0.5, max_depth=2).fit(X, y)
    tree = SkTree(max_depth=2).fit(X.astype(np.float32), y - y.mean())
    np.testing.assert_allclose(gb.predict(X), y.mean() + 0.5 * tree.predict(
        X.astype(np.float32)), rtol=1e-12, atol=1e-12)


def test_log_loss_leaves_take_a_newton_step(smooth_data):
    X, _, y, _ = smooth_data
    gb = GradientBoostingClassifier(n_estimators=1, learning_rate=1.0, max_depth=2).fit(X, y)
    p0 = y.mean()
    leaves = gb.apply(X)[:, 0, 0]
    tree = gb.estimators_[0, 0].tree_
    for leaf in np.unique(leaves):
        r = y[leaves == leaf] - p0
        expected = r.sum() / (p0 * (1 - p0) * r.size)
        assert tree.value[leaf, 0, 0] == pytest.approx(expected, rel=1e-12)
    raw = np.log(p0 / (1 - p0)) + tree.value[leaves, 0, 0]
    np.testing.assert_allclose(gb.predict_proba(X)[:, 1], expit(raw), rtol=1e-12)


def test_staged_outputs_end_at_the_final_ones(smooth_data):
    X, y, _, y3 = smooth_data
    reg = GradientBoostingRegressor(n_estimators=15, random_state=0).fit(X, y)
    stages = list(reg.staged_predict(X))
    assert len(stages) == 15
    np.testing.assert_allclose(stages[-1], reg.predict(X), rtol=1e-12)
    mse = [np.mean((s - y) ** 2) for s in stages]
    assert np.all(np.diff(mse) < 0)  # training error falls at every stage
    np.testing.assert_allclose(mse, reg.train_score_, rtol=1e-9)
    clf = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y3)
    probas = list(clf.staged_predict_proba(X))
    np.testing.assert_allclose(probas[-1], clf.predict_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(list(clf.staged_predict(X))[-1], clf.predict(X))
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)))


def test_subsample_gives_out_of_bag_improvements(smooth_data):
    X, y, _, _ = smooth_data
    gb = GradientBoostingRegressor(n_estimators=30, subsample=0.5, random_state=0).fit(X, y)
    assert gb.oob_improvement_.shape == (30,) and gb.oob_scores_.shape == (30,)
    assert gb.oob_score_ == gb.oob_scores_[-1]
    # improvements telescope: initial OOB loss minus each stage's OOB loss
    np.testing.assert_allclose(gb.oob_improvement_[1:],
                               gb.oob_scores_[:-1] - gb.oob_scores_[1:], rtol=1e-12)
    assert gb.oob_improvement_[:5].min() > 0  # early stages help out of the bag too
    full = GradientBoostingRegressor(n_estimators=30, random_state=0).fit(X, y)
    assert not hasattr(full, "oob_improvement_")


def test_early_stopping_stops_on_noise():
    rng = np.random.RandomState(0)
    X = rng.rand(400, 3)
    y = X[:, 0] + rng.randn(400)
    gb = GradientBoostingRegressor(n_estimators=500, n_iter_no_change=5,
                                   random_state=0).fit(X, y)
    assert gb.n_estimators_ < 100
    # scikit-learn's rule on the same split: the same stage (the data have no ties)
    ref = SkGBR(n_estimators=500, n_iter_no_change=5, random_state=0).fit(X, y)
    assert gb.n_estimators_ == ref.n_estimators_
    assert gb.estimators_.shape[0] == gb.n_estimators_ == gb.train_score_.shape[0]
    assert len(list(gb.staged_predict(X))) == gb.n_estimators_


def test_init_estimator_and_zero(smooth_data):
    X, y, y_bin, _ = smooth_data
    lin = GradientBoostingRegressor(init=LinearRegression(), n_estimators=1,
                                    learning_rate=1e-9).fit(X, y)
    np.testing.assert_allclose(lin.predict(X), LinearRegression().fit(X, y).predict(X),
                               atol=1e-6)
    zero = GradientBoostingRegressor(init="zero", n_estimators=1,
                                     learning_rate=1e-9).fit(X, y)
    np.testing.assert_allclose(zero.predict(X), 0.0, atol=1e-6)
    clf = GradientBoostingClassifier(init=LogisticRegression(), n_estimators=1,
                                     learning_rate=1e-9).fit(X, y_bin)
    np.testing.assert_allclose(clf.predict_proba(X),
                               LogisticRegression().fit(X, y_bin).predict_proba(X),
                               atol=1e-6)


def test_warm_start_equals_one_fit(smooth_data):
    X, y, _, _ = smooth_data
    warm = GradientBoostingRegressor(n_estimators=10, warm_start=True, random_state=0)
    warm.fit(X, y)
    warm.set_params(n_estimators=20).fit(X, y)
    cold = GradientBoostingRegressor(n_estimators=20, random_state=0).fit(X, y)
    assert warm.n_estimators_ == 20
    np.testing.assert_allclose(warm.predict(X), cold.predict(X), rtol=1e-12)


def test_feature_importances_find_the_signal(smooth_data):
    X, y, _, _ = smooth_data
    imp = GradientBoostingRegressor(n_estimators=30, random_state=0).fit(
        X, y).feature_importances_
    assert imp.sum() == pytest.approx(1.0)
    assert set(np.argsort(imp)[-2:]) == {0, 1}  # y depends on x0 and x1 only


def test_quantile_loss_covers_its_quantile(smooth_data):
    X, y, _, _ = smooth_data
    hi = GradientBoostingRegressor(loss="quantile", alpha=0.9, n_estimators=50,
                                   random_state=0).fit(X, y)
    assert 0.82 <= np.mean(y <= hi.predict(X)) <= 0.98


def test_sample_weight_zero_is_like_dropping_rows(smooth_data):
    X, y, _, _ = smooth_data
    w = np.ones(len(y))
    w[::3] = 0
    a = GradientBoostingRegressor(n_estimators=10, random_state=0).fit(X, y, sample_weight=w)
    b = GradientBoostingRegressor(n_estimators=10, random_state=0).fit(X[w > 0], y[w > 0])
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-10)


def test_thresholds_keep_float64_resolution():
    """Values 1e-10 apart (one float32 value) are split correctly; scikit-learn's trees
    round X to float32 and cannot."""
    x = (1.0 + np.arange(40) * 1e-10)[:, None]
    assert np.unique(x.astype(np.float32)).size == 1
    y = (np.arange(40) >= 20).astype(float)
    params = dict(n_estimators=1, learning_rate=1.0, max_depth=1, init="zero")
    ours = GradientBoostingRegressor(**params).fit(x, y)
    np.testing.assert_array_equal(ours.predict(x), y)
    assert np.abs(SkGBR(**params).fit(x, y).predict(x) - y).max() == 0.5
    clf = GradientBoostingClassifier(n_estimators=5, max_depth=1).fit(x, y.astype(int))
    np.testing.assert_array_equal(clf.predict(x), y.astype(int))


# ----------------------------------------------------------------------- bad input

def test_bad_input_is_rejected(smooth_data):
    X, y, y_bin, y_3 = smooth_data
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        GradientBoostingRegressor(learning_rate=0.0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        GradientBoostingClassifier(learning_rate=-0.1).fit(X, y_bin)
    y_nan = y.copy()
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GradientBoostingRegressor().fit(X, y_nan)
    y_inf = y.copy()
    y_inf[3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GradientBoostingRegressor().fit(X, y_inf)
    with pytest.raises(ValueError, match="at least 2 classes"):
        GradientBoostingClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="two classes"):
        GradientBoostingClassifier(loss="exponential").fit(X, y_3)
    with pytest.raises(InvalidParameterError, match="init"):
        GradientBoostingRegressor(init="mean").fit(X, y)
