"""Chunk sizes for kernels that work through the data a block of rows at a time."""
import os

from sklearn import get_config

__all__ = ["chunk_rows"]


def chunk_rows(bytes_per_row, *, preferred=256, working_memory=None):
    """Rows per chunk: at most ``preferred`` (a cache-sized block) and small enough that one
    buffer per CPU fits ``working_memory`` MiB (sklearn's ``working_memory`` config by
    default). Always >= 1.

    The size deliberately ignores ``n_jobs``: a row's result then never depends on how many
    threads ran (BLAS may round differently for blocks of other shapes), so outputs are the
    same for any ``n_jobs``.
    """
    if working_memory is None:
        working_memory = get_config()["working_memory"]
    budget = int(working_memory * 2**20) // (os.cpu_count() or 1)
    by_memory = budget // max(1, bytes_per_row)
    return int(max(1, min(preferred, by_memory)))
