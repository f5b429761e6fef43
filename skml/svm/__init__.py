"""Support vector machines: kernel SVC and SVR solved by SMO, and LinearSVC.

``SVC`` and ``SVR`` solve the soft-margin (or epsilon-insensitive) dual with sequential
minimal optimisation in the Cython kernel ``skml._kernels._smo``; ``LinearSVC`` fits the
primal hinge or squared-hinge objective of a linear model directly.
"""
from skml.svm._classes import SVC, SVR
from skml.svm._linear import LinearSVC

__all__ = ["LinearSVC", "SVC", "SVR"]
