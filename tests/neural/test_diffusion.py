"""Diffusion (DDPM, DDIM, classifier-free guidance, latent diffusion).

The noise schedule is checked against NumPy references and against the exact noise
predictor of Gaussian data (for which the reverse process and the bound are known in
closed form); the estimators learn the 2-D ring of Gaussians, two moons and digits well
beyond baselines; plus determinism, pickling and the errors on bad input."""
import math
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

# fixed-length trainings are what these tests want: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

from skml.neural import VAE, AutoEncoder, DiffusionModel, LatentDiffusion  # noqa: E402
from skml.neural._modules.diffusion import (  # noqa: E402
    MLPDenoiser,
    NoiseSchedule,
    SinusoidalEmbedding,
    UNetDenoiser,
)

from tests.neural._generative_eval import (  # noqa: E402
    digits_data,
    digits_fid_extractor,
    digits_label_classifier,
    energy_distance,
    mode_coverage,
    ring_of_gaussians,
)


# ---------------------------------------------------------------------- the schedule


def test_linear_and_cosine_schedules_match_their_formulas():
    lin = NoiseSchedule(1000, "linear", 1e-4, 0.02)
    np.testing.assert_allclose(lin.betas.numpy(), np.linspace(1e-4, 0.02, 1000), rtol=1e-12)
    np.testing.assert_allclose(lin.alphas_cumprod.numpy(),
                               np.cumprod(1 - np.linspace(1e-4, 0.02, 1000)), rtol=1e-10)
    # other T keep the total noise: the endpoints scale by 1000 / T
    np.testing.assert_allclose(NoiseSchedule(100, "linear").betas.numpy(),
                               np.linspace(1e-3, 0.2, 100), rtol=1e-12)
    cos = NoiseSchedule(200, "cosine")
    s, T = 0.008, 200
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
    abar = f[1:] / f[0]
    np.testing.assert_allclose(cos.alphas_cumprod.numpy()[:-1], abar[:-1], rtol=1e-9)
    assert cos.betas.max() <= 0.999 and cos.alphas_cumprod[-1] < 1e-4


def test_add_noise_is_the_marginal_of_the_step_by_step_chain():
    """q(x_t | x_0) in closed form (Remark 3.73) against running q(x_t | x_{t-1})."""
    sched = NoiseSchedule(50, "linear")
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((20000, 1), 1.5, dtype=torch.float64)
    x = x0.clone()
    for t in range(30):
        beta = float(sched.betas[t])
        x = math.sqrt(1 - beta) * x + math.sqrt(beta) * torch.randn(x.shape, generator=g,
                                                                    dtype=torch.float64)
    abar = float(np.prod(1 - sched.betas.numpy()[:30]))
    assert abs(float(x.mean()) - math.sqrt(abar) * 1.5) < 0.03
    assert abs(float(x.var()) - (1 - abar)) < 0.03
    eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    xt = sched.add_noise(x0, eps, torch.full((len(x0),), 29))
    np.testing.assert_allclose(xt.numpy(), math.sqrt(abar) * 1.5 + math.sqrt(1 - abar) * eps.numpy(),
                               rtol=1e-12)


