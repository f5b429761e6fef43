"""Sparse k-means far from the origin (issue 11): CSR rows cannot be centred, so the
float64 identity ||x||^2 + ||c||^2 - 2 x.c loses the digits that tell centres apart when
the stored values sit near 1e8 with a spread of 1. Every CSR kernel must still give the
labels and distances of the exact computation (from the differences, in float64, here
in NumPy), and the estimator those of its dense copy."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from skml._kernels import _kmeans
from skml.cluster import KMeans, MiniBatchKMeans


def offset_csr(n, d, offset, spread, seed, dtype=np.float64, n_patterns=3, nnz=6):
    """Rows in ``n_patterns`` groups, the rows of a group storing the same ``nnz``
    columns, values ``offset + spread * N(0, 1)``: rows of one group differ only by the
    small part, which the identity rounds away at offset 1e8 (its error ~ nnz * 1e16 *
    1e-16 ~ 10 against distances ~ 1)."""
    rng = np.random.RandomState(seed)
    patterns = [np.sort(rng.choice(d, min(nnz, d), replace=False))
                for _ in range(n_patterns)]
    indptr, indices, data = [0], [], []
    for i in range(n):
        cols = patterns[i % n_patterns]
        indices.append(cols)
        data.append(offset + spread * rng.normal(size=len(cols)))
        indptr.append(indptr[-1] + len(cols))
    X = sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr),
                      shape=(n, d))
    return X.astype(dtype)


def exact_sq(D, C):
    """Squared distances from the differences, float64 (NumPy)."""
    D = np.asarray(D, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    return ((D[:, None, :] - C[None]) ** 2).sum(-1)


def first_nearest(R):
    """The exact nearest centre, ties to the smaller index."""
    return (R == R.min(1)[:, None]).argmax(1)


def centres_near_rows(D, k, rng, dtype):
    """k centres: rows of the data moved by a fraction of the spread (so that several
    centres share each sparsity pattern and differ only in the small part)."""
    idx = rng.choice(D.shape[0], k, replace=False)
    mask = D[idx] != 0
    C = D[idx] + mask * rng.normal(scale=0.3, size=mask.shape)
    return np.ascontiguousarray(C.astype(dtype))


# float32 data keep ~7 digits: offset 1e4 with a spread of 1 (1e8 would round it away)
@pytest.mark.parametrize("dtype, offset", [(np.float64, 1e4), (np.float64, 1e8),
                                           (np.float32, 1e4)])
def test_csr_kernels_are_exact_far_from_the_origin(dtype, offset):
    from skml.cluster._kmeans import _CSR

    rng = np.random.RandomState(0)
    n, d, k = 240, 40, 9
    X = offset_csr(n, d, offset, 1.0, 0, dtype)
    rows = _CSR(X)
    D = X.toarray().astype(np.float64)
    C = centres_near_rows(D, k, rng, dtype)
    R = exact_sq(D, C)
    want = first_nearest(R)
    w = np.ones(n, dtype=dtype)
    labels = np.full(n, -1, dtype=np.int32)
    sq = np.empty(n)
    _kmeans.lloyd_pass_csr(rows.data, rows.indices, rows.indptr, w, C, labels,
                           np.empty((k, d)), np.empty(k), 64, 2, True, True, rows.sq, sq)
    np.testing.assert_array_equal(labels, want)
    np.testing.assert_allclose(sq, R[np.arange(n), want], rtol=1e-10)
    # the same labels without the norms (the fit's passes)
    lab2 = np.full(n, -1, dtype=np.int32)
    _kmeans.lloyd_pass_csr(rows.data, rows.indices, rows.indptr, w, C, lab2,
                           np.empty((k, d)), np.empty(k), 64, 2, False, True)
    np.testing.assert_array_equal(lab2, want)
    # the distances of a fixed labelling, and to dense rows (kmeans++, transform)
    out = np.empty(n)
    _kmeans.assigned_sq_distances_csr(rows.data, rows.indices, rows.indptr, rows.sq, C,
                                      want.astype(np.int32), out, 2)
    np.testing.assert_allclose(out, R[np.arange(n), want], rtol=1e-10)
    full = np.empty((n, k))
    _kmeans.sq_distances_csr(rows.data, rows.indices, rows.indptr, rows.sq, C,
                             _kmeans._sq_norms(C), full, False, 2)
    np.testing.assert_allclose(full, R, rtol=1e-10)
    idx = np.arange(5)
    self_d = np.empty((n, len(idx)))
    _kmeans.sq_distances_csr(rows.data, rows.indices, rows.indptr, rows.sq,
                             D[idx].astype(dtype), rows.sq[idx], self_d, False, 2)
    np.testing.assert_allclose(self_d, exact_sq(D, D[idx]), rtol=1e-10)
    assert np.all(self_d[idx, np.arange(len(idx))] == 0)
    # Elkan's pass: the exact nearest (its distances are within 2^-36 of the exact
    # ones; no two centres are that close here)
    lab_e = np.full(n, -1, dtype=np.int32)
    _kmeans.elkan_pass_csr(rows.data, rows.indices, rows.indptr, rows.sq, w, C,
                           np.zeros(k), lab_e, np.empty(n, dtype=dtype),
                           np.empty((n, k), dtype=dtype), np.empty((k, d)), np.empty(k),
                           64, 2, False, True, True)
    np.testing.assert_array_equal(lab_e, want)


def reference_lloyd(D, C, max_iter):
    """Lloyd's algorithm in NumPy from the differences (float64): (labels, centres)."""
    C = np.array(C, dtype=np.float64)
    labels = None
    for _ in range(max_iter):
        new_labels = first_nearest(exact_sq(D, C))
        assert len(np.unique(new_labels)) == C.shape[0]  # no empty cluster here
        C_new = np.array([D[new_labels == j].mean(0) for j in range(C.shape[0])])
        done = labels is not None and np.array_equal(new_labels, labels)
        labels, C = new_labels, C_new
        if done:
            break
    return first_nearest(exact_sq(D, C)), C


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_sparse_kmeans_at_offset_1e8_equals_an_exact_reference(algorithm):
    """Clusters 1e-8 of the values apart: the identity's rounding (~10) dwarfs the
    distances that decide (~1). Note: the dense float64 path, whose GEMM identity has
    no exact recheck, mislabels this data too (it is centred, but the columns' spread
    is the offset itself)."""
    rng = np.random.RandomState(1)
    X = offset_csr(300, 30, 1e8, 1.0, 1)
    D = X.toarray()
    init = np.vstack([centres_near_rows(D[p::3], 2, rng, np.float64) for p in range(3)])
    km = KMeans(6, init=init, n_init=1, max_iter=30, tol=0,
                algorithm=algorithm).fit(X)
    ref_labels, ref_centres = reference_lloyd(D, init, 30)
    np.testing.assert_array_equal(km.labels_, ref_labels)
    np.testing.assert_allclose(km.cluster_centers_, ref_centres, rtol=1e-15)
    # inertia, predict and transform are those of the exact distances
    R = exact_sq(D, km.cluster_centers_)
    np.testing.assert_array_equal(km.labels_, first_nearest(R))
    np.testing.assert_allclose(km.inertia_, R.min(1).sum(), rtol=1e-9)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    np.testing.assert_allclose(km.transform(X), np.sqrt(R), rtol=1e-9)
    # the identity alone (what the CSR kernels did) labels many rows wrongly
    sq_x = (D ** 2).sum(1)[:, None]
    sq_c = (km.cluster_centers_ ** 2).sum(1)[None]
    naive = (sq_x + sq_c - 2 * D @ km.cluster_centers_.T).argmin(1)
    assert np.mean(naive != km.labels_) > 0.05


