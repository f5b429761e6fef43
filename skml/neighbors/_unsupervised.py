"""Unsupervised nearest-neighbour search."""
import numbers

from skml.neighbors._base import (
    FIT_X_DOC,
    SEARCH_ATTRS_DOC,
    SEARCH_PARAMS_DOC,
    SEARCH_RAISES_DOC,
    KNeighborsMixin,
    RadiusNeighborsMixin,
    _NeighborsBase,
)
from skml.utils import Interval, fill_doc, store_init_params

__all__ = ["NearestNeighbors"]


class NearestNeighbors(KNeighborsMixin, RadiusNeighborsMixin, _NeighborsBase):
    __doc__ = f"""Nearest-neighbour and radius search over a fitted set of points.

    ``fit`` stores the points (and builds a tree when one is used); :meth:`kneighbors`
    and :meth:`radius_neighbors` then answer queries, and the ``*_graph`` methods return
    the same answers as sparse matrices. Every algorithm ranks neighbours by the same
    exact distances and breaks ties by the smaller index.

    Parameters
    ----------
    n_neighbors : int, default=5
        Default number of neighbours for :meth:`kneighbors`.
    radius : float, default=1.0
        Default radius for :meth:`radius_neighbors`.
    {SEARCH_PARAMS_DOC}

    Attributes
    ----------
    {SEARCH_ATTRS_DOC}

    {SEARCH_RAISES_DOC}

    See Also
    --------
    KNeighborsClassifier, KNeighborsRegressor, KDTree, BallTree, kneighbors_graph

    References
    ----------
    J. H. Friedman, J. L. Bentley and R. A. Finkel, "An algorithm for finding best
    matches in logarithmic expected time", ACM Transactions on Mathematical Software
    3(3), 1977.
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.5.

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

    _parameter_constraints = {
        "n_neighbors": [Interval(numbers.Integral, 1, None)],
        "radius": [Interval(numbers.Real, 0, None)],
    }

    def __init__(self, *, n_neighbors=5, radius=1.0, algorithm="auto", leaf_size=30,
                 metric="minkowski", p=2, metric_params=None, n_jobs=None):
        store_init_params(self, locals())

    @fill_doc(fit_X=FIT_X_DOC)
    def fit(self, X, y=None):
        """Store the points (and build the tree when one is used).

        Parameters
        ----------
        {fit_X}
        y : ignored

        Returns
        -------
        self : NearestNeighbors

        Raises
        ------
        ValueError
            For invalid parameters, data or metric/algorithm combinations.
        """
        self._fit(X)
        return self
