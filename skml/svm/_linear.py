"""LinearSVC: the primal hinge-loss objective of a linear model, for large n."""
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.linalg import LinAlgError, cho_factor, cho_solve, lstsq
from scipy.sparse.linalg import LinearOperator, cg
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from skml._kernels import _smo
from skml.linear_model._base import (
    LinearClassifierMixin,
    _check_finite_fit,
    _scaled_penalty,
    magnitude_scale,
)
from skml.linear_model._optimize import lbfgs_l1, prox_newton_l1
from skml.svm._base import box_bounds, svm_sample_weight
from skml.utils import Interval, StrOptions, check_params, limit_blas_threads
from skml.utils import store_init_params

__all__ = ["LinearSVC"]

# Above this many weights the Newton system is solved by conjugate gradients instead of a
# Cholesky factorisation of the d x d generalised Hessian.
_DIRECT_NEWTON_MAX_D = 2000


class _Design:
    """``[X, bias]`` (dense or CSR ``X``) without forming it: the intercept's constant
    feature ``bias`` is appended implicitly (``bias == 0``: no intercept), so a sparse
    ``X`` is never copied or densified."""

    def __init__(self, X, bias):
        self.X = X
        self.bias = float(bias)
        self.p = X.shape[1]
        self.d = self.p + (1 if self.bias else 0)
        self.n = X.shape[0]

    def mv(self, w):
        out = np.asarray(self.X @ w[:self.p])
        if self.bias:
            out = out + self.bias * w[self.p]
        return out

    def rmv(self, r):
        g = np.asarray(self.X.T @ r)
        return np.append(g, self.bias * r.sum()) if self.bias else g

    def rows(self, mask):
        return _Design(self.X[mask], self.bias)

    def gram(self, c):
        """The dense ``d x d`` matrix ``[X, bias]^T diag(c) [X, bias]`` (c >= 0)."""
        root = np.sqrt(c)
        if sp.issparse(self.X):
            B = sp.csr_matrix(self.X.multiply(root[:, None]))
            G = (B.T @ B).toarray()
            cross = np.asarray(B.T @ root).ravel()
        else:
            B = self.X * root[:, None]
            G = B.T @ B
            cross = B.T @ root
        if not self.bias:
            return G
        out = np.empty((self.d, self.d))
        out[:self.p, :self.p] = G
        out[:self.p, self.p] = out[self.p, :self.p] = self.bias * cross
        out[self.p, self.p] = self.bias * self.bias * float(c.sum())
        return out


def _squared_hinge_newton(D, y, c, tol, max_iter):
    """min_w 1/2 ||w||^2 + sum_i c_i max(0, 1 - y_i w.x_i)^2 by a generalised Newton
    method with a backtracking line search (``D`` a :class:`_Design`).

    The objective is convex and once differentiable; its generalised Hessian is
    I + 2 X_A^T diag(c_A) X_A over the samples A inside the margin. Stops when
    ||grad|| <= tol * max(min(n_pos, n_neg), 1) / n * ||grad(0)|| (liblinear's rule).
    The Newton system is solved by Cholesky for up to 2,000 weights, else by conjugate
    gradients on products with the active rows (liblinear's trust-region Newton does the
    same). Returns (w, iterations, converged).
    """
    d = D.d
    w = np.zeros(d)
    n_pos = int(np.sum((y > 0) & (c > 0)))
    n_neg = int(np.sum((y < 0) & (c > 0)))
    n_eff = max(1, n_pos + n_neg)

    def evaluate(w):
        margin = 1.0 - y * D.mv(w)
        active = (margin > 0) & (c > 0)
        cm = np.where(active, c * margin, 0.0)
        value = 0.5 * float(w @ w) + float(cm @ margin)
        grad = w - 2.0 * D.rmv(cm * y)
        return value, grad, active

    value, grad, active = evaluate(w)
    stop = tol * max(min(n_pos, n_neg), 1) / n_eff * np.linalg.norm(grad)
    for it in range(1, max_iter + 1):
        if np.linalg.norm(grad) <= stop:
            return w, it - 1, True
        if d <= _DIRECT_NEWTON_MAX_D:
            H = D.rows(active).gram(2.0 * c[active])
            H[np.diag_indices(d)] += 1.0
            try:
                step = cho_solve(cho_factor(H), -grad)
            except LinAlgError:  # rounding at a huge C: the least-squares step
                step = lstsq(H, -grad, lapack_driver="gelsd")[0]
        else:
            # products with every row, the inactive ones weighted 0: no copy of the
            # active rows (a copy of most of X for a wide sparse X)
            c_act = np.where(active, 2.0 * c, 0.0)
            op = LinearOperator((d, d), matvec=lambda v: v + D.rmv(c_act * D.mv(v)),
                                dtype=np.float64)
            step, _ = cg(op, -grad, rtol=0.1, maxiter=200)
        slope = float(grad @ step)
        t = 1.0
        while True:
            new_value, new_grad, new_active = evaluate(w + t * step)
            if new_value <= value + 1e-4 * t * slope or t < 1e-10:
                break
            t *= 0.5
        w = w + t * step
        value, grad, active = new_value, new_grad, new_active
    return w, max_iter, bool(np.linalg.norm(grad) <= stop)


