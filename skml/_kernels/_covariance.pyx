# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Column sums and the centred Gram matrix ``(X - m).T @ (X - m)`` of a tall matrix.

Private and dumb: the Python layer (``skml.decomposition._pca``) validates X (C-contiguous
float32/float64) and limits BLAS to one thread around these calls. Each OpenMP thread
takes blocks of rows, subtracts the mean into its own float64 buffer (float32 input is
widened there, so the Gram matrix is always accumulated in double) and adds the block's
Gram matrix into its own accumulator with one ``dsyrk``; the caller sums the per-thread
accumulators. Centring each block exactly, rather than forming ``X.T @ X - n m m.T``,
keeps the small eigenvalues of the covariance accurate.
"""
from cython cimport floating
from cython.parallel cimport prange, parallel, threadid
from libc.stdlib cimport malloc, free
from scipy.linalg.cython_blas cimport dsyrk

cimport numpy as cnp

cnp.import_array()


def column_sums(const floating[:, ::1] X, double[:, ::1] partial, Py_ssize_t chunk,
                int n_threads):
    """partial[t, :] = sum of the rows of X that thread t handled (blocks of ``chunk``)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef Py_ssize_t c, i, f, i1
    cdef int t
    cdef double* acc
    for c in prange(n_chunks, nogil=True, schedule="static", num_threads=n_threads):
        t = threadid()
        acc = &partial[t, 0]
        i1 = (c + 1) * chunk
        if i1 > n:
            i1 = n
        for i in range(c * chunk, i1):
            for f in range(d):
                acc[f] += X[i, f]


def centred_gram(const floating[:, ::1] X, const double[::1] mean, double[:, :, ::1] partial,
                 Py_ssize_t chunk, int n_threads):
    """partial[t] += upper triangle (column-major view) of thread t's share of
    ``(X - mean).T @ (X - mean)``. Only one triangle is written: the caller mirrors it."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef Py_ssize_t c, i, f, i0, i1
    cdef double* buf
    cdef double* acc
    cdef int t, nd = <int> d, k
    cdef char uplo = b'U'
    cdef char trans = b'N'
    cdef double one = 1.0
    with nogil, parallel(num_threads=n_threads):
        buf = <double*> malloc(chunk * d * sizeof(double))
        for c in prange(n_chunks, schedule="static"):
            t = threadid()
            acc = &partial[t, 0, 0]
            i0 = c * chunk
            i1 = i0 + chunk
            if i1 > n:
                i1 = n
            for i in range(i0, i1):
                for f in range(d):
                    buf[(i - i0) * d + f] = <double> X[i, f] - mean[f]
            # Row-major (k x d) block = column-major (d x k) matrix A; C += A @ A.T.
            k = <int> (i1 - i0)
            dsyrk(&uplo, &trans, &nd, &k, &one, buf, &nd, &one, acc, &nd)
        free(buf)
