"""Linear discriminant analysis: a Gaussian classifier and a supervised projection."""
from skml.discriminant_analysis._lda import LinearDiscriminantAnalysis

__all__ = ["LinearDiscriminantAnalysis"]
