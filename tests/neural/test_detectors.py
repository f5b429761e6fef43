"""The R-CNN family of detectors (issue 19): training through the one loop (the network's
dict of losses, recorded key by key), learning beyond an untrained detector on small
``make_shapes`` scenes, ``score`` against an independent NumPy mAP, the target
contract and its errors, seeding, pickling and cloning, and the network pieces (anchor
matching and sampling, the RPN's anchor order). Full-size accuracy (Faster R-CNN mAP@0.5
>= 0.8 on 64x64 scenes) and the epoch timing are in benchmarks/bench_detection.py."""
import pickle
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils import estimator_checks as sk_checks

torch = pytest.importorskip("torch")

from skml.datasets import make_shapes  # noqa: E402
from skml.neural import FastRCNNDetector, FasterRCNNDetector, RCNNDetector  # noqa: E402
from skml.neural._base import NeuralEstimator, _derived_seed, _seeded  # noqa: E402
from skml.neural._modules import detection as det_modules  # noqa: E402

from ._util import state_dicts_equal  # noqa: E402

# small networks on 32x32 scenes: a two-stage ResNet of stride 2
SMALL = dict(channels=(8, 16), blocks=(1, 1), hidden_layer_sizes=(32,), batch_size=8,
             learning_rate_init=0.005, random_state=0)
FASTER = dict(SMALL, anchor_sizes=(8, 16), rpn_pre_nms_top_n=200, rpn_post_nms_top_n=50,
              pool_size=4)
FAST = dict(SMALL, ss_min_size=10, max_proposals=60, pool_size=4)
RCNN = dict(SMALL, crop_size=16, ss_min_size=10, max_proposals=60, rois_per_image=32)
DETECTORS = [(FasterRCNNDetector, FASTER), (FastRCNNDetector, FAST), (RCNNDetector, RCNN)]
IDS = ["faster", "fast", "rcnn"]


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def scenes():
    """Train and held-out scenes, 32x32, objects 12-22 px across."""
    X, y = make_shapes(48, task="detection", image_size=32, max_objects=3,
                       object_size=(0.4, 0.7), random_state=0)
    Xt, yt = make_shapes(16, task="detection", image_size=32, max_objects=3,
                         object_size=(0.4, 0.7), random_state=1)
    return X, y, Xt, yt


@pytest.fixture(scope="module")
def tiny():
    return make_shapes(8, task="detection", image_size=24, max_objects=2,
                       object_size=(0.4, 0.7), random_state=2)


# ---------------------------------------------------------------- an independent mAP


def _iou(a, b):
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None] - inter)


def _reference_map(y_true, y_pred, threshold=0.5):
    """VOC's all-point-interpolated AP per class (greedy matching by decreasing score,
    one detection per true box), averaged over the classes of ``y_true``."""
    classes = np.unique(np.concatenate([t["labels"] for t in y_true]))
    aps = []
    for c in classes:
        n_true = sum(int(np.sum(t["labels"] == c)) for t in y_true)
        dets = sorted(((-float(s), i, b) for i, p in enumerate(y_pred)
                       for b, s in zip(p["boxes"][p["labels"] == c],
                                       p["scores"][p["labels"] == c])),
                      key=lambda d: d[0])
        used = [np.zeros(int(np.sum(t["labels"] == c)), bool) for t in y_true]
        hits = []
        for _, i, box in dets:
            truth = y_true[i]["boxes"][y_true[i]["labels"] == c]
            ious = _iou(box, truth)[0] if len(truth) else np.zeros(0)
            j = int(np.argmax(ious)) if len(ious) else -1
            hit = j >= 0 and ious[j] >= threshold and not used[i][j]
            if hit:
                used[i][j] = True
            hits.append(float(hit))
        tp = np.cumsum(hits)
        fp = np.cumsum(1 - np.asarray(hits))
        recall = np.concatenate([[0], tp / n_true, [1]])
        precision = np.concatenate([[0], tp / np.maximum(tp + fp, 1e-12), [0]])
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        steps = np.flatnonzero(recall[1:] != recall[:-1])
        aps.append(float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1])))
    return float(np.mean(aps))


