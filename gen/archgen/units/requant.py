"""Multiply-shift requantizer: out = clamp(round((M[c] * x + B[c]) / 2**shift), lo, hi).

``rounding`` is "floor" (a plain arithmetic shift) or "half_even" (convergent rounding:
the dropped bits decide, ties go to the even result; what ONNX and Brevitas use).

Replaces a float affine chain and its quantizer when the output is wide (many
thresholds); M, B and shift are solved in passes/absorb_scales.py so the result equals
the chain's own evaluation on every reachable input (checked at every breakpoint).

Hardware (hw/rtl/requant.v): PE lanes per beat, one multiplier (a DSP slice) per lane,
then bias, shift-round and clamp, one beat per cycle.  Half-even rounding is the bias
plus 2**(shift-1) (a shift that rounds half up) and, on a tie, the result's last bit
cleared.  Per-channel constants need the channel axis last (channels-last streams).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const
from ..ir.types import QuantSpec
from .thresholds import (channel_rows, element_flags, element_width, signed_width,
                         stream_geometry)


@dataclass(frozen=True, eq=False)
class Params(Op):
    mult: np.ndarray  # int64 (C,) (C == 1: shared); may be negative
    bias: np.ndarray  # int64 (C,)
    shift: int
    spec: QuantSpec  # output codes; clamp bounds are spec.lo, spec.hi
    axis: int
    rounding: str = "floor"
    pe: int = 1  # lanes per beat (set by folding); divides the channel count

    ROUNDINGS = ("floor", "half_even")

    def __post_init__(self):
        object.__setattr__(self, "mult", const(self.mult, np.int64))
        object.__setattr__(self, "bias", const(self.bias, np.int64))
        if self.rounding not in self.ROUNDINGS:
            raise InternalError(f"requant rounding {self.rounding!r} not in {self.ROUNDINGS}")

    @classmethod
    def kind(cls):
        return "requant"

    def summary(self):
        rnd = "" if self.rounding == "floor" else " " + self.rounding
        pe = f" pe{self.pe}" if self.pe > 1 else ""
        return f"requant[x{self.mult.size} >>{self.shift}{rnd} -> {self.spec}{pe}]"

    def infer(self, ins):
        shape = ins[0].shape
        c = self.mult.size
        if ins[0].quant is None or (c != 1 and shape[self.axis] != c):
            raise InternalError(f"requant for {c} channels on {ins[0]}")
        return [(shape, self.spec)]


def shift_round(v: np.ndarray, shift: int, rounding: str) -> np.ndarray:
    """v / 2**shift rounded as the hardware does, on int64 arrays."""
    q = v >> shift
    if rounding == "half_even" and shift > 0:
        rem = v - (q << shift)
        half = 1 << (shift - 1)
        q = q + ((rem > half) | ((rem == half) & (q & 1 == 1)))
    return q


def golden(p: Params, x: np.ndarray) -> np.ndarray:
    xc = np.moveaxis(x, p.axis + 1, -1)
    y = shift_round(xc * p.mult + p.bias, p.shift, p.rounding)
    y = np.clip(y, p.spec.lo, p.spec.hi)
    return [np.moveaxis(y, -1, p.axis + 1)]


CELLS = ("requant.v",)
# pipeline registers; first input beat to last output beat = cycles + STAGES
STAGES = 4  # registered input/multiplier, product/bias, sum, output


def _consts(p: Params, x) -> tuple[np.ndarray, np.ndarray]:
    """(mult, bias) rows as the hardware stores them: one row when shared, else C."""
    n = max(p.mult.size, p.bias.size)
    if p.mult.size not in (1, n) or p.bias.size not in (1, n):
        raise InternalError(f"requant: {p.mult.size} multipliers and {p.bias.size} biases "
                            f"on {x.name} {x.shape}")
    rows = np.stack([np.broadcast_to(p.mult.reshape(-1), (n,)),
                     np.broadcast_to(p.bias.reshape(-1), (n,))], axis=1)
    rows = channel_rows("requant", rows, p.axis, x)
    return rows[:, 0], rows[:, 1]


def derive(p: Params, ins, outs) -> dict:
    """Lanes, beats per frame and the datapath widths: x, multiplier, product (what the
    DSP computes), accumulator (product + bias, holding the shifted range and the clamp
    bounds), and which clamp bounds are ever hit."""
    x, y = ins[0], outs[0]
    if y.quant.bipolar:
        raise InternalError(f"requant: bipolar output {y.name} is not supported "
                            "(use a thresholds unit)")
    c, beats = stream_geometry("requant", x, p.pe)
    m, b = _consts(p, x)
    q = x.quant
    rounding = p.rounding == "half_even" and p.shift > 0
    b_hw = b + ((1 << (p.shift - 1)) if rounding else 0)
    x_bits = element_width(q)
    m_bits = signed_width(min(m.min(), 0), max(m.max(), 0))
    prods = np.stack([m * q.lo, m * q.hi])
    sums = prods + b_hw
    lo, hi = p.spec.lo, p.spec.hi
    res = shift_round(prods + b, p.shift, p.rounding)  # monotone in x: extremes at the ends
    acc_bits = max(x_bits + m_bits, signed_width(sums.min(), sums.max()),
                   signed_width(b_hw.min(), b_hw.max()),
                   p.shift + max(signed_width(lo, hi), y.quant.bits))
    shared = len(m) == 1
    return {"in_lanes": [p.pe], "out_lanes": [p.pe], "channels": c, "shared": shared,
            "groups": 1 if shared else c // p.pe, "frame_beats": beats,
            "cycles": beats, "pipeline_cycles": STAGES, "in_bits": q.bits,
            "x_bits": x_bits, "mult_bits": m_bits, "prod_bits": x_bits + m_bits,
            "acc_bits": acc_bits, "shift": p.shift, "rounding": int(rounding),
            "out_bits": y.quant.bits, "clamp_lo": bool(res.min() < lo),
            "clamp_hi": bool(res.max() > hi), "multipliers": p.pe}


def context(p: Params, ins, outs) -> dict:
    d = derive(p, ins, outs)
    x, y = ins[0], outs[0]
    m, b = _consts(p, x)
    b_hw = b + ((1 << (p.shift - 1)) if d["rounding"] else 0)  # the shift rounds half up
    return {**d, "pe": p.pe, "in": element_flags(x.quant),
            "in_width": p.pe * x.quant.bits, "out_width": p.pe * y.quant.bits,
            "mult": m.tolist(), "bias": b_hw.tolist(),
            "q_bits": d["acc_bits"] - p.shift, "lo": p.spec.lo, "hi": p.spec.hi}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx.

    Per lane the product x*M goes to DSP slices when yosys's rule allows (the stage
    registers and the bias add fold into a single slice, on UltraScale+ only the bias
    add and its register: ``part.dsp_packs``; a product tiled over several
    keeps the partial sums and the bias add in LUTs), else it is a LUT multiplier
    with the adder beside it; a shared multiplier that is a power of two is a shift.
    Per channel group the constants are a function of the group counter (a LUT per bit
    up to 64 groups).  Stage 4 compares with the clamp bounds and selects."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost
    from .thresholds import stream_control

    pe, xb, mb, acc = p.pe, d["x_bits"], d["mult_bits"], d["acc_bits"]
    q_bits, out_bits = acc - d["shift"], d["out_bits"]
    lane = Cost(LUT=out_bits, FF=out_bits)  # the clamp select and the output register
    for hit in (d["clamp_lo"], d["clamp_hi"]):
        if hit:
            lane = lane + _const_compare(q_bits)
    if d["rounding"]:
        lane = lane + Cost(LUT=-(-d["shift"] // 5))  # the tie: dropped bits all zero
    m0 = _constant_multiplier(p)
    shift_only = m0 is not None and m0 & (m0 - 1) == 0
    if shift_only:  # a shift (or zero): no multiplier
        lane = lane + pr.adder(acc) + pr.reg(xb + acc)
        if not d["shared"]:  # the bias and product registers stay flip-flops
            lane = lane + pr.reg(acc + xb)
    elif pr.dsp_multiply(xb, mb, part.dsp_widths):
        mul = pr.multiplier(xb, mb, part.dsp_widths)
        lane = lane + mul + Cost(LUT=_DSP_GLUE) + pr.reg(q_bits)
        if not part.dsp_packs and mul.DSP == 1:  # the bias add and s3 in the slice; x1,
            # p2 and, unless constant (one group), m1 and b2 in fabric (measured on xcup)
            lane = lane + pr.reg(xb + d["prod_bits"] + (0 if d["groups"] == 1 else mb + acc))
        if not d["shared"]:  # the constants cannot fold into the slice (measured)
            lane = lane + Cost(LUT=6 * pr.clog2(d["groups"]))
        if mul.DSP > 1:
            lane = lane + pr.adder(acc) + pr.reg(acc)
    else:
        lane = lane + pr.multiplier(xb, mb, part.dsp_widths) + pr.adder(acc)
        lane = lane + pr.reg(xb + (0 if d["shared"] else mb) + d["prod_bits"] + 2 * acc)
    out = lane * pe + stream_control(d["frame_beats"], d["groups"], STAGES)
    if not d["shared"]:
        rows = pe * ((0 if shift_only else mb) + acc)
        out = out + Cost(LUT=_select_luts(d["groups"], rows), FF=pr.clog2(d["groups"]))
    return out


def _constant_multiplier(p: Params) -> int | None:
    """|M| when every channel has the same multiplier (shared, or per-channel rows that
    differ only in the bias), else None.  yosys propagates the constant through the
    group select and the m1 register: a power of two (or 0, 1) is a shift and leaves no
    multiplier (measured: M = 1, 4 over 16 channels, 0 DSPs), any other constant stays a
    product on the DSP rule (M = 3: 1 DSP); a table of different powers of two is not
    constant (1, 2, 4, 8: 1 DSP)."""
    m = p.mult.reshape(-1)
    if m.size == 0 or not bool((m == m[0]).all()):
        return None
    return abs(int(m[0]))


_DSP_GLUE = 8.0  # LUTs beside a DSP slice per lane (measured: inverters, P output)


def _const_compare(bits: int):
    """A compare with a constant (cmp2lcu: 6 bits per carry position, a LUT each)."""
    from ..estimate.resources import Cost

    pos = -(-bits // 6)
    return Cost(LUT=2 * pos, CARRY4=-(-pos // 4))


def _select_luts(groups: int, bits: int) -> float:
    """``bits`` constants, each a function of the group counter: a LUT up to 64 groups,
    then a LUT per 64 groups and their multiplexer; bits with the same function share
    one (few groups have few functions: 2**groups, less the constants and literals)."""
    from ..estimate.primitives import clog2

    per = 1 if groups <= 64 else 1.3 * -(-groups // 64)
    if groups <= 4:
        return min(bits, 2 ** groups - 2 - clog2(groups)) * per
    return bits * per
