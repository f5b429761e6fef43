"""RealNVP normalising flow (§3.4.6 of the notes; Dinh, Sohl-Dickstein and Bengio, 2017):
affine coupling layers with alternating masks, each preceded by an activation
normalisation (actnorm, Kingma and Dhariwal, 2018) with data-dependent initialisation.

Every layer maps data towards the base Gaussian (``forward``) and returns the log of the
absolute Jacobian determinant of that map, one value per row; ``inverse`` runs it back.
"""
import math
import warnings

import torch
from torch import nn

from skml.neural._modules.mlp import MLP

__all__ = ["ActNorm", "AffineCoupling", "RealNVP", "standard_normal_log_prob"]

# A feature whose first training batch has (almost) no spread would get an infinite
# actnorm scale; its standard deviation is floored here.
_ACTNORM_MIN_STD = 1e-6
_LOG_2PI = math.log(2.0 * math.pi)


def standard_normal_log_prob(z):
    """``log N(z; 0, I)`` per row."""
    return -0.5 * (z.pow(2).sum(1) + z.shape[1] * _LOG_2PI)


class ActNorm(nn.Module):
    """``y = (x + bias) * exp(log_scale)`` per feature.

    The first forward pass in training mode sets ``bias`` and ``log_scale`` so that its
    batch comes out with zero mean and unit variance per feature (data-dependent
    initialisation); afterwards they are ordinary trained parameters. Whether that
    happened is the buffer ``initialized``, so it survives pickling and warm starts.
    """

    def __init__(self, n_features):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(n_features))
        self.log_scale = nn.Parameter(torch.zeros(n_features))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def _initialize(self, x):
        std = x.std(0, unbiased=False).clamp_min(_ACTNORM_MIN_STD)
        self.bias.copy_(-x.mean(0))
        self.log_scale.copy_(-torch.log(std))
        self.initialized.fill_(True)

    def forward(self, x):
        if self.training and not bool(self.initialized):
            self._initialize(x)
        y = (x + self.bias) * torch.exp(self.log_scale)
        return y, self.log_scale.sum().expand(x.shape[0])

    def inverse(self, y):
        return y * torch.exp(-self.log_scale) - self.bias


class AffineCoupling(nn.Module):
    """Affine coupling layer: the features of ``mask`` pass unchanged and condition the
    others, ``x_b -> x_b * exp(s(x_a)) + t(x_a)``.

    ``s`` and ``t`` come from one MLP on ``x_a``; ``s = scale * tanh(raw)`` keeps the
    log-scales bounded (a learned ``scale`` per feature, RealNVP's choice), and the last
    layer starts at zero, so every coupling starts as the identity.
    """

    def __init__(self, mask, hidden, activation="relu"):
        super().__init__()
        cond = [j for j, m in enumerate(mask) if m]
        moved = [j for j, m in enumerate(mask) if not m]
        # index sets, rebuilt from the mask (not stored in the state_dict)
        self.register_buffer("cond", torch.tensor(cond, dtype=torch.long), persistent=False)
        self.register_buffer("moved", torch.tensor(moved, dtype=torch.long),
                             persistent=False)
        n_moved = len(moved)
        with warnings.catch_warnings():
            # one feature: a coupling with nothing to condition on is a learned affine
            # map, whose first layer has no weights (torch warns about initialising them)
            warnings.filterwarnings("ignore", "Initializing zero-element tensors")
            self.net = MLP(len(cond), hidden, 2 * n_moved, activation)
        last = self.net[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.scale = nn.Parameter(torch.ones(n_moved))

    def _shift_log_scale(self, xa):
        raw, shift = self.net(xa).chunk(2, dim=1)
        return shift, self.scale * torch.tanh(raw)

    def forward(self, x):
        shift, log_scale = self._shift_log_scale(x[:, self.cond])
        moved = x[:, self.moved] * torch.exp(log_scale) + shift
        return x.index_copy(1, self.moved, moved), log_scale.sum(1)

    def inverse(self, y):
        shift, log_scale = self._shift_log_scale(y[:, self.cond])
        moved = (y[:, self.moved] - shift) * torch.exp(-log_scale)
        return y.index_copy(1, self.moved, moved)


def alternating_mask(n_features, layer):
    """The features that condition coupling ``layer``: those of even index in even
    layers, odd index in odd layers, so consecutive layers transform complementary
    halves."""
    return [(j + layer) % 2 == 0 for j in range(n_features)]


class RealNVP(nn.Module):
    """``n_layers`` times ``[ActNorm] -> AffineCoupling``, masks alternating.

    Parameters
    ----------
    n_features : int
        Data width.
    n_layers : int
        Number of coupling layers.
    hidden : sequence of int
        Hidden widths of each coupling's conditioner MLP.
    activation : str
        Hidden activation (a key of ``skml.neural._modules.mlp.ACTIVATIONS``).
    actnorm : bool
        Whether an actnorm layer precedes each coupling.

    ``forward(x)`` returns ``(z, log_det)``: the base-space point and the log absolute
    Jacobian determinant of ``x -> z`` per row; ``log_prob(x)`` the exact log-density
    ``log N(z; 0, I) + log_det``; ``inverse(z)`` the data-space point.
    """

    def __init__(self, n_features, n_layers, hidden, activation="relu", actnorm=True):
        super().__init__()
        layers = []
        for k in range(n_layers):
            if actnorm:
                layers.append(ActNorm(n_features))
            layers.append(AffineCoupling(alternating_mask(n_features, k), hidden,
                                         activation))
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        log_det = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    def inverse(self, z):
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def log_prob(self, x):
        z, log_det = self(x)
        return standard_normal_log_prob(z) + log_det
