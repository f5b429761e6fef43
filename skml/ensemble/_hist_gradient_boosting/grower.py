"""Leaf-wise growth of one regression tree on gradient/hessian histograms.

The grower keeps the node whose best split has the largest gain on a heap and splits it
next (best-first, as LightGBM and scikit-learn's ``grower.py`` do), until
``max_leaf_nodes`` leaves exist or no node can be split. Each node owns a contiguous
segment of one array of sample indices; a split partitions the segment in place. The
native kernels (``skml._kernels._hist``) do all per-sample work: the histogram of the
smaller child is built from its samples and the larger child's is the parent's minus
it (the parent's buffer is reused), so each level costs at most half a pass over the
data.

Leaf values are the Newton step -G / (H + l2_regularization) of the leaf's gradient and
hessian sums G and H (H. Dai, "Note on Machine Learning" (preprint), Definition 3.11
with a second-order step; Chen & Guestrin 2016, eq. 5), clipped to the node's bounds
under monotonic constraints, then multiplied by the learning rate.

Monotonic constraints follow the bound propagation of LightGBM: a split on a
constrained feature is allowed only if the children's values are in the constrained
order; the midpoint of the two values then bounds every value below the left child
from above and every value below the right child from below (for an increasing
constraint), so every path keeps the order. Interaction constraints: a child may split
only on features of the groups that contain every feature used on its path.
"""
import heapq
import math
from dataclasses import dataclass

import numpy as np

from skml._kernels import _hist
from skml.ensemble._hist_gradient_boosting.predictor import NODE_DTYPE

__all__ = ["GrowContext", "grow_tree"]

_CAT_MIN_SUPPORT = 10.0  # categories with fewer samples in a node go right, unsorted
_CAT_SMOOTH = 10.0       # ordering key g / (h + 10 average hessians)
_NO_BITS = np.zeros(_hist.BITSET_WORDS, dtype=np.uint32)
_NO_HESSIANS = np.zeros(0, dtype=np.float32)


