"""skml: scikit-learn-compatible machine learning.

Classical learners keep their hot loops in Cython kernels (``skml._kernels``); deep models
live in ``skml.neural`` and need the optional ``torch`` dependency. Subpackages are imported
lazily, so ``import skml`` stays cheap and never imports torch.
"""
import importlib

from skml._version import __version__

_SUBPACKAGES = (
    "cluster",
    "datasets",
    "decomposition",
    "discriminant_analysis",
    "ensemble",
    "gaussian_process",
    "kernel_methods",
    "linear_model",
    "manifold",
    "metric_learning",
    "metrics",
    "naive_bayes",
    "neighbors",
    "neural",
    "semi_supervised",
    "svm",
    "tree",
    "utils",
)

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"skml.{name}")
    raise AttributeError(f"module 'skml' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
