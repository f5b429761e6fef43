"""Optimal transport: the 1-D Wasserstein distance from quantile functions, exact OT by
linear programming, entropic OT by log-domain Sinkhorn (``skml._kernels._sinkhorn``),
Wasserstein distances between point clouds and the sliced Wasserstein distance.

H. Dai, "Note on Machine Learning" (preprint), Definition 3.74, Remark 3.55, Lemma 3.1
and Example 42.
"""
import numbers
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state

from skml.utils import check_param, effective_n_threads, fill_doc, limit_blas_threads

__all__ = [
    "optimal_transport",
    "sliced_wasserstein",
    "wasserstein_1d",
    "wasserstein_distance",
]

# Relative difference of the total masses accepted as "equal" (weights normalised in
# float32 differ by ~1e-7 from the exact total).
_MASS_RTOL = 1e-6
# Row groups of the Sinkhorn kernel (from the shape only: the results do not depend on the
# thread count), and the entries per iteration that justify one more OpenMP thread (an
# iteration is a few parallel regions; tiny problems run faster on one thread).
_SINKHORN_MAX_GROUPS = 64
_SINKHORN_ROWS_PER_GROUP = 32
_SINKHORN_ENTRIES_PER_THREAD = 2**18


#: The two point clouds of the distances between distributions in ``R^d``.
_CLOUDS_DOC = """\
X : array-like of shape (n, n_features)
    Points of the first distribution.
Y : array-like of shape (m, n_features)
    Points of the second distribution.
"""


def _check_values(values, name):
    values = check_array(values, ensure_2d=False, dtype=np.float64, input_name=name,
                         ensure_min_samples=0)
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {values.shape}.")
    if values.shape[0] == 0:
        raise ValueError(f"{name} is empty: a distribution needs at least one point.")
    return values


def _check_mass(weights, n, name, values_name):
    """Non-negative, finite, 1-D masses of length n with a positive total (None: uniform
    masses 1/n)."""
    if weights is None:
        return np.full(n, 1.0 / n)
    weights = check_array(weights, ensure_2d=False, dtype=np.float64, input_name=name,
                          ensure_min_samples=0)
    if weights.ndim != 1 or weights.shape[0] != n:
        raise ValueError(
            f"{name} has shape {weights.shape} but {values_name} has {n} points: one "
            "weight per point is needed."
        )
    if np.any(weights < 0):
        raise ValueError(f"{name} has negative mass (min {weights.min()!r}); masses must "
                         "be >= 0.")
    total = weights.sum()
    if not total > 0:
        raise ValueError(f"{name} has zero total mass; at least one weight must be > 0.")
    if not np.isfinite(total):
        raise ValueError(f"{name} has an infinite total mass.")
    return weights


def _check_p(p):
    check_param(p, "p", types=(numbers.Real,), min_val=1)
    if not np.isfinite(p):
        raise ValueError(f"p must be finite, got {p!r}.")
    return float(p)


def _sorted_quantiles(values, weights):
    """Sorted support and its cumulative masses normalised to end at exactly 1."""
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(weights[order])
    cdf /= cdf[-1]
    cdf[-1] = 1.0
    return values[order], cdf


def _wasserstein_1d_pp(u, uw, v, vw, p):
    """W_p(u, v)**p / scale**p and the scale, from the quantile form of Lemma 3.1."""
    u_sorted, u_cdf = _sorted_quantiles(u, uw)
    v_sorted, v_cdf = _sorted_quantiles(v, vw)
    # Between consecutive levels t of either CDF both quantile functions are constant;
    # on (t_prev, t] they equal the first support point whose CDF reaches t.
    levels = np.concatenate([u_cdf, v_cdf])
    levels.sort(kind="stable")
    widths = np.diff(levels, prepend=0.0)
    iu = np.minimum(np.searchsorted(u_cdf, levels, side="left"), u_sorted.size - 1)
    iv = np.minimum(np.searchsorted(v_cdf, levels, side="left"), v_sorted.size - 1)
    gaps = np.abs(u_sorted[iu] - v_sorted[iv])
    # Divide by the largest gap so that |gap|**p cannot overflow (values up to 1e308).
    scale = gaps.max()
    if scale == 0 or not np.isfinite(scale):
        # inf: two finite values 1e308 apart in opposite directions; rescale the inputs
        if not np.isfinite(scale):
            s = max(np.abs(u).max(), np.abs(v).max())
            value, inner = _wasserstein_1d_pp(u / s, uw, v / s, vw, p)
            return value, inner * s
        return 0.0, 0.0
    return float(np.dot(widths, (gaps / scale) ** p)), float(scale)


