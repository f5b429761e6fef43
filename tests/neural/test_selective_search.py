"""Selective search: the Felzenszwalb kernel against a plain Python reference, recall on
make_shapes detection scenes, hostile inputs."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from skml._kernels._segment import felzenszwalb
from tests._layouts import LAYOUTS, as_layout
from skml.datasets import make_shapes
from skml.neural.detection import box_iou, selective_search


def ref_felzenszwalb(img, k, min_size):
    """Felzenszwalb–Huttenlocher from the paper: 8-neighbour edges sorted by weight,
    union-find with the Int + k/|C| threshold, then the small-component pass."""
    H, W, _ = img.shape
    edges = []
    for y in range(H):
        for x in range(W):
            for dy, dx in ((0, 1), (1, 0), (1, 1), (-1, 1)):
                yy, xx = y + dy, x + dx
                if 0 <= yy < H and xx < W:
                    w = float(np.sqrt(((img[y, x] - img[yy, xx]) ** 2).sum()))
                    edges.append((w, y * W + x, yy * W + xx))
    edges.sort(key=lambda e: e[0])
    comp = {p: {p} for p in range(H * W)}
    of = list(range(H * W))
    internal = {p: 0.0 for p in range(H * W)}

    def merge(a, b, w):
        a, b = of[a], of[b]
        if len(comp[a]) < len(comp[b]):
            a, b = b, a
        for p in comp[b]:
            of[p] = a
        comp[a] |= comp.pop(b)
        internal[a] = w

    for w, a, b in edges:
        ca, cb = of[a], of[b]
        if ca != cb and w <= internal[ca] + k / len(comp[ca]) \
                and w <= internal[cb] + k / len(comp[cb]):
            merge(a, b, w)
    for w, a, b in edges:
        ca, cb = of[a], of[b]
        if ca != cb and (len(comp[ca]) < min_size or len(comp[cb]) < min_size):
            merge(a, b, w)
    return np.array(of).reshape(H, W)


def _same_partition(a, b):
    pairs = set(zip(a.ravel().tolist(), b.ravel().tolist()))
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 3),
       k=st.sampled_from([0.0, 0.5, 3.0, 50.0]), min_size=st.integers(0, 12),
       seed=st.integers(0, 2**31))
def test_felzenszwalb_matches_reference(h, w, c, k, min_size, seed):
    img = np.random.default_rng(seed).uniform(0, 10, (h, w, c))   # no tied weights
    got = felzenszwalb(img, k, min_size)
    ref = ref_felzenszwalb(img, k, min_size)
    assert _same_partition(got, ref)
    # Labels are 0..n-1 in raster order of the first pixel.
    first = [int(v) for v in dict.fromkeys(got.ravel().tolist())]
    assert first == list(range(len(first)))
    if h * w >= min_size:
        assert np.bincount(got.ravel()).min() >= min_size


def test_felzenszwalb_kernel_bad_input():
    with pytest.raises(ValueError, match="at least one pixel"):
        felzenszwalb(np.zeros((0, 3, 3)), 1.0, 1)
    with pytest.raises(ValueError, match="k must be"):
        felzenszwalb(np.zeros((2, 2, 3)), float("nan"), 1)
    with pytest.raises(ValueError, match="finite"):
        felzenszwalb(np.full((2, 3, 3), np.nan), 1.0, 1)
    with pytest.raises(ValueError, match="finite"):
        felzenszwalb(np.array([[[np.inf], [np.inf]]]), 1.0, 1)
    np.testing.assert_array_equal(felzenszwalb(np.zeros((3, 4, 3)), 0.0, 0),
                                  np.zeros((3, 4)))


def test_recall_on_detection_scenes():
    images, targets = make_shapes(6, task="detection", image_size=64, random_state=0)
    hits = total = 0
    for image, target in zip(images, targets):
        boxes = selective_search(image, random_state=0)[:500]
        assert len(boxes) <= 500
        iou = box_iou(target["boxes"], boxes)
        hits += int((iou.max(axis=1) >= 0.5).sum())
        total += len(target["boxes"])
    assert total >= 10
    assert hits / total >= 0.9


def test_two_flat_halves_give_the_halves_and_the_whole():
    img = np.zeros((6, 10, 3), dtype=np.uint8)
    img[:, 4:] = 255
    boxes = selective_search(img, scale=1.0, sigma=0.0, min_size=1, strategies="single",
                             random_state=0)
    assert {tuple(b) for b in boxes} == {(0, 0, 4, 6), (4, 0, 10, 6), (0, 0, 10, 6)}


def test_layouts_dtypes_and_seed():
    images, _ = make_shapes(1, task="detection", image_size=40, random_state=1)
    chw = images[0]
    a = selective_search(chw, min_size=20, random_state=3)
    b = selective_search(np.moveaxis(chw, 0, -1).copy(), min_size=20, random_state=3)
    np.testing.assert_array_equal(a, b)
    u8 = np.round(chw * 255).astype(np.uint8)
    c = selective_search(u8, min_size=20, random_state=3)
    d = selective_search(u8.astype(np.float64) / 255, min_size=20, random_state=3)
    np.testing.assert_array_equal(c, d)
    for layout in LAYOUTS:
        np.testing.assert_array_equal(
            selective_search(as_layout(chw, layout), min_size=20, random_state=3), a)
    e = selective_search(chw, min_size=20, random_state=4)
    assert {tuple(r) for r in a} == {tuple(r) for r in e}       # same set, other ranking
    assert len(np.unique(a, axis=0)) == len(a)                   # de-duplicated
    assert (a[:, 2] > a[:, 0]).all() and (a[:, 3] > a[:, 1]).all()
    assert a.min() >= 0 and a[:, 2].max() <= 40 and a[:, 3].max() <= 40
    assert [0, 0, 40, 40] in a.tolist()


@pytest.mark.parametrize("image", [np.ones((1, 1, 3)), np.full((5, 7, 3), 0.3),
                                   np.zeros((1, 9)), np.ones((3, 1, 1))])
def test_tiny_and_constant_images(image):
    boxes = selective_search(image, random_state=0)
    h, w = (image.shape[:2] if image.ndim == 2 or image.shape[-1] in (1, 3)
            else image.shape[1:])
    np.testing.assert_array_equal(boxes, [[0, 0, w, h]])


@pytest.mark.parametrize("image, err, match", [
    (np.full((4, 4, 3), np.nan), ValueError, "finite"),
    (np.full((4, 4, 3), 2.0), ValueError, r"\[0, 1\]"),
    (np.zeros((4, 4, 4)), ValueError, "shape"),
    (np.zeros((2, 4, 4, 3)), ValueError, "shape"),
    (np.zeros((0, 4, 3)), ValueError, "at least one pixel"),
    (np.zeros((4, 4, 3), dtype=np.int64), TypeError, "dtype"),
    (np.zeros((4, 4, 3), dtype=bool), TypeError, "dtype"),
])
def test_bad_images(image, err, match):
    with pytest.raises(err, match=match):
        selective_search(image)


def test_bad_parameters():
    img = np.zeros((4, 4, 3))
    with pytest.raises(ValueError, match="scale"):
        selective_search(img, scale=-1)
    with pytest.raises(ValueError, match="min_size"):
        selective_search(img, min_size=-1)
    with pytest.raises(ValueError, match="sigma"):
        selective_search(img, sigma=1e4)
    with pytest.raises(TypeError, match="min_size"):
        selective_search(img, min_size=2.5)
    with pytest.raises(ValueError, match="strategies"):
        selective_search(img, strategies="slow")
    with pytest.raises(ValueError, match="strategy"):
        selective_search(img, strategies=[("xyz", "c")])
    with pytest.raises(ValueError, match="strategy"):
        selective_search(img, strategies=[("rgb", "q")])
