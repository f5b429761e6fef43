"""Unsupervised nearest-neighbour search."""
import numbers

from skml.neighbors._base import KNeighborsMixin, RadiusNeighborsMixin, _NeighborsBase
from skml.utils import Interval

__all__ = ["NearestNeighbors"]


class NearestNeighbors(KNeighborsMixin, RadiusNeighborsMixin, _NeighborsBase):
    """Nearest-neighbour and radius search over a fitted set of points.

    ``fit`` stores the points (and builds a KD-tree when it is used); :meth:`kneighbors`
    and :meth:`radius_neighbors` then answer queries, and the ``*_graph`` methods return
    the same answers as sparse matrices.

    Parameters
    ----------
    n_neighbors : int, default=5
        Default number of neighbours for :meth:`kneighbors`.
    radius : float, default=1.0
        Default radius for :meth:`radius_neighbors`.
    algorithm : {"auto", "brute", "kd_tree"}, default="auto"
        "auto" uses the KD-tree when the metric allows one (not cosine), the data have
        at most 15 features and ``n_neighbors < n_samples / 2``, and brute force
        otherwise.
    leaf_size : int, default=30
        Leaf size of the KD-tree; changes speed, never the result.
    metric : str, default="minkowski"
        "minkowski", "euclidean", "manhattan", "chebyshev", "cosine" (brute force only),
        "sqeuclidean" or an alias ("l2", "l1", "cityblock").
    p : float, default=2
        Order of the Minkowski metric (``>= 1``).
    metric_params : dict, default=None
        Only ``{"p": value}`` is understood.
    n_jobs : int, default=None
        OpenMP threads for the search (``None``: all cores). Results do not depend on it.

    Attributes
    ----------
    effective_metric_ : str
        The metric used ("minkowski" with p = 1, 2 or inf becomes "manhattan",
        "euclidean" or "chebyshev").
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
    KNeighborsClassifier, KNeighborsRegressor, KDTree

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neighbors import NearestNeighbors
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> nn = NearestNeighbors(n_neighbors=2).fit(X)
    >>> dist, ind = nn.kneighbors([[0.0, 0.2]])
    >>> ind
    array([[0, 1]])
    >>> nn.kneighbors(return_distance=False)  # each training point, itself left out
    array([[1, 2],
           [0, 3],
           [3, 0],
           [2, 1]])
    >>> nn.radius_neighbors([[3.0, 0.5]], radius=0.6, return_distance=False)
    array([array([2, 3])], dtype=object)
    """

    _parameter_constraints = {"radius": [Interval(numbers.Real, 0, None)]}

    def __init__(self, *, n_neighbors=5, radius=1.0, algorithm="auto", leaf_size=30,
                 metric="minkowski", p=2, metric_params=None, n_jobs=None):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Store the points (and build the KD-tree when it is used).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : NearestNeighbors
        """
        self._fit(X)
        return self
