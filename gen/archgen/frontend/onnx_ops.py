"""One importer per ONNX op, in explicit tables keyed by (domain, op_type).

``IMPORTERS`` handle nodes with a dynamic input; ``CONST_IMPORTERS`` handle nodes whose
inputs are all constant when folding them needs more than onnx's reference evaluator
(quantizers of weights become integer codes).
"""

from __future__ import annotations


import numpy as np

from ..ir import ops
from ..ir.types import QuantSpec
from .onnx import QONNX_DOMAINS, Const, Importer, QConst, _fold
from .onnx_deform import imp_deformconv
from .onnx_slice import imp_slice, imp_split
from .onnx_quant import (const_bipolar, const_dequantizelinear, const_quant, const_quantizelinear,
                         imp_bipolar, imp_dequantizelinear, imp_multithreshold, imp_quant,
                         imp_quantizelinear, imp_trunc, norm_axis, qdq_spec, qlinear_weight_spec,
                         quantize_const, relabel_to, spec_for_axis)

# -- helpers ------------------------------------------------------------------------------


def _float_layer(imp: Importer, i_w: int, i_b: int | None, out_axis: int):
    """Float weights of a layer, quantized by archgen the way hls4ml does it: a batch
    norm that alone reads the layer's output is folded into the float weights and bias
    first (and then skipped), weights are quantized at the configured precision, and the
    bias is rounded to the accumulator's grid so the layer stays exact integer math.

    Returns (QConst weights, float bias or None, bias already on the grid: bool).
    """
    w = np.asarray(imp.const(i_w, "weight"), dtype=np.float64)
    b = np.asarray(imp.const(i_b, "bias"), dtype=np.float64) if i_b is not None and \
        imp.has_input(i_b) else None
    readers = imp.readers.get(imp.node.output[0], [])
    if len(readers) == 1 and readers[0].op_type == "BatchNormalization":
        bn = readers[0]
        vals = [imp.values.get(n) for n in bn.input[1:5]]
        if all(isinstance(v, Const) for v in vals):
            gamma, beta, mean, var = (np.asarray(v.value, dtype=np.float64) for v in vals)
            eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
            k = gamma / np.sqrt(var + eps)
            shape = [1] * w.ndim
            shape[out_axis] = -1
            w = w * k.reshape(shape)
            b = ((b if b is not None else 0.0) - mean) * k + beta
            imp.bn_folded = bn  # its output becomes the layer's, in _finish_float_layer
    spec = imp.config.weight_precision_for(imp.layer)
    return quantize_const(imp, w, spec), b


def _finish_float_layer(imp: Importer, acc: str, bias, bias_shape):
    """Bias on the accumulator grid, then alias a folded batch norm's output."""
    out = acc
    if bias is not None:
        scale = np.asarray(imp.tensors[acc].quant.scale).reshape(bias_shape)
        grid = np.round(bias.reshape(bias_shape) / scale) * scale
        out = imp.chain(acc, [ops.Step("add", (grid,))], imp.node_name + "_bias")
    if imp.bn_folded is not None:
        imp.absorbed[id(imp.bn_folded)] = out
        imp.bn_folded = None
    return out


def _weight(imp: Importer, i: int) -> QConst:
    """A weight input as codes: quantized in-graph, or float quantized at the config."""
    q = imp.qconst(i)
    if q is not None:
        return q
    w = imp.const(i, "weight")
    spec = imp.config.weight_precision_for(imp.layer)
    return quantize_const(imp, np.asarray(w, dtype=np.float64), spec)


def _sample_axis(imp, axis: int, t) -> int:
    a = norm_axis(imp, axis, len(t.shape) + 1)
    if a == 0:
        raise imp.unsupported("operating along the batch axis is not supported")
    return a - 1


# -- quantizers ---------------------------------------------------------------------------


# -- linear layers ------------------------------------------------------------------------


def _dense(imp: Importer, x, w: QConst, name=None) -> str:
    """Dense with weight codes (N, K) whose per-channel axis is 0 (or per tensor)."""
    return imp.emit_out(ops.Dense(ops.const(w.codes, np.int64), w.spec), [x.name], name)


def _transpose_q(q: QConst) -> QConst:
    return QConst(q.codes.T, spec_for_axis(q.spec, lambda a: 1 - a))


