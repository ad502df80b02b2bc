"""Design-space exploration (archgen dse): IR transforms, tasks, flows, search, outputs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import archgen
from archgen import golden
from archgen.cli import main
from archgen.config import Config
from archgen.dse import transforms as T
from archgen.dse.execute import execute
from archgen.dse.flow import bind, load_flow, parse_flow
from archgen.dse.metrics import make_context, measure
from archgen.dse.search import run
from archgen.dse.tasks import (TASKS, FoldConfig, PruneConfig, QuantizeConfig, StrategyConfig,
                               fold, prune, quantize)
from archgen.errors import ConfigError
from archgen.ir import ops, verify
from archgen.ir.verify import reinfer
from archgen.passes import run_pipeline

FIX = Path(__file__).resolve().parent / "fixtures"
MLP = FIX / "mlp_w6a6.onnx"
MLP_DATA = FIX / "mlp_w6a6.npz"
CNN = FIX / "cnn_w4a4.onnx"
BRANCH = FIX / "dse" / "branch.yaml"
SMALL_FLOW = """\
objectives: [LUT, fidelity]
steps:
  - quantize: {weight_bits: {int: [3, 6]}, act_bits: {int: [3, 6]}}
  - prune: {mode: unstructured, sparsity: {float: [0.0, 0.5]}}
