"""Multilayer perceptrons for classification and regression on the torch backend."""
import numbers

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from skml.neural._base import MAX_WIDTH, NeuralEstimator, _torch, as_float32
from skml.neural._docs import fill
from skml.utils import Interval, StrOptions, check_param

__all__ = ["MLPClassifier", "MLPRegressor"]

#: Names accepted by ``activation=`` (§3.2.5 of the notes; "logistic" and "identity" are
#: scikit-learn's names). Each maps onto the torch.nn layer of that name.
ACTIVATIONS = ("identity", "logistic", "sigmoid", "tanh", "relu", "leaky_relu", "elu",
               "gelu", "silu", "softplus")
NORMS = (None, "batch", "layer")
REGRESSION_LOSSES = ("mse", "l1", "huber")
# Without normalize_y the network trains on y itself in float32, where squared errors
# overflow (float32 max ~3.4e38) once |y| reaches ~1.8e19: refuse targets beyond this.
_Y_MAX_UNSCALED = 1e18
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT64_MAX = float(np.finfo(np.float64).max)


def target_scaling(Y, standardize):
    """``(norm, shift, unit)`` per column with ``Y = norm * (shift + unit * T)`` for the
    training targets ``T``: mean 0 and variance 1 when ``standardize``, else ``T = Y``.

    Computed on ``Y / norm`` with ``norm = max |Y|``, so that neither ``Y**2`` (in the
    variance) nor ``Y - mean`` can overflow, whatever the magnitude of ``Y`` (up to the
    float64 maximum). A constant column keeps ``unit = 1`` on the normalised scale.
    """
    n_out = Y.shape[1]
    if not standardize:
        return np.ones(n_out), np.zeros(n_out), np.ones(n_out)
    norm = np.max(np.abs(Y), axis=0).astype(np.float64)
    norm[~(norm > 0)] = 1.0
    Ys = Y / norm
    shift, unit = Ys.mean(axis=0), Ys.std(axis=0)
    unit[~(unit > 0)] = 1.0
    return norm, shift, unit


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
        if self.norm == "batch" and (n_samples < 2 or self.batch_size < 2):
            raise ValueError(
                "norm='batch' needs batches of at least 2 samples; got "
                f"n_samples={n_samples} and batch_size={self.batch_size}."
            )

    def _build_module(self):
        from skml.neural._modules.mlp import MLP

        return MLP(self.n_features_in_, check_hidden_layer_sizes(self.hidden_layer_sizes),
                   self._n_module_outputs(), activation=self.activation, norm=self.norm,
                   dropout=float(self.dropout))


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier trained with PyTorch.

    A fully connected network (``Linear -> [norm] -> activation -> [dropout]`` per hidden
    layer, then a linear output layer) trained on the cross-entropy: softmax
    cross-entropy for three or more classes, and a single output unit with the logistic
    (BCE-with-logits) loss for two. Labels may be of any type (strings included).

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer (an empty tuple gives logistic regression).
    activation : {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", \
            "softplus", "logistic", "identity"}, default="relu"
        Hidden-layer activation, the ``torch.nn`` layer of that name ("logistic" is
        an alias of "sigmoid").
    norm : {None, "batch", "layer"}, default=None
        Normalisation after each hidden linear layer: ``torch.nn.BatchNorm1d`` (running
        statistics are used at prediction) or ``torch.nn.LayerNorm``.
    dropout : float, default=0.0
        Dropout probability after each hidden activation, in [0, 1). Dropout is active
        only in training.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn.
    %(training_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    %(training_attributes)s

    See Also
    --------
    MLPRegressor : The regression counterpart.
    sklearn.neural_network.MLPClassifier : scikit-learn's NumPy implementation.

    Notes
    -----
    ``predict_proba`` is computed in float64 from the network's float32 logits. Fitting
    with ``norm="batch"`` needs at least two samples per batch.

    %(float32_note)s

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skml.neural import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), lr=0.01, max_epochs=50,
    ...                     random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, norm=None,
                 dropout=0.0, class_weight=None, optimizer="adam", lr=1e-3,
                 weight_decay=0.0, l1=0.0, batch_size=200, max_epochs=100,
                 lr_schedule=None, early_stopping=False, validation_fraction=0.1,
                 patience=10, device="auto", random_state=None, verbose=0, callbacks=None):
        super().__init__(
            optimizer=optimizer, lr=lr, weight_decay=weight_decay, l1=l1,
            batch_size=batch_size, max_epochs=max_epochs, lr_schedule=lr_schedule,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            patience=patience, device=device, random_state=random_state, verbose=verbose,
            callbacks=callbacks)
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.norm = norm
        self.dropout = dropout
        self.class_weight = class_weight

    _parameter_constraints = {
        "class_weight": [None, StrOptions({"balanced"}), dict],
    }

    def _check_params(self):
        cw = self.class_weight
        if not (cw is None or (isinstance(cw, str) and cw == "balanced")
                or isinstance(cw, dict)):
            raise ValueError(
                "class_weight must be None, 'balanced' or a dict {label: weight}, got "
                f"{self.class_weight!r}."
            )
        super()._check_params()

    def _n_module_outputs(self):
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def _prepare_fit_data(self, X, y, *, reset, classes=None):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32))
        check_classification_targets(y)
        if reset:
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the "
                    f"data, but the data contains only one class: {labels[0]!r}."
                )
            self.classes_ = labels
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={classes!r} is not the same as on the first call to partial_fit "
                f"({self.classes_!r})."
            )
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(
                f"y contains labels {unknown!r} that are not in classes_ {self.classes_!r}."
            )
        self._check_batch_norm_data(X.shape[0])
        if self.class_weight is None:
            self._class_weight = None
        else:
            self._class_weight = compute_class_weight(
                self.class_weight, classes=self.classes_, y=y).astype(np.float32)
        codes = np.searchsorted(self.classes_, y)
        dtype = np.float32 if len(self.classes_) == 2 else np.int64
        return as_float32(X), codes.astype(dtype)

    def _build_loss(self, device):
        torch = _torch()
        F = torch.nn.functional
        w = None
        if self._class_weight is not None:
            w = torch.as_tensor(self._class_weight, device=device)
        if len(self.classes_) > 2:
            def loss(out, t):
                return F.cross_entropy(out, t, weight=w)
        elif w is None:
            def loss(out, t):
                return F.binary_cross_entropy_with_logits(out[:, 0], t)
        else:
            def loss(out, t):
                per = F.binary_cross_entropy_with_logits(out[:, 0], t, reduction="none")
                wi = w[t.long()]
                return (wi * per).sum() / wi.sum()
        return loss

    def _validation_metric(self, out, t):
        pred = (out[:, 0] > 0).to(t.dtype) if out.shape[1] == 1 else out.argmax(1)
        return float((pred == t).float().mean())

    def _stratify_target(self, target):
        return target

    def _logits(self, X):
        X, X32 = self._validate_X(X)
        return X.dtype, self._forward(X32).astype(np.float64)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_`` order, in the dtype of ``X``.
        """
        dtype, logits = self._logits(X)
        if logits.shape[1] == 1:
            p = expit(logits[:, 0])
            proba = np.column_stack([1.0 - p, p])
        else:
            proba = softmax(logits, axis=1)
        return proba.astype(dtype, copy=False)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities of the classes in ``classes_`` order.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The most probable class of each sample.
        """
        _, logits = self._logits(X)
        if logits.shape[1] == 1:
            return self.classes_[(logits[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(logits, axis=1)]

    def partial_fit(self, X, y, classes=None):
        """One more epoch over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Labels.
        classes : array-like of shape (n_classes,), default=None
            All the labels, needed on the first call when ``y`` lacks some of them;
            ignored (but checked) later.

        Returns
        -------
        self : object
            The estimator.
        """
        return super().partial_fit(X, y, classes=classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor trained with PyTorch.

    The network of :class:`MLPClassifier` with a linear output layer of one unit per
    target, trained on the mean squared error, the mean absolute error or the Huber loss.
    Multi-output targets are supported.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer (an empty tuple gives linear regression).
    activation : {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", \
            "softplus", "logistic", "identity"}, default="relu"
        Hidden-layer activation.
    norm : {None, "batch", "layer"}, default=None
        Normalisation after each hidden linear layer.
    dropout : float, default=0.0
        Dropout probability after each hidden activation, in [0, 1).
    loss : {"mse", "l1", "huber"}, default="mse"
        ``torch.nn.MSELoss``, ``L1Loss`` or ``HuberLoss`` (delta 1, on the
        standardised targets when ``normalize_y``).
    normalize_y : bool, default=True
        Standardise each target (mean 0, variance 1, from the data of ``fit`` or of the
        first ``partial_fit``) for training and map predictions back. Unscaled targets
        of large magnitude otherwise need many more epochs. The losses in ``history_``
        are on the standardised scale. The scaling is computed on ``y / max|y|``, so it
        is exact at any magnitude up to the float64 maximum; without it, targets beyond
        ``|y| = 1e18`` are refused (their squared errors overflow float32).
    %(training_params)s

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    %(training_attributes)s

    See Also
    --------
    MLPClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : scikit-learn's NumPy implementation.

    Notes
    -----
    %(float32_note)s

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skml.neural import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), max_epochs=20,
    ...                    random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, norm=None,
                 dropout=0.0, loss="mse", normalize_y=True, optimizer="adam", lr=1e-3,
                 weight_decay=0.0, l1=0.0, batch_size=200, max_epochs=100,
                 lr_schedule=None, early_stopping=False, validation_fraction=0.1,
                 patience=10, device="auto", random_state=None, verbose=0, callbacks=None):
        super().__init__(
            optimizer=optimizer, lr=lr, weight_decay=weight_decay, l1=l1,
            batch_size=batch_size, max_epochs=max_epochs, lr_schedule=lr_schedule,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            patience=patience, device=device, random_state=random_state, verbose=verbose,
            callbacks=callbacks)
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.norm = norm
        self.dropout = dropout
        self.loss = loss
        self.normalize_y = normalize_y

    _parameter_constraints = {
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "normalize_y": ["boolean"],
    }

    def _n_module_outputs(self):
        return self.n_outputs_

    def _prepare_fit_data(self, X, y, *, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             y_numeric=True, multi_output=True)
        Y = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(np.float64, copy=False)
        if reset:
            self.n_outputs_ = Y.shape[1]
            self._y_1d = y.ndim == 1
            self._y_norm, self._y_shift, self._y_unit = target_scaling(Y, self.normalize_y)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs, but {type(self).__name__} was fitted with "
                f"{self.n_outputs_}."
            )
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
        target = ((Y / self._y_norm - self._y_shift) / self._y_unit).astype(np.float32)
        return as_float32(X), np.ascontiguousarray(target)

    def _build_loss(self, device):
        F = _torch().nn.functional
        if self.loss == "mse":
            return F.mse_loss
        if self.loss == "l1":
            return F.l1_loss
        return F.huber_loss

    def _validation_metric(self, out, t):
        # R^2 averaged over the outputs (invariant to the target standardisation)
        sse = ((out - t) ** 2).sum(0)
        sst = ((t - t.mean(0)) ** 2).sum(0).clamp_min(1e-12)
        return float((1 - sse / sst).mean())

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, in the dtype of ``X`` (float64 when the training targets
            exceed the float32 range).
        """
        X, X32 = self._validate_X(X)
        out = self._forward(X32).astype(np.float64) * self._y_unit + self._y_shift
        with np.errstate(over="ignore"):
            out = np.clip(out * self._y_norm, -_FLOAT64_MAX, _FLOAT64_MAX)
        if self._y_1d:
            out = out[:, 0]
        dtype = X.dtype if self._y_peak <= _FLOAT32_MAX else np.float64
        return out.astype(dtype, copy=False)

    def partial_fit(self, X, y):
        """One more epoch over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : object
            The estimator.
        """
        return super().partial_fit(X, y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


MLPClassifier.__doc__ = fill(MLPClassifier.__doc__)
MLPRegressor.__doc__ = fill(MLPRegressor.__doc__)
