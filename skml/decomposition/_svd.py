"""SVD helpers shared by PCA and TruncatedSVD: the sign convention, a randomized range
finder with power iterations, and ARPACK's truncated SVD."""
import numpy as np
from scipy import linalg
from scipy.sparse.linalg import ArpackError, svds

__all__ = ["flip_rows", "randomized_svd", "arpack_svd", "arpack_cannot_start"]


def flip_rows(U, Vt):
    """Deterministic signs, scikit-learn's convention (``svd_flip`` with
    ``u_based_decision=False``): the largest-magnitude entry of each row of ``Vt`` is
    made positive, and the matching column of ``U`` (if given) flips with it."""
    cols = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(Vt.shape[0]), cols])
    signs[signs == 0] = 1
    Vt *= signs[:, None]
    if U is not None:
        U *= signs[None, :]
    return U, Vt


def _normalise(Y, how):
    if how == "QR":
        return linalg.qr(Y, mode="economic", check_finite=False)[0]
    if how == "LU":
        return linalg.lu(Y, permute_l=True, check_finite=False)[0]
    return Y


def randomized_svd(M, n_components, *, n_oversamples=10, n_iter="auto",
                   power_iteration_normalizer="auto", random_state):
    """Truncated SVD by a randomized range finder (Halko, Martinsson & Tropp, 2011).

    A Gaussian test matrix of ``n_components + n_oversamples`` columns is pushed through
    ``n_iter`` power iterations ``Q <- M (M^T Q)`` (each product renormalised by LU or
    QR so small singular directions are not lost to rounding); the SVD of the small
    matrix ``Q^T M`` then gives the leading singular triplets. ``M`` may be a dense
    array or a scipy sparse matrix.

    Returns ``U, s, Vt`` with ``n_components`` triplets, signs not yet fixed.
    """
    n_random = n_components + n_oversamples
    n_samples, n_features = M.shape
    if n_iter == "auto":
        n_iter = 7 if n_components < 0.1 * min(M.shape) else 4
    if power_iteration_normalizer == "auto":
        power_iteration_normalizer = "none" if n_iter <= 2 else "LU"
    dtype = M.dtype if M.dtype in (np.float32, np.float64) else np.float64
    Q = random_state.normal(size=(n_features, n_random)).astype(dtype, copy=False)
    Q = M @ Q
    for _ in range(n_iter):
        Q = _normalise(Q, power_iteration_normalizer)
        Q = M.T @ Q
        Q = _normalise(Q, power_iteration_normalizer)
        Q = M @ Q
    Q = linalg.qr(Q, mode="economic", check_finite=False)[0]
    B = np.asarray(Q.T @ M) if not hasattr(M, "tocsr") else np.asarray((M.T @ Q).T)
    Uhat, s, Vt = linalg.svd(B, full_matrices=False, check_finite=False)
    U = Q @ Uhat
    return U[:, :n_components], s[:n_components], Vt[:n_components]


def arpack_cannot_start(err):
    """Whether ``err`` (an ``ArpackError``) is ARPACK's 'starting vector is zero' (info
    -9): the operator maps the random start vector, all of whose entries are nonzero, to
    zero, i.e. it is the zero operator -- every eigen/singular value is 0 and any
    orthonormal vectors are eigen/singular vectors. scipy keeps no ``info`` attribute."""
    return str(err).startswith("ARPACK error -9:")


def arpack_svd(M, n_components, *, tol, random_state):
    """Truncated SVD by ARPACK (``scipy.sparse.linalg.svds``), triplets in decreasing
    order, started from a reproducible random vector."""
    v0 = random_state.uniform(-1, 1, min(M.shape))
    try:
        U, s, Vt = svds(M, k=n_components, tol=tol, v0=v0)
    except ArpackError as err:
        if not arpack_cannot_start(err):  # e.g. centred constant data
            raise
        dtype = M.dtype if M.dtype in (np.float32, np.float64) else np.float64
        return (np.eye(M.shape[0], n_components, dtype=dtype), np.zeros(n_components, dtype),
                np.eye(n_components, M.shape[1], dtype=dtype))
    return U[:, ::-1].copy(), s[::-1].copy(), Vt[::-1].copy()
