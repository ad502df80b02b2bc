"""Stream plumbing cells the Verilog backend inserts between layers: the data-width
converter (axis_width) and the fork (axis_fork), under random stalls, with cycle figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from archgen import simulate
from cellsim import lint, rtl, run_cell, synth

pytestmark = pytest.mark.sim


# -- axis_width ----------------------------------------------------------------------------

# (in lanes, out lanes): up, down, up and down by 3, equal (a register slice)
LANES = [(1, 4), (4, 1), (2, 6), (6, 2), (3, 3)]
WIDTH_GRID = [(b, i, o) for b in (1, 5, 8) for i, o in LANES]
# frame lengths in units of lcm(in, out) elements: tlast lands on varied beats
FRAME_UNITS = (1, 3, 2, 5)


def width_frames(bits, lanes_in, lanes_out, seed):
    """(input frames, output frames) of beat words: random elements regrouped."""
    rng = np.random.default_rng(seed)
    unit = math.lcm(lanes_in, lanes_out)
    fin, fout = [], []
    for n in FRAME_UNITS:
        x = rng.integers(0, 1 << bits, size=n * unit)
        fin.append(simulate.to_beats(x, lanes_in, bits))
        fout.append(simulate.to_beats(x, lanes_out, bits))
    return fin, fout


def width_wrapper(bits, lanes_in, lanes_out) -> tuple[str, str]:
    """(module name, text) of a module fixing axis_width's parameters (for lint/synth)."""
    name = f"width_b{bits}_{lanes_in}_{lanes_out}"
    iw, ow = lanes_in * bits, lanes_out * bits
    text = f"""`default_nettype none
module {name} (
    input  wire aclk, input wire aresetn,
    input  wire [{iw - 1}:0] s_axis_tdata, input wire s_axis_tvalid,
    output wire s_axis_tready, input wire s_axis_tlast,
    output wire [{ow - 1}:0] m_axis_tdata, output wire m_axis_tvalid,
    input  wire m_axis_tready, output wire m_axis_tlast
);
    axis_width #(.BITS({bits}), .IN_LANES({lanes_in}), .OUT_LANES({lanes_out})) u (
        .aclk(aclk), .aresetn(aresetn),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid),
        .s_axis_tready(s_axis_tready), .s_axis_tlast(s_axis_tlast),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready), .m_axis_tlast(m_axis_tlast));
endmodule
`default_nettype wire
"""
    return name, text


def check_width(tmp_path, simulator, bits, lanes_in, lanes_out, stall=0.4, seed=0):
    fin, fout = width_frames(bits, lanes_in, lanes_out, seed + 31 * bits + lanes_in)
    res = run_cell(tmp_path, simulator, "axis_width", rtl("axis_width.v"), {"s_axis": fin},
                   {"m_axis": fout},
                   {"BITS": bits, "IN_LANES": lanes_in, "OUT_LANES": lanes_out},
                   stall=stall, seed=seed)
    # without stalls the narrow side moves one beat per cycle: a frame takes as many
    # cycles as it has narrow beats, and its last output beat leaves one cycle after
    # the narrow side's last beat (the measured frames are frames 0, 1, 2)
    narrow = max(len(fin[0]), len(fout[0]))
    assert res["latency_cycles"] == narrow + 1
    assert res["interval_cycles"] == max(len(fin[2]), len(fout[2]))
    return res


@pytest.mark.parametrize("bits,lanes_in,lanes_out", WIDTH_GRID)
def test_axis_width_icarus(tmp_path, bits, lanes_in, lanes_out):
    check_width(tmp_path, "icarus", bits, lanes_in, lanes_out)


@pytest.mark.parametrize("bits,lanes_in,lanes_out",
                         [(5, 2, 6), pytest.param(8, 6, 2, marks=pytest.mark.slow)])
def test_axis_width_verilator(tmp_path, bits, lanes_in, lanes_out):
    check_width(tmp_path, "verilator", bits, lanes_in, lanes_out, stall=0.5, seed=3)


@pytest.mark.parametrize("stall", [0.0, 0.8])
def test_axis_width_stall_extremes(tmp_path, stall):
    """No stalls at all, and stalls on most cycles on both sides."""
    check_width(tmp_path, "icarus", 5, 4, 1, stall=stall, seed=7)
    check_width(tmp_path / "up", "icarus", 5, 1, 4, stall=stall, seed=7)


# -- axis_fork -----------------------------------------------------------------------------

