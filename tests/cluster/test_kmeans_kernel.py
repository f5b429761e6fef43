"""The Lloyd kernel (skml._kernels._kmeans) against a plain NumPy reference."""
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
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


# --- accuracy: float32 labels of the exact computation, overflow-safe labels ----------


def exact_labels_ok(X, C, labels, rtol=1e-12):
    """Each label is the nearest centre by the exact float64 distances; where the two
    nearest are closer than ``rtol`` (a tie to float64 rounding) either is accepted."""
    D = reference_sq_distances(X, C)
    chosen = D[np.arange(len(X)), labels]
    best = D.min(axis=1)
    near_tie = chosen <= best * (1 + rtol) + 1e-300
    return bool(np.all(near_tie)), D


offset_cases = st.tuples(
    st.integers(1, 300),  # rows (chunk = 64: several chunks)
    st.integers(1, 10),  # features
    st.integers(1, 24),  # clusters (8 and more use the AVX2 loops)
    st.sampled_from([0.0, 1e2, 1e3, 1e4, 1e6]),  # offset, in units of the spread
    st.integers(-12, 12),  # log10 of the spread
    st.sampled_from(["none", "duplicate_centres", "grid"]),  # exact ties
    st.booleans(),  # read-only
    st.integers(0, 2**31 - 1),
)


@settings(max_examples=60, deadline=None)
@given(offset_cases)
@example((200, 3, 9, 1e4, 0, "duplicate_centres", True, 0))
@example((64, 1, 2, 1e6, -20, "grid", False, 1))
def test_float32_labels_are_those_of_the_exact_computation(spec):
    """With the rows' norms, a float32 pass labels every row as the exact float64
    distances do, however far the data sit from the origin (no centring here), within
    the range the estimators hand over (squares far from float32 over/underflow)."""
    n, d, k, offset, log_spread, ties, readonly, seed = spec
    rng = np.random.RandomState(seed)
    spread = 10.0 ** log_spread
    assume(1e-12 < (offset + 5) * spread < 1e16)
    k = min(k, n)
    if ties == "grid":  # points and centres on a coarse grid: many exact ties
        Z = rng.randint(0, 3, size=(n, d)).astype(np.float64)
    else:
        Z = rng.normal(size=(n, d))
    X = ((offset + Z) * spread).astype(np.float32)
    C = np.ascontiguousarray(X[rng.choice(n, k, replace=False)])
    if ties == "duplicate_centres" and k > 1:
        C[-1] = C[0]
    w = np.ones(n, dtype=np.float32)
    norms = np.sqrt((X.astype(np.float64) ** 2).sum(1))
    if readonly:
        for a in (X, C, w, norms):
            a.setflags(write=False)
    labels = np.full(n, -1, dtype=np.int32)
    run_pass(X, w, C, labels, chunk=64, update=False)
    assert labels.min() >= 0 and labels.max() < k
    exact = np.full(n, -1, dtype=np.int32)
    k_, d_ = C.shape
    _kmeans.lloyd_pass(X, w, C, exact, np.empty((k_, d_)), np.empty(k_), np.empty((1, 1)),
                       64, 2, False, False, norms)
    ok, D = exact_labels_ok(X, C, exact)
    assert ok
    # an exact tie goes to the smaller index, as in the float64 reference
    ties_exact = D.min(1)[:, None] == D
    first = ties_exact.argmax(1)
    clear = ties_exact.sum(1) == 1
    np.testing.assert_array_equal(exact[~clear], first[~clear])
    # the fused E-step + inertia takes the same norms and gives the same labels
    fused = np.full(n, -1, dtype=np.int32)
    _kmeans.assign_inertia(X, w, C, fused, 64, 2, norms)
    np.testing.assert_array_equal(fused, exact)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 200), st.integers(1, 8), st.integers(1, 12),
       st.sampled_from([np.float32, np.float64]), st.sampled_from([0.0, 1e4, 1e8]),
       st.integers(-100, 100), st.integers(0, 2**31 - 1))
