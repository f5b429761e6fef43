/* Inner loops of the k-means passes (skml/_kernels/_kmeans.pyx), in C so that they can
   use AVX2 where the CPU has it. The choice is made at run time (skml_kmeans_detect_cpu):
   the extension itself is built for the baseline ISA, and both paths give identical
   results, bit for bit.

   skml_argmin_rows_{d,f}: for each row r < m of a row-major m x k block ``buf`` (which
       holds -2 x_r.c_j), the first index j of the smallest buf[r, j] + cc[j]
       (cc[j] = ||c_j||^2): exactly what a strict-< running argmin gives (ties to the
       smaller index).

       The float version can also guard against float32 rounding: with ``xnorm`` not
       NULL, every centre whose value is within (at least) twice the rounding bound of
       the row, E_r = gamma * (xnorm[r] + cmax)^2, of the smallest is a candidate, and
       when there is more than one the label is decided by the exact squared distances
       of the candidates, sum_f (x_rf - c_jf)^2 computed in double from ``X`` (m x d)
       and ``C`` (k x d). ``gamma`` bounds the relative error of the float32 dot products
       and norms (the caller passes gamma_{d+2} = (d+2)u / (1 - (d+2)u), u = 2^-24), and
       ``cmax`` is the largest centre norm, so the true nearest centre is always among
       the candidates: the labels are those of the exact float64 computation.

   skml_sqdist_{d,f}: the squared distance of two rows from their differences, in
       double, in one fixed summation order (the exact distances of the float32
       tie-break and of Elkan's algorithm).

   skml_row_dots_{d,f}{32,64}: a CSR row's dot products with every centre (centres
       transposed), in double, in one fixed order (see below).

   skml_accumulate_{d,f}: for each row r < m of a chunk, sums[lab[r]] += w[r] * x[r] and
       wsum[lab[r]] += w[r], in double (no fused multiply-add, in either path); w NULL
       means unit weights (the same sums, without the multiplications).

   Whatever the input (NaN or inf included), every label written is in [0, k).

   Header-only: included by _kmeans.pyx and compiled into that extension (every
   function is static). */
#ifndef SKML_KMEANS_LLOYD_H
#define SKML_KMEANS_LLOYD_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define SKML_X86_DISPATCH 1
#include <immintrin.h>
#endif

static int skml_avx2 = 0;

static int skml_kmeans_detect_cpu(void) {
#ifdef SKML_X86_DISPATCH
    __builtin_cpu_init();
    skml_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
    return skml_avx2;
}

static int skml_kmeans_simd(void) { return skml_avx2; }

static void skml_kmeans_set_simd(int on) {
    if (on)
        skml_kmeans_detect_cpu();
    else
        skml_avx2 = 0;
}

/* ------------------------------------------------------------------ argmin, scalar */

#define SKML_SCALAR_ARGMIN(T)                                                  \
    {                                                                         \
        T best = row[0] + cc[0], v;                                           \
        int lab = 0, j;                                                       \
        for (j = 1; j < k; j++) {                                             \
            v = row[j] + cc[j];                                               \
            if (v < best) { best = v; lab = j; }                              \
        }                                                                     \
        return lab;                                                           \
    }

static int argmin_row_scalar_d(const double* row, const double* cc, int k)
SKML_SCALAR_ARGMIN(double)
static int argmin_row_scalar_f(const float* row, const float* cc, int k)
SKML_SCALAR_ARGMIN(float)

/* The float32 threshold, at least best + 2E: best + 3E in float arithmetic. E is at
   least 3u times (||x|| + cmax)^2 >= 3u |best|, so the extra E covers the rounding of
   3E and of the addition, without a libm call per row. */
static inline float threshold_f(float best, double bound) {
    return best + (float)(3.0 * bound);
}

/* Squared distance between two rows in double, from the differences: four running
   sums (f mod 4) added as (s0 + s1) + (s2 + s3), then the tail. One summation order
   for every caller, so the same pair always gives the same value. */
