"""Metric learning: linear maps under which Euclidean distances suit a task."""
from skml.metric_learning._lmnn import LMNN

__all__ = ["LMNN"]
