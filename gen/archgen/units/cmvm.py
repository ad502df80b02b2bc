"""Constant-coefficient matrix-vector unit (the latency strategy's dense layer, issue #9):
acc[n] = sum_k (x[k] - in_zero_point) * W[n, k], exact integers, exactly mvu's golden().

Multiplier-free: every weight is written in canonical signed digits (CSD: digits in
{-1, 0, 1}, no two adjacent nonzero, the fewest nonzero digits), so W[n, k] * x_k is a sum
of +-(x_k << e), one term per nonzero digit.  Each output is then a balanced adder tree
over its terms (``tree()``), ``arity`` operands per adder: ternary adders by default
(hw/rtl/add3.v: on Xilinx carry chains one LUT6_2 per bit, the cost of a binary adder's
bit, so a tree of T terms costs about (T - 1) / 2 adders' LUTs instead of T - 1, in
log3 T levels; measured on the jet MLP in the README).  The terms of a row are ordered by
shift (``order()``), so adders of like shifts meet and their low bits are wires.  Fully
parallel: one input beat carries the whole vector (K elements), one output beat all N
accumulators, one beat per cycle (II = 1), no DSP.  A node whose value is never negative
keeps no sign bit (its bits unsigned, zero-extended).

Shared subexpressions (``cse()``, da4ml-style pairwise CSE, on by default): greedily, the
pair of input terms (x_a << sa) +- (x_b << sb) found in the most rows (less its shift
spread) becomes one shared source, computed once; 16 -> 64 with random 6-bit weights:
2061 adders -> 1205.  With ``cse_levels`` 2 a pair may also combine pairs of inputs (a
second pair level, where the depth budget holds it).  A difference is oriented to
subtract its shifted operand (``orient()``).

The term program (``program()``): the pairs [(a, sa, b, sb, neg)] and for every output n a
list of terms (source, shift, neg), the value of a term being (-1)^neg * (src << shift)
(sources: the inputs x[k] - zero point, then the pairs) in ``order()``: by shift, a
positive term first (the adder tree takes each node's sign from its leftmost leaf, so a
row with a positive term needs no negation at its root).  The RTL cell (hw/rtl/cmvm.v)
gets the program as packed parameters: the pairs' fields, T_MAX term slots per row (rows
with fewer terms have unused, zero slots) of (source, shift, neg, used) fields and every
tree node's exact width, wire bits, used children and signs (``node_fields()``), see
``context()``.

Pipeline (hw/rtl/cmvm.v): the input register (x - zero point; left out, ``in_register``
False, when another unit's output register feeds the cmvm and there is no zero point),
the pair level (with pairs), the tree's adder levels with a register after every
``depth`` levels, the output register; a row whose terms are all negative adds one level
(the negation of its root).  Latency is deterministic: ``derive()["pipeline_cycles"]``.

Output stage (``out_spec`` set: a requantizer folded into the pipeline, issue #9):
y[n] = clip((acc[n] * M[n] + B[n]) >> s, lo, hi), exact integers, floor shift
(``requantize()``).  In hardware (``cmvm_stage.stage()``) each row's root feeds a second balanced
tree over the CSD digits of its multiplier (+-(root << e)) and a constant, then the shift
(wires) and the clamp (one level: a select), no multiplier.  The clamp is decided by up
to two compares of the root with constants, beside the stage's tree, so the tree only
has to be exact, modulo 2**(shift + output bits), on the roots between the bounds.  A
negative multiplier or an all-negative row costs nothing (the result is the bitwise NOT
of the shifted sum of the negated terms), the root negation level goes, and a power of
two common to M and 2**s leaves the row's shift.  Levels: pairs + tree +
clog2(stage slots) + 1, registers by the same ``depth`` rule; the output register holds
out_spec.bits per row.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const
from ..ir.types import QuantSpec, bits_for_range
from . import mvu
from .adder_trees import (adder_counts, adder_low, csd, node_field, row_slots, signed_bits, tree,
                          tree_counts, value_bits)
from .cmvm_stage import row_ranges, stage, stage_fields, stage_resources

CELLS = ("cmvm.v", "cmvm_node.v", "add3.v")
# cse(): a pattern's rows less this many per bit of its operands' shift spread (the jet
# MLP at latency_depth 5 in yosys, LUT: 0: 32,431; 0.25: 32,424; 0.5 and 0.75: 32,146;
# 1: 32,394; 1.5: 32,363; 2: 32,482)
SPREAD_WEIGHT = 0.5


@dataclass(frozen=True, eq=False)
class Params(Op):
    weight: np.ndarray  # int64 (N, K)
    in_zero_point: int  # subtracted from every input code (in the cell's input register)
    weight_spec: QuantSpec  # bits/signedness of the weight codes
    scale: tuple = (1.0,)  # real scale of the accumulator, per output or shared
    depth: int = 2  # adder levels between pipeline registers (the logic-depth budget), >= 1
    # operands per adder of the trees: 3, ternary adders (hw/rtl/add3.v: a LUT per bit on
    # Xilinx carry chains, the cost of a binary adder), or 2
    arity: int = 3
    cse: bool = True  # share pairs of terms between outputs (else plain CSD)
    # pair levels of the CSE: 1, pairs of inputs; 2, also pairs over those (depth >= 2:
    # both levels between the same registers; passes/fuse_requant.py decides), each found
    # in at least cse_min2 rows (a pair over a pair is wider: sharing it twice may not pay)
    cse_levels: int = 1
    cse_min2: int = 2
    # the input register (x - zero point); False when the producer's output is a register
    # and there is no zero point: one cycle less (passes/fuse_requant.py decides)
    in_register: bool = True
    # the optional output stage (requantization folded into the pipeline, see requantize())
    out_mult: tuple | None = None  # per output row n: integer M[n] != 0 (may be negative)
    out_bias: tuple | None = None  # per output row n: integer B[n] (None: zeros)
    out_shift: int = 0  # s >= 0 (a floor shift)
    out_spec: QuantSpec | None = None  # the output codes (signed or unsigned, not bipolar)

    def __post_init__(self):
        object.__setattr__(self, "weight", const(self.weight, np.int64))
        object.__setattr__(self, "scale", tuple(float(v) for v in self.scale))
        if self.arity not in (2, 3):
            raise InternalError(f"cmvm: arity={self.arity!r} must be 2 or 3")
        if self.cse_levels not in (1, 2) or (self.cse_levels == 2 and self.depth < 2):
            raise InternalError(f"cmvm: cse_levels={self.cse_levels!r} must be 1, or 2 with "
                                f"depth >= 2 (depth {self.depth})")
        if not isinstance(self.cse_min2, int) or self.cse_min2 < 2:
            raise InternalError(f"cmvm: cse_min2={self.cse_min2!r} must be an integer >= 2")
        n = self.weight.shape[0]
        if self.out_spec is None:
            if self.out_mult is not None or self.out_bias is not None or self.out_shift:
                raise InternalError("cmvm: out_mult/out_bias/out_shift need out_spec")
            return
        mult = tuple(int(v) for v in np.asarray(self.out_mult, dtype=object).reshape(-1)) \
            if self.out_mult is not None else ()
        bias = (tuple(int(v) for v in np.asarray(self.out_bias, dtype=object).reshape(-1))
                if self.out_bias is not None else (0,) * n)
        object.__setattr__(self, "out_mult", mult)
        object.__setattr__(self, "out_bias", bias)
        object.__setattr__(self, "out_shift", int(self.out_shift))
        if len(mult) != n or len(bias) != n or 0 in mult:
            raise InternalError(f"cmvm: out_mult ({len(mult)} values) and out_bias "
                                f"({len(bias)}) must give every one of the {n} rows, M != 0")
        if self.out_shift < 0:
            raise InternalError(f"cmvm: out_shift={self.out_shift} must be >= 0")
        if self.out_spec.bipolar:
            raise InternalError(f"cmvm: bipolar output {self.out_spec} is not supported")

    @classmethod
    def kind(cls):
        return "cmvm"

    def summary(self):
        n, k = self.weight.shape
        rq = "" if self.out_spec is None else f" >>{self.out_shift} -> {self.out_spec}"
        return (f"cmvm[{k}->{n} w:{self.weight_spec.bits}b depth{self.depth} "
                f"arity{self.arity}{rq}]")

    def acc_range(self, x: QuantSpec) -> tuple[int, int]:
        return mvu.Params.acc_range(self, x)

    def infer(self, ins):
        ((shape, q),) = mvu.Params.infer(self, ins)
        return [(shape, q if self.out_spec is None else self.out_spec)]


def golden(p: Params, x: np.ndarray) -> list:
    acc = mvu.golden(p, x)[0]
    return [acc if p.out_spec is None else requantize(p, acc)]


def requantize(p: Params, acc: np.ndarray) -> np.ndarray:
    """The output stage on accumulators acc (..., N): clip((acc * M + B) >> s, lo, hi),
    exact integers, a floor shift (Python integers when int64 could overflow)."""
    m, b = np.array(p.out_mult, dtype=object), np.array(p.out_bias, dtype=object)
    big = (int(np.abs(acc).max(initial=0)) * max(abs(v) for v in p.out_mult)
           + max(abs(v) for v in p.out_bias))
    if big < 1 << 62:
        m, b = m.astype(np.int64), b.astype(np.int64)
        v = (acc * m + b) >> p.out_shift
    else:
        v = (acc.astype(object) * m + b) >> p.out_shift
    v = np.minimum(np.maximum(v, p.out_spec.lo), p.out_spec.hi)
    return np.asarray(v, dtype=np.int64)


def order(terms) -> list:
    """A row's terms (source, shift, neg) in tree order: by shift, so that the adders of
    like shifts meet and their low bits are wires (positives first within a shift, then by
    source), with the row's first positive term moved to the front (the tree's sign rule:
    a node carries its leftmost slot's sign, so a row with a positive term needs no
    negation at its root)."""
    out = sorted(terms, key=lambda t: (t[1], t[2], t[0]))
    first = next((i for i, t in enumerate(out) if not t[2]), 0)
    return out[first:first + 1] + out[:first] + out[first + 1:]


def csd_program(w: np.ndarray) -> list:
    """Plain CSD terms of each row of ``w``: per row, [(k, shift, neg)], in order()."""
    return [order((k, e, int(d < 0)) for k, wv in enumerate(wrow) for e, d in csd(int(wv)))
            for wrow in w]


def _key(t1, t2):
    """(pattern, shift, sign) of two input terms: t1 + t2 = (-1)^sign * (pattern << shift),
    pattern (a, sa, b, sb, neg) = (x_a << sa) + (-1)^neg * (x_b << sb), min(sa, sb) = 0."""
    (a, s1, n1), (b, s2, n2) = sorted((t1, t2))
    m = min(s1, s2)
    return (a, s1 - m, b, s2 - m, n1 ^ n2), m, n1


def cse(rows: list, k: int, levels: int = 1, min2: int = 2) -> tuple:
    """Pairwise common-subexpression elimination over the terms (da4ml-style): greedily,
    the pattern (src_a << sa) +- (src_b << sb) found in the most rows (less its operands'
    shift spread |sa - sb|: a wide pair widens every tree node it enters; the narrower
    first among equals) becomes a shared source k + j, and each row's pair of terms
    matching it (at any shift and sign) becomes one term of that source.  With
    ``levels`` 1 the operands are inputs; with 2 one of them or both may be a pair of
    inputs (a second pair level), such a pattern shared only when found in ``min2`` rows
    or more.  Returns (pairs [(a, sa, b, sb, neg)], rows)."""
    import heapq
    from collections import Counter

    rows = [{(s, e): n for s, e, n in r} for r in rows]
    depth = {}  # a pair's level (1: of two inputs, 2: over a pair)
    count = Counter()
    for r in rows:
        ts = [(s, e, n) for (s, e), n in r.items()]
        for i in range(len(ts)):
            for j in range(i + 1, len(ts)):
                count[_key(ts[i], ts[j])[0]] += 1

    def prio(key):
        return -(count[key] - SPREAD_WEIGHT * abs(key[1] - key[3])), abs(key[1] - key[3])
    heap = [(prio(key), key) for key, c in count.items() if c > 1]
    heapq.heapify(heap)
    pairs = []
    while heap:
        c, key = heapq.heappop(heap)
        if c != prio(key):  # stale
            if count[key] > 1:
                heapq.heappush(heap, (prio(key), key))
            continue
        a, sa, b, sb, neg = key
        lv = max(depth.get(a, 0), depth.get(b, 0)) + 1
        if lv > levels:
            count[key] = 0
            continue
        hits = []  # (row, shift, sign) of disjoint occurrences
        for ri, r in enumerate(rows):
            used = set()
            for (s, e), n in sorted(r.items()):
                m = e - sa
                if s != a or m < 0 or (s, e) in used:
                    continue
                other = (b, m + sb)
                if other in used or r.get(other) != n ^ neg or other == (s, e):
                    continue
                used |= {(s, e), other}
                hits.append((ri, m, n))
        if len(hits) < (min2 if lv == 2 else 2):
            count[key] = 0
            continue
        j = k + len(pairs)
        pairs.append(key)
        depth[j] = lv
        for ri, m, n in hits:
            r = rows[ri]
            t1, t2 = (a, m + sa, n), (b, m + sb, n ^ neg)
            for t in (t1, t2):
                del r[t[:2]]
            # the terms a pair may still be made of: inputs, and level-1 pairs under 2 levels
            rest = [(s, e, nn) for (s, e), nn in r.items() if depth.get(s, 0) < levels]
            count[key] -= 1
            for u in rest:
                for t in (t1, t2):
                    count[_key(t, u)[0]] -= 1
                if lv < levels:  # the new term pairs with the others
                    new = _key((j, m, n), u)[0]
                    count[new] += 1
                    if count[new] >= 2:
                        heapq.heappush(heap, (prio(new), new))
            r[(j, m)] = n
    return pairs, [order((s, e, n) for (s, e), n in r.items()) for r in rows]


@functools.lru_cache(maxsize=16)  # derive() and context() ask for it: a layer's CSE once
def program(p: Params) -> tuple:
    """The term program: (pairs, rows).  Sources 0..K-1 are the inputs x[k] - zero point,
    source K + j the shared pair j = (a, sa, b, sb, neg): (src_a << sa) + (-1)^neg *
    (src_b << sb) of two earlier sources (inputs; or, ``p.cse_levels`` 2, a pair of inputs
    too); rows: per output n, [(source, shift, neg)] in order().  Without ``p.cse`` there
    are no pairs (plain CSD).  Tuples: the result is shared."""
    rows = csd_program(p.weight)
    k = p.weight.shape[1]
    pairs, rows = orient(*cse(rows, k, p.cse_levels, p.cse_min2), k) if p.cse else ([], rows)
    return tuple(pairs), tuple(tuple(r) for r in rows)


def pair_levels(pairs, k: int) -> int:
    """The pair levels a program takes: 0 (no pair), 1 (pairs of inputs), 2 (pairs over
    pairs of inputs)."""
    return 0 if not pairs else 2 if any(a >= k or b >= k for a, _, b, _, _ in pairs) else 1


def orient(pairs: list, rows: list, k: int) -> tuple:
    """(pairs, rows) with every pair that subtracts its unshifted operand from a shifted
    one, (x_a << s) - x_b, turned into x_b - (x_a << s) and its uses negated: its low s
    bits are then x_b's own (wires), where -x_b's would cost an inverter each.  A pair
    over a turned pair takes it negated (and is turned itself when that is its first
    operand: a pair's first operand is added)."""
    turn = set()
    out = []
    for j, (a, sa, b, sb, neg) in enumerate(pairs):
        neg ^= int(b in turn)
        flip = a in turn  # -(A << sa) +- B = -((A << sa) -+ B)
        neg ^= int(flip)
        if neg and sa > sb:
            a, sa, b, sb, flip = b, sb, a, sa, not flip
        if flip:
            turn.add(k + j)
        out.append((a, sa, b, sb, neg))
    rows = [order((s, e, n ^ int(s in turn)) for s, e, n in r) for r in rows]
    return out, rows


def evaluate(prog: tuple, xs: np.ndarray) -> np.ndarray:
    """The program's outputs on input vectors xs (..., K) already minus the zero point:
    the reference the cell's arithmetic follows (equal to golden)."""
    pairs, rows = prog
    xs = np.asarray(xs, dtype=np.int64)
    src = [xs[..., k] for k in range(xs.shape[-1])]
    for a, sa, b, sb, neg in pairs:
        src.append((src[a] << sa) + (-1 if neg else 1) * (src[b] << sb))
    out = np.zeros(xs.shape[:-1] + (len(rows),), dtype=np.int64)
    for n, terms in enumerate(rows):
        for s, e, neg in terms:
            out[..., n] += (-1 if neg else 1) * (src[s] << e)
    return out


def _src_ranges(d: dict, pairs: list) -> list:
    """The (lo, hi) of every source: the inputs after the zero point, then the pairs."""
    xs = (-1, 1) if d["in_bipolar"] else (d["xs_lo"], d["xs_hi"])
    src = [xs] * d["cols"]
    for a, sa, b, sb, neg in pairs:
        lo_b, hi_b = (-(src[b][1] << sb), -(src[b][0] << sb)) if neg else (
            src[b][0] << sb, src[b][1] << sb)
        src.append(((src[a][0] << sa) + lo_b, (src[a][1] << sa) + hi_b))
    return src


def pair_bits(d: dict, pairs: list) -> list:
    """Each shared pair's bits (its exact range: unsigned when never negative), at most
    src_bits."""
    src = _src_ranges(d, pairs)[d["cols"]:]
    return [min(d["src_bits"], value_bits(lo, hi)) for lo, hi in src]


def pair_unsigned(d: dict, pairs: list) -> list:
    """1 for each shared pair that is never negative (its bits unsigned, zero-extended)."""
    return [int(lo >= 0) for lo, _ in _src_ranges(d, pairs)[d["cols"]:]]


def row_tree(arity: int, t_max: int, terms: list, src: list) -> list:
    """tree() of one row of the term program over the sources' ranges ``src``."""
    spread = row_slots(terms, t_max, arity)
    signed = [(0, 0) if t is None else
              (-(src[t[0]][1] << t[1]), -(src[t[0]][0] << t[1])) if t[2] else
              (src[t[0]][0] << t[1], src[t[0]][1] << t[1]) for t in spread]
    slots = [None if t is None else (t[1], t[2]) for t in spread]

    def srange(a, b):  # independent sources: the sum of the signed terms' ranges
        return (sum(r[0] for r in signed[a:b + 1]), sum(r[1] for r in signed[a:b + 1]))
    return tree(arity, slots, srange)


def derive(p: Params, ins, outs) -> dict:
    return _derive(p, ins, outs)[0]


def _derive(p: Params, ins, outs) -> tuple:
    """(derive()'s dict, the output stage's rows (cmvm_stage.stage()) or [])."""
    x, y = ins[0], outs[0]
    n, k = p.weight.shape
    if p.depth < 1:
        raise InternalError(f"{p.summary()}: depth={p.depth} must be >= 1")
    q = x.quant
    if not p.in_register and p.in_zero_point and not q.bipolar:
        raise InternalError(f"{p.summary()}: no input register needs a zero point of 0, "
                            f"not {p.in_zero_point}")
    rq = p.out_spec is not None
    if q.bipolar:
        xlo, xhi = -1, 1
    else:
        xlo, xhi = q.lo - p.in_zero_point, q.hi - p.in_zero_point
    xs_bits = max(2, bits_for_range(min(xlo, -1), xhi)[0])  # signed, after the zero point
    pairs, rows = program(p)
    pair_shift = max((max(sa, sb) for _, sa, _, sb, _ in pairs), default=0)
    pl = pair_levels(pairs, k)
    # signed bits of a source: an input, or a pair (its exact range)
    src_bits = max([xs_bits] + [signed_bits(lo, h) for lo, h in _src_ranges(
        {"in_bipolar": q.bipolar, "xs_lo": xlo, "xs_hi": xhi, "cols": k}, pairs)[k:]])
    terms = [len(t) for t in rows]
    t_max = max(1, *terms) if terms else 1
    neg_root = [int(bool(t) and t[0][2] == 1) for t in rows]
    tree_lv = len(tree_counts(t_max, p.arity)) - 1
    if rq:  # the root's value (the row's sum, negated when neg_root) in signed bits
        roots = [(-h, -lo) if ng else (lo, h)
                 for (lo, h), ng in zip(row_ranges(p.weight, xlo, xhi), neg_root)]
        acc_bits = max(signed_bits(lo, h) for lo, h in roots)
        st, st_rows = stage(p, roots, neg_root)
        o = p.out_spec
        if (y.quant.bits, y.quant.signed, y.quant.bipolar) != (o.bits, o.signed, o.bipolar):
            raise InternalError(f"{p.summary()}: output {y} does not carry out_spec's codes")
        levels = pl + tree_lv + st["rq_levels"]
    else:
        acc_bits = mvu.acc_width(*p.acc_range(q), y.quant)
        st, st_rows = {"requant": 0}, []
        levels = pl + tree_lv + int(any(neg_root))
    # the input register (unless left out) + the tree's and the output registers
    stages = int(p.in_register) + max(1, math.ceil(levels / p.depth))
    vectors = int(np.prod(x.shape[:-1], dtype=np.int64))
    tree_add = [adder_counts(t, t_max, p.arity) for t in terms]
    adders = len(pairs) + sum(a for a, _ in tree_add) + (
        st["rq_adders"] if rq else sum(neg_root))
    adders3 = sum(a for _, a in tree_add) + (st["rq_adders3"] if rq else 0)
    out_bits = st["out_bits"] if rq else acc_bits
    plain = csd_program(p.weight)
    t_plain = max([1] + [len(t) for t in plain])
    adders_csd = sum(adder_counts(len(t), t_plain, p.arity)[0] for t in plain) + (  # stage
        st["rq_adders"] if rq else sum(int(bool(t) and t[0][2] == 1) for t in plain))
    return {"rows": n, "cols": k, "depth": p.depth, "arity": p.arity, "vectors": vectors,
            "in_register": bool(p.in_register),
            "in_bits": q.bits, "in_signed": q.signed, "in_bipolar": q.bipolar,
            "zero_point": 0 if q.bipolar else p.in_zero_point, "xs_bits": xs_bits,
            "xs_lo": xlo, "xs_hi": xhi,
            "pairs": len(pairs), "pair_levels": pl, "src_bits": src_bits,
            "acc_bits": acc_bits, "acc_signed": True if rq else y.quant.signed,
            "in_lanes": [k], "out_lanes": [n], "in_width": k * q.bits, "out_width": n * out_bits,
            "terms": terms, "t_max": t_max, "neg_root": neg_root,
            "shift_max": max([e for t in rows for _, e, _ in t] + [pair_shift]),
            "tree_levels": tree_lv, "levels": levels, "stages": stages,
            # adders: binary and ternary (adders3 of them) adders, shared pairs included
            "adders": adders, "adders3": adders3, "adders_csd": adders_csd,
            "cycles_per_vector": 1, "cycles": vectors,
            # first input beat to last output beat of a frame: cycles + pipeline_cycles
            "pipeline_cycles": stages, **st}, st_rows


def node_fields(d: dict, pairs: list, rows: list) -> tuple:
    """(bits, low, args, sub, uns): every node of every row's tree, in hw/rtl/cmvm.v's order
    (row n, tree level l, node i at n * nodes + offset(l) + i; levels 0 (the slots) ..
    TREE, then the root negation level when there is one).  An adder (args 2 or 3, tree())
    computes its node at ``bits`` (the exact range of the value it stores, at most
    acc_bits), extended to acc_bits (with zeros when ``uns``: the value is never negative,
    its bits unsigned; else its sign); add3 (args 3) over the bits from ``low`` up, the
    ones below being wires; ``sub``: bit j - 1 set when child j's sign differs from child
    0's (it is subtracted).  Slots, passing nodes and the negation level: acc_bits, 0, 0,
    0, 0."""
    ab, t_max = d["acc_bits"], d["t_max"]
    src = _src_ranges(d, pairs)
    out = []
    for terms in rows:
        out += [(ab, 0, 0, 0, 0)] * t_max
        for lv in row_tree(d["arity"], t_max, terms, src):
            out += [node_field(nd, ab) for nd in lv]
        out += [(ab, 0, 0, 0, 0)] * int(any(d["neg_root"]) and not d["requant"])
    return tuple(list(f) for f in zip(*out))


def context(p: Params, ins, outs) -> dict:
    """derive() + the term program as packed parameter fields: slot (n, t) at index
    n * t_max + t of term_k (source index, k_bits each), term_shift (shift_bits),
    term_neg, term_used (1 bit); pair j at index j of pair_a, pair_b (k_bits), pair_sa,
    pair_sb (shift_bits), pair_neg (1 bit); a single zero field when there is no pair."""
    d, st_rows = _derive(p, ins, outs)
    pairs, rows = program(p)
    t_max = d["t_max"]
    fields = {"k": [], "shift": [], "neg": [], "used": []}
    for terms in rows:
        slots = row_slots(terms, t_max, p.arity)
        for t in slots:
            fields["k"].append(t[0] if t else 0)
            fields["shift"].append(t[1] if t else 0)
            fields["neg"].append(t[2] if t else 0)
            fields["used"].append(1 if t else 0)
    pr = list(zip(*pairs)) if pairs else [[0]] * 5
    pb = pair_bits(d, pairs) or [0]
    nb, nlo, nargs, nsub, nuns = node_fields(d, pairs, rows)
    return {**d, "k_bits": max(1, (d["cols"] + d["pairs"] - 1).bit_length()),
            "shift_bits": max(1, d["shift_max"].bit_length()),
            "term_k": fields["k"], "term_shift": fields["shift"], "term_neg": fields["neg"],
            "term_used": fields["used"], "pair_a": list(pr[0]), "pair_sa": list(pr[1]),
            "pair_b": list(pr[2]), "pair_sb": list(pr[3]), "pair_neg": list(pr[4]),
            "pair_bits": pb, "pb_bits": d["src_bits"].bit_length(),
            "pair_uns": pair_unsigned(d, pairs) or [0],
            "node_bits": nb, "node_lo": nlo, "node_args": nargs, "node_sub": nsub,
            "node_uns": nuns,
            "nb_bits": d["acc_bits"].bit_length(), "nodes": len(nb) // d["rows"],
            **stage_fields(d, st_rows), **_hls_fields(p, d)}


def _hls_fields(p: Params, d: dict) -> dict:
    """What the HLS kernel (hw/hls/cmvm.h) needs: the weights as a table, the accumulator's
    bits (the true sums; the output width without a stage), and the stage's constants with
    the signed bits holding every acc * M + B and the clamp bounds."""
    out = {"hls_weights": p.weight.tolist(), "hls_mult": [0], "hls_bias": [0], "hls_lo": 0,
           "hls_hi": 0, "hls_rq_bits": 2, "hls_shift": 0, "hls_acc_bits": d["acc_bits"]}
    if not d["requant"]:
        return out
    ranges = row_ranges(p.weight, d["xs_lo"], d["xs_hi"])
    lo = min(r[0] for r in ranges)
    hi = max(r[1] for r in ranges)
    ext = [v for (a, b), m, c in zip(ranges, p.out_mult, p.out_bias)
           for v in (a * m + c, b * m + c)]
    rq = signed_bits(min(ext + [d["out_lo"]]), max(ext + [d["out_hi"]])) + 1
    return {**out, "hls_mult": list(p.out_mult),
            "hls_bias": list(p.out_bias), "hls_lo": d["out_lo"], "hls_hi": d["out_hi"],
            "hls_rq_bits": max(rq, p.out_shift + 2), "hls_shift": p.out_shift,
            "hls_acc_bits": signed_bits(lo, hi)}


def _row_tree(levels: list, ab: int, registered) -> tuple:
    """(adder bits, register bits, root bits) of one row's tree() in hw/rtl/cmvm.v, its
    nodes at most ``ab`` bits.  A binary adder spans its node's bits less its operands'
    larger count of trailing zeros (yosys finds those wires), add3 its bits from its
    ``low``; a register keeps a node's bits less its zeros (yosys merges the
    sign-extension copies and removes the constant zeros)."""
    add = regs = 0
    for lvl, lv in enumerate(levels, 1):
        for nd in lv:
            if nd is None or nd["args"] < 2:
                continue
            add += max(1, min(ab, nd["bits"]) - adder_low(nd))
        if registered(lvl):
            regs += sum(max(1, min(ab, nd["bits"]) - nd["tz"]) for nd in lv if nd is not None)
    top = levels[-1][0] if levels else None
    root = min(ab, top["bits"]) - top["tz"] if top else 0
    return add, regs, root


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP and carry cells of this layer after yosys synth_xilinx, from the
    structure of hw/rtl/cmvm.v: an adder per shared pair (its exact bits less its shift)
    and per adder of the rows' trees (acc_bits wide less the trailing zero bits of its
    shifted operands) and root negation, the input register, the registers of the nodes
    alive at every registered level, the output register, the valid/last pipeline and
    the enable; with the output stage (no root negation), its adders and registers the
    same way, the clamp's compares and select, the output register at out_bits."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    ab, levels, dep, first = d["acc_bits"], d["levels"], d["depth"], d["pair_levels"]
    rq = bool(d["requant"])
    pairs, rows = program(p)
    cost = Cost()
    for (_, sa, _, sb, _), w in zip(pairs, pair_bits(d, pairs)):
        cost += pr.adder(max(1, w - max(sa, sb)))
    if not rq:
        cost += pr.adder(ab) * sum(d["neg_root"])
    if d["in_register"]:
        cost += pr.reg(d["cols"] * d["xs_bits"])
    if first and first % dep == 0 and levels > first:  # the sources registered
        cost += pr.reg(d["cols"] * d["xs_bits"] + d["pairs"] * d["src_bits"])
    src = _src_ranges(d, pairs)
    add = regs = 0
    for n, terms in enumerate(rows):
        a, r, root = _row_tree(row_tree(d["arity"], d["t_max"], terms, src), ab,
                               lambda tl: (first + tl) % dep == 0 and first + tl < levels)
        # the output register: the root's bits (a negated root: acc_bits)
        add, regs = add + a, regs + r + (0 if rq else ab if d["neg_root"][n] else
                                         root if d["tree_levels"] else ab * bool(terms))
    cost += Cost(LUT=add, CARRY4=math.ceil(add / 4)) + pr.reg(regs)
    if rq:
        cost += stage_resources(p, d)
    cost += Cost(LUT=2 + (d["cols"] * d["xs_bits"] if d["zero_point"] else 0),
                 FF=2 * d["stages"])
    return cost
