"""Multidimensional scaling (Definition 2.33 of H. Dai, "Note on Machine Learning"
(preprint)): classical scaling (:class:`ClassicalMDS`), metric SMACOF and Kruskal's
non-metric variant (:class:`MDS`), with scikit-learn 1.9's signatures.

The spectral helpers at the top (double centring and the top eigenpairs of a symmetric
matrix) are shared with :class:`skml.manifold.Isomap`, which is classical scaling of
geodesic distances.
"""
import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy import linalg
from scipy.sparse.linalg import eigsh
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import pairwise_distances as sk_pairwise_distances
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.decomposition._scaling import power_of_two_exponent, rescale
from skml.manifold._base import _EmbeddingBase
from skml.manifold._progress import Progress
from skml.metrics import PAIRWISE_METRICS, pairwise_distances
from skml.utils import Interval, StrOptions, check_params, store_init_params

__all__ = ["ClassicalMDS", "MDS"]

# Metrics of skml's kernel that are translation invariant and scale with the data
# (d(s x, s y) = s d(x, y)): dissimilarities are computed on data centred and divided by
# a power of two, then scaled back. Others are computed as given, then scaled.
_HOMOGENEOUS = {"euclidean", "l2", "manhattan", "l1", "cityblock", "minkowski",
                "chebyshev"}


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
# Dissimilarities
# --------------------------------------------------------------------------------------
class _Dissimilarities:
    """The dissimilarities of the training data (and of new points to it) divided by a
    power of two ``2**exponent`` that brings the largest into [0.5, 1), so that their
    squares in classical scaling and the stress neither overflow (|x| ~ 1e160) nor
    underflow; the embedding scales back by ``2**exponent``.

    ``metric``: ``"precomputed"`` (X is the dissimilarity matrix), a metric of
    :func:`skml.metrics.pairwise_distances` (skml's kernel; Euclidean-like metrics on
    data centred and rescaled first), or any other name or callable
    :func:`sklearn.metrics.pairwise_distances` accepts (scipy's metrics, with
    ``metric_params`` passed to it)."""

    def __init__(self, metric, metric_params, n_jobs):
        self.metric = metric
        self.params = dict(metric_params or {})
        self.n_jobs = n_jobs

    def _pairwise(self, X, Y):
        if isinstance(self.metric, str) and self.metric in PAIRWISE_METRICS and set(
                self.params) <= {"p"}:
            return pairwise_distances(X, Y, metric=self.metric, n_jobs=self.n_jobs,
                                      **self.params)
        return sk_pairwise_distances(X, Y, metric=self.metric, n_jobs=self.n_jobs,
                                     **self.params)

    def fit(self, X):
        self.shift = None
        if self.metric == "precomputed":
            if X.shape[0] != X.shape[1]:
                raise ValueError("With metric='precomputed', X must be a square "
                                 f"(n_samples, n_samples) matrix, got shape {X.shape}.")
            if not np.allclose(X, X.T):
                raise ValueError("The precomputed dissimilarity matrix must be "
                                 "symmetric.")
            if np.any(X < 0):
                raise ValueError("Dissimilarities must be non-negative.")
            delta = np.asarray(X, dtype=np.float64)
        elif isinstance(self.metric, str) and self.metric in _HOMOGENEOUS:
            Xn, self.shift, self.exponent = rescale(X, centre=True, dtype=np.float64)
            self.fit_X = Xn
            return self._pairwise(Xn, None)
        else:
            self.fit_X = X
            delta = self._pairwise(X, None)
        if not np.all(np.isfinite(delta)):
            raise ValueError("The dissimilarities must be finite.")
        self.exponent = power_of_two_exponent(np.max(delta, initial=0.0))
        return np.ldexp(delta, -self.exponent)

    def new(self, X):
        """Dissimilarities of new rows to the training rows, in the units of ``fit``."""
        if self.metric == "precomputed":
            if np.any(X < 0):
                raise ValueError("Dissimilarities must be non-negative.")
            return np.ldexp(np.asarray(X, dtype=np.float64), -self.exponent)
        if self.shift is not None:
            Xn = np.ldexp(X.astype(np.float64) - self.shift, -self.exponent)
            return self._pairwise(Xn, self.fit_X)
        return np.ldexp(self._pairwise(X, self.fit_X), -self.exponent)


