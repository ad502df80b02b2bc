"""Scale absorption: a float chain and its quantizer become integer arithmetic.

Pattern: integer codes ``x`` (an accumulator, a pooled sum, another quantizer's output)
-> optional Elementwise chain (dequantization, bias, batch norm, scales, ReLU/clip,
sigmoid...) -> quantizer (Quantize, Trunc, MultiThreshold).  Per channel this is a
monotone step function of the integer x.  Its breakpoints T_k (the smallest x reaching
output level k) are found by binary search on the chain's *own* float64 evaluation, so
the replacement is exact by construction:

* ``thresholds`` unit: out = lo + #{k: x >= T_k};
* ``requant`` unit: out = clamp((M x + B) >> s) when an integer line fits every
  breakpoint interval (solved below, then checked at every breakpoint: two monotone
  step functions that agree at all breakpoints agree everywhere).

A residual ``Add`` of two code tensors is first aligned by integer weights
(acc = wa*a + wb*b) chosen so that the sum's step function is consistent on the whole
grid of code pairs, then absorbed the same way.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from ..config import Config
from ..golden import MODEL_OPS, apply_steps
from ..ir import Graph, Node, Tensor, ops, reinfer
from ..ir.types import QuantSpec, RoundMode
from ..units import add as add_unit
from ..units import requant, thresholds

log = logging.getLogger("archgen.passes")

QUANTIZERS = (ops.Quantize, ops.Trunc, ops.MultiThreshold)
_MAX_GRID = 1 << 20
_MAX_THRESHOLDS = 4095  # beyond 12-bit outputs a threshold unit is never the right design
_AUTO_THRESHOLD_LEVELS = 15  # up to 4-bit outputs: comparators are cheaper than a multiplier


def _param_axis(shape, consts, specs):
    """The single axis along which any parameter varies (None: per tensor); False if
    parameters vary along more than one axis (e.g. per position)."""
    nd = len(shape)
    vary = set()
    for c in consts:
        off = nd - c.ndim
        vary.update(off + i for i, d in enumerate(c.shape) if d != 1)
    for s in specs:
        if s is not None and s.per_channel:
            vary.add(s.axis)
    if len(vary) > 1:
        return False
    return vary.pop() if vary else None


def _direction(steps, red_shape) -> np.ndarray | None:
    """+1/-1 per element of the reduced shape: the chain's monotonicity; None if not monotone."""
    d = np.ones(red_shape)
    for s in steps:
        sign = ops.Step.MONOTONE[s.fn]
        if s.fn == "leakyrelu" and float(s.consts[0]) < 0:
            return None
        if sign is None:
            c = {"mul": 0, "div": 0, "batchnorm": 0, "hardsigmoid": 0}[s.fn]
            d = d * np.sign(np.broadcast_to(s.consts[c], np.broadcast_shapes(s.consts[c].shape,
                                                                              red_shape)))
        else:
            d = d * sign
    d[d == 0] = 1
    return d


@dataclass
class _Chain:
    """An integer -> integer function: dequantize codes, float steps, quantizer."""

    in_spec: QuantSpec | None  # None: the input is already a real value (Add grid)
    steps: tuple
    quant: ops.Op
    red_shape: tuple  # per-sample shape reduced to the parameter axis

    def __call__(self, x: np.ndarray) -> np.ndarray:
        realx = x if self.in_spec is None else self.in_spec.dequantize(x)
        y = apply_steps(self.steps, realx)
        return MODEL_OPS[type(self.quant)](self.quant, [y], [None])[0]


