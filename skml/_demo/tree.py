"""Demo section: a small decision tree printed as rules, a random forest on breast_cancer
with its feature importances, next to scikit-learn, the notes' footnote-10 recipe for a
regression forest, and missing values."""
import numpy as np

from skml.utils._timing import time_side_by_side

ORDER = 40
TITLE = "Decision trees and random forests"


def section(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
    from sklearn.ensemble import RandomForestClassifier as SkForest
    from sklearn.model_selection import KFold, cross_val_score, train_test_split

    from skml.ensemble import RandomForestClassifier, RandomForestRegressor
    from skml.tree import DecisionTreeClassifier, export_text

    repeats = 1 if quick else 3

    # 1. A small tree, printed.
    iris = load_iris()
    small = DecisionTreeClassifier(criterion="entropy", max_depth=3).fit(iris.data,
                                                                          iris.target)
    report.text(
        "A depth-3 ID3/C4.5 tree (`criterion=\"entropy\"`) on iris, printed with "
        "`skml.tree.export_text` (class names in place of the labels); "
        f"training accuracy {small.score(iris.data, iris.target):.1%}. "
        "(`skml.tree.plot_tree` draws it with matplotlib.)"
    )
    report.text("```\n" + export_text(small, feature_names=iris.feature_names,
                                       class_names=list(iris.target_names)) + "```")

    # 2. A forest on breast_cancer, next to scikit-learn's with the same settings.
    data = load_breast_cancer()
    X_tr, X_te, y_tr, y_te = train_test_split(data.data, data.target, test_size=0.3,
                                              stratify=data.target, random_state=0)
    n_trees = 50 if quick else 100
    params = dict(n_estimators=n_trees, max_features="sqrt", n_jobs=2, random_state=0)
    t_ours, t_theirs, ours, theirs = time_side_by_side(
        lambda: RandomForestClassifier(oob_score=True, **params).fit(X_tr, y_tr),
        lambda: SkForest(oob_score=True, **params).fit(X_tr, y_tr), repeats)
    report.text(
        f"A random forest of {n_trees} trees (bootstrap samples, sqrt(30) = 5 features "
        f"drawn at every split, fitted in 2 joblib threads) on breast_cancer: "
        f"{len(X_tr)} training and {len(X_te)} test samples. Times are medians of "
        f"{repeats} fits, each library timed in its own block."
    )
    report.table(
        ["library", "fit s", "OOB accuracy", "test accuracy"],
        [("skml", f"{t_ours:.3f}", ours.oob_score_, ours.score(X_te, y_te)),
         ("sklearn", f"{t_theirs:.3f}", theirs.oob_score_, theirs.score(X_te, y_te))],
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

    # 3. Regression forests: scikit-learn's defaults, and the notes' recipe.
    X_d, y_d = load_diabetes(return_X_y=True)
    cv = KFold(5, shuffle=True, random_state=0)
    n_reg = 30 if quick else 100
    default = cross_val_score(RandomForestRegressor(n_reg, random_state=0), X_d, y_d,
                              cv=cv).mean()
    recipe = cross_val_score(RandomForestRegressor(n_reg, max_features=1 / 3,
                                                   min_samples_leaf=5, random_state=0),
                             X_d, y_d, cv=cv).mean()
    report.text(
        "Regression forests on diabetes (5-fold CV R^2): the default "
        "`RandomForestRegressor()` (scikit-learn's defaults: all features at every split, "
        f"leaves of 1 sample) scores {default:.3f}; the notes' footnote-10 recipe, "
        "`RandomForestRegressor(max_features=1/3, min_samples_leaf=5)`, scores "
        f"{recipe:.3f}."
    )

    # 4. Missing values, handled by the trees themselves.
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
        f"a C4.5 tree (`gain_ratio`: missing values left out of each split's gain) reaches "
        f"{tree_nan.score(X_te_nan, y_te):.1%} test accuracy and the forest (gini: "
        "scikit-learn's rule, missing values tried on both sides of each split) "
        f"{forest_nan.score(X_te_nan, y_te):.1%}, against {majority:.1%} for the majority "
        "class. Each node learns which child missing values go to."
    )
