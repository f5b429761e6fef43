"""Physics-informed learning: ODE solvers, neural ODEs and physics-informed networks.

* :func:`odeint` integrates ``dy/dt = func(t, y)`` on torch tensors (Euler, RK4,
  adaptive Dormand-Prince), differentiably or by the adjoint method;
* :func:`derivative` is the autograd helper PINN residuals are written with;
* :class:`NeuralODE` learns a vector field from trajectories (Definition 3.106);
* :class:`PINNRegressor` solves a PDE given by its residual, forward or inverse
  (§3.6.1, Definition 3.104); :func:`burgers_1d` and :func:`poisson_2d` are the notes'
  ready problems.

torch is imported inside the functions and methods only: importing this module does not
import it.

References
----------
H. Dai, "Note on Machine Learning" (preprint), §3.6 (Definitions 3.104-3.109, Remark
3.97) and §3.6.1.
"""
import math
import numbers

import numpy as np

from skml.neural._base import _torch

__all__ = ["odeint", "derivative"]

_METHODS = ("euler", "rk4", "dopri5")


def _check_positive(value, name, *, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = "[0, inf)" if allow_zero else "(0, inf)"
        raise ValueError(f"{name} must be a finite number in {bound}, got {value!r}.")
    return float(value)


def _as_time_tensor(t, like, name="t"):
    """``t`` as a 1-D tensor of ``like``'s dtype and device, checked: finite, at least
    one time, strictly increasing."""
    torch = _torch()
    t = torch.as_tensor(t.detach() if torch.is_tensor(t) else np.asarray(t, dtype=float))
    if t.ndim != 1 or t.numel() < 1:
        raise ValueError(
            f"{name} must be a 1-D sequence of at least one time, got shape "
            f"{tuple(t.shape)}.")
    if not t.is_floating_point() and t.dtype != torch.bool and not t.is_complex():
        t = t.to(torch.float64)
    if not t.is_floating_point():
        raise ValueError(f"{name} must hold real numbers, got dtype {t.dtype}.")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite, got {t.tolist()}.")
    if t.numel() > 1 and not bool((t[1:] > t[:-1]).all()):
        bad = int(torch.nonzero(t[1:] <= t[:-1])[0, 0])
        raise ValueError(
            f"{name} must be strictly increasing, but {name}[{bad + 1}]="
            f"{float(t[bad + 1]):.6g} <= {name}[{bad}]={float(t[bad]):.6g}.")
    return t.to(device=like.device, dtype=like.dtype)


def odeint(func, y0, t, *, method="rk4", rtol=1e-7, atol=1e-9, step_size=None,
           adjoint=False, adjoint_params=None, max_num_steps=100_000):
    """Solve the initial value problem ``dy/dt = func(t, y)``, ``y(t[0]) = y0``.

    The interface is torchdiffeq's: ``func(t, y)`` takes the time (a 0-d tensor) and a
    state shaped like ``y0`` and returns ``dy/dt`` of the same shape; the result holds
    the state at every time of ``t``. The computation is ordinary torch operations on
    ``y0``'s dtype and device, so gradients flow back to ``y0`` and to whatever ``func``
    depends on (its parameters) by back-propagation through the solver, or by the
    adjoint method with ``adjoint=True``.

    Parameters
    ----------
    func : callable
        ``func(t, y) -> dy/dt``, e.g. an ``nn.Module``. Its output must have the shape
        of ``y``.
    y0 : tensor or array-like of any shape
        The initial state (a leading batch dimension is just part of the shape). Arrays
        become float64 tensors; a tensor keeps its floating dtype and device.
    t : tensor or array-like of shape (n_times,)
        Strictly increasing output times; ``t[0]`` is the time of ``y0``.
    method : {"rk4", "euler", "dopri5"}, default="rk4"
        ``"rk4"``: the classical fourth-order Runge-Kutta method, ``"euler"``: the
        explicit Euler method (both fixed-step; one step per interval of ``t`` unless
        ``step_size`` is given); ``"dopri5"``: the adaptive Dormand-Prince 5(4) method
        with error control by ``rtol`` and ``atol``.
    rtol, atol : float, default=1e-7, 1e-9
        Relative and absolute tolerances of ``"dopri5"``: a step is accepted when the
        root mean square of ``err / (atol + rtol * max(|y_old|, |y_new|))`` is at most
        1. Ignored by the fixed-step methods.
    step_size : float or None, default=None
        Fixed-step methods: each interval ``[t[i], t[i+1]]`` is cut into
        ``ceil(length / step_size)`` equal steps, so every output time is a grid point
        (no interpolation). None: one step per interval. Ignored by ``"dopri5"``.
    adjoint : bool, default=False
        Compute gradients by the adjoint method: the backward pass integrates the
        adjoint system backwards in time (with the same method and options) instead of
        back-propagating through the stored steps, so memory does not grow with the
        number of steps. Gradients flow to ``y0`` and ``adjoint_params`` only.
    adjoint_params : sequence of tensors or None, default=None
        The tensors the adjoint gradients are computed for: by default the parameters
        of ``func`` when it is an ``nn.Module``, otherwise none.
    max_num_steps : int, default=100000
        ``"dopri5"`` raises a ``RuntimeError`` after this many step attempts (a stiff
        problem or tolerances beyond the dtype's precision) instead of running on.

    Returns
    -------
    ys : tensor of shape (n_times, *y0.shape)
        ``ys[i]`` approximates ``y(t[i])``; ``ys[0]`` is ``y0``.

    Raises
    ------
    ValueError
        On an unknown ``method``, ``t`` that is not 1-D, finite and strictly
        increasing, a ``y0`` that is not floating point or not finite, invalid
        tolerances or step size, or ``func`` returning a tensor of another shape than
        ``y0``.
    RuntimeError
        When ``"dopri5"`` exceeds ``max_num_steps`` or its step size underflows.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.6, Definition 3.107
       (Runge-Kutta methods) and Remark 3.97 (Euler's method).
    .. [2] J. R. Dormand and P. J. Prince, "A family of embedded Runge-Kutta formulae",
       Journal of Computational and Applied Mathematics 6(1), 1980.
    .. [3] E. Hairer, S. P. Norsett and G. Wanner, "Solving Ordinary Differential
       Equations I", 2nd ed., Springer 1993, §II.4.
    .. [4] R. T. Q. Chen, Y. Rubanova, J. Bettencourt and D. Duvenaud, "Neural Ordinary
       Differential Equations", NeurIPS 2018.

    Examples
    --------
    >>> import torch
    >>> from skml.neural.physics import odeint
    >>> ys = odeint(lambda t, y: -y, torch.tensor([1.0], dtype=torch.float64),
    ...             torch.linspace(0, 1, 3, dtype=torch.float64), method="dopri5")
    >>> round(float(ys[-1, 0]), 6)  # exp(-1)
    0.367879
    """
    torch = _torch()
    from skml.neural._modules import ode

    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}.")
    if not callable(func):
        raise TypeError(f"func must be callable as func(t, y), got {func!r}.")
    if not torch.is_tensor(y0):
        y0 = torch.as_tensor(np.asarray(y0, dtype=np.float64))
    if not y0.is_floating_point():
        raise ValueError(f"y0 must be a floating point tensor, got dtype {y0.dtype}.")
    if not bool(torch.isfinite(y0.detach()).all()):
        raise ValueError("y0 must be finite (it holds NaN or infinite values).")
    t = _as_time_tensor(t, y0)
    rtol = _check_positive(rtol, "rtol", allow_zero=True)
    atol = _check_positive(atol, "atol")
    if step_size is not None:
        step_size = _check_positive(step_size, "step_size")
    if isinstance(max_num_steps, bool) or not isinstance(max_num_steps, numbers.Integral) \
            or max_num_steps < 1:
        raise ValueError(f"max_num_steps must be an integer >= 1, got {max_num_steps!r}.")
    checked = _ShapeChecked(func, tuple(y0.shape))
    options = dict(method=method, rtol=rtol, atol=atol, step_size=step_size,
                   max_num_steps=int(max_num_steps))
    if t.numel() == 1:
        return y0.unsqueeze(0)
    if not adjoint:
        return ode.solve(checked, y0, t, **options)
    if adjoint_params is None:
        adjoint_params = (tuple(func.parameters()) if isinstance(func, torch.nn.Module)
                          else ())
    params = tuple(p for p in adjoint_params if torch.is_tensor(p) and p.requires_grad)
    return ode.solve_adjoint(checked, y0, t, params, **options)


