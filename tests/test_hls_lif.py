"""C simulation of the spiking-neuron kernel (hw/hls/lif.h) through its layer header
(templates/hls/lif.h.j2): bit-exact against units/lif.golden() over a grid that mirrors the
RTL cell's (lif/if/li/cuba; leak multiply/shift/none; reset to a nonzero value, by
subtraction or none; shared, per-channel and per-neuron constants; PE 1, 2 and C; 1, 2
and many beats per step; input shifts left, none and right; narrow states that saturate;
state in registers, LUT-RAM and block RAM), two or three samples of several time steps
each (one kernel call per step, so the state carries across calls and restarts at every
sample), silent under -Wall -Wextra."""

import numpy as np
import pytest

from archgen.ir import QuantSpec, Tensor
from archgen.units import lif
from hlscell import run_kernel

Q = QuantSpec


def _table(rng, kind, shape, lo, hi):
    """Random int64 constants in [lo, hi]: one for every neuron ("shared"), one per channel
    (last axis) or one per neuron."""
    size = {"shared": (), "channel": shape[-1:], "neuron": shape}[kind]
    return rng.integers(lo, hi + 1, size=size)


def _case(seed, model, leak, reset, table, shape, pe, xq, state, in_shift=0, steps=4,
          samples=3, frac=6, th=(None, 0.5), extremes=False):
    """A lif op on a ``shape`` input of type ``xq`` with random constants (thresholds from
    ``th[0]`` (default: 0 for a subtractive reset, else a quarter of the state's low end)
    to ``th[1]`` times its high end), and random currents for ``samples`` samples of
    ``steps`` steps (steps 0: one sample of 12).  ``extremes``: the first neuron's
    threshold is the state's low end - 1 (it always spikes), the last one's the high end
    (it never does)."""
    rng = np.random.default_rng(seed)
    lo, hi = state.lo, state.hi
    if leak == "multiply":
        decay = lambda: _table(rng, table, shape, 0, 1 << frac)  # noqa: E731
    elif leak == "shift":  # shift counts past the state width: v - (v >> d) = v - sign
        decay = lambda: _table(rng, table, shape, 0, state.bits + 2)  # noqa: E731
    else:
        decay = lambda: _table(rng, table, shape, 0, 0)  # noqa: E731
    if th[0] is not None:
        th_lo = int(hi * th[0])
    else:  # a subtractive reset keeps v - threshold in the state's range
        th_lo = 0 if reset == "subtract" else lo // 4
    threshold = _table(rng, table, shape, th_lo, int(hi * th[1]))
    if extremes:
        threshold.reshape(-1)[[0, -1]] = lo - 1, hi
    op = lif.Params(model, state, decay=decay(),
                    bias=_table(rng, table, shape, lo // 16, hi // 16),
                    threshold=threshold,
                    reset_value=_table(rng, table, shape, lo // 4, hi // 4),
                    decay_syn=decay() if model == "cuba" else None, leak=leak,
                    decay_bits=frac if leak == "multiply" else 0, reset=reset,
                    in_shift=in_shift, steps=steps, pe=pe)
    x = Tensor("x", shape, xq)
    (yshape, yq), = op.infer([x])
    frames = (steps or 12) * samples
    if xq.bipolar:
        xs = rng.choice([-1, 1], size=(frames,) + shape).astype(np.int64)
    else:
        xs = rng.integers(xq.lo, xq.hi + 1, size=(frames,) + shape)
    return op, [x], [Tensor("y", yshape, yq)], [xs], frames


CASES = {
    # per-channel LIF, 2 lanes, 6 beats, a left shift: spikes and resets to nonzero values;
    # thresholds from the state's low end - 1 (13 bits) to its high end
    "lif_mul_zero_chan_pe2": lambda: _case(1, "lif", "multiply", "zero", "channel", (3, 4), 2,
                                           Q(6, True), Q(12, True), in_shift=2, extremes=True),
    # shared IF, 1 lane, 5 beats, unsigned currents, a narrow state that saturates
    "if_none_sub_shared_pe1": lambda: _case(2, "if", "none", "subtract", "shared", (5,), 1,
                                            Q(5, False), Q(6, True), steps=5, samples=2,
                                            th=(0.7, 1.0)),
    # per-neuron LI, PE = C (2 beats), a right shift, saturating at a range narrower than its type
    "li_shift_neuron_peC": lambda: _case(3, "li", "shift", "none", "neuron", (2, 4), 4,
                                         Q(10, True), Q(10, True, lo=-300, hi=280),
                                         in_shift=-1),
    # one beat per step (state in registers), per-channel with PE = C (one row, not shared),
    # bipolar inputs shifted left, no reset
    "lif_shift_none_beat1": lambda: _case(4, "lif", "shift", "none", "channel", (4,), 4,
                                          QuantSpec.bipolar_spec(), Q(5, True), in_shift=3,
                                          steps=5),
    # CubaLIF per neuron, 1 lane, subtractive reset, the multiply leak
    "cuba_mul_sub_neuron_pe1": lambda: _case(5, "cuba", "multiply", "subtract", "neuron",
                                             (6,), 1, Q(7, True), Q(9, True), steps=3),
    # CubaLIF shared, 2 lanes, 32 beats (LUT-RAM), a right shift, reset to a value
    "cuba_shift_zero_shared_many": lambda: _case(6, "cuba", "shift", "zero", "shared",
                                                 (8, 8), 2, Q(10, True), Q(8, True),
                                                 in_shift=-2, steps=3, samples=2),
    # two beats per step, per-channel CubaLIF without a leak, one endless sample (steps 0)
    "cuba_none_zero_chan_beat2": lambda: _case(7, "cuba", "none", "zero", "channel", (4,), 2,
                                               Q(4, True), Q(7, True), steps=0, samples=1),
    # 1024 beats of 2 x 10-bit state: block RAM; per-channel LI with a multiply leak
    "li_mul_chan_bram": lambda: _case(8, "li", "multiply", "none", "channel", (32, 64), 2,
                                      Q(6, True), Q(10, True), in_shift=1, steps=2, samples=2,
                                      frac=4),
}


def _geometry(name):
    op, ins, outs, _, _ = CASES[name]()
    d = lif.derive(op, ins, outs)
    return d["frame_beats"], d["shared"], d["rows"]


def test_grid_covers_the_geometries():
    """The grid reaches what the brief asks: 1, 2 and many beats; shared and table rows;
    the state storages (one beat: registers; over 64 beats and 18 Kb: block RAM)."""
    geo = {name: _geometry(name) for name in CASES}
    assert {b for b, _, _ in geo.values()} >= {1, 2, 5, 32, 1024}
    assert any(s for _, s, _ in geo.values()) and any(r > 1 for _, _, r in geo.values())
    assert geo["lif_shift_none_beat1"][1:] == (False, 1)


@pytest.mark.parametrize("name", list(CASES))
def test_lif_csim(tmp_path, name):
    op, ins, outs, xs, frames = CASES[name]()
    ys = lif.golden(op, *xs)[0]
    if op.model != "li":  # the data exercise what the case is about
        assert 0 < ys.mean() < 1, "no spikes, or spikes everywhere"
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=frames) == ""
