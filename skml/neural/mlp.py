"""Multilayer perceptrons for classification and regression on the torch backend, with
scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` constructor and fitted attributes."""
import numbers

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from skml.neural._base import (
    MAX_WIDTH,
    NeuralEstimator,
    _torch,
    as_float32,
    training_params,
)
from skml.neural._docs import fill
from skml.neural._mixins import (  # noqa: F401 (target_scaling: public name here)
    NeuralClassifierMixin,
    NeuralRegressorMixin,
    target_scaling,
)
from skml.utils import Interval, StrOptions, check_param, store_init_params

__all__ = ["MLPClassifier", "MLPRegressor"]

#: Names accepted by ``activation=`` (§3.2.5 of the notes; "logistic" and "identity" are
#: scikit-learn's names). Each maps onto the torch.nn layer of that name.
ACTIVATIONS = ("identity", "logistic", "sigmoid", "tanh", "relu", "leaky_relu", "elu",
               "gelu", "silu", "softplus")
NORMS = (None, "batch", "layer")
#: ``loss=`` of MLPRegressor: scikit-learn's two, then skml's two.
REGRESSION_LOSSES = ("squared_error", "poisson", "absolute_error", "huber")
# Without normalize_y the network trains on y itself in float32, where squared errors
# overflow (float32 max ~3.4e38) once |y| reaches ~1.8e19: refuse targets beyond this.
_Y_MAX_UNSCALED = 1e18
_FLOAT32_MAX = float(np.finfo(np.float32).max)

_REFERENCES = """\
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.2: the multilayer
       perceptron, activations (§3.2.5), losses, dropout (Remarks 3.31-3.32),
       normalisation (Remarks 3.58-3.61), optimisers (Definitions 3.79-3.83).
    .. [2] D. E. Rumelhart, G. E. Hinton and R. J. Williams, "Learning representations
       by back-propagating errors", Nature 323, 1986.
    .. [3] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015.
    .. [4] D. C. Liu and J. Nocedal, "On the limited memory BFGS method for large
       scale optimization", Mathematical Programming 45, 1989.
    .. [5] X. Glorot and Y. Bengio, "Understanding the difficulty of training deep
       feedforward neural networks", AISTATS 2010 (the initialisation).
    .. [6] N. Srivastava et al., "Dropout: A Simple Way to Prevent Neural Networks
       from Overfitting", JMLR 15, 2014; S. Ioffe and C. Szegedy, "Batch
       Normalization", ICML 2015."""


def check_hidden_layer_sizes(sizes, name="hidden_layer_sizes"):
    """A tuple of positive ints from an int or a sequence of ints."""
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = (sizes,)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {sizes!r}.") from None
    for s in sizes:
        check_param(s, f"each of {name}", types=(numbers.Integral,), min_val=1,
                    max_val=MAX_WIDTH)
    return tuple(int(s) for s in sizes)


class _BaseMLP(NeuralEstimator):
    """Shared parts of the MLP classifier and regressor."""

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, MAX_WIDTH)],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "norm": [None, StrOptions({n for n in NORMS if n is not None})],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def _check_params(self):
        super()._check_params()
        check_hidden_layer_sizes(self.hidden_layer_sizes)

    def _check_batch_norm_data(self, n_samples):
        small = n_samples < 2 or (self.solver != "lbfgs" and self.batch_size != "auto"
                                  and self.batch_size < 2)
        if self.norm == "batch" and small:
            raise ValueError(
                "norm='batch' needs batches of at least 2 samples; got "
                f"n_samples={n_samples} and batch_size={self.batch_size}."
            )

    def _fit_attributes(self, X, n_outputs):
        """The architecture attributes scikit-learn's MLPs have."""
        self._fit_dtype = X.dtype
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(check_hidden_layer_sizes(self.hidden_layer_sizes)) + 2

    def _build_module(self):
        from skml.neural._modules.mlp import MLP, glorot_uniform_

        module = MLP(self.n_features_in_, check_hidden_layer_sizes(self.hidden_layer_sizes),
                     self.n_outputs_, activation=self.activation, norm=self.norm,
                     dropout=float(self.dropout))
        return glorot_uniform_(module, self.activation)  # scikit-learn's initialisation

    def _predict_input(self, X):
        X, X32 = self._validate_X(X)
        return X32, X.dtype

    def _linear_layers(self):
        check_is_fitted(self, "module_")
        torch = _torch()
        return [m for m in self.module_.modules() if isinstance(m, torch.nn.Linear)]

    @property
    def coefs_(self):
        """list of ndarray: the weight matrix of each layer, ``coefs_[i]`` of shape
        ``(units of layer i, units of layer i + 1)`` as in scikit-learn, in the dtype of
        the training data (a copy of the network's float32 weights)."""
        return [m.weight.detach().cpu().numpy().T.astype(self._fit_dtype)
                for m in self._linear_layers()]

    @property
    def intercepts_(self):
        """list of ndarray: the bias vector of each layer, ``intercepts_[i]`` of shape
        ``(units of layer i + 1,)``, in the dtype of the training data."""
        return [m.bias.detach().cpu().numpy().astype(self._fit_dtype)
                for m in self._linear_layers()]


