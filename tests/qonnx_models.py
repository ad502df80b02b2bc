"""Small QONNX models built in the tests themselves (no exporter needed).

``mlp_bytes()`` returns a serialized model: Quant -> Gemm (Quant weights) -> Relu -> Quant,
in the domain Brevitas exports to ("qonnx.custom_op.general").
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QONNX = "qonnx.custom_op.general"


def _quant(name, x, scale, bits, signed, out, inits):
    inits += [numpy_helper.from_array(np.array(scale, np.float32), f"{name}_scale"),
              numpy_helper.from_array(np.array(0.0, np.float32), f"{name}_zp"),
              numpy_helper.from_array(np.array(float(bits), np.float32), f"{name}_bits")]
    return helper.make_node("Quant", [x, f"{name}_scale", f"{name}_zp", f"{name}_bits"], [out],
                            name=name, domain=QONNX, signed=int(signed), narrow=0,
                            rounding_mode="ROUND")


def mlp_model(n_in=8, n_out=4, seed=0, extra_nodes=(), input_dims=None, weight=None) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1, 1, size=(n_out, n_in)).astype(np.float32) if weight is None else weight
    b = rng.uniform(-0.5, 0.5, size=(n_out,)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    nodes = [
        _quant("quant_in", "x", 1 / 16, 8, True, "xq", inits),
        _quant("quant_w", "w", 1 / 8, 4, True, "wq", inits),
        helper.make_node("Gemm", ["xq", "wq", "b"], ["h"], name="fc", transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        _quant("quant_out", "r", 1 / 8, 6, False, "y0", inits),
    ]
    last = "y0"
    for k, make in enumerate(extra_nodes):
        node, new_inits = make(last, f"e{k}")
        nodes.append(node)
        inits += new_inits
        last = node.output[0]
    dims = input_dims or ["N", n_in]
    g = helper.make_graph(nodes, "tiny_mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                          [helper.make_tensor_value_info(last, TensorProto.FLOAT, None)],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid(QONNX, 1)])
    m.ir_version = 8
    return m


def mlp_bytes(**kw) -> bytes:
    return mlp_model(**kw).SerializeToString()


def write(path, model: onnx.ModelProto | bytes):
    data = model if isinstance(model, bytes) else model.SerializeToString()
    with open(path, "wb") as f:
        f.write(data)
    return path


def inputs(n=16, n_in=8, seed=1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-4, 4, size=(n, n_in)).astype(np.float32)
