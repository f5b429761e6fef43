"""Helpers shared by bagging and the forests: parameter checks, bootstrap draws, seeds."""
import numbers

import numpy as np
from sklearn.utils import check_random_state

from skml.utils import check_param

__all__ = ["draw_seeds", "n_drawn", "bootstrap_counts"]

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


def bootstrap_indices(seed, n_samples, n_drawn_samples):
    """The bootstrap sample of the member with this seed (regenerated for OOB scores)."""
    return np.random.RandomState(seed).randint(0, n_samples, n_drawn_samples)


def bootstrap_counts(seed, n_samples, n_drawn_samples):
    return np.bincount(bootstrap_indices(seed, n_samples, n_drawn_samples),
                       minlength=n_samples)
