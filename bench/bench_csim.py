"""C simulation of the HLS backend: g++ build time (cold cache) and run time per fixture,
side by side with hls4ml's compile() + predict() on the same QONNX MLP.  Prints tables;
asserts nothing (numbers go to the README).

    .venv/bin/python bench/bench_csim.py            # every fixture, all 32 stored inputs
    .venv/bin/python bench/bench_csim.py mlp_w6a6   # some fixtures only

Build: ``csim.build`` of tb/tb.cpp + firmware/<top>.cpp (g++ -O2) in an empty build cache;
csim run: ``csim.csim_project`` on the fixture's inputs (golden model for the expected codes,
files, the testbench, comparison), the build then cached; testbench: the C++ process alone
(frames/s from it).  Side by side, archgen's run is the testbench and hls4ml's is predict().
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gen"))

import archgen  # noqa: E402
from archgen import csim  # noqa: E402
from archgen.backends.hardware import plan  # noqa: E402
from archgen.project import write_project  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SKIP = ("mlp_w6a6_nobias", "mlp_w6a6_matmul")  # the same MLP as mlp_w6a6
HLS4ML_MODEL = "mlp_w6a6"


def archgen_row(name: str, work: Path) -> dict:
    path = FIXTURES / f"{name}.onnx"
    x = np.load(path.with_suffix(".npz"))["x"]
    t = time.perf_counter()
    model = archgen.load(path)
    d = work / name
    write_project(model, d, backends=("hls",))
    t_gen = time.perf_counter() - t
    sources, includes = csim.project_sources(d)
    t = time.perf_counter()
    csim.build(sources, includes, name="tb")
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    res = csim.csim_project(d, [x])
    t_run = time.perf_counter() - t
    # the testbench process alone (C++ only), on the files csim_project wrote
    exe, _ = csim.build(sources, includes, name="tb")
    t = time.perf_counter()
    subprocess.run([str(exe), "inputs.txt", "expected.txt", "outputs.txt"], check=True,
                   cwd=d / "hls" / "build" / "archgen-csim", capture_output=True)
    t_tb = time.perf_counter() - t
    gold = model.golden(x)
    exact = all(np.array_equal(a, b) for a, b in
                zip(res.outputs, gold if isinstance(gold, list) else [gold]))
    weights = sum(int(np.prod(ly.node.op.weight.shape)) for ly in plan(model.graph).layers
                  if hasattr(ly.node.op, "weight"))
    return {"name": name, "layers": len(plan(model.graph).layers), "weights": weights,
            "gen": t_gen, "build": t_build, "frames": len(x), "run": t_run, "tb": t_tb,
            "exact": exact}


def hls4ml_row(work: Path) -> dict | str:
    """hls4ml's QONNX flow on the same model: convert, compile() (its g++ build of the
    shared library), predict() on the stored inputs; or why it cannot."""
    try:
        import hls4ml
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
        from qonnx.transformation.gemm_to_matmul import GemmToMatMul
        from qonnx.util.cleanup import cleanup_model
    except ImportError as e:
        return f"hls4ml not usable here: {e}"
    path = FIXTURES / f"{HLS4ML_MODEL}.onnx"
    x = np.ascontiguousarray(np.load(path.with_suffix(".npz"))["x"], dtype=np.float32)
    caught = []
    quiet = contextlib.redirect_stdout(io.StringIO())  # hls4ml prints every layer
    try:
        with warnings.catch_warnings(record=True) as caught, quiet:
            warnings.simplefilter("always")
            t = time.perf_counter()
            m = cleanup_model(ModelWrapper(str(path)))
            m = m.transform(ConvertToChannelsLastAndClean())
            m = cleanup_model(m.transform(GemmToMatMul()))
            # as hls4ml's documentation converts a QONNX model (its default precision)
            cfg = hls4ml.utils.config.config_from_onnx_model(m, granularity="name", backend="Vitis",
                                                             default_precision="fixed<16,6>")
            hm = hls4ml.converters.convert_from_onnx_model(
                m, output_dir=str(work / "hls4ml_prj"), backend="Vitis", io_type="io_parallel",
                hls_config=cfg)
            t_conv = time.perf_counter() - t
            t = time.perf_counter()
            hm.compile()
            t_build = time.perf_counter() - t
            t = time.perf_counter()
            y = np.asarray(hm.predict(x), dtype=np.float64).reshape(len(x), -1)
            t_run = time.perf_counter() - t
    except Exception as e:  # a conversion hls4ml does not support: say why
        return f"hls4ml {hls4ml.__version__} cannot convert {path.name}: {type(e).__name__}: {e}"
    gold = np.asarray(archgen.load(path).golden(x)).reshape(len(x), -1)
    notes = sorted({str(w.message).split(";")[0] for w in caught
                    if "hls4ml" in str(w.filename)})
    return {"name": f"{HLS4ML_MODEL} (hls4ml {hls4ml.__version__})", "gen": t_conv,
            "build": t_build, "frames": len(x), "run": t_run,
            "equal": float(np.mean(y == gold)), "maxdiff": float(np.abs(y - gold).max()),
            "notes": notes}


def main(names) -> None:
    with tempfile.TemporaryDirectory(prefix="archgen-bench-csim-") as tmp:
        work = Path(tmp)
        os.environ["ARCHGEN_CACHE"] = str(work / "cache")  # cold g++ cache
        print(f"g++ C simulation, {os.cpu_count()} cores; times in seconds")
        print()
        print("| model              | layers | weights | generate | g++ build | frames | csim run "
              "| testbench | frames/s | bit-exact |")
        print("|--------------------|-------:|--------:|---------:|----------:|-------:|---------:"
              "|----------:|---------:|:---------:|")
        rows = {}
        for name in names:
            r = rows[name] = archgen_row(name, work)
            print(f"| {r['name']:18s} | {r['layers']:6d} | {r['weights']:7d} | {r['gen']:8.2f} | "
                  f"{r['build']:9.1f} | {r['frames']:6d} | {r['run']:8.2f} | {r['tb']:9.3f} | "
                  f"{r['frames'] / r['tb']:8.0f} | {'yes' if r['exact'] else 'NO':^9s} |")
        if HLS4ML_MODEL not in names:
            return
        print()
        h = hls4ml_row(work)
        if isinstance(h, str):
            print(h)
            return
        print("| flow                         | convert | g++ build | frames | run     | frames/s "
              "| equal to golden | max abs diff |")
        print("|------------------------------|--------:|----------:|-------:|--------:|---------:"
              "|----------------:|-------------:|")
        a = rows[HLS4ML_MODEL]
        print(f"| {HLS4ML_MODEL + ' (archgen csim)':28s} | {a['gen']:7.2f} | {a['build']:9.1f} | "
              f"{a['frames']:6d} | {a['tb']:7.3f} | {a['frames'] / a['tb']:8.0f} | "
              f"{100.0 if a['exact'] else 0.0:14.1f}% | {0.0:12.3g} |")
        print(f"| {h['name']:28s} | {h['gen']:7.2f} | {h['build']:9.1f} | {h['frames']:6d} | "
              f"{h['run']:7.3f} | {h['frames'] / h['run']:8.0f} | {100 * h['equal']:14.1f}% | "
              f"{h['maxdiff']:12.3g} |")
        for n in h["notes"]:
            print(f"hls4ml warned: {n}")


if __name__ == "__main__":
    args = sys.argv[1:]
    all_names = [p.stem for p in sorted(FIXTURES.glob("*.onnx")) if p.stem not in SKIP]
    bad = [a for a in args if a not in all_names]
    if bad:
        sys.exit(f"bench_csim.py: unknown fixture(s) {', '.join(bad)} (choose from "
                 f"{', '.join(all_names)})")
    main(args or all_names)
