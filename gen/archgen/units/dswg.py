"""Deformable sliding-window generator: the sampler of a deformable convolution (ONNX
DeformConv, DCNv1 without a mask, DCNv2 with one), in exact integers.

For every output pixel (oh, ow), kernel tap k = (i, j) and input channel c (in offset
group g = c // (C / offset_group)), with x' = x - x_zero_point (0 outside the input):

    py = (oh*sh - pad_top  + i*dh) * 2**F + dy      dy = offset[oh, ow, g*2K + 2k]      (codes)
    px = (ow*sw - pad_left + j*dw) * 2**F + dx      dx = offset[oh, ow, g*2K + 2k + 1]
    y0, fy = py >> F, py & (2**F - 1)               (floor and fraction, F = frac)
    x0, fx = px >> F, px & (2**F - 1)
    s = x'[y0, x0]   * (2**F - fy) * (2**F - fx) + x'[y0, x0+1]   * (2**F - fy) * fx
      + x'[y0+1, x0] * fy * (2**F - fx)           + x'[y0+1, x0+1] * fy * fx
    out[oh, ow, k*C + c] = s * (m - mask_zero_point)    m = mask[oh, ow, g*K + k] (DCNv2)
                         = s                            (DCNv1)

Every corner outside the input contributes zero, as the ONNX spec says.  The real value is
out * x_scale * 2**-2F (* mask_scale): the bilinear weights are exact integers, so the
whole sampler is exact; the mvu behind it (the MAC array, PE/SIMD folded) sums the window
with the weights like a convolution's.  Offsets are signed codes with scale 2**-F.

Streams (channels last): s0 the input frame (H, W, C); s1 the offsets (oH, oW, og*2K);
s2 the mask (oH, oW, og*K) when present; the output is one window of K*C values per output
pixel, tap-major like the swg's, ``simd`` values per beat.

Bounded offsets (``max_offset`` = R pixels, CoDeNet-style): offset codes are clamped to
[-R*2**F, R*2**F] (a no-op when the offsets' quantizer cannot exceed it: the lowering
takes R from that range, or smaller from ``layers.<name>.max_offset`` in the config).
Output row oh then reads input rows oh*sh - pad_top - R .. oh*sh - pad_top + (kh-1)*dh
+ R + 1 only: ``row_span`` = (kh-1)*dh + 2R + 2 rows.

Hardware (hw/rtl/dswg.v, hw/hls/dswg.h): a buffer banked by row and column parity so the
four corners of any sample are read in one cycle.  When ``buffer_rows`` (row_span plus
the stride's rows being written, rounded up to even) is less than the frame's height it
is a ring of rows (``line_buffer``): rows are written while earlier output rows are
sampled, and an output row is sampled as soon as its last row is in.  Otherwise the
frame is received whole, then every output pixel's offsets (and mask) are read and its
window sampled ``simd`` channels per cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, spatial_out
from ..ir.types import QuantSpec, int_range
from .thresholds import element_flags, signed_width


@dataclass(frozen=True, eq=False)
class Params(Op):
    kernel: tuple  # (kh, kw)
    strides: tuple
    pads: tuple  # (top, left, bottom, right)
    dilations: tuple
    offset_group: int
    frac: int  # F: offset codes are real * 2**F
    x_zero_point: int = 0
    mask_zero_point: int = 0
    has_mask: bool = False
    simd: int = 1  # window values per output beat (set by folding)
    max_offset: int | None = None  # R: |offset| <= R pixels (clamped); None: unbounded

    @classmethod
    def kind(cls):
        return "dswg"

    def summary(self):
        k = "x".join(map(str, self.kernel))
        mask = " mask" if self.has_mask else ""
        bound = "" if self.max_offset is None else f" R{self.max_offset}"
        return (f"dswg[k{k} s{self.strides} p{self.pads} d{self.dilations} og{self.offset_group}"
                f" F{self.frac}{mask}{bound} simd{self.simd}]")

    def offset_limits(self, q: QuantSpec) -> tuple[int, int]:
        """The offset codes the sampler can see: the quantizer's range, clamped to +-R*2**F."""
        lo, hi = int_range(q.bits, q.signed)
        if self.max_offset is None:
            return lo, hi
        r = self.max_offset << self.frac
        return max(lo, -r), min(hi, r)

    def out_spatial(self, h: int, w: int) -> tuple:
        return (spatial_out(h, self.kernel[0], self.strides[0], self.pads[0], self.pads[2],
                            self.dilations[0]),
                spatial_out(w, self.kernel[1], self.strides[1], self.pads[1], self.pads[3],
                            self.dilations[1]))

    def infer(self, ins):
        x, off = ins[0], ins[1]
        if len(x.shape) != 3:
            raise InternalError(f"dswg needs a (H, W, C) input, got {x.shape}")
        h, w, c = x.shape
        k = self.kernel[0] * self.kernel[1]
        oh, ow = self.out_spatial(h, w)
        og = self.offset_group
        if c % og:
            raise InternalError(f"dswg: {c} channels in {og} offset groups")
        if off.shape != (oh, ow, og * 2 * k):
            raise InternalError(f"dswg: offsets {off.shape}, expected {(oh, ow, og * 2 * k)}")
        if self.has_mask != (len(ins) == 3) or (self.has_mask and ins[2].shape != (oh, ow, og * k)):
            raise InternalError(f"dswg: mask {[t.shape for t in ins[2:]]}, expected "
                                f"{(oh, ow, og * k) if self.has_mask else 'none'}")
        lo, hi = self.value_range(x.quant, ins[2].quant if self.has_mask else None)
        scale = x.quant.scale[0] * 2.0 ** (-2 * self.frac)
        if self.has_mask:
            scale *= ins[2].quant.scale[0]
        return [((oh, ow, k * c), QuantSpec.for_range(lo, hi, scale))]

    def value_range(self, xq: QuantSpec, mq: QuantSpec | None) -> tuple[int, int]:
        """Exact extremes of an output value: the bilinear sum stays within
        [min(x', 0), max(x', 0)] * 2**2F (its weights sum to 2**2F, corners outside add 0)."""
        one = 1 << (2 * self.frac)
        xlo, xhi = min(xq.lo - self.x_zero_point, 0) * one, max(xq.hi - self.x_zero_point, 0) * one
        if mq is None:
            return xlo, xhi
        mlo, mhi = mq.lo - self.mask_zero_point, mq.hi - self.mask_zero_point
        ends = [a * b for a in (xlo, xhi) for b in (mlo, mhi)]
        return min(ends), max(ends)


