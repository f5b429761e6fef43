"""Histogram gradient boosting (skml.ensemble.HistGradientBoosting*): quality against
scikit-learn, missing values, categorical splits, constraints, early stopping, bad
input."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.ensemble import HistGradientBoostingClassifier as SkHGBC
from sklearn.ensemble import HistGradientBoostingRegressor as SkHGBR
from sklearn.impute import SimpleImputer
from sklearn.metrics import log_loss, mean_pinball_loss, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.class_weight import compute_sample_weight
from threadpoolctl import threadpool_limits

from skml.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from skml.utils import InvalidParameterError

HGBC, HGBR = HistGradientBoostingClassifier, HistGradientBoostingRegressor


@pytest.fixture(autouse=True)
def _one_openmp_thread():
    """Both libraries' OpenMP kernels on one thread: the suite runs in parallel workers
    and spinning OpenMP threads of a busy machine slow scikit-learn down a hundredfold.
    (test_results_do_not_depend_on_the_thread_count sets its own limits.)"""
    with threadpool_limits(1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def reg_data():
    rng = np.random.RandomState(0)
    X = rng.randn(600, 4)
    y = X[:, 0] ** 2 + np.sin(2 * X[:, 1]) + 0.1 * rng.randn(600)
    return X, y


# ------------------------------------------------------------ agreement with sklearn

@pytest.mark.parametrize("name, loader, ours, ref, params, tol", [
    ("breast_cancer", load_breast_cancer, HGBC, SkHGBC, dict(max_iter=50), 0.005),
    ("digits", load_digits, HGBC, SkHGBC, dict(max_iter=10, max_leaf_nodes=8), 0.005),
    ("diabetes", load_diabetes, HGBR, SkHGBR, dict(max_iter=50), 0.01),
])
def test_cross_validated_quality_matches_sklearn(name, loader, ours, ref, params, tol):
    X, y = loader(return_X_y=True)
    cv = (StratifiedKFold if ours is HGBC else KFold)(5, shuffle=True, random_state=0)
    a = cross_val_score(ours(random_state=0, **params), X, y, cv=cv).mean()
    b = cross_val_score(ref(random_state=0, **params), X, y, cv=cv).mean()
    assert abs(a - b) <= tol, (name, a, b)


def test_same_trees_as_sklearn_on_tie_free_data(reg_data):
    """Same bins, gains and leaf values as scikit-learn: the same model."""
    X, y = reg_data
    ours = HGBR(max_iter=20, early_stopping=False).fit(X, y)
    ref = SkHGBR(max_iter=20, early_stopping=False).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("max_bins", [2, 20, 100])
def test_same_trees_as_sklearn_for_any_max_bins(reg_data, max_bins):
    """Regression: max_bins < 255 made histograms narrower than the kernel's 256 bins."""
    X, y = reg_data
    params = dict(max_bins=max_bins, max_iter=10, early_stopping=False)
    ours = HGBR(**params).fit(X, y)
    ref = SkHGBR(**params).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("max_bins", [30, 40])
def test_categorical_with_few_bins_matches_sklearn_quality(max_bins):
    """30 levels with max_bins=30 (every bin a category) and 40. skml tries every
    prefix of the sorted categories from both ends (scikit-learn at most half from the
    far end), so the trees may differ; the held-out quality may not."""
    X, y = _categorical_data(n=1000)
    cv = KFold(3, shuffle=True, random_state=0)
    params = dict(max_bins=max_bins, max_iter=20, categorical_features=[0],
                  early_stopping=False)
    a = cross_val_score(HGBR(**params), X, y, cv=cv).mean()
    b = cross_val_score(SkHGBR(**params), X, y, cv=cv).mean()
    assert abs(a - b) <= 0.01, (a, b)


@pytest.mark.parametrize("loss, params", [("poisson", {}), ("gamma", {}),
                                          ("absolute_error", {}),
                                          ("quantile", {"quantile": 0.8})])
