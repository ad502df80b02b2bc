"""Deformable sampler (hw/rtl/dswg.v) against units/dswg.golden(): kernels 3x3 and 2x3,
strides, dilations, pads, offset groups, F = 0..4 fractional offset bits, offsets far
outside the input, signed/unsigned/bipolar inputs with zero points, with and without a mask, SIMD
1 and C/og, under random stalls on all streams; one output beat per cycle after the frame
is received, no bubble between pixels or frames.  Line-buffer mode (bounded offsets: a
max_offset R = 0..2 clamping offsets drawn over a wide code range, or 4-bit offset codes):
a ring of rows over frames of 12..24 rows, the interval and latency of derive()'s formula,
and the input never further ahead of the offsets than derive()'s lead_beats."""

from __future__ import annotations

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.ir.graph import Tensor
from archgen.ir.types import QuantSpec, bits_for_range
from archgen.units import dswg
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

PIPELINE_CYCLES = 6  # issue -> positions -> bank read -> corners -> 2 interpolations -> out


# id: (H, W, C, kernel, strides, pads, dilations, offset groups, F, mask, simd, x spec, x zp)
U4 = QuantSpec(bits=4, signed=False)
I5 = QuantSpec(bits=5, signed=True)
U8 = QuantSpec(bits=8, signed=False)
CASES = {
    "k3_s1_p1_F2_mask": (5, 6, 2, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 2, True, 1, U4, 3),
    "k3_s2_p0_F4_og2": (7, 6, 4, (3, 3), (2, 2), (0, 0, 0, 0), (1, 1), 2, 4, False, 2, I5, 0),
    "k23_d2_p1_F0": (6, 7, 2, (2, 3), (1, 1), (1, 1, 1, 1), (2, 2), 1, 0, False, 1, I5, -2),
    "k23_s2_d2_og2_mask_simd1": (6, 5, 4, (2, 3), (2, 1), (1, 0, 1, 0), (2, 1), 2, 2, True, 1,
                                 U8, 128),
    "k3_d2_p1_F4_mask_og2": (5, 5, 6, (3, 3), (1, 2), (1, 1, 1, 1), (2, 2), 2, 4, True, 3, I5, 4),
    "k3_s2_F0_mask_simdC": (6, 6, 3, (3, 3), (2, 2), (1, 1, 0, 0), (1, 1), 1, 0, True, 3, U4, 0),
    "k23_odd_tiny": (3, 3, 1, (2, 3), (1, 2), (0, 1, 0, 1), (1, 1), 1, 2, False, 1, U4, 15),
    "one_row_k23_p1": (1, 4, 2, (2, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2, 2, True, 1, I5, 0),
    "bipolar_k3_F1": (4, 5, 2, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 1, False, 2,
                      QuantSpec.bipolar_spec(), 0),
}
VERILATOR_CASES = ("k3_d2_p1_F4_mask_og2",)
SLOW_CASES = {
    "12x10x8_k3_p1_og2_F3_mask": (12, 10, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2, 3, True,
                                  4, U8, 100),
    "9x11x3_k23_s2_d2_F1": (9, 11, 3, (2, 3), (2, 2), (0, 1, 1, 0), (2, 2), 1, 1, False, 1,
                            I5, 3),
}

# line buffer (bounded offsets): id: (case as above, bound) with bound ("R", R) for
# max_offset R (offsets over a wide code range, clamped) or ("bits", b) for b-bit offsets
I4 = QuantSpec(bits=4, signed=True)
LINE_CASES = {
    "line_k3_p1_R2_F2_mask": ((14, 6, 2, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 2, True, 1,
                               U4, 3), ("R", 2)),
    "line_k3_p0_R0_F1": ((12, 5, 2, (3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1, 1, False, 2,
                          I5, 0), ("R", 0)),
    "line_k3_s2_R1_og2_F3": ((16, 6, 4, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 2, 3, False, 2,
                              I5, -1), ("R", 1)),
    "line_k23_d2_R1_F2_mask_og2": ((15, 5, 4, (2, 3), (1, 1), (0, 1, 0, 1), (2, 2), 2, 2, True,
                                    1, U8, 128), ("R", 1)),
    "line_k3_bits4_F2_mask": ((18, 4, 2, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 2, True, 2,
                               I4, 0), ("bits", 4)),
    "line_k23_s2_R2_F0": ((20, 5, 1, (2, 3), (2, 1), (1, 0, 1, 0), (1, 1), 1, 0, False, 1,
                           U4, 2), ("R", 2)),
}
LINE_VERILATOR_CASES = ("line_k3_s2_R1_og2_F3",)
SLOW_LINE_CASES = {
    "line_24x9x8_k3_p1_og2_R3_F3_mask_simd4": ((24, 9, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1),
                                                2, 3, True, 4, U8, 100), ("R", 3)),
    "line_22x7x3_k23_s2_d2_bits4_F1": ((22, 7, 3, (2, 3), (2, 2), (1, 1, 0, 1), (2, 2), 1, 1,
                                        False, 1, I5, 3), ("bits", 4)),
    "line_20x6x2_k3_s21_p0_R0_F0": ((20, 6, 2, (3, 3), (2, 1), (0, 0, 0, 0), (1, 1), 1, 0,
                                           True, 2, U4, 1), ("R", 0)),
}


def layer(case, seed=0, frames=2, origin=False, bound=None):
    """``bound``: None (offsets anywhere), ("R", r) (max_offset r: the clamp) or
    ("bits", b) (b-bit signed offset codes, their range bounds them)."""
    h, w, c, kernel, strides, pads, dil, og, frac, has_mask, simd, xq, xzp = case
    max_offset = bound[1] if bound and bound[0] == "R" else None
    op = dswg.Params(kernel, strides, pads, dil, og, frac, xzp, 5 if has_mask else 0,
                     has_mask, simd, max_offset)
    k = kernel[0] * kernel[1]
    oh, ow = op.out_spatial(h, w)
    reach = int(2.5 * max(h, w) * 2 ** frac)  # offsets well outside the frame
    offq = QuantSpec(bits=bits_for_range(-reach, reach)[0], signed=True, scale=2.0 ** -frac)
    if bound and bound[0] == "bits":
        offq = QuantSpec(bits=bound[1], signed=True, scale=2.0 ** -frac)
        reach = 2 ** (bound[1] - 1)
    ins = [Tensor("x", (h, w, c), xq), Tensor("off", (oh, ow, og * 2 * k), offq)]
    if has_mask:
        ins.append(Tensor("mask", (oh, ow, og * k), QuantSpec(bits=4, signed=False,
                                                                 scale=1 / 15)))
    (yshape, yq), = op.infer(ins)
    outs = [Tensor("y", yshape, yq)]
    rng = np.random.default_rng(seed)
    xs = [rng.choice([-1, 1], size=(frames, h, w, c)) if xq.bipolar
          else rng.integers(xq.lo, xq.hi + 1, size=(frames, h, w, c)),
          rng.integers(max(-reach, offq.lo), min(reach, offq.hi) + 1,
                       size=(frames, oh, ow, og * 2 * k))]
    # half the offsets small (samples near the window), half anywhere in range
    near = rng.random(xs[1].shape) < 0.5
    xs[1] = np.where(near, np.clip(rng.integers(-2 ** (frac + 1), 2 ** (frac + 1) + 1,
                                                size=xs[1].shape), offq.lo, offq.hi), xs[1])
    if origin:  # every sample at the origin: the pixels the next frame writes first
        ii, jj = np.divmod(np.arange(k), kernel[1])
        base_y = (np.arange(oh) * strides[0] - pads[0])[:, None] + ii * dil[0]  # (oH, K)
        base_x = (np.arange(ow) * strides[1] - pads[1])[:, None] + jj * dil[1]  # (oW, K)
        off = xs[1].reshape(frames, oh, ow, og, k, 2)
        off[..., 0] = -base_y[None, :, None, None, :] * 2 ** frac
        off[..., 1] = -base_x[None, None, :, None, :] * 2 ** frac
        off += rng.integers(0, 2 ** frac, size=off.shape)
        xs[1] = off.reshape(xs[1].shape)
    if has_mask:
        xs.append(rng.integers(0, 16, size=(frames, oh, ow, og * k)))
    return op, ins, outs, xs


def check(tmp_path, simulator, case, frames=2, **kw):
    op, ins, outs, xs = layer(case, frames=frames, **kw)
    d = dswg.derive(op, ins, outs)
    res = run_unit(tmp_path, simulator, op, ins, outs, xs, frames=frames, stall=0.3)
    # the frame in one beat per cycle, then one window beat per cycle, frame after frame
    assert res["interval_cycles"] == d["cycles"] == d["frame_beats"] + d["out_beats"]
    assert res["latency_cycles"] == d["cycles"] + PIPELINE_CYCLES
    check_lead(tmp_path, op, d, frames)
    return res, d


@pytest.mark.parametrize("name", list(CASES))
def test_dswg_icarus(tmp_path, name):
    check(tmp_path, "icarus", CASES[name])


@pytest.mark.parametrize("name", VERILATOR_CASES)
def test_dswg_verilator(tmp_path, name):
    check(tmp_path, "verilator", CASES[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_CASES))
def test_dswg_bigger(tmp_path, name):
    check(tmp_path, "icarus", SLOW_CASES[name])


def test_dswg_next_frame_overlap(tmp_path):
    """Every sample reads the frame's first pixels, which the next frame overwrites first:
    the next frame's writes start in the cycle of the last sample's bank read (read-first)
    and wait while a stalled output holds that read back."""
    check(tmp_path, "icarus", CASES["k23_d2_p1_F0"], frames=3, origin=True)
    check(tmp_path, "icarus", CASES["k3_s2_p0_F4_og2"], frames=3, origin=True)


def first_rows(d) -> int:
    """Input rows output row 0 reads (the rows a frame must have in before it is sampled)."""
    return min(d["height"], max(1, d["row_lo0"] + d["row_span"]))


def offset_need(op, d, frames) -> np.ndarray:
    """Input beats an offset branch (a conv of the sampler's geometry) must have taken before
    it emits output pixel j's offsets: up to the last pixel of its window, per frame."""
    h, w, oh, ow = d["height"], d["width"], d["out_height"], d["out_width"]
    rows = np.clip(np.arange(oh) * op.strides[0] - op.pads[0]
                   + (op.kernel[0] - 1) * op.dilations[0], 0, h - 1)
    cols = np.clip(np.arange(ow) * op.strides[1] - op.pads[1]
                   + (op.kernel[1] - 1) * op.dilations[1], 0, w - 1)
    frame = (rows[:, None] * w + cols[None, :] + 1).ravel()
    return np.concatenate([f * h * w + frame for f in range(frames)])


def check_lead(tmp_path, op, d, frames):
    """The input never runs further ahead of the offsets than ``lead_beats`` (the FIFO the
    backend gives the offset branch of a DCN block): at most lead_beats beats beyond what
    the offsets the sampler holds needed."""
    import json

    most = np.array(json.loads((tmp_path / "dswg_lead.json").read_text()))
    need = offset_need(op, d, (len(most) + d["out_height"] * d["out_width"] - 1)
                       // (d["out_height"] * d["out_width"]))[:len(most)]
    assert len(most) == (3 + frames) * d["out_height"] * d["out_width"]  # warm-up + frames
    lead = int((most - need).max())
    assert lead <= d["lead_beats"], (lead, d["lead_beats"])
    return lead


def check_line(tmp_path, simulator, name, frames=3, **kw):
    case, bound = {**LINE_CASES, **SLOW_LINE_CASES}[name]
    op, ins, outs, xs = layer(case, frames=frames, bound=bound, **kw)
    d = dswg.derive(op, ins, outs)
    assert d["line_buffer"] == 1 and d["height"] > d["buffer_rows"]
    res = run_unit(tmp_path, simulator, op, ins, outs, xs, frames=frames, stall=0.3)
    # the rows output row 0 reads, then one window beat per cycle while the rows come in
    # ahead; from frame to frame a row time per row of output row 0 the ring cannot hold
    # during the previous frame's last output row
    assert res["interval_cycles"] == d["cycles"]
    assert res["latency_cycles"] == first_rows(d) * d["width"] + d["out_beats"] + PIPELINE_CYCLES
    return res, d, check_lead(tmp_path, op, d, frames)


@pytest.mark.parametrize("name", list(LINE_CASES))
def test_dswg_line_icarus(tmp_path, name):
    check_line(tmp_path, "icarus", name)


@pytest.mark.parametrize("name", LINE_VERILATOR_CASES)
def test_dswg_line_verilator(tmp_path, name):
    check_line(tmp_path, "verilator", name)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_LINE_CASES))
