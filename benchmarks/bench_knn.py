"""k-nearest-neighbours classification vs scikit-learn: fit + predict, same data.

Both sides run with ``algorithm="auto"``, which picks brute force at 20 features and the
KD-tree at 3 features on both. With ``n_jobs=None`` scikit-learn's brute force uses all
OpenMP threads but its tree queries run in one thread, so the tree cases are also run
with scikit-learn at ``n_jobs=-1`` (all cores, as skml's default uses).
"""
import numpy as np

from benchmarks._harness import Case

NAME = "knn"
PEER = "sklearn"

# (n_train, n_queries, n_features)
SIZES = [(50_000, 5_000, 20), (50_000, 5_000, 3)]
QUICK_SIZES = [(2_000, 200, 20), (2_000, 200, 3)]


def _data(n_train, n_queries, d):
    def make():
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=n_train + n_queries, n_features=d,
                                   n_informative=min(d, 10), n_redundant=0,
                                   n_classes=3, n_clusters_per_class=2, random_state=0)
        return X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    return make


def _accuracy(pred, data):
    return float(np.mean(pred == data[3]))


def cases(quick):
    from sklearn.neighbors import KNeighborsClassifier as SkKNN

    from skml.neighbors import KNeighborsClassifier

    def skml_fit_predict(data):
        X, y, Q, _ = data
        return KNeighborsClassifier().fit(X, y).predict(Q)

    def peer_fit_predict(n_jobs):
        def run(data):
            X, y, Q, _ = data
            return SkKNN(n_jobs=n_jobs).fit(X, y).predict(Q)
        return run

    for n, m, d in QUICK_SIZES if quick else SIZES:
        algo = "brute" if d > 15 else "kd_tree"
        peers = [None] if algo == "brute" else [None, -1]
        for n_jobs in peers:
            tag = "" if n_jobs is None else f", sklearn n_jobs={n_jobs}"
            yield Case(
                f"KNeighborsClassifier fit+predict {n}x{d}, {m} queries ({algo}{tag})",
                _data(n, m, d),
                skml_fit_predict,
                peer_fit_predict(n_jobs),
                _accuracy,
                "accuracy",
            )
