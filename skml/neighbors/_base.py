"""What the neighbour estimators share: parameters, the choice of algorithm, kneighbors and
radius_neighbors over the brute-force kernel or the KD-tree."""
import numbers

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.metrics import PAIRWISE_METRICS, kneighbors_brute
from skml.metrics._pairwise import _metric_code, radius_brute
from skml.neighbors._kd_tree import KDTree
from skml.utils import (
    Interval,
    StrOptions,
    check_param,
    check_params,
    effective_n_threads,
)

__all__ = ["AUTO_MAX_FEATURES", "KNeighborsMixin", "RadiusNeighborsMixin"]

ALGORITHMS = ("auto", "brute", "kd_tree")

#: ``algorithm="auto"`` uses the KD-tree up to this many features (and brute force above).
AUTO_MAX_FEATURES = 15


def _get_weights(dist, weights):
    """Neighbour weights from their distances: None for "uniform" (all equal), ``1/d``
    for "distance" (a query that sits on training points gets weight 1 on those points
    and 0 on the others), or whatever the callable returns, checked: the right shape,
    finite, and not all zero for any query (no vote or mean is defined then)."""
    if weights is None or weights == "uniform":
        return None
    if weights == "distance":
        with np.errstate(divide="ignore"):
            w = 1.0 / dist
        on_point = np.isinf(w)
        rows = on_point.any(axis=1)
        w[rows] = on_point[rows]
    else:
        w = np.asarray(weights(dist), dtype=np.float64)
        if w.shape != dist.shape:
            raise ValueError(
                f"The weights callable must return an array of the distances' shape "
                f"{dist.shape}, got {w.shape}."
            )
        if not np.all(np.isfinite(w)):
            raise ValueError("The weights callable returned NaN or infinite weights.")
    if w.shape[1] and np.any(np.all(w == 0, axis=1)):
        raise ValueError(
            "All neighbors of some sample are getting zero weights; modify 'weights' "
            "to avoid this case if you are using a user-defined function."
        )
    return w


#: The ``weights`` parameter of the classifiers and regressors.
WEIGHTS_CONSTRAINT = [StrOptions({"uniform", "distance"}), callable, None]


