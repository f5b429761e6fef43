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

from skml.utils import check_param

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


def _check_callbacks(callbacks):
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"callbacks must be None or a list of (name, callable) pairs, got {callbacks!r}."
        )
    names = set()
    for item in callbacks:
        ok = (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
              and callable(item[1]))
        if not ok:
            raise TypeError(
                f"callbacks must be a list of (name, callable) pairs, got the entry {item!r}."
            )
        if item[0] in names:
            raise ValueError(f"callbacks have the name {item[0]!r} more than once.")
        names.add(item[0])
    return list(callbacks)


class NeuralEstimator(BaseEstimator, metaclass=ABCMeta):
    """Base class of skml's deep models: one training loop, used by every subclass.

    Subclasses define ``__init__`` with all of their parameters (these training
    parameters included, as keyword arguments forwarded to ``super().__init__``) and
    implement three hooks:

    * ``_prepare_fit_data(X, y, *, reset, **kwargs)`` validates the data (setting
      ``n_features_in_`` and e.g. ``classes_`` when ``reset``) and returns
      ``(X32, target)``: a float32 C-contiguous array and the target array (int64 or
      float32), or ``None`` when the target is the input itself (autoencoders);
    * ``_build_module()`` returns a new ``torch.nn.Module`` built from the parameters and
      the attributes set by ``_prepare_fit_data`` (it is also called when unpickling);
    * ``_build_loss(device)`` returns ``loss(output, target) -> scalar tensor`` (the mean
      over the batch), where ``output`` is whatever the module's ``forward`` returns.

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
    callbacks : list of (str, callable) or None, default=None
        Each ``callback(estimator, row)`` is called at the end of every epoch with the
        estimator and that epoch's ``history_`` row (a dict it may add keys to). If a
        callback returns ``True`` training stops after that epoch. Callbacks are
        parameters, so they are cloned and pickled with the estimator: use picklable
        objects (module-level functions or class instances), not lambdas, to pickle.

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
        """Validate ``(X, y)``; return ``(X32, target or None)``."""

    @abstractmethod
    def _build_module(self):
        """A new ``nn.Module`` for the current parameters and fitted attributes."""

    @abstractmethod
    def _build_loss(self, device):
        """``loss(output, target) -> scalar tensor``."""

    def _validation_metric(self, output, target):
        """A float summarising the validation predictions, or None."""
        return None

    def _stratify_target(self, target):
        """Labels to stratify the validation split by, or None."""
        return None

    def _check_params(self):
        """Check the hyper-parameters; subclasses extend it (calling super)."""
        check_param(self.optimizer, "optimizer", types=(str,), options=OPTIMIZERS)
        check_param(self.lr, "lr", types=(numbers.Real,), min_val=0, closed="neither")
        check_param(self.weight_decay, "weight_decay", types=(numbers.Real,), min_val=0)
        check_param(self.l1, "l1", types=(numbers.Real,), min_val=0)
        check_param(self.batch_size, "batch_size", types=(numbers.Integral,), min_val=1)
        check_param(self.max_epochs, "max_epochs", types=(numbers.Integral,), min_val=1)
        check_param(self.lr_schedule, "lr_schedule", types=(str, type(None)),
                    options=LR_SCHEDULES)
        check_param(self.early_stopping, "early_stopping", types=(bool,))
        check_param(self.validation_fraction, "validation_fraction", types=(numbers.Real,),
                    min_val=0, max_val=1, closed="neither")
        check_param(self.patience, "patience", types=(numbers.Integral,), min_val=1)
        check_param(self.verbose, "verbose", types=(numbers.Integral, bool))
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
        X32, target = self._prepare_fit_data(X, y, reset=True)
        self._seed = int(check_random_state(self.random_state).randint(_SEED_MAX))
        self.history_ = []
        self.n_epochs_ = 0
        self._train_state = None
        self._train(X32, target, self.max_epochs, self._seed, fresh=True,
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
        X32, target = self._prepare_fit_data(X, y, reset=first, **kwargs)
        if first:
            self._seed = int(check_random_state(self.random_state).randint(_SEED_MAX))
            self.history_ = []
            self.n_epochs_ = 0
            self._train_state = None
        seed = int(np.random.SeedSequence([self._seed, self.n_epochs_]).generate_state(1)[0])
        self._train(X32, target, 1, seed, fresh=first, validation=False, schedule=False)
        return self

    # ------------------------------------------------------------------ the loop

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

    def _make_scheduler(self, optimizer):
        sched = _torch().optim.lr_scheduler
        if self.lr_schedule == "step":
            return sched.StepLR(optimizer, step_size=max(1, self.max_epochs // 3),
                                gamma=_STEP_GAMMA)
        if self.lr_schedule == "cosine":
            return sched.CosineAnnealingLR(optimizer, T_max=self.max_epochs)
        return None

    def _split(self, X32, target, seed):
        from sklearn.model_selection import train_test_split

        n = X32.shape[0]
        n_valid = math.ceil(self.validation_fraction * n)
        if n < 2 or n_valid >= n:
            raise ValueError(
                f"early_stopping needs a validation split of at least one sample and a "
                f"training set of at least one sample; got n_samples={n} with "
                f"validation_fraction={self.validation_fraction}."
            )
        idx = np.arange(n)
        strat = self._stratify_target(target) if target is not None else None
        try:
            tr, va = train_test_split(idx, test_size=n_valid, random_state=seed,
                                      stratify=strat)
        except ValueError:  # a class too small to stratify: fall back to a plain split
            tr, va = train_test_split(idx, test_size=n_valid, random_state=seed)
        tr, va = np.sort(tr), np.sort(va)
        t_tr = None if target is None else target[tr]
        t_va = None if target is None else target[va]
        return X32[tr], t_tr, X32[va], t_va

    def _train(self, X32, target, n_epochs, seed, *, fresh, validation, schedule):
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
                state = {"key": key, "optimizer": self._make_optimizer(module.parameters())}
            self._train_state = state
            optimizer = state["optimizer"]
            for group in optimizer.param_groups:
                group["lr"] = float(self.lr)
            scheduler = self._make_scheduler(optimizer) if schedule else None
            if validation:
                X32, target, Xv, tv = self._split(X32, target, seed)
            self._epochs(module, optimizer, scheduler, device, seed, n_epochs,
                         X32, target, (Xv, tv) if validation else None)

    def _epochs(self, module, optimizer, scheduler, device, seed, n_epochs, X32, target,
                valid):
        torch = _torch()
        loss_fn = self._build_loss(device)
        Xt = torch.from_numpy(X32).to(device)
        Tt = None if target is None else torch.from_numpy(target).to(device)
        n = Xt.shape[0]
        n_batches = math.ceil(n / min(int(self.batch_size), n))
        bounds = [round(i * n / n_batches) for i in range(n_batches + 1)]
        l1 = float(self.l1)
        weights = [p for p in module.parameters() if p.ndim > 1] if l1 > 0 else []
        gen = torch.Generator().manual_seed(int(seed))
        callbacks = _check_callbacks(self.callbacks)
        best_loss, best_state, bad_epochs = math.inf, None, 0
        bar = self._progress_bar(n_epochs)
        try:
            for _ in range(n_epochs):
                t0 = time.perf_counter()
                lr = optimizer.param_groups[0]["lr"]
                module.train()
                perm = torch.randperm(n, generator=gen).to(device)
                Xp = Xt[perm]
                Tp = Xp if Tt is None else Tt[perm]
                total = torch.zeros((), device=device)
                for b in range(n_batches):
                    lo, hi = bounds[b], bounds[b + 1]
                    xb, tb = Xp[lo:hi], Tp[lo:hi]
                    loss = loss_fn(module(xb), tb)
                    if l1 > 0:
                        loss = loss + l1 * sum(w.abs().sum() for w in weights)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total += loss.detach() * (hi - lo)
                    if bar is not None:
                        bar.set_postfix(loss=f"{loss.item():.4g}", refresh=False)
                train_loss = float(total) / n
                if not math.isfinite(train_loss):
                    raise ValueError(
                        f"{type(self).__name__} diverged in epoch {self.n_epochs_ + 1}: the "
                        f"training loss is {train_loss}. Lower lr (now {self.lr}), scale the "
                        "input features, or use a different optimizer."
                    )
                if scheduler is not None:
                    scheduler.step()
                self.n_epochs_ += 1
                row = {"epoch": self.n_epochs_, "train_loss": train_loss,
                       "valid_loss": None, "metric": None, "lr": lr}
                improved = False
                if valid is not None:
                    row["valid_loss"], row["metric"] = self._evaluate(valid, loss_fn)
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
                stop = [name for name, cb in callbacks if cb(self, row) is True]
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

    def _evaluate(self, valid, loss_fn):
        """Validation loss and metric, in eval mode."""
        torch = _torch()
        Xv, tv = valid
        out = self._forward(Xv, to_numpy=False)
        target = torch.from_numpy(Xv if tv is None else tv).to(_output_device(out))
        with torch.no_grad():
            loss = float(loss_fn(out, target))
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
