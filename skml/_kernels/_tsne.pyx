# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""t-SNE kernels: perplexity calibration, attractive forces over a sparse P, the
repulsive forces by three methods (all pairs, a Barnes-Hut tree, FFT-accelerated
interpolation on a grid), and ``descend``: one optimiser iteration (forces, then the
step) in a single OpenMP parallel region.

Private and dumb: ``skml.manifold._tsne`` validates everything and hands over C-contiguous
arrays (the map is always float64, the interpolation grid float32) and a thread count.
Nothing here writes into its inputs. Each entry point still checks, in O(1) (or O(n)
where it is cheap next to its own work), the shapes it relies on and that every grid
index it will form lies inside the grid, raising ValueError rather than reading or
writing out of bounds; the column indices of a sparse P are checked in O(nnz) by
``attractive_forces`` and, once per fit, by the Python layer for ``descend``.

Every parallel loop runs over points (or over blocks of grid rows) and each iteration
writes only its own output row or nodes; sums over points are made in point order.
Results therefore do not depend on the number of threads.

Notation: ``w_ij = 1 / (1 + |y_i - y_j|^2)`` (Student-t, one degree of freedom),
``Z = sum_{i != j} w_ij``, ``q_ij = w_ij / Z``. The KL gradient is

    dC/dy_i = 4 sum_j (p_ij - q_ij) w_ij (y_i - y_j)
            = 4 (sum_j p_ij w_ij (y_i - y_j)  -  (1/Z) sum_j w_ij^2 (y_i - y_j)),

"attractive" minus "repulsive" term. The repulsive kernels return, for every point, the
vector ``rep_i = sum_{j != i} w_ij^2 (y_i - y_j)`` and the scalar ``z_i = sum_{j != i} w_ij``
(for the grid, terms that add up to Z).
"""
from cython cimport floating
from cython.parallel cimport prange, parallel
from libc.math cimport exp, log, sqrt, fabs, INFINITY

import numpy as np

cimport numpy as cnp

cdef extern from *:
    """
    #ifdef _OPENMP
    #define skml_tsne_barrier() _Pragma("omp barrier")
    #else
    #define skml_tsne_barrier()
    #endif
    """
    # A barrier for all threads of the enclosing parallel block (Cython's prange inside
    # ``parallel()`` ends without one: it is compiled as ``omp for nowait``).
    void skml_tsne_barrier() noexcept nogil

cnp.import_array()

ctypedef cnp.intp_t intp_t

# Repulsion methods of ``descend`` (name -> code, read by skml.manifold._tsne).
METHOD_CODES = {"exact": 0, "barnes_hut": 1, "fft": 2}

cdef enum:
    METHOD_EXACT = 0
    METHOD_BH = 1
    METHOD_GRID = 2


cdef int _check_rows(object name, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t want_rows,
                     Py_ssize_t want_cols) except -1:
    """Raise ValueError unless an array has at least the wanted shape (-1: any)."""
    if rows < want_rows or (want_cols >= 0 and cols != want_cols):
        raise ValueError(f"{name} has shape ({rows}, {cols}), expected "
                         f"({want_rows}, {want_cols if want_cols >= 0 else 'any'}).")
    return 0


cdef int _check_csr(const intp_t[::1] indptr, const intp_t[::1] indices,
                    Py_ssize_t n_data, Py_ssize_t n_rows, Py_ssize_t n_cols) except -1:
    """Raise ValueError unless (indptr, indices) is a CSR structure of n_rows rows whose
    column indices lie in [0, n_cols), with n_data values."""
    cdef Py_ssize_t i, t, nnz = indices.shape[0]
    if indptr.shape[0] != n_rows + 1 or n_data != nnz:
        raise ValueError(f"CSR arrays of inconsistent sizes: {indptr.shape[0]} row "
                         f"pointers for {n_rows} rows, {nnz} indices, {n_data} values.")
    if indptr[0] != 0 or indptr[n_rows] != nnz:
        raise ValueError("CSR row pointers must start at 0 and end at nnz.")
    for i in range(n_rows):
        if indptr[i + 1] < indptr[i]:
            raise ValueError("CSR row pointers must not decrease.")
    for t in range(nnz):
        if indices[t] < 0 or indices[t] >= n_cols:
            raise ValueError(f"CSR column index {indices[t]} outside [0, {n_cols}).")
    return 0


cdef enum:
    # Deepest Barnes-Hut tree level; the traversal stack is sized for it (_bh_point).
    MAX_DEPTH = 60
    STACK_SIZE = 512  # >= MAX_DEPTH * (2**3 - 1) + 1
    # Doubles per Barnes-Hut node record (SpaceTree.nodes).
    NODE_SIZE = 8


# ------------------------------------------------------------------------------------
# Perplexity calibration
# ------------------------------------------------------------------------------------

cdef void _calibrate_row(const floating* d, intp_t k, double target, double tol,
                         int max_steps, double* p_out, double* beta_out) noexcept nogil:
    """Binary search on beta = 1/(2 sigma^2) so that the entropy (in nats) of
    p_j = exp(-beta d_j) / sum_l exp(-beta d_l) equals ``target``.

    Distances are shifted by their minimum first: the nearest neighbour always has
    weight 1, so the normaliser never underflows to 0 whatever beta becomes."""
    cdef intp_t j
    cdef double dmin = INFINITY, beta = 1.0, lo = 0.0, hi = INFINITY
    cdef double s, sd, e, h
    cdef int step
    for j in range(k):
        if d[j] < dmin:
            dmin = d[j]
    for step in range(max_steps):
        s = 0.0
        sd = 0.0
        for j in range(k):
            e = exp(-beta * (<double>d[j] - dmin))
            p_out[j] = e
            s += e
            sd += (<double>d[j] - dmin) * e
        h = log(s) + beta * sd / s
        if fabs(h - target) <= tol:
            break
        if h > target:      # too flat: sharpen
            lo = beta
            beta = beta * 2.0 if hi == INFINITY else 0.5 * (beta + hi)
        else:
            hi = beta
            beta = 0.5 * (beta + lo) if lo > 0.0 else 0.5 * beta
    s = 0.0
    for j in range(k):
        p_out[j] = exp(-beta * (<double>d[j] - dmin))
        s += p_out[j]
    for j in range(k):
        p_out[j] /= s
    beta_out[0] = beta


def binary_search_perplexity(const floating[:, ::1] sqdist, double perplexity,
                             double[:, ::1] P, double[::1] betas, int n_threads):
    """Row-wise conditional probabilities ``P[i, j] = p_{j|i}`` over each row's
    neighbours (squared distances ``sqdist[i, j]``) with perplexity ``perplexity``.

    Rows of ``P`` sum to 1; ``betas[i]`` receives the precision 1/(2 sigma_i^2) found
    (relative to the distances shifted by their row minimum)."""
    cdef intp_t n = sqdist.shape[0], k = sqdist.shape[1], i
    if not perplexity > 0.0:
        raise ValueError(f"perplexity must be positive, got {perplexity}.")
    cdef double target = log(perplexity)
    _check_rows("P", P.shape[0], P.shape[1], n, k)
    _check_rows("betas", betas.shape[0], 0, n, -1)
    if k == 0:
        return
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        _calibrate_row(&sqdist[i, 0], k, target, 1e-5, 200, &P[i, 0], &betas[i])


# ------------------------------------------------------------------------------------
# Attractive forces and the KL divergence over a sparse P
# ------------------------------------------------------------------------------------

cdef double _attr_row(const intp_t* idx, const double* pd, intp_t cnt, const double* yi,
                      const double* Yr, intp_t dim, double exaggeration, double* out,
                      bint compute_kl) noexcept nogil:
    """One row of ``attractive_forces``; returns the row's KL term (0 unless asked)."""
    cdef intp_t t, j, a
    cdef double d0, d1, d2, dd, pw, s = 0.0, r0 = 0.0, r1 = 0.0, r2 = 0.0
    cdef double y0 = yi[0], y1 = yi[1] if dim > 1 else 0.0, y2 = yi[2] if dim > 2 else 0.0
    cdef const double* yj
    if dim <= 3:
        for t in range(cnt):
            yj = Yr + idx[t] * dim
            d0 = y0 - yj[0]
            d1 = (y1 - yj[1]) if dim > 1 else 0.0
            d2 = (y2 - yj[2]) if dim > 2 else 0.0
            dd = 1.0 + d0 * d0 + d1 * d1 + d2 * d2
            pw = pd[t] / dd
            r0 += pw * d0
            r1 += pw * d1
            r2 += pw * d2
            if compute_kl and pd[t] > 0.0:
                s += pd[t] * log(pd[t] * dd)
        out[0] = exaggeration * r0
        if dim > 1:
            out[1] = exaggeration * r1
        if dim > 2:
            out[2] = exaggeration * r2
        return s
    for a in range(dim):
        out[a] = 0.0
    for t in range(cnt):
        yj = Yr + idx[t] * dim
        dd = 1.0
        for a in range(dim):
            d0 = yi[a] - yj[a]
            dd += d0 * d0
        pw = exaggeration * pd[t] / dd
        for a in range(dim):
            out[a] += pw * (yi[a] - yj[a])
        if compute_kl and pd[t] > 0.0:
            s += pd[t] * log(pd[t] * dd)
    return s


