"""The fitted tree: flat node arrays with scikit-learn's ``tree_`` attribute names."""
import numpy as np
from scipy.sparse import csr_matrix

from skml._kernels import _tree

__all__ = ["Tree", "TREE_LEAF", "TREE_UNDEFINED", "pack_trees"]

TREE_LEAF = _tree.TREE_LEAF_
TREE_UNDEFINED = _tree.TREE_UNDEFINED_

_ARRAYS = ("children_left", "children_right", "feature", "threshold", "impurity",
           "n_node_samples", "weighted_n_node_samples", "missing_go_to_left", "value")


class Tree:
    """A fitted decision tree stored in flat arrays, one entry per node.

    Nodes are numbered in pre-order (a node, then its left subtree, then its right
    subtree), as scikit-learn's depth-first builder numbers them, so two trees can be
    compared node by node.

    Attributes
    ----------
    node_count : int
        Number of nodes.
    n_features, n_outputs : int
        Input width and number of outputs (always 1 in skml).
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
        Class fractions (classification) or the mean / median target (regression).
    """

    def __init__(self, n_features, n_classes, arrays, max_depth):
        self.n_features = int(n_features)
        self.n_outputs = 1
        self.n_classes = np.array([n_classes], dtype=np.intp)
        self.max_n_classes = int(n_classes)
        for name in _ARRAYS:
            setattr(self, name, arrays[name])
        self.max_depth = int(max_depth)

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

    def apply(self, X):
        """Leaf id of each row of ``X`` (C-contiguous float32)."""
        out = np.empty(X.shape[0], dtype=np.intp)
        _tree.apply_tree(X, *self._args(), out)
        return out

    def predict(self, X):
        """``value`` of the leaf of each row: shape (n_samples, n_outputs, max_n_classes)."""
        return self.value.take(self.apply(X), axis=0)

    def decision_path(self, X):
        """CSR indicator matrix (n_samples, node_count): the nodes each row goes through."""
        indptr, indices = _tree.decision_path_csr(X, *self._args())
        data = np.ones(indices.shape[0], dtype=np.intp)
        return csr_matrix((data, indices, indptr), shape=(X.shape[0], self.node_count))

    def compute_node_depths(self):
        depth = np.zeros(self.node_count, dtype=np.intp)
        for node in range(self.node_count):  # pre-order: parents come first
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
            w = self.weighted_n_node_samples
            imp = self.impurity
            left, right = self.children_left[inner], self.children_right[inner]
            decrease = w[inner] * imp[inner] - w[left] * imp[left] - w[right] * imp[right]
            np.add.at(importances, self.feature[inner], decrease)
            importances /= w[0]
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
        is_leaf = leaf[old]
        for side in ("children_left", "children_right"):
            child = arrays[side]
            child[~is_leaf] = new_id[child[~is_leaf]]
            child[is_leaf] = TREE_LEAF
        arrays["feature"][is_leaf] = TREE_UNDEFINED
        arrays["threshold"][is_leaf] = TREE_UNDEFINED
        arrays["missing_go_to_left"][is_leaf] = 0
        tree = Tree(self.n_features, self.max_n_classes, arrays, 0)
        tree.max_depth = int(tree.compute_node_depths().max())
        return tree


def pack_trees(trees, classifier):
    """Pack fitted trees for ``_tree.forest_accumulate``: (roots, nodes, values)."""
    sizes = np.array([t.node_count for t in trees], dtype=np.intp)
    total = int(sizes.sum())
    if total >= 2**31:
        raise ValueError("the forest has too many nodes (>= 2**31) to be packed.")
    roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    nodes = np.empty(total, dtype=_tree.PACKED_NODE_DTYPE)
    for t, off in zip(trees, roots):
        block = nodes[off:off + t.node_count]
        inner = t.children_left != TREE_LEAF
        if np.any(t.children_left[inner] != np.flatnonzero(inner) + 1):
            raise ValueError("trees must be numbered in pre-order (left child next).")
        thr = t.threshold.astype(np.float32)
        above = thr.astype(np.float64) > t.threshold
        thr[above] = np.nextafter(thr[above], np.float32(-np.inf))
        own = np.arange(off, off + t.node_count)
        # leaves are fixed points of the kernel's step: never <= -inf, NaN goes right
        block["threshold"] = np.where(inner, thr, np.float32(-np.inf))
        block["feature"] = np.where(inner, t.feature, 0)
        block["right"] = np.where(inner, t.children_right + off, own)
        block["missing_left"] = np.where(inner, t.missing_go_to_left, 0)
    width = trees[0].value.shape[2] if classifier else 1
    values = np.ascontiguousarray(np.concatenate([t.value[:, 0, :width] for t in trees]))
    return roots, nodes, values
