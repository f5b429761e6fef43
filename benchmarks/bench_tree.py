"""Decision trees and random forests vs scikit-learn (same data, same hyper-parameters).

* DecisionTreeClassifier fit on 100,000 x 20 (gini and entropy), fully grown, all features
  (``max_features=None`` on both sides).
* RandomForestClassifier(n_estimators=100, n_jobs=2) fit on 20,000 x 20 with
  ``max_features="sqrt"`` on both sides (4 features per split), and predict on 20,000 rows.
* Sparse input (issue 14): RandomForestClassifier(n_estimators=10, n_jobs=2) fit on a
  50,000 x 5,000 CSC matrix of counts (density 0.2%, ~10 entries per row, a bag-of-words
  shape), float32 on both sides, and predict on the same rows as CSR.

Quality: accuracy on a held-out set of the same size drawn from the same distribution.
"""
import numpy as np

from benchmarks._harness import Case

NAME = "tree"
PEER = "sklearn"

REPEATS_TREE = 3
REPEATS_FOREST = 3


def _data(n, d, seed=0):
    def make():
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=2 * n, n_features=d, n_informative=d // 2,
                                   n_redundant=d // 4, random_state=seed)
        return X[:n], y[:n], X[n:], y[n:]
    return make


def _accuracy(model, data):
    _, _, X_test, y_test = data
    return float(np.mean(model.predict(X_test) == y_test))


def _fitted_forests(n, d):
    """Data plus one fitted forest per side (fitted once, outside the timed part)."""
    def make():
        from sklearn.ensemble import RandomForestClassifier as SkForest

        from skml.ensemble import RandomForestClassifier

        X, y, X_test, y_test = _data(n, d)()
        params = dict(n_estimators=100, max_features="sqrt", n_jobs=2, random_state=0)
        return (X, y, X_test, y_test, RandomForestClassifier(**params).fit(X, y),
                SkForest(**params).fit(X, y))
    return make


def _sparse_counts(n, d, density=0.002, seed=0):
    """Bag-of-words-like counts (CSC, float32) with a sparse linear label, split in two
    halves (train, test)."""
    def make():
        import scipy.sparse as sp

        rng = np.random.RandomState(seed)
        X = sp.random(2 * n, d, density=density, format="csc", random_state=rng,
                      dtype=np.float32,
                      data_rvs=lambda k: rng.randint(1, 4, k).astype(np.float32))
        w = np.zeros(d)
        w[: d // 10] = rng.randn(d // 10)
        y = (X @ w + 0.5 * rng.randn(2 * n) > 0).astype(int)
        return X[:n], y[:n], X[n:].tocsr(), y[n:]
    return make


def _fitted_sparse_forests(n, d, params):
    def make():
        from sklearn.ensemble import RandomForestClassifier as SkForest

        from skml.ensemble import RandomForestClassifier

        X, y, X_test, y_test = _sparse_counts(n, d)()
        return (X, y, X_test, y_test, RandomForestClassifier(**params).fit(X, y),
                SkForest(**params).fit(X, y))
    return make


def cases(quick):
    from sklearn.ensemble import RandomForestClassifier as SkForest
    from sklearn.tree import DecisionTreeClassifier as SkTree

    from skml.ensemble import RandomForestClassifier
    from skml.tree import DecisionTreeClassifier

    n_tree, n_forest, d = (5_000, 2_000, 20) if quick else (100_000, 20_000, 20)
    for criterion in ("gini", "entropy"):
        yield Case(
            f"DecisionTreeClassifier fit {n_tree}x{d} {criterion}",
            _data(n_tree, d),
            lambda data, c=criterion: DecisionTreeClassifier(criterion=c).fit(data[0],
                                                                              data[1]),
            lambda data, c=criterion: SkTree(criterion=c, random_state=0).fit(data[0],
                                                                             data[1]),
            lambda model, data: _accuracy(model, data),
            "test accuracy",
            repeats=REPEATS_TREE,
        )
    forest = dict(n_estimators=100, max_features="sqrt", n_jobs=2, random_state=0)
    yield Case(
        f"RandomForestClassifier(100, n_jobs=2) fit {n_forest}x{d}",
        _data(n_forest, d),
        lambda data: RandomForestClassifier(**forest).fit(data[0], data[1]),
        lambda data: SkForest(**forest).fit(data[0], data[1]),
        lambda model, data: _accuracy(model, data),
        "test accuracy",
        repeats=REPEATS_FOREST,
    )
    yield Case(
        f"RandomForestClassifier(100, n_jobs=2) predict {n_forest}x{d}",
        _fitted_forests(n_forest, d),
        lambda data: data[4].predict(data[2]),
        lambda data: data[5].predict(data[2]),
        lambda pred, data: float(np.mean(pred == data[3])),
        "test accuracy",
        repeats=REPEATS_FOREST,
    )
    n_sp, d_sp = (5_000, 500) if quick else (50_000, 5_000)
    sparse_forest = dict(n_estimators=10, max_features="sqrt", n_jobs=2, random_state=0)
    yield Case(
        f"RandomForestClassifier(10, n_jobs=2) fit sparse CSC {n_sp}x{d_sp} (0.2%)",
        _sparse_counts(n_sp, d_sp),
        lambda data: RandomForestClassifier(**sparse_forest).fit(data[0], data[1]),
        lambda data: SkForest(**sparse_forest).fit(data[0], data[1]),
        lambda model, data: _accuracy(model, data),
        "test accuracy",
        repeats=1,
    )
    yield Case(
        f"RandomForestClassifier(10, n_jobs=2) predict sparse CSR {n_sp}x{d_sp} (0.2%)",
        _fitted_sparse_forests(n_sp, d_sp, sparse_forest),
        lambda data: data[4].predict(data[2]),
        lambda data: data[5].predict(data[2]),
        lambda pred, data: float(np.mean(pred == data[3])),
        "test accuracy",
        repeats=3,
    )
