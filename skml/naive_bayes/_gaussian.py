"""Gaussian naive Bayes."""
import numbers

import numpy as np

from skml.decomposition._scaling import power_of_two_exponent
from skml.naive_bayes._base import _BaseNB
from skml.utils import Interval, check_params, check_sample_weight, chunk_rows

__all__ = ["GaussianNB"]

# Least variance of a feature within a class, in the units of the fit (data divided by a
# power of two into [-1, 1]): one rounding step of the data is then about one standard
# deviation, so a feature constant within a class still ranks the classes by how far x
# is from their values, instead of dividing 0 by 0.
_VAR_FLOOR = np.finfo(np.float64).eps ** 2
# Cap on each feature's squared standardised distance (a point 1e140 ranges away would
# overflow them to inf in every class and turn the posterior into 0/0).
_QUAD_CAP = 1e290


def _merge_moments(n_past, mu_past, var_past, X, w):
    """Count, mean and (biased) variance of the union of a summarised past batch and the
    weighted rows X, by the pairwise update of Chan, Golub and LeVeque: the new batch's
    own moments, combined with the past ones through the squared difference of means."""
    n_new = float(w.sum())
    if np.isclose(n_new, 0.0):
        return n_past, mu_past, var_past
    mu_new = np.average(X, axis=0, weights=w)
    var_new = np.average((X - mu_new) ** 2, axis=0, weights=w)
    if n_past == 0:
        return n_new, mu_new, var_new
    n_total = n_past + n_new
    mu = (n_new * mu_new + n_past * mu_past) / n_total
    ssd = (n_past * var_past + n_new * var_new
           + (n_new * n_past / n_total) * (mu_past - mu_new) ** 2)
    return n_total, mu, ssd / n_total


