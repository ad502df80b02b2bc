"""Benchmark models built directly with onnx.helper (no torch needed).

``cnv(wbits, abits)``: the BNN-PYNQ CNV topology (CIFAR-10 size, 3x32x32 input, six
3x3 VALID convolutions 64-64-P-128-128-P-256-256, then FC 512-512-10), QONNX Quant
nodes on weights and activations, batch norm after every layer: 1.54 M parameters.
Weights are random (seeded); BN statistics are set so that activations use the levels.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QONNX = "qonnx.custom_op.general"


def cnv(wbits: int = 2, abits: int = 2, seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name))
        return name

    const("zero", 0.0)
    const("abits", float(abits))
    const("wbits", float(wbits))
    const("bits8", 8.0)
    const("in_scale", 1.0 / 128)
    nodes.append(helper.make_node("Quant", ["x", "in_scale", "zero", "bits8"], ["a0"], domain=QONNX,
                                  signed=1, narrow=0, rounding_mode="ROUND"))
    act, ch, k = "a0", 3, 0
    layers = [("conv", 64), ("conv", 64), ("pool", 0), ("conv", 128), ("conv", 128), ("pool", 0),
              ("conv", 256), ("conv", 256), ("flatten", 0), ("fc", 512), ("fc", 512), ("fc", 10)]
    for kind, out in layers:
        k += 1
        if kind == "pool":
            nodes.append(helper.make_node("MaxPool", [act], [f"p{k}"], kernel_shape=[2, 2], strides=[2, 2]))
            act = f"p{k}"
            continue
        if kind == "flatten":
            nodes.append(helper.make_node("Flatten", [act], [f"f{k}"], axis=1))
            act = f"f{k}"
            continue
        shape = (out, ch, 3, 3) if kind == "conv" else (out, ch)
        w = rng.normal(size=shape)
        const(f"w{k}", w)
        const(f"ws{k}", np.abs(w).mean())
        nodes.append(helper.make_node("Quant", [f"w{k}", f"ws{k}", "zero", "wbits"], [f"wq{k}"],
                                      domain=QONNX, signed=1, narrow=1, rounding_mode="ROUND"))
        if kind == "conv":
            nodes.append(helper.make_node("Conv", [act, f"wq{k}"], [f"c{k}"], kernel_shape=[3, 3]))
        else:
            nodes.append(helper.make_node("Gemm", [act, f"wq{k}"], [f"c{k}"], transB=1))
        if out == 10:
            act = f"c{k}"
            break
        fan_in = int(np.prod(shape[1:]))
        const(f"g{k}", rng.uniform(0.5, 1.5, out))
        const(f"b{k}", rng.normal(size=out) * 0.1)
        const(f"m{k}", rng.normal(size=out) * np.sqrt(fan_in) * 0.1)
        const(f"v{k}", np.full(out, fan_in * 0.3))
        nodes.append(helper.make_node("BatchNormalization", [f"c{k}", f"g{k}", f"b{k}", f"m{k}", f"v{k}"],
                                      [f"n{k}"]))
        const(f"as{k}", 0.5)
        nodes.append(helper.make_node("Quant", [f"n{k}", f"as{k}", "zero", "abits"], [f"a{k}"],
                                      domain=QONNX, signed=1, narrow=0, rounding_mode="ROUND"))
        act, ch = f"a{k}", out
    graph = helper.make_graph(nodes, f"cnv_w{wbits}a{abits}",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
                              [helper.make_tensor_value_info(act, TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def parameters(model: onnx.ModelProto) -> int:
    return sum(int(np.prod(i.dims)) for i in model.graph.initializer if i.name.startswith("w"))
