"""Exact gradient boosting: GradientBoostingClassifier and GradientBoostingRegressor
(H. Dai, "Note on Machine Learning" (preprint), §3.1.2, Definition 3.11 and Example 25).

Each stage fits a :class:`skml.tree.DecisionTreeRegressor` (exact splits over sorted
values) to the negative gradient of the loss at the current prediction, then replaces
every leaf's value by the loss's own step for the samples of that leaf: a Newton step
for the log-loss and the exponential loss, the median / quantile / Huber estimate of the
residuals for the absolute, pinball and Huber losses (the leaf mean of the squared
error's residuals is already its step). Prediction packs every tree into one flat node
array walked by the Cython kernel of the histogram estimators.
"""
import numbers
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.ensemble._gb_losses import (
    AbsoluteError,
    BinomialLoss,
    ExponentialLoss,
    HuberLoss,
    MultinomialLoss,
    PinballLoss,
    SquaredError,
)
from skml.ensemble._hist_gradient_boosting.predictor import NODE_DTYPE, TreeSet
from skml.tree import DecisionTreeRegressor
from skml.tree._tree_model import TREE_LEAF
from skml.utils import (
    HasMethods,
    Interval,
    StrOptions,
    check_params,
    check_sample_weight,
    effective_n_threads,
    store_init_params,
)

__all__ = ["GradientBoostingClassifier", "GradientBoostingRegressor"]

_MAX_SEED = np.iinfo(np.int32).max
# skml's trees keep the input's precision: float32 stays float32, anything else is
# float64 (thresholds and predictions compare in that dtype)
_DTYPES = [np.float64, np.float32]


def _tree_criteria():
    """Criteria skml's regression tree offers (friedman_mse once skml.tree has it)."""
    return getattr(DecisionTreeRegressor, "_criteria", {})


