"""Channel slice of a stream (channels-last: the last axis): y = x[..., start:stop].

The inverse of concat: it splits one tensor's channels into parts, e.g. the offsets and the
mask that one convolution computes for a deformable convolution (ONNX Slice on the channel
axis).  Codes pass unchanged, so the output keeps the input's (per-tensor) QuantSpec.

Hardware (hw/rtl/chslice.v): the input carries pe elements per beat, C/pe beats (lane
groups) per pixel.  A beat of group g = start/pe .. stop/pe - 1 goes to the output register,
any other is accepted and dropped.  One input beat per cycle; m_axis_tlast on the last kept
beat of a frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op

CELLS = ("chslice.v",)


@dataclass(frozen=True, eq=False)
class Params(Op):
    start: int  # first kept channel, 0 <= start < stop
    stop: int  # one past the last kept channel, <= the input's channel count
    pe: int = 1  # lanes per beat (set by folding); divides start, stop - start and C

    @classmethod
    def kind(cls):
        return "chslice"

    def summary(self):
        pe = f" pe{self.pe}" if self.pe > 1 else ""
        return f"chslice[{self.start}:{self.stop}{pe}]"

    def infer(self, ins):
        if len(ins) != 1:
            raise InternalError(f"chslice of {len(ins)} inputs: takes exactly one")
        (x,) = ins
        if x.quant is None or x.quant.per_channel:
            raise InternalError(f"chslice needs a per-tensor quantized input, {x.name} has "
                                f"{x.quant}")
        if not x.shape:
            raise InternalError(f"chslice of {x.name}: a scalar has no channel axis")
        c = int(x.shape[-1])
        if not 0 <= self.start < self.stop <= c:
            raise InternalError(f"chslice of {x.name}: channels {self.start}:{self.stop} must "
                                f"satisfy 0 <= start < stop <= {c}")
        return [(x.shape[:-1] + (self.stop - self.start,), x.quant)]


def golden(p: Params, x) -> list:
    return [np.ascontiguousarray(np.asarray(x)[..., p.start:p.stop])]


def derive(p: Params, ins, outs) -> dict:
    """Stream figures: lanes, beat width, lane groups kept, beats (= cycles) per frame."""
    (x,), (y,) = ins, outs
    c = int(x.shape[-1])
    width = p.stop - p.start
    if p.pe < 1 or c % p.pe or p.start % p.pe or width % p.pe:
        common = math.gcd(c, p.start, width)
        valid = [d for d in range(1, common + 1) if common % d == 0]
        raise InternalError(f"chslice {y.name}: pe={p.pe} must divide the start {p.start}, "
                            f"the width {width} and the channel count {c}; valid: {valid}")
    if tuple(y.shape) != tuple(x.shape[:-1]) + (width,) or y.quant.bits != x.quant.bits:
        raise InternalError(f"chslice {y.name}: output {y} is not {x.name}[..., "
                            f"{p.start}:{p.stop}]")
    pixels = math.prod(x.shape[:-1])
    groups = c // p.pe
    return {
        "in_lanes": [p.pe],
        "out_lanes": [p.pe],
        "channels": c,
        "pixels": pixels,
        "bits": x.quant.bits,
        "width": p.pe * x.quant.bits,  # tdata bits of both streams
        "groups": groups,  # beats (lane groups) per input pixel
        "first_group": p.start // p.pe,  # the kept groups: first_group .. last_group
        "last_group": p.stop // p.pe - 1,
        "frame_beats": pixels * groups,  # input beats per frame
        "out_beats": pixels * width // p.pe,  # output beats per frame
        "cycles": pixels * groups,  # one input beat per cycle
    }


def context(p: Params, ins, outs) -> dict:
    return {**derive(p, ins, outs), "start": p.start, "stop": p.stop, "lanes": p.pe}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx.

    The output register (data, last, valid) loaded from the input with no logic in front of
    it; the lane-group and pixel counters, each bit with a second LUT for its wrap to zero
    and reset; a compare per group bound that not every group meets; tready and tlast.
    Measured on 5 configurations (1 to 64 channels, 1 to 1024 pixels): within 5 LUTs."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    bits = pr.clog2(d["groups"]) + pr.clog2(d["pixels"])
    bounds = int(d["first_group"] > 0) + int(d["last_group"] < d["groups"] - 1)
    return (pr.reg(d["width"] + 2) + Cost(LUT=3 + bounds + bits) + pr.counter(d["groups"])
            + pr.counter(d["pixels"]))
