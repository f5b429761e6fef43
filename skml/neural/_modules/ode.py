"""ODE solvers on torch tensors: fixed-step Euler and RK4, adaptive Dormand-Prince 5(4),
and the adjoint method for gradients in memory independent of the number of steps.

The public, validated entry point is :func:`skml.neural.physics.odeint`; this module
assumes checked inputs: ``y0`` a floating tensor, ``t`` a strictly increasing 1-D tensor
of the same dtype and device, ``func(t, y)`` returning a tensor shaped like ``y``.

References: H. Dai, "Note on Machine Learning" (preprint), §3.6, Definition 3.107 (RK4)
and Remark 3.97 (Euler); J. R. Dormand and P. J. Prince, "A family of embedded
Runge-Kutta formulae", J. Comput. Appl. Math. 6, 1980; E. Hairer, S. P. Norsett and
G. Wanner, "Solving Ordinary Differential Equations I", 2nd ed., §II.4 (step-size
control, starting step); R. T. Q. Chen et al., "Neural Ordinary Differential Equations",
NeurIPS 2018 (the adjoint method).
"""
import math

import torch

__all__ = ["solve", "solve_adjoint", "FIXED_METHODS", "METHODS"]

FIXED_METHODS = ("euler", "rk4")
METHODS = FIXED_METHODS + ("dopri5",)

# Dormand-Prince 5(4): nodes, stage coefficients, 5th-order weights (FSAL: the last stage
# is f at the new point) and the difference of the 5th- and embedded 4th-order weights.
_DP_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_DP_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_DP_B = _DP_A[6] + (0.0,)
_DP_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)
_DP_E = tuple(b - b4 for b, b4 in zip(_DP_B, _DP_B4))
# the continuous extension's fifth term (Hairer, Norsett and Wanner, §II.6, "dense
# output of DOPRI5"); stage 2 does not enter
_DP_DENSE = (-12715105075 / 11282082432, 0.0, 87487479700 / 32700410799,
             -10690763975 / 1880347072, 701980252875 / 199316789632,
             -1453857185 / 822651844, 69997945 / 29380423)
_SAFETY, _MIN_FACTOR, _MAX_FACTOR = 0.9, 0.2, 10.0
_ORDER = 5  # the exponent 1/5 of the controller: the error estimate is O(h^5)


def _combine(y, h, coefs, ks):
    """``y + h * sum(c * k)`` over the non-zero coefficients."""
    acc = None
    for c, k in zip(coefs, ks):
        if c != 0.0:
            acc = k * c if acc is None else acc + k * c
    return y if acc is None else y + h * acc


def _euler_step(func, t, y, h):
    return y + h * func(t, y)


def _rk4_step(func, t, y, h):
    """One classical Runge-Kutta step (Definition 3.107 of the notes)."""
    k1 = func(t, y)
    k2 = func(t + h / 2, y + (h / 2) * k1)
    k3 = func(t + h / 2, y + (h / 2) * k2)
    k4 = func(t + h, y + h * k3)
    return y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)


_FIXED_STEPS = {"euler": _euler_step, "rk4": _rk4_step}


def _rms(x):
    return float(torch.sqrt(torch.mean(x.detach() * x.detach())))


def _fixed(func, y0, times, step, step_size):
    """Every interval of ``times`` cut into ``ceil(length / step_size)`` equal steps (one
    step each when ``step_size`` is None), so every output time is a grid point."""
    ys = [y0]
    y = y0
    for i in range(len(times) - 1):
        t0, t1 = times[i], times[i + 1]
        n = 1 if step_size is None else max(1, math.ceil((t1 - t0) / step_size - 1e-9))
        h = (t1 - t0) / n
        for j in range(n):
            y = step(func, t0 + j * h, y, h)
        ys.append(y)
    return ys


