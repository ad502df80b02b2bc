"""The analytic resource model of the elementwise and selection units (thresholds, requant,
add, concat, argmax: their ``resources()``) against yosys ``synth_xilinx -family xc7`` on a
grid of configurations no fixture has: widths, lanes, table sizes on both sides of the
LUT/block-RAM boundary, products on and off DSP slices, top-k lists."""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.estimate import get_part
from archgen.estimate.resources import Cost
from archgen.estimate.synth import Job, counts, run_job, yosys_version
from archgen.ir import QuantSpec, Tensor
from archgen.resources import resource_dir
from archgen.simulate import cache_root
from archgen.units import add, argmax, concat, requant, thresholds, unit_of

pytestmark = pytest.mark.synth

Q = QuantSpec
XC7 = get_part("xc7z020")
S4, S8, S16, U6, U8 = Q(4, True), Q(8, True), Q(16, True), Q(6, False), Q(8, False)


# -- layers of any configuration ----------------------------------------------------------

def thresholds_layer(c=16, steps=7, pe=1, xq=S8, shared=False, negate=False,
                     out_bits=None, frames=4, seed=0, shifted=0):
    """Per-channel (or shared) ascending thresholds drawn over the input range; with
    ``shifted``, one row over that many codes shifted per channel by a multiple of 8 (a
    quantizer's steps after a per-channel bias: the deformable fixtures' mask)."""
    rng = np.random.default_rng(seed)
    rows = 1 if shared else c
    T = np.sort(rng.integers(xq.lo, xq.hi + 1, size=(rows, steps)), axis=1)
    if shifted:
        row = np.sort(rng.choice(np.arange(-shifted // 2, shifted // 2), steps, replace=False))
        T = row + 8 * rng.integers(-shifted // 16, shifted // 16, size=(rows, 1))
    neg = rng.integers(0, 2, size=c).astype(bool) if negate else np.zeros(c, bool)
    yq = Q(out_bits or max(1, math.ceil(math.log2(steps + 1))), False)
    op = thresholds.Params(T, neg, 0, yq, 1, pe=pe)
    return op, [Tensor("x", (frames, c), xq)], [Tensor("y", (frames, c), yq)]


def requant_layer(c=16, pe=1, xq=S16, mult_bits=12, shift=12, yq=U8,
                  shared=False, rounding="floor", frames=4, seed=0, mult=None):
    """Multipliers of ``mult_bits`` (signed, both signs), biases that make both clamps hit;
    ``mult``: every channel's multiplier (the biases still per channel unless shared)."""
    rng = np.random.default_rng(seed)
    n = 1 if shared else c
    top = (1 << (mult_bits - 1)) - 1
    m = rng.integers(top // 2 + 1, top + 1, size=n) * rng.choice([-1, 1], size=n)
    if mult is not None:
        m = np.full(n, mult)
    b = rng.integers(-(1 << (shift + 2)), 1 << (shift + 2), size=n)
    op = requant.Params(m, b, shift, yq, 1, rounding, pe=pe)
    return op, [Tensor("x", (frames, c), xq)], [Tensor("y", (frames, c), yq)]


def add_layer(c=8, pe=1, qa=S8, qb=S8, wa=3, wb=-5, za=0, zb=0, frames=4):
    ta = sorted((wa * (qa.lo - za), wa * (qa.hi - za)))
    tb = sorted((wb * (qb.lo - zb), wb * (qb.hi - zb)))
    acc = Q.for_range(ta[0] + tb[0], ta[1] + tb[1])
    op = add.Params(wa, wb, za, zb, acc, pe=pe)
    ins = [Tensor("a", (frames, c), qa), Tensor("b", (frames, c), qb)]
    return op, ins, [Tensor("y", (frames, c), acc)]


def concat_layer(specs=((8, S4), (8, U6)), pe=1, pixels=16):
    ins = [Tensor(f"x{i}", (pixels, c), q) for i, (c, q) in enumerate(specs)]
    op = concat.Params(pe=pe)
    ((shape, spec),) = op.infer(ins)
    return op, ins, [Tensor("y", shape, spec)]


def argmax_layer(n=16, pe=1, xq=S8, k=1, vectors=4):
    op = argmax.Params(True, k=k, pe=pe)
    x = Tensor("x", (vectors, n), xq)
    ((yshape, yq),) = op.infer([x])
    return op, [x], [Tensor("y", yshape, yq)]


BUILD = {"thresholds": thresholds_layer, "requant": requant_layer, "add": add_layer,
         "concat": concat_layer, "argmax": argmax_layer}


def estimate_of(op, ins, outs, part=XC7) -> Cost:
    return unit_of(op).resources(op, unit_of(op).derive(op, ins, outs), part)


def synthesize(op, ins, outs, name="layer", family="xc7") -> dict:
    """yosys's counts (resources.json keys) of the layer module, cached by content."""
    files = verilog.layer_files(name, op, ins, outs)
    with tempfile.TemporaryDirectory(prefix="archgen-est-") as tmp:
        d = Path(tmp)
        for fname, text in files.items():
            (d / fname).write_text(text)
        srcs = (d / f"{name}.v", *(resource_dir("hw") / "rtl" / c for c in unit_of(op).CELLS))
        data = tuple(d / f for f in files if f.endswith(".mem"))
        job = Job(name, name, srcs, data)
        cells = run_job(job, family, yosys_version(), cache_root() / "synth")
    return counts(cells)


def close(est: Cost, syn: dict) -> list:
    """The calibration targets the estimate misses: DSP and block RAMs equal, LUTs within
    25% (or 30 LUTs for a small layer)."""
    e = est.rounded()
    bad = [f"{k} {e[k]} != {syn[k]}" for k in ("DSP", "BRAM18", "BRAM36") if e[k] != syn[k]]
    if abs(e["LUT"] - syn["LUT"]) > max(0.25 * syn["LUT"], 30):
        bad.append(f"LUT {e['LUT']} vs {syn['LUT']}")
    return bad


# (unit, keyword arguments of its layer builder): each crosses a boundary of the model
GRID = [
    ("thresholds", dict(c=16, steps=7, pe=4)),  # a 4-word table: few distinct columns
    ("thresholds", dict(c=64, steps=15, xq=Q(12, True), pe=2)),  # logic ROM, > 600 LUTs
    ("thresholds", dict(c=1024, steps=3, frames=1)),  # the table in a RAMB36
    ("thresholds", dict(c=16, steps=7, xq=Q(16, True), shared=True)),  # constant compares
    # steps of one shape, shifted per channel, on a 16-bit input: one word read as
    # constants (PE = C; over 4 times yosys's LUTs when every compare was counted whole), and
    # a 9-word ROM with few distinct columns (PE 1)
    ("thresholds", dict(c=4, steps=31, xq=Q(16, True), pe=4, shifted=2048)),
    ("thresholds", dict(c=9, steps=63, xq=Q(16, True), shifted=4096)),
    ("requant", dict(c=16)),  # 16x12 product on one DSP, per-channel constants
    ("requant", dict(c=16, pe=4, shared=True)),  # four DSPs
    ("requant", dict(c=8, xq=Q(4, True), mult_bits=4, shift=2, yq=Q(4, False))),  # LUT product
    ("requant", dict(c=16, pe=2, mult=4)),  # one power of two per channel: a shift, no DSP
    ("add", dict(c=8, pe=4, qa=Q(6, True), qb=Q(7, False), wa=1027, wb=-77, za=-3, zb=64)),
    ("concat", dict(specs=((8, Q(4, True)), (4, Q(5, True)), (12, Q(3, False))), pe=4)),
    ("argmax", dict(n=16, pe=4, k=3)),  # sorted beat lanes merged into a top-3 list
]
SLOW_GRID = [
    ("thresholds", dict(c=9, steps=63, xq=Q(16, True), pe=9, shifted=4096)),  # deform's mask
    ("thresholds", dict(c=16, steps=31)),
    ("thresholds", dict(c=16, steps=1)),
    ("thresholds", dict(c=16, steps=7, xq=Q(16, True))),
    ("thresholds", dict(c=64, steps=15, xq=Q(12, True), pe=2, negate=True)),
    ("requant", dict(c=16, pe=2, xq=Q(20, True), mult_bits=22, shift=28)),  # 2 DSPs a lane
    ("requant", dict(c=16, mult=3)),  # a constant that is not a power of two: a DSP
    ("requant", dict(c=16, mult=-1, xq=Q(28, True), shift=10, yq=Q(16, False),
                     rounding="half_even")),  # -x: no DSP
    ("add", dict()),
    ("add", dict(pe=2, wa=1, wb=1)),
    ("concat", dict()),
    ("argmax", dict()),
    ("argmax", dict(n=32, pe=8, k=1, xq=Q(6, True))),
    ("argmax", dict(n=12, pe=1, k=4)),
]


def _check(unit, kw):
    if shutil.which("yosys") is None:
        pytest.skip("yosys not on PATH")
    op, ins, outs = BUILD[unit](**kw)
    assert close(estimate_of(op, ins, outs), synthesize(op, ins, outs)) == []


@pytest.mark.parametrize("unit,kw", GRID, ids=[f"{u}-{i}" for i, (u, _) in enumerate(GRID)])
def test_estimate_matches_yosys(unit, kw):
    _check(unit, kw)


# on UltraScale+ yosys packs no register into a DSP48E2 (``Part.dsp_packs``): x1 and the
# product register, and per channel group the constants' registers, stay in fabric
ULTRASCALE = [("requant", dict(c=16)), ("requant", dict(c=16, pe=4, shared=True))]


@pytest.mark.parametrize("unit,kw", ULTRASCALE, ids=["requant-c16", "requant-pe4-shared"])
def test_estimate_matches_yosys_on_ultrascale(unit, kw):
    if shutil.which("yosys") is None:
        pytest.skip("yosys not on PATH")
    xcup = get_part("xcvu9p")
    op, ins, outs = BUILD[unit](**kw)
    est, syn = estimate_of(op, ins, outs, xcup), synthesize(op, ins, outs, family=xcup.family)
    assert close(est, syn) == []
    assert abs(est.FF - syn["FF"]) <= 0.25 * syn["FF"], (est, syn)


@pytest.mark.slow
@pytest.mark.parametrize("unit,kw", SLOW_GRID,
                         ids=[f"{u}-{i}" for i, (u, _) in enumerate(SLOW_GRID)])
def test_estimate_matches_yosys_more(unit, kw):
    _check(unit, kw)


# -- cheap: pure, no files, sensible ------------------------------------------------------

@pytest.mark.parametrize("unit,kw", GRID + SLOW_GRID,
                         ids=[f"{u}-{i}" for i, (u, _) in enumerate(GRID + SLOW_GRID)])
def test_resources_are_pure_and_touch_no_files(monkeypatch, unit, kw):
    """resources() only reads its Params and derive() dict: it renders nothing and opens
    no file (it runs for thousands of design points), and returns the same numbers twice."""
    op, ins, outs = BUILD[unit](**kw)
    d = unit_of(op).derive(op, ins, outs)
    frozen = repr(sorted(d.items()))

    def refuse(*a, **k):
        raise AssertionError("resources() must not render or open files")

    monkeypatch.setattr("builtins.open", refuse)
    monkeypatch.setattr(Path, "read_text", refuse)
    monkeypatch.setattr(verilog, "layer_files", refuse)
    monkeypatch.setattr("archgen.backends.render.render", refuse)
    first = unit_of(op).resources(op, d, XC7)
    assert unit_of(op).resources(op, d, XC7) == first
    assert repr(sorted(d.items())) == frozen
    assert isinstance(first, Cost)
    assert all(getattr(first, k) >= 0 for k in ("LUT", "FF", "DSP", "BRAM36", "BRAM18", "CARRY4"))
    assert first.LUT > 0 and first.FF > 0


LANES = [
    ("thresholds", dict(c=64, steps=15), "pe"),  # 64..8 groups
    ("thresholds", dict(c=32, steps=255, xq=Q(9, True), shared=True), "pe"),
    ("requant", dict(c=32, shared=True), "pe"),
    ("requant", dict(c=32, xq=Q(4, True), mult_bits=4, shift=2, yq=Q(4, False)), "pe"),
    ("add", dict(c=32), "pe"),
    ("concat", dict(specs=((32, Q(4, True)), (16, Q(6, False)))), "pe"),
    ("argmax", dict(n=32, k=3), "pe"),
]


@pytest.mark.parametrize("unit,kw,axis", LANES, ids=[f"{u}-{i}" for i, (u, _, _) in enumerate(LANES)])
def test_more_lanes_never_cost_less(unit, kw, axis):
    """More PE: at least as many LUTs and flip-flops, DSP slices in proportion for a
    requantizer on DSPs.  (Not the flip-flops of a per-channel threshold table: yosys
    keeps one read flip-flop per distinct bit column, and fewer groups (more PE) leave
    fewer possible columns: at most 2**groups - 2.)"""
    prev = None
    table = unit == "thresholds" and not kw.get("shared")
    for pe in (1, 2, 4, 8):
        cost = estimate_of(*BUILD[unit](**kw, pe=pe))
        if prev is not None:
            assert cost.LUT >= prev.LUT and (table or cost.FF >= prev.FF), (pe, cost, prev)
        prev = cost
    if unit == "requant" and estimate_of(*BUILD[unit](**kw, pe=1)).DSP:
        assert prev.DSP == 8 * estimate_of(*BUILD[unit](**kw, pe=1)).DSP


def test_tables_cross_from_logic_to_block_ram():
    """A per-channel threshold table goes to block RAM once it is deep and large enough,
    and a requantizer's product leaves the DSPs when it is narrower than yosys's rule."""
    small = estimate_of(*thresholds_layer(c=64, steps=3))
    deep = estimate_of(*thresholds_layer(c=2048, steps=3, frames=1))
    assert small.BRAM18 + small.BRAM36 == 0 and deep.BRAM18 + deep.BRAM36 > 0
    wide = estimate_of(*requant_layer(c=8, xq=Q(16, True), mult_bits=12))
    narrow = estimate_of(*requant_layer(c=8, xq=Q(4, True), mult_bits=4, shift=2, yq=Q(4, False)))
    assert wide.DSP == 1 and narrow.DSP == 0 and narrow.LUT > 0
    same = estimate_of(*requant_layer(c=8, mult=8))  # per-channel rows, one multiplier
    assert same.DSP == 0 and estimate_of(*requant_layer(c=8, mult=5)).DSP == 1