"""


@pytest.fixture(scope="module")
def mlp():
    return archgen.load(MLP)


@pytest.fixture(scope="module")
def ctx():
    return make_context(MLP, MLP_DATA)


@pytest.fixture
def small_flow(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(SMALL_FLOW)
    return p


def _x(name):
    return np.load(FIX / f"{name}.npz")["x"]


def _zeroed(graph, layer, rows):
    op = T.node(graph, layer).op
    w = op.weight.copy()
    w[rows] = 0
    return reinfer(graph.rebuild([replace(n, op=replace(n.op, weight=w)) if n.name == layer
                                  else n for n in graph.nodes]))


# -- transforms ---------------------------------------------------------------------------------

def test_requantize_weights_keeps_range_and_validity(mlp):
    g = T.requantize_weights(mlp.source, "node_linear_1", 3)
    verify(g)
    old, new = T.node(mlp.source, "node_linear_1").op, T.node(g, "node_linear_1").op
    assert new.weight_spec.bits == 3 and np.abs(new.weight).max() == 3
    real_old = old.weight * old.weight_spec.scale[0]
    real_new = new.weight * new.weight_spec.scale[0]
    assert np.abs(real_new).max() == pytest.approx(np.abs(real_old).max())
    assert np.abs(real_new - real_old).max() <= new.weight_spec.scale[0] / 2 + 1e-12
    assert T.requantize_weights(mlp.source, "node_linear_1", 8) is mlp.source  # never up


def test_requantize_activation_keeps_range(mlp):
    q = T.input_quantizer(mlp.source, "node_linear_1")
    assert q.name == "node_symbolic_2"
    g = T.requantize_activation(mlp.source, q.name, 3)
    verify(g)
    old, new = q.op.spec, T.node(g, q.name).op.spec
    assert (new.bits, new.signed) == (3, False)
    assert new.scale[0] * 7 == pytest.approx(old.scale[0] * 63)
    # the next layer's accumulator follows the narrower codes
    acc_old = mlp.source.tensors[T.node(mlp.source, "node_linear_1").outputs[0]].quant
    acc_new = g.tensors[T.node(g, "node_linear_1").outputs[0]].quant
    assert acc_new.hi - acc_new.lo < acc_old.hi - acc_old.lo
    x = _x("mlp_w6a6")
    y0, y1 = golden.run(mlp.source, x)[0], golden.run(g, x)[0]
    assert 0 < np.abs(y1 - y0).max() < np.abs(y0).max()


def test_prune_weights_zeroes_the_fraction(mlp):
    g = T.prune_weights(mlp.source, "node_linear", 0.5)
    w = T.node(g, "node_linear").op.weight
    assert (w == 0).sum() >= w.size // 2
    kept = T.node(mlp.source, "node_linear").op.weight[w != 0]
    assert np.abs(kept).min() >= np.abs(T.node(mlp.source, "node_linear").op.weight[w == 0]).max()
    verify(g)


@pytest.mark.parametrize("model,layer,n", [(MLP, "node_linear_1", 8), (CNN, "node_conv2d_2", 4)])
def test_remove_channels_equals_zeroed_weights(model, layer, n):
    """Removing channels computes what zeroing their weights computes (the constant they
    still carry goes into the next layer's bias); the layer and its consumers shrink."""
    m = archgen.load(model)
    drop = list(np.argsort(T.channel_norms(m.source, layer))[:n])
    g = T.remove_channels(m.source, layer, drop)
    verify(g)
    rows = T.node(m.source, layer).op.weight.shape[0]
    assert T.node(g, layer).op.weight.shape[0] == rows - n
    x = _x(model.stem)
    # equal up to the float64 rounding of the host-side bias sum
    np.testing.assert_allclose(golden.run(g, x)[0],
                               golden.run(_zeroed(m.source, layer, drop), x)[0], atol=1e-12)
    verify(run_pipeline(g, m.config))


def test_remove_channels_not_applicable():
    m = archgen.load(CNN)
    with pytest.raises(T.NotApplicable, match="node_add_45: a Add the removed channels cannot pass"):
        T.remove_channels(m.source, "node_conv2d", [0])
    with pytest.raises(T.NotApplicable, match="reach the model output"):
        T.remove_channels(m.source, "node_linear", [0])


# -- tasks --------------------------------------------------------------------------------------

def test_registry_is_explicit():
    assert list(TASKS) == ["quantize", "prune", "fold", "strategy"]


def test_quantize_task(ctx):
    d = quantize(ctx.design(), QuantizeConfig(weight_bits={"node_linear": 3}, act_bits=4))
    assert T.node(d.source, "node_linear").op.weight_spec.bits == 3
    assert T.node(d.source, "node_linear_1").op.weight_spec.bits == 6
    assert [e[0] for e in d.edits].count("requantize_activation") == 4
    m0, m1 = measure(ctx.design(), ctx), measure(d, ctx)
    assert m1["LUT"] < m0["LUT"] and m1["DSP"] < m0["DSP"]
    assert m0["fidelity"] == 1.0 and 0.5 < m1["fidelity"] <= 1.0


def test_quantize_float_model_by_config():
    c = make_context(FIX / "mlp_float.onnx")
    assert c.float_model
    d = quantize(c.design(), QuantizeConfig(weight_precision="fixed<6,1>", layers=["t_3_Gemm"]))
    assert d.config.layers["t_3_Gemm"].weight_precision == "fixed<6,1>"
    assert T.node(d.source, "t_3_Gemm").op.weight_spec.bits == 6
    assert T.node(d.source, "t_0_Gemm").op.weight_spec.bits == 16
    with pytest.raises(ConfigError, match="this model is quantized already: use weight_bits"):
        quantize(make_context(MLP).design(), QuantizeConfig(weight_precision="fixed<6,1>"))


def test_prune_tasks(ctx):
    base = measure(ctx.design(), ctx)
    d = prune(ctx.design(), PruneConfig(mode="channel", fraction=0.5))
    assert T.node(d.source, "node_linear").op.weight.shape == (32, 16)
    assert T.node(d.source, "node_linear_3").op.weight.shape == (5, 16)  # its inputs follow
    assert any("reach the model output" in n for n in d.notes)
    m = measure(d, ctx)
    assert m["LUT"] < base["LUT"] and m["interval"] < base["interval"]
    d = prune(ctx.design(), PruneConfig(sparsity={"node_linear_2": 0.999}))  # rows all zero
    assert T.node(d.source, "node_linear_2").op.weight.shape[0] <= 2  # compacted
    with pytest.raises(ConfigError, match="prune: layer node_linear_3: its output channels"):
        prune(ctx.design(), PruneConfig(mode="channel", fraction=0.5, layers=["node_linear_3"]))


def test_fold_and_strategy_tasks(ctx):
    d = fold(ctx.design(), FoldConfig(mode="parallel"))
    g = run_pipeline(d.source, d.config)
    mvus = [n.op for n in g.nodes if n.op.kind() == "mvu"]
    assert all((op.pe, op.simd) == op.weight.shape for op in mvus)
    d = fold(ctx.design(), FoldConfig(mode="target", target_fps=200000, clock_mhz=100))
    assert d.config.target_fps == 200000 and measure(d, ctx)["fps"] >= 200000
    d = TASKS["strategy"].fn(ctx.design(), StrategyConfig("latency"))
    assert d.config.strategy == "latency"


@pytest.mark.parametrize("cls,kwargs,msg", [
    (PruneConfig, {"mode": "random", "sparsity": 0.1}, "mode: 'random' is not one of unstructured, channel"),
    (PruneConfig, {"sparsity": 1.5}, "sparsity: 1.5 is outside [0, 1)"),
    (PruneConfig, {"mode": "channel", "sparsity": 0.1},
     "sparsity: not a parameter of mode channel (use fraction)"),
    (QuantizeConfig, {"weight_bits": 1}, "weight_bits: 1 is outside 2..16"),
    (QuantizeConfig, {"act_bits": "4"}, "act_bits: '4' is not an integer"),
    (FoldConfig, {"mode": "target"}, "target_fps: required with mode target"),
    (StrategyConfig, {"strategy": "fast"}, "strategy: 'fast' is not one of dataflow, latency"),
])
def test_task_config_errors(cls, kwargs, msg):
    with pytest.raises(ConfigError) as e:
        cls(**kwargs)
    assert str(e.value) == msg


# -- flows --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,msg", [
    ("steps: [{squash: {}}]",
     "f.yaml: step 1: unknown task 'squash' (tasks: quantize, prune, fold, strategy; "
     "or if/then/else, fork/reduce)"),
    ("steps: [{prune: {amount: 0.5}}]",
     "f.yaml: step 1 (prune): unknown parameter 'amount' (valid: mode, sparsity, fraction, "
     "layers, compact, per_layer)"),
    ("steps: [{prune: {mode: unstructured, sparsity: {float: [0.5, 0.1]}}}]",
     "f.yaml: step 1 (prune): sparsity: float: expected [LOW, HIGH] with LOW <= HIGH, got [0.5, 0.1]"),
    ("steps: [{fold: {mode: sideways}}]",
     "f.yaml: step 1 (fold): mode: 'sideways' is not one of folded, parallel, target"),
    ("steps: [{if: 'DSPs > 2', then: []}]",
     "f.yaml: step 1 (if): condition 'DSPs > 2': unknown metric 'DSPs' (metrics: LUT, FF, DSP, BRAM, "
     "BRAM18, BRAM36, CARRY4, interval, latency, fps, fidelity, accuracy, agreement, error)"),
    ("steps: [{if: 'DSP >> 2', then: []}]",
     "f.yaml: step 1 (if): condition 'DSP >> 2': 'DSP >> 2' is not METRIC OP NUMBER "
     "(OP one of < <= > >= == !=)"),
    ("steps: [{fork: [[{fold: {}}]], reduce: {min: LUT}}]",
     "f.yaml: step 1 (fork): expected a list of at least two branches, each a list of steps"),
    ("steps: [{fork: [[], []], reduce: {least: LUT}}]",
     "f.yaml: step 1 (fork): reduce: expected exactly one of min, max (and optionally where)"),
    ("steps: [{if: DSP > 1, then: [{prune: {mode: channel}}]}]",
     "f.yaml: step 1.then.1 (prune): fraction: required with mode channel"),
    ("objectives: [LUT, speed]\nsteps: [{fold: {}}]",
     "f.yaml: objectives: unknown metric 'speed' (metrics: LUT, FF, DSP, BRAM, BRAM18, BRAM36, "
     "CARRY4, interval, latency, fps, fidelity, accuracy, agreement, error)"),
    ("sampler: grid\nsteps: [{fold: {}}]", "f.yaml: sampler: 'grid' is not one of nsga2, tpe"),
    ("step: []", "f.yaml: unknown key 'step' (valid: name, objectives, sampler, seed, constraints, steps)"),
])
def test_flow_errors(tmp_path, text, msg):
    p = tmp_path / "f.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_flow(p)
    assert str(e.value).replace(str(tmp_path) + "/", "") == msg


