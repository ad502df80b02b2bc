"""FIFO sizing by simulation (#9): the config's ``fifo_depths``, the probe design (a frame
of FIFO in front of every layer input) and ``archgen generate --size-fifos``, whose design
runs as fast as the probe's deep FIFOs allow, bit-exact.  (The CNV benchmarks sized the
same way: tests/test_benchmarks.py, slow tier.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import archgen
from archgen.backends.hardware import plan, sink_key
from archgen.cli import main
from archgen.config import Config
from archgen.errors import ConfigError
from archgen.estimate.model import estimate
from archgen.estimate.parts import get_part
from archgen.fifo_sizing import probe_plan, probed
from archgen.simulate import open_project
from cellsim import need

FIX = Path(__file__).parent / "fixtures"
# an offset convolution and a whole-frame deformable sampler fed by one forked input: the
# sampler's receive phase and the fork make the rules' design stall (#6, #9)
DEFORM = FIX / "deform_d2_g3_nomask.onnx"
FOLD = {"target_fps": 20_000, "clock_mhz": 100}


def _sinks(hw) -> dict:
    return {(k.layer, k.index): (s, k) for s in hw.streams for k in s.sinks}


def test_rules_give_a_matrix_vector_unit_a_whole_vector_in_stream_beats():
    """The FIFO in front of a matrix-vector unit fed by another layer holds one input
    vector, counted in beats of the stream it sits on (before the width converter): 64
    beats of 1 lane here, not 64 / SIMD 4.  (Counted in SIMD beats it held a quarter of
    a vector, and CNV-w2a2's dense layers ran at 55,819 cycles per frame, not 36,864.)"""
    model = archgen.load(FIX / "mlp_w2a2.onnx", layers={"node_linear": {"pe": 1, "simd": 1},
                                                         "node_linear_1": {"pe": 2, "simd": 4}})
    s, k = _sinks(plan(model.graph))[("node_linear_1", 0)]
    assert (s.lanes, k.lanes) == (1, 4)
    assert k.fifo == 64 + 2


@pytest.mark.parametrize("bad", [-1, 1, 2.5, "8", True])
def test_config_rejects_a_bad_depth(bad):
    with pytest.raises(ConfigError, match="fifo_depths.conv_offset"):
        Config(fifo_depths={"conv_offset": bad})


def test_plan_takes_the_configured_depths():
    model = archgen.load(DEFORM, **FOLD)
    rules = _sinks(plan(model.graph))
    hw = _sinks(plan(model.graph, {"deform_conv": 40, "quant_y": 0, "deform_conv_dswg:1": 6,
                                   "conv_offset_swg": 0}))
    assert hw[("deform_conv", 0)][1].fifo == 40
    assert hw[("quant_y", 0)][1].fifo == 0
    assert hw[("deform_conv_dswg", 1)][1].fifo == 6
    # a branch of the forked input keeps the depth that keeps it from deadlocking
    assert rules[("conv_offset_swg", 0)][1].fifo > 0
    assert hw[("conv_offset_swg", 0)][1].fifo == rules[("conv_offset_swg", 0)][1].fifo
    # the model's config carries them to every backend
    sized = archgen.load(DEFORM, fifo_depths={"deform_conv": 40}, **FOLD)
    assert _sinks(sized.hardware())[("deform_conv", 0)][1].fifo == 40


def test_an_unknown_layer_input_is_a_config_error():
    model = archgen.load(DEFORM, **FOLD)
    with pytest.raises(ConfigError, match=r"fifo_depths\.deform_conv:3: no layer input .*"
                                          r"deform_conv_dswg:1"):
        plan(model.graph, {"deform_conv:3": 8})


def test_probe_holds_a_frame_in_front_of_every_layer_but_window_streams():
    hw = plan(archgen.load(DEFORM, **FOLD).graph)
    probe = _sinks(probe_plan(hw))
    for (layer, index), (s, rule) in _sinks(hw).items():
        beats = hw.graph.tensors[s.tensor].size // s.lanes
        if probed(hw, s, rule):
            assert probe[(layer, index)][1].fifo >= beats
        else:
            assert probe[(layer, index)][1].fifo == rule.fifo
    # the bench's ports are not sized; the forked top input's branches are
    assert not probed(hw, *_sinks(hw)[(None, 0)])
    assert probed(hw, *_sinks(hw)[("conv_offset_swg", 0)])
    # an swg's window stream is not (its FIFO goes in front of the swg); the windows of
    # a whole-frame sampler are (only a FIFO after it hides its receive phase)
    assert not probed(hw, *_sinks(hw)[("conv_offset", 0)])
    assert probed(hw, *_sinks(hw)[("deform_conv", 0)])


@pytest.mark.sim
def test_sized_design_runs_as_fast_as_deep_fifos_allow(tmp_path, capsys):
    """The rules' design of DEFORM stalls between layers (4,578 cycles per frame against
    4,356 estimated); with the sized FIFOs it runs at its slowest layer's rate."""
    need("icarus")
    x = np.load(FIX / "deform_d2_g3_nomask.npz")["x"][:2]
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "sized"
    code = main(["generate", str(DEFORM), "-o", str(out), "--target-fps", "20000",
                 "--clock-mhz", "100", "--size-fifos", "--simulator", "icarus"])
    assert code == 0, capsys.readouterr().err
    rep = json.loads((out / "reports" / "fifo_sizing.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["fifo_depths"] == rep["depths"]
    assert set(rep["depths"]) == {"conv_offset_swg", "quant_offset", "deform_conv_dswg",
                                  "deform_conv_dswg:1", "deform_conv", "quant_y"}
    assert all(d == 0 or d == rep["peaks"][k] + 2 for k, d in rep["depths"].items())
    assert rep["paced_interval_cycles"] == rep["best_interval_cycles"]
    code = main(["sim", str(out), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"),
                 "--simulator", "icarus"])
    assert code == 0, capsys.readouterr().err
    model = archgen.load(DEFORM, **FOLD)
    assert np.array_equal(np.load(tmp_path / "y.npy"), model.golden(x))
    sized = json.loads((out / "reports" / "sim.json").read_text())["interval_cycles"]
    model.simulate(x, simulator="icarus", project_dir=tmp_path / "rules")
    rules = json.loads((tmp_path / "rules" / "reports" / "sim.json").read_text())["interval_cycles"]
    est = estimate(plan(model.graph), get_part(model.config.part)).interval
    assert sized == rep["best_interval_cycles"] == est < rules, (sized, rep, rules)
    # the project was generated with those depths, and `archgen sim` re-plans with them
    _, hw, _ = open_project(out, "verilog")
    # (a forked branch keeps at least its deadlock-free depth: single sinks only)
    for k in (s.sinks[0] for s in hw.streams if len(s.sinks) == 1 and s.sinks[0].layer):
        if sink_key(k.layer, k.index) in rep["depths"]:
            assert k.fifo == rep["depths"][sink_key(k.layer, k.index)]


def test_size_fifos_options_are_checked(tmp_path, capsys):
    code = main(["generate", str(DEFORM), "-o", str(tmp_path / "p"), "--simulator", "icarus"])
    assert code == 2
    assert "--size-fifos" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_committed_cnv_depths_match_the_designs(tmp_path):
    """bench/cnv_fifos.json (the CNV benchmarks' sized FIFOs, perf_sim.py --size-fifos)
    names exactly the layer inputs sizing probes in today's CNV designs."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import perf_sim

    table = perf_sim.cnv_fifos()
    assert set(table) == {f"cnv-w{w}a{a}" for w, a, _ in perf_sim.CNV_CASES}
    for name, depths in table.items():
        model, _ = perf_sim.design(name, 1, tmp_path / name)
        hw = plan(model.graph)
        assert set(depths) == {sink_key(k.layer, k.index)
                               for s in hw.streams for k in s.sinks if probed(hw, s, k)}
        assert model.hardware()  # every key names a layer input (else a ConfigError)
