"""Nearest neighbours: k-NN classification and regression, neighbour search, KD-tree.

The search runs either by brute force (the blocked top-k kernel of
:func:`skml.metrics.kneighbors_brute`) or through :class:`KDTree`, a KD-tree in Cython
queried in parallel; ``algorithm="auto"`` picks between them (see the user guide).
"""
from skml.neighbors._classification import KNeighborsClassifier
from skml.neighbors._kd_tree import KDTree
from skml.neighbors._regression import KNeighborsRegressor
from skml.neighbors._unsupervised import NearestNeighbors

__all__ = ["KDTree", "KNeighborsClassifier", "KNeighborsRegressor", "NearestNeighbors"]
