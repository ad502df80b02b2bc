"""thresholds layer (hw/rtl/thresholds.v) against units/thresholds.golden(): lanes, signed
and unsigned inputs, shared and per-channel thresholds, negation, repeated thresholds,
bipolar inputs and outputs, constant tables and ROM files, under random stalls."""

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.ir import QuantSpec, Tensor
from archgen.units import thresholds
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

Q = QuantSpec  # short: the cases are tables of specs


def _codes(rng, q: QuantSpec, shape, batch=4):
    if q.bipolar:
        return rng.choice([-1, 1], size=(batch,) + shape).astype(np.int64)
    return rng.integers(q.lo, q.hi + 1, size=(batch,) + shape)


def _case(seed, shape, pe, xq, rows, cols, yq, base=0, negate="none", spread=1.3,
          dup=False, axis=None, **kw):
    """A thresholds op on a (batch,) + shape input: ``rows`` threshold rows (1: shared)
    of ``cols`` ascending thresholds drawn over ``spread`` times the input range."""
    rng = np.random.default_rng(seed)
    axis = len(shape) - 1 if axis is None else axis
    c = shape[axis]
    half = max(2, int(max(abs(xq.lo), abs(xq.hi)) * spread))
    if dup:  # few distinct values: repeated thresholds in every row
        pool = rng.integers(-half, half + 1, size=3)
        T = rng.choice(pool, size=(rows, cols))
    else:
        T = rng.integers(-half, half + 1, size=(rows, cols))
    T = np.sort(T, axis=1)
    neg = {"none": np.zeros(c, bool), "all": np.ones(1, bool),
           "mixed": rng.integers(0, 2, size=c).astype(bool)}[negate]
    op = thresholds.Params(T, neg, base, yq, axis, pe=pe)
    x = Tensor("x", shape, xq)
    return op, [x], [Tensor("y", shape, yq)], [_codes(rng, xq, shape)], kw


def _bipolar_case(seed, shape, pe, xq):
    """Rows [t, t] from base -1: codes -1/+1 only, a bipolar output."""
    rng = np.random.default_rng(seed)
    c = shape[-1]
    t = rng.integers(xq.lo, xq.hi + 1, size=(c, 1))
    neg = rng.integers(0, 2, size=c).astype(bool)
    yq = QuantSpec.bipolar_spec()
    op = thresholds.Params(np.repeat(t, 2, axis=1), neg, -1, yq, len(shape) - 1, pe=pe)
    return op, [Tensor("x", shape, xq)], [Tensor("y", shape, yq)], [_codes(rng, xq, shape)], {}


CASES = {
    "pc_i7_pe2_neg": lambda: _case(1, (3, 8), 2, Q(7, True), 8, 7, Q(3, False), negate="mixed"),
    "shared_u5_pe1": lambda: _case(2, (5, 4), 1, Q(5, False), 1, 3, Q(2, False)),
    "pc_i4_peC_dup": lambda: _case(3, (2, 6), 6, Q(4, True), 6, 15, Q(4, True), base=-8, dup=True),
    "shared_neg_axis0": lambda: _case(4, (4, 3), 3, Q(6, True), 1, 5, Q(3, True), base=-4,
                                      negate="all", axis=0),
    "pc_u8_pe4_dup_neg": lambda: _case(5, (16,), 4, Q(8, False), 16, 6, Q(3, False),
                                       negate="mixed", dup=True),
    "bipolar_out": lambda: _bipolar_case(6, (2, 8), 4, Q(8, True)),
    "bipolar_in": lambda: _case(7, (16,), 8, QuantSpec.bipolar_spec(), 16, 2, Q(2, False)),
    "step_u1": lambda: _case(8, (3, 2), 1, Q(3, True), 2, 1, Q(1, False)),
    "no_thresholds": lambda: _case(9, (2, 4), 2, Q(5, True), 1, 0, Q(2, False), base=2),
    "rom_i12": lambda: _case(10, (2, 16), 4, Q(12, True), 16, 31, Q(5, False), negate="mixed",
                             rom_bits=1024),
    # the size that needs a ROM: 32 channels x 255 thresholds of 20 bits
    "rom_32x255": lambda: _case(11, (2, 32), 8, Q(20, True), 32, 255, Q(8, False), spread=0.9),
    "rom_32x255_pe1": lambda: _case(13, (3, 32), 1, Q(20, True), 32, 255, Q(8, False),
                                    negate="mixed"),
}
VERILATOR = ("pc_i7_pe2_neg",)
VERILATOR_SLOW = ("rom_i12", "rom_32x255", "bipolar_out")  # ~25 s of CPU per build


