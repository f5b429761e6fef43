"""Histogram-based gradient boosting: HistGradientBoostingClassifier and
HistGradientBoostingRegressor (H. Dai, "Note on Machine Learning" (preprint),
Definition 3.11 and Example 25, with second-order leaf values)."""
import numbers
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_array, check_random_state, column_or_1d, resample
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from skml._kernels import _hist
from skml.ensemble._gb_losses import (
    AbsoluteError,
    BinomialLoss,
    GammaLoss,
    MultinomialLoss,
    PinballLoss,
    PoissonLoss,
    SquaredError,
)
from skml.ensemble._hist_gradient_boosting.binning import BinMapper
from skml.ensemble._hist_gradient_boosting.grower import GrowContext, grow_tree
from skml.ensemble._hist_gradient_boosting.predictor import TreeSet
from skml.utils import (
    Interval,
    StrOptions,
    check_params,
    check_sample_weight,
    effective_n_threads,
    store_init_params,
)

__all__ = ["HistGradientBoostingClassifier", "HistGradientBoostingRegressor"]

_MIN_HESSIAN_TO_SPLIT = 1e-3
_BIN_SUBSAMPLE = 200_000
_SCORER_TRAIN_SUBSAMPLE = 10_000


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _is_pandas_categorical(dtype):
    return getattr(dtype, "name", None) == "category"


