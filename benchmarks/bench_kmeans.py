"""KMeans.fit vs scikit-learn: the same data, the same initial centres, the same threads.

Dense: uniform random data has no cluster structure, so Lloyd's algorithm never
converges and both run every iteration (blobs would converge in a handful). With
``tol=0`` and ``max_iter=30`` both must report ``n_iter_ == 30`` (checked by the quality
function, which raises otherwise) and the same inertia (the quality column).

Sparse: a 100,000 x 20,000 CSR matrix at density 0.1% (2 million stored values, about
20 per row; dense it would take 16 GB), the same initial centres, ``max_iter=30``,
``tol=0``; both must run the same number of iterations (checked), and report the
inertia.

Both libraries use every OpenMP thread by default, each counting them its own way; the
cases pin both to the same count with threadpoolctl, which is printed in the case label.
"""
import os

import numpy as np

from benchmarks._harness import Case

NAME = "kmeans"
PEER = "sklearn"

N_SAMPLES, N_FEATURES, N_CLUSTERS, MAX_ITER = 200_000, 20, 16, 30
QUICK_N_SAMPLES = 20_000
SPARSE_SHAPE, SPARSE_DENSITY = (100_000, 20_000), 0.001
QUICK_SPARSE_SHAPE = (20_000, 20_000)


def _threads():
    import joblib

    return max(1, min(os.cpu_count() or 1, joblib.cpu_count()))


def _data(n_samples, dtype):
    def make():
        rng = np.random.RandomState(0)
        X = rng.rand(n_samples, N_FEATURES).astype(dtype)
        init = X[rng.choice(n_samples, N_CLUSTERS, replace=False)].copy()
        return X, init
    return make


def _sparse_data(shape, dtype):
    def make():
        import scipy.sparse as sp

        # a Generator: with a legacy RandomState, scipy draws the positions through a
        # permutation of all n x d cells (16 GB here)
        rng = np.random.default_rng(0)
        X = sp.random(*shape, density=SPARSE_DENSITY, format="csr", random_state=rng,
                      dtype=dtype)
        init = X[rng.choice(shape[0], N_CLUSTERS, replace=False)].toarray()
        return X, init
    return make


def _same_iterations(results):
    """Quality of the sparse cases: the inertia, once both ran the same iterations."""
    def quality(est, data):
        results.append(est.n_iter_)
        if len(set(results)) > 1:
            raise AssertionError(f"skml and sklearn ran {sorted(set(results))} iterations")
        return est.inertia_
    return quality


def _inertia_after_all_iterations(est, data):
    if est.n_iter_ != MAX_ITER:
        raise AssertionError(
            f"{type(est).__module__}.{type(est).__name__} ran {est.n_iter_} iterations, "
            f"expected {MAX_ITER} (uniform data, tol=0)"
        )
    return est.inertia_


def cases(quick):
    from sklearn.cluster import KMeans as SkKMeans
    from threadpoolctl import ThreadpoolController

    from skml.cluster import KMeans

    n_threads = _threads()
    controller = ThreadpoolController()
    params = dict(n_clusters=N_CLUSTERS, n_init=1, max_iter=MAX_ITER, tol=0.0)

    def fit_with(cls):
        def fit(data):
            X, init = data
            with controller.limit(limits=n_threads, user_api="openmp"):
                return cls(init=init, **params).fit(X)
        return fit

    n_samples = QUICK_N_SAMPLES if quick else N_SAMPLES
    for dtype in (np.float64, np.float32):
        yield Case(
            f"KMeans.fit {n_samples}x{N_FEATURES} uniform k={N_CLUSTERS} "
            f"max_iter={MAX_ITER} tol=0 {np.dtype(dtype).name} threads={n_threads}",
            _data(n_samples, dtype),
            fit_with(KMeans),
            fit_with(SkKMeans),
            _inertia_after_all_iterations,
            "inertia",
        )
    shape = QUICK_SPARSE_SHAPE if quick else SPARSE_SHAPE
    for dtype in (np.float64, np.float32):
        yield Case(
            f"KMeans.fit CSR {shape[0]}x{shape[1]} density={SPARSE_DENSITY} k={N_CLUSTERS} "
            f"max_iter={MAX_ITER} tol=0 {np.dtype(dtype).name} threads={n_threads}",
            _sparse_data(shape, dtype),
            fit_with(KMeans),
            fit_with(SkKMeans),
            _same_iterations([]),
            "inertia",
        )
