"""Demo section: gradient boosting, exact and histogram-based, next to scikit-learn:
staged training and validation loss curves, feature importances."""
import numpy as np

from skml.utils._timing import time_side_by_side

ORDER = 45
TITLE = "Gradient boosting"


def _log_loss(y, proba):
    """Mean log-loss of class codes ``y`` (numpy only: called once per iteration)."""
    return float(-np.mean(np.log(np.clip(proba[np.arange(y.size), y], 1e-15, None))))


def section(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier as SkGB
    from sklearn.ensemble import HistGradientBoostingClassifier as SkHGB
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split

    from skml.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

    data = load_breast_cancer()
    X_tr, X_va, y_tr, y_va = train_test_split(data.data, data.target, test_size=0.3,
                                              stratify=data.target, random_state=0)
    n_iter = 30 if quick else 200
    hgb_params = dict(max_iter=n_iter, learning_rate=0.1, early_stopping=False,
                      random_state=0)
    gb_params = dict(n_estimators=n_iter, learning_rate=0.1, subsample=0.8,
                     random_state=0)
    repeats = 1 if quick else 3
    t_hgb, t_sk_hgb, hgb, sk_hgb = time_side_by_side(
        lambda: HistGradientBoostingClassifier(**hgb_params).fit(X_tr, y_tr),
        lambda: SkHGB(**hgb_params).fit(X_tr, y_tr), repeats)
    t_gb, t_sk_gb, gb, sk_gb = time_side_by_side(
        lambda: GradientBoostingClassifier(**gb_params).fit(X_tr, y_tr),
        lambda: SkGB(**gb_params).fit(X_tr, y_tr), repeats)
    report.text(
        f"Boosted trees on breast_cancer ({len(X_tr)} training, {len(X_va)} validation "
        f"samples), {n_iter} iterations with learning rate 0.1: the histogram estimator "
        "(31 leaves per tree, 255 quantile bins) and the exact one (depth-3 trees, each "
        "on a random 80% of the data), next to scikit-learn's with the same settings. Fit "
        f"times are medians of {repeats} fits, each library timed in its own block."
    )
    report.table(
        ["estimator", "library", "fit s", "validation accuracy",
         "validation log-loss"],
        [(name, lib, f"{t:.2f}", m.score(X_va, y_va),
          log_loss(y_va, m.predict_proba(X_va)))
         for name, lib, m, t in [
             ("HistGradientBoostingClassifier", "skml", hgb, t_hgb),
             ("HistGradientBoostingClassifier", "sklearn", sk_hgb, t_sk_hgb),
             ("GradientBoostingClassifier", "skml", gb, t_gb),
             ("GradientBoostingClassifier", "sklearn", sk_gb, t_sk_gb)]],
    )

    # staged loss curves: training and validation log-loss after every iteration
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, model, title in [(axes[0], hgb, "HistGradientBoostingClassifier"),
                             (axes[1], gb, "GradientBoostingClassifier (subsample=0.8)")]:
        train = [_log_loss(y_tr, p) for p in model.staged_predict_proba(X_tr)]
        valid = [_log_loss(y_va, p) for p in model.staged_predict_proba(X_va)]
        it = np.arange(1, len(train) + 1)
        ax.plot(it, train, label="training")
        ax.plot(it, valid, label="validation")
        best = int(np.argmin(valid))
        ax.axvline(best + 1, color="grey", ls=":", lw=1)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("iteration")
        ax.set_yscale("log")
    axes[0].set_ylabel("log-loss")
    axes[0].legend()
    report.figure(fig, "boosting_staged_loss",
                  "Training and validation log-loss after each iteration "
                  "(staged_predict_proba); the dotted line marks the lowest validation "
                  "loss. Training loss keeps falling while validation loss flattens (and "
                  "with more iterations rises): the number of iterations trades bias "
                  "for variance.")
    best_hgb = int(np.argmin([_log_loss(y_va, p) for p in hgb.staged_predict_proba(X_va)]))
    report.text(
        f"The validation loss of the histogram model is lowest after {best_hgb + 1} "
        "iterations; `early_stopping=True` (on by default above 10,000 samples) or "
        "`fit(X, y, X_val=..., y_val=...)` stops there by itself."
    )

    # importances: total split gain (histogram) and impurity decrease (exact)
    top = np.argsort(hgb.feature_importances_)[::-1][:10][::-1]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    pos = np.arange(top.size)
    ax.barh(pos + 0.2, hgb.feature_importances_[top], height=0.4,
            label="HistGradientBoosting (total gain)")
    ax.barh(pos - 0.2, gb.feature_importances_[top], height=0.4,
            label="GradientBoosting (impurity decrease)")
    ax.set_yticks(pos)
    ax.set_yticklabels([data.feature_names[i] for i in top])
    ax.set_xlabel("importance (normalised)")
    ax.legend(loc="lower right", fontsize=8)
    report.figure(fig, "boosting_importances",
                  "The 10 most important features of the histogram model, with the "
                  "exact model's importances of the same features.")
