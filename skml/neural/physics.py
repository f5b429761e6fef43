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
from sklearn.base import RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skml.neural._base import (
    MAX_WIDTH,
    NeuralEstimator,
    _is_stochastic,
    _torch,
    as_float32,
    check_fits_in_memory,
    training_params,
)
from skml.neural._docs import fill
from skml.neural.mlp import ACTIVATIONS, check_hidden_layer_sizes
from skml.utils import Interval, StrOptions, store_init_params

__all__ = ["odeint", "derivative", "NeuralODE", "PINNRegressor", "burgers_1d",
           "burgers_1d_solution", "poisson_2d"]

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
    ys : tensor of shape ``(n_times,) + y0.shape``
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


# ---------------------------------------------------------------------------- PINN


_LOSS_TERMS = ("residual", "boundary", "initial", "data")
_INT_MAX = 2**31 - 1
_LBFGS_PINN_HISTORY = 50  # correction pairs: PINN practice keeps more than the default 10
_REFINE_CHUNK = 8192  # candidate points per residual evaluation of a refinement


def _restart_lbfgs(opt):
    """Forget ``torch.optim.LBFGS``'s direction and curvature pairs (its next step is a
    scaled steepest descent), keeping its count of function evaluations (``max_fun``)."""
    for st in opt.state.values():
        evals = st.get("func_evals", 0)
        st.clear()
        st.update(func_evals=evals, n_iter=0)


def _check_domain(domain):
    """``domain`` as a float64 array of shape (d, 2) of finite ``low < high`` pairs."""
    try:
        box = np.asarray(domain, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"domain must be a list of (low, high) pairs, one per input coordinate, got "
            f"{domain!r}.") from None
    if box.ndim != 2 or box.shape[1] != 2 or box.shape[0] < 1:
        raise ValueError(
            f"domain must be a list of (low, high) pairs, one per input coordinate, got "
            f"{domain!r}.")
    with np.errstate(over="ignore"):  # the width too: the box is mapped by it
        width = box[:, 1] - box[:, 0]
    if not np.isfinite(box).all() or not (width > 0).all() or not np.isfinite(width).all():
        raise ValueError(f"domain must hold finite pairs with low < high and a finite "
                         f"width high - low, got {domain!r}.")
    return box


def _sample_box(box, n, rng, method):
    """``n`` points in the box (uniform, or a Latin hypercube: one point in each of
    ``n`` equal slices of every coordinate)."""
    low, high = box[:, 0], box[:, 1]
    if method == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(box), seed=rng).random(n)
    else:
        unit = rng.uniform(size=(n, len(box)))
    return low + unit * (high - low)


def _sample_faces(box, n, rng, method, skip):
    """``n`` points on the faces of the box, the faces normal to coordinate ``skip``
    (the time) excluded; a face is chosen with probability proportional to its
    measure, then a point in it as :func:`_sample_box`."""
    d = len(box)
    widths = box[:, 1] - box[:, 0]
    faces = [(j, side) for j in range(d) if j != skip for side in (0, 1)]
    if not faces:
        raise ValueError("boundary callables need a coordinate other than time_dim: the "
                         "domain has no spatial boundary.")
    measure = np.array([np.prod(np.delete(widths, j)) for j, _ in faces])
    choice = rng.choice(len(faces), size=n, p=measure / measure.sum())
    pts = _sample_box(box, n, rng, method)
    for f, (j, side) in enumerate(faces):
        pts[choice == f, j] = box[j, side]
    return pts


def _as_values(values, m, what):
    if np.ndim(values) not in (1, 2):
        raise ValueError(f"{what} must hold one value (or one row of values) per point: "
                         f"got an array of shape {np.shape(values)}.")
    vals = check_array(values, ensure_2d=False, dtype=np.float64, input_name=what)
    if vals.ndim == 1:
        vals = vals[:, None]
    if vals.ndim != 2 or vals.shape[0] != m:
        raise ValueError(f"{what} must hold one value (or one row of values) per point: "
                         f"expected {m} rows, got shape {vals.shape}.")
    return vals


class _ReuseLastEvaluation:
    """``torch.optim.LBFGS`` stepped one iteration per epoch, minus one evaluation of
    the loss per iteration.

    Each ``step`` starts by evaluating the loss and gradient at the current
    parameters, which are usually the point the previous step's line search accepted
    and has just evaluated: that evaluation is handed back (the same numbers, the
    parameters compared bit for bit) instead of being recomputed, halving the cost of
    an iteration. ``param_groups`` are the optimiser's, so the loop's penalties apply
    as usual.
    """

    def __init__(self, optimizer, owner, x, parts, last):
        self.optimizer, self.owner, self.x = optimizer, owner, x
        self.parts, self.last = parts, last
        self.param_groups = optimizer.param_groups

    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure):
        torch = _torch()
        params = [p for g in self.param_groups for p in g["params"]]

        def evaluate():
            flat = torch.cat([p.detach().reshape(-1) for p in params])
            cache = self.owner._last_eval
            if cache is not None and cache["x"] is self.x \
                    and torch.equal(cache["flat"], flat):
                for p, g in zip(params, cache["grads"]):
                    p.grad = None if g is None else g.clone()
                if not self.parts:
                    self.parts.update(cache["terms"])
                return cache["loss"]
            loss = closure()
            self.owner._last_eval = dict(
                x=self.x, flat=flat, loss=loss.detach(), terms=dict(self.last),
                grads=[None if p.grad is None else p.grad.detach().clone() for p in params])
            return loss

        return self.optimizer.step(evaluate)


