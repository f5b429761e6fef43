"""Neighbour lists for the manifold learners: checks on what a search returned, and the
nearest neighbours read off a precomputed distance matrix (dense or a sparse graph)."""
import numpy as np
from scipy import sparse

__all__ = ["check_neighbour_graph", "precomputed_neighbours"]


def check_neighbour_graph(dist, ind, n_ref, who):
    """Refuse a neighbour list that a kernel would mis-index: every index must name one
    of the ``n_ref`` reference points and every distance must be finite and >= 0.

    The callers hand the search data rescaled to [-1, 1], so this only fails if the
    search itself does (its metric overflowing, e.g. Minkowski with a huge ``p``)."""
    if ind.size and (ind.min() < 0 or ind.max() >= n_ref):
        raise ValueError(
            f"The neighbour search returned an index outside [0, {n_ref}) (a distance "
            f"that overflowed the metric's range); {who} cannot use it.")
    if not np.all(np.isfinite(dist)) or np.any(dist < 0):
        raise ValueError(
            "The neighbour search returned non-finite or negative distances (the metric "
            f"overflowed on this data); {who} cannot use them.")


def precomputed_neighbours(D, k, exclude_self):
    """``(dist, ind)``: the ``k`` smallest entries of each row of a distance matrix, in
    increasing order, ties to the smaller column index (as the brute-force search).

    Parameters
    ----------
    D : ndarray or sparse matrix of shape (n_rows, n_cols)
        Non-negative distances. In a sparse matrix (a neighbours graph, as scikit-learn
        takes with ``metric="precomputed"``) only the stored entries are candidates
        (explicit zeros included: duplicate points); absent entries are not neighbours.
    k : int
        Neighbours per row.
    exclude_self : bool
        D is the training points' own matrix: column i is not a candidate for row i.

    Raises
    ------
    ValueError
        If a row of a sparse D has fewer than ``k`` candidates.
    """
    n = D.shape[0]
    if sparse.issparse(D):
        D = D.tocsr()
        rows = np.repeat(np.arange(n), np.diff(D.indptr))
        cols = D.indices.astype(np.intp)
        vals = D.data
        if exclude_self:
            keep = cols != rows
            rows, cols, vals = rows[keep], cols[keep], vals[keep]
        counts = np.bincount(rows, minlength=n)
        if n and counts.min() < k:
            raise ValueError(
                f"{k} neighbors per samples are required, but some samples have only "
                f"{counts.min()} neighbors in precomputed graph matrix. Decrease number "
                "of neighbors used or recompute the graph with more neighbors.")
        order = np.lexsort((cols, vals, rows))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        take = order[starts[:, None] + np.arange(k)[None, :]]
        return np.ascontiguousarray(vals[take]), np.ascontiguousarray(cols[take])
    D = np.asarray(D)
    if exclude_self:
        D = D.astype(np.float64, copy=True)
        np.fill_diagonal(D, np.inf)
    m = D.shape[1]
    if k < m:
        # the k-th smallest value of each row; all entries below it, then the entries
        # equal to it with the smallest column indices
        kth = np.partition(D, k - 1, axis=1)[:, k - 1:k]
        below = D < kth
        tied = D == kth
        room = k - below.sum(axis=1, keepdims=True)
        chosen = below | (tied & (np.cumsum(tied, axis=1) <= room))
        ind = np.nonzero(chosen)[1].reshape(n, k)
    else:
        ind = np.broadcast_to(np.arange(m), (n, m)).copy()
    dist = np.take_along_axis(D, ind, axis=1)
    order = np.lexsort((ind, dist), axis=1)
    return (np.ascontiguousarray(np.take_along_axis(dist, order, axis=1)),
            np.ascontiguousarray(np.take_along_axis(ind, order, axis=1), dtype=np.intp))
