"""Deep models trained with PyTorch, used like any other estimator.

Every model here is a scikit-learn estimator built on :class:`NeuralEstimator`, the one
training loop (optimisers, batching, early stopping, device, seeding, ``history_``,
callbacks, pickling). PyTorch is the optional ``deep`` extra (``pip install skml[deep]``):
this package imports without it (and never imports torch by itself), but constructing
an estimator without torch raises an ImportError saying what to install.
"""
from skml.neural._base import NeuralEstimator
from skml.neural.autoencoder import AutoEncoder
from skml.neural.diffusion import DiffusionModel, LatentDiffusion
from skml.neural.generative import VAE
from skml.neural.mlp import MLPClassifier, MLPRegressor
from skml.neural.physics import NeuralODE, PINNRegressor
from skml.neural.vision import (
    CNNClassifier,
    CNNRegressor,
    FCNSegmenter,
    class_activation_map,
    grad_cam,
)

__all__ = ["AutoEncoder", "CNNClassifier", "CNNRegressor", "DiffusionModel", "FCNSegmenter",
           "LatentDiffusion", "MLPClassifier", "MLPRegressor", "NeuralEstimator", "NeuralODE",
           "PINNRegressor", "VAE", "class_activation_map", "grad_cam"]
