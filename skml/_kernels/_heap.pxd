# cython: language_level=3
"""(distance, index) max-heaps and sorts shared by the neighbour kernels (_pairwise,
_kdtree). Inline only, so no extension module is built for this file.

Order: by distance, then by index, so ties always go to the smaller index.
"""
from cython cimport floating
from libc.math cimport INFINITY
cimport numpy as cnp


cdef inline bint pair_after(floating d1, cnp.intp_t i1, floating d2,
                            cnp.intp_t i2) noexcept nogil:
    """(d1, i1) sorts after (d2, i2)."""
    return d1 > d2 or (d1 == d2 and i1 > i2)


cdef inline void heap_sift_down(floating* hd, cnp.intp_t* hi, Py_ssize_t n,
                                Py_ssize_t pos, floating v, cnp.intp_t j) noexcept nogil:
    """Put (v, j) at ``pos`` of the max-heap hd/hi of size n and sift it down.
    With pos=0 this replaces the root (the current worst of the k best)."""
    cdef Py_ssize_t child
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        if child + 1 < n and pair_after(hd[child + 1], hi[child + 1], hd[child], hi[child]):
            child = child + 1
        if pair_after(hd[child], hi[child], v, j):
            hd[pos] = hd[child]
            hi[pos] = hi[child]
            pos = child
        else:
            break
    hd[pos] = v
    hi[pos] = j


cdef inline void heap_sort(floating* hd, cnp.intp_t* hi, Py_ssize_t n) noexcept nogil:
    """Sort a max-heap into ascending (distance, index) order, in place."""
    cdef Py_ssize_t last
    cdef floating v
    cdef cnp.intp_t j
    for last in range(n - 1, 0, -1):
        v = hd[last]
        j = hi[last]
        hd[last] = hd[0]
        hi[last] = hi[0]
        heap_sift_down(hd, hi, last, 0, v, j)


cdef inline void empty_heap(floating* hd, cnp.intp_t* hi, Py_ssize_t n,
                            cnp.intp_t sentinel) noexcept nogil:
    """n slots at distance +inf, index ``sentinel`` (after every real index, so that
    the first n real candidates replace them)."""
    cdef Py_ssize_t h
    for h in range(n):
        hd[h] = INFINITY
        hi[h] = sentinel


cdef inline void sort_pairs(floating* hd, cnp.intp_t* hi, Py_ssize_t n) noexcept nogil:
    """Heapsort n arbitrary (distance, index) pairs into ascending order."""
    cdef Py_ssize_t pos
    for pos in range(n // 2 - 1, -1, -1):
        heap_sift_down(hd, hi, n, pos, hd[pos], hi[pos])
    heap_sort(hd, hi, n)


cdef inline void insertion_sort_pairs(floating* hd, cnp.intp_t* hi,
                                      Py_ssize_t n) noexcept nogil:
    """Restore (distance, index) order in a nearly sorted row (after a monotone last step
    such as sqrt or clipping made some distances equal): ~O(n) on such input."""
    cdef Py_ssize_t a, b
    cdef floating v
    cdef cnp.intp_t j
    for a in range(1, n):
        v = hd[a]
        j = hi[a]
        b = a - 1
        while b >= 0 and pair_after(hd[b], hi[b], v, j):
            hd[b + 1] = hd[b]
            hi[b + 1] = hi[b]
            b = b - 1
        hd[b + 1] = v
        hi[b + 1] = j
