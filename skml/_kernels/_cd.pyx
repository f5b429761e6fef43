# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Coordinate descent for the elastic net (and the lasso, its ``beta = 0`` case).

Private and dumb: the Python layer (``skml.linear_model._coordinate_descent``) validates,
centres and rescales the data and hands over contiguous float32/float64 arrays. Each entry
point still checks the shapes it indexes with before any loop runs (and that sizes fit
the C ``int`` of BLAS), so no input reads or writes out of bounds. Both
solvers minimise the objective scaled by ``n_samples``::

    0.5 * ||y - X w||^2 + alpha * ||w||_1 + 0.5 * beta * ||w||^2

(``alpha = n * alpha_user * l1_ratio``, ``beta = n * alpha_user * (1 - l1_ratio)``) by cyclic
or random coordinate updates, each a soft-thresholding step. They stop when the duality
gap of the current point falls below ``tol * ||y||^2``; the gap is computed only after a sweep
whose largest coefficient change is small relative to the largest coefficient (or at the last
sweep), since it costs as much as a sweep.

Each gap computation also yields a dual-feasible point, and the "gap safe" sphere test
(Fercoq, Gramfort and Salmon, 2015) removes features whose coefficient is provably zero at the
optimum; later sweeps skip them. Between full sweeps the solver iterates on the features that
are non-zero (an active set), which is what makes warm-started paths cheap.

