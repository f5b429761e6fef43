# cython: language_level=3
"""The exact distance of a pair of rows, shared by the brute-force kernel (``_pairwise``)
and the trees (``_kdtree``, ``_balltree``), so that every algorithm ranks neighbours by
the same numbers and breaks the same ties. Inline only: no extension is built for it.

A pair's *key* is a double with the order of the distance; ``key_to_dist`` turns it into
the distance. Keys are computed from the rows themselves (never through the GEMM
identity), feature by feature in order, in double:

* ``s`` is a power of two chosen per call (1.0 unless the data come within a few powers of
  two of the largest double): every coordinate is multiplied by it before the
  subtraction, which is exact and makes ``x - y`` and the sums below overflow-free;
* euclidean / sqeuclidean, ``robust == 0``: ``sum (x_j - y_j)^2`` (the squared distance).
  The caller picks this form only when no square can overflow or underflow;
* euclidean / sqeuclidean, ``robust == 1``, and minkowski with ``p > 1``: the distance in
  scaled form, ``m * (sum (|t_j| / m)^p)^(1/p)`` with ``t = x*s - y*s`` and
  ``m = max |t_j|`` (every term is <= 1 and the largest is 1: no overflow, no underflow,
  for any ``p``);
* minkowski with ``p < 1`` (a dissimilarity, not a metric): ``sum |t_j|^p``;
* manhattan ``sum |t_j|``; chebyshev ``max |t_j|``;
* cosine: ``1 - cos``, computed from per-row scale factors and inverse norms the caller
  prepares (``cosine_key``), clipped to [0, 2].

The metric codes are the module-level ``METRIC_CODES`` of ``_pairwise`` (name -> code).
"""
from cython cimport floating
from libc.float cimport DBL_MAX
from libc.math cimport sqrt, fabs, pow, frexp, ldexp

cdef enum:
    EUCLIDEAN = 0
    SQEUCLIDEAN = 1
    COSINE = 2
    MANHATTAN = 3
    MINKOWSKI = 4
    CHEBYSHEV = 5


cdef inline double pow2_row_scale(double m) noexcept nogil:
    """The power of two that puts a row's largest |x| (``m``) in [0.5, 1): 1 for a zero
    row, and 2**1000 for a subnormal row, whose 2**-e is beyond the largest double
    (2**1000 brings its largest |x| to >= 2**-74, whose squares are safe too)."""
    cdef int e
    if m == 0.0:
        return 1.0
    frexp(m, &e)
    return ldexp(1.0, -e if e > -1000 else 1000)


cdef inline bint key_is_scaled(int metric, double p, int robust) noexcept nogil:
    """The key is the distance in the scaled form (needs a slack when bounding boxes)."""
    if metric == EUCLIDEAN or metric == SQEUCLIDEAN:
        return robust != 0
    return metric == MINKOWSKI and p >= 1.0


cdef inline double ratio_to_max(double t, double m, double inv) noexcept nogil:
    """t / m for 0 <= t <= m, as ``t * inv`` with ``inv = 1 / m``, and exactly 1 for the
    maximum itself (``m * inv`` can round to 1 - 2**-53, whose power of a huge order,
    p = 1e100, is 0: the distance came out 0); where 1 / m overflows (m below 2**-1024:
    a subnormal maximum) the quotient itself. So the scaled sum is in [1, d] and the
    key finite and exact to rounding for any order and any finite data. Every kernel's
    scaled form goes through here (the same numbers)."""
    if t >= m:
        return 1.0
    if inv <= DBL_MAX:
        return t * inv
    return t / m


cdef inline double _scaled_pnorm_of_max(double acc, double m, double p) noexcept nogil:
    if p == 2.0:
        return m * sqrt(acc)
    return m * pow(acc, 1.0 / p)


cdef inline double sq_euclid_plain(const floating* x, const floating* y,
                                   Py_ssize_t d) noexcept nogil:
    """The plain euclidean key (s == 1, not robust): sum (x_j - y_j)^2 in order. Small,
    so that hot loops inline it; ``key_dense`` uses it for that case."""
    cdef Py_ssize_t j
    cdef double acc = 0.0, t
    for j in range(d):
        t = <double>x[j] - <double>y[j]
        acc += t * t
    return acc


