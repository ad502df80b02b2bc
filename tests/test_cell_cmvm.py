"""The cmvm cell (hw/rtl/cmvm.v, the latency strategy's multiplier-free dense layer) through
its rendered layer module: the CSD term program, bit-exact against golden() under random
stalls, one vector per cycle and the deterministic latency, lint over the grid and one
synthesis (the jet-tagging MLP's first layer) against the estimate."""

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.estimate import get_part
from archgen.ir.graph import Tensor
from archgen.ir.types import QuantSpec
from archgen.units import cmvm, mvu
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim


def spec(kind: str) -> QuantSpec:
    """'i4': 4-bit signed, 'u8': 8-bit unsigned, 'bip': bipolar."""
    if kind == "bip":
        return QuantSpec.bipolar_spec()
    return QuantSpec(bits=int(kind[1:]), signed=kind[0] == "i")


def codes(rng, q: QuantSpec, size) -> np.ndarray:
    if q.bipolar:
        return rng.choice(np.array([-1, 1]), size=size)
    return rng.integers(q.lo, q.hi + 1, size=size, dtype=np.int64)


def weights(rng, rows, cols, wk, sparse=0.0) -> np.ndarray:
    w = codes(rng, spec(wk), (rows, cols))
    if sparse:
        w = np.where(rng.random((rows, cols)) < sparse, 0, w)
        w[rng.random(rows) < 0.25] = 0  # whole zero rows
    return w


def layer(rows, cols, xk, wk, zx=0, depth=2, sparse=0.0, lead=(), cse=True, seed=0):
    """(op, ins, outs) of a random cmvm layer (``sparse`` may be the weight matrix)."""
    rng = np.random.default_rng(seed)
    w = np.asarray(sparse) if np.ndim(sparse) else weights(rng, rows, cols, wk, sparse)
    op = cmvm.Params(w, zx, spec(wk), depth=depth, cse=cse)
    x = Tensor("x", tuple(lead) + (cols,), spec(xk))
    ((shape, q),) = op.infer([x])
    return op, [x], [Tensor("y", shape, q)]


def inputs(ins, frames, seed, op=None):
    """Random frames; with ``op``, the first ones are the extremes (every input at its
    lowest code, at its highest, and the vectors giving row 0 its largest and smallest
    sums): the narrow adders' ranges are reached."""
    rng = np.random.default_rng(1000 + seed)
    xs = [codes(rng, t.quant, (frames,) + t.shape) for t in ins]
    if op is not None:
        q, x = ins[0].quant, xs[0]
        lo, hi = (-1, 1) if q.bipolar else (q.lo, q.hi)
        pos = op.weight[0] > 0
        for i, v in enumerate([lo, hi, np.where(pos, hi, lo), np.where(pos, lo, hi)][:frames]):
            x[i] = v
    return xs


# --- the term program ---------------------------------------------------------------------

def test_csd_digits():
    for v in range(-512, 512):
        digits = cmvm.csd(v)
        assert sum(d << e for e, d in digits) == v
        shifts = [e for e, _ in digits]
        assert all(b - a >= 2 for a, b in zip(shifts, shifts[1:])), (v, digits)
        assert all(d in (-1, 1) for _, d in digits)
        # the fewest nonzero digits: CSD weight = the NAF weight, popcount(3v ^ v)
        assert len(digits) == bin((3 * abs(v)) ^ abs(v)).count("1"), v


@pytest.mark.parametrize("cse", [False, True])
@pytest.mark.parametrize("wk,xk,zx", [("i6", "i6", 0), ("i8", "u8", 5), ("bip", "u4", -3),
                                      ("u3", "i2", 1), ("i2", "bip", 0)])
def test_program_equals_golden(wk, xk, zx, cse):
    rng = np.random.default_rng(7)
    op, ins, _ = layer(24, 9, xk, wk, zx, sparse=0.3, cse=cse, seed=3)
    x = codes(rng, ins[0].quant, (20, 9))
    pairs, rows = prog = cmvm.program(op)
    assert bool(pairs) == cse
    assert np.array_equal(cmvm.evaluate(prog, x - (0 if xk == "bip" else zx)),
                          cmvm.golden(op, x)[0])
    for terms in rows:  # positive terms first
        negs = [t[2] for t in terms]
        assert negs == sorted(negs)
    for a, sa, b, sb, _ in pairs:  # pairs of inputs, shifted to a zero low shift
        assert a < 9 and b < 9 and min(sa, sb) == 0


