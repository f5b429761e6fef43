"""Regression tests of defects found by a hostile review of session 3's changes; each
right value comes from scikit-learn or NumPy."""
import numpy as np
import pytest
import sklearn.gaussian_process.kernels as sk_kernels

import skml.gaussian_process.kernels as kernels


@pytest.mark.parametrize("make", [
    lambda m: m.ConstantKernel(2.0),
    lambda m: m.ConstantKernel(2.0) + m.ConstantKernel(0.5),
    lambda m: m.ConstantKernel(2.0) * m.WhiteKernel(0.1),
])
def test_constant_kernel_gradient_with_y_is_refused_as_sklearn(make):
    # ConstantKernel(X, Y, eval_gradient=True) returned a (n, m, 1) "gradient"; every
    # other kernel (and scikit-learn's ConstantKernel) refuses a gradient with Y
    X, Y = np.zeros((4, 2)), np.ones((3, 2))
    with pytest.raises(ValueError, match="Gradient can only be evaluated when Y is None"):
        make(sk_kernels)(X, Y, eval_gradient=True)
    with pytest.raises(ValueError, match="Gradient can only be evaluated when Y is None"):
        make(kernels)(X, Y, eval_gradient=True)
    # without a gradient, Y still works and agrees with scikit-learn
    np.testing.assert_allclose(make(kernels)(X, Y), make(sk_kernels)(X, Y))
    K, G = make(kernels)(X, eval_gradient=True)
    K_ref, G_ref = make(sk_kernels)(X, eval_gradient=True)
    np.testing.assert_allclose(K, K_ref)
    np.testing.assert_allclose(G, G_ref)
