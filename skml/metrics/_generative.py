"""The Frechet distance between Gaussian fits of two feature sets, and the FID score of
generated samples (H. Dai, "Note on Machine Learning" (preprint), Definition 3.87)."""
import numpy as np
from sklearn.utils import check_array

from skml.utils import check_param

__all__ = ["fid_score", "frechet_distance"]


def _check_features(F, name):
    F = check_array(F, dtype=np.float64, input_name=name, ensure_min_samples=2)
    return F


def _sqrt_psd(S):
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues
    that rounding made slightly negative are taken as 0)."""
    w, V = np.linalg.eigh((S + S.T) / 2)
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def _trace_sqrt_product(S1, S2):
    """``Tr((S1^1/2 S2 S1^1/2)^1/2)``, which equals ``Tr((S1 S2)^1/2)``, from symmetric
    eigendecompositions only: no non-symmetric square root, no complex round-off."""
    R = _sqrt_psd(S1)
    C = R @ S2 @ R
    w = np.linalg.eigvalsh((C + C.T) / 2)
    return float(np.sqrt(np.clip(w, 0.0, None)).sum())


def frechet_distance(feats_a, feats_b, *, squared=True):
    """Frechet distance between the Gaussian fits of two sets of feature vectors.

    With means ``mu_a, mu_b`` and covariances ``S_a, S_b`` (unbiased, ``ddof=1``):
    ``d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)``, the
    2-Wasserstein distance between the two Gaussians (the notes' Definition 3.87). The
    matrix square root is taken in the symmetric form through two symmetric
    eigendecompositions, which stays real and accurate for singular or ill-conditioned
    covariances (fewer samples than features), where a general ``sqrtm`` of
    ``S_a S_b`` returns complex round-off.

    Parameters
    ----------
    feats_a : array-like of shape (n_a, n_features)
        Feature vectors of the first set (at least 2).
    feats_b : array-like of shape (n_b, n_features)
        Feature vectors of the second set (at least 2).
    squared : bool, default=True
        Return ``d^2`` (the value reported as FID in the literature and by
        pytorch-fid/torchmetrics); ``False`` returns ``d``.

    Returns
    -------
    distance : float
        ``d^2`` (or ``d``), ``>= 0``, in squared (or plain) feature units.

    Raises
    ------
    ValueError
        If a set has fewer than 2 vectors, holds NaN or infinity, or the two sets have
        different numbers of features.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.87.
    .. [2] D. C. Dowson, B. V. Landau, "The Frechet distance between multivariate normal
       distributions", Journal of Multivariate Analysis 12(3), 1982.
    .. [3] M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter, "GANs
       Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium",
       NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.metrics import frechet_distance
    >>> rng = np.random.RandomState(0)
    >>> a = rng.randn(2000, 2)
    >>> round(frechet_distance(a, a + 3.0), 6)
    18.0
    """
    check_param(squared, "squared", types=(bool, np.bool_))
    A = _check_features(feats_a, "feats_a")
    B = _check_features(feats_b, "feats_b")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"feats_a and feats_b must have the same number of features, got "
                         f"{A.shape[1]} and {B.shape[1]}.")
    # features scaled by a power of two to at most 1 in magnitude (exact): the product
    # S_a^1/2 S_b S_a^1/2 grows as the fourth power of the scale and over- or
    # underflowed for features of 1e80 or 1e-100; d^2 is scaled back at the end
    top = max(float(np.abs(A).max()), float(np.abs(B).max()))
    e = int(np.frexp(top)[1]) if top > 0 else 0
    A, B = np.ldexp(A, -e), np.ldexp(B, -e)
    mu_a, mu_b = A.mean(axis=0), B.mean(axis=0)
    S_a = np.atleast_2d(np.cov(A, rowvar=False))
    S_b = np.atleast_2d(np.cov(B, rowvar=False))
    d2 = (float(np.sum((mu_a - mu_b) ** 2)) + float(np.trace(S_a) + np.trace(S_b))
          - 2.0 * _trace_sqrt_product(S_a, S_b))
    d2 = max(d2, 0.0)
    if not squared:
        return float(np.ldexp(np.sqrt(d2), e))
    with np.errstate(over="ignore"):  # beyond the float range: inf, as the true value
        return float(np.ldexp(d2, 2 * e))


def _features(extractor, X, name):
    if hasattr(extractor, "transform"):
        F = extractor.transform(X)
    elif callable(extractor):
        F = extractor(X)
    else:
        raise TypeError("feature_extractor must be a fitted transformer (with transform) "
                        f"or a callable, got {type(extractor).__name__}.")
    if hasattr(F, "detach"):  # a torch tensor
        F = F.detach().cpu().numpy()
    F = np.asarray(F)
    if F.ndim != 2:
        raise ValueError(f"feature_extractor must return a 2-D array (n_samples, "
                         f"n_features); it returned shape {F.shape} for {name}.")
    return F


def fid_score(X_real, X_fake, feature_extractor):
    """Frechet Inception-style distance between real and generated samples.

    ``frechet_distance(phi(X_real), phi(X_fake))`` (squared, as reported in the
    literature) with ``phi`` any feature extractor: a fitted transformer (its
    ``transform``, e.g. a PCA, or a hidden layer of a fitted network) or a callable
    returning ``(n_samples, n_features)``. The original FID uses the pool layer of an
    Inception-v3 network trained on ImageNet; skml downloads no weights, so the score is
    comparable only between runs that use the same extractor.

    Parameters
    ----------
    X_real : array-like of shape (n_real, ...)
        Real samples, in the input format of the extractor (at least 2).
    X_fake : array-like of shape (n_fake, ...)
        Generated samples, in the same format.
    feature_extractor : object with ``transform``, or callable
        Maps samples to feature vectors. Its features should be informative for the
        data (a network trained on it, or at least a PCA fitted on real data).

    Returns
    -------
    fid : float
        ``>= 0``; lower is better, 0 for identical feature statistics.

    Raises
    ------
    TypeError
        If ``feature_extractor`` has no ``transform`` and is not callable.
    ValueError
        If the features are not 2-D, hold NaN, or a set has fewer than 2 samples.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.87.
    .. [2] M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter, "GANs
       Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium",
       NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from skml.metrics import fid_score
    >>> rng = np.random.RandomState(0)
    >>> real = rng.randn(500, 8)
    >>> pca = PCA(n_components=4).fit(real)
    >>> round(fid_score(real, real, pca), 9)
    0.0
    >>> fake = 2.0 * rng.randn(500, 8)  # too spread out
    >>> round(fid_score(real, fake, pca), 1)
    3.9
    """
    F_real = _features(feature_extractor, X_real, "X_real")
    F_fake = _features(feature_extractor, X_fake, "X_fake")
    return frechet_distance(F_real, F_fake)
