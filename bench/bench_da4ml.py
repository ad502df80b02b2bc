"""Issue #9: archgen's cmvm layers beside da4ml's for the same integer weights, both through
archgen's yosys flow (estimate/synth.py: synth_xilinx, the same flags, its cache).  Prints one
table; asserts nothing (the numbers go to the README, "Against da4ml").

    .venv/bin/python bench/bench_da4ml.py [--part xcvu9p] [--layers NAME ...] [--no-synth]
                                          [--whole] [--archgen-estimate] [--keep DIR]

da4ml (PyPI, the ``bench`` extra: ``pip install -e .[bench]``) is given each cmvm unit of the
jet-tagging MLP (tests/fixtures/mlp_w6a6.onnx, ``strategy="latency"``) as the same integers
through its tracing API (``FixedVariableArray.from_lhs`` over the layer's input code range
after the zero point, ``@`` with the integer weight matrix: its CMVM solver with its default
options; then, where archgen folded the requantizer into the unit, ``* M + B``, ``* 2**-s``
and ``quantize(..., "SAT", "TRN")`` for the same clip(floor((acc * M + B) / 2**s), lo, hi)),
and writes pipelined Verilog with ``VerilogModel(..., latency_cutoff=depth)``.  Both tools
count logic depth in adder levels (da4ml's default adder model: one unit per adder or mux),
so a cutoff equal to archgen's ``depth`` puts a register every ``depth`` levels in both.
Where da4ml's default solution takes more cycles than archgen's unit, the bench also tries
bounding its adder depth (``hard_dc`` 2, 1, 0) and adds the first row that is no slower.

da4ml's module is checked in Icarus (through its uniform-width wrapper): random and extreme
input vectors one per cycle, every output against archgen's golden model, its latency in
cycles measured (the edge that captures an input to the edge that registers its output).
da4ml's Python model of its solution (``CombLogic.__call__``) is checked likewise; its C++
interpreter (``predict``) is only reported (in da4ml 0.6.0 it differs on some saturated
outputs).  archgen's cmvm is checked by its own cell tests (tests/test_cell_cmvm.py); its
latency is ``derive()["pipeline_cycles"]``, counted the same way (Icarus takes minutes per
layer on the cell's generate loops, so it is not simulated again here).  The last layer's
float bias (an Elementwise unit) is left out of both.

yosys runs one job at a time (the 16 -> 64 and 64 -> 32 layers take minutes each), cached by
content in archgen's synthesis cache, so a rerun costs seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gen"))

import archgen  # noqa: E402
from archgen.backends.hardware import plan  # noqa: E402
from archgen.backends.verilog import layer_files  # noqa: E402
from archgen.estimate.parts import get_part  # noqa: E402
from archgen.resources import resource_dir  # noqa: E402
from archgen.units import cmvm  # noqa: E402

JET = ROOT / "tests" / "fixtures" / "mlp_w6a6.onnx"  # 16-64-32-32-5, W6A6, batch norm
VECTORS = 64  # random input vectors per layer in Icarus (plus the extreme ones)
HARD_DC = (2, 1, 0)  # da4ml's adder-depth bounds tried when its default is slower than archgen


@dataclass
class Design:
    """One layer's RTL: its top module, the files yosys reads, and the figures to print."""

    tool: str
    top: str
    sources: tuple
    cycles: int  # expected latency (archgen: derive(); da4ml: its stages + the input register)
    adders: int
    note: str = ""
    cells: dict = field(default_factory=dict)
    sim_cycles: int | None = None  # measured in Icarus (da4ml)
    wrong: int = 0  # outputs that differ from the golden model in Icarus (da4ml)
    estimated: bool = False  # the resources are archgen's analytic estimate, not yosys


def archgen_design(ly, out: Path) -> Design:
    """The layer module exactly as the Verilog backend renders it, with the cmvm cells."""
    for name, text in layer_files(ly.module, ly.node.op, list(ly.ins), list(ly.outs)).items():
        (out / name).write_text(text)
    cells = []
    for c in cmvm.CELLS:
        cells.append(out / c)
        cells[-1].write_text((resource_dir("hw") / "rtl" / c).read_text())
    return Design("archgen", ly.module, (out / f"{ly.module}.v", *cells),
                  ly.hw["pipeline_cycles"], ly.hw["adders"])