class BaseGradientBoosting(BaseEstimator):
    """Shared code of the two estimators; not public."""

    _parameter_constraints = {
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_estimators": [Interval(numbers.Integral, 1, 2**31 - 1)],
        "subsample": [Interval(numbers.Real, 0, 1, closed="right")],
        "criterion": [StrOptions({"friedman_mse", "squared_error"})],
        "min_samples_split": [Interval(numbers.Integral, 2, None),
                              Interval(numbers.Real, 0, 1, closed="right")],
        "min_samples_leaf": [Interval(numbers.Integral, 1, None),
                             Interval(numbers.Real, 0, 1, closed="neither")],
        "min_weight_fraction_leaf": [Interval(numbers.Real, 0, 0.5, closed="both")],
        "max_depth": [Interval(numbers.Integral, 1, 2**31 - 1), None],
        "min_impurity_decrease": [Interval(numbers.Real, 0, None, closed="left")],
        "init": [StrOptions({"zero"}), None],
        "random_state": ["random_state"],
        "max_features": [Interval(numbers.Integral, 1, None),
                         Interval(numbers.Real, 0, 1, closed="right"),
                         StrOptions({"sqrt", "log2"}), None],
        "verbose": ["verbose"],
        "max_leaf_nodes": [Interval(numbers.Integral, 2, 2**31 - 1), None],
        "warm_start": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, 2**31 - 1), None],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "ccp_alpha": [Interval(numbers.Real, 0, None, closed="left")],
    }

    # ------------------------------------------------------------------------ fit

    def _tree_params(self):
        criteria = _tree_criteria()
        criterion = self.criterion if self.criterion in criteria else "squared_error"
        params = dict(criterion=criterion, max_depth=self.max_depth,
                      min_samples_split=self.min_samples_split,
                      min_samples_leaf=self.min_samples_leaf,
                      min_weight_fraction_leaf=self.min_weight_fraction_leaf,
                      min_impurity_decrease=self.min_impurity_decrease,
                      max_features=self.max_features, ccp_alpha=self.ccp_alpha)
        if "max_leaf_nodes" in DecisionTreeRegressor().get_params():
            params["max_leaf_nodes"] = self.max_leaf_nodes
        elif self.max_leaf_nodes is not None:
            raise ValueError("max_leaf_nodes needs skml.tree.DecisionTreeRegressor with "
                             "max_leaf_nodes, which this version lacks; use max_depth.")
        return params

    def fit(self, X, y, sample_weight=None, monitor=None):
        """Fit the boosting stages.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data: float32 stays float32, anything else becomes float64, and the
            trees' thresholds keep that precision; NaN marks a missing value (see
            :class:`skml.tree.DecisionTreeRegressor`).
        y : array-like of shape (n_samples,)
            Targets (class labels for the classifier), finite.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        monitor : callable, default=None
            Called after every stage as ``monitor(i, self, locals())``; fitting stops
            when it returns True.

        Returns
        -------
        self : object
        """
        check_params(self)
        if not self.warm_start:
            self._clear_state()
        warm = self.warm_start and self._is_fitted()
        X, y = validate_data(self, X, y, dtype=_DTYPES, ensure_all_finite="allow-nan",
                             y_numeric=not is_classifier(self), reset=not warm)
        if warm:
            X = X.astype(self._fit_dtype, copy=False)
        else:
            self._fit_dtype = X.dtype
        n_samples = X.shape[0]
        self._unweighted = sample_weight is None
        sample_weight = check_sample_weight(sample_weight, n_samples)
        y = self._encode_y(y, sample_weight)
        tree_params = self._tree_params()
        loss = self._get_loss()
        loss.average_quantiles = False
        self._loss = loss

        if self.n_iter_no_change is not None:
            stratify = y if is_classifier(self) else None
            X_train, X_val, y_train, y_val, w_train, w_val = train_test_split(
                X, y, sample_weight, random_state=self.random_state,
                test_size=self.validation_fraction, stratify=stratify)
            if is_classifier(self) and np.unique(y_train).size != self.n_classes_:
                raise ValueError("The training part of the early-stopping split misses a "
                                 "class; use another random_state or validation_fraction.")
        else:
            X_train, y_train, w_train = X, y, sample_weight
            X_val = y_val = w_val = None
        X_F = np.asfortranarray(X_train)
        X_C = np.ascontiguousarray(X_train)

        if not self._is_fitted():
            self._init_state(X_train, y_train, w_train, loss)
            raw = self._init_raw(X_C, loss)
            begin = 0
            self._rng = check_random_state(self.random_state)
        else:
            if self.n_estimators < self.estimators_.shape[0]:
                raise ValueError(
                    f"n_estimators={self.n_estimators} must be >= estimators_.shape[0]="
                    f"{self.estimators_.shape[0]} when warm_start=True.")
            begin = self.estimators_.shape[0]
            raw = self._raw_predict_C(X_C)
            self._resize_state()

        raw_val = None
        if X_val is not None:
            X_val_C = np.ascontiguousarray(X_val)
            raw_val = self._raw_predict_C(X_val_C) if begin else self._init_raw(X_val_C,
                                                                                loss)
        n_stages = self._fit_stages(X_F, X_C, y_train, raw, w_train, tree_params, loss,
                                    begin, monitor, X_val, y_val, raw_val, w_val)
        if n_stages != self.estimators_.shape[0]:
            self.estimators_ = self.estimators_[:n_stages]
            self.train_score_ = self.train_score_[:n_stages]
            if hasattr(self, "oob_improvement_"):
                self.oob_improvement_ = self.oob_improvement_[:n_stages]
                self.oob_scores_ = self.oob_scores_[:n_stages]
                self.oob_score_ = self.oob_scores_[-1]
        self.n_estimators_ = n_stages
        self._pack()
        return self

    def _init_state(self, X, y, w, loss):
        K = self.n_trees_per_iteration_
        self.estimators_ = np.empty((self.n_estimators, K), dtype=object)
        self.train_score_ = np.zeros(self.n_estimators)
        if self.subsample < 1.0:
            self.oob_improvement_ = np.zeros(self.n_estimators)
            self.oob_scores_ = np.zeros(self.n_estimators)
            self.oob_score_ = np.nan
        if self.init is None:
            self.init_ = (DummyClassifier(strategy="prior") if is_classifier(self) else
                          DummyRegressor(strategy="mean"))
            self.init_.fit(X, self._decode_y(y) if is_classifier(self) else y,
                           sample_weight=w)
            # unweighted: numpy's percentile for the median / quantile baselines, as
            # scikit-learn's DummyRegressor fitted without weights
            self._baseline = loss.baseline(y, None if self._unweighted else w)
        elif isinstance(self.init, str):  # "zero"
            self.init_ = "zero"
            self._baseline = np.zeros(K)
        else:
            self.init_ = clone(self.init)
            target = self._decode_y(y) if is_classifier(self) else y
            try:
                self.init_.fit(X, target, sample_weight=w)
            except TypeError as exc:
                if "sample_weight" not in str(exc):
                    raise
                if np.any(w != w[0]):
                    raise ValueError(f"The init estimator {type(self.init_).__name__} does "
                                     "not support sample weights.") from exc
                self.init_.fit(X, target)
            self._baseline = None

    def _init_raw(self, X_C, loss):
        K = self.n_trees_per_iteration_
        raw = np.empty((X_C.shape[0], K), order="F")
        if self._baseline is not None:
            raw[:] = self._baseline
            return raw
        if is_classifier(self):
            proba = np.asarray(self.init_.predict_proba(X_C), dtype=np.float64)
            eps = np.finfo(np.float64).eps
            proba = np.clip(proba, eps, 1 - eps)
            if K == 1:
                p = proba[:, 1]
                raw[:, 0] = np.log(p / (1 - p))
                if isinstance(loss, ExponentialLoss):
                    raw[:, 0] *= 0.5
            else:
                raw[:] = np.log(proba)
        else:
            raw[:, 0] = np.asarray(self.init_.predict(X_C), dtype=np.float64).ravel()
        return raw

    def _resize_state(self):
        n, K = self.n_estimators, self.n_trees_per_iteration_
        old = self.estimators_.shape[0]
        est = np.empty((n, K), dtype=object)
        est[:old] = self.estimators_
        self.estimators_ = est
        self.train_score_ = np.resize(self.train_score_, n)
        if self.subsample < 1.0 or hasattr(self, "oob_improvement_"):
            self.oob_improvement_ = np.resize(getattr(self, "oob_improvement_", np.zeros(0)),
                                              n)
            self.oob_scores_ = np.resize(getattr(self, "oob_scores_", np.zeros(0)), n)
            self.oob_score_ = np.nan

    def _clear_state(self):
        for attr in ("estimators_", "train_score_", "oob_improvement_", "oob_scores_",
                     "oob_score_", "init_", "_rng", "_predictors", "n_estimators_"):
            if hasattr(self, attr):
                delattr(self, attr)

    def _is_fitted(self):
        return len(getattr(self, "estimators_", ())) > 0

    def _fit_stages(self, X_F, X_C, y, raw, w, tree_params, loss, begin, monitor, X_val,
                    y_val, raw_val, w_val):
        n = X_F.shape[0]
        K = self.n_trees_per_iteration_
        do_oob = self.subsample < 1.0
        n_inbag = max(1, int(self.subsample * n))
        factor = loss.score_factor
        lr = self.learning_rate
        mask = np.ones(n, dtype=bool)
        if self.n_iter_no_change is not None:
            history = np.full(self.n_iter_no_change, np.inf)
            X_val_C = np.ascontiguousarray(X_val)
        t0 = time.perf_counter()
        i = begin
        for i in range(begin, self.n_estimators):
            if do_oob:
                mask = np.zeros(n, dtype=bool)
                mask[self._rng.permutation(n)[:n_inbag]] = True
                if i == 0:
                    initial_oob = factor * self._loss_value(loss, y[~mask], raw[~mask],
                                                            w[~mask])
            w_fit = w * mask if do_oob else w
            if isinstance(loss, HuberLoss):
                loss.set_delta(y, raw[:, 0], w)
            # every tree of a stage fits the gradient at the stage's start
            if K == 1:
                neg_grads = loss.negative_gradient(y, raw[:, 0])[:, None]
            else:
                neg_grads = loss.negative_gradients(y, raw)
            for k in range(K):
                tree = DecisionTreeRegressor(
                    random_state=int(self._rng.randint(_MAX_SEED)), **tree_params)
                neg_grad = neg_grads[:, k]
                tree.fit(X_F, neg_grad, sample_weight=w_fit)
                t = tree.tree_
                leaves = t.apply(X_C)
                self._line_search(loss, t, leaves, y, raw, neg_grad, w_fit, k)
                raw[:, k] += lr * t.value[:, 0, 0].take(leaves)
                if raw_val is not None:
                    raw_val[:, k] += lr * t.value[:, 0, 0].take(t.apply(X_val_C))
                self.estimators_[i, k] = tree
            if do_oob:
                self.train_score_[i] = factor * self._loss_value(loss, y[mask], raw[mask],
                                                                 w[mask])
                self.oob_scores_[i] = factor * self._loss_value(loss, y[~mask],
                                                                raw[~mask], w[~mask])
                previous = initial_oob if i == 0 else self.oob_scores_[i - 1]
                self.oob_improvement_[i] = previous - self.oob_scores_[i]
                self.oob_score_ = self.oob_scores_[i]
            else:
                self.train_score_[i] = factor * self._loss_value(loss, y, raw, w)
            if self.verbose:
                self._report(i, t0)
            if monitor is not None and monitor(i, self, locals()):
                break
            if self.n_iter_no_change is not None:
                val_loss = factor * self._loss_value(loss, y_val, raw_val, w_val)
                if np.any(val_loss + self.tol < history):
                    history[i % history.shape[0]] = val_loss
                else:
                    break
        return i + 1

    def _report(self, i, t0):
        if i == 0 or self.verbose > 1 or (i + 1) % 10 == 0:
            extra = (f"   OOB improvement {self.oob_improvement_[i]:.4f}"
                     if hasattr(self, "oob_improvement_") else "")
            print(f"stage {i + 1:>5d}   train loss {self.train_score_[i]:.4f}{extra}   "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)

    @staticmethod
    def _loss_value(loss, y, raw, w):
        return loss(y, raw[:, 0] if raw.shape[1] == 1 else raw, w)

    def _line_search(self, loss, tree, leaves, y, raw, neg_grad, w, k):
        """Replace the leaf values of ``tree`` by the loss's step over each leaf's
        in-bag samples (``w`` is zero out of the bag)."""
        if isinstance(loss, SquaredError):
            return  # the leaf mean of the residuals is the step
        n_nodes = tree.node_count
        is_leaf = tree.children_left == TREE_LEAF
        if isinstance(loss, MultinomialLoss):
            values = loss.newton_leaf_values_k(leaves, n_nodes, (y == k).astype(np.float64),
                                               neg_grad, w)
        elif not loss.needs_leaf_update:
            values = loss.newton_leaf_values(leaves, n_nodes, y, raw[:, 0], neg_grad, w)
        else:
            values = np.zeros(n_nodes)
            order = np.argsort(leaves, kind="stable")
            sorted_leaves = leaves[order]
            bounds = np.searchsorted(sorted_leaves, np.flatnonzero(is_leaf))
            ends = np.searchsorted(sorted_leaves, np.flatnonzero(is_leaf), side="right")
            for leaf, a, b in zip(np.flatnonzero(is_leaf), bounds, ends):
                s = order[a:b]
                values[leaf] = loss.leaf_value(y[s] - raw[s, 0], w[s])
        tree.value[is_leaf, 0, 0] = values[is_leaf]

    # ------------------------------------------------------------------ prediction

    def _pack(self):
        """Every stage's trees in one flat node array (values times the learning rate)
        for the prediction kernel."""
        K = self.n_trees_per_iteration_
        trees = TreeSet(K)
        empty_bits = np.zeros((0, 8), dtype=np.uint32)
        for i in range(self.estimators_.shape[0]):
            for k in range(K):
                t = self.estimators_[i, k].tree_
                nodes = np.zeros(t.node_count, dtype=NODE_DTYPE)
                leaf = t.children_left == TREE_LEAF
                nodes["is_leaf"] = leaf
                nodes["left"] = np.where(leaf, 0, t.children_left)
                nodes["right"] = np.where(leaf, 0, t.children_right)
                nodes["feature"] = np.where(leaf, 0, t.feature)
                nodes["threshold"] = np.where(leaf, 0.0, t.threshold)
                nodes["missing_left"] = np.where(leaf, 0, t.missing_go_to_left)
                nodes["bitset"] = -1
                nodes["count"] = t.n_node_samples
                nodes["value"] = self.learning_rate * t.value[:, 0, 0]
                trees.append(nodes, empty_bits)
        self._predictors = trees

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_DTYPES, ensure_all_finite="allow-nan",
                          reset=False)
        return np.ascontiguousarray(X, dtype=self._fit_dtype)

    def _raw_predict_C(self, X_C):
        raw = self._init_raw(X_C, self._loss)
        raw = np.ascontiguousarray(raw)
        if self._is_fitted():
            if getattr(self, "_predictors", None) is None or len(self._predictors) != (
                    self.estimators_.shape[0] * self.n_trees_per_iteration_):
                self._pack()
            self._predictors.predict_raw(X_C, raw, effective_n_threads(None))
        return raw

    def _raw_predict(self, X):
        return self._raw_predict_C(self._validate_X_predict(X))

    def _staged_raw_predict(self, X):
        X = self._validate_X_predict(X)
        raw = np.ascontiguousarray(self._init_raw(X, self._loss))
        n_threads = effective_n_threads(None)
        for i in range(self.estimators_.shape[0]):
            self._predictors.predict_raw(X, raw, n_threads, start=i, stop=i + 1)
            yield raw.copy()

    def apply(self, X):
        """Leaf reached in every tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_leaves : ndarray of shape (n_samples, n_estimators, n_trees_per_iteration)
            Node ids of the leaves (the trees' own pre-order numbering).
        """
        X = self._validate_X_predict(X)
        n_est, K = self.estimators_.shape
        out = np.empty((X.shape[0], n_est, K), dtype=np.intp)
        for i in range(n_est):
            for k in range(K):
                out[:, i, k] = self.estimators_[i, k].tree_.apply(X)
        return out

    @property
    def feature_importances_(self):
        """Mean over the trees (single-leaf trees left out) of their total weighted
        squared-error decrease per feature, normalised to sum 1."""
        check_is_fitted(self)
        imps = [tree.tree_.compute_feature_importances(normalize=False)
                for stage in self.estimators_ for tree in stage
                if tree.tree_.node_count > 1]
        if not imps:
            return np.zeros(self.n_features_in_)
        mean = np.mean(imps, axis=0)
        return mean / mean.sum()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


