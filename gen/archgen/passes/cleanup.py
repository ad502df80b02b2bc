"""Remove what computes nothing: identity reshapes/transposes, dead nodes."""

from __future__ import annotations

from ..config import Config
from ..ir import Graph, ops


def _is_identity(node, graph) -> bool:
    op = node.op
    if isinstance(op, ops.Reshape):
        return graph.tensors[node.inputs[0]].shape == tuple(op.shape)
    if isinstance(op, ops.Transpose):
        return tuple(op.perm) == tuple(range(len(op.perm)))
    if isinstance(op, ops.Pad):
        return not any(op.pads)
    if isinstance(op, ops.Elementwise):
        return not op.steps
    return False


def rename_inputs(nodes, mapping: dict):
    """Nodes with their inputs renamed through ``mapping``."""
    from dataclasses import replace

    return [replace(n, inputs=tuple(mapping.get(i, i) for i in n.inputs)) for n in nodes]


def _hoist_reshapes(graph: Graph) -> Graph:
    """Elementwise -> Reshape  =>  Reshape -> Elementwise, so that a float chain meets
    its quantizer (a view never changes values; constants are reshaped along)."""
    from dataclasses import replace

    import numpy as np

    from ..ir import Tensor

    nodes = list(graph.nodes)
    tensors = dict(graph.tensors)
    for r in list(nodes):
        if not isinstance(r.op, ops.Reshape):
            continue
        mid = r.inputs[0]
        e = next((n for n in nodes if mid in n.outputs), None)
        if e is None or not isinstance(e.op, ops.Elementwise) or mid in graph.outputs:
            continue
        if sum(mid in n.inputs for n in nodes) != 1:
            continue
        src = tensors[e.inputs[0]]
        if src.quant is not None and src.quant.per_channel:
            continue
        in_shape, out_shape = src.shape, tuple(r.op.shape)
        steps = tuple(ops.Step(st.fn, tuple(
            c if c.size == 1 else np.broadcast_to(c, in_shape).reshape(out_shape)
            for c in st.consts)) for st in e.op.steps)
        tensors[mid] = Tensor(mid, out_shape, src.quant)
        new_r = replace(r, inputs=e.inputs, outputs=(mid,))
        new_e = replace(e, op=ops.Elementwise(steps), inputs=(mid,), outputs=r.outputs)
        nodes = [new_r if n is e else new_e if n is r else n for n in nodes]
    return graph.rebuild(nodes, tensors)


def cleanup(graph: Graph, config: Config) -> Graph:
    graph = _hoist_reshapes(graph)
    alias = {}
    nodes = []
    outputs = set(graph.outputs)
    for n in graph.nodes:
        if _is_identity(n, graph) and n.outputs[0] not in outputs:
            alias[n.outputs[0]] = alias.get(n.inputs[0], n.inputs[0])
            continue
        nodes.append(n)
    nodes = rename_inputs(nodes, alias)
    need = set(graph.outputs)
    live = []
    for n in reversed(nodes):
        if need.intersection(n.outputs):
            live.append(n)
            need.update(n.inputs)
    return graph.rebuild(list(reversed(live)))
