"""The KD-tree kernel against a plain NumPy brute-force reference."""
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skml.neighbors import KDTree
from tests._layouts import as_layout

METRICS = ["euclidean", "sqeuclidean", "manhattan", "chebyshev", "minkowski"]
P = 3.0


def _libm_pow(a, e):
    """C's pow, as the kernel calls it: NumPy's vectorised power may round differently
    in the last bit, which moves a point sitting exactly on a radius boundary."""
    return np.vectorize(lambda v: math.pow(v, e), otypes=[np.float64])(a)


def surrogate(Q, X, metric):
    """What the kernel compares (the keys of ``_dist_keys.pxd``), accumulated feature by
    feature in float64 (the kernel's order, so that equal distances come out exactly
    equal on both sides). Minkowski is in the scaled form m (sum (|t| / m)^p)^(1/p)."""
    Q = np.asarray(Q, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    s = np.zeros((Q.shape[0], X.shape[0]))
    T = np.abs(Q[:, None, :] - X[None, :, :])
    if metric == "minkowski":
        m = T.max(axis=2)
        inv = 1.0 / np.where(m == 0, 1.0, m)
        for j in range(Q.shape[1]):
            # the maximum's own ratio is exactly 1 (never 1 - 2**-53)
            s = s + _libm_pow(np.where(T[:, :, j] == m, 1.0, T[:, :, j] * inv), P)
        return np.where(m == 0, 0.0, m * _libm_pow(s, 1.0 / P))
    for j in range(Q.shape[1]):
        t = T[:, :, j]
        if metric in ("euclidean", "sqeuclidean"):
            s = s + t * t
        elif metric == "manhattan":
            s = s + t
        else:
            s = np.maximum(s, t)
    return s


def finalize(s, metric):
    if metric == "euclidean":
        return np.sqrt(s)
    return s


def reference_knn(Q, X, k, metric):
    """k smallest distances per row, ties to the smaller index."""
    D = finalize(surrogate(Q, X, metric), metric)
    idx = np.arange(X.shape[0])
    ind = np.array([np.lexsort((idx, row))[:k] for row in D], dtype=np.intp).reshape(-1, k)
    return np.take_along_axis(D, ind, 1), ind


def make_points(n, d, dtype, grid, seed):
    """Random points; with ``grid`` on a small integer grid, so that duplicate points and
    exactly tied distances are everywhere."""
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 3, size=(n, d)) if grid else rng.randn(n, d) * 10
    return X.astype(dtype)


trees = st.tuples(
    st.integers(1, 70),  # training rows
    st.integers(0, 20),  # query rows (0 included)
    st.integers(1, 5),  # features (1 included)
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from(["C", "F", "strided", "readonly"]),
    st.booleans(),  # integer grid: duplicates and ties
    st.integers(1, 12),  # leaf_size
    st.sampled_from(METRICS),
    st.integers(0, 2**31 - 1),
)


@settings(max_examples=120, deadline=None)
@given(trees, st.integers(1, 80))
def test_query_matches_brute_force_reference(spec, k):
    n, m, d, dtype, kind, grid, leaf_size, metric, seed = spec
    X = make_points(n, d, dtype, grid, seed)
    Q = make_points(m, d, dtype, grid, seed + 1)
    k = min(k, n)  # k = n happens often
    tree = KDTree(as_layout(X, kind), leaf_size=leaf_size, metric=metric, p=P)
    dist, ind = tree.query(as_layout(Q, kind), k=k)
    ref_dist, ref_ind = reference_knn(Q, X, k, metric)
    assert dist.dtype == np.float64 and ind.shape == (m, k)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-14, atol=0)


@settings(max_examples=80, deadline=None)
@given(trees, st.floats(0.0, 1.0))
def test_query_radius_matches_brute_force_reference(spec, quantile):
    n, m, d, dtype, kind, grid, leaf_size, metric, seed = spec
    X = make_points(n, d, dtype, grid, seed)
    Q = make_points(m, d, dtype, grid, seed + 1)
    tree = KDTree(as_layout(X, kind), leaf_size=leaf_size, metric=metric, p=P)
    S = surrogate(Q, X, metric)
    D = finalize(S, metric)
    # a radius equal to an actual distance puts points exactly on the boundary
    r = float(np.quantile(D, quantile)) if m else 1.0
    r_sur = {"euclidean": r * r}.get(metric, r)
    inside = S <= r_sur
    counts = tree.query_radius(Q, r, count_only=True)
    np.testing.assert_array_equal(counts, inside.sum(axis=1))
    ind, dist = tree.query_radius(as_layout(Q, kind), r, return_distance=True,
                                  sort_results=True)
    unsorted = tree.query_radius(Q, r)
    idx = np.arange(n)
    for i in range(m):
        expected = np.flatnonzero(inside[i])
        order = np.lexsort((expected, D[i, expected]))
        np.testing.assert_array_equal(ind[i], expected[order])
        np.testing.assert_allclose(dist[i], D[i, expected[order]], rtol=1e-14, atol=0)
        np.testing.assert_array_equal(np.sort(unsorted[i]), expected)
    assert len(idx) == n


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_points_identical(dtype):
    X = np.ones((50, 2), dtype=dtype)
    tree = KDTree(X, leaf_size=3)
    dist, ind = tree.query(np.ones((2, 2)), k=50)
    np.testing.assert_array_equal(ind, np.tile(np.arange(50), (2, 1)))
    assert np.all(dist == 0)


