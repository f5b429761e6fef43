"""Large-margin nearest neighbours: learning a Mahalanobis metric for kNN (Remark 2.24)."""
import numbers
import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.decomposition._scaling import rescale
from skml.manifold._progress import Progress
from skml.manifold._neighbours import check_neighbour_graph
from skml.metrics import kneighbors_brute
from skml.utils import Interval, StrOptions, check_param, check_params, chunk_rows
from skml.utils import store_init_params

__all__ = ["LMNN"]


def _target_neighbours(X, y_idx, k, n_jobs):
    """``(rows, cols)``: each point and its ``k`` nearest same-class points in the input
    space (fewer in a class with at most ``k`` members)."""
    rows, cols = [], []
    for c in np.unique(y_idx):
        members = np.flatnonzero(y_idx == c)
        k_c = min(k, members.size - 1)
        if k_c < 1:
            continue
        dist, ind = kneighbors_brute(X[members], None, k_c + 1, n_jobs=n_jobs)
        check_neighbour_graph(dist, ind, members.size, "LMNN")
        own = ind == np.arange(members.size)[:, None]
        own[~own.any(axis=1), -1] = True  # duplicates: drop the farthest instead
        ind = ind[~own].reshape(members.size, k_c)
        rows.append(np.repeat(members, k_c))
        cols.append(members[ind.ravel()])
    if not rows:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    return np.concatenate(rows), np.concatenate(cols)


