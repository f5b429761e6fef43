"""The fitted trees of a boosting model, and their prediction over flat node arrays.

During ``fit`` each tree is kept as its own array of ``NODE_DTYPE`` records (children by
tree-local index, in creation order; the form the grower writes and users inspect). For
prediction every tree is renumbered in pre-order (the left child is the next node) and
all trees are packed into one array of 16-byte ``PACKED_NODE_DTYPE`` records, one array
of leaf values and one of 256-bit category sets; one call of the Cython kernel then walks
every tree for groups of rows, with OpenMP over the rows. A second packing with the bin
thresholds predicts binned data (early stopping).
"""
import numpy as np

from skml._kernels import _hist

__all__ = ["NODE_DTYPE", "TreeSet"]

NODE_DTYPE = _hist.NODE_DTYPE
_EMPTY_BITSETS = np.zeros((1, _hist.BITSET_WORDS), dtype=np.uint32)


class TreeSet:
    """The trees of a boosting model, ``n_outputs`` trees per iteration (tree ``t``
    adds to output ``t % n_outputs``)."""

    def __init__(self, n_outputs):
        self.n_outputs = int(n_outputs)
        self._trees = []  # (nodes, bitsets) per tree, tree-local indices
        self._packed = {}

    def __len__(self):
        return len(self._trees)

    @property
    def n_iter(self):
        return len(self._trees) // self.n_outputs

    def append(self, nodes, bitsets):
        self._trees.append((nodes, bitsets))
        self._packed = {}

    def node_arrays(self):
        """Every tree's own node records (tree-local indices)."""
        return [nd for nd, _ in self._trees]

    def _get(self, binned):
        if binned not in self._packed:
            self._packed[binned] = _pack(self._trees, binned)
        return self._packed[binned]

    def predict_raw(self, X, out, n_threads, start=0, stop=None):
        """``out += `` the trees' values for the iterations ``start <= i < stop``
        (``X`` C-contiguous float32/float64, categorical columns as bin codes)."""
        self._predict(X, out, n_threads, start, stop, binned=False, missing_bin=0)

    def predict_binned(self, X_binned, out, missing_bin, n_threads, start=0, stop=None):
        """As :meth:`predict_raw` on C-contiguous uint8 bins."""
        self._predict(X_binned, out, n_threads, start, stop, binned=True,
                      missing_bin=missing_bin)

    def _predict(self, X, out, n_threads, start, stop, binned, missing_bin):
        stop = self.n_iter if stop is None else stop
        nodes, values, roots, bitsets = self._get(binned)
        _hist.predict_packed(X, nodes, values, roots, start * self.n_outputs,
                             stop * self.n_outputs, bitsets, missing_bin, out, n_threads)

    def predict_binned_iteration(self, X_binned, iteration, out, missing_bin, n_threads):
        """``out += `` the trees of one iteration on binned rows (early stopping), without
        packing the whole model."""
        K = self.n_outputs
        nodes, values, roots, bitsets = _pack(
            self._trees[iteration * K:(iteration + 1) * K], True)
        _hist.predict_packed(X_binned, nodes, values, roots, 0, K, bitsets,
                             missing_bin, out, n_threads)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_packed"] = {}
        return state


def _preorder(nodes):
    """The pre-order of a tree's nodes (a node, its left subtree, its right subtree)."""
    order = []
    stack = [0]
    is_leaf, left, right = nodes["is_leaf"], nodes["left"], nodes["right"]
    while stack:
        i = stack.pop()
        order.append(i)
        if not is_leaf[i]:
            stack.append(int(right[i]))
            stack.append(int(left[i]))
    return np.array(order, dtype=np.intp)


def _pack(trees, binned):
    """(nodes, values, roots, bitsets) for ``_hist.predict_packed``."""
    sizes = np.array([nd.shape[0] for nd, _ in trees], dtype=np.int64)
    if sizes.sum() >= 2**31:
        raise ValueError("the model has too many nodes (>= 2**31) to be packed.")
    roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32)
    packed = np.zeros(int(sizes.sum()), dtype=_hist.PACKED_NODE_DTYPE)
    values = np.zeros(int(sizes.sum()))
    bitsets, n_bits = [], 0
    for (nd, bs), off in zip(trees, roots):
        order = _preorder(nd)
        new_id = np.empty(nd.shape[0], dtype=np.int64)
        new_id[order] = np.arange(nd.shape[0]) + off
        nd = nd[order]
        block = packed[off:off + nd.shape[0]]
        leaf = nd["is_leaf"] == 1
        cat = ~leaf & (nd["is_categorical"] == 1)
        if binned:
            thr = np.where(nd["threshold"] == np.inf, np.inf,
                           nd["bin_threshold"].astype(np.float64))
        else:
            thr = nd["threshold"].copy()
        thr[cat] = nd["bitset"][cat] + n_bits
        thr[leaf] = np.nan
        block["threshold"] = thr
        block["right"] = np.where(leaf, new_id[order], new_id[nd["right"]])
        if np.any(nd["feature"][~leaf] >= _hist.FEATURE_MASK):
            raise ValueError("too many features (>= 2**28) for the prediction kernel.")
        info = np.where(leaf, 0, nd["feature"]).astype(np.uint32)
        info |= np.where(~leaf & (nd["missing_left"] == 1), _hist.MISSING_LEFT_FLAG,
                         0).astype(np.uint32)
        info |= np.where(cat, _hist.CATEGORICAL_FLAG, 0).astype(np.uint32)
        block["info"] = info
        values[off:off + nd.shape[0]] = nd["value"]
        if bs.shape[0]:
            bitsets.append(bs)
            n_bits += bs.shape[0]
    bitsets = np.ascontiguousarray(np.concatenate(bitsets)) if bitsets else _EMPTY_BITSETS
    return packed, values, roots, bitsets
