"""Probabilities for SVC: Platt's sigmoid on decision values, pairwise coupling.

Platt (1999) maps a binary decision value f to P(y = +1 | f) = 1 / (1 + exp(A f + B)),
with A and B fitted by maximum likelihood on decision values the model did not see while
training (internal cross-validation), against the smoothed targets (N+ + 1)/(N+ + 2) and
1/(N- + 2). The fit is Newton's method with a backtracking line search on the convex
negative log-likelihood, as recommended by Lin, Lin & Weng (2007). skml constrains it to
B = 0 and A < 0, so probabilities increase with the decision value and cross 1/2 on the
decision boundary (see :func:`fit_sigmoid`).

With k > 2 classes the k(k-1)/2 pairwise probabilities r_ij = P(i | i or j, x) are
coupled into one distribution p by the second method of Wu, Lin & Weng (2004): minimise
sum_{i<j} (r_ji p_i - r_ij p_j)^2 subject to sum p = 1, a linear system.
"""
import numpy as np

__all__ = ["fit_sigmoid", "sigmoid_predict", "couple"]

MIN_PROB = 1e-7


def fit_sigmoid(dec, y_pos, *, max_iter=100, min_step=1e-10, eps=1e-5):
    """Fit ``A`` of P(+1 | f) = 1 / (1 + exp(A f)), with ``A < 0`` (and ``B = 0``).

    Platt's maximum-likelihood fit, constrained so the probability is 1/2 exactly where
    the decision value is 0 and strictly increasing in it: ``argmax(predict_proba)`` then
    always agrees with ``predict`` and the probabilities are monotone in
    ``decision_function``. (libsvm fits a free ``B`` and an unconstrained ``A``: on data
    without signal ``A`` can come out positive, and any ``B != 0`` moves the 1/2 level
    away from the decision boundary.) ``A`` is at most ``-1e-6 / max |f|``: with no
    signal in the decision values the probabilities stay within 1e-6 of 1/2 instead of
    turning around.

    Parameters
    ----------
    dec : ndarray of shape (n,)
        Decision values (positive means the positive class).
    y_pos : ndarray of bool, shape (n,)
        True for samples of the positive class.

    Returns
    -------
    A, B : float
        The slope (negative) and ``B = 0.0``.
    """
    dec = np.asarray(dec, dtype=np.float64)
    y_pos = np.asarray(y_pos, dtype=bool)
    n_pos = float(y_pos.sum())
    n_neg = float(y_pos.size - n_pos)
    target = np.where(y_pos, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    scale = float(np.max(np.abs(dec), initial=0.0))
    if not scale > 0 or not np.isfinite(scale):
        return -1.0, 0.0  # no decision values to calibrate on: any negative slope
    A_max = -1e-6 / scale

    def nll(A):
        z = A * dec
        # -[t log P + (1 - t) log(1 - P)] with P = 1 / (1 + e^z)
        return float(np.sum(np.logaddexp(0.0, z) - (1.0 - target) * z))

    A = A_max
    value = nll(A)
    for _ in range(max_iter):
        P = np.exp(-np.logaddexp(0.0, A * dec))  # 1 / (1 + e^z), no overflow
        g = float(dec @ (target - P))             # d nll / d A
        if abs(g) < eps or (A >= A_max and g <= 0):
            break                                 # optimal, or optimal at the bound
        h = float(dec * dec @ (P * (1.0 - P))) + 1e-12
        step = 1.0
        dA = -g / h
        while step >= min_step:
            A_new = min(A + step * dA, A_max)
            new = nll(A_new)
            if new < value + 1e-4 * g * (A_new - A):
                A, value = A_new, new
                break
            step /= 2.0
        else:
            break  # no decrease possible: at the optimum to rounding
    return A, 0.0


def sigmoid_predict(dec, A, B):
    """P(+1 | f) for the fitted sigmoid, clipped away from 0 and 1."""
    z = A * np.asarray(dec, dtype=np.float64) + B
    P = np.exp(-np.logaddexp(0.0, z))
    return np.clip(P, MIN_PROB, 1.0 - MIN_PROB)


def couple(r, n_classes):
    """Class probabilities from pairwise ones.

    ``r`` has shape (n_samples, n_pairs), pairs ordered (0,1), (0,2), ..., (1,2), ...;
    ``r[:, k]`` is P(i | i or j) for the k-th pair (i, j).
    """
    n = r.shape[0]
    if n_classes == 2:
        return np.column_stack([r[:, 0], 1.0 - r[:, 0]])
    R = np.zeros((n, n_classes, n_classes))    # R[s, i, j] = P(i | i or j)
    k = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            R[:, i, j] = r[:, k]
            R[:, j, i] = 1.0 - r[:, k]
            k += 1
    # Q_tt = sum_{j != t} r_jt^2, Q_tj = -r_jt r_tj
    Q = -R.transpose(0, 2, 1) * R
    sq = (R.transpose(0, 2, 1) ** 2).sum(axis=2)   # sum_j R[j, t]^2 (diagonal R is 0)
    idx = np.arange(n_classes)
    Q[:, idx, idx] = sq
    A = np.zeros((n, n_classes + 1, n_classes + 1))
    A[:, :n_classes, :n_classes] = Q
    A[:, :n_classes, n_classes] = 1.0
    A[:, n_classes, :n_classes] = 1.0
    b = np.zeros((n, n_classes + 1, 1))
    b[:, n_classes, 0] = 1.0
    p = np.linalg.solve(A, b)[:, :n_classes, 0]
    p = np.clip(p, 0.0, None)
    return p / p.sum(axis=1, keepdims=True)
