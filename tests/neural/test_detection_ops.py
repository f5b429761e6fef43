"""Detection ops against plain NumPy references written from the definitions
(torchvision.ops' semantics): box IoU, greedy NMS, RoI align/pool, anchors, box coding."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from tests._layouts import LAYOUTS, as_layout
from skml.neural.detection import (
    batched_nms,
    box_iou,
    clip_boxes,
    decode_boxes,
    encode_boxes,
    generate_anchors,
    nms,
    roi_align,
    roi_pool,
)

torch = pytest.importorskip("torch")

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ references

def ref_iou_pair(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ref_iou(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.array([[ref_iou_pair(x, y) for y in b] for x in a]).reshape(len(a), len(b))


def ref_nms(boxes, scores, thr, labels=None):
    """Suppress-forward NMS: take the best remaining box, drop every remaining box of
    its label that overlaps it by more than thr."""
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    n = len(boxes)
    labels = np.zeros(n, int) if labels is None else np.asarray(labels)
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    alive = list(order)
    kept = []
    while alive:
        i = alive.pop(0)
        kept.append(i)
        alive = [j for j in alive
                 if labels[j] != labels[i] or not ref_iou_pair(boxes[i], boxes[j]) > thr]
    return np.array(kept, dtype=np.int64)


@st.composite
def box_sets(draw, max_n=25):
    """Boxes on a quarter-pixel lattice (exact in float32), drawn from a small pool so
    identical boxes occur, some of zero width or height; scores with ties."""
    n = draw(st.integers(0, max_n))
    pool = draw(st.integers(1, max(n, 1)))
    coords = st.integers(0, 160).map(lambda v: v / 4)
    base = []
    for _ in range(pool):
        x1, y1 = draw(coords), draw(coords)
        w = draw(st.sampled_from([0.0, 0.25, 1.0]) | coords)
        h = draw(st.sampled_from([0.0, 0.5]) | coords)
        base.append([x1, y1, x1 + w, y1 + h])
    idx = draw(st.lists(st.integers(0, pool - 1), min_size=n, max_size=n))
    boxes = np.array([base[i] for i in idx], dtype=np.float64).reshape(n, 4)
    scores = np.array(draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, -2.0])
                                    | st.floats(-1, 1), min_size=n, max_size=n)))
    labels = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
                      dtype=np.int64)
    return boxes, scores, labels


# ------------------------------------------------------------------ box_iou / nms

@FAST
@given(data=box_sets(), dtype=st.sampled_from([np.float32, np.float64]),
       exponent=st.integers(-60, 60), thr=st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
       layout=st.sampled_from(LAYOUTS))
def test_nms_and_iou_match_reference_exactly(data, dtype, exponent, thr, layout):
    boxes, scores, labels = data
    # Power-of-two magnitudes are exact: the answer must not change with them.
    scale = 2.0 ** exponent if dtype == np.float32 else 2.0 ** (exponent * 15)
    scaled = as_layout((boxes * scale).astype(dtype), layout)
    s = as_layout(scores.astype(dtype), layout)
    expected_iou = ref_iou(boxes, boxes).astype(dtype)
    iou = box_iou(scaled, scaled)
    assert iou.dtype == dtype
    np.testing.assert_array_equal(iou, expected_iou)
    assert not np.isnan(iou).any()
    t = torch.from_numpy(np.array(scaled))
    iou_t = box_iou(t, t)
    assert iou_t.dtype == (torch.float32 if dtype == np.float32 else torch.float64)
    np.testing.assert_array_equal(iou_t.numpy(), expected_iou)
    ref_s = s.astype(np.float64)
    keep = nms(scaled, s, thr)
    assert keep.dtype == np.int64
    np.testing.assert_array_equal(keep, ref_nms(boxes, ref_s, thr))
    keep_b = batched_nms(scaled, s, as_layout(labels, layout), thr)
    np.testing.assert_array_equal(keep_b, ref_nms(boxes, ref_s, thr, labels))


def test_nms_hand_example_and_ties():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [20, 20, 30, 30],
                      [20, 20, 20, 30]], dtype=np.float64)
    scores = np.array([0.9, 0.95, 0.95, 0.1, 0.99])
    # IoU(0,1) = 81 / 119 = 0.68; IoU(0,2) = 1; zero-area box 4 suppresses nothing.
    np.testing.assert_array_equal(nms(boxes, scores, 0.5), [4, 1, 3])
    np.testing.assert_array_equal(nms(boxes, scores, 0.7), [4, 1, 2, 3])
    np.testing.assert_array_equal(nms(boxes, scores, 1.0), [4, 1, 2, 0, 3])
    np.testing.assert_array_equal(batched_nms(boxes, scores, [0, 1, 1, 0, 0], 0.5),
                                  [4, 1, 0, 3])
    assert box_iou(boxes[:1], boxes[1:2])[0, 0] == pytest.approx(81 / 119)
    np.testing.assert_array_equal(box_iou(boxes[4:], boxes[4:]), [[0.0]])


def test_iou_extreme_magnitudes_no_nan():
    boxes = np.array([[-1e300, -1e300, 1e300, 1e300], [0, 0, 1e300, 1e300],
                      [1e-300, 1e-300, 3e-300, 3e-300], [0, 0, 0, 0]])
    iou = box_iou(boxes, boxes)
    assert np.isfinite(iou).all()
    assert iou[0, 1] == pytest.approx(0.25)
    assert iou[2, 2] == 0.0 or iou[2, 2] == 1.0     # underflowed area relative to 1e300
    np.testing.assert_array_equal(nms(boxes, np.arange(4.0), 0.2), [3, 2, 1])


def test_torch_in_torch_out():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (30, 2))
    b = np.hstack([xy, xy + rng.uniform(1, 20, (30, 2))]).astype(np.float32)
    s = rng.uniform(size=30).astype(np.float32)
    lab = rng.integers(0, 3, 30)
    tb, ts, tl = torch.from_numpy(b), torch.from_numpy(s), torch.from_numpy(lab)
    iou = box_iou(tb, tb)
    assert isinstance(iou, torch.Tensor) and iou.dtype == torch.float32
    np.testing.assert_array_equal(iou.numpy(), box_iou(b, b))
    k = nms(tb, ts, 0.4)
    assert isinstance(k, torch.Tensor) and k.dtype == torch.int64
    np.testing.assert_array_equal(k.numpy(), ref_nms(b, s, 0.4))
    np.testing.assert_array_equal(batched_nms(tb, ts, tl, 0.4).numpy(),
                                  ref_nms(b, s, 0.4, lab))


@pytest.mark.parametrize("boxes, scores, thr, err, match", [
    (np.zeros((3, 3)), np.zeros(3), 0.5, ValueError, r"shape \(n, 4\)"),
    ([[0, 0, np.nan, 1]], [1.0], 0.5, ValueError, "finite"),
    ([[0, 0, np.inf, 1]], [1.0], 0.5, ValueError, "finite"),
    ([[2, 0, 1, 1]], [1.0], 0.5, ValueError, "x2 >= x1"),
    ([[0, 0, 1, 1]], [np.nan], 0.5, ValueError, "NaN"),
    ([[0, 0, 1, 1]], [1.0, 2.0], 0.5, ValueError, "scores must have shape"),
    ([[0, 0, 1, 1]], [1.0], 1.5, ValueError, "iou_threshold"),
    ([[0, 0, 1, 1]], [1.0], "a", TypeError, "iou_threshold"),
    ([["a", "b", "c", "d"]], [1.0], 0.5, TypeError, "numeric"),
])
def test_nms_bad_input(boxes, scores, thr, err, match):
    with pytest.raises(err, match=match):
        nms(boxes, scores, thr)


def test_box_iou_torch_bad_input():
    with pytest.raises(ValueError, match="finite"):
        box_iou(torch.tensor([[0.0, 0, float("nan"), 1]]), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="x2 >= x1"):
        box_iou(torch.zeros(1, 4), torch.tensor([[2.0, 0, 1, 1]]))
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        box_iou(torch.zeros(2, 3), torch.zeros(1, 4))


def test_batched_nms_bad_labels_and_empty():
    with pytest.raises(TypeError, match="labels must be integers"):
        batched_nms([[0, 0, 1, 1]], [1.0], [0.5], 0.5)
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).shape == (0,)
    assert batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int), 0.5).shape == (0,)
    assert box_iou(np.zeros((0, 4)), np.ones((2, 4))).shape == (0, 2)


def test_kernel_rejects_bad_indices():
    from skml._kernels._nms import greedy_nms
    b = np.zeros((2, 4))
    keep = np.zeros(2, np.uint8)
    # Non-finite boxes straight into the kernel: no crash, no index outside the grid.
    weird = np.array([[np.nan, 0, 1, 1], [-np.inf, np.nan, np.inf, 5]])
    greedy_nms(weird, np.array([0, 1], np.intp), np.array([0, 2], np.intp), 0.5, keep,
               0.0, 0.0, 1.0, 4, 4)
    keep[:] = 0
    with pytest.raises(ValueError, match="out of range"):
        greedy_nms(b, np.array([0, 5], np.intp), np.array([0, 2], np.intp), 0.5, keep)
    with pytest.raises(ValueError, match="bounds"):
        greedy_nms(b, np.array([0, 1], np.intp), np.array([0, 3], np.intp), 0.5, keep)
    with pytest.raises(ValueError, match="grid"):
        greedy_nms(b, np.array([0, 1], np.intp), np.array([0, 2], np.intp), 0.5, keep,
                   0.0, 0.0, 0.0, 1, 1)
    with pytest.raises(ValueError, match="grid"):
        greedy_nms(b, np.array([0, 1], np.intp), np.array([0, 2], np.intp), 0.5, keep,
                   0.0, 0.0, 1.0, 1 << 20, 1 << 20)


# ------------------------------------------------------------------ RoI ops

def ref_bilinear(fmap, y, x):
    """torchvision's bilinear_interpolate on one (C, H, W) map."""
    C, H, W = fmap.shape
    if y < -1.0 or y > H or x < -1.0 or x > W:
        return np.zeros(C)
    y, x = max(y, 0.0), max(x, 0.0)
    yl, xl = int(y), int(x)
    if yl >= H - 1:
        yh = yl = H - 1
        y = float(yl)
    else:
        yh = yl + 1
    if xl >= W - 1:
        xh = xl = W - 1
        x = float(xl)
    else:
        xh = xl + 1
    ly, lx = y - yl, x - xl
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * fmap[:, yl, xl] + hy * lx * fmap[:, yl, xh]
            + ly * hx * fmap[:, yh, xl] + ly * lx * fmap[:, yh, xh])


