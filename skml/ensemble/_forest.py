"""Forests of trees: random forests (Breiman, 2001; H. Dai, "Note on Machine Learning"
(preprint), Definition 3.10): bagged trees that also draw a random subset of the features
at every split, and extremely randomized trees (Geurts et al., 2006), whose splits also
draw their thresholds at random."""
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted, validate_data

from skml._kernels import _tree
from skml.ensemble._base import (
    EnsembleMixin,
    bootstrap_indices,
    draw_seeds,
    n_bootstrap_samples,
    progress,
)
from skml.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)
from skml.tree._classes import (
    _TREE_CONSTRAINTS,
    CRITERIA_CLF,
    CRITERIA_REG,
    TreeClassifierMixin,
    check_int_fraction_params,
    encode_classes,
    monotonic_constraints,
    prepare_split_data,
    regression_targets,
    split_data_shape,
    target_ranks,
    targets_from_values,
    validate_tree_X,
    validate_tree_X_predict,
)
from skml.tree._tree_model import csr_arrays, pack_trees, tree_values
from skml.utils import (
    Interval,
    StrOptions,
    check_params,
    check_sample_weight,
    store_init_params,
)

__all__ = ["RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
           "ExtraTreesRegressor"]

_MAX_SEED = np.iinfo(np.int64).max
_TREE_PARAMS = ("criterion", "max_depth", "min_samples_split", "min_samples_leaf",
                "min_weight_fraction_leaf", "max_features", "max_leaf_nodes",
                "min_impurity_decrease", "ccp_alpha", "monotonic_cst")


def _fit_tree(tree, data, y_codes, y_values, sample_weight, n_classes, seed, n_bootstrap,
              y_rank, balanced_subsample, y_exp, cst):
    """Fit one member; module level so that joblib (threads, processes or dask) can ship
    it. The bootstrap is a vector of counts used as sample weights, so X is never copied:
    with ``sample_weight`` the bootstrap draws samples with probabilities proportional to
    their weights (scikit-learn >= 1.9) and the tree sees the counts alone."""
    n_samples = split_data_shape(data)[0]
    if n_bootstrap is not None:
        idx, _ = bootstrap_indices(seed, n_samples, n_bootstrap, sample_weight)
        w = np.bincount(idx, minlength=n_samples).astype(np.float64)
        if balanced_subsample:
            w *= compute_sample_weight("balanced", y_codes, indices=idx)
    else:
        w = np.ones(n_samples) if sample_weight is None else sample_weight
    # the tree's own draws come from its random_state (the seed), as in tree.fit: a
    # clone of a member refitted on its in-bag samples is the same tree
    tree_seed = np.random.RandomState(seed).randint(_MAX_SEED, dtype=np.int64)
    tree._grow(data, y_codes, y_values, w, n_classes, tree_seed, y_rank, y_exp, cst)
    return tree


