"""skml.neural.physics.odeint and derivative (issue 21): orders of convergence against
exact solutions, Dormand-Prince error control, torchdiffeq as a reference, gradients
against finite differences, adjoint against direct back-propagation, bad input."""
import math

import numpy as np
import pytest
from scipy.linalg import expm

torch = pytest.importorskip("torch")

from skml.neural.physics import derivative, odeint  # noqa: E402

F64 = torch.float64
# a damped rotation: y' = A y, y(t) = expm(A t) y0
A = np.array([[-0.1, -1.0], [1.0, -0.1]])
Y0_2D = np.array([1.0, 0.5])


class Counted:
    """``func`` counting its evaluations (the cost of a solver)."""

    def __init__(self, func):
        self.func, self.n = func, 0

    def __call__(self, t, y):
        self.n += 1
        return self.func(t, y)


def _decay(t, y):
    return -y


def _linear(t, y):
    return y @ torch.as_tensor(A.T, dtype=y.dtype)


def _final_error(method, func, y0, exact, n_steps, t1=2.0):
    t = torch.linspace(0, t1, n_steps + 1, dtype=F64)
    ys = odeint(func, torch.as_tensor(y0, dtype=F64), t, method=method)
    return float(np.max(np.abs(ys[-1].numpy() - exact)))


@pytest.mark.parametrize("method, order, steps", [
    ("euler", 1, [20, 40, 80, 160]),
    ("rk4", 4, [8, 16, 32, 64]),
])
@pytest.mark.parametrize("problem", ["decay", "linear_2d"])
def test_global_error_falls_with_the_order_of_the_method(method, order, steps, problem):
    if problem == "decay":
        func, y0, exact = _decay, np.array([1.0]), np.array([math.exp(-2.0)])
    else:
        func, y0, exact = _linear, Y0_2D, expm(2.0 * A) @ Y0_2D
    errors = [_final_error(method, func, y0, exact, n) for n in steps]
    slope = -np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - order) <= 0.2, (slope, errors)