def _breakpoints(f: _Chain, axis, channels, neg, rlo, rhi, lo, levels):
    """T (C, L): smallest x' in [rlo', rhi'+1] with f(+-x') >= lo + k (k = 1..L)."""
    nd = len(f.red_shape)
    c_idx = np.arange(channels)
    sgn = np.where(neg, -1, 1)
    lo_x = np.where(neg, -rhi, rlo)[:, None] * np.ones((1, levels), dtype=np.int64)
    hi_x = np.where(neg, -rlo, rhi)[:, None] + 1 + np.zeros((1, levels), dtype=np.int64)
    target = lo + np.arange(1, levels + 1)[None, :]
    while np.any(lo_x < hi_x):
        mid = (lo_x + hi_x) // 2
        x = (mid * sgn[:, None]).T  # (L, C)
        if axis is None:
            xs = x.reshape((levels,) + (1,) * nd)
        else:
            shape = [levels] + [1] * nd
            shape[axis + 1] = channels
            xs = x.reshape([levels, channels] + [1] * (nd - 1))
            xs = np.moveaxis(xs, 1, axis + 1).reshape(shape)
        val = f(xs).reshape(levels, -1)[:, c_idx if axis is not None else 0].T
        reach = val >= target
        hi_x = np.where(reach & (lo_x < hi_x), mid, hi_x)
        lo_x = np.where(~reach & (lo_x < hi_x), mid + 1, lo_x)
    return lo_x


def _slope_bounds(b, a, k):
    """Feasible slope interval (d_lo, d_hi) of r_k = r0 + k d with b_k < r_k <= a_k.

    Exact over all level pairs when there are few levels; otherwise the bounds from
    every level against the first and last constrained ones (necessary conditions; the
    candidate slopes are then checked exactly level by level).
    """
    levels = k.size
    if levels <= 512:
        i, j = np.triu_indices(levels, 1)
    else:
        fin = np.nonzero(np.isfinite(a) | np.isfinite(b))[0]
        anchors = np.unique(np.concatenate([fin[:8], fin[-8:]])) if fin.size else np.zeros(0, int)
        others = np.arange(levels)
        i = np.concatenate([np.minimum(anchors[:, None], others[None, :]).ravel()])
        j = np.concatenate([np.maximum(anchors[:, None], others[None, :]).ravel()])
        keep = i < j
        i, j = i[keep], j[keep]
    dk = k[j] - k[i]
    d_lo, d_hi = 0.0, np.inf
    fin = np.isfinite(b[j]) & np.isfinite(a[i])
    if fin.any():
        d_lo = max(0.0, float(np.max((b[j][fin] - a[i][fin]) / dk[fin])))
    fin = np.isfinite(a[j]) & np.isfinite(b[i])
    if fin.any():
        d_hi = float(np.min((a[j][fin] - b[i][fin]) / dk[fin]))
    return d_lo, d_hi


def _solve_line(below, above, lo, max_bits=48):
    """Integer (M > 0, B, s) with below_k < ((lo+k) 2^s - B)/M <= above_k for every k.

    below/above are (C, L) float arrays (-inf/+inf where unconstrained). Returns
    (M (C,), B (C,), s) or None.
    """
    chans, levels = below.shape
    k = np.arange(1, levels + 1, dtype=np.float64)
    finite = np.concatenate([below[np.isfinite(below)], above[np.isfinite(above)]])
    span = float(finite.max() - finite.min()) + 1.0 if finite.size else 1.0
    mults, biases, shifts = [], [], []
    for c in range(chans):
        d_lo, d_hi = _slope_bounds(below[c], above[c], k)
        if not np.isfinite(d_hi):
            d_hi = max(2 * d_lo, span * levels + 1)
        if d_lo >= d_hi:
            return None
        sol = _solve_channel(below[c], above[c], k, d_lo, d_hi, lo, max_bits)
        if sol is None:
            return None
        mults.append(sol[0])
        biases.append(sol[1])
        shifts.append(sol[2])
    s = max(shifts)  # (M 2^j x + B 2^j) >> (s + j) == (M x + B) >> s, exactly
    mults = [m << (s - sc) for m, sc in zip(mults, shifts)]
    biases = [b << (s - sc) for b, sc in zip(biases, shifts)]
    return np.array(mults, dtype=np.int64), np.array(biases, dtype=np.int64), s


