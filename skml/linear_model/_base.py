"""Least squares (``LinearRegression``), ridge regression (``Ridge``) and the helpers the
linear models share: magnitude scaling, centring for the intercept, prediction."""
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from scipy import linalg, optimize
from scipy.sparse import linalg as sparse_linalg
from scipy.special import expit, log_expit, logsumexp, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.utils import Interval, StrOptions, check_params, check_sample_weight
from skml.utils import store_init_params

__all__ = ["LinearRegression", "Ridge"]

# Data whose largest |entry| lies in this range is used as given. Outside it, products such
# as X^T X, squared norms or kernel values overflow (|x| ~ 1e154 and beyond) or underflow
# into subnormals (|x| ~ 1e-154 and below), so the estimators work on X / s for a power of
# two s (exact: only the exponent changes) and map the result back.
_SAFE_MAGNITUDE = (1e-100, 1e100)


def magnitude_scale(X):
    """A power of two ``s`` with ``max |X| / s`` in ``[1, 2)`` when ``max |X|`` is outside
    ``[1e-100, 1e100]``, else ``1.0`` (also for all-zero or empty ``X``).

    Dividing by ``s`` changes only the exponents, so it is exact (except for entries that
    fall into the subnormal range, i.e. more than ~1e-308 times smaller than the largest).
    """
    if getattr(X, "size", 1) == 0:
        return 1.0
    if hasattr(X, "tocsr") and hasattr(X, "data"):  # a scipy.sparse matrix
        values = X.data
        if values.size == 0:
            return 1.0
        amax = max(float(values.max()), -float(values.min()))
    else:
        amax = max(float(np.max(X)), -float(np.min(X)))
    if amax == 0.0 or not np.isfinite(amax) or _SAFE_MAGNITUDE[0] <= amax <= _SAFE_MAGNITUDE[1]:
        return 1.0
    return float(np.ldexp(1.0, int(np.frexp(amax)[1]) - 1))


def progress(iterable, *, total, desc, verbose):
    """``iterable``, shown as a tqdm progress bar of ``total`` steps when ``verbose``
    (one printed line per step when tqdm is not installed), silently otherwise."""
    if not verbose:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        def lines():
            for i, item in enumerate(iterable, 1):
                yield item
                print(f"[{desc}] {i}/{total}", flush=True)
        return lines()
    return tqdm(iterable, total=total, desc=desc)


def _scaled_penalty(alpha, scale, power):
    """``alpha / scale**power`` without forming ``scale**power`` (it may overflow)."""
    out = alpha
    for _ in range(power):
        out = out / scale
    return out


def _preprocess(X, y, sample_weight, fit_intercept):
    """Scale ``X`` by :func:`magnitude_scale`, then centre ``X`` and ``y`` (weighted) when
    fitting an intercept.

    Returns ``(Xc, yc, X_offset, y_offset, x_scale)``: new arrays (the inputs are never
    modified), ``X_offset`` in the units of ``Xc`` (zeros without intercept). A model
    ``w'`` fitted on ``Xc`` has ``coef = w' / x_scale`` and intercept
    ``y_offset - X_offset @ w'``.
    """
    x_scale = magnitude_scale(X)
    Xs = X / x_scale if x_scale != 1.0 else X
    y = np.asarray(y, dtype=np.float64)
    if fit_intercept:
        sw = sample_weight / sample_weight.sum()
        X_offset = sw @ Xs
        y_offset = sw @ y
        return Xs - X_offset, y - y_offset, X_offset, y_offset, x_scale
    X_offset = np.zeros(X.shape[1], dtype=Xs.dtype)
    y_offset = np.zeros(y.shape[1:]) if y.ndim > 1 else 0.0
    return np.array(Xs, copy=True), y.copy(), X_offset, y_offset, x_scale


def _preprocess_sparse(X, y, sample_weight, fit_intercept):
    """The sparse counterpart of :func:`_preprocess`: centring stays implicit.

    Returns ``(op, yc, X_offset, y_offset, x_scale)`` where ``op`` is a
    ``LinearOperator`` for ``diag(sqrt(w)) (X / s - 1 X_offset^T)`` (``X`` is never
    densified or copied, except its stored values when ``s != 1``) and ``yc`` is
    ``sqrt(w) (y - y_offset)``.
    """
    x_scale = magnitude_scale(X)
    Xs = X / x_scale if x_scale != 1.0 else X
    y = np.asarray(y, dtype=np.float64)
    root = np.sqrt(sample_weight)
    if fit_intercept:
        w = sample_weight / sample_weight.sum()
        X_offset = np.asarray(Xs.T @ w).ravel()
        y_offset = w @ y
    else:
        X_offset = np.zeros(X.shape[1])
        y_offset = np.zeros(y.shape[1:]) if y.ndim > 1 else 0.0
    yc = (y - y_offset) * (root if y.ndim == 1 else root[:, None])
    return _centered_operator(Xs, X_offset, root), yc, X_offset, y_offset, x_scale