#define SKML_SQDIST(T)                                                         \
    {                                                                         \
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, t0, t1, t2, t3;        \
        int f = 0;                                                            \
        for (; f + 4 <= d; f += 4) {                                          \
            t0 = (double)x[f] - (double)c[f];                                 \
            t1 = (double)x[f + 1] - (double)c[f + 1];                         \
            t2 = (double)x[f + 2] - (double)c[f + 2];                         \
            t3 = (double)x[f + 3] - (double)c[f + 3];                         \
            s0 += t0 * t0;                                                    \
            s1 += t1 * t1;                                                    \
            s2 += t2 * t2;                                                    \
            s3 += t3 * t3;                                                    \
        }                                                                     \
        s0 = (s0 + s1) + (s2 + s3);                                           \
        for (; f < d; f++) {                                                  \
            t0 = (double)x[f] - (double)c[f];                                 \
            s0 += t0 * t0;                                                    \
        }                                                                     \
        return s0;                                                            \
    }

static inline double skml_sqdist_d(const double* x, const double* c, int d)
SKML_SQDIST(double)
static inline double skml_sqdist_f(const float* x, const float* c, int d)
SKML_SQDIST(float)

/* Among the centres whose float32 value is <= thr, the one with the smallest exact
   squared distance to x (ties to the smaller index); -1 if there is none (NaN). */
static int argmin_exact_f(const float* row, const float* cc, float thr, const float* x,
                          const float* C, int k, int d) {
    int j, lab = -1;
    double best = 0.0, s;
    for (j = 0; j < k; j++) {
        if (!(row[j] + cc[j] <= thr)) continue;
        s = skml_sqdist_f(x, C + (size_t)j * d, d);
        if (lab < 0 || s < best) { best = s; lab = j; }
    }
    return lab;
}

/* Bounded float32 argmin of one row, scalar: the plain argmin, unless another centre is
   within the threshold of it, in which case the exact distances decide. */
static int argmin_row_bounded_f(const float* row, const float* cc, int k, double bound,
                                const float* x, const float* C, int d) {
    int lab = argmin_row_scalar_f(row, cc, k), j, count = 0, exact;
    float thr = threshold_f(row[lab] + cc[lab], bound);
    for (j = 0; j < k && count < 2; j++)
        if (row[j] + cc[j] <= thr) count++;
    if (count < 2) return lab;
    exact = argmin_exact_f(row, cc, thr, x, C, k, d);
    return exact >= 0 ? exact : lab;
}

/* E_r = gamma (||x_r|| + cmax)^2: the rounding bound of a row's values. */
static inline double bound_of(const double* xnorm, int r, double cmax, double gamma) {
    double s = xnorm[r] + cmax;
    return gamma * s * s;
}

/* ------------------------------------------------------------------ argmin, AVX2 */

#ifdef SKML_X86_DISPATCH
/* The minimum is found with vector mins, then the first index holding it with compare
   masks, so there is no data-dependent branch per centre; every sum is rounded exactly
   as in the scalar loop, so both paths give the same labels. */
__attribute__((target("avx2")))
static void argmin_rows_d_avx2(const double* buf, const double* cc, int m, int k,
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
        out[r] = lab >= 0 ? lab : argmin_row_scalar_d(row, cc, k);
    }
}

__attribute__((target("avx2")))
static float row_min_f_avx2(const float* row, const float* cc, int k) {
    __m256 mn = _mm256_set1_ps(HUGE_VALF);
    __m128 lo;
    float best, v;
    int j;
    for (j = 0; j + 8 <= k; j += 8)
        mn = _mm256_min_ps(_mm256_add_ps(_mm256_loadu_ps(row + j),
                                         _mm256_loadu_ps(cc + j)), mn);
    lo = _mm_min_ps(_mm256_castps256_ps128(mn), _mm256_extractf128_ps(mn, 1));
    lo = _mm_min_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_min_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    best = _mm_cvtss_f32(lo);
    for (; j < k; j++) { v = row[j] + cc[j]; if (v < best) best = v; }
    return best;
}

