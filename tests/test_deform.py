"""ONNX DeformConv: the importer, the fixture blocks against onnxruntime and onnx's
ReferenceEvaluator, ops.DeformConv's golden against onnxruntime's DeformConv on random
codes for every attribute, and bad input through the CLI.

The fixture blocks (tests/fixtures/deform_*.onnx, made by make_deform_fixtures.py) compute
their offsets and mask in the graph; their offset branches are exact in float32, so the
reference and archgen sample at the same points.  Contract: >= 99% of output elements
exactly equal, the rest within one output quantization step.
"""

from __future__ import annotations

import itertools

import numpy as np
import onnx
import pytest
from conftest import fixture_input, fixture_path
from onnx import TensorProto, helper, numpy_helper
from reference import agreement, output_step, run_reference

from archgen import golden
from archgen.cli import main
from archgen.frontend import load_model
from archgen.ir import ops
from archgen.ir.graph import Graph, Node, Tensor
from archgen.ir.types import QuantSpec

QONNX = "qonnx.custom_op.general"
BLOCKS = ("deform_dcnv2", "deform_s2_g2_og2", "deform_d2_g3_nomask", "deform_k2x3_og4",
          "deform_split_dcnv2", "deform_bounded")
EVALUATOR_SAMPLES = 2  # onnx's reference DeformConv is a Python loop: up to ~4 s per sample


# -- the fixture blocks -----------------------------------------------------------------------

def reference_evaluator(path, x: np.ndarray) -> np.ndarray:
    """The model run by onnx.reference.ReferenceEvaluator, with qonnx's Quant function."""
    from onnx.reference import ReferenceEvaluator
    from onnx.reference.op_run import OpRun
    from qonnx.custom_op.general.quant import quant

    class Quant(OpRun):
        op_domain = QONNX

        def _run(self, x, scale, zero_point, bit_width, rounding_mode=None, signed=None,
                 narrow=None):
            return (quant(x, scale, zero_point, bit_width, signed, narrow,
                          rounding_mode).astype(np.float32),)

    ev = ReferenceEvaluator(onnx.load(str(path)), new_ops=[Quant])
    return ev.run(None, {"x": np.asarray(x, np.float32)})[0]


@pytest.mark.parametrize("name", BLOCKS)
def test_block_matches_onnxruntime(name, loaded):
    """archgen.load(...).golden vs onnxruntime (qonnx's execute_onnx runs every standard
    node, DeformConv included, in onnxruntime); and no pass changes the result."""
    model = loaded(name)
    x = fixture_input(name)
    ours = model.golden(x)
    assert np.array_equal(ours, model.reference(x)), "a pass changed the result"
    ref = run_reference(fixture_path(name), x)
    assert ours.shape == ref.shape
    a = agreement(ours, ref, output_step(model))
    print(f"\n{name} vs onnxruntime ({ours.size} elements): {a}")
    assert a.exact >= 0.99, a
    assert a.within_one == 1.0, a


@pytest.mark.parametrize("name", BLOCKS)
def test_block_matches_random_inputs(name, loaded):
    """Inputs spread wider than the stored ones (saturating the input quantizer), fed to
    both as the same float32 values."""
    model = loaded(name)
    x = fixture_input(name)
    rng = np.random.default_rng(7)
    xr = (rng.normal(size=(32,) + x.shape[1:]) * x.std() * 1.5 + x.mean()).astype(np.float32)
    a = agreement(model.golden(xr), run_reference(fixture_path(name), xr), output_step(model))
    print(f"\n{name} vs onnxruntime, random inputs: {a}")
    assert a.exact >= 0.99, a
    assert a.within_one == 1.0, a


@pytest.mark.slow
@pytest.mark.parametrize("name", BLOCKS)
def test_block_matches_reference_evaluator(name, loaded):
    model = loaded(name)
    x = fixture_input(name)[:EVALUATOR_SAMPLES]
    ours = model.golden(x)
    a = agreement(ours, reference_evaluator(fixture_path(name), x), output_step(model))
    print(f"\n{name} vs ReferenceEvaluator ({ours.size} elements): {a}")
    assert a.exact >= 0.99, a
    assert a.within_one == 1.0, a


