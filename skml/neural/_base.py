"""``NeuralEstimator``: the one training loop behind every deep model in skml.

Subclasses supply the network (``_build_module``), the loss (``_build_loss``) and the
conversion of ``(X, y)`` into training data (``_prepare_fit_data``) and, where they need
them, several optimisers (``_build_optimizers``), their own step (``_train_step``) or their
own batching (``_batches``); this class owns everything else: scikit-learn's training
vocabulary (``solver``, ``learning_rate_init``, ``alpha``, ``max_iter``, ``tol``,
``n_iter_no_change``, ``early_stopping``, ``warm_start``, ...) with scikit-learn's stopping
rules, sample weights, the device, torch's threads, seeding, ``history_`` and
``loss_curve_``, callbacks, the progress bar, batched inference in eval mode and pickling.

torch is imported lazily (inside methods), so this module and every estimator class can
be imported without it; constructing an estimator without torch raises an ImportError
that says what to install.
"""
import contextlib
import importlib
import importlib.util
import io
import inspect
import math
import numbers
import os
import time
import warnings
from abc import ABCMeta, abstractmethod

import numpy as np
from joblib import cpu_count
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.utils import Interval, Options, StrOptions, check_params, check_sample_weight
from skml.neural._docs import fill as _fill_doc
from skml.utils._param_validation import _Constraint

__all__ = ["NeuralEstimator", "SOLVERS", "LEARNING_RATES"]

#: Names accepted by ``solver=``: scikit-learn's three, then torch's other optimisers
#: (Definitions 3.79-3.83 of the notes).
SOLVERS = ("adam", "sgd", "lbfgs", "adamw", "rmsprop", "adagrad")
#: Values accepted by ``learning_rate=``: scikit-learn's three schedules (applied to
#: ``solver="sgd"`` only, as there), then skml's "step" and "cosine" (Remark 3.64; every
#: first-order solver).
LEARNING_RATES = ("constant", "invscaling", "adaptive", "step", "cosine")

_INSTALL_HINT = "pip install skml[deep]"
_AUTO_BATCH_SIZE = 200  # batch_size="auto": min(200, n_samples), as scikit-learn
_STEP_GAMMA = 0.1  # learning_rate="step": multiply the rate by this 3 times over max_iter
_ADAPTIVE_DIVISOR = 5.0  # learning_rate="adaptive": scikit-learn's division and floor
_ADAPTIVE_MIN_LR = 1e-6
_LBFGS_HISTORY = 10  # correction pairs kept, scipy's L-BFGS-B default (m=10)
# solver="lbfgs" stops when an iteration lowers the loss by less than this fraction: the
# float32 counterpart of scipy's ftol (the loss is computed in float32).
_LBFGS_FTOL = float(np.finfo(np.float32).eps)
# Torch's intra-op threads pay only above this much work (multiply-adds of one forward
# pass: parameters x rows) per thread: below it their wake-up and synchronisation cost
# more than they save. n_jobs=None gives one thread per this much work, and no more
# threads than there are idle cores: on a busy machine each parallel region waits a
# scheduler slice for its helpers (measured on 2 loaded cores: a digits-sized MLP epoch
# takes 42x longer on 2 threads than on 1, a 2x2048-unit one still 3x; user guide).
_WORK_PER_THREAD = 2**22
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


def training_params(local_vars):
    """The shared training parameters from a subclass ``__init__``'s ``locals()``.

    scikit-learn reads an estimator's parameters from its ``__init__`` signature, so every
    deep estimator spells the training vocabulary out there; this passes the values on to
    :class:`NeuralEstimator` in one call, ``super().__init__(**training_params(locals()))``,
    instead of repeating every ``name=name``.
    """
    return {name: local_vars[name] for name in _TRAINING_PARAM_NAMES}


def classes_and_codes(y):
    """``(classes, codes)`` of labels ``y``: the sorted distinct labels and the index of
    each label among them, with a ``ValueError`` for labels that cannot be ordered."""
    try:
        return np.unique(y, return_inverse=True)
    except TypeError:  # np.unique sorts: '<' between str and int fails
        raise ValueError(
            "y mixes labels of types that cannot be ordered into classes "
            "(e.g. str and int); give labels of one type.") from None


def require_y(est, y, hint=""):
    """The ``ValueError`` of a supervised ``fit`` called without ``y`` (scikit-learn's
    wording, which its ``check_requires_y_none`` looks for)."""
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y "
                         f"is None{hint}.")


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


def _fused(optimizer_cls, params, **kwargs):
    """``optimizer_cls(params, fused=True, **kwargs)``, torch's one-kernel update (15-25%
    faster epochs for MLPs of scikit-learn's sizes on a CPU, the same step up to
    rounding), or the per-parameter update where the device or dtype has no fused
    kernel."""
    try:
        return optimizer_cls(params, fused=True, **kwargs)
    except (RuntimeError, ValueError, TypeError):
        return optimizer_cls(params, **kwargs)