def _validate(estimator, X, reset, metric):
    X = validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32],
                      ensure_min_samples=2 if reset else 1)
    if reset and metric != "precomputed" and X.shape[0] == X.shape[1]:
        warnings.warn(
            "The provided input is a square matrix. Note that ``fit`` constructs a "
            "dissimilarity matrix from data and will treat rows as samples and columns "
            "as features. To use a pre-computed dissimilarity matrix, set "
            "``metric='precomputed'``.", UserWarning, stacklevel=3)
    return X


def _metric_constraint():
    return [StrOptions({*PAIRWISE_METRICS, "precomputed"}), str, callable]


# --------------------------------------------------------------------------------------
# Classical scaling
# --------------------------------------------------------------------------------------
class ClassicalMDS(_EmbeddingBase):
    """Classical multidimensional scaling (Torgerson-Gower scaling, principal
    coordinates analysis).

    Double-centre the squared dissimilarities, ``B = -1/2 J D^2 J`` with ``J = I -
    11^T/n``, and embed with the top eigenvectors of B scaled by the square roots of their
    eigenvalues (Definition 2.33 of the notes). For Euclidean distances this is PCA of the
    data; it is exact, one eigendecomposition and no iterations. As
    ``sklearn.manifold.ClassicalMDS`` (same signature, attributes and signs: the
    largest-magnitude entry of each eigenvector is positive), plus :meth:`transform`
    for new points (Gower's formula) and ``set_output``.

    Parameters
    ----------
    n_components : int, default=2
        Number of embedding dimensions (at most ``n_samples``).
    metric : str or callable, default="euclidean"
        Dissimilarity between rows of X: a metric of :func:`skml.metrics.pairwise_distances`
        (skml's kernel), any other name or callable of
        :func:`sklearn.metrics.pairwise_distances`, or ``"precomputed"`` (X is then the
        symmetric ``(n_samples, n_samples)`` dissimilarity matrix, and :meth:`transform`
        takes the ``(n_new, n_samples)`` dissimilarities of new points to the training
        points).
    metric_params : dict, default=None
        Keyword arguments of the metric (e.g. ``{"p": 3}`` for ``"minkowski"``).

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        Coordinates of the training points.
    eigenvalues_ : ndarray of shape (n_components,)
        Top eigenvalues of ``B``, in decreasing order. Negative ones mean the
        dissimilarities are not Euclidean; their axes are set to 0 (scikit-learn gives
        NaN there).
    dissimilarity_matrix_ : ndarray of shape (n_samples, n_samples)
        The dissimilarities that were embedded.
    n_features_in_ : int
        Number of columns of X seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of X seen in ``fit``, when they are all strings.

    Raises
    ------
    ValueError
        If ``n_components > n_samples``, or with ``metric="precomputed"`` if X is not a
        square, symmetric, non-negative matrix.

    See Also
    --------
    MDS : metric and non-metric SMACOF.
    Isomap : classical scaling of geodesic distances.

    Notes
    -----
    The computation runs on the dissimilarities divided by a power of two that brings
    them into [0.5, 1) (exactly), so that data of any magnitude (1e-300 to 1e300) is
    embedded without overflow; ``eigenvalues_`` is then ``inf`` or 0 only where the true
    value lies outside the float range.

    References
    ----------
    W. S. Torgerson, Multidimensional scaling: I. Theory and method, Psychometrika 17
    (1952). J. C. Gower, Some distance properties of latent root and vector methods used
    in multivariate analysis, Biometrika 53 (1966). H. Dai, "Note on Machine Learning"
    (preprint), Definition 2.33.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.manifold import ClassicalMDS
    >>> from skml.metrics import pairwise_distances
    >>> X = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    >>> Y = ClassicalMDS(metric="precomputed").fit_transform(pairwise_distances(X))
    >>> np.allclose(pairwise_distances(Y), pairwise_distances(X))
    True
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None)],
        "metric": _metric_constraint(),
        "metric_params": [dict, None],
    }

    def __init__(self, n_components=2, *, metric="euclidean", metric_params=None):
        store_init_params(self, locals())

    def fit(self, X, y=None):
        """Compute the embedding of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_samples)
            Data, or dissimilarities with ``metric="precomputed"``.
        y : Ignored

        Returns
        -------
        self : ClassicalMDS
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Compute the embedding of X and return it (``embedding_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_samples)
            Data, or dissimilarities with ``metric="precomputed"``.
        y : Ignored

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        check_params(self)
        X = _validate(self, X, True, self.metric)
        self._dissim = _Dissimilarities(self.metric, self.metric_params, None)
        delta = self._dissim.fit(X)
        n, k = delta.shape[0], self.n_components
        if k > n:
            raise ValueError(f"n_components={k} must be at most n_samples={n}.")
        emb, evals, evecs, row_means, grand_mean = _classical_scaling(delta**2, k)
        self._gower = (evals, evecs, row_means, grand_mean)
        e = self._dissim.exponent
        with np.errstate(over="ignore", under="ignore"):
            self.embedding_ = np.ldexp(emb, e)
            self.eigenvalues_ = np.ldexp(evals, 2 * e)
            self.dissimilarity_matrix_ = np.ldexp(delta, e)
        return self.embedding_

    def transform(self, X):
        """Place new points by Gower's out-of-sample formula; a training point lands
        exactly on its row of ``embedding_``.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features) or (n_new, n_samples)
            New data, or (``metric="precomputed"``) their dissimilarities to the
            training points.

        Returns
        -------
        X_new : ndarray of shape (n_new, n_components)
        """
        check_is_fitted(self)
        X = _validate(self, X, False, self.metric)
        delta = self._dissim.new(X)
        with np.errstate(over="ignore"):
            return np.ldexp(_gower_project(delta**2, *self._gower), self._dissim.exponent)



