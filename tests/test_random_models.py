"""Random quantized CNNs and MLPs, end to end: archgen against qonnx, and every pass
bit-exact.  Layer mix, geometry, bit widths, scales and batch norms are drawn by
hypothesis (derandomized, so a failure reproduces); scales are arbitrary floats, not
powers of two, as trained models have them."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import check_against_source
from test_frontend_ops import QONNX, G

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def cnns(draw):
    c = draw(st.integers(1, 4))
    h = draw(st.integers(6, 11))
    w = draw(st.integers(6, 11))
    return {"in": (c, h, w),
            "blocks": [dict(out=draw(st.integers(1, 6)), k=draw(st.sampled_from([1, 3])),
                            stride=draw(st.sampled_from([1, 2])), pad=draw(st.sampled_from([0, 1])),
                            depthwise=draw(st.booleans()), bn=draw(st.booleans()),
                            relu=draw(st.booleans()), bits=draw(st.integers(2, 8)),
                            wbits=draw(st.integers(2, 6)), per_channel=draw(st.booleans()),
                            residual=draw(st.booleans()), pool=draw(st.booleans()))
                       for _ in range(draw(st.integers(1, 3)))],
            "classes": draw(st.integers(2, 6)),
            "seed": draw(st.integers(0, 2 ** 16))}


def _batchnorm(g, y, n):
    rng = g.rng
    return g.op("BatchNormalization", [y, g.c(rng.uniform(0.5, 1.5, n)), g.c(rng.normal(size=n) * 0.2),
                                       g.c(rng.normal(size=n) * 0.2), g.c(rng.uniform(0.5, 2, n))])


def _float_scale(rng, lo=0.02, hi=0.3):
    return float(np.float32(rng.uniform(lo, hi)))


def build_cnn(spec):
    g = G(spec["seed"])
    rng = g.rng
    c, h, w = spec["in"]
    x = g.quant("x", scale=_float_scale(rng, 0.02, 0.08), bits=8)
    shape = (c, h, w)
    for b in spec["blocks"]:
        c_in, hh, ww = shape
        pad = b["pad"]
        k = b["k"] if min(hh, ww) + 2 * pad >= b["k"] else 1
        stride = b["stride"] if min(hh, ww) + 2 * pad - k >= 2 else 1
        depthwise = b["depthwise"] and c_in > 1
        out = c_in if depthwise else b["out"]
        group = c_in if depthwise else 1
        wshape = (out, c_in // group, k, k)
        codes = rng.integers(-(2 ** (b["wbits"] - 1) - 1), 2 ** (b["wbits"] - 1), size=wshape)
        if b["per_channel"]:
            wscale = rng.uniform(0.02, 0.2, size=(out, 1, 1, 1)).astype(np.float32)
        else:
            wscale = np.float32(rng.uniform(0.02, 0.2))
        wq = g.quant(g.c((codes * wscale).astype(np.float32)), scale=np.asarray(wscale),
                     bits=b["wbits"], narrow=1)
        y = g.op("Conv", [x, wq, g.c(rng.normal(size=out) * 0.1)], kernel_shape=[k, k],
                 strides=[stride, stride], pads=[pad] * 4, group=group)
        if b["bn"]:
            y = _batchnorm(g, y, out)
        if b["relu"]:
            y = g.op("Relu", [y])
        y = g.quant(y, scale=_float_scale(rng, 0.05, 0.4), bits=b["bits"], signed=not b["relu"])
        oh = (hh + 2 * pad - k) // stride + 1
        ow = (ww + 2 * pad - k) // stride + 1
        new = (out, oh, ow)
        if b["residual"] and new == shape:
            s = g.op("Add", [x, y])
            y = g.quant(s, scale=_float_scale(rng, 0.05, 0.4), bits=b["bits"], signed=1)
        if b["pool"] and min(oh, ow) >= 4:
            y = g.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
            new = (out, oh // 2, ow // 2)
        x, shape = y, new
    gap = g.op("GlobalAveragePool", [x])
    gq = g.quant(gap, scale=_float_scale(rng, 0.02, 0.2), bits=8)
    flat = g.op("Flatten", [gq])
    n = spec["classes"]
    wq = g.quant(g.c((rng.integers(-7, 8, size=(n, shape[0])) * 0.05).astype(np.float32)),
                 scale=0.05, bits=4, narrow=1)
    y = g.op("Gemm", [flat, wq, g.c(rng.normal(size=n) * 0.1)], transB=1)
    return g.model(spec["in"], y)


@SETTINGS
@given(cnns())
def test_random_cnn_matches_qonnx(tmp_path_factory, spec):
    path = tmp_path_factory.mktemp("cnn") / "m.onnx"
    onnx.save(build_cnn(spec), str(path))
    x = np.random.default_rng(spec["seed"]).normal(size=(8,) + spec["in"]) * 2
    check_against_source(path, x, spec)


@st.composite
def mlps(draw):
    return {"widths": [draw(st.integers(2, 40)) for _ in range(draw(st.integers(2, 4)))],
            "bits": draw(st.integers(1, 8)), "wbits": draw(st.integers(1, 8)),
            "bn": draw(st.booleans()), "matmul": draw(st.booleans()), "seed": draw(st.integers(0, 2 ** 16))}


def build_mlp(spec, sign_bn=True):
    """A random MLP; binary activations follow a batch norm (as BNNs have it) unless
    ``sign_bn`` is False."""
    g = G(spec["seed"])
    rng = g.rng
    widths = spec["widths"]
    x = g.quant("x", scale=_float_scale(rng, 0.02, 0.08), bits=8)
    for i, (k, n) in enumerate(zip(widths[:-1], widths[1:])):
        bits = spec["wbits"]
        if bits == 1:
            w = g.op("BipolarQuant", [g.c(rng.normal(size=(n, k))), g.c(0.1)], domain=QONNX)
        else:
            codes = rng.integers(-(2 ** (bits - 1) - 1), 2 ** (bits - 1), size=(n, k))
            scale = np.float32(rng.uniform(0.02, 0.2))
            w = g.quant(g.c((codes * scale).astype(np.float32)), scale=scale, bits=bits, narrow=1)
        if spec["matmul"]:
            y = g.op("MatMul", [x, g.op("Transpose", [w], perm=[1, 0])])
        else:
            y = g.op("Gemm", [x, w, g.c(rng.normal(size=n) * 0.1)], transB=1)
        if i == len(widths) - 2:
            return g.model((widths[0],), y)
        if spec["bn"] or (spec["bits"] == 1 and sign_bn):  # a BN sets the sign threshold
            y = _batchnorm(g, y, n)
        if spec["bits"] == 1:
            x = g.op("BipolarQuant", [y, g.c(1.0)], domain=QONNX)
        else:
            x = g.quant(g.op("Relu", [y]), scale=_float_scale(rng, 0.05, 0.4), bits=spec["bits"], signed=0)


@SETTINGS
@given(mlps())
def test_random_mlp_matches_qonnx(tmp_path_factory, spec):
    path = tmp_path_factory.mktemp("mlp") / "m.onnx"
    onnx.save(build_mlp(spec), str(path))
    x = np.random.default_rng(spec["seed"]).normal(size=(64, spec["widths"][0])) * 2
    check_against_source(path, x, spec)


@pytest.mark.xfail(strict=True, reason="sign of an exact zero: the integer accumulator is 0 and "
                   "BipolarQuant gives +1 (as FINN's integer thresholds do), while qonnx's float32 "
                   "sum of products that cancel leaves -7.9e-9 and gives -1; one flipped binary "
                   "activation moves the next layer by 4 output steps")
def test_sign_of_exact_zero_accumulator(tmp_path):
    spec = {"widths": [3, 2, 2], "bits": 1, "wbits": 1, "bn": False, "matmul": True, "seed": 0}
    path = tmp_path / "m.onnx"
    onnx.save(build_mlp(spec, sign_bn=False), str(path))
    check_against_source(path, np.random.default_rng(0).normal(size=(64, 3)) * 2, spec)
