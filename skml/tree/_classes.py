"""Decision trees (ID3 / C4.5 / CART) grown by the Cython splitter in ``skml._kernels._tree``."""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skml._kernels import _tree
from skml.tree._tree_model import Tree
from skml.utils import (
    Interval,
    InvalidParameterError,
    StrOptions,
    check_param,
    check_params,
    check_sample_weight,
)

__all__ = ["DecisionTreeClassifier", "DecisionTreeRegressor"]

# name -> code of the kernel's criteria (the kernel exports them)
CRITERIA_CLF = _tree.CLASSIFICATION_CRITERIA
CRITERIA_REG = _tree.REGRESSION_CRITERIA

_MAX_SEED = np.iinfo(np.int64).max
_DTYPES = [np.float64, np.float32]


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def scale_pow2(values, safe_range=None):
    """(values * 2**-e, e) with e the binary exponent of max |values| (0 for all zeros):
    an exact rescaling that brings the largest magnitude into [0.5, 1), so that sums of
    squares of targets (or of weights) neither overflow (values ~1e200) nor underflow
    (denormal weights ~1e-320). With ``safe_range=(lo, hi)``, values whose largest
    magnitude is within it are returned as they are (e = 0)."""
    top = float(np.max(np.abs(values))) if values.size else 0.0
    if top == 0.0 or not np.isfinite(top):
        return values, 0
    if safe_range is not None and safe_range[0] <= top <= safe_range[1]:
        return values, 0
    e = int(np.frexp(top)[1])
    return (np.ldexp(values, -e) if e else values), e


def resolve_max_features(max_features, n_features):
    """Number of features drawn at each split for ``max_features`` (already checked
    against the constraints; the bound that depends on the data is checked here)."""
    if max_features is None:
        return n_features
    if isinstance(max_features, str):
        fn = np.sqrt if max_features == "sqrt" else np.log2
        return max(1, int(fn(n_features)))
    if _is_int(max_features):
        check_param(max_features, "max_features", min_val=1, max_val=n_features)
        return int(max_features)
    # p/3 "rounded down" must not become p/3 - 1 through rounding of 1/3
    return max(1, int(max_features * n_features + 1e-9))


def validate_tree_X(est, X, y="no_validation", *, reset=True, y_numeric=False):
    """X as float64, or float32 when given float32 (thresholds stay in the input's
    precision), in its own memory layout; NaN allowed (missing values)."""
    if isinstance(y, str) and y == "no_validation":
        return validate_data(est, X, dtype=_DTYPES, ensure_all_finite="allow-nan",
                             reset=reset)
    X, y = validate_data(est, X, y, dtype=_DTYPES, ensure_all_finite="allow-nan",
                         y_numeric=y_numeric)
    if X.shape[0] >= 2**32 - 1:
        raise ValueError("skml trees support fewer than 2**32 - 1 samples.")
    return X, y


def prepare_split_data(X):
    """What the builder reads: (X32, X64). X32 is X rounded to float32 in Fortran order
    (one feature is one contiguous column: what the splitter gathers and sorts); X64 is
    float64 X itself (any layout, not copied), read where two values share a float32
    image and for the thresholds, or None for float32 X. Built once and shared by all
    the trees of a forest."""
    if X.dtype == np.float32:
        return np.asfortranarray(X), None
    with np.errstate(over="ignore"):  # beyond float32's range: +-inf, ordered by X64
        return np.asfortranarray(X, dtype=np.float32), X


def regression_targets(y):
    """Float64 targets scaled by a power of two (see ``scale_pow2``) and the exponent."""
    y = np.ascontiguousarray(y, dtype=np.float64)
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite.")
    return scale_pow2(y)


_TREE_CONSTRAINTS = {
    "max_depth": [Interval(numbers.Integral, 1, None), None],
    "min_samples_split": [Interval(numbers.Integral, 2, None),
                          Interval(numbers.Real, 0.0, 1.0, closed="right")],
    "min_samples_leaf": [Interval(numbers.Integral, 1, None),
                         Interval(numbers.Real, 0.0, 1.0, closed="neither")],
    "min_weight_fraction_leaf": [Interval(numbers.Real, 0.0, 0.5)],
    "max_features": [Interval(numbers.Integral, 1, None),
                     Interval(numbers.Real, 0.0, 1.0, closed="right"),
                     StrOptions({"sqrt", "log2"}), None],
    "random_state": ["random_state"],
    "min_impurity_decrease": [Interval(numbers.Real, 0.0, None)],
    "ccp_alpha": [Interval(numbers.Real, 0.0, None)],
}


