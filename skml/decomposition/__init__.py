"""Matrix decompositions for dimension reduction: PCA and truncated SVD."""
from skml.decomposition._pca import PCA
from skml.decomposition._truncated_svd import TruncatedSVD

__all__ = ["PCA", "TruncatedSVD"]
