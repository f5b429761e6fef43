# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Felzenszwalb–Huttenlocher graph-based image segmentation.

The Python layer (``skml.neural.detection._selective_search``) hands over a finite,
already smoothed float64 image of shape (H, W, C) (C-contiguous), the threshold
constant ``k`` (in the image's units) and ``min_size``; ``felzenszwalb`` checks shapes
and parameters itself and returns an (H, W) intp array of component labels
0..n_components-1, numbered in raster order of their first pixel.

The graph is the 8-neighbour grid: each pixel is joined to its right, lower,
lower-right and upper-right neighbours, with the Euclidean colour distance as the
weight. Edges are visited by increasing weight (introsort on (weight, edge) pairs);
two components merge when the edge weighs no more than both of their internal
thresholds ``Int(C) + k / |C|`` (union-find with union by size and path halving).
Then components smaller than ``min_size`` are merged into their neighbour along the
remaining edges in the same order. O(E log E) with E <= 4 H W.
"""
from libc.stdlib cimport malloc, free
from libc.stdint cimport uint64_t
from libc.math cimport sqrt

cimport numpy as cnp
import numpy as np

from skml._kernels._sort cimport sort_f64_u64

cnp.import_array()

ctypedef cnp.intp_t intp_t


cdef inline intp_t _find(intp_t* parent, intp_t x) noexcept nogil:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


cdef inline intp_t _join(intp_t* parent, intp_t* size, intp_t a, intp_t b) noexcept nogil:
    """Union by size of two roots; returns the new root."""
    if size[a] < size[b]:
        a, b = b, a
    parent[b] = a
    size[a] += size[b]
    return a


cdef inline void _edge_roots(uint64_t code, Py_ssize_t W, const int* DY, const int* DX,
                             intp_t* parent, intp_t* ra, intp_t* rb) noexcept nogil:
    """The components of the two pixels of edge ``code`` (pixel * 4 + direction)."""
    cdef intp_t a = <intp_t> (code >> 2)
    cdef Py_ssize_t t = <Py_ssize_t> (code & 3)
    ra[0] = _find(parent, a)
    rb[0] = _find(parent, a + DY[t] * W + DX[t])


def felzenszwalb(const double[:, :, ::1] image, double k, Py_ssize_t min_size):
    """Component labels (H, W) of the graph segmentation of ``image`` (H, W, C)."""
    cdef Py_ssize_t H = image.shape[0], W = image.shape[1], C = image.shape[2]
    cdef Py_ssize_t n = H * W, n_edges = 0, e, y, x, c, t
    cdef intp_t a, ra, rb, r
    cdef double d, s
    cdef int dy, dx
    cdef bint bad = False
    cdef int[4] DY = [0, 1, 1, -1]
    cdef int[4] DX = [1, 0, 1, 1]

    if H < 1 or W < 1 or C < 1:
        raise ValueError("image must have at least one pixel and one channel")
    if not (k >= 0):
        raise ValueError("k must be non-negative")
    if min_size < 0:
        raise ValueError("min_size must be non-negative")
    labels = np.empty((H, W), dtype=np.intp)
    cdef intp_t[:, ::1] out = labels
    cdef Py_ssize_t max_edges = 4 * n
    cdef double* weight = <double*> malloc(max_edges * sizeof(double))
    cdef uint64_t* edge = <uint64_t*> malloc(max_edges * sizeof(uint64_t))
    cdef intp_t* parent = <intp_t*> malloc(n * sizeof(intp_t))
    cdef intp_t* size = <intp_t*> malloc(n * sizeof(intp_t))
    cdef double* thresh = <double*> malloc(n * sizeof(double))
    cdef intp_t* ids = <intp_t*> malloc(n * sizeof(intp_t))
    if not (weight and edge and parent and size and thresh and ids):
        free(weight); free(edge); free(parent); free(size); free(thresh); free(ids)
        raise MemoryError()
    try:
        with nogil:
            # Edge e of pixel p in direction t is stored as p * 4 + t.
            for y in range(H):
                for x in range(W):
                    for t in range(4):
                        dy = DY[t]
                        dx = DX[t]
                        if y + dy < 0 or y + dy >= H or x + dx >= W:
                            continue
                        s = 0.0
                        for c in range(C):
                            d = image[y, x, c] - image[y + dy, x + dx, c]
                            s = s + d * d
                        if s != s:
                            bad = True
                        weight[n_edges] = sqrt(s)
                        edge[n_edges] = <uint64_t> ((y * W + x) * 4 + t)
                        n_edges += 1
        if bad:
            raise ValueError("image must be finite (an edge weight is NaN)")
        with nogil:
            sort_f64_u64(weight, edge, n_edges)
            for a in range(n):
                parent[a] = a
                size[a] = 1
                thresh[a] = k
            for e in range(n_edges):
                _edge_roots(edge[e], W, DY, DX, parent, &ra, &rb)
                if ra != rb and weight[e] <= thresh[ra] and weight[e] <= thresh[rb]:
                    r = _join(parent, size, ra, rb)
                    thresh[r] = weight[e] + k / size[r]
            for e in range(n_edges):
                _edge_roots(edge[e], W, DY, DX, parent, &ra, &rb)
                if ra != rb and (size[ra] < min_size or size[rb] < min_size):
                    _join(parent, size, ra, rb)
            for a in range(n):
                ids[a] = -1
            r = 0
            for a in range(n):
                ra = _find(parent, a)
                if ids[ra] < 0:
                    ids[ra] = r
                    r += 1
                out[a // W, a % W] = ids[ra]
    finally:
        free(weight); free(edge); free(parent); free(size); free(thresh); free(ids)
    return labels
