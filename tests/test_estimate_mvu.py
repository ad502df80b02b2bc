"""The analytic resource model of the matrix-vector unit (units/mvu.py, hw/rtl/mvu.v) and the
depthwise vector-vector unit (units/vvu.py, hw/rtl/vvu.v) against yosys synth_xilinx, on a
grid of configurations that are not the fixtures': LUT and DSP products on both sides of
yosys's DSP rule, XNOR-popcount and bipolar operands, PE x SIMD folding, weight ROMs in
logic and in block RAM, as a constant or a $readmemh file."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import test_cell_mvu
import test_cell_vvu
from cellsim import rtl

from archgen.backends import verilog
from archgen.estimate import get_part, primitives
from archgen.estimate.resources import KEYS, Cost
from archgen.estimate.synth import Job, counts, run_job, yosys_version
from archgen.simulate import cache_root
from archgen.units import mvu, vvu

PART = get_part("xc7z020")

# rows, cols, pe, simd, inputs, weights, input zero point
MVU = {
    "pe1simd1-i4i4": (8, 16, 1, 1, "i4", "i4"),  # LUT products, 128-word ROM
    "pe2simd2-u4i4-zx": (16, 32, 2, 2, "u4", "i4", 3),
    "pe2simd4-u4u4": (16, 16, 2, 4, "u4", "u4"),  # u4 x u4: 8 product bits, LUTs
    "pe2simd4-i5i4": (16, 16, 2, 4, "i5", "i4"),  # 9 product bits: a DSP each
    "pe4simd8-i8i8": (16, 32, 4, 8, "i8", "i8"),  # DSPs, first tree level in their adders
    "xnor-pe4simd16": (64, 64, 4, 16, "bip", "bip"),
    "bipx-i8w-pe2simd4": (32, 32, 2, 4, "bip", "i8"),
    "u8x-bipw-pe4simd4": (16, 32, 4, 4, "u8", "bip"),
    "pe1simd1-u8i8-dspacc": (32, 32, 1, 1, "u8", "i8"),  # the DSP accumulates
    # biases of 22-bit row groups: the index product nf x 11 (5 x 4 bits) takes a DSP
    "pe2simd2-i4i4-zx-biasdsp": (64, 16, 2, 2, "i4", "i4", 3),
}
# channels, taps, pe, inputs, weights
VVU = {
    "pe1-i8i8": (16, 9, 1, "i8", "i8"),
    "pe8-u4i4": (64, 9, 8, "u4", "i4"),
    "pe2-u4i4-zx-biasdsp": (64, 9, 2, "u4", "i4", 3),  # cf x 11 (5 x 4 bits): a DSP
}
ROM_FILE = ("pe1simd1-i4i4",)  # also with the weights as a $readmemh file

SLOW_MVU = {
    "pe4simd16-i4i4": (16, 64, 4, 16, "i4", "i4"),
    "pe4simd16-i8i8": (16, 64, 4, 16, "i8", "i8"),
    "pe4simd8-u4i4": (16, 32, 4, 8, "u4", "i4"),
    "xnor-pe1simd1": (64, 64, 1, 1, "bip", "bip"),
    "xnor-pe8simd32": (32, 64, 8, 32, "bip", "bip"),
    "pe8simd8-i2i2": (64, 64, 8, 8, "i2", "i2"),
    "pe2simd2-i20i20": (8, 8, 2, 2, "i20", "i20"),  # two DSPs per product
    "bram-pe1simd1-i8i8": (32, 64, 1, 1, "i8", "i8"),  # 2048 x 8 ROM: a RAMB18
    "d128-pe1simd1-i8i8": (8, 16, 1, 1, "i8", "i8"),
    "d64-pe1simd1-i8i8": (8, 8, 1, 1, "i8", "i8"),
    "d64-pe8simd8-i4i4": (64, 64, 8, 8, "i4", "i4"),  # 64 x 256 ROM in logic
    "d128-pe8simd8-i4i4": (64, 128, 8, 8, "i4", "i4"),  # 128 x 256: still logic
    "pe4simd2-i4i4-zx-biaslut": (32, 16, 4, 2, "i4", "i4", 3),  # nf x 11 (3 x 4 bits): LUTs
    "pe1simd1-i8i8-zx-biasdsp": (32, 8, 1, 1, "i8", "i8", 5),  # 2 DSPs: product, bias index
}
SLOW_VVU = {
    "pe1-u4i4": (16, 9, 1, "u4", "i4"),
    "pe4-i8i8": (32, 9, 4, "i8", "i8"),
    "pe2-xnor-25taps": (32, 25, 2, "bip", "bip"),
    "pe16-i4i4": (16, 9, 16, "i4", "i4"),
    "bram-pe1-u8i8": (128, 9, 1, "u8", "i8"),
    "pe1-u8i8-zx-oddbias": (32, 9, 1, "u8", "i8", 3),  # 19-bit biases: a power-of-two stride
}
SLOW_ROM_FILE = ("bram-pe1simd1-i8i8", "xnor-pe1simd1")


def layer(kind: str, args):
    if kind == "mvu":
        return test_cell_mvu.layer(*args)
    return test_cell_vvu.layer(*args)


def synthesize(op, ins, outs, rom_bits: int, family: str = PART.family) -> dict:
    """Yosys's counts (resources.json keys) for the layer module, cached by content."""
    if shutil.which("yosys") is None:
        pytest.skip("yosys not found (Debian: apt-get install yosys)")
    unit = mvu if op.kind() == "mvu" else vvu
    with tempfile.TemporaryDirectory() as tmp:
        files = verilog.layer_files("l", op, ins, outs, rom_bits=rom_bits)
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        srcs = (Path(tmp) / "l.v", *rtl(*unit.CELLS))
        data = tuple(Path(tmp) / f for f in files if f.endswith(".mem"))
        cells = run_job(Job("l", "l", srcs, data), family, yosys_version(),
                        cache_root() / "synth")
    return counts(cells)


