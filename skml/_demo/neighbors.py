"""Demo section: k-nearest neighbours and naive Bayes side by side with scikit-learn."""
import numpy as np

from skml.utils._timing import time_side_by_side

ORDER = 30
TITLE = "Nearest neighbours and naive Bayes"


def _models(lib):
    """(name, estimator) pairs built from one library's classes."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if lib == "skml":
        from skml.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
        from skml.neighbors import KNeighborsClassifier
    else:
        from sklearn.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
        from sklearn.neighbors import KNeighborsClassifier
    return [
        ("kNN, k=5", KNeighborsClassifier()),
        ("kNN, k=5, standardised", make_pipeline(StandardScaler(), KNeighborsClassifier())),
        ("kNN, k=5, 1/d weights, standardised",
         make_pipeline(StandardScaler(), KNeighborsClassifier(weights="distance"))),
        ("GaussianNB", GaussianNB()),
        ("MultinomialNB", MultinomialNB()),
        ("BernoulliNB, above-mean features",
         make_pipeline(StandardScaler(), BernoulliNB(binarize=0.0))),
    ]


def _datasets(quick):
    from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

    out = []
    for name, loader in [("digits", load_digits), ("iris", load_iris), ("wine", load_wine),
                         ("breast cancer", load_breast_cancer)]:
        X, y = loader(return_X_y=True)
        if quick:
            if name in ("wine", "breast cancer"):
                continue
            X, y = X[:300], y[:300]
        out.append((name, X, y))
    return out


def _cv_accuracies(ours, theirs, X, y, cv):
    """(skml accuracy, peer accuracy, skml seconds, peer seconds): median of 3 timings,
    each side in its own block."""
    from sklearn.model_selection import cross_val_score

    t, sk_t, acc, sk_acc = time_side_by_side(
        lambda: cross_val_score(ours, X, y, cv=cv).mean(),
        lambda: cross_val_score(theirs, X, y, cv=cv).mean(), repeats=3)
    return float(acc), float(sk_acc), t, sk_t


def section(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold, train_test_split
    from sklearn.neighbors import KNeighborsClassifier as SkKNN

    from skml.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
    from skml.neighbors import KNeighborsClassifier

    cv = StratifiedKFold(3 if quick else 5, shuffle=True, random_state=0)
    rows = []
    for data_name, X, y in _datasets(quick):
        for (name, ours), (_, theirs) in zip(_models("skml"), _models("sklearn")):
            acc, sk_acc, t, sk_t = _cv_accuracies(ours, theirs, X, y, cv)
            rows.append((data_name, name, f"{acc:.4f}", f"{sk_acc:.4f}",
                         f"{t * 1e3:.0f}", f"{sk_t * 1e3:.0f}"))
    report.text(
        f"Mean accuracy over {cv.get_n_splits()}-fold stratified cross-validation, for "
        "skml's k-nearest-neighbours and naive Bayes classifiers and scikit-learn's "
        "classes of the same names with the same parameters (timings: the whole "
        "cross-validation, median of 3, each side in its own block). "
        + ("" if quick else "Wine and breast cancer illustrate the notes' Remark 3.9: "
           "kNN needs features on one scale, and their columns span three orders of "
           "magnitude. ")
        + "Naive Bayes fits in one pass over the data and assumes independent features, "
        "which costs accuracy on images whose neighbouring pixels move together."
    )
    report.table(["data", "model", "skml acc.", "sklearn acc.", "skml ms", "sklearn ms"],
                 rows)

    X, y = load_digits(return_X_y=True)
    if quick:
        X, y = X[:400], y[:400]
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    ks = [1, 3, 10] if quick else [1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50]
    fig, ax = plt.subplots(figsize=(6, 4))
    agree = True
    for weights, style in (("uniform", "o-"), ("distance", "s--")):
        accs = []
        for k in ks:
            pred = KNeighborsClassifier(k, weights=weights).fit(Xtr, ytr).predict(Xte)
            sk_pred = SkKNN(k, weights=weights).fit(Xtr, ytr).predict(Xte)
            agree &= bool(np.mean(pred == sk_pred) > 0.99)
            accs.append(np.mean(pred == yte))
        ax.plot(ks, accs, style, label=f"kNN, {weights} weights")
    for cls, kw, color in ((GaussianNB, {}, "C2"), (MultinomialNB, {}, "C3"),
                           (BernoulliNB, {"binarize": 7.5}, "C4")):
        acc = np.mean(cls(**kw).fit(Xtr, ytr).predict(Xte) == yte)
        ax.axhline(acc, color=color, linestyle=":", label=f"{cls.__name__} ({acc:.3f})")
    ax.set_xscale("log")
    ax.set_xlabel("k (number of neighbours)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Digits: kNN against k, naive Bayes for reference")
    ax.legend(fontsize=8)
    report.figure(fig, "knn_digits_k", "Test accuracy on digits (70/30 split): kNN "
                  "for each k, the three naive Bayes models as horizontal lines.")
    report.text(
        "kNN is best with a handful of neighbours on digits; very large k blurs the "
        "classes together. Predictions of skml and scikit-learn "
        + ("agree" if agree else "DIFFER") + " on at least 99% of the test images for "
        "every k (they can differ only where distances tie at the k-th neighbour)."
    )
