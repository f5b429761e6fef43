"""Demo section: Gaussian-process posterior samples with the 2-sigma band, logistic
regression by Newton/BFGS/L-BFGS, the lasso path, and kernel regression."""
import numpy as np

from skml.utils._timing import median_time

ORDER = 50
TITLE = "Linear models, Gaussian processes and kernel regression"


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def _gp(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.gaussian_process import GaussianProcessRegressor as SkGP
    from sklearn.gaussian_process import kernels as skk

    from skml.gaussian_process import GaussianProcessRegressor
    from skml.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    rng = np.random.RandomState(3)
    X = np.sort(rng.uniform(0, 10, 12 if quick else 15))[:, None]
    y = np.sin(X[:, 0]) + 0.5 * np.sin(2.5 * X[:, 0]) + 0.1 * rng.randn(X.shape[0])
    grid = np.linspace(-1, 11, 150 if quick else 300)[:, None]

    kernel = ConstantKernel(1.0) * RBF(1.0) + WhiteKernel(0.1)
    gp = GaussianProcessRegressor(kernel, n_restarts_optimizer=2 if quick else 5,
                                  random_state=0)
    # draws of the latent function f: the smooth part of the kernel, without the noise term
    prior = GaussianProcessRegressor(ConstantKernel(1.0) * RBF(1.0)).sample_y(
        grid, n_samples=5, random_state=1)
    gp.fit(X, y)
    noise = gp.kernel_.k2.noise_level
    latent = GaussianProcessRegressor(gp.kernel_.k1, alpha=noise, optimizer=None).fit(X, y)
    mean, std = latent.predict(grid, return_std=True)
    post = latent.sample_y(grid, n_samples=5, random_state=2)

    # the same fitted hyper-parameters in scikit-learn (optimizer=None on both sides)
    c, ls, _ = np.exp(gp.kernel_.theta)
    sk_gp = SkGP(skk.ConstantKernel(c) * skk.RBF(ls) + skk.WhiteKernel(noise),
                 optimizer=None).fit(X, y)
    ours = GaussianProcessRegressor(gp.kernel_, optimizer=None).fit(X, y)
    m_sk, s_sk = sk_gp.predict(grid, return_std=True)
    m_me, s_me = ours.predict(grid, return_std=True)

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    axes[0].plot(grid[:, 0], prior, lw=1)
    axes[0].fill_between(grid[:, 0], -2.0, 2.0, color="0.85", label="prior ±2σ")
    axes[0].set_title("Prior draws (before fit)")
    axes[0].legend(loc="lower left")
    axes[1].fill_between(grid[:, 0], mean - 2 * std, mean + 2 * std, color="tab:blue",
                         alpha=0.2, label="posterior mean ±2σ")
    axes[1].plot(grid[:, 0], post, lw=0.8, alpha=0.8)
    axes[1].plot(grid[:, 0], mean, color="tab:blue", lw=2, label="posterior mean")
    axes[1].scatter(X[:, 0], y, color="black", zorder=5, label="observations")
    axes[1].set_title("Posterior draws given the observations")
    axes[1].legend(loc="lower left", fontsize=8)
    for ax in axes:
        ax.set_xlabel("x")
    report.figure(fig, "gp_posterior_samples",
                  "Gaussian process: draws from the prior (left) and from the posterior "
                  "with the mean and ±2σ band (right). The band narrows at the observations "
                  "and widens away from them.")
    report.text(
        "`skml.gaussian_process.GaussianProcessRegressor` with the kernel "
        "`ConstantKernel * RBF + WhiteKernel`, hyper-parameters fitted by maximising the "
        f"log marginal likelihood (L-BFGS with restarts): "
        f"`{gp.kernel_}`, log marginal likelihood "
        f"{gp.log_marginal_likelihood_value_:.3f}. The plots show the latent function: "
        "the smooth part of the kernel, with the fitted noise level as `alpha`. With "
        "these hyper-parameters fixed, "
        "scikit-learn's GP gives the same posterior: max |mean difference| "
        f"{np.abs(m_me - m_sk).max():.1e}, max |std difference| "
        f"{np.abs(s_me - s_sk).max():.1e}."
    )


def _logistic(report, quick):
    from sklearn import linear_model as sk
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.preprocessing import StandardScaler

    from skml.linear_model import LogisticRegression

    rows = []
    sets = [("breast_cancer (standardised)", load_breast_cancer),
            ("digits (pixels / 16)", load_digits)]
    for name, loader in sets[:1] if quick else sets:
        X, y = loader(return_X_y=True)
        X = StandardScaler().fit_transform(X) if loader is load_breast_cancer else X / 16.0
        ref = sk.LogisticRegression(tol=1e-10, max_iter=10_000).fit(X, y)
        for solver in ("newton-cholesky", "bfgs", "lbfgs"):
            sec, clf = median_time(lambda: LogisticRegression(
                solver=solver, tol=1e-8, max_iter=3000).fit(X, y), 1 if quick else 3)
            ms = sec * 1e3
            rows.append((name, solver, int(clf.n_iter_[0]), f"{ms:.0f}",
                         f"{_rel(clf.coef_, ref.coef_):.1e}", f"{clf.score(X, y):.4f}"))
    report.text(
        "Logistic regression (notes, Definition 3.1) on scikit-learn's objective, by "
        "Newton's method with the exact Hessian and step halving, by skml's own BFGS with a "
        "strong-Wolfe line search, and by L-BFGS (scipy). All three reach the optimum that "
        "scikit-learn's L-BFGS finds (tolerance 1e-8 here); Newton needs a handful of "
        "iterations where the quasi-Newton methods need hundreds. Times: medians of repeated "
        "fits after a warm-up."
    )
    report.table(["data", "solver", "iterations", "ms", "coef rel. diff vs sklearn",
                  "train accuracy"], rows)


def _lasso(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    from skml.linear_model import lasso_path

    data = load_diabetes()
    X = StandardScaler().fit_transform(data.data)
    y = data.target - data.target.mean()
    alphas, coefs, _ = lasso_path(X, y, alphas=50 if quick else 100)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, c in zip(data.feature_names, coefs):
        ax.plot(np.log10(alphas), c, label=name)
    ax.invert_xaxis()
    ax.set_xlabel("log10(alpha)")
    ax.set_ylabel("coefficient")
    ax.set_title("Lasso path on diabetes (standardised)")
    ax.legend(fontsize=7, ncol=2)
    report.figure(fig, "lasso_path_diabetes",
                  "Lasso coefficients along the path (coordinate descent, warm starts): "
                  "features enter one by one as the L1 penalty weakens.")


def _kernel_regression(report, quick):
    import matplotlib.pyplot as plt

    from skml.kernel_methods import KernelRegression

    rng = np.random.RandomState(0)
    X = np.sort(rng.uniform(0, 6, 120 if quick else 200))[:, None]
    y = np.sin(X[:, 0]) + 0.3 * rng.randn(X.shape[0])
    grid = np.linspace(0, 6, 300)[:, None]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].scatter(X[:, 0], y, s=8, color="0.6", label="data")
    rows = []
    for kernel in ("rbf", "laplace", "linear"):
        reg = KernelRegression(kernel).fit(X, y)
        axes[0].plot(grid[:, 0], reg.predict(grid), lw=1.5,
                     label=f"{kernel} (h = {reg.bandwidth_:.2f})")
        axes[1].semilogx(reg.loo_bandwidths_, reg.loo_mse_, label=kernel)
        mse = float(np.mean((reg.predict(grid) - np.sin(grid[:, 0])) ** 2))
        rows.append((kernel, reg.bandwidth_, float(reg.loo_mse_.min()), mse))
    axes[0].plot(grid[:, 0], np.sin(grid[:, 0]), "k--", lw=1, label="sin(x)")
    axes[0].legend(fontsize=8)
    axes[0].set_title("Nadaraya-Watson fits")
    axes[1].set_xlabel("bandwidth h")
    axes[1].set_ylabel("leave-one-out MSE")
    axes[1].set_title("Bandwidth by leave-one-out")
    axes[1].legend()
    report.figure(fig, "kernel_regression",
                  "Kernel regression (notes, Definition 2.31): the kernel-weighted average of "
                  "the targets, with the bandwidth that minimises the leave-one-out error.")
    report.table(["kernel", "bandwidth", "LOO MSE", "MSE to sin(x)"], rows)


def section(report, quick):
    _gp(report, quick)
    _logistic(report, quick)
    _lasso(report, quick)
    _kernel_regression(report, quick)
