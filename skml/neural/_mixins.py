"""Mixins the deep estimators share on top of :class:`~skml.neural.NeuralEstimator`.

Supervised (MLP, transformer, CNN and GNN classifiers and regressors): reading class
labels off logits, scaling regression targets and back, the early-stopping scores
(scikit-learn's MLPs': accuracy and R²), and the ``fit`` / ``partial_fit`` signatures.
A subclass supplies two hooks:

* ``_predict_input(X)`` returns ``(network input, dtype of the outputs)`` for
  prediction, after ``check_is_fitted`` and the same validation as in ``fit``;
* ``_outputs(inputs, check_finite=True)`` returns the network's outputs as a NumPy
  array (:class:`NeuralEstimator`'s default: ``_forward``, batched in eval mode).

Held-out data for ``early_stopping`` is ``(inputs, target, sample_weight)``, as
``_prepare_fit_data`` returns it.

Transformers (autoencoders, VAE, flows, contrastive embeddings): ``transform`` through
the network or a part of it, and the mean of ``score_samples`` as ``score``.
"""
import numbers

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from skml.neural._base import _is_stochastic, _torch, check_fits_in_memory
from skml.utils import check_param

__all__ = ["DensityTransformerMixin", "LogitClassifierMixin", "NeuralClassifierMixin",
           "NeuralRegressorMixin", "NeuralTransformerMixin", "target_scaling"]

_FLOAT64_MAX = float(np.finfo(np.float64).max)


def target_scaling(Y, standardize, center=True, sample_weight=None):
    """``(norm, shift, unit)`` per column with ``Y = norm * (shift + unit * T)`` for the
    training targets ``T``: (weighted) mean 0 and variance 1 when ``standardize`` (with
    ``center=False``, for the Poisson loss: ``shift = 0`` and ``T`` of mean 1), else
    ``T = Y``.

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
    mean = np.average(Ys, axis=0, weights=sample_weight)
    if center:
        var = np.average((Ys - mean) ** 2, axis=0, weights=sample_weight)
        shift, unit = mean, np.sqrt(var)
    else:
        shift, unit = np.zeros(n_out), mean
    unit[~(unit > 0)] = 1.0
    return norm, shift, unit


class _NeuralSupervised:
    """``fit`` with ``y`` required, ``predict`` from the network's outputs
    (``_predictions``), and the early-stopping data layout."""

    @staticmethod
    def _held_out(data):
        return (tuple(data) + (None, None))[:3]

    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X`` and ``y``; see :meth:`NeuralEstimator.fit`.

        Parameters
        ----------
        X : array-like, list or tuple
            Training samples in the form the estimator takes: rows of features, or the
            images, sequences or graphs its class documentation describes.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (a multilabel indicator matrix where the classifier takes one)
            or regression targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return super().fit(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Predicted class labels (classifiers) or targets (regressors).

        Parameters
        ----------
        X : array-like, list or tuple
            Samples, in the form :meth:`fit` takes.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            A classifier's most probable class of each sample (an indicator matrix for
            multilabel targets); a regressor's predictions, in the dtype of numeric
            ``X`` (float64 for token sequences, or where the training targets exceed
            the float32 range).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            On input unlike the training data (features, shape, tokens, graph), or
            non-finite network outputs.
        """
        inputs, dtype = self._predict_input(X)
        return self._predictions(self._outputs(inputs).astype(np.float64), dtype)


