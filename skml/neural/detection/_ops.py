"""Stateless detection ops: box IoU, greedy NMS, RoI pooling and RoI align, anchors and
the R-CNN box coding.

Boxes are ``(x1, y1, x2, y2)`` in pixel-edge coordinates (pixel ``(row i, column j)``
covers ``[j, j + 1) x [i, i + 1)``, torchvision's convention), with ``x2 >= x1`` and
``y2 >= y1``; the area of a box is ``(x2 - x1) * (y2 - y1)``. The box functions take
NumPy arrays or torch tensors and answer in kind (a tensor on the input's device); the
RoI ops are torch only. torch is imported lazily: this module loads without it.

The ops follow torchvision.ops (whose compiled kernels are not used here): the NMS
core is the Cython kernel ``skml/_kernels/_nms.pyx``, the RoI ops are written in torch
(vectorised over the regions, differentiable with respect to the features).
"""
import math
import numbers

import numpy as np

from skml.utils import check_param

__all__ = ["batched_nms", "box_iou", "clip_boxes", "decode_boxes", "encode_boxes",
           "generate_anchors", "nms", "roi_align", "roi_pool"]

# torchvision's clamp of the decoded log-scale: no box grows more than 1000/16 times.
BBOX_XFORM_CLIP = math.log(1000.0 / 16)

# Boxes whose largest |coordinate| lies outside [2**-_SAFE_EXP, 2**_SAFE_EXP] are scaled
# by a power of two (exact: IoU is scale invariant and power-of-two scaling commutes
# with rounding) so that areas neither overflow nor underflow.
_SAFE_EXP = 400

# Largest number of feature values roi_pool gathers at once (16 Mi: 64 MiB in float32).
_POOL_BUDGET = 1 << 24


def _torch():
    from skml.neural._base import _torch as load
    return load()


def _is_tensor(x):
    torch = __import__("sys").modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _boxes_np(boxes, name="boxes"):
    """``boxes`` as a float64 (n, 4) array, checked; also the float dtype of the answer."""
    if _is_tensor(boxes):
        arr = boxes.detach().cpu().numpy()
    else:
        arr = np.asarray(boxes)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}.")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}.")
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n, 4), got {arr.shape}.")
    out_dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or infinity).")
    if (arr[:, 2] < arr[:, 0]).any() or (arr[:, 3] < arr[:, 1]).any():
        raise ValueError(f"{name} must satisfy x2 >= x1 and y2 >= y1.")
    return arr, out_dtype


def _pow2_exponent(*arrays):
    """The power of two to scale finite boxes by so that their areas stay in range."""
    m = max((float(np.abs(a).max()) for a in arrays if a.size), default=0.0)
    if m == 0.0:
        return 0
    e = math.frexp(m)[1]
    return -e if abs(e) > _SAFE_EXP else 0


