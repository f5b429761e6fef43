"""Demo section: convolutional networks — a ResNet on digits beside the MLP, class
activation maps over digits placed on a canvas, and the two upsamplings of a
fully convolutional segmenter (accuracy and checkerboard artifacts)."""
import time
import warnings

import numpy as np

ORDER = 85
TITLE = "Convolutional networks (torch backend)"
REQUIRES = ("torch",)


def _quiet(fit):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def _classify(report, quick, data):
    from skml.neural import CNNClassifier, MLPClassifier

    Xtr, Xte, ytr, yte = data
    epochs = 3 if quick else 10
    rows = []
    for name, make, flat in [
        ("CNNClassifier resnet (16, 32)", lambda: CNNClassifier(
            "resnet", channels=(16, 32), blocks=(1, 1), max_iter=epochs, batch_size=64,
            learning_rate_init=0.01, random_state=0), False),
        ("MLPClassifier (100,) (200 epochs)", lambda: MLPClassifier(random_state=0), True),
    ]:
        Xa, Xb = (Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)) if flat \
            else (Xtr, Xte)
        t0 = time.perf_counter()
        est = _quiet(lambda: make().fit(Xa, ytr))
        rows.append((name, float(est.score(Xb, yte)), est.n_iter_,
                     f"{time.perf_counter() - t0:.2f}"))
    report.text(
        f"`CNNClassifier(\"resnet\")` on the 8x8 digits as images `(n, 1, 8, 8)`: a 3x3 "
        f"stem and two stages of one residual block (16 and 32 filters), global average "
        f"pooling, {epochs} epochs of Adam; beside scikit-learn's default MLP on the "
        "same pixels (flattened), trained for its full 200 epochs.")
    report.table(["model", "held-out accuracy", "epochs", "fit s"], rows)


def _cam(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_digits

    from skml.datasets import place_on_canvas
    from skml.neural import CNNClassifier, class_activation_map, grad_cam

    D, y = load_digits(return_X_y=True)
    n = 300 if quick else 700
    idx = np.random.RandomState(0).permutation(len(D))[:n]
    X, boxes = place_on_canvas(D[idx].reshape(-1, 8, 8) / 16, 20, random_state=0)
    y = y[idx]
    n_train = n - 100
    clf = _quiet(lambda: CNNClassifier(
        "resnet", channels=(8, 16), blocks=(1, 1), max_iter=3 if quick else 6,
        batch_size=32, learning_rate_init=0.01, random_state=0).fit(X[:n_train],
                                                                    y[:n_train]))
    Xte, bte = X[n_train:], boxes[n_train:]
    cam = class_activation_map(clf, Xte)
    gcam = grad_cam(clf, Xte, layer="stage1")

    def hit_rate(maps):
        peaks = [np.unravel_index(np.argmax(m), m.shape) for m in maps]
        return float(np.mean([x1 <= j < x2 and y1 <= i < y2
                              for (i, j), (x1, y1, x2, y2) in zip(peaks, bte)]))

    report.text(
        "Class activation maps: each digit is pasted at a random place of a noisy "
        "20x20 canvas (`skml.datasets.place_on_canvas`) and a small ResNet learns the "
        "digit's class; `class_activation_map` weighs its last feature map by the "
        "predicted class's output weights, `grad_cam` weighs any layer's map by the "
        "gradient of the class score. The map's peak falls inside the digit's 8x8 box "
        "(16% of the canvas) for the share of held-out canvases below.")
    report.table(["heat map", "peak inside the digit", "held-out accuracy"], [
        ("class_activation_map (last block)", hit_rate(cam), float(clf.score(Xte, y[n_train:]))),
        ("grad_cam (layer='stage1')", hit_rate(gcam), float(clf.score(Xte, y[n_train:]))),
    ])
    fig, axes = plt.subplots(3, 6, figsize=(9, 4.8))
    for k in range(6):
        axes[0, k].imshow(Xte[k, 0], cmap="gray_r", vmin=0, vmax=1)
        x1, y1, x2, y2 = bte[k]
        axes[0, k].add_patch(plt.Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1,
                                           fill=False, color="tab:red"))
        axes[0, k].set_title(f"predicted {clf.predict(Xte[k:k + 1])[0]}", fontsize=8)
        axes[1, k].imshow(cam[k], cmap="inferno", vmin=0, vmax=1)
        axes[2, k].imshow(gcam[k], cmap="inferno", vmin=0, vmax=1)
    for ax in axes.ravel():
        ax.axis("off")
    axes[1, 0].set_title("CAM", fontsize=8, loc="left")
    axes[2, 0].set_title("Grad-CAM stage1", fontsize=8, loc="left")
    report.figure(fig, "vision_cam", "Digits on a canvas (red: the pasted box), their "
                  "class activation maps and Grad-CAM maps of the first stage.")


