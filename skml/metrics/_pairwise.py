"""Pairwise distances between the rows of two arrays, and reductions over them that never
build the full distance matrix. The loops live in ``skml._kernels._pairwise``.

Every distance here is defined by its *exact key* (``skml/_kernels/_dist_keys.pxd``): the
number computed from the two rows feature by feature in double, which the KD-tree and the
ball tree compute too, so that all algorithms rank neighbours the same way. The GEMM
identity only makes the common case fast: wherever its rounding could change an answer
(a near-zero distance, a radius boundary, the k-th neighbour) the exact key decides.
"""
import math
import numbers

import numpy as np
from sklearn.utils import check_array

from skml._kernels import _pairwise
from skml.utils import check_param, chunk_rows, effective_n_threads, limit_blas_threads

__all__ = [
    "pairwise_distances",
    "pairwise_distances_argmin_min",
    "kneighbors_brute",
    "PAIRWISE_METRICS",
]

#: Kernel codes by canonical metric name (defined by the kernel module).
METRIC_CODES = dict(_pairwise.METRIC_CODES)
_EUCLIDEAN = METRIC_CODES["euclidean"]
_SQEUCLIDEAN = METRIC_CODES["sqeuclidean"]
_COSINE = METRIC_CODES["cosine"]
_MANHATTAN = METRIC_CODES["manhattan"]
_MINKOWSKI = METRIC_CODES["minkowski"]
_CHEBYSHEV = METRIC_CODES["chebyshev"]

_ALIASES = {"l2": "euclidean", "l1": "manhattan", "cityblock": "manhattan"}
# every accepted name -> code
_METRIC_CODES = {**METRIC_CODES, **{a: METRIC_CODES[n] for a, n in _ALIASES.items()}}
#: Metric names accepted by every function of this module.
PAIRWISE_METRICS = tuple(sorted(_METRIC_CODES))

# Rows of X per task and rows of Y per block: a block of a few hundred KiB stays in L2.
# Tuned on benchmarks/bench_pairwise.py and bench_knn.py.
_DENSE_CHUNK_X = 64
_DENSE_CHUNK_X_DIRECT = 128  # float64: GEMM straight into the output rows
_DENSE_CHUNK_Y = 512
_REDUCTION_CHUNK_X = 256
_REDUCTION_CHUNK_Y = 512
_NORM_ELEMENTS_PER_THREAD = 2**16

# Extra candidates the top-k reduction keeps beyond k, to absorb near-ties at the k-th
# place: 2 + k // 8 in the first pass (a small heap is fast), 32 + k in the second pass
# that the rows the first could not certify go through.
_EXTRA_CANDIDATES = 2
_RETRY_CANDIDATES = 32

_U = {np.dtype(np.float32): 2.0**-24, np.dtype(np.float64): 2.0**-53}
# absolute floor of the GEMM error bound (underflow), per feature
_ABS_FLOOR = {np.dtype(np.float32): 1e-36, np.dtype(np.float64): 1e-300}


def _check_pair(X, Y, *, allow_empty_y=True):
    """Validate X (and Y): 2-D, finite, float32/float64 C-contiguous, same width.

    Returns ``X, Y, same`` where ``same`` says Y was not given (X against itself)."""
    X = check_array(
        X, dtype=[np.float64, np.float32], order="C", ensure_min_samples=0,
        input_name="X",
    )
    if Y is None:
        return X, X, True
    Y = check_array(
        Y, dtype=[np.float64, np.float32], order="C", ensure_min_samples=0,
        input_name="Y",
    )
    if X.dtype != Y.dtype:  # mixed precision: compute in float64
        X = X.astype(np.float64)
        Y = Y.astype(np.float64)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"Incompatible dimension for X and Y matrices: X has {X.shape[1]} features "
            f"but Y has {Y.shape[1]}."
        )
    if not allow_empty_y and Y.shape[0] == 0:
        raise ValueError("Y must have at least one row, got 0.")
    return X, Y, False


