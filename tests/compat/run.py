"""``make compat``: scikit-learn's own unit tests for the estimators skml provides, run
against skml.

For each test file below (as shipped inside the installed scikit-learn), a copy is written
to a temporary folder with the imports of the names skml provides from that file's
subpackage re-pointed to skml (``from sklearn.cluster import KMeans`` becomes ``from
skml.cluster import KMeans``; ``from sklearn import svm`` becomes a module whose attributes
are skml's where skml has them). Then pytest runs the copies with scikit-learn's own
conftest (its fixtures, seeds and markers) and a probe that records, per test, whether
skml's code ran at all.

Tests are *set aside* (not run) when they call sklearn-private API of the subpackage, or a
public sklearn name skml does not provide; each set-aside group is printed with its reason.
Of the tests that ran, those in which skml's code ran are counted passed / failed; failures
are grouped (sparse input, documented differences listed in ``differences.py``, other).
Per-file details go to ``compat_results/<file>.txt`` (one line per failure with its error).

Usage: ``python -m tests.compat.run [-n N] [-k EXPR] [file ...]`` from the checkout root.
"""
import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from importlib import import_module
from pathlib import Path

import sklearn

from tests.compat.differences import DIFFERENCES

# (test file inside sklearn, the subpackage whose names are re-pointed to skml)
# A subpackage named differently in skml is given as "sklearn_name:skml_name".
FILES = [
    ("cluster/tests/test_k_means.py", "cluster"),
    ("neighbors/tests/test_neighbors.py", "neighbors"),
    ("tree/tests/test_tree.py", "tree"),
    ("ensemble/tests/test_forest.py", "ensemble"),
    ("linear_model/tests/test_ridge.py", "linear_model"),
    ("linear_model/tests/test_logistic.py", "linear_model"),
    ("decomposition/tests/test_pca.py", "decomposition"),
    ("svm/tests/test_svm.py", "svm"),
    ("neural_network/tests/test_mlp.py", "neural_network:neural"),
]

# sklearn-private helpers that only compare results (they run no estimator code), so a
# test using them on skml's output still tests skml.
ALLOWED_PRIVATE = {"_is_same_clustering"}

ROOT = Path(__file__).resolve().parents[2]
SKLEARN = Path(sklearn.__file__).resolve().parent


def _skml_names(sub):
    """Public names skml provides in ``skml.<sub>``."""
    try:
        mod = import_module(f"skml.{sub}")
    except ImportError:
        return set()
    return set(getattr(mod, "__all__", ()))


class _Rewriter(ast.NodeTransformer):
    """Re-points imports of ``sklearn.<sub>`` names skml provides; remembers the names a
    test must not use (sklearn-private ones of the subpackage, and public ones skml lacks)."""

    def __init__(self, sub, ours, provided):
        self.sub = sub
        self.ours = ours  # the same subpackage's name in skml
        self.provided = provided
        self.foreign = {}  # local name -> reason a test using it is set aside

    def visit_ImportFrom(self, node):
        mod = node.module or ""
        if node.level:
            return node
        if mod == f"sklearn.{self.sub}":
            ours = [a for a in node.names if a.name in self.provided]
            theirs = [a for a in node.names if a.name not in self.provided]
            for a in theirs:
                self.foreign[a.asname or a.name] = (
                    f"uses sklearn's public `{a.name}`, which skml does not provide")
            out = []
            if ours:
                out.append(ast.ImportFrom(module=f"skml.{self.ours}", names=ours, level=0))
            if theirs:
                out.append(ast.ImportFrom(module=mod, names=theirs, level=0))
            return out
        if mod.startswith(f"sklearn.{self.sub}.") and not mod.startswith(
                f"sklearn.{self.sub}.tests"):
            for a in node.names:
                if a.name not in ALLOWED_PRIVATE:
                    self.foreign[a.asname or a.name] = (
                        f"calls sklearn-private `{mod}.{a.name}`")
            return node
        if mod == "sklearn":
            keep, out = [], []
            for a in node.names:
                if a.name == self.sub:
                    local = a.asname or a.name
                    out.append(ast.parse(
                        f"{local} = __import__('tests.compat._merged', fromlist=['x'])"
                        f".merged({self.sub!r}, {self.ours!r})").body[0])
                else:
                    keep.append(a)
            if keep:
                out.insert(0, ast.ImportFrom(module="sklearn", names=keep, level=0))
            return out
        return node