def dense(xs, op):
    """da4ml's trace of one cmvm unit on the symbolic inputs ``xs`` (codes minus the zero
    point): the products acc = W @ xs, then, when the unit has the output stage, the same
    requantization clip(floor((acc * M + B) / 2**s), lo, hi) as cmvm.requantize()."""
    from da4ml.trace.ops import quantize

    acc = xs @ op.weight.T.astype(np.float64)
    q = op.out_spec
    if q is None:
        return acc
    v = (acc * np.array(op.out_mult, np.float64) + np.array(op.out_bias, np.float64))
    v = v * 2.0 ** -op.out_shift
    k, i = int(q.signed), q.bits - int(q.signed)
    if (q.lo, q.hi) != (-(1 << i) * k, (1 << i) - 1):
        raise SystemExit(f"{op.summary()}: output range {q.lo}..{q.hi} is not a full "
                         f"{q.bits}-bit range (not handled by this bench)")
    return quantize(v, k, i, 0, "SAT", "TRN")  # floor, then saturate to lo..hi


def da4ml_design(ops, lo: int, hi: int, name: str, out: Path, cutoff: int,
                 hard_dc: int | None = None):
    """(Design, its CombLogic) of da4ml's pipelined Verilog for the cmvm units ``ops`` in a
    chain, the first one's inputs (minus its zero point) in [lo, hi]."""
    from da4ml.codegen import VerilogModel
    from da4ml.trace import FixedVariableArray, comb_trace

    k = ops[0].weight.shape[1]
    opts = {} if hard_dc is None else {"hard_dc": hard_dc}
    xs = FixedVariableArray.from_lhs(np.full(k, lo, float), np.full(k, hi, float), np.ones(k),
                                     solver_options=opts)
    y = xs
    for j, op in enumerate(ops):
        if j and op.in_zero_point:
            y = y - op.in_zero_point
        y = dense(y, op)
    comb = comb_trace(xs, y)
    VerilogModel(comb, name, out, latency_cutoff=cutoff, print_latency=False).write()
    meta = json.loads((out / "metadata.json").read_text())
    src = out / "src"
    stages = sorted(src.glob(f"{name}_stage*.v"))
    text = "".join(p.read_text() for p in stages)
    extra = sorted(p for p in (src / "static").glob("*.v")  # the cells its stages instantiate
                   if re.search(rf"\b{p.stem}\s*#", text))
    adders = sum(op.opcode in (0, 1, 4) for op in comb.ops)  # a +- b << s, a + constant
    note = "default" if hard_dc is None else f"hard_dc={hard_dc}"
    # registers: the input, one after each of its stages (the last is the output register)
    return Design("da4ml", name, (src / f"{name}.v", *stages, *extra), meta["latency"] + 1,
                  adders, note), comb


def io_layout(comb) -> tuple:
    """(input bits per lane, output bits per lane, output LSB exponent, signed) of da4ml's
    uniform-width wrapper (``<name>_wrapper``): every lane at the widest lane's format."""
    from da4ml.types import minimal_kif

    kin = [minimal_kif(q) for q in comb.inp_qint]
    kout = [minimal_kif(q) for q in comb.out_qint]
    in_bw = max(k for k, _, _ in kin) + max(i for _, i, _ in kin) + max(f for _, _, f in kin)
    ks, is_, fs = zip(*kout)
    out_bw = max(ks) + max(is_) + max(fs)
    return in_bw, out_bw, -max(fs), bool(max(ks))


def lanes(words, n: int, bits: int, signed: bool) -> np.ndarray:
    out = np.empty((len(words), n), dtype=object)
    mask = (1 << bits) - 1
    for r, w in enumerate(words):
        for i in range(n):
            v = (w >> (i * bits)) & mask
            out[r, i] = v - (1 << bits) if signed and v >> (bits - 1) else v
    return out


