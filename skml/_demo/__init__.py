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


def run_demo(folder=None, quick=False, full=False, progress=True):
    """Run every demo section and write ``report.md`` plus plots into ``folder``.

    ``quick`` shrinks the work (used by the tests); ``full`` lets sections run their longer
    versions. With ``progress``, one line per section goes to stdout as it starts and ends.
    Returns the report's path.
    """
    import matplotlib

    matplotlib.use("Agg")
    report = Report(folder or default_folder(), full=full)
    sections = _sections()
    start = time.perf_counter()
    for i, mod in enumerate(sections, 1):
        report.heading(mod.TITLE)
        missing = [r for r in getattr(mod, "REQUIRES", ()) if importlib.util.find_spec(r) is None]
        if missing:
            report.text(f"Skipped: needs {', '.join(missing)} (`pip install skml[deep]`).")
            if progress:
                print(f"[{i}/{len(sections)}] {mod.TITLE}: skipped (needs "
                      f"{', '.join(missing)})", flush=True)
            continue
        if progress:
            print(f"[{i}/{len(sections)}] {mod.TITLE} ...", end="", flush=True)
        t0 = time.perf_counter()
        mod.section(report, quick)
        took = time.perf_counter() - t0
        report.text(f"_Section time: {took:.1f} s._")
        if progress:
            print(f" {took:.1f} s", flush=True)
    if progress:
        print(f"demo finished in {time.perf_counter() - start:.0f} s", flush=True)
    return report.write("skml demo")