def _iou_np(a, b):
    """IoU matrix of checked float64 boxes (the formula of the NMS kernel)."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def box_iou(boxes_a, boxes_b):
    """Intersection over union of every pair of boxes.

    Parameters
    ----------
    boxes_a : array-like or torch.Tensor of shape (n, 4)
        Boxes ``(x1, y1, x2, y2)`` with ``x2 >= x1`` and ``y2 >= y1``, finite.
    boxes_b : array-like or torch.Tensor of shape (m, 4)
        Boxes in the same form (the same kind as ``boxes_a``).

    Returns
    -------
    iou : ndarray or torch.Tensor of shape (n, m)
        ``|A ∩ B| / |A ∪ B|``, in [0, 1]; a pair whose union is empty (two zero-area
        boxes) gives 0, never NaN. float32 when both inputs are float32, float64
        otherwise. When ``boxes_a`` is a tensor: a tensor computed on its device
        (``boxes_b`` is moved there), with the same operations as for arrays.
        Computed in float64 whatever the input, after scaling both sets by the same
        power of two when their magnitudes would overflow the areas (IoU is scale
        invariant), so it is exact for coordinates up to 1e300.

    Raises
    ------
    ValueError
        If a set is not of shape (k, 4), holds NaN or infinity, or a box with
        ``x2 < x1`` or ``y2 < y1``.
    TypeError
        If the boxes are not numeric.

    References
    ----------
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.61 (IoU), §3.5.6.
    P. Jaccard, "The distribution of the flora in the alpine zone", New Phytologist,
    1912.
    """
    if _is_tensor(boxes_a):
        return _box_iou_torch(boxes_a, boxes_b)
    a, dt_a = _boxes_np(boxes_a, "boxes_a")
    b, dt_b = _boxes_np(boxes_b, "boxes_b")
    e = _pow2_exponent(a, b)
    if e:
        a, b = np.ldexp(a, e), np.ldexp(b, e)
    dtype = np.float32 if dt_a == dt_b == np.float32 else np.float64
    return _iou_np(a, b).astype(dtype, copy=False)


def _boxes_torch(boxes, name, device):
    torch = _torch()
    if not isinstance(boxes, torch.Tensor):
        arr, _ = _boxes_np(boxes, name)
        boxes = torch.as_tensor(arr)
    boxes = boxes.detach().to(device)
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (n, 4), got {tuple(boxes.shape)}.")
    if boxes.dtype == torch.bool or boxes.is_complex():
        raise TypeError(f"{name} must be real numbers, got dtype {boxes.dtype}.")
    out_dtype = boxes.dtype if boxes.dtype == torch.float32 else torch.float64
    boxes = boxes.double()
    if not bool(torch.isfinite(boxes).all()):
        raise ValueError(f"{name} must be finite (no NaN or infinity).")
    if bool(((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])).any()):
        raise ValueError(f"{name} must satisfy x2 >= x1 and y2 >= y1.")
    return boxes, out_dtype


def _box_iou_torch(boxes_a, boxes_b):
    """box_iou on the tensors' device, with the operations of _iou_np (float64)."""
    torch = _torch()
    a, dt_a = _boxes_torch(boxes_a, "boxes_a", boxes_a.device)
    b, dt_b = _boxes_torch(boxes_b, "boxes_b", boxes_a.device)
    m = max((float(x.abs().max()) for x in (a, b) if x.numel()), default=0.0)
    e = math.frexp(m)[1] if m > 0 else 0
    if abs(e) > _SAFE_EXP:
        a, b = torch.ldexp(a, torch.tensor(-e, device=a.device)), \
            torch.ldexp(b, torch.tensor(-e, device=a.device))
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iw = torch.minimum(a[:, None, 2], b[None, :, 2]) - torch.maximum(a[:, None, 0],
                                                                     b[None, :, 0])
    ih = torch.minimum(a[:, None, 3], b[None, :, 3]) - torch.maximum(a[:, None, 1],
                                                                     b[None, :, 1])
    inter = iw.clamp(min=0.0) * ih.clamp(min=0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    iou = torch.where(union > 0, inter / torch.where(union > 0, union, 1.0),
                      torch.zeros_like(inter))
    dtype = torch.float32 if dt_a == dt_b == torch.float32 else torch.float64
    return iou.to(dtype)


def _check_threshold(iou_threshold):
    check_param(iou_threshold, "iou_threshold", types=(numbers.Real,), min_val=0.0,
                max_val=1.0)
    return float(iou_threshold)


def _vector(x, n, name, *, integer=False):
    arr = x.detach().cpu().numpy() if _is_tensor(x) else np.asarray(x)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}.")
    if integer:
        if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
            raise TypeError(f"{name} must be integers, got dtype {arr.dtype}.")
        return arr.astype(np.int64, copy=False)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool) or np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real numbers, got dtype {arr.dtype}.")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN.")
    return arr


def _descending(scores):
    """Positions by decreasing score, ties by increasing position (stable)."""
    return np.argsort(-scores, kind="stable")


def _grid(boxes):
    """Origin, cell side and cell counts of the NMS kernel's grid: cells about the
    size of a typical box, at most about 4 per box and 1024 per axis."""
    if boxes.shape[0] == 0:
        return 0.0, 0.0, 1.0, 1, 1
    x0, y0 = float(boxes[:, 0].min()), float(boxes[:, 1].min())
    ex = float(boxes[:, 2].max()) - x0
    ey = float(boxes[:, 3].max()) - y0
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    cell = max(float(np.median(sides)), ex / 1024, ey / 1024)
    if not cell > 0:
        cell = max(ex, ey, 1.0)
    limit = 4 * boxes.shape[0] + 16
    while (ex / cell + 1) * (ey / cell + 1) > limit:
        cell *= 2
    return x0, y0, cell, int(ex / cell) + 1, int(ey / cell) + 1


def _run_nms(boxes, scores, labels, iou_threshold):
    from skml._kernels._nms import greedy_nms

    tensor = _is_tensor(boxes)
    arr, _ = _boxes_np(boxes)
    n = arr.shape[0]
    s = _vector(scores, n, "scores")
    thr = _check_threshold(iou_threshold)
    e = _pow2_exponent(arr)
    if e:
        arr = np.ldexp(arr, e)
    order = _descending(s)
    if labels is None:
        bounds = np.array([0, n], dtype=np.intp)
        seg_order = order
    else:
        lab = _vector(labels, n, "labels", integer=True)
        # Group by label, keeping the score order inside each group (stable sort).
        by_label = np.argsort(lab[order], kind="stable")
        seg_order = order[by_label]
        sorted_lab = lab[seg_order]
        cuts = np.flatnonzero(sorted_lab[1:] != sorted_lab[:-1]) + 1
        bounds = np.concatenate([[0], cuts, [n]]).astype(np.intp)
    keep = np.zeros(n, dtype=np.uint8)
    greedy_nms(arr, np.ascontiguousarray(seg_order, dtype=np.intp), bounds, thr, keep,
               *_grid(arr))
    kept = order[keep[order].astype(bool)].astype(np.int64)
    if tensor:
        torch = _torch()
        return torch.as_tensor(kept, device=boxes.device)
    return kept


