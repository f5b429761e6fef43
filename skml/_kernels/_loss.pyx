# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The binary log-loss and its residual in one pass (LogisticRegression's hot loop).

Private and dumb: ``skml.linear_model._logistic`` hands over contiguous float64 arrays of
one length (checked here before the loop). ``binary_logloss_residual`` reads the scores
``z`` and overwrites them with the residual ``w_i (sigmoid(z_i) - y_i)``, so an iteration
of the solvers holds one n-vector where a NumPy expression holds several temporaries (the
memory of a fit on a tall sparse matrix is that of scikit-learn's Cython loss, not more).

The log-loss of one sample, ``log(1 + e^z) - y z``, is evaluated as
``log1p(e^-|z|) + max(z, 0) - y z`` and the sigmoid from the same ``e^-|z|``: no overflow
for any finite ``z`` (H. Dai, "Note on Machine Learning" (preprint), Remark 3.3).
"""
from libc.math cimport exp, fabs, log1p


def binary_logloss_residual(double[::1] z, const double[::1] y, const double[::1] w):
    """``sum_i w_i * loss_i``; ``z`` is overwritten with ``w_i * (sigmoid(z_i) - y_i)``."""
    cdef Py_ssize_t n = z.shape[0], i
    cdef double total = 0.0, zi, e, inv
    if y.shape[0] != n or w.shape[0] != n:
        raise ValueError(f"z, y and w must have one length, got {n}, {y.shape[0]}, "
                         f"{w.shape[0]}")
    with nogil:
        for i in range(n):
            zi = z[i]
            e = exp(-fabs(zi))
            inv = 1.0 / (1.0 + e)
            total += w[i] * (log1p(e) + (zi if zi > 0.0 else 0.0) - y[i] * zi)
            z[i] = w[i] * ((inv if zi >= 0.0 else e * inv) - y[i])
    return total
