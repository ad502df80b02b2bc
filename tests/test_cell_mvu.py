"""The mvu cell (hw/rtl/mvu.v) through its rendered layer module: bit-exact against the
unit's golden() under random stalls, the deterministic cycle figures, lint over the grid
and one synthesis."""

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.estimate import get_part
from archgen.ir.graph import Tensor
from archgen.ir.types import QuantSpec
from archgen.units import mvu
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim


def spec(kind: str) -> QuantSpec:
    """'i4': 4-bit signed, 'u8': 8-bit unsigned, 'bip': bipolar."""
    if kind == "bip":
        return QuantSpec.bipolar_spec()
    return QuantSpec(bits=int(kind[1:]), signed=kind[0] == "i")


def codes(rng, q: QuantSpec, size) -> np.ndarray:
    if q.bipolar:
        return rng.choice(np.array([-1, 1]), size=size)
    return rng.integers(q.lo, q.hi + 1, size=size, dtype=np.int64)


def layer(rows, cols, pe, simd, xk, wk, zx=0, lead=(), seed=0):
    """(op, ins, outs) of a random mvu layer."""
    rng = np.random.default_rng(seed)
    wq = spec(wk)
    op = mvu.Params(codes(rng, wq, (rows, cols)), zx, wq, pe=pe, simd=simd)
    x = Tensor("x", tuple(lead) + (cols,), spec(xk))
    ((shape, q),) = op.infer([x])
    return op, [x], [Tensor("y", shape, q)]


def inputs(ins, frames, seed):
    rng = np.random.default_rng(1000 + seed)
    return [codes(rng, t.quant, (frames,) + t.shape) for t in ins]


# rows, cols, pe, simd, inputs, weights, input zero point, leading dims (vectors per frame)
CASES = {
    "fold1x1-i4i4": (4, 6, 1, 1, "i4", "i4", 0, ()),
    "full-i8i8-5vec": (6, 8, 6, 8, "i8", "i8", 0, (5,)),
    "pe2simd3-u8i4-zx": (8, 12, 2, 3, "u8", "i4", 100, (3,)),
    "pe3simd4-u2u2-conv": (6, 12, 3, 4, "u2", "u2", 1, (2, 2)),
    "pe2simd5-i16i16": (4, 10, 2, 5, "i16", "i16", 0, ()),
    "pe8simd2-i2u4-zx": (8, 6, 8, 2, "i2", "u4", -2, (2, 3)),
    "xnor-pe4simd4": (8, 16, 4, 4, "bip", "bip", 0, (3,)),
    "xnor-pe1simd6": (3, 12, 1, 6, "bip", "bip", 0, ()),
    # XNOR mode's compressor tree (groups of 3 lanes, ternary levels, padded to the binary
    # tree's latency): 1 group; 1 lane; 4 groups, the last level as wide as the one
    # below; 10 groups in 3 levels; 22 groups, root as wide as TW, 3 padding registers
    "xnor-pe3simd3": (3, 9, 3, 3, "bip", "bip", 0, (2,)),
    "xnor-pe2simd1": (4, 3, 2, 1, "bip", "bip", 0, ()),
    "xnor-pe2simd10": (4, 20, 2, 10, "bip", "bip", 0, (2,)),
    "xnor-pe1simd28": (2, 56, 1, 28, "bip", "bip", 0, ()),
    "xnor-pe2simd64": (2, 128, 2, 64, "bip", "bip", 0, ()),
    "bipx-i8w-pe3simd3": (6, 9, 3, 3, "bip", "i8", 0, (2,)),
    "u8x-bipw-pe2simd8": (4, 8, 2, 8, "u8", "bip", 3, ()),
    # +-1 weights: masked sums and the inputs' own sum (CNV-w1a1's first layer: SIMD 3)
    "u8x-bipw-pe8simd3": (16, 27, 8, 3, "u8", "bip", 0, (2,)),
    "i5x-bipw-pe4simd6-zx": (8, 12, 4, 6, "i5", "bip", -2, (2,)),
    "pe1simd16-u4i4": (2, 32, 1, 16, "u4", "i4", 0, (2,)),
    "pe1simdfull-i4u2": (3, 8, 1, 8, "i4", "u2", 0, (2,)),
}
ROM = ("pe2simd3-u8i4-zx", "xnor-pe4simd4", "pe8simd2-i2u4-zx")  # also run with a ROM file
VERILATOR = (("pe2simd3-u8i4-zx", True), ("xnor-pe4simd4", False), ("xnor-pe2simd10", True))


def _check(tmp_path, simulator, name, rom, seed=0):
    op, ins, outs = layer(*CASES[name], seed=seed)
    res = run_unit(tmp_path, simulator, op, ins, outs, inputs(ins, 3, seed),
                   rom_bits=0 if rom else None, stall=0.3, seed=seed + 1)
    if rom:
        assert (tmp_path / "dut_weights.mem").is_file()
    d = mvu.derive(op, ins, outs)
    assert d["cycles"] == d["vectors"] * (d["rows"] // d["pe"]) * (d["cols"] // d["simd"])
    assert res["interval_cycles"] == d["cycles"]
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]
    return res


