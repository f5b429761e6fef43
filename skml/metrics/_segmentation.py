"""Segmentation scores over label masks (IoU, Dice) and the Hausdorff distance between
point sets or binary masks (H. Dai, "Note on Machine Learning" (preprint), Definitions
3.61, 3.62 and 3.67).

The Hausdorff distance goes through skml's chunked nearest-neighbour reduction
(:func:`skml.metrics.pairwise_distances_argmin_min`), so memory stays O(n + m); a
pruning over the leaves of a k-d tree (below) skips most of the ``n * m`` distances.
"""
import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import check_array

from skml.metrics._classification import (
    _average,
    _check_average,
    _check_zero_division,
    _divide,
)
from skml.utils import check_param, effective_n_threads

__all__ = ["dice_score", "hausdorff_distance", "iou_score"]

_SEG_AVERAGES = (None, "micro", "macro", "weighted")


# ---------------------------------------------------------------------------- IoU, Dice


def _codes(y_true, y_pred):
    """Integer codes of both masks over their joint sorted labels."""
    if y_true.dtype.kind in "biu" and y_pred.dtype.kind in "biu":
        lo = min(int(y_true.min()), int(y_pred.min()))
        hi = max(int(y_true.max()), int(y_pred.max()))
        if hi - lo <= 4 * (y_true.size + 1):
            # small integer range: bincount instead of a sort
            present = np.flatnonzero(
                np.bincount(y_true.ravel().astype(np.int64) - lo, minlength=hi - lo + 1)
                + np.bincount(y_pred.ravel().astype(np.int64) - lo,
                              minlength=hi - lo + 1))
            lookup = np.full(hi - lo + 1, -1, dtype=np.int64)
            lookup[present] = np.arange(present.size)
            classes = (present + lo).astype(np.result_type(y_true, y_pred))
            if y_true.dtype == bool and y_pred.dtype == bool:
                classes = classes.astype(bool)
            return (classes, lookup[y_true.ravel().astype(np.int64) - lo],
                    lookup[y_pred.ravel().astype(np.int64) - lo])
    classes, inverse = np.unique(np.concatenate([y_true.ravel(), y_pred.ravel()]),
                                 return_inverse=True)
    return classes, inverse[:y_true.size], inverse[y_true.size:]


def _check_masks(y_true, y_pred, ignore_index):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {y_true.shape} "
                         f"and {y_pred.shape}.")
    if y_true.size == 0:
        raise ValueError("y_true and y_pred are empty: a mask needs at least one element.")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError(f"{name} contains NaN or infinity; label masks must hold "
                             "finite labels.")
        if y.dtype.kind not in "biufUSO":
            raise TypeError(f"{name} must hold labels (int, bool or str), got dtype "
                            f"{y.dtype}.")
    if ignore_index is not None:
        keep = y_true != ignore_index
        y_true, y_pred = y_true[keep], y_pred[keep]
        if y_true.size == 0:
            raise ValueError(f"every element of y_true equals "
                             f"ignore_index={ignore_index!r}: nothing is left to score.")
    return y_true, y_pred


def _overlap_counts(y_true, y_pred, labels, ignore_index):
    """tp, fp, fn per label (one-vs-rest) over all elements of the masks."""
    y_true, y_pred = _check_masks(y_true, y_pred, ignore_index)
    classes, t, p = _codes(y_true, y_pred)
    k = classes.size
    if labels is None:
        if y_true.dtype == bool and y_pred.dtype == bool:
            labels = np.array([True])  # binary masks: the foreground
        else:
            labels = classes
            if ignore_index is not None:
                labels = labels[labels != ignore_index]
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D list of labels, got {labels!r}.")
    confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    pos = np.searchsorted(classes, labels)
    pos = np.minimum(pos, k - 1)
    found = classes[pos] == labels
    tp = np.where(found, confusion[pos, pos], 0)
    fn = np.where(found, confusion.sum(axis=1)[pos], 0) - tp
    fp = np.where(found, confusion.sum(axis=0)[pos], 0) - tp
    return tp, fp, fn