class MLPClassifier(NeuralClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier trained with PyTorch.

    A fully connected network (``Linear -> [norm] -> activation -> [dropout]`` per hidden
    layer, then a linear output layer) trained on the log-loss: a softmax over the
    classes for three or more, a single logistic unit for two, and one logistic unit per
    label for multilabel targets (an indicator matrix ``y``). Labels may be of any type
    (strings included). The constructor, defaults, stopping rules and fitted attributes
    are scikit-learn's ``MLPClassifier``'s; ``norm``, ``dropout``, ``class_weight``,
    ``l1``, ``device``, ``n_jobs`` and ``callbacks`` are skml's additions.

    Parameters
    ----------
    hidden_layer_sizes : int or array-like of int, default=(100,)
        Width of each hidden layer (an empty tuple gives logistic regression).
    activation : {"relu", "logistic", "tanh", "identity", "sigmoid", "leaky_relu", \
"elu", "gelu", "silu", "softplus"}, default="relu"
        Hidden-layer activation, the ``torch.nn`` layer of that name (``"logistic"`` is
        scikit-learn's name of ``"sigmoid"``).
    %(training_params)s
    norm : {None, "batch", "layer"}, default=None
        Normalisation after each hidden linear layer: ``torch.nn.BatchNorm1d`` (running
        statistics are used at prediction) or ``torch.nn.LayerNorm``.
    dropout : float, default=0.0
        Dropout probability after each hidden activation, in [0, 1). Dropout is active
        only in training.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's linear models; they
        multiply ``sample_weight``. Not for multilabel targets.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (for multilabel targets, the label indices).
    n_outputs_ : int
        Output units: 1 for two classes, else the number of classes or labels.
    n_layers_ : int
        Layers, input and output included (``len(hidden_layer_sizes) + 2``).
    out_activation_ : str
        ``"logistic"`` (two classes, multilabel) or ``"softmax"``.
    coefs_ : list of ndarray
        Weight matrix of each layer, shape ``(units in, units out)``.
    intercepts_ : list of ndarray
        Bias vector of each layer.
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, labels unseen in ``classes_``
        (``partial_fit``, ``warm_start``), values beyond float32, a network too large
        for memory, a diverging loss. At prediction: a wrong number of features, or
        inputs that overflow the network.

    See Also
    --------
    MLPRegressor : The regression counterpart.
    sklearn.neural_network.MLPClassifier : scikit-learn's NumPy implementation.

    Notes
    -----
    The weights are initialised as scikit-learn's (Glorot-uniform), drawn by torch: the
    same ``random_state`` gives a different draw than scikit-learn. Batches are of equal
    size (scikit-learn's last batch is the remainder). ``predict_proba`` is computed in float64 from the
    network's float32 logits. With a single class in ``y`` (as scikit-learn allows),
    that class is always predicted with probability 1. Fitting with ``norm="batch"``
    needs at least two samples per batch.

    %(float32_note)s

    References
    ----------
%(references)s

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skml.neural import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01,
    ...                     max_iter=50, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints = {
        "class_weight": [None, StrOptions({"balanced"}), dict],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, norm=None, dropout=0.0,
                 class_weight=None, l1=0.0, device="auto", n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _check_params(self):
        cw = self.class_weight
        if not (cw is None or (isinstance(cw, str) and cw == "balanced")
                or isinstance(cw, dict)):
            raise ValueError(
                "class_weight must be None, 'balanced' or a dict {label: weight}, got "
                f"{self.class_weight!r}."
            )
        super()._check_params()

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None, classes=None):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             multi_output=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        multilabel = type_of_target(y) == "multilabel-indicator"
        if reset:
            if multilabel:
                labels = np.arange(y.shape[1])
            else:
                labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            self.classes_ = labels
            self._multilabel = multilabel
            self._fit_attributes(X, y.shape[1] if multilabel
                                 else (1 if len(labels) == 2 else len(labels)))
            self.out_activation_ = ("softmax" if self.n_outputs_ > 1 and not multilabel
                                    else "logistic")
        elif multilabel != self._multilabel or (multilabel
                                                and y.shape[1] != len(self.classes_)):
            raise ValueError(
                f"y is {'a' if multilabel else 'not a'} multilabel indicator matrix"
                f"{' of ' + str(y.shape[1]) + ' labels' if multilabel else ''}, unlike "
                "the data the network was fitted on."
            )
        elif not multilabel:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call to "
                    f"partial_fit ({self.classes_!r})."
                )
            seen = np.unique(y)
            if not self._incremental and not np.array_equal(seen, self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in "
                    f"the previous call to fit. Previously got {self.classes_}, `y` has "
                    f"{seen}"
                )
            unknown = np.setdiff1d(seen, self.classes_)
            if len(unknown):
                raise ValueError(
                    f"y contains labels {unknown!r} that are not in classes_ "
                    f"{self.classes_!r}."
                )
        self._check_batch_norm_data(X.shape[0])
        weight = self._sample_weight(sample_weight, X.shape[0])
        if self.class_weight is not None:
            if multilabel:
                raise ValueError("class_weight is not supported for multilabel targets.")
            cw = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
            per_sample = cw[np.searchsorted(self.classes_, y)].astype(np.float32)
            weight = per_sample if weight is None else weight * per_sample
        if multilabel:
            target = np.ascontiguousarray(y, dtype=np.float32)
        else:
            codes = np.searchsorted(self.classes_, y)
            target = codes.astype(np.float32 if self.n_outputs_ == 1 else np.int64)
        return as_float32(X), target, weight

    def _build_loss(self, device):
        F = _torch().nn.functional
        if self._multilabel:
            def loss(out, t):
                return F.binary_cross_entropy_with_logits(out, t, reduction="none").sum(1)
        elif self.n_outputs_ == 1:
            def loss(out, t):
                return F.binary_cross_entropy_with_logits(out[:, 0], t, reduction="none")
        else:
            def loss(out, t):
                return F.cross_entropy(out, t, reduction="none")
        return loss

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(NeuralRegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor trained with PyTorch.

    The network of :class:`MLPClassifier` with a linear output layer of one unit per
    target (exponentiated for the Poisson loss), trained on half the squared error as
    scikit-learn, or on the Poisson deviance, the absolute error or the Huber loss.
    Multi-output targets are supported. The constructor, defaults, stopping rules and
    fitted attributes are scikit-learn's ``MLPRegressor``'s; ``normalize_y``, ``norm``,
    ``dropout``, ``l1``, ``device``, ``n_jobs`` and ``callbacks`` are skml's additions.

    Parameters
    ----------
    loss : {"squared_error", "poisson", "absolute_error", "huber"}, \
default="squared_error"
        ``"squared_error"``: half the squared error (as scikit-learn); ``"poisson"``:
        half the Poisson deviance with a log link (the output is ``exp`` of the last
        layer; needs ``y >= 0``); ``"absolute_error"`` and ``"huber"`` (delta 1, on the
        training scale of ``y``): ``torch.nn.L1Loss`` and ``HuberLoss``. Averaged over
        the outputs (summed for ``"poisson"``, as scikit-learn).
    hidden_layer_sizes : int or array-like of int, default=(100,)
        Width of each hidden layer (an empty tuple gives a linear model).
    activation : {"relu", "logistic", "tanh", "identity", "sigmoid", "leaky_relu", \
"elu", "gelu", "silu", "softplus"}, default="relu"
        Hidden-layer activation.
    %(training_params)s
    norm : {None, "batch", "layer"}, default=None
        Normalisation after each hidden linear layer.
    dropout : float, default=0.0
        Dropout probability after each hidden activation, in [0, 1).
    normalize_y : bool, default=False
        Train on standardised targets (mean 0, variance 1 per output, from the data of
        ``fit`` or of the first ``partial_fit``; for ``"poisson"`` divided by the mean
        only) and map predictions back. Recommended for targets far from unit scale,
        which otherwise need many more epochs; off by default, as scikit-learn does not
        scale ``y``. The losses in ``history_`` are then on the standardised scale. The
        scaling is computed on ``y / max|y|``, exact at any magnitude up to the float64
        maximum; without it, targets beyond ``|y| = 1e18`` are refused (their squared
        errors overflow float32).

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    n_layers_ : int
        Layers, input and output included (``len(hidden_layer_sizes) + 2``).
    out_activation_ : str
        ``"identity"``, or ``"exp"`` for the Poisson loss.
    coefs_ : list of ndarray
        Weight matrix of each layer, shape ``(units in, units out)``.
    intercepts_ : list of ndarray
        Bias vector of each layer.
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, negative ``y`` with ``loss="poisson"``, values
        beyond float32 (or ``|y| > 1e18`` without ``normalize_y``), a network too large
        for memory, a diverging loss. At prediction: a wrong number of features, or
        inputs that overflow the network.

    See Also
    --------
    MLPClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : scikit-learn's NumPy implementation.

    Notes
    -----
    Predictions are in the dtype of ``X`` (float64 when the training targets exceed the
    float32 range). The weights are initialised as scikit-learn's (Glorot-uniform),
    drawn by torch.

    %(float32_note)s

    References
    ----------
%(references)s

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skml.neural import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=20, normalize_y=True,
    ...                    random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "normalize_y": ["boolean"],
    }

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu",
                 *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, norm=None, dropout=0.0,
                 normalize_y=False, l1=0.0, device="auto", n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             y_numeric=True, multi_output=True)
        poisson = self.loss == "poisson"
        if poisson and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression.")
        weight = self._sample_weight(sample_weight, X.shape[0])
        Y = self._target_columns(y, weight, reset=reset, center=not poisson)
        if reset:
            self._fit_attributes(X, self.n_outputs_)
            self.out_activation_ = "exp" if poisson else "identity"
        peak = float(np.max(np.abs(Y))) if Y.size else 0.0
        if not self.normalize_y and peak > _Y_MAX_UNSCALED:
            raise ValueError(
                f"y has values of magnitude up to {peak:.3g}: with normalize_y=False the "
                f"network trains on y itself in float32, where the loss overflows beyond "
                f"|y| ~ {_Y_MAX_UNSCALED:.0e}. Use normalize_y=True (it scales y safely "
                "at any magnitude) or rescale y."
            )
        if reset:
            # predictions come back in the dtype of X, unless they cannot be float32
            self._y_peak = peak
        self._check_batch_norm_data(X.shape[0])
        return as_float32(X), self._training_target(Y), weight

    def _build_loss(self, device):
        F = _torch().nn.functional
        loss = self.loss
        if loss == "squared_error":
            def fn(out, t):
                return 0.5 * (out - t).square().mean(1)
        elif loss == "absolute_error":
            def fn(out, t):
                return (out - t).abs().mean(1)
        elif loss == "huber":
            def fn(out, t):
                return F.huber_loss(out, t, reduction="none").mean(1)
        else:  # half the Poisson deviance, log link, constant terms included
            def fn(out, t):
                return (out.exp() - t * out + _torch().xlogy(t, t) - t).sum(1)
        return fn

    def _link(self, out):
        return np.exp(out) if self.loss == "poisson" else out

    def _predict_input(self, X):
        X32, dtype = super()._predict_input(X)
        return X32, dtype if self._y_peak <= _FLOAT32_MAX else np.float64


for _cls in (MLPClassifier, MLPRegressor):
    _cls.__doc__ = fill(_cls.__doc__, references=_REFERENCES)
