"""Event-driven synapse: acc[n] = sum_k W[n, k] * s[k] over a spike vector s (0/1 codes),
exact integers, skipping the zero spikes.

The same sums as mvu's golden() on 0/1 inputs without a zero point; what differs is the
hardware's schedule.  A frame is one time step of a spiking layer (the neuron layer,
units/lif.py, takes the accumulators as its input currents): one vector for a dense synapse,
one per output position for a convolution (the sliding-window generator, units/swg.py, feeds
each position's window of kh*kw*C spikes as a vector, and the synapse skips its zeros).

Hardware (hw/rtl/synapse.v, hw/hls/synapse.h), three phases per vector:

* receive: the K spike bits arrive in SF = K/SIMD beats into a mask register;
* compute: a priority encoder walks the set bits of the mask, lowest first; for each
  active input k the NF = N/PE row groups g add the weight word W[g*PE:(g+1)*PE, k]
  (ROM address k*NF + g, see ``weight_words``) to the group's PE accumulators: NF cycles
  per spike, none for a zero spike;
* emit: NF beats of PE accumulators, each cleared as it leaves.

The receive of the next vector overlaps the compute and emit of this one (a second mask
register), so a vector with nnz spikes takes max(SF, (nnz + 1) * NF) cycles in steady
state: ``cycles`` is the worst case of a frame, every spike set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const, weight_bounds
from ..ir.types import QuantSpec
from .mvu import acc_width, check_weight_mem, weight_placement, weights_impl
from .mvu import weight_words as mvu_weight_words

CELLS = ("synapse.v", "weight_rom.v", "axis_skid.v")
# registers of hw/rtl/synapse.v from the cycle after the last input beat to the last
# output beat (measured by the harness: issue -> address -> weight word -> accumulator
# and output register -> skid)
PIPELINE = 4


@dataclass(frozen=True, eq=False)
class Params(Op):
    weight: np.ndarray  # int64 (N, K)
    weight_spec: QuantSpec  # bits/signedness of the weight codes
    scale: tuple = (1.0,)  # real scale of the accumulator, per output or shared
    pe: int = 1  # rows (outputs) per beat, divides N
    simd: int = 1  # spikes per input beat, divides K
    weight_mem: str = "auto"  # auto | bram | lutram | logic (see mvu.weight_placement)

    def __post_init__(self):
        object.__setattr__(self, "weight", const(self.weight, np.int64))
        object.__setattr__(self, "scale", tuple(float(v) for v in self.scale))
        if self.weight.ndim != 2:
            raise InternalError(f"synapse weight must be (N, K), got {self.weight.shape}")
        check_weight_mem(self)

    @classmethod
    def kind(cls):
        return "synapse"

    def summary(self):
        n, k = self.weight.shape
        return f"synapse[{k}->{n} w:{self.weight_spec.bits}b pe{self.pe} simd{self.simd}]"

    def acc_range(self) -> tuple[int, int]:
        """Extreme accumulator values for spikes in [0, 1]."""
        return weight_bounds(self.weight, 0, 1)

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or x.shape[-1] != self.weight.shape[1]:
            raise InternalError(f"synapse {self.weight.shape} on {x}")
        check_spikes(x)
        lo, hi = self.acc_range()
        shape = x.shape[:-1] + (self.weight.shape[0],)
        axis = len(shape) - 1 if len(self.scale) > 1 else None
        return [(shape, QuantSpec.for_range(lo, hi, self.scale, axis))]


def check_spikes(x) -> None:
    """The input must carry spikes: 1-bit unsigned 0/1 codes without a zero point."""
    q = x.quant
    if q.bits != 1 or q.signed or q.bipolar or q.has_zero_point:
        raise InternalError(f"synapse input {x.name} must be 1-bit unsigned spikes (0/1), "
                            f"got {q}")


def golden(p: Params, x: np.ndarray) -> list:
    from ..golden import int_matmul

    bound = int(np.abs(p.weight).sum(axis=1).max(initial=0))
    return [int_matmul(x.astype(np.int64), p.weight.T, bound)]


def _folds(p: Params) -> tuple[int, int]:
    n, k = p.weight.shape
    if p.pe < 1 or n % p.pe or p.simd < 1 or k % p.simd:
        raise InternalError(f"{p.summary()}: PE={p.pe} must divide the {n} rows and "
                            f"SIMD={p.simd} the {k} columns")
    return n // p.pe, k // p.simd


def weight_words(w: np.ndarray, spec: QuantSpec, pe: int) -> list:
    """ROM words of an (N, K) weight matrix for the spike walk: word k*(N/PE) + g holds
    W[g*PE + p, k] in lane p (spec.bits each, two's complement; bipolar as (w+1)/2).
    (mvu's layout with SIMD 1 of the (K*N, 1) matrix W.T: its row k*N + n is W[n, k].)"""
    return mvu_weight_words(np.asarray(w).T.reshape(-1, 1), spec, pe, 1)


def frame_cycles(d: dict, nnz) -> int:
    """Cycles of a frame whose vectors have ``nnz`` spikes each (an int for one vector, or
    a sequence, one per vector) in steady state (vectors back to back, no stalls): per
    vector the compute and emit, (nnz + 1) * NF, or the receive of the next vector's SF
    beats when that is longer."""
    nnz = np.atleast_1d(np.asarray(nnz, dtype=np.int64))
    return int(np.maximum(d["sf"], (nnz + 1) * d["nf"]).sum())


def derive(p: Params, ins, outs) -> dict:
    x, y = ins[0], outs[0]
    n, k = p.weight.shape
    nf, sf = _folds(p)
    check_spikes(x)
    vectors = int(np.prod(x.shape[:-1], dtype=np.int64))
    acc_bits = acc_width(*p.acc_range(), y.quant)
    w = p.weight_spec
    return {"rows": n, "cols": k, "pe": p.pe, "simd": p.simd, "nf": nf, "sf": sf,
            "vectors": vectors, "w_bits": w.bits, "w_signed": w.signed, "w_bipolar": w.bipolar,
            "acc_bits": acc_bits, "acc_signed": y.quant.signed,
            "in_lanes": [p.simd], "out_lanes": [p.pe],
            "in_width": p.simd, "out_width": p.pe * acc_bits,
            "weight_word_bits": p.pe * w.bits, "weight_words": k * nf,
            "weight_mem": weight_placement(p, k * nf, p.pe * w.bits),
            "mask_bits": 2 * k,  # the receiving mask and the walked one
            # accumulators: a register for NF = 1, else a distributed RAM of NF words
            "acc_words": nf, "acc_word_bits": p.pe * acc_bits,
            "receive_cycles": sf, "cycles_per_spike": nf, "emit_cycles": nf,
            # worst case per frame (every spike set); a frame whose vectors have nnz
            # spikes takes frame_cycles(d, nnz) = sum of max(sf, (nnz + 1) * nf)
            "cycles_per_vector": max(sf, (k + 1) * nf),
            "cycles": vectors * max(sf, (k + 1) * nf),
            # first input beat to last output beat of a vector: sf + (nnz + 1) * nf +
            # pipeline_cycles
            "pipeline_cycles": PIPELINE}


def context(p: Params, ins, outs) -> dict:
    d = derive(p, ins, outs)
    words = weight_words(p.weight, p.weight_spec, p.pe)
    return {**d, "mems": {"weights": (d["weight_word_bits"], words)},
            "weights_impl": weights_impl(d["weight_mem"])}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx, from the
    structure of hw/rtl/synapse.v: the receive counter and the two K-bit masks, the
    priority encoder (lowest set bit on a K-bit carry chain, OR-encoded) with the address
    k*NF + g, the weight ROM, PE accumulator adders, the accumulator storage, the skid."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    k, pe, nf, sf = d["cols"], d["pe"], d["nf"], d["sf"]
    acc, wb = d["acc_bits"], d["w_bits"]
    ab = pe * acc
    depth = k * nf
    aw = max(1, pr.clog2(depth))
    kw = max(1, pr.clog2(k))
    # receive: the beat counter, the receiving mask (a SIMD-wide write per beat) and the
    # walked mask with its load select and lowest-bit clear
    cost = pr.counter(sf) + pr.reg(k) + Cost(LUT=k if sf > 1 else 0)
    cost += pr.reg(k) + Cost(LUT=k)
    # priority encoder: the one-hot lowest bit (a K-bit negate on the carry chain and its
    # inverters), the OR trees of its kw index bits over about K/2 inputs each, the
    # mask-empty compare
    cost += pr.adder(k) + Cost(LUT=k + kw * -(-k // 12) + -(-k // 6))
    # address k*NF + g (a constant multiply: an adder per further one bit of NF), its
    # register, the group counter and the control (busy, pend, clearing, stage valids)
    cost += pr.adder(aw) * max(1, bin(nf).count("1")) + pr.reg(aw) + pr.counter(nf)
    cost += pr.counter(d["vectors"])  # the vector count for tlast
    cost += Cost(LUT=12, FF=12)
    # the weight ROM with its registered read; the stage's control bits
    cost += pr.rom(depth, pe * wb, d["weight_mem"]) + pr.reg(max(1, pr.clog2(nf)) + 3)
    # accumulators: an add and the clear select per lane, the storage (LUT-RAM with an
    # asynchronous read and the write port, or registers), the output register and skid
    cost += (pr.adder(acc) + Cost(LUT=acc)) * pe
    cost += pr.lutram(nf, ab) if nf > 1 else pr.reg(ab)
    cost += pr.reg(ab) + Cost(LUT=ab + 4, FF=2 * ab + 6)
    return cost