def _centered_operator(Xs, offset, root):
    """``diag(root) (Xs - 1 offset^T)`` as a ``LinearOperator`` (products only)."""
    n, p = Xs.shape

    def matmat(V):
        V = np.asarray(V)
        out = np.asarray(Xs @ V) - (offset @ V)
        return out * (root if out.ndim == 1 else root[:, None])

    def rmatmat(U):
        U = np.asarray(U)
        RU = U * (root if U.ndim == 1 else root[:, None])
        return np.asarray(Xs.T @ RU) - (np.multiply.outer(offset, RU.sum(axis=0))
                                        if RU.ndim > 1 else offset * RU.sum())

    return sparse_linalg.LinearOperator(
        (n, p), matvec=lambda v: matmat(np.ravel(v)), rmatvec=lambda u: rmatmat(np.ravel(u)),
        matmat=matmat, rmatmat=rmatmat, dtype=np.float64)


def _check_finite_fit(coef, what):
    if not np.all(np.isfinite(coef)):
        raise ValueError(
            f"{what} produced non-finite coefficients: the input data contain values too "
            "large or too small for float64 arithmetic at this penalty. Rescale X and y "
            "(e.g. with StandardScaler)."
        )


class _LinearScoresMixin:
    """``X @ coef_.T + intercept_`` for a fitted linear model. Each model says what its
    prediction methods accept: the dtypes (the first is the one others are converted
    to) and the sparse formats (the first is the one others are converted to; ``False``:
    none), which also set the ``sparse`` input tag."""

    _predict_dtype = (np.float64, np.float32)
    _predict_sparse = ("csr", "csc", "coo")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = bool(self._predict_sparse)
        return tags

    def _linear_scores(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self._predict_dtype,
                          accept_sparse=self._predict_sparse)
        return safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_


class _LinearPredictorMixin(_LinearScoresMixin):
    """``predict`` for fitted ``coef_`` (``(n_features,)`` or ``(n_targets, n_features)``)
    and ``intercept_``."""

    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)

        Raises
        ------
        NotFittedError
            If the model is not fitted.
        """
        return np.asarray(self._linear_scores(X))

    def _set_coef(self, coef_scaled, X_offset, y_offset, x_scale, what):
        """``coef_`` and ``intercept_`` from the coefficients fitted on the scaled,
        centred data (see :func:`_preprocess`)."""
        coef = coef_scaled / x_scale if x_scale != 1.0 else coef_scaled
        _check_finite_fit(coef, what)
        self.coef_ = coef
        if self.fit_intercept:
            self.intercept_ = y_offset - X_offset @ coef_scaled.T
        else:
            self.intercept_ = 0.0 if coef.ndim == 1 else np.zeros(coef.shape[0])


class LinearClassifierMixin(_LinearScoresMixin, ClassifierMixin):
    """``decision_function`` and ``predict`` of a fitted linear classifier: ``coef_`` of
    shape ``(1, n_features)`` (two classes: the scores of ``classes_[1]``) or
    ``(n_classes, n_features)``, ``intercept_`` and ``classes_``. Shared by
    LogisticRegression, LinearSVC and LinearDiscriminantAnalysis."""

    _predict_sparse = "csr"

    def decision_function(self, X):
        """Confidence scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Sparse matrices where the model accepts them (see its Notes).

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            With two classes, the score of ``classes_[1]`` (positive means
            ``classes_[1]``).

        Raises
        ------
        NotFittedError
            If the model is not fitted.
        """
        scores = self._linear_scores(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def _predict_scores(self, X):
        """The scores behind ``predict`` and the probabilities, shaped as
        :meth:`decision_function`'s (a model may compute them another way)."""
        return self.decision_function(X)

    def predict(self, X):
        """The class of largest score (two classes: ``classes_[1]`` where the score is
        positive).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)

        Raises
        ------
        NotFittedError
            If the model is not fitted.
        """
        scores = self._predict_scores(X)
        idx = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]


