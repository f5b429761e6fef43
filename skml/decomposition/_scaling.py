"""Exact rescaling of data by a power of two, so that squares and sums of squares neither
overflow nor underflow.

Distances, variances and Gram matrices square the data: float64 values beyond ~1e154
(float32: ~1.8e19) overflow to inf, values below ~1e-154 underflow to 0, and an offset
far larger than the spread costs the precision of every difference. The estimators of
``skml.decomposition``, ``skml.manifold``, ``skml.metric_learning``,
``skml.discriminant_analysis`` and ``skml.naive_bayes`` are covariant (or invariant)
under a change of scale, so they compute on ``(X - shift) * 2**-exponent`` and map
their results back. Multiplying by a power of two is exact (barring subnormals), so
data already in a safe range gives the same bits as without rescaling.
"""
import numpy as np
from scipy import sparse

__all__ = ["needs_rescaling", "power_of_two_exponent", "rescale", "rescale_sparse"]

# |values| in [2**-_SAFE_EXP, 2**_SAFE_EXP] can be squared and summed over ~2**400
# terms without overflow or underflow (float64 squares span 2**-1074 .. 2**1024;
# float32 ones 2**-149 .. 2**128).
_SAFE_EXP = 250
_SAFE_EXP_FLOAT32 = 40


def power_of_two_exponent(amax):
    """The exponent e with ``amax * 2**-e`` in [0.5, 1) (0 for 0 or non-finite)."""
    amax = float(amax)
    if amax == 0.0 or not np.isfinite(amax):
        return 0
    return int(np.frexp(amax)[1])


def _abs_max(X):
    """max |x| (NaN if X holds one), without an |X| temporary."""
    values = X.data if sparse.issparse(X) else X
    if values.size == 0:
        return 0.0
    return max(abs(float(values.max())), abs(float(values.min())))


def needs_rescaling(X):
    """Whether the largest |value| of X (dense or sparse) lies outside the range where
    its squares and sums of squares are safe: ``(needed, exponent)``; ``(False, 0)``
    for X with NaN or infinite values (the caller's finiteness check reports them)."""
    amax = _abs_max(X)
    e = power_of_two_exponent(amax)
    limit = _SAFE_EXP if X.dtype == np.float64 else _SAFE_EXP_FLOAT32
    return bool(amax > 0 and abs(e) > limit), e


def rescale_sparse(X, exponent, dtype=None):
    """A copy of the sparse X with its stored values divided by ``2**exponent``."""
    Xs = X.astype(X.dtype if dtype is None else dtype, copy=True)
    Xs.data = np.ldexp(Xs.data, -exponent).astype(Xs.dtype, copy=False)
    return Xs


def rescale(X, *, centre=False, dtype=None):
    """``(Xs, shift, exponent)`` with ``Xs = (X - shift) * 2**-exponent`` and
    ``max|Xs|`` in [0.5, 1) (or all zeros).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or scipy sparse matrix
        Finite data. Sparse input is never centred.
    centre : bool, default=False
        Subtract the per-column midrange ``min/2 + max/2`` first (in the wider of X's
        dtype and ``dtype``: each difference is then exact to the rounding of the
        result, however far the data lies from the origin; float32 data centred into
        float32 keeps only the spread's precision in each coordinate).
    dtype : numpy dtype, default=None
        Dtype of ``Xs`` (X's when None).

    Returns
    -------
    Xs : ndarray or sparse matrix
        A new array (X is never modified).
    shift : ndarray of shape (n_features,) or None
        The subtracted centre (None unless ``centre``).
    exponent : int
        The power of two divided out.
    """
    dtype = X.dtype if dtype is None else np.dtype(dtype)
    if sparse.issparse(X):
        e = power_of_two_exponent(_abs_max(X))
        return rescale_sparse(X, e, dtype), None, e
    shift = None
    if centre and X.shape[0]:
        # half of each first: (min + max) / 2 overflows near the largest float
        shift = (0.5 * X.min(axis=0) + 0.5 * X.max(axis=0)).astype(X.dtype)
        # subtract in the wider dtype: float32 data centred into float64 is exact
        work = np.promote_types(X.dtype, dtype)
        Xs = (X.astype(work, copy=False) - shift.astype(work)).astype(dtype, copy=False)
    else:
        Xs = np.array(X, dtype=dtype, copy=True)
    e = power_of_two_exponent(_abs_max(Xs))
    if e:
        np.ldexp(Xs, -e, out=Xs, casting="unsafe")
    return Xs, shift, e