def test_steps_with_the_true_noise_match_the_posterior_formulas():
    """An ancestral step's mean is mu_q(x_t, x_0) (Remark 3.74) and a DDIM step with
    eta=0 moves to sqrt(abar_prev) x_0 + sqrt(1 - abar_prev) eps."""
    rng = np.random.default_rng(0)
    sched = NoiseSchedule(100, "cosine")
    x0 = rng.normal(size=(5, 3))
    eps = rng.normal(size=(5, 3))
    t = 40
    a, abar, abar_prev = (float(sched.alphas[t]), float(sched.alphas_cumprod[t]),
                          float(sched.alphas_cumprod[t - 1]))
    xt = math.sqrt(abar) * x0 + math.sqrt(1 - abar) * eps
    mu_q = (math.sqrt(a) * (1 - abar_prev) * xt + math.sqrt(abar_prev) * (1 - a) * x0) / (1 - abar)
    var = (1 - abar_prev) / (1 - abar) * (1 - a)
    g = torch.Generator().manual_seed(3)
    out = sched.step(torch.from_numpy(eps), t, torch.from_numpy(xt), generator=g).numpy()
    z = torch.randn((5, 3), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    np.testing.assert_allclose(out, mu_q + math.sqrt(var) * z.numpy(), rtol=1e-10, atol=1e-12)
    ddim = sched.ddim_step(torch.from_numpy(eps), t, torch.from_numpy(xt)).numpy()
    np.testing.assert_allclose(ddim, math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * eps,
                               rtol=1e-10, atol=1e-12)
    # the last step returns the prediction of x_0 / the mean, without noise
    x1 = math.sqrt(float(sched.alphas_cumprod[0])) * x0 + math.sqrt(1 - float(sched.alphas_cumprod[0])) * eps
    np.testing.assert_allclose(sched.ddim_step(torch.from_numpy(eps), 0, torch.from_numpy(x1)).numpy(),
                               x0, rtol=1e-9)


def test_set_timesteps_spacing_and_bounds():
    sched = NoiseSchedule(1000)
    assert sched.set_timesteps(1000).tolist() == list(range(999, -1, -1))
    steps = sched.set_timesteps(50).tolist()
    assert len(steps) == 50 and steps[0] == 999 and steps[-1] == 0
    assert all(a > b for a, b in zip(steps, steps[1:]))
    with pytest.raises(ValueError, match="n_sampling_steps=1001 must be in"):
        sched.set_timesteps(1001)


def test_schedule_pickles_as_its_parameters():
    sched = NoiseSchedule(500, "cosine", clip_sample=(-1.0, 1.0))
    blob = pickle.dumps(sched)
    assert len(blob) < 400  # parameters, not the tables
    back = pickle.loads(blob)
    np.testing.assert_array_equal(back.alphas_cumprod.numpy(), sched.alphas_cumprod.numpy())
    assert back.clip_sample == (-1.0, 1.0) and back.schedule == "cosine"


def _gaussian_eps(sched, m, s):
    """The exact noise predictor E[eps | x_t] for data N(m, s^2) (per feature)."""
    def eps_hat(x, t):
        abar = float(sched.alphas_cumprod[t])
        return math.sqrt(1 - abar) * (x - math.sqrt(abar) * m) / (abar * s ** 2 + 1 - abar)
    return eps_hat


def _ddim_gaussian_std(sched, steps, s):
    """The spread DDIM (eta=0) with the exact predictor gives N(m, s^2) data: each step
    maps ``x_t - sqrt(abar_t) m`` linearly, by ``(sqrt(abar_p abar_t) s^2 +
    sqrt((1 - abar_p)(1 - abar_t))) / (abar_t s^2 + 1 - abar_t)`` (below 1: a few big
    steps under-disperse; by Cauchy-Schwarz only abar_p = abar_t keeps the variance)."""
    ab = sched.alphas_cumprod.numpy()
    var = 1.0
    for i, t in enumerate(steps):
        a, ap = ab[t], (ab[steps[i + 1]] if i + 1 < len(steps) else 1.0)
        var *= ((np.sqrt(ap * a) * s ** 2 + np.sqrt((1 - ap) * (1 - a)))
                / (a * s ** 2 + 1 - a)) ** 2
    return np.sqrt(var)


@pytest.mark.parametrize("sampler", ["ancestral", "ddim"])
def test_reverse_process_with_the_exact_predictor_samples_the_gaussian(sampler):
    """For Gaussian data the optimal eps is known in closed form: the schedule's
    ancestral steps with it reproduce the data's mean and spread (up to the
    discretisation: the spread is 0.2876 for T = 200, 0.2971 for T = 1000), and DDIM's
    25 steps the spread of the exact linear recursion."""
    m, s = 0.7, 0.3
    sched = NoiseSchedule(1000, "linear")
    eps_hat = _gaussian_eps(sched, m, s)
    g = torch.Generator().manual_seed(0)
    x = torch.randn((20000, 1), generator=g, dtype=torch.float64)
    steps = sched.set_timesteps(1000 if sampler == "ancestral" else 25).tolist()
    for t in steps:
        if sampler == "ancestral":
            x = sched.step(eps_hat(x, t), t, x, generator=g)
        else:
            x = sched.ddim_step(eps_hat(x, t), t, x)
    assert abs(float(x.mean()) - m) < 0.01
    expected = s if sampler == "ancestral" else _ddim_gaussian_std(sched, steps, s)
    assert abs(float(x.std()) - expected) < 0.005, (float(x.std()), expected)


def test_bound_with_the_exact_predictor_matches_its_expectation():
    """The Monte-Carlo bound of the exact predictor of N(m, s^2) data against its
    expectation in closed form (prior KL + sum_t c_t^2 Var(x_0 | x_t) / (2 beta_tilde_t)
    + the decoder term): 0.456 nats below the true log-likelihood for T = 1000 (the
    price of the fixed reverse variances)."""
    m, s, T = 0.2, 0.5, 1000
    sched = NoiseSchedule(T, "linear")
    eps_hat = _gaussian_eps(sched, m, s)
    rng = np.random.default_rng(0)
    x0 = torch.from_numpy(rng.normal(m, s, size=(4000, 1)))
    g = torch.Generator().manual_seed(1)
    nll = sched.prior_kl(x0)
    for t in range(T):
        eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        xt = sched.add_noise(x0, eps, torch.full((len(x0),), t))
        nll = nll + sched.bound_term(eps_hat(xt, t), eps, t, x0, xt)
    b, a = sched.betas.numpy(), sched.alphas_cumprod.numpy()
    expected = 0.5 * (a[-1] * (m * m + s * s) + (1 - a[-1]) - 1 - np.log(1 - a[-1]))
    for t in range(1, T):
        beta_tilde = (1 - a[t - 1]) / (1 - a[t]) * b[t]
        c = np.sqrt(a[t - 1]) * b[t] / (1 - a[t])
        expected += c ** 2 * s * s * (1 - a[t]) / (a[t] * s * s + 1 - a[t]) / (2 * beta_tilde)
    expected += (a[0] * s * s / (a[0] * s * s + 1 - a[0]) / (2 * (1 - b[0]))
                 + 0.5 * np.log(2 * np.pi * b[0]))
    assert abs(float(nll.mean()) - expected) < 0.03, (float(nll.mean()), expected)
    exact = -0.5 * np.log(2 * np.pi * s ** 2) - 0.5
    assert -float(nll.mean()) < exact  # a lower bound


def test_time_embedding_and_denoiser_shapes():
    emb = SinusoidalEmbedding(8)
    t = torch.tensor([0, 5, 999])
    w = 10000.0 ** (-np.arange(4) / 3)
    ref = np.concatenate([np.sin(t.numpy()[:, None] * w), np.cos(t.numpy()[:, None] * w)], 1)
    np.testing.assert_allclose(emb(t).numpy(), ref, rtol=1e-5, atol=1e-5)
    unet = UNetDenoiser(2, channels=(8, 16, 16), embedding_dim=16, n_classes=3)
    x = torch.randn(4, 2, 7, 9)  # sides not multiples of 4: padded and cropped
    assert unet(x, torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 3])).shape == x.shape
    mlp = MLPDenoiser(5, (16, 16), embedding_dim=8)
    assert mlp(torch.randn(3, 5), torch.tensor([1, 2, 3])).shape == (3, 5)