def test_other_losses_match_sklearn(reg_data, loss, params):
    X, y = reg_data
    y = np.exp(y / 3) if loss in ("poisson", "gamma") else y
    ours = HGBR(loss=loss, max_iter=30, early_stopping=False, **params).fit(X, y)
    ref = SkHGBR(loss=loss, max_iter=30, early_stopping=False, **params).fit(X, y)
    if loss == "quantile":
        a = mean_pinball_loss(y, ours.predict(X), alpha=0.8)
        b = mean_pinball_loss(y, ref.predict(X), alpha=0.8)
        assert a == pytest.approx(b, rel=0.05)
        assert 0.72 <= np.mean(y <= ours.predict(X)) <= 0.88
    else:
        assert r2_score(y, ours.predict(X)) == pytest.approx(
            r2_score(y, ref.predict(X)), abs=0.01)
    if loss in ("poisson", "gamma"):
        assert np.all(ours.predict(X) > 0)


# ------------------------------------------------------------------ missing values

def test_native_missing_values_beat_mean_imputation():
    """y depends on x^2: the mean (0) is where the effect is smallest, so imputing it
    biases every sample with a missing value; the trees instead learn per split where
    missing values go."""
    rng = np.random.RandomState(0)
    X = rng.randn(1500, 6)
    y = (X ** 2).sum(axis=1) + 0.3 * rng.randn(1500)
    X[rng.rand(*X.shape) < 0.3] = np.nan
    cv = KFold(5, shuffle=True, random_state=0)
    native = cross_val_score(HGBR(max_iter=50, random_state=0), X, y, cv=cv).mean()
    imputed = cross_val_score(make_pipeline(SimpleImputer(), HGBR(max_iter=50,
                                                                  random_state=0)),
                              X, y, cv=cv).mean()
    assert native > imputed + 0.01, (native, imputed)


def test_missing_values_follow_the_learned_side():
    rng = np.random.RandomState(0)
    x = rng.rand(1000)
    y = (x > 0.5).astype(float)
    x_nan = x.copy()
    nan = rng.rand(1000) < 0.2
    x_nan[nan] = np.nan
    y[nan] = 1.0  # missing means "high"
    reg = HGBR(max_iter=30, early_stopping=False).fit(x_nan[:, None], y)
    assert reg.predict([[np.nan]])[0] > 0.9
    assert reg.predict([[0.1]])[0] < 0.1
    # no missing value in training: NaN goes to the child with more samples
    reg2 = HGBR(max_iter=1, max_depth=1, learning_rate=1, early_stopping=False,
                min_samples_leaf=1).fit(np.arange(10.0)[:, None], (np.arange(10) > 6) * 1.0)
    assert reg2.predict([[np.nan]])[0] == pytest.approx(reg2.predict([[0.0]])[0])


# -------------------------------------------------------------------- categoricals

def _categorical_data(seed=0, n=2000):
    rng = np.random.RandomState(seed)
    cat = rng.randint(0, 30, n)
    effect = 2 * rng.randn(30)  # non-monotone in the level code
    X = np.column_stack([cat, rng.randn(n, 3)])
    y = effect[cat] + X[:, 1] + 0.5 * rng.randn(n)
    return X, y


def test_categorical_splits_beat_one_hot():
    X, y = _categorical_data()
    cv = KFold(5, shuffle=True, random_state=0)
    params = dict(max_iter=30, random_state=0)
    native = cross_val_score(HGBR(categorical_features=[0], **params), X, y, cv=cv).mean()
    ohe = ColumnTransformer([("oh", OneHotEncoder(sparse_output=False), [0])],
                            remainder="passthrough")
    one_hot = cross_val_score(make_pipeline(ohe, HGBR(**params)), X, y, cv=cv).mean()
    ordinal = cross_val_score(HGBR(**params), X, y, cv=cv).mean()
    assert native > one_hot + 0.02, (native, one_hot)
    assert native > ordinal + 0.02, (native, ordinal)