def ref_roi_align(feat, rois, oh, ow, scale, sr, aligned):
    K = len(rois)
    C = feat.shape[1]
    out = np.zeros((K, C, oh, ow))
    off = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sx, sy = x1 * scale - off, y1 * scale - off
        rw, rh = x2 * scale - off - sx, y2 * scale - off - sy
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / oh, rw / ow
        gh = sr if sr > 0 else math.ceil(rh / oh)
        gw = sr if sr > 0 else math.ceil(rw / ow)
        count = max(gh * gw, 1)
        for p in range(oh):
            for q in range(ow):
                acc = np.zeros(C)
                for iy in range(gh):
                    y = sy + p * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        x = sx + q * bw + (ix + 0.5) * bw / gw
                        acc += ref_bilinear(feat[int(b)], y, x)
                out[k, :, p, q] = acc / count
    return out


def ref_roi_pool(feat, rois, oh, ow, scale):
    K, C, H, W = len(rois), feat.shape[1], feat.shape[2], feat.shape[3]
    out = np.zeros((K, C, oh, ow))

    def rnd(v):
        return math.floor(abs(v) + 0.5) * (1 if v >= 0 else -1)

    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sx, sy, ex, ey = rnd(x1 * scale), rnd(y1 * scale), rnd(x2 * scale), rnd(y2 * scale)
        rw, rh = max(ex - sx + 1, 1), max(ey - sy + 1, 1)
        bh, bw = rh / oh, rw / ow
        for p in range(oh):
            for q in range(ow):
                h0 = min(max(math.floor(p * bh) + sy, 0), H)
                h1 = min(max(math.ceil((p + 1) * bh) + sy, 0), H)
                w0 = min(max(math.floor(q * bw) + sx, 0), W)
                w1 = min(max(math.ceil((q + 1) * bw) + sx, 0), W)
                if h1 <= h0 or w1 <= w0:
                    continue
                out[k, :, p, q] = feat[int(b), :, h0:h1, w0:w1].max(axis=(1, 2))
    return out


