# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Entropic optimal transport: Sinkhorn iterations with log-domain potentials.

Private and dumb: ``skml.metrics._transport`` validates the inputs and hands over a
C-contiguous float32/float64 cost matrix ``M`` (n x m, finite), strictly positive float64
marginals ``a`` (n) and ``b`` (m) of equal total mass, ``reg > 0``, rescaled by the caller
so that nothing below overflows or divides by a subnormal: the total mass in [0.5, 2],
no mass below the smallest normal number of M's dtype times max(n, m), ``|M|`` and
``reg`` at most 2**1000, ``reg`` at least 2**-1000 and 1e-300 * max|M|; float64 potentials
``f`` (n) and ``g`` (m) to start from (zeros for a cold start; overwritten with the final
dual potentials), a work matrix ``K`` (n x m, overwritten with the transport plan) and an
accumulator ``acc`` (n_groups x m), both of M's dtype. Nothing here writes into M, a or
b. Potentials, scalings and log-sum-exps are float64 for both dtypes; with float32 M the
matrix ``Kt`` and the column sums of each row group are float32 (half the memory traffic,
twice the SIMD width, as POT computes for float32 costs), so the marginals reach about
1e-9 to 1e-8 of the mass (measured against POT's float64 log-domain solver up to 2000 x
2000), not 1e-16.

The plan is kept as ``P = diag(u) Kt diag(v)`` with ``Kt[i, j] = exp((f[i] + g[j] -
M[i, j]) / reg)``: the potentials f, g carry the large dynamic range in the log domain and
the scalings u, v only the small changes of the current iterations (the "absorption"
form of log-domain Sinkhorn; Schmitzer 2019, Peyre & Cuturi 2019 Remark 4.23). One
iteration is one pass over ``Kt``: for each row, ``u[i] = a[i] / (Kt v)[i]`` and, while
the row is in cache, ``u[i] * Kt[i, :]`` is added to the column sums; then ``v[j] = b[j] /
(Kt^T u)[j]``. Before v is updated, the column sums are the column marginals of the
current plan (its row marginals are exact after the u step), so the stopping test, the
norm of the marginal violation ``||v * colsum - b||_2`` (POT's ``stopThr`` criterion,
checked every iteration), costs nothing extra.

When a scaling leaves ``[1 / TAU, TAU]`` (TAU = 1e20 for float64 ``Kt``, 1e10 for
float32) (or a row or column sum underflows to 0, which
plain Sinkhorn turns into inf/NaN for small ``reg``), the scalings are absorbed into the
potentials and ``Kt`` is rebuilt by exact log-sum-exp updates (the max is subtracted before
every ``exp``): ``g[j] = reg log b[j] - reg LSE_i((f[i] - M[i, j]) / reg)``, then
``f[i] = reg log a[i] - reg LSE_j((g[j] - M[i, j]) / reg)``. The first iteration is such a
rebuild. Every entry of a rebuilt ``Kt`` is at most ``a[i] <= 1``, so nothing overflows,
whatever ``reg``.

The dot products and row updates of an iteration go through BLAS (``ddot``/``dsdot``,
``daxpy``/``saxpy`` from ``scipy.linalg.cython_blas``: vectorised for the CPU at run
time; ``dsdot`` accumulates float32 products in double), which the caller keeps
single-threaded around the call.

