"""C simulation of the dswg kernel (hw/hls/dswg.h, the deformable-convolution sampler)
through its layer header (templates/hls/dswg.h.j2): bit-exact against units/dswg.py
sample() over a grid of kernels (3x3, 2x3), strides, dilations, pads, offset groups,
fractional offset bits (0, 2, 4), with and without a mask (signed and unsigned, with a zero
point), SIMD 1 and a whole offset group, inputs with a zero point (unsigned, signed,
bipolar), offsets far outside the frame and exactly on its edges; several frames per
configuration, silent under -Wall -Wextra."""

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


def layer(case):
    (h, w, c, kernel, strides, pads, dilations, og, frac, simd, xq, oq, mq, _) = case
    bits, signed, zp = xq
    xspec = (QuantSpec.bipolar_spec() if bits == 1 and signed
             else QuantSpec.integer(bits, signed, zero_point=zp))
    op = dswg.Params(kernel, strides, pads, dilations, og, frac, x_zero_point=zp,
                     mask_zero_point=mq[2] if mq else 0, has_mask=mq is not None, simd=simd)
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
    (clipped to their type), some of them at the type's extremes, plus positions that land
    exactly on the frame's edges."""
    rng = np.random.default_rng(seed)
    spread = case[-1]
    xs = []
    for t in ins:
        q = t.quant
        v = rng.integers(q.lo, q.hi + 1, size=(frames,) + t.shape)
        if t.name == "off":
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


@pytest.mark.parametrize("name", list(CASES))
def test_dswg_csim(tmp_path, name):
    op, ins, outs = layer(CASES[name])
    xs = codes(CASES[name], ins, 4, 11)
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=4) == ""


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
