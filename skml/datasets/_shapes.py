"""``make_shapes``: circles, squares and triangles on textured backgrounds."""
import numbers

import numpy as np
from scipy.ndimage import zoom
from sklearn.utils import check_random_state

from skml.utils import check_param

__all__ = ["SHAPE_NAMES", "make_shapes"]

#: The object classes, by label: ``SHAPE_NAMES[label]``.
SHAPE_NAMES = ("circle", "square", "triangle")
TASKS = ("classification", "segmentation", "detection")

_MAX_TRIES = 100  # placements tried per object before it is left out
_MIN_CONTRAST = 0.3  # least |object level - background level under it|
_MAX_HIDDEN = 0.5  # an object may hide at most this share of an earlier one's pixels
_MIN_PIXELS = 4  # least pixels of a drawn shape
_MIN_RADIUS = 2.5  # pixels


def make_shapes(n_samples=100, *, task="classification", image_size=32, n_channels=3,
                max_objects=5, object_size=(0.25, 0.5), max_overlap=0.0, noise=0.05,
                random_state=None):
    """Images of circles, squares and triangles on textured backgrounds.

    Each image has a background made of a random level per channel, a smooth random
    field and faint stripes, and one or more objects: a circle, a square or a
    triangle (label 0, 1 or 2, see :data:`SHAPE_NAMES`), the square and the triangle
    (equilateral) rotated by a random angle. An object is filled with a colour whose
    mean level differs from that of the background under it by at least 0.3, plus a
    fine texture; Gaussian pixel noise covers the whole image. A pixel belongs to a
    shape when its centre lies inside it, so the shapes have hard edges and their
    masks and boxes are exact.

    Parameters
    ----------
    n_samples : int, default=100
        Number of images.
    task : {"classification", "segmentation", "detection"}, default="classification"
        What to return with the images: one label per image (each image then holds
        exactly one object), a label mask per image, or a list of boxes and labels per
        image.
    image_size : int or (int, int), default=32
        Height and width of the images in pixels (an int: square images), at least 8.
    n_channels : int, default=3
        Channels of the images (3: colour, 1: grey levels).
    max_objects : int, default=5
        For segmentation and detection, each image holds between 1 and ``max_objects``
        objects (the number is uniform in that range; an object that cannot be placed
        within the overlap limit after 100 tries is left out, never the first). Not
        used for classification (one object per image).
    object_size : (float, float), default=(0.25, 0.5)
        Range of the diameter of the circle around each object (a circle's own
        diameter, the square's diagonal, the triangle's circumcircle), as fractions of
        the smaller image side; the diameter is uniform in that range, and at least 5
        pixels. Each object lies wholly inside its image.
    max_overlap : float, default=0.0
        Largest intersection over union of the boxes of two objects in one image, in
        [0, 0.5]. With the default 0 the boxes (hence the objects) never overlap, so
        every object is fully visible. Above 0, a later object may hide part of an
        earlier one (at most half of its pixels); its box still encloses the whole
        shape, and the masks show the object in front.
    noise : float, default=0.05
        Standard deviation of the Gaussian pixel noise, at least 0.
    random_state : int, RandomState instance or None, default=None
        Seeds everything drawn. The same seed gives the same images whatever the
        ``task``, once ``max_objects`` is the same: classification images are those of
        detection with ``max_objects=1``.

    Returns
    -------
    images : ndarray of shape (n_samples, n_channels, height, width), dtype float32
        Pixel values in [0, 1], channels first (PyTorch's layout).
    labels : ndarray of shape (n_samples,), dtype int64
        For ``task="classification"``: the label of each image's object.
    masks : ndarray of shape (n_samples, height, width), dtype int64
        For ``task="segmentation"``: 0 for the background, ``label + 1`` where an
        object of that label is visible.
    targets : list of dict
        For ``task="detection"``: per image, ``{"boxes": ndarray of shape (k, 4),
        dtype float32, "labels": ndarray of shape (k,), dtype int64}`` for its ``k``
        objects (1 <= k <= ``max_objects``), in drawing order. A box is ``(x1, y1, x2,
        y2)`` in pixel-edge coordinates (pixel ``(row i, column j)`` covers ``[j, j +
        1) x [i, i + 1)``, as torchvision's boxes): the smallest box holding every
        pixel of the shape, so ``x1`` is the first column the shape covers and ``x2``
        one past the last. Widths and heights are at least 1; the boxes of two objects
        of an image have an intersection over union of at most ``max_overlap``.

    Raises
    ------
    ValueError
        On an unknown ``task``, an image smaller than 8 pixels, an ``object_size``
        range outside (0, 1] or reversed, ``max_overlap`` outside [0, 0.5], or other
        out-of-range arguments.
    TypeError
        On arguments of the wrong type.

    See Also
    --------
    skml.neural.FCNSegmenter : Learns the masks.
    skml.neural.CNNClassifier : Learns the labels; :func:`skml.neural.grad_cam`
        localises them.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.5 (classification,
       localisation and detection of objects, Figure 52) and Definition 3.61 (the
       intersection over union).

    Examples
    --------
    >>> from skml.datasets import make_shapes
    >>> X, y = make_shapes(4, image_size=16, random_state=0)
    >>> X.shape, X.dtype, y.shape
    ((4, 3, 16, 16), dtype('float32'), (4,))
    >>> X, targets = make_shapes(2, task="detection", random_state=0)
    >>> sorted(targets[0])
    ['boxes', 'labels']
    """
    check_param(n_samples, "n_samples", types=(numbers.Integral,), min_val=1)
    check_param(task, "task", types=(str,), options=TASKS)
    height, width = _image_size(image_size)
    check_param(n_channels, "n_channels", types=(numbers.Integral,), min_val=1,
                max_val=64)
    check_param(max_objects, "max_objects", types=(numbers.Integral,), min_val=1,
                max_val=64)
    lo, hi = _object_size(object_size)
    check_param(max_overlap, "max_overlap", types=(numbers.Real,), min_val=0.0,
                max_val=0.5)
    check_param(noise, "noise", types=(numbers.Real,), min_val=0.0, max_val=1.0)
    rng = check_random_state(random_state)
    side = min(height, width)
    r_lo = max(_MIN_RADIUS, lo * side / 2)
    r_hi = max(r_lo, hi * side / 2)
    n_max = 1 if task == "classification" else int(max_objects)

    images = np.empty((n_samples, n_channels, height, width), dtype=np.float32)
    masks = np.zeros((n_samples, height, width), dtype=np.int64) \
        if task == "segmentation" else None
    targets = []
    yy, xx = np.mgrid[0:height, 0:width] + 0.5  # pixel centres
    for i in range(n_samples):
        img, objects = _scene(rng, height, width, int(n_channels), n_max, r_lo, r_hi,
                              float(max_overlap), float(noise), xx, yy)
        images[i] = img
        if masks is not None:
            for mask, _, label in objects:  # in drawing order: the last one is in front
                masks[i][mask] = label + 1
        targets.append(objects)
    if task == "classification":
        return images, np.array([objs[0][2] for objs in targets], dtype=np.int64)
    if task == "segmentation":
        return images, masks
    return images, [
        {"boxes": np.array([box for _, box, _ in objs], dtype=np.float32).reshape(-1, 4),
         "labels": np.array([label for _, _, label in objs], dtype=np.int64)}
        for objs in targets]


