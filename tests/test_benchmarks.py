"""Issue #9's benchmark designs simulated bit-exact in Verilator (``make test-all`` only):
CNV-w2a2 and CNV-w1a1 at the foldings that meet BNN-PYNQ's frame rates, and the jet MLP
with every dense layer fully parallel.  The designs come from bench/perf_sim.py, the one
place that builds them (bench/bench_performance.py and bench/perf_sim.py print their
figures); the jet MLP's `strategy="latency"` designs are simulated in
tests/test_latency_strategy.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from archgen.backends.hardware import plan
from archgen.estimate.model import estimate
from archgen.estimate.parts import get_part
from cellsim import need

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import perf_sim  # noqa: E402

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def simulate(tmp_path, name):
    """(model, its sim.json) after simulating the benchmark design ``name`` in Verilator;
    the RTL's outputs must equal the golden model's on every element."""
    need("verilator")
    model, x = perf_sim.design(name, folder=tmp_path / "model")
    got = model.simulate(x, simulator="verilator", project_dir=tmp_path / "p")
    assert np.array_equal(got, model.golden(x))
    return model, json.loads((tmp_path / "p" / "reports" / "sim.json").read_text())


# CNV: 2 frames each, about 0.5 M (w2a2) and 0.2 M (w1a1) simulated cycles
@pytest.mark.parametrize("name, frames_per_s", [("cnv-w2a2", 2580.0), ("cnv-w1a1", 9150.0)])
def test_cnv_simulates_bit_exact_at_its_benchmark_folding(tmp_path, name, frames_per_s):
    model, rep = simulate(tmp_path, name)
    est = estimate(plan(model.graph), get_part(perf_sim.CNV_OPTIONS["part"]))
    assert rep["mismatches"] == 0
    # the analytic interval is the slowest layer's cycles per frame; the RTL meets it exactly
    assert rep["interval_cycles"] == est.interval
    assert rep["interval_cycles"] <= perf_sim.CNV_OPTIONS["clock_mhz"] * 1e6 / frames_per_s


def test_jet_mlp_fully_parallel_simulates_bit_exact(tmp_path):
    model, rep = simulate(tmp_path, "jet-dataflow-parallel")
    assert rep["mismatches"] == 0
    assert rep["interval_cycles"] == 1