class BaseHistGradientBoosting(BaseEstimator):
    """Shared code of the two estimators; not public."""

    _parameter_constraints = {
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, 2**31 - 1)],
        "max_leaf_nodes": [Interval(numbers.Integral, 2, 2**31 - 1), None],
        "max_depth": [Interval(numbers.Integral, 1, 2**31 - 1), None],
        "min_samples_leaf": [Interval(numbers.Integral, 1, 2**32 - 1)],
        "l2_regularization": [Interval(numbers.Real, 0, None, closed="left")],
        "max_features": [Interval(numbers.Real, 0, 1, closed="right")],
        "max_bins": [Interval(numbers.Integral, 2, 255)],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "monotonic_cst": ["array-like", dict, None],
        "interaction_cst": [list, tuple, StrOptions({"pairwise", "no_interactions"}),
                            None],
        "warm_start": ["boolean"],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "scoring": [str, callable, None],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither"),
                                Interval(numbers.Integral, 1, None), None],
        "n_iter_no_change": [Interval(numbers.Integral, 1, 2**31 - 1)],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # ------------------------------------------------------------------ input checks

    def _categorical_mask(self, X, n_features):
        cf = self.categorical_features
        if cf is None:
            return None
        if isinstance(cf, str):  # "from_dtype"
            if _is_dataframe(X):
                mask = np.array([_is_pandas_categorical(dt) for dt in X.dtypes])
                return mask if mask.any() else None
            return None
        cf = np.asarray(cf)
        if cf.ndim != 1:
            raise ValueError(f"categorical_features must be 1-dimensional, got shape "
                             f"{cf.shape}.")
        if cf.size == 0:
            return None
        mask = np.zeros(n_features, dtype=bool)
        if cf.dtype.kind == "b":
            if cf.size != n_features:
                raise ValueError(
                    f"categorical_features as a boolean mask must have shape "
                    f"({n_features},) (one entry per feature), got {cf.shape}.")
            mask[:] = cf
        elif cf.dtype.kind in "iu":
            if np.any(cf < 0) or np.any(cf >= n_features):
                raise ValueError(
                    f"categorical_features indices must be in [0, {n_features - 1}], got "
                    f"{cf.tolist()}.")
            mask[cf] = True
        elif cf.dtype.kind in "UO":
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError("categorical_features given as feature names needs X "
                                 "with string column names (a pandas DataFrame).")
            lookup = {name: j for j, name in enumerate(names)}
            for name in cf:
                if name not in lookup:
                    raise ValueError(f"categorical_features has {name!r}, which is not a "
                                     "feature name of X.")
                mask[lookup[name]] = True
        else:
            raise ValueError("categorical_features must be indices, a boolean mask, "
                             f"feature names or 'from_dtype', got dtype {cf.dtype}.")
        return mask if mask.any() else None

    def _preprocess_X(self, X, *, reset):
        """X as a float32/float64 array (NaN and inf allowed); pandas categorical columns
        become their category codes (NaN for missing), with the categories of fit."""
        if _is_dataframe(X):
            validate_data(self, X, skip_check_array=True, reset=reset)
            if reset:
                mask = self._categorical_mask(X, X.shape[1])
                self._pandas_categories = {
                    j: X.iloc[:, j].cat.categories for j in range(X.shape[1])
                    if mask is not None and mask[j] and _is_pandas_categorical(X.dtypes.iloc[j])
                }
                self.is_categorical_ = mask
            if self._pandas_categories:
                arr = np.empty(X.shape, dtype=np.float64)
                for j in range(X.shape[1]):
                    if j in self._pandas_categories:
                        # the code of fit's categories; -1 (unknown or missing) -> NaN
                        codes = self._pandas_categories[j].get_indexer(
                            np.asarray(X.iloc[:, j], dtype=object))
                        arr[:, j] = np.where(codes < 0, np.nan, codes)
                    else:
                        arr[:, j] = X.iloc[:, j].to_numpy(dtype=np.float64, na_value=np.nan)
                return check_array(arr, ensure_all_finite=False, dtype=np.float64)
            return check_array(X, dtype=[np.float64, np.float32], ensure_all_finite=False)
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_all_finite=False,
                          reset=reset)
        if reset:
            self._pandas_categories = {}
            self.is_categorical_ = self._categorical_mask(X, X.shape[1])
        return X

    def _check_monotonic_cst(self, n_features):
        cst = self.monotonic_cst
        if cst is None:
            return None
        if isinstance(cst, dict):
            out = np.zeros(n_features, dtype=np.int8)
            names = getattr(self, "feature_names_in_", None)
            lookup = {} if names is None else {n: j for j, n in enumerate(names)}
            for key, value in cst.items():
                if isinstance(key, str):
                    if key not in lookup:
                        raise ValueError(f"monotonic_cst has key {key!r}, which is not a "
                                         "feature name of X.")
                    j = lookup[key]
                elif isinstance(key, numbers.Integral) and 0 <= key < n_features:
                    j = int(key)
                else:
                    raise ValueError(f"monotonic_cst keys must be feature names or indices "
                                     f"in [0, {n_features - 1}], got {key!r}.")
                out[j] = self._one_cst(value)
        else:
            arr = np.asarray(cst)
            if arr.shape != (n_features,):
                raise ValueError(f"monotonic_cst must have shape ({n_features},) (one "
                                 f"entry per feature), got {arr.shape}.")
            out = np.array([self._one_cst(v) for v in arr], dtype=np.int8)
        if not np.any(out):
            return None
        if self.n_trees_per_iteration_ != 1:
            raise ValueError("monotonic_cst is not supported for multiclass "
                             "classification.")
        if self.is_categorical_ is not None and np.any(out[self.is_categorical_] != 0):
            raise ValueError("monotonic_cst cannot constrain a categorical feature: "
                             "categories have no order.")
        return out

    @staticmethod
    def _one_cst(value):
        if value not in (-1, 0, 1) or isinstance(value, (bool, np.bool_)):
            raise ValueError(f"monotonic_cst values must be -1, 0 or 1, got {value!r}.")
        return int(value)

    def _check_interaction_cst(self, n_features):
        cst = self.interaction_cst
        if cst is None:
            return None
        if cst == "no_interactions":
            groups = [{j} for j in range(n_features)]
        elif cst == "pairwise":
            groups = [{i, j} for i in range(n_features) for j in range(i + 1, n_features)]
            if n_features == 1:
                groups = [{0}]
        else:
            try:
                groups = [set(group) for group in cst]
            except TypeError:
                raise ValueError("interaction_cst must be a sequence of lists or tuples of "
                                 f"feature indices, got {cst!r}.") from None
            for group in groups:
                for j in group:
                    if (not isinstance(j, numbers.Integral) or isinstance(j, bool)
                            or not 0 <= j < n_features):
                        raise ValueError(
                            "interaction_cst must hold feature indices in "
                            f"[0, {n_features - 1}], got the group {sorted(group, key=str)}.")
        rest = set(range(n_features)) - set().union(*groups)
        if rest:
            groups.append(rest)
        return groups

    # -------------------------------------------------------------------------- fit

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Fit the boosted trees.

        Parameters
        ----------
        X : array-like or pandas DataFrame of shape (n_samples, n_features)
            Training data; NaN marks a missing value. Categorical features (see
            ``categorical_features``) hold non-negative integer category codes, or are
            pandas categorical columns.
        y : array-like of shape (n_samples,)
            Targets (class labels for the classifier), finite.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        X_val, y_val : array-like, default=None
            A validation set for early stopping, used instead of a split of ``X``;
            both or neither. ``early_stopping`` must not be False.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : object
        """
        check_params(self)
        t_start = time.perf_counter()
        n_threads = effective_n_threads(None)
        X = self._preprocess_X(X, reset=True)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        y = self._encode_y(y)
        n_samples, n_features = X.shape
        if n_samples >= 2**32 - 1:
            raise ValueError("skml's histogram gradient boosting supports fewer than "
                             "2**32 - 1 samples.")
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, n_samples)
        sample_weight = self._finalize_sample_weight(sample_weight, y)

        has_val = X_val is not None or y_val is not None
        if has_val:
            if X_val is None or y_val is None:
                raise ValueError("X_val and y_val must be given together: got "
                                 f"{'X_val' if y_val is None else 'y_val'} without "
                                 f"{'y_val' if y_val is None else 'X_val'}.")
            if self.early_stopping is False:
                raise ValueError("X_val and y_val are given but early_stopping=False; "
                                 "set early_stopping='auto' or True to use them.")
            X_val = self._preprocess_X(X_val, reset=False)
            y_val = self._encode_y_val(column_or_1d(y_val, warn=True))
            check_consistent_length(X_val, y_val)
            if sample_weight_val is not None:
                sample_weight_val = check_sample_weight(sample_weight_val, X_val.shape[0])
        elif sample_weight_val is not None:
            raise ValueError("sample_weight_val is given without X_val and y_val.")

        loss = self._get_loss()
        monotonic_cst = self._check_monotonic_cst(n_features)
        interaction_cst = self._check_interaction_cst(n_features)

        warm = self.warm_start and self._is_fitted()
        if not warm:
            rng = check_random_state(self.random_state)
            self._random_seed = int(rng.randint(np.iinfo(np.uint32).max, dtype=np.uint64))
            self._feature_rng = np.random.RandomState(
                int(rng.randint(np.iinfo(np.uint32).max, dtype=np.uint64)))
        elif self.max_iter < self.n_iter_:
            raise ValueError(f"max_iter={self.max_iter} must be >= n_iter_={self.n_iter_} "
                             "when warm_start=True.")

        if self.early_stopping == "auto":
            # Given validation data states the intent to stop on it (scikit-learn's
            # documented meaning of "auto"; its code ignores X_val below 10,001 samples).
            self.do_early_stopping_ = n_samples > 10_000 or has_val
        else:
            self.do_early_stopping_ = bool(self.early_stopping)
        use_val = self.do_early_stopping_ and (has_val or
                                               self.validation_fraction is not None)
        if self.do_early_stopping_ and use_val and not has_val:
            stratify = y if is_classifier(self) else None
            arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
            parts = train_test_split(*arrays, test_size=self.validation_fraction,
                                     stratify=stratify, random_state=self._random_seed)
            X_train, X_val, y_train, y_val = parts[:4]
            sample_weight_train, sample_weight_val = (
                (None, None) if sample_weight is None else parts[4:])
        else:
            X_train, y_train, sample_weight_train = X, y, sample_weight
            if not has_val:
                X_val = y_val = sample_weight_val = None

        if not warm:
            self._bin_mapper = BinMapper(
                self.max_bins, self.is_categorical_, _BIN_SUBSAMPLE,
                np.random.RandomState(self._random_seed % (2**32)), n_threads,
            ).fit(X_train, sample_weight_train)
        bm = self._bin_mapper
        X_binned = bm.transform(X_train)
        X_binned_val = (np.ascontiguousarray(bm.transform(X_val))
                        if use_val and X_val is not None else None)

        K = self.n_trees_per_iteration_
        y_train = np.ascontiguousarray(y_train, dtype=np.float64)
        if y_val is not None:
            y_val = np.ascontiguousarray(y_val, dtype=np.float64)
        if warm:
            raw = np.asfortranarray(self._raw_binned(np.ascontiguousarray(X_binned),
                                                     n_threads))
            begin = self.n_iter_
            self.train_score_ = list(self.train_score_)
            self.validation_score_ = list(self.validation_score_)
        else:
            self._baseline_prediction = loss.baseline(y_train, sample_weight_train)
            self._predictors = TreeSet(K)
            self._gains = np.zeros(n_features)
            raw = np.empty((X_train.shape[0], K), order="F")
            raw[:] = self._baseline_prediction
            begin = 0
            self.train_score_ = []
            self.validation_score_ = []
        raw_val = None
        if X_binned_val is not None:
            raw_val = self._raw_binned(X_binned_val, n_threads)

        scorer = None
        if self.do_early_stopping_ and self.scoring not in (None, "loss"):
            scorer = check_scoring(self, self.scoring)
            small = self._small_train(y_train)
        if self.do_early_stopping_ and not warm:
            self._record_scores(loss, scorer, y_train, raw, sample_weight_train, y_val,
                                raw_val, sample_weight_val, use_val,
                                small if scorer is not None else None)

        ctx = GrowContext(X_binned, bm, monotonic_cst, interaction_cst,
                          self.max_leaf_nodes, self.max_depth, self.min_samples_leaf,
                          self.l2_regularization, _MIN_HESSIAN_TO_SPLIT,
                          self.max_features, n_threads)
        n_train = X_train.shape[0]
        g = np.empty((n_train, K), dtype=np.float32, order="F")
        h = np.empty((n_train, K), dtype=np.float32, order="F")
        const_hess = loss.constant_hessian and sample_weight_train is None
        if const_hess:
            h = None
        h_scratch = np.empty(n_train if h is None else 0, dtype=np.float32)
        for iteration in range(begin, self.max_iter):
            if K == 1:
                loss.gradient_hessian(y_train, raw[:, 0], sample_weight_train, g[:, 0],
                                      h[:, 0] if h is not None else h_scratch, n_threads)
            else:
                loss.gradient_hessian(y_train, raw, sample_weight_train, g, h, n_threads)
            for k in range(K):
                tree = grow_tree(ctx, g[:, k], None if h is None else h[:, k], 1.0,
                                 self.learning_rate, self._feature_rng)
                if loss.needs_leaf_update:
                    self._update_leaves(loss, tree, ctx.sample_indices, y_train,
                                        raw[:, k], sample_weight_train)
                _hist.add_leaf_values(raw[:, k], ctx.sample_indices, tree.leaf_starts,
                                      tree.leaf_stops, tree.leaf_values, n_threads)
                self._predictors.append(tree.nodes, tree.bitsets)
                self._gains += tree.gains
            if self.verbose >= 2:
                print(f"[{iteration + 1}/{self.max_iter}] "
                      f"{len(tree.leaf_ids)} leaves in the last tree", flush=True)
            if self.do_early_stopping_:
                if raw_val is not None:
                    self._predictors.predict_binned_iteration(
                        X_binned_val, iteration, raw_val, bm.missing_bin_, n_threads)
                stop = self._record_scores(loss, scorer, y_train, raw,
                                           sample_weight_train, y_val, raw_val,
                                           sample_weight_val, use_val,
                                           small if scorer is not None else None)
                if stop:
                    break
        self.n_iter_ = self._predictors.n_iter
        self.train_score_ = np.asarray(self.train_score_)
        self.validation_score_ = np.asarray(self.validation_score_)
        if self.verbose:
            print(f"Fit {len(self._predictors)} trees in "
                  f"{time.perf_counter() - t_start:.3f} s", flush=True)
        return self

    def _small_train(self, y_train):
        n = y_train.shape[0]
        if n <= _SCORER_TRAIN_SUBSAMPLE:
            return np.arange(n)
        stratify = y_train if is_classifier(self) else None
        return np.sort(resample(np.arange(n), n_samples=_SCORER_TRAIN_SUBSAMPLE,
                                replace=False, random_state=self._random_seed,
                                stratify=stratify))

    def _loss_of(self, loss, y, raw, w):
        return loss(y, raw[:, 0] if raw.shape[1] == 1 else raw, w)

    def _record_scores(self, loss, scorer, y_train, raw, w_train, y_val, raw_val, w_val,
                       use_val, small):
        """Append the training (and validation) scores; whether to stop."""
        if scorer is None:
            self.train_score_.append(-self._loss_of(loss, y_train, raw, w_train))
            if use_val:
                self.validation_score_.append(-self._loss_of(loss, y_val, raw_val, w_val))
        else:
            self.train_score_.append(self._score_raw(
                scorer, raw[small], y_train[small],
                None if w_train is None else w_train[small]))
            if use_val:
                self.validation_score_.append(self._score_raw(scorer, raw_val, y_val,
                                                              w_val))
        scores = self.validation_score_ if use_val else self.train_score_
        return self._should_stop(scores)

    def _score_raw(self, scorer, raw, y_codes, w):
        """Score through a scikit-learn scorer on precomputed raw predictions: the
        scorer calls predict/predict_proba, which return these."""
        y = self._decode_y(y_codes)
        self._raw_override = np.ascontiguousarray(raw)
        try:
            dummy = np.zeros((raw.shape[0], self.n_features_in_))
            if w is None:
                return float(scorer(self, dummy, y))
            return float(scorer(self, dummy, y, sample_weight=w))
        finally:
            self._raw_override = None

    def _should_stop(self, scores):
        ref = self.n_iter_no_change + 1
        if len(scores) < ref:
            return False
        reference = scores[-ref] + self.tol
        return not any(s > reference for s in scores[-ref + 1:])

    def _update_leaves(self, loss, tree, sample_indices, y, raw_k, w):
        """Leaf values of a non-smooth loss: the loss's own minimiser over the leaf's
        residuals (the median for absolute error, the quantile for the pinball loss)."""
        values = np.empty(len(tree.leaf_ids))
        for j, (a, b) in enumerate(zip(tree.leaf_starts, tree.leaf_stops)):
            s = sample_indices[a:b]
            values[j] = loss.leaf_value(y[s] - raw_k[s], None if w is None else w[s])
        tree.set_leaf_values(values * self.learning_rate)

    def _is_fitted(self):
        return len(getattr(self, "_predictors", ())) > 0

    # ------------------------------------------------------------------ prediction

    def _prepare_X(self, X):
        X = self._preprocess_X(X, reset=False)
        if self.is_categorical_ is not None:
            return self._bin_mapper.category_codes(X, np.flatnonzero(self.is_categorical_))
        return np.ascontiguousarray(X)

    def _raw_binned(self, X_binned, n_threads):
        raw = np.empty((X_binned.shape[0], self.n_trees_per_iteration_))
        raw[:] = self._baseline_prediction
        self._predictors.predict_binned(X_binned, raw, self._bin_mapper.missing_bin_,
                                        n_threads)
        return raw

    def _raw_predict(self, X):
        """Raw scores (n_samples, n_trees_per_iteration_)."""
        override = getattr(self, "_raw_override", None)
        if override is not None:
            return override
        check_is_fitted(self)
        X = self._prepare_X(X)
        raw = np.empty((X.shape[0], self.n_trees_per_iteration_))
        raw[:] = self._baseline_prediction
        self._predictors.predict_raw(X, raw, effective_n_threads(None))
        return raw

    def _staged_raw_predict(self, X):
        check_is_fitted(self)
        X = self._prepare_X(X)
        raw = np.empty((X.shape[0], self.n_trees_per_iteration_))
        raw[:] = self._baseline_prediction
        n_threads = effective_n_threads(None)
        for it in range(self.n_iter_):
            self._predictors.predict_raw(X, raw, n_threads, start=it, stop=it + 1)
            yield raw.copy()

    @property
    def feature_importances_(self):
        """Total gain of the splits on each feature over every tree, normalised to sum 1
        (all zeros when no tree has a split)."""
        check_is_fitted(self)
        total = self._gains.sum()
        return self._gains / total if total > 0 else np.zeros_like(self._gains)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


_COMMON_DOC = """
    learning_rate : float, default=0.1
        Shrinkage: each leaf value is multiplied by it. Must be > 0.
    max_iter : int, default=100
        Boosting iterations (one tree per iteration, one per class for multiclass
        classification).
    max_leaf_nodes : int or None, default=31
        Leaves per tree at most (best-first growth); None: no limit.
    max_depth : int or None, default=None
        Depth per tree at most (the root has depth 0); None: no limit.
    min_samples_leaf : int, default=20
        Samples per leaf at least.
    l2_regularization : float, default=0.0
        L2 penalty on leaf values: a leaf's value is -G / (H + l2_regularization).
    max_features : float, default=1.0
        Fraction of the (allowed) features drawn at random in every node split.
    max_bins : int, default=255
        Bins for non-missing values, 2 to 255; missing values get one more bin.
    categorical_features : array-like of int, bool mask or str, "from_dtype" or None, \
