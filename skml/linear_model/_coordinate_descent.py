"""L1 and elastic-net regression by coordinate descent: ``Lasso``, ``ElasticNet``,
``lasso_path`` and ``enet_path``. The sweeps run in ``skml/_kernels/_cd.pyx``."""
import numbers
import sys
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import validate_data

from skml._kernels._cd import enet_cd_dense, enet_cd_gram, enet_cd_sparse
from skml.linear_model._base import (
    _check_finite_fit,
    _LinearPredictorMixin,
    _preprocess,
    _scaled_penalty as _scaled,
    magnitude_scale,
)
from skml.utils import Interval, StrOptions, check_param, check_params, check_sample_weight
from skml.utils import store_init_params

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
    check_param(max_iter, "max_iter", types=(numbers.Integral,), min_val=1, max_val=2**31 - 1)
    check_param(selection, "selection", types=(str,), options=("cyclic", "random"))
    if isinstance(precompute, str):
        check_param(precompute, "precompute", options=("auto",))
    elif not isinstance(precompute, (bool, np.bool_)) and not hasattr(precompute, "__array__"):
        raise TypeError(
            f"precompute must be 'auto', a bool or an array (the Gram matrix X^T X), got "
            f"{precompute!r}."
        )


def _check_gram(gram, X, what):
    """Whether the user's ``gram`` is ``X^T X`` for this ``X``: raises ``ValueError`` when
    it has the wrong shape, is not finite or not symmetric; returns False when it is a
    valid matrix of some other ``X`` (its diagonal, the squared column norms, or one
    off-diagonal entry differ), True when it matches."""
    n_features = X.shape[1]
    if gram.shape != (n_features, n_features):
        raise ValueError(
            f"{what}: the Gram matrix must have shape {(n_features, n_features)}, got "
            f"{gram.shape}."
        )
    if not np.all(np.isfinite(gram)):
        raise ValueError(f"{what}: the Gram matrix contains NaN or infinity.")
    rtol = 1e-4 if X.dtype == np.float32 or gram.dtype == np.float32 else 1e-7
    scale = float(np.max(np.abs(np.diag(gram)), initial=0.0))
    if not np.allclose(gram, gram.T, rtol=rtol, atol=rtol * scale):
        raise ValueError(f"{what}: the Gram matrix is not symmetric.")
    diag = np.einsum("ij,ij->j", X, X, dtype=np.float64)
    if not np.allclose(np.diag(gram), diag, rtol=rtol, atol=1e-5):
        return False
    f1 = n_features // 2
    f2 = min(f1 + 1, n_features - 1)
    expected = float(np.dot(X[:, f1], X[:, f2]))
    return bool(np.isclose(gram[f1, f2], expected, rtol=rtol, atol=1e-5 + rtol * scale))


class _SparseDesign:
    """A CSC design for :func:`enet_cd_sparse`: its rows already multiplied by ``u``
    (the square roots of the sample weights, or ones), and the implicit centring
    ``X - u xmean^T`` (``xmean`` zeros without intercept)."""

    def __init__(self, X, u, xmean):
        X = sp.csc_matrix(X, dtype=np.float64)
        self.data = np.ascontiguousarray(X.data)
        self.indices = np.ascontiguousarray(X.indices, dtype=np.intp)
        self.indptr = np.ascontiguousarray(X.indptr, dtype=np.intp)
        self.n_samples = X.shape[0]
        self.u = np.ascontiguousarray(u, dtype=np.float64)
        self.xmean = np.ascontiguousarray(xmean, dtype=np.float64)


