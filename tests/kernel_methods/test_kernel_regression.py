"""KernelRegression against a brute-force NumPy Nadaraya-Watson and leave-one-out."""
import numpy as np
import pytest

from skml.kernel_methods import KernelRegression


def reference_weights(Xq, X, kernel, h):
    d = np.sqrt(((Xq[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    if kernel == "rbf":
        return np.exp(-(d**2) / (2 * h * h))
    if kernel == "laplace":
        return np.exp(-d / h)
    return np.maximum(1 - d / h, 0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 6, (150, 2))
    y = np.sin(X[:, 0]) + 0.5 * np.cos(X[:, 1]) + 0.1 * rng.randn(150)
    return X, y, rng.uniform(0, 6, (60, 2))


@pytest.mark.parametrize("kernel", ["rbf", "laplace", "linear"])
def test_matches_brute_force_weighted_average(data, kernel):
    X, y, Xt = data
    h = 0.9
    W = reference_weights(Xt, X, kernel, h)
    expected = W @ y / W.sum(axis=1)
    reg = KernelRegression(kernel, bandwidth=h).fit(X, y)
    np.testing.assert_allclose(reg.predict(Xt), expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kernel", ["rbf", "laplace", "linear"])
def test_leave_one_out_picks_the_best_candidate(data, kernel):
    X, y, Xt = data
    reg = KernelRegression(kernel, n_bandwidths=12).fit(X, y)
    errors = []
    for h in reg.loo_bandwidths_:
        W = reference_weights(X, X, kernel, h)
        np.fill_diagonal(W, 0.0)
        empty = W.sum(axis=1) == 0
        if empty.any():  # linear kernel: nearest other point
            d = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
            np.fill_diagonal(d, np.inf)
            W[empty] = (d[empty] <= d[empty].min(axis=1, keepdims=True)).astype(float)
        errors.append(np.mean((W @ y / W.sum(axis=1) - y) ** 2))
    np.testing.assert_allclose(reg.loo_mse_, errors, rtol=1e-6)
    assert reg.bandwidth_ == reg.loo_bandwidths_[int(np.argmin(errors))]
    # and it generalises: far better than predicting the mean
    truth = np.sin(Xt[:, 0]) + 0.5 * np.cos(Xt[:, 1])
    mse = np.mean((reg.predict(Xt) - truth) ** 2)
    assert mse < 0.2 * np.var(truth)


def test_tiny_bandwidth_is_nearest_neighbour_and_huge_is_the_mean(data):
    X, y, Xt = data
    nearest = np.argmin(((Xt[:, None] - X[None]) ** 2).sum(-1), axis=1)
    for kernel in ("rbf", "laplace", "linear"):
        small = KernelRegression(kernel, bandwidth=1e-6).fit(X, y).predict(Xt)
        np.testing.assert_allclose(small, y[nearest], atol=1e-8)
    big = KernelRegression("rbf", bandwidth=1e6).fit(X, y).predict(Xt)
    np.testing.assert_allclose(big, y.mean(), atol=1e-6)


def test_multi_output_and_bad_parameters(data):
    X, y, Xt = data
    Y = np.column_stack([y, -y])
    pred = KernelRegression(bandwidth=0.5).fit(X, Y).predict(Xt)
    assert pred.shape == (60, 2)
    np.testing.assert_allclose(pred[:, 0], -pred[:, 1])
    with pytest.raises(ValueError, match="kernel"):
        KernelRegression("poly").fit(X, y)
    with pytest.raises(ValueError, match="bandwidth"):
        KernelRegression(bandwidth=0.0).fit(X, y)


# ---- regressions (issue 11) -------------------------------------------------------------

def test_changing_the_kernel_after_fit_does_not_change_predictions(data):
    X, y, Xt = data
    reg = KernelRegression(kernel="laplace", bandwidth=0.5).fit(X, y)
    before = reg.predict(Xt)
    reg.set_params(kernel="linear", bandwidth=5.0)
    np.testing.assert_array_equal(reg.predict(Xt), before)


@pytest.mark.parametrize("scale", [1e160, 1e-160])
@pytest.mark.parametrize("kernel", ["rbf", "laplace", "linear"])
def test_predictions_do_not_depend_on_the_units_of_x(data, scale, kernel):
    """Nadaraya-Watson with a bandwidth chosen from the data is unit-free: on X * scale
    it predicts what it predicts on X (squared distances would over/underflow there)."""
    X, y, Xt = data
    ref = KernelRegression(kernel=kernel).fit(X, y)
    ours = KernelRegression(kernel=kernel).fit(X * scale, y)
    np.testing.assert_allclose(ours.predict(Xt * scale), ref.predict(Xt), rtol=1e-9)
    assert ours.bandwidth_ == pytest.approx(ref.bandwidth_ * scale, rel=1e-9)
    fixed = KernelRegression(kernel=kernel, bandwidth=0.7 * scale).fit(X * scale, y)
    W = reference_weights(Xt, X, kernel, 0.7)
    np.testing.assert_allclose(fixed.predict(Xt * scale), W @ y / W.sum(axis=1), rtol=1e-9)
