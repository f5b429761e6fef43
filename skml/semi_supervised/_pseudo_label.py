"""Pseudo-labelling (self-training): fit on the labelled samples, label the unlabelled
ones the model is confident about, refit, repeat."""
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import get_tags, safe_mask
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.utils import HasMethods, Interval, StrOptions, check_params, store_init_params

__all__ = ["PseudoLabelClassifier"]

#: The label of an unlabelled sample, as in scikit-learn.
UNLABELED = -1


def _estimator_has(attr):
    """The fitted estimator (or, before fit, the given one) has ``attr``."""
    def check(self):
        if hasattr(self, "estimator_"):
            getattr(self.estimator_, attr)
        else:
            getattr(self.estimator, attr)
        return True
    return check


def _delegated(method, summary, returns, returns_description):
    """The method ``method`` of :class:`PseudoLabelClassifier` (available when the
    estimator has it): X validated, then the fitted estimator's ``method`` of it."""

    def delegate(self, X):
        X = self._validate_X(X)
        return getattr(self.estimator_, method)(X)

    delegate.__name__ = method
    delegate.__qualname__ = f"PseudoLabelClassifier.{method}"
    delegate.__doc__ = f"""{summary}

        Parameters
        ----------
        X : {{array-like, sparse matrix}} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        {returns}
            {returns_description}
        """
    return available_if(_estimator_has(method))(delegate)


class PseudoLabelClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Pseudo-labelling classifier: self-training of any probabilistic classifier.

    The recipe of the notes (Remark 3.33, Definition 3.40): fit ``estimator`` on the
    labelled samples; predict the unlabelled ones; give those predicted with enough
    confidence their predicted class as a pseudo-label; refit on the labelled and
    pseudo-labelled samples; repeat until no sample is added, every sample has a label,
    or ``max_iter`` rounds have run. Unlabelled samples carry the label ``-1`` in ``y``,
    as in scikit-learn. The parameters, their defaults and the fitted attributes are
    those of ``sklearn.semi_supervised.SelfTrainingClassifier``.

    Parameters
    ----------
    estimator : estimator object
        A classifier with ``fit`` and ``predict_proba`` (cloned; never modified).
    threshold : float, default=0.75
        With ``criterion="threshold"``, unlabelled samples whose largest predicted
        probability is above this value get pseudo-labels. In ``[0, 1)``. 0.75 is
        scikit-learn's default; a stricter 0.9 suits poorly calibrated base models.
    criterion : {"threshold", "k_best"}, default="threshold"
        ``"k_best"`` adds the ``k_best`` most confident samples per round instead.
    k_best : int, default=10
        Samples added per round with ``criterion="k_best"`` (``>= 1``).
    max_iter : int or None, default=10
        Most rounds of pseudo-labelling (``>= 0``); ``None`` runs until every sample
        has a label or a round adds none (the notes' "until all the data are utilized").
    verbose : bool, default=False
        Print the number of pseudo-labels added in each round.

    Attributes
    ----------
    estimator_ : estimator object
        The estimator fitted on the labelled and pseudo-labelled samples.
    classes_ : ndarray of shape (n_classes,)
        The class labels (from ``estimator_``).
    transduction_ : ndarray of shape (n_samples,)
        The labels used for the final fit: the given labels, the pseudo-labels, and
        ``-1`` for samples that never got one.
    labeled_iter_ : ndarray of shape (n_samples,)
        The round in which each sample got its label: 0 for given labels, -1 for
        samples still unlabelled.
    n_iter_ : int
        Rounds of pseudo-labelling run.
    termination_condition_ : {"max_iter", "no_change", "all_labeled"}
        Why the rounds stopped.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.

    Raises
    ------
    InvalidParameterError
        A ValueError and TypeError, from ``fit``: a parameter outside its declared range
        or options (``threshold`` outside [0, 1), ``k_best < 1``, an ``estimator``
        without ``predict_proba``).
    ValueError
        From ``fit``: ``y`` with a string dtype (-1 cannot mark unlabelled samples
        there) or without any labelled sample.
    NotFittedError
        From the prediction methods and ``score`` before ``fit``.

    See Also
    --------
    sklearn.semi_supervised.SelfTrainingClassifier : the same method.

    Notes
    -----
    Pseudo-labels are hard labels, and a wrong one is trained on in every later round
    ("confirmation bias"); a high ``threshold`` or a small ``k_best`` limits the damage
    when the base model is poorly calibrated.

    Expected failures of scikit-learn's estimator checks (both shared with
    ``SelfTrainingClassifier``): ``check_classifiers_classes`` relabels the classes as
    ``[-1, 1]`` and as strings, but ``-1`` marks unlabelled samples (the check gives
    scikit-learn's own semi-supervised models integer labels, by name); and
    ``check_non_transformer_estimators_n_iter``, since ``n_iter_`` is 0 when every
    sample is labelled (no round of pseudo-labelling runs).

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definitions 3.39-3.40, Remark
       3.33, Example 33.
    .. [2] D.-H. Lee, "Pseudo-Label: The Simple and Efficient Semi-Supervised Learning
       Method for Deep Neural Networks", ICML Workshop on Challenges in Representation
       Learning, 2013.
    .. [3] D. Yarowsky, "Unsupervised Word Sense Disambiguation Rivaling Supervised
       Methods", ACL 1995.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skml.semi_supervised import PseudoLabelClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> y_partial = y.copy()
    >>> y_partial[np.random.RandomState(0).rand(len(y)) < 0.8] = -1
    >>> clf = PseudoLabelClassifier(LogisticRegression(max_iter=1000)).fit(X, y_partial)
    >>> clf.termination_condition_  # a round left every remaining sample below 0.75
    'no_change'
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "threshold": [Interval(numbers.Real, 0.0, 1.0, closed="left")],
        "criterion": [StrOptions({"threshold", "k_best"})],
        "k_best": [Interval(numbers.Integral, 1, None)],
        "max_iter": [Interval(numbers.Integral, 0, None), None],
        "verbose": ["verbose"],
    }

    def __init__(self, estimator, threshold=0.75, criterion="threshold", k_best=10,
                 max_iter=10, verbose=False):
        store_init_params(self, locals())

    def fit(self, X, y):
        """Fit the estimator on the labelled samples and pseudo-label the rest.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, labelled and unlabelled (in the estimator's input format).
        y : array-like of shape (n_samples,)
            Labels; ``-1`` marks an unlabelled sample. String labels need an object
            array (so that ``-1`` can stand beside them).

        Returns
        -------
        self : object
            The fitted classifier.

        Raises
        ------
        ValueError
            If ``y`` holds strings in a string-dtype array, or has no labelled sample,
            or if a parameter is invalid.
        """
        check_params(self)
        # finiteness and the rest of the input checks are the estimator's
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc", "lil", "dok"],
                             ensure_all_finite=False, dtype=None)
        if y.dtype.kind in "US":
            raise ValueError(
                "y has a string dtype, where -1 cannot mark unlabelled samples; pass "
                "string labels as an object array, with -1 for the unlabelled ones."
            )
        labeled = y != UNLABELED
        if not labeled.any():
            raise ValueError("y has no labelled sample (every label is -1): at least "
                             "one labelled sample per class is needed.")
        n_unlabeled = int((~labeled).sum())
        if n_unlabeled == 0:
            warnings.warn("y contains no unlabeled samples", UserWarning, stacklevel=2)
        if self.criterion == "k_best" and self.k_best > n_unlabeled:
            warnings.warn("k_best is larger than the amount of unlabeled samples. All "
                          "unlabeled samples will be labeled in the first iteration",
                          UserWarning, stacklevel=2)
        self.estimator_ = clone(self.estimator)
        self.transduction_ = np.copy(y)
        self.labeled_iter_ = np.where(labeled, 0, -1)
        self.n_iter_ = 0
        self.termination_condition_ = None
        while not labeled.all() and (self.max_iter is None or self.n_iter_ < self.max_iter):
            self.n_iter_ += 1
            self.estimator_.fit(X[safe_mask(X, labeled)], self.transduction_[labeled])
            pending = np.flatnonzero(~labeled)
            proba = self.estimator_.predict_proba(X[safe_mask(X, ~labeled)])
            confidence = proba.max(axis=1)
            predicted = self.estimator_.classes_[proba.argmax(axis=1)]
            if self.criterion == "threshold":
                chosen = np.flatnonzero(confidence > self.threshold)
            elif self.k_best >= pending.size:
                chosen = np.arange(pending.size)
            else:
                # the k most confident (ties broken by position, for reproducibility)
                chosen = np.argsort(-confidence, kind="stable")[:self.k_best]
            if chosen.size == 0:
                self.termination_condition_ = "no_change"
                break
            rows = pending[chosen]
            self.transduction_[rows] = predicted[chosen]
            self.labeled_iter_[rows] = self.n_iter_
            labeled[rows] = True
            if self.verbose:
                print(f"End of iteration {self.n_iter_}, added {rows.size} new labels.")
        if self.termination_condition_ is None:
            self.termination_condition_ = ("all_labeled" if labeled.all() else "max_iter")
        self.estimator_.fit(X[safe_mask(X, labeled)], self.transduction_[labeled])
        self.classes_ = self.estimator_.classes_
        return self

    def _validate_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, accept_sparse=True,
                             ensure_all_finite=False, dtype=None)

    # the fitted estimator's prediction methods, on X validated as at fit
    predict = _delegated(
        "predict", "Classes predicted by the fitted estimator.",
        "y : ndarray of shape (n_samples,)", "Predicted classes.")
    predict_proba = _delegated(
        "predict_proba", "Class probabilities from the fitted estimator.",
        "proba : ndarray of shape (n_samples, n_classes)",
        "Columns in the order of ``classes_``.")
    predict_log_proba = _delegated(
        "predict_log_proba", "Log class probabilities from the fitted estimator.",
        "log_proba : ndarray of shape (n_samples, n_classes)",
        "Columns in the order of ``classes_``.")
    decision_function = _delegated(
        "decision_function", "Decision function of the fitted estimator.",
        "scores : ndarray of shape (n_samples,) or (n_samples, n_classes)",
        "As the estimator's ``decision_function``.")

    @available_if(_estimator_has("score"))
    def score(self, X, y):
        """Score of the fitted estimator on ``(X, y)`` (its own ``score``, usually the
        accuracy).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        score : float
            The estimator's score.
        """
        X = self._validate_X(X)
        return self.estimator_.score(X, y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base = get_tags(self.estimator)
        tags.input_tags.sparse = base.input_tags.sparse
        tags.input_tags.allow_nan = base.input_tags.allow_nan
        return tags
