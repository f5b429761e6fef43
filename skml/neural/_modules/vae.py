"""The variational autoencoder network (Definition 3.92, Example 47 of the notes) and the
terms of its evidence lower bound (Remark 3.69)."""
import math

import torch
from torch import nn
from torch.nn import functional as F

from skml.neural._modules.mlp import MLP, hidden_stack

__all__ = ["VAENet", "gaussian_kl", "log_likelihood"]

# log sigma^2 is clamped to this range before exponentiating, so a wild encoder output
# cannot overflow exp() early in training.
_LOGVAR_MIN, _LOGVAR_MAX = -30.0, 20.0


class VAENet(nn.Module):
    """Gaussian encoder ``q(z|x) = N(mu, diag(sigma^2))`` and a decoder for ``p(x|z)``.

    Parameters
    ----------
    n_features : int
        Data width.
    encoder_hidden, decoder_hidden : sequence of int
        Hidden widths of the encoder and of the decoder.
    n_components : int
        Latent width.
    activation : str
        Hidden activation (a key of ``skml.neural._modules.mlp.ACTIVATIONS``).

    ``forward(x, eps=None)`` returns ``(decoder output, mu, log_var)``. Given standard
    normal draws ``eps`` of shape ``(n, n_components)`` (the caller draws them, from its
    own generator), the latent is ``z = mu + sigma * eps`` (the reparameterisation
    trick); without them ``z = mu``. The decoder output is the mean of a Gaussian
    likelihood or the logits of a Bernoulli one (the loss decides which).
    """

    def __init__(self, n_features, encoder_hidden, n_components, decoder_hidden,
                 activation="relu"):
        super().__init__()
        self.body, width = hidden_stack(n_features, encoder_hidden, activation)
        self.mu = nn.Linear(width, n_components)
        self.log_var = nn.Linear(width, n_components)
        self.decoder = MLP(n_components, decoder_hidden, n_features, activation)

    def encode(self, x):
        h = self.body(x)
        return self.mu(h), self.log_var(h).clamp(_LOGVAR_MIN, _LOGVAR_MAX)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x, eps=None):
        mu, log_var = self.encode(x)
        z = mu if eps is None else mu + torch.exp(0.5 * log_var) * eps
        return self.decode(z), mu, log_var


def gaussian_kl(mu, log_var):
    """``KL(N(mu, sigma^2) || N(0, I))`` in closed form, summed over the latent
    dimensions: one value per row."""
    return 0.5 * torch.sum(mu.pow(2) + log_var.exp() - 1.0 - log_var, dim=1)


def log_likelihood(decoded, x, likelihood):
    """``log p(x | z)`` per row for the decoder output ``decoded``.

    ``"gaussian"``: ``N(x; decoded, 1/2)`` per feature, i.e. ``-sum (x - decoded)^2`` up to
    the constant ``-d/2 log(pi)`` which is included (the notes' equation (1)).
    ``"bernoulli"``: ``decoded`` are logits; minus the binary cross-entropy, summed.
    """
    if likelihood == "gaussian":
        d = x.shape[1]
        return -torch.sum((x - decoded) ** 2, dim=1) - 0.5 * d * math.log(math.pi)
    return -F.binary_cross_entropy_with_logits(decoded, x, reduction="none").sum(dim=1)
