"""How yosys ``synth_xilinx`` maps the cells' memories (measured; see
bench/bench_calibration.py): read-only ones (weights, thresholds) and simple dual-port
RAMs (line buffers, FIFOs)."""

from __future__ import annotations

import math

from .resources import Cost


def rom_cost(depth: int, bits: int) -> Cost:
    """A ROM with a registered read port."""
    if depth <= 32:
        return Cost(LUT=bits, FF=bits)  # a LUT5 per output bit, then the read register
    if depth <= 64:
        return Cost(LUT=bits, FF=bits)
    return bram(depth, bits)


def ram_cost(depth: int, bits: int) -> Cost:
    """A simple dual-port RAM with a registered read port."""
    if depth <= 64:
        return Cost(LUT=math.ceil(bits / 3) * 4 * math.ceil(depth / 64), FF=bits)
    return bram(depth, bits)


def bram(depth: int, bits: int) -> Cost:
    """Block RAM: an 18 Kb block is 512x36, 1Kx18, 2Kx9, 4Kx4, 8Kx2 or 16Kx1; a 36 Kb one
    twice that depth."""
    for d, w in ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)):
        if depth <= d:
            return Cost(BRAM18=math.ceil(bits / w))
    return Cost(BRAM36=math.ceil(depth / 32768) * bits)
