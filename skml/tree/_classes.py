"""Decision trees (ID3 / C4.5 / CART, and extremely randomized trees) grown by the Cython
splitter in ``skml._kernels._tree``."""
import numbers

import numpy as np
import scipy.sparse as sp
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
    store_init_params,
)

__all__ = ["DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
           "ExtraTreeRegressor"]

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


def _canonical_sparse(X):
    """Sparse X with its duplicate entries summed and indices sorted (scipy's meaning of
    a duplicate; copied only when needed), checked finite: missing values are supported
    in dense input only, as in scikit-learn."""
    if not sp.issparse(X):
        return X
    if not X.has_canonical_format:
        X = X.copy()
        with np.errstate(over="ignore"):
            X.sum_duplicates()
    if not np.all(np.isfinite(X.data)):
        raise ValueError("Input X contains NaN or infinity: sparse input must be finite "
                         "(missing values are supported in dense input only).")
    return X


def validate_tree_X(est, X, y="no_validation", *, reset=True, y_numeric=False):
    """X as float64, or float32 when given float32 (thresholds stay in the input's
    precision), in its own memory layout (a sparse matrix as CSC, for fitting); NaN
    allowed in dense X (missing values). y may have one column per output."""
    if isinstance(y, str) and y == "no_validation":
        X = validate_data(est, X, dtype=_DTYPES, ensure_all_finite="allow-nan",
                          reset=reset, accept_sparse="csc")
        return _canonical_sparse(X)
    if sp.issparse(y):
        raise TypeError("Sparse data was passed for y, but dense data is required: skml "
                        "trees do not support sparse targets.")
    X, y = validate_data(est, X, y, dtype=_DTYPES, ensure_all_finite="allow-nan",
                         y_numeric=y_numeric, multi_output=True, accept_sparse="csc")
    if X.shape[0] >= 2**31 - 1:
        raise ValueError("skml trees support fewer than 2**31 - 1 samples.")
    return _canonical_sparse(X), y


def validate_tree_X_predict(est, X, input_dtype):
    """X for prediction, in the training precision: C-ordered if dense, CSR if sparse
    (never densified)."""
    X = validate_data(est, X, dtype=_DTYPES, order="C", ensure_all_finite="allow-nan",
                      reset=False, accept_sparse="csr")
    if sp.issparse(X):
        return _canonical_sparse(X).astype(input_dtype, copy=False)
    return np.ascontiguousarray(X, dtype=input_dtype)


def prepare_split_data(X):
    """What the builder reads, built once and shared by all the trees of a forest.

    Dense X: (X32, X64). X32 is X rounded to float32 in Fortran order (one feature is
    one contiguous column: what the splitter gathers and sorts); X64 is float64 X itself
    (any layout, not copied), read where two values share a float32 image and for the
    thresholds, or None for float32 X.

    Sparse X (CSC): (data32, data64, indices, indptr, n_rows, n_features), the CSC arrays
    in canonical form (sorted row indices, no duplicates; copied only when X is not),
    data32 the values rounded to float32 and data64 the float64 values (None for float32
    X). The splitter reads the nonzero entries alone: never a dense copy."""
    with np.errstate(over="ignore"):  # beyond float32's range: +-inf, ordered by X64
        if sp.issparse(X):
            X = X.tocsc()
            if not X.has_canonical_format:
                X = X.copy()
                X.sum_duplicates()
            indices = X.indices.astype(np.int32, copy=False)
            indptr = X.indptr.astype(np.intp, copy=False)
            if X.dtype == np.float32:
                return X.data, None, indices, indptr, X.shape[0], X.shape[1]
            data64 = np.asarray(X.data, dtype=np.float64)
            return (data64.astype(np.float32), data64, indices, indptr, X.shape[0],
                    X.shape[1])
        if X.dtype == np.float32:
            return np.asfortranarray(X), None
        return np.asfortranarray(X, dtype=np.float32), X


def split_data_shape(data):
    """(n_samples, n_features) of ``prepare_split_data``'s output."""
    return (data[4], data[5]) if len(data) == 6 else data[0].shape


