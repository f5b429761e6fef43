"""PCA against scikit-learn and against the definitions; the covariance kernel against
NumPy."""
import numpy as np
import pytest
import scipy.sparse as sp
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
    with pytest.raises(ValueError, match=r"n_components=5 must be between 0 and min\("
                                         r"n_samples, n_features\)=4 with svd_solver='full'"):
        PCA(n_components=5).fit(X)
    with pytest.raises(ValueError, match=r"n_components=4 must be strictly less than"):
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


# ---------------------------------------------------------------------------------------
# scikit-learn's n_components="mle" and n_components=0 (issue 13)
# ---------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(d=st.integers(2, 15), extra=st.integers(0, 100), rank=st.integers(1, 15),
       noise=st.sampled_from([1e-3, 0.1, 1.0]), seed=st.integers(0, 2**31 - 1))
def test_mle_dimension_is_sklearns_choice(d, extra, rank, noise, seed):
    """Over random spectra of full-rank data (exactly rank-deficient data puts
    eigenvalues at the rounding level, ~1e-14, on either side of the rule's absolute
    1e-15 floor depending on how the covariance was formed)."""
    rng = np.random.RandomState(seed)
    n = d + extra
    rank = min(rank, d)
    X = rng.randn(n, rank) @ rng.randn(rank, d) * 3 + noise * rng.randn(n, d)
    for solver in ("full", "covariance_eigh"):
        ours = PCA("mle", svd_solver=solver).fit(X).n_components_
        assert ours == SkPCA("mle", svd_solver=solver).fit(X).n_components_


@pytest.mark.parametrize("solver", ["auto", "full", "covariance_eigh"])
def test_mle_matches_sklearn(solver):
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4) @ rng.randn(4, 12) + 0.3 * rng.randn(300, 12)
    ours = PCA("mle", svd_solver=solver).fit(X)
    ref = SkPCA("mle", svd_solver=solver).fit(X)
    assert ours.n_components_ == ref.n_components_ == 4
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_,
                               rtol=1e-9)
    np.testing.assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-9)
    # on data scaled to 1e200 the choice is the same
    assert PCA("mle", svd_solver=solver).fit(X * 1e200).n_components_ == 4
    with pytest.raises(ValueError, match="only supported if n_samples >= n_features"):
        PCA("mle").fit(X[:5])
    with pytest.raises(ValueError, match="cannot be a string with svd_solver='arpack'"):
        PCA("mle", svd_solver="arpack").fit(X)


def test_zero_components_is_the_all_noise_model_of_sklearn():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 3) + rng.randn(200, 1) * [3, 4, 5]
    for solver in ("full", "covariance_eigh"):
        ours, ref = PCA(0, svd_solver=solver).fit(X), SkPCA(0, svd_solver=solver).fit(X)
        assert ours.n_components_ == 0 and ours.transform(X).shape == (200, 0)
        np.testing.assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-12)
        np.testing.assert_allclose(ours.score(X), ref.score(X), rtol=1e-12)
    with pytest.raises(ValueError, match=r"must be between 1 and min\(n_samples"):
        PCA(0, svd_solver="randomized").fit(X)


# ---------------------------------------------------------------------------------------
# Sparse input (issue 14): arpack and covariance_eigh by implicit centring
# ---------------------------------------------------------------------------------------

def hostile_sparse(rng, n, p, density, dtype, fmt):
    """A random sparse matrix with explicit zeros, empty rows and unsorted indices."""
    X = sp.random(n, p, density=density, random_state=rng, format="csr",
                  dtype=np.float64) * 10
    X.data -= 5.0
    X = X.tolil()
    X[rng.choice(n, max(1, n // 10), replace=False)] = 0  # empty rows
    X = X.tocsr()
    X.data = X.data.astype(dtype)
    # explicit zeros: stored entries of value 0
    X = sp.csr_matrix((np.concatenate([X.data, np.zeros(3, dtype)]),
                       np.concatenate([X.indices, rng.randint(0, p, 3)]),
                       np.concatenate([X.indptr[:-1], [X.indptr[-1] + 3]])), shape=(n, p))
    for i in range(n):  # unsorted indices within rows
        lo, hi = X.indptr[i], X.indptr[i + 1]
        X.indices[lo:hi] = X.indices[lo:hi][::-1].copy()
        X.data[lo:hi] = X.data[lo:hi][::-1].copy()
    X.has_sorted_indices = False
    return X if fmt == "csr" else X.tocsc()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(12, 60), p=st.integers(3, 25),
       density=st.sampled_from([0.02, 0.1, 0.5]), dtype=st.sampled_from(["f4", "f8"]),
       fmt=st.sampled_from(["csr", "csc"]),
       solver=st.sampled_from(["arpack", "covariance_eigh", "auto"]),
       seed=st.integers(0, 2**31 - 1))
def test_sparse_input_gives_the_dense_copys_pca(n, p, density, dtype, fmt, solver, seed):
    rng = np.random.RandomState(seed)
    X = hostile_sparse(rng, n, p, density, dtype, fmt)
    dense = X.toarray()
    k = min(n, p) - 2
    dense_solver = "arpack" if solver == "auto" else solver
    ours = PCA(k, svd_solver=solver, random_state=0).fit(X)
    ref = PCA(k, svd_solver=dense_solver, random_state=0).fit(dense)
    tol = 2e-3 if dtype == "f4" else 1e-8
    assert ours.components_.dtype == np.dtype(dtype) and ours.n_components_ == k
    scale = max(1.0, float(ref.singular_values_[0]))
    # (covariance_eigh: sigma from sqrt(eigenvalue), ~sqrt(eps) of the largest for the
    # smallest -- sparse or dense alike)
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=tol,
                               atol=max(tol, 1e-7) * scale)
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               ref.explained_variance_ratio_, rtol=tol, atol=tol)
    np.testing.assert_allclose(ours.mean_, ref.mean_, rtol=tol, atol=tol)
    # components are defined up to sign only where singular values are distinct
    distinct = np.diff(ref.singular_values_, append=0) < -1e-3 * scale
    distinct &= np.diff(ref.singular_values_, prepend=np.inf) < -1e-3 * scale
    Z, Zd = ours.transform(X), ref.transform(dense)
    np.testing.assert_allclose(np.abs(Z[:, distinct]), np.abs(Zd[:, distinct]),
                               rtol=tol * 10, atol=tol * 10 * scale)
    np.testing.assert_allclose(ours.transform(X), ours.transform(dense),
                               rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize("solver", ["arpack", "covariance_eigh"])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_matches_sklearn(solver, fmt):
    X = sp.random(400, 60, density=0.05, random_state=0, format=fmt)
    ours = PCA(10, svd_solver=solver, random_state=0).fit(X)
    ref = SkPCA(10, svd_solver=solver, random_state=0).fit(X)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-9)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_,
                               rtol=1e-9)
    np.testing.assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-9)
    np.testing.assert_allclose(ours.fit_transform(X), ref.fit_transform(X), atol=1e-9)


@pytest.mark.parametrize("solver", ["full", "randomized"])
def test_sparse_input_with_other_solvers_raises_sklearns_error(solver):
    X = sp.random(50, 10, density=0.2, random_state=0, format="csr")
    with pytest.raises(TypeError, match='PCA only support sparse inputs with the "arpack" '
                                        'and "covariance_eigh" solvers'):
        PCA(3, svd_solver=solver).fit(X)
