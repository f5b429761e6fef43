"""Multidimensional scaling (Definition 2.33): classical scaling, metric SMACOF and
Kruskal's non-metric variant.

The spectral helpers at the top (double centring and the top eigenpairs of a symmetric
matrix) are shared with :class:`skml.manifold.Isomap`, which is classical scaling of
geodesic distances.
"""
import numbers

import numpy as np
from joblib import Parallel, delayed
from scipy import linalg
from scipy.sparse.linalg import eigsh
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.decomposition._scaling import power_of_two_exponent, rescale
from skml.metrics import pairwise_distances
from skml.utils import Interval, StrOptions, check_param, check_params

__all__ = ["MDS"]

_METRIC_ALIASES = {True: "metric", False: "nonmetric"}


# --------------------------------------------------------------------------------------
# Spectral helpers (also used by Isomap)
# --------------------------------------------------------------------------------------
def _double_centre(K):
    """Centre a symmetric matrix in place: ``K <- J K J`` with ``J = I - 11^T/n``.

    Returns the row means of the input and their mean (needed to centre new rows the
    same way)."""
    row_means = K.mean(axis=1)
    grand_mean = row_means.mean()
    K -= row_means[:, None]
    K -= row_means[None, :]
    K += grand_mean
    return row_means, grand_mean


def _flip_columns(V):
    """Make the largest-magnitude entry of each column positive (deterministic signs)."""
    rows = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[rows, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    V *= signs
    return V


def _top_eigh(K, n_components, *, solver="auto", tol=0.0, max_iter=None):
    """The ``n_components`` largest (algebraic) eigenpairs of the symmetric matrix K.

    ``"dense"`` runs LAPACK on the selected index range; ``"arpack"`` runs Lanczos
    (``scipy.sparse.linalg.eigsh``) from a fixed start vector, so results are
    reproducible. ``"auto"`` takes Lanczos when K is large and few pairs are wanted.
    Eigenvalues come back in decreasing order; eigenvector signs follow
    :func:`_flip_columns`.
    """
    n = K.shape[0]
    k = min(n_components, n)
    if solver == "auto":
        solver = "arpack" if n > 200 and k < 10 else "dense"
    if solver == "arpack" and k >= n:
        solver = "dense"
    if solver == "dense":
        evals, evecs = linalg.eigh(K, subset_by_index=(n - k, n - 1))
    else:
        v0 = np.random.RandomState(0).uniform(-1.0, 1.0, n)
        evals, evecs = eigsh(K, k=k, which="LA", tol=tol, maxiter=max_iter, v0=v0)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], np.ascontiguousarray(evecs[:, order])
    return evals, _flip_columns(evecs)


def _classical_scaling(sq_dist, n_components, *, solver="auto", tol=0.0, max_iter=None):
    """Classical scaling of a matrix of squared distances (which it overwrites).

    Returns ``embedding, eigenvalues, eigenvectors, row_means, grand_mean``: the top
    eigenpairs of ``B = -1/2 J D^2 J``, the embedding ``V sqrt(max(lambda, 0))``, and the
    centring statistics of ``-1/2 D^2`` for placing new points (:func:`_gower_project`).
    """
    K = sq_dist
    K *= -0.5
    row_means, grand_mean = _double_centre(K)
    evals, evecs = _top_eigh(K, n_components, solver=solver, tol=tol, max_iter=max_iter)
    embedding = evecs * np.sqrt(np.maximum(evals, 0.0))
    return embedding, evals, evecs, row_means, grand_mean


def _gower_project(sq_dist_new, evals, evecs, row_means, grand_mean):
    """Gower's out-of-sample formula: place rows given their squared distances to the
    training points. A training point's own row returns exactly its embedding."""
    K = -0.5 * sq_dist_new
    K -= K.mean(axis=1, keepdims=True)
    K -= row_means[None, :]
    K += grand_mean
    scale = np.zeros_like(evals)
    positive = evals > 0
    scale[positive] = 1.0 / np.sqrt(evals[positive])
    return (K @ evecs) * scale