``enet_cd_dense`` works on a Fortran-ordered ``X`` and keeps the residual ``R = y - X w``
up to date with BLAS ``axpy``/``dot``. ``enet_cd_gram`` works on the Gram matrix
``Q = X^T X`` and ``q = X^T y`` (``n_samples >> n_features``) and keeps ``Q w`` up to date.
``w`` is updated in place (warm start); nothing else is written.
"""
from cython cimport floating
from libc.stdint cimport uint64_t
from libc.math cimport fabs, sqrt
from scipy.linalg.cython_blas cimport daxpy, ddot, saxpy, sdot

import numpy as np
import scipy.sparse as sp

cimport numpy as cnp

from skml._kernels._random cimport rand_int

cnp.import_array()

ctypedef cnp.intp_t intp_t


_INT_MAX = 2**31 - 1


def _check_shapes(str name, Py_ssize_t expected, Py_ssize_t got):
    if got != expected:
        raise ValueError(f"{name} has {got} entries, expected {expected}.")


def _check_blas_size(Py_ssize_t n, str what):
    if n > _INT_MAX:
        raise ValueError(f"{what} ({n}) exceeds the 32-bit BLAS limit {_INT_MAX}.")


def _check_common(int max_iter, double tol):
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}.")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}.")


cdef inline floating _dot(int n, const floating* x, const floating* y) noexcept nogil:
    cdef int inc = 1
    if floating is float:
        return sdot(&n, <float*>x, &inc, <float*>y, &inc)
    else:
        return ddot(&n, <double*>x, &inc, <double*>y, &inc)


cdef inline void _axpy(int n, floating a, const floating* x, floating* y) noexcept nogil:
    cdef int inc = 1
    if floating is float:
        saxpy(&n, &a, <float*>x, &inc, y, &inc)
    else:
        daxpy(&n, &a, <double*>x, &inc, y, &inc)


cdef inline double _soft(double z, double alpha, double denom, bint positive) noexcept nogil:
    """argmin_w 0.5 * denom * w^2 - z * w + alpha * |w| (with w >= 0 when positive)."""
    if positive and z < 0:
        return 0.0
    if z > alpha:
        return (z - alpha) / denom
    if z < -alpha:
        return (z + alpha) / denom
    return 0.0


cdef double _gap_from_parts(double R_norm2, double Ry, double l1, double w_norm2,
                            double dual_norm, double alpha, double beta,
                            double* scale) noexcept nogil:
    """Duality gap of the (n-scaled) elastic net from a few inner products.

    The dual point is ``theta = s * R`` with ``s = min(1, alpha / dual_norm)``, where
    ``dual_norm = max_j |X_j^T R - beta w_j|``; ``scale`` receives ``s``.
    """
    cdef double s = 1.0, gap
    if dual_norm > alpha:
        s = alpha / dual_norm
        gap = 0.5 * (R_norm2 + R_norm2 * s * s)
    else:
        gap = R_norm2
    gap += alpha * l1 - s * Ry + 0.5 * beta * (1.0 + s * s) * w_norm2
    scale[0] = s
    return gap


cdef struct _SparseX:
    # a CSC design (float64) with implicit centring: the true design is
    # X - u xmean^T, with u the offset direction (sqrt of the sample weights, or ones)
    # and xmean the column offsets (0 without intercept). The solver keeps
    # R' = y - X w; the true residual is R = R' + c u with c = xmean . w.
    const double* data
    const intp_t* indices
    const intp_t* indptr
    const double* u
    const double* xmean
    const double* colU      # u . X_j for each column
    double S                # u . u
    double RS               # u . R'
    double c                # xmean . w
    double uy               # u . y


cdef inline double _corr(bint gram, Py_ssize_t j, const floating* X, const floating* R,
                         int n, const floating* Qw, const floating* q,
                         _SparseX* spx) noexcept nogil:
    """X_j^T R, the correlation of feature j with the residual: ``q_j - (Q w)_j`` (Gram
    solver), a dot product over the samples (design solver, Fortran ``X``) or over the
    stored entries of a CSC column, corrected for the implicit centring."""
    cdef Py_ssize_t k
    cdef double s = 0.0
    if gram:
        return q[j] - Qw[j]
    if spx != NULL:
        for k in range(spx.indptr[j], spx.indptr[j + 1]):
            s += spx.data[k] * R[spx.indices[k]]
        return s + spx.c * spx.colU[j] - spx.xmean[j] * (spx.RS + spx.c * spx.S)
    return _dot(n, &X[j * n], R)


cdef inline void _move(bint gram, Py_ssize_t j, double delta, const floating* X,
                       floating* R, int n, const floating* Q, floating* Qw, int p,
                       _SparseX* spx) noexcept nogil:
    """Account for ``w_j += delta``: ``Qw += delta Q_j`` or ``R -= delta X_j`` (for a
    sparse column only its stored entries, plus the scalar bookkeeping)."""
    cdef Py_ssize_t k
    if gram:
        _axpy(p, <floating>delta, &Q[j * p], Qw)
    elif spx != NULL:
        for k in range(spx.indptr[j], spx.indptr[j + 1]):
            R[spx.indices[k]] -= <floating>(delta * spx.data[k])
        spx.RS -= delta * spx.colU[j]
        spx.c += delta * spx.xmean[j]
    else:
        _axpy(n, <floating>(-delta), &X[j * n], R)


cdef int _screen(bint gram, floating* w, const floating* XtA, const floating* col_norm2,
                 double dual_norm, double gap, double alpha, double beta,
                 unsigned char* excluded, intp_t* screened,
                 const floating* X, floating* R, int n, const floating* Q, floating* Qw,
                 Py_ssize_t n_features, _SparseX* spx) noexcept nogil:
    """Gap-safe sphere test: exclude features with a provably zero optimal coefficient.

    Returns the number of features kept, listed in ``screened``. A removed non-zero
    coefficient is set to 0 and the residual (or ``Q w``) updated.
    """
    cdef double radius = sqrt(2.0 * fabs(gap)) / alpha
    cdef double denom = alpha if alpha > dual_norm else dual_norm
    cdef double xj_theta, d_j
    cdef Py_ssize_t j
    cdef int kept = 0
    for j in range(n_features):
        if excluded[j]:
            continue
        xj_theta = XtA[j] / denom
        d_j = (1.0 - fabs(xj_theta)) / sqrt(col_norm2[j] + beta)
        if d_j > radius:
            if w[j] != 0:
                _move(gram, j, -w[j], X, R, n, Q, Qw, <int>n_features, spx)
                w[j] = 0
            excluded[j] = 1
        else:
            screened[kept] = j
            kept += 1
    return kept


cdef bint _enet_cd_loop(bint gram, floating* w, double alpha, double beta,
                        Py_ssize_t n_features, const floating* col_norm2, floating* XtA,
                        unsigned char* excluded, intp_t* screened, intp_t* active,
                        const floating* X, floating* R, const floating* y, int n,
                        const floating* Q, floating* Qw, const floating* q, double y_norm2,
                        int max_iter, double tol, uint64_t* state, bint random,
                        bint positive, bint screening, double* gap_out,
                        int* n_iter_out, _SparseX* spx) noexcept nogil:
    """The sweeps, duality gap, screening and active set shared by both solvers.

    The design solver (``gram`` False) reads ``X`` (Fortran-ordered, ``n`` samples),
    the residual ``R`` and ``y``; the Gram solver reads ``Q``, ``Q w`` and ``q = X^T y``.
    Only ``_corr``, ``_move`` and the residual's two inner products for the gap depend on
    which. Stops when the gap is at most ``tol * ||y||^2``; returns whether it did.
    """
    cdef double gap = 0.0, s = 1.0, w_max, d_w_max, w_j, new_w, tmp
    cdef double R_norm2, Ry, l1, w_norm2, dual_norm, v, qw, wQw
    cdef double gap_tol = tol * y_norm2
    cdef int n_screened = <int>n_features, n_active = 0, it, f, k, idx
    cdef int p = <int>n_features
    cdef bint full = True, converged = False, small
    cdef Py_ssize_t j
    n_iter_out[0] = 0
    for it in range(max_iter):
        n_iter_out[0] = it + 1
        w_max = 0.0
        d_w_max = 0.0
        # a full sweep over the screened features, or a sweep over the non-zeros only
        k = n_screened if full else n_active
        for idx in range(k):
            f = idx
            if random:
                f = <int>rand_int(state, k)
            j = screened[f] if full else active[f]
            if col_norm2[j] == 0.0:
                continue
            w_j = w[j]
            tmp = _corr(gram, j, X, R, n, Qw, q, spx) + w_j * col_norm2[j]
            new_w = _soft(tmp, alpha, col_norm2[j] + beta, positive)
            if new_w != w_j:
                _move(gram, j, new_w - w_j, X, R, n, Q, Qw, p, spx)
                w[j] = <floating>new_w
            if fabs(new_w - w_j) > d_w_max:
                d_w_max = fabs(new_w - w_j)
            if fabs(new_w) > w_max:
                w_max = fabs(new_w)
        small = w_max == 0.0 or d_w_max / w_max <= tol
        if not full:
            # converged on the active set: go back to a full sweep
            full = small
            if it != max_iter - 1:
                continue
        if small or it == max_iter - 1:
            l1 = 0.0
            w_norm2 = 0.0
            dual_norm = 0.0
            qw = 0.0
            wQw = 0.0
            for j in range(n_features):
                l1 += fabs(w[j])
                w_norm2 += w[j] * w[j]
                if gram:
                    qw += q[j] * w[j]
                    wQw += w[j] * Qw[j]
                v = _corr(gram, j, X, R, n, Qw, q, spx) - beta * w[j]
                XtA[j] = <floating>v
                if positive:
                    if v > dual_norm:
                        dual_norm = v
                elif fabs(v) > dual_norm:
                    dual_norm = fabs(v)
            if gram:
                # ||y - X w||^2 and (y - X w)^T y from X^T y and X^T X w
                R_norm2 = y_norm2 - 2.0 * qw + wQw
                if R_norm2 < 0:
                    R_norm2 = 0.0
                Ry = y_norm2 - qw
            else:
                R_norm2 = _dot(n, R, R)
                Ry = 0.0
                for j in range(n):
                    Ry += R[j] * y[j]
                if spx != NULL:  # R = R' + c u
                    R_norm2 += 2.0 * spx.c * spx.RS + spx.c * spx.c * spx.S
                    Ry += spx.c * spx.uy
            gap = _gap_from_parts(R_norm2, Ry, l1, w_norm2, dual_norm, alpha, beta, &s)
            if gap <= gap_tol:
                converged = True
                break
            if screening:
                n_screened = _screen(gram, w, XtA, col_norm2, dual_norm, gap, alpha, beta,
                                     excluded, screened, X, R, n, Q, Qw, n_features, spx)
        # next: sweeps over the non-zero coefficients until they settle
        n_active = 0
        for f in range(n_screened):
            j = screened[f]
            if w[j] != 0:
                active[n_active] = j
                n_active += 1
        full = n_active == 0 or n_active == n_screened
    gap_out[0] = gap
    return converged


def enet_cd_dense(floating[::1] w, double alpha, double beta,
                  const floating[::1, :] X, const floating[::1] y,
                  int max_iter, double tol, unsigned int seed, bint random,
                  bint positive, bint screening=True):
    """Elastic-net coordinate descent on a Fortran-ordered ``X``.

    Returns ``(w, gap, tol_used, n_iter, converged)``; ``w`` is updated in place.
    """
    cdef Py_ssize_t n_samples = X.shape[0]
    cdef Py_ssize_t n_features = X.shape[1]
    _check_shapes("w", n_features, w.shape[0])
    _check_shapes("y", n_samples, y.shape[0])
    _check_blas_size(n_samples, "n_samples")
    _check_blas_size(n_features, "n_features")
    _check_common(max_iter, tol)
    dtype = np.float32 if floating is float else np.float64
    Xa = np.asarray(X)
    # R has at least one element, and empty inputs point at a dummy, so that every
    # pointer handed to the loop is valid (nothing is read through them when empty)
    R_arr = np.zeros(max(n_samples, 1), dtype=dtype)
    R_arr[:n_samples] = np.asarray(y, dtype=dtype) - Xa @ np.asarray(w)
    cdef floating[::1] R = R_arr
    cdef floating[::1] dummy = np.zeros(1, dtype=dtype)
    cdef const floating* X_ptr = &dummy[0]
    cdef const floating* y_ptr = &dummy[0]
    if n_samples > 0:
        y_ptr = &y[0]
        if n_features > 0:
            X_ptr = &X[0, 0]
    cdef floating[::1] col_norm2 = np.einsum("ij,ij->j", Xa, Xa).astype(dtype)
    cdef double y_norm2 = np.dot(np.asarray(y, dtype=np.float64),
                                 np.asarray(y, dtype=np.float64))
    return _run(False, w, alpha, beta, col_norm2, X_ptr, &R[0], y_ptr, <int>n_samples,
                NULL, NULL, NULL, y_norm2, max_iter, tol, seed, random, positive, screening)


def enet_cd_sparse(double[::1] w, double alpha, double beta, const double[::1] data,
                   const intp_t[::1] indices, const intp_t[::1] indptr, Py_ssize_t n_samples,
                   const double[::1] y, const double[::1] u, const double[::1] xmean,
                   int max_iter, double tol, unsigned int seed, bint random, bint positive,
                   bint screening=True):
    """Elastic-net coordinate descent on a CSC ``X`` (``data``, row ``indices``,
    ``indptr``) whose true design is ``X - u xmean^T``: the centring (and, through
    ``u = sqrt(weights)``, the weighting) stays implicit, so only stored entries are read
    or updated. ``X``'s rows must already be multiplied by ``u``; ``y`` is the
    (weighted, centred) target. Returns ``(w, gap, tol_used, n_iter, converged)``.
    """
    cdef Py_ssize_t n_features = indptr.shape[0] - 1
    cdef Py_ssize_t j, k
    if n_features < 0:
        raise ValueError("indptr must have n_features + 1 entries.")
    _check_shapes("w", n_features, w.shape[0])
    _check_shapes("xmean", n_features, xmean.shape[0])
    _check_shapes("y", n_samples, y.shape[0])
    _check_shapes("u", n_samples, u.shape[0])
    _check_shapes("indices", data.shape[0], indices.shape[0])
    _check_blas_size(n_samples, "n_samples")
    _check_blas_size(n_features, "n_features")
    _check_common(max_iter, tol)
    ip = np.asarray(indptr)
    if ip.size and (ip[0] != 0 or ip[ip.size - 1] != data.shape[0] or np.any(np.diff(ip) < 0)):
        raise ValueError("indptr must rise from 0 to the number of stored entries.")
    idx = np.asarray(indices)
    if idx.size and (idx.min() < 0 or idx.max() >= n_samples):
        raise ValueError(f"row indices must lie in [0, {n_samples}).")
    X = sp.csc_matrix((np.asarray(data), idx, ip), shape=(n_samples, n_features))
    ua = np.asarray(u)
    xm = np.asarray(xmean)
    colU_arr = np.asarray(X.T @ ua).ravel()
    col_sq = np.asarray(X.multiply(X).sum(axis=0)).ravel()
    S = float(ua @ ua)
    cdef double[::1] col_norm2 = np.maximum(col_sq - 2.0 * xm * colU_arr + xm * xm * S, 0.0)
    cdef double[::1] colU = colU_arr
    # R' = y - X w and the bookkeeping of the implicit offset
    wa = np.asarray(w)
    R_arr = np.zeros(max(n_samples, 1))
    R_arr[:n_samples] = np.asarray(y) - X @ wa
    cdef double[::1] R = R_arr
    cdef double[::1] dummy = np.zeros(1)
    cdef _SparseX spx
    spx.data = &data[0] if data.shape[0] else &dummy[0]
    spx.indices = &indices[0] if indices.shape[0] else <const intp_t*>&indptr[0]
    spx.indptr = &indptr[0]
    spx.u = &u[0] if n_samples else &dummy[0]
    spx.xmean = &xmean[0] if n_features else &dummy[0]
    spx.colU = &colU[0] if n_features else &dummy[0]
    spx.S = S
    spx.RS = float(ua @ R_arr[:n_samples])
    spx.c = float(xm @ wa)
    spx.uy = float(ua @ np.asarray(y))
    ya = np.asarray(y)
    # ||R||^2 of the true residual at w = 0 is ||y||^2 (y is centred by the caller)
    cdef double y_norm2 = float(ya @ ya)
    return _run(False, w, alpha, beta, col_norm2, &dummy[0], &R[0],
                &y[0] if n_samples else &dummy[0], <int>n_samples, NULL, NULL, NULL,
                y_norm2, max_iter, tol, seed, random, positive, screening, &spx)


def enet_cd_gram(floating[::1] w, double alpha, double beta,
                 const floating[:, ::1] Q, const floating[::1] q, double y_norm2,
                 int max_iter, double tol, unsigned int seed, bint random,
                 bint positive, bint screening=True):
    """Elastic-net coordinate descent on ``Q = X^T X`` and ``q = X^T y``.

    ``y_norm2`` is ``y^T y``. Returns ``(w, gap, tol_used, n_iter, converged)``; ``w`` is
    updated in place.
    """
    cdef Py_ssize_t n_features = Q.shape[0]
    if Q.shape[1] != n_features:
        raise ValueError(f"Q must be square, got {Q.shape[0]}x{Q.shape[1]}.")
    _check_shapes("w", n_features, w.shape[0])
    _check_shapes("q", n_features, q.shape[0])
    _check_blas_size(n_features, "n_features")
    _check_common(max_iter, tol)
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] Qw = np.ascontiguousarray(np.asarray(Q) @ np.asarray(w), dtype=dtype)
    cdef floating[::1] col_norm2 = np.array(np.diag(np.asarray(Q)), dtype=dtype)
    if n_features == 0:
        return np.asarray(w), 0.0, tol * y_norm2, min(max_iter, 1), True
    return _run(True, w, alpha, beta, col_norm2, NULL, NULL, NULL, 0, &Q[0, 0], &Qw[0],
                &q[0], y_norm2, max_iter, tol, seed, random, positive, screening)


cdef _run(bint gram, floating[::1] w, double alpha, double beta,
          floating[::1] col_norm2, const floating* X, floating* R, const floating* y,
          int n, const floating* Q, floating* Qw, const floating* q, double y_norm2,
          int max_iter, double tol, unsigned int seed, bint random, bint positive,
          bint screening, _SparseX* spx=NULL):
    """Allocate the work arrays, run the shared loop, package the result."""
    cdef Py_ssize_t n_features = w.shape[0]
    if n_features == 0:
        return np.asarray(w), 0.0, tol * y_norm2, min(max_iter, 1), True
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] XtA = np.zeros(n_features, dtype=dtype)
    cdef unsigned char[::1] excluded = np.zeros(n_features, dtype=np.uint8)
    cdef intp_t[::1] screened = np.arange(n_features, dtype=np.intp)
    cdef intp_t[::1] active = np.empty(n_features, dtype=np.intp)
    cdef uint64_t state = seed
    cdef double gap = 0.0
    cdef int n_iter = 0
    cdef bint converged
    if alpha <= 0:
        screening = False
    with nogil:
        converged = _enet_cd_loop(gram, &w[0], alpha, beta, n_features, &col_norm2[0],
                                  &XtA[0], &excluded[0], &screened[0], &active[0], X, R, y,
                                  n, Q, Qw, q, y_norm2, max_iter, tol, &state, random,
                                  positive, screening, &gap, &n_iter, spx)
    return np.asarray(w), gap, tol * y_norm2, n_iter, converged


def l1_quadratic_cd(const double[:, ::1] H, const double[::1] b, double[::1] z,
                    const double[::1] lam, int max_sweeps, double tol):
    """Minimise ``0.5 z^T H z - b^T z + sum_j lam[j] * |z_j|`` by cyclic coordinate descent.

    The inner problem of proximal Newton for L1-penalised logistic regression (``H`` the
    Hessian, ``lam[j] = 0`` for unpenalised coordinates such as intercepts). ``z`` is the
    starting point, updated in place; stops when a sweep's largest change is at most
    ``tol`` times the largest ``|z_j|``. Returns the number of sweeps.
    """
    cdef Py_ssize_t d = H.shape[0], j
    if H.shape[1] != d:
        raise ValueError(f"H must be square, got {H.shape[0]}x{H.shape[1]}.")
    _check_shapes("b", d, b.shape[0])
    _check_shapes("z", d, z.shape[0])
    _check_shapes("lam", d, lam.shape[0])
    _check_blas_size(d, "the dimension")
    _check_common(max_sweeps, tol)
    cdef int dd = <int>d, sweep, n_sweeps = 0
    cdef double[::1] Hz = np.asarray(H) @ np.asarray(z)
    cdef double tmp, new_z, z_j, d_max, z_max
    with nogil:
        for sweep in range(max_sweeps):
            n_sweeps = sweep + 1
            d_max = 0.0
            z_max = 0.0
            for j in range(d):
                if H[j, j] <= 0.0:
                    continue
                z_j = z[j]
                tmp = b[j] - Hz[j] + H[j, j] * z_j
                new_z = _soft(tmp, lam[j], H[j, j], False)
                if new_z != z_j:
                    _axpy(dd, new_z - z_j, &H[j, 0], &Hz[0])
                    z[j] = new_z
                if fabs(new_z - z_j) > d_max:
                    d_max = fabs(new_z - z_j)
                if fabs(new_z) > z_max:
                    z_max = fabs(new_z)
            if d_max <= tol * z_max or z_max == 0.0:
                break
    return n_sweeps
