"""Nearest-neighbours regression: the (weighted) mean target of the k nearest training
points, or of those within a radius."""
import numbers
import warnings

import numpy as np
from sklearn.base import RegressorMixin

from skml.decomposition._scaling import power_of_two_exponent

from skml.neighbors._base import (
    FIT_X_DOC,
    PREDICT_DOC,
    PREDICT_RAISES_DOC,
    SEARCH_ATTRS_DOC,
    SEARCH_PARAMS_DOC,
    SEARCH_RAISES_DOC,
    WEIGHTS_CONSTRAINT,
    KNeighborsMixin,
    RadiusNeighborsMixin,
    _get_radius_weights,
    _get_weights,
    _NeighborsBase,
)
from skml.utils import Interval, fill_doc, store_init_params

__all__ = ["KNeighborsRegressor", "RadiusNeighborsRegressor"]


class _RegressorBase(RegressorMixin, _NeighborsBase):

    @fill_doc(fit_X=FIT_X_DOC)
    def fit(self, X, y):
        """Store the training set (and build the tree when one is used).

        Parameters
        ----------
        {fit_X}
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : estimator

        Raises
        ------
        ValueError
            For invalid parameters, data or metric/algorithm combinations.
        """
        X, y = self._fit(X, y, multi_output=True, y_numeric=True)
        self._y = np.asarray(y, dtype=np.float64)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _mean(y, w):
    """Mean over axis 1 of y, (n, k) or (n, k, m), with weights w (n, k) or None."""
    if w is None:
        return np.mean(y, axis=1)
    if y.ndim == 2:
        return np.sum(y * w, axis=1) / np.sum(w, axis=1)
    return np.sum(y * w[:, :, None], axis=1) / np.sum(w, axis=1)[:, None]


def _overflow_free_mean(y, w):
    """``_mean(y, w)``, and where its sums overflow (targets or weights near the largest
    double: the weighted mean of |y| ~ 5e307 at distance 1e-3 was inf) the same mean of
    y divided by a power of two (exact) with the weights divided by their row's largest,
    scaled back: a mean never exceeds the largest |y|, so it is finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = _mean(y, w)
    if np.all(np.isfinite(out)):
        return out
    e = power_of_two_exponent(np.max(np.abs(y), initial=0.0))
    if w is not None:
        w = w / np.max(w, axis=1, keepdims=True)
    with np.errstate(over="ignore"):
        return np.ldexp(_mean(np.ldexp(y, -e), w), e)


class KNeighborsRegressor(KNeighborsMixin, _RegressorBase):
    __doc__ = f"""Regression by averaging the targets of the k nearest training points.

    The prediction for a query is the mean of its ``n_neighbors`` nearest training
    targets, or their weighted mean with ``weights="distance"`` (weights ``1 / d``) or a
    callable. Neighbours are found as in :class:`KNeighborsClassifier` (brute force or a
    tree, ranked by exact distances, ties by the smaller training index).

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours averaged; at most the number of training samples.
    weights : {{"uniform", "distance"}}, callable or None, default="uniform"
        As in :class:`KNeighborsClassifier`.
    {SEARCH_PARAMS_DOC}

    Attributes
    ----------
    {SEARCH_ATTRS_DOC}

    {SEARCH_RAISES_DOC}

    See Also
    --------
    KNeighborsClassifier, RadiusNeighborsRegressor, NearestNeighbors

    References
    ----------
    T. Cover and P. Hart, "Nearest neighbor pattern classification", IEEE Transactions
    on Information Theory 13(1), 1967.
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.5.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neighbors import KNeighborsRegressor
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0.0, 0.0, 1.0, 1.0])
    >>> KNeighborsRegressor(n_neighbors=2).fit(X, y).predict([[1.5]])
    array([0.5])
    """

    _parameter_constraints = {
        "n_neighbors": [Interval(numbers.Integral, 1, None)],
        "weights": WEIGHTS_CONSTRAINT,
    }

    def __init__(self, n_neighbors=5, *, weights="uniform", algorithm="auto", leaf_size=30,
                 p=2, metric="minkowski", metric_params=None, n_jobs=None):
        store_init_params(self, locals())

    @fill_doc(predict_doc=PREDICT_DOC)
    def predict(self, X):
        """The (weighted) mean target of each query's neighbours.

        {predict_doc}
        """
        if self.weights is None or self.weights == "uniform":
            ind = self.kneighbors(X, return_distance=False)
            return _overflow_free_mean(self._y[ind], None)
        dist, ind = self.kneighbors(X)
        return _overflow_free_mean(self._y[ind], _get_weights(dist, self.weights))


class RadiusNeighborsRegressor(RadiusNeighborsMixin, _RegressorBase):
    __doc__ = f"""Regression by averaging the targets of the training points within a
    radius.

    The prediction for a query is the (weighted) mean target of the training points
    within distance ``radius`` (inclusive, decided by exact distances). A query with no
    such point is predicted NaN, with a warning, as in scikit-learn.

    Parameters
    ----------
    radius : float, default=1.0
        Neighbourhood radius.
    weights : {{"uniform", "distance"}}, callable or None, default="uniform"
        As in :class:`KNeighborsClassifier`; the callable gets one query's array of
        distances at a time.
    {SEARCH_PARAMS_DOC}

    Attributes
    ----------
    {SEARCH_ATTRS_DOC}

    {SEARCH_RAISES_DOC}

    See Also
    --------
    KNeighborsRegressor, RadiusNeighborsClassifier, NearestNeighbors

    References
    ----------
    J. H. Friedman, J. L. Bentley and R. A. Finkel, "An algorithm for finding best
    matches in logarithmic expected time", ACM Transactions on Mathematical Software
    3(3), 1977.
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.5.

    Examples
    --------
    >>> from skml.neighbors import RadiusNeighborsRegressor
    >>> reg = RadiusNeighborsRegressor(radius=1.0).fit([[0], [1], [2], [3]], [0, 0, 1, 1])
    >>> reg.predict([[1.5]])
    array([0.5])
    """

    _parameter_constraints = {
        "radius": [Interval(numbers.Real, 0, None)],
        "weights": WEIGHTS_CONSTRAINT,
    }

    def __init__(self, radius=1.0, *, weights="uniform", algorithm="auto", leaf_size=30,
                 p=2, metric="minkowski", metric_params=None, n_jobs=None):
        store_init_params(self, locals())

    @fill_doc(predict_raises=PREDICT_RAISES_DOC)
    def predict(self, X):
        """The (weighted) mean target of the training points within ``radius``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), or
            (n_queries, n_samples_fit) for ``metric="precomputed"``, or None
            As in :meth:`KNeighborsRegressor.predict`.

        Returns
        -------
        y : ndarray of shape (n_queries,) or (n_queries, n_outputs)
            NaN for a query without neighbours (with a UserWarning).

        {predict_raises}
        """
        dist, ind = self.radius_neighbors(X)
        w = _get_radius_weights(dist, self.weights)
        y = self._y.reshape(self._y.shape[0], -1)
        out = np.full((len(ind), y.shape[1]), np.nan)
        for i, idx in enumerate(ind):
            if len(idx):
                out[i] = _overflow_free_mean(y[idx][None], None if w is None
                                             else w[i][None])[0]
        if np.isnan(out).any():
            warnings.warn("One or more samples have no neighbors within specified "
                          "radius; predicting NaN.")
        return out if self._y.ndim == 2 else out.ravel()
