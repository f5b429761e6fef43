"""The Lloyd kernel (skml._kernels._kmeans) against a plain NumPy reference."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from skml._kernels import _kmeans


def reference_sq_distances(X, C):
    """Squared distances straight from the differences, in float64."""
    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)


def tolerance(dtype, X, C):
    """What the GEMM identity may lose to cancellation, relative to the norms."""
    scale = 1.0 + (np.abs(X).max() + np.abs(C).max()) ** 2 * X.shape[1]
    return (1e-5 if dtype == np.float32 else 1e-12) * scale


def run_pass(X, w, C, labels, *, chunk=256, n_groups=128, n_threads=2, update=True,
             unit=False):
    k, d = C.shape
    sums = np.full((k, d), np.nan)
    weights = np.full(k, np.nan)
    workspace = np.full((n_groups, k * (d + 1)), np.nan)  # the kernel clears what it uses
    changed = _kmeans.lloyd_pass(X, w, C, labels, sums, weights, workspace, chunk,
                                 n_threads, update, unit)
    return changed, sums, weights


cases = st.tuples(
    st.integers(1, 700),  # rows: across several chunk boundaries of 256 (and of 64)
    st.integers(1, 12),  # features
    st.integers(1, 40),  # clusters (capped at the rows below; k == n included)
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from(["ones", "random", "with_zeros"]),
    st.booleans(),  # duplicate points
    st.booleans(),  # read-only inputs
    st.sampled_from([64, 256]),  # chunk
    st.integers(0, 2**31 - 1),
)


@settings(max_examples=80, deadline=None)
@given(cases)
@example((300, 4, 1, np.float64, "random", False, True, 64, 0))  # k = 1
@example((37, 3, 37, np.float32, "with_zeros", True, False, 256, 1))  # k = n
@example((513, 2, 40, np.float32, "ones", True, True, 256, 2))  # chunk boundary + 1
def test_lloyd_pass_matches_numpy_reference(spec):
    n, d, k, dtype, weights_kind, dup, readonly, chunk, seed = spec
    rng = np.random.RandomState(seed)
    k = min(k, n)
    X = rng.normal(size=(n, d)).astype(dtype)
    if dup:
        X[rng.randint(0, n, n // 2)] = X[0]
    C = np.ascontiguousarray(X[rng.choice(n, k, replace=False)])
    C += rng.normal(scale=0.01, size=C.shape).astype(dtype)
    w = {"ones": np.ones(n), "random": rng.uniform(0.1, 3, n),
         "with_zeros": rng.randint(0, 3, n).astype(float)}[weights_kind].astype(dtype)
    if readonly:
        for a in (X, C, w):
            a.setflags(write=False)
    before = rng.randint(-1, k, n).astype(np.int32)
    labels = before.copy()

    changed, sums, weights = run_pass(X, w, C, labels, chunk=chunk)

    assert changed == np.count_nonzero(labels != before)
    assert labels.min() >= 0 and labels.max() < k
    D = reference_sq_distances(X, C)
    tol = tolerance(dtype, X, C)
    chosen = D[np.arange(n), labels]
    assert np.all(chosen <= D.min(axis=1) + tol)
    # where the nearest centre is clear, the label is the reference's (ties: lowest index)
    srt = np.sort(D, axis=1)
    clear = srt[:, 1] - srt[:, 0] > 2 * tol if k > 1 else np.ones(n, bool)
    np.testing.assert_array_equal(labels[clear], D.argmin(axis=1)[clear])

    w64 = w.astype(np.float64)
    np.testing.assert_allclose(weights, np.bincount(labels, w64, minlength=k),
                               rtol=1e-12, atol=1e-12)
    ref_sums = np.zeros((k, d))
    np.add.at(ref_sums, labels, w64[:, None] * X.astype(np.float64))
    np.testing.assert_allclose(sums, ref_sums, rtol=1e-10, atol=1e-10 * (1 + np.abs(
        ref_sums).max()))

    # the E-step alone gives the same labels and does not touch the accumulators
    only = np.full(n, -1, dtype=np.int32)
    _, s2, w2 = run_pass(X, w, C, only, chunk=chunk, update=False)
    np.testing.assert_array_equal(only, labels)
    assert np.isnan(s2).all() and np.isnan(w2).all()
    # unit weights: the same sums, bit for bit, without the multiplications
    if weights_kind == "ones":
        again = np.full(n, -1, dtype=np.int32)
        _, s3, w3 = run_pass(X, w, C, again, chunk=chunk, unit=True)
        assert s3.tobytes() == sums.tobytes() and w3.tobytes() == weights.tobytes()

    inertia = _kmeans.inertia(X, w, C, labels, chunk, 2)
    np.testing.assert_allclose(inertia, (w64 * chosen).sum(), rtol=1e-10, atol=1e-10)
    # the fused E-step + inertia: the same labels and the very same sum
    fused = np.full(n, -1, dtype=np.int32)
    assert _kmeans.assign_inertia(X, w, C, fused, chunk, 2) == inertia
    np.testing.assert_array_equal(fused, labels)
    out = np.empty(n)
    _kmeans.assigned_sq_distances(X, C, labels, out, 2)
    np.testing.assert_allclose(out, chosen, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 5, 16, 33])
def test_results_do_not_depend_on_the_thread_count(dtype, k):
    rng = np.random.RandomState(k)
    X = rng.rand(20_000, 7).astype(dtype)
    w = rng.uniform(0.5, 2, len(X)).astype(dtype)
    C = np.ascontiguousarray(X[:k])
    results = []
    for n_threads in (1, 2, 3, 8):
        labels = np.full(len(X), -1, dtype=np.int32)
        changed, sums, weights = run_pass(X, w, C, labels, n_threads=n_threads)
        inertia = _kmeans.inertia(X, w, C, labels, 256, n_threads)
        results.append((changed, labels, sums, weights, inertia))
    for other in results[1:]:
        assert other[0] == results[0][0]
        np.testing.assert_array_equal(other[1], results[0][1])
        # bit-for-bit: the summation order is fixed by the groups, not by the threads
        assert other[2].tobytes() == results[0][2].tobytes()
        assert other[3].tobytes() == results[0][3].tobytes()
        assert other[4] == results[0][4]


@pytest.mark.skipif(_kmeans.simd_level() == "baseline", reason="CPU without AVX2")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simd_and_baseline_loops_agree_bit_for_bit(dtype):
    rng = np.random.RandomState(0)
    for k in (1, 3, 4, 7, 8, 9, 16, 31, 70):
        X = rng.normal(size=(3000, 5)).astype(dtype)
        X[::7] = X[0]  # exact ties between duplicate centres below
        C = np.ascontiguousarray(np.vstack([X[:1], X[:1], X[1:k]])[:k])
        w = rng.rand(len(X)).astype(dtype)
        out = []
        try:
            for simd in (True, False):
                _kmeans._set_simd(simd)
                labels = np.full(len(X), -1, dtype=np.int32)
                out.append((labels,) + run_pass(X, w, C, labels)[1:])
        finally:
            _kmeans._set_simd(True)
        np.testing.assert_array_equal(out[0][0], out[1][0])
        assert out[0][1].tobytes() == out[1][1].tobytes()
        assert out[0][2].tobytes() == out[1][2].tobytes()
        if k > 1:  # two identical centres: the tie goes to the first
            assert not np.any(out[0][0] == 1)


def test_empty_input_is_a_no_op():
    X = np.empty((0, 3))
    labels = np.empty(0, dtype=np.int32)
    assert _kmeans.lloyd_pass(X, np.empty(0), np.ones((2, 3)), labels, np.zeros((2, 3)),
                              np.zeros(2), np.zeros((4, 8)), 256, 2, True) == 0
    assert _kmeans.inertia(X, np.empty(0), np.ones((2, 3)), labels, 256, 2) == 0.0
