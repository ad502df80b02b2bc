"""Vector-vector unit for depthwise convolution: acc[c] = sum_k win[k, c] * W[c, k] + bias[c].

Consumes the swg's windows (kernel position major, channel minor); each channel has
its own kernel, so there is no reduction across channels.  Folded by PE (channels in
parallel); SIMD (kernel taps in parallel) must be 1: the window arrives tap by tap.

Hardware: hw/rtl/vvu.v.  Each output pixel takes K * C/PE cycles (one input beat each);
the weight memory has one word per (tap k, channel group cf), see ``weight_words``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const, weight_bounds
from ..ir.types import QuantSpec
from .mvu import acc_width, check_weight_mem, weight_placement, weights_impl

CELLS = ("vvu.v", "weight_rom.v", "axis_skid.v")
PIPELINE = 4  # registers of hw/rtl/vvu.v from an input beat to its output beat


@dataclass(frozen=True, eq=False)
class Params(Op):
    weight: np.ndarray  # int64 (C, K) with K = prod(kernel)
    in_zero_point: int  # subtracted from every input code (hardware: a bias -zx * sum W)
    weight_spec: QuantSpec
    scale: tuple = (1.0,)  # real scale of the accumulator, per channel or shared
    pe: int = 1
    simd: int = 1
    weight_mem: str = "auto"  # auto | bram | lutram | logic (see mvu.weight_placement)

    def __post_init__(self):
        object.__setattr__(self, "weight", const(self.weight, np.int64))
        object.__setattr__(self, "scale", tuple(float(v) for v in self.scale))
        check_weight_mem(self)

    @property
    def bias(self) -> np.ndarray:
        return -self.in_zero_point * self.weight.sum(axis=1)

    @classmethod
    def kind(cls):
        return "vvu"

    def summary(self):
        c, k = self.weight.shape
        return f"vvu[{c}ch x {k} taps w:{self.weight_spec.bits}b pe{self.pe} simd{self.simd}]"

    def acc_range(self, x: QuantSpec):
        return weight_bounds(self.weight, x.lo - self.in_zero_point, x.hi - self.in_zero_point)

    def infer(self, ins):
        x = ins[0]
        c, k = self.weight.shape
        if x.quant is None or x.shape[-1] != c * k:
            raise InternalError(f"vvu {self.weight.shape} on {x}")
        lo, hi = self.acc_range(x.quant)
        shape = x.shape[:-1] + (c,)
        axis = len(shape) - 1 if len(self.scale) > 1 else None
        return [(shape, QuantSpec.for_range(lo, hi, self.scale, axis))]


def golden(p: Params, x: np.ndarray) -> list:
    c, k = p.weight.shape
    win = x.reshape(x.shape[:-1] + (k, c)).astype(np.int64) - p.in_zero_point
    return [np.einsum("...kc,ck->...c", win, p.weight)]


def weight_words(w: np.ndarray, spec: QuantSpec, pe: int) -> list:
    """Memory words of a (C, K) depthwise weight matrix folded by PE channels: word
    k*(C/PE) + cf holds W[cf*PE + p, k] in lane p (spec.bits each, two's complement;
    bipolar weights as the bit (w+1)/2)."""
    c, k = w.shape
    codes = (w + 1) // 2 if spec.bipolar else w
    lanes = codes.T.reshape(k * (c // pe), pe).astype(object) & ((1 << spec.bits) - 1)
    words = np.zeros(lanes.shape[0], dtype=object)
    for j in range(pe):
        words += lanes[:, j] << (j * spec.bits)
    return [int(v) for v in words]


def derive(p: Params, ins, outs) -> dict:
    x, y = ins[0], outs[0]
    c, k = p.weight.shape
    if p.simd != 1:
        raise InternalError(f"{p.summary()}: SIMD must be 1 (the window arrives one tap per "
                            f"beat), got {p.simd}")
    if p.pe < 1 or c % p.pe:
        raise InternalError(f"{p.summary()}: PE={p.pe} must divide the {c} channels")
    cf = c // p.pe
    acc_bits = acc_width(*p.acc_range(x.quant), y.quant)
    vectors = int(np.prod(x.shape[:-1], dtype=np.int64))
    q, w = x.quant, p.weight_spec
    return {"channels": c, "taps": k, "pe": p.pe, "simd": p.simd, "cf": cf,
            "vectors": vectors, "in_bits": q.bits, "in_signed": q.signed,
            "in_bipolar": q.bipolar, "w_bits": w.bits, "w_signed": w.signed,
            "w_bipolar": w.bipolar, "acc_bits": acc_bits, "acc_signed": y.quant.signed,
            "in_lanes": [p.pe], "out_lanes": [p.pe],
            "in_width": p.pe * q.bits, "out_width": p.pe * acc_bits,
            "weight_word_bits": p.pe * w.bits, "weight_words": k * cf,
            "weight_mem": weight_placement(p, k * cf, p.pe * w.bits),
            "buffer_bits": c * acc_bits,  # the partial sums of one pixel
            "cycles_per_vector": k * cf, "cycles": vectors * k * cf,
            # first input beat to last output beat of a frame: cycles + pipeline_cycles
            "pipeline_cycles": PIPELINE}


def context(p: Params, ins, outs) -> dict:
    d = derive(p, ins, outs)
    words = weight_words(p.weight, p.weight_spec, p.pe)
    return {**d, "has_bias": bool(p.in_zero_point), "bias": p.bias.tolist(),
            "mems": {"weights": (d["weight_word_bits"], words)},
            "weights_impl": weights_impl(d["weight_mem"])}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx, from the
    structure of hw/rtl/vvu.v (every stage registered, so the parts add up): control
    counters, the weight ROM, PE products, PE accumulators over a distributed RAM of the
    CF partial sums with their bias select, the output register and the skid."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    pe, cf, acc = d["pe"], d["cf"], d["acc_bits"]
    xb, wb = d["in_bits"], d["w_bits"]
    ab = pe * acc
    depth = d["taps"] * cf
    cw = [max(1, pr.clog2(v)) for v in (cf, d["taps"], depth, d["vectors"])]
    # issue: cf, tap, addr and vec counters with their compares; two stages of control
    cost = Cost(LUT=2 * sum(cw) + 8, CARRY4=sum(-(-w // 4) for w in cw), FF=sum(cw) + 2 * cw[0] + 10)
    cost += pr.reg(pe * xb)  # the input operand register
    # the weight ROM and its registered read (w1); in logic, the columns repeating the
    # sign are shared (see mvu.resources)
    rom = pr.rom(depth, pe * wb, d["weight_mem"])
    if d["weight_mem"] != "bram" and not d["w_bipolar"]:
        used = pr.weight_bits_used(wb, xb, d["in_signed"] or d["in_bipolar"], acc, d["taps"])
        rom = pr.rom(depth, pe * used, d["weight_mem"]) if used < wb else rom
    cost += rom
    if d["in_bipolar"] and d["w_bipolar"]:
        pw = 2
        prod = Cost(LUT=1)
    elif d["in_bipolar"] or d["w_bipolar"]:
        pw = (wb if d["in_bipolar"] else xb) + 1
        prod = pr.negate_mux(min(pw, acc))
    else:
        pw = xb + wb + (0 if d["in_signed"] or d["w_signed"] else 1)
        prod = pr.multiplier(xb, wb, part.dsp_widths, min(pw, acc), d["in_signed"],
                             d["w_signed"])
    p0 = min(pw, acc)
    dsp = prod.DSP == 1 and part.dsp_packs  # a one-slice product (see mvu.resources)
    # products, registered sign-extended to ACC_BITS (yosys merges the copies of the sign
    # bit); a DSP absorbs the operand and product registers
    # (over several slices, the low (B width - 1)-bit pieces stay in fabric registers)
    kept = (part.dsp_widths[1] - 1) * (prod.DSP - 1) if prod.DSP > 1 else p0
    cost += (prod + (Cost() if dsp else pr.reg(kept))) * pe
    if dsp:
        cost += pr.reg(pe * xb) * -1
    # accumulate: the partial sums (a distributed RAM of CF words, flip-flops for one),
    # the select between the bias and the partial sum, the add
    cost += (pr.lutram(cf, ab) if cf > 1 else pr.reg(ab))
    # (a DSP product adds the partial sum in its post-adder, through its C port)
    cost += (Cost(LUT=acc) if dsp else pr.adder(acc) + Cost(LUT=acc)) * pe
    # the output register and the skid
    cost += pr.reg(ab) + Cost(LUT=ab + 4, FF=2 * ab + 6)
    # the channel group's biases, BIAS[cf*AB +: AB] (constant zero without a zero point)
    if p.in_zero_point:
        cost += pr.const_select(cf, ab, part.dsp_widths)
    return cost
