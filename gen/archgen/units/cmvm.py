"""Constant-coefficient matrix-vector unit (the latency strategy's dense layer, issue #9):
acc[n] = sum_k (x[k] - in_zero_point) * W[n, k], exact integers, exactly mvu's golden().

Multiplier-free: every weight is written in canonical signed digits (CSD: digits in
{-1, 0, 1}, no two adjacent nonzero, the fewest nonzero digits), so W[n, k] * x_k is a sum
of +-(x_k << e), one term per nonzero digit.  Each output is then a balanced adder tree
over its terms (``tree()``), ``arity`` operands per adder: ternary adders by default
(hw/rtl/add3.v: on Xilinx carry chains one LUT6_2 per bit, the cost of a binary adder's
bit, so a tree of T terms costs about (T - 1) / 2 adders' LUTs instead of T - 1, in
log3 T levels; measured on the jet MLP in the README).  The terms of a row are ordered by
sign (positives first), then shift, so adders of like shifts meet and their low bits are
wires.  Fully parallel: one input beat carries the whole vector (K elements), one
output beat all N accumulators, one beat per cycle (II = 1), no DSP.

Shared subexpressions (``cse()``, da4ml-style pairwise CSE, on by default): greedily, the
pair of input terms (x_a << sa) +- (x_b << sb) found in the most rows becomes one shared
source, computed once; 16 -> 64 with random 6-bit weights: 2061 adders -> 1205.

The term program (``program()``): the pairs [(a, sa, b, sb, neg)] and for every output n a
list of terms (source, shift, neg), the value of a term being (-1)^neg * (src << shift)
(sources: the inputs x[k] - zero point, then the pairs); positive terms first (the adder
tree takes each node's sign from its leftmost leaf, so a row with a positive term needs
no negation at its root), then by shift.  The RTL cell (hw/rtl/cmvm.v) gets the program as packed
parameters: the pairs' fields, T_MAX term slots per row (rows with fewer terms have
unused, zero slots) of (source, shift, neg, used) fields and every tree node's exact
width, wire bits, used children and signs (``node_fields()``), see ``context()``.

Pipeline (hw/rtl/cmvm.v): the input register (x - zero point; left out, ``in_register``
False, when another unit's output register feeds the cmvm and there is no zero point),
the pair level (with pairs), the tree's adder levels with a register after every
``depth`` levels, the output register; a row whose terms are all negative adds one level
(the negation of its root).  Latency is deterministic: ``derive()["pipeline_cycles"]``.

Output stage (``out_spec`` set: a requantizer folded into the pipeline, issue #9):
y[n] = clip((acc[n] * M[n] + B[n]) >> s, lo, hi), exact integers, floor shift
(``requantize()``).  In hardware (``stage()``) each row's root feeds a second balanced
tree over the CSD digits of its multiplier (+-(root << e)) and a constant, then the shift
(wires) and the clamp (one level: up to two compares with constants and a select), no
multiplier.  A negative multiplier or an all-negative row costs nothing (the result is
the bitwise NOT of the shifted sum of the negated terms), the root negation level goes,
and a power of two common to M and 2**s leaves the row's shift.  Levels: pairs + tree +
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
from .adder_trees import adder_counts, row_slots, signed_bits, tree, tree_counts

CELLS = ("cmvm.v", "cmvm_node.v", "add3.v")


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


def csd_program(w: np.ndarray) -> list:
    """Plain CSD terms of each row of ``w``: per row, [(k, shift, neg)], positives first."""
    rows = []
    for wrow in w:
        terms = [(k, e, int(d < 0)) for k, wv in enumerate(wrow) for e, d in csd(int(wv))]
        rows.append(sorted(terms, key=lambda t: t[2]))  # stable: positives first
    return rows


def _key(t1, t2):
    """(pattern, shift, sign) of two input terms: t1 + t2 = (-1)^sign * (pattern << shift),
    pattern (a, sa, b, sb, neg) = (x_a << sa) + (-1)^neg * (x_b << sb), min(sa, sb) = 0."""
    (a, s1, n1), (b, s2, n2) = sorted((t1, t2))
    m = min(s1, s2)
    return (a, s1 - m, b, s2 - m, n1 ^ n2), m, n1


def cse(rows: list, k: int) -> tuple:
    """Pairwise common-subexpression elimination over the input terms (da4ml-style, one
    level): greedily, the pattern (x_a << sa) +- (x_b << sb) found in the most rows becomes a
    shared source k + j, and each row's pair of terms matching it (at any shift and sign)
    becomes one term of that source.  Returns (pairs [(a, sa, b, sb, neg)], rows)."""
    import heapq
    from collections import Counter

    rows = [{(s, e): n for s, e, n in r} for r in rows]
    count = Counter()
    for r in rows:
        ts = [(s, e, n) for (s, e), n in r.items()]
        for i in range(len(ts)):
            for j in range(i + 1, len(ts)):
                count[_key(ts[i], ts[j])[0]] += 1
    heap = [(-c, key) for key, c in count.items() if c > 1]
    heapq.heapify(heap)
    pairs = []
    while heap:
        c, key = heapq.heappop(heap)
        if -c != count[key]:  # stale: counts only fall
            if count[key] > 1:
                heapq.heappush(heap, (-count[key], key))
            continue
        a, sa, b, sb, neg = key
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
        if len(hits) < 2:
            count[key] = 0
            continue
        j = k + len(pairs)
        pairs.append(key)
        for ri, m, n in hits:
            r = rows[ri]
            t1, t2 = (a, m + sa, n), (b, m + sb, n ^ neg)
            for t in (t1, t2):
                del r[t[:2]]
            rest = [(s, e, nn) for (s, e), nn in r.items() if s < k]
            count[key] -= 1
            for u in rest:
                for t in (t1, t2):
                    count[_key(t, u)[0]] -= 1
            r[(j, m)] = n
    out = [sorted(((s, e, n) for (s, e), n in r.items()), key=lambda t: (t[2], t[1], t[0]))
           for r in rows]
    return pairs, out


@functools.lru_cache(maxsize=16)  # derive() and context() ask for it: a layer's CSE once
def program(p: Params) -> tuple:
    """The term program: (pairs, rows).  Sources 0..K-1 are the inputs x[k] - zero point,
    source K + j the shared pair j = (a, sa, b, sb, neg): (src_a << sa) + (-1)^neg *
    (src_b << sb) of two inputs; rows: per output n, [(source, shift, neg)], positives first.
    Without ``p.cse`` there are no pairs (plain CSD).  Tuples: the result is shared."""
    rows = csd_program(p.weight)
    pairs, rows = cse(rows, p.weight.shape[1]) if p.cse else ([], rows)
    return tuple(pairs), tuple(tuple(r) for r in rows)


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
    """Each shared pair's signed bits (its exact range), at most src_bits."""
    src = _src_ranges(d, pairs)[d["cols"]:]
    return [min(d["src_bits"], signed_bits(lo, hi)) for lo, hi in src]


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
    """(derive()'s dict, the output stage's rows (stage()) or [])."""
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
    src_bits = xs_bits + (pair_shift + 1 if pairs else 0)  # signed: an input or a pair
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
        levels = int(bool(pairs)) + tree_lv + st["rq_levels"]
    else:
        acc_bits = mvu.acc_width(*p.acc_range(q), y.quant)
        st, st_rows = {"requant": 0}, []
        levels = int(bool(pairs)) + tree_lv + int(any(neg_root))
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
            "pairs": len(pairs), "src_bits": src_bits,
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