def imp_gemm(imp: Importer, node, attrs):
    if attrs.get("transA", 0):
        raise imp.unsupported("transA=1")
    x = imp.codes(0)
    if imp.qconst(1) is None and float(attrs.get("alpha", 1.0)) == 1.0 and \
            float(attrs.get("beta", 1.0)) == 1.0:  # a float layer: archgen quantizes it
        w, bias = _float_layer(imp, 1, 2, 0 if attrs.get("transB", 0) else 1)
        if w.codes.ndim != 2:
            raise imp.unsupported(f"weight must be 2-D, got {w.codes.shape}")
        acc = _dense(imp, x, w if attrs.get("transB", 0) else _transpose_q(w))
        _finish_float_layer(imp, acc, bias, (-1,))
        return
    w = _weight(imp, 1)
    if w.codes.ndim != 2:
        raise imp.unsupported(f"weight must be 2-D, got {w.codes.shape}")
    if not attrs.get("transB", 0):
        w = _transpose_q(w)
    acc = _dense(imp, x, w)
    steps = []
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    if alpha != 1.0:
        steps.append(ops.Step("mul", (np.array(alpha),)))
    if imp.has_input(2):
        bias = np.asarray(imp.const(2, "bias"), dtype=np.float64)
        if beta != 1.0:
            bias = bias * beta
        steps.append(ops.Step("add", (imp.per_sample(bias, imp.tensors[acc]),)))
    if steps:
        imp.chain(acc, steps, imp.node_name + "_bias")


def imp_matmul(imp: Importer, node, attrs):
    if imp.is_const(0):
        raise imp.unsupported("MatMul with a constant left operand")
    if not imp.is_const(1):
        raise imp.unsupported("MatMul of two tensors (only tensor x constant weight)")
    x = imp.codes(0)
    w = _weight(imp, 1)
    if w.codes.ndim != 2:
        raise imp.unsupported(f"weight must be 2-D, got {w.codes.shape}")
    _dense(imp, x, _transpose_q(w))


def imp_matmulinteger(imp: Importer, node, attrs):
    x = imp.dyn(0)
    if x.quant is None:
        raise imp.unsupported("MatMulInteger of a float tensor")
    azp = imp.const(2, "a zero point") if imp.has_input(2) else np.zeros(1)
    xspec = x.quant.with_(scale=(1.0,), zero_point=np.asarray(azp).reshape(-1)[:1].astype(np.int64),
                          axis=None)
    xr = imp.tensors[imp.emit(ops.Relabel(xspec), [x.name], [x.name + "_int"])[0]]
    b = imp.get(node.input[1])
    codes = np.asarray(b.codes if isinstance(b, QConst) else imp.const(1)).astype(np.int64)
    bzp = np.asarray(imp.const(3, "b zero point")) if imp.has_input(3) else np.zeros(1)
    wspec = QuantSpec(bits=8, signed=codes.min() < 0, zero_point=bzp.reshape(-1).astype(np.int64),
                      axis=0 if bzp.size > 1 else None)
    _dense(imp, xr, QConst(codes.T, wspec))


