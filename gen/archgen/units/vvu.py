"""Vector-vector unit for depthwise convolution: acc[c] = sum_k win[k, c] * W[c, k] + bias[c].

Consumes the swg's windows (kernel position major, channel minor); each channel has
its own kernel, so there is no reduction across channels.  Folded by PE (channels in
parallel) and SIMD (kernel taps in parallel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const, weight_bounds
from ..ir.types import QuantSpec, bits_for_range


@dataclass(frozen=True, eq=False)
class Params(Op):
    weight: np.ndarray  # int64 (C, K) with K = prod(kernel)
    in_zero_point: int  # subtracted from every input code (hardware: a bias -zx * sum W)
    weight_spec: QuantSpec
    scale: tuple = (1.0,)  # real scale of the accumulator, per channel or shared
    pe: int = 1
    simd: int = 1

    def __post_init__(self):
        object.__setattr__(self, "weight", const(self.weight, np.int64))
        object.__setattr__(self, "scale", tuple(float(v) for v in self.scale))

    @property
    def bias(self) -> np.ndarray:
        return -self.in_zero_point * self.weight.sum(axis=1)

    @classmethod
    def kind(cls):
        return "vvu"

    def summary(self):
        c, k = self.weight.shape
        return f"vvu[{c}ch x {k} taps w:{self.weight_spec.bits}b pe{self.pe} simd{self.simd}]"

    def acc_range(self, x: QuantSpec):
        return weight_bounds(self.weight, x.lo - self.in_zero_point, x.hi - self.in_zero_point)

    def infer(self, ins):
        x = ins[0]
        c, k = self.weight.shape
        if x.quant is None or x.shape[-1] != c * k:
            raise InternalError(f"vvu {self.weight.shape} on {x}")
        lo, hi = self.acc_range(x.quant)
        shape = x.shape[:-1] + (c,)
        axis = len(shape) - 1 if len(self.scale) > 1 else None
        return [(shape, QuantSpec.for_range(lo, hi, self.scale, axis))]


def golden(p: Params, x: np.ndarray) -> list:
    c, k = p.weight.shape
    win = x.reshape(x.shape[:-1] + (k, c)).astype(np.int64) - p.in_zero_point
    return [np.einsum("...kc,ck->...c", win, p.weight)]


def derive(p: Params, x: QuantSpec) -> dict:
    c, k = p.weight.shape
    lo, hi = p.acc_range(x)
    acc_bits, acc_signed = bits_for_range(lo, hi)
    return {"channels": c, "taps": k, "pe": p.pe, "simd": p.simd, "in_bits": x.bits,
            "in_signed": x.signed, "w_bits": p.weight_spec.bits, "w_signed": p.weight_spec.signed,
            "acc_bits": acc_bits, "acc_signed": acc_signed}


def context(p: Params, x: QuantSpec) -> dict:
    return {**derive(p, x), "has_bias": bool(p.in_zero_point), "bias": p.bias.tolist()}