_COMMON_DOC = """
    learning_rate : float, default=0.1
        Shrinkage of every tree's contribution. Must be > 0.
    n_estimators : int, default=100
        Boosting stages.
    subsample : float, default=1.0
        Fraction of the samples (drawn without replacement) each stage's tree is fitted
        on; below 1 this is stochastic gradient boosting, with out-of-bag estimates.
    criterion : {"friedman_mse", "squared_error"}, default="friedman_mse"
        Split criterion of the trees. Both choose the same splits (Friedman's improvement
        w_l w_r / (w_l + w_r) (mean_l - mean_r)^2 is the squared-error decrease);
        "friedman_mse" is passed to the tree when skml.tree offers it.
    min_samples_split : int or float, default=2
        Minimal samples to split a node (a float: a fraction of n_samples).
    min_samples_leaf : int or float, default=1
        Minimal samples per leaf (a float: a fraction of n_samples).
    min_weight_fraction_leaf : float, default=0.0
        Minimal fraction of the total sample weight per leaf.
    max_depth : int or None, default=3
        Depth of each tree; None: until the leaves are pure or too small.
    min_impurity_decrease : float, default=0.0
        Minimal weighted impurity decrease of a split.
    init : estimator, "zero" or None, default=None
        First model: None uses the loss's best constant (the mean, median, quantile or
        class priors), "zero" starts from 0, an estimator is fitted (a clone) and its
        predictions (``predict_proba`` for the classifier) start the boosting.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsamples, the trees' feature draws and the early-stopping split.
    max_features : {"sqrt", "log2"}, int, float or None, default=None
        Features drawn at each split of each tree; None: all.
    verbose : int, default=0
        Print progress every 10 stages (every stage above 1).
    max_leaf_nodes : int or None, default=None
        Leaves per tree at most (needs skml.tree's ``max_leaf_nodes``).
    warm_start : bool, default=False
        Keep the fitted stages and add stages up to ``n_estimators`` on the next fit.
    validation_fraction : float, default=0.1
        Part of the training data held out for early stopping (with n_iter_no_change).
    n_iter_no_change : int or None, default=None
        Stop when the validation loss has not improved by ``tol`` on any of the last
        ``n_iter_no_change`` stages; None: no early stopping.
    tol : float, default=1e-4
        Least improvement that counts for early stopping.
    ccp_alpha : float, default=0.0
        Minimal cost-complexity pruning of each tree.
"""

