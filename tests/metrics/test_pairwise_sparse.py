"""Sparse input of the pairwise kernels and the neighbour estimators: the same results
as on the dense copy (bit for bit where the answer is an exact distance), on random
sparse matrices of several densities, both dtypes, explicit zeros, empty rows, unsorted
indices and duplicate entries, in every sparse format."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.distance import cdist

from skml.metrics import (
    kneighbors_brute,
    pairwise_distances,
    pairwise_distances_argmin_min,
)
from skml.neighbors import (
    KNeighborsClassifier,
    KNeighborsRegressor,
    NearestNeighbors,
    RadiusNeighborsClassifier,
)

METRICS = ["euclidean", "sqeuclidean", "cosine", "manhattan", "chebyshev", "minkowski"]


def messy_sparse(dense, rng, fmt):
    """``dense`` as a sparse matrix of format ``fmt`` with stored explicit zeros, and for
    CSR unsorted column indices and a duplicated entry (split in two halves)."""
    rows, cols = np.nonzero(dense)
    vals = dense[rows, cols]
    extra = rng.rand(*dense.shape) < 0.05  # explicit zeros where dense is 0
    zr, zc = np.nonzero(extra & (dense == 0))
    r = np.concatenate([rows, zr])
    c = np.concatenate([cols, zc])
    v = np.concatenate([vals, np.zeros(len(zr), dense.dtype)])
    if len(v):  # one entry stored twice, its value split: duplicates sum
        r, c = np.append(r, r[0]), np.append(c, c[0])
        v = np.append(v, v[0] / 2)
        v[0] = v[0] - v[-1]
    perm = rng.permutation(len(v))  # unsorted indices
    coo = sp.coo_matrix((v[perm], (r[perm], c[perm])), shape=dense.shape)
    if fmt == "csr":
        A = sp.csr_matrix((v[perm], (r[perm], c[perm])), shape=dense.shape)
        A.has_sorted_indices = False
        return A
    return coo.asformat(fmt)


def random_dense(n, d, density, dtype, rng):
    A = rng.randn(n, d) * (rng.rand(n, d) < density)
    A[rng.rand(n) < 0.15] = 0.0  # empty rows
    return A.astype(dtype)


cases = st.tuples(
    st.integers(1, 30), st.integers(1, 40), st.integers(1, 30),
    st.sampled_from([0.02, 0.1, 0.4, 1.0]),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from(["csr", "csc", "coo"]),
    st.sampled_from(["both", "x", "y"]),  # which side is sparse
    st.sampled_from(METRICS),
    st.integers(0, 2**31 - 1),
)


def sides(spec):
    n_x, n_y, d, density, dtype, fmt, which, metric, seed = spec
    rng = np.random.RandomState(seed)
    X, Y = random_dense(n_x, d, density, dtype, rng), random_dense(n_y, d, density, dtype, rng)
    Xs = messy_sparse(X, rng, fmt) if which in ("both", "x") else X
    Ys = messy_sparse(Y, rng, fmt) if which in ("both", "y") else Y
    return X, Y, Xs, Ys, metric


@settings(max_examples=50, deadline=None)
@given(cases, st.integers(1, 40))
def test_sparse_reductions_equal_the_dense_ones_bit_for_bit(spec, k):
    X, Y, Xs, Ys, metric = sides(spec)
    k = min(k, len(Y))
    got = kneighbors_brute(Xs, Ys, k, metric=metric, p=3.0)
    ref = kneighbors_brute(X, Y, k, metric=metric, p=3.0)
    assert got[0].dtype == ref[0].dtype
    assert_array_equal(got[1], ref[1])  # exact keys: the same numbers
    assert_array_equal(got[0], ref[0])
    arg, dist = pairwise_distances_argmin_min(Xs, Ys, metric=metric, p=3.0)
    assert_array_equal(arg, ref[1][:, 0])


@settings(max_examples=40, deadline=None)
@given(cases)
def test_sparse_pairwise_distances_equal_the_dense_ones(spec):
    X, Y, Xs, Ys, metric = sides(spec)
    D = pairwise_distances(Xs, Ys, metric=metric, p=3.0)
    assert D.dtype == X.dtype and not sp.issparse(D)
    ref = pairwise_distances(X, Y, metric=metric, p=3.0)
    # BLAS on one side, sparse dot products on the other: both within 1e-8 relative
    # of the exact value (or exact)
    tol = {"rtol": 2e-8, "atol": 1e-12} if X.dtype == np.float64 else {
        "rtol": 3e-7, "atol": 1e-6 if metric == "cosine" else 0.0}
    assert_allclose(D, ref, **tol)
    S = pairwise_distances(Xs, metric=metric, p=3.0)
    assert np.all(np.diag(S) == 0)


def test_large_sparse_input_is_never_densified(monkeypatch):
    # a toarray() anywhere would be caught
    def refuse(self, *a, **k):
        raise AssertionError("densified")

    rng = np.random.RandomState(0)
    X = sp.random(3000, 500, density=0.01, format="csr", random_state=rng)
    Q = sp.random(200, 500, density=0.01, format="csr", random_state=rng)
    dense = (X.toarray(), Q.toarray())
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
    got = NearestNeighbors(n_neighbors=4).fit(X).kneighbors(Q)
    monkeypatch.undo()
    ref = NearestNeighbors(n_neighbors=4, algorithm="brute").fit(dense[0]).kneighbors(
        dense[1])
    assert_array_equal(got[1], ref[1])
    assert_array_equal(got[0], ref[0])


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_estimators_on_sparse_equal_dense(fmt, dtype):
    rng = np.random.RandomState(1)
    X = random_dense(300, 40, 0.1, dtype, rng)
    Q = random_dense(60, 40, 0.1, dtype, rng)
    y = rng.randint(0, 3, 300)
    Xs, Qs = sp.csr_matrix(X).asformat(fmt), sp.csr_matrix(Q).asformat(fmt)
    for metric in ("euclidean", "cosine", "manhattan"):
        a = KNeighborsClassifier(metric=metric, weights="distance").fit(Xs, y)
        b = KNeighborsClassifier(metric=metric, weights="distance",
                                 algorithm="brute").fit(X, y)
        assert a._fit_method == "brute"
        assert_array_equal(a.predict(Qs), b.predict(Q))
        assert_array_equal(a.predict_proba(Qs), b.predict_proba(Q))
        assert_array_equal(a.predict(Q), b.predict(Q))  # dense queries, sparse fit
        r = KNeighborsRegressor(metric=metric).fit(Xs, y * 1.0).predict(Qs)
        assert_array_equal(r, KNeighborsRegressor(metric=metric, algorithm="brute")
                           .fit(X, y * 1.0).predict(Q))
    nn_s = NearestNeighbors(radius=2.0).fit(Xs)
    nn_d = NearestNeighbors(radius=2.0, algorithm="brute").fit(X)
    for q_s, q_d in ((Qs, Q), (None, None)):
        g1 = nn_s.radius_neighbors_graph(q_s, mode="distance", sort_results=True)
        g2 = nn_d.radius_neighbors_graph(q_d, mode="distance", sort_results=True)
        for u, v in [(g1.indptr, g2.indptr), (g1.indices, g2.indices), (g1.data, g2.data)]:
            assert_array_equal(u, v)
    D = cdist(Q.astype(float), X.astype(float))  # the exact reference
    assert_allclose(nn_s.kneighbors(Qs)[0], np.sort(D, axis=1)[:, :5], rtol=1e-6)


def test_trees_fall_back_to_brute_force_on_sparse_input():
    X = sp.random(100, 8, density=0.3, format="csr", random_state=0)
    with pytest.warns(UserWarning, match="cannot use tree with sparse input"):
        nn = NearestNeighbors(algorithm="kd_tree").fit(X)
    assert nn._fit_method == "brute"
    tree = NearestNeighbors(algorithm="kd_tree").fit(X.toarray())
    assert_array_equal(tree.kneighbors(X)[1], tree.kneighbors(X.toarray())[1])


def test_precomputed_sparse_graphs():
    rng = np.random.RandomState(2)
    X, Q = rng.rand(80, 3), rng.rand(20, 3)
    ref = NearestNeighbors(n_neighbors=4).fit(X)
    G = ref.kneighbors_graph(mode="distance", n_neighbors=6)  # 6 stored per row
    Gq = ref.kneighbors_graph(Q, mode="distance", n_neighbors=6)
    nn = NearestNeighbors(n_neighbors=4, metric="precomputed").fit(G)
    assert_array_equal(nn.kneighbors(Gq)[1], ref.kneighbors(Q)[1])
    assert_allclose(nn.kneighbors(Gq)[0], ref.kneighbors(Q)[0])
    with pytest.raises(ValueError, match="7 neighbors per samples are required"):
        nn.kneighbors(Gq, n_neighbors=7)
    r = np.sort(ref.kneighbors(Q)[0][:, 2])[10] - 1e-9  # (off any point: the graph
    # holds rounded distances, the native search decides by exact squared keys)
    got = nn.radius_neighbors(Gq, radius=r, sort_results=True)
    want = ref.radius_neighbors(Q, radius=r, sort_results=True)
    for a, b in zip(got[1], want[1]):
        assert_array_equal(a, b)
    with pytest.raises(TypeError, match="explicit zeros"):
        nn.kneighbors(Gq.todok())


def test_sparse_input_errors():
    X = sp.random(20, 4, density=0.5, format="csr", random_state=0)
    with pytest.raises(ValueError, match="Metric 'haversine' not valid for sparse input"):
        NearestNeighbors(metric="haversine", algorithm="brute").fit(X)
    with pytest.raises(ValueError, match="Metric 'mahalanobis' not valid for sparse"):
        NearestNeighbors(metric="mahalanobis", metric_params={"VI": np.eye(4)},
                         algorithm="brute").fit(X)
    with pytest.raises(ValueError, match="does not accept sparse input"):
        pairwise_distances(X, metric="mahalanobis", VI=np.eye(4))
    clf = RadiusNeighborsClassifier(radius=10.0).fit(X, np.arange(20) % 2)
    assert_array_equal(clf.predict(X), RadiusNeighborsClassifier(radius=10.0).fit(
        X.toarray(), np.arange(20) % 2).predict(X.toarray()))
