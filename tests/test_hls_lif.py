"""C simulation of the spiking-neuron kernel (hw/hls/lif.h) through its layer header
(templates/hls/lif.h.j2): bit-exact against units/lif.golden() over a grid that mirrors the
RTL cell's (lif/if/li/cuba; leak multiply/shift/none; reset to a nonzero value, by
subtraction or none; shared, per-channel and per-neuron constants; PE 1, 2 and C; 1, 2
and many beats per step; input shifts left, none and right; narrow states that saturate;
state in registers, LUT-RAM and block RAM), two or three samples of several time steps
each (one kernel call per step, so the state carries across calls and restarts at every
sample), silent under -Wall -Wextra."""

import subprocess

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
          samples=3, frac=6, th=(None, 0.5), extremes=False, no_leak=False):
    """A lif op on a ``shape`` input of type ``xq`` with random constants (thresholds from
    ``th[0]`` (default: 0 for a subtractive reset, else a quarter of the state's low end)
    to ``th[1]`` times its high end), and random currents for ``samples`` samples of
    ``steps`` steps (steps 0: one sample of 12).  ``extremes``: the first neuron's
    threshold is the state's low end - 1 (it always spikes), the last one's the high end
    (it never does).  ``no_leak``: every multiplying decay is 2**frac (the leak vanishes)."""
    rng = np.random.default_rng(seed)
    lo, hi = state.lo, state.hi

    def decay():
        if leak == "multiply":
            return _table(rng, table, shape, 1 << frac if no_leak else 0, 1 << frac)
        if leak == "shift":  # shift counts past the state width: v - (v >> d) = v - sign
            return _table(rng, table, shape, 0, state.bits + 2)
        return _table(rng, table, shape, 0, 0)

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
    # a multiplying leak by 1 (the unit's no_leak: no multiplier), one step per sample (the
    # state never carries), shared constants on 3 lanes
    "lif_mul_noleak_steps1": lambda: _case(9, "lif", "multiply", "subtract", "shared", (2, 3), 3,
                                           Q(6, True), Q(7, True), steps=1, samples=6,
                                           th=(0.0, 0.3), no_leak=True),
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


TWO_LAYERS = """// generated by tests/test_hls_lif.py: two layers of one config, called in turn
#include <cstdio>
#include "a.h"
#include "b.h"

int main() {{
    std::FILE *fin = std::fopen("in.txt", "r");
    if (!fin) return 2;
    for (int f = 0; f < {frames}; f++) {{
        hls::stream<ap_uint<{in_w}> > ia, ib;
        hls::stream<ap_uint<{out_w}> > oa, ob;
        for (int k = 0; k < {beats}; k++) {{
            unsigned long long v = 0;
            if (std::fscanf(fin, "%llx", &v) != 1) return 3;
            ia.write(ap_uint<{in_w}>(v));
            ib.write(ap_uint<{in_w}>(v));
        }}
        a(ia, oa);
        b(ib, ob);
        for (int k = 0; k < {beats}; k++) std::printf("%llx ", oa.read().to_uint64());
        for (int k = 0; k < {beats}; k++) std::printf("%llx ", ob.read().to_uint64());
        std::printf("\\n");
    }}
    return 0;
}}
"""


def test_lif_layers_keep_their_own_state(tmp_path):
    """Two layer headers of the same op (a, b) in one program, each frame through a then b:
    both equal golden(), so neither sees the other's state or step counter."""
    from archgen import csim, simulate
    from archgen.backends import hls
    from archgen.resources import resource_dir
    from hlscell import need

    need()
    op, ins, outs, xs, frames = CASES["cuba_none_zero_chan_beat2"]()
    d = lif.derive(op, ins, outs)
    for name in ("a", "b"):
        for fname, text in hls.layer_files(name, op, ins, outs).items():
            (tmp_path / fname).write_text(text)
    beats = d["frame_beats"]
    (tmp_path / "tb.cpp").write_text(TWO_LAYERS.format(
        frames=frames, beats=beats, in_w=d["in_lanes"][0] * ins[0].quant.bits,
        out_w=d["out_lanes"][0] * outs[0].quant.bits))
    words = [simulate.to_beats(x, op.pe, ins[0].quant.bits, False) for x in xs[0]]
    (tmp_path / "in.txt").write_text(" ".join(f"{w:x}" for f in words for w in f) + "\n")
    exe, warnings = csim.build([tmp_path / "tb.cpp"], [tmp_path, resource_dir("hw") / "hls"],
                               name="tb")
    assert warnings == ""
    res = subprocess.run([str(exe)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    ys = lif.golden(op, *xs)[0]
    for f, line in enumerate(res.stdout.splitlines()):
        want = simulate.to_beats(ys[f], op.pe, outs[0].quant.bits, False)
        assert [int(v, 16) for v in line.split()] == want * 2, f"frame {f}"
    assert len(res.stdout.splitlines()) == frames
