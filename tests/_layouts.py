"""Memory layouts native kernels must accept: the same values as a C-ordered,
Fortran-ordered, strided (non-contiguous in both axes) or read-only array."""
import numpy as np

LAYOUTS = ("C", "F", "strided", "readonly")


def as_layout(A, kind):
    """``A``'s values in the memory layout ``kind`` (one of :data:`LAYOUTS`)."""
    if kind == "C":
        return np.ascontiguousarray(A)
    if kind == "F":
        return np.asfortranarray(A)
    if kind == "strided":
        steps = (2,) + (3,) * (A.ndim - 1)
        big = np.zeros(tuple(n * k for n, k in zip(A.shape, steps)), dtype=A.dtype)
        view = big[tuple(slice(None, None, k) for k in steps)]
        view[...] = A
        return view
    if kind == "readonly":
        ro = np.array(A)
        ro.setflags(write=False)
        return ro
    raise ValueError(f"unknown layout {kind!r}; expected one of {LAYOUTS}")