def _conv_geometry(imp: Importer, attrs, spatial, kernel):
    nd = len(kernel)
    strides = tuple(attrs.get("strides", [1] * nd))
    dil = tuple(attrs.get("dilations", [1] * nd))
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        pads = tuple(attrs.get("pads", [0] * (2 * nd)))
    elif auto == "VALID":
        pads = (0,) * (2 * nd)
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for i in range(nd):
            out = -(-spatial[i] // strides[i])
            total = max(0, (out - 1) * strides[i] + dil[i] * (kernel[i] - 1) + 1 - spatial[i])
            small, big = total // 2, total - total // 2
            begin.append(small if auto == "SAME_UPPER" else big)
            end.append(big if auto == "SAME_UPPER" else small)
        pads = tuple(begin + end)
    else:
        raise imp.unsupported(f"auto_pad={auto}")
    if len(strides) != nd or len(dil) != nd or len(pads) != 2 * nd:
        raise imp.error("strides, dilations or pads do not match the kernel rank")
    if any(s < 1 for s in strides) or any(d < 1 for d in dil) or any(p < 0 for p in pads):
        raise imp.unsupported(f"strides {strides}, dilations {dil}, pads {pads}")
    return strides, pads, dil


def imp_conv(imp: Importer, node, attrs):
    x = imp.codes(0)
    float_bias = None
    if imp.qconst(1) is None:  # a float layer: archgen quantizes it
        w, float_bias = _float_layer(imp, 1, 2, 0)
    else:
        w = _weight(imp, 1)
    if w.codes.ndim != len(x.shape) + 1 or w.codes.ndim not in (3, 4):
        raise imp.unsupported(f"{w.codes.ndim - 2}-D convolution of a {len(x.shape) - 1}-D input "
                              "(supported: 1-D and 2-D)")
    if w.spec.per_channel and w.spec.axis != 0:
        raise imp.unsupported("weights quantized per input channel")
    kernel = w.codes.shape[2:]
    strides, pads, dil = _conv_geometry(imp, attrs, x.shape[1:], kernel)
    group = int(attrs.get("group", 1))
    acc = imp.emit_out(ops.Conv(ops.const(w.codes, np.int64), w.spec, strides, pads, dil, group),
                       [x.name])
    if imp.qconst(1) is None:
        _finish_float_layer(imp, acc, float_bias, (-1,) + (1,) * len(kernel))
        return
    if imp.has_input(2):
        bias = np.asarray(imp.const(2, "bias"), dtype=np.float64).reshape((-1,) + (1,) * len(kernel))
        imp.chain(acc, [ops.Step("add", (bias,))], imp.node_name + "_bias")


def imp_convinteger(imp: Importer, node, attrs):
    x = imp.dyn(0)
    if x.quant is None:
        raise imp.unsupported("ConvInteger of a float tensor")
    xzp = imp.const(2, "x zero point") if imp.has_input(2) else np.zeros(1)
    xspec = x.quant.with_(scale=(1.0,), zero_point=np.asarray(xzp).reshape(-1)[:1].astype(np.int64),
                          axis=None)
    xr = imp.tensors[imp.emit(ops.Relabel(xspec), [x.name], [x.name + "_int"])[0]]
    b = imp.get(node.input[1])
    codes = np.asarray(b.codes if isinstance(b, QConst) else imp.const(1)).astype(np.int64)
    wzp = np.asarray(imp.const(3, "w zero point")) if imp.has_input(3) else np.zeros(1)
    wspec = QuantSpec(bits=8, signed=codes.min() < 0, zero_point=wzp.reshape(-1).astype(np.int64),
                      axis=0 if wzp.size > 1 else None)
    kernel = codes.shape[2:]
    strides, pads, dil = _conv_geometry(imp, attrs, x.shape[1:], kernel)
    imp.emit_out(ops.Conv(ops.const(codes), wspec, strides, pads, dil, int(attrs.get("group", 1))),
                 [xr.name])


def _qlinear_common(imp, x_i, xs_i, xz_i, w_i, ws_i, wz_i):
    x = imp.dyn(x_i)
    if x.quant is None:
        raise imp.unsupported("input is not quantized")
    xspec = qdq_spec(imp, x.shape, xs_i, xz_i, {})
    if xspec.scale != x.quant.scale or xspec.zero_point != x.quant.zero_point:
        x = imp.tensors[imp.emit(ops.Relabel(xspec), [x.name], [x.name + "_rl"])[0]]
    wv = imp.get(imp.node.input[w_i])
    codes = np.asarray(wv.codes if isinstance(wv, QConst) else wv.value).astype(np.int64)
    saved = imp.node
    wspec = qlinear_weight_spec(imp, codes, ws_i, wz_i)
    imp.node = saved
    return x, codes, wspec


def _requant_out(imp, acc, extra_steps, ys_i, yz_i):
    t = imp.tensors[acc]
    spec = qdq_spec(imp, t.shape, ys_i, yz_i, {})
    src = acc
    if extra_steps:
        src = imp.emit(ops.Elementwise(tuple(extra_steps)), [acc], [acc + "_b"],
                       imp.node_name + "_bias")[0]
    imp.emit_out(ops.Quantize(spec, round_first=True), [src], imp.node_name + "_requant")


def imp_qlinearconv(imp: Importer, node, attrs):
    x, codes, wspec = _qlinear_common(imp, 0, 1, 2, 3, 4, 5)
    kernel = codes.shape[2:]
    strides, pads, dil = _conv_geometry(imp, attrs, x.shape[1:], kernel)
    acc = imp.emit(ops.Conv(ops.const(codes), wspec, strides, pads, dil, int(attrs.get("group", 1))),
                   [x.name], [node.output[0] + "_acc"])[0]
    steps = []
    if imp.has_input(8):
        b = np.asarray(imp.const(8, "bias"), dtype=np.float64).reshape((-1,) + (1,) * len(kernel))
        sc = np.asarray(imp.tensors[acc].quant.scale).reshape((-1,) + (1,) * len(kernel))
        steps.append(ops.Step("add", (b * sc,)))
    _requant_out(imp, acc, steps, 6, 7)


def imp_qlinearmatmul(imp: Importer, node, attrs):
    x, codes, wspec = _qlinear_common(imp, 0, 1, 2, 3, 4, 5)
    if codes.ndim != 2:
        raise imp.unsupported(f"weight must be 2-D, got {codes.shape}")
    if wspec.per_channel:
        wspec = wspec.with_(axis=0)
    acc = imp.emit(ops.Dense(ops.const(codes.T), wspec), [x.name], [node.output[0] + "_acc"])[0]
    _requant_out(imp, acc, [], 6, 7)


# -- elementwise ----------------------------------------------------------------------------


def _unary(fn):
    def imp_(imp: Importer, node, attrs):
        t = imp.dyn(0)
        consts = ()
        if fn == "leakyrelu":
            consts = (np.array(float(attrs.get("alpha", 0.01))),)
        elif fn == "hardsigmoid":
            consts = (np.array(float(attrs.get("alpha", 0.2))), np.array(float(attrs.get("beta", 0.5))))
        imp.chain(t.name, [ops.Step(fn, consts)])
    return imp_


def imp_clip(imp: Importer, node, attrs):
    t = imp.dyn(0)
    if "min" in attrs or "max" in attrs:
        lo, hi = attrs.get("min", -np.inf), attrs.get("max", np.inf)
    else:
        lo = imp.scalar(1, "min") if imp.has_input(1) else -np.inf
        hi = imp.scalar(2, "max") if imp.has_input(2) else np.inf
    imp.chain(t.name, [ops.Step("clip", (np.array(float(lo)), np.array(float(hi))))])


def imp_batchnorm(imp: Importer, node, attrs):
    t = imp.dyn(0)
    nd = len(t.shape)
    consts = []
    for i, what in enumerate(("scale", "bias", "mean", "var"), start=1):
        c = np.asarray(imp.const(i, what), dtype=np.float64).reshape((-1,) + (1,) * (nd - 1))
        if c.shape[0] != t.shape[0]:
            raise imp.error(f"{what} has {c.shape[0]} channels, input has {t.shape[0]}")
        consts.append(c)
    if np.any(consts[3] + float(attrs.get("epsilon", 1e-5)) <= 0):
        raise imp.error("variance + epsilon is not positive")
    consts.append(np.array(float(attrs.get("epsilon", 1e-5))))
    imp.chain(t.name, [ops.Step("batchnorm", tuple(consts))])


def _binary(fn):
    def imp_(imp: Importer, node, attrs):
        c0, c1 = imp.is_const(0), imp.is_const(1)
        if not c0 and not c1:
            a, b = imp.dyn(0), imp.dyn(1)
            if fn == "add":
                if a.shape != b.shape:
                    raise imp.unsupported(f"Add of tensors of shapes {a.shape} and {b.shape}")
                imp.emit_out(ops.Add(), [a.name, b.name])
                return
            raise imp.unsupported(f"{node.op_type} of two tensors (only Add is supported)")
        t = imp.dyn(1 if c0 else 0)
        c = imp.per_sample(imp.const(0 if c0 else 1), t)
        name = fn
        if c0 and fn == "sub":
            name = "rsub"
        elif c0 and fn == "div":
            raise imp.unsupported("division of a constant by a tensor")
        if fn == "div" and np.any(c == 0):
            raise imp.error("division by zero")
        imp.chain(t.name, [ops.Step(name, (c,))])
    return imp_


# -- pooling --------------------------------------------------------------------------------


def _pool_attrs(imp, attrs, t):
    kernel = tuple(attrs.get("kernel_shape", ()))
    if len(kernel) != len(t.shape) - 1:
        raise imp.unsupported(f"kernel_shape {kernel} for input {t.shape}")
    strides, pads, dil = _conv_geometry(imp, attrs, t.shape[1:], kernel)
    return kernel, strides, pads, dil, bool(attrs.get("ceil_mode", 0))


def imp_maxpool(imp: Importer, node, attrs):
    x = imp.codes(0)
    if len(node.output) > 1 and node.output[1]:
        raise imp.unsupported("MaxPool indices output")
    if x.quant.per_channel and any(s <= 0 for s in x.quant.scale):
        raise imp.unsupported("MaxPool of negatively scaled codes")
    kernel, strides, pads, dil, ceil = _pool_attrs(imp, attrs, x)
    imp.emit_out(ops.Pool("max", kernel, strides, pads, dil, ceil), [x.name])


def _sum_then_divide(imp, x, kernel, strides, pads, dil, ceil, count_pads, hint) -> str:
    """Average pooling as an integer window sum and a float division (absorbed later)."""
    if x.quant.has_zero_point and (any(pads) or ceil):
        raise imp.unsupported("padded average pooling of codes with a zero point")
    pool = ops.Pool("sum", kernel, strides, pads, dil, ceil)
    acc = imp.emit(pool, [x.name], [hint + "_sum"])[0]
    n = int(np.prod(kernel))
    div = np.array(float(n))
    if any(pads) or ceil:
        from ..golden import windows

        ones = np.ones((1, 1) + x.shape[1:])
        if count_pads:
            nd = len(kernel)
            ones = np.pad(ones, [(0, 0), (0, 0)] + [(pads[i], pads[nd + i]) for i in range(nd)],
                          constant_values=1)
            pads = (0,) * len(pads)
        counts = windows(ones, kernel, strides, pads, dil, 0, ceil).sum(
            axis=tuple(range(-len(kernel), 0)))[0]
        if not np.all(counts == n):
            div = counts.astype(np.float64)
    return imp.emit(ops.Elementwise((ops.Step("div", (div,)),)), [acc], [hint])[0]


def _global_pool(imp, x, reduce, hint) -> str:
    k = x.shape[1:]
    nd = len(k)
    if reduce == "max":
        return imp.emit(ops.Pool("max", k, (1,) * nd, (0,) * (2 * nd)), [x.name], [hint])[0]
    return _sum_then_divide(imp, x, k, (1,) * nd, (0,) * (2 * nd), (1,) * nd, False, False, hint)


def imp_avgpool(imp: Importer, node, attrs):
    x = imp.codes(0)
    kernel, strides, pads, dil, ceil = _pool_attrs(imp, attrs, x)
    imp.set_out(_sum_then_divide(imp, x, kernel, strides, pads, dil, ceil,
                                 bool(attrs.get("count_include_pad", 0)), node.output[0]))


def imp_globalavgpool(imp: Importer, node, attrs):
    imp.set_out(_global_pool(imp, imp.codes(0), "sum", node.output[0]))


def imp_globalmaxpool(imp: Importer, node, attrs):
    imp.set_out(_global_pool(imp, imp.codes(0), "max", node.output[0]))


# -- data movement --------------------------------------------------------------------------


def _identity(imp: Importer, node, attrs):
    imp.set_out(imp.get(node.input[0]))
    for k in range(1, len(node.output)):
        if node.output[k]:
            raise imp.unsupported("Dropout mask output")


def imp_concat(imp: Importer, node, attrs):
    ts = [imp.dyn(i) for i in range(len(node.input))]
    axis = _sample_axis(imp, int(attrs["axis"]), ts[0])
    imp.emit_out(ops.Concat(axis), [t.name for t in ts])


def _reshape_to(imp: Importer, t, shape):
    shape = tuple(int(d) for d in shape)
    if shape == t.shape:
        imp.set_out(t.name)
    else:
        imp.emit_out(ops.Reshape(shape), [t.name])


def imp_flatten(imp: Importer, node, attrs):
    t = imp.dyn(0)
    axis = norm_axis(imp, int(attrs.get("axis", 1)), len(t.shape) + 1)
    if axis == 0:
        raise imp.unsupported("Flatten with axis 0 merges the batch")
    full = (1,) + t.shape
    inner = (int(np.prod(full[1:axis])), int(np.prod(full[axis:])))
    _reshape_to(imp, t, inner[1:] if axis == 1 else inner)


def imp_reshape(imp: Importer, node, attrs):
    t = imp.dyn(0)
    target = [int(d) for d in np.asarray(imp.const(1, "shape")).reshape(-1)]
    full = (1,) + t.shape
    if attrs.get("allowzero", 0) and 0 in target:
        raise imp.unsupported("allowzero=1")
    target = [full[i] if d == 0 else d for i, d in enumerate(target)]
    if target.count(-1) > 1:
        raise imp.error(f"reshape target {target} has two -1")
    if -1 in target:
        known = int(np.prod([d for d in target if d != -1]))
        target[target.index(-1)] = t.size // max(known, 1)
    if int(np.prod(target)) != t.size or target[0] != 1:
        raise imp.unsupported(f"reshape of {full} to {target} does not keep the batch first")
    _reshape_to(imp, t, target[1:])


def imp_squeeze(imp: Importer, node, attrs):
    t = imp.dyn(0)
    axes = attrs.get("axes")
    if axes is None and imp.has_input(1):
        axes = [int(a) for a in np.asarray(imp.const(1, "axes")).reshape(-1)]
    full = list((1,) + t.shape)
    nd = len(full)
    if axes is None:
        axes = [i for i in range(1, nd) if full[i] == 1]
    axes = sorted({norm_axis(imp, a, nd) for a in axes})
    if 0 in axes or any(full[a] != 1 for a in axes):
        raise imp.unsupported(f"squeeze of axes {axes} of shape {tuple(full)}")
    _reshape_to(imp, t, [d for i, d in enumerate(full) if i not in axes][1:])


def imp_unsqueeze(imp: Importer, node, attrs):
    t = imp.dyn(0)
    axes = attrs.get("axes")
    if axes is None:
        axes = [int(a) for a in np.asarray(imp.const(1, "axes")).reshape(-1)]
    nd = len(t.shape) + 1 + len(axes)
    axes = sorted(norm_axis(imp, a, nd) for a in axes)
    if 0 in axes:
        raise imp.unsupported("unsqueeze before the batch axis")
    out = list((1,) + t.shape)
    for a in axes:
        out.insert(a, 1)
    _reshape_to(imp, t, out[1:])


def imp_transpose(imp: Importer, node, attrs):
    t = imp.dyn(0)
    nd = len(t.shape) + 1
    perm = list(attrs.get("perm", list(range(nd))[::-1]))
    if perm[0] != 0:
        raise imp.unsupported(f"transpose {perm} moves the batch axis")
    sp = tuple(p - 1 for p in perm[1:])
    if sp == tuple(range(nd - 1)):
        imp.set_out(t.name)
    else:
        imp.emit_out(ops.Transpose(sp), [t.name])


def const_view(imp: Importer, node, attrs):
    """Transpose/Reshape/Flatten/Squeeze/Unsqueeze/Identity of a constant; keeps codes."""
    q = imp.qconst(0)
    if q is None:
        _fold(imp, node, attrs)
        return
    if node.op_type == "Identity":
        imp.set_out(q)
        return
    if node.op_type == "Transpose":
        perm = list(attrs.get("perm", list(range(q.codes.ndim))[::-1]))
        spec = spec_for_axis(q.spec, lambda a: perm.index(a))
        imp.set_out(QConst(q.codes.transpose(perm), spec))
        return
    if q.spec.per_channel:
        raise imp.unsupported("reshaping a weight quantized per channel")
    saved = imp.values[node.input[0]]
    imp.values[node.input[0]] = Const(q.codes.astype(np.float64))
    _fold(imp, node, attrs)
    codes = imp.values[node.output[0]].value.astype(np.int64)
    imp.values[node.input[0]] = saved
    imp.set_out(QConst(codes, q.spec))


def imp_pad(imp: Importer, node, attrs):
    t = imp.dyn(0)
    if attrs.get("mode", "constant") != "constant":
        raise imp.unsupported(f"pad mode {attrs['mode']!r} (only constant)")
    pads = attrs.get("pads")
    if pads is None:
        pads = [int(p) for p in np.asarray(imp.const(1, "pads")).reshape(-1)]
    value = float(attrs.get("value", 0.0))
    if imp.has_input(2):
        value = imp.scalar(2, "constant value")
    if imp.has_input(3):
        raise imp.unsupported("Pad with axes input")
    nd = len(t.shape) + 1
    if len(pads) != 2 * nd or pads[0] or pads[nd] or any(p < 0 for p in pads):
        raise imp.unsupported(f"pads {pads} (must pad only per-sample axes, non-negatively)")
    sp = tuple(pads[1:nd]) + tuple(pads[nd + 1:])
    if t.quant is not None:
        code = value / t.quant.scale[0] + t.quant.zero_point[0]
        if t.quant.per_channel or code != round(code) or not t.quant.lo <= code <= t.quant.hi:
            raise imp.unsupported(f"pad value {value} is not a code of {t.quant}")
    imp.emit_out(ops.Pad(sp, value), [t.name])


def imp_shape(imp: Importer, node, attrs):
    t = imp.dyn(0)
    full = np.array((1,) + t.shape, dtype=np.int64)
    start, end = attrs.get("start", 0), attrs.get("end", None)
    imp.set_out(Const(full[start:end]))


def imp_softmax(imp: Importer, node, attrs):
    t = imp.dyn(0)
    default = -1 if imp.opset >= 13 else 1
    axis = _sample_axis(imp, int(attrs.get("axis", default)), t)
    if imp.opset < 13 and axis != len(t.shape) - 1:
        raise imp.unsupported("Softmax (opset < 13) over several axes")
    imp.emit_out(ops.Softmax(axis), [t.name])


def imp_argmax(imp: Importer, node, attrs):
    t = imp.dyn(0)
    if attrs.get("select_last_index", 0):
        raise imp.unsupported("select_last_index=1")
    axis = _sample_axis(imp, int(attrs.get("axis", 0)), t)
    imp.emit_out(ops.ArgMax(axis, bool(attrs.get("keepdims", 1))), [t.name])


def imp_topk(imp: Importer, node, attrs):
    """TopK as a label select: only its Indices may be used (the k largest along the axis,
    largest first, the lower index first on ties, as onnxruntime computes them)."""
    t = imp.dyn(0)
    values = node.output[0]
    readers = [r.name or r.op_type for r in imp.readers.get(values, [])] if values else []
    if values and (values in imp.graph_outputs or readers):
        where = "a graph output" if values in imp.graph_outputs else f"read by {', '.join(readers)}"
        raise imp.unsupported(f"its Values output {values!r} is used ({where}); only the "
                              "Indices of a TopK can be computed in hardware (a label "
                              "select): use only the Indices output")
    if len(node.output) < 2 or not node.output[1]:
        raise imp.unsupported("no Indices output (only the Indices can be computed)")
    if int(attrs.get("largest", 1)) != 1:
        raise imp.unsupported("largest=0 (the k smallest) is not supported; supported: "
                              "largest=1")
    # sorted=0 allows any order of the k indices: the sorted order is one of them
    axis = _sample_axis(imp, int(attrs.get("axis", -1)), t)
    kv = np.asarray(attrs.get("k", 0) if imp.opset < 10 else imp.const(1, "K")).reshape(-1)
    n = t.shape[axis]
    if kv.size != 1 or kv[0] != int(kv[0]) or not 1 <= int(kv[0]) <= n:
        raise imp.error(f"K={kv.tolist()} must be one integer in 1..{n} (the size of axis "
                        f"{axis + 1})")
    out = imp.emit(ops.ArgMax(axis, True, int(kv[0])), [t.name], [node.output[1]])[0]
    imp.set_out(out, 1)


def imp_cast(imp: Importer, node, attrs):
    from onnx import TensorProto

    if attrs.get("to") not in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16):
        raise imp.unsupported("Cast to a non-float type")
    imp.set_out(imp.dyn(0).name)


