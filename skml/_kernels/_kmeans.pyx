# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: depends = skml/_kernels/_kmeans_lloyd.h
"""k-means passes: Lloyd's assignment (E) and accumulation for the update (M), Elkan's
bounded assignment, the M-step, the inertia, and the squared distances that k-means++
and ``transform`` need; each for dense rows and for CSR rows (``*_csr``, see the CSR
section below).

Private and dumb: ``skml.cluster._kmeans`` validates the inputs and hands over
C-contiguous float32/float64 arrays (X, sample weights and centres of one dtype; CSR as
canonical data/indices/indptr with int32 or int64 indices), int32 labels, float64
accumulators, the chunk size, the group count and the thread count. Nothing here writes
into X, the weights or the centres.

One pass over the data works through chunks of ``chunk`` rows. For each chunk one GEMM
(``scipy.linalg.cython_blas``) gives ``-2 x.c`` for every row and centre into a small
per-thread buffer (never an n x k matrix for the whole data); the row's label is the
first index of the smallest ``-2 x.c + ||c||^2`` (``||x||^2`` is the same for every
centre of a row, so it is left out), found by a fused argmin while the block is in
cache; and the row is added, times its weight, to its centre's running sums (float64
for both dtypes). The argmin and the accumulation are C loops (``_kmeans_lloyd.h``)
that use AVX2 when the CPU has it (detected at import; the extension itself targets the
baseline ISA); both paths give identical results.

Accuracy. The GEMM identity loses what the norms dwarf: the caller centres the data (and
scales it by a power of two when its squares would overflow or underflow), so the
norms are of the order of the distances. In float32 a row whose two nearest centres are
within the rounding bound of the identity is decided by the exact float64 distances of
the candidates (``x_norms``), so float32 labels are those of the float64 computation.
The inertia and the distances of ``sq_distances`` are float64; ``sq_distances``
recomputes from the differences every entry small enough for the identity to have lost
digits, so a row equal to a centre is at distance exactly 0.

Rows can be transformed on the fly, ``t(x) = (x - shift) * scale`` (``scale`` a power
of two), chunk by chunk into a per-thread buffer: predicting on raw data needs no
centred copy of it.

Determinism: the chunks are split into ``n_groups`` runs of consecutive chunks. A group
is processed by one thread from start to end into its own accumulator, and the group
accumulators are merged in group order after the parallel loop. Neither the chunk size
nor the group count depends on the thread count (the caller derives them from the data's
shape), so the floating-point sums, and with them the centres, are bit-for-bit the same
whatever the number of threads.
"""
from cython cimport floating
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport fabs, sqrt
from libc.string cimport memset
from scipy.linalg.cython_blas cimport sgemm, dgemm

import numpy as np

cimport numpy as cnp

cnp.import_array()


cdef extern from "_kmeans_lloyd.h":
    int skml_kmeans_detect_cpu() noexcept nogil
    int skml_kmeans_simd() noexcept nogil
    void skml_kmeans_set_simd(int on) noexcept nogil
    void skml_argmin_rows_d(const double* buf, const double* cc, int m, int k,
                            int* out) noexcept nogil
    void skml_argmin_rows_f(const float* buf, const float* cc, int m, int k,
                            const double* xnorm, double cmax, double gamma,
                            const float* X, const float* C, int d, int* out) noexcept nogil
    void skml_accumulate_d(const double* X, const double* w, const int* lab, int m, int d,
                           double* sums, double* wsum) noexcept nogil
    void skml_accumulate_f(const float* X, const float* w, const int* lab, int m, int d,
                           double* sums, double* wsum) noexcept nogil
    double skml_sqdist_d(const double* x, const double* c, int d) noexcept nogil
    double skml_sqdist_f(const float* x, const float* c, int d) noexcept nogil
    void skml_row_dots_d32(const double* data, const cnp.int32_t* idx, Py_ssize_t p0,
                           Py_ssize_t p1, const double* cT, int k, double* dot) noexcept nogil
    void skml_row_dots_d64(const double* data, const cnp.int64_t* idx, Py_ssize_t p0,
                           Py_ssize_t p1, const double* cT, int k, double* dot) noexcept nogil
    void skml_row_dots_f32(const float* data, const cnp.int32_t* idx, Py_ssize_t p0,
                           Py_ssize_t p1, const float* cT, int k, double* dot) noexcept nogil
    void skml_row_dots_f64(const float* data, const cnp.int64_t* idx, Py_ssize_t p0,
                           Py_ssize_t p1, const float* cT, int k, double* dot) noexcept nogil


ctypedef fused out_t:
    float
    double

# CSR index arrays (scipy uses int32, or int64 for large matrices)
ctypedef fused idx_t:
    cnp.int32_t
    cnp.int64_t


skml_kmeans_detect_cpu()

# Unit roundoff of float32: the GEMM identity's rounding bound is gamma_{d+2} times
# (||x|| + max ||c||)^2 (dot products and norms of d terms, plus the final addition).
cdef double _U32 = 2.0 ** -24
# sq_distances recomputes from the differences every entry below this fraction of
# ||x||^2 + ||y||^2: the identity's relative error elsewhere is at most about
# 2 (d + 2) 2^-53 / _TINY.
cdef double _TINY = 2.0 ** -8


def simd_level():
    """Which inner loops the Lloyd pass uses on this CPU: "avx2" or "baseline"."""
    return "avx2" if skml_kmeans_simd() else "baseline"


def _set_simd(bint on):
    """Testing hook: force the baseline loops (False) or re-detect the CPU (True)."""
    skml_kmeans_set_simd(on)


cdef inline void _gemm_xct(const floating* X, const floating* C, floating* out,
                           int m, int k, int d, floating alpha) noexcept nogil:
    """out[:m, :k] = alpha * X @ C.T for row-major X (m x d), C (k x d), out (m x k).

    Column-major BLAS sees each row-major matrix as its transpose: this asks for
    out.T (k x m) = C (k x d, read transposed) @ X.T (d x m). It is the call (shape,
    operands, transposition) scikit-learn's Lloyd kernel makes, so every distance is
    rounded exactly as there; on data with exact ties (integer pixels, duplicates) that
    is what makes the two pick the same labels."""
    cdef char ta = b'T'
    cdef char tb = b'N'
    cdef floating beta = 0
    if floating is float:
        sgemm(&ta, &tb, &k, &m, &d, &alpha, <float*>C, &d, <float*>X, &d, &beta, out, &k)
    else:
        dgemm(&ta, &tb, &k, &m, &d, &alpha, <double*>C, &d, <double*>X, &d, &beta, out,
              &k)


cdef inline void _transform_rows(const floating* X, Py_ssize_t m, Py_ssize_t d,
                                 const floating* shift, floating scale, bint up,
                                 floating* out, double* norms) noexcept nogil:
    """out = t(X rows) in the dtype: ``(x - shift) * scale`` when ``up`` (scale >= 1, the
    difference cannot overflow), else ``x * scale - shift * scale`` (nothing overflows).
    Both are the same numbers whenever neither over- nor underflows (scale is a power of
    two). ``norms`` (if not NULL) receives the rows' Euclidean norms, in double."""
    cdef Py_ssize_t r, f
    cdef floating v
    cdef double s
    for r in range(m):
        s = 0.0
        for f in range(d):
            if up:
                v = (X[r * d + f] - shift[f]) * scale
            else:
                v = X[r * d + f] * scale - shift[f] * scale
            out[r * d + f] = v
            s = s + <double>v * <double>v
        if norms != NULL:
            norms[r] = sqrt(s)


