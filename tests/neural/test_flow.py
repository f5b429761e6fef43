"""NormalizingFlow (RealNVP with actnorm): exactness of the density, invertibility,
learning on toys and digits against a Gaussian, reproducibility and errors."""
import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.datasets import make_moons  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skml.neural import NormalizingFlow  # noqa: E402
from skml.neural._modules.flow import ActNorm, RealNVP  # noqa: E402

from ._generative_eval import (  # noqa: E402
    digits_data,
    energy_distance,
    mode_coverage,
    ring_of_gaussians,
)
from ._util import state_dicts_equal  # noqa: E402


def _fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


@pytest.fixture(scope="module")
def moons():
    X, _ = make_moons(600, noise=0.05, random_state=0)
    return X


@pytest.fixture(scope="module")
def moons_flow(moons):
    return _fit(NormalizingFlow(n_layers=6, hidden_layer_sizes=(32, 32), max_iter=60,
                                learning_rate_init=1e-2, batch_size=100,
                                n_iter_no_change=np.inf, random_state=0), moons)


# ------------------------------------------------------------------ the density is exact

def test_score_samples_is_the_change_of_variables_with_the_autograd_jacobian(moons_flow,
                                                                             moons):
    X = moons[:5]
    module = moons_flow.module_
    ref = []
    for x in torch.tensor(X, dtype=torch.float32):
        J = torch.autograd.functional.jacobian(lambda v: module(v[None])[0][0], x)
        z = module(x[None])[0][0]
        log_n = -0.5 * float(z.detach() @ z.detach()) - np.log(2 * np.pi)
        ref.append(log_n + float(torch.linalg.slogdet(J)[1]))
    np.testing.assert_allclose(moons_flow.score_samples(X), ref, rtol=1e-4, atol=1e-4)


def test_the_density_integrates_to_one(moons_flow):
    # a grid over a box holding (almost) all the mass of the fitted density
    g = np.linspace(-3.0, 4.0, 351)
    xx, yy = np.meshgrid(g, np.linspace(-2.5, 3.0, 276))
    p = np.exp(moons_flow.score_samples(np.column_stack([xx.ravel(), yy.ravel()])))
    mass = p.sum() * (g[1] - g[0]) * (5.5 / 275)
    assert abs(mass - 1.0) < 0.03


def test_one_feature_flow_is_a_normalised_density():
    X = np.random.default_rng(0).gamma(2.0, size=(300, 1))
    flow = _fit(NormalizingFlow(n_layers=2, hidden_layer_sizes=(8,), max_iter=20,
                                learning_rate_init=1e-2, random_state=0), X)
    g = np.linspace(-20, 40, 20001)[:, None]
    mass = np.exp(flow.score_samples(g)).sum() * (g[1, 0] - g[0, 0])
    assert abs(mass - 1.0) < 1e-3
    # a 1-D flow of affine couplings without inputs is a Gaussian: the ML one
    mu, sd = X.mean(), X.std()
    ll_gauss = np.mean(-0.5 * ((X[:, 0] - mu) / sd) ** 2 - np.log(sd * np.sqrt(2 * np.pi)))
    assert flow.score(X) == pytest.approx(ll_gauss, abs=0.05)


def test_actnorm_standardises_its_first_training_batch_only():
    layer = ActNorm(3)
    x = torch.randn(50, 3) * torch.tensor([1.0, 10.0, 0.1]) + 5.0
    y, log_det = layer(x)
    np.testing.assert_allclose(y.mean(0).detach().numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(0, unbiased=False).detach().numpy(), 1.0, rtol=1e-5)
    assert bool(layer.initialized)
    assert float(log_det[0]) == pytest.approx(-float(torch.log(x.std(0, unbiased=False))
                                                     .sum()), rel=1e-5)
    y2, _ = layer(x * 2)  # initialised: a second batch is not standardised again
    assert not np.allclose(y2.std(0, unbiased=False).detach().numpy(), 1.0, rtol=0.1)
    fresh = ActNorm(3).eval()  # eval mode never initialises
    fresh(x)
    assert not bool(fresh.initialized)


def test_couplings_start_as_the_identity():
    net = RealNVP(4, 3, (8,), actnorm=False)
    x = torch.randn(7, 4)
    z, log_det = net(x)
    assert torch.equal(z, x) and torch.equal(log_det, torch.zeros(7))


# ------------------------------------------------------------------ learning

def test_ring_and_moons_beat_a_fitted_gaussian():
    """A small flow on the 8-Gaussian ring (std 0.1, test-sized training): every mode
    gets samples, the energy distance to held-out data is well below a Gaussian's,
    and so is the held-out log-likelihood. (benchmarks/bench_gan_flow.py: std 0.05,
    every mode >= 5% of the samples.)"""
    X, _ = ring_of_gaussians(1500, std=0.1, random_state=0)
    Xt, _ = ring_of_gaussians(800, std=0.1, random_state=1)
    flow = _fit(NormalizingFlow(n_layers=6, hidden_layer_sizes=(32, 32), max_iter=20,
                                learning_rate_init=5e-3, learning_rate="cosine",
                                batch_size=64, n_iter_no_change=np.inf, random_state=0), X)
    gauss = GaussianMixture(1, covariance_type="full", random_state=0).fit(X)
    S = flow.sample(2000, random_state=0)
    counts, near = mode_coverage(S, std=0.1)
    assert counts.min() > 0, counts
    g_counts, g_near = mode_coverage(gauss.sample(2000)[0], std=0.1)
    assert near > 2 * g_near
    assert energy_distance(S[:800], Xt) < 0.6 * energy_distance(gauss.sample(800)[0], Xt)
    assert flow.score(Xt) > gauss.score(Xt) + 1.0