def test_categorical_feature_given_by_mask_names_and_dtype():
    pd = pytest.importorskip("pandas")
    X, y = _categorical_data(n=600)
    by_index = HGBR(categorical_features=[0], max_iter=10).fit(X, y)
    by_mask = HGBR(categorical_features=[True, False, False, False], max_iter=10).fit(X, y)
    np.testing.assert_array_equal(by_index.predict(X), by_mask.predict(X))
    letters = np.array([f"level{int(c):02d}" for c in X[:, 0]])
    df = pd.DataFrame({"c": pd.Categorical(letters), "a": X[:, 1], "b": X[:, 2],
                       "d": X[:, 3]})
    from_dtype = HGBR(max_iter=10).fit(df, y)
    assert from_dtype.is_categorical_.tolist() == [True, False, False, False]
    by_name = HGBR(categorical_features=["c"], max_iter=10).fit(df, y)
    np.testing.assert_allclose(from_dtype.predict(df), by_name.predict(df))
    # string levels sort as the integer codes do: the same model as the numeric codes
    np.testing.assert_allclose(from_dtype.predict(df), by_index.predict(X), rtol=1e-12)
    # a level unseen in fit goes where missing values go
    new = df.iloc[:1].copy()
    new["c"] = pd.Categorical(["never_seen"])
    missing = df.iloc[:1].copy()
    missing["c"] = pd.Categorical([None], categories=df["c"].cat.categories)
    assert from_dtype.predict(new)[0] == from_dtype.predict(missing)[0]


def test_unknown_and_negative_categories_at_predict_are_missing():
    X, y = _categorical_data(n=600)
    reg = HGBR(categorical_features=[0], max_iter=10).fit(X, y)
    rows = np.repeat(X[:1], 4, axis=0)
    rows[:, 0] = [np.nan, 99, -3, 7.5]
    pred = reg.predict(rows)
    assert np.all(pred == pred[0])


def test_categorical_bad_input():
    X, y = _categorical_data(n=600)
    X_neg = X.copy()
    X_neg[0, 0] = -1
    with pytest.raises(ValueError, match="negative"):
        HGBR(categorical_features=[0]).fit(X_neg, y)
    X_many = X.copy()
    X_many[:, 0] = np.arange(600) % 300
    with pytest.raises(ValueError, match="more than max_bins"):
        HGBR(categorical_features=[0], max_bins=255).fit(X_many, y)
    X_frac = X.copy()
    X_frac[0, 0] = 0.5
    with pytest.raises(ValueError, match="non-integer"):
        HGBR(categorical_features=[0]).fit(X_frac, y)
    with pytest.raises(ValueError, match="indices"):
        HGBR(categorical_features=[7]).fit(X, y)
    with pytest.raises(ValueError, match="categorical"):
        HGBR(categorical_features=[0], monotonic_cst=[1, 0, 0, 0]).fit(X, y)


# -------------------------------------------------------------------- constraints

def test_monotonic_constraints_hold_on_a_grid_sweep():
    rng = np.random.RandomState(0)
    n = 1000
    X = rng.rand(n, 3)
    y = (5 * X[:, 0] + np.sin(10 * X[:, 0]) - 5 * X[:, 1] - np.sin(10 * X[:, 1])
         + X[:, 2] + 0.5 * rng.randn(n))
    cst = [1, -1, 0]
    con = HGBR(monotonic_cst=cst, max_iter=50, early_stopping=False).fit(X, y)
    free = HGBR(max_iter=50, early_stopping=False).fit(X, y)
    grid = np.linspace(-0.1, 1.1, 121)
    free_violations = 0
    for j, sign in enumerate(cst[:2]):
        for base in X[:25]:
            rows = np.repeat(base[None], grid.size, axis=0)
            rows[:, j] = grid
            steps = sign * np.diff(con.predict(rows))
            assert steps.min() >= 0, (j, steps.min())
            free_violations += np.sum(sign * np.diff(free.predict(rows)) < -1e-9)
    assert free_violations > 0  # the sweep does catch a non-monotone model
    # skml's gain under constraints is the exact second-order one (scikit-learn's is
    # G v): a different tree, but no worse a model than scikit-learn's on fresh data
    X_new = rng.rand(n, 3)
    y_new = (5 * X_new[:, 0] + np.sin(10 * X_new[:, 0]) - 5 * X_new[:, 1]
             - np.sin(10 * X_new[:, 1]) + X_new[:, 2] + 0.5 * rng.randn(n))
    ref = SkHGBR(monotonic_cst=cst, max_iter=50, early_stopping=False).fit(X, y)
    assert con.score(X_new, y_new) >= ref.score(X_new, y_new) - 0.01
    # a dict by index gives the same model
    by_dict = HGBR(monotonic_cst={0: 1, 1: -1}, max_iter=50, early_stopping=False).fit(X, y)
    np.testing.assert_array_equal(by_dict.predict(X), con.predict(X))


