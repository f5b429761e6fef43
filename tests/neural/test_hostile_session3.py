"""Regression tests of defects found by a hostile review of session 3's PINN options;
each right value comes from NumPy (exact float64 arithmetic) or is analytic."""
import numpy as np
import pytest

pytest.importorskip("torch")

from skml.neural import PINNRegressor  # noqa: E402


def _slope_one(x, u, derivative):
    return derivative(u, x, order=1, dim=0) - 1.0


def _network_inputs(model, X):
    """The coordinates the MLP inside the PINN receives for X (after the box map)."""
    seen = {}
    hook = model.module_.net.register_forward_pre_hook(
        lambda module, args: seen.setdefault("x", args[0].detach().clone()))
    try:
        model.predict(X)
    finally:
        hook.remove()
    return seen["x"].numpy()


@pytest.mark.parametrize("low, high", [(0.1, 0.2), (1e8, 1e8 + 1.0), (0.0, 1e39)])
def test_float64_pinn_maps_its_box_in_float64(low, high):
    # dtype="float64" built the box map (centre, 1 / half width) in float32 and then
    # converted it: (0.1, 0.2) mapped to [-1.0000001, 0.9999999]; (1e8, 1e8 + 1) had a
    # zero float32 width (NaN loss); (0, 1e39) an infinite float32 centre
    model = PINNRegressor(residual=_slope_one, domain=[(low, high)], dtype="float64",
                          hidden_layer_sizes=(4,), n_collocation=20, max_iter=2,
                          random_state=0).fit(None)
    X = np.array([[low], [0.25 * low + 0.75 * high], [high]])
    expected = (X - (low + high) / 2) * (2 / (high - low))  # NumPy float64
    np.testing.assert_allclose(_network_inputs(model, X), expected, rtol=0, atol=1e-14)
    assert np.all(np.isfinite(model.loss_curve_))


def test_float64_pinn_keeps_the_learn_params_guess_exact():
    # the inverse problem's initial guess was rounded to float32 before the conversion
    model = PINNRegressor(residual=lambda x, u, d, k: d(u, x, order=1, dim=0) - k,
                          domain=[(0.0, 1.0)], learn_params={"k": 0.1}, dtype="float64",
                          hidden_layer_sizes=(4,), n_collocation=10, max_iter=1,
                          learning_rate_init=1e-300, random_state=0)
    model.fit(None)
    assert model.params_["k"] == 0.1  # exactly (a float32 start gives 0.10000000149)


def test_pinn_domain_of_overflowing_width_is_refused():
    # (-1e308, 1e308) is finite but its width is not: a NaN "diverged" error came
    # after an epoch instead of the domain check
    with pytest.raises(ValueError, match="finite width"):
        PINNRegressor(residual=_slope_one, domain=[(-1e308, 1e308)], dtype="float64",
                      max_iter=1).fit(None)


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_collocation=100_000), "n_collocation=100000"),
    (dict(n_refine_candidates=100_000, refine_every=1), "n_refine_candidates=100000"),
])
def test_pinn_point_counts_beyond_memory_fail_before_sampling(monkeypatch, kwargs, name):
    # up to 2**31 - 1 points were accepted and NumPy's allocation failed mid-fit; the
    # machine's memory is stood in for by 1 MiB (100000 2-D float64 points: 1.5 MiB)
    import skml.neural._base as base

    monkeypatch.setattr(base, "_memory_bytes", lambda device: 2**20)
    with pytest.raises(ValueError, match=rf"{name} needs about .* GiB, more than"):
        PINNRegressor(residual=_slope_one, domain=[(0.0, 1.0), (0.0, 1.0)],
                      max_iter=1, **kwargs).fit(None)


def test_pinn_partial_fit_with_another_dtype_says_to_call_fit():
    model = PINNRegressor(residual=_slope_one, domain=[(0.0, 1.0)],
                          hidden_layer_sizes=(4,), n_collocation=10, max_iter=1,
                          random_state=0).fit(None)
    model.set_params(dtype="float64")
    with pytest.raises(ValueError, match="call fit with warm_start=False"):
        model.partial_fit(None)
