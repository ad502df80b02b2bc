"""The cmvm cell (hw/rtl/cmvm.v, the latency strategy's multiplier-free dense layer) through
its rendered layer module: the CSD term program, bit-exact against golden() under random
stalls, one vector per cycle and the deterministic latency, lint over the grid and one
synthesis (the jet-tagging MLP's first layer) against the estimate."""

import dataclasses

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.estimate import get_part
from archgen.ir.graph import Tensor
from archgen.ir.types import QuantSpec
from archgen.units import cmvm, cmvm_stage, mvu
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


def layer(rows, cols, xk, wk, zx=0, depth=2, sparse=0.0, lead=(), cse=True, in_reg=True,
          arity=3, levels=1, seed=0):
    """(op, ins, outs) of a random cmvm layer (``sparse`` may be the weight matrix;
    ``levels``: the CSE's pair levels)."""
    rng = np.random.default_rng(seed)
    w = np.asarray(sparse) if np.ndim(sparse) else weights(rng, rows, cols, wk, sparse)
    op = cmvm.Params(w, zx, spec(wk), depth=depth, cse=cse, in_register=in_reg, arity=arity,
                     cse_levels=levels)
    x = Tensor("x", tuple(lead) + (cols,), spec(xk))
    ((shape, q),) = op.infer([x])
    return op, [x], [Tensor("y", shape, q)]


def with_digits(target: int, digits: int) -> int:
    """An integer near ``target`` (>= 1) with exactly ``digits`` nonzero CSD digits: its
    top CSD digits, or more digits below its lowest one, else the nearest by search."""
    d = sorted(cmvm.csd(target), reverse=True)  # (shift, digit), the highest first
    while len(d) < digits and d[-1][0] >= 2:
        d.append((d[-1][0] - 2, 1))
    if len(d) >= digits:
        return sum(v << e for e, v in d[:digits])
    for dist in range(1 << 20):
        for m in (target - dist, target + dist):
            if m >= 1 and len(cmvm.csd(m)) == digits:
                return m
    raise AssertionError((target, digits))


def with_stage(op, ins, digits, shift, out, sign=1, offset=0.0, seed=0):
    """``op`` with an output stage to ``out`` codes ('u6', 'i3'): per row n a multiplier of
    digits[n % len] CSD digits and sign sign[n % len], scaled so that the row's sums on
    random inputs span about 1.6x the output range, centered (moved by ``offset`` output
    ranges): both clamps are reached on random inputs.  B is the centering constant."""
    q = spec(out)
    digits, sign = np.atleast_1d(digits), np.atleast_1d(sign)
    acc = cmvm.golden(op, inputs(ins, 64, seed)[0])[0].reshape(-1, op.weight.shape[0])
    p5, p95 = np.percentile(acc, 5, axis=0), np.percentile(acc, 95, axis=0)
    span = q.hi - q.lo + 1
    mult, bias = [], []
    for n in range(op.weight.shape[0]):
        gain = 1.6 * span / max(1.0, p95[n] - p5[n])  # output codes per accumulator unit
        m = int(sign[n % len(sign)]) * with_digits(max(1, round(gain * 2 ** shift)),
                                                   int(digits[n % len(digits)]))
        mid = (q.lo + q.hi) / 2 + offset * span
        bias.append(round(mid * 2 ** shift - (p5[n] + p95[n]) / 2 * m))
        mult.append(m)
    return dataclasses.replace(op, out_mult=tuple(mult), out_bias=tuple(bias), out_shift=shift,
                               out_spec=q)


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


@pytest.mark.parametrize("cse,levels", [(False, 1), (True, 1), (True, 2)])
@pytest.mark.parametrize("wk,xk,zx", [("i6", "i6", 0), ("i8", "u8", 5), ("bip", "u4", -3),
                                      ("u3", "i2", 1), ("i2", "bip", 0)])
