# cython: language_level=3
"""In-place sorts for the kernels: introsort (Musser, "Introspective sorting and selection
algorithms", 1997): quicksort with a median-of-three pivot, heapsort when the recursion
gets too deep (O(n log n) worst case), insertion sort on short runs. Inline only, so no
extension module is built for this file. Everything runs without the GIL.

* ``sort_u64(a, n)``: ascending 64-bit keys. Packing a 32-bit order-preserving value in
  the high half and an index in the low half sorts (value, index) pairs with one integer
  comparison per step; ``f32_key`` / ``f32_from_key`` give that encoding for floats.
* ``sort_u64_high(a, tmp, n)``: the order of ``sort_u64`` for keys whose low halves are
  increasing in input order (indices, as the packing above gives), several times faster
  for large n: a stable LSD radix sort on the high 32 bits (8-bit digits; digits on which
  all keys agree are skipped; ``tmp`` is scratch of n keys). Other keys end sorted by
  their high halves, ties in an unspecified order.
* ``sort_f64_u64(v, s, n)``: ascending doubles ``v`` (no NaN), carrying ``s`` along
  (an index or any 64-bit payload). Equal values end in unspecified order.
"""
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy, memset

cimport numpy as cnp


cdef union _F32Bits:
    float f
    uint32_t u


cdef inline uint32_t f32_key(float v) noexcept nogil:
    """Order-preserving unsigned encoding of a (non-NaN) float: a < b iff key(a) < key(b),
    and a == b iff key(a) == key(b) (-0.0 has the key of +0.0)."""
    cdef _F32Bits b
    if v == 0:
        v = 0
    b.f = v
    if b.u & 0x80000000u:
        return ~b.u
    return b.u | 0x80000000u


cdef inline float f32_from_key(uint32_t k) noexcept nogil:
    """Inverse of ``f32_key``."""
    cdef _F32Bits b
    if k & 0x80000000u:
        b.u = k & 0x7FFFFFFFu
    else:
        b.u = ~k
    return b.f


cdef inline int _depth_limit(cnp.intp_t n) noexcept nogil:
    cdef int depth = 0
    while n > 1:
        depth += 2
        n >>= 1
    return depth


# --- 64-bit keys --------------------------------------------------------------------------

cdef inline void _u64_insertion(uint64_t* a, cnp.intp_t n) noexcept nogil:
    cdef cnp.intp_t i, j
    cdef uint64_t t
    for i in range(1, n):
        t = a[i]
        j = i - 1
        while j >= 0 and a[j] > t:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = t


cdef inline void _u64_sift(uint64_t* a, cnp.intp_t root, cnp.intp_t end) noexcept nogil:
    cdef cnp.intp_t child
    cdef uint64_t t
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and a[child] < a[child + 1]:
            child += 1
        if a[root] >= a[child]:
            return
        t = a[root]; a[root] = a[child]; a[child] = t
        root = child


cdef inline void _u64_heapsort(uint64_t* a, cnp.intp_t n) noexcept nogil:
    cdef cnp.intp_t start = (n - 2) // 2, end = n - 1
    cdef uint64_t t
    while start >= 0:
        _u64_sift(a, start, n)
        start -= 1
    while end > 0:
        t = a[0]; a[0] = a[end]; a[end] = t
        _u64_sift(a, 0, end)
        end -= 1


cdef inline void _u64_introsort(uint64_t* a, cnp.intp_t n, int max_depth) noexcept nogil:
    cdef cnp.intp_t i, j, mid
    cdef uint64_t pivot, t
    while n > 16:
        if max_depth <= 0:
            _u64_heapsort(a, n)
            return
        max_depth -= 1
        mid = n // 2
        # order a[0] <= a[mid] <= a[n-1]: sentinels for the scans below
        if a[mid] < a[0]:
            t = a[mid]; a[mid] = a[0]; a[0] = t
        if a[n - 1] < a[mid]:
            t = a[n - 1]; a[n - 1] = a[mid]; a[mid] = t
            if a[mid] < a[0]:
                t = a[mid]; a[mid] = a[0]; a[0] = t
        pivot = a[mid]
        i = -1
        j = n
        while True:
            i += 1
            while a[i] < pivot:
                i += 1
            j -= 1
            while a[j] > pivot:
                j -= 1
            if i >= j:
                break
            t = a[i]; a[i] = a[j]; a[j] = t
        # a[0..j] <= pivot <= a[j+1..n-1], both parts non-empty; recurse on the smaller
        if j + 1 < n - j - 1:
            _u64_introsort(a, j + 1, max_depth)
            a = a + j + 1
            n = n - j - 1
        else:
            _u64_introsort(a + j + 1, n - j - 1, max_depth)
            n = j + 1
    _u64_insertion(a, n)


