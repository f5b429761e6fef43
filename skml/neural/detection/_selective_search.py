"""Selective search (Uijlings et al., 2013): region proposals from the hierarchical
grouping of a graph-based over-segmentation.

The over-segmentation is Felzenszwalb and Huttenlocher's (the Cython kernel
``skml/_kernels/_segment.pyx``); the grouping, in NumPy, greedily merges the most
similar pair of adjacent regions (colour, texture, size and fill similarities) until
one region is left, and every region of the hierarchy proposes its bounding box.
"""
import heapq
import numbers

import numpy as np
from scipy import ndimage
from sklearn.utils import check_random_state

from skml.utils import check_param

__all__ = ["selective_search"]

COLOUR_SPACES = ("rgb", "hsv", "lab")
_COLOUR_BINS = 25
_TEXTURE_BINS = 10
_ORIENTATIONS = 8

# Named diversification strategies: (colour space, similarities) pairs, where the
# similarities are a subset of "c" (colour), "t" (texture), "s" (size), "f" (fill).
STRATEGIES = {
    "single": (("hsv", "ctsf"),),
    "fast": (("hsv", "ctsf"), ("hsv", "tsf"), ("lab", "ctsf"), ("lab", "tsf")),
    "quality": tuple((space, sims) for space in COLOUR_SPACES
                     for sims in ("ctsf", "tsf", "f", "s")),
}


def _as_image(image):
    """``image`` as float64 (H, W, 3) in [0, 1]."""
    if type(image).__module__.startswith("torch"):
        image = image.detach().cpu().numpy()
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float64) / 255.0
    elif arr.dtype in (np.float16, np.float32, np.float64):
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise ValueError("image must be finite (no NaN or infinity).")
        if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
            raise ValueError("a floating-point image must have values in [0, 1]; "
                             f"got values in [{arr.min()}, {arr.max()}].")
    else:
        raise TypeError(f"image must be uint8 (0..255) or floating point in [0, 1], "
                        f"got dtype {arr.dtype}.")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    elif arr.ndim == 3 and arr.shape[-1] not in (1, 3) and arr.shape[0] in (1, 3):
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3):
        raise ValueError(f"image must have shape (H, W, 3) or (3, H, W) (or a grey "
                         f"(H, W), (H, W, 1) or (1, H, W)), got {np.shape(image)}.")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"image must have at least one pixel, got {np.shape(image)}.")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return np.ascontiguousarray(arr)


