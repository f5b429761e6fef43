"""Helpers shared by every skml estimator: parameter checks, estimator discovery, thread
counts and chunk sizes for the kernels."""
from skml.utils._chunking import chunk_rows
from skml.utils._openmp import effective_n_threads, limit_blas_threads
from skml.utils._param_validation import check_param
from skml.utils.discovery import all_estimators

__all__ = [
    "all_estimators",
    "check_param",
    "chunk_rows",
    "effective_n_threads",
    "limit_blas_threads",
]
