"""Verilog backend: one module per layer (a template wiring a hand-written cell), a top
level joining them by AXI4-Stream, weight memories, and the simulation/project files."""

from __future__ import annotations

from ..units import unit_of
from .render import render

ROM_BITS = 1 << 16  # weight memories larger than this become $readmemh ROM files


def mem_text(words, bits: int) -> str:
    """A $readmemh file: one word per line, hex, zero-padded to the word width."""
    digits = max(1, (bits + 3) // 4)
    mask = (1 << bits) - 1
    return "".join(f"{int(w) & mask:0{digits}x}\n" for w in words)


def layer_files(name: str, op, ins, outs, rom_bits: int = ROM_BITS) -> dict:
    """{file name: text} of the layer module ``name`` for unit params ``op``.

    ``ins``/``outs`` are the IR Tensors on the unit's streams.  A unit's context may hold
    ``mems``: {key: (word_bits, [words])}; each memory larger than ``rom_bits`` is written
    to ``<name>_<key>.mem`` and the template gets ``<key>_file`` set to that name (an
    empty string: the words go into the module as a constant)."""
    unit = unit_of(op)
    ctx = unit.context(op, ins, outs)
    files = {}
    for key, (bits, words) in ctx.get("mems", {}).items():
        fname = ""
        if bits * len(words) > rom_bits:
            fname = f"{name}_{key}.mem"
            files[fname] = mem_text(words, bits)
        ctx[f"{key}_file"] = fname
    files[f"{name}.v"] = render(f"verilog/{op.kind()}.v.j2", name=name, **ctx)
    return files


def cells(op) -> tuple:
    """The hw/rtl files the unit's layer module instantiates."""
    return unit_of(op).CELLS


# -- top level -----------------------------------------------------------------------------

INFRA_CELLS = ("axis_fifo.v", "axis_fork.v", "axis_width.v")


def _conn(prefix: str, wire: str, tlast_in: bool) -> list:
    """Port connections of one stream (tlast only where the port has it)."""
    out = [(f"{prefix}_tdata", f"{wire}_tdata"), (f"{prefix}_tvalid", f"{wire}_tvalid"),
           (f"{prefix}_tready", f"{wire}_tready")]
    if tlast_in:
        out.append((f"{prefix}_tlast", f"{wire}_tlast"))
    return out


def top_context(hw) -> dict:
    """Wires and instances of the top module: layers, forks, FIFOs and width converters."""
    import math

    wires, insts, cells, fifos = [], [], set(), []
    tag = {s.tensor: f"t{i}" for i, s in enumerate(hw.streams)}

    def wire(name, width, comment=""):
        wires.append({"name": name, "width": width, "comment": comment})
        return name

    def infra(module, name, params, ins, outs):
        cells.add(module + ".v")
        conns = []
        for prefix, w in ins:
            conns += _conn(prefix, w, True)
        for prefix, w in outs:
            conns += _conn(prefix, w, True)
        insts.append({"module": module, "name": name, "params": params, "conns": conns})

    sink_wire = {}  # (layer, index) -> wire feeding it
    for s in hw.streams:
        base = tag[s.tensor]
        width = s.lanes * s.bits
        src = wire(base, width, s.tensor)
        branches = [src]
        if len(s.sinks) > 1:
            branches = [wire(f"{base}_b{i}", width) for i in range(len(s.sinks))]
            cells.add("axis_fork.v")
            conns = _conn("s_axis", src, True) + [
                ("m_axis_tdata", "{" + ", ".join(f"{b}_tdata" for b in reversed(branches)) + "}"),
                ("m_axis_tvalid", "{" + ", ".join(f"{b}_tvalid" for b in reversed(branches)) + "}"),
                ("m_axis_tready", "{" + ", ".join(f"{b}_tready" for b in reversed(branches)) + "}"),
                ("m_axis_tlast", "{" + ", ".join(f"{b}_tlast" for b in reversed(branches)) + "}")]
            insts.append({"module": "axis_fork", "name": f"{base}_fork",
                          "params": [("WIDTH", width), ("N", len(s.sinks))], "conns": conns})
        for i, (k, w) in enumerate(zip(s.sinks, branches)):
            cur, lanes = w, s.lanes
            if k.fifo:
                nxt = wire(f"{base}_q{i}", width)
                infra("axis_fifo", f"{base}_fifo{i}", [("WIDTH", width), ("DEPTH", k.fifo)],
                      [("s_axis", cur)], [("m_axis", nxt)])
                fifos.append({"instance": f"{base}_fifo{i}", "layer": k.layer, "index": k.index,
                              "depth": k.fifo})
                cur = nxt
            steps = [k.lanes] if k.lanes % lanes == 0 or lanes % k.lanes == 0 else \
                [math.gcd(lanes, k.lanes), k.lanes]
            for j, target in enumerate(steps if k.lanes != lanes else []):
                nxt = wire(f"{base}_w{i}_{j}", target * s.bits)
                infra("axis_width", f"{base}_width{i}_{j}",
                      [("BITS", s.bits), ("IN_LANES", lanes), ("OUT_LANES", target)],
                      [("s_axis", cur)], [("m_axis", nxt)])
                cur, lanes = nxt, target
            sink_wire[(k.layer, k.index)] = cur
    for ly in hw.layers:
        conns = []
        multi = len(ly.node.inputs) > 1
        for k in range(len(ly.node.inputs)):
            conns += _conn(f"s{k}_axis" if multi else "s_axis", sink_wire[(ly.name, k)], False)
        out_wire = tag[ly.node.outputs[0]]
        conns += _conn("m_axis", out_wire, False) + [("m_axis_tlast", f"{out_wire}_tlast")]
        insts.append({"module": ly.module, "name": "u_" + ly.name, "params": [], "conns": conns})
    return {"top": hw.top, "wires": wires, "instances": insts,
            "in_wire": tag[hw.input.tensor], "out_wire": sink_wire[(None, 0)],
            "in_width": hw.input.width, "in_bus": hw.input.bus_width,
            "out_width": hw.output.width, "out_bus": hw.output.bus_width,
            "input": hw.input.to_json(), "output": hw.output.to_json(),
            "infra_cells": sorted(cells), "fifos": fifos}


def rtl_files(hw, rom_bits: int = ROM_BITS) -> dict:
    """{file name: text} of the accelerator's rtl/ folder (cells copied in)."""
    from ..resources import resource_dir

    files = {}
    needed = set()
    for ly in hw.layers:
        for name, text in layer_files(ly.module, ly.node.op, list(ly.ins), list(ly.outs),
                                      rom_bits).items():
            files[name] = text
        needed.update(cells(ly.node.op))
    ctx = top_context(hw)
    needed.update(ctx["infra_cells"])
    files[f"{hw.top}.v"] = render("verilog/top.v.j2", **ctx)
    rtl = resource_dir("hw") / "rtl"
    for c in sorted(needed):
        files[c] = (rtl / c).read_text()
    return files


# -- the project folder ---------------------------------------------------------------------

VECTOR_FRAMES = 4  # test vectors written for the folder's own bench
VECTOR_SEED = 2024


def vectors(hw, codes) -> dict:
    """The bench description (sim/cells/harness.py format) for input codes (frames first)."""
    from ..simulate import to_beats

    expected = hw.output_codes(codes)
    fin = [to_beats(c, hw.input.lanes, hw.input.bits, hw.input.bipolar) for c in codes]
    fout = [to_beats(c, hw.output.lanes, hw.output.bits, hw.output.bipolar) for c in expected]
    return {"inputs": {"s_axis": fin}, "outputs": {"m_axis": fout}}


def random_codes(hw, frames: int = VECTOR_FRAMES, seed: int = VECTOR_SEED):
    """Random input codes of ``frames`` frames (whole samples of a spiking model)."""
    import numpy as np

    from ..ir.types import QuantSpec
    from ..spiking import steps_of

    steps = steps_of(hw.graph)
    frames = steps * -(-frames // steps) if steps else frames

    t = hw.graph.tensors[hw.input.tensor]
    q: QuantSpec = t.quant
    rng = np.random.default_rng(seed)
    if q.bipolar:
        return rng.choice(np.array([-1, 1], dtype=np.int64), size=(frames,) + t.shape)
    return rng.integers(q.lo, q.hi + 1, size=(frames,) + t.shape, dtype=np.int64)


def files(model) -> dict:
    """Every file of the Verilog backend, by path in the project folder."""
    from ..project import json_text
    from ..resources import resource_dir
    from ..spiking import steps_of, warmup

    hw = model.hardware()
    out = {f"rtl/{k}": v for k, v in rtl_files(hw).items()}
    rtl = sorted(k[4:] for k in out if k.endswith(".v"))
    mems = sorted(k[4:] for k in out if k.endswith(".mem"))
    bench = {"clock_ns": round(1000.0 / model.config.clock_mhz, 6), "seed": 1, "stall": 0.3,
             "warmup": warmup(steps_of(hw.graph)), "timeout_cycles": 1_000_000,
             **vectors(hw, random_codes(hw))}
    out["sim/vectors.json"] = json_text(bench)
    out["sim/harness.py"] = (resource_dir("sim") / "cells" / "harness.py").read_text()
    out["sim/test_accelerator.py"] = (resource_dir("sim") / "test_accelerator.py").read_text()
    ctx = {"top": hw.top, "rtl": rtl, "mems": mems, "input": hw.input.to_json(),
           "output": hw.output.to_json(), "model": model.path.name, "part": model.config.part,
           "clock_mhz": model.config.clock_mhz, "layers": layer_table(hw),
           "period_ns": f"{1000.0 / model.config.clock_mhz:.3f}"}
    out["sim/run.py"] = render("project/run_sim.py.j2", **ctx)
    out[f"{hw.top}.core"] = render("project/fusesoc.core.j2", **ctx)
    out["vivado/create_project.tcl"] = render("project/vivado_ip.tcl.j2", **ctx)
    out["vivado/clock.xdc"] = render("project/clock.xdc.j2", **ctx)
    out["README.md"] = render("project/README.md.j2", **ctx)
    out["hardware.json"] = json_text({"top": hw.top, "input": hw.input.to_json(),
                                      "output": hw.output.to_json(), "layers": layer_table(hw)})
    return out


def layer_table(hw) -> list:
    """Per layer: name, unit, module, lanes and the unit's cycle figure when it has one."""
    rows = []
    for ly in hw.layers:
        rows.append({"name": ly.name, "unit": ly.node.op.kind(), "module": ly.module,
                     "summary": ly.node.op.summary(), "in_lanes": ly.hw["in_lanes"],
                     "out_lanes": ly.hw["out_lanes"], "cycles": ly.hw.get("cycles")})
    return rows
