"""Matrix-vector unit: acc[n] = sum_k x[k] * W[n, k] + bias[n], exact integers.

Folded by PE (output rows in parallel) and SIMD (input columns in parallel); a binary
mode (bipolar inputs and weights) computes the same sum as XNOR-popcount:
sum = 2 * popcount(xnor) - K.  ``bias`` carries the input zero point (-zx * sum W).
Convolutions reach this unit through the sliding-window generator (swg).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const, weight_bounds
from ..ir.types import QuantSpec, bits_for_range


@dataclass(frozen=True, eq=False)
class Params(Op):
    weight: np.ndarray  # int64 (N, K)
    in_zero_point: int  # subtracted from every input code (hardware: a bias -zx * sum W)
    weight_spec: QuantSpec  # bits/signedness of the weight codes
    scale: tuple = (1.0,)  # real scale of the accumulator, per output or shared
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
        return "mvu"

    def summary(self):
        n, k = self.weight.shape
        return f"mvu[{k}->{n} w:{self.weight_spec.bits}b pe{self.pe} simd{self.simd}]"

    def acc_range(self, x: QuantSpec) -> tuple[int, int]:
        return weight_bounds(self.weight, x.lo - self.in_zero_point, x.hi - self.in_zero_point)

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or x.shape[-1] != self.weight.shape[1]:
            raise InternalError(f"mvu {self.weight.shape} on {x}")
        lo, hi = self.acc_range(x.quant)
        shape = x.shape[:-1] + (self.weight.shape[0],)
        axis = len(shape) - 1 if len(self.scale) > 1 else None
        return [(shape, QuantSpec.for_range(lo, hi, self.scale, axis))]


def golden(p: Params, x: np.ndarray) -> list:
    from ..golden import int_matmul

    xs = x - p.in_zero_point
    bound = int(np.abs(p.weight).sum(axis=1).max(initial=0)) * int(np.abs(xs).max(initial=0))
    return [int_matmul(xs, p.weight.T, bound)]


def derive(p: Params, x: QuantSpec) -> dict:
    n, k = p.weight.shape
    lo, hi = p.acc_range(x)
    acc_bits, acc_signed = bits_for_range(lo, hi)
    binary = x.bipolar and p.weight_spec.bipolar
    return {"rows": n, "cols": k, "pe": p.pe, "simd": p.simd,
            "in_bits": x.bits, "in_signed": x.signed, "w_bits": p.weight_spec.bits,
            "w_signed": p.weight_spec.signed, "acc_bits": acc_bits, "acc_signed": acc_signed,
            "binary": binary, "cycles": (n // p.pe) * (k // p.simd)}


def context(p: Params, x: QuantSpec) -> dict:
    return {**derive(p, x), "has_bias": bool(p.in_zero_point), "bias": p.bias.tolist()}