def test_frontend_graph():
    """What the importer makes of a block: one DeformConv on the offset and mask codes."""
    g = load_model(fixture_path("deform_s2_g2_og2"))
    (node,) = [n for n in g.nodes if isinstance(n.op, ops.DeformConv)]
    op = node.op
    assert (op.strides, op.pads, op.dilations) == ((2, 2), (1, 1, 1, 1), (1, 1))
    assert (op.group, op.offset_group, op.offset_frac, op.kernel) == (2, 2, 3, (3, 3))
    assert op.weight.shape == (8, 4, 3, 3) and op.weight_spec.bits == 4
    assert op.weight_spec.per_channel and op.weight_spec.axis == 0
    x, off, mask = (g.tensors[t] for t in node.inputs)
    assert off.shape == (36, 6, 6) and off.quant.scale == (0.125,)
    assert mask.shape == (18, 6, 6) and mask.quant.bits == 6 and not mask.quant.signed
    nomask = load_model(fixture_path("deform_d2_g3_nomask"))
    (node,) = [n for n in nomask.nodes if isinstance(n.op, ops.DeformConv)]
    assert len(node.inputs) == 2 and node.op.offset_frac == 4 and node.op.group == 3


# -- ops.DeformConv golden vs onnxruntime's DeformConv on random codes -------------------------

def ort_deform_conv(x, w, off, mask, op: ops.DeformConv, bias=None) -> np.ndarray:
    import onnxruntime as ort

    names = ["x", "w", "off", "b" if bias is not None else "", "mask" if mask is not None else ""]
    while names[-1] == "":
        names.pop()
    arrays = {"x": x, "w": w, "off": off, "b": bias, "mask": mask}
    node = helper.make_node("DeformConv", names, ["y"], kernel_shape=list(op.kernel),
                            strides=list(op.strides), pads=list(op.pads),
                            dilations=list(op.dilations), group=op.group,
                            offset_group=op.offset_group)
    g = helper.make_graph([node], "dc", [helper.make_tensor_value_info(n, TensorProto.FLOAT,
                                                                       arrays[n].shape)
                                         for n in names if n],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])
    m.ir_version = 9
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {n: np.asarray(arrays[n], np.float32) for n in names if n})[0]


