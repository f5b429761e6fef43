"""Demo section: the torch backend — an MLP on digits with its loss curves, an
autoencoder's 2-D code against PCA, and a VAE's reconstructions and samples."""
import time
import warnings

import numpy as np

ORDER = 80
TITLE = "Neural networks (torch backend)"
REQUIRES = ("torch",)


def _image_grid(ax, images, n_cols, title):
    """Tile 8x8 digit images into one picture on ``ax``."""
    n = len(images)
    n_rows = int(np.ceil(n / n_cols))
    grid = np.ones((n_rows * 9 + 1, n_cols * 9 + 1))
    for i, img in enumerate(images):
        r, c = divmod(i, n_cols)
        grid[1 + 9 * r:9 + 9 * r, 1 + 9 * c:9 + 9 * c] = img.reshape(8, 8)
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title)
    ax.axis("off")


def _mlp(report, quick, data):
    import matplotlib.pyplot as plt
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skml.neural import MLPClassifier

    Xtr, Xte, ytr, yte = data
    epochs = 10 if quick else 80
    clf = make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(100,), batch_size=64, lr=3e-3, max_epochs=epochs,
        early_stopping=True, validation_fraction=0.15, patience=5, random_state=0))
    t0 = time.perf_counter()
    clf.fit(Xtr, ytr)
    t_skml = time.perf_counter() - t0
    mlp = clf[-1]
    sk = make_pipeline(StandardScaler(), SkMLP(
        hidden_layer_sizes=(100,), batch_size=64, max_iter=mlp.n_epochs_, alpha=0.0,
        tol=0.0, n_iter_no_change=mlp.n_epochs_ + 1, random_state=0))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(Xtr, ytr)
    t_sk = time.perf_counter() - t0
    best = int(np.argmin([r["valid_loss"] for r in mlp.history_]))
    stopped = (f"stopped after {mlp.n_epochs_} of {epochs} epochs, when the validation "
               f"loss had not improved for {mlp.patience} epochs, and restored the weights "
               f"of epoch {best + 1}" if mlp.n_epochs_ < epochs else
               f"ran all {epochs} epochs and kept the weights of epoch {best + 1}")
    report.text(
        f"`MLPClassifier` (one hidden layer of 100 ReLU units, Adam, batches of 64) on "
        f"{len(Xtr)} scaled digits, with early stopping on a 15% validation split: it "
        f"{stopped}. scikit-learn's MLPClassifier is trained for the same number of "
        "epochs (times include input checks; torch's one-off start-up is paid beforehand)."
    )
    report.table(["model", "held-out accuracy", "fit s"], [
        ("skml.neural.MLPClassifier", float(clf.score(Xte, yte)), f"{t_skml:.2f}"),
        ("sklearn MLPClassifier", float(sk.score(Xte, yte)), f"{t_sk:.2f}"),
    ])
    hist = mlp.history_
    epochs_run = [r["epoch"] for r in hist]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(epochs_run, [r["train_loss"] for r in hist], label="training loss")
    ax.plot(epochs_run, [r["valid_loss"] for r in hist], label="validation loss")
    ax.axvline(epochs_run[best], color="grey", ls=":", label="best epoch (restored)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax2 = ax.twinx()
    ax2.plot(epochs_run, [r["metric"] for r in hist], color="tab:green",
             label="validation accuracy")
    ax2.set_ylabel("accuracy")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center right", fontsize=8)
    ax.set_title("MLPClassifier on digits: history_")
    report.figure(fig, "neural_mlp_loss", "Per-epoch losses and validation accuracy from "
                  "history_.")


def _autoencoder(report, quick, data):
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    from skml.neural import AutoEncoder

    Xtr, Xte, ytr, yte = data
    ae = AutoEncoder(hidden_layer_sizes=(128, 64), n_components=2,
                     output_activation="sigmoid", lr=3e-3, batch_size=64,
                     max_epochs=10 if quick else 80, random_state=0).fit(Xtr)
    pca = PCA(n_components=2).fit(Xtr)
    mse_pca = float(np.mean((pca.inverse_transform(pca.transform(Xte)) - Xte) ** 2))
    report.text(
        "An `AutoEncoder` (64 → 128 → 64 → **2** → 64 → 128 → 64, sigmoid output) "
        "against PCA with 2 components: the nonlinear code keeps more of each image "
        "(Remark 3.68)."
    )
    report.table(["2-D code", "held-out reconstruction MSE"], [
        ("PCA", mse_pca), ("AutoEncoder", -ae.score(Xte))])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, Z, name in [(axes[0], pca.transform(Xte), "PCA"),
                        (axes[1], ae.transform(Xte), "AutoEncoder")]:
        sc = ax.scatter(Z[:, 0], Z[:, 1], c=yte, cmap="tab10", s=8)
        ax.set_title(f"{name}: 2-D code of held-out digits")
    fig.colorbar(sc, ax=axes, ticks=range(10), label="digit")
    report.figure(fig, "neural_ae_code", "The 2-D codes of the held-out digits, coloured "
                  "by label.")


def _vae(report, quick, data):
    import matplotlib.pyplot as plt

    from skml.neural import VAE

    Xtr, Xte, _, _ = data

    class HeldOutElbo:
        def __call__(self, est, row):
            row["test_elbo"] = est.score(Xte)

    vae = VAE(hidden_layer_sizes=(128,), n_components=8, likelihood="bernoulli", lr=5e-3,
              batch_size=128, max_epochs=8 if quick else 60, random_state=0,
              callbacks=[("elbo", HeldOutElbo())]).fit(Xtr)
    elbo = [r["test_elbo"] for r in vae.history_]
    report.text(
        f"A `VAE` with an 8-D latent space and a Bernoulli decoder (Example 47): the "
        f"held-out ELBO went from {elbo[0]:.1f} after the first epoch to {elbo[-1]:.1f} "
        "nats per image. Top: held-out digits; middle: their reconstructions "
        "(decoder mean at z = μ); bottom: new samples decoded from z ~ N(0, I)."
    )
    originals = Xte[:16]
    recon = vae.inverse_transform(vae.transform(originals))
    samples = vae.sample(32, random_state=0)
    fig, axes = plt.subplots(3, 1, figsize=(7, 3.6),
                             gridspec_kw={"height_ratios": [1, 1, 2]}, layout="constrained")
    _image_grid(axes[0], originals, 16, "held-out digits")
    _image_grid(axes[1], recon, 16, "VAE reconstructions")
    _image_grid(axes[2], samples, 16, "VAE samples")
    report.figure(fig, "neural_vae_grid", "VAE reconstructions and samples of digits.")


def section(report, quick):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import torch

    # torch imports its compiler stack on the first optimiser; pay that before timing
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    if quick:
        X, y = X[:600], y[:600]
    data = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    _mlp(report, quick, data)
    _autoencoder(report, quick, data)
    _vae(report, quick, data)
