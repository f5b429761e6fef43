"""Object-detection score: mean average precision over classes (and IoU thresholds)."""
import numbers
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

__all__ = ["mean_average_precision"]


def _numpy(x):
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _parse(items, name, with_scores):
    from skml.neural.detection._ops import _boxes_np

    if isinstance(items, dict) or not hasattr(items, "__len__"):
        raise TypeError(f"{name} must be a list of dicts (one per image).")
    keys = ("boxes", "labels", "scores") if with_scores else ("boxes", "labels")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise TypeError(f"{name}[{i}] must be a dict with keys {keys}.")
        missing = [k for k in keys if k not in item]
        if missing:
            raise ValueError(f"{name}[{i}] lacks {missing}.")
        boxes = _numpy(item["boxes"])
        labels = _numpy(item["labels"])
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"{name}[{i}]['boxes'] must have shape (k, 4), got "
                             f"{boxes.shape}.")
        boxes, _ = _boxes_np(boxes, f"{name}[{i}]['boxes']")
        k = boxes.shape[0]
        if labels.shape != (k,):
            raise ValueError(f"{name}[{i}]['labels'] must have shape ({k},), got "
                             f"{labels.shape}.")
        if k and not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"{name}[{i}]['labels'] must be integers, got dtype "
                            f"{labels.dtype}.")
        entry = [boxes, labels.astype(np.int64)]
        if with_scores:
            scores = _numpy(item["scores"]).astype(np.float64)
            if scores.shape != (k,):
                raise ValueError(f"{name}[{i}]['scores'] must have shape ({k},), got "
                                 f"{scores.shape}.")
            if np.isnan(scores).any():
                raise ValueError(f"{name}[{i}]['scores'] must not contain NaN.")
            entry.append(scores)
        out.append(entry)
    return out


def _thresholds(iou_threshold):
    scalar = isinstance(iou_threshold, numbers.Real) and not isinstance(iou_threshold, bool)
    values = [iou_threshold] if scalar else iou_threshold
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"iou_threshold must be a float or a sequence of floats, got "
                        f"{iou_threshold!r}.") from None
    if not values:
        raise ValueError("iou_threshold must not be empty.")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v <= 1:
            raise ValueError(f"iou_threshold must be in [0, 1], got {v!r}.")
    return [float(v) for v in values]


def _average_precision(tp, n_gt):
    """All-point interpolated AP of predictions already in decreasing score order."""
    if n_gt == 0:
        return np.nan
    if tp.size == 0:
        return 0.0
    hits = np.cumsum(tp)
    precision = hits / np.arange(1, tp.size + 1)
    recall = hits / n_gt
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * envelope))


