"""PCA against scikit-learn and against the definitions; the covariance kernel against
NumPy."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
    with pytest.raises(ValueError, match=r"n_components must be in \(0, 1\), got 1.5"):
        PCA(n_components=1.5).fit(X)


def test_covariance_and_pca_do_not_depend_on_n_jobs():
    X = np.random.RandomState(4).randn(20000, 30)
    C1 = centred_covariance(X, 1)[1]
    for n_jobs in (2, 3, 8):
        np.testing.assert_array_equal(centred_covariance(X, n_jobs)[1], C1)
    a = PCA(5, n_jobs=1).fit(X).components_
    b = PCA(5, n_jobs=4).fit(X).components_
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------
# Hostile input (issue 11)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "randomized", "arpack"])
@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-300])
def test_huge_and_tiny_data_match_sklearn_on_the_unscaled_data(solver, scale):
    # the variances overflowed (ratios NaN at 1e160, all 0 for covariance_eigh; arpack
    # failed to build its factorisation) or underflowed (ratios 0 at 1e-300)
    X = np.random.RandomState(0).standard_normal((60, 4)) + [0.0, 1.0, 2.0, 3.0]
    k = 3
    ours = PCA(k, svd_solver=solver, random_state=0).fit(X * scale)
    ref = SkPCA(k, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-9)
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               ref.explained_variance_ratio_, rtol=1e-9)
    np.testing.assert_allclose(ours.singular_values_ / scale, ref.singular_values_,
                               rtol=1e-9)
    np.testing.assert_allclose(ours.mean_ / scale, ref.mean_, rtol=1e-12)
    with np.errstate(over="ignore", under="ignore"):  # inf / 0 beyond the float range
        expected = ref.explained_variance_ * scale * scale
    np.testing.assert_allclose(ours.explained_variance_, expected, rtol=1e-9)
    np.testing.assert_allclose(ours.transform(X * scale) / scale, ref.transform(X),
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("solver", ["full", "covariance_eigh"])
def test_float32_huge_and_tiny_data(solver):
    X = np.random.RandomState(0).standard_normal((60, 4))
    ref = SkPCA(svd_solver="full").fit(X)
    for scale in (1e30, 1e-30):
        ours = PCA(svd_solver=solver).fit((X * scale).astype(np.float32))
        assert ours.components_.dtype == np.float32
        np.testing.assert_allclose(ours.explained_variance_ratio_,
                                   ref.explained_variance_ratio_, rtol=1e-4)
        np.testing.assert_allclose(np.abs(ours.components_), np.abs(ref.components_),
                                   atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 40), p=st.integers(1, 6),
       scale=st.sampled_from([1e-300, 1e-150, 1e-20, 1.0, 1e20, 1e150, 1e300]),
       offset=st.sampled_from([0.0, 1e3]), dtype=st.sampled_from(["f4", "f8"]),
       solver=st.sampled_from(["full", "covariance_eigh"]), seed=st.integers(0, 2**31 - 1))
def test_ratios_and_components_match_numpy_at_any_magnitude(n, p, scale, offset, dtype,
                                                            solver, seed):
    """PCA (and the covariance kernel under it) against a NumPy SVD of the unscaled,
    centred data, for magnitudes from 1e-300 to 1e300, both dtypes."""
    if dtype == "f4" and not 1e-30 <= scale <= 1e30:
        return
    rng = np.random.RandomState(seed)
    spread = rng.uniform(0.5, 4.0, p)
    X = rng.standard_normal((n, p)) * spread + offset
    Xs = (X * scale).astype(dtype)
    base = Xs.astype(np.float64) / scale  # the data as stored, unscaled
    Xc = base - base.mean(0)
    s = np.linalg.svd(Xc, compute_uv=False)
    ours = PCA(svd_solver=solver).fit(Xs)
    tol = 2e-3 if dtype == "f4" else 1e-7
    ratio = s**2 / np.sum(s**2)
    np.testing.assert_allclose(ours.explained_variance_ratio_, ratio[:ours.n_components_],
                               atol=tol)
    np.testing.assert_allclose(ours.singular_values_.astype(np.float64) / scale,
                               s[:ours.n_components_], rtol=tol, atol=tol * s[0])
