"""Sparse-feature tests of TSNE and Isomap that wait on the sparse neighbour search of
``skml.metrics.kneighbors_brute`` (the neighbors helper's issue-14 work).

Not collected by pytest (the name does not start with ``test_``): until CSR input reaches
the search, TSNE and Isomap raise its TypeError on sparse features. Once it lands, append
these functions to ``test_tsne.py`` / ``test_isomap.py`` and set
``tags.input_tags.sparse = True`` in ``TSNE.__sklearn_tags__`` and
``Isomap.__sklearn_tags__`` (so the common checks feed sparse data too).
"""
import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from skml.manifold import TSNE, Isomap
from skml.manifold import _tsne as T
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
    X.has_sorted_indices = False
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
    assert abs(ts - td) < 0.01


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
    X.has_sorted_indices = False
    a = Isomap(**params).fit(X.asformat(fmt))
    b = Isomap(**params).fit(X.toarray())
    np.testing.assert_allclose(a.dist_matrix_, b.dist_matrix_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.abs(a.embedding_), np.abs(b.embedding_), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(np.abs(a.transform(X[:5])), np.abs(b.transform(
        X[:5].toarray())), rtol=1e-5, atol=1e-5)
