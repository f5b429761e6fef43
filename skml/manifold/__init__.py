"""Manifold learning: embeddings that preserve distances or neighbourhoods."""
from skml.manifold._isomap import Isomap
from skml.manifold._mds import MDS

__all__ = ["Isomap", "MDS"]