def check_int_fraction_params(est):
    """The integer forms of min_samples_split / min_samples_leaf (an int 1 also passes the
    float constraint (0, 1], as 1.0 would)."""
    if _is_int(est.min_samples_split) and est.min_samples_split < 2:
        raise InvalidParameterError(
            f"min_samples_split must be an int in [2, inf] or a float in (0.0, 1.0], got "
            f"{est.min_samples_split!r}.")


class _BaseDecisionTree(BaseEstimator):
    """Shared fitting code; not public."""

    _criteria = {}
    _parameter_constraints = dict(_TREE_CONSTRAINTS)

    def _check_params(self):
        check_params(self)
        check_int_fraction_params(self)

    def _grow(self, data, y_codes, y_values, sample_weight, n_classes, seed, y_rank=None,
              y_exp=0):
        """Grow ``tree_`` on prepared data: ``data`` from ``prepare_split_data``, targets
        (scaled by 2**-y_exp for regression), weights (float64, non-negative). Used by
        ``fit`` and, without any re-validation, by the forests."""
        X32, X64 = data
        n_samples, n_features = X32.shape
        # weights are rescaled only when extreme: entropies (c log c) of rescaled counts
        # round differently, which would break exact ties differently
        sample_weight, w_exp = scale_pow2(sample_weight, safe_range=(2.0**-200, 2.0**200))
        samples = np.flatnonzero(sample_weight > 0).astype(np.intp)
        if samples.size == 0:
            raise ValueError("sample_weight is zero for every sample: there is nothing to fit.")
        if _is_int(self.min_samples_leaf):
            min_samples_leaf = int(self.min_samples_leaf)
        else:
            min_samples_leaf = max(1, int(np.ceil(self.min_samples_leaf * n_samples)))
        if _is_int(self.min_samples_split):
            min_samples_split = int(self.min_samples_split)
        else:
            min_samples_split = max(2, int(np.ceil(self.min_samples_split * n_samples)))
        min_samples_split = max(min_samples_split, 2 * min_samples_leaf)
        min_weight_leaf = self.min_weight_fraction_leaf * float(sample_weight.sum())
        max_depth = np.iinfo(np.int32).max if self.max_depth is None else int(self.max_depth)
        self.max_features_ = resolve_max_features(self.max_features, n_features)
        criterion = self._criteria[self.criterion]
        # impurities are in units of y**2 (squared error), of y (absolute error), or none
        impurity_exp = {CRITERIA_REG["squared_error"]: 2 * y_exp,
                        CRITERIA_REG["absolute_error"]: y_exp}.get(criterion, 0)
        dummy_i = np.zeros(1, dtype=np.intp)
        dummy_f = np.zeros(1, dtype=np.float64)
        if criterion == CRITERIA_REG["absolute_error"] and y_rank is None:
            y_rank = np.empty(n_samples, dtype=np.intp)
            y_rank[np.argsort(y_values, kind="stable")] = np.arange(n_samples)
        out = _tree.build_tree(
            X32,
            X64,
            dummy_i if y_codes is None else y_codes,
            dummy_f if y_values is None else y_values,
            sample_weight,
            dummy_i if y_rank is None else y_rank,
            samples,
            criterion,
            n_classes,
            max_depth,
            min_samples_split,
            min_samples_leaf,
            min_weight_leaf,
            float(np.ldexp(self.min_impurity_decrease, -impurity_exp)),
            self.max_features_,
            int(seed),
        )
        if y_exp and y_codes is None:
            out["value"] = np.ldexp(out["value"], y_exp)
        tree = Tree(n_features, n_classes, out, out["max_depth"],
                    input_dtype=np.float32 if X64 is None else np.float64,
                    impurity_exp=impurity_exp, weight_exp=w_exp)
        if self.ccp_alpha > 0.0:
            keep, leaf = _tree.ccp_prune(tree.children_left, tree.children_right,
                                         tree._weight_scaled, tree._impurity_scaled,
                                         float(np.ldexp(self.ccp_alpha, -impurity_exp)),
                                         False)
            tree = tree.pruned(keep, leaf)
        self.tree_ = tree
        self.n_outputs_ = 1
        return self

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_DTYPES, order="C", ensure_all_finite="allow-nan",
                          reset=False)
        # the training data's precision: a tree fitted on float32 compares float32 values
        return np.ascontiguousarray(X, dtype=self.tree_.input_dtype)

    def apply(self, X):
        """Index of the leaf that each sample ends up in.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; NaN allowed.

        Returns
        -------
        X_leaves : ndarray of shape (n_samples,)
            Node ids (pre-order numbering of ``tree_``).
        """
        X = self._validate_X_predict(X)
        return self.tree_.apply(X)

    def decision_path(self, X):
        """Nodes each sample goes through.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; NaN allowed.

        Returns
        -------
        indicator : scipy.sparse.csr_matrix of shape (n_samples, n_nodes)
            ``indicator[i, j]`` is 1 when sample ``i`` goes through node ``j``.
        """
        X = self._validate_X_predict(X)
        return self.tree_.decision_path(X)

    def get_depth(self):
        """Depth of the tree (a single leaf has depth 0).

        Returns
        -------
        depth : int
        """
        check_is_fitted(self)
        return self.tree_.max_depth

    def get_n_leaves(self):
        """Number of leaves.

        Returns
        -------
        n_leaves : int
        """
        check_is_fitted(self)
        return self.tree_.n_leaves

    @property
    def feature_importances_(self):
        """Normalised total weighted impurity decrease per feature (sums to 1 unless the
        tree is a single leaf, then all zeros)."""
        check_is_fitted(self)
        return self.tree_.compute_feature_importances()

    def cost_complexity_pruning_path(self, X, y, sample_weight=None):
        """Effective alphas and total leaf impurities of minimal cost-complexity pruning.

        Grows the full tree (``ccp_alpha=0``) and collapses its weakest link again and
        again: the subtree whose collapse raises the total leaf impurity
        R(T) = sum over leaves of (leaf weight / total weight) * impurity the least per
        leaf removed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        path : sklearn.utils.Bunch
            ``ccp_alphas`` (increasing, starting at 0) and ``impurities``: R(T) of the
            pruned tree for each alpha. Fitting with ``ccp_alpha`` between two consecutive
            alphas gives the tree of the lower one.
        """
        est = clone(self).set_params(ccp_alpha=0.0)
        est.fit(X, y, sample_weight=sample_weight)
        t = est.tree_
        alphas, impurities = _tree.ccp_prune(t.children_left, t.children_right,
                                             t._weight_scaled, t._impurity_scaled, 0.0, True)
        return Bunch(ccp_alphas=np.ldexp(alphas, t._impurity_exp),
                     impurities=np.ldexp(impurities, t._impurity_exp))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


