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
O(n log n) sort, at worst. Since ``iou_threshold >= 0``, only a kept box whose
intersection with the candidate has positive area can suppress it, so the kept boxes
are also filed in a uniform grid (origin ``x0, y0``, square cells of side ``cell``,
``nx x ny`` cells; a box goes into every cell its closed extent touches) and a
candidate looks only at the cells it touches: two boxes with a positive-area
intersection share a cell because the cell index is a monotone function of the
coordinate. Boxes touching more than ``_MAX_SPAN`` cells are kept in a list every
candidate scans; a candidate touching more than ``_MAX_QUERY`` cells scans all kept
boxes. The grid changes which comparisons are made, never the decision (a box is
suppressed iff some kept box overlaps it by more than the threshold), and any grid
parameters give the same answer (coordinates outside the grid are clamped to its
border cells). A candidate is suppressed when its IoU with a kept box is strictly
greater than the threshold; the IoU is computed as ``inter / (area_a + area_b -
inter)`` in float64 with the operations in the same order as ``box_iou``, and a zero
union gives IoU 0, so the decisions are exactly those of the NumPy formula.
"""
from libc.stdlib cimport malloc, free

cimport numpy as cnp

cnp.import_array()

ctypedef cnp.intp_t intp_t


cdef Py_ssize_t _MAX_SPAN = 16
cdef Py_ssize_t _MAX_QUERY = 64


cdef inline Py_ssize_t _cell(double v, double origin, double cell, Py_ssize_t n) noexcept nogil:
    cdef double c = (v - origin) / cell
    if not (c > 0):          # also NaN: never an index outside the grid
        return 0
    if c >= n - 1:
        return n - 1
    return <Py_ssize_t> c


cdef inline bint _overlaps(double x1, double y1, double x2, double y2, double area,
                           double kx1, double ky1, double kx2, double ky2, double karea,
                           double thr) noexcept nogil:
    """IoU of the candidate with a kept box strictly above thr (the formula of box_iou)."""
    cdef double iw, ih, inter, union
    iw = (x2 if x2 < kx2 else kx2) - (x1 if x1 > kx1 else kx1)
    if iw <= 0:
        return False
    ih = (y2 if y2 < ky2 else ky2) - (y1 if y1 > ky1 else ky1)
    if ih <= 0:
        return False
    inter = iw * ih
    union = karea + area - inter
    return (inter / union if union > 0 else 0.0) > thr


def greedy_nms(const double[:, ::1] boxes, const intp_t[::1] order,
               const intp_t[::1] bounds, double iou_threshold,
               unsigned char[::1] keep, double x0=0.0, double y0=0.0, double cell=1.0,
               Py_ssize_t nx=1, Py_ssize_t ny=1):
    """Mark in ``keep`` (set to 1) the positions kept by greedy NMS in each segment."""
    cdef Py_ssize_t n = boxes.shape[0], n_order = order.shape[0]
    cdef Py_ssize_t n_seg = bounds.shape[0] - 1
    cdef Py_ssize_t s, p, q, i, n_kept, lo, hi, n_big, n_entries, n_touched
    cdef Py_ssize_t cx1, cx2, cy1, cy2, gx, gy, g, span, e
    cdef double x1, y1, x2, y2, area
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
    if not (iou_threshold >= 0):
        raise ValueError("iou_threshold must be >= 0")
    if not (cell > 0 and cell < 1e308 and x0 == x0 and y0 == y0):
        raise ValueError("the grid needs a finite origin and a positive cell")
    if nx < 1 or ny < 1 or nx > (1 << 24) // ny:
        raise ValueError("the grid must have between 1 and 2**24 cells")
    if n_order == 0:
        return

    cdef Py_ssize_t n_cells = nx * ny
    cdef double *kx1 = <double*> malloc(n_order * sizeof(double))
    cdef double *ky1 = <double*> malloc(n_order * sizeof(double))
    cdef double *kx2 = <double*> malloc(n_order * sizeof(double))
    cdef double *ky2 = <double*> malloc(n_order * sizeof(double))
    cdef double *karea = <double*> malloc(n_order * sizeof(double))
    cdef intp_t *big = <intp_t*> malloc(n_order * sizeof(intp_t))
    cdef intp_t *head = <intp_t*> malloc(n_cells * sizeof(intp_t))
    cdef intp_t *touched = <intp_t*> malloc(n_cells * sizeof(intp_t))
    cdef intp_t *nxt = <intp_t*> malloc(_MAX_SPAN * n_order * sizeof(intp_t))
    cdef intp_t *who = <intp_t*> malloc(_MAX_SPAN * n_order * sizeof(intp_t))
    if not (kx1 and ky1 and kx2 and ky2 and karea and big and head and touched and nxt
            and who):
        free(kx1); free(ky1); free(kx2); free(ky2); free(karea); free(big)
        free(head); free(touched); free(nxt); free(who)
        raise MemoryError()
    try:
        with nogil:
            for g in range(n_cells):
                head[g] = -1
            for s in range(n_seg):
                lo = bounds[s]
                hi = bounds[s + 1]
                n_kept = 0
                n_big = 0
                n_entries = 0
                n_touched = 0
                for p in range(lo, hi):
                    i = order[p]
                    x1 = boxes[i, 0]
                    y1 = boxes[i, 1]
                    x2 = boxes[i, 2]
                    y2 = boxes[i, 3]
                    area = (x2 - x1) * (y2 - y1)
                    cx1 = _cell(x1, x0, cell, nx)
                    cx2 = _cell(x2, x0, cell, nx)
                    cy1 = _cell(y1, y0, cell, ny)
                    cy2 = _cell(y2, y0, cell, ny)
                    span = (cx2 - cx1 + 1) * (cy2 - cy1 + 1)
                    suppressed = False
                    if span > _MAX_QUERY:
                        for q in range(n_kept):
                            if _overlaps(x1, y1, x2, y2, area, kx1[q], ky1[q], kx2[q],
                                         ky2[q], karea[q], iou_threshold):
                                suppressed = True
                                break
                    else:
                        for e in range(n_big):
                            q = big[e]
                            if _overlaps(x1, y1, x2, y2, area, kx1[q], ky1[q], kx2[q],
                                         ky2[q], karea[q], iou_threshold):
                                suppressed = True
                                break
                        gy = cy1
                        while not suppressed and gy <= cy2:
                            gx = cx1
                            while not suppressed and gx <= cx2:
                                e = head[gy * nx + gx]
                                while e >= 0:
                                    q = who[e]
                                    if _overlaps(x1, y1, x2, y2, area, kx1[q], ky1[q],
                                                 kx2[q], ky2[q], karea[q], iou_threshold):
                                        suppressed = True
                                        break
                                    e = nxt[e]
                                gx += 1
                            gy += 1
                    if suppressed:
                        continue
                    kx1[n_kept] = x1
                    ky1[n_kept] = y1
                    kx2[n_kept] = x2
                    ky2[n_kept] = y2
                    karea[n_kept] = area
                    keep[i] = 1
                    if span > _MAX_SPAN:
                        big[n_big] = n_kept
                        n_big += 1
                    else:
                        for gy in range(cy1, cy2 + 1):
                            for gx in range(cx1, cx2 + 1):
                                g = gy * nx + gx
                                if head[g] < 0:
                                    touched[n_touched] = g
                                    n_touched += 1
                                who[n_entries] = n_kept
                                nxt[n_entries] = head[g]
                                head[g] = n_entries
                                n_entries += 1
                    n_kept += 1
                # Empty the cells this segment used (not the whole grid).
                for e in range(n_touched):
                    head[touched[e]] = -1
    finally:
        free(kx1); free(ky1); free(kx2); free(ky2); free(karea); free(big)
        free(head); free(touched); free(nxt); free(who)
