"""Nearest neighbours: k-NN and radius classification and regression, neighbour search,
neighbour graphs, KD-tree and ball tree.

The search runs either by brute force (the blocked kernels of :mod:`skml.metrics`) or
through :class:`KDTree` / :class:`BallTree`, trees in Cython queried in parallel;
``algorithm="auto"`` picks between them (see the user guide). Every algorithm ranks
neighbours by the same exact distances, ties by index.
"""
from skml.neighbors._base import VALID_METRICS, VALID_METRICS_SPARSE
from skml.neighbors._classification import (
    KNeighborsClassifier,
    RadiusNeighborsClassifier,
)
from skml.neighbors._graph import (
    KNeighborsTransformer,
    RadiusNeighborsTransformer,
    kneighbors_graph,
    radius_neighbors_graph,
)
from skml.neighbors._kd_tree import BallTree, KDTree
from skml.neighbors._regression import KNeighborsRegressor, RadiusNeighborsRegressor
from skml.neighbors._unsupervised import NearestNeighbors

__all__ = [
    "VALID_METRICS",
    "VALID_METRICS_SPARSE",
    "BallTree",
    "KDTree",
    "KNeighborsClassifier",
    "KNeighborsRegressor",
    "KNeighborsTransformer",
    "NearestNeighbors",
    "RadiusNeighborsClassifier",
    "RadiusNeighborsRegressor",
    "RadiusNeighborsTransformer",
    "kneighbors_graph",
    "radius_neighbors_graph",
]
