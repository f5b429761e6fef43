"""GaussianProcessRegressor and its kernels against scikit-learn's, finite differences
and the defining properties of the posterior."""
import pickle

import numpy as np
import pytest
from scipy import linalg
from sklearn.base import clone
from sklearn.gaussian_process import GaussianProcessRegressor as SkGP
from sklearn.gaussian_process import kernels as skk
from sklearn.model_selection import GridSearchCV

from skml.gaussian_process import GaussianProcessRegressor
from skml.gaussian_process import kernels as k

PAIRS = {
    "rbf": (lambda: k.RBF(0.7), lambda: skk.RBF(0.7)),
    "rbf-aniso": (lambda: k.RBF([0.5, 1.0, 2.0]), lambda: skk.RBF([0.5, 1.0, 2.0])),
    "laplace": (lambda: k.Laplace(0.8), lambda: skk.Matern(0.8, nu=0.5)),
    "laplace-aniso": (lambda: k.Laplace([0.8, 1.0, 3.0]),
                      lambda: skk.Matern([0.8, 1.0, 3.0], nu=0.5)),
    "linear+white": (lambda: k.Linear(1.0) + k.WhiteKernel(0.5),
                     lambda: skk.DotProduct(1.0) + skk.WhiteKernel(0.5)),
    "scaled-rbf+white": (lambda: 2.0 * k.RBF(0.5) + k.WhiteKernel(0.1),
                         lambda: skk.ConstantKernel(2.0) * skk.RBF(0.5) + skk.WhiteKernel(0.1)),
    "rbf*linear": (lambda: k.ConstantKernel(1.5) * k.RBF(1.0) * k.Linear(0.3),
                   lambda: skk.ConstantKernel(1.5) * skk.RBF(1.0) * skk.DotProduct(0.3)),
    "matern-1.5": (lambda: k.Matern(0.7, nu=1.5), lambda: skk.Matern(0.7, nu=1.5)),
    "matern-2.5-aniso": (lambda: k.Matern([0.5, 1.0, 2.0], nu=2.5),
                         lambda: skk.Matern([0.5, 1.0, 2.0], nu=2.5)),
    "matern-1.2-aniso": (lambda: k.Matern([0.5, 1.0, 2.0], nu=1.2),
                         lambda: skk.Matern([0.5, 1.0, 2.0], nu=1.2)),
    "matern-inf": (lambda: k.Matern(0.7, nu=np.inf), lambda: skk.Matern(0.7, nu=np.inf)),
    "rational-quadratic": (lambda: k.RationalQuadratic(0.8, alpha=1.7),
                           lambda: skk.RationalQuadratic(0.8, alpha=1.7)),
    "periodic": (lambda: k.ExpSineSquared(0.8, periodicity=1.7),
                 lambda: skk.ExpSineSquared(0.8, periodicity=1.7)),
    "dotproduct+white": (lambda: k.DotProduct(0.5) + k.WhiteKernel(0.2),
                         lambda: skk.DotProduct(0.5) + skk.WhiteKernel(0.2)),
}


