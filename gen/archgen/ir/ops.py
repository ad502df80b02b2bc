"""Model-level operations of the IR (what the frontend produces, before lowering).

Each op is a frozen dataclass: its parameters, and ``infer()`` giving the shapes and
QuantSpecs of its outputs from its input tensors.  What an op computes lives in
``archgen.golden``; hardware units (after lowering) live in ``archgen.units``.

Layout: spatial ops take channels-first tensors (C, *spatial) as ONNX does, unless
``channels_last`` is set, in which case (*spatial, C).
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from .types import QuantSpec, RoundMode


def const(arr, dtype=None) -> np.ndarray:
    """A read-only copy of an array, for constants held by frozen ops.  An array that is
    already such a constant (read-only, owning its data, of the dtype) is shared, not
    copied: ``dataclasses.replace`` on an op keeps its weights."""
    if (isinstance(arr, np.ndarray) and not arr.flags.writeable and arr.flags.owndata
            and (dtype is None or arr.dtype == np.dtype(dtype))):
        return arr
    out = np.array(arr, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def _json_value(v):
    if isinstance(v, np.ndarray):
        if v.size <= 16:
            return v.tolist()
        return {"array": list(v.shape), "dtype": str(v.dtype),
                "min": float(v.min()), "max": float(v.max())}
    if isinstance(v, QuantSpec):
        return v.to_json()
    if isinstance(v, RoundMode):
        return v.value
    if isinstance(v, Op):
        return {"kind": type(v).kind(), **v.to_json()}
    if isinstance(v, tuple):
        return [_json_value(x) for x in v]
    if dataclasses.is_dataclass(v):
        return {"kind": type(v).__name__,
                **{f.name: _json_value(getattr(v, f.name)) for f in dataclasses.fields(v)}}
    return v


@dataclass(frozen=True, eq=False)
class Op:
    """Base of every op and every hardware unit's Params."""

    @classmethod
    def kind(cls) -> str:
        return cls.__name__

    def summary(self) -> str:
        return type(self).kind()

    def to_json(self) -> dict:
        return {f.name: _json_value(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def infer(self, ins: list) -> list:
        """[(shape, QuantSpec|None)] of the outputs, from the input Tensors."""
        raise NotImplementedError


# -- helpers ---------------------------------------------------------------------------

def spatial_out(size, kernel, stride, pad_begin, pad_end, dilation, ceil_mode=False) -> int:
    eff = dilation * (kernel - 1) + 1
    span = size + pad_begin + pad_end - eff
    if span < 0:
        return 0
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad_begin:  # ONNX/PyTorch: no window starts in the end pad
        out -= 1
    return out


def _need_quant(op, t, what="input"):
    if t.quant is None:
        raise InternalError(f"{op.kind()} needs a quantized {what}, {t.name} is float")
    return t.quant


def _acc_spec(lo, hi, scale, axis):
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    return QuantSpec.for_range(int(lo), int(hi), scale, axis if scale.size > 1 else None)


_ROW_SUMS: dict = {}  # id(constant weights) -> (weak reference, positive sums, negative sums)


def _row_sums(w2d: np.ndarray) -> tuple:
    """Per row, the sums of the positive and of the negative weights; remembered for a
    read-only constant (the folding pass asks for the same weights' bounds many times)."""
    key = id(w2d)
    hit = _ROW_SUMS.get(key)
    if hit is not None and hit[0]() is w2d:
        return hit[1], hit[2]
    w = w2d.astype(np.int64)
    sums = (np.where(w > 0, w, 0).sum(axis=1), np.where(w < 0, w, 0).sum(axis=1))
    if isinstance(w2d, np.ndarray) and not w2d.flags.writeable and w2d.flags.owndata:
        _ROW_SUMS[key] = (weakref.ref(w2d, lambda _, k=key: _ROW_SUMS.pop(k, None)), *sums)
    return sums


def weight_bounds(w2d: np.ndarray, xlo: int, xhi: int) -> tuple[int, int]:
    """Exact extreme accumulator values of rows of w2d dotted with x in [xlo, xhi]."""
    pos, neg = _row_sums(w2d)
    if xlo > xhi:
        xlo, xhi = xhi, xlo
    lo = pos * xlo + neg * xhi
    hi = pos * xhi + neg * xlo
    return int(lo.min()), int(hi.max())


def input_code_range(spec: QuantSpec) -> tuple[int, int]:
    """Range of code - zero_point, the integer an arithmetic unit actually multiplies."""
    zps = spec.zero_point
    return spec.lo - max(zps), spec.hi - min(zps)


# -- quantizers ------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Quantize(Op):
    """float -> codes: QONNX Quant (zero point added, clamp, round) or, with
    ``round_first``, ONNX QuantizeLinear (round, zero point added, saturate)."""

    spec: QuantSpec
    mode: RoundMode = RoundMode.HALF_EVEN
    round_first: bool = False

    def summary(self):
        extra = "" if self.mode is RoundMode.HALF_EVEN else " " + self.mode.value
        extra += " round-first" if self.round_first and self.spec.has_zero_point else ""
        return f"Quantize[{self.spec}{extra}]"

    def infer(self, ins):
        return [(ins[0].shape, self.spec)]


@dataclass(frozen=True, eq=False)
class Trunc(Op):
    """QONNX Trunc: real -> y = round(x/in_scale + zp) -> y / 2**shift -> clamp -> mode."""

    in_scale: float
    shift: int
    spec: QuantSpec
    mode: RoundMode = RoundMode.FLOOR

    def summary(self):
        return f"Trunc[>>{self.shift} {self.spec} {self.mode.value}]"

    def infer(self, ins):
        return [(ins[0].shape, self.spec)]


# -- arithmetic on codes ------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Dense(Op):
    """codes (..., K) x weight codes (N, K) -> integer accumulator (..., N), exact."""

    weight: np.ndarray
    weight_spec: QuantSpec

    def summary(self):
        n, k = self.weight.shape
        return f"Dense[{k}->{n} w:{self.weight_spec}]"

    def infer(self, ins):
        x = _need_quant(self, ins[0])
        if x.per_channel:
            raise InternalError("Dense input must be quantized per tensor")
        n, k = self.weight.shape
        if ins[0].shape[-1] != k:
            raise InternalError(f"Dense weight is {n}x{k}, input {ins[0].shape}")
        wz = np.asarray(self.weight_spec.zero_point).reshape(-1, 1)
        lo, hi = weight_bounds(self.weight - wz, *input_code_range(x))
        scale = x.scale[0] * np.asarray(self.weight_spec.scale)
        return [(ins[0].shape[:-1] + (n,), _acc_spec(lo, hi, scale, len(ins[0].shape) - 1))]


@dataclass(frozen=True, eq=False)
class Conv(Op):
    """N-d convolution of codes -> integer accumulator; weight (O, I/group, *kernel).

    pads are (begin..., end...) as in ONNX; padding inserts the real value 0
    (the input's zero-point code).
    """

    weight: np.ndarray
    weight_spec: QuantSpec
    strides: tuple
    pads: tuple
    dilations: tuple
    group: int = 1
    channels_last: bool = False

    @property
    def kernel(self) -> tuple:
        return tuple(self.weight.shape[2:])

    def summary(self):
        o, i = self.weight.shape[:2]
        k = "x".join(map(str, self.kernel))
        extra = f" s{self.strides}" if any(s != 1 for s in self.strides) else ""
        extra += f" d{self.dilations}" if any(d != 1 for d in self.dilations) else ""
        extra += f" g{self.group}" if self.group != 1 else ""
        extra += " NHWC" if self.channels_last else ""
        return f"Conv[{i * self.group}->{o} k{k}{extra} w:{self.weight_spec}]"

    def out_spatial(self, spatial) -> tuple:
        nd = len(self.kernel)
        return tuple(spatial_out(spatial[i], self.kernel[i], self.strides[i], self.pads[i],
                                 self.pads[nd + i], self.dilations[i]) for i in range(nd))

    def infer(self, ins):
        x = _need_quant(self, ins[0])
        if x.per_channel:
            raise InternalError("Conv input must be quantized per tensor")
        shape = ins[0].shape
        c, spatial = (shape[-1], shape[:-1]) if self.channels_last else (shape[0], shape[1:])
        o, ig = self.weight.shape[:2]
        if c != ig * self.group:
            raise InternalError(f"Conv expects {ig * self.group} channels, input has {c}")
        out = self.out_spatial(spatial)
        if any(d <= 0 for d in out):
            raise InternalError(f"Conv output would be empty for input {shape}")
        wz = np.asarray(self.weight_spec.zero_point).reshape(-1, 1)
        xlo, xhi = input_code_range(x)
        if any(self.pads):  # padded taps hold the code of real zero
            xlo, xhi = min(xlo, 0), max(xhi, 0)
        lo, hi = weight_bounds(self.weight.reshape(o, -1) - wz, xlo, xhi)
        scale = x.scale[0] * np.asarray(self.weight_spec.scale)
        oshape = out + (o,) if self.channels_last else (o,) + out
        return [(oshape, _acc_spec(lo, hi, scale, len(oshape) - 1 if self.channels_last else 0))]


@dataclass(frozen=True, eq=False)
class DeformConv(Op):
    """ONNX DeformConv (2-D) of codes -> integer accumulator; inputs x, offsets and an
    optional mask (DCNv2), all codes.  weight (O, C/group, kh, kw); pads (top, left,
    bottom, right).  Offsets are signed codes of real * 2**offset_frac (zero point 0);
    the sampling and its exact integer form are in units/dswg.py.  The accumulator's
    scale is x_scale * 2**-2F (* mask_scale) * weight_scale."""

    weight: np.ndarray
    weight_spec: QuantSpec
    strides: tuple
    pads: tuple
    dilations: tuple
    group: int = 1
    offset_group: int = 1
    offset_frac: int = 0
    channels_last: bool = False

    @property
    def kernel(self) -> tuple:
        return tuple(self.weight.shape[2:])

    def summary(self):
        o, i = self.weight.shape[:2]
        k = "x".join(map(str, self.kernel))
        extra = f" s{self.strides}" if any(s != 1 for s in self.strides) else ""
        extra += f" d{self.dilations}" if any(d != 1 for d in self.dilations) else ""
        extra += f" g{self.group}" if self.group != 1 else ""
        extra += f" og{self.offset_group}" if self.offset_group != 1 else ""
        extra += " NHWC" if self.channels_last else ""
        return f"DeformConv[{i * self.group}->{o} k{k}{extra} F{self.offset_frac} w:{self.weight_spec}]"

    def sampler(self, x: QuantSpec, mask: QuantSpec | None):
        """The units.dswg Params of this op's sampling."""
        from ..units import dswg

        return dswg.Params(self.kernel, self.strides, self.pads, self.dilations,
                           self.offset_group, self.offset_frac,
                           x.zero_point[0] if x.has_zero_point else 0,
                           (mask.zero_point[0] if mask.has_zero_point else 0) if mask else 0,
                           mask is not None)

    def dense_weight(self) -> np.ndarray:
        """(O, kh*kw*C) int64: the weights over a tap-major window, zero outside each group."""
        o, ig = self.weight.shape[:2]
        c = ig * self.group
        full = np.zeros((o,) + self.kernel + (c,), dtype=np.int64)
        og = o // self.group
        for gi in range(self.group):
            blk = self.weight[gi * og:(gi + 1) * og]
            full[gi * og:(gi + 1) * og, ..., gi * ig:(gi + 1) * ig] = np.moveaxis(blk, 1, -1)
        return full.reshape(o, -1)

    def _last(self, t):
        from .graph import Tensor

        if self.channels_last:
            return t
        return Tensor(t.name, tuple(t.shape[1:]) + (t.shape[0],), t.quant)

    def infer(self, ins):
        x = _need_quant(self, ins[0])
        off = _need_quant(self, ins[1], "offset")
        mask = _need_quant(self, ins[2], "mask") if len(ins) > 2 else None
        if x.per_channel or off.per_channel or (mask is not None and mask.per_channel):
            raise InternalError("DeformConv inputs must be quantized per tensor")
        if off.has_zero_point or not np.isclose(off.scale[0], 2.0 ** -self.offset_frac):
            raise InternalError(f"DeformConv offsets must be codes of scale 2**-{self.offset_frac}, "
                                f"zero point 0: {off}")
        o, ig = self.weight.shape[:2]
        c = ins[0].shape[-1] if self.channels_last else ins[0].shape[0]
        if len(ins[0].shape) != 3 or c != ig * self.group or o % self.group:
            raise InternalError(f"DeformConv weight {self.weight.shape} (group {self.group}) on "
                                f"input {ins[0].shape}")
        s = self.sampler(x, mask)
        (wshape, wspec), = s.infer([self._last(t) for t in ins])
        oh, ow = wshape[:2]
        lo, hi = wspec.lo, wspec.hi
        w = self.dense_weight()
        if self.weight_spec.has_zero_point:
            raise InternalError("DeformConv weights with a zero point")
        alo, ahi = weight_bounds(w, lo, hi)
        scale = wspec.scale[0] * np.asarray(self.weight_spec.scale)
        oshape = (oh, ow, o) if self.channels_last else (o, oh, ow)
        return [(oshape, _acc_spec(alo, ahi, scale, 2 if self.channels_last else 0))]


@dataclass(frozen=True, eq=False)
class Pool(Op):
    """Windowed max (codes -> codes) or sum (codes -> accumulator) over spatial axes."""

    reduce: str  # "max" | "sum"
    kernel: tuple
    strides: tuple
    pads: tuple
    dilations: tuple = ()
    ceil_mode: bool = False
    channels_last: bool = False
    pad_value: int | None = None  # code padded in; None: -inf for max, 0 for sum

    def __post_init__(self):
        if self.reduce not in ("max", "sum"):
            raise InternalError(f"Pool reduce must be max or sum, got {self.reduce}")
        if not self.dilations:
            object.__setattr__(self, "dilations", (1,) * len(self.kernel))

    def summary(self):
        k = "x".join(map(str, self.kernel))
        return f"{self.reduce.capitalize()}Pool[k{k} s{self.strides}{' NHWC' if self.channels_last else ''}]"

    def out_spatial(self, spatial):
        nd = len(self.kernel)
        return tuple(spatial_out(spatial[i], self.kernel[i], self.strides[i], self.pads[i],
                                 self.pads[nd + i], self.dilations[i], self.ceil_mode)
                     for i in range(nd))

    def infer(self, ins):
        x = _need_quant(self, ins[0])
        shape = ins[0].shape
        c, spatial = (shape[-1], shape[:-1]) if self.channels_last else (shape[0], shape[1:])
        out = self.out_spatial(spatial)
        oshape = out + (c,) if self.channels_last else (c,) + out
        if self.reduce == "max":
            return [(oshape, x)]
        return [(oshape, sum_spec(x, int(np.prod(self.kernel)), any(self.pads) or self.ceil_mode))]


def sum_spec(x: QuantSpec, n: int, padded: bool) -> QuantSpec:
    """Spec of a sum of n codes: real = scale * (sum - n * zero_point); padded taps add
    the zero-point code (real zero)."""
    lo, hi = x.lo * n, x.hi * n
    if padded and x.has_zero_point:
        raise InternalError("padded sum pooling of codes with a zero point")
    if padded:
        lo, hi = min(lo, 0), max(hi, 0)
    spec = QuantSpec.for_range(lo, hi, x.scale, x.axis)
    if x.has_zero_point:
        spec = spec.with_(zero_point=tuple(n * z for z in x.zero_point), lo=lo, hi=hi)
    return spec


@dataclass(frozen=True, eq=False)
class Add(Op):
    """Sum of two tensors as real values (residual add): float out."""

    def infer(self, ins):
        a, b = ins
        if a.shape != b.shape:
            raise InternalError(f"Add of {a.shape} and {b.shape}")
        return [(a.shape, None)]


@dataclass(frozen=True, eq=False)
class Concat(Op):
    """Concatenation of quantized tensors along ``axis``; scales become per channel."""

    axis: int

    def summary(self):
        return f"Concat[{self.axis}]"

    def infer(self, ins):
        shape0 = ins[0].shape
        ax = self.axis
        for t in ins[1:]:
            if len(t.shape) != len(shape0) or any(
                    a != b for i, (a, b) in enumerate(zip(t.shape, shape0)) if i != ax):
                raise InternalError(f"Concat shapes {shape0} and {t.shape} differ off axis {ax}")
        shape = list(shape0)
        shape[ax] = sum(t.shape[ax] for t in ins)
        specs = [t.quant for t in ins]
        if any(s is None for s in specs):
            return [(tuple(shape), None)]
        return [(tuple(shape), concat_spec(specs, [t.shape[ax] for t in ins], ax))]


def concat_spec(specs, sizes, axis) -> QuantSpec:
    """The spec of a concatenation: shared if all equal, else per channel along axis."""
    s0 = specs[0]
    if all(s.scale == s0.scale and s.zero_point == s0.zero_point and s.axis == s0.axis
           and (s.bits, s.signed, s.bipolar) == (s0.bits, s0.signed, s0.bipolar) for s in specs):
        return s0
    for s in specs:
        if s.per_channel and s.axis != axis:
            raise InternalError("Concat of tensors quantized per channel on another axis")
    scale, zp = [], []
    for s, n in zip(specs, sizes):
        scale += list(s.scale) * (1 if s.per_channel else n)
        zp += list(s.zero_point) * (1 if len(s.zero_point) > 1 else n)
    lo = min(s.lo for s in specs)
    hi = max(s.hi for s in specs)
    spec = QuantSpec.for_range(lo, hi, scale, axis)
    return spec.with_(zero_point=zp, lo=lo, hi=hi) if any(zp) else spec


# -- float elementwise chains ------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Step:
    """One elementwise float operation; constants broadcast to the per-sample shape."""

    fn: str  # see golden.STEP_FUNCTIONS
    consts: tuple = ()

    MONOTONE = {"mul": None, "div": None, "add": +1, "sub": +1, "rsub": -1, "batchnorm": None,
                "relu": +1, "clip": +1, "leakyrelu": +1, "sigmoid": +1, "tanh": +1,
                "hardsigmoid": None, "sign": +1, "neg": -1, "max": +1, "min": +1}

    def __post_init__(self):
        if self.fn not in self.MONOTONE:
            raise InternalError(f"unknown elementwise step {self.fn}")
        object.__setattr__(self, "consts", tuple(const(c, np.float64) for c in self.consts))

    def __str__(self):
        if not self.consts:
            return self.fn
        c = self.consts[0]
        return f"{self.fn}({c.item():.4g})" if c.size == 1 else f"{self.fn}([{c.size}])"


@dataclass(frozen=True, eq=False)
class Elementwise(Op):
    """A chain of float elementwise steps, evaluated in order in float64."""

    steps: tuple

    def summary(self):
        return "Elementwise[" + ", ".join(str(s) for s in self.steps) + "]"

    def infer(self, ins):
        shape = ins[0].shape
        for s in self.steps:
            for c in s.consts:
                try:
                    np.broadcast_shapes(c.shape, shape)
                except ValueError:
                    raise InternalError(f"step {s} constant {c.shape} vs tensor {shape}") from None
                if len(c.shape) > len(shape):
                    raise InternalError(f"step {s} constant {c.shape} has more axes than {shape}")
        return [(shape, None)]


# -- data movement ----------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Reshape(Op):
    """Row-major reshape of the per-sample tensor (Flatten, Reshape, Squeeze...)."""

    shape: tuple

    def summary(self):
        return f"Reshape[{'x'.join(map(str, self.shape))}]"

    def infer(self, ins):
        t = ins[0]
        if int(np.prod(self.shape)) != t.size:
            raise InternalError(f"Reshape {t.shape} -> {self.shape} changes the size")
        q = t.quant
        if q is not None and q.per_channel:
            raise InternalError("Reshape of a tensor quantized per channel")
        return [(tuple(self.shape), q)]


@dataclass(frozen=True, eq=False)
class Slice(Op):
    """x[..., start:stop, ...] along one per-sample axis, step 1 (ONNX Slice, Split)."""

    axis: int
    start: int
    stop: int

    def summary(self):
        return f"Slice[axis {self.axis}: {self.start}:{self.stop}]"

    def infer(self, ins):
        t = ins[0]
        n = t.shape[self.axis]
        if not 0 <= self.start < self.stop <= n:
            raise InternalError(f"Slice {self.start}:{self.stop} of axis {self.axis} {t.shape}")
        shape = t.shape[:self.axis] + (self.stop - self.start,) + t.shape[self.axis + 1:]
        q = t.quant
        if q is not None and q.per_channel:
            if q.axis != self.axis % len(t.shape):
                raise InternalError("Slice of a tensor quantized per channel on another axis")
            zp = q.zero_point[self.start:self.stop] if len(q.zero_point) > 1 else q.zero_point
            q = q.with_(scale=q.scale[self.start:self.stop], zero_point=zp, lo=q.lo, hi=q.hi)
        return [(shape, q)]


@dataclass(frozen=True, eq=False)
class Transpose(Op):
    """Permutation of the per-sample axes."""

    perm: tuple

    def summary(self):
        return f"Transpose{list(self.perm)}"

    def infer(self, ins):
        t = ins[0]
        q = t.quant
        if q is not None and q.per_channel:
            q = q.with_(axis=list(self.perm).index(q.axis), lo=q.lo, hi=q.hi)
        return [(tuple(t.shape[p] for p in self.perm), q)]


@dataclass(frozen=True, eq=False)
class Pad(Op):
    """Constant padding of codes (with the code of the real pad value) or of floats."""

    pads: tuple  # (begin..., end...) over all per-sample axes
    value: float = 0.0

    def summary(self):
        return f"Pad{list(self.pads)}"

    def infer(self, ins):
        t = ins[0]
        nd = len(t.shape)
        return [(tuple(t.shape[i] + self.pads[i] + self.pads[nd + i] for i in range(nd)), t.quant)]


# -- output heads -----------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Softmax(Op):
    axis: int

    def infer(self, ins):
        return [(ins[0].shape, None)]


@dataclass(frozen=True, eq=False)
class ArgMax(Op):
    """Indices of the ``k`` largest elements along ``axis``, largest first, the lower index
    first among equal elements: ONNX ArgMax (k == 1) and the Indices of ONNX TopK
    (largest=1, sorted=1).  The axis keeps size k; ``keepdims=False`` drops it (k == 1)."""

    axis: int
    keepdims: bool = True
    k: int = 1

    def __post_init__(self):
        if self.k < 1 or (self.k > 1 and not self.keepdims):
            raise InternalError(f"ArgMax k={self.k} keepdims={self.keepdims}: k must be >= 1, "
                                "and the axis is kept when k > 1")

    def summary(self):
        return f"ArgMax[{self.axis}]" if self.k == 1 else f"TopK[{self.axis}, k={self.k}]"

    def infer(self, ins):
        shape = list(ins[0].shape)
        n = shape[self.axis]
        if self.k > n:
            raise InternalError(f"TopK k={self.k} of the {n} elements along axis {self.axis}")
        if self.keepdims:
            shape[self.axis] = self.k
        else:
            del shape[self.axis]
        return [(tuple(shape), QuantSpec.for_range(0, max(n - 1, 1)))]


@dataclass(frozen=True, eq=False)
class Relabel(Op):
    """The same codes under another QuantSpec (ONNX MatMulInteger reads codes as plain
    integers, for instance).  Costs nothing in hardware."""

    spec: QuantSpec

    def summary(self):
        return f"Relabel[{self.spec}]"

    def infer(self, ins):
        q = ins[0].quant
        if q is None:
            raise InternalError("Relabel needs codes")
        if q.lo < self.spec.full_range[0] or q.hi > self.spec.full_range[1]:
            raise InternalError(f"codes of {q} do not fit {self.spec}")
        return [(ins[0].shape, self.spec.with_(lo=max(q.lo, self.spec.lo), hi=min(q.hi, self.spec.hi)))]


@dataclass(frozen=True, eq=False)
class MultiThreshold(Op):
    """QONNX MultiThreshold on real values: code = number of thresholds x reaches.

    thresholds is (C, T) (or (1, T) shared); channel axis ``axis`` of the tensor.
    """

    thresholds: np.ndarray
    spec: QuantSpec
    axis: int

    def summary(self):
        c, t = self.thresholds.shape
        return f"MultiThreshold[{c}x{t} -> {self.spec}]"

    def infer(self, ins):
        shape = ins[0].shape
        c = self.thresholds.shape[0]
        if c != 1 and shape[self.axis] != c:
            raise InternalError(f"MultiThreshold has {c} channels, input {shape} axis {self.axis}")
        return [(shape, self.spec)]
