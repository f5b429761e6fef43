"""Losses of gradient boosting, shared by the exact (``_gb``) and the histogram-based
(``_hist_gradient_boosting``) estimators.

Every loss works in the *raw* space where the trees add up (the identity for squared,
absolute, Huber and pinball losses, the log for Poisson and Gamma, the log-odds for the
binary log-loss, unnormalised log-probabilities for the multinomial one). A loss gives

* ``baseline(y, w)``: the best constant raw prediction, shape (K,);
* ``gradient_hessian(y, raw, w, g, h)``: per-sample first and second derivatives in
  float32 (histogram GB), times the sample weights;
* ``negative_gradient(y, raw)`` (exact GB) and, for the losses whose Newton step is not
  the leaf mean, ``newton_leaf_values(...)`` or ``leaf_value(residual, w)`` (the
  line search of Friedman's algorithm over one leaf);
* ``__call__(y, raw, w)``: the weighted mean loss, ``inverse_link(raw)``.

The formulas are those of H. Dai, "Note on Machine Learning" (preprint), §3.2.3
(Definitions 3.63-3.69: L1, L2/MSE and cross-entropy losses) and of Friedman (2001),
Table 1 (the M-regression losses and their leaf updates).
"""
import numpy as np
from scipy.special import expit, softmax

from skml._kernels import _hist

__all__ = ["LOSSES", "weighted_quantile"]

_EPS = np.finfo(np.float64).eps


def weighted_quantile(values, weights, q, average=True):
    """The q-quantile (``0 <= q <= 1``) of ``values`` under ``weights``: the smallest
    value whose cumulative weight reaches ``q`` times the total, averaged with the next
    value when it is reached exactly if ``average`` (numpy's ``"averaged_inverted_cdf"``
    for unit weights, else ``"inverted_cdf"``). Zero weights are ignored. Without
    weights: numpy's default (linear) percentile, as scikit-learn's unweighted losses
    and ``DummyRegressor`` use."""
    values = np.asarray(values, dtype=np.float64)
    if weights is None:
        return float(np.percentile(values, 100.0 * q)) if values.size else 0.0
    keep = weights > 0
    values, weights = values[keep], np.asarray(weights, dtype=np.float64)[keep]
    if values.size == 0:
        return 0.0
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    cum = np.cumsum(weights)
    target = q * cum[-1]
    i = int(np.searchsorted(cum, target, side="left"))
    i = min(i, values.size - 1)
    if average and i + 1 < values.size and np.isclose(cum[i], target, rtol=1e-12,
                                                      atol=0.0):
        return 0.5 * (values[i] + values[i + 1])
    return float(values[i])


def _weighted_mean(v, w):
    return float(np.average(v, weights=w)) if w is not None else float(np.mean(v))