def test_on_the_fly_frame_matches_a_transformed_copy(n, d, k, dtype, offset, log_scale,
                                                     seed):
    """assign_inertia with a shift and a power-of-two scale labels raw rows as a pass
    over the transformed copy does, and its inertia is that copy's."""
    if dtype == np.float32:
        offset = min(offset, 1e4)
        log_scale = int(np.clip(log_scale, -30, 30))
    rng = np.random.RandomState(seed)
    k = min(k, n)
    X = ((offset + rng.normal(size=(n, d))) * 10.0 ** log_scale).astype(dtype)
    shift = X.mean(0, dtype=np.float64).astype(dtype)
    scale = 2.0 ** rng.randint(-3, 4) * 2.0 ** -np.frexp(np.abs(X - shift).max() + 1e-300)[1]
    scale = float(np.clip(scale, 2.0**-120, 2.0**120))
    if scale >= 1:
        Xt = ((X - shift) * dtype(scale)).astype(dtype)
    else:
        Xt = (X * dtype(scale) - shift * dtype(scale)).astype(dtype)
    C = np.ascontiguousarray(Xt[rng.choice(n, k, replace=False)])
    w = rng.uniform(0.5, 2, n).astype(dtype)
    a = np.full(n, -1, dtype=np.int32)
    b = np.full(n, -1, dtype=np.int32)
    norms = np.sqrt((Xt.astype(np.float64) ** 2).sum(1))
    ia = _kmeans.assign_inertia(X, w, C, a, 64, 2, None, shift, scale)
    ib = _kmeans.assign_inertia(Xt, w, C, b, 64, 2, norms if dtype == np.float32 else None)
    np.testing.assert_array_equal(a, b)
    assert ia == ib


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 150), st.integers(1, 9), st.integers(1, 10),
       st.sampled_from([np.float32, np.float64]), st.sampled_from([np.float32, np.float64]),
       st.sampled_from([0.0, 1e3, 1e8]), st.booleans(), st.integers(0, 2**31 - 1))
def test_sq_distances_match_the_differences(n, d, k, dtype, out_dtype, offset, with_shift,
                                            seed):
    """float64 distances accurate to ~1e-12 of the exact value (float32 output: to
    its rounding), whatever the offset when shifted; equal rows at exactly 0."""
    rng = np.random.RandomState(seed)
    X = (offset + rng.normal(size=(n, d))).astype(dtype)
    Y = np.ascontiguousarray(np.vstack([X[rng.randint(0, n, k)],
                                        (offset + rng.normal(size=(k, d))).astype(dtype)]))
    shift = X.mean(0, dtype=np.float64) if with_shift else None
    out = np.empty((n, len(Y)), dtype=out_dtype)
    _kmeans.sq_distances(X, Y, out, False, 64, 2, shift, 1.0)
    ref = reference_sq_distances(X, Y)
    if with_shift or offset == 0:
        rtol = 1e-6 if out_dtype == np.float32 else 1e-11
        np.testing.assert_allclose(out, ref, rtol=rtol, atol=0)
    same = (X[:, None, :] == Y[None]).all(-1)
    assert np.all(out[same] == 0)
    assert np.all(out >= 0)
    root = np.empty_like(out)
    _kmeans.sq_distances(X, Y, root, True, 64, 2, shift, 1.0)
    np.testing.assert_allclose(root, np.sqrt(out.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e200), (np.float64, 1.7e308),
                                        (np.float32, 1e30), (np.float32, 3.4e38)])
def test_labels_stay_in_range_when_distances_overflow(dtype, big):
    """Without the estimators' scaling, squares overflow to inf and the values become
    NaN: the kernel still returns a centre index for every row, never a sentinel."""
    rng = np.random.RandomState(0)
    for k in (1, 3, 8, 17):
        X = (rng.uniform(-1, 1, size=(300, 4)) * big).astype(dtype)
        C = np.ascontiguousarray(X[:k])
        w = np.ones(len(X), dtype=dtype)
        labels = np.full(len(X), -1, dtype=np.int32)
        with np.errstate(over="ignore", invalid="ignore"):
            run_pass(X, w, C, labels, chunk=64)
        assert labels.min() >= 0 and labels.max() < k
        if dtype == np.float32:
            norms = np.sqrt((X.astype(np.float64) ** 2).sum(1))
            labels[:] = -1
            _kmeans.lloyd_pass(X, w, C, labels, np.empty((k, 4)), np.empty(k),
                               np.empty((1, 1)), 64, 2, False, False, norms)
            assert labels.min() >= 0 and labels.max() < k


# --- Elkan's pass -------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 200), st.integers(1, 9), st.integers(1, 20),
       st.sampled_from([np.float32, np.float64]),
       st.sampled_from(["normal", "grid", "duplicate_centres"]), st.booleans(),
       st.integers(0, 2**31 - 1))