cdef inline double _cmax(const floating[:, ::1] centers) noexcept nogil:
    """The largest centre norm, in double."""
    cdef Py_ssize_t j, f
    cdef double s, best = 0.0
    for j in range(centers.shape[0]):
        s = 0.0
        for f in range(centers.shape[1]):
            s = s + <double>centers[j, f] * <double>centers[j, f]
        if s > best:
            best = s
    return sqrt(best)


cdef inline double _gamma32(Py_ssize_t d) noexcept nogil:
    cdef double t = (d + 2) * _U32
    return t / (1.0 - t)


cdef inline Py_ssize_t _assign_rows(
        const floating* Xr, Py_ssize_t m, Py_ssize_t d,
        const floating* centers, const floating* cc, Py_ssize_t k,
        const double* xnorm, double cmax, double gamma,
        int* labels, floating* buf, int* lab_buf,
        const floating* w, double* acc_sums, double* acc_weights) noexcept nogil:
    """Label the m rows ``Xr`` and (if ``acc_sums``) add them to the accumulators.

    ``cc`` holds the centres' squared norms. ``buf`` (m x k values) receives ``-2 x.c``
    for the block, one row per sample; the label of a sample is the first index of the
    smallest ``-2 x.c + ||c||^2`` (float32 with ``xnorm``: decided by the exact
    distances when within the rounding bound). ``w`` NULL means unit weights.

    Returns how many of ``labels[:m]`` changed."""
    cdef Py_ssize_t r, changed = 0

    _gemm_xct(Xr, centers, buf, <int>m, <int>k, <int>d, -2.0)
    if floating is float:
        skml_argmin_rows_f(buf, cc, <int>m, <int>k, xnorm, cmax, gamma, Xr, centers,
                           <int>d, lab_buf)
    else:
        skml_argmin_rows_d(buf, cc, <int>m, <int>k, lab_buf)
    for r in range(m):
        if labels[r] != lab_buf[r]:
            changed = changed + 1
            labels[r] = lab_buf[r]
    if acc_sums != NULL:
        if floating is float:
            skml_accumulate_f(Xr, w, lab_buf, <int>m, <int>d, acc_sums, acc_weights)
        else:
            skml_accumulate_d(Xr, w, lab_buf, <int>m, <int>d, acc_sums, acc_weights)
    return changed


cdef inline double _rows_inertia(const floating* Xr, Py_ssize_t m, Py_ssize_t d,
                                 const floating* w, const floating* centers,
                                 const int* labels) noexcept nogil:
    """sum over the m rows of w_i ||x_i - c_{labels_i}||^2, from the differences, in
    float64, row by row."""
    cdef Py_ssize_t i, f
    cdef double s = 0.0, t, r
    cdef const floating* x
    cdef const floating* y
    for i in range(m):
        x = Xr + i * d
        y = centers + labels[i] * d
        r = 0.0
        for f in range(d):
            t = <double>x[f] - <double>y[f]
            r = r + t * t
        s = s + <double>w[i] * r
    return s


cdef void _merge_groups(const double* acc, Py_ssize_t G, Py_ssize_t k, Py_ssize_t d,
                        double[:, ::1] sums, double[::1] weights, int n_threads) noexcept:
    """Add the G group accumulators (each k * d sums then k weights) in group order: a
    fixed summation order, whatever the thread count."""
    cdef Py_ssize_t stride = k * d + k, j, f, h
    cdef double s
    with nogil:
        for j in prange(k, num_threads=n_threads if k >= 64 else 1, schedule="static"):
            for f in range(d):
                s = 0.0
                for h in range(G):
                    s = s + acc[h * stride + j * d + f]
                sums[j, f] = s
            s = 0.0
            for h in range(G):
                s = s + acc[h * stride + k * d + j]
            weights[j] = s


cdef double* _group_accumulators(double[:, ::1] workspace, Py_ssize_t G,
                                 Py_ssize_t stride) except NULL:
    """The first of the G group accumulators of ``stride`` doubles in ``workspace``."""
    if G < 1 or workspace.shape[1] != stride:
        raise ValueError("workspace must have shape (n_groups >= 1, k * d + k)")
    return &workspace[0, 0]


cdef inline double* _zeroed_group(double* acc, Py_ssize_t g,
                                  Py_ssize_t stride) noexcept nogil:
    """Group g's accumulator, zeroed; NULL when there are none (a pass that only
    labels)."""
    if acc == NULL:
        return NULL
    memset(acc + g * stride, 0, stride * sizeof(double))
    return acc + g * stride


cdef Py_ssize_t _total(const Py_ssize_t[::1] counts) noexcept:
    cdef Py_ssize_t i, total = 0
    for i in range(counts.shape[0]):
        total += counts[i]
    return total


