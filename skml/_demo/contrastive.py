"""Demo section: representation learning — a 2-D map of SimCLR embeddings of the
digits (learned without labels), and few-shot accuracy of a prototypical network on
digit classes it never saw in training."""
import time
import warnings

import numpy as np

ORDER = 87
TITLE = "Representation learning (torch backend)"
REQUIRES = ("torch",)


def _quiet(fit):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _simclr_map(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skml.neural import SimCLR

    X, y = _digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    lab, _ = train_test_split(np.arange(len(Xtr)), train_size=0.1, random_state=0,
                              stratify=ytr)
    epochs = 2 if quick else (30 if report.full else 3)
    t0 = time.perf_counter()
    est = _quiet(lambda: SimCLR(n_components=64, hidden_layer_sizes=(256,),
                                image_shape=(8, 8), encoder="mlp", batch_size=256,
                                max_iter=epochs, learning_rate_init=0.003,
                                random_state=0).fit(Xtr))
    fit_s = time.perf_counter() - t0
    Htr, Hte = est.transform(Xtr), est.transform(Xte)

    def probe(A, B):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        return clf.fit(A[lab], ytr[lab]).score(B, yte)

    report.text(
        f"`SimCLR` learns a representation of the 8x8 digits from their pixels alone: "
        f"two random views of each image (small rotations, rescaling, shifts, noise) must "
        f"pick each other out of a batch of 256 (NT-Xent, {epochs} epochs, an MLP "
        f"encoder). A logistic regression on the representation, trained on 10% of the "
        f"labels, is compared with the same probe on the raw pixels.")
    report.table(["features", "probe accuracy (10% labels)", "fit s"],
                 [("SimCLR representation (64)", float(probe(Htr, Hte)), f"{fit_s:.1f}"),
                  ("raw pixels (64)", float(probe(Xtr, Xte)), "")])
    xy = PCA(2, random_state=0).fit_transform(StandardScaler().fit_transform(Hte))
    fig, ax = plt.subplots(figsize=(5, 4.5))
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=yte, cmap="tab10", s=8)
    fig.colorbar(sc, ax=ax, label="digit (not used in training)")
    ax.set_xticks([])
    ax.set_yticks([])
    report.figure(fig, "contrastive_simclr_map",
                  "Held-out digits' SimCLR representations, first two principal "
                  "components, coloured by the label the network never saw.")
    plt.close(fig)


def _few_shot(report, quick):
    from skml.neural import PrototypicalNetwork

    X, y = _digits()
    seen = y < 5
    Xn, yn = X[~seen], y[~seen]
    # a linear embedding of the (augmented) 8x8 images: deeper ones specialise to the
    # five training classes and transfer worse to new ones
    net = _quiet(lambda: PrototypicalNetwork(
        n_components=256, hidden_layer_sizes=(), encoder="mlp", image_shape=(8, 8),
        augmentation="auto", max_iter=2, learning_rate_init=3e-4,
        random_state=0).fit(X[seen], y[seen]))
    rng = np.random.RandomState(0)
    n_episodes = 10 if quick else 50
    rows = []
    for shot in (1, 5):
        accs, raw = [], []
        for _ in range(n_episodes):
            s = np.concatenate([rng.choice(np.flatnonzero(yn == c), shot, replace=False)
                                for c in range(5, 10)])
            q = np.setdiff1d(np.arange(len(yn)), s)
            accs.append(net.score(Xn[q], yn[q], support=(Xn[s], yn[s])))
            protos = np.stack([Xn[s][yn[s] == c].mean(0) for c in range(5, 10)])
            d = ((Xn[q][:, None] - protos[None]) ** 2).sum(-1)
            raw.append(np.mean(d.argmin(1) + 5 == yn[q]))
        rows.append((f"5-way {shot}-shot", float(np.mean(accs)), float(np.mean(raw))))
    report.text(
        "`PrototypicalNetwork` is trained on episodes of the digits 0-4 only, then "
        "classifies the digits 5-9 from a support set of one or five labelled examples "
        f"per class (mean over {n_episodes} random episodes; chance is 0.2). The "
        "baseline classifies by the nearest class mean of the raw pixels. The embedding is "
        "linear (256 outputs), trained 2 epochs on augmented episodes: with only five "
        "training classes, deeper embeddings or longer training specialise to them and "
        "transfer worse to new digits.")
    report.table(["episode", "prototypical network", "raw-pixel class means"], rows)


def section(report, quick):
    _simclr_map(report, quick)
    _few_shot(report, quick)
