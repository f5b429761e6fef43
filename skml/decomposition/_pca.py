"""Principal component analysis (Definition 2.32, Remark 2.20, Example 17)."""
import numbers
from math import log

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from scipy.sparse.linalg import LinearOperator
from scipy.special import gammaln
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skml._kernels import _covariance
from skml.decomposition._scaling import needs_rescaling, rescale
from skml.decomposition._svd import arpack_svd, flip_rows, randomized_svd
from skml.utils import (
    Interval,
    StrOptions,
    check_params,
    effective_n_threads,
    limit_blas_threads,
)
from skml.utils import store_init_params

__all__ = ["PCA"]

_SOLVERS = ("auto", "full", "covariance_eigh", "randomized", "arpack")


def centred_covariance(X, n_jobs=None):
    """Mean and covariance (``ddof=1``, float64) of the rows of a C-contiguous X.

    Two passes of the OpenMP kernel ``skml._kernels._covariance``: column sums, then the
    Gram matrix of the exactly centred rows, a block at a time (one ``dsyrk`` per block).
    X is never copied. The rows are split into a number of groups that depends only on
    X's shape, and the groups' sums are added in order, so the result is the same for
    every ``n_jobs``. A NaN or infinity shows in the column sums; X is then checked
    element-wise for the error message.
    """
    n, p = X.shape
    chunk = int(min(n, max(256, 2**17 // p)))
    # one p x p accumulator per group: up to 32 groups, together under ~64 MiB
    n_groups = int(max(1, min(32, 2**23 // (p * p), -(-n // chunk))))
    group_rows = -(-n // n_groups)
    n_threads = min(effective_n_threads(n_jobs), n_groups)
    sums = np.zeros((n_groups, p))
    _covariance.column_sums(X, sums, group_rows, n_threads)
    total = sums.sum(axis=0)
    if not np.all(np.isfinite(total)):
        assert_all_finite(X, input_name="X")
    mean = total / n
    partial = np.zeros((n_groups, p, p))
    with limit_blas_threads():
        _covariance.centred_gram(X, mean, partial, group_rows, chunk, n_threads)
    C = partial.sum(axis=0)
    # dsyrk filled the upper triangle in column-major order: the lower one here
    C = np.tril(C) + np.tril(C, -1).T
    C /= max(n - 1, 1)
    return mean, C


def _minka_dimension(spectrum, n_samples, exponent=0):
    """Minka's choice of dimension: the rank k in [1, d - 1] of largest evidence
    log p(X | k) of probabilistic PCA under a Laplace approximation (T. Minka,
    Automatic choice of dimensionality for PCA, NIPS 2000, eq. (30)), for the
    covariance eigenvalues ``spectrum`` (decreasing) of ``n_samples`` rows.

    ``spectrum`` may be in units of 4**-exponent of the data's (PCA divides extreme
    data by 2**exponent): the evidence only shifts by a constant then, and the two
    absolute floors of scikit-learn's implementation (a rank whose last eigenvalue is
    below 1e-15 is excluded; the noise variance is at least 1e-15) are applied in the
    data's units, so the choice is scikit-learn's.

    The terms: p(U) (uniform on the Stiefel manifold), the likelihood of the kept
    eigenvalues and of the noise variance v (mean of the others), the volume term of
    the m = dk - k(k+1)/2 free parameters, and the determinant of the Hessian, a
    product over pairs i < k, j > i of (lam_i - lam_j)(1/lam^_j - 1/lam^_i) N with
    lam^_j = v beyond k. Here in O(d^2) time and O(d) memory (the pair sums are
    accumulated by cumulative sums over the rank).
    """
    lam = np.asarray(spectrum, dtype=np.float64)
    d, N = lam.size, float(n_samples)
    if d < 2:
        return 1
    floor = float(np.ldexp(1e-15, -2 * exponent))
    ranks = np.arange(1, d)
    tail_sum = np.cumsum(lam[::-1])[::-1]
    v = np.maximum(floor, tail_sum[1:] / (d - ranks))  # noise variance per rank
    with np.errstate(divide="ignore", invalid="ignore"):
        free = d - ranks + 1  # (d - i + 1) for i = 1 .. d - 1
        log_pu = -ranks * np.log(2.0) + np.cumsum(gammaln(free / 2.0)
                                                  - np.log(np.pi) * free / 2.0)
        log_lam = np.log(lam)
        log_pl = -0.5 * N * np.cumsum(log_lam)[:-1]
        log_pv = -0.5 * N * (d - ranks) * np.log(v)
        m = d * ranks - ranks * (ranks + 1) / 2.0
        log_pp = 0.5 * np.log(2.0 * np.pi) * (m + ranks)
        head = np.zeros(d + 1)  # pair (i, j) of kept eigenvalues counts for ranks > j
        tail = np.zeros(d - 1)  # pairs (i, j >= k) with the noise variance, per rank k
        for i in range(d - 1):
            log_gap = np.log(lam[i] - lam[i + 1:])  # j = i + 1 .. d - 1
            head[i + 2:] += log_gap + np.log(1.0 / lam[i + 1:] - 1.0 / lam[i])
            ks = ranks[i:]  # ranks k > i
            gap_from = np.cumsum(log_gap[::-1])[::-1]  # sum over j >= i + 1 + t
            tail[i:] += gap_from[ks - (i + 1)] + (d - ks) * np.log(1.0 / v[i:]
                                                                   - 1.0 / lam[i])
        n_pairs = ranks * (d - 1) - ranks * (ranks - 1) / 2.0
        log_pa = np.cumsum(head)[ranks] + tail + n_pairs * np.log(N)
        ll = (log_pu + log_pl + log_pv + log_pp - 0.5 * log_pa
              - 0.5 * ranks * np.log(N))
    ll[lam[:-1] < floor] = -np.inf  # ranks whose last eigenvalue is (numerically) 0
    ll[np.isnan(ll)] = -np.inf
    return int(ranks[np.argmax(ll)])


def sparse_centred_covariance(X):
    """Mean and covariance (``ddof=1``, float64) of the rows of a sparse X without
    densifying it: ``(X^T X - n m m^T) / (n - 1)`` from the sparse Gram matrix (p x p,
    dense). As scikit-learn's ``covariance_eigh`` on sparse input, the identity loses
    the digits of the small eigenvalues when the column means dwarf the spread (data
    far from the origin, which sparse data rarely is)."""
    n = X.shape[0]
    X64 = X.astype(np.float64)
    mean = np.asarray(X64.mean(axis=0)).ravel()
    G = X64.T @ X64
    G = G.toarray() if sp.issparse(G) else np.asarray(G)
    C = (G - n * np.outer(mean, mean)) / max(n - 1, 1)
    return mean, (C + C.T) / 2.0


def _implicitly_centred(X):
    """``(mean, total variance, X - 1 mean^T as a LinearOperator)`` for a sparse X: the
    centred matrix is never formed (its products are ``X v - (mean . v) 1`` and ``X^T u -
    mean (1 . u)``), as in scikit-learn >= 1.4."""
    n, p = X.shape
    mean = np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()
    sq = float(np.asarray(X.multiply(X).sum(dtype=np.float64)))
    total = max(sq - n * float(mean @ mean), 0.0) / max(n - 1, 1)
    X = X.tocsr()
    XT = X.T.tocsr()  # X^T u as a CSR product: row-parallel, no scattered writes
    mean_t = mean.astype(X.dtype)

    def matvec(v):
        v = np.ravel(v)
        return X @ v - mean_t @ v

    def rmatvec(u):
        u = np.ravel(u)
        return XT @ u - mean_t * u.sum()

    def matmat(V):
        return np.asarray(X @ V) - mean_t @ V  # (mean @ V) broadcast over the rows

    def rmatmat(U):
        return np.asarray(XT @ U) - np.outer(mean_t, U.sum(axis=0))

    op = LinearOperator((n, p), dtype=X.dtype, matvec=matvec, rmatvec=rmatvec,
                        matmat=matmat, rmatmat=rmatmat)
    return mean.astype(X.dtype), total, op


class PCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Principal component analysis: project on the directions of largest variance.

    The components are the right singular vectors of the centred data ``X - mean``
    (Remark 2.20), equivalently the eigenvectors of the sample covariance (Example 17).
    Solvers (``svd_solver``):

    * ``"full"``: LAPACK SVD (``gesdd``) of the centred data. Exact; O(n p min(n, p)).
    * ``"covariance_eigh"``: eigendecomposition of the p x p covariance, which skml's
      OpenMP kernel accumulates from exactly centred blocks of rows in double precision
      (also for float32 input) without copying X. Fastest for tall data (n >> p); the
      squared condition number only loses accuracy on eigenvalues near
      ``eps * largest``.
    * ``"randomized"``: randomized range finder with ``iterated_power`` power iterations
      (Halko et al.), for a few components of a large matrix.
    * ``"arpack"``: Lanczos bidiagonalisation (``scipy.sparse.linalg.svds``);
      ``n_components`` must be below ``min(n_samples, n_features)``.
    * Sparse input (CSR/CSC; as scikit-learn >= 1.4): ``"arpack"`` on the implicitly
      centred matrix (a ``LinearOperator``: products with ``X - 1 mean^T`` without
      forming it) and ``"covariance_eigh"`` on ``(X^T X - n mean mean^T) / (n - 1)``;
      ``"auto"`` picks ``"arpack"``, the other solvers raise TypeError.
    * ``"auto"`` (scikit-learn's rule): ``"covariance_eigh"`` when ``n_features <= 1000``
      and ``n_samples >= 10 * n_features``; otherwise ``"full"`` for small data or a
      variance fraction, ``"randomized"`` when fewer than 80% of the components are
      wanted, ``"full"`` else.

    Signs are deterministic: the largest-magnitude entry of every component is positive
    (scikit-learn's convention), so components agree with scikit-learn's, not just up to
    sign.

    Parameters
    ----------
    n_components : int, float, "mle" or None, default=None
        Components to keep: an int (0 allowed with ``"full"`` and ``"covariance_eigh"``,
        as in scikit-learn: the model is then all noise); a float in (0, 1) keeps the
        fewest components whose explained variance ratios sum to more than it;
        ``"mle"`` picks the dimension by Minka's maximum-evidence rule (T. Minka, 2000;
        the same choice as scikit-learn's, which needs ``n_samples >= n_features``);
        ``None`` keeps ``min(n_samples, n_features)`` (one less with ``"arpack"``).
        Floats and ``"mle"`` need ``"full"`` or ``"covariance_eigh"``.
    copy : bool, default=True
        With ``False``, ``"full"`` centres X in place (X is then overwritten).
    whiten : bool, default=False
        Scale the projections to unit variance (divide by ``sqrt(explained_variance_)``).
    svd_solver : {"auto", "full", "covariance_eigh", "randomized", "arpack"}, \
            default="auto"
        See above.
    tol : float, default=0.0
        Tolerance of ``"arpack"``.
    iterated_power : int or "auto", default="auto"
        Power iterations of ``"randomized"`` (``"auto"``: 7 for few components, else 4).
    n_oversamples : int, default=10
        Extra random vectors of ``"randomized"``.
    power_iteration_normalizer : {"auto", "QR", "LU", "none"}, default="auto"
        How ``"randomized"`` renormalises between power iterations.
    random_state : int, RandomState instance or None, default=None
        Seeds ``"randomized"`` and ``"arpack"``.
    n_jobs : int, default=None
        OpenMP threads of the covariance kernel (``"covariance_eigh"``); ``None``: all
        cores, as scikit-learn's OpenMP estimators (an skml addition: scikit-learn's PCA
        has no ``n_jobs`` and runs its BLAS on all cores). Results do not depend on it.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Principal axes, by decreasing variance.
    explained_variance_ : ndarray of shape (n_components,)
        Variance along each axis (``ddof=1``): ``singular_values_**2 / (n_samples - 1)``.
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Fraction of the total variance along each axis.
    singular_values_ : ndarray of shape (n_components,)
        Singular values of the centred data.
    mean_ : ndarray of shape (n_features,)
        Per-feature mean.
    n_components_ : int
        Components kept.
    n_samples_ : int
        Rows seen in ``fit``.
    noise_variance_ : float
        Probabilistic-PCA noise variance: the mean of the discarded eigenvalues.
    n_features_in_ : int
        Columns seen in ``fit``.

    Raises
    ------
    ValueError
        If ``n_components`` does not suit the solver and the data (see above), or X has
        NaN or infinite values.

    Notes
    -----
    Data whose squares would overflow or underflow (``|x|`` beyond ~1e75 or below ~1e-75
    in float64) is fitted divided by a power of two (exactly): the components and ratios
    are those of the plain data, the variances are ``inf`` or 0 only where the true
    value lies outside the float range.

    Difference from scikit-learn: ``get_covariance``, ``get_precision``,
    ``score_samples`` and ``score`` describe the probabilistic PCA model of the data,
    which whitening (a change of the projection only) does not change; scikit-learn's
    ``get_covariance`` multiplies the components by ``sqrt(explained_variance_)`` when
    ``whiten=True``.

    References
    ----------
    M. E. Tipping and C. M. Bishop, Probabilistic principal component analysis, JRSS B
    61 (1999). T. P. Minka, Automatic choice of dimensionality for PCA, NIPS 13 (2000).
    N. Halko, P.-G. Martinsson and J. A. Tropp, Finding structure with randomness, SIAM
    Review 53 (2011). H. Dai, "Note on Machine Learning" (preprint), Definition 2.32,
    Remark 2.20 and Example 17.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.decomposition import PCA
    >>> X = np.array([[-1.0, -1.0], [-2.0, -1.0], [-3.0, -2.0],
    ...               [1.0, 1.0], [2.0, 1.0], [3.0, 2.0]])
    >>> pca = PCA(n_components=2).fit(X)
    >>> pca.explained_variance_ratio_.round(4)
    array([0.9924, 0.0076])
    """

    def __init__(self, n_components=None, *, copy=True, whiten=False, svd_solver="auto",
                 tol=0.0, iterated_power="auto", n_oversamples=10,
                 power_iteration_normalizer="auto", random_state=None, n_jobs=None):
        store_init_params(self, locals())

    # ------------------------------------------------------------------ checks
    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 0, None),
                         Interval(numbers.Real, 0, 1, closed="neither"),
                         StrOptions({"mle"}), None],
        "copy": ["boolean"],
        "whiten": ["boolean"],
        "svd_solver": [StrOptions(set(_SOLVERS))],
        "tol": [Interval(numbers.Real, 0, None)],
        "iterated_power": [StrOptions({"auto"}), Interval(numbers.Integral, 0, None)],
        "n_oversamples": [Interval(numbers.Integral, 1, None)],
        "power_iteration_normalizer": [StrOptions({"auto", "QR", "LU", "none"})],
        "random_state": ["random_state"],
        "n_jobs": ["n_jobs"],
    }

    def _choose_solver(self, n, p, sparse_input=False):
        solver = self.svd_solver
        k = self.n_components
        mle = isinstance(k, str)
        fraction = k is not None and not mle and not isinstance(k, numbers.Integral)
        if solver == "auto" and sparse_input:  # scikit-learn's rule
            solver = "arpack"
        if solver == "auto":
            if p <= 1000 and n >= 10 * p:
                solver = "covariance_eigh"
            elif max(n, p) <= 500 or fraction or mle or k is None:
                solver = "full"
            elif 1 <= k < 0.8 * min(n, p):
                solver = "randomized"
            else:
                solver = "full"
        limit = min(n, p) - (1 if solver == "arpack" else 0)
        if mle:
            if solver not in ("full", "covariance_eigh"):
                raise ValueError(f"n_components='mle' cannot be a string with "
                                 f"svd_solver='{solver}' (it needs 'full' or "
                                 "'covariance_eigh').")
            if n < p:
                raise ValueError("n_components='mle' is only supported if n_samples >= "
                                 "n_features.")
        elif fraction:
            if solver not in ("full", "covariance_eigh"):
                raise ValueError(f"A variance fraction n_components={k!r} needs "
                                 f"svd_solver 'full' or 'covariance_eigh', got {solver!r}.")
        elif k is None:
            if limit < 1:
                raise ValueError(f"svd_solver={solver!r} needs min(n_samples, n_features) "
                                 f">= 2, got {min(n, p)}.")
        elif solver in ("full", "covariance_eigh"):
            if k > min(n, p):  # scikit-learn's messages, word for word
                raise ValueError(f"n_components={k} must be between 0 and "
                                 f"min(n_samples, n_features)={min(n, p)} with "
                                 f"svd_solver={solver!r}")
        elif not 1 <= k <= min(n, p):
            raise ValueError(f"n_components={k} must be between 1 and "
                             f"min(n_samples, n_features)={min(n, p)} with "
                             f"svd_solver={solver!r}")
        elif k > limit:
            raise ValueError(f"n_components={k} must be strictly less than "
                             f"min(n_samples, n_features)={min(n, p)} with "
                             f"svd_solver={solver!r}")
        return solver

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None):
        """Fit the model with X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse CSR/CSC input (never densified) with ``svd_solver`` ``"arpack"``,
            ``"covariance_eigh"`` or ``"auto"`` (then ``"arpack"``, as scikit-learn).
        y : Ignored

        Returns
        -------
        self : PCA
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit the model with X and return its projection.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse CSR/CSC input (never densified) with ``svd_solver`` ``"arpack"``,
            ``"covariance_eigh"`` or ``"auto"`` (then ``"arpack"``, as scikit-learn).
        y : Ignored

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        U, X = self._fit(X)
        if U is None:  # covariance solver: no U, project X
            return self.transform(X)
        U = U[:, :self.n_components_]
        if self.whiten:
            U *= np.sqrt(X.shape[0] - 1)
        else:
            U *= self.singular_values_
        return U

    def _fit(self, X):
        check_params(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C",
                          accept_sparse=("csr", "csc"), ensure_min_samples=2,
                          ensure_all_finite=False)
        n, p = X.shape
        if sp.issparse(X):
            if self.svd_solver not in ("auto", "arpack", "covariance_eigh"):
                raise TypeError(
                    'PCA only support sparse inputs with the "arpack" and '
                    f'"covariance_eigh" solvers, while "{self.svd_solver}" was passed. '
                    "See TruncatedSVD for a possible alternative.")
            assert_all_finite(X.data, input_name="X")
        solver = self._choose_solver(n, p, sp.issparse(X))
        self._fit_svd_solver = solver
        if solver != "covariance_eigh":
            assert_all_finite(X, input_name="X")
        # Data so large (or small) that its squares overflow (underflow) is fitted
        # divided by a power of two (exact); the components and ratios do not change,
        # the mean and singular values scale back by 2**e, the variances by 4**e (inf
        # where the true value exceeds the float range).
        rescaled, e = needs_rescaling(X)
        Xw = rescale(X)[0] if rescaled else X
        self._exponent = e if rescaled else 0
        if solver in ("full", "covariance_eigh"):
            U = self._fit_full(Xw, solver)
        else:
            U = self._fit_truncated(Xw, solver)
        if rescaled:
            with np.errstate(over="ignore"):
                self.mean_ = np.ldexp(self.mean_, e).astype(self.mean_.dtype)
                self.singular_values_ = np.ldexp(self.singular_values_, e).astype(
                    self.singular_values_.dtype)
                self.explained_variance_ = np.ldexp(self.explained_variance_, 2 * e).astype(
                    self.explained_variance_.dtype)
                self.noise_variance_ = float(np.ldexp(self.noise_variance_, 2 * e))
        self.n_samples_ = n
        return U, X

    def _fit_full(self, X, solver):
        n, p = X.shape
        dtype = X.dtype
        if solver == "full":
            mean = X.mean(axis=0)
            Xc = X - mean if self.copy else X.__isub__(mean)
            U, S, Vt = linalg.svd(Xc, full_matrices=False, check_finite=False)
            explained = S**2 / (n - 1)
        else:
            mean, C = (sparse_centred_covariance(X) if sp.issparse(X)
                       else centred_covariance(X, self.n_jobs))
            evals, evecs = linalg.eigh(C, check_finite=False)
            evals = np.maximum(evals[::-1], 0.0)
            explained = evals.astype(dtype)
            S = np.sqrt(evals * (n - 1)).astype(dtype)
            Vt = np.ascontiguousarray(evecs[:, ::-1].T, dtype=dtype)
            mean = mean.astype(dtype)
            U = None
        U, Vt = flip_rows(U, Vt)
        total = explained.sum()
        ratio = explained / total if total > 0 else np.zeros_like(explained)
        k = self.n_components
        if k is None:
            k = min(n, p)
        elif isinstance(k, str):  # "mle"
            k = _minka_dimension(explained.astype(np.float64), n, self._exponent)
        elif not isinstance(k, numbers.Integral):  # variance fraction
            k = int(np.searchsorted(np.cumsum(ratio), k, side="right") + 1)
            k = min(k, min(n, p))
        k = int(k)
        self.noise_variance_ = (float(explained[k:].mean()) if k < min(n, p) else 0.0)
        self._store(mean, Vt[:k], explained[:k], ratio[:k], S[:k], k)
        return U

    def _fit_truncated(self, X, solver):
        n, p = X.shape
        k = min(n, p) - (1 if solver == "arpack" else 0)
        k = k if self.n_components is None else int(self.n_components)
        rng = check_random_state(self.random_state)
        if sp.issparse(X):  # arpack (the solvers that accept sparse input)
            mean, total, Xc = _implicitly_centred(X)
            U, S, Vt = arpack_svd(Xc, k, tol=self.tol, random_state=rng)
            U, Vt = flip_rows(U, Vt)
            self._store_truncated(mean, U, S, Vt, total, n, p, k)
            return U
        mean = X.mean(axis=0)
        Xc = X - mean
        if solver == "arpack":
            U, S, Vt = arpack_svd(Xc, k, tol=self.tol, random_state=rng)
        else:
            U, S, Vt = randomized_svd(
                Xc, k, n_oversamples=self.n_oversamples, n_iter=self.iterated_power,
                power_iteration_normalizer=self.power_iteration_normalizer,
                random_state=rng)
        U, Vt = flip_rows(U, Vt)
        total = float(np.einsum("ij,ij->", Xc, Xc, dtype=np.float64)) / (n - 1)
        self._store_truncated(mean, U, S, Vt, total, n, p, k)
        return U

    def _store_truncated(self, mean, U, S, Vt, total, n, p, k):
        explained = S**2 / (n - 1)
        ratio = explained / total if total > 0 else np.zeros_like(explained)
        rest = min(n, p) - k
        self.noise_variance_ = (max(total - float(explained.sum()), 0.0) / rest
                                if rest > 0 else 0.0)
        self._store(mean, Vt, explained, ratio, S, k)

    def _store(self, mean, components, explained, ratio, singular, k):
        dtype = components.dtype
        self.mean_ = np.asarray(mean, dtype=dtype)
        self.components_ = np.ascontiguousarray(components)
        self.explained_variance_ = np.asarray(explained, dtype=dtype).copy()
        self.explained_variance_ratio_ = np.asarray(ratio, dtype=dtype).copy()
        self.singular_values_ = np.asarray(singular, dtype=dtype).copy()
        self.n_components_ = k

    # ------------------------------------------------------------------ using the model
    def _scale(self):
        scale = np.sqrt(self.explained_variance_)
        return np.maximum(scale, np.finfo(scale.dtype).eps)

    def transform(self, X):
        """Project X on the principal axes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            CSR or CSC (never densified: ``X @ components_.T`` minus the projected
            mean).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            Same float dtype as the fitted model.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False,
                          accept_sparse=("csr", "csc"))
        X_new = np.asarray(X @ self.components_.T)
        X_new -= self.mean_ @ self.components_.T
        if self.whiten:
            X_new /= self._scale()
        return X_new

    def inverse_transform(self, X):
        """Map projections back to the input space (exact when no component was
        dropped).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = np.asarray(X)
        if self.whiten:
            return X @ (self._scale()[:, None] * self.components_) + self.mean_
        return X @ self.components_ + self.mean_

    def get_covariance(self):
        """Data covariance under the probabilistic PCA model:
        ``components_.T diag(explained_variance_ - noise) components_ + noise I``.

        Returns
        -------
        cov : ndarray of shape (n_features, n_features)
        """
        check_is_fitted(self)
        W = self.components_
        diff = np.maximum(self.explained_variance_ - self.noise_variance_, 0.0)
        cov = (W.T * diff) @ W
        cov.flat[:: cov.shape[0] + 1] += self.noise_variance_
        return cov

    def get_precision(self):
        """Inverse of :meth:`get_covariance` (a pseudo-inverse if it is singular).

        Returns
        -------
        precision : ndarray of shape (n_features, n_features)
        """
        return linalg.pinvh(self.get_covariance())

    def score_samples(self, X):
        """Log-likelihood of each sample under the probabilistic PCA model (Tipping &
        Bishop).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ll : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        Xr = X - self.mean_
        precision = self.get_precision()
        sign, logdet = np.linalg.slogdet(precision)
        logdet = logdet if sign > 0 else -np.inf
        ll = -0.5 * np.sum(Xr * (Xr @ precision), axis=1)
        return ll - 0.5 * (X.shape[1] * log(2.0 * np.pi) - logdet)

    def score(self, X, y=None):
        """Average log-likelihood of the samples (:meth:`score_samples`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        ll : float
        """
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.svd_solver in ("auto", "arpack", "covariance_eigh")
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
