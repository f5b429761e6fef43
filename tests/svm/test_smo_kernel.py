"""The SMO kernel (skml/_kernels/_smo.pyx) against NumPy: kernel values, the solver's
cached kernel rows (also after position swaps and cache evictions), and the KKT
conditions at the solution it returns."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skml._kernels import _smo
from skml.svm._base import KERNEL_CODES, kernel_matrix
from tests._layouts import as_layout

KERNELS = ["linear", "poly", "rbf", "sigmoid", "laplace"]


def reference_kernel(X, Y, kernel, gamma, coef0, degree):
    """The kernels straight from their definitions, in float64."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    dot = X @ Y.T
    if kernel == "linear":
        return dot
    if kernel == "poly":
        return (gamma * dot + coef0) ** degree
    if kernel == "sigmoid":
        return np.tanh(gamma * dot + coef0)
    diff = X[:, None, :] - Y[None, :, :]
    if kernel == "rbf":
        return np.exp(-gamma * (diff**2).sum(-1))
    if kernel == "laplace":
        return np.exp(-gamma * np.abs(diff).sum(-1))
    raise AssertionError(kernel)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 25),  # rows of X (0 and 1 included)
    st.integers(1, 25),  # rows of Y
    st.integers(1, 8),  # features (1 included)
    st.sampled_from(KERNELS),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from(["C", "F", "strided", "readonly"]),
    st.booleans(),  # duplicate points
    st.integers(0, 2**31 - 1),
)
def test_kernel_matrix_matches_numpy(n_x, n_y, d, kernel, dtype, kind, dup, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_x, d).astype(dtype)
    Y = rng.randn(n_y, d).astype(dtype)
    if dup and n_x:
        Y[0] = X[-1]
    gamma, coef0, degree = rng.uniform(0.05, 1.0), rng.uniform(-1, 1), int(rng.randint(0, 5))
    K = kernel_matrix(as_layout(X, kind), as_layout(Y, kind), kernel, gamma=gamma, coef0=coef0,
                      degree=degree, n_threads=2)
    ref = reference_kernel(X, Y, kernel, gamma, coef0, degree)
    assert K.shape == (n_x, n_y) and K.dtype == np.float64
    np.testing.assert_allclose(K, ref, rtol=1e-12, atol=1e-12)
    if dup and n_x and kernel in ("rbf", "laplace"):
        assert K[-1, 0] == 1.0  # exactly: differences of equal rows are 0


