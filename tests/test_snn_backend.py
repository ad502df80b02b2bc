"""Spiking fixtures through the backends: generated Verilog simulated (Verilator, Icarus) and
HLS C-simulated, bit-exact against the golden model and spike for spike equal to snnTorch;
the CLI with spike trains; cycles per time step in sim.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import archgen
from archgen import simulate
from archgen.backends.hardware import plan
from archgen.cli import main
from archgen.estimate.model import estimate
from archgen.estimate.parts import get_part
from cellsim import lint, need, need_yosys

FIX = Path(__file__).parent / "fixtures"
T = 20
# folding of the conv fixture: windows of 2 channels per beat into the event-driven synapse,
# one output channel per cycle (4 cycles per spike)
LAYERS = {"snn_conv": {"t_0": {"pe": 1, "simd": 2}, "t_4": {"pe": 10, "simd": 4}}}
# cycles per step with dense synapses (mvu: every input every step; the bottleneck layer)
DENSE_CYCLES = {"snn_dense": 16 * 24, "snn_conv": 8 * 8 * 9 * 4, "snn_cuba": 16 * 12}


def _data(name):
    d = np.load(FIX / f"{name}.npz")
    return d["x"], d["y"]


def _model(name, synapse="event"):
    return archgen.load(FIX / f"{name}.nir", snn={"time_steps": T, "synapse": synapse},
                        layers=LAYERS.get(name, {}))


def _event_cycles(model, x) -> np.ndarray:
    """Cycles of each step at the slowest event-driven synapse on these spikes: a vector
    (a dense layer's input, a convolution's window) with nnz spikes takes
    max(K/SIMD, (nnz + 1) * N/PE) cycles, a step the sum over its vectors."""
    from archgen import golden

    hw = plan(model.graph)
    frames = np.swapaxes(x, 0, 1).reshape((-1,) + x.shape[2:])
    env = golden.evaluate(model.graph, golden.check_inputs(model.graph, [frames]), keep=True)
    worst = np.zeros(len(frames))
    for ly in hw.layers:
        op = ly.node.op
        if op.kind() == "synapse":
            n, k = op.weight.shape
            nnz = env[ly.node.inputs[0]].reshape(len(frames), -1, k).sum(axis=2)
            per_vector = np.maximum(k // op.simd, (nnz + 1) * (n // op.pe))
            worst = np.maximum(worst, per_vector.sum(axis=1))
    return worst


@pytest.mark.sim
@pytest.mark.parametrize("name,simulator", [
    ("snn_conv", "verilator"), ("snn_dense", "verilator"), ("snn_cuba", "icarus"),
    pytest.param("snn_dense", "icarus", marks=pytest.mark.slow),
    pytest.param("snn_conv", "icarus", marks=pytest.mark.slow)])
def test_rtl_equals_golden_and_snntorch(tmp_path, name, simulator):
    need(simulator)
    x, y = _data(name)
    x, y = x[:, :2], y[:, :2]  # 2 samples of 20 steps under random stalls
    model = _model(name)
    got = model.simulate(x, simulator=simulator, project_dir=tmp_path / "p")
    assert np.array_equal(got, model.golden(x))
    assert np.array_equal(got, y)
    rep = json.loads((tmp_path / "p" / "reports" / "sim.json").read_text())
    assert rep["mismatches"] == 0 and rep["time_steps"] == T and rep["samples"] == 2
    est = estimate(plan(model.graph), get_part("xc7z020")).interval
    # event-driven (dense and convolution synapses): the measured steps follow the spike
    # counts, well under dense
    assert [n.op.kind() for n in model.graph.nodes].count("synapse") >= 1
    per_step = _event_cycles(model, x[:, :1])
    assert rep["cycles_per_step"] <= est  # the estimate is the worst case
    assert abs(rep["cycles_per_step"] - per_step[1:].mean()) <= 2
    assert rep["cycles_per_step"] < 0.6 * DENSE_CYCLES[name]
    assert rep["cycles_per_sample"] == pytest.approx(T * rep["cycles_per_step"])


@pytest.mark.sim
@pytest.mark.parametrize("name,layers,cycles", [
    ("snn_cuba", {}, DENSE_CYCLES["snn_cuba"]),
    # the conv layer's 4 outputs x 2 channels per cycle: 9 beats per window
    ("snn_conv", {"t_0": {"pe": 4, "simd": 2}, "t_4": {"pe": 10, "simd": 4}}, 8 * 8 * 9)])
def test_dense_synapse_option(tmp_path, name, layers, cycles):
    """snn.synapse: dense keeps the mvu (every input every step): the analytic interval."""
    need("icarus")
    x, y = _data(name)
    model = archgen.load(FIX / f"{name}.nir", snn={"time_steps": T, "synapse": "dense"},
                         layers=layers)
    kinds = [n.op.kind() for n in model.graph.nodes]
    assert kinds.count("mvu") == 2 and "synapse" not in kinds
    got = model.simulate(x[:, :1], simulator="icarus", project_dir=tmp_path / "p")
    assert np.array_equal(got, y[:, :1])
    rep = json.loads((tmp_path / "p" / "reports" / "sim.json").read_text())
    est = estimate(plan(model.graph), get_part("xc7z020")).interval
    assert rep["cycles_per_step"] == est == cycles


@pytest.mark.parametrize("name", ["snn_dense", "snn_conv", "snn_cuba"])
def test_csim_equals_golden_and_snntorch(tmp_path, name):
    from hlscell import need as need_csim

    need_csim()
    x, y = _data(name)
    model = _model(name)
    got = model.csim(x, project_dir=tmp_path / "p")
    assert np.array_equal(got, y)  # all 16 samples
    rep = json.loads((tmp_path / "p" / "reports" / "csim.json").read_text())
    assert rep["mismatches"] == 0 and rep["samples"] == 16 and rep["time_steps"] == T


@pytest.mark.sim
def test_generated_snn_rtl_is_lint_clean(tmp_path):
    for name in ("snn_dense", "snn_cuba", "snn_conv"):
        d = tmp_path / name
        from archgen.project import write_project

        write_project(_model(name), d, backends=("verilog",))
        top = json.loads((d / "hardware.json").read_text())["top"]
        lint(sorted((d / "rtl").glob("*.v")), top)


@pytest.mark.synth
@pytest.mark.slow  # ~1 min of yosys; the default tier synthesizes the lif cell (test_cell_lif)
def test_snn_layers_synthesize_without_latches(tmp_path):
    """The dense fixture's layers (mvu, lif with its state RAM) through yosys synth_xilinx."""
    from archgen.estimate.report import synthesize_project
    from archgen.project import write_project

    need_yosys()
    model = _model("snn_dense")
    d = tmp_path / "p"
    write_project(model, d, backends=("verilog",))
    hw = plan(model.graph)
    res = synthesize_project(d, hw, get_part("xc7z020"), workers=1, progress=False,
                             cache=simulate.cache_root() / "synth")
    for layer, counts in res["layers"].items():
        assert counts["FF"] > 0 or layer == "top", layer  # the top: only wires here
    lifs = [ly.name for ly in hw.layers if ly.node.op.kind() == "lif"]
    assert lifs and all(res["layers"][n]["LUT"] > 0 for n in lifs)


