"""k-means clustering: Lloyd's algorithm (``KMeans``) and its mini-batch variant
(``MiniBatchKMeans``), with greedy k-means++ seeding.

The passes over the data run in ``skml._kernels._kmeans``: chunked GEMM distances to the
centres, a fused argmin per row, and per-group accumulators for the new centres, merged
in a fixed order so that results do not depend on the number of threads.
"""
import numbers
import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skml._kernels import _kmeans, _pairwise
from skml.metrics import pairwise_distances
from skml.metrics._pairwise import _SQEUCLIDEAN
from skml.utils import check_param, effective_n_threads, limit_blas_threads

__all__ = ["KMeans", "MiniBatchKMeans", "kmeans_plusplus"]

# Rows per GEMM block of the Lloyd pass: the block's distances (chunk x k values) stay in
# cache while the argmin and the accumulation read them, so fewer rows for many centres.
_CHUNK = 256
_BLOCK_BYTES = 2**20
# At most this many accumulators (groups of consecutive chunks), and at most this many
# bytes for all of them together. Like the chunk size, both depend only on the data's
# shape, never on the thread count, so the summation order, and hence every result, is
# the same for any number of threads.
_MAX_GROUPS = 128
_GROUP_BYTES = 64 * 2**20


def _blocking(n_samples, n_clusters, n_features, itemsize):
    """(chunk, n_groups) for a pass over ``n_samples`` rows: a function of the shape only."""
    chunk = int(max(8, min(_CHUNK, _BLOCK_BYTES // (n_clusters * itemsize))))
    n_chunks = max(1, -(-n_samples // chunk))
    by_memory = max(1, _GROUP_BYTES // (8 * n_clusters * (n_features + 1)))
    return chunk, int(min(n_chunks, _MAX_GROUPS, by_memory))


# Work (multiply-adds of the distance block) below which another thread does not pay
# for its start-up: about a tenth of a millisecond.
_WORK_PER_THREAD = 2**20


def _workspace(n_samples, n_clusters, n_features, itemsize):
    """(chunk, workspace) for the Lloyd passes: the workspace holds one float64
    accumulator (sums and weights of every centre) per group of chunks."""
    chunk, n_groups = _blocking(n_samples, n_clusters, n_features, itemsize)
    return chunk, np.empty((n_groups, n_clusters * (n_features + 1)), dtype=np.float64)


_NO_WORKSPACE = np.empty((0, 0), dtype=np.float64)


def _n_threads_for(n_samples, n_clusters, n_features):
    """All OpenMP threads (as sklearn's KMeans), but no more than there are chunks, nor
    than the work warrants (small data run on one thread). The results do not depend
    on it."""
    by_work = n_samples * n_clusters * n_features // _WORK_PER_THREAD
    return int(max(1, min(effective_n_threads(None), -(-n_samples // _CHUNK), by_work)))


def _check_sample_weight(sample_weight, n_samples, dtype):
    """Weights as a C-contiguous array of ``dtype``: finite, >= 0, with a positive sum."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=dtype)
    sample_weight = check_array(
        sample_weight, ensure_2d=False, dtype=dtype, order="C", input_name="sample_weight",
        ensure_min_samples=0,
    )
    if sample_weight.ndim != 1 or sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), got {sample_weight.shape}."
        )
    if np.any(sample_weight < 0):
        raise ValueError("sample_weight must not contain negative values.")
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight must have a positive sum; got all zeros.")
    return sample_weight


def _check_n_clusters_vs_samples(n_clusters, n_samples):
    if n_samples < n_clusters:
        raise ValueError(
            f"n_clusters={n_clusters} is larger than the number of samples "
            f"(n_samples={n_samples}); k-means needs at least as many samples as clusters."
        )


def _weighted_mean_variance(X, sample_weight):
    """Mean over features of the (sample-weighted) variance of each feature."""
    w = np.asarray(sample_weight, dtype=np.float64)
    w = w / w.sum()
    mean = w @ X
    var = w @ (np.asarray(X, dtype=np.float64) - mean) ** 2
    return float(np.mean(var))


def _sqnorms(X, n_threads):
    out = np.empty(X.shape[0], dtype=X.dtype)
    _pairwise.row_sqnorms(X, out, n_threads)
    return out


def _sq_distances_to(X, XX, Y, n_threads):
    """(n_samples, len(Y)) squared distances, float64, through the pairwise kernel."""
    Y = np.ascontiguousarray(Y, dtype=X.dtype)
    out = np.empty((X.shape[0], Y.shape[0]), dtype=X.dtype)
    with limit_blas_threads():
        _pairwise.dense_distances(X, Y, XX, _sqnorms(Y, 1), out, _SQEUCLIDEAN, 2.0, False,
                                  _CHUNK, max(1, min(n_threads, -(-X.shape[0] // _CHUNK))))
    return out.astype(np.float64, copy=False)


def _kmeans_plusplus(X, n_clusters, sample_weight, random_state, n_local_trials, n_threads):
    """Greedy k-means++ on validated data. Returns (centers, indices)."""
    n_samples = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    w = np.asarray(sample_weight, dtype=np.float64)
    XX = _sqnorms(X, n_threads)
    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    indices = np.empty(n_clusters, dtype=np.intp)

    first = random_state.choice(n_samples, p=w / w.sum())
    centers[0] = X[first]
    indices[0] = first
    closest = _sq_distances_to(X, XX, X[[first]], n_threads)[:, 0].copy()
    potential = closest @ w
    for c in range(1, n_clusters):
        # candidates drawn with probability proportional to w * D(x)^2
        targets = random_state.uniform(size=n_local_trials) * potential
        cumulative = np.cumsum(w * closest)
        candidates = np.searchsorted(cumulative, targets)
        np.clip(candidates, None, n_samples - 1, out=candidates)
        dist = _sq_distances_to(X, XX, X[candidates], n_threads)  # (n, trials)
        np.minimum(dist, closest[:, None], out=dist)
        potentials = w @ dist
        best = int(np.argmin(potentials))  # greedy: the trial that lowers the potential most
        potential = potentials[best]
        closest = dist[:, best].copy()
        centers[c] = X[candidates[best]]
        indices[c] = candidates[best]
    return centers, indices


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, x_squared_norms=None,
                    random_state=None, n_local_trials=None):
    """Initial centres by greedy k-means++ (Arthur and Vassilvitskii, 2007).

    The first centre is a sample drawn with probability proportional to its weight. Each
    further centre is the best of ``n_local_trials`` candidates drawn with probability
    proportional to ``w_i * D(x_i)^2`` (``D`` the distance to the nearest centre chosen so
    far): the candidate that most lowers the weighted sum of those squared distances.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data; float32 stays float32.
    n_clusters : int
        Number of centres, ``1 <= n_clusters <= n_samples``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights; ``None`` gives every sample weight 1.
    x_squared_norms : None
        Accepted for compatibility with :func:`sklearn.cluster.kmeans_plusplus` and
        ignored (the norms are computed by the distance kernel).
    random_state : int, RandomState instance or None, default=None
        Seed of the candidate draws.
    n_local_trials : int, default=None
        Candidates per centre; ``None`` means ``2 + int(log(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
    indices : ndarray of shape (n_clusters,)
        Row of ``X`` each centre was taken from.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.cluster import kmeans_plusplus
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
    >>> centers, indices = kmeans_plusplus(X, 2, random_state=0)
    >>> sorted(int(i) // 2 for i in indices)
    [0, 1]
    """
    X = check_array(X, dtype=[np.float64, np.float32], order="C", input_name="X")
    check_param(n_clusters, "n_clusters", types=(numbers.Integral,), min_val=1)
    _check_n_clusters_vs_samples(n_clusters, X.shape[0])
    if n_local_trials is not None:
        check_param(n_local_trials, "n_local_trials", types=(numbers.Integral,), min_val=1)
    sample_weight = _check_sample_weight(sample_weight, X.shape[0], X.dtype)
    return _kmeans_plusplus(X, int(n_clusters), sample_weight,
                            check_random_state(random_state), n_local_trials,
                            effective_n_threads(None))


def _is_same_clustering(a, b, n_clusters):
    """Whether two labelings are the same partition up to renaming the clusters."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    mapping[a] = b
    return bool(np.array_equal(mapping[a], b))


def _relocate_empty_clusters(X, sample_weight, centers_old, labels, sums, weights,
                             n_threads):
    """Give each empty cluster the point farthest from its (old) centre.

    The point's weighted contribution moves from its cluster's sums to the empty one's;
    labels are left as they are (the next pass reassigns). Points are taken farthest
    first (ties to the smaller index) and only if their cluster keeps a positive weight.
    Returns how many clusters were given a point.
    """
    empty = np.flatnonzero(weights == 0)
    if empty.size == 0:
        return 0
    dist = np.empty(X.shape[0], dtype=np.float64)
    _kmeans.assigned_sq_distances(X, centers_old, labels, dist, n_threads)
    dist[sample_weight == 0] = -1.0
    if not dist.max() > 0:  # more clusters than distinct points: nothing to move
        return 0
    order = np.argsort(-dist, kind="stable")
    pos = moved = 0
    for j in empty:
        while pos < order.size:
            i = order[pos]
            pos += 1
            if dist[i] <= 0:
                return moved
            old = labels[i]
            wi = float(sample_weight[i])
            if weights[old] - wi > 0:
                xw = wi * X[i].astype(np.float64)
                sums[old] -= xw
                weights[old] -= wi
                sums[j] = xw
                weights[j] = wi
                moved += 1
                break
        else:
            return moved
    return moved


def _new_centers(X, sample_weight, centers, labels, sums, weights, n_threads):
    """Means of the clusters (relocating empty ones first); an empty cluster with nothing
    to relocate keeps its centre. Returns (new centres, largest squared centre shift,
    number of relocated clusters)."""
    moved = _relocate_empty_clusters(X, sample_weight, centers, labels, sums, weights,
                                     n_threads)
    new = centers.astype(np.float64)
    full = weights > 0
    new[full] = sums[full] / weights[full, None]
    new = new.astype(X.dtype)
    diff = new.astype(np.float64) - centers
    return new, float(np.max(np.einsum("ij,ij->i", diff, diff))), moved


def _lloyd(X, sample_weight, centers_init, max_iter, tol, verbose, n_threads):
    """One run of Lloyd's algorithm from ``centers_init``.

    Stops after ``max_iter`` iterations, or when no label changed (strict convergence),
    or when the largest squared centre movement is ``<= tol`` (absolute). Labels and
    inertia returned always belong to the returned centres: without strict convergence a
    last assignment pass is run with the final centres.

    Returns (labels, inertia, centers, n_iter).
    """
    n_samples, n_features = X.shape
    n_clusters = centers_init.shape[0]
    chunk, workspace = _workspace(n_samples, n_clusters, n_features, X.itemsize)
    unit = bool(np.all(sample_weight == 1))
    centers = np.array(centers_init, dtype=X.dtype, order="C")
    labels = np.full(n_samples, -1, dtype=np.int32)
    sums = np.empty((n_clusters, n_features), dtype=np.float64)
    weights = np.empty(n_clusters, dtype=np.float64)
    strict = False
    with limit_blas_threads():
        for it in range(max_iter):
            changed = _kmeans.lloyd_pass(X, sample_weight, centers, labels, sums, weights,
                                         workspace, chunk, n_threads, True, unit)
            centers, shift, moved = _new_centers(X, sample_weight, centers, labels, sums,
                                                 weights, n_threads)
            if verbose:
                print(f"Iteration {it}: {changed} labels changed, "
                      f"largest squared centre shift {shift:.6g}.")
            if changed == 0 and not moved:  # a relocated centre needs another pass
                strict = True
                break
            if shift <= tol:
                break
        if strict:  # the labels already belong to the final centres
            inertia = _kmeans.inertia(X, sample_weight, centers, labels, chunk, n_threads)
        else:  # one more assignment, with the inertia computed in the same pass
            inertia = _kmeans.assign_inertia(X, sample_weight, centers, labels, chunk,
                                             n_threads)
    return labels, inertia, centers, it + 1


def _labels_inertia(X, sample_weight, centers, n_threads, return_inertia=True):
    """Nearest-centre labels of X (and the inertia) for fixed centres."""
    n_samples = X.shape[0]
    chunk, _ = _blocking(n_samples, centers.shape[0], X.shape[1], X.itemsize)
    labels = np.full(n_samples, -1, dtype=np.int32)
    with limit_blas_threads():
        if not return_inertia:
            _kmeans.lloyd_pass(X, sample_weight, centers, labels, _NO_WORKSPACE,
                               np.empty(0, dtype=np.float64), _NO_WORKSPACE, chunk,
                               n_threads, False)
            return labels
        inertia = _kmeans.assign_inertia(X, sample_weight, centers, labels, chunk,
                                         n_threads)
    return labels, inertia


class _BaseKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin,
                  BaseEstimator):
    """Shared parameter checks, initialisation and prediction."""

    def _check_common_params(self):
        check_param(self.n_clusters, "n_clusters", types=(numbers.Integral,), min_val=1)
        init = self.init
        if isinstance(init, str):
            check_param(init, "init", options=("k-means++", "random"))
        elif not callable(init) and not hasattr(init, "__array__") and not isinstance(
                init, (list, tuple)):
            raise TypeError(
                "init must be 'k-means++', 'random', an array of shape "
                f"(n_clusters, n_features) or a callable, got {init!r}."
            )
        if not (isinstance(self.n_init, str) and self.n_init == "auto"):
            check_param(self.n_init, "n_init", types=(numbers.Integral, str), min_val=1,
                        options=("auto",))
        check_param(self.max_iter, "max_iter", types=(numbers.Integral,), min_val=1)
        check_param(self.tol, "tol", types=(numbers.Real,), min_val=0)
        check_param(self.verbose, "verbose", types=(numbers.Integral, bool), min_val=0)

    def _validate_init_array(self, X):
        init = check_array(self.init, dtype=X.dtype, copy=True, order="C",
                           input_name="init")
        if init.shape != (self.n_clusters, X.shape[1]):
            raise ValueError(
                f"The init array must have shape (n_clusters, n_features) = "
                f"({self.n_clusters}, {X.shape[1]}), got {init.shape}."
            )
        return init

    def _resolve_n_init(self, default_random):
        if isinstance(self.init, str) or callable(self.init):
            if self.n_init == "auto":
                return 1 if self.init == "k-means++" else default_random
            return int(self.n_init)
        if self.n_init != "auto" and self.n_init != 1:
            warnings.warn(
                f"Explicit initial center position passed: performing only one init "
                f"instead of n_init={self.n_init}.", RuntimeWarning, stacklevel=3)
        return 1

    def _init_centroids(self, X, sample_weight, init, random_state, n_threads,
                        init_size=None):
        """Initial centres from ``init`` (a name, an already validated array or a
        callable), optionally computed on a random subset of ``init_size`` rows."""
        n_samples = X.shape[0]
        k = self.n_clusters
        if init_size is not None and init_size < n_samples:
            idx = random_state.randint(0, n_samples, init_size)
            if np.count_nonzero(sample_weight[idx]) >= k:
                X = X[idx]
                sample_weight = sample_weight[idx]
        if isinstance(init, str):
            if np.count_nonzero(sample_weight) < k:
                raise ValueError(
                    f"n_clusters={k} is larger than the number of samples with a "
                    f"positive sample_weight ({np.count_nonzero(sample_weight)})."
                )
            if init == "k-means++":
                centers, _ = _kmeans_plusplus(X, k, sample_weight, random_state, None,
                                              n_threads)
            else:
                w = np.asarray(sample_weight, dtype=np.float64)
                seeds = random_state.choice(X.shape[0], size=k, replace=False,
                                            p=w / w.sum())
                centers = X[seeds]
        elif callable(init):
            centers = init(X, k, random_state=random_state)
            centers = check_array(centers, dtype=X.dtype, copy=False, order="C",
                                  input_name="init")
            if centers.shape != (k, X.shape[1]):
                raise ValueError(
                    f"The callable init must return an array of shape ({k}, "
                    f"{X.shape[1]}), got {centers.shape}."
                )
        else:
            centers = init
        return np.array(centers, dtype=X.dtype, order="C")

    def _check_test_data(self, X):
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=False)
        dtype = np.result_type(X.dtype, self.cluster_centers_.dtype)
        centers = np.ascontiguousarray(self.cluster_centers_, dtype=dtype)
        return np.ascontiguousarray(X, dtype=dtype), centers

    def predict(self, X):
        """Index of the nearest centre for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        check_is_fitted(self)
        X, centers = self._check_test_data(X)
        w = np.ones(X.shape[0], dtype=X.dtype)
        n_threads = _n_threads_for(len(X), *centers.shape)
        return _labels_inertia(X, w, centers, n_threads, return_inertia=False)

    def transform(self, X):
        """Euclidean distance from each sample to each centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            float32 when X and the centres are float32.
        """
        check_is_fitted(self)
        X, centers = self._check_test_data(X)
        return pairwise_distances(X, centers)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of X to the centres (see :meth:`transform`)."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of X for the fitted centres (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
            ``-sum_i w_i ||x_i - c(x_i)||^2``, ``c(x_i)`` the nearest centre.
        """
        check_is_fitted(self)
        X, centers = self._check_test_data(X)
        w = _check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return -_labels_inertia(X, w, centers, _n_threads_for(len(X), *centers.shape))[1]

    def _warn_distinct(self):
        distinct = np.unique(self.labels_).size
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning, stacklevel=3,
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class KMeans(_BaseKMeans):
    """k-means clustering by Lloyd's algorithm.

    Each iteration assigns every sample to its nearest centre and moves every centre to
    the (weighted) mean of its samples. The pass over the data is a Cython kernel:
    chunked GEMM distances, a fused argmin and per-group sums merged in a fixed order,
    parallel over chunks with OpenMP. It uses every OpenMP thread (like sklearn's KMeans,
    there is no ``n_jobs``; set ``OMP_NUM_THREADS`` or use threadpoolctl to limit it;
    small data run on fewer), and the result is the same for any number of threads.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters, at most the number of samples.
    init : {"k-means++", "random"}, callable or array-like of shape \
            (n_clusters, n_features), default="k-means++"
        ``"k-means++"``: greedy k-means++ (``2 + int(log(n_clusters))`` candidates per
        centre, see :func:`kmeans_plusplus`). ``"random"``: ``n_clusters`` distinct samples
        drawn with probability proportional to their weight. An array: the initial
        centres. A callable ``init(X, n_clusters, random_state)`` returning the centres.
    n_init : "auto" or int, default="auto"
        Number of runs from different initial centres; the one with the lowest inertia
        is kept. ``"auto"``: 1 for ``"k-means++"`` or an array, 10 for ``"random"`` or a
        callable. With an init array only one run is made.
    max_iter : int, default=300
        Maximum number of Lloyd iterations per run.
    tol : float, default=1e-4
        Scale-free tolerance. A run stops after the first iteration in which no label
        changes, or in which no centre moves by more than ``sqrt(tol * v)``, that is
        ``max_j ||c_j(new) - c_j(old)||^2 <= tol * v``, where ``v`` is the mean over
        features of the (sample-weighted) variance of each feature of X. Scaling X
        scales both sides alike, so the rule does not depend on the units of the data.
        ``tol=0`` stops only when the labels (hence the centres) no longer change.
    verbose : int, default=0
        Print a line per iteration.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation.
    copy_x : bool, default=True
        The data are centred (their mean subtracted) during the fit, for accuracy. With
        ``False`` this is done in place in X and undone afterwards (up to rounding) when
        X is a writable C-contiguous float array.
    algorithm : {"lloyd"}, default="lloyd"
        Only Lloyd's algorithm is implemented; the parameter exists for compatibility.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in the dtype of X (float32 stays float32).
    labels_ : ndarray of shape (n_samples,), dtype int32
        Cluster of each training sample, always the nearest of ``cluster_centers_``.
    inertia_ : float
        Sum of weighted squared distances of the samples to their centre.
    n_iter_ : int
        Iterations run by the kept run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when X had string column names.

    Notes
    -----
    Convergence follows scikit-learn's Lloyd loop: labels unchanged from the previous
    iteration stop the run, ``n_iter_`` counts the iterations run, and when a run stops
    for any other reason the labels are recomputed once from the final centres, so that
    ``labels_``, ``inertia_`` and ``predict`` agree. The tolerance rule differs: it looks
    at the largest movement of a single centre (the notes' Remark 3.10), where sklearn
    sums the squared movements of all centres, so for the same ``tol > 0`` a run never
    lasts longer than sklearn's and may stop a few iterations earlier. With ``tol=0``
    both stop at the same iteration.

    An empty cluster takes the point farthest from its centre. Expected failures of
    scikit-learn's estimator checks: ``check_sample_weight_equivalence_on_dense_data``
    (the seeding draws samples at random, so integer weights and repeated rows do not
    give the same draws).

    Examples
    --------
    >>> import numpy as np
    >>> from skml.cluster import KMeans
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0],
    ...               [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    >>> km.predict([[0.0, 0.0], [12.0, 3.0]]).tolist() == [km.labels_[0], km.labels_[3]]
    True
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, verbose=0, random_state=None, copy_x=True, algorithm="lloyd"):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm

    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; float32 and float64 are kept, other types become float64.
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; ``None`` gives every sample weight 1. Used by the
            k-means++ and random seeding, by the means and by the inertia.

        Returns
        -------
        self : KMeans
        """
        self._check_common_params()
        check_param(self.copy_x, "copy_x", types=(bool,))
        check_param(self.algorithm, "algorithm", options=("lloyd",))
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
        n_samples = X.shape[0]
        _check_n_clusters_vs_samples(self.n_clusters, n_samples)
        sample_weight = _check_sample_weight(sample_weight, n_samples, X.dtype)
        random_state = check_random_state(self.random_state)
        n_threads = _n_threads_for(n_samples, self.n_clusters, X.shape[1])
        n_init = self._resolve_n_init(default_random=10)

        init = self.init
        init_is_array = not isinstance(init, str) and not callable(init)
        if init_is_array:
            init = self._validate_init_array(X)
        tol = self.tol * _weighted_mean_variance(X, sample_weight) if self.tol else 0.0

        # Centre the data: distances through the GEMM identity are more accurate near
        # the origin. The centred copy is made in one pass (no copy, then subtract);
        # with copy_x=False X is centred in place and restored at the end.
        X_mean = X.mean(axis=0)
        in_place = not self.copy_x and X.flags.writeable
        if in_place:
            X -= X_mean
            Xc = X
        else:
            Xc = np.subtract(X, X_mean)
        if init_is_array:
            init -= X_mean

        best = None
        try:
            for _ in range(n_init):
                centers_init = self._init_centroids(Xc, sample_weight, init, random_state,
                                                    n_threads)
                if self.verbose:
                    print("Initialization complete")
                labels, inertia, centers, n_iter = _lloyd(
                    Xc, sample_weight, centers_init, self.max_iter, tol, self.verbose,
                    n_threads)
                if best is None or (inertia < best[1] and not _is_same_clustering(
                        labels, best[0], self.n_clusters)):
                    best = (labels, inertia, centers, n_iter)
        finally:
            if in_place:
                X += X_mean
        labels, inertia, centers, n_iter = best
        centers += X_mean

        self.cluster_centers_ = centers
        self._n_features_out = centers.shape[0]
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        self._warn_distinct()
        return self


class MiniBatchKMeans(_BaseKMeans):
    """k-means on random mini-batches, for data too large for a full pass per iteration.

    Each step draws ``batch_size`` samples (with replacement, with probability
    proportional to their weight), assigns them to the nearest centre with the same
    kernel as :class:`KMeans`, and moves each centre to the running weighted mean of all
    the samples it has received so far. :meth:`partial_fit` makes one such step on the
    batch it is given, for data that arrive in pieces.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"}, callable or array-like of shape \
            (n_clusters, n_features), default="k-means++"
        As in :class:`KMeans`; computed on ``init_size`` random samples.
    max_iter : int, default=100
        Maximum number of passes (epochs) over the data: at most
        ``max_iter * n_samples // batch_size`` steps.
    batch_size : int, default=1024
        Samples per step.
    verbose : int, default=0
        Print the batch inertia at each step.
    compute_labels : bool, default=True
        After :meth:`fit`, compute ``labels_`` and ``inertia_`` on the whole data (after
        :meth:`partial_fit`, on the batch).
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation, the batches and the reassignments.
    tol : float, default=0.0
        Stop when the largest squared centre movement of a step is at most
        ``tol * mean_j var(X[:, j])`` (as in :class:`KMeans`); ``0`` disables it.
    max_no_improvement : int or None, default=10
        Stop after this many consecutive steps without improvement of the smoothed
        (exponentially weighted) batch inertia; ``None`` disables it.
    init_size : int, default=None
        Samples used to compute the initial centres; ``None`` means
        ``3 * batch_size`` (at least ``3 * n_clusters``), at most ``n_samples``.
    n_init : "auto" or int, default="auto"
        Initialisations tried (scored on a random validation subset); ``"auto"``: 1 for
        ``"k-means++"`` or an array, 3 otherwise.
    reassignment_ratio : float, default=0.01
        Centres whose accumulated weight is below this fraction of the largest are moved
        to random samples of the batch (at most half the batch at once), every
        ``10 * n_clusters`` samples or whenever a centre has received nothing. ``0``
        disables reassignment.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), dtype int32
        Only when ``compute_labels``.
    inertia_ : float
        Only when ``compute_labels``.
    n_iter_ : int
        Passes over the data started by :meth:`fit`.
    n_steps_ : int
        Mini-batch steps made.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when X had string column names.

    Notes
    -----
    Expected failures of scikit-learn's estimator checks:
    ``check_sample_weight_equivalence_on_dense_data`` (the batches are random draws, so
    integer weights and repeated rows give different batches).

    Examples
    --------
    >>> import numpy as np
    >>> from skml.cluster import MiniBatchKMeans
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    >>> mbk = MiniBatchKMeans(n_clusters=2, batch_size=20, random_state=0).fit(X)
    >>> sorted(np.round(mbk.cluster_centers_[:, 0]).tolist())
    [0.0, 5.0]
    """

    def __init__(self, n_clusters=8, *, init="k-means++", max_iter=100, batch_size=1024,
                 verbose=0, compute_labels=True, random_state=None, tol=0.0,
                 max_no_improvement=10, init_size=None, n_init="auto",
                 reassignment_ratio=0.01):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio

    def _check_params(self, X):
        self._check_common_params()
        check_param(self.batch_size, "batch_size", types=(numbers.Integral,), min_val=1)
        check_param(self.compute_labels, "compute_labels", types=(bool,))
        if self.max_no_improvement is not None:
            check_param(self.max_no_improvement, "max_no_improvement",
                        types=(numbers.Integral,), min_val=0)
        if self.init_size is not None:
            check_param(self.init_size, "init_size", types=(numbers.Integral,), min_val=1)
        check_param(self.reassignment_ratio, "reassignment_ratio", types=(numbers.Real,),
                    min_val=0)
        n_samples = X.shape[0]
        self._batch_size = min(int(self.batch_size), n_samples)
        init_size = self.init_size
        if init_size is None:
            init_size = 3 * self._batch_size
        init_size = max(init_size, 3 * self.n_clusters)
        self._init_size = min(init_size, n_samples)

    def _step(self, X, sample_weight, centers, random_reassign, random_state, n_threads):
        """One mini-batch step on (X, sample_weight); updates ``centers`` and
        ``self._counts`` in place. Returns (batch inertia before the update, largest
        squared centre shift)."""
        n, d = X.shape
        k = centers.shape[0]
        chunk, workspace = _workspace(n, k, d, X.itemsize)
        labels = np.full(n, -1, dtype=np.int32)
        sums = np.empty((k, d), dtype=np.float64)
        weights = np.empty(k, dtype=np.float64)
        with limit_blas_threads():
            _kmeans.lloyd_pass(X, sample_weight, centers, labels, sums, weights, workspace,
                               chunk, n_threads, True)
            inertia = _kmeans.inertia(X, sample_weight, centers, labels, chunk, n_threads)
        counts = self._counts
        new = centers.astype(np.float64)
        got = weights > 0
        total = counts[got] + weights[got]
        new[got] = (new[got] * counts[got, None] + sums[got]) / total[:, None]
        counts[got] = total

        if random_reassign and self.reassignment_ratio > 0:
            to_move = counts < self.reassignment_ratio * counts.max()
            if to_move.sum() > 0.5 * n:  # never more than half the batch at once
                keep = np.argsort(counts, kind="stable")[int(0.5 * n):]
                to_move[keep] = False
            n_move = int(to_move.sum())
            if n_move:
                w = np.asarray(sample_weight, dtype=np.float64)
                n_pos = int(np.count_nonzero(w))
                if n_pos >= n_move:
                    picked = random_state.choice(n, size=n_move, replace=False,
                                                 p=w / w.sum())
                    new[to_move] = X[picked]
                    counts[to_move] = np.min(counts[~to_move])
                    if self.verbose:
                        print(f"[MiniBatchKMeans] Reassigning {n_move} cluster centers.")
        new = new.astype(centers.dtype)
        diff = new.astype(np.float64) - centers
        shift = float(np.max(np.einsum("ij,ij->i", diff, diff)))
        centers[...] = new
        return inertia, shift

    def _random_reassign(self, n_seen):
        """Whether to reassign small clusters now: every 10 * n_clusters samples, or
        whenever a centre has received nothing."""
        self._n_since_last_reassign += n_seen
        if (self._counts == 0).any() or self._n_since_last_reassign >= 10 * self.n_clusters:
            self._n_since_last_reassign = 0
            return True
        return False

    def fit(self, X, y=None, sample_weight=None):
        """Compute the centres by mini-batch steps over X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Batches are drawn with probability proportional to the weights.

        Returns
        -------
        self : MiniBatchKMeans
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
        self._check_params(X)
        n_samples, n_features = X.shape
        _check_n_clusters_vs_samples(self.n_clusters, n_samples)
        sample_weight = _check_sample_weight(sample_weight, n_samples, X.dtype)
        random_state = check_random_state(self.random_state)
        n_threads = _n_threads_for(max(self._batch_size, self._init_size), self.n_clusters,
                                   n_features)
        n_init = self._resolve_n_init(default_random=3)
        init = self.init
        if not isinstance(init, str) and not callable(init):
            init = self._validate_init_array(X)
        tol = self.tol * _weighted_mean_variance(X, sample_weight) if self.tol else 0.0

        # initialisations, scored on a random validation subset
        valid = random_state.randint(0, n_samples, self._init_size)
        X_valid, w_valid = X[valid], sample_weight[valid]
        best_inertia, centers = None, None
        for i in range(n_init):
            cand = self._init_centroids(X, sample_weight, init, random_state, n_threads,
                                        init_size=self._init_size)
            _, inertia = _labels_inertia(X_valid, w_valid, cand, n_threads)
            if self.verbose:
                print(f"Init {i + 1}/{n_init}: inertia {inertia:.6g}")
            if best_inertia is None or inertia < best_inertia:
                best_inertia, centers = inertia, cand

        self._counts = np.zeros(self.n_clusters, dtype=np.float64)
        self._n_since_last_reassign = 0
        self._random_state = random_state  # partial_fit after fit goes on with it
        batch = self._batch_size
        n_steps = max(1, (self.max_iter * n_samples) // batch)
        unit = np.ones(batch, dtype=X.dtype)
        uniform = bool(np.all(sample_weight == sample_weight[0]))
        cdf = None if uniform else np.cumsum(sample_weight, dtype=np.float64)
        state = [None, None, 0]  # smoothed batch inertia, its minimum, steps since then
        step = 0
        for step in range(n_steps):
            if uniform:
                idx = random_state.randint(0, n_samples, batch)
            else:
                idx = np.searchsorted(cdf, random_state.uniform(size=batch) * cdf[-1],
                                      side="right")
                np.clip(idx, None, n_samples - 1, out=idx)
            inertia, shift = self._step(X[idx], unit, centers,
                                        self._random_reassign(batch), random_state,
                                        n_threads)
            if self._converged(step, inertia / batch, shift, tol, n_samples, batch, state):
                break

        self.cluster_centers_ = centers
        self._n_features_out = centers.shape[0]
        self.n_steps_ = step + 1
        self.n_iter_ = int(np.ceil((step + 1) * batch / n_samples))
        if self.compute_labels:
            self.labels_, inertia = _labels_inertia(X, sample_weight, centers,
                                                    _n_threads_for(n_samples, self.n_clusters,
                                                                   n_features))
            self.inertia_ = float(inertia)
            self._warn_distinct()
        return self

    def _converged(self, step, batch_inertia, shift, tol, n_samples, batch, state):
        """Early stopping on the centre shift (``tol``) and on the smoothed inertia
        (``max_no_improvement``); ``state`` = [ewa, ewa_min, no_improvement], updated."""
        if self.verbose:
            print(f"Minibatch step {step + 1}: mean batch inertia {batch_inertia:.6g}")
        if step == 0:  # the first batch is scored against the initial centres only
            return False
        ewa, ewa_min, no_improvement = state
        if ewa is None:
            ewa = batch_inertia
        else:
            alpha = min(1.0, batch * 2.0 / (n_samples + 1))
            ewa = ewa * (1 - alpha) + batch_inertia * alpha
        if tol > 0 and shift <= tol:
            if self.verbose:
                print(f"Converged (small centre shift) at step {step + 1}")
            return True
        if ewa_min is None or ewa < ewa_min:
            no_improvement, ewa_min = 0, ewa
        else:
            no_improvement += 1
        state[:] = [ewa, ewa_min, no_improvement]
        if self.max_no_improvement is not None and no_improvement >= self.max_no_improvement:
            if self.verbose:
                print(f"Converged (no improvement of the smoothed inertia) at step "
                      f"{step + 1}")
            return True
        return False

    def partial_fit(self, X, y=None, sample_weight=None):
        """One mini-batch step on X (the first call also computes the initial centres).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The batch; the first one needs at least ``n_clusters`` samples.
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MiniBatchKMeans
        """
        first = not hasattr(self, "cluster_centers_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=first)
        if first:
            self._check_params(X)
        else:
            X = np.ascontiguousarray(X, dtype=self.cluster_centers_.dtype)
        n_samples = X.shape[0]
        sample_weight = _check_sample_weight(sample_weight, n_samples, X.dtype)
        n_threads = _n_threads_for(n_samples, self.n_clusters, X.shape[1])
        if first:
            _check_n_clusters_vs_samples(self.n_clusters, n_samples)
            self._random_state = check_random_state(self.random_state)
            init = self.init
            if not isinstance(init, str) and not callable(init):
                init = self._validate_init_array(X)
            self.cluster_centers_ = self._init_centroids(
                X, sample_weight, init, self._random_state, n_threads,
                init_size=self._init_size)
            self._n_features_out = self.n_clusters
            self._counts = np.zeros(self.n_clusters, dtype=np.float64)
            self._n_since_last_reassign = 0
            self.n_steps_ = 0
        self._step(X, sample_weight, self.cluster_centers_,
                   self._random_reassign(n_samples), self._random_state, n_threads)
        self.n_steps_ += 1
        if self.compute_labels:
            self.labels_, inertia = _labels_inertia(X, sample_weight,
                                                    self.cluster_centers_, n_threads)
            self.inertia_ = float(inertia)
        return self
