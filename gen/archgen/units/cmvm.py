"""Constant-coefficient matrix-vector unit (the latency strategy's dense layer, issue #9):
acc[n] = sum_k (x[k] - in_zero_point) * W[n, k], exact integers, exactly mvu's golden().

Multiplier-free: every weight is written in canonical signed digits (CSD: digits in
{-1, 0, 1}, no two adjacent nonzero, the fewest nonzero digits), so W[n, k] * x_k is a sum
of +-(x_k << e), one term per nonzero digit.  Each output is then a balanced adder tree
over its terms.  Fully parallel: one input beat carries the whole vector (K elements), one
output beat all N accumulators, one beat per cycle (II = 1), no DSP.

The term program (``program()``): for every output n a list of terms (k, shift, neg), the
value of a term being (-1)^neg * ((x[k] - zero point) << shift); positive terms first (the
adder tree takes each node's sign from its leftmost leaf, so a row with a positive term
needs no negation at its root).  The RTL cell (hw/rtl/cmvm.v) gets the program as packed
parameters: T_MAX term slots per row (rows with fewer terms have unused, zero slots) of
(k, shift, neg, used) fields, see ``context()``.

Pipeline (hw/rtl/cmvm.v): the input register (x - zero point), the adder levels with a
register after every ``depth`` levels, the output register; a row whose terms are all
negative adds one level (the negation of its root).  Latency is deterministic:
``derive()["pipeline_cycles"]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const
from ..ir.types import QuantSpec, bits_for_range
from . import mvu

CELLS = ("cmvm.v",)


@dataclass(frozen=True, eq=False)
class Params(Op):
    weight: np.ndarray  # int64 (N, K)
    in_zero_point: int  # subtracted from every input code (in the cell's input register)
    weight_spec: QuantSpec  # bits/signedness of the weight codes
    scale: tuple = (1.0,)  # real scale of the accumulator, per output or shared
    depth: int = 2  # adder levels between pipeline registers (the logic-depth budget), >= 1

    def __post_init__(self):
        object.__setattr__(self, "weight", const(self.weight, np.int64))
        object.__setattr__(self, "scale", tuple(float(v) for v in self.scale))

    @classmethod
    def kind(cls):
        return "cmvm"

    def summary(self):
        n, k = self.weight.shape
        return f"cmvm[{k}->{n} w:{self.weight_spec.bits}b depth{self.depth}]"

    def acc_range(self, x: QuantSpec) -> tuple[int, int]:
        return mvu.Params.acc_range(self, x)

    def infer(self, ins):
        return mvu.Params.infer(self, ins)


def golden(p: Params, x: np.ndarray) -> list:
    return mvu.golden(p, x)


def csd(v: int) -> list:
    """Canonical signed digits of ``v``: [(shift, digit)] with digit +-1, no two shifts
    adjacent, the fewest nonzero digits; sum(d << s) == v."""
    v = int(v)
    out, e = [], 0
    while v:
        if v & 1:
            d = 2 - (v & 3)  # +1 when v = 1 mod 4, -1 when v = 3 mod 4
            out.append((e, d))
            v -= d
        v >>= 1
        e += 1
    return out


def program(p: Params) -> list:
    """The term program: per output n, [(k, shift, neg)], positive terms first."""
    rows = []
    for wrow in p.weight:
        terms = [(k, e, int(d < 0)) for k, w in enumerate(wrow) for e, d in csd(int(w))]
        rows.append(sorted(terms, key=lambda t: t[2]))  # stable: positives first
    return rows


def evaluate(prog: list, xs: np.ndarray) -> np.ndarray:
    """The program's outputs on input vectors xs (..., K) already minus the zero point:
    the reference the cell's arithmetic follows (equal to golden)."""
    xs = np.asarray(xs, dtype=np.int64)
    out = np.zeros(xs.shape[:-1] + (len(prog),), dtype=np.int64)
    for n, terms in enumerate(prog):
        for k, e, neg in terms:
            out[..., n] += (-1 if neg else 1) * (xs[..., k] << e)
    return out


