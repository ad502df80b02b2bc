"""Design-space exploration on the fixture MLP and CNN: the measured Pareto front (LUT, DSP,
FF, BRAM, fidelity) against the unoptimized 8-bit design, and the reduction at
maintained fidelity.

    python bench/bench_dse.py [--trials 300] [--workers 2] [--models mlp_qdq_int8,cnn_qdq_int8]
    python bench/bench_dse.py --models mlp_qdq_int8 --verify-best 1 --simulator icarus

The 8-bit designs are onnxruntime's int8 quantizations (QDQ) of the fixture MLP and CNN,
fully folded (PE = SIMD = 1).  Fidelity is the top-1 agreement with that 8-bit design on
512 inputs drawn from a normal distribution fitted (per element) to the fixture's 32
stored inputs.  Costs are archgen's analytic estimate (xc7z020), calibrated against yosys;
with ``--verify-best K`` the K first Pareto points of the choice rule and the baseline are
also synthesized (yosys) and simulated (4 frames), and a table sets estimate beside measure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gen"))

from archgen.dse.search import run  # noqa: E402
from archgen.errors import VerificationError  # noqa: E402

FIX = ROOT / "tests" / "fixtures"
FLOW = """\
name: bench
objectives: [LUT, DSP, fidelity]
sampler: nsga2
seed: 0
steps:
  - quantize: {weight_bits: {int: [2, 8]}, act_bits: {int: [2, 8]}, per_layer: true}
  - prune: {mode: channel, fraction: {float: [0.0, 0.3]}, per_layer: true}
  - prune: {mode: unstructured, sparsity: {float: [0.0, 0.3]}}
  - fold: {mode: folded}
"""
FLOORS = (1.0, 0.99, 0.98, 0.95, 0.90)
KEYS = ("LUT", "FF", "DSP", "BRAM")


def data_for(name: str, out: Path, n: int = 512) -> Path:
    x = np.load(FIX / f"{name}.npz")["x"].astype(np.float64)
    rng = np.random.default_rng(0)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    p = out / f"{name}_data.npz"
    np.savez(p, x=mean + std * rng.standard_normal((n,) + x.shape[1:]))
    return p


def _pct(new, base):
    return f"{100.0 * (base - new) / base:.0f}%" if base else "-"


def report(name: str, doc: dict, seconds: float) -> None:
    base = doc["baseline"]["metrics"]
    pts = sorted(doc["pareto"], key=lambda p: (-p["metrics"]["fidelity"], p["metrics"]["LUT"]))
    print(f"\n### {name}: {doc['trials']['complete']} trials in {seconds:.0f} s "
          f"({doc['trials']['failed']} failed), {len(pts)} Pareto points\n")
    print("| design | LUT | FF | DSP | BRAM | fidelity | interval |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| 8-bit baseline | {base['LUT']:,} | {base['FF']:,} | {base['DSP']} | "
          f"{base['BRAM']:g} | {base['fidelity']:.3f} | {base['interval']:,} |")
    for p in pts[:12]:
        m = p["metrics"]
        print(f"| trial {p['trial']} | {m['LUT']:,} | {m['FF']:,} | {m['DSP']} | {m['BRAM']:g} | "
              f"{m['fidelity']:.3f} | {m['interval']:,} |")
    print("\n| fidelity floor | fewest LUT | fewest DSP | one design: LUT / DSP / FF / BRAM |")
    print("|---:|---:|---:|---|")
    for floor in FLOORS:
        ok = [p["metrics"] for p in pts if p["metrics"]["fidelity"] >= floor - 1e-12]
        if not ok:
            print(f"| {floor:.2f} | - | - | - |")
            continue
        lut = min(m["LUT"] for m in ok)
        dsp = min(m["DSP"] for m in ok)
        one = min(ok, key=lambda m: (m["LUT"], m["DSP"]))
        print(f"| {floor:.2f} | {lut:,} (-{_pct(lut, base['LUT'])}) | {dsp} "
              f"(-{_pct(dsp, base['DSP'])}) | {one['LUT']:,} / {one['DSP']} / {one['FF']:,} / "
              f"{one['BRAM']:g} (-{_pct(one['LUT'], base['LUT'])} / -{_pct(one['DSP'], base['DSP'])}"
              f" / -{_pct(one['FF'], base['FF'])}) |")


def _pair(m: dict, e: dict, metric: str, key: str) -> str:
    """estimate / measured (the estimate's error in percent of the measurement)."""
    if m.get(key) is None:
        return f"{e[metric]:,} / -"
    pct = m["estimate_error_percent"].get(metric)
    return f"{e[metric]:,} / {m[key]:,}" + ("" if pct is None else f" ({pct:+.0f}%)")


def report_measured(doc: dict) -> None:
    rows = [("8-bit baseline", doc["baseline"])] + [(f"trial {p['trial']}", p)
                                                   for p in doc["pareto"] if "measured" in p]
    rows = [(n, p) for n, p in rows if "measured" in p]
    if not rows:
        return
    print(f"\nmeasured by {rows[0][1]['measured']['source']}, "
          f"{rows[0][1]['measured']['frames']} frames:\n")
    print("| design | fidelity | LUT est / yosys | FF est / yosys | DSP est / yosys | "
          "BRAM18 est / yosys | interval est / sim | latency est / sim | bit-exact |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, p in rows:
        m, e = p["measured"], p["metrics"]
        cells = [_pair(m, e, metric, key) for metric, key in (
            ("LUT", "LUT"), ("FF", "FF"), ("DSP", "DSP"), ("BRAM18", "BRAM18"),
            ("interval", "interval_cycles"), ("latency", "latency_cycles"))]
        print(f"| {name} | {e['fidelity']:.3f} | {' | '.join(cells)} | "
              f"{'yes' if m['bit_exact'] else 'NO'} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mlp_qdq_int8,cnn_qdq_int8")
    ap.add_argument("--trials", type=int, default=None, help="default: 200 MLP, 100 CNN")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", metavar="DIR", help="keep the DSE folders in DIR")
    ap.add_argument("--verify-best", type=int, default=0, metavar="K",
                    help="synthesize and simulate the K best Pareto points and the baseline")
    ap.add_argument("--simulator", choices=("verilator", "icarus"), default="icarus")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="archgen-bench-dse-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        flow = root / "flow.yaml"
        flow.write_text(FLOW)
        for name in args.models.split(","):
            trials = args.trials or (200 if name.startswith("mlp") else 100)
            t = time.time()
            try:
                run(FIX / f"{name}.onnx", root / name, flow=flow, data=data_for(name, root),
                    trials=trials, workers=args.workers, progress=None,
                    verify_best=args.verify_best, simulator=args.simulator)
            except VerificationError as e:  # a measured design is not bit-exact: show it
                print(f"\n{name}: {e}")
            doc = json.loads((root / name / "pareto.json").read_text())
            report(name, doc, time.time() - t)
            report_measured(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
