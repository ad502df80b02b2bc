"""Streaming pooling on a channels-last stream: windowed max of codes, or windowed sum
(average pooling: the division is a scale absorbed into the next quantizer).  A global
pool is the case kernel == input size.

Hardware: an swg (hw/rtl/swg.v, simd = pe) streams each window tap-major, channels minor,
into the window-reduce cell hw/rtl/pool.v (one accumulator per channel); a global pool
(no padding) is hw/rtl/gpool.v alone, which reduces the frame's pixels as they arrive.
``pe`` elements per beat on every stream."""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from ..errors import InternalError, UnsupportedOpError
from ..ir.ops import Op, spatial_out, sum_spec
from ..ir.types import bits_for_range
from . import swg

CELLS = ("swg.v", "pool.v", "gpool.v", "axis_skid.v")
PIPELINE = 1  # pool.v: the last tap's result goes out through a skid register


@dataclass(frozen=True, eq=False)
class Params(Op):
    reduce: str  # "max" | "sum"
    kernel: tuple
    strides: tuple
    pads: tuple
    dilations: tuple
    ceil_mode: bool = False
    pad_value: int | None = None  # code padded in; None: -inf for max, 0 for sum
    pe: int = 1

    @classmethod
    def kind(cls):
        return "pool"

    def summary(self):
        return f"pool[{self.reduce} k{'x'.join(map(str, self.kernel))} s{self.strides}]"

    def out_spatial(self, spatial):
        nd = len(self.kernel)
        return tuple(spatial_out(spatial[i], self.kernel[i], self.strides[i], self.pads[i],
                                 self.pads[nd + i], self.dilations[i], self.ceil_mode)
                     for i in range(nd))

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or len(x.shape) != len(self.kernel) + 1:
            raise InternalError(f"pool with kernel {self.kernel} on {x}")
        shape = self.out_spatial(x.shape[:-1]) + (x.shape[-1],)
        if self.reduce == "max":
            return [(shape, x.quant)]
        return [(shape, sum_spec(x.quant, int(np.prod(self.kernel)), any(self.pads) or self.ceil_mode))]


def golden(p: Params, x: np.ndarray) -> list:
    from ..golden import MAX_POOL_PAD, windows

    xc = np.moveaxis(x, -1, 1)
    nd = len(p.kernel)
    axes = tuple(range(-nd, 0))
    if p.reduce == "max":
        pad = MAX_POOL_PAD if p.pad_value is None else p.pad_value
        y = windows(xc, p.kernel, p.strides, p.pads, p.dilations, pad, p.ceil_mode).max(axis=axes)
    else:
        pad = 0 if p.pad_value is None else p.pad_value
        y = windows(xc, p.kernel, p.strides, p.pads, p.dilations, pad, p.ceil_mode).sum(
            axis=axes, dtype=np.int64)
    return [np.moveaxis(y, 1, -1)]


# -- hardware figures ----------------------------------------------------------------------

def is_global(p: Params, spatial) -> bool:
    """A window covering the whole input with no padding: gpool.v, no line buffer."""
    return (tuple(p.kernel) == tuple(spatial) and not any(p.pads)
            and all(d == 1 for d in p.dilations))


def _empty_window(g: dict):
    """(axis, output index) of a window with no tap inside the input along that axis, or None."""
    for axis, (n, o, k, s, d, b) in enumerate([("h", "oh", "kh", "sh", "dh", "pt"),
                                                ("w", "ow", "kw", "sw", "dw", "pl")]):
        for i in range(g[o]):
            if not any(0 <= i * g[s] - g[b] + j * g[d] < g[n] for j in range(g[k])):
                return axis, i
    return None


def derive(p: Params, ins, outs) -> dict:
    """Stream and cycle figures, and the window geometry and line buffer of the swg that
    feeds the reduce cell (swg.window_figures; none for ``global``: gpool.v).

    Beats per frame: in_beats = H*W*C/pe in, window_beats = OH*OW*K*C/pe from the swg
    into the reduce cell, out_beats = OH*OW*C/pe out.  Cycles per frame (one beat per
    cycle): in_beats for global pooling (its C/pe output beats leave during the last
    pixel), else max(in_beats, window_beats).  latency_cycles: first input beat to last
    output beat of a frame, neither side stalling."""
    (x,), (y,) = ins, outs
    c = int(x.shape[-1])
    swg.check_lanes("pool", y.name, p.pe, c)
    if p.reduce not in ("max", "sum"):
        raise InternalError(f"pool {y.name}: reduce {p.reduce!r} (valid: max, sum)")
    spatial = tuple(x.shape[:-1])
    out = p.out_spatial(spatial)
    if min(out, default=0) < 1:
        raise InternalError(f"pool {y.name}: no window fits {spatial} (kernel {p.kernel})")
    g = swg.plane(p.kernel, p.strides, p.pads, p.dilations, spatial, out)
    glob = is_global(p, spatial)
    pixels, in_pixels = math.prod(out), math.prod(spatial)
    if glob:
        beats = in_pixels * c // p.pe
        fig = {**g, "buffer_rows": 0, "buffer_pixels": 0, "buffer_words": 0, "buffer_bits": 0,
               "in_beats": beats, "window_beats": beats, "latency_cycles": beats + PIPELINE}
    else:
        fig = swg.window_figures(g, c, p.pe, x.quant.bits)
        fig["window_beats"] = fig.pop("out_beats")
        fig["latency_cycles"] += PIPELINE
    cycles = max(fig["in_beats"], fig["window_beats"])
    return {"in_lanes": [p.pe], "out_lanes": [p.pe], "reduce": p.reduce, "channels": c,
            "pe": p.pe, "kernel": list(p.kernel), "in_spatial": list(spatial),
            "out_spatial": list(out), "global": glob, "taps": math.prod(p.kernel),
            "pixels": pixels, "in_pixels": in_pixels, "in_bits": x.quant.bits,
            "out_bits": y.quant.bits, **fig, "out_beats": pixels * c // p.pe, "cycles": cycles,
            # first input beat to last output beat of a frame: cycles + pipeline_cycles
            "pipeline_cycles": max(0, fig["latency_cycles"] - cycles)}


