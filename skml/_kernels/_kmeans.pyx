# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Lloyd's k-means step: assignment (E) and accumulation for the update (M).

Private and dumb: ``skml.cluster._kmeans`` validates the inputs and hands over
C-contiguous float32/float64 arrays (X, sample weights and centres of one dtype), int32
labels, float64 accumulators, the chunk size, the group count and the thread count.
Nothing here writes into X, the weights or the centres.

One pass over the data works through chunks of ``chunk`` rows. For each chunk one GEMM
(``scipy.linalg.cython_blas``) gives ``-2 x.c`` for every row and centre into a small
per-thread buffer (never an n x k matrix for the whole data); the row's label is the
first index of the smallest ``-2 x.c + ||c||^2`` (``||x||^2`` is the same for every
centre of a row, so it is left out), found by a fused argmin while the block is in
cache; and the row is added, times its weight, to its centre's running sums (float64
for both dtypes). The argmin and the accumulation are small C loops that use AVX2 when
the CPU has it (detected at import; the extension itself targets the baseline ISA).
Both paths give identical results.

Determinism: the chunks are split into ``n_groups`` runs of consecutive chunks. A group
is processed by one thread from start to end into its own accumulator, and the group
accumulators are merged in group order after the parallel loop. Neither the chunk size
nor the group count depends on the thread count (the caller derives them from the data's
shape), so the floating-point sums, and with them the centres, are bit-for-bit the same
whatever the number of threads.
"""
from cython cimport floating
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from scipy.linalg.cython_blas cimport sgemm, dgemm

import numpy as np

cimport numpy as cnp

cnp.import_array()


cdef extern from *:
    """
    /* Inner loops of the Lloyd pass, in C so that they can use AVX2 where the CPU has
       it (chosen at run time: the extension itself is built for the baseline ISA).

       skml_argmin_rows: for each row r < m of a row-major m x k block, the first index
       j of the smallest buf[r, j] + cc[j]: exactly what a strict-< running argmin gives
       (ties to the smaller index). The AVX2 path finds the minimum with vector mins and
       then the first index holding it with compare masks, so it has no data-dependent
       branch per centre; every sum is rounded exactly as in the scalar loop, so both
       paths give the same labels.

       skml_accumulate: for each row r < m of a chunk, sums[lab[r]] += w[r] * x[r] and
       wsum[lab[r]] += w[r], in double (no fused multiply-add, in either path); w NULL
       means unit weights (the same sums, without the multiplications). */
    #include <math.h>
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
    #define SKML_X86_DISPATCH 1
    #include <immintrin.h>
    #endif

    static int skml_avx2 = 0;

    static void skml_detect_cpu(void) {
    #ifdef SKML_X86_DISPATCH
        __builtin_cpu_init();
        skml_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    #endif
    }

    #define SKML_SCALAR_ARGMIN(T)                                                  \\
        {                                                                         \\
            T best = row[0] + cc[0], v;                                           \\
            int lab = 0, j;                                                       \\
            for (j = 1; j < k; j++) {                                             \\
                v = row[j] + cc[j];                                               \\
                if (v < best) { best = v; lab = j; }                              \\
            }                                                                     \\
            return lab;                                                           \\
        }

    static int skml_argmin_row_scalar_d(const double* row, const double* cc, int k)
    SKML_SCALAR_ARGMIN(double)
    static int skml_argmin_row_scalar_f(const float* row, const float* cc, int k)
    SKML_SCALAR_ARGMIN(float)

    #ifdef SKML_X86_DISPATCH
    __attribute__((target("avx2")))
    static void skml_argmin_rows_d_avx2(const double* buf, const double* cc, int m, int k,
                                        int* out) {
        int r, j, base, lab;
        for (r = 0; r < m; r++) {
            const double* row = buf + (size_t)r * k;
            __m256d mn = _mm256_set1_pd(HUGE_VAL), b;
            __m128d lo;
            double best, v;
            for (j = 0; j + 4 <= k; j += 4)
                mn = _mm256_min_pd(_mm256_add_pd(_mm256_loadu_pd(row + j),
                                                 _mm256_loadu_pd(cc + j)), mn);
            lo = _mm_min_pd(_mm256_castpd256_pd128(mn), _mm256_extractf128_pd(mn, 1));
            lo = _mm_min_sd(lo, _mm_unpackhi_pd(lo, lo));
            best = _mm_cvtsd_f64(lo);
            for (; j < k; j++) { v = row[j] + cc[j]; if (v < best) best = v; }
            b = _mm256_set1_pd(best);
            lab = -1;
            for (base = 0; base + 4 <= k && lab < 0; ) {
                unsigned long long mask = 0;
                int stop = base + 64 < k ? base + 64 : k;
                for (j = base; j + 4 <= stop; j += 4)
                    mask |= (unsigned long long)_mm256_movemask_pd(_mm256_cmp_pd(
                        _mm256_add_pd(_mm256_loadu_pd(row + j), _mm256_loadu_pd(cc + j)),
                        b, _CMP_EQ_OQ)) << (j - base);
                if (mask) lab = base + __builtin_ctzll(mask);
                base = j;
            }
            for (j = k & ~3; lab < 0 && j < k; j++) if (row[j] + cc[j] == best) lab = j;
            out[r] = lab >= 0 ? lab : skml_argmin_row_scalar_d(row, cc, k);
        }
    }

    __attribute__((target("avx2")))
    static void skml_argmin_rows_f_avx2(const float* buf, const float* cc, int m, int k,
                                        int* out) {
        int r, j, base, lab;
        for (r = 0; r < m; r++) {
            const float* row = buf + (size_t)r * k;
            __m256 mn = _mm256_set1_ps(HUGE_VALF), b;
            __m128 lo;
            float best, v;
            for (j = 0; j + 8 <= k; j += 8)
                mn = _mm256_min_ps(_mm256_add_ps(_mm256_loadu_ps(row + j),
                                                 _mm256_loadu_ps(cc + j)), mn);
            lo = _mm_min_ps(_mm256_castps256_ps128(mn), _mm256_extractf128_ps(mn, 1));
            lo = _mm_min_ps(lo, _mm_movehl_ps(lo, lo));
            lo = _mm_min_ss(lo, _mm_shuffle_ps(lo, lo, 1));
            best = _mm_cvtss_f32(lo);
            for (; j < k; j++) { v = row[j] + cc[j]; if (v < best) best = v; }
            b = _mm256_set1_ps(best);
            lab = -1;
            for (base = 0; base + 8 <= k && lab < 0; ) {
                unsigned long long mask = 0;
                int stop = base + 64 < k ? base + 64 : k;
                for (j = base; j + 8 <= stop; j += 8)
                    mask |= (unsigned long long)_mm256_movemask_ps(_mm256_cmp_ps(
                        _mm256_add_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(cc + j)),
                        b, _CMP_EQ_OQ)) << (j - base);
                if (mask) lab = base + __builtin_ctzll(mask);
                base = j;
            }
            for (j = k & ~7; lab < 0 && j < k; j++) if (row[j] + cc[j] == best) lab = j;
            out[r] = lab >= 0 ? lab : skml_argmin_row_scalar_f(row, cc, k);
        }
    }

    #define SKML_ACCUMULATE(T)                                                     \\
        {                                                                         \\
            int r, f;                                                             \\
            for (r = 0; r < m; r++) {                                             \\
                const T* x = X + (size_t)r * d;                                   \\
                double* s = sums + (size_t)lab[r] * d;                            \\
                if (w) {                                                          \\
                    double wr = (double)w[r];                                     \\
                    wsum[lab[r]] += wr;                                           \\
                    for (f = 0; f < d; f++) s[f] += wr * (double)x[f];            \\
                } else {                                                          \\
                    wsum[lab[r]] += 1.0;                                          \\
                    for (f = 0; f < d; f++) s[f] += (double)x[f];                 \\
                }                                                                 \\
            }                                                                     \\
        }

    __attribute__((target("avx2")))
    static void skml_accumulate_d_avx2(const double* X, const double* w, const int* lab,
                                       int m, int d, double* sums, double* wsum)
    SKML_ACCUMULATE(double)
    __attribute__((target("avx2")))
    static void skml_accumulate_f_avx2(const float* X, const float* w, const int* lab,
                                       int m, int d, double* sums, double* wsum)
    SKML_ACCUMULATE(float)
    #endif

    static inline void skml_argmin_rows_d(const double* buf, const double* cc, int m,
                                          int k, int* out) {
        int r;
    #ifdef SKML_X86_DISPATCH
        if (skml_avx2 && k >= 4) { skml_argmin_rows_d_avx2(buf, cc, m, k, out); return; }
    #endif
        for (r = 0; r < m; r++) out[r] = skml_argmin_row_scalar_d(buf + (size_t)r * k, cc, k);
    }
    static inline void skml_argmin_rows_f(const float* buf, const float* cc, int m,
                                          int k, int* out) {
        int r;
    #ifdef SKML_X86_DISPATCH
        if (skml_avx2 && k >= 8) { skml_argmin_rows_f_avx2(buf, cc, m, k, out); return; }
    #endif
        for (r = 0; r < m; r++) out[r] = skml_argmin_row_scalar_f(buf + (size_t)r * k, cc, k);
    }
    static void skml_accumulate_d_base(const double* X, const double* w, const int* lab,
                                       int m, int d, double* sums, double* wsum)
    SKML_ACCUMULATE(double)
    static void skml_accumulate_f_base(const float* X, const float* w, const int* lab,
                                       int m, int d, double* sums, double* wsum)
    SKML_ACCUMULATE(float)

    static inline void skml_accumulate_d(const double* X, const double* w, const int* lab,
                                         int m, int d, double* sums, double* wsum) {
    #ifdef SKML_X86_DISPATCH
        if (skml_avx2) { skml_accumulate_d_avx2(X, w, lab, m, d, sums, wsum); return; }
    #endif
        skml_accumulate_d_base(X, w, lab, m, d, sums, wsum);
    }
    static inline void skml_accumulate_f(const float* X, const float* w, const int* lab,
                                         int m, int d, double* sums, double* wsum) {
    #ifdef SKML_X86_DISPATCH
        if (skml_avx2) { skml_accumulate_f_avx2(X, w, lab, m, d, sums, wsum); return; }
    #endif
        skml_accumulate_f_base(X, w, lab, m, d, sums, wsum);
    }
    """
    int skml_avx2
    void skml_detect_cpu() noexcept nogil
    void skml_argmin_rows_d(const double* buf, const double* cc, int m, int k,
                            int* out) noexcept nogil
    void skml_argmin_rows_f(const float* buf, const float* cc, int m, int k,
                            int* out) noexcept nogil
    void skml_accumulate_d(const double* X, const double* w, const int* lab, int m, int d,
                           double* sums, double* wsum) noexcept nogil
    void skml_accumulate_f(const float* X, const float* w, const int* lab, int m, int d,
                           double* sums, double* wsum) noexcept nogil


skml_detect_cpu()


def simd_level():
    """Which inner loops the Lloyd pass uses on this CPU: "avx2" or "baseline"."""
    return "avx2" if skml_avx2 else "baseline"


def _set_simd(bint on):
    """Testing hook: force the baseline loops (False) or re-detect the CPU (True)."""
    global skml_avx2
    if on:
        skml_detect_cpu()
    else:
        skml_avx2 = 0


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


cdef inline Py_ssize_t _assign_chunk(
        const floating[:, ::1] X, const floating[::1] sample_weight,
        const floating* centers, const floating* cc, Py_ssize_t k, int[::1] labels,
        Py_ssize_t i0, Py_ssize_t i1, floating* buf, int* lab_buf,
        double* acc_sums, double* acc_weights, bint update, bint unit) noexcept nogil:
    """Label rows i0:i1 and (if ``update``) add them to the accumulators.

    ``cc`` holds the centres' squared norms. ``buf`` (chunk x k values) receives
    ``-2 x.c`` for the block, one row per sample; the label of a sample is the first
    index of the smallest ``-2 x.c + ||c||^2``.

    Returns how many labels differ from what ``labels`` held before."""
    cdef Py_ssize_t m = i1 - i0, d = X.shape[1]
    cdef Py_ssize_t r, changed = 0

    _gemm_xct(&X[i0, 0], centers, buf, <int>m, <int>k, <int>d, -2.0)
    if floating is float:
        skml_argmin_rows_f(buf, cc, <int>m, <int>k, lab_buf)
    else:
        skml_argmin_rows_d(buf, cc, <int>m, <int>k, lab_buf)
    for r in range(m):
        if labels[i0 + r] != lab_buf[r]:
            changed = changed + 1
            labels[i0 + r] = lab_buf[r]
    if update:
        if floating is float:
            skml_accumulate_f(&X[i0, 0], NULL if unit else &sample_weight[i0], lab_buf,
                              <int>m, <int>d, acc_sums, acc_weights)
        else:
            skml_accumulate_d(&X[i0, 0], NULL if unit else &sample_weight[i0], lab_buf,
                              <int>m, <int>d, acc_sums, acc_weights)
    return changed


def lloyd_pass(const floating[:, ::1] X, const floating[::1] sample_weight,
               const floating[:, ::1] centers, int[::1] labels,
               double[:, ::1] sums, double[::1] weights, double[:, ::1] workspace,
               Py_ssize_t chunk, int n_threads, bint update, bint unit_weights=False):
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

    Returns
    -------
    n_changed : int, the number of labels that differ from their value on entry.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = centers.shape[0]
    if n == 0:
        return 0
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef Py_ssize_t G = min(workspace.shape[0], n_chunks) if update else n_chunks
    cdef Py_ssize_t stride = k * d + k
    cdef Py_ssize_t g, c, c0, c1, i0, i1, j, f, h, changed, total
    cdef double s
    cdef floating* buf
    cdef int* lab_buf
    cdef double* acc = NULL
    cdef double* acc_g
    cdef Py_ssize_t[::1] changed_per_group = np.zeros(G, dtype=np.intp)
    # the centres' squared norms as scikit-learn's row_norms computes them (same dtype,
    # same summation), so that the distances match its own to the last bit
    cdef floating[::1] cc = np.einsum("ij,ij->i", np.asarray(centers), np.asarray(centers))

    if update:
        if G < 1 or workspace.shape[1] != stride:
            raise ValueError("workspace must have shape (n_groups >= 1, k * d + k)")
        acc = &workspace[0, 0]
    if n_threads > G:
        n_threads = <int>G

    with nogil, parallel(num_threads=n_threads):
        buf = <floating*>malloc(chunk * k * sizeof(floating))
        lab_buf = <int*>malloc(chunk * sizeof(int))
        for g in prange(G, schedule="dynamic"):
            c0 = g * n_chunks // G
            c1 = (g + 1) * n_chunks // G
            acc_g = NULL
            if update:
                acc_g = acc + g * stride
                memset(acc_g, 0, stride * sizeof(double))
            changed = 0
            for c in range(c0, c1):
                i0 = c * chunk
                i1 = min(i0 + chunk, n)
                changed = changed + _assign_chunk(
                    X, sample_weight, &centers[0, 0], &cc[0], k, labels, i0, i1, buf,
                    lab_buf, acc_g, acc_g + k * d if update else NULL, update, unit_weights)
            changed_per_group[g] = changed
        free(buf)
        free(lab_buf)

    if update:
        # merge the group accumulators in group order: a fixed summation order
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

    total = 0
    for g in range(G):
        total += changed_per_group[g]
    return total


cdef inline double _chunk_inertia(const floating[:, ::1] X,
                                  const floating[::1] sample_weight,
                                  const floating[:, ::1] centers, const int[::1] labels,
                                  Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    """sum over rows i0:i1 of w_i ||x_i - c_{labels_i}||^2, from the differences, in
    float64, row by row."""
    cdef Py_ssize_t i, f, d = X.shape[1]
    cdef double s = 0.0, t, r
    cdef const floating* x
    cdef const floating* y
    for i in range(i0, i1):
        x = &X[i, 0]
        y = &centers[labels[i], 0]
        r = 0.0
        for f in range(d):
            t = <double>x[f] - <double>y[f]
            r = r + t * t
        s = s + <double>sample_weight[i] * r
    return s


def assign_inertia(const floating[:, ::1] X, const floating[::1] sample_weight,
                   const floating[:, ::1] centers, int[::1] labels, Py_ssize_t chunk,
                   int n_threads):
    """The E-step and the inertia in one pass: ``labels`` (out) as in ``lloyd_pass``
    without update, and sum_i w_i ||x_i - c_{labels_i}||^2 computed while each chunk is
    still in cache. The inertia is summed exactly as ``inertia`` sums it (per chunk,
    chunks in order), so the two give the same value for the same labels."""
    cdef Py_ssize_t n = X.shape[0], k = centers.shape[0]
    if n == 0:
        return 0.0
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef double[::1] partial = np.zeros(n_chunks, dtype=np.float64)
    cdef floating[::1] cc = np.einsum("ij,ij->i", np.asarray(centers), np.asarray(centers))
    cdef Py_ssize_t c, i0, i1
    cdef double s
    cdef floating* buf
    cdef int* lab_buf
    if n_threads > n_chunks:
        n_threads = <int>n_chunks
    with nogil, parallel(num_threads=n_threads):
        buf = <floating*>malloc(chunk * k * sizeof(floating))
        lab_buf = <int*>malloc(chunk * sizeof(int))
        for c in prange(n_chunks, schedule="static"):
            i0 = c * chunk
            i1 = min(i0 + chunk, n)
            _assign_chunk(X, sample_weight, &centers[0, 0], &cc[0], k, labels, i0, i1,
                          buf, lab_buf, NULL, NULL, False, False)
            partial[c] = _chunk_inertia(X, sample_weight, centers, labels, i0, i1)
        free(buf)
        free(lab_buf)
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
    cdef Py_ssize_t n = X.shape[0]
    if n == 0:
        return 0.0
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef double[::1] partial = np.zeros(n_chunks, dtype=np.float64)
    cdef Py_ssize_t c
    cdef double s
    if n_threads > n_chunks:
        n_threads = <int>n_chunks
    for c in prange(n_chunks, nogil=True, num_threads=n_threads, schedule="static"):
        partial[c] = _chunk_inertia(X, sample_weight, centers, labels, c * chunk,
                                    min(c * chunk + chunk, n))
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
