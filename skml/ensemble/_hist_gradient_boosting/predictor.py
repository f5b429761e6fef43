"""The fitted trees of a boosting model as flat node arrays, and their prediction.

All trees share one array of ``NODE_DTYPE`` records (children are absolute indices, tree
``t`` starts at ``roots[t]``) and one array of 256-bit category sets, so one call of the
Cython kernel walks every tree for a block of rows, with OpenMP over the rows.
"""
import numpy as np

from skml._kernels import _hist

__all__ = ["NODE_DTYPE", "TreeSet"]

NODE_DTYPE = _hist.NODE_DTYPE
_EMPTY_BITSETS = np.zeros((1, _hist.BITSET_WORDS), dtype=np.uint32)


class TreeSet:
    """The trees of a boosting model, ``n_outputs`` trees per iteration.

    Trees are appended one at a time during ``fit`` (each with tree-local indices) and
    packed into one array the first time they are all needed.
    """

    def __init__(self, n_outputs):
        self.n_outputs = int(n_outputs)
        self._trees = []  # (nodes, bitsets) per tree, tree-local indices
        self._packed = None

    def __len__(self):
        return len(self._trees)

    @property
    def n_iter(self):
        return len(self._trees) // self.n_outputs

    def append(self, nodes, bitsets):
        self._trees.append((nodes, bitsets))
        self._packed = None

    def truncate(self, n_trees):
        del self._trees[n_trees:]
        self._packed = None

    def tree(self, t):
        return self._trees[t]

    def packed(self):
        """(nodes, roots, bitsets) of every tree, built once and cached."""
        if self._packed is None:
            self._packed = _pack(self._trees)
        return self._packed

    def predict_raw(self, X, out, n_threads, start=0, stop=None):
        """``out += `` the trees' sum for the iterations ``start <= i < stop`` (``X`` C
        float32/float64, categorical columns as bin codes)."""
        nodes, roots, bitsets = self.packed()
        stop = self.n_iter if stop is None else stop
        _hist.predict_raw(X, nodes, roots, start * self.n_outputs, stop * self.n_outputs,
                          bitsets, out, n_threads)

    def predict_binned_iteration(self, X_binned, iteration, out, missing_bin,
                                 n_threads):
        """``out += `` the trees of one iteration on binned rows (early stopping)."""
        K = self.n_outputs
        nodes, roots, bitsets = _pack(self._trees[iteration * K:(iteration + 1) * K])
        _hist.predict_binned(X_binned, nodes, roots, 0, K, bitsets, missing_bin, out,
                             n_threads)

    def predict_binned(self, X_binned, out, missing_bin, n_threads, start=0, stop=None):
        nodes, roots, bitsets = self.packed()
        stop = self.n_iter if stop is None else stop
        _hist.predict_binned(X_binned, nodes, roots, start * self.n_outputs,
                             stop * self.n_outputs, bitsets, missing_bin, out, n_threads)

    def apply(self, X, n_threads):
        """Leaf index (within its own tree) of every row in every tree."""
        nodes, roots, bitsets = self.packed()
        out = np.empty((X.shape[0], len(self._trees)), dtype=np.int32)
        _hist.apply_trees(X, nodes, roots, bitsets, out, n_threads)
        return out - roots[None, :]

    def node_arrays(self):
        """Every tree's own node records (tree-local indices)."""
        return [nd for nd, _ in self._trees]

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_packed"] = None
        return state


def _pack(trees):
    sizes = np.array([nd.shape[0] for nd, _ in trees], dtype=np.int64)
    if sizes.sum() >= 2**31:
        raise ValueError("the model has too many nodes (>= 2**31) to be packed.")
    roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32)
    nbits = np.array([bs.shape[0] for _, bs in trees], dtype=np.int64)
    bit_off = np.concatenate([[0], np.cumsum(nbits)[:-1]]).astype(np.int32)
    parts = []
    for (nd, _), off, boff in zip(trees, roots, bit_off):
        nd = nd.copy()
        inner = nd["is_leaf"] == 0
        nd["left"][inner] += off
        nd["right"][inner] += off
        nd["bitset"][inner & (nd["is_categorical"] == 1)] += boff
        parts.append(nd)
    nodes = np.concatenate(parts) if parts else np.zeros(0, dtype=NODE_DTYPE)
    bitsets = [bs for _, bs in trees if bs.shape[0]]
    bitsets = np.ascontiguousarray(np.concatenate(bitsets)) if bitsets else _EMPTY_BITSETS
    return np.ascontiguousarray(nodes), roots, bitsets
