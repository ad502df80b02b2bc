"""Each hardware unit's golden() against an independent formulation, and the
scale-absorption solver against the float chains it replaces, on random data."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archgen import golden
from archgen.config import Config
from archgen.ir import QuantSpec, ops
from archgen.ir.graph import Tensor
from archgen.units import mvu, pool, requant, swg, thresholds, vvu

absorb = importlib.import_module("archgen.passes.absorb_scales")
RNG = np.random.default_rng(11)


def _conv_ref(x, w, strides, pads, dil, group):
    """Direct loops over output pixels: channels-last x (B, H, W, C), w (O, C/g, KH, KW)."""
    b, h, wd, c = x.shape
    o, ig, kh, kw = w.shape
    xp = np.zeros((b, h + pads[0] + pads[2], wd + pads[1] + pads[3], c), dtype=np.int64)
    xp[:, pads[0]:pads[0] + h, pads[1]:pads[1] + wd] = x
    oh = (h + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) // strides[1] + 1
    out = np.zeros((b, oh, ow, o), dtype=np.int64)
    og = o // group
    for i in range(oh):
        for j in range(ow):
            for oc in range(o):
                g = oc // og
                for ki in range(kh):
                    for kj in range(kw):
                        px = xp[:, i * strides[0] + ki * dil[0], j * strides[1] + kj * dil[1],
                                g * ig:(g + 1) * ig]
                        out[:, i, j, oc] += px @ w[oc, :, ki, kj]
    return out


CONV_CASES = [
    # (H, W, C, O, K, strides, pads, dilations, group)
    (6, 7, 3, 4, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),
    (8, 8, 4, 6, 3, (2, 2), (0, 1, 2, 1), (1, 1), 1),
    (9, 9, 2, 3, 3, (1, 2), (2, 2, 2, 2), (2, 2), 1),
    (6, 6, 4, 4, 1, (1, 1), (0, 0, 0, 0), (1, 1), 2),
    (7, 5, 6, 6, 3, (1, 1), (1, 1, 1, 1), (1, 1), 3),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_swg_then_mvu_is_convolution(case):
    h, wd, c, o, k, strides, pads, dil, group = case
    x = RNG.integers(-8, 8, size=(3, h, wd, c))
    w = RNG.integers(-7, 8, size=(o, c // group, k, k))
    gen = swg.Params((k, k), strides, pads, dil, 0)
    win = swg.golden(gen, x)[0]
    full = np.zeros((o, k, k, c), dtype=np.int64)
    og, ig = o // group, c // group
    for g in range(group):
        full[g * og:(g + 1) * og, ..., g * ig:(g + 1) * ig] = np.moveaxis(w[g * og:(g + 1) * og], 1, -1)
    unit = mvu.Params(full.reshape(o, -1), 0, QuantSpec(bits=4, signed=True))
    got = mvu.golden(unit, win)[0]
    assert np.array_equal(got, _conv_ref(x, w, strides, pads, dil, group))


def test_swg_pads_with_the_zero_point_code():
    x = RNG.integers(0, 16, size=(2, 5, 5, 3))
    w = RNG.integers(-7, 8, size=(4, 3, 3, 3))
    zx = 5
    win = swg.golden(swg.Params((3, 3), (1, 1), (1, 1, 1, 1), (1, 1), zx), x)[0]
    got = mvu.golden(mvu.Params(np.moveaxis(w, 1, -1).reshape(4, -1), zx,
                                QuantSpec(bits=4, signed=True)), win)[0]
    assert np.array_equal(got, _conv_ref(x - zx, w, (1, 1), (1, 1, 1, 1), (1, 1), 1))


def test_vvu_is_depthwise_convolution():
    x = RNG.integers(-8, 8, size=(2, 6, 6, 5))
    w = RNG.integers(-7, 8, size=(5, 1, 3, 3))
    win = swg.golden(swg.Params((3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 0), x)[0]
    got = vvu.golden(vvu.Params(w.reshape(5, 9), 0, QuantSpec(bits=4, signed=True)), win)[0]
    assert np.array_equal(got, _conv_ref(x, w, (2, 2), (1, 1, 1, 1), (1, 1), 5))


def test_mvu_binary_is_xnor_popcount():
    k = 64
    x = RNG.choice([-1, 1], size=(10, k))
    w = RNG.choice([-1, 1], size=(8, k))
    got = mvu.golden(mvu.Params(w, 0, QuantSpec.bipolar_spec()), x)[0]
    xnor = (x[:, None, :] == w[None, :, :]).sum(axis=-1)
    assert np.array_equal(got, 2 * xnor - k)


@pytest.mark.parametrize("reduce", ["max", "sum"])
@pytest.mark.parametrize("kernel,strides,pads,ceil", [((2, 2), (2, 2), (0, 0, 0, 0), False),
                                                      ((3, 3), (2, 2), (1, 1, 1, 1), False),
                                                      ((3, 3), (2, 2), (0, 0, 0, 0), True)])
def test_pool_unit_equals_model_pool(reduce, kernel, strides, pads, ceil):
    x = RNG.integers(0, 16, size=(2, 7, 7, 3))
    spec = QuantSpec(bits=4, signed=False)
    op = ops.Pool(reduce, kernel, strides, pads, (1, 1), ceil, channels_last=True)
    want = golden.MODEL_OPS[ops.Pool](op, [x], [spec])[0]
    got = pool.golden(pool.Params(reduce, kernel, strides, pads, (1, 1), ceil), x)[0]
    assert np.array_equal(got, want)
    # and against direct loops
    for i in range(got.shape[1]):
        for j in range(got.shape[2]):
            r0, c0 = i * strides[0] - pads[0], j * strides[1] - pads[1]
            win = x[:, max(r0, 0):r0 + kernel[0], max(c0, 0):c0 + kernel[1]]
            ref = win.max(axis=(1, 2)) if reduce == "max" else win.sum(axis=(1, 2))
            assert np.array_equal(got[:, i, j], ref)


def test_thresholds_count_and_negate():
    x = np.arange(-20, 21).reshape(-1, 1).repeat(2, axis=1)
    t = np.array([[-5, 0, 7], [-3, 2, 9]])
    p = thresholds.Params(t, np.array([False, True]), 1, QuantSpec(bits=3, signed=False), 0)
    got = thresholds.golden(p, x)[0]
    assert np.array_equal(got[:, 0], 1 + (x[:, 0:1] >= t[0]).sum(axis=1))
    assert np.array_equal(got[:, 1], 1 + (-x[:, 1:2] >= t[1]).sum(axis=1))


@pytest.mark.parametrize("rounding", ["floor", "half_even"])
def test_requant_rounding(rounding):
    x = np.arange(-5000, 5000).reshape(-1, 1)
    p = requant.Params(np.array([37]), np.array([-11]), 7, QuantSpec(bits=12, signed=True), 0, rounding)
    got = requant.golden(p, x)[0][:, 0]
    exact = (x[:, 0] * 37 - 11) / 128.0
    want = np.floor(exact) if rounding == "floor" else np.round(exact)
    assert np.array_equal(got, np.clip(want, -2048, 2047))


# -- the absorption solver against random float chains ------------------------------------

@st.composite
def chains(draw):
    """An accumulator type and a float chain (scale, bias, batch norm, activation) with
    its output quantizer, as exporters produce them."""
    channels = draw(st.integers(1, 4))
    acc_bits = draw(st.integers(6, 14))
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    acc_scale = draw(st.floats(1e-4, 1e-1))
    per_channel = draw(st.booleans()) and channels > 1
    scale = (RNG.uniform(0.5, 2, channels) * acc_scale) if per_channel else np.array([acc_scale])
    in_spec = QuantSpec.for_range(lo, hi, scale, 0 if per_channel else None)
    c = (channels,)
    steps = [ops.Step("add", (RNG.normal(size=c) * acc_scale * 50,))]
    if draw(st.booleans()):
        gamma = RNG.uniform(0.3, 2, c) * RNG.choice([-1, 1], c)
        steps.append(ops.Step("batchnorm", (gamma, RNG.normal(size=c) * 0.1, RNG.normal(size=c) * 0.1,
                                            RNG.uniform(0.5, 2, c), np.array(1e-5))))
    act = draw(st.sampled_from(["relu", "none", "sigmoid", "tanh", "clip"]))
    if act == "clip":
        steps.append(ops.Step("clip", (np.array(-0.5), np.array(0.75))))
    elif act != "none":
        steps.append(ops.Step(act, ()))
    out_bits = draw(st.integers(2, 8))
    signed = draw(st.booleans())
    out_scale = draw(st.floats(1e-3, 0.5))
    quant = ops.Quantize(QuantSpec(bits=out_bits, signed=signed, scale=(out_scale,)))
    return channels, in_spec, tuple(steps), quant


@settings(max_examples=60, deadline=None)
@given(chains(), st.sampled_from(["thresholds", "multiply_shift"]))
def test_absorbed_chain_is_exact_on_every_input(chain, mode):
    channels, in_spec, steps, quant = chain
    shape = (channels,)
    t_in = Tensor("acc", shape, in_spec)
    x = np.arange(in_spec.lo, in_spec.hi + 1).reshape(-1, 1).repeat(channels, axis=1)
    f = absorb._Chain(in_spec, steps, quant, shape)
    want = f(x)
    p = absorb._absorb_1d(f, 0, channels, in_spec.lo, in_spec.hi, Config(requant=mode), "test")
    assert p is not None
    unit = thresholds if isinstance(p, thresholds.Params) else requant
    got = unit.golden(p, x)[0]
    assert np.array_equal(got, want), (type(p).__name__, steps)
    assert p.infer([t_in])[0][0] == shape


@pytest.mark.parametrize("mode", ["HALF_EVEN", "FLOOR"])
def test_fixed_point_chain_becomes_a_shift_requantizer(mode):
    """Power-of-two scales with the bias on the accumulator grid (archgen's own float
    quantization): read off directly as multiply 1, shift, convergent rounding."""
    from archgen.ir import RoundMode

    in_spec = QuantSpec.for_range(-(1 << 15), (1 << 15) - 1, 2.0 ** -12)
    bias = np.array([3 * 2.0 ** -12, -77 * 2.0 ** -12])
    steps = (ops.Step("add", (bias,)), ops.Step("relu", ()))
    quant = ops.Quantize(QuantSpec.fixed(8, 3), RoundMode(mode))
    f = absorb._Chain(in_spec.with_(scale=(2.0 ** -12,)), steps, quant, (2,))
    p = absorb._absorb_1d(f, 0, 2, in_spec.lo, in_spec.hi, Config(requant="multiply_shift"), "t")
    assert isinstance(p, requant.Params)
    assert p.shift == 7 and p.mult.tolist() == [1, 1]
    x = np.arange(in_spec.lo, in_spec.hi + 1).reshape(-1, 1).repeat(2, axis=1)
    assert np.array_equal(requant.golden(p, x)[0], f(x))
