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
from libc.math cimport fabs, sqrt
from scipy.linalg.cython_blas cimport daxpy, ddot, saxpy, sdot

import numpy as np

cimport numpy as cnp

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


cdef inline unsigned int _xorshift(unsigned int* state) noexcept nogil:
    cdef unsigned int x = state[0]
    x ^= x << 13
    x ^= x >> 17
    x ^= x << 5
    state[0] = x
    return x


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


cdef int _screen(floating[::1] w, const floating[::1] XtA, const floating[::1] col_norm2,
                 double dual_norm, double gap, double alpha, double beta,
                 unsigned char[::1] excluded, intp_t[::1] screened,
                 floating* Qw, const floating* Q, floating* R, const floating* X,
                 int n_samples, Py_ssize_t n_features) noexcept nogil:
    """Gap-safe sphere test: exclude features with a provably zero optimal coefficient.

    Returns the number of features kept, listed in ``screened``. A removed non-zero
    coefficient is set to 0 and ``Qw`` (Gram solver, ``Q`` not NULL) or the residual ``R``
    (dense solver, Fortran ``X``) is updated.
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
                if Q != NULL:
                    _axpy(<int>n_features, -w[j], &Q[j * n_features], Qw)
                else:
                    _axpy(n_samples, w[j], &X[j * n_samples], R)
                w[j] = 0
            excluded[j] = 1
        else:
            screened[kept] = j
            kept += 1
    return kept


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
    cdef int n = <int>n_samples
    dtype = np.float32 if floating is float else np.float64
    Xa = np.asarray(X)
    cdef floating[::1] R = np.asarray(y, dtype=dtype) - Xa @ np.asarray(w)
    cdef floating[::1] col_norm2 = np.einsum("ij,ij->j", Xa, Xa).astype(dtype)
    cdef floating[::1] XtA = np.zeros(n_features, dtype=dtype)
    cdef unsigned char[::1] excluded = np.zeros(n_features, dtype=np.uint8)
    cdef intp_t[::1] screened = np.arange(n_features, dtype=np.intp)
    cdef intp_t[::1] active = np.empty(n_features, dtype=np.intp)
    cdef double y_norm2 = np.dot(np.asarray(y, dtype=np.float64), np.asarray(y, dtype=np.float64))
    cdef double gap = 0.0, s = 1.0, w_max, d_w_max, w_j, new_w, tmp, d_w_tol = tol
    cdef double R_norm2, Ry, l1, w_norm2, dual_norm, v
    cdef int n_screened = <int>n_features, n_active = 0, n_iter = 0, it, f, k, idx
    cdef bint full = True, converged = False, small
    cdef Py_ssize_t j
    cdef unsigned int state = seed if seed != 0 else 2463534242u

    if alpha <= 0:
        screening = False
    tol = tol * y_norm2
    with nogil:
        for it in range(max_iter):
            n_iter = it + 1
            w_max = 0.0
            d_w_max = 0.0
            # a full sweep over the screened features, or a sweep over the non-zeros only
            if full:
                k = n_screened
            else:
                k = n_active
            for idx in range(k):
                f = idx
                if random:
                    f = <int>(_xorshift(&state) % <unsigned int>k)
                if full:
                    j = screened[f]
                else:
                    j = active[f]
                if col_norm2[j] == 0.0:
                    continue
                w_j = w[j]
                tmp = _dot(n, &X[0, j], &R[0]) + w_j * col_norm2[j]
                new_w = _soft(tmp, alpha, col_norm2[j] + beta, positive)
                if new_w != w_j:
                    _axpy(n, <floating>(w_j - new_w), &X[0, j], &R[0])
                    w[j] = <floating>new_w
                if fabs(new_w - w_j) > d_w_max:
                    d_w_max = fabs(new_w - w_j)
                if fabs(new_w) > w_max:
                    w_max = fabs(new_w)
            small = w_max == 0.0 or d_w_max / w_max <= d_w_tol
            if not full:
                # converged on the active set: go back to a full sweep
                full = small
                if it != max_iter - 1:
                    continue
            if small or it == max_iter - 1:
                R_norm2 = _dot(n, &R[0], &R[0])
                Ry = 0.0
                for j in range(n_samples):
                    Ry += R[j] * y[j]
                l1 = 0.0
                w_norm2 = 0.0
                dual_norm = 0.0
                for j in range(n_features):
                    l1 += fabs(w[j])
                    w_norm2 += w[j] * w[j]
                    v = _dot(n, &X[0, j], &R[0]) - beta * w[j]
                    XtA[j] = <floating>v
                    if positive:
                        if v > dual_norm:
                            dual_norm = v
                    elif fabs(v) > dual_norm:
                        dual_norm = fabs(v)
                gap = _gap_from_parts(R_norm2, Ry, l1, w_norm2, dual_norm, alpha, beta, &s)
                if gap <= tol:
                    converged = True
                    break
                if screening:
                    n_screened = _screen(w, XtA, col_norm2, dual_norm, gap, alpha, beta,
                                         excluded, screened, NULL, NULL, &R[0], &X[0, 0],
                                         n, n_features)
            # next: sweeps over the non-zero coefficients until they settle
            n_active = 0
            for f in range(n_screened):
                j = screened[f]
                if w[j] != 0:
                    active[n_active] = j
                    n_active += 1
            full = n_active == 0 or n_active == n_screened
    return np.asarray(w), gap, tol, n_iter, converged


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
    cdef int p = <int>n_features
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] Qw = np.asarray(Q) @ np.asarray(w)
    cdef floating[::1] col_norm2 = np.array(np.diag(np.asarray(Q)), dtype=dtype)
    cdef floating[::1] XtA = np.zeros(n_features, dtype=dtype)
    cdef unsigned char[::1] excluded = np.zeros(n_features, dtype=np.uint8)
    cdef intp_t[::1] screened = np.arange(n_features, dtype=np.intp)
    cdef intp_t[::1] active = np.empty(n_features, dtype=np.intp)
    cdef double gap = 0.0, s = 1.0, w_max, d_w_max, w_j, new_w, tmp, d_w_tol = tol
    cdef double R_norm2, Ry, l1, w_norm2, dual_norm, v, qw, wQw
    cdef int n_screened = p, n_active = 0, n_iter = 0, it, f, k, idx
    cdef bint full = True, converged = False, small
    cdef Py_ssize_t j
    cdef unsigned int state = seed if seed != 0 else 2463534242u

    if alpha <= 0:
        screening = False
    tol = tol * y_norm2
    with nogil:
        for it in range(max_iter):
            n_iter = it + 1
            w_max = 0.0
            d_w_max = 0.0
            if full:
                k = n_screened
            else:
                k = n_active
            for idx in range(k):
                f = idx
                if random:
                    f = <int>(_xorshift(&state) % <unsigned int>k)
                if full:
                    j = screened[f]
                else:
                    j = active[f]
                if col_norm2[j] == 0.0:
                    continue
                w_j = w[j]
                tmp = q[j] - Qw[j] + w_j * col_norm2[j]
                new_w = _soft(tmp, alpha, col_norm2[j] + beta, positive)
                if new_w != w_j:
                    _axpy(p, <floating>(new_w - w_j), &Q[j, 0], &Qw[0])
                    w[j] = <floating>new_w
                if fabs(new_w - w_j) > d_w_max:
                    d_w_max = fabs(new_w - w_j)
                if fabs(new_w) > w_max:
                    w_max = fabs(new_w)
            small = w_max == 0.0 or d_w_max / w_max <= d_w_tol
            if not full:
                full = small
                if it != max_iter - 1:
                    continue
            if small or it == max_iter - 1:
                qw = 0.0
                wQw = 0.0
                l1 = 0.0
                w_norm2 = 0.0
                dual_norm = 0.0
                for j in range(n_features):
                    qw += q[j] * w[j]
                    wQw += w[j] * Qw[j]
                    l1 += fabs(w[j])
                    w_norm2 += w[j] * w[j]
                    v = q[j] - Qw[j] - beta * w[j]
                    XtA[j] = <floating>v
                    if positive:
                        if v > dual_norm:
                            dual_norm = v
                    elif fabs(v) > dual_norm:
                        dual_norm = fabs(v)
                R_norm2 = y_norm2 - 2.0 * qw + wQw
                if R_norm2 < 0:
                    R_norm2 = 0.0
                Ry = y_norm2 - qw
                gap = _gap_from_parts(R_norm2, Ry, l1, w_norm2, dual_norm, alpha, beta, &s)
                if gap <= tol:
                    converged = True
                    break
                if screening:
                    n_screened = _screen(w, XtA, col_norm2, dual_norm, gap, alpha, beta,
                                         excluded, screened, &Qw[0], &Q[0, 0], NULL, NULL,
                                         0, n_features)
            n_active = 0
            for f in range(n_screened):
                j = screened[f]
                if w[j] != 0:
                    active[n_active] = j
                    n_active += 1
            full = n_active == 0 or n_active == n_screened
    return np.asarray(w), gap, tol, n_iter, converged


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
