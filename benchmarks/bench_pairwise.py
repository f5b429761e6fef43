"""Pairwise distances and the argmin reduction vs scikit-learn (same data, same threads)."""
import numpy as np

from benchmarks._harness import Case

NAME = "pairwise"
PEER = "sklearn"

SIZES = [(5000, 5000, 100), (20000, 2000, 50)]
QUICK_SIZES = [(500, 400, 20)]


def _data(n_x, n_y, d, dtype):
    def make():
        rng = np.random.RandomState(0)
        return rng.rand(n_x, d).astype(dtype), rng.rand(n_y, d).astype(dtype)
    return make


def _max_abs_diff_to_float64_reference(fn_ref):
    def quality(result, data):
        ref = fn_ref(data)
        return float(np.max(np.abs(np.asarray(result, dtype=np.float64) - ref)))
    return quality


def cases(quick):
    from sklearn.metrics import pairwise_distances as sk_pd
    from sklearn.metrics import pairwise_distances_argmin_min as sk_am

    from skml.metrics import pairwise_distances, pairwise_distances_argmin_min

    def ref_dist(data):
        X, Y = (a.astype(np.float64) for a in data)
        return sk_pd(X, Y)

    def ref_min(data):
        X, Y = (a.astype(np.float64) for a in data)
        return sk_am(X, Y)[1]

    for n_x, n_y, d in QUICK_SIZES if quick else SIZES:
        for dtype in (np.float64, np.float32):
            tag = f"{n_x}x{n_y}x{d} {np.dtype(dtype).name}"
            yield Case(
                f"pairwise_distances euclidean {tag}",
                _data(n_x, n_y, d, dtype),
                lambda data: pairwise_distances(*data),
                lambda data: sk_pd(*data),
                _max_abs_diff_to_float64_reference(ref_dist),
                "maxabs(D-D_f64)",
            )
            yield Case(
                f"argmin_min euclidean {tag}",
                _data(n_x, n_y, d, dtype),
                lambda data: pairwise_distances_argmin_min(*data)[1],
                lambda data: sk_am(*data)[1],
                _max_abs_diff_to_float64_reference(ref_min),
                "maxabs(d-d_f64)",
            )
