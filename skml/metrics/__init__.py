"""Distances and scores: pairwise distances (over the Cython kernels) and reductions;
classification and segmentation scores, the Hausdorff distance, entropies and
divergences, optimal transport and the Frechet (FID) distance of the notes; scorers for
``GridSearchCV``.

The classification scores and losses the notes name that scikit-learn already has are
re-exported from ``sklearn.metrics`` (the same objects).
"""
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    hinge_loss,
    jaccard_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from skml.metrics._classification import (
    negative_predictive_value,
    positive_predictive_value,
    specificity_score,
)
from skml.metrics._detection import mean_average_precision
from skml.metrics._generative import fid_score, frechet_distance
from skml.metrics._information import (
    cross_entropy,
    entropy,
    js_divergence,
    kl_divergence,
    triplet_margin_loss,
)
from skml.metrics._mahalanobis import mahalanobis_distances
from skml.metrics._pairwise import (
    PAIRWISE_METRICS,
    kneighbors_brute,
    pairwise_distances,
    pairwise_distances_argmin_min,
)
from skml.metrics._scorer import get_scorer, get_scorer_names
from skml.metrics._segmentation import dice_score, hausdorff_distance, iou_score
from skml.metrics._transport import (
    optimal_transport,
    sliced_wasserstein,
    wasserstein_1d,
    wasserstein_distance,
)

# Re-exported from sklearn.metrics, where the notes name them (Definitions 3.54-3.60,
# 3.63-3.65, 3.69, 3.71).
_SKLEARN_REEXPORTS = [
    "accuracy_score",
    "confusion_matrix",
    "f1_score",
    "fbeta_score",
    "hinge_loss",
    "jaccard_score",
    "log_loss",
    "mean_absolute_error",
    "mean_squared_error",
    "precision_score",
    "recall_score",
    "roc_auc_score",
    "roc_curve",
]

__all__ = sorted([
    "PAIRWISE_METRICS",
    "cross_entropy",
    "dice_score",
    "entropy",
    "fid_score",
    "frechet_distance",
    "get_scorer",
    "get_scorer_names",
    "hausdorff_distance",
    "iou_score",
    "js_divergence",
    "kl_divergence",
    "kneighbors_brute",
    "mahalanobis_distances",
    "mean_average_precision",
    "negative_predictive_value",
    "optimal_transport",
    "pairwise_distances",
    "pairwise_distances_argmin_min",
    "positive_predictive_value",
    "sliced_wasserstein",
    "specificity_score",
    "triplet_margin_loss",
    "wasserstein_1d",
    "wasserstein_distance",
    *_SKLEARN_REEXPORTS,
])
