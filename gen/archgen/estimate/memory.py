"""How yosys ``synth_xilinx -family xc7`` maps the cells' memories: read-only ones
(weights in mvu.v, thresholds in thresholds.v: constant-initialized or ``$readmemh``,
the same either way) and simple dual-port RAMs (swg.v's line buffer, axis_fifo.v, mvu.v's
replay buffer), each with one registered read port.

The choice is yosys's ``memory_libmap`` (yosys 0.23, passes/memory/memory_libmap.cc with
the libraries xilinx/lutrams_xc5v.txt and xilinx/brams_xc4v.txt), which this module
replays: every candidate mapping gets a cost and the cheapest wins.

- Soft logic: a ROM costs ``int(depth * width / 64)`` (synth_xilinx passes
  ``-logic-cost-rom 1/64``), a RAM ``depth * width`` (flip-flops: never chosen here).
- LUT-RAM: never for a ROM (the library prunes ROMs).  A RAM: RAM32M (32 words x 6 bits,
  4 LUTs) or RAM64M (64 x 3, 4 LUTs), cost 8 per cell less 7 per cell's worth of bits
  (``widthscale 7``), plus 0.5 per read-multiplexer input bit when the depth spans several
  cells; RAM32X1D/RAM64X1D/RAM128X1D (dual-port, cost 8 per bit-column) always lose.
- Block RAM: RAMB18 (cost 129: 16Kx1, 8Kx2, 4Kx4, 2Kx9, 1Kx18, or 512x36 simple
  dual-port) or RAMB36 (cost 257: twice as deep, or 512x72), cells = ceil(depth/rows) *
  ceil(width/cols), plus 0.5 per multiplexed read bit (depth split over cells) and 2 for
  the emulated read enable.

Consequences (measured over depths 16..16384 and widths 1..512, all matching):

- A ROM stays in logic while depth*width < 64*131 = 8384 bits (4096x2, 512x16, 16x512 are
  logic; 4096x3, 512x17 are one RAMB18); above that it goes to block RAM unless the
  logic is still cheaper than the block RAMs it would need (a shallow, very wide ROM:
  32x512 is logic, 15 RAMB18 would cost 1935).  In logic, a random ROM bit of depth <= 64
  is one LUT; deeper, a LUT6 per 64 words (MUXF7/MUXF8 join four for free) and a third
  more above 256 words for the multiplexer tree (a 4096x1 ROM is ~85 LUTs).
- A RAM goes to LUT-RAM up to about 256x8 / 128x16 / 64x64 / 32x128 and to block RAM
  beyond; LUT-RAM LUTs are 4 per RAM32M/RAM64M plus a read multiplexer (about a LUT per
  bit per 4 cells deep) when deeper than 64.
"""

from __future__ import annotations

import math

from ..errors import InternalError
from .resources import Cost

# (rows, data bits per row) of one block RAM in each aspect ratio
_B18_TDP = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18))
_B18_SDP = ((512, 36),)
_B36_TDP = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36))
_B36_SDP = ((512, 72),)
_B18_COST, _B36_COST = 129, 257
_BRAM_EMU = 2  # memory_libmap's emulation score (read enable) x FACTOR_EMU


def _bram(depth: int, bits: int) -> tuple[float, Cost]:
    """The cheapest block-RAM geometry: (memory_libmap cost, resources)."""
    best = None
    for unit, shapes, key in ((_B18_COST, _B18_TDP + _B18_SDP, "BRAM18"),
                              (_B36_COST, _B36_TDP + _B36_SDP, "BRAM36")):
        for rows, cols in shapes:
            mult_a = math.ceil(depth / rows)
            cells = mult_a * math.ceil(bits / cols)
            cost = unit * cells + 0.5 * (mult_a - 1) * bits + _BRAM_EMU
            if best is None or cost < best[0]:
                # the read multiplexer over mult_a cells (a 4:1 per LUT6)
                lut = bits * _mux_luts(mult_a) + (mult_a if mult_a > 1 else 0)
                best = (cost, Cost(LUT=lut, **{key: cells}))
    return best


def _mux_luts(n: int) -> float:
    """LUTs per bit of an ``n``-to-1 multiplexer of registered or LUT-RAM outputs."""
    return 0.0 if n <= 1 else math.ceil((n - 1) / 3)


def _rom_logic_luts(depth: int, bits: int) -> float:
    """A random ROM in LUTs: a LUT per bit up to 64 words; deeper, a LUT6 per 64 words
    whose outputs MUXF7/MUXF8 combine in fours for free (256 words: 4 LUTs), and above
    256 words about a third more for the LUTs multiplexing those (measured: 512x1 9,
    1024x1 20, 2048x1 42, 4096x1 82-88, 8192x1 165)."""
    if depth <= 64:
        return bits
    n = math.ceil(depth / 64)
    return bits * (n + max(0, n - 4) / 3)


def rom_kind(depth: int, bits: int) -> str:
    """"logic" or "bram": where yosys puts a ``depth`` x ``bits`` ROM."""
    logic = int(depth * bits / 64)
    return "bram" if _bram(depth, bits)[0] < logic else "logic"


# the ``weight_memory`` option: where a unit's weight ROM goes
WEIGHT_MEMORIES = ("auto", "bram", "lutram", "logic")


