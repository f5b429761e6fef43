"""Manifold learning: embeddings that preserve distances or neighbourhoods."""
from skml.manifold._isomap import Isomap
from skml.manifold._mds import MDS, ClassicalMDS
from skml.manifold._tsne import TSNE

__all__ = ["ClassicalMDS", "Isomap", "MDS", "TSNE"]
