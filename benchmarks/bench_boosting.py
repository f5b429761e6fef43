"""Gradient boosting vs scikit-learn and LightGBM, 2 threads, the same model settings.

* HistGradientBoostingClassifier fit on ``make_classification(200_000, 28)``: 100
  iterations, 31 leaves, 255 bins, learning rate 0.1, 20 samples per leaf, no L2, no
  early stopping; against scikit-learn's HistGradientBoostingClassifier and LightGBM's
  LGBMClassifier (``num_leaves=31, max_bin=255, min_child_samples=20,
  min_child_weight=1e-3`` — LightGBM's names for the same limits).
* predict on 200,000 held-out rows (models fitted outside the timed part).
* exact GradientBoostingClassifier fit on 20,000 x 20, 100 stages of depth 3.

Quality: accuracy on a held-out set of the same size from the same distribution. Both
OpenMP libraries are pinned to 2 threads with threadpoolctl, LightGBM with ``n_jobs=2``.
The peak memory columns are each side's fit in a fresh process.
"""
import numpy as np

from benchmarks._harness import Case

NAME = "boosting"
PEER = "peer"

THREADS = 2
HGB = dict(max_iter=100, max_leaf_nodes=31, max_bins=255, learning_rate=0.1,
           min_samples_leaf=20, l2_regularization=0.0, early_stopping=False)
LGBM = dict(n_estimators=100, num_leaves=31, max_bin=255, learning_rate=0.1,
            min_child_samples=20, min_child_weight=1e-3, reg_lambda=0.0, subsample=1.0,
            colsample_bytree=1.0, n_jobs=THREADS, verbose=-1)


def _data(n, d, seed=0):
    def make():
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=2 * n, n_features=d, n_informative=d // 2,
                                   n_redundant=d // 4, random_state=seed)
        return X[:n], y[:n], X[n:], y[n:]
    return make


def _limited(fn):
    """Run ``fn`` with every OpenMP runtime (skml's, scikit-learn's) on THREADS threads."""
    def run(data):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(THREADS, user_api="openmp"):
            return fn(data)
    return run


def _accuracy(model, data):
    _, _, X_test, y_test = data
    return float(np.mean(model.predict(X_test) == y_test))


def _fitted(n, d):
    def make():
        from sklearn.ensemble import HistGradientBoostingClassifier as SkHGB

        from skml.ensemble import HistGradientBoostingClassifier

        data = _data(n, d)()
        ours = _limited(lambda D: HistGradientBoostingClassifier(**HGB).fit(D[0], D[1]))(data)
        ref = _limited(lambda D: SkHGB(**HGB).fit(D[0], D[1]))(data)
        return data + (ours, ref)
    return make


def cases(quick):
    import lightgbm
    from sklearn.ensemble import GradientBoostingClassifier as SkGB
    from sklearn.ensemble import HistGradientBoostingClassifier as SkHGB

    from skml.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

    n, d = (20_000, 28) if quick else (200_000, 28)
    n_gb, d_gb = (2_000, 20) if quick else (20_000, 20)
    fit_ours = _limited(lambda D: HistGradientBoostingClassifier(**HGB).fit(D[0], D[1]))
    yield Case(
        f"HistGradientBoostingClassifier fit {n}x{d} vs sklearn",
        _data(n, d), fit_ours,
        _limited(lambda D: SkHGB(**HGB).fit(D[0], D[1])),
        _accuracy, "test accuracy", repeats=3,
    )
    yield Case(
        f"HistGradientBoostingClassifier fit {n}x{d} vs LightGBM",
        _data(n, d), fit_ours,
        lambda D: lightgbm.LGBMClassifier(**LGBM).fit(D[0], D[1]),
        _accuracy, "test accuracy", repeats=3,
    )
    yield Case(
        f"HistGradientBoostingClassifier predict {n}x{d} vs sklearn",
        _fitted(n, d),
        _limited(lambda D: D[4].predict(D[2])),
        _limited(lambda D: D[5].predict(D[2])),
        lambda pred, D: float(np.mean(pred == D[3])), "test accuracy", repeats=5,
    )
    yield Case(
        f"GradientBoostingClassifier(100 stages) fit {n_gb}x{d_gb} vs sklearn",
        _data(n_gb, d_gb),
        lambda D: GradientBoostingClassifier(n_estimators=100, random_state=0).fit(D[0],
                                                                                 D[1]),
        lambda D: SkGB(n_estimators=100, random_state=0).fit(D[0], D[1]),
        _accuracy, "test accuracy", repeats=3,
    )
