"""MDS: classical scaling recovers Euclidean configurations exactly; SMACOF and its
non-metric variant reduce the stress; new points are placed consistently."""
import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.stats import spearmanr

from skml.decomposition import PCA
from skml.manifold import MDS
from skml.metrics import pairwise_distances


def procrustes_error(Y, X):
    """Relative error of the best rotation/reflection of centred Y onto centred X."""
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    R, _ = orthogonal_procrustes(Yc, Xc)
    return np.linalg.norm(Yc @ R - Xc) / np.linalg.norm(Xc)


@pytest.fixture(scope="module")
def points():
    return np.random.RandomState(0).randn(60, 3) * [5.0, 2.0, 1.0]


def test_classical_mds_reproduces_points_up_to_rotation(points):
    D = pairwise_distances(points)
    Y = MDS(n_components=3, metric="classical", dissimilarity="precomputed").fit_transform(D)
    assert procrustes_error(Y, points) <= 1e-8
    # the same from the raw coordinates, and a zero stress
    mds = MDS(n_components=3, metric="classical").fit(points)
    assert procrustes_error(mds.embedding_, points) <= 1e-8
    assert mds.stress_ < 1e-16 * np.sum(D**2) and mds.n_iter_ == 0


def test_classical_mds_places_new_points_exactly(points):
    train, new = points[:45], points[45:]
    mds = MDS(n_components=3, metric="classical").fit(train)
    placed = mds.transform(new)
    np.testing.assert_array_equal(mds.transform(train), mds.transform(train))
    # the rotation that maps the training embedding onto the data maps the new points too
    Xc = train - train.mean(axis=0)
    R, _ = orthogonal_procrustes(mds.embedding_ - mds.embedding_.mean(axis=0), Xc)
    mapped = (placed - mds.embedding_.mean(axis=0)) @ R + train.mean(axis=0)
    np.testing.assert_allclose(mapped, new, atol=1e-8)


def test_classical_mds_of_euclidean_distances_is_pca(points):
    # Torgerson scaling of Euclidean distances gives the principal component scores
    Y = MDS(n_components=2, metric="classical").fit_transform(points)
    scores = PCA(n_components=2).fit_transform(points)
    signs = np.sign(np.sum(Y * scores, axis=0))
    np.testing.assert_allclose(Y * signs, scores, atol=1e-8)


def test_metric_smacof_from_random_starts_fits_euclidean_distances():
    X = np.random.RandomState(1).rand(40, 2) * 10
    D = pairwise_distances(X)
    mds = MDS(n_components=2, init="random", n_init=4, random_state=0,
              dissimilarity="precomputed", max_iter=1000, eps=1e-9).fit(D)
    fitted = pairwise_distances(mds.embedding_)
    assert mds.stress_ < 1e-6 * np.sum(D**2) / 2
    assert procrustes_error(mds.embedding_, X) < 1e-3
    # the stress reported is the raw stress of the embedding
    np.testing.assert_allclose(mds.stress_, np.sum((fitted - D) ** 2) / 2, rtol=1e-8)
    # more random starts never do worse: the first start is the same seed
    one = MDS(init="random", n_init=1, random_state=0, dissimilarity="precomputed",
              max_iter=1000, eps=1e-9).fit(D)
    assert mds.stress_ <= one.stress_ + 1e-12


def test_smacof_lowers_the_stress_of_its_start():
    rng = np.random.RandomState(2)
    X = rng.randn(50, 6)
    D = pairwise_distances(X)
    classical = MDS(metric="classical", dissimilarity="precomputed").fit(D)
    metric = MDS(metric="metric", dissimilarity="precomputed").fit(D)
    assert metric.stress_ < classical.stress_
    assert metric.n_iter_ >= 1


def test_nonmetric_mds_recovers_order_of_monotone_dissimilarities():
    X = np.random.RandomState(3).rand(40, 2)
    D = pairwise_distances(X)
    delta = D**3 + 2 * D  # only the order of the dissimilarities is meaningful
    mds = MDS(metric="nonmetric", dissimilarity="precomputed", max_iter=500).fit(delta)
    iu = np.triu_indices(40, 1)
    rho = spearmanr(pairwise_distances(mds.embedding_)[iu], delta[iu]).statistic
    assert rho > 0.99
    assert mds.stress_ < 0.05  # Kruskal's Stress-1 (normalised by default)
    assert procrustes_error(mds.embedding_ / np.std(mds.embedding_),
                            X / np.std(X)) < 0.1