def split_data_dtype(data):
    """The precision of ``prepare_split_data``'s output."""
    return np.float32 if data[1] is None else np.float64


def target_ranks(y_values):
    """The rank of each target among the training targets, per output (absolute
    error's Fenwick trees index the targets by rank)."""
    y_values = y_values.reshape(y_values.shape[0], -1)
    ranks = np.empty(y_values.shape, dtype=np.intp)
    for o in range(y_values.shape[1]):
        ranks[np.argsort(y_values[:, o], kind="stable"), o] = np.arange(y_values.shape[0])
    return ranks


def encode_classes(y):
    """(classes per output, class codes (n_samples, n_outputs) intp)."""
    check_classification_targets(y)
    y = np.asarray(y)
    y2 = y.reshape(y.shape[0], -1) if y.ndim > 1 else y[:, None]
    classes, codes = [], np.empty(y2.shape, dtype=np.intp)
    for k in range(y2.shape[1]):
        classes_k, codes[:, k] = np.unique(y2[:, k], return_inverse=True)
        classes.append(classes_k)
    return classes, codes


def regression_targets(y, criterion=None):
    """Float64 targets (n_samples, n_outputs) scaled by a power of two (see
    ``scale_pow2``) and the exponent; Poisson's targets must be >= 0 with a positive
    sum."""
    y = np.ascontiguousarray(y, dtype=np.float64)
    y = y.reshape(y.shape[0], -1)
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite.")
    if criterion == "poisson":
        if np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression.")
        if np.any(y.sum(axis=0) <= 0):
            raise ValueError("Sum of y is not strictly positive which is necessary for "
                             "Poisson regression (the sum of y is not positive: Poisson "
                             "regression cannot predict 0).")
    return scale_pow2(y)


def monotonic_constraints(monotonic_cst, n_features, n_outputs, n_classes=None):
    """The int8 array the kernel takes, after scikit-learn's checks."""
    if monotonic_cst is None:
        return None
    if n_outputs > 1:
        raise ValueError("Monotonicity constraints are not supported with multiple "
                         "outputs.")
    cst = np.asarray(monotonic_cst)
    if cst.ndim != 1 or cst.shape[0] != n_features:
        raise ValueError(f"monotonic_cst has shape {cst.shape} but the input data X has "
                         f"{n_features} features.")
    if not np.all(np.isin(cst, (-1, 0, 1))):
        raise ValueError("monotonic_cst must be None or an array-like of -1, 0 or 1, but "
                         f"got {np.unique(cst)}")
    if n_classes is not None and n_classes > 2:
        raise ValueError("Monotonicity constraints are not supported with multiclass "
                         "classification")
    return np.ascontiguousarray(cst, dtype=np.int8)


_TREE_CONSTRAINTS = {
    "splitter": [StrOptions({"best", "random"})],
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
    "max_leaf_nodes": [Interval(numbers.Integral, 2, None), None],
    "min_impurity_decrease": [Interval(numbers.Real, 0.0, None)],
    "ccp_alpha": [Interval(numbers.Real, 0.0, None)],
    "monotonic_cst": ["array-like", None],
}


def check_int_fraction_params(est):
    """The integer form of min_samples_split (an int 1 also passes the float constraint
    (0, 1], as 1.0 would)."""
    if _is_int(est.min_samples_split) and est.min_samples_split < 2:
        raise InvalidParameterError(
            f"The 'min_samples_split' parameter of {type(est).__name__} must be an int in "
            "the range [2, inf) or a float in the range (0.0, 1.0], got "
            f"{est.min_samples_split!r}.")