Threads: rows are split into ``n_groups`` fixed runs of consecutive rows (the caller
derives n_groups from the shape only); each run adds into its own row of ``acc`` and the
runs are merged in order, so results are bit-for-bit the same for any thread count.
"""
from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport exp, log, sqrt, INFINITY
from scipy.linalg.cython_blas cimport ddot, dsdot, daxpy, saxpy

import numpy as np

# Scalings beyond [1/TAU, TAU] are absorbed into the potentials. A plan entry p is
# u[i] Kt[i, j] v[j] with u, v <= TAU, so Kt[i, j] >= p / TAU**2: with float64 Kt
# (TAU64 = 1e20) an entry below the smallest normal double, 2e-308, carries plan mass
# below 2e-268; with float32 Kt (smallest normal 1.2e-38, TAU32 = 1e10) below 1.2e-18 of
# the mass, under float32's resolution of the marginals. Nothing that matters is flushed
# to zero or loses bits as a subnormal, and rebuilds (n*m exps each) stay rare.
cdef double TAU64 = 1e20
cdef double TAU32 = 1e10
# Columns per task of the column log-sum-exp (a few KiB of each row per visit).
cdef Py_ssize_t COL_BLOCK = 256


cdef inline double _dot(const floating* x, const floating* y, int m) noexcept nogil:
    """sum_j x[j] y[j] in double, by BLAS (vectorised for the CPU at run time;
    single-threaded here, the caller limits BLAS threads, so the order of the sums is
    fixed)."""
    cdef int one = 1
    if floating is float:
        return dsdot(&m, <float*>x, &one, <float*>y, &one)
    else:
        return ddot(&m, <double*>x, &one, <double*>y, &one)


cdef inline void _axpy(double alpha, const floating* x, floating* y, int m) noexcept nogil:
    """y += alpha x by BLAS."""
    cdef int one = 1
    cdef float alpha32 = <float>alpha
    if floating is float:
        saxpy(&m, &alpha32, <float*>x, &one, <float*>y, &one)
    else:
        daxpy(&m, &alpha, <double*>x, &one, <double*>y, &one)


cdef inline bint _scaling_ok(double s, double tau) noexcept nogil:
    # also False for NaN
    return s >= 1.0 / tau and s <= tau


cdef inline bint _unusable(const double* u, Py_ssize_t n) noexcept nogil:
    """Whether a scaling is 0, infinite or NaN (the plan u Kt v would not be finite)."""
    cdef Py_ssize_t i
    for i in range(n):
        if not (u[i] > 0.0 and u[i] < INFINITY):
            return True
    return False


cdef void _log_row(const floating* Mi, const double* g, double ai, double inv_reg,
                   double reg, Py_ssize_t m, floating* Ki, floating* acc_row,
                   double* fi, double* work) noexcept nogil:
    """f[i] from g by an exact log-sum-exp; Kt[i, :] (row sum a[i]) into Ki, added to
    acc_row. ``work`` holds m doubles."""
    cdef Py_ssize_t j
    cdef double mx = -INFINITY, t, s = 0.0, scale
    for j in range(m):
        t = g[j] - <double>Mi[j]
        if t > mx:
            mx = t
    for j in range(m):
        t = exp((g[j] - <double>Mi[j] - mx) * inv_reg)
        work[j] = t
        s = s + t
    # s >= 1: the largest term is exp(0)
    fi[0] = reg * log(ai) - mx - reg * log(s)
    scale = ai / s
    for j in range(m):
        Ki[j] = <floating>(work[j] * scale)
        acc_row[j] = acc_row[j] + Ki[j]


cdef void _log_cols(const floating[:, ::1] M, const double* f, const double* b,
                    double inv_reg, double reg, Py_ssize_t j0, Py_ssize_t j1,
                    double* g, double* cmax, double* csum) noexcept nogil:
    """g[j] for j0 <= j < j1 from f by exact log-sum-exps over the rows."""
    cdef Py_ssize_t i, j, n = M.shape[0]
    cdef const floating* Mi
    cdef double t
    for j in range(j0, j1):
        cmax[j] = -INFINITY
        csum[j] = 0.0
    for i in range(n):
        Mi = &M[i, 0]
        for j in range(j0, j1):
            t = f[i] - <double>Mi[j]
            if t > cmax[j]:
                cmax[j] = t
    for i in range(n):
        Mi = &M[i, 0]
        for j in range(j0, j1):
            csum[j] = csum[j] + exp((f[i] - <double>Mi[j] - cmax[j]) * inv_reg)
    for j in range(j0, j1):
        g[j] = reg * log(b[j]) - cmax[j] - reg * log(csum[j])


def sinkhorn(const floating[:, ::1] M, const double[::1] a, const double[::1] b,
             double reg, double tol, Py_ssize_t max_iter, double[::1] f, double[::1] g,
             floating[:, ::1] K, floating[:, ::1] acc, int n_threads):
    """Run Sinkhorn until the L2 norm of the marginal violation is <= tol, or for
    max_iter iterations.

    On return ``K`` holds the plan, ``f``/``g`` the dual potentials (``P[i, j] =
    exp((f[i] + g[j] - M[i, j]) / reg)``). Returns ``(n_iter, violation, cost, n_rebuilds)``
    where ``cost = sum_ij P[i, j] M[i, j]``.
    """
    cdef Py_ssize_t n = M.shape[0], m = M.shape[1]
    cdef Py_ssize_t n_groups = acc.shape[0]
    # the shapes every loop below indexes with: checked before any loop runs
    if n < 1 or m < 1:
        raise ValueError(f"M must have at least one row and one column, got ({n}, {m}).")
    if a.shape[0] != n or f.shape[0] != n:
        raise ValueError(f"a and f must have {n} entries, got {a.shape[0]} and "
                         f"{f.shape[0]}.")
    if b.shape[0] != m or g.shape[0] != m:
        raise ValueError(f"b and g must have {m} entries, got {b.shape[0]} and "
                         f"{g.shape[0]}.")
    if K.shape[0] != n or K.shape[1] != m:
        raise ValueError(f"K must have shape ({n}, {m}), got ({K.shape[0]}, {K.shape[1]}).")
    if n_groups < 1 or acc.shape[1] != m:
        raise ValueError(f"acc must have shape (n_groups >= 1, {m}), got "
                         f"({n_groups}, {acc.shape[1]}).")
    if m > 2**31 - 1:
        raise ValueError(f"M has {m} columns, more than the 32-bit BLAS limit.")
    if not reg > 0 or max_iter < 1 or n_threads < 1:
        raise ValueError(f"need reg > 0, max_iter >= 1 and n_threads >= 1, got {reg}, "
                         f"{max_iter} and {n_threads}.")
    cdef Py_ssize_t rows_per_group = (n + n_groups - 1) // n_groups
    cdef Py_ssize_t n_col_blocks = (m + COL_BLOCK - 1) // COL_BLOCK
    dtype = np.float32 if floating is float else np.float64
    cdef double[::1] u = np.ones(n)
    cdef double[::1] v = np.ones(m)
    # v in K's dtype, for the dot products
    cdef floating[::1] vk = np.ones(m, dtype=dtype)
    # per-thread rows of exponentials for the rebuilds (double for both dtypes)
    cdef double[:, ::1] work = np.empty((n_threads, m))
    cdef double[::1] colsum = np.zeros(m)
    cdef double[::1] cmax = np.empty(m)
    cdef double[::1] csum = np.empty(m)
    cdef double[::1] row_cost = np.zeros(n)
    cdef double inv_reg = 1.0 / reg
    cdef double tau = TAU32 if floating is float else TAU64
    cdef double err = INFINITY, s, ui, cost = 0.0
    cdef Py_ssize_t it = 0, n_rebuilds = 0, grp, i, j, r, i0, i1, blk
    cdef bint rebuild = True, bad
    cdef floating* Ki
    cdef floating* accg

    with nogil:
        while True:
            if rebuild:
                if it > 0:
                    # absorb u (where it is usable) into f, then g from f exactly
                    for i in range(n):
                        if u[i] > 0.0 and u[i] < INFINITY:
                            f[i] = f[i] + reg * log(u[i])
                    for blk in prange(n_col_blocks, schedule="static",
                                      num_threads=n_threads):
                        _log_cols(M, &f[0], &b[0], inv_reg, reg, blk * COL_BLOCK,
                                  min((blk + 1) * COL_BLOCK, m), &g[0], &cmax[0],
                                  &csum[0])
                for grp in prange(n_groups, schedule="static", num_threads=n_threads):
                    accg = &acc[grp, 0]
                    for j in range(m):
                        accg[j] = 0.0
                    i0 = grp * rows_per_group
                    i1 = min(i0 + rows_per_group, n)
                    for i in range(i0, i1):
                        _log_row(&M[i, 0], &g[0], a[i], inv_reg, reg, m, &K[i, 0],
                                 accg, &f[i], &work[threadid(), 0])
                for i in range(n):
                    u[i] = 1.0
                for j in range(m):
                    v[j] = 1.0
                    vk[j] = 1.0
                n_rebuilds = n_rebuilds + 1
                rebuild = False
            else:
                for grp in prange(n_groups, schedule="static", num_threads=n_threads):
                    accg = &acc[grp, 0]
                    for j in range(m):
                        accg[j] = 0.0
                    i0 = grp * rows_per_group
                    i1 = min(i0 + rows_per_group, n)
                    for i in range(i0, i1):
                        Ki = &K[i, 0]
                        ui = a[i] / _dot(Ki, &vk[0], <int>m)
                        u[i] = ui
                        _axpy(ui, Ki, accg, <int>m)
            # merge the groups in order (deterministic; serial: n_groups * m additions
            # are a few percent of the pass, and one parallel region per iteration is
            # one synchronisation), then the violation
            for j in range(m):
                colsum[j] = acc[0, j]
            for grp in range(1, n_groups):
                accg = &acc[grp, 0]
                for j in range(m):
                    colsum[j] = colsum[j] + accg[j]
            err = 0.0
            for j in range(m):
                s = v[j] * colsum[j] - b[j]
                err = err + s * s
            err = sqrt(err)
            it = it + 1
            bad = False
            for i in range(n):
                if not _scaling_ok(u[i], tau):
                    bad = True
            if err <= tol:
                break
            # at max_iter, stop only with usable scalings (a row sum that underflowed in
            # the last pass gets one more, exact, rebuild)
            if it >= max_iter and not _unusable(&u[0], n):
                break
            for j in range(m):
                v[j] = b[j] / colsum[j]
                vk[j] = <floating>v[j]
                if not _scaling_ok(v[j], tau):
                    bad = True
            rebuild = bad

        # the plan u Kt v in place of Kt, its cost, and the final potentials
        for i in prange(n, schedule="static", num_threads=n_threads):
            Ki = &K[i, 0]
            s = 0.0
            for j in range(m):
                Ki[j] = <floating>(u[i] * Ki[j] * v[j])
                s = s + Ki[j] * <double>M[i, j]
            row_cost[i] = s
        for i in range(n):
            cost = cost + row_cost[i]
            f[i] = f[i] + reg * log(u[i])
        for j in range(m):
            g[j] = g[j] + reg * log(v[j])
    return it, err, cost, n_rebuilds