def _features_on_paths(nodes):
    """Sets of features used on every root-to-leaf path of one tree."""
    out = []

    def walk(i, used):
        if nodes["is_leaf"][i]:
            out.append(frozenset(used))
            return
        used = used | {int(nodes["feature"][i])}
        walk(nodes["left"][i], used)
        walk(nodes["right"][i], used)

    walk(0, frozenset())
    return out


@pytest.mark.parametrize("cst, groups", [
    ("no_interactions", [{0}, {1}, {2}, {3}]),
    ([[0, 1], [2, 3]], [{0, 1}, {2, 3}]),
])
def test_interaction_constraints_hold_on_every_path(reg_data, cst, groups):
    X, y = reg_data
    y = y + X[:, 2] * X[:, 3]
    reg = HGBR(interaction_cst=cst, max_iter=20, early_stopping=False).fit(X, y)
    for nodes in reg._predictors.node_arrays():
        for used in _features_on_paths(nodes):
            assert any(used <= g for g in groups), used


# ------------------------------------------------------------------ early stopping

def test_early_stopping_on_given_validation_data_uses_binned_predictions():
    rng = np.random.RandomState(0)
    X = rng.rand(2000, 4)
    y = X[:, 0] + 0.5 * rng.randn(2000)
    X_val, y_val = X[1500:], y[1500:]
    reg = HGBR(max_iter=500, early_stopping=True, n_iter_no_change=5, random_state=0)
    reg.fit(X[:1500], y[:1500], X_val=X_val, y_val=y_val)
    assert reg.n_iter_ < 100
    assert reg.validation_score_.shape == (reg.n_iter_ + 1,)
    ref = SkHGBR(max_iter=500, early_stopping=True, n_iter_no_change=5, random_state=0)
    ref.fit(X[:1500], y[:1500], X_val=X_val, y_val=y_val)
    assert reg.n_iter_ == ref.n_iter_  # the same stopping rule and the same trees
    np.testing.assert_allclose(reg.validation_score_, ref.validation_score_, rtol=1e-10)
    # the binned predictions of early stopping equal predict() on the raw values
    expected = -0.5 * np.mean((y_val - reg.predict(X_val)) ** 2)
    assert reg.validation_score_[-1] == pytest.approx(expected, rel=1e-12)


def test_early_stopping_auto_and_validation_fraction():
    rng = np.random.RandomState(0)
    X = rng.rand(11_000, 2)
    y = (X[:, 0] + 0.5 * rng.randn(11_000) > 0.5).astype(int)
    clf = HGBC(max_iter=300, random_state=0).fit(X, y)  # > 10,000 samples: on
    assert clf.do_early_stopping_ and clf.n_iter_ < 300
    assert clf.train_score_.shape == clf.validation_score_.shape == (clf.n_iter_ + 1,)
    small = HGBC(max_iter=5).fit(X[:500], y[:500])
    assert not small.do_early_stopping_ and small.n_iter_ == 5
    scored = HGBC(max_iter=300, early_stopping=True, scoring="accuracy",
                  random_state=0).fit(X[:3000], y[:3000])
    assert scored.n_iter_ < 300 and np.all(scored.validation_score_ <= 1)