class GrowContext:
    """Everything that stays the same for every tree of one fit: the binned data, the
    constraints, the hyper-parameters and reusable buffers."""

    def __init__(self, X_binned, bin_mapper, monotonic_cst, interaction_cst,
                 max_leaf_nodes, max_depth, min_samples_leaf, l2_regularization,
                 min_hessian_to_split, feature_fraction, n_threads):
        n, p = X_binned.shape
        self.X_binned = X_binned
        self.bin_mapper = bin_mapper
        self.missing_bin = bin_mapper.missing_bin_
        self.n_bins_non_missing = bin_mapper.n_bins_non_missing_
        self.is_categorical = bin_mapper.is_categorical_.astype(np.uint8)
        self.monotonic_cst = (np.zeros(p, dtype=np.int8) if monotonic_cst is None
                              else np.asarray(monotonic_cst, dtype=np.int8))
        self.has_monotonic = bool(np.any(self.monotonic_cst != 0))
        self.interaction_cst = interaction_cst
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = float(min_samples_leaf)
        self.l2 = float(l2_regularization)
        self.min_hessian = float(min_hessian_to_split)
        self.feature_fraction = float(feature_fraction)
        self.n_threads = int(n_threads)
        if interaction_cst is None:
            self.root_features = np.arange(p, dtype=np.int32)
        else:
            self.root_features = np.array(sorted(set().union(*interaction_cst)),
                                          dtype=np.int32)
        self.arange = np.arange(n, dtype=np.uint32)
        self.sample_indices = np.empty(n, dtype=np.uint32)
        self.buffer = np.empty(n, dtype=np.uint32)
        self.gh4 = np.empty((n, 4), dtype=np.float32)
        # only the smaller child is gathered: at most half of the samples
        self.ordered = np.empty((n // 2 + 1, 4), dtype=np.float32)
        self._pool = []
        self._hist_shape = (p, _hist.HIST_COLUMNS)

    def get_hist(self):
        return self._pool.pop() if self._pool else np.empty(self._hist_shape)

    def release(self, hist):
        if hist is not None:
            self._pool.append(hist)


class _Node:
    __slots__ = ("id", "start", "stop", "depth", "g", "h", "c", "value", "lower",
                 "upper", "hist", "split", "bitset", "allowed", "groups")

    def __init__(self, node_id, start, stop, depth, g, h, c, lower, upper, allowed,
                 groups, l2):
        self.id = node_id
        self.start = start
        self.stop = stop
        self.depth = depth
        self.g = g
        self.h = h
        self.c = c
        self.lower = lower
        self.upper = upper
        den = h + l2
        v = -g / den if den > 0 else 0.0
        self.value = min(max(v, lower), upper)
        self.hist = None
        self.split = None
        self.bitset = None
        self.allowed = allowed
        self.groups = groups


@dataclass(eq=False)
class GrownTree:
    """One fitted tree: node records (tree-local children), category bitsets, the
    leaves' sample segments, and the total gain of each feature's splits."""

    nodes: np.ndarray
    bitsets: list
    leaf_ids: np.ndarray
    leaf_starts: np.ndarray
    leaf_stops: np.ndarray
    gains: np.ndarray

    @property
    def leaf_values(self):
        return self.nodes["value"][self.leaf_ids]

    def set_leaf_values(self, values):
        self.nodes["value"][self.leaf_ids] = values


def grow_tree(ctx, gradients, hessians, constant_hessian, shrinkage, rng):
    """Grow one tree on ``gradients`` / ``hessians`` (float32; ``hessians`` None for a
    constant hessian ``constant_hessian``). Returns a :class:`GrownTree` whose leaves
    hold their value times ``shrinkage``; ``ctx.sample_indices`` is left partitioned by
    leaf (the segments of ``GrownTree.leaf_starts/leaf_stops``)."""
    X_binned, idx, nt = ctx.X_binned, ctx.sample_indices, ctx.n_threads
    n, p = X_binned.shape
    np.copyto(idx, ctx.arange)
    _hist.pack_gradients(gradients, hessians if hessians is not None else _NO_HESSIANS,
                         constant_hessian, ctx.gh4, nt)
    l2, msl, min_hess = ctx.l2, ctx.min_samples_leaf, ctx.min_hessian
    max_depth, max_leaves = ctx.max_depth, ctx.max_leaf_nodes
    mono, mb = ctx.monotonic_cst, ctx.missing_bin
    all_nodes = []
    records = []  # per node: dict of its split or None (leaf)
    bitsets = []
    gains = np.zeros(p)

    def build(node, is_root):
        hist = ctx.get_hist()
        _hist.build_histograms(X_binned, idx, node.start, node.stop, ctx.gh4, ctx.ordered,
                               node.allowed, hist, 1 if is_root else 0, nt)
        return hist

    def splittable(node):
        return ((max_depth is None or node.depth < max_depth) and node.c >= 2 * msl
                and node.h >= 2 * min_hess)

    def find(node):
        feats = node.allowed
        if ctx.feature_fraction < 1.0 and feats.size > 1:
            k = max(1, int(math.ceil(ctx.feature_fraction * feats.size)))
            feats = np.sort(rng.choice(feats, k, replace=False)).astype(np.int32)
        bits = np.zeros(_hist.BITSET_WORDS, dtype=np.uint32)
        node.split = _hist.find_split(
            node.hist, feats, ctx.n_bins_non_missing, ctx.is_categorical, mono, mb,
            node.g, node.h, node.c, node.lower, node.upper, l2, min_hess, msl, 0.0,
            _CAT_MIN_SUPPORT, _CAT_SMOOTH, bits, nt)
        node.bitset = bits

    def new_node(start, stop, depth, g, h, c, lower, upper, allowed, groups):
        node = _Node(len(all_nodes), start, stop, depth, g, h, c, lower, upper, allowed,
                     groups, l2)
        all_nodes.append(node)
        records.append(None)
        return node

    groups = None if ctx.interaction_cst is None else list(range(len(ctx.interaction_cst)))
    root = new_node(0, n, 0, 0.0, 0.0, float(n), -np.inf, np.inf, ctx.root_features,
                    groups)
    heap = []

    def push(node):
        """Queue the node by the gain of its best split, or free its histogram (a
        leaf)."""
        if node.split is not None:
            heapq.heappush(heap, (-node.split[0], node.id, node))
        else:
            ctx.release(node.hist)
            node.hist = None

    root.hist = build(root, True)
    f0 = root.allowed[0]
    root.g = float(root.hist[f0, 0::4].sum())
    root.h = float(root.hist[f0, 1::4].sum())
    den = root.h + l2
    root.value = -root.g / den if den > 0 else 0.0
    if splittable(root):
        find(root)
    push(root)
    n_leaves = 1
    while heap and (max_leaves is None or n_leaves < max_leaves):
        _, _, node = heapq.heappop(heap)
        gain, f, b, ml, gl, hl, cl = node.split
        is_cat = bool(ctx.is_categorical[f])
        if node.hist[f, 4 * mb + 2] == 0:
            # no missing value of f here: at prediction they go to the bigger child
            ml = cl >= node.c - cl
        bits = node.bitset if is_cat else _NO_BITS
        nl = _hist.partition(idx, node.start, node.stop, X_binned, f, max(b, 0), ml, mb,
                             is_cat, bits, ctx.buffer, nt)
        lo_l = lo_r = node.lower
        hi_l = hi_r = node.upper
        if mono[f] != 0:
            vl = min(max(-gl / (hl + l2), node.lower), node.upper)
            vr = min(max(-(node.g - gl) / (node.h - hl + l2), node.lower), node.upper)
            mid = 0.5 * (vl + vr)
            if mono[f] > 0:
                hi_l, lo_r = mid, mid
            else:
                lo_l, hi_r = mid, mid
        if node.groups is None:
            allowed, child_groups = node.allowed, None
        else:
            child_groups = [gi for gi in node.groups if f in ctx.interaction_cst[gi]]
            allowed = np.array(sorted(set().union(
                *(ctx.interaction_cst[gi] for gi in child_groups))), dtype=np.int32)
        left = new_node(node.start, node.start + nl, node.depth + 1, gl, hl, float(nl),
                        lo_l, hi_l, allowed, child_groups)
        right = new_node(node.start + nl, node.stop, node.depth + 1, node.g - gl,
                         node.h - hl, node.c - nl, lo_r, hi_r, allowed, child_groups)
        bitset_id = -1
        if is_cat:
            bitset_id = len(bitsets)
            bitsets.append(bits)
        records[node.id] = (f, b, ml, is_cat, bitset_id, left.id, right.id)
        gains[f] += gain
        n_leaves += 1
        last = max_leaves is not None and n_leaves >= max_leaves
        split_l = not last and splittable(left)
        split_r = not last and splittable(right)
        if split_l or split_r:
            small, large = (left, right) if left.c <= right.c else (right, left)
            hs = build(small, False)
            if (split_l if large is left else split_r):
                _hist.subtract_histograms(node.hist, hs, allowed)
                large.hist = node.hist
            else:
                ctx.release(node.hist)
            if split_l if small is left else split_r:
                small.hist = hs
            else:
                ctx.release(hs)
        else:
            ctx.release(node.hist)
        node.hist = None
        for child in (left, right):
            if child.hist is None:
                continue
            find(child)
            push(child)
    for _, _, node in heap:
        ctx.release(node.hist)
        node.hist = None

    nodes = np.zeros(len(all_nodes), dtype=NODE_DTYPE)
    nodes["count"] = [node.c for node in all_nodes]
    nodes["value"] = [node.value for node in all_nodes]
    inner = [i for i, rec in enumerate(records) if rec is not None]
    leaf_ids = [i for i, rec in enumerate(records) if rec is None]
    nodes["is_leaf"][leaf_ids] = 1
    nodes["value"][leaf_ids] *= shrinkage
    starts = [all_nodes[i].start for i in leaf_ids]
    stops = [all_nodes[i].stop for i in leaf_ids]
    if inner:
        f, b, ml, is_cat, bitset_id, left_id, right_id = map(
            np.array, zip(*(records[i] for i in inner)))
        nodes["feature"][inner] = f
        nodes["left"][inner] = left_id
        nodes["right"][inner] = right_id
        nodes["missing_left"][inner] = ml
        nodes["is_categorical"][inner] = is_cat
        nodes["bitset"][inner] = bitset_id
        numeric = ~is_cat.astype(bool)
        num_ids = np.asarray(inner)[numeric]
        nodes["bin_threshold"][num_ids] = b[numeric]
        nodes["threshold"][num_ids] = [ctx.bin_mapper.bin_threshold_values(fj, bj)
                                       for fj, bj in zip(f[numeric], b[numeric])]
    bitsets = (np.array(bitsets, dtype=np.uint32).reshape(-1, _hist.BITSET_WORDS)
               if bitsets else np.zeros((0, _hist.BITSET_WORDS), dtype=np.uint32))
    return GrownTree(nodes, bitsets, np.array(leaf_ids, dtype=np.intp),
                     np.array(starts, dtype=np.int64), np.array(stops, dtype=np.int64),
                     gains)
