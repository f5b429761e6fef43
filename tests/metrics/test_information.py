"""Entropies and divergences against scipy; the triplet loss against torch and a NumPy
transcription of the notes' Definition 3.70."""
import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as scipy_entropy

from skml.metrics import (
    cross_entropy,
    entropy,
    js_divergence,
    kl_divergence,
    log_loss,
    triplet_margin_loss,
)

RNG = np.random.RandomState(0)
P = RNG.rand(20, 6)
Q = RNG.rand(20, 6)
P[:5, 2] = 0.0  # zeros in p: 0 log 0 = 0
Q[5:8, 4] = 0.0  # zeros in q where p > 0: infinite KL / cross-entropy


@pytest.mark.parametrize("base", [None, 2, 10])
def test_against_scipy_stats_entropy(base):
    np.testing.assert_allclose(entropy(P, base=base),
                               scipy_entropy(P, base=base, axis=1), rtol=1e-12)
    np.testing.assert_allclose(kl_divergence(P, Q, base=base),
                               scipy_entropy(P, Q, base=base, axis=1), rtol=1e-12)
    # H(p, q) = H(p) + KL(p || q)
    np.testing.assert_allclose(
        cross_entropy(P, Q, base=base),
        scipy_entropy(P, base=base, axis=1) + scipy_entropy(P, Q, base=base, axis=1),
        rtol=1e-12)
    np.testing.assert_allclose(js_divergence(P, Q, base=base),
                               jensenshannon(P, Q, base=base, axis=1) ** 2,
                               rtol=1e-10, atol=1e-15)
    assert entropy(P[0], base=base) == pytest.approx(scipy_entropy(P[0], base=base))


def test_masses_of_any_magnitude():
    # rows are distributions up to a factor: 1e308-sized masses (whose sum overflows)
    # and subnormal ones give the divergences of the normalised rows (scipy's on them)
    for scale in (1e308, 1e-310):
        p, q = P[:8] / P[:8].max() * scale, Q[:8] / Q[:8].max() * scale
        ref_p, ref_q = p / scale, q / scale  # the rounding of the subnormal rows
        rtol = 1e-12 if scale > 1 else 1e-9
        np.testing.assert_allclose(entropy(p), scipy_entropy(ref_p, axis=1), rtol=rtol)
        np.testing.assert_allclose(kl_divergence(p, q),
                                   scipy_entropy(ref_p, ref_q, axis=1), rtol=rtol)
        np.testing.assert_allclose(js_divergence(p, q),
                                   jensenshannon(ref_p, ref_q, axis=1) ** 2, rtol=1e-8)


def test_zeros_infinities_and_bounds():
    assert np.all(np.isinf(kl_divergence(P[5:8], Q[5:8])))
    assert np.all(np.isinf(cross_entropy(P[5:8], Q[5:8])))
    assert np.all(np.isfinite(entropy(P[:5])))
    # disjoint supports: JS = log 2 exactly (1 bit), KL infinite (Remark 3.56)
    assert js_divergence([1, 0], [0, 1], base=2) == 1.0
    assert kl_divergence([1, 0], [0, 1]) == np.inf
    assert js_divergence(P, P).max() == 0.0
    assert entropy(np.ones(8), base=2) == pytest.approx(3.0)
    assert entropy([0.0, 1.0, 0.0]) == 0.0


def test_cross_entropy_of_one_hot_rows_is_the_log_loss():
    y = RNG.randint(0, 4, 50)
    proba = RNG.dirichlet(np.ones(4), 50)
    assert cross_entropy(np.eye(4)[y], proba).mean() == pytest.approx(
        log_loss(y, proba), rel=1e-12)
    # the notes' Example 40 (in base 10)
    assert cross_entropy([0, 0, 1], [0.1, 0.2, 0.7], base=10) == pytest.approx(
        -np.log10(0.7))


def test_divergence_bad_input():
    with pytest.raises(ValueError, match="negative probabilities"):
        entropy([0.5, -0.1])
    with pytest.raises(ValueError, match="sums to 0"):
        kl_divergence([0.0, 0.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="same shape"):
        js_divergence([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        cross_entropy([np.nan, 1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="base must be"):
        entropy([0.5, 0.5], base=1)
    with pytest.raises(ValueError, match="base must be"):
        entropy([0.5, 0.5], base=-2)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_triplet_loss_against_torch(p):
    torch = pytest.importorskip("torch")
    a, pos, neg = (RNG.randn(30, 5) for _ in range(3))
    for reduction in ("mean", "sum", "none"):
        ref = torch.nn.functional.triplet_margin_loss(
            *(torch.tensor(x) for x in (a, pos, neg)), margin=0.7, p=p, eps=0.0,
            reduction=reduction).numpy()
        got = triplet_margin_loss(a, pos, neg, margin=0.7, p=p, reduction=reduction)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)


def test_triplet_loss_squared_is_definition_3_70():
    a, pos, neg = (RNG.randn(30, 5) for _ in range(3))
    ref = np.maximum(((a - pos) ** 2).sum(1) - ((a - neg) ** 2).sum(1) + 0.3, 0).mean()
    assert triplet_margin_loss(a, pos, neg, margin=0.3, squared=True) == pytest.approx(ref)
    with pytest.raises(ValueError, match="same shape"):
        triplet_margin_loss(a, pos, neg[:3])
    with pytest.raises(ValueError, match="margin must be in"):
        triplet_margin_loss(a, pos, neg, margin=-1)
    with pytest.raises(ValueError, match="reduction must be one of"):
        triplet_margin_loss(a, pos, neg, reduction="avg")