def _idle_cores():
    """Cores not busy with other work: the usable cores minus the 1-minute load
    average (all usable cores where the load is unknown)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not a Unix system
        return cpu_count()
    return max(1, int(cpu_count() - load + 0.5))


def _is_stochastic(est):
    """``partial_fit`` exists for the stochastic solvers only (as in scikit-learn)."""
    if est.solver == "lbfgs":
        raise AttributeError(
            "partial_fit is only available for stochastic optimizers. lbfgs is not "
            "stochastic."
        )
    return True


class NeuralEstimator(BaseEstimator, metaclass=ABCMeta):
    """Base class of skml's deep models: one training loop, used by every subclass.

    The training parameters are scikit-learn's ``MLPClassifier`` vocabulary, with its
    defaults and meanings, for every deep model; skml adds ``l1``, ``device``, ``n_jobs``
    and ``callbacks``. A subclass lists them all in its ``__init__`` (forwarded to
    ``super().__init__``) after its own parameters, declares ``_parameter_constraints``
    for its own, documents the shared ones with ``skml.neural._docs.fill`` and implements
    three hooks:

    * ``_prepare_fit_data(X, y, *, reset, sample_weight=None, **kwargs)`` validates the
      data (setting ``n_features_in_`` and e.g. ``classes_`` when ``reset``) and returns
      the training data: a tuple of per-sample parts aligned row by row, the first the
      network's input (NumPy arrays become tensors on the training device; lists stay
      lists). The default step reads ``(inputs, target, sample_weight)``: ``target``
      None means the input itself (autoencoders), ``sample_weight`` None means
      unweighted (``self._sample_weight`` checks the user's weights);
    * ``_build_module()`` returns a new ``torch.nn.Module`` built from the parameters and
      the attributes set by ``_prepare_fit_data`` (also called when unpickling, and on
      torch's "meta" device to size the network before allocating it);
    * ``_build_loss(device)`` returns ``loss(output, target)``: one value per sample (a
      tensor of shape ``(n,)``, which the loop averages with the sample weights) or a
      scalar, where ``output`` is whatever the module's ``forward`` returns.

    and, where the defaults do not fit the model:

    * ``_build_optimizers(module)`` returns ``{name: torch.optim.Optimizer}`` (default:
      ``{"module": self._make_optimizer(module.parameters())}``, the ``solver``). The
      loop sets each parameter group's rate every epoch to ``learning_rate_init`` times
      the schedule times the group's ratio to ``learning_rate_init`` when it was built,
      so a GAN may give its discriminator twice the generator's rate;
    * ``_train_step(batch, optimizers)`` takes one step and returns a dict of scalar
      tensors holding at least ``"loss"`` (what the loop monitors for ``tol``); every
      key is averaged into ``history_``, weighted by batch size, over the epoch's
      batches that reported it. It optimises through
      ``self._optimizer_step(optimizer, compute_loss, n_samples)``,
      which runs ``optimizer.step(closure)`` (so ``solver="lbfgs"`` can re-evaluate the
      loss in its line search) and adds the ``alpha``/``l1`` penalties of the weights
      that optimiser updates. Training-only randomness (input noise, a VAE's draws,
      diffusion's time steps) is drawn here from ``self._rng``, the loop's seeded
      ``torch.Generator`` on the training device, never inside ``forward``;
      ``self._loss_fn`` and ``self._device`` are the running fit's loss and device;
    * ``_batches(data, generator)`` yields one epoch's batches (default: the rows,
      shuffled with ``generator`` when ``shuffle``, in ``ceil(n / batch_size)`` slices
      of sizes differing by at most one), and ``_n_samples(data)`` counts samples;
    * ``_validation_score(data)``: the score ``early_stopping`` maximises on the
      held-out data (default: minus the mean loss; the MLPs use accuracy and R², as
      scikit-learn), and ``_stratify_target(target)`` the labels to stratify by.

    Parameters
    ----------
    %(training_params)s

    Attributes
    ----------
    %(training_attributes)s

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.2: losses, mini-batches
       (Definitions 3.22-3.24), optimisers (Definitions 3.79-3.83), learning-rate
       schedules (Remark 3.64).
    .. [2] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015.
    .. [3] D. C. Liu and J. Nocedal, "On the limited memory BFGS method for large
       scale optimization", Mathematical Programming 45, 1989.
    .. [4] I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization",
       ICLR 2019.
    """

    _parameter_constraints = {
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(numbers.Real, 0, None)],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None)],
        "learning_rate": [StrOptions(set(LEARNING_RATES))],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None)],
        "max_iter": [Interval(numbers.Integral, 1, None)],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None)],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(numbers.Real, 0, 1)],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None),
                             Options(numbers.Real, {np.inf})],
        "max_fun": [Interval(numbers.Integral, 1, None)],
        "l1": [Interval(numbers.Real, 0, None)],
        # a torch.device is accepted too (checked by _resolve_device)
        "device": [str, _TorchDevice()],
        "n_jobs": ["n_jobs"],
        "callbacks": [None, list, tuple],
    }

    # Rows per forward pass at inference (predict/transform/score).
    _inference_batch_size = 4096

    @abstractmethod
    def __init__(self, *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        require_torch(type(self).__name__)
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.l1 = l1
        self.device = device
        self.n_jobs = n_jobs
        self.callbacks = callbacks

    # ------------------------------------------------------------------ subclass hooks

    @abstractmethod
    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None, **kwargs):
        """Validate ``(X, y)``; return the training data, a tuple of per-sample parts
        (the default step reads ``(inputs, target, sample_weight)``)."""

    @abstractmethod
    def _build_module(self):
        """A new ``nn.Module`` for the current parameters and fitted attributes."""

    @abstractmethod
    def _build_loss(self, device):
        """``loss(output, target)`` -> per-sample losses of shape ``(n,)`` or a scalar."""

    def _build_optimizers(self, module):
        """``{name: torch.optim.Optimizer}`` over the parameters of ``module``: by
        default one, ``{"module": ...}``, for the ``solver``."""
        return {"module": self._make_optimizer(module.parameters())}

    def _batches(self, data, generator):
        """The mini-batches of one epoch over ``data`` (its arrays already tensors on
        the training device): the rows, shuffled with ``generator`` (a seeded CPU
        ``torch.Generator``) when ``shuffle``, cut into ``ceil(n / batch_size)``
        consecutive slices whose sizes differ by at most one (so batch normalisation
        never gets a batch of one); each batch is a tuple like ``data``. The L-BFGS
        solver takes all rows at once."""
        n = self._n_samples(data)
        batch_size = n if self.solver == "lbfgs" else self._resolved_batch_size(n)
        n_batches = math.ceil(n / batch_size)
        bounds = [round(i * n / n_batches) for i in range(n_batches + 1)]
        if self.shuffle and n_batches > 1:
            perm = _torch().randperm(n, generator=generator)
            device = next((p.device for p in data if _is_tensor(p)), None)
            if device is not None:
                perm = perm.to(device)
            data = tuple(_take(part, perm) for part in data)
        for b in range(n_batches):
            yield tuple(_slice(part, bounds[b], bounds[b + 1]) for part in data)

    def _train_step(self, batch, optimizers):
        """One optimisation step on ``batch``; returns ``{"loss": scalar tensor}``.

        Runs the module on the batch's input and averages the loss of ``_build_loss``
        against the target (the input itself when None) with the batch's sample
        weights, stepping the only optimiser through :meth:`_optimizer_step`.
        """
        inputs, target, weight = (tuple(batch) + (None, None))[:3]
        (optimizer,) = optimizers.values()
        module, loss_fn = self.module_, self._loss_fn
        n = len(inputs) if weight is None else weight.sum()
        if loss_fn is None:
            return self._loss_dict_step(module, inputs, target, optimizer, n)
        target = inputs if target is None else target

        def compute_loss():
            return self._weighted_mean(loss_fn(module(inputs), target), weight)

        return {"loss": self._optimizer_step(optimizer, compute_loss, n)}

    def _loss_dict_step(self, module, inputs, target, optimizer, n):
        """The default step of a module that computes its own losses (``_build_loss``
        returned None, as a detector's does): ``module(inputs, target)`` returns a dict
        of scalar losses in training mode; the step minimises their sum and reports
        ``{"loss": sum, **parts}``, each part detached (the loop averages every key
        into ``history_``). With L-BFGS the parts are those of the closure's last
        evaluation."""
        parts = {}

        def compute_loss():
            losses = module(inputs, target)
            if not isinstance(losses, dict) or not losses:
                raise TypeError(
                    f"{type(module).__name__} must return a non-empty dict of scalar losses"
                    f" in training mode when {type(self).__name__}._build_loss returns "
                    f"None; got {type(losses).__name__}.")
            parts.clear()
            parts.update({k: v.detach() for k, v in losses.items()})
            return sum(losses.values())

        loss = self._optimizer_step(optimizer, compute_loss, n)
        return {"loss": loss, **parts}

    @staticmethod
    def _weighted_mean(losses, weight):
        """The batch loss from per-sample ``losses`` (a scalar passes through):
        ``sum(w * l) / sum(w)``, scikit-learn's weighted average."""
        if losses.ndim == 0:
            return losses
        if weight is None:
            return losses.mean()
        return (losses * weight).sum() / weight.sum()

    def _optimizer_step(self, optimizer, compute_loss, n_samples):
        """``optimizer.step(closure)``, where the closure zeroes the gradients, evaluates
        ``compute_loss()`` plus the penalties of the weights (parameters with two or
        more dimensions) this optimiser updates, and back-propagates.

        The penalties are scikit-learn's L2 term ``alpha / (2 n_samples) * sum ||W||^2``
        (``n_samples``: the batch's total sample weight; for ``solver="adamw"``
        ``alpha`` is AdamW's decoupled decay instead) and skml's ``l1 * sum |W|``.
        Returns the detached loss at the parameters before the step (what scikit-learn
        records). The closure form lets ``torch.optim.LBFGS`` re-evaluate the loss.
        """
        l1 = float(self.l1)
        l2 = 0.0 if self.solver == "adamw" else float(self.alpha)
        weights = ([p for g in optimizer.param_groups for p in g["params"] if p.ndim > 1]
                   if l1 > 0 or l2 > 0 else [])
        torch = _torch()

        def closure():
            optimizer.zero_grad(set_to_none=True)
            loss = compute_loss()
            if l1 > 0:
                loss = loss + l1 * sum(w.abs().sum() for w in weights)
            loss.backward()
            if l2 > 0:
                # the L2 term's gradient coef * W added directly, and its value for the
                # reported loss: a third of the kernels autograd would run for it
                with torch.no_grad():
                    coef = l2 / n_samples
                    square = 0.0
                    for w in weights:
                        if w.grad is None:
                            w.grad = coef * w
                        elif torch.is_tensor(coef):
                            w.grad.addcmul_(w, coef)
                        else:
                            w.grad.add_(w, alpha=coef)
                        flat = w.reshape(-1)
                        square = square + flat @ flat
                    loss = loss.detach() + 0.5 * coef * square
            return loss

        return optimizer.step(closure).detach()

    def _validation_score(self, data):
        """The score ``early_stopping`` maximises on the held-out ``data`` (NumPy
        parts, as ``_prepare_fit_data`` returned them): minus the weighted mean loss
        in eval mode by default; NaN when the network's output is not finite."""
        torch = _torch()
        inputs, target, weight = (tuple(data) + (None, None))[:3]
        out = self._forward(inputs, to_numpy=False, check_finite=False)
        device = _output_device(out)
        target = torch.from_numpy(inputs if target is None else target).to(device)
        weight = None if weight is None else torch.from_numpy(weight).to(device)
        with torch.no_grad():
            loss = float(self._weighted_mean(self._loss_fn(out, target), weight))
        return -loss if math.isfinite(loss) else float("nan")

    def _stratify_target(self, target):
        """Labels to stratify the validation split by, or None."""
        return None

    def _check_params(self):
        """Check the hyper-parameters against ``_parameter_constraints`` (merged over
        the class hierarchy); subclasses add checks that relate several of them."""
        check_params(self)
        _check_callbacks(self.callbacks)
        self._resolve_device()

    def _sample_weight(self, sample_weight, n_samples):
        """The checked ``sample_weight`` as float32, or None when not given."""
        if sample_weight is None:
            return None
        return check_sample_weight(sample_weight, n_samples, dtype=np.float32)

    # ------------------------------------------------------------------ public API

    def fit(self, X, y=None, sample_weight=None):
        """Train the network on ``(X, y)``.

        A fresh network is initialised unless ``warm_start`` and the estimator is
        fitted, in which case training continues from the current weights (with a new
        optimiser, as scikit-learn). Training runs up to ``max_iter`` epochs (L-BFGS
        iterations for ``solver="lbfgs"``) and stops earlier by the rules of ``tol``
        and ``n_iter_no_change`` (on the training loss, or on the validation score with
        ``early_stopping``), or when a callback says so.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets (ignored by unsupervised models).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss (rows of zero weight are left out).

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            On invalid parameters or data, values beyond the float32 range, a network
            too large for the device's memory, or a training loss that diverges.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(_is_stochastic)
    def partial_fit(self, X, y=None, sample_weight=None, **kwargs):
        """One more epoch over ``(X, y)``, continuing from the current weights.

        The first call (on an unfitted estimator) initialises the network as ``fit``
        does. Later calls keep the weights and the optimiser's state (moments, an
        "invscaling"/"adaptive" rate) and use the current ``learning_rate_init``, so
        training can be continued or a fitted model fine-tuned on new data. Only for
        the stochastic solvers, without ``early_stopping`` (as scikit-learn).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets (ignored by unsupervised models).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.
        **kwargs : dict
            ``classes`` for classifiers.

        Returns
        -------
        self : object
            The estimator.

        Raises
        ------
        ValueError
            With ``early_stopping=True``, or as :meth:`fit`.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, **kwargs)

    # ------------------------------------------------------------------ the loop

    def _fit(self, X, y, *, sample_weight, incremental, **kwargs):
        self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        fresh = not hasattr(self, "module_") or not (self.warm_start or incremental)
        self._incremental = incremental  # for _prepare_fit_data's checks
        try:
            data = self._prepare_fit_data(X, y, reset=fresh, sample_weight=sample_weight,
                                          **kwargs)
        finally:
            del self._incremental
        data = tuple(data) if isinstance(data, (tuple, list)) else (data,)
        if sample_weight is not None and (len(data) < 3 or data[2] is None):
            raise ValueError(f"{type(self).__name__} does not support sample_weight.")
        data = self._drop_zero_weights(data)
        if fresh:
            self._initialize()
            seed = self._seed
        else:  # warm start / partial_fit: a new shuffling stream per call
            seed = _derived_seed(self._seed, len(self.history_))
            self._continue_stopping_state(incremental)
        self._train(data, seed, fresh=fresh, incremental=incremental)
        return self

    def _initialize(self):
        """Fitted state that a fresh fit starts from (scikit-learn's ``_initialize``)."""
        self._seed = int(check_random_state(self.random_state).randint(_SEED_MAX))
        self.history_ = []
        self.loss_curve_ = []
        self.t_ = 0
        self._no_improvement_count = 0
        self._best_state = None
        self._train_state = None
        if self.early_stopping and self.solver != "lbfgs":
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _continue_stopping_state(self, incremental):
        """A warm start may switch ``early_stopping``: start the bookkeeping the rule
        now in force needs (the other rule's is kept as it was)."""
        if self.early_stopping and not incremental and self.solver != "lbfgs":
            if self.validation_scores_ is None:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self._no_improvement_count = 0
            self.best_loss_ = None
        elif self.best_loss_ is None:
            self.best_loss_ = min(self.loss_curve_, default=np.inf)
            self._no_improvement_count = 0

    @staticmethod
    def _drop_zero_weights(data):
        """Rows of zero sample weight change nothing in the weighted loss: leave them
        out (a batch of only such rows would have no defined mean)."""
        if len(data) < 3 or data[2] is None:
            return data
        keep = np.flatnonzero(data[2] > 0)
        if len(keep) == len(data[2]):
            return data
        return tuple(_take(part, keep) for part in data)

    @staticmethod
    def _n_samples(data):
        return len(data[0])

    def _resolved_batch_size(self, n):
        if self.batch_size == "auto":
            return min(_AUTO_BATCH_SIZE, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          "going to be clipped")
        return min(int(self.batch_size), n)

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

    def _meta_module(self):
        """The network built on torch's "meta" device: shapes only, nothing allocated and
        no random numbers drawn."""
        torch = _torch()
        try:
            with torch.device("meta"):
                return self._build_module()
        except RuntimeError as exc:  # a weight of more than 2**63 bytes
            if "overflow" not in str(exc):
                raise
            raise ValueError(
                f"{type(self).__name__}'s network is too large to exist: one weight "
                f"tensor alone exceeds 2**63 bytes ({exc}); reduce the layer sizes."
            ) from None

    def _check_network_size(self, device):
        """Refuse, before any allocation, a network whose training state cannot fit in
        the memory of ``device``."""
        n_params = sum(p.numel() for p in self._meta_module().parameters())
        check_fits_in_memory(
            n_params * _TRAIN_BYTES_PER_PARAM,
            f"{type(self).__name__}'s network of {n_params:,} parameters (float32 "
            "weights, gradients and optimiser state; reduce the layer sizes)",
            device)

    def _check_warm_start(self):
        """A warm start continues the fitted network: its shapes must be those the
        current parameters build."""
        expected = {k: tuple(v.shape) for k, v in self._meta_module().state_dict().items()}
        current = {k: tuple(v.shape) for k, v in self.module_.state_dict().items()}
        if expected != current:
            raise ValueError(
                f"warm_start=True continues the fitted network, but the current "
                f"parameters of {type(self).__name__} build a different one (changed "
                "layer sizes?); set warm_start=False to train a new network."
            )

    def _make_optimizer(self, params):
        """The ``torch.optim`` optimiser of ``solver`` over ``params``."""
        optim = _torch().optim
        params = list(params)
        lr, eps = float(self.learning_rate_init), float(self.epsilon)
        betas = (float(self.beta_1), float(self.beta_2))
        solver = self.solver
        if solver == "sgd":
            momentum = float(self.momentum)
            return _fused(optim.SGD, params, lr=lr, momentum=momentum,
                          nesterov=bool(self.nesterovs_momentum) and momentum > 0)
        if solver == "adam":
            return _fused(optim.Adam, params, lr=lr, betas=betas, eps=eps)
        if solver == "adamw":  # decoupled decay of the weight matrices only
            decay = [p for p in params if p.ndim > 1]
            rest = [p for p in params if p.ndim <= 1]
            groups = [g for g in ({"params": decay, "weight_decay": float(self.alpha)},
                                  {"params": rest, "weight_decay": 0.0}) if g["params"]]
            return _fused(optim.AdamW, groups, lr=lr, betas=betas, eps=eps)
        if solver == "rmsprop":
            return optim.RMSprop(params, lr=lr, eps=eps)
        if solver == "adagrad":
            return _fused(optim.Adagrad, params, lr=lr, eps=eps)
        return optim.LBFGS(params, lr=1.0, max_iter=1, max_eval=int(self.max_fun),
                           tolerance_grad=float(self.tol), history_size=_LBFGS_HISTORY,
                           line_search_fn="strong_wolfe")

    def _split(self, data, seed):
        """``(train, valid)`` parts of ``data`` for early stopping (stratified by
        ``_stratify_target``, as scikit-learn)."""
        from sklearn.model_selection import train_test_split

        n = self._n_samples(data)
        n_valid = math.ceil(float(self.validation_fraction) * n)
        target = data[1] if len(data) > 1 else None
        strat = None if target is None else self._stratify_target(target)
        if 0 < n_valid < n:
            tr, va = train_test_split(np.arange(n), test_size=n_valid, random_state=seed,
                                      stratify=strat)
        if n_valid < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the "
                f"size of your dataset (early_stopping holds out {n_valid} of {n} samples; "
                "at least 2 are needed)."
            )
        if n - n_valid < 1:
            raise ValueError(
                f"early_stopping leaves no training sample: validation_fraction="
                f"{self.validation_fraction} of {n} samples."
            )
        tr, va = np.sort(tr), np.sort(va)
        return tuple(_take(p, tr) for p in data), tuple(_take(p, va) for p in data)

    def _n_threads(self, rows):
        """Torch intra-op threads for running the network on ``rows`` rows at a time:
        ``n_jobs`` resolved as in joblib, or for ``None`` one thread per
        ``_WORK_PER_THREAD`` multiply-adds of a forward pass, at most the threads torch
        has now and the idle cores, so small networks never pay for threads they cannot
        use."""
        torch = _torch()
        if self.n_jobs is None:
            n_params = sum(p.numel() for p in self.module_.parameters())
            by_work = (n_params * rows) // _WORK_PER_THREAD
            if by_work <= 1:
                return 1
            return max(1, min(torch.get_num_threads(), by_work, _idle_cores()))
        if self.n_jobs < 0:
            return max(1, cpu_count() + 1 + int(self.n_jobs))
        return int(self.n_jobs)

    @contextlib.contextmanager
    def _torch_threads(self, rows):
        """Torch's intra-op threads set for running the network (CPU only), restored
        afterwards."""
        torch = _torch()
        before = torch.get_num_threads()
        on_cpu = next(self.module_.parameters()).device.type == "cpu"
        n = self._n_threads(rows) if on_cpu else before
        if n != before:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)

    def _train(self, data, seed, *, fresh, incremental):
        torch = _torch()
        device = self._resolve_device()
        if fresh:
            self._check_network_size(device)
        else:
            self._check_warm_start()
        with _seeded(torch, device, seed):
            if fresh:
                self.module_ = self._build_module()
            module = self.module_.to(device)
            state = getattr(self, "_train_state", None)
            key = (self.solver, str(device))
            if not incremental or state is None or state["key"] != key:
                optimizers = self._build_optimizers(module)
                lr = float(self.learning_rate_init)
                for opt in optimizers.values():
                    for group in opt.param_groups:
                        group["lr_ratio"] = group["lr"] / lr
                # lr_factor: the scikit-learn schedules' state ("invscaling", "adaptive")
                state = {"key": key, "optimizers": optimizers, "lr_factor": 1.0}
            self._train_state = state
            valid = None
            if self.early_stopping and not incremental and self.solver != "lbfgs":
                data, valid = self._split(data, seed)
            n = self._n_samples(data)
            rows = n if self.solver == "lbfgs" else self._resolved_batch_size(n)
            self._device = device
            self._loss_fn = self._build_loss(device)
            self._rng = torch.Generator(device=device).manual_seed(_derived_seed(seed, 1))
            try:
                with self._torch_threads(rows):
                    self._epochs(state, seed, self._to_device(data, device), valid,
                                 incremental)
            finally:
                del self._device, self._loss_fn, self._rng

    def _set_learning_rate(self, state, epoch, incremental):
        """Set every group's rate for this epoch; return the base rate."""
        schedule, solver = self.learning_rate, self.solver
        factor = 1.0
        if schedule in ("invscaling", "adaptive"):
            factor = state["lr_factor"] if solver == "sgd" else 1.0
        elif schedule == "step" and not incremental:
            factor = _STEP_GAMMA ** (epoch // max(1, int(self.max_iter) // 3))
        elif schedule == "cosine" and not incremental:
            factor = 0.5 * (1.0 + math.cos(math.pi * epoch / int(self.max_iter)))
        lr = float(self.learning_rate_init) * factor
        for opt in state["optimizers"].values():
            if isinstance(opt, _torch().optim.LBFGS):
                continue  # the line search sets L-BFGS's step
            for group in opt.param_groups:
                group["lr"] = lr * group.get("lr_ratio", 1.0)
        return lr

    def _lbfgs_state(self, state):
        """``(iterations, function evaluations)`` of the L-BFGS optimiser, if any."""
        for opt in state["optimizers"].values():
            if isinstance(opt, _torch().optim.LBFGS):
                st = opt.state[opt.param_groups[0]["params"][0]]
                return st.get("n_iter", 0), st.get("func_evals", 0)
        return None

    def _update_no_improvement(self, loss, score):
        """scikit-learn's ``_update_no_improvement_count``: on the validation score with
        early stopping (keeping the best weights), else on the training loss."""
        tol = float(self.tol)
        if score is not None:
            self.validation_scores_.append(score)
            best = self.best_validation_score_
            self._no_improvement_count = (self._no_improvement_count + 1
                                          if score < best + tol else 0)
            if score > best:
                self.best_validation_score_ = score
                self._best_state = {k: v.detach().clone()
                                    for k, v in self.module_.state_dict().items()}
        else:
            self._no_improvement_count = (self._no_improvement_count + 1
                                          if loss > self.best_loss_ - tol else 0)
            if loss < self.best_loss_:
                self.best_loss_ = loss

    def _epochs(self, state, seed, data, valid, incremental):
        torch = _torch()
        module, optimizers = self.module_, state["optimizers"]
        n = self._n_samples(data)
        n_epochs = 1 if incremental else int(self.max_iter)
        lbfgs = self._lbfgs_state(state) is not None
        gen = torch.Generator().manual_seed(int(seed))
        callbacks = _check_callbacks(self.callbacks)
        epoch_hooks = [h for h in map(_epoch_hook, (cb for _, cb in callbacks)) if h]
        batch_hooks = [h for h in map(_batch_hook, (cb for _, cb in callbacks)) if h]
        bar = self._progress_bar(n_epochs)
        self.n_iter_ = 0
        stopped = None  # why training ended before n_epochs: "converged", "callback", ...
        try:
            for epoch in range(n_epochs):
                t0 = time.perf_counter()
                lr = self._set_learning_rate(state, epoch, incremental)
                before = self._lbfgs_state(state)
                module.train()
                # the step's losses stay tensors until the epoch ends: no device sync and
                # no extra kernel per batch
                losses = {}
                for b, batch in enumerate(self._batches(data, gen)):
                    out = self._train_step(batch, optimizers)
                    nb = self._n_samples(batch)
                    for k, v in out.items():
                        losses.setdefault(k, ([], []))
                        losses[k][0].append(v.detach())
                        losses[k][1].append(nb)
                    if batch_hooks:
                        logs = {"epoch": len(self.history_) + 1, "batch": b + 1,
                                "n_samples": nb, **{k: float(v) for k, v in out.items()}}
                        for hook in batch_hooks:
                            hook(self, logs)
                means = self._epoch_means(losses)
                loss = means.pop("loss")
                diverged = not math.isfinite(loss)
                if diverged and (valid is None or self._best_state is None):
                    raise ValueError(
                        f"{type(self).__name__} diverged in epoch {len(self.history_) + 1}:"
                        f" the training loss is {loss}. Lower learning_rate_init (now "
                        f"{self.learning_rate_init}), scale the input features, or use "
                        "another solver."
                    )
                self.n_iter_ += 1
                self.t_ += n
                self.loss_ = loss
                self.loss_curve_.append(loss)
                score = None if valid is None else self._validation_score(valid)
                row = {"epoch": len(self.history_) + 1, "loss": loss, **means,
                       "validation_score": score, "learning_rate": lr}
                if lbfgs:
                    stopped = self._lbfgs_stop(before, self._lbfgs_state(state))
                else:
                    self._update_no_improvement(loss, score)
                    if self.learning_rate == "invscaling" and self.solver == "sgd":
                        state["lr_factor"] = 1.0 / (self.t_ + 1) ** float(self.power_t)
                    if self._no_improvement_count > self.n_iter_no_change:
                        if (self.learning_rate == "adaptive" and self.solver == "sgd"
                                and lr > _ADAPTIVE_MIN_LR):
                            state["lr_factor"] /= _ADAPTIVE_DIVISOR
                            self._no_improvement_count = 0
                        else:
                            stopped = "converged"
                if self.best_loss_ is not None and loss < self.best_loss_:
                    self.best_loss_ = loss
                row["dur"] = time.perf_counter() - t0
                self.history_.append(row)
                self._report(bar, row)
                if [hook for hook in epoch_hooks if hook(self, row) is True]:
                    stopped = stopped or "callback"
                if diverged:
                    stopped = "diverged"
                if stopped:
                    break
        finally:
            if bar is not None:
                bar.close()
        if valid is not None and self._best_state is not None:
            module.load_state_dict(self._best_state)
        module.eval()
        if not incremental and stopped in (None, "max_fun"):
            warnings.warn(
                f"{type(self).__name__}: "
                + (f"the number of loss evaluations reached max_fun={self.max_fun}"
                   if stopped == "max_fun" else
                   f"maximum iterations ({self.max_iter}) reached")
                + " and the optimization hasn't converged yet.", ConvergenceWarning)

    @staticmethod
    def _epoch_means(losses):
        """Each step loss averaged over the batches that reported it, weighted by their
        sizes: ``{key: ([values], [sizes])}`` -> ``{key: float}``."""
        torch = _torch()
        means = {}
        for key, (values, sizes) in losses.items():
            stacked = torch.stack([v.to(torch.float64) for v in values])
            weights = torch.tensor(sizes, dtype=torch.float64, device=stacked.device)
            means[key] = float((stacked * weights).sum()) / sum(sizes)
        return means

    def _lbfgs_stop(self, before, after):
        """Why L-BFGS stops after this iteration, or None: its gradient is below
        ``tol`` (no iteration was taken), the loss barely moved, or ``max_fun``."""
        if after[0] == before[0]:
            return "converged"
        curve = self.loss_curve_
        if len(curve) >= 2:
            prev, cur = curve[-2], curve[-1]
            if prev - cur <= _LBFGS_FTOL * max(abs(prev), abs(cur), 1.0):
                return "converged"
        if after[1] >= self.max_fun:
            return "max_fun"
        return None

    def _report(self, bar, row):
        """The progress bar (``verbose >= 1``) and scikit-learn's per-epoch lines
        (``verbose >= 2``)."""
        if bar is not None:
            post = {"loss": f"{row['loss']:.4g}"}
            if row["validation_score"] is not None:
                post["valid"] = f"{row['validation_score']:.4g}"
            bar.set_postfix(post, refresh=False)
            bar.update(1)
        if self.verbose >= 2:
            print(f"Iteration {row['epoch']}, loss = {row['loss']:.8f}")
            if row["validation_score"] is not None:
                print(f"Validation score: {row['validation_score']:f}")

    def _progress_bar(self, n_epochs):
        if not self.verbose:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:  # tqdm is part of skml[deep]; without it, no bar
            return None
        return tqdm(total=n_epochs, desc=type(self).__name__, unit="epoch")

    # ------------------------------------------------------------------ inference

    def _validate_X(self, X):
        """Validate ``X`` at predict time; return it (float64/float32) and a float32 copy
        ready for torch."""
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return X, as_float32(X)

    def _forward(self, X32, fn=None, to_numpy=True, check_finite=True):
        """Run ``fn(module, batch)`` (default: ``module(batch)``) over ``X32`` in batches,
        in eval mode under ``torch.no_grad()`` with the threads of ``n_jobs``; concatenate
        the outputs (tensors or tuples of tensors). The module's train/eval mode is
        restored afterwards. Non-finite outputs raise a ``ValueError`` (float32 overflow
        on inputs far outside the training range) unless ``check_finite=False``."""
        torch = _torch()
        module = self.module_
        device = next(module.parameters()).device
        was_training = module.training
        module.eval()
        outs = []
        step = self._inference_batch_size
        try:
            with torch.no_grad(), self._torch_threads(min(len(X32), step)):
                Xt = torch.from_numpy(X32)
                for start in range(0, Xt.shape[0], step):
                    xb = Xt[start:start + step].to(device)
                    outs.append(module(xb) if fn is None else fn(module, xb))
        finally:
            module.train(was_training)
        if isinstance(outs[0], tuple):
            out = tuple(torch.cat(parts) for parts in zip(*outs))
        else:
            out = torch.cat(outs)
        if check_finite:
            _check_finite_output(self, out if isinstance(out, tuple) else (out,))
        if not to_numpy:
            return out
        return tuple(o.cpu().numpy() for o in out) if isinstance(out, tuple) \
            else out.cpu().numpy()

    def _outputs(self, inputs, check_finite=True):
        """The network's outputs for prediction inputs (NumPy); a model whose input is
        not one array (a GNN's graphs) runs its own batching here."""
        return self._forward(inputs, check_finite=check_finite)

    # ------------------------------------------------------------------ pickling

    def __getstate__(self):
        state = dict(super().__getstate__())
        module = state.pop("module_", None)
        state.pop("_train_state", None)  # the optimisers are not pickled
        state.pop("_best_state", None)
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
        self._best_state = None
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
    """The device of a module's output (a tensor or a tuple of tensors)."""
    return (out[0] if isinstance(out, tuple) else out).device


NeuralEstimator.__doc__ = _fill_doc(NeuralEstimator.__doc__)

# the parameters of NeuralEstimator.__init__, passed on by training_params()
_TRAINING_PARAM_NAMES = tuple(inspect.signature(NeuralEstimator.__init__).parameters)[1:]
