"""Kernel methods: Nadaraya-Watson kernel regression (Definition 2.31 of the notes)."""
from skml.kernel_methods._kernel_regression import KernelRegression

__all__ = ["KernelRegression"]
