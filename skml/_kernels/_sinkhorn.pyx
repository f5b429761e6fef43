# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Entropic optimal transport: Sinkhorn iterations with log-domain potentials.

Private and dumb: ``skml.metrics._transport`` validates the inputs and hands over a
C-contiguous float32/float64 cost matrix ``M`` (n x m, finite), strictly positive float64
marginals ``a`` (n) and ``b`` (m) of equal total mass, ``reg > 0``, float64 potentials
``f`` (n) and ``g`` (m) to start from (zeros for a cold start; overwritten with the final
dual potentials), a float64 work matrix ``K`` (n x m, overwritten with the transport plan)
and a float64 accumulator ``acc`` (n_groups x m). Nothing here writes into M, a or b.

The plan is kept as ``P = diag(u) Kt diag(v)`` with ``Kt[i, j] = exp((f[i] + g[j] -
M[i, j]) / reg)``: the potentials f, g carry the large dynamic range in the log domain and
the scalings u, v only the small changes of the current iterations (the "absorption"
form of log-domain Sinkhorn; Schmitzer 2019, Peyre & Cuturi 2019 Remark 4.23). One
iteration is one pass over ``Kt``: for each row, ``u[i] = a[i] / (Kt v)[i]`` and, while
the row is in cache, ``u[i] * Kt[i, :]`` is added to the column sums; then ``v[j] = b[j] /
(Kt^T u)[j]``. Before v is updated, the column sums are the column marginals of the
current plan (its row marginals are exact after the u step), so the stopping test, the
L1 marginal violation ``sum_j |v[j] colsum[j] - b[j]|``, costs nothing extra.

When a scaling leaves ``[1 / TAU, TAU]`` (or a row or column sum underflows to 0, which
plain Sinkhorn turns into inf/NaN for small ``reg``), the scalings are absorbed into the
potentials and ``Kt`` is rebuilt by exact log-sum-exp updates (the max is subtracted before
every ``exp``): ``g[j] = reg log b[j] - reg LSE_i((f[i] - M[i, j]) / reg)``, then
``f[i] = reg log a[i] - reg LSE_j((g[j] - M[i, j]) / reg)``. The first iteration is such a
rebuild. Every entry of a rebuilt ``Kt`` is at most ``a[i] <= 1``, so nothing overflows,
whatever ``reg``.

Threads: rows are split into ``n_groups`` fixed runs of consecutive rows (the caller
derives n_groups from the shape only); each run adds into its own row of ``acc`` and the
runs are merged in order, so results are bit-for-bit the same for any thread count.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, log, fabs, INFINITY

import numpy as np

# Scalings beyond [1/TAU, TAU] are absorbed into the potentials. With |log u|, |log v| <=
# log(TAU), an entry of Kt that underflows (< 1e-308) could only carry plan mass below
# TAU**2 * 1e-308 ~ 1e-268: nothing is lost, and rebuilds (n*m exps each) stay rare.
cdef double TAU = 1e20
# Columns per task of the column log-sum-exp (a few KiB of each row per visit).
cdef Py_ssize_t COL_BLOCK = 256


