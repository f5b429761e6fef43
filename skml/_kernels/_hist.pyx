# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Histogram gradient boosting: binning, gradient/hessian histograms, split finding,
sample partition, leaf updates, losses and prediction over flat node arrays.

Private and dumb: ``skml.ensemble._hist_gradient_boosting`` validates everything and
hands over

* binned data ``X_binned`` as a Fortran-ordered uint8 array (one feature is one
  contiguous column, which is what a histogram reads); bin ``missing_bin`` (= max_bins)
  holds the missing values of every feature;
* gradients and hessians as contiguous float32 vectors (one per tree of an iteration);
* sample indices as uint32 (the Python layer rejects 2**32 or more samples);
* per-sample records (gradient, hessian, 1, 0) as a C-ordered (n, 4) float32 array;
* histograms as C-ordered float64 arrays of shape (n_features, 4 * n_bins): for bin ``b``
  the sum of gradients at ``4b``, of hessians at ``4b + 1`` and the sample count at
  ``4b + 2`` (a float64 count is exact up to 2**53 samples), ``4b + 3`` is padding;
* for prediction, C-contiguous float32/float64 rows and the nodes of every tree in one
  array of ``NODE_DTYPE`` records (children are absolute indices into that array).

Nothing here writes into its inputs; outputs are passed in and filled.

Histograms: per node and feature, one pass over the node's samples adds each sample's
gradient, hessian and 1 into the bins of its value. The pass over the root reads the
columns directly; for other nodes the Python layer builds only the smaller child's
histogram (gradients gathered once into node order, then one pass per feature) and gets
the larger child's as parent minus smaller (the subtraction trick). Features are spread
over OpenMP threads; each feature's histogram is summed by one thread in sample order,
so the sums, and the trees, are the same for any number of threads.

