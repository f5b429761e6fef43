"""GAN and ConditionalGAN: the adversarial losses, the two-optimiser step through the
loop's hooks, learning on the ring of Gaussians and on digits, the score, reproducibility
and errors."""
import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scipy.special import expit  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

from skml.metrics import fid_score  # noqa: E402
from skml.neural import GAN, ConditionalGAN  # noqa: E402
from skml.neural._modules.gan import discriminator_loss, generator_loss  # noqa: E402

from ._generative_eval import (  # noqa: E402
    digits_data,
    digits_fid_extractor,
    digits_label_classifier,
    energy_distance,
    mode_coverage,
    ring_of_gaussians,
)
from ._util import state_dicts_equal  # noqa: E402

TINY = dict(n_components=2, generator_layer_sizes=(8,), discriminator_layer_sizes=(8,),
            max_iter=2, n_iter_no_change=np.inf)


def _fit(est, X, y=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kwargs)


# ------------------------------------------------------------------ the losses

def test_adversarial_losses_match_their_formulas():
    rng = np.random.default_rng(0)
    r, f = rng.normal(size=50), rng.normal(size=40)
    tr, tf = torch.tensor(r), torch.tensor(f)
    d_real, d_fake = expit(r), expit(f)
    # minus V(G, D) of Example 48
    v = np.mean(np.log(d_real)) + np.mean(np.log(1 - d_fake))
    assert float(discriminator_loss(tr, tf)) == pytest.approx(-v, rel=1e-12)
    assert float(generator_loss(tf)) == pytest.approx(-np.mean(np.log(d_fake)), rel=1e-12)
    assert float(generator_loss(tf, "minimax")) == pytest.approx(
        np.mean(np.log(1 - d_fake)), rel=1e-12)
    w = rng.uniform(0.5, 2.0, size=40)
    assert float(generator_loss(tf, weight=torch.tensor(w))) == pytest.approx(
        -np.average(np.log(d_fake), weights=w), rel=1e-12)
    # the non-saturating loss keeps its gradient where the minimax one vanishes
    # (Remark 3.81): for a rejected sample, D(G(z)) ~ 0
    low = torch.tensor([-8.0], requires_grad=True)
    generator_loss(low).backward()
    g_ns = float(low.grad)
    low.grad = None
    generator_loss(low, "minimax").backward()
    assert abs(g_ns) > 100 * abs(float(low.grad))


def test_two_optimisers_and_n_critic_discriminator_steps_per_batch():
    X = np.random.default_rng(0).normal(size=(90, 3))
    gan = _fit(GAN(**{**TINY, "max_iter": 2}, n_critic=3, batch_size=30, random_state=0), X)
    opts = gan._train_state["optimizers"]
    assert set(opts) == {"generator", "discriminator"}
    steps = {k: int(next(iter(o.state.values()))["step"]) for k, o in opts.items()}
    assert steps == {"generator": 2 * 3, "discriminator": 2 * 3 * 3}
    ids = {k: {id(p) for g in o.param_groups for p in g["params"]} for k, o in opts.items()}
    assert ids["generator"] == {id(p) for p in gan.module_["generator"].parameters()}
    assert ids["discriminator"] == {id(p) for p in gan.module_["discriminator"].parameters()}
    assert isinstance(gan.module_, torch.nn.ModuleDict)
    row = gan.history_[-1]
    assert row["loss"] == pytest.approx(row["discriminator_loss"] + row["generator_loss"])


# ------------------------------------------------------------------ learning

@pytest.fixture(scope="module")
def ring():
    X, _ = ring_of_gaussians(2000, std=0.1, random_state=0)
    Xt, _ = ring_of_gaussians(800, std=0.1, random_state=1)
    return X, Xt


@pytest.fixture(scope="module")
def ring_gan(ring):
    X, _ = ring
    return _fit(GAN(n_components=8, generator_layer_sizes=(64, 64),
                    discriminator_layer_sizes=(64, 64), max_iter=40,
                    learning_rate_init=1e-3, beta_1=0.5, batch_size=64,
                    n_iter_no_change=np.inf, random_state=0), X)


