"""Matrix-vector unit: acc[n] = sum_k x[k] * W[n, k] + bias[n], exact integers.

Folded by PE (output rows in parallel) and SIMD (input columns in parallel); a binary
mode (bipolar inputs and weights) computes the same sum as XNOR-popcount:
sum = 2 * popcount(xnor) - K, the popcount by a compressor tree (groups of 3 lanes
counted in LUTs, then ternary adders: ``xnor_tree()``); with +-1 weights and multi-bit
inputs, sum = 2 * (the inputs the +1 weights select) - sum x.  ``bias`` carries the input
zero point (-zx * sum W).
Convolutions reach this unit through the sliding-window generator (swg): every output
pixel is one vector of the frame.

Hardware: hw/rtl/mvu.v.  Each vector takes (N/PE) * (K/SIMD) cycles; the weight memory
has one word per (row group nf, column group sf), see ``weight_words``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const, weight_bounds
from ..ir.types import QuantSpec, int_range

CELLS = ("mvu.v", "weight_rom.v", "axis_skid.v", "add3.v")
PIPELINE = 4  # registers of hw/rtl/mvu.v besides its adder tree's clog2(SIMD) levels


@dataclass(frozen=True, eq=False)
class Params(Op):
    weight: np.ndarray  # int64 (N, K)
    in_zero_point: int  # subtracted from every input code (hardware: a bias -zx * sum W)
    weight_spec: QuantSpec  # bits/signedness of the weight codes
    scale: tuple = (1.0,)  # real scale of the accumulator, per output or shared
    pe: int = 1
    simd: int = 1
    # where the weight ROM goes: auto (by size) | bram | lutram | logic, see
    # estimate.memory.weight_placement
    weight_mem: str = "auto"

    def __post_init__(self):
        object.__setattr__(self, "weight", const(self.weight, np.int64))
        object.__setattr__(self, "scale", tuple(float(v) for v in self.scale))
        check_weight_mem(self)

    @property
    def bias(self) -> np.ndarray:
        return -self.in_zero_point * self.weight.sum(axis=1)

    @classmethod
    def kind(cls):
        return "mvu"

    def summary(self):
        n, k = self.weight.shape
        return f"mvu[{k}->{n} w:{self.weight_spec.bits}b pe{self.pe} simd{self.simd}]"

    def acc_range(self, x: QuantSpec) -> tuple[int, int]:
        return weight_bounds(self.weight, x.lo - self.in_zero_point, x.hi - self.in_zero_point)

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or x.shape[-1] != self.weight.shape[1]:
            raise InternalError(f"mvu {self.weight.shape} on {x}")
        lo, hi = self.acc_range(x.quant)
        shape = x.shape[:-1] + (self.weight.shape[0],)
        axis = len(shape) - 1 if len(self.scale) > 1 else None
        return [(shape, QuantSpec.for_range(lo, hi, self.scale, axis))]


def golden(p: Params, x: np.ndarray) -> list:
    from ..golden import int_matmul

    xs = x - p.in_zero_point
    bound = int(np.abs(p.weight).sum(axis=1).max(initial=0)) * int(np.abs(xs).max(initial=0))
    return [int_matmul(xs, p.weight.T, bound)]


def _folds(p: Params) -> tuple[int, int]:
    n, k = p.weight.shape
    if p.pe < 1 or n % p.pe or p.simd < 1 or k % p.simd:
        raise InternalError(f"{p.summary()}: PE={p.pe} must divide the {n} rows and "
                            f"SIMD={p.simd} the {k} columns")
    return n // p.pe, k // p.simd


def acc_width(lo: int, hi: int, out: QuantSpec) -> int:
    """The output tensor's bits, checked to hold the accumulator range [lo, hi]."""
    olo, ohi = int_range(out.bits, out.signed)
    if out.bipolar or not olo <= lo <= hi <= ohi:
        raise InternalError(f"accumulator range [{lo}, {hi}] does not fit the output {out}")
    return out.bits


