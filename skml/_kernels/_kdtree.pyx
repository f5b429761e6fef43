# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""A KD-tree: build (median splits on the widest dimension) and k-nearest / radius queries.

Private and dumb: the Python layer (``skml.neighbors._kd_tree``) validates everything and
hands over C-contiguous arrays of one floating dtype, the metric code and the thread count.

Layout (all plain arrays, no Python objects, so a tree pickles as its arrays):

* the tree is complete and implicit: node ``i`` has children ``2i+1`` and ``2i+2``; the
  first ``n_nodes // 2`` nodes are internal, the rest are leaves;
* ``data`` is the tree's own copy of the points, in tree order (``data[r] = X[idx[r]]``),
  so a leaf is one contiguous block of memory;
* positions ``node_start[i]:node_end[i]`` of ``data``/``idx`` are the rows of node ``i``;
  a node's two children split its range at the middle position, so the tree is balanced
  and leaves hold between ``leaf_size`` and ``2 * leaf_size`` points;
* ``bounds[i, 0, :]`` / ``bounds[i, 1, :]`` are the lower / upper corners of the tight
  bounding box of node ``i``.

Queries compare the exact *keys* of ``_dist_keys.pxd`` (the squared distance for
euclidean, the scaled form for minkowski, ...), the numbers the brute-force kernel ranks
by too; the distance is taken once per returned neighbour. A node is skipped when the key
from the query to its box exceeds the worst neighbour kept so far; for the plain forms
the box key is computed with the same operations in the same order as a point key, so in
floating point it is never larger than the key of any point inside the box, and for the
scaled forms it is widened by a relative slack: pruning never drops a true neighbour.
Ties are broken by the smaller training index, as in ``skml._kernels._pairwise``, so
results do not depend on the algorithm, the tree shape or the thread count.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt, fabs, pow, INFINITY

cimport numpy as cnp
from skml._kernels._heap cimport (
    empty_heap, heap_sift_down as _sift_down, heap_sort as _heap_sort,
    sort_pairs as _sort_pairs,
)

from skml._kernels._dist_keys cimport (
    EUCLIDEAN, SQEUCLIDEAN, MANHATTAN, MINKOWSKI, CHEBYSHEV,
    key_dense, key_to_dist, key_is_scaled, sq_euclid_plain, ratio_to_max,
)

cnp.import_array()

ctypedef cnp.intp_t intp_t

# Depth-first stack per query. The tree has at most ~63 levels (n < 2**63) and the stack
# grows by at most one entry per level.
cdef enum:
    STACK_SIZE = 160

# The kinds of node bounds: KD (boxes) or BALL (centroid and radius).
cdef enum:
    KD = 0
    BALL = 1

#: Tree kind name -> code of the ``kind`` argument of the queries.
TREE_KINDS = {"kd_tree": KD, "ball_tree": BALL}

cdef double _U = 1.1102230246251565e-16  # unit roundoff of double
# per feature, the relative widening of a ball bound: a few roundings of each of the
# two distances it adds (each a sum of d terms)
cdef double _BALL_SLACK_PER_FEATURE = 4.0 * 1.1102230246251565e-16


# ---------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------

cdef inline bint _key_less(const floating* D, const intp_t* idx, Py_ssize_t d,
                           Py_ssize_t a, Py_ssize_t b, Py_ssize_t dim) noexcept nogil:
    """Position a sorts before position b on feature ``dim``; equal values by original
    row index, so every key is distinct and the partition is deterministic even with
    duplicate points."""
    cdef floating va = D[a * d + dim]
    cdef floating vb = D[b * d + dim]
    return va < vb or (va == vb and idx[a] < idx[b])


cdef inline void _swap_rows(floating* D, intp_t* idx, Py_ssize_t d, Py_ssize_t a,
                            Py_ssize_t b) noexcept nogil:
    cdef intp_t t = idx[a]
    cdef floating v
    cdef Py_ssize_t j
    idx[a] = idx[b]
    idx[b] = t
    for j in range(d):
        v = D[a * d + j]
        D[a * d + j] = D[b * d + j]
        D[b * d + j] = v