class GaussianNB(_BaseNB):
    """Naive Bayes with a normal distribution per feature and class.

    Each feature is modelled, within class ``c``, as an independent normal variable
    :math:`\\mathcal{N}(\\theta_{cj}, \\sigma^2_{cj})` (the notes' Definition 2.14), so by
    Bayes' rule (Definition 2.3) the posterior of class ``c`` is proportional to

    .. math:: P(c) \\prod_j \\frac{1}{\\sqrt{2\\pi\\sigma^2_{cj}}}
              \\exp\\Big(-\\frac{(x_j - \\theta_{cj})^2}{2\\sigma^2_{cj}}\\Big),

    computed in log space and normalised with log-sum-exp.

    Parameters
    ----------
    priors : array-like of shape (n_classes,), default=None
        Class prior probabilities (non-negative, summing to 1); by default the class
        frequencies of the training data.
    var_smoothing : float, default=1e-9
        ``var_smoothing`` times the largest feature variance is added to every
        variance, so a feature that is constant within a class does not give a zero
        variance. Every variance is also floored at ``(eps * max|X|)**2`` (``eps`` the
        float64 machine epsilon, ``max|X|`` over the first batch), so that even with
        all features constant, or ``var_smoothing=0``, the posterior is defined: the
        prior where the features say nothing, the class whose values x is closest to
        otherwise (scikit-learn returns NaN there).

    Attributes
    ----------
    class_count_ : ndarray of shape (n_classes,)
        (Weighted) number of training samples per class.
    class_prior_ : ndarray of shape (n_classes,)
        Prior probability of each class.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    epsilon_ : float
        The amount added to the variances.
    theta_ : ndarray of shape (n_classes, n_features)
        Mean of each feature per class.
    var_ : ndarray of shape (n_classes, n_features)
        Variance of each feature per class (including ``epsilon_``).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen in ``fit``, when ``X`` had string column names.

    Raises
    ------
    ValueError
        If y has a single class, ``priors`` do not match the classes or do not sum to
        1, sample weights are negative or all zero, or X has NaN / infinite values.

    See Also
    --------
    MultinomialNB, BernoulliNB

    Notes
    -----
    ``partial_fit`` merges each batch into the per-class means and variances with the
    pairwise update of Chan, Golub and LeVeque, and ``epsilon_`` is recomputed from the
    variance of all the rows seen so far, so fitting in batches gives the model of one
    ``fit`` on all the data (up to rounding). scikit-learn's ``partial_fit`` instead
    takes ``epsilon_`` from the latest batch alone; a single ``fit`` is the same in both.

    References
    ----------
    T. F. Chan, G. H. Golub and R. J. LeVeque, Updating formulae and a pairwise
    algorithm for computing sample variances (1979). H. Dai, "Note on Machine Learning"
    (preprint), Definitions 2.3 and 2.14.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.naive_bayes import GaussianNB
    >>> X = np.array([[-1.0, -1.0], [-2.0, -1.0], [1.0, 1.0], [2.0, 1.0]])
    >>> y = np.array(["a", "a", "b", "b"])
    >>> clf = GaussianNB().fit(X, y)
    >>> clf.predict([[-0.8, -1.0]])
    array(['a'], dtype='<U1')
    >>> clf.theta_
    array([[-1.5, -1. ],
           [ 1.5,  1. ]])
    """

    _parameter_constraints = {
        "priors": ["array-like", None],
        "var_smoothing": [Interval(numbers.Real, 0, None)],
    }

    def __init__(self, *, priors=None, var_smoothing=1e-9):
        self.priors = priors
        self.var_smoothing = var_smoothing

    def _partial_fit(self, X, y, classes, sample_weight, first_call):
        check_params(self)
        w = check_sample_weight(sample_weight, X.shape[0])
        codes = self._first_classes(y, classes, first_call)
        n_classes, n_features = len(self.classes_), X.shape[1]
        if first_call:
            # The moments are kept for X divided by a power of two (exact) that brings
            # the first batch into [-1, 1], so that variances of data at 1e160 do not
            # overflow nor those of data at 1e-300 underflow; the posterior does not
            # depend on the scale.
            self._exponent = power_of_two_exponent(np.max(np.abs(X), initial=0.0))
            self._theta = np.zeros((n_classes, n_features))
            self._raw_var = np.zeros((n_classes, n_features))
            self.class_count_ = np.zeros(n_classes)
            self.class_prior_ = self._check_priors(n_classes)
            self._seen = (0.0, np.zeros(n_features), np.zeros(n_features))
        X = np.ldexp(X, -self._exponent)
        for c in np.unique(codes):
            mask = codes == c
            self.class_count_[c], self._theta[c], self._raw_var[c] = _merge_moments(
                self.class_count_[c], self._theta[c], self._raw_var[c], X[mask], w[mask]
            )
        # the unweighted variance of all rows seen so far sets the smoothing
        self._seen = _merge_moments(*self._seen, X, np.ones(X.shape[0]))
        epsilon = float(self.var_smoothing * self._seen[2].max())
        self._var = np.maximum(self._raw_var + epsilon, _VAR_FLOOR)
        e = self._exponent
        with np.errstate(over="ignore", under="ignore"):
            self.theta_ = np.ldexp(self._theta, e)
            self.var_ = np.ldexp(self._var, 2 * e)
            self.epsilon_ = float(np.ldexp(epsilon, 2 * e))
        if self.priors is None:
            self.class_prior_ = self.class_count_ / self.class_count_.sum()
        return self

    def _check_priors(self, n_classes):
        if self.priors is None:
            return np.zeros(n_classes)
        priors = np.asarray(self.priors, dtype=np.float64)
        if priors.shape != (n_classes,):
            raise ValueError(
                f"priors must have one entry per class ({n_classes}), got shape "
                f"{priors.shape}."
            )
        if not np.isclose(priors.sum(), 1.0):
            raise ValueError(f"The sum of the priors must be 1, got {priors.sum()!r}.")
        if np.any(priors < 0):
            raise ValueError("priors must be non-negative.")
        return priors

    def _log_density_terms(self, X):
        """``(base, common, quad)``: log P(c) + the Gaussians' log normalisers (per
        class); and half the squared standardised distances of each sample to each
        class, split into a part common to all classes (per sample) and the rest (per
        sample and class).

        Computed for X divided by 2**e as in the fit (each feature's density there is
        2**e times larger, hence the last term of ``base``). The common part is, per
        feature, the smallest distance over the classes: with tiny variances a feature
        can put x ~1e30 standard deviations from every class, and summed as they are,
        such terms would absorb the other features' differences, which decide the
        posterior."""
        X = np.ldexp(X, -self._exponent)
        n, p = X.shape
        n_classes = len(self.classes_)
        with np.errstate(divide="ignore"):
            base = (np.log(self.class_prior_)
                    - 0.5 * np.sum(np.log(2.0 * np.pi * self._var), axis=1)
                    - p * self._exponent * np.log(2.0))
        common = np.empty(n)
        quad = np.empty((n, n_classes))
        step = chunk_rows(8 * n_classes * p, preferred=1024)
        for start in range(0, n, step):
            block = X[start:start + step]
            with np.errstate(over="ignore"):
                terms = (block[:, None, :] - self._theta[None]) ** 2 / self._var[None]
            np.minimum(terms, _QUAD_CAP, out=terms)
            least = terms.min(axis=1, keepdims=True)
            terms -= least
            common[start:start + step] = 0.5 * least.sum(axis=(1, 2))
            quad[start:start + step] = 0.5 * terms.sum(axis=2)
        return base, common, quad

    def _joint_log_likelihood(self, X):
        base, common, quad = self._log_density_terms(X)
        return base - quad - common[:, None]

    def _posterior_scores(self, X):
        base, _, quad = self._log_density_terms(X)
        return base - quad