def context(p: Params, ins, outs) -> dict:
    """derive() + the reduce cell's element handling and the padding code.

    Max pooling pads (pad_value None) with the input's lowest code: every window holds a
    real element (checked here, ceil-mode windows included), so a pad never wins.  A
    bipolar input is max-pooled as its bits (0 < 1 as -1 < +1) and summed as -1/+1."""
    (x,), (y,) = ins, outs
    d = derive(p, ins, outs)
    xq = x.quant
    is_max = p.reduce == "max"
    padded = not d["global"] and swg.pads_any(d)
    what = f"pool {y.name}"
    if is_max and p.pad_value is None and padded and _empty_window(d) is not None:
        axis, i = _empty_window(d)
        raise UnsupportedOpError(f"{what}: max-pooling window {i} along spatial axis {axis} "
                                 f"lies entirely in the padding (kernel {p.kernel}, pads {p.pads}, "
                                 f"dilations {p.dilations}, ceil_mode {p.ceil_mode})")
    pad = (xq.lo if is_max else 0) if p.pad_value is None else int(p.pad_value)
    pad_bits = swg.stream_code(pad, xq, what) if padded else 0
    bits_only = xq.bipolar and is_max  # max of -1/+1 codes = max of their bits
    in_signed = xq.signed and not xq.bipolar
    if bits_only:
        lo, hi = 0, 1
    elif xq.bipolar:
        lo, hi = -1, 1
    else:
        lo, hi = xq.lo, xq.hi
    if padded:
        lo, hi = min(lo, pad_bits if bits_only else pad), max(hi, pad_bits if bits_only else pad)
    if not is_max:  # partial sums of 1..taps elements
        n = d["in_pixels"] if d["global"] else d["taps"]
        lo, hi = min(lo, n * lo), max(hi, n * hi)
    acc_bits, signed = bits_for_range(lo, hi)
    acc_bits = max(acc_bits + (0 if signed else 1), d["out_bits"], 2)
    return {**d, "strides": list(p.strides), "pads": list(p.pads),
            "dilations": list(p.dilations), "pad_value": p.pad_value, "pad_bits": pad_bits,
            "is_max": is_max, "in_signed": in_signed, "in_bipolar": xq.bipolar and not is_max,
            "acc_bits": acc_bits}


def reduce_cost(d: dict, taps: int, pixels: int):
    """hw/rtl/pool.v (gpool.v is pool.v with TAPS = the frame's pixels): per lane an
    ACC_BITS compare-and-select (max) or add-or-load (sum), the accumulators of the C/pe
    channel groups in single-port LUT-RAM (flip-flops for one group), channel/tap/pixel
    counters, and the output skid register (axis_skid.v: two words and a multiplexer)."""
    from ..estimate import memory
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    pe, cf = d["pe"], d["channels"] // d["pe"]
    acc = _acc_bits(d)
    out = pe * d["out_bits"]
    if d["reduce"] == "max":  # a comparator's carry chain, then a select per bit
        lane = pr.comparator(acc) + Cost(LUT=acc)
    else:  # the adder, then the load-on-first-tap select after its carry chain (measured:
        # two LUTs per accumulator bit beside the adder's own)
        lane = pr.adder(acc) + Cost(LUT=2 * acc)
    counters = pr.counter(cf) + pr.counter(taps) + pr.counter(pixels)
    skid = Cost(LUT=out + 2, FF=2 * out + 3)
    return lane * pe + memory.ram_async(cf, pe * acc) + counters + skid + Cost(LUT=4)


def _acc_bits(d: dict) -> int:
    """pool.v's ACC_BITS as context() computes it, from derive()'s figures alone (the
    accumulator holds a partial max or sum of the input codes; a bit or two either way
    hardly moves the estimate)."""
    n_bits = d["in_bits"]
    if d["reduce"] == "max":
        return max(n_bits + 1, d["out_bits"], 2)
    n = d["in_pixels"] if d["global"] else d["taps"]
    return max(n_bits + 1 + pr_clog2(n), d["out_bits"], 2)


def pr_clog2(n: int) -> int:
    return max(0, int(n) - 1).bit_length()


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx: the
    window generator (swg.window_cost) feeding pool.v, or gpool.v alone."""
    if d["global"]:
        return reduce_cost(d, d["in_pixels"], 1)
    return swg.window_cost(d, d["pe"], d["in_bits"]) + reduce_cost(d, d["taps"], d["pixels"])
