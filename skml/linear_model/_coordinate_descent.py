"""L1 and elastic-net regression by coordinate descent: ``Lasso``, ``ElasticNet``,
``lasso_path`` and ``enet_path``. The sweeps run in ``skml/_kernels/_cd.pyx``."""
import numbers
import sys
import warnings

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import validate_data

from skml._kernels._cd import enet_cd_dense, enet_cd_gram
from skml.linear_model._base import _center, _check_sample_weight, _LinearPredictorMixin
from skml.utils import check_param

__all__ = ["ElasticNet", "Lasso", "enet_path", "lasso_path"]

_RESOLUTION = np.finfo(np.float64).resolution


def _alpha_grid(Xy, n_samples, l1_ratio, positive, eps, n_alphas):
    """``n_alphas`` values from the smallest alpha giving ``w = 0`` down to ``eps`` times it,
    evenly spaced in log scale."""
    Xy = np.asarray(Xy).reshape(len(Xy), -1)
    if positive:
        top = max(0.0, float(np.max(Xy)))
    else:
        top = float(np.sqrt(np.max(np.sum(Xy**2, axis=1))))
    alpha_max = top / (n_samples * l1_ratio)
    if alpha_max <= _RESOLUTION:
        return np.full(n_alphas, _RESOLUTION)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


def _check_path_params(l1_ratio, eps, precompute, tol, max_iter, selection):
    check_param(l1_ratio, "l1_ratio", types=(numbers.Real,), min_val=0, max_val=1)
    check_param(eps, "eps", types=(numbers.Real,), min_val=0, closed="neither")
    check_param(tol, "tol", types=(numbers.Real,), min_val=0)
    check_param(max_iter, "max_iter", types=(numbers.Integral,), min_val=1)
    check_param(selection, "selection", types=(str,), options=("cyclic", "random"))
    if isinstance(precompute, str):
        check_param(precompute, "precompute", options=("auto",))
    elif not isinstance(precompute, (bool, np.bool_)) and not hasattr(precompute, "__array__"):
        raise TypeError(
            f"precompute must be 'auto', a bool or an array (the Gram matrix X^T X), got "
            f"{precompute!r}."
        )


