"""Segmentation scores over label masks (IoU, Dice) and the Hausdorff distance between
point sets or binary masks (H. Dai, "Note on Machine Learning" (preprint), Definitions
3.61, 3.62 and 3.67).

The Hausdorff distance goes through skml's chunked nearest-neighbour reduction
(:func:`skml.metrics.pairwise_distances_argmin_min`), so memory stays O(n + m); a
cluster-based pruning (below) skips most of the ``n * m`` distances.
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

# Metrics for which the pruning below is exact (it needs the triangle inequality).
_HAUSDORFF_METRICS = ("euclidean", "manhattan", "chebyshev", "minkowski")
# Points whose exact nearest distance is computed first, to get a good lower bound.
_N_TOP = 32
# Clusters: enough that each holds a few hundred points (a block of the reduction), few
# enough that the per-call overhead of the reduction stays small.
_POINTS_PER_CLUSTER_PAIR = 500
_MAX_CLUSTERS = 1024
# Reduction calls smaller than this (pairs of points) run on one thread.
_PAIRS_PER_THREAD = 2**20


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
    """Row-wise distances between A[i] and B[i] from the coordinate differences."""
    diff = np.abs(A - B)
    if metric == "euclidean" or (metric == "minkowski" and p == 2):
        scale = diff.max(axis=1, keepdims=True)
        scale[scale == 0] = 1.0
        return scale[:, 0] * np.sqrt(np.sum((diff / scale) ** 2, axis=1))
    if metric == "manhattan" or (metric == "minkowski" and p == 1):
        return diff.sum(axis=1)
    if metric == "chebyshev" or (metric == "minkowski" and np.isinf(p)):
        return diff.max(axis=1)
    scale = diff.max(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    return scale[:, 0] * np.sum((diff / scale) ** p, axis=1) ** (1.0 / p)


def _cluster_max(values, start):
    """Max of ``values`` over each run ``start[k]:start[k + 1]`` (-inf for an empty run)."""
    out = np.full(start.size - 1, -np.inf)
    nonempty = start[:-1] < start[1:]
    if nonempty.any():
        out[nonempty] = np.maximum.reduceat(values, start[:-1][nonempty])
    return out


class _Clusters:
    """B split into clusters around some of its own points, for the triangle inequality:
    for a in cluster i and b in cluster k, ``d(a, b) >= d(c_i, c_k) - r_i - R_k``."""

    def __init__(self, B, n_clusters, nearest, rng):
        m = B.shape[0]
        self.centers = B[np.sort(rng.choice(m, n_clusters, replace=False))]
        lab, dist = nearest(B, self.centers)
        order = np.argsort(lab, kind="stable")
        self.points = B[order]
        self.index = order  # row of B of each clustered point
        self.start = np.searchsorted(lab[order], np.arange(n_clusters + 1))
        self.radius = _cluster_max(dist[order], self.start)

    def members(self, ks):
        if len(ks) == len(self.radius):
            return self.points, self.index
        rows = np.concatenate([np.arange(self.start[k], self.start[k + 1]) for k in ks])
        return self.points[rows], self.index[rows]


def _nearest_all_or_max(A, B, lb, need_all, metric, p, n_jobs, slack):
    """Nearest-neighbour distances from A to B, exactly where they matter.

    ``need_all``: the exact distance (and index) of every point of A. Otherwise only
    the largest value matters: returns ``(best, i, j)`` with ``best`` the max over A of
    the distance to B if it exceeds ``lb`` (point ``i`` of A, its neighbour ``j``), else
    ``(lb, -1, -1)``.
    """
    from skml.metrics._pairwise import pairwise_distances, pairwise_distances_argmin_min

    def nearest(X, Y):
        # a block of a few hundred thousand pairs takes about a millisecond: more
        # threads would cost more to start and synchronise than they save
        jobs = n_jobs if X.shape[0] * Y.shape[0] >= _PAIRS_PER_THREAD else 1
        return pairwise_distances_argmin_min(X, Y, metric=metric, p=p, n_jobs=jobs)

    n, m = A.shape[0], B.shape[0]
    n_clusters = int(np.clip(round(np.sqrt(n * m) / _POINTS_PER_CLUSTER_PAIR), 1,
                             min(m, _MAX_CLUSTERS)))
    if n_clusters == 1:
        j, d = nearest(A, B)
        if need_all:
            return d, j
        i = int(np.argmax(d))
        return (float(d[i]), i, int(j[i])) if d[i] > lb else (lb, -1, -1)

    rng = np.random.RandomState(0)
    cl = _Clusters(B, n_clusters, nearest, rng)
    lab_a, dist_a = nearest(A, cl.centers)
    order_a = np.argsort(lab_a, kind="stable")
    start_a = np.searchsorted(lab_a[order_a], np.arange(n_clusters + 1))
    # The clusters' blocks are small and independent: threads take whole blocks (each
    # block's reduction runs on one thread, releasing the GIL), which costs no OpenMP
    # start-up or barrier per block. Results do not depend on the thread count.
    n_threads = min(effective_n_threads(n_jobs), n_clusters)

    def per_cluster(func, ks):
        if n_threads > 1:
            return Parallel(n_jobs=n_threads, backend="threading")(
                delayed(func)(k) for k in ks)
        return [func(k) for k in ks]

    # upper bounds: the nearest centre (a point of B), then the nearest point of B in
    # the same cluster
    def own_cluster(k):
        rows = order_a[start_a[k]:start_a[k + 1]]
        if rows.size == 0 or cl.start[k + 1] == cl.start[k]:
            return rows, None
        return rows, nearest(A[rows], cl.points[cl.start[k]:cl.start[k + 1]])[1]

    upper = dist_a.copy()
    for rows, d in per_cluster(own_cluster, range(n_clusters)):
        if d is not None:
            upper[rows] = np.minimum(upper[rows], d)

    center_dist = pairwise_distances(cl.centers, metric=metric, p=p, n_jobs=1)

    def exact_search(rows, k):
        """Exact nearest points of B for ``rows`` (all in cluster k): every point of B
        within ``reach`` of one of them lies in the clusters kept here."""
        reach = upper[rows].max()
        spread = dist_a[rows].max()
        near = np.flatnonzero(center_dist[k] - spread - cl.radius <= reach + slack)
        points, index = cl.members(near)
        j, d = nearest(A[rows], points)
        return d, index[j]

    if need_all:
        def search(k):
            rows = order_a[start_a[k]:start_a[k + 1]]
            return (rows, *exact_search(rows, k)) if rows.size else (rows, None, None)

        exact = np.empty(n)
        exact_j = np.empty(n, dtype=np.intp)
        for rows, d, j in per_cluster(search, range(n_clusters)):
            if rows.size:
                exact[rows], exact_j[rows] = d, j
        return exact, exact_j

    # a lower bound from the exact distances of the most promising points
    best, best_i, best_j = lb, -1, -1
    top = np.argpartition(-upper, min(_N_TOP, n) - 1)[:_N_TOP]
    j, d = nearest(A[top], B)
    t = int(np.argmax(d))
    if d[t] > best:
        best, best_i, best_j = float(d[t]), int(top[t]), int(j[t])
    # only points whose upper bound beats the lower bound can matter; clusters with the
    # largest upper bounds first, as they raise the lower bound early
    cluster_upper = _cluster_max(upper[order_a], start_a)
    for k in np.argsort(-cluster_upper, kind="stable"):
        if cluster_upper[k] <= best:
            break
        rows = order_a[start_a[k]:start_a[k + 1]]
        rows = rows[upper[rows] > best]
        d, j = exact_search(rows, k)
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
    ``n x m`` matrix is built. For the maximum, most of them are skipped: the points of
    B are grouped around some of their own points, upper bounds come from a point's own
    cluster, a lower bound from the exact distances of the most promising points, and
    the triangle inequality leaves only the clusters that can hold a nearer point. The
    result is exact (the distance of the returned pair is recomputed from the coordinate
    differences).

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
    lo = np.min([Z.min(axis=0) for Z in every], axis=0)
    hi = np.max([Z.max(axis=0) for Z in every], axis=0)
    mid = lo / 2 + hi / 2
    scale = float(np.max(hi / 2 - lo / 2))

    def scaled(Z):
        if scale == 0:
            return Z - mid
        if scale > 1:
            return (Z / 2 - mid / 2) / (scale / 2)
        return (Z - mid) / scale

    # rounding of the reduction's distances (~1e-8 of the diameter) must never exclude a
    # cluster that can hold a nearest point
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
