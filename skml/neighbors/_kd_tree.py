"""KDTree and BallTree: binary space-partitioning trees over the rows of an array, built
once and queried in parallel.

The arrays live here; the loops in ``skml._kernels._kdtree``. Both trees share one build
(each node's rows split at their median along the widest feature of the node's bounding
box, a complete tree stored as plain arrays) and one traversal; they differ in the
bound of a node used to prune it: its bounding box (KD-tree) or a ball around the
centroid of its rows (ball tree, through the triangle inequality).
"""
import numbers

import numpy as np
from sklearn.utils import check_array

from skml._kernels import _kdtree
from skml.metrics._pairwise import (
    _MINKOWSKI,
    TREE_METRICS,
    abs_range,
    key_form,
    radius_key,
    resolve_metric,
)
from skml.utils import check_param, effective_n_threads

__all__ = ["BALL_TREE_METRICS", "BallTree", "KDTree", "TREE_METRICS"]

#: The metrics skml's BallTree computes itself (the estimators search the other metrics
#: of scikit-learn's ball tree by brute force).
BALL_TREE_METRICS = sorted(set(TREE_METRICS["kd_tree"]) | {"seuclidean", "mahalanobis"})


def _n_levels(n_samples, leaf_size):
    """Levels of the complete tree: leaves keep between leaf_size and 2 * leaf_size rows
    (fewer only when n_samples < leaf_size, with a single leaf)."""
    ratio = max(1, (n_samples - 1) // leaf_size)
    return int(np.floor(np.log2(ratio))) + 1


def tree_spec(kind, metric, p=None, metric_params=None):
    """The metric spec a tree of ``kind`` ("kd_tree" or "ball_tree") computes; a
    ValueError says why a metric has no tree (and which algorithm to use instead)."""
    spec = resolve_metric(metric, p, metric_params)
    name = metric if isinstance(metric, str) else None
    if spec.kind == "native" and spec.code == _MINKOWSKI and spec.p < 1:
        raise ValueError(
            f'algorithm="{kind}" does not support 0 < p < 1 for the Minkowski metric. '
            'To resolve this problem either set p >= 1 or algorithm="brute".')
    if kind == "kd_tree":
        if spec.kind == "native" and spec.params.get("w") is not None:
            raise ValueError(
                "algorithm='kd_tree' is not valid for metric='minkowski' with a weight "
                "parameter 'w': try algorithm='ball_tree' or algorithm='brute' instead.")
        if name not in TREE_METRICS["kd_tree"]:
            raise ValueError(
                f"Metric {metric!r} not valid for algorithm 'kd_tree' (a box bounds only "
                f"{TREE_METRICS['kd_tree']}); use algorithm='ball_tree' or 'brute'.")
    elif not spec.is_metric or name not in BALL_TREE_METRICS:
        raise ValueError(
            f"skml's BallTree computes the metrics {TREE_METRICS['kd_tree']}, "
            "'seuclidean', 'mahalanobis' and weighted 'minkowski'; metric "
            f"{metric!r} is computed by brute force (algorithm='brute').")
    return spec


class _BinaryTree:
    """What KDTree and BallTree share: the build, the queries and the Python API."""

    _kind = None  # "kd_tree" or "ball_tree"

    def __init__(self, X, leaf_size=40, metric="minkowski", p=2, n_jobs=None, **kwargs):
        check_param(leaf_size, "leaf_size", types=(numbers.Integral,), min_val=1)
        self.metric = metric
        self.p = p
        self.leaf_size = leaf_size
        self.metric_params = kwargs
        self._spec = tree_spec(self._kind, metric, p, kwargs)
        X = check_array(X, dtype=[np.float64, np.float32], order="C", input_name="X")
        self._orig = np.array(X, order="C") if self._spec.linear else None
        n, d = X.shape
        self.n_samples, self.n_features = n, d
        n_nodes = 2 ** _n_levels(n, leaf_size) - 1
        self.idx_array = np.arange(n, dtype=np.intp)
        self.node_start = np.empty(n_nodes, dtype=np.intp)
        self.node_end = np.empty(n_nodes, dtype=np.intp)
        self.node_bounds = np.empty((n_nodes, 2, d), dtype=X.dtype)
        # the tree's own copy (of the mapped rows for seuclidean/mahalanobis/weights),
        # reordered in place
        self._data = np.array(self._spec.transform(X), order="C")
        self._range = abs_range(self._data)
        # a thread per 16k rows: below that the build takes well under a millisecond
        n_threads = max(1, min(effective_n_threads(n_jobs), n // 16384))
        _kdtree.build(self._data, self.idx_array, self.node_start, self.node_end,
                      self.node_bounds, n_threads)
        if self._kind == "ball_tree":
            self.node_centers = np.empty((n_nodes, d), dtype=X.dtype)
            self.node_radii = np.empty(n_nodes)
            s, robust = key_form(self._spec.code, self._spec.p, *self._range, d,
                                 self._data.dtype)
            _kdtree.ball_centers(self._data, self.node_start, self.node_end,
                                 self.node_centers, self.node_radii, self._spec.code,
                                 self._spec.p, s, robust,
                                 max(1, min(effective_n_threads(n_jobs), n // 4096)))
        else:
            self.node_centers = np.zeros((1, d), dtype=X.dtype)
            self.node_radii = np.zeros(1)

    @property
    def data(self):
        """The points, in the order of ``X`` (a copy)."""
        if self._orig is not None:
            return self._orig.copy()
        out = np.empty_like(self._data)
        out[self.idx_array] = self._data
        return out

    @property
    def dtype(self):
        """The dtype of the stored points (float32 or float64)."""
        return self._data.dtype

    def _check_queries(self, X):
        X = check_array(X, dtype=self._data.dtype, order="C", ensure_min_samples=0,
                        input_name="X")
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but the tree was built on "
                f"{self.n_features} features."
            )
        return self._spec.transform(X)

    def _key_form(self, X):
        """(s, robust) of a query call: from the range of the tree's points and X's."""
        qmax, qmin = abs_range(X)
        return key_form(self._spec.code, self._spec.p, max(self._range[0], qmax),
                        min(self._range[1], qmin), self.n_features, self._data.dtype)

    def _threads(self, n_jobs, n_queries):
        # one query costs ~microseconds: give each thread at least a few hundred
        return max(1, min(effective_n_threads(n_jobs), n_queries // 256))

    def _arrays(self):
        return (self._data, self.idx_array, self.node_start, self.node_end,
                _kdtree.TREE_KINDS[self._kind], self.node_bounds, self.node_centers,
                self.node_radii)

    def query(self, X, k=1, return_distance=True, dualtree=False, breadth_first=False,
              sort_results=True, n_jobs=None):
        """The ``k`` nearest points of the tree to each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
        k : int, default=1
            Neighbours per query, ``1 <= k <= n_samples``.
        return_distance : bool, default=True
            Also return the distances.
        dualtree, breadth_first : bool, default=False
            Accepted for scikit-learn compatibility; the single depth-first traversal
            gives the same result.
        sort_results : bool, default=True
            Accepted for scikit-learn compatibility: results are always sorted.
        n_jobs : int, default=None
            OpenMP threads (``None``: all cores). Results do not depend on it.

        Returns
        -------
        distances : ndarray of shape (n_queries, k), float64
            Ascending along each row; only when ``return_distance``.
        indices : ndarray of shape (n_queries, k)
            Rows of the tree's ``X``, ranked by their exact distances (those of the
            brute force), equal distances by index.

        Raises
        ------
        ValueError
            If ``k`` is out of range or ``X`` has the wrong width.
        """
        check_param(k, "k", types=(numbers.Integral,), min_val=1, max_val=self.n_samples)
        X = self._check_queries(X)
        dist = np.empty((X.shape[0], int(k)), dtype=np.float64)
        ind = np.empty((X.shape[0], int(k)), dtype=np.intp)
        s, robust = self._key_form(X)
        _kdtree.query_knn(*self._arrays(), X, dist, ind, self._spec.code, self._spec.p,
                          s, robust, self._threads(n_jobs, X.shape[0]))
        return (dist, ind) if return_distance else ind

    def _radius_keys(self, r, n_queries, s, robust):
        r = np.asarray(r, dtype=np.float64)
        if r.ndim == 0:
            r = np.full(n_queries, float(r))
        elif r.shape != (n_queries,):
            raise ValueError(
                f"r must be a number or have one entry per query ({n_queries}), got "
                f"shape {r.shape}."
            )
        if not np.all(np.isfinite(r)) or np.any(r < 0):
            raise ValueError("r must be finite and >= 0.")
        return np.array([radius_key(v, self._spec.code, self._spec.p, s, robust)
                         for v in r])

    def query_radius(self, X, r, return_distance=False, count_only=False,
                     sort_results=False, n_jobs=None):
        """The points of the tree within distance ``r`` (inclusive) of each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
        r : float or array-like of shape (n_queries,)
            Radius, one for all queries or one per query.
        return_distance : bool, default=False
            Also return the distances.
        count_only : bool, default=False
            Return only the number of neighbours of each query.
        sort_results : bool, default=False
            Order each query's neighbours by (distance, index); needs
            ``return_distance=True``. Otherwise the order is the tree's (fixed for a
            given tree).
        n_jobs : int, default=None
            OpenMP threads (``None``: all cores).

        Returns
        -------
        counts : ndarray of shape (n_queries,)
            Only when ``count_only``.
        indices : ndarray of shape (n_queries,), dtype object
            An array of row indices per query.
        distances : ndarray of shape (n_queries,), dtype object
            The matching distances, only when ``return_distance``: the result is then
            ``(indices, distances)``, in that order, as for scikit-learn's trees.

        Raises
        ------
        ValueError
            If ``r`` is negative or not finite, or the flags contradict each other.
        """
        if count_only and return_distance:
            raise ValueError("count_only and return_distance cannot both be True.")
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        X = self._check_queries(X)
        n_q = X.shape[0]
        s, robust = self._key_form(X)
        rs = self._radius_keys(r, n_q, s, robust)
        n_threads = self._threads(n_jobs, n_q)
        counts = np.zeros(n_q, dtype=np.intp)
        args = (*self._arrays(), X, rs)
        _kdtree.query_radius_count(*args, counts, self._spec.code, self._spec.p, s,
                                   robust, n_threads)
        if count_only:
            return counts
        offsets = np.zeros(n_q + 1, dtype=np.intp)
        np.cumsum(counts, out=offsets[1:])
        ind = np.empty(offsets[-1], dtype=np.intp)
        dist = np.empty(offsets[-1] if return_distance else 0, dtype=np.float64)
        _kdtree.query_radius_fill(*args, offsets, ind, dist, return_distance,
                                  sort_results, self._spec.code, self._spec.p, s, robust,
                                  n_threads)
        ind = _split(ind, offsets)
        if return_distance:
            return ind, _split(dist, offsets)
        return ind


_PARAMS_DOC = """
    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points. float32 stays float32 (queries are then cast to float32); anything
        else is converted to float64. Copied into tree order, so later changes to ``X``
        do not affect the tree.
    leaf_size : int, default=40
        Rows per leaf (between ``leaf_size`` and ``2 * leaf_size``). It changes the
        speed, never the result.
    metric : str, default="minkowski"
        One of ``{cls}.valid_metrics``.
    p : float, default=2
        Order of the Minkowski metric, ``>= 1``; 1, 2 and ``inf`` are computed as
        manhattan, euclidean and chebyshev.
    n_jobs : int, default=None
        OpenMP threads for the build and the default of the queries (``None``: all
        cores). Results do not depend on it.
    **kwargs : dict
        Parameters of the metric, as scikit-learn's trees take them: ``p``, ``w``{extra}.

    Attributes
    ----------
    n_samples, n_features : int
        Shape of ``X``.
    data : ndarray of shape (n_samples, n_features)
        The points, in the order of ``X``.
    idx_array : ndarray of shape (n_samples,)
        Row of ``X`` at each position of the tree order.
    node_bounds : ndarray of shape (n_nodes, 2, n_features)
        Lower and upper corners of each node's bounding box.
"""


class KDTree(_BinaryTree):
    __doc__ = """A KD-tree for fast nearest-neighbour and radius queries in low dimension.

    The tree is built once: each node's rows are split at their median along the widest
    feature of the node's bounding box, down to leaves of ``leaf_size`` to
    ``2 * leaf_size`` rows. A query walks the tree depth-first, nearer child first, and
    skips every node whose bounding box is farther than the current k-th neighbour.
    Queries run in parallel (OpenMP, one query per task). Neighbours are ranked by the
    same exact distances as skml's brute force, ties by index, so both return the same
    answers.
""" + _PARAMS_DOC.format(cls="KDTree", extra="") + """
    Raises
    ------
    ValueError
        If the metric has no KD-tree (cosine, weighted or ``p < 1`` Minkowski, the
        metrics computed through scikit-learn) or ``X`` is invalid.

    References
    ----------
    J. L. Bentley, "Multidimensional binary search trees used for associative
    searching", Communications of the ACM 18(9), 1975.
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.5 (k nearest neighbours).

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neighbors import KDTree
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [0.0, 2.0]])
    >>> tree = KDTree(X, leaf_size=1)
    >>> dist, ind = tree.query([[0.1, 0.1]], k=2)
    >>> ind
    array([[0, 1]])
    >>> tree.query_radius([[0.0, 0.0]], r=2.0, sort_results=True, return_distance=True)
    (array([array([0, 1, 3])], dtype=object), array([array([0., 1., 2.])], dtype=object))
    """

    _kind = "kd_tree"
    valid_metrics = TREE_METRICS["kd_tree"]


class BallTree(_BinaryTree):
    __doc__ = """A ball tree for fast nearest-neighbour and radius queries.

    Built as :class:`KDTree` is (median splits along the widest feature), each node then
    keeps the centroid of its rows and the largest distance from it to one of them. A
    query skips a node when ``d(q, centroid) - radius`` (the triangle inequality,
    widened by the rounding of both distances) exceeds the current k-th neighbour; unlike
    a box, a ball needs only the metric, so the ball tree also takes "seuclidean" (with
    ``V``), "mahalanobis" (with ``VI`` or ``V``) and weighted "minkowski" (with ``w``),
    computed as the euclidean / Minkowski distance of linearly mapped rows. Neighbours
    are ranked by the same exact distances as skml's brute force, ties by index.
""" + _PARAMS_DOC.format(cls="BallTree", extra=", ``V``, ``VI``") + """
    Raises
    ------
    ValueError
        If the metric is not a metric skml's ball tree computes (cosine, ``p < 1``
        Minkowski, and the metrics computed through scikit-learn, which the neighbour
        estimators search by brute force instead) or ``X`` is invalid.

    References
    ----------
    S. M. Omohundro, "Five balltree construction algorithms", ICSI Technical Report
    TR-89-063, 1989.
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.5 (k nearest neighbours).

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neighbors import BallTree
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [0.0, 2.0]])
    >>> tree = BallTree(X, leaf_size=1)
    >>> tree.query([[0.1, 0.1]], k=2, return_distance=False)
    array([[0, 1]])
    """

    _kind = "ball_tree"
    valid_metrics = BALL_TREE_METRICS


def _split(flat, offsets):
    """A 1-D object array holding flat[offsets[i]:offsets[i + 1]] for each i."""
    out = np.empty(len(offsets) - 1, dtype=object)
    for i in range(len(out)):
        out[i] = flat[offsets[i]:offsets[i + 1]]
    return out