def test_gan_on_the_ring_hits_every_mode_and_beats_a_gaussian(ring, ring_gan):
    """Test-sized training on the ring (std 0.1): every mode is hit, and the energy
    distance to held-out data is well below a fitted Gaussian's. (The full-size run,
    std 0.05 with every mode >= 5% of the samples, is benchmarks/bench_gan_flow.py.)"""
    X, Xt = ring
    S = ring_gan.sample(2000, random_state=0)
    counts, near = mode_coverage(S, std=0.1)
    assert counts.min() > 0, counts
    gauss = GaussianMixture(1, covariance_type="full", random_state=0).fit(X)
    assert near > 2 * mode_coverage(gauss.sample(2000)[0], std=0.1)[1]
    assert energy_distance(S[:800], Xt) < 0.6 * energy_distance(gauss.sample(800)[0], Xt)


def test_gan_on_two_moons_beats_a_gaussian():
    from sklearn.datasets import make_moons

    X, _ = make_moons(1000, noise=0.05, random_state=0)
    Xt, _ = make_moons(600, noise=0.05, random_state=1)
    gan = _fit(GAN(n_components=4, generator_layer_sizes=(64, 64),
                   discriminator_layer_sizes=(64, 64), max_iter=40,
                   learning_rate_init=1e-3, beta_1=0.5, batch_size=64,
                   n_iter_no_change=np.inf, random_state=0), X)
    gauss = GaussianMixture(1, covariance_type="full", random_state=0).fit(X)
    ed_gan = energy_distance(gan.sample(600, random_state=0), Xt)
    assert ed_gan < 0.6 * energy_distance(gauss.sample(600)[0], Xt)


def test_score_is_minus_the_energy_distance_to_fixed_seed_samples(ring, ring_gan):
    _, Xt = ring
    ref = -energy_distance(Xt, ring_gan.sample(len(Xt), random_state=0))
    assert ring_gan.score(Xt) == pytest.approx(ref, rel=1e-10)
    assert ring_gan.score(Xt) == ring_gan.score(Xt)  # deterministic
    # a trained generator scores higher than an untrained one
    untrained = _fit(GAN(n_components=8, generator_layer_sizes=(64, 64),
                         discriminator_layer_sizes=(64, 64), max_iter=1,
                         learning_rate_init=1e-6, random_state=0), ring[0])
    assert ring_gan.score(Xt) > untrained.score(Xt) + 0.1


def test_discriminator_prefers_the_data_to_far_away_points(ring, ring_gan):
    _, Xt = ring
    far = np.random.default_rng(0).uniform(-1.0, 1.0, size=(400, 2))  # inside the ring
    assert np.median(ring_gan.decision_function(Xt)) > np.median(
        ring_gan.decision_function(far))


@pytest.fixture(scope="module")
def digits_cgan():
    X, y = digits_data("[-1,1]")
    cgan = _fit(ConditionalGAN(n_components=16, output_activation="tanh", max_iter=10,
                               learning_rate_init=2e-3, beta_1=0.5, batch_size=64,
                               n_iter_no_change=np.inf, random_state=0), X, y)
    return cgan, X, y


def test_conditional_samples_show_the_requested_digit(digits_cgan):
    cgan, X, y = digits_cgan
    labels = np.repeat(np.arange(10), 50)
    S = cgan.sample(len(labels), y=labels, random_state=0)
    assert S.shape == (500, 64) and S.min() >= -1 and S.max() <= 1
    acc = np.mean(digits_label_classifier().predict(S) == labels)
    assert acc >= 0.8, acc
    # FID against the data: far below uniform noise
    fe = digits_fid_extractor()
    noise = np.random.default_rng(0).uniform(-1, 1, size=(500, 64))
    assert fid_score(X, S, fe) < 0.25 * fid_score(X, noise, fe)


def test_conditional_sampling_labels_and_score(digits_cgan):
    cgan, X, y = digits_cgan
    assert np.array_equal(cgan.classes_, np.arange(10))
    np.testing.assert_allclose(cgan.class_prior_, np.bincount(y) / len(y))
    # a scalar label: all samples of that class
    np.testing.assert_array_equal(cgan.sample(5, y=3, random_state=1),
                                  cgan.sample(5, y=[3] * 5, random_state=1))
    # score: the class-wise energy distance, weighted by the class frequencies
    Xs, ys = X[:300], y[:300]
    fake = cgan.sample(300, y=ys, random_state=0)
    ref = sum((ys == k).sum() * energy_distance(Xs[ys == k], fake[ys == k])
              for k in np.unique(ys)) / len(ys)
    assert cgan.score(Xs, ys) == pytest.approx(-ref, rel=1e-10)
    # decision_function: one column per class, each the discriminator's logit of that
    # class (column k equals the single-class discriminator call)
    logits = cgan.decision_function(Xs)
    assert logits.shape == (300, 10)
    with torch.no_grad():
        disc = cgan.module_["discriminator"].eval()
        col = disc(torch.as_tensor(Xs), torch.full((300,), 4)).numpy()
    np.testing.assert_allclose(logits[:, 4], col, rtol=1e-5, atol=1e-6)


