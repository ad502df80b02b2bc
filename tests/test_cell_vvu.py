"""The vvu cell (hw/rtl/vvu.v, depthwise convolution) through its rendered layer module:
bit-exact against the unit's golden() under random stalls, the deterministic cycle figures,
lint over the grid and one synthesis."""

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.ir.graph import Tensor
from archgen.ir.types import QuantSpec
from archgen.units import vvu
from cellsim import lint, rtl, run_unit, synth
from test_cell_mvu import KINDS, codes, inputs, spec

pytestmark = pytest.mark.sim


def layer(channels, taps, pe, xk, wk, zx=0, lead=(), seed=0, simd=1):
    """(op, ins, outs) of a random depthwise layer on the window stream of ``lead`` pixels."""
    rng = np.random.default_rng(seed)
    wq = spec(wk)
    op = vvu.Params(codes(rng, wq, (channels, taps)), zx, wq, pe=pe, simd=simd)
    x = Tensor("x", tuple(lead) + (taps * channels,), spec(xk))
    ((shape, q),) = op.infer([x])
    return op, [x], [Tensor("y", shape, q)]


# channels, taps, pe, inputs, weights, input zero point, output pixels (leading dims)
CASES = {
    "pe1-i4i4-3x3": (4, 9, 1, "i4", "i4", 0, (2, 2)),
    "full-i8i8": (6, 9, 6, "i8", "i8", 0, (3, 3)),
    "pe2-u8i4-zx": (6, 4, 2, "u8", "i4", 100, (2, 3)),
    "pe4-u2u2-zx": (8, 9, 4, "u2", "u2", 1, (2, 2)),
    "pe2-i16i16-1d": (4, 3, 2, "i16", "i16", 0, (3,)),
    "taps1-full-i4u4-zx": (3, 1, 3, "i4", "u4", -2, (4,)),
    "xnor-pe2": (4, 9, 2, "bip", "bip", 0, (2, 2)),
    "bipx-i8w-pe3": (6, 4, 3, "bip", "i8", 0, (2,)),
    "u8x-bipw-pe4": (4, 9, 4, "u8", "bip", 5, (2,)),
}
ROM = ("pe2-u8i4-zx", "xnor-pe2", "taps1-full-i4u4-zx")  # also run with a ROM file
VERILATOR = (("pe4-u2u2-zx", True), ("bipx-i8w-pe3", False))


def _check(tmp_path, simulator, name, rom, seed=0):
    op, ins, outs = layer(*CASES[name], seed=seed)
    res = run_unit(tmp_path, simulator, op, ins, outs, inputs(ins, 3, seed),
                   rom_bits=0 if rom else None, stall=0.3, seed=seed + 1)
    if rom:
        assert (tmp_path / "dut_weights.mem").is_file()
    d = vvu.derive(op, ins, outs)
    assert d["cycles"] == d["vectors"] * d["taps"] * (d["channels"] // d["pe"])
    assert res["interval_cycles"] == d["cycles"]
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]
    return res


@pytest.mark.parametrize("name", list(CASES))
def test_vvu_icarus(tmp_path, name):
    _check(tmp_path, "icarus", name, rom=False)


@pytest.mark.parametrize("name", ROM)
def test_vvu_rom_icarus(tmp_path, name):
    _check(tmp_path, "icarus", name, rom=True, seed=7)


@pytest.mark.parametrize("name,rom", VERILATOR)
def test_vvu_verilator(tmp_path, name, rom):
    _check(tmp_path, "verilator", name, rom=rom, seed=3)


def test_vvu_lint(tmp_path):
    for i, name in enumerate(CASES):
        for rom in (False, True):
            op, ins, outs = layer(*CASES[name])
            files = verilog.layer_files(f"l{i}", op, ins, outs, rom_bits=0 if rom else 1 << 30)
            assert any(f.endswith(".mem") for f in files) == rom
            for fname, text in files.items():
                (tmp_path / fname).write_text(text)
            lint((tmp_path / f"l{i}.v",) + rtl(*vvu.CELLS), f"l{i}", cwd=tmp_path)


def test_vvu_rejects_bad_folding():
    with pytest.raises(InternalError, match="SIMD must be 1"):
        vvu.derive(*layer(4, 9, 2, "i4", "i4", simd=3))
    with pytest.raises(InternalError, match="must divide"):
        vvu.derive(*layer(6, 9, 4, "i4", "i4"))


def test_vvu_weight_words():
    w = np.arange(24).reshape(6, 4) - 12  # 6 channels, 4 taps
    words = vvu.weight_words(w, QuantSpec(bits=8, signed=True), 3)
    assert len(words) == 4 * 2
    for k in range(4):
        for cf in range(2):
            for p in range(3):
                lane = (words[k * 2 + cf] >> (p * 8)) & 0xFF
                assert lane == w[cf * 3 + p, k] & 0xFF


@pytest.mark.synth
def test_vvu_synth(tmp_path):
    op, ins, outs = layer(16, 9, 4, "u4", "i4", 3, (4, 4))
    files = verilog.layer_files("dut", op, ins, outs, rom_bits=0)
    for fname, text in files.items():
        (tmp_path / fname).write_text(text)
    cells = synth((tmp_path / "dut.v",) + rtl(*vvu.CELLS), "dut", cwd=tmp_path)
    print("vvu 16ch 3x3 pe4 u4xi4 (ROM):", cells)
    assert cells.get("FDRE", 0) > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_vvu_random_icarus(tmp_path, seed):
    rng = np.random.default_rng(100 + seed)
    channels, taps = int(rng.integers(1, 9)), int(rng.integers(1, 10))
    pe = int(rng.choice([d for d in range(1, channels + 1) if channels % d == 0]))
    xk, wk = str(rng.choice(KINDS)), str(rng.choice(KINDS))
    zx = 0 if xk == "bip" else int(rng.integers(-3, 4))
    lead = [(1,), (3,), (2, 2)][int(rng.integers(0, 3))]
    case = (channels, taps, pe, xk, wk, zx, lead)
    op, ins, outs = layer(*case, seed=seed)
    res = run_unit(tmp_path, "icarus", op, ins, outs, inputs(ins, 3, seed),
                   rom_bits=0 if seed % 2 else None, stall=float(rng.choice([0.1, 0.5, 0.8])),
                   seed=seed)
    d = vvu.derive(op, ins, outs)
    assert res["interval_cycles"] == d["cycles"], case
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"], case
