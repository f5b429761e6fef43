"""t-distributed stochastic neighbour embedding (Definition 2.38 and Example 18 of the
notes), with exact, Barnes-Hut and FFT-interpolation gradients, and ``transform`` for
new points. The loops are in ``skml._kernels._tsne``."""
import numbers
import warnings

import numpy as np
from scipy import fft as sp_fft
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils.extmath import randomized_svd
from sklearn.utils.validation import check_is_fitted

from skml._kernels import _tsne
from skml.decomposition._scaling import power_of_two_exponent, rescale
from skml.manifold._base import _EmbeddingBase, validate_neighbour_input
from skml.manifold._progress import Progress
from skml.manifold._neighbours import check_neighbour_graph, precomputed_neighbours
from skml.metrics import PAIRWISE_METRICS, kneighbors_brute
from skml.utils import (
    Interval,
    StrOptions,
    check_param,
    check_params,
    effective_n_threads,
    limit_blas_threads,
    store_init_params,
)

__all__ = ["TSNE"]

# method="auto": "exact" up to this many samples, "barnes_hut" up to _AUTO_BH_MAX (and
# for 3-D maps), "fft" above. Measured crossovers (one thread, digits and 10-class
# mixtures, 1000 iterations): Barnes-Hut beats exact from ~150 samples on, and the FFT
# beats Barnes-Hut from ~3,500 on (5,000: 5.8 s against 6.7 s; 10,000: 9.8 s against
# 16 s), at the same KL divergence.
_AUTO_EXACT_MAX = 200
_AUTO_BH_MAX = 3500
# FFT interpolation: node spacing once the map is wide (FIt-SNE uses 1/3; the B-spline
# interpolation is as accurate at 0.5 with 2.25 times fewer nodes: KL on digits 0.739
# against 0.738 at 1/3 and 0.742 at 0.6), least number of nodes across a small map, and
# most nodes per dimension (a cap on memory and time if the map blows up).
_FFT_SPACING = 0.5
_FFT_MIN_NODES = 100
_FFT_MAX_NODES = {1: 1_000_000, 2: 1200}
# Convergence is checked every _N_ITER_CHECK iterations, only after early exaggeration
# and at least _MIN_ITER_AFTER_EXAGGERATION more iterations.
_N_ITER_CHECK = 50
_MIN_ITER_AFTER_EXAGGERATION = 250
# transform(): repulsion by all pairs up to this many training points (Barnes-Hut above),
# step size and gradient clipping for the per-point objective.
_TRANSFORM_EXACT_MAX = 1000
_TRANSFORM_LEARNING_RATE = 1.0
_TRANSFORM_MAX_GRAD_NORM = 1.0
# Points per thread: smaller maps run on fewer threads. Every iteration synchronises the
# threads; on a quiet machine that costs microseconds, but on a busy one each
# synchronisation can wait a scheduler time slice (milliseconds), more than an
# iteration's parallel work on a few thousand points is worth.
_POINTS_PER_THREAD = 4000
_SCATTER_POINTS_PER_THREAD = 50_000

_DIVERGED = ("t-SNE diverged: the map is no longer finite (or too wide to represent); "
             "use a smaller learning_rate or early_exaggeration.")