def test_conv_architecture_on_images():
    X, y = digits_data("[-1,1]")
    cgan = _fit(ConditionalGAN(generator_layer_sizes=(16, 8), discriminator_layer_sizes=(8, 16),
                               architecture="conv", image_shape=(1, 8, 8),
                               output_activation="tanh", max_iter=1, batch_size=200,
                               random_state=0), X[:400], y[:400])
    S = cgan.sample(4, y=[0, 1, 2, 3], random_state=0)
    assert S.shape == (4, 64) and np.all(np.abs(S) <= 1)
    assert cgan.image_shape_ == (1, 8, 8)
    assert cgan.decision_function(X[:3]).shape == (3, 10)


# ------------------------------------------------------------------ reproducibility

def test_same_seed_same_networks_and_samples_and_pickle_round_trip():
    X, y = digits_data("[-1,1]")
    X, y = X[:200], y[:200] % 3
    params = dict(**TINY, dropout=0.3, n_critic=2, random_state=5)
    a, b = (_fit(ConditionalGAN(**params), X, y) for _ in range(2))
    assert state_dicts_equal(a, b)
    s = a.sample(10, random_state=1)
    np.testing.assert_array_equal(s, b.sample(10, random_state=1))
    assert not np.array_equal(s, a.sample(10, random_state=2))
    loaded = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(loaded.sample(10, random_state=1), s)
    np.testing.assert_array_equal(loaded.sample(6, y=[0, 1, 2, 0, 1, 2], random_state=1),
                                  a.sample(6, y=[0, 1, 2, 0, 1, 2], random_state=1))
    np.testing.assert_array_equal(loaded.decision_function(X), a.decision_function(X))
    gan = _fit(GAN(**TINY, random_state=0), X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(gan)).sample(7, random_state=0),
                                  gan.sample(7, random_state=0))


def test_zero_weight_class_is_never_sampled_unasked():
    X, y = digits_data("[-1,1]")
    X, y = X[:300], y[:300] % 3
    w = (y != 2).astype(float)
    cgan = _fit(ConditionalGAN(**TINY, random_state=0), X, y, sample_weight=w)
    # the labels drawn for y=None follow class_prior_, the weighted class frequencies
    np.testing.assert_allclose(cgan.class_prior_, np.bincount(y, weights=w) / w.sum())
    assert cgan.class_prior_[2] == 0
    w2 = np.where(y == 0, 3.0, 1.0)
    cgan2 = _fit(ConditionalGAN(**TINY, random_state=0), X, y, sample_weight=w2)
    np.testing.assert_allclose(cgan2.class_prior_, np.bincount(y, weights=w2) / w2.sum())


def test_early_stopping_keeps_the_best_energy_distance(ring):
    X, _ = ring
    gan = _fit(GAN(**{**TINY, "max_iter": 3}, early_stopping=True, random_state=0), X[:500])
    assert len(gan.validation_scores_) == 3
    assert all(s <= 0 for s in gan.validation_scores_)
    assert gan.best_validation_score_ == max(gan.validation_scores_)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_and_sampling():
    X, y = digits_data("[-1,1]")
    cgan = _fit(ConditionalGAN(**TINY, device="cuda", random_state=0), X[:200], y[:200])
    assert next(cgan.module_.parameters()).device.type == "cuda"
    s = cgan.sample(5, y=[0, 1, 2, 3, 4], random_state=0)
    np.testing.assert_array_equal(s, cgan.sample(5, y=[0, 1, 2, 3, 4], random_state=0))
    cpu = pickle.loads(pickle.dumps(cgan))
    np.testing.assert_allclose(cpu.sample(5, y=[0, 1, 2, 3, 4], random_state=0), s,
                               atol=1e-5)


# ------------------------------------------------------------------ errors

