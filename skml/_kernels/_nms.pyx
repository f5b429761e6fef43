# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Greedy non-maximum suppression over a sorted index.

The Python layer (``skml.neural.detection._ops``) hands over finite float64 boxes
``(x1, y1, x2, y2)`` (C-contiguous, shape (n, 4), already scaled by a power of two so
that areas cannot overflow), an ``order`` of candidate positions (each segment of it
sorted by decreasing score, ties by increasing index), segment ``bounds`` (NMS runs
independently in each segment: one segment for ``nms``, one per label for
``batched_nms``) and a writable uint8 ``keep`` of length n. ``greedy_nms`` checks the
index arrays (O(n)) before any work, so a bad index raises instead of reading out of
bounds.

Each candidate is compared only with the boxes already kept in its segment, whose
coordinates and areas are copied into contiguous buffers: O(n * kept) work after the
O(n log n) sort. A candidate is suppressed when its IoU with a kept box is strictly
greater than the threshold; the IoU is computed as ``inter / (area_a + area_b -
inter)`` in float64 with the operations in the same order as ``box_iou``, and a zero
union gives IoU 0, so the decisions are exactly those of the NumPy formula.
"""
from libc.stdlib cimport malloc, free

cimport numpy as cnp

cnp.import_array()

ctypedef cnp.intp_t intp_t


def greedy_nms(const double[:, ::1] boxes, const intp_t[::1] order,
               const intp_t[::1] bounds, double iou_threshold,
               unsigned char[::1] keep):
    """Mark in ``keep`` (set to 1) the positions kept by greedy NMS in each segment."""
    cdef Py_ssize_t n = boxes.shape[0], n_order = order.shape[0]
    cdef Py_ssize_t n_seg = bounds.shape[0] - 1
    cdef Py_ssize_t s, p, q, i, n_kept, lo, hi
    cdef double *kx1
    cdef double *ky1
    cdef double *kx2
    cdef double *ky2
    cdef double *karea
    cdef double x1, y1, x2, y2, area, iw, ih, inter, union, iou
    cdef bint suppressed

    if boxes.shape[1] != 4:
        raise ValueError("boxes must have 4 columns")
    if keep.shape[0] != n:
        raise ValueError("keep must have one entry per box")
    if n_seg < 0 or bounds[0] != 0 or bounds[n_seg] != n_order:
        raise ValueError("bounds must start at 0 and end at len(order)")
    for s in range(n_seg):
        if bounds[s + 1] < bounds[s]:
            raise ValueError("bounds must be non-decreasing")
    for p in range(n_order):
        if order[p] < 0 or order[p] >= n:
            raise ValueError("order holds an index out of range")
    if n_order == 0:
        return

    kx1 = <double*> malloc(n_order * sizeof(double))
    ky1 = <double*> malloc(n_order * sizeof(double))
    kx2 = <double*> malloc(n_order * sizeof(double))
    ky2 = <double*> malloc(n_order * sizeof(double))
    karea = <double*> malloc(n_order * sizeof(double))
    if not (kx1 and ky1 and kx2 and ky2 and karea):
        free(kx1); free(ky1); free(kx2); free(ky2); free(karea)
        raise MemoryError()
    try:
        with nogil:
            for s in range(n_seg):
                lo = bounds[s]
                hi = bounds[s + 1]
                n_kept = 0
                for p in range(lo, hi):
                    i = order[p]
                    x1 = boxes[i, 0]
                    y1 = boxes[i, 1]
                    x2 = boxes[i, 2]
                    y2 = boxes[i, 3]
                    area = (x2 - x1) * (y2 - y1)
                    suppressed = False
                    for q in range(n_kept):
                        iw = (x2 if x2 < kx2[q] else kx2[q]) - (x1 if x1 > kx1[q] else kx1[q])
                        if iw <= 0:
                            continue
                        ih = (y2 if y2 < ky2[q] else ky2[q]) - (y1 if y1 > ky1[q] else ky1[q])
                        if ih <= 0:
                            continue
                        inter = iw * ih
                        union = karea[q] + area - inter
                        iou = inter / union if union > 0 else 0.0
                        if iou > iou_threshold:
                            suppressed = True
                            break
                    if not suppressed:
                        kx1[n_kept] = x1
                        ky1[n_kept] = y1
                        kx2[n_kept] = x2
                        ky2[n_kept] = y2
                        karea[n_kept] = area
                        n_kept += 1
                        keep[i] = 1
    finally:
        free(kx1); free(ky1); free(kx2); free(ky2); free(karea)