cdef void _select(floating* D, intp_t* idx, Py_ssize_t d, Py_ssize_t n, Py_ssize_t kth,
                  Py_ssize_t dim) noexcept nogil:
    """Quickselect on the rows D[0:n] (and their indices idx[0:n]): afterwards row ``kth``
    has rank ``kth``, the rows before it rank lower and the rows after it higher
    (median-of-three pivots). Whole rows move, so every pass reads memory in order."""
    cdef Py_ssize_t lo = 0, hi = n - 1, mid, store, i
    while hi > lo:
        mid = lo + (hi - lo) // 2
        # order lo <= mid <= hi, then use the median as the pivot, moved to hi
        if _key_less(D, idx, d, mid, lo, dim):
            _swap_rows(D, idx, d, mid, lo)
        if _key_less(D, idx, d, hi, lo, dim):
            _swap_rows(D, idx, d, hi, lo)
        if _key_less(D, idx, d, hi, mid, dim):
            _swap_rows(D, idx, d, hi, mid)
        _swap_rows(D, idx, d, mid, hi)
        store = lo
        for i in range(lo, hi):
            if _key_less(D, idx, d, i, hi, dim):
                _swap_rows(D, idx, d, i, store)
                store = store + 1
        _swap_rows(D, idx, d, store, hi)
        if store == kth:
            return
        elif store < kth:
            lo = store + 1
        else:
            hi = store - 1


cdef void _build_node(floating* D, intp_t* idx, Py_ssize_t d, intp_t* node_start,
                      intp_t* node_end, floating* bounds, Py_ssize_t node,
                      Py_ssize_t n_internal) noexcept nogil:
    """Bounding box of ``node``; for an internal node also split its rows at the middle
    position along the widest feature of the box and set the children's ranges."""
    cdef Py_ssize_t start = node_start[node], end = node_end[node]
    cdef Py_ssize_t r, j, dim, mid
    cdef floating* lo = bounds + node * 2 * d
    cdef floating* hi = lo + d
    cdef const floating* row = D + start * d
    cdef floating v, spread, best
    for j in range(d):
        lo[j] = row[j]
        hi[j] = row[j]
    for r in range(start + 1, end):
        row = D + r * d
        for j in range(d):
            v = row[j]
            if v < lo[j]:
                lo[j] = v
            elif v > hi[j]:
                hi[j] = v
    if node >= n_internal:
        return
    dim = 0
    best = hi[0] - lo[0]
    for j in range(1, d):
        spread = hi[j] - lo[j]
        if spread > best:
            best = spread
            dim = j
    mid = start + (end - start) // 2
    _select(D + start * d, idx + start, d, end - start, mid - start, dim)
    node_start[2 * node + 1] = start
    node_end[2 * node + 1] = mid
    node_start[2 * node + 2] = mid
    node_end[2 * node + 2] = end


cdef void _build_subtree(floating* D, intp_t* idx, Py_ssize_t d, intp_t* node_start,
                         intp_t* node_end, floating* bounds, Py_ssize_t node,
                         Py_ssize_t n_internal) noexcept nogil:
    """Build ``node`` and everything below it (depth-first; depth < 64)."""
    _build_node(D, idx, d, node_start, node_end, bounds, node, n_internal)
    if node < n_internal:
        _build_subtree(D, idx, d, node_start, node_end, bounds, 2 * node + 1, n_internal)
        _build_subtree(D, idx, d, node_start, node_end, bounds, 2 * node + 2, n_internal)