def _params():
    out = [pytest.param("icarus", n, id=f"icarus-{n}") for n in CASES]
    out += [pytest.param("verilator", n, id=f"verilator-{n}") for n in VERILATOR]
    return out + [pytest.param("verilator", n, id=f"verilator-{n}", marks=pytest.mark.slow)
                  for n in VERILATOR_SLOW]


@pytest.mark.parametrize("simulator,name", _params())
def test_thresholds(tmp_path, simulator, name):
    op, ins, outs, xs, kw = CASES[name]()
    d = thresholds.derive(op, ins, outs)
    res = run_unit(tmp_path, simulator, op, ins, outs, xs, **kw)
    assert bool(list(tmp_path.glob("*.mem"))) == name.startswith("rom")
    assert res["interval_cycles"] == d["cycles"] == d["frame_beats"]  # one beat per cycle
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]


def test_thresholds_lint(tmp_path):
    for name, make in CASES.items():
        op, ins, outs, _, kw = make()
        work = tmp_path / name
        work.mkdir()
        for fname, text in verilog.layer_files("dut", op, ins, outs, **kw).items():
            (work / fname).write_text(text)
        lint([work / "dut.v", *rtl(*thresholds.CELLS)], "dut", cwd=work)


@pytest.mark.synth
def test_thresholds_synth(tmp_path):
    op, ins, outs, _, _ = _case(12, (4, 16), 4, Q(12, True), 16, 15, Q(4, False), negate="mixed")
    for fname, text in verilog.layer_files("dut", op, ins, outs).items():
        (tmp_path / fname).write_text(text)
    cells = synth([tmp_path / "dut.v", *rtl(*thresholds.CELLS)], "dut", cwd=tmp_path)
    assert "DSP48E1" not in cells  # comparators are LUTs and carry chains
    assert cells.get("CARRY4", 0) > 0


# -- the hardware form (pure Python) --------------------------------------------------------

def test_clipped_thresholds_set_the_compare_width():
    x = Tensor("x", (4,), Q(6, False))  # 0..63
    T = np.array([[-1000, 10, 20, 5000]] * 4)
    op = thresholds.Params(T, np.zeros(4, bool), 0, Q(3, False), 0)
    d = thresholds.derive(op, [x], [Tensor("y", (4,), Q(3, False))])
    assert d["cmp_bits"] == 8  # [0, 64] signed, not the 14 bits of +-5000
    assert d["shared"] and d["groups"] == 1


def test_bipolar_output_needs_two_codes():
    x = Tensor("x", (2,), Q(4, True))
    op = thresholds.Params(np.array([[0, 3], [1, 1]]), np.zeros(2, bool), -1,
                           QuantSpec.bipolar_spec(), 0)
    with pytest.raises(InternalError, match=r"row 0 gives codes \[0\]"):
        thresholds.context(op, [x], [Tensor("y", (2,), QuantSpec.bipolar_spec())])


def test_per_channel_thresholds_need_channels_last():
    x = Tensor("x", (3, 4), Q(4, True))
    op = thresholds.Params(np.array([[0], [1], [2]]), np.zeros(3, bool), 0, Q(1, False), 0)
    with pytest.raises(InternalError, match="channel axis last"):
        thresholds.derive(op, [x], [Tensor("y", (3, 4), Q(1, False))])


def test_pe_divides_the_channels():
    x = Tensor("x", (6,), Q(4, True))
    op = thresholds.Params(np.zeros((1, 1)), np.zeros(1, bool), 0, Q(1, False), 0, pe=4)
    with pytest.raises(InternalError, match="pe=4 does not divide the 6"):
        thresholds.derive(op, [x], [Tensor("y", (6,), Q(1, False))])
