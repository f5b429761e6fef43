"""Autoencoders as transformers (§3.3.1 of the notes): plain, sparse and denoising."""
import numbers

import numpy as np
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skml.neural._base import (
    MAX_WIDTH,
    NeuralEstimator,
    _torch,
    as_float32,
    training_params,
)
from skml.utils import store_init_params
from skml.neural._docs import fill
from skml.neural._mixins import DensityTransformerMixin
from skml.neural.mlp import ACTIVATIONS, check_hidden_layer_sizes
from skml.utils import Interval, StrOptions

__all__ = ["AutoEncoder"]

SPARSITY = (None, "l1", "kl")
OUTPUT_ACTIVATIONS = (None, "sigmoid")
_KL_EPS = 1e-6


def _decoder_sizes(est):
    if est.decoder_layer_sizes is None:
        return tuple(reversed(check_hidden_layer_sizes(est.hidden_layer_sizes)))
    return check_hidden_layer_sizes(est.decoder_layer_sizes, "decoder_layer_sizes")


def _check_latent(est, Z):
    """Validate codes given to ``inverse_transform``."""
    check_is_fitted(est, "module_")
    Z = check_array(Z, dtype=(np.float64, np.float32))
    if Z.shape[1] != est.n_components:
        raise ValueError(
            f"X has {Z.shape[1]} features, but {type(est).__name__}.inverse_transform is "
            f"expecting {est.n_components} features (n_components) as input."
        )
    return Z


# the encoder-decoder parameters AutoEncoder and VAE share: their constraints, and the
# names their __init__ stores (store_init_params)
_CODER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, MAX_WIDTH)],
    "n_components": [Interval(numbers.Integral, 1, MAX_WIDTH)],
    "decoder_layer_sizes": [None, "array-like", Interval(numbers.Integral, 1, MAX_WIDTH)],
    "activation": [StrOptions(set(ACTIVATIONS))],
}