SKLEARN_NUMERIC_GRADIENT = {"matern-1.2-aniso"}


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 3)
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.randn(40)
    return X, y, rng.rand(25, 3)


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("normalize_y", [False, True])
def test_predictions_match_sklearn_for_the_same_kernel(data, name, normalize_y):
    X, y, Xt = data
    ours_k, sk_k = PAIRS[name]
    ours = GaussianProcessRegressor(ours_k(), alpha=1e-3, optimizer=None,
                                    normalize_y=normalize_y).fit(X, y)
    ref = SkGP(sk_k(), alpha=1e-3, optimizer=None, normalize_y=normalize_y).fit(X, y)
    m, s = ours.predict(Xt, return_std=True)
    m_sk, s_sk = ref.predict(Xt, return_std=True)
    np.testing.assert_allclose(m, m_sk, atol=1e-6, rtol=0)
    np.testing.assert_allclose(s, s_sk, atol=1e-6, rtol=0)
    _, c = ours.predict(Xt, return_cov=True)
    _, c_sk = ref.predict(Xt, return_cov=True)
    np.testing.assert_allclose(c, c_sk, atol=1e-6, rtol=0)
    theta = ours.kernel_.theta
    np.testing.assert_allclose(theta, ref.kernel_.theta)
    lml, grad = ours.log_marginal_likelihood(theta, eval_gradient=True)
    lml_sk, grad_sk = ref.log_marginal_likelihood(theta, eval_gradient=True)
    assert lml == pytest.approx(lml_sk, rel=1e-10)
    # scikit-learn differentiates Matern numerically for nu not in {0.5, 1.5, 2.5, inf}
    # (skml analytically: checked against finite differences below)
    rtol = 5e-3 if name in SKLEARN_NUMERIC_GRADIENT else 1e-7
    np.testing.assert_allclose(grad, grad_sk, rtol=rtol, atol=1e-9)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_kernel_gradients_match_finite_differences(data, name):
    X = data[0][:12]
    kern = PAIRS[name][0]()
    K, G = kern(X, eval_gradient=True)
    assert G.shape == (12, 12, kern.n_dims)
    np.testing.assert_allclose(K, kern.clone_with_theta(kern.theta)(X))
    np.testing.assert_allclose(np.diag(K), kern.diag(X))
    eps = 1e-6
    for j in range(kern.n_dims):
        t = kern.theta.copy()
        t[j] += eps
        up = kern.clone_with_theta(t)(X)
        t[j] -= 2 * eps
        down = kern.clone_with_theta(t)(X)
        np.testing.assert_allclose(G[:, :, j], (up - down) / (2 * eps), atol=1e-6)


@pytest.mark.parametrize("name", ["rbf", "laplace", "scaled-rbf+white", "linear+white"])
def test_fitted_hyperparameters_match_sklearn(data, name):
    X, y, Xt = data
    ours_k, sk_k = PAIRS[name]
    ours = GaussianProcessRegressor(ours_k(), alpha=1e-3).fit(X, y)
    ref = SkGP(sk_k(), alpha=1e-3).fit(X, y)
    assert ours.log_marginal_likelihood_value_ == pytest.approx(
        ref.log_marginal_likelihood_value_, abs=1e-5)
    np.testing.assert_allclose(ours.kernel_.theta, ref.kernel_.theta, atol=1e-3)
    assert ours.kernel.theta == pytest.approx(ours_k().theta)  # the argument is untouched


def test_restarts_never_make_the_likelihood_worse(data):
    X, y, _ = data
    kern = k.ConstantKernel(1.0) * k.RBF(10.0) + k.WhiteKernel(1.0)
    one = GaussianProcessRegressor(kern, random_state=0).fit(X, y)
    many = GaussianProcessRegressor(kern, n_restarts_optimizer=4, random_state=0).fit(X, y)
    assert many.log_marginal_likelihood_value_ >= one.log_marginal_likelihood_value_ - 1e-9
    assert many.log_marginal_likelihood_value_ == pytest.approx(
        many.log_marginal_likelihood(many.kernel_.theta))


def test_posterior_interpolates_and_samples_follow_it():
    X = np.linspace(0, 5, 7)[:, None]
    y = np.sin(X[:, 0])
    gp = GaussianProcessRegressor(k.RBF(1.0), optimizer=None).fit(X, y)
    m, s = gp.predict(X, return_std=True)
    np.testing.assert_allclose(m, y, atol=1e-6)
    assert np.all(s < 1e-3)
    Xs = np.linspace(0, 5, 40)[:, None]
    draws = gp.sample_y(Xs, n_samples=3000, random_state=0)
    assert draws.shape == (40, 3000)
    mean, std = gp.predict(Xs, return_std=True)
    np.testing.assert_allclose(draws.mean(axis=1), mean, atol=4 * std.max() / np.sqrt(3000) + 1e-3)
    np.testing.assert_allclose(draws.std(axis=1), std, atol=0.05 * std.max() + 1e-3)
    assert np.array_equal(gp.sample_y(Xs, 2, random_state=1), gp.sample_y(Xs, 2, random_state=1))


