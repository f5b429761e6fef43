"""KDTree: a KD-tree over the rows of an array, built once and queried in parallel.

The arrays live here; the loops in ``skml._kernels._kdtree``.
"""
import numbers

import numpy as np
from sklearn.utils import check_array

from skml._kernels import _kdtree
from skml.metrics import PAIRWISE_METRICS
# the kernel uses skml.metrics' metric codes and key forms
from skml.metrics._pairwise import _COSINE, _metric_code, abs_range, key_form, radius_key
from skml.utils import check_param, effective_n_threads

__all__ = ["KDTree", "TREE_METRICS"]

#: Metric names a KDTree accepts: every metric of skml.metrics but cosine, which is not
#: a function of coordinate differences and so has no bound over a box.
TREE_METRICS = tuple(m for m in PAIRWISE_METRICS if m != "cosine")


def tree_metric_code(metric, p):
    """Kernel code and Minkowski order for ``metric``; ValueError if the tree lacks it."""
    code, p = _metric_code(metric, p)
    if code == _COSINE:
        raise ValueError(
            "metric='cosine' is not supported by the KD-tree (a box has no cosine "
            "bound); use algorithm='brute'."
        )
    return code, p


def _n_levels(n_samples, leaf_size):
    """Levels of the complete tree: leaves keep between leaf_size and 2 * leaf_size rows
    (fewer only when n_samples < leaf_size, with a single leaf)."""
    ratio = max(1, (n_samples - 1) // leaf_size)
    return int(np.floor(np.log2(ratio))) + 1


class KDTree:
    """A KD-tree for fast nearest-neighbour and radius queries in low dimension.

    The tree is built once: each node's rows are split at their median along the widest
    feature of the node's bounding box, down to leaves of ``leaf_size`` to
    ``2 * leaf_size`` rows. A query walks the tree depth-first, nearer child first, and
    skips every node whose bounding box is farther than the current k-th neighbour.
    Queries run in parallel (OpenMP, one query per task).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points. float32 stays float32 (queries are then cast to float32); anything
        else is converted to float64. Copied into tree order, so later changes to ``X``
        do not affect the tree.
    leaf_size : int, default=40
        Rows per leaf (between ``leaf_size`` and ``2 * leaf_size``).
    metric : str, default="minkowski"
        One of ``TREE_METRICS``: "euclidean"/"l2", "sqeuclidean", "manhattan"/"l1"/
        "cityblock", "chebyshev", "minkowski" (with ``p``).
    p : float, default=2
        Order of the Minkowski metric, ``>= 1``; 1, 2 and ``inf`` are computed as
        manhattan, euclidean and chebyshev.
    n_jobs : int, default=None
        OpenMP threads for the build (``None``: all cores).

    Attributes
    ----------
    n_samples, n_features : int
        Shape of ``X``.
    idx_array : ndarray of shape (n_samples,)
        Row of ``X`` at each position of the tree order.
    node_bounds : ndarray of shape (n_nodes, 2, n_features)
        Lower and upper corners of each node's bounding box.

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

    def __init__(self, X, leaf_size=40, metric="minkowski", p=2, n_jobs=None):
        check_param(leaf_size, "leaf_size", types=(numbers.Integral,), min_val=1)
        self.metric = metric
        self.p = p
        self.leaf_size = leaf_size
        self._code, self._p = tree_metric_code(metric, p)
        X = check_array(X, dtype=[np.float64, np.float32], order="C", input_name="X")
        n, d = X.shape
        self.n_samples, self.n_features = n, d
        n_nodes = 2 ** _n_levels(n, leaf_size) - 1
        self.idx_array = np.arange(n, dtype=np.intp)
        self.node_start = np.empty(n_nodes, dtype=np.intp)
        self.node_end = np.empty(n_nodes, dtype=np.intp)
        self.node_bounds = np.empty((n_nodes, 2, d), dtype=X.dtype)
        self._data = np.array(X, order="C")  # the tree's own copy, reordered in place
        self._range = abs_range(self._data)
        # a thread per 16k rows: below that the build takes well under a millisecond
        n_threads = max(1, min(effective_n_threads(n_jobs), n // 16384))
        _kdtree.build(self._data, self.idx_array, self.node_start, self.node_end,
                      self.node_bounds, n_threads)

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
        return X

    def _key_form(self, X):
        """(s, robust) of a query call: from the range of the tree's points and X's."""
        qmax, qmin = abs_range(X)
        return key_form(self._code, self._p, max(self._range[0], qmax),
                        min(self._range[1], qmin), self.n_features, self._data.dtype)

    def _threads(self, n_jobs, n_queries):
        # one query costs ~microseconds: give each thread at least a few hundred
        return max(1, min(effective_n_threads(n_jobs), n_queries // 256))

    def query(self, X, k=1, return_distance=True, n_jobs=None):
        """The ``k`` nearest points of the tree to each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
        k : int, default=1
            Neighbours per query, ``1 <= k <= n_samples``.
        return_distance : bool, default=True
            Also return the distances.
        n_jobs : int, default=None
            OpenMP threads (``None``: all cores). Results do not depend on it.

        Returns
        -------
        distances : ndarray of shape (n_queries, k), float64
            Ascending along each row; only when ``return_distance``.
        indices : ndarray of shape (n_queries, k)
            Rows of the tree's ``X``; equal distances are ordered by index.
        """
        check_param(k, "k", types=(numbers.Integral,), min_val=1, max_val=self.n_samples)
        X = self._check_queries(X)
        dist = np.empty((X.shape[0], int(k)), dtype=np.float64)
        ind = np.empty((X.shape[0], int(k)), dtype=np.intp)
        s, robust = self._key_form(X)
        _kdtree.query_knn(self._data, self.idx_array, self.node_start, self.node_end,
                          self.node_bounds, X, dist, ind, self._code, self._p, s, robust,
                          self._threads(n_jobs, X.shape[0]))
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
        return np.array([radius_key(v, self._code, self._p, s, robust) for v in r])

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
            ``(indices, distances)``, in that order, as for scikit-learn's KDTree.
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
        args = (self._data, self.idx_array, self.node_start, self.node_end,
                self.node_bounds, X, rs)
        _kdtree.query_radius_count(*args, counts, self._code, self._p, s, robust,
                                   n_threads)
        if count_only:
            return counts
        offsets = np.zeros(n_q + 1, dtype=np.intp)
        np.cumsum(counts, out=offsets[1:])
        ind = np.empty(offsets[-1], dtype=np.intp)
        dist = np.empty(offsets[-1] if return_distance else 0, dtype=np.float64)
        _kdtree.query_radius_fill(*args, offsets, ind, dist, return_distance,
                                  sort_results, self._code, self._p, s, robust, n_threads)
        ind = _split(ind, offsets)
        if return_distance:
            return ind, _split(dist, offsets)
        return ind


def _split(flat, offsets):
    """A 1-D object array holding flat[offsets[i]:offsets[i + 1]] for each i."""
    out = np.empty(len(offsets) - 1, dtype=object)
    for i in range(len(out)):
        out[i] = flat[offsets[i]:offsets[i + 1]]
    return out
