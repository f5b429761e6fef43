"""k-means clustering: Lloyd's and Elkan's algorithms (``KMeans``, ``k_means``) and the
mini-batch variant (``MiniBatchKMeans``), with greedy k-means++ seeding.

The passes over the data run in ``skml._kernels._kmeans``: chunked GEMM distances to the
centres, a fused argmin per row, and per-group accumulators for the new centres, merged
in a fixed order so that results do not depend on the number of threads; Elkan's pass
prunes distances by the triangle inequality and accumulates the same way. Sparse input
goes through CSR passes (``_CSR``), never densified.

Every dense pass sees the data in a *frame* ``t(x) = (x - shift) * scale``: centred (the
GEMM identity ||x||^2 + ||c||^2 - 2 x.c keeps its digits only when the norms are of the
order of the distances) and, when its squares would overflow or underflow, scaled by a
power of two (exact, and undone exactly). ``fit`` works on a centred copy, as
scikit-learn's KMeans does; ``predict``, ``score``, ``transform`` and
``kmeans_plusplus`` transform rows chunk by chunk inside the kernel, with no copy.
Sparse rows are only scaled (a shift would fill them); their passes compute in float64.
"""
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import check_is_fitted, validate_data

from skml._kernels import _kmeans
from skml.utils import (
    Interval,
    StrOptions,
    check_param,
    check_params,
    check_sample_weight,
    effective_n_threads,
    fill_doc,
    limit_blas_threads,
    store_init_params,
)

__all__ = ["KMeans", "MiniBatchKMeans", "k_means", "kmeans_plusplus"]

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
_NO_WEIGHTS = np.empty(0, dtype=np.float64)


def _n_threads_for(n_samples, n_clusters, n_features):
    """All OpenMP threads (as sklearn's KMeans), but no more than there are chunks, nor
    than the work warrants (small data run on one thread). The results do not depend
    on it."""
    by_work = n_samples * n_clusters * n_features // _WORK_PER_THREAD
    return int(max(1, min(effective_n_threads(None), -(-n_samples // _CHUNK), by_work)))


# Labels are int32 in the kernels.
_MAX_CLUSTERS = 2**31 - 1


def _check_n_clusters_vs_samples(n_clusters, n_samples):
    if n_samples < n_clusters:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}.")


def _validate_center_shape(centers, n_clusters, n_features):
    """scikit-learn's checks (and messages) for initial centres."""
    if centers.shape[0] != n_clusters:
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match the number "
            f"of clusters {n_clusters}.")
    if centers.shape[1] != n_features:
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match the number "
            f"of features of the data {n_features}.")


def _init_name(init):
    return init if isinstance(init, str) else ("callable" if callable(init) else "array")


# --------------------------------------------------------------------------- frames

# Prepared data whose spread times sqrt(n_features) lies within 2**±_SAFE_EXP is left
# unscaled: its squared norms are far from float32's (and float64's) overflow and
# underflow. Outside it, a power of two brings the spread to about 1.
_SAFE_EXP = 40
_MAX_SCALE_EXP = {np.dtype(np.float32): 120, np.dtype(np.float64): 1000}
# Rows per block for the few NumPy passes that work through the data in pieces.
_NUMPY_BLOCK = 2**16


def _exponent(value):
    """e with value < 2**e (value > 0, finite)."""
    return int(np.frexp(value)[1])


#: Sample weights whose largest lies outside [2**-e, 2**e] are rescaled (e per dtype).
_WEIGHT_EXP = {np.dtype(np.float32): 60, np.dtype(np.float64): 500}


def _unit_weights(sample_weight, dtype=np.float64):
    """``(sample_weight / 2**e, e)``, the largest weight brought into [1, 2) by a power
    of two (exact) when it lies far from 1 for ``dtype``, else ``(sample_weight, 0)``
    (also for None and for invalid weights, which the validation then reports).
    Centres, labels and the seeding do not depend on the weights' unit, and the inertia
    scales by 2**e: weights of 1e306 overflowed the weighted sums (centres 16 off, the
    seeding's probabilities NaN), subnormal ones (1e-320) lost their digits in every
    product, and for float32 data both were cast to inf or 0."""
    if sample_weight is None or np.isscalar(sample_weight):
        return sample_weight, 0
    w = np.asarray(sample_weight)
    if w.dtype.kind != "f" or not np.all(np.isfinite(w)) or np.any(w < 0):
        return sample_weight, 0
    wmax = float(np.max(w, initial=0.0))
    limit = _WEIGHT_EXP.get(np.dtype(dtype), 500)
    if wmax == 0.0 or 2.0**-limit <= wmax <= 2.0**limit:
        return sample_weight, 0
    e = _exponent(wmax) - 1
    return np.ldexp(w.astype(np.float64), -e), e


def _scale_inertia(inertia, e):
    with np.errstate(over="ignore"):  # beyond the float range: inf, as the true value
        return float(np.ldexp(inertia, e)) if e else inertia


def _safe_mean(X):
    """Column means of X in float64, without overflow even next to the float maximum."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X.mean(axis=0, dtype=np.float64)
    if np.all(np.isfinite(mean)):
        return mean
    e = _exponent(max(abs(float(X.max())), abs(float(X.min()))))
    return np.ldexp(np.ldexp(X.astype(np.float64), -e).mean(axis=0), e)


def _scale_for(e_spread, n_features, dtype):
    """1.0 when data of spread < 2**e_spread have squares far from over/underflow, else
    the power of two that brings the spread to about 1."""
    size = e_spread + 0.5 * np.log2(max(1, n_features))
    if -_SAFE_EXP <= size <= _SAFE_EXP:
        return 1.0
    limit = _MAX_SCALE_EXP[np.dtype(dtype)]
    return float(np.ldexp(1.0, int(np.clip(-e_spread, -limit, limit))))


class _Frame:
    """The affine map ``t(x) = (x - shift) * scale`` the kernels work in.

    ``shift`` is held in the data's dtype (for float32, a float32 vector, so that
    ``x - shift`` is exact for data near the shift); ``scale`` is a power of two, so
    scaling and unscaling are exact. ``t`` is evaluated as ``(x - shift) * scale`` when
    ``scale >= 1`` and as ``x * scale - shift * scale`` otherwise: the same numbers
    whenever nothing overflows, and neither form can overflow in its own range.
    """

    def __init__(self, shift, scale, dtype):
        self.dtype = np.dtype(dtype)
        self.shift = np.ascontiguousarray(shift, dtype=self.dtype)
        self.scale = float(scale)

    @classmethod
    def around(cls, shift, arrays, dtype):
        """A frame centred at ``shift`` whose scale suits every array of ``arrays``
        (their column ranges, measured from the shift)."""
        dtype = np.dtype(dtype)
        shift = np.asarray(shift, dtype=dtype)
        shift64 = shift.astype(np.float64)
        highs, lows = [], []
        for A in arrays:
            if A.shape[0]:
                highs.append(A.max(axis=0).astype(np.float64))
                lows.append(A.min(axis=0).astype(np.float64))
        if not highs:
            return cls(shift, 1.0, dtype)
        hi, lo = np.max(highs, axis=0), np.min(lows, axis=0)
        amax = max(np.abs(hi).max(), np.abs(lo).max(), np.abs(shift64).max())
        if not amax > 0:
            return cls(shift, 1.0, dtype)
        # measured in units of 2**e, so that no difference overflows
        e = _exponent(amax)
        spread = max(np.max(np.ldexp(hi, -e) - np.ldexp(shift64, -e)),
                     np.max(np.ldexp(shift64, -e) - np.ldexp(lo, -e)))
        if not spread > 0:
            return cls(shift, 1.0, dtype)
        e_spread = _exponent(spread) + e  # spread < 2**e_spread
        return cls(shift, _scale_for(e_spread, shift.shape[0], dtype), dtype)

    @classmethod
    def for_sparse(cls, X, centers=None):
        """No shift (it would fill a sparse matrix), the scale for X's stored values (and
        the centres, if given)."""
        dtype = np.dtype(X.dtype)
        top = max(np.abs(X.data).max(initial=0.0),
                  0.0 if centers is None else np.abs(centers).max(initial=0.0))
        shift = np.zeros(X.shape[1], dtype=dtype)
        if not top > 0:
            return cls(shift, 1.0, dtype)
        return cls(shift, _scale_for(_exponent(float(top)), X.shape[1], dtype), dtype)

    @classmethod
    def for_data(cls, X):
        """Centred at the data's mean (rounded to its dtype)."""
        return cls.around(_safe_mean(X), [X], X.dtype)

    @classmethod
    def for_centers(cls, centers, X):
        """Centred at the centres' mean, scaled for both the centres and X."""
        return cls.around(_safe_mean(centers), [centers, X], X.dtype)

    @property
    def shift64(self):
        return self.shift.astype(np.float64)

    def apply(self, A, out=None):
        """t(A) in the frame's dtype (``out`` may be A itself)."""
        A = np.asarray(A, dtype=self.dtype)
        scale = self.dtype.type(self.scale)
        if self.scale >= 1.0:
            out = np.subtract(A, self.shift, out=out)
            if self.scale != 1.0:
                out *= scale
        else:
            out = np.multiply(A, scale, out=out)
            out -= self.shift * scale
        return out

    def invert(self, A, out=None):
        """t^-1(A): rows of the frame back in the data's units, in the frame's dtype,
        each value rounded once (computed in float64)."""
        A64 = np.asarray(A, dtype=np.float64)
        with np.errstate(over="ignore"):
            if self.scale >= 1.0:
                back = A64 / self.scale + self.shift64
            else:
                back = (A64 + self.shift64 * self.scale) / self.scale
        if out is None:
            return back.astype(self.dtype)
        out[...] = back
        return out

    def unscale_sq(self, value):
        """A sum of squared distances in the frame, in the data's units (inf when it
        exceeds the float64 range)."""
        with np.errstate(over="ignore"):
            return float(np.float64(value) / np.float64(self.scale) / np.float64(self.scale))


