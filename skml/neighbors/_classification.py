"""Nearest-neighbours classification: votes among the k nearest training points, or
among those within a radius."""
import numbers
import warnings

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets

from skml.neighbors._base import (
    FIT_X_DOC,
    PREDICT_DOC,
    SEARCH_ATTRS_DOC,
    SEARCH_PARAMS_DOC,
    SEARCH_RAISES_DOC,
    WEIGHTS_CONSTRAINT,
    KNeighborsMixin,
    RadiusNeighborsMixin,
    _get_radius_weights,
    _get_weights,
    _NeighborsBase,
)
from skml.utils import Interval, fill_doc, store_init_params

__all__ = ["KNeighborsClassifier", "RadiusNeighborsClassifier"]


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


class _ClassifierBase(ClassifierMixin, _NeighborsBase):
    """Targets -> classes_ and integer codes; weighted votes -> classes."""

    def _fit_classes(self, X, y):
        X, y = self._fit(X, y, multi_output=True)
        check_classification_targets(y)
        y2, self.outputs_2d_ = _targets_2d(np.asarray(y))
        codes = np.empty(y2.shape, dtype=np.intp)
        classes = []
        for j in range(y2.shape[1]):
            cls, codes[:, j] = np.unique(y2[:, j], return_inverse=True)
            classes.append(cls)
        # (a single class is allowed, as in scikit-learn: every prediction is that class)
        self.classes_ = classes if self.outputs_2d_ else classes[0]
        self._y = codes if self.outputs_2d_ else codes[:, 0]
        return self

    def _class_lists(self):
        return self.classes_ if self.outputs_2d_ else [self.classes_]

    @fill_doc(predict_doc=PREDICT_DOC)
    def predict(self, X):
        """The class with the most (weighted) votes among each query's neighbours.

        {predict_doc}
        """
        votes = self._votes(X)
        pred = [self._decide(cls, v, j) for j, (cls, v) in
                enumerate(zip(self._class_lists(), votes))]
        return np.stack(pred, axis=1) if self.outputs_2d_ else pred[0]

    def _decide(self, classes, votes, output):
        return classes[np.argmax(votes, axis=1)]

    def predict_proba(self, X):
        """Fraction of the (weighted) votes each class gets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), or
            (n_queries, n_samples_fit) for ``metric="precomputed"``, or None
            As in :meth:`predict`.

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
            total = v.sum(axis=1, keepdims=True)
            total[total == 0] = 1.0  # (radius outliers without a label in classes_)
            out.append(v / total)
        return out if self.outputs_2d_ else out[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        return tags


class KNeighborsClassifier(KNeighborsMixin, _ClassifierBase):
    __doc__ = f"""Classifier voting among the k nearest training points (the notes'
    Definition 3.5).

    A query's class is the one with the most votes among its ``n_neighbors`` nearest
    training points, each vote weighted by ``weights``. Neighbours are found by brute
    force (:func:`skml.metrics.kneighbors_brute`: BLAS preselection on centred rows,
    ranked by exact distances) or with a tree (:class:`KDTree`, :class:`BallTree`),
    built once in ``fit`` and queried in parallel. Equal distances are broken by the
    smaller training index and equal votes by the smaller class (the first of
    ``classes_``), so results are deterministic and the same for every algorithm.

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours that vote; at most the number of training samples.
    weights : {{"uniform", "distance"}}, callable or None, default="uniform"
        "uniform" (or None): every neighbour counts once. "distance": a neighbour counts
        ``1 / distance`` (a query lying on training points is decided by those points
        alone). A callable takes the distance array of shape (n_queries, n_neighbors)
        and returns weights of the same shape; a query whose weights are all zero is an
        error.
    {SEARCH_PARAMS_DOC}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of such arrays
        Class labels (one array per output for multi-output ``y``).
    {SEARCH_ATTRS_DOC}
    outputs_2d_ : bool
        Whether ``y`` had several outputs.

    {SEARCH_RAISES_DOC}

    See Also
    --------
    RadiusNeighborsClassifier, KNeighborsRegressor, NearestNeighbors, KDTree, BallTree

    Notes
    -----
    float32 training data stay float32 (queries are cast to the training dtype);
    distances are computed in double and returned as float64. ``n_neighbors`` larger
    than the training set is refused when searching, as in scikit-learn.

    References
    ----------
    T. Cover and P. Hart, "Nearest neighbor pattern classification", IEEE Transactions
    on Information Theory 13(1), 1967.
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.5 and Remark 3.9.

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

    _parameter_constraints = {
        "n_neighbors": [Interval(numbers.Integral, 1, None)],
        "weights": WEIGHTS_CONSTRAINT,
    }

    def __init__(self, n_neighbors=5, *, weights="uniform", algorithm="auto", leaf_size=30,
                 p=2, metric="minkowski", metric_params=None, n_jobs=None):
        store_init_params(self, locals())

    @fill_doc(fit_X=FIT_X_DOC)
    def fit(self, X, y):
        """Store the training set (and build the tree when one is used).

        Parameters
        ----------
        {fit_X}
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (numbers or strings).

        Returns
        -------
        self : KNeighborsClassifier

        Raises
        ------
        ValueError
            For invalid parameters, data or metric/algorithm combinations.
        """
        return self._fit_classes(X, y)

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
        votes = []
        for j, cls in enumerate(self._class_lists()):
            n_c = len(cls)
            flat = (y[ind, j] + n_c * np.arange(n_q)[:, None]).ravel()
            counts = np.bincount(flat, weights=w, minlength=n_q * n_c)
            votes.append(counts.reshape(n_q, n_c).astype(np.float64, copy=False))
        return votes


