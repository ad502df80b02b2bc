"""Sliding-window generator: a channels-last pixel stream -> one window per output pixel.

Output vector order is (kernel position..., channel), the column order of the weight
matrices the following mvu/vvu holds.  Padding inserts ``pad_value`` (the code of real
zero); strides and dilations are general.

Hardware (hw/rtl/swg.v): a line buffer of ``buffer_rows`` input rows (a circular buffer
in one memory); the input streams in while the windows stream out, one beat of ``simd``
elements per cycle on either side.  A 1-D input (L, C) is an L x 1 image, so its
"rows" are single pixels.  ``plane()`` gives the cell's 2-D geometry and
``buffer_rows()`` the line-buffer size; pool.py reuses both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, InternalError, UnsupportedOpError
from ..ir.ops import Op, spatial_out
from ..ir.types import QuantSpec, int_range

CELLS = ("swg.v",)
PIPELINE = 2  # swg.v: memory read register, output register


@dataclass(frozen=True, eq=False)
class Params(Op):
    kernel: tuple
    strides: tuple
    pads: tuple  # (begin..., end...)
    dilations: tuple
    pad_value: int = 0
    simd: int = 1

    @classmethod
    def kind(cls):
        return "swg"

    def summary(self):
        return f"swg[k{'x'.join(map(str, self.kernel))} s{self.strides} p{self.pads}]"

    def out_spatial(self, spatial):
        nd = len(self.kernel)
        return tuple(spatial_out(spatial[i], self.kernel[i], self.strides[i], self.pads[i],
                                 self.pads[nd + i], self.dilations[i]) for i in range(nd))

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or len(x.shape) != len(self.kernel) + 1:
            raise InternalError(f"swg with kernel {self.kernel} on {x}")
        out = self.out_spatial(x.shape[:-1])
        k = int(np.prod(self.kernel))
        spec = x.quant
        if any(self.pads) and not spec.lo <= self.pad_value <= spec.hi:
            spec = spec.with_(lo=min(spec.lo, self.pad_value), hi=max(spec.hi, self.pad_value))
        return [(out + (k * x.shape[-1],), spec)]


def golden(p: Params, x: np.ndarray) -> list:
    from ..golden import windows

    xc = np.moveaxis(x, -1, 1)  # (B, C, *S)
    win = windows(xc, p.kernel, p.strides, p.pads, p.dilations, p.pad_value)  # (B, C, *O, *K)
    nd = len(p.kernel)
    b, c = win.shape[:2]
    out = win.shape[2:2 + nd]
    win = np.moveaxis(win, 1, -1)  # (B, *O, *K, C)
    return [win.reshape((b,) + out + (-1,))]


# -- hardware figures ----------------------------------------------------------------------

def plane(kernel, strides, pads, dilations, spatial, out) -> dict:
    """The line buffer's 2-D geometry (lower-case names of the swg.v parameters).

    ``out`` is the number of windows per axis (end padding, ceil mode: whatever the op's
    out_spatial says); the cell needs only the begin pads: every tap outside the input
    is padding."""
    nd = len(kernel)
    if nd == 1:
        return {"h": spatial[0], "w": 1, "oh": out[0], "ow": 1, "kh": kernel[0], "kw": 1,
                "sh": strides[0], "sw": 1, "dh": dilations[0], "dw": 1, "pt": pads[0], "pl": 0}
    if nd == 2:
        return {"h": spatial[0], "w": spatial[1], "oh": out[0], "ow": out[1],
                "kh": kernel[0], "kw": kernel[1], "sh": strides[0], "sw": strides[1],
                "dh": dilations[0], "dw": dilations[1], "pt": pads[0], "pl": pads[1]}
    raise UnsupportedOpError(f"sliding windows over {nd} spatial axes (hardware: 1 or 2)")


def _rows_needed(g: dict):
    """(need, release) per output row of a frame: output row o reads input rows
    [release[o], need[o]) of its frame; rows above release[o] are read by no later row."""
    h, sh, pt = g["h"], g["sh"], g["pt"]
    ekh = (g["kh"] - 1) * g["dh"] + 1
    need = [min(h, max(0, o * sh - pt + ekh)) for o in range(g["oh"])]
    release = [min(h, max(0, o * sh - pt)) for o in range(g["oh"])]
    return need, release


def frame_ends(g: dict, rows: int, beats_px: int, frames: int = 5) -> list:
    """Cycle at which each of ``frames`` back-to-back frames' last window beat issues, in
    a row-level model of swg.v with a ``rows``-row line buffer and neither side stalling.

    The writer takes w*beats_px cycles per input row and may start row r (counted over
    all frames) once the reader has released row r - rows; the reader takes
    ow*kh*kw*beats_px cycles per output row and starts a row once the rows it reads are
    written; it releases the rows above the next row's first one as it finishes a row."""
    need, release = _rows_needed(g)
    h, oh = g["h"], g["oh"]
    t_w = g["w"] * beats_px
    t_r = g["ow"] * g["kh"] * g["kw"] * beats_px
    n_out = frames * oh
    n_in = (frames + 1) * h
    w_end = []  # cycle after each input row's last beat
    r_end = []  # cycle after each output row's last beat
    j = 0  # next output row
    k = 0  # the output row whose start frees the slot of the next input row

    def released(j):  # input rows (over all frames) released once output row j starts
        return (j // oh) * h + release[j % oh]

    while j < n_out:
        # write every row whose slot the reader has released (rows < released(j))
        while len(w_end) < n_in and len(w_end) - rows < released(j):
            w = len(w_end)
            while released(k) <= w - rows:  # k <= j: the first output row past row w - rows
                k += 1
            free = r_end[k - 1] if k > 0 else 0
            w_end.append(max(w_end[-1] if w_end else 0, free) + t_w)
        rows_in = (j // oh) * h + need[j % oh]
        if rows_in > len(w_end):
            raise InternalError(f"swg model: {rows} rows deadlock on {g}")
        ready = w_end[rows_in - 1] if rows_in > 0 else 0
        r_end.append(max(r_end[-1] if r_end else 0, ready) + t_r)
        j += 1
    return [r_end[(f + 1) * oh - 1] for f in range(frames)]


def buffer_rows(g: dict, beats_px: int, frames: int = 5) -> int:
    """Rows of the line buffer for plane ``g``: the fewest with which ``frames``
    back-to-back frames come out of frame_ends() as fast as with an unbounded buffer
    (a writer never held back), i.e. max(input beats, output beats) apart.

    At least the rows of one window, min((kh-1)*dh+1, h) (fewer deadlock).  Typically
    the largest need(o') - release(o) over consecutive output rows o, o' (the last row
    of a frame followed by row 0 of the next, whose rows count from h): the writer fills
    the next output row's rows while the current one is emitted (3x3, stride 1, pad 1:
    4 rows); more when output rows that need few new rows (a frame's padded top and
    bottom) are too short to write the next ones in."""
    need, release = _rows_needed(g)

    def gaps(rows):
        ends = frame_ends(g, rows, beats_px, frames)
        return [b - a for a, b in zip(ends, ends[1:])]

    unbounded = (frames + 1) * g["h"]  # the writer is never held back
    best = gaps(unbounded)
    lo = max(1, max(n - r for n, r in zip(need, release)))  # deadlock-free
    hi = max(lo, g["h"] + need[0] - release[-1],
             *(need[o + 1] - release[o] for o in range(g["oh"] - 1)))
    while hi < unbounded and gaps(hi) != best:
        lo, hi = hi + 1, min(2 * hi, unbounded)
    while lo < hi:  # more rows never slow the schedule down
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if gaps(mid) == best else (mid + 1, hi)
    return hi


def pads_any(g: dict) -> bool:
    """Whether any window tap falls outside the input (begin, end or ceil-mode padding)."""
    last_row = (g["oh"] - 1) * g["sh"] - g["pt"] + (g["kh"] - 1) * g["dh"]
    last_col = (g["ow"] - 1) * g["sw"] - g["pl"] + (g["kw"] - 1) * g["dw"]
    return g["pt"] > 0 or g["pl"] > 0 or last_row >= g["h"] or last_col >= g["w"]


def stream_code(code: int, spec: QuantSpec, what: str) -> int:
    """The bits a stream of ``spec`` elements carries for ``code`` (a padding code)."""
    if spec.bipolar:
        if code not in (-1, 1):
            raise UnsupportedOpError(f"{what}: pads with code {code}, which a bipolar (1-bit) "
                                     "stream cannot carry (only -1 and +1)")
        return (code + 1) // 2
    lo, hi = int_range(spec.bits, spec.signed)
    if not lo <= code <= hi:
        raise InternalError(f"{what}: padding code {code} outside the stream's "
                            f"{spec.bits}-bit range [{lo}, {hi}]")
    return code & ((1 << spec.bits) - 1)


def window_figures(g: dict, channels: int, lanes: int, bits: int) -> dict:
    """Line-buffer and cycle figures of an swg on plane ``g`` (``lanes`` per beat).

    latency_cycles: first input beat to the last window beat of a frame leaving the cell,
    with neither side stalling (frame_ends of the first frame + PIPELINE)."""
    beats_px = channels // lanes
    rows = buffer_rows(g, beats_px)
    in_beats = g["h"] * g["w"] * beats_px
    out_beats = g["oh"] * g["ow"] * g["kh"] * g["kw"] * beats_px
    return {**g, "buffer_rows": rows,  # line buffer: rows x w pixels x channels x bits
            "buffer_pixels": rows * g["w"], "buffer_words": rows * g["w"] * beats_px,
            "buffer_bits": rows * g["w"] * channels * bits,
            "in_beats": in_beats, "out_beats": out_beats,
            "latency_cycles": frame_ends(g, rows, beats_px, 1)[0] + PIPELINE}


def check_lanes(what: str, name: str, lanes: int, channels: int) -> None:
    if lanes < 1 or channels % lanes:
        valid = [d for d in range(1, channels + 1) if channels % d == 0]
        raise ConfigError(f"{what} {name}: {lanes} lanes must divide its {channels} channels; "
                          f"valid: {valid}")


def derive(p: Params, ins, outs) -> dict:
    """Stream and line-buffer figures.  Cycles per frame (the interval between frames
    when neither side stalls): max(input beats, output beats)."""
    (x,), (y,) = ins, outs
    c = int(x.shape[-1])
    check_lanes("swg", y.name, p.simd, c)
    spatial = tuple(x.shape[:-1])
    out = p.out_spatial(spatial)
    if min(out, default=0) < 1:
        raise InternalError(f"swg {y.name}: no window fits {spatial} (kernel {p.kernel})")
    g = plane(p.kernel, p.strides, p.pads, p.dilations, spatial, out)
    fig = window_figures(g, c, p.simd, x.quant.bits)
    cycles = max(fig["in_beats"], fig["out_beats"])
    return {"in_lanes": [p.simd], "out_lanes": [p.simd], "channels": c, "simd": p.simd,
            "bits": x.quant.bits, "in_spatial": list(spatial), "out_spatial": list(out),
            "kernel": list(p.kernel), "window": math.prod(p.kernel), **fig, "cycles": cycles,
            # first input beat to last output beat of a frame: cycles + pipeline_cycles
            # (or less: a frame whose last rows no window reads ends before its input)
            "pipeline_cycles": max(0, fig["latency_cycles"] - cycles)}


def context(p: Params, ins, outs) -> dict:
    d = derive(p, ins, outs)
    padded = pads_any(d)
    pad = stream_code(p.pad_value, ins[0].quant, f"swg {outs[0].name}") if padded else 0
    return {**d, "strides": list(p.strides), "pads": list(p.pads),
            "dilations": list(p.dilations), "pad_value": p.pad_value, "pad_bits": pad}


def line_buffer_widths(d: dict) -> tuple:
    """(AW, RW, CW) of swg.v for the figures ``d`` (from derive() or pool's derive()):
    line-buffer address, signed row and signed column-word widths (as the cell computes
    them)."""
    def clog2(v):  # swg.v's clog2: at least 1
        return max(1, (int(v) - 1).bit_length())

    cf = d["channels"] // d["in_lanes"][0]
    depth = d["buffer_rows"] * d["w"] * cf
    ekh = (d["kh"] - 1) * d["dh"] + 1
    aw = clog2(depth)
    rw = clog2(d["pt"] + d["oh"] * d["sh"] + ekh + d["h"] + d["buffer_rows"] + 1) + 1
    cw = clog2((d["pl"] + d["ow"] * d["sw"] + d["kw"] * d["dw"] + d["w"]) * cf + 1) + 1
    return aw, rw, max(cw, aw + 1)


def window_cost(d: dict, lanes: int, bits: int):
    """hw/rtl/swg.v for the figures ``d``: the line buffer (a simple dual-port RAM of
    buffer_words x lanes*bits), the output register with its padding multiplexer, and the
    address arithmetic: five address registers with wrap-around adders (AW bits), row
    registers and comparators (RW), column registers and adders (CW), loop counters."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    width = lanes * bits
    aw, rw, cw = line_buffer_widths(d)
    loops = sum(pr.clog2(max(2, d[k])) for k in ("kw", "kh", "ow", "oh"))
    mem = pr.ram(d["buffer_words"], width)
    # a 1-D window (one column) leaves the column registers constant: only cf counts
    kc = _K_CW if d["w"] > 1 or d["kw"] > 1 else _K_CW / 4
    logic = Cost(LUT=width + _K_AW * aw + _K_RW * rw + kc * cw + 1.2 * loops + _K0,
                 FF=width + 5 * aw + 3.3 * rw + 2.5 * cw + loops + 5,
                 CARRY4=(6 * aw + 5 * rw + 4 * cw) / 4)
    return mem + logic


# LUTs per bit of the address, row and column arithmetic, and the fixed control (measured)
_K_AW, _K_RW, _K_CW, _K0 = 12.8, 9.6, 4.8, 8.0


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx
    (window_cost: line buffer by memory.ram_cost, arithmetic by address widths)."""
    return window_cost(d, d["simd"], d["bits"])
