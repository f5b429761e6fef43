"""Demo section: denoising diffusion — a DDPM on the ring of 8 Gaussians (samples and the
density of its variational bound), a conditional U-Net DDPM's digits, and the
classifier-free guidance sweep."""
import time
import warnings

import numpy as np

ORDER = 87
TITLE = "Diffusion models (torch backend)"
REQUIRES = ("torch",)


def _quiet(fit):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def _ring(n, rng):
    angles = 2 * np.pi * np.arange(8) / 8
    centres = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    mode = rng.integers(0, 8, n)
    return centres[mode] + 0.05 * rng.standard_normal((n, 2)), centres


def _toy(report, quick):
    import matplotlib.pyplot as plt
    from scipy.spatial.distance import cdist

    from skml.neural import DiffusionModel

    rng = np.random.default_rng(0)
    X, centres = _ring(1000 if quick else 2000, rng)
    Xte, _ = _ring(1000, rng)
    t0 = time.perf_counter()
    ddpm = _quiet(lambda: DiffusionModel(
        hidden_layer_sizes=(128, 128, 128), n_timesteps=100, noise_schedule="cosine",
        batch_size=128, learning_rate_init=1e-2, learning_rate="cosine",
        max_iter=15 if quick else (150 if report.full else 60), n_iter_no_change=np.inf,
        random_state=0).fit(X))
    fit_s = time.perf_counter() - t0
    gauss = rng.multivariate_normal(X.mean(0), np.cov(X.T), size=2000)

    def energy(A, B):
        return 2 * cdist(A, B).mean() - cdist(A, A).mean() - cdist(B, B).mean()

    rows = []
    samples = {}
    for name, draw in [
        ("DDPM ancestral, 100 steps", lambda: ddpm.sample(2000, random_state=0)),
        ("DDPM DDIM, 20 steps", lambda: ddpm.sample(2000, random_state=0, sampler="ddim",
                                                   n_sampling_steps=20)),
        ("Gaussian fitted to the data", lambda: gauss),
    ]:
        t0 = time.perf_counter()
        S = draw()
        secs = time.perf_counter() - t0
        d = cdist(S, centres)
        near = d.min(1) <= 0.15
        share = np.bincount(d.argmin(1)[near], minlength=8) / len(S)
        samples[name] = S
        rows.append((name, float(energy(S, Xte)), f"{int((share > 0).sum())}/8",
                     float(share.min()), f"{secs:.2f}"))
    report.text(
        f"A DDPM (MLP denoiser, T = 100, cosine schedule; fitted in {fit_s:.1f} s) on "
        "2,000 points of a ring of 8 Gaussians (std 0.05): energy distance to 1,000 "
        "held-out points, modes hit and the smallest share of samples within 3 std of a "
        "mode, against a Gaussian fitted to the data. DDIM keeps the modes with a fifth "
        "of the steps.")
    report.table(["sampler", "energy distance", "modes hit", "smallest mode share",
                  "sampling s"], rows)
    # the density of the variational bound on a grid (score_samples, nats)
    g = np.linspace(-2.6, 2.6, 20 if quick else 50)
    G = np.array(np.meshgrid(g, g)).reshape(2, -1).T
    bound = ddpm.score_samples(G).reshape(len(g), len(g))
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    axes[0].scatter(*X[:1000].T, s=2)
    axes[0].set_title("data")
    axes[1].scatter(*samples["DDPM ancestral, 100 steps"][:1000].T, s=2, color="C1")
    axes[1].set_title("DDPM samples")
    im = axes[2].imshow(np.exp(np.maximum(bound, bound.max() - 12)), origin="lower",
                        extent=(g[0], g[-1], g[0], g[-1]), cmap="magma")
    axes[2].set_title("exp(variational bound)")
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    for ax in axes:
        ax.set_aspect("equal")
        ax.set_xlim(-2.6, 2.6)
        ax.set_ylim(-2.6, 2.6)
    report.figure(fig, "diffusion_ring", "The ring of 8 Gaussians, DDPM samples, and "
                  "the density exp(ELBO) given by score_samples on a grid.")


