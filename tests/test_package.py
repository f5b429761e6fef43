"""The package's own promises: lazy imports, no torch on import, the CLI, the helpers."""
import numbers
import subprocess
import sys
from pathlib import Path

import pytest

import skml
from skml.utils import check_param, chunk_rows, effective_n_threads


def test_import_skml_does_not_import_torch_or_subpackages():
    code = ("import sys, skml; import skml.metrics; "
            "print('torch' in sys.modules, 'skml.neural' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_lazy_subpackage_access_and_unknown_attribute():
    assert skml.metrics.pairwise_distances is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        skml.nothing_here  # noqa: B018
    assert "metrics" in dir(skml)


def test_info_prints_versions_threads_blas_and_torch():
    out = subprocess.run([sys.executable, "-m", "skml", "info"], capture_output=True,
                         text=True, check=True).stdout
    for word in ("skml", "numpy", "sklearn", "openmp", "blas", "torch"):
        assert word in out


def test_demo_writes_a_report_with_plots(tmp_path):
    out = subprocess.run([sys.executable, "-m", "skml", "demo", "--quick", "--out",
                          str(tmp_path)], capture_output=True, text=True, check=True).stdout
    report = tmp_path / "report.md"
    assert str(report) in out
    # one progress line per section as it runs (the demo is never silent for minutes)
    import skml._demo as demo

    n = len(demo._sections())
    assert sum(line.startswith("[") and f"/{n}]" in line for line in out.splitlines()) == n
    text = report.read_text()
    assert "## Pairwise distances" in text
    pngs = list(tmp_path.glob("*.png"))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)
    for png in pngs:
        assert f"({png.name})" in text


ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_prints_a_table(tmp_path):
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "bench_pairwise"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "| case | skml s | sklearn s | ratio |" in out
    assert "argmin_min euclidean" in out


def test_bench_unknown_name_is_refused():
    res = subprocess.run([sys.executable, "-m", "benchmarks", "bench_nope"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode != 0 and "unknown benchmark" in res.stderr


def test_installed_package_never_reaches_into_the_checkout(tmp_path):
    # `python -m skml bench` only says where the benchmarks are; neither it nor
    # all_estimators() puts the checkout on sys.path or imports the benchmarks.
    res = subprocess.run([sys.executable, "-m", "skml", "bench"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert res.returncode == 2 and "make bench" in res.stdout
    code = ("import sys, skml.utils; n = len(sys.path); skml.utils.all_estimators(); "
            "print(len(sys.path) == n, any(m.startswith('benchmarks') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout.split()
    assert out == ["True", "False"]


def test_every_public_name_imports():
    # `from skml import *` and every subpackage's __all__ must import
    code = ("import importlib, skml\n"
            "from skml import *\n"
            "for sub in skml.__all__[1:]:\n"
            "    mod = importlib.import_module('skml.' + sub)\n"
            "    for name in getattr(mod, '__all__', []):\n"
            "        getattr(mod, name)\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_check_param_messages():
    assert check_param(3, "n", types=(numbers.Integral,), min_val=1) == 3
    with pytest.raises(TypeError, match="n must be int, got 'a' of type str"):
        check_param("a", "n", types=(numbers.Integral,))
    with pytest.raises(TypeError, match="n must be int, got True"):
        check_param(True, "n", types=(numbers.Integral,))
    with pytest.raises(ValueError, match=r"tol must be in \(0, inf\], got 0"):
        check_param(0, "tol", types=(numbers.Real,), min_val=0, closed="right")
    with pytest.raises(ValueError, match=r"frac must be in \[0, 1\), got 1"):
        check_param(1, "frac", types=(numbers.Real,), min_val=0, max_val=1, closed="left")
    with pytest.raises(ValueError, match="init must be one of \\['k-means\\+\\+', 'random'\\]"):
        check_param("kmeans", "init", options=("random", "k-means++"))
    with pytest.raises(ValueError, match="lr must not be NaN"):
        check_param(float("nan"), "lr", types=(numbers.Real,))


def test_effective_n_threads():
    import os

    assert effective_n_threads(3) == 3
    assert effective_n_threads(-1) == os.cpu_count()
    assert effective_n_threads(None) >= 1
    with pytest.raises(ValueError, match="n_jobs must not be 0"):
        effective_n_threads(0)
    with pytest.raises(TypeError, match="n_jobs must be an int"):
        effective_n_threads(1.5)


def test_chunk_rows_respects_preference_and_memory():
    assert chunk_rows(8, preferred=256) == 256
    assert chunk_rows(2**40, preferred=256) == 1
    assert 1 <= chunk_rows(2**20, preferred=256, working_memory=1) <= 256


def test_readme_example_runs():
    """The README's example is what users copy first: it must run as written."""
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    assert blocks, "README.md has no python example"
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102
    search, model = namespace["search"], namespace["model"]
    assert search.best_params_["kneighborsclassifier__n_neighbors"] in (1, 3, 5)
    assert model.score(namespace["X"], namespace["y"]) > 0.95


def test_demo_tables_escape_pipes_in_cells(tmp_path):
    from skml._demo._report import Report

    report = Report(tmp_path)
    report.table(["a|b", "c"], [["x|y", 1.0]])
    text = report.write("t").read_text()
    assert "| a\\|b | c |" in text and "| x\\|y | 1 |" in text


def test_time_side_by_side_times_each_side_in_its_own_block():
    from skml.utils._timing import time_side_by_side

    calls = []
    t_a, t_b, r_a, r_b = time_side_by_side(lambda: calls.append("a") or 1,
                                           lambda: calls.append("b") or 2, repeats=3)
    # warm-up of both, then a's block after its own warm-up, then b's
    assert calls == ["b", "a", "a", "a", "a", "b", "b", "b", "b"]
    assert (r_a, r_b) == (1, 2) and t_a >= 0 and t_b >= 0


def test_median_time_warms_up_then_takes_the_median_of_the_repeats():
    from skml.utils._timing import median_time

    durations = iter([0.0, 0.5, 0.0, 0.05])  # warm-up, then three timed calls
    calls = []

    def fn():
        import time
        time.sleep(next(durations))
        calls.append(1)
        return len(calls)

    sec, result = median_time(fn, repeats=3)
    assert len(calls) == 4 and result == 4
    assert 0.05 <= sec < 0.5  # the median of the 0.5, 0 and 0.05 s calls
