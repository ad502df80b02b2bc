"""ONNX TopK as a label select (only its Indices used), end to end: the frontend and the
golden model against onnxruntime/qonnx on small QONNX and QDQ models (ties, k = 1, 3 and
n, sorted=0, opsets 10/11/13, a spatial TopK over channels), the errors for what hardware
cannot do (the Values used, largest=0, a dynamic or out-of-range K), the partition (TopK
of codes is a hardware argmax unit with k; of floats, host work), and a generated MLP
ending in TopK k=3 simulated bit-exact in Verilator and C simulation.

onnxruntime's TopK (largest=1, sorted=1) returns the k largest in descending order, the
lower index first among equal values; sorted=0 returns the same set in another order
(checked here as sets).  The classifiers quantize their logits coarsely (4 bits, scale 1)
so that most rows have ties."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from reference import run_reference
from test_frontend_ops import INT8, UINT8, G, _int8_codes, check, expect_error, inputs, qdq

import archgen
from archgen.ir import ops, verify
from archgen.passes.lower import partition
from archgen.units import argmax

N_CLASSES = 6


def _logits(g, k_in=12, n=N_CLASSES):
    """QONNX: 8-bit input, 4-bit weights, logits quantized to 4 bits of scale 1 (ties)."""
    acc = g.op("Gemm", [g.quant("x"), g.qweight((n, k_in)), g.c(g.dyadic((n,)))], transB=1)
    return g.quant(acc, scale=1.0, bits=4)


def topk(g, x, k, axis=-1, opset=13, values_out=False, **attrs):
    """A TopK node; returns its Indices (and Values with ``values_out``)."""
    if opset < 10:
        vals, idx = g.op("TopK", [x], n_out=2, axis=axis, k=k, **attrs)
    else:
        vals, idx = g.op("TopK", [x, g.c(np.array([k]), np.int64)], n_out=2, axis=axis, **attrs)
    return (vals, idx) if values_out else idx


def model(g, in_shape, out, out_shape, opset=13, extra_outputs=()):
    """g's graph with the int64 output ``out`` of per-sample shape ``out_shape``."""
    m = g.model(in_shape, out, opset=opset)
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info(out, TensorProto.INT64,
                                                             ["N", *out_shape]))
    for name in extra_outputs:
        m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    return m


def _rows(n=8):
    """Classifier inputs: the fixture-style floats repeated (many rows, many ties)."""
    return np.concatenate([inputs((12,), seed=s) for s in range(n)])


# -- against the reference ----------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 3, N_CLASSES])
@pytest.mark.parametrize("axis", [-1, 1])
def test_topk_qonnx(tmp_path, k, axis):
    g = G(41)
    y = topk(g, _logits(g), k, axis=axis)
    x = _rows()
    ours = check(tmp_path, model(g, (12,), y, (k,)), x, 1.0)
    assert ours.shape == (len(x), k)


def test_ties_lower_index_first(tmp_path):
    """2-bit codes in 8-element vectors (every row has ties; all-equal rows among them):
    equal values come out lowest index first, k up to n."""
    g = G(42)
    q = g.quant("x", scale=1.0, bits=2)
    y = topk(g, q, 8)
    x = np.random.default_rng(3).integers(-3, 3, size=(64, 8)).astype(np.float32)
    x[:4] = 1.0  # all equal (after clipping): 0..7 in order
    ours = check(tmp_path, model(g, (8,), y, (8,)), x, 1.0)
    assert ours[:4].tolist() == [list(range(8))] * 4
    codes = np.clip(np.round(x), -2, 1)
    for row, c in zip(ours.astype(int), codes):
        vals = c[row]
        assert np.all(np.diff(vals) <= 0)  # descending
        for a, b in zip(row, row[1:]):  # ties: ascending index
            assert c[a] > c[b] or a < b


def test_sorted_0_is_the_same_set(tmp_path):
    """sorted=0: any order is valid; archgen gives the sorted one, onnxruntime the same set."""
    g = G(43)
    y = topk(g, _logits(g), 3, sorted=0)
    m = model(g, (12,), y, (3,))
    path = tmp_path / "m.onnx"
    onnx.save(m, str(path))
    x = _rows()
    ours = archgen.load(path).golden(x)
    ref = run_reference(path, x)
    assert np.array_equal(np.sort(ours, axis=1), np.sort(ref, axis=1))
    g2 = G(43)
    y2 = topk(g2, _logits(g2), 3)
    assert np.array_equal(ours, archgen.load(_save(tmp_path, model(g2, (12,), y2, (3,)))).golden(x))


