"""``python -m skml bench``: run the ``benchmarks/`` folder of a source checkout."""
import sys
from pathlib import Path

__all__ = ["run_benchmarks"]


def _benchmarks_root():
    import skml

    for root in (Path(skml.__file__).resolve().parents[1], Path.cwd()):
        if (root / "benchmarks" / "_harness.py").is_file():
            return root
    raise SystemExit("benchmarks/ not found: run `python -m skml bench` from a source "
                     "checkout of skml (the benchmarks are not part of the installed package).")


def run_benchmarks(names=(), quick=False):
    """Run the named benchmark modules (all when empty), print tables, write JSON."""
    root = str(_benchmarks_root())
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks._harness import main

    return main(names, quick=quick)