def _levels(t_max: int) -> int:
    return max(0, t_max - 1).bit_length()


def derive(p: Params, ins, outs) -> dict:
    x, y = ins[0], outs[0]
    n, k = p.weight.shape
    if p.depth < 1:
        raise InternalError(f"{p.summary()}: depth={p.depth} must be >= 1")
    q = x.quant
    acc_bits = mvu.acc_width(*p.acc_range(q), y.quant)
    if q.bipolar:
        xlo, xhi = -1, 1
    else:
        xlo, xhi = q.lo - p.in_zero_point, q.hi - p.in_zero_point
    xs_bits = max(2, bits_for_range(min(xlo, -1), xhi)[0])  # signed, after the zero point
    prog = program(p)
    terms = [len(t) for t in prog]
    t_max = max(1, *terms) if terms else 1
    neg_root = [int(bool(t) and t[0][2] == 1) for t in prog]
    levels = _levels(t_max) + int(any(neg_root))
    stages = 1 + max(1, math.ceil(levels / p.depth))  # input register + tree/output registers
    vectors = int(np.prod(x.shape[:-1], dtype=np.int64))
    adders = sum(max(0, t - 1) for t in terms) + sum(neg_root)
    return {"rows": n, "cols": k, "depth": p.depth, "vectors": vectors,
            "in_bits": q.bits, "in_signed": q.signed, "in_bipolar": q.bipolar,
            "zero_point": 0 if q.bipolar else p.in_zero_point, "xs_bits": xs_bits,
            "acc_bits": acc_bits, "acc_signed": y.quant.signed,
            "in_lanes": [k], "out_lanes": [n], "in_width": k * q.bits, "out_width": n * acc_bits,
            "terms": terms, "t_max": t_max, "neg_root": neg_root,
            "shift_max": max((e for t in prog for _, e, _ in t), default=0),
            "levels": levels, "stages": stages, "adders": adders,
            "cycles_per_vector": 1, "cycles": vectors,
            # first input beat to last output beat of a frame: cycles + pipeline_cycles
            "pipeline_cycles": stages}


def context(p: Params, ins, outs) -> dict:
    """derive() + the term program as packed parameter fields, slot (n, t) at index
    n * t_max + t: term_k (k_bits each), term_shift (shift_bits), term_neg, term_used."""
    d = derive(p, ins, outs)
    prog = program(p)
    t_max = d["t_max"]
    fields = {"k": [], "shift": [], "neg": [], "used": []}
    for terms in prog:
        slots = list(terms) + [None] * (t_max - len(terms))
        for t in slots:
            fields["k"].append(t[0] if t else 0)
            fields["shift"].append(t[1] if t else 0)
            fields["neg"].append(t[2] if t else 0)
            fields["used"].append(1 if t else 0)
    return {**d, "k_bits": max(1, (d["cols"] - 1).bit_length()),
            "shift_bits": max(1, d["shift_max"].bit_length()),
            "term_k": fields["k"], "term_shift": fields["shift"], "term_neg": fields["neg"],
            "term_used": fields["used"]}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP and carry cells of this layer after yosys synth_xilinx, from the
    structure of hw/rtl/cmvm.v: an acc_bits-wide adder per adder of the program (and per
    root negation), the input register, the tree registers of the nodes alive at every
    registered level, the output register, the valid/last pipeline and the enable."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    ab, levels, dep = d["acc_bits"], d["levels"], d["depth"]
    cost = pr.adder(ab) * d["adders"]
    cost += pr.reg(d["cols"] * d["xs_bits"])
    for lvl in range(dep, levels, dep):  # registered tree levels below the output register
        cost += pr.reg(ab) * sum(math.ceil(t / (1 << min(lvl, levels))) for t in d["terms"])
    cost += pr.reg(ab * sum(1 for t in d["terms"] if t))
    cost += Cost(LUT=2 + (d["cols"] * d["xs_bits"] if d["zero_point"] else 0),
                 FF=2 * d["stages"])
    return cost