def _random_rois(rng, n, N, H, W, scale):
    rois = []
    for _ in range(n):
        x1 = rng.uniform(-3, W / scale)
        y1 = rng.uniform(-3, H / scale)
        x2 = x1 + rng.choice([0.0, rng.uniform(0, W / scale + 3)])
        y2 = y1 + rng.uniform(0, H / scale + 3)
        rois.append([rng.integers(0, N), x1, y1, x2, y2])
    return np.array(rois)


@pytest.mark.parametrize("oh, ow, scale, sr, aligned", [
    (2, 3, 1.0, -1, True), (3, 3, 0.5, 2, True), (2, 2, 0.25, -1, False),
    (1, 4, 1.0, 1, False)])
def test_roi_align_matches_reference(oh, ow, scale, sr, aligned):
    rng = np.random.default_rng(1)
    feat = rng.normal(size=(2, 3, 7, 9))
    rois = _random_rois(rng, 12, 2, 7, 9, scale)
    rois[0] = [1, -50.0, -40.0, 200.0, 100.0]           # far outside the map
    got = roi_align(torch.from_numpy(feat), torch.from_numpy(rois), (oh, ow), scale, sr,
                    aligned)
    np.testing.assert_allclose(got.numpy(), ref_roi_align(feat, rois, oh, ow, scale, sr,
                                                          aligned), rtol=1e-10, atol=1e-12)
    got32 = roi_align(torch.from_numpy(feat).float(), torch.from_numpy(rois).float(),
                      (oh, ow), scale, sr, aligned)
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32.numpy(), ref_roi_align(feat, rois, oh, ow, scale, sr,
                                                            aligned), atol=1e-4)


