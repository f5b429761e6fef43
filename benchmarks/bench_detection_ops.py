"""Detection ops (issue 19).

* ``nms ... vs NumPy``: ``skml.neural.detection.nms`` (Cython greedy core over a sorted
  index) against the classic vectorised NumPy NMS (R. Girshick's ``py_cpu_nms``: keep
  the best remaining box, drop every remaining box overlapping it by more than the
  threshold, repeat), on 100,000 boxes: detector-like clusters of jittered boxes around
  2,000 objects in a 2000 x 2000 image, random scores, IoU threshold 0.5, float32 and
  float64. Quality: number of boxes kept (both sides must agree exactly).
* ``selective_search ... per image``: time of ``selective_search`` on 128 x 128
  ``make_shapes`` detection scenes (default ``strategies="fast"``, i.e. four strategies)
  against the one-strategy ``"single"`` mode of the same function (no third-party
  selective search is installed: scikit-image and OpenCV are absent). Time per image
  is ``time / 4``. Quality: recall of the true boxes at IoU 0.5 within the first 500
  proposals.
"""
import numpy as np

from benchmarks._harness import Case

NAME = "detection_ops"
PEER = "NumPy NMS / single-strategy selective search"


def _clustered_boxes(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    n_obj = max(n // 50, 1)
    centres = rng.uniform(50, 1950, (n_obj, 2))
    sizes = rng.uniform(20, 120, (n_obj, 2))
    which = rng.integers(0, n_obj, n)
    c = centres[which] + rng.normal(0, 8, (n, 2))
    s = sizes[which] * rng.uniform(0.8, 1.25, (n, 2))
    boxes = np.hstack([c - s / 2, c + s / 2]).astype(dtype)
    scores = rng.uniform(size=n).astype(dtype)
    return boxes, scores


def numpy_nms(boxes, scores, thr):
    """The classic vectorised NMS (py_cpu_nms), in float64."""
    b = boxes.astype(np.float64)
    x1, y1, x2, y2 = b.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0.0)
        ih = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0.0)
        inter = iw * ih
        union = areas[i] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou <= thr]
    return np.array(keep, dtype=np.int64)


def _nms_case(n, dtype):
    from skml.neural.detection import nms

    def make():
        return _clustered_boxes(n, dtype)

    def kept(result, data):
        return float(len(result))

    return Case(f"nms {n:,} boxes {np.dtype(dtype).name} vs NumPy", make,
                lambda d: nms(d[0], d[1], 0.5), lambda d: numpy_nms(d[0], d[1], 0.5),
                kept, "boxes kept", repeats=3)


def _ss_case(n_images, size):
    from skml.datasets import make_shapes
    from skml.neural.detection import box_iou, selective_search

    def make():
        return make_shapes(n_images, task="detection", image_size=size, random_state=0)

    def run(strategies):
        def go(data):
            return [selective_search(x, strategies=strategies, random_state=0)
                    for x in data[0]]
        return go

    def recall(result, data):
        hits = total = 0
        for boxes, target in zip(result, data[1]):
            iou = box_iou(target["boxes"], boxes[:500])
            hits += int((iou.max(axis=1) >= 0.5).sum())
            total += len(target["boxes"])
        return hits / total

    return Case(f"selective_search {n_images} images {size}x{size}: fast vs single",
                make, run("fast"), run("single"), recall, "recall@500 IoU 0.5",
                repeats=2)


def cases(quick):
    n = 20_000 if quick else 100_000
    yield _nms_case(n, np.float64)
    yield _nms_case(n, np.float32)
    yield _ss_case(2 if quick else 4, 128)