def test_kernel_matrix_is_the_same_for_any_thread_count():
    rng = np.random.RandomState(0)
    X, Y = rng.randn(300, 7), rng.randn(200, 7)
    for kernel in KERNELS:
        one = kernel_matrix(X, Y, kernel, gamma=0.3, coef0=0.5, degree=3, n_threads=1)
        two = kernel_matrix(X, Y, kernel, gamma=0.3, coef0=0.5, degree=3, n_threads=2)
        np.testing.assert_array_equal(one, two)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 30),  # variables
    st.integers(1, 6),  # features
    st.sampled_from(KERNELS + ["precomputed"]),
    st.booleans(),  # tiny cache: rows get evicted and recomputed
    st.booleans(),  # disjoint exchanges applied as one batch, as shrinking does
    st.integers(0, 2**31 - 1),
)
def test_solver_kernel_rows_match_numpy_after_swaps(l, d, kernel, tiny_cache, batched,
                                                    seed):
    """Q_tu = y_t y_u K(x_t, x_u) as the solver sees it: through its cache, after
    positions were exchanged (shrinking does that), for a prefix of each row."""
    rng = np.random.RandomState(seed)
    X = rng.randn(l, d)
    X[rng.randint(l)] = X[0]  # a duplicate point
    y = rng.choice([-1.0, 1.0], size=l)
    gamma, coef0, degree = 0.4, 0.3, 2
    K = reference_kernel(X, X, "rbf" if kernel == "precomputed" else kernel, gamma, coef0,
                         degree)
    data = np.ascontiguousarray(K) if kernel == "precomputed" else X
    positions = rng.choice(l, size=min(l, 4), replace=False).astype(np.intp)
    if batched:
        n_pairs = rng.randint(0, l // 2 + 1)
        swaps = rng.permutation(l)[:2 * n_pairs].astype(np.intp)
    else:
        swaps = rng.randint(0, l, size=2 * rng.randint(0, 6)).astype(np.intp)
    length = int(rng.randint(1, l + 1))
    cache_mb = 1e-9 if tiny_cache else 10.0
    rows = _smo.q_rows(data, np.arange(l, dtype=np.intp), y, positions, length,
                       KERNEL_CODES[kernel], gamma, coef0, degree, cache_mb, swaps,
                       batched)
    # after the swaps, the first `length` positions hold these original variables
    order = np.arange(l)
    for a, b in swaps.reshape(-1, 2):
        order[[a, b]] = order[[b, a]]
    cols = order[:length]
    Q = (y[:, None] * y[None, :]) * K
    for k, t in enumerate(positions):
        np.testing.assert_allclose(rows[k, cols], Q[t, cols].astype(np.float32),
                                   rtol=2e-6, atol=2e-6)


def _binary_problem(seed, n=60, d=3):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    y = np.where(X[:, 0] + 0.5 * rng.randn(n) > 0, 1.0, -1.0)
    return X, y


@pytest.mark.parametrize("kernel", ["linear", "rbf", "poly", "laplace"])
@pytest.mark.parametrize("shrinking", [True, False])
def test_kkt_conditions_hold_at_the_solution(kernel, shrinking):
    """m(a) - M(a) <= tol, with the gradient recomputed in NumPy from the returned a."""
    X, y = _binary_problem(0)
    n, tol, gamma = X.shape[0], 1e-3, 0.5
    C = np.full(n, 2.0)
    res = _smo.smo_solve(X, np.arange(n, dtype=np.intp), y, -np.ones(n), C, np.zeros(n),
                         KERNEL_CODES[kernel], gamma, 1.0, 2, tol, shrinking, 10**6, 1.0)
    a = res["alpha"]
    assert res["status"] == 0 and res["n_iter"] > 0
    assert np.all(a >= 0) and np.all(a <= C)
    assert abs(a @ y) < 1e-10  # the equality constraint is kept exactly
    K = reference_kernel(X, X, kernel, gamma, 1.0, 2)
    G = (y[:, None] * y[None, :] * K) @ a - 1.0
    np.testing.assert_allclose(res["gradient"], G, atol=1e-5)
    score = -y * G
    up = ((y > 0) & (a < C)) | ((y < 0) & (a > 0))
    low = ((y > 0) & (a > 0)) | ((y < 0) & (a < C))
    assert score[up].max() - score[low].min() <= tol * (1 + 1e-6)
    # the free variables sit on the margin: y_i f(x_i) = 1 within tol
    f = K @ (y * a) - res["rho"]
    free = (a > 0) & (a < C)
    assert free.any()
    np.testing.assert_allclose(y[free] * f[free], 1.0, atol=tol)
    # and the objective is the dual's value
    assert res["objective"] == pytest.approx(0.5 * a @ (y[:, None] * y[None, :] * K) @ a
                                             - a.sum(), rel=1e-6)


def test_a_tiny_cache_gives_the_same_iterations_and_solution():
    """Evictions and recomputation must not change anything: rows are recomputed
    bit-for-bit, so SMO follows the same path."""
    X, y = _binary_problem(1, n=300, d=4)
    n = X.shape[0]
    args = (X, np.arange(n, dtype=np.intp), y, -np.ones(n), np.ones(n), np.zeros(n),
            KERNEL_CODES["rbf"], 0.3, 0.0, 3, 1e-3, True, 10**6)
    big = _smo.smo_solve(*args, 100.0)
    tiny = _smo.smo_solve(*args, 1e-9)  # two rows of the cache
    assert big["n_iter"] == tiny["n_iter"]
    np.testing.assert_array_equal(big["alpha"], tiny["alpha"])
    assert big["rho"] == tiny["rho"]


def test_shrinking_reaches_the_same_optimum():
    X, y = _binary_problem(2, n=400, d=4)
    n = X.shape[0]
    args = (X, np.arange(n, dtype=np.intp), y, -np.ones(n), np.full(n, 10.0), np.zeros(n),
            KERNEL_CODES["rbf"], 0.3, 0.0, 3, 1e-8)
    a = _smo.smo_solve(*args, True, 10**7, 10.0)
    b = _smo.smo_solve(*args, False, 10**7, 10.0)
    assert a["objective"] == pytest.approx(b["objective"], rel=1e-9)
    np.testing.assert_allclose(a["alpha"], b["alpha"], atol=1e-5)


def test_max_iter_stops_the_solver_with_status_1():
    X, y = _binary_problem(3)
    n = X.shape[0]
    res = _smo.smo_solve(X, np.arange(n, dtype=np.intp), y, -np.ones(n), np.ones(n),
                         np.zeros(n), KERNEL_CODES["rbf"], 0.5, 0.0, 3, 1e-3, True, 3, 1.0)
    assert res["status"] == 1 and res["n_iter"] == 3


def test_negative_curvature_is_counted_for_an_indefinite_kernel():
    rng = np.random.RandomState(0)
    n = 40
    A = rng.randn(n, n)
    K = np.ascontiguousarray((A + A.T) / 2)  # symmetric, indefinite
    y = np.where(rng.rand(n) > 0.5, 1.0, -1.0)
    res = _smo.smo_solve(K, np.arange(n, dtype=np.intp), y, -np.ones(n), np.ones(n),
                         np.zeros(n), KERNEL_CODES["precomputed"], 1.0, 0.0, 3, 1e-3, True,
                         10**6, 1.0)
    assert res["n_negative_curvature"] > 0
    a = res["alpha"]
    assert np.all(a >= 0) and np.all(a <= 1) and abs(a @ y) < 1e-10


@pytest.mark.parametrize("squared", [True, False])
def test_linear_dual_cd_reaches_the_primal_optimum(squared):
    """Coordinate descent on the dual gives the w minimising the primal: compare with
    scipy's L-BFGS on the (smooth) squared hinge, and check the dual box for hinge."""
    from scipy.optimize import minimize

    X, y = _binary_problem(4, n=80, d=3)
    C = np.full(X.shape[0], 0.7)
    w = np.zeros(3)
    alpha = np.zeros(X.shape[0])
    epochs, ok = _smo.linear_dual_cd(X, y, C, w, alpha, squared, 1e-10, 100000, 7)
    assert ok and epochs > 0
    np.testing.assert_allclose(w, (alpha * y) @ X, atol=1e-8)  # w = sum a_i y_i x_i
    if squared:
        def f(v):
            m = np.maximum(0, 1 - y * (X @ v))
            return 0.5 * v @ v + C @ m**2, v - 2 * X.T @ (C * m * y)

        ref = minimize(f, np.zeros(3), jac=True, method="L-BFGS-B",
                       options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000}).x
        np.testing.assert_allclose(w, ref, atol=1e-6)
    else:
        assert np.all(alpha >= 0) and np.all(alpha <= C + 1e-12)
        margin = y * (X @ w)
        inside = (alpha > 1e-9) & (alpha < C - 1e-9)
        np.testing.assert_allclose(margin[inside], 1.0, atol=1e-6)
        assert np.all(margin[alpha <= 1e-12] >= 1 - 1e-6)


