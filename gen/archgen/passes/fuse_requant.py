"""Fold the requantizer behind a latency-strategy ``cmvm`` into the cmvm's own pipeline.

``strategy: latency`` lowers a dense layer to a cmvm (shift-add adder graphs, no DSP);
the requantizer behind it (a ``requant``: a DSP multiply per lane and four stages, or a
``thresholds``: 2**bits - 1 comparators per lane) would bring back the DSPs and the
cycles the cmvm saves.  This pass replaces the pair by one cmvm whose output stage is

    y[n] = clip((acc[n] * M[n] + B[n]) >> s, lo, hi)        (floor shift)

with M[n] a constant multiplied by shift-adds (its canonical signed digits), so the
whole layer is adders, registers and a clamp.  The constants are fitted per output row
(``fit_floor_linear``): among every (M, B, s) that gives the requantizer's own output on
EVERY accumulator value the row can reach (its exact range from the weights and the
input range), the one with the fewest nonzero CSD digits in M (then the smallest shift).
A requantizer's output is a monotone step function of the accumulator, so it is fixed by
where each level starts and ends; the fit only has to meet those points, and the result
is checked on the whole range before it is used.  The rows' shifts are then made one
(M and B of the others scaled by a power of two: the same digits).  A row whose function is not monotone,
or that no M of at most ``MAX_DIGITS`` digits fits, leaves the pair unfused.

Then every cmvm fed directly by another hardware unit (whose output is a register, by the
cells' contract) with no zero point to subtract loses its input register
(``in_register=False``): a chain of cmvms is one register per layer shorter.  A cmvm fed by
the accelerator's input port keeps it.

Last, every cmvm whose logic-depth budget holds two pair levels (depth >= 2) gets a
second level of shared pairs (pairs over pairs, ``cse_levels`` 2, each shared from 2 or
from 3 rows, ``cse_min2``) where that takes fewer LUTs in the estimate at no more
pipeline registers.

Only in ``strategy: latency``, after ``lower`` (the cmvm exists) and before ``fold``.
The graph's golden output is unchanged: the fused row equals the pair on every
reachable input.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..ir.graph import Graph, Node
from ..units import cmvm, is_unit, requant, thresholds

MAX_SHIFT = 24  # largest s tried
MAX_DIGITS = 8  # a row needing more CSD digits in M stays a separate requantizer
_CHUNK = 1 << 15  # accumulator values per golden() call (thresholds compare every level)


def csd_digits(v: int) -> int:
    return len(cmvm.csd(v))


def _digits(ms: np.ndarray) -> np.ndarray:
    """CSD (non-adjacent form) nonzero digits of positive int64s: popcount((3m ^ m) >> 1)."""
    v = ((3 * ms) ^ ms) >> 1
    count = np.zeros(len(ms), np.int64)
    while np.any(v):
        count += v & 1
        v >>= 1
    return count


def _levels(y: np.ndarray, a0: int):
    """(values, first accumulator, last accumulator) of each run of equal outputs of a
    non-decreasing step function y over a0, a0 + 1, ..."""
    change = np.flatnonzero(np.diff(y)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change - 1, [len(y) - 1]])
    return y[starts], starts + a0, ends + a0


def _fit_increasing(y: np.ndarray, a0: int, lo: int, hi: int, max_shift: int,
                    max_digits: int):
    """(M > 0, B, s) with clip((a*M + B) >> s, lo, hi) == y[a - a0] for every a, or None.

    For level v starting at a_first and ending at a_last:
        v > lo:  M*a_first + B >= v * 2**s
        v < hi:  M*a_last  + B <= (v + 1) * 2**s - 1
    which, with M > 0, hold on every a of the level and between levels.  The outermost
    levels bound the slope M / 2**s; every integer M within the bounds is tried."""
    vals, first, last = _levels(y, a0)
    if np.any(np.diff(vals) <= 0):
        return None
    if len(vals) == 1:  # a constant: a slope whose steps never land inside the range
        s = int(len(y)).bit_length()
        return 1, int(vals[0]) * (1 << s) - a0, s
    low_v, low_a = vals[vals > lo], first[vals > lo]
    up_v, up_a = vals[vals < hi], last[vals < hi]
    i, j = np.flatnonzero(vals > lo)[0], np.flatnonzero(vals < hi)[-1]
    best = None
    for s in range(max_shift + 1):
        one = 1 << s
        # lower(last level) - upper(first level); upper(j) - lower(i) over the inner levels
        m_lo = max(1, -(-((int(vals[-1] - vals[0]) - 1) * one + 1) // int(first[-1] - last[0])))
        if i < j:
            m_hi = ((int(vals[j] - vals[i]) + 1) * one - 1) // int(last[j] - first[i])
        else:
            m_hi = m_lo + (1 << 12)  # barely constrained: small M are the cheap ones anyway
        if m_hi < m_lo:
            continue
        ms = np.arange(m_lo, min(m_hi, m_lo + (1 << 16)) + 1, dtype=np.int64)
        digits = _digits(ms)
        keep = digits <= (max_digits if best is None else best[0] - 1)
        ms, digits = ms[keep], digits[keep]
        if not len(ms):
            continue
        b_min = ((low_v[None, :] * one - ms[:, None] * low_a[None, :]).max(axis=1)
                 if len(low_v) else np.full(len(ms), -(1 << 62), np.int64))
        b_max = (((up_v[None, :] + 1) * one - 1 - ms[:, None] * up_a[None, :]).min(axis=1)
                 if len(up_v) else np.full(len(ms), 1 << 62, np.int64))
        ok = np.flatnonzero(b_min <= b_max)
        if len(ok):
            i = ok[np.argmin(digits[ok])]
            b = int(b_min[i]) if len(low_v) else int(b_max[i])
            best = (int(digits[i]), int(ms[i]), b, s)
            if best[0] == 1:
                break
    return None if best is None else best[1:]


def fit_floor_linear(y: np.ndarray, a0: int, lo: int, hi: int, max_shift: int = MAX_SHIFT,
                     max_digits: int = MAX_DIGITS):
    """(M, B, s) such that clip((a*M + B) >> s, lo, hi) == y[a - a0] for every integer a
    of a0 .. a0 + len(y) - 1, with the fewest CSD digits in M (then the smallest s), or
    None when y is not monotone or no M of at most ``max_digits`` digits fits.  M < 0 for a
    non-increasing y."""
    y = np.asarray(y, np.int64)
    if len(y) > 1 and np.any(np.diff(y) < 0):
        if np.any(np.diff(y) > 0):
            return None
        # y(a) = g(-a) with g non-decreasing on -a: fit g, then M -> -M
        got = _fit_increasing(y[::-1], -(a0 + len(y) - 1), lo, hi, max_shift, max_digits)
        return None if got is None else (-got[0], got[1], got[2])
    return _fit_increasing(y, a0, lo, hi, max_shift, max_digits)


def _unit_outputs(op, values: np.ndarray) -> np.ndarray:
    """The requantizer's output at accumulator values[:, n] of every row n."""
    run = requant.golden if isinstance(op, requant.Params) else thresholds.golden
    return np.concatenate([run(op, values[i:i + _CHUNK])[0]
                           for i in range(0, len(values), _CHUNK)])


