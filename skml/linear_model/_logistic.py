"""Logistic regression (Definition 3.1 of the notes): binary and multinomial (softmax),
with Newton, BFGS and L-BFGS solvers on scikit-learn's objective."""
import numbers
import warnings

import numpy as np
from scipy import optimize
from scipy.special import expit, log_expit, logsumexp, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.linear_model._base import _check_finite_fit, _scaled_penalty, magnitude_scale
from skml.linear_model._optimize import bfgs, newton, prox_newton_l1
from skml.utils import (
    Interval,
    StrOptions,
    check_params,
    check_sample_weight,
    limit_blas_threads,
)

__all__ = ["LogisticRegression"]

# A penalty weight (per unit of sample weight) beyond which the coefficients are 0 to
# working precision: the data are then fitted with intercepts only.
_HUGE_PENALTY = 1e250

_SOLVER_PENALTIES = {
    "newton": ("l2", "l1", None),
    "bfgs": ("l2", None),
    "lbfgs": ("l2", "l1", None),
}


def _binary_loss_and_proba(z, y):
    """``log(1 + e^z) - y z`` and ``sigmoid(z)``, stably, sharing one ``exp``."""
    e = np.exp(-np.abs(z))
    loss = np.log1p(e)
    loss += np.maximum(z, 0.0)
    loss -= y * z
    inv = 1.0 / (1.0 + e)
    proba = np.where(z >= 0, inv, e * inv)
    return loss, proba


def _weighted_gram(X, h, fit_intercept):
    """``Xa^T diag(h) Xa`` for ``Xa = [X, 1]`` (or ``X``), without forming ``Xa``."""
    if np.all(h >= 0):
        A = X * np.sqrt(h)[:, None]
        G = A.T @ A  # symmetric rank-k update
    else:
        G = X.T @ (X * h[:, None])
    if not fit_intercept:
        return G
    p = X.shape[1]
    out = np.empty((p + 1, p + 1))
    out[:p, :p] = G
    out[:p, p] = out[p, :p] = X.T @ h
    out[p, p] = h.sum()
    return out