def simulate(name: str, ops, q, d4: Design, comb, out: Path, seed: int) -> None:
    """Icarus: da4ml's module (through its uniform-width wrapper) on random and extreme input
    vectors, one per cycle; its outputs against archgen's golden model at the latency where
    all of them agree (stored in ``sim_cycles``); then da4ml's own interpreter likewise."""
    n, k = ops[-1].weight.shape[0], ops[0].weight.shape[1]
    rng = np.random.default_rng(seed)
    x = np.concatenate([np.full((1, k), q.lo), np.full((1, k), q.hi),
                        np.tile([q.lo, q.hi], k)[None, :k],
                        rng.integers(q.lo, q.hi + 1, size=(VECTORS, k))]).astype(np.int64)
    want = x
    for op in ops:
        want = cmvm.golden(op, want)[0]
    in_bw, out_bw, lsb, signed = io_layout(comb)
    xs = x - ops[0].in_zero_point  # archgen's input register subtracts it; da4ml gets xs
    words = [sum((int(v) & ((1 << in_bw) - 1)) << (i * in_bw) for i, v in enumerate(r)) for r in xs]
    (out / "inputs.hex").write_text("".join(f"{v:x}\n" for v in words))
    cycles = len(x) + d4.cycles + 4
    tb = f"""`timescale 1ns/1ps
module tb;
    reg clk = 0;
    reg [{k * in_bw - 1}:0] mem [0:{len(x) - 1}];
    reg [{k * in_bw - 1}:0] x = 0;
    wire [{n * out_bw - 1}:0] y;
    integer c, f;
    {d4.top}_wrapper dut (.clk(clk), .model_inp(x), .model_out(y));
    always #5 clk = ~clk;
    initial begin
        $readmemh("inputs.hex", mem);
        f = $fopen("outputs.txt", "w");
        for (c = 0; c < {cycles}; c = c + 1) begin
            @(posedge clk); #1;
            $fdisplay(f, "%h", y);
            if (c < {len(x)}) x = mem[c];
        end
        $fclose(f);
        $finish;
    end
endmodule
"""
    (out / "tb.v").write_text(tb)
    wrapper = d4.sources[0].with_name(f"{d4.top}_wrapper.v")
    subprocess.run(["iverilog", "-g2012", "-o", "tb.vvp", "-s", "tb", "tb.v", str(wrapper),
                    *map(str, d4.sources)], cwd=out, check=True, capture_output=True, text=True)
    subprocess.run(["vvp", "-n", "tb.vvp"], cwd=out, check=True, capture_output=True, text=True)
    # vector c is driven after edge c, captured at edge c + 1; line r is sampled after edge r
    lines = (out / "outputs.txt").read_text().split()
    vals = [None if "x" in t.lower() or "z" in t.lower() else int(t, 16) for t in lines]
    best = None  # (mismatches, latency): the latency where the most outputs agree
    for lat in range(1, len(vals) - len(x) + 1):
        got = vals[lat:lat + len(x)]
        if None in got:
            continue
        y = (lanes(got, n, out_bw, signed) * 2 ** lsb).astype(np.int64)
        best = min(best or (want.size + 1, 0), (int(np.sum(y != want)), lat))
    if best is None or best[0] > want.size // 2:
        raise SystemExit(f"{name}: da4ml's module ({d4.note}) differs from archgen's golden "
                         "model in Icarus at every latency")
    d4.wrong, d4.sim_cycles = best
    if d4.wrong:
        print(f"  {name}: da4ml's module ({d4.note}) differs from the golden model on "
              f"{d4.wrong} of {want.size} outputs in Icarus (its Python model agrees)",
              file=sys.stderr)
    if d4.sim_cycles != d4.cycles:
        print(f"  {name}: da4ml ({d4.note}) took {d4.sim_cycles} cycles in Icarus, "
              f"{d4.cycles} expected", file=sys.stderr)
    py = np.array([comb(r) for r in xs.astype(np.float64)], dtype=np.float64)
    if not np.array_equal(py.astype(np.int64), want):
        raise SystemExit(f"{name}: da4ml's Python model of its solution differs from "
                         "archgen's golden model")
    bad = int(np.sum(comb.predict(xs.astype(np.float64)) != want))
    if bad:  # seen with da4ml 0.6.0 on saturating outputs
        print(f"  {name}: da4ml's C++ interpreter (predict) differs from the golden model "
              f"on {bad} of {want.size} outputs", file=sys.stderr)


