"""t-SNE: the kernels against NumPy references, the estimator against scikit-learn on
digits, the edge cases (duplicates, tiny data) and ``transform``."""
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits, make_blobs
from sklearn.manifold import TSNE as SkTSNE
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from skml._kernels import _tsne as K
from skml.manifold import TSNE
from skml.manifold import _tsne as T
from skml.metrics import pairwise_distances


def unsorted_copy(X, seed=0):
    """X (CSR) with the column indices of every row in a random order (same matrix)."""
    X = X.copy()
    rng = np.random.RandomState(seed)
    for i in range(X.shape[0]):
        a, b = X.indptr[i], X.indptr[i + 1]
        perm = rng.permutation(b - a)
        X.indices[a:b] = X.indices[a:b][perm]
        X.data[a:b] = X.data[a:b][perm]
    X.has_sorted_indices = False
    return X


# ---------------------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------------------

def ref_repulsion(Yq, Yr, same):
    """rep_i = sum_j w_ij^2 (y_i - y_j), z_i = sum_j w_ij, all pairs (j != i if same)."""
    diff = Yq[:, None, :] - Yr[None, :, :]
    W = 1.0 / (1.0 + (diff**2).sum(-1))
    if same:
        np.fill_diagonal(W, 0.0)
    return ((W**2)[..., None] * diff).sum(1), W.sum(1)


def ref_attraction(P, Yq, Yr, exaggeration):
    P = P.toarray()
    diff = Yq[:, None, :] - Yr[None, :, :]
    W = 1.0 / (1.0 + (diff**2).sum(-1))
    attr = exaggeration * ((P * W)[..., None] * diff).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(P > 0, P * (np.log(P) - np.log(W)), 0.0).sum(1)
    return attr, kl


def ref_kl(P, Y):
    """KL(P || Q) with exact Q, P dense or sparse."""
    P = P.toarray() if hasattr(P, "toarray") else P
    W = 1.0 / (1.0 + ((Y[:, None] - Y[None]) ** 2).sum(-1))
    np.fill_diagonal(W, 0.0)
    Q = W / W.sum()
    mask = P > 0
    return float((P[mask] * np.log(P[mask] / Q[mask])).sum())


def repulsion(kind, Y, n_threads=2):
    rep, z = np.empty_like(Y), np.empty(len(Y))
    if kind == "exact":
        Z = T._ExactRepulsion(n_threads)(Y, rep, z)
    elif kind == "bh":
        Z = T._BarnesHutRepulsion(0.5, n_threads)(Y, rep, z)
    else:
        Z = T._FFTRepulsion(Y.shape[1], n_threads)(Y, rep, z)
    return rep, z, Z


def rel_err(a, b):
    return np.linalg.norm(a - b, axis=1).mean() / np.linalg.norm(b, axis=1).mean()


# ---------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 30), perplexity=st.floats(1.0, 20.0),
       scale=st.sampled_from([1e-3, 1.0, 1e3]), dtype=st.sampled_from([np.float32,
                                                                          np.float64]),
       seed=st.integers(0, 1000))
