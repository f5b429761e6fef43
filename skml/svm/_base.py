"""What SVC and SVR share: hyper-parameter checks, kernels, and the calls into SMO."""
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from skml._kernels import _smo
from skml.utils import check_param, chunk_rows, effective_n_threads

__all__ = ["KERNELS", "kernel_matrix"]

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


def check_sample_weight(sample_weight, n_samples):
    """Non-negative finite float64 weights of shape (n_samples,); ones when None."""
    if sample_weight is None:
        return np.ones(n_samples)
    if np.isscalar(sample_weight):
        sample_weight = np.full(n_samples, sample_weight)
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {sw.shape}, expected ({n_samples},)."
        )
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight must be finite (no NaN or inf).")
    if np.any(sw < 0):
        raise ValueError("sample_weight must be non-negative; got negative values.")
    return sw


class _BaseSVM(BaseEstimator):
    """Kernel SVMs solved by SMO (``skml._kernels._smo``); not public."""

    # ---- parameters -------------------------------------------------------------------

    def _check_params(self):
        if callable(self.kernel):
            kernel = "callable"
        else:
            kernel = check_param(self.kernel, "kernel", types=(str,), options=KERNELS)
        check_param(self.degree, "degree", types=(numbers.Integral,), min_val=0)
        if isinstance(self.gamma, str):
            check_param(self.gamma, "gamma", options=("scale", "auto"))
        else:
            check_param(self.gamma, "gamma", types=(numbers.Real,), min_val=0.0,
                        max_val=np.inf, closed="neither")
        check_param(self.coef0, "coef0", types=(numbers.Real,), min_val=-np.inf,
                    max_val=np.inf, closed="neither")
        check_param(self.tol, "tol", types=(numbers.Real,), min_val=0.0, max_val=np.inf,
                    closed="neither")
        check_param(self.C, "C", types=(numbers.Real,), min_val=0.0, max_val=np.inf,
                    closed="neither")
        check_param(self.shrinking, "shrinking", types=(bool, np.bool_))
        check_param(self.cache_size, "cache_size", types=(numbers.Real,), min_val=0.0,
                    max_val=np.inf, closed="neither")
        check_param(self.verbose, "verbose", types=(bool, numbers.Integral))
        check_param(self.max_iter, "max_iter", types=(numbers.Integral,), min_val=-1)
        if self.max_iter == 0:
            raise ValueError("max_iter must be -1 (no limit) or a positive int, got 0.")
        return kernel

    def _resolve_gamma(self, X, sample_weight):
        """The kernel coefficient; ``"scale"`` uses the sample-weighted variance of all
        entries of ``X`` (the plain ``X.var()`` when weights are equal), so that an
        integer weight acts exactly like repeating the sample."""
        if not isinstance(self.gamma, str):
            return float(self.gamma)
        if self.kernel == "precomputed" or callable(self.kernel):
            return 1.0  # unused
        if self.gamma == "auto":
            return 1.0 / X.shape[1]
        if np.all(sample_weight == sample_weight[0]):
            var = float(X.var())
        else:
            row_mean = X.mean(axis=1)
            mean = float(np.average(row_mean, weights=sample_weight))
            row_sq = ((X - mean) ** 2).mean(axis=1)
            var = float(np.average(row_sq, weights=sample_weight))
        return 1.0 / (X.shape[1] * var) if var != 0 else 1.0

    # ---- kernels ----------------------------------------------------------------------

    def _train_kernel_data(self, X):
        """What the solver reads samples from: the data, or the full kernel matrix.

        Returns ``(data, kernel code, negative_diagonal)``."""
        if callable(self.kernel):
            K = self._call_kernel(X, X)
            neg = self._check_square_kernel(K, "the callable kernel's matrix")
            return K, KERNEL_CODES["precomputed"], neg
        if self.kernel == "precomputed":
            neg = self._check_square_kernel(X, "the precomputed kernel matrix")
            return X, KERNEL_CODES["precomputed"], neg
        return X, KERNEL_CODES[self.kernel], False

    def _call_kernel(self, X, Y):
        K = np.ascontiguousarray(self.kernel(X, Y), dtype=np.float64)
        if K.shape != (X.shape[0], Y.shape[0]):
            raise ValueError(
                f"The kernel callable returned an array of shape {K.shape}, expected "
                f"{(X.shape[0], Y.shape[0])}."
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

    def _kernel_to(self, X, V):
        """K(X, V) for prediction: ``V`` are the support vectors (or, for a precomputed
        kernel, ``X`` already holds kernel values and ``V`` is unused)."""
        if self.kernel == "precomputed":
            return X[:, self.support_]
        if callable(self.kernel):
            return self._call_kernel(X, V)
        return kernel_matrix(X, V, self.kernel, gamma=self._gamma, coef0=self.coef0,
                             degree=self.degree, n_threads=effective_n_threads(None))

    def _row_chunks(self, n_rows, n_cols):
        step = chunk_rows(8 * max(1, n_cols), preferred=2048)
        for start in range(0, n_rows, step):
            yield slice(start, min(n_rows, start + step))

    # ---- SMO --------------------------------------------------------------------------

    def _max_iter(self, n_vars):
        if self.max_iter == -1:
            return max(_DEFAULT_MAX_ITER, 100 * n_vars)
        return int(self.max_iter)

    def _smo(self, data, code, index, y, p, C):
        """One SMO run; warns when it stopped at the iteration limit."""
        index = np.ascontiguousarray(index, dtype=np.intp)
        res = _smo.smo_solve(
            data, index, np.ascontiguousarray(y, dtype=np.float64),
            np.ascontiguousarray(p, dtype=np.float64),
            np.ascontiguousarray(C, dtype=np.float64), np.zeros(index.shape[0]),
            code, float(self._gamma), float(self.coef0), int(self.degree),
            float(self.tol), bool(self.shrinking), self._max_iter(index.shape[0]),
            float(self.cache_size),
        )
        if res["status"] == 1:
            if self.max_iter == -1:
                msg = (f"SMO stopped after {res['n_iter']} iterations without reaching "
                       f"tol={self.tol}.")
            else:
                msg = (f"Solver terminated early (max_iter={self.max_iter}). Consider "
                       "pre-processing your data with StandardScaler or MinMaxScaler.")
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        if self.verbose:
            print(f"[{type(self).__name__}] SMO: {res['n_iter']} iterations, "
                  f"objective {res['objective']:.6g}, rho {res['rho']:.6g}")
        return res

    def _warn_not_psd(self, n_negative, negative_diagonal):
        """Warn when a user-supplied kernel matrix showed it is not positive
        semi-definite (a negative diagonal entry, or negative curvature met by SMO)."""
        if not (self.kernel == "precomputed" or callable(self.kernel)):
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
        return tags
