"""The shape of cmvm's adder trees (archgen.units.adder_trees): the slot layout takes the
fewest adders (against every layout, for small trees), keeps each node's used children
first (what hw/rtl/cmvm_node.v reads), and tree()'s ranges hold every sum."""

import itertools

import numpy as np
import pytest

from archgen.units import adder_trees as at


def prefix_ok(slots: list, t_max: int, arity: int) -> bool:
    """Every node's used children come first, at every level."""
    used = [s in slots for s in range(t_max)]
    for cnt in at.tree_counts(t_max, arity)[1:]:
        for i in range(cnt):
            kids = used[arity * i:arity * (i + 1)]
            if any(b and not a for a, b in zip(kids, kids[1:])):
                return False
        used = [any(used[arity * i:arity * (i + 1)]) for i in range(cnt)]
    return True


def adders(slots: list, t_max: int, arity: int) -> tuple:
    """(adders, ternary ones) of a tree over t_max slots with terms in ``slots``."""
    levels = at.tree(arity, [(0, 0) if s in slots else None for s in range(t_max)],
                     lambda a, b: (0, 1))
    nodes = [nd for lv in levels for nd in lv if nd is not None and nd["args"] >= 2]
    return len(nodes), sum(nd["args"] == 3 for nd in nodes)


@pytest.mark.parametrize("arity", [2, 3])
def test_layout_takes_the_fewest_adders(arity):
    for t_max in range(1, 11):
        for used in range(t_max + 1):
            got = at.layout(used, t_max, arity)
            assert len(got) == used and got == sorted(set(got)) and prefix_ok(got, t_max, arity)
            assert adders(got, t_max, arity) == at.adder_counts(used, t_max, arity)
            best = min(adders(list(c), t_max, arity)
                       for c in itertools.combinations(range(t_max), used)
                       if prefix_ok(list(c), t_max, arity))
            assert at.adder_counts(used, t_max, arity) == best, (t_max, used)
            # an adder takes one (binary) or two (ternary) operands off: a lower bound
            assert best[0] >= (max(0, used - 1) if arity == 2 else -(-max(0, used - 1) // 2))


def test_layout_examples():
    assert at.layout(5, 9, 3) == [0, 1, 2, 3, 6]  # two ternary adders, not 3 + 2 then 2
    assert at.adder_counts(5, 9, 3) == (2, 2) and at.adder_counts(5, 9, 2) == (4, 0)
    assert at.tree_counts(20, 3) == [20, 7, 3, 1] and at.tree_counts(5, 2) == [5, 3, 2, 1]


def test_tree_ranges_hold_every_sum():
    """Random terms (ranges, signs, trailing zeros): every node's stored value (its
    subtree's sum, negated when its first slot is negative) lies in its range and fits its
    bits (unsigned when the range is never negative); below ``low`` at most one operand of
    an add3 node is nonzero, and it is added."""
    rng = np.random.default_rng(5)
    for case in range(200):
        t_max, arity = int(rng.integers(1, 14)), int(rng.choice([2, 3]))
        used = int(rng.integers(1, t_max + 1))
        slots = at.layout(used, t_max, arity)
        lo = rng.integers(-50, 1, t_max)
        hi = lo + rng.integers(0, 80, t_max)
        tz = rng.integers(0, 4, t_max)
        neg = np.sort(rng.integers(0, 2, t_max))  # positives first
        sl = [(int(tz[i]), int(neg[i])) if i in slots else None for i in range(t_max)]
        sign = np.where(neg == 1, -1, 1)

        scale = [(lo[j] << tz[j], hi[j] << tz[j]) for j in range(t_max)]
        lo2, hi2 = np.array([s[0] for s in scale]), np.array([s[1] for s in scale])

        def srange(a, b, lo2=lo2, hi2=hi2, sign=sign, sl=sl):  # the signed ranges summed
            r = [(lo2[j], hi2[j]) if sign[j] > 0 else (-hi2[j], -lo2[j])
                 for j in range(a, b + 1) if sl[j] is not None]
            return int(sum(x for x, _ in r)), int(sum(y for _, y in r))
        levels = at.tree(arity, sl, srange)
        vals = {j: (rng.integers(lo[j], hi[j] + 1, 500) << tz[j]) * sign[j]
                for j in range(t_max) if sl[j] is not None}
        for lv in levels:
            for nd in lv:
                if nd is None:
                    continue
                v = sum(vals[j] for j in range(nd["first"], nd["last"] + 1) if j in vals)
                v = -v if nd["neg"] else v
                assert nd["lo"] <= v.min() and v.max() <= nd["hi"], case
                if nd["uns"]:  # never negative: unsigned bits, zero-extended
                    assert 0 <= v.min() and v.max() < 1 << nd["bits"]
                else:
                    assert at.signed_bits(v.min(), v.max()) <= nd["bits"]
                if nd["args"] == 3:
                    ops = [sum(vals[j] for j in range(c["first"], c["last"] + 1) if j in vals)
                           * (-1 if c["neg"] != nd["neg"] else 1) for c in nd["subs"]]
                    low = (1 << nd["low"]) - 1
                    nonzero = [i for i, o in enumerate(ops) if np.any(o & low)]
                    assert len(nonzero) <= 1 and (not nonzero or nd["subs"][nonzero[0]]["neg"]
                                                  == nd["neg"]), case