def lloyd_pass(const floating[:, ::1] X, const floating[::1] sample_weight,
               const floating[:, ::1] centers, int[::1] labels,
               double[:, ::1] sums, double[::1] weights, double[:, ::1] workspace,
               Py_ssize_t chunk, int n_threads, bint update, bint unit_weights=False,
               const double[::1] x_norms=None):
    """One Lloyd pass: label every row by its nearest centre; optionally accumulate.

    Parameters
    ----------
    X : (n, d) data; sample_weight : (n,); centers : (k, d), k >= 1.
    labels : (n,) int32, in/out. Holds the previous labels on entry (any value, e.g.
        -1, when there are none) and the new labels on exit.
    sums, weights : (k, d) and (k,) float64, out (only written when ``update``):
        ``sums[j] = sum of w_i x_i`` and ``weights[j] = sum of w_i`` over rows labelled j.
    workspace : (n_groups, k * d + k) float64 scratch, one accumulator per group (runs
        of consecutive chunks); its first dimension is the group count. Any content;
        unused (may be empty) unless ``update``.
    chunk : rows per GEMM block. Neither it nor the group count may depend on the
        thread count.
    n_threads : OpenMP threads (BLAS must be limited to one thread by the caller).
    update : accumulate (the M-step's input) or only label (predict).
    unit_weights : every weight is 1 (the same sums, without the multiplications).
    x_norms : (n,) float64, the rows' Euclidean norms, or None. float32 only: with them
        a row whose nearest centres are within the identity's rounding bound is decided
        by the exact distances (ignored for float64).

    Returns
    -------
    n_changed : int, the number of labels that differ from their value on entry.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = centers.shape[0]
    if n == 0:
        return 0
    if x_norms is not None and x_norms.shape[0] != n:
        raise ValueError("x_norms must have shape (n_samples,)")
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef Py_ssize_t G = min(workspace.shape[0], n_chunks) if update else n_chunks
    cdef Py_ssize_t stride = k * d + k
    cdef Py_ssize_t g, c, i0, i1, j, f, h, changed
    cdef double s
    cdef floating* buf = NULL
    cdef int* lab_buf = NULL
    cdef double* acc = NULL
    cdef double* acc_g
    cdef const double* xn = NULL
    cdef const double* xn_c
    cdef const floating* wp
    cdef double cmax = 0.0, gamma = 0.0
    cdef Py_ssize_t[::1] changed_per_group = np.zeros(G, dtype=np.intp)
    # the centres' squared norms as scikit-learn's row_norms computes them (same dtype,
    # same summation), so that the distances match its own to the last bit
    cdef floating[::1] cc = np.einsum("ij,ij->i", np.asarray(centers), np.asarray(centers))

    if floating is float:
        if x_norms is not None:
            xn = &x_norms[0]
            cmax = _cmax(centers)
            gamma = _gamma32(d)
    if update:
        acc = _group_accumulators(workspace, G, stride)
    if n_threads > G:
        n_threads = <int>G
    # per-thread scratch, allocated here so that a failure is a MemoryError
    cdef floating[:, ::1] bufs = np.empty((n_threads, chunk * k), dtype=np.asarray(X).dtype)
    cdef int[:, ::1] lab_bufs = np.empty((n_threads, chunk), dtype=np.int32)

    with nogil, parallel(num_threads=n_threads):
        buf = &bufs[threadid(), 0]
        lab_buf = &lab_bufs[threadid(), 0]
        for g in prange(G, schedule="dynamic"):
            acc_g = _zeroed_group(acc, g, stride)
            changed = 0
            for c in range(g * n_chunks // G, (g + 1) * n_chunks // G):
                i0 = c * chunk
                i1 = min(i0 + chunk, n)
                xn_c = NULL
                if xn != NULL:
                    xn_c = xn + i0
                wp = NULL
                if not unit_weights:
                    wp = &sample_weight[i0]
                changed = changed + _assign_rows(
                    &X[i0, 0], i1 - i0, d, &centers[0, 0], &cc[0], k, xn_c, cmax, gamma,
                    &labels[i0], buf, lab_buf, wp, acc_g,
                    acc_g + k * d if update else NULL)
            changed_per_group[g] = changed

    if update:
        _merge_groups(acc, G, k, d, sums, weights, n_threads)
    return _total(changed_per_group)


def assign_inertia(const floating[:, ::1] X, const floating[::1] sample_weight,
                   const floating[:, ::1] centers, int[::1] labels, Py_ssize_t chunk,
                   int n_threads, const double[::1] x_norms=None,
                   const floating[::1] shift=None, double scale=1.0):
    """The E-step and the inertia in one pass: ``labels`` (out) as in ``lloyd_pass``
    without update, and sum_i w_i ||x_i - c_{labels_i}||^2 computed while each chunk is
    still in cache. The inertia is summed exactly as ``inertia`` sums it (per chunk,
    chunks in order), so the two give the same value for the same labels.

    With ``shift`` (d,), each row is first transformed, ``t(x) = (x - shift) * scale``
    (``scale`` a power of two; computed as ``x * scale - shift * scale`` when it is
    below 1), into a per-thread buffer, and ``centers`` are taken to be in the
    transformed units already: this labels raw data without a transformed copy of it
    (float32: with the exact tie-break, norms computed on the fly). The inertia is in
    the transformed units. Without ``shift``, ``x_norms`` is as in ``lloyd_pass``."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = centers.shape[0]
    if n == 0:
        return 0.0
    if x_norms is not None and x_norms.shape[0] != n:
        raise ValueError("x_norms must have shape (n_samples,)")
    if shift is not None and shift.shape[0] != d:
        raise ValueError("shift must have shape (n_features,)")
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef double[::1] partial = np.zeros(n_chunks, dtype=np.float64)
    cdef floating[::1] cc = np.einsum("ij,ij->i", np.asarray(centers), np.asarray(centers))
    cdef Py_ssize_t c, i0, i1
    cdef double s
    cdef floating* buf = NULL
    cdef floating* xbuf = NULL
    cdef double* nbuf = NULL
    cdef int* lab_buf = NULL
    cdef const floating* rows
    cdef const double* xn = NULL
    cdef const double* xn_c
    cdef const floating* sh = NULL
    cdef bint transform = shift is not None, bounded = False, up = scale >= 1.0
    cdef double cmax = 0.0, gamma = 0.0
    cdef floating fscale = <floating>scale
    if floating is float:
        bounded = transform or x_norms is not None
        if bounded:
            cmax = _cmax(centers)
            gamma = _gamma32(d)
        if x_norms is not None and not transform:
            xn = &x_norms[0]
    if transform:
        sh = &shift[0]
    if n_threads > n_chunks:
        n_threads = <int>n_chunks
    dtype = np.asarray(X).dtype
    cdef floating[:, ::1] bufs = np.empty((n_threads, chunk * k), dtype=dtype)
    cdef int[:, ::1] lab_bufs = np.empty((n_threads, chunk), dtype=np.int32)
    cdef floating[:, ::1] xbufs = np.empty((n_threads, chunk * d if transform else 1),
                                           dtype=dtype)
    cdef double[:, ::1] nbufs = np.empty((n_threads, chunk if transform else 1))
    with nogil, parallel(num_threads=n_threads):
        buf = &bufs[threadid(), 0]
        lab_buf = &lab_bufs[threadid(), 0]
        xbuf = &xbufs[threadid(), 0]
        nbuf = &nbufs[threadid(), 0]
        for c in prange(n_chunks, schedule="static"):
            i0 = c * chunk
            i1 = min(i0 + chunk, n)
            rows = &X[i0, 0]
            xn_c = NULL
            if transform:
                _transform_rows(rows, i1 - i0, d, sh, fscale, up, xbuf,
                                nbuf if bounded else NULL)
                rows = xbuf
                if bounded:
                    xn_c = nbuf
            elif xn != NULL:
                xn_c = xn + i0
            _assign_rows(rows, i1 - i0, d, &centers[0, 0], &cc[0], k, xn_c, cmax, gamma,
                         &labels[i0], buf, lab_buf, NULL, NULL, NULL)
            partial[c] = _rows_inertia(rows, i1 - i0, d, &sample_weight[i0],
                                       &centers[0, 0], &labels[i0])
    s = 0.0
    for c in range(n_chunks):
        s += partial[c]
    return s