def _overlap_score(name, y_true, y_pred, labels, average, ignore_index, zero_division,
                   dice):
    if average not in _SEG_AVERAGES:
        raise ValueError(f"average must be one of {list(_SEG_AVERAGES)}, got {average!r}.")
    _check_average(average)
    _check_zero_division(zero_division)
    tp, fp, fn = _overlap_counts(y_true, y_pred, labels, ignore_index)
    w = 2 if dice else 1
    if average == "micro":
        return float(_divide(w * tp.sum(), w * tp.sum() + fp.sum() + fn.sum(),
                             zero_division, name, "true or predicted elements"))
    values = _divide(w * tp, w * tp + fp + fn, zero_division, name,
                     "true or predicted elements")
    weights = (tp + fn).astype(np.float64) if average == "weighted" else None
    return _average(values, average, weights, zero_division)


_MASK_PARAMS = """y_true : array-like of any shape
        True label mask (integer, bool or string labels; e.g. ``(height, width)`` or a
        batch ``(n_images, height, width)``; a plain label vector works too).
    y_pred : array-like of the same shape as ``y_true``
        Predicted label mask.
    labels : array-like, default=None
        Labels to score, in the order of the ``average=None`` output. ``None`` takes
        every label present in either mask (except ``ignore_index``); for two boolean
        masks it is ``[True]``, the foreground.
    average : {"macro", "micro", "weighted"} or None, default="macro"
        ``"macro"``: the mean over labels (the "mean IoU" of segmentation);
        ``"micro"``: pooled counts; ``"weighted"``: the mean weighted by each label's
        number of true elements; ``None``: one score per label.
    ignore_index : label, default=None
        Elements whose true label equals this value (e.g. 255, "void") are left out of
        every count.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        The score of a label absent from both masks (0/0); ``"warn"`` gives 0.0 with an
        ``UndefinedMetricWarning``. NaN values are left out of the averages."""


def iou_score(y_true, y_pred, *, labels=None, average="macro", ignore_index=None,
              zero_division="warn"):
    """Intersection over union (Jaccard index) of label masks, per label or averaged.

    For each label, ``IoU = |A & B| / |A | B| = TP / (TP + FP + FN)`` where ``A`` and
    ``B`` are the elements the true and the predicted mask give that label. On label
    vectors with ``average="macro"`` it equals ``sklearn.metrics.jaccard_score(...,
    average="macro")``; this function adds masks of any shape, ``ignore_index`` and
    binary masks.

    Parameters
    ----------
    {params}

    Returns
    -------
    iou : float or ndarray of shape (n_labels,)
        In ``[0, 1]``; an array when ``average=None``.

    Raises
    ------
    ValueError
        If the masks have different shapes, are empty (or fully ignored), hold NaN, or
        if ``average``, ``labels`` or ``zero_division`` is invalid.
    TypeError
        If a mask does not hold labels.

    See Also
    --------
    dice_score : ``2 TP / (2 TP + FP + FN)``, always at least the IoU.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.61.
    .. [2] P. Jaccard, "The distribution of the flora in the alpine zone", New
       Phytologist 11(2), 1912.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import iou_score
    >>> true = np.array([[0, 0, 1], [0, 1, 1]])
    >>> pred = np.array([[0, 1, 1], [0, 0, 1]])
    >>> iou_score(true, pred, average=None)
    array([0.5, 0.5])
    >>> iou_score(true > 0, pred > 0)
    0.5
    """
    return _overlap_score("IoU", y_true, y_pred, labels, average, ignore_index,
                          zero_division, dice=False)


