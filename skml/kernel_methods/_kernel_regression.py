"""Nadaraya-Watson kernel regression: the weighted-sum predictor of Definition 2.31."""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.linear_model._base import magnitude_scale
from skml.metrics import pairwise_distances
from skml.utils import Interval, StrOptions, check_params, store_init_params

__all__ = ["KernelRegression"]

_KERNELS = ("rbf", "laplace", "linear")
_CHUNK = 512           # query rows per block in predict
_LOO_MAX_ROWS = 2000   # held-out rows used to score each bandwidth


def _weights(d2, kernel, h):
    """Kernel weights from squared distances ``d2`` (one row per query), rescaled per row
    so the nearest point has weight 1 (the normalised prediction is unchanged, and nothing
    underflows for small bandwidths). Rows with no point in a compact kernel's support fall
    back to their nearest training point(s)."""
    d2 = np.maximum(d2, 0.0)
    finite = np.isfinite(d2)
    d2min = np.min(np.where(finite, d2, np.inf), axis=1, keepdims=True)
    if kernel == "rbf":
        W = np.exp(-(d2 - d2min) / (2.0 * h * h))
    else:
        d = np.sqrt(d2)
        if kernel == "laplace":
            W = np.exp(-(d - np.sqrt(d2min)) / h)
        else:  # linear (triangular): 1 - d / h inside the support
            W = np.maximum(1.0 - d / h, 0.0)
            empty = W.sum(axis=1) <= 0
            if np.any(empty):
                W[empty] = (d2[empty] <= d2min[empty]).astype(np.float64)
    W[~finite] = 0.0
    return W