def test_moons_samples_are_closer_than_a_gaussians(moons_flow):
    Xt, _ = make_moons(600, noise=0.05, random_state=1)
    gauss = GaussianMixture(1, covariance_type="full", random_state=0).fit(Xt)
    ed_flow = energy_distance(moons_flow.sample(600, random_state=0), Xt)
    ed_gauss = energy_distance(gauss.sample(600)[0], Xt)
    assert ed_flow < 0.5 * ed_gauss


@pytest.fixture(scope="module")
def digits_flow():
    X, _ = digits_data("[0,1]")
    Xtr, Xte = train_test_split(X, test_size=0.25, random_state=0)
    flow = _fit(NormalizingFlow(n_layers=4, hidden_layer_sizes=(128,), dequantize=1 / 16,
                                max_iter=4, batch_size=64, n_iter_no_change=np.inf,
                                random_state=0), Xtr)
    return flow, Xtr, Xte


def test_digits_held_out_likelihood_beats_a_full_covariance_gaussian(digits_flow):
    flow, Xtr, Xte = digits_flow
    rng = np.random.default_rng(0)
    # both densities are evaluated on the same dequantised data (x + U[0, 1/16))
    Xtr_d = Xtr + rng.random(Xtr.shape) / 16
    Xte_d = Xte + rng.random(Xte.shape) / 16
    gauss = GaussianMixture(1, covariance_type="full", random_state=0).fit(Xtr_d)
    ll_flow, ll_gauss = flow.score(Xte_d), gauss.score(Xte_d)
    assert ll_flow > ll_gauss + 5.0, (ll_flow, ll_gauss)


def test_inverse_transform_undoes_transform(digits_flow):
    flow, _, Xte = digits_flow
    X = Xte.astype(np.float64)
    Z = flow.transform(X)
    assert Z.dtype == np.float64 and Z.shape == X.shape
    np.testing.assert_allclose(flow.inverse_transform(Z), X, atol=1e-4)
    # and the other way round, from base-space draws
    Z0 = np.random.default_rng(0).standard_normal((50, 64))
    np.testing.assert_allclose(flow.transform(flow.inverse_transform(Z0)), Z0, atol=1e-3)


# ------------------------------------------------------------------ reproducibility

def test_same_seed_same_flow_and_samples_and_pickle_round_trip(moons):
    params = dict(n_layers=2, hidden_layer_sizes=(8,), max_iter=2, dequantize=0.01,
                  random_state=3)
    a = _fit(NormalizingFlow(**params), moons)
    b = _fit(NormalizingFlow(**params), moons)
    assert state_dicts_equal(a, b)
    np.testing.assert_array_equal(a.sample(20, random_state=1), b.sample(20, random_state=1))
    assert not np.array_equal(a.sample(20, random_state=1), a.sample(20, random_state=2))
    loaded = pickle.loads(pickle.dumps(a))
    assert bool(loaded.module_.layers[0].initialized)
    np.testing.assert_array_equal(loaded.sample(20, random_state=1),
                                  a.sample(20, random_state=1))
    np.testing.assert_array_equal(loaded.score_samples(moons), a.score_samples(moons))


def test_early_stopping_scores_the_held_out_log_likelihood(moons):
    flow = _fit(NormalizingFlow(n_layers=2, hidden_layer_sizes=(8,), max_iter=3,
                                early_stopping=True, random_state=0), moons)
    assert len(flow.validation_scores_) == flow.n_iter_
    assert flow.best_validation_score_ == max(flow.validation_scores_)
    assert np.isfinite(flow.best_validation_score_)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_matches_cpu_use(moons):
    flow = _fit(NormalizingFlow(n_layers=2, hidden_layer_sizes=(8,), max_iter=2,
                                dequantize=0.01, device="cuda", random_state=0), moons)
    assert next(flow.module_.parameters()).device.type == "cuda"
    Z = flow.transform(moons)
    np.testing.assert_allclose(flow.inverse_transform(Z), moons, atol=1e-4)
    cpu = pickle.loads(pickle.dumps(flow))
    np.testing.assert_allclose(cpu.score_samples(moons), flow.score_samples(moons),
                               rtol=1e-4, atol=1e-4)
    assert flow.sample(5, random_state=0).shape == (5, 2)


# ------------------------------------------------------------------ errors

def test_bad_input_gets_clear_errors(moons_flow):
    flow = NormalizingFlow()
    for method in ("transform", "inverse_transform", "score_samples", "score"):
        with pytest.raises(NotFittedError):
            getattr(flow, method)(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        flow.sample(2)
    with pytest.raises(ValueError, match="3 features"):
        moons_flow.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="3 features"):
        moons_flow.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="3 features"):
        moons_flow.score_samples(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n_samples"):
        moons_flow.sample(0)
    with pytest.raises(ValueError, match="dequantize"):
        NormalizingFlow(dequantize=-1.0).fit(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="n_layers"):
        NormalizingFlow(n_layers=0).fit(np.zeros((4, 2)))
