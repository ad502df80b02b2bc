"""The concat unit's layer module (templates/verilog/concat.v.j2 + hw/rtl/concat.v)
against its golden(), under random stalls, with its cycle figures."""

from __future__ import annotations

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import ConfigError
from archgen.ir import QuantSpec
from archgen.ir.graph import Tensor
from archgen.units import concat
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

U = lambda bits: QuantSpec(bits=bits, signed=False)  # noqa: E731
S = lambda bits: QuantSpec(bits=bits, signed=True)  # noqa: E731
BIPOLAR = QuantSpec.bipolar_spec()

# (pixel shape, [(channels, spec), ...], pe); inputs of different specs make the output
# spec one whose bits cover every input's range
CASES = {
    "2in_s4_u3_pe1": ((3, 2), [(4, S(4)), (6, U(3))], 1),
    "2in_s4_u3_pe2": ((3, 2), [(4, S(4)), (6, U(3))], 2),
    "3in_u8_s5_u2_pe1": ((2, 2), [(6, U(8)), (3, S(5)), (9, U(2))], 1),
    "3in_u8_s5_u2_pe3": ((2, 2), [(6, U(8)), (3, S(5)), (9, U(2))], 3),
    "2in_same_u4_pe4": ((5,), [(8, U(4)), (4, U(4))], 4),  # one spec: codes unchanged
    "3in_bipolar_s3_pe1": ((2, 3), [(2, BIPOLAR), (3, S(3)), (1, BIPOLAR)], 1),
    "2in_all_bipolar_pe2": ((4,), [(6, BIPOLAR), (2, BIPOLAR)], 2),  # output bipolar too
    # a signed 8-bit input whose range is [0, 100]: the u7 output is narrower than it
    "2in_cut_s8_to_u7_pe1": ((3,), [(2, QuantSpec(bits=8, signed=True, lo=0, hi=100)),
                                    (5, U(4))], 1),
    "2in_flat_pe1": ((), [(5, S(6)), (7, U(6))], 1),  # one pixel per frame
}
VERILATOR_CASES = ("3in_u8_s5_u2_pe3", pytest.param("3in_bipolar_s3_pe1", marks=pytest.mark.slow))


def build(case: str):
    pixels, specs, pe = CASES[case]
    ins = [Tensor(f"x{i}", pixels + (c,), q) for i, (c, q) in enumerate(specs)]
    op = concat.Params(pe=pe)
    ((shape, spec),) = op.infer(ins)
    return op, ins, [Tensor("y", shape, spec)]


def codes(rng, t: Tensor, frames: int) -> np.ndarray:
    q = t.quant
    if q.bipolar:
        return rng.choice(np.array([-1, 1]), size=(frames,) + t.shape)
    return rng.integers(q.lo, q.hi + 1, size=(frames,) + t.shape)


def check(tmp_path, simulator, case, stall=0.4, seed=0):
    op, ins, outs = build(case)
    rng = np.random.default_rng(seed + len(case))
    xs = [codes(rng, t, 4) for t in ins]
    res = run_unit(tmp_path, simulator, op, ins, outs, xs, frames=4, stall=stall, seed=seed)
    d = concat.derive(op, ins, outs)
    # one output beat per cycle; the last beat of a frame leaves one cycle after the
    # last input beat of that frame is taken
    assert res["interval_cycles"] == d["cycles"]
    assert res["latency_cycles"] == d["cycles"] + 1
    return d


@pytest.mark.parametrize("case", list(CASES))
def test_concat_icarus(tmp_path, case):
    check(tmp_path, "icarus", case)


@pytest.mark.parametrize("case", VERILATOR_CASES)
def test_concat_verilator(tmp_path, case):
    check(tmp_path, "verilator", case, stall=0.5, seed=4)


def test_concat_heavy_stalls(tmp_path):
    check(tmp_path, "icarus", "3in_u8_s5_u2_pe1", stall=0.8, seed=2)


def test_derive_figures():
    op, ins, outs = build("3in_u8_s5_u2_pe3")
    d = concat.derive(op, ins, outs)
    assert d["in_lanes"] == [3, 3, 3] and d["out_lanes"] == [3]
    assert d["channels"] == [6, 3, 9] and d["pixels"] == 4
    assert d["cycles"] == 4 * 18 // 3
    assert d["bits"] == 9 and d["in_width"] == 3 * (8 + 5 + 2)
    op, ins, outs = build("3in_bipolar_s3_pe1")
    d = concat.derive(op, ins, outs)
    assert d["in_bipolar"] == [True, False, True] and d["bits"] == 3


def test_pe_must_divide_every_input():
    _, ins, outs = build("3in_u8_s5_u2_pe3")
    with pytest.raises(ConfigError, match=r"pe=2 must divide .*\[6, 3, 9\]; valid: \[1, 3\]"):
        concat.derive(concat.Params(pe=2), ins, outs)


def test_lint(tmp_path):
    for case in CASES:
        op, ins, outs = build(case)
        name = f"concat_{case}"
        (tmp_path / f"{name}.v").write_text(verilog.layer_files(name, op, ins, outs)[f"{name}.v"])
        lint((tmp_path / f"{name}.v",) + rtl(*concat.CELLS), name)


@pytest.mark.synth
def test_synth(tmp_path):
    case = "3in_u8_s5_u2_pe3"
    op, ins, outs = build(case)
    (tmp_path / "dut.v").write_text(verilog.layer_files("dut", op, ins, outs)["dut.v"])
    cells = synth((tmp_path / "dut.v",) + rtl(*concat.CELLS), "dut")
    ffs = sum(n for c, n in cells.items() if c.startswith("FD"))
    # output and skid registers (2 x (27 data + last + valid)), one-hot select, counters
    assert 2 * 29 <= ffs <= 2 * 29 + 12
    assert not any(c.startswith(("DSP", "RAMB")) for c in cells)