def build(floating[:, ::1] data, intp_t[::1] idx, intp_t[::1] node_start,
          intp_t[::1] node_end, floating[:, :, ::1] bounds, int n_threads):
    """Build the tree in place: on entry ``data`` is a copy of X and ``idx`` holds
    0..n-1; on exit the rows of ``data`` are in tree order and ``idx`` says which row of
    X each one is.

    ``node_start``/``node_end`` have n_nodes = 2**n_levels - 1 entries, ``bounds`` has
    shape (n_nodes, 2, n_features). The top levels are split in this thread until there
    are a few subtrees per thread; the subtrees are then built in one parallel loop, so
    the build pays for a single parallel region.
    """
    cdef Py_ssize_t n = data.shape[0], d = data.shape[1], n_nodes = node_start.shape[0]
    cdef Py_ssize_t n_internal = n_nodes // 2
    cdef Py_ssize_t first = 0, width = 1, i
    node_start[0] = 0
    node_end[0] = n
    with nogil:
        # the top levels in this thread, until there are a few subtrees per thread
        while first < n_internal and width < 4 * n_threads:
            for i in range(first, first + width):
                _build_node(&data[0, 0], &idx[0], d, &node_start[0], &node_end[0],
                            &bounds[0, 0, 0], i, n_internal)
            first = first + width
            width = width * 2
        if first >= n_internal:  # a small tree: only the leaves are left
            for i in range(first, n_nodes):
                _build_node(&data[0, 0], &idx[0], d, &node_start[0], &node_end[0],
                            &bounds[0, 0, 0], i, n_internal)
    if first >= n_internal:
        return
    for i in prange(first, first + width, nogil=True, schedule="dynamic",
                    num_threads=n_threads):
        _build_subtree(&data[0, 0], &idx[0], d, &node_start[0], &node_end[0],
                       &bounds[0, 0, 0], i, n_internal)


# ---------------------------------------------------------------------------------------
# distances: the exact keys of ``_dist_keys.pxd`` for points, and bounds over boxes
# ---------------------------------------------------------------------------------------

cdef inline double _gap(double q, double lo, double hi) noexcept nogil:
    """Distance along one feature from q to the interval [lo, hi] (0 inside)."""
    if q < lo:
        return lo - q
    if q > hi:
        return q - hi
    return 0.0


cdef inline double _far(double q, double lo, double hi) noexcept nogil:
    """Distance along one feature from q to the farther end of [lo, hi]."""
    cdef double a = fabs(q - lo), b = fabs(q - hi)
    return a if a > b else b


cdef inline double _box_euclid_min(const floating* q, const floating* box,
                                   Py_ssize_t d) noexcept nogil:
    """The common case, kept small so that it inlines: the squared euclidean key from q
    to the nearest point of the box, s == 1 (the same operations as _box_key's)."""
    cdef Py_ssize_t j
    cdef double acc = 0.0, t
    for j in range(d):
        t = _gap(q[j], box[j], box[d + j])
        acc += t * t
    return acc


cdef double _box_key(const floating* q, const floating* box, Py_ssize_t d,
                     int metric, double p, double s, int robust,
                     bint farthest) noexcept nogil:
    """Key from q to the nearest (``farthest``: the farthest) point of the box
    (lo = box, hi = box + d), on coordinates scaled by ``s`` as the point keys are.

    For the plain forms (squared euclidean sums, manhattan, chebyshev) the operations
    are those of a point key in the same order, so in floating point the nearest-point
    key is never above (the farthest never below) the key of any point in the box. The
    scaled forms divide by a per-pair maximum and lose that monotonicity by a few
    roundings: their callers widen the bound by ``slack``."""
    cdef Py_ssize_t j
    cdef double acc = 0.0, t, m, inv, qq, qj, lo, hi
    cdef int kind
    if (metric == EUCLIDEAN or metric == SQEUCLIDEAN) and robust == 0:
        kind = 0
    elif metric == MANHATTAN:
        kind = 1
    elif metric == CHEBYSHEV:
        kind = 2
    else:
        kind = 3
    m = 0.0
    for j in range(d):
        if s == 1.0:  # (x * 1.0 == x: the same numbers, fewer operations)
            qj, lo, hi = q[j], box[j], box[d + j]
        else:
            qj, lo, hi = q[j] * s, box[j] * s, box[d + j] * s
        t = _far(qj, lo, hi) if farthest else _gap(qj, lo, hi)
        if kind == 0:
            acc += t * t
        elif kind == 1:
            acc += t
        elif t > m:
            m = t
    if kind == 0 or kind == 1:
        return acc
    if kind == 2 or m == 0.0:
        return m
    # scaled form: a second pass with the maximum known
    qq = 2.0 if metric != MINKOWSKI else p
    inv = 1.0 / m
    for j in range(d):
        if s == 1.0:
            qj, lo, hi = q[j], box[j], box[d + j]
        else:
            qj, lo, hi = q[j] * s, box[j] * s, box[d + j] * s
        t = ratio_to_max(_far(qj, lo, hi) if farthest else _gap(qj, lo, hi), m, inv)
        acc += t * t if qq == 2.0 else pow(t, qq)
    return m * sqrt(acc) if qq == 2.0 else m * pow(acc, 1.0 / qq)