def wasserstein_1d(u_values, v_values, u_weights=None, v_weights=None, p=1):
    """p-Wasserstein distance between two distributions on the real line.

    Computed from the quantile functions ``U^-1`` and ``V^-1`` of the two distributions,
    ``W_p = (int_0^1 |U^-1(t) - V^-1(t)|^p dt)^(1/p)``, which is the optimal transport
    cost (the monotone coupling is optimal on the line) in ``O((n + m) log(n + m))``.
    For ``p = 1`` this equals the CDF form ``int |U(s) - V(s)| ds`` of the notes; for
    ``p > 1`` only the quantile form is the transport cost (the CDF form with a power,
    as written in the notes' Lemma 3.1 and Example 42, is a different quantity).

    Parameters
    ----------
    u_values : array-like of shape (n,)
        Support points of the first distribution (finite).
    v_values : array-like of shape (m,)
        Support points of the second distribution (finite).
    u_weights : array-like of shape (n,), default=None
        Non-negative masses of ``u_values`` (normalised to sum 1); ``None`` gives every
        point the same mass.
    v_weights : array-like of shape (m,), default=None
        Masses of ``v_values``, as ``u_weights``.
    p : float, default=1
        Order of the distance, ``1 <= p < inf``.

    Returns
    -------
    distance : float
        ``W_p``, in the units of the values.

    Raises
    ------
    ValueError
        If a sample is empty or not 1-D, holds NaN or infinity, if the weights do not
        match the values, are negative or sum to zero, or if ``p < 1``.

    See Also
    --------
    scipy.stats.wasserstein_distance : the same for ``p = 1``.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Lemma 3.1 and Example 42.
    .. [2] A. Ramdas, N. Garcia, M. Cuturi, "On Wasserstein Two-Sample Testing and Related
       Families of Nonparametric Tests", Entropy 19(2), 2017.

    Examples
    --------
    >>> from skml.metrics import wasserstein_1d
    >>> wasserstein_1d([0.0, 1.0, 3.0], [5.0, 6.0, 8.0])
    5.0
    >>> round(wasserstein_1d([0.0, 1.0], [0.0, 3.0], p=2), 6)
    1.414214
    """
    p = _check_p(p)
    u = _check_values(u_values, "u_values")
    v = _check_values(v_values, "v_values")
    uw = _check_mass(u_weights, u.size, "u_weights", "u_values")
    vw = _check_mass(v_weights, v.size, "v_weights", "v_values")
    value, scale = _wasserstein_1d_pp(u, uw, v, vw, p)
    return float(scale * value ** (1.0 / p))


def _check_ot_problem(a, b, M):
    M = check_array(M, dtype=[np.float64, np.float32], order="C", input_name="M",
                    ensure_min_samples=0, ensure_min_features=0)
    n, m = M.shape
    if n == 0 or m == 0:
        raise ValueError(f"M is empty (shape {M.shape}): both distributions need at least "
                         "one point.")
    a = _check_mass(a, n, "a", "M's rows")
    b = _check_mass(b, m, "b", "M's columns")
    sa, sb = a.sum(), b.sum()
    if abs(sa - sb) > _MASS_RTOL * max(sa, sb):
        raise ValueError(
            f"a and b have unequal total mass ({sa!r} and {sb!r}); balanced optimal "
            "transport needs equal totals (normalise both to 1, for instance)."
        )
    return a, b, M


