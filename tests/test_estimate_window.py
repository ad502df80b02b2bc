"""The analytic resource model of memories (gen/archgen/estimate/memory.py), sliding-window
generators (units/swg.py), deformable window generators (units/dswg.py), pooling
(units/pool.py) and the top's stream plumbing (estimate/glue.py) against yosys
synth_xilinx on a grid of configurations that are not the fixtures': ROMs and RAMs on both
sides of the LUT / block-RAM boundary, line buffers in LUT-RAM and block RAM, windowed and
global pooling, bilinear sampling with its products on and off DSP slices."""

from __future__ import annotations

import random
import shutil

import pytest
import test_cell_dswg

from archgen.backends import verilog
from archgen.estimate import get_part, glue, memory
from archgen.estimate.resources import KEYS, Cost
from archgen.estimate.synth import Job, counts, run_job, yosys_version
from archgen.ir.graph import Tensor
from archgen.ir.types import QuantSpec
from archgen.simulate import cache_root
from archgen.units import dswg, pool, swg
from cellsim import rtl

PART = get_part("xc7z020")
U4 = QuantSpec(bits=4, signed=False)
U8 = QuantSpec(bits=8, signed=False)
I8 = QuantSpec(bits=8, signed=True)


def swg_layer(shape, kernel, strides, pads, simd, spec):
    op = swg.Params(kernel, strides, pads, (1,) * len(kernel), 0, simd)
    x = Tensor("x", shape, spec)
    (ys, yq), = op.infer([x])
    return op, x, Tensor("y", ys, yq)


def pool_layer(shape, reduce, kernel, strides, pads, pe, spec):
    op = pool.Params(reduce, kernel, strides, pads, (1,) * len(kernel), False, None, pe)
    x = Tensor("x", shape, spec)
    (ys, yq), = op.infer([x])
    return op, x, Tensor("y", ys, yq)


# id: (unit, layer) -- line buffers of 32..1024 words, 4..512 bits wide
SWG = {
    "swg_3x3p1_8x8x4_u4": swg_layer((8, 8, 4), (3, 3), (1, 1), (1, 1, 1, 1), 1, U4),
    "swg_1d_k3_64x8_u4": swg_layer((64, 8), (3,), (1,), (1, 1), 1, U4),
    "swg_3x3_32x32x16_simd2": swg_layer((32, 32, 16), (3, 3), (1, 1), (0, 0, 0, 0), 2, U8),
    "swg_2x2s2_16x16x32_simd8_u4": swg_layer((16, 16, 32), (2, 2), (2, 2), (0, 0, 0, 0), 8, U4),
}
POOL = {
    "pool_max2x2s2_8x8x8_pe2": pool_layer((8, 8, 8), "max", (2, 2), (2, 2), (0, 0, 0, 0), 2, U4),
    "pool_max3x3s2p1_32x32x16_pe4": pool_layer((32, 32, 16), "max", (3, 3), (2, 2),
                                               (1, 1, 1, 1), 4, I8),
    "gpool_sum_4x4x32_pe32": pool_layer((4, 4, 32), "sum", (4, 4), (1, 1), (0, 0, 0, 0), 32, U4),
}
SLOW_SWG = {
    "swg_5x5s2_28x28x1": swg_layer((28, 28, 1), (5, 5), (2, 2), (0, 0, 0, 0), 1, U8),
    "swg_3x3p1_16x16x64_simd64": swg_layer((16, 16, 64), (3, 3), (1, 1), (1, 1, 1, 1), 64, U8),
    "swg_3x3p1_32x32x64_simd8": swg_layer((32, 32, 64), (3, 3), (1, 1), (1, 1, 1, 1), 8, U8),
    "swg_3x3p1_8x8x4_simd4": swg_layer((8, 8, 4), (3, 3), (1, 1), (1, 1, 1, 1), 4, U4),
}
SLOW_POOL = {
    "pool_sum3x3p1_8x8x4": pool_layer((8, 8, 4), "sum", (3, 3), (1, 1), (1, 1, 1, 1), 1, I8),
    "gpool_max_7x7x64_pe4": pool_layer((7, 7, 64), "max", (7, 7), (1, 1), (0, 0, 0, 0), 4, I8),
}
# deformable window generators, by their cell tests' names: fraction products on a DSP
# (F 4) and in LUTs (F 2 at 7 bits, F 1), a mask, 1 to 3 lanes, a line buffer with the
# offsets' clamp
DSWG = ("k3_s1_p1_F2_mask", "k3_d2_p1_F4_mask_og2", "line_k3_s2_R1_og2_F3")
SLOW_DSWG = ("9x11x3_k23_s2_d2_F1", "line_k23_s2_R2_F0", "k3_s2_p0_F4_og2")