def _row_blocks(n_rows, n_jobs):
    n_blocks = max(1, min(effective_n_jobs(n_jobs), (n_rows + 1023) // 1024))
    edges = np.linspace(0, n_rows, n_blocks + 1).astype(np.intp)
    return list(zip(edges[:-1], edges[1:]))


class _PackedForest:
    """A forest's trees packed for the prediction kernels, kept between predictions.

    The packing (``pack_trees``: the trees' structure; their leaf values are read from
    the trees at each prediction, so edits of ``tree_.value`` are seen) is remembered
    with the ``tree_`` objects and node arrays it was made from (strong references: an
    id cannot be reused while they are held) and made again when ``estimators_`` no
    longer holds exactly those in that order: a member replaced, trees appended or
    removed (``a.estimators_ += b.estimators_``, slicing), a member refitted in place
    (``fit`` gives it a new ``tree_``) or a node array replaced. Writing into a member's
    split arrays (children, feature, threshold) in place is not seen: refit or replace
    the member instead.

    The forest creates and fills one in ``fit`` (a sparse prediction's peak memory is
    then the rows' and the output's alone) and predictions update it in place, so that
    ``predict`` leaves the estimator's ``__dict__`` as it was; it pickles and copies
    empty (the next prediction packs)."""

    __slots__ = ("_state",)

    def __init__(self):
        self._state = None

    def __reduce__(self):
        return (type(self), ())

    @staticmethod
    def _structure(trees):
        return [a for t in trees for a in (t, t.children_left, t.children_right, t.feature,
                                           t.threshold, t.missing_go_to_left)]

    def get(self, trees, dtype, n_features):
        state = self._state     # one read: another thread may replace it meanwhile
        structure = self._structure(trees)
        if (state is not None and state[0] == (np.dtype(dtype), n_features)
                and len(state[1]) == len(structure)
                and all(a is b for a, b in zip(state[1], structure))):
            return state[2]
        packed = pack_trees(trees, dtype, n_features)
        self._state = ((np.dtype(dtype), n_features), structure, packed)
        return packed


class _BaseForest(EnsembleMixin, BaseEstimator):
    """Shared code of the forests; not public."""

    _tree_class = None
    _parameter_constraints = {
        **{k: v for k, v in _TREE_CONSTRAINTS.items() if k != "splitter"},
        "n_estimators": [Interval(numbers.Integral, 1, None)],
        "bootstrap": ["boolean"],
        "oob_score": ["boolean", callable],
        "n_jobs": ["n_jobs"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "max_samples": [None, Interval(numbers.Integral, 1, None),
                        Interval(numbers.Real, 0.0, None, closed="neither")],
    }

    def _make_tree(self, random_state=None):
        params = {name: getattr(self, name) for name in _TREE_PARAMS}
        return self._tree_class(random_state=random_state, **params)

    @property
    def estimator(self):
        """The tree template (scikit-learn's forests have it as a read-only property)."""
        return self._tree_class()

    def _check_forest_params(self):
        check_params(self)
        check_int_fraction_params(self)
        if self.oob_score is not False and not self.bootstrap:
            raise ValueError("Out of bag estimation only available if bootstrap=True "
                             "(oob_score=True needs bootstrap=True: without bootstrap there "
                             "are no out-of-bag samples).")
        if self.max_samples is not None and not self.bootstrap:
            raise ValueError("`max_sample` cannot be set if `bootstrap=False`. Either switch "
                             "to `bootstrap=True` or set `max_sample=None` (max_samples can "
                             "only be set with bootstrap=True).")

    def _fit(self, X, y_codes, y_values, sample_weight, n_classes, y_exp=0):
        """Fit the trees (or the new ones, with ``warm_start``)."""
        n_samples = X.shape[0]
        self._n_samples = n_samples
        # with bootstrap, the weights are the drawing probabilities (stored to regenerate
        # the draws, as scikit-learn does); without, they go to every tree
        self._sample_weight = sample_weight
        n_bootstrap = (n_bootstrap_samples(n_samples, self.max_samples, sample_weight)
                       if self.bootstrap else None)
        y_rank = target_ranks(y_values) if self.criterion == "absolute_error" else None
        balanced_subsample = getattr(self, "class_weight", None) == "balanced_subsample"
        cst = monotonic_constraints(
            self.monotonic_cst, X.shape[1],
            (y_codes if y_values is None else y_values).shape[1],
            None if n_classes is None else int(np.max(n_classes)))
        if not self.warm_start or not hasattr(self, "estimators_"):
            self.estimators_ = []
        n_existing = len(self.estimators_)
        if self.n_estimators < n_existing:
            raise ValueError(f"n_estimators={self.n_estimators} must be larger or equal to "
                             f"len(estimators_)={n_existing} when warm_start==True")
        # every tree's seed is drawn up front: tree i gets the same seed whatever n_jobs,
        # and a warm-started forest continues the sequence of seeds
        seeds = draw_seeds(self.random_state, self.n_estimators)
        if n_existing:
            seeds[:n_existing] = self._seeds[:n_existing]
        if self.n_estimators == n_existing:
            warnings.warn("Warm-start fitting without increasing n_estimators does not fit "
                          "new trees.", UserWarning)
        new_seeds = seeds[n_existing:]
        data = prepare_split_data(X)
        bar = progress(len(new_seeds), type(self).__name__, self.verbose, unit="tree")
        jobs = Parallel(n_jobs=self.n_jobs, prefer="threads", return_as="generator")(
            delayed(_fit_tree)(self._make_tree(random_state=int(s)), data, y_codes,
                               y_values, sample_weight, n_classes, int(s), n_bootstrap,
                               y_rank, balanced_subsample, y_exp, cst)
            for s in new_seeds
        )
        trees = []
        for tree in jobs:
            trees.append(tree)
            bar.update(1)
        bar.close()
        for tree in trees:
            tree.n_features_in_ = X.shape[1]
            if y_codes is not None:
                codes_n = [int(k) for k in n_classes]
                tree.classes_ = (np.arange(codes_n[0]) if len(codes_n) == 1
                                 else [np.arange(k) for k in codes_n])
                tree.n_classes_ = codes_n[0] if len(codes_n) == 1 else codes_n
        self.estimators_ = self.estimators_ + trees
        # packed now, for the predictions to come (the packing is what predict reads)
        self._packed_forest = _PackedForest()
        self._packed_forest.get([t.tree_ for t in self.estimators_],
                                self.estimators_[0].tree_.input_dtype, X.shape[1])
        self.estimator_ = self._make_tree()
        self.n_outputs_ = (y_codes if y_values is None else y_values).shape[1]
        self._seeds = seeds
        self._n_samples_bootstrap = n_bootstrap
        return len(trees)

    def _get_estimators_indices(self):
        for seed in self._seeds[:len(self.estimators_)]:
            if self._n_samples_bootstrap is None:
                yield np.arange(self._n_samples, dtype=np.int32)
            else:
                idx, _ = bootstrap_indices(int(seed), self._n_samples, self._n_samples_bootstrap,
                                           self._sample_weight)
                yield idx.astype(np.int32)

    @property
    def estimators_samples_(self):
        """The in-bag samples of every tree (indices into the training set, repeated as
        drawn; all samples when ``bootstrap=False``), regenerated from the trees' seeds
        at each access (scikit-learn's attribute)."""
        check_is_fitted(self)
        return list(self._get_estimators_indices())

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        if not self.estimators_:
            raise ValueError("the forest has no trees (estimators_ is empty).")
        # the training data's precision (thresholds of float32 data compare float32 values)
        return validate_tree_X_predict(self, X, self.estimators_[0].tree_.input_dtype)

    def _mean_over_trees(self, X):
        """Average of the trees' leaf values (class fractions or targets), shape
        (n_samples, n_outputs, max_n_classes), computed by the Cython kernel on blocks of
        rows in joblib threads (shared memory), from the packed trees (see
        ``_PackedForest``: packed again whenever ``estimators_`` holds other trees)."""
        X = self._validate_X_predict(X)
        trees = [t.tree_ for t in self.estimators_]
        cache = getattr(self, "_packed_forest", None)
        packed = (cache.get(trees, X.dtype, self.n_features_in_) if cache is not None
                  else pack_trees(trees, X.dtype, self.n_features_in_))
        values = tree_values(trees)
        out = np.zeros((X.shape[0], values[0].shape[1]), dtype=np.float64)
        blocks = _row_blocks(X.shape[0], self.n_jobs)
        if sp.issparse(X):
            # CSR rows, written a block at a time into a small dense buffer by the kernel
            csr = (*csr_arrays(X), X.shape[1])
            Parallel(n_jobs=len(blocks), require="sharedmem")(
                delayed(_tree.forest_accumulate_csr)(*csr, *packed, values, out, start,
                                                     end)
                for start, end in blocks
            )
        else:
            Parallel(n_jobs=len(blocks), require="sharedmem")(
                delayed(_tree.forest_accumulate)(X, *packed, values, out, start, end)
                for start, end in blocks
            )
        out /= len(self.estimators_)
        return out.reshape(X.shape[0], trees[0].n_outputs, -1)

    def apply(self, X):
        """Leaf reached in every tree.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples; NaN allowed (dense input). A sparse matrix is
            read row by row as CSR (other formats converted, never densified).

        Returns
        -------
        X_leaves : ndarray of shape (n_samples, n_estimators)
        """
        X = self._validate_X_predict(X)
        return np.column_stack([t.tree_.apply(X) for t in self.estimators_])

    def decision_path(self, X):
        """The nodes every sample goes through, in every tree.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples; NaN allowed (dense input). A sparse matrix is
            read row by row as CSR (other formats converted, never densified).

        Returns
        -------
        indicator : scipy.sparse.csr_matrix of shape (n_samples, n_nodes)
            Column ``n_nodes_ptr[t] + j`` is 1 where the sample goes through node ``j``
            of tree ``t``.
        n_nodes_ptr : ndarray of shape (n_estimators + 1,)
            Where each tree's columns start.
        """
        X = self._validate_X_predict(X)
        paths = [t.tree_.decision_path(X) for t in self.estimators_]
        n_nodes_ptr = np.concatenate([[0], np.cumsum([p.shape[1] for p in paths])])
        return sp.hstack(paths).tocsr(), n_nodes_ptr

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

    def _oob_mean(self, X):
        """Out-of-bag mean of the trees' leaf values (n_samples, n_outputs, max_classes),
        NaN for the samples every tree saw, and the mask of the others."""
        n = X.shape[0]
        dtype = self.estimators_[0].tree_.input_dtype
        Xc = (X.tocsr().astype(dtype, copy=False) if sp.issparse(X)
              else np.ascontiguousarray(X, dtype=dtype))
        sums = counts = None
        for tree, idx in zip(self.estimators_, self._get_estimators_indices()):
            drawn = np.zeros(n, dtype=bool)
            drawn[idx] = True
            oob = np.flatnonzero(~drawn)
            values = tree.tree_.predict_values(Xc[oob]) if oob.size else None
            if sums is None:
                width = tree.tree_.value.shape[1:]
                sums = np.zeros((n,) + width)
                counts = np.zeros(n, dtype=np.intp)
            if values is not None:
                sums[oob] += values
                counts[oob] += 1
        if np.any(counts == 0):
            warnings.warn("Some inputs do not have OOB scores: every tree saw them. Use more "
                          "trees; their OOB estimate is NaN.", UserWarning)
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums / counts[:, None, None], counts > 0

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags


_FOREST_DOC = """
    Trees are fitted in joblib threads (``prefer="threads"``): the Cython builder releases
    the GIL, so threads run in parallel, and under ``joblib.parallel_config(backend="dask")``
    the fits run on a dask cluster instead. ``n_jobs=None`` means what it means in
    scikit-learn: one job unless a ``joblib.parallel_config`` context sets another number;
    ``-1`` uses all CPUs. Prediction runs the packed trees over blocks of rows in as many
    threads. The seed of every tree (its bootstrap and its feature draws) is drawn from
    ``random_state`` before any fit, so the forest is the same for any ``n_jobs`` and any
    backend. The bootstrap sample is passed to the tree as integer sample weights (exact:
    the same tree as the repeated rows); with ``sample_weight`` it is drawn with
    probabilities proportional to the weights (scikit-learn 1.9's frequency semantics),
    and without bootstrap the weights go to every tree.

    Missing values: NaN in ``X`` is handled by every tree (see
    :class:`skml.tree.DecisionTreeClassifier`). ``verbose=1`` shows a progress bar over
    the trees (tqdm, when installed); ``verbose=0`` prints nothing.

    Out-of-bag estimates: a sample that every tree saw has a NaN OOB prediction (and a
    warning); ``oob_score_`` is computed over the others. (scikit-learn predicts 0 for
    such samples and scores them too.)"""

_FOREST_PARAMS_DOC = """    n_estimators : int, default=100
        Number of trees.
    criterion : str, default="{criterion}"
        Split criterion of the trees ({criteria}).
    max_depth : int, default=None
        Maximal depth of the trees.
    min_samples_split : int or float, default=2
        Minimal samples to split a node.
    min_samples_leaf : int or float, default=1
        Minimal samples in a leaf.
    min_weight_fraction_leaf : float, default=0.0
        Minimal fraction of the total weight in a leaf.
    max_features : int, float, {{"sqrt", "log2"}} or None, default={max_features}
        Features drawn at every split (a float: that fraction of p, rounded down).
    max_leaf_nodes : int, default=None
        Best-first growth of each tree up to this many leaves.
    min_impurity_decrease : float, default=0.0
        Minimal weighted impurity decrease of a split.
    bootstrap : bool, default={bootstrap}
        Draw a bootstrap sample per tree; ``False``: every tree sees all samples.
    oob_score : bool or callable, default=False
        Compute the out-of-bag score ``oob_score_`` ({score} by default, or
        ``oob_score(y, y_pred)``). Needs ``bootstrap=True``.
    n_jobs : int, default=None
        Parallel tree fits (joblib threads; ``None``: 1 unless a joblib context says
        otherwise, ``-1``: all CPUs). Prediction uses as many threads over blocks of rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstraps, the feature draws and the random thresholds.
    verbose : int, default=0
        ``>= 1``: a progress bar over the trees.
    warm_start : bool, default=False
        Keep the fitted trees and add ``n_estimators - len(estimators_)`` new ones.{class_weight}
    ccp_alpha : float, default=0.0
        Cost-complexity pruning of each tree.
    max_samples : int or float, default=None
        Size of each bootstrap sample: an int, or a float times n_samples (times the
        total sample weight when given); None: n_samples.
    monotonic_cst : array-like of int of shape (n_features,), default=None
        Monotonicity constraints of the trees (see
        :class:`skml.tree.{tree}`)."""

_CLASS_WEIGHT_DOC = """
    class_weight : dict, list of dict, "balanced", "balanced_subsample" or None, \
default=None
        Class weights; ``"balanced_subsample"`` computes them on each bootstrap sample."""


class _ForestClassifier(TreeClassifierMixin, ClassifierMixin, _BaseForest):
    """Shared code of the forest classifiers; not public."""

    _parameter_constraints = {
        "criterion": [StrOptions(set(CRITERIA_CLF))],
        "class_weight": [dict, list, StrOptions({"balanced", "balanced_subsample"}), None],
    }

    def fit(self, X, y, sample_weight=None):
        """Fit the forest.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 stays float32, anything else becomes float64; the
            thresholds keep that precision); NaN marks a missing value. A sparse matrix
            is read as CSC (other formats converted once, never densified); missing
            values only in dense input.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : object
        """
        self._check_forest_params()
        if sp.issparse(y):
            raise ValueError("sparse multilabel-indicator for y is not supported.")
        adding = (self.warm_start and hasattr(self, "estimators_")
                  and self.n_estimators > len(self.estimators_))
        X, y = validate_tree_X(self, X, y)
        classes, codes = encode_classes(y)
        if adding and codes.shape[1] != self.n_outputs_:
            raise ValueError("warm_start needs y with the outputs of the first fit.")
        n_classes = np.array([len(c) for c in classes], dtype=np.intp)
        if codes.shape[1] == 1:
            self.classes_, self.n_classes_ = classes[0], int(n_classes[0])
        else:
            self.classes_, self.n_classes_ = classes, [int(k) for k in n_classes]
        sw = None
        if sample_weight is not None:
            sw = check_sample_weight(sample_weight, X.shape[0])
        if self.class_weight is not None and self.class_weight != "balanced_subsample":
            expanded = compute_sample_weight(self.class_weight, y)
            sw = expanded if sw is None else sw * expanded
        n_new = self._fit(X, codes, None, sw, n_classes)
        if self.oob_score is not False and (n_new or not hasattr(self, "oob_score_")):
            if codes.shape[1] > 1 and np.any(n_classes > 2):
                raise ValueError("The type of target cannot be used to compute OOB "
                                 "estimates. Got multiclass-multioutput while only the "
                                 "following are supported: continuous, "
                                 "continuous-multioutput, binary, multiclass, "
                                 "multilabel-indicator.")
            mean, seen = self._oob_mean(X)
            proba = mean if codes.shape[1] > 1 else mean[:, 0, :]
            if codes.shape[1] > 1:
                self.oob_decision_function_ = np.moveaxis(proba, 1, 2)
                pred = np.argmax(self.oob_decision_function_, axis=1)
                y_true = codes
            else:
                self.oob_decision_function_ = proba[:, :self.n_classes_]
                pred = np.argmax(self.oob_decision_function_, axis=1)
                y_true = codes[:, 0]
            score = self.oob_score if callable(self.oob_score) else accuracy_score
            self.oob_score_ = score(y_true[seen], pred[seen])
        return self

    def predict_proba(self, X):
        """Mean class probabilities of the trees.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples; NaN allowed (dense input). A sparse matrix is
            read row by row as CSR (other formats converted, never densified).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            Columns in the order of ``classes_`` (one array per output for multi-output
            ``y``).
        """
        return self._proba_from_values(self._mean_over_trees(X))


class _ForestRegressor(RegressorMixin, _BaseForest):
    """Shared code of the forest regressors; not public."""

    _parameter_constraints = {"criterion": [StrOptions(set(CRITERIA_REG))]}

    def fit(self, X, y, sample_weight=None):
        """Fit the forest.

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

        Returns
        -------
        self : object
        """
        self._check_forest_params()
        X, y = validate_tree_X(self, X, y, y_numeric=True)
        y_scaled, y_exp = regression_targets(y, self.criterion)
        sw = None
        if sample_weight is not None:
            sw = check_sample_weight(sample_weight, X.shape[0])
        n_new = self._fit(X, None, y_scaled, sw, None, y_exp)
        if self.oob_score is not False and (n_new or not hasattr(self, "oob_score_")):
            mean, seen = self._oob_mean(X)
            pred = mean[:, :, 0]
            y2 = np.asarray(y, dtype=np.float64).reshape(X.shape[0], -1)
            if pred.shape[1] == 1:
                pred, y2 = pred[:, 0], y2[:, 0]
            self.oob_prediction_ = pred
            score = self.oob_score if callable(self.oob_score) else r2_score
            self.oob_score_ = score(y2[seen], pred[seen])
        return self

    def predict(self, X):
        """Mean prediction of the trees.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples; NaN allowed (dense input). A sparse matrix is
            read row by row as CSR (other formats converted, never densified).

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return targets_from_values(self, self._mean_over_trees(X))


class RandomForestClassifier(_ForestClassifier):
    """A random forest classifier (Breiman 2001; H. Dai, "Note on Machine Learning"
    (preprint), Definition 3.10).

    Each tree is grown on a bootstrap sample and considers only a random subset of
    ``max_features`` features at every split; the forest averages the trees' class
    probabilities (soft voting). The defaults are scikit-learn's, which are also those of
    footnote 10 of the notes for classification: ``max_features="sqrt"``
    (``floor(sqrt(p))`` features per split) and ``min_samples_leaf=1``.

    Parameters
    ----------
{params}

    Attributes
    ----------
    estimators_ : list of DecisionTreeClassifier
        The fitted trees (trained on class codes ``0..n_classes-1``). ``len(forest)``,
        ``forest[i]`` and ``iter(forest)`` reach them.
    estimator_ : DecisionTreeClassifier
        The unfitted template of the trees.
    estimators_samples_ : list of ndarray
        The in-bag samples of each tree.
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        Class labels (one array per output for multi-output ``y``).
    n_classes_ : int or list of int
        Number of classes.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` had string column names.
    n_outputs_ : int
        Number of outputs.
    feature_importances_ : ndarray of shape (n_features,)
        Mean impurity-decrease importance over the trees.
    oob_score_ : float
        Out-of-bag score (with ``oob_score``).
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        Out-of-bag class probabilities (NaN for samples that every tree saw);
        (n_samples, n_classes, n_outputs) for multi-output ``y``.

    Raises
    ------
    skml.utils.InvalidParameterError
        (``ValueError``) For a hyper-parameter outside its range.
    ValueError
        ``oob_score`` or ``max_samples`` without bootstrap; bad data; fewer
        ``n_estimators`` than fitted trees with ``warm_start``.
    sklearn.exceptions.NotFittedError
        From every method before ``fit``.

    Notes
    -----
    {forest}

    Known debt (sklearn estimator checks): ``check_sample_weight_equivalence_on_dense_data``
    and ``..._on_sparse_data`` are expected to fail: the bootstrap draws rows, so
    weights are not exactly equivalent to repeated rows for a randomised ensemble
    (scikit-learn's forest has the same debt).

    References
    ----------
    .. [1] L. Breiman, "Random forests", Machine Learning 45(1), 2001.
    .. [2] H. Dai, "Note on Machine Learning" (preprint), Definitions 3.9 and 3.10.

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

    def __init__(self, n_estimators=100, *, criterion="gini", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features="sqrt", max_leaf_nodes=None, min_impurity_decrease=0.0,
                 bootstrap=True, oob_score=False, n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, class_weight=None, ccp_alpha=0.0,
                 max_samples=None, monotonic_cst=None):
        store_init_params(self, locals())


class RandomForestRegressor(_ForestRegressor):
    """A random forest regressor (Breiman 2001; H. Dai, "Note on Machine Learning"
    (preprint), Definition 3.10): the mean of regression trees, each grown on a bootstrap
    sample with a random feature subset at every split.

    The defaults are scikit-learn's: ``max_features=1.0`` (all features: bagged trees)
    and ``min_samples_leaf=1``. The notes' recipe (footnote 10, the inventors'
    recommendation for regression) is a documented setting:
    ``RandomForestRegressor(max_features=1/3, min_samples_leaf=5)`` (``floor(p / 3)``
    features per split, at least 1, and leaves of at least 5 samples).

    Parameters
    ----------
{params}

    Attributes
    ----------
    estimators_ : list of DecisionTreeRegressor
        The fitted trees. ``len(forest)``, ``forest[i]`` and ``iter(forest)`` reach them.
    estimator_ : DecisionTreeRegressor
        The unfitted template of the trees.
    estimators_samples_ : list of ndarray
        The in-bag samples of each tree.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` had string column names.
    n_outputs_ : int
        Number of outputs.
    feature_importances_ : ndarray of shape (n_features,)
        Mean impurity-decrease importance over the trees.
    oob_score_ : float
        Out-of-bag score (with ``oob_score``).
    oob_prediction_ : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Out-of-bag predictions (NaN for samples that every tree saw).

    Raises
    ------
    skml.utils.InvalidParameterError
        (``ValueError``) For a hyper-parameter outside its range.
    ValueError
        ``oob_score`` or ``max_samples`` without bootstrap; bad data; fewer
        ``n_estimators`` than fitted trees with ``warm_start``.
    sklearn.exceptions.NotFittedError
        From every method before ``fit``.

    Notes
    -----
    {forest}

    Known debt (sklearn estimator checks): ``check_sample_weight_equivalence_on_dense_data``
    and ``..._on_sparse_data`` are expected to fail, as for scikit-learn's forest
    (bootstrap of rows).

    References
    ----------
    .. [1] L. Breiman, "Random forests", Machine Learning 45(1), 2001.
    .. [2] H. Dai, "Note on Machine Learning" (preprint), Definitions 3.9 and 3.10,
       footnote 10.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skml.ensemble import RandomForestRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> forest = RandomForestRegressor(n_estimators=50, oob_score=True, random_state=0)
    >>> bool(forest.fit(X, y).oob_score_ > 0.35)
    True
    >>> notes = RandomForestRegressor(max_features=1 / 3, min_samples_leaf=5)  # footnote 10
    """

    _tree_class = DecisionTreeRegressor

    def __init__(self, n_estimators=100, *, criterion="squared_error", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features=1.0, max_leaf_nodes=None, min_impurity_decrease=0.0,
                 bootstrap=True, oob_score=False, n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, ccp_alpha=0.0, max_samples=None,
                 monotonic_cst=None):
        store_init_params(self, locals())


class ExtraTreesClassifier(_ForestClassifier):
    """Extremely randomized trees for classification (Geurts et al., 2006): a forest of
    :class:`skml.tree.ExtraTreeClassifier`, whose splits draw their thresholds at random,
    each grown on the whole training set by default (``bootstrap=False``).

    Parameters
    ----------
{params}

    Attributes
    ----------
    estimators_, estimator_, estimators_samples_, classes_, n_classes_, n_features_in_, \
feature_names_in_, n_outputs_, feature_importances_, oob_score_, oob_decision_function_
        As for :class:`RandomForestClassifier` (the trees are ``ExtraTreeClassifier``).

    Raises
    ------
    skml.utils.InvalidParameterError, ValueError, sklearn.exceptions.NotFittedError
        As for :class:`RandomForestClassifier`.

    Notes
    -----
    {forest}

    References
    ----------
    .. [1] P. Geurts, D. Ernst and L. Wehenkel, "Extremely randomized trees", Machine
       Learning 63(1), 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from skml.ensemble import ExtraTreesClassifier
    >>> X, y = load_wine(return_X_y=True)
    >>> ExtraTreesClassifier(n_estimators=50, random_state=0).fit(X, y).score(X, y)
    1.0
    """

    _tree_class = ExtraTreeClassifier

    def __init__(self, n_estimators=100, *, criterion="gini", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features="sqrt", max_leaf_nodes=None, min_impurity_decrease=0.0,
                 bootstrap=False, oob_score=False, n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, class_weight=None, ccp_alpha=0.0,
                 max_samples=None, monotonic_cst=None):
        store_init_params(self, locals())


class ExtraTreesRegressor(_ForestRegressor):
    """Extremely randomized trees for regression (Geurts et al., 2006): a forest of
    :class:`skml.tree.ExtraTreeRegressor`, whose splits draw their thresholds at random,
    each grown on the whole training set by default (``bootstrap=False``).

    Parameters
    ----------
{params}

    Attributes
    ----------
    estimators_, estimator_, estimators_samples_, n_features_in_, feature_names_in_, \
n_outputs_, feature_importances_, oob_score_, oob_prediction_
        As for :class:`RandomForestRegressor` (the trees are ``ExtraTreeRegressor``).

    Raises
    ------
    skml.utils.InvalidParameterError, ValueError, sklearn.exceptions.NotFittedError
        As for :class:`RandomForestRegressor`.

    Notes
    -----
    {forest}

    References
    ----------
    .. [1] P. Geurts, D. Ernst and L. Wehenkel, "Extremely randomized trees", Machine
       Learning 63(1), 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skml.ensemble import ExtraTreesRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> bool(ExtraTreesRegressor(n_estimators=20, random_state=0).fit(X, y).score(X, y) > 0.9)
    True
    """

    _tree_class = ExtraTreeRegressor

    def __init__(self, n_estimators=100, *, criterion="squared_error", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features=1.0, max_leaf_nodes=None, min_impurity_decrease=0.0,
                 bootstrap=False, oob_score=False, n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, ccp_alpha=0.0, max_samples=None,
                 monotonic_cst=None):
        store_init_params(self, locals())


def _fill_docs():
    clf_criteria = '"gini", "entropy", "log_loss", "gain_ratio"'
    reg_criteria = '"squared_error", "friedman_mse", "absolute_error", "poisson"'
    for cls, criterion, criteria, max_features, bootstrap, tree in (
            (RandomForestClassifier, "gini", clf_criteria, '"sqrt"', "True",
             "DecisionTreeClassifier"),
            (RandomForestRegressor, "squared_error", reg_criteria, "1.0", "True",
             "DecisionTreeRegressor"),
            (ExtraTreesClassifier, "gini", clf_criteria, '"sqrt"', "False",
             "ExtraTreeClassifier"),
            (ExtraTreesRegressor, "squared_error", reg_criteria, "1.0", "False",
             "ExtraTreeRegressor")):
        is_clf = issubclass(cls, ClassifierMixin)
        params = _FOREST_PARAMS_DOC.format(
            criterion=criterion, criteria=criteria, max_features=max_features,
            bootstrap=bootstrap, score="accuracy" if is_clf else "R^2",
            class_weight=_CLASS_WEIGHT_DOC if is_clf else "", tree=tree)
        cls.__doc__ = (cls.__doc__.replace("{params}", params)
                       .replace("{forest}", _FOREST_DOC.strip("\n")[4:]))


_fill_docs()
