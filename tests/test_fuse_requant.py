"""passes/fuse_requant.py: the floor-linear fit of a requantizer's step function and the
latency strategy's cmvm + requantizer fusion (exact on every reachable accumulator)."""

import numpy as np
import pytest

from archgen.ir.types import QuantSpec
from archgen.passes.fuse_requant import csd_digits, fit_floor_linear
from archgen.units import requant, thresholds


def check(y, a0, lo, hi):
    got = fit_floor_linear(y, a0, lo, hi)
    assert got is not None
    m, b, s = got
    a = np.arange(a0, a0 + len(y), dtype=np.int64)
    assert np.array_equal(np.clip((a * m + b) >> s, lo, hi), y)
    return m, b, s


@pytest.mark.parametrize("seed", range(12))
def test_fit_reproduces_multiply_shift_requantizers(seed):
    """A requant unit's (M, B, shift, rounding) output over a whole accumulator range is
    reproduced exactly, by a multiplier with no more digits than the original's."""
    rng = np.random.default_rng(seed)
    bits = int(rng.integers(2, 9))
    signed = bool(rng.integers(0, 2))
    spec = QuantSpec(bits=bits, signed=signed, scale=(1.0,))
    mult = int(rng.integers(1, 1 << 18)) * (1 if rng.integers(0, 4) else -1)
    shift = int(rng.integers(8, 24))
    bias = int(rng.integers(-(1 << shift + 4), 1 << shift + 4))
    rounding = ("floor", "half_even")[seed % 2]
    p = requant.Params(np.array([mult]), np.array([bias]), shift, spec, 0, rounding)
    a0 = int(rng.integers(-40000, 0))
    acc = np.arange(a0, int(rng.integers(1, 40000)), dtype=np.int64)
    y = requant.golden(p, acc[:, None])[0][:, 0]
    m, _, _ = check(y, a0, spec.lo, spec.hi)
    assert (m > 0) == (mult > 0) or len(np.unique(y)) == 1
    assert csd_digits(abs(m)) <= max(csd_digits(abs(mult)), 1)


@pytest.mark.parametrize("negate", [False, True])
def test_fit_reproduces_uniform_thresholds(negate):
    """Thresholds evenly spaced (a batch norm's affine step) with a negated channel: a
    non-increasing function, so M < 0."""
    step, start = 37, -500
    t = np.array([[start + step * k for k in range(15)]])
    spec = QuantSpec(bits=4, signed=False, scale=(1.0,))
    p = thresholds.Params(t, np.array([negate]), 0, spec, 0)
    acc = np.arange(-3000, 3000, dtype=np.int64)
    y = thresholds.golden(p, acc[:, None])[0][:, 0]
    m, _, _ = check(y, -3000, 0, 15)
    assert (m < 0) == negate


def test_fit_constant_and_two_levels():
    check(np.full(1000, 3), -200, 0, 7)  # never leaves one level
    y = np.where(np.arange(-50, 80) >= 13, 1, -1)  # a sign: one threshold
    m, b, s = check(y, -50, -1, 1)
    assert csd_digits(m) == 1


def test_fit_rejects_what_no_floor_linear_function_is():
    assert fit_floor_linear(np.array([0, 1, 2, 1, 2]), 0, 0, 3) is None  # not monotone
    # steps of 1, 1, 1, then 50 wide: no constant slope reaches them
    y = np.concatenate([[0, 1, 2], np.full(50, 3), [4]])
    assert fit_floor_linear(y, 0, 0, 7) is None


