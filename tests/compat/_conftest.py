"""conftest for ``make compat``: scikit-learn's own fixtures, plus a probe recording per
test whether skml's code ran, its outcome and its error."""
import functools
import inspect
import json
import os
from pathlib import Path

import pytest

pytest_plugins = ["sklearn.conftest"]

_CALLS = [0]
_PLAN = json.loads(Path(os.environ["SKML_COMPAT_PLAN"]).read_text())
_LOG = os.environ["SKML_COMPAT_LOG"]


def _count(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _CALLS[0] += 1
        return fn(*args, **kwargs)
    return wrapper


def _install_probe():
    import importlib

    subs = {info["sub"] for info in _PLAN.values()}
    for sub in subs:
        mod = importlib.import_module(f"skml.{sub}")
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if inspect.isclass(obj) and obj.__module__.startswith("skml."):
                for klass in obj.__mro__:
                    if not klass.__module__.startswith("skml."):
                        continue
                    for attr, value in list(vars(klass).items()):
                        if attr.startswith("_") or not inspect.isfunction(value):
                            continue
                        if getattr(value, "__skml_probe__", False):
                            continue
                        wrapped = _count(value)
                        wrapped.__skml_probe__ = True
                        setattr(klass, attr, wrapped)
            elif inspect.isfunction(obj) and obj.__module__.startswith("skml."):
                wrapped = _count(obj)
                wrapped.__skml_probe__ = True
                setattr(mod, name, wrapped)


_install_probe()


def pytest_collection_modifyitems(config, items):
    keep, aside = [], []
    for item in items:
        file = Path(str(item.fspath)).name
        base = item.name.split("[")[0]
        if base in _PLAN.get(file, {}).get("set_aside", {}):
            aside.append(item)
        else:
            keep.append(item)
    for item in aside:
        _write(item, "set aside", False, "")
    items[:] = keep


def _write(item, outcome, ran_skml, message):
    with open(_LOG, "a") as fh:
        fh.write(json.dumps({"file": Path(str(item.fspath)).name, "test": item.name,
                             "outcome": outcome, "skml": ran_skml,
                             "message": message}) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _CALLS[0] = 0
    item._skml_result = None
    yield
    outcome, message = item._skml_result or ("passed", "")
    _write(item, outcome, _CALLS[0] > 0, message)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    rep = (yield).get_result()
    prev = item._skml_result
    if rep.failed and (prev is None or prev[0] != "failed"):
        msg = ""
        if call.excinfo is not None:
            msg = f"{call.excinfo.typename}: {str(call.excinfo.value).splitlines()[0][:200]}" \
                if str(call.excinfo.value) else call.excinfo.typename
        item._skml_result = ("failed", msg)
    elif rep.skipped and prev is None:
        item._skml_result = ("xfailed" if hasattr(rep, "wasxfail") else "skipped", "")
    elif rep.when == "call" and rep.passed and prev is None:
        item._skml_result = ("passed", "")