def weight_placement(choice: str, depth: int, bits: int) -> str:
    """Where a weight ROM of ``depth`` words of ``bits`` goes: "bram", "lutram" or "logic".

    ``choice`` is the ``weight_memory`` option.  "auto" decides by size, as yosys's
    memory_libmap does without an attribute (``rom_kind``): block RAM once the block RAMs
    the ROM needs cost less than its bits in logic (memory_libmap's cost: depth*bits/64,
    so from about 8 Kbit on, unless the ROM is shallow and very wide), else "logic"; the
    ``place_weights`` pass later moves some of those to block RAM (as "bram").  The
    one decision feeds the RTL (the ``WEIGHT_MEM`` parameter of mvu.v, vvu.v and
    synapse.v, which sets the ROM's attributes), the HLS kernel (BIND_STORAGE impl) and
    the estimate (``rom_cost``), so the three agree.  Any other choice is taken as is."""
    if choice not in WEIGHT_MEMORIES:
        raise InternalError(f"weight memory {choice!r} is not one of {', '.join(WEIGHT_MEMORIES)}")
    if choice != "auto":
        return choice
    return rom_kind(max(1, int(depth)), max(1, int(bits)))


def rom_cost(depth: int, bits: int, placement: str | None = None) -> Cost:
    """A ROM with a registered read port (the cells' weight and threshold tables), placed
    as ``placement`` says ("bram", "lutram", "logic"; None: where yosys puts it).

    Block RAM takes the cheapest geometry (``_bram``).  "lutram" and "logic" cost the same:
    a ROM in LUTs is LUT6s as 64 x 1 ROMs joined by MUXF7/MUXF8 either way (yosys 0.23's
    xc7 LUT-RAM library has no ROM, so the cells build a distributed ROM from logic, which
    maps to exactly that; ``_lutram``'s RAM32M/RAM64M tiles are for memories with a write
    port), plus the read register."""
    depth, bits = max(1, int(depth)), max(1, int(bits))
    if placement is None:
        placement = rom_kind(depth, bits)
    if placement == "bram":
        return _bram(depth, bits)[1]  # the read register is the block RAM's own
    cols = distinct_columns(depth, bits)
    return Cost(LUT=_rom_logic_luts(depth, cols), FF=cols)


def distinct_columns(depth: int, bits: int) -> float:
    """The expected count of distinct bit columns among ``bits`` random ones of a
    ``depth``-word ROM: yosys merges equal columns (one LUT and read register each), and
    a shallow ROM has only 2**depth possible columns (8 words x 256 bits: about 162,
    measured 163)."""
    if depth > 16:
        return bits
    n = 2.0 ** depth
    return n * (1 - (1 - 1 / n) ** bits)


def _lutram(depth: int, bits: int) -> tuple[float, Cost]:
    """The cheaper of RAM32M (32 x 6) and RAM64M (64 x 3) tilings."""
    best = None
    for rows, cols in ((32, 6), (64, 3)):
        mult_a = math.ceil(depth / rows)
        cells = mult_a * math.ceil(bits / cols)
        cost = cells + 7 * mult_a * bits / cols + 0.5 * (mult_a - 1) * bits
        cost += 0.5 * mult_a if mult_a > 1 else 0
        if best is None or cost < best[0]:
            lut = 4 * cells + bits * _mux_luts(mult_a) + (mult_a if mult_a > 1 else 0)
            best = (cost, Cost(LUT=lut, FF=bits))
    return best


def ram_kind(depth: int, bits: int) -> str:
    """"lutram" or "bram": where yosys puts a ``depth`` x ``bits`` simple dual-port RAM."""
    return "bram" if _bram(depth, bits)[0] < _lutram(depth, bits)[0] else "lutram"


def ram_cost(depth: int, bits: int) -> Cost:
    """A simple dual-port RAM (one write port, one registered read port)."""
    depth, bits = max(1, int(depth)), max(1, int(bits))
    if ram_kind(depth, bits) == "bram":
        return _bram(depth, bits)[1]
    return _lutram(depth, bits)[1]


# single-port LUT-RAM (write and asynchronous read at one address): words x bits per
# 4-LUT group (RAM32M as 32x8, RAM64M as 64x4, 2 RAM128X1S, RAM256X1S)
_SP_SHAPES = ((32, 8), (64, 4), (128, 2), (256, 1))


def ram_async(depth: int, bits: int) -> Cost:
    """A memory written and read at one address, the read asynchronous (pool.v's
    accumulators, mvu.v's replay buffer): single-port LUT-RAM, cost 8 per bit-column of a
    cell, against depth*bits flip-flops (chosen for one word: the costs tie)."""
    depth, bits = max(1, int(depth)), max(1, int(bits))
    best = (depth * bits, Cost(FF=depth * bits))
    for rows, cols in _SP_SHAPES:
        mult_a = math.ceil(depth / rows)
        cost = 8 * mult_a * bits / cols + 0.5 * (mult_a - 1) * bits
        if cost < best[0]:
            cells = mult_a * math.ceil(bits / cols)
            best = (cost, Cost(LUT=4 * cells + bits * _mux_luts(mult_a)))
    return best[1]