def run_case(rng, kernel, strides, pads, dil, group, og, has_mask, frac, x_zp=0, m_zp=0):
    c, o, h, w, n = 4, 4, 6, 7, 2
    kh, kw = kernel
    k = kh * kw
    xq = QuantSpec(bits=8, signed=False, scale=(0.5,), zero_point=(x_zp,))
    wq = QuantSpec(bits=4, signed=True, narrow=True, scale=rng.uniform(0.1, 1.0, o), axis=0)
    offq = QuantSpec(bits=8, signed=True, scale=(2.0 ** -frac,))
    mq = QuantSpec(bits=6, signed=False, scale=(2.0 ** -6,), zero_point=(m_zp,))
    wc = rng.integers(-7, 8, size=(o, c // group, kh, kw))
    op = ops.DeformConv(ops.const(wc, np.int64), wq, strides, pads, dil, group, og, frac)
    oh, ow = op.sampler(xq, None).out_spatial(h, w)
    tensors = {"x": Tensor("x", (c, h, w), xq), "off": Tensor("off", (og * 2 * k, oh, ow), offq)}
    if has_mask:
        tensors["mask"] = Tensor("mask", (og * k, oh, ow), mq)
    ins = tuple(tensors)
    ((shape, yq),) = op.infer([tensors[t] for t in ins])
    tensors["y"] = Tensor("y", shape, yq)
    graph = Graph("dc", [Node("dc", op, ins, ("y",))], tensors, ins, ("y",))
    codes = {"x": rng.integers(0, 256, size=(n, c, h, w)),
             "off": rng.integers(-128, 128, size=(n, og * 2 * k, oh, ow)),
             "mask": rng.integers(0, 64, size=(n, og * k, oh, ow))}
    if frac >= 4:  # keep most offsets within a few pixels: the interior is sampled too
        codes["off"] = codes["off"] // 4
    acc = golden.evaluate(graph, {t: codes[t] for t in ins})["y"]
    ours = golden.real(acc, yq)
    real = {t: tensors[t].quant.dequantize(codes[t]) for t in ins}
    ref = ort_deform_conv(real["x"], wq.dequantize(wc[None])[0], real["off"],
                          real["mask"] if has_mask else None, op)
    assert ours.shape == ref.shape
    # float32 rounds the sums of products (archgen's are exact): a few ulps of the largest
    tol = 64 * np.finfo(np.float32).eps * max(float(np.abs(ours).max()), 1.0)
    err = np.abs(ours - ref)
    assert err.max() <= tol, (err.max(), tol)
    return float(np.mean(err == 0))


GEOMETRY = list(itertools.product(
    [(1, 1), (2, 2), (1, 2)],  # strides
    [(0, 0, 0, 0), (1, 1, 1, 1), (0, 2, 1, 0)],  # pads (top, left, bottom, right)
    [(1, 1), (2, 2), (2, 1)],  # dilations
))


@pytest.mark.parametrize("kernel", [(3, 3), (2, 3), (1, 1)])
@pytest.mark.parametrize("group,og", [(1, 1), (2, 1), (1, 2), (2, 4), (4, 2)])
@pytest.mark.parametrize("has_mask", [True, False])
def test_deform_conv_equals_onnxruntime(kernel, group, og, has_mask):
    rng = np.random.default_rng(hash((kernel, group, og, has_mask)) % 2 ** 32)
    for strides, pads, dil in GEOMETRY:
        frac = int(rng.choice([0, 1, 3, 5]))
        run_case(rng, kernel, strides, pads, dil, group, og, has_mask, frac,
                 x_zp=int(rng.choice([0, 128, 37])), m_zp=int(rng.choice([0, 0, 5])))


# -- the importer on small hand-built models --------------------------------------------------

class Block:
    """x -> Quant -> [offset branch] [mask branch] -> DeformConv -> Quant, with knobs to
    break it."""

    def __init__(self, c=4, size=(8, 8), o=4, kernel=(3, 3), strides=(1, 1), pads=(1, 1, 1, 1),
                 dil=(1, 1), group=1, og=1, mask=True, off_channels=None, mask_channels=None,
                 branch_strides=None, mask_strides=None, off_quant="quant", off_scale=0.125, mask_quant=True,
                 weight_quant=True, bias=True, rank=2, off_bias=False):
        self.nodes, self.inits = [], []
        rng = np.random.default_rng(0)
        kh, kw = kernel
        k = kh * kw
        sp = tuple(size[:rank]) if rank <= 2 else tuple(size) + (6,) * (rank - 2)
        kern = kernel[:rank] if rank <= 2 else kernel + (3,) * (rank - 2)
        self.in_shape = (c,) + sp
        xq = self.quant("quant_x", "x", 2.0 ** -4, 8, True, False)
        attrs = dict(kernel_shape=list(kern), strides=list(strides[:1] * rank if rank != 2
                                                            else strides),
                     pads=list(pads[:1] * 2 * rank if rank != 2 else pads),
                     dilations=list(dil[:1] * rank if rank != 2 else dil))
        battrs = dict(attrs)
        if branch_strides is not None:
            battrs["strides"] = list(branch_strides)
        n_off = off_channels or og * 2 * k
        wo = self.const("w_off", rng.integers(-7, 8, (n_off, c) + kern) * 2.0 ** -5)
        wo = self.quant("quant_w_off", wo, 2.0 ** -5, 4, True, True)
        if off_bias:
            wo = [wo, self.const("b_off", rng.normal(0, 1, n_off))]
        else:
            wo = [wo]
        # (3-D: there is no 3-D Conv to compute offsets with; quantized x stands in for them)
        off = self.node("Conv", [xq, *wo], "conv_offset", **battrs) if rank != 3 else "x"
        if off_quant == "quant":
            off = self.quant("quant_offset", off, off_scale, 8, True, False)
        elif off_quant == "qdq":
            s, z = self.const("off_s", off_scale), self.init("off_z", np.array(0, np.int8))
            off = self.node("QuantizeLinear", [off, s, z], "q_offset")
            off = self.node("DequantizeLinear", [off, s, z], "dq_offset")
        ins = [xq, "", off, "", ""]
        if mask:
            wm = self.const("w_m", rng.integers(-7, 8, (mask_channels or og * k, c) + kern) / 32.0)
            wm = self.quant("quant_w_m", wm, 2.0 ** -5, 4, True, True)
            mattrs = dict(attrs, **({"strides": list(mask_strides)} if mask_strides else {}))
            m = self.node("Sigmoid", [self.node("Conv", [xq, wm], "conv_mask", **mattrs)], "sig")
            ins[4] = self.quant("quant_mask", m, 2.0 ** -6, 6, False, False) if mask_quant else m
        w = self.const("w", rng.normal(0, 0.3, (o, c // group) + kern))
        ins[1] = self.quant("quant_w", w, 0.1, 4, True, True) if weight_quant else w
        if bias:
            ins[3] = self.const("b", rng.normal(0, 0.3, o))
        while ins[-1] == "":
            ins.pop()
        y = self.node("DeformConv", ins, "deform_conv", group=group, offset_group=og, **attrs)
        self.out = self.quant("quant_y", y, 0.05, 8, True, False)
        self.out_shape = ["N", o] + [ops.spatial_out(sp[i], kern[i], attrs["strides"][i],
                                                     attrs["pads"][i], attrs["pads"][i + rank],
                                                     attrs["dilations"][i]) for i in range(rank)]

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def const(self, name, value):
        return self.init(name, np.asarray(value, np.float32))

    def quant(self, name, x, scale, bits, signed, narrow):
        ins = [x, self.const(name + "_s", scale), self.const(name + "_z", 0.0),
               self.const(name + "_b", float(bits))]
        self.nodes.append(helper.make_node("Quant", ins, [name + "_out"], name=name, domain=QONNX,
                                           rounding_mode="ROUND", signed=int(signed),
                                           narrow=int(narrow)))
        return name + "_out"

    def node(self, op, ins, name, **attrs):
        self.nodes.append(helper.make_node(op, ins, [name + "_out"], name=name, **attrs))
        return name + "_out"

    def write(self, path):
        g = helper.make_graph(self.nodes, "block",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                             ["N", *self.in_shape])],
                              [helper.make_tensor_value_info(self.out, TensorProto.FLOAT,
                                                             self.out_shape)],
                              initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19),
                                                helper.make_opsetid(QONNX, 2)])
        m.ir_version = 9
        path.write_bytes(m.SerializeToString())
        return path

    def inputs(self, n=4):
        return np.random.default_rng(1).normal(0, 1.5, (n,) + self.in_shape).astype(np.float32)


@pytest.mark.parametrize("kw", [dict(), dict(off_quant="qdq"), dict(weight_quant=False),
                                dict(mask=False, bias=False), dict(off_scale=1.0)],
                         ids=["quant", "qdq_offsets", "float_weights", "dcnv1", "integer_offsets"])
def test_import_variants(tmp_path, kw):
    """Offsets through QuantizeLinear/DequantizeLinear, float weights quantized by archgen,
    no mask and no bias, integer offsets (F = 0): golden vs onnxruntime through the passes."""
    import archgen

    b = Block(**kw)
    path = b.write(tmp_path / "block.onnx")
    model = archgen.load(path)
    x = b.inputs()
    ours = model.golden(x)
    assert np.array_equal(ours, model.reference(x))
    if kw.get("weight_quant", True):
        a = agreement(ours, run_reference(path, x), output_step(model))
        assert a.exact >= 0.99 and a.within_one == 1.0, a
    (dc,) = [n.op for n in model.source.nodes if isinstance(n.op, ops.DeformConv)]
    assert dc.offset_frac == (0 if kw.get("off_scale") == 1.0 else 3)


# -- bad input through the CLI ----------------------------------------------------------------

def check(capsys, argv, *needles):
    got = main([str(a) for a in argv])
    _, err = capsys.readouterr()
    assert got == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("archgen: error: "), lines[0]
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


BAD = {
    "offset_channels": (dict(off_channels=16), ["offset", "(16, 8, 8)", "(18, 8, 8)"]),
    "mask_channels": (dict(mask_channels=8), ["mask", "(8, 8, 8)", "(9, 8, 8)"]),
    "offset_spatial": (dict(branch_strides=(2, 2), mask=False), ["offset", "(18, 4, 4)",
                                                                 "(18, 8, 8)"]),
    "mask_spatial": (dict(mask_strides=(2, 2)), ["mask", "(9, 4, 4)", "(9, 8, 8)"]),
    "offset_group": (dict(c=6, o=6, og=4, size=(8, 8)), ["offset_group 4", "6 input channels"]),
    "group": (dict(c=4, o=6, group=4), ["group 4", "W (6, 1, 3, 3)"]),
    "one_d": (dict(rank=1, mask=False), ["1-D DeformConv", "supported: 2-D"]),
    "three_d": (dict(rank=3, mask=False), ["3-D DeformConv", "supported: 2-D"]),
    "float_offsets": (dict(off_quant=None, off_bias=True), ["float", "power-of-two scale"]),
    "non_pow2_offset_scale": (dict(off_scale=0.1), ["scale 0.1", "power-of-two scale"]),
    "coarse_offset_scale": (dict(off_scale=2.0), ["scale 2", "F >= 0"]),
    "float_mask": (dict(mask_quant=False), ["mask", "float", "quantize it"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_deform_conv(capsys, tmp_path, case):
    kw, needles = BAD[case]
    b = Block(**kw)
    path = b.write(tmp_path / f"{case}.onnx")
    x = tmp_path / "x.npy"
    np.save(x, b.inputs(2))
    check(capsys, ["golden", path, "-i", x, "-o", tmp_path / "y.npy"], path, "deform_conv",
          "DeformConv", *needles)


def _slice_model(tmp_path, node):
    """x (4, 4, 4) -> QONNX Quant (int8) -> ``node`` -> output."""
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in
             (("s", 2.0 ** -4), ("z", 0.0), ("b", 8.0))]
    inits += [numpy_helper.from_array(np.asarray(v, np.int64), n) for n, v in
              (("starts", [0]), ("ends", [4]), ("axes", [1]), ("steps", [2]), ("sizes", [1, 2]))]
    q = helper.make_node("Quant", ["x", "s", "z", "b"], ["xq"], domain=QONNX, signed=1,
                         narrow=0, rounding_mode="ROUND")
    g = helper.make_graph([q, node], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19),
                                            helper.make_opsetid(QONNX, 2)])
    m.ir_version = 9
    path = tmp_path / "slice.onnx"
    path.write_bytes(m.SerializeToString())
    return path


def test_slice_and_split_errors(tmp_path):
    from onnx import helper

    from archgen.errors import ModelError, UnsupportedOpError

    step = _slice_model(tmp_path, helper.make_node(
        "Slice", ["xq", "starts", "ends", "axes", "steps"], ["y"], name="sl"))
    with pytest.raises(UnsupportedOpError, match="node sl .*step 2"):
        load_model(step)
    split = _slice_model(tmp_path, helper.make_node("Split", ["xq", "sizes"], ["y", "y2"],
                                                    name="sp", axis=1))
    with pytest.raises(ModelError, match=r"node sp .*Split sizes \[1, 2\]"):
        load_model(split)
