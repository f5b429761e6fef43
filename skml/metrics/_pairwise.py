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
import scipy.sparse as sp
from sklearn.metrics import DistanceMetric
from sklearn.metrics import pairwise_distances as _sk_pairwise_distances
from sklearn.neighbors import VALID_METRICS as _SK_VALID_METRICS
from sklearn.utils import check_array

from skml._kernels import _pairwise, _sparse_pairwise
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
# A thread is only worth starting for a few milliseconds of work: on a busy machine an
# OpenMP region with more threads than work stalls at its barrier. Units: one scalar
# coordinate operation; BLAS does _GEMM_SPEEDUP of them in the time of one.
_WORK_PER_THREAD = 2**22
_GEMM_SPEEDUP = 8

# Extra candidates the top-k reduction keeps beyond k, to absorb near-ties at the k-th
# place: 2 + k // 8 in the first pass (a small heap is fast), 32 + k in the second pass
# that the rows the first could not certify go through.
_EXTRA_CANDIDATES = 2
_RETRY_CANDIDATES = 32

_U = {np.dtype(np.float32): 2.0**-24, np.dtype(np.float64): 2.0**-53}
# absolute floor of the GEMM error bound (underflow), per feature
_ABS_FLOOR = {np.dtype(np.float32): 1e-36, np.dtype(np.float64): 1e-300}


def _check_pair(X, Y, *, allow_empty_y=True, accept_sparse=True):
    """Validate X (and Y): 2-D, finite, float32/float64, same width; dense arrays
    C-contiguous, sparse matrices CSR (other formats converted).

    Returns ``X, Y, same`` where ``same`` says Y was not given (X against itself)."""
    sparse_ok = "csr" if accept_sparse else False
    X = check_array(
        X, dtype=[np.float64, np.float32], order="C", ensure_min_samples=0,
        input_name="X", accept_sparse=sparse_ok,
    )
    if Y is None:
        return X, X, True
    Y = check_array(
        Y, dtype=[np.float64, np.float32], order="C", ensure_min_samples=0,
        input_name="Y", accept_sparse=sparse_ok,
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


# --------------------------------------------------------------------------- metrics

#: Names of the metrics a tree accepts (scikit-learn's lists, plus sqeuclidean, whose
#: keys are the euclidean ones).
TREE_METRICS = {
    "kd_tree": sorted(set(_SK_VALID_METRICS["kd_tree"]) | {"sqeuclidean"}),
    "ball_tree": sorted(set(_SK_VALID_METRICS["ball_tree"]) | {"sqeuclidean"}),
}
#: Every metric name accepted anywhere (scikit-learn's names).
ALL_METRIC_NAMES = sorted(set().union(*map(set, _SK_VALID_METRICS.values()))
                          | set(_METRIC_CODES) | {"infinity", "p"})

_MINKOWSKI_NAMES = {"minkowski", "p"}
_NATIVE_NAMES = {
    "euclidean": _EUCLIDEAN, "l2": _EUCLIDEAN, "sqeuclidean": _SQEUCLIDEAN,
    "cosine": _COSINE, "manhattan": _MANHATTAN, "cityblock": _MANHATTAN,
    "l1": _MANHATTAN, "chebyshev": _CHEBYSHEV, "infinity": _CHEBYSHEV,
}


class MetricSpec:
    """A metric resolved once: how every function of skml computes it.

    ``kind`` is ``"native"`` (a kernel code, ``code`` and Minkowski order ``p``, after
    an optional linear map of the rows: the weights of a weighted Minkowski metric,
    ``1 / sqrt(V)`` for seuclidean, a factor of ``VI`` for mahalanobis), ``"generic"``
    (any other metric scikit-learn knows, a callable or a ``DistanceMetric``: distances
    by ``sklearn.metrics.pairwise_distances`` block by block) or ``"precomputed"``.
    ``name`` and ``params`` are scikit-learn's ``effective_metric_`` and
    ``effective_metric_params_``.
    """

    def __init__(self, metric, name, params, kind, code=None, p=2.0, scale=None,
                 factor=None):
        self.metric = metric
        self.name = name
        self.params = params
        self.kind = kind
        self.code = code
        self.p = float(p)
        self._scale = scale  # per-feature multipliers, or None
        self._factor = factor  # (d, d) right factor, or None

    @property
    def is_metric(self):
        """A true metric (triangle inequality): what a ball tree needs."""
        return self.kind == "native" and self.code != _COSINE and not (
            self.code == _MINKOWSKI and self.p < 1)

    @property
    def linear(self):
        return self._scale is not None or self._factor is not None

    def transform(self, A):
        """The rows mapped so that the native code computes the metric (A itself when
        there is no map). float32 stays float32."""
        if not self.linear:
            return A
        d = A.shape[1]
        if self._scale is not None:
            if self._scale.shape != (d,):
                raise ValueError(f"The metric's weights must have {d} entries (one per "
                                 f"feature), got {self._scale.shape[0]}.")
            if sp.issparse(A):
                return sp.csr_matrix(A.multiply(self._scale.astype(A.dtype)[None, :]))
            return np.ascontiguousarray(A * self._scale.astype(A.dtype))
        if sp.issparse(A):
            raise ValueError(f"metric={self.name!r} with a matrix does not accept sparse "
                             "input (its mapped rows would be dense).")
        if self._factor.shape != (d, d):
            raise ValueError(f"The metric's matrix must have shape ({d}, {d}), got "
                             f"{self._factor.shape}.")
        return np.ascontiguousarray(A @ self._factor.astype(A.dtype))

    def distances(self, A, B, n_jobs=None):
        """Generic distances of two blocks of rows (float64)."""
        if isinstance(self.metric, DistanceMetric):
            return np.asarray(self.metric.pairwise(A, B), dtype=np.float64)
        if isinstance(self.metric, str) and self.metric not in _SK_VALID_METRICS["brute"]:
            # a ball-tree metric scikit-learn's pairwise_distances does not list
            return np.asarray(DistanceMetric.get_metric(self.metric, **self.params)
                              .pairwise(A, B), dtype=np.float64)
        return np.asarray(_sk_pairwise_distances(
            A, B, metric=self.metric, n_jobs=n_jobs, **self.params), dtype=np.float64)


def _positive_vector(v, name):
    v = np.asarray(v, dtype=np.float64).ravel()
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"{name} must hold finite non-negative numbers.")
    return v


