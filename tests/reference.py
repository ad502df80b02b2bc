"""Reference executions of fixture models by their source frameworks, and the
agreement measure of the contract (exact, or within one output quantization step)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas")


def is_qonnx(model: onnx.ModelProto) -> bool:
    return any(n.domain in QONNX_DOMAINS for n in model.graph.node)


def run_reference(path, x: np.ndarray, optimized: bool = False) -> np.ndarray:
    """Output of the model as its own framework runs it: qonnx for QONNX graphs,
    onnxruntime otherwise (float32 input, batch first).  onnxruntime runs the graph
    unoptimized unless ``optimized``: its optimizer fuses QDQ patterns into integer
    kernels whose float32 requantization differs from the graph's own definition."""
    model = onnx.load(str(path))
    x = np.asarray(x, dtype=np.float32)
    if is_qonnx(model):
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.core.onnx_exec import execute_onnx
        from qonnx.transformation.change_batchsize import ChangeBatchSize
        from qonnx.transformation.infer_shapes import InferShapes

        mw = ModelWrapper(model).transform(ChangeBatchSize(len(x))).transform(InferShapes())
        iname, oname = mw.graph.input[0].name, mw.graph.output[0].name
        return np.asarray(execute_onnx(mw, {iname: x})[oname])
    import onnxruntime as ort

    model.ir_version = min(model.ir_version, 13)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if not optimized:  # the graph as ONNX defines it, not onnxruntime's fused kernels
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(None, {sess.get_inputs()[0].name: x})[0])


@dataclass
class Agreement:
    exact: float  # fraction of elements equal (up to float32 noise of the reference)
    within_one: float  # fraction within one output quantization step
    worst_steps: float  # largest difference, in output steps
    step: float

    def __str__(self):
        return (f"exact {100 * self.exact:.2f}%, within one step {100 * self.within_one:.2f}%, "
                f"worst {self.worst_steps:.3g} steps of {self.step:.4g}")


def agreement(ours: np.ndarray, ref: np.ndarray, step: float) -> Agreement:
    """Compare in units of the output quantization step.  The reference computes in
    float32, so a difference counts as equal below 1/100 of a step or within a few float32
    roundings of the value (a wide accumulator dequantized to ~1e3 has a float32 ulp of
    ~1e-4, which can exceed 1/100 of a fine step)."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    diff = np.abs(ours - ref)
    d = diff / step
    f32 = 4 * np.finfo(np.float32).eps * np.maximum(np.abs(ours), np.abs(ref))
    equal = (d < 0.01) | (diff <= f32)
    return Agreement(float(np.mean(equal)), float(np.mean(d <= 1.01)), float(d.max()), step)


def output_step(model) -> float:
    """Quantization step of the output: the scale of the last hardware tensor."""
    from archgen.passes.lower import partition

    g = model.graph
    hw = partition(g).hardware
    last = [n for n in g.nodes if n.name in hw][-1]
    return float(min(g.tensors[last.outputs[0]].quant.scale))


def check_against_source(path, x, context=None):
    """archgen.load(path): every pass keeps the result bit for bit, and the source
    framework agrees per the contract (>= 99% exact, the rest within one step)."""
    import archgen
    from archgen.ir import verify

    m = archgen.load(path)
    verify(m.graph)
    x = np.asarray(x, dtype=np.float32)
    ours = m.golden(x)
    assert np.array_equal(ours, m.reference(x)), "a pass changed the result"
    a = agreement(ours, run_reference(path, x), output_step(m))
    assert a.exact >= 0.99, (a, context)
    assert a.within_one == 1.0, (a, context)
