"""skml.neural's GAN, ConditionalGAN and NormalizingFlow.

Harness cases (``python -m benchmarks bench_gan_flow``):

* ``GAN epochs (ring) vs torch loop`` and ``ConditionalGAN epochs (digits) vs torch
  loop``: training epochs through skml's one loop against a hand-written loop over the
  same modules (``skml.neural._modules.gan.build_gan``), the same batches, the same
  optimisers (fused Adam, as skml's) and the same step (``n_critic=1``: a discriminator
  update, then a generator update with the non-saturating loss): the wrapper's overhead
  (target <= 1.1). Quality: the energy distance of 1000 samples to held-out data (ring),
  the share of conditional samples a digits classifier labels as requested (digits).
* ``NormalizingFlow epochs (digits) vs torch loop``: the same for the flow (actnorm,
  dequantisation noise, maximum likelihood). Quality: held-out log-likelihood (nats).

The learning targets of issue 17 at full size (``python -m benchmarks.bench_gan_flow``,
``--quick`` for a smoke run) print one table and write
``results/gan_flow_learning.json``: mode coverage and energy distance on the ring of 8
Gaussians (std 0.05; the GAN trained on 2000 rows for 200 epochs, the flow on 10000
rows for 40) and energy distance on two moons, for the GAN and the flow against a
fitted Gaussian; FID (the digits MLP's hidden layer) of ConditionalGAN samples (200
epochs) against a VAE's samples and uniform noise, and the classifier's agreement with
the requested labels; the flow's held-out log-likelihood on dequantised digits (early
stopping on a dequantised validation tenth) against a full-covariance Gaussian, and
its inversion error.
"""
import json
import sys
import time
import warnings

import numpy as np

from benchmarks._harness import RESULTS, Case, one_torch_thread

NAME = "gan_flow"
PEER = "torch loop"

_RING_GAN = dict(n_components=8, generator_layer_sizes=(128, 128),
                 discriminator_layer_sizes=(128, 128), learning_rate_init=1e-3,
                 beta_1=0.5, batch_size=64)
_DIGITS_CGAN = dict(n_components=16, output_activation="tanh", learning_rate_init=2e-3,
                    beta_1=0.5, batch_size=64)
_DIGITS_FLOW = dict(n_layers=6, hidden_layer_sizes=(256,), dequantize=1 / 16,
                    batch_size=64, learning_rate_init=1e-3)


def _quiet(fn, *args, **kwargs):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


def _eval():
    sys.path.insert(0, str(RESULTS.parent.parent / "tests" / "neural"))
    import _generative_eval

    return _generative_eval


# ------------------------------------------------------------------ data


def _ring_data(epochs):
    ev = _eval()
    X, _ = ev.ring_of_gaussians(2000, std=0.05, random_state=0)
    Xt, _ = ev.ring_of_gaussians(1000, std=0.05, random_state=1)
    return {"X": X, "y": None, "Xt": Xt, "epochs": epochs}


def _digits_data(epochs, scale="[-1,1]"):
    from sklearn.model_selection import train_test_split

    ev = _eval()
    X, y = ev.digits_data(scale)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0,
                                          stratify=y)
    return {"X": Xtr, "y": ytr, "Xt": Xte, "yt": yte, "epochs": epochs}


# ------------------------------------------------------------------ GAN: skml vs loop


def _gan_skml(config, conditional):
    def run(data):
        from skml.neural import GAN, ConditionalGAN

        cls = ConditionalGAN if conditional else GAN
        est = cls(**config, max_iter=data["epochs"], alpha=0.0, tol=0.0,
                  n_iter_no_change=np.inf, device="cpu", random_state=0)
        _quiet(est.fit, data["X"], data["y"])
        return est.module_["generator"]
    return run


