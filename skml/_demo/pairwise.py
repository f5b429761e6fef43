"""Demo section: pairwise distances, the kernel under kNN, Isomap and t-SNE."""
import numpy as np

from skml.utils._timing import time_side_by_side

ORDER = 10
TITLE = "Pairwise distances"


def section(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_digits
    from sklearn.metrics import pairwise_distances as sk_pairwise_distances

    from skml.metrics import kneighbors_brute, pairwise_distances

    X, y = load_digits(return_X_y=True)
    if quick:
        X, y = X[:300], y[:300]
    order = np.argsort(y, kind="stable")
    rows = []
    Xo = X[order]
    for metric in ("euclidean", "manhattan", "cosine"):
        t_skml, t_sk, D, D_sk = time_side_by_side(
            lambda: pairwise_distances(Xo, metric=metric),
            lambda: sk_pairwise_distances(Xo, metric=metric), repeats=3)
        rows.append((metric, f"{t_skml * 1e3:.1f}", f"{t_sk * 1e3:.1f}",
                     float(np.abs(D - D_sk).max())))
    report.text(
        f"All pairwise distances between the {len(X)} digits images (64 pixels each), "
        "computed by skml's Cython kernel and by scikit-learn (median of 3 timings, each "
        "side in its own block)."
    )
    report.table(["metric", "skml ms", "sklearn ms", "max abs diff"], rows)

    D = pairwise_distances(X[order])
    fig, ax = plt.subplots(figsize=(5, 4.5))
    im = ax.imshow(D, cmap="viridis")
    fig.colorbar(im, ax=ax)
    ax.set_title("Euclidean distances, digits sorted by label")
    report.figure(fig, "pairwise_digits", "Blocks on the diagonal: digits of one class are close.")

    _, ind = kneighbors_brute(X, None, 6)
    agree = float(np.mean(y[ind[:, 1:]] == y[:, None]))
    report.text(
        f"Brute-force 5-nearest neighbours (chunked top-k, no full matrix): {agree:.1%} of "
        "each image's neighbours share its label."
    )