def row_ranges(w: np.ndarray, xlo: int, xhi: int) -> list:
    """The exact (lo, hi) of every row's sum_k xs[k] * w[n, k] over xs[k] in [xlo, xhi]."""
    lo = np.minimum(w * xlo, w * xhi).sum(axis=1)
    hi = np.maximum(w * xlo, w * xhi).sum(axis=1)
    return list(zip((int(v) for v in lo), (int(v) for v in hi)))


def stage(p: Params, roots: list, neg_root: list) -> tuple:
    """(derive()'s keys, rows): the output stage's program and exact widths.  Per row n, on the
    tree's root r (= acc, or -acc when neg_root[n]; range roots[n]) with M' = +-M[n]:

      * flip = M' < 0: the stage computes v = r * |M'| + C with C = B, or -B - 1 when
        flipped, since floor((r*M' + B) / 2**s) = ~floor((r*|M'| - B - 1) / 2**s): the
        negation is the bitwise NOT of the shifted result (free in the clamp's LUTs);
      * the common factor 2**k (k = min(s, trailing zeros of |M'|)) is taken out of M, C
        and s (C's dropped low bits never carry into the kept ones): row shift s - k;
      * slots: |M|'s CSD digits (r << e, negative ones subtracted), positives first (the
        tree's sign rule: a node carries its leftmost slot's sign, slot 0 is positive),
        then the constant C when nonzero; a row whose sum is always 0 has no digits;
      * z = v >> s (wires), u = flip ? ~z : z, y = u < lo ? lo : u > hi ? hi : u, at
        the clamp's compare bits (u's range with lo and hi, signed).
    Every node's exact range is r * m + c over the root's range (linear in r), so its
    bits are exact."""
    spec, s = p.out_spec, p.out_shift
    rows = []
    for n, ((rlo, rhi), ng) in enumerate(zip(roots, neg_root)):
        m = -p.out_mult[n] if ng else p.out_mult[n]
        b = p.out_bias[n]
        flip = m < 0 and (rlo, rhi) != (0, 0)
        m, c = (-m, -b - 1) if flip else (m, b)
        if (rlo, rhi) == (0, 0):
            m = 0
        k = min(s, (m & -m).bit_length() - 1) if m else s
        m, c, sh = m >> k, c >> k, s - k
        digits = sorted(csd(m), key=lambda t: t[1] < 0)
        rr, dd = None, 0
        if m and rhi - rlo < TRUNCATE_RANGE:
            rr = np.arange(rlo, rhi + 1, dtype=np.int64)
            dd, c = truncation(rr, digits, c, sh, flip, spec)
        slots = [(e, int(d < 0), 0) for e, d in digits] + ([(0, 0, 1)] if c else [])
        rows.append({"flip": flip, "m": m, "c": c, "s": sh - dd, "d": dd, "slots": slots,
                     "r": (rlo, rhi), "rr": rr})
    t = max(1, *(len(r["slots"]) for r in rows))
    lo_out, hi_out, ob = spec.lo, spec.hi, spec.bits
    for r in rows:
        slots = row_slots(r["slots"], t, p.arity)
        # a slot's stored value as (a, c): a * root + c
        lin = [(0, 0) if sl is None else (0, r["c"]) if sl[2] else (1 << sl[0], 0)
               for sl in slots]
        negs = [0 if sl is None else sl[1] for sl in slots]
        rlo, rhi = r["r"]

        def srange(a, b, lin=lin, negs=negs, rlo=rlo, rhi=rhi):
            m = sum(lin[j][0] * (-1 if negs[j] else 1) for j in range(a, b + 1))
            c = sum(lin[j][1] * (-1 if negs[j] else 1) for j in range(a, b + 1))
            return tuple(sorted((m * rlo + c, m * rhi + c)))
        if r["d"]:  # truncated digits: not linear in the root, ranges by evaluation
            vals = [np.zeros(1, np.int64) if sl is None else np.full(1, r["c"]) if sl[2] else
                    (r["rr"] << sl[0]) >> r["d"] for sl in slots]
            signed = [-v if ng else v for v, ng in zip(vals, negs)]

            def srange(a, b, signed=signed):  # noqa: F811 (the truncated case's)
                v = sum(signed[a:b + 1])
                return int(np.min(v)), int(np.max(v))
            leaves = [(int(v.min()), int(v.max())) for v in vals]
        else:
            leaves = [tuple(sorted((a * rlo + c, a * rhi + c))) for a, c in lin]
        tz = [None if sl is None else
              ((r["c"] & -r["c"]).bit_length() - 1 if sl[2] else max(0, sl[0] - r["d"]), sl[1])
              for sl in slots]
        levels = tree(p.arity, tz, srange)
        top = levels[-1][0] if levels else None
        root = (top["lo"], top["hi"]) if top else leaves[0]
        z = (root[0] >> r["s"], root[1] >> r["s"])
        u = (-z[1] - 1, -z[0] - 1) if r["flip"] else z
        r.update(spread=slots, levels=levels, leaves=leaves, u=u, clo=int(u[0] < lo_out),
                 chi=int(u[1] > hi_out),
                 cb=max(ob, signed_bits(min(u[0], lo_out), max(u[1], hi_out))))
    rw = max([signed_bits(lo, hi) for r in rows for lo, hi in r["leaves"]]
             + [nd["bits"] for r in rows for lv in r["levels"] for nd in lv if nd]
             + [r["s"] + r["cb"] for r in rows])
    rq_tree = len(tree_counts(t, p.arity)) - 1
    add = [adder_counts(len(r["slots"]), t, p.arity) for r in rows]
    return {"requant": 1, "out_bits": ob, "out_signed": bool(spec.signed),
            "out_lo": int(lo_out), "out_hi": int(hi_out),
            "rq_slots": t, "rq_tree": rq_tree, "rq_levels": rq_tree + 1, "rq_width": rw,
            "rq_digits": [len(r["slots"]) - int(bool(r["c"])) for r in rows],
            "rq_adders": sum(a for a, _ in add), "rq_adders3": sum(a for _, a in add),
            "rq_clamps": sum(r["clo"] + r["chi"] for r in rows)}, rows