def mean_average_precision(y_true, y_pred, *, iou_threshold=0.5, n_classes=None):
    """Mean average precision of object detections (VOC / COCO style).

    For each class, the predictions of that class over all images are sorted by
    decreasing score (ties: image order, then order within the image); going down
    that list, a prediction is a true positive when some ground-truth box of its
    class in its image, not yet matched, overlaps it with IoU >= the threshold (the
    unmatched one with the highest IoU is matched; COCO's rule), a false positive
    otherwise. The class's average precision is the area under the precision-recall
    curve with all-point interpolation (the precision at recall r replaced by the
    largest precision at any recall >= r; PASCAL VOC 2010+ and COCO's integral
    without its 101-point sampling). The mAP is the mean over the classes that
    have ground-truth boxes, then over the IoU thresholds.

    Parameters
    ----------
    y_true : list of dict
        Per image, ``{"boxes": (k, 4) array, "labels": (k,) int array}``; boxes
        ``(x1, y1, x2, y2)``. An image may have no boxes.
    y_pred : list of dict
        Per image (the same images in the same order), ``{"boxes": (m, 4),
        "labels": (m,), "scores": (m,)}``. NumPy arrays or torch tensors.
    iou_threshold : float or sequence of float, default=0.5
        IoU needed for a match; a sequence gives the mean over its thresholds (COCO's
        mAP@[.5:.95] is ``np.arange(0.5, 0.96, 0.05)``).
    n_classes : int or None, default=None
        When given, every label must lie in ``[0, n_classes)``. Classes without
        ground-truth boxes are left out of the mean whatever ``n_classes`` is
        (their average precision is undefined); their predictions count nowhere.

    Returns
    -------
    score : float
        In [0, 1]. NaN, with an ``UndefinedMetricWarning``, when no image has a
        ground-truth box.

    Raises
    ------
    ValueError
        If the lists differ in length, a dict lacks a key, arrays have wrong shapes,
        boxes are not finite or have ``x2 < x1``, scores hold NaN, a label is outside
        ``[0, n_classes)``, or a threshold is outside [0, 1].
    TypeError
        On inputs that are not lists of dicts or non-integer labels.

    References
    ----------
    M. Everingham, L. Van Gool, C. K. I. Williams, J. Winn, A. Zisserman, "The PASCAL
    visual object classes (VOC) challenge", IJCV 88, 2010. T.-Y. Lin et al.,
    "Microsoft COCO: common objects in context", ECCV 2014.
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.61 (IoU), §3.5.6.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import mean_average_precision
    >>> y_true = [{"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([0])}]
    >>> y_pred = [{"boxes": np.array([[1, 1, 10, 10], [20, 20, 30, 30]]),
    ...            "labels": np.array([0, 0]), "scores": np.array([0.9, 0.8])}]
    >>> mean_average_precision(y_true, y_pred)
    1.0
    """
    from skml.neural.detection._ops import box_iou

    truth = _parse(y_true, "y_true", False)
    pred = _parse(y_pred, "y_pred", True)
    if len(truth) != len(pred):
        raise ValueError(f"y_true and y_pred must have one entry per image, got "
                         f"{len(truth)} and {len(pred)}.")
    thresholds = _thresholds(iou_threshold)
    if n_classes is not None:
        if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) \
                or n_classes < 1:
            raise ValueError(f"n_classes must be a positive integer or None, got "
                             f"{n_classes!r}.")
        for name, parts in (("y_true", truth), ("y_pred", pred)):
            for i, part in enumerate(parts):
                lab = part[1]
                if lab.size and (lab.min() < 0 or lab.max() >= n_classes):
                    raise ValueError(f"{name}[{i}]['labels'] must be in [0, "
                                     f"{n_classes}), got {lab.min()}..{lab.max()}.")
    classes = np.unique(np.concatenate([t[1] for t in truth])) if truth else []
    if len(classes) == 0:
        warnings.warn("mean_average_precision is undefined without ground-truth "
                      "boxes; returning NaN.", UndefinedMetricWarning, stacklevel=2)
        return float("nan")

    per_threshold = np.zeros((len(thresholds), len(classes)))
    for ci, c in enumerate(classes):
        n_gt = 0
        scores, flags = [], []                   # per image: sorted scores, TP per t
        for (t_boxes, t_labels), (p_boxes, p_labels, p_scores) in zip(truth, pred):
            gt = t_boxes[t_labels == c]
            sel = p_labels == c
            n_gt += len(gt)
            if not sel.any():
                continue
            s = p_scores[sel]
            order = np.argsort(-s, kind="stable")
            boxes = np.asarray(p_boxes)[sel][order]
            iou = box_iou(boxes, gt) if len(gt) else np.zeros((len(boxes), 0))
            tp = np.zeros((len(thresholds), len(boxes)), dtype=bool)
            for ti, thr in enumerate(thresholds):
                free = np.ones(len(gt), dtype=bool)
                for r in range(len(boxes)):
                    cand = np.where(free & (iou[r] >= thr), iou[r], -1.0)
                    if cand.size and cand.max() >= 0:
                        g = int(np.argmax(cand))
                        free[g] = False
                        tp[ti, r] = True
            scores.append(s[order])
            flags.append(tp)
        if scores:
            s_all = np.concatenate(scores)
            tp_all = np.concatenate(flags, axis=1)
            order = np.argsort(-s_all, kind="stable")
            tp_all = tp_all[:, order]
        else:
            tp_all = np.zeros((len(thresholds), 0), dtype=bool)
        for ti in range(len(thresholds)):
            per_threshold[ti, ci] = _average_precision(tp_all[ti], n_gt)
    return float(per_threshold.mean())