default="from_dtype"
        Categorical features: indices, a boolean mask, feature names, or
        ``"from_dtype"`` (the pandas categorical columns of a DataFrame; none for an
        array). A numeric categorical feature holds non-negative integer codes with at
        most ``max_bins`` distinct values (else ``fit`` raises). At prediction, a
        category not seen in ``fit`` and a negative code are treated as missing values.
    monotonic_cst : array-like of int of shape (n_features,), dict or None, default=None
        Monotonic constraint per feature: 1 increasing, -1 decreasing, 0 none; a dict
        maps feature names or indices to constraints. Not for categorical features or
        multiclass classification.
    interaction_cst : {"pairwise", "no_interactions"} or sequence of lists of int, \
default=None
        Groups of features that may interact: a branch splits only on features of the
        groups that contain every feature already used on it. Features in no group form
        one more group.
    warm_start : bool, default=False
        Keep the fitted trees and add trees up to ``max_iter`` on the next ``fit`` (of
        the same data).
    early_stopping : "auto" or bool, default="auto"
        Stop when the score has not improved by more than ``tol`` for
        ``n_iter_no_change`` iterations; "auto": on when there are more than 10,000
        samples or when ``X_val, y_val`` are given to ``fit`` (scikit-learn's documented
        meaning; scikit-learn 1.9 itself ignores ``X_val`` for 10,000 samples or fewer).
    scoring : str, callable or None, default="loss"
        Score for early stopping: "loss" (minus the loss) or a scikit-learn scorer
        (evaluated on at most 10,000 training samples and on the validation data).
    validation_fraction : int, float or None, default=0.1
        Part of the training data held out for early stopping when ``X_val`` is not
        given; None: the training score decides.
    n_iter_no_change : int, default=10
        Patience of early stopping, in iterations.
    tol : float, default=1e-7
        Least improvement that counts for early stopping.
    verbose : int, default=0
        Print progress.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split, the quantile subsample and ``max_features`` draws.
