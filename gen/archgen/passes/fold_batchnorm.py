"""Batch-norm and bias folding: every run of float elementwise nodes becomes one chain.

BatchNormalization, bias adds, scalar Mul/Div/Add/Sub and activations between an
integer producer and the next quantizer are imported as separate Elementwise nodes;
this pass merges each run into a single Elementwise node whose steps are the same
operations in the same order, so the float64 result is identical bit for bit (merging
constants arithmetically would round differently).  The following pass turns each
chain plus its quantizer into integer thresholds or a multiply-shift requantizer.
"""

from __future__ import annotations

from dataclasses import replace

from ..config import Config
from ..ir import Graph, ops


def fold_batchnorm(graph: Graph, config: Config) -> Graph:
    nodes = list(graph.nodes)
    changed = True
    while changed:  # fixpoint: merge one adjacent pair per sweep until none is left
        changed = False
        for n in nodes:
            if not isinstance(n.op, ops.Elementwise):
                continue
            src = n.inputs[0]
            prev = next((p for p in nodes if src in p.outputs), None)
            if prev is None or not isinstance(prev.op, ops.Elementwise):
                continue
            if src in graph.outputs or sum(src in m.inputs for m in nodes) != 1:
                continue
            merged = replace(prev, op=ops.Elementwise(prev.op.steps + n.op.steps),
                             outputs=n.outputs)
            nodes = [merged if m is prev else m for m in nodes if m is not n]
            changed = True
            break
    return graph.rebuild(nodes)