def dice_score(y_true, y_pred, *, labels=None, average="macro", ignore_index=None,
               zero_division="warn"):
    """Dice coefficient (F1 score) of label masks, per label or averaged.

    For each label, ``Dice = 2 |A & B| / (|A| + |B|) = 2 TP / (2 TP + FP + FN)``; the
    Dice loss of the notes is its negative. (The notes' middle expression,
    ``TP / (2 TP + FP + FN)``, drops the factor 2 of the set form; this function uses
    the set form, which is 1 for identical masks.) On label vectors it equals
    ``sklearn.metrics.f1_score`` with the same ``average``.

    Parameters
    ----------
    {params}

    Returns
    -------
    dice : float or ndarray of shape (n_labels,)
        In ``[0, 1]``; an array when ``average=None``.

    Raises
    ------
    ValueError
        As :func:`iou_score`.
    TypeError
        As :func:`iou_score`.

    See Also
    --------
    iou_score : ``TP / (TP + FP + FN) = Dice / (2 - Dice)``.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.62, Remark 3.44.
    .. [2] L. R. Dice, "Measures of the Amount of Ecologic Association Between Species",
       Ecology 26(3), 1945.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import dice_score
    >>> true = np.array([[0, 0, 1], [0, 1, 1]])
    >>> pred = np.array([[0, 1, 1], [0, 0, 1]])
    >>> round(dice_score(true > 0, pred > 0), 4)
    0.6667
    """
    return _overlap_score("Dice", y_true, y_pred, labels, average, ignore_index,
                          zero_division, dice=True)


for _f in (iou_score, dice_score):
    _f.__doc__ = _f.__doc__.replace("{params}", _MASK_PARAMS)
del _f


# ---------------------------------------------------------------------------- Hausdorff

# Metrics for which the pruning below is exact (norms of the coordinate differences,
# monotone in each coordinate gap).
_HAUSDORFF_METRICS = ("euclidean", "manhattan", "chebyshev", "minkowski")
# Points whose exact nearest distance is computed first, to get a good lower bound.
_N_TOP = 32
# The leaves of the partition: each reduction call compares the source and the target
# points of one leaf, about (n / leaves) x (m / leaves) pairs. This size balances the fixed
# cost of a kernel call (buffers, BLAS thread limits) against the cost of its pairs
# (250 to 600 time the same within 10% on 20,000-point clouds).
_LEAF_SIZE = 400
_MAX_LEAVES = 4096


def _check_set(S, name):
    """A boolean mask (returned as is) or a 2-D float64 point set; never empty."""
    S = np.asarray(S) if not hasattr(S, "tocsr") else S
    if isinstance(S, np.ndarray) and S.dtype == bool:
        if S.ndim == 0:
            raise ValueError(f"{name} is a 0-d mask; give a mask with at least one axis.")
        if not S.any():
            raise ValueError(f"{name} is an empty mask (no True element): the Hausdorff "
                             "distance needs at least one point in each set.")
        return S, True
    X = check_array(S, dtype=np.float64, order="C", input_name=name, ensure_min_samples=0)
    if X.shape[0] == 0:
        raise ValueError(f"{name} is an empty point set: the Hausdorff distance needs at "
                         "least one point in each set.")
    return X, False


def _check_spacing(spacing, ndim):
    if spacing is None:
        return np.ones(ndim)
    sp = np.asarray(spacing, dtype=np.float64).reshape(-1)
    if sp.size == 1:
        sp = np.repeat(sp, ndim)
    if sp.size != ndim or not np.all(np.isfinite(sp)) or np.any(sp <= 0):
        raise ValueError(f"spacing must be one positive finite length per mask axis "
                         f"({ndim}), got {spacing!r}.")
    return sp


def _mask_direction(src, dst, spacing):
    """The points that matter for the distances from mask ``src`` to mask ``dst``.

    A point of ``src`` inside ``dst`` is at distance 0. For a point outside, the nearest
    point of ``dst`` is on its boundary (a point of ``dst`` with a 4-neighbour outside
    it): from any interior point, one step along an axis towards the outside point stays
    in ``dst`` and reduces no coordinate difference while shrinking one, so it is at least
    as close, for every Lp norm and any spacing. Returns the coordinates outside
    ``dst``, the boundary coordinates of ``dst`` and the number of zero distances.
    """
    from scipy.ndimage import binary_erosion, generate_binary_structure

    outside = src & ~dst
    # border_value=1: a step towards a point of the image never leaves the image
    interior = binary_erosion(dst, generate_binary_structure(dst.ndim, 1), border_value=1)
    boundary = dst & ~interior
    coords_src = np.argwhere(outside).astype(np.float64) * spacing
    coords_dst = np.argwhere(boundary).astype(np.float64) * spacing
    return coords_src, coords_dst, int(np.count_nonzero(src & dst))