def test_cli_generate_and_sim_spike_trains(tmp_path, capsys):
    need("icarus")
    x, y = _data("snn_dense")
    np.save(tmp_path / "x.npy", x[:, :1])
    np.save(tmp_path / "x5.npy", x[:5, :1])
    model = str(FIX / "snn_dense.nir")
    out = tmp_path / "p"
    # the hardware needs its time steps
    assert main(["generate", model, "-o", str(out)]) == 2
    assert "--time-steps" in capsys.readouterr().err
    assert not out.exists()
    assert main(["generate", model, "-o", str(out), "--time-steps", str(T),
                 "--backend", "all"]) == 0
    assert main(["sim", str(out), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"),
                 "--simulator", "icarus"]) == 0
    assert np.array_equal(np.load(tmp_path / "y.npy"), y[:, :1])
    from hlscell import need as need_csim

    need_csim()
    assert main(["csim", str(out), "-i", str(tmp_path / "x.npy"), "-o",
                 str(tmp_path / "c.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "c.npy"), y[:, :1])
    capsys.readouterr()
    assert main(["sim", str(out), "-i", str(tmp_path / "x5.npy"), "-o",
                 str(tmp_path / "y5.npy"), "--simulator", "icarus"]) == 2
    err = capsys.readouterr().err
    assert "built for 20 time steps" in err and "the input has 5" in err


def test_report_has_spiking_figures(tmp_path):
    from archgen.estimate.report import report_project
    from archgen.project import write_project

    model = _model("snn_dense")
    write_project(model, tmp_path / "p", backends=("verilog",))
    data = report_project(tmp_path / "p")
    snn = data["snn"]
    weights = [n.op.weight for n in model.graph.nodes if n.op.kind() == "synapse"]
    assert snn["time_steps"] == T and snn["neurons"] == 24 + 8
    assert snn["synapses"] == sum(int(np.count_nonzero(w)) for w in weights) > 500
    assert snn["state_bits"] == (24 + 8) * 16  # membrane fixed<16,6>, one word per neuron
    assert snn["cycles_per_step"] == (16 + 1) * 24  # worst case: all 16 inputs spike
    assert snn["cycles_per_sample"] == T * snn["cycles_per_step"]
    html = (tmp_path / "p" / "reports" / "report.html").read_text()
    assert "Spiking network" in html and "cycles / step" in html