def test_validation_data_bad_input(reg_data):
    X, y = reg_data
    with pytest.raises(ValueError, match="X_val and y_val"):
        HGBR().fit(X, y, X_val=X[:10])
    with pytest.raises(ValueError, match="X_val and y_val"):
        HGBR().fit(X, y, y_val=y[:10])
    with pytest.raises(ValueError, match="early_stopping=False"):
        HGBR(early_stopping=False).fit(X, y, X_val=X[:10], y_val=y[:10])
    # "auto" stops on given validation data even below 10,001 samples
    reg = HGBR(max_iter=3).fit(X, y, X_val=X[:10], y_val=y[:10])
    assert reg.do_early_stopping_ and len(reg.validation_score_) == reg.n_iter_ + 1


# ------------------------------------------------------------------- other features

def test_thresholds_keep_float64_resolution():
    """Values 1e-10 apart (one float32 value) are still split correctly."""
    x = 1.0 + np.arange(40) * 1e-10
    assert np.unique(x.astype(np.float32)).size == 1
    y = (np.arange(40) >= 20).astype(float)
    reg = HGBR(max_iter=1, learning_rate=1.0, min_samples_leaf=1, max_depth=1,
               early_stopping=False).fit(x[:, None], y)
    np.testing.assert_allclose(reg.predict(x[:, None]), y, atol=1e-12)


