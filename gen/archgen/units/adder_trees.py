"""Shift-add arithmetic for cmvm (hw/rtl/cmvm.v, cmvm_node.v): canonical signed digits, and
the shape of the adder trees: ``arity`` nodes of a level under each node of the next (2:
binary adders, 3: ternary ones, hw/rtl/add3.v), a row's terms spread over the slots so
that its tree takes the fewest adders, and every node's exact range, trailing zeros and
wire bits (``tree()``)."""

from __future__ import annotations

import functools

from ..ir.types import bits_for_range


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


def signed_bits(lo: int, hi: int) -> int:
    """Signed bits holding every integer of [lo, hi] (at least 1)."""
    return bits_for_range(min(int(lo), -1), max(int(hi), 0))[0]


def value_bits(lo: int, hi: int) -> int:
    """Bits holding every integer of [lo, hi]: unsigned when lo >= 0 (zero-extended where
    it is read wider: a nonnegative sum needs no sign bit, a LUT per adder), else signed."""
    return max(1, int(hi).bit_length()) if lo >= 0 else signed_bits(lo, hi)


def tree_counts(t: int, arity: int) -> list:
    """Nodes per level of a tree over ``t`` slots, ``arity`` consecutive nodes of a level
    under each node of the next: [t, ..., 1] (hw/rtl/cmvm.v's count())."""
    counts = [max(1, t)]
    while counts[-1] > 1:
        counts.append(-(-counts[-1] // arity))
    return counts


def tree(arity: int, slots: list, srange) -> list:
    """One row's tree in hw/rtl/cmvm.v's order: per level 1.., per node, None (no used slot
    under it) or a dict:

      * args: its used children (1: it passes its child on; 2: a binary adder; 3: add3),
      * first, last: its used slots; neg: its first slot's sign (the node stores its
        subtree's sum negated when that is negative, so no negation happens inside),
      * lo, hi: the stored value's exact range (``srange(first, last)`` gives the range of
        the sum of those slots, each with its sign),
        bits: its bits (``value_bits()``: unsigned when it is never negative, ``uns``, and
        zero-extended; else signed), tz: its known trailing zero bits (the least of its
        slots'),
      * low: an adder's bits below which at most one operand is nonzero and is added: they
        are that operand's, wires (yosys finds them in a binary adder by itself; add3 is
        a netlist, so the cell gets them: NODE_LO).

    ``slots``: per slot None (unused; the used ones come first) or (tz, neg)."""
    prev = []
    for i, sl in enumerate(slots):
        if sl is None:
            prev.append(None)
            continue
        lo, hi = srange(i, i)
        lo, hi = (-hi, -lo) if sl[1] else (lo, hi)
        prev.append({"args": 0, "first": i, "last": i, "neg": sl[1], "lo": lo, "hi": hi,
                     "bits": value_bits(lo, hi), "uns": lo >= 0, "tz": sl[0], "low": 0})
    out = []
    for cnt in tree_counts(len(slots), arity)[1:]:
        cur = []
        for i in range(cnt):
            ch = [c for c in prev[arity * i:arity * (i + 1)] if c is not None]
            if len(ch) < 2:
                cur.append({**ch[0], "args": 1} if ch else None)
                continue
            lo, hi = srange(ch[0]["first"], ch[-1]["last"])
            neg = ch[0]["neg"]
            lo, hi = (-hi, -lo) if neg else (lo, hi)
            tz = sorted((c["tz"], c["neg"] != neg) for c in ch)
            low = tz[0][0] if tz[0][1] else tz[1][0]
            bits = value_bits(lo, hi)
            cur.append({"args": len(ch), "first": ch[0]["first"], "last": ch[-1]["last"],
                        "neg": neg, "lo": lo, "hi": hi, "bits": bits, "uns": lo >= 0,
                        "tz": tz[0][0],
                        "low": max(0, min(low, bits - 1)), "subs": ch})
        out.append(cur)
        prev = cur
    return out


@functools.lru_cache(maxsize=None)
def _place(level: int, cap: int, used: int, arity: int) -> tuple:
    """(adders, ternary adders, split): ``used`` terms placed in a subtree of ``level``
    levels over ``cap`` slots (tree_counts()' structure) with the fewest adders; split:
    the terms under each child, the nonzero ones first (cmvm_node reads its used children
    as a prefix)."""
    if level == 0:
        return 0, 0, ()
    size = arity ** (level - 1)
    caps = [min(size, cap - j * size) for j in range(arity) if j * size < cap]
    best = None
    for split in _splits(used, tuple(caps)):
        kids = [_place(level - 1, c, u, arity) for c, u in zip(caps, split)]
        n = sum(u > 0 for u in split)
        cost = (sum(k[0] for k in kids) + (n >= 2), sum(k[1] for k in kids) + (n == 3))
        if best is None or cost < best[:2]:
            best = (*cost, split)
    return best


@functools.lru_cache(maxsize=None)
def _splits(used: int, caps: tuple) -> tuple:
    """Every way to put ``used`` terms under children of capacities ``caps``, the nonzero
    counts first."""
    if not caps:
        return ((),) if used == 0 else ()
    if used == 0:
        return ((0,) * len(caps),)
    return tuple((u, *rest) for u in range(min(used, caps[0]), 0, -1)
                 for rest in _splits(used - u, caps[1:]))


def layout(used: int, t_max: int, arity: int) -> list:
    """The slots (of t_max) that a row's ``used`` terms take, in order: spread so that the
    tree takes the fewest adders (5 terms of 9: slots 0, 1, 2, 3, 6, two ternary adders,
    not a ternary and two binary ones), each node's used children first."""
    levels = len(tree_counts(t_max, arity)) - 1

    def place(level, cap, u, base):
        if level == 0:
            return [base] if u else []
        size = arity ** (level - 1)
        out = []
        for j, uj in enumerate(_place(level, cap, u, arity)[2]):
            out += place(level - 1, min(size, cap - j * size), uj, base + j * size)
        return out
    return place(levels, max(1, t_max), used, 0)


def row_slots(items: list, t_max: int, arity: int) -> list:
    """``items`` (a row's terms, or stage slots) spread over t_max slots by layout(); None
    in the unused ones."""
    out = [None] * t_max
    for pos, it in zip(layout(len(items), t_max, arity), items):
        out[pos] = it
    return out


def adder_counts(used: int, t_max: int, arity: int) -> tuple:
    """(adders, of which ternary) of a row of ``used`` terms in a tree over t_max slots."""
    return _place(len(tree_counts(t_max, arity)) - 1, max(1, t_max), used, arity)[:2]


def node_field(nd, width: int) -> tuple:
    """(bits, low, args, sub, uns) of a tree() node in wires of ``width`` bits."""
    if nd is None or nd["args"] < 2:
        return width, 0, 0 if nd is None else 1, 0, 0
    w = min(width, nd["bits"])
    sub = sum(int(c["neg"] != nd["neg"]) << (j - 1) for j, c in enumerate(nd["subs"]) if j)
    return (w, min(nd["low"], w - 1) if nd["args"] == 3 else 0, nd["args"], sub,
            int(nd["uns"]))


def adder_low(nd) -> int:
    """The bits of an adder node (tree(), args >= 2) below which it needs no LUT: add3's
    ``low`` (a netlist, given its wires), a binary adder's operands' larger trailing zeros
    (yosys finds those wires itself).  It spans max(1, bits - adder_low) LUTs."""
    return nd["low"] if nd["args"] == 3 else max(c["tz"] for c in nd["subs"])