def dswg_layer(name):
    line = test_cell_dswg.LINE_CASES
    case, bound = line[name] if name in line else \
        ({**test_cell_dswg.CASES, **test_cell_dswg.SLOW_CASES}[name], None)
    op, ins, outs, _ = test_cell_dswg.layer(case, frames=1, bound=bound)
    return op, ins, outs


# (kind, depth, width): each pair straddles a boundary of yosys's memory_libmap choice
MEMS = [("rom", 512, 16), ("rom", 512, 17), ("ram", 256, 8), ("ram", 256, 16)]
SLOW_MEMS = [("rom", 4096, 2), ("rom", 4096, 3), ("rom", 256, 64), ("rom", 256, 72),
             ("rom", 2048, 1), ("rom", 16384, 1), ("rom", 1000, 20), ("rom", 64, 32),
             ("ram", 32, 7), ("ram", 128, 16), ("ram", 64, 64), ("ram", 1024, 8),
             ("ram", 512, 72), ("ram", 2, 9)]


def need_yosys():
    if shutil.which("yosys") is None:
        pytest.skip("yosys not found on PATH")


def synth(job: Job) -> dict:
    return counts(run_job(job, "xc7", yosys_version(), cache_root() / "synth"))


def synth_layer(tmp_path, unit, op, x, y) -> dict:
    for fname, text in verilog.layer_files("dut", op, [x], [y]).items():
        (tmp_path / fname).write_text(text)
    return synth(Job("dut", "dut", (tmp_path / "dut.v", *rtl(*unit.CELLS))))


def memory_module(tmp_path, kind: str, depth: int, width: int) -> Job:
    """A standalone memory coded as the cells code theirs: a ROM read into a register
    with an enable (mvu.v, thresholds.v; $readmemh of random words), or a RAM with one
    write port and a registered, enabled read port (swg.v, axis_fifo.v)."""
    aw = max(1, (depth - 1).bit_length())
    name = f"{kind}_{depth}x{width}"
    if kind == "rom":
        rng = random.Random(depth * 1009 + width)
        (tmp_path / f"{name}.mem").write_text(
            "".join(f"{rng.getrandbits(width):x}\n" for _ in range(depth)))
        body = (f"  input wire en, input wire [{aw - 1}:0] addr, output reg [{width - 1}:0] q);\n"
                f"  reg [{width - 1}:0] rom [0:{depth - 1}];\n"
                f"  initial $readmemh(\"{name}.mem\", rom);\n"
                "  always @(posedge aclk) if (en) q <= rom[addr];\n")
        data = (tmp_path / f"{name}.mem",)
    else:
        body = (f"  input wire we, input wire [{aw - 1}:0] wa, input wire [{width - 1}:0] wd,\n"
                f"  input wire re, input wire [{aw - 1}:0] ra, output reg [{width - 1}:0] q);\n"
                f"  reg [{width - 1}:0] mem [0:{depth - 1}];\n"
                "  always @(posedge aclk) begin\n"
                "    if (we) mem[wa] <= wd;\n"
                "    if (re) q <= mem[ra];\n"
                "  end\n")
        data = ()
    (tmp_path / f"{name}.v").write_text(f"module {name} (\n  input wire aclk,\n{body}endmodule\n")
    return Job(name, name, (tmp_path / f"{name}.v",), data)


def check(est: Cost, got: dict, what: str, lut_tol=0.25, lut_abs=30):
    e = est.rounded()
    for k in ("DSP", "BRAM18", "BRAM36"):
        assert e[k] == got[k], f"{what}: {k} estimate {e[k]}, yosys {got[k]} ({e} vs {got})"
    assert abs(e["LUT"] - got["LUT"]) <= max(lut_tol * got["LUT"], lut_abs), \
        f"{what}: LUT estimate {e['LUT']}, yosys {got['LUT']}"


# -- cheap: no yosys ---------------------------------------------------------------------

def test_memory_choice_follows_memory_libmap_costs():
    # ROMs: logic below 64 * 131 bits, then block RAM unless logic is still cheaper
    assert memory.rom_kind(4096, 2) == "logic" and memory.rom_kind(4096, 3) == "bram"
    assert memory.rom_kind(512, 16) == "logic" and memory.rom_kind(512, 17) == "bram"
    assert memory.rom_kind(32, 512) == "logic"  # 15 RAMB18 would cost more
    assert memory.rom_cost(256, 72).rounded()["BRAM36"] == 1  # 512x72 simple dual-port
    assert memory.rom_cost(16384, 8).rounded()["BRAM36"] == 4  # 16Kx2 each
    assert memory.rom_cost(32, 8).rounded()["LUT"] == 8  # a LUT per bit
    # RAMs: LUT-RAM (4 LUTs per RAM32M/RAM64M) until block RAM is cheaper
    assert memory.ram_kind(256, 8) == "lutram" and memory.ram_kind(256, 16) == "bram"
    assert memory.ram_cost(32, 6).rounded()["LUT"] == 4  # one RAM32M
    assert memory.ram_cost(64, 6).rounded()["LUT"] == 8  # two RAM64M
    assert memory.ram_async(1, 8) == Cost(FF=8)  # one word: flip-flops


