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


def cleanup(graph: Graph, config: Config) -> Graph:
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
