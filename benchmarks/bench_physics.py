"""skml.neural.physics against its peers, one per case (the label names it):

* ``odeint <method> vs torchdiffeq``: the same problem (a batch of 256 states under a
  small tanh MLP vector field, float64), the same method and the same step counts
  (fixed steps of 0.01 over [0, 2]; for dopri5 the same rtol/atol), forward and
  backward through the solver (and by the adjoint method). torchdiffeq's ``rk4`` is the
  3/8-rule variant of the classical scheme skml implements: the same order and number
  of evaluations. Quality: the largest error of the final states against a dopri5
  solution at rtol=1e-12.
* ``PINN Burgers ... vs torch loop``: time to accuracy of ``PINNRegressor`` (Adam then
  L-BFGS, through skml's loop) against a hand-written loop training the same network
  (``skml.neural._modules.physics.PINNNet``) on the same collocation, boundary and
  initial points with the same optimisers and iteration counts. Quality: the relative
  L2 error against the Cole-Hopf solution on a 201 x 51 grid. The full run is the
  notes' nu = 0.01/pi with the budget that reaches 5e-2; ``--quick`` runs nu = 0.1/pi.
* ``NeuralODE epoch vs torch loop``: training epochs of ``NeuralODE`` against a plain
  loop over the same vector field, windows, batches and optimiser (the wrapper's
  overhead; target <= 1.1). Quality: the final training loss.
"""
import warnings

import numpy as np

from benchmarks._harness import Case, one_torch_thread, value_quality

NAME = "physics"
PEER = "peer"


# ------------------------------------------------------------------ odeint


def _field_problem():
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.Tanh(),
                              torch.nn.Linear(64, 4)).double()

    class Field(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, t, y):
            return self.net(y)

    field = Field()
    y0 = torch.randn(256, 4, dtype=torch.float64)
    t = torch.linspace(0, 2, 11, dtype=torch.float64)
    from skml.neural.physics import odeint

    with torch.no_grad():
        ref = odeint(field, y0, t, method="dopri5", rtol=1e-12, atol=1e-12)
    return field, y0, t, ref


def _solve(which, method, adjoint):
    import torch

    def run(data):
        field, y0, t, _ = data
        y = y0.clone().requires_grad_(True)
        field.zero_grad()
        opts = dict(rtol=1e-6, atol=1e-8) if method == "dopri5" else {}
        if which == "skml":
            from skml.neural.physics import odeint

            if method != "dopri5":
                opts["step_size"] = 0.01
            ys = odeint(field, y, t, method=method, adjoint=adjoint, **opts)
        else:
            import torchdiffeq

            if method != "dopri5":
                opts["options"] = {"step_size": 0.01}
            solver = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint
            ys = solver(field, y, t, method=method, **opts)
        ys.pow(2).sum().backward()
        return ys.detach()
    return run


def _final_error(ys, data):
    return float((ys[-1] - data[3][-1]).abs().max())


# ------------------------------------------------------------------ PINN Burgers


def _burgers_setup(nu, tight):
    from skml.neural.physics import burgers_1d_solution

    x, t = np.linspace(-1, 1, 201), np.linspace(0, 1, 51)
    X, T = np.meshgrid(x, t)
    grid = np.c_[X.ravel(), T.ravel()]
    ref = burgers_1d_solution(grid[:, 0], grid[:, 1], nu)
    if tight:
        params = dict(hidden_layer_sizes=(20,) * 6, n_collocation=4000, n_boundary=200,
                      n_initial=200, max_iter=8000, lbfgs_max_iter=4000,
                      learning_rate_init=2e-3)
    else:
        params = dict(hidden_layer_sizes=(20, 20, 20), n_collocation=500, n_boundary=100,
                      n_initial=100, max_iter=1000, lbfgs_max_iter=400,
                      learning_rate_init=5e-3)
    params["batch_size"] = params["n_collocation"]
    return nu, params, grid, ref


def _pinn_skml(data):
    from sklearn.exceptions import ConvergenceWarning

    from skml.neural.physics import PINNRegressor, burgers_1d

    nu, params, grid, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pinn = PINNRegressor(**burgers_1d(nu), sampling="lhs", random_state=0, tol=0.0,
                             n_iter_no_change=np.inf, device="cpu", **params).fit()
    return pinn.predict(grid)


