"""Residual add of two streams with different scales: acc = wa*(a - za) + wb*(b - zb).

The integer weights align the two scales (solved in passes/absorb_scales.py so that the
following thresholds/requantizer reproduce the model's float add exactly on every pair
of codes); the output is an accumulator that a thresholds or requant unit consumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op
from ..ir.types import QuantSpec


@dataclass(frozen=True, eq=False)
class Params(Op):
    wa: int
    wb: int
    za: int
    zb: int
    spec: QuantSpec  # accumulator

    @classmethod
    def kind(cls):
        return "add"

    def summary(self):
        return f"add[{self.wa}*a + {self.wb}*b -> {self.spec}]"

    def infer(self, ins):
        a, b = ins
        if a.shape != b.shape or a.quant is None or b.quant is None:
            raise InternalError(f"add of {a} and {b}")
        return [(a.shape, self.spec)]


def golden(p: Params, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return [p.wa * (a - p.za) + p.wb * (b - p.zb)]


def derive(p: Params, a_spec: QuantSpec, b_spec: QuantSpec) -> dict:
    return {"a_bits": a_spec.bits, "b_bits": b_spec.bits, "out_bits": p.spec.bits,
            "wa": p.wa, "wb": p.wb, "za": p.za, "zb": p.zb}


def context(p: Params, a_spec: QuantSpec, b_spec: QuantSpec) -> dict:
    return derive(p, a_spec, b_spec)