# the stage truncates its digits only where the root takes at most this many values (each
# one is checked): the jet MLP's 16-bit accumulators, not a wide layer's
TRUNCATE_RANGE = 1 << 20


def truncation(rr: np.ndarray, digits: list, c: int, s: int, flip: bool, spec) -> tuple:
    """(d, C'): the most low bits d <= s the stage can drop from each digit's product and
    still give the exact outputs on every root value ``rr``: with slots floor((r << e) / 2**d)
    (negative digits subtracted) and the constant C', y = clip(+-((sum + C') >> (s - d))).
    The dropped bits only carry into the kept ones, which C' makes up for where it can.
    For each r the exact output allows an interval of sums (the output is monotone in the
    sum), so C' exists when those intervals, less the truncated digits' sums, meet; the
    one nearest C >> d is taken.  d = 0 is the exact stage."""
    big = 1 << 62
    v = sum(-(rr << e) if dg < 0 else rr << e for e, dg in digits) + c
    z = v >> s
    y = np.clip(-z - 1 if flip else z, spec.lo, spec.hi)
    # the interval of z = sum >> s giving y: y itself, or beyond a bound it saturates at
    zlo = np.where(y == (spec.hi if flip else spec.lo), -big, -y - 1 if flip else y)
    zhi = np.where(y == (spec.lo if flip else spec.hi), big, -y - 1 if flip else y)
    for d in range(s, 0, -1):
        base = sum(-((rr << e) >> d) if dg < 0 else (rr << e) >> d for e, dg in digits)
        sh = s - d
        lo = np.max(np.where(zlo == -big, -big, zlo << sh) - base)
        hi = np.min(np.where(zhi == big, big, ((zhi + 1) << sh) - 1) - base)
        if lo <= hi:
            return d, int(min(max(c >> d, lo), hi))
    return 0, c