def _exact_ot(a, b, M):
    """The LP min <P, M> s.t. P 1 = a, P^T 1 = b, P >= 0 by HiGHS (scipy)."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    n, m = M.shape
    # HiGHS's feasibility and optimality tolerances are absolute (1e-10): masses summing
    # to 1e-20, or costs of order 1e-20 or 1e300, would be "solved" to a wrong plan or
    # not at all. The LP gets the total mass scaled into [0.5, 1) and the costs into
    # [-1, 1] (powers of two: exact), less their row minima (which changes no plan's
    # cost by more than a constant: every row carries its fixed mass); the plan is
    # scaled back and its cost taken on M itself.
    mass_exp = int(np.frexp(a.sum())[1])
    a, b = np.ldexp(a, -mass_exp), np.ldexp(b, -mass_exp)
    M_lp = M.astype(np.float64)
    cost_max = max(float(M_lp.max()), -float(M_lp.min()))
    if cost_max > 0:
        M_lp = np.ldexp(M_lp, -int(np.frexp(cost_max)[1]))
    M_lp = M_lp - M_lp.min(axis=1, keepdims=True)
    # Variables P[i, j] at i*m + j. The last column constraint follows from the others and
    # equal masses; dropping it keeps the constraint matrix of full rank.
    rows = np.concatenate([np.repeat(np.arange(n), m),
                           n + np.tile(np.arange(m), n)])
    cols = np.concatenate([np.arange(n * m), np.arange(n * m)])
    keep = rows < n + m - 1
    A_eq = sp.csr_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])),
                         shape=(n + m - 1, n * m))
    b_eq = np.concatenate([a, b[:-1]])
    res = linprog(M_lp.ravel(), A_eq=A_eq, b_eq=b_eq, bounds=(0, None),
                  method="highs",
                  options={"primal_feasibility_tolerance": 1e-10,
                           "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        raise RuntimeError(f"The transport LP was not solved: {res.message}")
    plan = np.ldexp(np.maximum(res.x.reshape(n, m), 0.0), mass_exp)
    return plan, float(np.sum(plan * M))


# Costs and reg beyond 2**+-1000 are rescaled (by a power of two: exact) before the
# kernel, so that M / reg, reg * log(mass) and the potentials stay far from overflow and
# 1 / reg from infinity.
_SINKHORN_MAX_EXPONENT = 1000
# The smallest reg relative to max|M|: below it exp(-M / reg) is not representable for
# any cost that differs from the smallest by more than a rounding error.
_SINKHORN_MIN_RELATIVE_REG = 1e-300


def _sinkhorn_ot(a, b, M, reg, max_iter, tol, n_jobs):
    from skml._kernels import _sinkhorn

    finfo = np.finfo(M.dtype)
    total, tol_given = float(a.sum()), tol
    if M.dtype == np.float32 and not float(finfo.tiny) <= total <= float(finfo.max):
        raise ValueError(
            f"a and b have total mass {total!r}, outside the range of float32 "
            f"([{finfo.tiny:.3g}, {finfo.max:.3g}]) in which a plan for float32 costs "
            "is returned; pass float64 costs (or normalise the masses).")
    cost_max = max(float(M.max()), -float(M.min()))
    if reg < _SINKHORN_MIN_RELATIVE_REG * cost_max:
        raise ValueError(
            f"reg={reg!r} is below 1e-300 times the largest |cost| ({cost_max!r}): the "
            "entropic plan exp(-M / reg) cannot be represented in floating point. Use "
            "method='exact'.")
    # The plan is linear in the masses and depends on M / reg only: work with the total
    # mass scaled into [0.5, 1) and, where needed, with M and reg scaled near 1. Powers
    # of two make both exact; the plan and the cost are scaled back at the end.
    # (ldexp, not a product with 2**-e: 2**-e itself may overflow). Masses summing to
    # 1 are left alone: no pass over the plan to scale it back.
    mass_exp = 0 if 0.5 <= total <= 2.0 else int(np.frexp(total)[1])
    a, b = np.ldexp(a, -mass_exp), np.ldexp(b, -mass_exp)
    # tol is relative to the total mass
    tol = tol * float(np.ldexp(total, -mass_exp))
    cost_exp = 0
    if (max(cost_max, reg) > 2.0 ** _SINKHORN_MAX_EXPONENT
            or reg < 2.0 ** -_SINKHORN_MAX_EXPONENT):
        cost_exp = int(np.frexp(max(cost_max, reg))[1])
        reg = float(np.ldexp(reg, -cost_exp))
    # Rows/columns without mass carry no plan (the kernel needs log(a), log(b) finite);
    # so do those whose mass is below the resolution of the work matrix (a plan row of
    # a mass under ``tiny`` would be 0 or subnormal: the kernel would rebuild at every
    # iteration to give it mass it cannot hold).
    negligible = finfo.tiny * max(a.size, b.size)
    rows, cols = np.flatnonzero(a > negligible), np.flatnonzero(b > negligible)
    full = rows.size == a.size and cols.size == b.size
    Ms = M if full else np.ascontiguousarray(M[np.ix_(rows, cols)])
    if cost_exp:
        Ms = np.ldexp(Ms, -cost_exp).astype(M.dtype, copy=False)
    a_s, b_s = a[rows], b[cols]
    n, m = Ms.shape
    n_groups = min(_SINKHORN_MAX_GROUPS, max(1, n // _SINKHORN_ROWS_PER_GROUP))
    n_threads = min(effective_n_threads(n_jobs), n_groups,
                    max(1, (n * m) // _SINKHORN_ENTRIES_PER_THREAD))
    f, g = np.zeros(n), np.zeros(m)
    K = np.empty((n, m), dtype=M.dtype)
    acc = np.empty((n_groups, m), dtype=M.dtype)
    with limit_blas_threads():  # BLAS inside OpenMP threads: one thread each
        n_iter, err, cost, _ = _sinkhorn.sinkhorn(Ms, a_s, b_s, float(reg), float(tol),
                                                  int(max_iter), f, g, K, acc, n_threads)
    if not err <= tol:
        relative = err / float(np.ldexp(total, -mass_exp))
        warnings.warn(
            f"Sinkhorn did not converge in {n_iter} iterations: the marginal violation is "
            f"{relative:.3g} of the total mass > tol={tol_given:g}. Increase max_iter, or "
            "reg (small reg converges slowly).", ConvergenceWarning, stacklevel=3)
    if mass_exp:
        np.ldexp(K, mass_exp, out=K)
    if cost_exp:
        # the rescaled costs may have lost entries to underflow: the cost from M itself
        Mo = M if full else M[np.ix_(rows, cols)]
        cost = float(np.einsum("ij,ij->", K, Mo, dtype=np.float64))
    else:
        cost = float(np.ldexp(cost, mass_exp))
    if full:
        return K, cost
    plan = np.zeros(M.shape, dtype=M.dtype)
    plan[np.ix_(rows, cols)] = K
    return plan, cost


def optimal_transport(a, b, M, *, method="exact", reg=None, max_iter=1000, tol=1e-9,
                      n_jobs=None):
    """Optimal transport plan between two discrete distributions and its cost.

    Solves ``min_P <P, M>`` over plans ``P >= 0`` with row sums ``a`` and column sums
    ``b`` (the discrete Wasserstein problem of the notes' Definition 3.74), either
    exactly (``method="exact"``: a linear program solved by HiGHS through
    :func:`scipy.optimize.linprog`) or with the entropic regularisation
    ``reg * sum P log P`` (``method="sinkhorn"``: Sinkhorn's iterations in a compiled
    kernel, with the dual potentials kept in the log domain so that small ``reg``
    neither underflows nor overflows).

    Parameters
    ----------
    a : array-like of shape (n,) or None
        Masses of the source points (>= 0). ``None`` gives each of the ``n`` rows of
        ``M`` the mass ``1/n``.
    b : array-like of shape (m,) or None
        Masses of the target points (>= 0), with the same total as ``a``. ``None``
        gives each column the mass ``1/m``.
    M : array-like of shape (n, m)
        Cost of moving a unit of mass from source ``i`` to target ``j`` (finite, of any
        magnitude: masses and costs are rescaled by powers of two inside, exactly).
        With float32 costs Sinkhorn works on a float32 matrix (half the memory, about
        twice as fast, as POT does; potentials and sums stay float64): its marginals
        are then accurate to about 1e-8 of the mass, so use ``tol >= 1e-8``.
    method : {"exact", "sinkhorn"}, default="exact"
        ``"exact"`` is a linear program in ``n * m`` variables: fine up to a few
        hundred points per side. ``"sinkhorn"`` scales to thousands.
    reg : float, default=None
        Entropic regularisation (``> 0``), in the units of ``M``; required for
        ``"sinkhorn"``. The plan tends to the exact one as ``reg -> 0``, at the price of
        more iterations.
    max_iter : int, default=1000
        Most Sinkhorn iterations (one iteration updates both sides).
    tol : float, default=1e-9
        Sinkhorn stops when the marginal violation ``||P^T 1 - b||_2`` (the row sums
        are exact after each iteration) is at most ``tol`` times the total mass: for
        masses summing to 1 the criterion of POT's ``stopThr``, here checked at every
        iteration (relative, so that masses summing to 1e-20 are not "converged" from
        the start).
    n_jobs : int, default=None
        OpenMP threads for Sinkhorn (``None``: all cores; small problems use fewer).
        The result is the same for any value.

    Returns
    -------
    plan : ndarray of shape (n, m)
        The transport plan; ``plan[i, j]`` is the mass moved from ``i`` to ``j``.
        float64, or float32 for Sinkhorn on float32 costs.
    cost : float
        ``sum_ij plan[i, j] * M[i, j]`` (for Sinkhorn: the transport cost of the
        regularised plan, without the entropy term, as POT's ``sinkhorn2``).

    Raises
    ------
    ValueError
        If ``M`` is empty, holds NaN or infinity, if ``a`` or ``b`` do not match its
        shape, have negative or zero total mass, or unequal totals, or if ``reg`` is
        missing or not positive for ``"sinkhorn"``, or below ``1e-300 * max|M|`` (the
        entropic plan is then not representable), or if the total mass is outside
        float32's range with float32 costs (the plan is float32).
    RuntimeError
        If the linear program is not solved.

    Warns
    -----
    ConvergenceWarning
        If Sinkhorn stops at ``max_iter`` with a violation above ``tol``.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.74, Remark 3.55.
    .. [2] M. Cuturi, "Sinkhorn Distances: Lightspeed Computation of Optimal Transport",
       NeurIPS 2013.
    .. [3] B. Schmitzer, "Stabilized Sparse Scaling Algorithms for Entropy Regularized
       Transport Problems", SIAM J. Sci. Comput. 41(3), 2019.
    .. [4] G. Peyre, M. Cuturi, "Computational Optimal Transport", Foundations and Trends
       in Machine Learning 11(5-6), 2019, chapter 4.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import optimal_transport
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> plan, cost = optimal_transport([0.5, 0.5], [0.25, 0.75], M)
    >>> plan
    array([[0.25, 0.25],
           [0.  , 0.5 ]])
    >>> cost
    0.25
    """
    check_param(method, "method", options=("exact", "sinkhorn"))
    check_param(max_iter, "max_iter", types=(numbers.Integral,), min_val=1)
    check_param(tol, "tol", types=(numbers.Real,), min_val=0)
    a, b, M = _check_ot_problem(a, b, M)
    if method == "exact":
        return _exact_ot(a, b, M)
    if reg is None:
        raise ValueError("reg must be given for method='sinkhorn' (a float > 0).")
    check_param(reg, "reg", types=(numbers.Real,), min_val=0, closed="neither")
    if not np.isfinite(reg):
        raise ValueError(f"reg must be finite, got {reg!r}.")
    return _sinkhorn_ot(a, b, M, reg, max_iter, tol, n_jobs)


def _check_clouds(X, Y):
    X = check_array(X, dtype=np.float64, input_name="X", ensure_min_samples=0)
    Y = check_array(Y, dtype=np.float64, input_name="Y", ensure_min_samples=0)
    for name, Z in (("X", X), ("Y", Y)):
        if Z.shape[0] == 0:
            raise ValueError(f"{name} is empty: a point cloud needs at least one point.")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of features, got "
                         f"{X.shape[1]} and {Y.shape[1]}.")
    return X, Y


@fill_doc(clouds=_CLOUDS_DOC)
def wasserstein_distance(X, Y, *, x_weights=None, y_weights=None, p=2, method="exact",
                         reg=None, max_iter=1000, tol=1e-9, n_jobs=None):
    """p-Wasserstein distance between two weighted point clouds in ``R^d``.

    The optimal transport cost with ground cost ``||x - y||_2^p``, to the power
    ``1/p`` (the notes' Definition 3.74 in the discrete case).

    Parameters
    ----------
    {clouds}
    x_weights : array-like of shape (n,), default=None
        Masses of the points of ``X`` (normalised to sum 1); ``None`` is uniform.
    y_weights : array-like of shape (m,), default=None
        Masses of the points of ``Y``, as ``x_weights``.
    p : float, default=2
        Order, ``1 <= p < inf``.
    method : {"exact", "sinkhorn"}, default="exact"
        How the transport problem is solved; see :func:`optimal_transport`.
    reg : float, default=None
        Entropic regularisation for ``"sinkhorn"``, in units of the ground cost
        ``||x - y||^p``.
    max_iter : int, default=1000
        Most Sinkhorn iterations.
    tol : float, default=1e-9
        Sinkhorn's tolerance on the marginal violation.
    n_jobs : int, default=None
        OpenMP threads for the distances and Sinkhorn.

    Returns
    -------
    distance : float
        ``W_p(X, Y)`` in the units of the coordinates (for Sinkhorn, from the
        transport cost of the regularised plan).

    Raises
    ------
    ValueError
        As :func:`optimal_transport`, and if ``X`` and ``Y`` have different numbers of
        features or ``p < 1``.

    See Also
    --------
    sliced_wasserstein : a cheaper distance from 1-D projections.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.74.
    .. [2] C. Villani, "Optimal Transport: Old and New", Springer, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import wasserstein_distance
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> wasserstein_distance(X, X + [0.0, 2.0])
    2.0
    """
    from skml.metrics._pairwise import pairwise_distances

    p = _check_p(p)
    X, Y = _check_clouds(X, Y)
    a = _check_mass(x_weights, X.shape[0], "x_weights", "X")
    b = _check_mass(y_weights, Y.shape[0], "y_weights", "Y")
    a, b = a / a.sum(), b / b.sum()
    # Costs ||x - y||^p of clouds 1e200 or 1e-200 across would overflow or underflow:
    # the clouds are moved to the middle of their joint bounding box and scaled by a
    # power of two to a half-width in [0.5, 1); W_p scales back exactly.
    lo = np.minimum(X.min(axis=0), Y.min(axis=0))
    hi = np.maximum(X.max(axis=0), Y.max(axis=0))
    mid, half_width = lo / 2 + hi / 2, float(np.max(hi / 2 - lo / 2))
    e = int(np.frexp(half_width)[1]) if half_width > 0 else 0
    if e > 0:  # scale first: X - mid itself could overflow
        X, Y = np.ldexp(X, -e) - np.ldexp(mid, -e), np.ldexp(Y, -e) - np.ldexp(mid, -e)
    else:  # subtract first: X scaled up could overflow
        X, Y = np.ldexp(X - mid, -e), np.ldexp(Y - mid, -e)
    reg_given = reg
    if method == "sinkhorn" and reg is not None:
        check_param(reg, "reg", types=(numbers.Real,), min_val=0, closed="neither")
        with np.errstate(over="ignore", under="ignore"):
            reg_scaled = float(np.exp2(np.log2(float(reg)) - e * p))
        if not 0 < reg_scaled < np.inf:
            raise ValueError(
                f"reg={reg!r} is out of the floating-point range relative to the costs "
                f"||x - y||^p, of order 2**{e * p:g} here.")
        reg = reg_scaled
    M = pairwise_distances(X, Y, n_jobs=n_jobs)
    if p != 1:
        M **= p
    if (method == "sinkhorn" and reg is not None
            and reg < _SINKHORN_MIN_RELATIVE_REG * M.max()):
        raise ValueError(
            f"reg={reg_given!r} is below 1e-300 times the largest cost ||x - y||^p: the "
            "entropic plan cannot be represented in floating point. Use method='exact'.")
    _, cost = optimal_transport(a, b, M, method=method, reg=reg, max_iter=max_iter,
                                tol=tol, n_jobs=n_jobs)
    return float(np.ldexp(max(cost, 0.0) ** (1.0 / p), e))


@fill_doc(clouds=_CLOUDS_DOC)
def sliced_wasserstein(X, Y, *, x_weights=None, y_weights=None, n_projections=50, p=2,
                       random_state=None):
    """Sliced p-Wasserstein distance between two weighted point clouds.

    The point clouds are projected on ``n_projections`` random directions, drawn
    uniformly on the unit sphere; on each line the 1-D distance comes from the quantile
    functions (:func:`wasserstein_1d`), and the result is
    ``(mean_k W_p(proj_k X, proj_k Y)^p)^(1/p)``. It costs
    ``O(n_projections * (n + m) log(n + m))``, with no transport problem to solve.

    Parameters
    ----------
    {clouds}
    x_weights : array-like of shape (n,), default=None
        Masses of the points of ``X``; ``None`` is uniform.
    y_weights : array-like of shape (m,), default=None
        Masses of the points of ``Y``; ``None`` is uniform.
    n_projections : int, default=50
        Number of random directions.
    p : float, default=2
        Order, ``1 <= p < inf``.
    random_state : int, RandomState instance or None, default=None
        Draws the directions (standard normal vectors, normalised).

    Returns
    -------
    distance : float
        The sliced distance, in the units of the coordinates.

    Raises
    ------
    ValueError
        As :func:`wasserstein_distance`, and if ``n_projections < 1``.

    References
    ----------
    .. [1] N. Bonneel, J. Rabin, G. Peyre, H. Pfister, "Sliced and Radon Wasserstein
       Barycenters of Measures", J. Math. Imaging Vis. 51, 2015.
    .. [2] H. Dai, "Note on Machine Learning" (preprint), Lemma 3.1.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import sliced_wasserstein
    >>> X = np.random.RandomState(0).randn(100, 3)
    >>> sliced_wasserstein(X, X, random_state=0)
    0.0
    """
    p = _check_p(p)
    check_param(n_projections, "n_projections", types=(numbers.Integral,), min_val=1)
    X, Y = _check_clouds(X, Y)
    a = _check_mass(x_weights, X.shape[0], "x_weights", "X")
    b = _check_mass(y_weights, Y.shape[0], "y_weights", "Y")
    rng = check_random_state(random_state)
    directions = rng.standard_normal((int(n_projections), X.shape[1]))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    PX, PY = X @ directions.T, Y @ directions.T
    parts = [_wasserstein_1d_pp(PX[:, k], a, PY[:, k], b, p)
             for k in range(directions.shape[0])]
    scale = max(s for _, s in parts)
    if scale == 0:
        return 0.0
    total = sum(value * (s / scale) ** p for value, s in parts)
    return float(scale * (total / len(parts)) ** (1.0 / p))