def _reduce_axes(imp: Importer, attrs, t):
    axes = attrs.get("axes")
    if axes is None and imp.has_input(1):
        axes = [int(a) for a in np.asarray(imp.const(1, "axes")).reshape(-1)]
    nd = len(t.shape) + 1
    if axes is None:
        axes = list(range(nd))
    return sorted(norm_axis(imp, a, nd) for a in axes)


def _reduce(kind):
    def imp_(imp: Importer, node, attrs):
        t = imp.dyn(0)
        axes = _reduce_axes(imp, attrs, t)
        nd = len(t.shape) + 1
        if axes != list(range(2, nd)) or nd < 3:
            raise imp.unsupported(f"reduction over axes {axes} (supported: all spatial axes of "
                                  "an (N, C, ...) tensor, i.e. global pooling)")
        x = imp.codes(0)
        if attrs.get("keepdims", 1):
            imp.set_out(_global_pool(imp, x, kind, node.output[0]))
        else:
            pooled = _global_pool(imp, x, kind, node.output[0] + "_keep")
            imp.emit_out(ops.Reshape((t.shape[0],)), [pooled])
    return imp_


def imp_qlinearadd(imp: Importer, node, attrs):
    a = relabel_to(imp, imp.dyn(0), qdq_spec(imp, imp.dyn(0).shape, 1, 2, {}))
    b = relabel_to(imp, imp.dyn(3), qdq_spec(imp, imp.dyn(3).shape, 4, 5, {}))
    if a.shape != b.shape:
        raise imp.unsupported(f"QLinearAdd of shapes {a.shape} and {b.shape}")
    s = imp.emit(ops.Add(), [a.name, b.name], [node.output[0] + "_sum"])[0]
    _requant_out(imp, s, [], 6, 7)