_COMMON_ATTRS = """
    n_estimators_ : int
        Stages fitted (fewer than ``n_estimators`` after early stopping).
    n_trees_per_iteration_ : int
        Trees per stage: 1, or the number of classes for multiclass log-loss.
    estimators_ : ndarray of DecisionTreeRegressor of shape (`n_estimators_`, K)
        The trees; their leaf values are the stage's steps before the learning rate.
    train_score_ : ndarray of shape (`n_estimators_`,)
        Loss on the in-bag samples after each stage (the squared error and the binary
        log-loss are reported doubled, as scikit-learn does).
    oob_improvement_ : ndarray of shape (`n_estimators_`,)
        Decrease of the out-of-bag loss brought by each stage (``subsample < 1`` only).
    oob_scores_ : ndarray of shape (`n_estimators_`,)
        Out-of-bag loss after each stage (``subsample < 1`` only).
    oob_score_ : float
        The last of ``oob_scores_``.
    init_ : estimator or "zero"
        The first model.
    feature_importances_ : ndarray of shape (n_features,)
        Normalised mean squared-error decrease per feature.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        When ``X`` had string column names.
"""

_NOTES = """
    Each stage m fits a regression tree h_m to the pseudo-residuals r_i = -dL/dF(x_i)
    at F_{m-1} and sets each leaf's value by the line search of step (c) of Example 25 of
    the notes, solved per leaf (Friedman 2001): a Newton step sum(w r) / sum(w h) for
    the log-loss and the exponential loss, the weighted median (absolute error), the
    alpha-quantile (pinball) or Friedman's Huber step of the leaf's residuals; then
    F_m = F_{m-1} + learning_rate * h_m. With ``subsample < 1`` each tree sees a random
    part of the data and the rest gives ``oob_improvement_``.

    ``learning_rate`` must be positive (scikit-learn accepts 0, which fits nothing).

    Expected failure of scikit-learn's checks: ``check_sample_weight_equivalence`` (from
    the second stage on, residuals take few distinct values and tied splits are decided
    by the rounding of 2 r against r + r), as for scikit-learn's own estimator.
"""

