"""The top level's stream plumbing: FIFOs on forked branches and in front of matrix-vector
units, forks, and width converters (the instances ``backends.verilog.top_context`` wires)."""

from __future__ import annotations

import math

from . import memory
from . import primitives as pr
from .resources import Cost


def fifo(width: int, depth: int) -> Cost:
    """hw/rtl/axis_fifo.v: a simple dual-port RAM of DEPTH (rounded up to a power of two)
    words of tdata + tlast with a registered read, two AW+1-bit pointers with their
    incrementers, and the full/empty compares."""
    a = max(1, pr.clog2(max(2, depth)))
    return (memory.ram_cost(1 << a, width + 1) + pr.reg(2 * (a + 1) + 1)
            + pr.adder(a + 1) * 2 + Cost(LUT=math.ceil(2 * (a + 1) / 3) + 3))


def fork(width: int, n: int) -> Cost:
    """hw/rtl/axis_fork.v: an output and a skid register of tdata + tlast (the output's
    input multiplexer a LUT per bit), one valid bit per output."""
    return Cost(LUT=width + 1 + 2 * n + 2, FF=2 * (width + 1) + n + 1)


def width_converter(bits: int, in_lanes: int, out_lanes: int) -> Cost:
    """hw/rtl/axis_width.v: widening, a shift register and an output register of the
    wide word (a LUT per bit selects shift or held word) and a beat counter; narrowing,
    the wide word, a held input word, a multiplexer of three per bit (load held, load
    input, shift down) and a down-counter."""
    iw, ow = in_lanes * bits, out_lanes * bits
    if out_lanes > in_lanes:
        r = out_lanes // max(1, in_lanes)
        return Cost(LUT=ow + 4, FF=2 * ow + 4) + pr.counter(r)
    r = in_lanes // max(1, out_lanes)
    return Cost(LUT=iw * (1.5 if r > 1 else 1) + 6, FF=2 * iw + 5) + pr.counter(r + 1)


def glue_cost(hw, part) -> Cost:
    from ..backends.verilog import top_context

    out = Cost()
    for inst in top_context(hw)["instances"]:
        p = dict(inst["params"])
        if inst["module"] == "axis_fifo":
            out = out + fifo(p["WIDTH"], p["DEPTH"])
        elif inst["module"] == "axis_fork":
            out = out + fork(p["WIDTH"], p["N"])
        elif inst["module"] == "axis_width":
            out = out + width_converter(p["BITS"], p["IN_LANES"], p["OUT_LANES"])
    return out