class KernelRegression(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Nadaraya-Watson kernel regression.

    Predicts the kernel-weighted average of the training targets (Definition 2.31 of the
    notes, with the weights normalised to sum to one)::

        f(x) = sum_i k_h(x_i, x) y_i / sum_i k_h(x_i, x)

    Kernels, with bandwidth ``h`` and Euclidean distance ``d = ||x - x_i||``:

    - ``"rbf"``: ``exp(-d^2 / (2 h^2))``
    - ``"laplace"``: ``exp(-d / h)``
    - ``"linear"``: ``max(0, 1 - d / h)``, the triangular kernel with compact support (the
      "linear" kernel of scikit-learn's ``KernelDensity``); a point with no training point
      within ``h`` gets the value of its nearest training point(s).

    When ``bandwidth`` is None it is chosen among ``n_bandwidths`` values, log-spaced from a
    quarter of the median nearest-neighbour distance to four times the median pairwise
    distance, by leave-one-out mean squared error (each held-out point predicted from all
    the others; at most 2,000 held-out points, drawn with ``random_state``).

    Parameters
    ----------
    kernel : {"rbf", "laplace", "linear"}, default="rbf"
    bandwidth : float or None, default=None
        ``h`` (> 0); None selects it by leave-one-out.
    n_bandwidths : int, default=30
        Size of the grid searched when ``bandwidth`` is None.
    random_state : int, RandomState or None, default=0
        Which held-out points score the bandwidths when there are more than 2,000.
    n_jobs : int or None, default=None
        Threads of the OpenMP distance kernel; ``None`` uses every core OpenMP offers
        (``OMP_NUM_THREADS`` is honoured), as scikit-learn's OpenMP-based estimators do,
        ``-1`` all CPUs; results are the same for any value.

    Attributes
    ----------
    bandwidth_ : float
        The bandwidth used.
    loo_bandwidths_, loo_mse_ : ndarray of shape (n_bandwidths,)
        The candidates and their leave-one-out errors (only when selected by leave-one-out).
    X_train_, y_train_ : ndarray
    n_features_in_ : int

    Raises
    ------
    ValueError
        For invalid parameters or NaN/infinite input.

    References
    ----------
    E. A. Nadaraya, "On estimating regression", Theory Probab. Appl. 9(1), 1964. G. S.
    Watson, "Smooth regression analysis", Sankhya A 26(4), 1964. H. Dai, "Note on Machine
    Learning" (preprint), Definition 2.31.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.kernel_methods import KernelRegression
    >>> X = np.linspace(0, 6, 60)[:, None]
    >>> reg = KernelRegression().fit(X, np.sin(X[:, 0]))
    >>> bool(abs(reg.predict([[1.5]])[0] - np.sin(1.5)) < 0.05)
    True
    """

    _parameter_constraints = {
        "kernel": [StrOptions(set(_KERNELS))],
        "bandwidth": [Interval(numbers.Real, 0, np.inf, closed="neither"), None],
        # each candidate costs a pass over (up to 2,000 x n_samples) distances
        "n_bandwidths": [Interval(numbers.Integral, 1, 10**6, closed="both")],
        "random_state": ["random_state"],
        "n_jobs": ["n_jobs"],
    }

    def __init__(self, kernel="rbf", bandwidth=None, *, n_bandwidths=30, random_state=0,
                 n_jobs=None):
        store_init_params(self, locals())

    def fit(self, X, y):
        """Store the training data and choose the bandwidth.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self : KernelRegression
        """
        check_params(self)
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        self.X_train_ = X
        self.y_train_ = y
        self._kernel = self.kernel  # predictions use the kernel of this fit
        # distances of data far from 1 in magnitude overflow (or vanish): work on X / s
        # for a power of two s, with the bandwidth h / s (the weights are unchanged)
        self._x_scale = s = magnitude_scale(X)
        self._X_scaled = X / s if s != 1.0 else X
        for name in ("loo_bandwidths_", "loo_mse_"):
            self.__dict__.pop(name, None)
        if self.bandwidth is not None:
            self.bandwidth_ = float(self.bandwidth)
            self._h = self.bandwidth_ / s
        else:
            self._h = self._loo_bandwidth(self._X_scaled, y)
            self.bandwidth_ = self._h * s
            if s != 1.0:
                self.loo_bandwidths_ = self.loo_bandwidths_ * s
        return self

    def _loo_bandwidth(self, X, y):
        n = X.shape[0]
        if n < 2:
            return 1.0
        rng = check_random_state(self.random_state)
        rows = np.arange(n) if n <= _LOO_MAX_ROWS else np.sort(
            rng.choice(n, _LOO_MAX_ROWS, replace=False))
        d2 = pairwise_distances(X[rows], X, metric="sqeuclidean", n_jobs=self.n_jobs)
        d2 = np.maximum(d2, 0.0)
        d2[np.arange(len(rows)), rows] = np.inf  # leave the point itself out
        pos = d2[np.isfinite(d2) & (d2 > 0)]
        if pos.size == 0:  # every sample at the same place
            return 1.0
        nn = np.sqrt(np.min(np.where(d2 > 0, d2, np.inf), axis=1))
        nn = nn[np.isfinite(nn)]
        lo = 0.25 * float(np.median(nn))
        hi = 4.0 * float(np.sqrt(np.median(pos)))
        grid = np.geomspace(lo, max(hi, lo * 1.01), self.n_bandwidths)
        Y = y.reshape(n, -1)
        target = Y[rows]
        mse = np.empty(len(grid))
        for i, h in enumerate(grid):
            W = _weights(d2, self.kernel, h)
            pred = (W @ Y) / W.sum(axis=1, keepdims=True)
            mse[i] = float(np.mean((pred - target) ** 2))
        self.loo_bandwidths_ = grid
        self.loo_mse_ = mse
        return float(grid[int(np.argmin(mse))])

    def predict(self, X):
        """Kernel-weighted average of the training targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if self._x_scale != 1.0:
            X = X / self._x_scale
        Y = self.y_train_.reshape(self.X_train_.shape[0], -1)
        out = np.empty((X.shape[0], Y.shape[1]))
        for start in range(0, X.shape[0], _CHUNK):
            stop = min(start + _CHUNK, X.shape[0])
            d2 = pairwise_distances(X[start:stop], self._X_scaled, metric="sqeuclidean",
                                    n_jobs=self.n_jobs)
            W = _weights(d2, self._kernel, self._h)
            out[start:stop] = (W @ Y) / W.sum(axis=1, keepdims=True)
        return out[:, 0] if self.y_train_.ndim == 1 else out
