# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Column sums and the centred Gram matrix ``(X - m).T @ (X - m)`` of a tall matrix.

Private and dumb: the Python layer (``skml.decomposition._pca``) validates X (C-contiguous
float32/float64) and limits BLAS to one thread around these calls. The rows are split
into a fixed number of contiguous groups (chosen from the data's shape, never from the
thread count), each with its own accumulator; OpenMP threads take whole groups. Within a
group, blocks of rows are centred into the thread's float64 buffer (float32 input is
widened there, so the Gram matrix is always accumulated in double) and added with one
``dsyrk``; the caller sums the groups in order. Centring each block exactly, rather than forming ``X.T @ X - n m m.T``,
keeps the small eigenvalues of the covariance accurate.
"""
from cython cimport floating
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from scipy.linalg.cython_blas cimport dsyrk

cimport numpy as cnp

cnp.import_array()


def column_sums(const floating[:, ::1] X, double[:, ::1] partial, Py_ssize_t group_rows,
                int n_threads):
    """partial[g, :] = sum of rows ``[g * group_rows, (g + 1) * group_rows)`` of X."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], n_groups = partial.shape[0]
    cdef Py_ssize_t g, i, f, i1
    cdef double* acc
    _check_groups(n, d, n_groups, partial.shape[1], group_rows)
    for g in prange(n_groups, nogil=True, schedule="static", num_threads=n_threads):
        acc = &partial[g, 0]
        i1 = (g + 1) * group_rows
        if i1 > n:
            i1 = n
        for i in range(g * group_rows, i1):
            for f in range(d):
                acc[f] += X[i, f]


def centred_gram(const floating[:, ::1] X, const double[::1] mean, double[:, :, ::1] partial,
                 Py_ssize_t group_rows, Py_ssize_t chunk, int n_threads):
    """partial[g] += one triangle (the upper one in column-major order) of
    ``(X_g - mean).T @ (X_g - mean)`` for the rows ``X_g`` of group g, ``chunk`` rows at
    a time. The caller mirrors the triangle and sums the groups in a fixed order, so the
    result does not depend on the number of threads."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], n_groups = partial.shape[0]
    cdef Py_ssize_t g, i, f, i0, i1, end
    cdef double* buf
    cdef double* acc
    cdef int nd = <int> d, k
    cdef char uplo = b'U'
    cdef char trans = b'N'
    cdef double one = 1.0
    cdef int failed = 0
    _check_groups(n, d, n_groups, partial.shape[1], group_rows)
    if partial.shape[2] != d or mean.shape[0] != d:
        raise ValueError("partial and mean must match X's number of columns.")
    if chunk < 1 or d > 2**31 - 1 or chunk > 2**31 - 1:
        raise ValueError("chunk must be in [1, 2**31 - 1] and X have < 2**31 columns.")
    if n == 0 or d == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        buf = <double*> malloc(chunk * d * sizeof(double))
        for g in prange(n_groups, schedule="dynamic"):
            if buf == NULL:
                failed += 1
                continue
            acc = &partial[g, 0, 0]
            i0 = g * group_rows
            end = i0 + group_rows
            if end > n:
                end = n
            while i0 < end:
                i1 = i0 + chunk
                if i1 > end:
                    i1 = end
                for i in range(i0, i1):
                    for f in range(d):
                        buf[(i - i0) * d + f] = <double> X[i, f] - mean[f]
                # Row-major (k x d) block = column-major (d x k) matrix A; C += A @ A.T.
                k = <int> (i1 - i0)
                dsyrk(&uplo, &trans, &nd, &k, &one, buf, &nd, &one, acc, &nd)
                i0 = i1
        free(buf)
    if failed:
        raise MemoryError(f"centred_gram: could not allocate {chunk} x {d} doubles.")


cdef int _check_groups(Py_ssize_t n, Py_ssize_t d, Py_ssize_t n_groups,
                       Py_ssize_t partial_cols, Py_ssize_t group_rows) except -1:
    """Raise ValueError unless the groups of ``group_rows`` rows cover all n rows with
    one accumulator each, of X's width."""
    if partial_cols != d:
        raise ValueError(f"partial has {partial_cols} columns for X's {d}.")
    if group_rows < 1 or n_groups < 0 or (n > 0 and n_groups * group_rows < n):
        raise ValueError(f"{n_groups} groups of {group_rows} rows cannot hold {n} rows.")
    return 0