def _names_used(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def _set_aside(tree, rewriter):
    """{test function name: reason} for tests that use a foreign name, directly or
    through module-level helpers."""
    funcs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    module_level = {}
    for n in tree.body:
        if isinstance(n, ast.Assign):
            for t in n.targets:
                if isinstance(t, ast.Name):
                    module_level[t.id] = n
    reason = {}

    def direct(name, node):
        for used in sorted(_names_used(node)):
            if used in rewriter.foreign:
                return rewriter.foreign[used]
        return None

    for name, node in {**funcs, **module_level}.items():
        r = direct(name, node)
        if r:
            reason[name] = r
    changed = True
    while changed:  # helpers that call helpers that use foreign names
        changed = False
        for name, node in {**funcs, **module_level}.items():
            if name in reason:
                continue
            for used in _names_used(node):
                if used in reason and used != name:
                    reason[name] = reason[used]
                    changed = True
                    break
    return {k: v for k, v in reason.items() if k.startswith("test")}


def prepare(tmp, files):
    plan = {}
    for rel, spec in files:
        sub, _, ours = spec.partition(":")
        ours = ours or sub
        src = (SKLEARN / rel).read_text()
        tree = ast.parse(src)
        rewriter = _Rewriter(sub, ours, _skml_names(ours))
        tree = ast.fix_missing_locations(rewriter.visit(tree))
        name = Path(rel).name
        (tmp / name).write_text(ast.unparse(tree) + "\n")
        plan[name] = {"sub": ours, "set_aside": _set_aside(tree, rewriter)}
    (tmp / "plan.json").write_text(json.dumps(plan))
    shutil.copy(Path(__file__).with_name("_conftest.py"), tmp / "conftest.py")
    return plan


def _failure_group(file, test, message):
    base = test.split("[")[0]
    for key in (test, base):
        if key in DIFFERENCES.get(file, {}):
            return "documented difference: " + DIFFERENCES[file][key]
    low = message.lower()
    if "has no attribute '_" in message:
        return "reads a sklearn-private attribute"
    if "sparse" in low:
        return "sparse input (issue 14)"
    return "other"


def report(plan, records, out_dir):
    out_dir.mkdir(exist_ok=True)
    rows = []
    for file, info in plan.items():
        # one record per test (xdist workers each report the set-aside ones)
        recs = list({r["test"]: r for r in records if r["file"] == file}.values())
        skipped = [r for r in recs if r["outcome"] in ("skipped", "xfailed")]
        live = [r for r in recs if r["outcome"] in ("passed", "failed")]
        ran = [r for r in live if r["skml"]]
        idle = [r for r in live if not r["skml"]]
        outcome = Counter(r["outcome"] for r in ran)
        groups = Counter()
        lines = []
        for r in ran:
            if r["outcome"] == "failed":
                g = _failure_group(file, r["test"], r["message"])
                groups[g] += 1
                lines.append(f"FAILED [{g}] {r['test']}: {r['message']}")
        aside = Counter(info["set_aside"].values())
        n_aside = sum(1 for r in recs if r["outcome"] == "set aside")
        passed, failed = outcome["passed"], outcome["failed"]
        rate = passed / (passed + failed) if passed + failed else float("nan")
        rows.append((file, passed, failed, len(skipped),
                     len(idle), n_aside, rate, groups, aside))
        with open(out_dir / f"{file[:-3]}.txt", "w") as fh:
            fh.write("\n".join(sorted(lines)) + "\n")
            fh.write("\nset aside:\n" + "\n".join(
                f"  {t}: {why}" for t, why in sorted(info["set_aside"].items())) + "\n")
            fh.write("\nran without touching skml:\n" + "\n".join(
                f"  {r['test']} ({r['outcome']})" for r in idle) + "\n")
    print("\n(passed/failed: tests in which skml's code ran; 'no skml code ran': tests that "
          "passed or failed without calling skml)")
    print("\n| file | passed | failed | skipped | no skml code ran | set aside | pass rate |")
    print("|---|---|---|---|---|---|---|")
    for file, p, f, s, idle, aside, rate, _, _ in rows:
        print(f"| {file} | {p} | {f} | {s} | {idle} | {aside} | {rate:.1%} |")
    print("\nFailures by group, and set-aside groups with their reasons:")
    for file, *_, groups, aside in rows:
        print(f"\n{file}")
        for g, n in groups.most_common():
            print(f"  failed, {g}: {n}")
        for why, n in aside.most_common():
            print(f"  set aside ({n} test functions): {why}")
    print(f"\nPer-file details in {out_dir}/")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.compat.run")
    parser.add_argument("files", nargs="*", help="file names to run (default: all)")
    parser.add_argument("-n", default="auto", help="pytest-xdist workers")
    parser.add_argument("-k", default=None, help="pytest -k expression")
    parser.add_argument("--out", default=str(ROOT / "compat_results"))
    args = parser.parse_args(argv)
    files = [(rel, sub) for rel, sub in FILES
             if not args.files or Path(rel).name in args.files
             or Path(rel).stem in args.files]
    with tempfile.TemporaryDirectory(prefix="skml_compat_") as tmp:
        tmp = Path(tmp)
        plan = prepare(tmp, files)
        log = tmp / "records.jsonl"
        # SKLEARN_RUN_FLOAT32_TESTS: sklearn's float32 parametrisations run against skml too
        env = dict(os.environ, SKML_COMPAT_LOG=str(log), SKML_COMPAT_PLAN=str(tmp / "plan.json"),
                   SKLEARN_RUN_FLOAT32_TESTS="1",
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rN",
               "--no-header", "-o", "addopts=", "-W", "ignore", str(tmp)]
        if args.n not in ("0", "1"):
            cmd[3:3] = ["-n", args.n]
        if args.k:
            cmd += ["-k", args.k]
        subprocess.run(cmd, cwd=tmp, env=env, stdout=subprocess.DEVNULL)
        records = [json.loads(line) for line in log.read_text().splitlines()] \
            if log.exists() else []
        report(plan, records, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
