"""The fitted tree: flat node arrays with scikit-learn's ``tree_`` attribute names."""
import numpy as np
import scipy.sparse as sp
from scipy.sparse import csr_matrix

from skml._kernels import _tree

__all__ = ["Tree", "TREE_LEAF", "TREE_UNDEFINED", "pack_trees", "csr_arrays"]

TREE_LEAF = _tree.TREE_LEAF_
TREE_UNDEFINED = _tree.TREE_UNDEFINED_

_ARRAYS = ("children_left", "children_right", "feature", "threshold", "impurity",
           "n_node_samples", "weighted_n_node_samples", "missing_go_to_left", "value")


def csr_arrays(X):
    """(data, indices, indptr) of a CSR matrix as the prediction kernels read them: int32
    column indices, intp row pointers, duplicate entries summed (on a copy: scipy's
    meaning of a duplicate; the kernels would otherwise keep only the last one)."""
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    if X.shape[1] >= 2**31 - 1:
        raise ValueError("sparse input to skml trees must have fewer than 2**31 - 1 "
                         "columns.")
    return (X.data, X.indices.astype(np.int32, copy=False),
            X.indptr.astype(np.intp, copy=False))


class Tree:
    """A fitted decision tree stored in flat arrays, one entry per node.

    Depth-first trees are numbered in pre-order (a node, then its left subtree, then its
    right subtree), as scikit-learn's depth-first builder numbers them, so two trees can
    be compared node by node; best-first trees (``max_leaf_nodes``) in the order their
    nodes were added (a split's two children together). Either way a child's id is larger
    than its parent's.

    Attributes
    ----------
    node_count : int
        Number of nodes.
    n_features, n_outputs : int
        Input width and number of outputs.
    n_classes : ndarray of shape (n_outputs,)
        Number of classes (1 for regression).
    max_n_classes : int
    max_depth : int
        Depth of the deepest leaf (the root has depth 0).
    children_left, children_right : ndarray of int
        Child ids, ``TREE_LEAF`` (-1) for leaves.
    feature : ndarray of int
        Split feature, ``TREE_UNDEFINED`` (-2) for leaves.
    threshold : ndarray of float
        Split threshold: ``x[feature] <= threshold`` goes left. -2 for leaves.
    missing_go_to_left : ndarray of uint8
        Where a missing value of the split feature goes.
    impurity : ndarray of float
        Impurity of each node (entropy in bits for ``"entropy"`` and ``"gain_ratio"``).
    n_node_samples : ndarray of int
        Training samples (with a positive weight) reaching the node.
    weighted_n_node_samples : ndarray of float
        Their total weight.
    value : ndarray of shape (node_count, n_outputs, max_n_classes)
        Class fractions (classification) or the mean / median target (regression), per
        output. Writable: a leaf's prediction is its row.
    input_dtype : numpy.dtype
        dtype of the training data (float32 or float64); the thresholds are midpoints of
        its values, and prediction converts its input to this dtype.
    """

    def __init__(self, n_features, n_classes, n_outputs, arrays, max_depth, *,
                 input_dtype=np.float64, impurity_exp=0, weight_exp=0):
        self.n_features = int(n_features)
        self.n_outputs = int(n_outputs)
        self.n_classes = np.asarray(n_classes, dtype=np.intp).reshape(self.n_outputs)
        self.max_n_classes = int(self.n_classes.max())
        for name in _ARRAYS:
            setattr(self, name, arrays[name])
        self.max_depth = int(max_depth)
        self.input_dtype = np.dtype(input_dtype)
        # The builder works on targets and weights scaled by powers of two (exact), so
        # that squares and sums neither overflow nor underflow. ``impurity`` and
        # ``weighted_n_node_samples`` are given in the user's units (which may overflow
        # to inf, e.g. variances of targets ~1e200); the scaled arrays are kept for the
        # computations that only need ratios (importances, pruning).
        self._impurity_exp = int(impurity_exp)
        self._weight_exp = int(weight_exp)
        self._impurity_scaled = self.impurity
        self._weight_scaled = self.weighted_n_node_samples
        with np.errstate(over="ignore", under="ignore"):
            if self._impurity_exp:
                self.impurity = np.ldexp(self.impurity, self._impurity_exp)
            if self._weight_exp:
                self.weighted_n_node_samples = np.ldexp(self.weighted_n_node_samples,
                                                        self._weight_exp)

    @property
    def node_count(self):
        return int(self.children_left.shape[0])

    @property
    def capacity(self):
        return self.node_count

    @property
    def n_leaves(self):
        return int(np.sum(self.children_left == TREE_LEAF))

    def _args(self):
        return (self.children_left, self.children_right, self.feature, self.threshold,
                self.missing_go_to_left)

    def _prepare(self, X):
        """X as a C-contiguous array, or a CSR matrix, in the training precision."""
        if sp.issparse(X):
            X = X.tocsr().astype(self.input_dtype, copy=False)
        else:
            X = np.ascontiguousarray(X, dtype=self.input_dtype)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n_samples, {self.n_features}), got "
                             f"{X.shape}.")
        return X

    def apply(self, X):
        """Leaf id of each row of ``X`` (any float array, or sparse matrix read row by row
        as CSR, converted to the training precision)."""
        X = self._prepare(X)
        out = np.empty(X.shape[0], dtype=np.intp)
        if sp.issparse(X):
            _tree.apply_tree_csr(*csr_arrays(X), self.n_features, *self._args(), out)
        else:
            _tree.apply_tree(X, *self._args(), out)
        return out

    def predict_values(self, X):
        """``value`` of the leaf of each row: shape (n_samples, n_outputs, max_n_classes)."""
        return self.value.take(self.apply(X), axis=0)

    def predict(self, X):
        """``value`` of the leaf of each row, as scikit-learn's ``Tree.predict``: shape
        (n_samples, max_n_classes) for a single output, else (n_samples, n_outputs,
        max_n_classes)."""
        out = self.predict_values(X)
        return out[:, 0, :] if self.n_outputs == 1 else out

    def decision_path(self, X):
        """CSR indicator matrix (n_samples, node_count): the nodes each row goes through."""
        X = self._prepare(X)
        if sp.issparse(X):
            return self._paths_to(self.apply(X))
        indptr, indices = _tree.decision_path_csr(X, *self._args())
        data = np.ones(indices.shape[0], dtype=np.intp)
        return csr_matrix((data, indices, indptr), shape=(X.shape[0], self.node_count))

    def _paths_to(self, leaves):
        """The decision paths of rows that reach ``leaves``: each leaf's ancestors, found
        by walking up the tree one level per step for all rows at once (a child's id is
        larger than its parent's, so a path in increasing id order runs root to leaf, as
        the dense path's kernel writes it)."""
        parent = np.full(self.node_count, -1, dtype=np.intp)
        inner = np.flatnonzero(self.children_left != TREE_LEAF)
        parent[self.children_left[inner]] = inner
        parent[self.children_right[inner]] = inner
        lengths = self.compute_node_depths()[leaves] + 1
        indptr = np.zeros(leaves.shape[0] + 1, dtype=np.intp)
        np.cumsum(lengths, out=indptr[1:])
        indices = np.empty(indptr[-1], dtype=np.intp)
        pos = indptr[1:] - 1
        node = leaves.astype(np.intp, copy=True)
        while pos.size:
            indices[pos] = node
            node = parent[node]
            up = node != -1
            node, pos = node[up], pos[up] - 1
        data = np.ones(indices.shape[0], dtype=np.intp)
        return csr_matrix((data, indices, indptr), shape=(leaves.shape[0], self.node_count))

    def compute_node_depths(self):
        depth = np.zeros(self.node_count, dtype=np.intp)
        for node in range(self.node_count):  # parents come before their children
            left = self.children_left[node]
            if left != TREE_LEAF:
                depth[left] = depth[self.children_right[node]] = depth[node] + 1
        return depth

    def compute_feature_importances(self, normalize=True):
        """Total weighted impurity decrease brought by each feature (normalised to sum 1
        when ``normalize`` and the tree has a split)."""
        importances = np.zeros(self.n_features, dtype=np.float64)
        inner = np.flatnonzero(self.children_left != TREE_LEAF)
        if inner.size:
            # in the builder's scaled units: finite even where the user's units overflow
            w = self._weight_scaled
            imp = self._impurity_scaled
            left, right = self.children_left[inner], self.children_right[inner]
            decrease = w[inner] * imp[inner] - w[left] * imp[left] - w[right] * imp[right]
            np.add.at(importances, self.feature[inner], decrease)
            importances /= w[0]
            if self._impurity_exp and not normalize:
                importances = np.ldexp(importances, self._impurity_exp)
        if normalize:
            total = importances.sum()
            if total > 0.0:
                importances /= total
        return importances

    def pruned(self, keep, leaf):
        """A new Tree keeping the nodes in ``keep``; those in ``leaf`` become leaves."""
        new_id = np.cumsum(keep) - 1
        old = np.flatnonzero(keep)
        arrays = {name: getattr(self, name)[old].copy() for name in _ARRAYS}
        arrays["impurity"] = self._impurity_scaled[old].copy()
        arrays["weighted_n_node_samples"] = self._weight_scaled[old].copy()
        is_leaf = leaf[old]
        for side in ("children_left", "children_right"):
            child = arrays[side]
            child[~is_leaf] = new_id[child[~is_leaf]]
            child[is_leaf] = TREE_LEAF
        arrays["feature"][is_leaf] = TREE_UNDEFINED
        arrays["threshold"][is_leaf] = TREE_UNDEFINED
        arrays["missing_go_to_left"][is_leaf] = 0
        tree = Tree(self.n_features, self.n_classes, self.n_outputs, arrays, 0,
                    input_dtype=self.input_dtype, impurity_exp=self._impurity_exp,
                    weight_exp=self._weight_exp)
        tree.max_depth = int(tree.compute_node_depths().max())
        return tree