def _exact_distances(A, B, metric, p):
    """Row-wise distances between A[i] and B[i] from the coordinate differences (scaled
    by the largest one, so squares never overflow or underflow)."""
    diff = np.abs(A - B)
    scale = diff.max(axis=1) if diff.shape[1] > 1 else diff[:, 0].copy()
    if metric == "chebyshev" or (metric == "minkowski" and np.isinf(p)):
        return scale
    if metric == "manhattan" or (metric == "minkowski" and p == 1):
        return diff.sum(axis=1)
    safe = np.where(scale > 0, scale, 1.0)
    diff /= safe[:, None]
    if metric == "euclidean" or p == 2:
        return safe * np.sqrt(np.einsum("ij,ij->i", diff, diff)) * (scale > 0)
    return safe * np.sum(diff ** p, axis=1) ** (1.0 / p) * (scale > 0)


def _col_min_max(PT, idx):
    """Per-coordinate min and max of the points ``idx`` of ``PT`` (coordinates as rows:
    NumPy reduces contiguous rows many times faster than the columns of an (n, 3) array)."""
    # np.take keeps the rows contiguous (PT[:, idx] would be laid out column-major,
    # and its row reductions strided and ~100x slower)
    sub = np.take(PT, idx, axis=1) if not isinstance(idx, slice) else PT[:, idx]
    return sub.min(axis=1), sub.max(axis=1)


def _kd_leaves(PT, n_leaves):
    """Split the points (columns of ``PT``, shape (d, n)) into ``n_leaves`` spatially
    compact groups of (nearly) equal size: the leaves of a k-d tree, median splits along
    the widest axis. Pure NumPy; no distance is computed. Returns a list of index arrays,
    in a fixed order."""
    leaves = []
    stack = [(np.arange(PT.shape[1]), n_leaves)]
    while stack:
        idx, count = stack.pop()
        if count == 1 or idx.size <= 1:
            leaves.append(idx)
            continue
        lo, hi = _col_min_max(PT, idx)
        axis = int(np.argmax(hi - lo))
        left = count // 2
        k = min(max(int(round(idx.size * left / count)), 1), idx.size - 1)
        part = np.argpartition(PT[axis, idx], k)
        stack.append((idx[part[k:]], count - left))
        stack.append((idx[part[:k]], left))
    return leaves


def _box_gaps(lo, hi, box_lo, box_hi):
    """Per-axis gaps between the box [lo, hi] and each of the boxes [box_lo, box_hi]."""
    return np.maximum(0.0, np.maximum(box_lo - hi, lo - box_hi))


def _norms(diff, metric, p):
    if metric == "euclidean" or (metric == "minkowski" and p == 2):
        return np.sqrt(np.sum(diff * diff, axis=-1))
    if metric == "manhattan" or (metric == "minkowski" and p == 1):
        return np.sum(diff, axis=-1)
    if metric == "chebyshev" or (metric == "minkowski" and np.isinf(p)):
        return np.max(diff, axis=-1)
    return np.sum(diff ** p, axis=-1) ** (1.0 / p)


