"""Pairwise distances between the rows of two arrays, and reductions over them that never
build the full distance matrix. The loops live in ``skml._kernels._pairwise``."""
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

# Codes understood by the kernel (keep in sync with the enum in _pairwise.pyx).
_EUCLIDEAN, _SQEUCLIDEAN, _COSINE, _MANHATTAN, _MINKOWSKI, _CHEBYSHEV = range(6)
_METRIC_CODES = {
    "euclidean": _EUCLIDEAN,
    "l2": _EUCLIDEAN,
    "sqeuclidean": _SQEUCLIDEAN,
    "cosine": _COSINE,
    "manhattan": _MANHATTAN,
    "cityblock": _MANHATTAN,
    "l1": _MANHATTAN,
    "minkowski": _MINKOWSKI,
    "chebyshev": _CHEBYSHEV,
}
#: Metric names accepted by every function of this module.
PAIRWISE_METRICS = tuple(sorted(_METRIC_CODES))

# Rows of X per task for the full matrix, and the per-thread block of the reductions.
# Tuned on benchmarks/bench_pairwise.py: a block of a few hundred KiB stays in L2.
_DENSE_CHUNK = 128
_REDUCTION_CHUNK_X = 256
_REDUCTION_CHUNK_Y = 512
_NORM_ELEMENTS_PER_THREAD = 2**16


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


def _prepare(X, Y, code, same, n_threads):
    """Norms for the GEMM metrics (unit rows for cosine); empty arrays otherwise."""
    # a norm pass is cheap: only large inputs are worth waking more threads for
    n_threads = max(1, min(n_threads, X.size // _NORM_ELEMENTS_PER_THREAD))
    empty = np.empty(0, dtype=X.dtype)
    if code in (_EUCLIDEAN, _SQEUCLIDEAN):
        XX = np.empty(X.shape[0], dtype=X.dtype)
        _pairwise.row_sqnorms(X, XX, n_threads)
        if same:
            return X, Y, XX, XX
        YY = np.empty(Y.shape[0], dtype=Y.dtype)
        _pairwise.row_sqnorms(Y, YY, n_threads)
        return X, Y, XX, YY
    if code == _COSINE:
        X = _unit_rows(X, n_threads)
        Y = X if same else _unit_rows(Y, n_threads)
    return X, Y, empty, empty


def _unit_rows(X, n_threads):
    norms = np.empty(X.shape[0], dtype=X.dtype)
    _pairwise.row_sqnorms(X, norms, n_threads)
    norms = np.sqrt(norms)
    norms[norms == 0] = 1  # a zero row stays zero: cosine distance 1 to everything
    return np.ascontiguousarray(X / norms[:, None])


def pairwise_distances(X, Y=None, metric="euclidean", n_jobs=None, *, p=2.0):
    """Distances between the rows of X and the rows of Y.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features), default=None
        ``None`` means ``Y = X``; the diagonal is then exactly zero.
    metric : {"euclidean", "sqeuclidean", "cosine", "manhattan", "minkowski", \
            "chebyshev"}, default="euclidean"
        Also the aliases "l2", "l1" and "cityblock". Euclidean, squared euclidean and cosine
        go through BLAS with the identity ``|x-y|^2 = |x|^2 + |y|^2 - 2 x.y`` (clipped at 0).
    n_jobs : int, default=None
        OpenMP threads; ``None`` uses all cores, ``-1`` all CPUs.
    p : float, default=2.0
        Order of the Minkowski metric (``>= 1``; ``inf`` gives Chebyshev).

    Returns
    -------
    D : ndarray of shape (n_samples_X, n_samples_Y)
        float32 when both inputs are float32, float64 otherwise.

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
    n_x, n_y = X.shape[0], Y.shape[0]
    out = np.empty((n_x, n_y), dtype=X.dtype)
    if n_x == 0 or n_y == 0:
        return out
    n_threads = effective_n_threads(n_jobs)
    X, Y, XX, YY = _prepare(X, Y, code, same, n_threads)
    chunk = chunk_rows(0, preferred=_DENSE_CHUNK)
    n_threads = min(n_threads, -(-n_x // chunk))
    with limit_blas_threads():
        _pairwise.dense_distances(X, Y, XX, YY, out, code, p, same, chunk, n_threads)
    return out


def _topk(X, Y, k, metric, p, n_jobs, same):
    code, p = _metric_code(metric, p)
    n_x, n_y = X.shape[0], Y.shape[0]
    dist = np.empty((n_x, k), dtype=X.dtype)
    ind = np.empty((n_x, k), dtype=np.intp)
    if n_x == 0:
        return dist, ind
    n_threads = effective_n_threads(n_jobs)
    X, Y, XX, YY = _prepare(X, Y, code, same, n_threads)
    chunk_y = min(_REDUCTION_CHUNK_Y, n_y)
    chunk_x = chunk_rows(chunk_y * X.itemsize, preferred=_REDUCTION_CHUNK_X)
    n_threads = min(n_threads, -(-n_x // chunk_x))
    buffers = np.empty((n_threads, chunk_x * chunk_y), dtype=X.dtype)
    with limit_blas_threads():
        _pairwise.topk_reduction(
            X, Y, XX, YY, dist, ind, code, p, same, chunk_x, chunk_y, buffers
        )
    return dist, ind


def pairwise_distances_argmin_min(X, Y, *, metric="euclidean", n_jobs=None, p=2.0):
    """For each row of X, the nearest row of Y and the distance to it.

    Works through the data in blocks and never builds the n_X x n_Y matrix. Ties go to
    the smaller index.

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
    dist, ind = _topk(X, Y, 1, metric, p, n_jobs, same=False)
    return ind[:, 0], dist[:, 0]


def kneighbors_brute(X, Y=None, k=1, *, metric="euclidean", n_jobs=None, p=2.0,
                     return_distance=True):
    """The ``k`` nearest rows of Y for every row of X, by brute force in blocks.

    Only a per-thread block of distances and a top-k heap per row are kept in memory, so
    memory is O(n_X * k) plus the blocks, never O(n_X * n_Y).

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
    dist, ind = _topk(X, Y, int(k), metric, p, n_jobs, same)
    return (dist, ind) if return_distance else ind