def _image_size(image_size):
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        height, width = image_size
    except (TypeError, ValueError):
        raise TypeError(
            f"image_size must be an int or a pair of ints, got {image_size!r}.") from None
    for v in (height, width):
        check_param(v, "image_size", types=(numbers.Integral,), min_val=8, max_val=4096)
    return int(height), int(width)


def _object_size(object_size):
    try:
        lo, hi = object_size
    except (TypeError, ValueError):
        raise TypeError(f"object_size must be a pair of floats, got {object_size!r}.") \
            from None
    for v in (lo, hi):
        check_param(v, "object_size", types=(numbers.Real,), min_val=0.0, max_val=1.0,
                    closed="right")
    if lo > hi:
        raise ValueError(f"object_size must be (low, high) with low <= high, got "
                         f"{object_size!r}.")
    return float(lo), float(hi)


def _background(rng, height, width, n_channels, xx, yy):
    """A random level per channel, a smooth random field (a 4x4 grid of Gaussian values
    interpolated bilinearly) and faint stripes of random frequency and direction."""
    level = rng.uniform(0.2, 0.8) + rng.uniform(-0.1, 0.1, n_channels)
    coarse = rng.normal(0.0, 0.08, (n_channels, 4, 4))
    field = zoom(coarse, (1, height / 4, width / 4), order=1, mode="nearest",
                 grid_mode=True)
    freq = rng.uniform(1.5, 4.0) * 2 * np.pi / max(height, width)
    angle, phase = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
    stripes = np.sin(freq * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
    amplitude = rng.uniform(0.02, 0.06, n_channels)
    return level[:, None, None] + field + amplitude[:, None, None] * stripes


def _shape_mask(label, cx, cy, radius, angle, xx, yy):
    """Pixels whose centre lies inside the shape: a circle of ``radius``, or the square
    or equilateral triangle inscribed in that circle, rotated by ``angle``."""
    if label == 0:
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= radius ** 2
    n_vertices = 4 if label == 1 else 3
    t = angle + 2 * np.pi * np.arange(n_vertices) / n_vertices
    vx, vy = cx + radius * np.cos(t), cy + radius * np.sin(t)
    inside = np.ones(xx.shape, dtype=bool)
    for k in range(n_vertices):  # counter-clockwise vertices: left of every edge
        ax, ay = vx[k], vy[k]
        bx, by = vx[(k + 1) % n_vertices], vy[(k + 1) % n_vertices]
        inside &= (bx - ax) * (yy - ay) - (by - ay) * (xx - ax) >= 0
    return inside


def _tight_box(mask):
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))