def test_roi_align_gradcheck_and_list_rois():
    rng = np.random.default_rng(2)
    feat = torch.tensor(rng.normal(size=(2, 1, 5, 6)), requires_grad=True)
    rois = torch.tensor([[0, 0.3, 0.7, 4.2, 3.9], [1, -1.0, 2.0, 7.0, 6.0],
                         [1, 2.0, 2.0, 2.0, 2.0], [0, 1.5, 0.2, 3.0, 4.9]],
                        dtype=torch.float64)
    for sr, aligned in ((-1, True), (2, False)):
        assert torch.autograd.gradcheck(
            lambda f: roi_align(f, rois, (2, 3), 1.0, sr, aligned), (feat,))
    as_list = [rois[rois[:, 0] == 0, 1:], rois[rois[:, 0] == 1, 1:]]
    expected = roi_align(feat, torch.cat([rois[rois[:, 0] == 0], rois[rois[:, 0] == 1]]), 2)
    torch.testing.assert_close(roi_align(feat, as_list, 2), expected)


@pytest.mark.parametrize("oh, ow, scale", [(2, 2, 1.0), (3, 2, 0.5), (1, 1, 0.25)])
def test_roi_pool_matches_reference(oh, ow, scale):
    rng = np.random.default_rng(3)
    feat = rng.normal(size=(2, 3, 6, 8))
    rois = _random_rois(rng, 12, 2, 6, 8, scale)
    rois[0] = [0, 100.0, 100.0, 120.0, 130.0]            # empty: wholly outside
    rois[1] = [1, 2.5 / scale, 1.5 / scale, 3.5 / scale, 4.5 / scale]  # rounding halves
    got = roi_pool(torch.from_numpy(feat), torch.from_numpy(rois), (oh, ow), scale)
    np.testing.assert_array_equal(got.numpy(), ref_roi_pool(feat, rois, oh, ow, scale))


def test_roi_pool_gradient_goes_to_the_maximum():
    feat = torch.arange(16.0).reshape(1, 1, 4, 4).requires_grad_(True)
    out = roi_pool(feat, torch.tensor([[0, 0.0, 0.0, 3.0, 3.0]]), 2)
    np.testing.assert_array_equal(out.detach().numpy()[0, 0], [[5, 7], [13, 15]])
    out.sum().backward()
    expected = np.zeros((4, 4))
    expected[[1, 1, 3, 3], [1, 3, 1, 3]] = 1
    np.testing.assert_array_equal(feat.grad.numpy()[0, 0], expected)