def check(kind: str, args, rom_file: bool = False, part=PART):
    op, ins, outs = layer(kind, args)
    unit = mvu if kind == "mvu" else vvu
    rom_bits = 0 if rom_file else verilog.ROM_BITS
    if rom_file:
        assert any(f.endswith(".mem") for f in verilog.layer_files("l", op, ins, outs, 0))
    y = synthesize(op, ins, outs, rom_bits, part.family)
    e = unit.resources(op, unit.derive(op, ins, outs), part).rounded()
    for k in ("DSP", "BRAM18", "BRAM36"):
        assert e[k] == y[k], f"{k}: estimate {e} yosys {y}"
    assert abs(e["LUT"] - y["LUT"]) <= max(30, 0.25 * y["LUT"]), f"LUT: estimate {e} yosys {y}"
    assert abs(e["FF"] - y["FF"]) <= max(30, 0.25 * y["FF"]), f"FF: estimate {e} yosys {y}"
    assert abs(e["CARRY4"] - y["CARRY4"]) <= max(8, 0.5 * y["CARRY4"]), f"{e} yosys {y}"


@pytest.mark.synth
@pytest.mark.parametrize("name", list(MVU))
def test_mvu_estimate_matches_yosys(name):
    check("mvu", MVU[name])


# on UltraScale+ (xcup) yosys packs nothing into a DSP48E2 (``Part.dsp_packs``): the
# operand and product registers and the tree's first adders stay in fabric
ULTRASCALE = [("mvu", MVU["pe4simd8-i8i8"]), ("mvu", MVU["pe2simd4-i5i4"]),
              ("vvu", SLOW_VVU["pe4-i8i8"])]


@pytest.mark.synth
@pytest.mark.parametrize("kind,args", ULTRASCALE, ids=["mvu-pe4simd8-i8i8", "mvu-pe2simd4-i5i4",
                                                       "vvu-pe4-i8i8"])
def test_estimate_matches_yosys_on_ultrascale(kind, args):
    check(kind, args, part=get_part("xcvu9p"))


@pytest.mark.synth
@pytest.mark.parametrize("name", ROM_FILE)
def test_mvu_estimate_matches_yosys_with_rom_file(name):
    check("mvu", MVU[name], rom_file=True)


