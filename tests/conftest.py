"""Settings shared by the whole suite."""
import importlib.util

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Run the tests with one intra-op torch thread, restored afterwards.

    The networks in the tests are tiny: a second intra-op thread only adds
    synchronisation, and on a loaded 2-core machine (CI running pytest-xdist workers, or
    other jobs beside the tests) each parallel region can wait a scheduler time slice for
    its helper thread, making neural tests ~10x slower. Torch is imported here only if it
    is installed; the library itself never changes torch's thread settings.
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
