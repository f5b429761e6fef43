"""Entropy and divergences of discrete distributions, and the triplet margin loss
(H. Dai, "Note on Machine Learning" (preprint), Definitions 3.68-3.70, 3.72, 3.73).

Distributions are rows: a 1-D array is one distribution, a 2-D array of shape
``(n_samples, n_outcomes)`` holds one per row and gives one value per row. Rows are
normalised to sum 1 (as ``scipy.stats.entropy`` does), and ``0 log 0 = 0`` is exact
(through ``scipy.special.xlogy``/``rel_entr``), so zeros never give NaN.
"""
import numbers

import numpy as np
from scipy.special import rel_entr, xlogy
from sklearn.utils import check_array

from skml.utils import check_param, fill_doc

__all__ = [
    "cross_entropy",
    "entropy",
    "js_divergence",
    "kl_divergence",
    "triplet_margin_loss",
]


#: The parameters of the divergences of ``q`` from a reference ``p``.
_PAIR_PARAMS = """\
p : array-like of shape (n_outcomes,) or (n_samples, n_outcomes)
    Reference masses; each row is normalised to sum 1.
q : array-like of the same shape as ``p``
    Model masses; each row is normalised to sum 1.
base : float, default=None
    Base of the logarithm; ``None`` is ``e``.
"""


def _check_distributions(P, name):
    """Rows as float64 probability vectors; ``(array, was_1d)``."""
    P = np.asarray(P) if not hasattr(P, "tocsr") else P
    one_d = isinstance(P, np.ndarray) and P.ndim == 1
    P = check_array(np.atleast_2d(P) if one_d else P, dtype=np.float64, input_name=name)
    if P.shape[1] == 0:
        raise ValueError(f"{name} has no outcomes (0 columns).")
    if np.any(P < 0):
        raise ValueError(f"{name} has negative probabilities (min {P.min()!r}).")
    # divided by the row's largest mass first: rows of masses near 1e308 would sum to
    # inf, rows of subnormal masses lose bits in the quotient
    largest = P.max(axis=1, keepdims=True)
    if np.any(largest == 0):
        raise ValueError(f"{name} has a row that sums to 0; each row must be a "
                         "distribution with positive total mass.")
    P = P / largest
    return P / P.sum(axis=1, keepdims=True), one_d


def _check_pair(P, Q):
    P, one_d_p = _check_distributions(P, "p")
    Q, one_d_q = _check_distributions(Q, "q")
    if P.shape != Q.shape:
        raise ValueError(f"p and q must have the same shape, got {P.shape} and "
                         f"{Q.shape}" + (" (as rows)." if one_d_p or one_d_q else "."))
    return P, Q, one_d_p and one_d_q


def _log_base(base):
    if base is None:
        return 1.0
    check_param(base, "base", types=(numbers.Real,), min_val=0, closed="neither")
    if base == 1 or not np.isfinite(base):
        raise ValueError(f"base must be a positive number other than 1, got {base!r}.")
    return float(np.log(base))


def _result(values, one_d):
    return float(values[0]) if one_d else values


def entropy(p, *, base=None):
    """Shannon entropy ``H(p) = -sum_x p(x) log p(x)`` of discrete distributions.

    Parameters
    ----------
    p : array-like of shape (n_outcomes,) or (n_samples, n_outcomes)
        Non-negative masses; each row is normalised to sum 1.
    base : float, default=None
        Base of the logarithm (2 gives bits); ``None`` is ``e`` (nats).

    Returns
    -------
    entropy : float or ndarray of shape (n_samples,)
        In ``[0, log(n_outcomes)]`` (the notes' bound ``[0, 1]`` holds for two outcomes
        in base 2).

    Raises
    ------
    ValueError
        If ``p`` holds negative values, NaN or infinity, or a row sums to 0, or if
        ``base`` is not positive or is 1.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.68.
    .. [2] C. E. Shannon, "A Mathematical Theory of Communication", Bell System
       Technical Journal 27, 1948.

    Examples
    --------
    >>> from skml.metrics import entropy
    >>> entropy([0.5, 0.5], base=2)
    1.0
    >>> entropy([[1.0, 0.0], [0.25, 0.75]], base=2)
    array([0.        , 0.81127812])
    """
    log_base = _log_base(base)
    P, one_d = _check_distributions(p, "p")
    # + 0.0 turns the -0.0 of a certain outcome into 0.0
    return _result(-xlogy(P, P).sum(axis=1) / log_base + 0.0, one_d)