_MISSING_DOC = """
    Missing values (C4.5). ``X`` may contain NaN, in training and in prediction. When a
    split is searched on a feature, the samples whose value of that feature is missing are
    left out of its gain, and that gain is multiplied by the fraction of the node's weight
    whose value is known (C4.5's rule, so a feature that is often missing is penalised).
    Once the split is chosen, the missing samples all go to one child: the one that gives
    the lower total weighted impurity (ties: the child with more known samples); the
    direction is learned per node (``tree_.missing_go_to_left``) and prediction sends NaN
    the same way. A node whose feature had no missing value in training sends NaN at
    prediction time to the child that received more training samples. A feature that is
    missing (or constant) for every sample of a node is never chosen there; in particular
    an all-NaN column is never used for a split."""


class DecisionTreeClassifier(ClassifierMixin, _BaseDecisionTree):
    """A decision tree classifier: ID3 / C4.5 (``criterion="entropy"`` or ``"gain_ratio"``)
    or CART (``criterion="gini"``), with binary splits at thresholds on continuous features.

    The tree is grown depth first by a Cython splitter that releases the GIL: at each node
    and for each candidate feature the node's samples are sorted once by that feature and
    one linear scan of the running weighted class counts evaluates every threshold between
    two distinct consecutive values (thresholds are midpoints, as in scikit-learn).

    Parameters
    ----------
    criterion : {"gini", "entropy", "log_loss", "gain_ratio"}, default="gini"
        Split quality. ``"entropy"`` (alias ``"log_loss"``) is the information gain of
        ID3 / C4.5; ``"gain_ratio"`` is C4.5's normalised gain: each feature's threshold is
        chosen by information gain, then among the features whose gain is at least the
        average gain of the candidate features, the one with the largest
        gain / split information wins (the split information is the entropy of the
        children's weight fractions, missing values counting as a third branch).
        ``"gini"`` is CART's Gini impurity.
    max_depth : int, default=None
        Maximal depth (the root has depth 0); ``None``: grow until the leaves are pure or
        too small. Must be >= 1.
    min_samples_split : int or float, default=2
        Minimal number of samples to split a node (a float: fraction of the samples).
    min_samples_leaf : int or float, default=1
        Minimal number of samples in each child (a float: fraction of the samples). With
        missing values this counts the samples whose value is known.
    min_weight_fraction_leaf : float, default=0.0
        Minimal fraction of the total sample weight in each child.
    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Features drawn (without replacement, with ``random_state``) at each node; ``None``
        means all features, visited in index order, and then the tree is deterministic.
        If every drawn feature is constant at a node, drawing goes on.
    random_state : int, RandomState instance or None, default=None
        Seeds the feature draws (used only when ``max_features`` < n_features).
    min_impurity_decrease : float, default=0.0
        A node is split only if the weighted impurity decrease
        ``N_t / N * (impurity - N_t_R / N_t * right_impurity - N_t_L / N_t * left_impurity)``
        is at least this (weights, not counts).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.
    ccp_alpha : float, default=0.0
        Complexity parameter of minimal cost-complexity pruning after growth: the subtree
        with the largest cost complexity smaller than ``ccp_alpha`` is kept.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` had string column names.
    max_features_ : int
        Number of features drawn per node.
    n_outputs_ : int
        Always 1.
    tree_ : skml.tree._tree_model.Tree
        The fitted tree in flat arrays (scikit-learn's ``tree_`` attribute names).
    feature_importances_ : ndarray of shape (n_features,)
        Normalised total weighted impurity decrease per feature.

    Notes
    -----
    Ties between features (two features giving the same best gain) go to the feature
    visited first, i.e. the lowest index when ``max_features=None``; scikit-learn breaks
    them at random, so the two can differ where ties exist and agree node by node
    elsewhere.
    {missing}

    ``sample_weight`` is exact: an integer weight gives the same tree as repeating the
    sample. Samples of zero weight are ignored; a single sample (or a single class) gives
    a one-leaf tree.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skml.tree import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DecisionTreeClassifier(max_depth=2).fit(X, y)
    >>> clf.get_depth(), clf.get_n_leaves()
    (2, 3)
    >>> round(clf.score(X, y), 3)
    0.96
    """

    _criteria = CRITERIA_CLF
    _parameter_constraints = {
        "criterion": [StrOptions(set(CRITERIA_CLF))],
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
    }

    def __init__(self, *, criterion="gini", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_features=None,
                 random_state=None, min_impurity_decrease=0.0, class_weight=None,
                 ccp_alpha=0.0):
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.min_impurity_decrease = min_impurity_decrease
        self.class_weight = class_weight
        self.ccp_alpha = ccp_alpha

    def fit(self, X, y, sample_weight=None):
        """Grow the tree.

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
        self : DecisionTreeClassifier
        """
        self._check_params()
        X, y = validate_tree_X(self, X, y)
        check_classification_targets(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        self.n_classes_ = len(self.classes_)
        sw = check_sample_weight(sample_weight, X.shape[0], allow_zero_sum=True)
        if self.class_weight is not None:
            sw *= compute_sample_weight(self.class_weight, y)
        seed = check_random_state(self.random_state).randint(_MAX_SEED, dtype=np.int64)
        return self._grow(prepare_split_data(X), y_codes.astype(np.intp), None, sw,
                          self.n_classes_, seed)

    def predict_proba(self, X):
        """Class fractions (weighted) of the leaf each sample reaches.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; NaN allowed.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        X = self._validate_X_predict(X)
        return self.tree_.predict(X)[:, 0, :]

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
        """Most frequent (weighted) class of the leaf each sample reaches.

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


class DecisionTreeRegressor(RegressorMixin, _BaseDecisionTree):
    """A regression tree (CART): binary splits at thresholds minimising the squared or
    absolute error.

    The splitter is the one of :class:`DecisionTreeClassifier`: per node and feature, one
    sort and one linear scan of running weighted sums (``"squared_error"``), or of prefix
    and suffix absolute deviations from the weighted median kept by a Fenwick tree over
    the node's target ranks (``"absolute_error"``, O(n log n) per node and feature).

    Parameters
    ----------
    criterion : {"squared_error", "absolute_error"}, default="squared_error"
        Split quality: variance reduction (leaves predict the weighted mean) or reduction of
        the mean absolute deviation from the weighted median (leaves predict the weighted
        median).
    max_depth : int, default=None
        Maximal depth; ``None``: unlimited. Must be >= 1.
    min_samples_split : int or float, default=2
        Minimal number of samples to split a node.
    min_samples_leaf : int or float, default=1
        Minimal number of samples in each child.
    min_weight_fraction_leaf : float, default=0.0
        Minimal fraction of the total sample weight in each child.
    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Features drawn at each node; ``None``: all, in index order (deterministic).
    random_state : int, RandomState instance or None, default=None
        Seeds the feature draws.
    min_impurity_decrease : float, default=0.0
        Minimal weighted impurity decrease of a split.
    ccp_alpha : float, default=0.0
        Complexity parameter of minimal cost-complexity pruning.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` had string column names.
    max_features_ : int
        Number of features drawn per node.
    n_outputs_ : int
        Always 1.
    tree_ : skml.tree._tree_model.Tree
        The fitted tree in flat arrays.
    feature_importances_ : ndarray of shape (n_features,)
        Normalised total weighted impurity decrease per feature.

    Notes
    -----
    Ties between features go to the feature visited first (lowest index when
    ``max_features=None``).
    {missing}

    Examples
    --------
    >>> import numpy as np
    >>> from skml.tree import DecisionTreeRegressor
    >>> X = np.arange(10.0).reshape(-1, 1)
    >>> reg = DecisionTreeRegressor(max_depth=1).fit(X, (X[:, 0] > 4.5).astype(float))
    >>> float(reg.tree_.threshold[0]), reg.predict([[2.0], [7.0]]).tolist()
    (4.5, [0.0, 1.0])
    """

    _criteria = CRITERIA_REG
    _parameter_constraints = {"criterion": [StrOptions(set(CRITERIA_REG))]}

    def __init__(self, *, criterion="squared_error", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_features=None,
                 random_state=None, min_impurity_decrease=0.0, ccp_alpha=0.0):
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.min_impurity_decrease = min_impurity_decrease
        self.ccp_alpha = ccp_alpha

    def fit(self, X, y, sample_weight=None):
        """Grow the tree.

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
        self : DecisionTreeRegressor
        """
        self._check_params()
        X, y = validate_tree_X(self, X, y, y_numeric=True)
        y, y_exp = regression_targets(y)
        sw = check_sample_weight(sample_weight, X.shape[0], allow_zero_sum=True)
        seed = check_random_state(self.random_state).randint(_MAX_SEED, dtype=np.int64)
        return self._grow(prepare_split_data(X), None, y, sw, 1, seed, y_exp=y_exp)

    def predict(self, X):
        """Leaf value (weighted mean or median of the training targets there).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; NaN allowed.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        X = self._validate_X_predict(X)
        return self.tree_.predict(X)[:, 0, 0]


for _cls in (DecisionTreeClassifier, DecisionTreeRegressor):
    _cls.__doc__ = _cls.__doc__.replace("{missing}", _MISSING_DOC)
del _cls
