"""Multi-threshold activation unit: out = base + #{k : x' >= T[c, k]}, x' = +-x per channel.

The integer thresholds replace a float chain (bias, batch norm, scale, activation)
and its quantizer; they are derived from that chain's own evaluation (passes/
absorb_scales.py), so the unit computes exactly what the model did.  Hardware: one
comparator per threshold and channel, folded by PE (channels in parallel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const
from ..ir.types import QuantSpec, bits_for_range


@dataclass(frozen=True, eq=False)
class Params(Op):
    thresholds: np.ndarray  # int64 (C, T), ascending per row; C == 1: shared by all channels
    negate: np.ndarray  # bool (C,): compare -x instead of x
    base: int  # output code when no threshold is reached
    spec: QuantSpec  # output codes
    axis: int  # channel axis of the per-sample tensor

    def __post_init__(self):
        object.__setattr__(self, "thresholds", const(self.thresholds, np.int64))
        object.__setattr__(self, "negate", const(self.negate, bool))

    @classmethod
    def kind(cls):
        return "thresholds"

    def summary(self):
        c, t = self.thresholds.shape
        return f"thresholds[{c}x{t} -> {self.spec}]"

    def infer(self, ins):
        shape = ins[0].shape
        c = self.thresholds.shape[0]
        if ins[0].quant is None or (c != 1 and shape[self.axis] != c):
            raise InternalError(f"thresholds for {c} channels on {ins[0]}")
        return [(shape, self.spec)]


def golden(p: Params, x: np.ndarray) -> np.ndarray:
    xc = np.moveaxis(x, p.axis + 1, -1)
    xc = np.where(p.negate, -xc, xc)[..., None]
    count = (xc >= p.thresholds).sum(axis=-1, dtype=np.int64)
    return [np.moveaxis(count + p.base, -1, p.axis + 1)]


def derive(p: Params, in_spec: QuantSpec) -> dict:
    """Widths the hardware needs: comparator input width, threshold count, output bits."""
    lo, hi = in_spec.lo, in_spec.hi
    neg = bool(p.negate.any())
    t_lo = int(min(p.thresholds.min(initial=0), -hi if neg else lo))
    t_hi = int(max(p.thresholds.max(initial=0), -lo if neg else hi))
    bits, signed = bits_for_range(t_lo, t_hi)
    return {"in_bits": bits, "signed": signed, "steps": p.thresholds.shape[1],
            "channels": p.thresholds.shape[0], "out_bits": p.spec.bits}


def context(p: Params, in_spec: QuantSpec) -> dict:
    return {**derive(p, in_spec), "base": p.base,
            "thresholds": p.thresholds.tolist(), "negate": p.negate.astype(int).tolist()}
