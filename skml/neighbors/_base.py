"""What the neighbour estimators share: parameters, the metric and the choice of
algorithm, kneighbors and radius_neighbors over the brute-force kernels or the trees.

Every algorithm ranks neighbours by the same exact distances (the kernels' keys) and
breaks ties by the smaller training index, so the algorithm changes speed, never the
answer.
"""
import numbers
import warnings

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.metrics import DistanceMetric
from sklearn.neighbors import VALID_METRICS as _SK_VALID_METRICS
from sklearn.neighbors import VALID_METRICS_SPARSE as _SK_VALID_METRICS_SPARSE
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.metrics._pairwise import (
    ALL_METRIC_NAMES,
    TREE_METRICS,
    SparsePrep,
    _index_dtype,
    canonical_csr,
    check_precomputed_graph,
    kneighbors_spec,
    radius_spec,
    resolve_metric,
)
from skml.neighbors._kd_tree import BALL_TREE_METRICS, BallTree, KDTree, _BinaryTree
from skml.utils import Interval, StrOptions, check_params, effective_n_threads

__all__ = ["AUTO_MAX_FEATURES", "KNeighborsMixin", "RadiusNeighborsMixin",
           "VALID_METRICS", "VALID_METRICS_SPARSE"]

ALGORITHMS = ("auto", "ball_tree", "brute", "kd_tree")

#: ``algorithm="auto"`` uses a tree up to this many features (and brute force above).
AUTO_MAX_FEATURES = 15

#: Metric names each algorithm accepts (scikit-learn's lists; skml's trees also take
#: "sqeuclidean"). With ``algorithm="ball_tree"``, the metrics outside
#: ``skml.neighbors.BallTree.valid_metrics`` are searched by brute force.
VALID_METRICS = {
    "ball_tree": TREE_METRICS["ball_tree"],
    "kd_tree": TREE_METRICS["kd_tree"],
    "brute": sorted(_SK_VALID_METRICS["brute"]),
}
#: Metric names accepted for sparse input (brute force only).
VALID_METRICS_SPARSE = {k: sorted(v) for k, v in _SK_VALID_METRICS_SPARSE.items()}

_MODES = ("connectivity", "distance")


def _check_mode(mode):
    if mode not in _MODES:
        raise ValueError(
            'Unsupported mode, must be one of "connectivity", or "distance" but got '
            f'"{mode}" instead')


def _zero_weights_error():
    return ValueError(
        "All neighbors of some sample is getting zero weights. Please modify 'weights' "
        "to avoid this case if you are using a user-defined function.")


def _infinite_weights_dominate(w):
    """A query with infinite weights (``1/d`` or ``d**-2`` at ``d = 0``) is decided by
    those neighbours alone, equally: the limit of finite weights growing without bound.
    NaN weights are an error."""
    if np.isnan(w).any():
        raise ValueError("The weights callable returned NaN weights.")
    inf = np.isinf(w)
    rows = inf.any(axis=-1)
    w[rows] = inf[rows]
    return w


#: Below this smallest non-zero distance in a row, 1/d or its sums can overflow.
_TINY_DISTANCE = 2.0**-1000


def _inverse_distances(dist):
    """``weights="distance"``: 1/d per row of ``dist`` (n_queries, k), inf at d = 0.

    A row's weights only matter relative to each other (a mean, a vote), so a row whose
    smallest non-zero distance is below ``_TINY_DISTANCE`` gets ``dmin / d`` instead
    (the same proportions, at most 1): 1/d overflowed there (d ~ 1e-308) and counted
    every neighbour as an exact match, silently (probabilities 0.4 off)."""
    with np.errstate(divide="ignore", over="ignore"):  # (rows redone below)
        w = 1.0 / dist
    positive = np.where(dist > 0, dist, np.inf)
    dmin = positive.min(axis=1, initial=np.inf)
    tiny = dmin < _TINY_DISTANCE
    if np.any(tiny):
        with np.errstate(divide="ignore"):
            w[tiny] = dmin[tiny, None] / dist[tiny]
    return w