def _cd_solve(X_fortran, y, gram, Xy, l1_regs, l2_regs, w, *, tol, max_iter, rng,
              random, positive, verbose=False):
    """Coordinate descent for each ``(l1_regs[i], l2_regs[i])`` (the n-scaled penalties of
    ``0.5 ||y - X w||^2 + l1 ||w||_1 + 0.5 l2 ||w||^2``), warm-started from ``w``.

    Works on ``y / t`` (``t`` a power of two when ``y`` is far from 1 in magnitude), so
    ``||y||^2`` and the duality gap never overflow. Returns ``(coefs, gaps, n_iters,
    not_converged)`` with ``coefs`` of shape (n_features, n_steps).
    """
    t = magnitude_scale(y)
    if t != 1.0:
        y = y / t
        Xy = None if Xy is None else Xy / t
        w = w / t
    y_norm2 = float(np.dot(y, y))
    coefs = np.empty((w.shape[0], len(l1_regs)), dtype=w.dtype)
    gaps = np.empty(len(l1_regs))
    n_iters, not_converged = [], []
    for i, (l1_reg, l2_reg) in enumerate(zip(l1_regs, l2_regs)):
        l1_reg = l1_reg / t  # the L1 term scales like ||y||, the others like ||y||^2
        seed = int(rng.randint(1, np.iinfo(np.int32).max))
        if gram is not None:
            w, gap, _, n_iter, converged = enet_cd_gram(
                w, l1_reg, l2_reg, gram, Xy, y_norm2, max_iter, tol, seed, random, positive)
        elif isinstance(X_fortran, _SparseDesign):
            D = X_fortran
            w, gap, _, n_iter, converged = enet_cd_sparse(
                w, l1_reg, l2_reg, D.data, D.indices, D.indptr, D.n_samples, y, D.u,
                D.xmean, max_iter, tol, seed, random, positive)
        else:
            w, gap, _, n_iter, converged = enet_cd_dense(
                w, l1_reg, l2_reg, X_fortran, y, max_iter, tol, seed, random, positive)
        coefs[:, i] = w
        gaps[i] = gap * t * t
        n_iters.append(n_iter)
        if not converged:
            not_converged.append(i)
        if verbose:
            if verbose > 1:
                print(f"Path: {i:03d} out of {len(l1_regs):03d}")
            else:
                sys.stderr.write(".")
    return coefs * t if t != 1.0 else coefs, gaps, n_iters, not_converged


def _warn_not_converged(not_converged, alphas, gaps, tol, y_norm2, n_samples, l1_ratio):
    if not not_converged:
        return
    i = not_converged[0]
    alpha, gap = alphas[i], gaps[i]
    msg = (f"Coordinate descent did not converge for {len(not_converged)} of "
           f"{len(alphas)} alphas (first: alpha={alpha:.3g}, duality gap "
           f"{gap / n_samples:.3g} > tol {tol * y_norm2 / n_samples:.3g}). Increase "
           "max_iter, scale the features, or use a larger alpha.")
    if alpha == 0 or l1_ratio * alpha < _RESOLUTION:
        msg += " With alpha=0 use LinearRegression or Ridge instead."
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)


def _resolve_alphas(n_alphas, alphas):
    """scikit-learn 1.9's deprecation of ``n_alphas`` (and of ``alphas=None``): the grid
    size or the explicit alphas to use."""
    count = 100
    if not (isinstance(n_alphas, str) and n_alphas == "deprecated"):
        warnings.warn(
            "'n_alphas' was deprecated in 1.9 and will be removed in 1.11. 'alphas' now "
            "accepts an integer value which removes the need to pass 'n_alphas'. The "
            "default value of 'alphas' will change from None to 100 in 1.11. Pass an "
            "explicit value to 'alphas' and leave 'n_alphas' to its default value to "
            "silence this warning.", FutureWarning, stacklevel=3)
        count = n_alphas
    if isinstance(alphas, str) and alphas == "warn":
        return count
    if alphas is None:
        warnings.warn(
            "'alphas=None' is deprecated and will be removed in 1.11, at which point the "
            "default value will be set to 100. Set 'alphas=100' to silence this warning.",
            FutureWarning, stacklevel=3)
        return count
    return alphas