# -- the pass on whole models -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mlp_w6a6", "mlp_w2a2"])
def test_latency_strategy_folds_every_requantizer_into_its_cmvm(name):
    """strategy latency on the jet-tagging MLP (multiply-shift requantizers and a 63-step
    threshold table) and on a 2-bit MLP (two-threshold tables): every requantizer behind a
    cmvm is gone, the graph computes exactly what the unfused one does (stored inputs and
    wide random ones), and the estimate has no DSP."""
    from pathlib import Path

    import archgen
    from archgen import golden
    from archgen.backends.hardware import plan
    from archgen.estimate.model import estimate
    from archgen.estimate.parts import get_part
    from archgen.passes import PIPELINE, run_pipeline

    fix = Path(__file__).parent / "fixtures"
    model = archgen.load(fix / f"{name}.onnx", strategy="latency")
    kinds = [n.op.kind() for n in model.graph.nodes]
    assert "requant" not in kinds and "thresholds" not in kinds, kinds
    fused = [n.op for n in model.graph.nodes if n.op.kind() == "cmvm" and n.op.out_spec]
    assert len(fused) == 3
    unfused = run_pipeline(model.source, model.config, until="lower")
    assert any(n.op.kind() in ("requant", "thresholds") for n in unfused.nodes)
    x = np.load(fix / f"{name}.npz")["x"]
    rng = np.random.default_rng(3)
    wide = (rng.normal(size=(256,) + x.shape[1:]) * 3 * x.std()).astype(np.float32)
    for xs in (x, wide):
        assert np.array_equal(golden.run(model.graph, xs)[0], golden.run(unfused, xs)[0])
    est = estimate(plan(model.graph), get_part("xcvu9p"))
    assert est.total.DSP == 0
    names = [p.__name__ for p in PIPELINE]
    assert names.index("fuse_requant") == names.index("lower") + 1
    # the first cmvm reads the input port through its register, the others read the
    # previous cmvm's output register directly: one stage fewer each
    cm = [ly for ly in plan(model.graph).layers if ly.node.op.kind() == "cmvm"]
    assert [ly.hw["in_register"] for ly in cm] == [True, False, False, False]
    for ly in cm:
        levels, depth = ly.hw["levels"], ly.hw["depth"]
        assert ly.hw["pipeline_cycles"] == int(ly.hw["in_register"]) + -(-levels // depth)


def test_second_pair_level_where_it_saves_luts():
    """Each cmvm takes a second pair level (its pairs over pairs shared from 2 rows, or
    from 3) exactly where that lowers its estimated LUTs most at no more pipeline
    registers: on the jet MLP at latency_depth 5 three layers do and the latency stays 9
    cycles; at depth 1, where two levels would need a register between them, none does."""
    import dataclasses
    from pathlib import Path

    import archgen
    from archgen.backends.hardware import plan
    from archgen.units import cmvm

    jet = Path(__file__).parent / "fixtures" / "mlp_w6a6.onnx"
    for depth in (5, 1):
        model = archgen.load(jet, strategy="latency", latency_depth=depth)
        cm = [ly for ly in plan(model.graph).layers if ly.node.op.kind() == "cmvm"]
        for ly in cm:
            op = ly.node.op
            if depth == 1:
                assert op.cse_levels == 1
                continue
            cost = {}
            for lv, m2 in ((1, 2), (2, 2), (2, 3)):
                p = dataclasses.replace(op, cse_levels=lv, cse_min2=m2)
                d = cmvm.derive(p, list(ly.ins), list(ly.outs))
                cost[lv, m2] = (d["stages"], cmvm.resources(p, d, None).LUT)
            ok = [c for c in cost if cost[c][0] <= cost[1, 2][0]]
            assert (op.cse_levels, op.cse_min2) == min(ok, key=lambda c: cost[c][1]), cost
        if depth == 5:
            assert [ly.node.op.cse_levels for ly in cm] == [2, 2, 2, 1]
            assert sum(ly.hw["pipeline_cycles"] for ly in cm) + 1 == 9


def test_input_register_stays_with_a_zero_point():
    """A cmvm whose input has a zero point subtracts it in its input register, even when a
    unit feeds it; without a zero point the register goes."""
    from archgen.ir.graph import Graph, Node, Tensor
    from archgen.passes.fuse_requant import _drop_input_registers
    from archgen.units import cmvm

    w = np.array([[1, -2], [3, 1]])
    u4, i6 = QuantSpec(bits=4, signed=False), QuantSpec(bits=6, signed=True)
    for zp, kept in ((0, False), (3, True)):
        a = cmvm.Params(w, 0, i6)
        b = cmvm.Params(w, zp, i6)
        ts = {"x": Tensor("x", (2,), i6), "h": Tensor("h", (2,), u4),
              "y": Tensor("y", (2,), QuantSpec.for_range(-40, 40))}
        g = Graph(name="g", nodes=(Node("a", a, ("x",), ("h",)), Node("b", b, ("h",), ("y",))),
                  tensors=ts, inputs=("x",), outputs=("y",))
        got = {n.name: n.op.in_register for n in _drop_input_registers(g).nodes}
        assert got == {"a": True, "b": kept}
