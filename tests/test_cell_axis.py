"""AXI-Stream infrastructure cells: FIFO and skid buffer under random stalls."""

import random

import pytest

from cellsim import rtl, run_cell

pytestmark = pytest.mark.sim


def frames(width, n_frames, beats, seed):
    rng = random.Random(seed)
    return [[rng.getrandbits(width) for _ in range(beats)] for _ in range(n_frames)]


# every configuration in Icarus (a cheap build); one in Verilator too (a build costs ~20 s)
FIFOS = [(8, 2, 5), (13, 16, 40), (64, 4, 1)]
SKIDS = [(1, 7), (37, 30)]


def grid(configs, verilator):
    return [("icarus", *c) for c in configs] + [("verilator", *verilator)]


@pytest.mark.parametrize("simulator,width,depth,beats", grid(FIFOS, FIFOS[1]))
def test_axis_fifo(tmp_path, simulator, width, depth, beats):
    fr = frames(width, 4, beats, width + depth)
    res = run_cell(tmp_path, simulator, "axis_fifo", rtl("axis_fifo.v"), {"s_axis": fr},
                   {"m_axis": fr}, {"WIDTH": width, "DEPTH": depth}, stall=0.4)
    assert res["interval_cycles"] == beats  # one beat per cycle without stalls


@pytest.mark.parametrize("simulator,width,beats", grid(SKIDS, SKIDS[1]))
def test_axis_skid(tmp_path, simulator, width, beats):
    fr = frames(width, 4, beats, width)
    res = run_cell(tmp_path, simulator, "axis_skid", rtl("axis_skid.v"), {"s_axis": fr},
                   {"m_axis": fr}, {"WIDTH": width}, stall=0.5)
    assert res["interval_cycles"] == beats
    assert res["latency_cycles"] == beats + 1