class LogitClassifierMixin(_NeuralSupervised, ClassifierMixin):
    """Classes from the network's logits: one logit (two classes: that of
    ``classes_[1]``, through the logistic function), one per class (a softmax), or one
    per label (``_multilabel``: independent logistic units); with a single class in
    ``classes_`` it is always the answer, with probability 1."""

    _multilabel = False

    def _codes(self, logits):
        """Predicted class indices (indicator rows for multilabel) from logits."""
        if self._multilabel:
            return (logits > 0).astype(np.int64)
        if len(self.classes_) == 1:
            return np.zeros(len(logits), dtype=np.intp)
        if logits.shape[1] == 1:
            return (logits[:, 0] > 0).astype(np.intp)
        return np.argmax(logits, axis=1)

    def _probabilities(self, logits):
        """Class probabilities (float64) from float64 logits."""
        if self._multilabel:
            return expit(logits)
        if len(self.classes_) == 1:
            return np.ones((len(logits), 1))
        if logits.shape[1] == 1:
            p = expit(logits[:, 0])
            return np.column_stack([1.0 - p, p])
        return softmax(logits, axis=1)

    def _predictions(self, logits, dtype):
        codes = self._codes(logits)
        return codes if self._multilabel else self.classes_[codes]

    def _build_loss(self, device):
        """The cross-entropy of a softmax over one logit per class."""
        F = _torch().nn.functional

        def loss(out, t):
            return F.cross_entropy(out, t, reduction="none")
        return loss

    def _logits(self, X):
        inputs, dtype = self._predict_input(X)
        return dtype, self._outputs(inputs).astype(np.float64)

    def _validation_score(self, data):
        inputs, target, weight = self._held_out(data)
        logits = self._outputs(inputs, check_finite=False)
        if not np.all(np.isfinite(logits)):
            return float("nan")
        return float(accuracy_score(target.astype(np.int64), self._codes(logits),
                                    sample_weight=weight))

    def _stratify_target(self, target):
        if self._multilabel:
            return None
        # binary codes as bools, as scikit-learn's binarised labels (same split rule)
        return target.astype(bool) if self.n_outputs_ == 1 else target

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like, list or tuple
            Samples, in the form :meth:`fit` takes.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_`` order (of each label, for
            multilabel targets: rows need not sum to 1), in the dtype of numeric ``X``
            (float64 for token sequences and graphs).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            On input unlike the training data (features, shape, tokens, graph), or
            non-finite network outputs.
        """
        dtype, logits = self._logits(X)
        return self._probabilities(logits).astype(dtype, copy=False)

    @available_if(_is_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One more epoch over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like, list or tuple
            Training samples, as for :meth:`fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.
        classes : array-like of shape (n_classes,), default=None
            All the labels, needed on the first call when ``y`` lacks some of them;
            checked against ``classes_`` later (an image classifier instead trains a
            new output layer for another set: fine-tuning to a new task).

        Returns
        -------
        self : object
            The estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True,
                         classes=classes)


class NeuralClassifierMixin(LogitClassifierMixin):
    """:class:`LogitClassifierMixin` with ``predict_log_proba``."""

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (same parameters; ``-inf`` where a
        probability underflows the output dtype, as scikit-learn's MLP).

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities of the classes in ``classes_`` order.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class NeuralRegressorMixin(_NeuralSupervised, RegressorMixin):
    """Targets standardised for training when ``normalize_y`` (``_target_columns``) and
    mapped back at prediction, R² as the early-stopping score, multi-output targets."""

    def _build_loss(self, device):
        """Half the squared error, averaged over the outputs (scikit-learn's MLP)."""
        def loss(out, t):
            return 0.5 * (out - t).square().mean(1)
        return loss

    def _link(self, out):
        """The prediction on the training scale from the last layer's output."""
        return out

    def _target_columns(self, y, sample_weight, *, reset, center=True):
        """``y`` as float64 columns; sets ``n_outputs_`` and the scaling of the
        training targets when ``reset``, else checks the number of outputs."""
        Y = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(np.float64, copy=False)
        if reset:
            self.n_outputs_ = Y.shape[1]
            self._y_1d = y.ndim == 1
            self._y_norm, self._y_shift, self._y_unit = target_scaling(
                Y, self.normalize_y, center=center, sample_weight=sample_weight)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs, but {type(self).__name__} was fitted with "
                f"{self.n_outputs_}."
            )
        return Y

    def _training_target(self, Y):
        """The network's float32 training targets from the columns of ``y``."""
        target = ((Y / self._y_norm - self._y_shift) / self._y_unit).astype(np.float32)
        return np.ascontiguousarray(target)

    def _predictions(self, out, dtype):
        """The network's float64 outputs mapped back to the scale of ``y`` (clipped to
        the float64 range), in ``dtype``."""
        with np.errstate(over="ignore"):
            out = self._link(out)
            out = out * self._y_unit + self._y_shift
            out = np.clip(out * self._y_norm, -_FLOAT64_MAX, _FLOAT64_MAX)
        if self._y_1d:
            out = out[:, 0]
        return out.astype(dtype, copy=False)

    def _validation_score(self, data):
        inputs, target, weight = self._held_out(data)
        with np.errstate(over="ignore"):
            pred = self._link(self._outputs(inputs, check_finite=False).astype(np.float64))
        if not np.all(np.isfinite(pred)):
            return float("nan")
        return float(r2_score(target, pred, sample_weight=weight))

    @available_if(_is_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One more epoch over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like, list or tuple
            Training samples, as for :meth:`fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class NeuralTransformerMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """``transform``: the network's output for ``X`` (a subclass may map through a part
    of it with ``_transformed(X, fn)``), named ``<class name><i>`` by
    ``get_feature_names_out``."""

    def _transformed(self, X, fn=None):
        """``fn(module, batch)`` (default: the network) over the validated ``X``, in the
        dtype of ``X``."""
        X, X32 = self._validate_X(X)
        return self._forward(X32, fn).astype(X.dtype, copy=False)

    def transform(self, X):
        """The learned representation of ``X``: the network's output (SimCLR: the
        encoder's ``h = f(x)``, without the projection head; TripletEmbedding: the
        embedding, of unit rows).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Inputs.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            In the dtype of ``X`` (float32 or float64).

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If ``X`` does not have the training data's features or image shape.
        """
        return self._transformed(X)


class DensityTransformerMixin(NeuralTransformerMixin):
    """A model of the data with a per-sample ``score_samples`` (log-likelihood, its
    lower bound, or minus a reconstruction error): ``score`` is their mean, and the
    outputs keep float32 input in float32."""

    def _decode_prior_draws(self, n_samples, random_state, latent_dim):
        """``inverse_transform`` of ``n_samples`` draws ``z ~ N(0, I)`` whose dimension
        is the attribute ``latent_dim``, seeded by ``random_state`` (``sample``)."""
        check_is_fitted(self, "module_")
        check_param(n_samples, "n_samples", types=(numbers.Integral,), min_val=1)
        torch = _torch()
        n_samples, n_latent = int(n_samples), int(getattr(self, latent_dim))
        # the latent draws (float32) and the returned samples (float64)
        check_fits_in_memory(n_samples * (4 * n_latent + 8 * int(self.n_features_in_)),
                             f"sample(n_samples={n_samples})", torch.device("cpu"))
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        z = torch.randn(n_samples, n_latent, generator=torch.Generator().manual_seed(seed))
        return self.inverse_transform(z.numpy().astype(np.float64))

    def score(self, X, y=None):
        """The mean of :meth:`score_samples` over ``X`` (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.
        y : None
            Ignored.

        Returns
        -------
        score : float
            The mean log-likelihood in nats (NormalizingFlow), evidence lower bound
            (VAE) or minus squared reconstruction error (AutoEncoder) per sample.
        """
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