class AutoEncoder(DensityTransformerMixin, NeuralEstimator):
    """Autoencoder: an encoder network to a code, a decoder network back (Example 43).

    Trained to reconstruct its input under the mean squared error. ``transform`` gives
    the code, ``inverse_transform`` decodes codes back to data, and ``score`` is minus
    the reconstruction error, so ``GridSearchCV`` can tune the architecture.

    Two variants of Example 44 of the notes are parameters: a *sparse* autoencoder adds
    ``sparsity_weight`` times an L1 penalty on the code (``sparsity="l1"``) or the
    divergences ``sum_j KL(rho || rho_j)`` between the target activation ``rho`` and each
    code unit's mean activation ``rho_j`` over the batch (``sparsity="kl"``; the code then
    passes through a sigmoid so that it lies in (0, 1)); a *denoising* autoencoder
    (``denoising > 0``) adds Gaussian noise of that standard deviation to the input
    during training only and learns to reconstruct the clean input.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(128, 64)
        Hidden widths of the encoder, from the input towards the code.
    n_components : int, default=2
        Size of the code.
    decoder_layer_sizes : int, tuple of int or None, default=None
        Hidden widths of the decoder, from the code towards the output; ``None`` mirrors
        the encoder.
    activation : {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", \
            "softplus", "logistic", "identity"}, default="relu"
        Hidden-layer activation.
    output_activation : {None, "sigmoid"}, default=None
        ``"sigmoid"`` keeps reconstructions in (0, 1), for data scaled to [0, 1] (as in
        Example 43); ``None`` leaves the output linear.
    sparsity : {None, "l1", "kl"}, default=None
        Sparsity penalty on the code.
    sparsity_weight : float, default=1e-3
        Weight of the sparsity penalty.
    rho : float, default=0.05
        Target mean activation of the code units for ``sparsity="kl"``, in (0, 1).
    denoising : float, default=0.0
        Standard deviation of the Gaussian noise added to the inputs in training (0: a
        plain autoencoder).
    %(training_params)s

    Attributes
    ----------
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, values beyond float32, a network too large for
        memory, a diverging loss. At ``transform``/``inverse_transform``: a wrong number
        of features or of code units, or inputs that overflow the network.

    See Also
    --------
    VAE : The variational autoencoder, a generative model.
    sklearn.decomposition.PCA : The linear counterpart (Remark 3.68).

    Notes
    -----
    The validation score of ``early_stopping`` is minus the training loss (the
    reconstruction error plus the sparsity penalty) on the held-out samples.

    %(float32_note)s

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.3.1: Example 43 (the
       autoencoder), Example 44 (sparse and denoising variants), Remark 3.68 (PCA).
    .. [2] G. E. Hinton and R. R. Salakhutdinov, "Reducing the Dimensionality of Data
       with Neural Networks", Science 313, 2006.
    .. [3] P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol, "Extracting and
       Composing Robust Features with Denoising Autoencoders", ICML 2008.
    .. [4] A. Ng, "Sparse autoencoder", CS294A lecture notes, Stanford, 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skml.neural import AutoEncoder
    >>> X = load_digits().data / 16.0
    >>> ae = AutoEncoder(n_components=2, output_activation="sigmoid", max_iter=5,
    ...                  random_state=0).fit(X)
    >>> ae.transform(X).shape
    (1797, 2)
    >>> ae.inverse_transform(ae.transform(X[:1])).shape
    (1, 64)
    """

    def __init__(self, hidden_layer_sizes=(128, 64), n_components=2, *,
                 decoder_layer_sizes=None, activation="relu", output_activation=None,
                 sparsity=None, sparsity_weight=1e-3, rho=0.05, denoising=0.0,
                 solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())
        self.output_activation = output_activation
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.rho = rho
        self.denoising = denoising

    _parameter_constraints = {
        **_CODER_CONSTRAINTS,
        "output_activation": [None, StrOptions({a for a in OUTPUT_ACTIVATIONS if a})],
        "sparsity": [None, StrOptions({s for s in SPARSITY if s})],
        "sparsity_weight": [Interval(numbers.Real, 0, None)],
        "rho": [Interval(numbers.Real, 0, 1, closed="neither")],
        "denoising": [Interval(numbers.Real, 0, None)],
    }

    def _check_params(self):
        super()._check_params()
        check_hidden_layer_sizes(self.hidden_layer_sizes)
        _decoder_sizes(self)

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
        return as_float32(X), None, self._sample_weight(sample_weight, X.shape[0])

    def _build_module(self):
        from skml.neural._modules.autoencoder import AutoEncoderNet

        return AutoEncoderNet(
            self.n_features_in_, check_hidden_layer_sizes(self.hidden_layer_sizes),
            int(self.n_components), _decoder_sizes(self), activation=self.activation,
            code_activation="sigmoid" if self.sparsity == "kl" else None,
            output_activation=self.output_activation)

    def _train_step(self, batch, optimizers):
        """The default step, on inputs corrupted by Gaussian noise of standard deviation
        ``denoising`` (drawn from the loop's generator) against the clean inputs."""
        x, _, weight = batch
        if self.denoising > 0:
            noise = _torch().randn(x.shape, generator=self._rng, device=x.device)
            return super()._train_step((x + float(self.denoising) * noise, x, weight),
                                       optimizers)
        return super()._train_step(batch, optimizers)

    def _build_loss(self, device):
        torch = _torch()
        F = torch.nn.functional
        sparsity, weight, rho = self.sparsity, float(self.sparsity_weight), float(self.rho)

        def loss(out, x):
            code, recon = out
            value = (recon - x).square().mean(1)  # per sample
            if sparsity == "l1" and weight > 0:
                value = value + weight * code.abs().sum(1)
            elif sparsity == "kl" and weight > 0:  # a property of the batch: one value
                rho_j = code.mean(0).clamp(_KL_EPS, 1 - _KL_EPS)
                kl = rho * torch.log(rho / rho_j) + (1 - rho) * torch.log((1 - rho) / (1 - rho_j))
                value = value + weight * kl.sum()
            return value

        return loss

    @property
    def _n_features_out(self):
        return self.n_components

    def transform(self, X):
        """Encode ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        code : ndarray of shape (n_samples, n_components)
            The code of each sample, in the dtype of ``X``.
        """
        return self._transformed(X, lambda m, xb: m.encoder(xb))

    def inverse_transform(self, X):
        """Decode codes back to the data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, e.g. from :meth:`transform`.

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features_in_)
            Reconstructions, in the dtype of the codes.
        """
        Z = _check_latent(self, X)
        rec = self._forward(as_float32(Z), lambda m, zb: m.decoder(zb))
        return rec.astype(Z.dtype, copy=False)

    def score_samples(self, X):
        """Minus the mean squared reconstruction error of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-mean_j (x_j - decoder(encoder(x))_j)^2`` per sample, in float64 (low
            values flag samples the autoencoder reconstructs badly).
        """
        X, X32 = self._validate_X(X)
        rec = self._forward(X32, lambda m, xb: m(xb)[1]).astype(np.float64)
        return -np.mean((np.asarray(X, dtype=np.float64) - rec) ** 2, axis=1)

AutoEncoder.__doc__ = fill(AutoEncoder.__doc__)