def test_flow_layer_names_checked_against_the_model(ctx):
    flow = parse_flow({"steps": [{"prune": {"sparsity": {"node_nope": 0.5}}}]}, "f.yaml")
    with pytest.raises(ConfigError, match=r"^f.yaml: step 1 \(prune\): sparsity: no layer "
                                          r"'node_nope' in the model \(layers: node_linear, "):
        bind(flow, ctx)


def test_default_flow_space(ctx):
    names = [p.name for p in bind(load_flow(None), ctx)]
    assert "1.quantize.weight_bits[node_linear_3]" in names
    assert "2.prune.fraction[node_linear_2]" in names
    assert "2.prune.fraction[node_linear_3]" not in names  # its channels are the output
    assert "3.prune.sparsity" in names


def test_branch_and_fork(ctx):
    flow = load_flow(BRANCH)
    values = {p.name: p.free.example() for p in bind(flow, ctx)}
    values["1.quantize.weight_bits"] = 6
    values["1.quantize.act_bits"] = 6  # 6-bit products keep DSPs: the branch prunes
    d, m, trace = execute(flow, ctx, values)
    assert trace[0] == "step 2: if DSP > 0: then"
    assert any(e[0] == "remove_channels" for e in d.edits)
    assert trace[1] == "step 3: branch 2 of 2 by min LUT"  # only the 200k fps fold meets fps
    assert m["fps"] >= 200000
    values["1.quantize.weight_bits"] = 3
    values["1.quantize.act_bits"] = 4
    d, m, trace = execute(flow, ctx, values)
    assert trace[0] == "step 2: if DSP > 0: else"
    assert not any(e[0] == "remove_channels" for e in d.edits)