def test_prior_before_fit():
    gp = GaussianProcessRegressor(2.0 * k.RBF(0.5))
    Xs = np.linspace(0, 1, 30)[:, None]
    m, s = gp.predict(Xs, return_std=True)
    np.testing.assert_array_equal(m, 0.0)
    np.testing.assert_allclose(s, np.sqrt(2.0))
    _, c = gp.predict(Xs, return_cov=True)
    np.testing.assert_allclose(c, 2.0 * np.exp(-((Xs - Xs.T) ** 2) / (2 * 0.25)))
    draws = gp.sample_y(Xs, n_samples=5)
    assert draws.shape == (30, 5)


def test_multi_target(data):
    X, y, Xt = data
    Y = np.column_stack([y, 2 * y + 1])
    ours = GaussianProcessRegressor(k.RBF(0.7), alpha=1e-2, optimizer=None,
                                    normalize_y=True).fit(X, Y)
    ref = SkGP(skk.RBF(0.7), alpha=1e-2, optimizer=None, normalize_y=True).fit(X, Y)
    m, s = ours.predict(Xt, return_std=True)
    m_sk, s_sk = ref.predict(Xt, return_std=True)
    assert m.shape == s.shape == (25, 2)
    np.testing.assert_allclose(m, m_sk, atol=1e-6)
    np.testing.assert_allclose(s, s_sk, atol=1e-6)
    assert ours.sample_y(Xt, 4).shape == (25, 2, 4)


def test_kernel_algebra_params_and_bounds():
    kern = 2.0 * k.RBF(0.5, length_scale_bounds="fixed") + k.WhiteKernel(0.1)
    assert isinstance(kern, k.Sum) and isinstance(kern.k1, k.Product)
    assert isinstance(kern.k1.k1, k.ConstantKernel)
    assert kern.n_dims == 2  # the constant and the noise; the length scale is fixed
    np.testing.assert_allclose(kern.theta, np.log([2.0, 0.1]))
    np.testing.assert_allclose(kern.bounds, np.log([[1e-5, 1e5], [1e-5, 1e5]]))
    params = kern.get_params()
    assert params["k1__k2__length_scale"] == 0.5
    kern.set_params(k1__k2__length_scale=0.25)
    assert kern.k1.k2.length_scale == 0.25
    assert k.Linear(sigma_0=0.0).n_dims == 0  # x^T y exactly: nothing to fit in log space
    assert k.RBF(1.0) == k.RBF(1.0) and k.RBF(1.0) != k.RBF(2.0)
    with pytest.raises(ValueError, match="Invalid parameter"):
        kern.set_params(nope=1)


def test_clone_pickle_and_grid_search_over_kernel_parameters(data):
    X, y, Xt = data
    gp = GaussianProcessRegressor(k.RBF(1.0) + k.WhiteKernel(0.1), optimizer=None)
    assert clone(gp).kernel == gp.kernel and clone(gp).kernel is not gp.kernel
    search = GridSearchCV(gp, {"kernel__k1__length_scale": [0.1, 0.5, 2.0]}, cv=3).fit(X, y)
    assert search.best_params_["kernel__k1__length_scale"] in (0.1, 0.5, 2.0)
    fitted = gp.fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(Xt), fitted.predict(Xt))


def test_singular_kernel_matrix_gives_a_clear_error():
    X = np.random.RandomState(0).rand(10, 2)
    gp = GaussianProcessRegressor(k.Linear(sigma_0=0.0), alpha=0.0, optimizer=None)
    with pytest.raises(linalg.LinAlgError, match="not positive definite.*alpha"):
        gp.fit(X, X[:, 0])
    with pytest.raises(RuntimeError, match="At most one"):
        GaussianProcessRegressor().fit(X, X[:, 0]).predict(X, return_std=True, return_cov=True)
    with pytest.raises(TypeError, match="kernel must be"):
        GaussianProcessRegressor(kernel="rbf").fit(X, X[:, 0])


# ---- regressions (issue 11) -------------------------------------------------------------

