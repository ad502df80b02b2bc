"""Residual add of two streams with different scales: acc = wa*(a - za) + wb*(b - zb).

The integer weights align the two scales (solved in passes/absorb_scales.py so that the
following thresholds/requantizer reproduce the model's float add exactly on every pair
of codes); the output is an accumulator that a thresholds or requant unit consumes.

Hardware (hw/rtl/add.v): two streams of PE lanes joined beat by beat, the constant
weights as shift-and-add (canonical signed digits), one beat per cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op
from ..ir.types import QuantSpec
from .thresholds import element_flags, element_width, signed_width, stream_geometry


@dataclass(frozen=True, eq=False)
class Params(Op):
    wa: int
    wb: int
    za: int
    zb: int
    spec: QuantSpec  # accumulator
    pe: int = 1  # lanes per beat on both inputs and the output (set by folding)

    @classmethod
    def kind(cls):
        return "add"

    def summary(self):
        pe = f" pe{self.pe}" if self.pe > 1 else ""
        return f"add[{self.wa}*a + {self.wb}*b -> {self.spec}{pe}]"

    def infer(self, ins):
        a, b = ins
        if a.shape != b.shape or a.quant is None or b.quant is None:
            raise InternalError(f"add of {a} and {b}")
        return [(a.shape, self.spec)]


def golden(p: Params, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return [p.wa * (a - p.za) + p.wb * (b - p.zb)]


CELLS = ("add.v",)
# pipeline registers; first input beat to last output beat = cycles + STAGES
STAGES = 3  # registered inputs, weighted terms, sum


def csd(w: int) -> tuple[int, int]:
    """Canonical signed digits of ``w`` as masks (pos, neg): w == pos - neg, no two
    adjacent nonzero digits (the fewest adders for a constant multiply)."""
    pos = neg = 0
    k = 0
    w = int(w)
    while w:
        if w & 1:
            d = 2 - (w & 3)  # +1 when w = 1 mod 4, -1 when w = 3 mod 4
            if d > 0:
                pos |= 1 << k
            else:
                neg |= 1 << k
            w -= d
        w >>= 1
        k += 1
    return pos, neg


def derive(p: Params, ins, outs) -> dict:
    """Lanes (both inputs alike), beats per frame and the one compute width that holds
    both inputs, both weighted terms, the constant and the sum."""
    a, b = ins
    y = outs[0]
    if a.shape != b.shape:
        raise InternalError(f"add: inputs {a.name} {a.shape} and {b.name} {b.shape} differ")
    c, beats = stream_geometry("add", a, p.pe)
    qa, qb = a.quant, b.quant
    k = -(p.wa * p.za + p.wb * p.zb)
    ta = sorted((p.wa * qa.lo, p.wa * qa.hi))
    tb = sorted((p.wb * qb.lo, p.wb * qb.hi))
    acc_bits = max(element_width(qa), element_width(qb), signed_width(*ta), signed_width(*tb),
                   signed_width(k, k), signed_width(ta[0] + tb[0] + k, ta[1] + tb[1] + k),
                   signed_width(-abs(p.wa), abs(p.wa)) + 1, signed_width(-abs(p.wb), abs(p.wb)) + 1,
                   signed_width(y.quant.lo, y.quant.hi), y.quant.bits)
    return {"in_lanes": [p.pe, p.pe], "out_lanes": [p.pe], "channels": c,
            "frame_beats": beats, "cycles": beats, "pipeline_cycles": STAGES,
            "acc_bits": acc_bits, "out_bits": y.quant.bits, "k": k}


def context(p: Params, ins, outs) -> dict:
    d = derive(p, ins, outs)
    a, b = ins
    y = outs[0]
    return {**d, "pe": p.pe, "a": element_flags(a.quant), "b": element_flags(b.quant),
            "a_width": p.pe * a.quant.bits, "b_width": p.pe * b.quant.bits,
            "out_width": p.pe * y.quant.bits, "wa": p.wa, "wb": p.wb,
            "wa_digits": csd(p.wa), "wb_digits": csd(p.wb)}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx.

    Per lane: each weight is a chain of adders, one per canonical signed digit beyond the
    first (and a negation when every digit is negative), each about as wide as the input
    (the shifted copy's low bits pass through); then the sum of the two terms and the
    constant at the output width (yosys drops the bits above it).  Factors measured."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost
    from .thresholds import stream_control

    w = min(d["acc_bits"], d["out_bits"])
    lane = Cost()
    in_bits = []
    for wt in (p.wa, p.wb):
        # derive() keeps only the compute width, of which the weight takes its bit length
        b = max(1, d["acc_bits"] - abs(int(wt)).bit_length())
        n = _weight_adders(wt)  # shifted copies of a b-bit input: about b bits each
        lane = lane + Cost(LUT=1.1 * n * b, CARRY4=n * -(-b // 4))
        in_bits.append(b)
    s = 2 if d["k"] else 1  # the two terms' sum, and the constant
    lane = lane + Cost(LUT=1.4 * s * w, CARRY4=s * -(-w // 4)) + pr.reg(sum(in_bits) + 3 * w)
    return lane * p.pe + stream_control(d["frame_beats"], 1, STAGES) + Cost(LUT=2)


def _weight_adders(w: int) -> int:
    """Adders of a constant multiply in canonical signed digits."""
    pos, neg = csd(w)
    digits = bin(pos).count("1") + bin(neg).count("1")
    return max(0, digits - 1) + (1 if digits and not pos else 0)
