"""Issue 11 for skml.neural: finite input at extreme magnitudes gives a right answer or a
clear error, never inf/NaN predictions or an allocator failure."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skml.neural import VAE, AutoEncoder, MLPClassifier, MLPRegressor  # noqa: E402
from skml.neural._base import MAX_WIDTH  # noqa: E402

SMALL = dict(hidden_layer_sizes=(8,), batch_size=16, learning_rate_init=0.01, max_iter=5,
             random_state=0)
SCALED = dict(SMALL, normalize_y=True)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def linear_data():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    return X, X @ np.array([1.0, -2.0, 3.0]) + 0.5


@pytest.mark.parametrize("scale", [1e154, 1e200, 1e300, 1e-300])
def test_regressor_target_scaling_is_exact_at_any_magnitude(scale, linear_data):
    # Standardising y is scale-equivariant: the network trains on the same float32
    # targets, so the predictions are the unscaled fit's times `scale` (the reference).
    X, y = linear_data
    ref = MLPRegressor(**SCALED).fit(X, y).predict(X)
    pred = MLPRegressor(**SCALED).fit(X, y * scale).predict(X)
    assert np.all(np.isfinite(pred))
    np.testing.assert_allclose(pred, ref * scale, rtol=1e-5)


def test_regressor_multi_output_with_one_huge_and_one_constant_target(linear_data):
    X, y = linear_data
    # equivariance per column: the same fit as on (y, 1), each column rescaled
    Y = np.column_stack([y * 1e250, np.full_like(y, 7e-300)])
    pred = MLPRegressor(**SCALED).fit(X, Y).predict(X)
    assert np.all(np.isfinite(pred))
    ref = MLPRegressor(**SCALED).fit(X, np.column_stack([y, np.ones_like(y)])).predict(X)
    np.testing.assert_allclose(pred, ref * [1e250, 7e-300], rtol=1e-5)


def test_targets_beyond_float32_come_back_in_float64(linear_data):
    X, y = linear_data
    reg = MLPRegressor(**SCALED).fit(X.astype(np.float32), y * 1e100)
    pred = reg.predict(X.astype(np.float32))
    assert pred.dtype == np.float64 and np.all(np.isfinite(pred))
    small = MLPRegressor(**SCALED).fit(X.astype(np.float32), y)
    assert small.predict(X.astype(np.float32)).dtype == np.float32


def test_unscaled_targets_too_large_for_float32_are_refused(linear_data):
    X, y = linear_data
    with pytest.raises(ValueError, match="normalize_y=True"):
        MLPRegressor(**SMALL, normalize_y=False).fit(X, y * 1e154)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor, AutoEncoder, VAE])
def test_inputs_beyond_float32_are_refused_at_fit_and_predict(cls, linear_data):
    X, y = linear_data
    target = y > 0 if cls is MLPClassifier else y
    est = cls(max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="beyond the float32 range"):
        est.fit(X * 1e160, target)
    est.fit(X, target)
    method = est.predict if hasattr(est, "predict") else est.transform
    with pytest.raises(ValueError, match="beyond the float32 range"):
        method(X * 1e300)


def test_network_overflow_at_predict_is_an_error_not_nan(linear_data):
    X, y = linear_data
    clf = MLPClassifier(**SMALL).fit(X, y > 0)
    with torch.no_grad():  # a first layer that sums the features: 3 * 3e38 overflows
        clf.module_[0].weight.fill_(1.0)
    big = np.full((2, 3), 3e38)
    with pytest.raises(ValueError, match="non-finite values .* for 2 of 2 samples"):
        clf.predict_proba(big)
    assert clf.predict(X).shape == (len(X),)  # ordinary rows still work


@pytest.mark.parametrize("cls, params", [
    (MLPClassifier, {"hidden_layer_sizes": (2**31,)}),
    (MLPRegressor, {"hidden_layer_sizes": (10, 2**31)}),
    (AutoEncoder, {"n_components": 2**31}),
    (VAE, {"n_components": 2**31}),
    (AutoEncoder, {"decoder_layer_sizes": (2**40,)}),
])
def test_layer_widths_have_an_upper_bound(cls, params, linear_data):
    X, y = linear_data
    with pytest.raises(ValueError, match=rf"must be in \[1, {MAX_WIDTH}\]"):
        cls(**params, max_iter=1).fit(X, y > 0)


@pytest.mark.parametrize("cls, params", [
    (MLPClassifier, {"hidden_layer_sizes": (2**30, 2**30)}),
    (AutoEncoder, {"hidden_layer_sizes": (2**31 - 1,), "n_components": 2**31 - 1}),
    (VAE, {"hidden_layer_sizes": (2**31 - 1, 2**31 - 1)}),
])
def test_networks_too_large_for_memory_are_refused_before_allocation(cls, params,
                                                                     linear_data):
    X, y = linear_data
    with pytest.raises(ValueError, match="reduce the layer sizes"):
        cls(**params, max_iter=1).fit(X, y > 0)


def test_vae_sample_count_too_large_for_memory(linear_data):
    X, _ = linear_data
    vae = VAE(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="sample\\(n_samples=1099511627776\\) needs"):
        vae.sample(2**40)


# ---------------------------------------------------------------- property-based

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from skml.neural.mlp import target_scaling  # noqa: E402


@settings(max_examples=50, deadline=None)
@given(exponent=st.integers(-300, 300), offset=st.floats(-1e3, 1e3),
       seed=st.integers(0, 2**16), n=st.integers(1, 12), n_out=st.integers(1, 3))
def test_target_scaling_reconstructs_y_without_overflow(exponent, offset, seed, n, n_out):
    rng = np.random.RandomState(seed)
    Y = (rng.randn(n, n_out) + offset) * 10.0**exponent
    norm, shift, unit = target_scaling(Y, True)
    with np.errstate(all="raise"):  # no overflow anywhere, whatever the magnitude
        T = (Y / norm - shift) / unit
        back = norm * (shift + unit * T)
    assert np.all(np.isfinite(T)) and np.all(np.isfinite(back))
    np.testing.assert_allclose(back, Y, rtol=1e-9, atol=0)
    varying = (Y / np.abs(Y).max(0)).std(0) > 1e-12
    np.testing.assert_allclose(T.mean(0), 0.0, atol=1e-9)
    np.testing.assert_allclose(T.std(0)[varying], 1.0, rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(x_exp=st.integers(-20, 60), y_exp=st.integers(-300, 300), seed=st.integers(0, 99))
def test_any_finite_magnitude_gives_finite_predictions_or_a_clear_error(x_exp, y_exp, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(20, 2) * 10.0**x_exp
    y = rng.randn(20) * 10.0**y_exp
    try:
        reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, batch_size=10,
                           normalize_y=True, random_state=0).fit(X, y)
        pred = reg.predict(X)
    except ValueError as exc:
        assert any(text in str(exc) for text in (
            "beyond the float32 range", "diverged", "non-finite values")), exc
    else:
        assert np.all(np.isfinite(pred))