def _rgb_to_lab(rgb):
    """CIE L*a*b* (D65) of sRGB in [0, 1], scaled to [0, 1] per channel."""
    lin = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    eps = (6 / 29) ** 3
    f = np.where(xyz > eps, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    L = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    out = np.stack([L / 100, (a + 128) / 255, (b + 128) / 255], axis=-1)
    return np.clip(out, 0.0, 1.0)


def _rgb_to_hsv(rgb):
    """Hue, saturation, value of RGB in [0, 1], each in [0, 1]."""
    v = rgb.max(axis=-1)
    delta = v - rgb.min(axis=-1)
    safe = np.where(delta > 0, delta, 1.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    h = np.where(v == r, (g - b) / safe, np.where(v == g, 2.0 + (b - r) / safe,
                                                  4.0 + (r - g) / safe))
    h = np.where(delta > 0, (h / 6.0) % 1.0, 0.0)
    sat = np.where(v > 0, delta / np.where(v > 0, v, 1.0), 0.0)
    return np.stack([h, sat, v], axis=-1)


def _convert(rgb, space):
    if space == "rgb":
        return rgb
    if space == "hsv":
        return _rgb_to_hsv(rgb)
    return _rgb_to_lab(rgb)


def _region_features(img, labels, n):
    """Sizes, boxes, L1-normalised colour and texture histograms of each region."""
    H, W, C = img.shape
    flat = labels.ravel()
    size = np.bincount(flat, minlength=n).astype(np.float64)
    boxes = np.empty((n, 4))
    for r, sl in enumerate(ndimage.find_objects(labels + 1)):
        boxes[r] = (sl[1].start, sl[0].start, sl[1].stop, sl[0].stop)
    # Colour: 25 bins per channel.
    cbin = np.minimum((img * _COLOUR_BINS).astype(np.intp), _COLOUR_BINS - 1)
    cidx = (flat[:, None] * C + np.arange(C)) * _COLOUR_BINS + cbin.reshape(-1, C)
    colour = np.bincount(cidx.ravel(), minlength=n * C * _COLOUR_BINS)
    colour = colour.reshape(n, -1).astype(np.float64)
    # Texture: Gaussian derivatives (sigma 1) in 8 orientations per channel,
    # half-wave rectified so that opposite orientations differ; 10 bins each.
    theta = np.arange(_ORIENTATIONS) * (2 * np.pi / _ORIENTATIONS)
    tidx = []
    for c in range(C):
        gy = ndimage.gaussian_filter(img[:, :, c], 1.0, order=(1, 0))
        gx = ndimage.gaussian_filter(img[:, :, c], 1.0, order=(0, 1))
        resp = np.maximum(gx.ravel()[:, None] * np.cos(theta)
                          + gy.ravel()[:, None] * np.sin(theta), 0.0)
        top = resp.max()
        tb = np.minimum((resp * (_TEXTURE_BINS / top if top > 0 else 0.0))
                        .astype(np.intp), _TEXTURE_BINS - 1)
        tidx.append(((flat[:, None] * C + c) * _ORIENTATIONS + np.arange(_ORIENTATIONS))
                    * _TEXTURE_BINS + tb)
    texture = np.bincount(np.concatenate(tidx, axis=1).ravel(),
                          minlength=n * C * _ORIENTATIONS * _TEXTURE_BINS)
    texture = texture.reshape(n, -1).astype(np.float64)
    colour /= colour.sum(axis=1, keepdims=True)
    texture /= texture.sum(axis=1, keepdims=True)
    return size, boxes, colour, texture


def _adjacent_pairs(labels):
    """Unique (i, j), i < j, of regions touching in the 8-neighbourhood."""
    pairs = []
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :]),
                 (labels[:-1, :-1], labels[1:, 1:]), (labels[1:, :-1], labels[:-1, 1:])):
        m = a != b
        pairs.append(np.stack([np.minimum(a[m], b[m]), np.maximum(a[m], b[m])], axis=1))
    pairs = np.concatenate(pairs).astype(np.int64)
    n = int(labels.max()) + 1
    key = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([key // n, key % n], axis=1)


def _group(labels, features, sims):
    """Hierarchical grouping; returns the boxes of every region of the hierarchy, the
    initial regions first, then one per merge in merge order."""
    from_labels = int(labels.max()) + 1
    size, boxes, colour, texture = features
    total = 2 * from_labels - 1
    image_area = float(labels.size)
    size = np.concatenate([size, np.zeros(total - from_labels)])
    boxes = np.concatenate([boxes, np.zeros((total - from_labels, 4))])
    colour = np.concatenate([colour, np.zeros((total - from_labels, colour.shape[1]))])
    texture = np.concatenate([texture, np.zeros((total - from_labels, texture.shape[1]))])
    use_c, use_t, use_s, use_f = ("c" in sims), ("t" in sims), ("s" in sims), ("f" in sims)

    def similarity(i, js):
        s = np.zeros(len(js))
        if use_c:
            s += np.minimum(colour[i], colour[js]).sum(axis=1)
        if use_t:
            s += np.minimum(texture[i], texture[js]).sum(axis=1)
        if use_s:
            s += 1.0 - (size[i] + size[js]) / image_area
        if use_f:
            bx = (np.maximum(boxes[i, 2], boxes[js, 2]) - np.minimum(boxes[i, 0], boxes[js, 0])) \
                * (np.maximum(boxes[i, 3], boxes[js, 3]) - np.minimum(boxes[i, 1], boxes[js, 1]))
            s += 1.0 - (bx - size[i] - size[js]) / image_area
        return s

    neighbours = [set() for _ in range(total)]
    heap = []
    pairs = _adjacent_pairs(labels)
    for i, j in pairs:
        neighbours[i].add(int(j))
        neighbours[j].add(int(i))
    if len(pairs):
        # Initial similarities, vectorised per left region.
        order = np.argsort(pairs[:, 0], kind="stable")
        pairs = pairs[order]
        cuts = np.flatnonzero(np.diff(pairs[:, 0])) + 1
        for chunk in np.split(pairs, cuts):
            i = int(chunk[0, 0])
            for j, s in zip(chunk[:, 1].tolist(), similarity(i, chunk[:, 1]).tolist()):
                heap.append((-s, i, j))
    heapq.heapify(heap)
    alive = np.zeros(total, dtype=bool)
    alive[:from_labels] = True
    t = from_labels
    while heap:
        _, i, j = heapq.heappop(heap)
        if not (alive[i] and alive[j]):
            continue
        alive[i] = alive[j] = False
        size[t] = size[i] + size[j]
        boxes[t] = (min(boxes[i, 0], boxes[j, 0]), min(boxes[i, 1], boxes[j, 1]),
                    max(boxes[i, 2], boxes[j, 2]), max(boxes[i, 3], boxes[j, 3]))
        colour[t] = (size[i] * colour[i] + size[j] * colour[j]) / size[t]
        texture[t] = (size[i] * texture[i] + size[j] * texture[j]) / size[t]
        nbs = (neighbours[i] | neighbours[j]) - {i, j}
        for k in nbs:
            neighbours[k].discard(i)
            neighbours[k].discard(j)
            neighbours[k].add(t)
        neighbours[t] = nbs
        alive[t] = True
        if nbs:
            js = np.fromiter(sorted(nbs), dtype=np.intp)
            for k, s in zip(js.tolist(), similarity(t, js).tolist()):
                heapq.heappush(heap, (-s, k, t))
        t += 1
    return boxes[:t]


def _check_strategies(strategies):
    if isinstance(strategies, str):
        if strategies not in STRATEGIES:
            raise ValueError(f"strategies must be one of {sorted(STRATEGIES)} or a "
                             f"sequence of (colour_space, similarities) pairs, got "
                             f"{strategies!r}.")
        return STRATEGIES[strategies]
    try:
        out = [tuple(s) for s in strategies]
    except TypeError:
        raise TypeError(f"strategies must be a name or a sequence of (colour_space, "
                        f"similarities) pairs, got {strategies!r}.") from None
    if not out:
        raise ValueError("strategies must not be empty.")
    for s in out:
        if len(s) != 2 or s[0] not in COLOUR_SPACES or not isinstance(s[1], str) \
                or not s[1] or set(s[1]) - set("ctsf"):
            raise ValueError(f"each strategy must be (colour_space in {COLOUR_SPACES}, "
                             f"a non-empty string of similarities from 'ctsf'), got {s!r}.")
    return tuple(out)


def selective_search(image, scale=1.0, sigma=0.8, min_size=50, *, strategies="fast",
                     random_state=None):
    """Region proposals by selective search.

    For each strategy (a colour space and a set of similarities): the image, converted
    to the colour space and smoothed by a Gaussian of width ``sigma``, is
    over-segmented by Felzenszwalb and Huttenlocher's graph-based method (8-neighbour
    grid graph, Euclidean colour distances in 0..255 units, merge threshold
    ``Int(C) + scale / |C|``, then components smaller than ``min_size`` pixels merged
    into a neighbour); adjacent regions are then merged greedily, most similar pair
    first, until one region is left, the similarity being the sum of the chosen
    ones among colour (intersection of 25-bin colour histograms per channel), texture
    (intersection of 10-bin histograms of rectified Gaussian derivatives, sigma 1, in
    8 orientations per channel), size (``1 - (|ri| + |rj|) / |image|``) and fill
    (``1 - (|BB_ij| - |ri| - |rj|) / |image|``). Every region of every hierarchy
    proposes its bounding box. Boxes are ranked as in Uijlings et al.: a region's
    rank in its hierarchy (1 for the whole image, growing towards the initial
    regions) times a uniform random number, ascending, over all strategies
    together; duplicates keep their best rank.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3) or (3, H, W)
        An RGB image: uint8 in 0..255 or floating point in [0, 1]. Channels last
        when the last axis has 3 (or 1) entries, else channels first. Grey images
        ((H, W), (H, W, 1), (1, H, W)) are treated as RGB with equal channels.
        A torch tensor is accepted (copied to the CPU).
    scale : float, default=1.0
        Felzenszwalb's ``k``, in 0..255 colour units (scikit-image's ``scale``):
        larger values give larger initial regions.
    sigma : float in [0, 1000], default=0.8
        Width (pixels) of the Gaussian smoothing before segmentation; 0: none.
    min_size : int, default=50
        Smallest initial region, in pixels.
    strategies : {"fast", "single", "quality"} or sequence of (str, str), default="fast"
        The diversification: pairs ``(colour_space, similarities)`` with
        ``colour_space`` in ``{"rgb", "hsv", "lab"}`` and ``similarities`` a string of
        ``"c"``, ``"t"``, ``"s"``, ``"f"``. ``"single"``: HSV with all four;
        ``"fast"`` (Uijlings' fast mode at one scale): HSV and Lab, each with
        ``"ctsf"`` and ``"tsf"``; ``"quality"``: RGB, HSV and Lab, each with
        ``"ctsf"``, ``"tsf"``, ``"f"`` and ``"s"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the random factor of the ranking.

    Returns
    -------
    boxes : ndarray of shape (k, 4), dtype float64
        Proposals ``(x1, y1, x2, y2)`` in pixel-edge coordinates (integer values:
        ``x1`` the first column of the region, ``x2`` one past the last), best
        ranked first, without duplicates. Keep the first few hundred.

    Raises
    ------
    ValueError
        On an image of another shape, without pixels, with NaN or infinity, or a
        floating image outside [0, 1]; on negative ``scale``/``sigma``/``min_size``
        or unknown strategies.
    TypeError
        On an image of another dtype (e.g. int64 or bool) or parameters of the wrong
        type.

    References
    ----------
    J. R. R. Uijlings, K. E. A. van de Sande, T. Gevers, A. W. M. Smeulders,
    "Selective search for object recognition", IJCV 104, 2013.
    P. F. Felzenszwalb, D. P. Huttenlocher, "Efficient graph-based image
    segmentation", IJCV 59, 2004.
    H. Dai, "Note on Machine Learning" (preprint), Definition 3.98, Example 51.

    Examples
    --------
    >>> from skml.datasets import make_shapes
    >>> from skml.neural.detection import selective_search
    >>> images, targets = make_shapes(1, task="detection", image_size=48, random_state=0)
    >>> boxes = selective_search(images[0], random_state=0)
    >>> boxes.shape[1]
    4
    """
    from skml._kernels._segment import felzenszwalb

    check_param(scale, "scale", types=(numbers.Real,), min_val=0.0, max_val=1e300)
    check_param(sigma, "sigma", types=(numbers.Real,), min_val=0.0, max_val=1e3)
    check_param(min_size, "min_size", types=(numbers.Integral,), min_val=0,
                max_val=2**62)
    plan = _check_strategies(strategies)
    rgb = _as_image(image)
    rng = check_random_state(random_state)
    all_boxes, all_keys = [], []
    segmented = {}
    for space, sims in plan:
        if space not in segmented:
            # The segmentation and the region features depend only on the colour space:
            # strategies that share it share them.
            img = _convert(rgb, space)
            smooth = ndimage.gaussian_filter(img * 255.0, (sigma, sigma, 0)) \
                if sigma > 0 else img * 255.0
            labels = felzenszwalb(np.ascontiguousarray(smooth), float(scale),
                                  int(min_size))
            segmented[space] = labels, _region_features(img, labels,
                                                        int(labels.max()) + 1)
        labels, features = segmented[space]
        boxes = _group(labels, features, sims)
        level = np.arange(len(boxes), 0, -1, dtype=np.float64)
        all_boxes.append(boxes)
        all_keys.append(level * rng.uniform(size=len(boxes)))
    boxes = np.concatenate(all_boxes)
    keys = np.concatenate(all_keys)
    order = np.argsort(keys, kind="stable")
    boxes = boxes[order]
    # De-duplicate on one integer key per box (coordinates are integers in [0, W] and
    # [0, H]): much faster than np.unique(axis=0).
    H, W = rgb.shape[:2]
    if (H + 1.0) ** 2 * (W + 1.0) ** 2 < 2.0 ** 62:
        b = boxes.astype(np.int64)
        key = ((b[:, 0] * (H + 1) + b[:, 1]) * (W + 1) + b[:, 2]) * (H + 1) + b[:, 3]
        _, first = np.unique(key, return_index=True)
    else:
        _, first = np.unique(boxes, axis=0, return_index=True)
    return boxes[np.sort(first)]