def nms(boxes, scores, iou_threshold):
    """Greedy non-maximum suppression.

    Boxes are visited by decreasing score; a box is kept unless its IoU with a box
    already kept is strictly greater than ``iou_threshold``. The work is O(n log n)
    for the sort plus at most O(n * kept) comparisons, in the Cython kernel
    ``skml._kernels._nms`` (on the CPU whatever the device of a tensor input); the
    kernel files the kept boxes in a uniform grid of cells about a box wide and
    compares each box only with the kept boxes sharing a cell, which gives the same
    answer, since only overlapping boxes can suppress each other.

    Parameters
    ----------
    boxes : array-like or torch.Tensor of shape (n, 4)
        Boxes ``(x1, y1, x2, y2)``, finite, ``x2 >= x1``, ``y2 >= y1``; float32 or
        float64 (other numeric types are converted).
    scores : array-like or torch.Tensor of shape (n,)
        Scores, no NaN (infinities are fine).
    iou_threshold : float in [0, 1]
        Overlap above which the lower-scored box is discarded.

    Returns
    -------
    keep : ndarray or torch.Tensor of shape (k,), dtype int64
        Indices of the kept boxes, by decreasing score; equal scores in increasing
        index order. A tensor on ``boxes``' device when ``boxes`` is a tensor.

    Raises
    ------
    ValueError
        On boxes of the wrong shape, non-finite or inverted (``x2 < x1``), scores of
        the wrong length or with NaN, or ``iou_threshold`` outside [0, 1].
    TypeError
        On non-numeric boxes or scores, or a non-real ``iou_threshold``.

    See Also
    --------
    batched_nms : NMS separately per label.

    References
    ----------
    R. Girshick, J. Donahue, T. Darrell, J. Malik, "Rich feature hierarchies for
    accurate object detection and semantic segmentation", CVPR 2014.
    H. Dai, "Note on Machine Learning" (preprint), §3.5.6.
    """
    return _run_nms(boxes, scores, None, iou_threshold)


def batched_nms(boxes, scores, labels, iou_threshold):
    """Greedy non-maximum suppression done independently for each label.

    Boxes of different labels never suppress each other. The answer is that of
    :func:`nms` run on each label's boxes, merged.

    Parameters
    ----------
    boxes : array-like or torch.Tensor of shape (n, 4)
        Boxes ``(x1, y1, x2, y2)`` as in :func:`nms`.
    scores : array-like or torch.Tensor of shape (n,)
        Scores, no NaN.
    labels : array-like or torch.Tensor of shape (n,), integer
        The class (or image, or any group) of each box.
    iou_threshold : float in [0, 1]
        Overlap above which the lower-scored box of the same label is discarded.

    Returns
    -------
    keep : ndarray or torch.Tensor of shape (k,), dtype int64
        Indices into the input of the kept boxes, by decreasing score (equal scores
        in increasing index order), all labels together.

    Raises
    ------
    ValueError
        As :func:`nms`, and on labels of the wrong length.
    TypeError
        As :func:`nms`, and on non-integer labels.

    References
    ----------
    R. Girshick, "Fast R-CNN", ICCV 2015. H. Dai, "Note on Machine Learning"
    (preprint), §3.5.6.
    """
    return _run_nms(boxes, scores, labels, iou_threshold)


def clip_boxes(boxes, image_size):
    """Clip boxes to an image.

    Parameters
    ----------
    boxes : array-like or torch.Tensor of shape (n, 4)
        Boxes ``(x1, y1, x2, y2)``.
    image_size : (int, int)
        ``(height, width)`` of the image in pixels: x is clipped to ``[0, width]`` and
        y to ``[0, height]`` (pixel-edge coordinates).

    Returns
    -------
    clipped : ndarray or torch.Tensor of shape (n, 4)
        A new array (tensor) of the input's floating dtype (float64 for integer
        input); boxes wholly outside become zero-width or zero-height boxes on the
        border.

    Raises
    ------
    ValueError
        If ``boxes`` is not (n, 4) or ``image_size`` is not two non-negative numbers.
    """
    size = _image_size(image_size)
    h, w = size
    if _is_tensor(boxes):
        if boxes.ndim != 2 or boxes.shape[-1] != 4:
            raise ValueError(f"boxes must have shape (n, 4), got {tuple(boxes.shape)}.")
        b = boxes if boxes.is_floating_point() else boxes.double()
        x = b[:, 0::2].clamp(0, w)
        y = b[:, 1::2].clamp(0, h)
        return _torch().stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], dim=1)
    arr = np.asarray(boxes)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"boxes must have shape (n, 4), got {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    out = np.empty_like(arr)
    np.clip(arr[:, 0::2], 0, w, out=out[:, 0::2])
    np.clip(arr[:, 1::2], 0, h, out=out[:, 1::2])
    return out


def _image_size(image_size):
    try:
        h, w = image_size
    except (TypeError, ValueError):
        raise ValueError(
            f"image_size must be (height, width), got {image_size!r}.") from None
    for v, name in ((h, "height"), (w, "width")):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0 \
                or not math.isfinite(v):
            raise ValueError(f"image_size {name} must be a non-negative number, "
                             f"got {v!r}.")
    return float(h), float(w)


def _pair(value, name, *, integer):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, kind) and not isinstance(value, bool):
        value = (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a pair, got {value!r}.") from None
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, kind):
            raise TypeError(f"{name} must hold {'integers' if integer else 'numbers'},"
                            f" got {value!r}.")
        if not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} must be positive, got {value!r}.")
    return a, b