class LinearClassifierProbaMixin(LinearClassifierMixin):
    """:class:`LinearClassifierMixin` whose scores are log-odds (two classes) or
    log-posteriors up to a constant: ``predict_proba`` is their sigmoid or softmax."""

    def predict_proba(self, X):
        """Class probabilities: the sigmoid of the score (two classes) or the softmax of
        the scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        scores = self._predict_scores(X)
        if scores.ndim == 1:
            p1 = expit(scores)
            return np.column_stack([1.0 - p1, p1])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably from the scores (no
        ``log(0)`` for confident predictions).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self._predict_scores(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return scores - logsumexp(scores, axis=1, keepdims=True)


def _validate_regression_data(est, X, y, *, reset=True):
    X, y = validate_data(est, X, y, reset=reset, multi_output=True, y_numeric=True,
                         dtype=np.float64, accept_sparse=["csr", "csc", "coo"])
    if y.ndim == 2 and y.shape[1] == 0:
        raise ValueError("y has no target column.")
    # integer (or bool) targets become float64: every solver works in floating point
    return X, np.asarray(y, dtype=np.float64)


class LinearRegression(_LinearPredictorMixin, MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Ordinary least squares through the SVD (``scipy.linalg.lstsq``).

    Minimises ``||y - X w - b||^2`` (weighted by ``sample_weight``). The SVD solve of Remark
    1.14 of the notes returns the minimum-norm solution when ``X`` is rank-deficient (for
    example with duplicated or constant columns, or more features than samples), so a
    singular ``X`` never fails: ``rank_`` tells how many directions were determined.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Fit an intercept (the data are centred first; the intercept is not part of the
        minimum-norm choice, as in scikit-learn).
    copy_X : bool, default=True
        Kept for scikit-learn compatibility; ``X`` is never modified.
    tol : float, default=1e-6
        Precision of the iterative solver used for sparse ``X`` (``lsqr``'s ``atol`` and
        ``btol``, as in scikit-learn); dense data are solved directly.
    n_jobs : int, default=None
        Accepted for scikit-learn compatibility (it parallelises sparse multi-target
        problems there); skml solves the targets together, so it has no effect.
    positive : bool, default=False
        Constrain the coefficients to be non-negative (solved by ``scipy.optimize.nnls``).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    rank_ : int
        Rank of the (centred, weighted) ``X``; not set when ``positive=True``.
    singular_ : ndarray of shape (min(n_samples, n_features),)
        Singular values of the (centred, weighted) ``X``; not set when ``positive=True``.
    n_features_in_ : int

    Notes
    -----
    Sparse ``X`` (CSR, CSC or COO, used as is) is fitted by LSQR on the implicitly
    centred operator (``tol``), never densified; ``rank_`` and ``singular_`` are then not
    set.

    Raises
    ------
    ValueError
        For invalid parameters, NaN/infinite input, bad sample weights, or coefficients
        that overflow float64.

    References
    ----------
    C. L. Lawson and R. J. Hanson, "Solving Least Squares Problems", SIAM, 1995 (the SVD
    solution and NNLS). H. Dai, "Note on Machine Learning" (preprint), Remark 1.14.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.linear_model import LinearRegression
    >>> X = np.array([[1.0, 1.0], [1.0, 2.0], [2.0, 2.0], [2.0, 3.0]])
    >>> y = X @ np.array([1.0, 2.0]) + 3.0
    >>> reg = LinearRegression().fit(X, y)
    >>> np.round(reg.coef_, 6), round(float(reg.intercept_), 6)
    (array([1., 2.]), 3.0)
    """

    _parameter_constraints = {
        "fit_intercept": ["boolean"],
        "copy_X": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_jobs": ["n_jobs"],
        "positive": ["boolean"],
    }

    def __init__(self, *, fit_intercept=True, copy_X=True, tol=1e-6, n_jobs=None,
                 positive=False):
        store_init_params(self, locals())

    def fit(self, X, y, sample_weight=None):
        """Fit the least-squares model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LinearRegression
        """
        check_params(self)
        X, y = _validate_regression_data(self, X, y)
        sw = check_sample_weight(sample_weight, X.shape[0])
        if sp.issparse(X):
            return self._fit_sparse(X, y, sw)
        Xc, yc, X_offset, y_offset, x_scale = _preprocess(X, y, sw, self.fit_intercept)
        root = np.sqrt(sw)
        Xc *= root[:, None]
        yc *= root if yc.ndim == 1 else root[:, None]
        if self.positive:
            Y = yc.reshape(len(yc), -1)
            coef = np.column_stack([optimize.nnls(Xc, Y[:, k])[0] for k in range(Y.shape[1])])
            coef = coef.ravel() if yc.ndim == 1 else coef.T
            for name in ("rank_", "singular_"):
                self.__dict__.pop(name, None)
        else:
            cond = max(Xc.shape) * np.finfo(Xc.dtype).eps
            coef, _, rank, sv = linalg.lstsq(Xc, yc, cond=cond, lapack_driver="gelsd")
            coef = coef.T
            self.rank_ = int(rank)
            with np.errstate(over="ignore"):  # (inf when X's are beyond float max)
                self.singular_ = sv * x_scale
        self._set_coef(coef, X_offset, y_offset, x_scale, "LinearRegression")
        return self

    def _fit_sparse(self, X, y, sw):
        """Sparse ``X``: LSQR (``atol = btol = tol``, as scikit-learn) on the implicitly
        centred, weighted operator; bounded least squares (``lsq_linear`` with LSMR)
        for ``positive=True``."""
        op, yc, X_offset, y_offset, x_scale = _preprocess_sparse(X, y, sw,
                                                                 self.fit_intercept)
        Y = yc.reshape(len(yc), -1)
        coef = np.empty((Y.shape[1], X.shape[1]))
        for k in range(Y.shape[1]):
            if self.positive:
                coef[k] = optimize.lsq_linear(op, Y[:, k], bounds=(0, np.inf),
                                              lsq_solver="lsmr", tol=max(self.tol, 1e-10)).x
            else:
                coef[k] = sparse_linalg.lsqr(op, Y[:, k], atol=self.tol, btol=self.tol)[0]
        for name in ("rank_", "singular_"):
            self.__dict__.pop(name, None)
        self._set_coef(coef[0] if y.ndim == 1 else coef, X_offset, y_offset, x_scale,
                       "LinearRegression")
        return self


