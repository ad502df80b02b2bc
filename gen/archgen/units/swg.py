"""Sliding-window generator: a channels-last pixel stream -> one window per output pixel.

Output vector order is (kernel position..., channel), the column order of the weight
matrices the following mvu/vvu holds.  Padding inserts ``pad_value`` (the code of real
zero); strides and dilations are general.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, spatial_out


@dataclass(frozen=True, eq=False)
class Params(Op):
    kernel: tuple
    strides: tuple
    pads: tuple  # (begin..., end...)
    dilations: tuple
    pad_value: int = 0
    simd: int = 1

    @classmethod
    def kind(cls):
        return "swg"

    def summary(self):
        return f"swg[k{'x'.join(map(str, self.kernel))} s{self.strides} p{self.pads}]"

    def out_spatial(self, spatial):
        nd = len(self.kernel)
        return tuple(spatial_out(spatial[i], self.kernel[i], self.strides[i], self.pads[i],
                                 self.pads[nd + i], self.dilations[i]) for i in range(nd))

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or len(x.shape) != len(self.kernel) + 1:
            raise InternalError(f"swg with kernel {self.kernel} on {x}")
        out = self.out_spatial(x.shape[:-1])
        k = int(np.prod(self.kernel))
        spec = x.quant
        if any(self.pads) and not spec.lo <= self.pad_value <= spec.hi:
            spec = spec.with_(lo=min(spec.lo, self.pad_value), hi=max(spec.hi, self.pad_value))
        return [(out + (k * x.shape[-1],), spec)]


def golden(p: Params, x: np.ndarray) -> list:
    from ..golden import windows

    xc = np.moveaxis(x, -1, 1)  # (B, C, *S)
    win = windows(xc, p.kernel, p.strides, p.pads, p.dilations, p.pad_value)  # (B, C, *O, *K)
    nd = len(p.kernel)
    b, c = win.shape[:2]
    out = win.shape[2:2 + nd]
    win = np.moveaxis(win, 1, -1)  # (B, *O, *K, C)
    return [win.reshape((b,) + out + (-1,))]


def derive(p: Params, x_shape: tuple) -> dict:
    nd = len(p.kernel)
    out = p.out_spatial(x_shape[:-1])
    rows = (p.kernel[0] - 1) * p.dilations[0] + 1 if nd == 2 else 1
    return {"channels": x_shape[-1], "in_spatial": list(x_shape[:-1]), "out_spatial": list(out),
            "kernel": list(p.kernel), "simd": p.simd,
            "buffer_pixels": rows * (x_shape[-2] if nd == 2 else x_shape[0])}


def context(p: Params, x_shape: tuple) -> dict:
    return {**derive(p, x_shape), "strides": list(p.strides), "pads": list(p.pads),
            "dilations": list(p.dilations), "pad_value": p.pad_value}