def _positive_list(values, name):
    if isinstance(values, numbers.Real):
        values = [values]
    values = list(values)
    if not values:
        raise ValueError(f"{name} must not be empty.")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v > 0 \
                or not math.isfinite(v):
            raise ValueError(f"{name} must hold positive finite numbers, got {v!r}.")
    return np.asarray(values, dtype=np.float64)


def generate_anchors(feature_size, stride, sizes=(32, 64, 128),
                     aspect_ratios=(0.5, 1.0, 2.0), *, device=None):
    """Anchor boxes of a feature map (the RPN's reference boxes).

    Feature-map cell ``(y, x)`` covers image pixels ``[x * sx, (x + 1) * sx) x [y * sy,
    (y + 1) * sy)``; its anchors are centred on that cell's centre ``((x + 0.5) * sx,
    (y + 0.5) * sy)``. For each cell there are ``A = len(aspect_ratios) * len(sizes)``
    anchors: anchor ``a = r * len(sizes) + s`` has area ``sizes[s] ** 2`` and
    height/width ratio ``aspect_ratios[r]`` (width ``sizes[s] / sqrt(ratio)``,
    height ``sizes[s] * sqrt(ratio)``).

    Parameters
    ----------
    feature_size : int or (int, int)
        ``(H, W)`` of the feature map.
    stride : int, float or (sy, sx)
        Image pixels per feature-map cell.
    sizes : sequence of float, default=(32, 64, 128)
        Square roots of the anchor areas, in pixels.
    aspect_ratios : sequence of float, default=(0.5, 1.0, 2.0)
        Height/width ratios.
    device : str, torch.device or None, default=None
        None: a NumPy float64 array; otherwise a float32 torch tensor on that device.

    Returns
    -------
    anchors : ndarray or torch.Tensor of shape (H * W * A, 4)
        ``(x1, y1, x2, y2)`` in image pixels, ordered (y, x, anchor): row
        ``(y * W + x) * A + a`` — the order of an RPN head's output
        ``(N, A * k, H, W)`` after ``permute(0, 2, 3, 1)`` and reshaping to
        ``(N, H * W * A, k)``.

    Raises
    ------
    ValueError
        On a non-positive size, stride or ratio, or an empty ``sizes`` or
        ``aspect_ratios``.
    TypeError
        On non-integer feature sizes.

    References
    ----------
    S. Ren, K. He, R. Girshick, J. Sun, "Faster R-CNN: Towards real-time object
    detection with region proposal networks", NeurIPS 2015. H. Dai, "Note on Machine
    Learning" (preprint), Example 54.
    """
    H, W = _pair(feature_size, "feature_size", integer=True)
    sy, sx = _pair(stride, "stride", integer=False)
    sz = _positive_list(sizes, "sizes")
    ar = _positive_list(aspect_ratios, "aspect_ratios")
    h_ratio = np.sqrt(ar)
    ws = (sz[None, :] / h_ratio[:, None]).ravel()
    hs = (sz[None, :] * h_ratio[:, None]).ravel()
    base = np.stack([-ws / 2, -hs / 2, ws / 2, hs / 2], axis=1)       # (A, 4)
    cy = (np.arange(H, dtype=np.float64) + 0.5) * sy
    cx = (np.arange(W, dtype=np.float64) + 0.5) * sx
    yy, xx = np.meshgrid(cy, cx, indexing="ij")
    shifts = np.stack([xx, yy, xx, yy], axis=-1).reshape(-1, 1, 4)     # (H*W, 1, 4)
    anchors = (shifts + base[None]).reshape(-1, 4)
    if device is None:
        return anchors
    torch = _torch()
    return torch.as_tensor(anchors, dtype=torch.float32, device=device)


def _coding_weights(weights):
    try:
        w = tuple(float(v) for v in weights)
    except (TypeError, ValueError):
        raise TypeError(f"weights must be four numbers, got {weights!r}.") from None
    if len(w) != 4 or not all(v > 0 and math.isfinite(v) for v in w):
        raise ValueError(f"weights must be four positive numbers, got {weights!r}.")
    return w


