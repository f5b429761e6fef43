"""The neighbour estimators against scikit-learn, and their own promises."""
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import neighbors as sk
from sklearn.datasets import load_diabetes, load_digits, load_iris, load_wine

from skml.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors

LOADERS = {"iris": load_iris, "wine": load_wine, "digits": load_digits}


def split(name):
    X, y = LOADERS[name](return_X_y=True)
    perm = np.random.RandomState(0).permutation(len(X))
    cut = int(0.7 * len(X))
    return X[perm[:cut]], y[perm[:cut]], X[perm[cut:]], y[perm[cut:]]


def tie_free_rows(dist_k_plus_1):
    """Rows whose k + 1 nearest distances are all distinct: the neighbour list (and its
    order) is then the same under any tie-breaking rule."""
    return np.all(np.diff(dist_k_plus_1, axis=1) > 1e-9, axis=1)


def clear_boundary_rows(dist_k_plus_1):
    """Rows where the k-th and (k+1)-th distances differ: the *set* of k neighbours,
    hence the vote, is then the same under any tie-breaking rule."""
    return dist_k_plus_1[:, -1] - dist_k_plus_1[:, -2] > 1e-9


def distance_tolerance(algorithm):
    # The KD-trees of both libraries, and skml's brute force, sum exact coordinate
    # differences: identical results. scikit-learn's brute force goes through
    # |x|^2 + |y|^2 - 2 x.y on uncentred data; its error is ~eps * |x|^2 / d, which on
    # wine (|x|^2 ~ 2e6 from the proline column) reaches 1e-11 relative, 5e-11 absolute.
    return {"rtol": 1e-12, "atol": 0} if algorithm == "kd_tree" else {
        "rtol": 1e-10, "atol": 1e-10}


@pytest.mark.parametrize("name", list(LOADERS))
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
@pytest.mark.parametrize("metric", ["minkowski", "manhattan"])
@pytest.mark.parametrize("query", ["test", "train"])
def test_kneighbors_matches_sklearn(name, algorithm, metric, query):
    Xtr, _, Xte, _ = split(name)
    Q = Xte if query == "test" else None  # None: training points, each without itself
    ours = NearestNeighbors(n_neighbors=5, algorithm=algorithm, metric=metric).fit(Xtr)
    theirs = sk.NearestNeighbors(n_neighbors=5, algorithm=algorithm, metric=metric)
    theirs.fit(Xtr)
    dist, ind = ours.kneighbors(Q)
    sk_dist, sk_ind = theirs.kneighbors(Q)
    assert dist.shape == ind.shape == sk_ind.shape
    assert_allclose(dist, sk_dist, **distance_tolerance(algorithm))
    rows = tie_free_rows(theirs.kneighbors(Q, n_neighbors=6)[0])
    assert rows.sum() >= 3  # not vacuous (iris, one decimal, is full of ties)
    assert_array_equal(ind[rows], sk_ind[rows])
    # with ties, the neighbours still are at the right distances: the exact ones, for
    # both algorithms (skml's brute force ranks BLAS's candidates by exact distances)
    diff = (Xtr if Q is None else Q)[:, None, :] - Xtr[ind]
    own = np.sqrt((diff**2).sum(-1)) if metric == "minkowski" else np.abs(diff).sum(-1)
    assert_allclose(own, dist, rtol=1e-14)


@pytest.mark.parametrize("name", list(LOADERS))
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_classifier_matches_sklearn(name, algorithm, weights):
    Xtr, ytr, Xte, yte = split(name)
    ours = KNeighborsClassifier(algorithm=algorithm, weights=weights).fit(Xtr, ytr)
    theirs = sk.KNeighborsClassifier(algorithm=algorithm, weights=weights).fit(Xtr, ytr)
    rows = clear_boundary_rows(theirs.kneighbors(Xte, n_neighbors=6)[0])
    assert rows.sum() > 0.5 * len(rows)
    pred, sk_pred = ours.predict(Xte), theirs.predict(Xte)
    assert_array_equal(pred[rows], sk_pred[rows])
    # (1/d weights inherit scikit-learn's brute-force rounding, ~1e-11 on wine)
    assert_allclose(ours.predict_proba(Xte)[rows], theirs.predict_proba(Xte)[rows],
                    rtol=1e-10, atol=1e-15)
    assert ours.score(Xte, yte) > 0.6


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_regressor_matches_sklearn(algorithm, weights):
    X, y = load_diabetes(return_X_y=True)
    Xtr, ytr, Xte = X[:300], y[:300], X[300:]
    ours = KNeighborsRegressor(n_neighbors=7, algorithm=algorithm, weights=weights)
    theirs = sk.KNeighborsRegressor(n_neighbors=7, algorithm=algorithm, weights=weights)
    assert_allclose(ours.fit(Xtr, ytr).predict(Xte), theirs.fit(Xtr, ytr).predict(Xte),
                    rtol=1e-10)
    Y = np.c_[ytr, -2 * ytr]  # several outputs
    assert_allclose(ours.fit(Xtr, Y).predict(Xte), theirs.fit(Xtr, Y).predict(Xte),
                    rtol=1e-10)