@pytest.mark.parametrize("normalize_y", [False, True])
def test_one_target_as_a_column_predicts_like_sklearn(data, normalize_y):
    """y of shape (n, 1): predict gives (n,), std (n,), cov (n, n) and sample_y
    (n_test, n_samples), as scikit-learn (same values for the same fixed kernel)."""
    X, y, Xt = data
    params = dict(kernel=k.RBF(0.7), optimizer=None, normalize_y=normalize_y)
    ours = GaussianProcessRegressor(**params).fit(X, y[:, None])
    ref = SkGP(kernel=skk.RBF(0.7), optimizer=None, normalize_y=normalize_y).fit(X, y[:, None])
    mean, std = ours.predict(Xt, return_std=True)
    ref_mean, ref_std = ref.predict(Xt, return_std=True)
    assert mean.shape == std.shape == ref_mean.shape == (Xt.shape[0],)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(std, ref_std, rtol=1e-6, atol=1e-8)
    _, cov = ours.predict(Xt, return_cov=True)
    np.testing.assert_allclose(cov, ref.predict(Xt, return_cov=True)[1], rtol=1e-6,
                               atol=1e-10)
    assert ours.sample_y(Xt, 3).shape == ref.sample_y(Xt, 3).shape == (Xt.shape[0], 3)
    # the same as fitting the flat y
    flat = GaussianProcessRegressor(**params).fit(X, y)
    np.testing.assert_allclose(flat.predict(Xt), mean, rtol=1e-12)


def test_integer_targets_are_fitted_as_floats(data):
    X, y, Xt = data
    y_int = np.round(5 * y).astype(np.int64)
    ours = GaussianProcessRegressor(k.RBF(0.7), optimizer=None).fit(X, y_int)
    ref = GaussianProcessRegressor(k.RBF(0.7), optimizer=None).fit(X, y_int.astype(float))
    np.testing.assert_array_equal(ours.predict(Xt), ref.predict(Xt))


@pytest.mark.parametrize("params, match", [
    (dict(n_restarts_optimizer=-1), "n_restarts_optimizer must be in"),
    (dict(n_restarts_optimizer=2**63), "n_restarts_optimizer must fit in a 64-bit"),
    (dict(alpha=-1.0), "alpha must be"),
    (dict(optimizer="adam"), "optimizer must be"),
    (dict(n_targets=0), "n_targets must be"),
])
def test_out_of_range_parameters_are_clear_errors(data, params, match):
    X, y, _ = data
    with pytest.raises(ValueError, match=match):
        GaussianProcessRegressor(**params).fit(X, y)


# ---- drop-in items (issue 13) ---------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PAIRS))
def test_kernel_values_and_gradients_equal_sklearns(data, name):
    X, _, Xt = data
    ours, ref = PAIRS[name][0](), PAIRS[name][1]()
    np.testing.assert_allclose(ours.theta, ref.theta)
    np.testing.assert_allclose(ours.bounds, ref.bounds)
    np.testing.assert_allclose(ours(X, Xt), ref(X, Xt), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.diag(X), ref.diag(X), rtol=1e-12)
    K, G = ours(X[:15], eval_gradient=True)
    K_ref, G_ref = ref(X[:15], eval_gradient=True)
    np.testing.assert_allclose(K, K_ref, rtol=1e-12, atol=1e-14)
    atol = 1e-4 if name in SKLEARN_NUMERIC_GRADIENT else 1e-12
    np.testing.assert_allclose(G, G_ref, rtol=1e-9, atol=atol)


@pytest.mark.parametrize("name", ["matern-2.5-aniso", "rational-quadratic", "periodic"])
def test_fitted_hyperparameters_of_the_new_kernels_match_sklearn(data, name):
    X, y, Xt = data
    ours = GaussianProcessRegressor(PAIRS[name][0](), alpha=1e-2).fit(X, y)
    ref = SkGP(PAIRS[name][1](), alpha=1e-2).fit(X, y)
    assert ours.log_marginal_likelihood_value_ == pytest.approx(
        ref.log_marginal_likelihood_value_, abs=1e-4)
    np.testing.assert_allclose(ours.predict(Xt), ref.predict(Xt), atol=1e-3)