class Ridge(_LinearPredictorMixin, MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Least squares with an L2 penalty (weight decay, Definition 3.48 of the notes).

    Minimises ``||y - X w - b||^2 + alpha * ||w||^2`` (the squared errors weighted by
    ``sample_weight``; the intercept ``b`` is not penalised), with scikit-learn's
    parameters, solver names and attributes.

    Parameters
    ----------
    alpha : float or array-like of shape (n_targets,), default=1.0
        Penalty strength (>= 0); one per target if an array. ``alpha=0`` is ordinary least
        squares, solved through the SVD when the system is singular.
    fit_intercept : bool, default=True
    copy_X : bool, default=True
        Kept for scikit-learn compatibility; ``X`` is never modified.
    max_iter : int, default=None
        Iteration limit of the iterative solvers (``None``: scipy's default for
        ``"lsqr"`` and ``"sparse_cg"``, 1000 for ``"sag"``/``"saga"``, 15000 for
        ``"lbfgs"``).
    tol : float, default=1e-4
        Precision of the iterative solvers: the relative residual of conjugate gradients
        (``"sparse_cg"``, ``"sag"``, ``"saga"``), ``atol``/``btol`` of ``lsqr``, the
        projected-gradient tolerance of ``"lbfgs"``; the direct solvers ignore it.
    solver : {"auto", "svd", "cholesky", "lsqr", "sparse_cg", "sag", "saga", "lbfgs"}, \
            default="auto"
        ``"cholesky"`` solves the primal or dual normal equations (falling back to the
        SVD when they are numerically singular); ``"svd"`` uses the SVD of ``X``;
        ``"lsqr"`` is :func:`scipy.sparse.linalg.lsqr` with damping ``sqrt(alpha)``;
        ``"sparse_cg"`` is conjugate gradients on the normal equations (on the dual
        system when there are more features than samples); ``"lbfgs"`` is L-BFGS-B, the
        only one for ``positive=True``. ``"auto"`` is ``"lbfgs"`` when ``positive``,
        else ``"cholesky"``. ``"sag"`` and ``"saga"`` are accepted: the ridge optimum is
        unique, and skml reaches it by conjugate gradients (deterministic, so
        ``random_state`` has no effect), where scikit-learn uses stochastic average
        gradients.
    positive : bool, default=False
        Constrain the coefficients to be >= 0 (``solver`` "auto" or "lbfgs").
    random_state : int, RandomState instance or None, default=None
        Accepted for scikit-learn compatibility (its "sag"/"saga" shuffle); unused.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        float32 for float32 ``X``, else float64.
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : None or ndarray of shape (n_targets,)
        Iterations per target for "lsqr", "sag" and "saga"; None for the others (as
        scikit-learn).
    solver_ : str
        The solver used.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Raises
    ------
    ValueError
        For invalid parameters, ``positive=True`` with a solver other than "auto" or
        "lbfgs", ``solver="lbfgs"`` without ``positive``, or bad sample weights.

    Notes
    -----
    Sparse ``X`` (CSR, CSC or COO) is never densified: with an intercept the centring
    stays implicit in a ``LinearOperator`` (solvers "lsqr", "sparse_cg", "sag"
    and "lbfgs"; "auto" is "sparse_cg"), without one "cholesky" forms the dense
    ``X^T X`` as scikit-learn does; "svd" refuses sparse input.

    Expected failure of scikit-learn's estimator checks:
    ``check_non_transformer_estimators_n_iter`` (``n_iter_`` is None for the direct
    solvers, as in scikit-learn, which declares the same).

    References
    ----------
    A. E. Hoerl and R. W. Kennard, "Ridge regression: biased estimation for nonorthogonal
    problems", Technometrics 12(1), 1970. C. C. Paige and M. A. Saunders, "LSQR: an
    algorithm for sparse linear equations and sparse least squares", ACM TOMS 8(1),
    1982. H. Dai, "Note on Machine Learning" (preprint), Definition 3.48.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.linear_model import Ridge
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> Ridge(alpha=1.0).fit(X, [0.0, 1.0, 2.0]).coef_
    array([0.66666667])
    """

    _parameter_constraints = {
        "alpha": [Interval(numbers.Real, 0, None, closed="left"), "array-like"],
        "fit_intercept": ["boolean"],
        "copy_X": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", "svd", "cholesky", "lsqr", "sparse_cg", "sag",
                               "saga", "lbfgs"})],
        "positive": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, max_iter=None,
                 tol=1e-4, solver="auto", positive=False, random_state=None):
        store_init_params(self, locals())

    def _alphas(self, n_targets):
        alpha = self.alpha
        if np.ndim(alpha) == 0:
            return np.full(n_targets, float(alpha))
        alpha = np.asarray(alpha, dtype=np.float64).ravel()
        if alpha.shape[0] not in (1, n_targets):
            raise ValueError(
                "Number of targets and number of penalties do not correspond: "
                f"{alpha.shape[0]} != {n_targets} (give one alpha, or one per target)."
            )
        if not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
            raise ValueError(f"alpha must be finite and >= 0, got {self.alpha!r}.")
        return np.broadcast_to(alpha, (n_targets,)).copy()

    def _resolve_solver(self, sparse=False):
        """The solver to run (scikit-learn's rules and messages)."""
        if self.solver == "lbfgs" and not self.positive:
            raise ValueError(
                "'lbfgs' solver can be used only when positive=True. Please use another "
                "solver.")
        if self.positive:
            if self.solver not in ("auto", "lbfgs"):
                raise ValueError(
                    f"solver='{self.solver}' does not support positive fitting. Please set "
                    "the solver to 'auto' or 'lbfgs', or set `positive=False`")
            return "lbfgs"
        if sparse and self.fit_intercept:
            if self.solver not in ("auto", "lbfgs", "lsqr", "sag", "sparse_cg"):
                raise ValueError(
                    f"solver='{self.solver}' does not support fitting the intercept on "
                    "sparse data. Please set the solver to 'auto' or 'lsqr', 'sparse_cg', "
                    "'sag', 'lbfgs' or set `fit_intercept=False`")
            return "sparse_cg" if self.solver == "auto" else self.solver
        if sparse and self.solver == "auto":
            return "sparse_cg"
        return "cholesky" if self.solver == "auto" else self.solver

    def fit(self, X, y, sample_weight=None):
        """Fit the ridge model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : float or array-like of shape (n_samples,), default=None

        Returns
        -------
        self : Ridge

        Raises
        ------
        ValueError
            See the class docstring.
        """
        check_params(self)
        if sample_weight is not None and np.asarray(sample_weight).ndim > 1:
            raise ValueError("Sample weights must be 1D array or scalar")
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                             dtype=[np.float64, np.float32],
                             accept_sparse=["csr", "csc", "coo"])
        sparse = sp.issparse(X)
        solver = self._resolve_solver(sparse)
        if y.ndim == 2 and y.shape[1] == 0:
            raise ValueError("y has no target column.")
        dtype = X.dtype
        # the solvers work in float64 (float32 data gets float32 coefficients back)
        X = X.astype(np.float64) if sparse else np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        Y = y.reshape(len(y), -1)
        alphas = self._alphas(Y.shape[1])
        sw = check_sample_weight(sample_weight, X.shape[0])
        if sparse and (self.fit_intercept or solver not in ("cholesky", "svd")):
            # centring (and the weights) stay implicit in a LinearOperator
            Xc, Yc, X_offset, y_offset, x_scale = _preprocess_sparse(
                X, Y, sw, self.fit_intercept)
        elif sparse:  # a direct solver without intercept: the weighted sparse matrix
            x_scale = magnitude_scale(X)
            root = np.sqrt(sw)
            Xc = sp.diags(root) @ (X / x_scale if x_scale != 1.0 else X)
            Yc = Y * root[:, None]
            X_offset, y_offset = np.zeros(X.shape[1]), np.zeros(Y.shape[1])
        else:
            Xc, Yc, X_offset, y_offset, x_scale = _preprocess(X, Y, sw, self.fit_intercept)
            root = np.sqrt(sw)
            Xc *= root[:, None]
            Yc *= root[:, None]
        # on X / s the same model has the penalty alpha / s^2
        coef, n_iter = _RIDGE_SOLVERS[solver](
            Xc, Yc, _scaled_penalty(alphas, x_scale, 2), tol=float(self.tol),
            max_iter=self.max_iter, positive=bool(self.positive))
        if y.ndim == 1:
            coef, y_offset = coef[0], y_offset[0]
        elif y.shape[1] == 1:
            coef = coef[0]  # a single target given as a column: coef_ (n_features,)
        self._set_coef(coef, X_offset, y_offset, x_scale, "Ridge")
        if y.ndim == 2 and y.shape[1] == 1:
            self.intercept_ = np.atleast_1d(self.intercept_)
        self.coef_ = self.coef_.astype(dtype, copy=False)
        self.intercept_ = (dtype.type(self.intercept_) if np.ndim(self.intercept_) == 0
                           else np.asarray(self.intercept_, dtype=dtype))
        self.n_iter_ = n_iter if solver in ("lsqr", "sag", "saga") else None
        self.solver_ = solver
        return self


def _ridge_direct(solver):
    def solve(X, Y, alphas, *, tol, max_iter, positive):
        return _ridge_solve(X, Y, alphas, solver), None
    return solve


def _ridge_lsqr(X, Y, alphas, *, tol, max_iter, positive):
    """``min ||X w - y||^2 + alpha ||w||^2`` per target by LSQR with damping."""
    coef = np.empty((Y.shape[1], X.shape[1]))
    n_iter = np.empty(Y.shape[1], dtype=np.int32)
    for k in range(Y.shape[1]):
        res = sparse_linalg.lsqr(X, Y[:, k], damp=np.sqrt(alphas[k]), atol=tol, btol=tol,
                                 iter_lim=max_iter)
        coef[k], n_iter[k] = res[0], res[2]
    return coef, n_iter


def _ridge_cg(X, Y, alphas, *, tol, max_iter, positive):
    """Conjugate gradients on ``(X^T X + alpha I) w = X^T y`` or, with more features than
    samples, on the dual ``(X X^T + alpha I) c = y``, ``w = X^T c``."""
    n, p = X.shape
    dual = p > n
    coef = np.empty((Y.shape[1], p))
    n_iter = np.empty(Y.shape[1], dtype=np.int32)
    for k, a in enumerate(alphas):
        if dual:
            op = sparse_linalg.LinearOperator((n, n), matvec=lambda v, a=a: X @ (X.T @ v)
                                              + a * v, dtype=np.float64)
            rhs = Y[:, k]
        else:
            op = sparse_linalg.LinearOperator((p, p), matvec=lambda v, a=a: X.T @ (X @ v)
                                              + a * v, dtype=np.float64)
            rhs = X.T @ Y[:, k]
        count = [0]

        def callback(_, count=count):
            count[0] += 1

        sol, info = sparse_linalg.cg(op, rhs, rtol=tol, maxiter=max_iter,
                                     callback=callback)
        if info < 0:
            raise ValueError(f"Conjugate gradients failed with error code {info}.")
        coef[k] = X.T @ sol if dual else sol
        n_iter[k] = count[0]
    return coef, n_iter


def _ridge_sag(X, Y, alphas, *, tol, max_iter, positive):
    """"sag"/"saga": the same unique optimum, by conjugate gradients."""
    return _ridge_cg(X, Y, alphas, tol=tol, max_iter=1000 if max_iter is None else max_iter,
                     positive=positive)


def _ridge_lbfgs(X, Y, alphas, *, tol, max_iter, positive):
    """L-BFGS-B on ``||X w - y||^2 / 2 + alpha ||w||^2 / 2`` (bounded at 0 when
    ``positive``), scikit-learn's solver for positive ridge."""
    p = X.shape[1]
    coef = np.empty((Y.shape[1], p))
    options = {"maxiter": 15000 if max_iter is None else max_iter}
    bounds = [(0, np.inf)] * p if positive else None
    for k, a in enumerate(alphas):
        y = Y[:, k]

        def fun(w, y=y, a=a):
            r = X @ w - y
            return 0.5 * float(r @ r) + 0.5 * a * float(w @ w), X.T @ r + a * w

        res = optimize.minimize(fun, np.zeros(p), method="L-BFGS-B", jac=True, tol=tol,
                                bounds=bounds, options=options)
        if not res.success:
            warnings.warn(
                "The lbfgs solver did not converge. Try increasing max_iter or tol. "
                f"Currently: max_iter={max_iter} and tol={tol}", ConvergenceWarning,
                stacklevel=4)
        coef[k] = res.x
    return coef, None


_RIDGE_SOLVERS = {
    "cholesky": _ridge_direct("cholesky"),
    "svd": _ridge_direct("svd"),
    "lsqr": _ridge_lsqr,
    "sparse_cg": _ridge_cg,
    "sag": _ridge_sag,
    "saga": _ridge_sag,
    "lbfgs": _ridge_lbfgs,
}


def _ridge_solve(X, Y, alphas, solver):
    """Coefficients ``(n_targets, n_features)`` of ridge regression on centred data."""
    n, p = X.shape
    coef = np.empty((Y.shape[1], p))
    if sp.issparse(X) and solver == "svd":
        raise TypeError("SVD solver does not support sparse inputs currently")
    if solver != "svd":
        dual = p > n
        A = X @ X.T if dual else X.T @ X
        B = Y if dual else np.asarray(X.T @ Y)
        if sp.issparse(A):  # (p x p or n x n: dense, as scikit-learn's cholesky)
            A = A.toarray()
        same = np.all(alphas == alphas[0])
        groups = [np.arange(len(alphas))] if same else [[k] for k in range(len(alphas))]
        try:
            for idx in groups:
                idx = np.asarray(idx)
                Aa = A.copy()
                Aa.flat[:: Aa.shape[0] + 1] += alphas[idx[0]]
                factor = linalg.cho_factor(Aa, lower=True, check_finite=False)
                sol = linalg.cho_solve(factor, B[:, idx], check_finite=False)
                # a tiny pivot means the factor is garbage even though LAPACK accepted it
                d = np.abs(np.diag(factor[0]))
                if d.min() <= np.sqrt(np.finfo(float).eps) * d.max():
                    raise linalg.LinAlgError("ill-conditioned normal equations")
                coef[idx] = np.asarray(X.T @ sol).T if dual else sol.T
            return coef
        except linalg.LinAlgError:
            pass  # singular or nearly so: the SVD below gives the (minimum-norm) answer
    # SVD: w = V diag(s / (s^2 + alpha)) U^T y, with the minimum-norm choice at alpha = 0
    U, s, Vt = linalg.svd(X, full_matrices=False, lapack_driver="gesdd")
    UtY = U.T @ Y
    cutoff = max(X.shape) * np.finfo(float).eps * (s[0] if s.size else 0.0)
    for k, a in enumerate(alphas):
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(s > cutoff, s / (s**2 + a), 0.0)
        coef[k] = Vt.T @ (d * UtY[:, k])
    return coef