def test_bad_input_gets_clear_errors():
    X, y = digits_data("[-1,1]")
    X, y = X[:100], y[:100]
    with pytest.raises(ValueError, match=r"image_shape=\(1, 7, 7\) holds 49 values per "
                                         "image, but X has 64 features"):
        GAN(image_shape=(1, 7, 7)).fit(X)
    with pytest.raises(ValueError, match="needs image_shape"):
        GAN(architecture="conv").fit(X)
    with pytest.raises(ValueError, match="2 channel widths"):
        GAN(architecture="conv", image_shape=(8, 8), generator_layer_sizes=(8,)).fit(X)
    with pytest.raises(ValueError, match="image_shape must be"):
        GAN(image_shape=(0, 8)).fit(X)
    with pytest.raises(ValueError, match="lbfgs"):
        GAN(solver="lbfgs").fit(X)
    with pytest.raises(ValueError, match="requires y"):
        ConditionalGAN().fit(X)
    with pytest.raises(ValueError, match="NaN"):
        ConditionalGAN().fit(X, np.where(y == 1, np.nan, y))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ConditionalGAN().fit(X, y[:-1])
    with pytest.raises(NotFittedError):
        GAN().sample(3)
    with pytest.raises(NotFittedError):
        ConditionalGAN().sample(3, y=[1, 2, 3])
    cgan = _fit(ConditionalGAN(**TINY, random_state=0), X, y % 4)
    with pytest.raises(ValueError, match=r"labels not seen in fit: \[7\]"):
        cgan.sample(2, y=[1, 7])
    with pytest.raises(ValueError, match="labels not seen in fit"):
        cgan.sample(2, y=["a", "b"])
    with pytest.raises(ValueError, match="y has 3 labels, but n_samples=2"):
        cgan.sample(2, y=[0, 1, 2])
    with pytest.raises(ValueError, match="labels not seen in fit"):
        cgan.score(X[:5], [9] * 5)
    with pytest.raises(ValueError, match="n_samples"):
        cgan.sample(0)
    with pytest.raises(ValueError, match="65 features"):
        cgan.decision_function(np.zeros((2, 65)))


def test_string_labels_partial_fit_and_warm_start():
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = np.array(["a", "b", "c"])[np.arange(60) % 3]
    cgan = ConditionalGAN(**{**TINY, "max_iter": 1}, random_state=0)
    cgan.partial_fit(X, y)
    steps = int(next(iter(cgan._train_state["optimizers"]["generator"].state.values()))
                ["step"])
    cgan.partial_fit(X, y)  # continues: same optimiser state, one more epoch
    assert len(cgan.history_) == 2
    assert int(next(iter(cgan._train_state["optimizers"]["generator"].state.values()))
               ["step"]) == 2 * steps
    assert list(cgan.classes_) == ["a", "b", "c"]
    assert cgan.sample(2, y="b", random_state=0).shape == (2, 3)
    with pytest.raises(ValueError, match=r"labels not seen in fit: \['d'\]"):
        cgan.partial_fit(X, np.where(y == "a", "d", y))


def test_training_through_the_loop_is_the_plain_adversarial_loop():
    """Two epochs of GAN.fit against Example 48 written out by hand on the same
    initialisation and noise: discriminator step (Adam), then generator step with the
    non-saturating loss, each on fresh noise from the loop's generator."""
    from skml.neural._base import _derived_seed, _seeded, _fused
    from skml.neural._modules.gan import build_gan

    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    gan = _fit(GAN(**{**TINY, "max_iter": 2}, batch_size=40, shuffle=False, alpha=0.0,
                   random_state=0), X)
    seed = gan._seed
    with _seeded(torch, torch.device("cpu"), seed):
        module = build_gan("mlp", 3, 2, generator_hidden=(8,), discriminator_hidden=(8,))
    gen, disc = module["generator"], module["discriminator"]
    opt_d = _fused(torch.optim.Adam, list(disc.parameters()), lr=1e-3)
    opt_g = _fused(torch.optim.Adam, list(gen.parameters()), lr=1e-3)
    rng = torch.Generator().manual_seed(_derived_seed(seed, 1))
    x = torch.from_numpy(X)
    for _ in range(2):
        fake = gen(torch.randn((40, 2), generator=rng)).detach()
        opt_d.zero_grad()
        real_p, fake_p = torch.sigmoid(disc(x)), torch.sigmoid(disc(fake))
        (-(torch.log(real_p).mean() + torch.log(1 - fake_p).mean())).backward()
        opt_d.step()
        z = torch.randn((40, 2), generator=rng)
        opt_g.zero_grad()
        (-torch.log(torch.sigmoid(disc(gen(z)))).mean()).backward()
        opt_g.step()
    for key, value in module.state_dict().items():
        np.testing.assert_allclose(gan.module_.state_dict()[key].numpy(), value.numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=key)