# ---- what the entry points accept (issue 11: no unchecked index reaches the C loops) ----

def _small(n=6, d=2):
    rng = np.random.RandomState(0)
    return rng.randn(n, d), np.where(rng.rand(n) > 0.5, 1.0, -1.0)


@pytest.mark.parametrize("index", [[0, 1, 6], [-1, 0, 1], [0, 10**9]])
def test_smo_and_q_rows_reject_out_of_range_sample_indices(index):
    X, y = _small()
    idx = np.asarray(index, dtype=np.intp)
    m = idx.shape[0]
    for kind in ("rbf", "precomputed"):
        data = np.ascontiguousarray(X @ X.T) if kind == "precomputed" else X
        with pytest.raises(ValueError, match="index must lie in"):
            _smo.smo_solve(data, idx, y[:m], -np.ones(m), np.ones(m), np.zeros(m),
                           KERNEL_CODES[kind], 0.5, 0.0, 3, 1e-3, True, 100, 1.0)
        with pytest.raises(ValueError, match="index must lie in"):
            _smo.q_rows(data, idx, y[:m], np.zeros(1, dtype=np.intp), m,
                        KERNEL_CODES[kind], 0.5, 0.0, 3, 1.0, np.zeros(0, dtype=np.intp))


def test_entry_points_reject_inconsistent_inputs():
    X, y = _small()
    n = X.shape[0]
    idx = np.arange(n, dtype=np.intp)
    ok = dict(y=y, p=-np.ones(n), C=np.ones(n), a=np.zeros(n))

    def solve(X=X, idx=idx, y=ok["y"], p=ok["p"], C=ok["C"], a=ok["a"], kind="rbf",
              gamma=0.5, degree=3, tol=1e-3, max_iter=100, cache=1.0):
        return _smo.smo_solve(X, idx, y, p, C, a, KERNEL_CODES.get(kind, kind), gamma, 0.0,
                              degree, tol, True, max_iter, cache)

    for kwargs, match in [
        (dict(y=y[:-1]), "y has 5 entries, expected 6"),
        (dict(C=np.ones(n + 1)), "C has 7 entries"),
        (dict(y=2 * y), "only -1 and \\+1"),
        (dict(C=-np.ones(n)), "C >= 0"),
        (dict(C=np.full(n, np.nan)), "C >= 0"),
        (dict(a=2 * np.ones(n)), "0 <= alpha <= C"),
        (dict(p=np.full(n, np.nan)), "p must be finite"),
        (dict(kind=17), "unknown kernel code 17"),
        (dict(kind=-1), "unknown kernel code"),
        (dict(gamma=np.inf), "gamma must be finite"),
        (dict(degree=-2), "degree must be >= 0"),
        (dict(tol=0.0), "tol must be finite and > 0"),
        (dict(cache=np.inf), "cache_mb must be finite"),
        (dict(max_iter=-1), "max_iter must be >= 0"),
        (dict(X=np.ascontiguousarray(X[:4] @ X.T), kind="precomputed"), "must be square"),
    ]:
        with pytest.raises(ValueError, match=match):
            solve(**kwargs)
    # an empty problem and a huge cache are fine
    assert solve(idx=idx[:0], y=y[:0], p=ok["p"][:0], C=ok["C"][:0],
                 a=ok["a"][:0])["alpha"].shape == (0,)
    assert solve(cache=1e300)["status"] == 0
    z = np.zeros(0, dtype=np.intp)
    for positions, length, swaps, batched, match in [
        (np.array([n], dtype=np.intp), n, z, False, "positions must lie in"),
        (np.array([0], dtype=np.intp), n + 1, z, False, "length must lie in"),
        (np.array([0], dtype=np.intp), n, np.array([0, n], dtype=np.intp), False,
         "swaps must lie in"),
        (np.array([0], dtype=np.intp), n, np.array([0, 1, 2], dtype=np.intp), False,
         "pairs"),
        (np.array([0], dtype=np.intp), n, np.array([0, 1, 1, 2], dtype=np.intp), True,
         "disjoint"),
    ]:
        with pytest.raises(ValueError, match=match):
            _smo.q_rows(X, idx, y, positions, length, KERNEL_CODES["rbf"], 0.5, 0.0, 3,
                        1.0, swaps, batched)
    out = np.empty((n, n))
    with pytest.raises(ValueError, match="features"):
        _smo.kernel_block(X, X[:, :1].copy(), out, KERNEL_CODES["rbf"], 0.5, 0.0, 3, 1)
    with pytest.raises(ValueError, match="out has shape"):
        _smo.kernel_block(X, X, out[:3], KERNEL_CODES["rbf"], 0.5, 0.0, 3, 1)
    with pytest.raises(ValueError, match="unknown kernel code"):
        _smo.kernel_block(X, X, out, KERNEL_CODES["precomputed"], 0.5, 0.0, 3, 1)
    w, a = np.zeros(2), np.zeros(n)
    for args, match in [((X, y[:-1], np.ones(n), w, a), "y has"),
                        ((X, y, np.ones(n), np.zeros(3), a), "w has"),
                        ((X, y, np.ones(n), w, np.zeros(2)), "alpha has"),
                        ((X, y, -np.ones(n), w, a), "C must be >= 0")]:
        with pytest.raises(ValueError, match=match):
            _smo.linear_dual_cd(*args, True, 1e-3, 10, 0)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 12),  # variables
    st.integers(1, 4),  # features
    st.sampled_from(KERNELS + ["precomputed"]),
    st.integers(-300, 300),  # magnitude of the data: 10**k
    st.sampled_from(["C", "readonly"]),
    st.booleans(),  # repeated sample indices
    st.integers(0, 2**31 - 1),
)
def test_solver_terminates_inside_the_box_at_any_magnitude(l, d, kernel, exponent, kind,
                                                           repeats, seed):
    """Whatever the magnitude (kernel values that overflow included), SMO returns a
    feasible point (0 <= a <= C, y.a = 0) within max_iter, never crashing or hanging."""
    rng = np.random.RandomState(seed)
    X = rng.randn(max(l, 2), d) * 10.0**exponent
    index = (rng.randint(0, X.shape[0], l) if repeats else np.arange(l)).astype(np.intp)
    y = rng.choice([-1.0, 1.0], size=l)
    data = X
    if kernel == "precomputed":
        with np.errstate(over="ignore", invalid="ignore"):
            data = X @ X.T
    data = as_layout(data, kind) if kind == "readonly" else np.ascontiguousarray(data)
    C = rng.uniform(0.1, 2.0, l)
    res = _smo.smo_solve(data, index, y, -np.ones(l), C, np.zeros(l), KERNEL_CODES[kernel],
                         0.5, 0.5, 2, 1e-3, bool(seed % 2), 2000, 1.0)
    a = res["alpha"]
    assert a.shape == (l,) and res["status"] in (0, 1) and res["n_iter"] <= 2000
    finite = np.isfinite(a)
    assert np.all((a[finite] >= 0) & (a[finite] <= C[finite]))
    if np.all(finite):
        assert abs(a @ y) <= 1e-9 * C.sum()


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 8), st.integers(1, 8), st.integers(1, 4),
    st.sampled_from(KERNELS),
    st.integers(-300, 300),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from(["C", "F", "strided", "readonly"]),
    st.integers(0, 2**31 - 1),
)
def test_kernel_matrix_at_any_magnitude(n_x, n_y, d, kernel, exponent, dtype, kind, seed):
    """Exact to rounding (against NumPy) wherever float64 products cannot overflow or turn
    subnormal; beyond that the distance kernels still give values in [0, 1] (a sum of
    squares or absolute values overflows to +inf, never to NaN), and nothing crashes."""
    rng = np.random.RandomState(seed)
    if dtype == np.float32:
        exponent = exponent * 36 // 300  # float32's range
    scale = np.float64(10.0) ** exponent
    X = (rng.randn(n_x, d) * scale).astype(dtype)
    Y = (rng.randn(n_y, d) * scale).astype(dtype)
    K = kernel_matrix(as_layout(X, kind), as_layout(Y, kind), kernel, gamma=0.5, coef0=0.2,
                      degree=2, n_threads=2)
    assert K.shape == (n_x, n_y) and K.dtype == np.float64
    if -150 <= exponent <= 148:
        ref = reference_kernel(X, Y, kernel, 0.5, 0.2, 2)
        np.testing.assert_allclose(K, ref, rtol=1e-10, atol=1e-300)
    if kernel in ("rbf", "laplace"):
        assert np.all((K >= 0) & (K <= 1))
