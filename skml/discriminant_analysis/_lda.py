"""Linear discriminant analysis (Definition 2.35, Remark 2.21)."""
import numbers
import warnings

import numpy as np
from scipy import linalg
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.covariance import ledoit_wolf
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.decomposition._scaling import rescale
from skml.linear_model._base import LinearClassifierProbaMixin
from skml.utils import HasMethods, Interval, StrOptions, check_params, store_init_params

__all__ = ["LinearDiscriminantAnalysis"]


def _covariance(X, shrinkage=None, estimator=None):
    """Covariance of the rows of X (``ddof=0``): empirical, Ledoit–Wolf (``"auto"``, on
    standardised features, then scaled back), a fixed shrinkage towards
    ``trace/p * I``, or whatever ``estimator.fit(X).covariance_`` gives."""
    if estimator is not None:
        estimator.fit(X)
        if not hasattr(estimator, "covariance_"):
            raise ValueError(f"{type(estimator).__name__} has no covariance_ attribute "
                             "after fit.")
        return np.atleast_2d(estimator.covariance_)
    Xc = X - X.mean(axis=0)
    if isinstance(shrinkage, str):  # "auto"
        scale = Xc.std(axis=0)
        scale[scale == 0] = 1.0
        S = ledoit_wolf(Xc / scale, assume_centered=True)[0]
        return scale[:, None] * S * scale[None, :]
    S = np.atleast_2d(Xc.T @ Xc / X.shape[0])
    if shrinkage:
        mu = np.trace(S) / S.shape[0]
        S = (1.0 - shrinkage) * S
        S.flat[:: S.shape[0] + 1] += shrinkage * mu
    return S


