"""``NeuralEstimator``: the one training loop behind every deep model in skml.

Subclasses supply the network (``_build_module``), the loss (``_build_loss``) and the
conversion of ``(X, y)`` into training tensors (``_prepare_fit_data``); this class owns
everything else: batching and shuffling, the optimiser and learning-rate schedule, L1/L2
penalties, early stopping on a validation split with the best weights restored, the
device, seeding, the per-epoch ``history_``, callbacks, the progress bar, batched
inference in eval mode and pickling.

torch is imported lazily (inside methods), so this module and every estimator class can
be imported without it; constructing an estimator without torch raises an ImportError
that says what to install.
"""
import contextlib
import importlib
import importlib.util
import io
import math
import numbers
import os
import time
from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.utils import Interval, StrOptions, check_param, check_params
from skml.utils._param_validation import _Constraint

__all__ = ["NeuralEstimator", "OPTIMIZERS", "LR_SCHEDULES"]

#: Names accepted by ``optimizer=`` (Definitions 3.79-3.83 of the notes).
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
#: Values accepted by ``lr_schedule=`` (the scheduler of Remark 3.64).
LR_SCHEDULES = (None, "step", "cosine")

_INSTALL_HINT = "pip install skml[deep]"
_MOMENTUM = 0.9  # Definition 3.79: "typically set to 0.9"
_STEP_GAMMA = 0.1  # lr_schedule="step": multiply lr by this three times over max_epochs
_SEED_MAX = np.iinfo(np.int32).max
_FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Largest layer width / code size: GEMM libraries (MKL, OpenBLAS, cuBLAS) index matrix
#: dimensions with 32-bit integers.
MAX_WIDTH = 2**31 - 1
# Bytes of training state per parameter: float32 weights, gradients and two optimiser
# moments (Adam's), the most any solver here keeps.
_TRAIN_BYTES_PER_PARAM = 4 * 4


def torch_available():
    """Whether torch can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a broken or blocked entry in sys.modules
        return False


def require_torch(what):
    """Raise the ImportError every neural estimator gives when torch is missing."""
    if not torch_available():
        raise ImportError(
            f"{what} needs PyTorch, which is not installed. "
            f"Install skml's deep-learning extra: `{_INSTALL_HINT}`."
        )


def _torch():
    """The torch module, imported on first use."""
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise ImportError(
            f"skml.neural needs PyTorch, which is not installed. "
            f"Install skml's deep-learning extra: `{_INSTALL_HINT}`."
        ) from exc


def as_float32(X, name="X"):
    """A C-contiguous, writable float32 copy of ``X`` (torch warns on read-only memory).

    The networks compute in float32: finite float64 values beyond its range (about
    3.4e38) would become infinite and every output NaN, so they are refused with a
    ``ValueError`` instead.
    """
    X = np.asarray(X)
    if X.dtype != np.float32 and X.size:
        peak = max(float(np.max(X)), -float(np.min(X)))
        if peak > _FLOAT32_MAX:
            raise ValueError(
                f"{name} has values of magnitude up to {peak:.3g}, beyond the float32 "
                f"range (about {_FLOAT32_MAX:.3g}) the network computes in; scale the "
                "features (e.g. with sklearn.preprocessing.StandardScaler)."
            )
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    if not X32.flags.writeable:
        X32 = X32.copy()
    return X32


@contextlib.contextmanager
def _seeded(torch, device, seed):
    """Run with torch's global RNG (CPU, and the CUDA device in use) seeded by ``seed``,
    restoring the caller's RNG state afterwards. Weight initialisation, dropout and the
    noise of denoising/VAE training draw from these generators."""
    cuda_devices = []
    if device.type == "cuda":
        cuda_devices = [device.index if device.index is not None
                        else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=cuda_devices):
        torch.default_generator.manual_seed(int(seed))
        for idx in cuda_devices:
            with torch.cuda.device(idx):
                torch.cuda.manual_seed(int(seed))
        yield


def _memory_bytes(device):
    """Total memory of ``device`` in bytes (physical RAM for the CPU), or None if unknown."""
    if device.type == "cuda":
        torch = _torch()
        index = device.index if device.index is not None else torch.cuda.current_device()
        return int(torch.cuda.get_device_properties(index).total_memory)
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return None


def check_fits_in_memory(n_bytes, what, device):
    """Raise a ``ValueError`` before allocating ``n_bytes`` on ``device`` when that is
    more than the device has at all (torch's allocator would fail, or the machine swap,
    only after trying)."""
    total = _memory_bytes(device)
    if total is not None and n_bytes > total:
        raise ValueError(
            f"{what} needs about {n_bytes / 2**30:,.1f} GiB, more than the "
            f"{total / 2**30:,.1f} GiB of memory of device {str(device)!r}."
        )


class _TorchDevice(_Constraint):
    """A ``torch.device`` (recognised without importing torch)."""

    def is_satisfied_by(self, value):
        return type(value).__module__ == "torch" and type(value).__name__ == "device"

    def __str__(self):
        return "a torch.device"


_CALLBACK_HOOKS = ("on_batch_end", "on_epoch_end")


def _check_callbacks(callbacks):
    """The ``(name, callback)`` pairs, checked: a callback is a callable (called at the
    end of each epoch) or an object with ``on_batch_end`` and/or ``on_epoch_end``."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"callbacks must be None or a list of (name, callable) pairs, got {callbacks!r}."
        )
    names = set()
    for item in callbacks:
        ok = (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
              and (callable(item[1])
                   or any(callable(getattr(item[1], h, None)) for h in _CALLBACK_HOOKS)))
        if not ok:
            raise TypeError(
                "callbacks must be a list of (name, callable) pairs or (name, object) "
                "pairs whose object has an on_batch_end or on_epoch_end method, got the "
                f"entry {item!r}."
            )
        if item[0] in names:
            raise ValueError(f"callbacks have the name {item[0]!r} more than once.")
        names.add(item[0])
    return list(callbacks)