# -- search -------------------------------------------------------------------------------------

def _check_pareto(out: Path, trials: int):
    doc = json.loads((out / "pareto.json").read_text())
    assert doc["trials"]["complete"] == trials
    assert doc["baseline"]["metrics"]["fidelity"] == 1.0
    assert doc["pareto"]
    for p in doc["pareto"]:
        assert set(p) == {"trial", "params", "design", "trace", "metrics", "reduction_percent"}
        assert set(p["design"]) == {"config", "edits", "notes"}
        assert {"LUT", "FF", "DSP", "BRAM", "fidelity", "interval", "latency"} <= set(p["metrics"])
    html = (out / "pareto.html").read_text()
    assert html.count("<svg") == 2 and "<script" not in html and "src=" not in html
    return doc


def test_local_run_and_resume(tmp_path, small_flow):
    out = tmp_path / "d"
    r = run(MLP, out, flow=small_flow, data=MLP_DATA, trials=3, progress=False)
    assert (r.new, r.complete, r.interrupted) == (3, 3, False)
    _check_pareto(out, 3)
    r = run(MLP, out, flow=small_flow, data=MLP_DATA, trials=2, progress=False)
    assert (r.new, r.complete) == (2, 5)  # resumed: added to the first run's trials
    doc = _check_pareto(out, 5)
    assert doc["pareto"][0]["trial"] == 0 or doc["pareto"][-1]["trial"] == 0 or doc["pareto"]
    with pytest.raises(ConfigError, match="holds a search of another flow"):
        run(MLP, out, flow=None, data=MLP_DATA, trials=1, progress=False)