def attractive_forces(const intp_t[::1] indptr, const intp_t[::1] indices,
                      const double[::1] pdata, const double[:, ::1] Yq,
                      const double[:, ::1] Yr, double exaggeration,
                      double[:, ::1] attr, double[::1] kl_rows, bint compute_kl,
                      int n_threads):
    """``attr[i] = exaggeration * sum_j P[i, j] w_ij (Yq[i] - Yr[j])`` over the stored
    entries of the CSR matrix P (rows: points of Yq, columns: points of Yr).

    With ``compute_kl``, ``kl_rows[i] = sum_j P[i, j] (log P[i, j] - log w_ij)``; the KL
    divergence is then ``sum(kl_rows) + log(Z) * sum(P)``."""
    cdef intp_t n = Yq.shape[0], dim = Yq.shape[1], i, lo
    cdef double s
    _check_csr(indptr, indices, pdata.shape[0], n, Yr.shape[0])
    _check_rows("Yr", Yr.shape[0], Yr.shape[1], 0, dim)
    _check_rows("attr", attr.shape[0], attr.shape[1], n, dim)
    if compute_kl:
        _check_rows("kl_rows", kl_rows.shape[0], 0, n, -1)
    if n == 0 or Yr.shape[0] == 0:
        attr[:, :] = 0.0
        return
    for i in prange(n, nogil=True, schedule="dynamic", chunksize=256,
                    num_threads=n_threads):
        lo = indptr[i]
        s = _attr_row(&indices[lo] if indptr[i + 1] > lo else &indices[0],
                      &pdata[lo] if indptr[i + 1] > lo else &pdata[0],
                      indptr[i + 1] - lo, &Yq[i, 0], &Yr[0, 0], dim, exaggeration,
                      &attr[i, 0], compute_kl)
        if compute_kl:
            kl_rows[i] = s


# ------------------------------------------------------------------------------------
# Exact repulsion: O(n_query * n_ref), no memory beyond the outputs
# ------------------------------------------------------------------------------------

