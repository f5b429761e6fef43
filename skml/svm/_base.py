"""What SVC and SVR share: hyper-parameter checks, kernels, and the calls into SMO."""
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_consistent_length
from sklearn.utils.validation import check_is_fitted, validate_data

from skml._kernels import _smo
from skml.linear_model._base import _scaled_penalty, magnitude_scale, progress
from skml.utils import (
    Interval,
    StrOptions,
    check_params,
    check_sample_weight,
    chunk_rows,
    effective_n_threads,
)

__all__ = ["KERNELS", "box_bounds", "kernel_matrix", "sparse_kernel_matrix",
           "svm_sample_weight"]

KERNELS = ("linear", "poly", "rbf", "sigmoid", "laplace", "precomputed")
KERNEL_CODES = _smo.KERNEL_CODES
# Without a user limit SMO still stops, after this many iterations (libsvm's safeguard).
_DEFAULT_MAX_ITER = 10_000_000


def kernel_matrix(X, Y, kernel, *, gamma, coef0=0.0, degree=3, n_threads=1):
    """``K[i, j] = k(X[i], Y[j])`` for a named kernel, through the Cython kernel.

    ``linear``: x.y; ``poly``: (gamma x.y + coef0)^degree; ``rbf``:
    exp(-gamma ||x - y||^2); ``sigmoid``: tanh(gamma x.y + coef0); ``laplace``:
    exp(-gamma ||x - y||_1). float32 inputs are read as float32 (both must then be
    float32), anything else as float64; the result is float64.
    """
    dtype = np.float32 if (X.dtype == np.float32 and Y.dtype == np.float32) else np.float64
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = np.ascontiguousarray(Y, dtype=dtype)
    out = np.empty((X.shape[0], Y.shape[0]), dtype=np.float64)
    _smo.kernel_block(X, Y, out, KERNEL_CODES[kernel], float(gamma), float(coef0),
                      int(degree), int(n_threads))
    return out


def _canonical_csr(X):
    """CSR float64 with sorted, duplicate-free column indices (the kernels merge rows);
    a copy only when ``X`` is not already so."""
    X = sp.csr_matrix(X, dtype=np.float64)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def _csr_tuple(X):
    """``(data, indices, indptr, n_features)`` of a canonical CSR matrix, with intp
    indices (what the Cython kernels index with)."""
    return (np.ascontiguousarray(X.data, dtype=np.float64),
            np.ascontiguousarray(X.indices, dtype=np.intp),
            np.ascontiguousarray(X.indptr, dtype=np.intp), X.shape[1])


def sparse_kernel_matrix(X, Y, kernel, *, gamma, coef0=0.0, degree=3, n_threads=1):
    """:func:`kernel_matrix` for sparse (CSR) ``X`` and/or ``Y``; float64 result."""
    X = _canonical_csr(X)
    Y = _canonical_csr(Y)
    out = np.empty((X.shape[0], Y.shape[0]), dtype=np.float64)
    xd, xi, xp, d = _csr_tuple(X)
    yd, yi, yp, _ = _csr_tuple(Y)
    _smo.kernel_block_sparse(xd, xi, xp, yd, yi, yp, d, out, KERNEL_CODES[kernel],
                             float(gamma), float(coef0), int(degree), int(n_threads))
    return out


def svm_sample_weight(sample_weight, n_samples):
    """Finite float64 weights (ones when None). As in libsvm, a sample whose weight is
    zero or negative is left out of the problem: negative weights become 0 here (the
    estimators report "all weights non-positive" with libsvm's message)."""
    if isinstance(sample_weight, numbers.Number):
        if sample_weight < 0:
            sample_weight = 0.0
    elif sample_weight is not None:
        sw = np.asarray(sample_weight)
        if sw.dtype.kind in "biuf":
            sample_weight = np.where(sw < 0, 0.0, sw)
    return check_sample_weight(sample_weight, n_samples, allow_zero_sum=True)


def box_bounds(C, sample_weight, class_factor=1.0):
    """Per-sample box bounds ``C * weight * class_factor``: exactly 0 where the weight
    is 0 (also for ``C=inf``, the hard margin, where ``inf * 0`` would be NaN)."""
    with np.errstate(invalid="ignore"):
        C_all = float(C) * sample_weight * class_factor
    return np.where(sample_weight * class_factor > 0, C_all, 0.0)


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _check_finite_model(*arrays):
    """scikit-learn's error when the solution overflowed (values near float max)."""
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ValueError(
            "The dual coefficients or intercepts are not finite. The input data may "
            "contain large values and need to be preprocessed."
        )