"""

_COMMON_NOTES = """
    The data are binned once (at most ``max_bins`` quantile bins per feature, from at
    most 200,000 rows). Each tree is grown leaf by leaf, the node with the largest gain
    first, on per-node gradient and hessian histograms computed by a Cython kernel with
    OpenMP over features; the larger child's histogram is the parent's minus the
    smaller child's. Leaf values are Newton steps -G / (H + lambda) times the learning
    rate. Missing values (NaN) go, at every split, to the side that gains more in
    training (to the child with more samples when the node had none). Categorical
    splits send a set of categories left: the categories sorted by their gradient /
    hessian ratio are split into a prefix and the rest (Fisher 1958), the prefix taken
    from either end of the order and of any length (scikit-learn takes at most half of
    the categories from the far end, so skml can find splits of larger gain);
    categories with fewer than 10 samples in a node go right. Under ``monotonic_cst``
    a split gains the second-order loss decrease at the children's clipped values (as
    LightGBM; scikit-learn scores G v), so constrained trees can differ from
    scikit-learn's. Split thresholds
    are float64 values of the input (no float32 rounding). Prediction walks every tree
    in one Cython call with OpenMP over rows; early stopping predicts the validation
    data on its bins. OpenMP threads: all cores (``OMP_NUM_THREADS`` and threadpoolctl
    limits are honoured); results do not depend on the thread count.

    ``feature_importances_`` is the total split gain per feature (scikit-learn's
    ``HistGradientBoosting*`` has none).

    Expected failure of scikit-learn's checks (classifier only):
    ``check_sample_weight_equivalence`` (gradients are float32, so w (p - y) rounded once
    differs from (p - y) summed twice by ~1e-7 relative), as for scikit-learn's own
    estimator.