Split finding: per feature, one scan of the bins in increasing order evaluates every
threshold twice when the node has missing values (missing values sent left, and right);
categorical features sort their categories by gradient / (hessian + smoothing) and scan
the prefixes and suffixes of that order (Fisher 1958: the best binary partition of
categories under a convex loss is a prefix of that order). Gains are those of the
second-order expansion of the loss with L2 regularisation (Chen & Guestrin 2016), with
leaf values clipped to the node's bounds under monotonic constraints. Ties go to the
feature listed first, then to the lowest bin.
"""
import numpy as np

cimport numpy as cnp
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, NAN, exp, isnan, log, log1p
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport free, malloc, qsort
from libc.string cimport memcpy, memset

cnp.import_array()

ctypedef fused floating_t:
    float
    double


cdef struct Node:
    # One node of a fitted tree (40 bytes, no padding). Leaves have is_leaf = 1 and
    # their value; inner nodes send x to ``left`` when x <= threshold (numeric) or when
    # x's category is in bitset ``bitset`` (categorical); NaN follows missing_left.
    double value
    double threshold
    int32_t feature
    int32_t left
    int32_t right
    int32_t bitset
    uint8_t missing_left
    uint8_t is_leaf
    uint8_t is_categorical
    uint8_t bin_threshold
    uint32_t count


NODE_DTYPE = np.dtype([
    ("value", np.float64), ("threshold", np.float64), ("feature", np.int32),
    ("left", np.int32), ("right", np.int32), ("bitset", np.int32),
    ("missing_left", np.uint8), ("is_leaf", np.uint8), ("is_categorical", np.uint8),
    ("bin_threshold", np.uint8), ("count", np.uint32),
])
assert NODE_DTYPE.itemsize == sizeof(Node)

BITSET_WORDS = 8  # 256 bits: one per bin
# histogram row width: (g, h, count, 0) for each of the 256 bins a uint8 code can name,
# whatever max_bins is (the kernel indexes by the code without a bound check)
HIST_COLUMNS = 4 * 256


cdef extern from *:
    """
    #include <stdint.h>
    #include <stddef.h>

    /* Histogram passes. A bin is 4 doubles (gradient, hessian, count, 0) and a sample
       4 floats (gradient, hessian, 1, 0), so that one vector add updates a whole bin: AVX
       where the CPU has it (chosen at run time; the extension targets the baseline
       ISA), two SSE2 adds otherwise, scalar code off x86-64. Every path adds the same
       doubles in the same (sample) order, so all give identical sums. idx == NULL: the
       samples are 0..n-1 (the root). */
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
    #define SKML_HIST_X86 1
    #include <immintrin.h>
    #endif

    static int skml_hist_avx = 0;

    static void skml_hist_detect_cpu(void) {
    #ifdef SKML_HIST_X86
        __builtin_cpu_init();
        skml_hist_avx = __builtin_cpu_supports("avx") ? 1 : 0;
    #endif
    }

    #ifdef SKML_HIST_X86
    __attribute__((target("avx")))
    static void skml_hist_avx_(const uint8_t* __restrict col, const uint32_t* __restrict idx,
                               const float* __restrict gh4, ptrdiff_t n,
                               double* __restrict hist) {
        ptrdiff_t i = 0;
        for (; i + 2 <= n; i += 2) {
            size_t b0 = 4u * (size_t)col[idx ? idx[i] : (uint32_t)i];
            size_t b1 = 4u * (size_t)col[idx ? idx[i + 1] : (uint32_t)(i + 1)];
            __m256d v0 = _mm256_cvtps_pd(_mm_loadu_ps(gh4 + 4 * i));
            __m256d v1 = _mm256_cvtps_pd(_mm_loadu_ps(gh4 + 4 * i + 4));
            _mm256_storeu_pd(hist + b0, _mm256_add_pd(_mm256_loadu_pd(hist + b0), v0));
            _mm256_storeu_pd(hist + b1, _mm256_add_pd(_mm256_loadu_pd(hist + b1), v1));
        }
        for (; i < n; i++) {
            size_t b = 4u * (size_t)col[idx ? idx[i] : (uint32_t)i];
            __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(gh4 + 4 * i));
            _mm256_storeu_pd(hist + b, _mm256_add_pd(_mm256_loadu_pd(hist + b), v));
        }
    }

    static void skml_hist_sse_(const uint8_t* __restrict col, const uint32_t* __restrict idx,
                               const float* __restrict gh4, ptrdiff_t n,
                               double* __restrict hist) {
        ptrdiff_t i;
        for (i = 0; i < n; i++) {
            size_t b = 4u * (size_t)col[idx ? idx[i] : (uint32_t)i];
            __m128 q = _mm_loadu_ps(gh4 + 4 * i);
            _mm_storeu_pd(hist + b, _mm_add_pd(_mm_loadu_pd(hist + b), _mm_cvtps_pd(q)));
            _mm_storeu_pd(hist + b + 2, _mm_add_pd(_mm_loadu_pd(hist + b + 2),
                                                   _mm_cvtps_pd(_mm_movehl_ps(q, q))));
        }
    }
    #endif

    static void skml_hist(const uint8_t* col, const uint32_t* idx, const float* gh4,
                          ptrdiff_t n, double* hist) {
    #ifdef SKML_HIST_X86
        if (skml_hist_avx) { skml_hist_avx_(col, idx, gh4, n, hist); return; }
        skml_hist_sse_(col, idx, gh4, n, hist);
    #else
        ptrdiff_t i;
        for (i = 0; i < n; i++) {
            size_t b = 4u * (size_t)col[idx ? idx[i] : (uint32_t)i];
            hist[b] += (double)gh4[4 * i];
            hist[b + 1] += (double)gh4[4 * i + 1];
            hist[b + 2] += (double)gh4[4 * i + 2];
        }
    #endif
    }

    /* Prediction of a block of n_rows rows of a row-major matrix, tree by tree: every
       row of the block walks tree t before any walks tree t + 1. The tree's nodes stay
       in L1, the block's rows in L2, and the branch predictor sees the same tree again
       and again (measured 1.4x faster than walking all trees row by row). A numeric node
       sends x left when x <= threshold, NaN by its missing_left bit; a categorical node
       by a bit of its category set (threshold = the set's row); a leaf has a NaN
       threshold. */
    typedef struct { double threshold; int32_t right; uint32_t info; } skml_pnode;

    #define SKML_PREDICT_BLOCK(NAME, T, TO_DOUBLE)                                     \
    static void NAME(const T* X, ptrdiff_t ld, ptrdiff_t n_rows,                        \
                     const skml_pnode* nodes, const double* values,                     \
                     const int32_t* roots, ptrdiff_t t0, ptrdiff_t t1,                  \
                     const uint32_t* bitsets, int missing_bin, double* out,             \
                     ptrdiff_t K) {                                                    \
        ptrdiff_t t, r;                                                                \
        (void)missing_bin;                                                             \
        for (t = t0; t < t1; t++) {                                                    \
            const skml_pnode* root = nodes + roots[t];                                 \
            double* o = out + t % K;                                                   \
            for (r = 0; r < n_rows; r++) {                                             \
                const T* xr = X + r * ld;                                              \
                const skml_pnode* nd = root;                                           \
                while (nd->threshold == nd->threshold) {                               \
                    uint32_t info = nd->info;                                          \
                    double x = TO_DOUBLE(xr[info & 0x0FFFFFFFu]);                      \
                    int left;                                                          \
                    if (info & 0x20000000u) {                                          \
                        if (!(x >= 0 && x <= 255)) left = (info >> 28) & 1;            \
                        else {                                                         \
                            int b = (int)x, row = (int)nd->threshold;                  \
                            left = (bitsets[8 * row + (b >> 5)] >> (b & 31)) & 1;      \
                        }                                                              \
                    } else {                                                           \
                        left = (x <= nd->threshold) | ((x != x) & ((info >> 28) & 1)); \
                    }                                                                  \
                    nd = left ? nd + 1 : nodes + nd->right;                            \
                }                                                                      \
                o[r * K] += values[nd - nodes];                                        \
            }                                                                          \
        }                                                                              \
    }
    #define SKML_ID(v) ((double)(v))
    #define SKML_BIN(v) ((int)(v) == missing_bin ? NAN : (double)(v))
    SKML_PREDICT_BLOCK(skml_predict_block_f, float, SKML_ID)
    SKML_PREDICT_BLOCK(skml_predict_block_d, double, SKML_ID)
    SKML_PREDICT_BLOCK(skml_predict_block_b, uint8_t, SKML_BIN)

    /* Index of the first of the n sorted thresholds that is >= x (the number of
       thresholds < x), without data-dependent branches. */
    static inline int skml_lower_bound(const double* a, int n, double x) {
        const double* base = a;
        if (n <= 0) return 0;
        while (n > 1) {
            int half = n >> 1;
            base += (base[half - 1] < x) * half;
            n -= half;
        }
        return (int)(base - a) + (*base < x);
    }

    /* Four searches in lockstep (the same n, so the same steps): their loads overlap.
       NaN compares false and lands on 0; the caller maps it to the missing bin. */
    static inline void skml_lower_bound4(const double* a, int n, const double* x,
                                         int* out) {
        const double *b0 = a, *b1 = a, *b2 = a, *b3 = a;
        if (n <= 0) { out[0] = out[1] = out[2] = out[3] = 0; return; }
        while (n > 1) {
            int half = n >> 1;
            /* arithmetic, not ?: (which compilers may turn into a branch) */
            b0 += (b0[half - 1] < x[0]) * half;
            b1 += (b1[half - 1] < x[1]) * half;
            b2 += (b2[half - 1] < x[2]) * half;
            b3 += (b3[half - 1] < x[3]) * half;
            n -= half;
        }
        out[0] = (int)(b0 - a) + (*b0 < x[0]);
        out[1] = (int)(b1 - a) + (*b1 < x[1]);
        out[2] = (int)(b2 - a) + (*b2 < x[2]);
        out[3] = (int)(b3 - a) + (*b3 < x[3]);
    }

    /* Bins of rows i0..i1-1 of one numeric column (element i at col + i * stride bytes),
       four rows at a time. */
    #define SKML_BIN_COLUMN(NAME, T)                                                   \
    static void NAME(const char* col, ptrdiff_t stride, ptrdiff_t i0, ptrdiff_t i1,     \
                     const double* thr, int nt, int missing_bin, uint8_t* out) {        \
        ptrdiff_t i = i0;                                                              \
        int k, b[4];                                                                   \
        double x[4];                                                                   \
        for (; i + 4 <= i1; i += 4) {                                                  \
            for (k = 0; k < 4; k++) x[k] = (double)*(const T*)(col + (i + k) * stride); \
            skml_lower_bound4(thr, nt, x, b);                                          \
            for (k = 0; k < 4; k++)                                                    \
                out[i + k] = (uint8_t)(x[k] != x[k] ? missing_bin : b[k]);             \
        }                                                                              \
        for (; i < i1; i++) {                                                          \
            double v = (double)*(const T*)(col + i * stride);                          \
            out[i] = (uint8_t)(v != v ? missing_bin : skml_lower_bound(thr, nt, v));   \
        }                                                                              \
    }
    SKML_BIN_COLUMN(skml_bin_column_f, float)
    SKML_BIN_COLUMN(skml_bin_column_d, double)
    """
    void skml_hist_detect_cpu() noexcept nogil
    void skml_hist(const uint8_t* col, const uint32_t* idx, const float* gh4, ptrdiff_t n,
                   double* hist) noexcept nogil
    int skml_lower_bound(const double* a, int n, double x) noexcept nogil
    void skml_bin_column_f(const char* col, ptrdiff_t stride, ptrdiff_t i0, ptrdiff_t i1,
                           const double* thr, int nt, int missing_bin,
                           uint8_t* out) noexcept nogil
    void skml_bin_column_d(const char* col, ptrdiff_t stride, ptrdiff_t i0, ptrdiff_t i1,
                           const double* thr, int nt, int missing_bin,
                           uint8_t* out) noexcept nogil
    ctypedef struct skml_pnode:
        pass
    void skml_predict_block_f(const float* X, ptrdiff_t ld, ptrdiff_t n_rows,
                              const skml_pnode* nodes, const double* values,
                              const int32_t* roots, ptrdiff_t t0, ptrdiff_t t1,
                              const uint32_t* bitsets, int missing_bin, double* out,
                              ptrdiff_t K) noexcept nogil
    void skml_predict_block_d(const double* X, ptrdiff_t ld, ptrdiff_t n_rows,
                              const skml_pnode* nodes, const double* values,
                              const int32_t* roots, ptrdiff_t t0, ptrdiff_t t1,
                              const uint32_t* bitsets, int missing_bin, double* out,
                              ptrdiff_t K) noexcept nogil
    void skml_predict_block_b(const uint8_t* X, ptrdiff_t ld, ptrdiff_t n_rows,
                              const skml_pnode* nodes, const double* values,
                              const int32_t* roots, ptrdiff_t t0, ptrdiff_t t1,
                              const uint32_t* bitsets, int missing_bin, double* out,
                              ptrdiff_t K) noexcept nogil


skml_hist_detect_cpu()


# --------------------------------------------------------------------------- binning

def bin_columns(const floating_t[:, :] X, const double[::1] thresholds,
                const int64_t[::1] offsets, const uint8_t[::1] is_categorical,
                int missing_bin, uint8_t[::1, :] out, int n_threads):
    """``out[i, f]``: the bin of ``X[i, f]``.

    Numeric feature ``f``: the number of its thresholds
    ``thresholds[offsets[f]:offsets[f + 1]]`` (sorted) that are < x, so x goes to bin b
    exactly when ``thresholds[b - 1] < x <= thresholds[b]``. Categorical feature: the
    rank of x among its known categories (the same slice), or ``missing_bin`` for a value
    that is not one of them. NaN always goes to ``missing_bin``.
    """
    cdef Py_ssize_t n = X.shape[0], p = X.shape[1]
    cdef Py_ssize_t block = 4096, n_blocks = (n + block - 1) // block
    cdef Py_ssize_t blk, i, i0, i1, f
    cdef Py_ssize_t s0 = X.strides[0], s1 = X.strides[1]
    cdef int nt, b
    cdef const double* thr
    cdef const char* base
    cdef double x
    if n == 0 or p == 0:
        return
    if offsets.shape[0] != p + 1 or is_categorical.shape[0] < p or out.shape[0] != n \
            or out.shape[1] != p or offsets[p] > thresholds.shape[0]:
        raise ValueError("bin_columns: inconsistent shapes.")
    base = <const char*>&X[0, 0]
    n_threads = max(1, min(n_threads, n_blocks))
    # Row blocks (not features) in parallel: a block of a C-ordered X stays in cache
    # while every feature of it is binned.
    for blk in prange(n_blocks, nogil=True, schedule="dynamic", num_threads=n_threads):
        i0 = blk * block
        i1 = min(n, i0 + block)
        for f in range(p):
            thr = &thresholds[offsets[f]] if offsets[f + 1] > offsets[f] else NULL
            nt = <int>(offsets[f + 1] - offsets[f])
            if is_categorical[f]:
                for i in range(i0, i1):
                    x = X[i, f]
                    b = skml_lower_bound(thr, nt, x)
                    if not isnan(x) and b < nt and thr[b] == x:
                        out[i, f] = <uint8_t>b
                    else:
                        out[i, f] = <uint8_t>missing_bin
            elif floating_t is float:
                skml_bin_column_f(base + f * s1, s0, i0, i1, thr, nt, missing_bin,
                                  &out[0, f])
            else:
                skml_bin_column_d(base + f * s1, s0, i0, i1, thr, nt, missing_bin,
                                  &out[0, f])


# ------------------------------------------------------------------------ histograms

def pack_gradients(const float[::1] gradients, const float[::1] hessians,
                   double constant_hessian, float[:, ::1] gh4, int n_threads):
    """``gh4[i] = (g_i, h_i, 1, 0)``: the per-sample record the histograms add up;
    ``hessians`` of size 0 means every hessian is ``constant_hessian``."""
    cdef Py_ssize_t i, n = gradients.shape[0]
    cdef bint has_h = hessians.shape[0] > 0
    cdef float hc = <float>constant_hessian
    cdef int threads = max(1, min(n_threads, <int>(n // 65536)))
    if gh4.shape[0] < n or gh4.shape[1] != 4 or (has_h and hessians.shape[0] != n):
        raise ValueError("pack_gradients: inconsistent shapes.")
    for i in prange(n, nogil=True, schedule="static", num_threads=threads):
        gh4[i, 0] = gradients[i]
        gh4[i, 1] = hessians[i] if has_h else hc
        gh4[i, 2] = 1.0
        gh4[i, 3] = 0.0


def build_histograms(const uint8_t[::1, :] X_binned, const uint32_t[::1] sample_indices,
                     Py_ssize_t start, Py_ssize_t stop, const float[:, ::1] gh4,
                     float[:, ::1] ordered, const int32_t[::1] features,
                     double[:, ::1] hist, int is_root, int n_threads):
    """Fill ``hist[f]`` for every ``f`` in ``features`` with the node's sums: bin b of
    feature f holds (sum of gradients, sum of hessians, count, 0) at ``4b..4b+3``.

    The node's samples are ``sample_indices[start:stop]``, or every sample when
    ``is_root``; ``gh4`` holds each sample's (g, h, 1, 0) (see :func:`pack_gradients`)
    and ``ordered`` is scratch space of at least ``stop - start`` rows.
    """
    cdef Py_ssize_t n_feat = features.shape[0], n_bins4 = hist.shape[1]
    cdef Py_ssize_t m, i, j, f
    cdef const uint32_t* idx_ptr = NULL
    cdef const float* src
    cdef double* hf
    cdef int threads
    if n_feat == 0:
        return
    # cheap guards: a wrong segment or shape must raise, never read out of bounds
    if not is_root and not (0 <= start <= stop <= sample_indices.shape[0]):
        raise ValueError("build_histograms: bad sample segment.")
    m = X_binned.shape[0] if is_root else stop - start
    if (gh4.shape[0] < X_binned.shape[0] or gh4.shape[1] != 4
            or (not is_root and (ordered.shape[0] < m or (m and ordered.shape[1] != 4)))
            or hist.shape[0] < X_binned.shape[1]
            or hist.shape[1] < HIST_COLUMNS):
        raise ValueError("build_histograms: inconsistent shapes.")
    for j in range(n_feat):
        if not 0 <= features[j] < X_binned.shape[1]:
            raise ValueError("build_histograms: feature index out of range.")
    # a parallel region costs more than a small histogram (and far more on a loaded
    # machine): one thread per 2**17 sample-features of work at most
    threads = max(1, min(n_threads, n_feat, <int>(m * n_feat // 131072)))
    with nogil:
        if m > 0 and not is_root:
            idx_ptr = &sample_indices[start]
            # gradients in node order: each feature pass then reads them contiguously
            if m >= 65536 and threads > 1:
                for i in prange(m, schedule="static", num_threads=threads):
                    memcpy(&ordered[i, 0], &gh4[idx_ptr[i], 0], 4 * sizeof(float))
            else:
                for i in range(m):
                    memcpy(&ordered[i, 0], &gh4[idx_ptr[i], 0], 4 * sizeof(float))
        src = (&gh4[0, 0] if is_root else &ordered[0, 0]) if m > 0 else NULL
        for j in prange(n_feat, schedule="dynamic", num_threads=threads):
            f = features[j]
            hf = &hist[f, 0]
            memset(hf, 0, n_bins4 * sizeof(double))
            if m > 0:
                skml_hist(&X_binned[0, f], NULL if is_root else idx_ptr, src, m, hf)


def subtract_histograms(double[:, ::1] parent, const double[:, ::1] child,
                        const int32_t[::1] features):
    """``parent[f] -= child[f]`` for ``f`` in ``features``: the parent's histogram
    becomes the sibling's. An emptied bin gets exact zeros (no rounding residue)."""
    cdef Py_ssize_t j, f, b, n_bins4 = parent.shape[1]
    if child.shape[0] != parent.shape[0] or child.shape[1] != n_bins4 or n_bins4 % 4:
        raise ValueError("subtract_histograms: inconsistent shapes.")
    for j in range(features.shape[0]):
        if not 0 <= features[j] < parent.shape[0]:
            raise ValueError("subtract_histograms: feature index out of range.")
    with nogil:
        for j in range(features.shape[0]):
            f = features[j]
            for b in range(n_bins4):
                parent[f, b] -= child[f, b]
            for b in range(2, n_bins4, 4):
                if parent[f, b] < 0.5:
                    parent[f, b] = 0.0
                    parent[f, b - 1] = 0.0
                    parent[f, b - 2] = 0.0