def imp_qlinear_gap(imp: Importer, node, attrs):
    if attrs.get("channels_last", 0):
        raise imp.unsupported("channels_last=1")
    x = relabel_to(imp, imp.dyn(0), qdq_spec(imp, imp.dyn(0).shape, 1, 2, {}))
    avg = _global_pool(imp, x, "sum", node.output[0] + "_avg")
    _requant_out(imp, avg, [], 3, 4)


def imp_qgemm(imp: Importer, node, attrs):
    if attrs.get("transA", 0):
        raise imp.unsupported("transA=1")
    x, codes, wspec = _qlinear_common(imp, 0, 1, 2, 3, 4, 5)
    if not attrs.get("transB", 0):
        codes = codes.T
    if wspec.per_channel:
        wspec = wspec.with_(axis=0)
    acc = imp.emit(ops.Dense(ops.const(codes), wspec), [x.name], [node.output[0] + "_acc"])[0]
    steps = []
    alpha = float(attrs.get("alpha", 1.0))
    if alpha != 1.0:
        steps.append(ops.Step("mul", (np.array(alpha),)))
    if imp.has_input(6):
        bias = np.asarray(imp.const(6, "bias"), dtype=np.float64)
        steps.append(ops.Step("add", (bias * np.asarray(imp.tensors[acc].quant.scale) * alpha,)))
    if imp.has_input(7):
        _requant_out(imp, acc, steps, 7, 8)
    elif steps:
        imp.chain(acc, steps)
    else:
        imp.set_out(acc)


