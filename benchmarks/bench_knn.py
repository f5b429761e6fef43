"""k-nearest-neighbours classification vs scikit-learn: fit + predict, same data.

Dense cases, float64 and float32: both sides run with ``algorithm="auto"``, which picks
brute force at 20 features and the KD-tree at 3 features on both. With ``n_jobs=None``
scikit-learn's brute force uses all OpenMP threads but its tree queries run in one
thread, so the tree cases are also run with scikit-learn at ``n_jobs=-1`` (all cores, as
skml's default uses).

Sparse case (issue 14): brute force on a 100,000 x 20,000 CSR matrix at density 0.1%,
20,000 queries; each row draws half its columns from a block of its class, so the
neighbours predict the label. scikit-learn takes minutes here: one repeat.
"""
import numpy as np

from benchmarks._harness import Case

NAME = "knn"
PEER = "sklearn"

# (n_train, n_queries, n_features)
SIZES = [(50_000, 5_000, 20), (50_000, 5_000, 3)]
QUICK_SIZES = [(2_000, 200, 20), (2_000, 200, 3)]
SPARSE_SIZES = [(100_000, 20_000, 20_000)]
QUICK_SPARSE_SIZES = [(5_000, 500, 2_000)]
DENSITY = 0.001


def _data(n_train, n_queries, d, dtype):
    def make():
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=n_train + n_queries, n_features=d,
                                   n_informative=min(d, 10), n_redundant=0,
                                   n_classes=3, n_clusters_per_class=2, random_state=0)
        X = X.astype(dtype)
        return X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    return make


def _sparse_data(n_train, n_queries, d):
    def make():
        import scipy.sparse as sp

        rng = np.random.RandomState(0)
        n = n_train + n_queries
        per_row = max(1, int(DENSITY * d))
        y = rng.randint(0, 3, n)
        rows = np.repeat(np.arange(n), per_row)
        block = d // 3
        own = rng.rand(n * per_row) < 0.5  # half the columns from the class's block
        cols = np.where(own, np.repeat(y, per_row) * block + rng.randint(0, block, rows.size),
                        rng.randint(0, d, rows.size))
        X = sp.csr_matrix((rng.rand(rows.size), (rows, cols)), shape=(n, d))
        X.sum_duplicates()
        return X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    return make


def _accuracy(pred, data):
    return float(np.mean(pred == data[3]))


def cases(quick):
    from sklearn.neighbors import KNeighborsClassifier as SkKNN

    from skml.neighbors import KNeighborsClassifier

    def skml_fit_predict(algorithm="auto"):
        def run(data):
            X, y, Q, _ = data
            return KNeighborsClassifier(algorithm=algorithm).fit(X, y).predict(Q)
        return run

    def peer_fit_predict(n_jobs, algorithm="auto"):
        def run(data):
            X, y, Q, _ = data
            return SkKNN(n_jobs=n_jobs, algorithm=algorithm).fit(X, y).predict(Q)
        return run

    for n, m, d in QUICK_SIZES if quick else SIZES:
        algo = "brute" if d > 15 else "kd_tree"
        peers = [None] if algo == "brute" else [None, -1]
        for dtype in (np.float64, np.float32):
            for n_jobs in peers:
                tag = "" if n_jobs is None else f", sklearn n_jobs={n_jobs}"
                yield Case(
                    f"KNeighborsClassifier fit+predict {n}x{d} {np.dtype(dtype).name}, "
                    f"{m} queries ({algo}{tag})",
                    _data(n, m, d, dtype),
                    skml_fit_predict(),
                    peer_fit_predict(n_jobs),
                    _accuracy,
                    "accuracy",
                )
    for n, m, d in QUICK_SPARSE_SIZES if quick else SPARSE_SIZES:
        yield Case(
            f"KNeighborsClassifier fit+predict CSR {n}x{d} density {DENSITY:g}, "
            f"{m} queries (brute)",
            _sparse_data(n, m, d),
            skml_fit_predict("brute"),
            peer_fit_predict(None, "brute"),
            _accuracy,
            "accuracy",
            repeats=1,
        )