class _BaseSVM(BaseEstimator):
    """Kernel SVMs solved by SMO (``skml._kernels._smo``); not public."""

    _parameter_constraints = {
        "kernel": [StrOptions(set(KERNELS)), callable],
        # a C int in the kernel
        "degree": [Interval(numbers.Integral, 0, 2**31 - 1, closed="both")],
        "gamma": [StrOptions({"scale", "auto"}),
                  Interval(numbers.Real, 0.0, np.inf, closed="neither")],
        "coef0": [Interval(numbers.Real, -np.inf, np.inf, closed="neither")],
        "tol": [Interval(numbers.Real, 0.0, np.inf, closed="neither")],
        "C": [Interval(numbers.Real, 0.0, None, closed="neither")],  # inf: hard margin
        "shrinking": ["boolean"],
        "cache_size": [Interval(numbers.Real, 0.0, np.inf, closed="neither")],
        "verbose": ["verbose"],
        "max_iter": [Interval(numbers.Integral, -1, None, closed="left")],
    }

    # ---- parameters -------------------------------------------------------------------

    def _check_params(self):
        check_params(self)
        if self.max_iter == 0:
            raise ValueError("max_iter must be -1 (no limit) or a positive int, got 0.")

    def _fit_kernel(self, X, sample_weight):
        """Fix the kernel used by this fit: its name (or callable), coefficients, and the
        power-of-two scale ``s`` of the data.

        Data far from 1 in magnitude (|x| beyond 1e100 or below 1e-100) are read as
        ``X / s``: squared distances and dot products then neither overflow nor vanish.
        The kernel is the same function of the original data, with ``gamma`` multiplied by
        ``s^2`` (``s`` for laplace). ``gamma="scale"`` is ``1 / (n_features * var)`` with
        the sample-weighted variance of all entries of ``X`` (the plain ``X.var()`` when
        the weights are equal, so an integer weight acts like repeating the sample),
        computed on ``X / s``. The linear kernel's values cannot be rescaled away: a
        linear kernel that overflows is an error.
        """
        kernel = self.kernel
        self._kernel_fn = kernel  # what predictions use, whatever set_params does later
        self._coef0 = float(self.coef0)
        self._degree = int(self.degree)
        self._x_scale = 1.0
        if kernel == "precomputed" or callable(kernel):
            self._gamma = self._kernel_gamma = 1.0  # unused
            return X
        if kernel == "linear":
            values = X.data if sp.issparse(X) else X
            amax = float(np.max(np.abs(values), initial=0.0))
            if not np.isfinite(amax * amax * max(X.shape[1], 1)):
                raise ValueError(
                    f"The linear kernel overflows float64 on this data (max |x| = {amax:.3g}):"
                    " rescale X (e.g. with StandardScaler) or use another kernel."
                )
            self._gamma = self._kernel_gamma = self._resolve_gamma(X, sample_weight)
            return X
        s = magnitude_scale(X)
        Xs = X / s if s != 1.0 else X
        gamma = self._resolve_gamma(Xs, sample_weight)
        # gamma multiplies ||x - y||_1 (laplace) or a square (the others): on X / s it
        # becomes gamma * s or gamma * s^2 (products, never s**2, which may overflow)
        power = 1 if kernel == "laplace" else 2
        if isinstance(self.gamma, str) and self.gamma == "scale":
            self._kernel_gamma = gamma          # scale-free: computed on X / s
            self._gamma = _scaled_penalty(gamma, s, power)
        else:
            self._gamma = gamma
            self._kernel_gamma = _scaled_penalty(gamma, 1.0 / s, power)
        if not np.isfinite(self._kernel_gamma):
            raise ValueError(
                f"The {kernel} kernel overflows float64 on this data: gamma={gamma:.3g} "
                f"times the squared magnitude of X ({s:.3g}) is not finite. Rescale X "
                "(e.g. with StandardScaler) or use gamma='scale'."
            )
        self._x_scale = s
        return Xs

    def _resolve_gamma(self, X, sample_weight):
        if not isinstance(self.gamma, str):
            return float(self.gamma)
        if self.gamma == "auto":
            return 1.0 / X.shape[1]
        if sp.issparse(X):
            # E[x^2] - E[x]^2 over all entries (weighted by row), as scikit-learn does
            # for sparse data; never densified
            d = X.shape[1]
            w = sample_weight / sample_weight.sum()
            row_sum = np.asarray(X.sum(axis=1)).ravel()
            row_sq = np.asarray(X.multiply(X).sum(axis=1)).ravel()
            mean = float(w @ row_sum) / d
            var = max(float(w @ row_sq) / d - mean * mean, 0.0)
        elif np.all(sample_weight == sample_weight[0]):
            var = float(X.var())
        else:
            row_mean = X.mean(axis=1)
            mean = float(np.average(row_mean, weights=sample_weight))
            row_sq = ((X - mean) ** 2).mean(axis=1)
            var = float(np.average(row_sq, weights=sample_weight))
        return 1.0 / (X.shape[1] * var) if var != 0 else 1.0

    # ---- data -------------------------------------------------------------------------

    def _validate_fit_data(self, X, y, **kwargs):
        """``(X, y, n_samples)``. A callable kernel receives ``X`` as given (any
        container it understands, e.g. a list of strings), as in scikit-learn; otherwise
        ``X`` becomes a C-ordered float64 array."""
        if sp.issparse(X) and isinstance(self.kernel, str) and self.kernel == "precomputed":
            raise TypeError("Sparse precomputed kernels are not supported.")
        if callable(self.kernel):
            check_consistent_length(X, y)
            self._X_fit = X  # the callable's second argument at prediction time
            self._sparse = False
            n = X.shape[0] if hasattr(X, "shape") else len(X)
            return X, np.asarray(y), n
        precomputed = isinstance(self.kernel, str) and self.kernel == "precomputed"
        X, y = validate_data(self, X, y, dtype=np.float64, order="C",
                             accept_sparse=False if precomputed else "csr", **kwargs)
        self._sparse = sp.issparse(X)
        if self._sparse:
            X = _canonical_csr(X)
        return X, y, X.shape[0]

    def _validate_predict_data(self, X):
        check_is_fitted(self)
        if callable(self._kernel_fn):
            return X
        X = validate_data(self, X, dtype=np.float64, order="C", reset=False,
                          accept_sparse="csr")
        if sp.issparse(X):
            if not self._sparse:
                raise ValueError(
                    f"cannot use sparse input in {type(self).__name__!r} trained on dense "
                    "data")
            return _canonical_csr(X)
        return sp.csr_matrix(X) if self._sparse else X

    def _support_vectors(self, X):
        """``support_vectors_``: the support rows (CSR for sparse data, as scikit-learn),
        or an empty (0, 0) array for a precomputed or callable kernel."""
        if self._kernel_fn == "precomputed" or callable(self._kernel_fn):
            return np.empty((0, 0))
        return X[self.support_]

    # ---- kernels ----------------------------------------------------------------------

    def _train_kernel_data(self, X):
        """What the solver reads samples from: the (scaled) data, or the full kernel
        matrix. Call after :meth:`_fit_kernel`, with the ``X`` it returned.

        Returns ``(data, kernel code, negative_diagonal)``."""
        if callable(self._kernel_fn):
            K = self._call_kernel(X, X)
            neg = self._check_square_kernel(K, "the callable kernel's matrix")
            return K, KERNEL_CODES["precomputed"], neg
        if self._kernel_fn == "precomputed":
            if not np.all(np.isfinite(X)):
                raise ValueError("The precomputed kernel matrix contains NaN or infinity.")
            neg = self._check_square_kernel(X, "the precomputed kernel matrix")
            return X, KERNEL_CODES["precomputed"], neg
        if sp.issparse(X):  # the solver reads CSR rows (never densified)
            return _csr_tuple(X), KERNEL_CODES[self._kernel_fn], False
        return X, KERNEL_CODES[self._kernel_fn], False

    def _call_kernel(self, X, Y):
        K = self._kernel_fn(X, Y)
        K = np.ascontiguousarray(K.toarray() if sp.issparse(K) else K, dtype=np.float64)
        expected = (_n_rows(X), _n_rows(Y))
        if K.shape != expected:
            raise ValueError(
                f"The kernel callable returned an array of shape {K.shape}, expected "
                f"{expected}."
            )
        if not np.all(np.isfinite(K)):
            raise ValueError("The kernel callable returned NaN or infinite values.")
        return K

    @staticmethod
    def _check_square_kernel(K, what):
        """A training kernel matrix must be square and symmetric; returns True when its
        diagonal has a negative entry (then it is certainly not positive semi-definite)."""
        n, m = K.shape
        if n != m:
            raise ValueError(
                f"Precomputed matrix must be a square matrix. Input is a {n}x{m} matrix."
            )
        scale = max(1.0, float(np.abs(K).max(initial=0.0)))
        if float(np.abs(K - K.T).max(initial=0.0)) > 1e-8 * scale:
            raise ValueError(
                f"{what} is not symmetric: a kernel matrix must satisfy K[i, j] == K[j, i]."
            )
        return bool(np.any(np.diag(K) < 0))

    def _kernel_to(self, X, V, scaled=False):
        """K(X, V) for prediction: ``V`` are the support vectors (or, for a precomputed
        kernel, ``X`` already holds kernel values and ``V`` is unused). ``scaled``: both
        are already divided by the fit's scale."""
        if self._kernel_fn == "precomputed":
            return X[:, self.support_]
        if callable(self._kernel_fn):
            fitted = self._X_fit
            if isinstance(fitted, np.ndarray):
                return self._call_kernel(X, fitted[self.support_])
            return self._call_kernel(X, fitted)[:, self.support_]
        s = self._x_scale
        if s != 1.0 and not scaled:
            X, V = X / s, V / s
        if sp.issparse(X) or sp.issparse(V):
            return sparse_kernel_matrix(X, V, self._kernel_fn, gamma=self._kernel_gamma,
                                        coef0=self._coef0, degree=self._degree,
                                        n_threads=effective_n_threads(None))
        return kernel_matrix(X, V, self._kernel_fn, gamma=self._kernel_gamma,
                             coef0=self._coef0, degree=self._degree,
                             n_threads=effective_n_threads(None))

    def _row_chunks(self, n_rows, n_cols):
        step = chunk_rows(8 * max(1, n_cols), preferred=2048)
        for start in range(0, n_rows, step):
            yield slice(start, min(n_rows, start + step))

    # ---- SMO --------------------------------------------------------------------------

    def _max_iter(self, n_vars):
        if self.max_iter == -1:
            return max(_DEFAULT_MAX_ITER, 100 * n_vars)
        return int(self.max_iter)

    def _smo(self, data, code, index, y, p, C, report=True):
        """One SMO run; warns when it stopped at the iteration limit."""
        index = np.ascontiguousarray(index, dtype=np.intp)
        res = _smo.smo_solve(
            data, index, np.ascontiguousarray(y, dtype=np.float64),
            np.ascontiguousarray(p, dtype=np.float64),
            np.ascontiguousarray(C, dtype=np.float64), np.zeros(index.shape[0]),
            code, float(self._kernel_gamma), self._coef0, self._degree,
            float(self.tol), bool(self.shrinking), self._max_iter(index.shape[0]),
            float(self.cache_size),
        )
        if res["status"] == _smo.STATUS_CODES["max_iter"]:
            if self.max_iter == -1:
                msg = (f"SMO stopped after {res['n_iter']} iterations without reaching "
                       f"tol={self.tol}.")
            else:
                msg = (f"Solver terminated early (max_iter={self.max_iter}).  Consider "
                       "pre-processing your data with StandardScaler or MinMaxScaler.")
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        if self.verbose and report:
            print(f"[{type(self).__name__}] SMO on {index.shape[0]} variables: "
                  f"{res['n_iter']} iterations, objective {res['objective']:.6g}, "
                  f"rho {res['rho']:.6g}", flush=True)
        return res

    def _warn_not_psd(self, n_negative, negative_diagonal):
        """Warn when a user-supplied kernel matrix showed it is not positive
        semi-definite (a negative diagonal entry, or negative curvature met by SMO)."""
        if not (self._kernel_fn == "precomputed" or callable(self._kernel_fn)):
            return
        if n_negative or negative_diagonal:
            evidence = ("it has a negative diagonal entry" if negative_diagonal else
                        f"SMO met {n_negative} pair(s) with K_ii + K_jj - 2 K_ij < 0")
            warnings.warn(
                f"The kernel matrix is not positive semi-definite: {evidence}. The dual "
                "problem is then not convex; the solution is a stationary point (every "
                "pair of variables satisfies the KKT conditions to tol), not necessarily "
                "the global optimum.",
                UserWarning,
                stacklevel=3,
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        tags.input_tags.sparse = not (self.kernel == "precomputed" or callable(self.kernel))
        return tags
