"""Lowering: model ops -> hardware units, and the host/hardware partition.

The graph splits into three parts:

* host prefix: float work on graph inputs before the input quantizers (layout
  transposes, input normalization, the quantizers themselves);
* hardware: units only (plus Reshape/Relabel, which are wires on a stream);
* host suffix: float work after the last integer tensor (dequantization, the final
  affine of bnn_pynq-style models, softmax), done by the driver in float64.

Dense -> mvu; Conv -> swg + mvu (vvu for depthwise); DeformConv -> dswg + mvu; Pool -> pool;
Concat -> concat;
ArgMax (and the indices of a TopK) of codes -> argmax.  An op that cannot live in
hardware and is not at the boundary is an UnsupportedOpError naming the node.
"""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass, replace

import numpy as np

from ..config import Config
from ..errors import UnsupportedOpError
from ..ir import Graph, Node, Tensor, ops
from ..ir.graph import sanitize
from ..units import argmax, chslice, cmvm, concat, lif, mvu, pool, swg, synapse, vvu

HOST_PREFIX_OPS = (ops.Transpose, ops.Elementwise, ops.Quantize, ops.Trunc, ops.MultiThreshold,
                   ops.Reshape, ops.Pad, ops.Slice)
# after the last hardware layer: layout changes always run on the host; the others only
# when they touch float data (ArgMax or Concat of codes is better done by a unit)
HOST_LAYOUT_OPS = (ops.Transpose, ops.Reshape, ops.Relabel, ops.Slice)
HOST_SUFFIX_OPS = HOST_LAYOUT_OPS + (ops.Elementwise, ops.Softmax, ops.ArgMax, ops.Concat, ops.Add)
WIRE_OPS = (ops.Reshape, ops.Relabel)


@dataclass(frozen=True)
class Partition:
    prefix: tuple  # node names, in graph order
    hardware: tuple
    suffix: tuple


def partition(graph: Graph) -> Partition:
    """Split nodes into host prefix, hardware and host suffix."""
    prefix, pre_out = [], set(graph.inputs)
    for n in graph.nodes:
        if isinstance(n.op, HOST_PREFIX_OPS) and all(i in pre_out for i in n.inputs) and (
                graph.tensors[n.inputs[0]].quant is None):
            prefix.append(n.name)
            pre_out.update(n.outputs)
    suffix, suf_in = [], set(graph.outputs)
    for n in reversed(graph.nodes):
        if n.name in prefix:
            continue
        outs_ok = all(o in suf_in or all(c.name in suffix for c in graph.consumers(o))
                      for o in n.outputs)
        floaty = any(graph.tensors[o].quant is None for o in n.outputs) or any(
            graph.tensors[i].quant is None for i in n.inputs)
        if isinstance(n.op, HOST_SUFFIX_OPS) and outs_ok and (
                floaty or isinstance(n.op, HOST_LAYOUT_OPS)):
            suffix.append(n.name)
            suf_in.update(n.inputs)
    suffix.reverse()
    hw = tuple(n.name for n in graph.nodes if n.name not in prefix and n.name not in suffix)
    return Partition(tuple(prefix), hw, tuple(suffix))


def _check_weights(node, op):
    if op.weight_spec.has_zero_point:
        raise UnsupportedOpError(f"node {node.name}: weights with a zero point are not supported "
                                 "in hardware (quantize weights symmetrically)")


def _lower_dense(node, op: ops.Dense, g: Graph, config, fresh):
    """Dense -> mvu; with ``strategy: latency``, cmvm (every product a constant shift-add
    graph, one vector per cycle); a dense synapse of spikes (0/1 codes) into a neuron layer
    -> the event-driven synapse unit, which skips zero spikes (``snn.synapse: event``)."""
    _check_weights(node, op)
    x = g.tensors[node.inputs[0]]
    acc = g.tensors[node.outputs[0]].quant
    q = x.quant
    mem = config.weight_memory_for(node.name)
    if _event_synapse(node, g, config):
        p = synapse.Params(op.weight, op.weight_spec, acc.scale, weight_mem=mem)
    elif config.strategy == "latency":  # fully parallel shift-add adder graphs, no multiplier
        p = cmvm.Params(op.weight, q.zero_point[0], op.weight_spec, acc.scale,
                        depth=config.latency_depth, arity=config.latency_arity)
    else:
        p = mvu.Params(op.weight, q.zero_point[0], op.weight_spec, acc.scale, weight_mem=mem)
    return [Node(node.name, p, node.inputs, node.outputs)], {}


def _event_synapse(node, g: Graph, config) -> bool:
    """A synapse of spikes (0/1 codes) into a neuron layer, with ``snn.synapse: event``."""
    q = g.tensors[node.inputs[0]].quant
    spikes = q.bits == 1 and not q.signed and not q.bipolar and not q.has_zero_point
    into_neurons = any(isinstance(u.op, lif.Params) for u in g.consumers(node.outputs[0]))
    return spikes and into_neurons and config.snn.synapse == "event"