def _row_ranges(p: cmvm.Params, xq) -> list:
    """The exact (lo, hi) accumulator range of every row."""
    if xq.bipolar:
        xlo, xhi = -1, 1
    else:
        xlo, xhi = xq.lo - p.in_zero_point, xq.hi - p.in_zero_point
    w = p.weight
    lo = np.minimum(w * xlo, w * xhi).sum(axis=1)
    hi = np.maximum(w * xlo, w * xhi).sum(axis=1)
    return list(zip(lo.tolist(), hi.tolist()))


def fuse_one(p: cmvm.Params, rq, xq):
    """The cmvm with ``rq`` (requant or thresholds on its (N,) output) folded in, or None."""
    spec = rq.spec
    if spec.bipolar or spec.has_zero_point:
        return None
    ranges = _row_ranges(p, xq)
    length = max(h - lo + 1 for lo, h in ranges)
    if length > 1 << 22:
        return None  # too wide to check every value
    grid = np.stack([np.minimum(np.arange(length) + lo, h) for lo, h in ranges], axis=1)
    y = _unit_outputs(rq, grid)
    mult, bias, shift = [], [], []
    for r, (lo, h) in enumerate(ranges):
        got = fit_floor_linear(y[:h - lo + 1, r], lo, spec.lo, spec.hi)
        if got is None:
            return None
        m, b, s = got
        a = np.arange(lo, h + 1, dtype=np.int64)
        if not np.array_equal(np.clip((a * m + b) >> s, spec.lo, spec.hi), y[:h - lo + 1, r]):
            return None  # never expected: the fit's constraints are exact
        mult.append(m), bias.append(b), shift.append(s)
    # one shift for the layer: M and B of the rows with smaller shifts scaled up (the
    # same digits, the extra low bits are wires)
    top = max(shift)
    return ([m << (top - s) for m, s in zip(mult, shift)],
            [b << (top - s) for b, s in zip(bias, shift)], top)


