"""Demo section: a t-SNE map of the digits coloured by label, against scikit-learn, and
new digits placed into the fitted map with ``transform``."""

import numpy as np

ORDER = 65
TITLE = "t-SNE"


def section(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_digits
    from sklearn.manifold import TSNE as SkTSNE
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import KNeighborsClassifier

    from skml.manifold import TSNE

    X, y = load_digits(return_X_y=True)
    idx = np.random.RandomState(0).permutation(len(X))
    n_fit = 500 if quick else 1500
    n_new = 100 if quick else len(X) - n_fit
    fit, new = idx[:n_fit], idx[n_fit:n_fit + n_new]
    max_iter = 400 if quick else 1000

    tsne = TSNE(max_iter=max_iter, random_state=0).fit(X[fit])
    rows = [("skml", tsne.method_, tsne.kl_divergence_,
             trustworthiness(X[fit], tsne.embedding_, n_neighbors=5))]
    if not quick:
        ref = SkTSNE(max_iter=max_iter, random_state=0).fit(X[fit])
        rows.append(("sklearn", "barnes_hut", float(ref.kl_divergence_),
                     trustworthiness(X[fit], ref.embedding_, n_neighbors=5)))
    report.text(
        f"**t-SNE** (Definition 2.38, Example 18) of {n_fit} digits images (64 pixels) "
        f"into the plane: perplexity 30, {max_iter} iterations of which 250 with early "
        "exaggeration. Trustworthiness (k=5) measures how many of each point's map "
        "neighbours are also neighbours in pixel space (1 is perfect). Speed against "
        "scikit-learn: `python -m benchmarks bench_tsne`."
    )
    report.table(["", "method", "KL divergence", "trustworthiness"], rows)

    placed = tsne.transform(X[new])
    map_acc = KNeighborsClassifier(5).fit(tsne.embedding_, y[fit]).score(placed, y[new])
    pix_acc = KNeighborsClassifier(5).fit(X[fit], y[fit]).score(X[new], y[new])

    fig, ax = plt.subplots(figsize=(6.5, 6))
    E = tsne.embedding_
    cmap = plt.get_cmap("tab10")
    ax.scatter(E[:, 0], E[:, 1], c=y[fit], cmap=cmap, vmin=-0.5, vmax=9.5, s=6,
               alpha=0.7, linewidths=0)
    ax.scatter(placed[:, 0], placed[:, 1], c=y[new], cmap=cmap, vmin=-0.5, vmax=9.5,
               s=22, marker="^", edgecolors="black", linewidths=0.5)
    for digit in range(10):
        cx, cy = np.median(E[y[fit] == digit], axis=0)
        ax.text(cx, cy, str(digit), fontsize=15, weight="bold", ha="center",
                va="center", bbox=dict(boxstyle="round,pad=0.15", fc="white", alpha=0.7))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("t-SNE map of the digits, coloured by label")
    report.figure(
        fig, "tsne_digits",
        f"t-SNE of {n_fit} digits (dots), and {n_new} held-out digits placed into the "
        "fixed map by transform (triangles with black edges).")
    report.text(
        f"`transform` placed the {n_new} held-out digits into the fixed map. "
        "A 5-nearest-neighbour vote among the fitted points labels "
        f"{map_acc:.1%} of them correctly in the map, against {pix_acc:.1%} in pixel "
        "space: new points land in their class's cluster."
    )
