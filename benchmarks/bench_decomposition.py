"""PCA (dense and sparse), TruncatedSVD, Isomap and MDS vs scikit-learn (same data, same
threads), float64 and float32.

PCA on tall data: scikit-learn's "auto" picks its covariance solver (``X.T @ X`` after a
validation pass and a mean pass); skml's picks its OpenMP covariance kernel (two passes,
exact centring, no copy). Isomap: scikit-learn runs scipy's single-threaded Dijkstra;
skml runs one Dijkstra per source in parallel. Sparse PCA: both run ARPACK on the
implicitly centred matrix. MDS: the same SMACOF iterations from the same classical start
(equal results); skml's distances come from its OpenMP kernel.
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


def _sparse(n, p, density, dtype):
    def make():
        import scipy.sparse as sp

        return sp.random(n, p, density=density, random_state=0, format="csr",
                         dtype=np.float64).astype(dtype)
    return make


def _stress(model, data):
    return float(model.stress_)


def cases(quick):
    from sklearn.decomposition import PCA as SkPCA
    from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
    from sklearn.manifold import MDS as SkMDS
    from sklearn.manifold import Isomap as SkIsomap

    from skml.decomposition import PCA, TruncatedSVD
    from skml.manifold import MDS, Isomap

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
    n_sp = 2_000 if quick else 20_000
    for dtype in (np.float64, np.float32):
        yield Case(
            f"PCA sparse arpack {n_sp}x2000 density 1% -> 10 {np.dtype(dtype).name}",
            _sparse(n_sp, 2000, 0.01, dtype),
            lambda X: PCA(n_components=10, svd_solver="arpack", random_state=0).fit(X),
            lambda X: SkPCA(n_components=10, svd_solver="arpack", random_state=0).fit(X),
            _explained,
            "explained var ratio",
        )
    n_svd = 2_000 if quick else 20_000
    for dtype in (np.float64, np.float32):
        yield Case(
            f"TruncatedSVD randomized {n_svd}x500 -> 20 {np.dtype(dtype).name}",
            _tall(n_svd, 500, dtype),
            lambda X: TruncatedSVD(20, random_state=0).fit(X),
            lambda X: SkTruncatedSVD(20, random_state=0).fit(X),
            _explained,
            "explained var ratio",
        )
    n_iso = 500 if quick else 3_000
    for dtype in (np.float64, np.float32):
        yield Case(
            f"Isomap swiss roll {n_iso} points, k=5 {np.dtype(dtype).name}",
            _roll(n_iso),
            lambda data, dtype=dtype: Isomap(n_neighbors=5).fit_transform(
                data[0].astype(dtype)),
            lambda data, dtype=dtype: SkIsomap(n_neighbors=5).fit_transform(
                data[0].astype(dtype)),
            _unrolled,
            "|spearman(y0, t)|",
            repeats=3,
        )
    n_mds = 200 if quick else 1_000
    yield Case(
        f"MDS metric SMACOF {n_mds}x10, classical start",
        _tall(n_mds, 10, np.float64),
        lambda X: MDS(init="classical_mds").fit(X),
        lambda X: SkMDS(init="classical_mds").fit(X),
        _stress,
        "raw stress",
        repeats=3,
    )