def _get_weights(dist, weights):
    """Neighbour weights from their distances (an (n_queries, k) array): None for
    "uniform" (all equal), ``1/d`` for "distance", or whatever the callable returns,
    checked: the right shape, no NaN, and not all zero for any query (no vote or mean is
    defined then). Infinite weights (a query on a training point) decide alone."""
    if weights is None or weights == "uniform":
        return None
    if weights == "distance":
        w = _inverse_distances(dist)
    else:
        w = np.array(weights(dist), dtype=np.float64)
        if w.shape != dist.shape:
            raise ValueError(
                f"The weights callable must return an array of the distances' shape "
                f"{dist.shape}, got {w.shape}."
            )
    w = _infinite_weights_dominate(w)
    if w.shape[1] and np.any(np.all(w == 0, axis=1)):
        raise _zero_weights_error()
    return w


def _get_radius_weights(dist, weights):
    """As :func:`_get_weights`, for the variable-length neighbour lists of radius
    queries (an object array of 1-D arrays). A query without neighbours gets an empty
    array; one whose neighbours all weigh zero is an error."""
    if weights is None or weights == "uniform":
        return None
    out = np.empty(len(dist), dtype=object)
    for i, d in enumerate(dist):
        if weights == "distance":
            w = _inverse_distances(d[None])[0]
        else:
            w = np.array(weights(d), dtype=np.float64)
            if w.shape != d.shape:
                raise ValueError(
                    f"The weights callable must return an array of the distances' "
                    f"shape {d.shape}, got {w.shape}.")
        w = _infinite_weights_dominate(w)
        if len(w) and not np.any(w != 0):
            raise _zero_weights_error()
        out[i] = w
    return out


#: The ``weights`` parameter of the classifiers and regressors.
WEIGHTS_CONSTRAINT = [StrOptions({"uniform", "distance"}), callable, None]


