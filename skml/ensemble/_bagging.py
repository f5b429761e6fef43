"""Bootstrap aggregating (Definition 3.9 and Example 24 of the notes) over any estimator."""
import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from skml.ensemble._base import _MAX_REDRAWS, draw_seeds, n_drawn
from skml.tree import DecisionTreeClassifier, DecisionTreeRegressor
from skml.utils import HasMethods, Interval, check_params, check_sample_weight

__all__ = ["BaggingClassifier", "BaggingRegressor"]


def _draw(seed, n_samples, n_features, n_samples_drawn, n_features_drawn, bootstrap,
          bootstrap_features, sample_weight=None, n_redraws=None):
    """Features and samples of the member with this seed: (features, samples, number of
    redraws). The samples are drawn again while they all have zero weight (no member can
    be fitted to zero total weight), at most 100 times; ``n_redraws`` replays a member's
    draws (for OOB scores)."""
    rs = np.random.RandomState(seed)
    if bootstrap_features:
        features = rs.randint(0, n_features, n_features_drawn)
    else:
        features = rs.permutation(n_features)[:n_features_drawn]
    for redraw in range(_MAX_REDRAWS + 1):
        if bootstrap:
            samples = rs.randint(0, n_samples, n_samples_drawn)
        else:
            samples = rs.permutation(n_samples)[:n_samples_drawn]
        if n_redraws is not None:
            if redraw == n_redraws:
                break
        elif sample_weight is None or np.any(sample_weight[samples] > 0):
            break
    else:
        raise ValueError(
            f"{_MAX_REDRAWS + 1} draws of {n_samples_drawn} samples drew only samples of "
            "zero weight; give more samples a positive weight or draw more (max_samples).")
    # drawn order: ties between columns break differently per member
    return features, samples, redraw


def _fit_member(estimator, X, y, sample_weight, seed, draws):
    """Fit one member on its bootstrap sample (module level, so joblib can ship it).

    Estimators whose ``fit`` takes ``sample_weight`` get the bootstrap as integer weights
    (the rows are not copied); the others get the drawn rows."""
    features, samples, n_redraws = _draw(seed, X.shape[0], X.shape[1], *draws,
                                         sample_weight=sample_weight)
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=int(seed))
    Xf = X[:, features]
    if has_fit_parameter(estimator, "sample_weight"):
        w = np.bincount(samples, minlength=X.shape[0]).astype(np.float64)
        if sample_weight is not None:
            w *= sample_weight
        estimator.fit(Xf, y, sample_weight=w)
    else:
        estimator.fit(Xf[samples], y[samples])
    return estimator, features, n_redraws


class _BaseBagging(BaseEstimator):
    """Shared code of the two bagging ensembles; not public."""

    _default_estimator = None
    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(numbers.Integral, 1, None)],
        "max_samples": [Interval(numbers.Integral, 1, None),
                        Interval(numbers.Real, 0.0, 1.0, closed="right")],
        "max_features": [Interval(numbers.Integral, 1, None),
                         Interval(numbers.Real, 0.0, 1.0, closed="right")],
        "bootstrap": ["boolean"],
        "bootstrap_features": ["boolean"],
        "oob_score": ["boolean"],
        "n_jobs": ["n_jobs"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, n_estimators=10, *, max_samples=1.0, max_features=1.0,
                 bootstrap=True, bootstrap_features=False, oob_score=False, n_jobs=None,
                 random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.bootstrap_features = bootstrap_features
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _base(self):
        return self._default_estimator() if self.estimator is None else self.estimator

    def _fit(self, X, y, sample_weight):
        if self.oob_score and not self.bootstrap:
            raise ValueError("oob_score=True needs bootstrap=True: without bootstrap there "
                             "are no out-of-bag samples.")
        base = self._base()
        if not hasattr(base, "fit"):
            raise TypeError(f"estimator must be an estimator with fit, got {base!r}.")
        n_samples, n_features = X.shape
        draws = (n_drawn(self.max_samples, n_samples, "max_samples"),
                 n_drawn(self.max_features, n_features, "max_features"),
                 self.bootstrap, self.bootstrap_features)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, n_samples)
            if not has_fit_parameter(base, "sample_weight"):
                raise ValueError(f"{type(base).__name__} does not support sample_weight.")
        seeds = draw_seeds(self.random_state, self.n_estimators)
        fitted = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(_fit_member)(clone(base), X, y, sample_weight, int(s), draws)
            for s in seeds
        )
        self.estimators_ = [est for est, _, _ in fitted]
        self.estimators_features_ = [feat for _, feat, _ in fitted]
        self._redraws = [r for _, _, r in fitted]
        self.estimator_ = clone(base)
        self._seeds = seeds
        self._draws = draws
        return self

    def _finite_mode(self):
        return "allow-nan" if get_tags(self._base()).input_tags.allow_nan else True

    def _validate_fit(self, X, y, y_numeric):
        check_params(self)
        return validate_data(self, X, y, dtype=[np.float64, np.float32],
                             ensure_all_finite=self._finite_mode(), y_numeric=y_numeric)

    def _validate_X(self, X):
        return validate_data(self, X, dtype=[np.float64, np.float32],
                             ensure_all_finite=self._finite_mode(), reset=False)

    def _oob_members(self, n_samples):
        """(member, features, out-of-bag rows) for each member."""
        for est, feats, seed, redraws in zip(self.estimators_, self.estimators_features_,
                                             self._seeds, self._redraws):
            _, samples, _ = _draw(int(seed), n_samples, self.n_features_in_, *self._draws,
                                  n_redraws=redraws)
            mask = np.ones(n_samples, dtype=bool)
            mask[samples] = False
            yield est, feats, np.flatnonzero(mask)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = get_tags(self._base()).input_tags.allow_nan
        return tags


