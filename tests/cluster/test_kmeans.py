"""KMeans and MiniBatchKMeans: agreement with scikit-learn, the documented rules, errors."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import load_digits, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from skml.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus


def _pair(init, **params):
    params = dict(n_clusters=len(init), init=init, n_init=1, **params)
    return KMeans(**params), SkKMeans(**params)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("weighted", [False, True])
def test_same_labels_and_inertia_as_sklearn_on_blobs(seed, weighted):
    X, _ = make_blobs(n_samples=3000, n_features=6, centers=7, cluster_std=2.5,
                      random_state=seed)
    rng = np.random.RandomState(seed)
    init = X[rng.choice(len(X), 7, replace=False)]
    sw = rng.uniform(0.2, 3, len(X)) if weighted else None
    # tol=0: both run to label convergence (with tol > 0 the stopping rules differ)
    ours, theirs = (est.fit(X, sample_weight=sw) for est in _pair(init, tol=0))
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    assert abs(ours.inertia_ - theirs.inertia_) <= 1e-6 * theirs.inertia_
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10,
                               atol=1e-10)
    # the default tol: sklearn's rule, the same stopping iteration (drop-in n_iter_)
    for algorithm in ("lloyd", "elkan"):
        ours, theirs = (est.set_params(algorithm=algorithm).fit(X, sample_weight=sw)
                        for est in _pair(init))
        assert ours.n_iter_ == theirs.n_iter_
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        assert abs(ours.inertia_ - theirs.inertia_) <= 1e-9 * theirs.inertia_


@pytest.mark.parametrize("seed", range(5))
def test_same_labels_and_inertia_as_sklearn_on_digits(seed):
    X, _ = load_digits(return_X_y=True)
    init = X[np.random.RandomState(seed).choice(len(X), 10, replace=False)]
    ours, theirs = (est.fit(X) for est in _pair(init, tol=0))
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    assert abs(ours.inertia_ - theirs.inertia_) <= 1e-6 * theirs.inertia_


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_benchmark_setting_same_n_iter_and_inertia_as_sklearn(dtype):
    # the benchmark's setting at a smaller size: uniform data never converges, so both
    # run all max_iter iterations
    rng = np.random.RandomState(0)
    X = rng.rand(20_000, 20).astype(dtype)
    init = X[rng.choice(len(X), 16, replace=False)]
    ours, theirs = (est.fit(X) for est in _pair(init, max_iter=30, tol=0))
    assert ours.n_iter_ == theirs.n_iter_ == 30
    assert ours.cluster_centers_.dtype == dtype
    rtol = 1e-6 if dtype == np.float64 else 2e-5  # sklearn sums float32 in float32
    assert abs(ours.inertia_ - theirs.inertia_) <= rtol * theirs.inertia_


def test_float32_tracks_the_float64_run():
    rng = np.random.RandomState(1)
    X = rng.rand(5000, 8)
    init = X[:6]
    a = KMeans(6, init=init, max_iter=20, tol=0).fit(X)
    b = KMeans(6, init=init.astype(np.float32), max_iter=20, tol=0).fit(X.astype(np.float32))
    assert b.cluster_centers_.dtype == np.float32
    assert isinstance(b.inertia_, float)
    assert abs(a.inertia_ - b.inertia_) <= 1e-5 * a.inertia_
    assert adjusted_rand_score(a.labels_, b.labels_) > 0.99


def test_empty_cluster_is_relocated_as_in_sklearn():
    X, _ = make_blobs(n_samples=500, centers=3, random_state=0)
    init = np.vstack([X[:3], [[100.0, 100.0]]])  # the last centre attracts nothing
    ours, theirs = (est.fit(X) for est in _pair(init))
    assert np.unique(ours.labels_).size == 4
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_array_equal(ours.predict(X), ours.labels_)
    assert abs(ours.inertia_ - theirs.inertia_) <= 1e-9 * theirs.inertia_


def test_relocation_never_empties_the_donor_cluster():
    from skml.cluster._kmeans import _relocate_empty_clusters

    # cluster 0 = {x0, x1}, cluster 1 = {x2} far from its (old) centre, cluster 2 empty
    X = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    w = np.ones(3)
    centers = np.array([[0.5, 0.0], [0.0, 5.0], [100.0, 100.0]])
    labels = np.array([0, 0, 1], dtype=np.int32)
    sums = np.array([[1.0, 0.0], [10.0, 0.0], [0.0, 0.0]])
    weights = np.array([2.0, 1.0, 0.0])
    _relocate_empty_clusters(X, w, centers, labels, sums, weights, 1)
    # x2 is farthest but alone in cluster 1: the next farthest (x0, tie with x1 -> index 0)
    np.testing.assert_array_equal(weights, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(sums, [[1.0, 0.0], [10.0, 0.0], [0.0, 0.0]])


def test_fitted_attributes_and_methods_agree():
    X, _ = make_blobs(n_samples=400, n_features=3, centers=4, random_state=2)
    km = KMeans(4, random_state=0).fit(X)
    assert km.cluster_centers_.shape == (4, 3)
    assert km.labels_.dtype == np.int32 and km.n_features_in_ == 3
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    np.testing.assert_array_equal(KMeans(4, random_state=0).fit_predict(X), km.labels_)
    D = km.transform(X)
    ref = np.sqrt(((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1))
    np.testing.assert_allclose(D, ref, atol=1e-8)
    np.testing.assert_allclose(KMeans(4, random_state=0).fit_transform(X), D)
    np.testing.assert_array_equal(D.argmin(1), km.labels_)
    np.testing.assert_allclose(km.score(X), -km.inertia_, rtol=1e-12)
    np.testing.assert_allclose(km.inertia_, (D.min(1) ** 2).sum(), rtol=1e-10)
    assert list(km.get_feature_names_out()) == [f"kmeans{i}" for i in range(4)]
    loaded = pickle.loads(pickle.dumps(km))
    np.testing.assert_array_equal(loaded.predict(X), km.labels_)


def test_float32_is_kept_everywhere():
    X = make_blobs(n_samples=300, centers=3, random_state=0)[0].astype(np.float32)
    km = KMeans(3, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == np.float32
    assert km.transform(X).dtype == np.float32
    assert km.transform(X.astype(np.float64)).dtype == np.float64
    mbk = MiniBatchKMeans(3, random_state=0, batch_size=64).fit(X)
    assert mbk.cluster_centers_.dtype == np.float32


def test_sample_weight_acts_as_repetition_from_the_same_init():
    rng = np.random.RandomState(0)
    X = rng.rand(200, 3)
    sw = rng.randint(1, 4, len(X))
    init = X[:5]
    a = KMeans(5, init=init).fit(X, sample_weight=sw)
    b = KMeans(5, init=init).fit(np.repeat(X, sw, axis=0))
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-10)
    np.testing.assert_allclose(a.inertia_, b.inertia_, rtol=1e-10)
    # zero weights: as if the samples were not there
    sw0 = sw.copy()
    sw0[::3] = 0
    keep = sw0 > 0
    c = KMeans(5, init=init).fit(X, sample_weight=sw0)
    d = KMeans(5, init=init).fit(X[keep], sample_weight=sw0[keep])
    np.testing.assert_allclose(c.cluster_centers_, d.cluster_centers_, rtol=1e-10)


def test_tol_is_scale_free():
    X, _ = make_blobs(n_samples=2000, centers=5, cluster_std=4.0, random_state=3)
    init = X[:5]
    fits = [KMeans(5, init=init * s, tol=1e-2).fit(X * s) for s in (1e-3, 1.0, 1e3)]
    assert len({f.n_iter_ for f in fits}) == 1
    for f in fits[1:]:
        np.testing.assert_array_equal(f.labels_, fits[0].labels_)
    # a larger tol stops no later than a smaller one; tol=0 runs to label convergence
    full = KMeans(5, init=init, tol=0).fit(X)
    assert fits[1].n_iter_ <= full.n_iter_


@pytest.mark.parametrize("tol_rule", ["sum", "max"])
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_tol_rules(tol_rule, algorithm):
    # "sum" (the default, sklearn's): the summed squared moves; "max" (the notes' Remark
    # 3.10): the largest. With tol = (that move at iteration t) / mean variance, a run
    # stops at t, as a plain NumPy Lloyd loop says.
    X, _ = make_blobs(n_samples=1500, centers=4, cluster_std=3.0, random_state=5)
    init = X[:4]
    moves, centers = [], init.copy()
    for _ in range(50):
        labels = ((X[:, None] - centers[None]) ** 2).sum(-1).argmin(1)
        new = np.array([X[labels == j].mean(0) for j in range(4)])
        sq = ((new - centers) ** 2).sum(1)
        moves.append(sq.sum() if tol_rule == "sum" else sq.max())
        centers = new
        if moves[-1] == 0:
            break
    assert len(moves) > 3
    t = 2  # stop after the third iteration
    tol = moves[t] * (1 + 1e-9) / X.var(axis=0).mean()
    km = KMeans(4, init=init, tol=tol, tol_rule=tol_rule, algorithm=algorithm).fit(X)
    assert km.n_iter_ == t + 1
    if tol_rule == "sum":  # scikit-learn stops at the same iteration
        assert SkKMeans(4, init=init, tol=tol, n_init=1).fit(X).n_iter_ == t + 1


def test_n_init_keeps_the_best_run_and_is_reproducible():
    X, _ = make_blobs(n_samples=600, centers=6, cluster_std=2.0, random_state=1)
    one = [KMeans(6, init="random", n_init=1, random_state=s).fit(X).inertia_
           for s in range(5)]
    many = KMeans(6, init="random", n_init=5, random_state=0).fit(X)
    assert many.inertia_ <= np.median(one)
    again = KMeans(6, init="random", n_init=5, random_state=0).fit(X)
    np.testing.assert_array_equal(again.cluster_centers_, many.cluster_centers_)


def test_init_array_with_n_init_warns_and_runs_once():
    X = np.random.RandomState(0).rand(50, 2)
    with pytest.warns(RuntimeWarning, match="only one init"):
        KMeans(3, init=X[:3], n_init=5).fit(X)


def test_callable_init():
    X = np.random.RandomState(0).rand(50, 2)
    km = KMeans(3, init=lambda X, k, random_state: X[-k:], n_init=1).fit(X)
    ref = KMeans(3, init=X[-3:]).fit(X)
    np.testing.assert_array_equal(km.labels_, ref.labels_)


def test_kmeans_plusplus_picks_spread_weighted_rows():
    X = np.array([[0.0, 0], [0.1, 0], [10, 10], [10.1, 10], [-10, 5], [-10, 5.1]])
    for seed in range(5):
        centers, idx = kmeans_plusplus(X, 3, random_state=seed)
        np.testing.assert_array_equal(centers, X[idx])
        assert sorted(i // 2 for i in idx) == [0, 1, 2]
    w = np.array([0, 1, 0, 1, 0, 1.0])
    for seed in range(5):
        _, idx = kmeans_plusplus(X, 3, sample_weight=w, random_state=seed)
        assert sorted(idx) == [1, 3, 5]  # zero-weight rows are never drawn
    c32, _ = kmeans_plusplus(X.astype(np.float32), 2, random_state=0)
    assert c32.dtype == np.float32


def test_more_clusters_than_distinct_points_warns_without_nan():
    X = np.repeat(np.array([[0.0, 0], [1, 1], [5, 5]]), 10, axis=0)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        km = KMeans(5, random_state=0).fit(X)
    assert np.isfinite(km.cluster_centers_).all()
    assert km.inertia_ == pytest.approx(0.0, abs=1e-12)


def test_copy_x_false_restores_the_data():
    X = np.random.RandomState(0).rand(100, 3) + 50
    X0 = X.copy()
    KMeans(3, random_state=0, copy_x=False).fit(X)
    np.testing.assert_allclose(X, X0, rtol=1e-12)


def test_results_do_not_depend_on_the_openmp_thread_count():
    from threadpoolctl import threadpool_limits

    X = np.random.RandomState(0).rand(60_000, 10)  # enough work for 4 threads
    init = X[:8]
    fits = []
    for n in (1, 2, 4):
        with threadpool_limits(limits=n, user_api="openmp"):
            fits.append(KMeans(8, init=init, max_iter=15, tol=0).fit(X))
    for f in fits[1:]:
        assert f.cluster_centers_.tobytes() == fits[0].cluster_centers_.tobytes()
        assert f.inertia_ == fits[0].inertia_


# --- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("Est", [KMeans, MiniBatchKMeans])
def test_more_clusters_than_samples_is_a_clear_error(Est):
    X = np.random.RandomState(0).rand(5, 2)
    with pytest.raises(ValueError, match=r"n_samples=5 should be >= n_clusters=8"):
        Est(n_clusters=8).fit(X)


@pytest.mark.parametrize("Est", [KMeans, MiniBatchKMeans])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_are_clear_errors(Est, bad):
    X = np.random.RandomState(0).rand(20, 2)
    X[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        Est(n_clusters=2).fit(X)
    km = Est(n_clusters=2, random_state=0).fit(np.random.RandomState(0).rand(20, 2))
    with pytest.raises(ValueError, match="Input X contains"):
        km.predict(X)


@pytest.mark.parametrize("params, match", [
    (dict(n_clusters=0), r"n_clusters must be in \[1, 2147483647\]"),
    (dict(n_clusters=2**31), r"n_clusters must be in \[1, 2147483647\]"),
    (dict(n_clusters=2.5), "n_clusters must be int"),
    (dict(init="kmeans"), "init must be one of"),
    (dict(init=3), r"init must be one of \['k-means\+\+', 'random'\], a callable or an "
                   "array-like"),
    (dict(n_init=0), r"n_init must be in \[1, inf\]"),
    (dict(n_init="many"), "n_init must be one of"),
    (dict(max_iter=0), r"max_iter must be in \[1, inf\]"),
    (dict(tol=-1.0), r"tol must be in \[0, inf\]"),
    (dict(algorithm="hamerly"), "algorithm must be one of \\['elkan', 'lloyd'\\]"),
    (dict(tol_rule="mean"), "tol_rule must be one of \\['max', 'sum'\\]"),
])
def test_bad_parameters_name_the_parameter(params, match):
    X = np.random.RandomState(0).rand(20, 2)
    with pytest.raises((ValueError, TypeError), match=match):
        KMeans(**params).fit(X)


def test_bad_init_array_sample_weight_and_predict_shape():
    X = np.random.RandomState(0).rand(20, 3)
    with pytest.raises(ValueError, match=r"initial centers \(2, 3\) does not match the "
                                         "number of clusters 3"):
        KMeans(3, init=X[:2]).fit(X)
    with pytest.raises(ValueError, match=r"initial centers \(3, 2\) does not match the "
                                         "number of features of the data 3"):
        MiniBatchKMeans(3, init=X[:3, :2]).fit(X)
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        KMeans(3).fit(X, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(19,\), expected \(20,\)"):
        KMeans(3).fit(X, sample_weight=np.ones(19))
    with pytest.raises(ValueError, match="at least one positive weight"):
        KMeans(3).fit(X, sample_weight=np.zeros(20))
    with pytest.raises(ValueError, match="positive sample_weight"):
        KMeans(3).fit(X, sample_weight=np.r_[np.ones(2), np.zeros(18)])
    km = KMeans(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        km.predict(X[:, :2])


# --- MiniBatchKMeans ----------------------------------------------------------------


def test_minibatch_reaches_nearly_the_kmeans_inertia():
    X, _ = make_blobs(n_samples=5000, n_features=5, centers=8, random_state=0)
    full = KMeans(8, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        mbk = MiniBatchKMeans(8, batch_size=256, random_state=0).fit(X)
    assert mbk.inertia_ <= 1.05 * full.inertia_
    np.testing.assert_array_equal(mbk.predict(X), mbk.labels_)
    assert 1 <= mbk.n_iter_ <= 100 and mbk.n_steps_ >= 1
    again = MiniBatchKMeans(8, batch_size=256, random_state=0).fit(X)
    np.testing.assert_array_equal(again.cluster_centers_, mbk.cluster_centers_)


def test_minibatch_on_digits_is_close_to_sklearn():
    from sklearn.cluster import MiniBatchKMeans as SkMiniBatchKMeans

    X, _ = load_digits(return_X_y=True)
    ours = [MiniBatchKMeans(10, random_state=s).fit(X).inertia_ for s in range(3)]
    theirs = [SkMiniBatchKMeans(10, random_state=s).fit(X).inertia_ for s in range(3)]
    assert np.mean(ours) <= 1.03 * np.mean(theirs)


def test_partial_fit_streams_batches():
    X, y = make_blobs(n_samples=3000, centers=4, cluster_std=0.5, random_state=4)
    mbk = MiniBatchKMeans(4, random_state=0)
    for _ in range(3):
        for batch in np.array_split(X, 30):
            mbk.partial_fit(batch)
    assert mbk.n_steps_ == 90
    assert adjusted_rand_score(y, mbk.predict(X)) > 0.99
    assert mbk.labels_.shape == (100,)
    with pytest.raises(ValueError, match="features"):
        mbk.partial_fit(X[:, :1])
    # partial_fit after fit continues from the fitted centres
    fitted = MiniBatchKMeans(4, random_state=0, batch_size=100).fit(X)
    fitted.partial_fit(X[:200])
    assert fitted.n_steps_ >= 2


def test_minibatch_options():
    X, _ = make_blobs(n_samples=1000, centers=3, random_state=0)
    mbk = MiniBatchKMeans(3, compute_labels=False, random_state=0, batch_size=100).fit(X)
    assert not hasattr(mbk, "labels_")
    # tol stops early; reassignment off still gives a valid clustering
    early = MiniBatchKMeans(3, tol=1e-2, max_no_improvement=None, random_state=0,
                            batch_size=100).fit(X)
    late = MiniBatchKMeans(3, tol=0.0, max_no_improvement=None, random_state=0,
                           batch_size=100, max_iter=5).fit(X)
    assert early.n_steps_ < late.n_steps_ == 50
    none = MiniBatchKMeans(3, reassignment_ratio=0, random_state=0, batch_size=100).fit(X)
    assert np.unique(none.labels_).size == 3
    w = np.r_[np.ones(500), np.zeros(500)]
    weighted = MiniBatchKMeans(3, random_state=0, batch_size=100).fit(X, sample_weight=w)
    assert np.isfinite(weighted.cluster_centers_).all()


# --- drop-in: Elkan, verbose, k_means, sklearn's batches -------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("data", ["blobs", "normal", "digits"])
def test_elkan_gives_lloyds_result(dtype, data):
    if data == "digits":
        X = load_digits().data[:800]
    elif data == "blobs":
        X = make_blobs(n_samples=2000, n_features=5, centers=6, random_state=0)[0]
    else:
        X = np.random.RandomState(0).normal(size=(2000, 5))
    X = X.astype(dtype)
    sw = np.random.RandomState(1).uniform(0.5, 2, len(X))
    for params in (dict(random_state=0), dict(init="random", n_init=3, random_state=1,
                                                 tol=0)):
        lloyd = KMeans(8, **params).fit(X, sample_weight=sw)
        elkan = KMeans(8, algorithm="elkan", **params).fit(X, sample_weight=sw)
        np.testing.assert_array_equal(elkan.labels_, lloyd.labels_)
        assert elkan.n_iter_ == lloyd.n_iter_
        np.testing.assert_array_equal(elkan.cluster_centers_, lloyd.cluster_centers_)
        assert elkan.inertia_ == lloyd.inertia_
        np.testing.assert_array_equal(elkan.predict(X), elkan.labels_)


def test_elkan_relocates_empty_clusters_as_lloyd():
    X, _ = make_blobs(n_samples=500, centers=3, random_state=0)
    init = np.vstack([X[:3], [[100.0, 100.0]]])
    lloyd = KMeans(4, init=init, n_init=1).fit(X)
    elkan = KMeans(4, init=init, n_init=1, algorithm="elkan").fit(X)
    np.testing.assert_array_equal(elkan.labels_, lloyd.labels_)
    np.testing.assert_array_equal(elkan.cluster_centers_, lloyd.cluster_centers_)


def test_elkan_with_one_cluster_runs_lloyd_with_a_warning():
    X = np.random.RandomState(0).rand(50, 2)
    with pytest.warns(RuntimeWarning, match="single cluster. Using 'lloyd'"):
        km = KMeans(1, algorithm="elkan", n_init=1).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, X.mean(0, keepdims=True))


def test_default_tol_stops_where_sklearn_does():
    X, _ = load_digits(return_X_y=True)
    for seed in range(2):
        init = X[np.random.RandomState(seed).choice(len(X), 10, replace=False)]
        ours, theirs = (est.fit(X) for est in _pair(init))
        assert ours.n_iter_ == theirs.n_iter_
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    # the seeding draws as sklearn's does: the same random_state, the same run
    ours = KMeans(10, random_state=3).fit(X)
    theirs = SkKMeans(10, random_state=3).fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=1e-9)


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("weighted", [False, True])
def test_minibatch_draws_sklearns_batches(init, weighted):
    from sklearn.cluster import MiniBatchKMeans as SkMiniBatchKMeans

    X, _ = make_blobs(n_samples=3000, n_features=4, centers=5, random_state=0)
    sw = np.random.RandomState(1).rand(len(X)) if weighted else None
    params = dict(n_clusters=5, batch_size=100, max_iter=3, random_state=0,
                  max_no_improvement=None, init=init)
    ours = MiniBatchKMeans(**params).fit(X, sample_weight=sw)
    theirs = SkMiniBatchKMeans(**params).fit(X, sample_weight=sw)
    assert ours.n_steps_ == theirs.n_steps_
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, atol=1e-10)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)


def test_minibatch_init_size_follows_sklearn():
    X = np.random.RandomState(0).rand(500, 2)
    mbk = MiniBatchKMeans(5, init_size=6, n_init=1, random_state=0).fit(X)
    assert mbk._init_size == 6  # explicit and >= n_clusters: used as given
    with pytest.warns(RuntimeWarning, match=r"init_size=3 should be larger than "
                                            "n_clusters=5"):
        mbk = MiniBatchKMeans(5, init_size=3, n_init=1, random_state=0).fit(X)
    assert mbk._init_size == 15
    mbk = MiniBatchKMeans(5, batch_size=1, n_init=1, random_state=0).fit(X)
    assert mbk._init_size == 15  # 3 * batch_size < n_clusters: 3 * n_clusters
    # without compute_labels, inertia_ is the smoothed batch inertia times the weight
    mbk = MiniBatchKMeans(5, compute_labels=False, random_state=0, batch_size=50).fit(X)
    full = MiniBatchKMeans(5, random_state=0, batch_size=50).fit(X)
    assert 0.5 * full.inertia_ < mbk.inertia_ < 2 * full.inertia_


def test_verbose_reports_milestones_and_is_silent_at_zero(capsys):
    X = np.random.RandomState(0).normal(size=(600, 4))
    KMeans(3, n_init=2, init="random", random_state=0, tol=0, verbose=1).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert out and all(line.startswith("[KMeans] ") for line in out)
    assert sum("Initialization complete" in line for line in out) == 2
    assert sum(line.startswith("[KMeans] Run ") for line in out) == 2
    iterations = [line for line in out if "Iteration" in line]
    assert iterations and all(", inertia " in line for line in iterations)
    assert any("strict convergence" in line for line in out)
    KMeans(3, random_state=0, tol=1e-2, verbose=1, algorithm="elkan").fit(X)
    assert "within tolerance" in capsys.readouterr().out
    MiniBatchKMeans(3, random_state=0, batch_size=100, verbose=1).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert out and all(line.startswith("[MiniBatchKMeans] ") for line in out)
    assert any("Init 1/1 with method k-means++" in line for line in out)
    assert any("Minibatch step 2/" in line and "ewa inertia" in line for line in out)
    for est in (KMeans(3, random_state=0), MiniBatchKMeans(3, random_state=0),
                KMeans(3, random_state=0, algorithm="elkan")):
        est.fit(X)
        est.partial_fit(X) if hasattr(est, "partial_fit") else est.predict(X)
    assert capsys.readouterr() == ("", "")  # nothing on stdout or stderr


def test_k_means_function_is_kmeans():
    from skml.cluster import k_means

    X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    centers, labels, inertia, n_iter = k_means(X, 3, random_state=0, return_n_iter=True)
    km = KMeans(3, random_state=0).fit(X)
    np.testing.assert_array_equal(centers, km.cluster_centers_)
    np.testing.assert_array_equal(labels, km.labels_)
    assert inertia == km.inertia_ and n_iter == km.n_iter_
    assert len(k_means(X, 3, random_state=0)) == 3