class _CSR:
    """A sparse matrix in the form the CSR passes take: canonical CSR (sorted indices,
    no duplicates: a copy only if it was not), float32/float64 data, index arrays of
    one dtype, and the rows' squared norms in float64 (summed over the stored entries,
    in their order)."""

    def __init__(self, X, n_threads=1):
        if not (sp.issparse(X) and X.format == "csr"):
            X = sp.csr_matrix(X)
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        idx = np.result_type(X.indices.dtype, X.indptr.dtype, np.int32)
        self.X = X
        self.data = np.ascontiguousarray(X.data)
        self.indices = np.ascontiguousarray(X.indices, dtype=idx)
        self.indptr = np.ascontiguousarray(X.indptr, dtype=idx)
        self.shape = X.shape
        self.dtype = X.dtype
        self.itemsize = X.dtype.itemsize
        self.sq = np.empty(X.shape[0], dtype=np.float64)
        if X.shape[0]:
            _kmeans.csr_sq_norms(self.data, self.indptr, self.sq,
                                 max(1, min(n_threads, X.shape[0] // _CHUNK)))

    @property
    def mean_nnz(self):
        return max(1, self.data.shape[0] // max(1, self.shape[0]))

    def rows(self, idx):
        return _CSR(self.X[idx])

    def dense(self, idx):
        return self.X[idx].toarray()


def _csr_in(X, frame, n_threads):
    """The scipy sparse matrix X as ``_CSR`` rows in ``frame`` (a sparse frame has no
    shift: only its power-of-two scale, applied to a copy of the stored values when it
    is not 1)."""
    if frame.scale != 1.0:
        X = sp.csr_matrix(X, copy=True)
        X.data *= X.dtype.type(frame.scale)
    return _CSR(X, n_threads)


def _features_per_row(X):
    """Features a row's distance costs: all of them, or a sparse row's stored ones."""
    return X.mean_nnz if isinstance(X, _CSR) else X.shape[1]


def _pass(X, sample_weight, centers, labels, sums, weights, workspace, chunk, n_threads,
          update, unit, x_norms=None):
    """One Lloyd pass over dense X or ``_CSR`` rows (see ``_kmeans.lloyd_pass``)."""
    if isinstance(X, _CSR):
        return _kmeans.lloyd_pass_csr(X.data, X.indices, X.indptr, sample_weight, centers,
                                      labels, sums, weights, chunk, n_threads, update,
                                      unit, X.sq)
    return _kmeans.lloyd_pass(X, sample_weight, centers, labels, sums, weights, workspace,
                              chunk, n_threads, update, unit, x_norms)


def _inertia(X, sample_weight, centers, labels, chunk, n_threads):
    """Inertia of fixed labels (float64)."""
    if isinstance(X, _CSR):
        sq = _assigned_sq(X, centers, labels, n_threads)
        return float(np.sum(np.asarray(sample_weight, dtype=np.float64) * sq))
    return _kmeans.inertia(X, sample_weight, centers, labels, chunk, n_threads)


def _assign_inertia(X, sample_weight, centers, labels, chunk, n_threads, x_norms=None):
    """Labels (out) and the inertia for fixed centres, in one pass."""
    if isinstance(X, _CSR):
        sq = np.empty(X.shape[0], dtype=np.float64)
        _kmeans.lloyd_pass_csr(X.data, X.indices, X.indptr, sample_weight, centers,
                               labels, _NO_WORKSPACE, _NO_WEIGHTS, chunk, n_threads,
                               False, False, X.sq, sq)
        return float(np.sum(np.asarray(sample_weight, dtype=np.float64) * sq))
    return _kmeans.assign_inertia(X, sample_weight, centers, labels, chunk, n_threads,
                                  x_norms)


def _assigned_sq(X, centers, labels, n_threads):
    """Each row's squared distance to its labelled centre (float64)."""
    out = np.empty(X.shape[0], dtype=np.float64)
    if isinstance(X, _CSR):
        _kmeans.assigned_sq_distances_csr(X.data, X.indices, X.indptr, X.sq, centers,
                                          labels, out, n_threads)
    else:
        _kmeans.assigned_sq_distances(X, centers, labels, out, n_threads)
    return out


def _dense_rows(X, idx):
    """Rows of dense X or ``_CSR`` rows as a dense array of X's dtype."""
    return X.dense(idx) if isinstance(X, _CSR) else X[idx]


def _mean_variance(X, sample_weight=None, frame=None):
    """Mean over features of the (sample-weighted) variance of each feature of t(X) (of
    X without a frame), in float64, a block of rows at a time (no copy of X)."""
    if isinstance(X, _CSR):  # as scikit-learn: the variances of the sparse columns
        return float(np.mean(mean_variance_axis(X.X, axis=0, weights=sample_weight)[1]))
    n, d = X.shape
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    total = float(n) if w is None else float(w.sum())
    s1 = np.zeros(d)
    s2 = np.zeros(d)
    # two passes (mean, then squared deviations), as np.var
    for i in range(0, n, _NUMPY_BLOCK):
        B = X[i:i + _NUMPY_BLOCK]
        B = (frame.apply(B) if frame is not None else B).astype(np.float64, copy=False)
        s1 += B.sum(axis=0) if w is None else w[i:i + _NUMPY_BLOCK] @ B
    mean = s1 / total
    for i in range(0, n, _NUMPY_BLOCK):
        B = X[i:i + _NUMPY_BLOCK]
        B = (frame.apply(B) if frame is not None else B).astype(np.float64) - mean
        B *= B
        s2 += B.sum(axis=0) if w is None else w[i:i + _NUMPY_BLOCK] @ B
    return float(np.mean(s2 / total))


def _row_norms(X, n_threads):
    out = np.empty(X.shape[0], dtype=np.float64)
    _kmeans.row_norms(X, out, n_threads)
    return out


def _sq_distances_to(X, Y, n_threads, frame=None):
    """(len(X), len(Y)) float64 squared distances between t(X) and t(Y) (X and Y
    without a frame), computed by the k-means kernel: accurate to ~1e-12 relative,
    exactly 0 between equal rows."""
    Y = np.ascontiguousarray(Y, dtype=X.dtype)
    out = np.empty((X.shape[0], Y.shape[0]), dtype=np.float64)
    shift, scale = (frame.shift64, frame.scale) if frame is not None else (None, 1.0)
    with limit_blas_threads():
        _kmeans.sq_distances(X, Y, out, False, _CHUNK,
                             max(1, min(n_threads, -(-X.shape[0] // _CHUNK))), shift, scale)
    return out


def _sq_dist_rows(X, idx, n_threads, frame=None):
    """(len(X), len(idx)) float64 squared distances from every row of X (dense, in
    ``frame`` if given, or ``_CSR``) to the rows ``idx`` of X; exactly 0 from a row to
    itself."""
    if isinstance(X, _CSR):
        out = np.empty((X.shape[0], len(idx)), dtype=np.float64)
        _kmeans.sq_distances_csr(X.data, X.indices, X.indptr, X.sq,
                                 X.dense(idx), X.sq[idx], out, False,
                                 max(1, min(n_threads, X.shape[0] // _CHUNK)))
        return out
    return _sq_distances_to(X, X[idx], n_threads, frame)


def _kmeans_plusplus(X, n_clusters, sample_weight, random_state, n_local_trials, n_threads,
                     frame=None):
    """Greedy k-means++ on validated data (in ``frame``, if given). Returns the indices
    of the rows chosen."""
    n_samples = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    w = _unit_weights(np.asarray(sample_weight, dtype=np.float64))[0]  # (unit-free)
    indices = np.empty(n_clusters, dtype=np.intp)

    first = random_state.choice(n_samples, p=w / w.sum())
    indices[0] = first
    closest = _sq_dist_rows(X, [first], n_threads, frame)[:, 0].copy()
    potential = closest @ w
    for c in range(1, n_clusters):
        # candidates drawn with probability proportional to w * D(x)^2
        targets = random_state.uniform(size=n_local_trials) * potential
        cumulative = np.cumsum(w * closest)
        candidates = np.searchsorted(cumulative, targets)
        np.clip(candidates, None, n_samples - 1, out=candidates)
        dist = _sq_dist_rows(X, candidates, n_threads, frame)  # (n, trials)
        np.minimum(dist, closest[:, None], out=dist)
        potentials = w @ dist
        best = int(np.argmin(potentials))  # greedy: the trial that lowers the potential most
        potential = potentials[best]
        closest = dist[:, best].copy()
        indices[c] = candidates[best]
    return indices


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, x_squared_norms=None,
                    random_state=None, n_local_trials=None):
    """Initial centres by greedy k-means++ (Arthur and Vassilvitskii, 2007).

    The first centre is a sample drawn with probability proportional to its weight. Each
    further centre is the best of ``n_local_trials`` candidates drawn with probability
    proportional to ``w_i * D(x_i)^2`` (``D`` the distance to the nearest centre chosen so
    far): the candidate that most lowers the weighted sum of those squared distances.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data; float32 stays float32. Sparse matrices are used as CSR without
        densifying (other formats are converted to CSR); the centres are returned
        dense.
    n_clusters : int
        Number of centres, ``1 <= n_clusters <= n_samples``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights; ``None`` gives every sample weight 1.
    x_squared_norms : array-like of shape (n_samples,), default=None
        Accepted for compatibility with :func:`sklearn.cluster.kmeans_plusplus`; its
        shape is checked and its values are not used (the distances are computed in a
        centred frame, where precomputed norms of the raw rows would lose digits).
    random_state : int, RandomState instance or None, default=None
        Seed of the candidate draws.
    n_local_trials : int, default=None
        Candidates per centre; ``None`` means ``2 + int(log(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The rows ``X[indices]``, in the dtype of X.
    indices : ndarray of shape (n_clusters,)
        Row of ``X`` each centre was taken from.

    Raises
    ------
    ValueError
        If ``n_clusters`` exceeds the number of samples, an argument is out of range,
        X contains NaN or infinity, or the weights are invalid.
    TypeError
        If an argument has the wrong type.

    Notes
    -----
    The squared distances are computed in float64 on the data centred at its mean (and
    scaled by a power of two if its squares would overflow), with the entries that the
    GEMM identity could have rounded away recomputed from the differences: float32 and
    float64 copies of the same data pick the same rows, wherever the data sit.

    References
    ----------
    D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful seeding",
    SODA 2007. H. Dai, "Note on Machine Learning" (preprint), Definition 3.6 and Example 20.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.cluster import kmeans_plusplus
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
    >>> centers, indices = kmeans_plusplus(X, 2, random_state=0)
    >>> sorted(int(i) // 2 for i in indices)
    [0, 1]
    """
    X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32], order="C",
                    input_name="X")
    check_param(n_clusters, "n_clusters", types=(numbers.Integral,), min_val=1,
                max_val=_MAX_CLUSTERS)
    _check_n_clusters_vs_samples(n_clusters, X.shape[0])
    if n_local_trials is not None:
        check_param(n_local_trials, "n_local_trials", types=(numbers.Integral,), min_val=1,
                    max_val=_MAX_CLUSTERS)
    if x_squared_norms is not None:
        x_squared_norms = check_array(x_squared_norms, ensure_2d=False,
                                      input_name="x_squared_norms")
        if x_squared_norms.shape != (X.shape[0],):
            raise ValueError(
                f"The length of x_squared_norms {x_squared_norms.shape[0]} should be "
                f"equal to the length of n_samples {X.shape[0]}.")
    sample_weight = check_sample_weight(sample_weight, X.shape[0], dtype=X.dtype)
    trials = 2 + int(np.log(n_clusters)) if n_local_trials is None else n_local_trials
    if sp.issparse(X):
        n_threads = _n_threads_for(X.shape[0], trials,
                                   max(1, X.nnz // max(1, X.shape[0])))
        rows = _csr_in(X, _Frame.for_sparse(X), n_threads)
        indices = _kmeans_plusplus(rows, int(n_clusters), sample_weight,
                                   check_random_state(random_state), n_local_trials,
                                   n_threads)
        return X[indices].toarray(), indices
    n_threads = _n_threads_for(X.shape[0], trials, X.shape[1])
    indices = _kmeans_plusplus(X, int(n_clusters), sample_weight,
                               check_random_state(random_state), n_local_trials, n_threads,
                               _Frame.for_data(X))
    return X[indices], indices


def k_means(X, n_clusters, *, sample_weight=None, init="k-means++", n_init="auto",
            max_iter=300, verbose=False, tol=1e-4, random_state=None, copy_x=True,
            algorithm="lloyd", return_n_iter=False):
    """k-means clustering as a function: :class:`KMeans` fitted on X.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    n_clusters : int
    sample_weight : array-like of shape (n_samples,), default=None
    init, n_init, max_iter, verbose, tol, random_state, copy_x, algorithm
        As in :class:`KMeans`.
    return_n_iter : bool, default=False
        Also return the number of iterations of the kept run.

    Returns
    -------
    centroid : ndarray of shape (n_clusters, n_features)
    label : ndarray of shape (n_samples,), dtype int32
    inertia : float
    best_n_iter : int
        Only with ``return_n_iter``.

    Raises
    ------
    ValueError, TypeError
        As :meth:`KMeans.fit`.

    References
    ----------
    As :class:`KMeans`; this is :func:`sklearn.cluster.k_means`' interface.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.cluster import k_means
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [9.0, 9.0], [9.0, 10.0]])
    >>> centers, labels, inertia = k_means(X, 2, random_state=0)
    >>> float(inertia)
    1.0
    """
    check_param(return_n_iter, "return_n_iter", types=(bool,))
    est = KMeans(n_clusters=n_clusters, init=init, n_init=n_init, max_iter=max_iter,
                 verbose=verbose, tol=tol, random_state=random_state, copy_x=copy_x,
                 algorithm=algorithm).fit(X, sample_weight=sample_weight)
    if return_n_iter:
        return est.cluster_centers_, est.labels_, est.inertia_, est.n_iter_
    return est.cluster_centers_, est.labels_, est.inertia_


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
    dist = _assigned_sq(X, centers_old, labels, n_threads)
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
                xw = wi * _dense_rows(X, [i])[0].astype(np.float64)
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
    to relocate keeps its centre. Returns (new centres, each centre's Euclidean move,
    number of relocated clusters)."""
    moved = _relocate_empty_clusters(X, sample_weight, centers, labels, sums, weights,
                                     n_threads)
    new = np.empty_like(centers)
    move = np.empty(centers.shape[0], dtype=np.float64)
    _kmeans.update_centers(sums, weights, centers, new, move)
    return new, move, moved


def _moved_beyond_rounding(old, new):
    """Whether ``new`` differs from ``old`` by more than the rounding the assignment
    pass itself makes (a few units in the last place of the centres' magnitude)."""
    scale = float(np.max(np.abs(old))) if old.size else 0.0
    return bool(np.max(np.abs(new.astype(np.float64) - old), initial=0.0)
                > 4 * np.finfo(old.dtype).eps * scale)


def _moves(old, new):
    """Euclidean distance each centre moved, in float64."""
    diff = np.asarray(new, dtype=np.float64) - old
    return np.sqrt(np.einsum("ij,ij->i", diff, diff))


class _Elkan:
    """Elkan's bounds for one run: an upper bound per row, a lower bound per row and
    centre (in X's dtype, as scikit-learn keeps them), and the centres' moves since
    the pass that last tightened them."""

    def __init__(self, n_samples, n_clusters, dtype):
        self.upper = np.empty(n_samples, dtype=dtype)
        self.lower = np.empty((n_samples, n_clusters), dtype=dtype)
        self.shifts = np.zeros(n_clusters)
        self.init = True

    def run(self, X, sample_weight, centers, labels, sums, weights, workspace, chunk,
            n_threads, update, unit):
        if isinstance(X, _CSR):
            changed = _kmeans.elkan_pass_csr(
                X.data, X.indices, X.indptr, X.sq, sample_weight, centers, self.shifts,
                labels, self.upper, self.lower, sums, weights, chunk, n_threads, update,
                unit, self.init)
        else:
            changed = _kmeans.elkan_pass(X, sample_weight, centers, self.shifts, labels,
                                         self.upper, self.lower, sums, weights,
                                         workspace, chunk, n_threads, update, unit,
                                         self.init)
        self.init = False
        return changed


def _in_units(sq, frame):
    """A sum of squares in the frame, in the data's units (for messages)."""
    return sq if frame is None else frame.unscale_sq(sq)


def _kmeans_single(X, sample_weight, centers_init, *, max_iter, tol, verbose, n_threads,
                   x_norms=None, frame=None, algorithm="lloyd", tol_rule="sum",
                   name="KMeans"):
    """One run of k-means from ``centers_init``, on X in ``frame``: Lloyd's passes, or
    Elkan's (exact distances pruned by the triangle inequality; the same labels, the
    same sums, hence the same run, up to the rounding of the distances).

    Stops after ``max_iter`` iterations, or when no label changed (strict convergence),
    or when the centres' move is ``<= tol`` (absolute, in the frame): the sum over
    centres of their squared moves (``tol_rule="sum"``, scikit-learn's) or the largest
    one (``"max"``, the notes' Remark 3.10). Labels and inertia returned always belong to
    the returned centres: without strict convergence a last assignment pass is run with
    the final centres. The centres returned are those that ``frame.invert`` will hand
    to the user, taken back into the frame (so that the labels are the nearest of the
    published centres, even where rounding the centres to the data's units moved them).

    Returns (labels, inertia, centers, n_iter), the inertia and centres in the frame.
    """
    n_samples, n_features = X.shape
    n_clusters = centers_init.shape[0]
    if isinstance(X, _CSR):  # the CSR passes sum by centre: no group accumulators
        chunk, _ = _blocking(n_samples, n_clusters, n_features, X.itemsize)
        workspace = _NO_WORKSPACE
    else:
        chunk, workspace = _workspace(n_samples, n_clusters, n_features, X.itemsize)
    unit = bool(np.all(sample_weight == 1))
    centers = np.array(centers_init, dtype=X.dtype, order="C")
    labels = np.full(n_samples, -1, dtype=np.int32)
    sums = np.empty((n_clusters, n_features), dtype=np.float64)
    weights = np.empty(n_clusters, dtype=np.float64)
    elkan = _Elkan(n_samples, n_clusters, X.dtype) if algorithm == "elkan" else None
    strict = False
    with limit_blas_threads():
        for it in range(max_iter):
            if elkan is not None:
                changed = elkan.run(X, sample_weight, centers, labels, sums, weights,
                                    workspace, chunk, n_threads, True, unit)
            else:
                changed = _pass(X, sample_weight, centers, labels, sums, weights,
                                workspace, chunk, n_threads, True, unit, x_norms)
            if verbose:
                inertia = _inertia(X, sample_weight, centers, labels, chunk, n_threads)
                print(f"[{name}] Iteration {it}, inertia {_in_units(inertia, frame):.6g}, "
                      f"{changed} labels changed.")
            new, move, moved = _new_centers(X, sample_weight, centers, labels, sums,
                                            weights, n_threads)
            if elkan is not None:
                elkan.shifts = move
            centers = new
            if changed == 0 and not moved:  # a relocated centre needs another pass
                strict = True
                if verbose:
                    print(f"[{name}] Converged at iteration {it}: strict convergence.")
                break
            shift = float(np.sum(move ** 2) if tol_rule == "sum" else np.max(move) ** 2)
            if shift <= tol:
                if verbose:
                    print(f"[{name}] Converged at iteration {it}: center shift "
                          f"{_in_units(shift, frame):.6g} within tolerance "
                          f"{_in_units(tol, frame):.6g}.")
                break
        final = centers if frame is None else frame.apply(frame.invert(centers))
        if strict and not _moved_beyond_rounding(centers, final):
            # the labels already belong to the final centres
            inertia = _inertia(X, sample_weight, final, labels, chunk, n_threads)
        elif elkan is not None:
            elkan.shifts = elkan.shifts + _moves(centers, final)
            elkan.run(X, sample_weight, final, labels, sums, weights, _NO_WORKSPACE, chunk,
                      n_threads, False, unit)
            inertia = _inertia(X, sample_weight, final, labels, chunk, n_threads)
        else:  # one more assignment, with the inertia computed in the same pass
            inertia = _assign_inertia(X, sample_weight, final, labels, chunk, n_threads,
                                      x_norms)
    return labels, inertia, final, it + 1


def _assign(X, sample_weight, centers, n_threads):
    """Nearest-centre labels of raw X and the inertia (in X's units) for fixed centres
    (of X's dtype). Dense rows are transformed chunk by chunk into a frame centred at the
    centres' mean, so no copy of X is made; sparse rows (scipy or ``_CSR``) go through
    the CSR pass, scaled only if their squares would overflow."""
    n_samples = X.shape[0]
    labels = np.full(n_samples, -1, dtype=np.int32)
    if sp.issparse(X) or isinstance(X, _CSR):
        frame = _Frame.for_sparse(X, centers)
        if isinstance(X, _CSR) and frame.scale == 1.0:
            rows = X
        else:
            rows = _csr_in(X.X if isinstance(X, _CSR) else X, frame, n_threads)
        chunk, _ = _blocking(n_samples, centers.shape[0], X.shape[1], rows.itemsize)
        inertia = _assign_inertia(rows, sample_weight, frame.apply(centers), labels,
                                  chunk, n_threads)
        return labels, frame.unscale_sq(inertia)
    chunk, _ = _blocking(n_samples, centers.shape[0], X.shape[1], X.itemsize)
    frame = _Frame.for_centers(centers, X)
    with limit_blas_threads():
        inertia = _kmeans.assign_inertia(X, sample_weight, frame.apply(centers), labels,
                                         chunk, n_threads, None, frame.shift, frame.scale)
    return labels, frame.unscale_sq(inertia)


#: The errors of the methods that take new data (predict, transform).
_TEST_DATA_RAISES = """\
Raises
------
NotFittedError
    Before ``fit``.
ValueError
    If X has another number of features than the training data, or contains
    NaN or infinity.
"""


class _BaseKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin,
                  BaseEstimator):
    """Shared parameter checks, initialisation and prediction."""

    _parameter_constraints = {
        "n_clusters": [Interval(numbers.Integral, 1, _MAX_CLUSTERS)],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None)],
        "max_iter": [Interval(numbers.Integral, 1, None)],
        "tol": [Interval(numbers.Real, 0, None)],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def _check_params_vs_input(self, X, default_n_init):
        """Checks that involve the data, and ``_n_init`` (as scikit-learn)."""
        _check_n_clusters_vs_samples(self.n_clusters, X.shape[0])
        if self.n_init == "auto":
            if isinstance(self.init, str) and self.init == "k-means++":
                self._n_init = 1
            elif isinstance(self.init, str) or callable(self.init):
                self._n_init = default_n_init
            else:  # an array
                self._n_init = 1
        else:
            self._n_init = int(self.n_init)
        if not isinstance(self.init, str) and not callable(self.init) and self._n_init != 1:
            warnings.warn(
                f"Explicit initial center position passed: performing only one init in "
                f"{type(self).__name__} instead of n_init={self._n_init}.",
                RuntimeWarning, stacklevel=3)
            self._n_init = 1

    def _validate_init_array(self, X):
        init = check_array(self.init, dtype=X.dtype, copy=True, order="C",
                           input_name="init")
        _validate_center_shape(init, self.n_clusters, X.shape[1])
        return init

    def _init_centroids(self, X, x_squared_norms=None, init=None, random_state=None,
                        sample_weight=None, init_size=None, n_centroids=None, *,
                        n_threads=None, frame=None):
        """Initial centres from ``init`` (a name, an array already in the frame, or a
        callable), optionally computed on a random subset of ``init_size`` rows.

        The signature is scikit-learn's (``x_squared_norms`` is accepted and not used).
        Without ``frame``, X is already the frame's data (KMeans' centred copy, or
        ``_CSR`` rows); with it, X is raw: the subset is transformed for the seeding, a
        callable receives the raw subset and its centres are transformed. Returns dense
        centres in the frame."""
        n_samples = X.shape[0]
        k = self.n_clusters if n_centroids is None else n_centroids
        random_state = check_random_state(random_state)
        if sample_weight is None:
            sample_weight = np.ones(n_samples, dtype=X.dtype)
        if sp.issparse(X):
            X = _CSR(X)
        if n_threads is None:
            n_threads = _n_threads_for(n_samples, k, _features_per_row(X))
        if init_size is not None and init_size < n_samples:
            idx = random_state.randint(0, n_samples, init_size)
            # a subset with too few positive weights would make the seeding impossible:
            # then the whole data are used (the same random draws either way)
            if np.count_nonzero(sample_weight[idx]) >= k:
                X = X.rows(idx) if isinstance(X, _CSR) else X[idx]
                sample_weight = sample_weight[idx]
        if isinstance(init, str):
            if np.count_nonzero(sample_weight) < k:
                raise ValueError(
                    f"n_clusters={k} is larger than the number of samples with a "
                    f"positive sample_weight ({np.count_nonzero(sample_weight)})."
                )
            Xf = frame.apply(X) if frame is not None else X
            if init == "k-means++":
                seeds = _kmeans_plusplus(Xf, k, sample_weight, random_state, None,
                                         n_threads)
            else:
                w = np.asarray(sample_weight, dtype=np.float64)
                seeds = random_state.choice(X.shape[0], size=k, replace=False,
                                            p=w / w.sum())
            centers = _dense_rows(Xf, seeds)
        elif callable(init):
            centers = init(X.X if isinstance(X, _CSR) else X, k, random_state=random_state)
            centers = check_array(centers, dtype=X.dtype, copy=False, order="C",
                                  input_name="init")
            _validate_center_shape(centers, k, X.shape[1])
            if frame is not None:
                centers = frame.apply(centers)
        else:
            centers = init
        return np.array(centers, dtype=X.dtype, order="C")

    def _check_test_data(self, X):
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          order="C", reset=False)
        dtype = np.result_type(X.dtype, self.cluster_centers_.dtype)
        centers = np.ascontiguousarray(self.cluster_centers_, dtype=dtype)
        if sp.issparse(X):
            return (X if X.dtype == dtype else X.astype(dtype)), centers
        return np.ascontiguousarray(X, dtype=dtype), centers

    def _n_threads(self, X, n_clusters):
        return _n_threads_for(X.shape[0], n_clusters,
                              max(1, X.nnz // max(1, X.shape[0])) if sp.issparse(X)
                              else X.shape[1])

    @fill_doc(test_data_raises=_TEST_DATA_RAISES)
    def predict(self, X):
        """Index of the nearest centre for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32

        {test_data_raises}
        """
        check_is_fitted(self)
        X, centers = self._check_test_data(X)
        w = np.ones(X.shape[0], dtype=X.dtype)
        return _assign(X, w, centers, self._n_threads(X, centers.shape[0]))[0]

    @fill_doc(test_data_raises=_TEST_DATA_RAISES)
    def transform(self, X):
        """Euclidean distance from each sample to each centre.

        The distances are computed in float64 in a frame centred at the centres' mean,
        and entries the GEMM identity could have rounded away are recomputed from the
        differences: a sample equal to a centre is at distance exactly 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            float32 when X and the centres are float32.

        {test_data_raises}
        """
        check_is_fitted(self)
        X, centers = self._check_test_data(X)
        out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
        n_threads = max(1, min(self._n_threads(X, centers.shape[0]),
                               -(-X.shape[0] // _CHUNK)))
        if sp.issparse(X):
            frame = _Frame.for_sparse(X, centers)
            rows = _csr_in(X, frame, n_threads)
            Y = np.ascontiguousarray(frame.apply(centers))
            # the centres' norms summed as a CSR row's are: a row equal to a centre is
            # at distance exactly 0
            Ycsr = _CSR(sp.csr_matrix(Y))
            _kmeans.sq_distances_csr(rows.data, rows.indices, rows.indptr, rows.sq, Y,
                                     Ycsr.sq, out, True, n_threads)
        else:
            frame = _Frame.for_centers(centers, X)
            with limit_blas_threads():
                _kmeans.sq_distances(X, centers, out, True, _CHUNK, n_threads,
                                     frame.shift64, frame.scale)
        if frame.scale != 1.0:
            with np.errstate(over="ignore"):
                out /= X.dtype.type(frame.scale)
        return out

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of X to the centres (see :meth:`transform`)."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of X for the fitted centres (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
            ``-sum_i w_i ||x_i - c(x_i)||^2``, ``c(x_i)`` the nearest centre (``-inf``
            when the sum exceeds the float64 range).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            If X has another number of features than the training data, contains NaN
            or infinity, or the weights are invalid.
        """
        check_is_fitted(self)
        X, centers = self._check_test_data(X)
        w = check_sample_weight(sample_weight, X.shape[0], dtype=X.dtype)
        return -_assign(X, w, centers, self._n_threads(X, centers.shape[0]))[1]

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
        tags.input_tags.sparse = True
        return tags


class KMeans(_BaseKMeans):
    """k-means clustering by Lloyd's or Elkan's algorithm.

    Each iteration assigns every sample to its nearest centre and moves every centre to
    the (weighted) mean of its samples. The passes are Cython kernels: Lloyd's is a
    chunked GEMM, a fused argmin and per-group sums merged in a fixed order; Elkan's
    skips the distances the triangle inequality rules out, and accumulates exactly as
    Lloyd's does, so both give the same result. Dense arrays and scipy sparse matrices
    are accepted; sparse input is worked on as CSR rows, never densified (other formats
    are converted to CSR). Like scikit-learn's KMeans there is no ``n_jobs``: the kernels use every OpenMP thread (``OMP_NUM_THREADS`` or
    threadpoolctl limit them; small data run on fewer), and the result is the same for
    any number of threads.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters, at most the number of samples (and below 2**31).
    init : {"k-means++", "random"}, callable or array-like of shape \
            (n_clusters, n_features), default="k-means++"
        ``"k-means++"``: greedy k-means++ (``2 + int(log(n_clusters))`` candidates per
        centre, see :func:`kmeans_plusplus`). ``"random"``: ``n_clusters`` distinct samples
        drawn with probability proportional to their weight. An array: the initial
        centres. A callable ``init(X, n_clusters, random_state)`` returning the centres;
        as in scikit-learn it receives the data centred at their mean (the frame the
        passes work in), and its centres are read in that frame.
    n_init : "auto" or int, default="auto"
        Number of runs from different initial centres; the one with the lowest inertia
        is kept. ``"auto"``: 1 for ``"k-means++"`` or an array, 10 for ``"random"`` or a
        callable. With an init array only one run is made.
    max_iter : int, default=300
        Maximum number of iterations per run.
    tol : float, default=1e-4
        Relative tolerance, as in scikit-learn: a run stops after the first iteration in
        which no label changes, or in which the centres' squared moves, summed over the
        centres, are at most ``tol * v``, where ``v`` is the mean over features of the
        variance of each feature of X. Scaling X scales both sides alike, so the rule
        does not depend on the units. ``tol=0`` stops only when the labels no longer
        change.
    verbose : int, default=0
        ``1`` prints one line per milestone, prefixed ``[KMeans]``: each initialisation,
        each iteration's inertia, the convergence, each run's result; ``0`` prints
        nothing.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation.
    copy_x : bool, default=True
        The data are centred (their mean subtracted, and scaled by a power of two if
        their squares would overflow) during the fit, for accuracy. With ``False`` this
        is done in place in X and undone afterwards (up to rounding) when X is a
        writable C-contiguous float array.
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        ``"lloyd"``: a full pass of distances per iteration. ``"elkan"``: Elkan's
        algorithm, which keeps an upper bound per sample and a lower bound per sample and
        centre (``n_samples * n_clusters`` values of X's dtype, as in scikit-learn) and
        computes only the distances the triangle inequality cannot rule out; fastest on
        well-separated clusters. Both give the same labels, centres, inertia and
        ``n_iter_`` (Elkan's distances are computed from the differences; ties go to the
        smaller index in both). With one cluster ``"elkan"`` runs Lloyd's (with a
        warning), as in scikit-learn.
    tol_rule : {"sum", "max"}, default="sum"
        How the centres' moves are compared with ``tol * v``: ``"sum"`` of their squares
        (scikit-learn's rule; the default) or the largest squared move, ``"max"`` (the
        notes' Remark 3.10: stop when no centre moves more than a threshold). For the same
        ``tol``, ``"max"`` never runs longer than ``"sum"``. An skml extension.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in the dtype of X (float32 stays float32).
    labels_ : ndarray of shape (n_samples,), dtype int32
        Cluster of each training sample, always the nearest of ``cluster_centers_``.
    inertia_ : float
        Sum of weighted squared distances of the samples to their centre, correctly
        rounded to float64 (``inf`` only when the true value exceeds its range).
    n_iter_ : int
        Iterations run by the kept run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when X had string column names.

    Raises
    ------
    ValueError
        From ``fit``: a parameter out of range, fewer samples than clusters, an init
        array of the wrong shape, NaN or infinite values, invalid sample weights.
        From ``predict``/``transform``/``score``: another number of features than in
        ``fit``, NaN or infinite values.
    TypeError
        A parameter of the wrong type.
    NotFittedError
        ``predict``, ``transform`` or ``score`` before ``fit``.

    Notes
    -----
    Convergence follows scikit-learn's loop: labels unchanged from the previous
    iteration stop the run, ``n_iter_`` counts the iterations run, and when a run stops
    for any other reason the labels are recomputed once from the final centres, so that
    ``labels_``, ``inertia_`` and ``predict`` agree. Started from the same centres, skml
    and scikit-learn run the same number of iterations with the default ``tol``. One
    difference: a run whose labels did not change but in which an empty cluster was
    relocated goes on (scikit-learn stops with labels that belong to the centres before
    the relocation).

    Accuracy: the passes work on the data centred at its mean (as sklearn's), scaled
    by a power of two when its squares would overflow or underflow; float32 rows whose
    nearest centres are within the rounding bound of the distance identity are decided
    by exact float64 distances; ``transform`` computes in float64 with the small
    entries recomputed from the differences. float32 results therefore agree with the
    float64 computation for data offset up to 1e4 times their spread (float64: 1e8),
    and data of magnitude 1e160 or near the float maximum cluster as at unit scale.

    An empty cluster takes the point farthest from its centre. Expected failures of
    scikit-learn's estimator checks (declared by scikit-learn for its own KMeans too):
    ``check_sample_weight_equivalence_on_dense_data`` and ``..._on_sparse_data`` (the
    seeding draws samples at random, so integer weights and repeated rows do not give
    the same draws).

    References
    ----------
    S. P. Lloyd, "Least squares quantization in PCM", IEEE Transactions on Information
    Theory 28(2), 1982. C. Elkan, "Using the triangle inequality to accelerate
    k-means", ICML 2003. D. Arthur and S. Vassilvitskii, "k-means++: the advantages of
    careful seeding", SODA 2007. H. Dai, "Note on Machine Learning" (preprint),
    Definition 3.6, Example 20 and Remark 3.10.

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

    _parameter_constraints = {
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
        "tol_rule": [StrOptions({"sum", "max"})],
    }

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, verbose=0, random_state=None, copy_x=True, algorithm="lloyd",
                 tol_rule="sum"):
        store_init_params(self, locals())

    def _check_params_vs_input(self, X):
        super()._check_params_vs_input(X, default_n_init=10)
        self._algorithm = self.algorithm
        if self._algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn("algorithm='elkan' doesn't make sense for a single cluster. "
                          "Using 'lloyd' instead.", RuntimeWarning, stacklevel=3)
            self._algorithm = "lloyd"

    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 and float64 are kept, other types become float64.
            Sparse matrices are used as CSR without densifying (other formats are
            converted to CSR; a CSR matrix with unsorted indices or duplicate entries is
            copied once into canonical form).
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; ``None`` gives every sample weight 1. Used by the
            k-means++ and random seeding, by the means and by the inertia.

        Returns
        -------
        self : KMeans

        Raises
        ------
        ValueError
            If a parameter is out of range, there are fewer samples than clusters, the
            init array has the wrong shape, X contains NaN or infinity, or the weights
            are invalid.
        TypeError
            If a parameter has the wrong type.
        """
        check_params(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          order="C")
        self._check_params_vs_input(X)
        n_samples = X.shape[0]
        sample_weight, w_exp = _unit_weights(sample_weight, X.dtype)
        sample_weight = check_sample_weight(sample_weight, n_samples, dtype=X.dtype)
        random_state = check_random_state(self.random_state)
        n_threads = self._n_threads(X, self.n_clusters)
        name = type(self).__name__

        init = self.init
        init_is_array = not isinstance(init, str) and not callable(init)
        if init_is_array:
            init = self._validate_init_array(X)

        # Work on the data centred at its mean (and scaled by a power of two if its
        # squares would overflow): distances through the GEMM identity keep their digits
        # only near the origin. The centred copy is made in one pass; with copy_x=False
        # X is transformed in place and restored at the end. Sparse data are not
        # centred (that would fill them): their passes compute in float64.
        in_place = False
        if sp.issparse(X):
            frame = _Frame.for_sparse(X)
            Xc = _csr_in(X, frame, n_threads)
        else:
            frame = _Frame.for_data(X)
            in_place = not self.copy_x and X.flags.writeable
            Xc = frame.apply(X, out=X if in_place else None)
        if init_is_array:
            init = frame.apply(init, out=init)
        best = None
        try:
            # scikit-learn's tolerance: tol times the mean of the features' variances
            self._tol = self.tol * _mean_variance(Xc) if self.tol else 0.0
            # float32: the norms that bound the GEMM's rounding, for the exact tie-break
            x_norms = (_row_norms(Xc, n_threads)
                       if Xc.dtype == np.float32 and self._algorithm == "lloyd"
                       and not isinstance(Xc, _CSR) else None)
            for run in range(self._n_init):
                centers_init = self._init_centroids(
                    Xc, init=init, random_state=random_state, sample_weight=sample_weight,
                    n_threads=n_threads)
                if self.verbose:
                    print(f"[{name}] Initialization complete (run {run + 1}/"
                          f"{self._n_init}, init={_init_name(init)}).")
                labels, inertia, centers, n_iter = _kmeans_single(
                    Xc, sample_weight, centers_init, max_iter=self.max_iter,
                    tol=self._tol,
                    verbose=self.verbose, n_threads=n_threads, x_norms=x_norms,
                    frame=frame, algorithm=self._algorithm, tol_rule=self.tol_rule,
                    name=name)
                if self.verbose:
                    print(f"[{name}] Run {run + 1}/{self._n_init}: inertia "
                          f"{_scale_inertia(frame.unscale_sq(inertia), w_exp):.6g} "
                          f"after {n_iter} iterations.")
                if best is None or (inertia < best[1] and not _is_same_clustering(
                        labels, best[0], self.n_clusters)):
                    best = (labels, inertia, centers, n_iter)
        finally:
            if in_place:
                frame.invert(X, out=X)
        labels, inertia, centers, n_iter = best
        # the tolerance in the data's units, as scikit-learn reports it
        self._tol = frame.unscale_sq(self._tol)

        self.cluster_centers_ = frame.invert(centers)
        self._n_features_out = self.n_clusters
        self.labels_ = labels
        self.inertia_ = _scale_inertia(frame.unscale_sq(inertia), w_exp)
        self.n_iter_ = int(n_iter)
        self._warn_distinct()
        return self


class MiniBatchKMeans(_BaseKMeans):
    """k-means on random mini-batches, for data too large for a full pass per iteration.

    Each step draws ``batch_size`` samples (with replacement, with probability
    proportional to their weight), assigns them to the nearest centre with the same
    kernel as :class:`KMeans`, and moves each centre to the running weighted mean of all
    the samples it has received so far. :meth:`partial_fit` makes one such step on the
    batch it is given, for data that arrive in pieces. Sparse input is worked on as CSR
    rows, never densified (other formats are converted to CSR).

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"}, callable or array-like of shape \
            (n_clusters, n_features), default="k-means++"
        As in :class:`KMeans`; computed on ``init_size`` random samples. A callable
        receives those samples as given (not centred), as in scikit-learn.
    max_iter : int, default=100
        Maximum number of passes (epochs) over the data: at most
        ``max_iter * n_samples // batch_size`` steps.
    batch_size : int, default=1024
        Samples per step.
    verbose : int, default=0
        ``1`` prints one line per milestone, prefixed ``[MiniBatchKMeans]``, with
        scikit-learn's wording: each initialisation and its inertia, each step's batch
        inertia and its smoothed value, reassignments, the reason of the stop; ``0``
        prints nothing.
    compute_labels : bool, default=True
        After :meth:`fit`, compute ``labels_`` and ``inertia_`` on the whole data (after
        :meth:`partial_fit`, on the batch). Without it, ``fit`` sets ``inertia_`` to the
        smoothed batch inertia times the total weight, as scikit-learn does.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation, the batches and the reassignments.
    tol : float, default=0.0
        Stop when the centres' squared moves in a step, summed over the centres, are at
        most ``tol * mean_j var(X[:, j])`` (scikit-learn's rule); ``0`` disables it.
    max_no_improvement : int or None, default=10
        Stop after this many consecutive steps without improvement of the smoothed
        (exponentially weighted) batch inertia; ``None`` disables it.
    init_size : int, default=None
        Samples used to compute the initial centres; ``None`` means ``3 * batch_size``
        (``3 * n_clusters`` if that is smaller than ``n_clusters``); a value below
        ``n_clusters`` is replaced by ``3 * n_clusters`` with a warning. At most
        ``n_samples``. As in scikit-learn.
    n_init : "auto" or int, default="auto"
        Initialisations tried (scored on a random validation subset); ``"auto"``: 1 for
        ``"k-means++"`` or an array, 3 otherwise.
    reassignment_ratio : float, default=0.01
        Centres whose accumulated weight is below this fraction of the largest are moved
        to random samples of the batch (at most half the batch at once), every
        ``10 * n_clusters`` samples or whenever a centre has received nothing. ``0``
        disables reassignment. The heaviest centre is never moved, so a ratio of 1 or
        more reassigns all the others (scikit-learn fails there: it takes the minimum
        weight of no remaining centre).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), dtype int32
        Only when ``compute_labels``.
    inertia_ : float
        With ``compute_labels``, the inertia of the data for ``cluster_centers_``;
        otherwise (``fit``) the smoothed batch inertia times the total weight.
    n_iter_ : int
        Passes over the data started by :meth:`fit`.
    n_steps_ : int
        Mini-batch steps made.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when X had string column names.

    Raises
    ------
    ValueError
        From ``fit``/``partial_fit``: a parameter out of range, fewer samples than
        clusters, an init array of the wrong shape, NaN or infinite values, invalid
        sample weights, another number of features than before.
    TypeError
        A parameter of the wrong type.
    NotFittedError
        ``predict``, ``transform`` or ``score`` before ``fit``.

    Notes
    -----
    With the same ``random_state`` the batches are scikit-learn's (the same draws),
    and the steps run in a frame centred at the data's mean, so data far from the
    origin lose nothing. Reassignments with non-uniform weights never pick a sample of
    weight 0. Expected failures of scikit-learn's estimator checks (declared by
    scikit-learn for its own too): ``check_sample_weight_equivalence_on_dense_data`` and
    ``..._on_sparse_data`` (the batches are random draws, so integer weights and repeated
    rows give different batches).

    References
    ----------
    D. Sculley, "Web-scale k-means clustering", WWW 2010. H. Dai, "Note on Machine
    Learning" (preprint), Definition 3.6 and Example 20.

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
        store_init_params(self, locals())

    _parameter_constraints = {
        "batch_size": [Interval(numbers.Integral, 1, None)],
        "compute_labels": ["boolean"],
        "max_no_improvement": [Interval(numbers.Integral, 0, None), None],
        "init_size": [Interval(numbers.Integral, 1, None), None],
        "reassignment_ratio": [Interval(numbers.Real, 0, None)],
    }

    def _check_params_vs_input(self, X):
        super()._check_params_vs_input(X, default_n_init=3)
        self._batch_size = min(int(self.batch_size), X.shape[0])
        init_size = self.init_size
        if init_size is None:
            init_size = 3 * self._batch_size
            if init_size < self.n_clusters:
                init_size = 3 * self.n_clusters
        elif init_size < self.n_clusters:
            warnings.warn(
                f"init_size={init_size} should be larger than n_clusters="
                f"{self.n_clusters}. Setting it to min(3*n_clusters, n_samples)",
                RuntimeWarning, stacklevel=3)
            init_size = 3 * self.n_clusters
        self._init_size = min(int(init_size), X.shape[0])

    def _step(self, X, sample_weight, centers, random_reassign, random_state, n_threads):
        """One mini-batch step on (X, sample_weight), both in the frame of ``centers``;
        updates ``centers`` and ``self._counts`` in place. Returns (batch inertia before
        the update, sum of the centres' squared moves)."""
        n, d = X.shape
        k = centers.shape[0]
        sparse = isinstance(X, _CSR)
        if sparse:
            chunk, _ = _blocking(n, k, d, X.itemsize)
            workspace = _NO_WORKSPACE
        else:
            chunk, workspace = _workspace(n, k, d, X.itemsize)
        labels = np.full(n, -1, dtype=np.int32)
        sums = np.empty((k, d), dtype=np.float64)
        weights = np.empty(k, dtype=np.float64)
        x_norms = (_row_norms(X, n_threads) if X.dtype == np.float32 and not sparse
                   else None)
        with limit_blas_threads():
            _pass(X, sample_weight, centers, labels, sums, weights, workspace, chunk,
                  n_threads, True, False, x_norms)
            inertia = _inertia(X, sample_weight, centers, labels, chunk, n_threads)
        counts = self._counts
        new = centers.astype(np.float64)
        got = weights > 0
        total = counts[got] + weights[got]
        new[got] = (new[got] * counts[got, None] + sums[got]) / total[:, None]
        counts[got] = total

        if random_reassign and self.reassignment_ratio > 0:
            to_move = counts < self.reassignment_ratio * counts.max()
            # the heaviest centre is never "small" (reassignment_ratio >= 1 would
            # otherwise move every centre and leave none to measure against)
            to_move[np.argmax(counts)] = False
            if to_move.sum() > 0.5 * n:  # never more than half the batch at once
                keep = np.argsort(counts, kind="stable")[int(0.5 * n):]
                to_move[keep] = False
            n_move = int(to_move.sum())
            if n_move:
                w = np.asarray(sample_weight, dtype=np.float64)
                n_pos = int(np.count_nonzero(w))
                if n_pos >= n_move:
                    # uniform weights: scikit-learn's draw; otherwise never a sample of
                    # weight 0 (sklearn may pick one)
                    p = None if np.all(w == w[0]) else w / w.sum()
                    picked = random_state.choice(n, size=n_move, replace=False, p=p)
                    new[to_move] = _dense_rows(X, picked)
                    counts[to_move] = np.min(counts[~to_move])
                    if self.verbose:
                        print(f"[MiniBatchKMeans] Reassigning {n_move} cluster centers.")
        new = new.astype(centers.dtype)
        shift = float(np.sum(_moves(centers, new) ** 2))
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

    def _publish(self, centers, frame, X, sample_weight, n_threads):
        """Set ``cluster_centers_`` from frame centres and, with ``compute_labels``,
        ``labels_``/``inertia_`` of X (raw) for exactly those centres."""
        self.cluster_centers_ = frame.invert(centers)
        if self.compute_labels:
            labels, inertia = _assign(X, sample_weight, self.cluster_centers_, n_threads)
            self.labels_ = labels
            self.inertia_ = inertia

    def fit(self, X, y=None, sample_weight=None):
        """Compute the centres by mini-batch steps over X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Batches are drawn with probability proportional to the weights.

        Returns
        -------
        self : MiniBatchKMeans

        Raises
        ------
        ValueError
            If a parameter is out of range, ``n_clusters`` exceeds the number of
            samples, X contains NaN or infinity, or the weights are invalid.
        TypeError
            If a parameter has the wrong type.
        """
        check_params(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          order="C")
        self._check_params_vs_input(X)
        n_samples, n_features = X.shape
        sample_weight, w_exp = _unit_weights(sample_weight, X.dtype)
        sample_weight = check_sample_weight(sample_weight, n_samples, dtype=X.dtype)
        random_state = check_random_state(self.random_state)
        per_row = max(1, X.nnz // max(1, n_samples)) if sp.issparse(X) else n_features
        n_threads = _n_threads_for(max(self._batch_size, self._init_size), self.n_clusters,
                                   per_row)
        # the passes work in a frame centred at the data's mean; each batch (a copy
        # anyway) is transformed into it, so X itself is never copied. Sparse rows are
        # not centred (only scaled, if their squares would overflow).
        if sp.issparse(X):
            frame = _Frame.for_sparse(X)
            rows = _csr_in(X, frame, n_threads)
            init_data, init_frame = rows, None

            def batch_of(idx):
                return rows.rows(idx)
        else:
            frame = _Frame.for_data(X)
            rows = None
            init_data, init_frame = X, frame

            def batch_of(idx):
                B = X[idx]
                return frame.apply(B, out=B)
        init = self.init
        if not isinstance(init, str) and not callable(init):
            init = frame.apply(self._validate_init_array(X))
        # scikit-learn's tolerance (mean variance of the features), in the frame
        if not self.tol:
            tol = 0.0
        elif rows is not None:
            tol = self.tol * _mean_variance(rows)
        else:
            tol = self.tol * _mean_variance(X, frame=frame)
        self._tol = frame.unscale_sq(tol)

        # initialisations, scored on a random validation subset
        valid = random_state.randint(0, n_samples, self._init_size)
        X_valid, w_valid = batch_of(valid), sample_weight[valid]
        chunk_valid, _ = _blocking(len(valid), self.n_clusters, n_features,
                                   X.dtype.itemsize)
        best_inertia, centers = None, None
        for i in range(self._n_init):
            if self.verbose:
                print(f"[MiniBatchKMeans] Init {i + 1}/{self._n_init} with method "
                      f"{_init_name(init)}")
            cand = self._init_centroids(init_data, init=init, random_state=random_state,
                                        sample_weight=sample_weight,
                                        init_size=self._init_size, n_threads=n_threads,
                                        frame=init_frame)
            labels_valid = np.full(len(valid), -1, dtype=np.int32)
            with limit_blas_threads():
                inertia = _assign_inertia(X_valid, w_valid, cand, labels_valid,
                                          chunk_valid, n_threads)
            if self.verbose:
                print(f"[MiniBatchKMeans] Inertia for init {i + 1}/{self._n_init}: "
                      f"{frame.unscale_sq(inertia):.6g}")
            if best_inertia is None or inertia < best_inertia:
                best_inertia, centers = inertia, cand

        self._counts = np.zeros(self.n_clusters, dtype=np.float64)
        self._n_since_last_reassign = 0
        self._random_state = random_state  # partial_fit after fit goes on with it
        batch = self._batch_size
        n_steps = max(1, (self.max_iter * n_samples) // batch)
        unit = np.ones(batch, dtype=X.dtype)
        # batches drawn as scikit-learn's random_state.choice(n, batch, p=w / sum(w))
        # draws them (the same cumulative weights, uniform draws and search), with the
        # cumulative sum computed once rather than at every step
        cdf = np.cumsum(sample_weight / np.sum(sample_weight))
        cdf /= cdf[-1]
        self._ewa_inertia = self._ewa_inertia_min = None
        self._no_improvement = 0
        step = 0
        for step in range(n_steps):
            idx = cdf.searchsorted(random_state.random_sample(batch), side="right")
            inertia, shift = self._step(batch_of(idx), unit, centers,
                                        self._random_reassign(batch), random_state,
                                        n_threads)
            if self._converged(step, n_steps, frame.unscale_sq(inertia) / batch,
                               frame.unscale_sq(shift), n_samples, batch):
                break

        self._n_features_out = self.n_clusters
        self.n_steps_ = step + 1
        self.n_iter_ = int(np.ceil((step + 1) * batch / n_samples))
        self._publish(centers, frame, rows if rows is not None and frame.scale == 1.0
                      else X, sample_weight, _n_threads_for(n_samples, self.n_clusters,
                                                            per_row))
        if self.compute_labels:
            self._warn_distinct()
        else:  # as scikit-learn: the smoothed batch inertia, scaled to the whole data
            ewa = self._ewa_inertia
            if ewa is None:  # a single step: its own batch inertia
                ewa = frame.unscale_sq(inertia) / batch
            self.inertia_ = float(ewa * np.sum(sample_weight, dtype=np.float64))
        self.inertia_ = _scale_inertia(self.inertia_, w_exp)
        self._w_exp = w_exp  # the unit of the counts, for partial_fit
        return self

    def _converged(self, step, n_steps, batch_inertia, shift, n_samples, batch):
        """Early stopping on the centres' move (``tol``, scikit-learn's rule: the sum of
        the squared moves) and on the smoothed batch inertia (``max_no_improvement``);
        the messages are scikit-learn's."""
        step += 1
        name = "[MiniBatchKMeans]"
        if step == 1:  # the first batch is scored against the initial centres only
            if self.verbose:
                print(f"{name} Minibatch step {step}/{n_steps}: mean batch inertia: "
                      f"{batch_inertia:.6g}")
            return False
        if self._ewa_inertia is None:
            self._ewa_inertia = batch_inertia
        else:
            alpha = min(1.0, batch * 2.0 / (n_samples + 1))
            self._ewa_inertia = self._ewa_inertia * (1 - alpha) + batch_inertia * alpha
        if self.verbose:
            print(f"{name} Minibatch step {step}/{n_steps}: mean batch inertia: "
                  f"{batch_inertia:.6g}, ewa inertia: {self._ewa_inertia:.6g}")
        if self._tol > 0 and shift <= self._tol:
            if self.verbose:
                print(f"{name} Converged (small centers change) at step {step}/{n_steps}")
            return True
        if self._ewa_inertia_min is None or self._ewa_inertia < self._ewa_inertia_min:
            self._no_improvement = 0
            self._ewa_inertia_min = self._ewa_inertia
        else:
            self._no_improvement += 1
        if (self.max_no_improvement is not None
                and self._no_improvement >= self.max_no_improvement):
            if self.verbose:
                print(f"{name} Converged (lack of improvement in inertia) at step "
                      f"{step}/{n_steps}")
            return True
        return False

    def partial_fit(self, X, y=None, sample_weight=None):
        """One mini-batch step on X (the first call also computes the initial centres).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The batch; the first one needs at least ``n_clusters`` samples.
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MiniBatchKMeans

        Raises
        ------
        ValueError
            If a parameter is out of range, the first batch has fewer than
            ``n_clusters`` samples, X has another number of features than before,
            contains NaN or infinity, or the weights are invalid.
        TypeError
            If a parameter has the wrong type.
        """
        first = not hasattr(self, "cluster_centers_")
        check_params(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          order="C", reset=first)
        if first:
            self._check_params_vs_input(X)
        elif X.dtype != self.cluster_centers_.dtype:
            X = X.astype(self.cluster_centers_.dtype)
        n_samples = X.shape[0]
        sample_weight, w_exp = _unit_weights(sample_weight, X.dtype)
        sample_weight = check_sample_weight(sample_weight, n_samples, dtype=X.dtype)
        # the running counts are in units of 2**_w_exp: a batch of weights in another
        # unit is brought to the larger of the two (exact powers of two)
        old_exp = w_exp if first else getattr(self, "_w_exp", 0)
        self._w_exp = max(old_exp, w_exp)
        if w_exp != self._w_exp:
            sample_weight = np.ldexp(sample_weight, w_exp - self._w_exp).astype(
                sample_weight.dtype, copy=False)
        n_threads = self._n_threads(X, self.n_clusters)
        sparse = sp.issparse(X)
        if first:
            self._random_state = check_random_state(self.random_state)
            frame = _Frame.for_sparse(X) if sparse else _Frame.for_data(X)
            init = self.init
            if not isinstance(init, str) and not callable(init):
                init = frame.apply(self._validate_init_array(X))
            centers = self._init_centroids(
                _csr_in(X, frame, n_threads) if sparse else X, init=init,
                random_state=self._random_state, sample_weight=sample_weight,
                init_size=self._init_size, n_threads=n_threads,
                frame=None if sparse else frame)
            self._n_features_out = self.n_clusters
            self._counts = np.zeros(self.n_clusters, dtype=np.float64)
            self._n_since_last_reassign = 0
            self.n_steps_ = 0
        else:
            frame = (_Frame.for_sparse(X, self.cluster_centers_) if sparse
                     else _Frame.for_centers(self.cluster_centers_, X))
            centers = frame.apply(self.cluster_centers_)
            if old_exp != self._w_exp:
                self._counts = np.ldexp(self._counts, old_exp - self._w_exp)
        self._step(_csr_in(X, frame, n_threads) if sparse else frame.apply(X),
                   sample_weight, centers, self._random_reassign(n_samples),
                   self._random_state, n_threads)
        self.n_steps_ += 1
        self._publish(centers, frame, X, sample_weight, n_threads)
        if self.compute_labels:
            self.inertia_ = _scale_inertia(self.inertia_, self._w_exp)
        return self