class _NeighborsBase(BaseEstimator):
    """Parameters, the fit-time metric and algorithm, and the fitted search structure.

    Subclasses define ``__init__`` with the parameters they expose; every one of them has
    ``algorithm``, ``leaf_size``, ``metric``, ``p``, ``metric_params`` and ``n_jobs``,
    and ``n_neighbors`` and/or ``radius``.
    """

    _parameter_constraints = {
        "algorithm": [StrOptions(set(ALGORITHMS))],
        "leaf_size": [Interval(numbers.Integral, 1, None)],
        "metric": [StrOptions(set(ALL_METRIC_NAMES) | {"precomputed"}), callable,
                   DistanceMetric],
        "p": [Interval(numbers.Real, 0, None, closed="right"), None],
        "metric_params": [dict, None],
        "n_jobs": ["n_jobs"],
    }

    # ------------------------------------------------------------------ fitting

    def _resolve(self):
        """The metric spec; warns as scikit-learn does when ``metric_params`` holds the
        ``p`` that ``p`` also gives."""
        if self.metric_params is not None and "p" in self.metric_params and \
                self.p is not None:
            warnings.warn("Parameter p is found in metric_params. The corresponding "
                          "parameter from __init__ is ignored.", SyntaxWarning,
                          stacklevel=4)
        spec = resolve_metric(self.metric, self.p, self.metric_params)
        if isinstance(self.metric, str):
            # scikit-learn's check: the name must be valid for the algorithm asked for
            # ("auto": the ball tree's list when the name is on it)
            check = self.algorithm
            if check == "auto":
                check = ("ball_tree" if self.metric in VALID_METRICS["ball_tree"]
                         else "brute")
            if self.metric not in VALID_METRICS[check] and not (
                    check == "brute" and self.metric == "precomputed"):
                raise ValueError(
                    f"Metric '{self.metric}' not valid for algorithm '{check}'. Use "
                    f"sorted(skml.neighbors.VALID_METRICS['{check}']) to get valid "
                    "options. Metric can also be a callable function.")
        return spec

    def _validate_X(self, X, *, reset, y=None, **kwargs):
        """Validate X (and y at fit) for the metric: float for the kernels, numeric for
        scikit-learn's metrics (NaN allowed for nan_euclidean), a non-negative matrix for
        "precomputed". Queries take the training data's dtype."""
        spec = self._spec
        finite = "allow-nan" if spec.name == "nan_euclidean" else True
        if spec.kind == "precomputed":
            dtype = [np.float64, np.float32]
        elif spec.kind == "native":
            dtype = [np.float64, np.float32] if reset else self._fit_X.dtype
        else:
            dtype = "numeric"
        common = dict(dtype=dtype, order="C", ensure_all_finite=finite,
                      accept_sparse="csr")
        if spec.kind == "precomputed" and sparse.issparse(X):
            X = check_precomputed_graph(X)
            common["accept_sparse"] = "csr"
        if y is not None:
            X, y = validate_data(self, X, y, **common, **kwargs)
            return self._check_sparse(X), y
        if reset:
            return self._check_sparse(validate_data(self, X, **common))
        if spec.kind == "precomputed":
            X = check_array(X, dtype=dtype, order="C", input_name="X", accept_sparse="csr")
            if X.shape[1] != self.n_samples_fit_:
                raise ValueError(
                    f"Precomputed metric requires shape (n_queries, n_indexed). Got "
                    f"({X.shape[0]}, {X.shape[1]}) for {self.n_samples_fit_} indexed.")
            if not sparse.issparse(X):
                _check_non_negative(X)
            return X
        return self._check_sparse(validate_data(self, X, reset=False, **common))

    def _check_sparse(self, X):
        """A sparse X in canonical CSR form, if the metric takes sparse input: skml's
        kernels compute the euclidean family, cosine, manhattan, chebyshev and
        (weighted) Minkowski on CSR rows; scikit-learn's sparse metrics, callables and
        DistanceMetric objects go through scikit-learn."""
        spec = self._spec
        if not sparse.issparse(X) or spec.kind == "precomputed":
            return X
        ok = (spec.kind == "native" and spec._factor is None) or callable(self.metric) \
            or isinstance(self.metric, DistanceMetric) \
            or self.metric in VALID_METRICS_SPARSE["brute"]
        if not ok:
            raise ValueError(
                f"Metric '{self.effective_metric_}' not valid for sparse input. Use "
                "sorted(skml.neighbors.VALID_METRICS_SPARSE['brute']) to get valid "
                "options. Metric can also be a callable function.")
        return canonical_csr(X) if spec.kind == "native" else X

    def _fit(self, X, y=None, **validate_kwargs):
        """Validate the parameters and X (and y), pick the algorithm, build the tree.

        X may also be a fitted neighbours estimator, KDTree or BallTree: their points are
        then the training data."""
        check_params(self)
        effective_n_threads(self.n_jobs)
        self._spec = spec = self._resolve()
        self.effective_metric_ = spec.name
        self.effective_metric_params_ = dict(spec.params)
        if isinstance(X, _NeighborsBase):
            check_is_fitted(X)
            X = X._fit_X
        elif isinstance(X, _BinaryTree):
            X = X.data
        if y is None:
            X = self._validate_X(X, reset=True)
        else:
            X, y = self._validate_X(X, reset=True, y=y, **validate_kwargs)
        if spec.kind == "precomputed":
            if X.shape[0] != X.shape[1]:
                raise ValueError(f"Precomputed matrix must be square. Input is a "
                                 f"{X.shape[0]}x{X.shape[1]} matrix.")
            if not sparse.issparse(X):
                _check_non_negative(X)
        elif spec.kind == "native":
            spec.transform(X[:0])  # the metric's weights/matrix fit the features
        self._fit_X = X
        self.n_samples_fit_ = X.shape[0]
        self._sparse_prep = None
        if sparse.issparse(X) and spec.kind != "precomputed":
            # no tree over sparse rows (as scikit-learn): brute force, on CSR rows
            if self.algorithm not in ("auto", "brute"):
                warnings.warn("cannot use tree with sparse input: using brute force",
                              UserWarning, stacklevel=3)
            self._fit_method = "brute"
            self._tree = None
            return X, y
        self._fit_method = self._choose_algorithm(X.shape)
        self._tree = None
        if self._fit_method in ("kd_tree", "ball_tree"):
            Tree = KDTree if self._fit_method == "kd_tree" else BallTree
            params = {k: v for k, v in spec.params.items() if k != "p" and v is not None}
            self._tree = Tree(X, leaf_size=self.leaf_size, metric=self.metric,
                              p=self._p_value(), n_jobs=self.n_jobs, **params)
        return X, y

    def _p_value(self):
        params = self.metric_params or {}
        p = params.get("p", self.p)
        return 2 if p is None else p

    def _choose_algorithm(self, shape):
        """scikit-learn's choice for ``algorithm="auto"``, its errors and warnings for
        the others; and brute force where skml's ball tree does not compute the metric
        (same answer, documented)."""
        spec = self._spec
        n_samples, n_features = shape
        semimetric = spec.kind == "native" and spec.name == "minkowski" and spec.p < 1
        algorithm = self.algorithm
        if algorithm == "auto":
            n_neighbors = getattr(self, "n_neighbors", None)
            if (spec.kind == "precomputed" or n_features > AUTO_MAX_FEATURES
                    or (n_neighbors is not None and n_neighbors >= n_samples // 2)
                    or semimetric):
                algorithm = "brute"
            elif spec.kind == "native" and spec.params.get("w") is not None:
                algorithm = "ball_tree"
            elif isinstance(self.metric, str) and self.metric in VALID_METRICS["kd_tree"]:
                algorithm = "kd_tree"
            elif callable(self.metric) or isinstance(self.metric, DistanceMetric) or \
                    self.metric in VALID_METRICS["ball_tree"]:
                algorithm = "ball_tree"
            else:
                algorithm = "brute"
        if semimetric:
            if algorithm != "brute":
                raise ValueError(
                    f'algorithm="{algorithm}" does not support 0 < p < 1 for the '
                    "Minkowski metric. To resolve this problem either set p >= 1 or "
                    'algorithm="brute".')
            warnings.warn("Mind that for 0 < p < 1, Minkowski metrics are not distance "
                          "metrics. Continuing the execution with `algorithm='brute'`.",
                          UserWarning, stacklevel=4)
        if isinstance(self.metric, DistanceMetric) and algorithm != "brute":
            algorithm = "brute"  # scikit-learn's metric object: its pairwise, by blocks
        if algorithm == "kd_tree" and callable(self.metric):
            raise ValueError(
                f"kd_tree does not support callable metric '{self.metric}'; use "
                "algorithm='ball_tree' or 'brute'.")
        if algorithm == "ball_tree":
            if not (spec.kind == "native" and spec.is_metric
                    and self.metric in BALL_TREE_METRICS):
                algorithm = "brute"  # a metric skml computes through scikit-learn
        return algorithm

    def _prep(self, X):
        """The sparse kernels' Y side of the training data, built once (for a sparse fit
        under a native metric without a linear map)."""
        spec = self._spec
        if not (sparse.issparse(self._fit_X) and spec.kind == "native" and not spec.linear):
            return None
        prep = getattr(self, "_sparse_prep", None)
        want = _index_dtype(self._fit_X, X) if sparse.issparse(X) else None
        if prep is None or (want is not None and want != prep.index_dtype):
            prep = SparsePrep(self._fit_X, want or _index_dtype(self._fit_X))
            self._sparse_prep = prep
        return prep

    def _check_query(self, X):
        """(X to search, whether it is the training set itself)."""
        check_is_fitted(self)
        if X is None:
            return self._fit_X, True
        return self._validate_X(X, reset=False), False

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_sparse_prep", None)  # rebuilt on demand
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.pairwise = self.metric == "precomputed"
        tags.input_tags.positive_only = tags.input_tags.pairwise
        tags.input_tags.allow_nan = self.metric == "nan_euclidean"
        return tags


def _check_non_negative(D):
    if np.any(D < 0):
        raise ValueError("Negative values in data passed to precomputed distance matrix.")


class KNeighborsMixin:
    """kneighbors and kneighbors_graph."""

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """The ``n_neighbors`` nearest training points of each query point.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), or
            (n_queries, n_samples_fit) for ``metric="precomputed"``, default=None
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
            Indices of the neighbours in the training set, ranked by their exact
            distances; equal distances are ordered by index, whatever the algorithm and
            the number of threads.

        Raises
        ------
        ValueError
            If ``n_neighbors`` is out of range or X does not match the training data.
        """
        check_is_fitted(self)
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        elif not isinstance(n_neighbors, numbers.Integral) or isinstance(n_neighbors, bool):
            raise TypeError(f"n_neighbors does not take {type(n_neighbors)} value, enter "
                            "integer value")
        elif n_neighbors <= 0:
            raise ValueError(f"Expected n_neighbors > 0. Got {n_neighbors}")
        X, is_train = self._check_query(X)
        k = int(n_neighbors) + (1 if is_train else 0)
        n = self.n_samples_fit_
        if k > n:
            relation = "n_neighbors < n_samples_fit" if is_train else \
                "n_neighbors <= n_samples_fit"
            raise ValueError(
                f"Expected {relation}, but n_neighbors = {k - is_train}, n_samples_fit = "
                f"{n}, n_samples = {X.shape[0]}")
        if self._fit_method in ("kd_tree", "ball_tree") and not sparse.issparse(X):
            dist, ind = self._tree.query(X, k, n_jobs=self.n_jobs)
        else:
            dist, ind = kneighbors_spec(
                X, None if self._spec.kind == "precomputed" else self._fit_X, k,
                self._spec, effective_n_threads(self.n_jobs), is_train,
                n_jobs=self.n_jobs, prep=self._prep(X))
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

        Raises
        ------
        ValueError
            As :meth:`kneighbors`, and for an unknown ``mode``.
        """
        _check_mode(mode)
        dist, ind = self.kneighbors(X, n_neighbors, return_distance=True)
        n_q, k = ind.shape
        data = np.ones(n_q * k) if mode == "connectivity" else dist.ravel()
        return sparse.csr_matrix((data, ind.ravel(), np.arange(0, n_q * k + 1, k)),
                                 shape=(n_q, self.n_samples_fit_))


def _drop_self(dist, ind):
    """Remove each training point from its own neighbour list (searched with k + 1).
    If duplicates with smaller indices pushed the point itself out of the list, the
    first entry (a duplicate at distance 0) goes instead, as in scikit-learn."""
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
        X : {array-like, sparse matrix} of shape (n_queries, n_features), or
            (n_queries, n_samples_fit) for ``metric="precomputed"``, default=None
            Query points; ``None`` queries every training point, leaving out the point
            itself.
        radius : float or array-like of shape (n_queries,), default=None
            The estimator's ``radius`` when None; one per query if an array.
        return_distance : bool, default=True
            Also return the distances.
        sort_results : bool, default=False
            Order each query's neighbours by (distance, index); needs
            ``return_distance=True``. Otherwise the order is ascending index for brute
            force and the tree's order for the trees.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries,), dtype object
            Arrays of distances; only when ``return_distance``.
        neigh_ind : ndarray of shape (n_queries,), dtype object
            Arrays of training indices.

        Raises
        ------
        ValueError
            If ``radius`` is negative or not finite, or ``sort_results`` without
            ``return_distance``.
        """
        check_is_fitted(self)
        X, is_train = self._check_query(X)
        radius = self.radius if radius is None else radius
        r = np.asarray(radius, dtype=np.float64)
        if r.ndim > 1 or (r.ndim == 1 and r.shape[0] != X.shape[0]):
            raise ValueError(f"radius must be a number or have one entry per query "
                             f"({X.shape[0]}), got shape {r.shape}.")
        if not np.all(np.isfinite(r)) or np.any(r < 0):
            raise ValueError(f"radius must be finite and >= 0, got {radius!r}.")
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        if self._fit_method in ("kd_tree", "ball_tree") and not sparse.issparse(X):
            ind, dist = self._tree.query_radius(X, r, return_distance=True,
                                                sort_results=sort_results,
                                                n_jobs=self.n_jobs)
        else:
            dist, ind = radius_spec(
                X, None if self._spec.kind == "precomputed" else self._fit_X, r,
                self._spec, effective_n_threads(self.n_jobs), is_train, sort_results,
                n_jobs=self.n_jobs, prep=self._prep(X))
        if is_train:
            for i in range(len(ind)):
                keep = ind[i] != i
                ind[i], dist[i] = ind[i][keep], dist[i][keep]
        return (dist, ind) if return_distance else ind

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity",
                               sort_results=False):
        """The radius-neighbours graph as a sparse CSR matrix of shape
        (n_queries, n_samples_fit): entries are 1 (``mode="connectivity"``) or the
        distances (``mode="distance"``). Parameters and errors as in
        :meth:`radius_neighbors`; an unknown ``mode`` is a ValueError."""
        _check_mode(mode)
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


