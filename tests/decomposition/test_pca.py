"""PCA against scikit-learn and against the definitions; the covariance kernel against
NumPy."""
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA as SkPCA

from skml.decomposition import PCA
from skml.decomposition._pca import centred_covariance


@pytest.fixture(scope="module")
def digits():
    return load_digits().data


@pytest.mark.parametrize("solver", ["auto", "full", "covariance_eigh"])
def test_digits_components_and_variance_match_sklearn(digits, solver):
    # digits has 64 pixels, some constant: the last directions span a null space where
    # any basis is valid, so compare the 40 leading components (all with distinct
    # eigenvalues).
    ours = PCA(n_components=40, svd_solver=solver).fit(digits)
    ref = SkPCA(n_components=40, svd_solver="full").fit(digits)
    # same deterministic signs, so equal up to rounding, not only up to sign
    np.testing.assert_allclose(ours.components_, ref.components_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_,
                               rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               ref.explained_variance_ratio_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-10)
    np.testing.assert_allclose(ours.mean_, ref.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-8)
    np.testing.assert_allclose(ours.transform(digits), ref.transform(digits), atol=1e-8)


def test_components_are_orthonormal_eigenvectors_of_the_covariance(digits):
    pca = PCA(n_components=10).fit(digits)
    W = pca.components_
    np.testing.assert_allclose(W @ W.T, np.eye(10), atol=1e-12)
    C = np.cov(digits, rowvar=False)
    np.testing.assert_allclose(W @ C @ W.T, np.diag(pca.explained_variance_), atol=1e-8)
    # sign convention: the largest-magnitude entry of each component is positive
    assert np.all(W[np.arange(10), np.abs(W).argmax(axis=1)] > 0)


@pytest.mark.parametrize("solver", ["randomized", "arpack"])
def test_truncated_solvers_match_sklearn_and_the_full_solution(solver):
    rng = np.random.RandomState(0)
    # five strong directions over a weak isotropic rest: a clear spectral gap
    spectrum = np.r_[[10.0, 8.0, 6.0, 4.0, 3.0], np.full(35, 0.1)]
    Q = np.linalg.qr(rng.randn(40, 40))[0]
    X = rng.randn(300, 40) @ np.diag(spectrum) @ Q
    ours = PCA(n_components=5, svd_solver=solver, random_state=0).fit(X)
    ref = SkPCA(n_components=5, svd_solver=solver, random_state=0).fit(X)
    full = PCA(n_components=5, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               ref.explained_variance_ratio_, atol=1e-12)
    np.testing.assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-10)
    np.testing.assert_allclose(ours.components_, full.components_, atol=1e-6)
    np.testing.assert_allclose(ours.fit_transform(X), ref.fit_transform(X), atol=1e-8)


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.99])
def test_variance_fraction_keeps_as_many_components_as_sklearn(digits, fraction):
    ours = PCA(n_components=fraction).fit(digits)
    ref = SkPCA(n_components=fraction).fit(digits)
    assert ours.n_components_ == ref.n_components_
    assert ours.explained_variance_ratio_.sum() > fraction


def test_whitening_and_inverse_transform():
    rng = np.random.RandomState(1)
    X = rng.randn(200, 6) @ rng.randn(6, 6) + 10
    pca = PCA(whiten=True).fit(X)
    Z = pca.transform(X)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(6), atol=1e-10)
    np.testing.assert_allclose(pca.inverse_transform(Z), X, atol=1e-10)
    np.testing.assert_allclose(pca.fit_transform(X), Z, atol=1e-10)
    plain = PCA(n_components=6).fit(X)
    np.testing.assert_allclose(plain.inverse_transform(plain.transform(X)), X, atol=1e-10)


def test_score_samples_match_sklearn():
    rng = np.random.RandomState(2)
    X = rng.randn(150, 8) @ rng.randn(8, 8)
    ours = PCA(n_components=3).fit(X)
    ref = SkPCA(n_components=3).fit(X)
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=1e-9)
    np.testing.assert_allclose(ours.get_covariance(), ref.get_covariance(), atol=1e-10)


@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "randomized"])
def test_float32_is_kept_and_close_to_float64(digits, solver):
    ours = PCA(n_components=5, svd_solver=solver, random_state=0).fit(
        digits.astype(np.float32))
    ref = PCA(n_components=5, svd_solver=solver, random_state=0).fit(digits)
    for name in ("components_", "explained_variance_", "singular_values_", "mean_"):
        assert getattr(ours, name).dtype == np.float32, name
    assert ours.transform(digits.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(ours.components_, ref.components_, atol=2e-4)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_,
                               rtol=1e-4)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, p", [(1, 3), (2, 1), (257, 5), (1000, 17), (3001, 64)])
@pytest.mark.parametrize("n_jobs", [1, 3])
def test_covariance_kernel_matches_numpy(dtype, n, p, n_jobs):
    X = np.random.RandomState(n + p).randn(n, p).astype(dtype)
    mean, C = centred_covariance(X, n_jobs)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(mean, X64.mean(axis=0), atol=1e-12)
    ref = (X64 - X64.mean(axis=0)).T @ (X64 - X64.mean(axis=0)) / max(n - 1, 1)
    np.testing.assert_allclose(C, ref, atol=1e-10)
    np.testing.assert_array_equal(C, C.T)


def test_covariance_kernel_stays_accurate_far_from_the_origin():
    # a mean of 1e8 and unit spread: X^T X - n m m^T would lose every digit; centring
    # each block exactly does not.
    rng = np.random.RandomState(3)
    Z = rng.randn(5000, 4)
    _, C = centred_covariance(Z + 1e8)
    np.testing.assert_allclose(C, np.cov(Z, rowvar=False), atol=1e-6)


@pytest.mark.parametrize("solver", ["auto", "full", "covariance_eigh", "randomized"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_are_refused(solver, bad):
    X = np.random.RandomState(0).randn(100, 5)
    X[3, 2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        PCA(n_components=2, svd_solver=solver).fit(X)


def test_parameter_errors():
    X = np.random.RandomState(0).randn(20, 4)
    with pytest.raises(ValueError, match="n_components=5 must be between 1 and 4"):
        PCA(n_components=5).fit(X)
    with pytest.raises(ValueError, match="between 1 and 3"):
        PCA(n_components=4, svd_solver="arpack").fit(X)
    with pytest.raises(ValueError, match="variance fraction"):
        PCA(n_components=0.5, svd_solver="randomized").fit(X)
    with pytest.raises(ValueError, match="svd_solver must be one of"):
        PCA(svd_solver="magic").fit(X)
    with pytest.raises(ValueError, match="n_components must be an int"):
        PCA(n_components=1.5).fit(X)


def test_covariance_and_pca_do_not_depend_on_n_jobs():
    X = np.random.RandomState(4).randn(20000, 30)
    C1 = centred_covariance(X, 1)[1]
    for n_jobs in (2, 3, 8):
        np.testing.assert_array_equal(centred_covariance(X, n_jobs)[1], C1)
    a = PCA(5, n_jobs=1).fit(X).components_
    b = PCA(5, n_jobs=4).fit(X).components_
    np.testing.assert_array_equal(a, b)
