"""Second-order and quasi-Newton minimisers written in skml: Newton's method with a
step-halving safeguard (and its proximal variant for an L1 term), and BFGS with a line
search satisfying the strong Wolfe conditions.

Each takes ``fun_grad(x) -> (f, g)`` and stops when ``max |g| <= tol`` (for the L1 case:
the smallest subgradient), or after ``max_iter`` iterations. They return
``(x, n_iter, converged)``.
"""
import numpy as np
from scipy import linalg, optimize

from skml._kernels._cd import l1_quadratic_cd

__all__ = ["bfgs", "lbfgs_l1", "newton", "newton_cg", "prox_newton_l1",
           "wolfe_line_search"]

_ARMIJO = 1e-4


def _newton_direction(H, g):
    """Solve ``H d = -g`` by Cholesky; add a growing multiple of the identity when ``H`` is
    singular or indefinite (Remark 3.16's caveats), so ``d`` is always a descent direction."""
    scale = max(float(np.max(np.abs(np.diag(H)))), 1e-300)
    jitter = 0.0
    for _ in range(12):
        try:
            Hj = H if jitter == 0.0 else H + jitter * np.eye(H.shape[0])
            c = linalg.cho_factor(Hj, lower=True, check_finite=False)
            d = -linalg.cho_solve(c, g, check_finite=False)
            if np.all(np.isfinite(d)) and g @ d < 0:
                return d
        except linalg.LinAlgError:
            pass
        jitter = scale * 1e-12 if jitter == 0.0 else jitter * 100.0
    return -g  # steepest descent: always a descent direction


def _armijo_step(fun, x, d, f, slope):
    """The first of the steps ``t = 1, 1/2, 1/4, ...`` (60 at most) along ``d`` that
    satisfies the Armijo condition ``f(x + t d) <= f + 1e-4 t slope``: ``(x + t d, its
    value)``, or ``None`` when none does (no decrease possible: numerically at the
    optimum)."""
    t = 1.0
    for _ in range(60):
        x_new = x + t * d
        f_new = fun(x_new)
        if np.isfinite(f_new) and f_new <= f + _ARMIJO * t * slope:
            return x_new, f_new
        t *= 0.5
    return None


def _stalled(f, f_new):
    """No decrease that floating point can resolve (tol is below precision)."""
    return f - f_new <= 4.0 * np.finfo(float).eps * abs(f)


def _gradient_small(g, tol):
    return bool(np.max(np.abs(g), initial=0.0) <= tol)


def _backtracking_descent(fun_grad, direction, x0, *, tol, max_iter, fun):
    """The loop of :func:`newton` and :func:`newton_cg`: stop when ``max |g| <= tol``,
    else step along ``direction(x, g)`` (a descent direction) with :func:`_armijo_step`."""
    fun = fun or (lambda x: fun_grad(x)[0])
    x = np.array(x0, dtype=np.float64)
    f, g = fun_grad(x)
    for it in range(max_iter):
        if _gradient_small(g, tol):
            return x, it, True
        d = direction(x, g)
        step = _armijo_step(fun, x, d, f, float(g @ d))
        if step is None:
            return x, it + 1, False
        x, f_new = step
        stalled = _stalled(f, f_new)
        f, g = fun_grad(x)
        if stalled:
            return x, it + 1, _gradient_small(g, tol)
    return x, max_iter, _gradient_small(g, tol)


def newton(fun_grad, hess, x0, *, tol=1e-4, max_iter=100, fun=None):
    """Newton's method (Definition 3.14, Remark 3.14 of the notes) with backtracking.

    The full step ``-H^{-1} g`` is tried first and halved until the Armijo condition
    ``f(x + t d) <= f(x) + 1e-4 t g.d`` holds, so the objective decreases at every step even
    far from the optimum, where the pure iteration can overshoot.
    """
    return _backtracking_descent(fun_grad, lambda x, g: _newton_direction(hess(x), g), x0,
                                 tol=tol, max_iter=max_iter, fun=fun)


def _truncated_cg_direction(hv, g, max_cg):
    """An approximate solution ``d`` of ``H d = -g`` by conjugate gradients on the
    products ``hv(v) = H v`` (see :func:`newton_cg`); ``-g`` where it is not a descent
    direction."""
    gnorm = float(np.linalg.norm(g))
    eta = min(0.5, np.sqrt(gnorm))
    d = np.zeros_like(g)
    r = -g.copy()
    p = r.copy()
    rr = float(r @ r)
    for _ in range(max_cg):
        Hp = hv(p)
        curv = float(p @ Hp)
        if curv <= 1e-16 * float(p @ p):
            if not d.any():
                d = -g
            break
        step = rr / curv
        d += step * p
        r -= step * Hp
        rr_new = float(r @ r)
        if np.sqrt(rr_new) <= eta * gnorm:
            break
        p = r + (rr_new / rr) * p
        rr = rr_new
    return d if float(g @ d) < 0 else -g


