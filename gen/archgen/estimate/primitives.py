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
    """A ``bits``-wide adder or subtractor on the carry chain: a LUT per bit (yosys's
    xilinx arith_map leaves results of 2 bits or fewer to plain LUTs)."""
    return Cost(LUT=bits, CARRY4=math.ceil(bits / 4) if bits > 2 else 0)


def comparator(bits: int) -> Cost:
    """``a < b`` (or >=) of two ``bits``-wide operands: a subtractor's carry chain."""
    return Cost(LUT=bits, CARRY4=math.ceil(bits / 4))


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


def _mul_widths(a_bits: int, b_bits: int, a_signed: bool, b_signed: bool) -> tuple:
    """(a, b, product bits) of a product as yosys's mul2dsp sees it.  The cells multiply
    two signed numbers, an unsigned operand zero-extended by one bit; yosys's wreduce
    makes the product unsigned again only when both operands are (then a x b bits)."""
    if not a_signed and not b_signed:
        return a_bits, b_bits, a_bits + b_bits
    a = a_bits + (0 if a_signed else 1)
    b = b_bits + (0 if b_signed else 1)
    return a, b, a_bits + b_bits


def dsp_multiply(a_bits: int, b_bits: int, dsp_widths: tuple[int, int],
                 keep: int | None = None, a_signed: bool = True, b_signed: bool = True) -> bool:
    """Whether yosys maps an ``a_bits`` x ``b_bits`` product to DSP slices: its mul2dsp rule,
    both operands at least 2 bits and the product at least 9 bits (at most ``keep`` when
    only that many low bits are used).  Measured on yosys 0.23: i4 x i4, u4 x i4 and
    u4 x u4 stay in LUTs; i5 x i4, u3 x i8, u1 x i8 (a 2-bit signed operand) go to a DSP."""
    a, b, bits = _mul_widths(a_bits, b_bits, a_signed, b_signed)
    if keep is not None:
        bits = min(bits, keep)
    return min(a, b) >= 2 and bits >= 9


def dsp_tiles(a_bits: int, b_bits: int, dsp_widths: tuple[int, int]) -> int:
    """DSP slices of a signed ``a_bits`` x ``b_bits`` product: mul2dsp cuts the wider
    operand into (A width - 1)-bit pieces and the other into (B width - 1)-bit ones, every
    piece but the top one unsigned; one slice per pair of pieces (measured: i25 x i18 one,
    i26 x i18 and i20 x i20 two, u24 x u17 one)."""
    a, b = max(a_bits, b_bits), min(a_bits, b_bits)
    wa, wb = dsp_widths
    return math.ceil(max(1, a - 1) / (wa - 1)) * math.ceil(max(1, b - 1) / (wb - 1))


# LUTs of a soft (LUT and carry-chain) product, measured per (wider, narrower) operand bits
# on yosys 0.23 (signed x signed; see lut_multiplier).
_SOFT_MUL = {(2, 2): 5, (3, 2): 7, (3, 3): 9, (4, 2): 10, (4, 3): 18, (4, 4): 26,
             (5, 2): 12, (5, 3): 24, (6, 2): 14}


def lut_multiplier(a_bits: int, b_bits: int, keep: int | None = None) -> Cost:
    """A product yosys builds in LUTs (too small for a DSP, or -nodsp): its array of
    partial-product adders, then ABC folds the small ones into 6-8 input functions
    (LUT6 + MUXF7/F8).  ``keep``: only that many low product bits are used."""
    a, b = max(a_bits, b_bits), min(a_bits, b_bits)
    if b <= 1:
        return Cost(LUT=a, CARRY4=math.ceil((a + 1) / 4))  # +-x or 0 (measured i8 x i1)
    bits = a + b if keep is None else min(keep, a + b)
    lut = _SOFT_MUL.get((a, b))
    if lut is None:  # beyond the table: an (a x b) array, about 1.6 LUT per partial bit
        lut = 1.6 * a * b
    lut *= min(1.0, bits / (a + b)) ** 2 if bits < a + b else 1.0
    return Cost(LUT=lut, CARRY4=math.ceil(bits / 4))


def multiplier(a_bits: int, b_bits: int, dsp_widths: tuple[int, int],
               keep: int | None = None, a_signed: bool = True, b_signed: bool = True) -> Cost:
    """An ``a_bits`` x ``b_bits`` multiply: DSP slices (one per 25x18/27x18 tile) when
    yosys would use them, else LUTs and carry chain (``lut_multiplier``)."""
    if dsp_multiply(a_bits, b_bits, dsp_widths, keep, a_signed, b_signed):
        a, b, _ = _mul_widths(a_bits, b_bits, a_signed, b_signed)
        if not a_signed and not b_signed:  # the DSP is signed-only: a bit more each
            a, b = a + 1, b + 1
        return Cost(DSP=dsp_tiles(a, b, dsp_widths))
    return lut_multiplier(a_bits, b_bits, keep)


