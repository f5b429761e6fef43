# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Shortest paths on a sparse graph: one Dijkstra run per source, sources in parallel.

The Python layer (``skml.manifold._isomap``) hands over a CSR graph (``indptr``,
``indices``, non-negative ``weights``, all C-contiguous, no self-loops needed) and a
C-contiguous output of shape ``(n_sources, n_nodes)``; ``dijkstra_rows`` checks all of
it (O(n + nnz)) before any search. Each OpenMP thread owns a
binary heap with lazy deletion (a node may sit in the heap several times; stale entries
are skipped when popped), so no locks are taken and a row's result never depends on the
thread count. scipy's ``csgraph.dijkstra`` holds the GIL; this loop does not.
"""
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.math cimport INFINITY

cimport numpy as cnp

cnp.import_array()

ctypedef cnp.intp_t intp_t


ctypedef struct Entry:
    double key
    intp_t node


cdef inline void _push(Entry* heap, Py_ssize_t* size, double key, intp_t node) noexcept nogil:
    cdef Py_ssize_t i = size[0], parent
    size[0] = i + 1
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent].key <= key:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i].key = key
    heap[i].node = node


cdef inline void _pop(Entry* heap, Py_ssize_t* size) noexcept nogil:
    """Drop the root (the caller has read it) and restore the heap."""
    cdef Py_ssize_t n = size[0] - 1, i = 0, child
    cdef Entry last
    size[0] = n
    if n == 0:
        return
    last = heap[n]
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and heap[child + 1].key < heap[child].key:
            child = child + 1
        if heap[child].key >= last.key:
            break
        heap[i] = heap[child]
        i = child
    heap[i] = last


cdef void _dijkstra_one(const intp_t* indptr, const intp_t* indices, const double* weights,
                        Py_ssize_t n, intp_t source, double* dist, Entry* heap) noexcept nogil:
    cdef Py_ssize_t i, e, size = 0
    cdef intp_t u, v
    cdef double d, nd
    for i in range(n):
        dist[i] = INFINITY
    dist[source] = 0.0
    _push(heap, &size, 0.0, source)
    while size > 0:
        d = heap[0].key
        u = heap[0].node
        _pop(heap, &size)
        if d > dist[u]:
            continue  # stale entry: u was settled through a shorter path
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = d + weights[e]
            if nd < dist[v]:
                dist[v] = nd
                _push(heap, &size, nd, v)


def dijkstra_rows(const intp_t[::1] indptr, const intp_t[::1] indices,
                  const double[::1] weights, const intp_t[::1] sources,
                  double[:, ::1] out, int n_threads):
    """out[s, :] = shortest-path lengths from node ``sources[s]`` (``inf`` if unreachable).

    Every push follows a strict improvement of a node's distance and each node is
    expanded once, so a heap of ``nnz + 1`` entries per thread always suffices.

    The graph is checked first, in O(n + nnz) (nothing next to the searches): a valid
    CSR structure, column indices and sources in [0, n), weights >= 0 (``inf`` is
    allowed: no edge), an output of shape (n_sources, n). Anything else raises
    ValueError: Dijkstra is wrong with negative weights, and a bad index would read or
    write out of bounds.
    """
    cdef Py_ssize_t n = indptr.shape[0] - 1
    cdef Py_ssize_t n_src = sources.shape[0]
    cdef Py_ssize_t nnz = indices.shape[0]
    cdef Py_ssize_t cap = nnz + 1
    cdef Py_ssize_t s, i
    cdef Entry* heap
    cdef int failed = 0
    if n < 0:
        raise ValueError("indptr must hold n_nodes + 1 row pointers.")
    if weights.shape[0] != nnz:
        raise ValueError(f"{weights.shape[0]} weights for {nnz} edges.")
    if indptr[0] != 0 or indptr[n] != nnz:
        raise ValueError("indptr must start at 0 and end at the number of edges.")
    for i in range(n):
        if indptr[i + 1] < indptr[i]:
            raise ValueError("indptr must not decrease.")
    for i in range(nnz):
        if indices[i] < 0 or indices[i] >= n:
            raise ValueError(f"edge target {indices[i]} outside [0, {n}).")
        if not weights[i] >= 0.0:  # also NaN
            raise ValueError(f"Dijkstra needs non-negative edge weights, got "
                             f"{weights[i]!r}.")
    for i in range(n_src):
        if sources[i] < 0 or sources[i] >= n:
            raise ValueError(f"source {sources[i]} outside [0, {n}).")
    if out.shape[0] != n_src or out.shape[1] != n:
        raise ValueError(f"out has shape ({out.shape[0]}, {out.shape[1]}), expected "
                         f"({n_src}, {n}).")
    if n_src == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        heap = <Entry*> malloc(cap * sizeof(Entry))
        for s in prange(n_src, schedule="dynamic", chunksize=4):
            if heap == NULL:
                failed += 1
            else:
                _dijkstra_one(&indptr[0], &indices[0], &weights[0], n, sources[s],
                              &out[s, 0], heap)
        free(heap)
    if failed:
        raise MemoryError("dijkstra_rows: could not allocate a heap of "
                          f"{cap} entries.")