# ---------------------------------------------------------------------- split finding

cdef struct SplitRec:
    double gain
    double g_left
    double h_left
    double c_left
    int32_t bin
    uint8_t missing_left
    uint8_t found


cdef struct CatStat:
    double key
    int32_t bin


cdef inline double _clip(double v, double lo, double hi) noexcept nogil:
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


cdef inline double _score(double g, double h, double l2, double lo, double hi) noexcept nogil:
    """-2 x (g v + (h + l2) v^2 / 2) at the leaf value v = -g / (h + l2) clipped to
    [lo, hi]: the loss decrease of a leaf, in the units of g^2 / (h + l2)."""
    cdef double v = _clip(-g / (h + l2), lo, hi)
    return -(2.0 * g * v + (h + l2) * v * v)


cdef inline void _record(SplitRec* best, double gl, double hl, double cl, int32_t b,
                         uint8_t missing_left) noexcept nogil:
    """Store a split as the feature's best so far (its gain is the caller's to store)."""
    best.g_left = gl
    best.h_left = hl
    best.c_left = cl
    best.bin = b
    best.missing_left = missing_left
    best.found = 1


cdef inline void _try(SplitRec* best, double gl, double hl, double cl, double sg,
                      double sh, double sc, int8_t cst, double l2, double lo, double hi,
                      double min_hess, double msl, double parent_score, int32_t b,
                      uint8_t missing_left) noexcept nogil:
    cdef double gr = sg - gl, hr = sh - hl, cr = sc - cl
    cdef double vl, vr, gain
    if cl < msl or cr < msl or hl < min_hess or hr < min_hess:
        return
    if cst != 0:
        vl = _clip(-gl / (hl + l2), lo, hi)
        vr = _clip(-gr / (hr + l2), lo, hi)
        if (cst > 0 and vl > vr) or (cst < 0 and vl < vr):
            return
    gain = _score(gl, hl, l2, lo, hi) + _score(gr, hr, l2, lo, hi) - parent_score
    if gain > best.gain:
        best.gain = gain
        _record(best, gl, hl, cl, b, missing_left)