class RadiusNeighborsClassifier(RadiusNeighborsMixin, _ClassifierBase):
    __doc__ = f"""Classifier voting among the training points within a radius.

    As :class:`KNeighborsClassifier`, with the neighbours of a query being every
    training point within distance ``radius`` (inclusive; the boundary is decided by
    exact distances, the same for every algorithm). A query with no neighbour is an
    *outlier*: it gets ``outlier_label`` or, without one, an error.

    Parameters
    ----------
    radius : float, default=1.0
        Neighbourhood radius.
    weights : {{"uniform", "distance"}}, callable or None, default="uniform"
        As in :class:`KNeighborsClassifier`; the callable gets one query's array of
        distances at a time.
    {SEARCH_PARAMS_DOC}
    outlier_label : int, str, "most_frequent", array-like or None, default=None
        Label of the outliers: one label, one per output, or "most_frequent" (the most
        frequent class of each output). A label outside ``classes_`` gives the
        outliers all-zero probabilities (with a warning). None: an outlier is an error.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of such arrays
        Class labels (one array per output for multi-output ``y``).
    outlier_label_ : list or None
        The outlier label of each output.
    {SEARCH_ATTRS_DOC}
    outputs_2d_ : bool
        Whether ``y`` had several outputs.

    {SEARCH_RAISES_DOC}

    See Also
    --------
    KNeighborsClassifier, RadiusNeighborsRegressor, NearestNeighbors

    References
    ----------
    J. H. Friedman, J. L. Bentley and R. A. Finkel, "An algorithm for finding best
    matches in logarithmic expected time", ACM Transactions on Mathematical Software
    3(3), 1977 (fixed-radius and k-nearest search with trees).
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.5.

    Examples
    --------
    >>> from skml.neighbors import RadiusNeighborsClassifier
    >>> clf = RadiusNeighborsClassifier(radius=1.0).fit([[0], [1], [2], [3]], [0, 0, 1, 1])
    >>> clf.predict([[1.5]])
    array([0])
    >>> clf.predict_proba([[1.0]])
    array([[0.66666667, 0.33333333]])
    """

    _parameter_constraints = {
        "radius": [Interval(numbers.Real, 0, None)],
        "weights": WEIGHTS_CONSTRAINT,
        "outlier_label": [numbers.Integral, str, "array-like", None],
    }

    def __init__(self, radius=1.0, *, weights="uniform", algorithm="auto", leaf_size=30,
                 p=2, metric="minkowski", outlier_label=None, metric_params=None,
                 n_jobs=None):
        store_init_params(self, locals())

    def fit(self, X, y):
        """Store the training set (and build the tree when one is used) and resolve
        ``outlier_label``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or
            (n_samples, n_samples) for ``metric="precomputed"`` (sparse: a neighbours
            graph); or a fitted neighbours estimator or tree
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels.

        Returns
        -------
        self : RadiusNeighborsClassifier

        Raises
        ------
        ValueError
            As :class:`KNeighborsClassifier`, and an ``outlier_label`` list of the wrong
            length.
        TypeError
            An outlier label that is not a scalar, or of another type than the classes.
        """
        self._fit_classes(X, y)
        classes = self._class_lists()
        label = self.outlier_label
        if label is None:
            self.outlier_label_ = None
            return self
        if isinstance(label, str) and label == "most_frequent":
            y = self._y.reshape(self._y.shape[0], -1)
            self.outlier_label_ = [cls[np.bincount(y[:, j]).argmax()]
                                   for j, cls in enumerate(classes)]
            return self
        if isinstance(label, str) or np.ndim(label) == 0:
            labels = [label] * len(classes)
        else:
            labels = list(label)
            if len(labels) != len(classes):
                raise ValueError(f"The length of outlier_label: {label} is inconsistent "
                                 f"with the output length: {len(classes)}")
        for cls, lab in zip(classes, labels):
            if np.ndim(lab) != 0:
                raise TypeError(f"The outlier_label of classes {cls} is supposed to be a "
                                f"scalar, got {lab}.")
            if np.append(cls, lab).dtype != cls.dtype:
                raise TypeError(f"The dtype of outlier_label {lab} is inconsistent with "
                                f"classes {cls} in y.")
        self.outlier_label_ = labels
        return self

    def _votes(self, X):
        dist, ind = self.radius_neighbors(X)
        n_q = len(ind)
        outliers = np.flatnonzero([len(i) == 0 for i in ind])
        if outliers.size and self.outlier_label_ is None:
            raise ValueError(
                f"No neighbors found for test samples {outliers!r}, you can try using "
                "larger radius, giving a label for outliers, or considering removing "
                "them from your dataset.")
        w = _get_radius_weights(dist, self.weights)
        lengths = np.array([len(i) for i in ind], dtype=np.intp)
        rows = np.repeat(np.arange(n_q), lengths)
        flat_ind = np.concatenate(list(ind)) if n_q else np.empty(0, np.intp)
        flat_w = None if w is None else (np.concatenate(list(w)) if n_q else np.empty(0))
        y = self._y.reshape(self._y.shape[0], -1)
        votes = []
        for j, cls in enumerate(self._class_lists()):
            n_c = len(cls)
            counts = np.bincount(y[flat_ind.astype(np.intp), j] + n_c * rows,
                                 weights=flat_w, minlength=n_q * n_c).reshape(n_q, n_c)
            counts = counts.astype(np.float64, copy=False)
            if outliers.size:
                at = np.flatnonzero(cls == self.outlier_label_[j])
                if at.size == 1:
                    counts[outliers, at[0]] = 1.0
                else:
                    warnings.warn(
                        f"Outlier label {self.outlier_label_[j]} is not in training "
                        "classes. All class probabilities of outliers will be assigned "
                        "with 0.")
            votes.append(counts)
        return votes

    def _decide(self, classes, votes, output):
        pred = classes[np.argmax(votes, axis=1)]
        none = np.flatnonzero(~votes.any(axis=1))
        if none.size:
            pred = pred.astype(np.result_type(pred, np.asarray(
                self.outlier_label_[output])))
            pred[none] = self.outlier_label_[output]
        return pred
