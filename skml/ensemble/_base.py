"""Helpers shared by bagging and the forests: parameter checks, bootstrap draws, seeds."""
import numbers

import numpy as np
from sklearn.utils import check_random_state

from skml.utils import check_param

__all__ = ["draw_seeds", "n_drawn", "draw_bootstrap", "bootstrap_indices"]

_MAX_INT = np.iinfo(np.int32).max


def draw_seeds(random_state, n):
    """``n`` integer seeds drawn up front from ``random_state``: member ``i`` always gets
    the same seed, whatever ``n_jobs`` is and whichever worker fits it."""
    return check_random_state(random_state).randint(_MAX_INT, size=n)


def n_drawn(value, total, name, default_all=True):
    """An int (a count in [1, total]) or a float (a fraction in (0, 1]) -> a count."""
    if value is None and default_all:
        return total
    check_param(value, name, types=(numbers.Integral, numbers.Real))
    if isinstance(value, numbers.Integral):
        check_param(value, name, min_val=1, max_val=total)
        return int(value)
    check_param(value, name, min_val=0.0, max_val=1.0, closed="right")
    return max(1, int(round(value * total, 9)))


_MAX_REDRAWS = 100


def draw_bootstrap(rs, n_samples, n_drawn_samples, sample_weight=None):
    """One bootstrap sample (indices drawn with replacement) from the generator ``rs``,
    drawn again while every drawn sample has zero weight (no member can be fitted to
    zero total weight). Returns (indices, number of redraws); at most 100 redraws."""
    for n_redraws in range(_MAX_REDRAWS + 1):
        idx = rs.randint(0, n_samples, n_drawn_samples)
        if sample_weight is None or np.any(sample_weight[idx] > 0):
            return idx, n_redraws
    raise ValueError(
        f"{_MAX_REDRAWS + 1} bootstrap samples of {n_drawn_samples} drew only samples of "
        "zero weight; give more samples a positive weight or draw more (max_samples).")


def bootstrap_indices(seed, n_samples, n_drawn_samples, n_redraws=0):
    """The bootstrap sample of the member with this seed, which took ``n_redraws``
    redraws (regenerated for OOB scores and ``estimators_samples_``)."""
    rs = np.random.RandomState(seed)
    for _ in range(n_redraws + 1):
        idx = rs.randint(0, n_samples, n_drawn_samples)
    return idx
