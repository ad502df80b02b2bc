"""Pure Graph -> Graph rewrites on the *source* IR (as imported, before the pass pipeline)
that the design-flow tasks are made of: re-quantizing weights and activations at fewer
bits, magnitude pruning, and removing output channels from a layer and its consumers.

Every function returns a new graph whose types are re-derived by each op's ``infer``
(``ir.verify.reinfer``), so the result passes ``ir.verify``; the pipeline then derives
the hardware from it exactly as from an imported model.  A rewrite that the graph's
structure does not allow raises ``NotApplicable`` with the reason.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import ArchgenError
from ..ir import Graph, ops
from ..ir.graph import Node, Tensor
from ..ir.types import QuantSpec, int_range
from ..ir.verify import reinfer

# ops an activation quantizer's output passes through unchanged on its way to a layer
_PASS_THROUGH = (ops.Reshape, ops.Transpose, ops.Pad, ops.Relabel)


class NotApplicable(ArchgenError):
    """A rewrite the graph does not allow (the message says why)."""


# -- finding layers -------------------------------------------------------------------------

def weight_layers(graph: Graph) -> list:
    """Names of the layers with weights (Dense, Conv), in graph order."""
    return [n.name for n in graph.nodes if isinstance(n.op, (ops.Dense, ops.Conv))]


def node(graph: Graph, name: str):
    for n in graph.nodes:
        if n.name == name:
            return n
    raise NotApplicable(f"no node {name} in the model")


def input_quantizer(graph: Graph, layer: str):
    """The Quantize node whose codes feed ``layer`` (through reshapes, transposes, pads and
    max pooling), or None (a MultiThreshold, Trunc or a layer's own integer output)."""
    t = node(graph, layer).inputs[0]
    while True:
        p = graph.producer(t)
        if p is None:
            return None
        if isinstance(p.op, ops.Quantize):
            return p
        if isinstance(p.op, _PASS_THROUGH) or (isinstance(p.op, ops.Pool) and p.op.reduce == "max"):
            t = p.inputs[0]
            continue
        return None


def _replace_op(graph: Graph, name: str, op) -> Graph:
    nodes = [replace(n, op=op) if n.name == name else n for n in graph.nodes]
    return reinfer(graph.rebuild(nodes))


def _channel_scale(spec: QuantSpec, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(spec.scale, dtype=np.float64), (n,)).copy()


# -- precision ------------------------------------------------------------------------------

def requantize_weights(graph: Graph, layer: str, bits: int) -> Graph:
    """``layer``'s weight codes at ``bits`` (fewer than they have; more is a no-op): each
    scale group (per tensor or per output channel) keeps its largest magnitude, on a
    symmetric narrow grid (2..bits), codes rounded half to even."""
    n = node(graph, layer)
    op = n.op
    spec = op.weight_spec
    if spec.bipolar or bits >= spec.bits:
        return graph
    if spec.has_zero_point:
        raise NotApplicable(f"layer {layer}: weights with a zero point cannot be re-quantized")
    if bits < 2:
        raise NotApplicable(f"layer {layer}: weights need at least 2 bits (got {bits})")
    w = op.weight.astype(np.int64)
    rows = w.reshape(w.shape[0], -1)
    qmax = int_range(bits, spec.signed, spec.signed)[1]
    if spec.per_channel:
        m = np.abs(rows).max(axis=1).astype(np.float64)
    else:
        m = np.full(w.shape[0], float(np.abs(rows).max(initial=0)))
    m[m == 0] = qmax
    ratio = qmax / m
    new = np.clip(np.round(rows * ratio[:, None]), -qmax if spec.signed else 0, qmax)
    scale = _channel_scale(spec, w.shape[0]) / ratio
    if not spec.per_channel:
        scale = scale[:1]
    new_spec = QuantSpec(bits=bits, signed=spec.signed, narrow=spec.signed, scale=scale,
                         zero_point=(0,), axis=spec.axis if spec.per_channel else None)
    return _replace_op(graph, layer, replace(op, weight=new.reshape(w.shape).astype(np.int64),
                                             weight_spec=new_spec))


def requantize_activation(graph: Graph, quantizer: str, bits: int) -> Graph:
    """The activation quantizer ``quantizer`` (a Quantize node) at ``bits`` (fewer than it
    has; more is a no-op), keeping the real range it covers: with zero point 0 its largest
    magnitude, otherwise both ends (the zero point re-rounded)."""
    n = node(graph, quantizer)
    op = n.op
    if not isinstance(op, ops.Quantize):
        raise NotApplicable(f"{quantizer}: not an activation quantizer")
    spec = op.spec
    if spec.bipolar or bits >= spec.bits:
        return graph
    lo, hi = spec.full_range
    nlo, nhi = int_range(bits, spec.signed, spec.narrow)
    if nhi <= nlo or nhi < 1:
        raise NotApplicable(f"{quantizer}: {bits} bits leave no levels")
    s = np.asarray(spec.scale, dtype=np.float64)
    if not spec.has_zero_point:
        scale = s * max(abs(lo), hi) / max(abs(nlo), nhi)
        zp = (0,)
    else:
        z = np.asarray(spec.zero_point, dtype=np.float64)
        r_lo, r_hi = s * (lo - z), s * (hi - z)
        scale = (r_hi - r_lo) / (nhi - nlo)
        zp = tuple(int(v) for v in np.clip(np.round(nlo - r_lo / scale), nlo, nhi))
    new_spec = QuantSpec(bits=bits, signed=spec.signed, narrow=spec.narrow, scale=scale,
                         zero_point=zp, axis=spec.axis)
    return _replace_op(graph, quantizer, replace(op, spec=new_spec))


# -- pruning --------------------------------------------------------------------------------

def prune_weights(graph: Graph, layer: str, sparsity: float) -> Graph:
    """Zero the ``sparsity`` fraction of ``layer``'s weights of smallest real magnitude
    (code times its channel's scale); ties broken by position, so it is deterministic."""
    n = node(graph, layer)
    op = n.op
    if op.weight_spec.has_zero_point:
        raise NotApplicable(f"layer {layer}: weights with a zero point cannot be pruned")
    w = op.weight.astype(np.int64)
    rows = w.reshape(w.shape[0], -1)
    k = int(np.floor(sparsity * rows.size))
    if k <= 0:
        return graph
    mag = np.abs(rows) * _channel_scale(op.weight_spec, w.shape[0])[:, None]
    order = np.argsort(mag, axis=None, kind="stable")[:k]
    flat = rows.reshape(-1).copy()
    flat[order] = 0
    return _replace_op(graph, layer, replace(op, weight=flat.reshape(w.shape)))


def channel_norms(graph: Graph, layer: str) -> np.ndarray:
    """L1 norm of each output channel's real weights."""
    op = node(graph, layer).op
    rows = op.weight.reshape(op.weight.shape[0], -1).astype(np.float64)
    return np.abs(rows).sum(axis=1) * _channel_scale(op.weight_spec, rows.shape[0])


def zero_rows(graph: Graph, layer: str) -> list:
    """Output channels of ``layer`` whose weights are all zero."""
    op = node(graph, layer).op
    return [int(i) for i in np.flatnonzero(~op.weight.reshape(op.weight.shape[0], -1).any(axis=1))]


def _is_depthwise(op) -> bool:
    return isinstance(op, ops.Conv) and op.group > 1 and op.group == op.weight.shape[0] \
        and op.weight.shape[1] == 1


def _out_axis(graph: Graph, n) -> int:
    if isinstance(n.op, ops.Dense):
        return len(graph.tensors[n.outputs[0]].shape) - 1
    return len(graph.tensors[n.outputs[0]].shape) - 1 if n.op.channels_last else 0


def _slice_spec(spec, keep, axis, block=1):
    if spec is None or not spec.per_channel:
        return spec
    if spec.axis != axis or block != 1:
        raise NotApplicable("a per-channel quantizer on another axis")
    sc = np.asarray(spec.scale)[keep] if len(spec.scale) > 1 else spec.scale
    zp = np.asarray(spec.zero_point)[keep] if len(spec.zero_point) > 1 else spec.zero_point
    return spec.with_(scale=sc, zero_point=zp)


def _slice_const(c: np.ndarray, keep, axis: int, ndim: int, size: int) -> np.ndarray:
    idx = axis - (ndim - c.ndim)
    if idx < 0 or c.shape[idx] == 1:
        return c
    if c.shape[idx] != size:
        raise NotApplicable("a constant that does not broadcast over the channels")
    return np.take(c, keep, axis=idx)


def remove_channels(graph: Graph, layer: str, channels) -> Graph:
    """``layer`` without the output ``channels``: its weight rows go, and so does the
    channel in everything it flows through (bias/batch-norm/activation chains, quantizers,
    thresholds, pooling, reshapes, depthwise convolutions) up to the next layers, whose
    input columns for it go too.  What the channel still contributed with its weights
    zeroed (its bias path, a constant) is added to those layers' biases, so removing a
    channel computes what zeroing its weights computes (exactly for dense layers; for a
    padded convolution, away from the border).  Raises NotApplicable when the channel
    reaches a residual add, a concatenation or a graph output."""
    a = node(graph, layer)
    if not isinstance(a.op, (ops.Dense, ops.Conv)) or _is_depthwise(a.op) or \
            (isinstance(a.op, ops.Conv) and a.op.group != 1):
        raise NotApplicable(f"layer {layer}: only dense and ordinary convolution layers lose "
                            "output channels")
    c_out = a.op.weight.shape[0]
    drop = sorted({int(c) for c in channels})
    if not drop:
        return graph
    keep = np.array([c for c in range(c_out) if c not in set(drop)], dtype=np.int64)
    if keep.size == 0:
        raise NotApplicable(f"layer {layer}: cannot remove all {c_out} output channels")
    # what the removed channels still carry once their weights are zero: a constant
    w0 = a.op.weight.copy()
    w0[drop] = 0
    zeroed = reinfer(graph.rebuild([replace(n, op=replace(n.op, weight=w0)) if n is a else n
                                    for n in graph.nodes]))
    env = _probe(zeroed)
    new_ops = {a.name: replace(a.op, weight=a.op.weight[keep],
                               weight_spec=_slice_spec(a.op.weight_spec, keep, 0))}
    extra_steps = {}  # terminal layer -> compensation added to its bias
    frontier = [(a.outputs[0], _out_axis(graph, a), 1)]
    seen = set()
    while frontier:
        t, axis, block = frontier.pop()
        if t in graph.outputs:
            raise NotApplicable(f"layer {layer}: its output channels reach the model output")
        for n in graph.consumers(t):
            if n.name in seen:
                raise NotApplicable(f"layer {layer}: its channels reach {n.name} twice")
            seen.add(n.name)
            nxt = _through(graph, n, t, keep, axis, block, c_out, env, new_ops, extra_steps, drop)
            if nxt is not None:
                frontier.append((n.outputs[0],) + nxt)
    nodes, tensors, prepend = [], dict(graph.tensors), {}
    for n in graph.nodes:
        n2 = replace(n, op=new_ops[n.name]) if n.name in new_ops else n
        if n.name in prepend:  # a bias step for the layer before it
            n2 = replace(n2, op=replace(n2.op, steps=(prepend[n.name],) + n2.op.steps))
        nodes.append(n2)
        if n.name in extra_steps:
            _add_bias(graph, nodes, tensors, prepend, n2, extra_steps[n.name])
    try:
        return reinfer(graph.rebuild(nodes, tensors))
    except ArchgenError as e:
        raise NotApplicable(f"layer {layer}: removing channels breaks the graph ({e})") from None


def _probe(graph: Graph) -> dict:
    """Values of every tensor for one all-zero input sample."""
    from .. import golden

    feed = {i: np.zeros((1,) + graph.tensors[i].shape) for i in graph.inputs}
    return golden.evaluate(graph, feed, keep=True)


def _through(graph, n, t, keep, axis, block, c_out, env, new_ops, extra_steps, drop):
    """Take the channels out of node ``n`` (reading tensor ``t``); the (axis, block) of
    its output when the channels flow on, None when ``n`` is a layer that ends them."""
    op = new_ops.get(n.name, n.op)
    x = graph.tensors[t]
    ndim = len(x.shape)
    size = x.shape[axis] if block == 1 else None
    if isinstance(op, ops.Elementwise):
        if block != 1 and any(c.size > 1 for s in op.steps for c in s.consts):
            raise NotApplicable(f"{n.name}: per-element constants after a flatten")
        steps = tuple(ops.Step(s.fn, tuple(_slice_const(c, keep, axis, ndim, size)
                                           for c in s.consts)) for s in op.steps)
        new_ops[n.name] = replace(op, steps=steps)
        return axis, block
    if isinstance(op, (ops.Quantize, ops.Trunc)):
        new_ops[n.name] = replace(op, spec=_slice_spec(op.spec, keep, axis, block))
        return axis, block
    if isinstance(op, ops.MultiThreshold):
        if op.thresholds.shape[0] > 1:
            if op.axis != axis or block != 1:
                raise NotApplicable(f"{n.name}: thresholds on another axis")
            new_ops[n.name] = replace(op, thresholds=op.thresholds[keep],
                                      spec=_slice_spec(op.spec, keep, axis))
        else:
            new_ops[n.name] = replace(op, spec=_slice_spec(op.spec, keep, axis, block))
        return axis, block
    if isinstance(op, ops.Relabel):
        return axis, block
    if isinstance(op, ops.Pool) and block == 1:
        return axis, block
    if isinstance(op, ops.Pad) and block == 1:
        return axis, block
    if isinstance(op, ops.Transpose) and block == 1:
        return list(op.perm).index(axis), 1
    if isinstance(op, ops.Reshape) and block == 1:
        return _through_reshape(n, op, x, axis, keep, new_ops)
    if isinstance(op, ops.Conv) and _is_depthwise(op) and block == 1 and not op.channels_last \
            and axis == 0:
        new_ops[n.name] = replace(op, weight=op.weight[keep], group=int(keep.size),
                                  weight_spec=_slice_spec(op.weight_spec, keep, 0))
        return axis, block
    if isinstance(op, ops.Dense) and axis == ndim - 1:
        cols = _columns(keep, block)
        gone = np.setdiff1d(np.arange(op.weight.shape[1]), cols)
        r = golden_real(env, graph, t)[0].reshape(-1)[gone]
        comp = (op.weight[:, gone].astype(np.float64) @ r) * _channel_scale(
            op.weight_spec, op.weight.shape[0])
        new_ops[n.name] = replace(op, weight=op.weight[:, cols])
        extra_steps[n.name] = comp
        return None
    if isinstance(op, ops.Conv) and op.group == 1 and block == 1 and not op.channels_last \
            and axis == 0:
        gone = [c for c in range(c_out) if c not in set(keep.tolist())]
        v = golden_real(env, graph, t)[0]  # (C, *spatial): the value at the centre
        centre = tuple(d // 2 for d in v.shape[1:])
        r = np.array([v[(c,) + centre] for c in gone])
        wg = op.weight[:, gone].astype(np.float64).reshape(op.weight.shape[0], len(gone), -1)
        comp = wg.sum(axis=2) @ r * _channel_scale(op.weight_spec, op.weight.shape[0])
        new_ops[n.name] = replace(op, weight=op.weight[:, keep])
        extra_steps[n.name] = comp
        return None
    raise NotApplicable(f"{n.name}: a {type(op).kind()} the removed channels cannot pass")


def _through_reshape(n, op, x, axis, keep, new_ops):
    """A reshape keeps the channels when they are its only non-unit axis, or flattens
    channels-first data (each channel becomes a block of columns)."""
    c = x.shape[axis]
    others = [d for i, d in enumerate(x.shape) if i != axis]
    if all(d == 1 for d in others):
        out = list(op.shape)
        if out.count(c) != 1 or np.prod(out) != c:
            raise NotApplicable(f"{n.name}: a reshape that moves the channels")
        i = out.index(c)
        out[i] = int(keep.size)
        new_ops[n.name] = replace(op, shape=tuple(out))
        return i, 1
    if axis == 0 and len(op.shape) == 1:
        blk = int(np.prod(others))
        new_ops[n.name] = replace(op, shape=(int(keep.size) * blk,))
        return 0, blk
    raise NotApplicable(f"{n.name}: a reshape that moves the channels")


def _columns(keep, block):
    return (keep[:, None] * block + np.arange(block)[None, :]).reshape(-1)


def golden_real(env, graph, t):
    from ..golden import real

    return real(env[t], graph.tensors[t].quant)


def _add_bias(graph, nodes, tensors, prepend, layer, comp) -> None:
    """Add ``comp`` (per output channel) to ``layer``'s bias (``layer`` is the last of
    ``nodes``): as the first step of the float chain that reads its accumulator (recorded
    in ``prepend``), or as a new chain in front of its consumers."""
    if not np.any(comp):
        return
    out = layer.outputs[0]
    shape = graph.tensors[out].shape
    axis = _out_axis(graph, layer)
    cshape = [1] * (len(shape) - axis)
    cshape[0] = comp.size
    step = ops.Step("add", (comp.reshape(cshape),))
    users = graph.consumers(out)
    if len(users) == 1 and isinstance(users[0].op, ops.Elementwise) and out not in graph.outputs:
        prepend[users[0].name] = step
        return
    acc = out + "_acc"
    if acc in tensors:
        raise NotApplicable(f"{layer.name}: tensor name {acc} is taken")
    nodes[-1] = replace(layer, outputs=(acc,))
    tensors[acc] = Tensor(acc, shape, graph.tensors[out].quant)
    tensors[out] = Tensor(out, shape, None)
    nodes.append(Node(layer.name + "_bias_dse", ops.Elementwise((step,)), (acc,), (out,)))
