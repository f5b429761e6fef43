"""Shared data for the neural tests (each test module that needs torch skips without it)."""
import importlib.util

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Run the neural tests with one intra-op torch thread, restored afterwards.

    The networks here are tiny: a second intra-op thread only adds synchronisation, and on
    a loaded 2-core machine (CI, or other jobs running beside the tests) each parallel
    region can wait a scheduler time slice for its helper thread, making these tests 10x
    slower. The library itself never changes torch's thread settings.
    """
    if importlib.util.find_spec("torch") is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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