@pytest.mark.parametrize("name", list(CASES))
def test_mvu_icarus(tmp_path, name):
    _check(tmp_path, "icarus", name, rom=False)


@pytest.mark.parametrize("name", ROM)
def test_mvu_rom_icarus(tmp_path, name):
    _check(tmp_path, "icarus", name, rom=True, seed=7)


@pytest.mark.parametrize("name,rom", VERILATOR)
def test_mvu_verilator(tmp_path, name, rom):
    _check(tmp_path, "verilator", name, rom=rom, seed=3)


def test_mvu_lint(tmp_path):
    for i, name in enumerate(CASES):
        for rom in (False, True):
            op, ins, outs = layer(*CASES[name])
            files = verilog.layer_files(f"l{i}", op, ins, outs, rom_bits=0 if rom else 1 << 30)
            assert any(f.endswith(".mem") for f in files) == rom
            for fname, text in files.items():
                (tmp_path / fname).write_text(text)
            lint((tmp_path / f"l{i}.v",) + rtl(*mvu.CELLS), f"l{i}", cwd=tmp_path)


def test_mvu_rejects_bad_folding():
    with pytest.raises(InternalError, match="must divide"):
        mvu.derive(*layer(6, 8, 4, 2, "i4", "i4"))
    with pytest.raises(InternalError, match="must divide"):
        mvu.derive(*layer(6, 8, 2, 3, "i4", "i4"))


def test_mvu_weight_words():
    w = np.arange(24).reshape(4, 6) - 12
    q = QuantSpec(bits=8, signed=True)
    words = mvu.weight_words(w, q, 2, 3)
    assert len(words) == 2 * 2
    for nf in range(2):
        for sf in range(2):
            word = words[nf * 2 + sf]
            for p in range(2):
                for s in range(3):
                    lane = (word >> ((p * 3 + s) * 8)) & 0xFF
                    assert lane == w[nf * 2 + p, sf * 3 + s] & 0xFF


@pytest.mark.synth
def test_mvu_synth(tmp_path):
    op, ins, outs = layer(16, 32, 4, 8, "u4", "i4", 0, (4,))
    files = verilog.layer_files("dut", op, ins, outs, rom_bits=0)  # weights from the .mem file
    for fname, text in files.items():
        (tmp_path / fname).write_text(text)
    cells = synth((tmp_path / "dut.v",) + rtl(*mvu.CELLS), "dut", cwd=tmp_path)
    print("mvu 16x32 pe4 simd8 u4xi4 (ROM):", cells)
    assert cells.get("FDRE", 0) > 0


@pytest.mark.synth
def test_mvu_xnor_synth(tmp_path):
    """XNOR mode's compressor tree in yosys: 4 PE x 64 lanes (a CNV-w1a1 layer's SIMD).
    Every ternary adder is the add3 netlist, a LUT6_2 per bit: 22 counts of 3 lanes (2
    bits), then 7 add3 of 4 bits, 2 of 5 (and a binary adder), one of 7.  No latch; the
    estimate is not below yosys.  Measured (yosys 0.23, xc7): 524 LUT and 540 FF, against
    993 and 1,163 with the binary tree it replaced."""
    op, ins, outs = layer(8, 128, 4, 64, "bip", "bip")
    for fname, text in verilog.layer_files("dut", op, ins, outs).items():
        (tmp_path / fname).write_text(text)
    cells = synth((tmp_path / "dut.v",) + rtl(*mvu.CELLS), "dut", cwd=tmp_path)
    luts = sum(n for c, n in cells.items() if c.startswith("LUT") or c == "INV")
    est = mvu.resources(op, mvu.derive(op, ins, outs), get_part("xc7z020"))
    print("mvu 8x128 pe4 simd64 xnor:", cells, "estimate", est)
    assert cells.get("LUT6_2", 0) == 4 * (7 * 4 + 2 * 5 + 7)
    assert luts <= est.LUT


KINDS = ("i2", "u2", "i3", "u4", "i8", "u8", "i12", "bip")


def random_case(rng):
    rows, cols = int(rng.integers(1, 13)), int(rng.integers(1, 21))
    pe = int(rng.choice([d for d in range(1, rows + 1) if rows % d == 0]))
    simd = int(rng.choice([d for d in range(1, cols + 1) if cols % d == 0]))
    xk, wk = str(rng.choice(KINDS)), str(rng.choice(KINDS))
    zx = 0 if xk == "bip" else int(rng.integers(-3, 4))
    lead = [(), (3,), (2, 2)][int(rng.integers(0, 3))]
    return rows, cols, pe, simd, xk, wk, zx, lead


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(16))
def test_mvu_random_icarus(tmp_path, seed):
    rng = np.random.default_rng(seed)
    case = random_case(rng)
    op, ins, outs = layer(*case, seed=seed)
    res = run_unit(tmp_path, "icarus", op, ins, outs, inputs(ins, 3, seed),
                   rom_bits=0 if seed % 2 else None, stall=float(rng.choice([0.1, 0.5, 0.8])),
                   seed=seed)
    d = mvu.derive(op, ins, outs)
    assert res["interval_cycles"] == d["cycles"], case
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"], case
