"""Deep models trained with PyTorch, used like any other estimator.

Every model here is a scikit-learn estimator built on :class:`NeuralEstimator`, the one
training loop (optimisers, batching, early stopping, device, seeding, ``history_``,
callbacks, pickling). PyTorch is the optional ``deep`` extra (``pip install skml[deep]``):
this package imports without it (and never imports torch by itself), but constructing
an estimator without torch raises an ImportError saying what to install.
"""
from skml.neural._base import NeuralEstimator
from skml.neural.autoencoder import AutoEncoder
from skml.neural.detection import (
    FastRCNNDetector,
    FasterRCNNDetector,
    RCNNDetector,
    batched_nms,
    box_iou,
    clip_boxes,
    decode_boxes,
    encode_boxes,
    generate_anchors,
    nms,
    roi_align,
    roi_pool,
    selective_search,
)
from skml.neural.contrastive import (
    DualEncoder,
    ImageAugmentation,
    RowAugmentation,
    SimCLR,
    TripletEmbedding,
)
from skml.neural.diffusion import DiffusionModel, LatentDiffusion
from skml.neural.few_shot import PrototypicalNetwork
from skml.neural.flow import NormalizingFlow
from skml.neural.gan import GAN, ConditionalGAN
from skml.neural.generative import VAE
from skml.neural.graph import (
    GNNEdgePredictor,
    GNNGraphClassifier,
    GNNGraphRegressor,
    GNNNodeClassifier,
)
from skml.neural.mlp import MLPClassifier, MLPRegressor
from skml.neural.physics import NeuralODE, PINNRegressor
from skml.neural.sequence import TransformerClassifier, TransformerRegressor
from skml.neural.vision import (
    CNNClassifier,
    CNNRegressor,
    FCNSegmenter,
    class_activation_map,
    grad_cam,
)

__all__ = ["AutoEncoder", "CNNClassifier", "CNNRegressor", "ConditionalGAN",
           "DiffusionModel", "DualEncoder", "FCNSegmenter", "FastRCNNDetector",
           "FasterRCNNDetector", "GAN", "GNNEdgePredictor", "GNNGraphClassifier",
           "GNNGraphRegressor", "GNNNodeClassifier", "ImageAugmentation",
           "LatentDiffusion", "MLPClassifier", "MLPRegressor", "MultiHeadSelfAttention",
           "NeuralEstimator", "NeuralODE", "NormalizingFlow", "PINNRegressor",
           "PrototypicalNetwork", "RCNNDetector", "RowAugmentation", "SimCLR",
           "TransformerClassifier", "TransformerRegressor", "TripletEmbedding", "VAE",
           "batched_nms", "box_iou", "class_activation_map", "clip_boxes",
           "decode_boxes", "encode_boxes", "generate_anchors", "grad_cam", "nms",
           "roi_align", "roi_pool", "selective_search"]


def __getattr__(name):
    # torch modules exported here are imported on first access (importing skml.neural
    # never imports torch)
    if name == "MultiHeadSelfAttention":
        from skml.neural import sequence

        return sequence.MultiHeadSelfAttention
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
