"""Demo section: k-means on the digits images, next to scikit-learn, centres as images."""
import numpy as np

from skml.utils._timing import time_side_by_side

ORDER = 20
TITLE = "k-means clustering"


def _majority(labels, y, k):
    """For each cluster, its most frequent true digit and the share of it."""
    out = []
    for j in range(k):
        members = y[labels == j]
        if members.size == 0:
            out.append((-1, 0.0))
            continue
        counts = np.bincount(members, minlength=10)
        out.append((int(counts.argmax()), counts.max() / members.size))
    return out


def section(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.cluster import MiniBatchKMeans as SkMiniBatchKMeans
    from sklearn.datasets import load_digits
    from sklearn.metrics import adjusted_rand_score

    from skml.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus

    X, y = load_digits(return_X_y=True)
    k = 10
    n_init = 2 if quick else 10

    repeats = 1 if quick else 3

    # 1. The same initial centres for both libraries: the same clustering.
    init, _ = kmeans_plusplus(X, k, random_state=0)
    t_ours, t_theirs, ours, theirs = time_side_by_side(
        lambda: KMeans(k, init=init, n_init=1, tol=0).fit(X),
        lambda: SkKMeans(k, init=init, n_init=1, tol=0).fit(X), repeats)
    t_elkan, t_sk_elkan, elkan, sk_elkan = time_side_by_side(
        lambda: KMeans(k, init=init, n_init=1, tol=0, algorithm="elkan").fit(X),
        lambda: SkKMeans(k, init=init, n_init=1, tol=0, algorithm="elkan").fit(X),
        repeats)
    report.text(
        f"The {len(X)} digits images (8x8 pixels, 64 features) clustered into {k} groups "
        "by skml and by scikit-learn from the same k-means++ initial centres (`tol=0`: "
        "run until no label changes), with Lloyd's and with Elkan's algorithm. Times are "
        f"medians of {repeats} fits, each library timed in its own block."
    )
    report.table(
        ["library", "algorithm", "iterations", "inertia", "ms",
         "labels equal to sklearn's Lloyd"],
        [("skml", "lloyd", ours.n_iter_, ours.inertia_, f"{t_ours * 1e3:.1f}",
          f"{np.mean(ours.labels_ == theirs.labels_):.2%}"),
         ("sklearn", "lloyd", theirs.n_iter_, theirs.inertia_, f"{t_theirs * 1e3:.1f}",
          ""),
         ("skml", "elkan", elkan.n_iter_, elkan.inertia_, f"{t_elkan * 1e3:.1f}",
          f"{np.mean(elkan.labels_ == theirs.labels_):.2%}"),
         ("sklearn", "elkan", sk_elkan.n_iter_, sk_elkan.inertia_,
          f"{t_sk_elkan * 1e3:.1f}", f"{np.mean(sk_elkan.labels_ == theirs.labels_):.2%}")],
    )

    # 2. Several k-means++ starts, and the mini-batch variant (the same batches as
    # scikit-learn's for the same random_state).
    n_init_runs = n_init
    t_best, t_sk_best, best, sk_best = time_side_by_side(
        lambda: KMeans(k, n_init=n_init_runs, random_state=0).fit(X),
        lambda: SkKMeans(k, n_init=n_init_runs, random_state=0).fit(X), repeats)
    t_mbk, t_sk_mbk, mbk, sk_mbk = time_side_by_side(
        lambda: MiniBatchKMeans(k, n_init=3, batch_size=256, random_state=0).fit(X),
        lambda: SkMiniBatchKMeans(k, n_init=3, batch_size=256, random_state=0).fit(X),
        repeats)
    rows = [
        (f"KMeans, n_init={n_init} (skml)", best.inertia_,
         adjusted_rand_score(y, best.labels_), f"{t_best * 1e3:.1f}"),
        (f"KMeans, n_init={n_init} (sklearn)", sk_best.inertia_,
         adjusted_rand_score(y, sk_best.labels_), f"{t_sk_best * 1e3:.1f}"),
        ("MiniBatchKMeans (skml)", mbk.inertia_, adjusted_rand_score(y, mbk.labels_),
         f"{t_mbk * 1e3:.1f}"),
        ("MiniBatchKMeans (sklearn)", sk_mbk.inertia_,
         adjusted_rand_score(y, sk_mbk.labels_), f"{t_sk_mbk * 1e3:.1f}"),
    ]
    report.text(
        "k-means never sees the digit labels; the adjusted Rand index measures how well "
        "its clusters match them anyway (1 is a perfect match, 0 is chance). With the same "
        "`random_state`, skml draws the same initial centres and mini-batches as "
        "scikit-learn."
    )
    report.table(["model", "inertia", "adjusted Rand index vs digits", "ms"], rows)

    # 3. The centres are images: the mean picture of each cluster.
    majority = _majority(best.labels_, y, k)
    order = np.argsort([m[0] for m in majority], kind="stable")
    fig, axes = plt.subplots(2, 5, figsize=(7.5, 3.6))
    for ax, j in zip(axes.ravel(), order):
        ax.imshow(best.cluster_centers_[j].reshape(8, 8), cmap="gray_r",
                  interpolation="nearest")
        digit, share = majority[j]
        ax.set_title(f"{digit} ({share:.0%})", fontsize=9)
        ax.set_axis_off()
    fig.suptitle("k-means centres of the digits (title: most common digit in the cluster)",
                 fontsize=9)
    report.figure(fig, "kmeans_digit_centres",
                  "The 10 k-means centres shown as 8x8 images, with the most common true "
                  "digit of each cluster and its share.")
    found = sorted({m[0] for m in majority if m[0] >= 0})
    report.text(
        f"The clusters' majority digits cover {len(found)} of the 10 digits "
        f"({', '.join(map(str, found))}); digits written in several styles can take two "
        "clusters while two similar digits share one."
    )