def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, n_alphas=100, alphas=None,
              precompute="auto", Xy=None, copy_X=True, coef_init=None, verbose=False,
              return_n_iter=False, positive=False, check_input=True, **params):
    """Elastic-net coefficients along a decreasing grid of penalties (warm-started).

    For each ``alpha`` this minimises, exactly as scikit-learn's ``enet_path``::

        1 / (2 * n_samples) * ||y - X w||^2 + alpha * l1_ratio * ||w||_1
        + 0.5 * alpha * (1 - l1_ratio) * ||w||^2

    on ``X`` and ``y`` as given (no intercept, no centring), each solve starting from the
    previous solution.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        One target (scikit-learn's multi-task path for a 2-D ``y`` is not provided).
    l1_ratio : float in [0, 1], default=0.5
        Mix of the penalties (1 is the lasso). With 0 no automatic grid can be made: give
        ``alphas``.
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the automatic grid.
    n_alphas : int, default=100
        Length of the automatic grid.
    alphas : int or array-like, default=None
        The penalties (sorted into decreasing order), or their number for the automatic
        grid; ``None`` uses ``n_alphas``.
    precompute : "auto", bool or array-like of shape (n_features, n_features), default="auto"
        Work on the Gram matrix ``X^T X`` (given, or computed when True; "auto" computes it
        when ``n_samples > n_features``) instead of on ``X``.
    Xy : array-like of shape (n_features,), default=None
        ``X^T y``, when already computed (used with the Gram matrix and for the grid).
    copy_X : bool, default=True
        Kept for compatibility; ``X`` is never modified.
    coef_init : array-like of shape (n_features,), default=None
        Starting coefficients for the first ``alpha``.
    verbose : bool or int, default=False
    return_n_iter : bool, default=False
        Also return the number of sweeps for each alpha.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    check_input : bool, default=True
        Kept for compatibility: the input is always checked.
    **params
        ``tol`` (default 1e-4: stop when the duality gap is below ``tol * ||y||^2 / n``),
        ``max_iter`` (1000), ``selection`` ("cyclic" or "random"), ``random_state``.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
    coefs : ndarray of shape (n_features, n_alphas)
    dual_gaps : ndarray of shape (n_alphas,)
        Duality gap reached at each alpha (on the objective above).
    n_iters : list of int
        Only when ``return_n_iter`` is True.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.linear_model import enet_path
    >>> X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 4.0], [4.0, 3.0]])
    >>> alphas, coefs, gaps = enet_path(X, X @ [1.0, 0.5], alphas=3)
    >>> coefs.shape
    (2, 3)
    """
    tol = params.pop("tol", 1e-4)
    max_iter = params.pop("max_iter", 1000)
    selection = params.pop("selection", "cyclic")
    random_state = params.pop("random_state", None)
    if params:
        raise ValueError(f"Unexpected parameters in params: {sorted(params)}")
    _check_path_params(l1_ratio, eps, precompute, tol, max_iter, selection)
    X = check_array(X, dtype=[np.float64, np.float32], order=None)
    y = check_array(y, dtype=X.dtype, ensure_2d=False)
    if y.ndim != 1:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        else:
            raise ValueError(
                f"y must have one target, got shape {y.shape}: skml's path solves one "
                "target at a time (fit Lasso/ElasticNet, which handle several)."
            )
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}.")
    n_samples, n_features = X.shape
    y = np.ascontiguousarray(y)

    if isinstance(precompute, str):
        precompute = n_samples > n_features
    gram = None
    if hasattr(precompute, "__array__"):
        gram = np.ascontiguousarray(precompute, dtype=X.dtype)
        if gram.shape != (n_features, n_features):
            raise ValueError(
                f"The Gram matrix must have shape {(n_features, n_features)}, got "
                f"{gram.shape}."
            )
    elif precompute:
        gram = np.ascontiguousarray(X.T @ X)
    if Xy is not None:
        Xy = np.ascontiguousarray(np.asarray(Xy, dtype=X.dtype).reshape(-1))
        if Xy.shape[0] != n_features:
            raise ValueError(f"Xy must have {n_features} values, got {Xy.shape[0]}.")
    elif gram is not None or alphas is None or isinstance(alphas, numbers.Integral):
        Xy = X.T @ y

    if alphas is None or isinstance(alphas, numbers.Integral):
        count = n_alphas if alphas is None else alphas
        check_param(count, "n_alphas", types=(numbers.Integral,), min_val=1)
        if l1_ratio == 0:
            raise ValueError(
                "No automatic alpha grid for l1_ratio=0 (pure ridge): give alphas explicitly."
            )
        alphas = _alpha_grid(Xy, n_samples, l1_ratio, positive, eps, count)
    else:
        alphas = np.asarray(alphas, dtype=np.float64).ravel()
        if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
            raise ValueError("alphas must be a non-empty array of finite values >= 0.")
        if alphas.size > 1:
            alphas = np.sort(alphas)[::-1]

    rng = check_random_state(random_state)
    random = selection == "random"
    if coef_init is None:
        w = np.zeros(n_features, dtype=X.dtype)
    else:
        w = np.array(coef_init, dtype=X.dtype).reshape(-1)
        if w.shape[0] != n_features:
            raise ValueError(f"coef_init must have {n_features} values, got {w.shape[0]}.")
    X_fortran = None
    if gram is None:
        X_fortran = np.asfortranarray(X)
    y_norm2 = float(y @ y)

    coefs = np.empty((n_features, len(alphas)), dtype=X.dtype)
    dual_gaps = np.empty(len(alphas))
    n_iters = []
    not_converged = []
    for i, alpha in enumerate(alphas):
        l1_reg = alpha * l1_ratio * n_samples
        l2_reg = alpha * (1.0 - l1_ratio) * n_samples
        seed = int(rng.randint(1, np.iinfo(np.int32).max))
        if gram is not None:
            w, gap, _, n_iter, converged = enet_cd_gram(
                w, l1_reg, l2_reg, gram, Xy, y_norm2, max_iter, tol, seed, random, positive)
        else:
            w, gap, _, n_iter, converged = enet_cd_dense(
                w, l1_reg, l2_reg, X_fortran, y, max_iter, tol, seed, random, positive)
        coefs[:, i] = w
        dual_gaps[i] = gap / n_samples
        n_iters.append(n_iter)
        if not converged:
            not_converged.append((alpha, gap))
        if verbose:
            if verbose > 1:
                print(f"Path: {i:03d} out of {len(alphas):03d}")
            else:
                sys.stderr.write(".")
    if not_converged:
        alpha, gap = not_converged[0]
        msg = (f"Coordinate descent did not converge for {len(not_converged)} of "
               f"{len(alphas)} alphas (first: alpha={alpha:.3g}, duality gap "
               f"{gap / n_samples:.3g} > tol {tol * y_norm2 / n_samples:.3g}). Increase "
               "max_iter, scale the features, or use a larger alpha.")
        if alpha == 0 or l1_ratio * alpha < _RESOLUTION:
            msg += " With alpha=0 use LinearRegression or Ridge instead."
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    if return_n_iter:
        return alphas, coefs, dual_gaps, n_iters
    return alphas, coefs, dual_gaps


