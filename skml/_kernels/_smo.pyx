# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Support vector machines: kernel evaluation, the SMO solver and dual coordinate descent.

Private and dumb: the Python layer (``skml.svm``) prepares C-contiguous float64 arrays,
kernel codes and thread counts. Each public function still checks, before any C loop runs,
the shapes, indices and codes it will index with (cheap, O(n)), so no input can make it
read or write out of bounds; nothing here writes into its inputs.

``smo_solve`` minimises the general box-constrained quadratic problem that covers both the
C-SVC dual and the epsilon-SVR dual (Chang & Lin's unified form)::

    min_a  1/2 a^T Q a + p^T a    s.t.  y^T a = const,  0 <= a_t <= C_t,
    Q_tu = y_t y_u K(x_s(t), x_s(u)),  y_t in {-1, +1}

by sequential minimal optimisation: each iteration changes two variables, picked by the
second-order working-set selection of Fan, Chen & Lin (2005), and updates the gradient with
two kernel rows. Kernel rows live in a least-recently-used cache of ``cache_mb`` megabytes
(stored as float32, like libsvm). Optional shrinking (Joachims 1998, as refined by libsvm)
drops variables that sit at a bound and are unlikely to move, so most iterations work on a
short prefix of the variables; positions are physically permuted so the active variables
are always ``0 .. active_size - 1``.

The solver runs on one thread, like libsvm: an iteration costs a few microseconds, far too
little to pay for an OpenMP barrier (and on a busy machine a barrier per kernel row is
ruinous). Kernel values are computed in libsvm's order of operations (dot products summed
in feature order, ||x||^2 + ||y||^2 - 2 x.y for rbf, float32 storage), so on the same data
the iterations follow libsvm's step for step. ``kernel_block`` (prediction) is parallel.