__attribute__((target("avx2")))
static void argmin_rows_f_avx2(const float* buf, const float* cc, int m, int k,
                               int* out) {
    int r, j, base, lab;
    for (r = 0; r < m; r++) {
        const float* row = buf + (size_t)r * k;
        float best = row_min_f_avx2(row, cc, k);
        __m256 b = _mm256_set1_ps(best);
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
        out[r] = lab >= 0 ? lab : argmin_row_scalar_f(row, cc, k);
    }
}

/* Bounded: the candidates (values <= the threshold) are counted with compare masks; one
   candidate is the label, several go to the exact distances. The masks of a window of
   up to 64 centres are OR-ed together without a branch per block (which block holds the
   minimum is random, so a branch on it mispredicts about every other row); the only
   branch per window, "more than one candidate", is almost never taken. */
__attribute__((target("avx2")))
static void argmin_rows_bounded_f_avx2(const float* buf, const float* cc, int m, int k,
                                       const double* xnorm, double cmax, double gamma,
                                       const float* X, const float* C, int d, int* out) {
    int r, j, base, stop, first, count, exact;
    for (r = 0; r < m; r++) {
        const float* row = buf + (size_t)r * k;
        float thr = threshold_f(row_min_f_avx2(row, cc, k),
                                bound_of(xnorm, r, cmax, gamma));
        __m256 t = _mm256_set1_ps(thr);
        first = -1;
        count = 0;
        for (base = 0; base + 8 <= k && count < 2; base = j) {
            unsigned long long mask = 0;
            stop = base + 64 < k ? base + 64 : k;
            for (j = base; j + 8 <= stop; j += 8)
                mask |= (unsigned long long)_mm256_movemask_ps(_mm256_cmp_ps(
                    _mm256_add_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(cc + j)), t,
                    _CMP_LE_OQ)) << (j - base);
            count += __builtin_popcountll(mask);
            if (first < 0 && mask) first = base + __builtin_ctzll(mask);
        }
        for (j = k & ~7; j < k && count < 2; j++)
            if (row[j] + cc[j] <= thr) {
                if (first < 0) first = j;
                count++;
            }
        if (count == 1) {
            out[r] = first;
        } else {
            exact = count ? argmin_exact_f(row, cc, thr, X + (size_t)r * d, C, k, d) : -1;
            out[r] = exact >= 0 ? exact : argmin_row_scalar_f(row, cc, k);
        }
    }
}
#endif

static void skml_argmin_rows_d(const double* buf, const double* cc, int m, int k, int* out) {
    int r;
#ifdef SKML_X86_DISPATCH
    if (skml_avx2 && k >= 4) { argmin_rows_d_avx2(buf, cc, m, k, out); return; }
#endif
    for (r = 0; r < m; r++) out[r] = argmin_row_scalar_d(buf + (size_t)r * k, cc, k);
}

static void skml_argmin_rows_f(const float* buf, const float* cc, int m, int k,
                        const double* xnorm, double cmax, double gamma,
                        const float* X, const float* C, int d, int* out) {
    int r;
    if (xnorm) {
#ifdef SKML_X86_DISPATCH
        if (skml_avx2 && k >= 8) {
            argmin_rows_bounded_f_avx2(buf, cc, m, k, xnorm, cmax, gamma, X, C, d, out);
            return;
        }
#endif
        for (r = 0; r < m; r++)
            out[r] = argmin_row_bounded_f(buf + (size_t)r * k, cc, k,
                                          bound_of(xnorm, r, cmax, gamma),
                                          X + (size_t)r * d, C, d);
        return;
    }
#ifdef SKML_X86_DISPATCH
    if (skml_avx2 && k >= 8) { argmin_rows_f_avx2(buf, cc, m, k, out); return; }
#endif
    for (r = 0; r < m; r++) out[r] = argmin_row_scalar_f(buf + (size_t)r * k, cc, k);
}

/* ------------------------------------------------------------------ accumulation */