def lasso_path(X, y, *, eps=1e-3, n_alphas=100, alphas=None, precompute="auto", Xy=None,
               copy_X=True, coef_init=None, verbose=False, return_n_iter=False,
               positive=False, **params):
    """Lasso coefficients along a decreasing grid of penalties (warm-started).

    Same as :func:`enet_path` with ``l1_ratio=1``: for each ``alpha`` it minimises
    ``1 / (2 * n_samples) * ||y - X w||^2 + alpha * ||w||_1`` on ``X`` and ``y`` as given
    (no intercept), with scikit-learn's ``lasso_path`` signature and return values.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    eps : float, default=1e-3
    n_alphas : int, default=100
    alphas : int or array-like, default=None
    precompute : "auto", bool or array-like, default="auto"
    Xy : array-like of shape (n_features,), default=None
    copy_X : bool, default=True
    coef_init : array-like of shape (n_features,), default=None
    verbose : bool or int, default=False
    return_n_iter : bool, default=False
    positive : bool, default=False
    **params
        ``tol``, ``max_iter``, ``selection``, ``random_state`` (see :func:`enet_path`).

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
    coefs : ndarray of shape (n_features, n_alphas)
    dual_gaps : ndarray of shape (n_alphas,)
    n_iters : list of int
        Only when ``return_n_iter`` is True.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.linear_model import lasso_path
    >>> X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 4.0], [4.0, 3.0]])
    >>> alphas, coefs, gaps = lasso_path(X, X @ [1.0, 0.0], alphas=[0.5, 0.1, 0.01])
    >>> bool((coefs[1] == 0).all())
    True
    """
    return enet_path(X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas,
                     precompute=precompute, Xy=Xy, copy_X=copy_X, coef_init=coef_init,
                     verbose=verbose, return_n_iter=return_n_iter, positive=positive,
                     **params)


