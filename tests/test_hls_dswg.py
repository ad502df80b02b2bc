"""C simulation of the dswg kernel (hw/hls/dswg.h, the deformable-convolution sampler)
through its layer header (templates/hls/dswg.h.j2): bit-exact against units/dswg.py
sample() over a grid of kernels (3x3, 2x3), strides, dilations, pads, offset groups,
fractional offset bits (0, 2, 4), with and without a mask (signed and unsigned, with a zero
point), SIMD 1 and a whole offset group, inputs with a zero point (unsigned, signed,
bipolar), offsets far outside the frame and exactly on its edges; several frames per
configuration, silent under -Wall -Wextra.  Line-buffer mode (bounded offsets, a ring of
buffer_rows rows): R = 0, 1, 2 (and R from a 4-bit offset quantizer), offsets over their
whole type so the clamp works, frames several times taller than the ring; the kernel's loop
iterations per frame and its input lead ahead of the offsets through its trace hooks."""

import numpy as np
import pytest

from archgen.ir.graph import Tensor
from archgen.ir.types import QuantSpec
from archgen.units import dswg
from hlscell import run_kernel

# name: (H, W, C, kernel, strides, pads, dilations, offset_group, frac, simd,
#        x (bits, signed, zero point), offsets (bits, signed), mask (bits, signed, zero point)
#        or None, offset spread (codes: offsets drawn in [-spread, spread]))
CASES = {
    "k3_s1_p1_F2_mask_simd1": (5, 6, 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 2, 1,
                               (8, False, 128), (6, True), (4, False, 3), 20),
    "k3_s2_d2_og2_F4_simdcg": (7, 6, 4, (3, 3), (2, 2), (1, 0, 2, 1), (2, 2), 2, 4, 2,
                               (4, True, -2), (8, True), None, 120),
    "k23_s2_og2_F0_mask_far": (6, 5, 6, (2, 3), (2, 1), (0, 1, 1, 0), (1, 2), 2, 0, 1,
                               (3, False, 0), (5, True), (3, True, -1), 12),
    "k3_d2_p0_F4_far_simdall": (6, 7, 3, (3, 3), (1, 2), (0, 0, 0, 0), (2, 1), 1, 4, 3,
                                (5, True, 3), (10, True), (8, False, 0), 500),
    "k23_og2_F2_bipolar": (4, 5, 4, (2, 3), (1, 1), (1, 1, 0, 1), (1, 1), 2, 2, 2,
                           (1, True, 0), (4, False), None, 15),
}


def layer(case, max_offset=None):
    (h, w, c, kernel, strides, pads, dilations, og, frac, simd, xq, oq, mq, _) = case
    bits, signed, zp = xq
    xspec = (QuantSpec.bipolar_spec() if bits == 1 and signed
             else QuantSpec.integer(bits, signed, zero_point=zp))
    op = dswg.Params(kernel, strides, pads, dilations, og, frac, x_zero_point=zp,
                     mask_zero_point=mq[2] if mq else 0, has_mask=mq is not None, simd=simd,
                     max_offset=max_offset)
    k = kernel[0] * kernel[1]
    oh, ow = op.out_spatial(h, w)
    ins = [Tensor("x", (h, w, c), xspec),
           Tensor("off", (oh, ow, og * 2 * k), QuantSpec.integer(oq[0], oq[1], 2.0 ** -frac))]
    if mq:
        ins.append(Tensor("mask", (oh, ow, og * k),
                          QuantSpec.integer(mq[0], mq[1], 0.1, zero_point=mq[2])))
    (shape, quant), = op.infer(ins)
    return op, ins, [Tensor("y", shape, quant)]


def codes(case, ins, frames, seed):
    """Random frames: x and the mask over their ranges; offsets in [-spread, spread]
    (clipped to their type; None: the whole type), some of them at the type's extremes, plus
    positions that land exactly on the frame's edges."""
    rng = np.random.default_rng(seed)
    spread = case[-1]
    xs = []
    for t in ins:
        q = t.quant
        v = rng.integers(q.lo, q.hi + 1, size=(frames,) + t.shape)
        if t.name == "off":
            if spread is not None:
                v = np.clip(rng.integers(-spread, spread + 1, size=v.shape), q.lo, q.hi)
            ext = rng.random(v.shape)
            v = np.where(ext < 0.05, q.lo, np.where(ext > 0.95, q.hi, v))
            frac = case[8]
            whole = rng.integers(-3, 4, size=v.shape) << frac  # on the grid, near the edges
            v = np.where((ext > 0.4) & (ext < 0.5), np.clip(whole, q.lo, q.hi), v)
        elif q.bipolar:
            v = rng.choice([-1, 1], size=v.shape)
        xs.append(v)
    return xs


