"""Demo section: a small decision tree printed as rules, a random forest on breast_cancer
with its feature importances, next to scikit-learn, and C4.5's missing values."""
import time

import numpy as np

ORDER = 40
TITLE = "Decision trees and random forests"


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def section(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_breast_cancer, load_iris
    from sklearn.ensemble import RandomForestClassifier as SkForest
    from sklearn.model_selection import train_test_split

    from skml.ensemble import RandomForestClassifier
    from skml.tree import DecisionTreeClassifier, export_text

    # 1. A small tree, printed.
    iris = load_iris()
    small = DecisionTreeClassifier(criterion="entropy", max_depth=3).fit(iris.data,
                                                                          iris.target)
    report.text(
        "A depth-3 ID3/C4.5 tree (`criterion=\"entropy\"`) on iris, printed with "
        "`skml.tree.export_text` (class names in place of the labels); "
        f"training accuracy {small.score(iris.data, iris.target):.1%}."
    )
    report.text("```\n" + export_text(small, feature_names=iris.feature_names,
                                       class_names=list(iris.target_names)) + "```")

    # 2. A forest on breast_cancer, next to scikit-learn's with the same settings.
    data = load_breast_cancer()
    X_tr, X_te, y_tr, y_te = train_test_split(data.data, data.target, test_size=0.3,
                                              stratify=data.target, random_state=0)
    n_trees = 50 if quick else 300
    params = dict(n_estimators=n_trees, max_features="sqrt", n_jobs=2, random_state=0)
    ours, t_ours = _timed(lambda: RandomForestClassifier(oob_score=True, **params).fit(
        X_tr, y_tr))
    theirs, t_theirs = _timed(lambda: SkForest(oob_score=True, **params).fit(X_tr, y_tr))
    report.text(
        f"A random forest of {n_trees} trees (bootstrap samples, sqrt(30) = 5 features "
        f"drawn at every split, fitted in 2 joblib threads) on breast_cancer: "
        f"{len(X_tr)} training and {len(X_te)} test samples."
    )
    report.table(
        ["library", "fit s", "OOB accuracy", "test accuracy"],
        [("skml", f"{t_ours:.2f}", ours.oob_score_, ours.score(X_te, y_te)),
         ("sklearn", f"{t_theirs:.2f}", theirs.oob_score_, theirs.score(X_te, y_te))],
    )
    imp, imp_sk = ours.feature_importances_, theirs.feature_importances_
    top = np.argsort(imp)[::-1][:12][::-1]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    pos = np.arange(len(top))
    ax.barh(pos + 0.2, imp[top], height=0.4, label="skml")
    ax.barh(pos - 0.2, imp_sk[top], height=0.4, label="scikit-learn")
    ax.set_yticks(pos)
    ax.set_yticklabels([data.feature_names[i] for i in top])
    ax.set_xlabel("mean impurity decrease (normalised)")
    ax.set_title("Random forest feature importances, breast_cancer")
    ax.legend(loc="lower right")
    report.figure(fig, "forest_importances",
                  "The 12 most important features of the skml forest, with scikit-learn's "
                  "forest's importances of the same features.")

    # 3. Missing values, handled by the trees themselves (C4.5).
    rng = np.random.RandomState(0)
    X_nan = X_tr.copy()
    X_nan[rng.rand(*X_nan.shape) < 0.2] = np.nan
    X_te_nan = X_te.copy()
    X_te_nan[rng.rand(*X_te_nan.shape) < 0.2] = np.nan
    tree_nan = DecisionTreeClassifier(criterion="gain_ratio", min_samples_leaf=3,
                                      random_state=0).fit(X_nan, y_tr)
    forest_nan = RandomForestClassifier(**params).fit(X_nan, y_tr)
    majority = max(np.mean(y_te), 1 - np.mean(y_te))
    report.text(
        "With 20% of all values replaced by NaN (training and test), no imputation: "
        f"a C4.5 tree (`gain_ratio`) reaches {tree_nan.score(X_te_nan, y_te):.1%} test "
        f"accuracy and the forest {forest_nan.score(X_te_nan, y_te):.1%}, against "
        f"{majority:.1%} for the majority class. Missing values are left out of each "
        "split's gain, and each node learns which child they go to."
    )