def test_elkan_pass_labels_are_the_exact_nearest_after_every_move(n, d, k, dtype, kind,
                                                                  readonly, seed):
    """Over several passes with the centres moved in between (by random amounts, some
    not at all), every label is the exact nearest centre (ties to the smaller index),
    the bounds stay bounds, and the sums are those of lloyd_pass for the same labels."""
    rng = np.random.RandomState(seed)
    k = min(k, n)
    if kind == "grid":
        X = rng.randint(0, 3, size=(n, d)).astype(dtype)
    else:
        X = rng.normal(size=(n, d)).astype(dtype)
    C = np.ascontiguousarray(X[rng.choice(n, k, replace=False)])
    if kind == "duplicate_centres" and k > 1:
        C[-1] = C[0]
    w = rng.uniform(0.5, 2, n).astype(dtype)
    if readonly:
        X.setflags(write=False)
        w.setflags(write=False)
    labels = np.full(n, -1, dtype=np.int32)
    upper = np.empty(n, dtype=dtype)
    lower = np.empty((n, k), dtype=dtype)
    shifts = np.zeros(k)
    for it in range(4):
        sums = np.full((k, d), np.nan)
        weights = np.full(k, np.nan)
        ws = np.full((128, k * (d + 1)), np.nan)
        _kmeans.elkan_pass(X, w, C, shifts, labels, upper, lower, sums, weights, ws, 64,
                           2, True, False, it == 0)
        D = np.sqrt(reference_sq_distances(X, C))
        best = D.min(1)
        assert labels.min() >= 0 and labels.max() < k
        assert np.all(D[np.arange(n), labels] <= best * (1 + 1e-12) + 1e-300)
        exact_ties = D == best[:, None]
        np.testing.assert_array_equal(labels[exact_ties.sum(1) > 1],
                                      exact_ties.argmax(1)[exact_ties.sum(1) > 1])
        # valid bounds: upper >= distance to own centre, lower <= every distance
        assert np.all(upper.astype(float) >= D[np.arange(n), labels] * (1 - 1e-12))
        assert np.all(lower.astype(float) <= D * (1 + 1e-12) + 1e-300)
        # the same accumulation as lloyd_pass, bit for bit, for the same labels
        ref = labels.copy()
        s2 = np.empty((k, d))
        w2 = np.empty(k)
        ws2 = np.empty((128, k * (d + 1)))
        _kmeans.lloyd_pass(X, w, C, ref.copy(), s2, w2, ws2, 64, 2, True, False)
        lab_l = ref.copy()
        _kmeans.lloyd_pass(X, w, C, lab_l, s2, w2, ws2, 64, 2, True, False)
        if np.array_equal(lab_l, labels):
            assert s2.tobytes() == sums.tobytes() and w2.tobytes() == weights.tobytes()
        # move the centres: some a lot, some a little, some not at all
        move = rng.normal(size=C.shape) * rng.choice([0.0, 1e-6, 0.3], size=(k, 1))
        new = (C + move).astype(dtype)
        shifts = np.sqrt(((new.astype(float) - C.astype(float)) ** 2).sum(1))
        C = np.ascontiguousarray(new)


@pytest.mark.parametrize("k", [8, 9, 16, 63, 64, 70, 130, 133])
def test_bounded_float32_argmin_is_exact_in_every_window_with_both_loops(k):
    """The bounded float32 argmin with several candidates in any 64-centre window (and in
    the scalar tail) gives the exact float64 labels, the smaller index on an exact tie,
    with the AVX2 and the baseline loops alike."""
    rng = np.random.RandomState(k)
    n, d = 400, 6
    Z = rng.randint(0, 3, size=(n, d)).astype(np.float64)  # a grid: many exact ties
    X = (1e3 + Z).astype(np.float32)  # offset: the identity's rounding is ~1e-1 here
    C = np.ascontiguousarray(X[rng.choice(n, k, replace=n < k)])
    C[k // 2] = C[0]  # an exact duplicate in another window
    C[-1] = C[1]  # and one in the scalar tail
    w = np.ones(n, dtype=np.float32)
    norms = np.sqrt((X.astype(np.float64) ** 2).sum(1))
    D = reference_sq_distances(X, C)
    first = (D.min(1)[:, None] == D).argmax(1)
    try:
        for simd in (True, False):
            _kmeans._set_simd(simd)
            labels = np.full(n, -1, dtype=np.int32)
            _kmeans.lloyd_pass(X, w, C, labels, np.empty((k, d)), np.empty(k),
                               np.empty((1, 1)), 64, 2, False, False, norms)
            np.testing.assert_array_equal(labels, first)
    finally:
        _kmeans._set_simd(True)