def newton_cg(fun_grad, hessp_at, x0, *, tol=1e-4, max_iter=100, fun=None):
    """Truncated Newton: each step solves ``H d = -g`` approximately by conjugate
    gradients on Hessian-vector products (``hessp_at(x)`` returns ``v -> H(x) v``), then
    backtracks (Armijo). No ``d x d`` matrix is formed, so it suits many features and
    sparse data (Nocedal and Wright, Algorithm 7.1).

    The inner CG stops at a residual below ``min(0.5, sqrt(|g|)) |g|`` (superlinear
    convergence), after ``max(20, 2 * len(x))`` products, or at negative curvature (then
    the last good iterate, or ``-g``, is the direction).
    """
    max_cg = max(20, 2 * np.size(x0))
    return _backtracking_descent(
        fun_grad, lambda x, g: _truncated_cg_direction(hessp_at(x), g, max_cg), x0,
        tol=tol, max_iter=max_iter, fun=fun)


def _l1_optimality(x, g, lam):
    """Largest entry of the minimum-norm subgradient of ``f + sum lam_j |x_j|``."""
    sub = np.where(x != 0, g + lam * np.sign(x), np.sign(g) * np.maximum(np.abs(g) - lam, 0))
    return float(np.max(np.abs(sub), initial=0.0))


def prox_newton_l1(fun_grad, hess, x0, lam, *, tol=1e-4, max_iter=100, fun=None):
    """Proximal Newton for ``f(x) + sum_j lam[j] |x_j|``.

    Each step minimises the quadratic model of ``f`` (exact Hessian) plus the L1 term by
    coordinate descent (``skml/_kernels/_cd.pyx``), then backtracks on the full objective.
    """
    fun = fun or (lambda x: fun_grad(x)[0])
    lam = np.asarray(lam, dtype=np.float64)
    x = np.array(x0, dtype=np.float64)

    def full(z):
        return fun(z) + float(lam @ np.abs(z))

    f, g = fun_grad(x)
    F = f + float(lam @ np.abs(x))
    for it in range(max_iter):
        if _l1_optimality(x, g, lam) <= tol:
            return x, it, True
        H = np.ascontiguousarray(hess(x))
        H.flat[:: H.shape[0] + 1] += 1e-12 * max(float(np.max(np.diag(H))), 1e-300)
        z = x.copy()
        b = H @ x - g
        l1_quadratic_cd(H, b, z, lam, 1000, min(1e-2, tol))
        d = z - x
        delta = float(g @ d) + float(lam @ (np.abs(z) - np.abs(x)))
        if not delta < 0:
            return x, it + 1, _l1_optimality(x, g, lam) <= 10 * tol
        step = _armijo_step(full, x, d, F, delta)
        if step is None:
            return x, it + 1, False
        x, F_new = step
        stalled = _stalled(F, F_new)
        f, g = fun_grad(x)
        F = f + float(lam @ np.abs(x))
        if stalled:
            return x, it + 1, _l1_optimality(x, g, lam) <= tol
    return x, max_iter, _l1_optimality(x, g, lam) <= tol


def lbfgs_l1(fun_grad, x0, lam, *, tol=1e-4, max_iter=100):
    """``f(x) + sum_j lam[j] |x_j|`` by scipy's L-BFGS-B on the equivalent smooth,
    bound-constrained problem in ``x = u - v``, ``u, v >= 0`` (entries with ``lam == 0``
    stay free in ``u``). Needs only ``fun_grad`` (no Hessian): memory ``O(len(x))``, so it
    serves problems too wide for :func:`prox_newton_l1`'s dense Hessian. ``tol`` bounds
    the projected gradient of the split problem."""
    lam = np.asarray(lam, dtype=np.float64)
    x0 = np.asarray(x0, dtype=np.float64)
    d = x0.size
    free = lam == 0

    def split(z):
        return z[:d] - z[d:]

    def fun(z):
        f, g = fun_grad(split(z))
        return f + float(lam @ (z[:d] + z[d:])), np.concatenate([g + lam, -g + lam])

    z0 = np.concatenate([np.maximum(x0, 0), np.maximum(-x0, 0)])
    bounds = [(None, None) if fr else (0, None) for fr in free]
    bounds += [(0, 0) if fr else (0, None) for fr in free]
    res = optimize.minimize(fun, z0, method="L-BFGS-B", jac=True, bounds=bounds,
                            options={"maxiter": max_iter, "maxls": 50, "gtol": tol,
                                     "ftol": 64 * np.finfo(float).eps})
    return split(res.x), int(min(res.nit, max_iter)), bool(res.success) and \
        res.nit <= max_iter


def _cubic_min(a, fa, ga, b, fb, gb):
    """Minimiser of the cubic interpolating f and f' at a and b (None if it has none)."""
    d1 = ga + gb - 3.0 * (fa - fb) / (a - b)
    rad = d1 * d1 - ga * gb
    if rad < 0:
        return None
    d2 = np.sign(b - a) * np.sqrt(rad)
    denom = gb - ga + 2.0 * d2
    if denom == 0:
        return None
    return b - (b - a) * (gb + d2 - d1) / denom