def test_brute_and_kd_tree_break_ties_the_same_way():
    # integer pixels: squared distances are exact integers for both algorithms, so
    # ties are exact and the (distance, index) rule must pick the same neighbours
    X, y = load_digits(return_X_y=True)
    brute = NearestNeighbors(n_neighbors=10, algorithm="brute").fit(X)
    tree = NearestNeighbors(n_neighbors=10, algorithm="kd_tree").fit(X)
    for Q in (None, X[::7] + 1):
        d1, i1 = brute.kneighbors(Q)
        d2, i2 = tree.kneighbors(Q)
        assert_array_equal(i1, i2)
        assert_array_equal(d1, d2)
        # ties are really there, ordered by index
        tied = (np.diff(d1, axis=1) == 0)
        assert tied.any() and np.all(np.diff(i1, axis=1)[tied] > 0)
    clf_b = KNeighborsClassifier(algorithm="brute").fit(X[:1200], y[:1200])
    clf_t = KNeighborsClassifier(algorithm="kd_tree").fit(X[:1200], y[:1200])
    assert_array_equal(clf_b.predict(X[1200:]), clf_t.predict(X[1200:]))


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_kneighbors_of_training_points_leave_the_point_out(algorithm):
    X = np.array([[0.0], [0.0], [0.0], [1.0], [3.0]])  # a point three times
    nn = NearestNeighbors(n_neighbors=2, algorithm=algorithm).fit(X)
    dist, ind = nn.kneighbors()
    assert ind.tolist() == [[1, 2], [0, 2], [0, 1], [0, 1], [3, 0]]
    assert dist.tolist() == [[0, 0], [0, 0], [0, 0], [1, 1], [2, 3]]
    # duplicates may push the point itself out of its k + 1 list: still k entries
    nn = NearestNeighbors(n_neighbors=1, algorithm=algorithm).fit(X)
    # (point 2's two nearest are 0 and 1, both at distance 0: the first is dropped)
    assert nn.kneighbors(return_distance=False).ravel().tolist() == [1, 0, 1, 0, 3]


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
@pytest.mark.parametrize("query", ["test", "train"])
def test_radius_neighbors_and_graphs_match_sklearn(algorithm, query):
    Xtr, _, Xte, _ = split("iris")
    Q = Xte if query == "test" else None
    # iris has one decimal, so squared distances are multiples of 0.01: no point lies
    # within rounding of 0.63**2 = 0.3969, the boundary cannot depend on rounding
    ours = NearestNeighbors(radius=0.63, algorithm=algorithm).fit(Xtr)
    theirs = sk.NearestNeighbors(radius=0.63, algorithm=algorithm).fit(Xtr)
    dist, ind = ours.radius_neighbors(Q, sort_results=True)
    sk_dist, sk_ind = theirs.radius_neighbors(Q, sort_results=True)
    assert sum(map(len, ind)) > 100
    for a, b, da, db in zip(ind, sk_ind, dist, sk_dist):
        assert_array_equal(np.sort(a), np.sort(b))
        assert_allclose(da, db, rtol=1e-12, atol=1e-12)
    unsorted = ours.radius_neighbors(Q, return_distance=False)
    assert all(set(a) == set(b) for a, b in zip(unsorted, ind))
    for mode in ("connectivity", "distance"):
        G = ours.radius_neighbors_graph(Q, mode=mode)
        H = theirs.radius_neighbors_graph(Q, mode=mode)
        assert_allclose(G.toarray(), H.toarray(), rtol=1e-12, atol=1e-12)
        G = ours.kneighbors_graph(Q, n_neighbors=3, mode=mode)
        H = theirs.kneighbors_graph(Q, n_neighbors=3, mode=mode)
        assert G.shape == H.shape and G.nnz == H.nnz
        assert_allclose(np.sort(G.data), np.sort(H.data), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("metric,p", [("minkowski", 3), ("chebyshev", 2), ("cosine", 2),
                                      ("sqeuclidean", 2), ("l1", 2)])
def test_other_metrics_match_sklearn(metric, p):
    Xtr, ytr, Xte, _ = split("wine")
    # skml's KD-tree also takes sqeuclidean; scikit-learn's only by brute force
    algorithm = "brute" if metric in ("cosine", "sqeuclidean") else "kd_tree"
    ours = KNeighborsClassifier(metric=metric, p=p).fit(Xtr, ytr)
    theirs = sk.KNeighborsClassifier(metric=metric, p=p, algorithm=algorithm)
    theirs.fit(Xtr, ytr)
    assert ours._fit_method == ("brute" if metric == "cosine" else "kd_tree")
    dist, ind = ours.kneighbors(Xte)
    sk_dist, sk_ind = theirs.kneighbors(Xte)
    assert_allclose(dist, sk_dist, rtol=1e-9, atol=1e-12)
    rows = tie_free_rows(theirs.kneighbors(Xte, n_neighbors=6)[0])
    assert_array_equal(ind[rows], sk_ind[rows])
    rows = clear_boundary_rows(theirs.kneighbors(Xte, n_neighbors=6)[0])
    assert_array_equal(ours.predict(Xte)[rows], theirs.predict(Xte)[rows])


def test_string_labels_and_multi_output():
    Xtr, ytr, Xte, _ = split("iris")
    names = np.array(["setosa", "versicolor", "virginica"])[ytr]
    clf = KNeighborsClassifier().fit(Xtr, names)
    assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    ref = sk.KNeighborsClassifier().fit(Xtr, names)
    assert_array_equal(clf.predict(Xte), ref.predict(Xte))
    Y = np.c_[names, ytr % 2]
    multi = KNeighborsClassifier(weights="distance").fit(Xtr, Y)
    ref = sk.KNeighborsClassifier(weights="distance").fit(Xtr, Y)
    assert_array_equal(multi.predict(Xte), ref.predict(Xte))
    for a, b in zip(multi.predict_proba(Xte), ref.predict_proba(Xte)):
        assert_allclose(a, b, rtol=1e-12)


def test_distance_weights_on_training_points_and_callable_weights():
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    y = np.array([0, 1, 1, 1])
    clf = KNeighborsClassifier(n_neighbors=3, weights="distance").fit(X, y)
    # the query sits on a training point: that point alone decides
    assert_array_equal(clf.predict_proba([[0.0]]), [[1.0, 0.0]])
    flat = KNeighborsClassifier(n_neighbors=3, weights=lambda d: np.ones_like(d)).fit(X, y)
    uniform = KNeighborsClassifier(n_neighbors=3).fit(X, y)
    assert_allclose(flat.predict_proba(X), uniform.predict_proba(X))
    reg = KNeighborsRegressor(n_neighbors=2, weights="distance").fit(X, y * 1.0)
    assert_allclose(reg.predict([[0.25], [1.0]]), [0.25, 1.0])


def test_auto_rule():
    rng = np.random.RandomState(0)
    low, high = rng.rand(100, 15), rng.rand(100, 16)
    assert NearestNeighbors().fit(low)._fit_method == "kd_tree"
    assert NearestNeighbors().fit(high)._fit_method == "brute"
    assert NearestNeighbors(metric="cosine").fit(low)._fit_method == "brute"
    assert NearestNeighbors(n_neighbors=50).fit(low)._fit_method == "brute"
    assert NearestNeighbors(n_neighbors=49).fit(low)._fit_method == "kd_tree"
    nn = NearestNeighbors(metric="minkowski", p=1).fit(low)
    assert nn.effective_metric_ == "manhattan" and nn.effective_metric_params_ == {}
    nn = NearestNeighbors(metric="minkowski", p=3).fit(low)
    assert nn.effective_metric_ == "minkowski"
    assert nn.effective_metric_params_ == {"p": 3, "w": None}  # as scikit-learn
    nn = NearestNeighbors(metric_params={"p": 1}).fit(low)
    assert nn.effective_metric_ == "manhattan"


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_results_do_not_depend_on_n_jobs_or_dtype(algorithm):
    rng = np.random.RandomState(0)
    X, Q = rng.rand(2000, 4), rng.rand(600, 4)
    ref = NearestNeighbors(algorithm=algorithm, n_jobs=1).fit(X).kneighbors(Q)
    for n_jobs in (2, -1, None):
        got = NearestNeighbors(algorithm=algorithm, n_jobs=n_jobs).fit(X).kneighbors(Q)
        assert_array_equal(got[0], ref[0])
        assert_array_equal(got[1], ref[1])
    X32, Q32 = X.astype(np.float32), Q.astype(np.float32)
    dist, _ = NearestNeighbors(algorithm=algorithm).fit(X32).kneighbors(Q32)
    ref32 = NearestNeighbors(algorithm=algorithm).fit(X32.astype(float)).kneighbors(
        Q32.astype(float))
    assert dist.dtype == np.float64
    assert_array_equal(dist, ref32[0])


def test_pickled_model_predicts_the_same():
    Xtr, ytr, Xte, _ = split("wine")
    clf = KNeighborsClassifier(algorithm="kd_tree").fit(Xtr, ytr)
    loaded = pickle.loads(pickle.dumps(clf))
    assert_array_equal(loaded.predict_proba(Xte), clf.predict_proba(Xte))


def test_bad_input_gives_clear_errors():
    # scikit-learn's messages where its own tests match them
    X = np.random.RandomState(0).rand(6, 2)
    y = np.array([0, 1, 0, 1, 0, 1])
    clf = KNeighborsClassifier(n_neighbors=7).fit(X, y)  # checked when searching
    with pytest.raises(ValueError, match=r"Expected n_neighbors <= n_samples_fit, but "
                                         r"n_neighbors = 7, n_samples_fit = 6"):
        clf.predict(X)
    nn = NearestNeighbors().fit(X)
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        nn.kneighbors(X, n_neighbors=7)
    with pytest.raises(ValueError, match=r"Expected n_neighbors < n_samples_fit, but "
                                         r"n_neighbors = 6"):
        nn.kneighbors(n_neighbors=6)
    with pytest.raises(ValueError, match="Expected n_neighbors > 0. Got 0"):
        nn.kneighbors(X, n_neighbors=0)
    with pytest.raises(TypeError, match="n_neighbors does not take"):
        nn.kneighbors(X, n_neighbors=2.5)
    with pytest.raises(TypeError, match="n_neighbors must be int"):
        KNeighborsClassifier(n_neighbors=2.5).fit(X, y)
    X_nan = X.copy()
    X_nan[1, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        KNeighborsClassifier(n_neighbors=3).fit(X_nan, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        nn.kneighbors(X_nan)
    # one class is allowed, as in scikit-learn
    assert (KNeighborsClassifier(n_neighbors=3).fit(X, np.zeros(6)).predict(X) == 0).all()
    with pytest.raises(ValueError, match="Metric 'cosine' not valid for algorithm"):
        NearestNeighbors(algorithm="kd_tree", metric="cosine").fit(X)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        NearestNeighbors(algorithm="octree").fit(X)
    with pytest.raises(ValueError, match=r"p must be in \(0, inf\]"):
        NearestNeighbors(p=0).fit(X)
    with pytest.raises(ValueError, match='algorithm="kd_tree" does not support 0 < p < 1'):
        NearestNeighbors(p=0.5, algorithm="kd_tree").fit(X)
    with pytest.raises(ValueError, match="metric must be one of"):
        NearestNeighbors(metric="no-such-metric").fit(X)
    with pytest.raises(ValueError, match="weights must be one of"):
        KNeighborsClassifier(n_neighbors=3, weights="gaussian").fit(X, y)
    with pytest.raises(ValueError, match=r"metric='minkowski' takes no parameter \['v'\]"):
        NearestNeighbors(metric_params={"v": 1}).fit(X)
    with pytest.raises(ValueError, match="weights must have 2 entries"):
        NearestNeighbors(metric_params={"w": [1.0, 2.0, 3.0]}).fit(X)
    with pytest.raises(ValueError, match="Precomputed matrix must be square"):
        NearestNeighbors(metric="precomputed").fit(X)
    with pytest.raises(ValueError, match="Negative values in data passed to precomputed"):
        NearestNeighbors(metric="precomputed").fit(-np.ones((3, 3)))
    with pytest.raises(ValueError, match='Unsupported mode, must be one of "connectivity"'):
        nn.kneighbors_graph(X, mode="blah")
    with pytest.raises(ValueError, match="X has 3 features"):
        nn.kneighbors(np.zeros((1, 3)))
