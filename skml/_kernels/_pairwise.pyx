# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Pairwise distances and reductions over them (top-k, radius) without the full matrix.

Private and dumb: the Python layer (``skml.metrics._pairwise``) validates the inputs and
hands over C-contiguous arrays with at least one row on each side, picks the form of the
keys (``s``, ``robust``: see ``_dist_keys.pxd``), prepares the working copies the GEMM
needs and the thread count. Nothing here writes into its inputs.

Two ways to a distance:

* exact: ``key_dense`` / ``cosine_key`` (``_dist_keys.pxd``) straight from the rows, the
  numbers every algorithm (brute force, KD-tree, ball tree) ranks by;
* fast: the GEMM identity ``||x - y||^2 = ||x||^2 + ||y||^2 - 2 x.y`` on *working copies*
  ``Xw``, ``Yw`` of the rows, centred on a per-call centre (so an offset far from the
  origin costs no precision) or, for cosine, scaled to unit length. Its error is bounded
  by ``delta = 4 (d + 8) u (|xw|^2 + |yw|^2) + dabs`` (``u`` the unit roundoff of the
  working dtype, ``dabs`` an absolute floor for underflow): the standard bound of a
  d-term dot product, the rounding of the centred copy and of the final additions, with
  a safety factor.

Where the fast value could decide something it is not accurate enough for, the exact key
replaces it: a matrix entry within ``RELATIVE_GUARD * delta`` of zero (so every entry is
accurate to ~1e-8 relative), a radius entry within ``delta`` of the threshold (and every
entry kept), and in the top-k reduction every candidate that can matter: the reduction
keeps ``kc > k`` candidates by the fast value; those within ``2 delta`` of the k-th fast
value are ranked by their exact keys, and the result is *certified* when the kc-th fast
value lies beyond that window (no row left out can then belong); an uncertified row
(near-ties at the k-th place wider than kc - k) is redone by an exact scan. Every reduction therefore returns the k smallest exact keys, ties to the
smaller index, and only real row indices.

