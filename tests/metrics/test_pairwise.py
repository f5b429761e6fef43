"""The pairwise kernel against a plain NumPy reference, on awkward shapes and layouts."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import config_context

from skml.metrics import (
    kneighbors_brute,
    pairwise_distances,
    pairwise_distances_argmin_min,
)
from skml.metrics import _pairwise as pw
from tests._layouts import as_layout

METRICS = ["euclidean", "sqeuclidean", "cosine", "manhattan", "minkowski", "chebyshev"]


def reference(X, Y, metric, p=3.0):
    """Straight from the definitions, in float64, one difference at a time."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    diff = X[:, None, :] - Y[None, :, :]
    if metric == "euclidean":
        return np.sqrt((diff**2).sum(-1))
    if metric == "sqeuclidean":
        return (diff**2).sum(-1)
    if metric == "manhattan":
        return np.abs(diff).sum(-1)
    if metric == "chebyshev":
        return np.abs(diff).max(-1) if X.shape[1] else np.zeros(diff.shape[:2])
    if metric == "minkowski":
        return (np.abs(diff) ** p).sum(-1) ** (1 / p)
    if metric == "cosine":
        nx = np.linalg.norm(X, axis=1)
        ny = np.linalg.norm(Y, axis=1)
        nx[nx == 0] = 1
        ny[ny == 0] = 1
        return np.clip(1 - (X / nx[:, None]) @ (Y / ny[:, None]).T, 0, 2)
    raise AssertionError(metric)


def tolerance(dtype, metric, X, Y):
    """GEMM-identity metrics lose precision to cancellation: bound it by the norms."""
    scale = 1.0 + max(np.abs(X).max(initial=0), np.abs(Y).max(initial=0)) ** 2 * X.shape[1]
    eps = 1e-4 if dtype == np.float32 else 1e-11
    if metric == "euclidean":
        return np.sqrt(eps * scale)  # sqrt amplifies the error near zero
    return eps * scale


arrays = st.tuples(
    st.integers(0, 40),  # rows of X (0 and 1 included)
    st.integers(1, 40),  # rows of Y
    st.integers(1, 12),  # features (1 included)
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from(["C", "F", "strided", "readonly"]),
    st.booleans(),  # duplicate points
    st.integers(0, 2**31 - 1),
)


@settings(max_examples=60, deadline=None)
@given(arrays, st.sampled_from(METRICS))
def test_pairwise_distances_matches_reference(spec, metric):
    n_x, n_y, d, dtype, kind, dup, seed = spec
    rng = np.random.RandomState(seed)
    X = rng.randn(n_x, d).astype(dtype)
    Y = rng.randn(n_y, d).astype(dtype)
    if dup and n_x:
        Y[: min(n_x, n_y)] = X[: min(n_x, n_y)]
    D = pairwise_distances(as_layout(X, kind), as_layout(Y, kind), metric=metric, p=3.0)
    assert D.dtype == dtype and D.shape == (n_x, n_y)
    np.testing.assert_allclose(D, reference(X, Y, metric), rtol=0,
                               atol=tolerance(dtype, metric, X, Y))


@settings(max_examples=40, deadline=None)
@given(arrays, st.sampled_from(METRICS))
def test_self_distances_have_exact_zero_diagonal(spec, metric):
    n_x, _, d, dtype, kind, _, seed = spec
    X = np.random.RandomState(seed).randn(n_x, d).astype(dtype) * 100
    D = pairwise_distances(as_layout(X, kind), metric=metric, p=3.0)
    assert np.all(np.diag(D) == 0)
    np.testing.assert_allclose(D, reference(X, X, metric), rtol=0,
                               atol=tolerance(dtype, metric, X, X))