def test_sklearn_kernel_objects_are_accepted(data):
    X, y, Xt = data
    kern = skk.ConstantKernel(1.0) * skk.Matern(0.7, nu=2.5) + skk.WhiteKernel(0.1)
    ours = GaussianProcessRegressor(kern, n_restarts_optimizer=2, random_state=0).fit(X, y)
    ref = SkGP(kern, n_restarts_optimizer=2, random_state=0).fit(X, y)
    assert type(ours.kernel_) is type(ref.kernel_) and ours.kernel_ is not kern
    assert ours.log_marginal_likelihood_value_ == pytest.approx(
        ref.log_marginal_likelihood_value_, abs=1e-5)
    m, s = ours.predict(Xt, return_std=True)
    m_ref, s_ref = ref.predict(Xt, return_std=True)
    np.testing.assert_allclose(m, m_ref, atol=1e-5)
    np.testing.assert_allclose(s, s_ref, atol=1e-5)
    assert kern.get_params()["k1__k1__constant_value"] == 1.0  # never modified


def test_default_kernel_is_sklearns_fitted_constant_times_rbf(data):
    X, y, Xt = data
    ours = GaussianProcessRegressor().fit(X, y)
    ref = SkGP().fit(X, y)
    np.testing.assert_allclose(ours.kernel_.theta, ref.kernel_.theta, atol=1e-3)
    assert ours.kernel_.n_dims == 2
    np.testing.assert_allclose(ours.predict(Xt), ref.predict(Xt), atol=1e-4)
    # the prior of an unfitted model: the fixed ConstantKernel(1) * RBF(1), as sklearn
    np.testing.assert_allclose(GaussianProcessRegressor().predict(Xt, return_std=True)[1],
                               SkGP().predict(Xt, return_std=True)[1])


def test_clone_kernel_false_sets_theta_on_the_fitted_kernel(data):
    X, y, _ = data
    gp = GaussianProcessRegressor(k.RBF(0.7), optimizer=None).fit(X, y)
    theta = np.log([2.0])
    copy = gp.log_marginal_likelihood(theta, clone_kernel=True)
    assert gp.kernel_.theta == pytest.approx(np.log(0.7))
    inplace = gp.log_marginal_likelihood(theta, clone_kernel=False)
    assert inplace == pytest.approx(copy)
    assert gp.kernel_.theta == pytest.approx(theta)  # scikit-learn's meaning


def test_verbose_shows_the_optimiser_runs(data, capsys):
    X, y, _ = data
    GaussianProcessRegressor(k.RBF(1.0), n_restarts_optimizer=2, random_state=0).fit(X, y)
    assert capsys.readouterr().err == ""
    GaussianProcessRegressor(k.RBF(1.0), n_restarts_optimizer=2, random_state=0,
                             verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "optimiser runs" in err and "3/3" in err


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("kern", [k.RBF(1.0), k.RBF([1.0, 2.0, 0.5]), k.Laplace([1.0, 2.0, 0.5]),
                                  k.Matern(1.0, nu=2.5), k.Matern([1.0, 2.0, 0.5], nu=1.7),
                                  k.RationalQuadratic(1.0, 2.0)],
                         ids=lambda kern: repr(kern))
def test_kernels_at_overflowing_distances_have_their_limits(data, kern):
    """Points 1e160 apart: squared distances overflow to inf; the decaying kernels are 0
    there and so are their gradients (not NaN from 0 * inf), and the GP fits."""
    X = data[0] * 1e160
    K, G = kern(X, eval_gradient=True)
    np.testing.assert_array_equal(K, np.eye(len(X)))
    np.testing.assert_array_equal(G, 0.0)
    gp = GaussianProcessRegressor(kern, alpha=1e-2).fit(X, data[1])
    np.testing.assert_allclose(gp.predict(X), data[1] / (1 + 1e-2 / kern.diag(X[:1])[0]),
                               rtol=1e-10)