def _segment(report, quick):
    import matplotlib.pyplot as plt
    import torch

    from skml.datasets import make_shapes
    from skml.neural import FCNSegmenter
    from skml.neural._modules.fcn import checkerboard_energy

    X, masks = make_shapes(120 if quick else 200, task="segmentation", image_size=16,
                           max_objects=3, random_state=0)
    masks = (masks > 0).astype(np.int64)  # object or background
    n_train = len(X) - 50
    const = torch.full((1, 3, 16, 16), 0.5)
    rows, segs, responses = [], {}, {}
    for up in ("transposed", "resize_conv"):
        seg = _quiet(lambda: FCNSegmenter(
            channels=(8, 16), upsample=up, max_iter=3 if quick else 8, batch_size=16,
            learning_rate_init=0.01, random_state=0).fit(X[:n_train], masks[:n_train]))
        with torch.no_grad():
            resp = seg.module_.decode(const)
        responses[up] = resp[0].abs().mean(0).numpy()
        segs[up] = seg
        rows.append((f"FCNSegmenter(upsample={up!r})",
                     float(seg.score(X[n_train:], masks[n_train:])),
                     float(checkerboard_energy(resp).mean())))
    report.text(
        "Segmentation of `make_shapes` images into object and background by "
        "`FCNSegmenter`, upsampling with a transposed convolution (kernel 3, stride 2) "
        "or a nearest-neighbour resize followed by a convolution. The checkerboard "
        "statistic is the share of high-frequency energy of the decoder's output on a "
        "uniform grey image, where any structure is an artifact (about 0.75 for white "
        "noise, 0 for a smooth map).")
    report.table(["model", "held-out mean IoU", "checkerboard energy"], rows)
    fig, axes = plt.subplots(1, 5, figsize=(10, 2.4))
    k = n_train
    axes[0].imshow(X[k].transpose(1, 2, 0))
    axes[0].set_title("image", fontsize=8)
    axes[1].imshow(masks[k], cmap="gray")
    axes[1].set_title("true mask", fontsize=8)
    axes[2].imshow(segs["transposed"].predict(X[k:k + 1])[0], cmap="gray")
    axes[2].set_title("transposed", fontsize=8)
    axes[3].imshow(segs["resize_conv"].predict(X[k:k + 1])[0], cmap="gray")
    axes[3].set_title("resize_conv", fontsize=8)
    diff = np.concatenate([responses["transposed"], responses["resize_conv"]], 1)
    axes[4].imshow(diff, cmap="magma")
    axes[4].set_title("grey-image response: transposed | resize", fontsize=7)
    for ax in axes:
        ax.axis("off")
    report.figure(fig, "vision_upsampling", "A held-out image, its mask, the two "
                  "segmenters' masks, and the decoders' responses to a uniform image "
                  "(the transposed convolution's checkerboard).")


def section(report, quick):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import torch

    # torch imports its compiler stack on the first optimiser; pay that before timing
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8)
    if quick:
        X, y = X[:600], y[:600]
    data = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    _classify(report, quick, data)
    _cam(report, quick)
    _segment(report, quick)
