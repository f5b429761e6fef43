"""mean_average_precision against hand-computed cases and an independent reference
(global greedy matching with per-pair IoU, AP from the precision envelope at each
recall step)."""
import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from skml.metrics import mean_average_precision


def _iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ref_map(y_true, y_pred, thresholds):
    classes = sorted({int(c) for t in y_true for c in t["labels"]})
    aps = []
    for thr in thresholds:
        for c in classes:
            gts = {i: [b for b, l in zip(t["boxes"], t["labels"]) if l == c]
                   for i, t in enumerate(y_true)}
            n_gt = sum(len(v) for v in gts.values())
            dets = [(-s, i, j, b) for i, p in enumerate(y_pred)
                    for j, (b, l, s) in enumerate(zip(p["boxes"], p["labels"], p["scores"]))
                    if l == c]
            dets.sort(key=lambda d: d[:3])
            used = {i: set() for i in gts}
            tps = []
            for _, i, _, b in dets:
                best, best_iou = None, -1.0
                for g, gb in enumerate(gts[i]):
                    v = _iou(b, gb)
                    if g not in used[i] and v >= thr and v > best_iou:
                        best, best_iou = g, v
                if best is not None:
                    used[i].add(best)
                tps.append(best is not None)
            prec, rec = [], []
            hits = 0
            for k, t in enumerate(tps, 1):
                hits += t
                prec.append(hits / k)
                rec.append(hits / n_gt)
            ap, last = 0.0, 0.0
            for k in range(len(rec)):
                if rec[k] > last:
                    ap += (rec[k] - last) * max(prec[k:])
                    last = rec[k]
            aps.append(ap)
    return float(np.mean(aps))


def _scene(rng, n_images=6, n_classes=3):
    y_true, y_pred = [], []
    for _ in range(n_images):
        k = rng.integers(0, 5)
        xy = rng.uniform(0, 60, (k, 2))
        gt = np.hstack([xy, xy + rng.uniform(5, 30, (k, 2))])
        labels = rng.integers(0, n_classes, k)
        y_true.append({"boxes": gt, "labels": labels})
        # Detections: jittered copies (some duplicated), plus clutter.
        pick = rng.integers(0, max(k, 1), rng.integers(0, 2 * k + 1)) if k else []
        det = [gt[p] + rng.normal(0, 3, 4) for p in pick]
        det_l = [labels[p] if rng.uniform() < 0.85 else rng.integers(0, n_classes)
                 for p in pick]
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 60, 2)
            det.append([x, y, x + rng.uniform(5, 20), y + rng.uniform(5, 20)])
            det_l.append(rng.integers(0, n_classes))
        det = np.array(det, dtype=np.float64).reshape(-1, 4)
        det[:, 2:] = np.maximum(det[:, 2:], det[:, :2])
        scores = rng.choice([0.2, 0.5, 0.9], len(det)) if rng.uniform() < 0.5 \
            else rng.uniform(size=len(det))
        y_pred.append({"boxes": det, "labels": np.array(det_l, dtype=np.int64),
                       "scores": scores})
    return y_true, y_pred


