"""Naive Bayes for counts (multinomial) and binary features (Bernoulli)."""
import numbers
import warnings

import numpy as np
from scipy import sparse

from skml.naive_bayes._base import _BaseNB
from skml.utils import Interval, check_params, check_sample_weight, store_init_params

__all__ = ["BernoulliNB", "MultinomialNB"]

_ALPHA_FLOOR = 1e-10


class _BaseDiscreteNB(_BaseNB):
    """Counting, smoothing and priors shared by MultinomialNB and BernoulliNB.

    Both models only need, per class, the (weighted) number of samples and the sum of
    each feature; ``partial_fit`` adds a batch's sums to them and recomputes the
    log-probabilities, so batches give exactly the model of one fit on all the data.
    """

    _parameter_constraints = {
        "alpha": [Interval(numbers.Real, 0, None), "array-like"],
        "force_alpha": ["boolean"],
        "fit_prior": ["boolean"],
        "class_prior": ["array-like", None],
    }

    _accept_sparse = "csr"

    def _partial_fit(self, X, y, classes, sample_weight, first_call):
        check_params(self)
        alpha = self._check_alpha(X.shape[1])
        self._check_fit_X(X)
        X = self._prepare_X(X)
        w = check_sample_weight(sample_weight, X.shape[0])
        codes = self._first_classes(y, classes, first_call)
        n_classes = len(self.classes_)
        if first_call:
            self.class_count_ = np.zeros(n_classes)
            self.feature_count_ = np.zeros((n_classes, X.shape[1]))
        Y = np.zeros((X.shape[0], n_classes))
        Y[np.arange(X.shape[0]), codes] = w
        self.feature_count_ += np.asarray((X.T @ Y).T)
        self.class_count_ += Y.sum(axis=0)
        self._update_feature_log_prob(alpha)
        self._update_class_log_prior()
        return self

    def _check_alpha(self, n_features):
        if isinstance(self.alpha, numbers.Real):
            alpha = float(self.alpha)
        else:
            alpha = np.asarray(self.alpha, dtype=np.float64)
            if alpha.shape != (n_features,):
                raise ValueError(
                    f"alpha must be a number or have one entry per feature "
                    f"({n_features}), got shape {alpha.shape}."
                )
            if np.any(alpha < 0) or not np.all(np.isfinite(alpha)):
                raise ValueError("All values in alpha must be finite and >= 0.")
        if np.min(alpha) < _ALPHA_FLOOR and not self.force_alpha:
            warnings.warn(
                f"alpha too small will result in numeric errors, setting alpha = "
                f"{_ALPHA_FLOOR:.1e}. Use force_alpha=True to keep alpha unchanged.",
                UserWarning, stacklevel=4,
            )
            return np.maximum(alpha, _ALPHA_FLOOR)
        return alpha

    def _update_class_log_prior(self):
        n_classes = len(self.classes_)
        if self.class_prior is not None:
            prior = np.asarray(self.class_prior, dtype=np.float64)
            if prior.shape != (n_classes,):
                raise ValueError(
                    f"class_prior must have one entry per class ({n_classes}), got "
                    f"shape {prior.shape}."
                )
            if np.any(prior < 0):
                raise ValueError("class_prior must be non-negative.")
            with np.errstate(divide="ignore"):
                self.class_log_prior_ = np.log(prior)
        elif self.fit_prior:
            with np.errstate(divide="ignore"):  # a class not seen yet: log(0) = -inf
                self.class_log_prior_ = (np.log(self.class_count_)
                                         - np.log(self.class_count_.sum()))
        else:
            self.class_log_prior_ = np.full(n_classes, -np.log(n_classes))

    def _check_fit_X(self, X):
        """Training-data checks beyond validate_data (none by default)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.poor_score = True
        return tags


class MultinomialNB(_BaseDiscreteNB):
    """Naive Bayes for counts, such as word counts in text classification.

    Within class ``c`` a sample is a sequence of draws from the categorical distribution
    :math:`\\theta_c` over the features, so by Bayes' rule (the notes' Definition 2.3)

    .. math:: \\log P(c \\mid x) = \\log P(c) + \\sum_j x_j \\log\\theta_{cj} + \\text{const},

    with the smoothed estimate :math:`\\theta_{cj} = (N_{cj} + \\alpha) /
    (N_c + \\alpha n)` from the feature sums :math:`N_{cj}` of class ``c``
    (:math:`N_c = \\sum_j N_{cj}`, ``n`` features). Posteriors are normalised with
    log-sum-exp.

    Parameters
    ----------
    alpha : float or array-like of shape (n_features,), default=1.0
        Additive (Laplace/Lidstone) smoothing; 0 means none.
    force_alpha : bool, default=True
        Keep ``alpha`` as given; if False, an ``alpha`` below 1e-10 is raised to 1e-10
        with a warning.
    fit_prior : bool, default=True
        Learn the class priors from the class frequencies; if False, use a uniform
        prior.
    class_prior : array-like of shape (n_classes,), default=None
        Fixed class priors (used instead of the learned ones).

    Attributes
    ----------
    class_count_ : ndarray of shape (n_classes,)
        (Weighted) number of samples per class.
    class_log_prior_ : ndarray of shape (n_classes,)
        Log prior of each class.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    feature_count_ : ndarray of shape (n_classes, n_features)
        (Weighted) sum of each feature per class.
    feature_log_prob_ : ndarray of shape (n_classes, n_features)
        :math:`\\log\\theta_{cj}`.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen in ``fit``, when ``X`` had string column names.

    Raises
    ------
    ValueError
        If X has negative values, y a single class, ``alpha`` or ``class_prior`` the
        wrong shape, or sample weights are negative or all zero.

    See Also
    --------
    BernoulliNB, GaussianNB

    Notes
    -----
    ``fit`` and ``partial_fit`` refuse negative values in ``X`` (counts or frequencies
    are expected). Sparse ``X`` (CSR; CSC and other formats are converted to CSR) is used
    as it is, never densified: the counts and the log-likelihoods are sparse products.

    References
    ----------
    A. McCallum and K. Nigam, A comparison of event models for naive Bayes text
    classification, AAAI workshop (1998). H. Dai, "Note on Machine Learning"
    (preprint), Definition 2.3.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.naive_bayes import MultinomialNB
    >>> X = np.array([[3, 0, 1], [2, 0, 0], [0, 4, 1], [0, 3, 2]])
    >>> y = np.array(["sport", "sport", "tech", "tech"])
    >>> clf = MultinomialNB().fit(X, y)
    >>> clf.predict([[1, 0, 0], [0, 1, 1]])
    array(['sport', 'tech'], dtype='<U5')
    """

    def __init__(self, *, alpha=1.0, force_alpha=True, fit_prior=True, class_prior=None):
        store_init_params(self, locals())

    def _check_fit_X(self, X):
        lowest = (X.data.min(initial=0.0) if sparse.issparse(X) else X.min(initial=0.0))
        if lowest < 0:
            raise ValueError(
                "Negative values in data passed to MultinomialNB (input X): the features "
                f"must be counts or frequencies (>= 0), got a minimum of {float(lowest)!r}."
            )

    def _update_feature_log_prob(self, alpha):
        smoothed = self.feature_count_ + alpha
        with np.errstate(divide="ignore"):
            self.feature_log_prob_ = (np.log(smoothed)
                                      - np.log(smoothed.sum(axis=1, keepdims=True)))

    def _joint_log_likelihood(self, X):
        return np.asarray(X @ self.feature_log_prob_.T) + self.class_log_prior_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags


class BernoulliNB(_BaseDiscreteNB):
    """Naive Bayes for binary features (each feature present or absent).

    Within class ``c`` feature ``j`` is present with probability :math:`p_{cj}`,
    independently of the others, so by Bayes' rule (the notes' Definition 2.3)

    .. math:: \\log P(c \\mid x) = \\log P(c) + \\sum_j \\big(x_j \\log p_{cj}
              + (1 - x_j) \\log(1 - p_{cj})\\big) + \\text{const},

    with :math:`p_{cj} = (N_{cj} + \\alpha) / (N_c + 2\\alpha)`, where :math:`N_{cj}`
    counts the samples of class ``c`` having feature ``j`` and :math:`N_c` the samples
    of class ``c``. Unlike :class:`MultinomialNB`, an absent feature counts as evidence
    too.

    Parameters
    ----------
    alpha : float or array-like of shape (n_features,), default=1.0
        Additive (Laplace/Lidstone) smoothing; 0 means none.
    force_alpha : bool, default=True
        Keep ``alpha`` as given; if False, an ``alpha`` below 1e-10 is raised to 1e-10
        with a warning.
    binarize : float or None, default=0.0
        Threshold: features above it count as present (1), the others as absent (0).
        None means ``X`` is already binary. A negative threshold (an skml extension:
        scikit-learn requires >= 0) is accepted for dense ``X`` only.
    fit_prior : bool, default=True
        Learn the class priors from the class frequencies; if False, use a uniform
        prior.
    class_prior : array-like of shape (n_classes,), default=None
        Fixed class priors.

    Attributes
    ----------
    class_count_ : ndarray of shape (n_classes,)
        (Weighted) number of samples per class.
    class_log_prior_ : ndarray of shape (n_classes,)
        Log prior of each class.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    feature_count_ : ndarray of shape (n_classes, n_features)
        (Weighted) number of samples of each class having each feature.
    feature_log_prob_ : ndarray of shape (n_classes, n_features)
        :math:`\\log p_{cj}`.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen in ``fit``, when ``X`` had string column names.

    Raises
    ------
    ValueError
        If y has a single class, ``alpha`` or ``class_prior`` the wrong shape, sample
        weights are negative or all zero, or ``X`` is sparse and ``binarize < 0``.

    See Also
    --------
    MultinomialNB, GaussianNB

    Notes
    -----
    Sparse ``X`` (CSR; CSC and other formats are converted to CSR) is binarised on its
    stored entries only and never densified.

    References
    ----------
    A. McCallum and K. Nigam, A comparison of event models for naive Bayes text
    classification, AAAI workshop (1998). H. Dai, "Note on Machine Learning"
    (preprint), Definition 2.3.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.naive_bayes import BernoulliNB
    >>> X = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]])
    >>> y = np.array([0, 0, 1, 1])
    >>> clf = BernoulliNB().fit(X, y)
    >>> clf.predict([[1, 0, 0], [0, 0, 1]])
    array([0, 1])
    """

    _parameter_constraints = {
        "binarize": [None, Interval(numbers.Real, None, None)],
    }

    def __init__(self, *, alpha=1.0, force_alpha=True, binarize=0.0, fit_prior=True,
                 class_prior=None):
        store_init_params(self, locals())

    def _prepare_X(self, X):
        if self.binarize is None:
            return X
        if sparse.issparse(X):
            if self.binarize < 0:
                # every implicit zero would become a 1: the matrix would be dense
                raise ValueError(
                    f"BernoulliNB cannot binarize a sparse matrix with a negative threshold "
                    f"(binarize={self.binarize!r}): every implicit zero would be present. "
                    "Use binarize >= 0, or pass a dense array.")
            X = X.copy()
            X.data = (X.data > self.binarize).astype(np.float64)
            X.eliminate_zeros()
            return X
        return (X > self.binarize).astype(np.float64)

    def _update_feature_log_prob(self, alpha):
        with np.errstate(divide="ignore"):
            self.feature_log_prob_ = (
                np.log(self.feature_count_ + alpha)
                - np.log(self.class_count_[:, None] + 2.0 * alpha)
            )

    def _joint_log_likelihood(self, X):
        with np.errstate(divide="ignore"):
            log_absent = np.log1p(-np.exp(self.feature_log_prob_))
        jll = np.asarray(X @ (self.feature_log_prob_ - log_absent).T)
        return jll + (self.class_log_prior_ + log_absent.sum(axis=1))