def resolve_metric(metric, p=None, metric_params=None):
    """The :class:`MetricSpec` of ``metric`` with ``metric_params`` (a ``p`` there
    overrides ``p``), with scikit-learn's meaning of every name and parameter.

    Raises
    ------
    ValueError
        For an unknown metric name, ``p <= 0``, or parameters a metric does not take.
    """
    params = dict(metric_params or {})
    if callable(metric) or isinstance(metric, DistanceMetric):
        return MetricSpec(metric, metric, params, "generic")
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string, a callable or a DistanceMetric, got "
                        f"{metric!r}.")
    if metric == "precomputed":
        return MetricSpec(metric, metric, params, "precomputed")
    if metric not in ALL_METRIC_NAMES:
        raise ValueError(f"metric must be one of {ALL_METRIC_NAMES}, a callable or a "
                         f"DistanceMetric, got {metric!r}.")
    if metric in _MINKOWSKI_NAMES:
        p = params.pop("p", p)
        p = 2.0 if p is None else p
        check_param(p, "p", types=(numbers.Real,), min_val=0, closed="right")
        w = params.pop("w", None)
        _no_more(metric, params)
        scale = None
        if w is not None:
            w = _positive_vector(w, "w")
            scale = w ** (1.0 / p) if np.isfinite(p) else None
        if np.isinf(p):
            code, name = _CHEBYSHEV, "chebyshev"
        elif p == 1:
            code, name = _MANHATTAN, "manhattan"
        elif p == 2:
            code, name = _EUCLIDEAN, "euclidean"
        else:
            code, name = _MINKOWSKI, "minkowski"
        if w is not None or name == "minkowski":
            # scikit-learn keeps the name and both parameters for a general order
            return MetricSpec(metric, "minkowski", {"p": p, "w": w}, "native", code, p,
                              scale=scale)
        return MetricSpec(metric, name, {}, "native", code, p)
    if metric in _NATIVE_NAMES:
        params.pop("p", None)  # a Minkowski order means nothing to these metrics
        _no_more(metric, params)
        return MetricSpec(metric, metric, {}, "native", _NATIVE_NAMES[metric])
    if metric == "seuclidean" and "V" in params:
        V = _positive_vector(params["V"], "V")
        if np.any(V == 0):
            raise ValueError("V must be positive (a variance per feature).")
        return MetricSpec(metric, metric, params, "native", _EUCLIDEAN,
                          scale=1.0 / np.sqrt(V))
    if metric == "mahalanobis" and ("VI" in params or "V" in params):
        from skml.metrics._mahalanobis import _psd_factor

        if "VI" in params:
            VI = np.atleast_2d(np.asarray(params["VI"], dtype=np.float64))
        else:
            VI = np.linalg.inv(np.atleast_2d(np.asarray(params["V"], dtype=np.float64)))
        try:
            factor = _psd_factor((VI + VI.T) / 2)
        except ValueError:  # not semi-definite: scikit-learn's formula, which may be NaN
            return MetricSpec(metric, metric, params, "generic")
        return MetricSpec(metric, metric, params, "native", _EUCLIDEAN, factor=factor)
    return MetricSpec(metric, metric, params, "generic")


