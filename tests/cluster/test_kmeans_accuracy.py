"""k-means on data far from the origin, at extreme magnitudes, and with hostile
parameters: every result against an exact float64 reference computed here."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from skml.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus
from tests._layouts import as_layout


def exact_sq(X, C):
    """Squared distances from the differences in float64, computed in units of a power
    of two so that nothing overflows; returned in those units, with the unit."""
    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    top = max(np.abs(X).max(), np.abs(C).max())
    e = int(np.frexp(top)[1]) if top > 0 else 0
    Xs, Cs = np.ldexp(X, -e), np.ldexp(C, -e)
    return ((Xs[:, None, :] - Cs[None]) ** 2).sum(-1), e


def exact_dist(X, C):
    """Euclidean distances, exact to float64 rounding (inf where they exceed the range)."""
    D, e = exact_sq(X, C)
    with np.errstate(over="ignore"):
        return np.ldexp(np.sqrt(D), e)


def assert_nearest(X, C, labels, rtol):
    """Every label is the nearest centre by the exact distances, up to ties within
    ``rtol`` of a typical within-cluster squared distance."""
    D, _ = exact_sq(X, C)
    assert labels.min() >= 0 and labels.max() < C.shape[0]
    best = D.min(axis=1)
    chosen = D[np.arange(len(X)), labels]
    typical = np.mean(best) + np.finfo(np.float64).tiny
    assert np.all(chosen <= best + rtol * (best + typical))


def offset_blobs(offset, dtype, n=1500, seed=0):
    X, _ = make_blobs(n_samples=n, n_features=4, centers=5, cluster_std=1.0,
                      random_state=seed)
    return (X + offset).astype(dtype)


# --- data far from the origin ---------------------------------------------------------


@pytest.mark.parametrize("dtype, offset", [(np.float32, 1e2), (np.float32, 1e4),
                                           (np.float64, 1e6), (np.float64, 1e8)])
def test_offset_data_agree_with_the_float64_computation(dtype, offset):
    X = offset_blobs(offset, dtype)
    X64 = X.astype(np.float64)
    init = X[:5]
    km = KMeans(5, init=init, n_init=1, tol=0).fit(X)
    ref = KMeans(5, init=init.astype(np.float64), n_init=1, tol=0).fit(X64)
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    assert km.n_iter_ == ref.n_iter_
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(km.cluster_centers_, ref.cluster_centers_, rtol=2 * eps)
    C = km.cluster_centers_.astype(np.float64)
    # labels_ are the nearest of the published centres, and predict agrees
    assert_nearest(X64, C, km.labels_, rtol=1e-6)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    D = exact_dist(X64, C)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(km.transform(X), D, rtol=rtol)
    exact_inertia = np.sum(D[np.arange(len(X)), km.labels_] ** 2)
    np.testing.assert_allclose(km.inertia_, exact_inertia, rtol=rtol)
    np.testing.assert_allclose(-km.score(X), exact_inertia, rtol=rtol)
    # the inertia of the float32 run is that of its (rounded) centres: within float32
    # rounding of the float64 run's
    np.testing.assert_allclose(km.inertia_, ref.inertia_, rtol=1e-5)


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_kmeans_plusplus_float32_picks_the_float64_rows(offset):
    X = offset_blobs(offset, np.float32, n=800)
    for seed in range(3):
        c32, i32 = kmeans_plusplus(X, 6, random_state=seed)
        c64, i64 = kmeans_plusplus(X.astype(np.float64), 6, random_state=seed)
        np.testing.assert_array_equal(i32, i64)
        np.testing.assert_array_equal(c32, X[i32])
        assert c32.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_transform_of_the_centres_has_an_exact_zero_diagonal(dtype, offset):
    X = offset_blobs(offset, dtype, n=600)
    km = KMeans(5, n_init=1, random_state=0).fit(X)
    T = km.transform(km.cluster_centers_)
    assert T.dtype == dtype
    assert np.all(np.diag(T) == 0)
    assert np.all(T[~np.eye(5, dtype=bool)] > 0)


def test_minibatch_on_offset_float32_data():
    X = offset_blobs(1e4, np.float32, n=3000)
    mbk = MiniBatchKMeans(5, batch_size=256, random_state=0).fit(X)
    X64 = X.astype(np.float64)
    C = mbk.cluster_centers_.astype(np.float64)
    assert_nearest(X64, C, mbk.labels_, rtol=1e-6)
    np.testing.assert_array_equal(mbk.predict(X), mbk.labels_)
    D = exact_dist(X64, C)
    np.testing.assert_allclose(mbk.inertia_, np.sum(D.min(1) ** 2), rtol=1e-6)
    ref = KMeans(5, n_init=3, random_state=0).fit(X64)
    assert mbk.inertia_ <= 1.05 * ref.inertia_  # the offset costs the batches nothing


# --- magnitudes at which squares overflow or underflow ---------------------------------


def _scaled_blobs():
    X, _ = make_blobs(n_samples=300, n_features=3, centers=4, random_state=0)
    return X / np.abs(X).max()


@pytest.mark.parametrize("dtype, scale", [
    (np.float64, 1e160), (np.float64, 0.9 * np.finfo(np.float64).max),
    (np.float64, 1e-160), (np.float64, 1e-300),
    (np.float32, 1e30), (np.float32, 0.9 * float(np.finfo(np.float32).max)),
    (np.float32, 1e-30),
])
def test_extreme_magnitudes_give_the_unit_scale_clustering(dtype, scale):
    """Squared distances of such data overflow (or underflow) the dtype: labels and
    centres are still those of the same data at unit scale, and the inertia is the
    correctly rounded value (inf only where the true value exceeds float64)."""
    X = _scaled_blobs()
    ref = KMeans(4, n_init=1, random_state=0).fit(X)
    Xs = (X * scale).astype(dtype)
    km = KMeans(4, n_init=1, random_state=0).fit(Xs)
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    np.testing.assert_array_equal(km.predict(Xs), ref.labels_)
    assert np.all(np.isfinite(km.cluster_centers_))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(km.cluster_centers_.astype(np.float64) / scale,
                               ref.cluster_centers_, rtol=rtol, atol=rtol)
    log_inertia = np.log10(ref.inertia_) + 2 * np.log10(scale)
    if log_inertia > np.log10(np.finfo(np.float64).max):
        assert km.inertia_ == np.inf and km.score(Xs) == -np.inf
    elif log_inertia > -300:
        np.testing.assert_allclose(np.log10(km.inertia_), log_inertia, atol=1e-5)
    T = km.transform(Xs)
    D = exact_dist(Xs, km.cluster_centers_)
    top = float(np.finfo(dtype).max)
    finite = D < top * (1 - 1e-6)
    np.testing.assert_allclose(T[finite], D[finite], rtol=rtol)
    assert np.all(np.isinf(T[D > top * (1 + 1e-6)]))
    mbk = MiniBatchKMeans(4, batch_size=64, random_state=0, n_init=1).fit(Xs)
    assert np.all(np.isfinite(mbk.cluster_centers_))
    np.testing.assert_array_equal(mbk.predict(Xs), mbk.labels_)
    assert_nearest(Xs, mbk.cluster_centers_, mbk.labels_, rtol=1e-5)
    _, idx = kmeans_plusplus(Xs, 4, random_state=0)
    np.testing.assert_array_equal(idx, kmeans_plusplus(X, 4, random_state=0)[1])


@settings(max_examples=40, deadline=None)
@given(st.integers(6, 50), st.integers(1, 5), st.integers(1, 4),
       st.sampled_from([np.float32, np.float64]), st.sampled_from([0.0, 1e2, 1e4, 1e8]),
       st.integers(-300, 300), st.sampled_from(["C", "F", "strided", "readonly"]),
       st.booleans(), st.integers(0, 2**31 - 1))
def test_kmeans_results_are_exact_nearest_for_any_input(n, d, k, dtype, offset,
                                                        log_spread, layout, dup, seed):
    """Offsets, magnitudes up to 1e300, ties (duplicate rows), layouts and read-only
    inputs: labels_ and predict are the exact nearest centres, transform and inertia_
    the exact values (to the dtype's rounding), never an index out of range."""
    info = np.finfo(dtype)
    if dtype == np.float32:
        offset = min(offset, 1e4)
        log_spread = int(np.clip(log_spread, -30, 30))
    rng = np.random.RandomState(seed)
    spread = 10.0 ** log_spread
    Z = rng.normal(size=(n, d))
    if dup:
        Z[rng.randint(0, n, n // 2)] = Z[0]
    X = ((offset + Z) * spread).astype(dtype)
    if not np.all(np.isfinite(X)):
        return
    X = as_layout(X, layout)
    X64 = np.asarray(X, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(k, n_init=1, max_iter=5, random_state=seed % 1000).fit(X)
    C = km.cluster_centers_.astype(np.float64)
    assert km.cluster_centers_.dtype == dtype and np.all(np.isfinite(C))
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    assert_nearest(X64, C, km.labels_, rtol)
    pred = km.predict(X)
    assert_nearest(X64, C, pred, rtol)
    D = exact_dist(X64, C)
    T = km.transform(X)
    assert T.dtype == dtype
    ok = (D > info.tiny * 1e3) & (D < info.max * 0.5)
    np.testing.assert_allclose(T[ok], D[ok], rtol=1e-5 if dtype == np.float32 else 1e-10)
    assert np.all(np.diag(km.transform(km.cluster_centers_)) == 0)
    Dsq, e = exact_sq(X64, C)
    inertia_units = Dsq[np.arange(n), km.labels_].sum()
    with np.errstate(over="ignore", under="ignore"):
        expected = np.ldexp(inertia_units, 2 * e)
    # the passes see the data in a centred frame, rounded to the dtype: the inertia may
    # be off by the squares of those roundings
    with np.errstate(over="ignore", under="ignore"):
        atol = n * d * (4 * info.eps * np.abs(X64 - X64.mean(0)).max()) ** 2
    if np.isinf(expected):
        assert km.inertia_ == np.inf
    elif expected > info.tiny * 1e6:
        np.testing.assert_allclose(km.inertia_, expected, atol=atol,
                                   rtol=1e-4 if dtype == np.float32 else 1e-9)


# --- parameters -----------------------------------------------------------------------


def test_reassignment_ratio_above_one_reassigns_all_but_the_heaviest_centre():
    X, _ = make_blobs(n_samples=600, centers=3, random_state=0)
    mbk = MiniBatchKMeans(4, reassignment_ratio=1.5, batch_size=100, random_state=0)
    mbk.fit(X)
    assert np.all(np.isfinite(mbk.cluster_centers_))
    assert mbk.labels_.min() >= 0 and mbk.labels_.max() < 4
    ref = MiniBatchKMeans(4, batch_size=100, random_state=0).fit(X)
    assert mbk.inertia_ <= 2 * ref.inertia_
    for _ in range(3):
        mbk.partial_fit(X[:200])
    assert np.all(np.isfinite(mbk.cluster_centers_))


@pytest.mark.parametrize("Est, params, match", [
    (MiniBatchKMeans, dict(reassignment_ratio=-0.5), r"reassignment_ratio must be in"),
    (MiniBatchKMeans, dict(reassignment_ratio=float("nan")), "reassignment_ratio must not"),
    (MiniBatchKMeans, dict(batch_size=2**63), "batch_size must fit in a 64-bit integer"),
    (MiniBatchKMeans, dict(init_size=0), r"init_size must be in \[1, inf\]"),
    (MiniBatchKMeans, dict(max_no_improvement=-1), "max_no_improvement must be"),
    (MiniBatchKMeans, dict(compute_labels=1), "compute_labels must be a bool"),
    (KMeans, dict(max_iter=2**63), "max_iter must fit in a 64-bit integer"),
    (KMeans, dict(n_clusters=2**31), r"n_clusters must be in \[1, 2147483647\]"),
    (KMeans, dict(n_init=2**64), "n_init must"),
    (KMeans, dict(tol=float("nan")), "tol must not be NaN"),
    (KMeans, dict(copy_x="yes"), "copy_x must be a bool"),
    (KMeans, dict(random_state=-1), "random_state must be"),
    (KMeans, dict(verbose=-1), "verbose must be"),
])
def test_out_of_range_parameters_are_clear_errors(Est, params, match):
    X = np.random.RandomState(0).rand(30, 2)
    with pytest.raises((ValueError, TypeError), match=match):
        Est(n_clusters=params.pop("n_clusters", 2), **params).fit(X)


def test_huge_but_valid_sizes_are_capped_by_the_data():
    X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    mbk = MiniBatchKMeans(3, batch_size=2**62, init_size=2**62, max_iter=2,
                          random_state=0).fit(X)
    assert mbk.n_steps_ <= 2
    km = KMeans(3, max_iter=2**62, random_state=0).fit(X)
    assert km.n_iter_ < 100


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_clusters=0), r"n_clusters must be in \[1, 2147483647\]"),
    (dict(n_clusters=2**31), r"n_clusters must be in \[1, 2147483647\]"),
    (dict(n_clusters=3, n_local_trials=0), r"n_local_trials must be in"),
    (dict(n_clusters=3, n_local_trials=2.5), "n_local_trials must be int"),
    (dict(n_clusters=3, x_squared_norms=np.ones(5)), "length of x_squared_norms 5"),
    (dict(n_clusters=3, sample_weight=-np.ones(20)), "sample_weight must be non-neg"),
])
def test_kmeans_plusplus_arguments_are_checked(kwargs, match):
    X = np.random.RandomState(0).rand(20, 2)
    with pytest.raises((ValueError, TypeError), match=match):
        kmeans_plusplus(X, **kwargs)