def test_cse_saves_adders():
    """The jet-tagging MLP's first layer shape (16 -> 64, 6-bit weights): sharing pairs of
    terms between outputs saves about 40 % of the adders."""
    op, ins, outs = layer(64, 16, "i6", "i6", 0, 2)
    d = cmvm.derive(op, ins, outs)
    plain = cmvm.derive(cmvm.Params(op.weight, 0, op.weight_spec, cse=False), ins, outs)
    assert plain["adders"] == plain["adders_csd"] == d["adders_csd"]
    assert plain["pairs"] == 0 and d["pairs"] > 0
    assert d["adders"] < 0.65 * plain["adders"]
    assert d["levels"] <= plain["levels"]


def test_derive_figures():
    op, ins, outs = layer(3, 4, "i4", "i4", depth=2, seed=1)
    op = cmvm.Params(np.array([[3, 0, -1, 7], [0, 0, 0, 0], [-2, -4, 0, 0]]), 0, spec("i4"),
                     cse=False)
    d = cmvm.derive(op, ins, outs)
    # 3 = 4 - 1 (2 terms), -1 (1), 7 = 8 - 1 (2); row 2: -2, -4: all negative
    assert d["terms"] == [5, 0, 2] and d["t_max"] == 5
    assert d["neg_root"] == [0, 0, 1]
    assert d["levels"] == 3 + 1 and d["stages"] == 1 + 2
    assert d["adders"] == 4 + 1 + 1
    assert d["cycles"] == 1 and d["pipeline_cycles"] == 3
    with pytest.raises(InternalError, match="depth"):
        cmvm.derive(cmvm.Params(op.weight, 0, spec("i4"), depth=0), ins, outs)


def test_golden_is_mvu():
    op, ins, outs = layer(5, 7, "u4", "i5", 2, seed=4)
    ref = mvu.Params(op.weight, op.in_zero_point, op.weight_spec)
    x = inputs(ins, 4, 0)[0]
    assert np.array_equal(cmvm.golden(op, x)[0], mvu.golden(ref, x)[0])
    assert op.infer(ins)[0][1] == ref.infer(ins)[0][1]


# --- simulation ---------------------------------------------------------------------------

# rows, cols, inputs, weights, input zero point, depth, sparsity, leading dims
CASES = {
    "1x1-i4i4": (1, 1, "i4", "i4", 0, 2, 0.0, ()),
    "1x1-neg": (1, 1, "i8", "i2", 0, 1, [[-2]], ()),
    # all-negative rows (the root negation level), a zero row
    "negrows-4x3-d1": (4, 3, "i5", "i4", 2, 1, [[-2, 0, -1], [0, 0, 0], [3, -1, 4],
                                                [-6, -8, -1]], ()),
    "4x6-i2w-d1": (4, 6, "i4", "i2", 0, 1, 0.0, ()),
    "8x5-u8i3-zx-d3": (8, 5, "u8", "i3", 7, 3, 0.0, ()),
    "6x8-i6i6-d2": (6, 8, "i6", "i6", 0, 2, 0.0, ()),
    "binary-w-9x7": (9, 7, "u4", "bip", -2, 2, 0.0, ()),
    "bipolar-x-5x6": (5, 6, "bip", "i5", 0, 2, 0.0, ()),
    "sparse-10x12-i8": (10, 12, "i6", "i8", 3, 2, 0.6, ()),
    "u4w-7x4-vec3": (7, 4, "i3", "u4", 0, 1, 0.0, (3,)),
    "64x16-i6i6": (64, 16, "i6", "i6", 0, 2, 0.0, ()),
    # plain CSD (no shared pairs)
    "csd-6x8-i6i6-d1": (6, 8, "i6", "i6", 0, 1, 0.0, (), False),
    "csd-sparse-10x12-d3": (10, 12, "u4", "i8", 3, 3, 0.6, (), False),
}
VERILATOR = ("sparse-10x12-i8",)
# no pattern in two rows (or CSE off): no pair level; the others have shared pairs
NO_PAIRS = ("1x1-i4i4", "1x1-neg", "4x6-i2w-d1", "csd-6x8-i6i6-d1", "csd-sparse-10x12-d3")


