"""Input checks shared by every estimator (beyond ``sklearn.utils.validation``)."""
import numbers

import numpy as np
from sklearn.utils import check_array

__all__ = ["check_sample_weight"]


def check_sample_weight(sample_weight, n_samples, *, dtype=np.float64, allow_zero_sum=False,
                        copy=True):
    """Per-sample weights as a C-contiguous 1-D array of ``dtype``.

    Parameters
    ----------
    sample_weight : None, float or array-like of shape (n_samples,)
        ``None`` gives ones; a scalar is repeated for every sample.
    n_samples : int
        The number of samples the weights must match.
    dtype : numpy dtype, default=np.float64
        The dtype of the result (float32 for estimators that keep float32 data).
    allow_zero_sum : bool, default=False
        Accept weights that are all zero (an empty fit). By default at least one weight
        must be positive: no model can be fitted to zero total weight.
    copy : bool, default=True
        Always return a new array, so the caller's weights are never modified.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)

    Raises
    ------
    TypeError
        If the weights are not numeric.
    ValueError
        If the shape is not ``(n_samples,)``, or a weight is NaN, infinite or negative,
        or (unless ``allow_zero_sum``) every weight is zero.
    """
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        kind = np.asarray(sample_weight).dtype.kind
        if kind not in "biuf":
            raise TypeError(
                f"sample_weight must be numeric, got an array of dtype "
                f"{np.asarray(sample_weight).dtype}."
            )
    sw = np.asarray(sample_weight)
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {sw.shape}, expected ({n_samples},): one weight per "
            "sample."
        )
    sw = check_array(sw, ensure_2d=False, dtype=dtype, order="C", copy=copy,
                     input_name="sample_weight", ensure_min_samples=0,
                     ensure_all_finite=True)
    if np.any(sw < 0):
        raise ValueError("sample_weight must be non-negative; got negative values.")
    if not allow_zero_sum and n_samples and not np.any(sw > 0):
        raise ValueError(
            "sample_weight must contain at least one positive weight; got all zeros."
        )
    return sw