# (penalty, loss, dual) combinations that have a solver, as in liblinear
_SUPPORTED = {("l2", "hinge", True): True, ("l2", "squared_hinge", True): True,
              ("l2", "squared_hinge", False): True, ("l1", "squared_hinge", False): True}


def _check_combination(penalty, loss, dual):
    """scikit-learn's (liblinear's) error for an unsupported combination."""
    if (penalty, loss, dual) in _SUPPORTED:
        return
    if not any(p == penalty and lo == loss for p, lo, _ in _SUPPORTED):
        why = f"The combination of penalty='{penalty}' and loss='{loss}' is not supported"
    else:
        why = (f"The combination of penalty='{penalty}' and loss='{loss}' are not "
               f"supported when dual={dual}")
    raise ValueError(f"Unsupported set of arguments: {why}, Parameters: "
                     f"penalty={penalty!r}, loss={loss!r}, dual={dual!r}")


def _l1_squared_hinge(D, y, c, tol, max_iter):
    """min_w ||w||_1 + sum_i c_i max(0, 1 - y_i w.x_i)^2 (liblinear's L1-regularised
    L2-loss SVM) by proximal Newton on the generalised Hessian 2 X_A^T diag(c_A) X_A
    (coordinate descent on each quadratic model); the objective is divided by sum(c)
    so that ``tol`` is relative. Wider than ``_DIRECT_NEWTON_MAX_D`` weights (where the
    dense Hessian would not fit, e.g. TF-IDF features), L-BFGS-B on the split problem
    instead, which needs only gradients. Returns (w, iterations, converged)."""
    total = float(c.sum())

    def fun_grad(w):
        margin = 1.0 - y * D.mv(w)
        active = (margin > 0) & (c > 0)
        cm = np.where(active, c * margin, 0.0)
        return float(cm @ margin) / total, -2.0 * D.rmv(cm * y) / total

    def hess(w):
        active = ((1.0 - y * D.mv(w)) > 0) & (c > 0)
        return D.rows(active).gram(2.0 * c[active] / total)

    lam = np.full(D.d, 1.0 / total)
    if D.d > _DIRECT_NEWTON_MAX_D:
        # (tol / 10: at tol itself the split problem stops ~2e-4 above liblinear's
        # objective on TF-IDF data; at tol / 10 within ~1e-6, in liblinear's time)
        return lbfgs_l1(fun_grad, np.zeros(D.d), lam, tol=0.1 * tol, max_iter=max_iter)
    return prox_newton_l1(fun_grad, hess, np.zeros(D.d), lam, tol=tol, max_iter=max_iter)


