"""Semi-supervised learning: iterative pseudo-labelling around any probabilistic
classifier (H. Dai, "Note on Machine Learning" (preprint), Definitions 3.39-3.40)."""
from skml.semi_supervised._pseudo_label import PseudoLabelClassifier

__all__ = ["PseudoLabelClassifier"]
