"""Channel concatenation of streams (channels-last: the last axis).

Hardware (hw/rtl/concat.v): per pixel, C_0/pe beats from input 0, then C_1/pe beats from
input 1, ...; every input element is widened (sign/zero-extended, or a bipolar bit made
-1/+1) to the output tensor's element bits.  One output beat per cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, InternalError
from ..ir.ops import Op, concat_spec

CELLS = ("concat.v",)


@dataclass(frozen=True, eq=False)
class Params(Op):
    pe: int = 1  # elements per beat on every stream; divides every input's channel count

    @classmethod
    def kind(cls):
        return "concat"

    def summary(self):
        return f"concat[pe{self.pe}]"

    def infer(self, ins):
        if any(t.quant is None for t in ins) or len({t.shape[:-1] for t in ins}) != 1:
            raise InternalError("concat of streams with different pixels or float data")
        ax = len(ins[0].shape) - 1
        shape = ins[0].shape[:-1] + (sum(t.shape[-1] for t in ins),)
        return [(shape, concat_spec([t.quant for t in ins], [t.shape[-1] for t in ins], ax))]


def golden(p: Params, *xs) -> list:
    return [np.concatenate(xs, axis=-1)]


def derive(p: Params, ins, outs) -> dict:
    """Stream figures: lanes, element widths per stream, beats (= cycles) per frame."""
    (out,) = outs
    if len(ins) < 2:
        raise InternalError(f"concat of {len(ins)} stream(s): needs at least 2")
    channels = [int(t.shape[-1]) for t in ins]
    if p.pe < 1 or any(c % p.pe for c in channels):
        common = math.gcd(*channels)
        valid = [d for d in range(1, common + 1) if common % d == 0]
        raise ConfigError(f"concat {out.name}: pe={p.pe} must divide every input's channel "
                          f"count {channels}; valid: {valid}")
    q = out.quant
    pixels = math.prod(out.shape[:-1])
    in_bits = [t.quant.bits for t in ins]
    return {
        "in_lanes": [p.pe] * len(ins),
        "out_lanes": [p.pe],
        "inputs": len(ins),
        "channels": channels,
        "pixels": pixels,
        "bits": q.bits,
        "in_bits": in_bits,
        "in_signed": [bool(t.quant.signed) for t in ins],
        # a bipolar input whose bit becomes a -1/+1 code (not when the output is bipolar too)
        "in_bipolar": [bool(t.quant.bipolar and not q.bipolar) for t in ins],
        "in_widths": [p.pe * b for b in in_bits],
        "in_width": p.pe * sum(in_bits),
        "out_width": p.pe * q.bits,
        "cycles": pixels * sum(channels) // p.pe,  # output beats per frame, one per cycle
    }


def context(p: Params, ins, outs) -> dict:
    d = derive(p, ins, outs)
    return {**d, "lanes": p.pe, "ports": [f"s{i}_axis" for i in range(d["inputs"])]}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx.

    An output and a skid register of PE*OUT_BITS; per output bit the one-hot select
    of the N inputs and the skid multiplexer; the beat, pixel and input-select counters."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    n, ow = d["inputs"], d["out_width"]
    per_bit = n / 2 + 1.5  # measured: AND-OR over the inputs, the skid and output muxes
    beats = max(c // p.pe for c in d["channels"])
    return (Cost(LUT=per_bit * ow + n + 4, FF=2 * ow + n + 4) + pr.counter(beats)
            + pr.counter(d["pixels"]))