@pytest.mark.parametrize("op", [roi_align, roi_pool])
def test_roi_ops_bad_input(op):
    f = torch.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match="batch indices"):
        op(f, torch.tensor([[1, 0.0, 0, 2, 2]]), 2)
    with pytest.raises(ValueError, match="finite"):
        op(f, torch.tensor([[0, float("nan"), 0, 2, 2]]), 2)
    with pytest.raises(ValueError, match=r"\(K, 5\)"):
        op(f, torch.zeros(3, 4), 2)
    with pytest.raises(TypeError, match="features"):
        op(np.zeros((1, 2, 4, 4)), torch.zeros(0, 5), 2)
    with pytest.raises(ValueError, match="output_size"):
        op(f, torch.zeros(0, 5), 0)
    assert op(f, torch.zeros(0, 5), (2, 3)).shape == (0, 2, 2, 3)


# ------------------------------------------------------------------ anchors, coding

def test_generate_anchors_order_and_values():
    sizes, ratios = (8, 16), (0.5, 1.0, 2.0)
    a = generate_anchors((2, 3), (4, 5), sizes, ratios)
    assert a.shape == (2 * 3 * 6, 4)
    row = 0
    for y in range(2):
        for x in range(3):
            cx, cy = (x + 0.5) * 5, (y + 0.5) * 4
            for r in ratios:
                for s in sizes:
                    w, h = s / math.sqrt(r), s * math.sqrt(r)
                    np.testing.assert_allclose(a[row], [cx - w / 2, cy - h / 2,
                                                        cx + w / 2, cy + h / 2])
                    assert (a[row, 3] - a[row, 1]) / (a[row, 2] - a[row, 0]) \
                        == pytest.approx(r)
                    row += 1
    t = generate_anchors((2, 3), (4, 5), sizes, ratios, device="cpu")
    assert t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), a, rtol=1e-6)
    with pytest.raises(ValueError, match="sizes"):
        generate_anchors(2, 4, sizes=(8, -1))


def test_box_coding_roundtrip_and_reference():
    rng = np.random.default_rng(4)
    ref = np.hstack([rng.uniform(0, 50, (40, 2)), np.zeros((40, 2))])
    ref[:, 2:] = ref[:, :2] + rng.uniform(1, 30, (40, 2))
    box = np.hstack([rng.uniform(0, 50, (40, 2)), np.zeros((40, 2))])
    box[:, 2:] = box[:, :2] + rng.uniform(1, 30, (40, 2))
    w = (10.0, 10.0, 5.0, 5.0)
    d = encode_boxes(ref, box, w)
    # Hand formula on one row.
    wa, ha = ref[0, 2] - ref[0, 0], ref[0, 3] - ref[0, 1]
    gw, gh = box[0, 2] - box[0, 0], box[0, 3] - box[0, 1]
    np.testing.assert_allclose(d[0], [
        10 * ((box[0, 0] + gw / 2) - (ref[0, 0] + wa / 2)) / wa,
        10 * ((box[0, 1] + gh / 2) - (ref[0, 1] + ha / 2)) / ha,
        5 * np.log(gw / wa), 5 * np.log(gh / ha)])
    np.testing.assert_allclose(decode_boxes(ref, d, w), box, atol=1e-10)
    dt = encode_boxes(torch.from_numpy(ref), torch.from_numpy(box), w)
    np.testing.assert_allclose(dt.numpy(), d)
    np.testing.assert_allclose(decode_boxes(torch.from_numpy(ref), dt, w).numpy(), box,
                               atol=1e-10)
    # Clamp of the log-scale: exp never overflows.
    big = decode_boxes(ref[:1], np.array([[0.0, 0.0, 1e5, 1e5]]))
    assert np.isfinite(big).all()
    np.testing.assert_allclose(big[0, 2] - big[0, 0], wa * 1000 / 16)
    with pytest.raises(ValueError, match="positive widths"):
        encode_boxes(ref[:1], np.array([[1.0, 1.0, 1.0, 2.0]]))
    with pytest.raises(TypeError, match="torch tensor"):
        encode_boxes(torch.from_numpy(ref), box)


