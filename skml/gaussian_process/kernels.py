"""Covariance functions for :class:`~skml.gaussian_process.GaussianProcessRegressor`.

The kernels of Remark 2.16 of the notes — :class:`RBF`, :class:`Linear` and
:class:`Laplace` — plus :class:`ConstantKernel` (a scale) and :class:`WhiteKernel` (noise),
scikit-learn's :class:`Matern`, :class:`RationalQuadratic`, :class:`ExpSineSquared` and
:class:`DotProduct` (the same as ``Linear``) under their names, combined with ``+`` and
``*`` into :class:`Sum` and :class:`Product` kernels. A number in
a sum or product becomes a ``ConstantKernel``: ``2.0 * RBF(1.0) + WhiteKernel(0.1)``.

Every kernel has positive hyper-parameters, optimised in log space: ``theta`` is the vector
of their logarithms (fixed ones left out), ``bounds`` the log bounds, and
``k(X, eval_gradient=True)`` also returns the derivatives of the kernel matrix with respect
to ``theta`` — what the gradient of the log marginal likelihood needs. The parameter names,
defaults and formulas follow scikit-learn's kernels (``RBF``, ``DotProduct``,
``Matern(nu=0.5)``, ``ConstantKernel``, ``WhiteKernel``), so the same parameter values give
the same matrices.
"""
import inspect

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform
from scipy.special import gamma as gamma_fn
from scipy.special import kv

__all__ = ["ConstantKernel", "DotProduct", "ExpSineSquared", "Kernel", "Laplace", "Linear",
           "Matern", "Product", "RBF", "RationalQuadratic", "Sum", "WhiteKernel"]


def _check_bounds(bounds, name):
    if isinstance(bounds, str):
        if bounds != "fixed":
            raise ValueError(f"{name} must be a (low, high) pair or 'fixed', got {bounds!r}.")
        return bounds
    b = np.asarray(bounds, dtype=np.float64)
    if b.shape[-1] != 2 or np.any(b <= 0) or np.any(b[..., 0] > b[..., 1]):
        raise ValueError(f"{name} must be (low, high) with 0 < low <= high, got {bounds!r}.")
    return b