# -- the tables ------------------------------------------------------------------------------

_STANDARD = {
    "Gemm": imp_gemm, "MatMul": imp_matmul, "Conv": imp_conv, "DeformConv": imp_deformconv,
    "MatMulInteger": imp_matmulinteger, "ConvInteger": imp_convinteger,
    "QLinearConv": imp_qlinearconv, "QLinearMatMul": imp_qlinearmatmul,
    "QuantizeLinear": imp_quantizelinear, "DequantizeLinear": imp_dequantizelinear,
    "BatchNormalization": imp_batchnorm,
    "Relu": _unary("relu"), "LeakyRelu": _unary("leakyrelu"), "Sigmoid": _unary("sigmoid"),
    "Tanh": _unary("tanh"), "HardSigmoid": _unary("hardsigmoid"), "Sign": _unary("sign"),
    "Neg": _unary("neg"), "Clip": imp_clip,
    "Add": _binary("add"), "Sub": _binary("sub"), "Mul": _binary("mul"), "Div": _binary("div"),
    "MaxPool": imp_maxpool, "AveragePool": imp_avgpool,
    "GlobalAveragePool": imp_globalavgpool, "GlobalMaxPool": imp_globalmaxpool,
    "Concat": imp_concat, "Flatten": imp_flatten, "Reshape": imp_reshape,
    "Slice": imp_slice, "Split": imp_split,
    "Squeeze": imp_squeeze, "Unsqueeze": imp_unsqueeze, "Transpose": imp_transpose,
    "Pad": imp_pad, "Identity": _identity, "Dropout": _identity, "Cast": imp_cast,
    "Shape": imp_shape, "Softmax": imp_softmax, "ArgMax": imp_argmax, "TopK": imp_topk,
    "ReduceMean": _reduce("sum"), "ReduceMax": _reduce("max"),
}