def _n_threads(n_jobs, n):
    return max(1, min(effective_n_threads(n_jobs), -(-n // _POINTS_PER_THREAD)))


# --------------------------------------------------------------------------------------
# Affinities
# --------------------------------------------------------------------------------------

class _Affinities:
    """Input-space affinities: nearest neighbours, per-point bandwidths by binary search
    on the perplexity, and the symmetrised sparse P of the training data.

    Kept apart from the optimiser so that ``transform`` computes the affinities of new
    points to the training points with the same neighbourhood size (``n_neighbors``),
    perplexity and metric."""

    def __init__(self, perplexity, n_neighbors, metric, metric_params, n_jobs):
        self.perplexity = perplexity
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.metric_params = metric_params
        self.n_jobs = n_jobs

    def _neighbours(self, X, Y, k, exclude_self):
        """Squared distances to, and indices of, the k nearest rows of Y, or of X itself
        when Y is None; ``exclude_self``: X is the training data and a point is not its
        own neighbour. With ``metric="precomputed"`` X holds the distances to the
        training points and Y is not used."""
        n = X.shape[0]
        if self.metric == "precomputed":
            dist, ind = precomputed_neighbours(X, k, exclude_self)
            dist = dist.astype(np.float64)
            return np.ascontiguousarray(dist * dist), ind
        metric = "sqeuclidean" if self.metric == "euclidean" else self.metric
        p = (self.metric_params or {}).get("p", 2.0)
        if not exclude_self:
            dist, ind = kneighbors_brute(X, Y, k, metric=metric, p=p, n_jobs=self.n_jobs)
        else:
            # k + 1 neighbours of X in itself, then drop the point itself (or, when it
            # is not among them because of duplicates with smaller indices, the last)
            dist, ind = kneighbors_brute(X, None, k + 1, metric=metric, p=p,
                                         n_jobs=self.n_jobs)
            drop = ind == np.arange(n)[:, None]
            drop[~drop.any(axis=1), -1] = True
            keep = ~drop
            dist = dist[keep].reshape(n, k)
            ind = ind[keep].reshape(n, k)
        if metric != "sqeuclidean":
            dist = dist.astype(np.float64) ** 2
        check_neighbour_graph(dist, ind, Y.shape[0] if Y is not None else n, "t-SNE")
        return np.ascontiguousarray(dist), np.ascontiguousarray(ind, dtype=np.intp)

    def conditional(self, sqdist):
        """Row-stochastic p_{j|i} over each row's neighbours, at the perplexity.

        Each row is first divided by the power of two that brings its spread into
        [0.5, 1) (exactly): p_{j|i} does not depend on the distances' unit, and the
        bisection then runs through the same steps whatever the unit, so the dense and
        sparse forms of the same data (or the data times 2**k) give the same P."""
        spread = sqdist.max(axis=1, initial=0.0) - sqdist.min(axis=1, initial=0.0) \
            if sqdist.shape[1] else np.zeros(sqdist.shape[0])
        exponents = np.where(spread > 0, np.frexp(spread)[1], 0)
        sqdist = np.ascontiguousarray(np.ldexp(sqdist, -exponents[:, None]))
        n, k = sqdist.shape
        P = np.empty((n, k), dtype=np.float64)
        betas = np.empty(n, dtype=np.float64)
        _tsne.binary_search_perplexity(sqdist, float(self.perplexity), P, betas,
                                       _n_threads(self.n_jobs, n))
        return P

    def fit(self, X, n_neighbors):
        """The joint P of Example 18 as CSR: p_ij = (p_{j|i} + p_{i|j}) / 2n over the
        graph of each point's ``n_neighbors`` nearest neighbours, sorted indices,
        ``sum(P) == 1``."""
        n = X.shape[0]
        sqdist, ind = self._neighbours(X, None, n_neighbors, exclude_self=True)
        cond = self.conditional(sqdist)
        k = ind.shape[1]
        P = sparse.csr_matrix((cond.ravel(), ind.ravel(), np.arange(0, n * k + 1, k)),
                              shape=(n, n))
        P = (P + P.T).tocsr()
        P.sum_duplicates()
        P.sort_indices()
        P.data /= P.data.sum()
        return P

    def new(self, X_new, X_train):
        """``(ind, cond)``: neighbours of the new points among the training points and
        their row-stochastic p_{j|i}."""
        n_train = X_train.shape[0] if X_train is not None else X_new.shape[1]
        k = min(n_train, self.n_neighbors)
        sqdist, ind = self._neighbours(X_new, X_train, k, exclude_self=False)
        return ind, self.conditional(sqdist)


def _csr_arrays(P, n_cols):
    """P's arrays for ``_tsne.descend``, after checking that its structure is valid and
    that every column index names one of the ``n_cols`` points (the kernel indexes the
    map with them unchecked, once per iteration)."""
    indptr = np.ascontiguousarray(P.indptr, dtype=np.intp)
    indices = np.ascontiguousarray(P.indices, dtype=np.intp)
    data = np.ascontiguousarray(P.data, dtype=np.float64)
    n_rows = P.shape[0]
    if (indptr.shape != (n_rows + 1,) or indptr[0] != 0 or indptr[-1] != indices.size
            or np.any(np.diff(indptr) < 0) or data.size != indices.size):
        raise ValueError("The affinity matrix is not a valid CSR matrix.")
    if indices.size and (indices.min() < 0 or indices.max() >= n_cols):
        raise ValueError(f"The affinity matrix has a column index outside [0, {n_cols}).")
    if not np.all(np.isfinite(data)):
        raise ValueError("The affinity matrix has non-finite entries.")
    return indptr, indices, data


# --------------------------------------------------------------------------------------
# Repulsive forces
# --------------------------------------------------------------------------------------

# Placeholders for the arguments of _tsne.descend that a method does not use.
_NO_VEC = np.zeros(16)
_NO_POT = np.zeros((1, 1, 1), dtype=np.float32)


class _Repulsion:
    """The repulsive part of the gradient. ``prepare(Y)`` does the per-iteration work
    that is not per point (a tree, a convolved grid) and returns the method's arguments
    for ``_tsne.descend``; ``__call__(Y, rep, zrow)`` gives the forces alone (tests)."""

    code = None

    def __init__(self, n_threads):
        self.n_threads = n_threads

    def prepare(self, Y):
        return dict(method=self.code, tree=None, theta=0.0, low=_NO_VEC, h=1.0,
                    centre=_NO_VEC, pot=_NO_POT, kself=_NO_VEC)

    def __call__(self, Y, rep, zrow):
        no_p = np.zeros(len(Y) + 1, dtype=np.intp)
        return _tsne.descend(
            Y, Y, True, no_p, no_p[:0], np.zeros(0), 1.0, **self.prepare(Y), do_step=False,
            coef=0.0, per_point=False, momentum=0.0, learning_rate=0.0, min_gain=0.0,
            max_grad_norm=0.0, update=rep, gains=rep, attr=np.empty_like(Y), rep=rep,
            zrow=zrow, grad_sq=zrow, kl_rows=zrow, compute_kl=False,
            n_threads=self.n_threads)


class _ExactRepulsion(_Repulsion):
    """All pairs, O(n^2) time per iteration, O(n) memory."""

    code = _tsne.METHOD_CODES["exact"]


class _BarnesHutRepulsion(_Repulsion):
    """A 2^d-tree over the map rebuilt every iteration; cells with
    ``width < angle * distance`` are summarised by their centre of mass."""

    code = _tsne.METHOD_CODES["barnes_hut"]

    def __init__(self, angle, n_threads):
        super().__init__(n_threads)
        self.angle = angle

    def prepare(self, Y):
        return {**super().prepare(Y), "tree": _tsne.SpaceTree(Y), "theta": self.angle}


class _FFTRepulsion(_Repulsion):
    """FFT-accelerated interpolation (FIt-SNE): the repulsive sums as convolutions on an
    equispaced grid.

    The charges (1, y) of the points are spread onto the grid nodes with cubic B-spline
    weights (4 nodes per dimension, Cython), convolved with the kernel 1 / (1 + d^2)^2
    sampled at the node offsets by FFTs of the zero-padded grid (scipy.fft, single
    precision) and interpolated back to the points with the same weights (Cython). The
    kernel's transform is divided by the splines' own (as in smooth particle-mesh Ewald
    sums), which undoes their smoothing: at FIt-SNE's node spacing of 1/3 the forces come
    out about 20 times more accurate (~0.15 % against ~3 %) than with FIt-SNE's
    piecewise Lagrange interpolation, and still ~1 % at the spacing of 0.5 used here
    (2.25 times fewer nodes). That matters: the optimiser's gains turn gradient noise
    into a smaller, less converged map.

    Node spacing: ``_FFT_SPACING`` once the map is wide enough, finer (at least
    ``_FFT_MIN_NODES`` nodes across, spacing from a 2^(1/4) ladder) while it is small, so
    the grid grows with the map's extent. Nodes sit at multiples of the spacing, and the
    deconvolved kernel's transform is cached while spacing and grid size stay put. Cost
    per iteration: O(n) plus FFTs of a (2 * extent / spacing)^dim grid."""

    code = _tsne.METHOD_CODES["fft"]

    def __init__(self, dim, n_threads, n_points=None):
        super().__init__(n_threads)
        self.dim = dim
        # spreading costs ~50 ns a point: threads pay off only for large maps
        self.scatter_threads = n_threads if n_points is None else max(
            1, min(n_threads, n_points // _SCATTER_POINTS_PER_THREAD))
        self._key = None
        self._cached = None

    def _grid(self, Y):
        """``(low corner, spacing h, nodes per dimension N, centre)``: nodes at
        ``low + h * k``, every point at least one node in from the low side and two
        from the high side (room for its cubic stencil), with a node to spare on each
        side against rounding."""
        lo, hi = Y.min(axis=0), Y.max(axis=0)
        with np.errstate(over="ignore", invalid="ignore"):
            extent = float((hi - lo).max())
        if not np.isfinite(extent):
            raise FloatingPointError(_DIVERGED)
        extent = max(extent, 1e-8)
        h = _FFT_SPACING
        if extent < _FFT_MIN_NODES * h:  # a small map: finer nodes, from a fixed ladder
            h = 2.0 ** (np.floor(4 * np.log2(extent / _FFT_MIN_NODES)) / 4)
        max_nodes = _FFT_MAX_NODES[self.dim]
        if extent / h > max_nodes - 8:  # a map blown up: coarser nodes, bounded cost
            h = extent / (max_nodes - 8)
        low = (np.floor(lo / h) - 2.0) * h
        span = float((hi - low).max()) / h
        if not np.isfinite(span):
            raise FloatingPointError(_DIVERGED)
        n_nodes = int(np.floor(span)) + 4
        centre = low + 0.5 * n_nodes * h
        # every stencil inside the grid (the kernels check it again, point by point)
        if not (np.all((lo - low) / h >= 1.0) and np.all((hi - low) / h < n_nodes - 2)):
            raise FloatingPointError(_DIVERGED)
        return np.ascontiguousarray(low), h, n_nodes, np.ascontiguousarray(centre)

    def _kernel(self, M, h):
        """The deconvolved kernel's transform on the M-periodic grid (real, even), and
        its values at node offsets 0..3 (for the points' self-interaction)."""
        key = (M, h)
        if key != self._key:
            off = np.arange(M, dtype=np.float64)
            off = np.where(off <= M // 2, off, off - M) * h
            kappa = 2 * np.pi * np.arange(M // 2 + 1) / M
            spline = 2.0 / 3.0 + np.cos(kappa) / 3.0  # the cubic B-spline's transform
            if self.dim == 1:
                hat = sp_fft.rfft(1.0 / (1.0 + off * off) ** 2).real / spline**2
                kself = sp_fft.irfft(hat, n=M)[:4]
            else:
                off2 = off * off
                kern = 1.0 / (1.0 + off2[:, None] + off2[None, :]) ** 2
                hat = sp_fft.rfft2(kern).real
                full = np.concatenate([spline, spline[1:M - M // 2][::-1]])
                hat /= (full**2)[:, None] * (spline**2)[None, :]
                kself = sp_fft.irfft2(hat, s=(M, M))[:4, :4]
            self._cached = (hat.astype(np.float32), np.ascontiguousarray(kself.ravel()))
            self._key = key
        return self._cached

    def prepare(self, Y):
        low, h, N, centre = self._grid(Y)
        M = sp_fft.next_fast_len(2 * N, real=True)
        hat, kself = self._kernel(M, h)
        # the FFTs run on one thread: pocketfft gains little from a second one on these
        # grids, and each threaded call is one more synchronisation per iteration, which
        # costs a scheduler time slice whenever the machine is busy
        w = 1
        if self.dim == 1:
            W = np.empty((2, 1, N), dtype=np.float32)
            _tsne.grid_scatter(Y, low, h, centre, W, self.scatter_threads)
            pot = sp_fft.irfft(sp_fft.rfft(W, n=M, axis=2) * hat, n=M, axis=2)
        else:
            W = np.empty((3, N, N), dtype=np.float32)
            _tsne.grid_scatter(Y, low, h, centre, W, self.scatter_threads)
            # 2-D FFT of the zero-padded grid, skipping the rows known to be zero
            A = sp_fft.rfft(W, n=M, axis=2, workers=w)
            A = sp_fft.fft(A, n=M, axis=1, workers=w, overwrite_x=True)
            A *= hat
            A = sp_fft.ifft(A, axis=1, workers=w, overwrite_x=True)[:, :N]
            pot = sp_fft.irfft(A, n=M, axis=2, workers=w)
        return {**super().prepare(Y), "low": low, "h": h, "centre": centre,
                "pot": np.ascontiguousarray(pot, dtype=np.float32), "kself": kself}


# --------------------------------------------------------------------------------------
# Initialisation
# --------------------------------------------------------------------------------------

def _pca_init(X, n_components, random_state):
    """PCA scores scaled so that the first column has standard deviation 1e-4.

    Columns beyond the rank of X (fewer features than components) are filled with
    Gaussian noise of standard deviation 1e-4. Returns None when X has no spread at all
    (the caller then falls back to a random start). Sparse X is never densified: its
    scores come from :class:`skml.decomposition.PCA` (implicit centring)."""
    n, d = X.shape
    r = min(n_components, n, d)
    if sparse.issparse(X):
        from skml.decomposition import PCA

        solver = "arpack" if r < min(n, d) else "covariance_eigh"
        Y = PCA(r, svd_solver=solver, random_state=random_state).fit_transform(X)
        Y = _flip_scores(np.asarray(Y, dtype=np.float64))
        spread = float(np.abs(X.data).max(initial=0.0))
        return _scaled_start(Y, r, n_components, spread, random_state)
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    with limit_blas_threads():
        if min(n, d) > 200 and r < 0.1 * min(n, d):
            U, s, Vt = randomized_svd(Xc, r, random_state=random_state)
        else:
            U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
            U, s = U[:, :r], s[:r]
    return _scaled_start(_flip_scores(U * s), r, n_components, float(np.abs(Xc).max()),
                         random_state)


def _flip_scores(Y):
    """Each score column signed so that its largest-magnitude entry is positive (the
    U-based sign of ``svd_flip``), whichever solver produced it: sparse and dense
    copies of X, and the exact and randomised SVDs, start from the same map."""
    rows = np.argmax(np.abs(Y), axis=0)
    signs = np.sign(Y[rows, np.arange(Y.shape[1])])
    signs[signs == 0] = 1.0
    return Y * signs


def _scaled_start(Y, r, n_components, spread, random_state):
    n = Y.shape[0]
    std = float(np.std(Y[:, 0])) if r else 0.0
    if not np.isfinite(std) or std <= 1e-12 * max(1.0, spread):
        return None
    Y = Y / std * 1e-4
    if r < n_components:
        extra = 1e-4 * random_state.standard_normal((n, n_components - r))
        Y = np.hstack([Y, extra])
    return np.ascontiguousarray(Y)


# --------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------

class TSNE(_EmbeddingBase):
    """t-distributed Stochastic Neighbour Embedding, with ``transform`` for new points.

    Follows Example 18 of the notes: each point's Gaussian bandwidth is set by binary
    search so that its conditional distribution p_{j|i} over its nearest neighbours has
    the requested perplexity; ``p_ij = (p_{j|i} + p_{i|j}) / 2n`` is kept as a sparse
    matrix over the neighbour graph (``min(n - 1, int(3 * perplexity + 1))`` neighbours
    from :func:`skml.metrics.kneighbors_brute`, so memory is O(n * perplexity)); the map
    minimises KL(P || Q) with Student-t similarities q_ij (one degree of freedom) by
    gradient descent with early exaggeration, momentum (0.5, then 0.8) and per-coordinate
    gains, as in scikit-learn.

    The gradient's attractive part runs over the sparse P; the repulsive part by
    ``method``: all pairs (``"exact"``), a Barnes-Hut space-partitioning tree
    (``"barnes_hut"``), or FFT-accelerated interpolation on a grid (``"fft"``, as in
    FIt-SNE: O(n) per iteration). All three run in the OpenMP kernels of
    ``skml._kernels._tsne``; read more in the :doc:`user guide </user_guide/tsne>`.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the map. ``"barnes_hut"`` allows 1 to 3, ``"fft"`` 1 or 2.
    perplexity : float, default=30.0
        Effective number of neighbours of each point (must be > 0). When the data has
        fewer than ``3 * perplexity + 1`` samples, the perplexity is lowered to
        ``(n_samples - 1) / 3`` with a ``UserWarning`` (see ``perplexity_``).
    early_exaggeration : float, default=12.0
        Factor multiplying P during the first ``early_exaggeration_iter`` iterations, so
        that clusters form tight and well separated. At least 1.
    early_exaggeration_iter : int, default=250
        Number of early-exaggeration iterations (scikit-learn fixes it at 250); part of
        ``max_iter``.
    learning_rate : float or "auto", default="auto"
        Step size. ``"auto"`` is ``max(n_samples / early_exaggeration / 4, 50)``, as in
        scikit-learn (the gradient includes its factor 4).
    max_iter : int, default=1000
        Total number of iterations, early exaggeration included.
    n_iter_without_progress : int, default=300
        After early exaggeration, stop when the KL divergence (checked every 50
        iterations) has not improved for this many iterations. ``-1``: never.
    min_grad_norm : float, default=1e-7
        After early exaggeration, stop when the gradient norm (checked every 50
        iterations) falls below this.

        Neither stopping rule is tested during early exaggeration nor in the first 250
        iterations after it: with many samples every p_ij is tiny and so is the
        gradient, long before the map has formed.
    metric : str, default="euclidean"
        Input-space distance, squared before the Gaussian kernel: one of
        :data:`skml.metrics.PAIRWISE_METRICS`, or ``"precomputed"`` (X is then a dense
        square matrix of distances, and ``transform`` takes the distances from the new
        points to the training points).
    metric_params : dict, default=None
        ``{"p": value}`` for ``metric="minkowski"``.
    init : {"pca", "random"} or ndarray of shape (n_samples, n_components), \
            default="pca"
        Starting map. ``"pca"``: the principal components, scaled so that the first has
        standard deviation 1e-4 (as scikit-learn); if the data has fewer features than
        ``n_components`` the missing columns are Gaussian noise, and if all points are
        identical a ``UserWarning`` is issued and the random start is used.
        ``"random"``: Gaussian with standard deviation 1e-4. Not ``"pca"`` with
        ``metric="precomputed"``.
    verbose : int, default=0
        ``>= 1``: a line per stage (affinities, final KL divergence) and a progress bar
        over the iterations showing the KL divergence; ``>= 2``: also a line every 50
        iterations (KL divergence, gradient norm).
    random_state : int, RandomState instance or None, default=None
        Seeds the random and PCA starts. With a fixed seed the map does not depend on
        ``n_jobs``.
    method : {"barnes_hut", "exact", "fft", "auto"}, default="barnes_hut"
        Repulsive forces. ``"barnes_hut"`` (scikit-learn's default): a space-partitioning
        tree, O(n log n) per iteration. ``"exact"`` also uses all ``n - 1`` other points
        in P (not just the neighbours), O(n^2) time and memory. ``"fft"``: FFT-accelerated
        interpolation, O(n) per iteration. ``"auto"`` (skml's recommended setting, the
        fastest at every size at the same KL divergence): ``"exact"`` for at most 200
        samples, ``"barnes_hut"`` up to 3,500 samples (and whenever ``n_components ==
        3``), ``"fft"`` above; ``"exact"`` when ``n_components > 3``.
    angle : float, default=0.5
        Barnes-Hut trade-off theta in [0, 1]: a cell of width w at distance d from a
        point is summarised when ``w < angle * d``. Also used by ``transform``.
    n_jobs : int, default=None
        OpenMP threads of the neighbour search and the gradient (``None``: all cores,
        as scikit-learn's Barnes-Hut gradient uses; scikit-learn's ``n_jobs`` covers only
        its neighbour search), at most one per 4,000 samples (or new points in
        ``transform``): each iteration synchronises the threads, which is not worth it
        for less work. Results do not depend on it.
    transform_max_iter : int, default=100
        Iterations of ``transform`` (gradient descent on the new points only).

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The map (dtype of the input).
    kl_divergence_ : float
        KL(P || Q) of the final map, ``sum p_ij log(p_ij / q_ij)`` over the sparse P
        (or all pairs for ``"exact"``), where ``q_ij = w_ij / Z``. For ``"exact"`` Z is
        exact; for ``"barnes_hut"`` and ``"fft"`` Z is the estimate those methods make
        for the gradient (as scikit-learn and openTSNE report it).
    n_iter_ : int
        Iterations run.
    learning_rate_ : float
        The step size used.
    perplexity_ : float
        The perplexity used (``perplexity`` unless lowered for small data).
    method_ : str
        The method used (``method`` with ``"auto"`` resolved).
    n_features_in_ : int
        Number of features seen in ``fit``.

    Raises
    ------
    ValueError
        For parameters out of range, ``init="pca"`` with ``metric="precomputed"``, a
        precomputed matrix that is not square and non-negative (or a sparse one with too
        few entries per row), or a neighbour search that returned an invalid neighbour.
    TypeError
        For a sparse precomputed matrix with ``method="exact"``.
    FloatingPointError
        If the map diverges (e.g. a huge ``learning_rate``).

    Notes
    -----
    Differences from ``sklearn.manifold.TSNE``: the Student-t has one degree of freedom
    for every ``n_components`` (the notes' q_ij; scikit-learn uses ``n_components - 1``
    from 3 dimensions on); small data lowers the perplexity instead of raising an
    error; ``transform`` exists. With a sparse precomputed graph that does not store
    each point's zero distance to itself, scikit-learn drops each point's nearest
    neighbour (taking it for the point itself); skml keeps it (with a
    ``KNeighborsTransformer`` graph, which stores them, both agree).

    ``transform(X_new)`` places new points into the fitted map without moving it: their
    conditional affinities p_{j|i} to the training points (same perplexity and number of
    neighbours) are computed, each new point starts at the p_{j|i}-weighted mean of its
    neighbours' positions and then minimises its own KL(p_{.|i} || q_{.|i}), with
    ``q_{j|i} = w_ij / sum_l w_il`` over the training points, by gradient descent with
    momentum and gains (repulsion: all pairs for ``"exact"`` or at most 1000 training
    points, else Barnes-Hut over a tree of the fixed map, built once). New points do not
    interact, so each one's result is independent of the others in the batch.

    The ``"fft"`` method spreads the points onto its grid with cubic B-splines and
    deconvolves them in Fourier space (as smooth particle-mesh Ewald sums do), instead
    of FIt-SNE's piecewise Lagrange interpolation: forces about 20 times more accurate
    on the same grid, which gives better converged maps (see the user guide).

    Expected failures in scikit-learn's estimator checks (the debts, also listed in
    ``skml/utils/_test_common.py``): ``check_transformer_general`` and
    ``check_transformer_data_not_an_array`` require ``fit_transform(X)`` to equal
    ``fit(X).transform(X)``, which cannot hold for t-SNE: ``transform`` places points
    into a fixed map by a separate optimisation, so it lands near, not on, their fitted
    positions.

    References
    ----------
    H. Dai, "Note on Machine Learning" (preprint), Definition 2.38 and Example 18.
    L. van der Maaten and G. Hinton, Visualizing data using t-SNE, JMLR 9 (2008).
    L. van der Maaten, Accelerating t-SNE using tree-based algorithms, JMLR 15 (2014).
    G. Linderman et al., Fast interpolation-based t-SNE for improved visualization of
    single-cell RNA-seq data, Nature Methods 16 (2019).
    P. Poličar, M. Stražar, B. Zupan, openTSNE (2019), for ``transform``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skml.manifold import TSNE
    >>> X = load_digits().data[:300]
    >>> tsne = TSNE(random_state=0, max_iter=300).fit(X)
    >>> tsne.embedding_.shape
    (300, 2)
    >>> tsne.transform(X[:5]).shape
    (5, 2)
    """

    def __init__(self, n_components=2, *, perplexity=30.0, early_exaggeration=12.0,
                 early_exaggeration_iter=250, learning_rate="auto", max_iter=1000,
                 n_iter_without_progress=300, min_grad_norm=1e-7, metric="euclidean",
                 metric_params=None, init="pca", verbose=0, random_state=None,
                 method="barnes_hut", angle=0.5, n_jobs=None, transform_max_iter=100):
        store_init_params(self, locals())

    # ---- parameter checks -----------------------------------------------------------

    _takes_sparse = True

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None)],
        "perplexity": [Interval(numbers.Real, 0, None, closed="neither")],
        "early_exaggeration": [Interval(numbers.Real, 1, None)],
        "early_exaggeration_iter": [Interval(numbers.Integral, 0, None)],
        "learning_rate": [StrOptions({"auto"}), Interval(numbers.Real, 0, None,
                                                         closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None)],
        "n_iter_without_progress": [Interval(numbers.Integral, -1, None)],
        "min_grad_norm": [Interval(numbers.Real, 0, None)],
        "metric": [StrOptions({*PAIRWISE_METRICS, "precomputed"})],
        "metric_params": [dict, None],
        "init": [StrOptions({"pca", "random"}), "array-like"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "method": [StrOptions({"auto", "exact", "barnes_hut", "fft"})],
        "angle": [Interval(numbers.Real, 0, 1)],
        "n_jobs": ["n_jobs"],
        "transform_max_iter": [Interval(numbers.Integral, 0, None)],
    }

    def _check_params(self):
        check_params(self)
        unknown = set(self.metric_params or {}) - {"p"}
        if unknown:
            raise ValueError(f"metric_params accepts only 'p', got {sorted(unknown)}.")
        if self.metric_params and "p" in self.metric_params:
            check_param(self.metric_params["p"], "metric_params['p']",
                        types=(numbers.Real,), min_val=1)
        if self.metric == "precomputed" and isinstance(self.init, str) \
                and self.init == "pca":
            raise ValueError('The parameter init="pca" cannot be used with '
                             'metric="precomputed".')

    def _resolve_method(self, n):
        d = self.n_components
        method = self.method
        if method == "auto":
            if d > 3 or n <= _AUTO_EXACT_MAX:
                method = "exact"
            elif d == 3 or n <= _AUTO_BH_MAX:
                method = "barnes_hut"
            else:
                method = "fft"
        if method == "barnes_hut" and d > 3:
            raise ValueError(f"method='barnes_hut' needs n_components <= 3, got {d}.")
        if method == "fft" and d > 2:
            raise ValueError(f"method='fft' needs n_components <= 2, got {d}.")
        return method

    # ---- fitting --------------------------------------------------------------------

    def _normalise(self, X, fit):
        """X as the neighbour search sees it: divided by a power of two so that its
        entries lie in [-1, 1] (exact; precomputed distances likewise). The affinities
        are invariant under it (each bandwidth is calibrated to the perplexity), and the
        search does not overflow (|x| ~ 1e160). Data far from the origin (float32 offset
        by 1e4) is not centred here: the search is exact for any offset by itself, and
        centring in float32 would round every coordinate to the spread's precision
        (small distances 1e-4 relative off)."""
        if fit:
            if self.metric == "precomputed":
                self._shift = None
                values = X.data if sparse.issparse(X) else X
                self._exponent = power_of_two_exponent(np.max(values, initial=0.0))
            else:
                Xn, self._shift, self._exponent = rescale(X)
                return Xn
        return self._to_training_frame(X)

    def _initial_map(self, X, n, random_state):
        d = self.n_components
        if not isinstance(self.init, str):
            Y = np.array(self.init, dtype=np.float64, order="C", copy=True)
            if Y.shape != (n, d):
                raise ValueError(f"init array must have shape {(n, d)}, got {Y.shape}.")
            if not np.all(np.isfinite(Y)):
                raise ValueError("init array must be finite.")
            return Y
        if self.init == "pca":
            Y = _pca_init(X, d, random_state)
            if Y is not None:
                return Y
            warnings.warn("All samples are identical: PCA initialisation impossible, "
                          "using init='random'.", UserWarning)
        return np.ascontiguousarray(1e-4 * random_state.standard_normal((n, d)))

    def fit_transform(self, X, y=None):
        """Fit the map to X and return it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, n_samples)
            Training data, or distances with ``metric="precomputed"``. Sparse CSR, CSC
            or COO input is taken as CSR (never densified): features go to the sparse
            neighbour search; a precomputed sparse matrix is a neighbours graph whose
            stored entries are the candidates (each row needs ``min(n_samples - 1,
            3 * perplexity + 1)`` of them besides the diagonal; not with
            ``method="exact"``).
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The map, ``embedding_``.
        """
        self._check_params()
        X = validate_neighbour_input(self, X, reset=True, order="C")
        n = X.shape[0]
        random_state = check_random_state(self.random_state)
        method = self._resolve_method(n)
        n_threads = _n_threads(self.n_jobs, n)
        if method == "exact" and self.metric == "precomputed" and sparse.issparse(X):
            raise TypeError('TSNE with method="exact" does not accept sparse precomputed '
                            'distance matrix. Use method="barnes_hut" or provide the '
                            "dense distance matrix.")

        perplexity = float(self.perplexity)
        if 3 * perplexity + 1 > n:
            perplexity = max((n - 1) / 3.0, 1e-3)
            warnings.warn(f"perplexity={self.perplexity} is too large for {n} samples "
                          f"(3 * perplexity + 1 neighbours are needed); using "
                          f"perplexity={perplexity:.4g} instead.", UserWarning)
        k = min(n - 1, int(3.0 * perplexity + 1))
        affinities = _Affinities(perplexity, k, self.metric, self.metric_params,
                                 self.n_jobs)
        progress = Progress("t-SNE", self.verbose)
        n_neighbors = n - 1 if method == "exact" else k  # exact: P over all pairs
        Xn = self._normalise(X, fit=True)
        P = affinities.fit(Xn, n_neighbors)
        progress.line(f"affinities of {n} points, {n_neighbors} neighbours each")

        Y = self._initial_map(Xn, n, random_state)
        if self.learning_rate == "auto":
            lr = max(n / self.early_exaggeration / 4.0, 50.0)
        else:
            lr = float(self.learning_rate)
        if method == "exact":
            repulsion = _ExactRepulsion(n_threads)
        elif method == "barnes_hut":
            repulsion = _BarnesHutRepulsion(float(self.angle), n_threads)
        else:
            repulsion = _FFTRepulsion(self.n_components, n_threads, n)
        Y, kl, n_iter = self._optimise(Y, P, repulsion, lr, n_threads, progress)
        progress.line(f"{n_iter} iterations ({method}), KL divergence {kl:.4f}")

        self.embedding_ = Y.astype(X.dtype, copy=False)
        self.kl_divergence_ = float(kl)
        self.n_iter_ = n_iter
        self.learning_rate_ = lr
        self.perplexity_ = perplexity
        self.method_ = method
        self._affinities = affinities
        self._fit_X = None if self.metric == "precomputed" else Xn
        self._embedding64 = Y
        return self.embedding_

    def fit(self, X, y=None):
        """Fit the map to X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, n_samples)
            Training data, or distances with ``metric="precomputed"``. Sparse CSR, CSC
            or COO input is taken as CSR (never densified): features go to the sparse
            neighbour search; a precomputed sparse matrix is a neighbours graph whose
            stored entries are the candidates (each row needs ``min(n_samples - 1,
            3 * perplexity + 1)`` of them besides the diagonal; not with
            ``method="exact"``).
        y : None
            Ignored.

        Returns
        -------
        self : TSNE
            The fitted estimator.
        """
        self.fit_transform(X)
        return self

    def _optimise(self, Y, P, repulsion, lr, n_threads, progress):
        """Gradient descent with early exaggeration, momentum and gains. Returns the
        map, its KL divergence and the number of iterations run."""
        n, d = Y.shape
        indptr, indices, pdata = _csr_arrays(P, n)
        buffers = dict(update=np.zeros_like(Y), gains=np.ones_like(Y),
                       attr=np.empty_like(Y), rep=np.empty_like(Y), zrow=np.empty(n),
                       grad_sq=np.empty(n), kl_rows=np.empty(n))
        n_ee = min(int(self.early_exaggeration_iter), int(self.max_iter))
        first_check = n_ee + _MIN_ITER_AFTER_EXAGGERATION
        best_kl, best_it = np.inf, 0
        it = 0
        bar = progress.bar(int(self.max_iter), "iterations")
        for it in range(int(self.max_iter)):
            if it == n_ee and n_ee > 0:  # end of early exaggeration: fresh momentum
                buffers["update"][:] = 0.0
                buffers["gains"][:] = 1.0
            exaggerating = it < n_ee
            check = (it + 1) % _N_ITER_CHECK == 0
            # forces at the current map, then the step (KL and Z are those before it)
            Z = _tsne.descend(
                Y, Y, True, indptr, indices, pdata,
                self.early_exaggeration if exaggerating else 1.0, **repulsion.prepare(Y),
                do_step=True, coef=4.0, per_point=False,
                momentum=0.5 if exaggerating else 0.8, learning_rate=lr, min_gain=0.01,
                max_grad_norm=0.0, **buffers, compute_kl=check, n_threads=n_threads)
            bar.update()
            if not np.isfinite(Y).all():  # O(n): next to an iteration's work, nothing
                bar.close()
                raise FloatingPointError(_DIVERGED)
            if not check:
                continue
            kl = buffers["kl_rows"].sum() + np.log(Z)
            grad_norm = float(np.sqrt(buffers["grad_sq"].sum()))
            bar.set_postfix_str(f"KL {kl:.4f}")
            progress.line(f"iteration {it + 1}: KL divergence {kl:.4f}, gradient norm "
                          f"{grad_norm:.3g}", level=2)
            if exaggerating:
                continue
            if kl < best_kl:
                best_kl, best_it = kl, it
            if it + 1 < first_check:
                continue
            if grad_norm <= self.min_grad_norm:
                break
            if 0 <= self.n_iter_without_progress < it - best_it:
                break
        bar.close()
        n_iter = it + 1
        Z = _tsne.descend(
            Y, Y, True, indptr, indices, pdata, 1.0, **repulsion.prepare(Y),
            do_step=False, coef=4.0, per_point=False, momentum=0.0, learning_rate=0.0,
            min_gain=0.01, max_grad_norm=0.0, **buffers, compute_kl=True,
            n_threads=n_threads)
        kl = buffers["kl_rows"].sum() + np.log(Z)
        if not np.isfinite(kl):
            raise FloatingPointError(_DIVERGED)
        return Y, kl, n_iter

    # ---- new points -----------------------------------------------------------------

    def transform(self, X):
        """Place new points into the fitted map, which stays fixed.

        Each new point gets its affinities p_{j|i} to the training points (same
        perplexity and neighbourhood size as ``fit``), starts at the p_{j|i}-weighted
        mean of its neighbours' positions, and then follows ``transform_max_iter`` steps
        of gradient descent on its own KL(p_{.|i} || q_{.|i}) against the fixed map.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features) or \
                (n_queries, n_samples_fit)
            New points, or their distances to the training points with
            ``metric="precomputed"`` (sparse: stored entries are the candidates). Sparse
            new points are only scaled, never densified.

        Returns
        -------
        X_new : ndarray of shape (n_queries, n_components)
            Their positions in the map (dtype of X).
        """
        check_is_fitted(self, "embedding_")
        X = validate_neighbour_input(self, X, reset=False, order="C")
        E = self._embedding64
        m = X.shape[0]
        n_threads = _n_threads(self.n_jobs, m)
        ind, cond = self._affinities.new(self._normalise(X, fit=False), self._fit_X)
        k = ind.shape[1]
        Y = np.ascontiguousarray(np.einsum("ik,ikd->id", cond, E[ind]))
        indptr = np.arange(0, m * k + 1, k, dtype=np.intp)
        indices = np.ascontiguousarray(ind.ravel())
        pdata = np.ascontiguousarray(cond.ravel())
        exact = self.method_ == "exact" or E.shape[0] <= _TRANSFORM_EXACT_MAX
        if exact:
            forces = _ExactRepulsion(n_threads).prepare(E)
        else:  # one tree of the fixed map serves every iteration
            forces = _BarnesHutRepulsion(float(self.angle), n_threads).prepare(E)
        buffers = dict(update=np.zeros_like(Y), gains=np.ones_like(Y),
                       attr=np.empty_like(Y), rep=np.empty_like(Y), zrow=np.empty(m),
                       grad_sq=np.empty(m), kl_rows=np.empty(m))
        for _ in range(int(self.transform_max_iter)):
            _tsne.descend(Y, E, False, indptr, indices, pdata, 1.0, **forces,
                          do_step=True, coef=2.0, per_point=True, momentum=0.5,
                          learning_rate=_TRANSFORM_LEARNING_RATE, min_gain=0.01,
                          max_grad_norm=_TRANSFORM_MAX_GRAD_NORM, **buffers,
                          compute_kl=False, n_threads=n_threads)
        return Y.astype(X.dtype, copy=False)