# ---------------------------------------------------------------- learning


@pytest.mark.parametrize("cls, params, epochs, margin", [
    (FasterRCNNDetector, FASTER, 12, 0.3),
    (FastRCNNDetector, FAST, 10, 0.3),
    (RCNNDetector, RCNN, 6, 0.15),
], ids=IDS)
def test_detector_learns_beyond_the_untrained_one(cls, params, epochs, margin, scenes):
    X, y, Xt, yt = scenes
    untrained = _fit(cls(**dict(params, max_iter=1, learning_rate_init=1e-9)), X, y)
    det = _fit(cls(**dict(params, max_iter=epochs)), X, y)
    base = untrained.score(Xt, yt)
    got = det.score(Xt, yt)
    assert got >= base + margin, (got, base)
    # score is the mAP@0.5 of predict, by an independent reference
    assert got == pytest.approx(_reference_map(yt, det.predict(Xt)), abs=1e-9)
    # the network's losses are recorded key by key, and the total went down
    keys = {"loss", "cls", "box"} | ({"rpn_objectness", "rpn_box"}
                                     if cls is FasterRCNNDetector else set())
    assert keys <= set(det.history_[-1])
    assert det.loss_curve_[-1] < 0.8 * det.loss_curve_[0]
    parts = sum(det.history_[-1][k] for k in keys - {"loss"})
    assert det.history_[-1]["loss"] == pytest.approx(parts, rel=0.05)  # + the L2 term


# ---------------------------------------------------------------- contract


@pytest.mark.parametrize("cls, params", DETECTORS, ids=IDS)
def test_predict_contract_and_labels_of_the_classes_seen(cls, params, tiny):
    X, y = tiny
    y = [{"boxes": t["boxes"], "labels": t["labels"] * 10 + 3} for t in y]  # 3, 13, 23
    det = _fit(cls(**dict(params, max_iter=1, score_threshold=0.0)), X, y)
    np.testing.assert_array_equal(det.classes_, np.unique(np.concatenate(
        [t["labels"] for t in y])))
    assert det.image_shape_ == X.shape[1:]
    out = det.predict(X[:3])
    assert len(out) == 3
    for d in out:
        assert set(d) == {"boxes", "labels", "scores"}
        m = len(d["scores"])
        assert d["boxes"].shape == (m, 4) and d["boxes"].dtype == np.float32
        assert d["labels"].shape == (m,) and np.isin(d["labels"], det.classes_).all()
        assert np.all(np.diff(d["scores"]) <= 0)  # by decreasing score
        assert np.all(d["boxes"][:, 2] >= d["boxes"][:, 0])
        assert np.all((d["boxes"] >= 0) & (d["boxes"] <= 24))  # clipped to the image
        assert m <= det.max_detections
    # another image size at prediction, one-channel images are refused (3 in training)
    assert len(det.predict(np.zeros((1, 3, 40, 28), np.float32))) == 1
    with pytest.raises(ValueError, match="1 channel"):
        det.predict(X[:2, :1])


@pytest.mark.parametrize("cls, params", DETECTORS, ids=IDS)
def test_image_without_objects_is_background(cls, params, tiny):
    X, y = tiny
    y = list(y)
    y[0] = {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, int)}
    y[1] = {"boxes": [], "labels": []}
    det = _fit(cls(**dict(params, max_iter=2)), X, y)
    assert np.all(np.isfinite(det.loss_curve_))