_MICROSOFT = {"QLinearAdd": imp_qlinearadd, "QLinearGlobalAveragePool": imp_qlinear_gap,
              "QGemm": imp_qgemm}

_QONNX = {"Quant": imp_quant, "BipolarQuant": imp_bipolar, "Trunc": imp_trunc,
          "MultiThreshold": imp_multithreshold}

IMPORTERS = {("", k): v for k, v in _STANDARD.items()}
IMPORTERS.update({(d, k): v for d in QONNX_DOMAINS for k, v in _QONNX.items()})
IMPORTERS.update({("com.microsoft", k): v for k, v in _MICROSOFT.items()})

CONST_IMPORTERS = {("", "QuantizeLinear"): const_quantizelinear,
                   ("", "DequantizeLinear"): const_dequantizelinear}
CONST_IMPORTERS.update({("", k): const_view for k in
                        ("Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity")})
CONST_IMPORTERS.update({(d, "Quant"): const_quant for d in QONNX_DOMAINS})
CONST_IMPORTERS.update({(d, "BipolarQuant"): const_bipolar for d in QONNX_DOMAINS})


def supported() -> str:
    std = sorted(_STANDARD)
    return (", ".join(std) + "; QONNX (" + ", ".join(QONNX_DOMAINS) + "): "
            + ", ".join(sorted(_QONNX)) + "; com.microsoft: " + ", ".join(sorted(_MICROSOFT)))
