"""RTL simulation of every fixture: generation time, Verilator (and Icarus) build time,
simulated cycles per second, and the sim.json figures.  Prints a table; asserts nothing
(the numbers go to the README).

    .venv/bin/python bench/bench_sim.py [--icarus] [--frames N]

Builds go to a private cache (ARCHGEN_CACHE in a temporary folder) so that build times
are cold.  Two foldings per model: fully folded (PE = SIMD = 1, least area) and the
folding archgen picks for 10,000 frames/s at 100 MHz (the MLPs meet that fully folded,
so their two rows are the same design).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gen"))

FIXTURES = ["mlp_w6a6", "mlp_w2a2", "mlp_w1a1", "mlp_float", "mlp_qdq_int8", "cnn_w4a4",
            "cnn_qdq_int8", "cnn_qoperator_int8"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--icarus", action="store_true", help="also Icarus (slow)")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="archgen-bench-")
    os.environ["ARCHGEN_CACHE"] = tmp
    import archgen
    from archgen import simulate
    from archgen.backends.hardware import plan
    from archgen.config import config_from_dict
    from archgen.project import write_project

    sims = ["verilator"] + (["icarus"] if args.icarus else [])
    rows = []
    for name in args.only or FIXTURES:
        for fold, cfg in (("PE=SIMD=1", {}), ("10k fps", {"target_fps": 1e4, "clock_mhz": 100.0})):
            path = ROOT / "tests" / "fixtures" / f"{name}.onnx"
            x = np.load(path.with_suffix(".npz"))["x"][:args.frames]
            t = time.perf_counter()
            model = archgen.load(path, config_from_dict(cfg))
            d = Path(tmp) / f"{name}-{len(rows)}"
            write_project(model, d)
            t_gen = time.perf_counter() - t
            hw = plan(model.graph)
            for sim in sims:
                bench = simulate.Bench(tuple(sorted((d / "rtl").glob("*.v"))), hw.top,
                                       "test_accelerator", d / "sim")
                t = time.perf_counter()
                simulate.build(bench, sim, log=d / f"build-{sim}.log")
                t_build = time.perf_counter() - t
                t = time.perf_counter()
                res = simulate.simulate_project(d, [x], sim)
                t_sim = time.perf_counter() - t
                r = res.report
                # the measuring phase (3 frames back to back) plus the phase with stalls
                cycles = r["latency_cycles"] + 2 * r["interval_cycles"] + r["cycles_total"]
                rows.append((name, fold, sim, t_gen, t_build, t_sim, cycles / t_sim, r))
                print(json.dumps({"model": name, "folding": fold, "simulator": sim,
                                  "generate_s": round(t_gen, 2), "build_s": round(t_build, 1),
                                  "sim_s": round(t_sim, 1), "cycles_per_s": round(cycles / t_sim),
                                  **r}), flush=True)
    print()
    print(f"| model | folding | simulator | generate s | build s | sim s ({args.frames} frames) "
          "| cycles/s | latency | interval | frames/s @100 MHz | mismatches |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, fold, sim, tg, tb, ts, cps, r in rows:
        print(f"| {name} | {fold} | {sim} | {tg:.2f} | {tb:.1f} | {ts:.1f} | {cps:,.0f} | "
              f"{r['latency_cycles']:,} | {r['interval_cycles']:,} | "
              f"{r.get('frames_per_second', 0):,.0f} | {r['mismatches']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
