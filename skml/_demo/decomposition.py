"""Demo section: PCA's explained variance on digits, Isomap unrolling a swiss roll, LDA
and LMNN on wine."""
import warnings

import numpy as np

from skml.utils._timing import time_side_by_side

ORDER = 60
TITLE = "Decomposition, manifold learning and metric learning"


def _pca(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA as SkPCA

    from skml.decomposition import PCA

    X = load_digits().data
    t_skml, t_sk, pca, ref = time_side_by_side(lambda: PCA().fit(X),
                                               lambda: SkPCA(svd_solver="full").fit(X))
    k = 40  # leading components (the last ones span the constant pixels' null space)
    report.text(
        f"**PCA** of the {X.shape[0]} digits images ({X.shape[1]} pixels). skml picks its "
        "covariance solver for tall data; its components agree with scikit-learn's full "
        "SVD, signs included. Fit times: medians of 5 fits, each library in its own block."
    )
    report.table(
        ["", "skml", "sklearn (full SVD)"],
        [("fit ms", f"{t_skml * 1e3:.1f}", f"{t_sk * 1e3:.1f}"),
         (f"max |diff| of the {k} leading components",
          float(np.abs(pca.components_[:k] - ref.components_[:k]).max()), "-"),
         ("max |diff| of explained variance",
          float(np.abs(pca.explained_variance_ - ref.explained_variance_).max()), "-")],
    )
    ratio = np.cumsum(pca.explained_variance_ratio_)
    n90 = int(np.searchsorted(ratio, 0.9) + 1)
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.bar(np.arange(1, ratio.size + 1), pca.explained_variance_ratio_, color="#9ecae1",
           label="per component")
    ax.plot(np.arange(1, ratio.size + 1), ratio, color="#08519c", label="cumulative")
    ax.axhline(0.9, color="grey", lw=0.8, ls="--")
    ax.axvline(n90, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("principal component")
    ax.set_ylabel("explained variance ratio")
    ax.legend(loc="center right")
    report.figure(fig, "pca_digits_variance",
                  f"PCA on digits: {n90} of 64 components keep 90% of the variance.")


def _isomap(report, quick):
    import matplotlib.pyplot as plt
    from scipy.stats import spearmanr
    from sklearn.datasets import make_swiss_roll

    from skml.decomposition import PCA
    from skml.manifold import Isomap

    n = 800 if quick else 2000
    X, t = make_swiss_roll(n, random_state=0)
    Y = Isomap(n_neighbors=10).fit_transform(X)
    P = PCA(2).fit_transform(X)
    rho_iso = abs(spearmanr(Y[:, 0], t).statistic)
    rho_pca = abs(spearmanr(P[:, 0], t).statistic)
    report.text(
        f"**Isomap** on a swiss roll of {n} points (10-NN graph, geodesic distances by "
        "skml's parallel Dijkstra, then classical scaling). The first coordinate follows "
        f"the position along the roll: Spearman |rho| = {rho_iso:.4f} (PCA, which sees "
        f"only straight-line distances: {rho_pca:.2f}). Speed against scikit-learn: "
        "`python -m benchmarks bench_decomposition`."
    )
    fig = plt.figure(figsize=(11, 3.6))
    ax = fig.add_subplot(1, 3, 1, projection="3d")
    ax.scatter(X[:, 0], X[:, 1], X[:, 2], c=t, s=4, cmap="viridis")
    ax.set_title("swiss roll (colour: position t)")
    ax.set_xticks([]), ax.set_yticks([]), ax.set_zticks([])
    for i, (Z, name) in enumerate([(P, "PCA"), (Y, "Isomap")], start=2):
        ax = fig.add_subplot(1, 3, i)
        ax.scatter(Z[:, 0], Z[:, 1], c=t, s=4, cmap="viridis")
        ax.set_title(name)
        ax.set_xticks([]), ax.set_yticks([])
    report.figure(fig, "isomap_swiss_roll",
                  "Isomap unrolls the swiss roll into a strip; PCA only flattens it.")


def _wine(report, quick):
    from sklearn.datasets import load_wine
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    from skml.discriminant_analysis import LinearDiscriminantAnalysis
    from skml.metric_learning import LMNN

    X, y = load_wine(return_X_y=True)
    cv = StratifiedKFold(3 if quick else 5, shuffle=True, random_state=0)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, model in [
            ("3-NN, raw features", KNeighborsClassifier(3)),
            ("LDA classifier", LinearDiscriminantAnalysis()),
            ("LDA projection + 3-NN",
             make_pipeline(LinearDiscriminantAnalysis(), KNeighborsClassifier(3))),
            ("LMNN + 3-NN", make_pipeline(LMNN(max_iter=30 if quick else 100),
                                          KNeighborsClassifier(3))),
        ]:
            rows.append((name, float(cross_val_score(model, X, y, cv=cv).mean())))
    report.text(
        "**Wine** (unscaled: proline is in the hundreds, hue near 1). Plain Euclidean "
        "3-NN is dominated by the large features; LDA's discriminant directions and "
        "LMNN's learned Mahalanobis metric fix that. Cross-validated accuracy:"
    )
    report.table(["model", "accuracy"], rows)


def section(report, quick):
    _pca(report, quick)
    _isomap(report, quick)
    _wine(report, quick)
