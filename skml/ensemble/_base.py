"""Helpers shared by bagging and the forests: seeds, bootstrap draws, the members as a
sequence, progress bars."""
import numbers
import warnings

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skml.utils import check_param

__all__ = ["EnsembleMixin", "bootstrap_indices", "draw_seeds", "n_bootstrap_samples",
           "n_drawn", "progress"]

_MAX_INT = np.iinfo(np.int32).max


def draw_seeds(random_state, n):
    """``n`` integer seeds drawn up front from ``random_state``: member ``i`` always gets
    the same seed, whatever ``n_jobs`` is and whichever worker fits it (and a larger
    ``n`` extends the same sequence, which ``warm_start`` relies on)."""
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


def n_bootstrap_samples(n_samples, max_samples, sample_weight=None):
    """Size of a bootstrap sample (scikit-learn 1.9's rule): ``n_samples`` for None, the
    int itself, or a float times n_samples (times the total sample weight when there is
    one, so that integer weights and repeated rows draw alike); a warning when that
    gives fewer than max(10, n_samples ** (1/3)) samples."""
    if max_samples is None:
        return n_samples
    if isinstance(max_samples, numbers.Integral):
        return int(max_samples)
    total = n_samples if sample_weight is None else float(np.sum(sample_weight))
    n = max(int(max_samples * total), 1)
    if n < max(10, n_samples ** (1 / 3)):
        warnings.warn(f"Using the fractional value max_samples={max_samples} when the "
                      f"{'number of samples' if sample_weight is None else 'total sum of sample weights'}"
                      f" is {total} results in a low number ({n}) of bootstrap samples. "
                      "We recommend passing `max_samples` as an integer instead.",
                      UserWarning)
    return n


def bootstrap_indices(seed, n_samples, n_drawn_samples, sample_weight=None):
    """The bootstrap sample of the member with this seed, and the generator after the
    draw: uniform draws with replacement, or draws with probabilities proportional to
    ``sample_weight`` (regenerated for OOB scores and ``estimators_samples_``)."""
    rs = np.random.RandomState(seed)
    if sample_weight is None:
        return rs.randint(0, n_samples, n_drawn_samples), rs
    p = np.asarray(sample_weight, dtype=np.float64)
    return rs.choice(n_samples, n_drawn_samples, replace=True, p=p / p.sum()), rs


class EnsembleMixin:
    """The fitted members as a sequence: ``len(ens)``, ``ens[i]``, ``iter(ens)`` (as
    scikit-learn's ensembles)."""

    def __len__(self):
        check_is_fitted(self, "estimators_")
        return len(self.estimators_)

    def __getitem__(self, index):
        check_is_fitted(self, "estimators_")
        return self.estimators_[index]

    def __iter__(self):
        check_is_fitted(self, "estimators_")
        return iter(self.estimators_)


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def progress(total, desc, verbose, unit="estimator"):
    """A tqdm progress bar over ``total`` steps when ``verbose >= 1`` and tqdm is
    installed; otherwise an object whose ``update`` / ``close`` do nothing."""
    if not verbose:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is an optional dependency (skml[deep]): no bar then
        return _NoBar()
    return tqdm(total=total, desc=desc, unit=unit)
