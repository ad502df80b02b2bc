"""Costs of the building blocks the cells are made of, as yosys ``synth_xilinx`` maps them
(measured; see bench/bench_calibration.py for how to re-measure).

Every unit's ``resources()`` composes these; nothing here knows about units.
"""

from __future__ import annotations

import math

from .resources import Cost


def clog2(n: int) -> int:
    return max(0, int(n) - 1).bit_length()


def reg(bits: int) -> Cost:
    """``bits`` flip-flops."""
    return Cost(FF=bits)


def adder(bits: int) -> Cost:
    """A ``bits``-wide adder or subtractor on the carry chain: a LUT per bit."""
    return Cost(LUT=bits, CARRY4=math.ceil(bits / 4))


def comparator(bits: int) -> Cost:
    """``a < b`` (or >=) of two ``bits``-wide operands: a subtractor's carry chain."""
    return Cost(LUT=bits, CARRY4=math.ceil(bits / 4))


def const_comparator(bits: int) -> Cost:
    """A comparison with a constant: half a LUT per bit and the carry chain."""
    return Cost(LUT=math.ceil(bits / 2), CARRY4=math.ceil(bits / 8))


def counter(limit: int) -> Cost:
    """A counter from 0 to ``limit`` - 1 with its wrap compare."""
    b = clog2(limit)
    return Cost(LUT=b, FF=b, CARRY4=math.ceil(b / 4)) if b else Cost()


def mux(inputs: int, bits: int) -> Cost:
    """An ``inputs``-to-1 multiplexer of ``bits``: a LUT6 is a 4:1 mux, MUXF7/MUXF8
    combine two and four of them for free."""
    if inputs <= 1:
        return Cost()
    if inputs == 2:
        per_bit = 0.5
    else:
        per_bit = math.ceil(inputs / 4) + (math.ceil(inputs / 16) - 1 if inputs > 16 else 0)
    return Cost(LUT=per_bit * bits)


def dsp_multiply(a_bits: int, b_bits: int, dsp_widths: tuple[int, int]) -> bool:
    """Whether yosys maps an ``a_bits`` x ``b_bits`` product to DSP slices (its mul2dsp rule:
    both operands at least 2 bits and the product at least 9 bits)."""
    return min(a_bits, b_bits) >= 2 and a_bits + b_bits >= 9


def multiplier(a_bits: int, b_bits: int, dsp_widths: tuple[int, int]) -> Cost:
    """A signed ``a_bits`` x ``b_bits`` multiply: DSP slices (one per 25x18/27x18 tile) when
    yosys would use them, else an array of partial-product adders in LUTs."""
    a, b = max(a_bits, b_bits), min(a_bits, b_bits)
    if b <= 1:
        return Cost(LUT=math.ceil(a / 2))  # an AND/negate per bit
    if dsp_multiply(a_bits, b_bits, dsp_widths):
        wa, wb = dsp_widths
        tiles = math.ceil(max(1, a - 1) / (wa - 1)) * math.ceil(max(1, b - 1) / (wb - 1))
        return Cost(DSP=tiles)
    return Cost(LUT=a * b * 0.6 + a, CARRY4=math.ceil((a + b) / 4) * max(1, b // 2))


def rom(depth: int, bits: int) -> Cost:
    """A ROM of ``depth`` words of ``bits`` with a registered read (what the cells write):
    block RAM, LUT ROM, or logic, as yosys's memory mapping chooses."""
    from .memory import rom_cost

    return rom_cost(depth, bits)


def ram(depth: int, bits: int) -> Cost:
    """A simple dual-port RAM (one write, one registered read port) of ``depth`` x ``bits``."""
    from .memory import ram_cost

    return ram_cost(depth, bits)
