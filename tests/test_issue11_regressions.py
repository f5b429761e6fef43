"""Issue 11 ("correctness first"), the gaps an audit of its examples and kinds found in
the neighbour search, the pairwise kernels and the estimators over them: data at the top
of the float range, and property-based tests over every search algorithm (dense and
sparse brute force, KD-tree, ball tree) and over Isomap's pipeline, with magnitudes,
offsets, ties, both dtypes and every memory layout. Every reference is computed
independently of the kernels: on the data divided by a power of two (exact), in
extended precision, then scaled back."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.sparse.csgraph import connected_components, shortest_path

from skml.manifold import Isomap
from skml.metrics import kneighbors_brute, pairwise_distances
from skml.neighbors import BallTree, KDTree, NearestNeighbors
from tests._layouts import as_layout

ALGORITHMS = ["brute", "kd_tree", "ball_tree"]


def ref_distances(Q, X, metric="euclidean", p=2.0):
    """Distances between the float values of Q and X, without overflow or cancellation:
    on the data divided by a power of two (exact; the offset, if any, is part of the
    values), differences in float64 (exact for data of one binade), sums in extended
    precision, then scaled back (inf where the true value is beyond the largest
    double)."""
    Q = np.asarray(Q, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    top = max(np.abs(Q).max(initial=0.0), np.abs(X).max(initial=0.0))
    e = int(np.frexp(top)[1]) if top > 0 else 0
    T = np.abs(np.ldexp(Q, -e)[:, None, :] - np.ldexp(X, -e)[None, :, :])
    T = T.astype(np.longdouble)
    if metric == "euclidean":
        D = np.sqrt((T * T).sum(axis=2))
    elif metric == "manhattan":
        D = T.sum(axis=2)
    elif metric == "chebyshev":
        D = T.max(axis=2)
    elif metric == "cosine":  # 1 - cos, of the scaled rows (a zero row: 1), in [0, 2]
        A, B = (np.ldexp(M, -e).astype(np.longdouble) for M in (Q, X))
        na, nb = (np.sqrt((M * M).sum(axis=1)) for M in (A, B))
        cos = (A @ B.T) / np.where(na == 0, 1, na)[:, None] / np.where(nb == 0, 1, nb)
        return np.clip(1 - cos, 0, 2).astype(np.float64)
    else:  # minkowski, in the scaled form (no overflow of |t|^p)
        m = T.max(axis=2)
        safe = np.where(m == 0, 1, m)
        D = np.where(m == 0, 0, m * ((T / safe[:, :, None]) ** np.longdouble(p)).sum(
            axis=2) ** (1 / np.longdouble(p)))
    with np.errstate(over="ignore"):
        return np.ldexp(D.astype(np.float64), e)


def ref_knn(Q, X, k, metric="euclidean", p=2.0):
    D = ref_distances(Q, X, metric, p)
    ind = np.argsort(D, axis=1, kind="stable")[:, :k]  # ties to the smaller index
    return np.take_along_axis(D, ind, 1), ind


# --------------------------------------------------------------------------- §1 / §5
# Data within a few powers of two of the largest double: the exact keys are computed on
# the data times a power of two s < 1 chosen per call, and the bound that picks s,
# |x| * 2 (d + 1), itself overflowed to inf: s came out as 2**1000 instead of ~2**-23, and
# every distance as 0 (all neighbour lists wrong, silently).


def top_of_the_range(n, d, seed, headroom=1):
    X = np.random.RandomState(seed).standard_normal((n, d))
    e = 1024 - headroom - int(np.frexp(np.abs(X).max())[1])
    return X, np.ldexp(X, e), 2.0**e  # exact: a power of two


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_neighbours_of_data_near_the_largest_double(algorithm):
    X, Xs, scale = top_of_the_range(60, 3, 0)
    assert np.abs(Xs).max() >= 2.0**1022
    nn = NearestNeighbors(n_neighbors=4, algorithm=algorithm).fit(Xs)
    dist, ind = nn.kneighbors()
    ref = NearestNeighbors(n_neighbors=4, algorithm=algorithm).fit(X).kneighbors()
    assert_array_equal(ind, ref[1])  # (every row was wrong, every distance 0)
    assert_allclose(dist, ref[0] * scale, rtol=1e-15)
    # the radius graph: the same boundary as on the unscaled data
    r = float(np.median(ref[0][:, -1]))
    g = NearestNeighbors(radius=r * scale, algorithm=algorithm).fit(Xs) \
        .radius_neighbors_graph(mode="distance", sort_results=True)
    h = NearestNeighbors(radius=r, algorithm=algorithm).fit(X) \
        .radius_neighbors_graph(mode="distance", sort_results=True)
    assert_array_equal(g.indptr, h.indptr)
    assert_array_equal(g.indices, h.indices)
    assert_allclose(g.data, h.data * scale, rtol=1e-15)


def test_pairwise_distances_near_the_largest_double():
    X, Xs, scale = top_of_the_range(40, 3, 1, headroom=0)
    D = pairwise_distances(Xs)
    ref = ref_distances(Xs, Xs)
    assert np.isinf(ref).any() and np.isfinite(ref).any()  # some truly overflow
    assert_array_equal(np.isinf(D), np.isinf(ref))
    assert_allclose(D[np.isfinite(D)], ref[np.isfinite(ref)], rtol=1e-15)
    for metric in ("manhattan", "chebyshev", "minkowski"):
        kw = {"p": 3.0} if metric == "minkowski" else {}
        D = pairwise_distances(Xs, metric=metric, **kw)
        ref = ref_distances(Xs, Xs, metric, 3.0)
        assert_array_equal(np.isinf(D), np.isinf(ref))
        assert_allclose(D[np.isfinite(D)], ref[np.isfinite(ref)], rtol=1e-14)
    # the sparse kernel and the trees take the same key form
    dist, ind = kneighbors_brute(sp.csr_matrix(Xs), None, 5)
    assert_array_equal(ind, kneighbors_brute(X, None, 5)[1])
    for Tree in (KDTree, BallTree):
        assert_array_equal(Tree(Xs).query(Xs, k=5)[1], ind)


# --------------------------------------------------------------------------- kinds 1-3
# Property: every search algorithm returns the exact k nearest (ties to the smaller
# index) and the exact radius neighbourhoods, whatever the magnitude (up to the top of
# the float range), the offset (up to 1e4 x the spread in float32, 1e8 in float64), the
# dtype, the layout, read-only input or sparse storage.

searches = st.tuples(
    st.integers(1, 40),  # training rows
    st.integers(1, 12),  # query rows
    st.integers(1, 4),  # features
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from(["C", "F", "strided", "readonly", "csr"]),
    st.sampled_from([-1060, -500, 0, 500, 1000, 1018]),  # power of two of the magnitude
    st.sampled_from([0.0, 1e3, 1e4, 1e8]),  # offset, in units of the spread
    st.booleans(),  # duplicated rows: exact ties
    st.sampled_from(["euclidean", "manhattan", "chebyshev", "minkowski"]),
    st.sampled_from([1.5, 3.0, 300.0, 1e100]),
    st.integers(0, 2**31 - 1),
)


def make_data(n, d, dtype, e, offset, dup, rng):
    """(offset + standard normal) * 2**e in dtype, within dtype's range (float32: offsets
    up to 1e4, float64: 1e8; subnormal magnitudes included); ``dup``: half the rows are
    copies of the first (exact ties)."""
    if dtype == np.float32:
        e, offset = int(np.clip(e, -100, 100)), min(offset, 1e4)
    if e >= 1000:
        offset = 0.0  # (1e8 + z) * 2**1000 is beyond the largest double
    Z = rng.standard_normal((n, d))
    if dup:
        Z[rng.randint(0, n, size=n // 2)] = Z[0]
    return np.ldexp(offset + Z, e).astype(dtype)


def tolerances(dtype):
    # float32 output: rounded to float32 once; float64: a few roundings of the keys;
    # atol: the subnormal range, where fewer digits exist
    if dtype == np.float32:
        return {"rtol": 2e-7, "atol": 1e-44}
    return {"rtol": 1e-13, "atol": 4 * 2.0**-1074}


@settings(max_examples=50, deadline=None)
@given(searches, st.integers(1, 40), st.floats(0.0, 1.0))
def test_every_algorithm_finds_the_exact_neighbours(spec, k, quantile):
    n, m, d, dtype, kind, e, offset, dup, metric, p, seed = spec
    A = make_data(n + m, d, dtype, e, offset, dup, np.random.RandomState(seed))
    X, Q = A[:n], A[n:]
    k = min(k, n)
    kw = {"metric": metric, "p": p}
    D = ref_distances(Q, X, metric, p)
    Xl = sp.csr_matrix(X) if kind == "csr" else as_layout(X, kind)
    Ql = sp.csr_matrix(Q) if kind == "csr" else as_layout(Q, kind)
    found = {a: NearestNeighbors(n_neighbors=k, algorithm=a, **kw).fit(Xl)
             for a in ALGORITHMS}
    dist, ind = found["brute"].kneighbors(Ql)
    # the exact k nearest: valid distinct indices, the k smallest reference distances,
    # each index at its reference distance
    assert ind.min() >= 0 and ind.max() < n
    assert all(len(set(row)) == k for row in ind)
    tol = tolerances(dtype)
    assert_allclose(dist, np.sort(D, axis=1)[:, :k], **tol)
    assert_allclose(np.take_along_axis(D, ind, 1), dist, **tol)
    # exact ties (duplicates) go to the smaller index
    for i in range(m):
        for h in range(1, k):
            if dist[i, h] == dist[i, h - 1]:
                assert ind[i, h] > ind[i, h - 1]
    # a radius on an actual distance: the boundary full of ties
    r = float(np.quantile(dist, quantile))
    g = found["brute"].radius_neighbors_graph(Ql, r, mode="distance", sort_results=True)
    band = tol["rtol"] * r + tol["atol"]
    for i in range(m):
        row = set(g.indices[g.indptr[i]:g.indptr[i + 1]].tolist())
        assert set(np.flatnonzero(D[i] < r - band)) <= row
        assert not row & set(np.flatnonzero(D[i] > r + band))
    # every algorithm: the same numbers, bit for bit
    for a in ("kd_tree", "ball_tree"):
        da, ia = found[a].kneighbors(Ql)
        assert_array_equal(ia, ind, err_msg=a)
        assert_array_equal(da, dist, err_msg=a)
        ga = found[a].radius_neighbors_graph(Ql, r, mode="distance", sort_results=True)
        assert_array_equal(ga.indptr, g.indptr, err_msg=a)
        assert_array_equal(ga.indices, g.indices, err_msg=a)
        assert_array_equal(ga.data, g.data, err_msg=a)


# --------------------------------------------------------------------------- Isomap
# Property: Isomap's geodesics are those of the exact neighbour graph of the data as
# stored, whatever its magnitude, offset and dtype (its neighbour search, graph and
# Dijkstra see the data through the kernels above).


@settings(max_examples=25, deadline=None)
@given(n=st.integers(8, 30), d=st.integers(1, 3), k=st.integers(3, 8),
       dtype=st.sampled_from([np.float32, np.float64]),
       e=st.sampled_from([-1060, -100, 0, 100, 1000, 1018]),
       offset=st.sampled_from([0.0, 1e4, 1e8]), dup=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_isomap_geodesics_are_those_of_the_exact_graph(n, d, k, dtype, e, offset, dup,
                                                       seed):
    X = make_data(n, d, dtype, e, offset, dup, np.random.RandomState(seed))
    k = min(k, n - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # disconnected graphs are joined
        iso = Isomap(n_neighbors=k, n_components=1).fit(X)
    got = iso.dist_matrix_.astype(np.float64)
    assert np.all(np.diag(got) == 0) and np.all(got >= 0)
    D = ref_distances(X, X)
    np.fill_diagonal(D, np.inf)  # a point is not its own neighbour
    order = np.argsort(D, axis=1, kind="stable")
    ind = order[:, :k]
    kth, nxt = (np.take_along_axis(D, order[:, j:j + 1], 1) for j in (k - 1, k))
    if np.any((nxt > kth) & (nxt <= kth * (1 + 1e-6))):
        return  # a near-tie (not exact) at the k-th place: either graph is exact
    G = sp.csr_matrix((np.take_along_axis(D, ind, 1).ravel(), ind.ravel(),
                       np.arange(0, n * k + 1, k)), shape=(n, n))
    scale = 2.0 ** int(np.frexp(G.data.max())[1]) if G.data.max() > 0 else 1.0
    G.data = G.data / scale  # exact; keeps scipy's path sums finite
    if connected_components(G, directed=False)[0] > 1:
        assert np.all(np.isfinite(got))  # components joined (tested in test_isomap)
        return
    ref = shortest_path(G, method="D", directed=False)
    tol = tolerances(dtype)
    assert_allclose(got / scale, ref, rtol=max(tol["rtol"], 1e-12) * n,
                    atol=tol["atol"] / scale)


# --------------------------------------------------------------------------- §2
# float32 data centred in float32 before the (offset-exact) search kept only the
# spread's precision in each coordinate: Isomap's geodesic of two points 2.4e-4 apart
# (spread ~2) came out 6e-5 relative off, with or without an offset.


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_isomap_float32_small_distances_are_exact(offset):
    rng = np.random.RandomState(780100088)
    X = (offset + rng.standard_normal((15, 1))).astype(np.float32)
    iso = Isomap(n_neighbors=8, n_components=1).fit(X)
    exact = np.abs(X.astype(np.float64) - X.astype(np.float64).T)  # 1-d: exact
    nearest = np.argsort(exact + np.diag(np.full(15, np.inf)), axis=1)[:, 0]
    rows = np.arange(15)
    assert exact[rows, nearest].min() < 1e-3 * exact.max()
    assert_allclose(iso.dist_matrix_[rows, nearest], exact[rows, nearest], rtol=1e-12)


def test_rescale_centres_float32_into_float64_exactly():
    from skml.decomposition._scaling import rescale

    X = (0.3 + np.random.RandomState(0).standard_normal((50, 3))).astype(np.float32)
    Xs, shift, e = rescale(X, centre=True, dtype=np.float64)
    exact = np.ldexp(X.astype(np.float64) - shift.astype(np.float64), -e)
    assert_array_equal(Xs, exact)  # (was rounded to float32 before the cast)


# --------------------------------------------------------------------------- §1 / §5
# Subnormal data: the scaled keys divide every |t| by the pair's largest, through its
# inverse, and 1 / m overflowed for a subnormal m: the distance came out inf (the
# neighbour order then rested on placeholders).


@pytest.mark.parametrize("metric, p", [("euclidean", 2.0), ("minkowski", 3.0),
                                       ("minkowski", 1000.0)])
def test_subnormal_distances_are_finite_and_exact(metric, p):
    tiny = 2.0**-1074  # the smallest subnormal
    X = np.array([[0.0, 0.0], [3.0, 4.0], [30.0, 40.0], [-6.0, 8.0]]) * tiny
    Q = np.array([[0.0, 0.0], [1.0, 1.0]]) * tiny
    ref = ref_distances(Q, X, metric, p)  # on the data times 2**1074, scaled back
    assert np.all(np.isfinite(ref)) and ref[0, 1] > 0
    assert_allclose(pairwise_distances(Q, X, metric=metric, p=p), ref, rtol=0,
                    atol=2 * tiny)
    ref_d, ref_i = ref_knn(Q, X, 4, metric, p)
    for algorithm in ALGORITHMS:
        nn = NearestNeighbors(n_neighbors=4, algorithm=algorithm, metric=metric, p=p)
        for A, B in ((X, Q), (sp.csr_matrix(X), sp.csr_matrix(Q))):
            dist, ind = nn.fit(A).kneighbors(B)
            assert np.all(np.isfinite(dist))  # (inf before)
            assert_allclose(dist, ref_d, rtol=0, atol=2 * tiny)
            assert_array_equal(ind, ref_i)


# Property: sparse pairwise distances at any magnitude and Minkowski order equal the
# reference (stored values far from zero included). Cosine's fast dot products are of
# the raw values: at |x| ~ 1e-301 they underflowed and every distance came out 1; rows
# of subnormal norm made 1 / |x| overflow (NaN), dense and sparse.

sparse_cases = st.tuples(
    st.integers(1, 12), st.integers(1, 15), st.integers(1, 6),
    st.sampled_from([0.2, 0.6, 1.0]),  # density
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([-1060, -500, 0, 500, 1000, 1018]),
    st.sampled_from([0.0, 1e4]),  # offset of the stored values
    st.sampled_from(["euclidean", "manhattan", "chebyshev", "minkowski", "cosine"]),
    st.sampled_from([1.5, 3.0, 300.0, 1000.0, 1e100]),
    st.integers(0, 2**31 - 1),
)


@settings(max_examples=40, deadline=None)
@given(sparse_cases)
def test_sparse_pairwise_distances_at_any_magnitude(spec):
    n_x, n_y, d, density, dtype, e, offset, metric, p, seed = spec
    rng = np.random.RandomState(seed)
    if dtype == np.float32:
        e = int(np.clip(e, -100, 100))
    if e >= 1000:
        offset = 0.0
    A = (offset + rng.standard_normal((n_x + n_y, d))) * (rng.rand(n_x + n_y, d) < density)
    A = np.ldexp(A, e).astype(dtype)
    X, Y = A[:n_x], A[n_x:]
    D = pairwise_distances(sp.csr_matrix(X), sp.csr_matrix(Y), metric=metric, p=p)
    assert D.dtype == dtype
    ref = ref_distances(X, Y, metric, p)
    assert_array_equal(np.isinf(D), np.isinf(ref))
    fin = np.isfinite(ref)
    tol = tolerances(dtype)
    if dtype == np.float64 and metric == "euclidean":
        tol["rtol"] = 2e-8  # sparse dot products: 1e8 error bounds below the value
    if metric == "cosine":  # (|x||y| cos rounds at 1: absolute)
        tol = {"rtol": 0, "atol": 3e-7 if dtype == np.float32 else 1e-13}
    assert_allclose(D[fin], ref[fin], **tol)
    if metric == "cosine":  # the search: the exact neighbours, from the same keys
        k = min(3, n_y)
        dist, ind = kneighbors_brute(sp.csr_matrix(X), sp.csr_matrix(Y), k, metric=metric)
        assert_allclose(dist, np.sort(ref, axis=1)[:, :k], **tol)
        assert_allclose(np.take_along_axis(ref, ind, 1), dist, **tol)


# Minkowski of a huge order (p = 1e17 .. 1e308, where the order is the Chebyshev
# distance to rounding): the largest |t| divided by itself through its rounded inverse
# gave 1 - 2**-53, whose p-th power is 0, and the distance came out 0 for about a third
# of the pairs (dense, sparse and both trees).


@pytest.mark.parametrize("p", [1e17, 1e100, 1e308])
def test_minkowski_of_a_huge_order_is_the_chebyshev_distance(p):
    from scipy.spatial.distance import cdist

    rng = np.random.RandomState(0)
    X, Q = rng.standard_normal((30, 3)), rng.standard_normal((8, 3))
    ref = cdist(Q, X, "chebyshev")  # (sum_j (|t_j| / m)^p)^(1/p) = 1 to rounding
    assert_allclose(pairwise_distances(Q, X, metric="minkowski", p=p), ref, rtol=1e-15)
    assert_allclose(pairwise_distances(sp.csr_matrix(Q), sp.csr_matrix(X),
                                       metric="minkowski", p=p), ref, rtol=1e-15)
    ind = np.argsort(ref, axis=1, kind="stable")[:, :5]
    for algorithm in ALGORITHMS:
        dist, got = NearestNeighbors(n_neighbors=5, algorithm=algorithm,
                                     metric="minkowski", p=p).fit(X).kneighbors(Q)
        assert_array_equal(got, ind)
        assert_allclose(dist, np.take_along_axis(ref, ind, 1), rtol=1e-15)


# --------------------------------------------------------------------------- §5
# Neighbour averages and votes at the edges of the float range: the (weighted) mean of
# targets near the largest double overflowed to inf, and ``weights="distance"`` on
# data near the smallest normal double (1/d overflows) counted every neighbour as an
# exact match (probabilities 0.4 off), silently.


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_regressors_average_targets_near_the_largest_double(weights):
    from skml.neighbors import KNeighborsRegressor, RadiusNeighborsRegressor

    rng = np.random.RandomState(0)
    X, Q = rng.standard_normal((40, 3)), rng.standard_normal((10, 3))
    y = rng.standard_normal((40, 2))
    scale = 2.0**1022  # exact; |y| * scale ~ 1e308
    for model in (KNeighborsRegressor(30, weights=weights),
                  RadiusNeighborsRegressor(radius=4.0, weights=weights)):
        ref = model.fit(X, y).predict(Q)
        got = model.fit(X, y * scale).predict(Q)
        assert np.all(np.isfinite(got))  # (inf before)
        assert_allclose(got / scale, ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("scale", [1e-307, 1e-308])
def test_distance_weights_of_tiny_data_are_proportional_to_one_over_d(scale):
    from skml.neighbors import (
        KNeighborsClassifier,
        KNeighborsRegressor,
        RadiusNeighborsClassifier,
    )

    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    Q = np.r_[X[:3], X + 0.01]  # three queries on training points (d = 0 decides)
    for model in (KNeighborsClassifier(7, weights="distance"),
                  RadiusNeighborsClassifier(1.5, weights="distance")):
        ref = model.fit(X, y).predict_proba(Q)
        if hasattr(model, "radius"):
            model.set_params(radius=1.5 * scale)
        got = model.fit(X * scale, y).predict_proba(Q * scale)
        assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    reg = KNeighborsRegressor(7, weights="distance")
    assert_allclose(reg.fit(X * scale, X[:, 0]).predict(Q * scale),
                    reg.fit(X, X[:, 0]).predict(Q), rtol=1e-12, atol=1e-12)


# k-means with sample weights far from 1: weights of ~1e306 overflowed the weighted
# sums (centres 16 off, silently; 1e308 made the seeding's probabilities NaN), subnormal
# weights (1e-320) lost their digits in every product (centres 3e-5 off), and float32
# data cast both to inf or 0 (errors for valid weights). Centres and labels do not
# depend on the weights' unit; the inertia scales with it.


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("unit", [2.0**-1070, 1e-320, 1e300, 1e306])
@pytest.mark.parametrize("Est", ["KMeans", "MiniBatchKMeans", "elkan"])
def test_kmeans_centres_do_not_depend_on_the_weights_unit(Est, unit, dtype):
    from sklearn.datasets import make_blobs

    from skml.cluster import KMeans, MiniBatchKMeans

    X, _ = make_blobs(300, 4, centers=4, random_state=0)
    X = X.astype(dtype)
    v = np.random.RandomState(1).uniform(0.5, 2.0, 300)

    def model():
        if Est == "elkan":
            return KMeans(4, n_init=1, random_state=0, algorithm="elkan")
        cls = KMeans if Est == "KMeans" else MiniBatchKMeans
        return cls(4, n_init=1, random_state=0)

    w = v * unit  # as stored (few digits when subnormal)
    e = int(np.frexp(w.max())[1])
    ref = model().fit(X, sample_weight=np.ldexp(w, -e))  # the same weights, exactly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the validation's sum of 1e306s
        got = model().fit(X, sample_weight=w)
    assert_array_equal(got.labels_, ref.labels_)
    assert_allclose(got.cluster_centers_, ref.cluster_centers_,
                    rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-12)
    with np.errstate(over="ignore"):
        expected = np.ldexp(ref.inertia_, e)
    assert_allclose(got.inertia_, expected, rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_minibatch_partial_fit_with_weights_of_any_unit():
    # partial_fit accumulated weights of 1e306 into counts that overflowed: NaN centres
    from sklearn.datasets import make_blobs

    from skml.cluster import MiniBatchKMeans

    X, _ = make_blobs(300, 4, centers=4, random_state=0)
    v = np.tile([1.0, 2.0, 3.0, 4.0], 15)  # exact multiples of a subnormal unit too

    def run(units):
        m = MiniBatchKMeans(4, random_state=0, n_init=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the validation's sum
            for i, unit in enumerate(units):
                m.partial_fit(X[60 * i:60 * (i + 1)], sample_weight=v * unit)
        return m

    ref = run([1.0] * 5)
    for units in ([1e306] * 5, [2.0**-1071] * 5):
        assert_allclose(run(units).cluster_centers_, ref.cluster_centers_, rtol=1e-12)
    # batches in different units: only the ratios matter (every product exact)
    a = run([1.0, 2.0**600, 1.0, 2.0**600, 1.0])
    b = run([2.0**-600, 1.0, 2.0**-600, 1.0, 2.0**-600])
    assert np.all(np.isfinite(a.cluster_centers_))
    assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert_allclose(np.ldexp(b.inertia_, 600), a.inertia_, rtol=1e-12)


@pytest.mark.parametrize("e", [-1071, -1000, 1000, 1020])
def test_cosine_distances_of_extreme_rows(e):
    from scipy.spatial.distance import cdist

    X = np.random.RandomState(0).standard_normal((20, 3))
    Xs = np.ldexp(X, e)
    ref = cdist(np.ldexp(Xs, -e), np.ldexp(Xs, -e), "cosine")  # the stored values
    np.fill_diagonal(ref, 0.0)
    order = np.argsort(ref + np.diag(np.full(20, np.inf)), axis=1, kind="stable")[:, :4]
    for A in (Xs, sp.csr_matrix(Xs)):
        assert_allclose(pairwise_distances(A, metric="cosine"), ref, rtol=0, atol=1e-15)
        ind = NearestNeighbors(n_neighbors=4, metric="cosine").fit(A).kneighbors()[1]
        assert_array_equal(ind, order)
