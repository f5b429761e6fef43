"""Kernel and linear SVMs vs scikit-learn (libsvm / liblinear): fit time, held-out quality.

The headline case is SVC(rbf) fitted on 10,000 x 20: both libraries solve the same dual by
SMO to the same tolerance, so the held-out accuracies should agree and the ratio measures
the solver (kernel rows, cache, shrinking, working-set selection).
"""
import numpy as np

from benchmarks._harness import Case
from benchmarks.bench_linear import tfidf_like

NAME = "svm"
PEER = "sklearn"


def _classification(n_train, n_test, d, n_classes=2):
    def make():
        from sklearn.datasets import make_classification
        from sklearn.preprocessing import StandardScaler

        X, y = make_classification(n_samples=n_train + n_test, n_features=d,
                                   n_informative=min(d, 10), n_classes=n_classes,
                                   flip_y=0.05, random_state=0)
        X = StandardScaler().fit_transform(X)
        return X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    return make


def _regression(n_train, n_test, d):
    def make():
        from sklearn.datasets import make_friedman1
        from sklearn.preprocessing import StandardScaler

        X, y = make_friedman1(n_samples=n_train + n_test, n_features=d, noise=0.5,
                              random_state=0)
        X = StandardScaler().fit_transform(X)
        return X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    return make


def _fit(factory):
    def run(data):
        X, y, _, _ = data
        return factory().fit(X, y)
    return run


def _accuracy(model, data):
    _, _, X_test, y_test = data
    return 100.0 * float(np.mean(model.predict(X_test) == y_test))


def _r2(model, data):
    _, _, X_test, y_test = data
    return float(model.score(X_test, y_test))


def cases(quick):
    import warnings

    from sklearn import svm as sk_svm
    from sklearn.exceptions import ConvergenceWarning

    from skml import svm

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    n = 1000 if quick else 10000
    yield Case(f"SVC rbf fit {n}x20, 2 classes", _classification(n, n // 4, 20),
               _fit(svm.SVC), _fit(sk_svm.SVC), _accuracy, "test accuracy %", repeats=3)
    n = 600 if quick else 5000
    yield Case(f"SVC rbf fit {n}x20, 5 classes (one-vs-one)",
               _classification(n, n // 4, 20, n_classes=5),
               _fit(svm.SVC), _fit(sk_svm.SVC), _accuracy, "test accuracy %", repeats=3)
    n = 1000 if quick else 4000
    yield Case(f"SVR rbf fit {n}x10, C=10", _regression(n, n // 4, 10),
               _fit(lambda: svm.SVR(C=10.0)), _fit(lambda: sk_svm.SVR(C=10.0)), _r2,
               "test R^2", repeats=3)
    n = 5000 if quick else 100000
    yield Case(f"LinearSVC fit {n}x50", _classification(n, n // 4, 50),
               _fit(svm.LinearSVC), _fit(sk_svm.LinearSVC), _accuracy, "test accuracy %",
               repeats=3)
    n, p = (20_000, 20_000) if quick else (200_000, 100_000)
    yield Case(f"LinearSVC fit sparse TF-IDF-like {n}x{p}",
               lambda: tfidf_like(n, n // 10, p),
               _fit(svm.LinearSVC), _fit(sk_svm.LinearSVC), _accuracy, "test accuracy %",
               repeats=3)
