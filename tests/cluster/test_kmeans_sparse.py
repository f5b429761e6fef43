"""k-means on scipy.sparse input: the same results as on the dense copy, never a dense
copy of the whole matrix, and the CSR kernels against a NumPy reference."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skml._kernels import _kmeans
from skml.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus


def random_csr(n, d, density, dtype, seed, *, explicit_zeros=False, empty_rows=False,
               unsorted=False, duplicates=False, index_dtype=np.int32):
    """A random CSR matrix with the awkward features real data have."""
    rng = np.random.RandomState(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=rng,
                  data_rvs=lambda m: rng.normal(size=m)).astype(dtype)
    if empty_rows:
        X = sp.csr_matrix(X.multiply(rng.rand(n, 1) > 0.2))
    if explicit_zeros and X.nnz:
        X.data[rng.rand(X.nnz) < 0.2] = 0  # stored, not removed
    if duplicates and X.nnz:
        # every entry stored twice, as two halves: a valid, non-canonical matrix
        indptr, indices, data = [0], [], []
        for i in range(n):
            a, b = X.indptr[i], X.indptr[i + 1]
            half = X.data[a:b] / 2
            indices += [X.indices[a:b], X.indices[a:b]]
            data += [half, X.data[a:b] - half]
            indptr.append(indptr[-1] + 2 * (b - a))
        X = sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr),
                          shape=X.shape)
        assert not X.has_canonical_format
    if unsorted:
        for i in range(n):
            a, b = X.indptr[i], X.indptr[i + 1]
            perm = rng.permutation(b - a)
            X.indices[a:b] = X.indices[a:b][perm]
            X.data[a:b] = X.data[a:b][perm]
        X.has_sorted_indices = False
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    return X


MATRICES = [
    dict(density=0.02),
    dict(density=0.2, explicit_zeros=True),
    dict(density=0.5, empty_rows=True),
    dict(density=0.1, unsorted=True, duplicates=True),
    dict(density=0.1, index_dtype=np.int64),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", range(len(MATRICES)))
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_kmeans_on_sparse_equals_the_dense_copy(dtype, kind, algorithm):
    X = random_csr(400, 30, dtype=dtype, seed=kind, **MATRICES[kind])
    D = X.toarray()
    sw = np.random.RandomState(kind).uniform(0.5, 2, X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for params in (dict(init="k-means++", random_state=0),
                       dict(init="random", n_init=2, random_state=1, tol=0)):
            a = KMeans(5, algorithm=algorithm, **params).fit(X, sample_weight=sw)
            b = KMeans(5, algorithm=algorithm, **params).fit(D, sample_weight=sw)
            np.testing.assert_array_equal(a.labels_, b.labels_)
            assert a.n_iter_ == b.n_iter_
            assert a.cluster_centers_.dtype == dtype
            rtol = 1e-5 if dtype == np.float32 else 1e-10
            np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=rtol,
                                       atol=rtol)
            np.testing.assert_allclose(a.inertia_, b.inertia_, rtol=rtol)
    np.testing.assert_array_equal(a.predict(X), b.predict(D))
    np.testing.assert_allclose(a.transform(X), b.transform(D), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(a.score(X), b.score(D), rtol=rtol)
    assert a.transform(X).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_minibatch_and_kmeans_plusplus_on_sparse_equal_the_dense_copy(dtype):
    X = random_csr(1200, 40, 0.1, dtype, 7, explicit_zeros=True, empty_rows=True)
    D = X.toarray()
    for params in (dict(random_state=0), dict(random_state=1, init="random", n_init=2)):
        a = MiniBatchKMeans(6, batch_size=150, **params).fit(X)
        b = MiniBatchKMeans(6, batch_size=150, **params).fit(D)
        assert a.n_steps_ == b.n_steps_
        np.testing.assert_array_equal(a.labels_, b.labels_)
        np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_,
                                   rtol=1e-5, atol=1e-6)
    for i in range(3):
        a.partial_fit(X[i * 100:(i + 1) * 100])
        b.partial_fit(D[i * 100:(i + 1) * 100])
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(a.predict(X), b.predict(D))
    for seed in range(3):
        c, idx = kmeans_plusplus(X, 6, random_state=seed)
        c2, idx2 = kmeans_plusplus(D, 6, random_state=seed)
        np.testing.assert_array_equal(idx, idx2)
        assert isinstance(c, np.ndarray) and c.dtype == dtype
        np.testing.assert_array_equal(c, D[idx])


@pytest.mark.parametrize("fmt", ["csc", "coo", "lil"])
def test_other_sparse_formats_are_converted(fmt):
    X = random_csr(300, 20, 0.1, np.float64, 3)
    a = KMeans(4, random_state=0).fit(X.asformat(fmt))
    b = KMeans(4, random_state=0).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict(X.asformat(fmt)), b.labels_)


def test_the_sparse_matrix_is_never_densified():
    # dense, this matrix would take 20,000 x 1,000,000 x 8 bytes = 160 GB
    rng = np.random.RandomState(0)
    n, d = 20_000, 1_000_000
    rows = np.repeat(np.arange(n), 4)
    cols = rng.randint(0, 1000, rows.size) + 1000 * (np.arange(n) % 3).repeat(4)
    X = sp.csr_matrix((rng.rand(rows.size) + 1, (rows, cols)), shape=(n, d))
    for algorithm in ("lloyd", "elkan"):
        km = KMeans(3, algorithm=algorithm, n_init=1, max_iter=5, random_state=0).fit(X)
        assert km.cluster_centers_.shape == (3, d)
        assert km.predict(X[:10]).shape == (10,)
    assert km.transform(X[:5]).shape == (5, 3)
    mbk = MiniBatchKMeans(3, batch_size=1000, max_iter=1, random_state=0).fit(X)
    assert np.all(np.isfinite(mbk.cluster_centers_))
    _, idx = kmeans_plusplus(X, 3, random_state=0)
    assert len(set(idx)) == 3


def test_sparse_transform_of_the_centres_is_exactly_zero_on_the_diagonal():
    X = random_csr(300, 25, 0.3, np.float64, 5)
    km = KMeans(4, random_state=0).fit(X)
    T = km.transform(sp.csr_matrix(km.cluster_centers_))
    assert np.all(np.diag(T) == 0)


@pytest.mark.parametrize("scale", [1e160, 1e-160])
def test_sparse_extreme_magnitudes(scale):
    X = random_csr(300, 20, 0.2, np.float64, 2)
    ref = KMeans(4, random_state=0, n_init=1).fit(X)
    km = KMeans(4, random_state=0, n_init=1).fit(X * scale)
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    np.testing.assert_allclose(km.cluster_centers_ / scale, ref.cluster_centers_,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(km.predict(X * scale), ref.labels_)


# --- the CSR kernels against NumPy ---------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 200), st.integers(1, 30), st.integers(1, 12),
       st.sampled_from([0.0, 0.05, 0.3, 1.0]), st.sampled_from([np.float32, np.float64]),
       st.sampled_from([np.int32, np.int64]), st.booleans(), st.integers(0, 2**31 - 1))
def test_csr_kernels_match_numpy(n, d, k, density, dtype, index_dtype, zeros, seed):
    """Labels are the nearest centres by the float64 distances (ties to the smaller
    index), sums and weights those of the labels, every distance the exact one to
    ~1e-12 of the norms, for any density (empty matrices and rows included)."""
    from skml.cluster._kmeans import _CSR

    rng = np.random.RandomState(seed)
    k = min(k, n)
    X = random_csr(n, d, density, dtype, seed, explicit_zeros=zeros,
                   index_dtype=index_dtype)
    rows = _CSR(X)
    D = X.toarray().astype(np.float64)
    C = np.ascontiguousarray(D[rng.choice(n, k, replace=False)] +
                             rng.normal(scale=0.1, size=(k, d))).astype(dtype)
    w = rng.uniform(0.5, 2, n).astype(dtype)
    ref = ((D[:, None, :] - C.astype(np.float64)[None]) ** 2).sum(-1)
    scale = 1 + (D ** 2).sum(1)[:, None] + (C.astype(np.float64) ** 2).sum(1)[None]
    labels = np.full(n, -1, dtype=np.int32)
    sums = np.full((k, d), np.nan)
    weights = np.full(k, np.nan)
    sq = np.empty(n)
    changed = _kmeans.lloyd_pass_csr(rows.data, rows.indices, rows.indptr, w, C, labels,
                                     sums, weights, 64, 2, True, False, rows.sq, sq)
    assert changed == n
    assert labels.min() >= 0 and labels.max() < k
    chosen = ref[np.arange(n), labels]
    assert np.all(chosen <= ref.min(1) + 1e-12 * scale.max(1))
    np.testing.assert_allclose(sq, chosen, atol=1e-12 * scale.max())
    w64 = w.astype(np.float64)
    ref_sums = np.zeros((k, d))
    np.add.at(ref_sums, labels, w64[:, None] * D)
    np.testing.assert_allclose(sums, ref_sums, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights, np.bincount(labels, w64, minlength=k), rtol=1e-12)
    # Elkan's pass: the same labels
    upper = np.empty(n, dtype=dtype)
    lower = np.empty((n, k), dtype=dtype)
    lab_e = np.full(n, -1, dtype=np.int32)
    _kmeans.elkan_pass_csr(rows.data, rows.indices, rows.indptr, rows.sq, w, C,
                           np.zeros(k), lab_e, upper, lower, sums, weights, 64, 2, True,
                           False, True)
    assert np.all(ref[np.arange(n), lab_e] <= ref.min(1) + 1e-12 * scale.max(1))
    # distances to rows of X: exact 0 to themselves
    idx = rng.choice(n, min(3, n), replace=False)
    out = np.empty((n, len(idx)))
    _kmeans.sq_distances_csr(rows.data, rows.indices, rows.indptr, rows.sq,
                             D[idx].astype(dtype), rows.sq[idx], out, False, 2)
    ref_rows = ((D[:, None, :] - D[idx][None]) ** 2).sum(-1)
    np.testing.assert_allclose(out, ref_rows, atol=1e-12 * scale.max())
    assert np.all(out[idx, np.arange(len(idx))] == 0)


@pytest.mark.skipif(_kmeans.simd_level() == "baseline", reason="CPU without AVX2")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csr_simd_and_baseline_loops_agree_bit_for_bit(dtype):
    from skml.cluster._kmeans import _CSR

    rows = _CSR(random_csr(500, 60, 0.1, dtype, 11))
    rng = np.random.RandomState(0)
    for k in (1, 3, 4, 5, 16, 17, 33):
        C = rng.normal(size=(k, 60)).astype(dtype)
        w = np.ones(500, dtype=dtype)
        out = []
        try:
            for simd in (True, False):
                _kmeans._set_simd(simd)
                labels = np.full(500, -1, dtype=np.int32)
                sums, weights, sq = np.empty((k, 60)), np.empty(k), np.empty(500)
                _kmeans.lloyd_pass_csr(rows.data, rows.indices, rows.indptr, w, C, labels,
                                       sums, weights, 64, 2, True, True, rows.sq, sq)
                out.append((labels, sums, sq))
        finally:
            _kmeans._set_simd(True)
        np.testing.assert_array_equal(out[0][0], out[1][0])
        assert out[0][1].tobytes() == out[1][1].tobytes()
        assert out[0][2].tobytes() == out[1][2].tobytes()


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_sparse_results_do_not_depend_on_the_thread_count(algorithm):
    from threadpoolctl import threadpool_limits

    # 20,000 rows x 20 stored values x 8 centres: enough work for 3 threads
    X = random_csr(20_000, 400, 0.05, np.float64, 4)
    fits = []
    for n in (1, 3):
        with threadpool_limits(limits=n, user_api="openmp"):
            fits.append(KMeans(8, algorithm=algorithm, n_init=1, max_iter=5, tol=0,
                               random_state=0).fit(X))
    for f in fits[1:]:
        assert f.cluster_centers_.tobytes() == fits[0].cluster_centers_.tobytes()
        assert f.inertia_ == fits[0].inertia_
        np.testing.assert_array_equal(f.labels_, fits[0].labels_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("density", [0.05, 0.6])
def test_csc_with_every_awkward_feature_equals_the_dense_copy(dtype, density):
    # CSC (converted to CSR rows) with stored zeros, empty rows and unsorted indices
    from tests._sparse_cases import awkward_sparse

    X, D = awkward_sparse(300, 25, density, 3, dtype=dtype, fmt="csc")
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for algorithm in ("lloyd", "elkan"):
            a = KMeans(4, algorithm=algorithm, random_state=0).fit(X)
            b = KMeans(4, algorithm=algorithm, random_state=0).fit(D)
            np.testing.assert_array_equal(a.labels_, b.labels_)
            assert a.n_iter_ == b.n_iter_
            np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=rtol,
                                       atol=rtol)
            np.testing.assert_array_equal(a.predict(X), b.predict(D))
        a = MiniBatchKMeans(4, batch_size=64, random_state=0).fit(X)
        b = MiniBatchKMeans(4, batch_size=64, random_state=0).fit(D)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-5, atol=1e-6)