def test_sparse_minibatch_at_offset_1e8_labels_are_exact():
    X = offset_csr(300, 30, 1e8, 1.0, 2)
    mb = MiniBatchKMeans(6, random_state=0, n_init=1, batch_size=64, max_iter=5).fit(X)
    R = exact_sq(X.toarray(), mb.cluster_centers_)
    np.testing.assert_array_equal(mb.labels_, first_nearest(R))
    np.testing.assert_array_equal(mb.predict(X), first_nearest(R))


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 80), st.integers(1, 25), st.integers(1, 7),
       st.sampled_from([0.0, 1.0, 1e4, 1e8, 1e12]), st.integers(-300, 300),
       st.sampled_from([np.float64, np.float32]), st.booleans(),
       st.integers(0, 2**31 - 1))
def test_sparse_kmeans_any_offset_and_magnitude(n, d, k, offset, log_scale, dtype,
                                                elkan, seed):
    """Offsets (in units of the spread) and magnitudes up to 1e300: never a crash, labels
    in range, and, where float64 holds the data's digits, the exact nearest centres;
    beyond the float range of the squares, still the labels of the unit-scale data."""
    scale = 10.0 ** log_scale
    k = min(k, n)
    with np.errstate(over="ignore", under="ignore"):
        X = offset_csr(n, d, offset * scale, scale, seed, n_patterns=2, nnz=3)
    if dtype == np.float32:
        if not (1e-30 < scale < 1e30 and offset <= 1e4):
            return  # beyond float32 (range, or the digits of a spread at that offset)
        X = X.astype(np.float32)
    if not np.all(np.isfinite(X.data)):
        return
    km = KMeans(k, random_state=seed, n_init=1, max_iter=5,
                algorithm="elkan" if elkan else "lloyd").fit(X)
    assert km.labels_.min() >= 0 and km.labels_.max() < k
    assert np.all(np.isfinite(km.cluster_centers_))
    assert km.inertia_ >= 0
    # in units of the scale (exact: a power-of-ten scale is not, so compare the
    # nearest by distances computed on X / scale, which is exact to rounding)
    Dn = X.toarray().astype(np.float64) / scale
    Cn = km.cluster_centers_.astype(np.float64) / scale
    R = exact_sq(Dn, Cn)
    chosen = R[np.arange(n), km.labels_]
    typical = np.mean(R.min(1)) + 1e-300
    assert np.all(chosen <= R.min(1) + 1e-6 * typical)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