# test benches' hooks into the kernel (hw/hls/dswg.h): a trace file of the offset reads
# (output row, input words taken) and the loop's iterations per call
TRACE = """#include <cstdio>
static std::FILE *dswg_trace = std::fopen("trace.txt", "w");
#define ARCHGEN_DSWG_TRACE_OFFSET(oh, taken) std::fprintf(dswg_trace, "off %d %d\\n", oh, taken)
#define ARCHGEN_DSWG_TRACE_FRAME(n) std::fprintf(dswg_trace, "frame %d\\n", n)
"""


def traced(monkeypatch):
    """Make hlscell's builds define the trace hooks (tb.cpp gets them first)."""
    from archgen import csim
    build = csim.build

    def with_trace(sources, include_dirs, **kw):
        for src in sources:
            text = src.read_text()
            if not text.startswith(TRACE):
                src.write_text(TRACE + text)
        return build(sources, include_dirs, **kw)

    monkeypatch.setattr(csim, "build", with_trace)


def iterations(tmp_path) -> list:
    """The kernel's loop iterations of each call, from the trace file."""
    trace = (tmp_path / "trace.txt").read_text().split("\n")
    return [int(t.split()[1]) for t in trace if t.startswith("frame ")]


@pytest.mark.parametrize("name", list(CASES))
def test_dswg_csim(tmp_path, monkeypatch, name):
    op, ins, outs = layer(CASES[name])
    d = dswg.derive(op, ins, outs)
    assert d["line_buffer"] == 0
    xs = codes(CASES[name], ins, 4, 11)
    traced(monkeypatch)
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=4) == ""
    # the whole frame first, then the output: derive()'s cycles
    assert iterations(tmp_path) == [d["frame_beats"] + d["out_beats"]] * 4 == [d["cycles"]] * 4


def test_dswg_grid_covers_the_brief():
    """The grid has every feature the RTL grid has (kept true when cases change)."""
    cases = list(CASES.values())
    assert {c[3] for c in cases} == {(3, 3), (2, 3)}
    assert {s for c in cases for s in c[4]} == {1, 2}
    assert {d for c in cases for d in c[6]} == {1, 2}
    assert {max(c[5]) for c in cases} >= {0, 1}
    assert {c[7] for c in cases} == {1, 2} and {c[8] for c in cases} == {0, 2, 4}
    assert {c[12] is None for c in cases} == {True, False}
    assert {c[9] == 1 for c in cases} == {True, False}
    assert any(c[9] == c[2] // c[7] and c[9] > 1 for c in cases)
    assert any(c[10][2] != 0 for c in cases)
    # offsets reaching more than the frame's size outside it
    assert any(c[13] >> c[8] > max(c[0], c[1]) for c in cases)


# -- line buffer (bounded offsets) ----------------------------------------------------------

# name: (case as above, offsets drawn over their whole type; max_offset R or None for the
# offsets' own range): heights well above the ring's rows, so it wraps several times
LINE_CASES = {
    "R2_k3_s1_p1_F2_mask_simd1": ((14, 5, 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 2, 1,
                                   (8, False, 128), (6, True), (4, False, 3), None), 2),
    "R1_k23_s2_d2_og2_F3_simdcg": ((17, 6, 4, (2, 3), (2, 1), (0, 1, 1, 0), (2, 1), 2, 3, 2,
                                    (4, True, -2), (8, True), None, None), 1),
    "R0_k3_s2_p0_og2_mask_simdcg": ((13, 7, 6, (3, 3), (2, 2), (0, 0, 0, 0), (1, 1), 2, 2, 3,
                                     (3, False, 0), (5, True), (3, True, -1), None), 0),
    "R1_k3_d2_F1_unsigned_off_bipolar": ((20, 4, 2, (3, 3), (1, 1), (1, 1, 1, 1), (2, 2), 1, 1,
                                          1, (1, True, 0), (4, False), None, None), 1),
    # R from the offsets' quantizer (4-bit signed, F=2: R=2, nothing to clamp)
    "q4F2_k3_s1_p1_mask_simdall": ((16, 6, 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 2, 4,
                                    (8, True, 0), (4, True), (8, False, 0), None), None),
    # fewer output words per row than the stride's input words: the writer sets the pace
    "R1_k12_s2_input_bound": ((16, 8, 4, (1, 2), (2, 2), (0, 0, 0, 1), (1, 1), 1, 2, 4,
                               (4, True, 0), (6, True), None, None), 1),
}


def line_iterations(d: dict, sh: int) -> int:
    """Iterations of the kernel's loop per call (one frame) in line mode, by the rule the
    kernel documents, beat by beat: an input word is taken while row `rows` fits in the
    ring (rows < base + buffer_rows, or the frame's output is out), an output word is
    emitted when the current output row's rows are in (rows >= min(H, base + row_span)),
    both in one iteration when both may."""
    h, w = d["height"], d["width"]
    row_words = d["out_beats"] // d["out_height"]
    rows = col = oh = word = t = 0
    while True:
        base = oh * sh + d["row_lo0"]
        done = oh == d["out_height"]
        take = rows < h and (done or rows < base + d["buffer_rows"])
        emit = not done and rows >= min(h, base + d["row_span"])
        if not (take or emit):
            return t
        t += 1
        if emit:
            word += 1
            oh, word = (oh + 1, 0) if word == row_words else (oh, word)
        if take:
            col += 1
            rows, col = (rows + 1, 0) if col == w else (rows, col)


def line_formula(d: dict) -> int:
    """The same in closed form when the sampler is the bottleneck (an output row's words
    at least the stride's input rows, which every kernel of 2+ taps per row gives) and
    the ring holds every row below the last output row's first: the rows the first output
    row reads, then the output words back to back."""
    return min(d["height"], d["row_lo0"] + d["row_span"]) * d["width"] + d["out_beats"]


@pytest.mark.parametrize("name", list(LINE_CASES))
def test_dswg_line_csim(tmp_path, monkeypatch, name):
    case, r = LINE_CASES[name]
    op, ins, outs = layer(case, r)
    d = dswg.derive(op, ins, outs)
    assert d["line_buffer"] == 1 and d["buffer_rows"] < d["height"] / 1.3
    assert d["clamp"] == int(r is not None and r << case[8] < 2 ** (case[11][0] - 1))
    frames = 3
    xs = codes(case, ins, frames, 5)
    traced(monkeypatch)
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=frames) == ""
    iters = iterations(tmp_path)
    assert iters == [line_iterations(d, case[4][0])] * frames
    if d["out_beats"] // d["out_height"] >= case[4][0] * d["width"]:  # the sampler's pace
        assert iters[0] == line_formula(d)
    check_lead(tmp_path, case, d, frames)


