"""Running one hardware cell's cocotb bench from pytest (skips when a tool is missing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archgen import simulate
from archgen.resources import resource_dir

SIMULATORS = ("verilator", "icarus")


def need(simulator: str) -> None:
    why = simulate.available(simulator)
    if why:
        pytest.skip(why)


def rtl(*names) -> tuple:
    return tuple(resource_dir("hw") / "rtl" / n for n in names)


def run_cell(tmp_path: Path, simulator: str, toplevel: str, sources, inputs: dict, outputs: dict,
             parameters: dict | None = None, module: str | None = None, **kw) -> dict:
    """Run sim/cells/test_<module or toplevel>.py on ``toplevel`` built from ``sources``."""
    need(simulator)
    bench = simulate.Bench(tuple(sources), toplevel, "test_" + (module or toplevel),
                           resource_dir("sim") / "cells", tuple(sorted((parameters or {}).items())))
    res = simulate.run_streams(bench, simulator, tmp_path, inputs, outputs,
                               log=tmp_path / "sim.log", **kw)
    assert res["mismatch"] is None, f"{toplevel}: {res['mismatch']} (log: {tmp_path}/sim.log)"
    return res


def xilinx_models() -> Path:
    """yosys's simulation models of the Xilinx primitives, in its share folder next to its
    binary (skips without yosys): with SYNTHESIS defined, a cell's primitive netlist
    (hw/rtl/add3.v) simulates against them."""
    import shutil

    exe = shutil.which("yosys")
    if exe is None:
        pytest.skip("yosys not found (its Xilinx cell models are needed)")
    path = Path(exe).resolve().parent.parent / "share" / "yosys" / "xilinx" / "cells_sim.v"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


def run_unit(tmp_path: Path, simulator: str, op, ins, outs, xs, frames: int = 3,
             rom_bits: int | None = None, netlist: bool = False, **kw) -> dict:
    """Render ``op``'s layer module (as the Verilog backend does), stream ``xs`` (one int64
    array of codes per input, batch first) through it and compare with the unit's golden().

    ``ins``/``outs``: the IR Tensors on its streams; ``netlist``: the cells' Xilinx
    primitive netlists (SYNTHESIS defined, yosys's models of the primitives).  Returns the
    bench result."""
    import numpy as np

    from archgen.backends import verilog
    from archgen.units import unit_of

    need(simulator)
    unit = unit_of(op)
    ys = unit.golden(op, *xs)
    d = unit.derive(op, ins, outs)
    files = verilog.layer_files("dut", op, ins, outs,
                                **({} if rom_bits is None else {"rom_bits": rom_bits}))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    sources = (tmp_path / "dut.v",) + rtl(*unit.CELLS) + ((xilinx_models(),) if netlist else ())

    def port_frames(arrays, tensors, lanes):
        out = []
        for a, t, ln in zip(arrays, tensors, lanes):
            a = np.asarray(a)
            out.append([simulate.to_beats(a[b], ln, t.quant.bits, t.quant.bipolar)
                        for b in range(min(frames, len(a)))])
        return out

    def names(prefix, n):
        return [f"{prefix}_axis"] if n == 1 else [f"{prefix}{i}_axis" for i in range(n)]

    fin = port_frames(xs, ins, d["in_lanes"])
    fout = port_frames(ys, outs, d["out_lanes"])
    res = simulate.run_streams(
        simulate.Bench(sources, "dut", "test_" + op.kind(), resource_dir("sim") / "cells",
                       defines=(("SYNTHESIS", "1"),) if netlist else ()),
        simulator, tmp_path, dict(zip(names("s", len(ins)), fin)),
        dict(zip(names("m", len(outs)), fout)), log=tmp_path / "sim.log", **kw)
    assert res["mismatch"] is None, f"{op.kind()}: {res['mismatch']} (see {tmp_path})"
    return res


def lint(sources, top: str, cwd: Path | None = None) -> None:
    """``verilator --lint-only -Wall`` must print nothing (waivers live in the cells, each
    with a comment saying why)."""
    import subprocess

    need("verilator")
    env = {**__import__("os").environ, **simulate.tool_env("verilator")}
    out = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", top,
                          *map(str, sources)], capture_output=True, text=True, env=env, cwd=cwd)
    msgs = (out.stdout + out.stderr).strip()
    assert out.returncode == 0 and "%Warning" not in msgs and "%Error" not in msgs, msgs


def need_yosys() -> None:
    import shutil

    if shutil.which("yosys") is None:
        pytest.skip("yosys not found (Debian: apt-get install yosys)")


def synth(sources, top: str, cwd: Path | None = None) -> dict:
    """``yosys synth_xilinx`` of ``top``: must finish with no latch; returns cell counts."""
    import re
    import subprocess

    need_yosys()
    reads = " ".join(f"read_verilog {s};" for s in sources)
    script = f"{reads} synth_xilinx -top {top} -flatten; stat"
    out = subprocess.run(["yosys", "-q", "-p", script, "-l", "/dev/stdout"], capture_output=True,
                         text=True, cwd=cwd)
    assert out.returncode == 0, out.stderr[-2000:] + out.stdout[-2000:]
    stat = out.stdout.split("Number of cells")[-1]
    cells = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\S+)\s+(\d+)$", stat, re.M)}
    latches = {c: n for c, n in cells.items() if re.fullmatch(r"LD[CP]E?|\$_?DLATCH.*|\$dlatch", c)}
    assert not latches, f"{top}: latches inferred: {latches}"
    return cells