def _gan_torch(config, conditional):
    def run(data):
        import torch

        from skml.neural._base import _fused
        from skml.neural._modules.gan import build_gan, discriminator_loss, generator_loss

        X = torch.from_numpy(data["X"])
        n, d = X.shape
        codes = None
        n_classes = 0
        if conditional:
            classes, inv = np.unique(data["y"], return_inverse=True)
            codes = torch.from_numpy(inv.astype(np.int64))
            n_classes = len(classes)
        latent = config["n_components"]
        torch.manual_seed(0)
        module = build_gan(
            "mlp", d, latent,
            generator_hidden=config.get("generator_layer_sizes", (128, 128)),
            discriminator_hidden=config.get("discriminator_layer_sizes", (128, 128)),
            out_activation=config.get("output_activation"), n_classes=n_classes,
            embedding_dim=16 if conditional else 0)
        gen, disc = module["generator"], module["discriminator"]
        kw = dict(lr=config["learning_rate_init"], betas=(config["beta_1"], 0.999),
                  eps=1e-8)
        opt_g = _fused(torch.optim.Adam, list(gen.parameters()), **kw)
        opt_d = _fused(torch.optim.Adam, list(disc.parameters()), **kw)
        noise_gen = torch.Generator().manual_seed(1)
        shuffle = torch.Generator().manual_seed(0)
        n_batches = -(-n // config["batch_size"])
        bounds = [round(i * n / n_batches) for i in range(n_batches + 1)]
        module.train()
        for _ in range(data["epochs"]):
            perm = torch.randperm(n, generator=shuffle)
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                idx = perm[lo:hi]
                x = X[idx]
                lab = None if codes is None else codes[idx]
                with torch.no_grad():
                    fake = gen(torch.randn(hi - lo, latent, generator=noise_gen), lab)
                opt_d.zero_grad(set_to_none=True)
                discriminator_loss(disc(x, lab), disc(fake, lab)).backward()
                opt_d.step()
                z = torch.randn(hi - lo, latent, generator=noise_gen)
                disc.requires_grad_(False)
                opt_g.zero_grad(set_to_none=True)
                generator_loss(disc(gen(z, lab), lab)).backward()
                opt_g.step()
                disc.requires_grad_(True)
        module.eval()
        return gen
    return run


def _ring_quality(gen, data):
    import torch

    with torch.no_grad():
        S = gen(torch.randn(1000, gen.net[0].in_features,
                            generator=torch.Generator().manual_seed(0))).numpy()
    return _eval().energy_distance(S, data["Xt"])


def _label_quality(gen, data):
    import torch

    labels = np.repeat(np.arange(10), 50)
    with torch.no_grad():
        S = gen(torch.randn(500, gen.net[0].in_features,
                            generator=torch.Generator().manual_seed(0)),
                torch.from_numpy(labels)).numpy()
    return float(np.mean(_eval().digits_label_classifier().predict(S) == labels))


# ------------------------------------------------------------------ flow: skml vs loop


def _flow_skml(data):
    from skml.neural import NormalizingFlow

    est = NormalizingFlow(**_DIGITS_FLOW, max_iter=data["epochs"], alpha=0.0, tol=0.0,
                          n_iter_no_change=np.inf, device="cpu", random_state=0)
    _quiet(est.fit, data["X"])
    return est.module_


def _flow_torch(data):
    import torch

    from skml.neural._base import _fused
    from skml.neural._modules.flow import RealNVP

    X = torch.from_numpy(data["X"])
    n, d = X.shape
    torch.manual_seed(0)
    flow = RealNVP(d, _DIGITS_FLOW["n_layers"], _DIGITS_FLOW["hidden_layer_sizes"])
    opt = _fused(torch.optim.Adam, list(flow.parameters()),
                 lr=_DIGITS_FLOW["learning_rate_init"])
    noise_gen = torch.Generator().manual_seed(1)
    shuffle = torch.Generator().manual_seed(0)
    bs = _DIGITS_FLOW["batch_size"]
    n_batches = -(-n // bs)
    bounds = [round(i * n / n_batches) for i in range(n_batches + 1)]
    flow.train()
    for _ in range(data["epochs"]):
        perm = torch.randperm(n, generator=shuffle)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            x = X[perm[lo:hi]]
            x = x + _DIGITS_FLOW["dequantize"] * torch.rand(x.shape, generator=noise_gen)
            opt.zero_grad(set_to_none=True)
            loss = -flow.log_prob(x).mean()
            loss.backward()
            opt.step()
    flow.eval()
    return flow


def _flow_quality(flow, data):
    import torch

    rng = np.random.default_rng(0)
    Xt = data["Xt"] + rng.random(data["Xt"].shape) / 16
    with torch.no_grad():
        return float(flow.log_prob(torch.as_tensor(Xt, dtype=torch.float32)).mean())


def cases(quick):
    yield Case("GAN epochs (ring) vs torch loop", lambda: _ring_data(2 if quick else 10),
               one_torch_thread(_gan_skml(_RING_GAN, False)),
               one_torch_thread(_gan_torch(_RING_GAN, False)), _ring_quality,
               "energy distance", repeats=3)
    yield Case("ConditionalGAN epochs (digits) vs torch loop",
               lambda: _digits_data(2 if quick else 10),
               one_torch_thread(_gan_skml(_DIGITS_CGAN, True)),
               one_torch_thread(_gan_torch(_DIGITS_CGAN, True)), _label_quality,
               "label agreement", repeats=3)
    yield Case("NormalizingFlow epochs (digits) vs torch loop",
               lambda: _digits_data(2 if quick else 10, "[0,1]"),
               one_torch_thread(_flow_skml), one_torch_thread(_flow_torch), _flow_quality,
               "held-out log-lik", repeats=3)


# ------------------------------------------------------------------ learning targets


def _moons_rows(quick, row):
    """Energy distance to held-out two moons: the GAN and the flow against a Gaussian."""
    from sklearn.datasets import make_moons
    from sklearn.mixture import GaussianMixture

    from skml.neural import GAN, NormalizingFlow

    ev = _eval()
    X, _ = make_moons(2000, noise=0.05, random_state=0)
    Xt, _ = make_moons(1000, noise=0.05, random_state=1)
    gauss = GaussianMixture(1, covariance_type="full", random_state=0).fit(X)
    ed_gauss = ev.energy_distance(gauss.sample(1000)[0], Xt)
    epochs = 3 if quick else 100
    models = {"GAN": GAN(**_RING_GAN, max_iter=epochs, n_iter_no_change=np.inf,
                         random_state=0),
              "NormalizingFlow": NormalizingFlow(
                  n_layers=8, hidden_layer_sizes=(64, 64), learning_rate="cosine",
                  learning_rate_init=5e-3, batch_size=64, max_iter=epochs,
                  n_iter_no_change=np.inf, random_state=0)}
    for name, est in models.items():
        _quiet(est.fit, X)
        row(f"{name} two moons: energy distance to held-out",
            ev.energy_distance(est.sample(1000, random_state=0), Xt), ed_gauss, "Gaussian")


def learning_targets(quick=False):
    """The issue's learning targets at full size; returns the rows (also printed and
    written to results/gan_flow_learning.json)."""
    import torch
    from sklearn.mixture import GaussianMixture

    from skml.metrics import fid_score
    from skml.neural import GAN, VAE, ConditionalGAN, NormalizingFlow

    torch.set_num_threads(1)
    ev = _eval()
    rows = []

    def row(name, value, reference, ref_name):
        rows.append({"target": name, "skml": float(value), "reference": float(reference),
                     "reference_name": ref_name})
        print(f"| {name} | {value:.4g} | {reference:.4g} ({ref_name}) |", flush=True)

    print("| target | skml | reference |\n|---|---|---|")
    ring = _ring_data(3 if quick else 0)
    gauss = GaussianMixture(1, covariance_type="full", random_state=0).fit(ring["X"])
    G = gauss.sample(2000)[0]
    g_counts, g_near = ev.mode_coverage(G)
    ed_gauss = ev.energy_distance(G[:1000], ring["Xt"])
    # (model, training rows): the flow needs more data than the GAN to settle the mass
    # of each of the 8 tight modes (with 2000 rows its smallest mode gets ~3%)
    big_ring, _ = ev.ring_of_gaussians(10000, std=0.05, random_state=0)
    models = {
        "GAN": (GAN(**_RING_GAN, max_iter=3 if quick else 200, n_iter_no_change=np.inf,
                    random_state=0), ring["X"]),
        "NormalizingFlow": (NormalizingFlow(
            n_layers=12, hidden_layer_sizes=(64, 64), learning_rate="cosine",
            learning_rate_init=5e-3, batch_size=64, max_iter=1 if quick else 40,
            n_iter_no_change=np.inf, random_state=0), big_ring),
    }
    for name, (est, X_train) in models.items():
        t0 = time.process_time()
        _quiet(est.fit, X_train)
        cpu = time.process_time() - t0
        S = est.sample(2000, random_state=0)
        counts, near = ev.mode_coverage(S)
        row(f"{name} ring: smallest mode share ({len(X_train)} rows, fit {cpu:.0f} s "
            "CPU)",
            counts.min() / len(S), g_counts.min() / len(G), "Gaussian")
        row(f"{name} ring: modes hit", (counts > 0).sum(), (g_counts > 0).sum(), "Gaussian")
        row(f"{name} ring: share near a mode", near, g_near, "Gaussian")
        row(f"{name} ring: energy distance to held-out", ev.energy_distance(S[:1000],
                                                                           ring["Xt"]),
            ed_gauss, "Gaussian")
    _moons_rows(quick, row)

    digits = _digits_data(0)
    X, y = digits["X"], digits["y"]
    fe = ev.digits_fid_extractor()
    labels = np.repeat(np.arange(10), 100)
    t0 = time.process_time()
    cgan = _quiet(ConditionalGAN(**_DIGITS_CGAN, max_iter=3 if quick else 200,
                                 n_iter_no_change=np.inf, random_state=0).fit, X, y)
    cpu = time.process_time() - t0
    S = cgan.sample(len(labels), y=labels, random_state=0)
    X01 = (X + 1) / 2  # the VAE with a Bernoulli decoder models [0, 1] pixels
    vae = _quiet(VAE(hidden_layer_sizes=(256, 128), n_components=16,
                     likelihood="bernoulli", max_iter=3 if quick else 200,
                     n_iter_no_change=np.inf, random_state=0).fit, X01)
    V = vae.sample(len(labels), random_state=0) * 2 - 1
    noise = np.random.default_rng(0).uniform(-1, 1, size=S.shape)
    Xall = np.vstack([X, digits["Xt"]])
    fid_cgan = fid_score(Xall, S, fe)
    row(f"cGAN digits: FID (fit {cpu:.0f} s CPU)", fid_cgan, fid_score(Xall, V, fe), "VAE")
    row("cGAN digits: FID", fid_cgan, fid_score(Xall, noise, fe), "uniform noise")
    acc = np.mean(ev.digits_label_classifier().predict(S) == labels)
    row("cGAN digits: requested label recognised", acc, 0.8, "target")

    digits01 = _digits_data(0, "[0,1]")
    Xtr, Xte = digits01["X"], digits01["Xt"]
    t0 = time.process_time()
    # 1347 rows of 64 features: the flow overfits after a few epochs; early stopping
    # on the (dequantised) log-likelihood of a held-out tenth keeps the best epoch
    flow = _quiet(NormalizingFlow(**_DIGITS_FLOW, max_iter=3 if quick else 100,
                                  early_stopping=True, random_state=0).fit, Xtr)
    cpu = time.process_time() - t0
    rng = np.random.default_rng(0)
    Xtr_d = Xtr + rng.random(Xtr.shape) / 16
    Xte_d = Xte + rng.random(Xte.shape) / 16
    ll_gauss = GaussianMixture(1, covariance_type="full", random_state=0).fit(Xtr_d).score(
        Xte_d)
    row(f"flow digits: held-out log-lik, nats (fit {cpu:.0f} s CPU)", flow.score(Xte_d),
        ll_gauss, "full-cov Gaussian")
    err = np.abs(flow.inverse_transform(flow.transform(Xte.astype(np.float64))) - Xte)
    row("flow digits: max |inverse_transform(transform(X)) - X|", err.max(), 1e-4,
        "target")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gan_flow_learning.json").write_text(
        json.dumps({"quick": quick, "rows": rows}, indent=2))
    return rows


if __name__ == "__main__":
    learning_targets(quick="--quick" in sys.argv[1:])