def test_boolean_metric_is_scikit_learns_old_spelling():
    X = np.random.RandomState(4).rand(20, 3)
    a = MDS(metric=False, random_state=0).fit(X)
    b = MDS(metric="nonmetric", random_state=0).fit(X)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)


@pytest.mark.parametrize("metric", ["metric", "nonmetric"])
def test_smacof_transform_places_training_points_on_their_embedding(metric):
    rng = np.random.RandomState(5)
    X = rng.rand(30, 3)
    mds = MDS(metric=metric).fit(X)
    np.testing.assert_array_equal(mds.transform(X), mds.embedding_)
    # a new point close to a training point lands close to it
    new = X[:5] + 1e-3
    placed = mds.transform(new)
    scale = np.ptp(mds.embedding_)
    assert np.abs(placed - mds.embedding_[:5]).max() < 0.05 * scale


def test_precomputed_transform_takes_dissimilarities_to_training_points(points):
    train, new = points[:40], points[40:]
    mds = MDS(dissimilarity="precomputed").fit(pairwise_distances(train))
    direct = MDS().fit(train)
    np.testing.assert_allclose(mds.embedding_, direct.embedding_, atol=1e-10)
    np.testing.assert_allclose(mds.transform(pairwise_distances(new, train)),
                               direct.transform(new), atol=1e-8)


def test_input_errors():
    D = pairwise_distances(np.random.RandomState(6).rand(10, 2))
    with pytest.raises(ValueError, match="square"):
        MDS(dissimilarity="precomputed").fit(D[:, :5])
    asym = D.copy()
    asym[0, 1] += 1
    with pytest.raises(ValueError, match="symmetric"):
        MDS(dissimilarity="precomputed").fit(asym)
    with pytest.raises(ValueError, match="non-negative"):
        MDS(dissimilarity="precomputed").fit(-D)
    with pytest.raises(ValueError, match="metric must be one of"):
        MDS(metric="ordinal").fit(D)
    with pytest.raises(ValueError, match="init must have shape"):
        MDS(init=np.zeros((3, 2))).fit(D)


# ---------------------------------------------------------------------------------------
# Hostile input (issue 11)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-300])
def test_classical_scaling_of_huge_and_tiny_data_matches_sklearn(scale):
    # the squared dissimilarities overflowed (|x| ~ 1e160: "array must not contain infs")
    from sklearn.manifold import ClassicalMDS

    X = np.random.RandomState(0).standard_normal((40, 4))
    ours = MDS(metric="classical").fit(X * scale)
    ref = ClassicalMDS().fit(X)
    np.testing.assert_allclose(np.abs(ours.embedding_ / scale), np.abs(ref.embedding_),
                               rtol=1e-9, atol=1e-9)
    with np.errstate(over="ignore", under="ignore"):
        expected = ref.eigenvalues_ * scale * scale  # inf or 0 beyond the float range
    np.testing.assert_allclose(ours.eigenvalues_, expected, rtol=1e-9)


@pytest.mark.parametrize("variant", ["metric", "nonmetric"])
@pytest.mark.parametrize("exponent", [530, 996, -996])
def test_smacof_of_huge_and_tiny_data_is_the_scaled_fit(variant, exponent):
    # the stress is in units of distance^2: work in the data's own scale. With a power
    # of two the whole run rounds the same way: equality is exact.
    X = np.random.RandomState(0).standard_normal((40, 4))
    ref = MDS(metric=variant, random_state=0).fit(X)
    ours = MDS(metric=variant, random_state=0).fit(np.ldexp(X, exponent))
    np.testing.assert_allclose(np.ldexp(ours.embedding_, -exponent), ref.embedding_,
                               rtol=1e-12, atol=1e-12)
    assert ours.n_iter_ == ref.n_iter_
    with np.errstate(over="ignore", under="ignore"):
        expected = ref.stress_ if variant == "nonmetric" else float(
            np.ldexp(ref.stress_, 2 * exponent))
    np.testing.assert_allclose(ours.stress_, expected, rtol=1e-12)
    new = X[:3] + 0.1
    np.testing.assert_allclose(np.ldexp(ours.transform(np.ldexp(new, exponent)),
                                        -exponent), ref.transform(new), rtol=1e-10,
                               atol=1e-10)
