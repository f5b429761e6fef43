"""t-SNE on 10,000 x 50 against scikit-learn's Barnes-Hut TSNE and openTSNE's FFT TSNE.

The data: 10,000 digits-like images in 50 dimensions (each a random mix of two digits of
one class from ``load_digits``, plus pixel noise, projected on its first 50 principal
axes), so the map has real cluster and manifold structure and nothing is downloaded.

Each comparison runs twice, on one thread and on every core (``n_jobs`` the same on both
sides; scikit-learn's Barnes-Hut gradient takes its thread count from OpenMP rather than
``n_jobs``, so on one thread it runs under ``threadpool_limits(1, "openmp")``), with
perplexity 30 and each side's defaults otherwise:

* vs scikit-learn: ``TSNE(method="barnes_hut")`` with its defaults (1000 iterations,
  250 of them with early exaggeration 12) against skml's default (``"barnes_hut"``, the
  same schedule) and against skml's recommended ``method="auto"`` (the FFT at both
  sizes), float64 and float32 data.
* vs openTSNE: openTSNE's defaults (FFT gradients, 250 + 500 iterations, its own
  learning rates) against skml's ``method="fft"`` with the same 750 iterations (250
  exaggerated), float64 (openTSNE computes in float64).

On a busy machine the one-thread figures are the steadier ones: every iteration of a
threaded t-SNE (any of the three) synchronises its threads, and each synchronisation
waits for a scheduler time slice when another process holds a core.

Quality: trustworthiness (``sklearn.manifold.trustworthiness``, k=5) of each map,
computed on a fixed random subset of 3,000 points (the full O(n^2) score would take
longer than the maps).
"""
import os

import numpy as np

from benchmarks._harness import Case

NAME = "tsne"
PEER = "sklearn / openTSNE"

THREADS = sorted({1, os.cpu_count() or 1})
SIZE = (10_000, 50)
# above _AUTO_BH_MAX (3,500), so that method="auto" picks the FFT at the quick size too
QUICK_SIZE = (4_000, 50)


def make_data(n, d, seed=0):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(seed)
    i = rng.randint(len(X), size=n)
    j = np.empty(n, dtype=int)
    for c in range(10):
        mask = y[i] == c
        j[mask] = rng.choice(np.flatnonzero(y == c), mask.sum())
    t = rng.uniform(0.0, 0.5, size=(n, 1))
    Z = (1 - t) * X[i] + t * X[j] + rng.normal(0.0, 0.5, size=(n, X.shape[1]))
    Z -= Z.mean(axis=0)
    U, s, _ = np.linalg.svd(Z, full_matrices=False)
    return np.ascontiguousarray(U[:, :d] * s[:d])


def _trustworthiness(result, X):
    from sklearn.manifold import trustworthiness

    emb = np.asarray(result[0] if isinstance(result, tuple) else result)
    idx = np.random.RandomState(0).choice(len(X), min(3000, len(X)), replace=False)
    return trustworthiness(X[idx], emb[idx], n_neighbors=5)


def cases(quick):
    from openTSNE import TSNE as OpenTSNE
    from sklearn.manifold import TSNE as SkTSNE
    from threadpoolctl import threadpool_limits

    from skml.manifold import TSNE

    n, d = QUICK_SIZE if quick else SIZE

    def make():
        return make_data(n, d)

    for n_jobs in [1] if quick else THREADS:  # quick: the steadier one-thread figures
        for dtype in (np.float64, np.float32):
            name = np.dtype(dtype).name
            label = f"{n}x{d} {name} perplexity 30, n_jobs={n_jobs}"

            def make(dtype=dtype):
                return make_data(n, d).astype(dtype)

            def skml_bh(X, n_jobs=n_jobs):
                return TSNE(method="barnes_hut", random_state=0,
                            n_jobs=n_jobs).fit_transform(X)

            def skml_auto(X, n_jobs=n_jobs):
                return TSNE(method="auto", random_state=0, n_jobs=n_jobs).fit_transform(X)

            def sklearn_bh(X, n_jobs=n_jobs):
                est = SkTSNE(method="barnes_hut", random_state=0, n_jobs=n_jobs)
                if n_jobs == 1:
                    with threadpool_limits(limits=1, user_api="openmp"):
                        return est.fit_transform(X)
                return est.fit_transform(X)

            def skml_fft_750(X, n_jobs=n_jobs):
                return TSNE(method="fft", max_iter=750, random_state=0,
                            n_jobs=n_jobs).fit_transform(X)

            def open_tsne(X, n_jobs=n_jobs):
                return np.asarray(OpenTSNE(n_jobs=n_jobs, random_state=0).fit(X))

            yield Case(f"TSNE barnes_hut (default) vs sklearn barnes_hut, {label}", make,
                       skml_bh, sklearn_bh, _trustworthiness, "trustworthiness k=5",
                       repeats=2)
            yield Case(f"TSNE method='auto' vs sklearn barnes_hut, {label}", make,
                       skml_auto, sklearn_bh, _trustworthiness, "trustworthiness k=5",
                       repeats=2)
            if dtype == np.float64:  # openTSNE computes in float64
                yield Case(f"TSNE fft 750 it vs openTSNE fft, {label}", make,
                           skml_fft_750, open_tsne, _trustworthiness,
                           "trustworthiness k=5", repeats=2)
