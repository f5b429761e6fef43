# cython: language_level=3
"""Random numbers for the kernels: splitmix64 (Steele, Lea & Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014). Inline only, so no extension module is
built for this file.

A generator is one ``uint64_t`` state, seeded by the Python layer (from ``random_state``)
and advanced in place; every function takes a pointer to it and runs without the GIL.
One state per independent stream (per tree, per thread), never shared between threads.

    cdef uint64_t state = seed
    j = rand_int(&state, n)              # uniform in [0, n)
    t = rand_uniform(&state, lo, hi)     # uniform in [lo, hi)
"""
from libc.stdint cimport uint64_t

cimport numpy as cnp


cdef inline uint64_t rand_u64(uint64_t* state) noexcept nogil:
    """The next 64 random bits (splitmix64: add the golden-ratio increment, mix)."""
    cdef uint64_t z
    state[0] += 0x9E3779B97F4A7C15ULL
    z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline cnp.intp_t rand_int(uint64_t* state, cnp.intp_t end) noexcept nogil:
    """Uniform integer in [0, end); ``end`` >= 1. (The modulo bias is below 2**-40 for any
    ``end`` < 2**24, and below end / 2**64 in general.)"""
    return <cnp.intp_t>(rand_u64(state) % <uint64_t>end)


cdef inline double rand_uniform(uint64_t* state, double low, double high) noexcept nogil:
    """Uniform double in [low, high) (``low`` when ``high <= low``), from the top 53 bits.
    Written as a convex combination so that ``high - low`` never overflows."""
    cdef double u = <double>(rand_u64(state) >> 11) * (1.0 / 9007199254740992.0)
    cdef double r = low * (1.0 - u) + high * u
    if r >= high:                    # rounding of the combination
        return low
    return r if r >= low else low
