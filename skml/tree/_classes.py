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
from skml.utils import check_param

__all__ = ["DecisionTreeClassifier", "DecisionTreeRegressor"]

# Criterion codes of skml/_kernels/_tree.pyx (keep in sync with its enum).
CRITERIA_CLF = {"gini": 0, "entropy": 1, "log_loss": 1, "gain_ratio": 2}
CRITERIA_REG = {"squared_error": 3, "absolute_error": 4}

_MAX_SEED = np.iinfo(np.int64).max


def check_sample_weight(sample_weight, n_samples):
    """Float64 copy of ``sample_weight`` (ones when None); errors for a wrong shape,
    non-finite or negative entries."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    sw = np.asarray(sample_weight)
    if sw.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be numeric, got dtype {sw.dtype}.")
    sw = sw.astype(np.float64)  # always a copy: the caller's array is never modified
    if sw.ndim == 0:
        sw = np.full(n_samples, float(sw))
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise ValueError(f"sample_weight.shape == {sw.shape}, expected ({n_samples},).")
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight must be finite.")
    if np.any(sw < 0):
        raise ValueError("sample_weight must be non-negative: negative weights are not "
                         "supported by decision trees.")
    return sw


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def resolve_max_features(max_features, n_features):
    """Number of features drawn at each split for ``max_features``."""
    if max_features is None:
        return n_features
    if isinstance(max_features, str):
        check_param(max_features, "max_features", options=("sqrt", "log2"))
        fn = np.sqrt if max_features == "sqrt" else np.log2
        return max(1, int(fn(n_features)))
    check_param(max_features, "max_features", types=(numbers.Integral, numbers.Real, str,
                                                     type(None)))
    if _is_int(max_features):
        check_param(max_features, "max_features", min_val=1, max_val=n_features)
        return int(max_features)
    check_param(max_features, "max_features", min_val=0.0, max_val=1.0, closed="right")
    # p/3 "rounded down" must not become p/3 - 1 through rounding of 1/3
    return max(1, int(max_features * n_features + 1e-9))


class _BaseDecisionTree(BaseEstimator):
    """Shared fitting code; not public."""

    _criteria = {}

    def _check_params(self):
        check_param(self.criterion, "criterion", types=(str,), options=tuple(self._criteria))
        check_param(self.max_depth, "max_depth", types=(numbers.Integral, type(None)))
        if self.max_depth is not None:
            check_param(self.max_depth, "max_depth", min_val=1)
        check_param(self.min_samples_split, "min_samples_split",
                    types=(numbers.Integral, numbers.Real))
        if _is_int(self.min_samples_split):
            check_param(self.min_samples_split, "min_samples_split", min_val=2)
        else:
            check_param(self.min_samples_split, "min_samples_split", min_val=0.0, max_val=1.0,
                        closed="right")
        check_param(self.min_samples_leaf, "min_samples_leaf",
                    types=(numbers.Integral, numbers.Real))
        if _is_int(self.min_samples_leaf):
            check_param(self.min_samples_leaf, "min_samples_leaf", min_val=1)
        else:
            check_param(self.min_samples_leaf, "min_samples_leaf", min_val=0.0, max_val=1.0,
                        closed="neither")
        check_param(self.min_weight_fraction_leaf, "min_weight_fraction_leaf",
                    types=(numbers.Real,), min_val=0.0, max_val=0.5)
        check_param(self.min_impurity_decrease, "min_impurity_decrease",
                    types=(numbers.Real,), min_val=0.0)
        check_param(self.ccp_alpha, "ccp_alpha", types=(numbers.Real,), min_val=0.0)
        if self.max_features is not None and not isinstance(self.max_features, str):
            check_param(self.max_features, "max_features",
                        types=(numbers.Integral, numbers.Real))

    def _grow(self, X, y_codes, y_values, sample_weight, n_classes, seed, y_rank=None):
        """Grow ``tree_`` on prepared data: ``X`` Fortran float32, targets, weights (float64,
        non-negative). Used by ``fit`` and, without any re-validation, by the forests."""
        n_samples, n_features = X.shape
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
        dummy_i = np.zeros(1, dtype=np.intp)
        dummy_f = np.zeros(1, dtype=np.float64)
        if criterion == CRITERIA_REG["absolute_error"] and y_rank is None:
            y_rank = np.empty(n_samples, dtype=np.intp)
            y_rank[np.argsort(y_values, kind="stable")] = np.arange(n_samples)
        out = _tree.build_tree(
            X,
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
            float(self.min_impurity_decrease),
            self.max_features_,
            int(seed),
        )
        tree = Tree(n_features, n_classes, out, out["max_depth"])
        if self.ccp_alpha > 0.0:
            keep, leaf = _tree.ccp_prune(tree.children_left, tree.children_right,
                                         tree.weighted_n_node_samples, tree.impurity,
                                         float(self.ccp_alpha), False)
            tree = tree.pruned(keep, leaf)
        self.tree_ = tree
        self.n_outputs_ = 1
        return self

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=np.float32, order="C",
                             ensure_all_finite="allow-nan", reset=False)

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
        return self.tree_.apply(self._validate_X_predict(X))

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
        return self.tree_.decision_path(self._validate_X_predict(X))

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
                                             t.weighted_n_node_samples, t.impurity, 0.0, True)
        return Bunch(ccp_alphas=alphas, impurities=impurities)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _validate_fit_input(est, X, y, y_numeric):
    X, y = validate_data(est, X, y, dtype=np.float32, order="F",
                         ensure_all_finite="allow-nan", y_numeric=y_numeric)
    if X.shape[0] >= 2**32 - 1:
        raise ValueError("skml trees support fewer than 2**32 - 1 samples.")
    return X, y


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
            Training data (converted to float32); NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : DecisionTreeClassifier
        """
        self._check_params()
        X, y = _validate_fit_input(self, X, y, y_numeric=False)
        check_classification_targets(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        self.n_classes_ = len(self.classes_)
        sw = check_sample_weight(sample_weight, X.shape[0])
        if self.class_weight is not None:
            sw *= compute_sample_weight(self.class_weight, y)
        seed = check_random_state(self.random_state).randint(_MAX_SEED, dtype=np.int64)
        return self._grow(X, y_codes.astype(np.intp), None, sw, self.n_classes_, seed)

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
            Training data (converted to float32); NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : DecisionTreeRegressor
        """
        self._check_params()
        X, y = _validate_fit_input(self, X, y, y_numeric=True)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("y must be finite.")
        sw = check_sample_weight(sample_weight, X.shape[0])
        seed = check_random_state(self.random_state).randint(_MAX_SEED, dtype=np.int64)
        return self._grow(X, None, y, sw, 1, seed)

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