class TreeClassifierMixin:
    """What a classification tree and a forest of them share: class probabilities from
    the leaf values, their logarithm and the most probable class (per output)."""

    def _proba_from_values(self, values):
        """Columns of ``values`` (n_samples, n_outputs, max_n_classes) in the order of
        ``classes_``: an array for one output, a list of arrays for several."""
        if self.n_outputs_ == 1:
            return values[:, 0, :self.n_classes_]
        return [values[:, k, :n] for k, n in enumerate(self.n_classes_)]

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes) or list of such arrays
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            if isinstance(proba, list):
                return [np.log(p) for p in proba]
            return np.log(proba)

    def predict(self, X):
        """Class with the highest probability (:meth:`predict_proba`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples; NaN allowed (dense input). A sparse matrix is
            read row by row as CSR (other formats converted, never densified).

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return labels_from_proba(self, self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def targets_from_values(est, values):
    """Predicted targets from leaf values (n_samples, n_outputs, 1): (n_samples,) for
    one output, else (n_samples, n_outputs)."""
    values = values[:, :, 0]
    return values[:, 0] if est.n_outputs_ == 1 else values


class _BaseDecisionTree(BaseEstimator):
    """Shared fitting code; not public."""

    _criteria = {}
    _parameter_constraints = dict(_TREE_CONSTRAINTS)

    def _check_params(self):
        check_params(self)
        check_int_fraction_params(self)

    def _grow(self, data, y_codes, y_values, sample_weight, n_classes, seed, y_rank=None,
              y_exp=0, monotonic_cst=None):
        """Grow ``tree_`` on prepared data: ``data`` from ``prepare_split_data``, class
        codes or targets (n_samples, n_outputs; targets scaled by 2**-y_exp), weights
        (float64, non-negative), ``n_classes`` per output (classification) or None. Used
        by ``fit`` and, without any re-validation, by the forests."""
        n_samples, n_features = split_data_shape(data)
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
        # impurities are in units of y**2 (variances), of y (absolute error, Poisson
        # deviance), or none (classification)
        impurity_exp = {CRITERIA_REG["squared_error"]: 2 * y_exp,
                        CRITERIA_REG["friedman_mse"]: 2 * y_exp,
                        CRITERIA_REG["absolute_error"]: y_exp,
                        CRITERIA_REG["poisson"]: y_exp}.get(criterion, 0)
        dummy_i = np.zeros((1, 1), dtype=np.intp)
        dummy_f = np.zeros((1, 1), dtype=np.float64)
        if criterion == CRITERIA_REG["absolute_error"] and y_rank is None:
            y_rank = target_ranks(y_values)
        n_outputs = (y_codes if y_values is None else y_values).shape[1]
        out = _tree.build_tree(
            data,
            dummy_i if y_codes is None else y_codes,
            dummy_f if y_values is None else y_values,
            sample_weight,
            dummy_i if y_rank is None else y_rank,
            samples,
            criterion,
            1 if n_classes is None else int(np.max(n_classes)),
            max_depth,
            min_samples_split,
            min_samples_leaf,
            min_weight_leaf,
            float(np.ldexp(self.min_impurity_decrease, -impurity_exp)),
            self.max_features_,
            int(seed),
            self.splitter == "random",
            -1 if self.max_leaf_nodes is None else int(self.max_leaf_nodes),
            monotonic_cst,
        )
        if y_exp and y_codes is None:
            out["value"] = np.ldexp(out["value"], y_exp)
        tree = Tree(n_features, np.ones(n_outputs, dtype=np.intp) if n_classes is None
                    else n_classes, n_outputs, out, out["max_depth"],
                    input_dtype=split_data_dtype(data),
                    impurity_exp=impurity_exp, weight_exp=w_exp)
        if self.ccp_alpha > 0.0:
            keep, leaf = _tree.ccp_prune(tree.children_left, tree.children_right,
                                         tree._weight_scaled, tree._impurity_scaled,
                                         float(np.ldexp(self.ccp_alpha, -impurity_exp)),
                                         False)
            tree = tree.pruned(keep, leaf)
        self.tree_ = tree
        self.n_outputs_ = n_outputs
        return self

    def _validate_X_predict(self, X, check_input=True):
        check_is_fitted(self)
        # the training data's precision: a tree fitted on float32 compares float32 values
        return validate_tree_X_predict(self, X, self.tree_.input_dtype)

    def apply(self, X, check_input=True):
        """Index of the leaf that each sample ends up in.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples; NaN allowed (dense input). A sparse matrix is
            read row by row as CSR (other formats converted, never densified).
        check_input : bool, default=True
            Accepted for scikit-learn compatibility; the input is always checked.

        Returns
        -------
        X_leaves : ndarray of shape (n_samples,)
            Node ids of ``tree_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the tree is not fitted.
        """
        X = self._validate_X_predict(X, check_input)
        return self.tree_.apply(X)

    def decision_path(self, X, check_input=True):
        """Nodes each sample goes through.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples; NaN allowed (dense input). A sparse matrix is
            read row by row as CSR (other formats converted, never densified).
        check_input : bool, default=True
            Accepted for scikit-learn compatibility; the input is always checked.

        Returns
        -------
        indicator : scipy.sparse.csr_matrix of shape (n_samples, n_nodes)
            ``indicator[i, j]`` is 1 when sample ``i`` goes through node ``j``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the tree is not fitted.
        """
        X = self._validate_X_predict(X, check_input)
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
        leaf removed (Breiman et al., 1984).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
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
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags


_COMMON_PARAMS_DOC = """    splitter : {{"best", "random"}}, default="{splitter}"
        ``"best"``: the best threshold of each candidate feature (every threshold
        between two distinct consecutive values is evaluated). ``"random"``: one
        threshold per candidate feature, drawn uniformly between the node's smallest and
        largest values (extremely randomized trees, Geurts et al., 2006); the best of the
        candidate features' random splits is kept.
    max_depth : int, default=None
        Maximal depth (the root has depth 0); ``None``: grow until the leaves are pure or
        too small. Must be >= 1.
    min_samples_split : int or float, default=2
        Minimal number of samples to split a node (a float: fraction of the samples).
    min_samples_leaf : int or float, default=1
        Minimal number of samples in each child (a float: fraction of the samples).
    min_weight_fraction_leaf : float, default=0.0
        Minimal fraction of the total sample weight in each child.
    max_features : int, float, {{"sqrt", "log2"}} or None, default={max_features}
        Features drawn (without replacement, with ``random_state``) at each node; ``None``
        means all features, visited in index order, and then a best-splitter tree is
        deterministic. If every drawn feature is constant at a node, drawing goes on.
    random_state : int, RandomState instance or None, default=None
        Seeds the feature draws (used only when ``max_features`` < n_features) and the
        random thresholds of ``splitter="random"``.
    max_leaf_nodes : int, default=None
        Grow best first (the leaf whose split decreases the impurity most is split next)
        until this many leaves; ``None``: depth first, unlimited. Must be >= 2.
    min_impurity_decrease : float, default=0.0
        A node is split only if the weighted impurity decrease
        ``N_t / N * (impurity - N_t_R / N_t * right_impurity - N_t_L / N_t * left_impurity)``
        is at least this (weights, not counts)."""

_MONOTONIC_DOC = """    monotonic_cst : array-like of int of shape (n_features,), default=None
        Monotonicity constraint per feature: 1 increasing, -1 decreasing, 0 none.
        Single-output trees only; {what}. A split on a constrained feature must give
        children ordered as required and within the bounds the ancestors' splits set
        (their values are clipped to those bounds), as scikit-learn does."""

_MISSING_DOC = """
    Missing values. ``X`` may contain NaN, in training and in prediction. With
    ``criterion`` other than ``"gain_ratio"`` the rule is scikit-learn's: each split is
    searched with the samples whose value is missing in the left child and in the right
    child (and the split "known values left, missing values right", threshold ``inf``,
    is tried, so a tree can split on missingness itself); the better one keeps its
    direction (``tree_.missing_go_to_left``). With ``criterion="gain_ratio"`` the rule is
    C4.5's (Quinlan, 1993; H. Dai, "Note on Machine Learning" (preprint), Remark 3.11):
    the samples whose value of a feature is missing are left out of that feature's gain,
    which is multiplied by the fraction of the node's weight whose value is known (a
    feature often missing is penalised); once the split is chosen, the missing samples
    go to the child that gives the lower total weighted impurity (ties: the child with
    more known samples). A node whose feature had no missing value in training sends NaN
    at prediction time to the child that received more training samples."""

_PRECISION_DOC = """
    Precision. float32 data is used in float32; any other data in float64, and the
    thresholds are float64 midpoints of two consecutive float64 values, so any two
    distinct values can be split (scikit-learn rounds to float32 and treats values closer
    than 1e-7 as equal: it cannot split ``[[0.0], [1e-7]]``, or timestamps ``1.7e9 + i``,
    of which 128 share one float32). Prediction compares its input in the training
    precision. Targets and extreme sample weights are rescaled by powers of two inside
    the builder (exact), so targets of 1e200 or 1e-200 and weights of 1e-320 give the
    tree of ordinary magnitudes."""


class DecisionTreeClassifier(TreeClassifierMixin, ClassifierMixin, _BaseDecisionTree):
    """A decision tree classifier: ID3 / C4.5 (``criterion="entropy"`` or ``"gain_ratio"``)
    or CART (``criterion="gini"``), with binary splits at thresholds on continuous features.

    The tree is grown depth first (or best first with ``max_leaf_nodes``) by a Cython
    splitter that releases the GIL: at each node and for each candidate feature the
    node's samples are sorted once by that feature (a radix sort) and one linear scan of
    the running weighted class counts evaluates every threshold between two distinct
    consecutive values (thresholds are midpoints, as in scikit-learn).

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
{common}
    class_weight : dict, list of dict, "balanced" or None, default=None
        Weights of the classes (one dict per output for multi-output ``y``), multiplied
        into ``sample_weight``.
    ccp_alpha : float, default=0.0
        Complexity parameter of minimal cost-complexity pruning after growth: the subtree
        with the largest cost complexity smaller than ``ccp_alpha`` is kept.
{monotonic}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        Class labels (a list, one array per output, for multi-output ``y``).
    n_classes_ : int or list of int
        Number of classes (per output for multi-output ``y``).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` had string column names.
    max_features_ : int
        Number of features drawn per node.
    n_outputs_ : int
        Number of outputs (columns of ``y``).
    tree_ : skml.tree._tree_model.Tree
        The fitted tree in flat arrays (scikit-learn's ``tree_`` attribute names:
        ``children_left``, ``children_right``, ``feature``, ``threshold``, ``value``,
        ``impurity``, ``n_node_samples``, ``weighted_n_node_samples``, ``node_count``,
        ``max_depth``, ...).
    feature_importances_ : ndarray of shape (n_features,)
        Normalised total weighted impurity decrease per feature.

    Raises
    ------
    skml.utils.InvalidParameterError
        (``ValueError``) For a hyper-parameter outside its range.
    ValueError
        At ``fit`` for bad data: infinite values, negative or all-zero sample weights,
        ``monotonic_cst`` with several outputs or classes; at prediction for a wrong
        number of features.
    sklearn.exceptions.NotFittedError
        From every method before ``fit``.

    See Also
    --------
    DecisionTreeRegressor, ExtraTreeClassifier, skml.ensemble.RandomForestClassifier

    Notes
    -----
    Ties between features (two features giving the same best gain) go to the feature
    visited first, i.e. the lowest index when ``max_features=None``; scikit-learn breaks
    them at random, so the two can differ where ties exist and agree node by node
    elsewhere (on float32 data, which both then use alike).
    {missing}
    {precision}

    ``sample_weight`` is exact: an integer weight gives the same tree as repeating the
    sample. Samples of zero weight are ignored; a single sample (or a single class) gives
    a one-leaf tree.

    References
    ----------
    .. [1] L. Breiman, J. Friedman, R. Olshen and C. Stone, "Classification and Regression
       Trees", 1984.
    .. [2] J. R. Quinlan, "C4.5: Programs for Machine Learning", 1993.
    .. [3] P. Geurts, D. Ernst and L. Wehenkel, "Extremely randomized trees", Machine
       Learning 63(1), 2006.
    .. [4] H. Dai, "Note on Machine Learning" (preprint), Definition 3.8, Example 23 and
       Remark 3.11.

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

    def __init__(self, *, criterion="gini", splitter="best", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features=None, random_state=None, max_leaf_nodes=None,
                 min_impurity_decrease=0.0, class_weight=None, ccp_alpha=0.0,
                 monotonic_cst=None):
        store_init_params(self, locals())

    def _encode(self, y):
        """Set ``classes_`` / ``n_classes_``; return (codes, class counts per output)."""
        classes, codes = encode_classes(y)
        n_classes = np.array([len(c) for c in classes], dtype=np.intp)
        if codes.shape[1] == 1:
            self.classes_, self.n_classes_ = classes[0], int(n_classes[0])
        else:
            self.classes_, self.n_classes_ = classes, [int(k) for k in n_classes]
        return codes, n_classes

    def fit(self, X, y, sample_weight=None, check_input=True):
        """Grow the tree.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 stays float32, anything else becomes float64; the
            thresholds keep that precision); NaN marks a missing value. A sparse matrix
            is read as CSC (other formats converted once, never densified); missing
            values only in dense input.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (one column per output).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        check_input : bool, default=True
            Accepted for scikit-learn compatibility; the input is always checked.

        Returns
        -------
        self : DecisionTreeClassifier
        """
        self._check_params()
        X, y = validate_tree_X(self, X, y)
        codes, n_classes = self._encode(y)
        sw = check_sample_weight(sample_weight, X.shape[0], allow_zero_sum=True)
        if self.class_weight is not None:
            sw *= compute_sample_weight(self.class_weight, y)
        cst = monotonic_constraints(self.monotonic_cst, X.shape[1], codes.shape[1],
                                    n_classes[0])
        seed = check_random_state(self.random_state).randint(_MAX_SEED, dtype=np.int64)
        return self._grow(prepare_split_data(X), codes, None, sw, n_classes, seed,
                          monotonic_cst=cst)

    def predict_proba(self, X, check_input=True):
        """Class fractions (weighted) of the leaf each sample reaches.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples; NaN allowed (dense input). A sparse matrix is
            read row by row as CSR (other formats converted, never densified).
        check_input : bool, default=True
            Accepted for scikit-learn compatibility; the input is always checked.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            Columns in the order of ``classes_`` (a list, one array per output, for
            multi-output ``y``).
        """
        X = self._validate_X_predict(X, check_input)
        return self._proba_from_values(self.tree_.predict_values(X))

    def predict(self, X, check_input=True):
        """Most frequent (weighted) class of the leaf each sample reaches.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples; NaN allowed (dense input). A sparse matrix is
            read row by row as CSR (other formats converted, never densified).
        check_input : bool, default=True
            Accepted for scikit-learn compatibility; the input is always checked.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return labels_from_proba(self, self.predict_proba(X, check_input))


def labels_from_proba(est, proba):
    """The class of highest probability, per output (``est.classes_``)."""
    if not isinstance(proba, list):
        return est.classes_.take(np.argmax(proba, axis=1), axis=0)
    out = np.empty((proba[0].shape[0], len(proba)), dtype=est.classes_[0].dtype)
    for k, p in enumerate(proba):
        out[:, k] = est.classes_[k].take(np.argmax(p, axis=1), axis=0)
    return out


class DecisionTreeRegressor(RegressorMixin, _BaseDecisionTree):
    """A regression tree (CART): binary splits at thresholds minimising the squared error,
    Friedman's MSE, the absolute error or the Poisson deviance.

    The splitter is the one of :class:`DecisionTreeClassifier`: per node and feature, one
    sort and one linear scan of running weighted sums (``"squared_error"``,
    ``"friedman_mse"``, ``"poisson"``), or of prefix and suffix absolute deviations from
    the weighted median kept by a Fenwick tree over the node's target ranks
    (``"absolute_error"``, O(n log n) per node and feature).

    Parameters
    ----------
    criterion : {"squared_error", "friedman_mse", "absolute_error", "poisson"}, \
default="squared_error"
        Split quality: variance reduction (leaves predict the weighted mean); Friedman's
        improvement score (the same splits, another improvement for
        ``min_impurity_decrease``); reduction of the mean absolute deviation from the
        weighted median (leaves predict the weighted median); reduction of the half
        Poisson deviance (targets >= 0; leaves predict the mean).
{common}
    ccp_alpha : float, default=0.0
        Complexity parameter of minimal cost-complexity pruning.
{monotonic}

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` had string column names.
    max_features_ : int
        Number of features drawn per node.
    n_outputs_ : int
        Number of outputs (columns of ``y``).
    tree_ : skml.tree._tree_model.Tree
        The fitted tree in flat arrays (scikit-learn's ``tree_`` attribute names).
        ``tree_.value[leaf, k, 0]`` is the prediction of output ``k`` at ``leaf``; it may
        be written to (gradient boosting replaces leaf values by its line-search steps).
    feature_importances_ : ndarray of shape (n_features,)
        Normalised total weighted impurity decrease per feature.

    Raises
    ------
    skml.utils.InvalidParameterError
        (``ValueError``) For a hyper-parameter outside its range.
    ValueError
        At ``fit`` for bad data (non-finite values of ``X`` or ``y``, negative targets
        with ``"poisson"``, negative or all-zero sample weights).
    sklearn.exceptions.NotFittedError
        From every method before ``fit``.

    See Also
    --------
    DecisionTreeClassifier, ExtraTreeRegressor, skml.ensemble.RandomForestRegressor

    Notes
    -----
    Ties between features go to the feature visited first (lowest index when
    ``max_features=None``).
    {missing}
    {precision}

    References
    ----------
    .. [1] L. Breiman, J. Friedman, R. Olshen and C. Stone, "Classification and Regression
       Trees", 1984.
    .. [2] J. H. Friedman, "Greedy function approximation: a gradient boosting machine",
       Annals of Statistics 29(5), 2001 (``"friedman_mse"``).
    .. [3] P. Geurts, D. Ernst and L. Wehenkel, "Extremely randomized trees", Machine
       Learning 63(1), 2006.
    .. [4] H. Dai, "Note on Machine Learning" (preprint), Definition 3.8.

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

    def __init__(self, *, criterion="squared_error", splitter="best", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features=None, random_state=None, max_leaf_nodes=None,
                 min_impurity_decrease=0.0, ccp_alpha=0.0, monotonic_cst=None):
        store_init_params(self, locals())

    def fit(self, X, y, sample_weight=None, check_input=True):
        """Grow the tree.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 stays float32, anything else becomes float64; the
            thresholds keep that precision); NaN marks a missing value. A sparse matrix
            is read as CSC (other formats converted once, never densified); missing
            values only in dense input.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        check_input : bool, default=True
            Accepted for scikit-learn compatibility; the input is always checked.

        Returns
        -------
        self : DecisionTreeRegressor
        """
        self._check_params()
        X, y = validate_tree_X(self, X, y, y_numeric=True)
        y, y_exp = regression_targets(y, self.criterion)
        sw = check_sample_weight(sample_weight, X.shape[0], allow_zero_sum=True)
        cst = monotonic_constraints(self.monotonic_cst, X.shape[1], y.shape[1])
        seed = check_random_state(self.random_state).randint(_MAX_SEED, dtype=np.int64)
        return self._grow(prepare_split_data(X), None, y, sw, None, seed, y_exp=y_exp,
                          monotonic_cst=cst)

    def predict(self, X, check_input=True):
        """Leaf value (weighted mean or median of the training targets there).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples; NaN allowed (dense input). A sparse matrix is
            read row by row as CSR (other formats converted, never densified).
        check_input : bool, default=True
            Accepted for scikit-learn compatibility; the input is always checked.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        X = self._validate_X_predict(X, check_input)
        return targets_from_values(self, self.tree_.predict_values(X))


class ExtraTreeClassifier(DecisionTreeClassifier):
    """An extremely randomized tree classifier (Geurts et al., 2006): a
    :class:`DecisionTreeClassifier` whose defaults are ``splitter="random"`` (one random
    threshold per candidate feature) and ``max_features="sqrt"``. Meant to be used in
    ensembles (:class:`skml.ensemble.ExtraTreesClassifier`).

    Parameters
    ----------
    criterion : {"gini", "entropy", "log_loss", "gain_ratio"}, default="gini"
        Split quality (see :class:`DecisionTreeClassifier`).
{common}
    class_weight : dict, list of dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.
    ccp_alpha : float, default=0.0
        Complexity parameter of minimal cost-complexity pruning.
{monotonic}

    Attributes
    ----------
    classes_, n_classes_, n_features_in_, feature_names_in_, max_features_, n_outputs_, \
tree_, feature_importances_
        As for :class:`DecisionTreeClassifier`.

    Raises
    ------
    skml.utils.InvalidParameterError, ValueError, sklearn.exceptions.NotFittedError
        As for :class:`DecisionTreeClassifier`.

    References
    ----------
    .. [1] P. Geurts, D. Ernst and L. Wehenkel, "Extremely randomized trees", Machine
       Learning 63(1), 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skml.tree import ExtraTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> ExtraTreeClassifier(random_state=0).fit(X, y).score(X, y)
    1.0
    """

    def __init__(self, *, criterion="gini", splitter="random", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features="sqrt", random_state=None, max_leaf_nodes=None,
                 min_impurity_decrease=0.0, class_weight=None, ccp_alpha=0.0,
                 monotonic_cst=None):
        store_init_params(self, locals())


class ExtraTreeRegressor(DecisionTreeRegressor):
    """An extremely randomized tree regressor (Geurts et al., 2006): a
    :class:`DecisionTreeRegressor` whose defaults are ``splitter="random"`` and
    ``max_features=1.0``. Meant to be used in ensembles
    (:class:`skml.ensemble.ExtraTreesRegressor`).

    Parameters
    ----------
    criterion : {"squared_error", "friedman_mse", "absolute_error", "poisson"}, \
default="squared_error"
        Split quality (see :class:`DecisionTreeRegressor`).
{common}
    ccp_alpha : float, default=0.0
        Complexity parameter of minimal cost-complexity pruning.
{monotonic}

    Attributes
    ----------
    n_features_in_, feature_names_in_, max_features_, n_outputs_, tree_, \
feature_importances_
        As for :class:`DecisionTreeRegressor`.

    Raises
    ------
    skml.utils.InvalidParameterError, ValueError, sklearn.exceptions.NotFittedError
        As for :class:`DecisionTreeRegressor`.

    References
    ----------
    .. [1] P. Geurts, D. Ernst and L. Wehenkel, "Extremely randomized trees", Machine
       Learning 63(1), 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.tree import ExtraTreeRegressor
    >>> X = np.arange(20.0).reshape(-1, 1)
    >>> ExtraTreeRegressor(random_state=0).fit(X, X[:, 0] ** 2).score(X, X[:, 0] ** 2)
    1.0
    """

    def __init__(self, *, criterion="squared_error", splitter="random", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features=1.0, random_state=None, min_impurity_decrease=0.0,
                 max_leaf_nodes=None, ccp_alpha=0.0, monotonic_cst=None):
        store_init_params(self, locals())


def _fill_docs():
    for cls, splitter, max_features in (
            (DecisionTreeClassifier, "best", "None"), (DecisionTreeRegressor, "best", "None"),
            (ExtraTreeClassifier, "random", '"sqrt"'), (ExtraTreeRegressor, "random", "1.0")):
        what = ("for classification, binary only, and the constraint is on the probability "
                "of the second class (``classes_[1]``)" if issubclass(cls, ClassifierMixin)
                else "the constraint is on the prediction")
        cls.__doc__ = (cls.__doc__
                       .replace("{common}", _COMMON_PARAMS_DOC.format(
                           splitter=splitter, max_features=max_features))
                       .replace("{monotonic}", _MONOTONIC_DOC.format(what=what))
                       .replace("{missing}", _MISSING_DOC.strip("\n")[4:])
                       .replace("{precision}", _PRECISION_DOC.strip("\n")[4:]))


_fill_docs()
