"""Demo section: segmentation scores, optimal transport, FID and pseudo-labelling."""
import numpy as np

from skml.utils._timing import median_time

ORDER = 15
TITLE = "Scores, optimal transport, FID and pseudo-labelling"


def _masks(size):
    """A disc and an ellipse slightly off it, as a true and a predicted mask."""
    yy, xx = np.mgrid[:size, :size] / size
    true = (xx - 0.5) ** 2 + (yy - 0.5) ** 2 < 0.3 ** 2
    pred = ((xx - 0.53) / 1.15) ** 2 + ((yy - 0.5) / 0.95) ** 2 < 0.3 ** 2
    return true, pred


def section(report, quick):
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    from sklearn.decomposition import PCA

    from skml.metrics import (
        dice_score,
        fid_score,
        hausdorff_distance,
        iou_score,
        optimal_transport,
        pairwise_distances,
    )
    from skml.semi_supervised import PseudoLabelClassifier

    # segmentation scores of a predicted mask
    true, pred = _masks(64 if quick else 256)
    hd = hausdorff_distance(true, pred)
    hd95 = hausdorff_distance(true, pred, percentile=95)
    report.text(
        "A disc (true mask) against a stretched, shifted ellipse (predicted mask): "
        "overlap scores and boundary distances, in pixels."
    )
    report.table(["IoU", "Dice", "Hausdorff", "HD95"],
                 [(iou_score(true, pred), dice_score(true, pred), hd, hd95)])

    # optimal transport between two small clouds: the exact plan and Sinkhorn's
    rng = np.random.RandomState(0)
    n = 60 if quick else 100
    X = rng.randn(n, 2) * [1.0, 0.4]
    Y = rng.randn(n, 2) * [0.4, 1.0] + [3.0, 0.0]
    M = pairwise_distances(X, Y, metric="sqeuclidean")
    M /= M.max()
    rows = []
    plans = {}
    sec, (plans["exact"], exact) = median_time(lambda: optimal_transport(None, None, M), 3)
    rows.append(("exact (LP)", exact, sec))
    for reg in (0.1, 0.01, 0.001):
        sec, (plans[reg], cost) = median_time(
            lambda: optimal_transport(None, None, M, method="sinkhorn", reg=reg,
                                      max_iter=20000), 3)
        rows.append((f"Sinkhorn reg={reg}", cost, sec))
    report.text(
        f"Optimal transport between two clouds of {n} points (squared distances scaled "
        "to max 1): the transport cost of Sinkhorn's plan tends to the exact cost as "
        "reg goes to 0, and stays finite at reg=1e-3 (log-domain kernel). Seconds: "
        "medians of 3 solves after a warm-up."
    )
    report.table(["method", "cost <P, M>", "seconds"], rows)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    for ax, key in zip(axes, ("exact", 0.01)):
        P = plans[key]
        i, j = np.nonzero(P > P.max() * 0.1)
        segments = np.stack([X[i], Y[j]], axis=1)
        ax.add_collection(LineCollection(segments, colors="0.5", linewidths=0.6,
                                         alpha=0.5))
        ax.scatter(*X.T, s=8, label="source")
        ax.scatter(*Y.T, s=8, label="target")
        ax.set_title("exact plan" if key == "exact" else f"Sinkhorn plan, reg={key}")
    axes[0].legend(loc="lower left")
    report.figure(fig, "transport_plans",
                  "Transport plans: the exact plan matches points one to one; the "
                  "entropic plan spreads each point's mass.")

    # FID between real digits and altered ones, with a PCA fitted on real digits as
    # the feature extractor (no downloaded network)
    X, y = load_digits(return_X_y=True)
    if quick:
        X, y = X[:600], y[:600]
    X = X / 16.0
    half = len(X) // 2
    real, other = X[:half], X[half:2 * half]
    pca = PCA(n_components=16, random_state=0).fit(real)
    noise_rng = np.random.RandomState(1)
    altered = [
        ("other real digits", other),
        ("noise, sd 0.1", np.clip(other + noise_rng.normal(0, 0.1, other.shape), 0, 1)),
        ("noise, sd 0.3", np.clip(other + noise_rng.normal(0, 0.3, other.shape), 0, 1)),
        ("pixels shuffled", noise_rng.permutation(other.ravel()).reshape(other.shape)),
    ]
    report.text(
        f"FID (Definition 3.87) of {half} digits against {half} real ones, features from "
        "a 16-component PCA fitted on the real digits: it grows with the damage."
    )
    report.table(["compared set", "FID"],
                 [(name, fid_score(real, Z, pca)) for name, Z in altered])

    # pseudo-labelling with 10% of the digits labelled (X scaled to [0, 1] above)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3,
                                                        stratify=y, random_state=0)
    hidden = np.random.RandomState(0).rand(len(y_train)) > 0.1
    y_partial = np.where(hidden, -1, y_train)
    base = KNeighborsClassifier(n_neighbors=5)
    alone = base.fit(X_train[~hidden], y_train[~hidden]).score(X_test, y_test)
    clf = PseudoLabelClassifier(base).fit(X_train, y_partial)
    report.text(
        f"Pseudo-labelling (Definition 3.40) with {int((~hidden).sum())} labelled digits "
        f"out of {len(y_train)}: a 5-nearest-neighbour classifier on the labelled ones "
        f"alone, and wrapped in PseudoLabelClassifier ({clf.n_iter_} rounds, "
        f"{int((clf.labeled_iter_ > 0).sum())} pseudo-labels, stopped by "
        f"{clf.termination_condition_})."
    )
    report.table(["model", "test accuracy"],
                 [("kNN on the labelled 10%", alone),
                  ("PseudoLabelClassifier(kNN)", clf.score(X_test, y_test))])
