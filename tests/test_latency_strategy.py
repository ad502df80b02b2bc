"""``strategy: latency`` (#9): dense layers become cmvm units (multiplier-free shift-add
graphs, one vector per cycle) with their requantizers fully parallel behind them; bit-exact
in simulation, II = 1, and a latency set by the adder depth budget."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import archgen
from archgen.errors import ConfigError
from cellsim import need

import qonnx_models as qm

FIX = Path(__file__).parent / "fixtures"


def test_latency_strategy_lowers_dense_layers_to_cmvm(tmp_path):
    path = qm.write(tmp_path / "m.onnx", qm.mlp_model())
    model = archgen.load(path, strategy="latency", latency_depth=3)
    kinds = [n.op.kind() for n in model.graph.nodes]
    assert "cmvm" in kinds and "mvu" not in kinds
    assert {n.op.depth for n in model.graph.nodes if n.op.kind() == "cmvm"} == {3}
    x = qm.inputs()
    assert np.array_equal(model.golden(x), archgen.load(path).golden(x))  # same numbers
    with pytest.raises(ConfigError, match="latency_depth"):
        archgen.load(path, strategy="latency", latency_depth=0)
    with pytest.raises(ConfigError, match="latency_arity: 4 is not 2 or 3"):
        archgen.load(path, strategy="latency", latency_arity=4)


@pytest.mark.sim
def test_latency_strategy_simulates_at_one_vector_per_cycle(tmp_path):
    need("icarus")
    path = qm.write(tmp_path / "m.onnx", qm.mlp_model())
    model = archgen.load(path, strategy="latency")
    x = qm.inputs()
    got = model.simulate(x, simulator="icarus", project_dir=tmp_path / "p")
    assert np.array_equal(got, model.golden(x))
    rep = json.loads((tmp_path / "p" / "reports" / "sim.json").read_text())
    assert rep["interval_cycles"] == 1


@pytest.mark.sim
@pytest.mark.slow  # ~2 min of Icarus: the jet-tagging MLP fully parallel
def test_jet_mlp_latency_strategy(tmp_path):
    need("icarus")
    from archgen.backends.hardware import plan

    model = archgen.load(FIX / "mlp_w6a6.onnx", strategy="latency", clock_mhz=200)
    x = np.load(FIX / "mlp_w6a6.npz")["x"][:4]
    got = model.simulate(x, simulator="icarus", project_dir=tmp_path / "p")
    assert np.array_equal(got, model.golden(x))
    rep = json.loads((tmp_path / "p" / "reports" / "sim.json").read_text())
    assert rep["interval_cycles"] == 1
    # the four cmvms back to back (no FIFO, only the first with an input register): the
    # vector's cycle plus each unit's pipeline registers, 1 + 5 + 4 + 4 + 3 at depth 2 with
    # ternary adders (binary: 1 + 7 + 7 + 6 + 4 = 25)
    stages = [ly.hw["pipeline_cycles"] for ly in plan(model.graph).layers]
    assert stages == [5, 4, 4, 3]
    assert rep["latency_cycles"] == 1 + sum(stages) == 17