def test_training_runs_through_the_loop_exactly_as_a_plain_torch_loop(tiny):
    """One epoch of fit equals a hand-written loop over the same module: seeded init,
    the same shuffled batches, the sampling generator, loss = sum of the dict."""
    X, y = tiny
    params = dict(FASTER, alpha=0.0, max_iter=2, batch_size=4)
    det = _fit(FasterRCNNDetector(**params), X, y)
    ref = FasterRCNNDetector(**params)
    data = ref._prepare_fit_data(X, y, reset=True)
    ref._initialize()
    seed = ref._seed
    cpu = torch.device("cpu")
    with _seeded(torch, cpu, seed):
        module = ref._build_module()
        opt = torch.optim.Adam(module.parameters(), lr=params["learning_rate_init"],
                               fused=True)
        module.generator = torch.Generator().manual_seed(_derived_seed(seed, 1))
        gen = torch.Generator().manual_seed(seed)
        images, targets = torch.from_numpy(data[0]), data[1]
        module.train()
        for _ in range(2):
            perm = torch.randperm(len(images), generator=gen)
            for lo in range(0, len(images), 4):
                idx = perm[lo:lo + 4]
                losses = module(images[idx], [targets[int(i)] for i in idx])
                opt.zero_grad()
                sum(losses.values()).backward()
                opt.step()
    assert state_dicts_equal(det, SimpleNamespace(module_=module))


def test_seeding_pickle_and_clone(tiny):
    X, y = tiny
    a = _fit(FasterRCNNDetector(**dict(FASTER, max_iter=2)), X, y)
    b = _fit(FasterRCNNDetector(**dict(FASTER, max_iter=2)), X, y)
    c = _fit(FasterRCNNDetector(**dict(FASTER, max_iter=2, random_state=1)), X, y)
    assert state_dicts_equal(a, b)
    assert not state_dicts_equal(a, c)
    loaded = pickle.loads(pickle.dumps(a))
    for p, q in zip(a.predict(X), loaded.predict(X)):
        for k in p:
            np.testing.assert_array_equal(p[k], q[k])
    fresh = clone(a)
    assert fresh.get_params() == a.get_params()
    assert not hasattr(fresh, "module_") and not hasattr(fresh, "classes_")


def test_fast_rcnn_caches_proposals_and_pickles_without_them(tiny, monkeypatch):
    import skml.neural.detection as detection

    X, y = tiny
    calls = []
    real = detection.selective_search

    def counting(image, **kwargs):
        calls.append(1)
        return real(image, **kwargs)

    monkeypatch.setattr(detection, "selective_search", counting)
    det = _fit(FastRCNNDetector(**dict(FAST, max_iter=1)), X, y)
    assert len(calls) == len(X)  # once per image for the whole fit
    det.predict(X)
    assert len(calls) == len(X)  # the same images: cached
    loaded = pickle.loads(pickle.dumps(det))
    assert not getattr(loaded, "_proposal_cache", None)
    loaded.predict(X[:1])
    assert len(calls) == len(X) + 1


def test_roi_pool_variant_and_partial_fit(tiny):
    X, y = tiny
    det = FastRCNNDetector(**dict(FAST, roi_pooling="pool"))
    det.partial_fit(X, y)
    det.partial_fit(X, y)
    assert det.n_iter_ == 1 and len(det.history_) == 2
    bad = [{"boxes": t["boxes"], "labels": t["labels"] + 7} for t in y]
    with pytest.raises(ValueError, match="not in classes_"):
        det.partial_fit(X, bad)


def test_early_stopping_scores_held_out_map(scenes):
    X, y, _, _ = scenes
    det = _fit(FasterRCNNDetector(**dict(FASTER, max_iter=2, early_stopping=True,
                                         validation_fraction=0.25)), X, y)
    assert len(det.validation_scores_) == 2
    assert all(0.0 <= s <= 1.0 for s in det.validation_scores_)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cls, params", DETECTORS, ids=IDS)
def test_cuda(cls, params, tiny):
    X, y = tiny
    det = _fit(cls(**dict(params, max_iter=2, device="cuda")), X, y)
    assert next(det.module_.parameters()).is_cuda
    assert len(det.predict(X)) == len(X)
    cpu = pickle.loads(pickle.dumps(det))
    assert next(cpu.module_.parameters()).device.type == "cpu"


# ---------------------------------------------------------------- bad input


def _targets(y, i, **change):
    y = [dict(t) for t in y]
    y[i].update(change)
    return y


