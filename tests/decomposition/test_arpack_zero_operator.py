"""ARPACK cannot start on the zero operator (scipy raises 'ARPACK error -9: Starting
vector is zero', scikit-learn's arpack PCA too): PCA and TruncatedSVD with the arpack
solver on data whose centred (PCA) or raw (TruncatedSVD) matrix is zero give what the
full LAPACK SVD gives -- zero singular values -- dense or sparse, float32 or float64.
Found by the sparse-vs-dense hypothesis test of test_pca.py (12x3 CSR of explicit zeros)."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import PCA as SkPCA

from skml.decomposition import PCA, TruncatedSVD


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["dense", "csr", "csc", "explicit zeros"])
@pytest.mark.parametrize("value", [0.0, 3.5])
def test_arpack_pca_of_constant_data_is_the_full_svds(dtype, layout, value):
    dense = np.full((12, 4), value, dtype=dtype)
    if layout == "dense":
        X = dense
    elif layout == "explicit zeros":
        X = sp.csr_matrix((np.zeros(3, dtype), ([0, 5, 7], [1, 2, 0])), shape=(12, 4))
        X = X + sp.csr_matrix(dense) if value else X
    else:
        X = getattr(sp, f"{layout}_matrix")(dense)
    ours = PCA(2, svd_solver="arpack", random_state=0).fit(X)
    full = SkPCA(2, svd_solver="full").fit(dense)
    # a nonzero constant leaves the rounding of its centring (ARPACK then starts)
    atol = (1e-5 if dtype == np.float32 else 1e-12) * max(1.0, value * np.sqrt(12))
    np.testing.assert_allclose(ours.singular_values_, full.singular_values_, atol=atol)
    assert ours.components_.dtype == dtype
    np.testing.assert_allclose(ours.components_ @ ours.components_.T, np.eye(2), atol=1e-6)
    np.testing.assert_allclose(ours.mean_, dense.mean(0), rtol=1e-6)
    np.testing.assert_allclose(ours.transform(X), np.zeros((12, 2), dtype), atol=atol)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_arpack_truncated_svd_of_the_zero_matrix(fmt):
    X = sp.random(10, 5, density=0.3, format=fmt, random_state=0) * 0.0  # stored zeros
    svd = TruncatedSVD(2, algorithm="arpack", random_state=0).fit(X)
    np.testing.assert_array_equal(svd.singular_values_, [0.0, 0.0])
    np.testing.assert_array_equal(svd.transform(X), np.zeros((10, 2)))


@pytest.mark.parametrize("solver", ["arpack", "dense"])
def test_isomap_and_classical_mds_of_identical_points(solver):
    # the double-centred Gram matrix of identical points is zero: a zero embedding
    from skml.manifold import ClassicalMDS, Isomap

    X = np.full((40, 3), 2.0)
    np.testing.assert_array_equal(
        Isomap(n_components=2, eigen_solver=solver).fit_transform(X), np.zeros((40, 2)))
    np.testing.assert_array_equal(ClassicalMDS(n_components=2).fit_transform(X),
                                  np.zeros((40, 2)))