def synth(design: Design, family: str, cache: Path) -> None:
    """yosys synth_xilinx through archgen's flow, one job, cached; fails on a latch."""
    from archgen.estimate.synth import Job, latches, run_job, yosys_version

    job = Job(f"{design.tool}:{design.top}", design.top, tuple(design.sources))
    t0 = time.perf_counter()
    design.cells = run_job(job, family, yosys_version(), cache)
    bad = latches(design.cells)
    if bad:
        raise SystemExit(f"{design.top}: yosys inferred latches {bad}")
    print(f"  yosys {design.tool} {design.top}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="xcvu9p", help="sets yosys's -family (default xcvu9p: xcup)")
    ap.add_argument("--layers", nargs="*", help="only these cmvm layers (node names)")
    ap.add_argument("--no-synth", action="store_true", help="Icarus and adder counts only")
    ap.add_argument("--archgen-estimate", action="store_true",
                    help="archgen's columns from its analytic model, not yosys (yosys takes "
                         "over 15 minutes to elaborate a large cmvm.v)")
    ap.add_argument("--whole", action="store_true",
                    help="also the four cmvm units chained in one da4ml module")
    ap.add_argument("--keep", type=Path, help="write the generated RTL here (else a temp dir)")
    args = ap.parse_args()
    try:
        import da4ml
    except ImportError:
        print("da4ml is not installed (pip install -e .[bench]); skipped")
        return
    for tool in ("iverilog", "vvp") + (() if args.no_synth else ("yosys",)):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found on PATH")
    from archgen.simulate import cache_root

    family = get_part(args.part).family
    model = archgen.load(JET, strategy="latency")
    hw = plan(model.graph)
    layers = [ly for ly in hw.layers if ly.node.op.kind() == "cmvm"
              and (not args.layers or ly.name in args.layers)]
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-da4ml-"))
    rows = []
    for i, ly in enumerate(layers):
        d, w = ly.hw, ly.node.op.weight
        out = root / ly.name
        (out / "archgen").mkdir(parents=True, exist_ok=True)
        ag = archgen_design(ly, out / "archgen")
        d4s = []
        for dc in (None, *HARD_DC):
            name = f"d4_{ly.name}" + ("" if dc is None else f"_dc{dc}")
            d4, comb = da4ml_design([ly.node.op], d["xs_lo"], d["xs_hi"], name, out / name,
                                    d["depth"], dc)
            if dc is None or d4.cycles <= ag.cycles:
                d4s.append((d4, comb))
            if d4.cycles <= ag.cycles:
                break
        print(f"{ly.name}: {w.shape[1]} -> {w.shape[0]}, archgen {ag.adders} adders, "
              + ", ".join(f"da4ml ({x.note}) {x.adders}" for x, _ in d4s), file=sys.stderr)
        for d4, comb in d4s:
            simulate(ly.name, [ly.node.op], ly.ins[0].quant, d4, comb, out / d4.top, seed=i)
            if not args.no_synth:
                if args.archgen_estimate:
                    ag.estimated = True
                elif not ag.cells:
                    synth(ag, family, cache_root() / "synth")
                synth(d4, family, cache_root() / "synth")
            rows.append((ly, ag, d4))
    whole = None
    if args.whole:  # every cmvm unit of the MLP in one da4ml trace, one pipelined module
        units = [ly for ly in hw.layers if ly.node.op.kind() == "cmvm"]
        ops, d = [ly.node.op for ly in units], units[0].hw
        out = root / "mlp" / "d4_mlp"
        d4, comb = da4ml_design(ops, d["xs_lo"], d["xs_hi"], "d4_mlp", out, d["depth"])
        print(f"whole MLP: archgen {sum(ly.hw['adders'] for ly in units)} adders in "
              f"{len(units)} units, da4ml {d4.adders}", file=sys.stderr)
        simulate("whole MLP", ops, units[0].ins[0].quant, d4, comb, out, seed=len(units))
        if not args.no_synth and not d4.wrong:  # resources of a wrong circuit would mislead
            synth(d4, family, cache_root() / "synth")
        whole = (units, d4)
    print_table(rows, args, family, da4ml.__version__, hw, whole)


def print_table(rows, args, family, version, hw, whole=None):
    from archgen.estimate.synth import FLAGS, counts

    print(f"jet MLP {JET.name}, strategy latency; da4ml {version}; "
          + ("no synthesis" if args.no_synth else
             f"yosys synth_xilinx -family {family} {' '.join(FLAGS)}")
          + ("; archgen's columns: its analytic estimate" if args.archgen_estimate else ""))
    print(f"{'layer':16s} {'K->N':>6s} | {'archgen LUT':>11s} {'FF':>6s} {'CARRY4':>6s} {'DSP':>3s} "
          f"{'cyc':>3s} {'adders':>6s} | {'da4ml':15s} {'LUT':>6s} {'FF':>6s} {'CARRY4':>6s} "
          f"{'DSP':>3s} {'cyc':>3s} {'adders':>6s} {'exact':>5s} | {'LUT ratio':>9s}")
    estimates = {}
    if any(ag.estimated for _, ag, _ in rows):
        from archgen.estimate.model import estimate

        est = estimate(hw, get_part(args.part))
        estimates = {e.name: e.cost.rounded() for e in est.layers}
    tot = {"a": dict.fromkeys(("LUT", "FF", "CARRY4", "DSP", "adders"), 0)}
    tot["d"] = dict(tot["a"])
    seen = set()
    for ly, ag, d4 in rows:
        a, b = counts(ag.cells) if ag.cells else {}, counts(d4.cells) if d4.cells else {}
        if ag.estimated:  # the analytic model of units/cmvm.py (resources())
            a = estimates[ly.name]
        shape = f"{ly.hw['cols']}->{ly.hw['rows']}"

        def f(c, key):
            return f"{c[key]:,}" if c else "-"

        ratio = f"{a['LUT'] / b['LUT']:.2f}" if a and b and b["LUT"] else "-"
        cyc_a = ag.cycles
        print(f"{ly.name:16s} {shape:>6s} | {f(a, 'LUT'):>11s} {f(a, 'FF'):>6s} {f(a, 'CARRY4'):>6s} "
              f"{f(a, 'DSP'):>3s} {cyc_a:>3d} {ag.adders:>6,} | {d4.note:15s} {f(b, 'LUT'):>6s} "
              f"{f(b, 'FF'):>6s} {f(b, 'CARRY4'):>6s} {f(b, 'DSP'):>3s} {d4.sim_cycles:>3d} "
              f"{d4.adders:>6,} {'yes' if not d4.wrong else d4.wrong:>5} | {ratio:>9s}")
        if d4.note == "default":
            for key in ("LUT", "FF", "CARRY4", "DSP"):
                tot["a"][key] += a.get(key, 0)
                tot["d"][key] += b.get(key, 0)
            tot["a"]["adders"] += ag.adders
            tot["d"]["adders"] += d4.adders
            seen.add(ly.name)
    if len(seen) > 1 and not args.no_synth:
        a, b = tot["a"], tot["d"]
        print(f"{'sum (default)':16s} {'':>6s} | {a['LUT']:>11,} {a['FF']:>6,} {a['CARRY4']:>6,} "
              f"{a['DSP']:>3,} {'':>3s} {a['adders']:>6,} | {'':15s} {b['LUT']:>6,} {b['FF']:>6,} "
              f"{b['CARRY4']:>6,} {b['DSP']:>3,} {'':>3s} {b['adders']:>6,} {'':>5s} | "
              f"{a['LUT'] / b['LUT']:>9.2f}")
    if whole is not None:
        units, d4 = whole
        b = counts(d4.cells) if d4.cells else {}
        cyc = sum(ly.hw["pipeline_cycles"] for ly in units)
        lut = (f"{b['LUT']:,} LUT, {b['FF']:,} FF, {b['CARRY4']:,} CARRY4, {b['DSP']} DSP, "
               if b else "")
        exact = "bit-exact" if not d4.wrong else f"{d4.wrong} outputs wrong in Icarus"
        print(f"whole MLP in one da4ml module: {lut}{d4.sim_cycles} cycles, {d4.adders:,} adders, "
              f"{exact} "
              f"(archgen: {len(units)} units, {cyc} cycles chained, "
              f"{sum(ly.hw['adders'] for ly in units):,} adders)")
    print("cyc: latency in cycles, the input's capturing edge to its output's register edge "
          "(archgen: derive()['pipeline_cycles']; da4ml: measured in Icarus); exact: da4ml's "
          "Verilog equals archgen's golden model in Icarus (else: outputs that differ)")


if __name__ == "__main__":
    main()
