"""mahalanobis_distances against scipy's cdist(metric="mahalanobis")."""
import numpy as np
import pytest
from scipy.spatial.distance import cdist

from skml.metrics import mahalanobis_distances


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    A = rng.randn(5, 5)
    return rng.randn(80, 5) @ A + 3, rng.randn(30, 5) @ A


def test_matches_scipy_with_a_given_inverse_covariance(data):
    X, Y = data
    VI = np.linalg.inv(np.cov(np.vstack([X, Y]), rowvar=False))
    np.testing.assert_allclose(mahalanobis_distances(X, Y, VI),
                               cdist(X, Y, "mahalanobis", VI=VI), rtol=1e-9, atol=1e-9)


def test_default_inverse_covariance_is_xs(data):
    X, Y = data
    VI = np.linalg.pinv(np.cov(X, rowvar=False))
    np.testing.assert_allclose(mahalanobis_distances(X, Y),
                               cdist(X, Y, "mahalanobis", VI=VI), rtol=1e-9, atol=1e-9)
    D = mahalanobis_distances(X)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    np.testing.assert_allclose(D, cdist(X, X, "mahalanobis", VI=VI), atol=1e-6)


def test_distance_to_a_distribution(data):
    X, _ = data
    mu = X.mean(axis=0)
    VI = np.linalg.inv(np.cov(X, rowvar=False))
    d = mahalanobis_distances(X, mu[None, :], VI)[:, 0]
    ref = np.sqrt(np.einsum("ij,jk,ik->i", X - mu, VI, X - mu))
    np.testing.assert_allclose(d, ref, rtol=1e-9)
    # under its own covariance, the mean squared distance is (n-1)/n * p
    np.testing.assert_allclose(np.mean(d**2), X.shape[1] * (len(X) - 1) / len(X))


def test_singular_inverse_covariance_is_a_pseudometric(data):
    X, Y = data
    VI = np.diag([1.0, 2.0, 0.0, 0.5, 0.0])  # semi-definite: two directions ignored
    np.testing.assert_allclose(mahalanobis_distances(X, Y, VI),
                               cdist(X, Y, "mahalanobis", VI=VI), rtol=1e-9, atol=1e-9)


def test_float32_and_errors(data):
    X, Y = data
    VI = np.eye(5)
    assert mahalanobis_distances(X.astype(np.float32), Y.astype(np.float32),
                                 VI).dtype == np.float32
    with pytest.raises(ValueError, match="positive semi-definite"):
        mahalanobis_distances(X, Y, -np.eye(5))
    with pytest.raises(ValueError, match="shape"):
        mahalanobis_distances(X, Y, np.eye(4))
    with pytest.raises(ValueError, match="symmetric"):
        mahalanobis_distances(X, Y, np.triu(np.ones((5, 5))))
    with pytest.raises(ValueError, match="features"):
        mahalanobis_distances(X, Y[:, :4])