def weight_words(w: np.ndarray, spec: QuantSpec, pe: int, simd: int) -> list:
    """Memory words of an (N, K) weight matrix folded by PE rows and SIMD columns: word
    nf*(K/SIMD) + sf holds W[nf*PE + p, sf*SIMD + s] in lane p*SIMD + s (spec.bits each,
    two's complement; bipolar weights as the bit (w+1)/2)."""
    n, k = w.shape
    codes = (w + 1) // 2 if spec.bipolar else w
    lanes = codes.reshape(n // pe, pe, k // simd, simd).transpose(0, 2, 1, 3)
    lanes = lanes.reshape(-1, pe * simd).astype(object) & ((1 << spec.bits) - 1)
    words = np.zeros(lanes.shape[0], dtype=object)
    for j in range(pe * simd):
        words += lanes[:, j] << (j * spec.bits)
    return [int(v) for v in words]


def check_weight_mem(p) -> None:
    """A unit's ``weight_mem`` is one of the ``weight_memory`` option's values."""
    from ..estimate.memory import WEIGHT_MEMORIES

    if p.weight_mem not in WEIGHT_MEMORIES:
        raise InternalError(f"{p.summary()}: weight_mem {p.weight_mem!r} is not one of "
                            f"{', '.join(WEIGHT_MEMORIES)}")


def weight_placement(p, depth: int, bits: int) -> str:
    """"bram", "lutram" or "logic": where the unit's ``depth`` x ``bits`` weight ROM goes
    (``p.weight_mem``, "auto" by size: estimate.memory.weight_placement).  derive() puts it
    in ``weight_mem``; the RTL, the HLS kernel and the estimate all read it from there."""
    from ..estimate.memory import weight_placement as place

    return place(p.weight_mem, depth, bits)


def weights_impl(placement: str) -> str:
    """The HLS BIND_STORAGE impl of a weight ROM placed as ``placement``: "bram" or
    "lutram".  A ROM in logic is LUTs as 64 x 1 ROMs either way (what yosys builds, and
    Vitis HLS has no register implementation for a ROM: rom_1p's impl is bram, lutram or
    uram), so "logic" is "lutram" here."""
    return "bram" if placement == "bram" else "lutram"


def derive(p: Params, ins, outs) -> dict:
    x, y = ins[0], outs[0]
    n, k = p.weight.shape
    nf, sf = _folds(p)
    acc_bits = acc_width(*p.acc_range(x.quant), y.quant)
    vectors = int(np.prod(x.shape[:-1], dtype=np.int64))
    q, w = x.quant, p.weight_spec
    return {"rows": n, "cols": k, "pe": p.pe, "simd": p.simd, "nf": nf, "sf": sf,
            "vectors": vectors, "in_bits": q.bits, "in_signed": q.signed,
            "in_bipolar": q.bipolar, "w_bits": w.bits, "w_signed": w.signed,
            "w_bipolar": w.bipolar, "binary": q.bipolar and w.bipolar,
            "acc_bits": acc_bits, "acc_signed": y.quant.signed,
            "in_lanes": [p.simd], "out_lanes": [p.pe],
            "in_width": p.simd * q.bits, "out_width": p.pe * acc_bits,
            "weight_word_bits": p.pe * p.simd * w.bits, "weight_words": nf * sf,
            "weight_mem": weight_placement(p, nf * sf, p.pe * p.simd * w.bits),
            "buffer_bits": sf * p.simd * q.bits if nf > 1 else 0,
            "cycles_per_vector": nf * sf, "cycles": vectors * nf * sf,
            # first input beat to last output beat of a frame: cycles + pipeline_cycles
            "pipeline_cycles": PIPELINE + max(0, p.simd - 1).bit_length()}


def context(p: Params, ins, outs) -> dict:
    d = derive(p, ins, outs)
    words = weight_words(p.weight, p.weight_spec, p.pe, p.simd)
    return {**d, "has_bias": bool(p.in_zero_point), "bias": p.bias.tolist(),
            "mems": {"weights": (d["weight_word_bits"], words)},
            "weights_impl": weights_impl(d["weight_mem"])}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx, from the
    structure of hw/rtl/mvu.v (every stage registered, so the parts add up):
    control counters and the input replay buffer, the weight ROM, PE x SIMD products, PE
    registered adder trees over SIMD, PE accumulators with their bias select, the skid."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    pe, simd, nf, sf = d["pe"], d["simd"], d["nf"], d["sf"]
    xb, wb, acc = d["in_bits"], d["w_bits"], d["acc_bits"]
    xw, ab = simd * xb, pe * acc
    depth = nf * sf
    cw = [max(1, pr.clog2(v)) for v in (sf, nf, depth, d["vectors"])]
    levels = pr.clog2(simd)
    # issue: sf, nf, addr and vec counters with their compares; the control pipeline
    # (nf, first, last, tlast per stage) that yosys turns into shift registers
    cost = Cost(LUT=2 * sum(cw) + 8, CARRY4=sum(-(-w // 4) for w in cw), FF=sum(cw) + levels + 6)
    cost += Cost(LUT=cw[1] + 3, FF=cw[1] + 3)
    # the input: the replay buffer (an asynchronous-read distributed RAM of SF beats) and the
    # operand register with its select between the stream and the replay
    if nf > 1:
        cost += pr.lutram(sf, xw) + Cost(LUT=xw)
    cost += pr.reg(xw)
    # the weight ROM with its registered read (the operand register w1); in logic, the
    # columns repeating the sign are shared
    rom = pr.rom(depth, pe * simd * wb, d["weight_mem"])
    if d["weight_mem"] != "bram" and not d["w_bipolar"]:
        used = pr.weight_bits_used(wb, xb, d["in_signed"] or d["in_bipolar"], acc, d["cols"])
        rom = pr.rom(depth, pe * simd * used, d["weight_mem"]) if used < wb else rom
    cost += rom
    # products, registered at their kept width (level 0 of the tree)
    if d["binary"]:  # XNOR: inside the compressor tree's first level (xnor_tree())
        pw = 1
        prod = Cost()
    elif d["in_bipolar"]:  # +-weight: each lane negates its own weight
        pw = wb + 1
        prod = pr.negate_mux(min(pw, acc))
    elif d["w_bipolar"]:  # the input or 0 (the register's reset: a LUT per lane for it)
        pw = xb + 1
        prod = Cost(LUT=1)
        # and the inputs' own sum, a tree like a PE's (its products: the inputs)
        cost += pr.reg(min(pw, acc)) * simd + pr.adder_tree(simd, min(pw, acc), acc)
    else:
        pw = xb + wb + (0 if d["in_signed"] or d["w_signed"] else 1)
        prod = pr.multiplier(xb, wb, part.dsp_widths, min(pw, acc), d["in_signed"],
                             d["w_signed"])
    p0 = min(pw, acc)
    # a one-slice DSP product takes the operand and product registers into its own
    # (AREG/MREG): x1 and the product registers vanish (a product over several slices
    # uses the post-adders for itself and keeps its registers in fabric; so does every
    # product where yosys packs nothing into the slice, ``part.dsp_packs``)
    dsp = prod.DSP == 1 and part.dsp_packs
    # (over several slices, the low (B width - 1)-bit pieces stay in fabric registers)
    kept = (part.dsp_widths[1] - 1) * (prod.DSP - 1) if prod.DSP > 1 else p0
    if not d["binary"]:
        cost += (prod + (Cost() if dsp else pr.reg(kept))) * (pe * simd)
    if dsp:
        cost += pr.reg(xw) * -1
    # the adder tree: with DSP products, the first level's adders are the DSPs' post-adders
    # (one DSP of each pair adds the other's product through its C port; PREG)
    tree = xnor_tree(simd) if d["binary"] else pr.adder_tree(simd, p0, acc)
    if dsp and simd > 1:
        tree += (pr.adder(min(p0 + 1, acc)) + pr.reg(min(p0 + 1, acc))) * (-(simd // 2))
    cost += tree * pe
    # accumulators: bias-or-running-sum select, the add, the register (with SIMD = 1 and a
    # DSP product the DSP accumulates: its post-adder and PREG, and without biases yosys's
    # xilinx_dsp takes the select between 0 and P into the DSP's Z multiplexer, the
    # postAddMux); then the skid
    if dsp and simd == 1:
        cost += Cost(LUT=acc if p.in_zero_point else 0) * pe
    else:
        cost += (pr.adder(acc) + Cost(LUT=acc) + pr.reg(acc)) * pe
    cost += Cost(LUT=ab + 4, FF=2 * ab + 6)
    # the row group's biases, BIAS[nf*AB +: AB] (constant zero without a zero point)
    if p.in_zero_point:
        cost += pr.const_select(nf, ab, part.dsp_widths)
    return cost


def xnor_tree(simd: int):
    """hw/rtl/mvu.v's XNOR-mode compressor tree per PE: level 0 counts the agreeing lanes
    of each group of 3 (a LUT per count bit, the XNORs inside), each node above adds 3
    counts (add3: a LUT per bit of its level's width, a netlist yosys cannot trim) or 2
    (an adder at its own count's bits), every level registered at the counts' bits; the
    root and the registers up to the binary tree's clog2(SIMD) levels are a chain yosys
    makes shift registers of (an SRL16E per bit) from 3 stages on."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    def bits(lanes):
        return pr.clog2(lanes + 1)
    span, n = 3, -(-simd // 3)  # lanes under a node, nodes at this level
    lanes = [min(3, simd - 3 * i) for i in range(n)]
    cost = Cost(LUT=2 * n if simd >= 3 else n * bits(simd))
    regs = [bits(v) for v in lanes]
    levels = 0
    while n > 1:
        span, levels = span * 3, levels + 1
        cost += pr.reg(sum(regs))
        kids = [lanes[i:i + 3] for i in range(0, n, 3)]
        lanes = [sum(k) for k in kids]
        n, w = len(lanes), bits(min(span, simd))
        for k, v in zip(kids, lanes):
            cost += Cost(LUT=w, CARRY4=math.ceil(w / 4)) if len(k) == 3 else (
                pr.adder(bits(v)) if len(k) == 2 else Cost())
        regs = [bits(v) for v in lanes]
    chain = pr.clog2(simd) - levels + 1  # the root's register and the padding
    return cost + (Cost(LUT=regs[0]) if chain >= 3 else pr.reg(regs[0] * chain))