def assert_topk_matches(X, Y, k, metric, dist, ind, same=False):
    """Distances equal the reference's k smallest; each index's distance is its own."""
    R = reference(X, X if Y is None else Y, metric)
    if same:
        np.fill_diagonal(R, 0)
    tol = tolerance(X.dtype, metric, X, X if Y is None else Y)
    expected = np.sort(R, axis=1)[:, :k]
    np.testing.assert_allclose(dist, expected, rtol=0, atol=tol)
    np.testing.assert_allclose(np.take_along_axis(R, ind, 1), dist, rtol=0, atol=tol)
    assert np.all(np.diff(dist, axis=1) >= 0)
    for row in ind:
        assert len(set(row)) == k  # no index twice


@settings(max_examples=60, deadline=None)
@given(arrays, st.sampled_from(METRICS), st.integers(1, 50))
def test_kneighbors_brute_matches_reference(spec, metric, k):
    n_x, n_y, d, dtype, kind, dup, seed = spec
    rng = np.random.RandomState(seed)
    X = rng.randn(n_x, d).astype(dtype)
    Y = rng.randn(n_y, d).astype(dtype)
    if dup:
        Y[n_y // 2:] = Y[: n_y - n_y // 2]  # every point twice: ties everywhere
    k = min(k, n_y)
    dist, ind = kneighbors_brute(as_layout(X, kind), as_layout(Y, kind), k, metric=metric, p=3.0)
    assert dist.dtype == dtype and ind.shape == (n_x, k)
    assert_topk_matches(X, Y, k, metric, dist, ind)


@settings(max_examples=40, deadline=None)
@given(arrays, st.sampled_from(METRICS))
def test_argmin_min_matches_reference(spec, metric):
    n_x, n_y, d, dtype, kind, _, seed = spec
    rng = np.random.RandomState(seed)
    X = rng.randn(n_x, d).astype(dtype)
    Y = rng.randn(n_y, d).astype(dtype)
    arg, dist = pairwise_distances_argmin_min(as_layout(X, kind), as_layout(Y, kind),
                                              metric=metric, p=3.0)
    assert_topk_matches(X, Y, 1, metric, dist[:, None], arg[:, None])


@pytest.mark.parametrize("n", [255, 256, 257, 511, 512, 513, 1025])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reductions_across_chunk_boundaries(n, dtype):
    # sizes straddling the 256-row X blocks and 512-row Y blocks, with a tight
    # working-memory budget so blocks shrink further
    rng = np.random.RandomState(n)
    X = rng.rand(n, 5).astype(dtype)
    Y = rng.rand(n + 3, 5).astype(dtype)
    for wm in (None, 0.01):
        with config_context(working_memory=wm or 1024):
            dist, ind = kneighbors_brute(X, Y, 4)
            assert_topk_matches(X, Y, 4, "euclidean", dist, ind)
            D = pairwise_distances(X, Y)
            np.testing.assert_allclose(D, reference(X, Y, "euclidean"),
                                       atol=tolerance(dtype, "euclidean", X, Y))


def test_self_search_finds_self_first_at_zero():
    X = np.random.RandomState(0).rand(300, 3) * 1e3
    dist, ind = kneighbors_brute(X, None, 3)
    assert np.all(ind[:, 0] == np.arange(300))
    assert np.all(dist[:, 0] == 0)


def test_ties_go_to_the_smaller_index():
    Y = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    dist, ind = kneighbors_brute(np.zeros((1, 1)), Y, 4)
    assert ind.tolist() == [[0, 1, 2, 3]]
    arg, _ = pairwise_distances_argmin_min(np.zeros((2, 1)), Y)
    assert arg.tolist() == [0, 0]


def test_results_do_not_depend_on_n_jobs():
    rng = np.random.RandomState(1)
    X, Y = rng.rand(700, 8), rng.rand(900, 8)
    ref = kneighbors_brute(X, Y, 5, n_jobs=1)
    for n_jobs in (2, 3, -1, None):
        got = kneighbors_brute(X, Y, 5, n_jobs=n_jobs)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
        np.testing.assert_array_equal(pairwise_distances(X, Y, n_jobs=n_jobs),
                                      pairwise_distances(X, Y, n_jobs=1))


def test_agrees_with_sklearn_float64():
    from sklearn.metrics import pairwise_distances as sk_pd
    from sklearn.metrics import pairwise_distances_argmin_min as sk_am

    rng = np.random.RandomState(2)
    X, Y = rng.rand(400, 30), rng.rand(300, 30)
    for metric in ["euclidean", "sqeuclidean", "cosine", "manhattan"]:
        np.testing.assert_allclose(pairwise_distances(X, Y, metric=metric),
                                   sk_pd(X, Y, metric=metric), rtol=0, atol=1e-8)
    arg, dist = pairwise_distances_argmin_min(X, Y)
    sk_arg, sk_dist = sk_am(X, Y)
    np.testing.assert_array_equal(arg, sk_arg)
    np.testing.assert_allclose(dist, sk_dist, rtol=0, atol=1e-8)


def test_mixed_and_integer_dtypes_compute_in_float64():
    X = np.arange(6, dtype=np.int64).reshape(3, 2)
    assert pairwise_distances(X).dtype == np.float64
    assert pairwise_distances(X.astype(np.float32), X.astype(np.float64)).dtype == np.float64
    assert pairwise_distances(X.astype(bool)).dtype == np.float64


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "fn",
    [
        lambda X, Y: pairwise_distances(X, Y),
        lambda X, Y: pairwise_distances_argmin_min(X, Y),
        lambda X, Y: kneighbors_brute(X, Y, 1),
    ],
)
def test_non_finite_input_raises(bad, fn):
    X = np.ones((3, 2))
    X[1, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        fn(X, np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN|infinity"):
        fn(np.ones((2, 2)), X)


def test_bad_arguments_give_clear_errors():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="X has 2 features but Y has 3"):
        pairwise_distances(X, np.ones((3, 3)))
    with pytest.raises(ValueError, match="metric must be one of"):
        pairwise_distances(X, metric="no-such-metric")
    with pytest.raises(TypeError, match="metric must be a string, a callable"):
        pairwise_distances(X, metric=3)
    with pytest.raises(ValueError, match=r"p must be in \(0, inf\]"):
        pairwise_distances(X, metric="minkowski", p=0)
    with pytest.raises(ValueError, match=r"takes no parameter \['w'\]"):
        pairwise_distances(X, metric="euclidean", w=np.ones(2))
    with pytest.raises(ValueError, match=r"k must be in \[1, 3\], got 4"):
        kneighbors_brute(X, X, 4)
    with pytest.raises(TypeError, match="k must be int"):
        kneighbors_brute(X, X, 1.5)
    with pytest.raises(ValueError, match="Y must have at least one row"):
        pairwise_distances_argmin_min(X, np.ones((0, 2)))
    with pytest.raises(ValueError, match="n_jobs must not be 0"):
        pairwise_distances(X, n_jobs=0)
    with pytest.raises(ValueError, match="Expected 2D array"):
        pairwise_distances(np.ones(3))


def test_minkowski_special_orders():
    rng = np.random.RandomState(3)
    X, Y = rng.rand(20, 4), rng.rand(10, 4)
    np.testing.assert_allclose(pairwise_distances(X, Y, metric="minkowski", p=1),
                               reference(X, Y, "manhattan"), atol=1e-12)
    np.testing.assert_allclose(pairwise_distances(X, Y, metric="minkowski", p=np.inf),
                               reference(X, Y, "chebyshev"), atol=1e-12)
    np.testing.assert_allclose(pairwise_distances(X, Y, metric="minkowski", p=2),
                               reference(X, Y, "euclidean"), atol=1e-12)
    np.testing.assert_allclose(pairwise_distances(X, Y, metric="minkowski", p=1.5),
                               reference(X, Y, "minkowski", p=1.5), atol=1e-12)


def test_metric_table_lists_every_code():
    assert set(pw.PAIRWISE_METRICS) == set(pw._METRIC_CODES)
