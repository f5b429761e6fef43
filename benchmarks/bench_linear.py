"""Linear models vs scikit-learn: LogisticRegression (skml newton-cholesky and lbfgs
against sklearn's lbfgs, default tolerances), the lasso path (``lasso_path``,
precompute="auto" on both sides), and LogisticRegression on a 200,000 x 100,000 TF-IDF-like
sparse matrix (defaults on both sides)."""
import numpy as np

from benchmarks._harness import Case

NAME = "linear"
PEER = "sklearn"

LOGISTIC_SIZE = (100_000, 50)
LASSO_SIZE = (10_000, 500)
QUICK_LOGISTIC_SIZE = (5_000, 20)
QUICK_LASSO_SIZE = (1_000, 50)
SPARSE_SIZE = (200_000, 100_000)
QUICK_SPARSE_SIZE = (20_000, 20_000)


def tfidf_like(n_train, n_test, n_features, words_per_doc=60, seed=0):
    """A TF-IDF-like CSR matrix (Zipf-distributed terms, L2-normalised rows) and binary
    labels from a sparse linear score plus noise; returns (X_train, y_train, X_test,
    y_test). Shared with bench_svm."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.RandomState(seed)
    n = n_train + n_test
    lengths = rng.poisson(words_per_doc, n).clip(5, None)
    prob = 1.0 / np.arange(1, n_features + 1) ** 1.1
    prob /= prob.sum()
    cols = rng.choice(n_features, size=lengths.sum(), p=prob)
    rows = np.repeat(np.arange(n), lengths)
    counts = rng.geometric(0.6, size=lengths.sum()).astype(np.float64)
    X = sp.csr_matrix((counts, (rows, cols)), shape=(n, n_features))
    X.sum_duplicates()
    df = np.bincount(X.indices, minlength=n_features)
    X = sp.csr_matrix(X @ sp.diags(np.log((1 + n) / (1 + df)) + 1.0))
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1.0 / norms) @ X)
    w = rng.randn(n_features) * (rng.rand(n_features) < 0.05) * 3.0
    score = X @ w
    y = (score + 0.3 * rng.randn(n) > np.median(score)).astype(int)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


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


def _sparse_log_loss(model, data):
    from sklearn.metrics import log_loss

    return log_loss(data[3], model.predict_proba(data[2]))


def _path_objective(result, data):
    """Sum over the path of the lasso objective 1/(2n)||y - Xw||^2 + alpha ||w||_1."""
    alphas, coefs = result[0], result[1]
    X, y = data
    R = y[:, None] - X @ coefs
    return float(np.sum(0.5 * np.mean(R**2, axis=0) + alphas * np.abs(coefs).sum(axis=0)))


def cases(quick):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SkLogistic
    from sklearn.linear_model import lasso_path as sk_lasso_path

    from skml.linear_model import LogisticRegression, lasso_path

    # (scikit-learn's lbfgs stops at max_iter=100 on the sparse case: same defaults here)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    n, p = QUICK_LOGISTIC_SIZE if quick else LOGISTIC_SIZE
    for solver in ("newton-cholesky", "lbfgs"):
        yield Case(
            f"LogisticRegression binary {n}x{p} skml {solver} vs sklearn lbfgs",
            _logistic_data(n, p),
            lambda data, solver=solver: LogisticRegression(solver=solver).fit(*data),
            lambda data: SkLogistic().fit(*data),
            _log_loss,
            "train log-loss",
        )
    n, p = QUICK_SPARSE_SIZE if quick else SPARSE_SIZE
    yield Case(
        f"LogisticRegression sparse TF-IDF-like {n}x{p} (defaults)",
        # n and p bound now: the generator rebinds them for the next case, and the
        # memory child builds the data only after consuming every case
        lambda n=n, p=p: tfidf_like(n, n // 10, p),
        lambda data: LogisticRegression().fit(data[0], data[1]),
        lambda data: SkLogistic().fit(data[0], data[1]),
        _sparse_log_loss,
        "test log-loss",
        repeats=3,
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
