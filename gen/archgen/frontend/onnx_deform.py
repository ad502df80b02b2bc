"""Importer of ONNX DeformConv (opsets 19 and 22; DCNv1 without a mask, DCNv2 with one).

Inputs X, W, offset, B (optional), mask (optional); attributes kernel_shape, strides,
pads, dilations, group, offset_group (ONNX defaults).  Only 2-D deformable convolutions
are supported.  The node becomes one ``ops.DeformConv`` of codes:

* X: codes (a float X gets the configured quantizer, as every layer's input does);
* W: quantized in the graph (QONNX Quant, QDQ), or float and quantized at the config's
  weight precision like a float Conv (a following BatchNormalization folds into it);
* offset: codes of scale 2**-F with zero point 0, F >= 0 (the sampler's fixed point:
  ``offset_frac`` = F).  A float offset, or one quantized with another scale, is an error
  that says what to do;
* mask: codes (any per-tensor scale and zero point);
* B: a float "add" after the accumulator, as for Conv (the passes fold it).
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import ops
from .onnx import Importer

_HOW = ("quantize the offsets in the graph (a QONNX Quant, or QuantizeLinear) with a "
        "power-of-two scale 2**-F, F >= 0, and zero point 0")


def _geometry(imp: Importer, attrs, kernel) -> tuple:
    strides = tuple(int(s) for s in attrs.get("strides", [1, 1]))
    dil = tuple(int(d) for d in attrs.get("dilations", [1, 1]))
    pads = tuple(int(p) for p in attrs.get("pads", [0, 0, 0, 0]))
    ks = attrs.get("kernel_shape")
    if ks is not None and tuple(int(k) for k in ks) != tuple(kernel):
        raise imp.error(f"kernel_shape {list(ks)} differs from the weight's kernel {tuple(kernel)}")
    if len(strides) != 2 or len(dil) != 2 or len(pads) != 4:
        raise imp.error(f"strides {list(strides)}, dilations {list(dil)} or pads {list(pads)} "
                        "do not match a 2-D kernel")
    if any(s < 1 for s in strides) or any(d < 1 for d in dil) or any(p < 0 for p in pads):
        raise imp.unsupported(f"strides {strides}, dilations {dil}, pads {pads} (strides and "
                              "dilations must be >= 1, pads >= 0)")
    return strides, pads, dil


def _offset_frac(imp: Importer, off) -> int:
    """F of offsets that are codes of scale 2**-F, zero point 0."""
    q = off.quant
    if q is None:
        raise imp.unsupported(f"offsets {off.name!r} are float; {_HOW}")
    if q.per_channel or q.has_zero_point:
        raise imp.unsupported(f"offsets {off.name!r} are quantized as {q} (per channel or with "
                              f"a zero point); {_HOW}")
    frac = -math.log2(q.scale[0])
    if frac != round(frac) or frac < 0:
        raise imp.unsupported(f"offsets {off.name!r} have scale {q.scale[0]:g}, not 2**-F with "
                              f"F >= 0; {_HOW}")
    return int(round(frac))


def _check_shapes(imp: Importer, x, w_shape, off, mask, geometry, group, og):
    """The ONNX rules tying X, W, offset and mask together (shapes are per sample)."""
    strides, pads, dil = geometry
    c, h, wd = x.shape
    o, ig, kh, kw = w_shape
    k = kh * kw
    oh = ops.spatial_out(h, kh, strides[0], pads[0], pads[2], dil[0])
    ow = ops.spatial_out(wd, kw, strides[1], pads[1], pads[3], dil[1])
    if oh <= 0 or ow <= 0:
        raise imp.error(f"the {kh}x{kw} kernel (dilations {dil}, pads {pads}) does not fit the "
                        f"{h}x{wd} input")
    if group < 1 or c % group or o % group or ig * group != c:
        raise imp.error(f"input X {(c, h, wd)} and weight W {tuple(w_shape)} do not fit group "
                        f"{group}: need C divisible by group, W of shape (O, C/group, kh, kw) "
                        "and O divisible by group")
    if og < 1 or c % og:
        raise imp.error(f"offset_group {og} does not divide the {c} input channels")
    want = (og * 2 * k, oh, ow)
    if len(off.shape) != 3 or tuple(off.shape) != want:
        raise imp.error(f"offset {off.name!r} has shape {tuple(off.shape)}, expected {want} "
                        f"(offset_group*2*kh*kw = {og}*2*{k} channels, the output's {oh}x{ow})")
    if mask is not None:
        want = (og * k, oh, ow)
        if len(mask.shape) != 3 or tuple(mask.shape) != want:
            raise imp.error(f"mask {mask.name!r} has shape {tuple(mask.shape)}, expected {want} "
                            f"(offset_group*kh*kw = {og}*{k} channels, the output's {oh}x{ow})")


def imp_deformconv(imp: Importer, node, attrs):
    # onnx_ops registers this importer: its layer helpers are imported when it runs
    from .onnx_ops import _finish_float_layer, _float_layer, _weight

    x_in = imp.dyn(0)
    if len(x_in.shape) != 3:
        raise imp.unsupported(f"{len(x_in.shape) - 1}-D DeformConv of an input of shape "
                              f"{('N',) + tuple(x_in.shape)} (supported: 2-D, (N, C, H, W))")
    if imp.is_const(2):
        raise imp.unsupported(f"constant offsets {node.input[2]!r} (supported: offsets computed "
                              "in the graph); a DeformConv with constant offsets is a fixed "
                              "resampling, export it as such")
    off = imp.dyn(2)
    has_mask = imp.has_input(4)
    mask = imp.dyn(4) if has_mask else None
    if mask is not None and mask.quant is None:
        raise imp.unsupported(f"mask {mask.name!r} is float; quantize it in the graph (a QONNX "
                              "Quant or QuantizeLinear, e.g. after its Sigmoid)")
    if mask is not None and mask.quant.per_channel:
        raise imp.unsupported(f"mask {mask.name!r} is quantized per channel ({mask.quant}); "
                              "supported: per tensor")
    float_layer = imp.qconst(1) is None
    if float_layer:  # archgen quantizes it, as a float Conv
        w, float_bias = _float_layer(imp, 1, 3, 0)
    else:
        w = _weight(imp, 1)
    if w.codes.ndim != 4:
        raise imp.unsupported(f"{w.codes.ndim - 2}-D DeformConv weight {w.codes.shape} "
                              "(supported: 2-D, (O, C/group, kh, kw))")
    if w.spec.per_channel and w.spec.axis != 0:
        raise imp.unsupported("weights quantized per input channel")
    if w.spec.has_zero_point:
        raise imp.unsupported(f"weights with a zero point ({w.spec})")
    kernel = w.codes.shape[2:]
    geometry = _geometry(imp, attrs, kernel)
    group = int(attrs.get("group", 1))
    og = int(attrs.get("offset_group", 1))
    _check_shapes(imp, x_in, w.codes.shape, off, mask, geometry, group, og)
    if imp.has_input(3):
        nb = np.asarray(imp.const(3, "bias")).size
        if nb != w.codes.shape[0]:
            raise imp.error(f"bias B has {nb} values, the weight W {w.codes.shape[0]} output "
                            "channels")
    frac = _offset_frac(imp, off)
    x = imp.codes(0)
    if x.quant.per_channel:
        raise imp.unsupported(f"input {x.name!r} is quantized per channel ({x.quant}); "
                              "supported: per tensor")
    strides, pads, dil = geometry
    op = ops.DeformConv(ops.const(w.codes, np.int64), w.spec, strides, pads, dil, group, og, frac)
    inputs = [x.name, off.name] + ([mask.name] if mask is not None else [])
    acc = imp.emit_out(op, inputs)
    if float_layer:
        _finish_float_layer(imp, acc, float_bias, (-1, 1, 1))
        return
    if imp.has_input(3):
        bias = np.asarray(imp.const(3, "bias"), dtype=np.float64).reshape(-1)
        imp.chain(acc, [ops.Step("add", (bias.reshape(-1, 1, 1),))], imp.node_name + "_bias")