Each OpenMP thread runs single-threaded BLAS on its own block (the caller limits BLAS
threads to one around these calls); chunk sizes never depend on the thread count, so
results do not either.
"""
from cython cimport floating
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport sqrt, fabs, INFINITY
from scipy.linalg.cython_blas cimport sgemm, dgemm

cimport numpy as cnp
from skml._kernels._heap cimport (
    empty_heap, heap_sift_down, heap_sort, sort_pairs,
)
from skml._kernels._dist_keys cimport (
    EUCLIDEAN, SQEUCLIDEAN, COSINE, MANHATTAN, MINKOWSKI, CHEBYSHEV,
    key_dense, cosine_key, key_to_dist, pow2_row_scale,
)

cnp.import_array()

ctypedef cnp.intp_t intp_t

ctypedef fused work_t:
    float
    double

ctypedef fused out_t:
    float
    double

#: Metric name -> code understood by every neighbour kernel (``_dist_keys.pxd``).
METRIC_CODES = {
    "euclidean": EUCLIDEAN,
    "sqeuclidean": SQEUCLIDEAN,
    "cosine": COSINE,
    "manhattan": MANHATTAN,
    "minkowski": MINKOWSKI,
    "chebyshev": CHEBYSHEV,
}
#: Codes whose fast path is the GEMM identity.
GEMM_CODES = frozenset({EUCLIDEAN, SQEUCLIDEAN, COSINE})
cdef double _GUARD = 1e8
#: A matrix entry whose fast value is below this many error bounds is recomputed exactly.
RELATIVE_GUARD = _GUARD


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


# ---------------------------------------------------------------------------------------
# row statistics
# ---------------------------------------------------------------------------------------

def row_sqnorms64(const floating[:, ::1] X, double[::1] out, int n_threads):
    """out[i] = sum_j X[i, j]**2 in double."""
    cdef Py_ssize_t i, f, n = X.shape[0], d = X.shape[1]
    cdef double s
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        s = 0.0
        for f in range(d):
            s = s + <double>X[i, f] * <double>X[i, f]
        out[i] = s


def abs_range(const floating[:, ::1] X, double[::1] hi, double[::1] lo, int n_threads):
    """Per row: hi[i] = largest |x|, lo[i] = smallest non-zero |x| (inf if none)."""
    cdef Py_ssize_t i, f, n = X.shape[0], d = X.shape[1]
    cdef double a, h, l
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        h = 0.0
        l = INFINITY
        for f in range(d):
            a = fabs(<double>X[i, f])
            if a > 0.0:
                if a > h:
                    h = a
                if a < l:
                    l = a
        hi[i] = h
        lo[i] = l


def cosine_factors(const floating[:, ::1] X, double[::1] scale, double[::1] inv_norm,
                   int n_threads):
    """Per row a power of two ``scale`` (largest |x * scale| in [0.5, 1); [2**-74, 1) for a
    subnormal row) and the inverse
    norm of ``x * scale`` (0 for a zero row): overflow-free for any finite row."""
    cdef Py_ssize_t i, f, n = X.shape[0], d = X.shape[1]
    cdef double m, acc, t
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        m = 0.0
        for f in range(d):
            t = fabs(<double>X[i, f])
            if t > m:
                m = t
        scale[i] = pow2_row_scale(m)
        if m == 0.0:
            inv_norm[i] = 0.0
            continue
        acc = 0.0
        for f in range(d):
            t = <double>X[i, f] * scale[i]
            acc = acc + t * t
        inv_norm[i] = 1.0 / sqrt(acc)


# ---------------------------------------------------------------------------------------
# shared per-entry pieces
# ---------------------------------------------------------------------------------------

cdef inline double _exact(const floating[:, ::1] X, const floating[:, ::1] Y, Py_ssize_t i,
                          Py_ssize_t j, int metric, double p, double s, int robust,
                          const double[::1] cs_x, const double[::1] ci_x,
                          const double[::1] cs_y, const double[::1] ci_y) noexcept nogil:
    if metric == COSINE:
        return cosine_key(&X[i, 0], &Y[j, 0], X.shape[1], cs_x[i], cs_y[j], ci_x[i],
                          ci_y[j])
    return key_dense(&X[i, 0], &Y[j, 0], X.shape[1], metric, p, s, robust)


# The fast key of every GEMM metric is ``XXw[i] + YYw[j] + v`` with v the GEMM value
# (-2 x.y; for cosine -x.y of unit rows, with XXw = YYw = 1/2, so 1 - cos), and its error
# bound ``cdu * (XXw[i] + YYw[j]) + dabs`` with cdu = 4 (d + 8) u.


cdef void _finish_row(const floating[:, ::1] X, const floating[:, ::1] Y,
                      const work_t* vals, out_t* dst, Py_ssize_t i, Py_ssize_t j0,
                      Py_ssize_t j1, const double[::1] XXw, const double[::1] YYw,
                      const double[::1] cs_x, const double[::1] ci_x,
                      const double[::1] cs_y, const double[::1] ci_y, int metric,
                      double p, double s, int robust, bint want_keys, double threshold,
                      double cdu, double dabs) noexcept nogil:
    """GEMM values vals[0:j1-j0] of row i (may alias dst) -> dst[0:j1-j0]: distances, or
    keys when ``want_keys`` (exact wherever <= threshold + bound: row i's threshold)."""
    cdef Py_ssize_t j
    cdef double xx = XXw[i], t, a, key
    cdef double gc = _GUARD * cdu, ga = _GUARD * dabs
    cdef double cap = 2.0 if metric == COSINE else INFINITY
    cdef bint root = metric == EUCLIDEAN
    if want_keys:
        for j in range(j0, j1):
            t = xx + YYw[j]
            a = t + <double>vals[j - j0]
            if a <= threshold + cdu * t + dabs:
                a = _exact(X, Y, i, j, metric, p, s, robust, cs_x, ci_x, cs_y, ci_y)
            dst[j - j0] = <out_t>a
    else:
        for j in range(j0, j1):
            t = xx + YYw[j]
            a = t + <double>vals[j - j0]
            if a < gc * t + ga:
                key = _exact(X, Y, i, j, metric, p, s, robust, cs_x, ci_x, cs_y, ci_y)
                dst[j - j0] = <out_t>key_to_dist(key, metric, p, s, robust)
            else:
                if a > cap:
                    a = cap
                dst[j - j0] = <out_t>(sqrt(a) if root else a)


cdef void _exact_row(const floating[:, ::1] X, const floating[:, ::1] Y, out_t* dst,
                     Py_ssize_t i, Py_ssize_t j0, Py_ssize_t j1,
                     const double[::1] cs_x, const double[::1] ci_x,
                     const double[::1] cs_y, const double[::1] ci_y, int metric,
                     double p, double s, int robust, bint want_keys) noexcept nogil:
    cdef Py_ssize_t j
    cdef double key
    for j in range(j0, j1):
        key = _exact(X, Y, i, j, metric, p, s, robust, cs_x, ci_x, cs_y, ci_y)
        dst[j - j0] = <out_t>(key if want_keys else key_to_dist(key, metric, p, s, robust))


# ---------------------------------------------------------------------------------------
# the full matrix
# ---------------------------------------------------------------------------------------

def pairwise_dense(const floating[:, ::1] X, const floating[:, ::1] Y,
                   const work_t[:, ::1] Xw, const work_t[:, ::1] Yw,
                   const double[::1] XXw, const double[::1] YYw,
                   const double[::1] cs_x, const double[::1] ci_x,
                   const double[::1] cs_y, const double[::1] ci_y,
                   out_t[:, ::1] out, int metric, double p, double s, int robust,
                   bint use_gemm, bint same, bint want_keys,
                   const double[::1] thresholds, double u, double dabs,
                   Py_ssize_t chunk_x, Py_ssize_t chunk_y, work_t[:, ::1] buffers):
    """Fill ``out`` (n_x x n_y) with distances, or with keys when ``want_keys``.

    With ``use_gemm`` each task (``chunk_x`` rows of X) runs its GEMM into its rows of
    ``out`` when output and working copies are both double (then ``chunk_y`` is
    ignored), and otherwise one GEMM per block of ``chunk_y`` rows of Y into its
    thread's row of ``buffers``; the values are finished while in cache. Entries the
    fast value cannot be trusted for get their exact key (near zero; with ``want_keys``,
    every entry at most ``thresholds[i] + bound``, the others keep a fast key that is
    certainly above the row's threshold). Without ``use_gemm`` every entry is exact. ``same``:
    X is Y, and the diagonal is exactly 0.
    """
    cdef Py_ssize_t n_x = X.shape[0], n_y = Y.shape[0], d = X.shape[1]
    cdef Py_ssize_t n_chunks = (n_x + chunk_x - 1) // chunk_x
    cdef Py_ssize_t c, i, i0, i1, j0, j1, cy
    cdef int n_threads = <int>buffers.shape[0]
    cdef double cdu = 4.0 * (<double>d + 8.0) * u
    cdef work_t* buf
    cdef work_t alpha = -1.0 if metric == COSINE else -2.0
    cdef bint direct = False
    if out_t is double and work_t is double:
        direct = use_gemm
    if direct:
        chunk_y = n_y

    with nogil, parallel(num_threads=n_threads):
        buf = &buffers[threadid(), 0]
        for c in prange(n_chunks, schedule="static"):
            i0 = c * chunk_x
            i1 = min(i0 + chunk_x, n_x)
            j0 = 0
            while j0 < n_y:
                j1 = min(j0 + chunk_y, n_y)
                cy = j1 - j0
                if direct:
                    _gemm_abt(&Xw[i0, 0], &Yw[0, 0], <work_t*>&out[i0, 0],
                              <int>(i1 - i0), <int>n_y, <int>Xw.shape[1], <int>n_y, alpha)
                    for i in range(i0, i1):
                        _finish_row(X, Y, <work_t*>&out[i, 0], &out[i, 0], i, 0, n_y,
                                    XXw, YYw, cs_x, ci_x, cs_y, ci_y, metric, p, s,
                                    robust, want_keys,
                                    thresholds[i] if want_keys else 0.0, cdu, dabs)
                elif use_gemm:
                    _gemm_abt(&Xw[i0, 0], &Yw[j0, 0], buf, <int>(i1 - i0), <int>cy,
                              <int>Xw.shape[1], <int>cy, alpha)
                    for i in range(i0, i1):
                        _finish_row(X, Y, buf + (i - i0) * cy, &out[i, j0], i, j0, j1,
                                    XXw, YYw, cs_x, ci_x, cs_y, ci_y, metric, p, s,
                                    robust, want_keys,
                                    thresholds[i] if want_keys else 0.0, cdu, dabs)
                else:
                    for i in range(i0, i1):
                        _exact_row(X, Y, &out[i, j0], i, j0, j1, cs_x, ci_x, cs_y, ci_y,
                                   metric, p, s, robust, want_keys)
                if same:
                    for i in range(max(i0, j0), min(i1, j1)):
                        out[i, i] = 0
                j0 = j1


# ---------------------------------------------------------------------------------------
# top-k
# ---------------------------------------------------------------------------------------

cdef inline void _admit_exact(double* hd, intp_t* hi, Py_ssize_t k, double key,
                              intp_t j) noexcept nogil:
    """Offer (key, j) to the max-heap of the k best (scanning j upwards); an infinite key
    still replaces the initial placeholders, whose index is after every real one."""
    if key < hd[0] or (key == hd[0] and j < hi[0]):
        heap_sift_down(hd, hi, k, 0, key, j)


cdef void _exact_scan_row(const floating[:, ::1] X, const floating[:, ::1] Y,
                          Py_ssize_t i, Py_ssize_t k, int metric, double p, double s,
                          int robust, intp_t js, const double[::1] cs_x,
                          const double[::1] ci_x, const double[::1] cs_y,
                          const double[::1] ci_y, double* hd, intp_t* hi) noexcept nogil:
    """The k smallest exact keys of row i over all of Y, sorted (the uncertified case);
    ``js`` is the row of Y that is row i itself (-1: none), at key 0."""
    cdef Py_ssize_t j, h, n_y = Y.shape[0]
    cdef double key
    empty_heap(hd, hi, k, n_y)
    for j in range(n_y):
        if j == js:
            key = 0.0
        else:
            key = _exact(X, Y, i, j, metric, p, s, robust, cs_x, ci_x, cs_y, ci_y)
        _admit_exact(hd, hi, k, key, j)
    sort_pairs(hd, hi, k)


cdef void _write_row(double* hd, intp_t* hi, Py_ssize_t k, out_t* od, intp_t* oi,
                     int metric, double p, double s, int robust) noexcept nogil:
    """Distances of the k keys sorted by (key, index) into the output row. The order
    stays the keys' even where the last roundings (the root, the cast to float32, an
    overflow to inf) make distinct keys' distances equal."""
    cdef Py_ssize_t h
    for h in range(k):
        od[h] = <out_t>key_to_dist(hd[h], metric, p, s, robust)
        oi[h] = hi[h]


def topk_dense(const floating[:, ::1] X, const floating[:, ::1] Y,
               const work_t[:, ::1] Xw, const work_t[:, ::1] Yw,
               const double[::1] XXw, const double[::1] YYw,
               const double[::1] cs_x, const double[::1] ci_x,
               const double[::1] cs_y, const double[::1] ci_y,
               const intp_t[::1] self_idx, out_t[:, ::1] out_dist, intp_t[:, ::1] out_ind,
               int metric, double p, double s, int robust, bint use_gemm,
               double u, double dabs, double yy_max, Py_ssize_t kc, bint rescan,
               unsigned char[::1] uncertified, Py_ssize_t chunk_x, Py_ssize_t chunk_y,
               work_t[:, ::1] buffers, double[:, ::1] cand_d, intp_t[:, ::1] cand_i):
    """For every row of X, the k = out_dist.shape[1] rows of Y with the smallest exact
    keys, ascending by (distance, index).

    ``self_idx`` (empty, or one entry per row of X): the row of Y that is row i of X
    itself, whose key is exactly 0 (-1: none). Tasks of ``chunk_x`` rows of X scan Y in
    blocks of ``chunk_y`` rows. With ``use_gemm`` a block goes through one GEMM into the
    thread's row of ``buffers`` and each row of X keeps a max-heap of its ``kc`` best
    fast keys in its thread's rows of ``cand_d``/``cand_i`` (``chunk_x * kc`` each); the
    candidates that can matter are then ranked by exact keys and the row is certified
    (module docstring). An uncertified row is rescanned exactly when ``rescan``, else
    flagged in ``uncertified`` (its output row is then meaningless) for the caller to
    retry with more candidates. Without ``use_gemm`` every key is exact and the heaps
    hold k entries. Returns the number of rows rescanned or flagged.
    """
    cdef Py_ssize_t n_x = X.shape[0], n_y = Y.shape[0], d = X.shape[1]
    cdef Py_ssize_t k = out_dist.shape[1]
    cdef Py_ssize_t n_chunks = (n_x + chunk_x - 1) // chunk_x
    cdef Py_ssize_t c, i, j, h, i0, i1, j0, j1, cy, hk, m
    cdef int n_threads = <int>cand_d.shape[0]
    cdef double cdu = 4.0 * (<double>d + 8.0) * u
    cdef double v, limit, key, worst
    cdef work_t* buf
    cdef work_t* row
    cdef const double* yy
    cdef double* hd
    cdef intp_t* hi
    cdef intp_t js
    cdef work_t alpha = -1.0 if metric == COSINE else -2.0
    cdef bint ok, has_self = self_idx.shape[0] > 0
    cdef Py_ssize_t n_bad = 0

    hk = kc if use_gemm else k
    with nogil, parallel(num_threads=n_threads):
        buf = &buffers[threadid(), 0]
        for c in prange(n_chunks, schedule="static"):
            i0 = c * chunk_x
            i1 = min(i0 + chunk_x, n_x)
            for i in range(i0, i1):
                hd = &cand_d[threadid(), (i - i0) * hk]
                hi = &cand_i[threadid(), (i - i0) * hk]
                empty_heap(hd, hi, hk, n_y)
            j0 = 0
            while j0 < n_y:
                j1 = min(j0 + chunk_y, n_y)
                cy = j1 - j0
                if use_gemm:
                    _gemm_abt(&Xw[i0, 0], &Yw[j0, 0], buf, <int>(i1 - i0), <int>cy,
                              <int>Xw.shape[1], <int>cy, alpha)
                    if has_self:  # the self pair: the fast key of distance 0
                        for i in range(i0, i1):
                            js = self_idx[i]
                            if j0 <= js < j1:
                                buf[(i - i0) * cy + (js - j0)] = <work_t>(-XXw[i] - YYw[js])
                    for i in range(i0, i1):
                        hd = &cand_d[threadid(), (i - i0) * hk]
                        hi = &cand_i[threadid(), (i - i0) * hk]
                        row = buf + (i - i0) * cy
                        yy = &YYw[j0]
                        worst = hd[0]
                        # the fast key without XXw[i] (same order); scanning j upwards,
                        # an equal value never beats the root
                        for j in range(cy):
                            v = <double>row[j] + yy[j]
                            if v < worst:
                                heap_sift_down(hd, hi, hk, 0, v, j0 + j)
                                worst = hd[0]
                else:
                    for i in range(i0, i1):
                        hd = &cand_d[threadid(), (i - i0) * hk]
                        hi = &cand_i[threadid(), (i - i0) * hk]
                        js = self_idx[i] if has_self else -1
                        for j in range(j0, j1):
                            if j == js:
                                key = 0.0
                            else:
                                key = _exact(X, Y, i, j, metric, p, s, robust,
                                             cs_x, ci_x, cs_y, ci_y)
                            _admit_exact(hd, hi, hk, key, j)
                j0 = j1
            for i in range(i0, i1):
                hd = &cand_d[threadid(), (i - i0) * hk]
                hi = &cand_i[threadid(), (i - i0) * hk]
                js = self_idx[i] if has_self else -1
                if use_gemm:
                    ok = True
                    for h in range(hk):
                        if hi[h] >= n_y:  # a fast key was not finite
                            ok = False
                    if ok:
                        heap_sort(hd, hi, hk)  # ascending fast keys
                        # every row's exact key is within ``bound`` of its fast key, so
                        # the k-th smallest exact key is <= hd[k-1] + bound, and a row
                        # whose fast key is above limit cannot be among the k best. The
                        # rows left out of the candidates have fast keys >= hd[hk-1].
                        limit = hd[k - 1] + 2.0 * (cdu * (XXw[i] + yy_max) + dabs)
                        ok = hk == n_y or hd[hk - 1] > limit
                    if ok:
                        m = k
                        while m < hk and hd[m] <= limit:
                            m = m + 1
                        for h in range(m):
                            if hi[h] == js:
                                hd[h] = 0.0
                            else:
                                hd[h] = _exact(X, Y, i, hi[h], metric, p, s, robust,
                                               cs_x, ci_x, cs_y, ci_y)
                        sort_pairs(hd, hi, m)
                    else:
                        n_bad += 1
                        if not rescan:
                            uncertified[i] = 1
                            continue
                        _exact_scan_row(X, Y, i, k, metric, p, s, robust, js,
                                        cs_x, ci_x, cs_y, ci_y, hd, hi)
                else:
                    sort_pairs(hd, hi, hk)
                _write_row(hd, hi, k, &out_dist[i, 0], &out_ind[i, 0], metric, p, s,
                           robust)
    return n_bad


def keys_to_dist(const double[::1] keys, double[::1] out, int metric, double p, double s,
                 int robust):
    """out[i] = the distance of keys[i] (the kernels' own last step, for callers that
    select keys in Python)."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(keys.shape[0]):
            out[i] = key_to_dist(keys[i], metric, p, s, robust)


def topk_rows(const floating[:, ::1] D, double[:, ::1] out_dist, intp_t[:, ::1] out_ind,
              int n_threads):
    """For each row of a distance matrix (precomputed, or from a metric without a kernel),
    its k = out_dist.shape[1] smallest entries ascending by (value, index); NaN ranks as
    +inf (after every number), so every index written is a real column."""
    cdef Py_ssize_t n = D.shape[0], m = D.shape[1], k = out_dist.shape[1], i, j, h
    cdef double v
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        for h in range(k):
            out_dist[i, h] = INFINITY
            out_ind[i, h] = m
        for j in range(m):
            v = <double>D[i, j]
            if v != v:
                v = INFINITY
            _admit_exact(&out_dist[i, 0], &out_ind[i, 0], k, v, j)
        sort_pairs(&out_dist[i, 0], &out_ind[i, 0], k)
