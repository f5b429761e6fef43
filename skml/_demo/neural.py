"""Demo section: the torch backend — an MLP on digits with its loss curves beside
scikit-learn's (same constructor arguments), an autoencoder's 2-D code against PCA, and a
VAE's reconstructions and samples."""
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
    from skml.utils._timing import time_side_by_side

    Xtr, Xte, ytr, yte = data
    epochs = 10 if quick else 80
    # scikit-learn's constructor: the same arguments go to both classes
    params = dict(hidden_layer_sizes=(100,), batch_size=64, learning_rate_init=3e-3,
                  max_iter=epochs, early_stopping=True, validation_fraction=0.15,
                  n_iter_no_change=5, random_state=0)

    def fit(cls):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return make_pipeline(StandardScaler(), cls(**params)).fit(Xtr, ytr)

    repeats = 3 if report.full else 1
    t_skml, t_sk, clf, sk = time_side_by_side(lambda: fit(MLPClassifier),
                                              lambda: fit(SkMLP), repeats=repeats)
    mlp = clf[-1]
    best = int(np.argmax(mlp.validation_scores_))
    stopped = (f"stopped after {mlp.n_iter_} of {epochs} epochs, when the validation "
               f"accuracy had not improved for {mlp.n_iter_no_change} epochs, and restored "
               f"the weights of epoch {best + 1}" if mlp.n_iter_ < epochs else
               f"ran all {epochs} epochs and kept the weights of epoch {best + 1}")
    report.text(
        f"`MLPClassifier` (one hidden layer of 100 ReLU units, Adam, batches of 64) on "
        f"{len(Xtr)} scaled digits, with early stopping on a 15% validation split: it "
        f"{stopped}. scikit-learn's `MLPClassifier` gets the very same arguments (skml "
        f"takes scikit-learn's constructor) and stopped after {sk[-1].n_iter_} epochs. "
        f"Fit times are the median of {repeats} run(s), each side timed in its own block "
        "after a warm-up; torch runs the network on one thread (`n_jobs=None` picks one "
        "for a network this small)."
    )
    report.table(["model", "held-out accuracy", "epochs", "fit s"], [
        ("skml.neural.MLPClassifier", float(clf.score(Xte, yte)), mlp.n_iter_,
         f"{t_skml:.2f}"),
        ("sklearn MLPClassifier", float(sk.score(Xte, yte)), sk[-1].n_iter_, f"{t_sk:.2f}"),
    ])
    epochs_run = [r["epoch"] for r in mlp.history_]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(epochs_run, mlp.loss_curve_, label="training loss (skml)")
    ax.plot(range(1, len(sk[-1].loss_curve_) + 1), sk[-1].loss_curve_, ls="--",
            label="training loss (sklearn)")
    ax.axvline(epochs_run[best], color="grey", ls=":", label="best epoch (restored)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax2 = ax.twinx()
    ax2.plot(epochs_run, mlp.validation_scores_, color="tab:green",
             label="validation accuracy (skml)")
    ax2.set_ylabel("accuracy")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center right", fontsize=8)
    ax.set_title("MLPClassifier on digits: loss_curve_ and validation_scores_")
    report.figure(fig, "neural_mlp_loss", "Per-epoch training losses of both libraries "
                  "and skml's validation accuracy.")


def _autoencoder(report, quick, data):
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning

    from skml.neural import AutoEncoder

    Xtr, Xte, ytr, yte = data
    ae = AutoEncoder(hidden_layer_sizes=(128, 64), n_components=2,
                     output_activation="sigmoid", learning_rate_init=3e-3, batch_size=64,
                     max_iter=10 if quick else 80, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae.fit(Xtr)
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
    from sklearn.exceptions import ConvergenceWarning

    from skml.neural import VAE

    Xtr, Xte, _, _ = data

    class HeldOutElbo:
        def __call__(self, est, row):
            row["test_elbo"] = est.score(Xte)

    vae = VAE(hidden_layer_sizes=(128,), n_components=8, likelihood="bernoulli",
              learning_rate_init=5e-3, batch_size=128, max_iter=8 if quick else 60,
              random_state=0, callbacks=[("elbo", HeldOutElbo())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        vae.fit(Xtr)
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