def _pinn_torch(data):
    """The loop a PINN user writes: the same network and points, Adam then L-BFGS."""
    import torch

    from skml.neural._modules.physics import PINNNet
    from skml.neural.physics import _sample_box, _sample_faces, derivative

    nu, params, grid, _ = data
    rng = np.random.RandomState(0)
    box = np.array([[-1.0, 1.0], [0.0, 1.0]])
    bnd = _sample_faces(box, params["n_boundary"], rng, "lhs", 1)
    ini = _sample_box(box, params["n_initial"], rng, "lhs")
    ini[:, 1] = 0.0
    col = _sample_box(box, params["n_collocation"], rng, "lhs")
    f32 = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    bnd, ini, col = f32(bnd), f32(ini), f32(col)
    u_ini = -torch.sin(torch.pi * ini[:, :1])
    torch.manual_seed(0)
    net = PINNNet(box[:, 0], box[:, 1], params["hidden_layer_sizes"], 1)

    def loss_fn():
        x = col.clone().requires_grad_(True)
        u = net(x)
        u_x = derivative(u, x, 1, 0)
        r = derivative(u, x, 1, 1) + u * u_x - nu * derivative(u_x, x, 1, 0)
        return (r ** 2).mean() + (net(bnd) ** 2).mean() + ((net(ini) - u_ini) ** 2).mean()

    n_lbfgs = params["lbfgs_max_iter"]
    adam = torch.optim.Adam(net.parameters(), lr=params["learning_rate_init"])
    for _ in range(params["max_iter"] - n_lbfgs):
        adam.zero_grad()
        loss = loss_fn()
        loss.backward()
        adam.step()
    lbfgs = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=1, history_size=50,
                              line_search_fn="strong_wolfe", tolerance_change=0.0)

    def closure():
        lbfgs.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss
    for _ in range(n_lbfgs):
        lbfgs.step(closure)
    with torch.no_grad():
        return net(f32(grid))[:, 0].numpy().astype(np.float64)


def _rel_l2(u, data):
    ref = data[3]
    return float(np.linalg.norm(u - ref) / np.linalg.norm(ref))


# ------------------------------------------------------------------ NeuralODE


def _spiral(epochs):
    import torch

    from skml.neural.physics import odeint

    def pendulum(t, y):
        return torch.stack([y[..., 1], -torch.sin(y[..., 0]) - 0.3 * y[..., 1]], -1)

    t = torch.linspace(0, 8, 41, dtype=torch.float64)
    y0 = torch.tensor([[2.5, 0.0], [1.0, 1.0], [-2.0, 0.5], [0.5, -1.5]],
                      dtype=torch.float64)
    Y = odeint(pendulum, y0, t, method="dopri5", rtol=1e-10).transpose(0, 1)
    return t.numpy(), Y.numpy(), epochs


def _ode_skml(data):
    from sklearn.exceptions import ConvergenceWarning

    from skml.neural.physics import NeuralODE

    t, Y, epochs = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ode = NeuralODE(hidden_layer_sizes=(32,), window=8, batch_size=32,
                        learning_rate_init=1e-2, max_iter=epochs, alpha=0.0, tol=0.0,
                        n_iter_no_change=np.inf, device="cpu", random_state=0).fit(t, Y)
    return ode.loss_curve_[-1]


def _ode_torch(data):
    import torch

    from skml.neural._modules.physics import VectorField
    from skml.neural.physics import odeint

    t, Y, epochs = data
    w = 8
    windows = np.concatenate([Y[:, s:s + w] for s in range(Y.shape[1] - w + 1)])
    windows = torch.as_tensor(windows, dtype=torch.float32)
    tw = torch.as_tensor(t[:w] - t[0], dtype=torch.float32)
    torch.manual_seed(0)
    field = VectorField(2, (32,))
    opt = torch.optim.Adam(field.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    n = len(windows)
    n_batches = -(-n // 32)
    bounds = [round(i * n / n_batches) for i in range(n_batches + 1)]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            batch = windows[perm[lo:hi]]
            pred = odeint(field, batch[:, 0], tw, method="rk4").transpose(0, 1)
            loss = ((pred - batch) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * (hi - lo)
    return total / n


def cases(quick):
    for method in ("euler", "rk4", "dopri5"):
        yield Case(f"odeint {method} fwd+bwd vs torchdiffeq", _field_problem,
                   one_torch_thread(_solve("skml", method, False)),
                   one_torch_thread(_solve("peer", method, False)),
                   _final_error, "max error", repeats=3)
    yield Case("odeint rk4 adjoint vs torchdiffeq", _field_problem,
               one_torch_thread(_solve("skml", "rk4", True)),
               one_torch_thread(_solve("peer", "rk4", True)), _final_error, "max error",
               repeats=3)
    yield Case("NeuralODE epochs vs torch loop", lambda: _spiral(3 if quick else 20),
               _ode_skml, one_torch_thread(_ode_torch), value_quality, "final loss",
               repeats=3)
    if quick:
        yield Case("PINN Burgers nu=0.1/pi vs torch loop",
                   lambda: _burgers_setup(0.1 / np.pi, tight=False), _pinn_skml,
                   one_torch_thread(_pinn_torch), _rel_l2, "rel L2", repeats=1)
    else:
        yield Case("PINN Burgers nu=0.01/pi vs torch loop",
                   lambda: _burgers_setup(0.01 / np.pi, tight=True), _pinn_skml,
                   one_torch_thread(_pinn_torch), _rel_l2, "rel L2", repeats=1)