def _columns(x, name, xp_tensor):
    if xp_tensor:
        if not _is_tensor(x):
            raise TypeError(f"{name} must be a torch tensor like the other argument.")
        if x.ndim != 2 or x.shape[-1] != 4:
            raise ValueError(f"{name} must have shape (n, 4), got {tuple(x.shape)}.")
        return x if x.is_floating_point() else x.double()
    if _is_tensor(x):
        raise TypeError(f"{name} must be a NumPy array like the other argument.")
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n, 4), got {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def encode_boxes(reference, boxes, weights=(1.0, 1.0, 1.0, 1.0)):
    """Regression targets of ``boxes`` relative to ``reference`` boxes (R-CNN coding).

    With centres ``(cx, cy)``, widths ``w`` and heights ``h`` (``a`` for the
    reference): ``dx = wx (cx - cxa) / wa``, ``dy = wy (cy - cya) / ha``,
    ``dw = ww log(w / wa)``, ``dh = wh log(h / ha)``.

    Parameters
    ----------
    reference : ndarray or torch.Tensor of shape (n, 4)
        Anchors or proposals ``(x1, y1, x2, y2)``, positive widths and heights.
    boxes : ndarray or torch.Tensor of shape (n, 4)
        The boxes to encode, row by row, positive widths and heights; the same kind
        (NumPy or torch) as ``reference``.
    weights : (float, float, float, float), default=(1.0, 1.0, 1.0, 1.0)
        ``(wx, wy, ww, wh)`` (Fast R-CNN uses (10, 10, 5, 5) for its head).

    Returns
    -------
    deltas : ndarray or torch.Tensor of shape (n, 4)
        ``(dx, dy, dw, dh)`` per row, in the inputs' floating dtype.

    Raises
    ------
    ValueError
        On shapes that differ or are not (n, 4), non-positive widths or heights (a
        log of zero), or non-positive weights.
    TypeError
        When one argument is a tensor and the other is not.

    References
    ----------
    R. Girshick, J. Donahue, T. Darrell, J. Malik, "Rich feature hierarchies for
    accurate object detection and semantic segmentation", CVPR 2014, Appendix C.
    H. Dai, "Note on Machine Learning" (preprint), Examples 52–54.
    """
    wx, wy, ww, wh = _coding_weights(weights)
    tensor = _is_tensor(reference)
    ref = _columns(reference, "reference", tensor)
    box = _columns(boxes, "boxes", tensor)
    if tuple(ref.shape) != tuple(box.shape):
        raise ValueError(f"reference and boxes must have the same shape, got "
                         f"{tuple(ref.shape)} and {tuple(box.shape)}.")
    log = _torch().log if tensor else np.log
    wa, ha = ref[:, 2] - ref[:, 0], ref[:, 3] - ref[:, 1]
    w, h = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    for v, name in ((wa, "reference"), (ha, "reference"), (w, "boxes"), (h, "boxes")):
        if not bool((v > 0).all()):
            raise ValueError(f"{name} must have positive widths and heights "
                             f"(finite coordinates).")
    cxa, cya = ref[:, 0] + 0.5 * wa, ref[:, 1] + 0.5 * ha
    cx, cy = box[:, 0] + 0.5 * w, box[:, 1] + 0.5 * h
    cols = [wx * (cx - cxa) / wa, wy * (cy - cya) / ha, ww * log(w / wa), wh * log(h / ha)]
    return _torch().stack(cols, dim=1) if tensor else np.stack(cols, axis=1)


def decode_boxes(reference, deltas, weights=(1.0, 1.0, 1.0, 1.0)):
    """Boxes from regression deltas relative to ``reference`` boxes (inverse of
    :func:`encode_boxes`).

    ``dw`` and ``dh`` (after division by their weights) are clamped at
    ``log(1000 / 16)``, as torchvision does, so that ``exp`` cannot overflow.

    Parameters
    ----------
    reference : ndarray or torch.Tensor of shape (n, 4)
        Anchors or proposals ``(x1, y1, x2, y2)``.
    deltas : ndarray or torch.Tensor of shape (n, 4)
        ``(dx, dy, dw, dh)`` per row, the same kind as ``reference``.
    weights : (float, float, float, float), default=(1.0, 1.0, 1.0, 1.0)
        The weights given to :func:`encode_boxes`.

    Returns
    -------
    boxes : ndarray or torch.Tensor of shape (n, 4)
        ``(x1, y1, x2, y2)``; differentiable with respect to ``deltas`` for tensors.

    Raises
    ------
    ValueError
        On shapes that differ or are not (n, 4), or non-positive weights.
    TypeError
        When one argument is a tensor and the other is not.

    References
    ----------
    R. Girshick, "Fast R-CNN", ICCV 2015. H. Dai, "Note on Machine Learning"
    (preprint), Examples 52–54.
    """
    wx, wy, ww, wh = _coding_weights(weights)
    tensor = _is_tensor(reference)
    ref = _columns(reference, "reference", tensor)
    d = _columns(deltas, "deltas", tensor)
    if tuple(ref.shape) != tuple(d.shape):
        raise ValueError(f"reference and deltas must have the same shape, got "
                         f"{tuple(ref.shape)} and {tuple(d.shape)}.")
    if tensor:
        torch = _torch()
        exp, stack = torch.exp, torch.stack
        d = d.to(ref.dtype) if ref.dtype != d.dtype and d.is_floating_point() else d

        def clamp(v):
            return v.clamp(max=BBOX_XFORM_CLIP)
    else:
        exp, stack = np.exp, np.stack

        def clamp(v):
            return np.minimum(v, BBOX_XFORM_CLIP)
    wa, ha = ref[:, 2] - ref[:, 0], ref[:, 3] - ref[:, 1]
    cxa, cya = ref[:, 0] + 0.5 * wa, ref[:, 1] + 0.5 * ha
    cx = d[:, 0] / wx * wa + cxa
    cy = d[:, 1] / wy * ha + cya
    w = exp(clamp(d[:, 2] / ww)) * wa
    h = exp(clamp(d[:, 3] / wh)) * ha
    cols = [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h]
    return stack(cols, dim=1) if tensor else stack(cols, axis=1)


# --------------------------------------------------------------------------- RoI ops

def _check_features(features):
    torch = _torch()
    if not isinstance(features, torch.Tensor):
        raise TypeError("features must be a torch tensor of shape (N, C, H, W).")
    if features.ndim != 4:
        raise ValueError(f"features must have shape (N, C, H, W), got "
                         f"{tuple(features.shape)}.")
    if not features.is_floating_point():
        raise TypeError(f"features must be floating point, got {features.dtype}.")
    return torch


def _check_rois(rois, features):
    """``rois`` as a (K, 5) tensor of the features' dtype and device."""
    torch = _torch()
    if isinstance(rois, (list, tuple)):
        if len(rois) != features.shape[0]:
            raise ValueError(f"rois given as a list need one (k_i, 4) tensor per image "
                             f"({features.shape[0]}), got {len(rois)}.")
        parts = []
        for i, r in enumerate(rois):
            r = torch.as_tensor(r)
            if r.ndim != 2 or r.shape[-1] != 4:
                raise ValueError(f"rois[{i}] must have shape (k, 4), got "
                                 f"{tuple(r.shape)}.")
            r = r.to(device=features.device, dtype=features.dtype)
            parts.append(torch.cat([torch.full_like(r[:, :1], i), r], dim=1))
        rois = torch.cat(parts) if parts else features.new_zeros((0, 5))
    else:
        if not isinstance(rois, torch.Tensor):
            rois = torch.as_tensor(np.asarray(rois, dtype=np.float64))
        if rois.ndim != 2 or rois.shape[-1] != 5:
            raise ValueError(f"rois must have shape (K, 5) (batch_index, x1, y1, x2, y2)"
                             f" or be a list of (k_i, 4) tensors, got "
                             f"{tuple(rois.shape)}.")
        rois = rois.to(device=features.device, dtype=features.dtype)
    rois = rois.detach()
    if not bool(torch.isfinite(rois).all()):
        raise ValueError("rois must be finite.")
    b = rois[:, 0]
    if bool(((b != b.round()) | (b < 0) | (b >= features.shape[0])).any()):
        raise ValueError(f"rois' batch indices must be integers in [0, "
                         f"{features.shape[0] - 1}].")
    return rois


def _output_size(output_size):
    return _pair(output_size, "output_size", integer=True)


def _by_image(features, rois, fn, out_shape):
    """Apply ``fn(feature_map (C, H, W), rows)`` to the rois of each image (one call
    per image holding rois; vectorised over that image's rois)."""
    torch = _torch()
    out = features.new_zeros(out_shape)
    if rois.shape[0] == 0:
        return out
    batch = rois[:, 0].long()
    pieces, index = [], []
    for b in torch.unique(batch).tolist():
        rows = torch.nonzero(batch == b).flatten()
        pieces.append(fn(features[b], rois[rows]))
        index.append(rows)
    if len(pieces) == 1:
        # Keep the rois' order (rows is sorted; scatter back).
        return out.index_copy(0, index[0], pieces[0])
    return out.index_copy(0, torch.cat(index), torch.cat(pieces))


def _align_weights(start, bin_size, grid, n_out, size, n_samples):
    """Per roi and output bin, the averaged bilinear weight of every input row (or
    column): shape (K, n_out, size). The samples of bin ``p`` sit at ``start + p *
    bin + (i + 0.5) * bin / grid`` for ``i < grid``; as in torchvision, a sample
    outside [-1, size] weighs nothing, one in [-1, 0] is read at 0, and one past the
    last row reads the last row."""
    torch = _torch()
    K = start.shape[0]
    dev, dt = start.device, start.dtype
    p = torch.arange(n_out, device=dev, dtype=dt)
    step = bin_size / grid.clamp(min=1)                                  # (K,)
    # Samples that can land in [-1, size] form one run; start a window of
    # n_samples at its first index so huge rois do not need all their samples.
    first = torch.floor((-1.0 - start[:, None] - p[None, :] * bin_size[:, None])
                        / step[:, None] - 0.5) - 1.0
    first = torch.where(step[:, None] > 0, first, torch.zeros_like(first))
    first = torch.nan_to_num(first, nan=0.0, posinf=0.0).clamp(min=0)   # (K, n_out)
    i = first[:, :, None] + torch.arange(n_samples, device=dev, dtype=dt)
    y = start[:, None, None] + p[None, :, None] * bin_size[:, None, None] \
        + (i + 0.5) * step[:, None, None]
    valid = (i < grid[:, None, None]) & (y >= -1.0) & (y <= size)
    y = torch.where(valid, y, torch.zeros_like(y)).clamp(min=0)
    low = torch.floor(y).clamp(max=size - 1)
    at_end = low >= size - 1
    y = torch.where(at_end, low, y)
    frac = y - low
    low_i = low.long()
    high_i = torch.where(at_end, low_i, low_i + 1)
    w_low = torch.where(valid, 1.0 - frac, torch.zeros_like(frac))
    w_high = torch.where(valid, frac, torch.zeros_like(frac))
    weights = torch.zeros(K, n_out, size, device=dev, dtype=dt)
    weights.scatter_add_(2, low_i.view(K, n_out, -1), w_low)
    weights.scatter_add_(2, high_i.view(K, n_out, -1), w_high)
    return weights / grid.clamp(min=1)[:, None, None]


def roi_align(features, rois, output_size, spatial_scale=1.0, sampling_ratio=-1,
              aligned=True):
    """RoI Align: bilinear sampling of feature-map regions onto a fixed grid.

    Each region is cut into ``out_h x out_w`` bins; each bin averages the bilinearly
    interpolated features at a regular grid of ``sampling_ratio x sampling_ratio``
    points (``ceil(roi_h / out_h) x ceil(roi_w / out_w)`` when ``sampling_ratio <=
    0``). The semantics are torchvision's ``roi_align`` exactly (points outside
    ``[-1, H] x [-1, W]`` count as zero, points in ``[-1, 0]`` read the border).
    Bilinear weights factor into a row part and a column part, so each bin is
    ``Ay @ F @ Ax^T`` with per-roi weight matrices: the op is vectorised over the
    regions (one call per image that holds regions) and differentiable with respect to
    ``features``.

    Parameters
    ----------
    features : torch.Tensor of shape (N, C, H, W)
        Feature maps, floating point.
    rois : torch.Tensor of shape (K, 5) or list of N tensors of shape (k_i, 4)
        Regions ``(batch_index, x1, y1, x2, y2)`` in image coordinates (or one
        ``(x1, y1, x2, y2)`` tensor per image).
    output_size : int or (int, int)
        ``(out_h, out_w)``.
    spatial_scale : float, default=1.0
        Feature-map cells per image pixel (1 / the backbone's stride).
    sampling_ratio : int, default=-1
        Sampling points per bin along each axis; ``<= 0``: adaptive, as above.
    aligned : bool, default=True
        Shift the region by -0.5 feature cells so that sample positions refer to
        pixel centres (Detectron2 / torchvision ``aligned=True``); False is the
        original Mask R-CNN rule, which also makes regions at least one cell wide.

%(pooled_returns_raises)s

    References
    ----------
    K. He, G. Gkioxari, P. Dollár, R. Girshick, "Mask R-CNN", ICCV 2017.
    H. Dai, "Note on Machine Learning" (preprint), §3.5.6.
    """
    torch = _check_features(features)
    out_h, out_w = _output_size(output_size)
    check_param(spatial_scale, "spatial_scale", types=(numbers.Real,), min_val=0.0,
                closed="neither")
    check_param(sampling_ratio, "sampling_ratio", types=(numbers.Integral,))
    check_param(aligned, "aligned", types=(bool, np.bool_))
    rois = _check_rois(rois, features)
    N, C, H, W = features.shape
    offset = 0.5 if aligned else 0.0
    scaled = rois[:, 1:] * spatial_scale - offset
    x1, y1, x2, y2 = scaled.unbind(1)
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_h, bin_w = roi_h / out_h, roi_w / out_w
    if sampling_ratio > 0:
        grid_h = torch.full_like(bin_h, float(sampling_ratio))
        grid_w = torch.full_like(bin_w, float(sampling_ratio))
    else:
        grid_h, grid_w = torch.ceil(bin_h), torch.ceil(bin_w)
    K = rois.shape[0]
    if K == 0 or H == 0 or W == 0:
        return features.new_zeros((K, C, out_h, out_w))

    def n_samples(grid, bin_size, size):
        # Beyond the window a bin's samples lie outside [-1, size]; the window covers
        # that range with its spacing (bin / grid >= 1/2 once grid = ceil(bin) > 1).
        step = bin_size / grid.clamp(min=1)
        need = torch.minimum(grid, torch.ceil((size + 1.0) / step.clamp(min=1e-300)) + 4)
        return max(int(need.max().item()), 1)

    ny = n_samples(grid_h, bin_h, H)
    nx = n_samples(grid_w, bin_w, W)
    with torch.no_grad():
        ay = _align_weights(y1, bin_h, grid_h, out_h, H, ny)            # (K, out_h, H)
        ax = _align_weights(x1, bin_w, grid_w, out_w, W, nx)            # (K, out_w, W)
    ay, ax = ay.to(features.dtype), ax.to(features.dtype)
    local = torch.cat([rois[:, :1], torch.arange(K, device=rois.device,
                                                 dtype=rois.dtype)[:, None]], dim=1)

    def pool(fmap, rows):
        r = rows[:, 1].long()
        t = torch.einsum("kph,chw->kcpw", ay[r], fmap)
        return torch.einsum("kcpw,kqw->kcpq", t, ax[r])

    return _by_image(features, local, pool, (K, C, out_h, out_w))


def _round_half_away(x):
    torch = _torch()
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def roi_pool(features, rois, output_size, spatial_scale=1.0):
    """RoI max pooling (Fast R-CNN): the maximum of each of ``out_h x out_w`` bins.

    The semantics are torchvision's ``roi_pool`` (and the original Caffe layer): the
    region's corners are rounded to feature cells (halves away from zero), the region
    spans ``round(x2) - round(x1) + 1`` cells (inclusive end), bin ``p`` covers cells
    ``[floor(p * bin), ceil((p + 1) * bin))`` from the region's start, clipped to the
    map; an empty bin gives 0. Vectorised over the regions (one call per image that
    holds regions), differentiable with respect to ``features`` (the gradient goes to
    each bin's maximum).

    Parameters
    ----------
    features : torch.Tensor of shape (N, C, H, W)
        Feature maps, floating point.
    rois : torch.Tensor of shape (K, 5) or list of N tensors of shape (k_i, 4)
        Regions ``(batch_index, x1, y1, x2, y2)`` in image coordinates.
    output_size : int or (int, int)
        ``(out_h, out_w)``.
    spatial_scale : float, default=1.0
        Feature-map cells per image pixel.

%(pooled_returns_raises)s

    References
    ----------
    R. Girshick, "Fast R-CNN", ICCV 2015. H. Dai, "Note on Machine Learning"
    (preprint), Example 52 and its footnote on RoI pooling.
    """
    torch = _check_features(features)
    out_h, out_w = _output_size(output_size)
    check_param(spatial_scale, "spatial_scale", types=(numbers.Real,), min_val=0.0,
                closed="neither")
    rois = _check_rois(rois, features)
    N, C, H, W = features.shape
    K = rois.shape[0]
    if K == 0 or H == 0 or W == 0:
        return features.new_zeros((K, C, out_h, out_w))
    with torch.no_grad():
        r = _round_half_away(rois[:, 1:].double() * spatial_scale)
        x1, y1, x2, y2 = r.unbind(1)
        roi_w = (x2 - x1 + 1).clamp(min=1)
        roi_h = (y2 - y1 + 1).clamp(min=1)

        def bins(start, length, n_out, size):
            p = torch.arange(n_out, device=start.device, dtype=start.dtype)
            bin_size = length[:, None] / n_out
            lo = torch.floor(p * bin_size) + start[:, None]
            hi = torch.ceil((p + 1) * bin_size) + start[:, None]
            lo = lo.clamp(0, size).long()
            hi = hi.clamp(0, size).long()
            return lo, hi                                               # (K, n_out)

        hlo, hhi = bins(y1, roi_h, out_h, H)
        wlo, whi = bins(x1, roi_w, out_w, W)
        lh = max(int((hhi - hlo).max().item()), 1)
        lw = max(int((whi - wlo).max().item()), 1)
        hidx = hlo[:, :, None] + torch.arange(lh, device=hlo.device)
        hmask = hidx < hhi[:, :, None]
        hidx = hidx.clamp(max=H - 1)
        widx = wlo[:, :, None] + torch.arange(lw, device=wlo.device)
        wmask = widx < whi[:, :, None]
        widx = widx.clamp(max=W - 1)
        empty = ((hhi <= hlo)[:, :, None] | (whi <= wlo)[:, None, :])  # (K, oh, ow)
    local = torch.cat([rois[:, :1], torch.arange(K, device=rois.device,
                                                 dtype=rois.dtype)[:, None]], dim=1)
    neg = torch.tensor(-float("inf"), dtype=features.dtype, device=features.device)

    # The gather below holds C * out_h * lh * W values per region: bound the memory by
    # pooling the regions of an image in chunks.
    chunk = max(1, _POOL_BUDGET // max(C * out_h * lh * max(W, out_w * lw), 1))

    def pool(fmap, rows):
        if len(rows) > chunk:
            return torch.cat([pool_chunk(fmap, rows[i:i + chunk])
                              for i in range(0, len(rows), chunk)])
        return pool_chunk(fmap, rows)

    def pool_chunk(fmap, rows):
        k = rows[:, 1].long()
        # Max over the rows of each bin: (C, k, out_h, lh, W) -> (C, k, out_h, W).
        g = fmap[:, hidx[k]]
        g = torch.where(hmask[k][None, :, :, :, None], g, neg).max(dim=3).values
        # Then over its columns: gather (C, k, out_h, out_w * lw).
        idx = widx[k].reshape(len(k), 1, -1).expand(len(k), out_h, -1)
        g = torch.gather(g, 3, idx[None].expand(C, -1, -1, -1))
        g = g.reshape(C, len(k), out_h, out_w, lw)
        g = torch.where(wmask[k][None, :, None, :, :], g, neg).max(dim=4).values
        g = torch.where(empty[k][None], torch.zeros_like(g), g)
        return g.permute(1, 0, 2, 3)

    return _by_image(features, local, pool, (K, C, out_h, out_w))


# the Returns and Raises sections of roi_align and roi_pool
_POOLED_RETURNS_RAISES = """\
    Returns
    -------
    pooled : torch.Tensor of shape (K, C, out_h, out_w)

    Raises
    ------
    ValueError
        On wrongly shaped inputs, non-finite regions, batch indices out of range, or a
        non-positive ``output_size``/``spatial_scale``.
    TypeError
        On non-tensor or non-floating features."""
for _op in (roi_align, roi_pool):
    if _op.__doc__:  # None under python -OO
        _op.__doc__ = _op.__doc__.replace("%(pooled_returns_raises)s",
                                          _POOLED_RETURNS_RAISES)