class _Objective:
    """The LMNN loss and its gradient with respect to the linear map L.

    ``loss(L) = (1 - mu) sum_{i, j in N(i)} d_L(i, j)
    + mu sum_{i, j in N(i), l: y_l != y_i} [1 + d_L(i, j) - d_L(i, l)]_+``
    with ``d_L(a, b) = ||L (x_a - x_b)||^2``. Every term is a weighted squared distance,
    so the gradient is ``2 L C`` with ``C = sum_{a, b} w_ab (x_a - x_b)(x_a - x_b)^T`` =
    ``X^T (diag(W 1 + W^T 1) - W - W^T) X``; W (pull weights ``+``, active impostor
    weights ``-``) is accumulated block by block of rows, so memory stays
    O(block x n_samples).
    """

    def __init__(self, X, y_idx, rows, cols, push_weight, n_components):
        self.X = X
        self.y = y_idx
        self.rows, self.cols = rows, cols
        self.mu = push_weight
        self.shape = (n_components, X.shape[1])
        n = X.shape[0]
        # group target pairs by their first point, in blocks of rows
        order = np.argsort(rows, kind="stable")
        self.rows, self.cols = rows[order], cols[order]
        self.starts = np.searchsorted(self.rows, np.arange(n + 1))
        per_row = max(1, rows.size // max(n, 1))
        self.block = chunk_rows(n * 8 * (per_row + 2), preferred=512)

    def __call__(self, flat_L):
        X, y, mu = self.X, self.y, self.mu
        n = X.shape[0]
        L = flat_L.reshape(self.shape)
        Z = X @ L.T
        sq_norms = np.einsum("ij,ij->i", Z, Z)
        pull = 0.0
        push = 0.0
        col_weight = np.zeros(n)
        C = np.zeros((X.shape[1], X.shape[1]))
        for start in range(0, n, self.block):
            stop = min(n, start + self.block)
            a, b = self.starts[start], self.starts[stop]
            if a == b:
                continue
            # squared distances of the block to all points: one GEMM (plain BLAS here;
            # the blocks are small and many, so the OpenMP kernel's start-up would cost
            # more than it saves)
            D = sq_norms[start:stop, None] + sq_norms[None, :] - 2.0 * (Z[start:stop] @ Z.T)
            np.maximum(D, 0.0, out=D)
            r_loc = self.rows[a:b] - start
            c = self.cols[a:b]
            d_target = D[r_loc, c]
            # margins of all candidate impostors l for every target pair (i, j)
            margin = (d_target + 1.0)[:, None] - D[r_loc]
            active = (margin > 0) & (y[None, :] != y[self.rows[a:b]][:, None])
            pull += d_target.sum()
            push += margin[active].sum()
            # W restricted to these rows: targets + (1-mu) + mu * #active, impostors - mu
            W = np.zeros((stop - start, n))
            np.add.at(W, (r_loc, c), (1.0 - mu) + mu * active.sum(axis=1))
            np.add.at(W, r_loc, -mu * active)
            Xb = X[start:stop]
            WX = W @ X
            C += (Xb.T * W.sum(axis=1)) @ Xb - Xb.T @ WX - WX.T @ Xb
            col_weight += W.sum(axis=0)
        C += (X.T * col_weight) @ X
        loss = (1.0 - mu) * pull + mu * push
        grad = 2.0 * L @ C
        return loss, grad.ravel()


class LMNN(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Large-margin nearest neighbours (Weinberger & Saul): a Mahalanobis metric for kNN.

    Learns the linear map ``L`` of Remark 2.24, so that the learned distance is
    ``d_M(x, y) = ||L (x - y)||`` with ``M = L^T L``. Each point's *target neighbours* are
    its ``n_neighbors`` nearest same-class points in the input space; the loss pulls them
    in and pushes *impostors* (points of another class) out of a unit margin around
    them — a triplet hinge objective:

    ``(1 - mu) sum_{i, j} ||L(x_i - x_j)||^2 + mu sum_{i, j, l: y_l != y_i}
    [1 + ||L(x_i - x_j)||^2 - ||L(x_i - x_l)||^2]_+``

    minimised over ``L`` with L-BFGS (``scipy.optimize.minimize``; the hinge makes the
    loss piecewise quadratic). The optimiser works on ``A = L diag(s)`` with ``s`` the
    features' standard deviations — the same loss, reparametrised — so features on very
    different scales (say, wine's proline against its hues) do not stall it. Each
    evaluation costs O(n_samples^2 * n_neighbors) in blocks of rows. ``transform``
    applies ``L``, so the Euclidean kNN classifier after it in a
    :class:`~sklearn.pipeline.Pipeline` uses the learned metric.

    Parameters
    ----------
    n_neighbors : int, default=3
        Target neighbours per point.
    n_components : int, default=None
        Rows of ``L`` (dimension of the transformed space); ``None``: ``n_features``.
    init : {"pca", "identity", "random"} or ndarray of shape (n_components, \
            n_features), default="pca"
        Starting map: the principal axes of X with each feature scaled to unit variance
        (``L0 = V^T diag(1/s)``), the identity (first ``n_components`` rows), a random
        Gaussian matrix, or an array.
    push_weight : float in [0, 1], default=0.5
        ``mu``, the weight of the impostor (push) term against the pull term.
    max_iter : int, default=100
        Maximum L-BFGS iterations.
    tol : float, default=1e-5
        L-BFGS stops when an iteration lowers the loss by less than ``tol`` relative to
        its value (scale-free, unlike a gradient threshold).
    random_state : int, RandomState instance or None, default=None
        Seeds ``init="random"``.
    n_jobs : int, default=None
        OpenMP threads of the target-neighbour search (``None``: all cores, as
        scikit-learn's OpenMP estimators); the loss itself runs on BLAS.
    verbose : int, default=0
        ``>= 1``: a line per stage (target neighbours, the result) and a progress bar
        over the L-BFGS iterations showing the loss.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The learned map ``L``.
    n_iter_ : int
        L-BFGS iterations run.
    loss_ : float
        Final value of the loss.
    n_features_in_ : int
        Columns seen in ``fit``.

    Raises
    ------
    ValueError
        If y has a single class, ``n_components > n_features``, an ``init`` array has
        the wrong shape, or X has NaN / infinite values.

    Notes
    -----
    The loss depends only on differences of points: it is computed on X centred and
    divided by a power of two (exactly), and ``components_`` scaled back, so data of any
    magnitude (1e-300 to 1e300) or far from the origin learns the metric of the plain
    data.

    References
    ----------
    K. Q. Weinberger and L. K. Saul, Distance metric learning for large margin nearest
    neighbor classification, JMLR 10 (2009). H. Dai, "Note on Machine Learning"
    (preprint), Remark 2.24.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from skml.metric_learning import LMNN
    >>> X, y = load_wine(return_X_y=True)
    >>> model = make_pipeline(LMNN(random_state=0), KNeighborsClassifier(3)).fit(X, y)
    >>> model.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        "n_neighbors": [Interval(numbers.Integral, 1, None)],
        "n_components": [Interval(numbers.Integral, 1, None), None],
        "init": [StrOptions({"pca", "identity", "random"}), "array-like"],
        "push_weight": [Interval(numbers.Real, 0, 1)],
        "max_iter": [Interval(numbers.Integral, 1, None)],
        "tol": [Interval(numbers.Real, 0, None)],
        "random_state": ["random_state"],
        "n_jobs": ["n_jobs"],
        "verbose": ["verbose"],
    }

    def __init__(self, n_neighbors=3, *, n_components=None, init="pca", push_weight=0.5,
                 max_iter=100, tol=1e-5, random_state=None, n_jobs=None, verbose=0):
        store_init_params(self, locals())

    def _initial_map(self, X, scale, k, exponent):
        """The starting L for data X in fit's frame (``X_original = shift + X *
        2**exponent``): maps given in the original units are multiplied by
        ``2**exponent``, so that the distances they define are the same."""
        p = X.shape[1]
        if hasattr(self.init, "__array__"):
            L = np.array(self.init, dtype=np.float64)
            if L.shape != (k, p):
                raise ValueError(f"init must have shape {(k, p)}, got {L.shape}.")
            return np.ldexp(L, exponent)
        if self.init == "identity":
            return np.ldexp(np.eye(k, p), exponent)
        if self.init == "random":
            L = check_random_state(self.random_state).standard_normal((k, p))
            return np.ldexp(L, exponent)
        Xs = X / scale
        _, _, Vt = np.linalg.svd(Xs - Xs.mean(axis=0), full_matrices=False)
        L = np.zeros((k, p))
        m = min(k, Vt.shape[0])
        L[:m] = Vt[:m]
        return L / scale

    def fit(self, X, y):
        """Learn the map L.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : LMNN
        """
        check_params(self)
        X, y = validate_data(self, X, y, ensure_min_samples=2, dtype=np.float64)
        check_classification_targets(y)
        classes, y_idx = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError("LMNN needs samples of at least 2 classes (with one class "
                             "the pull term alone shrinks L to 0); got 1 class.")
        p = X.shape[1]
        k = p if self.n_components is None else self.n_components
        check_param(k, "n_components", types=(numbers.Integral,), min_val=1, max_val=p)
        # The loss depends on differences only: work on X centred and divided by a power
        # of two (exact), so that neither |x| ~ 1e160 (squares overflow) nor a far
        # offset (cancellation in |a|^2 + |b|^2 - 2ab) harms the neighbour search or the
        # loss; L in those units is L * 2**e, undone at the end.
        X, _, e = rescale(X, centre=True)
        # Optimise over A = L diag(scale) on features scaled to unit variance: the same
        # loss, far better conditioned when the features' scales differ by orders of
        # magnitude.
        scale = X.std(axis=0)
        scale[scale == 0] = 1.0
        L0 = self._initial_map(X, scale, int(k), e)
        progress = Progress("LMNN", self.verbose)
        rows, cols = _target_neighbours(X, y_idx, int(self.n_neighbors), self.n_jobs)
        progress.line(f"{rows.size} target pairs ({int(self.n_neighbors)} per point)")
        objective = _Objective(X / scale, y_idx, rows, cols, float(self.push_weight),
                               int(k))
        with progress.bar(int(self.max_iter), "L-BFGS") as bar:
            def step(intermediate_result):
                bar.update()
                bar.set_postfix_str(f"loss {intermediate_result.fun:.6g}")

            result = minimize(objective, (L0 * scale).ravel(), jac=True,
                              method="L-BFGS-B", callback=step if self.verbose else None,
                              options={"maxiter": self.max_iter, "ftol": self.tol,
                                       "gtol": 0.0})
        progress.line(f"{result.nit} iterations, loss {result.fun:.6g}")
        if not result.success and result.nit >= self.max_iter:
            warnings.warn(f"LMNN did not converge in max_iter={self.max_iter} iterations; "
                          "increase max_iter.", ConvergenceWarning, stacklevel=2)
        self.components_ = np.ldexp(result.x.reshape(objective.shape) / scale, -e)
        self.n_iter_ = max(int(result.nit), 1)
        self.loss_ = float(result.fun)
        return self

    def transform(self, X):
        """Map X through L: ``X @ components_.T``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.components_.T

    def get_mahalanobis_matrix(self):
        """The learned metric ``M = L^T L``: ``d(x, y)^2 = (x - y)^T M (x - y)``.

        Returns
        -------
        M : ndarray of shape (n_features, n_features)
        """
        check_is_fitted(self)
        return self.components_.T @ self.components_

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
