"""Helpers shared by every skml estimator: parameter checks and storage, estimator
discovery, thread counts and chunk sizes for the kernels."""
from skml.utils._chunking import chunk_rows
from skml.utils._docstrings import fill_doc
from skml.utils._init_params import store_init_params
from skml.utils._openmp import effective_n_threads, limit_blas_threads
from skml.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    check_param,
    check_params,
)
from skml.utils._validation import check_sample_weight
from skml.utils.discovery import all_estimators

__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "all_estimators",
    "check_param",
    "check_params",
    "check_sample_weight",
    "chunk_rows",
    "effective_n_threads",
    "fill_doc",
    "limit_blas_threads",
    "store_init_params",
]