class LinearDiscriminantAnalysis(ClassNamePrefixFeaturesOutMixin, LinearClassifierProbaMixin,
                                 TransformerMixin, BaseEstimator):
    """Linear discriminant analysis: Gaussian classes with a shared covariance.

    As a classifier, each class k is a Gaussian ``N(mu_k, Sigma)`` with a common
    covariance, so the log-posterior is linear in x: ``x^T Sigma^{-1} mu_k -
    1/2 mu_k^T Sigma^{-1} mu_k + log pi_k``. As a transformer (Definition 2.35), X is
    projected on the directions that maximise between-class over within-class variance
    (Fisher's criterion), at most ``n_classes - 1`` of them.

    Solvers:

    * ``"svd"`` (default): no covariance matrix is formed. The within-class centred
      data are scaled per feature and decomposed by SVD, which whitens the within-class
      scatter (directions with singular value ``<= tol`` are dropped, so collinear
      features are fine); a second SVD of the whitened, prior-weighted class means gives
      the discriminant directions. No shrinkage.
    * ``"eigen"``: the generalised symmetric eigenproblem ``S_b v = lambda S_w v`` with
      ``S_w`` the prior-weighted within-class covariance and ``S_b = S_t - S_w``.
      Supports ``shrinkage``.
    * ``"lsqr"``: solves ``Sigma w_k = mu_k`` for the classifier only (no
      ``transform``). Supports ``shrinkage``.

    The arithmetic follows scikit-learn's (same scalings, so ``transform`` and the
    predictions agree with ``sklearn.discriminant_analysis.LinearDiscriminantAnalysis``).

    Parameters
    ----------
    solver : {"svd", "eigen", "lsqr"}, default="svd"
        See above.
    shrinkage : "auto", float in [0, 1] or None, default=None
        Covariance shrinkage for ``"eigen"`` and ``"lsqr"``: ``"auto"`` picks the
        Ledoit–Wolf intensity (on standardised features); a float ``a`` uses
        ``(1 - a) S + a trace(S)/p I``.
    priors : array-like of shape (n_classes,), default=None
        Class prior probabilities (renormalised with a warning if they do not sum to
        1); ``None``: the class frequencies.
    n_components : int, default=None
        Dimensions of ``transform`` (at most ``min(n_classes - 1, n_features)``, the
        default).
    store_covariance : bool, default=False
        Also compute ``covariance_`` with the ``"svd"`` solver (the other solvers always
        do).
    tol : float, default=1e-4
        Rank threshold of the ``"svd"`` solver on singular values.
    covariance_estimator : estimator, default=None
        An object with ``fit`` and a ``covariance_`` attribute (e.g. from
        ``sklearn.covariance``) used instead of the empirical covariance by ``"eigen"``
        and ``"lsqr"``; exclusive with ``shrinkage``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_classes, n_features)
        Weights of the linear decision function (one row for two classes).
    intercept_ : ndarray of shape (n_classes,) or (1,)
        Intercepts of the decision function.
    covariance_ : ndarray of shape (n_features, n_features)
        Prior-weighted within-class covariance (not with ``"svd"`` unless
        ``store_covariance``).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Share of the between-class variance along each discriminant direction
        (``"svd"`` and ``"eigen"``).
    means_ : ndarray of shape (n_classes, n_features)
        Class means.
    priors_ : ndarray of shape (n_classes,)
        Class priors.
    scalings_ : ndarray of shape (n_features, rank)
        Discriminant directions: ``transform`` projects on them.
    xbar_ : ndarray of shape (n_features,)
        Prior-weighted overall mean (``"svd"``).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Columns seen in ``fit``.

    Raises
    ------
    ValueError
        If y has a single class or as many samples as classes, ``priors`` do not match
        the classes, ``n_components`` exceeds ``min(n_classes - 1, n_features)``, or
        ``covariance_estimator`` is combined with ``"svd"`` or ``shrinkage``.
    NotImplementedError
        With ``shrinkage`` and the ``"svd"`` solver, or ``transform`` with ``"lsqr"``.

    Notes
    -----
    The model is fitted to X centred and divided by a power of two (exactly), then
    expressed for X: data far from the origin (1e8 +- 1) or at extreme magnitudes gives
    the posteriors of the plain data (scikit-learn's lsqr/eigen solvers lose them at an
    offset of 1e8). ``predict`` and ``predict_proba`` use the centred scores;
    ``coef_``, ``intercept_`` and ``decision_function`` are scikit-learn's (with
    ``"lsqr"``/``"eigen"`` and more than two classes they differ from the centred scores
    by a term common to all classes).

    References
    ----------
    R. A. Fisher, The use of multiple measurements in taxonomic problems, Annals of
    Eugenics 7 (1936). O. Ledoit and M. Wolf, A well-conditioned estimator for
    large-dimensional covariance matrices (2004). H. Dai, "Note on Machine Learning"
    (preprint), Definition 2.35 and Remark 2.21.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skml.discriminant_analysis import LinearDiscriminantAnalysis
    >>> X, y = load_iris(return_X_y=True)
    >>> lda = LinearDiscriminantAnalysis().fit(X, y)
    >>> lda.transform(X).shape, round(lda.score(X, y), 2)
    ((150, 2), 0.98)
    """

    def __init__(self, solver="svd", shrinkage=None, priors=None, n_components=None,
                 store_covariance=False, tol=1e-4, covariance_estimator=None):
        store_init_params(self, locals())

    # ------------------------------------------------------------------ fitting
    _predict_sparse = False  # dense input only, as scikit-learn's

    _parameter_constraints = {
        "solver": [StrOptions({"svd", "eigen", "lsqr"})],
        "shrinkage": [StrOptions({"auto"}), Interval(numbers.Real, 0, 1), None],
        "priors": ["array-like", None],
        "n_components": [Interval(numbers.Integral, 1, None), None],
        "store_covariance": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None)],
        "covariance_estimator": [HasMethods("fit"), None],
    }

    def _check_params(self):
        check_params(self)
        if self.shrinkage is not None and self.solver == "svd":
            raise NotImplementedError("shrinkage is not supported by the 'svd' "
                                      "solver; use 'eigen' or 'lsqr'.")
        if self.covariance_estimator is not None:
            if self.solver == "svd":
                raise ValueError("covariance_estimator is not supported by the 'svd' "
                                 "solver; use 'eigen' or 'lsqr'.")
            if self.shrinkage is not None and self.shrinkage != 0:
                raise ValueError("Set only one of covariance_estimator and shrinkage.")

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : LinearDiscriminantAnalysis
        """
        self._check_params()
        X, y = validate_data(self, X, y, ensure_min_samples=2,
                             dtype=[np.float64, np.float32])
        # Fit on X centred and divided by a power of two, then map the model back: the
        # class means' offset no longer cancels in the intercepts (data at 1e8 +- 1), and
        # squares neither overflow (|x| ~ 1e160) nor underflow. A user's covariance
        # estimator sees the data as given (its parameters may have units).
        if self.covariance_estimator is None:
            X, shift, exponent = rescale(X, centre=True)
        else:
            shift, exponent = None, 0
        self._fit_normalised(X, y)
        self._to_original_units(shift, exponent)
        return self

    def _to_original_units(self, shift, e):
        """The model fitted to ``(X - shift) * 2**-e``, expressed for X.

        The fitted scores ``(X - shift) @ coef.T + intercept`` are kept for ``predict``
        and ``predict_proba`` (no cancellation however far the data lies from the
        origin). ``coef_`` and ``intercept_`` are scikit-learn's: the same scores up to
        a term common to all classes (none for two classes, whose score is the log-odds)
        with the ``"lsqr"`` and ``"eigen"`` solvers, whose coefficients ``Sigma^-1 mu_k``
        depend on the origin."""
        dtype = self.means_.dtype
        cov_n = getattr(self, "covariance_", None)
        with np.errstate(over="ignore", under="ignore"):
            self.means_ = np.ldexp(self.means_, e).astype(dtype)
            if hasattr(self, "xbar_"):
                self.xbar_ = np.ldexp(self.xbar_, e).astype(dtype)
            if hasattr(self, "covariance_"):
                self.covariance_ = np.ldexp(self.covariance_, 2 * e)
            if hasattr(self, "scalings_"):
                self.scalings_ = np.ldexp(self.scalings_, -e)
            self.coef_ = np.ldexp(self.coef_, -e).astype(self.coef_.dtype)
        self._scores = (shift, self.coef_.copy(), self.intercept_.copy())
        if shift is None:
            return
        self.means_ += shift
        if hasattr(self, "xbar_"):
            self.xbar_ += shift
        c = shift.astype(np.float64)
        coef = self.coef_.astype(np.float64)
        intercept = self.intercept_ - coef @ c
        if self.solver != "svd" and len(self.classes_) > 2:
            # the class-independent term: + x . Sigma^-1 c - c . Sigma^-1 c / 2
            if self.solver == "lsqr":
                c_n = np.ldexp(c, -e)
                a = np.ldexp(linalg.lstsq(cov_n, c_n)[0], -e)
            else:
                a = self.scalings_ @ (self.scalings_.T @ c)
            coef = coef + a
            intercept = intercept - 0.5 * (c @ a)
        self.coef_ = coef.astype(self.coef_.dtype)
        self.intercept_ = np.asarray(intercept).astype(self.intercept_.dtype)

    def _fitted_scores(self, X):
        """The class scores as fitted (see ``_to_original_units``)."""
        shift, coef, intercept = self._scores
        Xc = X if shift is None else X - shift
        return Xc @ coef.T + intercept

    def _fit_normalised(self, X, y):
        check_classification_targets(y)
        self.classes_, y_idx, counts = np.unique(y, return_inverse=True, return_counts=True)
        n, p = X.shape
        n_classes = self.classes_.size
        if n_classes < 2:
            raise ValueError("LinearDiscriminantAnalysis needs samples of at least 2 "
                             "classes; got 1 class.")
        if n == n_classes:
            raise ValueError("The number of samples must be more than the number of "
                             "classes.")
        if self.priors is None:
            priors = counts / n
        else:
            priors = np.asarray(self.priors, dtype=np.float64).ravel()
            if priors.size != n_classes:
                raise ValueError(f"priors has {priors.size} entries for {n_classes} "
                                 "classes.")
            if np.any(priors < 0):
                raise ValueError("priors must be non-negative.")
            if abs(priors.sum() - 1.0) > 1e-5:
                warnings.warn("The priors do not sum to 1. Renormalizing.", UserWarning)
                priors = priors / priors.sum()
        self.priors_ = priors.astype(X.dtype)
        max_components = min(n_classes - 1, p)
        if self.n_components is not None and self.n_components > max_components:
            raise ValueError(f"n_components={self.n_components} cannot be larger than "
                             f"min(n_features, n_classes - 1)={max_components}.")
        self._max_components = (max_components if self.n_components is None
                                else int(self.n_components))
        means = np.zeros((n_classes, p), dtype=X.dtype)
        np.add.at(means, y_idx, X)
        self.means_ = means / counts[:, None]
        if self.solver == "svd":
            self._solve_svd(X, y_idx)
        else:
            self.covariance_ = self._within_covariance(X, y_idx)
            if self.solver == "eigen":
                self._solve_eigen(X)
            else:
                self.coef_ = linalg.lstsq(self.covariance_, self.means_.T)[0].T
                self.intercept_ = (-0.5 * np.sum(self.means_ * self.coef_, axis=1)
                                   + np.log(self.priors_))
        if n_classes == 2:  # one decision function: log-odds of classes_[1]
            self.coef_ = (self.coef_[1] - self.coef_[0])[None, :].astype(X.dtype)
            self.intercept_ = np.atleast_1d(self.intercept_[1] - self.intercept_[0]).astype(
                X.dtype)
        self._n_features_out = self._max_components

    def _within_covariance(self, X, y_idx, shrinkage="param"):
        shrinkage = self.shrinkage if shrinkage == "param" else shrinkage
        estimator = self.covariance_estimator if shrinkage is None else None
        cov = np.zeros((X.shape[1], X.shape[1]))
        for k, prior in enumerate(self.priors_):
            cov += prior * _covariance(X[y_idx == k], shrinkage, estimator)
        return cov

    def _solve_svd(self, X, y_idx):
        n = X.shape[0]
        n_classes = self.classes_.size
        if self.store_covariance:
            self.covariance_ = self._within_covariance(X, y_idx, shrinkage=None)
        # within-class centred rows, grouped by class
        Xc = np.concatenate([X[y_idx == k] - self.means_[k] for k in range(n_classes)])
        self.xbar_ = self.priors_ @ self.means_
        std = Xc.std(axis=0)
        std[std == 0] = 1.0
        # 1) whiten the within-class scatter: W maps x to coordinates where it is I
        _, S, Vt = linalg.svd(np.sqrt(1.0 / n) * (Xc / std), full_matrices=False)
        rank = int(np.sum(S > self.tol))
        W = (Vt[:rank] / std).T / S[:rank]
        # 2) principal axes of the whitened, prior-weighted class means
        weight = 1.0 / (n_classes - 1)
        M = (np.sqrt(n * self.priors_ * weight) * (self.means_ - self.xbar_).T).T @ W
        _, S, Vt = linalg.svd(M, full_matrices=False)
        self.explained_variance_ratio_ = (S**2 / np.sum(S**2))[: self._max_components]
        rank = int(np.sum(S > self.tol * S[0]))
        self.scalings_ = W @ Vt.T[:, :rank]
        coef = (self.means_ - self.xbar_) @ self.scalings_
        self.intercept_ = -0.5 * np.sum(coef**2, axis=1) + np.log(self.priors_)
        self.coef_ = coef @ self.scalings_.T
        self.intercept_ -= self.xbar_ @ self.coef_.T

    def _solve_eigen(self, X):
        Sw = self.covariance_
        estimator = self.covariance_estimator if self.shrinkage is None else None
        Sb = _covariance(X, self.shrinkage, estimator) - Sw
        evals, evecs = linalg.eigh(Sb, Sw)
        self.explained_variance_ratio_ = np.sort(evals / np.sum(evals))[::-1][
            : self._max_components]
        self.scalings_ = evecs[:, np.argsort(evals)[::-1]]
        self.coef_ = (self.means_ @ self.scalings_) @ self.scalings_.T
        self.intercept_ = (-0.5 * np.sum(self.means_ * self.coef_, axis=1)
                           + np.log(self.priors_))

    # ------------------------------------------------------------------ using the model
    def transform(self, X):
        """Project X on the discriminant directions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            With ``"svd"``, fewer columns if the between-class rank is smaller.
        """
        if self.solver == "lsqr":
            raise NotImplementedError("transform is not available with the 'lsqr' solver "
                                      "(use 'svd' or 'eigen').")
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        if self.solver == "svd":
            X_new = (X - self.xbar_) @ self.scalings_
        else:
            X_new = X @ self.scalings_
        return X_new[:, : self._max_components]

    def _predict_scores(self, X):
        """The class scores as fitted (see ``_to_original_units``): ``predict`` and the
        probabilities use them; ``decision_function`` is the same in original units."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self._predict_dtype)
        scores = self._fitted_scores(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, as scikit-learn computes it: a probability
        that rounds to 0 gives ``log`` of the smallest normal float (about -708 in
        float64), not ``-inf``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        proba = self.predict_proba(X)
        proba[proba == 0.0] = np.finfo(proba.dtype).smallest_normal
        return np.log(proba)
