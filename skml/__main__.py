"""``python -m skml info|demo`` (and ``bench``, which says how to run the benchmarks of a
source checkout)."""
import argparse
import sys


def info():
    """Print versions, the OpenMP thread count, BLAS and whether torch is importable."""
    import importlib.util
    import platform

    import numpy
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    import skml
    from skml._kernels._openmp_helpers import openmp_enabled, openmp_max_threads

    print(f"skml        {skml.__version__}")
    print(f"python      {platform.python_version()} ({sys.executable})")
    print(f"numpy       {numpy.__version__}")
    print(f"scipy       {scipy.__version__}")
    print(f"sklearn     {sklearn.__version__}")
    print(f"openmp      {'yes' if openmp_enabled() else 'no'}, "
          f"{openmp_max_threads()} threads")
    import scipy.linalg.cython_blas  # noqa: F401  (load scipy's BLAS so it is listed)

    for lib in threadpool_info():
        if lib["user_api"] == "blas":
            print(f"blas        {lib['internal_api']} {lib.get('version')} "
                  f"{lib['num_threads']} threads ({lib['filepath']})")
    if importlib.util.find_spec("torch") is None:
        print("torch       not installed (pip install skml[deep] for skml.neural)")
    else:
        import torch

        print(f"torch       {torch.__version__}, cuda available: {torch.cuda.is_available()}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m skml")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="versions, threads, BLAS, torch")
    demo = sub.add_parser("demo", help="fit a tour of skml and write a report folder")
    demo.add_argument("--out", default=None, help="report folder (default ./skml_demo_report)")
    demo.add_argument("--quick", action="store_true", help="smaller data, for a smoke test")
    demo.add_argument("--full", action="store_true",
                      help="run the longer versions of the sections (several minutes)")
    sub.add_parser("bench", help="how to run the benchmarks (a source-checkout tool)")
    args = parser.parse_args(argv)

    if args.command == "info":
        info()
    elif args.command == "demo":
        from skml._demo import run_demo

        path = run_demo(args.out, quick=args.quick, full=args.full)
        print(f"skml demo report written to {path}")
    else:
        # The benchmarks live in the source checkout, not in the installed package: the
        # package never reaches outside itself for them.
        print("The benchmarks are part of skml's source checkout, not of the installed "
              "package: from the checkout's root run `make bench` (or `python -m benchmarks "
              "[--quick] [bench_name ...]`).")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