# --------------------------------------------------------------------------------------
# SMACOF
# --------------------------------------------------------------------------------------
def _guttman_ratio(disparities, distances):
    ratio = np.zeros_like(distances)
    np.divide(disparities, distances, out=ratio, where=distances > 0)
    return ratio


def _smacof_single(delta, *, nonmetric, n_components, init, max_iter, eps, random_state,
                   n_threads):
    """One SMACOF run. Returns ``X, stress, n_iter, monotone`` where ``monotone``
    (non-metric only, else None) is the ``(x, y)`` table of the final monotone map from
    dissimilarities to disparities."""
    n = delta.shape[0]
    if init is None:
        X = check_random_state(random_state).uniform(size=(n, n_components))
    else:
        X = np.array(init, dtype=np.float64)
    # non-metric: the pairs i < j with a non-zero (not missing) dissimilarity
    mask = np.triu(delta != 0, 1) if nonmetric else None
    iso = IsotonicRegression(out_of_bounds="clip") if nonmetric else None
    n_pairs = n * (n - 1) / 2
    disparities = delta
    scale = 1.0
    distances = pairwise_distances(X, n_jobs=n_threads)
    old_stress = None
    stress = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        if nonmetric:
            # Kruskal: disparities are the monotone (isotonic) regression of the current
            # distances on the dissimilarities; the first step uses the dissimilarities.
            if it == 1:
                disp_flat = delta[mask]
            else:
                disp_flat = iso.fit_transform(delta[mask], distances[mask])
            scale = np.sqrt(n_pairs / max(np.sum(disp_flat**2), np.finfo(float).tiny))
            disparities = np.zeros_like(delta)
            disparities[mask] = disp_flat * scale
            disparities = disparities + disparities.T
        # Guttman transform X <- B(X) X / n (unit weights)
        B = -_guttman_ratio(disparities, distances)
        B[np.diag_indices_from(B)] -= B.sum(axis=1)
        X = B @ X / n
        distances = pairwise_distances(X, n_jobs=n_threads)
        stress = np.sum((distances - disparities) ** 2) / 2
        if old_stress is not None:
            sum_sq = np.sum(distances**2) / 2
            if sum_sq == 0 or (old_stress - stress) / sum_sq < eps:
                break
        old_stress = stress
    monotone = None
    if nonmetric:
        if it == 1:
            monotone = (delta[mask], delta[mask] * scale)
        else:
            monotone = (iso.X_thresholds_, iso.y_thresholds_ * scale)
    return X, stress, it, monotone


def _normalise_stress(stress, X, n_threads):
    sum_sq = np.sum(pairwise_distances(X, n_jobs=n_threads) ** 2) / 2
    return float(np.sqrt(stress / sum_sq)) if sum_sq > 0 else 0.0


