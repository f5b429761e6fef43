"""Mahalanobis distances (Definition 2.36, Remark 2.24) through a factor of the inverse
covariance and the Euclidean pairwise kernel."""
import numpy as np
from scipy import linalg
from sklearn.utils import check_array

from skml.metrics._pairwise import pairwise_distances

__all__ = ["mahalanobis_distances"]


def _psd_factor(VI):
    """A matrix ``L`` with ``L @ L.T == VI`` for a symmetric positive semi-definite VI:
    its Cholesky factor, or ``Q sqrt(Lambda)`` from an eigendecomposition when VI is
    singular."""
    try:
        return linalg.cholesky(VI, lower=True)
    except linalg.LinAlgError:
        evals, evecs = linalg.eigh(VI)
        tol = max(VI.shape[0], 1) * np.finfo(np.float64).eps * max(abs(evals).max(), 1e-300)
        if evals.min() < -tol:
            raise ValueError("VI must be positive semi-definite; it has the eigenvalue "
                             f"{evals.min():.3g}.") from None
        return evecs * np.sqrt(np.clip(evals, 0.0, None))


def mahalanobis_distances(X, Y=None, VI=None, *, n_jobs=None):
    """Mahalanobis distances between the rows of X and the rows of Y.

    ``d(x, y) = sqrt((x - y)^T VI (x - y))`` with ``VI`` the inverse of a covariance
    matrix (Definition 2.36). As in Remark 2.24, ``VI = L L^T`` is factored (Cholesky, or
    an eigendecomposition when VI is only semi-definite), so ``d(x, y) = ||(x - y) L||``
    is the Euclidean distance after mapping every row through ``L``; the distances then
    come from :func:`skml.metrics.pairwise_distances`.

    The distance of points to a distribution with mean ``mu`` is
    ``mahalanobis_distances(X, mu[None, :], VI)``.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features), default=None
        ``None`` means ``Y = X`` (the diagonal is then exactly 0).
    VI : array-like of shape (n_features, n_features), default=None
        Symmetric positive semi-definite inverse covariance. ``None`` uses the
        pseudo-inverse of the sample covariance of X (``ddof=1``), the reference
        distribution being X's.
    n_jobs : int, default=None
        OpenMP threads of the distance kernel (``None``: all cores).

    Returns
    -------
    D : ndarray of shape (n_samples_X, n_samples_Y)
        float32 when X (and Y) are float32, float64 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import mahalanobis_distances
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    >>> VI = np.diag([1.0, 0.25])  # the second feature has variance 4
    >>> mahalanobis_distances(X, VI=VI)
    array([[0.        , 2.        , 1.        ],
           [2.        , 0.        , 2.23606798],
           [1.        , 2.23606798, 0.        ]])
    """
    X = check_array(X, dtype=[np.float64, np.float32], input_name="X")
    if Y is not None:
        Y = check_array(Y, dtype=[np.float64, np.float32], input_name="Y")
        if Y.shape[1] != X.shape[1]:
            raise ValueError(f"Incompatible dimension for X and Y matrices: X has "
                             f"{X.shape[1]} features but Y has {Y.shape[1]}.")
    p = X.shape[1]
    if VI is None:
        if X.shape[0] < 2:
            raise ValueError("VI=None estimates the covariance from X, which needs at "
                             f"least 2 rows; got {X.shape[0]}.")
        VI = linalg.pinvh(np.atleast_2d(np.cov(X.astype(np.float64), rowvar=False)))
    else:
        VI = check_array(VI, dtype=np.float64, input_name="VI")
        if VI.shape != (p, p):
            raise ValueError(f"VI must have shape {(p, p)}, got {VI.shape}.")
        if not np.allclose(VI, VI.T, rtol=1e-10, atol=1e-12 * np.abs(VI).max()):
            raise ValueError("VI must be symmetric.")
        VI = (VI + VI.T) / 2
    L = _psd_factor(VI)
    dtype = X.dtype if Y is None or Y.dtype == X.dtype else np.float64
    XL = (X @ L).astype(dtype, copy=False)
    YL = None if Y is None else (Y @ L).astype(dtype, copy=False)
    return pairwise_distances(XL, YL, metric="euclidean", n_jobs=n_jobs)
