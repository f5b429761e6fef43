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
  notes' nu = 0.01/pi twice: the soft-constraint preset with the budget that reaches
  about 2e-3, and the test's quick preset (``BURGERS_PRESET`` of
  tests/neural/test_physics_pinn.py: hard constraints, float64, L-BFGS from the start,
  residual-based adaptive refinement), whose peer is the loop a PINN user writes with
  torch's L-BFGS: one ``step`` of ``refine_every`` iterations per refinement round.
  ``--quick`` runs nu = 0.1/pi.
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


# the quick preset of tests/neural/test_physics_pinn.py (keep the two in step)
HARD_PRESET = dict(hidden_layer_sizes=(20, 20, 20, 20), dtype="float64",
                   n_collocation=1000, max_iter=2600, lbfgs_max_iter=2600, refine_every=200,
                   n_refine=100, n_refine_candidates=10000, n_refinements=10)


def _burgers_setup(nu, tight):
    from skml.neural.physics import burgers_1d_solution

    x, t = np.linspace(-1, 1, 201), np.linspace(0, 1, 51)
    X, T = np.meshgrid(x, t)
    grid = np.c_[X.ravel(), T.ravel()]
    ref = burgers_1d_solution(grid[:, 0], grid[:, 1], nu)
    if tight == "hard":
        return nu, dict(HARD_PRESET), grid, ref
    if tight:
        params = dict(hidden_layer_sizes=(20,) * 6, n_collocation=4000, n_boundary=200,
                      n_initial=200, max_iter=8000, lbfgs_max_iter=4000,
                      learning_rate_init=2e-3)
    else:
        params = dict(hidden_layer_sizes=(20, 20, 20), n_collocation=500, n_boundary=100,
                      n_initial=100, max_iter=1000, lbfgs_max_iter=400,
                      learning_rate_init=5e-3)
    params.update(batch_size=params["n_collocation"], dtype="float32")
    return nu, params, grid, ref


def _pinn_skml(data):
    from sklearn.exceptions import ConvergenceWarning

    from skml.neural.physics import PINNRegressor, burgers_1d

    nu, params, grid, _ = data
    problem = burgers_1d(nu, hard_constraints="refine_every" in params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pinn = PINNRegressor(**problem, sampling="lhs", random_state=0, tol=0.0,
                             n_iter_no_change=np.inf, device="cpu", **params).fit()
    return pinn.predict(grid)


def _pinn_torch(data):
    """The loop a PINN user writes: the same network and points, Adam then L-BFGS."""
    import torch

    from skml.neural._modules.physics import PINNNet
    from skml.neural.physics import _sample_box, _sample_faces, derivative

    nu, params, grid, _ = data
    if "refine_every" in params:
        return _pinn_torch_hard(data)
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


def _pinn_torch_hard(data):
    """The hard-constraint preset by hand: u = -sin(pi x) + t (1 - x^2) N(x, t) in
    float64, torch's L-BFGS for ``refine_every`` iterations per call, then the
    ``n_refine`` points of largest residual among ``n_refine_candidates`` join the set
    and a new L-BFGS starts."""
    import torch

    from skml.neural._modules.physics import PINNNet
    from skml.neural.physics import _sample_box, derivative

    nu, params, grid, _ = data
    f64 = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    box = np.array([[-1.0, 1.0], [0.0, 1.0]])
    rng = np.random.RandomState(0)
    col = f64(_sample_box(box, params["n_collocation"], rng, "lhs"))
    torch.manual_seed(0)

    def hard(x, u):
        return -torch.sin(torch.pi * x[:, :1]) + x[:, 1:2] * (1 - x[:, :1] ** 2) * u

    net = PINNNet(box[:, 0], box[:, 1], params["hidden_layer_sizes"], 1,
                  transform=hard).double()

    def residual(points):
        x = points.clone().requires_grad_(True)
        u = net(x)
        u_x = derivative(u, x, 1, 0)
        return derivative(u, x, 1, 1) + u * u_x - nu * derivative(u_x, x, 1, 0)

    every, rounds = params["refine_every"], params["n_refinements"]
    left = params["max_iter"]
    for r in range(rounds + 1):
        n_iter = left if r == rounds else min(every, left)
        if n_iter <= 0:
            break
        lbfgs = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=n_iter,
                                  max_eval=10 * n_iter, history_size=50,
                                  line_search_fn="strong_wolfe", tolerance_grad=0.0,
                                  tolerance_change=0.0)

        def closure():
            lbfgs.zero_grad()
            loss = (residual(col) ** 2).mean()
            loss.backward()
            return loss
        lbfgs.step(closure)
        left -= n_iter
        if r < rounds:
            cand = f64(_sample_box(box, params["n_refine_candidates"], rng, "lhs"))
            score = residual(cand).detach()[:, 0] ** 2
            col = torch.cat([col, cand[torch.topk(score, params["n_refine"]).indices]])
    with torch.no_grad():
        return net(f64(grid))[:, 0].numpy()


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
        yield Case("PINN Burgers nu=0.01/pi quick preset vs torch loop",
                   lambda: _burgers_setup(0.01 / np.pi, tight="hard"),
                   one_torch_thread(_pinn_skml), one_torch_thread(_pinn_torch), _rel_l2,
                   "rel L2", repeats=1)
        yield Case("PINN Burgers nu=0.01/pi vs torch loop",
                   lambda: _burgers_setup(0.01 / np.pi, tight=True), _pinn_skml,
                   one_torch_thread(_pinn_torch), _rel_l2, "rel L2", repeats=1)
