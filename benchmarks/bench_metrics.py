"""Entropic optimal transport against POT, the Hausdorff distance against scipy.

Sinkhorn: 2,000 x 2,000 squared Euclidean costs between two Gaussian clouds in 2-D,
scaled to max 1, uniform masses, the same ``reg`` and stopping tolerance on both sides
(both stop on the L2 norm of the column-marginal violation; skml checks it at every
iteration, for free, POT every 10 iterations). float64 costs at ``tol=1e-9`` and float32
costs at ``tol=1e-6`` (both sides then compute in float32).
The peers: POT's default ``ot.sinkhorn`` (scaling iterations on ``exp(-M / reg)``,
which underflows for small ``reg``) and ``method="sinkhorn_log"`` (the log-domain
iterations, stable like skml's). Each runs on one thread (BLAS limited to one thread on
POT's side) and on every core. Quality: the transport cost ``<P, M>`` of each plan.

Hausdorff: two 20,000-point clouds in 3-D, (a) two independent uniform samples of the
unit cube and (b) a segmentation-like pair: a surface sample and the same points moved
by a small noise (``scipy.spatial.distance.directed_hausdorff``'s early-break search is
at its fastest on (a) and at its slowest on (b)). scipy runs one thread; skml on one
thread and on every core. Quality: the distance (both sides are exact). Peak memory is
the harness's per-side child-process measure: O(n) for both.
"""
import os

import numpy as np

from benchmarks._harness import Case

NAME = "metrics"
PEER = "POT / scipy"

THREADS = sorted({1, os.cpu_count() or 1})
SINKHORN_SIZE, QUICK_SINKHORN_SIZE = 2000, 300
CLOUD_SIZE, QUICK_CLOUD_SIZE = 20_000, 2000
REG = 0.01


def _ot_problem(n, dtype):
    def make():
        rng = np.random.RandomState(0)
        X, Y = rng.randn(n, 2), rng.randn(n, 2) + 1.0
        M = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
        M /= M.max()
        a = np.full(n, 1.0 / n)
        return a, a.copy(), np.ascontiguousarray(M.astype(dtype))
    return make


def _transport_cost(plan, data):
    return float(np.sum(np.asarray(plan, dtype=np.float64) * data[2]))


def _clouds(n, kind):
    def make():
        rng = np.random.RandomState(0)
        if kind == "independent":
            return rng.rand(n, 3), rng.rand(n, 3)
        # points on a sphere (a segmented surface) and the same points, jittered
        A = rng.randn(n, 3)
        A /= np.linalg.norm(A, axis=1, keepdims=True)
        return A, A + rng.normal(scale=1e-3, size=A.shape)
    return make


def cases(quick):
    import ot
    from scipy.spatial.distance import directed_hausdorff
    from threadpoolctl import threadpool_limits

    from skml.metrics import hausdorff_distance, optimal_transport

    n = QUICK_SINKHORN_SIZE if quick else SINKHORN_SIZE
    # POT's log-domain solver is the slow one (a logsumexp over the matrix per half
    # iteration): one thread setting and one repeat for it
    runs = [(np.float64, 1e-9, "sinkhorn", n_jobs, 3) for n_jobs in THREADS]
    runs += [(np.float64, 1e-9, "sinkhorn_log", 1, 1)]
    runs += [(np.float32, 1e-6, "sinkhorn", n_jobs, 3) for n_jobs in THREADS]
    for dtype, tol, method, n_jobs, repeats in runs:
        def skml(data, n_jobs=n_jobs, tol=tol):
            a, b, M = data
            return optimal_transport(a, b, M, method="sinkhorn", reg=REG, tol=tol,
                                     max_iter=100_000, n_jobs=n_jobs)[0]

        def peer(data, n_jobs=n_jobs, method=method, tol=tol):
            a, b, M = data
            with threadpool_limits(n_jobs if n_jobs == 1 else None):
                return ot.sinkhorn(a, b, M, REG, method=method, stopThr=tol,
                                   numItermax=100_000)

        yield Case(
            f"sinkhorn {n}x{n} reg={REG} tol={tol:g} {np.dtype(dtype).name} "
            f"vs ot {method}, n_jobs={n_jobs}",
            _ot_problem(n, dtype), skml, peer, _transport_cost, "<P, M>",
            repeats=repeats,
        )

    n = QUICK_CLOUD_SIZE if quick else CLOUD_SIZE
    for kind in ("independent", "jittered surface"):
        for n_jobs in THREADS:
            def skml(data, n_jobs=n_jobs):
                return hausdorff_distance(*data, n_jobs=n_jobs)

            def peer(data):
                A, B = data
                return max(directed_hausdorff(A, B)[0], directed_hausdorff(B, A)[0])

            yield Case(
                f"hausdorff {n} vs {n} points in 3-D, {kind}, n_jobs={n_jobs}",
                _clouds(n, kind), skml, peer, lambda r, data: r, "distance", repeats=3,
            )