cdef inline double key_dense(const floating* x, const floating* y, Py_ssize_t d,
                             int metric, double p, double s, int robust) noexcept nogil:
    """The key of rows x and y (``d`` features, contiguous); see the module docstring."""
    cdef Py_ssize_t j
    cdef double acc = 0.0, t, m, inv, q
    if metric == EUCLIDEAN or metric == SQEUCLIDEAN:
        if robust == 0:
            if s == 1.0:
                return sq_euclid_plain(x, y, d)
            else:
                for j in range(d):
                    t = <double>x[j] * s - <double>y[j] * s
                    acc += t * t
            return acc
        q = 2.0
    elif metric == MANHATTAN:
        if s == 1.0:  # (x * 1.0 == x: the same numbers, fewer operations)
            for j in range(d):
                acc += fabs(<double>x[j] - <double>y[j])
        else:
            for j in range(d):
                acc += fabs(<double>x[j] * s - <double>y[j] * s)
        return acc
    elif metric == CHEBYSHEV:
        for j in range(d):
            t = fabs(<double>x[j] * s - <double>y[j] * s) if s != 1.0 else \
                fabs(<double>x[j] - <double>y[j])
            if t > acc:
                acc = t
        return acc
    elif p < 1.0:  # minkowski below 1: the sum itself (no overflow: |t|^p <= max(1, |t|))
        for j in range(d):
            acc += pow(fabs(<double>x[j] * s - <double>y[j] * s), p)
        return acc
    else:
        q = p
    # scaled form
    m = 0.0
    for j in range(d):
        t = fabs(<double>x[j] * s - <double>y[j] * s)
        if t > m:
            m = t
    if m == 0.0:
        return 0.0
    inv = 1.0 / m
    if q == 2.0:
        for j in range(d):
            t = ratio_to_max(fabs(<double>x[j] * s - <double>y[j] * s), m, inv)
            acc += t * t
    else:
        for j in range(d):
            acc += pow(ratio_to_max(fabs(<double>x[j] * s - <double>y[j] * s), m, inv), q)
    return _scaled_pnorm_of_max(acc, m, q)


cdef inline double key_from_terms_scaled(const double* t, Py_ssize_t d,
                                         double q) noexcept nogil:
    """The scaled form over precomputed non-negative terms ``t`` (box gaps)."""
    cdef Py_ssize_t j
    cdef double m = 0.0, acc = 0.0, inv, v
    for j in range(d):
        if t[j] > m:
            m = t[j]
    if m == 0.0:
        return 0.0
    inv = 1.0 / m
    for j in range(d):
        v = ratio_to_max(t[j], m, inv)
        if q == 2.0:
            acc += v * v
        else:
            acc += pow(v, q)
    return _scaled_pnorm_of_max(acc, m, q)


cdef inline double cosine_key(const floating* x, const floating* y, Py_ssize_t d,
                              double sx, double sy, double ix, double iy) noexcept nogil:
    """1 - cos(x, y) from the rows, their power-of-two scales (sx, sy: the largest
    |coordinate| times the scale is below 1) and the inverse norms of the scaled rows
    (ix, iy; 0 for a zero row, whose distance to everything is 1). Clipped to [0, 2]."""
    cdef Py_ssize_t j
    cdef double acc = 0.0, v
    for j in range(d):
        acc += (<double>x[j] * sx) * (<double>y[j] * sy)
    v = 1.0 - acc * ix * iy
    if v < 0.0:
        return 0.0
    if v > 2.0:
        return 2.0
    return v


cdef inline double key_to_dist(double key, int metric, double p, double s,
                               int robust) noexcept nogil:
    """The distance of a key (undoing ``s``; may overflow to inf, never NaN)."""
    if metric == COSINE:
        return key
    if metric == EUCLIDEAN:
        if robust == 0:
            return sqrt(key) / s
        return key / s
    if metric == SQEUCLIDEAN:
        if robust == 0:
            return key / (s * s)
        key = key / s
        return key * key
    if metric == MINKOWSKI and p < 1.0:
        return pow(key, 1.0 / p) / s
    return key / s
