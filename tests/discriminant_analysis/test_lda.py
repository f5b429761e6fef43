"""LinearDiscriminantAnalysis against scikit-learn's on iris, wine and a binary task."""
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as SkLDA

from skml.discriminant_analysis import LinearDiscriminantAnalysis as LDA

SETTINGS = [
    dict(solver="svd"),
    dict(solver="svd", n_components=1),
    dict(solver="eigen"),
    dict(solver="eigen", shrinkage="auto"),
    dict(solver="eigen", shrinkage=0.2),
    dict(solver="lsqr", shrinkage="auto"),
    dict(solver="svd", priors=[0.5, 0.3, 0.2]),
]


@pytest.mark.parametrize("load", [load_iris, load_wine], ids=["iris", "wine"])
@pytest.mark.parametrize("params", SETTINGS, ids=lambda p: "-".join(map(str, p.values())))
def test_transform_and_predictions_match_sklearn(load, params):
    X, y = load(return_X_y=True)
    ours = LDA(**params).fit(X, y)
    ref = SkLDA(**params).fit(X, y)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-10)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X),
                               rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-8)
    if params["solver"] != "lsqr":
        # the same scalings and signs, not only the same subspace
        np.testing.assert_allclose(ours.transform(X), ref.transform(X), atol=1e-9)
        np.testing.assert_allclose(ours.explained_variance_ratio_,
                                   ref.explained_variance_ratio_, atol=1e-12)


@pytest.mark.parametrize("solver", ["svd", "eigen", "lsqr"])
def test_binary_problem_has_one_decision_function(solver):
    X, y = load_breast_cancer(return_X_y=True)
    ours = LDA(solver=solver).fit(X, y)
    ref = SkLDA(solver=solver).fit(X, y)
    assert ours.coef_.shape == (1, X.shape[1]) and ours.intercept_.shape == (1,)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X),
                               rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.predict_log_proba(X), ref.predict_log_proba(X),
                               atol=1e-8)


def test_transform_separates_classes_and_is_within_class_whitened():
    X, y = load_wine(return_X_y=True)
    Z = LDA().fit_transform(X, y)
    within = sum(np.cov(Z[y == c], rowvar=False, bias=True) * np.mean(y == c)
                 for c in np.unique(y))
    # the svd solver whitens the pooled within-class covariance (up to n/(n - k))
    np.testing.assert_allclose(within, np.eye(2), atol=1e-8)


def test_string_labels_and_store_covariance():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    lda = LDA(store_covariance=True).fit(X, names)
    assert set(lda.predict(X)) == set(names)
    ref = SkLDA(store_covariance=True).fit(X, y)
    np.testing.assert_allclose(lda.covariance_, ref.covariance_, atol=1e-12)


def test_errors_and_warnings():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LDA().fit(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="n_components=3 cannot be larger"):
        LDA(n_components=3).fit(X, y)
    with pytest.raises(NotImplementedError, match="shrinkage"):
        LDA(shrinkage="auto").fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        LDA(priors=[1.5, -0.2, -0.3]).fit(X, y)
    with pytest.warns(UserWarning, match="do not sum to 1"):
        lda = LDA(priors=[2, 1, 1]).fit(X, y)
    np.testing.assert_allclose(lda.priors_, [0.5, 0.25, 0.25])
    with pytest.raises(NotImplementedError, match="lsqr"):
        LDA(solver="lsqr").fit(X, y).transform(X)
    with pytest.raises(ValueError, match="shrinkage must be"):
        LDA(solver="eigen", shrinkage=2.0).fit(X, y)


@pytest.mark.parametrize("params", SETTINGS, ids=lambda p: "-".join(map(str, p.values())))
@pytest.mark.parametrize("scale,offset", [(1e160, 0.0), (1e-300, 0.0), (1.0, 1e8)])
def test_huge_tiny_and_far_data_give_sklearn_posteriors_of_the_plain_data(params, scale,
                                                                          offset):
    # issue 11: at 1e160 / 1e-300 every solver raised (IndexError, "infs or NaNs",
    # LinAlgError) -- scikit-learn's too; at an offset of 1e8 the intercepts cancelled
    # (lsqr scored 0.67 instead of 0.98 on iris, sklearn 0.62). The posterior does not
    # depend on the unit or origin of X: the reference is sklearn on the plain data.
    X, y = load_iris(return_X_y=True)
    ref = SkLDA(**params).fit(X, y)
    ours = LDA(**params).fit(X * scale + offset * scale, y)
    Xs = X * scale + offset * scale
    np.testing.assert_array_equal(ours.predict(Xs), ref.predict(X))
    np.testing.assert_allclose(ours.predict_proba(Xs), ref.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(ours.means_ / scale - offset, ref.means_, rtol=1e-6,
                               atol=1e-6)
    if params["solver"] != "lsqr" and offset == 0:
        np.testing.assert_allclose(np.abs(ours.transform(Xs)), np.abs(ref.transform(X)),
                                   rtol=1e-6, atol=1e-6)
