"""Every pass on every fixture: golden before == golden after, bit for bit, and the
pattern the pass removes is gone."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MODELS, fixture_input, fixture_path

from archgen import golden, units
from archgen.config import Config
from archgen.frontend import load_model
from archgen.ir import ops, verify
from archgen.passes import PIPELINE
from archgen.passes.absorb_scales import QUANTIZERS
from archgen.passes.lower import WIRE_OPS, partition
from archgen.units import thresholds


def _inputs(name):
    x = fixture_input(name)
    rng = np.random.default_rng(3)
    wide = rng.normal(size=(32,) + x.shape[1:]) * x.std() * 2 + x.mean()
    return np.concatenate([x, wide])


def _stages(name, config):
    g = verify(load_model(fixture_path(name), config))
    out = [("import", g)]
    for p in PIPELINE:
        g = verify(p(g, config))
        out.append((p.__name__, g))
    return out


@pytest.fixture(scope="module")
def stages():
    cache = {}

    def get(name, requant="auto"):
        key = (name, requant)
        if key not in cache:
            cache[key] = _stages(name, Config(requant=requant))
        return cache[key]

    return get


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("requant", ["auto", "thresholds", "multiply_shift"])
def test_golden_identical_after_every_pass(name, requant, stages):
    if requant == "thresholds" and name == "mlp_float":
        pytest.skip("16-bit activations: too many thresholds by design (requant only)")
    x = _inputs(name)
    ref = golden.run(stages(name, requant)[0][1], x)
    for pname, g in stages(name, requant)[1:]:
        got = golden.run(g, x)
        for a, b in zip(ref, got):
            assert np.array_equal(a, b), f"{name}: pass {pname} changed the golden output"


def _by_pass(name, stages):
    return dict(stages(name))


@pytest.mark.parametrize("name", MODELS)
def test_cleanup_removes_identities(name, stages):
    g = _by_pass(name, stages)["cleanup"]
    for n in g.nodes:
        if isinstance(n.op, ops.Reshape):
            assert g.tensors[n.inputs[0]].shape != tuple(n.op.shape)
        if isinstance(n.op, ops.Transpose):
            assert tuple(n.op.perm) != tuple(range(len(n.op.perm)))


@pytest.mark.parametrize("name", MODELS)
def test_fold_batchnorm_leaves_one_chain_per_layer(name, stages):
    g = _by_pass(name, stages)["fold_batchnorm"]
    for n in g.nodes:
        if isinstance(n.op, ops.Elementwise):
            prev = g.producer(n.inputs[0])
            if prev is not None and isinstance(prev.op, ops.Elementwise):
                assert len(g.consumers(n.inputs[0])) > 1 or n.inputs[0] in g.outputs


@pytest.mark.parametrize("name", MODELS)
def test_absorb_scales_leaves_no_float_between_integer_layers(name, stages):
    g = _by_pass(name, stages)["absorb_scales"]
    for n in g.nodes:
        if isinstance(n.op, QUANTIZERS):
            # only the input quantizers remain: they read float data from the host side
            src = g.tensors[n.inputs[0]]
            assert src.quant is None
            chain = [n]
            while chain[-1].inputs and g.producer(chain[-1].inputs[0]) is not None:
                chain.append(g.producer(chain[-1].inputs[0]))
            assert all(not isinstance(m.op, (ops.Dense, ops.Conv)) for m in chain[1:]), n.name


@pytest.mark.parametrize("name", MODELS)
def test_infer_precision_drops_dead_thresholds(name, stages):
    g = _by_pass(name, stages)["infer_precision"]
    for n in g.nodes:
        if isinstance(n.op, thresholds.Params) and n.op.thresholds.shape[1]:
            q = g.tensors[n.inputs[0]].quant
            t = np.where(n.op.negate[:, None], -n.op.thresholds, n.op.thresholds)
            lo = np.where(n.op.negate, -q.hi, q.lo)[:, None]
            hi = np.where(n.op.negate, -q.lo, q.hi)[:, None]
            assert not np.all(n.op.thresholds <= lo, axis=0).any()
            assert not np.all(n.op.thresholds > hi, axis=0).any()
            del t


@pytest.mark.parametrize("name", MODELS)
def test_channels_last_streams_every_spatial_op(name, stages):
    g = _by_pass(name, stages)["channels_last"]
    for n in g.nodes:
        if isinstance(n.op, (ops.Conv, ops.Pool)):
            assert n.op.channels_last, n.name
    transposes = [n for n in g.nodes if isinstance(n.op, ops.Transpose)]
    part = partition(g)
    assert all(n.name not in part.hardware for n in transposes)


@pytest.mark.parametrize("name", MODELS)
def test_lower_leaves_only_units_in_hardware(name, stages):
    g = _by_pass(name, stages)["lower"]
    part = partition(g)
    assert part.hardware, "no hardware at all"
    unit_params = tuple(m.Params for m in units.UNITS)
    for n in g.nodes:
        if n.name in part.hardware:
            assert isinstance(n.op, unit_params + WIRE_OPS), f"{n.name}: {n.op.summary()}"
    for n in g.nodes:
        if n.name in part.prefix + part.suffix:
            assert not isinstance(n.op, unit_params)