def fuse_requant(graph: Graph, config) -> Graph:
    if config.strategy != "latency":
        return graph
    nodes = list(graph.nodes)
    tensors = dict(graph.tensors)
    drop, replace = set(), {}
    for node in nodes:
        if not isinstance(node.op, cmvm.Params) or node.op.out_spec is not None:
            continue
        (acc,) = node.outputs
        users = graph.consumers(acc)
        if len(users) != 1 or acc in graph.outputs:
            continue
        (user,) = users
        if not isinstance(user.op, (requant.Params, thresholds.Params)) or \
                len(tensors[acc].shape) != 1:
            continue
        got = fuse_one(node.op, user.op, tensors[node.inputs[0]].quant)
        if got is None:
            continue
        mult, bias, shift = got
        op = dataclasses.replace(node.op, out_mult=tuple(mult), out_bias=tuple(bias),
                                 out_shift=shift, out_spec=user.op.spec)
        replace[node.name] = Node(node.name, op, node.inputs, user.outputs)
        drop.add(user.name)
        del tensors[acc]
    if replace:
        out = [replace.get(n.name, n) for n in nodes if n.name not in drop]
        graph = dataclasses.replace(graph, nodes=out, tensors=tensors)
    return _pair_levels(_drop_input_registers(graph))


def _pair_levels(graph: Graph) -> Graph:
    """Each cmvm with a second pair level where it saves LUTs (its analytic estimate) and
    no pipeline register: pairs over pairs shared from 2 rows, or only from 3 (the
    cheaper in the estimate)."""
    out, changed = [], False
    for node in graph.nodes:
        op = node.op
        if isinstance(op, cmvm.Params) and op.cse and op.depth >= 2 and op.cse_levels == 1:
            ins = [graph.tensors[t] for t in node.inputs]
            outs = [graph.tensors[t] for t in node.outputs]
            d = cmvm.derive(op, ins, outs)
            best, lut = op, cmvm.resources(op, d, None).LUT
            for min2 in (2, 3):
                two = dataclasses.replace(op, cse_levels=2, cse_min2=min2)
                d2 = cmvm.derive(two, ins, outs)
                lut2 = cmvm.resources(two, d2, None).LUT
                if d2["stages"] <= d["stages"] and lut2 < lut:
                    best, lut = two, lut2
            if best is not op:
                node = Node(node.name, best, node.inputs, node.outputs)
                changed = True
        out.append(node)
    return dataclasses.replace(graph, nodes=out) if changed else graph


def _drop_input_registers(graph: Graph) -> Graph:
    """A cmvm whose input is another unit's output (a register) and needs no zero point
    subtracted takes it without a register of its own."""
    out, changed = [], False
    for node in graph.nodes:
        op = node.op
        if isinstance(op, cmvm.Params) and op.in_register:
            prod = graph.producer(node.inputs[0])
            q = graph.tensors[node.inputs[0]].quant
            if prod is not None and is_unit(prod.op) and (q.bipolar or op.in_zero_point == 0):
                node = Node(node.name, dataclasses.replace(op, in_register=False), node.inputs,
                            node.outputs)
                changed = True
        out.append(node)
    return dataclasses.replace(graph, nodes=out) if changed else graph
