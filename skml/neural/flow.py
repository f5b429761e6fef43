"""Normalising flows as estimators (§3.4.6 of the notes): RealNVP with actnorm."""
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
from skml.neural._docs import fill
from skml.neural._mixins import DensityTransformerMixin
from skml.neural.mlp import ACTIVATIONS, check_hidden_layer_sizes
from skml.utils import Interval, StrOptions, store_init_params

__all__ = ["NormalizingFlow"]

_MAX_LAYERS = 4096


class NormalizingFlow(DensityTransformerMixin, NeuralEstimator):
    """RealNVP normalising flow: an invertible network onto a standard Gaussian (§3.4.6).

    The flow ``f`` maps data ``x`` to ``z = f(x)`` through ``n_layers`` affine coupling
    layers; the features of a coupling are split by alternating masks (even features
    condition the odd ones, then the other way round), and the moved half becomes
    ``x_b * exp(s(x_a)) + t(x_a)``, ``s, t`` given by an MLP of the other half. Each
    coupling is preceded by an actnorm layer (a learned per-feature affine map whose
    first training batch sets it to standardise that batch: data-dependent
    initialisation). The density is exact by the change of variables,

    ``log p(x) = log N(f(x); 0, I) + log |det df/dx|``,

    where the Jacobian of each layer is triangular, its log-determinant the sum of the
    log-scales. Training maximises this log-likelihood.

    Parameters
    ----------
    n_layers : int, default=8
        Number of coupling layers (an actnorm before each with ``actnorm=True``).
    hidden_layer_sizes : int or tuple of int, default=(64, 64)
        Hidden widths of each coupling's MLP giving ``s`` and ``t``.
    activation : {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", \
            "softplus", "logistic", "identity"}, default="relu"
        Hidden-layer activation of those MLPs.
    actnorm : bool, default=True
        Whether each coupling is preceded by an actnorm layer.
    dequantize : float, default=0.0
        For discrete data (pixel levels, counts): the width of the bins of the data's
        lattice (e.g. ``1/16`` for digits scaled by ``1/16``). Every training step adds
        uniform noise in ``[0, dequantize)`` to each value, so the flow fits a density
        on the cells ``[x, x + dequantize)`` instead of collapsing onto the lattice
        points. 0 trains on the data as given.
    %(training_params)s

    Attributes
    ----------
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, values beyond float32, a network too large for
        memory, a diverging loss. At ``transform``/``inverse_transform``/
        ``score_samples``: a wrong number of features, or inputs that overflow the
        network. At ``sample``: a sample count too large for memory.

    See Also
    --------
    VAE : A latent-variable model with a lower bound instead of an exact likelihood.
    sklearn.mixture.GaussianMixture : A classical density model with ``score_samples``.

    Notes
    -----
    ``score_samples`` is the exact continuous log-density of the flow at ``X`` in nats.
    With ``dequantize=delta``, the log-probability of a discrete point ``x`` of the
    lattice is bounded below by ``E_u[score_samples(x + u)] + n_features * log(delta)``,
    ``u`` uniform on ``[0, delta)^d`` (Jensen's inequality); compare densities on the
    same dequantised data. Training losses in ``history_`` are minus the mean
    log-likelihood per sample; the validation score of ``early_stopping`` is the mean
    log-likelihood of the held-out samples (dequantised by fixed noise with
    ``dequantize > 0``). Dequantisation draws one noise vector per
    row, so with ``dequantize > 0`` integer sample weights are not equivalent to
    repeated rows.

    %(float32_note)s

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.4.6 (flow-based generative
       models).
    .. [2] L. Dinh, J. Sohl-Dickstein and S. Bengio, "Density estimation using Real
       NVP", ICLR 2017.
    .. [3] D. P. Kingma and P. Dhariwal, "Glow: Generative Flow with Invertible 1x1
       Convolutions", NeurIPS 2018 (actnorm).
    .. [4] L. Theis, A. van den Oord and M. Bethge, "A note on the evaluation of
       generative models", ICLR 2016 (dequantisation).

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skml.neural import NormalizingFlow
    >>> X, _ = make_moons(500, noise=0.05, random_state=0)
    >>> flow = NormalizingFlow(n_layers=4, hidden_layer_sizes=(32,), max_iter=5,
    ...                        random_state=0).fit(X)
    >>> flow.transform(X).shape
    (500, 2)
    >>> flow.sample(3, random_state=0).shape
    (3, 2)
    """

    def __init__(self, n_layers=8, hidden_layer_sizes=(64, 64), *, activation="relu",
                 actnorm=True, dequantize=0.0, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    _parameter_constraints = {
        "n_layers": [Interval(numbers.Integral, 1, _MAX_LAYERS)],
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, MAX_WIDTH)],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "actnorm": ["boolean"],
        # the noise is drawn and added in float32: a finite width below its largest value
        "dequantize": [Interval(numbers.Real, 0, float(np.finfo(np.float32).max),
                                closed="left")],
    }

    def _check_params(self):
        super()._check_params()
        check_hidden_layer_sizes(self.hidden_layer_sizes)

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
        return as_float32(X), None, self._sample_weight(sample_weight, X.shape[0])

    def _build_module(self):
        from skml.neural._modules.flow import RealNVP

        return RealNVP(self.n_features_in_, int(self.n_layers),
                       check_hidden_layer_sizes(self.hidden_layer_sizes),
                       activation=self.activation, actnorm=bool(self.actnorm))

    def _build_loss(self, device):
        from skml.neural._modules.flow import standard_normal_log_prob

        def loss(out, x):
            z, log_det = out
            return -(standard_normal_log_prob(z) + log_det)  # per sample

        return loss

    def _train_step(self, batch, optimizers):
        """The default step, on data dequantised by uniform noise of width
        ``dequantize`` drawn from the loop's generator."""
        if self.dequantize > 0:
            x, target, weight = batch
            torch = _torch()
            u = torch.rand(x.shape, generator=self._rng, device=x.device)
            batch = (x + float(self.dequantize) * u, target, weight)
        return super()._train_step(batch, optimizers)

    def _validation_score(self, data):
        """The mean log-likelihood of the held-out rows (``early_stopping``), dequantised
        like the training data, by the same fixed noise every epoch: on the lattice
        points themselves the likelihood grows without bound as the flow overfits."""
        if self.dequantize > 0:
            X = data[0]
            noise = np.random.default_rng(0).random(X.shape, dtype=np.float32)
            data = (X + np.float32(self.dequantize) * noise, *data[1:])
        return super()._validation_score(data)

    @property
    def _n_features_out(self):
        return self.n_features_in_

    def transform(self, X):
        """Map data to the base space: ``z = f(x)``, standard normal under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features)
            In the dtype of ``X``.
        """
        return self._transformed(X, lambda m, xb: m(xb)[0])

    def inverse_transform(self, X):
        """Map base-space points back to data: ``x = f^{-1}(z)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points of the base space, e.g. from :meth:`transform`.

        Returns
        -------
        X_orig : ndarray of shape (n_samples, n_features)
            In the dtype of ``X`` (``inverse_transform(transform(X))`` gives ``X`` back
            up to float32 rounding).
        """
        check_is_fitted(self, "module_")
        Z = check_array(X, dtype=(np.float64, np.float32))
        if Z.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}.inverse_transform"
                f" is expecting {self.n_features_in_} features as input.")
        out = self._forward(as_float32(Z), lambda m, zb: m.inverse(zb))
        return out.astype(Z.dtype, copy=False)

    def sample(self, n_samples=1, random_state=None):
        """Generate new data: ``f^{-1}(z)`` for draws ``z ~ N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws (the same seed gives the same samples).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            In float64.
        """
        return self._decode_prior_draws(n_samples, random_state, "n_features_in_")

    def score_samples(self, X):
        """Exact log-likelihood of each sample under the flow.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``log p(x)`` in nats per sample, in float64 (higher is more likely).
        """
        X, X32 = self._validate_X(X)
        return self._forward(X32, lambda m, xb: m.log_prob(xb)).astype(np.float64)

NormalizingFlow.__doc__ = fill(NormalizingFlow.__doc__)
