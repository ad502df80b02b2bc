"""Streaming layout: spatial tensors become channels-last (*spatial, C).

Hardware streams pixels one after another with their channels side by side, so every
tensor of rank >= 2 (ONNX's (C, *spatial)) is turned into (*spatial, C): convolution
and pooling ops switch to ``channels_last``, per-channel axes move to the end, and
float constants are moved accordingly.  Transposes appear only at the host boundary
(after a spatial graph input, before a spatial graph output).  A flatten of a spatial
tensor into a Dense layer needs no data movement: the Dense weight columns are
permuted instead (the pattern FINN calls "absorb transpose into flatten").
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import Config
from ..errors import InternalError, UnsupportedOpError
from ..ir import Graph, Node, Tensor, ops
from ..ir.graph import sanitize
from ..units import lif, requant, thresholds


def _to_last(shape):
    return tuple(shape[1:]) + (shape[0],)


def _perm_to_last(nd):
    return tuple(range(1, nd)) + (0,)


def _perm_to_first(nd):
    return (nd - 1,) + tuple(range(nd - 1))


def _axis(a, nd):
    """Where per-sample axis ``a`` of a channels-first rank-nd tensor goes."""
    return nd - 1 if a == 0 else a - 1


def _const(c, nd):
    """A per-sample float constant (right-aligned broadcast) moved to channels-last."""
    c = np.asarray(c)
    if c.ndim == 0:
        return c
    full = c.reshape((1,) * (nd - c.ndim) + c.shape)
    return np.moveaxis(full, 0, -1)


def _spec(q, nd):
    if q is not None and q.per_channel:
        return q.with_(axis=_axis(q.axis, nd), lo=q.lo, hi=q.hi)
    return q


def _spatial(graph: Graph) -> bool:
    return any(isinstance(n.op, (ops.Conv, ops.Pool, ops.DeformConv)) for n in graph.nodes)


def channels_last(graph: Graph, config: Config) -> Graph:
    if not _spatial(graph):
        return graph
    nodes, tensors = [], dict(graph.tensors)
    rank = {name: len(t.shape) for name, t in graph.tensors.items()}
    moved = set()  # tensors whose layout changed
    taken = set(graph.tensors) | {n.name for n in graph.nodes}
    pending = {}  # Dense nodes whose weight columns were permuted, by name

    def fresh(hint):
        name = sanitize(hint, taken)
        taken.add(name)
        return name

    # host transposes after spatial float inputs
    rename = {}
    for name in graph.inputs:
        t = graph.tensors[name]
        if len(t.shape) >= 2:
            new = fresh(name + "_nhwc")
            tensors[new] = Tensor(new, _to_last(t.shape), t.quant)
            nodes.append(Node(fresh("to_nhwc_" + name), ops.Transpose(_perm_to_last(len(t.shape))),
                              (name,), (new,)))
            rename[name] = new
            rank[new] = len(t.shape)
            moved.add(new)
    for n in graph.nodes:
        n = replace(n, inputs=tuple(rename.get(i, i) for i in n.inputs))
        src_moved = bool(n.inputs) and n.inputs[0] in moved
        op = n.op
        if isinstance(op, ops.Reshape) and src_moved:
            t = tensors[n.inputs[0]]
            users = graph.consumers(n.outputs[0])
            if all(s == 1 for s in t.shape[:-1]):
                pass  # (1, 1, C) -> (C,): the same order either way
            elif (len(op.shape) == 1 and len(users) == 1 and isinstance(users[0].op, ops.Dense)
                    and n.outputs[0] not in graph.outputs):
                # permute the next Dense layer's columns instead of the data
                c_first = (t.shape[-1],) + t.shape[:-1]
                order = np.arange(int(np.prod(c_first))).reshape(c_first)
                perm = np.moveaxis(order, 0, -1).reshape(-1)  # channels-last position -> old column
                dense = users[0]
                pending[dense.name] = replace(dense.op, weight=ops.const(dense.op.weight[:, perm]))
            else:  # any other reshape reads the channels-first order: transpose back
                back = fresh(n.inputs[0] + "_nchw")
                tensors[back] = _channels_first_tensor(back, t)
                nodes.append(Node(fresh(n.name + "_to_nchw"),
                                  ops.Transpose(_perm_to_first(len(t.shape))), (n.inputs[0],), (back,)))
                n = replace(n, inputs=(back,))
            nodes.append(n)
            continue
        if n.name in pending:
            op = pending.pop(n.name)
        if isinstance(op, (ops.Conv, ops.Pool)) and not src_moved:
            raise UnsupportedOpError(f"node {n.name} ({op.summary()}) reads a tensor reshaped "
                                     "into spatial form inside the network: not supported")
        if any(i in moved for i in n.inputs):
            op = _move_op(op, n, rank, graph)
        n = replace(n, op=op)
        if any(i in moved for i in n.inputs) or (isinstance(op, (ops.Conv, ops.Pool, ops.DeformConv))):
            for o in n.outputs:
                if rank[o] >= 2:
                    moved.add(o)
        ins = [tensors[i] for i in n.inputs]
        try:
            inferred = op.infer(ins)
        except InternalError as e:  # an op this pass moved into an inconsistent state
            raise UnsupportedOpError(f"node {n.name} ({n.op.summary()}) cannot be streamed "
                                     f"channels-last: {e}") from None
        for o, (shape, quant) in zip(n.outputs, inferred):
            tensors[o] = Tensor(o, shape, quant)
        nodes.append(n)
    # host transposes before spatial outputs
    outputs = []
    for name in graph.outputs:
        if name in moved:
            t = tensors[name]
            inner = fresh(name + "_nhwc")
            tensors[inner] = Tensor(inner, t.shape, t.quant)
            nodes = [replace(m, outputs=tuple(inner if o == name else o for o in m.outputs),
                             inputs=tuple(inner if i == name else i for i in m.inputs))
                     for m in nodes]
            tensors[name] = _channels_first_tensor(name, t)
            nodes.append(Node(fresh("to_nchw_" + name), ops.Transpose(_perm_to_first(len(t.shape))),
                              (inner,), (name,)))
        outputs.append(name)
    return graph.rebuild(nodes, tensors, outputs=outputs)


def _channels_first_tensor(name, t: Tensor) -> Tensor:
    """The channels-first twin of channels-last tensor ``t``."""
    shape = (t.shape[-1],) + tuple(t.shape[:-1])
    return Tensor(name, shape, t.quant and _spec_first(t.quant, len(t.shape)))


def _spec_first(q, nd):
    if q.per_channel:
        return q.with_(axis=0 if q.axis == nd - 1 else q.axis + 1, lo=q.lo, hi=q.hi)
    return q


def _move_op(op, node, rank, graph):
    nd = rank[node.inputs[0]]
    if nd < 2:
        return op
    if isinstance(op, (ops.Conv, ops.Pool, ops.DeformConv)):
        return replace(op, channels_last=True)
    if isinstance(op, ops.Elementwise):
        return ops.Elementwise(tuple(ops.Step(s.fn, tuple(_const(c, nd) for c in s.consts))
                                     for s in op.steps))
    if isinstance(op, ops.Quantize):
        return replace(op, spec=_spec(op.spec, nd))
    if isinstance(op, ops.Trunc):
        return replace(op, spec=_spec(op.spec, nd))
    if isinstance(op, ops.MultiThreshold):
        return replace(op, axis=_axis(op.axis, nd), spec=_spec(op.spec, nd))
    if isinstance(op, (thresholds.Params, requant.Params)):
        return replace(op, axis=_axis(op.axis, nd), spec=_spec(op.spec, nd))
    if isinstance(op, lif.Params):  # per-neuron constants move with the neurons
        return replace(op, **{k: ops.const(_const(getattr(op, k), nd)) for k in lif.CONSTANTS
                              if getattr(op, k) is not None})
    if isinstance(op, ops.Concat):
        return ops.Concat(_axis(op.axis, nd))
    if isinstance(op, ops.Slice):
        return replace(op, axis=_axis(op.axis, nd))
    if isinstance(op, (ops.Softmax,)):
        return ops.Softmax(_axis(op.axis, nd))
    if isinstance(op, ops.ArgMax):
        return replace(op, axis=_axis(op.axis, nd))
    if isinstance(op, ops.Pad):
        half = len(op.pads) // 2
        b, e = list(op.pads[:half]), list(op.pads[half:])
        return replace(op, pads=tuple(b[1:] + b[:1] + e[1:] + e[:1]))
    if isinstance(op, ops.Transpose):
        # y = t.transpose(perm) with t stored channels-last: store y channels-last too
        return ops.Transpose(tuple((op.perm[(j + 1) % nd] - 1) % nd for j in range(nd)))
    if isinstance(op, ops.Relabel):
        return replace(op, spec=_spec(op.spec, nd))
    if isinstance(op, ops.Add) or type(op).kind() == "add":
        return op
    raise UnsupportedOpError(f"node {node.name} ({op.summary()}) cannot be streamed channels-last")
