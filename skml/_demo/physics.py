"""Demo section: physics-informed learning — odeint's methods against the exact solution,
a PINN solving Burgers' equation beside the Cole-Hopf solution, and a neural ODE
extrapolating a damped spiral beside the best linear dynamics."""
import time
import warnings

import numpy as np

ORDER = 85
TITLE = "Physics-informed networks and neural ODEs"
REQUIRES = ("torch",)


def _solvers(report):
    import torch

    from skml.neural.physics import odeint

    A = torch.tensor([[-0.1, -1.0], [1.0, -0.1]], dtype=torch.float64)
    y0 = torch.tensor([1.0, 0.5], dtype=torch.float64)
    t = torch.linspace(0, 5, 11, dtype=torch.float64)
    exact = torch.stack([torch.linalg.matrix_exp(A * s) @ y0 for s in t])
    calls = [0]

    def field(s, y):
        calls[0] += 1
        return A @ y

    rows = []
    for method, opts in (("euler", {"step_size": 0.01}), ("rk4", {"step_size": 0.1}),
                         ("dopri5", {"rtol": 1e-6, "atol": 1e-9})):
        calls[0] = 0
        ys = odeint(field, y0, t, method=method, **opts)
        rows.append((method, ", ".join(f"{k}={v}" for k, v in opts.items()), calls[0],
                     float((ys - exact).abs().max())))
    report.text(
        "`odeint` on a damped rotation y' = A y over t in [0, 5], against the matrix "
        "exponential: Euler's method (Remark 3.97) needs 500 steps for 1e-2, the "
        "classical Runge-Kutta method (Definition 3.107) 50 steps for 1e-6, and the "
        "adaptive Dormand-Prince method meets its tolerance with fewer evaluations.")
    report.table(["method", "options", "evaluations of f", "max error"], rows)