def test_float32_fit_is_as_accurate_as_sklearn_float32():
    """Uniform data (the benchmark's shape, smaller), float32: the labels are those of
    the float64 run, and the centres and inertia are at least as close to the float64
    run's as scikit-learn's float32 run is to its own float64 run (with a float32 ulp
    of slack)."""
    from sklearn.cluster import KMeans as SkKMeans

    rng = np.random.RandomState(0)
    X64 = rng.rand(6000, 20)
    X = X64.astype(np.float32)
    init = X[rng.choice(len(X), 16, replace=False)]
    params = dict(n_clusters=16, n_init=1, max_iter=10, tol=0.0)
    km, ref = (KMeans(init=init.astype(dt), **params).fit(X_)
               for dt, X_ in ((np.float32, X), (np.float64, X.astype(np.float64))))
    sk, sk_ref = (SkKMeans(init=init.astype(dt), **params).fit(X_)
                  for dt, X_ in ((np.float32, X), (np.float64, X.astype(np.float64))))
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    assert km.cluster_centers_.dtype == np.float32
    eps = np.finfo(np.float32).eps
    err = np.abs(km.cluster_centers_ - ref.cluster_centers_).max()
    sk_err = np.abs(sk.cluster_centers_ - sk_ref.cluster_centers_).max()
    assert err <= max(sk_err, eps)
    assert err <= eps  # the centres are the float64 run's, rounded once
    assert abs(km.inertia_ - ref.inertia_) <= max(abs(sk.inertia_ - sk_ref.inertia_),
                                                  1e-6 * ref.inertia_)
