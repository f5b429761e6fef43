"""Ensembles of trees and other estimators: bagging over any estimator (Example 24 of the
notes), random forests (Definition 3.10) and extremely randomized trees, fitted in
parallel through joblib, and gradient boosting."""
from skml.ensemble._bagging import BaggingClassifier, BaggingRegressor
from skml.ensemble._forest import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from skml.ensemble._gb import GradientBoostingClassifier, GradientBoostingRegressor
from skml.ensemble._hist_gradient_boosting import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)

__all__ = [
    "BaggingClassifier",
    "BaggingRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
]
