"""k-nearest-neighbours regression."""
import numpy as np
from sklearn.base import RegressorMixin

from skml.neighbors._base import (
    KNeighborsMixin,
    WEIGHTS_CONSTRAINT,
    _get_weights,
    _NeighborsBase,
)

__all__ = ["KNeighborsRegressor"]


class KNeighborsRegressor(KNeighborsMixin, RegressorMixin, _NeighborsBase):
    """Regression by averaging the targets of the k nearest training points.

    The prediction for a query is the mean of its ``n_neighbors`` nearest training
    targets, or their weighted mean with ``weights="distance"`` (weights ``1 / d``).
    Neighbours are found as in :class:`KNeighborsClassifier` (brute force or KD-tree,
    ties by the smaller training index).

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours averaged; at most the number of training samples.
    weights : {"uniform", "distance"}, callable or None, default="uniform"
        As in :class:`KNeighborsClassifier`.
    algorithm : {"auto", "brute", "kd_tree"}, default="auto"
        As in :class:`KNeighborsClassifier`.
    leaf_size : int, default=30
        Leaf size of the KD-tree.
    p : float, default=2
        Order of the Minkowski metric (``>= 1``).
    metric : str, default="minkowski"
        As in :class:`KNeighborsClassifier`.
    metric_params : dict, default=None
        Only ``{"p": value}`` is understood.
    n_jobs : int, default=None
        OpenMP threads for the search (``None``: all cores).

    Attributes
    ----------
    effective_metric_ : str
        The metric used.
    effective_metric_params_ : dict
        ``{"p": p}`` for a general Minkowski metric, empty otherwise.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen in ``fit``, when ``X`` had string column names.
    n_samples_fit_ : int
        Number of training samples.

    See Also
    --------
    KNeighborsClassifier, NearestNeighbors

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neighbors import KNeighborsRegressor
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0.0, 0.0, 1.0, 1.0])
    >>> KNeighborsRegressor(n_neighbors=2).fit(X, y).predict([[1.5]])
    array([0.5])
    """

    _parameter_constraints = {"weights": WEIGHTS_CONSTRAINT}

    def __init__(self, n_neighbors=5, *, weights="uniform", algorithm="auto", leaf_size=30,
                 p=2, metric="minkowski", metric_params=None, n_jobs=None):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.metric = metric
        self.metric_params = metric_params
        self.n_jobs = n_jobs

    def fit(self, X, y):
        """Store the training set (and build the KD-tree when it is used).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : KNeighborsRegressor
        """
        X, y = self._fit(X, y, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        self._y = y
        self._check_n_neighbors_fit()
        return self

    def predict(self, X):
        """The (weighted) mean target of each query's neighbours.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)

        Returns
        -------
        y : ndarray of shape (n_queries,) or (n_queries, n_outputs)
        """
        if self.weights is None or self.weights == "uniform":
            ind = self.kneighbors(X, return_distance=False)
            return np.mean(self._y[ind], axis=1)
        dist, ind = self.kneighbors(X)
        w = _get_weights(dist, self.weights)
        y = self._y[ind]
        if y.ndim == 2:
            return np.sum(y * w, axis=1) / np.sum(w, axis=1)
        return np.sum(y * w[:, :, None], axis=1) / np.sum(w, axis=1)[:, None]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
