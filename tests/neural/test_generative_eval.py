"""The shared generative-evaluation helpers measure what they claim (checked against
independent computations), so the models' tests built on them can be trusted."""
import numpy as np
import pytest
from scipy.stats import energy_distance as scipy_energy_distance

from ._generative_eval import (
    digits_data,
    digits_fid_extractor,
    energy_distance,
    mode_coverage,
    ring_of_gaussians,
)


def test_ring_samples_cover_every_mode_evenly():
    X, mode = ring_of_gaussians(4000, random_state=0)
    counts, near = mode_coverage(X)
    assert near > 0.98  # 3 std holds 98.9% of a 2-D Gaussian
    np.testing.assert_allclose(counts / len(X), 1 / 8, atol=0.02)
    collapsed = np.repeat(X[mode == 0][:1], 100, axis=0)
    counts, _ = mode_coverage(collapsed)
    assert (counts > 0).sum() == 1


def test_energy_distance_matches_scipy_in_one_dimension():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(1.0, 2.0, size=300)
    # scipy returns the square root of 2 E|X-Y| - E|X-X'| - E|Y-Y'| (1-D samples)
    expected = scipy_energy_distance(a, b) ** 2
    assert energy_distance(a[:, None], b[:, None]) == pytest.approx(expected, rel=1e-9)
    assert energy_distance(a[:, None], a[:, None]) == pytest.approx(0.0, abs=1e-12)


def test_fid_features_separate_digits_from_noise():
    from skml.metrics import fid_score

    X, _ = digits_data()
    phi = digits_fid_extractor()
    real_vs_real = fid_score(X[::2], X[1::2], phi)
    noise = np.random.default_rng(0).uniform(-1, 1, size=X.shape)
    assert fid_score(X[::2], noise, phi) > 10 * real_vs_real