@pytest.mark.parametrize("make_bad, error, match", [
    (lambda y: _targets(y, 0, boxes=np.array([[5.0, 5, 3, 9]]), labels=[1]), ValueError,
     r"x1 < x2"),
    (lambda y: _targets(y, 0, boxes=np.array([[5.0, 9, 8, 9]]), labels=[1]), ValueError,
     r"y1 < y2"),
    (lambda y: _targets(y, 1, labels=-y[1]["labels"] - 1), ValueError, "non-negative"),
    (lambda y: _targets(y, 1, labels=y[1]["labels"] + 0.5), ValueError, "integers"),
    (lambda y: _targets(y, 0, boxes=np.array([[-1.0, 2, 6, 8]]), labels=[0]), ValueError,
     "inside the image"),
    (lambda y: _targets(y, 0, boxes=np.array([[1.0, 2, 25, 8]]), labels=[0]), ValueError,
     "inside the image"),
    (lambda y: _targets(y, 0, boxes=np.array([[1.0, 2, np.nan, 8]]), labels=[0]),
     ValueError, "non-finite"),
    (lambda y: _targets(y, 0, boxes=np.ones((2, 3)), labels=[0, 1]), ValueError,
     r"shape \(k, 4\)"),
    (lambda y: _targets(y, 0, labels=np.zeros(len(y[0]["labels"]) + 1, int)), ValueError,
     "one label per box"),
    (lambda y: y[:-1], ValueError, "7 targets for 8 images"),
    (lambda y: y[0], TypeError, "list of 8 dicts"),
    (lambda y: np.zeros(8), TypeError, "list of 8 dicts"),
    (lambda y: [{"boxes": t["boxes"]} for t in y], TypeError, "'boxes' and 'labels'"),
    (lambda y: [{"boxes": np.zeros((0, 4)), "labels": []} for t in y], ValueError,
     "no boxes at all"),
])
@pytest.mark.parametrize("cls, params", DETECTORS, ids=IDS)
def test_bad_targets_get_clear_errors(cls, params, make_bad, error, match, tiny):
    X, y = tiny
    with pytest.raises(error, match=match):
        cls(**params).fit(X, make_bad(y))


@pytest.mark.parametrize("cls, params", DETECTORS, ids=IDS)
def test_bad_images_and_unfitted(cls, params, tiny):
    X, y = tiny
    det = cls(**params)
    for method in ("predict", "score"):
        with pytest.raises(NotFittedError):
            getattr(det, method)(X, y) if method == "score" else det.predict(X)
    with pytest.raises(ValueError, match="n_images, channels, height"):
        det.fit(X.reshape(len(X), -1), y)
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        det.fit(bad, y)
    with pytest.raises(ValueError, match="does not support sample_weight"):
        NeuralEstimator.fit(det, X, y, sample_weight=np.ones(len(X)))


def test_too_small_images_and_crops(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match="too small"):
        FasterRCNNDetector(architecture="lenet").fit(X[:, :, :10, :10], [
            {"boxes": np.array([[1.0, 1, 5, 5]]), "labels": [0]}] * len(X))
    with pytest.raises(ValueError, match="crop_size=4 is too small"):
        RCNNDetector(architecture="lenet", crop_size=4).fit(X, y)


@pytest.mark.parametrize("bad, match", [
    (dict(anchor_sizes=(16, -2)), "anchor_sizes"),
    (dict(aspect_ratios=()), "aspect_ratios"),
    (dict(channels=(8, 8, 8), blocks=(1,)), "same length"),
])
def test_parameter_relations(bad, match, tiny):
    X, y = tiny
    with pytest.raises(ValueError, match=match):
        FasterRCNNDetector(**dict(FASTER, **bad)).fit(X, y)


# ---------------------------------------------------------------- sklearn API checks


@pytest.mark.parametrize("check", [
    sk_checks.check_no_attributes_set_in_init,
    sk_checks.check_estimator_repr,
    sk_checks.check_estimator_cloneable,
    sk_checks.check_do_not_raise_errors_in_init_or_set_params,
    sk_checks.check_valid_tag_types,
    sk_checks.check_estimator_tags_renamed,
    sk_checks.check_mixin_order,
    sk_checks.check_get_params_invariance,
    sk_checks.check_set_params,
], ids=lambda c: c.__name__)
@pytest.mark.parametrize("cls, params", DETECTORS, ids=IDS)
def test_sklearn_api_checks_that_need_no_table(cls, params, check):
    # sklearn's other checks feed 2-D tables, which a detector does not take (the tags
    # say two_d_array=False); these need no data
    check(cls.__name__, cls(**params))