cdef inline void _try_free(SplitRec* best, double* best_score, double gl, double hl,
                           double cl, double sg, double sh, double sc, double l2,
                           double min_hess, double msl, int32_t b,
                           uint8_t missing_left) noexcept nogil:
    """_try without bounds or constraint: the children's scores g^2 / (h + l2) only."""
    cdef double cr = sc - cl, hr = sh - hl, gr, a, c, num, den
    if cl < msl or cr < msl or hl < min_hess or hr < min_hess:
        return
    gr = sg - gl
    # gl^2 / a + gr^2 / c = num / den with den > 0: compared without dividing, the
    # division is done only for a new best
    a = hl + l2
    c = hr + l2
    num = gl * gl * c + gr * gr * a
    den = a * c
    if num > best_score[0] * den:
        best_score[0] = num / den
        _record(best, gl, hl, cl, b, missing_left)


cdef void _scan_numeric(const double* hf, int nb, int missing_bin, double sg, double sh,
                        double sc, int8_t cst, double l2, double lo, double hi,
                        double min_hess, double msl, double parent_score,
                        SplitRec* best) noexcept nogil:
    cdef double gm = hf[4 * missing_bin], hm = hf[4 * missing_bin + 1]
    cdef double cm = hf[4 * missing_bin + 2]
    cdef double gl = 0.0, hl = 0.0, cl = 0.0, best_score
    cdef int b, last = nb - 1 if cm > 0 else nb - 2
    cdef bint free = cst == 0 and lo == -INFINITY and hi == INFINITY
    if free:
        best_score = best.gain + parent_score
    for b in range(last + 1):
        if hf[4 * b + 2] == 0:
            continue  # an empty bin splits the node as the bin before it
        gl += hf[4 * b]
        hl += hf[4 * b + 1]
        cl += hf[4 * b + 2]
        if free:
            # missing values to the right child, then to the left one
            _try_free(best, &best_score, gl, hl, cl, sg, sh, sc, l2, min_hess, msl, b, 0)
            if cm > 0 and b < nb - 1:
                _try_free(best, &best_score, gl + gm, hl + hm, cl + cm, sg, sh, sc, l2,
                          min_hess, msl, b, 1)
        else:
            _try(best, gl, hl, cl, sg, sh, sc, cst, l2, lo, hi, min_hess, msl,
                 parent_score, b, 0)
            if cm > 0 and b < nb - 1:
                _try(best, gl + gm, hl + hm, cl + cm, sg, sh, sc, cst, l2, lo, hi,
                     min_hess, msl, parent_score, b, 1)
    if free and best.found:
        best.gain = best_score - parent_score