def test_program_equals_golden(wk, xk, zx, cse, levels):
    rng = np.random.default_rng(7)
    op, ins, _ = layer(24, 9, xk, wk, zx, sparse=0.3, cse=cse, levels=levels, seed=3)
    x = codes(rng, ins[0].quant, (20, 9))
    pairs, rows = prog = cmvm.program(op)
    assert bool(pairs) == cse
    assert np.array_equal(cmvm.evaluate(prog, x - (0 if xk == "bip" else zx)),
                          cmvm.golden(op, x)[0])
    for terms in rows:  # by shift, the first positive term (if any) in front
        assert list(terms) == cmvm.order(terms)
        assert not terms or terms[0][2] == min(t[2] for t in terms)
        rest = [(e, n, s) for s, e, n in terms[1:]]
        assert rest == sorted(rest)
    for j, (a, sa, b, sb, neg) in enumerate(pairs):  # shifted to a zero low shift
        for src in (a, b):  # an input, or (2 levels) an earlier pair of inputs
            assert src < 9 or (levels == 2 and src < 9 + j and max(pairs[src - 9][::2][:2]) < 9)
        assert min(sa, sb) == 0
        assert not (neg and sa > sb)  # a difference subtracts its shifted operand
    # never more pair levels than asked for; the wide weights share enough to use them all
    assert cmvm.pair_levels(pairs, 9) <= (levels if cse else 0)
    if cse and wk in ("i6", "i8"):
        assert cmvm.pair_levels(pairs, 9) == levels
    if cse:  # the orientation had some to turn (6-bit weights have both kinds)
        turned = [t for t in cmvm.cse(cmvm.csd_program(op.weight), 9)[0] if t[4] and t[1] > t[3]]
        assert turned or wk != "i6"


def test_cse_second_level_rows():
    """A pair over a pair is shared from at least ``min2`` rows: every one of them is used
    by that many (nothing combines it further); 3 shares fewer of them than 2."""
    op, _, _ = layer(32, 12, "i6", "i6", seed=5)
    second = {}
    for min2 in (2, 3):
        pairs, rows = cmvm.cse(cmvm.csd_program(op.weight), 12, 2, min2)
        top = [12 + j for j, (a, _, b, _, _) in enumerate(pairs) if a >= 12 or b >= 12]
        uses = {s: sum(t[0] == s for r in rows for t in r) for s in top}
        assert top and min(uses.values()) >= min2
        second[min2] = len(top)
    assert second[3] < second[2]


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


@pytest.mark.parametrize("arity", [2, 3])
def test_derive_figures(arity):
    op, ins, outs = layer(3, 4, "i4", "i4", depth=2, seed=1)
    op = cmvm.Params(np.array([[3, 0, -1, 7], [0, 0, 0, 0], [-2, -4, 0, 0]]), 0, spec("i4"),
                     cse=False, arity=arity)
    d = cmvm.derive(op, ins, outs)
    # 3 = 4 - 1 (2 terms), -1 (1), 7 = 8 - 1 (2); row 2: -2, -4: all negative
    assert d["terms"] == [5, 0, 2] and d["t_max"] == 5
    assert d["neg_root"] == [0, 0, 1]
    # 5 terms: 3 binary levels (4 adders), or 2 levels of 3 + 2 then 2 (3 adders, 1 ternary)
    tree, row0 = (3, 4) if arity == 2 else (2, 3)
    assert d["levels"] == tree + 1 and d["stages"] == 1 + -(-(tree + 1) // 2)
    assert d["adders"] == row0 + 1 + 1 and d["adders3"] == (arity == 3)
    assert d["cycles"] == 1 and d["pipeline_cycles"] == d["stages"]
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
    # no input register (fed by another unit's output register): one stage less
    "noreg-1x1-d1": (1, 1, "i4", "i4", 0, 1, 0.0, (), True, False),
    "noreg-6x8-u6i6-d2": (6, 8, "u6", "i6", 0, 2, 0.0, (), True, False),
    "noreg-bip-x-5x6-vec2": (5, 6, "bip", "i5", 0, 3, 0.0, (2,), True, False),
    # binary adder trees (arity 2)
    "bin-negrows-4x3-d1": (4, 3, "i5", "i4", 2, 1, [[-2, 0, -1], [0, 0, 0], [3, -1, 4],
                                                    [-6, -8, -1]], (), True, True, 2),
    "bin-sparse-10x12-d2": (10, 12, "i6", "i8", 3, 2, 0.6, (), True, True, 2),
    "bin-csd-6x8-d3": (6, 8, "i6", "i6", 0, 3, 0.0, (), False, True, 2),
    # two pair levels (pairs over pairs): the sources registered (depth 2) or not (3)
    "lv2-24x10-i6i6-d2": (24, 10, "i6", "i6", 0, 2, 0.0, (), True, True, 3, 2),
    "lv2-16x8-u8i6-zx-d3": (16, 8, "u8", "i6", 5, 3, 0.0, (2,), True, True, 3, 2),
    "lv2-bin-12x9-noreg-d2": (12, 9, "u6", "i6", 0, 2, 0.2, (), True, False, 2, 2),
}
VERILATOR = ("sparse-10x12-i8", "lv2-16x8-u8i6-zx-d3")
# no pattern in two rows (or CSE off): no pair level; the others have shared pairs
NO_PAIRS = ("1x1-i4i4", "1x1-neg", "4x6-i2w-d1", "csd-6x8-i6i6-d1", "csd-sparse-10x12-d3",
            "noreg-1x1-d1", "bin-csd-6x8-d3")
