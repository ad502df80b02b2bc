"""add layer (hw/rtl/add.v) against units/add.golden(): two input streams joined beat by
beat, weights and zero points of either sign, signed/unsigned/bipolar inputs, lanes,
under random stalls on all three streams."""

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.ir import QuantSpec, Tensor
from archgen.units import add
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

Q = QuantSpec  # short: the cases are tables of specs


def _codes(rng, q: QuantSpec, shape, batch=4):
    if q.bipolar:
        return rng.choice([-1, 1], size=(batch,) + shape).astype(np.int64)
    return rng.integers(q.lo, q.hi + 1, size=(batch,) + shape)


def _case(seed, shape, pe, qa, qb, wa, wb, za, zb, out_bits=None):
    """An add op whose accumulator type is the exact range (or ``out_bits`` wide)."""
    rng = np.random.default_rng(seed)
    ta = sorted((wa * (qa.lo - za), wa * (qa.hi - za)))
    tb = sorted((wb * (qb.lo - zb), wb * (qb.hi - zb)))
    acc = QuantSpec.for_range(ta[0] + tb[0], ta[1] + tb[1])
    if out_bits is not None:
        acc = QuantSpec(bits=out_bits, signed=True)
    op = add.Params(wa, wb, za, zb, acc, pe=pe)
    ins = [Tensor("a", shape, qa), Tensor("b", shape, qb)]
    return op, ins, [Tensor("y", shape, acc)], [_codes(rng, qa, shape), _codes(rng, qb, shape)]


CASES = {
    "u5_i4_pe2": lambda: _case(1, (3, 4), 2, Q(5, False), Q(4, True), 3, -2, 7, 3),
    "i8_i8_pe1_plain": lambda: _case(2, (5,), 1, Q(8, True), Q(8, True), 1, 1, 0, 0),
    "peC_csd": lambda: _case(3, (2, 6), 6, Q(4, False), Q(6, True), 7, 12, 8, -5),
    "big_weights": lambda: _case(4, (8,), 4, Q(6, True), Q(7, False), (1 << 10) + 3, -77, -3, 64),
    "bipolar_a": lambda: _case(5, (2, 4), 4, QuantSpec.bipolar_spec(), Q(3, True), 5, -1, 0, 1),
    "wide_out": lambda: _case(6, (4,), 2, Q(3, True), Q(2, False), -1, 2, 0, 0, out_bits=16),
}
VERILATOR = ("u5_i4_pe2",)
VERILATOR_SLOW = ("big_weights",)  # ~25 s of CPU per Verilator build


def _params():
    out = [pytest.param("icarus", n, id=f"icarus-{n}") for n in CASES]
    out += [pytest.param("verilator", n, id=f"verilator-{n}") for n in VERILATOR]
    return out + [pytest.param("verilator", n, id=f"verilator-{n}", marks=pytest.mark.slow)
                  for n in VERILATOR_SLOW]


@pytest.mark.parametrize("simulator,name", _params())
def test_add(tmp_path, simulator, name):
    op, ins, outs, xs = CASES[name]()
    d = add.derive(op, ins, outs)
    assert d["in_lanes"] == [op.pe, op.pe]
    res = run_unit(tmp_path, simulator, op, ins, outs, xs)
    assert res["interval_cycles"] == d["cycles"] == d["frame_beats"]  # one beat per cycle
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]


def test_add_lint(tmp_path):
    for name, make in CASES.items():
        op, ins, outs, _ = make()
        work = tmp_path / name
        work.mkdir()
        for fname, text in verilog.layer_files("dut", op, ins, outs).items():
            (work / fname).write_text(text)
        lint([work / "dut.v", *rtl(*add.CELLS)], "dut", cwd=work)


@pytest.mark.synth
def test_add_synth(tmp_path):
    op, ins, outs, _ = _case(7, (4, 16), 4, Q(8, True), Q(8, False), 3, -5, -5, 3)
    for fname, text in verilog.layer_files("dut", op, ins, outs).items():
        (tmp_path / fname).write_text(text)
    cells = synth([tmp_path / "dut.v", *rtl(*add.CELLS)], "dut", cwd=tmp_path)
    assert "DSP48E1" not in cells  # constant weights: shift-and-add, no multiplier


def test_csd_digits():
    for w in range(-1000, 1000):
        pos, neg = add.csd(w)
        assert pos - neg == w and pos & neg == 0
        assert (pos | neg) & ((pos | neg) >> 1) == 0  # no two adjacent digits
    assert add.csd(7) == (8, 1) and add.csd(-5) == (0, 5)