class PINNRegressor(RegressorMixin, NeuralEstimator):
    """Physics-informed neural network: a network ``u(x)`` trained to satisfy a PDE.

    The PDE is given by its residual, ``residual(x, u, derivative, **params)``, a
    tensor that is zero where ``u`` solves it, evaluated at collocation points ``x``
    sampled in the box ``domain``; boundary and initial conditions, and for an inverse
    problem observations ``fit(X_obs, y_obs)``, add mean squared error terms (§3.6.1
    of the notes):

    ``L = w_r mean(residual^2) + w_b MSE_boundary + w_i MSE_initial + w_d MSE_data``.

    Training is the loop of :class:`~skml.neural.NeuralEstimator`: the collocation
    points are the samples (``batch_size``, ``shuffle``), ``max_iter`` epochs of
    ``solver`` (Adam by default), then, as common PINN practice, up to
    ``lbfgs_max_iter`` iterations of L-BFGS (``torch.optim.LBFGS``) on all collocation
    points: the last ``lbfgs_max_iter`` of the ``max_iter`` epochs, or earlier once the
    first-order solver stops improving the loss by ``tol`` for ``n_iter_no_change``
    epochs. The learnable coefficients ``learn_params`` are trained with the network
    (the inverse problem of Definition 3.104). Inputs are mapped affinely from the box
    onto ``[-1, 1]^d`` inside the network.

    Parameters
    ----------
    residual : callable
        Required (the default None only lets the class be built without arguments;
        ``fit`` refuses it). ``residual(x, u, derivative, **params) -> tensor`` with ``x`` the collocation
        points, a tensor of shape (n, d) and dtype ``dtype`` that requires gradients,
        ``u`` the network at ``x`` (after ``output_transform``), shape (n, n_outputs),
        ``derivative`` the function
        :func:`derivative` (``derivative(u, x, order=k, dim=j)``; derivatives taken
        twice in one evaluation are computed once) and ``params`` the tensors of
        ``learn_params``. It returns a tensor of ``n`` rows (any number of columns, one
        per equation). For pickling, use a module-level function or a picklable
        object.
    domain : list of (float, float) or None
        ``(low, high)`` of every input coordinate: the box collocation points are
        sampled in. None: the bounding box of ``X`` (``fit`` then needs ``X``).
    boundary : list or callable or None, default=None
        Dirichlet conditions, each either ``(points, values)`` (arrays of shapes (m, d)
        and (m,) or (m, n_outputs)) or a callable ``g(points) -> values`` on NumPy
        arrays, evaluated at ``n_boundary`` points sampled on the faces of the box
        (those normal to ``time_dim`` excluded).
    initial : list or callable or None, default=None
        Initial conditions, as ``boundary``; a callable is evaluated at ``n_initial``
        points on the face ``x[time_dim] = domain[time_dim][0]``.
    time_dim : int or None, default=None
        The coordinate that is time (needed by callable initial conditions).
    hidden_layer_sizes : array-like of int, default=(32, 32, 32)
        Widths of the hidden layers.
    activation : str, default="tanh"
        Hidden activation, one of ``"tanh"``, ``"silu"``, ``"gelu"``, ``"softplus"``,
        ... (as ``MLPRegressor``; smooth ones give the second derivatives PDEs need).
    n_collocation : int, default=2000
        Collocation points (the training samples).
    n_boundary, n_initial : int, default=200
        Points sampled for each callable boundary / initial condition.
    sampling : {"uniform", "lhs"}, default="uniform"
        How points are sampled: independent uniform draws or a Latin hypercube.
    resample : bool, default=False
        Draw new collocation points every epoch of the first-order solver (a fresh
        set against over-fitting the residual at fixed points); L-BFGS keeps the set
        drawn at the start.
    loss_weights : dict or None, default=None
        Weights of the loss terms ``"residual"``, ``"boundary"``, ``"initial"`` and
        ``"data"`` (missing keys: 1).
    learn_params : dict of str to float or None, default=None
        Coefficients of the PDE learned with the network, with their initial values;
        passed to ``residual`` as keyword arguments (0-d tensors). Fitted values in
        ``params_``.
    lbfgs_max_iter : int, default=0
        L-BFGS iterations after the first-order solver (0: none; ``max_iter``: L-BFGS
        from the first epoch, with this class's longer history). Not used by
        ``solver="lbfgs"``, which runs the loop's L-BFGS from the start.
    output_transform : callable or None, default=None
        ``output_transform(x, u) -> u``: maps the network's raw output ``u`` (shape
        (n, n_outputs)) at the points ``x`` (shape (n, d), the domain's units) to the
        solution, with torch operations, everywhere (collocation points, conditions,
        ``predict``). It imposes conditions exactly ("hard constraints"), e.g.
        ``u = g(x) + t (1 - x^2) N(x, t)`` meets ``u(x, 0) = g(x)`` and
        ``u(+-1, t) = 0`` whatever the network ``N``, so those conditions need no loss
        term (:func:`burgers_1d` with ``hard_constraints=True``). It must return a
        tensor of shape (n, n_outputs); for pickling, a module-level function or a
        picklable object.
    dtype : {"float32", "float64"}, default="float32"
        The precision of the network and of training. Second derivatives and the
        L-BFGS line search lose much in float32 once the residual is small: stiff
        problems (Burgers' shock at small ``nu``) need ``"float64"`` (about 1.7 times
        the time per iteration on a CPU).
    refine_every : int, default=0
        Residual-based adaptive refinement (RAR): every ``refine_every`` epochs, the
        ``n_refine`` points of largest residual among ``n_refine_candidates`` fresh
        points sampled in the box join the collocation points (kept for the rest of
        the fit; L-BFGS restarts its curvature history on the new objective). 0: no
        refinement.
    n_refine : int, default=100
        Points added by each refinement.
    n_refine_candidates : int, default=10000
        Candidate points sampled (by ``sampling``) for each refinement.
    n_refinements : int, default=10
        The number of refinements at most.
    %(training_params)s

    Attributes
    ----------
    params_ : dict of str to float
        The learned coefficients (empty without ``learn_params``).
    n_outputs_ : int
        Components of the solution.
    domain_ : ndarray of shape (n_coordinates, 2)
        The box the collocation points were sampled in.
    %(training_attributes)s

    Raises
    ------
    ValueError
        From ``fit``: an invalid domain, conditions of the wrong shape, a residual
        that does not return one row per collocation point, observations of another
        dimension than the domain.

    Notes
    -----
    The network computes in ``dtype`` (predictions come back in the dtype of ``X``).
    Residual-based adaptive refinement (``refine_every``) is the RAR of DeepXDE [3]_. It
    passes scikit-learn's estimator checks with no expected failure: on their tables
    (``domain=None``, Laplace's equation as the residual) it is a regression with a
    physics prior.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.6 (Definition 3.104,
       inverse problems; Definition 3.109, PDEs) and §3.6.1 (PINN, Burgers' and
       Poisson's equations).
    .. [2] M. Raissi, P. Perdikaris and G. E. Karniadakis, "Physics-informed neural
       networks", Journal of Computational Physics 378, 2019.
    .. [3] L. Lu, X. Meng, Z. Mao and G. E. Karniadakis, "DeepXDE: A deep learning
       library for solving differential equations", SIAM Review 63(1), 2021.
    .. [4] M. D. McKay, R. J. Beckman and W. J. Conover, "A Comparison of Three Methods
       for Selecting Values of Input Variables", Technometrics 21(2), 1979 (Latin
       hypercube sampling).
    .. [5] I. E. Lagaris, A. Likas and D. I. Fotiadis, "Artificial neural networks for
       solving ordinary and partial differential equations", IEEE Transactions on
       Neural Networks 9(5), 1998 (trial solutions that meet the conditions exactly:
       ``output_transform``).
    .. [6] L. Lu, R. Pestourie, W. Yao, Z. Wang, F. Verdugo and S. G. Johnson,
       "Physics-informed neural networks with hard constraints for inverse design",
       SIAM Journal on Scientific Computing 43(6), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neural.physics import PINNRegressor, poisson_2d
    >>> pinn = PINNRegressor(**poisson_2d(-1.0), max_iter=5, random_state=0).fit()
    >>> pinn.predict([[0.5, 0.5]]).shape
    (1,)
    """

    _parameter_constraints = {
        "residual": [callable],
        "domain": ["array-like", None],
        "boundary": [list, tuple, callable, None],
        "initial": [list, tuple, callable, None],
        "time_dim": [Interval(numbers.Integral, 0, None), None],
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, MAX_WIDTH)],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "n_collocation": [Interval(numbers.Integral, 1, _INT_MAX)],
        "n_boundary": [Interval(numbers.Integral, 1, _INT_MAX)],
        "n_initial": [Interval(numbers.Integral, 1, _INT_MAX)],
        "sampling": [StrOptions({"uniform", "lhs"})],
        "resample": ["boolean"],
        "loss_weights": [dict, None],
        "learn_params": [dict, None],
        "lbfgs_max_iter": [Interval(numbers.Integral, 0, None)],
        "output_transform": [callable, None],
        "dtype": [StrOptions({"float32", "float64"})],
        "refine_every": [Interval(numbers.Integral, 0, None)],
        "n_refine": [Interval(numbers.Integral, 1, _INT_MAX)],
        "n_refine_candidates": [Interval(numbers.Integral, 1, _INT_MAX)],
        "n_refinements": [Interval(numbers.Integral, 0, _INT_MAX)],
    }

    def __init__(self, residual=None, domain=None, boundary=None, initial=None, *,
                 time_dim=None, hidden_layer_sizes=(32, 32, 32), activation="tanh",
                 n_collocation=2000, n_boundary=200, n_initial=200, sampling="uniform",
                 resample=False, loss_weights=None, learn_params=None, lbfgs_max_iter=0,
                 output_transform=None, dtype="float32", refine_every=0, n_refine=100,
                 n_refine_candidates=10000, n_refinements=10, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    # ---------------------------------------------------------------- checks and data

    def _check_params(self):
        super()._check_params()
        check_hidden_layer_sizes(self.hidden_layer_sizes)
        for name in (self.loss_weights or {}):
            if name not in _LOSS_TERMS:
                raise ValueError(f"loss_weights has the unknown term {name!r}; the terms "
                                 f"are {list(_LOSS_TERMS)}.")
        for name, w in (self.loss_weights or {}).items():
            if isinstance(w, bool) or not isinstance(w, numbers.Real) \
                    or not math.isfinite(w) or w < 0:
                raise ValueError(f"loss_weights[{name!r}] must be a finite number >= 0, "
                                 f"got {w!r}.")
        for name, v in (self.learn_params or {}).items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"learn_params keys must be identifiers (the residual's "
                                 f"keyword arguments), got {name!r}.")
            if isinstance(v, bool) or not isinstance(v, numbers.Real) \
                    or not math.isfinite(v):
                raise ValueError(f"learn_params[{name!r}] must be a finite number, got "
                                 f"{v!r}.")

    def _conditions(self, spec, what, box, rng):
        """``(points, values)`` arrays of one kind of condition (None when none)."""
        if spec is None:
            return None
        items = [spec] if callable(spec) else list(spec)
        d = len(box)
        pts_all, vals_all = [], []
        for k, item in enumerate(items):
            name = f"{what}[{k}]"
            if callable(item):
                if what == "initial":
                    if self.time_dim is None:
                        raise ValueError("a callable initial condition needs time_dim, "
                                         "the coordinate that is time.")
                    pts = _sample_box(box, int(self.n_initial), rng, self.sampling)
                    pts[:, self.time_dim] = box[self.time_dim, 0]
                else:
                    pts = _sample_faces(box, int(self.n_boundary), rng, self.sampling,
                                        self.time_dim)
                vals = _as_values(item(pts.copy()), len(pts), f"the values of {name}")
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                pts = check_array(item[0], dtype=np.float64, input_name=f"{name} points")
                if pts.shape[1] != d:
                    raise ValueError(f"{name} points have {pts.shape[1]} coordinates, the "
                                     f"domain {d}.")
                vals = _as_values(item[1], len(pts), f"{name} values")
            else:
                raise ValueError(
                    f"{what} must be a list of (points, values) pairs or callables, got "
                    f"{item!r} as its entry {k}.")
            pts_all.append(pts)
            vals_all.append(vals)
        widths = {v.shape[1] for v in vals_all}
        if len(widths) > 1:
            raise ValueError(f"the {what} conditions give different numbers of outputs: "
                             f"{sorted(widths)}.")
        return np.concatenate(pts_all), np.concatenate(vals_all)

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("PINNRegressor does not support sample_weight.")
        if X is None:
            if y is not None:
                raise ValueError("y was given without X: observations need their points.")
            if self.domain is None:
                raise ValueError("domain=None takes the box of X, but fit got no X: give "
                                 "the domain or observations.")
        else:
            if y is None:
                raise ValueError("PINNRegressor requires y to be passed with X (the "
                                 "observed values of the solution at X).")
            X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                                 reset=reset, dtype=(np.float64, np.float32))
        if self.domain is None:
            low, high = X.min(0).astype(np.float64), X.max(0).astype(np.float64)
            pad = np.where(high > low, 0.0, 0.5)
            box = np.stack([low - pad, high + pad], axis=1)
        else:
            box = _check_domain(self.domain)
        d = len(box)
        if X is not None and X.shape[1] != d:
            raise ValueError(f"X has {X.shape[1]} features, but the domain has {d} "
                             "coordinates.")
        if self.time_dim is not None and self.time_dim >= d:
            raise ValueError(f"time_dim={self.time_dim} is not a coordinate of the "
                             f"{d}-dimensional domain.")
        rng = check_random_state(self.random_state)
        terms = {}
        for what, spec in (("boundary", self.boundary), ("initial", self.initial)):
            cond = self._conditions(spec, what, box, rng)
            if cond is not None:
                terms[what] = cond
        if X is not None:
            yy = np.asarray(y, dtype=np.float64)
            terms["data"] = (np.asarray(X, dtype=np.float64),
                             yy[:, None] if yy.ndim == 1 else yy)
        widths = {v.shape[1] for _, v in terms.values()}
        if len(widths) > 1:
            raise ValueError(f"the conditions and observations give different numbers of "
                             f"outputs: {sorted(widths)}.")
        n_out = widths.pop() if widths else 1
        if reset:
            if X is None:
                self.n_features_in_ = d
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            self.n_outputs_ = n_out
            self.domain_ = box
            self._fit_dtype = np.float64 if X is None else X.dtype
            self._y_1d = X is None or np.ndim(y) == 1
        elif n_out != self.n_outputs_ or d != self.n_features_in_:
            raise ValueError(
                f"warm start / partial_fit continues a network of {self.n_features_in_} "
                f"inputs and {self.n_outputs_} outputs; got {d} and {n_out}.")
        if not reset and hasattr(self, "module_"):
            trained = next(self.module_.parameters()).dtype
            if str(trained) != f"torch.{self.dtype}":
                raise ValueError(
                    f"warm start / partial_fit continues a network of {trained}, but "
                    f"dtype={self.dtype!r}; call fit with warm_start=False to train a new "
                    "network.")
        self._terms = {k: (self._as_dtype(p), self._as_dtype(v))
                       for k, (p, v) in terms.items()}
        # the points alone (sampled in float64), before the residual's autograd graph
        # multiplies them: a clear error instead of NumPy's allocation failure
        cpu, itemsize = _torch().device("cpu"), 8
        check_fits_in_memory(int(self.n_collocation) * d * itemsize,
                             f"n_collocation={self.n_collocation}", cpu)
        if int(self.refine_every):
            check_fits_in_memory(int(self.n_refine_candidates) * d * itemsize,
                                 f"n_refine_candidates={self.n_refine_candidates}", cpu)
        colloc = _sample_box(box, int(self.n_collocation), rng, self.sampling)
        return (self._as_dtype(colloc),)

    def _as_dtype(self, a):
        """``a`` as a C-contiguous array of the training ``dtype``."""
        if self.dtype == "float64":
            return np.ascontiguousarray(a, dtype=np.float64)
        return as_float32(a)

    # ---------------------------------------------------------------- loop hooks

    def _build_module(self):
        from skml.neural._modules.physics import PINNNet

        box = self.domain_
        hidden = check_hidden_layer_sizes(self.hidden_layer_sizes)
        dtype = getattr(_torch(), self.dtype)
        net = PINNNet(box[:, 0], box[:, 1], hidden, self.n_outputs_, self.activation,
                      dict(self.learn_params or {}), self.output_transform, dtype=dtype)
        return net.to(dtype)

    def _build_loss(self, device):
        def squared_error(out, target):
            return ((out - target) ** 2).mean()
        return squared_error

    def _weights(self):
        w = {k: 1.0 for k in _LOSS_TERMS}
        w.update({k: float(v) for k, v in (self.loss_weights or {}).items()})
        return w

    def _term_tensors(self, device):
        torch = _torch()
        cache = getattr(self, "_term_cache", None)
        if cache is None or cache[0] != device:
            cache = (device, {k: (torch.from_numpy(p).to(device), torch.from_numpy(v).to(device))
                              for k, (p, v) in self._terms.items()})
            self._term_cache = cache
        return cache[1]

    def _residual(self, x):
        """``(residual, u)`` at the points ``x`` (detached from them and made to require
        gradients), both checked for shape."""
        torch = _torch()
        module = self.module_
        x = x.detach().requires_grad_(True)
        u = module(x)
        n = x.shape[0]
        if self.output_transform is not None and (
                not torch.is_tensor(u) or tuple(u.shape) != (n, self.n_outputs_)):
            got = tuple(u.shape) if torch.is_tensor(u) else type(u).__name__
            raise ValueError(
                f"output_transform(x, u) must return a tensor of shape (n, n_outputs) = "
                f"({n}, {self.n_outputs_}); got {got}.")
        params = dict(module.params.items())
        r = self.residual(x, u, _CachedDerivative(), **params)
        if not torch.is_tensor(r) or r.ndim == 0 or r.shape[0] != n:
            got = tuple(r.shape) if torch.is_tensor(r) else type(r).__name__
            raise ValueError(
                f"residual(x, u, derivative) must return a tensor with one row per "
                f"collocation point, shape ({n},) or ({n}, k); got {got}.")
        return r, u

    def _pinn_loss(self, x, device):
        """The weighted loss and its detached terms at collocation points ``x``."""
        torch = _torch()
        module = self.module_
        r, u = self._residual(x)
        weights = self._weights()
        parts = {"residual": (r.to(u.dtype) ** 2).mean()}
        for name, (pts, vals) in self._term_tensors(device).items():
            parts[name] = ((module(pts) - vals) ** 2).mean()
        total = sum(weights[k] * v for k, v in parts.items() if weights[k] > 0)
        if not torch.is_tensor(total):  # every weight zero
            total = parts["residual"] * 0.0
        return total, parts

    def _in_lbfgs_phase(self):
        if self.solver == "lbfgs" or int(self.lbfgs_max_iter) == 0:
            return False
        if self._lbfgs_start is None and \
                self.n_iter_ >= int(self.max_iter) - int(self.lbfgs_max_iter):
            self._lbfgs_start = self.n_iter_
        return self._lbfgs_start is not None

    def _lbfgs(self, optimizers):
        """The refinement's L-BFGS, created on first use and kept with the optimisers
        (outside the loop's schedule, which leaves L-BFGS's step to its line search)."""
        opt = optimizers.get("lbfgs")
        if opt is None:
            opt = _torch().optim.LBFGS(
                list(self.module_.parameters()), lr=1.0, max_iter=1,
                max_eval=int(self.max_fun), tolerance_grad=float(self.tol) * 1e-3,
                tolerance_change=0.0, history_size=_LBFGS_PINN_HISTORY,
                line_search_fn="strong_wolfe")
            optimizers["lbfgs"] = opt
        return opt

    def _batches(self, data, generator):
        torch = _torch()
        self._refine(data[0].device, generator)
        refined = self._refined
        if self._in_lbfgs_phase():
            # L-BFGS: the whole fixed set, as its line search needs (the same tensor
            # every epoch, so that the last evaluation of the loss can be reused)
            if refined is not None:
                if self._full_set is None:
                    self._full_set = (torch.cat([data[0], refined]),)
                data = self._full_set
            yield data
            return
        if self.resample:
            seed = int(torch.randint(0, _INT_MAX, (1,), generator=generator))
            pts = _sample_box(self.domain_, int(self.n_collocation),
                              np.random.default_rng(seed), self.sampling)
            data = (torch.from_numpy(self._as_dtype(pts)).to(data[0].device),)
        if refined is not None:
            data = (torch.cat([data[0], refined]),)
        yield from super()._batches(data, generator)

    def _refine(self, device, generator):
        """Residual-based adaptive refinement: at the start of every ``refine_every``-th
        epoch, add the ``n_refine`` candidates of largest residual norm to the
        collocation points, and restart L-BFGS's curvature history (its pairs were
        measured on the previous objective)."""
        every = int(self.refine_every)
        epoch = self.n_iter_
        if every == 0 or epoch == 0 or epoch % every \
                or self._n_refined >= int(self.n_refinements):
            return
        torch = _torch()
        seed = int(torch.randint(0, _INT_MAX, (1,), generator=generator))
        cand = _sample_box(self.domain_, int(self.n_refine_candidates),
                           np.random.default_rng(seed), self.sampling)
        cand = torch.from_numpy(self._as_dtype(cand)).to(device)
        scores = []
        with torch.enable_grad():
            for chunk in torch.split(cand, _REFINE_CHUNK):
                r, _ = self._residual(chunk)
                scores.append(r.detach().reshape(len(chunk), -1).square().sum(1))
        top = torch.topk(torch.cat(scores), min(int(self.n_refine), len(cand))).indices
        new = cand[top]
        self._refined = new if self._refined is None else torch.cat([self._refined, new])
        self._n_refined += 1
        self._full_set = self._last_eval = None  # a new objective
        for opt in self._train_state["optimizers"].values():
            if isinstance(opt, torch.optim.LBFGS):
                _restart_lbfgs(opt)

    def _train_step(self, batch, optimizers):
        (x,) = batch
        device = self._device
        opt = self._lbfgs(optimizers) if self._in_lbfgs_phase() else optimizers["module"]
        parts, last = {}, {}

        def compute_loss():
            total, terms = self._pinn_loss(x, device)
            last.clear()
            last.update({k: v.detach() for k, v in terms.items()})
            if not parts:  # the terms at the parameters before the step
                parts.update(last)
            return total

        if isinstance(opt, _torch().optim.LBFGS):
            opt = _ReuseLastEvaluation(opt, self, x, parts, last)
        loss = self._optimizer_step(opt, compute_loss, x.shape[0])
        return {"loss": loss, **parts}

    def _update_no_improvement(self, loss, score):
        super()._update_no_improvement(loss, score)
        if self.solver == "lbfgs" or int(self.lbfgs_max_iter) == 0:
            return
        if self._lbfgs_start is None:
            if self._no_improvement_count > self.n_iter_no_change:
                # the first-order solver has stalled: refine with L-BFGS instead of
                # stopping
                self._lbfgs_start = self.n_iter_
                self._no_improvement_count = 0
        elif self.n_iter_ - self._lbfgs_start >= int(self.lbfgs_max_iter):
            self._no_improvement_count = self.n_iter_no_change + 1  # the budget is spent

    def _validation_score(self, data):
        torch = _torch()
        device = next(self.module_.parameters()).device
        x = torch.from_numpy(np.ascontiguousarray(data[0])).to(device)
        was_training = self.module_.training
        self.module_.eval()
        try:
            with torch.enable_grad():
                loss, _ = self._pinn_loss(x, device)
        finally:
            self.module_.train(was_training)
        loss = float(loss.detach())
        return -loss if math.isfinite(loss) else float("nan")

    # ---------------------------------------------------------------- public API

    def _fit_pinn(self, X, y, incremental):
        self._lbfgs_start = None
        self._refined, self._n_refined = None, 0
        self._full_set = self._last_eval = None
        try:
            if incremental:
                super().partial_fit(X, y)
            else:
                super().fit(X, y)
        finally:
            for name in ("_term_cache", "_lbfgs_start", "_refined", "_n_refined",
                         "_full_set", "_last_eval"):
                self.__dict__.pop(name, None)
        self.params_ = {k: float(v.detach()) for k, v in self.module_.params.items()}
        return self

    def fit(self, X=None, y=None):
        """Train the network on the PDE (and on observations, if given).

        Parameters
        ----------
        X : array-like of shape (n_obs, n_coordinates) or None, default=None
            Points where the solution was observed (inverse or data-assisted problems);
            None for a forward problem.
        y : array-like of shape (n_obs,) or (n_obs, n_outputs) or None, default=None
            The observed values at ``X``.

        Returns
        -------
        self : PINNRegressor
            The fitted estimator.

        Raises
        ------
        ValueError
            As described in the class docstring, or when training diverges.
        """
        return self._fit_pinn(X, y, incremental=False)

    @available_if(_is_stochastic)
    def partial_fit(self, X=None, y=None):
        """One more epoch of the first-order solver, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_obs, n_coordinates) or None, default=None
            Observation points, as in :meth:`fit`.
        y : array-like of shape (n_obs,) or (n_obs, n_outputs) or None, default=None
            Observed values.

        Returns
        -------
        self : PINNRegressor
            The estimator.

        Raises
        ------
        AttributeError
            With ``solver="lbfgs"``, which is not stochastic.
        """
        return self._fit_pinn(X, y, incremental=True)

    def predict(self, X):
        """The network's solution at ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_coordinates)
            Points of the domain (or beyond it: an extrapolation).

        Returns
        -------
        u : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The solution, in the dtype of ``X`` (float64 for other dtypes); 1-D for a
            scalar solution fitted without 2-D observations.
        """
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        out = self._forward(self._as_dtype(X)).astype(X.dtype, copy=False)
        return out[:, 0] if self.n_outputs_ == 1 and self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False  # a forward problem needs no data
        tags.target_tags.multi_output = True  # systems: one output per component
        return tags


