"""Deep generative models as estimators: the variational autoencoder (§3.4.3 of the
notes)."""
import numbers

import numpy as np
from sklearn.utils.validation import validate_data

from skml.neural._base import (
    NeuralEstimator,
    _torch,
    as_float32,
    training_params,
)
from skml.utils import store_init_params
from skml.neural._docs import fill
from skml.neural._mixins import DensityTransformerMixin
from skml.neural.autoencoder import (
    _CODER_CONSTRAINTS,
    _check_latent,
    _decoder_sizes,
)
from skml.neural.mlp import check_hidden_layer_sizes
from skml.utils import Interval, StrOptions

__all__ = ["VAE"]

LIKELIHOODS = ("gaussian", "bernoulli")
# score_samples averages log p(x|z) over this many latent draws z = mu + sigma * eps_k.
# The eps_k come from a generator with a fixed seed and are shared by all samples, so the
# scores are deterministic and do not depend on which other rows are in X.
_N_ELBO_SAMPLES = 16
_ELBO_SEED = 0


class VAE(DensityTransformerMixin, NeuralEstimator):
    """Variational autoencoder (Definition 3.92; Kingma and Welling, 2014).

    The encoder maps ``x`` to the mean ``mu`` and log-variance ``log sigma^2`` of a
    Gaussian posterior ``q(z|x)``; training draws ``z = mu + sigma * eps`` with
    ``eps ~ N(0, I)`` (the reparameterisation trick) and decodes it. The loss is minus
    the evidence lower bound (Remark 3.69),

    ``-ELBO(x) = -E_q[log p(x|z)] + beta * KL(q(z|x) || N(0, I))``,

    with the KL term in closed form, ``1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)``.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(128,)
        Hidden widths of the encoder, from the input towards the latent space.
    n_components : int, default=2
        Dimension of the latent space.
    decoder_layer_sizes : int, tuple of int or None, default=None
        Hidden widths of the decoder; ``None`` mirrors the encoder.
    activation : {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", \
            "softplus", "logistic", "identity"}, default="relu"
        Hidden-layer activation.
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        The decoder's distribution ``p(x|z)``. ``"gaussian"``: mean given by the decoder,
        variance 1/2 per feature, so ``-log p(x|z)`` is the summed squared error plus a
        constant (the notes' equation (1)); suits standardised data. ``"bernoulli"``:
        the decoder gives logits and ``-log p(x|z)`` is the binary cross-entropy (Example
        47); needs data in [0, 1].
    beta : float, default=1.0
        Weight of the KL term in the training loss (``beta > 1`` gives a beta-VAE). The
        reported ELBO always uses weight 1.
    %(training_params)s

    Attributes
    ----------
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, data outside [0, 1] with
        ``likelihood="bernoulli"``, values beyond float32, a network too large for
        memory, a diverging loss. At ``transform``/``score_samples``: a wrong number of
        features, or inputs that overflow the network. At ``sample``: a sample count
        too large for memory.

    See Also
    --------
    AutoEncoder : The deterministic autoencoder (Remark 3.71).

    Notes
    -----
    ``score_samples`` estimates ``E_q[log p(x|z)]`` with 16 latent draws per sample from
    a fixed set of standard normal vectors, so repeated calls (and a pickled copy) give
    identical values. Training losses in ``history_`` are ``-ELBO`` per sample with the
    ``beta`` weight; the validation score of ``early_stopping`` is minus that loss (at
    ``z = mu``) on the held-out samples. Training draws one latent noise vector per row,
    so integer sample weights are not equivalent to repeated rows (an expected failure
    of scikit-learn's ``check_sample_weight_equivalence_on_dense_data``).

    %(float32_note)s

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.4.3: Definition 3.92 (the
       VAE), Remark 3.69 (the evidence lower bound), Example 47 (Bernoulli decoder).
    .. [2] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    .. [3] I. Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a
       Constrained Variational Framework", ICLR 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skml.neural import VAE
    >>> X = load_digits().data / 16.0
    >>> vae = VAE(n_components=2, likelihood="bernoulli", max_iter=5,
    ...           random_state=0).fit(X)
    >>> vae.transform(X).shape
    (1797, 2)
    >>> vae.sample(4, random_state=0).shape
    (4, 64)
    """

    def __init__(self, hidden_layer_sizes=(128,), n_components=2, *,
                 decoder_layer_sizes=None, activation="relu", likelihood="gaussian",
                 beta=1.0, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())
        self.likelihood = likelihood
        self.beta = beta

    _parameter_constraints = {
        **_CODER_CONSTRAINTS,
        "likelihood": [StrOptions(set(LIKELIHOODS))],
        "beta": [Interval(numbers.Real, 0, None)],
    }

    def _check_params(self):
        super()._check_params()
        check_hidden_layer_sizes(self.hidden_layer_sizes)
        _decoder_sizes(self)

    def _check_range(self, X):
        if self.likelihood == "bernoulli" and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                "likelihood='bernoulli' needs data in [0, 1], got values in "
                f"[{X.min():.4g}, {X.max():.4g}]; scale the data (e.g. MinMaxScaler) or use "
                "likelihood='gaussian'."
            )

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
        self._check_range(X)
        return as_float32(X), None, self._sample_weight(sample_weight, X.shape[0])

    def _build_module(self):
        from skml.neural._modules.vae import VAENet

        return VAENet(self.n_features_in_, check_hidden_layer_sizes(self.hidden_layer_sizes),
                      int(self.n_components), _decoder_sizes(self), activation=self.activation)

    def _train_step(self, batch, optimizers):
        """The default step with the reparameterised latent ``z = mu + sigma * eps``,
        ``eps ~ N(0, I)`` drawn from the loop's generator."""
        x, _, weight = batch
        eps = _torch().randn((x.shape[0], int(self.n_components)), generator=self._rng,
                             device=x.device)
        (optimizer,) = optimizers.values()
        module, loss_fn = self.module_, self._loss_fn

        def compute_loss():
            return self._weighted_mean(loss_fn(module(x, eps), x), weight)

        n = x.shape[0] if weight is None else weight.sum()
        return {"loss": self._optimizer_step(optimizer, compute_loss, n)}

    def _build_loss(self, device):
        from skml.neural._modules.vae import gaussian_kl, log_likelihood

        likelihood, beta = self.likelihood, float(self.beta)

        def loss(out, x):
            decoded, mu, log_var = out
            nll = -log_likelihood(decoded, x, likelihood)
            return nll + beta * gaussian_kl(mu, log_var)  # per sample

        return loss

    def _decoded_mean(self, decoded):
        torch = _torch()
        return torch.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded

    @property
    def _n_features_out(self):
        return self.n_components

    def transform(self, X):
        """The posterior mean ``mu`` of each sample's latent code.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        mu : ndarray of shape (n_samples, n_components)
            In the dtype of ``X``.
        """
        return self._transformed(X, lambda m, xb: m.encode(xb)[0])

    def inverse_transform(self, X):
        """Decode latent codes to the mean of ``p(x|z)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. from :meth:`transform`.

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features_in_)
            The decoder's mean (probabilities for ``likelihood="bernoulli"``), in the
            dtype of the codes.
        """
        Z = _check_latent(self, X)
        rec = self._forward(as_float32(Z), lambda m, zb: self._decoded_mean(m.decode(zb)))
        return rec.astype(Z.dtype, copy=False)

    def sample(self, n_samples=1, random_state=None):
        """Generate new data: decode draws ``z ~ N(0, I)`` of the prior.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seeds the latent draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            The decoder's mean for each draw (probabilities for
            ``likelihood="bernoulli"``), in float64.
        """
        return self._decode_prior_draws(n_samples, random_state, "n_components")

    def score_samples(self, X):
        """The evidence lower bound of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            ``E_q[log p(x|z)] - KL(q(z|x) || N(0, I))`` per sample, in float64 (a lower
            bound on ``log p(x)``; higher is better).
        """
        from skml.neural._modules.vae import gaussian_kl, log_likelihood

        X, X32 = self._validate_X(X)
        self._check_range(X)
        torch = _torch()
        eps = torch.randn(_N_ELBO_SAMPLES, int(self.n_components),
                          generator=torch.Generator().manual_seed(_ELBO_SEED))
        likelihood = self.likelihood

        def elbo(m, xb):
            mu, log_var = m.encode(xb)
            std = torch.exp(0.5 * log_var)
            e = eps.to(xb.device)
            ll = sum(log_likelihood(m.decode(mu + std * e[k]), xb, likelihood)
                     for k in range(len(e)))
            return ll / len(e) - gaussian_kl(mu, log_var)

        return self._forward(X32, elbo).astype(np.float64)

VAE.__doc__ = fill(VAE.__doc__)