def _epoch_hook(cb):
    hook = getattr(cb, "on_epoch_end", None)
    return hook if callable(hook) else (cb if callable(cb) else None)


def _batch_hook(cb):
    hook = getattr(cb, "on_batch_end", None)
    return hook if callable(hook) else None


def _derived_seed(seed, *key):
    """An independent seed for one purpose (``key``) of a fit seeded by ``seed``."""
    return int(np.random.SeedSequence([int(seed), *key]).generate_state(1)[0])


def _is_tensor(x):
    return hasattr(x, "is_floating_point") and hasattr(x, "device")


def _take(part, index):
    """Rows ``index`` (a 1-D int tensor or array) of one part of the training data:
    an array or tensor is indexed, a list picked item by item, None stays None."""
    if part is None:
        return None
    if isinstance(part, list):
        return [part[int(i)] for i in index]
    return part[index]


def _slice(part, lo, hi):
    return None if part is None else part[lo:hi]


class NeuralEstimator(BaseEstimator, metaclass=ABCMeta):
    """Base class of skml's deep models: one training loop, used by every subclass.

    Subclasses define ``__init__`` with all of their parameters (these training
    parameters included, as keyword arguments forwarded to ``super().__init__``),
    declare ``_parameter_constraints`` for their own parameters, and implement three
    hooks:

    * ``_prepare_fit_data(X, y, *, reset, **kwargs)`` validates the data (setting
      ``n_features_in_`` and e.g. ``classes_`` when ``reset``) and returns the training
      data: a tuple whose first entry is the network's input and whose other entries
      are aligned with it (NumPy arrays become tensors on the training device; lists
      stay lists). The default step reads ``(X32, target)``, with ``target`` None when
      it is the input itself (autoencoders);
    * ``_build_module()`` returns a new ``torch.nn.Module`` built from the parameters and
      the attributes set by ``_prepare_fit_data`` (it is also called when unpickling);
    * ``_build_loss(device)`` returns ``loss(output, target) -> scalar tensor`` (the mean
      over the batch), where ``output`` is whatever the module's ``forward`` returns.

    and, where the default does not fit the model:

    * ``_build_optimizers(module)`` returns ``{name: torch.optim.Optimizer}`` (default:
      one, ``{"module": ...}``, from the training parameters);
    * ``_train_step(batch, optimizers)`` takes one step and returns a dict of scalar
      tensors holding at least ``"loss"``; every key is averaged over the epoch into
      ``history_``. It optimises through ``self._optimizer_step(optimizer,
      compute_loss)``, which calls ``optimizer.step(closure)`` (so ``torch.optim.LBFGS``
      works) and adds the weight penalties. Training-only randomness is drawn here from
      ``self._rng`` (a ``torch.Generator`` on the training device, seeded from
      ``random_state``); ``self._loss_fn`` and ``self._device`` are the loss and
      device of the running fit;
    * ``_batches(data, generator)`` yields the batches of one epoch (default: shuffled
      rows in ``ceil(n / batch_size)`` slices of sizes differing by at most one).

    Optionally ``_validation_metric(output, target)`` returns a float stored as the
    ``"metric"`` of each history row when a validation split is used, and
    ``_stratify_target(target)`` returns labels to stratify that split by.

    Parameters
    ----------
    optimizer : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}, \
            default="adam"
        The ``torch.optim`` optimiser. ``"momentum"`` and ``"nesterov"`` are SGD with
        momentum 0.9 (without and with Nesterov's correction).
    lr : float, default=1e-3
        Learning rate (> 0).
    weight_decay : float, default=0.0
        L2 penalty given to the optimiser (decoupled weight decay for ``"adamw"``).
    l1 : float, default=0.0
        L1 penalty: ``l1 * sum(|w|)`` over the weight matrices (not the biases) is added
        to the loss.
    batch_size : int, default=200
        Samples per mini-batch (>= 1), capped at the number of training samples. An
        epoch splits the shuffled data into ``ceil(n / batch_size)`` batches whose sizes
        differ by at most one (so no batch of a single sample spoils batch
        normalisation).
    max_epochs : int, default=100
        Passes over the training data in ``fit``.
    lr_schedule : {None, "step", "cosine"}, default=None
        Learning-rate schedule over ``max_epochs`` in ``fit``: ``"step"`` multiplies
        the rate by 0.1 every ``max_epochs // 3`` epochs; ``"cosine"`` anneals it to 0
        along a half cosine.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for classifiers), stop
        when the validation loss has not improved for ``patience`` epochs, and restore
        the weights of the best epoch.
    validation_fraction : float, default=0.1
        Share of the data held out when ``early_stopping`` is on, in (0, 1).
    patience : int, default=10
        Epochs without improvement of the validation loss before stopping (>= 1).
    device : str, default="auto"
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or
        ``"cuda:<index>"``. Asking for CUDA on a machine without it raises a
        ``ValueError`` at ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split, dropout and
        sampling noise. The same integer gives identical weights on CPU.
    verbose : int, default=0
        ``> 0`` shows a tqdm progress bar over the epochs with the running training
        loss (and the validation loss when there is one).
    callbacks : list of (str, callable or object) or None, default=None
        Each ``callback(estimator, row)`` is called at the end of every epoch with the
        estimator and that epoch's ``history_`` row (a dict it may add keys to). If a
        callback returns ``True`` training stops after that epoch. A callback may
        instead be an object with ``on_epoch_end(estimator, row)`` (the same contract)
        and/or ``on_batch_end(estimator, logs)``, called after every training step with
        ``epoch``, ``batch`` (1-based), ``n_samples`` and the step's losses as floats.
        Callbacks are parameters, so they are cloned and pickled with the estimator: use
        picklable objects (module-level functions or class instances), not lambdas, to
        pickle.

    Attributes
    ----------
    module_ : torch.nn.Module
        The fitted network, on the device it was trained on.
    history_ : list of dict
        One row per epoch trained (``fit`` starts a new list, ``partial_fit`` appends):
        ``epoch`` (1-based, counting across ``partial_fit`` calls), ``train_loss`` (mean
        training loss over the epoch, penalties included), ``valid_loss`` and ``metric``
        (on the validation split; ``None`` without one), ``lr`` and ``dur`` (seconds).
    n_epochs_ : int
        Number of epochs trained.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    """

    _parameter_constraints = {
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None)],
        "l1": [Interval(numbers.Real, 0, None)],
        "batch_size": [Interval(numbers.Integral, 1, None)],
        "max_epochs": [Interval(numbers.Integral, 1, None)],
        "lr_schedule": [None, StrOptions({s for s in LR_SCHEDULES if s is not None})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "patience": [Interval(numbers.Integral, 1, None)],
        # a torch.device is accepted too (checked by _resolve_device)
        "device": [str, _TorchDevice()],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [None, list, tuple],
    }

    # Rows per forward pass at inference (predict/transform/score).
    _inference_batch_size = 4096

    @abstractmethod
    def __init__(self, *, optimizer="adam", lr=1e-3, weight_decay=0.0, l1=0.0,
                 batch_size=200, max_epochs=100, lr_schedule=None, early_stopping=False,
                 validation_fraction=0.1, patience=10, device="auto", random_state=None,
                 verbose=0, callbacks=None):
        require_torch(type(self).__name__)
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.l1 = l1
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # ------------------------------------------------------------------ subclass hooks

    @abstractmethod
    def _prepare_fit_data(self, X, y, *, reset, **kwargs):
        """Validate ``(X, y)``; return the training data: a tuple whose first entry is
        the network's input and whose other entries are aligned with it row by row
        (the default step reads ``(X32, target)``, ``target`` None for autoencoders)."""

    @abstractmethod
    def _build_module(self):
        """A new ``nn.Module`` for the current parameters and fitted attributes."""

    @abstractmethod
    def _build_loss(self, device):
        """``loss(output, target) -> scalar tensor``."""

    def _build_optimizers(self, module):
        """``{name: torch.optim.Optimizer}`` over the parameters of ``module``.

        The default is one optimiser, ``{"module": ...}``, from the training parameters.
        A model with several (a GAN's generator and discriminator) returns one per
        sub-network; the loop sets each parameter group's learning rate every epoch to
        ``lr`` times that group's ratio to ``lr`` when it was built, times the schedule.
        """
        return {"module": self._make_optimizer(module.parameters())}

    def _batches(self, data, generator):
        """The mini-batches of one epoch over ``data`` (what ``_prepare_fit_data``
        returned, with its arrays moved to the training device by ``_to_device``).

        The default shuffles the rows with ``generator`` (a seeded CPU
        ``torch.Generator``) and cuts them into ``ceil(n / batch_size)`` consecutive
        batches whose sizes differ by at most one; each batch is a tuple like ``data``.
        A model whose samples are not rows of arrays (graphs) overrides it.
        """
        n = self._n_samples(data)
        batch_size = min(int(self.batch_size), n)
        n_batches = math.ceil(n / batch_size)
        bounds = [round(i * n / n_batches) for i in range(n_batches + 1)]
        perm = _torch().randperm(n, generator=generator)
        device = next((p.device for p in data if _is_tensor(p)), None)
        if device is not None:
            perm = perm.to(device)
        shuffled = tuple(_take(part, perm) for part in data)
        for b in range(n_batches):
            yield tuple(_slice(part, bounds[b], bounds[b + 1]) for part in shuffled)

    def _train_step(self, batch, optimizers):
        """One optimisation step on ``batch``; returns ``{name: scalar tensor}``.

        The default runs the module on the batch's input, applies the loss of
        ``_build_loss`` against the target (the input itself when it is None) and takes
        one step of the only optimiser through :meth:`_optimizer_step`. The returned
        dict must hold ``"loss"`` (what the loop monitors); the loop averages every key
        over the epoch into ``history_``. Training-only randomness (input noise, a
        VAE's draws) is drawn here from ``self._rng``, the loop's seeded generator on
        the training device, and never inside ``forward``.
        """
        inputs, target = batch[0], batch[1]
        target = inputs if target is None else target
        (optimizer,) = optimizers.values()
        module, loss_fn = self.module_, self._loss_fn
        loss = self._optimizer_step(optimizer, lambda: loss_fn(module(inputs), target))
        return {"loss": loss}

    def _optimizer_step(self, optimizer, compute_loss):
        """``optimizer.step(closure)`` where the closure zeroes the gradients, evaluates
        ``compute_loss()`` plus the weight penalties (``l1``) of the parameters this
        optimiser updates, and back-propagates. Returns the (detached) loss at the
        parameters before the step. The closure form lets ``torch.optim.LBFGS``
        re-evaluate the loss during its line search.
        """
        l1 = float(self.l1)
        weights = [p for g in optimizer.param_groups for p in g["params"] if p.ndim > 1]

        def closure():
            optimizer.zero_grad(set_to_none=True)
            loss = compute_loss()
            if l1 > 0:
                loss = loss + l1 * sum(w.abs().sum() for w in weights)
            loss.backward()
            return loss

        return optimizer.step(closure).detach()

    def _validation_metric(self, output, target):
        """A float summarising the validation predictions, or None."""
        return None

    def _stratify_target(self, target):
        """Labels to stratify the validation split by, or None."""
        return None

    def _check_params(self):
        """Check the hyper-parameters against ``_parameter_constraints`` (merged over
        the class hierarchy); subclasses add checks that relate several of them."""
        check_params(self)
        _check_callbacks(self.callbacks)
        self._resolve_device()

    # ------------------------------------------------------------------ public API

    def fit(self, X, y=None):
        """Train a freshly initialised network for ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets (ignored by unsupervised models).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._check_params()
        data = self._as_data(self._prepare_fit_data(X, y, reset=True))
        self._seed = int(check_random_state(self.random_state).randint(_SEED_MAX))
        self.history_ = []
        self.n_epochs_ = 0
        self._train_state = None
        self._train(data, self.max_epochs, self._seed, fresh=True,
                    validation=self.early_stopping, schedule=True)
        return self

    def partial_fit(self, X, y=None, **kwargs):
        """One more epoch over ``(X, y)``, continuing from the current weights.

        The first call (on an unfitted estimator) initialises the network as ``fit``
        does. Later calls keep the weights and the optimiser's state (momenta) and use
        the current ``lr`` without a schedule or a validation split, so training can be
        continued or a fitted model fine-tuned on new data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets (ignored by unsupervised models).
        **kwargs : dict
            ``classes`` for classifiers (all labels, required to be known on the first
            call only when ``y`` does not contain every class).

        Returns
        -------
        self : object
            The estimator.
        """
        first = not hasattr(self, "module_")
        self._check_params()
        data = self._as_data(self._prepare_fit_data(X, y, reset=first, **kwargs))
        if first:
            self._seed = int(check_random_state(self.random_state).randint(_SEED_MAX))
            self.history_ = []
            self.n_epochs_ = 0
            self._train_state = None
        seed = _derived_seed(self._seed, self.n_epochs_)
        self._train(data, 1, seed, fresh=first, validation=False, schedule=False)
        return self

    # ------------------------------------------------------------------ the loop

    @staticmethod
    def _as_data(data):
        return tuple(data) if isinstance(data, (tuple, list)) else (data,)

    @staticmethod
    def _n_samples(data):
        return len(data[0])

    def _to_device(self, data, device):
        """``data`` with every NumPy array turned into a tensor on ``device`` (lists
        and None entries unchanged)."""
        torch = _torch()
        return tuple(torch.from_numpy(part).to(device) if isinstance(part, np.ndarray)
                     else part for part in data)

    def _resolve_device(self):
        dev = self.device
        torch = _torch()
        if isinstance(dev, torch.device):
            device = dev
        else:
            check_param(dev, "device", types=(str,))
            if dev == "auto":
                return torch.device("cuda" if torch.cuda.is_available() else "cpu")
            try:
                device = torch.device(dev)
            except (RuntimeError, ValueError):
                raise ValueError(
                    f"device must be 'auto', 'cpu', 'cuda' or 'cuda:<index>', got {dev!r}."
                ) from None
        if device.type == "cuda":
            if not torch.cuda.is_available():
                raise ValueError(
                    f"device={dev!r} but CUDA is not available on this machine "
                    "(torch.cuda.is_available() is False); use device='cpu' or 'auto'."
                )
            if device.index is not None and device.index >= torch.cuda.device_count():
                raise ValueError(
                    f"device={dev!r} but only {torch.cuda.device_count()} CUDA device(s) "
                    "are available."
                )
        elif device.type != "cpu":
            backend = getattr(torch.backends, device.type, None)
            if backend is None or not backend.is_available():
                raise ValueError(f"device={dev!r} is not available on this machine.")
        return device

    def _check_network_size(self, device):
        """Refuse, before any allocation, a network whose training state cannot fit in
        the memory of ``device`` (the module is built on torch's "meta" device, which
        allocates nothing and draws no random numbers)."""
        torch = _torch()
        try:
            with torch.device("meta"):
                meta = self._build_module()
        except RuntimeError as exc:  # a weight of more than 2**63 bytes
            if "overflow" not in str(exc):
                raise
            raise ValueError(
                f"{type(self).__name__}'s network is too large to exist: one weight "
                f"tensor alone exceeds 2**63 bytes ({exc}); reduce the layer sizes."
            ) from None
        n_params = sum(p.numel() for p in meta.parameters())
        check_fits_in_memory(
            n_params * _TRAIN_BYTES_PER_PARAM,
            f"{type(self).__name__}'s network of {n_params:,} parameters (float32 "
            "weights, gradients and optimiser state; reduce the layer sizes)",
            device)

    def _make_optimizer(self, params):
        optim = _torch().optim
        name, lr, wd = self.optimizer, float(self.lr), float(self.weight_decay)
        if name == "sgd":
            return optim.SGD(params, lr=lr, weight_decay=wd)
        if name == "momentum":
            return optim.SGD(params, lr=lr, momentum=_MOMENTUM, weight_decay=wd)
        if name == "nesterov":
            return optim.SGD(params, lr=lr, momentum=_MOMENTUM, nesterov=True,
                             weight_decay=wd)
        if name == "adagrad":
            return optim.Adagrad(params, lr=lr, weight_decay=wd)
        if name == "rmsprop":
            return optim.RMSprop(params, lr=lr, weight_decay=wd)
        if name == "adam":
            return optim.Adam(params, lr=lr, weight_decay=wd)
        return optim.AdamW(params, lr=lr, weight_decay=wd)

    def _lr_factor(self, epoch):
        """The schedule's multiplier of ``lr`` in ``epoch`` (0-based within ``fit``)."""
        if self.lr_schedule == "step":
            return _STEP_GAMMA ** (epoch // max(1, self.max_epochs // 3))
        if self.lr_schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * epoch / self.max_epochs))
        return 1.0

    def _split(self, data, seed):
        """``(train, valid)`` parts of ``data`` for early stopping."""
        from sklearn.model_selection import train_test_split

        n = self._n_samples(data)
        n_valid = math.ceil(self.validation_fraction * n)
        if n < 2 or n_valid >= n:
            raise ValueError(
                f"early_stopping needs a validation split of at least one sample and a "
                f"training set of at least one sample; got n_samples={n} with "
                f"validation_fraction={self.validation_fraction}."
            )
        idx = np.arange(n)
        strat = self._stratify_target(data[1]) if len(data) > 1 and data[1] is not None \
            else None
        try:
            tr, va = train_test_split(idx, test_size=n_valid, random_state=seed,
                                      stratify=strat)
        except ValueError:  # a class too small to stratify: fall back to a plain split
            tr, va = train_test_split(idx, test_size=n_valid, random_state=seed)
        tr, va = np.sort(tr), np.sort(va)
        return tuple(_take(p, tr) for p in data), tuple(_take(p, va) for p in data)

    def _train(self, data, n_epochs, seed, *, fresh, validation, schedule):
        torch = _torch()
        device = self._resolve_device()
        if fresh:
            self._check_network_size(device)
        with _seeded(torch, device, seed):
            if fresh:
                self.module_ = self._build_module()
            module = self.module_.to(device)
            key = (self.optimizer, float(self.weight_decay), str(device))
            state = getattr(self, "_train_state", None)
            if state is None or state["key"] != key:
                optimizers = self._build_optimizers(module)
                lr = float(self.lr)
                for opt in optimizers.values():
                    for group in opt.param_groups:
                        group["lr_ratio"] = group["lr"] / lr
                state = {"key": key, "optimizers": optimizers}
            self._train_state = state
            valid = None
            if validation:
                data, valid = self._split(data, seed)
            self._device = device
            self._loss_fn = self._build_loss(device)
            self._rng = torch.Generator(device=device).manual_seed(_derived_seed(seed, 1))
            try:
                self._epochs(state["optimizers"], device, seed, n_epochs,
                             self._to_device(data, device), valid, schedule)
            finally:
                del self._device, self._loss_fn, self._rng

    def _set_lr(self, optimizers, factor):
        lr = float(self.lr) * factor
        for opt in optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr * group.get("lr_ratio", 1.0)
        return lr

    def _epochs(self, optimizers, device, seed, n_epochs, data, valid, schedule):
        torch = _torch()
        module = self.module_
        n = self._n_samples(data)
        gen = torch.Generator().manual_seed(int(seed))
        callbacks = _check_callbacks(self.callbacks)
        epoch_hooks = [h for h in map(_epoch_hook, (cb for _, cb in callbacks)) if h]
        batch_hooks = [h for h in map(_batch_hook, (cb for _, cb in callbacks)) if h]
        best_loss, best_state, bad_epochs = math.inf, None, 0
        bar = self._progress_bar(n_epochs)
        try:
            for epoch in range(n_epochs):
                t0 = time.perf_counter()
                lr = self._set_lr(optimizers, self._lr_factor(epoch) if schedule else 1.0)
                module.train()
                totals = {}
                for b, batch in enumerate(self._batches(data, gen)):
                    out = self._train_step(batch, optimizers)
                    nb = self._n_samples(batch)
                    for k, v in out.items():
                        v = v.detach() * nb
                        totals[k] = totals[k] + v if k in totals else v
                    if bar is not None:
                        bar.set_postfix(loss=f"{float(out['loss']):.4g}", refresh=False)
                    if batch_hooks:
                        logs = {"epoch": self.n_epochs_ + 1, "batch": b + 1,
                                "n_samples": nb, **{k: float(v) for k, v in out.items()}}
                        for hook in batch_hooks:
                            hook(self, logs)
                means = {k: float(v) / n for k, v in totals.items()}
                train_loss = means.pop("loss")
                if not math.isfinite(train_loss):
                    raise ValueError(
                        f"{type(self).__name__} diverged in epoch {self.n_epochs_ + 1}: the "
                        f"training loss is {train_loss}. Lower lr (now {self.lr}), scale the "
                        "input features, or use a different optimizer."
                    )
                self.n_epochs_ += 1
                row = {"epoch": self.n_epochs_, "train_loss": train_loss, **means,
                       "valid_loss": None, "metric": None, "lr": lr}
                improved = False
                if valid is not None:
                    row["valid_loss"], row["metric"] = self._evaluate(valid)
                    if row["valid_loss"] < best_loss:
                        best_loss, bad_epochs, improved = row["valid_loss"], 0, True
                        best_state = {k: v.detach().clone()
                                      for k, v in module.state_dict().items()}
                    else:
                        bad_epochs += 1
                row["dur"] = time.perf_counter() - t0
                self.history_.append(row)
                if bar is not None:
                    post = {"loss": f"{train_loss:.4g}"}
                    if row["valid_loss"] is not None:
                        post["valid"] = f"{row['valid_loss']:.4g}" + ("*" if improved else "")
                    bar.set_postfix(post, refresh=False)
                    bar.update(1)
                stop = [hook for hook in epoch_hooks if hook(self, row) is True]
                if stop or (valid is not None and bad_epochs >= self.patience):
                    break
        finally:
            if bar is not None:
                bar.close()
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()

    def _progress_bar(self, n_epochs):
        if not self.verbose:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:  # tqdm is part of skml[deep]; without it, no bar
            return None
        return tqdm(total=n_epochs, desc=type(self).__name__, unit="epoch")

    def _evaluate(self, valid):
        """Validation loss and metric, in eval mode."""
        torch = _torch()
        Xv, tv = valid[0], valid[1]
        out = self._forward(Xv, to_numpy=False)
        target = torch.from_numpy(Xv if tv is None else tv).to(_output_device(out))
        with torch.no_grad():
            loss = float(self._loss_fn(out, target))
            metric = self._validation_metric(out, target)
        return loss, (None if metric is None else float(metric))

    # ------------------------------------------------------------------ inference

    def _validate_X(self, X):
        """Validate ``X`` at predict time; return it (float64/float32) and a float32 copy
        ready for torch."""
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return X, as_float32(X)

    def _forward(self, X32, fn=None, to_numpy=True):
        """Run ``fn(module, batch)`` (default: ``module(batch)``) over ``X32`` in batches,
        in eval mode under ``torch.no_grad()``; concatenate the outputs (tensors or tuples
        of tensors). The module's train/eval mode is restored afterwards."""
        torch = _torch()
        module = self.module_
        device = next(module.parameters()).device
        was_training = module.training
        module.eval()
        outs = []
        try:
            with torch.no_grad():
                Xt = torch.from_numpy(X32)
                step = self._inference_batch_size
                for start in range(0, Xt.shape[0], step):
                    xb = Xt[start:start + step].to(device)
                    outs.append(module(xb) if fn is None else fn(module, xb))
        finally:
            module.train(was_training)
        if isinstance(outs[0], tuple):
            out = tuple(torch.cat(parts) for parts in zip(*outs))
            _check_finite_output(self, out)
            return tuple(o.cpu().numpy() for o in out) if to_numpy else out
        out = torch.cat(outs)
        _check_finite_output(self, (out,))
        return out.cpu().numpy() if to_numpy else out

    # ------------------------------------------------------------------ pickling

    def __getstate__(self):
        state = dict(super().__getstate__())
        module = state.pop("module_", None)
        state.pop("_train_state", None)  # the optimiser is not pickled
        if module is not None:
            torch = _torch()
            buf = io.BytesIO()
            torch.save({k: v.detach().cpu() for k, v in module.state_dict().items()}, buf)
            state["_module_state"] = buf.getvalue()
        return state

    def __setstate__(self, state):
        state = dict(state)
        blob = state.pop("_module_state", None)
        super().__setstate__(state)
        self._train_state = None
        if blob is not None:
            torch = _torch()
            weights = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
            with _seeded(torch, torch.device("cpu"), 0):  # leave the global RNG untouched
                module = self._build_module()
            module.load_state_dict(weights)
            module.eval()
            self.module_ = module

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _check_finite_output(est, outputs):
    """A network that overflowed float32 on some rows (inputs far outside the training
    range) gives inf/NaN there: say so rather than return a silently wrong answer."""
    torch = _torch()
    for out in outputs:
        if out.is_floating_point() and not bool(torch.isfinite(out).all()):
            bad = int((~torch.isfinite(out)).reshape(out.shape[0], -1).any(1).sum())
            raise ValueError(
                f"{type(est).__name__}'s network gives non-finite values (overflow of "
                f"float32) for {bad} of {out.shape[0]} samples: their features are far "
                "outside the range seen in training; scale them as the training data."
            )


def _output_device(out):
    return (out[0] if isinstance(out, tuple) else out).device