def inertia(const floating[:, ::1] X, const floating[::1] sample_weight,
            const floating[:, ::1] centers, const int[::1] labels,
            Py_ssize_t chunk, int n_threads):
    """sum_i w_i ||x_i - c_{labels_i}||^2, from the differences (no GEMM identity), in
    float64; per-chunk partial sums added in chunk order, so it does not depend on the
    thread count."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    if n == 0:
        return 0.0
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef double[::1] partial = np.zeros(n_chunks, dtype=np.float64)
    cdef Py_ssize_t c, i0
    cdef double s
    if n_threads > n_chunks:
        n_threads = <int>n_chunks
    for c in prange(n_chunks, nogil=True, num_threads=n_threads, schedule="static"):
        i0 = c * chunk
        partial[c] = _rows_inertia(&X[i0, 0], min(i0 + chunk, n) - i0, d,
                                   &sample_weight[i0], &centers[0, 0], &labels[i0])
    s = 0.0
    for c in range(n_chunks):
        s += partial[c]
    return s


def assigned_sq_distances(const floating[:, ::1] X, const floating[:, ::1] centers,
                          const int[::1] labels, double[::1] out, int n_threads):
    """out[i] = ||x_i - c_{labels_i}||^2 from the differences, in float64."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], i, f
    cdef double t, r
    cdef const floating* x
    cdef const floating* y
    for i in prange(n, nogil=True, num_threads=n_threads, schedule="static"):
        x = &X[i, 0]
        y = &centers[labels[i], 0]
        r = 0.0
        for f in range(d):
            t = <double>x[f] - <double>y[f]
            r = r + t * t
        out[i] = r


def row_norms(const floating[:, ::1] X, double[::1] out, int n_threads):
    """out[i] = ||x_i||, summed in float64."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], i, f
    cdef double r
    for i in prange(n, nogil=True, num_threads=n_threads, schedule="static"):
        r = 0.0
        for f in range(d):
            r = r + <double>X[i, f] * <double>X[i, f]
        out[i] = sqrt(r)


cdef inline void _to_double_rows(const floating* X, Py_ssize_t m, Py_ssize_t d,
                                 const double* shift, double scale, bint up,
                                 double* out, double* norms) noexcept nogil:
    """out = t(X rows) in double (the plain conversion when ``shift`` is NULL), and
    ``norms`` their squared norms."""
    cdef Py_ssize_t r, f
    cdef double v, s
    for r in range(m):
        s = 0.0
        for f in range(d):
            if shift == NULL:
                v = <double>X[r * d + f]
            elif up:
                v = (<double>X[r * d + f] - shift[f]) * scale
            else:
                v = <double>X[r * d + f] * scale - shift[f] * scale
            out[r * d + f] = v
            s = s + v * v
        norms[r] = s


def sq_distances(const floating[:, ::1] X, const floating[:, ::1] Y,
                 out_t[:, ::1] out, bint take_sqrt, Py_ssize_t chunk, int n_threads,
                 const double[::1] shift=None, double scale=1.0):
    """out[i, j] = ||t(x_i) - t(y_j)||^2 (its square root with ``take_sqrt``), computed in
    float64 whatever the dtypes, ``t`` as in ``assign_inertia`` (the identity without
    ``shift``).

    One DGEMM per chunk of rows gives the identity ||x||^2 + ||y||^2 - 2 x.y; every
    entry below 2^-8 (||x||^2 + ||y||^2), where the identity may have lost digits, is
    recomputed from the differences of the raw rows (times ``scale``), so equal rows
    are at distance exactly 0, rows a few ulps apart at their exact distance, and
    every entry is accurate to a few units in the 12th digit or better."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = Y.shape[0]
    if out.shape[0] != n or out.shape[1] != k:
        raise ValueError("out must have shape (n_samples_X, n_samples_Y)")
    if shift is not None and shift.shape[0] != d:
        raise ValueError("shift must have shape (n_features,)")
    if n == 0 or k == 0:
        return
    cdef const double* sh = &shift[0] if shift is not None else NULL
    cdef bint up = scale >= 1.0
    cdef double[:, ::1] Yd = np.empty((k, d), dtype=np.float64)
    cdef double[::1] yn = np.empty(k, dtype=np.float64)
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef Py_ssize_t c, i0, m, r, j, f
    cdef double* xbuf = NULL
    cdef double* xn = NULL
    cdef double* gbuf = NULL
    cdef double v, t, e
    cdef const floating* xr_raw
    cdef const floating* yr_raw
    if d == 0:
        out[:, :] = 0
        return
    with nogil:
        _to_double_rows(&Y[0, 0], k, d, sh, scale, up, &Yd[0, 0], &yn[0])
    if n_threads > n_chunks:
        n_threads = <int>n_chunks
    cdef double[:, ::1] xbufs = np.empty((n_threads, chunk * d))
    cdef double[:, ::1] xns = np.empty((n_threads, chunk))
    cdef double[:, ::1] gbufs = np.empty((n_threads, chunk * k))
    with nogil, parallel(num_threads=n_threads):
        xbuf = &xbufs[threadid(), 0]
        xn = &xns[threadid(), 0]
        gbuf = &gbufs[threadid(), 0]
        for c in prange(n_chunks, schedule="static"):
            i0 = c * chunk
            m = min(i0 + chunk, n) - i0
            _to_double_rows(&X[i0, 0], m, d, sh, scale, up, xbuf, xn)
            _gemm_xct(xbuf, &Yd[0, 0], gbuf, <int>m, <int>k, <int>d, -2.0)
            for r in range(m):
                for j in range(k):
                    e = xn[r] + yn[j]
                    v = gbuf[r * k + j] + e
                    if v <= _TINY * e:
                        # from the raw rows: x - y is exact (or nearly) for rows this
                        # close, where t(x) - t(y) would carry the shift's rounding
                        xr_raw = &X[i0 + r, 0]
                        yr_raw = &Y[j, 0]
                        v = 0.0
                        for f in range(d):
                            if up:
                                t = (<double>xr_raw[f] - <double>yr_raw[f]) * scale
                            else:
                                t = <double>xr_raw[f] * scale - <double>yr_raw[f] * scale
                            v = v + t * t
                    if take_sqrt:
                        v = sqrt(v)
                    out[i0 + r, j] = <out_t>v


# --------------------------------------------------------------------------- Elkan

cdef inline double _sqdist(const floating* x, const floating* c, Py_ssize_t d) noexcept nogil:
    if floating is float:
        return skml_sqdist_f(x, c, <int>d)
    else:
        return skml_sqdist_d(x, c, <int>d)


# Bounds kept in float32 are rounded outwards (a lower bound down, an upper bound up) by
# more than float32's half-ulp, so that they stay bounds.
cdef double _OUT32 = 2.0 ** -22


cdef inline floating _down(double v, floating kind) noexcept nogil:
    if floating is float:
        return <float>(v * (1.0 - _OUT32))
    else:
        return v


cdef inline floating _up(double v, floating kind) noexcept nogil:
    if floating is float:
        return <float>(v * (1.0 + _OUT32))
    else:
        return v


cdef struct _CsrRow:
    # one CSR row for Elkan's distances: its entries, its squared norm, and the centres'
    # squared norms; p0 == -1 means a dense row
    Py_ssize_t p0
    Py_ssize_t p1
    double x_sq
    const double* cc


cdef inline _CsrRow _csr_row(Py_ssize_t p0, Py_ssize_t p1, double x_sq,
                             const double* cc) noexcept nogil:
    # built whole (not field by field) so that a prange makes the variable private
    cdef _CsrRow row
    row.p0 = p0
    row.p1 = p1
    row.x_sq = x_sq
    row.cc = cc
    return row


