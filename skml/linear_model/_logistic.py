"""Logistic regression (Definition 3.1 of the notes): binary and multinomial (softmax),
with Newton, BFGS and L-BFGS solvers on scikit-learn's objective."""
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from scipy import optimize
from scipy.special import expit, logsumexp, softmax
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skml._kernels._loss import binary_logloss_residual
from skml.linear_model._base import (
    LinearClassifierProbaMixin,
    _check_finite_fit,
    _scaled_penalty,
    magnitude_scale,
)
from skml.linear_model._optimize import bfgs, lbfgs_l1, newton, newton_cg, prox_newton_l1
from skml.utils import (
    Interval,
    StrOptions,
    check_params,
    check_sample_weight,
    limit_blas_threads,
)
from skml.utils import store_init_params

__all__ = ["LogisticRegression"]

# A penalty weight (per unit of sample weight) beyond which the coefficients are 0 to
# working precision: the data are then fitted with intercepts only.
_HUGE_PENALTY = 1e250

# scikit-learn's words when a solver stops at max_iter (code that filters warnings by
# message keeps working)
_NOT_CONVERGED = {
    "lbfgs": "lbfgs failed to converge after {n_iter} iteration(s).",
    "liblinear": "Liblinear failed to converge, increase the number of iterations.",
    "newton-cg": "newton-cg failed to converge. Increase the number of iterations.",
    "newton-cholesky": "Newton solver did not converge after {n_iter} iterations.",
    "sag": "The max_iter was reached which means the coef_ did not converge.",
    "saga": "The max_iter was reached which means the coef_ did not converge.",
    "newton": "Newton solver did not converge after {n_iter} iterations.",
    "bfgs": "bfgs failed to converge after {n_iter} iteration(s).",
}

_SKLEARN_SOLVERS = ("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga")
_SOLVERS = _SKLEARN_SOLVERS + ("newton", "bfgs")
# the minimiser behind each solver name: (without an L1 term, with one)
_METHODS = {
    "lbfgs": ("lbfgs", None),
    "sag": ("lbfgs", None),
    "saga": ("lbfgs", "split-lbfgs"),
    "liblinear": ("lbfgs", "split-lbfgs"),
    "newton-cholesky": ("newton", None),
    "newton": ("newton", "prox-newton"),
    "newton-cg": ("newton-cg", None),
    "bfgs": ("bfgs", None),
}


