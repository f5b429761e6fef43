"""Thread counts for the OpenMP kernels and BLAS limits inside them."""
import numbers
import os

from threadpoolctl import ThreadpoolController

__all__ = ["effective_n_threads", "limit_blas_threads"]

_controller = None


def effective_n_threads(n_jobs=None):
    """Number of OpenMP threads for ``n_jobs`` (joblib's convention).

    ``None`` means every core OpenMP offers (``OMP_NUM_THREADS`` is honoured), ``-1`` all
    CPUs, ``-2`` all but one, and so on.
    """
    from skml._kernels._openmp_helpers import openmp_max_threads

    if n_jobs is None:
        return max(1, openmp_max_threads())
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be an int or None, got {n_jobs!r}.")
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs must not be 0; use None, a positive count or -1 for all CPUs.")
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


def limit_blas_threads():
    """Context manager: BLAS runs single-threaded inside it.

    Kernels that call BLAS from their OpenMP threads use it: two nested thread pools would
    oversubscribe the cores, and a multi-threaded BLAS can round differently from a
    single-threaded one, which would make results depend on ``n_jobs``."""
    global _controller
    if _controller is None:
        import scipy.linalg.cython_blas  # noqa: F401  (load scipy's BLAS before the scan)

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