def _digits(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_digits

    from skml.metrics import fid_score
    from skml.neural import VAE, DiffusionModel, MLPClassifier

    X16, y = load_digits(return_X_y=True)
    X = X16 / 8.0 - 1.0
    t0 = time.perf_counter()
    ddpm = _quiet(lambda: DiffusionModel(
        image_shape=(8, 8), channels=(16, 32) if not report.full else (32, 64),
        n_timesteps=100, label_dropout=0.15, batch_size=64, learning_rate_init=3e-3,
        learning_rate="cosine", max_iter=3 if quick else (40 if report.full else 12),
        n_iter_no_change=np.inf, random_state=0).fit(X, y))
    fit_s = time.perf_counter() - t0
    clf = _quiet(lambda: MLPClassifier(hidden_layer_sizes=(64,), max_iter=30 if quick else 100,
                                       learning_rate_init=3e-3, random_state=0).fit(X, y))
    W, b = clf.coefs_[0], clf.intercepts_[0]

    def phi(A):
        return np.maximum(np.asarray(A).reshape(len(A), -1) @ W + b, 0.0)

    n = 50 if quick else 300
    labels = np.resize(np.arange(10), n)
    S = ddpm.sample(n, labels, random_state=0, sampler="ddim", n_sampling_steps=25)
    vae = _quiet(lambda: VAE(hidden_layer_sizes=(128,), n_components=8,
                             learning_rate_init=3e-3, max_iter=10 if quick else 40,
                             random_state=0).fit(X))
    noise = np.random.default_rng(0).uniform(-1, 1, size=(n, 64))
    report.text(
        f"A conditional DDPM with a small U-Net on the 8x8 digits in [-1, 1] (T = 100, "
        f"label dropout 0.15; fitted in {fit_s:.1f} s), sampled with 25 DDIM steps. "
        "FID uses the hidden layer of an MLPClassifier trained on digits as features.")
    report.table(["samples", "FID"], [
        ("DDPM (guidance 1)", float(fid_score(X, S, phi))),
        ("VAE (8-d latent)", float(fid_score(X, np.clip(vae.sample(n, random_state=0),
                                                          -1, 1), phi))),
        ("uniform noise", float(fid_score(X, noise, phi))),
    ])
    # classifier-free guidance sweep: the same noise, scales 0 (unconditional) to 3
    scales = (0.0, 1.0, 3.0)
    grid_labels = np.tile(np.arange(10), 1 if quick else 2)
    rows, grids = [], []
    for s in scales:
        Sg = ddpm.sample(n, labels, random_state=1, guidance_scale=s, sampler="ddim",
                         n_sampling_steps=20)
        rows.append((f"{s:g}", float(np.mean(clf.predict(Sg) == labels))))
        grids.append(ddpm.sample(len(grid_labels), grid_labels, random_state=2,
                                 guidance_scale=s, sampler="ddim", n_sampling_steps=20))
    report.text(
        "Classifier-free guidance: the share of samples that a classifier trained on the "
        "real digits gives the requested label rises with the guidance scale (0 samples "
        "the unconditional model).")
    report.table(["guidance scale", "label agreement"], rows)
    per = len(grid_labels) // 10
    fig, axes = plt.subplots(len(scales) * per, 10, figsize=(8, 0.85 * per * len(scales)),
                             squeeze=False)
    for r, (s, G) in enumerate(zip(scales, grids)):
        for i in range(len(grid_labels)):
            ax = axes[per * r + i // 10, i % 10]
            ax.imshow(G[i].reshape(8, 8), cmap="gray_r", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i % 10 == 0:
                ax.set_ylabel(f"s={s:g}", fontsize=7)
    report.figure(fig, "diffusion_digits", "DDPM digits for the labels 0-9 (columns) at "
                  "guidance scales 0, 1 and 3.")


def section(report, quick=False):
    _toy(report, quick)
    _digits(report, quick)