cdef double _exact_row(const double* yi, const double* Yr, intp_t m, intp_t dim,
                      intp_t skip, double* rep) noexcept nogil:
    """rep = sum_j w_ij^2 (y_i - y_j) over the m rows of Yr except row ``skip``;
    returns sum_j w_ij."""
    cdef intp_t j, a
    cdef double d0, d1, d2, dd, w, z = 0.0, r0 = 0.0, r1 = 0.0, r2 = 0.0
    cdef double y0 = yi[0], y1 = yi[1] if dim > 1 else 0.0, y2 = yi[2] if dim > 2 else 0.0
    cdef const double* yj
    if dim <= 3:
        for j in range(m):
            if j == skip:
                continue
            yj = Yr + j * dim
            d0 = y0 - yj[0]
            d1 = (y1 - yj[1]) if dim > 1 else 0.0
            d2 = (y2 - yj[2]) if dim > 2 else 0.0
            w = 1.0 / (1.0 + d0 * d0 + d1 * d1 + d2 * d2)
            z += w
            w = w * w
            r0 += w * d0
            r1 += w * d1
            r2 += w * d2
        rep[0] = r0
        if dim > 1:
            rep[1] = r1
        if dim > 2:
            rep[2] = r2
        return z
    for a in range(dim):
        rep[a] = 0.0
    for j in range(m):
        if j == skip:
            continue
        yj = Yr + j * dim
        dd = 1.0
        for a in range(dim):
            d0 = yi[a] - yj[a]
            dd += d0 * d0
        w = 1.0 / dd
        z += w
        w = w * w
        for a in range(dim):
            rep[a] += w * (yi[a] - yj[a])
    return z


def repulsive_exact(const double[:, ::1] Yq, const double[:, ::1] Yr, bint same,
                    double[:, ::1] rep, double[::1] zrow, int n_threads):
    """``rep[i] = sum_j w_ij^2 (Yq[i] - Yr[j])`` and ``zrow[i] = sum_j w_ij`` over all
    reference points j (skipping j == i when ``same``: Yq is Yr)."""
    cdef intp_t n = Yq.shape[0], m = Yr.shape[0], dim = Yq.shape[1], i
    _check_rows("Yr", m, Yr.shape[1], 0, dim)
    _check_rows("rep", rep.shape[0], rep.shape[1], n, dim)
    _check_rows("zrow", zrow.shape[0], 0, n, -1)
    if same and m != n:
        raise ValueError("same=True needs Yq and Yr of the same length.")
    if n == 0:
        return
    for i in prange(n, nogil=True, schedule="dynamic", chunksize=16,
                    num_threads=n_threads):
        zrow[i] = _exact_row(&Yq[i, 0], &Yr[0, 0], m, dim, i if same else -1, &rep[i, 0])


# ------------------------------------------------------------------------------------
# Barnes-Hut: a 2^d-tree (binary, quad or oct tree) stored in flat arrays
# ------------------------------------------------------------------------------------

