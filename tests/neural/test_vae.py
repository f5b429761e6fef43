"""VAE: the ELBO improves by a clear margin, samples look like the data, the closed-form
KL, determinism of score_samples and pickling."""
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

# fixed-length trainings are what these tests want: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

from skml.neural import VAE  # noqa: E402
from skml.neural._modules.vae import gaussian_kl  # noqa: E402


class ElboRecorder:
    """Callback: the held-out ELBO after every epoch (picklable, module level)."""

    def __init__(self, X):
        self.X = X

    def __call__(self, est, row):
        row["test_elbo"] = est.score(self.X)


@pytest.fixture(scope="module")
def vae(digits_split):
    Xtr, Xte = digits_split[:2]
    return VAE(hidden_layer_sizes=(128,), n_components=8, likelihood="bernoulli", learning_rate_init=5e-3,
               batch_size=128, max_iter=30, random_state=0,
               callbacks=[("test_elbo", ElboRecorder(Xte))]).fit(Xtr)


def test_test_elbo_improves_by_a_clear_margin(vae, digits_split):
    Xtr, Xte = digits_split[:2]
    elbo = [row["test_elbo"] for row in vae.history_]
    assert elbo[-1] > elbo[0] + 3.0, elbo  # nats per image
    # and beats the best model with independent pixels (no latent structure)
    p = np.clip(Xtr.mean(0), 1e-3, 1 - 1e-3)
    independent = np.mean(np.sum(Xte * np.log(p) + (1 - Xte) * np.log(1 - p), axis=1))
    assert elbo[-1] > independent + 1.0, (elbo[-1], independent)
    assert vae.score(Xte) == elbo[-1]
    train_losses = [row["loss"] for row in vae.history_]
    assert train_losses[-1] < train_losses[0] - 3.0


def test_samples_have_the_data_range_and_per_pixel_mean(vae, digits_split):
    Xtr = digits_split[0]
    S = vae.sample(2000, random_state=0)
    assert S.shape == (2000, 64)
    assert S.min() >= 0 and S.max() <= 1  # Bernoulli means, like the pixels in [0, 1]
    assert S.min() < 0.05 and S.max() > 0.95
    assert np.abs(S.mean(0) - Xtr.mean(0)).max() < 0.1
    np.testing.assert_array_equal(S, vae.sample(2000, random_state=0))
    assert not np.array_equal(S[:5], vae.sample(5, random_state=1))


def test_transform_inverse_transform_and_deterministic_scores(vae, digits_split):
    Xte = digits_split[1]
    mu = vae.transform(Xte)
    assert mu.shape == (len(Xte), 8)
    rec = vae.inverse_transform(mu)
    assert rec.shape == Xte.shape and 0 <= rec.min() and rec.max() <= 1
    assert np.mean((rec - Xte) ** 2) < np.mean((Xte.mean(0) - Xte) ** 2)
    s = vae.score_samples(Xte)
    np.testing.assert_array_equal(s, vae.score_samples(Xte))
    np.testing.assert_allclose(vae.score_samples(Xte[:7]), s[:7], rtol=1e-5)
    loaded = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(loaded.score_samples(Xte), s)
    np.testing.assert_array_equal(loaded.sample(3, random_state=0), vae.sample(3, random_state=0))


def test_closed_form_kl_matches_monte_carlo():
    gen = torch.Generator().manual_seed(0)
    mu, log_var = torch.randn(3, 2, generator=gen), torch.randn(3, 2, generator=gen)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros(3, 2), torch.ones(3, 2))
    exact = torch.distributions.kl_divergence(q, p).sum(1)
    torch.testing.assert_close(gaussian_kl(mu, log_var), exact)


def test_gaussian_likelihood_and_beta(digits_split):
    Xtr = digits_split[0][:600]
    Xs = (Xtr - Xtr.mean(0)) / (Xtr.std(0) + 1e-3)
    params = dict(hidden_layer_sizes=(32,), n_components=2, learning_rate_init=3e-3, batch_size=64,
                  max_iter=10, random_state=0)

    def mean_kl(est):
        with torch.no_grad():
            mu, log_var = est.module_.encode(torch.as_tensor(Xs, dtype=torch.float32))
            return float(gaussian_kl(mu, log_var).mean())

    low = VAE(**params, beta=0.1).fit(Xs)
    high = VAE(**params, beta=4.0).fit(Xs)
    assert mean_kl(high) < mean_kl(low)
    assert np.isfinite(low.score(Xs)) and low.sample(3).shape == (3, 64)


def test_bernoulli_needs_data_in_unit_interval(digits_split):
    X = digits_split[0][:50]
    with pytest.raises(ValueError, match=r"likelihood='bernoulli' needs data in \[0, 1\]"):
        VAE(likelihood="bernoulli", max_iter=1).fit(X * 16)
    vae = VAE(likelihood="bernoulli", max_iter=1).fit(X)
    with pytest.raises(ValueError, match="needs data in"):
        vae.score_samples(X - 1)
    with pytest.raises(ValueError, match="likelihood must be one of"):
        VAE(likelihood="poisson").fit(X)