def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, n_alphas="deprecated", alphas="warn",
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
    n_alphas : int, default="deprecated"
        Length of the automatic grid; deprecated in scikit-learn 1.9 (as here, with a
        ``FutureWarning``): pass the length as ``alphas``.
    alphas : int or array-like, default="warn"
        The penalties (sorted into decreasing order), or the length of the automatic grid
        (100 by default). ``None`` is deprecated (``FutureWarning``), as in scikit-learn.
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
    alphas = _resolve_alphas(n_alphas, alphas)
    tol = params.pop("tol", 1e-4)
    max_iter = params.pop("max_iter", 1000)
    selection = params.pop("selection", "cyclic")
    random_state = params.pop("random_state", None)
    if params:
        raise ValueError(f"Unexpected parameters in params: {sorted(params)}")
    _check_path_params(l1_ratio, eps, precompute, tol, max_iter, selection)
    X = check_array(X, dtype=[np.float64, np.float32], order=None,
                    accept_sparse=["csc", "csr", "coo"])
    y = check_array(y, dtype=X.dtype, ensure_2d=False)
    sparse = sp.issparse(X)
    if sparse:
        # coordinate descent over CSC columns (float64); a Gram matrix is not used
        X = X.tocsc()
        precompute = False
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
    # work on X / s (s a power of two) when |X| is far from 1: the penalties become
    # l1 / s and l2 / s^2 and the coefficients s * w, the objective is unchanged
    x_scale = magnitude_scale(X)
    Xs = X / x_scale if x_scale != 1.0 else X

    if isinstance(precompute, str):
        precompute = n_samples > n_features
    gram = None
    if hasattr(precompute, "__array__"):
        gram = np.asarray(precompute)
        if gram.dtype.kind not in "fiub":
            raise TypeError(f"The Gram matrix must be numeric, got dtype {gram.dtype}.")
        gram = np.ascontiguousarray(_scaled(gram.astype(X.dtype), x_scale, 2))
        if not _check_gram(gram, Xs, "precompute"):
            raise ValueError(
                "The Gram matrix passed as precompute is not X^T X for this X (its "
                "diagonal or a checked entry differs): compute it from the same X."
            )
    elif precompute:
        gram = np.ascontiguousarray(Xs.T @ Xs)
    if Xy is not None:
        Xy = np.ascontiguousarray(np.asarray(Xy, dtype=X.dtype).reshape(-1))
        if Xy.shape[0] != n_features:
            raise ValueError(f"Xy must have {n_features} values, got {Xy.shape[0]}.")
        Xy = _scaled(Xy, x_scale, 1)
    elif gram is not None or isinstance(alphas, numbers.Integral):
        Xy = Xs.T @ y

    if isinstance(alphas, numbers.Integral):
        count = alphas
        check_param(count, "alphas", types=(numbers.Integral,), min_val=1)
        if l1_ratio == 0:
            raise ValueError(
                "No automatic alpha grid for l1_ratio=0 (pure ridge): give alphas explicitly."
            )
        alphas = _alpha_grid(Xy, n_samples, l1_ratio, positive, eps, count) * x_scale
        if not np.all(np.isfinite(alphas)):
            raise ValueError(
                "The automatic alpha grid overflows float64 (|X^T y| is too large): "
                "rescale X and y, or give alphas explicitly."
            )
    else:
        alphas = np.asarray(alphas, dtype=np.float64).ravel()
        if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
            raise ValueError("alphas must be a non-empty array of finite values >= 0.")
        if alphas.size > 1:
            alphas = np.sort(alphas)[::-1]

    rng = check_random_state(random_state)
    if coef_init is None:
        w = np.zeros(n_features, dtype=X.dtype)
    else:
        w = np.array(coef_init, dtype=X.dtype).reshape(-1)
        if w.shape[0] != n_features:
            raise ValueError(f"coef_init must have {n_features} values, got {w.shape[0]}.")
        w = w * x_scale
    if sparse:
        y64 = np.asarray(y, dtype=np.float64)
        X_fortran = _SparseDesign(Xs, np.ones(n_samples), np.zeros(n_features))
        w = w.astype(np.float64)
    else:
        y64 = y
        X_fortran = np.asfortranarray(Xs) if gram is None else None
    l1_regs = [_scaled(a * l1_ratio * n_samples, x_scale, 1) for a in alphas]
    l2_regs = [_scaled(a * (1.0 - l1_ratio) * n_samples, x_scale, 2) for a in alphas]
    coefs, gaps, n_iters, not_converged = _cd_solve(
        X_fortran, y64, gram, Xy, l1_regs, l2_regs, w, tol=tol, max_iter=max_iter, rng=rng,
        random=selection == "random", positive=positive, verbose=verbose)
    coefs = _scaled(coefs, x_scale, 1).astype(X.dtype, copy=False)
    _check_finite_fit(coefs, "Coordinate descent")
    dual_gaps = gaps / n_samples
    _warn_not_converged(not_converged, alphas, gaps, tol, float(np.dot(y, y)), n_samples,
                        l1_ratio)
    if return_n_iter:
        return alphas, coefs, dual_gaps, n_iters
    return alphas, coefs, dual_gaps


