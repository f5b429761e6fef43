"""Linear models vs scikit-learn: LogisticRegression (skml newton and lbfgs against
sklearn's lbfgs, default tolerances) and the lasso path (``lasso_path``, precompute="auto"
on both sides)."""
import numpy as np

from benchmarks._harness import Case

NAME = "linear"
PEER = "sklearn"

LOGISTIC_SIZE = (100_000, 50)
LASSO_SIZE = (10_000, 500)
QUICK_LOGISTIC_SIZE = (5_000, 20)
QUICK_LASSO_SIZE = (1_000, 50)


def _logistic_data(n, p):
    def make():
        from sklearn.datasets import make_classification

        return make_classification(n_samples=n, n_features=p, n_informative=p // 2,
                                   n_redundant=0, flip_y=0.05, random_state=0)
    return make


def _lasso_data(n, p):
    def make():
        from sklearn.datasets import make_regression

        return make_regression(n_samples=n, n_features=p, n_informative=p // 10,
                               noise=10.0, random_state=0)
    return make


def _log_loss(model, data):
    from sklearn.metrics import log_loss

    X, y = data
    return log_loss(y, model.predict_proba(X))


def _path_objective(result, data):
    """Sum over the path of the lasso objective 1/(2n)||y - Xw||^2 + alpha ||w||_1."""
    alphas, coefs = result[0], result[1]
    X, y = data
    R = y[:, None] - X @ coefs
    return float(np.sum(0.5 * np.mean(R**2, axis=0) + alphas * np.abs(coefs).sum(axis=0)))


def cases(quick):
    from sklearn.linear_model import LogisticRegression as SkLogistic
    from sklearn.linear_model import lasso_path as sk_lasso_path

    from skml.linear_model import LogisticRegression, lasso_path

    n, p = QUICK_LOGISTIC_SIZE if quick else LOGISTIC_SIZE
    for solver in ("newton", "lbfgs"):
        yield Case(
            f"LogisticRegression binary {n}x{p} skml {solver} vs sklearn lbfgs",
            _logistic_data(n, p),
            lambda data, solver=solver: LogisticRegression(solver=solver).fit(*data),
            lambda data: SkLogistic().fit(*data),
            _log_loss,
            "train log-loss",
        )
    n, p = QUICK_LASSO_SIZE if quick else LASSO_SIZE
    yield Case(
        f"lasso_path {n}x{p} (100 alphas)",
        _lasso_data(n, p),
        lambda data: lasso_path(*data),
        lambda data: sk_lasso_path(*data),
        _path_objective,
        "sum of objectives",
    )
