# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The binary log-loss and its residual in one pass (LogisticRegression's hot loop).

Private and dumb: ``skml.linear_model._logistic`` hands over contiguous float64 arrays of
one length (checked here before the loop). ``binary_logloss_residual`` reads the scores
``z`` and overwrites them with the residual ``w_i (sigmoid(z_i) - y_i)``, so an iteration
of the solvers holds one n-vector where a NumPy expression holds several temporaries (the
memory of a fit on a tall sparse matrix is that of scikit-learn's Cython loss, not more).

The log-loss of one sample, ``log(1 + e^z) - y z = y softplus(-z) + (1 - y) softplus(z)``,
is evaluated as ``log1p(e^-|z|) + y max(-z, 0) + (1 - y) max(z, 0)`` and the residual as
``(1 - y) sigmoid(z) - y sigmoid(-z)``, both from the same ``e^-|z|``: no overflow for any
finite ``z``, and no cancellation for labels 0 and 1 (``softplus(z) - z`` at z = 17 kept
only 8 digits of a loss of 4e-8) (H. Dai, "Note on Machine Learning" (preprint),
Remark 3.3).
"""
from libc.math cimport exp, fabs, log1p


def binary_logloss_residual(double[::1] z, const double[::1] y, const double[::1] w):
    """``sum_i w_i * loss_i``; ``z`` is overwritten with ``w_i * (sigmoid(z_i) - y_i)``."""
    cdef Py_ssize_t n = z.shape[0], i
    cdef double total = 0.0, zi, yi, e, inv, sig, sig_neg
    if y.shape[0] != n or w.shape[0] != n:
        raise ValueError(f"z, y and w must have one length, got {n}, {y.shape[0]}, "
                         f"{w.shape[0]}")
    with nogil:
        for i in range(n):
            zi = z[i]
            yi = y[i]
            e = exp(-fabs(zi))
            inv = 1.0 / (1.0 + e)
            if zi >= 0.0:
                sig, sig_neg = inv, e * inv
            else:
                sig, sig_neg = e * inv, inv
            total += w[i] * (log1p(e) + (yi * -zi if zi < 0.0 else 0.0)
                             + ((1.0 - yi) * zi if zi > 0.0 else 0.0))
            z[i] = w[i] * ((1.0 - yi) * sig - yi * sig_neg)
    return total