# ---------------------------------------------------------------------- learning


@pytest.fixture(scope="module")
def ring():
    X, _ = ring_of_gaussians(2400, random_state=0)
    return X[:2000], X[2000:]


@pytest.fixture(scope="module")
def ring_model(ring):
    # the diffusion loss is noisy: a fixed number of epochs (n_iter_no_change=inf), the
    # step size decayed to 0 by the cosine schedule for precise modes
    return DiffusionModel(hidden_layer_sizes=(128, 128, 128), n_timesteps=100,
                          noise_schedule="cosine", batch_size=128, learning_rate_init=1e-2,
                          learning_rate="cosine", max_iter=60, n_iter_no_change=np.inf,
                          random_state=0).fit(ring[0])


def _gaussian_baseline(X, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(X.mean(0), np.cov(X.T), size=n)


def test_ring_all_modes_hit_and_energy_distance_beats_a_gaussian(ring, ring_model):
    Xtr, Xte = ring
    S = ring_model.sample(2000, random_state=0)
    counts, near = mode_coverage(S)
    assert counts.min() >= 0.05 * len(S), counts
    assert near > 0.7, near
    ours = energy_distance(S, Xte)
    gauss = energy_distance(_gaussian_baseline(Xtr, 2000), Xte)
    assert ours < 0.25 * gauss, (ours, gauss)
    # DDIM with 20 of the 100 steps still covers every mode
    counts_ddim, _ = mode_coverage(ring_model.sample(1000, random_state=0, sampler="ddim",
                                                     n_sampling_steps=20))
    assert counts_ddim.min() >= 0.05 * 1000, counts_ddim


def test_bound_ranks_data_above_off_manifold_points(ring, ring_model):
    """score_samples (the variational bound, nats) is higher on held-out ring points
    than on points between the modes, and above a fitted Gaussian's log-density."""
    from scipy.stats import multivariate_normal

    Xtr, Xte = ring
    on = ring_model.score_samples(Xte[:100])
    off = ring_model.score_samples(0.5 * Xte[:100])  # inside the ring: no data there
    assert on.mean() > off.mean() + 5.0
    gauss = multivariate_normal(Xtr.mean(0), np.cov(Xtr.T)).logpdf(Xte[:100]).mean()
    assert on.mean() > gauss + 1.0, (on.mean(), gauss)
    assert ring_model.score(Xte[:100]) == pytest.approx(on.mean())


def test_two_moons_energy_distance_beats_a_gaussian():
    from sklearn.datasets import make_moons

    X, _ = make_moons(3000, noise=0.05, random_state=0)
    Xtr, Xte = X[:2000], X[2000:]
    ddpm = DiffusionModel(hidden_layer_sizes=(128, 128, 128), n_timesteps=100,
                          noise_schedule="cosine", batch_size=128, learning_rate_init=1e-2,
                          learning_rate="cosine", max_iter=40, n_iter_no_change=np.inf,
                          random_state=0).fit(Xtr)
    S = ddpm.sample(2000, random_state=1)
    # (the floor: training vs held-out points give 0.0013; the Gaussian 0.017)
    ours, gauss = energy_distance(S, Xte), energy_distance(_gaussian_baseline(Xtr, 2000), Xte)
    assert ours < 0.5 * gauss, (ours, gauss)


@pytest.fixture(scope="module")
def digits_cfg():
    """A conditional U-Net DDPM on digits in [-1, 1] (images given as flat rows with
    image_shape), trained with label dropout for classifier-free guidance."""
    X, y = digits_data("[-1,1]")
    return DiffusionModel(image_shape=(8, 8), channels=(16, 32), n_timesteps=100,
                          label_dropout=0.15, batch_size=64, learning_rate_init=3e-3,
                          learning_rate="cosine", max_iter=12, n_iter_no_change=np.inf,
                          random_state=0).fit(X, y)


def test_digits_fid_below_noise_and_the_vae(digits_cfg):
    from skml.metrics import fid_score

    X, y = digits_data("[-1,1]")
    phi = digits_fid_extractor("[-1,1]")
    labels = np.resize(np.arange(10), 300)
    S = digits_cfg.sample(300, labels, random_state=0, sampler="ddim", n_sampling_steps=25)
    assert S.shape == (300, 64) and S.min() >= -1 and S.max() <= 1
    noise = np.random.default_rng(0).uniform(-1, 1, size=(300, 64))
    vae = VAE(hidden_layer_sizes=(128,), n_components=8, learning_rate_init=3e-3,
              max_iter=40, random_state=0).fit(X)
    fid = fid_score(X, S, phi)
    fid_noise = fid_score(X, noise, phi)
    fid_vae = fid_score(X, np.clip(vae.sample(300, random_state=0), -1, 1), phi)
    assert fid < 0.1 * fid_noise, (fid, fid_noise)
    assert fid < fid_vae, (fid, fid_vae)


def test_digits_guidance_raises_label_agreement(digits_cfg):
    clf = digits_label_classifier("[-1,1]")
    labels = np.resize(np.arange(10), 100)
    agree = []
    for scale in (0.0, 1.0, 3.0):
        S = digits_cfg.sample(100, labels, random_state=0, guidance_scale=scale,
                              sampler="ddim", n_sampling_steps=20)
        agree.append(float(np.mean(clf.predict(S) == labels)))
    assert agree[2] >= 0.8, agree
    assert agree[0] < agree[1] < agree[2], agree
    assert agree[0] < 0.3, agree  # scale 0 is the unconditional model


def test_latent_diffusion_matches_the_code_distribution_better_than_the_prior():
    """In a VAE's latent space the codes of the data are not N(0, I): diffusion on them
    samples codes closer (energy distance) to held-out codes than the VAE's prior."""
    X, y = digits_data("[0,1]")
    Xtr, Xte = X[:1400], X[1400:]
    vae = VAE(hidden_layer_sizes=(64,), n_components=4, likelihood="bernoulli",
              learning_rate_init=3e-3, max_iter=15, random_state=0).fit(Xtr)
    ldm = LatentDiffusion(vae, hidden_layer_sizes=(64, 64), n_timesteps=50,
                          learning_rate_init=3e-3, max_iter=30, random_state=0).fit(Xtr)
    assert ldm.autoencoder_ is vae  # a fitted autoencoder is used as is
    Zte = vae.transform(Xte)
    Z = ldm.sample_latent(400, random_state=0)
    prior = np.random.default_rng(0).standard_normal((400, 4))
    assert energy_distance(Z, Zte) < 0.5 * energy_distance(prior, Zte)
    S = ldm.sample(5, random_state=0)
    np.testing.assert_allclose(S, vae.inverse_transform(ldm.sample_latent(5, random_state=0)))
    assert S.shape == (5, 64) and 0 <= S.min() and S.max() <= 1
    # the bound is of the standardised codes, corrected by the scaling's log-Jacobian
    assert np.isfinite(ldm.score_samples(Xte[:10])).all()


def test_latent_diffusion_fits_a_clone_of_an_unfitted_autoencoder(ring):
    ae = AutoEncoder(hidden_layer_sizes=(16,), n_components=2, max_iter=3, random_state=0)
    ldm = LatentDiffusion(ae, hidden_layer_sizes=(16,), n_timesteps=10, max_iter=2,
                          random_state=0).fit(ring[0][:200])
    assert not hasattr(ae, "module_") and hasattr(ldm.autoencoder_, "module_")
    assert ldm.sample(3, random_state=0).shape == (3, 2)
    with pytest.raises(ValueError, match="needs an autoencoder"):
        LatentDiffusion(max_iter=1).fit(ring[0][:50])


# ---------------------------------------------------------------------- contract


@pytest.fixture(scope="module")
def small_cond():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 60)]
    return X, y