def _burgers(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.exceptions import ConvergenceWarning

    from skml.neural.physics import PINNRegressor, burgers_1d, burgers_1d_solution

    if report.full:
        # the notes' viscosity with the test's preset: hard constraints, float64,
        # L-BFGS from the start and residual-based adaptive refinement
        nu, params = 0.01 / np.pi, dict(hidden_layer_sizes=(20,) * 4, dtype="float64",
                                        n_collocation=1000, max_iter=2600,
                                        lbfgs_max_iter=2600, refine_every=200,
                                        n_refine=100, n_refinements=10)
    else:
        nu = 0.1 / np.pi
        params = dict(hidden_layer_sizes=(20, 20, 20), n_collocation=500,
                      max_iter=300 if quick else 1000, lbfgs_max_iter=100 if quick else 400,
                      learning_rate_init=5e-3)
    x, t = np.linspace(-1, 1, 201), np.linspace(0, 1, 51)
    X, T = np.meshgrid(x, t)
    grid = np.c_[X.ravel(), T.ravel()]
    ref = burgers_1d_solution(grid[:, 0], grid[:, 1], nu).reshape(X.shape)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if report.full:
            pinn = PINNRegressor(**burgers_1d(nu, hard_constraints=True), sampling="lhs",
                                 tol=0.0, n_iter_no_change=np.inf, random_state=0,
                                 **params).fit()
        else:
            pinn = PINNRegressor(**burgers_1d(nu), batch_size=params["n_collocation"],
                                 n_boundary=100, n_initial=100, sampling="lhs", tol=0.0,
                                 n_iter_no_change=np.inf, random_state=0, **params).fit()
    seconds = time.perf_counter() - t0
    u = pinn.predict(grid).reshape(X.shape)
    err = float(np.linalg.norm(u - ref) / np.linalg.norm(ref))
    n_lbfgs = params["lbfgs_max_iter"]
    how = (f"{params['max_iter'] - n_lbfgs} Adam epochs then {n_lbfgs} L-BFGS iterations "
           "through the shared training loop")
    if report.full:
        how = (f"{n_lbfgs} float64 L-BFGS iterations with the conditions imposed exactly "
               "(`hard_constraints=True`) and 10 rounds of residual-based adaptive "
               "refinement adding 100 points each")
    report.text(
        f"`PINNRegressor(**burgers_1d(nu={nu:.4g}))`: u_t + u u_x = nu u_xx on [-1, 1] x "
        "[0, 1] with u(x, 0) = -sin(pi x) and u(+-1, t) = 0 (§3.6.1), a "
        f"{len(params['hidden_layer_sizes'])}x20 tanh network on "
        f"{params['n_collocation']} Latin-hypercube collocation points, {how}. The "
        "reference is the exact Cole-Hopf solution (`burgers_1d_solution`). The notes' "
        "nu = 0.01/pi, with its near-shock, runs with `--full` (and in "
        "benchmarks/bench_physics.py).")
    report.table(["problem", "relative L2 error", "fit s"],
                 [(f"Burgers, nu={nu:.4g}", err, f"{seconds:.1f}")])
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
    extent = (-1, 1, 0, 1)
    for ax, img, title in ((axes[0], u, "PINN u(x, t)"),
                           (axes[1], ref, "Cole-Hopf reference"),
                           (axes[2], np.abs(u - ref), "|PINN - reference|")):
        im = ax.imshow(img, origin="lower", extent=extent, aspect="auto",
                       cmap="magma" if ax is axes[2] else "RdBu_r")
        ax.set_title(title)
        ax.set_xlabel("x")
        fig.colorbar(im, ax=ax)
    axes[0].set_ylabel("t")
    report.figure(fig, "physics_burgers", "Burgers' equation: the PINN, the exact "
                  "solution and the absolute error.")


def _spiral(report, quick):
    import matplotlib.pyplot as plt
    import torch
    from sklearn.exceptions import ConvergenceWarning

    from skml.neural.physics import NeuralODE, odeint

    def pendulum(s, y):
        return torch.stack([y[..., 1], -torch.sin(y[..., 0]) - 0.3 * y[..., 1]], -1)

    t = torch.linspace(0, 16, 81, dtype=torch.float64)
    Y = odeint(pendulum, torch.tensor([2.5, 0.0], dtype=torch.float64), t,
               method="dopri5", rtol=1e-10).numpy()
    t = t.numpy()
    n_train = 41
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ode = NeuralODE(hidden_layer_sizes=(32,), window=8, batch_size=34,
                        learning_rate_init=1e-2, max_iter=30 if quick else 120, tol=0.0,
                        n_iter_no_change=np.inf, random_state=0).fit(t[:n_train],
                                                                    Y[:n_train])
    pred = ode.predict(Y[:1], t)[0]
    Z = np.c_[Y[:n_train - 1], np.ones(n_train - 1)]
    W = np.linalg.lstsq(Z, Y[1:n_train], rcond=None)[0]
    lin = [Y[0]]
    for _ in range(len(t) - 1):
        lin.append(np.r_[lin[-1], 1.0] @ W)
    lin = np.array(lin)

    def rmse(a):
        return float(np.sqrt(np.mean((a[n_train:] - Y[n_train:]) ** 2)))
    report.text(
        "`NeuralODE` (Definition 3.106) on a damped pendulum, a nonlinear damped spiral "
        "in the phase plane, observed for t in [0, 8] and extrapolated to t = 16, against "
        "the best linear dynamics y_{k+1} = W y_k + b fitted to the same observations.")
    report.table(["model", "extrapolation RMSE (t > 8)"],
                 [("NeuralODE", rmse(pred)), ("linear dynamics", rmse(lin))])
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.plot(Y[:, 0], Y[:, 1], color="black", lw=2, label="true")
    ax.plot(pred[:, 0], pred[:, 1], ls="--", label="NeuralODE")
    ax.plot(lin[:, 0], lin[:, 1], ls=":", label="linear dynamics")
    ax.scatter(Y[:n_train, 0], Y[:n_train, 1], s=8, color="grey", label="training states")
    ax.set_xlabel("angle")
    ax.set_ylabel("angular velocity")
    ax.legend(fontsize=8)
    report.figure(fig, "physics_spiral", "Damped-spiral trajectories: truth, the neural "
                  "ODE and the linear model.")


def section(report, quick):
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # torch's first-use imports
    _solvers(report)
    _burgers(report, quick)
    _spiral(report, quick)
