"""Configuration: per-layer precision overrides, folding checks, strict keys."""

from __future__ import annotations

import pytest
from conftest import fixture_input, fixture_path

import archgen
from archgen.config import config_from_dict
from archgen.errors import ConfigError
from archgen.ir import ops
from archgen.units import mvu


def _quantizers(model):
    return {n.name: n for n in model.source.nodes if isinstance(n.op, ops.Quantize)}


def test_default_precision_applies_to_float_models():
    m = archgen.load(fixture_path("mlp_float"), default_precision="fixed<8,3>")
    for n in _quantizers(m).values():
        assert (n.op.spec.bits, n.op.spec.scale[0]) == (8, 2.0 ** -5)
    weights = [n.op.weight_spec for n in m.source.nodes if isinstance(n.op, ops.Dense)]
    assert all(w.bits == 8 for w in weights)


def test_per_layer_precision_overrides_the_default():
    base = archgen.load(fixture_path("mlp_float"))
    layer = next(n.name for n in base.source.nodes if isinstance(n.op, ops.Dense) and n.name != "t_0_Gemm")
    cfg = config_from_dict({"layers": {layer: {"precision": "fixed<10,4>",
                                               "weight_precision": "fixed<6,1>"}}})
    m = archgen.load(fixture_path("mlp_float"), cfg)
    q = _quantizers(m)[layer + "_quant"].op.spec
    assert (q.bits, q.scale[0]) == (10, 2.0 ** -6)
    dense = next(n for n in m.source.nodes if n.name == layer)
    assert (dense.op.weight_spec.bits, dense.op.weight_spec.scale[0]) == (6, 2.0 ** -5)
    others = [n for n in _quantizers(m).values() if n.name != layer + "_quant"]
    assert all(n.op.spec.bits == 16 for n in others)
    # still bit-exact through every pass
    x = fixture_input("mlp_float")
    assert (m.golden(x) == m.reference(x)).all()


def test_folding_is_applied_and_checked():
    m = archgen.load(fixture_path("mlp_w6a6"))
    first = next(n for n in m.graph.nodes if isinstance(n.op, mvu.Params))
    rows, cols = first.op.weight.shape
    cfg = config_from_dict({"layers": {first.name: {"pe": rows // 2, "simd": cols // 4}}})
    folded = archgen.load(fixture_path("mlp_w6a6"), cfg)
    unit = next(n for n in folded.graph.nodes if n.name == first.name).op
    assert (unit.pe, unit.simd) == (rows // 2, cols // 4)
    bad = config_from_dict({"layers": {first.name: {"pe": 7}}})
    with pytest.raises(ConfigError, match=rf"layers\.{first.name}\.pe: 7 does not divide the {rows}"):
        archgen.load(fixture_path("mlp_w6a6"), bad)


@pytest.mark.parametrize("data,needle", [
    ({"precision": "fixed<8,3>"}, "unknown key 'precision'"),
    ({"layers": {"x": {"pes": 2}}}, "unknown key 'pes'"),
    ({"layers": {"x": {"pe": 0}}}, "layers.x.pe: 0 is not a positive integer"),
    ({"requant": "lut"}, "requant: 'lut' is not one of"),
    ({"default_precision": "fixed<8>"}, "default_precision"),
    ({"layers": []}, "layers must be a mapping"),
])
def test_bad_config_is_named(data, needle):
    with pytest.raises(ConfigError) as e:
        config_from_dict(data)
    assert needle in str(e.value)


def test_unknown_layer_name_lists_the_layers():
    cfg = config_from_dict({"layers": {"no_such_layer": {"pe": 2}}})
    with pytest.raises(ConfigError, match="layers.no_such_layer: no layer of that name.*node_linear"):
        archgen.load(fixture_path("mlp_w6a6"), cfg)