_REFERENCES = """
    References
    ----------
    H. Dai, "Note on Machine Learning" (preprint), §3.1.2, Definition 3.11 and Example 25;
    §3.2.3, Definitions 3.63-3.69 (losses).

    J. H. Friedman, "Greedy function approximation: a gradient boosting machine", Annals
    of Statistics 29(5), 2001.

    J. H. Friedman, "Stochastic gradient boosting", Computational Statistics & Data
    Analysis 38(4), 2002.

    J. Friedman, T. Hastie and R. Tibshirani, "Additive logistic regression: a
    statistical view of boosting", Annals of Statistics 28(2), 2000.
"""


class GradientBoostingRegressor(RegressorMixin, BaseGradientBoosting):
    """Gradient boosting for regression (exact splits).

    Stage-wise additive trees on the negative gradient of the loss (H. Dai, "Note on
    Machine Learning", Definition 3.11; Example 25 is ``loss="squared_error"``).

    Parameters
    ----------
    loss : {"squared_error", "absolute_error", "huber", "quantile"}, \
default="squared_error"
        The loss: squared error, absolute error, Huber's loss (its threshold the
        ``alpha``-quantile of the absolute residuals, re-set every stage) or the
        pinball loss of quantile ``alpha``.
    {common}
    alpha : float, default=0.9
        The quantile of ``loss="quantile"`` and of Huber's threshold, in (0, 1).

    Attributes
    ----------
    {attrs}
    max_features_ : int
        Features drawn per split.

    Raises
    ------
    ValueError
        From ``fit``: an invalid parameter (``learning_rate <= 0`` included), NaN or
        inf in ``y``, an ``init`` estimator without sample weights given non-uniform
        weights.

    Notes
    -----
    {notes}
    {references}
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skml.ensemble import GradientBoostingRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = GradientBoostingRegressor(random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.7)
    True
    """

    _parameter_constraints = {
        **BaseGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber", "quantile"})],
        "init": [StrOptions({"zero"}), None, HasMethods(["fit", "predict"])],
        "alpha": [Interval(numbers.Real, 0, 1, closed="neither")],
    }

    def __init__(self, *, loss="squared_error", learning_rate=0.1, n_estimators=100,
                 subsample=1.0, criterion="friedman_mse", min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_depth=3,
                 min_impurity_decrease=0.0, init=None, random_state=None,
                 max_features=None, alpha=0.9, verbose=0, max_leaf_nodes=None,
                 warm_start=False, validation_fraction=0.1, n_iter_no_change=None,
                 tol=1e-4, ccp_alpha=0.0):
        store_init_params(self, locals())

    def _encode_y(self, y, sample_weight):
        self.n_trees_per_iteration_ = 1
        return np.ascontiguousarray(y, dtype=np.float64)

    def _get_loss(self):
        if self.loss == "quantile":
            return PinballLoss(self.alpha)
        if self.loss == "huber":
            return HuberLoss(self.alpha)
        return {"squared_error": SquaredError, "absolute_error": AbsoluteError}[self.loss]()

    def fit(self, X, y, sample_weight=None, monitor=None):
        super().fit(X, y, sample_weight=sample_weight, monitor=monitor)
        self.max_features_ = self.estimators_[0, 0].max_features_
        return self

    fit.__doc__ = BaseGradientBoosting.fit.__doc__

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._raw_predict(X)[:, 0]

    def staged_predict(self, X):
        """Predictions after each stage.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Yields
        ------
        y : ndarray of shape (n_samples,)
        """
        for raw in self._staged_raw_predict(X):
            yield raw[:, 0]