cdef int _cmp_cat(const void* a, const void* b) noexcept nogil:
    cdef double ka = (<CatStat*>a).key, kb = (<CatStat*>b).key
    cdef int32_t ba = (<CatStat*>a).bin, bb = (<CatStat*>b).bin
    if ka < kb:
        return -1
    if ka > kb:
        return 1
    return (ba > bb) - (ba < bb)


cdef void _scan_categorical(const double* hf, int nb, int missing_bin, double sg,
                            double sh, double sc, double l2, double min_hess, double msl,
                            double parent_score, double min_support, double smooth,
                            SplitRec* best, uint32_t* bitset, CatStat* cats) noexcept nogil:
    cdef int n_used = 0, b, k, direction, pos, best_k = -1, best_dir = 0
    cdef double gl, hl, cl, c, before
    cdef uint8_t ml
    for b in range(nb):
        c = hf[4 * b + 2]
        if c >= min_support:
            cats[n_used].key = hf[4 * b] / (hf[4 * b + 1] + smooth)
            cats[n_used].bin = b
            n_used += 1
    c = hf[4 * missing_bin + 2]
    if c >= min_support:
        cats[n_used].key = hf[4 * missing_bin] / (hf[4 * missing_bin + 1] + smooth)
        cats[n_used].bin = missing_bin
        n_used += 1
    if n_used <= 1:
        return
    qsort(cats, n_used, sizeof(CatStat), _cmp_cat)
    # left child = the first k categories of the sorted order, or the last k (the
    # categories without enough support always go right)
    for direction in range(2):
        gl = 0.0
        hl = 0.0
        cl = 0.0
        ml = 0
        for k in range(n_used - 1):
            pos = k if direction == 0 else n_used - 1 - k
            b = cats[pos].bin
            gl += hf[4 * b]
            hl += hf[4 * b + 1]
            cl += hf[4 * b + 2]
            if b == missing_bin:
                ml = 1
            before = best.gain
            _try(best, gl, hl, cl, sg, sh, sc, 0, l2, -INFINITY, INFINITY, min_hess, msl,
                 parent_score, -1, ml)
            if best.gain > before:
                best_k = k
                best_dir = direction
    if best_k < 0:
        return
    memset(bitset, 0, 8 * sizeof(uint32_t))
    for k in range(best_k + 1):
        pos = k if best_dir == 0 else n_used - 1 - k
        b = cats[pos].bin
        if b != missing_bin:
            bitset[b >> 5] |= (<uint32_t>1) << (b & 31)


