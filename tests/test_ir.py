"""The IR's containers validate themselves, print compactly, and verify() catches
malformed graphs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from archgen.config import parse_precision
from archgen.errors import ConfigError, InternalError
from archgen.ir import Graph, Node, QuantSpec, RoundMode, Tensor, ops, sanitize, verify
from archgen.ir.types import bits_for_range, int_range, quantize


def test_quantspec_ranges_follow_qonnx():
    assert int_range(8, True) == (-128, 127)
    assert int_range(8, True, narrow=True) == (-127, 127)
    assert int_range(8, False) == (0, 255)
    assert int_range(8, False, narrow=True) == (0, 254)
    assert QuantSpec.bipolar_spec().full_range == (-1, 1)


@pytest.mark.parametrize("lo,hi,bits,signed", [(0, 0, 1, False), (0, 255, 8, False),
                                               (-128, 127, 8, True), (-129, 0, 9, True),
                                               (-1, 128, 9, True), (5, 9, 4, False)])
def test_bits_for_range(lo, hi, bits, signed):
    assert bits_for_range(lo, hi) == (bits, signed)


@pytest.mark.parametrize("kwargs", [dict(bits=0, signed=True), dict(bits=65, signed=True),
                                    dict(bits=4, signed=True, scale=(0.0,)),
                                    dict(bits=4, signed=True, scale=(float("nan"),)),
                                    dict(bits=4, signed=True, scale=(1.0, 2.0)),
                                    dict(bits=4, signed=True, lo=-9),
                                    dict(bits=2, signed=True, bipolar=True)])
def test_quantspec_rejects_bad_arguments(kwargs):
    with pytest.raises(InternalError):
        QuantSpec(**kwargs)


def test_quantize_matches_qonnx_semantics():
    spec = QuantSpec(bits=4, signed=True, scale=(0.5,), zero_point=(1,))
    x = np.array([[-10.0, -0.25, 0.25, 0.75, 1.25, 100.0]])
    assert quantize(x, spec).tolist() == [[-8, 0, 2, 2, 4, 7]]  # clamp, then half-even
    assert quantize(x, spec, RoundMode.FLOOR).tolist() == [[-8, 0, 1, 2, 3, 7]]
    assert quantize(np.array([[0.0, -0.1]]), QuantSpec.bipolar_spec()).tolist() == [[1, -1]]


def test_printing_is_compact():
    s = QuantSpec.for_range(-300, 1000, [0.1, 0.2], 0)
    assert str(s) == "i11[-300..1000] s=[2@0]"
    assert str(QuantSpec(bits=6, signed=False, scale=(0.25,))) == "u6 s=0.25"
    assert str(Tensor("x", (3, 4), None)) == "%x:f64[3x4]"


def test_sanitize():
    assert sanitize("/0/Gemm_output_0") == "t_0_Gemm_output_0"
    assert sanitize("a.b", {"a_b"}) == "a_b_1"
    assert sanitize("9x") == "t_9x"
    assert sanitize("") == "t"


def _graph(nodes, tensors, inputs=("x",), outputs=("y",)):
    return Graph("g", nodes, {t.name: t for t in tensors}, inputs, outputs)


def test_verify_accepts_a_good_graph_and_rejects_bad_ones():
    q = QuantSpec(bits=8, signed=True)
    x, xq = Tensor("x", (4,), None), Tensor("xq", (4,), q)
    node = Node("quant", ops.Quantize(q), ("x",), ("xq",))
    verify(_graph([node], [x, xq], outputs=("xq",)))
    with pytest.raises(InternalError, match="before it is produced"):
        verify(_graph([Node("r", ops.Reshape((4,)), ("xq",), ("y",)), node],
                      [x, xq, Tensor("y", (4,), q)]))
    with pytest.raises(InternalError, match="shape"):
        verify(_graph([node], [x, Tensor("xq", (5,), q)], outputs=("xq",)))
    with pytest.raises(InternalError, match="never produced"):
        verify(_graph([node], [x, xq], outputs=("zz",)))
    with pytest.raises(InternalError, match="used twice"):
        verify(_graph([node, Node("quant", ops.Reshape((4,)), ("xq",), ("y",))],
                      [x, xq, Tensor("y", (4,), q)]))


def test_frozen_ops_hold_read_only_constants():
    op = ops.Dense(ops.const(np.ones((2, 3)), np.int64), QuantSpec(bits=2, signed=True))
    with pytest.raises(ValueError):
        op.weight[0, 0] = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.weight = None


@pytest.mark.parametrize("text,bits,scale,signed", [("fixed<16,6>", 16, 2.0 ** -10, True),
                                                    ("ufixed<8,0>", 8, 2.0 ** -8, False),
                                                    ("int<4>", 4, 1.0, True),
                                                    ("uint<3>", 3, 1.0, False)])
def test_parse_precision(text, bits, scale, signed):
    s = parse_precision(text, "t")
    assert (s.bits, s.scale[0], s.signed) == (bits, scale, signed)


@pytest.mark.parametrize("text", ["fixed<16>", "float", "int<0>", "fixed<40,2>", "int<4,2>"])
def test_parse_precision_rejects(text):
    with pytest.raises(ConfigError, match="precision"):
        parse_precision(text, "t")
