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


@pytest.mark.parametrize("fit_sparse", [False, True])
@pytest.mark.parametrize("neighbours", [dict(n_neighbors=8), dict(n_neighbors=None,
                                                                   radius=0.9)])
def test_isomap_transform_mixes_sparse_and_dense_as_sklearn(fit_sparse, neighbours):
    # Isomap fitted on dense data and given sparse new points (or the reverse) failed in
    # the edge lengths ("'matrix' object has no attribute 'multiply'")
    import scipy.sparse as sp
    from sklearn.manifold import Isomap as SkIsomap

    from skml.manifold import Isomap

    rng = np.random.RandomState(0)
    X = np.where(rng.rand(60, 4) > 0.4, rng.rand(60, 4), 0.0)
    X_new = np.where(rng.rand(6, 4) > 0.4, rng.rand(6, 4), 0.0)
    X_fit = sp.csr_matrix(X) if fit_sparse else X
    X_query = X_new if fit_sparse else sp.csr_matrix(X_new)
    ours = Isomap(n_components=2, **neighbours).fit(X_fit)
    ref = SkIsomap(n_components=2, **neighbours).fit(X)
    Z, Z_ref = ours.transform(X_query), ref.transform(X_new)
    # eigenvectors are defined up to sign: align each column on the reference's
    signs = np.sign(np.sum(ours.embedding_ * ref.embedding_, axis=0))
    np.testing.assert_allclose(Z * signs, Z_ref, atol=1e-6)


def test_forest_member_with_other_classes_is_named_in_the_error():
    # a member refitted on other classes gave "tree 1 has inconsistent node arrays"
    # (scikit-learn: a NumPy broadcasting error)
    from skml.ensemble import RandomForestClassifier
    from skml.tree import DecisionTreeClassifier

    X = np.random.RandomState(0).rand(60, 3)
    y = np.arange(60) % 3
    forest = RandomForestClassifier(3, random_state=0).fit(X, y)
    forest.estimators_[1] = DecisionTreeClassifier(random_state=0).fit(X, y % 2)
    with pytest.raises(ValueError, match=r"tree 1 has 1 outputs of 2 values each, tree 0 "
                                         r"has 1 of 3: every tree of a forest"):
        forest.predict(X)