def _codes(m, x):
    """The codes the hardware label select of model ``m`` reads, for inputs ``x``."""
    from archgen import golden

    (node,) = [n for n in m.graph.nodes if isinstance(n.op, argmax.Params)]
    env = golden.evaluate(m.graph, golden.check_inputs(m.graph, [x]), keep=True)
    return env[node.inputs[0]]


def _save(tmp_path, m, name="s.onnx"):
    path = tmp_path / name
    onnx.save(m, str(path))
    return path


@pytest.mark.parametrize("opset", [9, 10, 11])
def test_opsets(tmp_path, opset):
    """TopK-1 (opset 9: k an attribute), TopK-10 (K an input, no largest/sorted), TopK-11."""
    g = G(44)
    y = topk(g, _logits(g), 3, opset=opset)
    check(tmp_path, model(g, (12,), y, (3,), opset=opset), _rows(), 1.0)


def test_qdq_mlp_topk(tmp_path):
    """onnxruntime-quantizer style (QDQ) MLP ending in TopK k=3 on int8 logits."""
    g = G(45)
    w1 = g.op("DequantizeLinear", [g.c(_int8_codes(g, (12, 8)), np.int8), g.c(2.0 ** -5),
                                   g.c(np.int8(0), np.int8)])
    h = qdq(g, g.op("Relu", [g.op("MatMul", [qdq(g, "x", 2.0 ** -4, UINT8), w1])]), 2.0 ** -3, UINT8)
    w2 = g.op("DequantizeLinear", [g.c(_int8_codes(g, (8, 6)), np.int8), g.c(2.0 ** -5),
                                   g.c(np.int8(0), np.int8)])
    logits = qdq(g, g.op("MatMul", [h, w2]), 2.0 ** -1, INT8)  # coarse: ties
    y = topk(g, logits, 3)
    ours = check(tmp_path, model(g, (12,), y, (3,)), _rows(), 1.0)
    assert ours.shape == (32, 3)
    m = archgen.load(tmp_path / "m.onnx")
    assert [n.op.k for n in m.graph.nodes if isinstance(n.op, argmax.Params)] == [3]


def test_spatial_topk_over_channels(tmp_path):
    """TopK k=2 over the channels of a conv output (axis 1 of N, C, H, W): the streaming
    layout moves the axis last; the hardware unit selects per pixel."""
    g = G(46)
    acc = g.op("Conv", [g.quant("x"), g.qweight((5, 4, 3, 3))], kernel_shape=[3, 3], pads=[1] * 4)
    y = topk(g, g.quant(acc, scale=1.0, bits=4), 2, axis=1)
    check(tmp_path, model(g, (4, 6, 6), y, (2, 6, 6)), inputs((4, 6, 6)), 1.0)
    m = archgen.load(tmp_path / "m.onnx")
    (unit,) = [n for n in m.graph.nodes if isinstance(n.op, argmax.Params)]
    assert unit.op.k == 2 and m.graph.tensors[unit.outputs[0]].shape == (6, 6, 2)


# -- the partition --------------------------------------------------------------------------------

def test_topk_of_codes_is_hardware_of_floats_host(tmp_path):
    g = G(47)
    y = topk(g, _logits(g), 3)
    m = archgen.load(_save(tmp_path, model(g, (12,), y, (3,))))
    verify(m.graph)
    part = partition(m.graph)
    (node,) = [n for n in m.graph.nodes if isinstance(n.op, argmax.Params)]
    assert node.name in part.hardware and node.op.k == 3 and node.op.summary() == "argmax[top 3]"
    # a float tail in front of the TopK: host work, computed on real values
    g = G(47)
    y = topk(g, g.host_tail(_logits(g), factor=-0.5), 3)
    m = archgen.load(_save(tmp_path, model(g, (12,), y, (3,)), "f.onnx"))
    part = partition(m.graph)
    (node,) = [n for n in m.graph.nodes if isinstance(n.op, ops.ArgMax)]
    assert node.name in part.suffix and node.op.k == 3
    check(tmp_path, model(g, (12,), y, (3,)), _rows(), 1.0)


