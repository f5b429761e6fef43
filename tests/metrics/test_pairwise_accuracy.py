"""Accuracy of the pairwise kernel where the GEMM identity alone fails: magnitudes that
overflow a square, data far from the origin, float32, Minkowski orders that overflow a
power, ties. Every reference is computed independently of the kernel (SciPy's cdist on
exactly rescaled data, extended precision, ``decimal``)."""
from decimal import Decimal, getcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from skml.metrics import (
    kneighbors_brute,
    pairwise_distances,
    pairwise_distances_argmin_min,
)
from skml.metrics import _pairwise as pw
from tests._layouts import as_layout

METRICS = ["euclidean", "sqeuclidean", "cosine", "manhattan", "minkowski", "chebyshev"]


def reference(X, Y, metric, p=3.0):
    """Distances of the float values of X and Y, without cancellation or overflow:
    computed on data divided by a power of two (exact), in extended precision for
    Minkowski, then scaled back."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    top = max(np.abs(X).max(initial=0), np.abs(Y).max(initial=0))
    scale = 2.0 ** np.frexp(top)[1] if top > 0 else 1.0
    Xs, Ys = X / scale, Y / scale
    if metric == "minkowski":
        T = np.abs(Xs[:, None, :].astype(np.longdouble) - Ys[None, :, :])
        m = T.max(axis=2)
        safe = np.where(m == 0, 1, m)
        inner = ((T / safe[:, :, None]) ** np.longdouble(p)).sum(axis=2)
        D = np.where(m == 0, 0, m * inner ** (1 / np.longdouble(p))).astype(np.float64)
    elif metric == "cosine":
        nx = np.linalg.norm(Xs, axis=1)
        ny = np.linalg.norm(Ys, axis=1)
        D = 1 - (Xs / np.where(nx == 0, 1, nx)[:, None]) @ (
            Ys / np.where(ny == 0, 1, ny)[:, None]).T
        return np.clip(D, 0, 2)
    else:
        D = cdist(Xs, Ys, {"manhattan": "cityblock"}.get(metric, metric))
    if metric == "sqeuclidean":
        with np.errstate(over="ignore"):  # a square beyond the largest double
            return D * scale * scale
    return D * scale


def check_topk(X, Y, k, metric, dist, ind, p=3.0, rtol=1e-13, atol=0.0):
    """Valid distinct indices; distances are the k smallest of the reference and each
    index's reference distance is its returned distance."""
    R = reference(X, Y, metric, p)
    n_y = R.shape[1]
    assert ind.shape == dist.shape == (R.shape[0], k)
    assert np.all((ind >= 0) & (ind < n_y))
    assert all(len(set(row)) == k for row in ind)
    np.testing.assert_allclose(dist, np.sort(R, axis=1)[:, :k], rtol=rtol, atol=atol)
    np.testing.assert_allclose(np.take_along_axis(R, ind, 1), dist, rtol=rtol, atol=atol)
    assert np.all(dist[:, 1:] >= dist[:, :-1])  # (inf where a square overflows)


# --------------------------------------------------------------------------- issue 11 §1


def test_overflowing_squares_still_order_neighbours():
    dist, ind = kneighbors_brute([[0.0, 0.0]], [[1e200, 0.0], [2e200, 0.0]], k=2)
    assert ind.tolist() == [[0, 1]]
    np.testing.assert_allclose(dist, [[1e200, 2e200]], rtol=1e-15)
    arg, d = pairwise_distances_argmin_min([[3e200, 0.0]], [[1e200, 0.0], [2e200, 0.0]])
    assert arg.tolist() == [1]
    np.testing.assert_allclose(pairwise_distances([[0.0, 0.0], [1e200, 1e200]]),
                               [[0.0, np.sqrt(2) * 1e200], [np.sqrt(2) * 1e200, 0.0]],
                               rtol=1e-15)


