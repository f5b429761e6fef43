"""Distances and scores: pairwise distances (over the Cython kernels) and reductions."""
from skml.metrics._mahalanobis import mahalanobis_distances
from skml.metrics._pairwise import (
    PAIRWISE_METRICS,
    kneighbors_brute,
    pairwise_distances,
    pairwise_distances_argmin_min,
)

__all__ = [
    "PAIRWISE_METRICS",
    "kneighbors_brute",
    "mahalanobis_distances",
    "pairwise_distances",
    "pairwise_distances_argmin_min",
]