cdef class SpaceTree:
    """Space-partitioning tree over the rows of Y (1 to 3 columns).

    Node ``c`` covers the points ``perm[start:end]``, a cube of side ``width``; ``com`` is
    the centre of mass of its points. Only non-empty children are stored, contiguously
    from index ``child`` on (``n_child`` of them); ``child == -1`` marks a leaf. A leaf
    holds at most ``leaf_size`` points, or more that coincide to within 1e-18 of the
    root's width (duplicates) or sit at depth 60. ``pos[i]`` is the place of point i in
    ``perm`` and ``points[t]`` the coordinates of point ``perm[t]`` (padded to 3 with
    zeros), so that a leaf's points are contiguous in memory.

    The traversal reads one record of 8 doubles per node (one cache line), ``nodes[c]``:
    ``com_0, com_1, com_2, width^2, start, end, child, n_child`` (integers stored
    exactly as doubles; unused com entries are 0).
    """
    cdef public object perm, pos, nodes, points
    cdef public intp_t n_nodes, dim

    def __init__(self, const double[:, ::1] Y, intp_t leaf_size=16):
        cdef intp_t n = Y.shape[0], dim = Y.shape[1]
        if dim < 1 or dim > 3:
            raise ValueError("SpaceTree supports 1 to 3 dimensions.")
        if n == 0:
            raise ValueError("SpaceTree needs at least one point.")
        cdef intp_t t0, a0
        for t0 in range(n):
            for a0 in range(dim):
                if not fabs(Y[t0, a0]) < INFINITY:  # also catches NaN
                    raise ValueError("SpaceTree needs finite coordinates.")
        cdef intp_t cap = max(16, n // 2 + 16)
        cdef intp_t[::1] perm = np.arange(n, dtype=np.intp)
        cdef intp_t[::1] tmp = np.empty(n, dtype=np.intp)
        cdef double[:, ::1] pts = np.zeros((n, 3), dtype=np.float64)
        cdef double[:, ::1] tmp_pts = np.empty((n, 3), dtype=np.float64)
        cdef unsigned char[::1] codes = np.empty(n, dtype=np.uint8)
        cdef intp_t[::1] start = np.empty(cap, dtype=np.intp)
        cdef intp_t[::1] end = np.empty(cap, dtype=np.intp)
        cdef intp_t[::1] child = np.empty(cap, dtype=np.intp)
        cdef intp_t[::1] n_child = np.empty(cap, dtype=np.intp)
        cdef intp_t[::1] depth = np.empty(cap, dtype=np.intp)
        cdef double[::1] width = np.empty(cap, dtype=np.float64)
        cdef double[:, ::1] centre = np.zeros((cap, 3), dtype=np.float64)
        cdef double[:, ::1] com = np.zeros((cap, 3), dtype=np.float64)
        cdef intp_t counts[8]
        cdef intp_t offs[8]
        cdef intp_t n_nodes = 1, c, t, a, q, code, cnt, first, n_quad = 1 << dim
        cdef double lo, hi, w0 = 0.0, half, c0, c1, c2

        leaf_size = max(1, leaf_size)
        for t in range(n):
            for a in range(dim):
                pts[t, a] = Y[t, a]
        for a in range(dim):
            lo = INFINITY
            hi = -INFINITY
            for t in range(n):
                lo = min(lo, Y[t, a])
                hi = max(hi, Y[t, a])
            centre[0, a] = 0.5 * (lo + hi)
            w0 = max(w0, hi - lo)
        width[0] = w0 * (1.0 + 1e-9) + 1e-300
        start[0] = 0
        end[0] = n
        depth[0] = 0

        c = 0
        while c < n_nodes:
            cnt = end[c] - start[c]
            child[c] = -1
            n_child[c] = 0
            if cnt <= leaf_size or depth[c] >= MAX_DEPTH or width[c] <= w0 * 1e-18:
                # a leaf: its centre of mass from its points (internal nodes: below)
                c0 = 0.0
                c1 = 0.0
                c2 = 0.0
                for t in range(start[c], end[c]):
                    c0 += pts[t, 0]
                    c1 += pts[t, 1]
                    c2 += pts[t, 2]
                com[c, 0] = c0 / cnt
                com[c, 1] = c1 / cnt
                com[c, 2] = c2 / cnt
                c += 1
                continue
            for q in range(n_quad):
                counts[q] = 0
            c0 = centre[c, 0]
            c1 = centre[c, 1]
            c2 = centre[c, 2]
            for t in range(start[c], end[c]):
                code = ((pts[t, 0] >= c0) | ((pts[t, 1] >= c1) << 1)
                        | ((pts[t, 2] >= c2) << 2)) & (n_quad - 1)
                codes[t] = <unsigned char>code
                counts[code] += 1
            # stable counting sort of the node's range (indices and coordinates)
            offs[0] = start[c]
            for q in range(1, n_quad):
                offs[q] = offs[q - 1] + counts[q - 1]
            for t in range(start[c], end[c]):
                q = codes[t]
                tmp[offs[q]] = perm[t]
                tmp_pts[offs[q], 0] = pts[t, 0]
                tmp_pts[offs[q], 1] = pts[t, 1]
                tmp_pts[offs[q], 2] = pts[t, 2]
                offs[q] += 1
            for t in range(start[c], end[c]):
                perm[t] = tmp[t]
                pts[t, 0] = tmp_pts[t, 0]
                pts[t, 1] = tmp_pts[t, 1]
                pts[t, 2] = tmp_pts[t, 2]
            if n_nodes + n_quad > cap:
                cap = 2 * cap + n_quad
                start = _grow_i(start, cap)
                end = _grow_i(end, cap)
                child = _grow_i(child, cap)
                n_child = _grow_i(n_child, cap)
                depth = _grow_i(depth, cap)
                width = _grow_d(width, cap)
                centre = _grow_d2(centre, cap)
                com = _grow_d2(com, cap)
            first = start[c]
            child[c] = n_nodes
            half = 0.5 * width[c]
            for q in range(n_quad):
                if counts[q] == 0:
                    continue
                start[n_nodes] = first
                end[n_nodes] = first + counts[q]
                first += counts[q]
                width[n_nodes] = half
                depth[n_nodes] = depth[c] + 1
                for a in range(3):
                    if a >= dim:
                        centre[n_nodes, a] = 0.0
                    elif q & (1 << a):
                        centre[n_nodes, a] = centre[c, a] + 0.5 * half
                    else:
                        centre[n_nodes, a] = centre[c, a] - 0.5 * half
                n_nodes += 1
                n_child[c] += 1
            c += 1

        # centres of mass of internal nodes from their children (children come after
        # their parent, so one backward sweep sees every child before its parent)
        for c in range(n_nodes - 1, -1, -1):
            if child[c] < 0:
                continue
            c0 = 0.0
            c1 = 0.0
            c2 = 0.0
            for q in range(child[c], child[c] + n_child[c]):
                cnt = end[q] - start[q]
                c0 += cnt * com[q, 0]
                c1 += cnt * com[q, 1]
                c2 += cnt * com[q, 2]
            cnt = end[c] - start[c]
            com[c, 0] = c0 / cnt
            com[c, 1] = c1 / cnt
            com[c, 2] = c2 / cnt
        pos = np.empty(n, dtype=np.intp)
        cdef intp_t[::1] pos_v = pos
        for t in range(n):
            pos_v[perm[t]] = t
        nodes = np.empty((n_nodes, NODE_SIZE), dtype=np.float64)
        cdef double[:, ::1] nv = nodes
        for c in range(n_nodes):
            nv[c, 0] = com[c, 0]
            nv[c, 1] = com[c, 1]
            nv[c, 2] = com[c, 2]
            nv[c, 3] = width[c] * width[c]
            nv[c, 4] = <double>start[c]
            nv[c, 5] = <double>end[c]
            nv[c, 6] = <double>child[c]
            nv[c, 7] = <double>n_child[c]
        self.perm = np.asarray(perm)
        self.pos = pos
        self.points = np.asarray(pts)
        self.nodes = nodes
        self.n_nodes = n_nodes
        self.dim = dim


cdef object _grow_i(intp_t[::1] a, intp_t cap):
    out = np.empty(cap, dtype=np.intp)
    out[:a.shape[0]] = a
    return out


cdef object _grow_d(double[::1] a, intp_t cap):
    out = np.empty(cap, dtype=np.float64)
    out[:a.shape[0]] = a
    return out


cdef object _grow_d2(double[:, ::1] a, intp_t cap):
    out = np.zeros((cap, a.shape[1]), dtype=np.float64)
    out[:a.shape[0]] = a
    return out


cdef double _bh_point(const double* y, intp_t self_pos, intp_t dim, double theta2,
                      const double* nodes, const double* pts, double* rep) noexcept nogil:
    """Barnes-Hut sums for one query point: fills ``rep`` (dim values) and returns
    ``sum_j w_ij``. A node is summarised by its centre of mass when
    ``width^2 < theta^2 * dist^2`` and it does not hold the query point itself
    (``start <= self_pos < end``); a leaf that is not summarised is summed point by
    point, leaving the query point out."""
    cdef intp_t stack[STACK_SIZE]
    cdef intp_t top = 1, c, ch, first, start, end, t
    cdef double d0, d1, d2, dd, w, z = 0.0, m, r0 = 0.0, r1 = 0.0, r2 = 0.0
    cdef double y0 = y[0], y1 = y[1] if dim > 1 else 0.0, y2 = y[2] if dim > 2 else 0.0
    cdef const double* nd
    cdef const double* pt
    cdef bint inside
    stack[0] = 0
    while top > 0:
        top -= 1
        c = stack[top]
        nd = nodes + c * NODE_SIZE
        start = <intp_t>nd[4]
        end = <intp_t>nd[5]
        first = <intp_t>nd[6]
        inside = start <= self_pos < end
        d0 = y0 - nd[0]
        d1 = y1 - nd[1]
        d2 = y2 - nd[2]
        dd = d0 * d0 + d1 * d1 + d2 * d2
        if not inside and nd[3] < theta2 * dd:
            m = <double>(end - start)
            w = 1.0 / (1.0 + dd)
            z += m * w
            w = m * w * w
            r0 += w * d0
            r1 += w * d1
            r2 += w * d2
        elif first < 0:
            for t in range(start, end):
                if t == self_pos:
                    continue
                pt = pts + 3 * t
                d0 = y0 - pt[0]
                d1 = y1 - pt[1]
                d2 = y2 - pt[2]
                w = 1.0 / (1.0 + d0 * d0 + d1 * d1 + d2 * d2)
                z += w
                w = w * w
                r0 += w * d0
                r1 += w * d1
                r2 += w * d2
        else:
            for ch in range(first, first + <intp_t>nd[7]):
                stack[top] = ch
                top += 1
    rep[0] = r0
    if dim > 1:
        rep[1] = r1
    if dim > 2:
        rep[2] = r2
    return z


def repulsive_bh(SpaceTree tree, const double[:, ::1] Yq, bint same, double theta,
                 double[:, ::1] rep, double[::1] zrow, int n_threads):
    """Barnes-Hut approximation of ``rep`` and ``zrow`` (see ``repulsive_exact``) for
    the query points Yq against the points the tree was built on. ``same``: Yq are the
    tree's own points (each leaves itself out); the queries then run in the tree's
    order, so that neighbouring queries walk the same nodes."""
    cdef intp_t n = Yq.shape[0], dim = Yq.shape[1], t, i, sp
    cdef const intp_t[::1] perm = tree.perm
    cdef const double[:, ::1] nodes = tree.nodes
    cdef const double[:, ::1] pts = tree.points
    cdef double theta2 = theta * theta
    if dim != tree.dim:
        raise ValueError("query points and tree differ in dimension")
    _check_rows("rep", rep.shape[0], rep.shape[1], n, dim)
    _check_rows("zrow", zrow.shape[0], 0, n, -1)
    if same and n != perm.shape[0]:
        raise ValueError("same=True needs the tree's own points as queries.")
    if n == 0:
        return
    for t in prange(n, nogil=True, schedule="dynamic", chunksize=32,
                    num_threads=n_threads):
        if same:
            i = perm[t]
            sp = t
        else:
            i = t
            sp = -1
        zrow[i] = _bh_point(&Yq[i, 0], sp, dim, theta2, &nodes[0, 0], &pts[0, 0],
                            &rep[i, 0])


# ------------------------------------------------------------------------------------
# FFT-accelerated interpolation (as FIt-SNE), with cubic B-spline spreading: points ->
# equispaced grid -> FFT convolution (done by the caller with scipy.fft, with the kernel
# deconvolved by the splines' transform) -> back to the points
# ------------------------------------------------------------------------------------

cdef inline intp_t _spline(double x, double low, double h, double* b) noexcept nogil:
    """Cubic B-spline weights of the 4 grid nodes ``f - 1 .. f + 2`` around
    ``u = (x - low) / h``, ``f = floor(u)``; returns f. The weights are positive and sum
    to 1 (the centred cubic B-spline at distances 1 + t, t, 1 - t, 2 - t)."""
    cdef double u = (x - low) / h
    cdef intp_t f = <intp_t>u
    cdef double t = u - f, t2 = t * t, t3 = t2 * t
    b[0] = (1.0 - 3.0 * t + 3.0 * t2 - t3) / 6.0
    b[1] = (4.0 - 6.0 * t2 + 3.0 * t3) / 6.0
    b[2] = (1.0 + 3.0 * t + 3.0 * t2 - 3.0 * t3) / 6.0
    b[3] = t3 / 6.0
    return f


def grid_scatter(const double[:, ::1] Y, const double[::1] low, double h,
                 const double[::1] centre, float[:, :, ::1] W, int n_threads):
    """Spread the charges ``(1, y - centre)`` of every point onto the grid nodes
    ``low + h * index`` with cubic B-spline weights (4 nodes per dimension): W[c, gx, gy]
    in 2-D (shape (3, N, N)), W[c, 0, g] in 1-D (shape (2, 1, N)). The caller leaves
    room for the stencil: every point has ``1 <= (y - low) / h <= N - 3``.

    2-D: the points are grouped by blocks of 4 grid rows; a block's points write to its
    4 rows plus 1 below and 2 above, so blocks of the same parity never share a row.
    Even blocks run in parallel, then odd ones: every node's sum runs in one fixed
    order whatever the thread count."""
    cdef intp_t n = Y.shape[0], dim = Y.shape[1]
    cdef intp_t i, t, g, gg, f, n_groups
    cdef double b[4]
    cdef intp_t[::1] group
    cdef intp_t[::1] offs
    cdef intp_t[::1] order
    cdef intp_t[::1] fill
    if dim < 1 or dim > 2:
        raise ValueError(f"grid_scatter supports 1 or 2 dimensions, got {dim}.")
    if W.shape[0] != dim + 1 or (dim == 1 and W.shape[1] != 1) or (
            dim == 2 and W.shape[1] != W.shape[2]):
        raise ValueError(f"W has shape {tuple(W.shape)[:3]}, expected "
                         f"{'(2, 1, N)' if dim == 1 else '(3, N, N)'}.")
    _check_grid(Y, low, h, centre, W.shape[2])
    W[:, :, :] = 0.0
    if dim == 1:
        for i in range(n):
            _scatter_1d(Y[i, 0], low[0], h, centre[0], W)
        return
    n_groups = W.shape[1] // 4 + 1
    group = np.empty(n, dtype=np.intp)
    offs = np.zeros(n_groups + 1, dtype=np.intp)
    order = np.empty(n, dtype=np.intp)
    for i in range(n):
        f = _spline(Y[i, 0], low[0], h, b)
        group[i] = f // 4
        offs[group[i] + 1] += 1
    for g in range(n_groups):
        offs[g + 1] += offs[g]
    fill = np.asarray(offs[:n_groups]).copy()
    for i in range(n):
        order[fill[group[i]]] = i
        fill[group[i]] += 1
    with nogil, parallel(num_threads=n_threads):
        for gg in prange((n_groups + 1) // 2, schedule="dynamic"):  # even blocks
            for t in range(offs[2 * gg], offs[2 * gg + 1]):
                _scatter_2d(&Y[order[t], 0], &low[0], h, &centre[0], W)
        skml_tsne_barrier()
        for gg in prange(n_groups // 2, schedule="dynamic"):  # then odd blocks
            for t in range(offs[2 * gg + 1], offs[2 * gg + 2]):
                _scatter_2d(&Y[order[t], 0], &low[0], h, &centre[0], W)


cdef int _check_grid(const double[:, ::1] Y, const double[::1] low, double h,
                     const double[::1] centre, Py_ssize_t n_nodes) except -1:
    """Raise ValueError unless every point's cubic stencil (nodes f - 1 .. f + 2 with
    ``f = floor((y - low) / h)``) lies inside a grid of ``n_nodes`` nodes per
    dimension: ``1 <= (y - low) / h`` and ``f <= n_nodes - 3``. NaN fails too."""
    cdef Py_ssize_t n = Y.shape[0], dim = Y.shape[1], i, a
    cdef double u
    if low.shape[0] < dim or centre.shape[0] < dim:
        raise ValueError("low and centre need one entry per dimension.")
    if not (h > 0.0 and h < INFINITY):
        raise ValueError(f"the grid spacing must be positive and finite, got {h}.")
    for i in range(n):
        for a in range(dim):
            u = (Y[i, a] - low[a]) / h
            if not (u >= 1.0 and u < <double>(n_nodes - 2)):
                raise ValueError(
                    f"point {i} lies outside the interpolation grid (coordinate {a}: "
                    f"{Y[i, a]!r}, grid [{low[a] + h!r}, {low[a] + (n_nodes - 2) * h!r})).")
    return 0


cdef void _scatter_1d(double y, double low, double h, double centre,
                      float[:, :, ::1] W) noexcept nogil:
    cdef double b[4]
    cdef intp_t f = _spline(y, low, h, b), k
    cdef double x0 = y - centre
    for k in range(4):
        W[0, 0, f - 1 + k] += <float>b[k]
        W[1, 0, f - 1 + k] += <float>(b[k] * x0)


cdef void _scatter_2d(const double* y, const double* low, double h, const double* centre,
                      float[:, :, ::1] W) noexcept nogil:
    cdef double bx[4]
    cdef double by[4]
    cdef intp_t fx = _spline(y[0], low[0], h, bx), fy = _spline(y[1], low[1], h, by)
    cdef intp_t kx, ky, gx, gy
    cdef double x0 = y[0] - centre[0], x1 = y[1] - centre[1], wxy
    for kx in range(4):
        gx = fx - 1 + kx
        for ky in range(4):
            gy = fy - 1 + ky
            wxy = bx[kx] * by[ky]
            W[0, gx, gy] += <float>wxy
            W[1, gx, gy] += <float>(wxy * x0)
            W[2, gx, gy] += <float>(wxy * x1)


cdef inline void _self_weights(const double* b, double* s) noexcept nogil:
    """s[d] = sum over node pairs (k, l) of one stencil with |k - l| = d of b_k b_l."""
    cdef int k, l, d
    for d in range(4):
        s[d] = 0.0
    for k in range(4):
        for l in range(4):
            d = k - l if k >= l else l - k
            s[d] += b[k] * b[l]


cdef double _gather_point(const double* y, intp_t dim, const double* low, double h,
                          const double* centre, const float[:, :, ::1] pot,
                          const double* kself, double* rep) noexcept nogil:
    """Interpolate the convolved potentials back to one point from its 4 (1-D) or 16
    (2-D) nodes: fills ``rep`` (see ``repulsive_exact``) and returns a term of Z.

    ``pot[c]`` holds phi_c at the nodes (extra trailing columns are ignored), where
    phi_c(i) = sum_j K~(y_i, y_j) charge_c(j) and K~ is the kernel K = w^2 =
    1 / (1 + d^2)^2 as the grid represents it: spread, convolved with the deconvolved
    grid kernel K_d, gathered. Then ``rep_i = y_i phi_1(i) - phi_y(i)`` (the term j = i
    vanishes). For Z, w = w^2 (1 + d^2) gives sum_j w_ij = (1 + |y_i|^2) phi_1 -
    2 y_i . phi_y + sum_j K~_ij |y_j|^2, and K~ is symmetric, so summed over i the last
    term equals sum_i |y_i|^2 phi_1(i): the returned terms
    ``(1 + 2 |y_i|^2) phi_1 - 2 y_i . phi_y - K~_ii`` add up to Z (two charges fewer to
    convolve; a single term is not sum_j w_ij). The point's own term K~_ii is taken off
    as the grid represents it, from ``kself[4 * dx + dy] = K_d`` at node offsets
    (dx, dy) (``kself[dx]`` in 1-D), so the grid's error at the kernel's peak does not
    bias Z."""
    cdef double bx[4]
    cdef double by[4]
    cdef double sx[4]
    cdef double sy[4]
    cdef double x0, x1, wxy, f0 = 0.0, f1 = 0.0, f2 = 0.0, kii = 0.0
    cdef intp_t fx, fy, kx, ky, gx, gy
    fx = _spline(y[0], low[0], h, bx)
    _self_weights(bx, sx)
    x0 = y[0] - centre[0]
    if dim == 1:
        for kx in range(4):
            gx = fx - 1 + kx
            f0 += bx[kx] * pot[0, 0, gx]
            f1 += bx[kx] * pot[1, 0, gx]
            kii += sx[kx] * kself[kx]
        rep[0] = x0 * f0 - f1
        return (1.0 + 2.0 * x0 * x0) * f0 - 2.0 * x0 * f1 - kii
    fy = _spline(y[1], low[1], h, by)
    _self_weights(by, sy)
    x1 = y[1] - centre[1]
    for kx in range(4):
        gx = fx - 1 + kx
        for ky in range(4):
            gy = fy - 1 + ky
            wxy = bx[kx] * by[ky]
            f0 += wxy * pot[0, gx, gy]
            f1 += wxy * pot[1, gx, gy]
            f2 += wxy * pot[2, gx, gy]
            kii += sx[kx] * sy[ky] * kself[4 * kx + ky]
    rep[0] = x0 * f0 - f1
    rep[1] = x1 * f0 - f2
    return (1.0 + 2.0 * (x0 * x0 + x1 * x1)) * f0 - 2.0 * (x0 * f1 + x1 * f2) - kii


# ------------------------------------------------------------------------------------
# One step of gradient descent with momentum and per-coordinate gains
# ------------------------------------------------------------------------------------

cdef double _step_row(double* y, const double* attr, const double* rep, intp_t dim,
                      double iz, double coef, double momentum, double learning_rate,
                      double min_gain, double max_grad_norm, double* update,
                      double* gains) noexcept nogil:
    """Gradient-descent step of one point (see ``gradient_step``); returns |g|^2."""
    cdef intp_t a
    cdef double g, s = 0.0, scale = 1.0, gain
    for a in range(dim):
        g = coef * (attr[a] - iz * rep[a])
        s += g * g
    if max_grad_norm > 0.0 and s > max_grad_norm * max_grad_norm:
        scale = max_grad_norm / sqrt(s)
    for a in range(dim):
        g = scale * coef * (attr[a] - iz * rep[a])
        gain = gains[a]
        if update[a] * g < 0.0:
            gain = gain + 0.2
        else:
            gain = gain * 0.8
        if gain < min_gain:
            gain = min_gain
        gains[a] = gain
        update[a] = momentum * update[a] - learning_rate * gain * g
        y[a] += update[a]
    return s


def gradient_step(double[:, ::1] Y, const double[:, ::1] attr, const double[:, ::1] rep,
                  const double[::1] inv_z, double coef, double momentum,
                  double learning_rate, double min_gain, double max_grad_norm,
                  double[:, ::1] update, double[:, ::1] gains, double[::1] grad_sq,
                  int n_threads):
    """``g_i = coef * (attr_i - inv_z * rep_i)`` (``inv_z`` has one entry shared by all
    points, or one per point), optionally clipped to norm ``max_grad_norm`` (> 0); then
    gains (+0.2 where the gradient opposes the last update, *0.8 elsewhere, at least
    ``min_gain``), ``update = momentum * update - learning_rate * gains * g`` and
    ``Y += update``. ``grad_sq[i]`` receives |g_i|^2 (before clipping)."""
    cdef intp_t n = Y.shape[0], dim = Y.shape[1], i
    cdef bint shared = inv_z.shape[0] == 1
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        grad_sq[i] = _step_row(&Y[i, 0], &attr[i, 0], &rep[i, 0], dim,
                               inv_z[0] if shared else inv_z[i], coef, momentum,
                               learning_rate, min_gain, max_grad_norm, &update[i, 0],
                               &gains[i, 0])


def descend(double[:, ::1] Y, const double[:, ::1] Yr, bint same,
            const intp_t[::1] indptr, const intp_t[::1] indices, const double[::1] pdata,
            double exaggeration, int method, SpaceTree tree, double theta,
            const double[::1] low, double h, const double[::1] centre,
            const float[:, :, ::1] pot, const double[::1] kself,
            bint do_step, double coef, bint per_point, double momentum,
            double learning_rate, double min_gain, double max_grad_norm,
            double[:, ::1] update, double[:, ::1] gains, double[:, ::1] attr,
            double[:, ::1] rep, double[::1] zrow, double[::1] grad_sq,
            double[::1] kl_rows, bint compute_kl, int n_threads):
    """One iteration in one parallel region: the forces on every point, then (with
    ``do_step``) the step. Returns Z = sum(zrow).

    Forces: ``attr`` as ``attractive_forces`` (P's rows are the points of Y, its columns
    those of Yr), ``rep`` and ``zrow`` by ``method``: 0 all pairs (``repulsive_exact``),
    1 Barnes-Hut over ``tree`` (``repulsive_bh``), 2 the convolved grid ``pot`` with
    ``low``, ``h``, ``centre``, ``kself`` (``_gather_point``; fit only). ``same``: Yr
    is Y (fit); otherwise Y are new points placed against the fixed Yr (transform).
    Unused method arguments may be dummies.

    Step: as ``gradient_step`` with ``inv_z = 1 / Z`` (fit), or ``1 / zrow[i]`` per point
    with ``per_point`` (transform: each new point has its own normalisation). Z is
    summed in point order by each thread after the forces, so it and the step do not
    depend on the number of threads."""
    cdef intp_t n = Y.shape[0], m = Yr.shape[0], dim = Y.shape[1], t, u, k, i, sp, lo
    cdef const intp_t* perm = NULL
    cdef const double* nodes = NULL
    cdef const double* pts = NULL
    cdef double theta2 = theta * theta, z, Zs, iz, kl
    cdef intp_t[::1] perm_v
    cdef double[:, ::1] nodes_v
    cdef double[:, ::1] pts_v
    if Yr.shape[1] != dim or (same and m != n):
        raise ValueError(f"Yr has shape ({m}, {Yr.shape[1]}) for Y of shape ({n}, {dim}) "
                         f"(same={same}).")
    if indptr.shape[0] != n + 1 or pdata.shape[0] != indices.shape[0]:
        raise ValueError("descend: P's CSR arrays do not match Y.")
    for name, arr in (("update", update), ("gains", gains), ("attr", attr), ("rep", rep)):
        _check_rows(name, arr.shape[0], arr.shape[1], n, dim)
    for name, vec in (("zrow", zrow), ("grad_sq", grad_sq), ("kl_rows", kl_rows)):
        _check_rows(name, vec.shape[0], 0, n, -1)
    if method not in (METHOD_EXACT, METHOD_BH, METHOD_GRID):
        raise ValueError(f"descend: unknown method code {method}.")
    if n == 0:
        return 0.0
    Zs = 0.0
    u = 0
    if method == METHOD_BH:
        if tree is None or tree.dim != dim:
            raise ValueError("descend: method 1 needs a SpaceTree of the same dimension")
        if tree.perm.shape[0] != m:
            raise ValueError("descend: the tree must hold the points of Yr.")
        perm_v = tree.perm
        nodes_v = tree.nodes
        pts_v = tree.points
        perm = &perm_v[0]
        nodes = &nodes_v[0, 0]
        pts = &pts_v[0, 0]
    elif method == METHOD_GRID:
        if dim > 2 or pot.shape[0] != dim + 1 or (dim == 1 and pot.shape[1] != 1):
            raise ValueError("descend: method 2 needs 1 or 2 dimensions and a potential "
                             "grid of shape (dim + 1, N, M).")
        if kself.shape[0] < (4 if dim == 1 else 16):
            raise ValueError("descend: kself is too short.")
        _check_grid(Y, low, h, centre,
                    pot.shape[2] if dim == 1 else min(pot.shape[1], pot.shape[2]))
    with nogil, parallel(num_threads=n_threads):
        for t in prange(n, schedule="dynamic", chunksize=64):
            if method == METHOD_BH and same:
                i = perm[t]
                sp = t
            else:
                i = t
                sp = -1
            lo = indptr[i]
            kl = _attr_row(&indices[lo] if indptr[i + 1] > lo else &indices[0],
                           &pdata[lo] if indptr[i + 1] > lo else &pdata[0],
                           indptr[i + 1] - lo, &Y[i, 0], &Yr[0, 0], dim, exaggeration,
                           &attr[i, 0], compute_kl)
            if compute_kl:
                kl_rows[i] = kl
            if method == METHOD_EXACT:
                z = _exact_row(&Y[i, 0], &Yr[0, 0], m, dim, i if same else -1,
                               &rep[i, 0])
            elif method == METHOD_BH:
                z = _bh_point(&Y[i, 0], sp, dim, theta2, nodes, pts, &rep[i, 0])
            else:
                z = _gather_point(&Y[i, 0], dim, &low[0], h, &centre[0], pot,
                                  &kself[0], &rep[i, 0])
            zrow[i] = z
        skml_tsne_barrier()  # every point's forces are done
        if do_step:
            # every thread adds up Z in the same order
            Zs = 0.0
            for u in range(n):
                Zs = Zs + zrow[u]
            for k in prange(n, schedule="static"):
                iz = 1.0 / zrow[k] if per_point else 1.0 / Zs
                grad_sq[k] = _step_row(&Y[k, 0], &attr[k, 0], &rep[k, 0], dim, iz, coef,
                                       momentum, learning_rate, min_gain,
                                       max_grad_norm, &update[k, 0], &gains[k, 0])
    Zs = 0.0
    for t in range(n):
        Zs += zrow[t]
    return Zs