@fill_doc(pair_params=_PAIR_PARAMS)
def cross_entropy(p, q, *, base=None):
    """Cross-entropy ``H(p, q) = -sum_x p(x) log q(x)`` of discrete distributions.

    ``p`` is the reference (e.g. one-hot true labels), ``q`` the model's distribution.
    It is infinite where ``q`` puts zero mass on an outcome that ``p`` has. For the
    mean log loss of a classifier's probabilities use ``sklearn.metrics.log_loss``
    (re-exported here), which clips the probabilities.

    Parameters
    ----------
    {pair_params}

    Returns
    -------
    cross_entropy : float or ndarray of shape (n_samples,)
        In ``[H(p), inf]``.

    Raises
    ------
    ValueError
        As :func:`entropy`, and if ``p`` and ``q`` have different shapes.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.69, Example 40.

    Examples
    --------
    >>> from skml.metrics import cross_entropy
    >>> round(cross_entropy([0, 0, 1], [0.1, 0.2, 0.7]), 6)
    0.356675
    """
    log_base = _log_base(base)
    P, Q, one_d = _check_pair(p, q)
    with np.errstate(divide="ignore"):
        values = -xlogy(P, Q).sum(axis=1)
    return _result(values / log_base + 0.0, one_d)


@fill_doc(pair_params=_PAIR_PARAMS)
def kl_divergence(p, q, *, base=None):
    """Kullback-Leibler divergence ``KL(p || q) = sum_x p(x) log(p(x) / q(x))``.

    ``H(p, q) - H(p)``: how different ``q`` is from ``p``, seen from ``p``. Not
    symmetric; infinite where ``q`` puts zero mass on an outcome that ``p`` has (the
    notes' Example 41).

    Parameters
    ----------
    {pair_params}

    Returns
    -------
    kl : float or ndarray of shape (n_samples,)
        In ``[0, inf]``.

    Raises
    ------
    ValueError
        As :func:`cross_entropy`.

    See Also
    --------
    scipy.stats.entropy : ``entropy(p, q)`` is the same divergence for one pair.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.72, Remark 3.54.
    .. [2] S. Kullback, R. A. Leibler, "On Information and Sufficiency", Annals of
       Mathematical Statistics 22(1), 1951.

    Examples
    --------
    >>> from skml.metrics import kl_divergence
    >>> round(kl_divergence([0, 0, 1], [0.1, 0.2, 0.7]), 6)
    0.356675
    >>> kl_divergence([0.5, 0.5], [1.0, 0.0])
    inf
    """
    log_base = _log_base(base)
    P, Q, one_d = _check_pair(p, q)
    return _result(rel_entr(P, Q).sum(axis=1) / log_base, one_d)


def js_divergence(p, q, *, base=None):
    """Jensen-Shannon divergence ``(KL(p || m) + KL(q || m)) / 2`` with ``m = (p + q) / 2``.

    Symmetric and always finite: at most ``log 2`` (1 in base 2), reached by
    distributions with disjoint supports (the constant of the notes' Remark 3.56). Its
    square root is a metric, scipy's ``jensenshannon``.

    Parameters
    ----------
    p : array-like of shape (n_outcomes,) or (n_samples, n_outcomes)
        Masses; each row is normalised to sum 1.
    q : array-like of the same shape as ``p``
        Masses; each row is normalised to sum 1.
    base : float, default=None
        Base of the logarithm; ``None`` is ``e``.

    Returns
    -------
    js : float or ndarray of shape (n_samples,)
        In ``[0, log 2]`` (in the units of ``base``).

    Raises
    ------
    ValueError
        As :func:`cross_entropy`.

    See Also
    --------
    scipy.spatial.distance.jensenshannon : the square root of this divergence.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.73, Remark 3.56.
    .. [2] J. Lin, "Divergence measures based on the Shannon entropy", IEEE Transactions
       on Information Theory 37(1), 1991.

    Examples
    --------
    >>> from skml.metrics import js_divergence
    >>> js_divergence([1.0, 0.0], [0.0, 1.0], base=2)
    1.0
    """
    log_base = _log_base(base)
    P, Q, one_d = _check_pair(p, q)
    M = (P + Q) / 2
    values = (rel_entr(P, M).sum(axis=1) + rel_entr(Q, M).sum(axis=1)) / 2
    # rounding can leave -1e-17 for identical rows
    return _result(np.maximum(values, 0.0) / log_base, one_d)