cdef inline double _box_min(const floating* q, const floating* box, Py_ssize_t d,
                            int metric, double p, double s, int robust,
                            double slack) noexcept nogil:
    """A lower bound of the key of q to any point of the box."""
    if slack == 0.0:
        if s == 1.0 and robust == 0 and (metric == EUCLIDEAN or metric == SQEUCLIDEAN):
            return _box_euclid_min(q, box, d)
        return _box_key(q, box, d, metric, p, s, robust, False)
    return _box_key(q, box, d, metric, p, s, robust, False) * (1.0 - slack)


cdef inline double _box_max(const floating* q, const floating* box, Py_ssize_t d,
                            int metric, double p, double s, int robust,
                            double slack) noexcept nogil:
    """An upper bound of the key of q to any point of the box."""
    if slack == 0.0:
        return _box_key(q, box, d, metric, p, s, robust, True)
    return _box_key(q, box, d, metric, p, s, robust, True) * (1.0 + slack)


cdef inline double _slack(Py_ssize_t d, int metric, double p, int robust) noexcept nogil:
    """Relative widening of box bounds for the scaled forms (0 for the others)."""
    if key_is_scaled(metric, p, robust):
        return 4.0 * (<double>d + 8.0) * _U
    return 0.0


# ---------------------------------------------------------------------------------------
# ball-tree bounds: the triangle inequality around each node's centroid
# ---------------------------------------------------------------------------------------

cdef inline double _dist_to_key(double dist, int metric, double p, double s,
                                int robust) noexcept nogil:
    """The key of a distance (the inverse of key_to_dist for the tree metrics)."""
    if (metric == EUCLIDEAN or metric == SQEUCLIDEAN) and robust == 0:
        return (dist * s) * (dist * s)
    return dist * s


cdef inline double _ball_bound(const floating* q, const floating* center, double radius,
                               Py_ssize_t d, int metric, double p, double s, int robust,
                               bint upper) noexcept nogil:
    """A lower (``upper``: upper) bound of the key of q to any point within ``radius``
    of ``center``: dist(q, c) -/+ radius, widened by a relative slack that covers the
    roundings of both distances (ball-tree metrics are metrics: p >= 1)."""
    cdef double dqc = key_to_dist(key_dense(q, center, d, metric, p, s, robust),
                                  metric, p, s, robust)
    cdef double width = _BALL_SLACK_PER_FEATURE * (<double>d + 8.0) * (dqc + radius)
    cdef double b
    if upper:
        return _dist_to_key(dqc + radius + width, metric, p, s, robust) * (1.0 + 4.0 * _U)
    b = dqc - radius - width
    if not b > 0.0:  # (also NaN, from inf - inf)
        return 0.0
    return _dist_to_key(b, metric, p, s, robust) * (1.0 - 4.0 * _U)


