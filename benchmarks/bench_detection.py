"""skml.neural's detectors: training time against a plain PyTorch loop over the same
modules, and (``python -m benchmarks.bench_detection --accuracy``) the full-size
accuracy check of issue 19.

* ``Faster R-CNN fit vs torch loop`` (the harness's case): ``FasterRCNNDetector`` against
  a minimal hand-written loop over the very same network
  (``skml.neural._modules.detection.FasterRCNN`` on ``conv_backbone``), Adam, batch size
  and epochs, on one thread. The targets are converted once, as skml does (boxes and
  labels as tensors, labels counted from 1), so the ratio is the overhead of skml's
  wrapper (validation, the shared loop and its default loss-dict step, history,
  seeding); the target is <= 1.1. Quality: held-out mAP@0.5 of each side.
* ``--accuracy``: Faster R-CNN, Fast R-CNN and R-CNN trained on 64x64 ``make_shapes``
  detection scenes (1-5 objects of 3 classes on textured backgrounds, fixed seeds) and
  scored on held-out scenes; issue 19 asks Faster >= 0.8, Fast >= Faster - 0.05, R-CNN
  >= 0.5. Writes ``results/detection_accuracy.json``.
"""
import json
import time
import warnings

import numpy as np

from benchmarks._harness import RESULTS, Case

NAME = "detection"
PEER = "torch loop"

LR = 0.003
BATCH = 8
IMAGE = 64
# a three-stage ResNet of stride 4 (8, 16, 32 filters), a 5x5 RoIAlign grid: sized so
# that the whole accuracy check runs in minutes on one CPU thread
BACKBONE = dict(channels=(8, 16, 32), blocks=(1, 1, 1))
HEAD = dict(pool_size=5, rois_per_image=64)
FASTER = dict(BACKBONE, **HEAD, anchor_sizes=(16, 32), rpn_pre_nms_top_n=300,
              rpn_post_nms_top_n=100)


def _quiet(fit):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def _scenes(n_train, n_test):
    from skml.datasets import make_shapes

    X, y = make_shapes(n_train, task="detection", image_size=IMAGE, random_state=0)
    Xt, yt = make_shapes(n_test, task="detection", image_size=IMAGE, random_state=1)
    return X, y, Xt, yt


def _skml_faster(epochs):
    from skml.neural import FasterRCNNDetector

    def fit(data):
        X, y, _, _ = data
        return _quiet(lambda: FasterRCNNDetector(
            **FASTER, batch_size=BATCH, max_iter=epochs, learning_rate_init=LR, alpha=0.0,
            tol=0.0, n_iter_no_change=np.inf, n_jobs=1, random_state=0).fit(X, y))
    return fit


def _torch_faster(epochs):
    """The plain loop a user writes for the same network."""
    import torch

    from skml.neural._modules.detection import FasterRCNN, conv_backbone

    def fit(data):
        X, y, _, _ = data
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            classes = np.unique(np.concatenate([t["labels"] for t in y]))
            targets = [{"boxes": torch.as_tensor(t["boxes"]),
                        "labels": torch.as_tensor(np.searchsorted(classes, t["labels"]) + 1)}
                       for t in y]
            images = torch.as_tensor(X)
            torch.manual_seed(0)
            backbone, channels = conv_backbone("resnet", X.shape[1], X.shape[2:], **BACKBONE)
            model = FasterRCNN(backbone, channels, len(classes),
                               anchor_sizes=FASTER["anchor_sizes"],
                               pre_nms_top_n=FASTER["rpn_pre_nms_top_n"],
                               post_nms_top_n=FASTER["rpn_post_nms_top_n"],
                               pool_size=HEAD["pool_size"],
                               rois_per_image=HEAD["rois_per_image"])
            model.generator = torch.Generator().manual_seed(1)
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            gen = torch.Generator().manual_seed(0)
            n = len(images)
            model.train()
            for _ in range(epochs):
                perm = torch.randperm(n, generator=gen)
                for start in range(0, n, BATCH):
                    idx = perm[start:start + BATCH]
                    losses = model(images[idx], [targets[int(i)] for i in idx])
                    loss = sum(losses.values())
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
            model.eval()
            model.classes = classes
            return model
        finally:
            torch.set_num_threads(threads)
    return fit


def _map(result, data):
    import torch

    from skml.metrics import mean_average_precision

    _, _, Xt, yt = data
    if hasattr(result, "score"):
        return result.score(Xt, yt)
    with torch.no_grad():
        dets = result(torch.as_tensor(Xt))
    preds = [{"boxes": d["boxes"].numpy(), "labels": result.classes[d["labels"].numpy() - 1],
              "scores": d["scores"].numpy()} for d in dets]
    return mean_average_precision(yt, preds, iou_threshold=0.5)


def cases(quick):
    n, epochs = (48, 1) if quick else (100, 1)
    yield Case(f"Faster R-CNN {n} scenes {IMAGE}x{IMAGE} bs={BATCH} {epochs} epoch(s) cpu: "
               "fit vs torch loop", lambda: _scenes(n, 50), _skml_faster(epochs),
               _torch_faster(epochs), _map, "held-out mAP@0.5", repeats=1 if quick else 3)


def accuracy(n_train=300, n_test=100, epochs=(12, 12, 8)):
    """Train the three detectors on the same scenes; their held-out mAP@0.5 and times."""
    import torch

    from skml.neural import FastRCNNDetector, FasterRCNNDetector, RCNNDetector

    torch.set_num_threads(1)
    X, y, Xt, yt = _scenes(n_train, n_test)
    common = dict(batch_size=BATCH, learning_rate_init=LR, learning_rate="cosine",
                  random_state=0)
    proposals = dict()  # selective search's defaults: ~100 proposals per 64x64 scene
    models = [
        ("FasterRCNNDetector", FasterRCNNDetector(**FASTER, **common, max_iter=epochs[0])),
        ("FastRCNNDetector", FastRCNNDetector(**BACKBONE, **HEAD, **proposals, **common,
                                              max_iter=epochs[1])),
        ("RCNNDetector", RCNNDetector(channels=(8, 16), blocks=(1, 1), crop_size=16,
                                      hidden_layer_sizes=(64,), **proposals,
                                      rois_per_image=32, **common, max_iter=epochs[2])),
    ]
    rows = []
    for name, det in models:
        t0 = time.perf_counter()
        _quiet(lambda: det.fit(X, y))
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        score = det.score(Xt, yt)
        rows.append({"model": name, "epochs": det.n_iter_, "fit_s": fit_s,
                     "score_s": time.perf_counter() - t0, "map50": score})
        print(f"| {name} | {det.n_iter_} | {fit_s:.1f} | {rows[-1]['score_s']:.1f} | "
              f"{score:.3f} |", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "detection_accuracy.json").write_text(json.dumps(
        {"n_train": n_train, "n_test": n_test, "image_size": IMAGE, "rows": rows},
        indent=2))
    return rows


if __name__ == "__main__":
    import sys

    if "--accuracy" in sys.argv:
        print("| model | epochs | fit s | score s | held-out mAP@0.5 |\n|---|---|---|---|---|")
        accuracy()
    else:
        from benchmarks._harness import main

        sys.exit(main(["bench_detection"], quick="--quick" in sys.argv))