def const_select(entries: int, width: int, dsp_widths: tuple[int, int]) -> Cost:
    """``TABLE[i*width +: width]`` of a constant table of ``entries`` rows (the cells' bias
    select by row group), beside the LUTs of the select that uses it.

    yosys's wreduce strips the trailing zero bits of ``width`` off the index product
    ``i * width`` before peepopt's shiftmul could turn it into a power-of-two stride, so
    with an even, non power-of-two width the product ``i * (width >> tz)`` stays a multiply:
    a DSP slice once it passes the DSP rule (measured: 32 rows of 18 bits, a 5 x 4-bit
    product of 9 bits, one DSP), else a shift-and-add in LUTs.  The shifter after it sees
    an opaque index: each output bit is a constant table over the entries * (width >> tz)
    positions of the index that stay inside the table, a LUT6 per 64 of them (as a ROM in
    logic), one LUT when the index has at most 6 bits (measured: 32 x 18 bits, 90 LUTs;
    4 x 38 bits, 91).  With an odd or power-of-two width the index is ``i`` itself and the
    table folds into the select's LUTs."""
    if entries <= 1 or width < 1:
        return Cost()
    tz = (width & -width).bit_length() - 1
    odd = width >> tz
    if tz == 0 or odd == 1:
        return Cost()
    ib, ob = max(1, clog2(entries)), odd.bit_length()
    prod = multiplier(ib, ob, dsp_widths, None, False, False)
    if not prod.DSP:  # a product by a constant: an adder per further one bit of it
        prod = adder(ib + ob) * (bin(odd).count("1") - 1)
    n = math.ceil(entries * odd / 64) if ib + ob > 6 else 1
    return prod + Cost(LUT=width * (n + max(0, n - 4) / 3))


def weight_bits_used(w_bits: int, in_bits: int, in_signed: bool, acc_bits: int,
                     terms: int) -> int:
    """The weight bits that differ between words, as far as the accumulator width tells:
    a ROM column that only repeats the sign is shared (ABC merges equal LUTs).  acc_bits
    holds the largest row sum of |w| times the largest |x|, about terms * mean|w| * |x|,
    and a dense row's largest |w| is about four times its mean: the magnitude bits
    acc_bits - 1 - x magnitude bits - log2(terms) + 2, plus the sign (measured: mlp_float's
    16-bit weights of 11 bits, 28-bit accumulator over 16 terms of 16-bit inputs).  Bipolar
    inputs pass as 1-bit signed (|x| = 1)."""
    xm = in_bits - (1 if in_signed else 0)
    return max(1, min(w_bits, acc_bits - xm - clog2(terms) + 2))


def negate_mux(bits: int) -> Cost:
    """``s ? v : -v`` of a ``bits``-wide value (a product with a bipolar operand): a
    conditional two's complement negate on the carry chain, a LUT per bit."""
    return adder(bits)


def adder_tree(inputs: int, bits: int, max_bits: int | None = None,
               registered: bool = True) -> Cost:
    """A binary tree summing ``inputs`` values of ``bits``: level l adds pairs into
    bits + l (at most ``max_bits``) bits, an odd one out passing to the next level, every
    level registered when ``registered`` (as the mvu cell writes it)."""
    cost = Cost()
    n, w = inputs, bits
    while n > 1:
        w = w + 1 if max_bits is None else min(w + 1, max_bits)
        pairs, n = n // 2, (n + 1) // 2
        cost = cost + adder(w) * pairs
        if registered:
            cost = cost + reg(w * n)
    return cost


def lutram(depth: int, bits: int) -> Cost:
    """A distributed RAM with one write port and an asynchronous read (what yosys maps a
    memory read without a register to): RAM32M holds 32 x 6 bits in 4 LUTs, RAM64M 64 x 3;
    deeper ones are RAM128X1D/RAM256X1D per bit (4/8 LUTs)."""
    if depth <= 1:
        return reg(bits)
    if depth <= 32:
        return Cost(LUT=4 * math.ceil(bits / 6))
    if depth <= 64:
        return Cost(LUT=4 * math.ceil(bits / 3))
    if depth <= 128:
        return Cost(LUT=4 * bits)
    return Cost(LUT=8 * bits * math.ceil(depth / 256) + (bits * math.ceil(depth / 256)
                                                          if depth > 256 else 0))


def rom(depth: int, bits: int, placement: str | None = None) -> Cost:
    """A ROM of ``depth`` words of ``bits`` with a registered read (what the cells write):
    block RAM or LUTs, as ``placement`` says ("bram", "lutram", "logic", see
    memory.weight_placement) or, when None, as yosys's memory mapping chooses."""
    from .memory import rom_cost

    return rom_cost(depth, bits, placement)


def ram(depth: int, bits: int) -> Cost:
    """A simple dual-port RAM (one write, one registered read port) of ``depth`` x ``bits``."""
    from .memory import ram_cost

    return ram_cost(depth, bits)