def _no_more(metric, params):
    if params:
        raise ValueError(f"metric={metric!r} takes no parameter {sorted(params)}.")


def _work_threads(n_threads, work, n_chunks):
    """Threads for ``work`` units split in ``n_chunks`` tasks: at most one per task and
    per ``_WORK_PER_THREAD`` units, at least one."""
    return int(max(1, min(n_threads, n_chunks, work // _WORK_PER_THREAD)))


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
    if math.isinf(need):  # the bound itself overflows: add the exponents instead
        s = 2.0 ** -(math.frexp(vmax)[1] + math.frexp(2.0 * (n_features + 1))[1] - 1000)
    elif need > 2.0**1000:
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
                                thresholds=None, call=None):
    """The full matrix of distances (or of keys, exact wherever <= the row's threshold
    + bound)."""
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
    work = n_x * n_y * X.shape[1] // (_GEMM_SPEEDUP if call.use_gemm else 1)
    n_threads = _work_threads(n_threads, work, -(-n_x // chunk_x))
    buffers = call.buffers(n_threads, chunk_x * chunk_y)
    if thresholds is None:
        thresholds = np.empty(0)
    with limit_blas_threads():
        _pairwise.pairwise_dense(
            X, Y, call.Xw, call.Yw, call.XXw, call.YYw, call.cs_x, call.ci_x, call.cs_y,
            call.ci_y, out, code, p, call.s, call.robust, call.use_gemm, same, want_keys,
            thresholds, call.u, call.dabs, chunk_x, chunk_y, buffers,
        )
    return out, call


# --------------------------------------------------------------------------- sparse


def canonical_csr(A, dtype=None):
    """A as CSR with sorted, duplicate-free column indices and float data. A copy is made
    only when A is not already that (another format, an integer dtype, duplicates or
    unsorted indices); a dense array becomes its CSR form (its non-zeros)."""
    if not sp.issparse(A):
        A = sp.csr_matrix(A)
    elif A.format != "csr":
        A = A.tocsr()
    want = np.dtype(dtype) if dtype is not None else (
        A.dtype if A.dtype in (np.float32, np.float64) else np.dtype(np.float64))
    if A.dtype != want:
        A = A.astype(want)
    if not A.has_canonical_format:
        A = A.copy()
        A.sum_duplicates()
    return A


class SparsePrep:
    """The Y side of the sparse kernels, reusable across calls (an estimator keeps one):
    canonical CSR, its CSC copy, row norms, cosine factors, range and the order of rows
    by squared norm."""

    def __init__(self, Y, index_dtype):
        self.Y = Y
        self.index_dtype = index_dtype
        self.data, self.indices, self.indptr = _csr_arrays(Y, index_dtype)
        C = Y.tocsc()
        self.c_data, self.c_indices, self.c_indptr = _csr_arrays(C, index_dtype)
        self.sqnorm, self.scale, self.inv = _csr_stats(self.data, self.indptr)
        self.range = _sparse_pairwise.abs_range_1d(self.data) if Y.nnz else (0.0, math.inf)
        self.order = np.argsort(self.sqnorm, kind="stable").astype(np.intp)


def _csr_arrays(A, index_dtype):
    return (np.ascontiguousarray(A.data),
            np.ascontiguousarray(A.indices, dtype=index_dtype),
            np.ascontiguousarray(A.indptr, dtype=index_dtype))


def _csr_stats(data, indptr):
    n = len(indptr) - 1
    sq, scale, inv = np.empty(n), np.empty(n), np.empty(n)
    _sparse_pairwise.row_stats_csr(data, indptr, sq, scale, inv)
    return sq, scale, inv


def _index_dtype(*mats):
    big = max(max(m.nnz, *m.shape) for m in mats)
    return np.dtype(np.int32) if big < 2**31 - 1 else np.dtype(np.int64)


class _SparseCall:
    """Everything the sparse kernels need for one call on (X, Y)."""

    def __init__(self, X, Y, code, p, same, *, prep=None, form=None):
        Yd = prep.Y if Y is None else Y
        dtype = np.float32 if (X.dtype == np.float32 and Yd.dtype == np.float32) \
            else np.float64
        X = canonical_csr(X, dtype)
        if prep is None or prep.Y.dtype != dtype:
            Y = X if same else canonical_csr(Yd, dtype)
            prep = SparsePrep(Y, _index_dtype(X, Y))
        elif _index_dtype(X, prep.Y) != prep.index_dtype:
            prep = SparsePrep(prep.Y, _index_dtype(X, prep.Y))
        self.X, self.prep, self.code, self.p = X, prep, code, p
        self.x = _csr_arrays(X, prep.index_dtype)
        xx, xs, xi = (prep.sqnorm, prep.scale, prep.inv) if same else _csr_stats(
            self.x[0], self.x[2])
        d = X.shape[1]
        xr = _sparse_pairwise.abs_range_1d(self.x[0]) if X.nnz else (0.0, math.inf)
        vmax, vmin = max(xr[0], prep.range[0]), min(xr[1], prep.range[1])
        # ``form``: the key form of a whole call that this one is a block of
        self.s, self.robust = form or key_form(code, p, vmax, vmin, d, dtype)
        self.use_dots = code in _pairwise.GEMM_CODES and not self.robust
        n_x, n_y = X.shape[0], prep.Y.shape[0]
        if code == _COSINE:
            self.cs_x, self.ci_x, self.cs_y, self.ci_y = xs, xi, prep.scale, prep.inv
            self.XX, self.YY = np.full(n_x, 0.5), np.full(n_y, 0.5)
            self.wx, self.wy = xs * xi, prep.scale * prep.inv
            self.alpha, self.order = -1.0, np.arange(n_y, dtype=np.intp)
        else:
            self.cs_x = self.ci_x = self.cs_y = self.ci_y = np.empty(0)
            self.XX, self.YY = xx, prep.sqnorm
            self.wx, self.wy = np.ones(n_x), np.ones(n_y)
            self.alpha, self.order = -2.0, prep.order
        self.yy_max = float(self.YY.max(initial=0.0))
        self.cdu = 4.0 * (d + 8) * _U[np.dtype(np.float64)]
        self.dabs = (d + 8) * _ABS_FLOOR[np.dtype(np.float64)]

    def args(self):
        pr = self.prep
        return (*self.x, pr.data, pr.indices, pr.indptr, pr.c_data, pr.c_indices,
                pr.c_indptr, self.XX, self.YY, self.wx, self.wy)

    def scratch(self, n_threads):
        n_y = self.prep.Y.shape[0]
        return (np.empty((n_threads, max(n_y, 1))),
                np.empty((n_threads, max(n_y, 1)), dtype=np.intp),
                np.full((n_threads, max(n_y, 1)), -1, dtype=np.intp))


def _sparse_threads(call, n_threads, full):
    """Threads for a sparse call: its work is the dot products (about nnz(X) times the
    mean column count of Y) plus, for a full matrix, one entry per pair."""
    n_x, (n_y, d) = call.X.shape[0], call.prep.Y.shape
    work = call.X.nnz * max(1, call.prep.Y.nnz // max(1, d)) + (n_x * n_y if full else 0)
    if not call.use_dots:
        work += n_x * n_y * max(1, (call.X.nnz + call.prep.Y.nnz) // max(1, n_x + n_y))
    return _work_threads(n_threads, work, n_x)


def _topk_sparse(X, Y, k, code, p, n_threads, same, *, prep=None):
    """(float64 distances, indices) of the k nearest rows of Y for each row of X, one
    side at least sparse."""
    call = _SparseCall(X, Y, code, p, same, prep=prep)
    n_x, n_y = call.X.shape[0], call.prep.Y.shape[0]
    dist = np.empty((n_x, k))
    ind = np.empty((n_x, k), dtype=np.intp)
    if n_x == 0:
        return dist, ind
    self_idx = np.arange(n_x, dtype=np.intp) if same else np.empty(0, dtype=np.intp)
    kc = min(n_y, k + _EXTRA_CANDIDATES + k // 8) if call.use_dots else k
    flags = _topk_sparse_pass(call, self_idx, dist, ind, kc, n_threads,
                              rescan=not call.use_dots)
    rows = np.flatnonzero(flags)
    if rows.size:
        sub = _SparseCall(call.X[rows], None, code, p, False, prep=call.prep,
                          form=(call.s, call.robust))
        d2, i2 = np.empty((rows.size, k)), np.empty((rows.size, k), dtype=np.intp)
        _topk_sparse_pass(sub, self_idx[rows] if same else self_idx, d2, i2,
                          min(n_y, 2 * k + _RETRY_CANDIDATES), n_threads, rescan=True)
        dist[rows], ind[rows] = d2, i2
    return dist, ind


def _topk_sparse_pass(call, self_idx, dist, ind, kc, n_threads, *, rescan):
    n_x = call.X.shape[0]
    n_threads = _sparse_threads(call, n_threads, False)
    flags = np.zeros(n_x, dtype=np.uint8)
    _sparse_pairwise.topk_csr(
        *call.args(), call.order, call.cs_x, call.ci_x, call.cs_y, call.ci_y, self_idx,
        dist, ind, call.code, call.p, call.s, call.robust, call.use_dots, call.alpha,
        call.cdu, call.dabs, call.yy_max, kc, rescan, flags, *call.scratch(n_threads),
        np.empty((n_threads, kc)), np.empty((n_threads, kc), dtype=np.intp), n_threads)
    return flags


def _pairwise_sparse(X, Y, code, p, same, n_threads, *, want_keys=False,
                     thresholds=None, call=None):
    """The full matrix (float64) of distances, or of keys exact wherever <= the row's
    threshold + bound, one side at least sparse. Returns (matrix, call)."""
    if call is None:
        call = _SparseCall(X, Y, code, p, same)
    n_x, n_y = call.X.shape[0], call.prep.Y.shape[0]
    out = np.empty((n_x, n_y))
    if n_x == 0 or n_y == 0:
        return out, call
    n_threads = _sparse_threads(call, n_threads, True)
    _sparse_pairwise.pairwise_csr(
        *call.args(), call.cs_x, call.ci_x, call.cs_y, call.ci_y, out, call.code,
        call.p, call.s, call.robust, call.use_dots, call.alpha, same, want_keys,
        np.empty(0) if thresholds is None else thresholds, call.cdu, call.dabs,
        *call.scratch(n_threads), n_threads)
    return out, call


def pairwise_distances(X, Y=None, metric="euclidean", n_jobs=None, **kwds):
    """Distances between the rows of X and the rows of Y.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples_X, n_features), or
        (n_samples_X, n_samples_Y) when ``metric="precomputed"``
        Sparse matrices are used as CSR (other formats are converted, never densified).
    Y : {array-like, sparse matrix} of shape (n_samples_Y, n_features), default=None
        ``None`` means ``Y = X``; the diagonal is then exactly zero.
    metric : str, callable or DistanceMetric, default="euclidean"
        skml's kernels compute "euclidean" ("l2"), "sqeuclidean", "cosine", "manhattan"
        ("l1", "cityblock"), "chebyshev" ("infinity"), "minkowski" (with ``p`` and
        optional weights ``w``), "seuclidean" with ``V`` and "mahalanobis" with ``VI``
        (or ``V``); the last three as euclidean or Minkowski distances of linearly
        mapped rows. Euclidean, squared euclidean and cosine go through BLAS with the
        identity ``|x-y|^2 = |x|^2 + |y|^2 - 2 x.y`` on rows centred on the mean of Y
        (unit rows for cosine), accumulated in float64 for float32 input; an entry
        whose value is within 1e8 rounding-error bounds of 0 is recomputed from the
        coordinate differences, so every entry is accurate to ~1e-8 relative whatever
        the offset of the data. The others are computed from the differences directly.
        Every other name of ``sklearn.metrics.pairwise_distances`` (scipy's metrics,
        "haversine", "nan_euclidean", ...), callables, ``DistanceMetric`` objects and
        "precomputed" are handed to scikit-learn's function.
    n_jobs : int, default=None
        OpenMP threads of skml's kernels (``None``: all cores, ``-1``: all CPUs); the
        number of joblib jobs for the metrics scikit-learn computes (``None``: one).
    **kwds : dict
        Parameters of the metric: ``p`` (Minkowski order, ``> 0``; below 1 it is a
        dissimilarity, not a metric; ``inf`` gives Chebyshev), ``w``, ``V``, ``VI``, or
        those of a scikit-learn metric or callable. Minkowski distances are computed in
        the scaled form ``m (sum (|x_j - y_j| / m)^p)^(1/p)``, ``m = max |x_j - y_j|``,
        which neither overflows nor underflows for any ``p``.

    Returns
    -------
    D : ndarray of shape (n_samples_X, n_samples_Y)
        float32 when both inputs are float32 and the kernels compute the metric,
        float64 otherwise. Distances beyond the largest float are ``inf``.

    Raises
    ------
    ValueError
        If X or Y is not 2-D, holds NaN or infinity, the widths differ, the metric is
        unknown or a parameter is out of range.
    TypeError
        If ``metric`` is neither a string, a callable nor a ``DistanceMetric``.

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
    spec = resolve_metric(metric, None, kwds)
    if spec.kind != "native":
        return _sk_pairwise_distances(X, Y, metric=metric, n_jobs=n_jobs, **kwds)
    X, Y, same = _check_pair(X, Y)
    n_threads = effective_n_threads(n_jobs)
    Xt = spec.transform(X)
    Yt = Xt if same else spec.transform(Y)
    if sp.issparse(Xt) or sp.issparse(Yt):
        D = _pairwise_sparse(Xt, Yt, spec.code, spec.p, same, n_threads)[0]
        return D.astype(X.dtype, copy=False)
    return _pairwise_keys_or_distances(Xt, Yt, spec.code, spec.p, same, n_threads)[0]


def _topk(X, Y, k, code, p, n_threads, same, out_dtype=None):
    """(distances, indices, rows certified only by the second pass or rescanned)."""
    n_x, n_y = X.shape[0], Y.shape[0]
    dist = np.empty((n_x, k), dtype=out_dtype or X.dtype)
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
        d2 = np.empty((rows.size, k), dtype=dist.dtype)
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
    work = n_x * n_y * X.shape[1] // (_GEMM_SPEEDUP if call.use_gemm else 1)
    n_threads = _work_threads(n_threads, work, -(-n_x // chunk_x))
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


def topk_rows(D, k, n_threads):
    """The k smallest entries of each row of a distance matrix, ascending by (value,
    index), NaN last: (float64 distances, indices)."""
    D = np.ascontiguousarray(D)
    if D.dtype not in (np.float32, np.float64):
        D = D.astype(np.float64)
    dist = np.empty((D.shape[0], k))
    ind = np.empty((D.shape[0], k), dtype=np.intp)
    if D.shape[0]:
        _pairwise.topk_rows(D, dist, ind, _work_threads(n_threads, D.size, D.shape[0]))
    return dist, ind


def kneighbors_spec(X, Y, k, spec, n_threads, same, *, out_dtype=np.float64, n_jobs=None,
                    prep=None):
    """The k nearest rows of Y for each row of X under ``spec`` (native: the kernels on
    the mapped rows, the sparse ones when a side is sparse, with ``prep`` the cached Y
    side; generic: blocks of scikit-learn distances; precomputed: X holds the
    distances). Returns (distances, indices)."""
    if spec.kind == "native":
        Xt = spec.transform(X)
        Yt = Xt if same else spec.transform(Y)
        if sp.issparse(Xt) or sp.issparse(Yt):
            dist, ind = _topk_sparse(Xt, Yt, k, spec.code, spec.p, n_threads, same,
                                     prep=prep)
            return dist.astype(out_dtype, copy=False), ind
        dist, ind, _ = _topk(Xt, Yt, k, spec.code, spec.p, n_threads, same, out_dtype)
        return dist, ind
    if spec.kind == "precomputed":
        if sp.issparse(X):
            return _kneighbors_from_graph(X, k)
        return topk_rows(X, k, n_threads)
    n_x, n_y = X.shape[0], Y.shape[0]
    dist = np.empty((n_x, k))
    ind = np.empty((n_x, k), dtype=np.intp)
    step = chunk_rows(8 * n_y, preferred=4096) * max(1, n_threads)
    for start in range(0, n_x, step):
        stop = min(n_x, start + step)
        D = spec.distances(X[start:stop], Y, n_jobs)
        dist[start:stop], ind[start:stop] = topk_rows(D, k, n_threads)
    return dist, ind


def check_precomputed_graph(G):
    """A precomputed sparse neighbours graph as CSR with non-negative data, each row's
    stored entries ordered by (distance, column). Its stored entries are the only
    candidate neighbours (an explicit zero is a distance 0); DOK and BSR matrices, which
    drop explicit zeros, are refused as scikit-learn does."""
    if G.format in ("dok", "bsr"):
        raise TypeError(f"A {G.format} matrix is not supported due to its handling of "
                        "explicit zeros; use a CSR matrix.")
    G = G.tocsr(copy=True)
    if G.data.size and G.data.min() < 0:
        raise ValueError("Negative values in data passed to precomputed distance matrix.")
    rows = np.repeat(np.arange(G.shape[0]), np.diff(G.indptr))
    order = np.lexsort((G.indices, G.data, rows))
    G.data, G.indices = G.data[order], G.indices[order]
    return G


def _kneighbors_from_graph(G, k):
    """The first k stored entries of each (sorted) row of a precomputed graph."""
    counts = np.diff(G.indptr)
    if G.shape[0] and counts.min() < k:
        raise ValueError(
            f"{k} neighbors per samples are required, but some samples have only "
            f"{counts.min()} neighbors in precomputed graph matrix. Decrease number of "
            "neighbors used or recompute the graph with more neighbors.")
    at = G.indptr[:-1, None] + np.arange(k)[None, :]
    return np.asarray(G.data[at], dtype=np.float64), G.indices[at].astype(np.intp)


def pairwise_distances_argmin_min(X, Y, *, axis=1, metric="euclidean", metric_kwargs=None,
                                  n_jobs=None, p=None):
    """For each row of X, the nearest row of Y and the distance to it.

    Works through the data in blocks and never builds the n_X x n_Y matrix. The nearest
    row is the one with the smallest exact distance (computed from the coordinate
    differences; BLAS only preselects candidates), ties to the smaller index.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples_X, n_features)
        Sparse matrices are used as CSR (other formats are converted).
    Y : {array-like, sparse matrix} of shape (n_samples_Y, n_features)
        At least one row.
    axis : {0, 1}, default=1
        1: the nearest row of Y for each row of X; 0: the nearest row of X for each row
        of Y.
    metric : str, callable or DistanceMetric, default="euclidean"
        As in :func:`pairwise_distances`.
    metric_kwargs : dict, default=None
        Parameters of the metric (``p``, ``w``, ...).
    n_jobs : int, default=None
        OpenMP threads (``None``: all cores).
    p : float, default=None
        Order of the Minkowski metric (2 when None; ``metric_kwargs["p"]`` wins).

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
    check_param(axis, "axis", types=(numbers.Integral,), options=(0, 1))
    if axis == 0:
        X, Y = Y, X
    spec = resolve_metric(metric, p, metric_kwargs)
    if spec.kind == "native":
        X, Y, _ = _check_pair(X, Y, allow_empty_y=False)
        dtype = X.dtype
    else:
        dtype = np.float64
        X = check_array(X, input_name="X", ensure_min_samples=0,
                        ensure_all_finite=spec.name != "nan_euclidean")
        Y = check_array(Y, input_name="Y", ensure_all_finite=spec.name != "nan_euclidean")
    dist, ind = kneighbors_spec(X, Y, 1, spec, effective_n_threads(n_jobs), False,
                                out_dtype=dtype, n_jobs=n_jobs)
    return ind[:, 0], dist[:, 0]


def kneighbors_brute(X, Y=None, k=1, *, metric="euclidean", n_jobs=None, p=2.0,
                     return_distance=True, metric_params=None):
    """The ``k`` nearest rows of Y for every row of X, by brute force in blocks.

    Only a per-thread block of distances and a top-k heap per row are kept in memory, so
    memory is O(n_X * k) plus the blocks, never O(n_X * n_Y). BLAS preselects
    ``k + 2 + k // 8`` candidates per row; their exact distances (from the coordinate
    differences, as the KD-tree computes them) rank them, and a row whose k-th place is
    not certain within the rounding bound is retried with ``2 k + 32`` candidates, then
    rescanned exactly. The result is therefore the same as an exact search, for any
    offset or magnitude of the data.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples_X, n_features)
        Sparse matrices are used as CSR (other formats are converted, never densified).
    Y : {array-like, sparse matrix} of shape (n_samples_Y, n_features), default=None
        ``None`` searches X itself: each point's distance to itself is exactly 0, so it
        is its own first neighbour unless X holds a duplicate of it with a smaller index
        (ties go to the smaller index).
    k : int, default=1
        Neighbours per row, ``1 <= k <= n_samples_Y``.
    metric : str, callable or DistanceMetric, default="euclidean"
        As in :func:`pairwise_distances`.
    n_jobs : int, default=None
        OpenMP threads (``None``: all cores).
    p : float, default=2.0
        Order of the Minkowski metric (``> 0``).
    return_distance : bool, default=True
        Also return the distances.
    metric_params : dict, default=None
        Other parameters of the metric (``w``, ``V``, ``VI``, ...).

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
    spec = resolve_metric(metric, p, metric_params)
    if spec.kind == "precomputed":
        raise ValueError("kneighbors_brute needs the rows themselves, not "
                         "metric='precomputed'.")
    if spec.kind == "native":
        X, Y, same = _check_pair(X, Y, allow_empty_y=False)
        dtype = X.dtype
    else:
        X = check_array(X, input_name="X", ensure_min_samples=0)
        same = Y is None
        Y = X if same else check_array(Y, input_name="Y")
        dtype = np.float64
    check_param(k, "k", types=(numbers.Integral,), min_val=1, max_val=Y.shape[0])
    dist, ind = kneighbors_spec(X, Y, int(k), spec, effective_n_threads(n_jobs), same,
                                out_dtype=dtype, n_jobs=n_jobs)
    return (dist, ind) if return_distance else ind


def radius_spec(X, Y, radius, spec, n_threads, same, sort_results, *, n_jobs=None,
                prep=None):
    """For each row i of X the rows of Y within ``radius[i]`` (exact keys at the
    boundary for native metrics). Returns (distances, indices) as object arrays of 1-D
    float64 / intp arrays; rows of X are processed in blocks of the working-memory
    budget."""
    n_x = X.shape[0]
    n_y = X.shape[1] if spec.kind == "precomputed" else Y.shape[0]
    dist = np.empty(n_x, dtype=object)
    ind = np.empty(n_x, dtype=object)
    if n_x == 0:
        return dist, ind
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), (n_x,))
    sparse = False
    if spec.kind == "native":
        X = spec.transform(X)
        Y = X if same else spec.transform(Y)
        sparse = sp.issparse(X) or sp.issparse(Y)
        if sparse:
            X = canonical_csr(X)
            call = _SparseCall(X, Y, spec.code, spec.p, same, prep=prep)
        else:
            call = _Call(X, Y, spec.code, spec.p, same, n_threads, gemm_dtype=np.float64)
        thr = np.array([radius_key(r, spec.code, spec.p, call.s, call.robust)
                        for r in radius])
    step = chunk_rows(8 * n_y, preferred=4096) * max(1, n_threads)
    for start in range(0, n_x, step):
        stop = min(n_x, start + step)
        if spec.kind == "native":
            block_thr = np.ascontiguousarray(thr[start:stop])
            if sparse:
                keys, _ = _pairwise_sparse(
                    X[start:stop], None, spec.code, spec.p, False, n_threads,
                    want_keys=True, thresholds=block_thr,
                    call=_SparseCall(X[start:stop], None, spec.code, spec.p, False,
                                     prep=call.prep, form=(call.s, call.robust)))
            else:
                keys, _ = _pairwise_keys_or_distances(
                    X[start:stop], Y, spec.code, spec.p, False, n_threads,
                    want_keys=True, thresholds=block_thr,
                    call=_SubCall(call, slice(start, stop)))
            if same:  # the diagonal of this block
                keys[np.arange(stop - start), np.arange(start, stop)] = 0.0
            rows, cols = np.nonzero(keys <= thr[start:stop, None])
            d = np.empty(len(rows))
            _pairwise.keys_to_dist(np.ascontiguousarray(keys[rows, cols]), d, spec.code,
                                   spec.p, call.s, call.robust)
        elif spec.kind == "precomputed" and sp.issparse(X):
            G = X[start:stop].tocoo()  # stored entries only: a graph's candidates
            keep = G.data <= radius[start:stop][G.row]
            rows, cols, d = G.row[keep], G.col[keep], np.asarray(G.data[keep], float)
            by_row = np.argsort(rows, kind="stable")
            rows, cols, d = rows[by_row], cols[by_row], d[by_row]
        else:
            D = (X[start:stop] if spec.kind == "precomputed"
                 else spec.distances(X[start:stop], Y, n_jobs))
            rows, cols = np.nonzero(D <= radius[start:stop, None])
            d = np.asarray(D[rows, cols], dtype=np.float64)
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