def _lower_conv(node, op: ops.Conv, g: Graph, config, fresh):
    """Conv -> swg (the sliding-window generator) + mvu, or vvu when depthwise; a
    convolution of spikes into a neuron layer -> swg + the event-driven synapse, which walks
    each window's set bits (``snn.synapse: event``)."""
    _check_weights(node, op)
    x = g.tensors[node.inputs[0]]
    if not op.channels_last:
        raise UnsupportedOpError(f"node {node.name}: convolution not in streaming layout")
    c = x.shape[-1]
    o, ig = op.weight.shape[:2]
    kprod = int(np.prod(op.kernel))
    zx = x.quant.zero_point[0] if x.quant.has_zero_point else 0
    win_name = fresh(node.outputs[0] + "_win")
    acc_scale = g.tensors[node.outputs[0]].quant.scale
    depthwise = op.group == c and o == c and ig == 1
    event = _event_synapse(node, g, config)
    mem = config.weight_memory_for(node.name)
    if depthwise and not event:
        w = op.weight.reshape(o, kprod)
        unit = vvu.Params(w, zx, op.weight_spec, acc_scale, weight_mem=mem)
    else:
        # (O, I/g, *K) -> dense (O, *K, C) with zeros outside each group
        full = np.zeros((o,) + op.kernel + (c,), dtype=np.int64)
        og = o // op.group
        for gi in range(op.group):
            blk = op.weight[gi * og:(gi + 1) * og]  # (og, ig, *K)
            full[gi * og:(gi + 1) * og, ..., gi * ig:(gi + 1) * ig] = np.moveaxis(blk, 1, -1)
        w = full.reshape(o, -1)
        if event:
            unit = synapse.Params(w, op.weight_spec, acc_scale, weight_mem=mem)
        else:
            unit = mvu.Params(w, zx, op.weight_spec, acc_scale, weight_mem=mem)
    gen = swg.Params(op.kernel, op.strides, op.pads, op.dilations, zx, 1)
    shape, spec = gen.infer([x])[0]
    win = Tensor(win_name, shape, spec)
    return ([Node(fresh(node.name + "_swg"), gen, node.inputs, (win_name,)),
             Node(node.name, unit, (win_name,), node.outputs)], {win_name: win})


def _lower_deform(node, op: ops.DeformConv, g: Graph, config, fresh):
    """DeformConv -> dswg (the sampler: frame buffer, bilinear taps, mask) + mvu (the MAC
    array over each sampled window, PE/SIMD folded like a convolution's)."""
    _check_weights(node, op)
    if not op.channels_last:
        raise UnsupportedOpError(f"node {node.name}: deformable convolution not in streaming layout")
    ins = [g.tensors[i] for i in node.inputs]
    sampler = op.sampler(ins[0].quant, ins[2].quant if len(ins) > 2 else None)
    lc = config.layers.get(node.name)
    if lc is not None and lc.max_offset is not None:  # bounded offsets: clamped, line buffer
        sampler = dataclasses.replace(sampler, max_offset=lc.max_offset)
    (shape, spec), = sampler.infer(ins)
    win_name = fresh(node.outputs[0] + "_win")
    acc_scale = g.tensors[node.outputs[0]].quant.scale
    unit = mvu.Params(op.dense_weight(), 0, op.weight_spec, acc_scale,
                      weight_mem=config.weight_memory_for(node.name))
    return ([Node(fresh(node.name + "_dswg"), sampler, node.inputs, (win_name,)),
             Node(node.name, unit, (win_name,), node.outputs)],
            {win_name: Tensor(win_name, shape, spec)})


def _lower_pool(node, op: ops.Pool, g, config, fresh):
    if not op.channels_last:
        raise UnsupportedOpError(f"node {node.name}: pooling not in streaming layout")
    p = pool.Params(op.reduce, op.kernel, op.strides, op.pads, op.dilations, op.ceil_mode,
                    op.pad_value)
    return [Node(node.name, p, node.inputs, node.outputs)], {}


def _lower_concat(node, op: ops.Concat, g, config, fresh):
    ins = [g.tensors[i] for i in node.inputs]
    if op.axis != len(ins[0].shape) - 1:
        raise UnsupportedOpError(f"node {node.name}: concatenation along axis {op.axis} "
                                 "(hardware concatenates channels)")
    return [Node(node.name, concat.Params(), node.inputs, node.outputs)], {}


def _lower_slice(node, op: ops.Slice, g, config, fresh):
    x = g.tensors[node.inputs[0]]
    if op.axis != len(x.shape) - 1:
        raise UnsupportedOpError(f"node {node.name}: {op.summary()} between hardware layers "
                                 "slices a spatial axis (hardware slices channels)")
    if x.quant.per_channel:
        raise UnsupportedOpError(f"node {node.name}: slice of a tensor quantized per channel")
    return [Node(node.name, chslice.Params(op.start, op.stop), node.inputs, node.outputs)], {}