class ElasticNet(_LinearPredictorMixin, MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Linear regression with combined L1 and L2 penalties, by coordinate descent.

    Minimises, as scikit-learn's ``ElasticNet``::

        1 / (2 * n_samples) * ||y - X w - b||^2 + alpha * l1_ratio * ||w||_1
        + 0.5 * alpha * (1 - l1_ratio) * ||w||^2

    (Definitions 3.47 and 3.48 of the notes). Each coordinate update is a soft-thresholding
    step; the loop stops when the duality gap is below ``tol * ||y||^2 / n_samples``. With
    ``sample_weight`` the squared errors are weighted, the weights rescaled to sum to
    ``n_samples``. A 2-D ``y`` fits one independent model per column.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength (>= 0; 0 is least squares, better solved by LinearRegression).
    l1_ratio : float in [0, 1], default=0.5
    fit_intercept : bool, default=True
    precompute : "auto", bool or array-like, default=False
        Run on the Gram matrix ``X^T X`` (of the centred, weighted data); "auto" when
        ``n_samples > n_features``.
    max_iter : int, default=1000
        Maximum number of sweeps.
    copy_X : bool, default=True
        Kept for compatibility; ``X`` is never modified.
    tol : float, default=1e-4
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    positive : bool, default=False
    random_state : int, RandomState or None, default=None
        Order of the updates when ``selection="random"``.
    selection : {"cyclic", "random"}, default="cyclic"

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : int or list of int
        Sweeps run (per target for a 2-D ``y``).
    dual_gap_ : float or ndarray of shape (n_targets,)
        Final duality gap(s).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skml.linear_model import ElasticNet
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> reg = ElasticNet(alpha=0.01).fit(X, 2.0 * X[:, 0])
    >>> bool(abs(reg.coef_[0] - 2.0) < 0.05)
    True
    """

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, precompute=False,
                 max_iter=1000, copy_X=True, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic"):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.copy_X = copy_X
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection

    def _get_l1_ratio(self):
        return self.l1_ratio

    def fit(self, X, y, sample_weight=None, check_input=True):
        """Fit the model by coordinate descent.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
        check_input : bool, default=True
            Kept for compatibility; the input is always checked.

        Returns
        -------
        self
        """
        check_param(self.alpha, "alpha", types=(numbers.Real,), min_val=0)
        l1_ratio = self._get_l1_ratio()
        check_param(l1_ratio, "l1_ratio", types=(numbers.Real,), min_val=0, max_val=1)
        check_param(self.fit_intercept, "fit_intercept", types=(bool, np.bool_))
        check_param(self.warm_start, "warm_start", types=(bool, np.bool_))
        check_param(self.positive, "positive", types=(bool, np.bool_))
        _check_path_params(l1_ratio, 1.0, self.precompute, self.tol, self.max_iter,
                           self.selection)
        if self.alpha == 0:
            warnings.warn(
                "With alpha=0 coordinate descent converges poorly; use LinearRegression.",
                UserWarning, stacklevel=2)
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        n_samples, n_features = X.shape
        sw = _check_sample_weight(sample_weight, n_samples)
        sw = sw * (n_samples / sw.sum())
        Y = y.reshape(n_samples, -1)
        Xc, Yc, X_offset, y_offset = _center(X, Y, sw, self.fit_intercept)
        if sample_weight is not None:
            root = np.sqrt(sw)
            Xc *= root[:, None]
            Yc *= root[:, None]
        n_targets = Y.shape[1]

        precompute = self.precompute
        if hasattr(precompute, "__array__"):
            gram = np.asarray(precompute, dtype=np.float64)
        elif (precompute == "auto" and n_samples > n_features) or precompute is True:
            gram = Xc.T @ Xc
        else:
            gram = False

        coef = np.zeros((n_targets, n_features))
        if self.warm_start and hasattr(self, "coef_"):
            prev = np.asarray(self.coef_).reshape(-1, n_features)
            if prev.shape == coef.shape:
                coef[:] = prev
        rng = check_random_state(self.random_state)
        n_iter, gaps = [], np.empty(n_targets)
        for k in range(n_targets):
            _, path_coef, gap, its = enet_path(
                Xc, Yc[:, k], l1_ratio=l1_ratio, alphas=[self.alpha],
                precompute=gram, Xy=None, coef_init=coef[k], return_n_iter=True,
                positive=self.positive, tol=self.tol, max_iter=self.max_iter,
                selection=self.selection, random_state=rng)
            coef[k] = path_coef[:, 0]
            gaps[k] = gap[0]
            n_iter.append(its[0])
        single = y.ndim == 1
        self.coef_ = coef[0] if single else coef
        self.dual_gap_ = gaps[0] if single else gaps
        self.n_iter_ = n_iter[0] if single else n_iter
        self._set_intercept(X_offset, y_offset[0] if single else y_offset)
        return self


class Lasso(ElasticNet):
    """Linear regression with an L1 penalty (Definition 3.47 of the notes), by coordinate
    descent.

    Minimises ``1 / (2 * n_samples) * ||y - X w - b||^2 + alpha * ||w||_1``, as
    scikit-learn's ``Lasso``: :class:`ElasticNet` with ``l1_ratio=1``.

    Parameters
    ----------
    alpha : float, default=1.0
    fit_intercept : bool, default=True
    precompute : "auto", bool or array-like, default=False
    copy_X : bool, default=True
    max_iter : int, default=1000
    tol : float, default=1e-4
    warm_start : bool, default=False
    positive : bool, default=False
    random_state : int, RandomState or None, default=None
    selection : {"cyclic", "random"}, default="cyclic"

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : int or list of int
    dual_gap_ : float or ndarray of shape (n_targets,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skml.linear_model import Lasso
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> Lasso(alpha=0.1).fit(X, 2.0 * X[:, 0]).coef_[1]
    np.float64(0.0)
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, precompute=False, copy_X=True,
                 max_iter=1000, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection

    def _get_l1_ratio(self):
        return 1.0
