"""PCA, Isomap and TruncatedSVD vs scikit-learn (same data, same threads).

PCA on tall data: scikit-learn's "auto" picks its covariance solver (``X.T @ X`` after a
validation pass and a mean pass); skml's picks its OpenMP covariance kernel (two passes,
exact centring, no copy). Isomap: scikit-learn runs scipy's single-threaded Dijkstra;
skml runs one Dijkstra per source in parallel.
"""
import numpy as np

from benchmarks._harness import Case

NAME = "decomposition"
PEER = "sklearn"


def _tall(n, p, dtype):
    def make():
        rng = np.random.RandomState(0)
        # correlated columns, so the leading components carry most of the variance
        return (rng.rand(n, p) @ rng.rand(p, p)).astype(dtype)
    return make


def _roll(n):
    def make():
        from sklearn.datasets import make_swiss_roll

        return make_swiss_roll(n, random_state=0)
    return make


def _explained(model, data):
    return float(np.sum(model.explained_variance_ratio_))


def _unrolled(embedding, data):
    from scipy.stats import spearmanr

    return abs(spearmanr(embedding[:, 0], data[1]).statistic)


def cases(quick):
    from sklearn.decomposition import PCA as SkPCA
    from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
    from sklearn.manifold import Isomap as SkIsomap

    from skml.decomposition import PCA, TruncatedSVD
    from skml.manifold import Isomap

    n_pca = 10_000 if quick else 100_000
    for dtype in (np.float64, np.float32):
        yield Case(
            f"PCA fit {n_pca}x100 -> 10 {np.dtype(dtype).name}",
            _tall(n_pca, 100, dtype),
            lambda X: PCA(n_components=10).fit(X),
            lambda X: SkPCA(n_components=10).fit(X),
            _explained,
            "explained var ratio",
        )
    n_svd = 2_000 if quick else 20_000
    yield Case(
        f"TruncatedSVD randomized {n_svd}x500 -> 20",
        _tall(n_svd, 500, np.float64),
        lambda X: TruncatedSVD(20, random_state=0).fit(X),
        lambda X: SkTruncatedSVD(20, random_state=0).fit(X),
        _explained,
        "explained var ratio",
    )
    n_iso = 500 if quick else 3_000
    yield Case(
        f"Isomap swiss roll {n_iso} points, k=5",
        _roll(n_iso),
        lambda data: Isomap(n_neighbors=5).fit_transform(data[0]),
        lambda data: SkIsomap(n_neighbors=5).fit_transform(data[0]),
        _unrolled,
        "|spearman(y0, t)|",
        repeats=3,
    )
