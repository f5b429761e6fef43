"""MDS and ClassicalMDS: equal to scikit-learn 1.9's for the same start; classical
scaling recovers Euclidean configurations exactly; SMACOF and its non-metric variant
reduce the stress; new points are placed consistently."""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.stats import spearmanr
from sklearn.manifold import MDS as SkMDS
from sklearn.manifold import ClassicalMDS as SkClassicalMDS
from sklearn.pipeline import make_pipeline

from skml.decomposition import PCA
from skml.manifold import MDS, ClassicalMDS
from skml.metrics import pairwise_distances


def procrustes_error(Y, X):
    """Relative error of the best rotation/reflection of centred Y onto centred X."""
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    R, _ = orthogonal_procrustes(Yc, Xc)
    return np.linalg.norm(Yc @ R - Xc) / np.linalg.norm(Xc)


@pytest.fixture(scope="module")
def points():
    return np.random.RandomState(0).randn(60, 3) * [5.0, 2.0, 1.0]


# ---------------------------------------------------------------------------------------
# Equal to scikit-learn 1.9 (issue 13)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric_mds", [True, False])
@pytest.mark.parametrize("normalized_stress", ["auto", True, False])
def test_mds_equals_sklearn_for_the_same_start(metric_mds, normalized_stress):
    X = np.random.RandomState(0).rand(40, 5)
    init = np.random.RandomState(1).rand(40, 2)
    kw = dict(metric_mds=metric_mds, normalized_stress=normalized_stress, init="random")
    ref = SkMDS(**kw).fit(X, init=init)
    ours = MDS(**kw).fit(X, init=init)
    np.testing.assert_allclose(ours.embedding_, ref.embedding_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.stress_, ref.stress_, rtol=1e-10)
    np.testing.assert_allclose(ours.dissimilarity_matrix_, ref.dissimilarity_matrix_,
                               rtol=1e-12, atol=1e-14)
    assert ours.n_iter_ == ref.n_iter_


@pytest.mark.parametrize("metric_mds", [True, False])
@pytest.mark.parametrize("n_jobs", [None, 2])
def test_mds_random_starts_are_sklearns_for_the_same_seed(metric_mds, n_jobs):
    X = np.random.RandomState(2).rand(30, 4)
    kw = dict(metric_mds=metric_mds, init="random", random_state=0, n_init=3,
              n_jobs=n_jobs)
    from joblib import parallel_config

    with parallel_config(backend="threading"):  # n_jobs=2: the seeds path, no processes
        ref, ours = SkMDS(**kw).fit(X), MDS(**kw).fit(X)
    np.testing.assert_allclose(ours.embedding_, ref.embedding_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.stress_, ref.stress_, rtol=1e-10)


@pytest.mark.parametrize("metric_mds", [True, False])
@pytest.mark.parametrize("metric,params", [("precomputed", None), ("manhattan", None),
                                           ("minkowski", {"p": 3}),
                                           ("braycurtis", None)])
def test_mds_classical_start_and_metrics_equal_sklearn(metric_mds, metric, params):
    X = np.random.RandomState(3).rand(35, 4)
    data = pairwise_distances(X) if metric == "precomputed" else X
    kw = dict(metric_mds=metric_mds, init="classical_mds", metric=metric,
              metric_params=params)
    ref, ours = SkMDS(**kw).fit(data), MDS(**kw).fit(data)
    np.testing.assert_allclose(ours.embedding_, ref.embedding_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours.stress_, ref.stress_, rtol=1e-9)


@pytest.mark.parametrize("metric,params", [("euclidean", None), ("precomputed", None),
                                           ("cosine", None), ("minkowski", {"p": 1.5}),
                                           ("canberra", None)])