def test_rk4_is_the_classical_scheme_of_the_notes():
    """Definition 3.107 step by step in NumPy, to rounding."""
    h, y = 0.1, Y0_2D.copy()
    f = lambda y: A @ y  # noqa: E731
    ref = [y.copy()]
    for _ in range(5):
        k1 = f(y)
        k2 = f(y + h / 2 * k1)
        k3 = f(y + h / 2 * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ref.append(y.copy())
    t = torch.arange(6, dtype=F64) * h
    got = odeint(_linear, torch.tensor(Y0_2D), t, method="rk4")
    np.testing.assert_allclose(got.numpy(), np.array(ref), rtol=1e-14, atol=1e-15)
    # step_size cuts each interval into equal steps landing on the output times
    fine = odeint(_linear, torch.tensor(Y0_2D), t[[0, 5]], method="rk4", step_size=h)
    np.testing.assert_allclose(fine[-1].numpy(), ref[-1], rtol=1e-13)


def test_dopri5_meets_its_tolerance_with_fewer_steps_than_rk4():
    t = torch.linspace(0, 5, 11, dtype=F64)
    exact = np.stack([expm(float(s) * A) @ Y0_2D for s in t])
    counted = Counted(_linear)
    ys = odeint(counted, torch.tensor(Y0_2D), t, method="dopri5", rtol=1e-6, atol=1e-9)
    rel = np.linalg.norm(ys.numpy() - exact, axis=1) / np.linalg.norm(exact, axis=1)
    # the global relative error over the whole interval stays within rtol (measured
    # 6.6e-7; torchdiffeq's dopri5 gives 1.0e-6 here)
    assert rel.max() < 1e-6, rel.max()
    dopri_err = np.max(np.abs(ys.numpy() - exact))
    # RK4 needs more evaluations of func for the same (or worse) error
    for n in (10, 20, 40, 80, 160, 320):
        rk = Counted(_linear)
        t_fine = torch.linspace(0, 5, n + 1, dtype=F64)
        yr = odeint(rk, torch.tensor(Y0_2D), t_fine, method="rk4")
        if np.max(np.abs(yr[-1].numpy() - exact[-1])) <= dopri_err:
            break
    assert counted.n < rk.n, (counted.n, rk.n)


def test_dopri5_dense_output_costs_no_extra_steps():
    """Output times inside a step come from the continuous extension: 201 output times
    cost the evaluations of 2, and keep the tolerance."""
    y0 = torch.tensor(Y0_2D)
    dense_t = torch.linspace(0, 5, 201, dtype=F64)
    few, many = Counted(_linear), Counted(_linear)
    odeint(few, y0, dense_t[[0, -1]], method="dopri5", rtol=1e-6, atol=1e-9)
    ys = odeint(many, y0, dense_t, method="dopri5", rtol=1e-6, atol=1e-9)
    assert many.n == few.n
    exact = np.stack([expm(float(s) * A) @ Y0_2D for s in dense_t])
    rel = np.linalg.norm(ys.numpy() - exact, axis=1) / np.linalg.norm(exact, axis=1)
    assert rel.max() < 1e-6, rel.max()


def test_dopri5_tightens_with_rtol():
    t = torch.tensor([0.0, 3.0], dtype=F64)
    errors = []
    for rtol in (1e-4, 1e-6, 1e-8, 1e-10):
        ys = odeint(_decay, torch.tensor([1.0], dtype=F64), t, method="dopri5",
                    rtol=rtol, atol=1e-12)
        errors.append(abs(float(ys[-1, 0]) - math.exp(-3.0)) / math.exp(-3.0))
        assert errors[-1] < 10 * rtol, (rtol, errors)
    assert errors[-1] < errors[0] * 1e-4


def test_agrees_with_torchdiffeq():
    torchdiffeq = pytest.importorskip("torchdiffeq")
    t = torch.linspace(0, 3, 16, dtype=F64)
    y0 = torch.tensor([[1.0, 0.5], [-0.3, 2.0]], dtype=F64)  # a batch of two states
    exact = np.stack([y0.numpy() @ expm(float(s) * A).T for s in t])
    # Euler: the same scheme on the same grid, to rounding
    np.testing.assert_allclose(
        odeint(_linear, y0, t, method="euler").numpy(),
        torchdiffeq.odeint(_linear, y0, t, method="euler").numpy(), rtol=1e-12)
    # torchdiffeq's "rk4" is the 3/8 rule: another fourth-order scheme, so the two agree
    # to the size of their (equal-order) errors
    mine = odeint(_linear, y0, t, method="rk4", step_size=0.05).numpy()
    theirs = torchdiffeq.odeint(_linear, y0, t, method="rk4",
                                options={"step_size": 0.05}).numpy()
    assert np.max(np.abs(mine - exact)) < 1e-6
    assert np.max(np.abs(mine - theirs)) < 1e-6
    mine = odeint(_linear, y0, t, method="dopri5", rtol=1e-8, atol=1e-10).numpy()
    theirs = torchdiffeq.odeint(_linear, y0, t, method="dopri5", rtol=1e-8,
                                atol=1e-10).numpy()
    assert np.max(np.abs(mine - exact)) < 1e-7
    assert np.max(np.abs(mine - theirs)) < 1e-7


class _Field(torch.nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(),
                                           torch.nn.Linear(8, 2)).double()

    def forward(self, t, y):
        return self.net(y) * torch.cos(t)


@pytest.mark.parametrize("method, options", [
    ("euler", {"step_size": 0.1}),
    ("rk4", {"step_size": 0.1}),
    ("dopri5", {"rtol": 1e-10, "atol": 1e-12}),
])
def test_gradients_match_finite_differences(method, options):
    field = _Field()
    t = torch.tensor([0.0, 0.4, 1.0], dtype=F64)
    weight = field.net[0].weight

    def fn(y0, w):
        with torch.no_grad():
            weight.copy_(w)
        return odeint(lambda s, y: field.net[2](torch.tanh(y @ w.T + field.net[0].bias))
                      * torch.cos(s), y0, t, method=method, **options)

    y0 = torch.tensor([[0.3, -0.7]], dtype=F64, requires_grad=True)
    w = weight.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(fn, (y0, w), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("method, options", [
    ("rk4", {"step_size": 0.05}),
    ("dopri5", {"rtol": 1e-9, "atol": 1e-10}),
])
def test_adjoint_gradients_match_backpropagation(method, options):
    field = _Field(seed=1)
    t = torch.linspace(0, 2, 5, dtype=F64)
    y0 = torch.tensor([[0.5, -0.2], [1.0, 0.3]], dtype=F64)
    target = torch.randn(5, 2, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    grads = []
    for adjoint in (False, True):
        field.zero_grad()
        y = y0.clone().requires_grad_(True)
        ys = odeint(field, y, t, method=method, adjoint=adjoint, **options)
        # every output time contributes to the loss: the adjoint adds each one's jump
        ((ys - target) ** 2).sum().backward()
        grads.append([y.grad.clone()] + [p.grad.clone() for p in field.parameters()])
    for direct, adj in zip(*grads):
        np.testing.assert_allclose(adj.numpy(), direct.numpy(), rtol=1e-4, atol=1e-6)


def test_adjoint_keeps_no_graph_of_the_steps():
    """The adjoint's forward pass runs without autograd: func sees no tensor that
    requires gradients, whatever the number of steps."""
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor(-1.0, dtype=F64))

        def forward(self, t, y):
            out = self.a * y
            seen.append(out.requires_grad)
            return out

    spy = Spy()
    ys = odeint(spy, torch.tensor([1.0], dtype=F64), torch.tensor([0.0, 1.0], dtype=F64),
                step_size=0.02, adjoint=True)
    assert len(seen) == 200 and not any(seen)
    ys[-1].sum().backward()
    # d/da exp(a) at a=-1 is exp(-1)
    assert abs(float(spy.a.grad) - math.exp(-1)) < 1e-8


def test_shapes_dtypes_and_single_time():
    y0 = torch.zeros(3, 4, 2)
    t = np.linspace(0, 1, 7)
    ys = odeint(lambda s, y: torch.ones_like(y), y0, t)
    assert ys.shape == (7, 3, 4, 2) and ys.dtype == torch.float32
    np.testing.assert_allclose(ys[:, 0, 0, 0].numpy(), t, rtol=1e-6, atol=1e-7)
    one = odeint(_decay, y0, [0.5])
    assert one.shape == (1, 3, 4, 2)
    # array input becomes float64
    assert odeint(_decay, [1.0], [0.0, 1.0]).dtype == F64


@pytest.mark.parametrize("kwargs, match", [
    (dict(t=[0.0, 1.0, 1.0]), "strictly increasing"),
    (dict(t=[1.0, 0.0]), "strictly increasing"),
    (dict(t=[[0.0, 1.0]]), "1-D"),
    (dict(t=[]), "1-D"),
    (dict(t=[0.0, np.nan]), "finite"),
    (dict(y0=torch.tensor([1, 2])), "floating point"),
    (dict(y0=torch.tensor([np.nan])), "finite"),
    (dict(method="rk45"), "method must be one of"),
    (dict(rtol=-1.0), "rtol"),
    (dict(atol=0.0), "atol"),
    (dict(step_size=0.0), "step_size"),
    (dict(func=lambda t, y: y[:1] * 0), r"state's shape \(2,\)"),
    (dict(func=lambda t, y: 1.0), "state's shape"),
])
def test_bad_input_is_refused_clearly(kwargs, match):
    args = dict(func=_decay, y0=torch.tensor([1.0, 2.0]), t=[0.0, 1.0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        odeint(args.pop("func"), args.pop("y0"), args.pop("t"), **args)


def test_dopri5_stops_instead_of_running_on():
    stiff = lambda t, y: -1e7 * y  # noqa: E731  (explicit methods need h ~ 1e-7)
    with pytest.raises(RuntimeError, match="max_num_steps=50"):
        odeint(stiff, torch.tensor([1.0], dtype=F64), [0.0, 1.0], method="dopri5",
               max_num_steps=50)
    blowup = lambda t, y: y ** 2  # noqa: E731  (y = 1 / (1 - t): infinite at t = 1)
    with pytest.raises(RuntimeError, match="max_num_steps|underflowed"):
        odeint(blowup, torch.tensor([1.0], dtype=F64), [0.0, 2.0], method="dopri5")


def test_dopri5_refuses_a_non_finite_derivative_at_once():
    # it used to shrink the step on NaN errors until max_num_steps (about 25 s)
    nan_field = lambda t, y: y * float("nan")  # noqa: E731
    with pytest.raises(RuntimeError, match="non-finite value at t=0"):
        odeint(nan_field, torch.tensor([1.0], dtype=F64), [0.0, 1.0], method="dopri5")
    late_nan = lambda t, y: y if float(t) < 0.5 else y * float("inf")  # noqa: E731
    with pytest.raises(RuntimeError, match="non-finite|underflowed"):
        odeint(late_nan, torch.tensor([1.0], dtype=F64), [0.0, 1.0], method="dopri5")


@pytest.mark.parametrize("span", [1e-300, 1e-20, 1e-12])
def test_dopri5_integrates_tiny_time_spans(span):
    # the underflow guard was absolute (1e-14): spans below it failed; exact: exp(-span)
    ys = odeint(_decay, torch.tensor([1.0], dtype=F64), [0.0, span], method="dopri5")
    assert ys[-1].item() == pytest.approx(math.exp(-span), rel=1e-15)
    ys = odeint(_decay, torch.tensor([1.0], dtype=F64), [1e6, 1e6 + 1e-3], method="dopri5")
    assert ys[-1].item() == pytest.approx(math.exp(-1e-3), rel=1e-9)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_odeint_on_cuda():
    y0 = torch.tensor([1.0], device="cuda", dtype=F64)
    for method in ("euler", "rk4", "dopri5"):
        ys = odeint(_decay, y0, torch.linspace(0, 1, 5), method=method, step_size=0.01)
        assert ys.device.type == "cuda"
        assert abs(float(ys[-1, 0]) - math.exp(-1)) < 1e-2


# ------------------------------------------------------------------ derivative


def test_derivative_matches_analytic_derivatives():
    x = torch.tensor([[0.3, 1.5], [-1.2, 0.7], [2.0, -0.4]], dtype=F64,
                     requires_grad=True)
    u = torch.sin(x[:, 0]) * x[:, 1] ** 3
    x0, x1 = x[:, 0].detach(), x[:, 1].detach()
    cases = [
        (dict(order=0, dim=0), torch.sin(x0) * x1 ** 3),
        (dict(order=1, dim=0), torch.cos(x0) * x1 ** 3),
        (dict(order=2, dim=0), -torch.sin(x0) * x1 ** 3),
        (dict(order=3, dim=0), -torch.cos(x0) * x1 ** 3),
        (dict(order=2, dim=1), 6 * torch.sin(x0) * x1),
        (dict(order=4, dim=1), torch.zeros_like(x0)),
        (dict(dim=(0, 1)), 3 * torch.cos(x0) * x1 ** 2),
        (dict(order=3, dim=(1, 0, 1)), 6 * torch.cos(x0) * x1),
    ]
    for kwargs, expected in cases:
        got = derivative(u, x, **kwargs)
        assert got.shape == u.shape
        np.testing.assert_allclose(got.detach().numpy(), expected.numpy(), rtol=1e-12,
                                   atol=1e-12, err_msg=str(kwargs))
    # a column vector keeps its shape; an input u does not use gives zeros
    col = (x[:, :1] ** 2)
    assert derivative(col, x, 1, 0).shape == (3, 1)
    np.testing.assert_array_equal(derivative(col, x, 1, 1).detach().numpy(), 0.0)
    # the result is differentiable (trained through in a PINN loss)
    derivative(u, x, 2, 0).sum().backward()
    np.testing.assert_allclose(x.grad[:, 0].numpy(), (-torch.cos(x0) * x1 ** 3).numpy())


def test_derivative_bad_input():
    x = torch.rand(4, 2, requires_grad=True)
    u = (x ** 2).sum(1)
    with pytest.raises(ValueError, match="require gradients"):
        derivative(u, x.detach())
    with pytest.raises(ValueError, match="one value per point"):
        derivative(x ** 2, x)
    with pytest.raises(ValueError, match=r"dim must be in \[0, 1\]"):
        derivative(u, x, 1, 2)
    with pytest.raises(ValueError, match="order must be"):
        derivative(u, x, -1)
    with pytest.raises(ValueError, match="2-D"):
        derivative(u, x[:, 0])