def _warn_unseen(seen):
    if not np.all(seen):
        warnings.warn("Some inputs do not have OOB scores: every member saw them. Use more "
                      "estimators; their OOB estimate is NaN.", UserWarning)


class BaggingClassifier(ClassifierMixin, _BaseBagging):
    """Bagging classifier (Example 24 of the notes): members fitted on bootstrap samples
    (and optionally random feature subsets), combined by averaging their class
    probabilities, or by majority vote for members without ``predict_proba``.

    Parameters
    ----------
    estimator : estimator, default=None
        The member; ``None``: :class:`skml.tree.DecisionTreeClassifier`.
    n_estimators : int, default=10
        Number of members.
    max_samples : int or float, default=1.0
        Samples drawn per member (a float: fraction of n_samples).
    max_features : int or float, default=1.0
        Features drawn per member (a float: fraction of n_features).
    bootstrap : bool, default=True
        Draw samples with replacement (``False``: without).
    bootstrap_features : bool, default=False
        Draw features with replacement.
    oob_score : bool, default=False
        Compute the out-of-bag accuracy ``oob_score_``.
    n_jobs : int, default=None
        Parallel member fits through joblib (threads preferred, so a dask backend set with
        ``joblib.parallel_config`` takes over when active).
    random_state : int, RandomState instance or None, default=None
        Seeds the draws and the members' own ``random_state``; every member's seed is drawn
        before any fit, so results do not depend on ``n_jobs``.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members (trained on class codes ``0..n_classes-1``).
    estimators_features_ : list of ndarray
        The features each member saw.
    estimator_ : estimator
        The unfitted member template.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` had string column names.
    oob_score_ : float
        Out-of-bag accuracy (with ``oob_score=True``).
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        Out-of-bag class probabilities.

    Notes
    -----
    Members whose ``fit`` accepts ``sample_weight`` receive the bootstrap as integer
    sample weights (``sample_weight`` times the number of draws), the others the drawn
    rows, as in scikit-learn. Missing values are accepted when the member accepts them
    (the default tree does).

    Known debt (sklearn estimator checks): ``check_sample_weight_equivalence_on_dense_data``
    is expected to fail: bootstrap draws of rows make weights and repeated rows differ
    for a randomised ensemble (scikit-learn's bagging has the same debt).

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from skml.ensemble import BaggingClassifier
    >>> X, y = load_wine(return_X_y=True)
    >>> bag = BaggingClassifier(n_estimators=30, oob_score=True, random_state=0).fit(X, y)
    >>> bool(bag.oob_score_ > 0.85)
    True
    """

    _default_estimator = DecisionTreeClassifier

    def fit(self, X, y, sample_weight=None):
        """Fit the members.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (the member must accept them).

        Returns
        -------
        self : BaggingClassifier
        """
        X, y = self._validate_fit(X, y, y_numeric=False)
        check_classification_targets(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        self.n_classes_ = len(self.classes_)
        self._fit(X, y_codes, sample_weight)
        if self.oob_score:
            sums = np.zeros((X.shape[0], self.n_classes_))
            for est, feats, rows in self._oob_members(X.shape[0]):
                if rows.size:
                    sums[rows] += self._member_proba(est, X[rows][:, feats])
            seen = sums.sum(axis=1) > 0
            _warn_unseen(seen)
            with np.errstate(invalid="ignore"):
                self.oob_decision_function_ = sums / sums.sum(axis=1, keepdims=True)
            self.oob_score_ = accuracy_score(
                y_codes[seen], np.argmax(self.oob_decision_function_[seen], axis=1))
        return self

    def _member_proba(self, est, X):
        """The member's class probabilities in the columns of ``classes_`` (one-hot votes
        for members without ``predict_proba``)."""
        proba = np.zeros((X.shape[0], self.n_classes_))
        cols = np.asarray(est.classes_, dtype=np.intp)
        if hasattr(est, "predict_proba"):
            proba[:, cols] = est.predict_proba(X)
        else:
            proba[np.arange(X.shape[0]), np.asarray(est.predict(X), dtype=np.intp)] = 1.0
        return proba

    def predict_proba(self, X):
        """Mean of the members' class probabilities (or vote fractions).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        proba = np.zeros((X.shape[0], self.n_classes_))
        for est, feats in zip(self.estimators_, self.estimators_features_):
            proba += self._member_proba(est, X[:, feats])
        return proba / len(self.estimators_)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Class with the highest mean probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_.take(np.argmax(proba, axis=1))


class BaggingRegressor(RegressorMixin, _BaseBagging):
    """Bagging regressor (Example 24 of the notes): the mean prediction of members fitted
    on bootstrap samples (and optionally random feature subsets).

    Parameters
    ----------
    estimator : estimator, default=None
        The member; ``None``: :class:`skml.tree.DecisionTreeRegressor`.
    n_estimators : int, default=10
        Number of members.
    max_samples : int or float, default=1.0
        Samples drawn per member.
    max_features : int or float, default=1.0
        Features drawn per member.
    bootstrap : bool, default=True
        Draw samples with replacement.
    bootstrap_features : bool, default=False
        Draw features with replacement.
    oob_score : bool, default=False
        Compute the out-of-bag R^2 ``oob_score_``.
    n_jobs : int, default=None
        Parallel member fits through joblib.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws and the members.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.
    estimators_features_ : list of ndarray
        The features each member saw.
    estimator_ : estimator
        The unfitted member template.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` had string column names.
    oob_score_ : float
        Out-of-bag R^2 (with ``oob_score=True``).
    oob_prediction_ : ndarray of shape (n_samples,)
        Out-of-bag predictions.

    Notes
    -----
    Known debt (sklearn estimator checks): ``check_sample_weight_equivalence_on_dense_data``
    is expected to fail, as for scikit-learn's bagging (bootstrap of rows).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skml.ensemble import BaggingRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> bag = BaggingRegressor(n_estimators=20, random_state=0).fit(X, y)
    >>> bool(bag.score(X, y) > 0.8)
    True
    """

    _default_estimator = DecisionTreeRegressor

    def fit(self, X, y, sample_weight=None):
        """Fit the members.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (the member must accept them).

        Returns
        -------
        self : BaggingRegressor
        """
        X, y = self._validate_fit(X, y, y_numeric=True)
        self._fit(X, y, sample_weight)
        if self.oob_score:
            sums = np.zeros(X.shape[0])
            counts = np.zeros(X.shape[0], dtype=np.intp)
            for est, feats, rows in self._oob_members(X.shape[0]):
                if rows.size:
                    sums[rows] += est.predict(X[rows][:, feats])
                    counts[rows] += 1
            seen = counts > 0
            _warn_unseen(seen)
            with np.errstate(invalid="ignore"):
                self.oob_prediction_ = sums / counts
            self.oob_score_ = r2_score(y[seen], self.oob_prediction_[seen])
        return self

    def predict(self, X):
        """Mean prediction of the members.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        pred = np.zeros(X.shape[0])
        for est, feats in zip(self.estimators_, self.estimators_features_):
            pred += est.predict(X[:, feats])
        return pred / len(self.estimators_)
