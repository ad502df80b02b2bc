"""Importers of ONNX Slice and Split on a dynamic tensor: ``ops.Slice`` along one axis,
step 1 (what splitting one convolution's channels into offsets and a mask needs).  In
hardware a slice of the channel axis is the ``chslice`` unit; anywhere else it runs on the
host."""

from __future__ import annotations

import numpy as np

from ..ir import ops
from .onnx import Importer
from .onnx_quant import norm_axis


def _ints(imp: Importer, i: int, what: str) -> list:
    return [int(v) for v in np.asarray(imp.const(i, what)).reshape(-1)]


def _axis(imp: Importer, axis: int, t) -> int:
    a = norm_axis(imp, axis, len(t.shape) + 1)
    if a == 0:
        raise imp.unsupported("slicing the batch axis is not supported")
    return a - 1


def imp_slice(imp: Importer, node, attrs):
    t = imp.dyn(0)
    if imp.opset < 10:
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes = list(attrs.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = _ints(imp, 1, "starts"), _ints(imp, 2, "ends")
        axes = _ints(imp, 3, "axes") if imp.has_input(3) else list(range(len(starts)))
        steps = _ints(imp, 4, "steps") if imp.has_input(4) else [1] * len(starts)
    src = t.name
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if step != 1:
            raise imp.unsupported(f"Slice with step {step} (supported: 1)")
        a = _axis(imp, axis, imp.tensors[src])
        n = imp.tensors[src].shape[a]
        lo = min(max(start + n if start < 0 else start, 0), n)
        hi = min(max(end + n if end < 0 else end, 0), n)
        if hi <= lo:
            raise imp.error(f"Slice {start}:{end} of axis {axis} (size {n}) is empty")
        if (lo, hi) != (0, n):
            src = imp.emit(ops.Slice(a, lo, hi), [src], [node.output[0]])[0]
    imp.set_out(src)


def imp_split(imp: Importer, node, attrs):
    t = imp.dyn(0)
    a = _axis(imp, int(attrs.get("axis", 0)), t)
    n = t.shape[a]
    k = len(node.output)
    if imp.opset >= 13 and imp.has_input(1):
        sizes = _ints(imp, 1, "split")
    elif "split" in attrs:
        sizes = [int(v) for v in attrs["split"]]
    else:  # equal parts (opset 18: num_outputs, the last one smaller)
        part = -(-n // k)
        sizes = [min(part, n - i * part) for i in range(k)]
    if len(sizes) != k or sum(sizes) != n or min(sizes) < 1:
        raise imp.error(f"Split sizes {sizes} do not divide axis {a + 1} of size {n} into "
                        f"{k} outputs")
    start = 0
    for i, size in enumerate(sizes):
        out = imp.emit(ops.Slice(a, start, start + size), [t.name], [node.output[i]])[0]
        imp.set_out(out, i)
        start += size
