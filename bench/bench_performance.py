"""Issue #9's benchmarks beside their anchors' published numbers: the jet-tagging MLP
fully parallel (hls4ml's low-latency case) and CNV-w2a2 / CNV-w1a1 folded to BNN-PYNQ's
frame rates (FINN's case).  Prints one table; asserts nothing (numbers go to the README).

    .venv/bin/python bench/bench_performance.py [--synth] [--sim]

Resources are archgen's analytic estimate (calibrated against yosys synth_xilinx, #7);
with ``--synth`` the jet MLP also goes through yosys layer by layer (minutes), with
``--sim`` through Verilator for its measured latency and interval.  Generation time is
import + passes + Verilog rendering (with the golden model's test vectors), best of 3;
``passes_s`` the import and passes alone (folding included), best of 3.  For the CNVs,
the folding ``--target-fps`` chose is printed per layer (pe x simd), and their FIFOs are
the ones sized by simulation in bench/cnv_fifos.json (``perf_sim.py --size-fifos``).

The jet MLP runs twice: the dataflow units of #3 at full parallelism, and ``strategy:
latency`` at three logic-depth budgets (cmvm: multiplier-free shift-add graphs of ternary
adders with the requantizer folded into their pipeline as a constant shift-add multiply
and a clamp, registers every ``latency_depth`` adder levels; no DSP).
"""

from __future__ import annotations

import argparse
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
from archgen.estimate.model import estimate  # noqa: E402
from archgen.estimate.parts import get_part  # noqa: E402
from models import cnv  # noqa: E402
from perf_sim import JET_DEPTHS, cnv_fifos, fully_parallel  # noqa: E402

JET = ROOT / "tests" / "fixtures" / "mlp_w6a6.onnx"  # 16-64-32-32-5, W6A6, batch norm


def generation_time(path, **options) -> float:
    return generation_times(path, **options)["gen_s"]


def generation_times(path, **options) -> dict:
    """Best of 3: ``gen_s`` import + passes + rendering, ``passes_s`` import + passes."""
    from archgen.project import write_project

    best = {"gen_s": float("inf"), "passes_s": float("inf")}
    for _ in range(3):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            model = archgen.load(path, **options)
            t1 = time.perf_counter()
            write_project(model, Path(d) / "p", backends=("verilog",))
            t2 = time.perf_counter()
            best = {"gen_s": min(best["gen_s"], t2 - t0),
                    "passes_s": min(best["passes_s"], t1 - t0)}
    return best


def foldings(model) -> str:
    """pe x simd of every folded layer (pe alone for pooling and depthwise layers)."""
    out = []
    for n in model.graph.nodes:
        if n.op.kind() in ("mvu", "synapse"):
            out.append(f"{n.name} {n.op.pe}x{n.op.simd}")
        elif n.op.kind() in ("vvu", "pool"):
            out.append(f"{n.name} {n.op.pe}")
    return ", ".join(out)


