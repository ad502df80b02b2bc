"""Calibration of the analytic resource model against yosys synth_xilinx, per layer.

For every fixture at two foldings (fully folded, and the 10k frames/s folding), synthesizes
each layer module and the top's plumbing (cached by content under the archgen cache, so a
re-run after changing only the model costs nothing) and prints the estimate beside yosys.

    python bench/bench_calibration.py                       # every fixture, both foldings
    python bench/bench_calibration.py --fixtures mlp_w6a6 --unit mvu
    python bench/bench_calibration.py --json calibration.json

Recalibrating: run it, look at the layers whose LUT error is over 25% (or whose DSP/BRAM
differ), fix that unit's ``resources()`` (gen/archgen/units/<unit>.py) or the shared
building blocks (gen/archgen/estimate/primitives.py, memory.py, glue.py), run it again.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

FOLDINGS = {"folded": {}, "10kfps": {"target_fps": 10_000.0, "clock_mhz": 100.0}}
LUT_FLOOR = 200  # the 25% target applies to layers above this many LUTs


def fixtures() -> list:
    from conftest import MODELS

    return [m for m in MODELS if m not in ("mlp_w6a6_nobias", "mlp_w6a6_matmul")]


def measure(name: str, folding: str, workers: int | None = None) -> list:
    """Rows (one per layer and the top) of estimate vs yosys for one fixture and folding."""
    from conftest import fixture_path

    import archgen
    from archgen.backends import verilog
    from archgen.backends.hardware import plan
    from archgen.config import config_from_dict
    from archgen.estimate import estimate, get_part
    from archgen.estimate.synth import counts, project_jobs, synthesize
    from archgen.simulate import cache_root

    model = archgen.load(fixture_path(name), config_from_dict(FOLDINGS[folding]))
    hw = plan(model.graph)
    part = get_part(model.config.part)
    est = estimate(hw, part).to_json()["layers"]
    with tempfile.TemporaryDirectory() as tmp:
        rtl = Path(tmp)
        for fname, text in verilog.rtl_files(hw).items():
            (rtl / fname).write_text(text)
        cells = synthesize(project_jobs(rtl, hw), part.family, workers, cache_root() / "synth")
    rows = []
    for layer, c in cells.items():
        e, y = est[layer], counts(c)
        rows.append({"fixture": name, "folding": folding, "layer": layer, "unit": e["unit"],
                     "estimate": {k: e[k] for k in y}, "yosys": y})
    return rows


def lut_error(row) -> float | None:
    y, e = row["yosys"]["LUT"], row["estimate"]["LUT"]
    return (e - y) / y if y else None


def summary(rows) -> None:
    """Per fixture and folding: totals (estimate/yosys) and the worst layer over 200 LUTs."""
    print("| model | folding | LUT est / yosys | FF est / yosys | DSP | BRAM18 | BRAM36 | "
          "worst layer LUT error (> 200 LUT) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    groups = {}
    for r in rows:
        groups.setdefault((r["fixture"], r["folding"]), []).append(r)
    for (name, folding), rs in groups.items():
        tot = {s: {k: sum(r[s][k] for r in rs) for k in rs[0][s]} for s in ("estimate", "yosys")}
        e, y = tot["estimate"], tot["yosys"]
        errs = [abs(lut_error(r)) for r in rs if r["yosys"]["LUT"] > LUT_FLOOR]
        worst = f"{100 * max(errs):.0f}%" if errs else "-"

        pair = {k: f"{e[k]:,} / {y[k]:,}" for k in e}
        print(f"| {name} | {folding} | {pair['LUT']} ({100 * (e['LUT'] - y['LUT']) / y['LUT']:+.0f}%) "
              f"| {pair['FF']} | {pair['DSP']} | {pair['BRAM18']} | {pair['BRAM36']} | {worst} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", default=None, help="comma-separated (default: all)")
    ap.add_argument("--foldings", default=",".join(FOLDINGS))
    ap.add_argument("--unit", default=None, help="only rows of this unit (mvu, swg, ..., streams)")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--json", default=None, help="write the rows here")
    args = ap.parse_args(argv)
    names = args.fixtures.split(",") if args.fixtures else fixtures()
    rows = []
    for name in names:
        for folding in args.foldings.split(","):
            rows += measure(name, folding, args.jobs)
    if args.unit:
        rows = [r for r in rows if r["unit"] == args.unit]
    head = f"{'fixture':<20} {'fold':<7} {'layer':<42} {'unit':<10} {'LUT est/yosys':>15} " \
           f"{'err':>6} {'FF est/yosys':>13} {'DSP':>7} {'BRAM18':>7} {'BRAM36':>7}"
    print(head)
    print("-" * len(head))
    worst, bad_hard = 0.0, 0
    for r in rows:
        e, y = r["estimate"], r["yosys"]
        err = lut_error(r)
        flag = ""
        if y["LUT"] > LUT_FLOOR and err is not None and abs(err) > 0.25:
            flag = " <-- LUT"
        if any(e[k] != y[k] for k in ("DSP", "BRAM18", "BRAM36")):
            flag += " <-- DSP/BRAM"
            bad_hard += 1
        if y["LUT"] > LUT_FLOOR and err is not None:
            worst = max(worst, abs(err))
        print(f"{r['fixture']:<20} {r['folding']:<7} {r['layer'][:42]:<42} {r['unit']:<10} "
              f"{e['LUT']:>7}/{y['LUT']:<7} {'' if err is None else f'{100 * err:+.0f}%':>6} "
              f"{e['FF']:>6}/{y['FF']:<6} {e['DSP']:>3}/{y['DSP']:<3} "
              f"{e['BRAM18']:>3}/{y['BRAM18']:<3} {e['BRAM36']:>3}/{y['BRAM36']:<3}{flag}")
    print()
    summary(rows)
    big = [r for r in rows if r["yosys"]["LUT"] > LUT_FLOOR]
    print(f"\n{len(rows)} modules; {len(big)} over {LUT_FLOOR} LUTs: worst LUT error "
          f"{100 * worst:.1f}% (target 25%); DSP/BRAM differ in {bad_hard}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
