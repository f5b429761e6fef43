"""Shared data for the neural tests (each test module that needs torch skips without it)."""
import pytest


@pytest.fixture(scope="session")
def digits_split():
    """Digits pixels in [0, 1], split 75/25 (stratified)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="session")
def blobs():
    """A small, easy 3-class problem for tests of the training loop itself."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=120, n_features=5, centers=3, random_state=0)
    return (X - X.mean(0)) / X.std(0), y


@pytest.fixture(scope="session")
def regression():
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
    return X, y