def test_staged_predictions_end_at_the_final_ones():
    X, y = load_breast_cancer(return_X_y=True)
    clf = HGBC(max_iter=15, early_stopping=False).fit(X, y)
    probas = list(clf.staged_predict_proba(X))
    assert len(probas) == 15
    np.testing.assert_allclose(probas[-1], clf.predict_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(list(clf.staged_predict(X))[-1], clf.predict(X))
    losses = [log_loss(y, p) for p in probas]
    assert np.all(np.diff(losses) < 0)
    dec = list(clf.staged_decision_function(X))[-1]
    np.testing.assert_allclose(dec, clf.decision_function(X))


def test_multiclass_probabilities():
    X, y = load_digits(return_X_y=True)
    clf = HGBC(max_iter=5, max_leaf_nodes=8).fit(X[:600], y[:600])
    assert clf.n_trees_per_iteration_ == 10
    p = clf.predict_proba(X[600:900])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.mean(clf.predict(X[600:900]) == y[600:900]) > 0.75


def test_class_weight_is_sample_weight():
    X, y = load_breast_cancer(return_X_y=True)
    a = HGBC(class_weight="balanced", max_iter=10).fit(X, y)
    b = HGBC(max_iter=10).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_warm_start_equals_one_fit(reg_data):
    X, y = reg_data
    warm = HGBR(max_iter=10, warm_start=True, early_stopping=False).fit(X, y)
    warm.set_params(max_iter=25).fit(X, y)
    cold = HGBR(max_iter=25, early_stopping=False).fit(X, y)
    assert warm.n_iter_ == 25
    np.testing.assert_allclose(warm.predict(X), cold.predict(X), rtol=1e-12)


def test_results_do_not_depend_on_the_thread_count(reg_data):
    X, y = reg_data
    X = np.tile(X, (40, 1))  # big enough for several threads in every kernel
    y = np.tile(y, 40)
    with threadpool_limits(1, user_api="openmp"):
        one = HGBR(max_iter=5, early_stopping=False).fit(X, y).predict(X)
    with threadpool_limits(2, user_api="openmp"):
        two = HGBR(max_iter=5, early_stopping=False).fit(X, y).predict(X)
    np.testing.assert_array_equal(one, two)


def test_feature_importances_are_total_gain(reg_data):
    X, y = reg_data
    reg = HGBR(max_iter=20, early_stopping=False).fit(X, y)
    imp = reg.feature_importances_
    assert imp.sum() == pytest.approx(1.0)
    assert set(np.argsort(imp)[-2:]) == {0, 1}


def test_max_leaf_nodes_and_depth_are_respected(reg_data):
    X, y = reg_data
    reg = HGBR(max_iter=5, max_leaf_nodes=7, early_stopping=False).fit(X, y)
    for nodes in reg._predictors.node_arrays():
        assert nodes["is_leaf"].sum() <= 7
    reg = HGBR(max_iter=5, max_leaf_nodes=None, max_depth=2, early_stopping=False).fit(X, y)
    for nodes in reg._predictors.node_arrays():
        assert nodes["is_leaf"].sum() <= 4
    reg = HGBR(max_iter=5, min_samples_leaf=100, early_stopping=False).fit(X, y)
    for nodes in reg._predictors.node_arrays():
        assert nodes["count"][nodes["is_leaf"] == 1].min() >= 100


# ----------------------------------------------------------------------- bad input

def test_bad_input_is_rejected(reg_data):
    X, y = reg_data
    for bad in (np.nan, np.inf):
        y_bad = y.copy()
        y_bad[0] = bad
        with pytest.raises(ValueError, match="y"):
            HGBR().fit(X, y_bad)
    with pytest.raises(ValueError, match="float32"):  # was: NaN predictions
        HGBR().fit(X, y * 1e300)
    assert np.all(np.isfinite(HGBR(max_iter=3).fit(X, y * 1e37).predict(X)))
    with pytest.raises(ValueError, match="NaN"):
        HGBC().fit(X, np.where(np.arange(len(y)) == 0, np.nan, y > 0))
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        HGBR(learning_rate=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        HGBC(learning_rate=-1.0).fit(X, y > 0)
    with pytest.raises(ValueError, match="quantile"):
        HGBR(loss="quantile").fit(X, y)
    with pytest.raises(ValueError, match="poisson"):
        HGBR(loss="poisson").fit(X, y - 10)
    with pytest.raises(ValueError, match="monotonic_cst"):
        HGBR(monotonic_cst=[1, 0]).fit(X, y)
    with pytest.raises(ValueError, match="multiclass"):
        HGBC(monotonic_cst=[1, 0, 0, 0]).fit(X, np.arange(len(y)) % 3)
    with pytest.raises(ValueError, match="interaction_cst"):
        HGBR(interaction_cst=[[0, 9]]).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        HGBR(max_iter=2).fit(X, y).predict(X[:, :3])


# ------------------------------------------------------------- property over inputs

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 80), p=st.integers(1, 4),
       max_bins=st.integers(2, 255), scale=st.sampled_from([1.0, 1e-300, 1e300]),
       ties=st.booleans(), categorical=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_any_input_fits_and_binned_prediction_equals_predict(seed, n, p, max_bins, scale,
                                                             ties, categorical, dtype):
    """Whatever the shapes, bins, magnitudes, ties, NaN/inf and categorical columns:
    fit succeeds, predictions are finite, and the validation loss that early stopping
    computes on the binned data equals the loss of ``predict`` on the raw values."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p) * scale
    if ties:
        X = np.round(X / scale * 2) * scale
    X[rng.rand(n, p) < 0.1] = np.nan
    X[rng.rand(n, p) < 0.05] = np.inf
    cat = None
    if categorical:
        X[:, 0] = rng.randint(0, min(max_bins, 12), n)
        X[rng.rand(n) < 0.1, 0] = np.nan
        cat = [0]
    with np.errstate(over="ignore"):
        X = X.astype(dtype)
    y = rng.randn(n)
    reg = HGBR(max_iter=3, max_bins=max_bins, min_samples_leaf=1, categorical_features=cat,
               early_stopping=True, n_iter_no_change=10).fit(X, y, X_val=X, y_val=y)
    pred = reg.predict(X)
    assert np.all(np.isfinite(pred))
    assert reg.validation_score_[-1] == pytest.approx(-0.5 * np.mean((y - pred) ** 2),
                                                      rel=1e-12, abs=1e-12)