# --------------------------------------------------------------------------------------
# SMACOF
# --------------------------------------------------------------------------------------
def _guttman_ratio(disparities, distances):
    """delta_ij / d_ij, and 0 where d_ij = 0 (the Guttman transform's b_ij; scikit-learn
    sets such d_ij to 1e-5 instead, which depends on the data's unit)."""
    ratio = np.zeros_like(distances)
    np.divide(disparities, distances, out=ratio, where=distances > 0)
    return ratio


def _smacof_single(delta, *, metric_mds, n_components, init, max_iter, eps,
                   random_state, n_threads, progress):
    """One SMACOF run, as scikit-learn's ``_smacof_single``. Returns ``X, stress,
    n_iter, monotone`` where ``monotone`` (non-metric only, else None) is the ``(x, y)``
    table of the final monotone map from dissimilarities to disparities."""
    n = delta.shape[0]
    if init is None:
        X = check_random_state(random_state).uniform(size=n * n_components)
        X = X.reshape(n, n_components)
    else:
        X = np.array(init, dtype=np.float64)
    nonmetric = not metric_mds
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
        progress.line(f"iteration {it}, stress {stress:.6g}", level=2)
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


class MDS(_EmbeddingBase):
    """Multidimensional scaling by SMACOF: points whose distances match given
    dissimilarities.

    Minimises the raw stress ``sum_{i<j} (||x_i - x_j|| - d_ij)^2`` by stress
    majorisation (repeated Guttman transforms, which never increase the stress;
    Definition 2.33 of the notes), with scikit-learn 1.9's signature and results:

    * ``metric_mds=True``: metric MDS, the disparities are the dissimilarities.
    * ``metric_mds=False``: Kruskal's non-metric MDS, only the order of the
      dissimilarities matters. Each step first replaces the dissimilarities by
      *disparities*, the isotonic regression of the current distances on the
      dissimilarities (rescaled so that their squares sum to the number of pairs). Zero
      dissimilarities are treated as missing.

    Classical scaling (one eigendecomposition, no iterations) is :class:`ClassicalMDS`,
    also the ``init="classical_mds"`` start here.

    Beyond scikit-learn: :meth:`transform` places **new points** (each moved by
    single-point Guttman updates against the fixed embedding, starting at the training
    point it is least dissimilar to; a point at dissimilarity 0 from a training point --
    a training point itself -- lands exactly where ``fit`` put that point), so ``MDS``
    works in a :class:`~sklearn.pipeline.Pipeline`, with ``set_output`` and
    ``get_feature_names_out``.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the embedding (overridden by the width of an ``init`` array).
    metric_mds : bool, default=True
        Metric (True) or non-metric (False) MDS.
    n_init : int, default=1
        SMACOF runs from random starts (``init="random"``); the run with the lowest
        stress is kept. Ignored with ``init="classical_mds"`` or an array.
    init : {"random", "classical_mds"} or ndarray of shape (n_samples, n_components), \
            default="warn"
        Starting configuration: uniform random points, the classical-scaling solution,
        or an array (also accepted by :meth:`fit`, as in scikit-learn). ``"warn"``
        (the default, as scikit-learn 1.9's) means ``"random"`` with a FutureWarning
        that scikit-learn 1.10 changes the default to ``"classical_mds"``.
    max_iter : int, default=300
        Maximum number of SMACOF iterations per run.
    verbose : int, default=0
        ``>= 1``: one line per run (its stress and iterations); ``>= 2``: one line per
        iteration too.
    eps : float, default=1e-6
        Stop when the decrease of the stress, relative to half the sum of squared
        embedding distances, falls below ``eps`` (scikit-learn's criterion).
    n_jobs : int, default=None
        Processes for the ``n_init`` runs, as in scikit-learn (``None``: one at a time,
        unless in a :func:`joblib.parallel_config` context; ``-1``: all cores). The
        distances inside each run use skml's OpenMP kernel on all cores (as
        scikit-learn's OpenMP estimators do). Results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the random starts (drawn as scikit-learn draws them, so a seed gives
        scikit-learn's starts).
    dissimilarity : {"euclidean", "precomputed"}, default="deprecated"
        Deprecated alias of ``metric`` (scikit-learn 1.8).
    metric : str or callable, default="euclidean"
        Dissimilarity between rows of X: a metric of :func:`skml.metrics.pairwise_distances`
        (skml's kernel), any other name or callable of
        :func:`sklearn.metrics.pairwise_distances`, or ``"precomputed"`` (X is the
        symmetric ``(n_samples, n_samples)`` dissimilarity matrix, and :meth:`transform`
        takes the ``(n_new, n_samples)`` dissimilarities of new points to the training
        points). ``True``/``False`` are scikit-learn's deprecated spelling of
        ``metric_mds``.
    metric_params : dict, default=None
        Keyword arguments of the metric.
    normalized_stress : bool or "auto", default="auto"
        Report Kruskal's Stress-1, ``sqrt(stress / sum_{i<j} ||x_i - x_j||^2)``, instead
        of the raw stress. ``"auto"``: normalised for non-metric MDS only.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The embedded training points.
    stress_ : float
        Final stress of the kept run (raw or normalised, see ``normalized_stress``).
    n_iter_ : int
        SMACOF iterations of the kept run.
    dissimilarity_matrix_ : ndarray of shape (n_samples, n_samples)
        The dissimilarities that were fitted.
    n_features_in_ : int
        Number of columns of X seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of X seen in ``fit``, when they are all strings.

    Raises
    ------
    ValueError
        If ``n_components > n_samples``, ``init`` has the wrong number of rows, both
        ``dissimilarity`` and a non-default ``metric`` are given, or with
        ``metric="precomputed"`` X is not a square, symmetric, non-negative matrix.

    See Also
    --------
    ClassicalMDS : classical scaling.
    Isomap : classical scaling of geodesic distances along a neighbourhood graph.

    Notes
    -----
    Sparse input is not accepted (as in scikit-learn): SMACOF needs every one of the
    n^2 dissimilarities.

    Differences from ``sklearn.manifold.MDS`` (results are otherwise equal for the same
    start): where two points of the configuration coincide, the Guttman transform uses
    ``b_ij = 0`` (its definition) where scikit-learn divides by a distance of 1e-5,
    which depends on the data's unit; runs compute on the dissimilarities divided by a
    power of two (exactly), so data of any magnitude (1e-300 to 1e300) works, the raw
    stress being ``inf`` or 0 only where the true value lies outside the float range.

    References
    ----------
    J. B. Kruskal, Nonmetric multidimensional scaling: a numerical method,
    Psychometrika 29 (1964). J. de Leeuw, Applications of convex analysis to
    multidimensional scaling (1977). I. Borg and P. Groenen, Modern Multidimensional
    Scaling (1997). H. Dai, "Note on Machine Learning" (preprint), Definition 2.33.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.manifold import MDS
    >>> X = np.random.RandomState(0).rand(30, 5)
    >>> mds = MDS(init="classical_mds").fit(X)
    >>> mds.embedding_.shape, mds.transform(X[:3]).shape
    ((30, 2), (3, 2))
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None)],
        "metric_mds": ["boolean"],
        "n_init": [Interval(numbers.Integral, 1, None)],
        "init": [StrOptions({"random", "classical_mds", "warn"}), "array-like"],
        "max_iter": [Interval(numbers.Integral, 1, None)],
        "verbose": ["verbose"],
        "eps": [Interval(numbers.Real, 0, None)],
        "n_jobs": ["n_jobs"],
        "random_state": ["random_state"],
        "dissimilarity": [StrOptions({"euclidean", "precomputed", "deprecated"})],
        "metric": [*_metric_constraint(), "boolean"],
        "metric_params": [dict, None],
        "normalized_stress": [StrOptions({"auto"}), "boolean"],
    }

    def __init__(self, n_components=2, *, metric_mds=True, n_init=1, init="warn",
                 max_iter=300, verbose=0, eps=1e-6, n_jobs=None, random_state=None,
                 dissimilarity="deprecated", metric="euclidean", metric_params=None,
                 normalized_stress="auto"):
        store_init_params(self, locals())

    # ----------------------------------------------------------------------------------
    def _resolve(self):
        """``(metric, metric_mds, init)`` after scikit-learn's deprecations."""
        metric, metric_mds = self.metric, self.metric_mds
        if self.dissimilarity != "deprecated":
            if not isinstance(metric, (bool, np.bool_)) and metric != "euclidean":
                raise ValueError("You provided both `dissimilarity` and `metric`. Please "
                                 "use only `metric`.")
            warnings.warn("The `dissimilarity` parameter is deprecated (as in "
                          "scikit-learn 1.8). Use `metric` instead.", FutureWarning)
        if isinstance(metric, (bool, np.bool_)):
            warnings.warn(f"Use metric_mds={metric} instead of metric={metric} (as in "
                          "scikit-learn 1.8).", FutureWarning)
            metric_mds, metric = bool(metric), "euclidean"
        if self.dissimilarity != "deprecated":
            metric = self.dissimilarity
        init = self.init
        if isinstance(init, str) and init == "warn":
            warnings.warn("The default value of `init` will change from 'random' to "
                          "'classical_mds' (as in scikit-learn 1.10). To suppress this "
                          "warning, provide some value of `init`.", FutureWarning)
            init = "random"
        return metric, bool(metric_mds), init

    def fit(self, X, y=None, init=None):
        """Compute the embedding of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_samples)
            Data, or dissimilarities with ``metric="precomputed"``.
        y : Ignored
        init : ndarray of shape (n_samples, n_components), default=None
            Starting configuration (overrides the ``init`` parameter).

        Returns
        -------
        self : MDS
        """
        self.fit_transform(X, init=init)
        return self

    def fit_transform(self, X, y=None, init=None):
        """Compute the embedding of X and return it (``embedding_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_samples)
            Data, or dissimilarities with ``metric="precomputed"``.
        y : Ignored
        init : ndarray of shape (n_samples, n_components), default=None
            Starting configuration (overrides the ``init`` parameter).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        check_params(self)
        metric, metric_mds, init_param = self._resolve()
        self._metric = metric
        progress = Progress("MDS", self.verbose)
        X = _validate(self, X, True, metric)
        self._dissim = _Dissimilarities(metric, self.metric_params, None)
        delta = self._dissim.fit(X)
        e = self._dissim.exponent
        n, k = delta.shape[0], self.n_components
        start = init if init is not None else (
            None if isinstance(init_param, str) else init_param)
        if start is not None:
            start = np.asarray(start, dtype=np.float64)
            if start.ndim != 2 or start.shape[0] != n:
                raise ValueError(f"init matrix should be of shape ({n}, {k}), got "
                                 f"{start.shape}.")
            k = start.shape[1]
            # The first Guttman transform does not depend on the start's scale (B(cX) cX
            # = B(X) X): bring it into [-1, 1] so its distances neither overflow nor
            # underflow, whatever its units.
            start = np.ldexp(start, -power_of_two_exponent(np.max(np.abs(start),
                                                                  initial=0.0)))
        if k > n:
            raise ValueError(f"n_components={k} must be at most n_samples={n}.")
        if start is None and init_param == "classical_mds":
            start = _classical_scaling(delta**2, k)[0]
            progress.line("classical scaling start")
        common = dict(metric_mds=metric_mds, n_components=k, max_iter=self.max_iter,
                      eps=self.eps, n_threads=None, progress=progress)
        n_init = 1 if start is not None else int(self.n_init)
        if start is not None and self.n_init != 1:
            warnings.warn("Explicit initial positions passed: performing only one init "
                          f"of the MDS instead of {self.n_init}.", UserWarning)
        rng = check_random_state(self.random_state)
        if start is not None or effective_n_jobs(self.n_jobs) == 1:
            # sequential runs draw their starts from one generator, as scikit-learn
            runs = [_smacof_single(delta, init=start, random_state=rng, **common)
                    for _ in range(n_init)]
        else:
            seeds = rng.randint(np.iinfo(np.int32).max, size=n_init)
            runs = Parallel(n_jobs=self.n_jobs)(
                delayed(_smacof_single)(delta, init=None, random_state=seed,
                                        **{**common, "progress": Progress("MDS", 0)})
                for seed in seeds)
        for r, (_, stress, n_iter, _) in enumerate(runs):
            progress.line(f"run {r + 1}/{n_init}: raw stress {stress:.6g} (units of the "
                          f"fit) after {n_iter} iterations")
        best = int(np.argmin([r[1] for r in runs]))
        X_emb, raw, n_iter, monotone = runs[best]
        normalise = (not metric_mds if isinstance(self.normalized_stress, str)
                     else bool(self.normalized_stress))
        # Metric MDS scales with the dissimilarities: back to their units (inf / 0 only
        # where the true value is not a float). Non-metric MDS normalises its
        # disparities (squares summing to the number of pairs): no units to restore.
        self._out_exponent = e if metric_mds else 0
        with np.errstate(over="ignore", under="ignore"):
            self.stress_ = (_normalise_stress(raw, X_emb, None) if normalise
                            else float(np.ldexp(raw, 2 * self._out_exponent)))
            self.embedding_ = np.ldexp(X_emb, self._out_exponent)
            self.dissimilarity_matrix_ = np.ldexp(delta, e)
        self.n_iter_ = int(n_iter)
        self._embedding = X_emb
        self._delta = delta
        self._metric_mds = metric_mds
        self._monotone = monotone
        return self.embedding_

    def transform(self, X):
        """Place new points in the fitted embedding, which stays fixed.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features) or (n_new, n_samples)
            New data, or (``metric="precomputed"``) their dissimilarities to the
            training points.

        Returns
        -------
        X_new : ndarray of shape (n_new, n_components)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        delta = self._dissim.new(X)
        if self._monotone is not None:  # non-metric: dissimilarities -> disparities
            xs, ys = self._monotone
            disp = np.interp(delta, xs, ys) if len(xs) else np.zeros_like(delta)
            disp[delta == 0] = 0.0
        else:
            disp = delta
        Y = _place_new_points(disp, self._embedding, delta, float(self._delta.max()),
                              self.max_iter, None)
        with np.errstate(over="ignore"):
            return np.ldexp(Y, self._out_exponent)

    def _precomputed(self):
        return "precomputed" in (self.metric, self.dissimilarity)


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
