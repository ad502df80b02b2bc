"""Multiply-shift requantizer: out = clamp(round((M[c] * x + B[c]) / 2**shift), lo, hi).

``rounding`` is "floor" (a plain arithmetic shift) or "half_even" (convergent rounding:
the dropped bits decide, ties go to the even result; what ONNX and Brevitas use).

Replaces a float affine chain and its quantizer when the output is wide (many
thresholds); M, B and shift are solved in passes/absorb_scales.py so the result equals
the chain's own evaluation on every reachable input (checked at every breakpoint).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const
from ..ir.types import QuantSpec, bits_for_range


@dataclass(frozen=True, eq=False)
class Params(Op):
    mult: np.ndarray  # int64 (C,) (C == 1: shared); may be negative
    bias: np.ndarray  # int64 (C,)
    shift: int
    spec: QuantSpec  # output codes; clamp bounds are spec.lo, spec.hi
    axis: int
    rounding: str = "floor"

    ROUNDINGS = ("floor", "half_even")

    def __post_init__(self):
        object.__setattr__(self, "mult", const(self.mult, np.int64))
        object.__setattr__(self, "bias", const(self.bias, np.int64))
        if self.rounding not in self.ROUNDINGS:
            raise InternalError(f"requant rounding {self.rounding!r} not in {self.ROUNDINGS}")

    @classmethod
    def kind(cls):
        return "requant"

    def summary(self):
        rnd = "" if self.rounding == "floor" else " " + self.rounding
        return f"requant[x{self.mult.size} >>{self.shift}{rnd} -> {self.spec}]"

    def infer(self, ins):
        shape = ins[0].shape
        c = self.mult.size
        if ins[0].quant is None or (c != 1 and shape[self.axis] != c):
            raise InternalError(f"requant for {c} channels on {ins[0]}")
        return [(shape, self.spec)]


def shift_round(v: np.ndarray, shift: int, rounding: str) -> np.ndarray:
    """v / 2**shift rounded as the hardware does, on int64 arrays."""
    q = v >> shift
    if rounding == "half_even" and shift > 0:
        rem = v - (q << shift)
        half = 1 << (shift - 1)
        q = q + ((rem > half) | ((rem == half) & (q & 1 == 1)))
    return q


def golden(p: Params, x: np.ndarray) -> np.ndarray:
    xc = np.moveaxis(x, p.axis + 1, -1)
    y = shift_round(xc * p.mult + p.bias, p.shift, p.rounding)
    y = np.clip(y, p.spec.lo, p.spec.hi)
    return [np.moveaxis(y, -1, p.axis + 1)]


def derive(p: Params, in_spec: QuantSpec) -> dict:
    """Width of the product and sum the hardware computes before the shift."""
    lo, hi = in_spec.lo, in_spec.hi
    ends = [int(m) * v + int(b) for m, b in zip(p.mult, p.bias) for v in (lo, hi)]
    prod_bits, _ = bits_for_range(min(ends + [0]), max(ends + [0]))
    mbits, _ = bits_for_range(int(min(p.mult.min(), 0)), int(max(p.mult.max(), 0)))
    return {"in_bits": in_spec.bits, "mult_bits": mbits, "acc_bits": prod_bits,
            "shift": p.shift, "out_bits": p.spec.bits, "channels": p.mult.size}


def context(p: Params, in_spec: QuantSpec) -> dict:
    return {**derive(p, in_spec), "mult": p.mult.tolist(), "bias": p.bias.tolist(),
            "lo": p.spec.lo, "hi": p.spec.hi, "rounding": p.rounding}
