"""The top level's stream plumbing: FIFOs on forked branches and in front of matrix-vector
units, forks, and width converters (the instances ``backends.verilog.top_context`` wires)."""

from __future__ import annotations

from . import primitives as pr
from .resources import Cost


def fifo(width: int, depth: int) -> Cost:
    """hw/rtl/axis_fifo.v: a RAM of DEPTH (rounded up to a power of two) words, pointers."""
    d = 1 << pr.clog2(max(2, depth))
    a = pr.clog2(d)
    return pr.ram(d, width) + pr.reg(2 * (a + 1) + 1) + pr.adder(a + 1) * 2 + Cost(LUT=a + 2)


def fork(width: int, n: int) -> Cost:
    """hw/rtl/axis_fork.v: one pending bit per output."""
    return Cost(LUT=2 * n, FF=n)


def width_converter(bits: int, in_lanes: int, out_lanes: int) -> Cost:
    """hw/rtl/axis_width.v: a shift register of the wider side and a lane counter."""
    wide = max(in_lanes, out_lanes) * bits
    ratio = max(in_lanes, out_lanes) // max(1, min(in_lanes, out_lanes))
    return pr.reg(wide + 2) + pr.counter(ratio) + Cost(LUT=wide)


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