class _ShapeChecked:
    """``func`` whose first output is checked to have the state's shape (a clear error
    instead of a broadcasting surprise deep inside a step)."""

    def __init__(self, func, shape):
        self.func, self.shape, self.checked = func, shape, False

    def __call__(self, t, y):
        out = self.func(t, y)
        if not self.checked:
            torch = _torch()
            if not torch.is_tensor(out) or tuple(out.shape) != tuple(y.shape):
                got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
                raise ValueError(
                    f"func(t, y) must return a tensor of the state's shape {tuple(y.shape)}"
                    f", got {got}.")
            self.checked = True
        return out


def derivative(u, x, order=1, dim=0):
    """Partial derivative ``d^order u / dx_dim^order`` of network outputs by autograd.

    The helper PINN residuals are written with (it is passed to the residual function
    of :class:`PINNRegressor`, and usable on its own). The graph is kept
    (``create_graph=True``), so the result can be differentiated again and trained
    through.

    Parameters
    ----------
    u : tensor of shape (n,) or (n, 1)
        Values of one scalar function at the ``n`` points ``x``, computed from ``x``.
    x : tensor of shape (n, d) with ``requires_grad=True``
        The points.
    order : int, default=1
        Order of the derivative (0 returns ``u``).
    dim : int or sequence of int, default=0
        The input coordinate to differentiate along; a sequence gives a mixed
        derivative, one differentiation per entry (``dim=(0, 1)`` is
        ``d^2 u / dx_0 dx_1``; ``order`` must then be its length or left at 1).

    Returns
    -------
    du : tensor shaped like ``u``
        Zero where ``u`` does not depend on ``x``.

    Raises
    ------
    ValueError
        If ``u`` is not one value per point, ``x`` is not 2-D or does not require
        gradients, ``order`` is negative or ``dim`` out of range.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.6.1 (the derivatives of
       the PINN residual).
    .. [2] A. G. Baydin, B. A. Pearlmutter, A. A. Radul and J. M. Siskind, "Automatic
       differentiation in machine learning: a survey", JMLR 18, 2018.
    """
    dims = _derivative_dims(u, x, order, dim)
    out = u
    for j in dims:
        out = _grad_along(out, x, j)
    return out