@pytest.mark.parametrize("seed", range(8))
def test_matches_reference_on_random_scenes(seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = _scene(rng)
    if not any(len(t["labels"]) for t in y_true):
        y_true[0] = {"boxes": np.array([[0.0, 0, 5, 5]]), "labels": np.array([1])}
    for thr in (0.5, [0.3, 0.75], np.arange(0.5, 0.96, 0.05)):
        thresholds = [thr] if np.isscalar(thr) else list(thr)
        assert mean_average_precision(y_true, y_pred, iou_threshold=thr) \
            == pytest.approx(ref_map(y_true, y_pred, thresholds), abs=1e-12)


def test_hand_computed_cases():
    gt = [{"boxes": np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), "labels": np.array([0, 0])}]
    pred = [{"boxes": np.array([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]]),
             "labels": np.array([0, 0, 0]), "scores": np.array([0.9, 0.8, 0.7])}]
    # precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1: AP = 1/2 * 1 + 1/2 * 2/3.
    assert mean_average_precision(gt, pred) == pytest.approx(0.5 + 1 / 3)
    # A duplicate of a matched box is a false positive.
    dup = [{"boxes": np.array([[0, 0, 10, 10], [0, 0, 10, 10]]), "labels": np.array([0, 0]),
            "scores": np.array([0.9, 0.8])}]
    assert mean_average_precision(gt, dup) == pytest.approx(0.5)
    # Class 1 is never true (left out); class 2 is true but never predicted (AP 0).
    gt2 = [{"boxes": np.array([[0, 0, 10, 10], [40, 40, 50, 50]]), "labels": np.array([0, 2])}]
    pred2 = [{"boxes": np.array([[0, 0, 10, 10], [0, 0, 10, 10]]), "labels": np.array([0, 1]),
              "scores": np.array([0.5, 0.99])}]
    assert mean_average_precision(gt2, pred2, n_classes=3) == pytest.approx(0.5)
    # IoU 0.64: a match at thresholds 0.5, 0.55, 0.6 of COCO's ten.
    one = [{"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([0])}]
    shifted = [{"boxes": np.array([[0, 0, 10, 6.4]]), "labels": np.array([0]),
                "scores": np.array([1.0])}]
    assert mean_average_precision(one, shifted, iou_threshold=np.arange(0.5, 0.96, 0.05)) \
        == pytest.approx(0.3)
    # Images without boxes are fine; predictions on them are false positives.
    empty = {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, dtype=int)}
    fp = {"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([0]),
          "scores": np.array([1.5])}   # ranked above the true positive
    assert mean_average_precision(one + [empty], shifted + [fp]) == pytest.approx(0.5)


def test_torch_inputs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    y_true, y_pred = _scene(rng)
    y_true[0] = {"boxes": np.array([[0.0, 0, 5, 5]]), "labels": np.array([1])}
    as_t = [{k: torch.as_tensor(v) for k, v in d.items()} for d in y_pred]
    assert mean_average_precision(y_true, as_t) == mean_average_precision(y_true, y_pred)


def test_no_ground_truth_warns():
    empty = [{"boxes": np.zeros((0, 4)), "labels": np.zeros(0, dtype=int)}]
    pred = [{"boxes": np.zeros((0, 4)), "labels": np.zeros(0, dtype=int),
             "scores": np.zeros(0)}]
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(mean_average_precision(empty, pred))


@pytest.mark.parametrize("y_true, y_pred, kwargs, err, match", [
    ([], [{"boxes": [[0, 0, 1, 1]], "labels": [0], "scores": [1.0]}], {}, ValueError,
     "one entry per image"),
    ([{"boxes": [[0, 0, 1, 1]]}], [{}], {}, ValueError, "lacks"),
    ([{"boxes": [[0, 0, 1, 1]], "labels": [0]}],
     [{"boxes": [[0, 0, 1, 1]], "labels": [0]}], {}, ValueError, "lacks"),
    ([{"boxes": [[2, 0, 1, 1]], "labels": [0]}],
     [{"boxes": [[0, 0, 1, 1]], "labels": [0], "scores": [1.0]}], {}, ValueError, "x2 >= x1"),
    ([{"boxes": [[0, 0, 1, 1]], "labels": [5]}],
     [{"boxes": [[0, 0, 1, 1]], "labels": [0], "scores": [1.0]}], {"n_classes": 3},
     ValueError, r"in \[0, 3\)"),
    ([{"boxes": [[0, 0, 1, 1]], "labels": [0.5]}],
     [{"boxes": [[0, 0, 1, 1]], "labels": [0], "scores": [1.0]}], {}, TypeError, "integers"),
    ([{"boxes": [[0, 0, 1, 1]], "labels": [0]}],
     [{"boxes": [[0, 0, 1, 1]], "labels": [0], "scores": [np.nan]}], {}, ValueError, "NaN"),
    ([{"boxes": [[0, 0, 1, 1]], "labels": [0]}],
     [{"boxes": [[0, 0, 1, 1]], "labels": [0], "scores": [1.0]}], {"iou_threshold": 1.5},
     ValueError, "iou_threshold"),
    ({"boxes": [[0, 0, 1, 1]], "labels": [0]}, [], {}, TypeError, "list of dicts"),
])
def test_bad_input(y_true, y_pred, kwargs, err, match):
    with pytest.raises(err, match=match):
        mean_average_precision(y_true, y_pred, **kwargs)
