"""Isomap (Definition 2.34): classical scaling of geodesic distances along a
neighbourhood graph."""
import numbers
import warnings

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components, floyd_warshall
from sklearn.utils.validation import check_is_fitted

from skml._kernels import _graph
from skml.decomposition._scaling import rescale
from skml.manifold._base import _EmbeddingBase, validate_neighbour_input
from skml.manifold._mds import _classical_scaling, _double_centre, _gower_project
from skml.manifold._progress import Progress
from skml.manifold._neighbours import check_neighbour_graph, precomputed_neighbours
from skml.metrics import PAIRWISE_METRICS, kneighbors_brute, pairwise_distances
from skml.utils import (
    Interval,
    StrOptions,
    check_param,
    check_params,
    chunk_rows,
    effective_n_threads,
    store_init_params,
)

__all__ = ["Isomap"]

# Rows of new points whose geodesic distances are built at once in ``transform``.
_TRANSFORM_CHUNK = 256
# Shortest-path sources per kernel call when a progress bar is shown.
_PROGRESS_BLOCK = 256


def _symmetric_csr(rows, cols, weights, n):
    """An undirected CSR graph from directed edges: each pair once per direction, with
    the smaller weight if it was given twice. Explicit zero weights (duplicate points)
    are kept as edges."""
    r = np.concatenate([rows, cols])
    c = np.concatenate([cols, rows])
    w = np.concatenate([weights, weights]).astype(np.float64)
    order = np.lexsort((w, c, r))  # by row, then column, then weight
    r, c, w = r[order], c[order], w[order]
    first = np.ones(r.size, dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    r, c, w = r[first], c[first], w[first]
    indptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    return indptr, np.ascontiguousarray(c, dtype=np.intp), np.ascontiguousarray(w)


class Isomap(_EmbeddingBase):
    """Isomap embedding: classical scaling of shortest-path distances on a graph.

    The steps of Definition 2.34: (3) connect each point to its ``n_neighbors`` nearest
    neighbours (k-Isomap) or to every point within ``radius`` (ε-Isomap), with
    Euclidean edge lengths, as an undirected graph; (4) compute all shortest-path
    (geodesic) distances on it; (5) embed by the top eigenvectors of the double-centred
    matrix ``tau(D) = -1/2 J D^2 J``, coordinates ``sqrt(lambda_p) v_p``.

    Neighbours come from :func:`skml.metrics.kneighbors_brute` (or blocks of
    :func:`skml.metrics.pairwise_distances` for ``radius``). Shortest paths run in
    skml's OpenMP kernel: one Dijkstra per source with a binary heap, sources spread
    over threads (``path_method="FW"`` uses ``scipy.sparse.csgraph.floyd_warshall``).

    If the graph is disconnected (too few neighbours, or separate clusters), a
    ``UserWarning`` is issued and each pair of components is joined by an edge between
    its two closest points, as scikit-learn does; otherwise some geodesic distances
    would be infinite.

    Parameters
    ----------
    n_neighbors : int or None, default=5
        Neighbours per point of the k-nearest-neighbour graph. Must be ``None`` when
        ``radius`` is given.
    radius : float or None, default=None
        Connect points at distance ``<= radius`` (ε-graph) instead.
    n_components : int, default=2
        Dimension of the embedding.
    eigen_solver : {"auto", "arpack", "dense"}, default="auto"
        ``"dense"``: LAPACK on the wanted eigenvalues; ``"arpack"``: Lanczos
        (``scipy.sparse.linalg.eigsh``) from a fixed start vector; ``"auto"``: Lanczos for
        more than 200 points and fewer than 10 components.
    tol : float, default=0
        Convergence tolerance of ``"arpack"`` (0: machine precision).
    max_iter : int or None, default=None
        Maximum ``"arpack"`` iterations.
    path_method : {"auto", "D", "FW"}, default="auto"
        ``"auto"`` and ``"D"``: parallel Dijkstra; ``"FW"``: Floyd–Warshall, O(n^3).
    neighbors_algorithm : {"auto", "brute", "kd_tree", "ball_tree"}, default="auto"
        Accepted for compatibility with scikit-learn, where it only changes the speed:
        skml finds the neighbours by brute force for every value (its OpenMP kernel;
        the O(n^2) geodesic matrix dominates Isomap's time anyway), with the same
        neighbours.
    n_jobs : int, default=None
        OpenMP threads of the neighbour search and the shortest paths. ``None``: all
        cores, as scikit-learn's OpenMP estimators use (scikit-learn's Isomap runs one
        job for ``None``); results do not depend on it.
    metric : str, default="minkowski"
        Edge length; any metric of :func:`skml.metrics.pairwise_distances`, or
        ``"precomputed"``: X is then a distance matrix, dense or a sparse neighbours
        graph (as scikit-learn's; a disconnected sparse graph cannot be completed and
        raises RuntimeError).
    p : float, default=2
        Minkowski order (2: Euclidean), at least 1.
    metric_params : dict, default=None
        ``{"p": value}`` for ``"minkowski"`` (it then takes precedence over ``p``, as in
        scikit-learn).
    verbose : int, default=0
        ``>= 1``: a line per stage (neighbour graph, shortest paths, eigenvectors) and a
        progress bar over the shortest-path sources. An skml addition.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The embedded training points (float64).
    dist_matrix_ : ndarray of shape (n_samples, n_samples)
        Geodesic distances between the training points.
    eigenvalues_ : ndarray of shape (n_components,)
        Top eigenvalues of ``-1/2 J D^2 J``.
    n_connected_components_ : int
        Connected components of the neighbourhood graph before any joining.
    n_features_in_ : int
        Columns of X seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of X seen in ``fit``, when they are all strings.

    Raises
    ------
    ValueError
        If both or neither of ``n_neighbors`` and ``radius`` are given, ``n_neighbors``
        is not below ``n_samples``, ``n_components > n_samples``, or ``metric_params``
        holds anything but ``p``.

    Notes
    -----
    Sparse input: with ``metric="precomputed"``, a neighbours graph (as scikit-learn;
    where the graph does not store each point's zero distance to itself, scikit-learn
    drops each point's nearest neighbour, taking it for the point itself, and skml keeps
    it; with a ``KNeighborsTransformer`` graph both agree). Sparse features (CSR; CSC
    and COO are converted) go to skml's sparse neighbour search.

    Computed on the data divided by a power of two (exactly), so data of any magnitude
    (1e-300 to 1e300) gives the geodesics of the plain data, and with the neighbour
    search exact for any offset, so does data far from the origin (float32 offset by
    1e4: it is not centred, which would round every coordinate in float32); the results
    are scaled back (``eigenvalues_`` is ``inf`` or 0 only where the true value lies
    outside the float range).

    References
    ----------
    J. B. Tenenbaum, V. de Silva and J. C. Langford, A global geometric framework for
    nonlinear dimensionality reduction, Science 290 (2000).
    H. Dai, "Note on Machine Learning" (preprint), Definition 2.34.

    Examples
    --------
    >>> from sklearn.datasets import make_swiss_roll
    >>> from skml.manifold import Isomap
    >>> X, t = make_swiss_roll(500, random_state=0)
    >>> Isomap(n_neighbors=10).fit_transform(X).shape
    (500, 2)
    """

    def __init__(self, *, n_neighbors=5, radius=None, n_components=2, eigen_solver="auto",
                 tol=0, max_iter=None, path_method="auto", neighbors_algorithm="auto",
                 n_jobs=None, metric="minkowski", p=2, metric_params=None, verbose=0):
        store_init_params(self, locals())

    _takes_sparse = True

    _parameter_constraints = {
        "n_neighbors": [Interval(numbers.Integral, 1, None), None],
        "radius": [Interval(numbers.Real, 0, None), None],
        "n_components": [Interval(numbers.Integral, 1, None)],
        "eigen_solver": [StrOptions({"auto", "arpack", "dense"})],
        "tol": [Interval(numbers.Real, 0, None)],
        "max_iter": [Interval(numbers.Integral, 1, None), None],
        "path_method": [StrOptions({"auto", "D", "FW"})],
        "neighbors_algorithm": [StrOptions({"auto", "brute", "kd_tree", "ball_tree"})],
        "n_jobs": ["n_jobs"],
        "metric": [StrOptions({*PAIRWISE_METRICS, "precomputed"})],
        "p": [Interval(numbers.Real, 1, None)],
        "metric_params": [dict, None],
        "verbose": ["verbose"],
    }

    def _check_params(self, n_samples):
        check_params(self)
        if (self.n_neighbors is None) == (self.radius is None):
            raise ValueError(
                "Give exactly one of n_neighbors and radius (the other must be None), got "
                f"n_neighbors={self.n_neighbors!r} and radius={self.radius!r}.")
        if self.radius is None:
            check_param(self.n_neighbors, "n_neighbors", types=(numbers.Integral,),
                        min_val=1, max_val=n_samples - 1)
        check_param(self.n_components, "n_components", types=(numbers.Integral,),
                    min_val=1, max_val=n_samples)
        unknown = set(self.metric_params or {}) - {"p"}
        if unknown:
            raise ValueError(f"metric_params accepts only 'p', got {sorted(unknown)}.")
        self._p = (self.metric_params or {}).get("p", self.p)
        check_param(self._p, "metric_params['p']", types=(numbers.Real,), min_val=1)

    # ---------------------------------------------------------------- graph building
    def _euclidean(self):
        return self.metric in ("euclidean", "l2") or (self.metric == "minkowski"
                                                      and self._p == 2)

    def _lengths(self, X, Y, rows, cols, approx):
        """Edge lengths: recomputed from the coordinate differences for the Euclidean
        metric (the GEMM identity behind the neighbour search rounds near-zero distances
        to ~1e-8 instead of 0), the search's (or the precomputed) values otherwise."""
        if self.metric == "precomputed" or not self._euclidean():
            return np.asarray(approx, dtype=np.float64)
        if sparse.issparse(X) and sparse.issparse(Y):
            diff = (X[rows] - Y[cols]).astype(np.float64)
            return np.sqrt(np.asarray(diff.multiply(diff).sum(axis=1)).ravel())
        # one side sparse (new sparse points, dense training data, or the reverse):
        # their difference is dense, as large as the dense side's rows
        diff = np.asarray(X[rows] - Y[cols], dtype=np.float64) \
            if sparse.issparse(X) or sparse.issparse(Y) \
            else X[rows].astype(np.float64) - Y[cols].astype(np.float64)
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))

    def _knn(self, X, Y, k, same):
        """``(dist, ind)``: the k nearest rows of Y for each row of X (``same``: Y is X
        and a point is not its own neighbour). With ``metric="precomputed"`` X holds the
        distances to the training points (dense, or a sparse graph whose stored entries
        are the candidates)."""
        if self.metric == "precomputed":
            return precomputed_neighbours(X, k, exclude_self=same)
        n = X.shape[0]
        kk = k + (1 if same else 0)
        dist, ind = kneighbors_brute(X, Y, kk, metric=self.metric, p=self._p,
                                     n_jobs=self.n_jobs)
        check_neighbour_graph(dist, ind, Y.shape[0], "Isomap")
        if same:  # drop the point itself (or, with duplicates, the farthest entry)
            keep = ind != np.arange(n)[:, None]
            keep[keep.all(axis=1), -1] = False
            dist = dist[keep].reshape(n, k)
            ind = ind[keep].reshape(n, k)
        return dist, ind

    def _within_radius(self, X, Y, same):
        """``(rows, cols, distances)`` of the pairs within ``radius`` (rows of X against
        rows of Y; ``same``: without the pairs (i, i))."""
        r = self._radius
        if self.metric == "precomputed":
            if sparse.issparse(X):
                C = X.tocoo()
                rows, cols, vals = C.row.astype(np.intp), C.col.astype(np.intp), C.data
                keep = vals <= r
            else:
                rows, cols = np.nonzero(X <= r)
                vals = X[rows, cols]
                keep = np.ones(rows.size, dtype=bool)
            if same:
                keep &= rows != cols
            return rows[keep], cols[keep], np.asarray(vals[keep], dtype=np.float64)
        rows, cols, dists = [], [], []
        step = chunk_rows(Y.shape[0] * X.dtype.itemsize, preferred=1024)
        for start in range(0, X.shape[0], step):
            D = pairwise_distances(X[start:start + step], Y, metric=self.metric,
                                   n_jobs=self.n_jobs, p=self._p)
            rr, cc = np.nonzero(D <= r)
            if same:
                off_diag = rr + start != cc
                rr, cc = rr[off_diag], cc[off_diag]
            rows.append(rr + start)
            cols.append(cc)
            dists.append(D[rr, cc])
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(dists)

    def _neighbours(self, X):
        """Directed edges (rows, cols, lengths) of the training points' graph."""
        n = X.shape[0]
        if self.radius is None:
            dist, ind = self._knn(X, X, self.n_neighbors, same=True)
            rows = np.repeat(np.arange(n), ind.shape[1])
            cols = ind.ravel()
            return rows, cols, self._lengths(X, X, rows, cols, dist.ravel())
        rows, cols, dist = self._within_radius(X, X, same=True)
        return rows, cols, self._lengths(X, X, rows, cols, dist)

    def _connect(self, X, rows, cols, lengths):
        """Join every pair of graph components by the edge between their closest points."""
        n = X.shape[0]
        graph = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
        n_comp, labels = connected_components(graph, directed=False)
        self.n_connected_components_ = int(n_comp)
        if n_comp == 1:
            return rows, cols, lengths
        if self.metric == "precomputed" and sparse.issparse(X):
            raise RuntimeError(
                f"The number of connected components of the neighbors graph is {n_comp} "
                "> 1. The graph cannot be completed with metric='precomputed', and Isomap "
                "cannot be fitted. Increase the number of neighbors to avoid this issue, "
                "or precompute the full distance matrix instead of passing a sparse "
                "neighbors graph.")
        warnings.warn(
            f"The neighbourhood graph has {n_comp} connected components; Isomap joins "
            "each pair of components by the edge between their closest points. Increase "
            "n_neighbors (or radius) for a connected graph.", UserWarning, stacklevel=3)
        members = [np.flatnonzero(labels == c) for c in range(n_comp)]
        extra_r, extra_c, extra_w = [], [], []
        for a in range(n_comp):
            for b in range(a + 1, n_comp):
                if self.metric == "precomputed":
                    D = np.asarray(X[np.ix_(members[a], members[b])], dtype=np.float64)
                else:
                    D = pairwise_distances(X[members[a]], X[members[b]],
                                           metric=self.metric, n_jobs=self.n_jobs,
                                           p=self._p)
                i, j = np.unravel_index(np.argmin(D), D.shape)
                extra_r.append(members[a][i])
                extra_c.append(members[b][j])
                extra_w.append(float(D[i, j]))
        return (np.concatenate([rows, extra_r]), np.concatenate([cols, extra_c]),
                np.concatenate([lengths, extra_w]))

    def _geodesics(self, indptr, indices, weights, progress):
        n = indptr.size - 1
        if self.path_method == "FW":
            graph = sparse.csr_matrix((weights, indices, indptr), shape=(n, n))
            return floyd_warshall(graph, directed=True)
        out = np.empty((n, n), dtype=np.float64)
        n_threads = min(effective_n_threads(self.n_jobs), n)
        sources = np.arange(n, dtype=np.intp)
        # one kernel call; with a progress bar, blocks of sources (one call each)
        step = n if not progress.verbose else max(_PROGRESS_BLOCK, n_threads)
        with progress.bar(n, "shortest paths", unit="source") as bar:
            for start in range(0, n, step):
                stop = min(n, start + step)
                _graph.dijkstra_rows(indptr, indices, weights, sources[start:stop],
                                     out[start:stop], n_threads)
                bar.update(stop - start)
        return out

    # ---------------------------------------------------------------- estimator API
    def fit(self, X, y=None):
        """Compute the embedding of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, n_samples)
            Data (CSR/CSC/COO are taken as CSR), or with ``metric="precomputed"`` the
            distances between the training points: a dense matrix, or a sparse
            neighbours graph whose stored entries are the candidate neighbours (each row
            needs ``n_neighbors`` of them besides the diagonal).
        y : Ignored

        Returns
        -------
        self : Isomap
        """
        X = validate_neighbour_input(self, X, reset=True)
        n = X.shape[0]
        self._check_params(n)
        progress = Progress("Isomap", self.verbose)
        # Geodesic distances and the embedding scale with the data: compute on data
        # divided by a power of two (exact), then scale the results back, so that
        # |x| ~ 1e160 (squares overflow) does not harm them. Not centred: the search is
        # exact for data far from the origin by itself, and centring float32 data in
        # float32 rounds each coordinate to the spread's precision (a distance 1e-4 of
        # the spread came out 6e-5 relative off).
        Xn, self._shift, self._exponent = rescale(X)
        self._radius = (None if self.radius is None
                        else float(np.ldexp(float(self.radius), -self._exponent)))
        rows, cols, lengths = self._neighbours(Xn)
        rows, cols, lengths = self._connect(Xn, rows, cols, lengths)
        indptr, indices, weights = _symmetric_csr(rows, cols, lengths, n)
        progress.line(f"neighbourhood graph: {n} points, {indices.size} edges, "
                      f"{self.n_connected_components_} component(s)")
        dist = self._geodesics(indptr, indices, weights, progress)
        progress.line("shortest paths")
        emb, evals, evecs, row_means, grand_mean = _classical_scaling(
            dist**2, self.n_components, solver=self.eigen_solver, tol=self.tol,
            max_iter=self.max_iter)
        progress.line(f"top {self.n_components} eigenvectors")
        e = self._exponent
        with np.errstate(over="ignore"):  # beyond float range: inf, as the true value
            self.dist_matrix_ = np.ldexp(dist, e)
            self.embedding_ = np.ldexp(emb, e)
            self.eigenvalues_ = np.ldexp(evals, 2 * e)
        self._gower = (evals, evecs, row_means, grand_mean)
        self._fit_X = Xn
        return self

    def fit_transform(self, X, y=None):
        """Compute the embedding of X and return it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            float32 for float32 input.
        """
        self.fit(X)
        return self.embedding_.astype(self._fit_X.dtype, copy=False)

    def transform(self, X):
        """Embed new points: their geodesic distances to the training points go through
        their nearest training neighbours (``min_j d(x, x_j) + D_geo[j, :]``), then
        Gower's out-of-sample formula places them. A training point lands exactly on its
        ``embedding_`` row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_new, n_features) or \
                (n_new, n_samples)
            New data, or with ``metric="precomputed"`` their distances to the training
            points (dense, or sparse with ``n_neighbors`` stored entries per row). Sparse
            new data is only scaled, never densified.

        Returns
        -------
        X_new : ndarray of shape (n_new, n_components)
        """
        check_is_fitted(self)
        X = validate_neighbour_input(self, X, reset=False)
        dtype = X.dtype
        train = self._fit_X
        if X.dtype != train.dtype:
            X = X.astype(np.float64)
            train = train.astype(np.float64)
        X = self._to_training_frame(X)  # (see fit)
        D_geo = np.ldexp(self.dist_matrix_, -self._exponent)
        out = np.empty((X.shape[0], self.n_components), dtype=np.float64)
        for start in range(0, X.shape[0], _TRANSFORM_CHUNK):
            block = X[start:start + _TRANSFORM_CHUNK]
            G = self._geodesics_to_training(block, train, D_geo)
            out[start:start + block.shape[0]] = _gower_project(G**2, *self._gower)
        with np.errstate(over="ignore"):
            out = np.ldexp(out, self._exponent)
        return out.astype(dtype, copy=False)

    def _geodesics_to_training(self, block, train, D_geo):
        """Geodesic distances of new rows to the training points, through their
        training neighbours (the nearest one when none lies within ``radius``)."""
        m = block.shape[0]
        G = np.full((m, D_geo.shape[0]), np.inf)
        if self.radius is None:
            dist, ind = self._knn(block, train, self.n_neighbors, same=False)
            rows = np.repeat(np.arange(m), ind.shape[1])
            dist = self._lengths(block, train, rows, ind.ravel(), dist.ravel())
            dist = dist.reshape(ind.shape)
            for c in range(ind.shape[1]):
                np.minimum(G, dist[:, c:c + 1] + D_geo[ind[:, c]], out=G)
            return G
        rows, cols, dist = self._within_radius(block, train, same=False)
        lengths = self._lengths(block, train, rows, cols, dist)
        lonely = np.setdiff1d(np.arange(m), rows)
        if lonely.size:  # nothing within radius: go through the nearest point
            d1, i1 = self._knn(block[lonely], train, 1, same=False)
            l1 = self._lengths(block[lonely], train, np.arange(lonely.size), i1[:, 0],
                               d1[:, 0])
            rows = np.concatenate([rows, lonely])
            cols = np.concatenate([cols, i1[:, 0]])
            lengths = np.concatenate([lengths, l1])
        order = np.argsort(rows, kind="stable")
        rows, cols, lengths = rows[order], cols[order], lengths[order]
        bounds = np.searchsorted(rows, np.arange(m + 1))
        for i in range(m):
            nb = slice(bounds[i], bounds[i + 1])
            G[i] = np.min(lengths[nb, None] + D_geo[cols[nb]], axis=0)
        return G

    def reconstruction_error(self):
        """Isomap's reconstruction error, as scikit-learn defines it:
        ``sqrt(||tau(D_geo)||_F^2 - sum(lambda^2)) / n_samples`` with ``tau(D) =
        -1/2 J D^2 J`` and ``lambda`` the kept eigenvalues.

        Returns
        -------
        error : float
        """
        check_is_fitted(self)
        # in the frame of fit (exact powers of two), so that squares do not overflow
        e = self._exponent
        K = -0.5 * np.ldexp(self.dist_matrix_, -e) ** 2
        _double_centre(K)
        evals = np.maximum(self._gower[0], 0.0)
        error = np.sqrt(max(np.sum(K**2) - np.sum(evals**2), 0.0)) / K.shape[0]
        with np.errstate(over="ignore"):
            return float(np.ldexp(error, 2 * e))

