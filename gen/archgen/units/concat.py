"""Channel concatenation of streams (channels-last: the last axis)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, concat_spec


@dataclass(frozen=True, eq=False)
class Params(Op):
    @classmethod
    def kind(cls):
        return "concat"

    def infer(self, ins):
        if any(t.quant is None for t in ins) or len({t.shape[:-1] for t in ins}) != 1:
            raise InternalError("concat of streams with different pixels or float data")
        ax = len(ins[0].shape) - 1
        shape = ins[0].shape[:-1] + (sum(t.shape[-1] for t in ins),)
        return [(shape, concat_spec([t.quant for t in ins], [t.shape[-1] for t in ins], ax))]


def golden(p: Params, *xs) -> list:
    return [np.concatenate(xs, axis=-1)]


def derive(p: Params, shapes) -> dict:
    return {"channels": [s[-1] for s in shapes]}


def context(p: Params, shapes) -> dict:
    return derive(p, shapes)