def _lower_argmax(node, op: ops.ArgMax, g, config, fresh):
    x = g.tensors[node.inputs[0]]
    if op.axis != len(x.shape) - 1:
        raise UnsupportedOpError(f"node {node.name}: {op.summary()} along axis {op.axis} "
                                 "(hardware: last)")
    return [Node(node.name, argmax.Params(op.keepdims, op.k), node.inputs, node.outputs)], {}


def _fold_pad(node, g: Graph, nodes_by_in):
    """A Pad of codes followed only by a Conv/Pool: merged into that op's padding.  A
    pool that pads nothing itself takes the pad code (a max pool keeps its -inf padding
    when the code is the input's lowest, which never wins over a real element)."""
    x = g.tensors[node.inputs[0]]
    users = nodes_by_in.get(node.outputs[0], [])
    if len(users) != 1 or not isinstance(users[0].op, (ops.Conv, ops.Pool)):
        return None
    user = users[0]
    nd = len(x.shape)  # channels-last: the channel axis is the last one
    begin, end = node.op.pads[:nd], node.op.pads[nd:]
    if begin[-1] or end[-1]:
        return None  # padding of the channel axis
    code = node.op.value / x.quant.scale[0] + x.quant.zero_point[0]
    if isinstance(user.op, ops.Conv) and code != x.quant.zero_point[0]:
        return None
    sp = tuple(begin[:-1]) + tuple(end[:-1])
    new = tuple(a + b for a, b in zip(user.op.pads, sp))
    if isinstance(user.op, ops.Pool):
        if any(user.op.pads) or user.op.pad_value is not None:
            return None  # its own padding pads another value: the two do not merge
        value = None if user.op.reduce == "max" and code <= x.quant.lo else int(code)
        return replace(user, op=replace(user.op, pads=new, pad_value=value), inputs=node.inputs)
    return replace(user, op=replace(user.op, pads=new), inputs=node.inputs)


_LOWER = {ops.Dense: _lower_dense, ops.Conv: _lower_conv, ops.DeformConv: _lower_deform,
          ops.Pool: _lower_pool,
          ops.Concat: _lower_concat, ops.ArgMax: _lower_argmax, ops.Slice: _lower_slice}


def lower(graph: Graph, config: Config) -> Graph:
    taken = set(graph.tensors) | {n.name for n in graph.nodes}

    def fresh(hint):
        name = sanitize(hint, taken)
        taken.add(name)
        return name

    # pads in front of convolutions become the convolution's own padding
    nodes = list(graph.nodes)
    for n in list(nodes):
        if isinstance(n.op, ops.Pad) and graph.tensors[n.inputs[0]].quant is not None:
            by_in = {}
            for m in nodes:
                for i in m.inputs:
                    by_in.setdefault(i, []).append(m)
            merged = _fold_pad(n, graph, by_in)
            if merged is not None:
                user = by_in[n.outputs[0]][0]
                nodes = [merged if m is user else m for m in nodes if m is not n]
    graph = graph.rebuild(nodes)
    part = partition(graph)
    hw = set(part.hardware)
    out_nodes, tensors = [], dict(graph.tensors)
    for n in graph.nodes:
        if n.name in hw and type(n.op) in _LOWER:
            new_nodes, new_tensors = _LOWER[type(n.op)](n, n.op, graph, config, fresh)
            out_nodes.extend(new_nodes)
            tensors.update(new_tensors)
            continue
        if n.name in hw and _is_model_op(n.op) and not isinstance(n.op, WIRE_OPS):
            raise UnsupportedOpError(
                f"node {n.name} ({n.op.summary()}) cannot be mapped to hardware: it sits "
                f"between integer layers and no pass turned it into integer arithmetic{_why(n, graph)}")
        out_nodes.append(n)
    return graph.rebuild(out_nodes, tensors)



def _why(node, graph: Graph) -> str:
    """A hint for the commonest reasons a float op is left between integer layers."""
    if isinstance(node.op, ops.Elementwise):
        nd = len(graph.tensors[node.inputs[0]].shape)
        for st in node.op.steps:
            for c in st.consts:
                if sum(1 for d in c.shape[-nd:] if d != 1) > 1:
                    return (" (its constants vary per position, e.g. an average pooling that "
                            "excludes padding from the count: use count_include_pad=1 or no "
                            "padding)")
        users = graph.consumers(node.outputs[0])
        if not any(isinstance(u.op, (ops.Quantize, ops.Trunc, ops.MultiThreshold)) for u in users):
            return " (no quantizer follows it: quantize its output)"
    return ""


def _is_model_op(op) -> bool:
    return type(op).__module__ == ops.__name__
