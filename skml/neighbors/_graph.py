"""Neighbour graphs: the functions kneighbors_graph / radius_neighbors_graph and the
transformers that turn data into sparse neighbour graphs (for Isomap, t-SNE or
spectral methods given ``metric="precomputed"``)."""
import numbers

from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from skml.neighbors._base import (
    SEARCH_ATTRS_DOC,
    SEARCH_PARAMS_DOC,
    SEARCH_RAISES_DOC,
    KNeighborsMixin,
    RadiusNeighborsMixin,
    _check_mode,
    _NeighborsBase,
)
from skml.neighbors._unsupervised import NearestNeighbors
from skml.utils import Interval, StrOptions, store_init_params

__all__ = ["KNeighborsTransformer", "RadiusNeighborsTransformer", "kneighbors_graph",
           "radius_neighbors_graph"]


def _fitted(X, params, n_jobs):
    """X itself when it is a fitted NearestNeighbors whose metric is the one asked for
    (else a ValueError, as in scikit-learn), or a NearestNeighbors fitted on X."""
    if isinstance(X, NearestNeighbors):
        check_is_fitted(X)
        for name in ("metric", "p", "metric_params"):
            if getattr(X, name) != params[name]:
                raise ValueError(f"Got {params[name]!r} for {name}, while the estimator "
                                 f"has {getattr(X, name)!r} for the same parameter.")
        return X
    return NearestNeighbors(**params, n_jobs=n_jobs).fit(X)


def kneighbors_graph(X, n_neighbors, *, mode="connectivity", metric="minkowski", p=2,
                     metric_params=None, include_self=False, n_jobs=None):
    """The k-neighbours graph of the rows of X, as a sparse CSR matrix.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or a fitted NearestNeighbors
    n_neighbors : int
        Neighbours of each row.
    mode : {"connectivity", "distance"}, default="connectivity"
        Entries are 1 or the distances.
    metric, p, metric_params, n_jobs
        As in :class:`NearestNeighbors` (ignored when X is a fitted NearestNeighbors).
    include_self : bool, default=False
        Whether a row is its own first neighbour (at distance 0); otherwise each row's
        neighbours exclude itself.

    Returns
    -------
    A : sparse matrix of shape (n_samples, n_samples)

    Raises
    ------
    ValueError
        As :meth:`NearestNeighbors.kneighbors`, and for an unknown ``mode``.

    Examples
    --------
    >>> from skml.neighbors import kneighbors_graph
    >>> kneighbors_graph([[0.0], [1.0], [3.0]], 1).toarray()
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 1., 0.]])
    """
    _check_mode(mode)
    nn = _fitted(X, dict(n_neighbors=n_neighbors, metric=metric, p=p,
                         metric_params=metric_params), n_jobs)
    query = nn._fit_X if include_self else None
    return nn.kneighbors_graph(query, n_neighbors, mode=mode)


def radius_neighbors_graph(X, radius, *, mode="connectivity", metric="minkowski", p=2,
                           metric_params=None, include_self=False, n_jobs=None):
    """The graph of the rows of X within distance ``radius`` of each other, as a sparse
    CSR matrix.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or a fitted NearestNeighbors
    radius : float
        Neighbourhood radius (inclusive).
    mode : {"connectivity", "distance"}, default="connectivity"
        Entries are 1 or the distances.
    metric, p, metric_params, n_jobs
        As in :class:`NearestNeighbors` (ignored when X is a fitted NearestNeighbors).
    include_self : bool, default=False
        Whether a row is its own neighbour.

    Returns
    -------
    A : sparse matrix of shape (n_samples, n_samples)

    Raises
    ------
    ValueError
        As :meth:`NearestNeighbors.radius_neighbors`, and for an unknown ``mode``.

    Examples
    --------
    >>> from skml.neighbors import radius_neighbors_graph
    >>> radius_neighbors_graph([[0.0], [1.0], [3.0]], 1.5).toarray()
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """
    _check_mode(mode)
    nn = _fitted(X, dict(radius=radius, metric=metric, p=p, metric_params=metric_params),
                 n_jobs)
    query = nn._fit_X if include_self else None
    return nn.radius_neighbors_graph(query, radius, mode=mode)