cdef inline double _elkan_dist(const floating* x, const idx_t* indices, _CsrRow* row,
                               const floating* C, Py_ssize_t j, Py_ssize_t d) noexcept nogil:
    """Distance from the row to centre j: from the differences for a dense row (x its
    values); by the identity in float64 for a CSR row (x its data), recomputed from the
    differences where its rounding bound exceeds ``_REL_EXACT`` of it."""
    cdef Py_ssize_t p
    cdef double s = 0.0
    cdef const floating* c = C + j * d
    if row.p0 < 0:
        return sqrt(_sqdist(x, c, d))
    for p in range(row.p0, row.p1):
        s = s + <double>x[p] * <double>c[indices[p]]
    return sqrt(_csr_checked_sq(row.x_sq + row.cc[j] - 2.0 * s, row.x_sq, row.cc[j],
                                row.p1 - row.p0, x, indices, row.p0, row.p1, c, d))


cdef inline void _loosen(floating* up, floating* low, int lab, const double* shifts,
                         Py_ssize_t k) noexcept nogil:
    """Loosen a row's bounds by the centres' moves since they were computed."""
    cdef Py_ssize_t j
    cdef double v
    cdef floating kind = 0
    up[0] = _up(<double>up[0] + shifts[lab], kind)
    for j in range(k):
        v = <double>low[j] - shifts[j]
        low[j] = _down(v, kind) if v > 0 else 0


cdef inline int _elkan_row(const floating* x, const idx_t* indices, _CsrRow* row,
                           const floating* C, Py_ssize_t k, Py_ssize_t d,
                           const double* half, const double* s_near, int lab,
                           const double* shifts, floating* up, floating* low,
                           bint init) noexcept nogil:
    """The nearest centre of the row (exact distances, ties to the smaller index),
    pruned by the triangle inequality; updates its upper bound ``up`` and lower bounds
    ``low``, first loosened by the centres' moves ``shifts`` (unless ``init``).

    ``half[l * k + j]`` is half the distance between centres l and j, ``s_near[l]``
    the smallest of those over j != l. A centre j is skipped only when it cannot be
    nearer than the current one, nor as near with a smaller index: ``u < low[j]`` or
    ``u < half[l, j]`` for an upper bound ``u`` of the distance to the current centre.
    """
    cdef Py_ssize_t j
    cdef double u, dj
    cdef bint tight = False
    cdef floating kind = 0
    if not init:
        _loosen(up, low, lab, shifts, k)
    if init:
        lab = 0
        u = _elkan_dist(x, indices, row, C, 0, d)
        low[0] = _down(u, kind)
        for j in range(1, k):
            # d(x, c_j) >= 2 half - u >= u: neither nearer nor a tie with a smaller index
            if u <= half[lab * k + j]:
                low[j] = 0
                continue
            dj = _elkan_dist(x, indices, row, C, j, d)
            low[j] = _down(dj, kind)
            if dj < u:
                lab = <int>j
                u = dj
        up[0] = _up(u, kind)
        return lab
    u = up[0]
    if u < s_near[lab]:
        return lab
    for j in range(k):
        if j == lab:
            continue
        if u < low[j] or u < half[lab * k + j]:
            continue
        if not tight:
            u = _elkan_dist(x, indices, row, C, lab, d)
            low[lab] = _down(u, kind)
            tight = True
            if u < low[j] or u < half[lab * k + j]:
                continue
        dj = _elkan_dist(x, indices, row, C, j, d)
        low[j] = _down(dj, kind)
        if dj < u or (dj == u and j < lab):
            lab = <int>j
            u = dj
    up[0] = _up(u, kind)
    return lab


def _half_distances(const floating[:, ::1] centers):
    """Half the distances between centres (k, k) and each centre's smallest (k,)."""
    cdef Py_ssize_t k = centers.shape[0], d = centers.shape[1], j, jj
    cdef double v
    cdef double[:, ::1] half = np.zeros((k, k))
    cdef double[::1] s_near = np.full(k, np.inf)
    with nogil:
        for j in range(k):
            for jj in range(j + 1, k):
                v = 0.5 * sqrt(_sqdist(&centers[j, 0], &centers[jj, 0], d))
                half[j, jj] = v
                half[jj, j] = v
                if v < s_near[j]:
                    s_near[j] = v
                if v < s_near[jj]:
                    s_near[jj] = v
    return np.asarray(half), np.asarray(s_near)


