"""The neighbour estimators on inputs that broke them: extreme magnitudes, large Minkowski
orders, exact ties (brute force and the trees must agree bit for bit), data far from the
origin, and weights that leave a query without a vote."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.distance import cdist

from skml.neighbors import (
    KDTree,
    KNeighborsClassifier,
    KNeighborsRegressor,
    NearestNeighbors,
)


def keys(Q, X, metric, p=None):
    """The exact keys every algorithm ranks by (``_dist_keys.pxd``), in NumPy, summed
    feature by feature in order: squared sums for euclidean, the scaled form
    m (sum (|t| / m)^p)^(1/p) for minkowski."""
    T = np.abs(np.asarray(Q, float)[:, None, :] - np.asarray(X, float)[None, :, :])
    if metric == "minkowski":
        m = T.max(axis=2)
        inv = 1.0 / np.where(m == 0, 1.0, m)
        acc = np.zeros(m.shape)
        for j in range(T.shape[2]):
            # the maximum's own ratio is exactly 1 (never 1 - 2**-53)
            acc = acc + np.where(T[:, :, j] == m, 1.0, T[:, :, j] * inv) ** p
        return np.where(m == 0, 0.0, m * acc ** (1.0 / p))
    acc = np.zeros(T.shape[:2])
    for j in range(T.shape[2]):
        acc = acc + T[:, :, j] ** 2 if metric == "euclidean" else acc + T[:, :, j]
    return acc


# --------------------------------------------------------------------------- issue 11 §1


def test_kneighbors_graph_of_huge_values_has_valid_indices():
    X = np.random.RandomState(0).randn(50, 2)
    nn = NearestNeighbors(n_neighbors=5, algorithm="brute").fit(X * 1e160)
    G = nn.kneighbors_graph(mode="distance")
    assert G.indices.max() < 50  # was 50: G + G.T aborted the interpreter
    H = NearestNeighbors(n_neighbors=5, algorithm="brute").fit(X).kneighbors_graph(
        mode="distance")
    assert_array_equal(G.indices, H.indices)
    assert_allclose(G.data, H.data * 1e160, rtol=1e-13)
    assert (G + G.T).shape == (50, 50)


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_minkowski_with_p_1000(algorithm):
    # (an IndexError by brute force; the KD-tree returned 0 or inf distances)
    rng = np.random.RandomState(0)
    X, y = rng.randn(60, 20), rng.randn(60)
    Q = rng.randn(10, 20)
    reg = KNeighborsRegressor(7, metric="minkowski", p=1000.0, algorithm=algorithm)
    pred = reg.fit(X, y).predict(Q)
    # reference: extended precision, independent of the kernels' scaled form
    T = np.abs(Q[:, None, :].astype(np.longdouble) - X[None, :, :])
    D = (T.max(axis=2) * ((T / T.max(axis=2)[:, :, None]) ** 1000).sum(axis=2)
         ** np.longdouble(1e-3)).astype(float)
    ind = np.argsort(D, axis=1, kind="stable")[:, :7]
    assert_allclose(pred, y[ind].mean(axis=1), rtol=1e-12)
    dist, got = reg.kneighbors(Q)
    assert_array_equal(got, ind)
    assert_allclose(dist, np.take_along_axis(D, ind, 1), rtol=1e-13)
    # the full 60-point regressor of the report
    assert np.isfinite(KNeighborsRegressor(50, metric="minkowski", p=1000.0,
                                           algorithm=algorithm).fit(X, y).predict(Q)).all()


# --------------------------------------------------------------------------- issue 11 §2


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_data_far_from_the_origin(algorithm):
    rng = np.random.RandomState(1)
    X, Q = 1e8 + rng.rand(400, 3), 1e8 + rng.rand(60, 3)
    dist, ind = NearestNeighbors(n_neighbors=4, algorithm=algorithm).fit(X).kneighbors(Q)
    D = cdist(Q, X)
    assert_array_equal(ind, np.argsort(D, axis=1, kind="stable")[:, :4])
    assert_allclose(dist, np.sort(D, axis=1)[:, :4], rtol=1e-14)
    X32 = (1e4 + rng.rand(400, 3)).astype(np.float32)
    Q32 = (1e4 + rng.rand(60, 3)).astype(np.float32)
    D32 = cdist(Q32.astype(float), X32.astype(float))
    ind32 = NearestNeighbors(n_neighbors=4, algorithm=algorithm).fit(X32).kneighbors(
        Q32, return_distance=False)
    assert_array_equal(ind32, np.argsort(D32, axis=1, kind="stable")[:, :4])


# --------------------------------------------------------------------------- issue 11 §3


def rounded_points(n, d, seed):
    return np.round(np.random.RandomState(seed).rand(n, d), 1)


def test_brute_and_kd_tree_agree_on_data_with_exact_ties():
    # 500 points rounded to 0.1: predictions differed for 1.8% of points and the radius
    # graph had 2218 vs 2196 entries
    X = rounded_points(500, 3, 0)
    y = (X.sum(axis=1) * 10).astype(int) % 3
    Q = rounded_points(200, 3, 1)
    models = {a: KNeighborsClassifier(n_neighbors=7, algorithm=a).fit(X, y)
              for a in ("brute", "kd_tree")}
    assert_array_equal(models["brute"].predict(Q), models["kd_tree"].predict(Q))
    assert_array_equal(models["brute"].predict_proba(Q), models["kd_tree"].predict_proba(Q))
    for q in (Q, None):
        d1, i1 = models["brute"].kneighbors(q)
        d2, i2 = models["kd_tree"].kneighbors(q)
        assert_array_equal(i1, i2)
        assert_array_equal(d1, d2)
    graphs = [NearestNeighbors(radius=0.3, algorithm=a).fit(X).radius_neighbors_graph(
        Q, mode="distance", sort_results=True) for a in ("brute", "kd_tree")]
    assert graphs[0].nnz == graphs[1].nnz
    assert_array_equal(graphs[0].indptr, graphs[1].indptr)
    assert_array_equal(graphs[0].indices, graphs[1].indices)
    assert_array_equal(graphs[0].data, graphs[1].data)
    # and both are the exact answer: keys <= 0.3 ** 2 (the boundary holds exact ties)
    K = keys(Q, X, "euclidean")
    assert np.any(np.abs(K - 0.09) < 1e-15)
    assert graphs[0].nnz == np.sum(K <= 0.3 * 0.3)


trees = st.tuples(
    st.integers(1, 60),  # training rows
    st.integers(1, 15),  # query rows
    st.integers(1, 4),  # features
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([-1000, 0, 500, 1000]),  # power of two of the magnitude
    st.sampled_from(["euclidean", "manhattan", "chebyshev", "minkowski"]),
    st.sampled_from([1.5, 3.0, 200.0, 1000.0]),
    st.integers(1, 10),  # leaf size
    st.integers(0, 2**31 - 1),
)


@settings(max_examples=50, deadline=None)
@given(trees, st.integers(1, 60), st.floats(0.0, 1.0))
def test_brute_and_kd_tree_are_identical_on_grids(spec, k, quantile):
    n, m, d, dtype, e, metric, p, leaf_size, seed = spec
    if dtype == np.float32:
        e = int(np.clip(e, -60, 60))
    rng = np.random.RandomState(seed)
    X = (rng.randint(0, 3, size=(n, d)) * 2.0**e).astype(dtype)  # ties everywhere
    Q = (rng.randint(0, 3, size=(m, d)) * 2.0**e).astype(dtype)
    k = min(k, n)
    kw = {"metric": metric, "p": p} if metric == "minkowski" else {"metric": metric}
    brute = NearestNeighbors(n_neighbors=k, algorithm="brute", **kw).fit(X)
    tree = NearestNeighbors(n_neighbors=k, algorithm="kd_tree", leaf_size=leaf_size,
                            **kw).fit(X)
    d1, i1 = brute.kneighbors(Q)
    d2, i2 = tree.kneighbors(Q)
    assert_array_equal(i1, i2)
    assert_array_equal(d1, d2)
    assert i1.max() < n
    r = float(np.quantile(d1, quantile))  # on a boundary full of ties
    g1 = brute.radius_neighbors_graph(Q, r, mode="distance", sort_results=True)
    g2 = tree.radius_neighbors_graph(Q, r, mode="distance", sort_results=True)
    assert_array_equal(g1.indptr, g2.indptr)
    assert_array_equal(g1.indices, g2.indices)
    assert_array_equal(g1.data, g2.data)
    assert_array_equal(g1.indptr[-1], (KDTree(X, metric=metric, p=p).query_radius(
        Q, r, count_only=True)).sum())


# --------------------------------------------------------------------------- issue 11 §5


def test_callable_weights_that_are_all_zero_raise():
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    y = np.array([0, 1, 1, 1])

    def zero(d):
        return np.zeros_like(d)

    clf = KNeighborsClassifier(n_neighbors=2, weights=zero).fit(X, y)
    for method in (clf.predict, clf.predict_proba):  # was [[0, 0]] probabilities
        with pytest.raises(ValueError, match="zero weights"):
            method([[0.5]])
    reg = KNeighborsRegressor(n_neighbors=2, weights=zero).fit(X, y * 1.0)
    with pytest.raises(ValueError, match="zero weights"):
        reg.predict([[0.5]])
    nan = KNeighborsRegressor(n_neighbors=2, weights=lambda d: d * np.nan).fit(X, y * 1.0)
    with pytest.raises(ValueError, match="returned NaN weights"):
        nan.predict([[0.5]])
