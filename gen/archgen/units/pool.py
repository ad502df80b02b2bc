"""Streaming pooling on a channels-last stream: windowed max of codes, or windowed sum
(average pooling: the division is a scale absorbed into the next quantizer).  A global
pool is the case kernel == input size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, spatial_out, sum_spec
from ..ir.types import QuantSpec


@dataclass(frozen=True, eq=False)
class Params(Op):
    reduce: str  # "max" | "sum"
    kernel: tuple
    strides: tuple
    pads: tuple
    dilations: tuple
    ceil_mode: bool = False
    pad_value: int | None = None  # code padded in; None: -inf for max, 0 for sum
    pe: int = 1

    @classmethod
    def kind(cls):
        return "pool"

    def summary(self):
        return f"pool[{self.reduce} k{'x'.join(map(str, self.kernel))} s{self.strides}]"

    def out_spatial(self, spatial):
        nd = len(self.kernel)
        return tuple(spatial_out(spatial[i], self.kernel[i], self.strides[i], self.pads[i],
                                 self.pads[nd + i], self.dilations[i], self.ceil_mode)
                     for i in range(nd))

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or len(x.shape) != len(self.kernel) + 1:
            raise InternalError(f"pool with kernel {self.kernel} on {x}")
        shape = self.out_spatial(x.shape[:-1]) + (x.shape[-1],)
        if self.reduce == "max":
            return [(shape, x.quant)]
        return [(shape, sum_spec(x.quant, int(np.prod(self.kernel)), any(self.pads) or self.ceil_mode))]


def golden(p: Params, x: np.ndarray) -> list:
    from ..golden import MAX_POOL_PAD, windows

    xc = np.moveaxis(x, -1, 1)
    nd = len(p.kernel)
    axes = tuple(range(-nd, 0))
    if p.reduce == "max":
        pad = MAX_POOL_PAD if p.pad_value is None else p.pad_value
        y = windows(xc, p.kernel, p.strides, p.pads, p.dilations, pad, p.ceil_mode).max(axis=axes)
    else:
        pad = 0 if p.pad_value is None else p.pad_value
        y = windows(xc, p.kernel, p.strides, p.pads, p.dilations, pad, p.ceil_mode).sum(
            axis=axes, dtype=np.int64)
    return [np.moveaxis(y, 1, -1)]


def derive(p: Params, x_shape: tuple, x: QuantSpec) -> dict:
    return {"reduce": p.reduce, "kernel": list(p.kernel), "channels": x_shape[-1],
            "in_spatial": list(x_shape[:-1]), "out_spatial": list(p.out_spatial(x_shape[:-1])),
            "in_bits": x.bits, "pe": p.pe}


def context(p: Params, x_shape: tuple, x: QuantSpec) -> dict:
    return {**derive(p, x_shape, x), "strides": list(p.strides), "pads": list(p.pads),
            "pad_value": p.pad_value}