def check_lead(tmp_path, case, d, frames):
    """The input taken ahead of each output row's offsets, beyond the rows above its first
    window row, is within the lead the backend sizes the offsets' FIFO by."""
    trace = (tmp_path / "trace.txt").read_text().split("\n")
    reads = [tuple(map(int, t.split()[1:])) for t in trace if t.startswith("off ")]
    assert len(reads) == frames * d["out_height"] * d["out_width"]
    lead = max(taken - max(0, oh * case[4][0] - case[5][0]) * d["width"] for oh, taken in reads)
    assert lead <= d["lead_beats"]


def test_dswg_line_grid_covers_the_brief():
    cases = [c for c, _ in LINE_CASES.values()]
    assert {r for _, r in LINE_CASES.values()} == {0, 1, 2, None}
    assert {(3, 3), (2, 3)} <= {c[3] for c in cases}
    assert {c[4][0] for c in cases} == {1, 2} and any(c[6][0] == 2 for c in cases)
    assert {max(c[5]) for c in cases} == {0, 1} and {c[7] for c in cases} == {1, 2}
    assert {c[12] is None for c in cases} == {True, False}
    assert {c[9] == 1 for c in cases} == {True, False}
    assert any(c[9] == c[2] // c[7] > 1 for c in cases)
    assert all(c[13] is None and c[0] >= 12 for c in cases)  # whole code range, tall frames


def random_line_case(seed):
    """A random bounded-offset configuration (seeded) whose buffer is a ring."""
    rng = np.random.default_rng(seed)
    while True:
        kernel = [(3, 3), (2, 3), (3, 2)][rng.integers(3)]
        strides = tuple(int(v) for v in rng.integers(1, 3, size=2))
        dilations = tuple(int(v) for v in rng.integers(1, 3, size=2))
        pads = tuple(int(v) for v in rng.integers(0, 2, size=4))
        og = int(rng.integers(1, 3))
        c = og * int(rng.integers(1, 4))
        simd = [1, c // og][rng.integers(2)]
        frac, r = int(rng.integers(0, 4)), int(rng.integers(0, 3))
        mask = (int(rng.integers(2, 6)), bool(rng.integers(2)), int(rng.integers(-1, 3))) \
            if rng.integers(2) else None
        case = (int(rng.integers(12, 21)), int(rng.integers(5, 9)), c, kernel, strides, pads,
                dilations, og, frac, simd, (int(rng.integers(2, 9)), bool(rng.integers(2)), 1),
                (int(rng.integers(frac + 2, 9)), True), mask, None)
        op, ins, outs = layer(case, r)
        if dswg.derive(op, ins, outs)["line_buffer"]:
            return case, r


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_dswg_line_csim_random(tmp_path, monkeypatch, seed):
    case, r = random_line_case(seed)
    op, ins, outs = layer(case, r)
    d = dswg.derive(op, ins, outs)
    xs = codes(case, ins, 3, seed)
    traced(monkeypatch)
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=3) == ""
    assert iterations(tmp_path) == [line_iterations(d, case[4][0])] * 3
    check_lead(tmp_path, case, d, 3)