def _small(**kw):
    return DiffusionModel(**{"hidden_layer_sizes": (16,), "n_timesteps": 20, "max_iter": 3,
                             "random_state": 0, **kw})


def test_same_seed_same_samples_and_pickle_round_trip(small_cond):
    X, y = small_cond
    a, b = _small().fit(X, y), _small().fit(X, y)
    for sampler in ("ancestral", "ddim"):
        Sa = a.sample(10, "b", random_state=5, sampler=sampler, guidance_scale=2.0)
        np.testing.assert_array_equal(Sa, b.sample(10, "b", random_state=5, sampler=sampler,
                                                   guidance_scale=2.0))
        back = pickle.loads(pickle.dumps(a))
        np.testing.assert_array_equal(Sa, back.sample(10, "b", random_state=5, sampler=sampler,
                                                      guidance_scale=2.0))
    assert not np.array_equal(a.sample(10, random_state=5), a.sample(10, random_state=6))
    np.testing.assert_array_equal(back.score_samples(X, y), a.score_samples(X, y))
    np.testing.assert_array_equal(back.noise_schedule_.alphas_cumprod.numpy(),
                                  a.noise_schedule_.alphas_cumprod.numpy())


def test_images_in_images_out_and_image_shape_errors():
    rng = np.random.default_rng(0)
    imgs = rng.uniform(-1, 1, size=(20, 1, 5, 6))
    m = DiffusionModel(channels=(8, 8), n_timesteps=10, max_iter=1, random_state=0).fit(imgs)
    assert m.unet_ and m.image_shape_ == (1, 5, 6)
    assert m.sample(2, random_state=0).shape == (2, 1, 5, 6)
    assert np.isfinite(m.score_samples(imgs[:3])).all()
    with pytest.raises(ValueError, match=r"image_shape=\(3, 3\) holds 9 values per image, "
                                         "but X has 30 features"):
        DiffusionModel(image_shape=(3, 3), max_iter=1).fit(imgs.reshape(20, -1))
    with pytest.raises(ValueError, match="does not match the images"):
        DiffusionModel(image_shape=(1, 6, 5), max_iter=1).fit(imgs)
    with pytest.raises(ValueError, match="architecture='unet' needs images"):
        DiffusionModel(architecture="unet", max_iter=1).fit(imgs.reshape(20, -1))
    with pytest.raises(ValueError, match="images of shape"):
        m.score_samples(rng.normal(size=(2, 1, 6, 5)))