def _nearest_all_or_max(A, B, lb, need_all, metric, p, n_jobs, slack):
    """Nearest-neighbour distances from A to B, exactly where they matter.

    ``need_all``: the exact distance (and index) of every point of A. Otherwise only
    the largest value matters: returns ``(best, i, j)`` with ``best`` the max over A of
    the distance to B if it exceeds ``lb`` (point ``i`` of A, its neighbour ``j``), else
    ``(lb, -1, -1)``.

    A and B together are split into the leaves of a k-d tree (no distance needed). Each
    point of A first gets an upper bound, its distance to the nearest point of B in its
    own leaf (one reduction call per leaf). The exact distances of the points with the
    largest bounds give a lower bound on the answer; points whose upper bound is below it
    cannot matter. The others are searched exactly among the B points of the leaves whose
    bounding box lies within their upper bound (a box gap is a lower bound on the
    distance for every Lp norm), so no nearest point is ever missed.
    """
    from skml.metrics._pairwise import kneighbors_spec, resolve_metric

    A, B = np.ascontiguousarray(A), np.ascontiguousarray(B)
    n, m = A.shape[0], B.shape[0]
    spec = resolve_metric(metric, p)

    def nearest(X, Y, threads=1):
        # the reduction behind pairwise_distances_argmin_min, without its input checks
        # (the sets are validated once, float64 and C-contiguous here; the checks cost
        # ~1.5 ms per call, as much as a 400 x 400 leaf's distances)
        dist, ind = kneighbors_spec(X, Y, 1, spec, effective_n_threads(threads), False,
                                    out_dtype=np.float64)
        return ind[:, 0], dist[:, 0]

    n_leaves = int(np.clip(round(np.sqrt(n * m) / _LEAF_SIZE), 1, _MAX_LEAVES))
    if n_leaves == 1:
        j, d = nearest(A, B, n_jobs)
        if need_all:
            return d, j
        i = int(np.argmax(d))
        return (float(d[i]), i, int(j[i])) if d[i] > lb else (lb, -1, -1)

    AT, BT = np.ascontiguousarray(A.T), np.ascontiguousarray(B.T)
    leaves = _kd_leaves(np.concatenate([AT, BT], axis=1), n_leaves)
    a_rows = [idx[idx < n] for idx in leaves]
    b_rows = [idx[idx >= n] - n for idx in leaves]
    # B's points leaf by leaf, so that a leaf is a contiguous slice (no copy per call)
    b_order = np.concatenate(b_rows)
    b_start = np.cumsum([0] + [r.size for r in b_rows])
    B_by_leaf = B[b_order]
    d = A.shape[1]
    b_lo = np.full((n_leaves, d), np.inf)
    b_hi = np.full((n_leaves, d), -np.inf)
    for k, r in enumerate(b_rows):
        if r.size:
            b_lo[k], b_hi[k] = _col_min_max(BT, r)
    has_b = np.array([r.size > 0 for r in b_rows])
    # Leaves are small and independent: threads take whole leaves (each reduction runs
    # on one thread and releases the GIL), with no OpenMP start-up or barrier per leaf.
    # Results do not depend on the thread count.
    n_threads = min(effective_n_threads(n_jobs), n_leaves)

    def per_leaf(func, ks):
        if n_threads > 1:
            return Parallel(n_jobs=n_threads, backend="threading")(
                delayed(func)(k) for k in ks)
        return [func(k) for k in ks]

    def own_leaf(k):
        if a_rows[k].size == 0 or b_rows[k].size == 0:
            return None
        j, d = nearest(A[a_rows[k]], B_by_leaf[b_start[k]:b_start[k + 1]])
        return d, b_rows[k][j]

    upper = np.full(n, np.inf)
    upper_j = np.full(n, -1, dtype=np.intp)
    for k, res in zip(range(n_leaves), per_leaf(own_leaf, range(n_leaves))):
        if res is not None:
            upper[a_rows[k]], upper_j[a_rows[k]] = res

    def exact_search(rows):
        """Exact nearest points of B for ``rows``: every point of B within the largest
        upper bound of one of them lies in the leaves kept here."""
        reach = upper[rows].max()
        gaps = _box_gaps(*_col_min_max(AT, rows), b_lo, b_hi)
        near = np.flatnonzero(has_b & (_norms(gaps, metric, p) <= reach + slack))
        targets = np.concatenate([b_rows[k] for k in near])
        j, d = nearest(A[rows], B[targets])
        return d, targets[j]

    if need_all:
        def search(k):
            rows = a_rows[k]
            return exact_search(rows) if rows.size else None

        exact = np.empty(n)
        exact_j = np.empty(n, dtype=np.intp)
        for k, res in zip(range(n_leaves), per_leaf(search, range(n_leaves))):
            if res is not None:
                exact[a_rows[k]], exact_j[a_rows[k]] = res
        return exact, exact_j

    # a lower bound from the exact distances of the most promising points
    best, best_i, best_j = lb, -1, -1
    top = np.argpartition(-upper, min(_N_TOP, n) - 1)[:_N_TOP]
    j, d = nearest(A[top], B, n_jobs)
    t = int(np.argmax(d))
    if d[t] > best:
        best, best_i, best_j = float(d[t]), int(top[t]), int(j[t])
    # only points whose upper bound beats the lower bound can matter; leaves with the
    # largest upper bounds first, as they raise the lower bound early
    leaf_upper = np.array([upper[r].max() if r.size else -np.inf for r in a_rows])
    for k in np.argsort(-leaf_upper, kind="stable"):
        if leaf_upper[k] <= best:
            break
        rows = a_rows[k][upper[a_rows[k]] > best]
        d, j = exact_search(rows)
        t = int(np.argmax(d))
        if d[t] > best:
            best, best_i, best_j = float(d[t]), int(rows[t]), int(j[t])
    return best, best_i, best_j