class _LogLoss:
    """The smooth part of the objective and its derivatives.

    ``f(theta) = (1 / S) * sum_i s_i * loss_i + (l2 / 2) * ||w||^2`` where ``S = sum_i s_i``
    and ``l2 = 1 / (C * S)`` (0 without an L2 penalty): scikit-learn's objective
    ``C * sum_i s_i loss_i + ||w||^2 / 2`` divided by ``C * S``, so both have the same
    minimiser. ``theta`` is ``[w, b]`` (binary) or the rows ``[W_k, b_k]`` of a
    ``(n_classes, n_features + 1)`` matrix, flattened (multinomial); without intercept the
    ``b`` entries are absent.
    """

    def __init__(self, X, y_enc, n_classes, sample_weight, fit_intercept, l2):
        self.X = X
        self.fit_intercept = fit_intercept
        self.n_samples, self.p = X.shape
        self.d = self.p + int(fit_intercept)
        self.binary = n_classes == 2
        self.K = 1 if self.binary else n_classes
        self.S = float(sample_weight.sum())
        self.w = sample_weight / self.S
        self.l2 = l2
        if self.binary:
            self.y = y_enc.astype(np.float64)
        else:
            self.y_enc = y_enc
            self.Y = np.zeros((self.n_samples, n_classes))
            self.Y[np.arange(self.n_samples), y_enc] = 1.0
        # which entries of theta are penalised (everything but the intercepts)
        pen = np.ones((self.K, self.d))
        if fit_intercept:
            pen[:, -1] = 0.0
        self.pen = pen.ravel()

    @property
    def size(self):
        return self.K * self.d

    def _penalty(self, theta):
        wp = theta * self.pen
        return 0.5 * self.l2 * float(wp @ wp), self.l2 * wp

    def _scores(self, theta):
        p = self.p
        if self.binary:
            z = self.X @ theta[:p]
            if self.fit_intercept:
                z += theta[p]
            return z
        W = theta.reshape(self.K, self.d)
        Z = self.X @ W[:, :p].T
        if self.fit_intercept:
            Z += W[:, p]
        return Z

    def _grad_from_residual(self, R):
        """``Xa^T R`` for per-sample residuals ``R`` ((n,) or (n, K)), flattened."""
        if self.binary:
            g = self.X.T @ R
            return np.append(g, R.sum()) if self.fit_intercept else g
        G = R.T @ self.X
        if self.fit_intercept:
            G = np.hstack([G, R.sum(axis=0)[:, None]])
        return G.ravel()

    def value(self, theta):
        if self.binary:
            loss = float(self.w @ _binary_loss_and_proba(self._scores(theta), self.y)[0])
        else:
            Z = self._scores(theta)
            lse = logsumexp(Z, axis=1)
            loss = float(self.w @ (lse - Z[np.arange(self.n_samples), self.y_enc]))
        return loss + self._penalty(theta)[0]

    def value_grad(self, theta):
        pen, pen_grad = self._penalty(theta)
        if self.binary:
            pointwise, proba = _binary_loss_and_proba(self._scores(theta), self.y)
            loss = float(self.w @ pointwise)
            grad = self._grad_from_residual(self.w * (proba - self.y))
        else:
            Z = self._scores(theta)
            lse = logsumexp(Z, axis=1, keepdims=True)
            loss = float(self.w @ (lse[:, 0] - Z[np.arange(self.n_samples), self.y_enc]))
            R = np.exp(Z - lse)
            R -= self.Y
            R *= self.w[:, None]
            grad = self._grad_from_residual(R)
        return loss + pen, grad + pen_grad

    def hessian(self, theta):
        if self.binary:
            pr = expit(self._scores(theta))
            H = _weighted_gram(self.X, self.w * pr * (1.0 - pr), self.fit_intercept)
        else:
            K, d = self.K, self.d
            P = softmax(self._scores(theta), axis=1)
            H = np.empty((K * d, K * d))
            for k in range(K):
                for m in range(k, K):
                    h = -self.w * P[:, k] * P[:, m]
                    if k == m:
                        h += self.w * P[:, k]
                    block = _weighted_gram(self.X, h, self.fit_intercept)
                    H[k * d:(k + 1) * d, m * d:(m + 1) * d] = block
                    if m != k:
                        H[m * d:(m + 1) * d, k * d:(k + 1) * d] = block.T
        H.flat[:: H.shape[0] + 1] += self.l2 * self.pen
        return H


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression: binary (sigmoid) or multinomial (softmax) with L2, L1 or no
    penalty.

    Minimises scikit-learn's objective ``C * sum_i s_i * loss_i + penalty(w)`` with the
    log-loss (cross entropy, Remark 3.3 of the notes), ``s_i`` the sample weights times the
    class weights, and ``penalty`` ``||w||^2 / 2`` (``"l2"``), ``||w||_1`` (``"l1"``) or 0
    (``None``); the intercepts are not penalised. Two classes give one weight vector (the
    log-odds of ``classes_[1]``, Remark 3.2); more give one per class (softmax).

    Solvers (all on the same objective, so they reach the same optimum):

    - ``"newton"``: Newton's method with the exact Hessian (Definition 3.14 / Remark 3.14),
      Cholesky solves, and step halving until the objective decreases enough (Armijo), which
      guards against the overshooting of the pure iteration; a singular or indefinite
      Hessian (Remark 3.16) gets a small multiple of the identity added. With
      ``penalty="l1"`` it is proximal Newton (coordinate descent on the quadratic model).
      The multinomial Hessian has ``(n_classes * (n_features + 1))^2`` entries: fine for
      tens of features and classes, heavy beyond.
    - ``"bfgs"``: BFGS (Definition 3.15), written in skml, with a strong-Wolfe line search;
      a dense ``d x d`` inverse-Hessian approximation. Penalties ``"l2"`` and ``None``.
    - ``"lbfgs"``: ``scipy.optimize.minimize(method="L-BFGS-B")``, the default. With
      ``penalty="l1"`` it solves the equivalent bound-constrained problem ``w = u - v``,
      ``u, v >= 0``.

    Every solver stops when the largest entry of the gradient of the objective divided by
    ``C * sum_i s_i`` (for L1: of its smallest subgradient) is at most ``tol``, or after
    ``max_iter`` iterations (with a ``ConvergenceWarning``).

    Parameters
    ----------
    penalty : {"l2", "l1"} or None, default="l2"
    C : float, default=1.0
        Inverse penalty strength (> 0); ignored when ``penalty=None``.
    tol : float, default=1e-4
    fit_intercept : bool, default=True
    class_weight : dict, "balanced" or None, default=None
        Weights multiplying the sample weights of each class.
    solver : {"lbfgs", "newton", "bfgs"}, default="lbfgs"
    max_iter : int, default=100
    warm_start : bool, default=False
        Start from the previous solution when the classes are unchanged.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
        For more than two classes the intercepts (and, without penalty, the coefficients)
        are only defined up to a common shift; they are centred to sum to zero, as
        scikit-learn's L-BFGS solution does.
    n_iter_ : ndarray of shape (1,)
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skml.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(solver="newton").fit(X, y)
    >>> clf.coef_.shape, round(clf.score(X, y), 2)
    ((3, 4), 0.97)
    """

    def __init__(self, penalty="l2", *, C=1.0, tol=1e-4, fit_intercept=True,
                 class_weight=None, solver="lbfgs", max_iter=100, warm_start=False):
        self.penalty = penalty
        self.C = C
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.solver = solver
        self.max_iter = max_iter
        self.warm_start = warm_start

    _parameter_constraints = {
        "penalty": [StrOptions({"l2", "l1"}), None],
        "C": [Interval(numbers.Real, 0, None, closed="neither")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "solver": [StrOptions(set(_SOLVER_PENALTIES))],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "warm_start": ["boolean"],
    }

    def _check_params(self):
        check_params(self)
        if self.penalty not in _SOLVER_PENALTIES[self.solver]:
            ok = [s for s, p in _SOLVER_PENALTIES.items() if self.penalty in p]
            raise ValueError(
                f"solver={self.solver!r} does not support penalty={self.penalty!r}; use "
                f"one of the solvers {ok}."
            )

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two distinct ones.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LogisticRegression
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "LogisticRegression needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {classes[0]!r}."
            )
        sw = check_sample_weight(sample_weight, X.shape[0])
        if self.class_weight is not None:
            cw = compute_class_weight(self.class_weight, classes=classes, y=y,
                                      sample_weight=sample_weight)
            sw = sw * cw[y_enc]
        if not sw.sum() > 0:
            raise ValueError("The sample weights times class weights sum to zero.")
        n_classes = len(classes)
        S = float(sw.sum())
        # far from 1 in magnitude, work on X / s (s a power of two): the same model has
        # coefficients s * w, an L2 penalty divided by s^2 and an L1 penalty by s
        x_scale = magnitude_scale(X)
        if x_scale != 1.0:
            X = X / x_scale
        strength = _scaled_penalty(1.0 / (self.C * S), x_scale, 2 if self.penalty == "l2" else 1)
        n_features = X.shape[1]
        if self.penalty is not None and not strength < _HUGE_PENALTY:
            # the penalty overwhelms the loss (tiny data, or tiny C): the coefficients are
            # 0 to working precision, only the intercepts are fitted (and nothing is left
            # to penalise)
            X = X[:, :0]
            strength = 0.0
        l2 = strength if self.penalty == "l2" else 0.0
        loss = _LogLoss(X, y_enc, n_classes, sw, self.fit_intercept, l2)

        theta0 = np.zeros(loss.size)
        prev = getattr(self, "classes_", None)
        if (self.warm_start and hasattr(self, "coef_") and prev is not None
                and len(prev) == n_classes and np.array_equal(prev, classes)
                and self.coef_.shape[1] == X.shape[1]):  # (0 columns: no warm start)
            W = np.hstack([self.coef_ * x_scale, self.intercept_[:, None]]) \
                if self.fit_intercept else self.coef_ * x_scale
            theta0 = W.ravel().copy()

        lam = strength * loss.pen if self.penalty == "l1" else None
        # The solvers' work is matrix-vector products (memory-bound) and, for Newton, one
        # n x d^2 Gram product per iteration: single-threaded BLAS is as fast on an idle
        # machine and much faster on a busy one (no threads spinning for a core).
        if loss.size == 0:  # nothing to fit (no coefficient, no intercept)
            theta, n_iter, converged = theta0, 0, True
        else:
            with limit_blas_threads():
                theta, n_iter, converged = self._solve(loss, theta0, lam)
        if not converged and self.max_iter > 0:
            if n_iter >= self.max_iter:
                msg = (f"did not converge in {self.max_iter} iterations; increase max_iter "
                       "or scale the data (e.g. with StandardScaler).")
            else:
                msg = (f"stopped after {n_iter} iterations: the line search found no further "
                       f"decrease before the gradient reached tol={self.tol:g} (a tolerance "
                       "below what floating point resolves, or an ill-conditioned problem).")
            warnings.warn(f"LogisticRegression (solver={self.solver!r}) {msg}",
                          ConvergenceWarning, stacklevel=2)
        W = theta.reshape(loss.K, loss.d)
        coef = np.zeros((loss.K, n_features))
        coef[:, : X.shape[1]] = W[:, : X.shape[1]] / x_scale
        _check_finite_fit(coef, "LogisticRegression")
        intercept = W[:, -1].copy() if self.fit_intercept else np.zeros(loss.K)
        if not loss.binary:
            # softmax is unchanged by a common shift: pick the centred representative
            intercept -= intercept.mean()
            if self.penalty != "l1":
                coef -= coef.mean(axis=0)
        self.classes_ = classes
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        return self

    def _solve(self, loss, theta0, lam):
        tol, max_iter = float(self.tol), int(self.max_iter)
        if self.solver == "newton":
            if lam is not None:
                return prox_newton_l1(loss.value_grad, loss.hessian, theta0, lam, tol=tol,
                                      max_iter=max_iter, fun=loss.value)
            return newton(loss.value_grad, loss.hessian, theta0, tol=tol, max_iter=max_iter,
                          fun=loss.value)
        if self.solver == "bfgs":
            return bfgs(loss.value_grad, theta0, tol=tol, max_iter=max_iter)
        # L-BFGS-B through scipy
        options = {"maxiter": max_iter, "maxls": 50, "gtol": tol,
                   "ftol": 64 * np.finfo(float).eps}
        if lam is None:
            res = optimize.minimize(loss.value_grad, theta0, method="L-BFGS-B", jac=True,
                                    options=options)
            theta = res.x
        else:
            d = theta0.size
            free = lam == 0

            def split(z):
                return z[:d] - z[d:]

            def fun(z):
                f, g = loss.value_grad(split(z))
                return f + float(lam @ (z[:d] + z[d:])), np.concatenate([g + lam, -g + lam])

            z0 = np.concatenate([np.maximum(theta0, 0), np.maximum(-theta0, 0)])
            bounds = [(None, None) if fr else (0, None) for fr in free]
            bounds += [(0, 0) if fr else (0, None) for fr in free]
            res = optimize.minimize(fun, z0, method="L-BFGS-B", jac=True, bounds=bounds,
                                    options=options)
            theta = split(res.x)
        n_iter = int(min(res.nit, max_iter))
        return theta, n_iter, bool(res.success) and res.nit <= max_iter

    def decision_function(self, X):
        """Log-odds (binary: of ``classes_[1]``) or per-class scores ``X w_k + b_k``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities (sigmoid for two classes, softmax otherwise).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p1 = expit(scores)
            return np.column_stack([1.0 - p1, p1])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return scores - logsumexp(scores, axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]
