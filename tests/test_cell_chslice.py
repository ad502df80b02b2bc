"""The chslice unit's layer module (templates/verilog/chslice.v.j2 + hw/rtl/chslice.v)
against its golden(), under random stalls, with its cycle figures."""

from __future__ import annotations

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.estimate import get_part
from archgen.estimate.synth import counts
from archgen.ir import QuantSpec
from archgen.ir.graph import Tensor
from archgen.units import chslice
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

U = lambda bits: QuantSpec(bits=bits, signed=False)  # noqa: E731
S = lambda bits: QuantSpec(bits=bits, signed=True)  # noqa: E731
BIPOLAR = QuantSpec.bipolar_spec()

# (pixel shape, channels, start, stop, spec, pe); pe = gcd(start, stop - start, C) is the
# widest folding a slice allows
CASES = {
    "c4_head_u8_pe1": ((3, 2), 4, 0, 2, U(8), 1),
    "c4_head_u8_pe2": ((3, 2), 4, 0, 2, U(8), 2),
    "c12_tail_s5_pe2": ((2, 3), 12, 8, 12, S(5), 2),
    "c12_offsets_s6_pe4": ((2, 2), 12, 0, 8, S(6), 4),  # 2x2 kernel: 8 offsets of 12 channels
    "c12_mask_u4_pe4": ((2, 2), 12, 8, 12, U(4), 4),  # ... and its 4 mask channels
    "c24_mid_s8_pe3": ((2, 2), 24, 9, 18, S(8), 3),
    "c18_mid_bipolar_pe1": ((2, 2), 18, 6, 12, BIPOLAR, 1),
    "c18_mid_bipolar_pe6": ((2, 2), 18, 6, 12, BIPOLAR, 6),
    "c7_mid_flat_u3_pe1": ((), 7, 1, 4, U(3), 1),  # (C,): one pixel per frame
    "c8_tail_flat_s4_pe2": ((), 8, 2, 8, S(4), 2),
    "c5_whole_s3_pe5": ((4,), 5, 0, 5, S(3), 5),  # one lane group: every beat kept
}
VERILATOR_CASE = "c18_mid_bipolar_pe6"


def build(case: str):
    pixels, c, start, stop, q, pe = CASES[case]
    x = Tensor("x", pixels + (c,), q)
    op = chslice.Params(start, stop, pe=pe)
    ((shape, spec),) = op.infer([x])
    return op, [x], [Tensor("y", shape, spec)]


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
    d = chslice.derive(op, ins, outs)
    # one input beat per cycle; the frame's last kept beat (group last_group of the last
    # pixel) leaves one cycle after it is taken
    assert res["interval_cycles"] == d["cycles"] == d["frame_beats"]
    assert res["latency_cycles"] == (d["pixels"] - 1) * d["groups"] + d["last_group"] + 2
    return d


@pytest.mark.parametrize("case", list(CASES))
def test_chslice_icarus(tmp_path, case):
    check(tmp_path, "icarus", case)


@pytest.mark.slow  # a ~20 s Verilator build for a cell of wires; every case runs in Icarus
def test_chslice_verilator(tmp_path):
    check(tmp_path, "verilator", VERILATOR_CASE, stall=0.5, seed=4)


def test_chslice_heavy_stalls(tmp_path):
    check(tmp_path, "icarus", "c24_mid_s8_pe3", stall=0.8, seed=2)


def test_golden_and_infer():
    op, (x,), (y,) = build("c24_mid_s8_pe3")
    assert y.shape == (2, 2, 9) and y.quant == x.quant
    a = np.arange(2 * 2 * 2 * 24).reshape(2, 2, 2, 24)
    (got,) = chslice.golden(op, a)
    assert np.array_equal(got, a[..., 9:18])
    assert op.summary() == "chslice[9:18 pe3]"


def test_derive_figures():
    op, ins, outs = build("c24_mid_s8_pe3")
    d = chslice.derive(op, ins, outs)
    assert d["in_lanes"] == [3] and d["out_lanes"] == [3]
    assert d["width"] == 24 and d["groups"] == 8 and d["pixels"] == 4
    assert (d["first_group"], d["last_group"]) == (3, 5)
    assert d["frame_beats"] == d["cycles"] == 4 * 8 and d["out_beats"] == 4 * 3
    d = chslice.derive(*build("c5_whole_s3_pe5"))
    assert (d["groups"], d["first_group"], d["last_group"]) == (1, 0, 0)


def test_pe_must_divide_start_width_and_channels():
    _, ins, outs = build("c24_mid_s8_pe3")
    with pytest.raises(InternalError, match=r"pe=2 must divide the start 9, the width 9 and "
                                            r"the channel count 24; valid: \[1, 3\]"):
        chslice.derive(chslice.Params(9, 18, pe=2), ins, outs)
    with pytest.raises(InternalError, match=r"pe=4 must divide .* valid: \[1, 2\]"):
        chslice.derive(chslice.Params(6, 14, pe=4), [Tensor("x", (3, 20), S(4))],
                       [Tensor("y", (3, 8), S(4))])


def test_bad_slices():
    x = Tensor("x", (2, 6), S(4))
    for start, stop in ((0, 0), (4, 3), (-1, 2), (2, 7)):
        with pytest.raises(InternalError, match=r"0 <= start < stop <= 6"):
            chslice.Params(start, stop).infer([x])
    per_channel = QuantSpec(bits=4, signed=True, scale=(0.5,) * 6, axis=1)
    with pytest.raises(InternalError, match="per-tensor"):
        chslice.Params(0, 2).infer([Tensor("x", (2, 6), per_channel)])


def test_lint(tmp_path):
    for case in CASES:
        op, ins, outs = build(case)
        name = f"chslice_{case}"
        (tmp_path / f"{name}.v").write_text(verilog.layer_files(name, op, ins, outs)[f"{name}.v"])
        lint((tmp_path / f"{name}.v",) + rtl(*chslice.CELLS), name)


@pytest.mark.synth
def test_synth(tmp_path):
    case = "c24_mid_s8_pe3"
    op, ins, outs = build(case)
    (tmp_path / "dut.v").write_text(verilog.layer_files("dut", op, ins, outs)["dut.v"])
    got = counts(synth((tmp_path / "dut.v",) + rtl(*chslice.CELLS), "dut"))
    # output register (24 data + last + valid), 3-bit group and 2-bit pixel counters
    assert got["FF"] == 24 + 2 + 3 + 2
    assert got["LUT"] <= 20 and got["DSP"] == got["BRAM18"] == got["BRAM36"] == 0
    est = chslice.resources(op, chslice.derive(op, ins, outs), get_part("xc7z020")).rounded()
    assert est["FF"] == got["FF"] and abs(est["LUT"] - got["LUT"]) <= 3
