"""Ensembles of trees and other estimators: bagging over any estimator (Example 24 of the
notes) and random forests (Definition 3.10), fitted in parallel through joblib."""
from skml.ensemble._bagging import BaggingClassifier, BaggingRegressor
from skml.ensemble._forest import RandomForestClassifier, RandomForestRegressor

__all__ = [
    "BaggingClassifier",
    "BaggingRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
]
