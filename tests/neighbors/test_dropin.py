"""scikit-learn's neighbours API on skml's classes: the ball tree, metric parameters,
precomputed and callable metrics, Minkowski p < 1, radius estimators, graph functions;
each against scikit-learn's own result or a NumPy/SciPy reference."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.distance import cdist
from sklearn import neighbors as sk
from sklearn.datasets import load_iris
from sklearn.model_selection import cross_val_score

from skml.neighbors import (
    BallTree,
    KDTree,
    KNeighborsClassifier,
    KNeighborsRegressor,
    NearestNeighbors,
    RadiusNeighborsClassifier,
    RadiusNeighborsRegressor,
    kneighbors_graph,
    radius_neighbors_graph,
)
from skml.neighbors._graph import KNeighborsTransformer, RadiusNeighborsTransformer


def data(seed=0, n=120, m=30, d=4):
    rng = np.random.RandomState(seed)
    return rng.randn(n, d), rng.randn(m, d)


def assert_same_neighbours(ours, ref, rtol=1e-12):
    """Equal distances; equal indices wherever the reference has no near-tie."""
    (d1, i1), (d2, i2) = ours, ref
    assert_allclose(d1, d2, rtol=rtol, atol=1e-12)
    gaps = np.diff(np.sort(d2, axis=1), axis=1)
    rows = np.all(gaps > 1e-9, axis=1) if gaps.size else np.ones(len(d2), bool)
    assert rows.mean() > 0.8
    assert_array_equal(i1[rows], i2[rows])


# --------------------------------------------------------------------------- ball tree


@pytest.mark.filterwarnings("ignore:Parameter p is found in metric_params")
@pytest.mark.parametrize("metric,params", [
    ("euclidean", {}), ("manhattan", {}), ("chebyshev", {}),
    ("minkowski", {"p": 3.0}), ("minkowski", {"p": 1.5, "w": np.arange(1.0, 5.0)}),
    ("seuclidean", {"V": np.array([1.0, 2.0, 0.5, 3.0])}),
])
def test_ball_tree_matches_scikit_learn_and_brute_force(metric, params):
    X, Q = data()
    ours = BallTree(X, leaf_size=5, metric=metric, **params)
    theirs = sk.BallTree(X, leaf_size=5, metric=metric, **params)
    assert_same_neighbours(ours.query(Q, k=6), theirs.query(Q, k=6))
    d, i = ours.query(Q, k=6)
    brute = NearestNeighbors(n_neighbors=6, algorithm="brute", metric=metric,
                             metric_params=params or None).fit(X).kneighbors(Q)
    assert_array_equal(i, brute[1])  # the same exact distances, bit for bit
    assert_array_equal(d, brute[0])
    r = float(np.median(d[:, 3]))
    for a, b in zip(ours.query_radius(Q, r), theirs.query_radius(Q, r)):
        assert_array_equal(np.sort(a), np.sort(b))
    assert_array_equal(ours.data, X)


def test_ball_tree_mahalanobis_and_its_refusals():
    X, Q = data(1)
    A = np.random.RandomState(2).rand(4, 4)
    VI = A @ A.T + np.eye(4)
    ours = BallTree(X, metric="mahalanobis", VI=VI).query(Q, k=4)
    ref = cdist(Q, X, "mahalanobis", VI=VI)
    assert_allclose(ours[0], np.sort(ref, axis=1)[:, :4], rtol=1e-10)
    assert_array_equal(ours[1], np.argsort(ref, axis=1)[:, :4])
    with pytest.raises(ValueError, match="computed by brute force"):
        BallTree(X, metric="haversine")
    with pytest.raises(ValueError, match="does not support 0 < p < 1"):
        BallTree(X, p=0.5)


trees = st.tuples(
    st.integers(1, 60), st.integers(1, 12), st.integers(1, 4),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([-1000, 0, 1000]),  # power of two of the magnitude
    st.sampled_from(["euclidean", "sqeuclidean", "manhattan", "chebyshev", "minkowski"]),
    st.sampled_from([1.5, 3.0, 300.0]),
    st.integers(1, 8), st.integers(0, 2**31 - 1),
)


@settings(max_examples=40, deadline=None)
@given(trees, st.integers(1, 60), st.floats(0.0, 1.0))
def test_ball_tree_equals_brute_force_on_grids(spec, k, quantile):
    n, m, d, dtype, e, metric, p, leaf_size, seed = spec
    if dtype == np.float32:
        e = int(np.clip(e, -60, 60))
    rng = np.random.RandomState(seed)
    X = (rng.randint(0, 3, size=(n, d)) * 2.0**e).astype(dtype)  # ties everywhere
    Q = (rng.randint(0, 3, size=(m, d)) * 2.0**e).astype(dtype)
    k = min(k, n)
    kw = {"metric": metric, "p": p}
    brute = NearestNeighbors(n_neighbors=k, algorithm="brute", **kw).fit(X)
    ball = NearestNeighbors(n_neighbors=k, algorithm="ball_tree", leaf_size=leaf_size,
                            **kw).fit(X)
    assert ball._fit_method == "ball_tree"
    for a, b in zip(brute.kneighbors(Q), ball.kneighbors(Q)):
        assert_array_equal(a, b)
    # (squared distances of 2**1000-sized coordinates overflow to inf: a finite radius
    # then leaves the graph empty on both)
    dist = brute.kneighbors(Q)[0]
    dist = dist[np.isfinite(dist)]
    r = float(np.quantile(dist, quantile)) if dist.size else float(np.finfo(dtype).max)
    g1 = brute.radius_neighbors_graph(Q, r, mode="distance", sort_results=True)
    g2 = ball.radius_neighbors_graph(Q, r, mode="distance", sort_results=True)
    for a, b in [(g1.indptr, g2.indptr), (g1.indices, g2.indices), (g1.data, g2.data)]:
        assert_array_equal(a, b)


# --------------------------------------------------------------------------- metrics


@pytest.mark.filterwarnings("ignore:Parameter p is found in metric_params")
@pytest.mark.parametrize("algorithm", ["brute", "ball_tree", "auto"])
@pytest.mark.parametrize("metric,params", [
    ("minkowski", {"p": 3, "w": np.array([1.0, 0.5, 2.0, 1.0])}),
    ("seuclidean", {"V": np.array([1.0, 2.0, 0.5, 3.0])}),
    ("mahalanobis", {"VI": np.diag([1.0, 2.0, 0.5, 3.0]) + 0.1}),
    ("haversine", None), ("hamming", None), ("correlation", None), ("canberra", None),
])
def test_metric_params_and_scikit_learn_metrics(metric, params, algorithm):
    X, Q = data(3)
    if metric == "haversine":
        X, Q = X[:, :2], Q[:, :2]
    if metric == "hamming":
        X, Q = (X > 0).astype(float), (Q > 0).astype(float)
    if algorithm == "ball_tree" and metric == "correlation":
        algorithm = "brute"  # not a ball-tree metric in scikit-learn either
    kw = dict(n_neighbors=5, metric=metric, metric_params=params, algorithm=algorithm)
    ours = NearestNeighbors(**kw).fit(X)
    theirs = sk.NearestNeighbors(**kw).fit(X)
    assert ours.effective_metric_ == theirs.effective_metric_
    if metric != "hamming":  # hamming on 0/1 data: ties everywhere
        assert_same_neighbours(ours.kneighbors(Q), theirs.kneighbors(Q), rtol=1e-9)
    else:
        assert_allclose(ours.kneighbors(Q)[0], theirs.kneighbors(Q)[0])


def test_callable_and_distance_metric_objects():
    from sklearn.metrics import DistanceMetric

    X, Q = data(4)

    def l1(a, b):
        return np.abs(a - b).sum()

    for metric in (l1, DistanceMetric.get_metric("manhattan")):
        for algorithm in ("brute", "ball_tree", "auto"):
            got = NearestNeighbors(n_neighbors=4, metric=metric,
                                   algorithm=algorithm).fit(X).kneighbors(Q)
            ref = cdist(Q, X, "cityblock")
            assert_allclose(got[0], np.sort(ref, axis=1)[:, :4], rtol=1e-12)
    with pytest.raises(ValueError, match="kd_tree does not support callable metric"):
        NearestNeighbors(metric=l1, algorithm="kd_tree").fit(X)


def test_precomputed_distances_give_the_same_models():
    X, y = load_iris(return_X_y=True)
    # (without ties: on iris's one decimal, distinct squared distances round to equal
    # distances, which rank by key natively and by index when precomputed)
    X = X + np.random.RandomState(0).rand(*X.shape) * 1e-3
    D = cdist(X, X)
    for Est in (KNeighborsClassifier, KNeighborsRegressor, RadiusNeighborsClassifier,
                RadiusNeighborsRegressor):
        a = cross_val_score(Est(), X, y)
        b = cross_val_score(Est(metric="precomputed"), D, y)
        assert_array_equal(a, b)
    nn = NearestNeighbors(n_neighbors=3, metric="precomputed").fit(D)
    ref = NearestNeighbors(n_neighbors=3).fit(X)
    assert_array_equal(nn.kneighbors(D[:20])[1], ref.kneighbors(X[:20])[1])
    assert_array_equal(nn.kneighbors()[1], ref.kneighbors()[1])
    with pytest.raises(ValueError, match="Negative values"):
        nn.kneighbors(-D[:2])


@pytest.mark.parametrize("Est", [KNeighborsClassifier, KNeighborsRegressor])
def test_minkowski_below_one_is_a_brute_force_dissimilarity(Est):
    X, Q = data(5)
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(UserWarning, match="0 < p < 1, Minkowski metrics are not distance"):
        est = Est(p=0.5).fit(X, y)
    assert est._fit_method == "brute"
    ref = (np.abs(Q[:, None, :] - X[None]) ** 0.5).sum(-1) ** 2
    dist, ind = est.kneighbors(Q)
    assert_array_equal(ind, np.argsort(ref, axis=1)[:, :5])
    assert_allclose(dist, np.sort(ref, axis=1)[:, :5], rtol=1e-12)
    with pytest.raises(ValueError, match='algorithm="kd_tree" does not support 0 < p'):
        Est(p=0.5, algorithm="kd_tree").fit(X, y)


def test_p_in_metric_params_warns_and_wins():
    X, Q = data(6)
    with pytest.warns(SyntaxWarning, match="Parameter p is found in metric_params"):
        nn = NearestNeighbors(metric_params={"p": 1}).fit(X)
    assert nn.effective_metric_ == "manhattan"


# --------------------------------------------------------------- radius estimators


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "ball_tree"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_radius_estimators_match_scikit_learn(algorithm, weights):
    X, y = load_iris(return_X_y=True)
    X = X + np.random.RandomState(0).rand(*X.shape) * 1e-3  # no ties at the radius
    Xtr, ytr, Xte = X[::2], y[::2], X[1::2]
    kw = dict(radius=0.6, weights=weights, algorithm=algorithm)
    ours = RadiusNeighborsClassifier(outlier_label="most_frequent", **kw).fit(Xtr, ytr)
    theirs = sk.RadiusNeighborsClassifier(outlier_label="most_frequent", **kw)
    theirs.fit(Xtr, ytr)
    assert_array_equal(ours.predict(Xte), theirs.predict(Xte))
    assert_allclose(ours.predict_proba(Xte), theirs.predict_proba(Xte), rtol=1e-10)
    reg, sreg = RadiusNeighborsRegressor(**kw), sk.RadiusNeighborsRegressor(**kw)
    far = Xte + 10 * (np.arange(len(Xte)) % 7 == 0)[:, None]  # some without neighbours
    ytr = ytr * 1.0  # (scikit-learn casts the NaN of an integer target to -2**63)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a, b = reg.fit(Xtr, ytr).predict(far), sreg.fit(Xtr, ytr).predict(far)
    assert np.isnan(a).sum() > 0
    assert_allclose(a, b, rtol=1e-10)


def test_radius_classifier_outliers():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    clf = RadiusNeighborsClassifier(radius=0.5).fit(X, y)
    with pytest.raises(ValueError, match="No neighbors found for test samples"):
        clf.predict([[10.0]])
    clf = RadiusNeighborsClassifier(radius=0.5, outlier_label=7).fit(X, y)
    with pytest.warns(UserWarning, match="Outlier label 7 is not in training classes"):
        assert_array_equal(clf.predict([[10.0], [0.1]]), [7, 0])
    with pytest.raises(TypeError, match="inconsistent with classes"):
        RadiusNeighborsClassifier(outlier_label="a").fit(X, y)


# --------------------------------------------------------------- graphs, fitted inputs


def test_graph_functions_and_transformers_match_scikit_learn():
    X, _ = data(7, n=60)
    for include_self in (False, True):
        for mode in ("connectivity", "distance"):
            a = kneighbors_graph(X, 4, mode=mode, include_self=include_self)
            b = sk.kneighbors_graph(X, 4, mode=mode, include_self=include_self)
            assert_allclose(a.toarray(), b.toarray(), rtol=1e-12)
            a = radius_neighbors_graph(X, 1.2, mode=mode, include_self=include_self)
            b = sk.radius_neighbors_graph(X, 1.2, mode=mode, include_self=include_self)
            assert_allclose(a.toarray(), b.toarray(), rtol=1e-12)
    a = KNeighborsTransformer(n_neighbors=4).fit_transform(X)
    b = sk.KNeighborsTransformer(n_neighbors=4).fit_transform(X)
    assert_allclose(a.toarray(), b.toarray(), rtol=1e-12)
    a = RadiusNeighborsTransformer(radius=1.2).fit_transform(X)
    b = sk.RadiusNeighborsTransformer(radius=1.2).fit_transform(X)
    assert_allclose(a.toarray(), b.toarray(), rtol=1e-12)
    nn = NearestNeighbors(metric="manhattan").fit(X)
    with pytest.raises(ValueError, match="while the estimator has"):
        kneighbors_graph(nn, 3, metric="euclidean")


def test_fit_on_a_fitted_estimator_or_tree_and_per_query_radii():
    X, Q = data(8)
    ref = NearestNeighbors(n_neighbors=3).fit(X).kneighbors(Q)
    for source in (NearestNeighbors().fit(X), KDTree(X), BallTree(X)):
        got = KNeighborsRegressor(n_neighbors=3).fit(source, X[:, 0]).kneighbors(Q)
        assert_array_equal(got[1], ref[1])
    r = np.linspace(0.5, 1.5, len(Q))
    for algorithm in ("brute", "kd_tree", "ball_tree"):
        ind = NearestNeighbors(algorithm=algorithm).fit(X).radius_neighbors(
            Q, radius=r, return_distance=False)
        D = cdist(Q, X)
        for i in range(len(Q)):
            assert_array_equal(np.sort(ind[i]), np.flatnonzero(D[i] <= r[i]))
