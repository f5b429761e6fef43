# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Pairwise distances and top-k reductions of CSR rows (the sparse counterpart of
``_pairwise``). Private and dumb: the Python layer (``skml.metrics._pairwise``) hands over
both sides as CSR in canonical form (sorted column indices, no duplicates; a dense side
converted to CSR), Y's CSC copy, the row statistics and the key form.

Exact keys: the same numbers as ``_dist_keys.pxd``'s dense ``key_dense`` / ``cosine_key``:
the union of the two rows' columns is walked in ascending order and every coordinate
difference ``t = x*s - y*s`` (a missing entry is 0) is accumulated exactly as the dense
loop does; the columns where both rows are zero add exactly 0 there, so skipping them
changes nothing. Sparse and dense input therefore give identical results.

Fast values (euclidean, sqeuclidean, cosine): the dot products of row i with every row
of Y, accumulated through the CSC columns of Y that row i touches; a row of Y it does not
touch has a dot product of exactly 0, so its fast key is ``|x|^2 + |y|^2`` (1 for cosine),
and the top-k reduction visits those rows in ascending order of ``|y|^2`` and stops at the
current k-th candidate. The error bound, certification and exact ranking of the
candidates are those of the dense kernel (see ``_pairwise.pyx``).
"""
from cython cimport floating
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport sqrt, fabs, pow, INFINITY

cimport numpy as cnp
from skml._kernels._heap cimport (
    empty_heap, heap_sift_down, heap_sort, sort_pairs,
)
from skml._kernels._dist_keys cimport (
    EUCLIDEAN, SQEUCLIDEAN, COSINE, MANHATTAN, MINKOWSKI, CHEBYSHEV, key_to_dist,
    pow2_row_scale, ratio_to_max,
)

cnp.import_array()

ctypedef cnp.intp_t intp_t

ctypedef fused index_t:
    cnp.int32_t
    cnp.int64_t

cdef double _GUARD = 1e8

# operations of one walk over the union of two rows' columns
cdef enum:
    OP_SQ = 0     # sum t^2
    OP_ABS = 1    # sum |t|
    OP_MAX = 2    # max |t|
    OP_POWQ = 3   # sum (|t| / m)^q  (q == 2: squares)
    OP_POWP = 4   # sum |t|^p


cdef inline double _term(int op, double t, double m, double inv, double q) noexcept nogil:
    if op == OP_SQ:
        return t * t
    if op == OP_ABS:
        return fabs(t)
    if op == OP_POWQ:
        t = ratio_to_max(fabs(t), m, inv)
        return t * t if q == 2.0 else pow(t, q)
    return pow(fabs(t), q)


cdef inline double _walk(int op, const floating* xd, const index_t* xi, Py_ssize_t xa,
                         Py_ssize_t xb, const floating* yd, const index_t* yi,
                         Py_ssize_t ya, Py_ssize_t yb, double s, double m,
                         double q) noexcept nogil:
    """Accumulate ``op`` over the union of columns of x[xa:xb] and y[ya:yb], ascending
    (``m``: the pair's largest |t|, for OP_POWQ)."""
    cdef Py_ssize_t a = xa, b = ya
    cdef double acc = 0.0, t, u
    cdef double inv = 1.0 / m if m > 0.0 else 0.0
    cdef bint plain = op == OP_SQ and s == 1.0
    while a < xb or b < yb:
        if b >= yb or (a < xb and xi[a] < yi[b]):
            t = <double>xd[a] - 0.0 if plain else <double>xd[a] * s - 0.0 * s
            a = a + 1
        elif a >= xb or yi[b] < xi[a]:
            t = 0.0 - <double>yd[b] if plain else 0.0 * s - <double>yd[b] * s
            b = b + 1
        else:
            t = <double>xd[a] - <double>yd[b] if plain else \
                <double>xd[a] * s - <double>yd[b] * s
            a = a + 1
            b = b + 1
        if op == OP_MAX:
            u = fabs(t)
            if u > acc:
                acc = u
        else:
            acc += _term(op, t, m, inv, q)
    return acc


cdef inline double _key_ss(const floating* xd, const index_t* xi, Py_ssize_t xa,
                           Py_ssize_t xb, const floating* yd, const index_t* yi,
                           Py_ssize_t ya, Py_ssize_t yb, int metric, double p, double s,
                           int robust, double sx, double sy, double ix,
                           double iy) noexcept nogil:
    """The exact key of two CSR rows (``key_dense`` / ``cosine_key`` of their dense
    forms)."""
    cdef double m, acc, q, v
    cdef Py_ssize_t a, b
    if metric == COSINE:
        acc = 0.0
        a = xa
        b = ya
        while a < xb and b < yb:
            if xi[a] < yi[b]:
                a = a + 1
            elif yi[b] < xi[a]:
                b = b + 1
            else:
                acc += (<double>xd[a] * sx) * (<double>yd[b] * sy)
                a = a + 1
                b = b + 1
        v = 1.0 - acc * ix * iy
        return 0.0 if v < 0.0 else (2.0 if v > 2.0 else v)
    if metric == EUCLIDEAN or metric == SQEUCLIDEAN:
        if robust == 0:
            return _walk(OP_SQ, xd, xi, xa, xb, yd, yi, ya, yb, s, 0.0, 2.0)
        q = 2.0
    elif metric == MANHATTAN:
        return _walk(OP_ABS, xd, xi, xa, xb, yd, yi, ya, yb, s, 0.0, 1.0)
    elif metric == CHEBYSHEV:
        return _walk(OP_MAX, xd, xi, xa, xb, yd, yi, ya, yb, s, 0.0, 1.0)
    elif p < 1.0:
        return _walk(OP_POWP, xd, xi, xa, xb, yd, yi, ya, yb, s, 0.0, p)
    else:
        q = p
    m = _walk(OP_MAX, xd, xi, xa, xb, yd, yi, ya, yb, s, 0.0, 1.0)
    if m == 0.0:
        return 0.0
    acc = _walk(OP_POWQ, xd, xi, xa, xb, yd, yi, ya, yb, s, m, q)
    return m * sqrt(acc) if q == 2.0 else m * pow(acc, 1.0 / q)


# ---------------------------------------------------------------------------------------
# row statistics
# ---------------------------------------------------------------------------------------

def abs_range_1d(const floating[::1] v):
    """(largest |v|, smallest non-zero |v|), (0, inf) when there are none."""
    cdef Py_ssize_t i
    cdef double hi = 0.0, lo = INFINITY, a
    with nogil:
        for i in range(v.shape[0]):
            a = fabs(<double>v[i])
            if a > 0.0:
                if a > hi:
                    hi = a
                if a < lo:
                    lo = a
    return hi, lo


def row_stats_csr(const floating[::1] data, const index_t[::1] ptr, double[::1] sqnorm,
                  double[::1] scale, double[::1] inv_norm):
    """Per row: the squared norm, and (for cosine) a power-of-two scale putting the
    largest |entry| in [0.5, 1) with the inverse norm of the scaled row (0 if empty)."""
    cdef Py_ssize_t i, a, n = ptr.shape[0] - 1
    cdef double acc, m, t
    with nogil:
        for i in range(n):
            acc = 0.0
            m = 0.0
            for a in range(ptr[i], ptr[i + 1]):
                t = <double>data[a]
                acc = acc + t * t
                if fabs(t) > m:
                    m = fabs(t)
            sqnorm[i] = acc
            scale[i] = pow2_row_scale(m)
            if m == 0.0:
                inv_norm[i] = 0.0
                continue
            acc = 0.0
            for a in range(ptr[i], ptr[i + 1]):
                t = <double>data[a] * scale[i]
                acc = acc + t * t
            inv_norm[i] = 1.0 / sqrt(acc)


# ---------------------------------------------------------------------------------------
# dot products of one row of X with every row of Y (through Y's CSC columns)
# ---------------------------------------------------------------------------------------

cdef inline Py_ssize_t _dots(const floating* xd, const index_t* xi, Py_ssize_t xa,
                             Py_ssize_t xb, const floating* cd, const index_t* ci,
                             const index_t* cp, double* acc, intp_t* touched,
                             intp_t* stamp, intp_t mark) noexcept nogil:
    """acc[j] = x . y_j for every row j of Y sharing a column with x (listed in
    ``touched``, stamped with ``mark``); returns how many."""
    cdef Py_ssize_t a, b, n_t = 0
    cdef intp_t j
    cdef double v
    for a in range(xa, xb):
        v = <double>xd[a]
        for b in range(cp[xi[a]], cp[xi[a] + 1]):
            j = ci[b]
            if stamp[j] != mark:
                stamp[j] = mark
                acc[j] = 0.0
                touched[n_t] = j
                n_t = n_t + 1
            acc[j] += v * <double>cd[b]
    return n_t


# ---------------------------------------------------------------------------------------
# the full matrix (or keys near a threshold, for radius queries)
# ---------------------------------------------------------------------------------------

def pairwise_csr(const floating[::1] Xd, const index_t[::1] Xi, const index_t[::1] Xp,
                 const floating[::1] Yd, const index_t[::1] Yi, const index_t[::1] Yp,
                 const floating[::1] Cd, const index_t[::1] Ci, const index_t[::1] Cp,
                 const double[::1] XX, const double[::1] YY, const double[::1] wx,
                 const double[::1] wy, const double[::1] cs_x, const double[::1] ci_x,
                 const double[::1] cs_y, const double[::1] ci_y, double[:, ::1] out,
                 int metric, double p, double s, int robust, bint use_dots,
                 double alpha, bint same, bint want_keys, const double[::1] thresholds,
                 double cdu, double dabs, double[:, ::1] acc_buf,
                 intp_t[:, ::1] touched_buf, intp_t[:, ::1] stamp_buf, int n_threads):
    """Fill ``out`` (n_x x n_y, double) with distances, or keys when ``want_keys`` (exact
    wherever <= the row's threshold + bound), as ``_pairwise.pairwise_dense`` does for
    dense rows. ``wx``/``wy`` scale the dot products (the cosine factors; ones for the
    euclidean family), ``alpha`` is -2 (euclidean) or -1 (cosine, whose XX = YY = 1/2).
    The per-thread buffers ``acc_buf``, ``touched_buf``, ``stamp_buf`` have n_y columns;
    ``stamp_buf`` starts at -1."""
    cdef Py_ssize_t n_x = Xp.shape[0] - 1, n_y = Yp.shape[0] - 1
    cdef Py_ssize_t i, j, t
    cdef double a, tt, key, cap = 2.0 if metric == COSINE else INFINITY
    cdef double* acc
    cdef intp_t* touched
    cdef intp_t* stamp
    with nogil, parallel(num_threads=n_threads):
        acc = &acc_buf[threadid(), 0]
        touched = &touched_buf[threadid(), 0]
        stamp = &stamp_buf[threadid(), 0]
        for i in prange(n_x, schedule="dynamic", chunksize=8):
            if use_dots:
                _dots(&Xd[0], &Xi[0], Xp[i], Xp[i + 1], &Cd[0], &Ci[0], &Cp[0], acc,
                      touched, stamp, i)
            for j in range(n_y):
                if same and i == j:
                    out[i, j] = 0.0
                    continue
                key = -1.0
                if use_dots:
                    tt = XX[i] + YY[j]
                    a = tt + (alpha * acc[j] * wx[i] * wy[j] if stamp[j] == i else 0.0)
                    if want_keys:
                        if not a <= thresholds[i] + cdu * tt + dabs:
                            out[i, j] = a
                            continue
                    elif not a < _GUARD * (cdu * tt + dabs):
                        if a < 0.0:
                            a = 0.0
                        elif a > cap:
                            a = cap
                        out[i, j] = sqrt(a) if metric == EUCLIDEAN else a
                        continue
                key = _key_ss(&Xd[0], &Xi[0], Xp[i], Xp[i + 1], &Yd[0], &Yi[0], Yp[j],
                              Yp[j + 1], metric, p, s, robust,
                              cs_x[i] if metric == COSINE else 1.0,
                              cs_y[j] if metric == COSINE else 1.0,
                              ci_x[i] if metric == COSINE else 1.0,
                              ci_y[j] if metric == COSINE else 1.0)
                out[i, j] = key if want_keys else key_to_dist(key, metric, p, s, robust)


# ---------------------------------------------------------------------------------------
# top-k
# ---------------------------------------------------------------------------------------

cdef inline void _admit(double* hd, intp_t* hi, Py_ssize_t k, double key,
                        intp_t j) noexcept nogil:
    if key < hd[0] or (key == hd[0] and j < hi[0]):
        heap_sift_down(hd, hi, k, 0, key, j)


def topk_csr(const floating[::1] Xd, const index_t[::1] Xi, const index_t[::1] Xp,
             const floating[::1] Yd, const index_t[::1] Yi, const index_t[::1] Yp,
             const floating[::1] Cd, const index_t[::1] Ci, const index_t[::1] Cp,
             const double[::1] XX, const double[::1] YY, const double[::1] wx,
             const double[::1] wy, const intp_t[::1] order, const double[::1] cs_x,
             const double[::1] ci_x, const double[::1] cs_y, const double[::1] ci_y,
             const intp_t[::1] self_idx, double[:, ::1] out_dist, intp_t[:, ::1] out_ind,
             int metric, double p, double s, int robust, bint use_dots, double alpha,
             double cdu, double dabs, double yy_max, Py_ssize_t kc, bint rescan,
             unsigned char[::1] flags, double[:, ::1] acc_buf,
             intp_t[:, ::1] touched_buf, intp_t[:, ::1] stamp_buf,
             double[:, ::1] heap_d, intp_t[:, ::1] heap_i, int n_threads):
    """For every row of X, the k = out_dist.shape[1] rows of Y with the smallest exact
    keys, ascending by (key, index); the distances written. ``order`` lists Y's rows by
    ascending (YY, index). With ``use_dots`` each row keeps ``kc`` candidates by fast
    key (the touched rows, then the untouched ones in ``order`` until they cannot
    enter), ranks those within 2 bounds of the k-th by exact keys and is certified as in
    the dense kernel; an uncertified row is rescanned exactly when ``rescan``, else
    flagged. Without ``use_dots`` every key is exact. Returns the number of rows
    rescanned or flagged."""
    cdef Py_ssize_t n_x = Xp.shape[0] - 1, n_y = Yp.shape[0] - 1
    cdef Py_ssize_t k = out_dist.shape[1]
    cdef Py_ssize_t i, j, t, h, r, m, n_t, hk
    cdef double v, worst, limit, key
    cdef double* acc
    cdef intp_t* touched
    cdef intp_t* stamp
    cdef double* hd
    cdef intp_t* hi
    cdef intp_t js, jj
    cdef bint ok, has_self = self_idx.shape[0] > 0
    cdef Py_ssize_t n_bad = 0
    hk = kc if use_dots else k
    with nogil, parallel(num_threads=n_threads):
        acc = &acc_buf[threadid(), 0]
        touched = &touched_buf[threadid(), 0]
        stamp = &stamp_buf[threadid(), 0]
        hd = &heap_d[threadid(), 0]
        hi = &heap_i[threadid(), 0]
        for i in prange(n_x, schedule="dynamic", chunksize=8):
            js = self_idx[i] if has_self else -1
            empty_heap(hd, hi, hk, n_y)
            ok = True
            if use_dots:
                n_t = _dots(&Xd[0], &Xi[0], Xp[i], Xp[i + 1], &Cd[0], &Ci[0], &Cp[0],
                            acc, touched, stamp, i)
                worst = INFINITY
                for t in range(n_t):
                    jj = touched[t]
                    v = YY[jj] + alpha * acc[jj] * wx[i] * wy[jj]
                    if jj == js:
                        v = -XX[i]
                    if v < worst:
                        heap_sift_down(hd, hi, hk, 0, v, jj)
                        worst = hd[0]
                if js >= 0 and stamp[js] != i:  # (an empty row: its self key is 0)
                    stamp[js] = i
                    if -XX[i] < worst:
                        heap_sift_down(hd, hi, hk, 0, -XX[i], js)
                        worst = hd[0]
                for r in range(n_y):
                    jj = order[r]
                    if not YY[jj] < worst:
                        break
                    if stamp[jj] == i:
                        continue
                    heap_sift_down(hd, hi, hk, 0, YY[jj], jj)
                    worst = hd[0]
                for h in range(hk):
                    if hi[h] >= n_y:
                        ok = False
                if ok:
                    heap_sort(hd, hi, hk)
                    limit = hd[k - 1] + 2.0 * (cdu * (XX[i] + yy_max) + dabs)
                    ok = hk == n_y or hd[hk - 1] > limit
                if ok:
                    m = k
                    while m < hk and hd[m] <= limit:
                        m = m + 1
                    for h in range(m):
                        if hi[h] == js:
                            hd[h] = 0.0
                        else:
                            hd[h] = _key_ss(&Xd[0], &Xi[0], Xp[i], Xp[i + 1], &Yd[0],
                                            &Yi[0], Yp[hi[h]], Yp[hi[h] + 1], metric, p,
                                            s, robust,
                                            cs_x[i] if metric == COSINE else 1.0,
                                            cs_y[hi[h]] if metric == COSINE else 1.0,
                                            ci_x[i] if metric == COSINE else 1.0,
                                            ci_y[hi[h]] if metric == COSINE else 1.0)
                    sort_pairs(hd, hi, m)
                else:
                    n_bad += 1
                    if not rescan:
                        flags[i] = 1
                        continue
            if not (use_dots and ok):
                empty_heap(hd, hi, k, n_y)
                for j in range(n_y):
                    if j == js:
                        key = 0.0
                    else:
                        key = _key_ss(&Xd[0], &Xi[0], Xp[i], Xp[i + 1], &Yd[0], &Yi[0],
                                      Yp[j], Yp[j + 1], metric, p, s, robust,
                                      cs_x[i] if metric == COSINE else 1.0,
                                      cs_y[j] if metric == COSINE else 1.0,
                                      ci_x[i] if metric == COSINE else 1.0,
                                      ci_y[j] if metric == COSINE else 1.0)
                    _admit(hd, hi, k, key, j)
                sort_pairs(hd, hi, k)
            for h in range(k):
                out_dist[i, h] = key_to_dist(hd[h], metric, p, s, robust)
                out_ind[i, h] = hi[h]
    return n_bad
