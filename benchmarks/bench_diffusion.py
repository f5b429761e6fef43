"""skml.neural.DiffusionModel, one case per line (the label names both sides):

* ``DDPM epochs on digits vs torch loop``: training epochs of a conditional U-Net DDPM
  (8x8 digits in [-1, 1], T = 1000, label dropout 0.1) through skml's loop against a
  hand-written loop over the same network (``UNetDenoiser``), schedule, batches,
  draws and optimiser: the wrapper's overhead (target <= 1.1). Quality: the final
  epoch's mean training loss.
* ``sample 1000 ancestral vs 50 DDIM``: the time of 1,000 ancestral steps (skml
  column) against 50 DDIM steps (peer column) for the same fitted model and sample
  count. Quality: FID to the real digits (the hidden layer of an MLPClassifier trained
  on digits as features).
* Full-size learning runs, quality only (the time ratio is not the point): ``ring DDPM
  vs Gaussian`` (energy distance to held-out points; the smallest share of samples
  near a mode is printed), ``digits DDPM vs VAE`` (FID; uniform noise's FID printed
  for scale) and ``CFG scale 3 vs 0`` (share of samples a classifier trained on real
  digits gives the requested label; scale 1 printed).

Measured (2026-11-30, 2 cores shared with other jobs, load 9-15, one torch thread;
memory not measured): epochs 6.86 s vs 5.41 s wall (1.27; 2.54 at load 15), but the
process CPU times of the same runs interleaved agree to 1.00-1.07 (the wall ratio is
the machine's contention); 200 samples: 1000 ancestral steps 170 s vs 50 DDIM steps
5.2 s (32x), FID 1.62 vs 1.93; ring: energy distance 0.0106 vs the Gaussian's 0.0969,
smallest mode share 0.111, 97.7% of samples near a mode; digits FID 1.60 (DDPM,
T = 1000, 25 epochs, DDIM 100) vs 7.92 (VAE) and 156.6 (uniform noise); CFG label
agreement 0.093 / 0.907 / 1.000 at scales 0 / 1 / 3.
"""
import time
import warnings

import numpy as np

from benchmarks._harness import Case, one_torch_thread, value_quality

NAME = "diffusion"
PEER = "peer"


def _quiet(fn):
    def run(*args):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return fn(*args)
    run.__name__ = getattr(fn, "__name__", "run")
    return run


def _eval():
    from tests.neural import _generative_eval

    return _generative_eval


# ------------------------------------------------------------------ training epochs

_T = 1000
_BATCH = 128
_CHANNELS = (32, 64)
_DROP = 0.1


def _digits(epochs):
    X, y = _eval().digits_data("[-1,1]")
    return X, y, epochs


def _epochs_skml(data):
    from skml.neural import DiffusionModel

    X, y, epochs = data
    m = DiffusionModel(image_shape=(8, 8), channels=_CHANNELS, n_timesteps=_T,
                       label_dropout=_DROP, batch_size=_BATCH, alpha=0.0, tol=0.0,
                       n_iter_no_change=np.inf, max_iter=epochs, device="cpu",
                       n_jobs=1, random_state=0)
    _quiet(m.fit)(X, y)
    return m.loss_curve_[-1]