def hausdorff_distance(A, B, *, directed=False, percentile=100, metric="euclidean", p=2,
                       spacing=None, n_jobs=None):
    """Hausdorff distance between two point sets or two binary masks.

    ``d_H(A, B) = max(sup_a inf_b d(a, b), sup_b inf_a d(a, b))`` (the notes' Definition
    3.67): the largest distance from a point of one set to the other set. With
    ``directed=True`` only the first term, ``sup_a inf_b d(a, b)``, is returned. With
    ``percentile < 100`` the supremum over the points is replaced by that percentile of
    the per-point nearest distances (the robust "HD95" of segmentation with
    ``percentile=95``; the symmetric value is the larger of the two directed ones).

    Nearest distances come from skml's chunked reduction
    :func:`skml.metrics.pairwise_distances_argmin_min`, so memory is ``O(n + m)`` and no
    ``n x m`` matrix is built. For the maximum, most of them are skipped: both sets are
    split into the leaves of a k-d tree, upper bounds come from a point's own leaf, a
    lower bound from the exact distances of the most promising points, and the bounding
    boxes of the leaves leave only those that can hold a nearer point. For masks, only
    the points outside the other mask and the other mask's boundary take part (exactly
    the same result). The result is exact (the distance of the returned pair is
    recomputed from the coordinate differences).

    Parameters
    ----------
    A : array-like of shape (n, n_features), or bool array of any shape
        The first set: points, or a binary mask whose True elements are the points (at
        their index coordinates times ``spacing``).
    B : array-like of shape (m, n_features), or bool array of A's shape
        The second set, of the same kind as ``A``.
    directed : bool, default=False
        Return the directed distance from A to B.
    percentile : float, default=100
        In ``(0, 100]``; 100 is the Hausdorff distance, 95 the HD95.
    metric : {"euclidean", "manhattan", "chebyshev", "minkowski"}, default="euclidean"
        The distance between points (a metric: the pruning uses the triangle
        inequality).
    p : float, default=2
        Order of the Minkowski metric (``>= 1``).
    spacing : float or array-like of shape (mask.ndim,), default=None
        For masks: the physical size of one element along each axis (e.g. voxel size
        in mm), so the result is in those units. ``None`` means 1.
    n_jobs : int, default=None
        OpenMP threads of the reduction (``None``: all cores).

    Returns
    -------
    distance : float
        In the units of the coordinates (of ``spacing`` for masks).

    Raises
    ------
    ValueError
        If a set is empty (an empty mask), holds NaN or infinity, if the sets have
        different numbers of features or the masks different shapes, if one input is a
        mask and the other is not, or if ``percentile``, ``metric``, ``p`` or
        ``spacing`` is invalid.

    See Also
    --------
    scipy.spatial.distance.directed_hausdorff : the directed Euclidean distance.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.67.
    .. [2] D. P. Huttenlocher, G. A. Klanderman, W. J. Rucklidge, "Comparing Images Using
       the Hausdorff Distance", IEEE TPAMI 15(9), 1993.
    .. [3] A. A. Taha, A. Hanbury, "An Efficient Algorithm for Calculating the Exact
       Hausdorff Distance", IEEE TPAMI 37(11), 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import hausdorff_distance
    >>> A = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> B = np.array([[0.0, 0.0], [4.0, 0.0]])
    >>> hausdorff_distance(A, B)
    3.0
    >>> hausdorff_distance(A, B, directed=True)
    1.0
    >>> mask_a = np.zeros((5, 5), dtype=bool); mask_a[1, 1] = True
    >>> mask_b = np.zeros((5, 5), dtype=bool); mask_b[1, 1] = mask_b[4, 1] = True
    >>> hausdorff_distance(mask_a, mask_b, spacing=(2.0, 1.0))
    6.0
    """
    check_param(directed, "directed", types=(bool, np.bool_))
    check_param(percentile, "percentile", types=(numbers.Real,), min_val=0, max_val=100,
                closed="right")
    check_param(metric, "metric", options=_HAUSDORFF_METRICS)
    check_param(p, "p", types=(numbers.Real,), min_val=1)
    XA, mask_a = _check_set(A, "A")
    XB, mask_b = _check_set(B, "B")
    if mask_a != mask_b:
        raise ValueError("A and B must both be point sets or both be boolean masks.")
    if mask_a:
        if XA.shape != XB.shape:
            raise ValueError(f"A and B must be masks of the same shape, got {XA.shape} and "
                             f"{XB.shape}.")
        sp = _check_spacing(spacing, XA.ndim)
        # (source points, target points, zero distances) per direction
        directions = [_mask_direction(XA, XB, sp)]
        if not directed:
            directions.append(_mask_direction(XB, XA, sp))
    else:
        if XA.shape[1] != XB.shape[1]:
            raise ValueError(f"A and B must have the same number of features, got "
                             f"{XA.shape[1]} and {XB.shape[1]}.")
        directions = [(XA, XB, 0)] if directed else [(XA, XB, 0), (XB, XA, 0)]
    p = float(p)
    # Directions whose every source point lies in the target contribute 0.
    directions = [(X, Y, z) for X, Y, z in directions if X.shape[0] > 0]
    if not directions:
        return 0.0
    # The search runs on copies moved to the middle of the joint bounding box and scaled
    # into [-1, 1] (all the metrics are homogeneous): the GEMM identity behind the
    # reduction then works near the origin and cannot overflow, whatever the magnitudes.
    # Returned distances are recomputed from the original coordinates.
    every = [Z for X, Y, _ in directions for Z in (X, Y)]
    bounds = [_col_min_max(np.ascontiguousarray(Z.T), slice(None)) for Z in every]
    lo = np.min([b[0] for b in bounds], axis=0)
    hi = np.max([b[1] for b in bounds], axis=0)
    mid = lo / 2 + hi / 2
    scale = float(np.max(hi / 2 - lo / 2))

    def scaled(Z):
        if scale == 0:
            return Z - mid
        if scale > 1:
            return (Z / 2 - mid / 2) / (scale / 2)
        return (Z - mid) / scale

    # rounding of the reduction's distances (~1e-8 of the diameter) must never exclude a
    # leaf that can hold a nearest point
    slack = 1e-6 * 2 * every[0].shape[1]
    if percentile < 100:
        values = []
        for X, Y, zeros in directions:
            _, j = _nearest_all_or_max(scaled(X), scaled(Y), -np.inf, True, metric, p,
                                       n_jobs, slack)
            d = _exact_distances(X, Y[j], metric, p)
            if zeros:
                d = np.concatenate([np.zeros(zeros), d])
            values.append(float(np.percentile(d, percentile)))
        return max(values)
    best, pair = 0.0, None
    for X, Y, _ in directions:
        value, i, j = _nearest_all_or_max(scaled(X), scaled(Y), best, False, metric, p,
                                          n_jobs, slack)
        if i >= 0:
            best, pair = value, (X[i:i + 1], Y[j:j + 1])
    if pair is None:
        return 0.0
    return float(_exact_distances(pair[0], pair[1], metric, p)[0])