def _metric_code(metric, p):
    """(kernel code, Minkowski order) of a metric name; minkowski with p = 1, 2 or inf
    becomes manhattan, euclidean or chebyshev."""
    if not isinstance(metric, str):
        raise TypeError(
            f"metric must be a string among {list(PAIRWISE_METRICS)}, got {metric!r}."
        )
    check_param(metric, "metric", options=_METRIC_CODES)
    code = _METRIC_CODES[metric]
    if code == _MINKOWSKI:
        check_param(p, "p", types=(numbers.Real,), min_val=1)
        if np.isinf(p):
            return _CHEBYSHEV, 1.0
        if p == 1:
            return _MANHATTAN, 1.0
        if p == 2:
            return _EUCLIDEAN, 2.0
    return code, float(p)


def _norm_threads(A, n_threads):
    # a pass over the rows is cheap: only large inputs are worth waking threads for
    return max(1, min(n_threads, A.size // _NORM_ELEMENTS_PER_THREAD))


def abs_range(A, n_threads=1):
    """(largest |a|, smallest non-zero |a|) over the entries of a C-contiguous float
    array (0 and inf when there are none)."""
    if A.shape[0] == 0:
        return 0.0, math.inf
    hi = np.empty(A.shape[0])
    lo = np.empty(A.shape[0])
    _pairwise.abs_range(A, hi, lo, _norm_threads(A, n_threads))
    return float(hi.max()), float(lo.min())


def key_form(code, p, vmax, vmin, n_features, dtype):
    """How the kernels compute the exact keys of a call: ``(s, robust)``.

    ``s`` is 1.0 unless sums of coordinate differences could overflow (data within a few
    powers of two of the largest double): then the power of two that keeps them finite.
    ``robust`` selects the scaled form for euclidean distances, needed when a squared
    difference could overflow or underflow (float64 data beyond ~1e150 or with non-zero
    values below ~1e-130; float32 data never need it)."""
    s = 1.0
    need = vmax * 2.0 * (n_features + 1)
    if need > 2.0**1000:
        s = 2.0 ** -(math.frexp(need)[1] - 1000)
    robust = (code in (_EUCLIDEAN, _SQEUCLIDEAN) and np.dtype(dtype) == np.float64
              and (vmax * math.sqrt(n_features) > 1e150 or vmin < 1e-130))
    return s, int(robust)


def radius_key(r, code, p, s, robust):
    """The key threshold equivalent to ``distance <= r`` for a call's key form (the
    KD-tree and the brute force use this one function, so they agree on the boundary)."""
    r = float(r)
    if code == _COSINE:
        return r
    if code == _EUCLIDEAN and not robust:
        return (r * s) * (r * s)
    if code == _SQEUCLIDEAN:
        return r * s * s if not robust else math.sqrt(r) * s
    if code == _MINKOWSKI and p < 1:
        return (r * s) ** p
    return r * s


class _Call:
    """Everything the kernels need for one call on (X, Y): key form, working copies."""

    def __init__(self, X, Y, code, p, same, n_threads, *, gemm_dtype=None):
        d = X.shape[1]
        self.code, self.p, self.same = code, p, same
        vmax, vmin = abs_range(X, n_threads)
        if not same:
            ymax, ymin = abs_range(Y, n_threads)
            vmax, vmin = max(vmax, ymax), min(vmin, ymin)
        self.s, self.robust = key_form(code, p, vmax, vmin, d, X.dtype)
        self.use_gemm = code in _pairwise.GEMM_CODES and not self.robust
        empty = np.empty(0)
        self.cs_x = self.ci_x = self.cs_y = self.ci_y = empty
        if code == _COSINE:
            self.cs_x, self.ci_x = _cosine_factors(X, n_threads)
            self.cs_y, self.ci_y = ((self.cs_x, self.ci_x) if same
                                    else _cosine_factors(Y, n_threads))
        self.XXw = self.YYw = empty
        self.yy_max = 0.0
        if not self.use_gemm:
            self.Xw, self.Yw = X, Y
            work = X.dtype
        else:
            # float32 GEMM only where its squares cannot overflow float32
            work = np.dtype(gemm_dtype or X.dtype)
            if work == np.float32 and 2.0 * vmax * math.sqrt(d) > 1e17:
                work = np.dtype(np.float64)
            if code == _COSINE:
                # unit rows; |x|^2 / 2 + |y|^2 / 2 - x.y = 1 - cos in the kernels' formula
                self.Xw = _unit_rows(X, self.cs_x, self.ci_x, work)
                self.Yw = self.Xw if same else _unit_rows(Y, self.cs_y, self.ci_y, work)
                self.XXw = np.full(X.shape[0], 0.5)
                self.YYw = self.XXw if same else np.full(Y.shape[0], 0.5)
                self.yy_max = 0.5
            else:
                centre = Y.mean(axis=0, dtype=np.float64)
                self.Xw = _centred(X, centre, work)
                self.Yw = self.Xw if same else _centred(Y, centre, work)
                self.XXw = _sqnorms64(self.Xw, n_threads)
                self.YYw = self.XXw if same else _sqnorms64(self.Yw, n_threads)
                self.yy_max = float(self.YYw.max(initial=0.0))
        self.work = np.dtype(work)
        self.u = _U[self.work]
        self.dabs = (d + 8) * _ABS_FLOOR[self.work]

    def buffers(self, n_threads, size):
        return np.empty((n_threads, max(1, size) if self.use_gemm else 1), dtype=self.work)


def _cosine_factors(A, n_threads):
    scale = np.empty(A.shape[0])
    inv = np.empty(A.shape[0])
    _pairwise.cosine_factors(A, scale, inv, _norm_threads(A, n_threads))
    return scale, inv


def _unit_rows(A, scale, inv, work):
    # two products: each stays in range even for subnormal or huge rows
    return np.ascontiguousarray((A * scale[:, None]) * inv[:, None], dtype=work)


def _centred(A, centre, work):
    if work == A.dtype:
        return np.ascontiguousarray(A - centre.astype(work))
    return np.ascontiguousarray(A.astype(work) - centre)


def _sqnorms64(A, n_threads):
    out = np.empty(A.shape[0])
    _pairwise.row_sqnorms64(A, out, _norm_threads(A, n_threads))
    return out


def _pairwise_keys_or_distances(X, Y, code, p, same, n_threads, *, want_keys=False,
                                threshold=0.0, call=None):
    """The full matrix of distances (or of keys, exact wherever <= threshold + bound)."""
    n_x, n_y = X.shape[0], Y.shape[0]
    out = np.empty((n_x, n_y), dtype=np.float64 if want_keys else X.dtype)
    if n_x == 0 or n_y == 0:
        return out, call
    if call is None:
        # the full matrix accumulates float32 blocks in float64: its every entry must be
        # accurate, not only the smallest ones
        call = _Call(X, Y, code, p, same, n_threads, gemm_dtype=np.float64)
    direct = call.use_gemm and out.dtype == np.float64 and call.work == np.float64
    chunk_y = n_y if direct else min(_DENSE_CHUNK_Y, n_y)
    chunk_x = chunk_rows(chunk_y * 8, preferred=_DENSE_CHUNK_X_DIRECT if direct
                         else _DENSE_CHUNK_X)
    n_threads = max(1, min(n_threads, -(-n_x // chunk_x)))
    buffers = call.buffers(n_threads, chunk_x * chunk_y)
    with limit_blas_threads():
        _pairwise.pairwise_dense(
            X, Y, call.Xw, call.Yw, call.XXw, call.YYw, call.cs_x, call.ci_x, call.cs_y,
            call.ci_y, out, code, p, call.s, call.robust, call.use_gemm, same, want_keys,
            float(threshold), call.u, call.dabs, chunk_x, chunk_y, buffers,
        )
    return out, call


def pairwise_distances(X, Y=None, metric="euclidean", n_jobs=None, *, p=2.0):
    """Distances between the rows of X and the rows of Y.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features), default=None
        ``None`` means ``Y = X``; the diagonal is then exactly zero.
    metric : {"euclidean", "sqeuclidean", "cosine", "manhattan", "minkowski", \
            "chebyshev"}, default="euclidean"
        Also the aliases "l2", "l1" and "cityblock". Euclidean, squared euclidean and
        cosine go through BLAS with the identity ``|x-y|^2 = |x|^2 + |y|^2 - 2 x.y`` on
        rows centred on the mean of Y (unit rows for cosine), accumulated in float64
        for float32 input; an entry whose value is within 1e8 rounding-error bounds of 0
        is recomputed from the coordinate differences, so every entry is accurate to
        ~1e-8 relative whatever the offset of the data. The other metrics are computed
        from the differences directly.
    n_jobs : int, default=None
        OpenMP threads; ``None`` uses all cores, ``-1`` all CPUs.
    p : float, default=2.0
        Order of the Minkowski metric (``>= 1``; ``inf`` gives Chebyshev). Computed in
        the scaled form ``m (sum (|x_j - y_j| / m)^p)^(1/p)``, ``m = max |x_j - y_j|``,
        which neither overflows nor underflows for any ``p``.

    Returns
    -------
    D : ndarray of shape (n_samples_X, n_samples_Y)
        float32 when both inputs are float32, float64 otherwise. Distances beyond the
        largest float are ``inf``.

    Raises
    ------
    ValueError
        If X or Y is not 2-D, holds NaN or infinity, the widths differ, or a parameter
        is out of range.
    TypeError
        If ``metric`` is not a string.

    References
    ----------
    H. Dai, "Note on Machine Learning" (preprint), Definition 2.36 (distances).

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import pairwise_distances
    >>> X = np.array([[0.0, 0.0], [3.0, 4.0]])
    >>> pairwise_distances(X)
    array([[0., 5.],
           [5., 0.]])
    >>> pairwise_distances(X, metric="manhattan")
    array([[0., 7.],
           [7., 0.]])
    """
    X, Y, same = _check_pair(X, Y)
    code, p = _metric_code(metric, p)
    n_threads = effective_n_threads(n_jobs)
    return _pairwise_keys_or_distances(X, Y, code, p, same, n_threads)[0]


def _topk(X, Y, k, code, p, n_threads, same):
    """(distances, indices, rows certified only by the second pass or rescanned)."""
    n_x, n_y = X.shape[0], Y.shape[0]
    dist = np.empty((n_x, k), dtype=X.dtype)
    ind = np.empty((n_x, k), dtype=np.intp)
    if n_x == 0:
        return dist, ind, 0
    call = _Call(X, Y, code, p, same, n_threads)
    self_idx = np.arange(n_x, dtype=np.intp) if same else np.empty(0, dtype=np.intp)
    if not call.use_gemm:
        _topk_pass(call, X, Y, self_idx, dist, ind, k, n_threads, rescan=True)
        return dist, ind, 0
    # a small candidate heap is cheapest; the few rows it cannot certify (near-ties at
    # the k-th place) go through a second pass with a larger one, then exact rescans
    flagged = _topk_pass(call, X, Y, self_idx, dist, ind,
                         min(n_y, k + _EXTRA_CANDIDATES + k // 8), n_threads,
                         rescan=False)
    rows = np.flatnonzero(flagged)
    if rows.size:
        sub = _SubCall(call, rows)
        d2 = np.empty((rows.size, k), dtype=X.dtype)
        i2 = np.empty((rows.size, k), dtype=np.intp)
        _topk_pass(sub, X[rows], Y, self_idx[rows] if same else self_idx, d2, i2,
                   min(n_y, 2 * k + _RETRY_CANDIDATES), n_threads, rescan=True)
        dist[rows], ind[rows] = d2, i2
    return dist, ind, rows.size


def _topk_pass(call, X, Y, self_idx, dist, ind, kc, n_threads, *, rescan):
    """One run of the top-k kernel; returns the per-row flags of uncertified rows."""
    n_x, n_y = X.shape[0], Y.shape[0]
    chunk_y = min(_REDUCTION_CHUNK_Y, n_y)
    per_row = (chunk_y * call.work.itemsize if call.use_gemm else 0) + kc * 16
    chunk_x = chunk_rows(per_row, preferred=_REDUCTION_CHUNK_X)
    n_threads = max(1, min(n_threads, -(-n_x // chunk_x)))
    buffers = call.buffers(n_threads, chunk_x * chunk_y)
    cand_d = np.empty((n_threads, chunk_x * kc))
    cand_i = np.empty((n_threads, chunk_x * kc), dtype=np.intp)
    flags = np.zeros(n_x, dtype=np.uint8)
    with limit_blas_threads():
        _pairwise.topk_dense(
            X, Y, call.Xw, call.Yw, call.XXw, call.YYw, call.cs_x, call.ci_x, call.cs_y,
            call.ci_y, self_idx, dist, ind, call.code, call.p, call.s, call.robust,
            call.use_gemm, call.u, call.dabs, call.yy_max, kc, rescan, flags, chunk_x,
            chunk_y, buffers, cand_d, cand_i,
        )
    return flags


def pairwise_distances_argmin_min(X, Y, *, metric="euclidean", n_jobs=None, p=2.0):
    """For each row of X, the nearest row of Y and the distance to it.

    Works through the data in blocks and never builds the n_X x n_Y matrix. The nearest
    row is the one with the smallest exact distance (computed from the coordinate
    differences; BLAS only preselects candidates), ties to the smaller index.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features)
        At least one row.
    metric : str, default="euclidean"
        As in :func:`pairwise_distances`.
    n_jobs : int, default=None
        OpenMP threads (``None``: all cores).
    p : float, default=2.0
        Order of the Minkowski metric.

    Returns
    -------
    argmin : ndarray of shape (n_samples_X,), dtype intp
    distances : ndarray of shape (n_samples_X,)

    Raises
    ------
    ValueError
        As :func:`pairwise_distances`, and if Y has no rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import pairwise_distances_argmin_min
    >>> X = np.array([[0.0, 0.0], [9.0, 9.0]])
    >>> centers = np.array([[10.0, 10.0], [1.0, 0.0]])
    >>> pairwise_distances_argmin_min(X, centers)
    (array([1, 0]), array([1.        , 1.41421356]))
    """
    X, Y, _ = _check_pair(X, Y, allow_empty_y=False)
    code, p = _metric_code(metric, p)
    dist, ind, _ = _topk(X, Y, 1, code, p, effective_n_threads(n_jobs), same=False)
    return ind[:, 0], dist[:, 0]


def kneighbors_brute(X, Y=None, k=1, *, metric="euclidean", n_jobs=None, p=2.0,
                     return_distance=True):
    """The ``k`` nearest rows of Y for every row of X, by brute force in blocks.

    Only a per-thread block of distances and a top-k heap per row are kept in memory, so
    memory is O(n_X * k) plus the blocks, never O(n_X * n_Y). BLAS preselects
    ``k + 2 + k // 8`` candidates per row; their exact distances (from the coordinate
    differences, as the KD-tree computes them) rank them, and a row whose k-th place is
    not certain within the rounding bound is retried with ``2 k + 32`` candidates, then
    rescanned exactly. The result is therefore
    the same as an exact search, for any offset or magnitude of the data.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features), default=None
        ``None`` searches X itself: each point's distance to itself is exactly 0, so it
        is its own first neighbour unless X holds a duplicate of it with a smaller index
        (ties go to the smaller index).
    k : int, default=1
        Neighbours per row, ``1 <= k <= n_samples_Y``.
    metric : str, default="euclidean"
        As in :func:`pairwise_distances`.
    n_jobs : int, default=None
        OpenMP threads (``None``: all cores).
    p : float, default=2.0
        Order of the Minkowski metric.
    return_distance : bool, default=True
        Also return the distances.

    Returns
    -------
    distances : ndarray of shape (n_samples_X, k)
        Ascending along each row; only when ``return_distance``.
    indices : ndarray of shape (n_samples_X, k), dtype intp
        Row indices into Y; equal distances are ordered by index.

    Raises
    ------
    ValueError
        As :func:`pairwise_distances`, and if ``k`` is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import kneighbors_brute
    >>> Y = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> dist, ind = kneighbors_brute(np.array([[2.9]]), Y, k=2)
    >>> ind
    array([[2, 1]])
    """
    X, Y, same = _check_pair(X, Y, allow_empty_y=False)
    check_param(k, "k", types=(numbers.Integral,), min_val=1, max_val=Y.shape[0])
    code, p = _metric_code(metric, p)
    dist, ind, _ = _topk(X, Y, int(k), code, p, effective_n_threads(n_jobs), same)
    return (dist, ind) if return_distance else ind


def radius_brute(X, Y, radius, code, p, n_threads, same, sort_results):
    """For each row of X the rows of Y within ``radius`` (exact keys at the boundary).

    Returns (distances, indices) as object arrays of 1-D arrays; rows of X are processed
    in blocks of the working-memory budget."""
    n_x, n_y = X.shape[0], Y.shape[0]
    dist = np.empty(n_x, dtype=object)
    ind = np.empty(n_x, dtype=object)
    if n_x == 0:
        return dist, ind
    call = _Call(X, Y, code, p, same, n_threads, gemm_dtype=np.float64)
    thr = radius_key(radius, code, p, call.s, call.robust)
    step = chunk_rows(8 * n_y, preferred=4096) * max(1, n_threads)
    for start in range(0, n_x, step):
        stop = min(n_x, start + step)
        sub = _SubCall(call, slice(start, stop))
        keys, _ = _pairwise_keys_or_distances(
            X[start:stop], Y, code, p, False, n_threads, want_keys=True, threshold=thr,
            call=sub)
        if same:  # the diagonal of this block
            keys[np.arange(stop - start), np.arange(start, stop)] = 0.0
        rows, cols = np.nonzero(keys <= thr)
        d = np.empty(len(rows))
        _pairwise.keys_to_dist(np.ascontiguousarray(keys[rows, cols]), d, code, p,
                               call.s, call.robust)
        bounds = np.searchsorted(rows, np.arange(stop - start + 1))
        for r in range(stop - start):
            j, dd = cols[bounds[r]:bounds[r + 1]], d[bounds[r]:bounds[r + 1]]
            if sort_results:
                order = np.lexsort((j, dd))
                j, dd = j[order], dd[order]
            ind[start + r], dist[start + r] = j.astype(np.intp, copy=False), dd
    return dist, ind


class _SubCall:
    """Some rows of a _Call's X (a slice or an index array); the Y side and the key form
    unchanged."""

    def __init__(self, call, rows):
        self.__dict__.update(call.__dict__)
        self.Xw = np.ascontiguousarray(call.Xw[rows])
        if len(call.XXw):
            self.XXw = np.ascontiguousarray(call.XXw[rows])
        if len(call.cs_x):
            self.cs_x = np.ascontiguousarray(call.cs_x[rows])
            self.ci_x = np.ascontiguousarray(call.ci_x[rows])

    def buffers(self, n_threads, size):
        return np.empty((n_threads, max(1, size) if self.use_gemm else 1), dtype=self.work)
