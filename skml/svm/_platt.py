"""Probabilities for SVC: Platt's sigmoid on decision values, pairwise coupling.

Platt (1999) maps a binary decision value f to P(y = +1 | f) = 1 / (1 + exp(A f + B)),
with A and B fitted by maximum likelihood on decision values the model did not see while
training (internal cross-validation), against the smoothed targets (N+ + 1)/(N+ + 2) and
1/(N- + 2). The fit is Newton's method with a backtracking line search on the convex
negative log-likelihood, as recommended by Lin, Lin & Weng (2007).

With k > 2 classes the k(k-1)/2 pairwise probabilities r_ij = P(i | i or j, x) are
coupled into one distribution p by the second method of Wu, Lin & Weng (2004): minimise
sum_{i<j} (r_ji p_i - r_ij p_j)^2 subject to sum p = 1, a linear system.
"""
import numpy as np

__all__ = ["fit_sigmoid", "sigmoid_predict", "couple"]

MIN_PROB = 1e-7


def fit_sigmoid(dec, y_pos, *, max_iter=100, min_step=1e-10, ridge=1e-12, eps=1e-5):
    """Fit (A, B) of P(+1 | f) = 1 / (1 + exp(A f + B)).

    Parameters
    ----------
    dec : ndarray of shape (n,)
        Decision values (positive means the positive class).
    y_pos : ndarray of bool, shape (n,)
        True for samples of the positive class.
    """
    dec = np.asarray(dec, dtype=np.float64)
    y_pos = np.asarray(y_pos, dtype=bool)
    n_pos = float(y_pos.sum())
    n_neg = float(y_pos.size - n_pos)
    target = np.where(y_pos, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def nll(A, B):
        z = A * dec + B
        # -[t log P + (1 - t) log(1 - P)] with P = 1 / (1 + e^z)
        return float(np.sum(np.logaddexp(0.0, z) - (1.0 - target) * z))

    A, B = 0.0, float(np.log((n_neg + 1.0) / (n_pos + 1.0)))
    value = nll(A, B)
    for _ in range(max_iter):
        z = A * dec + B
        P = np.exp(-np.logaddexp(0.0, z))        # 1 / (1 + e^z), no overflow
        d1 = target - P                          # d nll / d z
        gA, gB = float(dec @ d1), float(d1.sum())
        if abs(gA) < eps and abs(gB) < eps:
            break
        w = P * (1.0 - P)
        h11 = float(dec * dec @ w) + ridge
        h22 = float(w.sum()) + ridge
        h21 = float(dec @ w)
        det = h11 * h22 - h21 * h21
        dA = -(h22 * gA - h21 * gB) / det
        dB = -(-h21 * gA + h11 * gB) / det
        slope = gA * dA + gB * dB
        step = 1.0
        while step >= min_step:
            new = nll(A + step * dA, B + step * dB)
            if new < value + 1e-4 * step * slope:
                A, B, value = A + step * dA, B + step * dB, new
                break
            step /= 2.0
        else:
            break  # no decrease possible: at the optimum to rounding
    return A, B


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
