"""Chunk sizes for kernels that work through the data a block of rows at a time."""
from sklearn import get_config

__all__ = ["chunk_rows"]


def chunk_rows(n_rows, n_threads, bytes_per_row, *, preferred=256, working_memory=None):
    """Rows per chunk: at most ``preferred`` (a cache-sized block), small enough that the
    ``n_threads`` per-thread buffers fit ``working_memory`` MiB (sklearn's
    ``working_memory`` config by default), and small enough that every thread gets a chunk
    when there is work for them all. Always >= 1."""
    if working_memory is None:
        working_memory = get_config()["working_memory"]
    budget = int(working_memory * 2**20) // max(1, n_threads)
    by_memory = max(1, budget // max(1, bytes_per_row))
    by_threads = max(1, -(-n_rows // max(1, n_threads)))
    return max(1, min(preferred, by_memory, by_threads))