@pytest.mark.parametrize("scale", [2.0**531, 1e160, 1e300, 1e-160, 1e-300])
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "manhattan", "cosine"])
def test_extreme_magnitudes_give_the_neighbours_of_the_unscaled_data(scale, metric):
    # what TSNE(perplexity=2).fit(X * 1e160) and Isomap hand to the reductions
    X = np.random.RandomState(0).randn(30, 3)
    Xs = X * scale
    dist, ind = kneighbors_brute(Xs, None, 7, metric=metric)
    check_topk(Xs, Xs, 7, metric, dist, ind, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(ind, kneighbors_brute(X, None, 7, metric=metric)[1])
    np.testing.assert_allclose(pairwise_distances(Xs, metric=metric),
                               reference(Xs, Xs, metric), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("p", [200, 600, 1000])
def test_minkowski_with_a_large_order_against_decimal_arithmetic(p):
    # sum |t|^p under- or overflows for these p on ordinary data (the KD-tree returned
    # 0 or inf, the brute force the sentinel index)
    rng = np.random.RandomState(p)
    X, Y = rng.randn(6, 20), rng.randn(7, 20)
    getcontext().prec = 40
    ref = np.array([[float(sum(abs(Decimal(a) - Decimal(b)) ** p for a, b in zip(x, y))
                           ** (Decimal(1) / p)) for y in Y] for x in X])
    D = pairwise_distances(X, Y, metric="minkowski", p=p)
    np.testing.assert_allclose(D, ref, rtol=1e-13)
    dist, ind = kneighbors_brute(X, Y, 7, metric="minkowski", p=p)
    np.testing.assert_array_equal(ind, np.argsort(ref, axis=1, kind="stable"))
    np.testing.assert_allclose(dist, np.sort(ref, axis=1), rtol=1e-13)


def test_tsne_isomap_lmnn_style_calls_get_valid_indices():
    # the calls of TSNE (k + 1 neighbours of X in itself), Isomap and LMNN on the inputs
    # that crashed them: X * 1e160 and minkowski p=600
    X = np.random.RandomState(0).randn(100, 3)
    for Xi, kw in [(X[:30] * 1e160, {}), (X, {"metric": "minkowski", "p": 600.0})]:
        dist, ind = kneighbors_brute(Xi, None, 7, **kw)
        assert ind.min() >= 0 and ind.max() < len(Xi)
        assert np.all(ind[:, 0] == np.arange(len(Xi))) and np.all(dist[:, 0] == 0)
        check_topk(Xi, Xi, 7, kw.get("metric", "euclidean"), dist, ind,
                   p=kw.get("p", 3.0), rtol=1e-12)


# --------------------------------------------------------------------------- issue 11 §2


def test_float32_far_from_the_origin_keeps_its_precision():
    rng = np.random.RandomState(0)
    X = (1000 + rng.rand(4, 10)).astype(np.float32)
    Y = (1000 + rng.rand(3, 10)).astype(np.float32)
    D = pairwise_distances(X, Y)
    assert D.dtype == np.float32
    # (skml gave square roots of integers: [[1, 1, 0], ...])
    np.testing.assert_allclose(D, reference(X, Y, "euclidean"), rtol=1e-6)


@pytest.mark.parametrize("offset", [1e3, 1e4])
def test_float32_neighbours_equal_the_float64_computation(offset):
    rng = np.random.RandomState(1)
    X = (offset + rng.rand(400, 5)).astype(np.float32)
    Q = (offset + rng.rand(100, 5)).astype(np.float32)
    dist, ind = kneighbors_brute(Q, X, 5)
    d64, i64 = kneighbors_brute(Q.astype(np.float64), X.astype(np.float64), 5)
    np.testing.assert_array_equal(ind, i64)  # (92% of rows were wrong at 1e3)
    np.testing.assert_allclose(dist, d64, rtol=1e-6)
    check_topk(Q, X, 5, "euclidean", dist, ind, rtol=1e-6)
    arg, d = pairwise_distances_argmin_min(Q, X)
    np.testing.assert_array_equal(arg, i64[:, 0])


def test_float64_brute_force_is_exact_far_from_the_origin():
    rng = np.random.RandomState(2)
    X = 1e8 + rng.rand(300, 4)
    Q = 1e8 + rng.rand(50, 4)
    dist, ind = kneighbors_brute(Q, X, 6)  # every list was wrong at this offset
    check_topk(Q, X, 6, "euclidean", dist, ind, rtol=1e-14)
    np.testing.assert_allclose(pairwise_distances(Q, X), reference(Q, X, "euclidean"),
                               rtol=1e-9)


def test_near_duplicates_are_recomputed_exactly():
    # the GEMM identity returns ~1e-8 for a pair 1e-12 apart at |x| ~ 1; every entry of
    # the matrix is accurate relative to its own size
    X = np.random.RandomState(3).rand(50, 8)
    Y = X + 1e-12
    D = pairwise_distances(X, Y)
    np.testing.assert_allclose(np.diag(D), reference(X, Y, "euclidean").diagonal(),
                               rtol=1e-3)
    D32 = pairwise_distances(X.astype(np.float32), (X + 1e-3).astype(np.float32))
    ref = reference(X.astype(np.float32), (X + 1e-3).astype(np.float32), "euclidean")
    np.testing.assert_allclose(D32, ref, rtol=2e-7)


def test_the_exact_rescan_handles_wide_ties():
    # 60 copies of each of two points: 59 ties at every k-th place, beyond any candidate
    # heap; the result must still be the exact (distance, index) order
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0]]), 60, axis=0)
    Q = np.array([[0.1, 0.0], [0.9, 0.0]])
    dist, ind, n_retried = pw._topk(Q, X, 70, pw._EUCLIDEAN, 2.0, 1, False)
    assert n_retried == 2
    assert ind[0].tolist() == list(range(60)) + list(range(60, 70))
    assert ind[1].tolist() == list(range(60, 120)) + list(range(10))
    check_topk(Q, X, 70, "euclidean", dist, ind)


