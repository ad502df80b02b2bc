"""Pooling layers (hw/rtl/swg.v + pool.v, or gpool.v) against pool.golden(): max and sum,
strided windows with padding, ceil mode, global pooling, PE 1..C, under random stalls."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import ConfigError, UnsupportedOpError
from archgen.ir.graph import Tensor
from archgen.ir.ops import spatial_out
from archgen.ir.types import QuantSpec
from archgen.units import pool
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

U4 = QuantSpec(bits=4, signed=False)
I4 = QuantSpec(bits=4, signed=True)
BIP = QuantSpec.bipolar_spec()

# id: (input shape, reduce, kernel, strides, pads, ceil_mode, pe, spec)
CASES = {
    "max_2x2_s2": ((4, 6, 2), "max", (2, 2), (2, 2), (0, 0, 0, 0), False, 1, U4),
    "sum_2x2_s2_pe_c": ((4, 6, 2), "sum", (2, 2), (2, 2), (0, 0, 0, 0), False, 2, I4),
    "max_3x3_s2_p1": ((7, 7, 3), "max", (3, 3), (2, 2), (1, 1, 1, 1), False, 3, I4),
    "sum_3x3_s2_p1": ((5, 7, 4), "sum", (3, 3), (2, 2), (1, 1, 1, 1), False, 2, U4),
    "max_3x3_s2_ceil": ((6, 6, 2), "max", (3, 3), (2, 2), (0, 0, 0, 0), True, 1, I4),
    "sum_3x3_s2_ceil": ((7, 7, 3), "sum", (3, 3), (2, 2), (0, 0, 0, 0), True, 1, U4),
    "max_global": ((5, 7, 4), "max", (5, 7), (1, 1), (0, 0, 0, 0), False, 4, I4),
    "sum_global_pe1": ((3, 5, 4), "sum", (3, 5), (1, 1), (0, 0, 0, 0), False, 1, U4),
    "max_1d_k3_s2_p1": ((9, 4), "max", (3,), (2,), (1, 1), False, 2, U4),
    "max_bipolar_p1": ((6, 5, 2), "max", (2, 2), (2, 2), (1, 1, 1, 1), False, 2, BIP),
    "sum_bipolar_global": ((4, 4, 3), "sum", (4, 4), (1, 1), (0, 0, 0, 0), False, 3, BIP),
}
VERILATOR_CASES = ("max_3x3_s2_p1",)
SLOW_CASES = {
    "sum_16x16_2x2_s2": ((16, 16, 8), "sum", (2, 2), (2, 2), (0, 0, 0, 0), False, 4, I4),
    "max_13x11_3x3_s2_p1_ceil": ((13, 11, 3), "max", (3, 3), (2, 2), (1, 1, 1, 1), True, 1, U4),
    "sum_global_8x8": ((8, 8, 6), "sum", (8, 8), (1, 1), (0, 0, 0, 0), False, 2, I4),
}


def layer(case, pad_value=None):
    shape, reduce, kernel, strides, pads, ceil, pe, spec = case
    op = pool.Params(reduce, kernel, strides, pads, (1,) * len(kernel), ceil, pad_value, pe)
    x = Tensor("x", shape, spec)
    (yshape, yspec), = op.infer([x])
    return op, x, Tensor("y", yshape, yspec)


def check(tmp_path, simulator, case, frames=3, seed=0, pad_value=None):
    op, x, y = layer(case, pad_value)
    rng = np.random.default_rng(seed)
    q = x.quant
    xs = rng.integers(q.lo, q.hi + 1, size=(frames,) + x.shape)
    if q.bipolar:
        xs = np.where(xs >= 0, 1, -1)
    res = run_unit(tmp_path, simulator, op, [x], [y], [xs], frames=frames, stall=0.4)
    d = pool.derive(op, [x], [y])
    # global: the input beats; windows: the busier side of the swg, one beat per cycle
    assert res["interval_cycles"] == d["cycles"]
    assert d["cycles"] == max(d["in_beats"], d["window_beats"])
    assert res["latency_cycles"] == d["latency_cycles"]
    return res, d


@pytest.mark.parametrize("name", list(CASES))
def test_pool_icarus(tmp_path, name):
    check(tmp_path, "icarus", CASES[name])


@pytest.mark.parametrize("name", VERILATOR_CASES)
def test_pool_verilator(tmp_path, name):
    check(tmp_path, "verilator", CASES[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_CASES))
def test_pool_bigger(tmp_path, name):
    check(tmp_path, "icarus", SLOW_CASES[name], frames=2)


def test_pool_explicit_pad_value(tmp_path):
    """A padded sum with an explicit pad code (every padded tap adds it)."""
    check(tmp_path, "icarus", ((5, 5, 2), "sum", (3, 3), (2, 2), (1, 0, 1, 2), False, 1,
                               QuantSpec(bits=5, signed=True)), pad_value=-3)


def test_global_pool_latency(tmp_path):
    """gpool: the frame's last beat in, the last result out through the skid register."""
    res, d = check(tmp_path, "icarus", CASES["max_global"], frames=2)
    assert d["global"] and d["cycles"] == 35
    assert res["latency_cycles"] == d["in_beats"] + 1