def test_classical_mds_equals_sklearn(metric, params):
    X = np.random.RandomState(4).rand(50, 6)
    data = pairwise_distances(X) if metric == "precomputed" else X
    ref = SkClassicalMDS(3, metric=metric, metric_params=params).fit(data)
    ours = ClassicalMDS(3, metric=metric, metric_params=params).fit(data)
    np.testing.assert_allclose(ours.eigenvalues_, ref.eigenvalues_, rtol=1e-9)
    np.testing.assert_allclose(ours.embedding_, ref.embedding_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.dissimilarity_matrix_, ref.dissimilarity_matrix_,
                               rtol=1e-12, atol=1e-14)


def test_deprecated_spellings_and_default_init_warn_as_sklearn():
    X = np.random.RandomState(5).rand(20, 3)
    with pytest.warns(FutureWarning, match="default value of `init`"):
        MDS().fit(X)
    with pytest.warns(FutureWarning, match="metric_mds=False instead of metric=False"):
        a = MDS(metric=False, init="random", random_state=0).fit(X)
    b = MDS(metric_mds=False, init="random", random_state=0).fit(X)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    with pytest.warns(FutureWarning, match="`dissimilarity` parameter is deprecated"):
        c = MDS(dissimilarity="precomputed", init="random", random_state=0).fit(
            pairwise_distances(X))
    d = MDS(metric="precomputed", init="random", random_state=0).fit(
        pairwise_distances(X))
    np.testing.assert_array_equal(c.embedding_, d.embedding_)
    with pytest.raises(ValueError, match="both `dissimilarity` and `metric`"):
        MDS(dissimilarity="precomputed", metric="manhattan", init="random").fit(X)
    with pytest.warns(UserWarning, match="square matrix"):
        MDS(init="random").fit(np.random.RandomState(0).rand(6, 6))


def test_set_output_and_feature_names():
    X = np.random.RandomState(6).rand(25, 3)
    for est in (MDS(init="classical_mds"), ClassicalMDS()):
        est.set_output(transform="pandas")
        out = est.fit_transform(pd.DataFrame(X, columns=["a", "b", "c"]))
        assert isinstance(out, pd.DataFrame)
        name = type(est).__name__.lower()
        assert list(out.columns) == [f"{name}0", f"{name}1"]
        assert list(est.get_feature_names_out()) == [f"{name}0", f"{name}1"]
        assert isinstance(est.transform(pd.DataFrame(X[:3], columns=["a", "b", "c"])),
                          pd.DataFrame)
    Z = make_pipeline(MDS(init="classical_mds"), PCA(1)).fit(X).transform(X[:4])
    assert Z.shape == (4, 1)