def _epochs_torch(data):
    import torch

    from skml.neural._modules.diffusion import NoiseSchedule, UNetDenoiser

    X, y, epochs = data
    x_all = torch.from_numpy(X.reshape(-1, 1, 8, 8))
    y_all = torch.from_numpy(np.unique(y, return_inverse=True)[1].astype(np.int64))
    torch.manual_seed(0)
    net = UNetDenoiser(1, _CHANNELS, 64, 10)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = NoiseSchedule(_T, "linear")
    gen, rng = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
    n = len(x_all)
    n_batches = -(-n // _BATCH)
    bounds = [round(i * n / n_batches) for i in range(n_batches + 1)]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            x0, lab = x_all[perm[lo:hi]], y_all[perm[lo:hi]]
            t = torch.randint(0, _T, (len(x0),), generator=rng)
            eps = torch.randn(x0.shape, generator=rng)
            drop = torch.rand(len(x0), generator=rng) < _DROP
            lab = torch.where(drop, torch.full_like(lab, 10), lab)
            loss = (net(sched.add_noise(x0, eps, t), t, lab) - eps).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * (hi - lo)
    return total / n


# ------------------------------------------------------------------ sampling


def _fitted_digits_model(epochs):
    from skml.neural import DiffusionModel

    X, y = _eval().digits_data("[-1,1]")
    m = DiffusionModel(image_shape=(8, 8), channels=_CHANNELS, n_timesteps=_T,
                       label_dropout=0.15, batch_size=64, learning_rate_init=2e-3,
                       learning_rate="cosine", max_iter=epochs, n_iter_no_change=np.inf,
                       device="cpu", random_state=0)
    _quiet(m.fit)(X, y)
    return m, X, y


def _sampler(name, steps, n):
    def run(data):
        m = data[0]
        labels = np.resize(np.arange(10), n)
        return m.sample(n, labels, sampler=name, n_sampling_steps=steps, random_state=0)
    run.__name__ = f"sample_{name}_{steps}"
    return run


def _fid(samples, data):
    from skml.metrics import fid_score

    X = data[1]
    return fid_score(X, samples, _eval().digits_fid_extractor("[-1,1]"))


# ------------------------------------------------------------------ learning runs


def _ring():
    ev = _eval()
    X, _ = ev.ring_of_gaussians(5000, random_state=0)
    return X[:4000], X[4000:]


def _ring_ddpm(data):
    from skml.neural import DiffusionModel

    m = DiffusionModel(hidden_layer_sizes=(128, 128, 128), n_timesteps=100,
                       noise_schedule="cosine", batch_size=128, learning_rate_init=1e-2,
                       learning_rate="cosine", max_iter=100, n_iter_no_change=np.inf,
                       random_state=0)
    _quiet(m.fit)(data[0])
    S = m.sample(2000, random_state=0)
    counts, near = _eval().mode_coverage(S)
    print(f"    ring DDPM: smallest mode share {counts.min() / len(S):.3f}, "
          f"near a mode {near:.3f}, modes hit {(counts > 0).sum()}/8")
    return S


def _ring_gauss(data):
    X = data[0]
    return np.random.default_rng(0).multivariate_normal(X.mean(0), np.cov(X.T), size=2000)


def _energy(S, data):
    return _eval().energy_distance(S, data[1])


def _digits_ddpm(data):
    m, X, y = data
    return m.sample(500, np.resize(np.arange(10), 500), sampler="ddim",
                    n_sampling_steps=100, random_state=0)


def _digits_vae(data):
    from skml.neural import VAE

    X = data[1]
    vae = VAE(hidden_layer_sizes=(256,), n_components=8, learning_rate_init=2e-3,
              max_iter=100, random_state=0)
    _quiet(vae.fit)(X)
    S = np.clip(vae.sample(500, random_state=0), -1, 1)
    noise = np.random.default_rng(0).uniform(-1, 1, size=(500, 64))
    print(f"    uniform noise FID {_fid(noise, data):.2f}")
    return S


def _cfg(scale):
    def run(data):
        m = data[0]
        labels = np.resize(np.arange(10), 300)
        S = m.sample(300, labels, guidance_scale=scale, sampler="ddim",
                     n_sampling_steps=50, random_state=0)
        return S, labels
    run.__name__ = f"cfg_{scale}"
    return run


def _agreement(result, data):
    S, labels = result
    clf = _eval().digits_label_classifier("[-1,1]")
    agree = float(np.mean(clf.predict(S) == labels))
    return agree


def _cfg_scale1_note(data):
    S, labels = _cfg(1.0)(data)
    print(f"    CFG scale 1 agreement {_agreement((S, labels), data):.3f}")
    return data


def cases(quick):
    yield Case("DDPM epochs on digits vs torch loop", lambda: _digits(1 if quick else 3),
               one_torch_thread(_epochs_skml), one_torch_thread(_epochs_torch),
               value_quality, "final loss", repeats=1 if quick else 3)
    epochs = 3 if quick else 25
    model = {}

    def fitted():
        if "m" not in model:
            t0 = time.perf_counter()
            model["m"] = _fitted_digits_model(epochs)
            print(f"    (digits DDPM: {epochs} epochs in {time.perf_counter() - t0:.0f} s)")
        return model["m"]

    n = 100 if quick else 200
    yield Case(f"sample {n}: 1000 ancestral vs 50 DDIM steps", fitted,
               _sampler("ancestral", 1000, n), _sampler("ddim", 50, n), _fid, "FID",
               repeats=1)
    if quick:
        return
    yield Case("ring of 8 Gaussians: DDPM vs fitted Gaussian", _ring, _ring_ddpm,
               _ring_gauss, _energy, "energy distance", repeats=1)
    yield Case("digits: DDPM (DDIM 100) vs VAE", fitted, _digits_ddpm, _digits_vae, _fid,
               "FID", repeats=1)
    yield Case("digits CFG: scale 3 vs 0", lambda: _cfg_scale1_note(fitted()), _cfg(3.0),
               _cfg(0.0), _agreement, "label agreement", repeats=1)