def _safe_divide(num, den):
    """num / den, 0 where |den| is tiny (a leaf whose hessian vanished: no Newton step
    can improve it)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    ok = np.abs(den) > 1e-150
    np.divide(num, den, out=out, where=ok)
    return out


class _Loss:
    n_outputs = 1
    constant_hessian = False  # hessian 1 for every sample (times its weight)
    needs_leaf_update = False  # leaf values come from a line search, not a Newton step
    is_classification = False
    name = ""
    # quantile convention of the leaf values and the baseline: averaged inverted CDF
    # (numpy's median for unit weights); exact GB uses the plain inverted CDF, as
    # scikit-learn's GradientBoosting* does
    average_quantiles = True
    # exact GB reports some losses times 2 (scikit-learn's convention for train_score_)
    score_factor = 1.0

    def inverse_link(self, raw):
        return raw

    def hessian(self, y, raw):
        """Second derivative per sample (exact GB's Newton leaves)."""
        return np.ones_like(raw)

    def newton_leaf_values(self, leaves, n_nodes, y, raw, neg_grad, w):
        """Per-node Newton step sum(w * -g) / sum(w * h) over the samples of each leaf
        (``leaves[i]`` = the node of sample i, ``w`` already zero out of the bag)."""
        num = np.bincount(leaves, weights=w * neg_grad, minlength=n_nodes)
        den = np.bincount(leaves, weights=w * self.hessian(y, raw), minlength=n_nodes)
        return _safe_divide(num, den)


class SquaredError(_Loss):
    """0.5 (y - f)^2 (Definitions 3.64-3.65 of the notes, halved)."""

    name = "squared_error"
    constant_hessian = True
    score_factor = 2.0

    def baseline(self, y, w):
        return np.array([_weighted_mean(y, w)])

    def gradient_hessian(self, y, raw, w, g, h, n_threads):
        np.subtract(raw, y, out=g, casting="unsafe")
        if w is not None:
            g *= w
            h[:] = w

    def negative_gradient(self, y, raw):
        return y - raw

    def __call__(self, y, raw, w=None):
        return _weighted_mean(0.5 * (y - raw) ** 2, w)


class AbsoluteError(_Loss):
    """|y - f| (Definition 3.63 of the notes); leaves take the weighted median of the
    residuals."""

    name = "absolute_error"
    constant_hessian = True
    needs_leaf_update = True

    def baseline(self, y, w):
        return np.array([weighted_quantile(y, w, 0.5, self.average_quantiles)])

    # a residual of exactly 0 counts as negative (the subgradient +1), as in
    # scikit-learn: the median baseline makes such residuals common
    def gradient_hessian(self, y, raw, w, g, h, n_threads):
        g[:] = np.where(y > raw, -1.0, 1.0)
        if w is not None:
            g *= w
            h[:] = w

    def negative_gradient(self, y, raw):
        return np.where(y > raw, 1.0, -1.0)

    def leaf_value(self, residual, w):
        return weighted_quantile(residual, w, 0.5, self.average_quantiles)

    def __call__(self, y, raw, w=None):
        return _weighted_mean(np.abs(y - raw), w)


class PinballLoss(_Loss):
    """The pinball loss of quantile ``alpha``: alpha (y - f) above f, (1 - alpha)
    (f - y) below; leaves take the weighted alpha-quantile of the residuals."""

    name = "quantile"
    constant_hessian = True
    needs_leaf_update = True

    def __init__(self, alpha):
        self.alpha = float(alpha)

    def baseline(self, y, w):
        return np.array([weighted_quantile(y, w, self.alpha, self.average_quantiles)])

    def gradient_hessian(self, y, raw, w, g, h, n_threads):
        g[:] = np.where(y > raw, -self.alpha, 1.0 - self.alpha)
        if w is not None:
            g *= w
            h[:] = w

    def negative_gradient(self, y, raw):
        return np.where(y > raw, self.alpha, self.alpha - 1.0)

    def leaf_value(self, residual, w):
        return weighted_quantile(residual, w, self.alpha, self.average_quantiles)

    def __call__(self, y, raw, w=None):
        d = y - raw
        return _weighted_mean(np.where(d >= 0, self.alpha * d, (self.alpha - 1.0) * d), w)


class HuberLoss(_Loss):
    """Huber's loss with its threshold ``delta`` re-set every stage to the
    ``alpha``-quantile of the absolute residuals (Friedman 2001, Algorithm 4)."""

    name = "huber"
    needs_leaf_update = True

    def __init__(self, alpha):
        self.alpha = float(alpha)
        self.delta = 1.0

    def set_delta(self, y, raw, w):
        self.delta = weighted_quantile(np.abs(y - raw), w, self.alpha,
                                       self.average_quantiles)

    def baseline(self, y, w):
        return np.array([weighted_quantile(y, w, 0.5, self.average_quantiles)])

    def negative_gradient(self, y, raw):
        d = y - raw
        return np.where(np.abs(d) <= self.delta, d, self.delta * np.sign(d))

    def leaf_value(self, residual, w):
        med = weighted_quantile(residual, w, 0.5, self.average_quantiles)
        d = residual - med
        return med + _weighted_mean(np.sign(d) * np.minimum(self.delta, np.abs(d)), w)

    def __call__(self, y, raw, w=None):
        d = np.abs(y - raw)
        return _weighted_mean(np.where(d <= self.delta, 0.5 * d * d,
                                       self.delta * (d - 0.5 * self.delta)), w)


class PoissonLoss(_Loss):
    """Poisson deviance (halved, up to a constant): exp(f) - y f with f = log(mean)."""

    name = "poisson"

    def baseline(self, y, w):
        return np.array([np.log(max(_weighted_mean(y, w), _EPS))])

    def inverse_link(self, raw):
        return np.exp(raw)

    def gradient_hessian(self, y, raw, w, g, h, n_threads):
        e = np.exp(raw)
        g[:] = e - y
        h[:] = e
        if w is not None:
            g *= w
            h *= w

    def __call__(self, y, raw, w=None):
        return _weighted_mean(np.exp(raw) - y * raw, w)


class GammaLoss(_Loss):
    """Gamma deviance (halved, up to a constant): f + y exp(-f) with f = log(mean)."""

    name = "gamma"

    def baseline(self, y, w):
        return np.array([np.log(_weighted_mean(y, w))])

    def inverse_link(self, raw):
        return np.exp(raw)

    def gradient_hessian(self, y, raw, w, g, h, n_threads):
        e = y * np.exp(-raw)
        g[:] = 1.0 - e
        h[:] = e
        if w is not None:
            g *= w
            h *= w

    def __call__(self, y, raw, w=None):
        return _weighted_mean(raw + y * np.exp(-raw), w)


class BinomialLoss(_Loss):
    """Binary cross-entropy (Definition 3.69 of the notes, Remark 3.51) on the log-odds
    f: log(1 + exp(f)) - y f."""

    name = "log_loss"
    is_classification = True
    score_factor = 2.0

    def baseline(self, y, w):
        p = np.clip(_weighted_mean(y, w), _EPS, 1 - _EPS)
        return np.array([np.log(p / (1 - p))])

    def inverse_link(self, raw):
        p = expit(raw)
        return np.column_stack([1 - p, p])

    def gradient_hessian(self, y, raw, w, g, h, n_threads):
        _hist.logistic_gradient_hessian(y, raw, _w(w), g, h, n_threads)

    def negative_gradient(self, y, raw):
        return y - expit(raw)

    def hessian(self, y, raw):
        p = expit(raw)
        return p * (1 - p)

    def __call__(self, y, raw, w=None):
        return _hist.logistic_loss(np.ascontiguousarray(y, dtype=np.float64),
                                   np.ascontiguousarray(raw, dtype=np.float64), _w(w))


class MultinomialLoss(_Loss):
    """Cross-entropy over K classes (Definition 3.69 of the notes) with one raw score
    per class and p = softmax(raw)."""

    name = "log_loss"
    is_classification = True

    def __init__(self, n_classes):
        self.n_outputs = int(n_classes)

    def baseline(self, y, w):
        counts = np.bincount(y.astype(np.intp), weights=w, minlength=self.n_outputs)
        p = np.clip(counts / counts.sum(), _EPS, 1 - _EPS)
        logp = np.log(p)
        return logp - logp.mean()

    def inverse_link(self, raw):
        return softmax(raw, axis=1)

    def gradient_hessian(self, y, raw, w, g, h, n_threads):
        _hist.softmax_gradient_hessian(y, raw, _w(w), g, h, n_threads)

    def negative_gradients(self, y, raw):
        """(n, K): [y == k] - p_k."""
        g = -softmax(raw, axis=1)
        g[np.arange(y.shape[0]), y.astype(np.intp)] += 1.0
        return g

    def newton_leaf_values_k(self, leaves, n_nodes, y_k, neg_grad, w):
        """Newton step of class k's tree: ``y_k`` is the 0/1 indicator of class k and
        ``neg_grad = y_k - p_k``. Friedman's (K - 1) / K factor (Friedman 2001,
        Algorithm 6) is kept, as in scikit-learn, so the same settings give the same
        model."""
        p = y_k - neg_grad
        num = np.bincount(leaves, weights=w * neg_grad, minlength=n_nodes)
        den = np.bincount(leaves, weights=w * p * (1 - p), minlength=n_nodes)
        return _safe_divide(num * (self.n_outputs - 1) / self.n_outputs, den)

    def __call__(self, y, raw, w=None):
        return _hist.softmax_loss(np.ascontiguousarray(y, dtype=np.float64),
                                  np.asfortranarray(raw, dtype=np.float64), _w(w))


class ExponentialLoss(_Loss):
    """AdaBoost's exponential loss exp(-(2y - 1) f) (Friedman, Hastie & Tibshirani
    2000): a Newton step per leaf gives Real AdaBoost's update."""

    name = "exponential"
    is_classification = True

    def baseline(self, y, w):
        p = np.clip(_weighted_mean(y, w), _EPS, 1 - _EPS)
        return np.array([0.5 * np.log(p / (1 - p))])

    def inverse_link(self, raw):
        p = expit(2.0 * raw)
        return np.column_stack([1 - p, p])

    def negative_gradient(self, y, raw):
        s = 2.0 * y - 1.0
        return s * np.exp(-s * raw)

    def hessian(self, y, raw):
        s = 2.0 * y - 1.0
        return np.exp(-s * raw)

    def __call__(self, y, raw, w=None):
        return _weighted_mean(np.exp(-(2.0 * y - 1.0) * raw), w)


_NO_WEIGHT = np.zeros(0)


def _w(w):
    return _NO_WEIGHT if w is None else w


LOSSES = {
    "squared_error": SquaredError,
    "absolute_error": AbsoluteError,
    "quantile": PinballLoss,
    "huber": HuberLoss,
    "poisson": PoissonLoss,
    "gamma": GammaLoss,
    "exponential": ExponentialLoss,
}