def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, p=2, squared=False,
                        reduction="mean"):
    """Triplet margin loss ``max(d(a, p) - d(a, n) + margin, 0)``.

    Pulls each anchor towards a positive (same class) and pushes it away from a
    negative (another class) until the negative is ``margin`` farther. ``d`` is the
    ``p``-norm of the difference, as in ``torch.nn.TripletMarginLoss`` (without its
    ``eps``); ``squared=True`` uses the squared Euclidean distance of the notes'
    Definition 3.70 (FaceNet).

    Parameters
    ----------
    anchor : array-like of shape (n_triplets, n_features)
        Embeddings ``f(x^A)``.
    positive : array-like of shape (n_triplets, n_features)
        Embeddings ``f(x^P)`` of the same class as the anchors.
    negative : array-like of shape (n_triplets, n_features)
        Embeddings ``f(x^N)`` of other classes.
    margin : float, default=1.0
        ``alpha >= 0``, in the units of ``d``.
    p : float, default=2
        Order of the norm (``>= 1``; ignored when ``squared``).
    squared : bool, default=False
        Use ``||.||_2^2`` (Definition 3.70) instead of the ``p``-norm.
    reduction : {"mean", "sum", "none"}, default="mean"
        ``"none"`` returns one loss per triplet.

    Returns
    -------
    loss : float or ndarray of shape (n_triplets,)

    Raises
    ------
    ValueError
        If the three arrays do not have the same shape, hold NaN or infinity, or if
        ``margin``, ``p`` or ``reduction`` is invalid.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.70.
    .. [2] F. Schroff, D. Kalenichenko, J. Philbin, "FaceNet: A Unified Embedding for Face
       Recognition and Clustering", CVPR 2015.

    Examples
    --------
    >>> from skml.metrics import triplet_margin_loss
    >>> triplet_margin_loss([[0.0, 0.0]], [[1.0, 0.0]], [[0.0, 1.5]])
    0.5
    >>> triplet_margin_loss([[0.0, 0.0]], [[1.0, 0.0]], [[0.0, 1.5]], squared=True)
    0.0
    """
    check_param(margin, "margin", types=(numbers.Real,), min_val=0)
    check_param(p, "p", types=(numbers.Real,), min_val=1)
    check_param(squared, "squared", types=(bool, np.bool_))
    check_param(reduction, "reduction", options=("mean", "sum", "none"))
    arrays = [check_array(x, dtype=np.float64, input_name=name)
              for x, name in ((anchor, "anchor"), (positive, "positive"),
                              (negative, "negative"))]
    if len({x.shape for x in arrays}) > 1:
        raise ValueError("anchor, positive and negative must have the same shape, got "
                         f"{[x.shape for x in arrays]}.")
    a, pos, neg = arrays

    def dist(x, y):
        diff = np.abs(x - y)
        if squared:
            return np.einsum("ij,ij->i", diff, diff)
        if p == 2:
            return np.linalg.norm(diff, axis=1)
        if np.isinf(p):
            return diff.max(axis=1)
        return np.sum(diff ** p, axis=1) ** (1.0 / p)

    losses = np.maximum(dist(a, pos) - dist(a, neg) + margin, 0.0)
    if reduction == "none":
        return losses
    return float(losses.mean() if reduction == "mean" else losses.sum())