def test_fit_leaves_parameters_unchanged(tiny):
    X, y = tiny
    det = FastRCNNDetector(**dict(FAST, max_iter=1))
    before = {k: pickle.dumps(v) for k, v in det.get_params().items()}
    _fit(det, X, y)
    assert {k: pickle.dumps(v) for k, v in det.get_params().items()} == before


# ---------------------------------------------------------------- network pieces


def test_match_boxes_rules():
    iou = torch.tensor([[0.8, 0.5, 0.1, 0.0, 0.35],
                        [0.2, 0.6, 0.05, 0.0, 0.3]])
    got = det_modules.match_boxes(iou, 0.7, 0.3)
    np.testing.assert_array_equal(got.numpy(), [0, -2, -1, -1, -2])
    # each true box claims its best candidate (box 1's best, 0.6, is candidate 1)
    got = det_modules.match_boxes(iou, 0.7, 0.3, allow_low_quality=True)
    np.testing.assert_array_equal(got.numpy(), [0, 1, -1, -1, -2])
    empty = det_modules.match_boxes(torch.zeros(0, 3), 0.7, 0.3)
    np.testing.assert_array_equal(empty.numpy(), [-1, -1, -1])


def test_sample_matches_fraction_and_generator():
    matches = torch.tensor([0] * 10 + [-1] * 50 + [-2] * 5)
    g = torch.Generator().manual_seed(0)
    pos, neg = det_modules.sample_matches(matches, 16, 0.25, g)
    assert len(pos) == 4 and len(neg) == 12
    assert (matches[pos] >= 0).all() and (matches[neg] == -1).all()
    assert len(set(pos.tolist())) == 4 and len(set(neg.tolist())) == 12
    again = det_modules.sample_matches(matches, 16, 0.25, torch.Generator().manual_seed(0))
    assert torch.equal(pos, again[0]) and torch.equal(neg, again[1])
    # too few positives: negatives fill the rest
    pos, neg = det_modules.sample_matches(matches[8:], 16, 0.5, g)
    assert len(pos) == 2 and len(neg) == 14


def test_rpn_outputs_follow_the_anchor_order():
    """The RPN's k-th output belongs to ``generate_anchors``' k-th anchor: a head whose
    objectness is 1 at one (position, anchor) and 0 elsewhere lights exactly that one."""
    from skml.neural.detection import generate_anchors

    rpn = det_modules.RegionProposalNetwork(1, 2)
    with torch.no_grad():
        rpn.conv.weight.zero_()
        rpn.conv.weight[0, 0, 1, 1] = 1.0  # identity
        rpn.objectness.weight.zero_()
        rpn.objectness.weight[1, 0] = 1.0  # only anchor 1 sees the map
        rpn.box.weight.zero_()
        rpn.box.weight[1 * 4 + 2, 0] = 1.0  # channel a * 4 + j: anchor a's delta j
    feats = torch.zeros(1, 1, 3, 4)
    feats[0, 0, 2, 1] = 1.0  # row 2, column 1
    logits, deltas = rpn(feats)
    anchors = torch.as_tensor(generate_anchors((3, 4), 8.0, (8.0,), (0.5, 2.0)))
    assert logits.shape == (1, 3 * 4 * 2) and anchors.shape == (3 * 4 * 2, 4)
    k = int(logits[0].argmax())
    assert logits[0].gt(0).sum() == 1
    centre = (anchors[k, :2] + anchors[k, 2:]) / 2
    np.testing.assert_allclose(centre.numpy(), [1.5 * 8, 2.5 * 8])
    assert k % 2 == 1  # anchor 1 of its position
    # box channel 4 * 1 + 2 is (anchor 1, dw): it lights deltas[k, 2] only
    assert deltas[0, k, 2] == 1.0 and deltas[0].abs().sum() == 1.0