cdef inline double _dot4(const double* x, const double* y, Py_ssize_t m) noexcept nogil:
    """sum_j x[j] y[j] with four running sums (a fixed order: deterministic)."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t j = 0
    while j + 4 <= m:
        s0 = s0 + x[j] * y[j]
        s1 = s1 + x[j + 1] * y[j + 1]
        s2 = s2 + x[j + 2] * y[j + 2]
        s3 = s3 + x[j + 3] * y[j + 3]
        j = j + 4
    while j < m:
        s0 = s0 + x[j] * y[j]
        j = j + 1
    return (s0 + s1) + (s2 + s3)


cdef inline bint _scaling_ok(double s) noexcept nogil:
    # also False for NaN
    return s >= 1.0 / TAU and s <= TAU


cdef inline bint _unusable(const double* u, Py_ssize_t n) noexcept nogil:
    """Whether a scaling is 0, infinite or NaN (the plan u Kt v would not be finite)."""
    cdef Py_ssize_t i
    for i in range(n):
        if not (u[i] > 0.0 and u[i] < INFINITY):
            return True
    return False


cdef void _log_row(const floating* Mi, const double* g, double ai, double inv_reg,
                   double reg, Py_ssize_t m, double* Ki, double* acc_row,
                   double* fi) noexcept nogil:
    """f[i] from g by an exact log-sum-exp; Kt[i, :] (row sum a[i]) into Ki, added to
    acc_row."""
    cdef Py_ssize_t j
    cdef double mx = -INFINITY, t, s = 0.0, scale
    for j in range(m):
        t = g[j] - <double>Mi[j]
        if t > mx:
            mx = t
    for j in range(m):
        t = exp((g[j] - <double>Mi[j] - mx) * inv_reg)
        Ki[j] = t
        s = s + t
    # s >= 1: the largest term is exp(0)
    fi[0] = reg * log(ai) - mx - reg * log(s)
    scale = ai / s
    for j in range(m):
        Ki[j] = Ki[j] * scale
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
             double[:, ::1] K, double[:, ::1] acc, int n_threads):
    """Run Sinkhorn until the L1 marginal violation is <= tol or max_iter iterations.

    On return ``K`` holds the plan, ``f``/``g`` the dual potentials (``P[i, j] =
    exp((f[i] + g[j] - M[i, j]) / reg)``). Returns ``(n_iter, violation, cost, n_rebuilds)``
    where ``cost = sum_ij P[i, j] M[i, j]``.
    """
    cdef Py_ssize_t n = M.shape[0], m = M.shape[1]
    cdef Py_ssize_t n_groups = acc.shape[0]
    cdef Py_ssize_t rows_per_group = (n + n_groups - 1) // n_groups
    cdef Py_ssize_t n_col_blocks = (m + COL_BLOCK - 1) // COL_BLOCK
    cdef double[::1] u = np.ones(n)
    cdef double[::1] v = np.ones(m)
    cdef double[::1] colsum = np.zeros(m)
    cdef double[::1] cmax = np.empty(m)
    cdef double[::1] csum = np.empty(m)
    cdef double[::1] row_cost = np.zeros(n)
    cdef double inv_reg = 1.0 / reg
    cdef double err = INFINITY, s, ui, cost = 0.0
    cdef Py_ssize_t it = 0, n_rebuilds = 0, grp, i, j, r, i0, i1, blk
    cdef bint rebuild = True, bad
    cdef double* Ki
    cdef double* accg

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
                                 accg, &f[i])
                for i in range(n):
                    u[i] = 1.0
                for j in range(m):
                    v[j] = 1.0
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
                        ui = a[i] / _dot4(Ki, &v[0], m)
                        u[i] = ui
                        for j in range(m):
                            accg[j] = accg[j] + ui * Ki[j]
            # merge the groups in order (deterministic), then the violation
            for j in prange(m, schedule="static", num_threads=n_threads):
                s = 0.0
                for grp in range(n_groups):
                    s = s + acc[grp, j]
                colsum[j] = s
            err = 0.0
            for j in range(m):
                err = err + fabs(v[j] * colsum[j] - b[j])
            it = it + 1
            bad = False
            for i in range(n):
                if not _scaling_ok(u[i]):
                    bad = True
            if err <= tol:
                break
            # at max_iter, stop only with usable scalings (a row sum that underflowed in
            # the last pass gets one more, exact, rebuild)
            if it >= max_iter and not _unusable(&u[0], n):
                break
            for j in range(m):
                v[j] = b[j] / colsum[j]
                if not _scaling_ok(v[j]):
                    bad = True
            rebuild = bad

        # the plan u Kt v in place of Kt, its cost, and the final potentials
        for i in prange(n, schedule="static", num_threads=n_threads):
            Ki = &K[i, 0]
            s = 0.0
            for j in range(m):
                Ki[j] = u[i] * Ki[j] * v[j]
                s = s + Ki[j] * <double>M[i, j]
            row_cost[i] = s
        for i in range(n):
            cost = cost + row_cost[i]
            f[i] = f[i] + reg * log(u[i])
        for j in range(m):
            g[j] = g[j] + reg * log(v[j])
    return it, err, cost, n_rebuilds