def _derivative_dims(u, x, order, dim):
    torch = _torch()
    if not torch.is_tensor(x) or x.ndim != 2:
        raise ValueError(f"x must be a 2-D tensor of points (n, d), got "
                         f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}.")
    if not x.requires_grad:
        raise ValueError("x must require gradients (x.requires_grad_(True)) before u is "
                         "computed from it.")
    if not torch.is_tensor(u) or u.shape[0] != x.shape[0] or u.numel() != x.shape[0]:
        raise ValueError(
            f"u must hold one value per point, shape ({x.shape[0]},) or ({x.shape[0]}, 1)"
            f", got {tuple(u.shape) if torch.is_tensor(u) else type(u).__name__}; select "
            "one output, e.g. u[:, j:j + 1].")
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 0:
        raise ValueError(f"order must be an integer >= 0, got {order!r}.")
    if isinstance(dim, numbers.Integral) and not isinstance(dim, bool):
        dims = (int(dim),) * int(order)
    else:
        dims = tuple(dim)
        if order not in (1, len(dims)):
            raise ValueError(f"order={order} does not match the {len(dims)} entries of "
                             f"dim={dim!r}.")
    for j in dims:
        if isinstance(j, bool) or not isinstance(j, numbers.Integral) \
                or not 0 <= j < x.shape[1]:
            raise ValueError(f"dim must be in [0, {x.shape[1] - 1}] for points of "
                             f"{x.shape[1]} coordinates, got {dim!r}.")
    return tuple(int(j) for j in dims)


def _grad_along(u, x, j):
    torch = _torch()
    if not u.requires_grad:
        return torch.zeros_like(u)
    (g,) = torch.autograd.grad(u, x, torch.ones_like(u), create_graph=True,
                               allow_unused=True)
    if g is None:
        return torch.zeros_like(u)
    return g[:, j].reshape(u.shape)


class _CachedDerivative:
    """:func:`derivative` remembering every derivative taken in one loss evaluation, so
    ``u_x`` is not recomputed for ``u_xx`` (a residual asks for both)."""

    def __init__(self):
        self.cache = {}
        self.alive = []  # the tensors whose ids key the cache stay alive with it

    def __call__(self, u, x, order=1, dim=0):
        dims = _derivative_dims(u, x, order, dim)
        out, key = u, (id(u), id(x))
        self.alive.append((u, x))
        for k, j in enumerate(dims):
            key = key + (j,)
            hit = self.cache.get(key)
            if hit is None:
                hit = _grad_along(out, x, j)
                self.cache[key] = hit
            out = hit
        return out