# --------------------------------------------------------------- property-based tests

cases = st.tuples(
    st.integers(1, 25),  # rows of X
    st.integers(1, 30),  # rows of Y
    st.integers(1, 6),  # features
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from(["C", "F", "strided", "readonly"]),
    st.booleans(),  # integer grid: duplicates and exact ties
    st.sampled_from([-1000, -500, 0, 500, 1000]),  # power of two of the magnitude
    st.sampled_from([0.0, 1e3, 1e4, 1e8]),  # offset, in units of the spread
    st.sampled_from(METRICS),
    st.sampled_from([1.5, 3.0, 50.0, 1000.0]),  # Minkowski order
    st.integers(0, 2**31 - 1),
)


def make(spec):
    n_x, n_y, d, dtype, kind, grid, e, offset, metric, p, seed = spec
    rng = np.random.RandomState(seed)
    if dtype == np.float32:
        e = int(np.clip(e, -60, 60))  # float32's range
        offset = min(offset, 1e4)
    if metric == "cosine" or e == 1000:
        offset = 0.0  # cosine far from the origin is ~0 for everyone; 1e8 * 2^1000 = inf
    Z = rng.randint(0, 3, size=(n_x + n_y, d)) if grid else rng.randn(n_x + n_y, d)
    A = ((offset + Z) * 2.0**e).astype(dtype)  # exact: a power of two
    return A[:n_x], A[n_x:], dtype, kind, metric, p


def tolerance(dtype, metric):
    if dtype == np.float32:
        # (and float32's subnormal range, where fewer digits exist)
        return {"rtol": 3e-7, "atol": 3e-7 if metric == "cosine" else 1e-44}
    return {"rtol": 1e-11, "atol": 1e-13 if metric == "cosine" else 0.0}


@settings(max_examples=60, deadline=None)
@given(cases, st.integers(1, 40))
def test_kneighbors_brute_is_exact_for_any_magnitude_offset_and_layout(spec, k):
    X, Y, dtype, kind, metric, p = make(spec)
    k = min(k, len(Y))
    dist, ind = kneighbors_brute(as_layout(X, kind), as_layout(Y, kind), k, metric=metric, p=p)
    assert dist.dtype == dtype
    check_topk(X, Y, k, metric, dist, ind, p=p, **tolerance(dtype, metric))
    arg, dmin = pairwise_distances_argmin_min(as_layout(X, kind), Y, metric=metric, p=p)
    np.testing.assert_array_equal(arg, ind[:, 0])
    np.testing.assert_array_equal(dmin, dist[:, 0])


@settings(max_examples=40, deadline=None)
@given(cases)
def test_pairwise_distances_are_accurate_for_any_magnitude_offset_and_layout(spec):
    X, Y, dtype, kind, metric, p = make(spec)
    D = pairwise_distances(as_layout(X, kind), as_layout(Y, kind), metric=metric, p=p)
    assert D.dtype == dtype
    tol = tolerance(dtype, metric)
    if dtype == np.float64 and metric in ("euclidean", "sqeuclidean", "cosine"):
        tol["rtol"] = 2e-8  # BLAS entries: 1e8 error bounds below their value
    np.testing.assert_allclose(D, reference(X, Y, metric, p), **tol)
    S = pairwise_distances(as_layout(X, kind), metric=metric, p=p)
    assert np.all(np.diag(S) == 0)
