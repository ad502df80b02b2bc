"""argmax layer (hw/rtl/argmax.v) against units/argmax.golden(): lanes (1, a divisor, all),
signed/unsigned/bipolar inputs, several vectors per frame, ties (the first index wins),
under random stalls."""

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.ir import QuantSpec, Tensor
from archgen.units import argmax
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

Q = QuantSpec  # short: the cases are tables of specs


def _case(seed, shape, pe, xq, keepdims=True, const=None):
    """An argmax op on (batch,) + shape codes; ``const``: every element that value."""
    rng = np.random.default_rng(seed)
    op = argmax.Params(keepdims, pe=pe)
    x = Tensor("x", shape, xq)
    ((yshape, yq),) = op.infer([x])
    if xq.bipolar:
        xs = rng.choice([-1, 1], size=(4,) + shape).astype(np.int64)
    else:
        xs = rng.integers(xq.lo, xq.hi + 1, size=(4,) + shape)
    if const is not None:
        xs[:] = const
    return op, [x], [Tensor("y", yshape, yq)], [xs]


CASES = {
    # 3-bit codes in 12-element vectors: ties in most vectors
    "i3_pe1": lambda: _case(1, (3, 12), 1, Q(3, True)),
    "i3_pe3": lambda: _case(2, (3, 12), 3, Q(3, True)),
    "i3_pe4": lambda: _case(3, (3, 12), 4, Q(3, True)),
    "i3_peN": lambda: _case(4, (3, 12), 12, Q(3, True)),
    "u8_pe5_flat": lambda: _case(5, (10,), 5, Q(8, False), keepdims=False),
    "i5_pe2_3d": lambda: _case(6, (2, 3, 8), 2, Q(5, True)),
    "bipolar_pe2": lambda: _case(7, (4, 6), 2, QuantSpec.bipolar_spec()),
    "n1": lambda: _case(8, (3, 1), 1, Q(4, False)),
    # every element the smallest code: index 0 everywhere (against the padded tree leaf)
    "all_min_pe3": lambda: _case(9, (2, 6), 3, Q(4, True), const=-8),
    "u2_pe7": lambda: _case(10, (2, 35), 7, Q(2, False)),
}
VERILATOR = ("i3_pe3",)
VERILATOR_SLOW = ("u8_pe5_flat", "bipolar_pe2")  # ~25 s of CPU per Verilator build


def _params():
    out = [pytest.param("icarus", n, id=f"icarus-{n}") for n in CASES]
    out += [pytest.param("verilator", n, id=f"verilator-{n}") for n in VERILATOR]
    return out + [pytest.param("verilator", n, id=f"verilator-{n}", marks=pytest.mark.slow)
                  for n in VERILATOR_SLOW]


@pytest.mark.parametrize("simulator,name", _params())
def test_argmax(tmp_path, simulator, name):
    op, ins, outs, xs = CASES[name]()
    d = argmax.derive(op, ins, outs)
    assert d["out_lanes"] == [1]
    res = run_unit(tmp_path, simulator, op, ins, outs, xs)
    assert res["interval_cycles"] == d["cycles"] == d["frame_beats"]  # one beat per cycle
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]


def test_argmax_lint(tmp_path):
    for name, make in CASES.items():
        op, ins, outs, _ = make()
        work = tmp_path / name
        work.mkdir()
        for fname, text in verilog.layer_files("dut", op, ins, outs).items():
            (work / fname).write_text(text)
        lint([work / "dut.v", *rtl(*argmax.CELLS)], "dut", cwd=work)


@pytest.mark.synth
def test_argmax_synth(tmp_path):
    op, ins, outs, _ = _case(11, (4, 10), 5, Q(8, True))
    for fname, text in verilog.layer_files("dut", op, ins, outs).items():
        (tmp_path / fname).write_text(text)
    cells = synth([tmp_path / "dut.v", *rtl(*argmax.CELLS)], "dut", cwd=tmp_path)
    assert "DSP48E1" not in cells


def test_pe_divides_the_vector():
    op, ins, outs, _ = _case(12, (10,), 4, Q(4, True))
    with pytest.raises(InternalError, match="pe=4 does not divide the 10"):
        argmax.derive(op, ins, outs)
