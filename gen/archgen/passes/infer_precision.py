"""Precision inference: exact reachable ranges, the smallest widths that hold them.

Ranges flow forward from the input quantizers through every op's ``infer`` (integer
accumulators get their exact extreme values from the weights).  Thresholds that every
reachable input passes (or never reaches) are removed, and the output ranges of
thresholds and requantizers shrink to what their reachable inputs can produce; the
types downstream are then re-inferred, so widths only ever get smaller.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import Config
from ..ir import Graph, Tensor
from ..units import requant, thresholds


def _trim_thresholds(p: thresholds.Params, lo: int, hi: int) -> thresholds.Params:
    T = p.thresholds
    xlo = np.where(p.negate, -hi, lo)[:, None]
    xhi = np.where(p.negate, -lo, hi)[:, None]
    always = np.all(T <= xlo, axis=0)
    never = np.all(T > xhi, axis=0)
    keep = ~(always | never)
    base = p.base + int(always.sum())
    T = T[:, keep]
    counts_lo = (T <= xlo).sum(axis=1)
    counts_hi = (T <= xhi).sum(axis=1)
    out_lo, out_hi = base + int(counts_lo.min(initial=0)), base + int(counts_hi.max(initial=0))
    spec = p.spec.with_(lo=out_lo, hi=max(out_lo, out_hi))
    return replace(p, thresholds=T, base=base, spec=spec)


def _narrow_requant(p: requant.Params, lo: int, hi: int) -> requant.Params:
    ends = np.stack([requant.shift_round(v * p.mult + p.bias, p.shift, p.rounding) for v in (lo, hi)])
    ends = np.clip(ends, p.spec.lo, p.spec.hi)
    spec = p.spec.with_(lo=int(ends.min()), hi=int(ends.max()))
    return replace(p, spec=spec)


def infer_precision(graph: Graph, config: Config) -> Graph:
    """One sweep in topological order: each unit is trimmed against its inputs' already
    narrowed types, and its outputs' types are recomputed before its readers are seen."""
    tensors = dict(graph.tensors)
    nodes = []
    for n in graph.nodes:
        op = n.op
        if isinstance(op, (thresholds.Params, requant.Params)):
            q = tensors[n.inputs[0]].quant
            trim = _trim_thresholds if isinstance(op, thresholds.Params) else _narrow_requant
            n = replace(n, op=trim(op, q.lo, q.hi))
        for name, (shape, quant) in zip(n.outputs, n.op.infer([tensors[i] for i in n.inputs])):
            tensors[name] = Tensor(name, tuple(shape), quant)
        nodes.append(n)
    return graph.rebuild(nodes, tensors)