@pytest.mark.synth
@pytest.mark.parametrize("name", list(VVU))
def test_vvu_estimate_matches_yosys(name):
    check("vvu", VVU[name])


@pytest.mark.synth
@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_MVU))
def test_mvu_estimate_matches_yosys_slow(name):
    check("mvu", SLOW_MVU[name])


@pytest.mark.synth
@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_ROM_FILE)
def test_mvu_estimate_matches_yosys_with_rom_file_slow(name):
    check("mvu", SLOW_MVU[name], rom_file=True)


@pytest.mark.synth
@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_VVU))
def test_vvu_estimate_matches_yosys_slow(name):
    check("vvu", SLOW_VVU[name])


# -- no yosys: the model is pure, cheap and monotone -------------------------------------


def estimate(kind, args, part=PART) -> dict:
    op, ins, outs = layer(kind, args)
    unit = mvu if kind == "mvu" else vvu
    cost = unit.resources(op, unit.derive(op, ins, outs), part)
    assert isinstance(cost, Cost)
    return cost.rounded()


def test_resources_are_pure_and_do_not_render(monkeypatch, tmp_path):
    """resources() reads derive()'s figures only: no rendering, no files, same answer twice."""
    def boom(*a, **k):
        raise AssertionError("resources() must not render or write files")

    monkeypatch.setattr(verilog, "layer_files", boom)
    monkeypatch.setattr(verilog, "render", boom)
    monkeypatch.setattr(Path, "write_text", boom)
    monkeypatch.setattr(Path, "read_text", boom)
    for kind, table in (("mvu", MVU), ("vvu", VVU)):
        for args in table.values():
            a, b = estimate(kind, args), estimate(kind, args)
            assert a == b and set(a) == set(KEYS)
            assert all(isinstance(v, int) and v >= 0 for v in a.values()), a


@pytest.mark.parametrize("xk,wk", [("i4", "i4"), ("i8", "i8"), ("bip", "bip"), ("u8", "bip")])
def test_mvu_more_parallel_is_not_cheaper(xk, wk):
    prev = None
    for pe, simd in ((1, 1), (2, 2), (4, 4), (8, 8), (8, 16)):
        e = estimate("mvu", (32, 64, pe, simd, xk, wk))
        if prev is not None:
            assert e["LUT"] + 0 >= prev["LUT"] * 0.9, (pe, simd, e, prev)
            assert e["FF"] >= prev["FF"] and e["DSP"] >= prev["DSP"], (pe, simd, e, prev)
        prev = e


def test_dsp_counts_follow_yosys_rule():
    # one DSP per product once it has 9 bits and both operands 2 (measured on yosys 0.23)
    assert estimate("mvu", (16, 32, 4, 8, "i8", "i8"))["DSP"] == 32
    assert estimate("mvu", (16, 32, 4, 8, "i4", "i4"))["DSP"] == 0
    assert estimate("mvu", (16, 32, 4, 8, "u4", "u4"))["DSP"] == 0
    assert estimate("mvu", (16, 16, 2, 4, "i5", "i4"))["DSP"] == 8
    assert estimate("mvu", (8, 8, 2, 2, "i20", "i20"))["DSP"] == 8
    assert estimate("mvu", (64, 64, 4, 16, "bip", "bip"))["DSP"] == 0
    assert estimate("vvu", (32, 9, 4, "i8", "i8"))["DSP"] == 4
    # UltraScale+ DSP48E2 takes a 27-bit operand: i26 x i18 is one slice there, two on xc7
    assert primitives.multiplier(26, 18, get_part("xczu3eg").dsp_widths).DSP == 1
    assert primitives.multiplier(26, 18, PART.dsp_widths).DSP == 2
    assert primitives.multiplier(24, 17, PART.dsp_widths, None, False, False).DSP == 1


def test_vvu_more_lanes_is_not_cheaper():
    prev = None
    for pe in (1, 2, 4, 8, 16):
        e = estimate("vvu", (16, 9, pe, "i8", "i8"))
        if prev is not None:
            assert e["FF"] >= prev["FF"] and e["DSP"] >= prev["DSP"], (pe, e, prev)
        prev = e