class _GraphTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _NeighborsBase):

    _parameter_constraints = {"mode": [StrOptions({"distance", "connectivity"})]}

    def fit(self, X, y=None):
        """Store the points (and build the tree when one is used).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) for
            ``metric="precomputed"``
        y : ignored

        Returns
        -------
        self : estimator

        Raises
        ------
        ValueError
            For invalid parameters, data or metric/algorithm combinations.
        """
        self._fit(X)
        self._n_features_out = self.n_samples_fit_
        return self

    def fit_transform(self, X, y=None):
        """``fit(X).transform(X)``: the graph of X's rows, each its own neighbour."""
        return self.fit(X).transform(X)


class KNeighborsTransformer(KNeighborsMixin, _GraphTransformer):
    __doc__ = f"""Transform X into its sparse k-neighbours graph over the training points.

    Parameters
    ----------
    mode : {{"distance", "connectivity"}}, default="distance"
        Entries are the distances or 1.
    n_neighbors : int, default=5
        Neighbours of each query. With ``mode="distance"`` one more is computed, as in
        scikit-learn, so that ``fit_transform`` (where each point is its own first
        neighbour, at distance 0) keeps ``n_neighbors`` others.
    {SEARCH_PARAMS_DOC}

    Attributes
    ----------
    {SEARCH_ATTRS_DOC}

    {SEARCH_RAISES_DOC}

    See Also
    --------
    kneighbors_graph, RadiusNeighborsTransformer

    References
    ----------
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.5.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neighbors._graph import KNeighborsTransformer
    >>> X = np.array([[0.0], [1.0], [3.0]])
    >>> KNeighborsTransformer(n_neighbors=1).fit_transform(X).toarray()
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 2., 0.]])
    """

    _parameter_constraints = {"n_neighbors": [Interval(numbers.Integral, 1, None)]}

    def __init__(self, *, mode="distance", n_neighbors=5, algorithm="auto", leaf_size=30,
                 metric="minkowski", p=2, metric_params=None, n_jobs=None):
        store_init_params(self, locals())

    def transform(self, X):
        """The k-neighbours graph of X's rows over the training points.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)

        Returns
        -------
        Xt : sparse matrix of shape (n_queries, n_samples_fit)

        Raises
        ------
        ValueError
            As :meth:`kneighbors`.
        """
        check_is_fitted(self)
        add_one = self.mode == "distance"
        return self.kneighbors_graph(X, mode=self.mode,
                                     n_neighbors=self.n_neighbors + add_one)


class RadiusNeighborsTransformer(RadiusNeighborsMixin, _GraphTransformer):
    __doc__ = f"""Transform X into its sparse radius-neighbours graph over the training
    points.

    Parameters
    ----------
    mode : {{"distance", "connectivity"}}, default="distance"
        Entries are the distances or 1.
    radius : float, default=1.0
        Neighbourhood radius (inclusive).
    {SEARCH_PARAMS_DOC}

    Attributes
    ----------
    {SEARCH_ATTRS_DOC}

    {SEARCH_RAISES_DOC}

    See Also
    --------
    radius_neighbors_graph, KNeighborsTransformer

    References
    ----------
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.5.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neighbors._graph import RadiusNeighborsTransformer
    >>> X = np.array([[0.0], [1.0], [3.0]])
    >>> RadiusNeighborsTransformer(radius=1.0).fit_transform(X).toarray()
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """

    _parameter_constraints = {"radius": [Interval(numbers.Real, 0, None)]}

    def __init__(self, *, mode="distance", radius=1.0, algorithm="auto", leaf_size=30,
                 metric="minkowski", p=2, metric_params=None, n_jobs=None):
        store_init_params(self, locals())

    def transform(self, X):
        """The radius-neighbours graph of X's rows over the training points, each row's
        entries sorted by distance.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)

        Returns
        -------
        Xt : sparse matrix of shape (n_queries, n_samples_fit)

        Raises
        ------
        ValueError
            As :meth:`radius_neighbors`.
        """
        check_is_fitted(self)
        return self.radius_neighbors_graph(X, mode=self.mode, sort_results=True)