def _box_iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def _object_level(rng, under):
    """A grey level in [0, 1] at least ``_MIN_CONTRAST`` away from ``under``."""
    below = max(0.0, under - _MIN_CONTRAST)
    above = max(0.0, 1.0 - (under + _MIN_CONTRAST))
    u = rng.uniform(0.0, below + above)
    return u if u < below else under + _MIN_CONTRAST + (u - below)


def _scene(rng, height, width, n_channels, n_max, r_lo, r_hi, max_overlap, noise, xx, yy):
    """One image and its objects ``[(mask, box, label), ...]`` in drawing order."""
    img = _background(rng, height, width, n_channels, xx, yy)
    n_objects = int(rng.randint(1, n_max + 1))
    objects = []
    front = np.full((height, width), -1)  # the object seen at each pixel
    for _ in range(n_objects):
        label = int(rng.randint(len(SHAPE_NAMES)))
        for _ in range(_MAX_TRIES):
            radius = rng.uniform(r_lo, r_hi)
            radius = min(radius, width / 2, height / 2)
            cx, cy = rng.uniform(radius, width - radius), rng.uniform(radius, height - radius)
            mask = _shape_mask(label, cx, cy, radius, rng.uniform(0, 2 * np.pi), xx, yy)
            if mask.sum() < _MIN_PIXELS:
                continue
            box = _tight_box(mask)
            if any(_box_iou(box, other) > max_overlap for _, other, _ in objects):
                continue
            if any(np.count_nonzero(mask & (front == k))
                   > _MAX_HIDDEN * np.count_nonzero(front == k)
                   for k in range(len(objects))):
                continue
            break
        else:
            continue  # no room left for this one (never the first: the image is empty)
        level = _object_level(rng, float(img[:, mask].mean()))
        colour = np.clip(level + rng.uniform(-0.1, 0.1, n_channels), 0.0, 1.0)
        img[:, mask] = colour[:, None] + rng.normal(0.0, 0.03, (n_channels, mask.sum()))
        front[mask] = len(objects)
        objects.append((mask, box, label))
    img += rng.normal(0.0, noise, img.shape)
    return np.clip(img, 0.0, 1.0), objects