def _check(tmp_path, simulator, name, seed=0):
    op, ins, outs = layer(*CASES[name], seed=seed)
    res = run_unit(tmp_path, simulator, op, ins, outs, inputs(ins, 5, seed, op), frames=5, stall=0.3,
                   seed=seed + 1)
    d = cmvm.derive(op, ins, outs)
    assert (d["pairs"] == 0) == (name in NO_PAIRS), (name, d["pairs"])
    assert d["cycles"] == d["vectors"]
    assert res["interval_cycles"] == d["cycles"]
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]
    assert d["pipeline_cycles"] == d["stages"] == 1 + max(1, -(-d["levels"] // d["depth"]))
    return res


@pytest.mark.parametrize("name", list(CASES))
def test_cmvm_icarus(tmp_path, name):
    _check(tmp_path, "icarus", name)


@pytest.mark.parametrize("name", VERILATOR)
def test_cmvm_verilator(tmp_path, name):
    _check(tmp_path, "verilator", name, seed=3)


def test_cmvm_lint(tmp_path):
    for i, name in enumerate(CASES):
        op, ins, outs = layer(*CASES[name])
        for fname, text in verilog.layer_files(f"l{i}", op, ins, outs).items():
            (tmp_path / fname).write_text(text)
        lint((tmp_path / f"l{i}.v",) + rtl(*cmvm.CELLS), f"l{i}", cwd=tmp_path)


def _synth(tmp_path, op, ins, outs, label):
    for fname, text in verilog.layer_files("dut", op, ins, outs).items():
        (tmp_path / fname).write_text(text)
    cells = synth((tmp_path / "dut.v",) + rtl(*cmvm.CELLS), "dut", cwd=tmp_path)
    d = cmvm.derive(op, ins, outs)
    est = cmvm.resources(op, d, get_part("xcvu9p"))
    lut = sum(v for c, v in cells.items() if c.startswith("LUT"))
    ff = sum(v for c, v in cells.items() if c.startswith("FD"))
    print(f"cmvm {label}: {d['pairs']} pairs, {d['adders']} adders ({d['adders_csd']} plain "
          f"CSD), {d['levels']} levels, {d['stages']} stages; yosys LUT {lut} FF {ff} CARRY4 "
          f"{cells.get('CARRY4', 0)} DSP {cells.get('DSP48E1', 0)}; estimate {est}")
    assert not any(c.startswith("DSP") for c in cells)
    assert 0.8 * est.LUT <= lut <= 1.25 * est.LUT, (lut, est)
    assert 0.8 * est.FF <= ff <= 1.25 * est.FF, (ff, est)
    return cells


@pytest.mark.synth
def test_cmvm_synth(tmp_path):
    """A small layer (12 -> 8, 4-bit weights, shared pairs, depth 2) against the estimate."""
    op, ins, outs = layer(8, 12, "i4", "i4", 0, 2, seed=5)
    _synth(tmp_path, op, ins, outs, "12->8 i4xi4")


@pytest.mark.synth
@pytest.mark.slow
# Not a yosys error: the run that looked like one was stopped by hand after 12 CPU-minutes
# (to free the machine for a full test run).  Before NODE_BITS the CSE layer gave 15,807 LUT,
# 10,876 FF, 0 DSP; plain CSD took over 20 min.  Whether the exact-width version finishes,
# and in what time, is not measured yet: kept as a non-strict xfail until it is.
@pytest.mark.xfail(reason="yosys time on the 16x64 layer not measured since NODE_BITS "
                   "(>10 min); see the comment above", strict=False)
@pytest.mark.parametrize("cse", [True, False])
def test_cmvm_synth_jet(tmp_path, cse):
    """The jet-tagging MLP's first layer shape: 16 -> 64, 6-bit weights and inputs."""
    op, ins, outs = layer(64, 16, "i6", "i6", 0, 2, cse=cse)
    _synth(tmp_path, op, ins, outs, f"16->64 i6xi6 {'cse' if cse else 'csd'}")
