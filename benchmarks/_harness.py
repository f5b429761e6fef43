"""Side-by-side benchmark harness: skml and its peer on the same data in one process.

A benchmark module in this folder (``bench_*.py``) defines ``NAME``, ``PEER`` and
``cases(quick)`` yielding :class:`Case` objects. For each case the harness builds the data
once, warms each side up and times its repeats in a block of its own, and reports median times, the
``skml / peer`` ratio and a quality figure for each side. Peak memory of each side is
measured in a fresh child process per side (its max RSS), so one side's allocations never
count against the other.
"""
import dataclasses
import functools
import importlib
import json
import os
import pkgutil
import resource
import subprocess
import sys
from pathlib import Path
from typing import Callable

from skml.utils._timing import time_side_by_side

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


@dataclasses.dataclass
class Case:
    label: str
    make_data: Callable[[], object]
    skml: Callable[[object], object]
    peer: Callable[[object], object]
    quality: Callable[[object, object], float]  # (result, data) -> number
    quality_name: str = "quality"
    repeats: int = 5


def value_quality(value, data):
    """The quality of a side that returns its quality figure itself (a final loss)."""
    return float(value)


def one_torch_thread(fn):
    """``fn`` run on one torch thread, the count restored after: both sides of a deep
    benchmark (what skml's ``n_jobs=None`` picks for networks this small; on a shared
    machine more threads only add contention noise)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(before)
    return run


def torch_minibatch_loop(make_module, loss_fn, lr, batch_size, epochs, device):
    """The plain PyTorch loop a user writes for a module, the peer of a deep estimator:
    Adam at ``lr`` over seeded shuffled mini-batches for ``epochs`` passes, on one torch
    thread. Returns ``fit(data)`` (``data = (X_train, _, y_train, _)``) giving the
    module ``make_module(X_train, y_train)`` trained and in eval mode."""
    import torch

    @one_torch_thread
    def fit(data):
        Xtr, _, ytr, _ = data
        torch.manual_seed(0)
        model = make_module(Xtr, ytr).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        X = torch.as_tensor(Xtr, dtype=torch.float32, device=device)
        y = torch.as_tensor(ytr, device=device)
        n = len(X)
        gen = torch.Generator().manual_seed(0)
        model.train()
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen).to(device)
            for start in range(0, n, batch_size):
                idx = perm[start:start + batch_size]
                loss = loss_fn(model(X[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return model.eval()
    return fit


def run_case(case, quick):
    data = case.make_data()
    repeats = 1 if quick else case.repeats
    # each side in its own block after its own warm-up (see time_side_by_side)
    med_s, med_p, r_skml, r_peer = time_side_by_side(
        lambda: case.skml(data), lambda: case.peer(data), repeats)
    return {
        "case": case.label,
        "skml_s": med_s,
        "peer_s": med_p,
        "ratio": med_s / med_p,
        "quality_name": case.quality_name,
        "skml_quality": float(case.quality(r_skml, data)),
        "peer_quality": float(case.quality(r_peer, data)),
        "repeats": repeats,
    }


def _peak_rss_mib(module_name, index, side, quick):
    """Run one side of one case once in a child process; its max RSS in MiB."""
    cmd = [sys.executable, "-m", "benchmarks._harness", "--child", module_name, str(index),
           side, "1" if quick else "0"]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(HERE.parent) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _child(module_name, index, side, quick):
    """Peak RSS (MiB) of one call, in a fresh process. On Linux the high-water mark is
    reset once the data exists (so it counts imports + data + the call, never the parent
    process, whose ru_maxrss a child can inherit)."""
    mod = importlib.import_module(f"benchmarks.{module_name}")
    case = list(mod.cases(quick))[index]
    data = case.make_data()
    status = Path("/proc/self/status")
    if status.exists():
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM
        except OSError:
            pass
    getattr(case, side)(data)
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                print(int(line.split()[1]) / 1024.0)
                return
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)


def run_module(module_name, quick=False, memory=True):
    mod = importlib.import_module(f"benchmarks.{module_name}")
    rows = []
    for i, case in enumerate(mod.cases(quick)):
        row = run_case(case, quick)
        if memory:
            row["skml_peak_mib"] = _peak_rss_mib(module_name, i, "skml", quick)
            row["peer_peak_mib"] = _peak_rss_mib(module_name, i, "peer", quick)
        rows.append(row)
        print(format_row(row, mod.PEER), flush=True)
    RESULTS.mkdir(exist_ok=True)
    payload = {"benchmark": mod.NAME, "peer": mod.PEER, "quick": quick,
               "threads": os.cpu_count(), "rows": rows}
    (RESULTS / f"{mod.NAME}.json").write_text(json.dumps(payload, indent=2))
    return rows


HEADER = ("| case | skml s | {peer} s | ratio | quality | skml | {peer} | skml MiB | {peer} MiB |\n"
          "|---|---|---|---|---|---|---|---|---|")


def format_row(row, peer):
    return (f"| {row['case']} | {row['skml_s']:.4f} | {row['peer_s']:.4f} | "
            f"{row['ratio']:.2f} | {row['quality_name']} | {row['skml_quality']:.6g} | "
            f"{row['peer_quality']:.6g} | {row.get('skml_peak_mib', float('nan')):.0f} | "
            f"{row.get('peer_peak_mib', float('nan')):.0f} |")


def available():
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)])
                  if m.name.startswith("bench_"))


def main(names=(), quick=False):
    names = list(names) or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; available: {available()}")
    for name in names:
        mod = importlib.import_module(f"benchmarks.{name}")
        print(f"\n## {mod.NAME} (peer: {mod.PEER})\n")
        print(HEADER.format(peer=mod.PEER), flush=True)
        run_module(name, quick=quick)
    print(f"\nresults written to {RESULTS}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1")
    else:
        sys.exit(main(sys.argv[1:]))