#define SKML_ACCUMULATE(T)                                                     \
    {                                                                         \
        int r, f;                                                             \
        for (r = 0; r < m; r++) {                                             \
            const T* x = X + (size_t)r * d;                                   \
            double* s = sums + (size_t)lab[r] * d;                            \
            if (w) {                                                          \
                double wr = (double)w[r];                                     \
                wsum[lab[r]] += wr;                                           \
                for (f = 0; f < d; f++) s[f] += wr * (double)x[f];            \
            } else {                                                          \
                wsum[lab[r]] += 1.0;                                          \
                for (f = 0; f < d; f++) s[f] += (double)x[f];                 \
            }                                                                 \
        }                                                                     \
    }

#ifdef SKML_X86_DISPATCH
__attribute__((target("avx2")))
static void accumulate_d_avx2(const double* X, const double* w, const int* lab, int m,
                              int d, double* sums, double* wsum)
SKML_ACCUMULATE(double)
__attribute__((target("avx2")))
static void accumulate_f_avx2(const float* X, const float* w, const int* lab, int m,
                              int d, double* sums, double* wsum)
SKML_ACCUMULATE(float)
#endif

static void accumulate_d_base(const double* X, const double* w, const int* lab, int m,
                              int d, double* sums, double* wsum)
SKML_ACCUMULATE(double)
static void accumulate_f_base(const float* X, const float* w, const int* lab, int m,
                              int d, double* sums, double* wsum)
SKML_ACCUMULATE(float)

static void skml_accumulate_d(const double* X, const double* w, const int* lab, int m, int d,
                       double* sums, double* wsum) {
#ifdef SKML_X86_DISPATCH
    if (skml_avx2) { accumulate_d_avx2(X, w, lab, m, d, sums, wsum); return; }
#endif
    accumulate_d_base(X, w, lab, m, d, sums, wsum);
}

static void skml_accumulate_f(const float* X, const float* w, const int* lab, int m, int d,
                       double* sums, double* wsum) {
#ifdef SKML_X86_DISPATCH
    if (skml_avx2) { accumulate_f_avx2(X, w, lab, m, d, sums, wsum); return; }
#endif
    accumulate_f_base(X, w, lab, m, d, sums, wsum);
}

/* ------------------------------------------------------------------ CSR row dots */

/* dot[j] = x . c_j for one CSR row (entries p0:p1 of data/idx) and centres held
   transposed, cT[f * k + j] (in the data's dtype), summed in double: for each j the
   products are added in the row's stored order, starting from 0, with no fused
   multiply-add, in both paths (so they give the same sums). The AVX2 path keeps 16
   (then 4) running sums in registers while it streams the row's entries. */
#define SKML_ROW_DOTS_BASE(NAME, TD, TI)                                        \
    static void NAME##_base(const TD* data, const TI* idx, ptrdiff_t p0,       \
                            ptrdiff_t p1, const TD* cT, int k, double* dot) {  \
        int j;                                                                \
        ptrdiff_t p;                                                          \
        for (j = 0; j < k; j++) dot[j] = 0.0;                                 \
        for (p = p0; p < p1; p++) {                                           \
            double v = (double)data[p];                                       \
            const TD* col = cT + (size_t)idx[p] * k;                          \
            for (j = 0; j < k; j++) dot[j] += v * (double)col[j];             \
        }                                                                     \
    }

SKML_ROW_DOTS_BASE(skml_row_dots_d32, double, int32_t)
SKML_ROW_DOTS_BASE(skml_row_dots_d64, double, int64_t)
SKML_ROW_DOTS_BASE(skml_row_dots_f32, float, int32_t)
SKML_ROW_DOTS_BASE(skml_row_dots_f64, float, int64_t)

