"""The bit-accurate numpy model of a Graph: runs every node, batch-vectorized.

Quantized tensors carry int64 codes, float tensors float64.  Arithmetic on codes is
exact integer arithmetic (float64 BLAS is used only where every partial sum is an
integer below 2**53, where it is exact too).  Float chains are evaluated step by step
in float64, in the order the model states them; passes that remove them derive their
integer replacement from this very evaluation, so golden(before) == golden(after).
Hardware units (after lowering) are run by their own module's ``golden()``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import units
from .errors import InternalError, ModelError
from .ir import ops
from .ir.graph import Graph
from .ir.types import QuantSpec, quantize, round_real

_EXACT_F64 = 2 ** 52
MAX_POOL_PAD = np.iinfo(np.int64).min // 2  # "-inf" for max pooling of codes


def real(value: np.ndarray, spec: QuantSpec | None) -> np.ndarray:
    """The real (float64) value of a tensor held as codes (spec) or floats (None)."""
    return value.astype(np.float64, copy=False) if spec is None else spec.dequantize(value)


# -- exact integer kernels ----------------------------------------------------------------

def int_matmul(x: np.ndarray, w_t: np.ndarray, bound: int) -> np.ndarray:
    """x (..., K) @ w_t (K, N) in exact integers; ``bound`` caps |every partial sum|."""
    if bound < _EXACT_F64:
        return np.matmul(x.astype(np.float64), w_t.astype(np.float64)).astype(np.int64)
    if bound >= 2 ** 62:
        raise InternalError(f"accumulator bound {bound} exceeds int64")
    return np.matmul(x.astype(np.int64), w_t.astype(np.int64))


def _partial_bound(x_spec: QuantSpec, w: np.ndarray) -> int:
    xmax = max(abs(x_spec.lo - max(x_spec.zero_point)), abs(x_spec.hi - min(x_spec.zero_point)))
    return int(np.abs(w.astype(np.int64)).reshape(w.shape[0], -1).sum(axis=1).max(initial=0)) * xmax


def windows(x: np.ndarray, kernel, strides, pads, dilations, pad_value, ceil_mode=False):
    """Sliding windows of a channels-first batch (B, C, *S) -> (B, C, *O, *K)."""
    nd = len(kernel)
    extra, outs = [], []
    for i in range(nd):
        out = ops.spatial_out(x.shape[2 + i], kernel[i], strides[i], pads[i], pads[nd + i],
                              dilations[i], ceil_mode)
        outs.append(out)
        need = (out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1
        extra.append(max(0, need - (x.shape[2 + i] + pads[i] + pads[nd + i])))
    width = [(0, 0), (0, 0)] + [(pads[i], pads[nd + i] + extra[i]) for i in range(nd)]
    if any(p for pair in width for p in pair):
        x = np.pad(x, width, constant_values=pad_value)
    eff = tuple(dilations[i] * (kernel[i] - 1) + 1 for i in range(nd))
    win = sliding_window_view(x, eff, axis=tuple(range(2, 2 + nd)))
    # exactly ``out`` windows per axis (end padding may leave room for one more start)
    sl = (slice(None), slice(None)) + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(outs, strides)) \
        + tuple(slice(None, None, d) for d in dilations)
    return win[sl]


def _channels_first(x, channels_last):
    return np.moveaxis(x, -1, 1) if channels_last else x


def _channels_back(x, channels_last):
    return np.moveaxis(x, 1, -1) if channels_last else x


# -- model-level ops -----------------------------------------------------------------------

def _quantize(op: ops.Quantize, ins, specs):
    return [quantize(real(ins[0], specs[0]), op.spec, op.mode, op.round_first)]


def _trunc(op: ops.Trunc, ins, specs):
    y = np.round(real(ins[0], specs[0]) / op.in_scale) / float(2 ** op.shift)
    y = np.clip(y, op.spec.lo, op.spec.hi)
    return [round_real(y, op.mode).astype(np.int64)]


def _dense(op: ops.Dense, ins, specs):
    x, xs = ins[0], specs[0]
    if xs.has_zero_point:
        x = x - xs.zero_point[0]
    w = op.weight.astype(np.int64)
    if op.weight_spec.has_zero_point:
        w = w - np.asarray(op.weight_spec.zero_point).reshape(-1, 1)
    return [int_matmul(x, w.T, _partial_bound(xs, w))]


def _conv(op: ops.Conv, ins, specs):
    xs = specs[0]
    x = _channels_first(ins[0], op.channels_last)
    if xs.has_zero_point:
        x = x - xs.zero_point[0]
    w = op.weight.astype(np.int64)
    if op.weight_spec.has_zero_point:
        w = w - np.asarray(op.weight_spec.zero_point).reshape((-1,) + (1,) * (w.ndim - 1))
    win = windows(x, op.kernel, op.strides, op.pads, op.dilations, 0)  # (B, C, *O, *K)
    nd = len(op.kernel)
    g = op.group
    b, c = win.shape[:2]
    out_sp = win.shape[2:2 + nd]
    o, ig = w.shape[:2]
    # (B, G, ig, *O, *K) -> (B, *O, G, ig * prod(K))
    win = win.reshape((b, g, ig) + out_sp + op.kernel)
    win = np.moveaxis(win, 2, 2 + nd)  # (B, G, *O, ig, *K)
    win = np.moveaxis(win, 1, 1 + nd)  # (B, *O, G, ig, *K)
    win = win.reshape((b,) + out_sp + (g, -1))
    wg = w.reshape(g, o // g, -1)  # (G, o/g, ig*K)
    bound = _partial_bound(xs, w)
    if bound < _EXACT_F64:
        acc = np.einsum("...gk,gok->...go", win.astype(np.float64), wg.astype(np.float64),
                        optimize=True).astype(np.int64)
    else:
        acc = np.einsum("...gk,gok->...go", win, wg)
    acc = acc.reshape((b,) + out_sp + (o,))
    return [acc if op.channels_last else np.moveaxis(acc, -1, 1)]


def _deform_conv(op: ops.DeformConv, ins, specs):
    from .units import dswg

    last = [x if op.channels_last else np.moveaxis(x, 1, -1) for x in ins]
    sampler = op.sampler(specs[0], specs[2] if len(specs) > 2 else None)
    win = dswg.sample(sampler, last[0], last[1], last[2] if len(last) > 2 else None)
    w = op.dense_weight()
    bound = int(np.abs(w).sum(axis=1).max(initial=0)) * int(np.abs(win).max(initial=0))
    acc = int_matmul(win, w.T, bound)
    return [acc if op.channels_last else np.moveaxis(acc, -1, 1)]


def _pool(op: ops.Pool, ins, specs):
    x = _channels_first(ins[0], op.channels_last)
    nd = len(op.kernel)
    axes = tuple(range(-nd, 0))
    if op.reduce == "max":
        pad = MAX_POOL_PAD if op.pad_value is None else op.pad_value
        win = windows(x, op.kernel, op.strides, op.pads, op.dilations, pad, op.ceil_mode)
        y = win.max(axis=axes)
    else:
        pad = 0 if op.pad_value is None else op.pad_value
        win = windows(x, op.kernel, op.strides, op.pads, op.dilations, pad, op.ceil_mode)
        y = win.sum(axis=axes, dtype=np.int64)
    return [_channels_back(y, op.channels_last)]


def _add(op, ins, specs):
    return [real(ins[0], specs[0]) + real(ins[1], specs[1])]


def _concat(op: ops.Concat, ins, specs):
    if any(s is None for s in specs):
        return [np.concatenate([real(v, s) for v, s in zip(ins, specs)], axis=op.axis + 1)]
    return [np.concatenate(ins, axis=op.axis + 1)]


def step_apply(step: ops.Step, x: np.ndarray) -> np.ndarray:
    """One float64 elementwise step on a batch-first array."""
    c = step.consts
    f = step.fn
    if f == "mul":
        return x * c[0]
    if f == "div":
        return x / c[0]
    if f == "add":
        return x + c[0]
    if f == "sub":
        return x - c[0]
    if f == "rsub":
        return c[0] - x
    if f == "neg":
        return -x
    if f == "batchnorm":  # consts: scale, bias, mean, var, eps (ONNX order of evaluation)
        scale, bias, mean, var, eps = c
        return (x - mean) / np.sqrt(var + eps) * scale + bias
    if f == "relu":
        return np.maximum(x, 0.0)
    if f == "clip":
        return np.minimum(np.maximum(x, c[0]), c[1])
    if f == "max":
        return np.maximum(x, c[0])
    if f == "min":
        return np.minimum(x, c[0])
    if f == "leakyrelu":
        return np.where(x < 0.0, x * c[0], x)
    if f == "sigmoid":
        with np.errstate(over="ignore"):  # exp(-x) = inf for x < -709: the result is 0
            return 1.0 / (1.0 + np.exp(-x))
    if f == "tanh":
        return np.tanh(x)
    if f == "hardsigmoid":
        return np.maximum(0.0, np.minimum(1.0, c[0] * x + c[1]))
    if f == "sign":
        return np.sign(x)
    raise InternalError(f"unhandled elementwise step {f}")


def apply_steps(steps, x: np.ndarray) -> np.ndarray:
    for s in steps:
        x = step_apply(s, x)
    return x


def _elementwise(op: ops.Elementwise, ins, specs):
    return [apply_steps(op.steps, real(ins[0], specs[0]))]


def _reshape(op: ops.Reshape, ins, specs):
    return [ins[0].reshape((ins[0].shape[0],) + tuple(op.shape))]


def _slice(op: ops.Slice, ins, specs):
    idx = [slice(None)] * ins[0].ndim
    idx[op.axis % (ins[0].ndim - 1) + 1] = slice(op.start, op.stop)
    return [ins[0][tuple(idx)]]


def _transpose(op: ops.Transpose, ins, specs):
    return [ins[0].transpose((0,) + tuple(p + 1 for p in op.perm))]


def _pad(op: ops.Pad, ins, specs):
    x, xs = ins[0], specs[0]
    nd = x.ndim - 1
    width = [(0, 0)] + [(op.pads[i], op.pads[nd + i]) for i in range(nd)]
    if xs is None:
        return [np.pad(x, width, constant_values=op.value)]
    code = op.value / xs.scale[0] + xs.zero_point[0]
    return [np.pad(x, width, constant_values=int(code))]


def _softmax(op: ops.Softmax, ins, specs):
    x = real(ins[0], specs[0])
    e = np.exp(x - x.max(axis=op.axis + 1, keepdims=True))
    return [e / e.sum(axis=op.axis + 1, keepdims=True)]


def _argmax(op: ops.ArgMax, ins, specs):
    x, xs = ins[0], specs[0]
    if xs is None or xs.per_channel:
        x = real(x, xs)
    return [units.argmax.top_indices(x, op.axis + 1, op.k, op.keepdims)]


def _relabel(op, ins, specs):
    return [ins[0]]


def _multithreshold(op: ops.MultiThreshold, ins, specs):
    x = np.moveaxis(real(ins[0], specs[0]), op.axis + 1, -1)[..., None]  # (..., C, 1)
    count = (x >= op.thresholds).sum(axis=-1, dtype=np.int64)
    return [np.moveaxis(count, -1, op.axis + 1)]


MODEL_OPS = {
    ops.Relabel: _relabel,
    ops.MultiThreshold: _multithreshold,
    ops.Quantize: _quantize,
    ops.Trunc: _trunc,
    ops.Dense: _dense,
    ops.Conv: _conv,
    ops.DeformConv: _deform_conv,
    ops.Pool: _pool,
    ops.Add: _add,
    ops.Concat: _concat,
    ops.Elementwise: _elementwise,
    ops.Reshape: _reshape,
    ops.Transpose: _transpose,
    ops.Slice: _slice,
    ops.Pad: _pad,
    ops.Softmax: _softmax,
    ops.ArgMax: _argmax,
}


# -- running a graph --------------------------------------------------------------------------

def evaluate(graph: Graph, inputs: dict, keep: bool = False) -> dict:
    """Values (codes or floats) of the graph outputs, or of every tensor with ``keep``."""
    env = dict(inputs)
    last_use = {}
    for i, node in enumerate(graph.nodes):
        for t in node.inputs:
            last_use[t] = i
    for i, node in enumerate(graph.nodes):
        specs = [graph.tensors[t].quant for t in node.inputs]
        args = [env[t] for t in node.inputs]
        fn = MODEL_OPS.get(type(node.op))
        if fn is not None:
            outs = fn(node.op, args, specs)
        else:
            unit = units.unit_of(node.op)
            outs = unit.golden(node.op, *args)
        for name, value in zip(node.outputs, outs):
            env[name] = value
        if not keep:
            for t in node.inputs:
                if last_use.get(t) == i and t not in graph.outputs:
                    env.pop(t, None)
    return env if keep else {o: env[o] for o in graph.outputs}


def check_inputs(graph: Graph, arrays: list) -> dict:
    """Map float arrays (batch first) to graph inputs, checking count, shape and values."""
    if len(arrays) != len(graph.inputs):
        raise ModelError(f"model {graph.name} takes {len(graph.inputs)} inputs, got {len(arrays)}")
    feed = {}
    for name, arr in zip(graph.inputs, arrays):
        arr = np.asarray(arr)
        want = graph.tensors[name].shape
        if arr.ndim == len(want):
            arr = arr[None]
        if arr.shape[1:] != want:
            raise ModelError(f"input {name}: expected shape (batch, {', '.join(map(str, want))}), "
                             f"got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number):
            raise ModelError(f"input {name}: expected numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise ModelError(f"input {name}: contains NaN or Inf")
        feed[name] = arr
    return feed


def run(graph: Graph, *arrays) -> list:
    """Float outputs (dequantized, float64) of the graph for batch-first float inputs."""
    env = evaluate(graph, check_inputs(graph, list(arrays)))
    return [real(env[o], graph.tensors[o].quant) for o in graph.outputs]
