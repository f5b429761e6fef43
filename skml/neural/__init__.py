"""Deep models trained with PyTorch, used like any other estimator.

Every model here is a scikit-learn estimator built on :class:`NeuralEstimator`, the one
training loop (optimisers, batching, early stopping, device, seeding, ``history_``,
callbacks, pickling). PyTorch is the optional ``deep`` extra (``pip install skml[deep]``):
this package imports without it (and never imports torch by itself), but constructing
an estimator without torch raises an ImportError saying what to install.
"""
from skml.neural._base import NeuralEstimator
from skml.neural.autoencoder import AutoEncoder
from skml.neural.generative import VAE
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

__all__ = ["AutoEncoder", "CNNClassifier", "CNNRegressor", "FCNSegmenter", "MLPClassifier",
           "MLPRegressor", "MultiHeadSelfAttention", "NeuralEstimator", "NeuralODE", "PINNRegressor", "VAE",
           "TransformerClassifier", "TransformerRegressor", "class_activation_map",
           "grad_cam"]


def __getattr__(name):
    # torch modules exported here are imported on first access (importing skml.neural
    # never imports torch)
    if name == "MultiHeadSelfAttention":
        from skml.neural import sequence

        return sequence.MultiHeadSelfAttention
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
