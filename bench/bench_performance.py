"""Issue #9's benchmarks beside their anchors' published numbers: the jet-tagging MLP
fully parallel (hls4ml's low-latency case) and CNV-w2a2 / CNV-w1a1 folded to BNN-PYNQ's
frame rates (FINN's case).  Prints one table; asserts nothing (numbers go to the README).

    .venv/bin/python bench/bench_performance.py [--synth] [--sim]

Resources are archgen's analytic estimate (calibrated against yosys synth_xilinx, #7);
with ``--synth`` every design also goes through yosys layer by layer (about 30 minutes
cold on 2 cores; cached by content after), with ``--sim`` the jet MLP's designs through
Icarus for their measured latency and interval.  The last lines hold each target against
the best figure there is (yosys, then simulation, then the estimate).  Generation time is
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
from archgen.estimate.memory import rom_kind  # noqa: E402
from archgen.estimate.model import estimate  # noqa: E402
from archgen.estimate.parts import get_part  # noqa: E402
from archgen.estimate.resources import Cost  # noqa: E402
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
    out = {"design": name, "LUT": t.LUT, "FF": t.FF, "DSP": t.DSP, "BRAM36": t.bram36,
           "interval": est.interval, "latency": est.latency, "bottleneck": est.bottleneck}
    out.update(extra or {})
    return out


def measured(model, synth: bool, sim_x=None) -> dict:
    """yosys totals (``yosys_*``: every layer synthesized, cached by content) and, given
    inputs, the Icarus-measured latency and interval (``sim_*``) of a model's design."""
    from archgen.project import write_project

    out = {}
    if not synth and sim_x is None:
        return out
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as d:
        write_project(model, Path(d) / "p", backends=("verilog",))
        if synth:
            from archgen.estimate.report import report_project

            syn = report_project(Path(d) / "p", synth=True)["synth"]["total"]
            out.update({f"yosys_{k}": round(syn[k]) for k in ("LUT", "FF", "DSP")})
            out["yosys_BRAM36"] = Cost.of(syn).bram36
        if sim_x is not None:
            from archgen.simulate import simulate_project

            rep = simulate_project(Path(d) / "p", [sim_x], "icarus").report
            out.update({"sim_latency": rep["latency_cycles"],
                        "sim_interval": rep["interval_cycles"]})
    return out


# the targets: (design row, quantity, at most); a quantity is taken from yosys or
# simulation (``--synth``, ``--sim``) where measured, else from the estimate
TARGETS = (
    ("jet MLP, strategy latency, depth 5", "latency", 9),
    ("jet MLP, strategy latency, depth 5", "interval", 1),
    ("jet MLP, strategy latency, depth 5", "DSP", 0),
    ("jet MLP, strategy latency, depth 5", "LUT", 32_000),
    ("CNV-w2a2 at 2580 frames/s", "interval", 38_759),
    ("CNV-w2a2 at 2580 frames/s", "LUT", 37_302),
    ("CNV-w2a2 at 2580 frames/s", "BRAM36", 140),
    ("CNV-w1a1 at 9150 frames/s", "interval", 10_929),  # 9,150 frames/s at 100 MHz
    ("CNV-w1a1 at 9150 frames/s", "LUT", 26_072),
)


def verdicts(rows) -> list[str]:
    by_name = {r["design"]: r for r in rows}
    out = []
    for design, key, limit in TARGETS:
        r = by_name[design]
        for src in ("yosys", "sim", "estimate"):
            k = key if src == "estimate" else f"{src}_{key}"
            if k in r:
                value = r[k]
                break
        verdict = "met" if value <= limit else "NOT met"
        shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
        out.append(f"{design}: {key} {shown} ({src}) <= {limit:,}: {verdict}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synth", action="store_true",
                    help="yosys synth_xilinx on every design (about 30 min cold, cached)")
    ap.add_argument("--sim", action="store_true",
                    help="the jet MLP's latency and interval measured in Icarus (8 frames)")
    args = ap.parse_args()
    rows = []
    jet_x = np.load(JET.with_suffix(".npz"))["x"][:8] if args.sim else None

    # -- jet tagging MLP, fully parallel (hls4ml: 6-bit QKeras on VU9P at 200 MHz) --------
    layers = fully_parallel(JET)
    jet = archgen.load(JET, layers=layers, part="xcvu9p", clock_mhz=200)
    rows.append(row("jet MLP 16-64-32-32-5 W6A6, fully parallel", jet, "xcvu9p",
                    {"gen_s": generation_time(JET, layers=layers),
                     **measured(jet, args.synth, jet_x)}))
    for depth in JET_DEPTHS:  # adder levels between registers (the logic-depth budget)
        lat = archgen.load(JET, strategy="latency", part="xcvu9p", clock_mhz=200,
                           latency_depth=depth)
        rows.append(row(f"jet MLP, strategy latency, depth {depth}", lat, "xcvu9p",
                        {"gen_s": generation_time(JET, strategy="latency",
                                                  latency_depth=depth),
                         **measured(lat, args.synth, jet_x)}))

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
                            {**generation_times(path, **opts), "folding": foldings(model),
                             **measured(model, args.synth)}))
            # the weight ROMs' placement: auto spends the spare block RAM on the ROMs in
            # logic that save the most LUTs (passes/place_weights: in w1a1 Conv_11, Conv_15
            # and Gemm_37); the other row is the other side of that trade (w1a1: every ROM
            # where its size puts it; w2a2: Conv_11's 144 x 1024 bits in block RAM too,
            # past the pass's 80% of the part's block RAM)
            moved = [ly.node.name for ly in model.hardware().layers
                     if ly.hw.get("weight_mem") == "bram"
                     and rom_kind(ly.hw["weight_words"], ly.hw["weight_word_bits"]) == "logic"]
            other, mem, where = (moved, "logic", "by size") if moved else \
                (["Conv_11"], "bram", "in block RAM")
            placed = archgen.load(path, **opts,
                                  layers={n: {"weight_memory": mem} for n in other})
            rows.append(row(f"  the same, {' and '.join(other)} weights {where}", placed,
                            "xc7z020", {"gen_s": float("nan"), "folding": foldings(placed),
                                        **measured(placed, args.synth)}))

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
    print()
    print("\n".join(verdicts(rows)))


if __name__ == "__main__":
    main()