class _NeighborsBase(BaseEstimator):
    """Parameters, fit-time choice of algorithm and the fitted search structure.

    Subclasses define ``__init__`` with the parameters they expose; every one of them has
    ``n_neighbors``, ``algorithm``, ``leaf_size``, ``metric``, ``p``, ``metric_params``
    and ``n_jobs``.
    """

    _parameter_constraints = {
        "n_neighbors": [Interval(numbers.Integral, 1, None)],
        "algorithm": [StrOptions(set(ALGORITHMS))],
        "leaf_size": [Interval(numbers.Integral, 1, None)],
        "metric": [StrOptions(set(PAIRWISE_METRICS))],
        "p": [Interval(numbers.Real, 1, None)],
        "metric_params": [dict, None],
        "n_jobs": ["n_jobs"],
    }

    def _effective_metric(self):
        """(effective_metric_, effective_metric_params_) as scikit-learn names them:
        minkowski with p = 1, 2 or inf becomes manhattan, euclidean or chebyshev."""
        if self.metric_params is not None and not isinstance(self.metric_params, dict):
            raise TypeError(
                f"metric_params must be a dict or None, got {self.metric_params!r}."
            )
        params = dict(self.metric_params or {})
        p = params.pop("p", self.p)
        if params:
            raise ValueError(
                f"metric_params supports only the key 'p', got {sorted(params)}."
            )
        check_param(p, "p", types=(numbers.Real,), min_val=1)
        metric, out = self.metric, {}
        if metric == "minkowski":
            if p == 1:
                metric = "manhattan"
            elif p == 2:
                metric = "euclidean"
            elif np.isinf(p):
                metric = "chebyshev"
            else:
                out = {"p": float(p)}
        return metric, out

    def _fit(self, X, y=None, **validate_kwargs):
        """Validate the parameters and X (and y), pick the algorithm, build the tree."""
        check_params(self)
        self.effective_metric_, self.effective_metric_params_ = self._effective_metric()
        if y is None:
            X = validate_data(self, X, dtype=np.float64, order="C")
        else:
            X, y = validate_data(self, X, y, dtype=np.float64, order="C", **validate_kwargs)
        self._fit_X = X
        self.n_samples_fit_ = X.shape[0]
        self._fit_method = self._choose_algorithm(X.shape)
        self._tree = None
        if self._fit_method == "kd_tree":
            self._tree = KDTree(X, leaf_size=self.leaf_size, metric=self.effective_metric_,
                                p=self._p(), n_jobs=self.n_jobs)
        return X, y

    def _p(self):
        return self.effective_metric_params_.get("p", 2.0)

    def _choose_algorithm(self, shape):
        """The rule of ``algorithm="auto"``: the KD-tree when the metric has one, the data
        have at most AUTO_MAX_FEATURES features and n_neighbors < n_samples / 2; brute
        force otherwise (in high dimension a tree visits most leaves anyway, and for k
        near n every query needs most points)."""
        if self.algorithm != "auto":
            return self.algorithm  # KDTree refuses cosine itself, saying why
        n_samples, n_features = shape
        if (self.effective_metric_ != "cosine" and n_features <= AUTO_MAX_FEATURES
                and self.n_neighbors < n_samples // 2):
            return "kd_tree"
        return "brute"

    def _check_query(self, X):
        """(X to search, whether it is the training set itself)."""
        check_is_fitted(self)
        if X is None:
            return self._fit_X, True
        return validate_data(self, X, dtype=np.float64, order="C", reset=False), False


class KNeighborsMixin:
    """kneighbors and kneighbors_graph."""

    def _check_n_neighbors_fit(self):
        """Classifier and regressor: n_neighbors must not exceed the training set."""
        n = self.n_samples_fit_
        if self.n_neighbors > n:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} is larger than the number of training "
                f"samples, n_samples={n}; use n_neighbors <= {n}."
            )

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """The ``n_neighbors`` nearest training points of each query point.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Query points. ``None`` queries every training point, and a point is then not
            its own neighbour (it is left out of its own list).
        n_neighbors : int, default=None
            Neighbours per query (the estimator's ``n_neighbors`` when None); at most the
            number of training samples (minus one when ``X`` is None).
        return_distance : bool, default=True
            Also return the distances.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries, n_neighbors)
            Distances, ascending along each row (float64); only when ``return_distance``.
        neigh_ind : ndarray of shape (n_queries, n_neighbors)
            Indices of the neighbours in the training set. Equal distances are ordered by
            index, whatever the algorithm and the number of threads.
        """
        X, is_train = self._check_query(X)
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        check_param(k, "n_neighbors", types=(numbers.Integral,), min_val=1)
        k = int(k)
        n = self.n_samples_fit_
        if is_train and k >= n:
            raise ValueError(
                f"n_neighbors={k} needs more than {k} training samples when X is None "
                f"(each point's neighbours exclude itself), but n_samples={n}."
            )
        if k > n:
            raise ValueError(
                f"n_neighbors={k} is larger than the number of training samples, "
                f"n_samples={n}; use n_neighbors <= {n}."
            )
        k_search = k + 1 if is_train else k
        if self._fit_method == "kd_tree":
            dist, ind = self._tree.query(X, k_search, n_jobs=self.n_jobs)
        else:
            dist, ind = kneighbors_brute(
                X, None if is_train else self._fit_X, k_search,
                metric=self.effective_metric_, p=self._p(), n_jobs=self.n_jobs,
            )
        if is_train:
            dist, ind = _drop_self(dist, ind)
        return (dist, ind) if return_distance else ind

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """The k-neighbours graph as a sparse matrix.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            As in :meth:`kneighbors`.
        n_neighbors : int, default=None
            As in :meth:`kneighbors`.
        mode : {"connectivity", "distance"}, default="connectivity"
            Entries are 1 or the distances.

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_samples_fit)
            CSR, row ``i`` holding the neighbours of query ``i``.
        """
        check_param(mode, "mode", options=("connectivity", "distance"))
        dist, ind = self.kneighbors(X, n_neighbors, return_distance=True)
        n_q, k = ind.shape
        data = np.ones(n_q * k) if mode == "connectivity" else dist.ravel()
        return sparse.csr_matrix((data, ind.ravel(), np.arange(0, n_q * k + 1, k)),
                                 shape=(n_q, self.n_samples_fit_))