def test_results_do_not_depend_on_threads_or_leaf_size():
    rng = np.random.RandomState(0)
    X = np.round(rng.rand(3000, 3) * 20)  # many ties
    Q = np.round(rng.rand(700, 3) * 20)
    ref = KDTree(X, leaf_size=40, n_jobs=1).query(Q, k=7, n_jobs=1)
    for leaf_size, n_jobs in [(1, 2), (5, -1), (100, None), (3000, 2)]:
        got = KDTree(X, leaf_size=leaf_size, n_jobs=n_jobs).query(Q, k=7, n_jobs=n_jobs)
        np.testing.assert_array_equal(got[1], ref[1])
        np.testing.assert_array_equal(got[0], ref[0])


def test_parallel_build_gives_the_serial_tree():
    X = np.random.RandomState(0).rand(40000, 3)  # big enough for threads in the build
    serial, parallel = KDTree(X, n_jobs=1), KDTree(X, n_jobs=2)
    np.testing.assert_array_equal(parallel.idx_array, serial.idx_array)
    np.testing.assert_array_equal(parallel.node_bounds, serial.node_bounds)
    np.testing.assert_array_equal(parallel._data, X[serial.idx_array])
    dist, ind = parallel.query(X[:500], k=3)
    assert np.all(ind[:, 0] == np.arange(500)) and np.all(dist[:, 0] == 0)


def test_leaves_hold_leaf_size_to_twice_leaf_size_points():
    X = np.random.RandomState(0).rand(1000, 3)
    tree = KDTree(X, leaf_size=30)
    n_leaves = (len(tree.node_start) + 1) // 2
    sizes = (tree.node_end - tree.node_start)[-n_leaves:]
    assert sizes.sum() == 1000 and sizes.min() >= 30 and sizes.max() <= 60
    assert sorted(tree.idx_array) == list(range(1000))
    for node in range(len(tree.node_start)):  # boxes enclose their points
        pts = X[tree.idx_array[tree.node_start[node]:tree.node_end[node]]]
        np.testing.assert_array_equal(tree.node_bounds[node, 0], pts.min(axis=0))
        np.testing.assert_array_equal(tree.node_bounds[node, 1], pts.max(axis=0))


def test_pickle_and_independence_from_the_input():
    X = np.random.RandomState(0).rand(200, 2)
    tree = KDTree(X, leaf_size=4)
    before = tree.query(X[:10], k=3)
    X[:] = 0  # the tree keeps its own copy
    loaded = pickle.loads(pickle.dumps(tree))
    for t in (tree, loaded):
        got = t.query(np.random.RandomState(0).rand(200, 2)[:10], k=3)
        np.testing.assert_array_equal(got[1], before[1])


def test_bad_input_is_refused_clearly():
    X = np.random.RandomState(0).rand(10, 2)
    with pytest.raises(ValueError, match="cosine"):
        KDTree(X, metric="cosine")
    with pytest.raises(ValueError, match="not valid for algorithm 'kd_tree'"):
        KDTree(X, metric="hamming")
    with pytest.raises(ValueError, match="metric must be one of"):
        KDTree(X, metric="no-such-metric")
    with pytest.raises(ValueError, match="leaf_size must be in"):
        KDTree(X, leaf_size=0)
    with pytest.raises(ValueError, match="NaN"):
        KDTree(np.array([[0.0, np.nan]]))
    tree = KDTree(X)
    with pytest.raises(ValueError, match="k must be in"):
        tree.query(X, k=11)
    with pytest.raises(ValueError, match="3 features, but the tree was built on 2"):
        tree.query(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="r must be finite and >= 0"):
        tree.query_radius(X, -1.0)
    with pytest.raises(ValueError, match="sort_results"):
        tree.query_radius(X, 1.0, sort_results=True)