"""

_COMMON_ATTRS = """
    train_score_, validation_score_ : ndarray
        Scores at each iteration (the first before any tree) when early stopping is on.
    do_early_stopping_ : bool
    is_categorical_ : ndarray of bool of shape (n_features,) or None
    feature_importances_ : ndarray of shape (n_features,)
        Normalised total split gain per feature.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        When ``X`` had string column names.
"""

_REFERENCES = """
    References
    ----------
    H. Dai, "Note on Machine Learning" (preprint), §3.1.2, Definition 3.11 and Example 25;
    §3.2.3, Definitions 3.63-3.69 (losses).

    J. H. Friedman, "Greedy function approximation: a gradient boosting machine", Annals
    of Statistics 29(5), 2001.

    T. Chen and C. Guestrin, "XGBoost: a scalable tree boosting system", KDD 2016.

    G. Ke et al., "LightGBM: a highly efficient gradient boosting decision tree",
    NeurIPS 2017.

    W. D. Fisher, "On grouping for maximum homogeneity", JASA 53(284), 1958.
"""


class HistGradientBoostingRegressor(RegressorMixin, BaseHistGradientBoosting):
    """Histogram-based gradient boosting for regression.

    Gradient boosting (H. Dai, "Note on Machine Learning", Definition 3.11): trees fitted
    one after the other to the gradient of the loss at the current prediction, with
    LightGBM's histogram techniques, scikit-learn's API and parameters.

    Parameters
    ----------
    loss : {"squared_error", "absolute_error", "poisson", "gamma", "quantile"}, \