def _weighted_gram(X, h, fit_intercept):
    """``Xa^T diag(h) Xa`` for ``Xa = [X, 1]`` (or ``X``), without forming ``Xa``."""
    if sp.issparse(X):  # (a dense p x p result, as scikit-learn's newton-cholesky)
        G = (X.T @ sp.csr_matrix(X.multiply(h[:, None]))).toarray()
    elif np.all(h >= 0):
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
        self.w = np.ascontiguousarray(sample_weight / self.S, dtype=np.float64)
        self.l2 = l2
        if self.binary:
            self.y = y_enc.astype(np.float64)
        else:
            self.y_enc = y_enc
            self.Y = np.zeros((self.n_samples, n_classes))
            self.Y[np.arange(self.n_samples), y_enc] = 1.0

    @property
    def size(self):
        return self.K * self.d

    def _weights(self, theta):
        """The penalised entries of ``theta`` (all but the intercepts): a view, (K, p)."""
        return theta.reshape(self.K, self.d)[:, :self.p]

    def _penalty(self, theta):
        W = self._weights(theta)
        return 0.5 * self.l2 * float(np.einsum("kj,kj->", W, W))

    def _add_penalty_grad(self, theta, grad):
        """``grad += l2 * theta`` on the penalised entries, in place (no d-vector is kept
        or allocated beyond one temporary)."""
        if self.l2:
            self._weights(grad)[...] += self.l2 * self._weights(theta)
        return grad

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

    def _binary_scores(self, theta):
        """The binary scores as a new contiguous float64 vector (the kernel writes it)."""
        return np.ascontiguousarray(self._scores(theta), dtype=np.float64)

    def _grad_from_residual(self, R):
        """``Xa^T R`` for per-sample residuals ``R`` ((n,) or (n, K)), flattened."""
        if self.binary:
            g = self.X.T @ R
            return np.append(g, R.sum()) if self.fit_intercept else g
        G = np.asarray(self.X.T @ R).T
        if self.fit_intercept:
            G = np.hstack([G, R.sum(axis=0)[:, None]])
        return G.ravel()

    def value(self, theta):
        if self.binary:
            loss = binary_logloss_residual(self._binary_scores(theta), self.y, self.w)
        else:
            Z = self._scores(theta)
            lse = logsumexp(Z, axis=1)
            loss = float(self.w @ (lse - Z[np.arange(self.n_samples), self.y_enc]))
        return loss + self._penalty(theta)

    def value_grad(self, theta):
        pen = self._penalty(theta)
        if self.binary:
            # one n-vector: the scores, overwritten with the residual by the kernel, and
            # released before the gradient gets its intercept entry (peak memory)
            R = self._binary_scores(theta)
            loss = binary_logloss_residual(R, self.y, self.w)
            r_sum = R.sum()
            grad = self.X.T @ R
            del R
            if self.fit_intercept:
                grad = np.append(grad, r_sum)
        else:
            Z = self._scores(theta)
            lse = logsumexp(Z, axis=1, keepdims=True)
            loss = float(self.w @ (lse[:, 0] - Z[np.arange(self.n_samples), self.y_enc]))
            R = np.exp(Z - lse)
            R -= self.Y
            R *= self.w[:, None]
            grad = self._grad_from_residual(R)
        return loss + pen, self._add_penalty_grad(theta, grad)

    def hessp_at(self, theta):
        """A function ``v -> H(theta) v`` (Hessian-vector products: two products with
        ``X`` per call, no ``d x d`` matrix)."""
        Z = self._scores(theta)
        if self.binary:
            pr = expit(Z)
            h = self.w * pr * (1.0 - pr)

            def hv(v):
                return self._add_penalty_grad(
                    v, self._grad_from_residual(h * self._scores_of(v)))
            return hv
        P = softmax(Z, axis=1)
        wP = self.w[:, None] * P

        def hv(v):
            Zv = self._scores_of(v)
            R = wP * (Zv - np.sum(P * Zv, axis=1, keepdims=True))
            return self._add_penalty_grad(v, self._grad_from_residual(R))
        return hv

    def _scores_of(self, v):
        """``Xa v``: the scores of a direction (its intercept entries included)."""
        return self._scores(v)

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
        if self.l2:
            idx = np.arange(self.K * self.d).reshape(self.K, self.d)[:, :self.p].ravel()
            H[idx, idx] += self.l2
        return H