def test_memory_costs_grow_with_size():
    for fn in (memory.rom_cost, memory.ram_cost, memory.ram_async):
        for w in (1, 3, 8, 17, 64):
            prev = 0.0
            for d in (16, 64, 256, 1024, 4096):
                c = fn(d, w)
                size = c.LUT + 64 * c.BRAM18 + 128 * c.BRAM36
                assert size >= prev * 0.5, (fn.__name__, d, w)  # LUTs may turn into a BRAM
                prev = size
                assert all(getattr(c, k) >= 0 for k in KEYS)


@pytest.mark.parametrize("name", list(SWG) + list(POOL))
def test_window_estimate_is_pure_and_monotone(name, monkeypatch):
    """resources() reads derive()'s figures only: no rendering, no files; more lanes per
    beat never cost fewer LUTs+FFs."""
    unit, (op, x, y) = (swg, SWG[name]) if name in SWG else (pool, POOL[name])
    d = unit.derive(op, [x], [y])

    def boom(*a, **k):
        raise AssertionError("resources() must not render or open files")

    monkeypatch.setattr(verilog, "layer_files", boom)
    monkeypatch.setattr("builtins.open", boom)
    c = unit.resources(op, d, PART)
    assert isinstance(c, Cost) and c.LUT > 0 and c.FF > 0 and c.DSP == 0
    assert unit.resources(op, d, PART) == c  # deterministic
    lanes = d["simd"] if unit is swg else d["pe"]
    wider = [k for k in range(lanes + 1, d["channels"] + 1) if d["channels"] % k == 0]
    if wider:
        op2 = (swg.Params(op.kernel, op.strides, op.pads, op.dilations, op.pad_value, wider[0])
               if unit is swg else
               pool.Params(op.reduce, op.kernel, op.strides, op.pads, op.dilations, op.ceil_mode,
                           op.pad_value, wider[0]))
        c2 = unit.resources(op2, unit.derive(op2, [x], [y]), PART)
        assert c2.LUT + c2.FF + 64 * (c2.BRAM18 + 2 * c2.BRAM36) >= \
            0.8 * (c.LUT + c.FF + 64 * (c.BRAM18 + 2 * c.BRAM36))


def test_glue_parts_scale_with_width():
    assert glue.fifo(8, 16).LUT < glue.fifo(64, 16).LUT
    assert glue.fifo(64, 2048).BRAM18 + glue.fifo(64, 2048).BRAM36 >= 1
    assert glue.fork(8, 2).FF < glue.fork(32, 2).FF
    assert glue.width_converter(4, 1, 8).FF < glue.width_converter(4, 1, 32).FF


# -- yosys -------------------------------------------------------------------------------

def _slow(params, slow):
    """The default grid, then the larger one under the slow marker."""
    return list(params) + [pytest.param(*(v if isinstance(v, tuple) else (v,)),
                                        marks=pytest.mark.slow) for v in slow]


@pytest.mark.synth
@pytest.mark.parametrize("kind,depth,width", _slow(MEMS, SLOW_MEMS))
def test_memory_against_yosys(tmp_path, kind, depth, width):
    need_yosys()
    got = synth(memory_module(tmp_path, kind, depth, width))
    est = memory.rom_cost(depth, width) if kind == "rom" else memory.ram_cost(depth, width)
    check(est, got, f"{kind} {depth}x{width}", lut_abs=8)


@pytest.mark.synth
@pytest.mark.parametrize("name", _slow(list(SWG) + list(POOL), list(SLOW_SWG) + list(SLOW_POOL)))
def test_window_against_yosys(tmp_path, name):
    need_yosys()
    table = {**SWG, **POOL, **SLOW_SWG, **SLOW_POOL}
    unit = swg if name in SWG or name in SLOW_SWG else pool
    op, x, y = table[name]
    got = synth_layer(tmp_path, unit, op, x, y)
    check(unit.resources(op, unit.derive(op, [x], [y]), PART), got, name)


@pytest.mark.synth
@pytest.mark.parametrize("name", _slow(DSWG, SLOW_DSWG))
def test_dswg_against_yosys(tmp_path, name):
    need_yosys()
    op, ins, outs = dswg_layer(name)
    for fname, text in verilog.layer_files("dut", op, ins, outs).items():
        (tmp_path / fname).write_text(text)
    got = synth(Job("dut", "dut", (tmp_path / "dut.v", *rtl(*dswg.CELLS))))
    check(dswg.resources(op, dswg.derive(op, ins, outs), PART), got, name)
