"""Every neighbour estimator and graph function on CSR/CSC input (issue 14): the same
neighbours, distances, graphs and predictions as on the dense copy, on random sparse
matrices of several densities, both dtypes, with stored explicit zeros, empty rows and
unsorted indices (the kernels themselves are tested in tests/metrics/test_pairwise_sparse.py)."""
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skml.neighbors import (
    KNeighborsClassifier,
    KNeighborsRegressor,
    NearestNeighbors,
    RadiusNeighborsClassifier,
    RadiusNeighborsRegressor,
    kneighbors_graph,
    radius_neighbors_graph,
)
from tests._sparse_cases import awkward_sparse


def same_graph(a, b):
    a, b = a.tocsr(), b.tocsr()
    a.sort_indices()
    b.sort_indices()
    assert_array_equal(a.indptr, b.indptr)
    assert_array_equal(a.indices, b.indices)
    assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("density, metric", [(0.03, "euclidean"), (0.2, "manhattan"),
                                             (0.7, "cosine"), (0.2, "euclidean")])
@pytest.mark.filterwarnings("ignore:One or more samples have no neighbors")
def test_every_estimator_on_sparse_equals_the_dense_copy(fmt, dtype, density, metric):
    seed = int(density * 100) + len(metric)
    X, Xd = awkward_sparse(240, 30, density, seed, dtype=dtype, fmt=fmt)
    Q, Qd = awkward_sparse(50, 30, density, seed + 1, dtype=dtype, fmt=fmt)
    assert not sp.csr_matrix(X).has_sorted_indices or fmt == "csc"
    y = np.random.RandomState(seed).randint(0, 3, 240)
    yr = y * 1.5 + np.arange(240) % 7

    nn_s = NearestNeighbors(n_neighbors=6, metric=metric).fit(X)
    nn_d = NearestNeighbors(n_neighbors=6, metric=metric, algorithm="brute").fit(Xd)
    assert nn_s._fit_method == "brute"
    for q_s, q_d in ((Q, Qd), (None, None)):
        d_s, i_s = nn_s.kneighbors(q_s)
        d_d, i_d = nn_d.kneighbors(q_d)
        assert d_s.dtype == d_d.dtype
        assert_array_equal(i_s, i_d)  # exact keys: the same ranking, ties by index
        assert_array_equal(d_s, d_d)
        for mode in ("connectivity", "distance"):
            same_graph(nn_s.kneighbors_graph(q_s, mode=mode),
                       nn_d.kneighbors_graph(q_d, mode=mode))
    # a radius between the 3rd and 4th neighbours of a typical point
    r = float(np.median(nn_d.kneighbors(Qd)[0][:, 3]))
    for q_s, q_d in ((Q, Qd), (None, None)):
        d_s, i_s = nn_s.radius_neighbors(q_s, radius=r, sort_results=True)
        d_d, i_d = nn_d.radius_neighbors(q_d, radius=r, sort_results=True)
        for a, b, c, e in zip(i_s, i_d, d_s, d_d):
            assert_array_equal(a, b)
            assert_array_equal(c, e)
        same_graph(nn_s.radius_neighbors_graph(q_s, radius=r, mode="distance"),
                   nn_d.radius_neighbors_graph(q_d, radius=r, mode="distance"))
    for include_self in (False, True):
        same_graph(kneighbors_graph(X, 4, mode="distance", metric=metric,
                                    include_self=include_self),
                   kneighbors_graph(Xd, 4, mode="distance", metric=metric,
                                    include_self=include_self))
        same_graph(radius_neighbors_graph(X, r, mode="distance", metric=metric,
                                          include_self=include_self),
                   radius_neighbors_graph(Xd, r, mode="distance", metric=metric,
                                          include_self=include_self))

    for weights in ("uniform", "distance"):
        a = KNeighborsClassifier(5, weights=weights, metric=metric).fit(X, y)
        b = KNeighborsClassifier(5, weights=weights, metric=metric,
                                 algorithm="brute").fit(Xd, y)
        assert_array_equal(a.predict(Q), b.predict(Qd))
        assert_array_equal(a.predict_proba(Q), b.predict_proba(Qd))
        a = KNeighborsRegressor(5, weights=weights, metric=metric).fit(X, yr)
        b = KNeighborsRegressor(5, weights=weights, metric=metric,
                                algorithm="brute").fit(Xd, yr)
        assert_array_equal(a.predict(Q), b.predict(Qd))
        a = RadiusNeighborsClassifier(r, weights=weights, metric=metric,
                                      outlier_label="most_frequent").fit(X, y)
        b = RadiusNeighborsClassifier(r, weights=weights, metric=metric,
                                      outlier_label="most_frequent",
                                      algorithm="brute").fit(Xd, y)
        assert_array_equal(a.predict(Q), b.predict(Qd))
        assert_array_equal(a.predict_proba(Q), b.predict_proba(Qd))
        # a radius every query reaches something within (no empty neighbourhoods)
        a = RadiusNeighborsRegressor(4 * r, weights=weights, metric=metric).fit(X, yr)
        b = RadiusNeighborsRegressor(4 * r, weights=weights, metric=metric,
                                     algorithm="brute").fit(Xd, yr)
        with np.errstate(all="ignore"):
            assert_array_equal(a.predict(Q), b.predict(Qd))