default="squared_error"
        The loss. "poisson" and "gamma" model log(mean) (predictions are positive);
        "absolute_error" and "quantile" set leaf values to the median / quantile of
        the leaf's residuals.
    quantile : float or None, default=None
        The quantile for ``loss="quantile"``, in [0, 1].
    {common}
    Attributes
    ----------
    n_iter_ : int
        Iterations done (fewer than ``max_iter`` after early stopping).
    n_trees_per_iteration_ : int
        1.
    {attrs}

    Raises
    ------
    ValueError
        From ``fit``: an invalid parameter, NaN or inf in ``y`` (or ``|y| > 1e38`` for
        "squared_error" and "poisson": the gradients are float32), a negative ``y`` for
        "poisson" (or a zero sum), a non-positive ``y`` for "gamma", ``loss="quantile"``
        without ``quantile``, a categorical feature with negative, non-integer or more
        than ``max_bins`` codes, ``X_val`` without ``y_val`` (or the reverse).

    Notes
    -----
    {notes}
    {references}
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skml.ensemble import HistGradientBoostingRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = HistGradientBoostingRegressor(max_iter=50, random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.7)
    True
    """

    _parameter_constraints = {
        **BaseHistGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "poisson", "gamma",
                             "quantile"})],
        "quantile": [Interval(numbers.Real, 0, 1, closed="both"), None],
    }

    def __init__(self, loss="squared_error", *, quantile=None, learning_rate=0.1,
                 max_iter=100, max_leaf_nodes=31, max_depth=None, min_samples_leaf=20,
                 l2_regularization=0.0, max_features=1.0, max_bins=255,
                 categorical_features="from_dtype", monotonic_cst=None,
                 interaction_cst=None, warm_start=False, early_stopping="auto",
                 scoring="loss", validation_fraction=0.1, n_iter_no_change=10, tol=1e-7,
                 verbose=0, random_state=None):
        store_init_params(self, locals())

    def _encode_y(self, y):
        self.n_trees_per_iteration_ = 1
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        self._check_y_domain(y)
        return y

    def _check_y_domain(self, y):
        if self.loss in ("squared_error", "poisson") and y.size and np.max(np.abs(y)) > 1e38:
            # the gradients (prediction - y) are float32: beyond ~3.4e38 they overflow
            raise ValueError(f"loss={self.loss!r} needs |y| <= 1e38 (gradients are "
                             "float32); rescale y.")
        if self.loss == "poisson" and not (np.all(y >= 0) and np.sum(y) > 0):
            raise ValueError("loss='poisson' requires non-negative y and sum(y) > 0.")
        if self.loss == "gamma" and not np.all(y > 0):
            raise ValueError("loss='gamma' requires strictly positive y.")

    def _encode_y_val(self, y):
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y_val")
        self._check_y_domain(y)
        return y

    def _decode_y(self, y):
        return y

    def _finalize_sample_weight(self, sample_weight, y):
        return sample_weight

    def _get_loss(self):
        if self.loss == "quantile":
            if self.quantile is None:
                raise ValueError("loss='quantile' needs the quantile parameter (a float "
                                 "in [0, 1]).")
            return PinballLoss(self.quantile)
        return {"squared_error": SquaredError, "absolute_error": AbsoluteError,
                "poisson": PoissonLoss, "gamma": GammaLoss}[self.loss]()

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._get_loss().inverse_link(self._raw_predict(X)[:, 0])

    def staged_predict(self, X):
        """Predictions after each iteration.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Yields
        ------
        y : ndarray of shape (n_samples,)
        """
        loss = self._get_loss()
        for raw in self._staged_raw_predict(X):
            yield loss.inverse_link(raw[:, 0])


class HistGradientBoostingClassifier(ClassifierMixin, BaseHistGradientBoosting):
    """Histogram-based gradient boosting for classification.

    Gradient boosting (H. Dai, "Note on Machine Learning", Definition 3.11) of the
    log-loss (cross-entropy, Definition 3.69): one tree per iteration on the log-odds
    for two classes, one tree per class on softmax scores for more.

    Parameters
    ----------
    loss : {"log_loss"}, default="log_loss"
        The loss.
    {common}
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_iter_ : int
        Iterations done (fewer than ``max_iter`` after early stopping).
    n_trees_per_iteration_ : int
        1 for two classes, else the number of classes.
    {attrs}

    Raises
    ------
    ValueError
        From ``fit``: an invalid parameter, NaN in ``y``, a categorical feature with
        negative, non-integer or more than ``max_bins`` codes, a monotonic constraint
        with more than two classes, ``X_val`` without ``y_val`` (or the reverse), a
        class in ``y_val`` not in ``y``.

    Notes
    -----
    {notes}
    {references}
    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skml.ensemble import HistGradientBoostingClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(X, y)
    >>> bool(clf.score(X, y) > 0.95)
    True
    """

    _parameter_constraints = {
        **BaseHistGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"log_loss"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, loss="log_loss", *, learning_rate=0.1, max_iter=100,
                 max_leaf_nodes=31, max_depth=None, min_samples_leaf=20,
                 l2_regularization=0.0, max_features=1.0, max_bins=255,
                 categorical_features="from_dtype", monotonic_cst=None,
                 interaction_cst=None, warm_start=False, early_stopping="auto",
                 scoring="loss", validation_fraction=0.1, n_iter_no_change=10, tol=1e-7,
                 verbose=0, random_state=None, class_weight=None):
        store_init_params(self, locals())

    def _encode_y(self, y):
        check_classification_targets(y)
        self._label_encoder = LabelEncoder()
        codes = self._label_encoder.fit_transform(y)
        self.classes_ = self._label_encoder.classes_
        n_classes = self.classes_.shape[0]
        self.n_trees_per_iteration_ = 1 if n_classes <= 2 else n_classes
        return codes.astype(np.float64)

    def _encode_y_val(self, y):
        check_classification_targets(y)
        return self._label_encoder.transform(y).astype(np.float64)

    def _decode_y(self, codes):
        return self.classes_[np.asarray(codes, dtype=np.intp)]

    def _finalize_sample_weight(self, sample_weight, y):
        if self.class_weight is None:
            return sample_weight
        cw = compute_sample_weight(self.class_weight, y)
        return cw if sample_weight is None else sample_weight * cw

    def _get_loss(self):
        if self.n_trees_per_iteration_ == 1:
            return BinomialLoss()
        return MultinomialLoss(self.n_trees_per_iteration_)

    def decision_function(self, X):
        """Raw scores: log-odds of ``classes_[1]`` (two classes) or one softmax score
        per class.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        raw = self._raw_predict(X)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def staged_decision_function(self, X):
        """Raw scores after each iteration.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

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
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        raw = self._raw_predict(X)
        return self._proba(raw)

    def _proba(self, raw):
        if raw.shape[1] == 1:
            if self.classes_.shape[0] == 1:  # a single class seen in fit
                return np.ones((raw.shape[0], 1))
            return BinomialLoss().inverse_link(raw[:, 0])
        return MultinomialLoss(raw.shape[1]).inverse_link(raw)

    def staged_predict_proba(self, X):
        """Class probabilities after each iteration.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes)
        """
        for raw in self._staged_raw_predict(X):
            yield self._proba(raw)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._label(self._raw_predict(X))

    def _label(self, raw):
        if raw.shape[1] == 1:
            if self.classes_.shape[0] == 1:
                return np.repeat(self.classes_, raw.shape[0])
            return self.classes_[(raw[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(raw, axis=1)]

    def staged_predict(self, X):
        """Predicted classes after each iteration.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Yields
        ------
        y : ndarray of shape (n_samples,)
        """
        for raw in self._staged_raw_predict(X):
            yield self._label(raw)


for _cls in (HistGradientBoostingRegressor, HistGradientBoostingClassifier):
    _cls.__doc__ = (_cls.__doc__.replace("{common}", _COMMON_DOC.strip("\n").lstrip())
                    .replace("{attrs}", _COMMON_ATTRS.strip("\n").lstrip())
                    .replace("{notes}", _COMMON_NOTES.strip())
                    .replace("{references}", _REFERENCES.strip("\n").lstrip()))
del _cls