def test_process_pool(tmp_path, small_flow):
    r = run(MLP, tmp_path / "d", flow=small_flow, data=MLP_DATA, trials=4, workers=2,
            progress=False)
    assert r.complete == 4 and r.failed == 0


def test_dask_local_cluster(tmp_path, small_flow):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        r = run(MLP, tmp_path / "d", flow=small_flow, data=MLP_DATA, trials=4,
                scheduler=cluster.scheduler_address, progress=False)
    assert r.complete == 4 and r.failed == 0
    _check_pareto(tmp_path / "d", 4)


def test_interrupt_keeps_finished_trials(tmp_path, small_flow):
    def stop(number, result):
        if number == 1:
            raise KeyboardInterrupt

    r = run(MLP, tmp_path / "d", flow=small_flow, data=MLP_DATA, trials=10, progress=False,
            on_trial=stop)
    assert r.interrupted and r.complete == 2
    _check_pareto(tmp_path / "d", 2)


def test_emit_best_writes_a_replayable_project(tmp_path, small_flow):
    from archgen.simulate import open_project

    out = tmp_path / "d"
    r = run(MLP, out, flow=small_flow, data=MLP_DATA, trials=3, emit_best=True,
            min_fidelity=0.0, progress=False)
    assert r.best["rule"].startswith("fewest LUT")
    doc = json.loads((out / "pareto.json").read_text())
    assert doc["best"]["project"] == "best"
    model, hw, manifest = open_project(out / "best", "verilog")
    assert manifest["options"]["dse_trial"] == r.best["trial"]
    assert str(model.graph) + "\n" == (out / "best" / "ir.txt").read_text()
    point = next(p for p in doc["pareto"] if p["trial"] == r.best["trial"])
    assert (out / "best" / "rtl").is_dir() and point["metrics"]["fidelity"] >= 0.0


def test_out_dir_is_protected(tmp_path, small_flow):
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(ConfigError, match="folder is not empty and holds no archgen search"):
        run(MLP, tmp_path, flow=small_flow, trials=1, progress=False)
    assert (tmp_path / "mine.txt").read_text() == "keep"


# -- the command --------------------------------------------------------------------------------