class LogisticRegression(LinearClassifierProbaMixin, BaseEstimator):
    """Logistic regression: binary (sigmoid) or multinomial (softmax), with scikit-learn
    1.9's signature, solvers and penalties.

    Minimises scikit-learn's objective::

        C * sum_i s_i * loss_i + (1 - l1_ratio) / 2 * ||w||^2 + l1_ratio * ||w||_1

    with the log-loss (cross entropy, Remark 3.3 of the notes) and ``s_i`` the sample
    weights times the class weights; the intercepts are not penalised (except by
    ``solver="liblinear"``, which, like liblinear, learns the intercept as the weight of a
    constant feature ``intercept_scaling``). ``C=np.inf`` is no penalty. Two classes give
    one weight vector (the log-odds of ``classes_[1]``, Remark 3.2); more give one per
    class (softmax).

    Solvers (the problem is convex, so each reaches the same optimum to ``tol``):

    - ``"lbfgs"`` (default): ``scipy.optimize.minimize(method="L-BFGS-B")``; L2 or none.
    - ``"newton-cholesky"``: Newton's method with the exact Hessian and Cholesky solves
      (Definition 3.14 / Remark 3.14), step halving until the Armijo condition holds, a
      small multiple of the identity added to a singular Hessian (Remark 3.16); L2 or
      none. The Hessian has ``(n_classes * (n_features + 1))^2`` entries.
    - ``"newton-cg"``: truncated Newton (conjugate gradients on Hessian-vector products,
      no Hessian matrix); L2 or none.
    - ``"sag"``: accepted; solved by L-BFGS (scikit-learn's stochastic average gradient
      reaches the same optimum); L2 or none.
    - ``"saga"``: every penalty; L2/none by L-BFGS, L1 and elastic net by L-BFGS-B on the
      equivalent bound-constrained problem ``w = u - v``, ``u, v >= 0``.
    - ``"liblinear"``: two classes only; L1 or L2 with the penalised intercept, solved as
      ``"saga"`` does (``dual`` is accepted with L2: the dual's optimum is the primal's).
    - skml's own: ``"newton"`` (``"newton-cholesky"``, plus L1 and elastic net by
      proximal Newton with coordinate descent on the quadratic model) and ``"bfgs"``
      (BFGS written in skml, Definition 3.15; L2 or none).

    The stochastic solvers' ``random_state`` has no effect: every skml solver is
    deterministic. Each stops when the largest entry of the gradient of the objective
    divided by ``C * sum_i s_i`` (for L1: of its smallest subgradient) is at most ``tol``,
    or after ``max_iter`` iterations (with a ``ConvergenceWarning``).

    Parameters
    ----------
    penalty : {"l1", "l2", "elasticnet"} or None, default="deprecated"
        Deprecated in scikit-learn 1.8 (as here): use ``l1_ratio`` (0 for L2, 1 for L1,
        in between for the elastic net) and ``C=np.inf`` for no penalty. Setting it
        warns (``FutureWarning``) and takes precedence, as in scikit-learn.
    C : float, default=1.0
        Inverse penalty strength (> 0; ``np.inf`` for none).
    l1_ratio : float in [0, 1], default=0.0
        Elastic-net mixing: 0 is L2, 1 is L1. ``None`` is deprecated (treated as 0).
    dual : bool, default=False
        Only with ``solver="liblinear"`` and L2 (same optimum as the primal).
    tol : float, default=1e-4
    fit_intercept : bool, default=True
    intercept_scaling : float, default=1
        ``solver="liblinear"`` only: the value of the constant feature whose (penalised)
        weight gives the intercept.
    class_weight : dict, "balanced" or None, default=None
        Weights multiplying the sample weights of each class.
    random_state : int, RandomState instance or None, default=None
        Accepted for compatibility ("sag", "saga", "liblinear" shuffle in scikit-learn);
        skml's solvers are deterministic.
    solver : {"lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga", \
            "newton", "bfgs"}, default="lbfgs"
    max_iter : int, default=100
    verbose : int, default=0
        > 0 prints one line per fit (solver, iterations, convergence).
    warm_start : bool, default=False
        Start from the previous solution when the classes are unchanged.
    n_jobs : int, default=None
        No effect (deprecated in scikit-learn 1.8 as here: a value other than None warns).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Dense; :meth:`sparsify` turns it into a CSR matrix.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        For more than two classes the intercepts (and, without penalty, the coefficients)
        are only defined up to a common shift; they are centred to sum to zero.
    n_iter_ : ndarray of shape (1,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Notes
    -----
    Sparse ``X`` (CSR; other formats are converted to CSR) is used as is by every solver
    through products ``X v`` and ``X^T r`` ("newton-cholesky" and "newton" form the dense
    ``(n_features + 1)``-square Hessian, as scikit-learn's newton-cholesky does).

    Differences from scikit-learn 1.9, argued (its own tests that fail on them are listed
    in ``tests/compat/differences.py``): sparse matrices with 64-bit indices are accepted
    by every solver (scikit-learn's liblinear/sag/saga refuse them); ``"liblinear"`` fits
    data with values beyond 1e30 (X is rescaled by a power of two) instead of refusing
    it; a singular Hessian in ``"newton-cholesky"`` is regularised (Remark 3.16) rather
    than handed to lbfgs; ``random_state`` cannot change a solution.

    Raises
    ------
    ValueError
        For invalid parameters, a solver that does not support the penalty (scikit-learn's
        messages), liblinear with more than two classes, fewer than two classes, or
        sample/class weights that sum to zero.

    References
    ----------
    D. R. Cox, "The regression analysis of binary sequences", J. R. Stat. Soc. B 20(2),
    1958. J. Nocedal and S. J. Wright, "Numerical Optimization", Springer, 2006. R. H.
    Byrd, P. Lu, J. Nocedal and C. Zhu, "A limited memory algorithm for bound constrained
    optimization", SIAM J. Sci. Comput. 16(5), 1995. H. Dai, "Note on Machine Learning"
    (preprint), Definitions 3.1, 3.14, 3.15 and Remarks 3.2, 3.3, 3.16.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skml.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(solver="newton-cholesky").fit(X, y)
    >>> clf.coef_.shape, round(clf.score(X, y), 2)
    ((3, 4), 0.97)
    """

    _parameter_constraints = {
        "penalty": [StrOptions({"l1", "l2", "elasticnet", "deprecated"}), None],
        "C": [Interval(numbers.Real, 0, None, closed="right")],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "dual": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(numbers.Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "solver": [StrOptions(set(_SOLVERS))],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_jobs": ["n_jobs"],
    }

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, dual=False, tol=1e-4,
                 fit_intercept=True, intercept_scaling=1, class_weight=None,
                 random_state=None, solver="lbfgs", max_iter=100, verbose=0,
                 warm_start=False, n_jobs=None):
        store_init_params(self, locals())

    def _resolve_penalty(self):
        """``(l2 weight, l1 weight)`` multiplying ``1 / C`` (both 0 for no penalty), with
        scikit-learn 1.9's deprecations, warnings and solver checks."""
        l1_ratio = self.l1_ratio
        if self.penalty == "deprecated":
            if l1_ratio is None:
                warnings.warn(
                    "'l1_ratio=None' was deprecated in version 1.8 and will trigger an "
                    "error in 1.10. Use 0<=l1_ratio<=1 instead.", FutureWarning,
                    stacklevel=3)
            if l1_ratio is None or l1_ratio == 0:
                penalty = "l2"
            elif l1_ratio == 1:
                penalty = "l1"
            else:
                penalty = "elasticnet"
            if self.C == np.inf:
                penalty = None
        else:
            penalty = self.penalty
            warnings.warn(
                "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To "
                "avoid this warning, leave 'penalty' set to its default value and use "
                "'l1_ratio' or 'C' instead. Use l1_ratio=0 instead of penalty='l2', "
                "l1_ratio=1 instead of penalty='l1', l1_ratio set to a float between 0 "
                "and 1 instead of penalty='elasticnet', and C=np.inf instead of "
                "penalty=None.", FutureWarning, stacklevel=3)
        solver = self.solver
        if solver in _SKLEARN_SOLVERS:
            if solver not in ("liblinear", "saga") and penalty not in ("l2", None):
                raise ValueError(
                    f"Solver {solver} supports only 'l2' or None penalties, got {penalty} "
                    "penalty.")
            if penalty == "elasticnet" and solver != "saga":
                raise ValueError(
                    f"Only 'saga' solver supports elasticnet penalty, got solver={solver}.")
            if solver == "liblinear" and penalty is None:
                raise ValueError(
                    "C=np.inf as well as penalty=None is not supported for the liblinear "
                    "solver")
        elif solver == "bfgs" and penalty not in ("l2", None):
            raise ValueError(f"Solver bfgs supports only 'l2' or None penalties, got "
                             f"{penalty} penalty.")
        if solver != "liblinear" and self.dual:
            raise ValueError(f"Solver {solver} supports only dual=False, got dual={self.dual}")
        if penalty != "elasticnet" and l1_ratio is not None and 0 < l1_ratio < 1:
            warnings.warn("l1_ratio parameter is only used when penalty is 'elasticnet'. "
                          f"Got (penalty={penalty})", UserWarning, stacklevel=3)
        if (self.penalty == "l2" and l1_ratio != 0) or (
                self.penalty == "l1" and l1_ratio != 1):
            warnings.warn(f"Inconsistent values: penalty={self.penalty} with "
                          f"l1_ratio={l1_ratio}. penalty is deprecated. Please use "
                          "l1_ratio only.", UserWarning, stacklevel=3)
        if penalty == "elasticnet" and l1_ratio is None:
            raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
        if self.n_jobs is not None:
            warnings.warn(
                "'n_jobs' has no effect since 1.8 and will be removed in 1.10. You "
                f"provided 'n_jobs={self.n_jobs}', please leave it unspecified.",
                FutureWarning, stacklevel=3)
        if self.penalty is None:
            if self.C != 1.0:
                warnings.warn("Setting penalty=None will ignore the C and l1_ratio "
                              "parameters", UserWarning, stacklevel=3)
            return 0.0, 0.0
        if penalty is None:
            return 0.0, 0.0
        if penalty == "l2":
            return 1.0, 0.0
        if penalty == "l1":
            return 0.0, 1.0
        return 1.0 - float(l1_ratio), float(l1_ratio)

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

        Raises
        ------
        ValueError
            See the class docstring.
        """
        check_params(self)
        l2_part, l1_part = self._resolve_penalty()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], accept_sparse="csr")
        # the solvers work in float64; float32 data get float32 results (except with
        # liblinear, float64 as in scikit-learn). Sparse X stays CSR: every solver works
        # with products X v and X^T r (newton-cholesky forms the dense p x p Hessian).
        dtype = np.float64 if self.solver == "liblinear" else X.dtype
        X = X.astype(np.float64, copy=False) if sp.issparse(X) else \
            np.asarray(X, dtype=np.float64)
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {classes[0]!r}")
        liblinear = self.solver == "liblinear"
        if liblinear and len(classes) > 2:
            raise ValueError(
                "The 'liblinear' solver does not support multiclass classification "
                "(n_classes >= 3). Either use another solver or wrap the estimator in a "
                "OneVsRestClassifier to keep applying a one-versus-rest scheme.")
        sw = check_sample_weight(sample_weight, X.shape[0])
        if self.class_weight is not None:
            cw = compute_class_weight(self.class_weight, classes=classes, y=y,
                                      sample_weight=sample_weight)
            sw = sw * cw[y_enc]
        if not sw.sum() > 0:
            raise ValueError("The sample weights times class weights sum to zero.")
        n_classes = len(classes)
        n_features = X.shape[1]
        S = float(sw.sum())
        # far from 1 in magnitude, work on X / s (s a power of two): the same model has
        # coefficients s * w, an L2 penalty divided by s^2 and an L1 penalty by s
        x_scale = magnitude_scale(X)
        if x_scale != 1.0:
            X = X / x_scale
        fit_intercept = self.fit_intercept
        scaling = float(self.intercept_scaling) / x_scale
        if liblinear and fit_intercept:
            # liblinear's intercept: the penalised weight of a constant feature
            col = np.full((X.shape[0], 1), scaling)
            X = sp.hstack([X, col], format="csr") if sp.issparse(X) else np.hstack([X, col])
            fit_intercept = False
        inv_CS = 0.0 if self.C == np.inf else 1.0 / (self.C * S)
        l2 = _scaled_penalty(inv_CS * l2_part, x_scale, 2)
        l1 = _scaled_penalty(inv_CS * l1_part, x_scale, 1)
        if (l2_part or l1_part) and not (l2 < _HUGE_PENALTY and l1 < _HUGE_PENALTY):
            # the penalty overwhelms the loss (tiny data, or tiny C): the coefficients are
            # 0 to working precision, only the intercepts are fitted (and nothing is left
            # to penalise)
            X = X[:, :0]
            l2 = l1 = 0.0
        loss = _LogLoss(X, y_enc, n_classes, sw, fit_intercept, l2)
        # the loss keeps its own normalised weights and (binary) float labels: two
        # n-vectors less during the fit
        del sw, y_enc, y

        theta0 = np.zeros(loss.size)
        prev = getattr(self, "classes_", None)
        if (self.warm_start and hasattr(self, "coef_") and prev is not None
                and len(prev) == n_classes and np.array_equal(prev, classes)
                and self.coef_.shape[1] == n_features and X.shape[1] >= n_features):
            coef = np.asarray(self.coef_.toarray() if sp.issparse(self.coef_)
                              else self.coef_) * x_scale
            if liblinear and self.fit_intercept:
                W = np.hstack([coef, (self.intercept_ / scaling)[:, None]])
            elif fit_intercept:
                W = np.hstack([coef, self.intercept_[:, None]])
            else:
                W = coef
            if W.size == theta0.size:
                theta0 = W.ravel().copy()

        lam = None
        if l1 > 0:  # the L1 weight of each entry of theta: 0 on the intercepts
            lam = np.zeros(loss.size)
            loss._weights(lam)[...] = l1
        method = _METHODS[self.solver][lam is not None]
        if loss.size == 0:  # nothing to fit (no coefficient, no intercept)
            theta, n_iter, converged = theta0, 0, True
        elif self.max_iter == 0:  # the starting point, as it is
            theta, n_iter, converged = theta0, 0, False
        else:
            with limit_blas_threads():
                theta, n_iter, converged = self._solve(method, loss, theta0, lam)
        if self.verbose:
            print(f"[LogisticRegression] solver={self.solver!r} ({method}): {n_iter} "
                  f"iterations, {'converged' if converged else 'not converged'}")
        if not converged:
            if n_iter >= self.max_iter:
                msg = (f"{_NOT_CONVERGED[self.solver].format(n_iter=n_iter)} "
                       f"(LogisticRegression, solver={self.solver!r}: max_iter="
                       f"{self.max_iter} reached; increase max_iter or scale the data, "
                       "e.g. with StandardScaler.)")
            else:
                msg = (f"LogisticRegression (solver={self.solver!r}) stopped after {n_iter} "
                       "iterations: the line search found no further decrease before the "
                       f"gradient reached tol={self.tol:g} (a tolerance below what floating "
                       "point resolves, or an ill-conditioned problem).")
            warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        W = theta.reshape(loss.K, loss.d)
        coef = np.zeros((loss.K, n_features))
        n_used = min(X.shape[1], n_features)
        coef[:, :n_used] = W[:, :n_used] / x_scale
        _check_finite_fit(coef, "LogisticRegression")
        if liblinear and self.fit_intercept and X.shape[1] > n_features:
            intercept = W[:, n_features] * scaling
        elif fit_intercept:
            intercept = W[:, -1].copy()
        else:
            intercept = np.zeros(loss.K)
        if not loss.binary:
            # softmax is unchanged by a common shift: pick the centred representative
            intercept -= intercept.mean()
            if l1_part == 0:
                coef -= coef.mean(axis=0)
        self.classes_ = classes
        self.coef_ = coef.astype(dtype, copy=False)
        self.intercept_ = intercept.astype(dtype, copy=False)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        return self

    def _solve(self, method, loss, theta0, lam):
        tol, max_iter = float(self.tol), int(self.max_iter)
        if method == "newton":
            return newton(loss.value_grad, loss.hessian, theta0, tol=tol, max_iter=max_iter,
                          fun=loss.value)
        if method == "prox-newton":
            return prox_newton_l1(loss.value_grad, loss.hessian, theta0, lam, tol=tol,
                                  max_iter=max_iter, fun=loss.value)
        if method == "newton-cg":
            return newton_cg(loss.value_grad, loss.hessp_at, theta0, tol=tol,
                             max_iter=max_iter, fun=loss.value)
        if method == "bfgs":
            return bfgs(loss.value_grad, theta0, tol=tol, max_iter=max_iter)
        # L-BFGS-B through scipy ("lbfgs", or "split-lbfgs" with the L1 term)
        if lam is not None:
            return lbfgs_l1(loss.value_grad, theta0, lam, tol=tol, max_iter=max_iter)
        options = {"maxiter": max_iter, "maxls": 50, "gtol": tol,
                   "ftol": 64 * np.finfo(float).eps}
        res = optimize.minimize(loss.value_grad, theta0, method="L-BFGS-B", jac=True,
                                options=options)
        return res.x, int(min(res.nit, max_iter)), bool(res.success) and \
            res.nit <= max_iter

    def sparsify(self):
        """Store ``coef_`` as a ``scipy.sparse`` CSR matrix (worth it when most
        coefficients are zero, e.g. with an L1 penalty); returns self."""
        check_is_fitted(self)
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def densify(self):
        """Store ``coef_`` as a dense array again (undoes :meth:`sparsify`); returns
        self."""
        check_is_fitted(self)
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self