PINNRegressor.__doc__ = fill(PINNRegressor.__doc__)


# ---------------------------------------------------------------- ready problems


def _zero(points):
    return np.zeros(len(points))


def _minus_sin_pi_x(points):
    return -np.sin(np.pi * points[:, 0])


class _BurgersResidual:
    """``u_t + u u_x - nu u_xx`` at points ``(x, t)`` (picklable)."""

    def __init__(self, nu):
        self.nu = nu

    def __call__(self, x, u, derivative, nu=None):
        nu = self.nu if nu is None else nu
        u_x = derivative(u, x, 1, 0)
        return derivative(u, x, 1, 1) + u * u_x - nu * derivative(u, x, 2, 0)

    def __repr__(self):
        return f"burgers_1d_residual(nu={self.nu!r})"


class _BurgersHardConstraints:
    """``u = -sin(pi x) + t (1 - x^2) N(x, t)``: Burgers' initial value and zero
    boundary values on [-1, 1] x [0, 1] exactly, for any network output ``N``
    (picklable)."""

    def __call__(self, x, u):
        torch = _torch()
        space, time = x[:, :1], x[:, 1:2]
        return -torch.sin(torch.pi * space) + time * (1 - space ** 2) * u

    def __repr__(self):
        return "burgers_1d_hard_constraints()"