class Kernel:
    """Base class of the kernels: parameters, log-space hyper-parameters and algebra.

    It provides ``get_params``/``set_params``, ``theta`` and ``bounds`` (in log space),
    ``clone_with_theta``, and the ``+`` and ``*`` operators. A subclass lists its
    hyper-parameters in ``_hyper`` as ``(name, bounds_attribute)``
    pairs and implements ``__call__(X, Y=None, eval_gradient=False)`` and ``diag(X)``.
    """

    _hyper = ()

    # -- parameters (the scikit-learn get_params/set_params protocol) ---------------------
    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep=True):
        """The constructor arguments (with ``k1__...`` entries for nested kernels)."""
        params = {}
        for name in self._param_names():
            value = getattr(self, name)
            params[name] = value
            if deep and isinstance(value, Kernel):
                params.update({f"{name}__{k}": v for k, v in value.get_params(True).items()})
        return params

    def set_params(self, **params):
        """Set constructor arguments (nested ones as ``k1__length_scale``); returns self."""
        valid = self._param_names()
        nested = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for kernel {self!r}.")
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub in nested.items():
            getattr(self, name).set_params(**sub)
        return self

    def clone_with_theta(self, theta):
        """A copy with the log hyper-parameters ``theta``."""
        k = self._copy()
        k.theta = theta
        return k

    def _copy(self):
        params = {}
        for name in self._param_names():
            value = getattr(self, name)
            params[name] = value._copy() if isinstance(value, Kernel) else value
        return type(self)(**params)

    # -- hyper-parameters ----------------------------------------------------------------
    def _free(self):
        """[(name, n_values, log_bounds)] for the hyper-parameters that are not fixed."""
        out = []
        for name, bname in self._hyper:
            bounds = getattr(self, bname)
            if isinstance(bounds, str) and bounds == "fixed":
                continue
            n = np.size(getattr(self, name))
            b = np.log(np.broadcast_to(np.asarray(bounds, dtype=np.float64), (n, 2)))
            out.append((name, n, b))
        return out

    @property
    def n_dims(self):
        """Number of free (log) hyper-parameters."""
        return len(self.theta)

    @property
    def theta(self):
        """Logarithms of the free hyper-parameters, flattened."""
        vals = [np.log(np.atleast_1d(np.asarray(getattr(self, name), dtype=np.float64)))
                for name, _, _ in self._free()]
        return np.concatenate(vals) if vals else np.empty(0)

    @theta.setter
    def theta(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        i = 0
        for name, n, _ in self._free():
            value = np.exp(theta[i:i + n])
            if np.ndim(getattr(self, name)) == 0:
                value = float(value[0])
            setattr(self, name, value)
            i += n
        if i != len(theta):
            raise ValueError(f"theta has {len(theta)} values; the kernel has {i}.")

    @property
    def bounds(self):
        """Log bounds of the free hyper-parameters, shape ``(n_dims, 2)``."""
        b = [lb for _, _, lb in self._free()]
        return np.vstack(b) if b else np.empty((0, 2))

    @property
    def requires_vector_input(self):
        return True

    def is_stationary(self):
        return False

    # -- algebra ------------------------------------------------------------------------
    def __add__(self, other):
        return Sum(self, other if isinstance(other, Kernel) else ConstantKernel(other))

    def __radd__(self, other):
        return Sum(other if isinstance(other, Kernel) else ConstantKernel(other), self)

    def __mul__(self, other):
        return Product(self, other if isinstance(other, Kernel) else ConstantKernel(other))

    def __rmul__(self, other):
        return Product(other if isinstance(other, Kernel) else ConstantKernel(other), self)

    def __eq__(self, other):
        if type(self) is not type(other):
            return False
        a, b = self.get_params(deep=False), other.get_params(deep=False)
        for key, va in a.items():
            vb = b[key]
            if isinstance(va, Kernel) or isinstance(va, str) or isinstance(vb, str):
                same = va == vb
            else:
                same = np.shape(va) == np.shape(vb) and np.array_equal(va, vb)
            if not same:
                return False
        return True

    __hash__ = object.__hash__

    def __repr__(self):
        args = ", ".join(f"{name}={_fmt(getattr(self, name))}" for name, _ in self._hyper)
        return f"{type(self).__name__}({args})"

    def __call__(self, X, Y=None, eval_gradient=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def diag(self, X):  # pragma: no cover - abstract
        raise NotImplementedError


def _fmt(v):
    if np.ndim(v) == 0:
        return f"{float(v):.3g}"
    return "[" + ", ".join(f"{float(x):.3g}" for x in np.ravel(v)) + "]"


def _far_zero(G, K):
    """Kernel gradients with 0 where the kernel value is 0: for points infinitely far
    apart (a distance that overflows) ``0 * inf`` would give NaN; the limit is 0."""
    bad = ~np.isfinite(G)
    if np.any(bad):
        G = np.where(bad & (K == 0)[..., None] if G.ndim == 3 else bad & (K == 0), 0.0, G)
    return G


def _sq_diffs(X):
    """``(x_if - x_jf)^2`` for every pair and feature (inf where it overflows)."""
    with np.errstate(over="ignore"):
        return (X[:, None, :] - X[None, :, :]) ** 2


def _as_2d(X):
    X = np.asarray(X, dtype=np.float64)
    return X[:, None] if X.ndim == 1 else X


def _no_gradient(X):
    """The gradient of a kernel without free hyper-parameters: shape ``(n, n, 0)``."""
    return np.empty((X.shape[0], X.shape[0], 0))


def _check_gradient_without_y(Y, eval_gradient):
    if Y is not None and eval_gradient:
        raise ValueError("Gradient can only be evaluated when Y is None.")


def _pairwise(X, Y, eval_gradient, metric, scaled=None):
    """``(Xs, D)``: ``X`` as 2-D float64 (divided by the length scale(s) through
    ``scaled``, a stationary kernel's ``_scaled``, when given) and the ``metric``
    distances from it to ``Y`` likewise prepared (``Y is None``: within ``X``, the
    diagonal exactly 0)."""
    Xs = _as_2d(X) if scaled is None else scaled(_as_2d(X))
    if Y is None:
        return Xs, squareform(pdist(Xs, metric))
    _check_gradient_without_y(Y, eval_gradient)
    Ys = _as_2d(Y) if scaled is None else scaled(_as_2d(Y))
    return Xs, cdist(Xs, Ys, metric)


class _ScaleKernel(Kernel):
    """A kernel equal to its one hyper-parameter times a fixed matrix (all ones, or the
    identity): stationary, its diagonal that value, and its gradient with respect to the
    log of that value the kernel matrix itself."""

    def is_stationary(self):
        return True

    def _value(self):
        return float(getattr(self, self._hyper[0][0]))

    def _with_gradient(self, K, X, eval_gradient):
        if not eval_gradient:
            return K
        if self.n_dims:
            return K, K[:, :, None].copy()
        return K, _no_gradient(X)

    def diag(self, X):
        return np.full(_as_2d(X).shape[0], self._value())


class ConstantKernel(_ScaleKernel):
    """``k(x, y) = constant_value``: scales another kernel in a product.

    Parameters
    ----------
    constant_value : float, default=1.0
    constant_value_bounds : (float, float) or "fixed", default=(1e-5, 1e5)

    Examples
    --------
    >>> import numpy as np
    >>> from skml.gaussian_process.kernels import ConstantKernel
    >>> ConstantKernel(2.0)(np.zeros((2, 1)))
    array([[2., 2.],
           [2., 2.]])
    """

    _hyper = (("constant_value", "constant_value_bounds"),)

    def __init__(self, constant_value=1.0, constant_value_bounds=(1e-5, 1e5)):
        self.constant_value = constant_value
        self.constant_value_bounds = constant_value_bounds

    def __call__(self, X, Y=None, eval_gradient=False):
        X = _as_2d(X)
        _check_gradient_without_y(Y, eval_gradient)  # as every other kernel
        Y = X if Y is None else _as_2d(Y)
        K = np.full((X.shape[0], Y.shape[0]), self._value())
        return self._with_gradient(K, X, eval_gradient)


class WhiteKernel(_ScaleKernel):
    """``k(x, y) = noise_level`` if ``x`` and ``y`` are the same sample, else 0.

    Added to another kernel, it models independent observation noise and is fitted with
    the other hyper-parameters. Only ``k(X)`` (no ``Y``) has a diagonal.

    Parameters
    ----------
    noise_level : float, default=1.0
    noise_level_bounds : (float, float) or "fixed", default=(1e-5, 1e5)

    Examples
    --------
    >>> import numpy as np
    >>> from skml.gaussian_process.kernels import WhiteKernel
    >>> WhiteKernel(0.5)(np.zeros((2, 1)))
    array([[0.5, 0. ],
           [0. , 0.5]])
    """

    _hyper = (("noise_level", "noise_level_bounds"),)

    def __init__(self, noise_level=1.0, noise_level_bounds=(1e-5, 1e5)):
        self.noise_level = noise_level
        self.noise_level_bounds = noise_level_bounds

    def __call__(self, X, Y=None, eval_gradient=False):
        X = _as_2d(X)
        if Y is not None:
            _check_gradient_without_y(Y, eval_gradient)
            return np.zeros((X.shape[0], _as_2d(Y).shape[0]))
        return self._with_gradient(self._value() * np.eye(X.shape[0]), X, eval_gradient)


class _Stationary(Kernel):
    """A kernel of the scaled distance ``r = ||(x - y) / length_scale||``."""

    _hyper = (("length_scale", "length_scale_bounds"),)

    def __init__(self, length_scale=1.0, length_scale_bounds=(1e-5, 1e5)):
        self.length_scale = length_scale
        self.length_scale_bounds = length_scale_bounds

    def is_stationary(self):
        return True

    @property
    def anisotropic(self):
        return np.ndim(self.length_scale) > 0 and np.size(self.length_scale) > 1

    def _scaled(self, X):
        ls = np.asarray(self.length_scale, dtype=np.float64)
        if self.anisotropic and ls.shape[0] != X.shape[1]:
            raise ValueError(
                f"length_scale has {ls.shape[0]} values but X has {X.shape[1]} features.")
        return X / ls

    def diag(self, X):
        return np.ones(_as_2d(X).shape[0])


class RBF(_Stationary):
    """Squared-exponential kernel ``k(x, y) = exp(-||x - y||^2 / (2 l^2))`` (Remark 2.16).

    Parameters
    ----------
    length_scale : float or array-like of shape (n_features,), default=1.0
        ``l``; an array gives one length scale per feature (anisotropic).
    length_scale_bounds : (float, float) or "fixed", default=(1e-5, 1e5)

    Examples
    --------
    >>> import numpy as np
    >>> from skml.gaussian_process.kernels import RBF
    >>> float(RBF(1.0)(np.array([[0.0]]), np.array([[1.0]]))[0, 0])  # exp(-1/2)
    0.6065306597126334
    """

    def __call__(self, X, Y=None, eval_gradient=False):
        X, d2 = _pairwise(X, Y, eval_gradient, "sqeuclidean", self._scaled)
        K = np.exp(-0.5 * d2)
        if not eval_gradient:
            return K
        if isinstance(self.length_scale_bounds, str):
            return K, _no_gradient(X)
        if not self.anisotropic:
            with np.errstate(invalid="ignore"):  # (0 * inf: see _far_zero)
                return K, _far_zero(K * d2, K)[:, :, None]
        # d K / d log l_f = K * (x_f - y_f)^2 / l_f^2  (X already divided by l)
        diff2 = _sq_diffs(X)
        with np.errstate(invalid="ignore"):  # (0 * inf: see _far_zero)
            return K, _far_zero(diff2 * K[:, :, None], K)


class Laplace(_Stationary):
    """Exponential (Laplace) kernel ``k(x, y) = exp(-||x - y|| / l)`` (Remark 2.16).

    ``||.||`` is the Euclidean norm, so this is scikit-learn's ``Matern(nu=0.5)`` (the
    Ornstein-Uhlenbeck covariance); in one dimension it is ``exp(-|x - y| / l)``.

    Parameters
    ----------
    length_scale : float or array-like of shape (n_features,), default=1.0
    length_scale_bounds : (float, float) or "fixed", default=(1e-5, 1e5)

    Examples
    --------
    >>> import numpy as np
    >>> from skml.gaussian_process.kernels import Laplace
    >>> float(Laplace(2.0)(np.array([[0.0]]), np.array([[2.0]]))[0, 0])  # exp(-1)
    0.36787944117144233
    """

    def __call__(self, X, Y=None, eval_gradient=False):
        X, d = _pairwise(X, Y, eval_gradient, "euclidean", self._scaled)
        K = np.exp(-d)
        if not eval_gradient:
            return K
        if isinstance(self.length_scale_bounds, str):
            return K, _no_gradient(X)
        if not self.anisotropic:
            with np.errstate(invalid="ignore"):  # (0 * inf: see _far_zero)
                return K, _far_zero(K * d, K)[:, :, None]
        diff2 = _sq_diffs(X)
        with np.errstate(divide="ignore", invalid="ignore"):
            G = diff2 / d[:, :, None]
        G[~np.isfinite(G)] = 0.0
        with np.errstate(invalid="ignore"):  # (0 * inf: see _far_zero)
            return K, _far_zero(G * K[:, :, None], K)


class Linear(Kernel):
    """Dot-product kernel ``k(x, y) = sigma_0^2 + <x, y>`` (Remark 2.16; scikit-learn's
    ``DotProduct``).

    Non-stationary (Remark 2.19). ``sigma_0 = 0`` gives the notes' ``x^T y`` exactly; then
    ``sigma_0`` cannot be optimised in log space and is treated as fixed. Multiply by a
    ``ConstantKernel`` to scale it; a GP with this kernel is Bayesian linear regression.

    Parameters
    ----------
    sigma_0 : float, default=1.0
        Inhomogeneity (the prior standard deviation of the intercept), >= 0.
    sigma_0_bounds : (float, float) or "fixed", default=(1e-5, 1e5)

    Examples
    --------
    >>> import numpy as np
    >>> from skml.gaussian_process.kernels import Linear
    >>> Linear(sigma_0=0.0)(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]))
    array([[11.]])
    """

    _hyper = (("sigma_0", "sigma_0_bounds"),)

    def __init__(self, sigma_0=1.0, sigma_0_bounds=(1e-5, 1e5)):
        self.sigma_0 = sigma_0
        self.sigma_0_bounds = sigma_0_bounds

    def _free(self):
        if float(self.sigma_0) == 0.0:
            return []
        return super()._free()

    def __call__(self, X, Y=None, eval_gradient=False):
        X = _as_2d(X)
        _check_gradient_without_y(Y, eval_gradient)
        K = X @ (X if Y is None else _as_2d(Y)).T + float(self.sigma_0) ** 2
        if not eval_gradient:
            return K
        if self.n_dims:
            return K, np.full((X.shape[0], X.shape[0], 1), 2.0 * float(self.sigma_0) ** 2)
        return K, _no_gradient(X)

    def diag(self, X):
        X = _as_2d(X)
        return np.einsum("ij,ij->i", X, X) + float(self.sigma_0) ** 2


class DotProduct(Linear):
    """Dot-product kernel ``k(x, y) = sigma_0^2 + <x, y>``: scikit-learn's name for
    :class:`Linear` (same parameters, values and gradients).

    Parameters
    ----------
    sigma_0 : float, default=1.0
        Inhomogeneity, >= 0.
    sigma_0_bounds : (float, float) or "fixed", default=(1e-5, 1e5)

    Examples
    --------
    >>> import numpy as np
    >>> from skml.gaussian_process.kernels import DotProduct
    >>> DotProduct(sigma_0=1.0)(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]))
    array([[12.]])
    """


class Matern(_Stationary):
    """Matern kernel ``k(x, y) = 2^(1 - nu) / Gamma(nu) (sqrt(2 nu) r)^nu K_nu(sqrt(2 nu) r)``
    with ``r = ||(x - y) / length_scale||`` and ``K_nu`` the modified Bessel function.

    ``nu = 0.5`` is :class:`Laplace` (``exp(-r)``), ``nu -> inf`` is :class:`RBF`;
    ``nu = 1.5`` and ``2.5`` (once and twice differentiable functions) have closed forms
    ``(1 + sqrt(3) r) exp(-sqrt(3) r)`` and ``(1 + sqrt(5) r + 5 r^2 / 3)
    exp(-sqrt(5) r)``. Values are scikit-learn's; the gradient in ``log(length_scale)``
    is analytic for every ``nu`` (scikit-learn's is a finite difference except for
    0.5, 1.5, 2.5 and inf), using ``d/dz [z^nu K_nu(z)] = -z^nu K_(nu-1)(z)``.

    Parameters
    ----------
    length_scale : float or array-like of shape (n_features,), default=1.0
    length_scale_bounds : (float, float) or "fixed", default=(1e-5, 1e5)
    nu : float, default=1.5
        Smoothness (> 0); not a hyper-parameter (not optimised).

    Examples
    --------
    >>> import numpy as np
    >>> from skml.gaussian_process.kernels import Matern
    >>> K = Matern(1.0, nu=1.5)(np.array([[0.0]]), np.array([[1.0]]))
    >>> bool(np.isclose(K[0, 0], (1 + np.sqrt(3)) * np.exp(-np.sqrt(3))))
    True
    """

    def __init__(self, length_scale=1.0, length_scale_bounds=(1e-5, 1e5), nu=1.5):
        super().__init__(length_scale, length_scale_bounds)
        self.nu = nu

    def _profile(self, r):
        """``(k(r), -k'(r) / r)``: the value and the factor of the gradient (both 0 at
        an infinite distance: an overflowing ``r`` would give ``inf * 0``)."""
        with np.errstate(invalid="ignore", over="ignore"):
            K, G = self._profile_values(r)
        far = ~np.isfinite(r)
        if np.any(far):
            K, G = np.where(far, 0.0, K), np.where(far, 0.0, G)
        return K, G

    def _profile_values(self, r):
        nu = float(self.nu)
        if nu <= 0 or not np.isfinite(nu) and nu != np.inf:
            raise ValueError(f"nu must be > 0, got {self.nu!r}.")
        if nu == 0.5:
            K = np.exp(-r)
            with np.errstate(divide="ignore", invalid="ignore"):
                G = np.where(r > 0, K / r, 0.0)
            return K, G
        if nu == 1.5:
            e = np.exp(-np.sqrt(3.0) * r)
            return (1.0 + np.sqrt(3.0) * r) * e, 3.0 * e
        if nu == 2.5:
            e = np.exp(-np.sqrt(5.0) * r)
            return ((1.0 + np.sqrt(5.0) * r + 5.0 / 3.0 * r * r) * e,
                    5.0 / 3.0 * (1.0 + np.sqrt(5.0) * r) * e)
        if nu == np.inf:
            K = np.exp(-0.5 * r * r)
            return K, K
        z = np.sqrt(2.0 * nu) * r
        c = 2.0 ** (1.0 - nu) / gamma_fn(nu)
        K = np.ones_like(r)
        G = np.zeros_like(r)
        pos = z > 0
        zp = z[pos]
        K[pos] = c * zp**nu * kv(nu, zp)
        # -k'(r) / r = c (2 nu) z^(nu - 1) K_(nu-1)(z); at r = 0 its limit (finite for
        # nu > 1) multiplies a zero distance, so 0 is exact there
        G[pos] = c * 2.0 * nu * zp ** (nu - 1.0) * kv(nu - 1.0, zp)
        K[pos & ~np.isfinite(K)] = 0.0
        G[pos & ~np.isfinite(G)] = 0.0
        return K, G

    def __call__(self, X, Y=None, eval_gradient=False):
        Xs, D2 = _pairwise(X, Y, eval_gradient, "sqeuclidean", self._scaled)
        K, G = self._profile(np.sqrt(D2))
        if not eval_gradient:
            return K
        if isinstance(self.length_scale_bounds, str):
            return K, _no_gradient(Xs)
        # d k / d log l_f = -k'(r) / r * (x_f - y_f)^2 / l_f^2
        if not self.anisotropic:
            with np.errstate(invalid="ignore"):  # (0 * inf: see _far_zero)
                return K, _far_zero(G * D2, K)[:, :, None]
        diff2 = _sq_diffs(Xs)
        with np.errstate(invalid="ignore"):  # (0 * inf: see _far_zero)
            return K, _far_zero(diff2 * G[:, :, None], K)

    def __repr__(self):
        return (f"Matern(length_scale={_fmt(self.length_scale)}, "
                f"nu={float(self.nu):.3g})")


class RationalQuadratic(_Stationary):
    """Rational quadratic kernel ``k(x, y) = (1 + d^2 / (2 alpha l^2))^(-alpha)``: a scale
    mixture of RBF kernels (``alpha -> inf`` gives the RBF). Isotropic, as in
    scikit-learn, with the same values and analytic gradients.

    Parameters
    ----------
    length_scale : float, default=1.0
    alpha : float, default=1.0
        Scale-mixture parameter (> 0).
    length_scale_bounds, alpha_bounds : (float, float) or "fixed", default=(1e-5, 1e5)

    Examples
    --------
    >>> import numpy as np
    >>> from skml.gaussian_process.kernels import RationalQuadratic
    >>> float(RationalQuadratic(1.0, 1.0)(np.array([[0.0]]), np.array([[1.0]]))[0, 0])
    0.6666666666666666
    """

    # (scikit-learn orders hyper-parameters by name: theta is [log alpha, log l])
    _hyper = (("alpha", "alpha_bounds"), ("length_scale", "length_scale_bounds"))

    def __init__(self, length_scale=1.0, alpha=1.0, length_scale_bounds=(1e-5, 1e5),
                 alpha_bounds=(1e-5, 1e5)):
        if np.ndim(length_scale) > 0 and np.size(length_scale) > 1:
            raise AttributeError(
                "RationalQuadratic kernel only supports isotropic version, please use a "
                "single scalar for length_scale")
        self.length_scale = length_scale
        self.alpha = alpha
        self.length_scale_bounds = length_scale_bounds
        self.alpha_bounds = alpha_bounds

    def __call__(self, X, Y=None, eval_gradient=False):
        X, d2 = _pairwise(X, Y, eval_gradient, "sqeuclidean")
        a, ls = float(self.alpha), float(np.ravel(self.length_scale)[0])
        base = 1.0 + d2 / (2.0 * a * ls * ls)
        K = base ** (-a)
        if not eval_gradient:
            return K
        grads = []
        with np.errstate(invalid="ignore"):  # (inf / inf far away: see _far_zero)
            if not isinstance(self.alpha_bounds, str):              # d k / d log alpha
                grads.append(K * (-a * np.log(base) + d2 / (2.0 * ls * ls * base)))
            if not isinstance(self.length_scale_bounds, str):       # d k / d log l
                grads.append(d2 * K / (ls * ls * base))
        if not grads:
            return K, _no_gradient(X)
        return K, _far_zero(np.dstack(grads), K)


class ExpSineSquared(_Stationary):
    """Periodic kernel ``k(x, y) = exp(-2 sin^2(pi d / p) / l^2)`` with ``d`` the Euclidean
    distance, ``p`` the periodicity and ``l`` the length scale (scikit-learn's values and
    analytic gradients).

    Parameters
    ----------
    length_scale : float, default=1.0
    periodicity : float, default=1.0
    length_scale_bounds, periodicity_bounds : (float, float) or "fixed", \
            default=(1e-5, 1e5)

    Examples
    --------
    >>> import numpy as np
    >>> from skml.gaussian_process.kernels import ExpSineSquared
    >>> float(ExpSineSquared(1.0, 2.0)(np.array([[0.0]]), np.array([[4.0]]))[0, 0])
    1.0
    """

    _hyper = (("length_scale", "length_scale_bounds"),
              ("periodicity", "periodicity_bounds"))

    def __init__(self, length_scale=1.0, periodicity=1.0, length_scale_bounds=(1e-5, 1e5),
                 periodicity_bounds=(1e-5, 1e5)):
        self.length_scale = length_scale
        self.periodicity = periodicity
        self.length_scale_bounds = length_scale_bounds
        self.periodicity_bounds = periodicity_bounds

    def __call__(self, X, Y=None, eval_gradient=False):
        X, d = _pairwise(X, Y, eval_gradient, "euclidean")
        ls, p = float(np.ravel(self.length_scale)[0]), float(self.periodicity)
        arg = np.pi * d / p
        sin_arg = np.sin(arg)
        K = np.exp(-2.0 * (sin_arg / ls) ** 2)
        if not eval_gradient:
            return K
        grads = []
        if not isinstance(self.length_scale_bounds, str):
            grads.append(4.0 / (ls * ls) * sin_arg**2 * K)
        if not isinstance(self.periodicity_bounds, str):
            grads.append(4.0 * arg / (ls * ls) * np.cos(arg) * sin_arg * K)
        if not grads:
            return K, _no_gradient(X)
        with np.errstate(invalid="ignore"):  # (0 * inf: see _far_zero)
            return K, _far_zero(np.dstack(grads), K)


class _Binary(Kernel):
    def __init__(self, k1, k2):
        self.k1 = k1
        self.k2 = k2

    @property
    def theta(self):
        return np.concatenate([self.k1.theta, self.k2.theta])

    @theta.setter
    def theta(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        n1 = self.k1.n_dims
        self.k1.theta = theta[:n1]
        self.k2.theta = theta[n1:]

    @property
    def bounds(self):
        return np.vstack([self.k1.bounds, self.k2.bounds])

    def is_stationary(self):
        return self.k1.is_stationary() and self.k2.is_stationary()

    def __repr__(self):
        return f"{self.k1!r} {self._op} {self.k2!r}"


class Sum(_Binary):
    """``k(x, y) = k1(x, y) + k2(x, y)``; made by ``k1 + k2``.

    Parameters
    ----------
    k1, k2 : Kernel

    Examples
    --------
    >>> from skml.gaussian_process.kernels import RBF, WhiteKernel
    >>> RBF(1.0) + WhiteKernel(0.1)
    RBF(length_scale=1) + WhiteKernel(noise_level=0.1)
    """

    _op = "+"

    def __call__(self, X, Y=None, eval_gradient=False):
        if not eval_gradient:
            return self.k1(X, Y) + self.k2(X, Y)
        K1, G1 = self.k1(X, Y, eval_gradient=True)
        K2, G2 = self.k2(X, Y, eval_gradient=True)
        return K1 + K2, np.dstack((G1, G2))

    def diag(self, X):
        return self.k1.diag(X) + self.k2.diag(X)


class Product(_Binary):
    """``k(x, y) = k1(x, y) * k2(x, y)``; made by ``k1 * k2``.

    Parameters
    ----------
    k1, k2 : Kernel

    Examples
    --------
    >>> from skml.gaussian_process.kernels import RBF
    >>> 2.0 * RBF(0.5)
    ConstantKernel(constant_value=2) * RBF(length_scale=0.5)
    """

    _op = "*"

    def __call__(self, X, Y=None, eval_gradient=False):
        if not eval_gradient:
            return self.k1(X, Y) * self.k2(X, Y)
        K1, G1 = self.k1(X, Y, eval_gradient=True)
        K2, G2 = self.k2(X, Y, eval_gradient=True)
        return K1 * K2, np.dstack((G1 * K2[:, :, None], G2 * K1[:, :, None]))

    def diag(self, X):
        return self.k1.diag(X) * self.k2.diag(X)