# -- errors ---------------------------------------------------------------------------------------

def test_values_output_used_is_an_error(tmp_path):
    g = G(48)
    vals, idx = topk(g, _logits(g), 3, values_out=True)
    expect_error(tmp_path, model(g, (12,), idx, (3,), extra_outputs=[vals]), "topk", "TopK",
                 "only the Indices", "Values output")
    g = G(48)
    vals, idx = topk(g, _logits(g), 3, values_out=True)
    y = g.op("Mul", [vals, g.c(2.0)])
    m = g.model((12,), y)
    expect_error(tmp_path, m, "topk", "TopK", "only the Indices")


@pytest.mark.parametrize("case", ["largest0", "k_big", "k_zero", "k_dynamic", "batch_axis"])
def test_unsupported(tmp_path, case):
    g = G(49)
    logits = _logits(g)
    if case == "largest0":
        y = topk(g, logits, 3, largest=0)
        needles = ("largest=0", "supported: largest=1")
    elif case == "k_big":
        y = topk(g, logits, N_CLASSES + 1)
        needles = ("K=[7] must be one integer in 1..6",)
    elif case == "k_zero":
        y = topk(g, logits, 0)
        needles = ("K=[0] must be one integer in 1..6",)
    elif case == "k_dynamic":
        _, y = g.op("TopK", [logits, logits], n_out=2)  # K from the data
        needles = ("must be a constant",)
    else:
        y = topk(g, logits, 1, axis=0)
        needles = ("batch axis",)
    m = g.model((12,), y)
    expect_error(tmp_path, m, "topk", "TopK", *needles)


# -- end to end: generate, RTL simulation, C simulation ---------------------------------------------

@pytest.mark.sim
def test_mlp_topk3_generate_simulate_csim(tmp_path):
    """A 12-16-10 MLP (4-bit weights, 4-bit ReLU activations, 3-bit logits: ties) ending in
    TopK k=3, its last layer folded to 5 lanes (so the argmax unit takes 5 lanes per beat
    and picks the beat's best 3): `archgen generate --backend all`, the RTL in Verilator
    and the HLS C++ in C simulation both bit-exact against the golden model, which equals
    qonnx/onnxruntime."""
    from archgen import csim, simulate
    from archgen.cli import main
    from cellsim import need

    g = G(50)
    h = g.op("Gemm", [g.quant("x"), g.qweight((16, 12)), g.c(g.dyadic((16,)))], transB=1)
    h = g.quant(g.op("Relu", [h]), scale=2.0 ** -2, bits=4, signed=0)
    acc = g.op("Gemm", [h, g.qweight((10, 16)), g.c(g.dyadic((10,)))], transB=1, name="last")
    y = topk(g, g.quant(acc, scale=1.0, bits=3), 3)
    path = _save(tmp_path, model(g, (12,), y, (3,)), "mlp_topk.onnx")
    x = _rows(3)
    m = archgen.load(path)
    gold = m.golden(x)
    assert np.array_equal(gold, run_reference(path, x))
    top4 = -np.sort(-_codes(m, x), axis=1)[:, :4]
    assert (np.diff(top4, axis=1) == 0).any(axis=1).sum() >= len(x) // 2  # ties decide
    cfg = tmp_path / "fold.yaml"
    cfg.write_text("layers:\n  last:\n    pe: 5\n")
    d = tmp_path / "proj"
    assert main(["generate", str(path), "-o", str(d), "--backend", "all", "--config", str(cfg)]) == 0
    hw = json.loads((d / "hardware.json").read_text())
    (layer,) = [ly for ly in hw["layers"] if ly["unit"] == "argmax"]
    # 5 lanes: two beats in, three indices out per frame: the output side sets the rate
    assert layer["in_lanes"] == [5] and layer["summary"] == "argmax[top 3]" and layer["cycles"] == 3
    assert hw["output"]["beats_per_frame"] == 3
    need("verilator")
    res = simulate.simulate_project(d, [x], "verilator")
    assert np.array_equal(res.outputs[0], gold)
    rep = json.loads((d / "reports" / "sim.json").read_text())
    assert rep["frames"] == len(x) and rep["mismatches"] == 0
    why = csim.available()
    if why:
        pytest.skip(why)
    cres = csim.csim_project(d, [x])
    assert np.array_equal(cres.outputs[0], gold)