def _initial_step(func, t0, y0, f0, rtol, atol):
    """Hairer, Norsett and Wanner's starting step (Solving ODEs I, §II.4)."""
    scale = atol + rtol * y0.detach().abs()
    d0, d1 = _rms(y0 / scale), _rms(f0 / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    f1 = func(t0 + h0, y0 + h0 * f0)
    d2 = _rms((f1 - f0) / scale) / h0
    peak = max(d1, d2)
    h1 = max(1e-6, h0 * 1e-3) if peak <= 1e-15 else (0.01 / peak) ** (1 / _ORDER)
    return min(100 * h0, h1)


def _dense(y0, y1, ks, h, theta):
    """Dormand and Prince's continuous extension (Hairer, Norsett and Wanner, §II.6):
    the state at ``t + theta * h`` inside an accepted step, of local order 5 like the
    step itself, from the step's stages."""
    r2 = y1 - y0
    r3 = h * ks[0] - r2
    r4 = r2 - h * ks[6] - r3
    r5 = _combine(torch.zeros_like(y0), h, _DP_DENSE, ks)
    return y0 + theta * (r2 + (1 - theta) * (r3 + theta * (r4 + (1 - theta) * r5)))


_EPS = 2.0 ** -52


def _finite_derivative(f, t):
    """``f`` if every entry is finite: a NaN/inf derivative at an accepted point can only
    shrink the step until max_num_steps (seconds of spinning) instead of failing."""
    if not bool(torch.isfinite(f.detach()).all()):
        raise RuntimeError(
            f"odeint(method='dopri5'): func(t, y) returned a non-finite value at "
            f"t={float(t):.6g}."
        )
    return f


def _dopri5(func, y0, times, rtol, atol, max_num_steps, first_step, stats):
    """Adaptive Dormand-Prince 5(4) with local extrapolation (the 5th-order solution is
    kept), FSAL, and the standard controller on the mixed error norm
    ``rms(err / (atol + rtol * max(|y|, |y_new|)))``. The steps follow the controller,
    not the output times (only the last step is shortened to end at ``times[-1]``);
    states at output times inside a step come from the method's continuous extension.
    The step sizes are computed from detached values: gradients flow through the
    stages of the accepted steps."""
    ys = [y0]
    y, t = y0, times[0]
    t_end = times[-1]
    f = _finite_derivative(func(t, y), t)
    h = first_step if first_step is not None else _initial_step(func, t, y, f, rtol, atol)
    n_steps, i = 0, 1
    while i < len(times):
        if n_steps >= max_num_steps:
            raise RuntimeError(
                f"odeint(method='dopri5') reached max_num_steps={max_num_steps} at "
                f"t={t:.6g} before t={t_end:.6g}: the problem is stiff or the "
                "tolerances are too tight; raise max_num_steps or rtol/atol."
            )
        last = h >= t_end - t
        step = t_end - t if last else h
        # no progress left in floating point: relative to the times, not absolute
        # (a span of 1e-20 is integrated, as torchdiffeq does)
        if not math.isfinite(step) or step <= 4 * _EPS * max(abs(t), abs(t_end)):
            raise RuntimeError(
                f"odeint(method='dopri5'): the step size underflowed at t={t:.6g} "
                "(the solution is not finite or the problem is too stiff)."
            )
        ks = [f]
        for k in range(1, 6):
            ks.append(func(t + _DP_C[k] * step, _combine(y, step, _DP_A[k], ks)))
        y_new = _combine(y, step, _DP_A[6], ks)
        ks.append(func(t + step, y_new))  # FSAL: the next step's first stage
        with torch.no_grad():
            err = _combine(torch.zeros_like(y), step, _DP_E, ks)
            scale = atol + rtol * torch.maximum(y.abs(), y_new.abs())
            ratio = _rms(err / scale)
        n_steps += 1
        stats["n_steps"] = stats.get("n_steps", 0) + 1
        if not math.isfinite(ratio):
            h = step * _MIN_FACTOR
            stats["n_rejected"] = stats.get("n_rejected", 0) + 1
            continue
        factor = (_MAX_FACTOR if ratio == 0.0
                  else min(_MAX_FACTOR, max(_MIN_FACTOR, _SAFETY * ratio ** (-1 / _ORDER))))
        if ratio > 1.0:
            h = step * min(1.0, factor)
            stats["n_rejected"] = stats.get("n_rejected", 0) + 1
            continue
        t_new = t_end if last else t + step
        while i < len(times) and times[i] < t_new:
            ys.append(_dense(y, y_new, ks, step, (times[i] - t) / step))
            i += 1
        if i < len(times) and times[i] == t_new:
            ys.append(y_new)
            i += 1
        t, y, f = t_new, y_new, _finite_derivative(ks[6], t_new)
        h = step * factor
    return ys


def solve(func, y0, t, method="rk4", rtol=1e-7, atol=1e-9, step_size=None,
          max_num_steps=100_000, first_step=None, stats=None):
    """The states at every time of ``t`` (a tensor of shape ``(len(t), *y0.shape)``),
    differentiable by ordinary back-propagation through the solver's operations."""
    times = [float(v) for v in t.detach().cpu()]
    stats = {} if stats is None else stats
    user_func = func

    def func(s, y):  # noqa: F811  (the solvers step in floats; func sees 0-d tensors)
        return user_func(y.new_tensor(s), y)

    if method in _FIXED_STEPS:
        ys = _fixed(func, y0, times, _FIXED_STEPS[method], step_size)
    else:
        ys = _dopri5(func, y0, times, float(rtol), float(atol), int(max_num_steps),
                     first_step, stats)
    return torch.stack(ys)


class _Adjoint(torch.autograd.Function):
    """The ODE solution with gradients by the adjoint method: the backward pass solves
    the augmented system ``(y, a, g)`` from the last time to the first,
    ``dy/dt = f``, ``da/dt = -a^T df/dy``, ``dg/dt = -a^T df/dtheta``, adding the
    incoming gradient to ``a`` at each output time; nothing of the forward pass is kept
    but the outputs, so memory does not grow with the number of steps."""

    @staticmethod
    def forward(ctx, y0, t, func, options, *params):
        with torch.no_grad():
            ys = solve(func, y0, t, **options)
        ctx.func, ctx.options = func, options
        ctx.save_for_backward(t, ys, *params)
        return ys

    @staticmethod
    def backward(ctx, grad_ys):
        t, ys, *params = ctx.saved_tensors
        func, options = ctx.func, ctx.options
        shape, numel = ys.shape[1:], ys[0].numel()
        sizes = [p.numel() for p in params]

        def augmented(s, state):
            # time runs backwards: s = -t, so every derivative changes sign
            y = state[:numel].reshape(shape)
            a = state[numel:2 * numel].reshape(shape)
            with torch.enable_grad():
                y = y.detach().requires_grad_(True)
                fy = func(-s, y)
                grads = torch.autograd.grad(fy, (y, *params), a, allow_unused=True)
            vjp_y = grads[0] if grads[0] is not None else torch.zeros_like(y)
            vjp_p = [torch.zeros_like(p).reshape(-1) if g is None else g.reshape(-1)
                     for p, g in zip(params, grads[1:])]
            return torch.cat([-fy.detach().reshape(-1), vjp_y.reshape(-1), *vjp_p])

        n = len(t)
        adj_p = ys.new_zeros(sum(sizes))
        a = grad_ys[-1].reshape(-1)
        y = ys[-1].reshape(-1)
        for i in range(n - 1, 0, -1):
            state = torch.cat([y, a, adj_p])
            s = torch.stack([-t[i], -t[i - 1]])
            state = solve(augmented, state, s, **options)[-1]
            y = ys[i - 1].reshape(-1)  # restart from the stored state: no drift
            a = state[numel:2 * numel] + grad_ys[i - 1].reshape(-1)
            adj_p = state[2 * numel:]
        grad_params, offset = [], 0
        for p, k in zip(params, sizes):
            grad_params.append(adj_p[offset:offset + k].reshape(p.shape))
            offset += k
        return (a.reshape(shape), None, None, None, *grad_params)


def solve_adjoint(func, y0, t, params, **options):
    """:func:`solve` with gradients (for ``y0`` and ``params``) by the adjoint method."""
    return _Adjoint.apply(y0, t, func, options, *params)