def ball_centers(const floating[:, ::1] data, const intp_t[::1] node_start,
                 const intp_t[::1] node_end, floating[:, ::1] centers,
                 double[::1] radii, int metric, double p, double s, int robust,
                 int n_threads):
    """For each node the mean of its rows (in the tree's dtype) and the largest distance
    from it to one of them (the rows of ``data`` are in tree order). The tree metrics
    keep the same keys for euclidean and sqeuclidean, so both use euclidean radii."""
    cdef Py_ssize_t n_nodes = node_start.shape[0], d = data.shape[1]
    cdef Py_ssize_t node, r, j
    cdef double acc, m, dist
    cdef int bmetric = EUCLIDEAN if metric == SQEUCLIDEAN else metric
    for node in prange(n_nodes, nogil=True, schedule="dynamic", num_threads=n_threads):
        for j in range(d):
            acc = 0.0
            for r in range(node_start[node], node_end[node]):
                acc = acc + <double>data[r, j]
            centers[node, j] = <floating>(acc / (node_end[node] - node_start[node]))
        m = 0.0
        for r in range(node_start[node], node_end[node]):
            dist = key_to_dist(key_dense(&data[r, 0], &centers[node, 0], d, bmetric, p,
                                         s, robust), bmetric, p, s, robust)
            if dist > m:
                m = dist
        radii[node] = m


# ---------------------------------------------------------------------------------------
# node bounds of either kind of tree
# ---------------------------------------------------------------------------------------

cdef inline double _node_min(const floating* q, Py_ssize_t node, int kind,
                             const floating* bounds, const floating* centers,
                             const double* radii, Py_ssize_t d, int metric, double p,
                             double s, int robust, double slack) noexcept nogil:
    if kind == KD:
        return _box_min(q, bounds + node * 2 * d, d, metric, p, s, robust, slack)
    return _ball_bound(q, centers + node * d, radii[node], d, metric, p, s, robust, False)


cdef inline double _node_max(const floating* q, Py_ssize_t node, int kind,
                             const floating* bounds, const floating* centers,
                             const double* radii, Py_ssize_t d, int metric, double p,
                             double s, int robust, double slack) noexcept nogil:
    if kind == KD:
        return _box_max(q, bounds + node * 2 * d, d, metric, p, s, robust, slack)
    return _ball_bound(q, centers + node * d, radii[node], d, metric, p, s, robust, True)


# ---------------------------------------------------------------------------------------
# k nearest neighbours
# ---------------------------------------------------------------------------------------

cdef void _knn_one(const floating* q, const floating* data, const intp_t* idx,
                   const intp_t* node_start, const intp_t* node_end, int kind,
                   const floating* bounds, const floating* centers, const double* radii,
                   Py_ssize_t n_nodes, Py_ssize_t d, int metric, double p, double s,
                   int robust, double* hd, intp_t* hi, Py_ssize_t k,
                   intp_t sentinel) noexcept nogil:
    """The k nearest rows of the tree to q, into hd/hi (ascending (distance, index)).
    ``metric`` is the traversal metric (sqeuclidean traverses as euclidean: same keys)."""
    cdef Py_ssize_t n_internal = n_nodes // 2
    cdef Py_ssize_t stack_node[STACK_SIZE]
    cdef double stack_key[STACK_SIZE]
    cdef Py_ssize_t top = 0, node, r, left, right, h
    cdef double md, key, ml, mr
    cdef double slack = _slack(d, metric, p, robust)
    cdef bint plain = metric == EUCLIDEAN and robust == 0 and s == 1.0
    cdef intp_t j
    empty_heap(hd, hi, k, sentinel)
    stack_node[0] = 0
    stack_key[0] = _node_min(q, 0, kind, bounds, centers, radii, d, metric, p, s, robust,
                             slack)
    top = 1
    while top > 0:
        top = top - 1
        node = stack_node[top]
        md = stack_key[top]
        if md > hd[0]:
            continue
        if node >= n_internal:
            for r in range(node_start[node], node_end[node]):
                if plain:  # (key_dense's own loop for this case, inlined here)
                    key = sq_euclid_plain(q, data + r * d, d)
                else:
                    key = key_dense(q, data + r * d, d, metric, p, s, robust)
                if key <= hd[0]:
                    j = idx[r]
                    if key < hd[0] or j < hi[0]:
                        _sift_down(hd, hi, k, 0, key, j)
        else:
            left = 2 * node + 1
            right = left + 1
            ml = _node_min(q, left, kind, bounds, centers, radii, d, metric, p, s, robust,
                           slack)
            mr = _node_min(q, right, kind, bounds, centers, radii, d, metric, p, s,
                           robust, slack)
            # push the far child first so the near one is searched first
            if ml <= mr:
                if mr <= hd[0]:
                    stack_node[top] = right
                    stack_key[top] = mr
                    top = top + 1
                if ml <= hd[0]:
                    stack_node[top] = left
                    stack_key[top] = ml
                    top = top + 1
            else:
                if ml <= hd[0]:
                    stack_node[top] = left
                    stack_key[top] = ml
                    top = top + 1
                if mr <= hd[0]:
                    stack_node[top] = right
                    stack_key[top] = mr
                    top = top + 1
    _heap_sort(hd, hi, k)  # by (key, index), the order kept after the last step


