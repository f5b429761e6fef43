"""Clustering: k-means (Lloyd's and Elkan's algorithms) and mini-batch k-means.

The assignment and accumulation steps run in the Cython kernel
``skml._kernels._kmeans``; see :doc:`/user_guide/cluster`.
"""
from skml.cluster._kmeans import KMeans, MiniBatchKMeans, k_means, kmeans_plusplus

__all__ = ["KMeans", "MiniBatchKMeans", "k_means", "kmeans_plusplus"]
