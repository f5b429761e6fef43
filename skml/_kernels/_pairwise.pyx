# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Pairwise distances and reductions over them (argmin, top-k) without the full matrix.

Private and dumb: the Python layer (``skml.metrics._pairwise``) validates the inputs and
hands over C-contiguous float32/float64 arrays with at least one row on each side, the
squared row norms where the metric needs them, and the thread count. Nothing here writes
into its inputs.

Euclidean-type metrics go through the GEMM identity
``||x - y||^2 = ||x||^2 + ||y||^2 - 2 x.y`` with BLAS from ``scipy.linalg.cython_blas``.
Each OpenMP thread runs single-threaded BLAS on its own chunk of rows (the caller limits
BLAS threads to one around these calls).
"""
from cython cimport floating
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport sqrt, fabs, pow, INFINITY
from scipy.linalg.cython_blas cimport sgemm, dgemm

cimport numpy as cnp
from skml._kernels._heap cimport heap_sift_down, heap_sort, insertion_sort_pairs

cnp.import_array()

ctypedef cnp.intp_t intp_t

# Metric codes shared with skml/metrics/_pairwise.py (keep in sync: METRIC_CODES there).
cdef enum:
    EUCLIDEAN = 0
    SQEUCLIDEAN = 1
    COSINE = 2       # rows already normalised to unit length by the caller
    MANHATTAN = 3
    MINKOWSKI = 4
    CHEBYSHEV = 5


cdef inline void _gemm_abt(const floating* A, const floating* B, floating* C,
                           int m, int n, int k, int ldc, floating alpha) noexcept nogil:
    """C[:m, :n] = alpha * A @ B.T for row-major A (m x k), B (n x k) and C (leading dim ldc).

    BLAS is column-major: a row-major matrix is its transpose there, so we ask for
    C.T (n x m) = B @ A.T with B read transposed from its k x n column-major buffer.
    """
    cdef char ta = b'T'
    cdef char tb = b'N'
    cdef floating beta = 0
    cdef int ld = k
    if floating is float:
        sgemm(&ta, &tb, &n, &m, &k, &alpha, <float*>B, &ld, <float*>A, &ld, &beta, C, &ldc)
    else:
        dgemm(&ta, &tb, &n, &m, &k, &alpha, <double*>B, &ld, <double*>A, &ld, &beta, C, &ldc)


cdef inline double _elementwise_dist(const floating* x, const floating* y, Py_ssize_t d,
                                     int metric, double p) noexcept nogil:
    """Manhattan, Chebyshev or sum |x-y|^p (Minkowski before the 1/p root)."""
    cdef Py_ssize_t f
    cdef double s = 0.0, t
    if metric == MANHATTAN:
        for f in range(d):
            s += fabs(<double>x[f] - <double>y[f])
    elif metric == CHEBYSHEV:
        for f in range(d):
            t = fabs(<double>x[f] - <double>y[f])
            if t > s:
                s = t
    else:
        for f in range(d):
            s += pow(fabs(<double>x[f] - <double>y[f]), p)
    return s


cdef inline double _finalize(double v, double xx, int metric, double p) noexcept nogil:
    """Turn a block value ("surrogate") into the distance: the monotone last step."""
    if metric == EUCLIDEAN or metric == SQEUCLIDEAN:
        v = v + xx
        if v < 0.0:
            v = 0.0
        if metric == EUCLIDEAN:
            v = sqrt(v)
    elif metric == COSINE:
        v = 1.0 + v
        if v < 0.0:
            v = 0.0
        elif v > 2.0:
            v = 2.0
    elif metric == MINKOWSKI:
        v = pow(v, 1.0 / p)
    return v


def row_sqnorms(const floating[:, ::1] X, floating[::1] out, int n_threads):
    """out[i] = sum_j X[i, j]**2, accumulated in double."""
    cdef Py_ssize_t i, f, n = X.shape[0], d = X.shape[1]
    cdef double s
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        s = 0.0
        for f in range(d):
            s = s + <double>X[i, f] * <double>X[i, f]
        out[i] = <floating>s


def dense_distances(const floating[:, ::1] X, const floating[:, ::1] Y,
                    const floating[::1] XX, const floating[::1] YY,
                    floating[:, ::1] out, int metric, double p, bint same,
                    Py_ssize_t chunk, int n_threads):
    """Fill out (n_x x n_y) with distances, ``chunk`` rows of X per task.

    For GEMM metrics each task writes its row block with one GEMM and then finishes it
    (add norms, clip, root) while the block is still in cache.
    """
    cdef Py_ssize_t n_x = X.shape[0], n_y = Y.shape[0], d = X.shape[1]
    cdef Py_ssize_t n_chunks = (n_x + chunk - 1) // chunk
    cdef Py_ssize_t c, i, j, i0, i1
    cdef floating alpha
    cdef double v, xx
    cdef bint use_gemm = metric == EUCLIDEAN or metric == SQEUCLIDEAN or metric == COSINE
    alpha = -1.0 if metric == COSINE else -2.0

    for c in prange(n_chunks, nogil=True, schedule="static", num_threads=n_threads):
        i0 = c * chunk
        i1 = i0 + chunk
        if i1 > n_x:
            i1 = n_x
        if use_gemm:
            _gemm_abt(&X[i0, 0], &Y[0, 0], &out[i0, 0], <int>(i1 - i0), <int>n_y, <int>d,
                      <int>n_y, alpha)
            for i in range(i0, i1):
                xx = XX[i] if metric != COSINE else 0.0
                for j in range(n_y):
                    v = <double>out[i, j]
                    if metric != COSINE:
                        v = v + <double>YY[j]
                    out[i, j] = <floating>_finalize(v, xx, metric, p)
                if same:
                    out[i, i] = 0
        else:
            for i in range(i0, i1):
                for j in range(n_y):
                    v = _elementwise_dist(&X[i, 0], &Y[j, 0], d, metric, p)
                    out[i, j] = <floating>_finalize(v, 0.0, metric, p)
                if same:
                    out[i, i] = 0


cdef void _block_values(const floating[:, ::1] X, const floating[:, ::1] Y,
                        const floating[::1] YY, Py_ssize_t i0, Py_ssize_t i1,
                        Py_ssize_t j0, Py_ssize_t j1, int metric, double p, bint same,
                        const floating[::1] XX, floating* buf) noexcept nogil:
    """buf[(i-i0)*(j1-j0) + (j-j0)] = surrogate(i, j): a value in the same order as the
    distance, finished later by ``_finalize``. For GEMM metrics the x-norm is left out."""
    cdef Py_ssize_t i, j, cy = j1 - j0, d = X.shape[1]
    cdef floating* row
    if metric == EUCLIDEAN or metric == SQEUCLIDEAN or metric == COSINE:
        _gemm_abt(&X[i0, 0], &Y[j0, 0], buf, <int>(i1 - i0), <int>cy, <int>d, <int>cy,
                  -1.0 if metric == COSINE else -2.0)
        if metric != COSINE:
            for i in range(i1 - i0):
                row = buf + i * cy
                for j in range(cy):
                    row[j] = row[j] + YY[j0 + j]
    else:
        for i in range(i0, i1):
            row = buf + (i - i0) * cy
            for j in range(j0, j1):
                row[j - j0] = <floating>_elementwise_dist(&X[i, 0], &Y[j, 0], d, metric, p)
    if same:
        # exact self-distance: the surrogate that finalises to 0
        for i in range(i0, i1):
            if j0 <= i < j1:
                if metric == EUCLIDEAN or metric == SQEUCLIDEAN:
                    buf[(i - i0) * cy + (i - j0)] = -XX[i]
                elif metric == COSINE:
                    buf[(i - i0) * cy + (i - j0)] = -1.0
                else:
                    buf[(i - i0) * cy + (i - j0)] = 0.0


def topk_reduction(const floating[:, ::1] X, const floating[:, ::1] Y,
                   const floating[::1] XX, const floating[::1] YY,
                   floating[:, ::1] out_dist, intp_t[:, ::1] out_ind,
                   int metric, double p, bint same,
                   Py_ssize_t chunk_x, Py_ssize_t chunk_y, floating[:, ::1] buffers):
    """For every row of X, the k = out_dist.shape[1] nearest rows of Y, ascending, ties to
    the smaller index. Work: tasks of ``chunk_x`` rows of X, each scanning Y in blocks of
    ``chunk_y`` rows through a per-thread buffer of chunk_x * chunk_y values (a row of
    ``buffers``, which has one row per thread: its first dimension is the thread count);
    each row keeps a max-heap of its k best in its own output row."""
    cdef Py_ssize_t n_x = X.shape[0], n_y = Y.shape[0], k = out_dist.shape[1]
    cdef Py_ssize_t n_chunks = (n_x + chunk_x - 1) // chunk_x
    cdef Py_ssize_t c, i, j, h, i0, i1, j0, j1, cy
    cdef floating* buf
    cdef floating* hd
    cdef intp_t* hi
    cdef floating v
    cdef double xx

    cdef int n_threads = <int>buffers.shape[0]

    with nogil, parallel(num_threads=n_threads):
        buf = &buffers[threadid(), 0]
        for c in prange(n_chunks, schedule="static"):
            i0 = c * chunk_x
            i1 = i0 + chunk_x
            if i1 > n_x:
                i1 = n_x
            for i in range(i0, i1):
                for h in range(k):
                    out_dist[i, h] = INFINITY
                    out_ind[i, h] = n_y  # sentinel: after every real index
            j0 = 0
            while j0 < n_y:
                j1 = j0 + chunk_y
                if j1 > n_y:
                    j1 = n_y
                cy = j1 - j0
                _block_values(X, Y, YY, i0, i1, j0, j1, metric, p, same, XX, buf)
                for i in range(i0, i1):
                    hd = &out_dist[i, 0]
                    hi = &out_ind[i, 0]
                    for j in range(cy):
                        v = buf[(i - i0) * cy + j]
                        # scanning j upwards, an equal value never beats the root
                        if v < hd[0]:
                            heap_sift_down(hd, hi, k, 0, v, j0 + j)
                j0 = j1
            for i in range(i0, i1):
                hd = &out_dist[i, 0]
                hi = &out_ind[i, 0]
                heap_sort(hd, hi, k)
                xx = XX[i] if (metric == EUCLIDEAN or metric == SQEUCLIDEAN) else 0.0
                for h in range(k):
                    hd[h] = <floating>_finalize(<double>hd[h], xx, metric, p)
                insertion_sort_pairs(hd, hi, k)