def query_knn(const floating[:, ::1] data, const intp_t[::1] idx,
              const intp_t[::1] node_start, const intp_t[::1] node_end, int kind,
              const floating[:, :, ::1] bounds, const floating[:, ::1] centers,
              const double[::1] radii, const floating[:, ::1] Q,
              double[:, ::1] out_dist, intp_t[:, ::1] out_ind, int metric, double p,
              double s, int robust, int n_threads):
    """For each row of Q, its k = out_dist.shape[1] nearest rows (``data`` in tree order;
    the indices written are rows of the original X), one query per task. ``kind``: KD
    (``bounds`` used) or BALL (``centers``/``radii`` used); ``s`` and ``robust`` give the
    key form (``_dist_keys.pxd``)."""
    cdef Py_ssize_t n_q = Q.shape[0], d = data.shape[1], k = out_dist.shape[1]
    cdef Py_ssize_t n_nodes = node_start.shape[0], i, h
    cdef intp_t sentinel = data.shape[0]
    cdef int tmetric = EUCLIDEAN if metric == SQEUCLIDEAN else metric
    if n_q == 0:
        return
    for i in prange(n_q, nogil=True, schedule="dynamic", chunksize=32,
                    num_threads=n_threads):
        _knn_one(&Q[i, 0], &data[0, 0], &idx[0], &node_start[0], &node_end[0], kind,
                 &bounds[0, 0, 0], &centers[0, 0], &radii[0], n_nodes, d, tmetric, p, s,
                 robust, &out_dist[i, 0], &out_ind[i, 0], k, sentinel)
        for h in range(k):
            out_dist[i, h] = key_to_dist(out_dist[i, h], metric, p, s, robust)


# ---------------------------------------------------------------------------------------
# radius queries (two passes: count, then fill the slots the counts reserved)
# ---------------------------------------------------------------------------------------

cdef Py_ssize_t _radius_one(const floating* q, const floating* data, const intp_t* idx,
                            const intp_t* node_start, const intp_t* node_end, int kind,
                            const floating* bounds, const floating* centers,
                            const double* radii, Py_ssize_t n_nodes, Py_ssize_t d,
                            int metric, int tmetric, double p, double s, int robust,
                            double rs, bint fill, bint with_dist, intp_t* out_ind,
                            double* out_dist) noexcept nogil:
    """Count (fill=False) or write (fill=True) the rows whose key to q is <= ``rs``. A
    node whose farthest point is within the radius is taken whole."""
    cdef Py_ssize_t n_internal = n_nodes // 2
    cdef Py_ssize_t stack[STACK_SIZE]
    cdef Py_ssize_t top = 1, node, r, count = 0
    cdef double key
    cdef double slack = _slack(d, tmetric, p, robust)
    stack[0] = 0
    while top > 0:
        top = top - 1
        node = stack[top]
        if _node_min(q, node, kind, bounds, centers, radii, d, tmetric, p, s, robust,
                     slack) > rs:
            continue
        if _node_max(q, node, kind, bounds, centers, radii, d, tmetric, p, s, robust,
                     slack) <= rs:
            if fill:
                for r in range(node_start[node], node_end[node]):
                    out_ind[count] = idx[r]
                    if with_dist:
                        out_dist[count] = key_to_dist(
                            key_dense(q, data + r * d, d, tmetric, p, s, robust),
                            metric, p, s, robust)
                    count = count + 1
            else:
                count = count + node_end[node] - node_start[node]
        elif node >= n_internal:
            for r in range(node_start[node], node_end[node]):
                key = key_dense(q, data + r * d, d, tmetric, p, s, robust)
                if key <= rs:
                    if fill:
                        out_ind[count] = idx[r]
                        if with_dist:
                            out_dist[count] = key_to_dist(key, metric, p, s, robust)
                    count = count + 1
        else:
            stack[top] = 2 * node + 2
            stack[top + 1] = 2 * node + 1
            top = top + 2
    return count