cdef inline void sort_u64(uint64_t* a, cnp.intp_t n) noexcept nogil:
    """Sort ``a[0:n]`` ascending."""
    if n > 1:
        _u64_introsort(a, n, _depth_limit(n))


cdef inline void sort_u64_high(uint64_t* a, uint64_t* tmp, cnp.intp_t n) noexcept nogil:
    """Sort ``a[0:n]`` by the high 32 bits, ties in input order when the low halves
    increase (see the module docstring); ``tmp``: n keys of scratch."""
    cdef cnp.intp_t counts[4][256]
    cdef cnp.intp_t i, total, c
    cdef int d, shift
    cdef uint64_t k
    cdef uint64_t* src = a
    cdef uint64_t* dst = tmp
    cdef uint64_t* t
    if n < 192:
        # introsort on the full key: the same order for increasing low halves
        sort_u64(a, n)
        return
    memset(&counts[0][0], 0, sizeof(counts))
    for i in range(n):
        k = a[i] >> 32
        counts[0][k & 0xFF] += 1
        counts[1][(k >> 8) & 0xFF] += 1
        counts[2][(k >> 16) & 0xFF] += 1
        counts[3][(k >> 24) & 0xFF] += 1
    for d in range(4):
        shift = 32 + 8 * d
        if counts[d][(src[0] >> shift) & 0xFF] == n:
            continue                    # every key has this digit: nothing to do
        total = 0
        for i in range(256):            # exclusive prefix sums: first slot of each digit
            c = counts[d][i]
            counts[d][i] = total
            total += c
        for i in range(n):
            k = src[i]
            c = (k >> shift) & 0xFF
            dst[counts[d][c]] = k
            counts[d][c] += 1
        t = src
        src = dst
        dst = t
    if src != a:
        memcpy(a, src, n * sizeof(uint64_t))


# --- doubles with a payload ---------------------------------------------------------------

cdef inline void _swap2(double* v, uint64_t* s, cnp.intp_t i, cnp.intp_t j) noexcept nogil:
    cdef double tv = v[i]
    cdef uint64_t ts = s[i]
    v[i] = v[j]; s[i] = s[j]
    v[j] = tv; s[j] = ts


cdef inline void _f64_insertion(double* v, uint64_t* s, cnp.intp_t n) noexcept nogil:
    cdef cnp.intp_t i, j
    cdef double tv
    cdef uint64_t ts
    for i in range(1, n):
        tv = v[i]
        ts = s[i]
        j = i - 1
        while j >= 0 and v[j] > tv:
            v[j + 1] = v[j]
            s[j + 1] = s[j]
            j -= 1
        v[j + 1] = tv
        s[j + 1] = ts


cdef inline void _f64_sift(double* v, uint64_t* s, cnp.intp_t root,
                           cnp.intp_t end) noexcept nogil:
    cdef cnp.intp_t child
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and v[child] < v[child + 1]:
            child += 1
        if v[root] >= v[child]:
            return
        _swap2(v, s, root, child)
        root = child


cdef inline void _f64_heapsort(double* v, uint64_t* s, cnp.intp_t n) noexcept nogil:
    cdef cnp.intp_t start = (n - 2) // 2, end = n - 1
    while start >= 0:
        _f64_sift(v, s, start, n)
        start -= 1
    while end > 0:
        _swap2(v, s, 0, end)
        _f64_sift(v, s, 0, end)
        end -= 1


cdef inline void _f64_introsort(double* v, uint64_t* s, cnp.intp_t n,
                                int max_depth) noexcept nogil:
    cdef cnp.intp_t i, j, mid
    cdef double pivot
    while n > 16:
        if max_depth <= 0:
            _f64_heapsort(v, s, n)
            return
        max_depth -= 1
        mid = n // 2
        if v[mid] < v[0]:
            _swap2(v, s, mid, 0)
        if v[n - 1] < v[mid]:
            _swap2(v, s, n - 1, mid)
            if v[mid] < v[0]:
                _swap2(v, s, mid, 0)
        pivot = v[mid]
        i = -1
        j = n
        while True:
            i += 1
            while v[i] < pivot:
                i += 1
            j -= 1
            while v[j] > pivot:
                j -= 1
            if i >= j:
                break
            _swap2(v, s, i, j)
        if j + 1 < n - j - 1:
            _f64_introsort(v, s, j + 1, max_depth)
            v = v + j + 1
            s = s + j + 1
            n = n - j - 1
        else:
            _f64_introsort(v + j + 1, s + j + 1, n - j - 1, max_depth)
            n = j + 1
    _f64_insertion(v, s, n)


cdef inline void sort_f64_u64(double* v, uint64_t* s, cnp.intp_t n) noexcept nogil:
    """Sort ``v[0:n]`` ascending (no NaN), permuting ``s[0:n]`` alike."""
    if n > 1:
        _f64_introsort(v, s, n, _depth_limit(n))
