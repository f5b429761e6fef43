"""MLPClassifier on digits against two peers, one per case (the label names it):

* ``vs torch loop``: the same network (``skml.neural._modules.mlp.MLP`` with
  scikit-learn's initialisation), optimiser, batch size and number of epochs trained by a
  minimal hand-written PyTorch loop, on one thread as skml's ``n_jobs=None`` chooses for
  networks this small. The ratio is the overhead of skml's wrapper (validation, the
  shared loop and its hooks, history, seeding, the thread setting); the target is <= 1.1.
* ``vs sklearn``: scikit-learn's MLPClassifier with the same architecture, Adam settings,
  batch size and number of epochs (no L2 penalty, no early stop on the training loss), run
  as a user runs it (its BLAS threads untouched).

Quality is the held-out accuracy. Times are whole ``fit`` calls, so the ratio is the ratio
of epoch times. With CUDA available, the torch-loop comparison also runs on the GPU.
"""
import warnings

import numpy as np

from benchmarks._harness import Case, torch_minibatch_loop

NAME = "mlp"
PEER = "peer"

CONFIGS = [((100,), 64, 30), ((256, 128), 32, 20)]  # hidden sizes, batch size, epochs
QUICK_CONFIGS = [((100,), 64, 3)]
LR = 1e-3


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


def _skml_fit(hidden, batch_size, epochs, device):
    from sklearn.exceptions import ConvergenceWarning

    from skml.neural import MLPClassifier

    def fit(data):
        Xtr, _, ytr, _ = data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return MLPClassifier(hidden_layer_sizes=hidden, batch_size=batch_size,
                                 max_iter=epochs, learning_rate_init=LR, alpha=0.0, tol=0.0,
                                 n_iter_no_change=np.inf, device=device,
                                 random_state=0).fit(Xtr, ytr)
    return fit


def _torch_loop(hidden, batch_size, epochs, device):
    """The plain loop a user would write for the same module."""
    from torch.nn import functional as F

    from skml.neural._modules.mlp import MLP, glorot_uniform_

    def make_module(Xtr, ytr):
        return glorot_uniform_(MLP(Xtr.shape[1], hidden, int(ytr.max()) + 1))
    return torch_minibatch_loop(make_module, F.cross_entropy, LR, batch_size, epochs,
                                device)


def _sklearn_fit(hidden, batch_size, epochs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def fit(data):
        Xtr, _, ytr, _ = data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return MLPClassifier(hidden_layer_sizes=hidden, solver="adam",
                                 learning_rate_init=LR, batch_size=batch_size,
                                 max_iter=epochs, alpha=0.0, tol=0.0,
                                 n_iter_no_change=epochs + 1, random_state=0).fit(Xtr, ytr)
    return fit


def _accuracy(result, data):
    _, Xte, _, yte = data
    if hasattr(result, "score"):
        return result.score(Xte, yte)
    import torch

    device = next(result.parameters()).device
    with torch.no_grad():
        logits = result(torch.as_tensor(Xte, dtype=torch.float32, device=device))
    return float(np.mean(logits.argmax(1).cpu().numpy() == yte))


def cases(quick):
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for hidden, batch_size, epochs in QUICK_CONFIGS if quick else CONFIGS:
        tag = f"digits MLP{hidden} bs={batch_size} {epochs} epochs"
        for device in devices:
            yield Case(
                f"{tag} {device}: vs torch loop",
                _digits,
                _skml_fit(hidden, batch_size, epochs, device),
                _torch_loop(hidden, batch_size, epochs, device),
                _accuracy,
                "test accuracy",
            )
        yield Case(
            f"{tag} cpu: vs sklearn",
            _digits,
            _skml_fit(hidden, batch_size, epochs, "cpu"),
            _sklearn_fit(hidden, batch_size, epochs),
            _accuracy,
            "test accuracy",
        )
