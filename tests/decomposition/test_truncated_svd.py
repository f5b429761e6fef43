"""TruncatedSVD against scikit-learn and the Eckart–Young theorem."""
import numpy as np
import pytest
import scipy.sparse as sp
from scipy import linalg
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD

from skml.decomposition import TruncatedSVD


def _low_rank_plus_noise(seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(200, 5) @ rng.randn(5, 30) * 3 + 0.01 * rng.randn(200, 30)


@pytest.mark.parametrize("algorithm", ["randomized", "arpack"])
@pytest.mark.parametrize("sparse", [False, True])
def test_matches_sklearn(algorithm, sparse):
    X = _low_rank_plus_noise()
    if sparse:
        X = sp.random(200, 30, density=0.2, format="csr", random_state=0)
    ours = TruncatedSVD(4, algorithm=algorithm, random_state=0)
    ref = SkTruncatedSVD(4, algorithm=algorithm, random_state=0)
    Z, Z_ref = ours.fit_transform(X), ref.fit_transform(X)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-10)
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               ref.explained_variance_ratio_, atol=1e-12)
    np.testing.assert_allclose(Z, Z_ref, atol=1e-10)
    np.testing.assert_allclose(ours.transform(X), Z, atol=1e-12)


@pytest.mark.parametrize("algorithm", ["randomized", "arpack"])
def test_best_rank_k_approximation(algorithm):
    # Eckart–Young: the error of the rank-k approximation is the norm of the singular
    # values left out (no centring: this is the SVD of X itself).
    X = _low_rank_plus_noise(1) + 5.0
    k = 5
    svd = TruncatedSVD(k, algorithm=algorithm, random_state=0).fit(X)
    approx = svd.inverse_transform(svd.transform(X))
    s = linalg.svdvals(X)
    np.testing.assert_allclose(svd.singular_values_, s[:k], rtol=1e-8)
    np.testing.assert_allclose(np.linalg.norm(X - approx), np.sqrt(np.sum(s[k:] ** 2)),
                               rtol=1e-6)


def test_float32_kept_and_errors():
    X = _low_rank_plus_noise().astype(np.float32)
    svd = TruncatedSVD(3, random_state=0).fit(X)
    assert svd.components_.dtype == np.float32
    assert svd.transform(X).dtype == np.float32
    with pytest.raises(ValueError, match="n_components must be in"):
        TruncatedSVD(30, algorithm="arpack").fit(X)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        TruncatedSVD(2, algorithm="lanczos").fit(X)


@pytest.mark.parametrize("algorithm", ["randomized", "arpack"])
@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-300])
@pytest.mark.parametrize("sparse", [False, True])
def test_huge_and_tiny_data_match_sklearn_on_the_unscaled_data(algorithm, scale, sparse):
    # the variances overflowed (ratios NaN at 1e160) or underflowed (0 at 1e-300)
    X = _low_rank_plus_noise()
    ref = SkTruncatedSVD(3, algorithm=algorithm, random_state=0).fit(X)
    Xs = X * scale
    ours = TruncatedSVD(3, algorithm=algorithm, random_state=0).fit(
        sp.csr_matrix(Xs) if sparse else Xs)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               ref.explained_variance_ratio_, rtol=1e-8)
    np.testing.assert_allclose(ours.singular_values_ / scale, ref.singular_values_,
                               rtol=1e-9)
    with np.errstate(over="ignore", under="ignore"):
        expected = ref.explained_variance_ * scale * scale
    np.testing.assert_allclose(ours.explained_variance_, expected, rtol=1e-8)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("density", [0.05, 0.3, 0.8])
@pytest.mark.parametrize("algorithm", ["randomized", "arpack"])
def test_sparse_input_gives_the_dense_copys_decomposition(fmt, dtype, density, algorithm):
    # issue 14: explicit zeros, empty rows and unsorted indices change nothing
    from tests._sparse_cases import awkward_sparse

    X, D = awkward_sparse(150, 25, density, int(density * 10), dtype=dtype, fmt=fmt)
    a = TruncatedSVD(4, algorithm=algorithm, random_state=0)
    b = TruncatedSVD(4, algorithm=algorithm, random_state=0)
    Za, Zb = a.fit_transform(X), b.fit_transform(D)
    tol = 2e-4 if dtype == np.float32 else 1e-9
    scale = float(b.singular_values_[0])
    assert a.components_.dtype == Za.dtype == dtype
    np.testing.assert_allclose(a.singular_values_, b.singular_values_, rtol=tol)
    np.testing.assert_allclose(a.explained_variance_ratio_, b.explained_variance_ratio_,
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(a.components_, b.components_, atol=tol * 10)
    np.testing.assert_allclose(Za, Zb, atol=tol * 10 * scale)
    np.testing.assert_allclose(a.transform(X), b.transform(D), atol=tol * 10 * scale)
    # against the exact SVD of the dense copy
    np.testing.assert_allclose(a.singular_values_,
                               linalg.svdvals(D.astype(np.float64))[:4],
                               rtol=1e-3 if algorithm == "randomized" else tol)
