"""Random forests (Definition 3.10 of the notes): bagged trees that also draw a random
subset of the features at every split."""
import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skml._kernels import _tree
from skml.ensemble._base import bootstrap_indices, draw_bootstrap, draw_seeds, n_drawn
from skml.tree import DecisionTreeClassifier, DecisionTreeRegressor
from skml.tree._classes import (
    _TREE_CONSTRAINTS,
    CRITERIA_CLF,
    CRITERIA_REG,
    check_int_fraction_params,
    prepare_split_data,
    regression_targets,
    validate_tree_X,
)
from skml.tree._tree_model import pack_trees
from skml.utils import Interval, StrOptions, check_params, check_sample_weight

__all__ = ["RandomForestClassifier", "RandomForestRegressor"]

_MAX_SEED = np.iinfo(np.int64).max
_TREE_PARAMS = ("criterion", "max_depth", "min_samples_split", "min_samples_leaf",
                "min_weight_fraction_leaf", "max_features", "min_impurity_decrease",
                "ccp_alpha")


def _fit_tree(tree, data, y_codes, y_values, sample_weight, n_classes, seed, n_bootstrap,
              y_rank, balanced_subsample, y_exp):
    """Fit one member; module level so that joblib (threads, processes or dask) can ship
    it. The bootstrap is a vector of counts used as sample weights, so X is never copied."""
    rs = np.random.RandomState(seed)
    n_samples = data[0].shape[0]
    n_redraws = 0
    if n_bootstrap is not None:
        idx, n_redraws = draw_bootstrap(rs, n_samples, n_bootstrap, sample_weight)
        w = sample_weight * np.bincount(idx, minlength=n_samples)
        if balanced_subsample:
            w *= compute_sample_weight("balanced", y_codes, indices=idx)
    else:
        w = sample_weight
    tree._grow(data, y_codes, y_values, w, n_classes, rs.randint(_MAX_SEED, dtype=np.int64),
               y_rank, y_exp)
    return tree, n_redraws


