"""Gaussian process regression with composable kernels (``skml.gaussian_process.kernels``)."""
from skml.gaussian_process import kernels
from skml.gaussian_process._gpr import GaussianProcessRegressor

__all__ = ["GaussianProcessRegressor", "kernels"]