def wolfe_line_search(phi, f0, g0, *, alpha0=1.0, c1=1e-4, c2=0.9, alpha_max=1e10,
                      max_evals=40):
    """A step ``alpha`` satisfying the strong Wolfe conditions for ``phi(alpha) -> (f, f')``.

    Bracketing then zoom with cubic interpolation (Nocedal and Wright, Algorithms 3.5 and
    3.6). ``f0`` and ``g0 < 0`` are the value and slope at 0. Returns
    ``(alpha, f, slope, extra)`` where ``extra`` is whatever ``phi`` returned third (the
    gradient), or ``None`` when no acceptable step was found.
    """
    a_prev, f_prev, g_prev = 0.0, f0, g0
    a = alpha0
    evals = 0

    def zoom(lo, f_lo, g_lo, hi, f_hi, g_hi):
        nonlocal evals
        while evals < max_evals:
            a_j = _cubic_min(lo, f_lo, g_lo, hi, f_hi, g_hi)
            left, right = min(lo, hi), max(lo, hi)
            margin = 0.1 * (right - left)
            if a_j is None or not (left + margin <= a_j <= right - margin):
                a_j = 0.5 * (lo + hi)
            f_j, g_j, extra = phi(a_j)
            evals += 1
            if f_j > f0 + c1 * a_j * g0 or f_j >= f_lo:
                hi, f_hi, g_hi = a_j, f_j, g_j
            else:
                if abs(g_j) <= -c2 * g0:
                    return a_j, f_j, g_j, extra
                if g_j * (hi - lo) >= 0:
                    hi, f_hi, g_hi = lo, f_lo, g_lo
                lo, f_lo, g_lo = a_j, f_j, g_j
            if abs(hi - lo) <= 1e-14 * max(1.0, abs(lo)):
                break
        return None

    while evals < max_evals:
        f_a, g_a, extra = phi(a)
        evals += 1
        if not np.isfinite(f_a):
            # overflow far away: come back towards the last good point
            a = a_prev + 0.5 * (a - a_prev)
            continue
        if f_a > f0 + c1 * a * g0 or (evals > 1 and f_a >= f_prev):
            return zoom(a_prev, f_prev, g_prev, a, f_a, g_a)
        if abs(g_a) <= -c2 * g0:
            return a, f_a, g_a, extra
        if g_a >= 0:
            return zoom(a, f_a, g_a, a_prev, f_prev, g_prev)
        a_prev, f_prev, g_prev = a, f_a, g_a
        a = min(2.0 * a, alpha_max)
    return None


def bfgs(fun_grad, x0, *, tol=1e-4, max_iter=100):
    """BFGS (Definition 3.15 of the notes) with a strong-Wolfe line search.

    Keeps the inverse ``M = B^{-1}`` of the Hessian approximation ``B``: the update of
    Definition 3.15 for ``B`` is, by the Sherman-Morrison-Woodbury formula,
    ``M <- (I - rho s y^T) M (I - rho y s^T) + rho s s^T`` with ``rho = 1 / y^T s``, so the
    direction ``-M g`` costs a matrix-vector product instead of a solve. ``M`` starts as
    the identity, rescaled by ``y^T s / y^T y`` after the first step; the update is skipped
    when the curvature ``y^T s`` is not positive.
    """
    x = np.array(x0, dtype=np.float64)
    n = x.shape[0]
    f, g = fun_grad(x)
    M = np.eye(n)
    first = True
    for it in range(max_iter):
        if np.max(np.abs(g), initial=0.0) <= tol:
            return x, it, True
        p = -(M @ g)
        slope = float(g @ p)
        if not slope < 0:
            M = np.eye(n)
            p = -g
            slope = -float(g @ g)

        def phi(alpha, x=x, p=p):
            f_a, g_a = fun_grad(x + alpha * p)
            return f_a, float(g_a @ p), g_a

        alpha0 = 1.0
        if first:  # unknown scale: a first step of length ~1 at most
            alpha0 = min(1.0, 1.0 / max(np.max(np.abs(p)), 1e-300))
        res = wolfe_line_search(phi, f, slope, alpha0=alpha0)
        if res is None:
            if first or np.allclose(M, np.eye(n)):
                return x, it + 1, bool(np.max(np.abs(g)) <= tol)
            M = np.eye(n)  # a bad model: restart from steepest descent
            first = True
            continue
        alpha, f_new, _, g_new = res
        s = alpha * p
        yv = g_new - g
        ys = float(yv @ s)
        x = x + s
        f, g = f_new, g_new
        if ys > 1e-12 * np.linalg.norm(s) * np.linalg.norm(yv):
            if first:
                M = np.eye(n) * (ys / float(yv @ yv))
                first = False
            rho = 1.0 / ys
            My = M @ yv
            # (I - rho s y^T) M (I - rho y s^T) + rho s s^T, expanded (M symmetric)
            M = M - rho * (np.outer(s, My) + np.outer(My, s)) \
                + (rho * rho * float(yv @ My) + rho) * np.outer(s, s)
    return x, max_iter, bool(np.max(np.abs(g), initial=0.0) <= tol)