def find_split(const double[:, ::1] hist, const int32_t[::1] features,
               const uint32_t[::1] n_bins_non_missing, const uint8_t[::1] is_categorical,
               const int8_t[::1] monotonic_cst, int missing_bin, double sum_g,
               double sum_h, double count, double lower, double upper, double l2,
               double min_hessian, double min_samples_leaf, double min_gain,
               double cat_min_support, double cat_smooth, uint32_t[::1] bitset_out,
               int n_threads):
    """The best split of a node over ``features``, or None.

    Returns ``(gain, feature, bin, missing_left, g_left, h_left, count_left)``: samples
    with a bin <= ``bin`` go left (numeric; ``bin`` is -1 for a categorical split,
    whose left categories are written into ``bitset_out``), missing values go left
    when ``missing_left``. A split needs ``min_samples_leaf`` samples and
    ``min_hessian`` hessian in each child, a gain above ``min_gain``, and under a
    monotonic constraint children values (clipped to [lower, upper]) in the
    constrained order.
    """
    cdef Py_ssize_t n_feat = features.shape[0], j, best_j = -1
    cdef int f
    cdef double parent_score = _score(sum_g, sum_h, l2, lower, upper)
    cdef SplitRec* recs
    cdef uint32_t* bitsets
    cdef CatStat* cats
    cdef double smooth = cat_smooth * (sum_h / count if count > 0 else 1.0)
    cdef int threads
    cdef Py_ssize_t n_cat
    if n_feat == 0:
        return None
    if hist.shape[1] < 4 * (missing_bin + 1) or bitset_out.shape[0] < 8:
        raise ValueError("find_split: histogram too small for missing_bin.")
    for j in range(n_feat):
        if not (0 <= features[j] < hist.shape[0]
                and features[j] < n_bins_non_missing.shape[0]
                and features[j] < is_categorical.shape[0]
                and features[j] < monotonic_cst.shape[0]
                and n_bins_non_missing[features[j]] <= <uint32_t>missing_bin):
            raise ValueError("find_split: feature index or bin count out of range.")
    n_cat = 0
    for j in range(n_feat):
        n_cat += is_categorical[features[j]] != 0
    recs = <SplitRec*>malloc(n_feat * sizeof(SplitRec))
    # per-feature scratch of the categorical scans only when there are categoricals
    bitsets = <uint32_t*>malloc((n_feat * 8 if n_cat else 8) * sizeof(uint32_t))
    cats = <CatStat*>malloc((n_feat * 257 if n_cat else 1) * sizeof(CatStat))
    if recs == NULL or bitsets == NULL or cats == NULL:
        free(recs)
        free(bitsets)
        free(cats)
        raise MemoryError()
    # ~1 us of work per feature: threads only pay off for many features
    threads = max(1, min(n_threads, <int>(n_feat // 64)))
    try:
        with nogil:
            for j in prange(n_feat, schedule="static", num_threads=threads):
                f = features[j]
                recs[j].gain = min_gain
                recs[j].found = 0
                if is_categorical[f]:
                    _scan_categorical(&hist[f, 0], n_bins_non_missing[f], missing_bin,
                                      sum_g, sum_h, count, l2, min_hessian,
                                      min_samples_leaf, parent_score, cat_min_support,
                                      smooth, &recs[j], &bitsets[8 * j], &cats[257 * j])
                else:
                    _scan_numeric(&hist[f, 0], n_bins_non_missing[f], missing_bin,
                                  sum_g, sum_h, count, monotonic_cst[f], l2, lower, upper,
                                  min_hessian, min_samples_leaf, parent_score, &recs[j])
            for j in range(n_feat):
                if recs[j].found and (best_j < 0 or recs[j].gain > recs[best_j].gain):
                    best_j = j
        if best_j < 0:
            return None
        f = features[best_j]
        if is_categorical[f]:
            for j in range(8):
                bitset_out[j] = bitsets[8 * best_j + j]
        return (recs[best_j].gain, f, recs[best_j].bin, bool(recs[best_j].missing_left),
                recs[best_j].g_left, recs[best_j].h_left, recs[best_j].c_left)
    finally:
        free(recs)
        free(bitsets)
        free(cats)


# ------------------------------------------------------------------------- partition

cdef inline bint _goes_left(uint8_t b, int bin_threshold, bint missing_left,
                            int missing_bin, bint is_cat,
                            const uint32_t* bitset) noexcept nogil:
    if b == missing_bin:
        return missing_left
    if is_cat:
        return (bitset[b >> 5] >> (b & 31)) & 1
    return b <= bin_threshold


def partition(uint32_t[::1] sample_indices, Py_ssize_t start, Py_ssize_t stop,
              const uint8_t[::1, :] X_binned, int feature, int bin_threshold,
              bint missing_left, int missing_bin, bint is_categorical,
              const uint32_t[::1] bitset, uint32_t[::1] buffer, int n_threads):
    """Reorder ``sample_indices[start:stop]`` so that the samples going left come
    first, each side keeping its order; return how many go left. ``buffer`` is scratch
    space of at least ``stop - start`` entries."""
    cdef Py_ssize_t m = stop - start, i, t, lo, hi, nl = 0, nr = 0, pos_l, pos_r
    cdef const uint8_t* col
    cdef const uint32_t* bs = &bitset[0]
    cdef uint32_t s
    cdef Py_ssize_t* counts
    cdef int T
    if not (0 <= start <= stop <= sample_indices.shape[0]) or buffer.shape[0] < m \
            or not 0 <= feature < X_binned.shape[1] or bitset.shape[0] < 8:
        raise ValueError("partition: bad segment, buffer, feature or bitset.")
    if m <= 0:
        return 0
    col = &X_binned[0, feature]
    T = max(1, min(n_threads, <int>(m // 32768)))
    cdef bint go
    if T == 1:
        with nogil:
            # branch-free: each index is written to both places, one count advances
            for i in range(start, stop):
                s = sample_indices[i]
                go = _goes_left(col[s], bin_threshold, missing_left, missing_bin,
                                is_categorical, bs)
                sample_indices[start + nl] = s
                buffer[nr] = s
                nl += go
                nr += 1 - go
            if nr:
                memcpy(&sample_indices[start + nl], &buffer[0], nr * sizeof(uint32_t))
        return nl
    counts = <Py_ssize_t*>malloc(2 * T * sizeof(Py_ssize_t))
    if counts == NULL:
        raise MemoryError()
    with nogil:
        # pass 1: lefts per chunk; pass 2: every chunk writes its lefts and rights at
        # their final places in the buffer (chunk order = sample order)
        for t in prange(T, schedule="static", num_threads=T):
            lo = start + t * m // T
            hi = start + (t + 1) * m // T
            counts[t] = 0
            for i in range(lo, hi):
                if _goes_left(col[sample_indices[i]], bin_threshold, missing_left,
                              missing_bin, is_categorical, bs):
                    counts[t] += 1
        for t in range(T):
            counts[T + t] = nl
            nl = nl + counts[t]
        for t in prange(T, schedule="static", num_threads=T):
            lo = start + t * m // T
            hi = start + (t + 1) * m // T
            pos_l = counts[T + t]
            pos_r = nl + (lo - start) - counts[T + t]
            for i in range(lo, hi):
                s = sample_indices[i]
                if _goes_left(col[s], bin_threshold, missing_left, missing_bin,
                              is_categorical, bs):
                    buffer[pos_l] = s
                    pos_l = pos_l + 1
                else:
                    buffer[pos_r] = s
                    pos_r = pos_r + 1
        memcpy(&sample_indices[start], &buffer[0], m * sizeof(uint32_t))
    free(counts)
    return nl


def add_leaf_values(double[::1] raw, const uint32_t[::1] sample_indices,
                    const int64_t[::1] starts, const int64_t[::1] stops,
                    const double[::1] values, int n_threads):
    """``raw[sample_indices[starts[j]:stops[j]]] += values[j]`` for every leaf j (the
    leaves' sample sets are disjoint)."""
    cdef Py_ssize_t j, i, n_leaves = starts.shape[0]
    cdef int threads = max(1, min(n_threads, <int>(raw.shape[0] // 32768)))
    if stops.shape[0] != n_leaves or values.shape[0] != n_leaves:
        raise ValueError("add_leaf_values: inconsistent leaf arrays.")
    for j in range(n_leaves):
        if not (0 <= starts[j] <= stops[j] <= sample_indices.shape[0]):
            raise ValueError("add_leaf_values: bad leaf segment.")
    for j in prange(n_leaves, nogil=True, schedule="dynamic", num_threads=threads):
        for i in range(starts[j], stops[j]):
            raw[sample_indices[i]] += values[j]


# ---------------------------------------------------------------------------- losses

def logistic_gradient_hessian(const double[::1] y, const double[::1] raw,
                              const double[::1] sample_weight, float[::1] gradient,
                              float[::1] hessian, int n_threads):
    """Binary log-loss in the raw (log-odds) space: gradient p - y and hessian p (1 - p)
    with p = expit(raw), each times the sample weight when ``sample_weight`` is not
    empty."""
    cdef Py_ssize_t i, n = y.shape[0]
    cdef double e, p, w
    cdef bint has_w = sample_weight.shape[0] > 0
    cdef int threads = max(1, min(n_threads, <int>(n // 16384)))
    for i in prange(n, nogil=True, schedule="static", num_threads=threads):
        if raw[i] >= 0:
            e = exp(-raw[i])
            p = 1.0 / (1.0 + e)
        else:
            e = exp(raw[i])
            p = e / (1.0 + e)
        w = sample_weight[i] if has_w else 1.0
        gradient[i] = <float>(w * (p - y[i]))
        hessian[i] = <float>(w * p * (1.0 - p))


def softmax_gradient_hessian(const double[::1] y, const double[::1, :] raw,
                             const double[::1] sample_weight, float[::1, :] gradient,
                             float[::1, :] hessian, int n_threads):
    """Multinomial log-loss with one raw column per class: gradient p_k - [y == k] and
    hessian p_k (1 - p_k), p = softmax(raw row), times the sample weight."""
    cdef Py_ssize_t i, k, n = raw.shape[0], K = raw.shape[1]
    cdef double mx, s, p, w
    cdef bint has_w = sample_weight.shape[0] > 0
    cdef int threads = max(1, min(n_threads, <int>(n // 8192)))
    for i in prange(n, nogil=True, schedule="static", num_threads=threads):
        mx = raw[i, 0]
        for k in range(1, K):
            if raw[i, k] > mx:
                mx = raw[i, k]
        s = 0.0
        for k in range(K):
            s = s + exp(raw[i, k] - mx)
        w = sample_weight[i] if has_w else 1.0
        for k in range(K):
            p = exp(raw[i, k] - mx) / s
            gradient[i, k] = <float>(w * (p - (1.0 if y[i] == k else 0.0)))
            hessian[i, k] = <float>(w * p * (1.0 - p))


def logistic_loss(const double[::1] y, const double[::1] raw,
                  const double[::1] sample_weight):
    """Weighted mean binary log-loss (natural log) at raw log-odds, computed stably."""
    cdef Py_ssize_t i, n = y.shape[0]
    cdef double total = 0.0, wsum = 0.0, r, w, l
    cdef bint has_w = sample_weight.shape[0] > 0
    with nogil:
        for i in range(n):
            r = raw[i]
            # log(1 + exp(r)) - y r
            if r > 0:
                l = r + log1p(exp(-r)) - y[i] * r
            else:
                l = log1p(exp(r)) - y[i] * r
            w = sample_weight[i] if has_w else 1.0
            total += w * l
            wsum += w
    return total / wsum if wsum > 0 else 0.0


def softmax_loss(const double[::1] y, const double[::1, :] raw,
                 const double[::1] sample_weight):
    """Weighted mean multinomial log-loss at raw scores (one column per class)."""
    cdef Py_ssize_t i, k, n = raw.shape[0], K = raw.shape[1]
    cdef double total = 0.0, wsum = 0.0, mx, s, w
    cdef bint has_w = sample_weight.shape[0] > 0
    with nogil:
        for i in range(n):
            mx = raw[i, 0]
            for k in range(1, K):
                if raw[i, k] > mx:
                    mx = raw[i, k]
            s = 0.0
            for k in range(K):
                s += exp(raw[i, k] - mx)
            w = sample_weight[i] if has_w else 1.0
            total += w * (mx + log(s) - raw[i, <Py_ssize_t>y[i]])
            wsum += w
    return total / wsum if wsum > 0 else 0.0


# ------------------------------------------------------------------------ prediction

cdef struct PackedNode:
    # One node of the prediction layout (16 bytes), trees numbered in pre-order so the
    # left child is the next node. ``threshold``: x <= threshold goes left (numeric),
    # the row of the category bitset (categorical), NaN for a leaf; ``right`` is the
    # right child, the node itself for a leaf (a leaf is a fixed point of a step: NaN
    # compares false); ``info`` = feature | missing_left << 28 | categorical << 29.
    double threshold
    int32_t right
    uint32_t info


PACKED_NODE_DTYPE = np.dtype([("threshold", np.float64), ("right", np.int32),
                              ("info", np.uint32)])
assert PACKED_NODE_DTYPE.itemsize == sizeof(PackedNode)
FEATURE_MASK = (1 << 28) - 1
MISSING_LEFT_FLAG = 1 << 28
CATEGORICAL_FLAG = 1 << 29

ctypedef fused x_t:
    float
    double
    uint8_t

def predict_packed(const x_t[:, ::1] X, const PackedNode[::1] nodes,
                   const double[::1] values, const int32_t[::1] roots,
                   Py_ssize_t tree_start, Py_ssize_t tree_stop,
                   const uint32_t[:, ::1] bitsets, int missing_bin, double[:, ::1] out,
                   int n_threads):
    """``out[i, t % K] += values[leaf of row i in tree t]`` for trees
    ``tree_start <= t < tree_stop`` (``K = out.shape[1]``).

    ``X`` is float32/float64 rows (categorical features as bin codes, NaN or anything
    outside 0..255 meaning missing) with thresholds in the data's units, or uint8 bins
    with bin thresholds, ``missing_bin`` marking a missing value. Blocks of about 1 MiB
    of rows are spread over the OpenMP threads; each block goes tree by tree.
    """
    cdef Py_ssize_t n = X.shape[0], p = X.shape[1], K = out.shape[1], n_blocks, blk, r0
    cdef Py_ssize_t block, m
    cdef int threads
    cdef const skml_pnode* nd
    cdef const uint32_t* bs = &bitsets[0, 0]
    cdef Py_ssize_t j, n_nodes = nodes.shape[0]
    if n == 0 or tree_stop <= tree_start or n_nodes == 0:
        return
    # guards (one pass over the nodes): every index the walk follows is in range
    if not (0 <= tree_start and tree_stop <= roots.shape[0]) or values.shape[0] < n_nodes \
            or out.shape[0] < n or K < 1:
        raise ValueError("predict_packed: inconsistent trees or output.")
    for j in range(roots.shape[0]):
        if not 0 <= roots[j] < n_nodes:
            raise ValueError("predict_packed: root out of range.")
    for j in range(n_nodes):
        if nodes[j].threshold != nodes[j].threshold:
            continue  # a leaf
        # pre-order: both children come after their parent, so every walk ends
        if (<Py_ssize_t>(nodes[j].info & 0x0FFFFFFF) >= p or not j < nodes[j].right < n_nodes
                or j + 1 >= n_nodes):
            raise ValueError("predict_packed: node out of range.")
        if nodes[j].info & 0x20000000 and not 0 <= nodes[j].threshold < bitsets.shape[0]:
            raise ValueError("predict_packed: category set out of range.")
    nd = <const skml_pnode*>&nodes[0]
    block = max(256, min(8192, (1 << 20) // max(1, p * <Py_ssize_t>sizeof(x_t))))
    n_blocks = (n + block - 1) // block
    threads = max(1, min(n_threads, <int>n_blocks, <int>(n // 4096)))
    for blk in prange(n_blocks, nogil=True, schedule="dynamic", num_threads=threads):
        r0 = blk * block
        m = min(block, n - r0)
        if x_t is float:
            skml_predict_block_f(&X[r0, 0], p, m, nd, &values[0], &roots[0], tree_start,
                                 tree_stop, bs, missing_bin, &out[r0, 0], K)
        elif x_t is double:
            skml_predict_block_d(&X[r0, 0], p, m, nd, &values[0], &roots[0], tree_start,
                                 tree_stop, bs, missing_bin, &out[r0, 0], K)
        else:
            skml_predict_block_b(&X[r0, 0], p, m, nd, &values[0], &roots[0], tree_start,
                                 tree_stop, bs, missing_bin, &out[r0, 0], K)
