"""Truncated SVD: the best rank-k approximation of a matrix (Remark 1.12, Example 4)."""
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.decomposition._scaling import needs_rescaling, rescale
from skml.decomposition._svd import arpack_svd, flip_rows, randomized_svd
from skml.utils import Interval, StrOptions, check_param, check_params, chunk_rows
from skml.utils import store_init_params

__all__ = ["TruncatedSVD"]


def _column_variance_sum(X):
    """Sum of the per-column variances (``ddof=0``) of a dense or sparse matrix.

    Dense X is centred a block of rows at a time (exact, and no n x p temporary)."""
    if sp.issparse(X):
        mean = np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()
        sq = np.asarray(X.multiply(X).mean(axis=0, dtype=np.float64)).ravel()
        return float(np.sum(sq - mean**2))
    mean = X.mean(axis=0, dtype=np.float64)
    step = chunk_rows(X.shape[1] * 8, preferred=4096)
    total = 0.0
    for start in range(0, X.shape[0], step):
        block = X[start:start + step] - mean
        total += float(np.einsum("ij,ij->", block, block))
    return total / X.shape[0]


class TruncatedSVD(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Dimension reduction by a truncated SVD, ``X ~ U_k S_k V_k^T``, without centring.

    By the Eckart–Young theorem the first ``k`` singular triplets give the best rank-k
    approximation of X in the Frobenius and spectral norms (the sum of separable
    matrices of Remark 1.12, cut after ``k`` terms). Because X is not centred, scipy
    sparse input works as is (latent semantic analysis on term counts): CSR and CSC are
    used as given, the other formats converted to CSR, never to a dense array.

    Parameters
    ----------
    n_components : int, default=2
        Rank of the approximation; below ``n_features``.
    algorithm : {"randomized", "arpack"}, default="randomized"
        Randomized range finder with ``n_iter`` power iterations (Halko et al.), or
        Lanczos (``scipy.sparse.linalg.svds``).
    n_iter : int, default=5
        Power iterations of ``"randomized"``.
    n_oversamples : int, default=10
        Extra random vectors of ``"randomized"``.
    power_iteration_normalizer : {"auto", "QR", "LU", "none"}, default="auto"
        Renormalisation between power iterations.
    random_state : int, RandomState instance or None, default=None
        Seeds both algorithms.
    tol : float, default=0.0
        Tolerance of ``"arpack"``.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Right singular vectors ``V_k^T`` (largest-magnitude entry of each row positive).
    explained_variance_ : ndarray of shape (n_components,)
        Variance of each projected coordinate.
    explained_variance_ratio_ : ndarray of shape (n_components,)
        ``explained_variance_`` over the total variance of X.
    singular_values_ : ndarray of shape (n_components,)
        The singular values ``S_k``.
    n_features_in_ : int
        Columns seen in ``fit``.

    Raises
    ------
    ValueError
        If ``n_components`` is not below ``n_features`` (``min(X.shape)`` with
        ``"arpack"``), X has fewer than 2 features, or NaN / infinite values.

    Notes
    -----
    Data whose squares would overflow or underflow is decomposed divided by a power of
    two (exactly): the components and ratios are those of the plain data.

    References
    ----------
    N. Halko, P.-G. Martinsson and J. A. Tropp, Finding structure with randomness, SIAM
    Review 53 (2011). H. Dai, "Note on Machine Learning" (preprint), Remark 1.12 and
    Example 4.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.decomposition import TruncatedSVD
    >>> X = np.random.RandomState(0).rand(20, 6)
    >>> svd = TruncatedSVD(n_components=2, random_state=0).fit(X)
    >>> svd.components_.shape
    (2, 6)
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None)],
        "algorithm": [StrOptions({"randomized", "arpack"})],
        "n_iter": [Interval(numbers.Integral, 0, None)],
        "n_oversamples": [Interval(numbers.Integral, 1, None)],
        "power_iteration_normalizer": [StrOptions({"auto", "QR", "LU", "none"})],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None)],
    }

    def __init__(self, n_components=2, *, algorithm="randomized", n_iter=5,
                 n_oversamples=10, power_iteration_normalizer="auto", random_state=None,
                 tol=0.0):
        store_init_params(self, locals())

    def fit(self, X, y=None):
        """Fit the model on X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        self : TruncatedSVD
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit the model on X and return ``U_k S_k``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        check_params(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"],
                          dtype=[np.float64, np.float32], ensure_min_features=2)
        limit = min(X.shape) - 1 if self.algorithm == "arpack" else X.shape[1]
        check_param(self.n_components, "n_components", types=(numbers.Integral,),
                    min_val=1, max_val=limit)
        rng = check_random_state(self.random_state)
        k = int(self.n_components)
        # Data whose squares overflow (or underflow) is decomposed divided by a power of
        # two (exact): same components and ratios; singular values, projections and
        # variances scale back by 2**e and 4**e.
        rescaled, e = needs_rescaling(X)
        if rescaled:
            X = rescale(X)[0]
        else:
            e = 0
        if self.algorithm == "arpack":
            U, S, Vt = arpack_svd(X, k, tol=self.tol, random_state=rng)
        else:
            U, S, Vt = randomized_svd(
                X, k, n_oversamples=self.n_oversamples, n_iter=self.n_iter,
                power_iteration_normalizer=self.power_iteration_normalizer,
                random_state=rng)
        U, Vt = flip_rows(U, Vt)
        self.components_ = np.ascontiguousarray(Vt, dtype=X.dtype)
        # With an approximate SVD, X V is not exactly U S: project for consistency with
        # transform.
        X_new = np.asarray(X @ self.components_.T)
        variance = np.var(X_new, axis=0)
        full = _column_variance_sum(X)
        self.explained_variance_ratio_ = (variance / full if full > 0
                                          else np.zeros_like(variance))
        with np.errstate(over="ignore"):
            self.explained_variance_ = np.ldexp(variance, 2 * e).astype(variance.dtype)
            self.singular_values_ = np.ldexp(np.asarray(S, dtype=X.dtype), e).astype(X.dtype)
            X_new = np.ldexp(X_new, e).astype(X_new.dtype)
        return X_new

    def transform(self, X):
        """Project X on the singular vectors: ``X V_k``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"],
                          dtype=[np.float64, np.float32], reset=False)
        return np.asarray(X @ self.components_.T)

    def inverse_transform(self, X):
        """Map back to the input space: ``X_new V_k^T``, the rank-k approximation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        return np.asarray(X) @ self.components_

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