def elkan_pass(const floating[:, ::1] X, const floating[::1] sample_weight,
               const floating[:, ::1] centers, const double[::1] shifts, int[::1] labels,
               floating[::1] upper, floating[:, ::1] lower,
               double[:, ::1] sums, double[::1] weights, double[:, ::1] workspace,
               Py_ssize_t chunk, int n_threads, bint update, bint unit_weights, bint init):
    """One assignment pass of Elkan's algorithm, with the same accumulation as
    ``lloyd_pass`` (same chunks, groups and merge order: the same labels give the same
    sums, bit for bit).

    Parameters
    ----------
    X, sample_weight, centers, labels, sums, weights, workspace, chunk, n_threads,
    update, unit_weights : as in ``lloyd_pass``.
    shifts : (k,) float64, how far each centre moved since the previous pass (ignored
        when ``init``); the bounds are loosened by them first.
    upper : (n,) and lower : (n, k), in/out, in X's dtype: bounds on the distance of
        each row to its centre and to every centre. Any content when ``init``.
    init : first pass: the bounds are computed from scratch.

    The distances are exact (from the differences, in double); a row's label is its
    nearest centre with ties to the smaller index, as in ``lloyd_pass`` up to the
    rounding of the distances.

    Returns
    -------
    n_changed : int
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = centers.shape[0]
    if n == 0:
        return 0
    if upper.shape[0] != n or lower.shape[0] != n or lower.shape[1] != k:
        raise ValueError("upper and lower must have shapes (n,) and (n, k)")
    if shifts.shape[0] != k:
        raise ValueError("shifts must have shape (k,)")
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef Py_ssize_t G = min(workspace.shape[0], n_chunks) if update else n_chunks
    cdef Py_ssize_t stride = k * d + k
    cdef Py_ssize_t g, c, i, i0, i1, j, jj, f, h, changed
    cdef double s, v
    cdef double* acc = NULL
    cdef double* acc_g
    cdef const floating* wp
    cdef int lab
    cdef floating kind = 0
    cdef Py_ssize_t[::1] changed_per_group = np.zeros(G, dtype=np.intp)
    cdef _CsrRow dense_row = _csr_row(-1, -1, 0.0, NULL)
    half_arr, s_near_arr = _half_distances(centers)
    cdef double[:, ::1] half = half_arr
    cdef double[::1] s_near = s_near_arr
    if update:
        acc = _group_accumulators(workspace, G, stride)
    if n_threads > G:
        n_threads = <int>G

    with nogil:
        for g in prange(G, schedule="dynamic", num_threads=n_threads):
            acc_g = _zeroed_group(acc, g, stride)
            changed = 0
            for c in range(g * n_chunks // G, (g + 1) * n_chunks // G):
                i0 = c * chunk
                i1 = min(i0 + chunk, n)
                for i in range(i0, i1):
                    lab = _elkan_row(&X[i, 0], <cnp.int32_t*>NULL, &dense_row,
                                     &centers[0, 0], k, d, &half[0, 0], &s_near[0],
                                     labels[i], &shifts[0], &upper[i], &lower[i, 0], init)
                    if lab != labels[i]:
                        changed = changed + 1
                        labels[i] = lab
                if update:
                    wp = NULL
                    if not unit_weights:
                        wp = &sample_weight[i0]
                    if floating is float:
                        skml_accumulate_f(&X[i0, 0], wp, &labels[i0], <int>(i1 - i0),
                                          <int>d, acc_g, acc_g + k * d)
                    else:
                        skml_accumulate_d(&X[i0, 0], wp, &labels[i0], <int>(i1 - i0),
                                          <int>d, acc_g, acc_g + k * d)
            changed_per_group[g] = changed

    if update:
        _merge_groups(acc, G, k, d, sums, weights, n_threads)
    return _total(changed_per_group)


# --------------------------------------------------------------------------- CSR rows
#
# Sparse input is never densified: a row's dot products with every centre are summed
# over its stored entries, from the centres transposed to (n_features, k) float64 so
# that each entry adds one contiguous k-vector. Distances use the identity in float64,
# ||x||^2 + ||c||^2 - 2 x.c, with ||x||^2 summed over the stored entries in their order
# (the caller hands canonical CSR: sorted indices, no duplicates), so a row at a centre
# equal to it is at distance exactly 0. Sparse data are not centred (that would fill
# them), and the identity in float64 keeps ~1e-16 of the norms: float32 input gets the
# float64 labels. The labels are computed in parallel over chunks of rows; the sums for
# the update are then made in parallel over the centres, each centre adding its rows in
# row order (a counting sort by label gives the order): a fixed summation order whatever
# the thread count, with no per-thread copy of the (k, n_features) sums.
#
# Accuracy. Sparse rows cannot be centred, so on data far from the origin (stored values
# near 1e8 and a spread of 1) the identity cancels all the digits that tell centres
# apart. Its rounding is bounded: with the centres' squared norms summed compensated
# (``_sq_norm``, error <= 3u ||c||^2), a row of nnz entries has
# |error| <= gamma_{nnz+6} (||x|| + ||c||)^2 (u = 2^-53). Lloyd's labels: every centre
# within twice that bound of the smallest value is a candidate, and when there are
# several the exact squared distances of the candidates decide (``_csr_exact_sq``, from
# the differences over all the features: the row's labels are those of the exact
# float64 computation). Distances (``sq_distances_csr``, the inertia, Elkan's): an
# entry whose bound exceeds ``_REL_EXACT`` of its value is recomputed exactly, so every
# distance handed out is within ``_REL_EXACT`` of the exact one. On ordinary sparse data
# the bound is ~1e-14 of the distances and nothing is recomputed.

cdef double _U64 = 2.0 ** -53
cdef double _REL_EXACT = 2.0 ** -36


cdef inline double _gamma64(Py_ssize_t m) noexcept nogil:
    """An upper bound of gamma_{m+6} = t / (1 - t), t = (m + 6) u, without a division
    (per row in the passes): t (1 + 2^-13) >= t / (1 - t) for any t <= 2^-14, i.e. up
    to 2^39 terms."""
    return (m + 6) * _U64 * (1.0 + 2.0 ** -13)


cdef inline double _sq_norm(const floating* c, Py_ssize_t d) noexcept nogil:
    """||c||^2 in float64, summed with Neumaier's compensation: within 3u of the exact
    value (the squares' own rounding included), whatever d."""
    cdef Py_ssize_t f
    cdef double s = 0.0, comp = 0.0, v, t
    for f in range(d):
        v = <double>c[f] * <double>c[f]
        t = s + v
        if fabs(s) >= fabs(v):
            comp = comp + ((s - t) + v)
        else:
            comp = comp + ((v - t) + s)
        s = t
    return s + comp


def _sq_norms(const floating[:, ::1] centers):
    """Each row's ``_sq_norm`` (k,) float64."""
    cdef Py_ssize_t k = centers.shape[0], d = centers.shape[1], j
    out_arr = np.empty(k, dtype=np.float64)
    cdef double[::1] out = out_arr
    with nogil:
        for j in range(k):
            out[j] = _sq_norm(&centers[j, 0], d) if d > 0 else 0.0
    return out_arr


cdef inline double _csr_exact_sq(const floating* data, const idx_t* indices,
                                 Py_ssize_t p0, Py_ssize_t p1, const floating* c,
                                 Py_ssize_t d) noexcept nogil:
    """||x - c||^2 for the CSR row with (sorted) entries p0:p1 and the dense row c, from
    the differences over every feature, in float64, in feature order."""
    cdef Py_ssize_t f, p = p0
    cdef double s = 0.0, t
    for f in range(d):
        if p < p1 and indices[p] == f:
            t = <double>data[p] - <double>c[f]
            p = p + 1
        else:
            t = <double>c[f]
        s = s + t * t
    return s


cdef inline double _csr_row_sq(const floating* data, Py_ssize_t p0,
                               Py_ssize_t p1) noexcept nogil:
    cdef Py_ssize_t p
    cdef double s = 0.0
    for p in range(p0, p1):
        s = s + <double>data[p] * <double>data[p]
    return s


cdef inline double _csr_checked_sq(double v, double x_sq, double c_sq, Py_ssize_t nnz,
                                   const floating* data, const idx_t* indices,
                                   Py_ssize_t p0, Py_ssize_t p1, const floating* c,
                                   Py_ssize_t d) noexcept nogil:
    """The identity's value ``v`` of ||x - c||^2 (clipped at 0), or the exact value when
    its rounding bound exceeds ``_REL_EXACT`` of it."""
    cdef double r = sqrt(x_sq) + sqrt(c_sq)
    if _gamma64(nnz) * r * r > _REL_EXACT * v:
        return _csr_exact_sq(data, indices, p0, p1, c, d)
    return v if v > 0 else 0.0


cdef inline void _row_dots(const floating* data, const idx_t* indices, Py_ssize_t p0,
                           Py_ssize_t p1, const floating* cT, Py_ssize_t k,
                           double* dot) noexcept nogil:
    """dot[j] = x . c_j (float64) for the CSR row with entries p0:p1 (cT: the centres
    transposed, in the data's dtype); the C loops of ``_kmeans_lloyd.h``."""
    if floating is double:
        if idx_t is cnp.int32_t:
            skml_row_dots_d32(data, indices, p0, p1, cT, <int>k, dot)
        else:
            skml_row_dots_d64(data, indices, p0, p1, cT, <int>k, dot)
    else:
        if idx_t is cnp.int32_t:
            skml_row_dots_f32(data, indices, p0, p1, cT, <int>k, dot)
        else:
            skml_row_dots_f64(data, indices, p0, p1, cT, <int>k, dot)


cdef void _accumulate_by_centre(const floating* data, const idx_t* indices,
                                const idx_t* indptr, const floating* sample_weight,
                                bint unit_weights, const int* labels, Py_ssize_t n,
                                Py_ssize_t k, Py_ssize_t d, double[:, ::1] sums,
                                double[::1] weights, int n_threads) noexcept:
    """sums[j] = sum of w_i x_i and weights[j] = sum of w_i over the rows labelled j,
    each centre's rows added in row order, centres in parallel."""
    cdef Py_ssize_t[::1] start = np.zeros(k + 1, dtype=np.intp)
    cdef Py_ssize_t[::1] order = np.empty(max(n, 1), dtype=np.intp)
    cdef Py_ssize_t[::1] fill = np.empty(k, dtype=np.intp)
    cdef Py_ssize_t i, j, q, p
    cdef double w, wsum
    cdef double* s
    with nogil:
        for i in range(n):
            start[labels[i] + 1] += 1
        for j in range(k):
            start[j + 1] += start[j]
            fill[j] = start[j]
        for i in range(n):
            order[fill[labels[i]]] = i
            fill[labels[i]] += 1
        for j in prange(k, schedule="dynamic", num_threads=n_threads):
            s = &sums[j, 0]
            memset(s, 0, d * sizeof(double))
            wsum = 0.0
            for q in range(start[j], start[j + 1]):
                i = order[q]
                w = 1.0 if unit_weights else <double>sample_weight[i]
                wsum = wsum + w
                for p in range(indptr[i], indptr[i + 1]):
                    s[indices[p]] += w * <double>data[p]
            weights[j] = wsum


def _transposed(const floating[:, ::1] centers):
    """(n_features, k) copy of the centres in their dtype (blocked, so that both sides
    stay in cache), and their squared norms in float64 (``_sq_norm``)."""
    cdef Py_ssize_t k = centers.shape[0], d = centers.shape[1], j, f, f0, f1
    cdef double s
    cT_arr = np.empty((d, k), dtype=np.asarray(centers).dtype)
    cc_arr = np.empty(k, dtype=np.float64)
    cdef floating[:, ::1] cT = cT_arr
    cdef double[::1] cc = cc_arr
    with nogil:
        for f0 in range(0, d, 256):
            f1 = min(f0 + 256, d)
            for j in range(k):
                for f in range(f0, f1):
                    cT[f, j] = centers[j, f]
        for j in range(k):
            cc[j] = _sq_norm(&centers[j, 0], d) if d > 0 else 0.0
    return cT_arr, cc_arr


def update_centers(const double[:, ::1] sums, const double[::1] weights,
                   const floating[:, ::1] old, floating[:, ::1] new, double[::1] moves):
    """The M-step in one pass: new[j] = sums[j] / weights[j] rounded to the dtype (old[j]
    where weights[j] == 0), and moves[j] = ||new[j] - old[j]|| in float64."""
    cdef Py_ssize_t k = old.shape[0], d = old.shape[1], j, f
    cdef double s, t, w
    with nogil:
        for j in range(k):
            w = weights[j]
            s = 0.0
            for f in range(d):
                if w > 0:
                    new[j, f] = <floating>(sums[j, f] / w)
                else:
                    new[j, f] = old[j, f]
                t = <double>new[j, f] - <double>old[j, f]
                s = s + t * t
            moves[j] = sqrt(s)


def csr_sq_norms(const floating[::1] data, const idx_t[::1] indptr, double[::1] out,
                 int n_threads):
    """out[i] = ||x_i||^2 over the stored entries of row i, in float64."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, i, p
    cdef double s
    for i in prange(n, nogil=True, num_threads=n_threads, schedule="static"):
        s = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            s = s + <double>data[p] * <double>data[p]
        out[i] = s


def lloyd_pass_csr(const floating[::1] data, const idx_t[::1] indices,
                   const idx_t[::1] indptr, const floating[::1] sample_weight,
                   const floating[:, ::1] centers, int[::1] labels,
                   double[:, ::1] sums, double[::1] weights, Py_ssize_t chunk,
                   int n_threads, bint update, bint unit_weights,
                   const double[::1] x_sq_norms=None, double[::1] sq_dist=None):
    """``lloyd_pass`` for the CSR matrix (data, indices, indptr), canonical.

    A row whose nearest centres are within the identity's rounding bound of each other
    is labelled by the exact distances of those centres (see the section's notes), so
    the labels are those of the exact float64 computation, wherever the data lie.

    With ``sq_dist`` (n,), each row's squared distance to its new centre (float64,
    within ``_REL_EXACT`` of the exact value; needs ``x_sq_norms``) is written too: the
    inertia in the same pass. Returns the number of labels that changed."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, k = centers.shape[0], d = centers.shape[1]
    if n == 0:
        return 0
    if sq_dist is not None and (x_sq_norms is None or sq_dist.shape[0] != n
                                or x_sq_norms.shape[0] != n):
        raise ValueError("sq_dist needs x_sq_norms, both of shape (n_samples,)")
    if x_sq_norms is not None and x_sq_norms.shape[0] != n:
        raise ValueError("x_sq_norms must have shape (n_samples,)")
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef Py_ssize_t c, i, i0, i1, j, p0, p1
    cdef double* dot = NULL
    cdef double* vals = NULL
    cdef int* lab_buf = NULL
    cdef int lab, count
    cdef double v, x_sq, r, thr, ex, best_ex, lab_ex
    cdef bint want_dist = sq_dist is not None
    cdef Py_ssize_t[::1] changed_per_chunk = np.zeros(n_chunks, dtype=np.intp)
    cT_arr, cc_arr = _transposed(centers)
    cdef floating[:, ::1] cT = cT_arr
    cdef double[::1] cc = cc_arr
    cdef double cmax = sqrt(max(0.0, float(np.max(cc_arr))))
    cdef const double* xsq = &x_sq_norms[0] if x_sq_norms is not None else NULL
    if n_threads > n_chunks:
        n_threads = <int>n_chunks
    cdef double[:, ::1] dots = np.empty((n_threads, chunk * k))
    cdef int[:, ::1] lab_bufs = np.empty((n_threads, chunk), dtype=np.int32)

    with nogil, parallel(num_threads=n_threads):
        dot = &dots[threadid(), 0]
        lab_buf = &lab_bufs[threadid(), 0]
        for c in prange(n_chunks, schedule="dynamic"):
            i0 = c * chunk
            i1 = min(i0 + chunk, n)
            for i in range(i0, i1):
                vals = dot + (i - i0) * k
                _row_dots(&data[0], &indices[0], indptr[i], indptr[i + 1], &cT[0, 0], k,
                          vals)
                for j in range(k):
                    vals[j] = -2.0 * vals[j]
            # the first index of the smallest -2 x.c + ||c||^2 (float64)
            skml_argmin_rows_d(dot, &cc[0], <int>(i1 - i0), <int>k, lab_buf)
            for i in range(i0, i1):
                vals = dot + (i - i0) * k
                lab = lab_buf[i - i0]
                p0 = indptr[i]
                p1 = indptr[i + 1]
                x_sq = xsq[i] if xsq != NULL else _csr_row_sq(&data[0], p0, p1)
                # candidates: within 2 E of the smallest (3 E covers the rounding of
                # the threshold itself: E >= 6u (||x|| + cmax)^2 >= 6u |value|)
                r = sqrt(x_sq) + cmax
                thr = (vals[lab] + cc[lab]) + 3.0 * _gamma64(p1 - p0) * r * r
                count = 0
                for j in range(k):
                    if vals[j] + cc[j] <= thr:
                        count = count + 1
                lab_ex = -1.0
                if count > 1:
                    best_ex = -1.0
                    for j in range(k):
                        if vals[j] + cc[j] <= thr:
                            ex = _csr_exact_sq(&data[0], &indices[0], p0, p1,
                                               &centers[j, 0], d)
                            if best_ex < 0 or ex < best_ex:
                                best_ex = ex
                                lab = <int>j
                    lab_ex = best_ex
                if lab != labels[i]:
                    changed_per_chunk[c] += 1
                    labels[i] = lab
                if want_dist:
                    if lab_ex >= 0:
                        sq_dist[i] = lab_ex
                    else:
                        sq_dist[i] = _csr_checked_sq(
                            x_sq + (vals[lab] + cc[lab]), x_sq, cc[lab], p1 - p0,
                            &data[0], &indices[0], p0, p1, &centers[lab, 0], d)

    if update:
        _accumulate_by_centre(&data[0], &indices[0], &indptr[0], &sample_weight[0],
                              unit_weights, &labels[0], n, k, d, sums, weights, n_threads)
    return _total(changed_per_chunk)


def sq_distances_csr(const floating[::1] data, const idx_t[::1] indices,
                     const idx_t[::1] indptr, const double[::1] x_sq_norms,
                     const floating[:, ::1] Y, const double[::1] y_sq_norms,
                     out_t[:, ::1] out, bint take_sqrt, int n_threads):
    """out[i, j] = ||x_i - y_j||^2 (or its root) for CSR rows x and dense rows y (of X's
    dtype), by the identity in float64, clipped at 0; an entry whose rounding bound
    exceeds ``_REL_EXACT`` of it is recomputed from the differences (a row against its
    own dense copy is at exactly 0). ``x_sq_norms`` as ``csr_sq_norms`` gives them;
    ``y_sq_norms`` is not read: the rows of Y are normed here, compensated, so that the
    bound depends on the CSR row's stored entries only (not on n_features)."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, k = Y.shape[0], d = Y.shape[1], i, j
    if out.shape[0] != n or out.shape[1] != k:
        raise ValueError("out must have shape (n_samples_X, n_samples_Y)")
    if n == 0 or k == 0:
        return
    cdef floating[:, ::1] YT = np.ascontiguousarray(np.asarray(Y).T)
    cdef double[::1] yn = _sq_norms(Y)
    cdef double[:, ::1] dots = np.empty((max(1, n_threads), k))
    cdef double* dot = NULL
    cdef double v
    with nogil, parallel(num_threads=n_threads):
        dot = &dots[threadid(), 0]
        for i in prange(n, schedule="static"):
            _row_dots(&data[0], &indices[0], indptr[i], indptr[i + 1], &YT[0, 0], k, dot)
            for j in range(k):
                v = _csr_checked_sq(x_sq_norms[i] + yn[j] - 2.0 * dot[j],
                                    x_sq_norms[i], yn[j], indptr[i + 1] - indptr[i],
                                    &data[0], &indices[0], indptr[i], indptr[i + 1],
                                    &Y[j, 0], d)
                if take_sqrt:
                    v = sqrt(v)
                out[i, j] = <out_t>v


def assigned_sq_distances_csr(const floating[::1] data, const idx_t[::1] indices,
                              const idx_t[::1] indptr, const double[::1] x_sq_norms,
                              const floating[:, ::1] centers, const int[::1] labels,
                              double[::1] out, int n_threads):
    """out[i] = ||x_i - c_{labels_i}||^2 for CSR rows (the identity in float64, >= 0;
    recomputed from the differences where its rounding bound exceeds ``_REL_EXACT`` of
    it). ``x_sq_norms`` as ``csr_sq_norms`` gives them."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, d = centers.shape[1], i, p
    cdef double s
    cdef double[::1] cc = _sq_norms(centers)
    for i in prange(n, nogil=True, num_threads=n_threads, schedule="static"):
        s = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            s = s + <double>data[p] * <double>centers[labels[i], indices[p]]
        out[i] = _csr_checked_sq(x_sq_norms[i] + cc[labels[i]] - 2.0 * s, x_sq_norms[i],
                                 cc[labels[i]], indptr[i + 1] - indptr[i], &data[0],
                                 &indices[0], indptr[i], indptr[i + 1],
                                 &centers[labels[i], 0], d)


def elkan_pass_csr(const floating[::1] data, const idx_t[::1] indices,
                   const idx_t[::1] indptr, const double[::1] x_sq_norms,
                   const floating[::1] sample_weight, const floating[:, ::1] centers,
                   const double[::1] shifts, int[::1] labels, floating[::1] upper,
                   floating[:, ::1] lower, double[:, ::1] sums, double[::1] weights,
                   Py_ssize_t chunk, int n_threads, bint update, bint unit_weights,
                   bint init):
    """``elkan_pass`` for the CSR matrix (data, indices, indptr), canonical; the
    distances by the identity in float64 (``x_sq_norms`` as ``csr_sq_norms`` gives), the
    sums as in ``lloyd_pass_csr``."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, k = centers.shape[0], d = centers.shape[1]
    if n == 0:
        return 0
    if upper.shape[0] != n or lower.shape[0] != n or lower.shape[1] != k:
        raise ValueError("upper and lower must have shapes (n,) and (n, k)")
    if shifts.shape[0] != k or x_sq_norms.shape[0] != n:
        raise ValueError("shifts must have shape (k,), x_sq_norms (n,)")
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef Py_ssize_t c, i, i0, i1
    cdef int lab
    cdef _CsrRow row
    cdef Py_ssize_t[::1] changed_per_chunk = np.zeros(n_chunks, dtype=np.intp)
    half_arr, s_near_arr = _half_distances(centers)
    cdef double[:, ::1] half = half_arr
    cdef double[::1] s_near = s_near_arr
    cdef double[::1] cc = _sq_norms(centers)
    if n_threads > n_chunks:
        n_threads = <int>n_chunks

    with nogil:
        for c in prange(n_chunks, schedule="dynamic", num_threads=n_threads):
            i0 = c * chunk
            i1 = min(i0 + chunk, n)
            for i in range(i0, i1):
                row = _csr_row(indptr[i], indptr[i + 1], x_sq_norms[i], &cc[0])
                lab = _elkan_row(&data[0], &indices[0], &row, &centers[0, 0], k, d,
                                 &half[0, 0], &s_near[0], labels[i], &shifts[0],
                                 &upper[i], &lower[i, 0], init)
                if lab != labels[i]:
                    changed_per_chunk[c] += 1
                    labels[i] = lab

    if update:
        _accumulate_by_centre(&data[0], &indices[0], &indptr[0], &sample_weight[0],
                              unit_weights, &labels[0], n, k, d, sums, weights, n_threads)
    return _total(changed_per_chunk)