def test_clip_boxes():
    b = np.array([[-5.0, 2.0, 30.0, 40.0], [50.0, 50.0, 60.0, 70.0]])
    np.testing.assert_array_equal(clip_boxes(b, (20, 25)),
                                  [[0, 2, 25, 20], [25, 20, 25, 20]])
    np.testing.assert_array_equal(clip_boxes(torch.from_numpy(b), (20, 25)).numpy(),
                                  clip_boxes(b, (20, 25)))
    with pytest.raises(ValueError, match="image_size"):
        clip_boxes(b, (20,))


def test_roi_pool_chunks_give_the_same_answer(monkeypatch):
    import skml.neural.detection._ops as ops
    rng = np.random.default_rng(5)
    feat = torch.from_numpy(rng.normal(size=(2, 3, 6, 8)))
    rois = torch.from_numpy(_random_rois(rng, 30, 2, 6, 8, 1.0))
    whole = roi_pool(feat, rois, (2, 3))
    monkeypatch.setattr(ops, "_POOL_BUDGET", 200)
    torch.testing.assert_close(roi_pool(feat, rois, (2, 3)), whole, rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_ops_on_cuda_answer_on_the_device():
    rng = np.random.default_rng(6)
    xy = rng.uniform(0, 50, (40, 2))
    b = np.hstack([xy, xy + rng.uniform(1, 20, (40, 2))])
    s = rng.uniform(size=40)
    lab = rng.integers(0, 3, 40)
    tb = torch.tensor(b, device="cuda")
    ts = torch.tensor(s, device="cuda")
    tl = torch.tensor(lab, device="cuda")
    for out, expected in ((box_iou(tb, tb), box_iou(b, b)), (nms(tb, ts, 0.4), nms(b, s, 0.4)),
                          (batched_nms(tb, ts, tl, 0.4), batched_nms(b, s, lab, 0.4)),
                          (clip_boxes(tb, (30, 30)), clip_boxes(b, (30, 30)))):
        assert out.device.type == "cuda"
        np.testing.assert_allclose(out.cpu().numpy(), expected)
    anchors = generate_anchors((3, 4), 8, device="cuda")
    assert anchors.device.type == "cuda"
    d = encode_boxes(tb, tb + 1.0)
    torch.testing.assert_close(decode_boxes(tb, d), tb + 1.0)
    feat = torch.randn(2, 3, 8, 8, device="cuda", dtype=torch.float64)
    rois = torch.tensor([[0, 1.0, 2.0, 30.0, 20.0], [1, 0.0, 0.0, 64.0, 64.0]], device="cuda",
                        dtype=torch.float64)
    for op in (roi_align, roi_pool):
        out = op(feat, rois, 3, 0.125)
        assert out.device.type == "cuda"
        torch.testing.assert_close(out.cpu(), op(feat.cpu(), rois.cpu(), 3, 0.125))


@FAST
@given(data=box_sets(max_n=40), x0=st.floats(-20, 50), y0=st.floats(-20, 50),
       cell=st.sampled_from([0.1, 0.5, 1.0, 3.0, 100.0]), nx=st.integers(1, 70),
       ny=st.integers(1, 70), thr=st.sampled_from([0.0, 0.3, 0.6]))
def test_nms_kernel_grid_never_changes_the_answer(data, x0, y0, cell, nx, ny, thr):
    """Any grid (cells spanned by many boxes, boxes outside it) gives the answer of
    the plain scan over all kept boxes."""
    from skml._kernels._nms import greedy_nms
    boxes, scores, labels = data
    n = len(boxes)
    order = np.argsort(-scores, kind="stable").astype(np.intp)
    bounds = np.array([0, n], dtype=np.intp)
    plain = np.zeros(n, np.uint8)
    greedy_nms(boxes, order, bounds, thr, plain)
    gridded = np.zeros(n, np.uint8)
    greedy_nms(boxes, order, bounds, thr, gridded, x0, y0, cell, nx, ny)
    np.testing.assert_array_equal(gridded, plain)
    np.testing.assert_array_equal(order[plain[order].astype(bool)], ref_nms(boxes, scores, thr))
