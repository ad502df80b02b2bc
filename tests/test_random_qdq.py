"""Random float CNNs quantized by onnxruntime's own quantize_static (QDQ and QOperator
formats, per-tensor and per-channel weights), end to end against onnxruntime.

Inputs have at least 3 channels.  With a single input channel and a 1x1 convolution
every output is one product, so a channel takes only 256 distinct values; one of them
lying within float32 rounding of a tie (archgen: float64) then repeats on many
elements, and global pooling spreads it: see test_single_term_products_concentrate_ties.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from reference import agreement, check_against_source, output_step, run_reference

import archgen

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def specs(draw):
    return {"c": draw(st.integers(3, 6)), "hw": draw(st.integers(6, 10)),
            "convs": [(draw(st.integers(2, 8)), draw(st.sampled_from([1, 3])),
                       draw(st.sampled_from([1, 2])), draw(st.booleans()))
                      for _ in range(draw(st.integers(1, 3)))],
            "residual": draw(st.booleans()), "pool": draw(st.booleans()),
            "qoperator": draw(st.booleans()), "per_channel": draw(st.booleans()),
            "seed": draw(st.integers(0, 2 ** 16))}


def float_cnn(spec):
    rng = np.random.default_rng(spec["seed"])
    nodes, inits = [], []
    k = [0]

    def const(arr):
        k[0] += 1
        name = f"c{k[0]}"
        inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), name))
        return name

    def node(op, ins, **attrs):
        k[0] += 1
        out = f"t{k[0]}"
        nodes.append(helper.make_node(op, ins, [out], name=f"n{k[0]}", **attrs))
        return out

    x, c, hw = "x", spec["c"], spec["hw"]
    first = None
    for i, (out, ker, stride, relu) in enumerate(spec["convs"]):
        pad = ker // 2
        y = node("Conv", [x, const(rng.normal(size=(out, c, ker, ker)) / np.sqrt(c * ker * ker)),
                          const(rng.normal(size=out) * 0.1)],
                 kernel_shape=[ker, ker], pads=[pad] * 4, strides=[stride, stride])
        if relu:
            y = node("Relu", [y])
        hw = (hw + 2 * pad - ker) // stride + 1
        if i == 0:
            first = (y, out, hw)
        elif spec["residual"] and (out, hw) == first[1:]:
            y = node("Add", [y, first[0]])
        x, c = y, out
    if spec["pool"] and hw >= 4:
        x = node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = node("GlobalAveragePool", [x])
    x = node("Flatten", [x])
    y = node("Gemm", [x, const(rng.normal(size=(5, c)) / np.sqrt(c)), const(rng.normal(size=5) * 0.1)],
             transB=1)
    in_shape = ["N", spec["c"], spec["hw"], spec["hw"]]
    g = helper.make_graph(nodes, "f", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["N", 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def quantize(spec, tmp):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    fpath, qpath = tmp / "f.onnx", tmp / "q.onnx"
    onnx.save(float_cnn(spec), str(fpath))
    rng = np.random.default_rng(spec["seed"] + 1)
    shape = (1, spec["c"], spec["hw"], spec["hw"])

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.data = iter([{"x": rng.normal(size=shape).astype(np.float32)} for _ in range(16)])

        def get_next(self):
            return next(self.data, None)

    quantize_static(str(fpath), str(qpath), Reader(),
                    quant_format=QuantFormat.QOperator if spec["qoperator"] else QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    per_channel=spec["per_channel"], reduce_range=True)
    return qpath


@SETTINGS
@given(specs())
def test_random_quantize_static_model(tmp_path_factory, spec):
    path = quantize(spec, tmp_path_factory.mktemp("qdq"))
    x = np.random.default_rng(spec["seed"] + 2).normal(size=(16, spec["c"], spec["hw"], spec["hw"]))
    check_against_source(path, x, spec)


@pytest.mark.xfail(strict=True, reason="float32 (onnxruntime) vs float64 (archgen) at a near-tie: "
                   "exact 6.50000045 steps, onnxruntime's float32 gives 6.4999995; a 1x1 conv of "
                   "one channel repeats that value on 0.1% of elements and the 36-element average "
                   "spreads it to 7.5% of outputs (one step each)")
def test_single_term_products_concentrate_ties(tmp_path):
    spec = {"c": 1, "hw": 6, "convs": [(6, 1, 1, False)], "residual": False, "pool": False,
            "qoperator": False, "per_channel": False, "seed": 0}
    path = quantize(spec, tmp_path)
    m = archgen.load(path)
    x = np.random.default_rng(2).normal(size=(16, 1, 6, 6)).astype(np.float32)
    a = agreement(m.golden(x), run_reference(path, x), output_step(m))
    assert a.exact >= 0.99, a