def test_verbose_reports_runs_and_iterations(capsys):
    X = np.random.RandomState(7).rand(20, 3)
    MDS(init="random", n_init=2, verbose=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "[MDS] run 1/2: raw stress" in out and "[MDS] run 2/2" in out
    assert "iteration 1," not in out
    MDS(init="random", verbose=2, random_state=0, max_iter=3).fit(X)
    assert "[MDS] iteration 3, stress" in capsys.readouterr().out
    MDS(init="random", verbose=0, random_state=0).fit(X)
    assert capsys.readouterr() == ("", "")  # nothing on stdout or stderr


# ---------------------------------------------------------------------------------------
# Classical scaling
# ---------------------------------------------------------------------------------------

def test_classical_mds_reproduces_points_up_to_rotation(points):
    D = pairwise_distances(points)
    Y = ClassicalMDS(n_components=3, metric="precomputed").fit_transform(D)
    assert procrustes_error(Y, points) <= 1e-8
    mds = ClassicalMDS(n_components=3).fit(points)
    assert procrustes_error(mds.embedding_, points) <= 1e-8


def test_classical_mds_places_new_points_exactly(points):
    train, new = points[:45], points[45:]
    mds = ClassicalMDS(n_components=3).fit(train)
    placed = mds.transform(new)
    np.testing.assert_allclose(mds.transform(train), mds.embedding_, atol=1e-10)
    # the rotation that maps the training embedding onto the data maps the new points too
    Xc = train - train.mean(axis=0)
    R, _ = orthogonal_procrustes(mds.embedding_ - mds.embedding_.mean(axis=0), Xc)
    mapped = (placed - mds.embedding_.mean(axis=0)) @ R + train.mean(axis=0)
    np.testing.assert_allclose(mapped, new, atol=1e-8)


def test_classical_mds_of_euclidean_distances_is_pca(points):
    # Torgerson scaling of Euclidean distances gives the principal component scores
    Y = ClassicalMDS(n_components=2).fit_transform(points)
    scores = PCA(n_components=2).fit_transform(points)
    signs = np.sign(np.sum(Y * scores, axis=0))
    np.testing.assert_allclose(Y * signs, scores, atol=1e-8)


def test_classical_mds_of_non_euclidean_dissimilarities_gives_zero_axes_not_nan():
    # scikit-learn returns NaN coordinates for negative eigenvalues
    D = np.array([[0.0, 1.0, 1.0, 1.0], [1.0, 0.0, 1.0, 3.0], [1.0, 1.0, 0.0, 1.0],
                  [1.0, 3.0, 1.0, 0.0]])
    mds = ClassicalMDS(4, metric="precomputed").fit(D)
    assert mds.eigenvalues_[-1] < 0
    np.testing.assert_array_equal(mds.embedding_[:, -1], 0.0)
    assert np.all(np.isfinite(mds.embedding_))


# ---------------------------------------------------------------------------------------
# SMACOF
# ---------------------------------------------------------------------------------------

def test_metric_smacof_from_random_starts_fits_euclidean_distances():
    X = np.random.RandomState(1).rand(40, 2) * 10
    D = pairwise_distances(X)
    mds = MDS(n_components=2, init="random", n_init=4, random_state=0,
              metric="precomputed", max_iter=1000, eps=1e-9).fit(D)
    fitted = pairwise_distances(mds.embedding_)
    assert mds.stress_ < 1e-6 * np.sum(D**2) / 2
    assert procrustes_error(mds.embedding_, X) < 1e-3
    # the stress reported is the raw stress of the embedding
    np.testing.assert_allclose(mds.stress_, np.sum((fitted - D) ** 2) / 2, rtol=1e-8)
    # more random starts never do worse: the first start is the same seed
    one = MDS(init="random", n_init=1, random_state=0, metric="precomputed",
              max_iter=1000, eps=1e-9).fit(D)
    assert mds.stress_ <= one.stress_ + 1e-12


def test_smacof_lowers_the_stress_of_its_start():
    X = np.random.RandomState(2).randn(50, 6)
    D = pairwise_distances(X)
    start = ClassicalMDS(metric="precomputed").fit_transform(D)
    start_stress = np.sum((pairwise_distances(start) - D) ** 2) / 2
    mds = MDS(init="classical_mds", metric="precomputed").fit(D)
    assert mds.stress_ < start_stress and mds.n_iter_ >= 1


def test_nonmetric_mds_recovers_order_of_monotone_dissimilarities():
    X = np.random.RandomState(3).rand(40, 2)
    D = pairwise_distances(X)
    delta = D**3 + 2 * D  # only the order of the dissimilarities is meaningful
    mds = MDS(metric_mds=False, metric="precomputed", init="classical_mds",
              max_iter=500).fit(delta)
    iu = np.triu_indices(40, 1)
    rho = spearmanr(pairwise_distances(mds.embedding_)[iu], delta[iu]).statistic
    assert rho > 0.99
    assert mds.stress_ < 0.05  # Kruskal's Stress-1 (normalised by default)
    assert procrustes_error(mds.embedding_ / np.std(mds.embedding_),
                            X / np.std(X)) < 0.1


@pytest.mark.parametrize("metric_mds", [True, False])
def test_smacof_transform_places_training_points_on_their_embedding(metric_mds):
    X = np.random.RandomState(5).rand(30, 3)
    mds = MDS(metric_mds=metric_mds, init="classical_mds").fit(X)
    np.testing.assert_array_equal(mds.transform(X), mds.embedding_)
    # a new point close to a training point lands close to it
    placed = mds.transform(X[:5] + 1e-3)
    scale = np.ptp(mds.embedding_)
    assert np.abs(placed - mds.embedding_[:5]).max() < 0.05 * scale


def test_precomputed_transform_takes_dissimilarities_to_training_points(points):
    train, new = points[:40], points[40:]
    mds = MDS(metric="precomputed", init="classical_mds").fit(pairwise_distances(train))
    direct = MDS(init="classical_mds").fit(train)
    np.testing.assert_allclose(mds.embedding_, direct.embedding_, atol=1e-10)
    np.testing.assert_allclose(mds.transform(pairwise_distances(new, train)),
                               direct.transform(new), atol=1e-8)


def test_input_errors():
    D = pairwise_distances(np.random.RandomState(6).rand(10, 2))
    for est in (MDS(metric="precomputed", init="random"),
                ClassicalMDS(metric="precomputed")):
        with pytest.raises(ValueError, match="square"):
            est.fit(D[:, :5])
        asym = D.copy()
        asym[0, 1] += 1
        with pytest.raises(ValueError, match="symmetric"):
            est.fit(asym)
        with pytest.raises(ValueError, match="non-negative"):
            est.fit(-D)
    with pytest.raises(ValueError, match="init matrix should be of shape"):
        MDS(init=np.zeros((3, 2))).fit(D)
    with pytest.raises(ValueError, match="n_components=11 must be at most"):
        ClassicalMDS(11, metric="precomputed").fit(D)
    with pytest.raises(ValueError, match="init must be"):
        MDS(init="spectral").fit(D)


# ---------------------------------------------------------------------------------------
# Hostile input (issue 11)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-300])
def test_classical_scaling_of_huge_and_tiny_data_matches_sklearn(scale):
    # the squared dissimilarities overflowed (|x| ~ 1e160: "array must not contain infs")
    X = np.random.RandomState(0).standard_normal((40, 4))
    ours = ClassicalMDS().fit(X * scale)
    ref = SkClassicalMDS().fit(X)
    np.testing.assert_allclose(np.abs(ours.embedding_ / scale), np.abs(ref.embedding_),
                               rtol=1e-9, atol=1e-9)
    with np.errstate(over="ignore", under="ignore"):
        expected = ref.eigenvalues_ * scale * scale  # inf or 0 beyond the float range
    np.testing.assert_allclose(ours.eigenvalues_, expected, rtol=1e-9)


@pytest.mark.parametrize("metric_mds", [True, False])
@pytest.mark.parametrize("exponent", [530, 996, -996])
def test_smacof_of_huge_and_tiny_data_is_sklearns_fit_of_the_plain_data(metric_mds,
                                                                      exponent):
    # metric MDS scales with the data (embedding 2**e times sklearn's, raw stress 4**e,
    # inf or 0 beyond the float range); non-metric MDS normalises its disparities, so
    # its embedding is sklearn's of the plain data
    X = np.random.RandomState(0).standard_normal((40, 4))
    init = np.random.RandomState(1).rand(40, 2)
    ref = SkMDS(metric_mds=metric_mds, init="random").fit(X, init=init)
    ours = MDS(metric_mds=metric_mds, init="random").fit(np.ldexp(X, exponent),
                                                         init=init)
    out = exponent if metric_mds else 0
    np.testing.assert_allclose(np.ldexp(ours.embedding_, -out), ref.embedding_,
                               rtol=1e-10, atol=1e-12)
    assert ours.n_iter_ == ref.n_iter_
    with np.errstate(over="ignore", under="ignore"):
        expected = float(np.ldexp(ref.stress_, 2 * out))
    np.testing.assert_allclose(ours.stress_, expected, rtol=1e-10)
    plain = MDS(metric_mds=metric_mds, init="random").fit(X, init=init)
    new = X[:3] + 0.1
    np.testing.assert_allclose(np.ldexp(ours.transform(np.ldexp(new, exponent)), -out),
                               plain.transform(new), rtol=1e-9, atol=1e-10)