class MDS(TransformerMixin, BaseEstimator):
    """Multidimensional scaling: points whose distances match given dissimilarities.

    Three variants of Definition 2.33, chosen by ``metric``:

    * ``"classical"`` (Torgerson–Gower scaling): double-centre the squared
      dissimilarities, ``B = -1/2 J D^2 J``, and embed with the top eigenvectors scaled by
      the square roots of their eigenvalues. Exact for Euclidean distances, one
      eigendecomposition, no iterations.
    * ``"metric"``: minimise the raw stress ``sum_{i<j} (||x_i - x_j|| - d_ij)^2`` by
      SMACOF stress majorisation (repeated Guttman transforms; the stress never
      increases).
    * ``"nonmetric"``: Kruskal's non-metric MDS — only the order of the dissimilarities
      matters. Each SMACOF step first replaces the dissimilarities by *disparities*, the
      isotonic regression of the current distances on the dissimilarities (rescaled so
      that their squares sum to the number of pairs). Zero dissimilarities are treated as
      missing, as in scikit-learn.

    Unlike scikit-learn's ``MDS``, this one also places **new points** with
    :meth:`transform` (classical: Gower's out-of-sample formula; SMACOF variants: each new
    point is moved by single-point Guttman updates against the fixed embedding, starting
    at the training point it is least dissimilar to). A point at dissimilarity 0 from a
    training point — in particular a training point itself — is placed exactly where
    ``fit`` put that point.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the embedding.
    metric : {"classical", "metric", "nonmetric"} or bool, default="metric"
        The variant (see above). ``True``/``False`` are accepted for scikit-learn's old
        boolean ``metric`` and mean ``"metric"``/``"nonmetric"``.
    n_init : int, default=1
        Number of SMACOF runs from random starts when ``init="random"``; the run with the
        lowest stress is kept. Ignored by ``"classical"`` and with ``init="classical"``.
    init : {"classical", "random"} or ndarray of shape (n_samples, n_components), \
            default="classical"
        Starting configuration of SMACOF: the classical-scaling solution (deterministic;
        scikit-learn's ``"classical_mds"``, also accepted), uniform random points, or an
        array.
    max_iter : int, default=300
        Maximum number of SMACOF iterations per run.
    eps : float, default=1e-6
        Stop when the decrease of the stress, relative to the sum of squared embedding
        distances, falls below ``eps`` (scikit-learn's criterion).
    n_jobs : int, default=None
        Threads for the distance computations and processes for the ``n_init`` runs
        (``None``: all cores for distances, one process).
    random_state : int, RandomState instance or None, default=None
        Seeds the random starts. Results do not depend on ``n_jobs``.
    dissimilarity : {"euclidean", "precomputed"}, default="euclidean"
        ``"euclidean"``: dissimilarities are Euclidean distances between the rows of X
        (:func:`skml.metrics.pairwise_distances`). ``"precomputed"``: X is the symmetric
        ``(n_samples, n_samples)`` dissimilarity matrix, and :meth:`transform` takes the
        ``(n_new, n_samples)`` dissimilarities of new points to the training points.
    normalized_stress : bool or "auto", default="auto"
        Report Kruskal's Stress-1, ``sqrt(stress / sum_{i<j} ||x_i - x_j||^2)``, instead
        of the raw stress. ``"auto"``: normalised for ``"nonmetric"`` only.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The embedded training points.
    stress_ : float
        Final stress of the embedding (raw or normalised, see ``normalized_stress``);
        for ``"classical"`` the stress of the classical solution against the
        dissimilarities.
    n_iter_ : int
        SMACOF iterations of the kept run (0 for ``"classical"``).
    dissimilarity_matrix_ : ndarray of shape (n_samples, n_samples)
        The dissimilarities that were fitted.
    eigenvalues_ : ndarray of shape (n_components,)
        Top eigenvalues of ``-1/2 J D^2 J`` (classical scaling, also computed for the
        ``"classical"`` start of SMACOF). Negative values mean the dissimilarities are
        not Euclidean; such axes are set to 0.
    n_features_in_ : int
        Columns of X seen in ``fit``.

    See Also
    --------
    Isomap : classical scaling of geodesic distances along a neighbourhood graph.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.manifold import MDS
    >>> from skml.metrics import pairwise_distances
    >>> X = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    >>> mds = MDS(metric="classical", dissimilarity="precomputed")
    >>> Y = mds.fit_transform(pairwise_distances(X))
    >>> np.allclose(pairwise_distances(Y), pairwise_distances(X))
    True
    """

    def __init__(self, n_components=2, *, metric="metric", n_init=1, init="classical",
                 max_iter=300, eps=1e-6, n_jobs=None, random_state=None,
                 dissimilarity="euclidean", normalized_stress="auto"):
        self.n_components = n_components
        self.metric = metric
        self.n_init = n_init
        self.init = init
        self.max_iter = max_iter
        self.eps = eps
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.dissimilarity = dissimilarity
        self.normalized_stress = normalized_stress

    # ----------------------------------------------------------------------------------
    def _variant(self):
        metric = self.metric
        if isinstance(metric, (bool, np.bool_)):
            return _METRIC_ALIASES[bool(metric)]
        check_param(metric, "metric", types=(str, bool),
                    options=("classical", "metric", "nonmetric"))
        return metric

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None)],
        "metric": [StrOptions({"classical", "metric", "nonmetric"}), "boolean"],
        "n_init": [Interval(numbers.Integral, 1, None)],
        "init": [StrOptions({"classical", "classical_mds", "random"}), "array-like"],
        "max_iter": [Interval(numbers.Integral, 1, None)],
        "eps": [Interval(numbers.Real, 0, None)],
        "n_jobs": ["n_jobs"],
        "random_state": ["random_state"],
        "dissimilarity": [StrOptions({"euclidean", "precomputed"})],
        "normalized_stress": [StrOptions({"auto"}), "boolean"],
    }

    def _check_params(self):
        check_params(self)

    def _dissimilarities(self, X, *, reset):
        precomputed = self.dissimilarity == "precomputed"
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32],
                          ensure_min_samples=2 if reset else 1)
        if precomputed:
            if reset:
                if X.shape[0] != X.shape[1]:
                    raise ValueError(
                        "With dissimilarity='precomputed', X must be a square "
                        f"(n_samples, n_samples) matrix, got shape {X.shape}.")
                if not np.allclose(X, X.T):
                    raise ValueError("The precomputed dissimilarity matrix must be "
                                     "symmetric.")
            if np.any(X < 0):
                raise ValueError("Dissimilarities must be non-negative.")
            if reset:
                self._shift = None
                self._exponent = power_of_two_exponent(np.max(X, initial=0.0))
            return X, np.ldexp(np.asarray(X, dtype=np.float64), -self._exponent)
        # Dissimilarities (and the embedding) scale with the data: work on data centred
        # and divided by a power of two (exact), so that the squares of classical
        # scaling and of the stress neither overflow (|x| ~ 1e160) nor underflow.
        if reset:
            Xn, self._shift, self._exponent = rescale(X, centre=True, dtype=np.float64)
            Y = None
        else:
            Xn = np.ldexp(X.astype(np.float64) - self._shift, -self._exponent)
            Y = self._fit_X
        return Xn, pairwise_distances(Xn, Y, n_jobs=self.n_jobs)

    def fit(self, X, y=None):
        """Compute the embedding of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_samples)
            Data, or dissimilarities with ``dissimilarity="precomputed"``.
        y : Ignored

        Returns
        -------
        self : MDS
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Compute the embedding of X and return it (``embedding_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_samples)
            Data, or dissimilarities with ``dissimilarity="precomputed"``.
        y : Ignored

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components)
        """
        self._check_params()
        variant = self._variant()
        X, delta = self._dissimilarities(X, reset=True)
        n = delta.shape[0]
        k = self.n_components
        if k > n:
            raise ValueError(f"n_components={k} must be at most n_samples={n}.")
        if hasattr(self.init, "__array__"):
            init = np.asarray(self.init, dtype=np.float64)
            if init.shape != (n, k):
                raise ValueError(f"init must have shape {(n, k)}, got {init.shape}.")
            init = np.ldexp(init, -self._exponent)  # in the units of the fit
        else:
            init = self.init
        # Classical scaling: the answer for "classical", the default start otherwise.
        emb, evals, evecs, row_means, grand_mean = _classical_scaling(delta**2, k)
        self._gower = (evals, evecs, row_means, grand_mean)
        n_threads = self.n_jobs
        if variant == "classical":
            X_emb = emb
            raw = float(np.sum((pairwise_distances(X_emb, n_jobs=n_threads) - delta) ** 2) / 2)
            n_iter, monotone = 0, None
        else:
            nonmetric = variant == "nonmetric"
            common = dict(nonmetric=nonmetric, n_components=k, max_iter=self.max_iter,
                          eps=self.eps, n_threads=n_threads)
            if isinstance(init, str) and init == "random":
                rng = check_random_state(self.random_state)
                seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_init)
                runs = Parallel(n_jobs=1 if self.n_jobs is None else self.n_jobs)(
                    delayed(_smacof_single)(delta, init=None, random_state=seed, **common)
                    for seed in seeds
                )
            else:
                start = emb if isinstance(init, str) else init
                runs = [_smacof_single(delta, init=start, random_state=None, **common)]
            best = int(np.argmin([r[1] for r in runs]))
            X_emb, raw, n_iter, monotone = runs[best]
        normalise = (variant == "nonmetric" if self.normalized_stress == "auto"
                     else bool(self.normalized_stress))
        e = self._exponent
        with np.errstate(over="ignore"):  # beyond float range: inf, as the true value
            self.stress_ = (_normalise_stress(raw, X_emb, n_threads) if normalise
                            else float(np.ldexp(raw, 2 * e)))
            self.embedding_ = np.ldexp(X_emb, e)
            self.dissimilarity_matrix_ = np.ldexp(delta, e)
            self.eigenvalues_ = np.ldexp(evals, 2 * e)
        self._embedding = X_emb
        self._delta = delta
        self.n_iter_ = int(n_iter)
        self._variant_ = variant
        self._monotone = monotone
        if self.dissimilarity != "precomputed":
            self._fit_X = X  # centred and rescaled
        return self.embedding_

    def transform(self, X):
        """Place new points in the fitted embedding.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features) or (n_new, n_samples)
            New data, or (``dissimilarity="precomputed"``) their dissimilarities to the
            training points.

        Returns
        -------
        X_new : ndarray of shape (n_new, n_components)
        """
        check_is_fitted(self)
        _, delta = self._dissimilarities(X, reset=False)
        with np.errstate(over="ignore"):
            return np.ldexp(self._place(delta), self._exponent)

    def _place(self, delta):
        """New points from their dissimilarities, in the units of the fit."""
        if self._variant_ == "classical":
            return _gower_project(delta**2, *self._gower)
        if self._monotone is not None:  # non-metric: dissimilarities -> disparities
            xs, ys = self._monotone
            disp = np.interp(delta, xs, ys) if len(xs) else np.zeros_like(delta)
            disp[delta == 0] = 0.0
        else:
            disp = delta
        return _place_new_points(disp, self._embedding, delta, float(self._delta.max()),
                                 self.max_iter, self.n_jobs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.dissimilarity == "precomputed"
        return tags


def _place_new_points(disp, emb, delta, train_scale, max_iter, n_jobs, tol=1e-10):
    """Single-point SMACOF: move each new point by Guttman updates against the fixed
    embedding ``emb`` until its own step is below ``tol`` (relative to the embedding's
    scale), starting at its least dissimilar training point. A point at dissimilarity 0
    (to rounding) from a training point stays on it. Rows are independent, so the result
    of a row does not depend on the batch."""
    m = emb.shape[0]
    nearest = np.argmin(delta, axis=1)
    Y = emb[nearest].copy()
    emb_mean = emb.mean(axis=0)
    scale = max(float(np.abs(emb).max()), np.finfo(float).tiny)
    # "zero" up to the rounding of GEMM-based distances (a few sqrt(eps) of the
    # training dissimilarities' scale; fixed by the fit, so batches do not matter)
    zero = 1e-6 * train_scale
    active = np.flatnonzero(delta[np.arange(delta.shape[0]), nearest] > zero)
    for _ in range(max_iter):
        if active.size == 0:
            break
        Ya = Y[active]
        D = pairwise_distances(Ya, emb, n_jobs=n_jobs)
        ratio = _guttman_ratio(disp[active], D)
        Y_new = emb_mean + (ratio.sum(axis=1)[:, None] * Ya - ratio @ emb) / m
        step = np.abs(Y_new - Ya).max(axis=1)
        Y[active] = Y_new
        active = active[step > tol * scale]
    return Y