def lasso_path(X, y, *, eps=1e-3, n_alphas="deprecated", alphas="warn", precompute="auto",
               Xy=None, copy_X=True, coef_init=None, verbose=False, return_n_iter=False,
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
    n_alphas : int, default="deprecated"
    alphas : int or array-like, default="warn"
        See :func:`enet_path` (scikit-learn 1.9's deprecations).
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


class _ElasticNetBase(_LinearPredictorMixin, MultiOutputMixin, RegressorMixin,
                      BaseEstimator):
    """What ElasticNet and Lasso share (Lasso is the ``l1_ratio=1`` case): the
    parameters other than ``l1_ratio``, and ``fit``."""

    _parameter_constraints = {
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "precompute": ["boolean", StrOptions({"auto"}), "array-like"],
        # a C int in the kernel
        "max_iter": [Interval(numbers.Integral, 1, 2**31 - 1, closed="both")],
        "copy_X": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "positive": ["boolean"],
        "random_state": ["random_state"],
        "selection": [StrOptions({"cyclic", "random"})],
    }

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
        check_params(self)
        l1_ratio = self._get_l1_ratio()
        if self.alpha == 0:
            warnings.warn(
                "With alpha=0 coordinate descent converges poorly; use LinearRegression.",
                UserWarning, stacklevel=2)
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64,
                             accept_sparse=["csc", "csr", "coo"])
        y = np.asarray(y, dtype=np.float64)
        n_samples, n_features = X.shape
        sw = check_sample_weight(sample_weight, n_samples)
        sw = sw * (n_samples / sw.sum())
        Y = y.reshape(n_samples, -1)
        if sp.issparse(X):
            # CSC columns, centring implicit (never densified); no Gram matrix (as
            # scikit-learn, precompute is not used for sparse X)
            Xc, Yc, X_offset, y_offset, x_scale = self._sparse_design(X, Y, sw,
                                                                      sample_weight)
            gram = None
        else:
            Xc, Yc, X_offset, y_offset, x_scale = _preprocess(X, Y, sw, self.fit_intercept)
            if sample_weight is not None:
                root = np.sqrt(sw)
                Xc *= root[:, None]
                Yc *= root[:, None]
            gram = self._gram(X, Xc, x_scale, sw if sample_weight is not None else None,
                              n_samples, n_features)
        n_targets = Y.shape[1]

        coef = np.zeros((n_targets, n_features))
        if self.warm_start and hasattr(self, "coef_"):
            prev = np.asarray(self.coef_).reshape(-1, n_features)
            if prev.shape == coef.shape:
                coef[:] = prev * x_scale
        rng = check_random_state(self.random_state)
        if isinstance(Xc, _SparseDesign):
            X_fortran = Xc
        else:
            X_fortran = np.asfortranarray(Xc) if gram is None else None
        # on X / s: the L1 penalty becomes l1 / s, the L2 penalty l2 / s^2
        l1_reg = _scaled(self.alpha * l1_ratio * n_samples, x_scale, 1)
        l2_reg = _scaled(self.alpha * (1.0 - l1_ratio) * n_samples, x_scale, 2)
        n_iter, gaps, not_converged = [], np.empty(n_targets), []
        for k in range(n_targets):
            yk = np.ascontiguousarray(Yc[:, k])
            Xy = Xc.T @ yk if gram is not None else None  # (dense Xc only)
            path_coef, gap, its, bad = _cd_solve(
                X_fortran, yk, gram, Xy, [l1_reg], [l2_reg], coef[k].copy(), tol=self.tol,
                max_iter=self.max_iter, rng=rng, random=self.selection == "random",
                positive=self.positive)
            coef[k] = path_coef[:, 0]
            gaps[k] = gap[0] / n_samples
            n_iter.append(its[0])
            if bad:
                not_converged.append((k, gap[0], float(yk @ yk)))
        if not_converged:
            k, gap, y_norm2 = not_converged[0]
            _warn_not_converged([0], [self.alpha], [gap], self.tol, y_norm2, n_samples,
                                l1_ratio)
        single = y.ndim == 1
        self._set_coef(coef[0] if single else coef, X_offset,
                       y_offset[0] if single else y_offset, x_scale, type(self).__name__)
        self.dual_gap_ = gaps[0] if single else gaps
        self.n_iter_ = n_iter[0] if single else n_iter
        return self

    def _sparse_design(self, X, Y, sw, sample_weight):
        """``(design, Yc, X_offset, y_offset, x_scale)`` for sparse ``X``: rows scaled by
        ``sqrt(sw)`` only when weights are given, centring left implicit."""
        x_scale = magnitude_scale(X)
        Xs = X / x_scale if x_scale != 1.0 else X
        Xs = sp.csc_matrix(Xs)
        u = np.sqrt(sw)
        if self.fit_intercept:
            w = sw / sw.sum()
            X_offset = np.asarray(Xs.T @ w).ravel()
            y_offset = w @ Y
        else:
            X_offset = np.zeros(X.shape[1])
            y_offset = np.zeros(Y.shape[1])
        if sample_weight is not None:
            Xs = sp.csc_matrix(Xs.multiply(u[:, None]))
        Yc = (Y - y_offset) * u[:, None]
        return _SparseDesign(Xs, u, X_offset), Yc, X_offset, y_offset, x_scale

    def _gram(self, X, Xc, x_scale, sw, n_samples, n_features):
        """The Gram matrix of the (scaled, centred, weighted) design ``Xc``, or None.

        A user's matrix (``precompute`` an array) must be that of the data the model is
        fitted on: ``X^T X`` for ``fit_intercept=False``, the Gram of the centred ``X``
        otherwise (both with rows multiplied by ``sqrt(sample_weight)``). A Gram of the
        uncentred ``X`` given with ``fit_intercept=True`` is recomputed with a warning
        (as scikit-learn does); any other matrix is an error.
        """
        precompute = self.precompute
        if not isinstance(precompute, (str, bool, np.bool_)):
            gram = np.asarray(precompute)
            if gram.dtype.kind not in "fiub":
                raise TypeError(f"The Gram matrix must be numeric, got dtype {gram.dtype}.")
            gram = _scaled(gram.astype(np.float64), x_scale, 2)
            if _check_gram(gram, Xc, "precompute"):
                return np.ascontiguousarray(gram)
            if self.fit_intercept:
                Xu = X / x_scale if x_scale != 1.0 else X
                if sw is not None:
                    Xu = Xu * np.sqrt(sw)[:, None]
                if _check_gram(gram, Xu, "precompute"):
                    warnings.warn(
                        "Gram matrix was provided but X was centered to fit intercept: "
                        "recomputing Gram matrix.", UserWarning, stacklevel=3)
                    return np.ascontiguousarray(Xc.T @ Xc)
            raise ValueError(
                "The Gram matrix passed as precompute does not match X: it must be X^T X "
                "of the data the model is fitted on (centred when fit_intercept=True, rows "
                "scaled by sqrt(sample_weight) when weights are given)."
            )
        if (isinstance(precompute, str) and n_samples > n_features) or precompute is True:
            return np.ascontiguousarray(Xc.T @ Xc)
        return None


class ElasticNet(_ElasticNetBase):
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

    Notes
    -----
    Sparse ``X`` (CSC; CSR and COO are converted to CSC) is fitted by coordinate descent
    over its columns with the centring (and the sample weights) kept implicit: only
    stored entries are read or updated, nothing is densified, and ``precompute`` is not
    used (as in scikit-learn).

    Raises
    ------
    ValueError
        For invalid parameters, NaN/infinite input, bad sample weights, a ``precompute``
        Gram matrix of the wrong shape, not symmetric or not that of the (centred,
        weighted) ``X``, or coefficients that overflow float64.

    References
    ----------
    H. Zou and T. Hastie, "Regularization and variable selection via the elastic net",
    J. R. Stat. Soc. B 67(2), 2005. J. Friedman, T. Hastie and R. Tibshirani,
    "Regularization paths for generalized linear models via coordinate descent", J. Stat.
    Softw. 33(1), 2010. O. Fercoq, A. Gramfort and J. Salmon, "Mind the duality gap: safer
    rules for the lasso", ICML 2015. H. Dai, "Note on Machine Learning" (preprint),
    Definitions 3.47 and 3.48.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.linear_model import ElasticNet
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> reg = ElasticNet(alpha=0.01).fit(X, 2.0 * X[:, 0])
    >>> bool(abs(reg.coef_[0] - 2.0) < 0.05)
    True
    """

    _parameter_constraints = {
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
    }

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, precompute=False,
                 max_iter=1000, copy_X=True, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic"):
        store_init_params(self, locals())

    path = staticmethod(enet_path)

    def _get_l1_ratio(self):
        return self.l1_ratio

class Lasso(_ElasticNetBase):
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

    Notes
    -----
    Sparse ``X`` (CSC; CSR and COO are converted to CSC) is fitted as in
    :class:`ElasticNet`: coordinate descent over the stored entries of each column with
    implicit centring, never densified. ``Lasso.path`` is :func:`enet_path` (scikit-learn's
    ``Lasso.path`` too), which takes ``l1_ratio``.

    Raises
    ------
    ValueError
        As :class:`ElasticNet`.

    References
    ----------
    R. Tibshirani, "Regression shrinkage and selection via the lasso", J. R. Stat. Soc. B
    58(1), 1996. J. Friedman, T. Hastie and R. Tibshirani, "Regularization paths for
    generalized linear models via coordinate descent", J. Stat. Softw. 33(1), 2010.
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.47.

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
        store_init_params(self, locals())

    # scikit-learn's Lasso.path is enet_path (l1_ratio defaults to 0.5 there): the same
    path = staticmethod(enet_path)

    def _get_l1_ratio(self):
        return 1.0
