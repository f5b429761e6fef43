"""Plain ``torch.nn.Module`` networks behind skml's neural estimators.

Nothing here knows about scikit-learn: each module is an ordinary PyTorch network built
from ``torch.nn`` layers, usable on its own. The estimators in ``skml.neural`` import
these modules only when they build a network (at ``fit`` or unpickling), so importing
``skml.neural`` does not import torch. Every submodule here imports torch at its top.
"""
