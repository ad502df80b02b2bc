"""The ternary adder cell (hw/rtl/add3.v): its Xilinx netlist (LUT6_2 and CARRY4, the
`SYNTHESIS branch), simulated in Icarus with yosys's models of those primitives, and its
arithmetic branch (what simulators and lint see), both against Python on every operand
value for small widths and on random values for a wide one; lint; and synthesis: one LUT
per bit, no other logic."""

import itertools
import subprocess
from pathlib import Path

import numpy as np
import pytest

from archgen.estimate.synth import counts
from cellsim import lint, need, rtl, synth, xilinx_models

pytestmark = pytest.mark.sim

# (W, SUB_B, SUB_C)
MODES = [(w, sb, sc) for w in (1, 2, 3, 4) for sb in (0, 1) for sc in (0, 1)]
WIDE = (19, 1, 0)  # wider than four CARRY4s, random operands


def cases(mode, rng):
    w = mode[0]
    if w <= 4:
        vals = range(1 << w)
        return list(itertools.product(vals, vals, vals))
    return [tuple(int(v) for v in rng.integers(0, 1 << w, 3)) for _ in range(3000)]


def expected(mode, a, b, c):
    w, sb, sc = mode
    return (a + (-b if sb else b) + (-c if sc else c)) % (1 << w)


def run(tmp_path: Path, defines: tuple, extra: tuple) -> None:
    """Every mode's every case through one Icarus testbench, checked against Python."""
    rng = np.random.default_rng(3)
    modes = MODES + [WIDE]
    insts, vecs = [], []
    for j, m in enumerate(modes):
        w, sb, sc = m
        insts.append(f"  wire [{w - 1}:0] y{j};\n"
                     f"  add3 #(.W({w}), .SUB_B({sb}), .SUB_C({sc})) u{j} "
                     f"(.a(a[{w - 1}:0]), .b(b[{w - 1}:0]), "
                     f".c(c[{w - 1}:0]), .y(y{j}));")
        for a, b, c in cases(m, rng):
            vecs.append((j, a, b, c))
    (tmp_path / "vec.hex").write_text(
        "".join(f"{j:02x}{a:08x}{b:08x}{c:08x}\n" for j, a, b, c in vecs))
    outs = " ".join(f"y{j}," for j in range(len(modes)))
    sel = "\n".join(f"        {j}: y = y{j};" for j in range(len(modes)))
    (tmp_path / "tb.v").write_text(f"""`timescale 1ns/1ps
module tb;
  reg [31:0] a, b, c;
  reg [103:0] mem [0:{len(vecs) - 1}];
  reg [31:0] y;
  integer i, f;
{chr(10).join(insts)}
  initial begin
    $readmemh("vec.hex", mem);
    f = $fopen("out.txt", "w");
    for (i = 0; i < {len(vecs)}; i = i + 1) begin
      {{a, b, c}} = mem[i][95:0];
      #1;
      case (mem[i][103:96])
{sel}
        default: y = 0;
      endcase
      $fdisplay(f, "%0d", y);
    end
    $fclose(f);
    $finish;
  end
  wire unused = &{{1'b0, {outs} 1'b0}};
endmodule
""")
    need("icarus")
    flags = [f"-D{d}" for d in defines]
    subprocess.run(["iverilog", "-g2012", *flags, "-o", "tb.vvp", "tb.v", *map(str, rtl("add3.v")),
                    *map(str, extra)], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path, check=True, capture_output=True)
    got = [int(v) for v in (tmp_path / "out.txt").read_text().split()]
    assert len(got) == len(vecs)
    bad = [(modes[j], a, b, c, y, expected(modes[j], a, b, c))
           for (j, a, b, c), y in zip(vecs, got) if y != expected(modes[j], a, b, c)]
    assert not bad, f"{len(bad)} of {len(vecs)} wrong, first: {bad[:3]}"


def test_add3_xilinx_netlist_icarus(tmp_path):
    run(tmp_path, ("SYNTHESIS",), (xilinx_models(),))


def test_add3_arithmetic_icarus(tmp_path):
    run(tmp_path, (), ())


def test_add3_lint(tmp_path):
    for j, (w, sb, sc) in enumerate(MODES):
        (tmp_path / f"t{j}.v").write_text(
            f"module t{j} (input wire [{w - 1}:0] a, b, c, output wire [{w - 1}:0] y);\n"
            f"  add3 #(.W({w}), .SUB_B({sb}), .SUB_C({sc})) u (.a(a), .b(b), .c(c), .y(y));\n"
            f"endmodule\n")
        lint((tmp_path / f"t{j}.v",) + rtl("add3.v"), f"t{j}", cwd=tmp_path)


@pytest.mark.synth
def test_add3_synth_one_lut_per_bit(tmp_path):
    (tmp_path / "t.v").write_text(
        "module t (input wire [12:0] a, b, c, output wire [12:0] y, z);\n"
        "  add3 #(.W(13), .SUB_C(1)) u (.a(a), .b(b), .c(c), .y(y));\n"
        "  add3 #(.W(13), .SUB_B(1)) v (.a(a), .b(b), .c(13'h0b5d), .y(z));\n"
        "endmodule\n")
    cells = synth((tmp_path / "t.v",) + rtl("add3.v"), "t", cwd=tmp_path)
    logic = {c: n for c, n in cells.items() if c not in ("IBUF", "OBUF")}
    assert logic == {"LUT6_2": 26, "CARRY4": 8}, cells
    assert counts(logic)["LUT"] == 26  # the reports count a LUT6_2 as one LUT
