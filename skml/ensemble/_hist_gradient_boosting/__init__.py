"""Histogram-based gradient boosting: binning (``binning``), leaf-wise tree growth on
native histograms (``grower``), flat-array prediction (``predictor``) and the estimators
(``gradient_boosting``)."""
from skml.ensemble._hist_gradient_boosting.gradient_boosting import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)

__all__ = ["HistGradientBoostingClassifier", "HistGradientBoostingRegressor"]