def test_max_windows_hold_a_real_element():
    """Max pooling pads with the input's lowest code, which is right only if every window
    holds an input element: true for ONNX pads (< kernel) with or without ceil mode."""
    for size, k, s, pb, pe, ceil in itertools.product(range(1, 8), range(1, 5), range(1, 5),
                                                      range(4), range(4), (False, True)):
        if pb >= k or pe >= k or spatial_out(size, k, s, pb, pe, 1, ceil) < 1:
            continue
        op, x, y = layer(((size, 2), "max", (k,), (s,), (pb, pe), ceil, 1, U4))
        pool.context(op, [x], [y])  # raises on a window entirely in the padding
        assert pool.golden(op, np.zeros((1, size, 2), np.int64))[0].min() == 0
    # a dilated window can skip every input element: rejected
    op = pool.Params("max", (2,), (1,), (1, 1), (2,), False, None, 1)
    x = Tensor("x", (1, 2), U4)
    (ys, yq), = op.infer([x])
    with pytest.raises(UnsupportedOpError, match="lies entirely in the padding"):
        pool.context(op, [x], [Tensor("y", ys, yq)])


def test_pool_rejects():
    op, x, y = layer(((4, 4, 6), "max", (2, 2), (2, 2), (0, 0, 0, 0), False, 4, U4))
    with pytest.raises(ConfigError, match="4 lanes must divide its 6 channels"):
        pool.derive(op, [x], [y])
    op, x, y = layer(((4, 4, 2), "sum", (3, 3), (1, 1), (1, 1, 1, 1), False, 1, BIP))
    with pytest.raises(UnsupportedOpError, match="bipolar"):
        pool.context(op, [x], [y])


def test_pool_widths():
    op, x, y = layer(CASES["sum_3x3_s2_p1"])  # u4 sums of 9: [0, 135], 8 bits out
    c = pool.context(op, [x], [y])
    assert (c["out_bits"], c["acc_bits"], c["in_signed"], c["global"]) == (8, 9, False, False)
    op, x, y = layer(CASES["max_bipolar_p1"])  # bits: max = or, pad bit 0
    c = pool.context(op, [x], [y])
    assert (c["out_bits"], c["acc_bits"], c["in_bipolar"], c["pad_bits"]) == (1, 2, False, 0)
    op, x, y = layer(CASES["sum_bipolar_global"])
    c = pool.context(op, [x], [y])
    assert (c["in_bipolar"], c["acc_bits"], c["global"], c["taps"]) == (True, 6, True, 16)
    assert (c["buffer_bits"], c["in_beats"], c["out_beats"], c["cycles"]) == (0, 16, 1, 16)


def render_all(tmp_path) -> list:
    out = []
    for name, case in {**CASES, **SLOW_CASES}.items():
        op, x, y = layer(case)
        folder = tmp_path / name
        folder.mkdir()
        for fname, text in verilog.layer_files("dut", op, [x], [y]).items():
            (folder / fname).write_text(text)
        out.append(folder / "dut.v")
    return out


def test_pool_lint(tmp_path):
    for top in render_all(tmp_path):
        lint((top,) + rtl(*pool.CELLS), "dut")


@pytest.mark.synth
def test_pool_synth(tmp_path):
    """3x3/s2/pad 1 max pooling of 32x32x16 8-bit, PE 4: line buffer in RAM, reduce in LUTs."""
    op, x, y = layer(((32, 32, 16), "max", (3, 3), (2, 2), (1, 1, 1, 1), False, 4,
                      QuantSpec(bits=8, signed=True)))
    (tmp_path / "dut.v").write_text(verilog.layer_files("dut", op, [x], [y])["dut.v"])
    cells = synth((tmp_path / "dut.v",) + rtl(*pool.CELLS), "dut")
    assert sum(n for c, n in cells.items() if c.startswith("RAMB")) >= 1
    assert cells.get("DSP48E1", 0) == 0