def _solve_channel(below, above, k, d_lo, d_hi, lo, max_bits):
    """Smallest shift s with an integer M in (2^s/d_hi, 2^s/d_lo) and a fitting B."""
    for s in range(0, max_bits):
        two_s = 2 ** s
        m_min = math.floor(two_s / d_hi) + 1
        m_max = math.ceil(two_s / d_lo) - 1 if d_lo > 0 else m_min + 2
        if m_min > m_max:
            continue
        cands = {(m_min + m_max) // 2, m_min, m_max}
        cands.update(int(v) for v in np.linspace(m_min, m_max, 9).round())
        for m in sorted(cands):
            d = two_s / m
            r_lo = np.max(np.where(np.isfinite(below), below - k * d, -np.inf))
            r_hi = np.min(np.where(np.isfinite(above), above - k * d, np.inf))
            if not r_lo < r_hi:
                continue
            # r0 = (lo 2^s - B) / M must lie in (r_lo, r_hi]
            if np.isfinite(r_hi):
                b_int = math.ceil(lo * two_s - m * r_hi)
            else:
                b_int = math.floor(lo * two_s - m * r_lo) - 1
            if np.isfinite(r_lo) and not b_int < lo * two_s - m * r_lo:
                continue
            return m, b_int, s
    return None


def _check_requant(p: requant.Params, T, neg, rlo, rhi, lo):
    """Exact check at every breakpoint and range end (both sides are monotone steps)."""
    for c in range(T.shape[0]):
        pts = np.unique(np.concatenate([T[c], T[c] - 1, [rlo[c], rhi[c]]]))
        pts = pts[(pts >= rlo[c]) & (pts <= rhi[c])]
        want = lo + np.searchsorted(T[c], pts, side="right")  # T[c] is ascending
        m, b = int(p.mult[c if p.mult.size > 1 else 0]), int(p.bias[c if p.bias.size > 1 else 0])
        m = -m if neg[c] else m
        got = np.clip(requant.shift_round(pts * m + b, p.shift, p.rounding), p.spec.lo, p.spec.hi)
        if not np.array_equal(got, want):
            return False
    return True


_AFFINE = {"add", "sub", "mul", "div", "batchnorm", "neg", "rsub"}
_CLAMPS = {"relu", "clip", "max", "min"}


def _hw_breakpoints(m: int, b: int, s: int, rounding: str, k: np.ndarray) -> np.ndarray:
    """Smallest integer x with round((m x + b) / 2^s) >= k, for m > 0 (exact integers)."""
    if rounding == "floor" or s == 0:
        v = k * (1 << s)
    else:  # half-even: v / 2^s >= k - 1/2, the tie itself only when k is even
        v = (2 * k - 1) * (1 << (s - 1)) + (k % 2)
    return -((b - v) // m)  # ceil((v - b) / m)


def _dyadic_requant(chain: _Chain, axis, channels, rlo, rhi, ax, max_shift=40):
    """A requant unit read off an exactly dyadic affine chain (fixed-point models:
    power-of-two scales, biases on the accumulator grid), checked at every one of its
    own breakpoints against the chain; None when the chain is not of that kind.

    No search over output levels: this is what keeps 16-bit float models fast.
    """
    q = chain.quant
    if not isinstance(q, ops.Quantize) or q.mode not in (RoundMode.HALF_EVEN, RoundMode.FLOOR):
        return None
    if q.round_first and q.spec.has_zero_point:
        return None  # round(v) + z is not round(v + z) on ties: left to the breakpoint search
    if q.spec.per_channel or any(st.fn not in _AFFINE | _CLAMPS for st in chain.steps):
        return None
    rounding = "half_even" if q.mode is RoundMode.HALF_EVEN else "floor"
    affine = tuple(st for st in chain.steps if st.fn in _AFFINE)
    shape = _channel_shape(chain.red_shape, axis, channels) if axis is not None else \
        (1,) + chain.red_shape
    n = channels if axis is not None else 1

    def pre_round(x):  # the affine part only, before the quantizer rounds (x: ints (n,))
        y = apply_steps(affine, chain.in_spec.dequantize(np.broadcast_to(x.reshape(-1), (n,))
                                                         .reshape(shape)))
        y = y / q.spec.scale[0] + q.spec.zero_point[0]
        return y.reshape(-1)

    x1 = np.full(n, 1 << 20, dtype=np.int64)
    z0, z1 = pre_round(np.zeros(n, dtype=np.int64)), pre_round(x1)
    a, b = (z1 - z0) / x1, z0
    found = None
    for s in range(max_shift):
        m, bb = a * 2.0 ** s, b * 2.0 ** s
        if np.all(m == np.round(m)) and np.all(bb == np.round(bb)) and np.all(np.abs(m) < 2 ** 40):
            found = m.astype(np.int64), bb.astype(np.int64), s
            break
    if found is None:
        return None
    m, bb, s = found
    if max(abs(int(v)) for v in m) * max(abs(rlo), abs(rhi)) + max(abs(int(v)) for v in bb) >= 2 ** 62:
        return None
    # clamp bounds: what the whole chain (with its ReLU/clip) reaches at the range ends
    ends = np.stack([chain(np.full(shape, rlo, dtype=np.int64)).reshape(-1),
                     chain(np.full(shape, rhi, dtype=np.int64)).reshape(-1)])
    spec = q.spec.with_(lo=int(ends.min()), hi=int(ends.max()))
    p = requant.Params(m, bb, s, spec, ax, rounding)
    # check at every breakpoint of the requantizer (both sides are monotone steps)
    levels = np.arange(spec.lo + 1, spec.hi + 1, dtype=np.int64)
    cols = []  # column c: channel c's breakpoints (channels are independent elementwise)
    for c in range(n):
        mc, bc = int(m[c]), int(bb[c])
        if mc > 0:
            bp = _hw_breakpoints(mc, bc, s, rounding, levels)
        elif mc < 0:  # decreasing in x: breakpoints of x' = -x
            bp = -_hw_breakpoints(-mc, bc, s, rounding, levels)
        else:
            bp = np.full(levels.size, rlo, dtype=np.int64)
        cols.append(np.concatenate([[rlo, rhi], bp, bp - 1, bp + 1]))
    x = np.clip(np.stack(cols, axis=1), rlo, rhi)  # (points, n)
    x = x.reshape((-1,) + shape[1:]) if axis is None else np.moveaxis(
        x.reshape((x.shape[0], n) + (1,) * (len(shape) - 2)), 1, axis + 1)
    want = chain(x)
    got = requant.golden(p, x)[0]
    return p if np.array_equal(want, got) else None


def _channel_shape(red_shape, axis, channels):
    shape = [1] * (len(red_shape) + 1)
    shape[axis + 1] = channels
    return tuple(shape)


def _absorb_1d(chain: _Chain, axis, channels, rlo, rhi, config, name):
    """thresholds or requant Params for an integer chain, or None when not monotone."""
    spec = chain.quant.spec
    lo, hi = spec.lo, spec.hi
    levels = hi - lo
    d = _direction(chain.steps, chain.red_shape)
    if d is None:
        return None
    dflat = d.reshape(-1) if axis is not None else d.reshape(-1)[:1]
    neg = dflat < 0
    rlo_c = np.full(channels, rlo, dtype=np.int64)
    rhi_c = np.full(channels, rhi, dtype=np.int64)
    if levels <= 0:
        return thresholds.Params(np.zeros((channels, 0), np.int64), neg, lo, spec,
                                 axis if axis is not None else 0)
    ax = axis if axis is not None else 0
    want_requant = config.requant == "multiply_shift" or (
        config.requant == "auto" and levels > _AUTO_THRESHOLD_LEVELS)
    if want_requant:
        p = _dyadic_requant(chain, axis, channels, rlo, rhi, ax)
        if p is not None:
            return p
    T = _breakpoints(chain, axis, channels, neg, rlo, rhi, lo, levels)
    # x' domain of each channel: [rlo', rhi']
    xlo = np.where(neg, -rhi_c, rlo_c)
    xhi = np.where(neg, -rlo_c, rhi_c)
    if want_requant:
        # only levels some channel can leave: the clamp bounds absorb the rest (ReLU)
        kmin = int((T <= xlo[:, None]).sum(axis=1).min())
        kmax = int((T <= xhi[:, None]).sum(axis=1).max())
        Ts = T[:, kmin:kmax]
        lo_s = lo + kmin
        below = np.where(Ts <= xlo[:, None], -np.inf, Ts - 1.0)
        above = np.where(Ts > xhi[:, None], np.inf, Ts.astype(np.float64))
        above = np.where(Ts <= xlo[:, None], xlo[:, None].astype(np.float64), above)
        below = np.where(Ts > xhi[:, None], xhi[:, None].astype(np.float64), below)
        out_spec = spec.with_(lo=lo_s, hi=lo + kmax)
        sol = _solve_line(below, above, lo_s) if kmax > kmin else (
            np.zeros(channels, np.int64), np.full(channels, lo_s, np.int64), 0)
        if sol is not None:
            m, b, s = sol
            p = requant.Params(np.where(neg, -m, m), b, s, out_spec, ax)
            if _check_requant(p, Ts, neg, xlo, xhi, lo_s):
                return p
        if levels > _MAX_THRESHOLDS:
            log.info("%s: no exact multiply-shift and %d levels are too many thresholds", name, levels)
            return None
        log.info("%s: no exact multiply-shift, using %d thresholds per channel", name, levels)
    return thresholds.Params(T, neg, lo, spec, ax)


def _single_consumer(graph, tensor, node) -> bool:
    return tensor not in graph.outputs and all(n is node for n in graph.consumers(tensor))


def _reduced(shape, axis, channels):
    red = [1] * len(shape)
    if axis is not None:
        red[axis] = channels
    return tuple(red)


def _try_add(graph, add_node, steps, q, config):
    """Integer weights for a residual add feeding a quantizer; (add Params, 1-D Params)."""
    a, b = (graph.tensors[i] for i in add_node.inputs)
    sa, sb = a.quant, b.quant
    if sa is None or sb is None or sa.per_channel or sb.per_channel:
        return None
    consts = [c for s in steps for c in s.consts]
    if _param_axis(a.shape, consts, [getattr(q, "spec", None)]) is not None:
        return None
    na, nb = sa.hi - sa.lo + 1, sb.hi - sb.lo + 1
    if na * nb > _MAX_GRID:
        return None
    ga, gb = np.meshgrid(np.arange(sa.lo, sa.hi + 1), np.arange(sb.lo, sb.hi + 1), indexing="ij")
    ga, gb = ga.reshape(-1, 1), gb.reshape(-1, 1)
    realsum = sa.dequantize(ga) + sb.dequantize(gb)
    red = (1,) * len(a.shape)
    f = _Chain(None, tuple(steps), q, red)
    out = f(realsum.reshape((-1,) + red)).reshape(-1)
    spec = q.spec
    ratio = sa.scale[0] / sb.scale[0]
    for k in range(0, 24):
        if ratio >= 1:
            wa, wb = round(ratio * 2 ** k), 2 ** k
        else:
            wa, wb = 2 ** k, round(2 ** k / ratio)
        g = math.gcd(wa, wb)
        wa, wb = wa // g, wb // g
        acc = (wa * (ga - sa.zero_point[0]) + wb * (gb - sb.zero_point[0])).reshape(-1)
        order = np.lexsort((out, acc))
        acc_s, out_s = acc[order], out[order]
        if np.any(np.diff(out_s) < 0):
            continue  # not a monotone function of acc at this precision
        levels = spec.hi - spec.lo
        above = np.full((1, levels), np.inf)
        below = np.full((1, levels), -np.inf)
        for k_ in range(1, levels + 1):
            hit = acc_s[out_s >= spec.lo + k_]
            miss = acc_s[out_s < spec.lo + k_]
            if hit.size:
                above[0, k_ - 1] = hit.min()
            if miss.size:
                below[0, k_ - 1] = miss.max()
        acc_spec = QuantSpec.for_range(int(acc.min()), int(acc.max()), sa.scale[0] / wa)
        unit = add_unit.Params(wa, wb, sa.zero_point[0], sb.zero_point[0], acc_spec)
        T = np.where(np.isfinite(above), above, acc.max() + 1).astype(np.int64)
        want_requant = config.requant == "multiply_shift" or (
            config.requant == "auto" and levels > _AUTO_THRESHOLD_LEVELS)
        if want_requant:
            sol = _solve_line(below, above, spec.lo)
            if sol is not None:
                m, bias, s = sol
                p = requant.Params(m, bias, s, spec, 0)
                got = np.clip((acc * m[0] + bias[0]) >> s, spec.lo, spec.hi)
                if np.array_equal(got, out):
                    return unit, p
        p = thresholds.Params(T, np.zeros(1, bool), spec.lo, spec, 0)
        got = spec.lo + (acc[:, None] >= T[0][None, :]).sum(axis=1)
        if np.array_equal(got, out):
            return unit, p
    return None


def absorb_scales(graph: Graph, config: Config) -> Graph:
    nodes = list(graph.nodes)
    tensors = dict(graph.tensors)
    for q in [n for n in graph.nodes if isinstance(n.op, QUANTIZERS)]:
        t = q.inputs[0]
        prev = graph.producer(t)
        steps, dropped, src = (), [q], t
        if isinstance(prev.op if prev else None, ops.Elementwise) and _single_consumer(graph, t, q):
            steps, src = prev.op.steps, prev.inputs[0]
            dropped.append(prev)
        src_t = graph.tensors[src]
        src_node = graph.producer(src)
        if src_t.quant is None:
            if (isinstance(src_node.op if src_node else None, ops.Add)
                    and _single_consumer(graph, src, dropped[-1])):
                res = _try_add(graph, src_node, steps, q.op, config)
                if res is None:
                    continue
                unit, p1 = res
                acc_name = src  # reuse the float tensor's name for the integer sum
                tensors[acc_name] = Tensor(acc_name, src_t.shape, unit.spec)
                add_node = Node(src_node.name, unit, src_node.inputs, (acc_name,))
                new = Node(q.name, p1, (acc_name,), q.outputs)
                nodes = [add_node if n is src_node else new if n is q else n
                         for n in nodes if n not in dropped or n is q]
            continue
        shape = src_t.shape
        consts = [c for s in steps for c in s.consts]
        qspec = getattr(q.op, "spec", None)
        axis = _param_axis(shape, consts, [src_t.quant, qspec])
        if isinstance(q.op, ops.MultiThreshold) and q.op.thresholds.shape[0] > 1:
            if axis not in (None, q.op.axis):
                continue
            axis = q.op.axis
        if axis is False:
            continue
        channels = 1 if axis is None else shape[axis]
        chain = _Chain(src_t.quant, steps, q.op, _reduced(shape, axis, channels))
        p = _absorb_1d(chain, axis, channels, src_t.quant.lo, src_t.quant.hi, config, q.name)
        if p is None:
            continue
        new = Node(q.name, p, (src,), q.outputs)
        nodes = [new if n is q else n for n in nodes if n not in dropped or n is q]
    return reinfer(graph.rebuild(nodes, tensors))
