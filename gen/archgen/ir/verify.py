"""Well-formedness of a Graph: names, topological order, types that match ``infer``."""

from __future__ import annotations

from ..errors import InternalError
from .graph import Graph, Tensor


def verify(graph: Graph) -> Graph:
    """Check every structural invariant; returns the graph so it can be chained."""
    defined = set(graph.inputs)
    for name in graph.inputs:
        if name not in graph.tensors:
            raise InternalError(f"graph input {name} has no tensor")
    seen_nodes = set()
    for node in graph.nodes:
        if node.name in seen_nodes:
            raise InternalError(f"node name {node.name} is used twice")
        seen_nodes.add(node.name)
        for i in node.inputs:
            if i not in defined:
                raise InternalError(f"node {node.name} reads {i} before it is produced")
        ins = [graph.tensors[i] for i in node.inputs]
        try:
            inferred = node.op.infer(ins)
        except InternalError as e:
            raise InternalError(f"node {node.name} ({node.op.summary()}): {e}") from None
        if len(inferred) != len(node.outputs):
            raise InternalError(f"node {node.name} has {len(node.outputs)} outputs, op gives {len(inferred)}")
        for o, (shape, quant) in zip(node.outputs, inferred):
            if o in defined:
                raise InternalError(f"tensor {o} is produced twice (again by {node.name})")
            defined.add(o)
            t = graph.tensors.get(o)
            if t is None:
                raise InternalError(f"node {node.name} output {o} has no tensor")
            if tuple(shape) != t.shape:
                raise InternalError(f"tensor {o}: shape {t.shape}, but {node.name} gives {tuple(shape)}")
            if (quant is None) != (t.quant is None) or (
                    quant is not None and quant.to_json() != t.quant.to_json()):
                raise InternalError(f"tensor {o}: type {t.quant}, but {node.name} gives {quant}")
    for name in graph.outputs:
        if name not in defined:
            raise InternalError(f"graph output {name} is never produced")
    return graph


def reinfer(graph: Graph) -> Graph:
    """The graph with every node's output types recomputed by its op's ``infer``, in
    order (after a pass narrowed a type, the types downstream follow)."""
    tensors = dict(graph.tensors)
    for node in graph.nodes:
        ins = [tensors[i] for i in node.inputs]
        for name, (shape, quant) in zip(node.outputs, node.op.infer(ins)):
            tensors[name] = Tensor(name, tuple(shape), quant)
    return graph.rebuild(graph.nodes, tensors)