def _row_blocks(n_rows, n_jobs):
    n_blocks = max(1, min(effective_n_jobs(n_jobs), (n_rows + 1023) // 1024))
    edges = np.linspace(0, n_rows, n_blocks + 1).astype(np.intp)
    return list(zip(edges[:-1], edges[1:]))


class _BaseForest(BaseEstimator):
    """Shared code of the two forests; not public."""

    _tree_class = None
    _parameter_constraints = {
        **_TREE_CONSTRAINTS,
        "n_estimators": [Interval(numbers.Integral, 1, None)],
        "bootstrap": ["boolean"],
        "oob_score": ["boolean"],
        "n_jobs": ["n_jobs"],
        "max_samples": [None, Interval(numbers.Integral, 1, None),
                        Interval(numbers.Real, 0.0, 1.0, closed="right")],
    }

    def _make_tree(self, random_state=None):
        params = {name: getattr(self, name) for name in _TREE_PARAMS}
        return self._tree_class(random_state=random_state, **params)

    def _check_forest_params(self):
        check_params(self)
        check_int_fraction_params(self)
        if self.oob_score and not self.bootstrap:
            raise ValueError("oob_score=True needs bootstrap=True: without bootstrap there "
                             "are no out-of-bag samples.")
        if self.max_samples is not None and not self.bootstrap:
            raise ValueError("max_samples can only be set with bootstrap=True.")

    def _fit(self, X, y_codes, y_values, sample_weight, n_classes, y_exp=0):
        n_samples = X.shape[0]
        n_bootstrap = (n_drawn(self.max_samples, n_samples, "max_samples")
                       if self.bootstrap else None)
        y_rank = None
        if self.criterion == "absolute_error":
            y_rank = np.empty(n_samples, dtype=np.intp)
            y_rank[np.argsort(y_values, kind="stable")] = np.arange(n_samples)
        balanced_subsample = getattr(self, "class_weight", None) == "balanced_subsample"
        seeds = draw_seeds(self.random_state, self.n_estimators)
        trees = [self._make_tree(random_state=int(s)) for s in seeds]
        data = prepare_split_data(X)
        trees = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(_fit_tree)(tree, data, y_codes, y_values, sample_weight, n_classes, int(s),
                               n_bootstrap, y_rank, balanced_subsample, y_exp)
            for tree, s in zip(trees, seeds)
        )
        self._redraws = [r for _, r in trees]
        trees = [t for t, _ in trees]
        for tree in trees:
            tree.n_features_in_ = X.shape[1]
            if y_codes is not None:
                tree.classes_ = np.arange(n_classes)
                tree.n_classes_ = n_classes
        self.estimators_ = trees
        self.estimator_ = self._make_tree()
        self.n_outputs_ = 1
        self._seeds = seeds
        self._n_bootstrap = n_bootstrap
        return self

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        if not self.estimators_:
            raise ValueError("the forest has no trees (estimators_ is empty).")
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C",
                          ensure_all_finite="allow-nan", reset=False)
        # the training data's precision (thresholds of float32 data compare float32 values)
        return np.ascontiguousarray(X, dtype=self.estimators_[0].tree_.input_dtype)

    def _mean_over_trees(self, X):
        """Average of the trees' leaf values (class fractions or targets), computed by the
        Cython kernel on blocks of rows in joblib threads (shared memory).

        The trees are packed for the kernel at every call (O(total nodes), without the
        GIL), so the result always reflects ``estimators_`` as it is now: after merging
        forests (``a.estimators_ += b.estimators_``), slicing, or refitting a member."""
        X = self._validate_X_predict(X)
        packed = pack_trees([t.tree_ for t in self.estimators_])
        out = np.zeros((X.shape[0], packed[-1].shape[1]), dtype=np.float64)
        blocks = _row_blocks(X.shape[0], self.n_jobs)
        Parallel(n_jobs=len(blocks), require="sharedmem")(
            delayed(_tree.forest_accumulate)(X, *packed, out, start, end)
            for start, end in blocks
        )
        out /= len(self.estimators_)
        return out

    def apply(self, X):
        """Leaf reached in every tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; NaN allowed.

        Returns
        -------
        X_leaves : ndarray of shape (n_samples, n_estimators)
        """
        X = self._validate_X_predict(X)
        return np.column_stack([t.tree_.apply(X) for t in self.estimators_])

    @property
    def feature_importances_(self):
        """Mean over the trees of their normalised impurity-decrease importances
        (single-leaf trees left out), normalised to sum 1."""
        check_is_fitted(self)
        imps = [t.tree_.compute_feature_importances() for t in self.estimators_
                if t.tree_.node_count > 1]
        if not imps:
            return np.zeros(self.n_features_in_, dtype=np.float64)
        mean = np.mean(imps, axis=0)
        return mean / mean.sum()

    def _oob_sums(self, X, width):
        n = X.shape[0]
        Xc = np.ascontiguousarray(X)
        sums = np.zeros((n, width))
        counts = np.zeros(n, dtype=np.intp)
        for tree, seed, redraws in zip(self.estimators_, self._seeds, self._redraws):
            drawn = np.zeros(n, dtype=bool)
            drawn[bootstrap_indices(int(seed), n, self._n_bootstrap, redraws)] = True
            oob = np.flatnonzero(~drawn)
            if oob.size == 0:
                continue
            sums[oob] += tree.tree_.predict(Xc[oob])[:, 0, :width]
            counts[oob] += 1
        if np.any(counts == 0):
            warnings.warn("Some inputs do not have OOB scores: every tree saw them. Use more "
                          "trees; their OOB estimate is NaN.", UserWarning)
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums / counts[:, None], counts > 0

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


_FOREST_DOC = """
    Trees are fitted in joblib threads (``prefer="threads"``): the Cython builder releases
    the GIL, so threads run in parallel, and under ``joblib.parallel_config(backend="dask")``
    the fits run on a dask cluster instead. The seed of every tree (its bootstrap and its
    feature draws) is drawn from ``random_state`` before any fit, so the forest is the same
    for any ``n_jobs`` and any backend. The bootstrap sample is passed to the tree as
    integer sample weights (exact: the same tree as the repeated rows).

    Missing values: NaN in ``X`` is handled by every tree as in C4.5 (see
    :class:`skml.tree.DecisionTreeClassifier`)."""