def fork_wrapper(width, n, slow=0) -> tuple[str, str]:
    """(module name, text) of a bench top around axis_fork: outputs split into m0_axis_*,
    m1_axis_*, ...; with ``slow`` > 0 the last output takes at most one beat every
    ``slow`` cycles (its tvalid/tready are gated by a free-running counter)."""
    name = f"fork_w{width}_n{n}_s{slow}"
    ports, wires = [], []
    for i in range(n):
        ports += [f"output wire [{width - 1}:0] m{i}_axis_tdata", f"output wire m{i}_axis_tvalid",
                  f"input wire m{i}_axis_tready", f"output wire m{i}_axis_tlast"]
        en = "en" if slow and i == n - 1 else "1'b1"
        wires.append(f"    assign m{i}_axis_tdata = data[{i * width} +: {width}];\n"
                     f"    assign m{i}_axis_tvalid = valid[{i}] && {en};\n"
                     f"    assign ready[{i}] = m{i}_axis_tready && {en};\n"
                     f"    assign m{i}_axis_tlast = last[{i}];\n")
    cw = max(1, math.ceil(math.log2(max(slow, 2))))
    counter = "" if not slow else f"""    reg [{cw - 1}:0] phase;
    wire en = phase == {cw}'d0;
    always @(posedge aclk) begin
        if (!aresetn || phase == {cw}'d{slow - 1}) phase <= {cw}'d0;
        else phase <= phase + {cw}'d1;
    end
"""
    sep = ",\n    "
    text = f"""`default_nettype none
module {name} (
    input wire aclk, input wire aresetn,
    input wire [{width - 1}:0] s_axis_tdata, input wire s_axis_tvalid,
    output wire s_axis_tready, input wire s_axis_tlast,
    {sep.join(ports)}
);
    wire [{n * width - 1}:0] data;
    wire [{n - 1}:0] valid, ready, last;
{counter}    axis_fork #(.WIDTH({width}), .N({n})) u (
        .aclk(aclk), .aresetn(aresetn),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid),
        .s_axis_tready(s_axis_tready), .s_axis_tlast(s_axis_tlast),
        .m_axis_tdata(data), .m_axis_tvalid(valid), .m_axis_tready(ready), .m_axis_tlast(last));
{"".join(wires)}endmodule
`default_nettype wire
"""
    return name, text


FORK_GRID = [(8, 2, 0), (13, 3, 0), (1, 3, 4), (8, 2, 3)]  # (width, outputs, slow)


def check_fork(tmp_path, simulator, width, n, slow, stall=0.4, seed=0):
    name, text = fork_wrapper(width, n, slow)
    tmp_path.mkdir(parents=True, exist_ok=True)
    top = tmp_path / f"{name}.v"
    top.write_text(text)
    rng = np.random.default_rng(seed + width + 10 * n)
    beats = (1, 7, 4, 12)
    fr = [[int(v) for v in rng.integers(0, 1 << width, size=b)] for b in beats]
    res = run_cell(tmp_path, simulator, name, (top,) + rtl("axis_fork.v"), {"s_axis": fr},
                   {f"m{i}_axis": fr for i in range(n)}, module="axis_fork",
                   stall=stall, seed=seed)
    per_beat = slow or 1  # cycles per beat without random stalls
    assert res["interval_cycles"] == per_beat * beats[2]
    if not slow:
        assert res["latency_cycles"] == beats[0] + 1
    return res


@pytest.mark.parametrize("width,n,slow", FORK_GRID)
def test_axis_fork_icarus(tmp_path, width, n, slow):
    check_fork(tmp_path, "icarus", width, n, slow)


def test_axis_fork_verilator(tmp_path):
    check_fork(tmp_path, "verilator", 13, 3, 3, stall=0.5, seed=5)


def test_axis_fork_heavy_stalls(tmp_path):
    check_fork(tmp_path, "icarus", 8, 3, 2, stall=0.8, seed=9)


# -- lint and synthesis ----------------------------------------------------------------------

def test_lint(tmp_path):
    for make, args in [(width_wrapper, WIDTH_GRID), (fork_wrapper, FORK_GRID)]:
        for a in args:
            name, text = make(*a)
            (tmp_path / f"{name}.v").write_text(text)
            cell = rtl("axis_width.v" if make is width_wrapper else "axis_fork.v")
            lint((tmp_path / f"{name}.v",) + cell, name)


def synth_ffs(tmp_path, name, text, cell) -> int:
    """Flip-flops of the synthesized wrapper; no DSP or block RAM (plain registers)."""
    (tmp_path / f"{name}.v").write_text(text)
    cells = synth((tmp_path / f"{name}.v",) + rtl(cell), name)
    assert not any(c.startswith(("DSP", "RAMB")) for c in cells), cells
    return sum(n for c, n in cells.items() if c.startswith("FD"))


@pytest.mark.synth
@pytest.mark.parametrize("lanes_in,lanes_out", [
    pytest.param(2, 6, marks=pytest.mark.slow), (6, 2)])
def test_synth_width(tmp_path, lanes_in, lanes_out):
    ffs = synth_ffs(tmp_path, *width_wrapper(8, lanes_in, lanes_out), "axis_width.v")
    # two 48-bit beat registers (up: gather + output; down: shifter + skid), their tlast
    # bits, valid flags and the beat counter
    assert 2 * 49 <= ffs <= 2 * 49 + 6


@pytest.mark.synth
def test_synth_fork(tmp_path):
    ffs = synth_ffs(tmp_path, *fork_wrapper(16, 3), "axis_fork.v")
    # one shared output beat + a skid beat (16 data + tlast each), 3 + 1 valid flags
    assert ffs == 2 * 17 + 4