def row(name, model, part, extra=None) -> dict:
    est = estimate(model.hardware(), get_part(part))
    t = est.total
    out = {"design": name, "LUT": t.LUT, "FF": t.FF, "DSP": t.DSP, "BRAM36": t.BRAM36 + t.BRAM18 / 2,
           "interval": est.interval, "latency": est.latency, "bottleneck": est.bottleneck}
    out.update(extra or {})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synth", action="store_true", help="yosys on the jet MLP (minutes)")
    ap.add_argument("--sim", action="store_true", help="Verilator latency of the jet MLP")
    args = ap.parse_args()
    rows = []

    # -- jet tagging MLP, fully parallel (hls4ml: 6-bit QKeras on VU9P at 200 MHz) --------
    layers = fully_parallel(JET)
    jet = archgen.load(JET, layers=layers, part="xcvu9p", clock_mhz=200)
    r = row("jet MLP 16-64-32-32-5 W6A6, fully parallel", jet, "xcvu9p",
            {"gen_s": generation_time(JET, layers=layers)})
    if args.synth or args.sim:
        from archgen.project import write_project

        d = Path(tempfile.mkdtemp(prefix="bench-jet-"))
        write_project(jet, d / "p", backends=("verilog",))
        if args.synth:
            from archgen.estimate.report import report_project

            syn = report_project(d / "p", synth=True)["synth"]["total"]
            r.update({f"yosys_{k}": syn[k] for k in ("LUT", "FF", "DSP")})
        if args.sim:
            from archgen.simulate import simulate_project

            x = np.load(JET.with_suffix(".npz"))["x"][:8]
            rep = simulate_project(d / "p", [x], "verilator").report
            r.update({"sim_latency": rep["latency_cycles"], "sim_interval": rep["interval_cycles"]})
    rows.append(r)
    for depth in JET_DEPTHS:  # adder levels between registers (the logic-depth budget)
        lat = archgen.load(JET, strategy="latency", part="xcvu9p", clock_mhz=200,
                           latency_depth=depth)
        rows.append(row(f"jet MLP, strategy latency, depth {depth}", lat, "xcvu9p",
                        {"gen_s": generation_time(JET, strategy="latency",
                                                  latency_depth=depth)}))

    # -- CNV (BNN-PYNQ on PYNQ-Z1 at 100 MHz) ----------------------------------------------
    for wbits, abits, fps in ((2, 2, 2580.0), (1, 1, 9150.0)):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / f"cnv_w{wbits}a{abits}.onnx"
            onnx.save(cnv(wbits, abits), path)
            # FIFO depths sized by simulation (perf_sim.py --size-fifos), as simulated
            opts = {"target_fps": fps, "clock_mhz": 100.0, "part": "xc7z020",
                    "fifo_depths": cnv_fifos().get(f"cnv-w{wbits}a{abits}", {})}
            model = archgen.load(path, **opts)
            rows.append(row(f"CNV-w{wbits}a{abits} at {fps:g} frames/s", model, "xc7z020",
                            {**generation_times(path, **opts), "folding": foldings(model)}))
            # LUT traded for block RAM: the weight ROMs in logic that cost the most
            # (w2a2: Conv_11's 144 x 1024 bits; w1a1: Conv_11's and Conv_15's 72 x 1024
            # and 72 x 2048)
            bram = ("Conv_11",) if wbits == 2 else ("Conv_11", "Conv_15")
            placed = archgen.load(path, **opts,
                                  layers={n: {"weight_memory": "bram"} for n in bram})
            rows.append(row(f"  the same, {' and '.join(bram)} weights in block RAM", placed,
                            "xc7z020", {"gen_s": float("nan"), "folding": foldings(placed)}))

    targets = {
        "jet": "target: latency <= 9 cycles, II 1, 0 DSP, LUT <= 32,000 (hls4ml 6-bit: 9 cycles, "
               "63,251 LUT, 38 DSP, 4,394 FF; 16-bit: 10 cycles, 89,209 LUT, 1,852 DSP)",
        "CNV-w2a2": "target: interval <= 38,759 cycles, LUT <= 37,302, BRAM36 <= 140 "
                    "(BNN-PYNQ: 2,580 frames/s, 37,302 LUT, 140 BRAM)",
        "CNV-w1a1": "anchor: BNN-PYNQ 9,150 frames/s at 26,072 LUT",
    }
    keys = ("LUT", "FF", "DSP", "BRAM36", "interval", "latency", "gen_s", "passes_s")
    print(f"{'design':44s} " + " ".join(f"{k:>9s}" for k in keys) + "  bottleneck")
    for r in rows:
        vals = " ".join((f"{r[k]:>9.3g}" if k in r else " " * 9) if k.endswith("_s")
                        else f"{r[k]:>9,.0f}" for k in keys)
        print(f"{r['design']:44s} {vals}  {r['bottleneck']}")
        extra = {k: v for k, v in r.items() if k.startswith(("yosys_", "sim_"))}
        if extra:
            print(" " * 45 + ", ".join(f"{k} {v:,}" for k, v in extra.items()))
        if "folding" in r:
            print(" " * 45 + "folding: " + r["folding"])
    print()
    for k, v in targets.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