def pack_trees(trees, dtype, n_features):
    """Pack fitted trees for ``_tree.forest_accumulate``: (roots, nodes, node_ids), the
    nodes' thresholds for rows of ``dtype`` (the prediction input's). The values stay in
    the trees (``tree_values``)."""
    shape = trees[0].value.shape[1:]
    for t, tree in enumerate(trees):
        if tree.value.shape[1:] != shape:  # e.g. a member refitted on other classes
            raise ValueError(
                f"tree {t} has {tree.value.shape[1]} outputs of {tree.value.shape[2]} "
                f"values each, tree 0 has {shape[0]} of {shape[1]}: every tree of a "
                "forest must predict the same outputs and classes.")
    stride = shape[0] * shape[1]
    return _tree.pack_forest(
        [(t.children_left, t.children_right, t.feature, t.threshold, t.missing_go_to_left,
          t.value.reshape(t.node_count, -1)) for t in trees], stride, dtype=dtype,
        n_features=n_features)


def tree_values(trees):
    """Every tree's ``value`` as the (node_count, n_outputs * max_n_classes) float64
    rows the forest kernels read (a view of the array itself when it is C-contiguous
    float64, as fitted; so edits of a leaf's value are seen)."""
    return [np.ascontiguousarray(t.value, dtype=np.float64).reshape(t.node_count, -1)
            for t in trees]