def query_radius_count(const floating[:, ::1] data, const intp_t[::1] idx,
                       const intp_t[::1] node_start, const intp_t[::1] node_end, int kind,
                       const floating[:, :, ::1] bounds, const floating[:, ::1] centers,
                       const double[::1] radii, const floating[:, ::1] Q,
                       const double[::1] radius_key, intp_t[::1] counts, int metric,
                       double p, double s, int robust, int n_threads):
    """counts[i] = number of tree rows whose key to Q[i] is <= ``radius_key[i]``."""
    cdef Py_ssize_t n_q = Q.shape[0], d = data.shape[1], n_nodes = node_start.shape[0], i
    cdef int tmetric = EUCLIDEAN if metric == SQEUCLIDEAN else metric
    if n_q == 0:
        return
    for i in prange(n_q, nogil=True, schedule="dynamic", chunksize=32,
                    num_threads=n_threads):
        counts[i] = _radius_one(&Q[i, 0], &data[0, 0], &idx[0], &node_start[0],
                                &node_end[0], kind, &bounds[0, 0, 0], &centers[0, 0],
                                &radii[0], n_nodes, d, metric, tmetric, p, s, robust,
                                radius_key[i], False, False, NULL, NULL)


def query_radius_fill(const floating[:, ::1] data, const intp_t[::1] idx,
                      const intp_t[::1] node_start, const intp_t[::1] node_end, int kind,
                      const floating[:, :, ::1] bounds, const floating[:, ::1] centers,
                      const double[::1] radii, const floating[:, ::1] Q,
                      const double[::1] radius_key, const intp_t[::1] offsets,
                      intp_t[::1] out_ind, double[::1] out_dist, bint with_dist,
                      bint sort_results, int metric, double p, double s, int robust,
                      int n_threads):
    """Write the neighbours of Q[i] into out_ind[offsets[i]:offsets[i + 1]] (and their
    distances into out_dist when ``with_dist``); ``offsets`` comes from the counts of
    :func:`query_radius_count`. ``sort_results`` orders each query's slice by
    (distance, index)."""
    cdef Py_ssize_t n_q = Q.shape[0], d = data.shape[1], n_nodes = node_start.shape[0], i
    cdef Py_ssize_t count
    cdef int tmetric = EUCLIDEAN if metric == SQEUCLIDEAN else metric
    if n_q == 0:
        return
    for i in prange(n_q, nogil=True, schedule="dynamic", chunksize=32,
                    num_threads=n_threads):
        count = _radius_one(&Q[i, 0], &data[0, 0], &idx[0], &node_start[0],
                            &node_end[0], kind, &bounds[0, 0, 0], &centers[0, 0],
                            &radii[0], n_nodes, d, metric, tmetric, p, s, robust,
                            radius_key[i], True, with_dist, &out_ind[offsets[i]],
                            &out_dist[offsets[i]] if with_dist else NULL)
        if with_dist and sort_results:
            _sort_pairs(&out_dist[offsets[i]], &out_ind[offsets[i]], count)
