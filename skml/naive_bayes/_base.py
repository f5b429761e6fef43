"""What the naive Bayes classifiers share: Bayes' rule in log space, labels, weights.

Every model supplies the joint log-likelihood ``log P(x | c) + log P(c)`` of each sample
and class; the posterior follows from Bayes' rule (the notes' Definition 2.3: posterior
proportional to likelihood times prior), normalised with log-sum-exp so that tiny
likelihoods (products over hundreds of features) neither underflow nor overflow.
"""
import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = []


def _plain(label):
    """A label as a plain Python value, for error messages ('a', not np.str_('a'))."""
    return label.item() if isinstance(label, np.generic) else label


class _BaseNB(ClassifierMixin, BaseEstimator):
    """predict / predict_proba / predict_log_proba from ``_joint_log_likelihood``."""

    def _joint_log_likelihood(self, X):
        """(n_samples, n_classes) array of log P(x | c) + log P(c), X validated."""
        raise NotImplementedError

    def _posterior_scores(self, X):
        """The joint log-likelihood up to a term per sample (common to all classes),
        which Bayes' rule cancels; a model may drop such a term to keep the scores
        finite and their differences exact."""
        return self._joint_log_likelihood(X)

    # the sparse format fit and predict accept (others are converted to it); False: none
    _accept_sparse = False

    def fit(self, X, y, sample_weight=None):
        """Fit the model on (X, y) from scratch: the per-class statistics (feature
        counts, or means and variances) and the log-probabilities they give.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse matrices where the model accepts them (see its Notes).
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (a weight of 2 counts a sample twice).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, accept_sparse=self._accept_sparse,
                             dtype=np.float64)
        return self._partial_fit(X, y, np.unique(y), sample_weight, first_call=True)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one batch of data (batches give exactly the model of
        one fit on all of them).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse matrices where the model accepts them (see its Notes).
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call, and if given
            later it must be the same.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        self
        """
        first_call = not hasattr(self, "classes_")
        X, y = validate_data(self, X, y, accept_sparse=self._accept_sparse,
                             dtype=np.float64, reset=first_call)
        return self._partial_fit(X, y, classes, sample_weight, first_call)

    def _partial_fit(self, X, y, classes, sample_weight, first_call):
        raise NotImplementedError

    def _check_X(self, X):
        """X validated for prediction, as the model reads it."""
        X = validate_data(self, X, accept_sparse=self._accept_sparse, dtype=np.float64,
                          reset=False)
        return self._prepare_X(X)

    def _prepare_X(self, X):
        """X as the model reads it, at fit and predict time (unchanged by default)."""
        return X

    def _first_classes(self, y, classes, first_call):
        """Labels for this call: ``classes_`` set on the first call (from ``classes`` or
        from y), y's labels checked against it later. Returns y as class indices."""
        check_classification_targets(y)
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, but "
                    f"there is only one class: {_plain(classes[0])!r}."
                    if len(classes) else f"{type(self).__name__} got no classes."
                )
            self.classes_ = classes
        elif classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()} is not the same as on the first "
                f"call to partial_fit, which gave {self.classes_.tolist()}."
            )
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(
                f"The target label(s) {unseen.tolist()} in y are not among the classes "
                f"given on the first call to partial_fit: {self.classes_.tolist()}."
            )
        return np.searchsorted(self.classes_, y)

    def predict_joint_log_proba(self, X):
        """log P(x, c) = log P(x | c) + log P(c) for each sample and class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        jll : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self._joint_log_likelihood(self._check_X(X))

    def predict(self, X):
        """The class with the largest posterior (the first of ``classes_`` on ties).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        jll = self._posterior_scores(self._check_X(X))
        return self.classes_[np.argmax(jll, axis=1)]

    def predict_log_proba(self, X):
        """log P(c | x): the joint log-likelihood minus its log-sum-exp over classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        jll = self._posterior_scores(self._check_X(X))
        return jll - logsumexp(jll, axis=1, keepdims=True)

    def predict_proba(self, X):
        """P(c | x), the posterior probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns in the order of ``classes_``.
        """
        return np.exp(self.predict_log_proba(X))