class LinearSVC(LinearClassifierMixin, BaseEstimator):
    """Linear support vector classification on the primal hinge-type objective.

    Minimises, for each one-vs-rest problem (labels y_i in {-1, +1})::

        1/2 ||w||^2 + sum_i C_i loss(y_i (w.x_i + b))

    with the hinge loss max(0, 1 - t) of Definition 3.71 of the notes or its square
    (the default). As in liblinear the intercept is learned as the weight of an extra
    feature equal to ``intercept_scaling``, so it is regularised too. Two solvers:

    * ``dual=True``: dual coordinate descent (Hsieh et al. 2008) in Cython
      (``skml/_kernels/_smo.pyx``), one exact coordinate step per sample and epoch,
      random order, shrinking; works for both losses. Stops when the spread of the
      projected gradient is below ``tol``.
    * ``dual=False`` (squared hinge only): a generalised Newton method on the primal
      with a line search (Cholesky solve, or conjugate gradients for many features).

    Both reach the unique optimum of the strictly convex primal, which is also
    liblinear's, so ``coef_`` agrees with ``sklearn.svm.LinearSVC`` up to the tolerance.

    Parameters
    ----------
    penalty : {"l1", "l2"}, default="l2"
        ``"l1"`` (squared hinge, ``dual=False`` only, as in liblinear) minimises
        ``||w||_1 + sum_i C_i loss`` by proximal Newton.
    loss : {"hinge", "squared_hinge"}, default="squared_hinge"
        The loss on y (w.x + b).
    dual : "auto" or bool, default="auto"
        Solve the dual (coordinate descent) or the primal (Newton). ``"auto"`` is
        scikit-learn's rule: the dual when n_samples < n_features, unless the combination
        of penalty and loss only has the other form.
    tol : float, default=1e-4
        Stopping tolerance (see the solvers above).
    C : float, default=1.0
        Weight of the loss (> 0; ``np.inf`` is the hard margin).
    multi_class : {"ovr", "crammer_singer"}, default="ovr"
        One-vs-rest, or Crammer and Singer's joint multi-class SVM (solved by the
        sequential dual method; ``penalty``, ``loss`` and ``dual`` are then ignored, as
        in liblinear; two classes give ``w_1 - w_0``).
    fit_intercept : bool, default=True
        Learn an intercept.
    intercept_scaling : float, default=1.0
        Value of the synthetic feature whose weight gives the intercept (> 0). A larger
        value weakens the regularisation of the intercept.
    class_weight : dict or "balanced", default=None
        Multiply ``C`` by ``class_weight[c]`` for the samples of class ``c``.
    verbose : int, default=0
        Print a line per one-vs-rest problem (iterations, convergence).
    random_state : int, RandomState instance or None, default=None
        Order of the coordinate-descent sweeps (``dual=True``).
    max_iter : int, default=1000
        Epochs of coordinate descent, or Newton iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights; with two classes, the positive side is ``classes_[1]``.
    intercept_ : ndarray of shape (1,) or (n_classes,), or 0.0
        Intercepts (0.0 when ``fit_intercept=False``).
    n_iter_ : int
        The largest iteration count over the one-vs-rest problems.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Notes
    -----
    Sparse ``X`` (CSR; other formats are converted) is used as is: the dual solvers read
    CSR rows, the primal Newton works on sparse products, and the intercept's constant
    feature is never materialised.

    With ``class_weight`` and more than two classes, each sample keeps the weight of its
    own class in every one-vs-rest problem (liblinear gives the "rest" side weight 1).
    Sparse input is not supported. Expected failures of scikit-learn's estimator checks:
    none.

    Raises
    ------
    ValueError
        For invalid parameters or an unsupported (penalty, loss, dual) combination
        (liblinear's message), NaN/infinite input, a single class, or all weights
        non-positive.

    References
    ----------
    C.-J. Hsieh, K.-W. Chang, C.-J. Lin, S. S. Keerthi and S. Sundararajan, "A dual
    coordinate descent method for large-scale linear SVM", ICML 2008. R.-E. Fan, K.-W.
    Chang, C.-J. Hsieh, X.-R. Wang and C.-J. Lin, "LIBLINEAR: a library for large linear
    classification", JMLR 9, 2008. H. Dai, "Note on Machine Learning" (preprint),
    Definition 3.71.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skml.svm import LinearSVC
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = LinearSVC().fit(X, y)
    >>> clf.coef_.shape
    (3, 4)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    def __init__(self, penalty="l2", loss="squared_hinge", *, dual="auto", tol=1e-4,
                 C=1.0, multi_class="ovr", fit_intercept=True, intercept_scaling=1.0,
                 class_weight=None, verbose=0, random_state=None, max_iter=1000):
        store_init_params(self, locals())

    # predictions in float64 (liblinear's), sparse input as CSR
    _predict_dtype = (np.float64,)

    _parameter_constraints = {
        "penalty": [StrOptions({"l1", "l2"})],
        "loss": [StrOptions({"hinge", "squared_hinge"})],
        "dual": [StrOptions({"auto"}), "boolean"],
        "tol": [Interval(numbers.Real, 0.0, np.inf, closed="neither")],
        "C": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "multi_class": [StrOptions({"ovr", "crammer_singer"})],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(numbers.Real, 0.0, np.inf, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def _check_params(self):
        check_params(self)
        if self.dual != "auto" and self.multi_class == "ovr":
            _check_combination(self.penalty, self.loss, bool(self.dual))

    def _use_dual(self, n_samples, n_features):
        """scikit-learn's rule for ``dual="auto"``: the dual when there are fewer samples
        than features, unless the combination only has the other form."""
        if self.dual != "auto":
            return bool(self.dual)
        prefer = n_samples < n_features
        return prefer if _SUPPORTED.get((self.penalty, self.loss, prefer)) else not prefer

    def fit(self, X, y, sample_weight=None):
        """Fit one linear SVM per class (one for two classes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample multipliers of ``C``.

        Returns
        -------
        self : LinearSVC
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, order="C", accept_sparse="csr")
        check_classification_targets(y)
        sw = svm_sample_weight(sample_weight, X.shape[0])
        classes, y_ind = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got "
                f"{classes.shape[0]} class ({classes[0]!r})."
            )
        class_weight = compute_class_weight(self.class_weight, classes=classes, y=y,
                                            sample_weight=sw)
        # (C = inf is the hard margin: capped where the solvers' sums must stay finite;
        # beyond ~1e150 the solution is the hard-margin one to precision)
        C_all = np.minimum(box_bounds(self.C, sw, class_weight[y_ind]), 1e150)
        if not np.any(C_all > 0):
            raise ValueError("Invalid input - all samples have zero weight.")
        if np.unique(y_ind[C_all > 0]).shape[0] < 2:
            raise ValueError(
                "All samples with a positive weight belong to one class; LinearSVC "
                "needs at least two classes."
            )
        self.classes_ = classes
        # far from 1 in magnitude, solve on X / s (s a power of two): w = w' / s, and the
        # objective times s^2 has C s^2 (the synthetic feature becomes scaling / s)
        x_scale = magnitude_scale(X)
        if x_scale != 1.0:
            X = X / x_scale
            with np.errstate(over="ignore"):  # C s^2 = inf is capped: a hard margin
                C_all = np.minimum(_scaled_penalty(C_all, 1.0 / x_scale, 2), 1e150)
        scaling = float(self.intercept_scaling) / x_scale
        # the intercept's constant feature stays implicit (no copy of X)
        D = _Design(X, scaling if self.fit_intercept else 0.0)
        use_dual = self._use_dual(*X.shape)
        if self.multi_class == "ovr":
            _check_combination(self.penalty, self.loss, use_dual)
        rng = check_random_state(self.random_state)
        targets = [1] if classes.shape[0] == 2 else range(classes.shape[0])
        # the solvers' BLAS work is small factorisations and matrix-vector products:
        # single-threaded BLAS is as fast idle and far faster on a busy machine
        with limit_blas_threads():
            if self.multi_class == "crammer_singer":
                W, n_iter, converged = self._fit_crammer_singer(D, X, y_ind, C_all, rng,
                                                                classes.shape[0])
            else:
                W, n_iter, converged = self._fit_targets(D, X, targets, y_ind, C_all,
                                                         use_dual, rng, classes)
        if not converged:
            warnings.warn(
                "Liblinear failed to converge, increase the number of iterations. "
                f"(LinearSVC did not converge in max_iter={self.max_iter} iterations; "
                "scaling the data helps too.)", ConvergenceWarning, stacklevel=2)
        W = np.asarray(W)
        if self.fit_intercept:
            self.coef_ = np.ascontiguousarray(W[:, :-1]) / x_scale
            self.intercept_ = scaling * W[:, -1]
        else:
            self.coef_ = W / x_scale
            self.intercept_ = 0.0
        _check_finite_fit(self.coef_, "LinearSVC")
        _check_finite_fit(self.intercept_, "LinearSVC")
        self.n_iter_ = int(n_iter)
        return self

    def _fit_crammer_singer(self, D, X, y_ind, C_all, rng, n_classes):
        """One joint multi-class problem (penalty, loss and dual are ignored, as in
        liblinear); with two classes the weight vector is w_1 - w_0."""
        W = np.zeros((n_classes, D.d))
        if sp.issparse(X):
            csr = sp.csr_matrix(X)
            data = (np.ascontiguousarray(csr.data, dtype=np.float64),
                    np.ascontiguousarray(csr.indices, dtype=np.intp),
                    np.ascontiguousarray(csr.indptr, dtype=np.intp), X.shape[1])
        else:
            data = np.ascontiguousarray(X, dtype=np.float64)
        it, ok = _smo.linear_crammer_singer(
            data, np.ascontiguousarray(y_ind, dtype=np.intp), n_classes, C_all, W,
            float(self.tol), int(self.max_iter), int(rng.randint(np.iinfo(np.int32).max)),
            D.bias)
        if self.verbose:
            print(f"[LinearSVC] Crammer-Singer: {it} epochs"
                  f"{'' if ok else ' (not converged)'}")
        if n_classes == 2:
            W = W[1:] - W[:1]
        return list(W), it, ok

    def _fit_targets(self, D, X, targets, y_ind, C_all, use_dual, rng, classes):
        """One binary problem per target class: (weights, max iterations, converged)."""
        W, n_iter, converged = [], 0, True
        sparse_rows = None
        if use_dual and self.penalty == "l2" and sp.issparse(X):
            csr = sp.csr_matrix(X)
            sparse_rows = (np.ascontiguousarray(csr.data, dtype=np.float64),
                           np.ascontiguousarray(csr.indices, dtype=np.intp),
                           np.ascontiguousarray(csr.indptr, dtype=np.intp))
        for k in targets:
            ys = np.where(y_ind == k, 1.0, -1.0)
            if self.penalty == "l1":
                w, it, ok = _l1_squared_hinge(D, ys, C_all, float(self.tol),
                                              int(self.max_iter))
            elif use_dual:
                w = np.zeros(D.d)
                alpha = np.zeros(D.n)
                args = (ys, C_all, w, alpha, self.loss == "squared_hinge", float(self.tol),
                        int(self.max_iter), int(rng.randint(np.iinfo(np.int32).max)), D.bias)
                if sparse_rows is not None:
                    it, ok = _smo.linear_dual_cd_sparse(*sparse_rows, D.p, *args)
                else:
                    it, ok = _smo.linear_dual_cd(X, *args)
            else:
                w, it, ok = _squared_hinge_newton(D, ys, C_all, float(self.tol),
                                                  int(self.max_iter))
            if self.verbose:
                print(f"[LinearSVC] class {classes[k]!r}: {it} iterations"
                      f"{'' if ok else ' (not converged)'}")
            W.append(w)
            n_iter = max(n_iter, it)
            converged &= ok
        return W, n_iter, converged