class GradientBoostingClassifier(ClassifierMixin, BaseGradientBoosting):
    """Gradient boosting for classification (exact splits).

    Stage-wise additive trees on the negative gradient of the log-loss (cross-entropy,
    Definition 3.69 of the notes; one tree per class and stage for more than two
    classes) or of AdaBoost's exponential loss (H. Dai, "Note on Machine Learning",
    Definition 3.11).

    Parameters
    ----------
    loss : {"log_loss", "exponential"}, default="log_loss"
        The loss; "exponential" (two classes only) gives AdaBoost's updates.
    {common}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_classes_ : int
    {attrs}
    max_features_ : int
        Features drawn per split.

    Raises
    ------
    ValueError
        From ``fit``: an invalid parameter (``learning_rate <= 0`` included), a single
        class in ``y``, ``loss="exponential"`` with more than two classes, an ``init``
        estimator without sample weights given non-uniform weights.

    Notes
    -----
    {notes}
    {references}
    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skml.ensemble import GradientBoostingClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = GradientBoostingClassifier(n_estimators=50, random_state=0).fit(X, y)
    >>> bool(clf.score(X, y) > 0.95)
    True
    """

    _parameter_constraints = {
        **BaseGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"log_loss", "exponential"})],
        "init": [StrOptions({"zero"}), None, HasMethods(["fit", "predict_proba"])],
    }

    def __init__(self, *, loss="log_loss", learning_rate=0.1, n_estimators=100,
                 subsample=1.0, criterion="friedman_mse", min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_depth=3,
                 min_impurity_decrease=0.0, init=None, random_state=None,
                 max_features=None, verbose=0, max_leaf_nodes=None, warm_start=False,
                 validation_fraction=0.1, n_iter_no_change=None, tol=1e-4, ccp_alpha=0.0):
        store_init_params(self, locals())

    def _encode_y(self, y, sample_weight):
        check_classification_targets(y)
        if self.warm_start and self._is_fitted():
            codes = LabelEncoder().fit(self.classes_).transform(y)
        else:
            enc = LabelEncoder()
            codes = enc.fit_transform(y)
            self.classes_ = enc.classes_
            self.n_classes_ = self.classes_.shape[0]
        present = np.unique(codes[sample_weight > 0])
        if present.size < 2:
            raise ValueError(f"y has {present.size} class with a positive sample weight; "
                             "a classifier needs at least 2 classes.")
        if self.loss == "exponential" and self.n_classes_ > 2:
            raise ValueError(f"loss='exponential' is for two classes; y has "
                             f"{self.n_classes_}. Use loss='log_loss'.")
        self.n_trees_per_iteration_ = 1 if self.n_classes_ == 2 else self.n_classes_
        return codes.astype(np.float64)

    def _decode_y(self, codes):
        return self.classes_[np.asarray(codes, dtype=np.intp)]

    def _get_loss(self):
        if self.loss == "exponential":
            return ExponentialLoss()
        if self.n_classes_ == 2:
            return BinomialLoss()
        return MultinomialLoss(self.n_classes_)

    def fit(self, X, y, sample_weight=None, monitor=None):
        super().fit(X, y, sample_weight=sample_weight, monitor=monitor)
        self.max_features_ = self.estimators_[0, 0].max_features_
        return self

    fit.__doc__ = BaseGradientBoosting.fit.__doc__

    def decision_function(self, X):
        """Raw scores: log-odds of ``classes_[1]`` (two classes; half of them for the
        exponential loss) or one softmax score per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        raw = self._raw_predict(X)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def staged_decision_function(self, X):
        """Raw scores after each stage.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Yields
        ------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        for raw in self._staged_raw_predict(X):
            yield raw[:, 0] if raw.shape[1] == 1 else raw

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        raw = self._raw_predict(X)
        return self._loss.inverse_link(raw)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def staged_predict_proba(self, X):
        """Class probabilities after each stage.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes)
        """
        for raw in self._staged_raw_predict(X):
            yield self._loss.inverse_link(raw)

    def _label(self, raw):
        if raw.shape[1] == 1:
            return self.classes_[(raw[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(raw, axis=1)]

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._label(self._raw_predict(X))

    def staged_predict(self, X):
        """Predicted classes after each stage.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Yields
        ------
        y : ndarray of shape (n_samples,)
        """
        for raw in self._staged_raw_predict(X):
            yield self._label(raw)


for _cls in (GradientBoostingRegressor, GradientBoostingClassifier):
    _cls.__doc__ = (_cls.__doc__.replace("{common}", _COMMON_DOC.strip("\n").lstrip())
                    .replace("{attrs}", _COMMON_ATTRS.strip("\n").lstrip())
                    .replace("{notes}", _NOTES.strip())
                    .replace("{references}", _REFERENCES.strip("\n").lstrip()))
del _cls