def sample(p: Params, x: np.ndarray, off: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The window values (B, oH, oW, K*C) int64 of batch-first channels-last codes."""
    b, h, w, c = x.shape
    kh, kw = p.kernel
    k = kh * kw
    oh, ow = p.out_spatial(h, w)
    og = p.offset_group
    one = 1 << p.frac
    xs = x.astype(np.int64) - p.x_zero_point
    xpad = np.zeros((b, h + 2, w + 2, c), np.int64)  # a ring of zeros: corners just outside
    xpad[:, 1:h + 1, 1:w + 1] = xs
    off = off.astype(np.int64).reshape(b, oh, ow, og, k, 2)
    if p.max_offset is not None:
        off = np.clip(off, -(p.max_offset << p.frac), p.max_offset << p.frac)
    ii, jj = np.divmod(np.arange(k), kw)
    base_y = (np.arange(oh) * p.strides[0] - p.pads[0])[:, None, None] + ii * p.dilations[0]
    base_x = (np.arange(ow) * p.strides[1] - p.pads[1])[None, :, None] + jj * p.dilations[1]
    py = base_y[None, :, :, None, :] * one + off[..., 0]  # (B, oH, oW, og, K)
    px = base_x[None, :, :, None, :] * one + off[..., 1]
    y0, fy = py >> p.frac, py & (one - 1)
    x0, fx = px >> p.frac, px & (one - 1)
    cg = c // og
    out = np.zeros((b, oh, ow, k, c), np.int64)
    bi = np.arange(b)[:, None, None, None, None]
    for dy, wy in ((0, one - fy), (1, fy)):
        for dx, wx in ((0, one - fx), (1, fx)):
            yy, xx = y0 + dy, x0 + dx
            inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            yy = np.where(inside, yy + 1, 0)  # outside -> the zero ring
            xx = np.where(inside, xx + 1, 0)
            wgt = wy * wx  # (B, oH, oW, og, K)
            for g in range(og):
                vals = xpad[bi[..., 0], yy[..., g, :], xx[..., g, :]]  # (B, oH, oW, K, C)
                out[..., g * cg:(g + 1) * cg] += vals[..., g * cg:(g + 1) * cg] * wgt[..., g, :, None]
    if mask is not None:
        m = mask.astype(np.int64).reshape(b, oh, ow, og, k) - p.mask_zero_point
        out = out * np.repeat(np.moveaxis(m, 3, 4), cg, axis=4)
    return out.reshape(b, oh, ow, k * c)


def golden(p: Params, x, off, mask=None) -> list:
    return [sample(p, x, off, mask)]


# -- hardware ----------------------------------------------------------------------------

CELLS = ("dswg.v",)


def derive(p: Params, ins, outs) -> dict:
    """Lanes, buffer geometry, cycles and widths of the sampler."""
    x, y = ins[0], outs[0]
    h, w, c = x.shape
    oh, ow, kc = y.shape
    k = p.kernel[0] * p.kernel[1]
    og = p.offset_group
    cg = c // og
    if p.simd < 1 or cg % p.simd:
        raise InternalError(f"dswg: simd={p.simd} must divide the {cg} channels of an offset group")
    xq = x.quant
    x_bits = signed_width(xq.lo - p.x_zero_point, xq.hi - p.x_zero_point)
    off_q = ins[1].quant
    mask_bits = 0
    if p.has_mask:
        mq = ins[2].quant
        mask_bits = signed_width(mq.lo - p.mask_zero_point, mq.hi - p.mask_zero_point)
    coord_lo = -max(p.pads[0], p.pads[1]) - 1
    coord_hi = max((oh - 1) * p.strides[0] + (p.kernel[0] - 1) * p.dilations[0],
                   (ow - 1) * p.strides[1] + (p.kernel[1] - 1) * p.dilations[1]) + 1
    olo, ohi = p.offset_limits(off_q)
    pos_bits = signed_width((coord_lo << p.frac) + olo, (coord_hi << p.frac) + ohi)
    frame_beats = h * w  # the input: one pixel (C channels) per beat
    out_beats = oh * ow * k * c // p.simd
    # rows an output row reads: from oh*sh + row_lo0 on, row_span of them (clipped to the frame)
    reach = (max(-olo, ohi) + (1 << p.frac) - 1) >> p.frac  # whole pixels an offset can move
    row_lo0 = -p.pads[0] - reach
    row_span = (p.kernel[0] - 1) * p.dilations[0] + 2 * reach + 2
    rows = row_span + p.strides[0]
    rows += rows % 2  # even: consecutive rows always sit in banks of different parity
    line = rows < h
    rows = rows if line else h
    buffer_pixels = rows * w
    # a line buffer overlaps receiving with sampling (and a frame's first rows with the
    # previous frame's last output row, as far as the ring holds both: the rows output row
    # 0 reads beyond the ring's free slots then cost a row time each); a whole frame is
    # received first.  hw/rtl/dswg.v as measured; exact when an output row's sampling
    # (ow*K*C/simd cycles) outlasts the writing of stride rows, else a lower bound.
    cycles = (max(frame_beats, out_beats + w * max(
        0, min(h, max(1, row_lo0 + row_span))
        - max(0, max(0, (oh - 1) * p.strides[0] + row_lo0) + rows - h)))
        if line else frame_beats + out_beats)
    return {"in_lanes": [c, og * 2 * k] + ([og * k] if p.has_mask else []),
            "out_lanes": [p.simd], "height": h, "width": w, "channels": c, "taps": k,
            "out_height": oh, "out_width": ow, "offset_group": og, "group_channels": cg,
            "frac": p.frac, "in_bits": xq.bits, "x_bits": x_bits, "offset_bits": off_q.bits,
            "offset_lo": olo, "offset_hi": ohi, "clamp": int((olo, ohi) != int_range(
                off_q.bits, off_q.signed)),
            "mask_bits": mask_bits, "mask_in_bits": ins[2].quant.bits if p.has_mask else 0,
            "pos_bits": pos_bits, "weight_bits": p.frac + 1,
            "sample_bits": signed_width(*p.value_range(xq, None)), "out_bits": y.quant.bits,
            "max_offset": reach, "row_lo0": row_lo0, "row_span": row_span,
            "line_buffer": int(line), "buffer_rows": rows,
            "buffer_pixels": buffer_pixels, "buffer_bits": buffer_pixels * c * x_bits,
            "frame_beats": frame_beats, "out_beats": out_beats,
            "taps_per_cycle": p.simd / c, "cycles": cycles,
            # input 0 runs ahead of the offsets by up to this many beats (whole frame, or
            # the line buffer and the row being written): hardware.py sizes the other
            # branches' FIFOs by it
            "frame_buffer_input": 0,
            "lead_beats": min(h, rows + 1) * w if line else frame_beats,
            # cycles per frame in which it receives and emits nothing (a whole frame is
            # received first): FIFO sizing probes its window stream, whose FIFO hides them
            "receive_cycles": 0 if line else frame_beats}


def context(p: Params, ins, outs) -> dict:
    d = derive(p, ins, outs)
    x = ins[0]
    return {**d, "simd": p.simd, "in": element_flags(x.quant), "x_zero_point": p.x_zero_point,
            "mask_zero_point": p.mask_zero_point, "has_mask": int(p.has_mask),
            "kernel": list(p.kernel), "strides": list(p.strides), "pads": list(p.pads),
            "dilations": list(p.dilations), "offset_signed": int(ins[1].quant.signed),
            "mask_signed": int(ins[2].quant.signed) if p.has_mask else 0,
            "in_width": d["channels"] * x.quant.bits,
            "offset_width": d["in_lanes"][1] * ins[1].quant.bits,
            "mask_width": d["in_lanes"][2] * ins[2].quant.bits if p.has_mask else 0,
            "out_width": p.simd * outs[0].quant.bits,  # the stream's; derive()'s is the
            "out_cols": d["out_width"]}  # output's width in pixels, kept here


# LUTs of the module beyond the modelled parts (flow control, the stream inputs' valid
# logic, extensions), fitted to 31 syntheses: the 19 configurations of the cell tests and
# the deformable fixtures' 12 modules (see resources())
_GLUE_LUT = 150


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx.

    The frame buffer is 4 banks (row/column parity) of a quarter frame each, whole pixels
    per word.  Per output lane: each corner picked from the four banks' words and the
    channel chunk, zeroed outside the frame (a LUT per bit beside the multiplexer); the
    two-step interpolation, t = x00*2**F + (x01 - x00)*fx and the same for b, s over t
    and b, each a subtract and an add in LUTs (yosys packs neither into the slice here)
    around a product by the F-bit fraction kept at the sum's width, on a DSP by yosys's
    rule; and the mask product.  Per sample: each tap's offsets (and mask) selected from
    the offset group's word, the corner positions, the four bounds checks, the bank
    addresses; with bounded offsets the clamp, with a line buffer the ring's slot
    arithmetic.  Against yosys on 31 modules (the cell tests' 19 configurations and the
    deformable fixtures' 12): LUT within -29% .. +36% (mean |error| 16%), DSP exact on
    28; at SIMD 4 with 18- and 20-bit outputs yosys takes a fifth slice per lane that
    the model does not see (16 against 20)."""
    import math

    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    simd, f, xb = p.simd, d["frac"], d["x_bits"]
    depth = math.ceil(d["buffer_rows"] / 2) * math.ceil(d["width"] / 2)
    word = d["channels"] * d["in_bits"]
    banks = pr.ram(depth, word) * 4

    def step(bits):  # a subtract, a product by the fraction at ``bits``, an add
        if not f:
            return pr.adder(bits)
        return (pr.multiplier(bits, f, part.dsp_widths, bits, False, False)
                + pr.adder(bits) * 2)

    t_bits = xb + f + 1
    lane = step(xb + f) * 2 + step(xb + 2 * f) + pr.reg(4 * xb + 2 * t_bits)
    if p.has_mask:
        lane = lane + pr.multiplier(d["sample_bits"], d["mask_bits"], part.dsp_widths)
    lane = lane + pr.reg(d["out_bits"])
    chunks = d["channels"] // simd
    corners = (pr.mux(4 * chunks, simd * d["in_bits"]) + Cost(LUT=simd * xb)) * 4
    pairs = d["offset_group"] * d["taps"]
    taps = pr.mux(pairs, 2 * d["offset_bits"]) + pr.mux(pairs, d["mask_in_bits"])
    pos = (pr.adder(d["pos_bits"]) * 2 + pr.comparator(d["pos_bits"]) * 4
           + pr.reg(4 * d["pos_bits"] + 2 * f) + Cost(LUT=2 * pr.clog2(depth)))
    if d["clamp"]:  # each offset: two compares with the bounds and a select
        pos = pos + (pr.comparator(max(d["pos_bits"], d["offset_bits"]) + 1) * 2
                     + Cost(LUT=d["pos_bits"])) * 2
    if d["line_buffer"]:  # the ring slot of a row: an add, a wrap, the bank row
        slw = pr.clog2(2 * d["buffer_rows"] + 1)
        pos = pos + (pr.adder(slw + f + 1) + pr.comparator(slw) + pr.adder(slw) * 2
                     + Cost(LUT=2 * slw))
    control = (pr.counter(d["frame_beats"]) + pr.counter(d["out_height"] * d["out_width"])
               + pr.counter(d["taps"]) + pr.counter(chunks)
               + pr.reg(d["in_lanes"][1] * d["offset_bits"] + d["mask_bits"] * d["in_lanes"][-1]))
    return (banks + lane * simd + corners + taps + pos + control + Cost(LUT=_GLUE_LUT))