def _drop_self(dist, ind):
    """Remove each training point from its own neighbour list (searched with k + 1).
    If duplicates with smaller indices pushed the point itself out of the list, the
    first entry (a duplicate at distance 0) goes instead."""
    n, k1 = ind.shape
    keep = ind != np.arange(n)[:, None]
    absent = keep.all(axis=1)
    keep[absent, 0] = False
    return dist[keep].reshape(n, k1 - 1), ind[keep].reshape(n, k1 - 1)


class RadiusNeighborsMixin:
    """radius_neighbors and radius_neighbors_graph."""

    def radius_neighbors(self, X=None, radius=None, return_distance=True,
                         sort_results=False):
        """The training points within distance ``radius`` (inclusive) of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Query points; ``None`` queries every training point, leaving out the point
            itself.
        radius : float, default=None
            The estimator's ``radius`` when None.
        return_distance : bool, default=True
            Also return the distances.
        sort_results : bool, default=False
            Order each query's neighbours by (distance, index); needs
            ``return_distance=True``. Otherwise the order is ascending index for brute
            force and the tree's order for the KD-tree.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries,), dtype object
            Arrays of distances; only when ``return_distance``.
        neigh_ind : ndarray of shape (n_queries,), dtype object
            Arrays of training indices.
        """
        X, is_train = self._check_query(X)
        radius = self.radius if radius is None else radius
        check_param(radius, "radius", types=(numbers.Real,), min_val=0)
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        if self._fit_method == "kd_tree":
            out = self._tree.query_radius(X, radius, return_distance=True,
                                          sort_results=sort_results, n_jobs=self.n_jobs)
            ind, dist = out
        else:
            dist, ind = self._radius_brute(X, radius, sort_results, is_train)
        if is_train:
            for i in range(len(ind)):
                keep = ind[i] != i
                ind[i], dist[i] = ind[i][keep], dist[i][keep]
        return (dist, ind) if return_distance else ind

    def _radius_brute(self, X, radius, sort_results, is_train):
        code, p = _metric_code(self.effective_metric_, self._p())
        return radius_brute(X, self._fit_X, radius, code, p,
                            effective_n_threads(self.n_jobs), is_train, sort_results)

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity",
                               sort_results=False):
        """The radius-neighbours graph as a sparse CSR matrix of shape
        (n_queries, n_samples_fit): entries are 1 (``mode="connectivity"``) or the
        distances (``mode="distance"``). Parameters as in :meth:`radius_neighbors`."""
        check_param(mode, "mode", options=("connectivity", "distance"))
        dist, ind = self.radius_neighbors(X, radius, return_distance=True,
                                          sort_results=sort_results)
        counts = np.array([len(a) for a in ind], dtype=np.intp)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        flat_ind = np.concatenate(list(ind)) if len(ind) else np.empty(0, np.intp)
        if mode == "connectivity":
            data = np.ones(len(flat_ind))
        else:
            data = np.concatenate(list(dist)) if len(dist) else np.empty(0)
        return sparse.csr_matrix((data, flat_ind.astype(np.intp), indptr),
                                 shape=(len(ind), self.n_samples_fit_))