def test_bad_sampling_requests_raise_clear_errors(small_cond):
    X, y = small_cond
    uncond, cond = _small().fit(X), _small().fit(X, y)
    with pytest.raises(ValueError, match="n_sampling_steps=21 exceeds n_timesteps=20"):
        uncond.sample(2, n_sampling_steps=21)
    with pytest.raises(ValueError, match="n_sampling_steps=50 exceeds n_timesteps=20"):
        _small(n_sampling_steps=50).fit(X)
    with pytest.raises(ValueError, match="guidance_scale=3.0 needs a conditional model"):
        uncond.sample(2, guidance_scale=3.0)
    with pytest.raises(ValueError, match="guidance_scale=3.0 needs a conditional model"):
        _small(guidance_scale=3.0).fit(X).sample(2)
    with pytest.raises(ValueError, match="fitted without labels"):
        uncond.sample(2, y="a")
    with pytest.raises(ValueError, match=r"labels not seen in training: \['z'\]"):
        cond.sample(2, y=["a", "z"])
    with pytest.raises(ValueError, match="labels not seen in training"):
        cond.sample(2, y=7)
    with pytest.raises(ValueError, match="y has 3 labels for 2 samples"):
        cond.sample(2, y=["a", "b", "c"])
    with pytest.raises(ValueError, match="label_dropout=0"):
        _small(label_dropout=0.0).fit(X, y).sample(2, "a", guidance_scale=2.0)
    # labels are strings, given as one label or one per sample
    assert cond.sample(3, "c", random_state=0).shape == (3, 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_sample_and_pickle_to_cpu(small_cond):
    X, y = small_cond
    m = _small(device="cuda").fit(X, y)
    assert next(m.module_.parameters()).is_cuda
    S = m.sample(8, "a", random_state=0, guidance_scale=2.0)
    np.testing.assert_array_equal(S, m.sample(8, "a", random_state=0, guidance_scale=2.0))
    assert np.isfinite(m.score_samples(X, y)).all()
    back = pickle.loads(pickle.dumps(m))
    assert not next(back.module_.parameters()).is_cuda
    assert np.isfinite(back.sample(4, "b", random_state=0)).all()
    imgs = np.random.default_rng(0).uniform(-1, 1, size=(16, 1, 8, 8))
    u = DiffusionModel(channels=(8, 16), n_timesteps=10, max_iter=2, device="cuda",
                       random_state=0).fit(imgs)
    assert u.sample(3, random_state=0, sampler="ddim", n_sampling_steps=5).shape == (3, 1, 8, 8)


def test_loop_features_early_stopping_partial_fit_and_warm_start(small_cond):
    X, y = small_cond
    es = _small(early_stopping=True, max_iter=4).fit(X, y)
    assert len(es.validation_scores_) == es.n_iter_ and np.all(np.isfinite(es.validation_scores_))
    pf = DiffusionModel(hidden_layer_sizes=(16,), n_timesteps=20, random_state=0)
    pf.partial_fit(X, y)
    pf.partial_fit(X, y)
    assert len(pf.history_) == 2
    with pytest.raises(ValueError, match="the model is conditional"):
        pf.partial_fit(X)
    pf.set_params(warm_start=True, max_iter=1, n_timesteps=30)
    with pytest.raises(ValueError, match="cannot change n_timesteps"):
        pf.fit(X, y)
