"""Fully connected networks: the building block of the MLP, autoencoder and VAE modules."""
import math

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "NORMS", "MLP", "glorot_uniform_", "hidden_stack"]

# Names accepted by ``activation=`` (§3.2.5 of the notes), mapped onto torch's own layers.
# "logistic" and "identity" are scikit-learn's names, accepted for drop-in use.
ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
}

# Names accepted by ``norm=``: batch normalisation (statistics over the batch, running
# averages used in eval mode) or layer normalisation (statistics over the features).
NORMS = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


def hidden_stack(n_in, hidden, activation="relu", norm=None, dropout=0.0):
    """``Linear -> [norm] -> activation -> [dropout]`` for each width in ``hidden``.

    Returns the ``nn.Sequential`` and the width of its output (``n_in`` when ``hidden``
    is empty, in which case the stack is the identity).
    """
    layers = []
    width = n_in
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if norm is not None:
            layers.append(NORMS[norm](h))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    return nn.Sequential(*layers), width


class MLP(nn.Sequential):
    """A multilayer perceptron: hidden layers from :func:`hidden_stack`, then a linear
    output layer of ``n_out`` units, optionally followed by ``out_activation``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    hidden : sequence of int
        Widths of the hidden layers (may be empty: a linear model).
    activation : str
        Key of :data:`ACTIVATIONS` used after every hidden layer.
    norm : {None, "batch", "layer"}
        Normalisation after each hidden linear layer.
    dropout : float
        Dropout probability after each hidden activation (0 disables it).
    out_activation : str or None
        Key of :data:`ACTIVATIONS` applied to the output, or None for raw outputs.
    """

    def __init__(self, n_in, hidden, n_out, activation="relu", norm=None, dropout=0.0,
                 out_activation=None):
        body, width = hidden_stack(n_in, hidden, activation, norm, dropout)
        layers = [*body, nn.Linear(width, n_out)]
        if out_activation is not None:
            layers.append(ACTIVATIONS[out_activation]())
        super().__init__(*layers)



def glorot_uniform_(module, activation="relu"):
    """Initialise every ``nn.Linear`` of ``module`` as scikit-learn's MLPs do (Glorot and
    Bengio, 2010): weights and biases uniform in ``[-b, b]``, ``b = sqrt(6 / (fan_in +
    fan_out))``, or ``sqrt(2 / ...)`` after logistic units. Draws from torch's global
    generator, layer by layer; returns ``module``."""
    factor = 2.0 if activation in ("logistic", "sigmoid") else 6.0
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                bound = math.sqrt(factor / (layer.in_features + layer.out_features))
                layer.weight.uniform_(-bound, bound)
                if layer.bias is not None:
                    layer.bias.uniform_(-bound, bound)
    return module
