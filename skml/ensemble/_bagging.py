"""Bootstrap aggregating (H. Dai, "Note on Machine Learning" (preprint), Definition 3.9
and Example 24) over any estimator."""
import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from skml.ensemble._base import EnsembleMixin, draw_seeds, n_drawn, progress
from skml.tree import DecisionTreeClassifier, DecisionTreeRegressor
from skml.utils import (
    HasMethods,
    Interval,
    check_params,
    check_sample_weight,
    store_init_params,
)

__all__ = ["BaggingClassifier", "BaggingRegressor"]


def _draw(seed, n_samples, n_features, n_samples_drawn, n_features_drawn, bootstrap,
          bootstrap_features, sample_weight=None):
    """Features and samples of the member with this seed (regenerated for OOB scores and
    ``estimators_samples_``). With ``sample_weight`` the samples are drawn with
    probabilities proportional to the weights (scikit-learn 1.9's semantics)."""
    rs = np.random.RandomState(seed)
    if bootstrap_features:
        features = rs.randint(0, n_features, n_features_drawn)
    else:
        features = rs.permutation(n_features)[:n_features_drawn]
    if sample_weight is not None:
        samples = rs.choice(n_samples, n_samples_drawn, replace=bootstrap,
                            p=sample_weight / sample_weight.sum())
    elif bootstrap:
        samples = rs.randint(0, n_samples, n_samples_drawn)
    else:
        samples = rs.permutation(n_samples)[:n_samples_drawn]
    # drawn order: ties between columns break differently per member
    return features, samples


def _fit_member(estimator, X, y, sample_weight, seed, draws):
    """Fit one member on its bootstrap sample (module level, so joblib can ship it).

    Estimators whose ``fit`` takes ``sample_weight`` get the bootstrap as integer weights
    (the rows are not copied); the others get the drawn rows."""
    features, samples = _draw(seed, X.shape[0], X.shape[1], *draws,
                              sample_weight=sample_weight)
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=int(seed))
    Xf = X[:, features]
    if has_fit_parameter(estimator, "sample_weight"):
        w = np.bincount(samples, minlength=X.shape[0]).astype(np.float64)
        estimator.fit(Xf, y, sample_weight=w)
    else:
        estimator.fit(Xf[samples], y[samples])
    return estimator, features


