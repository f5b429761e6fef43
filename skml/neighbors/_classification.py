"""k-nearest-neighbours classification."""
import warnings

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets

from skml.neighbors._base import (
    KNeighborsMixin,
    WEIGHTS_CONSTRAINT,
    _get_weights,
    _NeighborsBase,
)

__all__ = ["KNeighborsClassifier"]


def _targets_2d(y):
    """(y as 2-D, whether the output is 2-D): a column vector is one output, raveled with
    a DataConversionWarning as scikit-learn does."""
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning, stacklevel=3,
        )
        y = y.ravel()
    outputs_2d = y.ndim == 2
    return (y if outputs_2d else y.reshape(-1, 1)), outputs_2d


def _plain(label):
    """A label as a plain Python value, for error messages ('a', not np.str_('a'))."""
    return label.item() if isinstance(label, np.generic) else label


class KNeighborsClassifier(KNeighborsMixin, ClassifierMixin, _NeighborsBase):
    """Classifier voting among the k nearest training points (the notes' Definition 3.5).

    A query's class is the one with the most votes among its ``n_neighbors`` nearest
    training points, each vote weighted by ``weights``. Neighbours are found by brute
    force (:func:`skml.metrics.kneighbors_brute`: blocked distances with a top-k heap)
    or with a KD-tree (:class:`KDTree`), built once in ``fit`` and queried in parallel.
    Equal distances are broken by the smaller training index and equal votes by the
    smaller class (the first of ``classes_``), so results are deterministic.

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours that vote; at most the number of training samples.
    weights : {"uniform", "distance"}, callable or None, default="uniform"
        "uniform": every neighbour counts once. "distance": a neighbour counts
        ``1 / distance`` (a query lying on training points is decided by those points
        alone). A callable takes the distance array of shape (n_queries, n_neighbors)
        and returns weights of the same shape.
    algorithm : {"auto", "brute", "kd_tree"}, default="auto"
        "auto" uses the KD-tree when the metric allows one (not cosine), the data have
        at most 15 features and ``n_neighbors < n_samples / 2``, and brute force
        otherwise.
    leaf_size : int, default=30
        Leaf size of the KD-tree (rows per leaf between ``leaf_size`` and twice that).
        It changes speed, never the result.
    p : float, default=2
        Order of the Minkowski metric (``>= 1``): 1 is manhattan, 2 euclidean.
    metric : str, default="minkowski"
        "minkowski", "euclidean", "manhattan", "chebyshev", "cosine" (brute force only),
        "sqeuclidean" or an alias ("l2", "l1", "cityblock"); see
        :func:`skml.metrics.pairwise_distances`.
    metric_params : dict, default=None
        Only ``{"p": value}`` is understood (it overrides ``p``).
    n_jobs : int, default=None
        OpenMP threads for the search (``None``: all cores, ``-1``: all CPUs). Results do
        not depend on it.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of such arrays
        Class labels (one array per output for multi-output ``y``).
    effective_metric_ : str
        The metric used ("minkowski" with p = 1, 2 or inf becomes "manhattan",
        "euclidean" or "chebyshev").
    effective_metric_params_ : dict
        ``{"p": p}`` for a general Minkowski metric, empty otherwise.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen in ``fit``, when ``X`` had string column names.
    n_samples_fit_ : int
        Number of training samples.
    outputs_2d_ : bool
        Whether ``y`` had several outputs.

    See Also
    --------
    KNeighborsRegressor, NearestNeighbors, KDTree

    Notes
    -----
    Training data are stored in float64 (float32 input is converted, as the distances
    are then computed without the cancellation of float32 arithmetic). Sparse input is
    not supported. ``fit`` refuses a target with a single class (a multi-output target
    may have constant columns) and ``n_neighbors`` larger than the training set.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skml.neighbors import KNeighborsClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = KNeighborsClassifier(n_neighbors=3).fit(X, y)
    >>> clf.predict(X[[0, 60, 120]])
    array([0, 1, 2])
    >>> clf.predict_proba(X[[70]])
    array([[0.        , 0.33333333, 0.66666667]])
    """

    _parameter_constraints = {"weights": WEIGHTS_CONSTRAINT}

    def __init__(self, n_neighbors=5, *, weights="uniform", algorithm="auto", leaf_size=30,
                 p=2, metric="minkowski", metric_params=None, n_jobs=None):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.metric = metric
        self.metric_params = metric_params
        self.n_jobs = n_jobs

    def fit(self, X, y):
        """Store the training set (and build the KD-tree when it is used).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (numbers or strings), at least two classes.

        Returns
        -------
        self : KNeighborsClassifier
        """
        X, y = self._fit(X, y, multi_output=True)
        check_classification_targets(y)
        y2, self.outputs_2d_ = _targets_2d(y)
        codes = np.empty(y2.shape, dtype=np.intp)
        classes = []
        for j in range(y2.shape[1]):
            cls, codes[:, j] = np.unique(y2[:, j], return_inverse=True)
            classes.append(cls)
        if not self.outputs_2d_ and len(classes[0]) < 2:
            raise ValueError(
                f"KNeighborsClassifier needs samples of at least 2 classes, but y "
                f"contains only one class: {_plain(classes[0][0])!r}."
            )
        self.classes_ = classes if self.outputs_2d_ else classes[0]
        self._y = codes if self.outputs_2d_ else codes[:, 0]
        self._check_n_neighbors_fit()
        return self

    def _votes(self, X):
        """Weighted class votes: one (n_queries, n_classes) array per output."""
        if self.weights is None or self.weights == "uniform":
            ind = self.kneighbors(X, return_distance=False)
            w = None
        else:
            dist, ind = self.kneighbors(X)
            w = _get_weights(dist, self.weights).ravel()
        n_q = ind.shape[0]
        y = self._y.reshape(self._y.shape[0], -1)
        classes = self.classes_ if self.outputs_2d_ else [self.classes_]
        votes = []
        for j, cls in enumerate(classes):
            n_c = len(cls)
            flat = (y[ind, j] + n_c * np.arange(n_q)[:, None]).ravel()
            counts = np.bincount(flat, weights=w, minlength=n_q * n_c)
            votes.append(counts.reshape(n_q, n_c).astype(np.float64, copy=False))
        return votes

    def predict(self, X):
        """The class with the most (weighted) votes among each query's neighbours.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)

        Returns
        -------
        y : ndarray of shape (n_queries,) or (n_queries, n_outputs)
        """
        votes = self._votes(X)
        classes = self.classes_ if self.outputs_2d_ else [self.classes_]
        pred = [cls[np.argmax(v, axis=1)] for cls, v in zip(classes, votes)]
        return np.stack(pred, axis=1) if self.outputs_2d_ else pred[0]

    def predict_proba(self, X):
        """Fraction of the (weighted) votes each class gets.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)

        Returns
        -------
        proba : ndarray of shape (n_queries, n_classes), or a list of those (one per
            output) for multi-output ``y``
            Columns in the order of ``classes_``.

        Raises
        ------
        ValueError
            If a callable ``weights`` gives some query all-zero (or non-finite) weights:
            its class probabilities are undefined.
        """
        out = []
        for v in self._votes(X):
            out.append(v / v.sum(axis=1, keepdims=True))
        return out if self.outputs_2d_ else out[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        return tags
