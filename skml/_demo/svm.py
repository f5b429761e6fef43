"""Demo section: kernel SVMs by SMO on the two moons, next to scikit-learn's libsvm."""
import numpy as np

ORDER = 55
TITLE = "Support vector machines"


def _grid(X, steps):
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    return xx, yy, np.c_[xx.ravel(), yy.ravel()]


def section(report, quick):
    import matplotlib.pyplot as plt
    from sklearn import svm as sk_svm
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split

    from skml.svm import SVC, LinearSVC

    X, y = make_moons(n_samples=300 if quick else 600, noise=0.3, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

    rows = []
    fitted = {}
    for name, params in [("rbf", dict(kernel="rbf", C=1.0)),
                         ("poly (degree 3)", dict(kernel="poly", degree=3, coef0=1.0)),
                         ("linear", dict(kernel="linear"))]:
        ours = SVC(**params).fit(X_train, y_train)
        theirs = sk_svm.SVC(**params).fit(X_train, y_train)
        diff = float(np.abs(ours.decision_function(X) - theirs.decision_function(X)).max())
        same_sv = bool(np.array_equal(ours.support_, theirs.support_))
        rows.append((name, int(ours.support_.size), f"{ours.score(X_test, y_test):.3f}",
                     f"{theirs.score(X_test, y_test):.3f}", diff, "yes" if same_sv else "no",
                     "yes" if np.array_equal(ours.n_iter_, theirs.n_iter_) else "no"))
        fitted[name] = ours
    lin = LinearSVC().fit(X_train, y_train)
    report.text(
        "`skml.svm.SVC` solves the soft-margin dual (notes, Example 19, with the kernel trick "
        "of Remark 3.6) by SMO with second-order working-set selection, a kernel-row cache "
        "and shrinking, in Cython. On the noisy two moons (30% held out) it is compared "
        "with `sklearn.svm.SVC` (libsvm) for three kernels: the same support vectors and "
        "decision values equal to rounding, since both follow the same iterations."
    )
    report.table(["kernel", "support vectors", "skml test acc", "sklearn test acc",
                  "max abs decision diff", "same SVs", "same SMO iterations"], rows)
    report.text("Fit times are measured on 10,000 points by `python -m benchmarks bench_svm`.")
    report.text(
        f"A linear model cannot bend around the moons: `LinearSVC` (primal squared hinge) "
        f"scores {lin.score(X_test, y_test):.3f} on the held-out points, against "
        f"{fitted['rbf'].score(X_test, y_test):.3f} for the rbf kernel."
    )

    clf = fitted["rbf"]
    xx, yy, grid = _grid(X, 120 if quick else 300)
    Z = clf.decision_function(grid).reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ax.contourf(xx, yy, Z, levels=np.linspace(-3, 3, 13), cmap="RdBu_r", alpha=0.35,
                extend="both")
    ax.contour(xx, yy, Z, levels=[-1, 0, 1], colors="k", linestyles=["--", "-", "--"],
               linewidths=[1, 2, 1])
    ax.scatter(X_train[:, 0], X_train[:, 1], c=y_train, cmap="RdBu_r", s=14,
               edgecolors="k", linewidths=0.3)
    sv = clf.support_vectors_
    at_bound = np.abs(clf.dual_coef_[0]) >= clf.C - 1e-9
    ax.scatter(sv[~at_bound, 0], sv[~at_bound, 1], s=90, facecolors="none",
               edgecolors="k", linewidths=1.2, label="support vector, 0 < a < C")
    ax.scatter(sv[at_bound, 0], sv[at_bound, 1], s=90, facecolors="none",
               edgecolors="gold", linewidths=1.2, label="support vector, a = C")
    ax.set_title(f"SVC(rbf, C={clf.C}) on noisy moons: {sv.shape[0]} support vectors")
    ax.legend(loc="lower left", fontsize=8)
    report.figure(
        fig, "svm_moons",
        "Decision boundary (solid) and margins f(x) = ±1 (dashed) of skml's SVC; circled "
        "points are the support vectors, gold ones at the box bound C (inside the margin "
        "or misclassified).")

    report.text(
        "Only the support vectors enter the decision function (Remark 3.7): "
        f"{sv.shape[0]} of {X_train.shape[0]} training points, "
        f"{int(at_bound.sum())} of them at the bound C."
    )