def test_sparse_distances_are_the_exact_ones():
    # an independent reference: SciPy's cdist on the float64 dense copy
    from scipy.spatial.distance import cdist

    X, Xd = awkward_sparse(200, 25, 0.1, 3, fmt="csr")
    Q, Qd = awkward_sparse(40, 25, 0.1, 4, fmt="csc")
    for metric, ref in (("euclidean", "euclidean"), ("manhattan", "cityblock"),
                        ("chebyshev", "chebyshev")):
        d, i = NearestNeighbors(n_neighbors=5, metric=metric).fit(X).kneighbors(Q)
        D = cdist(Qd, Xd, ref)
        assert_allclose(d, np.sort(D, axis=1)[:, :5], rtol=1e-12, atol=1e-15)
        assert_allclose(np.take_along_axis(D, i, axis=1), d, rtol=1e-12, atol=1e-15)


def _corpus(n_docs, seed):
    """Documents whose words come from class-specific, overlapping distributions."""
    rng = np.random.RandomState(seed)
    vocab = np.array([f"w{i}" for i in range(300)])
    topics = rng.dirichlet(np.full(300, 0.05), size=3)
    common = rng.dirichlet(np.full(300, 1.0))
    docs, labels = [], []
    for i in range(n_docs):
        p = 0.12 * topics[i % 3] + 0.88 * common  # hard enough: ~0.75 accuracy
        docs.append(" ".join(rng.choice(vocab, size=rng.randint(15, 50), p=p)))
        labels.append(i % 3)
    return docs, np.array(labels)


def test_text_classification_pipeline_matches_sklearn():
    # issue 14: TF-IDF (CSR) -> kNN in a Pipeline under GridSearchCV, as with sklearn
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.neighbors import KNeighborsClassifier as SkKNN
    from sklearn.pipeline import make_pipeline

    docs, y = _corpus(600, 0)
    d_train, d_test, y_train, y_test = train_test_split(docs, y, test_size=0.3,
                                                        random_state=0)
    grid = {"kneighborsclassifier__n_neighbors": [5, 15],
            "kneighborsclassifier__metric": ["euclidean", "cosine"]}
    fits = [GridSearchCV(make_pipeline(TfidfVectorizer(), clf), grid, cv=3).fit(
        d_train, y_train) for clf in (KNeighborsClassifier(weights="distance"),
                                      SkKNN(weights="distance"))]
    ours, theirs = (f.score(d_test, y_test) for f in fits)
    assert ours > 0.65  # far above the 1/3 of chance
    assert abs(ours - theirs) <= 0.02
    # the CV scores of every grid point agree too (the same neighbours, up to ties)
    assert_allclose(fits[0].cv_results_["mean_test_score"],
                    fits[1].cv_results_["mean_test_score"], atol=0.02)