def test_binary_search_reaches_the_perplexity(n, k, perplexity, scale, dtype, seed):
    rng = np.random.RandomState(seed)
    D = np.sort(rng.rand(n, k) * scale, axis=1).astype(dtype)
    P = np.empty((n, k))
    K.binary_search_perplexity(D, perplexity, P, np.empty(n), 2)
    assert np.all(np.isfinite(P)) and np.all(P >= 0)
    np.testing.assert_allclose(P.sum(1), 1.0, rtol=1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        H = -np.where(P > 0, P * np.log(P), 0.0).sum(1)
    reachable = perplexity < k * (1 - 1e-3)
    if reachable and scale >= 1.0:  # distinct distances: the target is reachable
        np.testing.assert_allclose(np.exp(H), perplexity, rtol=1e-3)
    # rows stay in the order of their distances
    assert np.all(np.diff(P, axis=1) <= 1e-12)


def test_binary_search_with_identical_distances_is_uniform_not_nan():
    for D in (np.zeros((3, 5)), np.full((3, 5), 7.0)):
        P = np.empty((3, 5))
        K.binary_search_perplexity(D, 2.0, P, np.empty(3), 1)
        np.testing.assert_allclose(P, 0.2)
    P = np.empty((2, 1))  # one neighbour, unreachable perplexity
    K.binary_search_perplexity(np.array([[3.0], [0.0]]), 5.0, P, np.empty(2), 1)
    np.testing.assert_array_equal(P, 1.0)


@pytest.mark.parametrize("dim", [1, 2, 3, 5])
def test_attractive_forces_and_kl_rows_match_numpy(dim):
    from scipy import sparse

    rng = np.random.RandomState(dim)
    P = sparse.random(30, 25, density=0.3, random_state=rng, format="csr")
    P.data /= P.data.sum()
    Yq, Yr = rng.randn(30, dim) * 3, rng.randn(25, dim) * 3
    attr, kl = np.empty_like(Yq), np.empty(30)
    K.attractive_forces(*T._csr_arrays(P, 25), Yq, Yr, 2.5, attr, kl, True, 2)
    ref_a, ref_k = ref_attraction(P, Yq, Yr, 2.5)
    np.testing.assert_allclose(attr, ref_a, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(kl, ref_k, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [1, 2, 17, 200])
def test_exact_and_zero_angle_barnes_hut_repulsion_match_numpy(dim, n):
    rng = np.random.RandomState(n + dim)
    Y = np.ascontiguousarray(rng.randn(n, dim) * 5)
    ref_r, ref_z = ref_repulsion(Y, Y, True)
    rep, z = np.empty_like(Y), np.empty(n)
    K.repulsive_exact(Y, Y, True, rep, z, 2)
    np.testing.assert_allclose(rep, ref_r, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(z, ref_z, rtol=1e-12, atol=1e-14)
    if dim <= 3:
        for leaf_size in (1, 16):
            tree = K.SpaceTree(Y, leaf_size)
            K.repulsive_bh(tree, Y, True, 0.0, rep, z, 2)
            np.testing.assert_allclose(rep, ref_r, rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(z, ref_z, rtol=1e-10, atol=1e-13)
        # queries that are not tree points (transform)
        Q = np.ascontiguousarray(rng.randn(7, dim) * 5)
        ref_r, ref_z = ref_repulsion(Q, Y, False)
        rep, z = np.empty_like(Q), np.empty(7)
        K.repulsive_bh(K.SpaceTree(Y), Q, False, 0.0, rep, z, 2)
        np.testing.assert_allclose(rep, ref_r, rtol=1e-10, atol=1e-13)
        K.repulsive_exact(Q, Y, False, rep, z, 2)
        np.testing.assert_allclose(z, ref_z, rtol=1e-12)


def test_barnes_hut_handles_duplicates_and_collapsed_maps():
    Y = np.zeros((60, 2))
    Y[30:] = [1.0, -2.0]
    ref_r, ref_z = ref_repulsion(Y, Y, True)
    for theta in (0.0, 0.5, 1.0):
        rep, z = np.empty_like(Y), np.empty(60)
        K.repulsive_bh(K.SpaceTree(Y), Y, True, theta, rep, z, 2)
        np.testing.assert_allclose(rep, ref_r, atol=1e-12)
        np.testing.assert_allclose(z, ref_z, rtol=1e-12)
    Y = np.zeros((40, 3))  # every point in one spot
    rep, z = np.empty_like(Y), np.empty(40)
    K.repulsive_bh(K.SpaceTree(Y), Y, True, 0.5, rep, z, 1)
    np.testing.assert_array_equal(rep, 0.0)
    np.testing.assert_array_equal(z, 39.0)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_barnes_hut_error_is_small_at_the_default_angle(dim):
    Y = np.ascontiguousarray(make_blobs(800, dim, centers=5, random_state=0)[0] * 3)
    ref_r, ref_z = ref_repulsion(Y, Y, True)
    rep, z, Z = repulsion("bh", Y)
    assert rel_err(rep, ref_r) < 0.03
    assert abs(Z / ref_z.sum() - 1) < 0.01


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("scale", [0.05, 1.0, 10.0])
def test_fft_interpolation_matches_exact_repulsion(dim, scale):
    """Narrow maps (finer nodes than the default spacing) are near exact; wide ones
    within about 1 %, without bias in Z."""
    Y = np.ascontiguousarray(make_blobs(1500, dim, centers=6, random_state=1)[0] * scale)
    ref_r, ref_z = ref_repulsion(Y, Y, True)
    rep, z, Z = repulsion("fft", Y)
    assert rel_err(rep, ref_r) < (1e-4 if scale < 0.1 else 0.015)
    assert abs(Z / ref_z.sum() - 1) < (1e-5 if scale < 0.1 else 1e-3)


@pytest.mark.parametrize("dim", [1, 2])
def test_fft_with_points_on_grid_lines(dim):
    """Coordinates at exact multiples of the node spacing (the grid's edges sit on
    them): still inside the grid and accurate."""
    g = np.arange(-60, 61) * T._FFT_SPACING
    Y = np.ascontiguousarray(np.stack(np.meshgrid(*[g[::4]] * dim), -1).reshape(-1, dim))
    ref_r, ref_z = ref_repulsion(Y, Y, True)
    rep, z, Z = repulsion("fft", Y)
    assert rel_err(rep, ref_r) < 0.02
    assert abs(Z / ref_z.sum() - 1) < 1e-3


@pytest.mark.parametrize("kind", ["exact", "bh", "fft"])
def test_kernels_give_the_same_bits_for_any_thread_count(kind):
    Y = np.ascontiguousarray(np.random.RandomState(0).randn(3000, 2) * 20)
    a = repulsion(kind, Y, 1)
    b = repulsion(kind, Y, 2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_gradient_step_matches_numpy():
    rng = np.random.RandomState(0)
    Y, attr, rep = rng.randn(3, 50, 2)
    update, gains = rng.randn(50, 2), rng.rand(50, 2) + 0.5
    inv_z = rng.rand(50) + 0.5
    g = 3.0 * (attr - inv_z[:, None] * rep)
    norms = np.linalg.norm(g, axis=1, keepdims=True)
    g_clip = g * np.minimum(1.0, 0.7 / norms)
    new_gains = np.where(update * g_clip < 0, gains + 0.2, gains * 0.8).clip(0.01)
    new_update = 0.6 * update - 2.0 * new_gains * g_clip
    Y_ref = Y + new_update
    grad_sq = np.empty(50)
    K.gradient_step(Y, attr, rep, inv_z, 3.0, 0.6, 2.0, 0.01, 0.7, update, gains, grad_sq, 2)
    np.testing.assert_allclose(Y, Y_ref, rtol=1e-13)
    np.testing.assert_allclose(gains, new_gains, rtol=1e-13)
    np.testing.assert_allclose(grad_sq, (g**2).sum(1), rtol=1e-13)


# ---------------------------------------------------------------------------------------
# Affinities
# ---------------------------------------------------------------------------------------

def test_joint_affinities_are_symmetric_normalised_and_follow_the_knn_graph():
    X = load_digits().data[:300]
    aff = T._Affinities(10.0, 31, "euclidean", None, 2)
    P = aff.fit(X, 31)
    assert abs(P - P.T).max() < 1e-15
    assert np.isclose(P.sum(), 1.0) and P.diagonal().sum() == 0
    # exact squared distances (integer pixels), ties to the smaller index
    D = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    knn = np.argsort(D, axis=1, kind="stable")[:, :31]
    graph = np.zeros((300, 300), bool)
    graph[np.repeat(np.arange(300), 31), knn.ravel()] = True
    np.testing.assert_array_equal(P.toarray() > 0, graph | graph.T)
    # each p_{j|i} row has perplexity 10
    sq, ind = aff._neighbours(X, None, 31, exclude_self=True)
    cond = aff.conditional(sq)
    H = -(cond * np.log(np.maximum(cond, 1e-300))).sum(1)
    np.testing.assert_allclose(np.exp(H), 10.0, rtol=1e-4)


def test_precomputed_distances_give_the_same_affinities():
    X = load_digits().data[:200]
    X = X + np.random.RandomState(0).rand(*X.shape)  # no ties among the neighbours
    a = T._Affinities(8.0, 25, "euclidean", None, 1).fit(X, 25)
    b = T._Affinities(8.0, 25, "precomputed", None, 1).fit(pairwise_distances(X), 25)
    np.testing.assert_allclose(a.toarray(), b.toarray(), atol=1e-9)


# ---------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------

def test_digits_quality_matches_sklearn():
    """Done-when row of issue 7: trustworthiness (k=5) >= sklearn's - 0.005 and final
    KL <= sklearn's + 0.05, default settings on both sides."""
    X = load_digits().data
    ours = TSNE(random_state=0, n_jobs=1).fit(X)
    with threadpool_limits(limits=1, user_api="openmp"):  # one thread each, as ours
        theirs = SkTSNE(random_state=0).fit(X)
    t_ours = trustworthiness(X, ours.embedding_, n_neighbors=5)
    t_theirs = trustworthiness(X, theirs.embedding_, n_neighbors=5)
    assert t_ours >= t_theirs - 0.005, (t_ours, t_theirs)
    assert ours.kl_divergence_ <= theirs.kl_divergence_ + 0.05, (
        ours.kl_divergence_, theirs.kl_divergence_)
    assert ours.n_iter_ == 1000 and ours.embedding_.shape == (1797, 2)


@pytest.fixture(scope="module")
def digits_small():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


@pytest.mark.parametrize("method", ["exact", "barnes_hut", "fft"])
def test_every_method_gives_a_trustworthy_map(digits_small, method):
    X, y = digits_small
    tsne = TSNE(method=method, perplexity=20, early_exaggeration_iter=100, max_iter=300,
                random_state=0).fit(X)
    assert tsne.method_ == method
    assert trustworthiness(X, tsne.embedding_, n_neighbors=5) > 0.97
    assert np.isfinite(tsne.kl_divergence_) and 0 < tsne.kl_divergence_ < 2


def test_kl_divergence_is_the_kl_of_the_final_map(digits_small):
    X, _ = digits_small
    exact = TSNE(method="exact", perplexity=20, max_iter=300, random_state=0).fit(X)
    P = T._Affinities(exact.perplexity_, 61, "euclidean", None, 1).fit(X, 299)
    assert exact.kl_divergence_ == pytest.approx(ref_kl(P, exact.embedding_), rel=1e-10)
    for method in ("barnes_hut", "fft"):  # Z estimated by the method itself
        est = TSNE(method=method, perplexity=20, max_iter=300, random_state=0).fit(X)
        P = T._Affinities(est.perplexity_, 61, "euclidean", None, 1).fit(X, 61)
        assert est.kl_divergence_ == pytest.approx(ref_kl(P, est.embedding_), abs=0.02)


@pytest.mark.parametrize("method", ["exact", "barnes_hut", "fft"])
def test_map_does_not_depend_on_n_jobs(digits_small, method, monkeypatch):
    X, _ = digits_small
    X = X[:200]
    monkeypatch.setattr(T, "_POINTS_PER_THREAD", 50)  # let 200 points use 2 threads
    params = dict(method=method, perplexity=20, early_exaggeration_iter=30, max_iter=60,
                  random_state=1)
    a = TSNE(**params, n_jobs=1).fit(X)
    b = TSNE(**params, n_jobs=2).fit(X)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert a.kl_divergence_ == b.kl_divergence_
    np.testing.assert_array_equal(a.transform(X[:20]), b.transform(X[:20]))


def test_auto_method_and_its_thresholds():
    auto = TSNE(method="auto")
    assert auto._resolve_method(T._AUTO_EXACT_MAX) == "exact"
    assert auto._resolve_method(T._AUTO_EXACT_MAX + 1) == "barnes_hut"
    assert auto._resolve_method(T._AUTO_BH_MAX + 1) == "fft"
    assert TSNE(n_components=3, method="auto")._resolve_method(10**6) == "barnes_hut"
    assert TSNE(n_components=4, method="auto")._resolve_method(10**6) == "exact"
    # the default is scikit-learn's
    assert TSNE().method == SkTSNE().method == "barnes_hut"


@pytest.mark.parametrize("n_components,method", [(1, "barnes_hut"), (1, "fft"),
                                                 (3, "barnes_hut"), (4, "exact")])
def test_other_map_dimensions(n_components, method):
    X, y = make_blobs(200, 10, centers=3, random_state=0)
    tsne = TSNE(n_components, method=method, perplexity=15, early_exaggeration_iter=100,
                max_iter=300, random_state=0).fit(X)
    assert tsne.embedding_.shape == (200, n_components)
    # well separated blobs stay separated: 5-NN in the map agree with the labels
    pred = KNeighborsClassifier(5).fit(tsne.embedding_, y).predict(tsne.embedding_)
    assert np.mean(pred == y) > 0.98


def test_float32_in_float32_out(digits_small):
    X, _ = digits_small
    e32 = TSNE(perplexity=20, early_exaggeration_iter=100, max_iter=300,
               random_state=0).fit_transform(
        X.astype(np.float32))
    assert e32.dtype == np.float32
    assert trustworthiness(X, e32, n_neighbors=5) > 0.97


def test_identical_points_give_a_finite_map_with_a_warning():
    X = np.ones((60, 5))
    for method in ("exact", "barnes_hut", "fft"):
        with pytest.warns(UserWarning, match="identical"):
            tsne = TSNE(perplexity=5, method=method, max_iter=150, random_state=0).fit(X)
        assert np.all(np.isfinite(tsne.embedding_)) and np.isfinite(tsne.kl_divergence_)
        assert np.all(np.isfinite(tsne.transform(X[:3])))


def test_many_duplicates_among_distinct_points():
    X, _ = make_blobs(100, 4, centers=3, random_state=0)
    X = np.vstack([X, np.repeat(X[:3], 40, axis=0)])
    for method in ("barnes_hut", "fft"):
        tsne = TSNE(method=method, perplexity=10, max_iter=150, random_state=0).fit(X)
        assert np.all(np.isfinite(tsne.embedding_)) and np.isfinite(tsne.kl_divergence_)


@pytest.mark.parametrize("n", [2, 3, 10, 40])
def test_small_data_lowers_the_perplexity_with_a_warning(n):
    X = np.random.RandomState(0).randn(n, 3)
    with pytest.warns(UserWarning, match=re.escape(f"too large for {n} samples")):
        tsne = TSNE(max_iter=100, random_state=0).fit(X)
    assert tsne.perplexity_ == pytest.approx(max((n - 1) / 3, 1e-3))
    assert np.all(np.isfinite(tsne.embedding_)) and np.isfinite(tsne.kl_divergence_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning once the perplexity fits
        TSNE(perplexity=(n - 1) / 3, max_iter=50, random_state=0).fit(X)


def test_gradient_norm_does_not_stop_the_run_before_the_map_has_formed():
    X, _ = make_blobs(100, 5, random_state=0)
    tsne = TSNE(perplexity=10, min_grad_norm=1e9, early_exaggeration_iter=100,
                max_iter=1000, random_state=0).fit(X)
    assert tsne.n_iter_ == 100 + T._MIN_ITER_AFTER_EXAGGERATION
    tsne = TSNE(perplexity=10, min_grad_norm=1e9, early_exaggeration_iter=100,
                max_iter=300, random_state=0).fit(X)
    assert tsne.n_iter_ == 300


def test_init_options(digits_small):
    X, _ = digits_small
    X = X[:100]
    init = np.random.RandomState(0).randn(100, 2) * 1e-4
    a = TSNE(init=init, perplexity=10, max_iter=50, random_state=0).fit(X)
    b = TSNE(init=init.copy(), perplexity=10, max_iter=50, random_state=5).fit(X)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)  # the seed is not used
    c = TSNE(init="random", perplexity=10, max_iter=50, random_state=0).fit(X)
    d = TSNE(init="random", perplexity=10, max_iter=50, random_state=0).fit(X)
    np.testing.assert_array_equal(c.embedding_, d.embedding_)
    # PCA start: the first coordinate has standard deviation 1e-4
    Y0 = T._pca_init(X, 2, np.random.RandomState(0))
    assert np.std(Y0[:, 0]) == pytest.approx(1e-4)
    # one feature, two components: the missing column is noise, not zeros
    Y0 = T._pca_init(X[:, 30:31], 2, np.random.RandomState(0))
    assert np.std(Y0[:, 1]) > 0


def test_other_metrics_and_precomputed(digits_small):
    X, y = digits_small
    for metric in ("cosine", "manhattan"):
        tsne = TSNE(metric=metric, perplexity=20, early_exaggeration_iter=100,
                    max_iter=300, random_state=0).fit(X)
        pred = KNeighborsClassifier(5).fit(tsne.embedding_, y).predict(tsne.embedding_)
        assert np.mean(pred == y) > 0.9
    D = pairwise_distances(X)
    tsne = TSNE(metric="precomputed", init="random", perplexity=20,
                early_exaggeration_iter=100, max_iter=300, random_state=0).fit(D)
    pred = KNeighborsClassifier(5).fit(tsne.embedding_, y).predict(tsne.embedding_)
    assert np.mean(pred == y) > 0.9
    # a training point's distances, as a new point: its own fitted spot is nearest
    placed = tsne.transform(D[:20])
    nearest = np.argmin(pairwise_distances(placed, tsne.embedding_), axis=1)
    assert np.mean(nearest == np.arange(20)) >= 0.8
    with pytest.raises(ValueError, match="expecting 300 features"):
        tsne.transform(D[:5, :10])
    tsne = TSNE(metric="minkowski", metric_params={"p": 3}, perplexity=20,
                max_iter=50).fit(X)
    assert np.all(np.isfinite(tsne.embedding_))


# ---------------------------------------------------------------------------------------
# transform
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    idx = np.random.RandomState(0).permutation(len(X))
    tr, te = idx[:800], idx[800:1100]
    tsne = TSNE(random_state=0, max_iter=500).fit(X[tr])
    return tsne, X[tr], y[tr], X[te], y[te]


def test_transform_puts_training_points_near_their_fitted_positions(digits_split):
    tsne, X, _, _, _ = digits_split
    E = tsne.embedding_
    Y = tsne.transform(X[:200])
    shift = np.linalg.norm(Y - E[:200], axis=1)
    # typical distance between a point and its nearest neighbour in the map
    D = pairwise_distances(E[:200], E)
    D[np.arange(200), np.arange(200)] = np.inf
    assert np.median(shift) < np.median(D.min(1))
    assert np.median(shift) < 0.01 * np.ptp(E)
    # the optimisation, not just the start (the neighbours' weighted mean), gets there
    tsne.set_params(transform_max_iter=0)
    try:
        start = np.linalg.norm(tsne.transform(X[:200]) - E[:200], axis=1)
    finally:
        tsne.set_params(transform_max_iter=100)
    assert np.median(shift) < 0.3 * np.median(start)


def test_transform_puts_new_digits_near_their_class(digits_split):
    tsne, X, y, X_new, y_new = digits_split
    Y_new = tsne.transform(X_new)
    map_acc = KNeighborsClassifier(5).fit(tsne.embedding_, y).score(Y_new, y_new)
    input_acc = KNeighborsClassifier(5).fit(X, y).score(X_new, y_new)
    assert map_acc >= input_acc - 0.02 and map_acc > 0.95


def test_transform_by_barnes_hut_agrees_with_all_pairs(digits_split, monkeypatch):
    tsne, _, _, X_new, _ = digits_split
    exact = tsne.transform(X_new[:50])
    monkeypatch.setattr(T, "_TRANSFORM_EXACT_MAX", 0)
    bh = tsne.transform(X_new[:50])
    assert np.median(np.linalg.norm(bh - exact, axis=1)) < 0.005 * np.ptp(exact)


def test_transform_points_do_not_interact(digits_split):
    tsne, _, _, X_new, _ = digits_split
    full = tsne.transform(X_new[:40])
    np.testing.assert_allclose(tsne.transform(X_new[10:20]), full[10:20], rtol=1e-9,
                               atol=1e-9)


def test_transform_in_a_pipeline(digits_split):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _, X, y, X_new, y_new = digits_split
    pipe = make_pipeline(StandardScaler(), TSNE(max_iter=300, random_state=0),
                         KNeighborsClassifier(5)).fit(X[:400], y[:400])
    assert pipe.score(X_new, y_new) > 0.85


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("params,err,msg", [
    (dict(perplexity=0), ValueError, "perplexity must be in"),
    (dict(perplexity="5"), TypeError, "perplexity must be"),
    (dict(early_exaggeration=0.5), ValueError, "early_exaggeration must be in"),
    (dict(learning_rate="fast"), ValueError, "learning_rate must be one of"),
    (dict(learning_rate=0), ValueError, "learning_rate must be in"),
    (dict(max_iter=0), ValueError, "max_iter must be in"),
    (dict(method="bh"), ValueError, "method must be one of"),
    (dict(angle=1.5), ValueError, "angle must be in"),
    (dict(metric="mahalanobis"), ValueError, "metric must be one of"),
    (dict(metric_params={"w": 1}), ValueError, "metric_params accepts only 'p'"),
    (dict(init="spectral"), ValueError, "init must be one of"),
    (dict(n_components=4, method="barnes_hut"), ValueError, "n_components <= 3"),
    (dict(n_components=3, method="fft"), ValueError, "n_components <= 2"),
    (dict(metric="precomputed"), ValueError, 'init="pca" cannot be used'),
    (dict(init=np.zeros((5, 2))), ValueError, "init array must have shape"),
    (dict(n_jobs=0), ValueError, "n_jobs must be None or a non-zero int"),
])
def test_bad_parameters_raise_clear_errors(params, err, msg):
    X = np.random.RandomState(0).randn(30, 4)
    params = {"perplexity": 5, **params}
    with pytest.raises(err, match=re.escape(msg)):
        TSNE(**params).fit(X)


def test_bad_precomputed_input():
    with pytest.raises(ValueError, match="square distance matrix"):
        TSNE(metric="precomputed", init="random").fit(np.ones((5, 4)))
    D = pairwise_distances(np.random.RandomState(0).randn(20, 3))
    D[0, 1] = -1
    with pytest.raises(ValueError, match="non-negative"):
        TSNE(metric="precomputed", init="random").fit(D)


def test_verbose_reports_progress(capsys):
    X, _ = make_blobs(100, 4, random_state=0)
    quiet = TSNE(max_iter=100, perplexity=10, random_state=0).fit(X)
    loud = TSNE(verbose=1, max_iter=100, perplexity=10, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "[t-SNE] affinities of 100 points, 31 neighbours each" in out
    assert "[t-SNE] 100 iterations (barnes_hut), KL divergence" in out
    assert "iteration 100:" not in out  # per-50 lines from verbose=2 on
    np.testing.assert_array_equal(loud.embedding_, quiet.embedding_)
    TSNE(verbose=2, max_iter=100, perplexity=10, random_state=0).fit(X)
    assert "[t-SNE] iteration 100: KL divergence" in capsys.readouterr().out
    TSNE(max_iter=100, perplexity=10, random_state=0).fit(X)
    assert capsys.readouterr() == ("", "")  # nothing on stdout or stderr


# ---------------------------------------------------------------------------------------
# Hostile input: magnitudes, offsets, overflowing metrics, divergence (issue 11)
# ---------------------------------------------------------------------------------------

def ref_joint_affinities(D, perplexity, k):
    """The joint P of a full distance matrix, plainly: each row's k nearest neighbours
    (ties to the smaller index), bisection on beta until the entropy of p_{j|i} is
    log(perplexity) to 1e-10, then (P + P^T) / sum."""
    n = D.shape[0]
    P = np.zeros((n, n))
    for i in range(n):
        d = D[i].astype(np.float64).copy()
        d[i] = np.inf
        nb = np.argsort(d, kind="stable")[:k]
        sq = d[nb] ** 2
        sq = (sq - sq.min()) / max(sq.max() - sq.min(), 1e-300)  # beta is scale-free
        lo, hi = 0.0, 1e300
        for _ in range(400):
            beta = 0.5 * (lo + hi) if hi < 1e300 else max(2 * lo, 1.0)
            p = np.exp(-beta * sq)
            p /= p.sum()
            H = -(p[p > 0] * np.log(p[p > 0])).sum()
            if abs(H - np.log(perplexity)) < 1e-10:
                break
            lo, hi = (beta, hi) if H > np.log(perplexity) else (lo, beta)
        P[i, nb] = p
    P = P + P.T
    return P / P.sum()


@pytest.fixture(scope="module")
def peer_trust_30x3():
    """Trustworthiness of scikit-learn's map of the 30 x 3 data of the next test (0.853;
    one OpenMP thread: its Barnes-Hut threads stall on a busy machine)."""
    X = np.random.RandomState(0).standard_normal((30, 3))
    with threadpool_limits(1, "openmp"):
        peer = SkTSNE(perplexity=2, random_state=0).fit_transform(X)
    return trustworthiness(X, peer, n_neighbors=3)


@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-300])
def test_huge_and_tiny_magnitudes_give_the_affinities_of_the_unscaled_data(
        scale, peer_trust_30x3):
    # issue 11 §1: TSNE(perplexity=2).fit(X * 1e160) aborted the process (squared
    # distances overflowed, the neighbour search returned the sentinel index n)
    X = np.random.RandomState(0).standard_normal((30, 3))
    tsne = TSNE(perplexity=2, random_state=0, method="exact")
    emb = tsne.fit_transform(X * scale)
    assert np.all(np.isfinite(emb)) and np.isfinite(tsne.kl_divergence_)
    # as good a map as scikit-learn's of the unscaled data (the map itself is chaotic in
    # the last digits of P)
    assert trustworthiness(X, emb, n_neighbors=3) > peer_trust_30x3 - 0.05
    aff = T._Affinities(2.0, 7, "euclidean", None, 1)
    P = aff.fit(tsne._normalise(X * scale, fit=False), 7).toarray()
    ref = ref_joint_affinities(pairwise_distances(X), 2.0, 7)
    # the kernel's bisection stops at 1e-5 of the entropy
    np.testing.assert_allclose(P, ref, rtol=1e-3, atol=1e-9)


def test_float32_far_from_the_origin_is_as_trustworthy_as_float64():
    # issue 11 §2: float32 data offset by 1e4 reached trustworthiness 0.86 against 0.98
    X, _ = make_blobs(300, 10, centers=5, random_state=0)
    X32 = (X + 1e4).astype(np.float32)
    e32 = TSNE(random_state=0, max_iter=500).fit_transform(X32)
    e64 = TSNE(random_state=0, max_iter=500).fit_transform(X32.astype(np.float64))
    t32, t64 = (trustworthiness(X, e, n_neighbors=10) for e in (e32, e64))
    assert e32.dtype == np.float32 and t32 > 0.97 and abs(t32 - t64) < 0.005
    # the affinities themselves: float32 search on the offset data = exact ones
    aff = T._Affinities(30.0, 91, "euclidean", None, 1)
    tsne = TSNE(init="random", max_iter=1).fit(X32[:150])
    P32 = aff.fit(tsne._normalise(X32[:150], fit=False), 91).toarray()
    ref = ref_joint_affinities(pairwise_distances(X32[:150].astype(np.float64)), 30.0, 91)
    np.testing.assert_allclose(P32, ref, rtol=2e-3, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(8, 25), d=st.integers(1, 4),
       scale=st.sampled_from([1e-300, 1e-150, 1e-8, 1.0, 1e8, 1e150, 1e300]),
       offset=st.sampled_from([0.0, 1e4, 1e8]), dtype=st.sampled_from(["f4", "f8"]),
       ties=st.booleans(), metric=st.sampled_from(["euclidean", "manhattan"]),
       seed=st.integers(0, 2**31 - 1))
def test_affinities_match_numpy_at_any_magnitude_and_offset(n, d, scale, offset, dtype,
                                                              ties, metric, seed):
    """The affinity pipeline (rescaling, neighbour search, calibration) against the
    plain reference on the unscaled data, for data from 1e-300 to 1e300 in magnitude,
    offsets up to 1e8 times the spread, both dtypes and tied distances."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    if ties:  # a duplicated point: exact ties at distance 0 and between its copies
        X[n // 2] = X[0]
    if dtype == "f4":
        if scale * (1 + offset) > 1e30 or scale < 1e-30:
            return  # not representable in float32
        offset = min(offset, 1e4)
    Xs = (X * scale + offset * scale).astype(dtype)
    # the reference sees the data as stored (float32 rounding included), recentred
    base = (Xs.astype(np.float64) / scale) - offset
    k = min(n - 1, 7)
    tsne = TSNE(perplexity=2.0, metric=metric, init="random", max_iter=1).fit(Xs)
    P = T._Affinities(2.0, k, metric, None, 1).fit(tsne._normalise(Xs, fit=False),
                                                    k).toarray()
    from scipy.spatial.distance import cdist
    D = cdist(base, base, "euclidean" if metric == "euclidean" else "cityblock")
    # rtol: the calibration stops at |H - log(perplexity)| <= 1e-5 (scikit-learn's
    # tolerance); a last-bit change of the data (X * 1e150 is not a power-of-two scaling)
    # can stop the bisection one step apart, moving a p_j|i by up to ~1.5e-3 relative
    np.testing.assert_allclose(P, ref_joint_affinities(D, 2.0, k), rtol=3e-3,
                               atol=1e-4 if dtype == "f4" else 1e-7)


@pytest.mark.parametrize("method", ["exact", "barnes_hut", "fft"])
def test_a_diverging_map_raises_instead_of_crashing(method):
    # issue 11 §5: TSNE(method="fft", learning_rate=1e300) raised "cannot convert float
    # NaN to integer" (and could index the grid out of bounds)
    X = np.random.RandomState(0).standard_normal((100, 3))
    with pytest.raises(FloatingPointError, match="t-SNE diverged"):
        TSNE(method=method, learning_rate=1e300, random_state=0).fit(X)


def test_the_neighbour_graph_is_checked_before_the_kernels_use_it(monkeypatch):
    """A neighbour search that returns the sentinel index n (the bug behind the
    aborts of issue 11) is refused with a clear error."""
    X = np.random.RandomState(0).standard_normal((30, 3))

    def broken(X, Y, k, **kw):
        dist, ind = np.ones((X.shape[0], k)), np.full((X.shape[0], k), X.shape[0])
        return dist, ind

    monkeypatch.setattr(T, "kneighbors_brute", broken)
    with pytest.raises(ValueError, match=r"index outside \[0, 30\)"):
        TSNE(perplexity=2).fit(X)
    monkeypatch.setattr(T, "kneighbors_brute",
                        lambda X, Y, k, **kw: (np.full((len(X), k), np.inf),
                                               np.tile(np.arange(k), (len(X), 1))))
    with pytest.raises(ValueError, match="non-finite or negative distances"):
        TSNE(perplexity=2).fit(X)


def ref_grid_scatter(Y, low, h, centre, N):
    """Cubic B-spline spreading of the charges (1, y - centre), plainly."""
    def weights(u):
        f = np.floor(u).astype(int)
        t = u - f
        b = np.stack([(1 - t) ** 3, 4 - 6 * t**2 + 3 * t**3,
                      1 + 3 * t + 3 * t**2 - 3 * t**3, t**3], -1) / 6
        return f, b
    dim = Y.shape[1]
    W = np.zeros((dim + 1, 1 if dim == 1 else N, N))
    fx, bx = weights((Y[:, 0] - low[0]) / h)
    if dim == 1:
        for i in range(len(Y)):
            for k in range(4):
                W[0, 0, fx[i] - 1 + k] += bx[i, k]
                W[1, 0, fx[i] - 1 + k] += bx[i, k] * (Y[i, 0] - centre[0])
        return W
    fy, by = weights((Y[:, 1] - low[1]) / h)
    for i in range(len(Y)):
        for kx in range(4):
            for ky in range(4):
                w = bx[i, kx] * by[i, ky]
                g = (fx[i] - 1 + kx, fy[i] - 1 + ky)
                W[(0,) + g] += w
                W[(1,) + g] += w * (Y[i, 0] - centre[0])
                W[(2,) + g] += w * (Y[i, 1] - centre[1])
    return W


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 30), dim=st.integers(1, 2), N=st.integers(4, 24),
       spread=st.floats(0.1, 30.0), shift=st.floats(-5.0, 5.0),
       h=st.sampled_from([0.05, 0.5, 1.0, 1e-200, 1e30]), n_threads=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1))
def test_grid_scatter_matches_numpy_or_refuses_points_off_the_grid(n, dim, N, spread,
                                                                   shift, h, n_threads,
                                                                   seed):
    """The grid kernel either spreads exactly like the reference (every stencil inside
    the grid) or raises ValueError: it never writes outside W, whatever the points."""
    rng = np.random.RandomState(seed)
    Y = (rng.uniform(0, spread, (n, dim)) + shift) * h
    low = np.full(dim, 0.0)
    centre = np.full(dim, N * h / 2)
    W = np.empty((dim + 1, 1 if dim == 1 else N, N), dtype=np.float32)
    u = Y / h
    inside = n == 0 or (u.min() >= 1 and u.max() < N - 2)
    if not inside:
        with pytest.raises(ValueError, match="outside the interpolation grid"):
            K.grid_scatter(Y, low, h, centre, W, n_threads)
        return
    K.grid_scatter(Y, low, h, centre, W, n_threads)
    ref = ref_grid_scatter(Y, low, h, centre, N)
    np.testing.assert_allclose(W, ref, rtol=1e-5, atol=1e-5 * max(1.0, n * N * h))


def test_kernels_refuse_mismatched_shapes_and_bad_grids():
    Y = np.random.RandomState(0).rand(10, 2) + 2.0
    low, centre = np.zeros(2), np.full(2, 4.0)
    for W in (np.empty((2, 8, 8), np.float32), np.empty((3, 8, 6), np.float32)):
        with pytest.raises(ValueError, match="W has shape"):
            K.grid_scatter(Y, low, 1.0, centre, W, 1)
    with pytest.raises(ValueError, match="grid spacing"):
        K.grid_scatter(Y, low, np.nan, centre, np.empty((3, 8, 8), np.float32), 1)
    bad = Y.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="outside the interpolation grid"):
        K.grid_scatter(bad, low, 1.0, centre, np.empty((3, 8, 8), np.float32), 1)
    # descend: CSR arrays, buffers and the potential grid are checked before use
    n = len(Y)
    bufs = dict(update=np.zeros_like(Y), gains=np.ones_like(Y), attr=np.empty_like(Y),
                rep=np.empty_like(Y), zrow=np.empty(n), grad_sq=np.empty(n),
                kl_rows=np.empty(n))
    rep = T._FFTRepulsion(2, 1)
    args = rep.prepare(Y)
    indptr = np.zeros(n + 1, np.intp)
    common = dict(do_step=False, coef=4.0, per_point=False, momentum=0.0,
                  learning_rate=0.0, min_gain=0.01, max_grad_norm=0.0, compute_kl=False,
                  n_threads=1)
    with pytest.raises(ValueError, match="CSR arrays do not match"):
        K.descend(Y, Y, True, indptr[:-1], indptr[:0], np.zeros(0), 1.0, **args,
                  **bufs, **common)
    with pytest.raises(ValueError, match="zrow has shape"):
        K.descend(Y, Y, True, indptr, indptr[:0], np.zeros(0), 1.0, **args,
                  **{**bufs, "zrow": np.empty(3)}, **common)
    far = Y * 1e3  # off the grid prepared for Y
    with pytest.raises(ValueError, match="outside the interpolation grid"):
        K.descend(far, far, True, indptr, indptr[:0], np.zeros(0), 1.0, **args, **bufs,
                  **common)
    with pytest.raises(ValueError, match="column index 99 outside"):
        K.attractive_forces(np.array([0, 1] + [1] * (n - 1), np.intp),
                            np.array([99], np.intp), np.ones(1), Y, Y, 1.0,
                            np.empty_like(Y), np.empty(n), False, 1)
    with pytest.raises(ValueError, match="finite coordinates"):
        K.SpaceTree(bad)
    with pytest.raises(ValueError, match="P has shape"):
        K.binary_search_perplexity(np.ones((4, 3)), 2.0, np.empty((4, 2)), np.empty(4), 1)


def test_minkowski_with_a_huge_p_gives_the_exact_affinities():
    # issue 11 §1: TSNE(metric="minkowski", metric_params={"p": 600.0}) on 100 x 3
    # normal data aborted the process (|d|^600 overflowed; the sentinel index n reached
    # the kernels). Waits on the neighbour search computing Minkowski in a scaled form.
    X = np.random.RandomState(0).standard_normal((100, 3))
    tsne = TSNE(metric="minkowski", metric_params={"p": 600.0}, random_state=0)
    emb = tsne.fit_transform(X)
    assert np.all(np.isfinite(emb))
    diff = np.abs(X[:, None, :] - X[None, :, :])
    m = diff.max(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        D = m[..., 0] * np.nan_to_num((diff / m) ** 600.0).sum(axis=2) ** (1 / 600.0)
    k = 91
    P = T._Affinities(30.0, k, "minkowski", {"p": 600.0}, 1).fit(
        tsne._normalise(X, fit=False), k).toarray()
    np.testing.assert_allclose(P, ref_joint_affinities(D, 30.0, k), rtol=1e-3, atol=1e-9)


# ---------------------------------------------------------------------------------------
# Sparse input (issue 14)
# ---------------------------------------------------------------------------------------

def knn_graph_of(D, k, explicit_self=True, shuffle_rows=None):
    """The k-nearest-neighbour graph of a distance matrix as CSR (with the diagonal as
    stored zeros, as KNeighborsTransformer makes it), indices unsorted."""
    from scipy import sparse

    n = D.shape[0]
    off = D + np.diag(np.full(n, np.inf))
    nb = np.argsort(off, axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(n), k)
    cols, vals = nb.ravel(), off[np.arange(n)[:, None], nb].ravel()
    if explicit_self:
        rows = np.concatenate([rows, np.arange(n)])
        cols = np.concatenate([cols, np.arange(n)])
        vals = np.concatenate([vals, np.zeros(n)])
    order = np.random.RandomState(0).permutation(rows.size)
    G = sparse.csr_matrix((vals[order], (rows[order], cols[order])), shape=(n, n))
    G.has_sorted_indices = False
    return G


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_precomputed_sparse_graph_gives_the_map_of_the_dense_matrix(dtype, fmt):
    X, _ = make_blobs(200, 5, random_state=0)
    X[7] = X[3]  # a duplicate: distance 0, stored explicitly in the graph
    D = pairwise_distances(X).astype(dtype)
    np.fill_diagonal(D, 0)
    k = min(199, int(3 * 30.0 + 1))
    G = knn_graph_of(D, k + 5).astype(dtype)
    a = TSNE(metric="precomputed", init="random", random_state=0).fit(G.asformat(fmt))
    b = TSNE(metric="precomputed", init="random", random_state=0).fit(D)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert a.embedding_.dtype == dtype
    # new points: their (sparse) distances to the training points, the same as dense
    np.testing.assert_array_equal(a.transform(G[:10]), b.transform(D[:10]))


def test_precomputed_sparse_graph_errors_as_sklearn():
    D = pairwise_distances(np.random.RandomState(0).randn(60, 3))
    with pytest.raises(TypeError, match='method="exact" does not accept sparse'):
        TSNE(metric="precomputed", init="random", method="exact").fit(knn_graph_of(D, 20))
    with pytest.raises(ValueError, match="16 neighbors per samples are required, but some "
                                         "samples have only 10 neighbors"):
        TSNE(metric="precomputed", init="random", perplexity=5).fit(knn_graph_of(D, 10))
    G = knn_graph_of(D, 20)
    G.data[5] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        TSNE(metric="precomputed", init="random").fit(G)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("density", [0.05, 0.3])
def test_sparse_features_give_the_affinities_and_map_quality_of_the_dense_copy(
        fmt, dtype, density):
    # issue 14: affinities from the sparse neighbour search, never a densified X
    from scipy import sparse

    rng = np.random.RandomState(0)
    X = sparse.random(300, 40, density=density, random_state=rng, format="csr") * 10
    X = X.tolil()
    X[::17] = 0  # empty rows
    X = X.tocsr().astype(dtype)
    X.data[::7] = 0  # explicit zeros
    X = unsorted_copy(X)
    assert not X.has_sorted_indices
    dense = X.toarray()
    k = 91
    sp_fit = TSNE(init="pca", random_state=0).fit(X.asformat(fmt))
    de_fit = TSNE(init="pca", random_state=0).fit(dense)
    Ps = T._Affinities(30.0, k, "euclidean", None, 1).fit(
        sp_fit._normalise(X, fit=False), k).toarray()
    Pd = T._Affinities(30.0, k, "euclidean", None, 1).fit(
        de_fit._normalise(dense, fit=False), k).toarray()
    np.testing.assert_allclose(Ps, Pd, rtol=1e-4 if dtype == np.float32 else 1e-7,
                               atol=1e-9)
    assert sp_fit.embedding_.dtype == dtype
    ts = trustworthiness(dense, sp_fit.embedding_, n_neighbors=10)
    td = trustworthiness(dense, de_fit.embedding_, n_neighbors=10)
    # equal P, but the optimisation amplifies float32 rounding of the sparse and dense
    # sums (differences up to ~0.015 seen): same quality, and far above a random map (~0.51)
    assert abs(ts - td) < 0.03
    assert min(ts, td) > 0.68


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_pca_start_of_sparse_data_is_that_of_its_dense_copy(fmt):
    # the sparse path (skml PCA, component-based signs) started from a mirrored map
    from scipy import sparse

    X = sparse.random(60, 10, density=0.5, random_state=3, format=fmt)
    a = T._pca_init(X, 2, np.random.RandomState(0))
    b = T._pca_init(X.toarray(), 2, np.random.RandomState(0))
    # equal to rounding; the maps that grow from them then differ as chaotically as two
    # runs from last-bit-different starts do (the map quality is tested above)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-15)
