"""lif layer (hw/rtl/lif.v) against units/lif.golden(): LIF, IF, LI and CubaLIF; leak by
multiply, shift or none (also a multiply by 1.0); reset to zero (and a nonzero value), by
subtraction or none; shared, per-channel and per-neuron constants; 1, 2 and many beats per
time step; input shifts left, none and right; narrow states that saturate; several samples
of several steps, under random stalls."""

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.ir import QuantSpec, Tensor
from archgen.units import lif
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

Q = QuantSpec  # short: the cases are tables of specs


def _const(rng, table, shape, lo, hi):
    """Random constants in [lo, hi]: one shared value, one per channel or one per neuron."""
    size = {"shared": (1,), "channel": shape[-1:], "neuron": shape}[table]
    return rng.integers(lo, hi + 1, size=size)


def _case(seed, shape, pe, xq, model="lif", leak="multiply", reset="zero", table="channel",
          state=None, frac=6, in_shift=0, steps=4, samples=2, reset_value=False,
          bias=(-40, 40), thr=(200, 900), x_mean=0.3, saturate=False, identity=False, checks=True,
          thr_edges=False):
    """A neuron layer on (samples * steps,) + shape currents (signed currents drawn around
    ``x_mean`` times their top code, so some neurons spike and some go negative)."""
    rng = np.random.default_rng(seed)
    state = state or Q(12, True)
    lo = state.lo
    if leak == "multiply":
        dr = (1 << frac, 1 << frac) if identity else (1 << (frac - 1), 1 << frac)
    elif leak == "shift":
        dr = (0, state.bits + 1)  # shifts past the state width too
    else:
        dr = (0, 0)
    decay = _const(rng, table, shape, *dr)
    dsyn = _const(rng, table, shape, *dr) if model == "cuba" else None
    rv = _const(rng, table, shape, lo // 4, thr[0] // 2) if reset_value else np.zeros(1, np.int64)
    bias_ = _const(rng, table, shape, *bias)
    threshold = _const(rng, table, shape, *thr)
    if thr_edges:  # the state's low end - 1 (always spikes) and its high end (never)
        threshold.reshape(-1)[[0, -1]] = lo - 1, state.hi
    op = lif.Params(model, state, decay=decay, bias=bias_,
                    threshold=threshold, reset_value=rv,
                    decay_syn=dsyn, leak=leak, decay_bits=frac, reset=reset,
                    in_shift=in_shift, steps=steps, pe=pe)
    frames = samples * (steps or 3)
    if xq.bipolar:
        x = rng.choice([-1, 1], size=(frames,) + shape).astype(np.int64)
    else:
        span = xq.hi - xq.lo
        x = np.clip(np.round(rng.normal(xq.lo + span * (0.5 + x_mean / 2), span / 3,
                                        size=(frames,) + shape)), xq.lo, xq.hi).astype(np.int64)
    y = lif.golden(op, x)[0]
    if checks:  # the data exercises the model: spikes and silence, saturation, rounding
        assert not op.spiking or 0 < y.mean() < 1, f"case {seed}: spike rate {y.mean()}"
        wide = lif.golden(_with_state(op, Q(40, True)), x)[0]
        assert bool((wide != y).any()) == saturate, f"case {seed}: saturation {not saturate}"
        assert (not identity) or lif.derive(op, [Tensor("x", shape, xq)], [])["no_leak"]
        if leak == "multiply" and not identity and steps != 1:  # the rounding shows
            assert bool((_floor_golden(op, x) != y).any()), f"case {seed}: rounding unseen"
    out = Q(1, False) if op.spiking else state
    return op, [Tensor("x", shape, xq)], [Tensor("y", shape, out)], [x], frames


def _floor_golden(op, x):
    """golden() with the multiplying leak rounded down instead of half up."""
    from unittest import mock

    def floor_leak(v, mode, d, bits):
        return (v * d) >> bits if mode == "multiply" else v

    with mock.patch.object(lif, "leak", floor_leak):
        return lif.golden(op, x)[0]


def _with_state(op, state):
    from dataclasses import replace

    return replace(op, state=state)


CASES = {
    # LIF, multiplying leak, per channel, 2 lanes, 6 beats of 2 rows, x << 2
    "lif_mul_pc_pe2": lambda: _case(1, (3, 4), 2, Q(8, True), state=Q(9, True), frac=5,
                                    thr=(20, 120), bias=(-8, 8), in_shift=-1, samples=3),
    # IF (no leak), subtractive reset, shared constants, 1 lane, 5 beats
    "if_sub_shared_pe1": lambda: _case(2, (5,), 1, Q(8, True), model="if", leak="none",
                                       reset="subtract", table="shared", in_shift=1, steps=5),
    # LI (output v), shift leak, per neuron, PE = C, 2 beats, x >> 1, saturating both ways
    "li_shift_pn_fb2": lambda: _case(3, (2, 4), 4, Q(10, True), model="li", leak="shift",
                                     table="neuron", state=Q(8, True), in_shift=-1,
                                     steps=3, saturate=True),
    # one beat per step (the state is a register), nonzero reset values, stalls
    "lif_fb1_reset_value": lambda: _case(22, (6,), 6, Q(8, True), state=Q(9, True), frac=5,
                                         thr=(20, 120), bias=(-8, 8), reset_value=True,
                                         in_shift=-1, steps=6, samples=4),
    # CubaLIF, multiplying leaks, subtractive reset, per channel, 2 beats
    "cuba_mul_sub_fb2": lambda: _case(23, (4,), 2, Q(8, True), model="cuba", reset="subtract",
                                      state=Q(9, True), frac=5, thr=(20, 120), bias=(-8, 8),
                                      in_shift=-2, steps=6, samples=4),
    # CubaLIF, shift leaks, per neuron, 1 lane, 12 beats, x >> 2, nonzero reset values,
    # thresholds at both ends of the state range (13 bits), slow leaks that saturate
    "cuba_shift_pn_pe1": lambda: _case(6, (3, 4), 1, Q(12, True), model="cuba", leak="shift",
                                       table="neuron", in_shift=-2, reset_value=True, steps=3,
                                       thr=(300, 900), thr_edges=True, saturate=True),
    # a narrow state that saturates, unsigned input, no reset (v stays above threshold)
    "lif_sat_u5_noreset": lambda: _case(27, (4, 3), 3, Q(5, False), reset="none", frac=4,
                                        state=Q(6, True), bias=(-45, 10), thr=(5, 25),
                                        steps=5, in_shift=1, x_mean=0, saturate=True,
                                        samples=3),
    # LI, narrow state saturating both ways, per channel, 1 lane, 2 beats
    "li_sat_fb2_pe1": lambda: _case(8, (2,), 1, Q(6, True), model="li", state=Q(5, True),
                                    frac=3, bias=(-6, 6), steps=5, saturate=True),
    # multiplying leak with every decay 1.0: the identity, no multiplier
    "lif_identity": lambda: _case(9, (4, 2), 2, Q(6, True), identity=True, in_shift=3, steps=3),
    # IF with bipolar inputs, x << 3, 32 beats (4 lanes, per channel: 2 rows)
    "if_bipolar_fb32": lambda: _case(10, (4, 4, 8), 4, QuantSpec.bipolar_spec(), model="if",
                                     leak="none", state=Q(8, True), in_shift=3, bias=(-3, 3),
                                     thr=(6, 20), steps=3),
    # one step per sample: every frame starts from zero; thresholds at both ends
    "lif_steps1": lambda: _case(11, (3, 2), 2, Q(10, True), in_shift=0, steps=1, samples=4,
                                thr=(0, 300), thr_edges=True),
}
VERILATOR = ("lif_mul_pc_pe2", "cuba_shift_pn_pe1")


def _params():
    out = [pytest.param("icarus", n, id=f"icarus-{n}") for n in CASES]
    # one Verilator build in the default tier (each costs ~20 s); the other in test-all
    return out + [pytest.param("verilator", n, id=f"verilator-{n}",
                               marks=[pytest.mark.slow] if i else [])
                  for i, n in enumerate(VERILATOR)]


@pytest.mark.parametrize("simulator,name", _params())
def test_lif(tmp_path, simulator, name):
    op, ins, outs, xs, frames = CASES[name]()
    d = lif.derive(op, ins, outs)
    # the measurement frames must be whole samples: the bench streams them first
    warm = op.steps * -(-2 // op.steps)
    res = run_unit(tmp_path, simulator, op, ins, outs, xs, frames=frames, warmup=warm)
    assert res["interval_cycles"] == d["cycles"] == d["frame_beats"]  # one beat per cycle
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]


def test_lif_one_endless_sample(tmp_path):
    """steps = 0: the state starts at zero after reset only (no measurement frames)."""
    op, ins, outs, xs, frames = _case(1, (3, 4), 2, Q(8, True), state=Q(9, True), frac=5,
                                      thr=(20, 120), bias=(-8, 8), in_shift=-1, steps=0,
                                      samples=3)
    run_unit(tmp_path, "icarus", op, ins, outs, xs, frames=frames, warmup=0)


def test_lif_lint(tmp_path):
    for name, make in CASES.items():
        op, ins, outs, _, _ = make()
        work = tmp_path / name
        work.mkdir()
        for fname, text in verilog.layer_files("dut", op, ins, outs).items():
            (work / fname).write_text(text)
        lint([work / "dut.v", *rtl(*lif.CELLS)], "dut", cwd=work)


def _synth(tmp_path, op, ins, outs):
    for fname, text in verilog.layer_files("dut", op, ins, outs).items():
        (tmp_path / fname).write_text(text)
    return synth([tmp_path / "dut.v", *rtl(*lif.CELLS)], "dut", cwd=tmp_path)


@pytest.mark.synth
def test_lif_synth(tmp_path, capsys):
    # per-channel LIF, 2 lanes, 64 channels x 16 positions: 512 beats of state (block RAM)
    op, ins, outs, _, _ = _case(13, (16, 64), 2, Q(12, True), state=Q(16, True), frac=8,
                                thr=(2000, 9000), bias=(-300, 300), in_shift=3, checks=False)
    (tmp_path / "lif").mkdir()
    cells = _synth(tmp_path / "lif", op, ins, outs)
    with capsys.disabled():
        print(f"\nlif synth (per channel, pe 2, 512 beats): {cells}")
    assert cells.get("DSP48E1", 0) == 2  # the leak multiplier of each lane
    assert cells.get("RAMB18E1", 0) + cells.get("RAMB36E1", 0) >= 1  # the state memory
    # a multiplying leak by 1.0 has no multiplier at all
    op, ins, outs, _, _ = _case(9, (4, 2), 2, Q(6, True), identity=True, in_shift=3, steps=3)
    (tmp_path / "ident").mkdir()
    cells = _synth(tmp_path / "ident", op, ins, outs)
    assert "DSP48E1" not in cells and not any(c.startswith("$") for c in cells), cells


# -- the hardware form (pure Python) --------------------------------------------------------

def _op(**kw):
    base = dict(model="lif", state=Q(8, True), decay=np.array([32]), bias=np.array([0]),
                threshold=np.array([50]), reset_value=np.array([0]), decay_bits=5)
    return lif.Params(**{**base, **kw})


def test_threshold_may_be_one_below_the_state():
    x = Tensor("x", (4,), Q(6, True))
    d = lif.derive(_op(threshold=np.array([-129, 3, 4, 127])), [x], [])
    assert d["threshold_bits"] == 9 and d["state_bits"] == 8


@pytest.mark.parametrize("kw,msg", [
    (dict(threshold=np.array([128])), r"thresholds \[128, 128\] outside"),
    (dict(threshold=np.array([-3]), reset="subtract"), "negative threshold -3"),
    (dict(reset_value=np.array([200])), r"reset values \[200, 200\] outside"),
    (dict(decay=np.array([33])), r"decays \[33, 33\] outside \[0, 32\]"),
])
def test_constants_the_state_cannot_hold(kw, msg):
    x = Tensor("x", (4,), Q(6, True))
    with pytest.raises(InternalError, match=msg):
        lif.derive(_op(**kw), [x], [])
