"""Import + pass pipeline time per fixture and for a 1.5 M-parameter CNV, and golden
model throughput.  Prints a table; asserts nothing (numbers go to the README).

    .venv/bin/python bench/bench_frontend.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gen"))
sys.path.insert(0, str(ROOT / "bench"))

import archgen  # noqa: E402
from archgen.frontend import load_model  # noqa: E402
from archgen.passes import run_pipeline  # noqa: E402
from models import cnv, parameters  # noqa: E402


def best_of(fn, n=3):
    times = []
    out = None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def row(name, path, x):
    t_imp, src = best_of(lambda: load_model(path))
    t_pass, g = best_of(lambda: run_pipeline(src, archgen.Config()))
    model = archgen.load(path)
    reps = max(1, 1000 // len(x))
    xs = np.concatenate([x] * reps)[:1000]
    t_gold, _ = best_of(lambda: model.golden(xs))
    units = sum(1 for n in g.nodes if type(n.op).__module__.startswith("archgen.units"))
    print(f"| {name:22s} | {t_imp * 1e3:8.1f} | {t_pass * 1e3:8.1f} | {units:5d} | "
          f"{len(xs):5d} | {t_gold * 1e3:8.1f} | {len(xs) / t_gold:10.0f} |")


def main():
    print("| model                  | import ms | passes ms | units | batch | golden ms | samples/s  |")
    print("|------------------------|----------:|----------:|------:|------:|----------:|-----------:|")
    for path in sorted((ROOT / "tests" / "fixtures").glob("*.onnx")):
        x = np.load(path.with_suffix(".npz"))["x"]
        row(path.stem, path, x)
    with tempfile.TemporaryDirectory() as d:
        for wb, ab in ((1, 1), (2, 2)):
            m = cnv(wb, ab)
            p = Path(d) / f"cnv_w{wb}a{ab}.onnx"
            onnx.save(m, p)
            x = np.random.default_rng(0).uniform(-1, 1, size=(100, 3, 32, 32))
            row(f"cnv_w{wb}a{ab} ({parameters(m) / 1e6:.2f}M)", p, x)


if __name__ == "__main__":
    main()
