"""argmax layer (hw/rtl/argmax.v) against units/argmax.golden(): lanes (1, a divisor, all),
signed/unsigned/bipolar inputs, several vectors per frame, ties (the first index wins),
under random stalls; the k best (top-k label select: k 2, 3 and n, with fewer lanes than
k, as many, and more; k above the beats per vector, where the output bounds the rate),
with light and heavy stalls."""

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.ir import QuantSpec, Tensor
from archgen.units import argmax
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

Q = QuantSpec  # short: the cases are tables of specs


def _case(seed, shape, pe, xq, keepdims=True, const=None, k=1):
    """An argmax op (the k best) on (batch,) + shape codes; ``const``: every element that value."""
    rng = np.random.default_rng(seed)
    op = argmax.Params(keepdims, k=k, pe=pe)
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
# the k best (top-k label select); a vector takes max(beats, k) cycles
CASES_K = {
    "i3_k2_pe1": lambda: _case(21, (3, 12), 1, Q(3, True), k=2),
    "i3_k3_pe3": lambda: _case(22, (3, 12), 3, Q(3, True), k=3),  # k == pe
    "i3_k3_pe4": lambda: _case(23, (3, 12), 4, Q(3, True), k=3),  # 3 of a beat's 4 lanes
    "i3_k2_peN": lambda: _case(24, (3, 12), 12, Q(3, True), k=2),  # 2 of 12 lanes, 1 beat
    "i3_kN_pe3": lambda: _case(25, (3, 12), 3, Q(3, True), k=12),  # k = n > beats
    "u2_kN_pe1": lambda: _case(26, (5,), 1, Q(2, False), k=5),  # k = n = beats
    "u8_k4_pe5_flat": lambda: _case(27, (10,), 5, Q(8, False), k=4),
    "i5_k3_pe2_3d": lambda: _case(28, (2, 3, 8), 2, Q(5, True), k=3),
    "bipolar_k3_pe2": lambda: _case(29, (4, 6), 2, QuantSpec.bipolar_spec(), k=3),
    # every element equal: the indices in order, 0 1 2
    "all_min_k3_pe3": lambda: _case(30, (2, 6), 3, Q(4, True), const=-8, k=3),
    "u2_k5_pe7": lambda: _case(31, (2, 35), 7, Q(2, False), k=5),
}
CASES.update(CASES_K)
VERILATOR = ("i3_pe3", "i3_k3_pe4")
VERILATOR_SLOW = ("u8_pe5_flat", "bipolar_pe2", "i3_kN_pe3")  # ~25 s of CPU per Verilator build
# (case, stall probability per cycle on either side)
STALLS = (("i3_k3_pe4", 0.05), ("i3_k3_pe4", 0.7), ("i3_kN_pe3", 0.7), ("u2_kN_pe1", 0.5))


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
    # one beat per cycle on the busier side: the input (beats) or the output (k per vector)
    assert res["interval_cycles"] == d["cycles"] == d["vectors"] * max(d["vector_beats"], op.k)
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]
    if op.k == 1:  # argmax as it always was: the input beats, three stages
        assert d["cycles"] == d["frame_beats"] and d["pipeline_cycles"] == argmax.STAGES


@pytest.mark.parametrize("name,stall", STALLS, ids=[f"{n}-{s}" for n, s in STALLS])
def test_argmax_stalls(tmp_path, name, stall):
    op, ins, outs, xs = CASES[name]()
    run_unit(tmp_path, "icarus", op, ins, outs, xs, frames=4, stall=stall, seed=7)


def test_argmax_lint(tmp_path):
    for name, make in CASES.items():
        op, ins, outs, _ = make()
        work = tmp_path / name
        work.mkdir()
        for fname, text in verilog.layer_files("dut", op, ins, outs).items():
            (work / fname).write_text(text)
        lint([work / "dut.v", *rtl(*argmax.CELLS)], "dut", cwd=work)


@pytest.mark.synth
@pytest.mark.parametrize("k", [1, 3])
def test_argmax_synth(tmp_path, k):
    op, ins, outs, _ = _case(11, (4, 10), 5, Q(8, True), k=k)
    for fname, text in verilog.layer_files("dut", op, ins, outs).items():
        (tmp_path / fname).write_text(text)
    cells = synth([tmp_path / "dut.v", *rtl(*argmax.CELLS)], "dut", cwd=tmp_path)
    assert "DSP48E1" not in cells


def test_pe_divides_the_vector():
    op, ins, outs, _ = _case(12, (10,), 4, Q(4, True))
    with pytest.raises(InternalError, match="pe=4 does not divide the 10"):
        argmax.derive(op, ins, outs)


def test_k_within_the_vector():
    x = Tensor("x", (3, 4), Q(3, True))
    with pytest.raises(InternalError, match="k=5 of the 4 elements"):
        argmax.Params(k=5).infer([x])
    with pytest.raises(InternalError, match="k must be an integer >= 1"):
        argmax.Params(k=0)
    with pytest.raises(InternalError, match="the last axis is kept when k > 1"):
        argmax.Params(False, k=2)


def test_golden_is_stable_descending():
    """The k best, largest first, the lower index first among equal codes; k = 1 is
    np.argmax (keepdims or not)."""
    x = np.array([[[1, 3, 3, -2, 3, 1]]])
    assert argmax.golden(argmax.Params(k=4), x)[0].tolist() == [[[1, 2, 4, 0]]]
    assert argmax.golden(argmax.Params(k=6), x)[0].tolist() == [[[1, 2, 4, 0, 5, 3]]]
    assert argmax.golden(argmax.Params(k=1), x)[0].tolist() == [[[1]]]
    assert argmax.golden(argmax.Params(False), x)[0].tolist() == [[1]]
