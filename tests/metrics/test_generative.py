"""The Frechet distance against the closed form for Gaussians and against the
(non-symmetric) sqrtm formula of pytorch-fid; FID with a transformer and a callable."""
import numpy as np
import pytest
from scipy.linalg import sqrtm
from sklearn.decomposition import PCA

from skml.metrics import fid_score, frechet_distance

RNG = np.random.RandomState(0)


def _population_gaussian(mean, cov, n):
    """n points whose sample mean and (ddof=1) covariance are exactly mean and cov."""
    Z = RNG.randn(n, len(mean))
    Z -= Z.mean(axis=0)
    L = np.linalg.cholesky(np.cov(Z, rowvar=False))
    Z = Z @ np.linalg.inv(L).T  # identity sample covariance
    return Z @ np.linalg.cholesky(cov).T + mean


def test_closed_form_for_commuting_gaussians():
    # diagonal covariances commute: d^2 = |mu1 - mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 2.0])
    A = _population_gaussian(mu1, np.diag(s1), 500)
    B = _population_gaussian(mu2, np.diag(s2), 400)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert frechet_distance(A, B) == pytest.approx(expected, rel=1e-10)
    assert frechet_distance(A, B, squared=False) == pytest.approx(np.sqrt(expected))


def test_general_covariances_match_the_sqrtm_formula_and_are_symmetric():
    C1 = np.cov(RNG.randn(50, 6) @ RNG.randn(6, 6), rowvar=False)
    C2 = np.cov(RNG.randn(50, 6) @ RNG.randn(6, 6), rowvar=False)
    A = _population_gaussian(np.zeros(6), C1, 300)
    B = _population_gaussian(np.ones(6), C2, 300)
    ref = 6.0 + np.trace(C1) + np.trace(C2) - 2 * np.trace(sqrtm(C1 @ C2).real)
    assert frechet_distance(A, B) == pytest.approx(ref, rel=1e-8)
    assert frechet_distance(B, A) == pytest.approx(ref, rel=1e-8)


def test_singular_covariances_stay_real_and_non_negative():
    # fewer samples than features: rank-deficient covariances
    A = RNG.randn(5, 40)
    assert frechet_distance(A, A) == pytest.approx(0.0, abs=1e-9)
    B = RNG.randn(5, 40)
    d = frechet_distance(A, B)
    assert np.isfinite(d) and d > 0
    # one feature
    assert frechet_distance(RNG.randn(100, 1), RNG.randn(100, 1) + 2.0) > 3.0


def test_fid_with_a_transformer_and_a_callable():
    real = RNG.randn(400, 10)
    pca = PCA(n_components=3).fit(real)
    fake = real[::-1] * 1.5 + 0.5
    expected = frechet_distance(pca.transform(real), pca.transform(fake))
    assert fid_score(real, fake, pca) == pytest.approx(expected)
    assert fid_score(real, fake, pca.transform) == pytest.approx(expected)
    assert fid_score(real, real[::-1], pca) == pytest.approx(0.0, abs=1e-9)


def test_fid_with_a_torch_hidden_layer():
    torch = pytest.importorskip("torch")
    layer = torch.nn.Sequential(torch.nn.Linear(10, 4), torch.nn.Tanh())

    def hidden(X):
        with torch.no_grad():
            return layer(torch.as_tensor(X, dtype=torch.float32))

    real = RNG.randn(200, 10)
    assert fid_score(real, real + 2.0, hidden) > fid_score(real, real + 0.1, hidden)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 20 epochs
def test_fid_with_a_hidden_layer_of_a_fitted_skml_mlp():
    # the extractor the issue names: the layers of a fitted skml MLPClassifier before
    # its output layer. Reference: the same features by NumPy from coefs_/intercepts_.
    pytest.importorskip("torch")
    import torch
    from sklearn.datasets import load_digits

    from skml.neural import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0).fit(
        X[:1000], y[:1000])
    # (nn.Sequential slicing rebuilds the subclass MLP, whose constructor differs)
    body = torch.nn.Sequential(*list(clf.module_)[:-1]).cpu().eval()

    def hidden(Z):
        with torch.no_grad():
            return body(torch.as_tensor(Z, dtype=torch.float32))

    def numpy_hidden(Z):
        return np.maximum(Z @ clf.coefs_[0] + clf.intercepts_[0], 0.0)

    real, held_out = X[:600], X[1000:1600]
    noisy = np.clip(held_out + RNG.normal(scale=0.5, size=held_out.shape), 0, 1)
    good = fid_score(real, held_out, hidden)
    assert good == pytest.approx(
        frechet_distance(numpy_hidden(real), numpy_hidden(held_out)), rel=1e-4)
    # other real digits are closer to the real ones than noise-corrupted digits
    assert fid_score(real, noisy, hidden) > 3 * good


def test_bad_input():
    with pytest.raises(ValueError, match="same number of features"):
        frechet_distance(RNG.randn(10, 3), RNG.randn(10, 4))
    with pytest.raises(ValueError, match="minimum of 2"):
        frechet_distance(RNG.randn(1, 3), RNG.randn(10, 3))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance([[np.nan, 1.0], [0.0, 1.0]], RNG.randn(10, 2))
    with pytest.raises(TypeError, match="feature_extractor must be"):
        fid_score(RNG.randn(10, 3), RNG.randn(10, 3), "inception")
    with pytest.raises(ValueError, match="2-D array"):
        fid_score(RNG.randn(10, 3), RNG.randn(10, 3), lambda X: X.sum(axis=1))


@pytest.mark.parametrize("scale", [1e-300, 1e-100, 1e80, 1e150])
def test_frechet_distance_scales_as_the_square_of_the_features(scale):
    # S_a^1/2 S_b S_a^1/2 grows as scale**4: unscaled, 1e-100 gave 3.4x the right value
    # and 1e80 NaN; the reference is the unit-scale value times scale**2 (d: times scale)
    rng = np.random.RandomState(0)
    A, B = rng.randn(200, 4), 2 * rng.randn(200, 4) + 1
    ref = frechet_distance(A, B)
    d = frechet_distance(scale * A, scale * B, squared=False)
    assert d == pytest.approx(np.sqrt(ref) * scale, rel=1e-12)
    if 1e-150 < scale < 1e150:
        assert frechet_distance(scale * A, scale * B) == pytest.approx(ref * scale**2,
                                                                        rel=1e-12)
