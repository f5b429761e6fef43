"""``python -m skml demo``: fit a tour of the package on bundled data and write a report.

Each model family adds one module here defining ``ORDER`` (position in the report),
``TITLE``, optionally ``REQUIRES`` (import names it needs, e.g. ``("torch",)``) and
``section(report, quick)``. Modules are found automatically.
"""
import importlib
import importlib.util
import pkgutil
import time

from skml._demo._report import Report, default_folder

__all__ = ["run_demo"]


def _sections():
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return sorted(mods, key=lambda m: m.ORDER)


def run_demo(folder=None, quick=False):
    """Run every demo section and write ``report.md`` plus plots into ``folder``.

    ``quick`` shrinks the work (used by the tests). Returns the report's path.
    """
    import matplotlib

    matplotlib.use("Agg")
    report = Report(folder or default_folder())
    for mod in _sections():
        report.heading(mod.TITLE)
        missing = [r for r in getattr(mod, "REQUIRES", ()) if importlib.util.find_spec(r) is None]
        if missing:
            report.text(f"Skipped: needs {', '.join(missing)} (`pip install skml[deep]`).")
            continue
        t0 = time.perf_counter()
        mod.section(report, quick)
        report.text(f"_Section time: {time.perf_counter() - t0:.1f} s._")
    return report.write("skml demo")
