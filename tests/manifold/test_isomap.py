"""Isomap: the swiss roll unrolls; geodesics, embedding and out-of-sample points agree
with scipy and scikit-learn; the parallel Dijkstra kernel against scipy."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import shortest_path
from scipy.stats import spearmanr
from sklearn.datasets import make_blobs, make_swiss_roll
from sklearn.manifold import Isomap as SkIsomap

from skml._kernels import _graph
from skml.manifold import Isomap


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


@pytest.fixture(scope="module")
def roll():
    return make_swiss_roll(500, random_state=0)


def test_swiss_roll_of_2000_points_unrolls():
    X, t = make_swiss_roll(2000, random_state=0)
    Y = Isomap(n_neighbors=10).fit_transform(X)
    assert abs(spearmanr(Y[:, 0], t).statistic) >= 0.99


@pytest.mark.parametrize("params", [dict(n_neighbors=8), dict(n_neighbors=None, radius=4.0)],
                         ids=["knn", "radius"])
def test_matches_sklearn(roll, params):
    X, _ = roll
    ours = Isomap(**params).fit(X)
    ref = SkIsomap(**params).fit(X)
    np.testing.assert_allclose(ours.dist_matrix_, ref.dist_matrix_, rtol=1e-10, atol=1e-10)
    # both flip eigenvector signs the same way
    np.testing.assert_allclose(ours.embedding_, ref.embedding_, atol=1e-6)
    np.testing.assert_allclose(ours.reconstruction_error(), ref.reconstruction_error(),
                               rtol=1e-8)
    new = X[:40] + 0.05
    np.testing.assert_allclose(ours.transform(new), ref.transform(new), atol=1e-6)


def test_geodesics_match_scipy_on_the_same_graph(roll):
    X, _ = roll
    iso = Isomap(n_neighbors=6).fit(X)
    from sklearn.neighbors import kneighbors_graph

    G = kneighbors_graph(X, 6, mode="distance")
    ref = shortest_path(G, method="D", directed=False)
    np.testing.assert_allclose(iso.dist_matrix_, ref, rtol=1e-12, atol=1e-12)
    fw = Isomap(n_neighbors=6, path_method="FW").fit(X[:200])
    d = Isomap(n_neighbors=6, path_method="D").fit(X[:200])
    np.testing.assert_allclose(fw.dist_matrix_, d.dist_matrix_, rtol=1e-12)


def test_transform_of_training_points_gives_their_embedding(roll):
    X, _ = roll
    iso = Isomap(n_neighbors=8, eigen_solver="dense").fit(X)
    np.testing.assert_allclose(iso.transform(X), iso.embedding_, atol=1e-9)


def test_eigen_solvers_agree(roll):
    X, _ = roll
    dense = Isomap(n_neighbors=8, eigen_solver="dense").fit(X)
    arpack = Isomap(n_neighbors=8, eigen_solver="arpack").fit(X)
    np.testing.assert_allclose(dense.embedding_, arpack.embedding_, atol=1e-8)


def test_disconnected_graph_is_joined_with_a_warning():
    X, _ = make_blobs(60, centers=[[0, 0], [50, 50]], cluster_std=0.5, random_state=0)
    with pytest.warns(UserWarning, match="2 connected components"):
        iso = Isomap(n_neighbors=5).fit(X)
    assert iso.n_connected_components_ == 2
    assert np.all(np.isfinite(iso.dist_matrix_))
    assert np.isfinite(iso.embedding_).all()


def test_float32_in_float32_out(roll):
    X, _ = roll
    iso = Isomap(n_neighbors=8)
    assert iso.fit_transform(X.astype(np.float32)).dtype == np.float32
    assert iso.transform(X[:5].astype(np.float32)).dtype == np.float32


def test_parameter_errors(roll):
    X, _ = roll
    with pytest.raises(ValueError, match="exactly one of n_neighbors and radius"):
        Isomap(n_neighbors=5, radius=1.0).fit(X)
    with pytest.raises(ValueError, match="n_neighbors must be in"):
        Isomap(n_neighbors=10).fit(X[:10])
    with pytest.raises(ValueError, match="path_method must be one of"):
        Isomap(path_method="J").fit(X)


def test_dijkstra_kernel_zero_weights_and_unreachable_nodes():
    # 0 -> 1 (weight 0) -> 2 (weight 2), 0 -> 2 (weight 3); node 3 unreachable
    indptr = np.array([0, 2, 3, 3, 3], dtype=np.intp)
    indices = np.array([1, 2, 2], dtype=np.intp)
    weights = np.array([0.0, 3.0, 2.0])
    out = np.empty((2, 4))
    _graph.dijkstra_rows(indptr, indices, weights, np.array([0, 3], dtype=np.intp), out, 2)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 2.0, np.inf],
                                        [np.inf, np.inf, np.inf, 0.0]])


def _floyd_warshall_reference(n, rows, cols, weights):
    """All shortest paths of a directed multigraph, plainly."""
    D = np.full((n, n), np.inf)
    np.fill_diagonal(D, 0.0)
    for i, j, w in zip(rows, cols, weights):
        D[i, j] = min(D[i, j], w)
    for k in range(n):
        D = np.minimum(D, D[:, k:k + 1] + D[k:k + 1, :])
    return D


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.floats(0.0, 0.3), st.integers(1, 4),
       st.integers(0, 2**31 - 1))
def test_dijkstra_kernel_matches_a_plain_reference(n, density, n_threads, seed):
    rng = np.random.RandomState(seed)
    m = int(density * n * n)
    rows = rng.randint(0, n, m)
    cols = rng.randint(0, n, m)  # repeated edges and self-loops included
    weights = np.round(rng.uniform(0, 3, m), 1)  # zero weights included
    order = np.lexsort((cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    indptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    sources = rng.randint(0, n, rng.randint(1, n + 1)).astype(np.intp)  # repeats too
    args = [indptr, cols.astype(np.intp), weights.astype(np.float64), sources]
    for a in args:
        a.setflags(write=False)  # const memoryviews: read-only input must work
    out = np.empty((sources.size, n))
    _graph.dijkstra_rows(*args, out, n_threads)
    ref = _floyd_warshall_reference(n, rows, cols, weights)[sources]
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_duplicate_points_are_at_geodesic_distance_zero():
    X, _ = make_swiss_roll(300, random_state=1)
    X = np.vstack([X, X[:20]])  # 20 exact duplicates
    iso = Isomap(n_neighbors=8).fit(X)
    np.testing.assert_array_equal(iso.dist_matrix_[np.arange(20), 300 + np.arange(20)], 0)
    np.testing.assert_allclose(iso.embedding_[:20], iso.embedding_[300:], atol=1e-9)


# ---------------------------------------------------------------------------------------
# Hostile input (issue 11)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-300])
@pytest.mark.parametrize("params", [dict(n_neighbors=8), dict(n_neighbors=None, radius=2.0)],
                         ids=["knn", "radius"])
def test_huge_and_tiny_magnitudes_match_sklearn_on_the_unscaled_data(scale, params):
    # issue 11 §1: Isomap on |x| ~ 1e160 raised IndexError (the neighbour search's
    # sentinel index); its geodesics and squares overflowed
    X = np.random.RandomState(0).standard_normal((60, 4))
    ref = SkIsomap(**params).fit(X)
    if params.get("radius"):
        params = {**params, "radius": params["radius"] * scale}
    ours = Isomap(**params).fit(X * scale)
    np.testing.assert_allclose(ours.dist_matrix_ / scale, ref.dist_matrix_, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(np.abs(ours.embedding_ / scale), np.abs(ref.embedding_),
                               rtol=1e-9, atol=1e-9)
    new = X[:5] + 0.1 * np.random.RandomState(1).standard_normal((5, 4))
    np.testing.assert_allclose(np.abs(ours.transform(new * scale) / scale),
                               np.abs(ref.transform(new)), rtol=1e-9, atol=1e-9)
    # in units of distance^2: inf where 1e320 is not a float, 0 where 1e-600 is not
    with np.errstate(over="ignore", under="ignore"):
        expected = ref.reconstruction_error() * scale * scale
    np.testing.assert_allclose(ours.reconstruction_error(), expected, rtol=1e-9)


def test_float32_far_from_the_origin_gives_the_geodesics_of_float64():
    # issue 11 §2: float32 data offset by 1e4 gave geodesics 115% off the float64 run
    X, _ = make_swiss_roll(400, random_state=0)
    X32 = (X + 1e4).astype(np.float32)
    g32 = Isomap(n_neighbors=10).fit(X32).dist_matrix_
    g64 = Isomap(n_neighbors=10).fit(X32.astype(np.float64)).dist_matrix_
    np.testing.assert_allclose(g32, g64, rtol=1e-6, atol=1e-6 * g64.max())
    ref = SkIsomap(n_neighbors=10).fit(X32.astype(np.float64) - 1e4).dist_matrix_
    np.testing.assert_allclose(g32, ref, rtol=1e-5, atol=1e-5 * ref.max())


def test_the_neighbour_graph_is_checked_before_dijkstra_uses_it(monkeypatch):
    import skml.manifold._isomap as I

    X = np.random.RandomState(0).standard_normal((30, 3))
    monkeypatch.setattr(I, "kneighbors_brute", lambda X, Y, k, **kw: (
        np.ones((len(X), k)), np.full((len(X), k), len(Y))))
    with pytest.raises(ValueError, match=r"index outside \[0, 30\).*Isomap cannot use it"):
        Isomap(n_neighbors=5).fit(X)


def test_dijkstra_kernel_refuses_what_it_cannot_search():
    indptr = np.array([0, 2, 3, 3], dtype=np.intp)
    indices = np.array([1, 2, 2], dtype=np.intp)
    src = np.array([0], dtype=np.intp)
    out = np.empty((1, 3))
    for w, msg in (([1.0, -0.5, 1.0], "non-negative edge weights, got -0.5"),
                   ([1.0, np.nan, 1.0], "non-negative edge weights, got nan")):
        with pytest.raises(ValueError, match=msg):
            _graph.dijkstra_rows(indptr, indices, np.array(w), src, out, 1)
    w = np.ones(3)
    with pytest.raises(ValueError, match="edge target 3 outside"):
        _graph.dijkstra_rows(indptr, np.array([1, 3, 2], np.intp), w, src, out, 1)
    with pytest.raises(ValueError, match="source 5 outside"):
        _graph.dijkstra_rows(indptr, indices, w, np.array([5], np.intp), out, 1)
    with pytest.raises(ValueError, match="out has shape"):
        _graph.dijkstra_rows(indptr, indices, w, src, np.empty((1, 2)), 1)
    with pytest.raises(ValueError, match="must not decrease"):
        _graph.dijkstra_rows(np.array([0, 3, 1, 3], np.intp), indices, w, src, out, 1)
    with pytest.raises(ValueError, match="start at 0 and end"):
        _graph.dijkstra_rows(np.array([0, 2, 3, 2], np.intp), indices, w, src, out, 1)
    # +inf is "no edge", not an error
    _graph.dijkstra_rows(indptr, indices, np.array([1.0, np.inf, 1.0]), src, out, 1)
    np.testing.assert_array_equal(out, [[0.0, 1.0, 2.0]])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 20), st.floats(0.0, 0.4), st.sampled_from(
    ["weight", "index", "source", "indptr", "none"]), st.integers(0, 2**31 - 1))
def test_dijkstra_kernel_searches_or_refuses_corrupted_graphs(n, density, corruption,
                                                             seed):
    """Whatever the arrays, the kernel either returns the shortest paths or raises
    ValueError (it never reads or writes out of bounds)."""
    rng = np.random.RandomState(seed)
    m = max(1, int(density * n * n))
    rows, cols = np.sort(rng.randint(0, n, m)), rng.randint(0, n, m)
    weights = rng.uniform(0, 3, m)
    indptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    cols = cols.astype(np.intp)
    sources = rng.randint(0, n, 3).astype(np.intp)
    bad = rng.randint(0, m)
    if corruption == "weight":
        weights[bad] = rng.choice([-1e-300, -5.0, np.nan, -np.inf])
    elif corruption == "index":
        cols[bad] = rng.choice([-1, n, 2**40])
    elif corruption == "source":
        sources[0] = rng.choice([-1, n])
    elif corruption == "indptr" and n > 1:
        indptr[rng.randint(1, n)] = rng.choice([-1, m + 1])
    out = np.empty((3, n))
    if corruption == "none" or (corruption == "indptr" and n == 1):
        _graph.dijkstra_rows(indptr, cols, weights, sources, out, 2)
        ref = _floyd_warshall_reference(n, rows, cols, weights)[sources]
        np.testing.assert_allclose(out, ref, rtol=1e-12)
        return
    with pytest.raises(ValueError):
        _graph.dijkstra_rows(indptr, cols, weights, sources, out, 2)


# ---------------------------------------------------------------------------------------
# scikit-learn's signature (issue 13)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ["auto", "brute", "kd_tree", "ball_tree"])
def test_neighbors_algorithm_and_metric_params_as_sklearn(roll, algorithm):
    X, _ = roll
    kw = dict(n_neighbors=8, neighbors_algorithm=algorithm, metric="minkowski",
              metric_params={"p": 3})
    ours, ref = Isomap(**kw).fit(X[:300]), SkIsomap(**kw).fit(X[:300])
    np.testing.assert_allclose(ours.dist_matrix_, ref.dist_matrix_, rtol=1e-10)
    np.testing.assert_allclose(np.abs(ours.embedding_), np.abs(ref.embedding_),
                               rtol=1e-7, atol=1e-8)
    with pytest.raises(ValueError, match="metric_params accepts only 'p'"):
        Isomap(metric_params={"w": np.ones(3)}).fit(X)


def test_set_output_and_feature_names(roll):
    import pandas as pd

    X, _ = roll
    iso = Isomap(n_neighbors=8).set_output(transform="pandas")
    out = iso.fit_transform(pd.DataFrame(X[:200], columns=["a", "b", "c"]))
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["isomap0", "isomap1"]
    assert list(iso.get_feature_names_out()) == ["isomap0", "isomap1"]
    ref = SkIsomap(n_neighbors=8).fit(X[:200])
    assert list(ref.get_feature_names_out()) == list(iso.get_feature_names_out())


def test_verbose_reports_each_stage(roll, capsys):
    X, _ = roll
    quiet = Isomap(n_neighbors=8).fit(X)
    loud = Isomap(n_neighbors=8, verbose=1).fit(X)
    out = capsys.readouterr()
    assert "[Isomap] neighbourhood graph: 500 points" in out.out
    assert "[Isomap] shortest paths" in out.out and "[Isomap] top 2 eigenvectors" in out.out
    assert "Isomap: shortest paths:" in out.err and "/500 [" in out.err  # tqdm bar
    # the blocks of sources shown by the bar give the same geodesics
    np.testing.assert_array_equal(loud.dist_matrix_, quiet.dist_matrix_)
    Isomap(n_neighbors=8).fit(X[:100])
    assert capsys.readouterr() == ("", "")  # nothing on stdout or stderr


# ---------------------------------------------------------------------------------------
# metric="precomputed", dense and sparse graphs (issues 13, 14)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("sparse_graph", [False, True])
@pytest.mark.parametrize("params", [dict(n_neighbors=8), dict(n_neighbors=None, radius=5.0)],
                         ids=["knn", "radius"])
def test_precomputed_distances_and_graphs_match_sklearn(roll, sparse_graph, params):
    from sklearn.neighbors import KNeighborsTransformer

    X, _ = roll
    X = X[:300]
    if sparse_graph:
        knn = KNeighborsTransformer(n_neighbors=40, mode="distance").fit(X)
        data, new = knn.transform(X), knn.transform(X[:5] + 0.01)
        data.has_sorted_indices = False
    else:
        from scipy.spatial.distance import cdist

        data, new = cdist(X, X), cdist(X[:5] + 0.01, X)
    ours = Isomap(metric="precomputed", **params).fit(data)
    ref = SkIsomap(metric="precomputed", **params).fit(data)
    np.testing.assert_allclose(ours.dist_matrix_, ref.dist_matrix_, rtol=1e-12)
    np.testing.assert_allclose(np.abs(ours.embedding_), np.abs(ref.embedding_),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.abs(ours.transform(new)), np.abs(ref.transform(new)),
                               rtol=1e-9, atol=1e-9)


def test_precomputed_sparse_graph_equals_the_dense_matrix_and_errors_as_sklearn(roll):
    from scipy import sparse
    from scipy.spatial.distance import cdist

    X, _ = roll
    D = cdist(X[:200], X[:200])
    nb = np.argsort(D + np.diag(np.full(200, np.inf)), axis=1)[:, :8]
    mask = np.zeros_like(D, dtype=bool)
    mask[np.arange(200)[:, None], nb] = True
    G = sparse.csr_matrix(np.where(mask, D, 0.0))
    a = Isomap(metric="precomputed", n_neighbors=8).fit(G)
    b = Isomap(metric="precomputed", n_neighbors=8).fit(D)
    np.testing.assert_array_equal(a.dist_matrix_, b.dist_matrix_)
    with pytest.raises(ValueError, match="9 neighbors per samples are required"):
        Isomap(metric="precomputed", n_neighbors=9).fit(G)
    from sklearn.neighbors import KNeighborsTransformer

    far = np.vstack([X[:50], X[:50] + 1000.0])  # two clusters: a disconnected kNN graph
    nb2 = KNeighborsTransformer(n_neighbors=4, mode="distance").fit_transform(far)
    with pytest.raises(RuntimeError, match="cannot be completed with metric='precomputed'"):
        Isomap(metric="precomputed", n_neighbors=3).fit(nb2)
    with pytest.raises(RuntimeError, match="cannot be completed with metric='precomputed'"):
        SkIsomap(metric="precomputed", n_neighbors=3).fit(nb2)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", [dict(n_neighbors=8), dict(n_neighbors=None, radius=6.0)],
                         ids=["knn", "radius"])
def test_sparse_features_give_the_geodesics_of_the_dense_copy(fmt, dtype, params):
    from scipy import sparse

    rng = np.random.RandomState(0)
    X = sparse.random(200, 30, density=0.2, random_state=rng, format="csr") * 4
    X = X.tolil()
    X[::23] = 0  # empty rows (duplicates of each other: geodesic distance 0)
    X = X.tocsr().astype(dtype)
    X.data[::7] = 0  # explicit zeros
    X = unsorted_copy(X)
    assert not X.has_sorted_indices
    a = Isomap(**params).fit(X.asformat(fmt))
    b = Isomap(**params).fit(X.toarray())
    np.testing.assert_allclose(a.dist_matrix_, b.dist_matrix_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.abs(a.embedding_), np.abs(b.embedding_), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(np.abs(a.transform(X[:5])), np.abs(b.transform(
        X[:5].toarray())), rtol=1e-5, atol=1e-5)