#: ``X`` of the neighbour estimators' ``fit``.
FIT_X_DOC = """\
X : {array-like, sparse matrix} of shape (n_samples, n_features), or
    (n_samples, n_samples) for ``metric="precomputed"`` (sparse: a neighbours
    graph); or a fitted neighbours estimator, KDTree or
    BallTree, whose points are then used
"""

#: The errors of the classifiers' and regressors' ``predict``.
PREDICT_RAISES_DOC = """\
Raises
------
ValueError
    As the neighbour search; if a callable ``weights`` gives some query only
    zero weights.
"""

#: The parameters, result and errors of the k-neighbours classifier's and regressor's
#: ``predict``.
PREDICT_DOC = """\
Parameters
----------
X : {array-like, sparse matrix} of shape (n_queries, n_features), or
    (n_queries, n_samples_fit) for ``metric="precomputed"``, or None
    Queries; ``None`` predicts every training point from its neighbours other
    than itself.

Returns
-------
y : ndarray of shape (n_queries,) or (n_queries, n_outputs)

""" + PREDICT_RAISES_DOC

#: The parameter descriptions every neighbours estimator shares.
SEARCH_PARAMS_DOC = """algorithm : {"auto", "ball_tree", "kd_tree", "brute"}, default="auto"
        The search structure; it changes speed, never the result (every algorithm
        ranks neighbours by the same exact distances, ties by index). "auto" follows
        scikit-learn's rule: brute force for "precomputed", more than 15 features,
        ``n_neighbors >= n_samples // 2`` or Minkowski ``p < 1``; otherwise the
        KD-tree for its metrics, the ball tree for the other tree metrics and
        callables. With "ball_tree", metrics skml's :class:`BallTree` does not compute
        (those evaluated by scikit-learn's ``pairwise_distances``, callables) are
        searched by brute force. Sparse input (CSR as is; CSC, COO, LIL and the other
        scipy formats converted to CSR, never to a dense array) is always searched by
        brute force on its rows, a tree algorithm falling back with scikit-learn's
        warning "cannot use tree with sparse input: using brute force".
    leaf_size : int, default=30
        Rows per leaf of the trees (between ``leaf_size`` and twice that).
    p : float, default=2
        Order of the Minkowski metric, ``> 0``: 1 is manhattan, 2 euclidean, ``inf``
        chebyshev; ``p < 1`` is a dissimilarity, not a metric (brute force only, with
        scikit-learn's warning). Computed in the overflow-free scaled form.
    metric : str, callable or DistanceMetric, default="minkowski"
        Any metric name of ``VALID_METRICS``, "precomputed" (X is a distance matrix), a
        callable on two rows or a scikit-learn ``DistanceMetric``. skml's kernels and
        trees compute "euclidean", "sqeuclidean", "manhattan", "chebyshev", "minkowski"
        (also weighted), "cosine" (brute force), and "seuclidean"/"mahalanobis" given
        ``V``/``VI``; the others go through ``sklearn.metrics.pairwise_distances``.
    metric_params : dict, default=None
        Parameters of the metric: ``p`` (overrides ``p``, with scikit-learn's
        SyntaxWarning when both are given), ``w`` (Minkowski weights), ``V``, ``VI``,
        or those of a scikit-learn metric or callable.
    n_jobs : int, default=None
        Threads of the search. skml's kernels and trees are OpenMP loops that use all
        cores for ``None`` (as scikit-learn's own brute-force kernels do; it honours
        ``OMP_NUM_THREADS`` and ``threadpoolctl`` limits), ``-1`` all CPUs, ``-2`` all
        but one; metrics computed by scikit-learn get ``n_jobs`` as its
        ``pairwise_distances`` does (``None``: one job). Results never depend on it."""

SEARCH_ATTRS_DOC = """effective_metric_ : str or callable
        The metric used, as scikit-learn reports it ("minkowski" with p = 1, 2 or inf
        and no weights becomes "manhattan", "euclidean" or "chebyshev").
    effective_metric_params_ : dict
        Its parameters (``{"p": p, "w": w}`` for a general Minkowski metric).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen in ``fit``, when ``X`` had string column names.
    n_samples_fit_ : int
        Number of training samples."""

SEARCH_RAISES_DOC = """Raises
    ------
    InvalidParameterError
        A ValueError and TypeError, from ``fit``: a parameter outside its declared range
        or options (``n_neighbors=0``, an unknown ``algorithm``, a negative ``radius``).
    ValueError
        From ``fit``: a metric not valid for the algorithm or for sparse input, NaN or
        infinite values (allowed with ``metric="nan_euclidean"``), a precomputed matrix
        that is not square or has negative entries. From the query methods: more
        neighbours than training samples, a feature count other than ``fit``'s, or
        ``weights`` from a callable that have the wrong shape, NaN, or are all zero for a
        query.
    NotFittedError
        From every method but ``fit``, before ``fit``."""
