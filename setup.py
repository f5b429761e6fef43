"""Build the Cython kernels: one Extension per ``skml/_kernels/*.pyx``.

OpenMP is used when the compiler supports ``-fopenmp``; otherwise the kernels are
built without it and run single-threaded (``cython.parallel.prange`` degrades to a
plain loop).
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import setup
from setuptools.extension import Extension

HERE = os.path.dirname(os.path.abspath(__file__))


def _compiler_has_openmp():
    """Try to compile and link a tiny OpenMP program with the default C compiler."""
    if os.environ.get("SKML_NO_OPENMP"):
        return False
    if sys.platform == "win32":
        return True  # MSVC: /openmp is always there
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return False
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.c")
        with open(path, "w") as fh:
            fh.write(src)
        res = subprocess.run(
            [cc, "-fopenmp", path, "-o", os.path.join(tmp, "t")],
            capture_output=True,
        )
        return res.returncode == 0


def _extensions():
    has_openmp = _compiler_has_openmp()
    if sys.platform == "win32":
        compile_args, link_args = (["/openmp"] if has_openmp else []), []
    else:
        compile_args = ["-O3"] + (["-fopenmp"] if has_openmp else [])
        link_args = ["-fopenmp"] if has_openmp else []
    if not has_openmp:
        print("skml: compiler lacks OpenMP; kernels will run single-threaded", file=sys.stderr)
    exts = []
    # SKML_ONLY=_kmeans,_tree builds just those kernels (handy while developing one).
    only = {n for n in os.environ.get("SKML_ONLY", "").split(",") if n}
    for pyx in sorted(glob.glob(os.path.join("skml", "_kernels", "*.pyx"))):
        if only and os.path.basename(pyx)[:-4] not in only:
            continue
        name = pyx[:-4].replace(os.sep, ".")
        exts.append(
            Extension(
                name,
                [pyx],
                include_dirs=[np.get_include()],
                extra_compile_args=compile_args,
                extra_link_args=link_args,
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        compile_time_env={"SKML_OPENMP": has_openmp},
    )


setup(ext_modules=_extensions())