class _PoissonResidual:
    """``laplacian(u) - f(x)`` in any dimension (picklable when ``f`` is)."""

    def __init__(self, f):
        self.f = f

    def __call__(self, x, u, derivative, **params):
        # one Laplacian per component of u (a system of independent equations)
        lap = _torch().cat([sum(derivative(u[:, k:k + 1], x, 2, j)
                                for j in range(x.shape[1]))
                            for k in range(u.shape[1])], dim=1)
        if self.f is None:
            return lap
        f = self.f(x, **params) if callable(self.f) else self.f
        if _torch().is_tensor(f) and f.ndim == 1:
            f = f[:, None]
        return lap - f

    def __repr__(self):
        return f"poisson_residual(f={self.f!r})"


class _Constant:
    def __init__(self, value):
        self.value = float(value)

    def __call__(self, points):
        return np.full(len(points), self.value)

    def __repr__(self):
        return f"constant({self.value!r})"


def burgers_1d(nu=0.01 / np.pi, *, hard_constraints=False):
    """Viscous Burgers' equation of §3.6.1, ready for :class:`PINNRegressor`.

    ``u_t + u u_x - nu u_xx = 0`` on ``x in [-1, 1]``, ``t in [0, 1]``, with
    ``u(x, 0) = -sin(pi x)`` and ``u(-1, t) = u(1, t) = 0``. Points are ``(x, t)``
    (``time_dim=1``). For the inverse problem, pass ``learn_params={"nu": guess}``: the
    residual then uses the learned ``nu``.

    Parameters
    ----------
    nu : float, default=0.01/pi
        The viscosity.
    hard_constraints : bool, default=False
        False: the initial and boundary conditions are loss terms (``initial``,
        ``boundary``), as in Raissi et al. True: they hold exactly through the
        ``output_transform`` ``u = -sin(pi x) + t (1 - x^2) N(x, t)`` (Lagaris et al.;
        Lu et al.), and the loss is the residual alone: no weights to balance, and a
        much easier optimisation at small ``nu``.

    Returns
    -------
    problem : dict
        ``residual``, ``domain``, ``time_dim`` and either ``boundary`` and ``initial``
        or ``output_transform``: keyword arguments of :class:`PINNRegressor`.

    Raises
    ------
    ValueError
        If ``nu`` is not a finite positive number.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.6.1.
    .. [2] M. Raissi, P. Perdikaris and G. E. Karniadakis, "Physics-informed neural
       networks", Journal of Computational Physics 378, 2019.
    .. [3] I. E. Lagaris, A. Likas and D. I. Fotiadis, "Artificial neural networks for
       solving ordinary and partial differential equations", IEEE Transactions on
       Neural Networks 9(5), 1998.
    .. [4] L. Lu, R. Pestourie, W. Yao, Z. Wang, F. Verdugo and S. G. Johnson,
       "Physics-informed neural networks with hard constraints for inverse design",
       SIAM Journal on Scientific Computing 43(6), 2021.
    """
    nu = _check_positive(nu, "nu")
    if not isinstance(hard_constraints, (bool, np.bool_)):
        raise ValueError(f"hard_constraints must be a bool, got {hard_constraints!r}.")
    problem = dict(residual=_BurgersResidual(nu), domain=[(-1.0, 1.0), (0.0, 1.0)],
                   time_dim=1)
    if hard_constraints:
        problem["output_transform"] = _BurgersHardConstraints()
    else:
        problem.update(boundary=[_zero], initial=[_minus_sin_pi_x])
    return problem


