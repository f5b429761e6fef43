"""Demo section: object detection — selective-search proposals, and a Faster R-CNN
trained on ``make_shapes`` scenes, its detections drawn beside the true boxes."""
import time
import warnings

import numpy as np

ORDER = 87
TITLE = "Object detection: the R-CNN family (torch backend)"
REQUIRES = ("torch",)

_COLOURS = ("tab:red", "tab:blue", "tab:green")


def _quiet(fit):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def _box(ax, box, colour, style="-", width=1.5):
    import matplotlib.pyplot as plt

    x1, y1, x2, y2 = box
    # pixel (i, j) covers [j, j + 1) x [i, i + 1); imshow centres it on (j, i)
    ax.add_patch(plt.Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False,
                               edgecolor=colour, linestyle=style, linewidth=width))


def section(report, quick):
    import matplotlib.pyplot as plt

    from skml.datasets import SHAPE_NAMES, make_shapes
    from skml.neural import FasterRCNNDetector
    from skml.neural.detection import selective_search

    n_train = 24 if quick else (300 if report.full else 64)
    epochs = 2 if quick else (30 if report.full else 12)
    size = 48 if report.full else 32
    scenes = dict(task="detection", image_size=size, max_objects=3,
                  object_size=(0.4, 0.7))
    X, y = make_shapes(n_train, **scenes, random_state=0)
    Xte, yte = make_shapes(24, **scenes, random_state=1)
    t0 = time.perf_counter()
    det = _quiet(lambda: FasterRCNNDetector(
        channels=(8, 16), blocks=(1, 1), hidden_layer_sizes=(32,),
        anchor_sizes=(size // 4, size // 2), rpn_pre_nms_top_n=200, rpn_post_nms_top_n=50,
        pool_size=4, batch_size=8, learning_rate_init=0.005, max_iter=epochs,
        random_state=0).fit(X, y))
    fit_s = time.perf_counter() - t0
    score = det.score(Xte, yte)
    report.text(
        f"`FasterRCNNDetector` (a two-stage ResNet backbone of stride 2, a region proposal "
        f"network with anchors of {size // 4} and {size // 2} pixels at three aspect "
        f"ratios, RoIAlign and the Fast R-CNN head) trained for {epochs} epochs on "
        f"{n_train} `make_shapes` scenes of {size}x{size} pixels (1-3 circles, squares "
        f"and triangles on textured backgrounds) in {fit_s:.1f} s: mAP@0.5 on 24 held-out "
        f"scenes = {score:.3f}. "
        "The training losses (each recorded in `history_`):")
    last = det.history_[-1]
    report.table(["epoch", "rpn_objectness", "rpn_box", "cls", "box"],
                 [(h["epoch"], *(f"{h[k]:.3f}" for k in
                                 ("rpn_objectness", "rpn_box", "cls", "box")))
                  for h in (det.history_[0], last)])

    preds = det.predict(Xte[:4])
    fig, axes = plt.subplots(2, 4, figsize=(10, 5.2))
    for k in range(4):
        img = np.moveaxis(Xte[k], 0, -1)
        props = selective_search(img, min_size=20, random_state=0)[:100]
        ax = axes[0, k]
        ax.imshow(img)
        for box in props:
            _box(ax, box, "yellow", width=0.5)
        ax.set_title(f"{len(props)} proposals", fontsize=9)
        ax = axes[1, k]
        ax.imshow(img)
        for box, label in zip(yte[k]["boxes"], yte[k]["labels"]):
            _box(ax, box, "white", "--", 2.0)
        keep = preds[k]["scores"] >= 0.5
        for box, label, s in zip(preds[k]["boxes"][keep], preds[k]["labels"][keep],
                                 preds[k]["scores"][keep]):
            _box(ax, box, _COLOURS[int(label) % 3])
            ax.text(box[0], box[1] - 1, f"{SHAPE_NAMES[int(label)]} {s:.2f}",
                    color=_COLOURS[int(label) % 3], fontsize=7)
        ax.set_title("detections (score >= 0.5)", fontsize=9)
    for ax in axes.ravel():
        ax.set_axis_off()
    fig.tight_layout()
    report.figure(fig, "detection_boxes",
                  "Top: selective-search proposals (the first 100; Fast R-CNN and R-CNN "
                  "classify these). Bottom: Faster R-CNN's detections with score >= 0.5 "
                  "(coloured by class) and the true boxes (white, dashed), on held-out "
                  "scenes.")
    plt.close(fig)