def test_dswg_line_bigger(tmp_path, name):
    check_line(tmp_path, "icarus", name)


def render_all(tmp_path) -> list:
    out = []
    cases = {**{n: (c, None) for n, c in {**CASES, **SLOW_CASES}.items()}, **LINE_CASES,
             **SLOW_LINE_CASES}
    for name, (case, bound) in cases.items():
        op, ins, outs, _ = layer(case, frames=1, bound=bound)
        folder = tmp_path / name
        folder.mkdir()
        for fname, text in verilog.layer_files("dut", op, ins, outs).items():
            (folder / fname).write_text(text)
        out.append(folder / "dut.v")
    return out


def test_dswg_lint(tmp_path):
    for top in render_all(tmp_path):
        lint((top,) + rtl(*dswg.CELLS), "dut")


def figures(cells) -> dict:
    return {"RAMB36": cells.get("RAMB36E1", 0), "RAMB18": cells.get("RAMB18E1", 0),
            "LUT": sum(n for c, n in cells.items() if c.startswith("LUT")),
            "FF": cells.get("FDRE", 0) + cells.get("FDSE", 0), "DSP": cells.get("DSP48E1", 0)}


@pytest.mark.synth
def test_dswg_synth(tmp_path):
    """3x3/pad 1 over 32x32x8 8-bit codes, 2 offset groups, F = 4, a mask, SIMD 4: the
    frame buffer (4 banks of 256 pixels) maps to block RAM, no latch."""
    case = (32, 32, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2, 4, True, 4,
            QuantSpec(bits=8, signed=True), 0)
    op, ins, outs, _ = layer(case, frames=1)
    (tmp_path / "dut.v").write_text(verilog.layer_files("dut", op, ins, outs)["dut.v"])
    cells = synth((tmp_path / "dut.v",) + rtl(*dswg.CELLS), "dut")
    print(f"whole frame: {figures(cells)}")
    d = dswg.derive(op, ins, outs)
    assert d["buffer_bits"] == 32 * 32 * 8 * 8
    assert cells.get("RAMB36E1", 0) + cells.get("RAMB18E1", 0) >= 4  # one or more per bank
    assert cells.get("DSP48E1", 0) <= 5 * op.simd  # interpolations and mask product per lane
    assert cells.get("FDRE", 0) + cells.get("FDSE", 0) < 1200


