"""passes/fold.py with a target frame rate: every layer meets the cycle budget with the
(pe, simd) of least cost by the units' own resource models, checked here by brute force
over all divisor pairs; configured foldings win; the choice is deterministic.  Pure
Python (folding changes no golden output, so nothing is simulated)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from conftest import fixture_path

import archgen
from archgen.backends.hardware import plan
from archgen.config import load_config
from archgen.errors import ConfigError
from archgen.estimate import estimate, get_part, glue
from archgen.frontend import load_model
from archgen.passes import run_pipeline
from archgen.units import mvu, pool, requant, swg, thresholds, unit_of, vvu

PART = "xc7z020"
CLOCK = 100.0
CASES = [("cnn_w4a4", 10_000.0), ("cnn_w4a4", 40_000.0), ("mlp_w2a2", 100_000.0),
         ("mlp_w2a2", 1_000_000.0)]
FOLDED = (mvu.Params, vvu.Params, pool.Params)


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def _unfolded(name, fps):
    """The graph fold() receives (every pass before it), and the config."""
    cfg = load_config(None, target_fps=fps, clock_mhz=CLOCK, part=PART)
    return run_pipeline(load_model(fixture_path(name), cfg), cfg, until="fuse_requant"), cfg


def _cost(node, g, part, **lanes):
    unit = unit_of(node.op)
    op = replace(node.op, **lanes)
    ins = [g.tensors[i] for i in node.inputs]
    outs = [g.tensors[o] for o in node.outputs]
    d = unit.derive(op, ins, outs)
    c = unit.resources(op, d, part)
    return d, (c.LUT / part.LUT + c.FF / part.FF + c.DSP / part.DSP
               + (c.BRAM36 + c.BRAM18 / 2) / part.BRAM36)


def _choices(node, g):
    """Every (pe, simd) of a layer, with its window generator (if a convolution)."""
    x = g.tensors[node.inputs[0]]
    win = g.producer(node.inputs[0])
    win = win if win is not None and isinstance(win.op, swg.Params) else None
    if isinstance(node.op, mvu.Params):
        n, k = node.op.weight.shape
        simds = _divisors(g.tensors[win.inputs[0]].shape[-1] if win else k)
        return [(p, s) for p in _divisors(n) for s in simds], win
    c = node.op.weight.shape[0] if isinstance(node.op, vvu.Params) else x.shape[-1]
    return [(p, 1) for p in _divisors(c)], win


def _stream_lanes(model) -> dict:
    """tensor -> lanes of the stream carrying it in the folded model, for the streams that
    hardware layers produce (through reshapes): from the hardware plan."""
    hw = plan(model.graph)
    lanes = {o: n for ly in hw.layers for o, n in zip(ly.node.outputs, ly.hw["out_lanes"])}
    for n in model.graph.nodes:
        if type(n.op).__name__ in ("Reshape", "Relabel") and n.inputs[0] in lanes:
            lanes[n.outputs[0]] = lanes[n.inputs[0]]
    return lanes


def _brute_force(node, g, part, up=None):
    """{(pe, simd): (cycles, cost)} over all pairs: the unit, its window generator at the
    unit's simd (a depthwise unit's pe), the thresholds/requant units after it (at the
    unit's pe, reduced to their channels; through reshapes), and a width converter from
    ``up`` lanes (the stream feeding it; None: the input port) to what it reads."""
    pairs, win = _choices(node, g)
    out = {}
    for pe, simd in pairs:
        lanes = {"pe": pe, "simd": simd} if not isinstance(node.op, pool.Params) else {"pe": pe}
        d, cost = _cost(node, g, part, **lanes)
        reads = simd if isinstance(node.op, mvu.Params) else pe
        if up is not None and up != reads:
            q = g.tensors[(win or node).inputs[0]].quant
            c = glue.width_converter(q.bits, up, reads)
            cost += (c.LUT / part.LUT + c.FF / part.FF + c.DSP / part.DSP
                     + (c.BRAM36 + c.BRAM18 / 2) / part.BRAM36)
        if win is not None:
            cost += _cost(win, g, part, simd=pe if isinstance(node.op, vvu.Params) else simd)[1]
        stack = [(node.outputs[0], pe)]
        while stack:
            t, ln = stack.pop()
            for c in g.consumers(t):
                if len(c.inputs) != 1:
                    continue
                if type(c.op).__name__ in ("Reshape", "Relabel"):
                    stack.append((c.outputs[0], ln))
                elif isinstance(c.op, (thresholds.Params, requant.Params)):
                    k = math.gcd(ln, g.tensors[t].shape[-1])
                    cost += _cost(c, g, part, pe=k)[1]
                    stack.append((c.outputs[0], k))
        out[(pe, simd)] = (d["cycles"], cost)
    return out


def _simd_first(costs, budget):
    """The old rule: SIMD raised through its divisors first, then PE."""
    pes = sorted({p for p, _ in costs})
    simds = sorted({s for _, s in costs})
    pi = si = 0
    while costs[(pes[pi], simds[si])][0] > budget:
        if si + 1 < len(simds):
            si += 1
        elif pi + 1 < len(pes):
            pi += 1
        else:
            break
    return pes[pi], simds[si]


@pytest.mark.parametrize("name,fps", CASES)
def test_each_layer_meets_the_budget_at_the_least_cost(name, fps):
    g0, cfg = _unfolded(name, fps)
    m = archgen.load(fixture_path(name), cfg)
    part = get_part(PART)
    budget = CLOCK * 1e6 / fps
    folded = {n.name: n.op for n in m.graph.nodes}
    stream = _stream_lanes(m)
    old = {}
    for node in g0.nodes:
        if not isinstance(node.op, FOLDED):
            continue
        win = g0.producer(node.inputs[0])
        feed = win.inputs[0] if win is not None and isinstance(win.op, swg.Params) else node.inputs[0]
        costs = _brute_force(node, g0, part, stream.get(feed))
        assert min(cyc for cyc, _ in costs.values()) <= budget  # the cases are reachable
        op = folded[node.name]
        chosen = (op.pe, op.simd) if isinstance(op, mvu.Params) else (op.pe, 1)
        cycles, cost = costs[chosen]
        assert cycles <= budget, node.name
        best = min(c for cyc, c in costs.values() if cyc <= budget)
        assert cost == pytest.approx(best, rel=1e-12), (node.name, chosen)
        old[node.name] = _simd_first(costs, budget)
    # the old SIMD-first folding, configured layer by layer, costs no fewer LUTs in total
    layers = {k: {"pe": p, "simd": s} if isinstance(folded[k], mvu.Params) else {"pe": p}
              for k, (p, s) in old.items()}
    m_old = archgen.load(fixture_path(name), target_fps=fps, clock_mhz=CLOCK, part=PART,
                         layers=layers)
    new_est, old_est = (estimate(plan(x.graph), part) for x in (m, m_old))
    assert new_est.total.LUT <= old_est.total.LUT
    assert new_est.interval <= budget and old_est.interval <= budget


def test_an_unreachable_target_balances_to_the_slowest_layer():
    fps = 10_000_000.0  # 10 cycles per frame: no convolution gets there
    g0, cfg = _unfolded("cnn_w4a4", fps)
    m = archgen.load(fixture_path("cnn_w4a4"), cfg)
    part = get_part(PART)
    layers = [n for n in g0.nodes if isinstance(n.op, FOLDED)]
    costs = {n.name: _brute_force(n, g0, part) for n in layers}
    budget = max(min(cyc for cyc, _ in c.values()) for c in costs.values())
    assert budget > CLOCK * 1e6 / fps
    for n in m.graph.nodes:
        if n.name in costs:
            chosen = (n.op.pe, n.op.simd) if isinstance(n.op, mvu.Params) else (n.op.pe, 1)
            c = costs[n.name]
            assert c[chosen][0] <= budget
            assert c[chosen][1] == pytest.approx(min(v for cyc, v in c.values() if cyc <= budget),
                                                 rel=1e-12)
    assert estimate(plan(m.graph), part).interval == budget


def test_without_a_target_everything_is_fully_folded():
    m = archgen.load(fixture_path("cnn_w4a4"))
    ops = [n.op for n in m.graph.nodes if isinstance(n.op, FOLDED)]
    assert ops and all((op.pe, getattr(op, "simd", 1)) == (1, 1) for op in ops)


def test_configured_layers_win_over_the_target():
    layers = {"node_conv2d_1": {"pe": 2, "simd": 4}, "node_conv2d_3": {"pe": 4}}
    m = archgen.load(fixture_path("cnn_w4a4"), target_fps=10_000.0, clock_mhz=CLOCK, part=PART,
                     layers=layers)
    ops = {n.name: n.op for n in m.graph.nodes}
    assert (ops["node_conv2d_1"].pe, ops["node_conv2d_1"].simd) == (2, 4)
    assert ops["node_conv2d_1_swg"].simd == 4  # the window generator follows its convolution
    assert ops["node_conv2d_3"].pe == 4 and ops["node_conv2d_3_swg"].simd == 4


@pytest.mark.parametrize("layer,msg", [
    ({"node_conv2d_1": {"pe": 3}},
     r"layers\.node_conv2d_1\.pe: 3 does not divide the 8 outputs \(divisors: 1, 2, 4, 8\)"),
    ({"node_conv2d_1": {"simd": 3}},
     r"layers\.node_conv2d_1\.simd: 3 does not divide the 8 input channels"),
    ({"node_conv2d_3": {"pe": 2, "simd": 2}},
     r"layers\.node_conv2d_3\.simd: 2: this layer folds by pe only"),
])
def test_bad_configured_folding_is_a_config_error_naming_the_layer(layer, msg):
    with pytest.raises(ConfigError, match=msg):
        archgen.load(fixture_path("cnn_w4a4"), target_fps=10_000.0, clock_mhz=CLOCK, part=PART,
                     layers=layer)


def test_folding_is_deterministic():
    def lanes():
        m = archgen.load(fixture_path("cnn_w4a4"), target_fps=40_000.0, clock_mhz=CLOCK,
                         part=PART)
        return [(n.name, getattr(n.op, "pe", None), getattr(n.op, "simd", None))
                for n in m.graph.nodes]

    assert lanes() == lanes()