class _BaseBagging(EnsembleMixin, BaseEstimator):
    """Shared code of the two bagging ensembles; not public."""

    _default_estimator = None
    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(numbers.Integral, 1, None)],
        "max_samples": [None, Interval(numbers.Integral, 1, None),
                        Interval(numbers.Real, 0.0, 1.0, closed="right")],
        "max_features": [Interval(numbers.Integral, 1, None),
                         Interval(numbers.Real, 0.0, 1.0, closed="right")],
        "bootstrap": ["boolean"],
        "bootstrap_features": ["boolean"],
        "oob_score": ["boolean"],
        "warm_start": ["boolean"],
        "n_jobs": ["n_jobs"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, estimator=None, n_estimators=10, *, max_samples=None,
                 max_features=1.0, bootstrap=True, bootstrap_features=False, oob_score=False,
                 warm_start=False, n_jobs=None, random_state=None, verbose=0):
        store_init_params(self, locals())

    def _base(self):
        return self._default_estimator() if self.estimator is None else self.estimator

    def _fit(self, X, y, sample_weight):
        """Fit the members (or the new ones, with ``warm_start``); returns how many."""
        if self.oob_score and not self.bootstrap:
            raise ValueError("Out of bag estimation only available if bootstrap=True "
                             "(oob_score=True needs bootstrap=True: without bootstrap there "
                             "are no out-of-bag samples).")
        if self.oob_score and self.warm_start:
            raise ValueError("Out of bag estimate only available if warm_start=False")
        base = self._base()
        n_samples, n_features = X.shape
        if isinstance(self.max_samples, numbers.Integral) or self.max_samples is None:
            n_samples_drawn = n_samples if self.max_samples is None else int(self.max_samples)
        else:
            total = n_samples if sample_weight is None else float(np.sum(sample_weight))
            n_samples_drawn = max(1, int(self.max_samples * total))
        if not self.bootstrap and n_samples_drawn > n_samples:
            raise ValueError(f"Effective max_samples={n_samples_drawn} must be <= "
                             f"n_samples={n_samples} to be able to sample without "
                             "replacement (max_samples must be in [1, "
                             f"{n_samples}] without bootstrap).")
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, n_samples)
            if not self.bootstrap and np.count_nonzero(sample_weight) < n_samples_drawn:
                raise ValueError(f"Cannot draw {n_samples_drawn} samples without "
                                 "replacement: fewer samples have a positive weight.")
        draws = (n_samples_drawn, n_drawn(self.max_features, n_features, "max_features"),
                 self.bootstrap, self.bootstrap_features)
        if not self.warm_start or not hasattr(self, "estimators_"):
            self.estimators_ = []
            self.estimators_features_ = []
        n_existing = len(self.estimators_)
        if self.n_estimators < n_existing:
            raise ValueError(f"n_estimators={self.n_estimators} must be larger or equal to "
                             f"len(estimators_)={n_existing} when warm_start==True")
        if self.n_estimators == n_existing:
            warnings.warn("Warm-start fitting without increasing n_estimators does not fit "
                          "new estimators.", UserWarning)
        seeds = draw_seeds(self.random_state, self.n_estimators)
        if n_existing:
            seeds[:n_existing] = self._seeds[:n_existing]
        bar = progress(self.n_estimators - n_existing, type(self).__name__, self.verbose)
        jobs = Parallel(n_jobs=self.n_jobs, prefer="threads", return_as="generator")(
            delayed(_fit_member)(clone(base), X, y, sample_weight, int(s), draws)
            for s in seeds[n_existing:]
        )
        fitted = []
        for member in jobs:
            fitted.append(member)
            bar.update(1)
        bar.close()
        self.estimators_ = self.estimators_ + [est for est, _ in fitted]
        self.estimators_features_ = self.estimators_features_ + [f for _, f in fitted]
        self.estimator_ = clone(base)
        self._seeds = seeds
        self._draws = draws
        self._n_samples = n_samples
        self._sample_weight = sample_weight
        return len(fitted)

    @property
    def estimators_samples_(self):
        """The samples each member was fitted on (indices into the training set, as
        drawn), regenerated from the members' seeds at each access."""
        check_is_fitted(self)
        return [_draw(int(seed), self._n_samples, self.n_features_in_, *self._draws,
                      sample_weight=self._sample_weight)[1]
                for seed in self._seeds[:len(self.estimators_)]]

    def _finite_mode(self):
        return "allow-nan" if get_tags(self._base()).input_tags.allow_nan else True

    def _validate_fit(self, X, y, y_numeric):
        check_params(self)
        return validate_data(self, X, y, dtype=[np.float64, np.float32],
                             ensure_all_finite=self._finite_mode(), y_numeric=y_numeric,
                             accept_sparse=self._sparse_formats())

    def _validate_X(self, X):
        return validate_data(self, X, dtype=[np.float64, np.float32],
                             ensure_all_finite=self._finite_mode(), reset=False,
                             accept_sparse=self._sparse_formats())

    def _sparse_formats(self):
        """Sparse input is passed on (as CSR or CSC) when the member accepts it."""
        return ["csr", "csc"] if get_tags(self._base()).input_tags.sparse else False

    def _average_members(self, X, member_output, total=0.0):
        """``member_output(member, X[:, member's features])`` averaged over the members,
        after validating X. The sum starts from ``total``: ``np.float64(0)`` sums in
        double whatever dtype the members return, ``0.0`` keeps theirs."""
        check_is_fitted(self)
        X = self._validate_X(X)
        for est, feats in zip(self.estimators_, self.estimators_features_):
            total = total + member_output(est, X[:, feats])
        return total / len(self.estimators_)

    def _oob_members(self, n_samples):
        """(member, features, out-of-bag rows) for each member."""
        for est, feats, samples in zip(self.estimators_, self.estimators_features_,
                                       self.estimators_samples_):
            mask = np.ones(n_samples, dtype=bool)
            mask[samples] = False
            yield est, feats, np.flatnonzero(mask)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = get_tags(self._base()).input_tags.allow_nan
        tags.input_tags.sparse = get_tags(self._base()).input_tags.sparse
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
    max_samples : int or float, default=None
        Samples drawn per member: None, n_samples; an int; a float, that fraction of
        n_samples (of the total sample weight when ``sample_weight`` is given).
    max_features : int or float, default=1.0
        Features drawn per member (a float: fraction of n_features).
    bootstrap : bool, default=True
        Draw samples with replacement (``False``: without).
    bootstrap_features : bool, default=False
        Draw features with replacement.
    oob_score : bool, default=False
        Compute the out-of-bag accuracy ``oob_score_``.
    warm_start : bool, default=False
        Keep the fitted members and add ``n_estimators - len(estimators_)`` new ones.
    n_jobs : int, default=None
        Parallel member fits through joblib (threads preferred, so a dask backend set with
        ``joblib.parallel_config`` takes over when active); ``None`` means one job unless a
        joblib context says otherwise (as in scikit-learn), ``-1`` all CPUs.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws and the members' own ``random_state``; every member's seed is drawn
        before any fit, so results do not depend on ``n_jobs``.
    verbose : int, default=0
        ``>= 1``: a progress bar over the members (tqdm, when installed).

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members (trained on class codes ``0..n_classes-1``).
    estimators_features_ : list of ndarray
        The features each member saw.
    estimators_samples_ : list of ndarray
        The samples each member was fitted on, as drawn.
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
    sample weights (the number of draws of each sample), the others the drawn rows, as in
    scikit-learn. ``sample_weight`` (of the ensemble) gives the probabilities with which
    the samples are drawn (scikit-learn 1.9's semantics), so members without
    ``sample_weight`` honour it too. ``len(bag)``, ``bag[i]`` and ``iter(bag)`` reach the
    members; ``estimators_samples_`` gives each member's drawn samples. Missing values
    are accepted when the member accepts them (the default tree does).

    Known debt (sklearn estimator checks): ``check_sample_weight_equivalence_on_dense_data``
    and ``..._on_sparse_data`` are expected to fail: bootstrap draws of rows make
    weights and repeated rows differ for a randomised ensemble (scikit-learn's
    bagging has the same debt).

    Raises
    ------
    skml.utils.InvalidParameterError
        (``ValueError``) For a hyper-parameter outside its range.
    ValueError
        ``oob_score`` without bootstrap (or with ``warm_start``), more samples than
        there are to draw without replacement, fewer ``n_estimators`` than fitted
        members with ``warm_start``.
    sklearn.exceptions.NotFittedError
        From every method before ``fit``.

    References
    ----------
    .. [1] L. Breiman, "Bagging predictors", Machine Learning 24(2), 1996.
    .. [2] H. Dai, "Note on Machine Learning" (preprint), Definition 3.9 and Example 24.

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
            Sample weights: the probabilities with which the samples are drawn.

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
        return self._average_members(X, self._member_proba, total=np.float64(0.0))

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

    @available_if(lambda self: hasattr(self._base(), "decision_function"))
    def decision_function(self, X):
        """Average of the members' decision functions (members that have one).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        score : ndarray of shape (n_samples,) or (n_samples, n_classes)
            One column per class in the order of ``classes_`` (a single column, raveled,
            for two classes).
        """
        return self._average_members(X, lambda est, Xf: est.decision_function(Xf))

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
    max_samples : int or float, default=None
        Samples drawn per member: None, n_samples; an int; a float, that fraction of
        n_samples (of the total sample weight when ``sample_weight`` is given).
    max_features : int or float, default=1.0
        Features drawn per member.
    bootstrap : bool, default=True
        Draw samples with replacement.
    bootstrap_features : bool, default=False
        Draw features with replacement.
    oob_score : bool, default=False
        Compute the out-of-bag R^2 ``oob_score_``.
    warm_start : bool, default=False
        Keep the fitted members and add ``n_estimators - len(estimators_)`` new ones.
    n_jobs : int, default=None
        Parallel member fits through joblib; ``None`` means one job unless a joblib
        context says otherwise (as in scikit-learn), ``-1`` all CPUs.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws and the members.
    verbose : int, default=0
        ``>= 1``: a progress bar over the members (tqdm, when installed).

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.
    estimators_features_ : list of ndarray
        The features each member saw.
    estimators_samples_ : list of ndarray
        The samples each member was fitted on, as drawn.
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
    and ``..._on_sparse_data`` are expected to fail, as for scikit-learn's
    bagging (bootstrap of rows).

    Raises
    ------
    skml.utils.InvalidParameterError, ValueError, sklearn.exceptions.NotFittedError
        As for :class:`BaggingClassifier`.

    References
    ----------
    .. [1] L. Breiman, "Bagging predictors", Machine Learning 24(2), 1996.
    .. [2] H. Dai, "Note on Machine Learning" (preprint), Definition 3.9 and Example 24.

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
            Sample weights: the probabilities with which the samples are drawn.

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
        return self._average_members(X, lambda est, Xf: est.predict(Xf),
                                     total=np.float64(0.0))
