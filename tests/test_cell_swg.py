"""Sliding-window generator (hw/rtl/swg.v) against swg.golden(): 1-D and 2-D windows,
kernels, strides, asymmetric padding with nonzero pad codes, dilation, SIMD 1..C, under
random stalls; one beat per cycle on the busier side when neither side stalls."""

from __future__ import annotations

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import ConfigError, UnsupportedOpError
from archgen.ir.graph import Tensor
from archgen.ir.types import QuantSpec
from archgen.units import swg
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

U4 = QuantSpec(bits=4, signed=False)
I5 = QuantSpec(bits=5, signed=True)

# id: (input shape, kernel, strides, pads (begin..., end...), dilations, simd, pad code, spec)
CASES = {
    "1d_k3": ((8, 3), (3,), (1,), (0, 0), (1,), 1, 0, U4),
    "1d_k2_s2_pad": ((9, 2), (2,), (2,), (1, 0), (1,), 2, 0, U4),
    "1d_k3_d2_asym_pad7": ((10, 4), (3,), (1,), (2, 1), (2,), 4, 7, U4),
    "2d_k1": ((5, 7, 2), (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 2, 0, U4),
    "2d_k2_s2": ((4, 6, 3), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), 1, 0, U4),
    "2d_k3_p1": ((5, 7, 2), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 0, U4),
    "2d_k3_s2_asym_pad5": ((5, 7, 3), (3, 3), (2, 2), (0, 1, 2, 1), (1, 1), 3, 5, U4),
    "2d_k3x1": ((6, 5, 4), (3, 1), (1, 1), (1, 0, 1, 0), (1, 1), 2, -3, I5),
    "2d_k1x3_s2": ((5, 6, 1), (1, 3), (1, 2), (0, 1, 0, 1), (1, 1), 1, 0, U4),
    "2d_k3_d2": ((9, 9, 2), (3, 3), (1, 2), (2, 2, 2, 2), (2, 2), 2, 3, U4),
    "2d_k1_s3": ((5, 7, 1), (1, 1), (3, 3), (0, 0, 0, 0), (1, 1), 1, 0, U4),
    "2d_k2_s3_endpad": ((8, 8, 5), (2, 2), (3, 3), (0, 0, 1, 1), (1, 1), 5, -16, I5),
    "2d_k3_s2_endpad_c8": ((4, 4, 8), (3, 3), (2, 2), (0, 0, 2, 2), (1, 1), 8, -1, I5),
    "2d_k2_tiny_c7": ((2, 3, 7), (2, 2), (1, 1), (1, 1, 1, 1), (1, 1), 7, 9, U4),
    "2d_k3_c6": ((3, 3, 6), (3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 3, 0, U4),
    # a padding-only output row is too short to write the next row's 2 rows in: 3 rows
    "2d_pad_row_s2x4": ((2, 8, 6), (2, 2), (2, 4), (2, 1, 0, 2), (1, 1), 2, 0, U4),
}
VERILATOR_CASES = ("2d_k3_s2_asym_pad5",)
SLOW_CASES = {
    "1d_long_k5_s2": ((64, 8), (5,), (2,), (2, 2), (1,), 2, 0, U4),
    "2d_16x12_k3_p1": ((16, 12, 4), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2, 0, U4),
    "2d_12x12_k5_s3_d2": ((12, 12, 3), (5, 5), (3, 3), (4, 2, 1, 3), (2, 2), 1, 6, U4),
    "2d_10x10_k2_s4": ((10, 10, 2), (2, 2), (4, 4), (1, 1, 1, 1), (1, 1), 1, 0, U4),
}


def layer(case):
    shape, kernel, strides, pads, dil, simd, pad, spec = case
    op = swg.Params(kernel, strides, pads, dil, pad, simd)
    x = Tensor("x", shape, spec)
    (yshape, yspec), = op.infer([x])
    return op, x, Tensor("y", yshape, yspec)


def check(tmp_path, simulator, case, frames=3, seed=0):
    op, x, y = layer(case)
    rng = np.random.default_rng(seed)
    xs = rng.integers(x.quant.lo, x.quant.hi + 1, size=(frames,) + x.shape)
    res = run_unit(tmp_path, simulator, op, [x], [y], [xs], frames=frames, stall=0.4)
    d = swg.derive(op, [x], [y])
    # one beat per cycle on the busier side, no bubble between frames
    assert res["interval_cycles"] == d["cycles"] == max(d["in_beats"], d["out_beats"])
    assert res["latency_cycles"] == d["latency_cycles"]
    return res, d


@pytest.mark.parametrize("name", list(CASES))
def test_swg_icarus(tmp_path, name):
    check(tmp_path, "icarus", CASES[name])


@pytest.mark.parametrize("name", VERILATOR_CASES)
def test_swg_verilator(tmp_path, name):
    check(tmp_path, "verilator", CASES[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_CASES))
def test_swg_bigger(tmp_path, name):
    check(tmp_path, "icarus", SLOW_CASES[name], frames=2)


def test_swg_latency(tmp_path):
    """Output-bound 3x3/pad 1: the first window waits for the 2 rows it reads (2*7*2 beats),
    then 630 window beats leave back to back, plus 2 cycles of read pipeline."""
    res, d = check(tmp_path, "icarus", CASES["2d_k3_p1"], frames=2)
    assert d["buffer_rows"] == 4
    assert res["latency_cycles"] == 2 * 7 * 2 + d["out_beats"] + 2 == 660


def test_buffer_rows():
    """Rows live while the next output row's rows stream in."""
    def rows(shape, kernel, strides, pads, dil=None):
        op = swg.Params(kernel, strides, pads, dil or (1,) * len(kernel), 0, 1)
        x = Tensor("x", shape, U4)
        (yshape, yspec), = op.infer([x])
        return swg.derive(op, [x], [Tensor("y", yshape, yspec)])

    d = rows((5, 7, 2), (3, 3), (1, 1), (1, 1, 1, 1))
    assert (d["buffer_rows"], d["buffer_pixels"], d["buffer_bits"]) == (4, 28, 4 * 7 * 2 * 4)
    assert rows((5, 7, 2), (3, 3), (1, 1), (0, 0, 0, 0))["buffer_rows"] == 6  # 3 + next frame's 3
    assert rows((8, 8, 1), (2, 2), (2, 2), (0, 0, 0, 0))["buffer_rows"] == 4
    assert rows((9, 9, 1), (3, 3), (1, 1), (2, 2, 2, 2), (2, 2))["buffer_rows"] == 6
    d = rows((100, 3), (5,), (1,), (2, 2))  # 1-D: rows are pixels
    assert (d["buffer_rows"], d["buffer_pixels"], d["h"], d["w"]) == (6, 6, 100, 1)
    op, x, y = layer(CASES["2d_pad_row_s2x4"])
    d = swg.derive(op, [x], [y])
    assert (d["buffer_rows"], d["in_beats"], d["out_beats"]) == (3, 48, 72)
    ends = swg.frame_ends(d, 2, 3)  # with 2 rows the reader would wait 12 cycles a frame
    assert [b - a for a, b in zip(ends, ends[1:])] == [84] * 4


def test_swg_rejects():
    x = Tensor("x", (4, 4, 6), U4)
    op = swg.Params((2, 2), (1, 1), (0, 0, 0, 0), (1, 1), 0, 4)
    (ys, yq), = op.infer([x])
    with pytest.raises(ConfigError, match="4 lanes must divide its 6 channels; valid: \\[1, 2, 3, 6\\]"):
        swg.derive(op, [x], [Tensor("y", ys, yq)])
    xb = Tensor("x", (4, 4, 2), QuantSpec.bipolar_spec())
    op = swg.Params((3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 0, 1)
    (ys, yq), = op.infer([xb])
    with pytest.raises(UnsupportedOpError, match="bipolar"):
        swg.context(op, [xb], [Tensor("y", ys, yq)])


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


def test_swg_lint(tmp_path):
    for top in render_all(tmp_path):
        lint((top,) + rtl(*swg.CELLS), "dut")


@pytest.mark.synth
def test_swg_synth(tmp_path):
    """A 3x3/pad 1 window generator on 32x32x16 8-bit, SIMD 4: the line buffer maps to RAM."""
    op, x, y = layer(((32, 32, 16), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 4, 0,
                      QuantSpec(bits=8, signed=True)))
    (tmp_path / "dut.v").write_text(verilog.layer_files("dut", op, [x], [y])["dut.v"])
    cells = synth((tmp_path / "dut.v",) + rtl(*swg.CELLS), "dut")
    d = swg.derive(op, [x], [y])
    assert d["buffer_bits"] == 4 * 32 * 16 * 8
    assert sum(n for c, n in cells.items() if c.startswith("RAMB")) >= 1
    assert cells.get("FDRE", 0) + cells.get("FDSE", 0) + cells.get("FDCE", 0) < 400