# simulated as the Xilinx netlist synthesis sees (add3 as LUT6_2 and CARRY4 primitives)
NETLIST = ("6x8-i6i6-d2", "negrows-4x3-d1", "lv2-24x10-i6i6-d2")


def _check(tmp_path, simulator, name, seed=0, netlist=False):
    op, ins, outs = layer(*CASES[name], seed=seed)
    res = run_unit(tmp_path, simulator, op, ins, outs, inputs(ins, 5, seed, op), frames=5, stall=0.3,
                   seed=seed + 1, netlist=netlist)
    d = cmvm.derive(op, ins, outs)
    assert (d["pairs"] == 0) == (name in NO_PAIRS), (name, d["pairs"])
    assert d["pair_levels"] == (0 if name in NO_PAIRS else 2 if name.startswith("lv2") else 1)
    assert d["cycles"] == d["vectors"]
    assert res["interval_cycles"] == d["cycles"]
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]
    assert d["pipeline_cycles"] == d["stages"] == int(op.in_register) + max(
        1, -(-d["levels"] // d["depth"]))
    return res


@pytest.mark.parametrize("name", list(CASES))
def test_cmvm_icarus(tmp_path, name):
    _check(tmp_path, "icarus", name)


@pytest.mark.parametrize("name", NETLIST)
def test_cmvm_xilinx_netlist_icarus(tmp_path, name):
    _check(tmp_path, "icarus", name, netlist=True)


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
# Ternary trees (the default), yosys 0.23: with CSE 82 s, 6,788 LUT, 5,018 FF, 2,055 CARRY4,
# 0 DSP (estimate 6,968 / 5,228 / 1,769); plain CSD 132 s, 11,059 LUT, 4,223 FF (estimate
# 11,149 / 4,311).  (Binary trees with CSE were 11,080 LUT.)
@pytest.mark.parametrize("cse", [True, False])
def test_cmvm_synth_jet(tmp_path, cse):
    """The jet-tagging MLP's first layer shape: 16 -> 64, 6-bit weights and inputs."""
    op, ins, outs = layer(64, 16, "i6", "i6", 0, 2, cse=cse)
    _synth(tmp_path, op, ins, outs, f"16->64 i6xi6 {'cse' if cse else 'csd'}")


# --- the output stage: requantization folded into the pipeline ----------------------------

# layer (as CASES), stage (CSD digits per row, shift, output codes, M's sign per row,
# center offset in output ranges): with_stage() picks M and B so both clamps are reached
RQ_CASES = {
    "rq-8x5-u8i3-zx-d3": ((8, 5, "u8", "i3", 7, 3, 0.0, ()), ((1, 2, 3), 10, "u6", (1, -1), 0.0)),
    # all-negative rows (the root's sign folds into M), a zero row; s = 0
    "rq-negrows-4x3-d1": (CASES["negrows-4x3-d1"], ((2, 1), 0, "i5", (-1, 1), 0.2)),
    "rq-4x6-i2w-d2": ((4, 6, "i4", "i2", 0, 2, 0.0, ()), ((1,), 0, "u3", (1, -1), 0.0)),
    # plain CSD, zero rows; 4..6 digits, a large shift, 8-bit codes
    "rq-csd-sparse-10x12": ((10, 12, "u4", "i8", 3, 2, 0.6, (), False),
                            ((4, 5, 6), 16, "u8", (1, -1, 1), -0.1)),
    "rq-binw-9x7-u1-d3": ((9, 7, "u4", "bip", -2, 3, 0.0, ()), ((4, 2), 14, "u1", (-1,), 0.0)),
    "rq-vec3-7x4-i2": ((7, 4, "i3", "u4", 0, 2, 0.0, (3,)), ((2, 3), 8, "i2", (1,), 0.0)),
    "rq-bipx-5x6-i8-d1": ((5, 6, "bip", "i5", 0, 1, 0.0, ()), ((6, 1), 18, "i8", (1, -1), 0.3)),
    "rq-1x1-i1": ((1, 1, "i8", "i2", 0, 2, [[-2]], ()), ((3,), 5, "i1", (-1,), 0.0)),
    # the jet-tagging MLP's first layer with a realistic stage (the synthesis case)
    "rq-jet-64x16": ((64, 16, "i6", "i6", 0, 2, 0.0, ()), ((3, 4, 5), 12, "u6", (1, 1, -1), 0.0)),
}
RQ_CASES["rq-bin-csd-sparse-10x12"] = (RQ_CASES["rq-csd-sparse-10x12"][0] + (True, 2),
                                       RQ_CASES["rq-csd-sparse-10x12"][1])  # binary trees
# two pair levels, the sources not registered (depth 3)
RQ_CASES["rq-lv2-16x8-d3"] = (CASES["lv2-16x8-u8i6-zx-d3"], ((3, 5, 4), 13, "u6", (1, -1), 0.1))
RQ_VERILATOR = ("rq-negrows-4x3-d1",)
RQ_NETLIST = ("rq-csd-sparse-10x12", "rq-8x5-u8i3-zx-d3")  # as NETLIST


def rq_layer(name, seed=0):
    """(op, ins, outs) of RQ_CASES[name]: the layer with its output stage."""
    lay, (digits, shift, out, sign, offset) = RQ_CASES[name]
    op, ins, _ = layer(*lay, seed=seed)
    op = with_stage(op, ins, digits, shift, out, sign, offset, seed)
    ((shape, q),) = op.infer(ins)
    return op, ins, [Tensor("y", shape, q)]


def unclamped(op, x):
    """(acc * M + B) >> s before the clamp."""
    acc = mvu.golden(op, x)[0]
    return (acc * np.array(op.out_mult) + np.array(op.out_bias)) >> op.out_shift


def _wrap(v, bits):
    """v (int64 array) as a ``bits``-bit two's complement number."""
    v = v & ((1 << bits) - 1)
    return v - ((v >> (bits - 1)) << bits)


def stage_model(ctx, n, r):
    """Row n's output on tree roots r, computed from the packed fields as hw/rtl/cmvm.v's
    stage does: the digits' products less the row's RQ_D truncated bits, every node from
    its used children and signs (RQ_NODE_ARGS, RQ_NODE_SUB) at its RQ_NODE_BITS (modulo,
    extended as RQ_NODE_UNS says), the shift's wires at the output's bits, the clamp's flags
    from the root's compares with RQ_TLO/RQ_THI (where RQ_CLO/RQ_CHI enable them)."""
    t, rw, nodes = ctx["rq_slots"], ctx["rq_width"], ctx["rq_nodes"]
    assert rw < 60
    level = []
    for i in range(t):
        s = n * t + i
        if not ctx["rq_used"][s]:
            level.append(np.zeros_like(r))
        elif ctx["rq_const"][s]:
            level.append(np.full_like(r, ctx["rq_c"][n]))
        else:
            level.append(_wrap((r << ctx["rq_shift"][s]) >> ctx["rq_d"][n], rw))
    ar, nodes_at = ctx["arity"], n * nodes + t
    for _ in range(ctx["rq_tree"]):
        nxt = []
        for i in range(0, len(level), ar):
            f = nodes_at + i // ar
            args, sub = ctx["rq_node_args"][f], ctx["rq_node_sub"][f]
            if args < 2:
                nxt.append(level[i])
                continue
            nw = min(ctx["rq_node_bits"][f] or rw, rw)
            v = level[i]
            for j in range(1, args):
                v = v - level[i + j] if sub >> (j - 1) & 1 else v + level[i + j]
            uns = ctx["rq_node_uns"][f]  # zero-extended
            nxt.append(v & ((1 << nw) - 1) if uns else _wrap(v, nw))
        nodes_at += len(nxt)
        level = nxt
    ob = ctx["out_bits"]
    z = _wrap(level[0] >> ctx["rq_s"][n], ob)
    flip = ctx["rq_flip"][n]
    u = -z - 1 if flip else z
    lo, hi = ctx["out_lo"], ctx["out_hi"]
    below = ctx["rq_clo"][n] & ((r < ctx["rq_tlo"][n]) ^ flip)
    above = ctx["rq_chi"][n] & ((r < ctx["rq_thi"][n]) ^ (1 - flip))
    y = np.where(below, lo, np.where(above, hi, u))
    return _wrap(y, ob) if ctx["out_signed"] else y & ((1 << ob) - 1)


def check_stage_fields(op, ins, outs, points=1 << 14):
    """The packed stage fields give golden()'s output on every reachable accumulator of
    every row (all of them, or ``points`` spread over the range with both ends)."""
    ctx = cmvm.context(op, ins, outs)
    for n, (lo, hi) in enumerate(cmvm.row_ranges(op.weight, ctx["xs_lo"], ctx["xs_hi"])):
        acc = np.unique(np.linspace(lo, hi, min(points, hi - lo + 1)).round().astype(np.int64))
        r = -acc if ctx["neg_root"][n] else acc
        assert cmvm.signed_bits(r.min(), r.max()) <= ctx["acc_bits"]
        one = dataclasses.replace(op, weight=op.weight[n:n + 1], out_mult=op.out_mult[n:n + 1],
                                  out_bias=op.out_bias[n:n + 1])
        want = cmvm.requantize(one, acc[:, None])[:, 0]
        got = stage_model(ctx, n, r)
        assert np.array_equal(got, want), (n, acc[got != want][:5], got[got != want][:5],
                                           want[got != want][:5])
    return ctx


@pytest.mark.parametrize("name", list(RQ_CASES))
def test_stage_fields_equal_golden(name):
    check_stage_fields(*rq_layer(name))


def test_stage_fields_random():
    """Random layers and stages (any M, B, s, output bits and signedness, input zero
    point): the stage model equals golden() over each row's whole accumulator range."""
    rng = np.random.default_rng(11)
    kinds = ["i2", "i4", "u4", "i6", "bip", "u3"]
    for case in range(60):
        rows, cols = int(rng.integers(1, 6)), int(rng.integers(1, 7))
        xk, wk = kinds[rng.integers(len(kinds))], kinds[rng.integers(len(kinds))]
        zx = 0 if xk == "bip" else int(rng.integers(-3, 4))
        op, ins, _ = layer(rows, cols, xk, wk, zx, int(rng.integers(1, 4)),
                           0.3 * (case % 3 == 0), cse=bool(case % 2), seed=case)
        out = f"{'iu'[case % 2]}{rng.integers(1, 9)}"
        s = int(rng.integers(0, 20))
        mult = tuple(int(v) * int(rng.choice([-1, 1])) for v in rng.integers(1, 1 << 12, rows))
        bias = tuple(int(v) for v in rng.integers(-(1 << 20), 1 << 20, rows))
        op = dataclasses.replace(op, out_mult=mult, out_bias=bias, out_shift=s, out_spec=spec(out))
        ((shape, q),) = op.infer(ins)
        check_stage_fields(op, ins, [Tensor("y", shape, q)])


def test_round_threshold():
    """The integer of [a, b] with the most trailing zeros, against every candidate."""
    def tz(v):
        return 99 if v == 0 else (v & -v).bit_length() - 1
    for a in range(-70, 70):
        for b in range(a, a + 40):
            t = cmvm_stage.round_threshold(a, b)
            assert a <= t <= b and tz(t) == max(tz(v) for v in range(a, b + 1)), (a, b, t)


@pytest.mark.parametrize("name", ["rq-jet-64x16", "rq-8x5-u8i3-zx-d3", "rq-bipx-5x6-i8-d1"])
def test_stage_window(name):
    """The stage computes modulo 2**(its shift + the output's bits): no node is wider;
    each clamp's threshold reads the fewest root bits: none with more trailing zeros
    would give the same flags on the row's roots (checked by moving it)."""
    op, ins, outs = rq_layer(name)
    ctx = check_stage_fields(op, ins, outs)
    nodes, ob = ctx["rq_nodes"], ctx["out_bits"]
    for n in range(ctx["rows"]):
        cap = ctx["rq_s"][n] + ob
        args = ctx["rq_node_args"][n * nodes:(n + 1) * nodes]
        bits = ctx["rq_node_bits"][n * nodes:(n + 1) * nodes]
        assert all(b <= cap for a, b in zip(args, bits) if a >= 2), (n, cap, bits)
    assert ctx["rq_width"] == max(s + ob for s in ctx["rq_s"])
    if name == "rq-jet-64x16":  # the window saves bits: wider than the cap otherwise
        assert ctx["rq_width"] < ctx["acc_bits"] + max(m.bit_length() for m in op.out_mult)
        assert sum(ctx["rq_clo"]) + sum(ctx["rq_chi"]) > ctx["rows"]


def test_stage_coverage():
    """The simulated grid covers what the stage must handle: M of both signs and 1..6
    digits, B of both signs, s = 0 and large, signed and unsigned codes of 1..8 bits,
    depth 1..3, with and without CSE, an input zero point, both clamps reached."""
    seen = {k: set() for k in ("msign", "digits", "bsign", "s", "out", "bits", "depth", "cse",
                               "zx")}
    for name in RQ_CASES:
        op, ins, outs = rq_layer(name)
        seen["msign"] |= {int(np.sign(m)) for m in op.out_mult}
        seen["digits"] |= {len(cmvm.csd(m)) for m in op.out_mult}
        seen["bsign"] |= {int(np.sign(b)) for b in op.out_bias}
        seen["s"].add(op.out_shift)
        seen["out"].add(op.out_spec.signed)
        seen["bits"].add(op.out_spec.bits)
        seen["depth"].add(op.depth)
        seen["cse"].add(op.cse)
        seen["zx"].add(op.in_zero_point != 0)
        v = unclamped(op, inputs(ins, 5, 0, op)[0])
        assert (v < op.out_spec.lo).any() and (v > op.out_spec.hi).any(), name
    assert seen["msign"] >= {-1, 1} and seen["digits"] >= set(range(1, 7))
    assert seen["bsign"] >= {-1, 1} and 0 in seen["s"] and max(seen["s"]) >= 12
    assert seen["out"] == {False, True} and {1, 8} <= seen["bits"]
    assert seen["depth"] >= {1, 2, 3} and seen["cse"] == {False, True} and True in seen["zx"]


@pytest.mark.parametrize("arity", [2, 3])
def test_stage_derive(arity):
    """A hand-checked stage: row 0 M = 5 = 4 + 1 (2 digits) and B = 1; row 1 has no
    terms (a constant, no slot: B >> 2 = 0); row 2 is all negative (its root is -acc, so
    M' = 6 = 2 * 3: the factor 2 leaves s, 3 = 4 - 1), B = -7 >> 1 = -4.  Row 0 has 5
    terms: binary trees take 3 levels and 4 adders, ternary 2 levels and 3 adders (one
    ternary: 5 = 3 + 2 slots, then 2 nodes); each stage's 3 slots (2 digits and B) are 2
    binary adders or one ternary."""
    w = np.array([[3, 0, -1, 7], [0, 0, 0, 0], [-2, -4, 0, 0]])
    op = cmvm.Params(w, 0, spec("i4"), cse=False, out_mult=(5, -3, -6), out_bias=(1, 2, -7),
                     out_shift=2, out_spec=spec("u4"), arity=arity)
    x = Tensor("x", (4,), spec("i4"))
    ((shape, q),) = op.infer([x])
    assert shape == (3,) and q == spec("u4")
    outs = [Tensor("y", shape, q)]
    d = cmvm.derive(op, [x], outs)
    assert d["requant"] == 1 and d["neg_root"] == [0, 0, 1]
    assert d["terms"] == [5, 0, 2] and d["rq_digits"] == [2, 0, 2]
    tree, rq_add = (3, 2 + 0 + 2) if arity == 2 else (2, 1 + 0 + 1)
    assert d["tree_levels"] == tree and d["rq_adders"] == rq_add
    assert d["adders"] == (4 + 1 if arity == 2 else 3 + 1) + rq_add
    assert d["adders3"] == (0 if arity == 2 else 1 + 2)
    assert d["rq_slots"] == 3 and d["rq_tree"] == 4 - arity and d["rq_levels"] == 5 - arity
    levels = tree + 5 - arity
    assert d["levels"] == levels and d["stages"] == d["pipeline_cycles"] == 1 + -(-levels // 2)
    assert d["out_width"] == 3 * 4 and d["out_lanes"] == [3]
    ctx = check_stage_fields(op, [x], outs)
    assert ctx["rq_s"] == [2, 0, 1] and ctx["rq_c"] == [1, 0, -4] and ctx["rq_flip"] == [0, 0, 0]
    assert ctx["rq_used"] == [1, 1, 1, 0, 0, 0, 1, 1, 1]
    assert ctx["rq_neg"] == [0, 0, 0, 0, 0, 0, 0, 1, 0]
    if arity == 3:  # per row: 3 slots, one node: row 2's subtracts its digit -1 (child b)
        assert ctx["rq_node_args"] == [0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3]
        assert ctx["rq_node_sub"] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_stage_params_checked():
    w = np.ones((2, 3), dtype=np.int64)
    with pytest.raises(InternalError, match="every one of the 2 rows"):
        cmvm.Params(w, 0, spec("i4"), out_mult=(1,), out_spec=spec("u4"))
    with pytest.raises(InternalError, match="M != 0"):
        cmvm.Params(w, 0, spec("i4"), out_mult=(1, 0), out_spec=spec("u4"))
    with pytest.raises(InternalError, match="bipolar"):
        cmvm.Params(w, 0, spec("i4"), out_mult=(1, 1), out_spec=spec("bip"))
    with pytest.raises(InternalError, match="need out_spec"):
        cmvm.Params(w, 0, spec("i4"), out_mult=(1, 1))
    with pytest.raises(InternalError, match="out_shift"):
        cmvm.Params(w, 0, spec("i4"), out_mult=(1, 1), out_shift=-1, out_spec=spec("u4"))


def _check_rq(tmp_path, simulator, name, seed=0, netlist=False):
    op, ins, outs = rq_layer(name, seed)
    xs = inputs(ins, 5, seed, op)
    res = run_unit(tmp_path, simulator, op, ins, outs, xs, frames=5, stall=0.3, seed=seed + 1,
                   netlist=netlist)
    d = cmvm.derive(op, ins, outs)
    assert res["interval_cycles"] == d["cycles"] == d["vectors"]
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]
    levels = d["pair_levels"] + d["tree_levels"] + d["rq_tree"] + 1
    assert d["levels"] == levels and d["pipeline_cycles"] == 1 + -(-levels // d["depth"])
    return res


RQ_SLOW = ("rq-jet-64x16",)  # ~11 s of Icarus


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in RQ_SLOW else n
                                  for n in RQ_CASES if n not in RQ_VERILATOR])
def test_cmvm_requant_icarus(tmp_path, name):
    _check_rq(tmp_path, "icarus", name)


@pytest.mark.parametrize("name", RQ_NETLIST)
def test_cmvm_requant_xilinx_netlist_icarus(tmp_path, name):
    _check_rq(tmp_path, "icarus", name, netlist=True)


@pytest.mark.parametrize("name", RQ_VERILATOR)
def test_cmvm_requant_verilator(tmp_path, name):
    _check_rq(tmp_path, "verilator", name, seed=2)


def test_cmvm_requant_lint(tmp_path):
    for i, name in enumerate(n for n in RQ_CASES if n not in RQ_SLOW):
        op, ins, outs = rq_layer(name)
        for fname, text in verilog.layer_files(f"r{i}", op, ins, outs).items():
            (tmp_path / fname).write_text(text)
        lint((tmp_path / f"r{i}.v",) + rtl(*cmvm.CELLS), f"r{i}", cwd=tmp_path)


@pytest.mark.synth
def test_cmvm_requant_synth(tmp_path):
    """The small layer of test_cmvm_synth (12 -> 8, 4-bit) with an output stage (M of 3..5
    CSD digits, one negative, s = 12, 6-bit unsigned codes) against the estimate."""
    op, ins, _ = layer(8, 12, "i4", "i4", 0, 2, seed=5)
    op = with_stage(op, ins, (3, 4, 5), 12, "u6", (1, 1, -1))
    ((shape, q),) = op.infer(ins)
    _synth(tmp_path, op, ins, [Tensor("y", shape, q)], "12->8 i4xi4 + stage u6")


@pytest.mark.synth
@pytest.mark.slow
def test_cmvm_requant_synth_jet(tmp_path):
    """The jet-tagging MLP's first layer (16 -> 64, 6-bit) with a realistic output stage
    (M of 3..5 CSD digits, s = 12, 6-bit unsigned codes): no DSP, the estimate near yosys.
    Measured (yosys 0.23, ~5 min): 15,160 LUT, 10,076 FF, 3,974 CARRY4, 0 DSP; the
    estimate 16,551 / 11,079 / 4,199."""
    op, ins, outs = rq_layer("rq-jet-64x16")
    _synth(tmp_path, op, ins, outs, "16->64 i6xi6 cse + stage u6")
