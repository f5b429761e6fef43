"""skml.neural.vision against a plain PyTorch loop over the same network.

* ``fit ... vs torch loop``: ``CNNClassifier`` / ``FCNSegmenter`` against a minimal
  hand-written loop over the very same module (``skml.neural._modules.cnn.build_cnn`` /
  ``_modules.fcn.FCN``, torch's default initialisation), Adam, batch size and number of
  epochs, on one thread (what skml's ``n_jobs=None`` picks for networks this small). The
  ratio is the overhead of skml's wrapper (validation, the shared loop and its hooks,
  history, seeding); the target is <= 1.1. Quality: held-out accuracy (mean IoU for the
  segmenter) of each side.
* ``predict ... vs torch loop``: ``predict`` against the bare module under
  ``torch.no_grad()`` in batches of the same size; images/s is ``n_test / time``.

With CUDA available, the fit comparisons also run on the GPU.
"""
import warnings

import numpy as np

from benchmarks._harness import Case, torch_minibatch_loop

NAME = "vision"
PEER = "torch loop"

LR = 0.01
# (architecture, builder config, resize, batch size, epochs)
CONFIGS = [("resnet", dict(channels=(16, 32), blocks=(1, 1)), None, 64, 10),
           ("lenet", dict(activation="relu", pooling="max"), 28, 32, 10)]
QUICK_CONFIGS = [("resnet", dict(channels=(8,), blocks=(1,)), None, 64, 1)]


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def _shapes():
    from skml.datasets import make_shapes

    X, masks = make_shapes(200, task="segmentation", image_size=16, max_objects=3,
                           random_state=0)
    masks = (masks > 0).astype(np.int64)
    return X[:150], X[150:], masks[:150], masks[150:]


def _quiet(fit):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def _skml_cnn(arch, config, resize, batch_size, epochs, device):
    from skml.neural import CNNClassifier

    def fit(data):
        Xtr, _, ytr, _ = data
        return _quiet(lambda: CNNClassifier(
            arch, resize=resize, **config, batch_size=batch_size, max_iter=epochs,
            learning_rate_init=LR, alpha=0.0, tol=0.0, n_iter_no_change=np.inf,
            device=device, random_state=0).fit(Xtr, ytr))
    return fit


def _cnn_module(arch, config, resize):
    from skml.neural._modules.cnn import build_cnn

    def make(Xtr, ytr):
        return build_cnn(arch, Xtr.shape[1], int(ytr.max()) + 1, Xtr.shape[2:],
                         resize=None if resize is None else (resize, resize), **config)
    return make


def _skml_fcn(upsample, epochs, device):
    from skml.neural import FCNSegmenter

    def fit(data):
        Xtr, _, Mtr, _ = data
        return _quiet(lambda: FCNSegmenter(
            channels=(8, 16), upsample=upsample, batch_size=16, max_iter=epochs,
            learning_rate_init=LR, alpha=0.0, tol=0.0, n_iter_no_change=np.inf,
            device=device, random_state=0).fit(Xtr, Mtr))
    return fit


def _fcn_module(upsample):
    from skml.neural._modules.fcn import FCN

    def make(Xtr, Mtr):
        return FCN(Xtr.shape[1], int(Mtr.max()) + 1, channels=(8, 16), upsample=upsample)
    return make


def _ce(out, target):
    import torch

    return torch.nn.functional.cross_entropy(out, target)


def _outputs(result, X):
    """The module's outputs on ``X``, in batches of 512 on one thread (as skml's
    ``predict`` runs a network this small)."""
    import torch

    device = next(result.parameters()).device
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            return torch.cat([result(torch.as_tensor(X[i:i + 512], device=device)).cpu()
                              for i in range(0, len(X), 512)]).numpy()
    finally:
        torch.set_num_threads(threads)


def _accuracy(result, data):
    _, Xte, _, yte = data
    if hasattr(result, "score"):
        return result.score(Xte, yte)
    return float(np.mean(_outputs(result, Xte).argmax(1) == yte))


def _miou(result, data):
    from skml.metrics import iou_score

    _, Xte, _, Mte = data
    if hasattr(result, "score"):
        return result.score(Xte, Mte)
    return iou_score(Mte, _outputs(result, Xte).argmax(1))


def _predict_case(tag, fitted_skml):
    """Prediction of the test images: skml's predict against the bare module."""
    state = {}

    def data():
        d = _digits()
        state["est"] = fitted_skml(d)
        return d

    def skml(d):
        return state["est"].predict(np.repeat(d[1], 20, axis=0))

    def peer(d):
        return _outputs(state["est"].module_, np.repeat(d[1], 20, axis=0)).argmax(1)

    return Case(f"{tag}: predict {20 * 450} images vs bare module", data, skml, peer,
                lambda r, d: float(np.mean(np.asarray(r) == np.repeat(d[3], 20))),
                "test accuracy")


def cases(quick):
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for arch, config, resize, batch_size, epochs in QUICK_CONFIGS if quick else CONFIGS:
        tag = (f"digits {arch}{'' if resize is None else f' resize={resize}'} "
               f"bs={batch_size} {epochs} epochs")
        for device in devices:
            yield Case(f"{tag} {device}: fit vs torch loop", _digits,
                       _skml_cnn(arch, config, resize, batch_size, epochs, device),
                       torch_minibatch_loop(_cnn_module(arch, config, resize), _ce, LR,
                                            batch_size, epochs, device),
                       _accuracy, "test accuracy")
        yield _predict_case(f"digits {arch} cpu",
                            _skml_cnn(arch, config, resize, batch_size, epochs, "cpu"))
    epochs = 1 if quick else 8
    for upsample in ("transposed", "resize_conv"):
        for device in devices:
            yield Case(f"shapes FCN {upsample} bs=16 {epochs} epochs {device}: fit vs "
                       "torch loop", _shapes, _skml_fcn(upsample, epochs, device),
                       torch_minibatch_loop(_fcn_module(upsample), _ce, LR, 16, epochs,
                                            device),
                       _miou, "test mean IoU")
