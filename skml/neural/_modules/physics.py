"""Networks of the physics-informed estimators: the PINN's coordinate network (with the
learnable coefficients of an inverse problem) and the neural ODE's vector field."""
import torch
from torch import nn

from skml.neural._modules.mlp import MLP, glorot_uniform_

__all__ = ["PINNNet", "VectorField"]


class PINNNet(nn.Module):
    """``u(x)``: an MLP on the coordinates mapped affinely from the box
    ``[low, high]`` onto ``[-1, 1]^d`` (inputs of unit scale whatever the physical
    units), with the learnable scalar coefficients ``params`` of an inverse problem.

    Parameters
    ----------
    low, high : sequence of float
        The box of the domain, per input coordinate.
    hidden : sequence of int
        Hidden widths.
    n_out : int
        Outputs (components of the solution).
    activation : str
        Hidden activation (a key of ``skml.neural._modules.mlp.ACTIVATIONS``).
    params : dict of str to float
        Initial values of the learnable coefficients.
    transform : callable or None
        ``transform(x, u) -> u``: applied to the MLP's output ``u`` at the points ``x``
        (in the domain's units), e.g. to impose initial and boundary conditions
        exactly (hard constraints). None: the MLP's output as it is.
    dtype : torch.dtype, default=torch.float32
        The precision of the box mapping and of the coefficients, computed in it from
        ``low``, ``high`` and ``params`` (a float64 network built in float32 and
        converted would keep their float32 rounding). The MLP is made in float32;
        ``.to(dtype)`` the whole module.
    """

    def __init__(self, low, high, hidden, n_out, activation="tanh", params=None,
                 transform=None, dtype=torch.float32):
        super().__init__()
        self.transform = transform
        low = torch.as_tensor(low, dtype=dtype)
        high = torch.as_tensor(high, dtype=dtype)
        self.register_buffer("center", (high + low) / 2, persistent=False)
        self.register_buffer("inv_half_width", 2 / (high - low), persistent=False)
        self.net = glorot_uniform_(MLP(len(low), tuple(hidden), n_out, activation),
                                   activation)
        self.params = nn.ParameterDict({
            name: nn.Parameter(torch.tensor(float(value), dtype=dtype))
            for name, value in (params or {}).items()})

    def forward(self, x):
        u = self.net((x - self.center) * self.inv_half_width)
        return u if self.transform is None else self.transform(x, u)


class VectorField(nn.Module):
    """``f(t, y)``: an autonomous MLP vector field (the time is ignored), the right-hand
    side of a neural ODE (Definition 3.106 of the notes)."""

    def __init__(self, n_dims, hidden, activation="tanh"):
        super().__init__()
        self.net = glorot_uniform_(MLP(n_dims, tuple(hidden), n_dims, activation),
                                   activation)

    def forward(self, t, y):
        return self.net(y)