def test_cli(tmp_path, capsys, small_flow):
    out = tmp_path / "d"
    code = main(["dse", str(MLP), "-o", str(out), "--flow", str(small_flow), "--data",
                 str(MLP_DATA), "--trials", "2", "--emit-best"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "2 trials (2 complete, 0 failed" in cap.out and (out / "best" / "manifest.json").is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps: [{squash: {}}]")
    for argv, msg in [
        (["--flow", str(bad)], f"{bad}: step 1: unknown task 'squash'"),
        (["--data", str(tmp_path / "none.npz")], "none.npz: data file not found"),
        (["--trials", "-1"], "--trials: -1 is not a non-negative number of trials"),
    ]:
        code = main(["dse", str(MLP), "-o", str(tmp_path / "e")] + argv)
        err = capsys.readouterr().err
        assert code == 2 and msg in err and len(err.strip().splitlines()) == 1, err
    code = main(["dse", str(tmp_path / "none.onnx"), "-o", str(tmp_path / "e")])
    assert code == 2 and "none.onnx: model file not found" in capsys.readouterr().err
    assert Config().strategy == "dataflow"  # untouched defaults
    assert isinstance(ops.Dense, type)


# -- --verify-best: the final candidates measured by synthesis and RTL simulation ----------------

W1A1 = FIX / "mlp_w1a1.onnx"
W1A1_DATA = FIX / "mlp_w1a1.npz"
# channel pruning shrinks the binary MLP's layers (64 -> 13..19 rows): small to simulate and
# to synthesize, and a design that differs from the baseline (its edits must be replayed)
PRUNE_FLOW = """\
objectives: [LUT, fidelity]
steps:
  - prune: {mode: channel, fraction: {float: [0.7, 0.8]}}
"""


@pytest.fixture
def prune_flow(tmp_path):
    p = tmp_path / "prune.yaml"
    p.write_text(PRUNE_FLOW)
    return p


def _need(simulator="icarus", synth=False):
    from archgen import simulate

    why = simulate.available(simulator)
    if why:
        pytest.skip(why)
    if synth and __import__("shutil").which("yosys") is None:
        pytest.skip("yosys not found on PATH")


def _check_measured(doc, k, synth):
    """The measured blocks of the baseline and the k first points of the choice rule."""
    from archgen.dse.output import rank

    order = rank(doc["pareto"], doc["baseline"]["metrics"], None)[0]
    want = [p["trial"] for p in order[:k]]
    assert doc["verify"]["trials"] == want
    assert [p["trial"] for p in doc["pareto"] if "measured" in p] == \
        [p["trial"] for p in doc["pareto"] if p["trial"] in want]
    blocks = [doc["baseline"]] + [p for p in doc["pareto"] if p["trial"] in want]
    for p in blocks:
        m, est = p["measured"], p["metrics"]
        assert m["bit_exact"] is True and m["mismatches"] == 0 and "error" not in m, m
        assert m["frames"] == 4 and m["simulator"] == "icarus"
        # the estimate's interval is exact against simulation (README, Reports): so here
        assert m["interval_cycles"] == est["interval"]
        assert m["estimate_error_percent"]["interval"] == 0.0
        assert abs(m["latency_cycles"] - est["latency"]) <= 0.13 * m["latency_cycles"]
        assert ("LUT" in m) == synth and m["source"].endswith("icarus")
    return blocks


@pytest.mark.sim
def test_verify_best_simulation_only(tmp_path, prune_flow, capsys):
    """--verify-best 1 --no-synth through the local process pool: the baseline and the best
    point generated into DIR/verify/, simulated bit-exact in Icarus, their cycles measured."""
    _need()
    out = tmp_path / "d"
    code = main(["dse", str(W1A1), "-o", str(out), "--flow", str(prune_flow), "--data",
                 str(W1A1_DATA), "--trials", "2", "--workers", "2", "--verify-best", "1",
                 "--simulator", "icarus", "--no-synth", "--emit-best"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    doc = json.loads((out / "pareto.json").read_text())
    blocks = _check_measured(doc, 1, synth=False)
    best = doc["best"]["trial"]
    assert doc["verify"]["trials"] == [best]  # the first of the order is --emit-best's choice
    assert (out / "best" / "manifest.json").is_file()
    assert blocks[1]["metrics"]["interval"] < blocks[0]["metrics"]["interval"]  # pruned
    for p in blocks:
        proj = out / p["measured"]["project"]
        sim = json.loads((proj / "reports" / "sim.json").read_text())
        assert sim["interval_cycles"] == p["measured"]["interval_cycles"]
        assert "synth" not in json.loads((proj / "reports" / "resources.json").read_text())
    manifest = json.loads((out / "verify" / str(best) / "manifest.json").read_text())
    assert manifest["options"]["dse_edits"] == blocks[1]["design"]["edits"]
    html = (out / "pareto.html").read_text()
    assert "<h2>Measured</h2>" in html and html.count("<svg") == 2
    assert f"measured trial {best}: interval {blocks[1]['measured']['interval_cycles']}" in cap.out
    assert "measured baseline: interval 4096" in cap.out


@pytest.mark.sim
def test_verify_best_mismatch_exits_1_after_writing(tmp_path, prune_flow, capsys, monkeypatch):
    """A design whose RTL differs from its golden model (here: the golden model made wrong
    in this process) is recorded bit_exact false and makes the command exit 1, after
    pareto.json and pareto.html are written."""
    from archgen.backends.hardware import Hardware

    _need()
    right = Hardware.output_codes
    monkeypatch.setattr(Hardware, "output_codes", lambda self, codes: right(self, codes) ^ 1)
    out = tmp_path / "d"
    code = main(["dse", str(W1A1), "-o", str(out), "--flow", str(prune_flow), "--data",
                 str(W1A1_DATA), "--trials", "1", "--verify-best", "1", "--simulator", "icarus",
                 "--no-synth"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert len(err.strip().splitlines()) == 1
    assert "--verify-best: the baseline (" in err and "differs from the golden model" in err
    assert "1 more failed; measured results in" in err and "pareto.json" in err
    doc = json.loads((out / "pareto.json").read_text())
    for p in [doc["baseline"]] + [p for p in doc["pareto"] if "measured" in p]:
        assert p["measured"]["bit_exact"] is False and p["measured"]["mismatches"] != 0
        assert "differs from the golden model" in p["measured"]["error"]
    assert "<b>no</b>" in (out / "pareto.html").read_text()


@pytest.mark.synth
@pytest.mark.sim
@pytest.mark.slow
def test_verify_best_synthesis_and_resume(tmp_path, prune_flow, capsys, monkeypatch):
    """--verify-best 1 with yosys and Icarus (about 100 s of CPU cold: the baseline's and the
    pruned design's synthesis): the measured resources are `archgen report --synth`'s for
    the same project; a resumed run measures again from the synthesis cache."""
    from archgen.estimate import synth as synth_mod

    _need(synth=True)
    out = tmp_path / "d"
    argv = ["dse", str(W1A1), "-o", str(out), "--flow", str(prune_flow), "--data",
            str(W1A1_DATA), "--verify-best", "1", "--simulator", "icarus"]
    code = main(argv + ["--trials", "2"])
    assert code == 0, capsys.readouterr().err
    doc = json.loads((out / "pareto.json").read_text())
    blocks = _check_measured(doc, 1, synth=True)
    for p in blocks:
        m = p["measured"]
        assert m["source"].startswith("Yosys 0.") and "synth_xilinx" in m["source"]
        assert main(["report", str(out / m["project"]), "--synth", "--jobs", "1"]) == 0
        rep = json.loads((out / m["project"] / "reports" / "resources.json").read_text())
        assert {k: m[k] for k in rep["synth"]["total"]} == rep["synth"]["total"]
        assert rep["estimate"]["total"]["LUT"] == p["metrics"]["LUT"]  # the design scored
        assert rep["sim"]["interval_cycles"] == m["interval_cycles"]
        lut = m["estimate_error_percent"]["LUT"]
        assert lut == round(100 * (p["metrics"]["LUT"] - m["LUT"]) / m["LUT"], 1)
        assert abs(lut) <= 15.0  # the calibration target (README)
        assert (m["DSP"], m["BRAM36"], m["BRAM18"]) == \
            (p["metrics"]["DSP"], p["metrics"]["BRAM36"], p["metrics"]["BRAM18"])
    first = {p["trial"]: p["measured"] for p in blocks[1:]} | {"b": blocks[0]["measured"]}

    def no_yosys(*a, **k):
        raise AssertionError("yosys ran: the synthesis cache was not used")

    monkeypatch.setattr(synth_mod, "run_batch", no_yosys)
    code = main(argv + ["--trials", "0"])  # resume: no new trial, measure again
    assert code == 0, capsys.readouterr().err
    doc = json.loads((out / "pareto.json").read_text())
    again = {p["trial"]: p["measured"] for p in doc["pareto"] if "measured" in p}
    assert again | {"b": doc["baseline"]["measured"]} == first


def test_verify_best_needs_its_tools_before_the_search(tmp_path, small_flow, capsys,
                                                       monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no yosys, no iverilog
    out = tmp_path / "d"
    code = main(["dse", str(MLP), "-o", str(out), "--flow", str(small_flow), "--trials", "1",
                 "--verify-best", "1", "--simulator", "icarus"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("archgen: error: --verify-best: yosys not found on PATH")
    assert not out.exists()  # refused before the search
    code = main(["dse", str(MLP), "-o", str(out), "--flow", str(small_flow), "--trials", "1",
                 "--verify-best", "1", "--simulator", "icarus", "--no-synth"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("archgen: error: --verify-best: icarus: iverilog/vvp "
                                        "not found") and not out.exists(), err


@pytest.mark.parametrize("argv,msg", [
    (["--verify-best", "-1"], "--verify-best: -1 is not a non-negative number of Pareto points"),
    (["--no-synth"], "--no-synth: only with --verify-best K"),
    (["--simulator", "icarus"], "--simulator: only with --verify-best K"),
])
def test_verify_best_usage_errors(tmp_path, capsys, argv, msg):
    code = main(["dse", str(MLP), "-o", str(tmp_path / "d"), "--trials", "1"] + argv)
    err = capsys.readouterr().err
    assert code == 2 and msg in err and err.count("\n") == 1, err
    assert not (tmp_path / "d").exists()


def test_verify_folder_holds_only_search_projects(tmp_path, small_flow):
    out = tmp_path / "d"
    run(MLP, out, flow=small_flow, data=MLP_DATA, trials=1, progress=False)
    (out / "verify" / "mine").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"verify/mine: a search did not write it"):
        run(MLP, out, flow=small_flow, data=MLP_DATA, trials=1, progress=False)


def test_rank_is_the_choice_rule_then_fidelity():
    from archgen.dse.output import choose_best, rank

    def pt(trial, lut, fid, dsp=0):
        return {"trial": trial, "metrics": {"LUT": lut, "DSP": dsp, "FF": 0, "fidelity": fid}}

    pts = [pt(0, 900, 1.0), pt(1, 500, 0.995), pt(2, 400, 0.9), pt(3, 300, 0.8),
           pt(4, 450, 0.9), pt(5, 500, 0.999, dsp=1)]
    order, floor, met = rank(pts, {"fidelity": 1.0}, None)
    assert [p["trial"] for p in order] == [1, 5, 0, 2, 4, 3] and met and floor == 0.99
    assert choose_best(pts, {"fidelity": 1.0}, None)["trial"] == 1
    order, _, met = rank(pts[2:5], {"fidelity": 1.0}, None)  # none reaches the floor
    assert [p["trial"] for p in order] == [2, 4, 3] and not met
    assert choose_best(pts[2:5], {"fidelity": 1.0}, None)["trial"] == 2


def test_verify_best_interrupted_keeps_the_outputs(tmp_path, small_flow, monkeypatch):
    """Ctrl-C during the measurement: the search's outputs stay, no design is marked
    measured, and the run reports the interruption (exit 130 in the command)."""
    from archgen.dse import verify

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(verify, "check_tools", lambda simulator, synth: None)
    monkeypatch.setattr(verify, "measure_project", interrupt)
    out = tmp_path / "d"
    r = run(MLP, out, flow=small_flow, data=MLP_DATA, trials=2, progress=False, verify_best=1,
            simulator="icarus")
    assert r.interrupted and r.complete == 2 and r.measured == {}
    doc = _check_pareto(out, 2)
    assert "measured" not in doc["baseline"] and doc["verify"]["k"] == 1
    assert (out / "verify" / "baseline" / "manifest.json").is_file()


@pytest.mark.sim
def test_verify_best_on_dask(tmp_path, prune_flow):
    """The measurement on Dask workers, which see the DSE folder on the same filesystem
    (two threads of one process: the measurements take turns)."""
    distributed = pytest.importorskip("distributed")
    _need()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        r = run(W1A1, tmp_path / "d", flow=prune_flow, data=W1A1_DATA, trials=2,
                scheduler=cluster.scheduler_address, progress=False, verify_best=1,
                simulator="icarus", synth=False)
    assert list(r.measured) == ["baseline", str(r.best["trial"])]
    _check_measured(json.loads((tmp_path / "d" / "pareto.json").read_text()), 1, synth=False)