def poisson_2d(f, g=0.0, domain=((0.0, 1.0), (0.0, 1.0))):
    """Poisson's equation of §3.6.1 (Example 60), ready for :class:`PINNRegressor`.

    ``u_xx + u_yy = f`` in the rectangle ``domain`` with ``u = g`` on its boundary.

    Parameters
    ----------
    f : float or callable
        The source: a constant, or ``f(x)`` on the tensor of points (n, 2) (in
        :class:`PINNRegressor`'s ``dtype``) returning a tensor of shape (n,) or (n, 1)
        (torch operations, so that it is evaluated on the training device).
    g : float or callable, default=0.0
        The boundary value: a constant, or ``g(points)`` on NumPy arrays (m, 2).
    domain : sequence of two (low, high) pairs, default=((0, 1), (0, 1))
        The rectangle.

    Returns
    -------
    problem : dict
        ``residual``, ``domain`` and ``boundary``: keyword arguments of
        :class:`PINNRegressor`.

    Raises
    ------
    ValueError
        If ``domain`` is not two finite ``(low, high)`` pairs with ``low < high``.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.6.1, Example 60.
    """
    box = _check_domain(domain)
    if len(box) != 2:
        raise ValueError(f"poisson_2d needs a 2-D domain, got {len(box)} coordinates.")
    if not callable(f):
        f = _check_finite(f, "f")
    boundary = g if callable(g) else _Constant(_check_finite(g, "g"))
    return dict(residual=_PoissonResidual(f), domain=[tuple(r) for r in box.tolist()],
                boundary=[boundary])


