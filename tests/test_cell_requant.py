"""requant layer (hw/rtl/requant.v) against units/requant.golden(): lanes, signed and
unsigned inputs, shared and per-channel (also negative) multipliers, both roundings
(with ties), clamping on both sides, wide products, under random stalls."""

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.ir import QuantSpec, Tensor
from archgen.units import requant
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

Q = QuantSpec  # short: the cases are tables of specs


def _codes(rng, q: QuantSpec, shape, batch=4):
    if q.bipolar:
        return rng.choice([-1, 1], size=(batch,) + shape).astype(np.int64)
    return rng.integers(q.lo, q.hi + 1, size=(batch,) + shape)


def _case(seed, shape, pe, xq, mult, bias, shift, yq, rounding, axis=None, clamp="both"):
    """A requant op with multipliers/biases drawn from the (lo, hi) ranges ``mult`` and
    ``bias`` (an int: one value shared by all channels).  ``clamp`` says which clamp
    bounds the data must hit ("both", "none", ...), checked on the random inputs."""
    rng = np.random.default_rng(seed)
    axis = len(shape) - 1 if axis is None else axis
    c = shape[axis]

    def draw(r):
        return np.array([r]) if isinstance(r, int) else rng.integers(r[0], r[1] + 1, size=c)

    op = requant.Params(draw(mult), draw(bias), shift, yq, axis, rounding, pe=pe)
    x = _codes(rng, xq, shape)
    xc = np.moveaxis(x, axis + 1, -1)
    raw = requant.shift_round(xc * op.mult + op.bias, shift, rounding)
    hit = {"lo": bool((raw < yq.lo).any()), "hi": bool((raw > yq.hi).any())}
    want = {"both": {"lo": True, "hi": True}, "none": {"lo": False, "hi": False}}[clamp]
    assert hit == want, f"case {seed}: clamping {hit}, wanted {want}"
    return op, [Tensor("x", shape, xq)], [Tensor("y", shape, yq)], [x]


CASES = {
    "pc_i10_pe2_even": lambda: _case(1, (3, 4), 2, Q(10, True), (-50, 50), (-3000, 3000), 6,
                                     Q(6, False), "half_even"),
    "pc_i10_pe2_floor": lambda: _case(1, (3, 4), 2, Q(10, True), (-50, 50), (-3000, 3000), 6,
                                      Q(6, False), "floor"),
    "shared_u8_pe1_floor": lambda: _case(2, (5, 3), 1, Q(8, False), 37, -900, 4, Q(4, True),
                                         "floor"),
    # shift 1 and odd sums: every other result is a tie
    "pc_i6_peC_ties": lambda: _case(3, (4, 6), 6, Q(6, True), (1, 3), (-5, 5), 1, Q(8, True),
                                    "half_even", clamp="none"),
    "shared_neg_mult_even": lambda: _case(4, (8,), 4, Q(7, True), -3, 5, 2, Q(4, True),
                                          "half_even"),
    "shift0_even": lambda: _case(5, (2, 4), 2, Q(4, True), (-3, 3), (-2, 2), 0, Q(4, True),
                                 "half_even"),
    "bipolar_in": lambda: _case(16, (8,), 8, QuantSpec.bipolar_spec(), (-9, 9), (-4, 4), 1,
                                Q(2, True), "half_even"),
    # an 18-bit signed multiplier on a 16-bit input: wider than one DSP
    "wide_i16": lambda: _case(7, (2, 4), 4, Q(16, True), (-(1 << 17), (1 << 17) - 1),
                              (-(1 << 30), 1 << 30), 24, Q(8, True), "half_even"),
    "shared_axis0": lambda: _case(8, (4, 3), 3, Q(6, False), 5, -100, 3, Q(3, False), "floor",
                                  axis=0),
    "u1_out": lambda: _case(9, (6,), 3, Q(5, True), (-2, 2), (0, 1), 2, Q(1, False), "floor"),
}
VERILATOR = ("pc_i10_pe2_even",)
VERILATOR_SLOW = ("wide_i16", "u1_out")  # ~25 s of CPU per Verilator build


def _params():
    out = [pytest.param("icarus", n, id=f"icarus-{n}") for n in CASES]
    out += [pytest.param("verilator", n, id=f"verilator-{n}") for n in VERILATOR]
    return out + [pytest.param("verilator", n, id=f"verilator-{n}", marks=pytest.mark.slow)
                  for n in VERILATOR_SLOW]


@pytest.mark.parametrize("simulator,name", _params())
def test_requant(tmp_path, simulator, name):
    op, ins, outs, xs = CASES[name]()
    d = requant.derive(op, ins, outs)
    res = run_unit(tmp_path, simulator, op, ins, outs, xs)
    assert res["interval_cycles"] == d["cycles"] == d["frame_beats"]  # one beat per cycle
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]


def test_requant_lint(tmp_path):
    for name, make in CASES.items():
        op, ins, outs, _ = make()
        work = tmp_path / name
        work.mkdir()
        for fname, text in verilog.layer_files("dut", op, ins, outs).items():
            (work / fname).write_text(text)
        lint([work / "dut.v", *rtl(*requant.CELLS)], "dut", cwd=work)


@pytest.mark.synth
def test_requant_synth(tmp_path):
    op, ins, outs, _ = _case(1, (3, 16), 4, Q(12, True), (-300, 300), (-5000, 5000), 10,
                             Q(8, True), "half_even")
    for fname, text in verilog.layer_files("dut", op, ins, outs).items():
        (tmp_path / fname).write_text(text)
    cells = synth([tmp_path / "dut.v", *rtl(*requant.CELLS)], "dut", cwd=tmp_path)
    assert cells.get("DSP48E1") == op.pe  # one DSP slice per lane


# -- the hardware form (pure Python) --------------------------------------------------------

def test_widths_and_clamps():
    x = Tensor("x", (4,), Q(8, False))
    op = requant.Params(np.array([3, -2, 1, 0]), np.array([10, 0, -5, 7]), 2, Q(6, True), 0,
                        "half_even")
    d = requant.derive(op, [x], [Tensor("y", (4,), Q(6, True))])
    assert (d["x_bits"], d["mult_bits"], d["prod_bits"]) == (9, 3, 12)
    # 3*255 + 10 + 2 (the rounding offset) needs 11 bits signed; the product width rules
    assert d["acc_bits"] == 12 and d["rounding"] == 1
    assert d["clamp_lo"] and d["clamp_hi"] and not d["shared"]


def test_per_channel_constants_need_channels_last():
    x = Tensor("x", (3, 4), Q(4, True))
    op = requant.Params(np.array([1, 2, 3]), np.array([0]), 0, Q(4, True), 0)
    with pytest.raises(InternalError, match="channel axis last"):
        requant.derive(op, [x], [Tensor("y", (3, 4), Q(4, True))])
