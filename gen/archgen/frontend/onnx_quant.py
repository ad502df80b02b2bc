"""Importers of quantizers: QONNX Quant, BipolarQuant, Trunc, MultiThreshold and ONNX
QuantizeLinear/DequantizeLinear, with the quantization helpers the layer importers of
onnx_ops.py share (specs from scale/zero-point inputs, constant weight quantization).
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import ops
from ..ir.types import QuantSpec, RoundMode, round_real
from .onnx import Const, Importer, QConst, axis_of


def round_mode(imp: Importer, text) -> RoundMode:
    if not isinstance(text, str):
        raise imp.error(f"rounding_mode must be a string attribute, got {type(text).__name__}")
    try:
        return RoundMode.parse(text)
    except ValueError as e:
        raise imp.unsupported(str(e)) from None


def int_param(imp: Importer, value: float, what: str) -> int:
    if not math.isfinite(value) or value != int(value):
        raise imp.unsupported(f"{what} must be an integer, got {value}")
    return int(value)


def quant_spec(imp: Importer, shape, scale, zp, bits, signed, narrow, what="Quant") -> QuantSpec:
    if bits < 1 or bits > 32:
        raise imp.unsupported(f"bit width {bits} outside 1..32")
    svals, sax = axis_of(scale, shape, f"{imp.path}: node {imp.node_name} scale")
    zvals, zax = axis_of(zp, shape, f"{imp.path}: node {imp.node_name} zero point")
    if not np.all(np.isfinite(svals)) or np.any(svals <= 0):
        raise imp.error(f"{what} scale must be finite and positive, got {svals[:4]}")
    if np.any(zvals != np.round(zvals)):
        raise imp.unsupported(f"non-integer zero point {zvals[:4]}")
    if sax is not None and zax is not None and sax != zax:
        raise imp.unsupported("scale and zero point vary along different axes")
    axis = sax if sax is not None else zax
    if signed and bits == 1:
        return QuantSpec.bipolar_spec(svals, axis)
    spec = QuantSpec(bits=bits, signed=bool(signed), narrow=bool(narrow), scale=svals,
                     zero_point=np.round(zvals).astype(np.int64), axis=axis)
    for z in spec.zero_point:
        if not spec.lo <= z <= spec.hi:
            raise imp.unsupported(f"zero point {z} outside the {bits}-bit code range")
    return spec


def quantize_const(imp: Importer, x: np.ndarray, spec: QuantSpec, mode=RoundMode.HALF_EVEN,
                    round_first: bool = False) -> QConst:
    from ..ir.types import quantize

    codes = quantize(x[None], spec, mode, round_first)[0]
    return QConst(codes, spec)


def spec_for_axis(spec: QuantSpec, axis_map) -> QuantSpec:
    if not spec.per_channel:
        return spec
    return spec.with_(axis=axis_map(spec.axis))


def norm_axis(imp, axis: int, ndim_full: int) -> int:
    a = axis + ndim_full if axis < 0 else axis
    if not 0 <= a < ndim_full:
        raise imp.unsupported(f"axis {axis} out of range")
    return a


def _qonnx_quant_params(imp: Importer, node, attrs, shape):
    scale = imp.const(1, "scale")
    zp = imp.const(2, "zero point")
    bits = int_param(imp, imp.scalar(3, "bit width"), "bit width")
    spec = quant_spec(imp, shape, scale, zp, bits, attrs.get("signed", 1), attrs.get("narrow", 0))
    return spec, round_mode(imp, attrs.get("rounding_mode", "ROUND"))


def imp_quant(imp: Importer, node, attrs):
    t = imp.dyn(0)
    spec, mode = _qonnx_quant_params(imp, node, attrs, t.shape)
    imp.emit_out(ops.Quantize(spec, mode), [t.name])


def const_quant(imp: Importer, node, attrs):
    x = np.asarray(imp.const(0), dtype=np.float64)
    spec, mode = _qonnx_quant_params(imp, node, attrs, x.shape)
    imp.set_out(quantize_const(imp, x, spec, mode))


def _bipolar_spec(imp, shape):
    svals, sax = axis_of(imp.const(1, "scale"), shape, f"{imp.path}: node {imp.node_name} scale")
    return QuantSpec.bipolar_spec(svals, sax)


def imp_bipolar(imp: Importer, node, attrs):
    t = imp.dyn(0)
    imp.emit_out(ops.Quantize(_bipolar_spec(imp, t.shape)), [t.name])


def const_bipolar(imp: Importer, node, attrs):
    x = np.asarray(imp.const(0), dtype=np.float64)
    imp.set_out(quantize_const(imp, x, _bipolar_spec(imp, x.shape)))


def imp_trunc(imp: Importer, node, attrs):
    t = imp.dyn(0)
    scale = imp.scalar(1, "scale")
    zp = imp.scalar(2, "zero point")
    if zp != 0:
        raise imp.unsupported(f"Trunc with zero point {zp}; only 0 is supported")
    in_bits = int_param(imp, imp.scalar(3, "input bit width"), "input bit width")
    mode = round_mode(imp, attrs.get("rounding_mode", "FLOOR"))
    if len(node.input) >= 6:  # Trunc v2: out_scale, out_bitwidth; clamps
        out_scale = imp.scalar(4, "output scale")
        out_bits = int_param(imp, imp.scalar(5, "output bit width"), "output bit width")
        shift = int(round(math.log2(out_scale / scale)))
        spec = QuantSpec(bits=out_bits, signed=bool(attrs.get("signed", 1)),
                         narrow=bool(attrs.get("narrow", 0)), scale=(out_scale,))
    else:  # Trunc v1: no clamp, output keeps the input scale
        out_bits = int_param(imp, imp.scalar(4, "output bit width"), "output bit width")
        shift = in_bits - out_bits
        # qonnx's Trunc v1 never clamps and does not say whether its input is signed (here
        # a float tensor, e.g. AveragePool * k*k): the code range must hold any in_bits-wide
        # input of either sign, rounded the way the data is (ROUND takes 127/4 to 32)
        ends = np.array([-(1 << (in_bits - 1)), (1 << in_bits) - 1], dtype=np.float64)
        lo, hi = (int(v) for v in round_real(ends / 2.0 ** shift, mode))
        spec = QuantSpec.for_range(lo, hi, scale)
    if shift < 0:
        raise imp.unsupported(f"Trunc that widens (shift {shift})")
    imp.emit_out(ops.Trunc(scale, shift, spec, mode), [t.name])


def imp_multithreshold(imp: Importer, node, attrs):
    t = imp.dyn(0)
    thr = np.asarray(imp.const(1, "thresholds"), dtype=np.float64)
    if thr.ndim != 2:
        raise imp.unsupported(f"thresholds must be 2-D (channels, steps), got {thr.shape}")
    # the channel axis as qonnx finds it: the "C" of data_layout; without one, by rank
    # (NC, NWC, NCHW: a rank-3 tensor is channels-LAST), else axis 1
    rank = len(t.shape) + 1
    layout = attrs.get("data_layout", "") or {2: "NC", 3: "NWC", 4: "NCHW"}.get(rank, "")
    cdim = layout.index("C") if "C" in layout else 1
    if not 0 < cdim < rank:
        raise imp.unsupported(f"data_layout {layout!r} has no channel axis in a rank-{rank} input")
    axis = cdim - 1
    out_scale = float(attrs.get("out_scale", 1.0))
    out_bias = float(attrs.get("out_bias", 0.0))
    zp = -out_bias / out_scale
    if zp != round(zp) or out_scale <= 0:
        raise imp.unsupported(f"out_bias {out_bias} is not a whole number of out_scale {out_scale}")
    n = thr.shape[1]
    spec = QuantSpec.for_range(0, max(n, 1), out_scale)
    if zp:
        spec = spec.with_(zero_point=(int(zp),), lo=0, hi=max(n, 1))
    imp.emit_out(ops.MultiThreshold(ops.const(np.sort(thr, axis=1)), spec, axis), [t.name])


def qdq_spec(imp: Importer, shape, i_scale, i_zp, attrs, batch=True, dtype=None):
    """QuantSpec of a QuantizeLinear/DequantizeLinear-style (scale, zero point) input pair.

    ``shape`` is per sample for a tensor (``batch``: ONNX axes count the batch) or the
    constant's own shape.  The zero point's type gives bits and signedness (uint8 when
    absent) unless ``dtype`` says otherwise (DequantizeLinear of a constant: its type).
    """
    scale = np.asarray(imp.const(i_scale, "scale"), dtype=np.float64)
    zp_val = imp.input(i_zp) if imp.has_input(i_zp) else None
    if zp_val is None:
        zp = np.zeros(1, dtype=np.uint8)
    elif isinstance(zp_val, Const):
        zp = np.asarray(zp_val.value)
    else:
        zp = np.asarray(imp.const(i_zp, "zero point"))
    dtype = np.dtype(dtype) if dtype is not None else zp.dtype
    if dtype.kind not in "iu" or dtype.itemsize > 4:
        raise imp.unsupported(f"zero point type {dtype} (supported: (u)int8, (u)int16, (u)int32)")
    if scale.size > 1:  # per-axis: align the 1-D scale with its axis
        full = ((1,) if batch else ()) + tuple(shape)
        bshape = [1] * len(full)
        bshape[norm_axis(imp, attrs.get("axis", 1), len(full))] = scale.size
        scale = scale.reshape(bshape)
        if zp.size > 1:
            zp = zp.reshape(bshape)
    return quant_spec(imp, shape, scale, zp.astype(np.float64), dtype.itemsize * 8,
                      dtype.kind == "i", False, what=imp.node.op_type)


def imp_quantizelinear(imp: Importer, node, attrs):
    t = imp.dyn(0)
    spec = qdq_spec(imp, t.shape, 1, 2, attrs)
    imp.emit_out(ops.Quantize(spec, round_first=True), [t.name])


def const_quantizelinear(imp: Importer, node, attrs):
    x = np.asarray(imp.const(0), dtype=np.float64)
    spec = qdq_spec(imp, x.shape, 1, 2, attrs, batch=False)
    imp.set_out(quantize_const(imp, x, spec, round_first=True))


def const_dequantizelinear(imp: Importer, node, attrs):
    v = imp.get(node.input[0])
    if isinstance(v, QConst):
        imp.set_out(v)
        return
    x = np.asarray(v.value)
    if x.dtype.kind not in "iu":
        raise imp.unsupported(f"DequantizeLinear of a {x.dtype} constant")
    spec = qdq_spec(imp, x.shape, 1, 2, attrs, batch=False, dtype=x.dtype)
    imp.set_out(QConst(x.astype(np.int64), spec))


def imp_dequantizelinear(imp: Importer, node, attrs):
    t = imp.dyn(0)
    if t.quant is None:
        raise imp.unsupported("DequantizeLinear of a float tensor")
    spec = qdq_spec(imp, t.shape, 1, 2, attrs)
    if spec.scale != t.quant.scale or spec.zero_point != t.quant.zero_point:
        imp.emit_out(ops.Relabel(spec), [t.name])
    else:
        imp.set_out(t.name)


def qlinear_weight_spec(imp, codes, ws_i, wz_i):
    scale = np.asarray(imp.const(ws_i, "weight scale"), dtype=np.float64).reshape(-1)
    zpv = imp.get(imp.node.input[wz_i]) if imp.has_input(wz_i) else None
    zp = np.asarray(zpv.value) if isinstance(zpv, Const) else np.zeros(1, dtype=np.int8)
    axis = 0 if scale.size > 1 else None
    return QuantSpec(bits=8 * zp.dtype.itemsize, signed=zp.dtype.kind == "i", scale=scale,
                     zero_point=zp.reshape(-1).astype(np.int64), axis=axis)


def relabel_to(imp: Importer, t, spec):
    if t.quant is None:
        raise imp.unsupported(f"input {t.name} is not quantized")
    if spec.scale == t.quant.scale and spec.zero_point == t.quant.zero_point:
        return t
    return imp.tensors[imp.emit(ops.Relabel(spec), [t.name], [t.name + "_rl"])[0]]