#ifdef SKML_X86_DISPATCH
/* LOAD4(ptr): four centres' values as doubles */
#define SKML_LOAD4_d(ptr) _mm256_loadu_pd(ptr)
#define SKML_LOAD4_f(ptr) _mm256_cvtps_pd(_mm_loadu_ps(ptr))
#define SKML_ROW_DOTS_AVX2(NAME, TD, TI, L)                                     \
    __attribute__((target("avx2")))                                           \
    static void NAME##_avx2(const TD* data, const TI* idx, ptrdiff_t p0,       \
                            ptrdiff_t p1, const TD* cT, int k, double* dot) {  \
        int j = 0;                                                            \
        ptrdiff_t p;                                                          \
        for (; j + 16 <= k; j += 16) {                                        \
            __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0, v;   \
            for (p = p0; p < p1; p++) {                                       \
                const TD* col = cT + (size_t)idx[p] * k + j;                  \
                v = _mm256_set1_pd((double)data[p]);                          \
                a0 = _mm256_add_pd(a0, _mm256_mul_pd(v, SKML_LOAD4_##L(col)));      \
                a1 = _mm256_add_pd(a1, _mm256_mul_pd(v, SKML_LOAD4_##L(col + 4)));  \
                a2 = _mm256_add_pd(a2, _mm256_mul_pd(v, SKML_LOAD4_##L(col + 8)));  \
                a3 = _mm256_add_pd(a3, _mm256_mul_pd(v, SKML_LOAD4_##L(col + 12))); \
            }                                                                 \
            _mm256_storeu_pd(dot + j, a0);                                    \
            _mm256_storeu_pd(dot + j + 4, a1);                                \
            _mm256_storeu_pd(dot + j + 8, a2);                                \
            _mm256_storeu_pd(dot + j + 12, a3);                               \
        }                                                                     \
        for (; j + 4 <= k; j += 4) {                                          \
            __m256d a0 = _mm256_setzero_pd();                                 \
            for (p = p0; p < p1; p++)                                         \
                a0 = _mm256_add_pd(a0, _mm256_mul_pd(                         \
                    _mm256_set1_pd((double)data[p]),                          \
                    SKML_LOAD4_##L(cT + (size_t)idx[p] * k + j)));            \
            _mm256_storeu_pd(dot + j, a0);                                    \
        }                                                                     \
        for (; j < k; j++) {                                                  \
            double s = 0.0;                                                   \
            for (p = p0; p < p1; p++)                                         \
                s += (double)data[p] * (double)cT[(size_t)idx[p] * k + j];    \
            dot[j] = s;                                                       \
        }                                                                     \
    }

SKML_ROW_DOTS_AVX2(skml_row_dots_d32, double, int32_t, d)
SKML_ROW_DOTS_AVX2(skml_row_dots_d64, double, int64_t, d)
SKML_ROW_DOTS_AVX2(skml_row_dots_f32, float, int32_t, f)
SKML_ROW_DOTS_AVX2(skml_row_dots_f64, float, int64_t, f)
#endif

#ifdef SKML_X86_DISPATCH
#define SKML_ROW_DOTS(NAME, TD, TI)                                             \
    static inline void NAME(const TD* data, const TI* idx, ptrdiff_t p0,       \
                            ptrdiff_t p1, const TD* cT, int k, double* dot) {  \
        if (skml_avx2 && k >= 4) NAME##_avx2(data, idx, p0, p1, cT, k, dot);   \
        else NAME##_base(data, idx, p0, p1, cT, k, dot);                      \
    }
#else
#define SKML_ROW_DOTS(NAME, TD, TI)                                             \
    static inline void NAME(const TD* data, const TI* idx, ptrdiff_t p0,       \
                            ptrdiff_t p1, const TD* cT, int k, double* dot) {  \
        NAME##_base(data, idx, p0, p1, cT, k, dot);                           \
    }
#endif

SKML_ROW_DOTS(skml_row_dots_d32, double, int32_t)
SKML_ROW_DOTS(skml_row_dots_d64, double, int64_t)
SKML_ROW_DOTS(skml_row_dots_f32, float, int32_t)
SKML_ROW_DOTS(skml_row_dots_f64, float, int64_t)

#endif  /* SKML_KMEANS_LLOYD_H */
