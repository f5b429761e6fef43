"""Demo section: generative adversarial networks and normalising flows — GAN and
conditional GAN sample grids on digits with their FID, and the density a RealNVP flow
learns on two 2-D toys."""
import time
import warnings

import numpy as np

ORDER = 82
TITLE = "GANs and normalising flows"
REQUIRES = ("torch",)


def _quiet_fit(est, *args):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args)


def _gans(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_digits

    from skml.metrics import fid_score
    from skml.neural import GAN, ConditionalGAN, MLPClassifier

    X16, y = load_digits(return_X_y=True)
    X = X16 / 8.0 - 1.0  # [-1, 1], the range of the generators' tanh output
    epochs = 5 if quick else (150 if report.full else 30)
    params = dict(n_components=16, output_activation="tanh", learning_rate_init=2e-3,
                  beta_1=0.5, batch_size=64, max_iter=epochs, n_iter_no_change=np.inf,
                  random_state=0)
    t0 = time.perf_counter()
    gan = _quiet_fit(GAN(**params), X)
    cgan = _quiet_fit(ConditionalGAN(**params), X, y)
    seconds = time.perf_counter() - t0
    # the FID feature map: the hidden layer of a classifier trained on the digits, which
    # also checks the label of the conditional samples
    clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(64,), max_iter=100,
                                   learning_rate_init=3e-3, random_state=0), X, y)
    W, b = clf.coefs_[0], clf.intercepts_[0]

    def features(Z):
        return np.maximum(Z @ W + b, 0.0)

    labels = np.repeat(np.arange(10), 100)
    S_gan = gan.sample(1000, random_state=0)
    S_cgan = cgan.sample(1000, y=labels, random_state=0)
    noise = np.random.default_rng(0).uniform(-1, 1, size=S_gan.shape)
    report.text(
        f"`GAN` and `ConditionalGAN` (Definition 3.95, Remarks 3.81 and 3.84) on the "
        f"1797 digits scaled to [-1, 1]: MLP generator and discriminator (2x128, leaky "
        f"ReLU, tanh output), 16-D noise, the non-saturating generator loss, {epochs} "
        f"epochs of Adam (beta_1 = 0.5) through the shared training loop ({seconds:.0f} s "
        "for both). The conditional GAN sees the label through a learned embedding in "
        "both networks. FID uses the hidden layer of an MLP classifier trained on the "
        "digits (lower is better); the same classifier checks that each conditional "
        "sample shows the digit asked for.")
    report.table(
        ["samples", "FID", "classifier agrees with the requested digit"],
        [("GAN", fid_score(X, S_gan, features), "-"),
         ("ConditionalGAN", fid_score(X, S_cgan, features),
          f"{np.mean(clf.predict(S_cgan) == labels):.1%}"),
         ("uniform noise", fid_score(X, noise, features), "-")])
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    grid_cgan = S_cgan.reshape(10, 100, 8, 8)[:, :10]  # rows: digits 0-9
    grid_gan = S_gan[:100].reshape(10, 10, 8, 8)
    for ax, grid, title in ((axes[0], grid_gan, "GAN"),
                            (axes[1], grid_cgan, "ConditionalGAN (row k: y = k)")):
        ax.imshow(grid.transpose(0, 2, 1, 3).reshape(80, 80), cmap="gray_r", vmin=-1,
                  vmax=1)
        ax.set_title(title)
        ax.axis("off")
    report.figure(fig, "gan_digits", "Digits sampled by the GAN (left) and by the "
                  "conditional GAN, one row per requested digit (right).")


def _flows(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import make_moons
    from sklearn.mixture import GaussianMixture

    from skml.neural import NormalizingFlow

    rng = np.random.RandomState(0)
    angles = 2 * np.pi * rng.randint(8, size=2400) / 8
    ring = 2 * np.c_[np.cos(angles), np.sin(angles)] + 0.1 * rng.randn(2400, 2)
    moons = make_moons(2400, noise=0.05, random_state=0)[0]
    epochs = 3 if quick else (150 if report.full else 15)
    rows = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, (name, data) in zip(axes, (("two moons", moons), ("ring of 8 Gaussians", ring))):
        X, Xt = data[:2000], data[2000:]
        t0 = time.perf_counter()
        flow = _quiet_fit(NormalizingFlow(n_layers=8, hidden_layer_sizes=(64, 64),
                                          learning_rate="cosine", learning_rate_init=5e-3,
                                          batch_size=64, max_iter=epochs,
                                          n_iter_no_change=np.inf, random_state=0), X)
        seconds = time.perf_counter() - t0
        gauss = GaussianMixture(1, covariance_type="full", random_state=0).fit(X)
        rows.append((name, flow.score(Xt), gauss.score(Xt), f"{seconds:.1f}"))
        lo, hi = data.min(0) - 0.5, data.max(0) + 0.5
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
        density = np.exp(flow.score_samples(np.c_[gx.ravel(), gy.ravel()]))
        ax.imshow(density.reshape(gx.shape), origin="lower", cmap="magma",
                  extent=(lo[0], hi[0], lo[1], hi[1]), aspect="auto")
        S = flow.sample(300, random_state=0)
        ax.scatter(S[:, 0], S[:, 1], s=2, c="cyan")
        ax.set_title(f"{name}: flow density and samples")
    report.text(
        f"`NormalizingFlow` (§3.4.6): RealNVP, 8 affine coupling layers with alternating "
        f"masks, each after an actnorm layer initialised on the first batch, {epochs} "
        "epochs of maximum likelihood. Its `score_samples` is the exact log-density "
        "(change of variables); held-out log-likelihood per sample against a Gaussian "
        "fitted to the same data:")
    report.table(["data", "flow (nats)", "Gaussian (nats)", "fit s"], rows)
    report.figure(fig, "flow_density", "Density learnt by the flow (exp of "
                  "score_samples) with 300 of its samples (cyan).")


def section(report, quick):
    _gans(report, quick)
    _flows(report, quick)
