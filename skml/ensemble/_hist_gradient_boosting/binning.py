"""Binning: every feature mapped once to at most ``max_bins`` integer codes (uint8), plus
one code (``max_bins``) for missing values.

Numeric features: with at most ``max_bins`` distinct values, one bin per value and the
thresholds are the midpoints between consecutive values; otherwise the thresholds are
weighted quantiles, so that the bins hold about the same weight. The thresholds stay in
float64 (the input's values; never rounded to float32), and a value ``x`` goes to bin
``b`` when ``thresholds[b - 1] < x <= thresholds[b]``: a tree that splits after bin
``b`` predicts with ``x <= thresholds[b]``.

Categorical features: one bin per known category (its rank among the sorted category
values); a value that is not a known category, and NaN, go to the missing-values bin.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from skml._kernels import _hist
from skml.ensemble._gb_losses import weighted_quantile

__all__ = ["BinMapper"]


def _midpoints(values):
    """Thresholds between consecutive sorted distinct ``values``: their midpoint, or the
    lower value where the midpoint rounds onto the upper one (adjacent floats) or
    overflows."""
    lo, hi = values[:-1], values[1:]
    with np.errstate(over="ignore", invalid="ignore"):
        mid = lo / 2 + hi / 2
    bad = ~((lo <= mid) & (mid < hi))
    mid[bad] = lo[bad]
    return mid


def _numeric_thresholds(col, w, max_bins):
    """Sorted thresholds of one numeric column (NaN already removed; ``col`` is a
    private copy, sorted in place)."""
    if w is not None:
        keep = w > 0
        col, w = col[keep], w[keep]
    if col.size == 0:
        return np.zeros(0)
    if w is None:
        col.sort()
        values = col
    else:
        order = np.argsort(col, kind="stable")
        values, w = col[order], w[order]
    new = np.empty(values.size, dtype=bool)
    new[0] = True
    np.not_equal(values[1:], values[:-1], out=new[1:])
    distinct = values[new]
    if distinct.size <= max_bins:
        return _midpoints(distinct)
    # the percentiles exactly as scikit-learn spells them (100 k / max_bins rounds
    # differently, which moves a few quantiles that fall on a sample)
    percentiles = np.linspace(0, 100, num=max_bins + 1)[1:-1]
    if w is None:
        with np.errstate(invalid="ignore"):  # inf - inf between infinite samples
            thr = np.percentile(values, percentiles, method="averaged_inverted_cdf")
    else:
        cum = np.cumsum(w)
        targets = percentiles / 100 * cum[-1]
        idx = np.minimum(np.searchsorted(cum, targets, side="left"), values.size - 1)
        nxt = np.minimum(idx + 1, values.size - 1)
        exact = np.isclose(cum[idx], targets, rtol=1e-12, atol=0.0)
        thr = np.where(exact, 0.5 * (values[idx] + values[nxt]), values[idx])
    thr = np.unique(thr[~np.isnan(thr)])
    # a quantile equal to the largest value would leave an empty last bin
    return thr[thr < distinct[-1]]


class BinMapper:
    """Fit thresholds per feature and map data to bins (see the module docstring).

    Parameters
    ----------
    max_bins : int
        Bins for non-missing values, 2..255; the missing-values bin is ``max_bins``.
    is_categorical : ndarray of bool of shape (n_features,) or None
    subsample : int
        Rows used to compute the quantiles (a uniform draw without replacement when
        there are more).
    random_state : RandomState
    n_threads : int
    """

    def __init__(self, max_bins, is_categorical, subsample, random_state, n_threads):
        self.max_bins = max_bins
        self.is_categorical = is_categorical
        self.subsample = subsample
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, X, sample_weight=None):
        n, p = X.shape
        is_cat = (np.zeros(p, dtype=bool) if self.is_categorical is None
                  else np.asarray(self.is_categorical, dtype=bool))
        rows = None
        if n > self.subsample:
            rows = np.sort(self.random_state.choice(n, self.subsample, replace=False))

        def one(f):
            if is_cat[f]:
                return self._categories(X[:, f], f)
            # one private float64 copy of the column (sorted in place later)
            col = np.array(X[:, f] if rows is None else X[rows, f], dtype=np.float64)
            w = None
            if sample_weight is not None:
                w = sample_weight if rows is None else sample_weight[rows]
            nan = np.isnan(col)
            if nan.any():
                col = col[~nan]
                w = None if w is None else w[~nan]
            return _numeric_thresholds(col, w, self.max_bins)

        if self.n_threads > 1 and p > 1:
            # numpy's sorts release the GIL: features are sorted in parallel
            with ThreadPoolExecutor(max_workers=min(self.n_threads, p)) as pool:
                thresholds = list(pool.map(one, range(p)))
        else:
            thresholds = [one(f) for f in range(p)]
        self.thresholds_ = thresholds
        self.is_categorical_ = is_cat
        self.n_bins_non_missing_ = np.array(
            [t.size if is_cat[f] else t.size + 1 for f, t in enumerate(thresholds)],
            dtype=np.uint32)
        self.missing_bin_ = self.max_bins
        self._flat = np.ascontiguousarray(np.concatenate(
            [np.asarray(t, dtype=np.float64) for t in thresholds] or [np.zeros(0)]))
        self._offsets = np.concatenate(
            [[0], np.cumsum([t.size for t in thresholds])]).astype(np.int64)
        return self

    def _categories(self, column, f):
        """Sorted known categories of categorical feature ``f`` (all rows: a category
        is never lost to the quantile subsample)."""
        col = np.asarray(column, dtype=np.float64)
        col = col[~np.isnan(col)]
        cats = np.unique(col)
        if cats.size and not np.all(np.isfinite(cats)):
            raise ValueError(f"Categorical feature {f} has infinite values; categories "
                             "must be non-negative integer codes.")
        if cats.size and cats[0] < 0:
            raise ValueError(f"Categorical feature {f} has negative values; categories "
                             "must be non-negative integer codes (NaN marks a missing "
                             "value).")
        if cats.size and np.any(cats != np.floor(cats)):
            raise ValueError(f"Categorical feature {f} has non-integer values; "
                             "categories must be non-negative integer codes.")
        if cats.size > self.max_bins:
            raise ValueError(f"Categorical feature {f} has {cats.size} categories, more "
                             f"than max_bins={self.max_bins}; raise max_bins (at most "
                             "255) or merge rare categories.")
        return cats

    def transform(self, X):
        """Bin codes, Fortran-ordered uint8 of the shape of ``X``."""
        X = _as_float(X)
        out = np.empty(X.shape, dtype=np.uint8, order="F")
        _hist.bin_columns(X, self._flat, self._offsets,
                          self.is_categorical_.astype(np.uint8), self.missing_bin_, out,
                          self.n_threads)
        return out

    def bin_threshold_values(self, feature, bin_index):
        """The float64 threshold of a numeric split after ``bin_index``: +inf when every
        non-missing value goes left."""
        thr = self.thresholds_[feature]
        return float(thr[bin_index]) if bin_index < thr.size else np.inf

    def category_codes(self, X, columns):
        """A float copy of ``X`` whose categorical ``columns`` hold the bin code of
        their category, NaN for a value that is not a known category."""
        X = np.array(X, dtype=X.dtype if X.dtype in (np.float32, np.float64) else
                     np.float64, order="C", copy=True)
        for f in columns:
            cats = self.thresholds_[f]
            col = X[:, f].astype(np.float64)
            pos = np.searchsorted(cats, col)
            pos_c = np.minimum(pos, max(cats.size - 1, 0))
            known = (cats.size > 0) & ~np.isnan(col)
            known &= cats[pos_c] == col if cats.size else False
            X[:, f] = np.where(known, pos_c, np.nan)
        return X


def _as_float(X):
    if X.dtype in (np.float32, np.float64):
        return X
    return np.asarray(X, dtype=np.float64)