def _check_finite(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number or a callable, got {value!r}.")
    return float(value)


def burgers_1d_solution(x, t, nu=0.01 / np.pi, n_quad=401):
    """The exact solution of :func:`burgers_1d` by the Cole-Hopf transformation.

    ``u(x, t) = -int sin(pi (x - s)) w(s) ds / int w(s) ds`` with
    ``w(s) = exp(-cos(pi (x - s)) / (2 pi nu) - s^2 / (4 nu t))``, both integrals by the
    trapezoidal rule over ``s = sqrt(4 nu t) z``, ``z in [-10, 10]``, in log space
    (the weights span hundreds of orders of magnitude for small ``nu``). The reference
    the PINN tests, benchmarks and demo compare with.

    Parameters
    ----------
    x, t : array-like of the same shape
        Points, ``x`` in [-1, 1] and ``t >= 0``.
    nu : float, default=0.01/pi
        The viscosity.
    n_quad : int, default=401
        Quadrature nodes.

    Returns
    -------
    u : ndarray of the shape of ``x``

    Raises
    ------
    ValueError
        If ``x`` and ``t`` differ in shape, ``t`` is negative or ``nu`` is not positive.

    References
    ----------
    .. [1] E. Hopf, "The partial differential equation u_t + u u_x = mu u_xx",
       Comm. Pure Appl. Math. 3, 1950; J. D. Cole, Quart. Appl. Math. 9, 1951.
    .. [2] C. Basdevant et al., "Spectral and finite difference solutions of the Burgers
       equation", Computers & Fluids 14(1), 1986.
    """
    from scipy.special import logsumexp

    nu = _check_positive(nu, "nu")
    x, t = np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64)
    if x.shape != t.shape:
        raise ValueError(f"x and t must have the same shape, got {x.shape} and {t.shape}.")
    if (t < 0).any():
        raise ValueError("t must be >= 0.")
    xs, ts = x.ravel(), t.ravel()
    out = -np.sin(np.pi * xs)
    z = np.linspace(-10.0, 10.0, int(n_quad))
    todo = np.flatnonzero(ts > 0)
    for chunk in np.array_split(todo, max(1, len(todo) // 512)):
        if not len(chunk):
            continue
        c = np.sqrt(4 * nu * ts[chunk])[:, None]
        arg = np.pi * (xs[chunk, None] - c * z)
        logw = -np.cos(arg) / (2 * np.pi * nu) - z ** 2
        num = logsumexp(logw, axis=1, b=np.sin(arg), return_sign=True)
        den = logsumexp(logw, axis=1)
        out[chunk] = -num[1] * np.exp(num[0] - den)
    return out.reshape(x.shape)


# ---------------------------------------------------------------------------- NeuralODE

class NeuralODE(NeuralEstimator):
    """Neural ordinary differential equation: an MLP vector field learned from
    trajectories (Definition 3.106 of the notes).

    The model is ``dy/dt = f_theta(y)`` (autonomous), trained so that
    ``odeint(f_theta, y(t_0), t)`` reproduces the observed trajectories (mean squared
    error over all states and times), back-propagating through the solver or by the
    adjoint method. Training is the loop of :class:`~skml.neural.NeuralEstimator`: the
    samples are the trajectories (with ``window``: every window of ``window``
    consecutive states of every trajectory), batched by ``batch_size``.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(64, 64)
        Widths of the vector field's hidden layers.
    activation : str, default="tanh"
        Hidden activation (as ``MLPRegressor``; a smooth one gives a smooth field).
    method : {"rk4", "euler", "dopri5"}, default="rk4"
        The solver of :func:`odeint`, in training and prediction.
    rtol, atol : float, default=1e-5, 1e-7
        Tolerances of ``method="dopri5"``.
    step_size : float or None, default=None
        Step of the fixed-step methods (None: one step per interval of the times).
    adjoint : bool, default=False
        Gradients by the adjoint method (memory independent of the number of steps).
    window : int or None, default=None
        Train on windows of this many consecutive states (each integrated from its own
        first state), which keeps long trajectories from diverging early in training;
        needs evenly spaced times. None: whole trajectories.
    %(training_params)s

    Attributes
    ----------
    times_ : ndarray of shape (n_times,)
        The times of the training trajectories (the default times of ``predict``).
    %(training_attributes)s

    Raises
    ------
    ValueError
        From ``fit``: times that are not a strictly increasing 1-D array of at least 2
        entries, times and trajectories of different lengths, a ``window`` longer than
        the trajectories (or with unevenly spaced times), ``sample_weight``, or a
        parameter outside its declared range. From ``predict``: initial states with
        another number of features than ``fit``'s.
    NotFittedError
        From ``predict`` and ``vector_field`` before ``fit``.

    Notes
    -----
    ``fit(t, trajectories)`` takes the times and the trajectories; ``fit(X)`` takes
    trajectories alone, at the times ``0, 1, ..., n_times - 1`` (a single 2-D
    trajectory is the table scikit-learn's checks pass; ``y`` is then ignored, as by
    unsupervised estimators). ``predict(X, t)`` integrates from the initial states
    ``X`` and returns a 3-D array.

    The network computes in float32 (outputs come back in the dtype of ``X``). Known
    debt, an expected failure of scikit-learn's checks: ``check_methods_subset_invariance``,
    because a matrix product over a batch and over a single row may round differently
    in the last float32 bit, and the many solver steps of a trajectory grow that to
    about 1e-6 relative, above the check's rtol=1e-7.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.6: Definitions 3.105-3.107
       (ODEs, neural ODE, Runge-Kutta).
    .. [2] R. T. Q. Chen, Y. Rubanova, J. Bettencourt and D. Duvenaud, "Neural Ordinary
       Differential Equations", NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neural.physics import NeuralODE
    >>> t = np.linspace(0, 2, 21)
    >>> Y = np.stack([np.exp(-t), np.exp(-2 * t)], axis=1)  # one trajectory
    >>> ode = NeuralODE(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(t, Y)
    >>> ode.predict([[1.0, 1.0]], t).shape
    (1, 21, 2)
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, MAX_WIDTH)],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "method": [StrOptions(set(_METHODS))],
        "rtol": [Interval(numbers.Real, 0, None)],
        "atol": [Interval(numbers.Real, 0, None, closed="neither")],
        "step_size": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "adjoint": ["boolean"],
        "window": [Interval(numbers.Integral, 2, _INT_MAX), None],
    }

    def __init__(self, hidden_layer_sizes=(64, 64), activation="tanh", *, method="rk4",
                 rtol=1e-5, atol=1e-7, step_size=None, adjoint=False, window=None,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _check_params(self):
        super()._check_params()
        check_hidden_layer_sizes(self.hidden_layer_sizes)

    @staticmethod
    def _check_times(t, n_times=None):
        t = check_array(t, ensure_2d=False, dtype=np.float64, input_name="t")
        if t.ndim != 1 or len(t) < 2:
            raise ValueError(f"t must be a 1-D array of at least 2 times, got shape "
                             f"{t.shape}.")
        if not (np.diff(t) > 0).all():
            bad = int(np.flatnonzero(np.diff(t) <= 0)[0])
            raise ValueError(f"t must be strictly increasing, but t[{bad + 1}]="
                             f"{t[bad + 1]:.6g} <= t[{bad}]={t[bad]:.6g}.")
        if n_times is not None and len(t) != n_times:
            raise ValueError(f"t has {len(t)} times but the trajectories {n_times} states.")
        return t

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("NeuralODE does not support sample_weight.")
        if y is not None and np.ndim(X) == 1:  # fit(t, trajectories)
            t, traj = X, y
        else:  # fit(trajectories): unit times, y ignored
            t, traj = None, X
        traj = np.asarray(traj) if not hasattr(traj, "shape") else traj
        if np.ndim(traj) == 2:
            traj = check_array(traj, dtype=(np.float64, np.float32),
                               input_name="trajectories")[None]
        elif np.ndim(traj) == 3:
            traj = check_array(np.asarray(traj).reshape(len(traj), -1),
                               dtype=(np.float64, np.float32),
                               input_name="trajectories").reshape(np.shape(traj))
        else:
            raise ValueError(
                "trajectories must have shape (n_times, n_dims) or (n_trajectories, "
                f"n_times, n_dims), got {np.shape(traj)}.")
        n_times, d = traj.shape[1], traj.shape[2]
        if n_times < 2:
            raise ValueError(f"NeuralODE needs trajectories of at least 2 times; got "
                             f"{n_times} (n_samples = {n_times}).")
        t = np.arange(n_times, dtype=np.float64) if t is None else \
            self._check_times(t, n_times)
        window = n_times if self.window is None else int(self.window)
        if window > n_times:
            raise ValueError(f"window={window} is longer than the {n_times} times.")
        if window < n_times:
            steps = np.diff(t)
            if not np.allclose(steps, steps[0], rtol=1e-6):
                raise ValueError("window needs evenly spaced times t.")
            # every window of every trajectory: (n_traj * n_windows, window, d)
            starts = np.arange(n_times - window + 1)
            traj = np.concatenate([traj[:, s:s + window] for s in starts])
        if reset:
            self.n_features_in_ = d
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            self.times_ = t
            self._fit_dtype = traj.dtype
        elif d != self.n_features_in_:
            raise ValueError(f"X has {d} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input (the dimensions of "
                             "the states).")
        self._train_times = as_float32(t[:window] - t[0])
        return (as_float32(np.ascontiguousarray(traj)),)

    def _build_module(self):
        from skml.neural._modules.physics import VectorField

        return VectorField(self.n_features_in_,
                           check_hidden_layer_sizes(self.hidden_layer_sizes),
                           self.activation)

    def _build_loss(self, device):
        def squared_error(out, target):
            return ((out - target) ** 2).reshape(len(out), -1).mean(1)
        return squared_error

    def _solve(self, module, y0, t):
        ys = odeint(module, y0, t, method=self.method, rtol=float(self.rtol),
                    atol=float(self.atol), step_size=self.step_size,
                    adjoint=bool(self.adjoint))
        return ys.transpose(0, 1)  # (batch, n_times, d)

    def _train_step(self, batch, optimizers):
        torch = _torch()
        (traj,) = batch
        (optimizer,) = optimizers.values()
        t = torch.from_numpy(self._train_times).to(traj.device)
        module, loss_fn = self.module_, self._loss_fn

        def compute_loss():
            return loss_fn(self._solve(module, traj[:, 0], t), traj).mean()

        return {"loss": self._optimizer_step(optimizer, compute_loss, traj.shape[0])}

    def _validation_score(self, data):
        torch = _torch()
        (traj,) = data
        t = torch.from_numpy(self._train_times)
        out = self._forward(np.ascontiguousarray(traj[:, 0]),
                            fn=lambda m, yb: self._solve(m, yb, t.to(yb.device)),
                            to_numpy=True, check_finite=False)
        loss = float(np.mean((out - traj) ** 2))
        return -loss if math.isfinite(loss) else float("nan")

    def fit(self, X, y=None):
        """Learn the vector field from trajectories.

        Parameters
        ----------
        X : array-like of shape (n_times,) or (n_times, n_dims) or \
(n_trajectories, n_times, n_dims)
            The times ``t`` (strictly increasing) when ``y`` holds the trajectories;
            otherwise the trajectories themselves, at times ``0, 1, ...``.
        y : array-like of shape (n_times, n_dims) or (n_trajectories, n_times, \
n_dims), default=None
            The trajectories when ``X`` is ``t`` (else ignored).

        Returns
        -------
        self : NeuralODE
            The fitted estimator.

        Raises
        ------
        ValueError
            On times that are not strictly increasing or do not match the trajectories,
            trajectories of another shape, or a ``window`` that does not fit.
        """
        return self._fit(X, y, sample_weight=None, incremental=False)

    @available_if(_is_stochastic)
    def partial_fit(self, X, y=None):
        """One more epoch over the trajectories, continuing from the current weights.

        Parameters
        ----------
        X, y : array-like
            As in :meth:`fit`.

        Returns
        -------
        self : NeuralODE
            The estimator.

        Raises
        ------
        ValueError
            As :meth:`fit`.
        """
        return self._fit(X, y, sample_weight=None, incremental=True)

    def _initial_states(self, X):
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return X, as_float32(X, "X")

    def predict(self, X, t=None):
        """Integrate the learned field from the initial states ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_dims)
            Initial states, at time ``t[0]``.
        t : array-like of shape (n_times,), default=None
            Strictly increasing times; None: the training times ``times_``.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_times, n_dims)
            The states at the times ``t`` (first: ``X``), in the dtype of ``X``.

        Raises
        ------
        ValueError
            If ``X`` has another number of dimensions than the training states, or
            ``t`` is not strictly increasing.
        """
        X, X32 = self._initial_states(X)
        t = self.times_ if t is None else self._check_times(t)
        torch = _torch()
        tt = torch.from_numpy(as_float32(t - t[0]))
        out = self._forward(X32, fn=lambda m, yb: self._solve(m, yb, tt.to(yb.device)))
        return out.astype(X.dtype, copy=False)

    def vector_field(self, X):
        """The learned ``dy/dt`` at the states ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_dims)
            States.

        Returns
        -------
        dY : ndarray of shape (n_samples, n_dims)
            The field, in the dtype of ``X``.

        Raises
        ------
        ValueError
            If ``X`` has another number of dimensions than the training states.
        """
        X, X32 = self._initial_states(X)
        return self._forward(X32, fn=lambda m, yb: m(None, yb)).astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags


NeuralODE.__doc__ = fill(NeuralODE.__doc__)