@pytest.mark.synth
def test_dswg_synth_line(tmp_path):
    """The same layer with offsets bounded to 2 pixels: a ring of 10 rows, 4 banks of 80
    pixels instead of 256, no latch.  Its 64-bit words still take a RAMB36 per bank (a
    RAMB18 is at most 36 bits wide), so the block RAM count only falls on bigger frames
    (more than 512 words per bank); the clamp and the ring's control cost ~55 LUTs and
    ~30 FFs (whole frame: 4 RAMB36, 1,132 LUT, 864 FF, 20 DSP; ring: 4, 1,187, 895, 20)."""
    case = (32, 32, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2, 4, True, 4,
            QuantSpec(bits=8, signed=True), 0)
    op, ins, outs, _ = layer(case, frames=1, bound=("R", 2))
    d = dswg.derive(op, ins, outs)
    assert (d["line_buffer"], d["buffer_rows"], d["clamp"]) == (1, 10, 1)
    assert d["buffer_bits"] == 10 * 32 * 8 * 8
    (tmp_path / "dut.v").write_text(verilog.layer_files("dut", op, ins, outs)["dut.v"])
    f = figures(synth((tmp_path / "dut.v",) + rtl(*dswg.CELLS), "dut"))
    print(f"line buffer (10 rows): {f}")
    assert f["RAMB36"] + f["RAMB18"] <= 4  # one per bank
    assert f["DSP"] <= 5 * op.simd
    assert f["FF"] < 1300 and f["LUT"] < 1400
