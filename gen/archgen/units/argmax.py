"""Label select: indices of the k largest codes along the last axis, largest first, the
lower index first among equal codes (argmax when k == 1; the Indices of ONNX TopK).

Hardware (hw/rtl/argmax.v): PE elements per input beat; the beat's best min(k, PE)
lanes, sorted (a tournament when that is one lane), merge into a sorted list of the
vector's k best so far; k output beats per vector, one index each, best first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op
from ..ir.types import QuantSpec
from .thresholds import element_flags, element_width, stream_geometry


@dataclass(frozen=True, eq=False)
class Params(Op):
    keepdims: bool = True  # k == 1 only: False drops the last axis
    k: int = 1  # indices per vector, 1..n
    pe: int = 1  # lanes per input beat (set by folding); divides the last dimension

    @classmethod
    def kind(cls):
        return "argmax"

    def __post_init__(self):
        if not isinstance(self.k, (int, np.integer)) or self.k < 1 or (
                self.k > 1 and not self.keepdims):
            raise InternalError(f"argmax k={self.k} keepdims={self.keepdims}: k must be an "
                                "integer >= 1, and the last axis is kept when k > 1")

    def summary(self):
        return "argmax" if self.k == 1 else f"argmax[top {self.k}]"

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or x.quant.per_channel:
            raise InternalError("argmax needs codes with one scale")
        n = x.shape[-1]
        if self.k > n:
            raise InternalError(f"argmax: k={self.k} of the {n} elements of {x.name} {x.shape}")
        shape = x.shape[:-1] + ((self.k,) if self.keepdims else ())
        return [(shape, QuantSpec.for_range(0, max(n - 1, 1)))]


def top_indices(x: np.ndarray, axis: int, k: int, keepdims: bool = True) -> np.ndarray:
    """Indices of the k largest elements of ``x`` along ``axis``, largest first, the lower
    index first among equal ones (ONNX TopK largest=1 sorted=1, as onnxruntime computes
    it); the axis keeps size k (dropped when k == 1 and not ``keepdims``)."""
    if k == 1:
        return np.argmax(x, axis=axis, keepdims=keepdims).astype(np.int64)
    order = np.argsort(-np.moveaxis(x, axis, -1), axis=-1, kind="stable")[..., :k]
    return np.moveaxis(order, -1, axis).astype(np.int64)


def golden(p: Params, x: np.ndarray) -> list:
    return [top_indices(x, -1, p.k, p.keepdims)]


CELLS = ("argmax.v",)
# pipeline registers: registered input, the beat's best lanes, the running best list and
# the output register; first input beat to last output beat = cycles + pipeline_cycles
STAGES = 3


def derive(p: Params, ins, outs) -> dict:
    """Lanes, beats per frame and vector, vectors per frame, compare and index widths.

    A vector takes max(beats, k) cycles: its k output beats leave while the next vector
    streams in, so the output side bounds the rate only when k exceeds the beats."""
    x, y = ins[0], outs[0]
    n = x.shape[-1] if x.shape else 1
    _, beats = stream_geometry("argmax", x, p.pe, n)
    if p.k > n:
        raise InternalError(f"argmax: k={p.k} of the {n} elements of {x.name} {x.shape}")
    if y.quant.signed or y.quant.bipolar or y.quant.bits > 32 or (n - 1) >> y.quant.bits:
        raise InternalError(f"argmax: output {y.name} ({y.quant}) cannot hold the indexes "
                            f"0..{n - 1} as an unsigned integer of at most 32 bits")
    vectors, vbeats = x.size // n, n // p.pe
    return {"in_lanes": [p.pe], "out_lanes": [1], "n": n, "k": p.k, "vectors": vectors,
            "frame_beats": beats, "vector_beats": vbeats, "out_beats": vectors * p.k,
            "cycles": vectors * max(vbeats, p.k),
            "pipeline_cycles": STAGES - 1 + min(vbeats, p.k),
            "x_bits": element_width(x.quant), "out_bits": y.quant.bits}


def context(p: Params, ins, outs) -> dict:
    x = ins[0]
    return {**derive(p, ins, outs), "pe": p.pe, "in": element_flags(x.quant),
            "in_width": p.pe * x.quant.bits}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx.

    Stage 2: a tournament of PE-1 compare-and-select nodes (one best lane), or, for
    M = min(K, PE) > 1, a comparator per pair of lanes, each lane's rank and M slots
    selecting the lane of their rank.  Stage 3: a comparator per (slot, candidate) pair
    that can decide a place < K, and per slot a select of its possible sources.  The
    output buffer shifts K indices out.  Comparators as cmp2lcu maps them (a carry
    position and two LUTs per 3 bits)."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    pe, k, xb, ob = p.pe, d["k"], d["x_bits"], d["out_bits"]
    m = min(k, pe)
    lane_bits = pr.clog2(pe)
    cmp = _compare(xb)
    out = Cost(FF=pe * xb + 2 * ob)  # input register, lane-0 index and its copy
    if m == 1:  # tournament tree
        out = out + (cmp + Cost(LUT=1.5 * (xb + lane_bits))) * (pe - 1)  # measured 1.5
    else:
        pairs = pe * (pe - 1) // 2
        out = out + cmp * pairs + Cost(LUT=pe * (lane_bits + 1))  # ranks
        out = out + Cost(LUT=m * (xb + lane_bits) * -(-pe // 3))  # slot selects
    out = out + (pr.adder(ob) if pe > 1 else Cost()) * m + pr.reg(m * (xb + ob))
    pairs = sum(min(k - i, m) for i in range(k))
    out = out + cmp * pairs
    sources = sum(min(s, m) + 1 + min(s + 1, m) for s in range(k))
    out = out + Cost(LUT=(xb + ob) * sources / 3 + 2 * k * (m + 1))
    out = out + pr.reg(k * (xb + ob + 1)) + Cost(LUT=k * ob if k > 1 else 0, FF=k * ob)
    out = out + pr.counter(d["vector_beats"]) + pr.counter(d["vectors"]) + pr.counter(k)
    return out + pr.adder(ob) + Cost(LUT=8, FF=8)  # lane-0 index, flow control


def _compare(bits: int):
    """A signed compare of two variables (cmp2lcu: a carry position per 3 bits)."""
    from ..estimate.resources import Cost

    pos = -(-bits // 3)
    return Cost(LUT=2 * pos, CARRY4=-(-pos // 4))
