# cython: language_level=3
"""What the OpenMP runtime offers, for the Python layer's thread-count choice."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int skml_omp_max_threads(void) { return omp_get_max_threads(); }
    static int skml_omp_enabled(void) { return 1; }
    #else
    static int skml_omp_max_threads(void) { return 1; }
    static int skml_omp_enabled(void) { return 0; }
    #endif
    """
    int skml_omp_max_threads() nogil
    int skml_omp_enabled() nogil


def openmp_max_threads():
    """``omp_get_max_threads()`` (honours OMP_NUM_THREADS); 1 without OpenMP."""
    return skml_omp_max_threads()


def openmp_enabled():
    """Whether the kernels were compiled with OpenMP."""
    return bool(skml_omp_enabled())
