"""Gaussian process regression (Definition 2.29 of the notes) with Cholesky solves and
hyper-parameters fitted by maximising the log marginal likelihood."""
import numbers
import warnings

import numpy as np
from scipy import linalg, optimize
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.gaussian_process.kernels import RBF, ConstantKernel
from skml.linear_model._base import progress
from skml.utils import (
    HasMethods,
    Interval,
    StrOptions,
    check_param,
    check_params,
    store_init_params,
)

__all__ = ["GaussianProcessRegressor"]

_LOG_2PI = np.log(2.0 * np.pi)


def _default_kernel(fixed):
    """scikit-learn's defaults: ``ConstantKernel() * RBF()`` (both fitted) for ``fit``;
    the same with fixed hyper-parameters for the prior of an unfitted model."""
    if fixed:
        return ConstantKernel(1.0, constant_value_bounds="fixed") * RBF(
            1.0, length_scale_bounds="fixed")
    return ConstantKernel() * RBF()


class GaussianProcessRegressor(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Gaussian process regression: the posterior of ``f ~ GP(0, k)`` given noisy values.

    With ``K = k(X, X) + alpha * I`` factored as ``K = L L^T`` (Cholesky), the posterior at
    new points ``X*`` has mean ``k(X*, X) K^{-1} y`` and covariance
    ``k(X*, X*) - k(X*, X) K^{-1} k(X, X*)``, both from triangular solves with ``L``. The
    kernel's hyper-parameters are fitted (unless ``optimizer=None``) by maximising the log
    marginal likelihood ``-y^T K^{-1} y / 2 - sum log diag L - n log(2 pi) / 2`` with
    L-BFGS-B on its analytic gradient, from the kernel's initial values and
    ``n_restarts_optimizer`` starting points drawn log-uniformly within the bounds.

    Parameters
    ----------
    kernel : kernel instance, default=None
        From :mod:`skml.gaussian_process.kernels` (combine with ``+`` and ``*``) or one of
        scikit-learn's ``sklearn.gaussian_process.kernels`` (the same protocol); it is
        cloned, never modified. ``None`` means ``ConstantKernel() * RBF()``, both
        hyper-parameters fitted, as in scikit-learn (and, for the prior of an unfitted
        model, ``ConstantKernel(1.0, "fixed") * RBF(1.0, "fixed")``).
    alpha : float or array-like of shape (n_samples,), default=1e-10
        Added to the diagonal of ``K``: observation-noise variance, and jitter that keeps
        the Cholesky factorisation stable.
    optimizer : "fmin_l_bfgs_b", callable or None, default="fmin_l_bfgs_b"
        ``None`` keeps the kernel's hyper-parameters. A callable is called as
        ``optimizer(obj_func, initial_theta, bounds)`` and returns ``(theta_opt, func_min)``
        (``obj_func(theta, eval_gradient=True)`` returns the negative log marginal
        likelihood and its gradient), as in scikit-learn.
    n_restarts_optimizer : int, default=0
    normalize_y : bool, default=False
        Standardise the targets (mean 0, variance 1) before fitting; predictions are mapped
        back.
    copy_X_train : bool, default=True
        Store a copy of the training data (the model needs it to predict).
    n_targets : int, default=None
        Number of targets, used by :meth:`sample_y` before fitting (1 when None).
    random_state : int, RandomState or None, default=None
        Starting points of the restarts.
    verbose : int, default=0
        skml's addition: 1 shows a progress bar over the optimiser runs (the first from
        the kernel's values, then the restarts); 0 is silent.

    Attributes
    ----------
    X_train_, y_train_ : ndarray
        The training data (``y_train_`` normalised when ``normalize_y``).
    kernel_ : Kernel
        The kernel with the fitted hyper-parameters.
    L_ : ndarray of shape (n_samples, n_samples)
        Lower Cholesky factor of ``k(X, X) + alpha I``.
    alpha_ : ndarray of shape (n_samples,) or (n_samples, n_targets)
        ``K^{-1} y``, the weights of the mean prediction.
    log_marginal_likelihood_value_ : float
    n_features_in_ : int

    Raises
    ------
    ValueError
        For invalid parameters, NaN/infinite input, ``alpha`` of the wrong length, ``y``
        with a number of targets other than ``n_targets``, or restarts with infinite
        bounds.
    LinAlgError
        When ``k(X, X) + alpha I`` is not positive definite.

    References
    ----------
    C. E. Rasmussen and C. K. I. Williams, "Gaussian Processes for Machine Learning", MIT
    Press, 2006 (Algorithm 2.1, Section 5.4). H. Dai, "Note on Machine Learning"
    (preprint), Definition 2.29 and Remarks 2.15, 2.16.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.gaussian_process import GaussianProcessRegressor
    >>> from skml.gaussian_process.kernels import RBF
    >>> X = np.linspace(0, 5, 8)[:, None]
    >>> gp = GaussianProcessRegressor(RBF(1.0)).fit(X, np.sin(X[:, 0]))
    >>> mean, std = gp.predict(np.array([[2.5]]), return_std=True)
    >>> bool(abs(mean[0] - np.sin(2.5)) < 0.01 and std[0] < 0.01)
    True
    """

    _parameter_constraints = {
        # skml's kernels or scikit-learn's (sklearn.gaussian_process.kernels): the same
        # protocol (k(X, Y, eval_gradient), diag, theta, bounds, clone_with_theta)
        "kernel": [None, HasMethods(["__call__", "diag", "clone_with_theta"])],
        "alpha": [Interval(numbers.Real, 0, None, closed="left"), "array-like"],
        "optimizer": [StrOptions({"fmin_l_bfgs_b"}), callable, None],
        "n_restarts_optimizer": [Interval(numbers.Integral, 0, None, closed="left")],
        "normalize_y": ["boolean"],
        "copy_X_train": ["boolean"],
        "n_targets": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, kernel=None, *, alpha=1e-10, optimizer="fmin_l_bfgs_b",
                 n_restarts_optimizer=0, normalize_y=False, copy_X_train=True,
                 n_targets=None, random_state=None, verbose=0):
        store_init_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False  # predict and sample_y use the prior before fit
        return tags

    def _kernel(self, prior=False):
        """A fresh copy of the kernel to fit (``kernel`` itself is never modified)."""
        if self.kernel is None:
            return _default_kernel(fixed=prior)
        return clone(self.kernel)

    def _check_params(self):
        check_params(self)

    def fit(self, X, y):
        """Fit the GP: optimise the kernel (unless ``optimizer=None``) and factor ``K``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self : GaussianProcessRegressor
        """
        self._check_params()
        kernel = self._kernel()
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n_samples = X.shape[0]
        if self.n_targets is not None and y.ndim == 2 and y.shape[1] != self.n_targets:
            raise ValueError(
                f"n_targets={self.n_targets} but y has {y.shape[1]} targets.")
        alpha = np.asarray(self.alpha, dtype=np.float64)
        if alpha.ndim > 0 and alpha.shape[0] != n_samples:
            if alpha.shape[0] == 1:
                alpha = alpha[0]
            else:
                raise ValueError(
                    f"alpha must be a scalar or an array with one value per sample "
                    f"({n_samples}), got {alpha.shape[0]} values.")
        if np.any(alpha < 0) or not np.all(np.isfinite(alpha)):
            raise ValueError("alpha must be finite and >= 0.")
        self._alpha = alpha

        if self.normalize_y:
            self._y_train_mean = np.mean(y, axis=0)
            std = np.std(y, axis=0)
            self._y_train_std = np.where(std > 0, std, 1.0) if np.ndim(std) else (
                std if std > 0 else 1.0)
            y = (y - self._y_train_mean) / self._y_train_std
        else:
            shape = y.shape[1:]
            self._y_train_mean = np.zeros(shape) if shape else 0.0
            self._y_train_std = np.ones(shape) if shape else 1.0
        self.X_train_ = np.copy(X) if self.copy_X_train else X
        self.y_train_ = np.copy(y) if self.copy_X_train else y

        if self.optimizer is not None and kernel.n_dims > 0:
            def obj_func(theta, eval_gradient=True):
                if eval_gradient:
                    lml, grad = self._lml(kernel, theta, True)
                    return -lml, -grad
                return -self._lml(kernel, theta, False)

            bounds = kernel.bounds
            starts = [kernel.theta]
            if self.n_restarts_optimizer > 0:
                if not np.all(np.isfinite(bounds)):
                    raise ValueError(
                        "Restarts of the optimizer need finite hyper-parameter bounds.")
                rng = check_random_state(self.random_state)
                starts += [rng.uniform(bounds[:, 0], bounds[:, 1])
                           for _ in range(self.n_restarts_optimizer)]
            best = None
            for theta0 in progress(starts, total=len(starts), verbose=self.verbose,
                                   desc="GaussianProcessRegressor optimiser runs"):
                theta, value = self._optimize(obj_func, theta0, bounds)
                if best is None or value < best[1]:
                    best = (theta, value)
            kernel.theta = best[0]
            self.log_marginal_likelihood_value_ = -best[1]
        else:
            self.log_marginal_likelihood_value_ = self._lml(kernel, kernel.theta, False)
        self.kernel_ = kernel

        K = kernel(self.X_train_)
        K[np.diag_indices_from(K)] += alpha
        self.L_ = self._cholesky(K)
        self.alpha_ = linalg.cho_solve((self.L_, True), self.y_train_, check_finite=False)
        return self

    @staticmethod
    def _cholesky(K):
        try:
            return linalg.cholesky(K, lower=True, check_finite=False)
        except linalg.LinAlgError as exc:
            raise linalg.LinAlgError(
                f"The kernel matrix plus alpha on its diagonal is not positive definite "
                f"({exc}). Increase alpha (the noise level / jitter) or add a WhiteKernel."
            ) from exc

    def _optimize(self, obj_func, theta0, bounds):
        if callable(self.optimizer):
            theta, value = self.optimizer(obj_func, theta0, bounds)
            return np.asarray(theta, dtype=np.float64), float(value)
        res = optimize.minimize(obj_func, theta0, method="L-BFGS-B", jac=True, bounds=bounds)
        if not res.success:
            warnings.warn(f"The hyper-parameter optimisation did not converge: {res.message}",
                          ConvergenceWarning, stacklevel=3)
        return res.x, float(res.fun)

    def _lml(self, kernel, theta, eval_gradient, clone_kernel=True):
        """Log marginal likelihood (and its gradient in ``theta``), summed over targets.
        ``clone_kernel=False`` sets ``theta`` on ``kernel`` itself (scikit-learn's
        meaning) instead of on a copy."""
        if clone_kernel:
            k = kernel.clone_with_theta(theta)
        else:
            k = kernel
            k.theta = theta
        if eval_gradient:
            K, dK = k(self.X_train_, eval_gradient=True)
        else:
            K = k(self.X_train_)
        K[np.diag_indices_from(K)] += self._alpha
        try:
            L = linalg.cholesky(K, lower=True, check_finite=False)
        except linalg.LinAlgError:
            return (-np.inf, np.zeros_like(theta)) if eval_gradient else -np.inf
        y = self.y_train_
        Y = y[:, None] if y.ndim == 1 else y
        A = linalg.cho_solve((L, True), Y, check_finite=False)
        n = K.shape[0]
        lml = (-0.5 * np.einsum("ik,ik->", Y, A) - Y.shape[1] * np.log(np.diag(L)).sum()
               - 0.5 * n * Y.shape[1] * _LOG_2PI)
        if not eval_gradient:
            return float(lml)
        # d lml / d theta_j = 0.5 * tr((A A^T - m K^{-1}) dK_j), m targets
        K_inv = linalg.cho_solve((L, True), np.eye(n), check_finite=False)
        inner = A @ A.T - Y.shape[1] * K_inv
        grad = 0.5 * np.einsum("ij,ijk->k", inner, dK)
        return float(lml), grad

    def log_marginal_likelihood(self, theta=None, eval_gradient=False, clone_kernel=True):
        """Log marginal likelihood of the training data for log hyper-parameters ``theta``.

        Parameters
        ----------
        theta : array-like of shape (n_dims,), default=None
            ``None`` returns ``log_marginal_likelihood_value_``.
        eval_gradient : bool, default=False
            Also return the gradient with respect to ``theta``.
        clone_kernel : bool, default=True
            Evaluate on a copy of ``kernel_`` with ``theta``; False sets ``theta`` on
            ``kernel_`` itself (faster, but changes the fitted model), as in
            scikit-learn.

        Returns
        -------
        lml : float
        grad : ndarray of shape (n_dims,)
            Only when ``eval_gradient`` is True.
        """
        check_is_fitted(self)
        if theta is None:
            if eval_gradient:
                raise ValueError("Gradient can only be evaluated for theta!=None")
            return self.log_marginal_likelihood_value_
        theta = np.asarray(theta, dtype=np.float64)
        return self._lml(self.kernel_, theta, eval_gradient, clone_kernel)

    def predict(self, X, return_std=False, return_cov=False):
        """Posterior (or, before ``fit``, prior) mean, with its std or covariance.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
        return_cov : bool, default=False
            At most one of the two.

        Returns
        -------
        mean : ndarray of shape (n_samples,) or (n_samples, n_targets)
        std : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Only when ``return_std``.
        cov : ndarray of shape (n_samples, n_samples) or (n_samples, n_samples, n_targets)
            Only when ``return_cov``.
        """
        if return_std and return_cov:
            raise RuntimeError(
                "At most one of return_std or return_cov can be requested.")
        if not hasattr(self, "X_train_"):  # the prior
            kernel = self._kernel(prior=True)
            X = validate_data(self, X, reset=False, dtype=np.float64) \
                if hasattr(self, "n_features_in_") else np.asarray(X, dtype=np.float64)
            X = X[:, None] if X.ndim == 1 else X
            m = self.n_targets or 1
            shape = (X.shape[0],) if m == 1 else (X.shape[0], m)
            mean = np.zeros(shape)
            if return_cov:
                cov = kernel(X)
                return mean, (cov if m == 1 else np.repeat(cov[:, :, None], m, axis=2))
            if return_std:
                std = np.sqrt(np.maximum(kernel.diag(X), 0.0))
                return mean, (std if m == 1 else np.repeat(std[:, None], m, axis=1))
            return mean
        X = validate_data(self, X, reset=False, dtype=np.float64)
        K_trans = self.kernel_(X, self.X_train_)
        mean = K_trans @ self.alpha_
        mean = self._y_train_std * mean + self._y_train_mean
        if mean.ndim == 2 and mean.shape[1] == 1:
            mean = mean[:, 0]  # one target given as a column: (n,), as scikit-learn
        if not (return_std or return_cov):
            return mean
        V = linalg.solve_triangular(self.L_, K_trans.T, lower=True, check_finite=False)
        scale2 = np.asarray(self._y_train_std, dtype=np.float64) ** 2
        if return_cov:
            cov = self.kernel_(X) - V.T @ V
            if np.ndim(scale2) and scale2.size > 1:
                return mean, cov[:, :, None] * scale2
            return mean, cov * scale2.reshape(-1)[0] if np.ndim(scale2) else cov * scale2
        var = self.kernel_.diag(X) - np.einsum("ij,ij->j", V, V)
        var = np.maximum(var, 0.0)  # round-off can make it slightly negative
        if np.ndim(scale2) and scale2.size > 1:
            return mean, np.sqrt(var[:, None] * scale2)
        s2 = float(np.ravel(scale2)[0]) if np.ndim(scale2) else float(scale2)
        return mean, np.sqrt(var * s2)

    def sample_y(self, X, n_samples=1, random_state=0):
        """Draw functions from the GP at ``X``: the prior before ``fit``, the posterior after
        (Remark 2.15 of the notes).

        Parameters
        ----------
        X : array-like of shape (n_points, n_features)
        n_samples : int, default=1
        random_state : int, RandomState or None, default=0

        Returns
        -------
        y_samples : ndarray of shape (n_points, n_samples) or (n_points, n_targets, n_samples)
        """
        check_param(n_samples, "n_samples", types=(numbers.Integral,), min_val=1)
        rng = check_random_state(random_state)
        mean, cov = self.predict(X, return_cov=True)
        if mean.ndim == 1:
            return rng.multivariate_normal(mean, cov, n_samples).T
        return np.stack([rng.multivariate_normal(mean[:, t], cov[..., t], n_samples).T
                         for t in range(mean.shape[1])], axis=1)
