"""The covariance kernel (skml/_kernels/_covariance.pyx) against NumPy, on random shapes,
both dtypes, awkward layouts and duplicate rows."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from skml.decomposition import PCA
from skml.decomposition._pca import centred_covariance
from tests._layouts import as_layout


specs = st.tuples(
    st.integers(1, 300),  # rows (1 included)
    st.integers(1, 12),  # features (1 included)
    st.sampled_from([np.float32, np.float64]),
    st.booleans(),  # duplicate rows
    st.floats(-1e4, 1e4),  # offset of the mean
    st.integers(1, 4),  # threads
    st.integers(0, 2**31 - 1),
)


def reference(X):
    X = X.astype(np.float64)
    Xc = X - X.mean(axis=0)
    return X.mean(axis=0), Xc.T @ Xc / max(X.shape[0] - 1, 1)


@settings(max_examples=60, deadline=None)
@given(specs)
def test_kernel_matches_numpy(spec):
    n, p, dtype, dup, offset, n_jobs, seed = spec
    rng = np.random.RandomState(seed)
    X = (rng.randn(n, p) * rng.uniform(0.1, 10, p) + offset).astype(dtype)
    if dup:
        X[n // 2:] = X[: n - n // 2]
    read_only = np.array(X)
    read_only.setflags(write=False)  # const memoryviews: read-only input must work
    mean, C = centred_covariance(read_only, n_jobs)
    ref_mean, ref_C = reference(X)
    scale = 1.0 + np.abs(X.astype(np.float64)).max() ** 2
    np.testing.assert_allclose(mean, ref_mean, rtol=0, atol=1e-12 * np.sqrt(scale))
    np.testing.assert_allclose(C, ref_C, rtol=0, atol=1e-10 * scale)
    np.testing.assert_array_equal(C, C.T)


@settings(max_examples=30, deadline=None)
@given(specs, st.sampled_from(["C", "F", "strided", "readonly"]))
def test_pca_covariance_solver_matches_full_svd_on_any_layout(spec, kind):
    n, p, dtype, dup, offset, n_jobs, seed = spec
    n = max(n, 2)
    rng = np.random.RandomState(seed)
    X = (rng.randn(n, p) * np.linspace(1, 3, p) + offset).astype(dtype)
    if dup:
        X[n // 2:] = X[: n - n // 2]
    cov = PCA(svd_solver="covariance_eigh", n_jobs=n_jobs).fit(as_layout(X, kind))
    full = PCA(svd_solver="full").fit(X.astype(np.float64))
    assert cov.components_.dtype == dtype
    tol = 1e-3 if dtype == np.float32 else 1e-7
    np.testing.assert_allclose(cov.explained_variance_, full.explained_variance_,
                               rtol=tol, atol=tol * full.explained_variance_[0])
    np.testing.assert_allclose(cov.mean_, full.mean_, rtol=tol, atol=tol)


def test_kernel_across_group_and_chunk_boundaries():
    # chunk = 2**17 // p rows, up to 32 groups: sizes around the boundaries
    p = 64
    chunk = 2**17 // p
    for n in (chunk - 1, chunk, chunk + 1, 3 * chunk + 5):
        X = np.random.RandomState(n).randn(n, p)
        mean, C = centred_covariance(X, 3)
        ref_mean, ref_C = reference(X)
        np.testing.assert_allclose(mean, ref_mean, atol=1e-13)
        np.testing.assert_allclose(C, ref_C, atol=1e-12)
