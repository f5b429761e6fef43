"""``place_on_canvas``: small images pasted at random places of larger noisy canvases."""
import numbers

import numpy as np
from sklearn.utils import check_random_state

from skml.utils import check_param

__all__ = ["place_on_canvas"]


def place_on_canvas(images, canvas_size, *, noise=0.05, random_state=None):
    """Paste each image at a random place of a larger canvas of Gaussian noise.

    A localisation set from any image classification data (e.g. 8x8 digits): the label
    of an image stays its label, and the box where it was pasted says where the object
    is, so heat maps (:func:`skml.neural.class_activation_map`,
    :func:`skml.neural.grad_cam`) can be checked against it. The pasted pixels take the
    larger of the image and the noise beneath, so a dark image background stays noisy.

    Parameters
    ----------
    images : array-like of shape (n_samples, C, h, w) or (n_samples, h, w)
        The images, values in [0, 1].
    canvas_size : int or (int, int)
        Height and width of the canvases, at least those of the images.
    noise : float, default=0.05
        Standard deviation of the canvas noise (clipped to [0, 1]), at least 0.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise and the places.

    Returns
    -------
    canvases : ndarray of shape (n_samples, C, H, W), dtype float64
        The canvases (one channel for 3-D ``images``).
    boxes : ndarray of shape (n_samples, 4), dtype float64
        ``(x1, y1, x2, y2)`` of each pasted image in pixel-edge coordinates (as
        :func:`make_shapes`'s boxes): columns ``x1`` to ``x2 - 1``, rows ``y1`` to
        ``y2 - 1``.

    Raises
    ------
    ValueError
        If the canvas is smaller than the images, or ``noise`` is negative.

    See Also
    --------
    make_shapes : Images of shapes with their boxes and masks.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.5 (localisation of
       objects).

    Examples
    --------
    >>> import numpy as np
    >>> from skml.datasets import place_on_canvas
    >>> X, boxes = place_on_canvas(np.ones((2, 8, 8)), 20, random_state=0)
    >>> X.shape, boxes.shape
    ((2, 1, 20, 20), (2, 4))
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4:
        raise ValueError(f"images must be of shape (n, C, h, w) or (n, h, w), got "
                         f"{images.shape}.")
    if isinstance(canvas_size, numbers.Integral):
        canvas_size = (canvas_size, canvas_size)
    H, W = (int(v) for v in canvas_size)
    n, c, h, w = images.shape
    if H < h or W < w:
        raise ValueError(f"canvas_size={canvas_size!r} is smaller than the images "
                         f"({h}x{w}).")
    check_param(noise, "noise", types=(numbers.Real,), min_val=0.0)
    rng = check_random_state(random_state)
    canvases = rng.normal(0.0, float(noise), (n, c, H, W)).clip(0.0, 1.0)
    rows = rng.randint(0, H - h + 1, n)
    cols = rng.randint(0, W - w + 1, n)
    for k in range(n):
        r, q = rows[k], cols[k]
        canvases[k, :, r:r + h, q:q + w] = np.maximum(canvases[k, :, r:r + h, q:q + w],
                                                      images[k])
    boxes = np.column_stack([cols, rows, cols + w, rows + h]).astype(np.float64)
    return canvases, boxes
