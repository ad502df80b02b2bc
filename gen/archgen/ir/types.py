"""Number types of the IR: quantization specs and rounding.

A quantized tensor holds integer *codes*; its real value is
``scale * (code - zero_point)``.  Bipolar tensors hold codes -1/+1 (stored on one bit
in hardware, 0 meaning -1).  A tensor without a QuantSpec is a float tensor: it exists
only between an integer producer and a quantizer, or on the host side of the design.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InternalError


class RoundMode(enum.Enum):
    """Rounding of a real value to an integer code (QONNX names)."""

    HALF_EVEN = "HALF_EVEN"  # QONNX "ROUND", numpy.round, ONNX QuantizeLinear
    HALF_UP = "HALF_UP"  # ties away from zero
    HALF_DOWN = "HALF_DOWN"  # ties towards zero
    CEIL = "CEIL"
    FLOOR = "FLOOR"
    UP = "UP"  # away from zero
    DOWN = "DOWN"  # towards zero (truncation)

    @classmethod
    def parse(cls, text: str) -> "RoundMode":
        key = text.upper()
        if key == "ROUND":
            key = "HALF_EVEN"
        try:
            return cls(key)
        except ValueError:
            valid = ", ".join(["ROUND"] + [m.value for m in cls])
            raise ValueError(f"unknown rounding mode {text!r} (valid: {valid})") from None


def round_real(x: np.ndarray, mode: RoundMode) -> np.ndarray:
    """Round float64 values to integral float64 values with the given mode."""
    if mode is RoundMode.HALF_EVEN:
        return np.round(x)
    if mode is RoundMode.FLOOR:
        return np.floor(x)
    if mode is RoundMode.CEIL:
        return np.ceil(x)
    if mode is RoundMode.DOWN:
        return np.trunc(x)
    if mode is RoundMode.UP:
        return np.sign(x) * np.ceil(np.abs(x))
    if mode is RoundMode.HALF_UP:
        return np.sign(x) * np.floor(np.abs(x) + 0.5)
    if mode is RoundMode.HALF_DOWN:
        return np.sign(x) * np.ceil(np.abs(x) - 0.5)
    raise InternalError(f"unhandled rounding mode {mode}")


def int_range(bits: int, signed: bool, narrow: bool = False) -> tuple[int, int]:
    """Smallest and largest code of a ``bits``-wide integer (QONNX min_int/max_int)."""
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def bits_for_range(lo: int, hi: int) -> tuple[int, bool]:
    """Fewest bits (and signedness) holding every integer of [lo, hi]."""
    lo, hi = int(lo), int(hi)
    if lo >= 0:
        return max(1, hi.bit_length()), False
    need = max((-lo - 1).bit_length(), hi.bit_length() if hi > 0 else 0)
    return need + 1, True


def _as_tuple(values, kind) -> tuple:
    arr = np.asarray(values, dtype=np.float64 if kind is float else np.int64).reshape(-1)
    return tuple(kind(v) for v in arr)


@dataclass(frozen=True)
class QuantSpec:
    """How integer codes of a tensor map to real numbers.

    bits/signed/narrow follow QONNX's Quant.  ``scale`` and ``zero_point`` are tuples of
    length 1 (per tensor) or C (per channel along per-sample ``axis``).  ``lo``/``hi``
    may narrow the code range below what ``bits`` allows (accumulators whose exact
    reachable range is known); by default they are the full range of the type.
    """

    bits: int
    signed: bool
    narrow: bool = False
    bipolar: bool = False
    scale: tuple = (1.0,)
    zero_point: tuple = (0,)
    axis: int | None = None
    lo: int | None = field(default=None)
    hi: int | None = field(default=None)

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "scale", _as_tuple(self.scale, float))
        set_(self, "zero_point", _as_tuple(self.zero_point, int))
        if not isinstance(self.bits, (int, np.integer)) or not 1 <= int(self.bits) <= 64:
            raise InternalError(f"QuantSpec bits must be an integer in 1..64, got {self.bits!r}")
        set_(self, "bits", int(self.bits))
        if self.bipolar and (self.bits != 1 or not self.signed):
            raise InternalError("a bipolar QuantSpec has bits=1 and signed=True")
        if not all(math.isfinite(s) and s > 0 for s in self.scale):
            raise InternalError(f"QuantSpec scales must be finite and positive, got {self.scale[:4]}")
        n = max(len(self.scale), len(self.zero_point))
        if n > 1 and self.axis is None:
            raise InternalError("a per-channel QuantSpec needs an axis")
        for name in ("scale", "zero_point"):
            vals = getattr(self, name)
            if len(vals) not in (1, n):
                raise InternalError(f"QuantSpec {name} has {len(vals)} entries, expected 1 or {n}")
        full_lo, full_hi = self.full_range
        lo = full_lo if self.lo is None else int(self.lo)
        hi = full_hi if self.hi is None else int(self.hi)
        if not full_lo <= lo <= hi <= full_hi:
            raise InternalError(f"QuantSpec range [{lo}, {hi}] outside {self.bits}-bit type")
        set_(self, "lo", lo)
        set_(self, "hi", hi)

    # -- constructors -------------------------------------------------------------
    @classmethod
    def integer(cls, bits, signed, scale=1.0, zero_point=0, axis=None, narrow=False):
        return cls(bits=bits, signed=signed, narrow=narrow, scale=np.atleast_1d(scale),
                   zero_point=np.atleast_1d(zero_point), axis=axis)

    @classmethod
    def fixed(cls, bits: int, int_bits: int, signed: bool = True):
        """ap_fixed<bits, int_bits>-style: scale 2**-(bits - int_bits)."""
        return cls(bits=bits, signed=signed, scale=(2.0 ** (int_bits - bits),))

    @classmethod
    def bipolar_spec(cls, scale=1.0, axis=None):
        return cls(bits=1, signed=True, bipolar=True, scale=np.atleast_1d(scale), axis=axis)

    @classmethod
    def for_range(cls, lo: int, hi: int, scale=1.0, axis=None):
        """An accumulator type: the fewest bits holding [lo, hi], zero point 0."""
        bits, signed = bits_for_range(lo, hi)
        return cls(bits=bits, signed=signed, scale=np.atleast_1d(scale), axis=axis, lo=lo, hi=hi)

    # -- derived ------------------------------------------------------------------
    @property
    def full_range(self) -> tuple[int, int]:
        if self.bipolar:
            return -1, 1
        return int_range(self.bits, self.signed, self.narrow)

    @property
    def per_channel(self) -> bool:
        return max(len(self.scale), len(self.zero_point)) > 1

    @property
    def channels(self) -> int:
        return max(len(self.scale), len(self.zero_point))

    @property
    def has_zero_point(self) -> bool:
        return any(z != 0 for z in self.zero_point)

    def broadcast(self, values: tuple, ndim: int) -> np.ndarray:
        """scale or zero_point shaped to broadcast over a batch-first array."""
        arr = np.asarray(values)
        if len(values) == 1:
            return arr.reshape(())
        shape = [1] * ndim
        shape[self.axis + 1] = len(values)
        return arr.reshape(shape)

    def dequantize(self, codes: np.ndarray) -> np.ndarray:
        """Real values of batch-first integer codes, in float64."""
        scale = self.broadcast(self.scale, codes.ndim).astype(np.float64)
        if not self.has_zero_point:
            return codes.astype(np.float64) * scale
        zp = self.broadcast(self.zero_point, codes.ndim)
        return (codes - zp).astype(np.float64) * scale

    def with_(self, **changes) -> "QuantSpec":
        fields = dict(bits=self.bits, signed=self.signed, narrow=self.narrow, bipolar=self.bipolar,
                      scale=self.scale, zero_point=self.zero_point, axis=self.axis, lo=None, hi=None)
        fields.update(changes)
        return QuantSpec(**fields)

    def __str__(self) -> str:
        if self.bipolar:
            body = "bipolar"
        else:
            body = f"{'i' if self.signed else 'u'}{self.bits}{'n' if self.narrow else ''}"
            if (self.lo, self.hi) != self.full_range:
                body += f"[{self.lo}..{self.hi}]"
        if self.per_channel:
            body += f" s=[{self.channels}@{self.axis}]"
        elif self.scale[0] != 1.0:
            body += f" s={self.scale[0]:.6g}"
        if self.has_zero_point and not self.per_channel:
            body += f" z={self.zero_point[0]}"
        return body

    def to_json(self) -> dict:
        return {"bits": self.bits, "signed": self.signed, "narrow": self.narrow,
                "bipolar": self.bipolar, "scale": list(self.scale),
                "zero_point": list(self.zero_point), "axis": self.axis,
                "lo": self.lo, "hi": self.hi}


def quantize(x: np.ndarray, spec: QuantSpec, mode: RoundMode = RoundMode.HALF_EVEN,
             round_first: bool = False) -> np.ndarray:
    """Real float64 values to int64 codes.

    QONNX Quant: divide by the scale, add the zero point, clamp, round.  With
    ``round_first`` (ONNX QuantizeLinear): divide, round, add the zero point, saturate;
    the two differ on exact ties when the zero point is odd.  Bipolar: sign, 0 -> +1.
    """
    x = np.asarray(x, dtype=np.float64)
    y = x / spec.broadcast(spec.scale, x.ndim)
    if spec.bipolar:
        return np.where(y >= 0.0, 1, -1).astype(np.int64)
    if round_first:
        y = round_real(y, mode)
    if spec.has_zero_point:
        y = y + spec.broadcast(spec.zero_point, x.ndim)
    y = np.clip(y, spec.lo, spec.hi)
    return y.astype(np.int64) if round_first else round_real(y, mode).astype(np.int64)