``linear_dual_cd`` is the dual coordinate descent of Hsieh et al. (2008) for the linear SVM
with the hinge or squared hinge loss (used by ``LinearSVC``).
"""
from cython cimport floating
from libc.stdint cimport uint64_t
from cython.parallel cimport prange
from libc.math cimport exp, tanh, fabs, INFINITY
from libc.stdlib cimport malloc, free

import numpy as np

cimport numpy as cnp

from skml._kernels._random cimport rand_int

cnp.import_array()

ctypedef cnp.intp_t intp_t

# Kernel codes; Python reads them from KERNEL_CODES (below), never as bare numbers.
cdef enum:
    K_LINEAR = 0
    K_POLY = 1
    K_RBF = 2
    K_SIGMOID = 3
    K_LAPLACE = 4
    K_PRECOMPUTED = 5

KERNEL_CODES = {"linear": K_LINEAR, "poly": K_POLY, "rbf": K_RBF, "sigmoid": K_SIGMOID,
                "laplace": K_LAPLACE, "precomputed": K_PRECOMPUTED}

# What ``smo_solve`` reports in its "status" entry.
cdef enum:
    S_CONVERGED = 0
    S_MAX_ITER = 1

STATUS_CODES = {"converged": S_CONVERGED, "max_iter": S_MAX_ITER}

cdef double TAU = 1e-12


# --------------------------------------------------------------------------------------
# input checks (what every entry point verifies before indexing)
# --------------------------------------------------------------------------------------

def _check_kind(int kind, bint allow_precomputed=True):
    if kind < K_LINEAR or kind > K_PRECOMPUTED or (kind == K_PRECOMPUTED
                                                   and not allow_precomputed):
        raise ValueError(f"unknown kernel code {kind}; the codes are {KERNEL_CODES}.")


def _check_length(arr, Py_ssize_t n, str name):
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries, expected {n}.")


def _check_indices(idx, Py_ssize_t upper, str name):
    """Every entry of the 1-D integer array ``idx`` must lie in [0, upper)."""
    a = np.asarray(idx)
    if a.size and (a.min() < 0 or a.max() >= upper):
        raise ValueError(
            f"{name} must lie in [0, {upper}), got values in [{a.min()}, {a.max()}].")


def _check_finite(value, str name):
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")


def _check_kernel_coefficients(double gamma, double coef0, int degree):
    _check_finite(gamma, "gamma")
    _check_finite(coef0, "coef0")
    if degree < 0:
        raise ValueError(f"degree must be >= 0, got {degree}.")


# --------------------------------------------------------------------------------------
# kernel values
# --------------------------------------------------------------------------------------

cdef inline double _powi(double base, int times) noexcept nogil:
    """base ** times for an integer times >= 0, by repeated squaring."""
    cdef double result = 1.0
    while times > 0:
        if times & 1:
            result *= base
        base *= base
        times >>= 1
    return result


cdef inline double _from_dot(int kind, double dot, double sq_a, double sq_b, double gamma,
                             double coef0, int degree) noexcept nogil:
    """The kernel value of a dot-product kernel given x.y (and ||x||^2, ||y||^2 for rbf)."""
    cdef double d2
    if kind == K_RBF:
        d2 = sq_a + sq_b - 2.0 * dot
        if d2 < 0.0:
            d2 = 0.0
        return exp(-gamma * d2)
    if kind == K_LINEAR:
        return dot
    if kind == K_POLY:
        return _powi(gamma * dot + coef0, degree)
    return tanh(gamma * dot + coef0)


cdef inline double _kernel_pair(int kind, const floating* a, const floating* b,
                                Py_ssize_t d, double gamma, double coef0,
                                int degree) noexcept nogil:
    """K(a, b) straight from the definition, accumulated in double."""
    cdef Py_ssize_t f
    cdef double s = 0.0, t
    if kind == K_RBF:
        for f in range(d):
            t = <double>a[f] - <double>b[f]
            s += t * t
        return exp(-gamma * s)
    if kind == K_LAPLACE:
        for f in range(d):
            s += fabs(<double>a[f] - <double>b[f])
        return exp(-gamma * s)
    for f in range(d):
        s += <double>a[f] * <double>b[f]
    return _from_dot(kind, s, 0.0, 0.0, gamma, coef0, degree)


def kernel_block(const floating[:, ::1] X, const floating[:, ::1] Y, double[:, ::1] out,
                 int kind, double gamma, double coef0, int degree, int n_threads):
    """out[i, j] = K(X[i], Y[j]) for the linear, poly, rbf, sigmoid and laplace kernels.

    Each value comes from its definition (differences for rbf and laplace, no norm
    identity), so it is exact to rounding and the same whatever ``n_threads`` is.
    """
    cdef Py_ssize_t n_x = X.shape[0], n_y = Y.shape[0], d = X.shape[1]
    cdef Py_ssize_t i, j
    _check_kind(kind, allow_precomputed=False)
    _check_kernel_coefficients(gamma, coef0, degree)
    if Y.shape[1] != d:
        raise ValueError(f"X has {d} features but Y has {Y.shape[1]}.")
    if out.shape[0] != n_x or out.shape[1] != n_y:
        raise ValueError(f"out has shape {(out.shape[0], out.shape[1])}, expected "
                         f"{(n_x, n_y)}.")
    if n_threads < 1:
        n_threads = 1
    if n_x == 0 or n_y == 0:
        return
    for i in prange(n_x, nogil=True, schedule="static",
                    num_threads=n_threads if n_x * n_y * (d + 1) > 20000 else 1):
        for j in range(n_y):
            out[i, j] = _kernel_pair(kind, &X[i, 0], &Y[j, 0], d, gamma, coef0, degree)


cdef void _dots_in_order(const double* x, const double* rows, Py_ssize_t n, Py_ssize_t d,
                         double* out) noexcept nogil:
    """out[k] = x . rows[k] (rows: n x d, row-major), each sum taken in feature order."""
    cdef Py_ssize_t k = 0, f
    cdef double s0, s1, s2, s3, xf
    cdef const double* r
    while k + 4 <= n:
        r = rows + k * d
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for f in range(d):
            xf = x[f]
            s0 += xf * r[f]
            s1 += xf * r[d + f]
            s2 += xf * r[2 * d + f]
            s3 += xf * r[3 * d + f]
        out[k] = s0
        out[k + 1] = s1
        out[k + 2] = s2
        out[k + 3] = s3
        k += 4
    while k < n:
        r = rows + k * d
        s0 = 0.0
        for f in range(d):
            s0 += x[f] * r[f]
        out[k] = s0
        k += 1


cdef inline double _csr_dot(const double* ad, const intp_t* ai, Py_ssize_t a0,
                           Py_ssize_t a1, const double* bd, const intp_t* bi,
                           Py_ssize_t b0, Py_ssize_t b1) noexcept nogil:
    """The dot product of two CSR rows with sorted column indices (a merge)."""
    cdef double s = 0.0
    while a0 < a1 and b0 < b1:
        if ai[a0] == bi[b0]:
            s += ad[a0] * bd[b0]
            a0 += 1
            b0 += 1
        elif ai[a0] < bi[b0]:
            a0 += 1
        else:
            b0 += 1
    return s


cdef inline double _csr_kernel(int kind, const double* ad, const intp_t* ai,
                               Py_ssize_t a0, Py_ssize_t a1, const double* bd,
                               const intp_t* bi, Py_ssize_t b0, Py_ssize_t b1,
                               double gamma, double coef0, int degree) noexcept nogil:
    """K(a, b) for two sorted CSR rows: rbf and laplace from the differences over the
    union of their columns (exact, as the dense kernel), the others from the dot."""
    cdef double s = 0.0, t
    if kind != K_RBF and kind != K_LAPLACE:
        return _from_dot(kind, _csr_dot(ad, ai, a0, a1, bd, bi, b0, b1), 0.0, 0.0, gamma,
                         coef0, degree)
    while a0 < a1 or b0 < b1:
        if b0 >= b1 or (a0 < a1 and ai[a0] < bi[b0]):
            t = ad[a0]
            a0 += 1
        elif a0 >= a1 or bi[b0] < ai[a0]:
            t = -bd[b0]
            b0 += 1
        else:
            t = ad[a0] - bd[b0]
            a0 += 1
            b0 += 1
        s += t * t if kind == K_RBF else fabs(t)
    return exp(-gamma * s)


def _check_csr(data, indices, indptr, Py_ssize_t n_features, str name):
    """A CSR triple the kernels can index: lengths, monotone indptr, column range."""
    cdef Py_ssize_t n = indptr.shape[0] - 1
    if n < 0:
        raise ValueError(f"{name}: indptr must have n_rows + 1 entries.")
    _check_length(indices, data.shape[0], f"{name} indices")
    ip = np.asarray(indptr)
    if ip[0] != 0 or ip[n] != data.shape[0] or np.any(np.diff(ip) < 0):
        raise ValueError(f"{name}: indptr must rise from 0 to the number of stored entries.")
    _check_indices(indices, n_features, f"{name} column indices")
    return n


def kernel_block_sparse(const double[::1] xd, const intp_t[::1] xi, const intp_t[::1] xp,
                        const double[::1] yd, const intp_t[::1] yi, const intp_t[::1] yp,
                        Py_ssize_t n_features, double[:, ::1] out, int kind, double gamma,
                        double coef0, int degree, int n_threads):
    """out[i, j] = K(X[i], Y[j]) for CSR ``X`` and ``Y`` (sorted, duplicate-free column
    indices), each value from its definition as :func:`kernel_block`."""
    cdef Py_ssize_t n_x, n_y, i, j
    cdef double[::1] dd = np.zeros(1)
    cdef intp_t[::1] di = np.zeros(1, dtype=np.intp)
    cdef const double* xdp
    cdef const double* ydp
    cdef const intp_t* xip
    cdef const intp_t* yip
    _check_kind(kind, allow_precomputed=False)
    _check_kernel_coefficients(gamma, coef0, degree)
    n_x = _check_csr(xd, xi, xp, n_features, "X")
    n_y = _check_csr(yd, yi, yp, n_features, "Y")
    if out.shape[0] != n_x or out.shape[1] != n_y:
        raise ValueError(f"out has shape {(out.shape[0], out.shape[1])}, expected "
                         f"{(n_x, n_y)}.")
    if n_x == 0 or n_y == 0:
        return
    xdp = &xd[0] if xd.shape[0] else &dd[0]
    ydp = &yd[0] if yd.shape[0] else &dd[0]
    xip = &xi[0] if xi.shape[0] else &di[0]
    yip = &yi[0] if yi.shape[0] else &di[0]
    if n_threads < 1:
        n_threads = 1
    for i in prange(n_x, nogil=True, schedule="static",
                    num_threads=n_threads if n_x * n_y > 20000 else 1):
        for j in range(n_y):
            out[i, j] = _csr_kernel(kind, xdp, xip, xp[i], xp[i + 1], ydp, yip, yp[j],
                                    yp[j + 1], gamma, coef0, degree)


# --------------------------------------------------------------------------------------
# the SMO solver
# --------------------------------------------------------------------------------------

cdef enum:
    LOWER = 0
    UPPER = 1
    FREE = 2


cdef class _Solver:
    """State of one SMO run. Arrays are indexed by *position*; ``orig[t]`` is the variable
    now at position ``t`` (positions get swapped by shrinking)."""

    cdef Py_ssize_t l, d, active_size, n_iter, n_neg_curv
    cdef int kind, degree
    cdef double gamma, coef0, tol
    cdef bint unshrink

    # per position
    cdef double[::1] alpha, G, G_bar, p, y, C, QD, sq
    cdef char[::1] status
    cdef intp_t[::1] orig, sample, pair_a, pair_b
    cdef double[:, ::1] Xw            # working copy of the rows, permuted with positions
    cdef const double[:, ::1] Kpre    # the precomputed kernel matrix (kind == PRECOMPUTED)
    # CSR data (sparse mode): the rows are never copied; rs/re (the start and end of
    # each position's row in Sdata/Sind) are permuted with the positions instead
    cdef bint sparse
    cdef const double[::1] Sdata
    cdef const intp_t[::1] Sind
    cdef intp_t[::1] rs, re

    # kernel-row cache: fixed slots of l floats, least recently used rows evicted first
    cdef float* pool                  # n_slots rows of l floats (malloc: only the
                                      # pages actually written are ever touched)
    cdef intp_t[::1] slot_of, clen, lru_prev, lru_next, free_slots
    cdef Py_ssize_t n_free
    cdef double[::1] scratch

    def __init__(self, X, const intp_t[::1] index,
                 const double[::1] y, const double[::1] p, const double[::1] C,
                 const double[::1] alpha, int kind, double gamma, double coef0, int degree,
                 double tol, double cache_mb):
        """``X``: a C-contiguous float64 array (the data, or the precomputed kernel
        matrix), or a CSR tuple ``(data, indices, indptr, n_features)`` with sorted,
        duplicate-free column indices."""
        cdef Py_ssize_t l = index.shape[0], t, f, n_slots, k
        self.l = l
        self.kind = kind
        self.gamma = gamma
        self.coef0 = coef0
        self.degree = degree
        self.tol = tol
        self.alpha = np.array(alpha, dtype=np.float64)
        self.y = np.array(y, dtype=np.float64)
        self.p = np.array(p, dtype=np.float64)
        self.C = np.array(C, dtype=np.float64)
        self.G = np.zeros(l)
        self.G_bar = np.zeros(l)
        self.QD = np.zeros(l)
        self.sq = np.zeros(l)
        self.status = np.zeros(l, dtype=np.int8)
        self.orig = np.arange(l, dtype=np.intp)
        self.sample = np.array(index, dtype=np.intp)
        self.pair_a = np.zeros(max(l, 1), dtype=np.intp)
        self.pair_b = np.zeros(max(l, 1), dtype=np.intp)
        self.scratch = np.zeros(l)
        self.sparse = isinstance(X, tuple)
        self.rs = np.zeros(1, dtype=np.intp)
        self.re = np.zeros(1, dtype=np.intp)
        if self.sparse:
            data, indices, indptr, n_features = X
            self.Sdata = data if len(data) else np.zeros(1)
            self.Sind = indices if len(indices) else np.zeros(1, dtype=np.intp)
            self.d = n_features
            self.Xw = np.zeros((1, 1))
            idx = np.asarray(index)
            self.rs = np.ascontiguousarray(np.asarray(indptr)[idx], dtype=np.intp)
            self.re = np.ascontiguousarray(np.asarray(indptr)[idx + 1], dtype=np.intp)
            for t in range(l):
                for k in range(self.rs[t], self.re[t]):
                    self.sq[t] += self.Sdata[k] * self.Sdata[k]
        elif kind == K_PRECOMPUTED:
            self.Kpre = X
            self.d = 0
            self.Xw = np.zeros((1, 1))
        else:
            self.d = X.shape[1]
            self.Xw = np.ascontiguousarray(np.asarray(X)[np.asarray(index)])
            for t in range(l):
                for f in range(self.d):
                    self.sq[t] += self.Xw[t, f] * self.Xw[t, f]
        for t in range(l):
            self.QD[t] = self._kernel(t, t)
        # in double first: a huge cache_mb must not overflow the integer conversion
        n_slots = <Py_ssize_t>min(<double>l, cache_mb * 1048576.0 / (4.0 * max(l, 1)))
        n_slots = max(2, min(l, n_slots))
        self.pool = <float*>malloc(n_slots * max(l, 1) * sizeof(float))
        if self.pool == NULL:
            raise MemoryError(f"cannot allocate a kernel cache of {n_slots} rows of {l}")
        self.slot_of = np.full(l, -1, dtype=np.intp)
        self.clen = np.zeros(l, dtype=np.intp)
        self.lru_prev = np.full(l + 1, l, dtype=np.intp)
        self.lru_next = np.full(l + 1, l, dtype=np.intp)
        self.free_slots = np.arange(n_slots - 1, -1, -1, dtype=np.intp)
        self.n_free = n_slots
        self.n_neg_curv = 0

    def __cinit__(self, *args, **kwargs):
        self.pool = NULL

    def __dealloc__(self):
        free(self.pool)

    # ---- kernel rows ------------------------------------------------------------------

    cdef inline double _sparse_dot(self, Py_ssize_t t, Py_ssize_t u) noexcept nogil:
        """x_t . x_u by merging the two sorted rows."""
        return _csr_dot(&self.Sdata[0], &self.Sind[0], self.rs[t], self.re[t],
                        &self.Sdata[0], &self.Sind[0], self.rs[u], self.re[u])

    cdef inline double _kernel(self, Py_ssize_t t, Py_ssize_t u) noexcept nogil:
        if self.kind == K_PRECOMPUTED:
            return self.Kpre[self.sample[t], self.sample[u]]
        if self.sparse:
            return _csr_kernel(self.kind, &self.Sdata[0], &self.Sind[0], self.rs[t],
                               self.re[t], &self.Sdata[0], &self.Sind[0], self.rs[u],
                               self.re[u], self.gamma, self.coef0, self.degree)
        return _kernel_pair(self.kind, &self.Xw[t, 0], &self.Xw[u, 0], self.d,
                            self.gamma, self.coef0, self.degree)

    cdef void _fill_range(self, Py_ssize_t t, Py_ssize_t u0, Py_ssize_t u1,
                          float* row) noexcept nogil:
        """row[u] = Q_tu for u in [u0, u1)."""
        cdef Py_ssize_t u
        cdef double yt = self.y[t], sq_t = self.sq[t]
        cdef double* dots
        if u1 <= u0:
            return
        if self.sparse and self.kind != K_LAPLACE:
            # libsvm's sparse arithmetic: the merged dot product, ||x||^2 + ||y||^2 - 2 x.y
            for u in range(u0, u1):
                row[u] = <float>(yt * self.y[u] * _from_dot(
                    self.kind, self._sparse_dot(t, u), sq_t, self.sq[u], self.gamma,
                    self.coef0, self.degree))
            return
        if self.kind == K_PRECOMPUTED or self.kind == K_LAPLACE or self.d == 0 \
                or self.sparse:
            for u in range(u0, u1):
                row[u] = <float>(yt * self.y[u] * self._kernel(t, u))
            return
        # dot products of row t with rows u0..u1-1, four rows at a time: four independent
        # sums keep the FPU busy, and each sum runs over the features in order, so the
        # values are bit-for-bit those of a plain loop (libsvm's arithmetic)
        dots = &self.scratch[u0]
        _dots_in_order(&self.Xw[t, 0], &self.Xw[u0, 0], u1 - u0, self.d, dots)
        for u in range(u0, u1):
            row[u] = <float>(yt * self.y[u] * _from_dot(
                self.kind, dots[u - u0], sq_t, self.sq[u], self.gamma, self.coef0,
                self.degree))

    cdef inline void _lru_unlink(self, Py_ssize_t t) noexcept nogil:
        self.lru_next[self.lru_prev[t]] = self.lru_next[t]
        self.lru_prev[self.lru_next[t]] = self.lru_prev[t]

    cdef inline void _lru_append(self, Py_ssize_t t) noexcept nogil:
        cdef Py_ssize_t head = self.l
        self.lru_next[t] = head
        self.lru_prev[t] = self.lru_prev[head]
        self.lru_next[self.lru_prev[head]] = t
        self.lru_prev[head] = t

    cdef float* _row(self, Py_ssize_t t, Py_ssize_t length) noexcept nogil:
        """Q_t[0:length], from the cache or computed (only the missing tail)."""
        cdef Py_ssize_t s = self.slot_of[t], victim, have
        cdef float* row
        if s >= 0:
            self._lru_unlink(t)
            have = self.clen[t]
        else:
            if self.n_free > 0:
                self.n_free -= 1
                s = self.free_slots[self.n_free]
            else:
                victim = self.lru_next[self.l]
                self._lru_unlink(victim)
                s = self.slot_of[victim]
                self.slot_of[victim] = -1
                self.clen[victim] = 0
            self.slot_of[t] = s
            have = 0
        self._lru_append(t)
        row = self.pool + s * self.l
        if have < length:
            self._fill_range(t, have, length, row)
            self.clen[t] = length
        return row

    # ---- bookkeeping ------------------------------------------------------------------

    cdef inline void _update_status(self, Py_ssize_t t) noexcept nogil:
        if self.alpha[t] >= self.C[t]:
            self.status[t] = UPPER
        elif self.alpha[t] <= 0.0:
            self.status[t] = LOWER
        else:
            self.status[t] = FREE

    cdef void _swap_positions(self, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
        """Exchange positions i and j in every per-position array and in the ownership
        of cached rows. The entries i, j inside the cached rows are exchanged separately
        (``_swap_cached_entries``), once for a whole batch of exchanges."""
        cdef Py_ssize_t f, ti
        cdef double td
        cdef char tc
        td = self.alpha[i]; self.alpha[i] = self.alpha[j]; self.alpha[j] = td
        td = self.G[i]; self.G[i] = self.G[j]; self.G[j] = td
        td = self.G_bar[i]; self.G_bar[i] = self.G_bar[j]; self.G_bar[j] = td
        td = self.p[i]; self.p[i] = self.p[j]; self.p[j] = td
        td = self.y[i]; self.y[i] = self.y[j]; self.y[j] = td
        td = self.C[i]; self.C[i] = self.C[j]; self.C[j] = td
        td = self.QD[i]; self.QD[i] = self.QD[j]; self.QD[j] = td
        td = self.sq[i]; self.sq[i] = self.sq[j]; self.sq[j] = td
        tc = self.status[i]; self.status[i] = self.status[j]; self.status[j] = tc
        ti = self.orig[i]; self.orig[i] = self.orig[j]; self.orig[j] = ti
        ti = self.sample[i]; self.sample[i] = self.sample[j]; self.sample[j] = ti
        if self.sparse:
            ti = self.rs[i]; self.rs[i] = self.rs[j]; self.rs[j] = ti
            ti = self.re[i]; self.re[i] = self.re[j]; self.re[j] = ti
        else:
            for f in range(self.d):
                td = self.Xw[i, f]; self.Xw[i, f] = self.Xw[j, f]; self.Xw[j, f] = td
        # the rows of i and j change owners
        if self.slot_of[i] >= 0:
            self._lru_unlink(i)
        if self.slot_of[j] >= 0:
            self._lru_unlink(j)
        ti = self.slot_of[i]; self.slot_of[i] = self.slot_of[j]; self.slot_of[j] = ti
        ti = self.clen[i]; self.clen[i] = self.clen[j]; self.clen[j] = ti
        if self.slot_of[i] >= 0:
            self._lru_append(i)
        if self.slot_of[j] >= 0:
            self._lru_append(j)

    cdef void _swap_cached_entries(self, Py_ssize_t n_pairs) noexcept nogil:
        """Apply the disjoint exchanges (pair_a[k], pair_b[k]), pair_a[k] < pair_b[k],
        to the entries of every cached row, one sweep per row. A row valid up to a
        length c with pair_a[k] < c <= pair_b[k] for some k keeps only its prefix
        before the smallest such pair_a[k]."""
        cdef Py_ssize_t h, k, a, b, c, keep, lowest = self.l
        cdef float tf
        cdef float* row
        for k in range(n_pairs):
            if self.pair_a[k] < lowest:
                lowest = self.pair_a[k]
        h = self.lru_next[self.l]
        while h != self.l:
            c = self.clen[h]
            if c > lowest:
                row = self.pool + self.slot_of[h] * self.l
                keep = c
                for k in range(n_pairs):
                    a = self.pair_a[k]
                    b = self.pair_b[k]
                    if b < c:
                        tf = row[a]; row[a] = row[b]; row[b] = tf
                    elif a < c and a < keep:
                        keep = a
                self.clen[h] = keep
            h = self.lru_next[h]

    cdef void _swap(self, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
        """Exchange positions i and j everywhere, the cached rows included."""
        if i == j:
            return
        if i > j:
            i, j = j, i
        self._swap_positions(i, j)
        self.pair_a[0] = i
        self.pair_b[0] = j
        self._swap_cached_entries(1)

    # ---- the algorithm ----------------------------------------------------------------

    cdef int _select(self, Py_ssize_t* out_i, Py_ssize_t* out_j) noexcept nogil:
        """Second-order working-set selection (WSS 3 of Fan, Chen & Lin 2005).

        i maximises -y_t G_t over I_up; j minimises the second-order decrease
        -(b_ij^2) / a_ij over the t in I_low with -y_t G_t < -y_i G_i.
        Returns 1 when the maximal violation m - M is below tol (optimal)."""
        cdef Py_ssize_t t, i = -1, j = -1, n = self.active_size
        cdef double Gmax = -INFINITY, Gmax2 = -INFINITY, best = INFINITY
        cdef double g, diff, quad, obj, QDi = 0.0
        cdef float* Qi = NULL
        for t in range(n):
            if self.y[t] > 0:
                if self.status[t] != UPPER and -self.G[t] >= Gmax:
                    Gmax = -self.G[t]
                    i = t
            else:
                if self.status[t] != LOWER and self.G[t] >= Gmax:
                    Gmax = self.G[t]
                    i = t
        if i != -1:
            Qi = self._row(i, n)
            QDi = self.QD[i]
        for t in range(n):
            if self.y[t] > 0:
                if self.status[t] != LOWER:
                    g = self.G[t]
                    if g >= Gmax2:
                        Gmax2 = g
                    diff = Gmax + g
                    if diff > 0.0:
                        quad = QDi + self.QD[t] - 2.0 * self.y[i] * Qi[t]
                        if quad <= 0.0:
                            quad = TAU
                        obj = -(diff * diff) / quad
                        if obj <= best:
                            best = obj
                            j = t
            else:
                if self.status[t] != UPPER:
                    g = -self.G[t]
                    if g >= Gmax2:
                        Gmax2 = g
                    diff = Gmax + g
                    if diff > 0.0:
                        quad = QDi + self.QD[t] + 2.0 * self.y[i] * Qi[t]
                        if quad <= 0.0:
                            quad = TAU
                        obj = -(diff * diff) / quad
                        if obj <= best:
                            best = obj
                            j = t
        if Gmax + Gmax2 < self.tol or j == -1:
            return 1
        out_i[0] = i
        out_j[0] = j
        return 0

    cdef void _take_step(self, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
        """Solve the two-variable subproblem in (i, j) exactly, then update G and G_bar."""
        cdef Py_ssize_t n = self.active_size, k, l = self.l
        cdef float* Qi = self._row(i, n)
        cdef float* Qj = self._row(j, n)
        cdef double Ci = self.C[i], Cj = self.C[j]
        cdef double ai = self.alpha[i], aj = self.alpha[j]
        cdef double old_ai = ai, old_aj = aj
        cdef double quad, delta, diff, total, dai, daj
        cdef bint was_upper_i = self.status[i] == UPPER, was_upper_j = self.status[j] == UPPER
        if self.y[i] != self.y[j]:
            # a_i - a_j is fixed: move both by delta along (+1, +1)
            quad = self.QD[i] + self.QD[j] + 2.0 * Qi[j]
            if quad < -1e-10 * (self.QD[i] + self.QD[j] + 1.0):
                self.n_neg_curv += 1
            if quad <= 0.0:
                quad = TAU
            delta = (-self.G[i] - self.G[j]) / quad
            diff = ai - aj
            ai += delta
            aj += delta
            # project back onto the segment a_i - a_j = diff inside the box: its lower
            # end is (diff, 0) or (0, -diff), its upper end (C_i, C_i - diff) or
            # (C_j + diff, C_j)
            if diff > 0.0:
                if aj < 0.0:
                    aj = 0.0
                    ai = diff
            elif ai < 0.0:
                ai = 0.0
                aj = -diff
            if diff > Ci - Cj:
                if ai > Ci:
                    ai = Ci
                    aj = Ci - diff
            elif aj > Cj:
                aj = Cj
                ai = Cj + diff
        else:
            # a_i + a_j is fixed: move along (-1, +1)
            quad = self.QD[i] + self.QD[j] - 2.0 * Qi[j]
            if quad < -1e-10 * (self.QD[i] + self.QD[j] + 1.0):
                self.n_neg_curv += 1
            if quad <= 0.0:
                quad = TAU
            delta = (self.G[i] - self.G[j]) / quad
            total = ai + aj
            ai -= delta
            aj += delta
            # project back onto a_i + a_j = total inside the box
            if total > Ci:
                if ai > Ci:
                    ai = Ci
                    aj = total - Ci
            elif aj < 0.0:
                aj = 0.0
                ai = total
            if total > Cj:
                if aj > Cj:
                    aj = Cj
                    ai = total - Cj
            elif ai < 0.0:
                ai = 0.0
                aj = total
        # rounding guard: never leave the box
        if ai < 0.0:
            ai = 0.0
        elif ai > Ci:
            ai = Ci
        if aj < 0.0:
            aj = 0.0
        elif aj > Cj:
            aj = Cj
        self.alpha[i] = ai
        self.alpha[j] = aj
        dai = ai - old_ai
        daj = aj - old_aj
        for k in range(n):
            self.G[k] += Qi[k] * dai + Qj[k] * daj
        self._update_status(i)
        self._update_status(j)
        # G_bar_t = sum over upper-bound u of C_u Q_tu, kept for all l positions
        if was_upper_i != (self.status[i] == UPPER):
            Qi = self._row(i, l)
            delta = Ci if self.status[i] == UPPER else -Ci
            for k in range(l):
                self.G_bar[k] += delta * Qi[k]
        if was_upper_j != (self.status[j] == UPPER):
            Qj = self._row(j, l)
            delta = Cj if self.status[j] == UPPER else -Cj
            for k in range(l):
                self.G_bar[k] += delta * Qj[k]

    cdef void _reconstruct_gradient(self) noexcept nogil:
        """Recompute G for the shrunk positions from G_bar and the free variables."""
        cdef Py_ssize_t t, u, n = self.active_size, l = self.l, n_free = 0
        cdef float* row
        cdef double a, s
        if n == l:
            return
        for t in range(n, l):
            self.G[t] = self.G_bar[t] + self.p[t]
        for u in range(n):
            if self.status[u] == FREE:
                n_free += 1
        if n_free * l > 2 * n * (l - n):
            for t in range(n, l):
                row = self._row(t, n)
                s = 0.0
                for u in range(n):
                    if self.status[u] == FREE:
                        s += self.alpha[u] * row[u]
                self.G[t] += s
        else:
            for u in range(n):
                if self.status[u] == FREE:
                    row = self._row(u, l)
                    a = self.alpha[u]
                    for t in range(n, l):
                        self.G[t] += a * row[t]

    cdef inline bint _shrinkable(self, Py_ssize_t t, double Gmax1, double Gmax2) noexcept nogil:
        if self.status[t] == UPPER:
            if self.y[t] > 0:
                return -self.G[t] > Gmax1
            return -self.G[t] > Gmax2
        if self.status[t] == LOWER:
            if self.y[t] > 0:
                return self.G[t] > Gmax2
            return self.G[t] > Gmax1
        return False

    cdef void _shrink(self) noexcept nogil:
        cdef Py_ssize_t t, n_pairs
        cdef double Gmax1 = -INFINITY, Gmax2 = -INFINITY   # m(a) and -M(a)
        for t in range(self.active_size):
            if self.y[t] > 0:
                if self.status[t] != UPPER and -self.G[t] >= Gmax1:
                    Gmax1 = -self.G[t]
                if self.status[t] != LOWER and self.G[t] >= Gmax2:
                    Gmax2 = self.G[t]
            else:
                if self.status[t] != UPPER and -self.G[t] >= Gmax2:
                    Gmax2 = -self.G[t]
                if self.status[t] != LOWER and self.G[t] >= Gmax1:
                    Gmax1 = self.G[t]
        if not self.unshrink and Gmax1 + Gmax2 <= self.tol * 10.0:
            # close to the end: bring everything back once, so that variables shrunk on
            # a stale guess get a chance to move
            self.unshrink = True
            self._reconstruct_gradient()
            self.active_size = self.l
        # move the shrinkable variables behind the active ones; the exchanges are
        # disjoint, so the cached rows are fixed in one sweep at the end
        n_pairs = 0
        t = 0
        while t < self.active_size:
            if self._shrinkable(t, Gmax1, Gmax2):
                self.active_size -= 1
                while self.active_size > t:
                    if not self._shrinkable(self.active_size, Gmax1, Gmax2):
                        self._swap_positions(t, self.active_size)
                        self.pair_a[n_pairs] = t
                        self.pair_b[n_pairs] = self.active_size
                        n_pairs += 1
                        break
                    self.active_size -= 1
            t += 1
        if n_pairs > 0:
            self._swap_cached_entries(n_pairs)

    cdef double _rho(self) noexcept nogil:
        """The offset: the mean of y_t G_t over free variables, or the midpoint of the
        interval the KKT conditions leave when no variable is free."""
        cdef Py_ssize_t t, n_free = 0
        cdef double ub = INFINITY, lb = -INFINITY, total = 0.0, yG
        for t in range(self.active_size):
            yG = self.y[t] * self.G[t]
            if self.status[t] == UPPER:
                if self.y[t] < 0:
                    ub = min(ub, yG)
                else:
                    lb = max(lb, yG)
            elif self.status[t] == LOWER:
                if self.y[t] > 0:
                    ub = min(ub, yG)
                else:
                    lb = max(lb, yG)
            else:
                n_free += 1
                total += yG
        if n_free > 0:
            return total / n_free
        return (ub + lb) / 2.0

    cdef int _run(self, bint shrinking, Py_ssize_t max_iter) noexcept nogil:
        cdef Py_ssize_t t, u, l = self.l, i = 0, j = 0, counter
        cdef float* row
        cdef double a
        cdef int status = S_CONVERGED
        self.active_size = l
        self.unshrink = False
        for t in range(l):
            self._update_status(t)
            self.G[t] = self.p[t]
            self.G_bar[t] = 0.0
        for t in range(l):
            if self.status[t] != LOWER:
                row = self._row(t, l)
                a = self.alpha[t]
                for u in range(l):
                    self.G[u] += a * row[u]
                if self.status[t] == UPPER:
                    for u in range(l):
                        self.G_bar[u] += self.C[t] * row[u]
        self.n_iter = 0
        counter = min(l, 1000) + 1
        while True:
            if self.n_iter >= max_iter:
                status = S_MAX_ITER
                break
            counter -= 1
            if counter == 0:
                counter = min(l, 1000)
                if shrinking:
                    self._shrink()
            if self._select(&i, &j) != 0:
                # optimal on the active set: check again on all variables
                self._reconstruct_gradient()
                self.active_size = l
                if self._select(&i, &j) != 0:
                    break
                counter = 1   # shrink again at the next iteration
            self.n_iter += 1
            self._take_step(i, j)
        if self.active_size < l:
            self._reconstruct_gradient()
            self.active_size = l
        return status

    def solve(self, bint shrinking, Py_ssize_t max_iter):
        cdef int status
        cdef double rho, obj = 0.0
        cdef Py_ssize_t t
        with nogil:
            status = self._run(shrinking, max_iter)
            rho = self._rho()
            for t in range(self.l):
                obj += self.alpha[t] * (self.G[t] + self.p[t])
        alpha = np.empty(self.l)
        grad = np.empty(self.l)
        order = np.asarray(self.orig)
        alpha[order] = np.asarray(self.alpha)
        grad[order] = np.asarray(self.G)
        return {"alpha": alpha, "gradient": grad, "rho": rho, "objective": obj / 2.0,
                "n_iter": int(self.n_iter), "status": status,
                "n_negative_curvature": int(self.n_neg_curv)}


def _check_solver_input(X, index, y, p, C, alpha, int kind, double gamma, double coef0,
                        int degree, double tol, double cache_mb):
    """What ``_Solver`` indexes with: lengths, sample indices, labels, bounds, codes."""
    cdef Py_ssize_t l = index.shape[0], n_rows
    _check_kind(kind)
    _check_kernel_coefficients(gamma, coef0, degree)
    for arr, name in ((y, "y"), (p, "p"), (C, "C"), (alpha, "alpha")):
        _check_length(arr, l, name)
    if isinstance(X, tuple):
        if kind == K_PRECOMPUTED:
            raise ValueError("a precomputed kernel matrix must be dense.")
        data, indices, indptr, n_features = X
        n_rows = _check_csr(data, indices, indptr, n_features, "X")
    else:
        if kind == K_PRECOMPUTED and X.shape[0] != X.shape[1]:
            raise ValueError(f"a precomputed kernel matrix must be square, got "
                             f"{X.shape[0]}x{X.shape[1]}.")
        n_rows = X.shape[0]
    _check_indices(index, n_rows, "index")
    y_a, p_a, C_a, a_a = (np.asarray(v) for v in (y, p, C, alpha))
    if l and not np.all(np.abs(y_a) == 1.0):
        raise ValueError("y must contain only -1 and +1.")
    if not (np.all(np.isfinite(p_a)) and np.all(C_a >= 0)):   # (C = inf: hard margin)
        raise ValueError("p must be finite and C >= 0 (not NaN).")
    if not np.all((a_a >= 0) & (a_a <= C_a)):
        raise ValueError("the starting alpha must satisfy 0 <= alpha <= C.")
    if not (tol > 0 and np.isfinite(tol)):
        raise ValueError(f"tol must be finite and > 0, got {tol}.")
    if not (cache_mb > 0 and np.isfinite(cache_mb)):
        raise ValueError(f"cache_mb must be finite and > 0, got {cache_mb}.")


def q_rows(X, const intp_t[::1] index, const double[::1] y,
           const intp_t[::1] positions, Py_ssize_t length, int kind, double gamma,
           double coef0, int degree, double cache_mb, const intp_t[::1] swaps,
           bint batched=False):
    """Rows ``Q[t, :length]`` of the solver for each t in ``positions``, read through its
    cache, after exchanging the position pairs ``swaps`` (flattened pairs) — a window on
    the row computation for the tests. Rows are float32, indexed by original variable.
    ``batched``: the pairs are disjoint and the cached rows are fixed in one sweep, as
    shrinking does."""
    cdef Py_ssize_t k, u, l = index.shape[0], n_pairs = 0, a, b
    cdef float* row
    cdef _Solver solver
    _check_solver_input(X, index, y, np.zeros(l), np.ones(l), np.zeros(l), kind, gamma,
                        coef0, degree, 1.0, cache_mb)
    _check_indices(positions, l, "positions")
    _check_indices(swaps, l, "swaps")
    if swaps.shape[0] % 2:
        raise ValueError("swaps must hold pairs (an even number of positions).")
    if length < 0 or length > l:
        raise ValueError(f"length must lie in [0, {l}], got {length}.")
    if batched:
        pairs = np.sort(np.asarray(swaps).reshape(-1, 2), axis=1)
        if np.unique(pairs).size != pairs.size or np.any(pairs[:, 0] == pairs[:, 1]):
            raise ValueError("batched swaps must be disjoint pairs of distinct positions.")
    if l == 0:
        return np.zeros((positions.shape[0], 0), dtype=np.float32)
    solver = _Solver(X, index, y, np.zeros(l), np.ones(l), np.zeros(l), kind,
                     gamma, coef0, degree, 1.0, cache_mb)
    out = np.zeros((positions.shape[0], l), dtype=np.float32)
    cdef float[:, ::1] out_view = out
    for k in range(positions.shape[0]):    # fill the cache before the swaps
        solver._row(positions[k], length)
    for k in range(0, swaps.shape[0] - 1, 2):
        if not batched:
            solver._swap(swaps[k], swaps[k + 1])
            continue
        a, b = min(swaps[k], swaps[k + 1]), max(swaps[k], swaps[k + 1])
        solver._swap_positions(a, b)
        solver.pair_a[n_pairs] = a
        solver.pair_b[n_pairs] = b
        n_pairs += 1
    if n_pairs:
        solver._swap_cached_entries(n_pairs)
    where = np.empty(l, dtype=np.intp)
    where[np.asarray(solver.orig)] = np.arange(l)    # position of each original variable
    for k in range(positions.shape[0]):
        row = solver._row(where[positions[k]], length)
        for u in range(length):
            out_view[k, solver.orig[u]] = row[u]
    return out


def smo_solve(X, const intp_t[::1] index, const double[::1] y,
              const double[::1] p, const double[::1] C, const double[::1] alpha, int kind,
              double gamma, double coef0, int degree, double tol, bint shrinking,
              Py_ssize_t max_iter, double cache_mb):
    """Solve min 1/2 a^T Q a + p^T a, y^T a = y^T alpha, 0 <= a <= C, by SMO.

    ``index[t]`` is the sample of variable ``t``: a row of ``X`` (the data, a C-ordered
    float64 array or a CSR tuple ``(data, indices, indptr, n_features)`` with intp
    indices sorted within each row), or for ``kind == PRECOMPUTED`` a row and column of
    the square kernel matrix ``X``. ``alpha``
    is the (feasible) starting point. Returns a dict with the solution ``alpha``, the
    gradient ``Q alpha + p``, ``rho`` (the decision function is
    ``sum_t y_t alpha_t K(x_t, x) - rho``), the objective, the iteration count, ``status``
    (0 converged, 1 stopped at ``max_iter``) and how many steps met negative curvature (a
    kernel that is not positive semi-definite).
    """
    _check_solver_input(X, index, y, p, C, alpha, kind, gamma, coef0, degree, tol,
                        cache_mb)
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}.")
    if index.shape[0] == 0:
        return {"alpha": np.zeros(0), "gradient": np.zeros(0), "rho": 0.0,
                "objective": 0.0, "n_iter": 0, "status": S_CONVERGED,
                "n_negative_curvature": 0}
    solver = _Solver(X, index, y, p, C, alpha, kind, gamma, coef0, degree, tol, cache_mb)
    return solver.solve(shrinking, max_iter)


# --------------------------------------------------------------------------------------
# LinearSVC: dual coordinate descent (Hsieh, Chang, Lin, Keerthi & Sundararajan 2008)
# --------------------------------------------------------------------------------------

cdef struct _Rows:
    # the rows x_i of LinearSVC's design, with an optional constant feature `bias` (the
    # intercept's, weight w[d]) appended implicitly: dense (X, d) or CSR (data, indices,
    # indptr)
    const double* X
    const double* data
    const intp_t* indices
    const intp_t* indptr
    Py_ssize_t d
    double bias


cdef inline double _row_dot(_Rows* R, Py_ssize_t i, const double* w) noexcept nogil:
    cdef Py_ssize_t f, k
    cdef double s = 0.0
    cdef const double* x
    if R.X != NULL:
        x = R.X + i * R.d
        for f in range(R.d):
            s += w[f] * x[f]
    else:
        for k in range(R.indptr[i], R.indptr[i + 1]):
            s += w[R.indices[k]] * R.data[k]
    if R.bias != 0.0:
        s += w[R.d] * R.bias
    return s


cdef inline void _row_axpy(_Rows* R, Py_ssize_t i, double a, double* w) noexcept nogil:
    cdef Py_ssize_t f, k
    cdef const double* x
    if R.X != NULL:
        x = R.X + i * R.d
        for f in range(R.d):
            w[f] += a * x[f]
    else:
        for k in range(R.indptr[i], R.indptr[i + 1]):
            w[R.indices[k]] += a * R.data[k]
    if R.bias != 0.0:
        w[R.d] += a * R.bias


cdef inline double _row_sq(_Rows* R, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t f, k
    cdef double s = R.bias * R.bias
    cdef const double* x
    if R.X != NULL:
        x = R.X + i * R.d
        for f in range(R.d):
            s += x[f] * x[f]
    else:
        for k in range(R.indptr[i], R.indptr[i + 1]):
            s += R.data[k] * R.data[k]
    return s


def linear_dual_cd(const double[:, ::1] X, const double[::1] y, const double[::1] C,
                   double[::1] w, double[::1] alpha, bint squared_hinge, double tol,
                   Py_ssize_t max_iter, unsigned long long seed, double bias=0.0):
    """Dual coordinate descent for min_w 1/2 ||w||^2 + sum_i C_i loss(y_i w.x_i).

    The dual is min_a 1/2 a^T (Qbar) a - e^T a with 0 <= a_i <= U_i, Qbar = Q + D:
    hinge loss U_i = C_i, D_ii = 0; squared hinge U_i = inf, D_ii = 1/(2 C_i). Each step
    minimises exactly over one a_i and keeps w = sum_i a_i y_i x_i. Variables at a bound
    whose projected gradient points outwards are shrunk; the run stops when the spread of
    the projected gradient over all variables is at most ``tol``. Samples with C_i = 0
    are left out. With ``bias != 0`` each row has a constant feature ``bias`` appended
    (``w`` then has ``n_features + 1`` entries, the last the intercept's weight).
    Returns (epochs, converged).
    """
    cdef _Rows R
    cdef double[::1] dummy = np.zeros(1)
    R.X = &X[0, 0] if X.shape[0] * X.shape[1] else &dummy[0]
    R.data = NULL
    R.indices = NULL
    R.indptr = NULL
    R.d = X.shape[1]
    R.bias = bias
    return _dual_cd(&R, X.shape[0], y, C, w, alpha, squared_hinge, tol, max_iter, seed)


def linear_dual_cd_sparse(const double[::1] data, const intp_t[::1] indices,
                          const intp_t[::1] indptr, Py_ssize_t n_features,
                          const double[::1] y, const double[::1] C, double[::1] w,
                          double[::1] alpha, bint squared_hinge, double tol,
                          Py_ssize_t max_iter, unsigned long long seed, double bias=0.0):
    """:func:`linear_dual_cd` on CSR rows (``data``, column ``indices``, ``indptr``):
    each step reads and updates only the stored entries of its row."""
    cdef Py_ssize_t n = indptr.shape[0] - 1
    if n < 0:
        raise ValueError("indptr must have n_samples + 1 entries.")
    _check_length(indices, data.shape[0], "indices")
    ip = np.asarray(indptr)
    if ip[0] != 0 or ip[n] != data.shape[0] or np.any(np.diff(ip) < 0):
        raise ValueError("indptr must rise from 0 to the number of stored entries.")
    _check_indices(indices, n_features, "indices")
    cdef _Rows R
    cdef double[::1] dummy = np.zeros(1)
    cdef intp_t[::1] idummy = np.zeros(1, dtype=np.intp)
    R.X = NULL
    R.data = &data[0] if data.shape[0] else &dummy[0]
    R.indices = &indices[0] if indices.shape[0] else &idummy[0]
    R.indptr = &indptr[0]
    R.d = n_features
    R.bias = bias
    return _dual_cd(&R, n, y, C, w, alpha, squared_hinge, tol, max_iter, seed)


cdef _dual_cd(_Rows* R, Py_ssize_t n, const double[::1] y, const double[::1] C,
              double[::1] w, double[::1] alpha, bint squared_hinge, double tol,
              Py_ssize_t max_iter, unsigned long long seed):
    cdef Py_ssize_t i, s, k, active, n_in, epoch = 0
    cdef intp_t[::1] order = np.empty(max(n, 1), dtype=np.intp)
    cdef double[::1] QD = np.zeros(max(n, 1))
    cdef double[::1] U = np.zeros(max(n, 1))
    cdef double[::1] Dii = np.zeros(max(n, 1))
    cdef double G, PG, PGmax_old = INFINITY, PGmin_old = -INFINITY
    cdef double PGmax_new, PGmin_new, a_old, step, dot
    cdef uint64_t state = seed
    cdef bint converged = False
    cdef intp_t tmp
    cdef double* wp
    for arr, name in ((y, "y"), (C, "C"), (alpha, "alpha")):
        _check_length(arr, n, name)
    _check_length(w, R.d + (1 if R.bias != 0.0 else 0), "w")
    if np.any(np.isnan(np.asarray(C))) or np.any(np.asarray(C) < 0):
        raise ValueError("C must be >= 0 (and not NaN).")
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}.")
    if w.shape[0] == 0 or n == 0:
        return 0, True
    wp = &w[0]
    with nogil:
        n_in = 0
        for i in range(n):
            if C[i] <= 0.0:
                alpha[i] = 0.0
                continue
            order[n_in] = i
            n_in += 1
            if squared_hinge:
                U[i] = INFINITY
                Dii[i] = 0.5 / C[i]
            else:
                U[i] = C[i]
                Dii[i] = 0.0
            QD[i] = Dii[i] + _row_sq(R, i)
        active = n_in
        while epoch < max_iter:
            epoch += 1
            PGmax_new = -INFINITY
            PGmin_new = INFINITY
            for s in range(active - 1, 0, -1):       # Fisher-Yates on the active prefix
                k = rand_int(&state, s + 1)
                tmp = order[s]; order[s] = order[k]; order[k] = tmp
            s = 0
            while s < active:
                i = order[s]
                dot = _row_dot(R, i, wp)
                G = y[i] * dot - 1.0 + Dii[i] * alpha[i]
                PG = 0.0
                if alpha[i] == 0.0:
                    if G > PGmax_old:
                        active -= 1
                        tmp = order[s]; order[s] = order[active]; order[active] = tmp
                        continue
                    elif G < 0.0:
                        PG = G
                elif alpha[i] == U[i]:
                    if G < PGmin_old:
                        active -= 1
                        tmp = order[s]; order[s] = order[active]; order[active] = tmp
                        continue
                    elif G > 0.0:
                        PG = G
                else:
                    PG = G
                if PG > PGmax_new:
                    PGmax_new = PG
                if PG < PGmin_new:
                    PGmin_new = PG
                if fabs(PG) > 1e-12:
                    a_old = alpha[i]
                    if QD[i] > 0.0:
                        alpha[i] = a_old - G / QD[i]
                    else:
                        alpha[i] = U[i] if G < 0.0 else a_old
                    if alpha[i] < 0.0:
                        alpha[i] = 0.0
                    elif alpha[i] > U[i]:
                        alpha[i] = U[i]
                    step = (alpha[i] - a_old) * y[i]
                    if step != 0.0:
                        _row_axpy(R, i, step, wp)
                s += 1
            if PGmax_new - PGmin_new <= tol:
                if active == n_in:
                    converged = True
                    break
                # converged on the shrunk problem: check all variables again
                active = n_in
                PGmax_old = INFINITY
                PGmin_old = -INFINITY
                continue
            PGmax_old = PGmax_new if PGmax_new > 0.0 else INFINITY
            PGmin_old = PGmin_new if PGmin_new < 0.0 else -INFINITY
    return int(epoch), bool(converged)


# --------------------------------------------------------------------------------------
# LinearSVC(multi_class="crammer_singer"): the sequential dual method
# --------------------------------------------------------------------------------------

cdef void _cs_sub_problem(double A, Py_ssize_t yi, double Ci, Py_ssize_t K,
                          const double* B, double* D, double* alpha_new) noexcept nogil:
    """min_a sum_m (A/2 a_m^2 + B_m a_m) s.t. sum_m a_m = 0, a_m <= C_m (C_yi = Ci,
    0 otherwise): a_m = min(C_m, (beta - B_m) / A), beta from the sorted breakpoints
    (Crammer & Singer 2001; Keerthi et al. 2008)."""
    cdef Py_ssize_t m, r, j
    cdef double beta, tmp
    for m in range(K):
        D[m] = B[m]
    D[yi] += A * Ci
    # sort D descending (K is small: insertion sort)
    for m in range(1, K):
        tmp = D[m]
        j = m - 1
        while j >= 0 and D[j] < tmp:
            D[j + 1] = D[j]
            j -= 1
        D[j + 1] = tmp
    beta = D[0] - A * Ci
    r = 1
    while r < K and beta < r * D[r]:
        beta += D[r]
        r += 1
    beta /= r
    for m in range(K):
        if m == yi:
            alpha_new[m] = min(Ci, (beta - B[m]) / A)
        else:
            alpha_new[m] = min(0.0, (beta - B[m]) / A)


def linear_crammer_singer(X, const intp_t[::1] y, Py_ssize_t n_classes,
                          const double[::1] C, double[:, ::1] W, double tol,
                          Py_ssize_t max_iter, unsigned long long seed, double bias=0.0):
    """Crammer and Singer's multi-class linear SVM,
    min 1/2 sum_m ||w_m||^2 + sum_i C_i max_m (e_i^m + w_m.x_i - w_(y_i).x_i),
    by the sequential dual method of Keerthi, Sundararajan, Chang, Hsieh and Lin (2008):
    each step solves the dual sub-problem of one sample over its ``n_classes``
    variables exactly and updates the rows of ``W`` (``n_classes x (n_features [+1])``,
    in place). ``X``: a C-ordered float64 array or a CSR tuple ``(data, indices, indptr,
    n_features)``; ``y`` class indices; ``bias`` as in :func:`linear_dual_cd`. Stops when
    the largest KKT violation of a sweep is at most ``tol``. Returns (epochs, converged).
    """
    cdef _Rows R
    cdef double[::1] dummy = np.zeros(1)
    cdef intp_t[::1] idummy = np.zeros(1, dtype=np.intp)
    cdef const double[:, ::1] Xd
    cdef const double[::1] data
    cdef const intp_t[::1] indices, indptr
    cdef Py_ssize_t n, K = n_classes, i, m, s, k, epoch = 0
    if isinstance(X, tuple):
        data, indices, indptr, n_features = X
        n = _check_csr(data, indices, indptr, n_features, "X")
        R.X = NULL
        R.data = &data[0] if data.shape[0] else &dummy[0]
        R.indices = &indices[0] if indices.shape[0] else &idummy[0]
        R.indptr = &indptr[0]
        R.d = n_features
    else:
        Xd = X
        n = Xd.shape[0]
        R.X = &Xd[0, 0] if Xd.shape[0] * Xd.shape[1] else &dummy[0]
        R.data = NULL
        R.indices = NULL
        R.indptr = NULL
        R.d = Xd.shape[1]
    R.bias = bias
    _check_length(y, n, "y")
    _check_length(C, n, "C")
    _check_indices(y, K, "y")
    if W.shape[0] != K or W.shape[1] != R.d + (1 if bias != 0.0 else 0):
        raise ValueError(f"W has shape {(W.shape[0], W.shape[1])}, expected "
                         f"{(K, R.d + (1 if bias != 0.0 else 0))}.")
    if np.any(np.isnan(np.asarray(C))) or np.any(np.asarray(C) < 0):
        raise ValueError("C must be >= 0 (and not NaN).")
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}.")
    if n == 0 or K < 2:
        return 0, True
    cdef double[:, ::1] alpha = np.zeros((n, K))
    cdef double[::1] QD = np.zeros(n)
    cdef double[::1] G = np.zeros(K)
    cdef double[::1] B = np.zeros(K)
    cdef double[::1] D = np.zeros(K)
    cdef double[::1] a_new = np.zeros(K)
    cdef intp_t[::1] order = np.arange(n, dtype=np.intp)
    cdef uint64_t state = seed
    cdef double A, maxG, minG, violation, delta
    cdef bint converged = False
    cdef intp_t tmp
    with nogil:
        for i in range(n):
            QD[i] = _row_sq(&R, i)
        while epoch < max_iter:
            epoch += 1
            violation = 0.0
            for s in range(n - 1, 0, -1):
                k = rand_int(&state, s + 1)
                tmp = order[s]; order[s] = order[k]; order[k] = tmp
            for s in range(n):
                i = order[s]
                A = QD[i]
                if A <= 0.0 or C[i] <= 0.0:
                    continue
                maxG = -INFINITY
                minG = INFINITY
                for m in range(K):
                    G[m] = _row_dot(&R, i, &W[m, 0]) + (0.0 if m == y[i] else 1.0)
                    if G[m] > maxG:
                        maxG = G[m]
                    if alpha[i, m] < (C[i] if m == y[i] else 0.0) and G[m] < minG:
                        minG = G[m]
                if maxG - minG > violation:
                    violation = maxG - minG
                if maxG - minG <= 1e-12:
                    continue
                for m in range(K):
                    B[m] = G[m] - A * alpha[i, m]
                _cs_sub_problem(A, y[i], C[i], K, &B[0], &D[0], &a_new[0])
                for m in range(K):
                    delta = a_new[m] - alpha[i, m]
                    alpha[i, m] = a_new[m]
                    if delta != 0.0:
                        _row_axpy(&R, i, delta, &W[m, 0])
            if violation <= tol:
                converged = True
                break
    return int(epoch), bool(converged)
