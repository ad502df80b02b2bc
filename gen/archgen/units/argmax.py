"""Label select: index of the largest code along the last axis (first one on ties)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op
from ..ir.types import QuantSpec


@dataclass(frozen=True, eq=False)
class Params(Op):
    keepdims: bool = True

    @classmethod
    def kind(cls):
        return "argmax"

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or x.quant.per_channel:
            raise InternalError("argmax needs codes with one scale")
        n = x.shape[-1]
        shape = x.shape[:-1] + ((1,) if self.keepdims else ())
        return [(shape, QuantSpec.for_range(0, max(n - 1, 1)))]


def golden(p: Params, x: np.ndarray) -> list:
    return [np.argmax(x, axis=-1, keepdims=p.keepdims).astype(np.int64)]


def derive(p: Params, n: int, in_bits: int) -> dict:
    return {"n": n, "in_bits": in_bits, "out_bits": max(1, (n - 1).bit_length())}


def context(p: Params, n: int, in_bits: int) -> dict:
    return derive(p, n, in_bits)