def node_fields(d: dict, pairs: list, rows: list) -> tuple:
    """(bits, low, args, sub): every node of every row's tree, in hw/rtl/cmvm.v's order (row n,
    tree level l, node i at n * nodes + offset(l) + i; levels 0 (the slots) .. TREE, then
    the root negation level when there is one).  An adder (args 2 or 3, tree()) computes its
    node at ``bits`` (the exact range of the value it stores, at most acc_bits),
    sign-extended to acc_bits; add3 (args 3) over the bits from ``low`` up, the ones below
    being wires; ``sub``: bit j - 1 set when child j's sign differs from child 0's (it is
    subtracted).  Slots, passing nodes and the negation level: acc_bits, 0, 0."""
    ab, t_max = d["acc_bits"], d["t_max"]
    src = _src_ranges(d, pairs)
    out = []
    for terms in rows:
        out += [(ab, 0, 0, 0)] * t_max
        for lv in row_tree(d["arity"], t_max, terms, src):
            out += [_node_field(nd, ab) for nd in lv]
        out += [(ab, 0, 0, 0)] * int(any(d["neg_root"]) and not d["requant"])
    return tuple(list(f) for f in zip(*out))


def _node_field(nd, width: int) -> tuple:
    """(bits, low, args, sub) of a tree() node in wires of ``width`` bits."""
    if nd is None or nd["args"] < 2:
        return width, 0, 0 if nd is None else 1, 0
    w = min(width, nd["bits"])
    sub = sum(int(c["neg"] != nd["neg"]) << (j - 1) for j, c in enumerate(nd["subs"]) if j)
    return w, min(nd["low"], w - 1) if nd["args"] == 3 else 0, nd["args"], sub


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
    nb, nlo, nargs, nsub = node_fields(d, pairs, rows)
    return {**d, "k_bits": max(1, (d["cols"] + d["pairs"] - 1).bit_length()),
            "shift_bits": max(1, d["shift_max"].bit_length()),
            "term_k": fields["k"], "term_shift": fields["shift"], "term_neg": fields["neg"],
            "term_used": fields["used"], "pair_a": list(pr[0]), "pair_sa": list(pr[1]),
            "pair_b": list(pr[2]), "pair_sb": list(pr[3]), "pair_neg": list(pr[4]),
            "pair_bits": pb, "pb_bits": d["src_bits"].bit_length(),
            "node_bits": nb, "node_lo": nlo, "node_args": nargs, "node_sub": nsub,
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


def stage_fields(d: dict, rows: list) -> dict:
    """The output stage as packed parameter fields (hw/rtl/cmvm.v's RQ_*): slot (n, t) at
    index n * rq_slots + t of rq_shift (rq_sh_bits), rq_neg, rq_used, rq_const (1 bit);
    per row rq_c (rq_width bits, two's complement), rq_s (rq_s_bits), rq_flip, rq_clo,
    rq_chi (1 bit), rq_cb (rq_nb_bits); per row and node rq_node_bits and rq_node_lo
    (rq_nb_bits), rq_node_args and rq_node_sub (2 bits), as node_fields() (the slots and
    passing nodes at rq_width, 0); out_lo/out_hi at rq_cb_max bits.  Zero fields without a
    stage."""
    if not d["requant"]:
        return {"rq_slots": 1, "rq_width": 1, "out_bits": d["acc_bits"], "rq_sh_bits": 1,
                "rq_shift": [0], "rq_neg": [0], "rq_used": [0], "rq_const": [0],
                "rq_c": [0], "rq_s_bits": 1, "rq_s": [0], "rq_d": [0], "rq_flip": [0],
                "rq_clo": [0], "rq_chi": [0], "rq_nb_bits": 1, "rq_cb": [0], "rq_cb_max": 1,
                "out_lo": 0, "out_hi": 0, "rq_nodes": 1, "rq_node_bits": [0],
                "rq_node_lo": [0], "rq_node_args": [0], "rq_node_sub": [0]}
    t, rw = d["rq_slots"], d["rq_width"]
    f = {"shift": [], "neg": [], "used": [], "const": []}
    for r in rows:
        for sl in r["spread"]:
            f["shift"].append(sl[0] if sl else 0)
            f["neg"].append(sl[1] if sl else 0)
            f["used"].append(int(sl is not None))
            f["const"].append(sl[2] if sl else 0)
    nodes = []
    for r in rows:
        nodes += [(rw, 0, 0, 0)] * t + [_node_field(nd, rw) for lv in r["levels"] for nd in lv]
    node_w, node_lo, node_args, node_sub = (list(f) for f in zip(*nodes))
    return {"rq_sh_bits": max(1, max(f["shift"] + [r["d"] for r in rows]).bit_length()),
            "rq_shift": f["shift"], "rq_neg": f["neg"], "rq_used": f["used"],
            "rq_const": f["const"], "rq_c": [r["c"] for r in rows],
            "rq_s_bits": max(1, max(r["s"] for r in rows).bit_length()),
            "rq_s": [r["s"] for r in rows], "rq_d": [r["d"] for r in rows],
            "rq_flip": [int(r["flip"]) for r in rows],
            "rq_clo": [r["clo"] for r in rows], "rq_chi": [r["chi"] for r in rows],
            "rq_nb_bits": rw.bit_length(), "rq_cb": [r["cb"] for r in rows],
            "rq_cb_max": max(r["cb"] for r in rows), "rq_nodes": len(node_w) // len(rows),
            "rq_node_bits": node_w, "rq_node_lo": node_lo, "rq_node_args": node_args,
            "rq_node_sub": node_sub}


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
            w = min(ab, nd["bits"])
            lo = nd["low"] if nd["args"] == 3 else max(c["tz"] for c in nd["subs"])
            add += max(1, w - min(lo, w - 1))
        if registered(lvl):
            regs += sum(max(1, min(ab, nd["bits"]) - nd["tz"]) for nd in lv if nd is not None)
    top = levels[-1][0] if levels else None
    root = min(ab, top["bits"]) - top["tz"] if top else 0
    return add, regs, root


def _stage_resources(p: Params, d: dict):
    """The output stage's cells, from its tree per row: an adder spans its node's bits
    less the larger trailing zeros of its operands (a digit's: its shift) and, with the
    constant as an operand, is a LUT per one bit of the constant in that span (the others
    are wires into the carry chain); a register keeps a node's bits less its variable
    trailing zeros (the constant's low bits are constant flip-flops, removed), the
    stage's root only the compare bits (the shifted-out bits and the sign copies go); a
    compare with a constant per bound reached (yosys's cmp2lcu: a LUT per 3 bits), the
    select (a LUT per output bit) and the output register (out_bits)."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    roots = [(-h, -lo) if ng else (lo, h) for (lo, h), ng in
             zip(row_ranges(p.weight, d["xs_lo"], d["xs_hi"]), d["neg_root"])]
    rows = stage(p, roots, d["neg_root"])[1]
    base, dep, levels = d["levels"] - d["rq_levels"], d["depth"], d["levels"]
    big = d["rq_width"] + 1  # "no variable bit": the constant's variable trailing zeros
    luts = carry = regs = 0
    for r in rows:
        c = r["c"]
        # the constant's slot, and every slot's variable trailing zeros
        ci = next((i for i, sl in enumerate(r["spread"]) if sl and sl[2]), None)
        vtz = [big if sl is None or sl[2] else max(0, sl[0] - r["d"]) for sl in r["spread"]]

        def const(nd, ci=ci):
            return nd["first"] == nd["last"] == ci
        for lvl, lv in enumerate(r["levels"], 1):
            for nd in lv:
                if nd is None or nd["args"] < 2:
                    continue
                w = nd["bits"]
                if nd["args"] == 3:  # add3: a LUT per bit, the constant in its tables
                    span = max(1, w - nd["low"])
                    luts += span
                else:
                    lo = max(ch["tz"] for ch in nd["subs"])
                    span = max(1, w - lo)
                    luts += (bin((c % (1 << w)) >> lo).count("1")
                             if any(const(ch) for ch in nd["subs"]) else span)
                carry += math.ceil(span / 4)
            if (base + lvl) % dep == 0 and base + lvl < levels:
                if lvl == d["rq_tree"]:
                    regs += r["cb"] if lv[0] and not const(lv[0]) else 0
                else:
                    regs += sum(max(1, nd["bits"] - min(vtz[nd["first"]:nd["last"] + 1]))
                                for nd in lv if nd is not None and not const(nd))
        luts += math.ceil(r["cb"] / 3) * (r["clo"] + r["chi"]) + d["out_bits"]
    return Cost(LUT=luts, CARRY4=carry) + pr.reg(regs + d["out_bits"] * d["rows"])


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

    ab, levels, dep, first = d["acc_bits"], d["levels"], d["depth"], int(bool(d["pairs"]))
    rq = bool(d["requant"])
    pairs, rows = program(p)
    cost = Cost()
    for (_, sa, _, sb, _), w in zip(pairs, pair_bits(d, pairs)):
        cost += pr.adder(max(1, w - max(sa, sb)))
    if not rq:
        cost += pr.adder(ab) * sum(d["neg_root"])
    if d["in_register"]:
        cost += pr.reg(d["cols"] * d["xs_bits"])
    if first and dep == 1 and levels > 1:  # the sources registered: inputs and pairs
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
        cost += _stage_resources(p, d)
    cost += Cost(LUT=2 + (d["cols"] * d["xs_bits"] if d["zero_point"] else 0),
                 FF=2 * d["stages"])
    return cost
