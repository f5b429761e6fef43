"""Checks on what the manifold learners hand to their kernels."""
import numpy as np

__all__ = ["check_neighbour_graph"]


def check_neighbour_graph(dist, ind, n_ref, who):
    """Refuse a neighbour list that a kernel would mis-index: every index must name one
    of the ``n_ref`` reference points and every distance must be finite and >= 0.

    The callers hand the search data rescaled to [-1, 1], so this only fails if the
    search itself does (its metric overflowing, e.g. Minkowski with a huge ``p``)."""
    if ind.size and (ind.min() < 0 or ind.max() >= n_ref):
        raise ValueError(
            f"The neighbour search returned an index outside [0, {n_ref}) (a distance "
            f"that overflowed the metric's range); {who} cannot use it.")
    if not np.all(np.isfinite(dist)) or np.any(dist < 0):
        raise ValueError(
            "The neighbour search returned non-finite or negative distances (the metric "
            f"overflowed on this data); {who} cannot use them.")