class RandomForestClassifier(ClassifierMixin, _BaseForest):
    """A random forest classifier (Breiman 2001; Definition 3.10 of the notes).

    Each tree is grown on a bootstrap sample and considers only a random subset of
    ``max_features`` features at every split; the forest averages the trees' class
    probabilities (soft voting).

    Defaults follow footnote 10 of the notes: ``max_features="sqrt"`` (``floor(sqrt(p))``
    features per split) and ``min_samples_leaf=1``. scikit-learn's classifier uses the same
    two; its regressor does not (see :class:`RandomForestRegressor`).

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.
    criterion : {"gini", "entropy", "log_loss", "gain_ratio"}, default="gini"
        Split criterion of the trees.
    max_depth : int, default=None
        Maximal depth of the trees.
    min_samples_split : int or float, default=2
        Minimal samples to split a node.
    min_samples_leaf : int or float, default=1
        Minimal (distinct) samples in a leaf.
    min_weight_fraction_leaf : float, default=0.0
        Minimal fraction of the total weight in a leaf.
    max_features : int, float, {"sqrt", "log2"} or None, default="sqrt"
        Features drawn at every split.
    min_impurity_decrease : float, default=0.0
        Minimal weighted impurity decrease of a split.
    bootstrap : bool, default=True
        Draw a bootstrap sample per tree; ``False``: every tree sees all samples.
    oob_score : bool, default=False
        Compute the out-of-bag accuracy ``oob_score_``.
    n_jobs : int, default=None
        Parallel tree fits (joblib threads; ``None``: 1 unless a joblib context says
        otherwise, ``-1``: all CPUs). Prediction uses as many threads over blocks of rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstraps and the feature draws.
    class_weight : dict, "balanced", "balanced_subsample" or None, default=None
        Class weights; ``"balanced_subsample"`` computes them on each bootstrap sample.
    ccp_alpha : float, default=0.0
        Cost-complexity pruning of each tree.
    max_samples : int or float, default=None
        Size of each bootstrap sample (a float: fraction of n_samples); None: n_samples.

    Attributes
    ----------
    estimators_ : list of DecisionTreeClassifier
        The fitted trees (trained on class codes ``0..n_classes-1``).
    estimator_ : DecisionTreeClassifier
        The unfitted template of the trees.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` had string column names.
    n_outputs_ : int
        Always 1.
    feature_importances_ : ndarray of shape (n_features,)
        Mean impurity-decrease importance over the trees.
    oob_score_ : float
        Out-of-bag accuracy (with ``oob_score=True``).
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        Out-of-bag class probabilities (NaN for samples that every tree saw).

    Notes
    -----
    {forest}

    Known debt (sklearn estimator checks): ``check_sample_weight_equivalence_on_dense_data``
    is expected to fail: the bootstrap draws rows, so weights are not exactly equivalent
    to repeated rows for a randomised ensemble (scikit-learn's forest has the same debt).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skml.ensemble import RandomForestClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    >>> forest.score(X, y)
    1.0
    """

    _tree_class = DecisionTreeClassifier
    _parameter_constraints = {
        "criterion": [StrOptions(set(CRITERIA_CLF))],
        "class_weight": [dict, list, StrOptions({"balanced", "balanced_subsample"}), None],
    }

    def __init__(self, n_estimators=100, *, criterion="gini", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features="sqrt", min_impurity_decrease=0.0, bootstrap=True,
                 oob_score=False, n_jobs=None, random_state=None, class_weight=None,
                 ccp_alpha=0.0, max_samples=None):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.class_weight = class_weight
        self.ccp_alpha = ccp_alpha
        self.max_samples = max_samples

    def fit(self, X, y, sample_weight=None):
        """Fit the forest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (float32 stays float32, anything else becomes float64; the
            thresholds keep that precision); NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : RandomForestClassifier
        """
        self._check_forest_params()
        X, y = validate_tree_X(self, X, y)
        check_classification_targets(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        self.n_classes_ = len(self.classes_)
        y_codes = y_codes.astype(np.intp)
        sw = check_sample_weight(sample_weight, X.shape[0], allow_zero_sum=True)
        if self.class_weight is not None and self.class_weight != "balanced_subsample":
            sw *= compute_sample_weight(self.class_weight, y)
        self._fit(X, y_codes, None, sw, self.n_classes_)
        if self.oob_score:
            proba, seen = self._oob_sums(X, self.n_classes_)
            self.oob_decision_function_ = proba
            self.oob_score_ = accuracy_score(y_codes[seen], np.argmax(proba[seen], axis=1))
        return self

    def predict_proba(self, X):
        """Mean class probabilities of the trees.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; NaN allowed.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._mean_over_trees(X)

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
            Input samples; NaN allowed.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_.take(np.argmax(proba, axis=1))


class RandomForestRegressor(RegressorMixin, _BaseForest):
    """A random forest regressor (Breiman 2001; Definition 3.10 of the notes): the mean of
    regression trees, each grown on a bootstrap sample with a random feature subset at
    every split.

    Defaults follow footnote 10 of the notes (the inventors' recommendation):
    ``max_features=1/3`` (``floor(p / 3)`` features per split, at least 1) and
    ``min_samples_leaf=5``. **scikit-learn's defaults differ**: its
    ``RandomForestRegressor`` uses ``max_features=1.0`` (all features, i.e. plain bagging of
    trees) and ``min_samples_leaf=1``; pass those to reproduce it.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.
    criterion : {"squared_error", "absolute_error"}, default="squared_error"
        Split criterion of the trees.
    max_depth : int, default=None
        Maximal depth of the trees.
    min_samples_split : int or float, default=2
        Minimal samples to split a node.
    min_samples_leaf : int or float, default=5
        Minimal (distinct) samples in a leaf (footnote 10: node size 5).
    min_weight_fraction_leaf : float, default=0.0
        Minimal fraction of the total weight in a leaf.
    max_features : int, float, {"sqrt", "log2"} or None, default=1/3
        Features drawn at every split (a float: that fraction of p, rounded down).
    min_impurity_decrease : float, default=0.0
        Minimal weighted impurity decrease of a split.
    bootstrap : bool, default=True
        Draw a bootstrap sample per tree.
    oob_score : bool, default=False
        Compute the out-of-bag R^2 ``oob_score_``.
    n_jobs : int, default=None
        Parallel tree fits (joblib threads).
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstraps and the feature draws.
    ccp_alpha : float, default=0.0
        Cost-complexity pruning of each tree.
    max_samples : int or float, default=None
        Size of each bootstrap sample.

    Attributes
    ----------
    estimators_ : list of DecisionTreeRegressor
        The fitted trees.
    estimator_ : DecisionTreeRegressor
        The unfitted template of the trees.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` had string column names.
    n_outputs_ : int
        Always 1.
    feature_importances_ : ndarray of shape (n_features,)
        Mean impurity-decrease importance over the trees.
    oob_score_ : float
        Out-of-bag R^2 (with ``oob_score=True``).
    oob_prediction_ : ndarray of shape (n_samples,)
        Out-of-bag predictions (NaN for samples that every tree saw).

    Notes
    -----
    {forest}

    Known debt (sklearn estimator checks): ``check_sample_weight_equivalence_on_dense_data``
    is expected to fail, as for scikit-learn's forest (bootstrap of rows).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skml.ensemble import RandomForestRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> forest = RandomForestRegressor(n_estimators=50, oob_score=True, random_state=0)
    >>> forest.fit(X, y).max_features, forest.estimators_[0].max_features_
    (0.3333333333333333, 3)
    >>> bool(forest.oob_score_ > 0.35)
    True
    """

    _tree_class = DecisionTreeRegressor
    _parameter_constraints = {"criterion": [StrOptions(set(CRITERIA_REG))]}

    def __init__(self, n_estimators=100, *, criterion="squared_error", max_depth=None,
                 min_samples_split=2, min_samples_leaf=5, min_weight_fraction_leaf=0.0,
                 max_features=1 / 3, min_impurity_decrease=0.0, bootstrap=True,
                 oob_score=False, n_jobs=None, random_state=None, ccp_alpha=0.0,
                 max_samples=None):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.ccp_alpha = ccp_alpha
        self.max_samples = max_samples

    def fit(self, X, y, sample_weight=None):
        """Fit the forest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (float32 stays float32, anything else becomes float64; the
            thresholds keep that precision); NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : RandomForestRegressor
        """
        self._check_forest_params()
        X, y = validate_tree_X(self, X, y, y_numeric=True)
        y_scaled, y_exp = regression_targets(y)
        sw = check_sample_weight(sample_weight, X.shape[0], allow_zero_sum=True)
        self._fit(X, None, y_scaled, sw, 1, y_exp)
        if self.oob_score:
            pred, seen = self._oob_sums(X, 1)
            self.oob_prediction_ = pred[:, 0]
            self.oob_score_ = r2_score(np.asarray(y, dtype=np.float64)[seen], pred[seen, 0])
        return self

    def predict(self, X):
        """Mean prediction of the trees.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; NaN allowed.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._mean_over_trees(X)[:, 0]


for _cls in (RandomForestClassifier, RandomForestRegressor):
    _cls.__doc__ = _cls.__doc__.replace("{forest}", _FOREST_DOC.strip("\n")[4:])
del _cls
