"""Vitis HLS backend: one header per layer (a config struct and a one-frame function that
calls a hand-written kernel of hw/hls/), a DATAFLOW top function, a C testbench and
build_prj.tcl.

``files(model)`` renders the folder ``hls/`` of the project:

- ``hls/firmware/``: ``<top>.cpp``/``<top>.h`` (the top function: AXI4-Stream ports, one
  call per layer, forks and width converters where the plan has them), ``axis_io.h`` (the
  AXI4-Stream boundary), every layer header and the kernel headers of hw/hls/ they include
  (copied: the folder is self-contained);
- ``hls/tb/tb.cpp`` and ``hls/tb/tb_data/{inputs,expected}.txt``: a C testbench and the same
  random frames the Verilog backend writes to sim/vectors.json, as hex beat words;
- ``hls/build_prj.tcl`` (csim, csynth, cosim, export) and ``hls/README.md``.
"""

from __future__ import annotations

import math
import re

from ..errors import InternalError, UnsupportedOpError
from ..units import unit_of
from .render import render

FOLDER = "hls"
# C++ names the top function must not take: the testbench's main, the namespaces used
CXX_TAKEN = frozenset({"main", "hls", "std", "archgen", "ap_int", "ap_uint"})
AP_INT_DEFAULT_W = 1024  # ap_int's widest type unless AP_INT_MAX_W says otherwise
STREAM_DEPTH = 2  # depth of a stream without a FIFO in the plan (Vitis HLS's default)
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
_CONST = re.compile(r"\bstatic\s+const\s+int\s+(\w+)\s*=\s*(\d+)\s*;")
_AP_WIDTH = re.compile(r"\bap_u?int<\s*(\w+)\s*>")


def layer_files(name: str, op, ins, outs) -> dict:
    """{file name: text} of the layer header ``<name>.h``: ``templates/hls/<kind>.h.j2``
    rendered with ``name`` and the unit's context().  The header defines
    ``void <name>(hls::stream<ap_uint<IN_W> > &in0, ..., hls::stream<ap_uint<OUT_W> > &out0)``
    processing one frame; streams carry the same beat words as the RTL's."""
    from ..resources import resource_dir

    template = f"hls/{op.kind()}.h.j2"
    if not (resource_dir("templates") / template).is_file():
        raise UnsupportedOpError(f"layer {name}: the HLS backend has no kernel for unit "
                                 f"{op.kind()!r} in this version (templates/{template} is "
                                 "missing); use --backend verilog")
    ctx = unit_of(op).context(op, list(ins), list(outs))
    return {f"{name}.h": render(template, name=name, **ctx)}


def kernel_dir():
    from ..resources import resource_dir

    return resource_dir("hw") / "hls"


def top_name(hw) -> str:
    """The top function's name: the plan's top unless a C++ or file name clashes."""
    kernels = {p.name for p in kernel_dir().glob("*.h")} | {"axis_io.h"}
    name = hw.top
    while name in CXX_TAKEN or f"{name}.h" in kernels:
        name += "_top"
    return name


# -- the top function ----------------------------------------------------------------------

def top_context(hw, func: str) -> dict:
    """Streams and calls of the top function: boundary adapters, layers, forks, width
    converters, in an order that is also a valid sequential schedule for C simulation
    (every producer before its consumers, one frame per call)."""
    streams, calls = [], []
    tag = {s.tensor: f"t{i}" for i, s in enumerate(hw.streams)}
    by_source = {s.source: s for s in hw.streams}
    sink_stream = {}  # (layer, index) -> the stream variable feeding it

    def stream(name, width, depth=STREAM_DEPTH, comment=""):
        streams.append({"name": name, "width": width, "depth": depth, "comment": comment})
        return name

    def call(func_name, targs, args, comment=""):
        calls.append({"func": func_name, "targs": [str(a) for a in targs], "args": list(args),
                      "comment": comment})

    def distribute(s):
        """The fork, FIFOs and width converters between stream ``s`` and its sinks."""
        base = tag[s.tensor]
        width = s.lanes * s.bits
        beats = hw.graph.tensors[s.tensor].size // s.lanes
        branches = [base]
        if len(s.sinks) > 1:
            branches = [stream(f"{base}_b{i}", width, k.fifo or STREAM_DEPTH,
                               f"branch {i} of {base}" + (f": FIFO of {k.fifo} beats" if k.fifo
                                                           else ""))
                        for i, k in enumerate(s.sinks)]
            call(*fork_call(width, beats, base, branches))
        for i, (k, cur) in enumerate(zip(s.sinks, branches)):
            lanes = s.lanes
            for j, target in enumerate(width_steps(lanes, k.lanes)):
                nxt = stream(f"{base}_w{i}_{j}", target * s.bits,
                             comment=f"{lanes} -> {target} lanes")
                call(*width_call(s.bits, lanes, target, beats * s.lanes, cur, nxt))
                cur, lanes = nxt, target
            sink_stream[(k.layer, k.index)] = cur

    def depth(s):
        """The plan's FIFO depth when a single-sink stream has one (forked branches get
        theirs in ``distribute``), else the default."""
        return s.sinks[0].fifo if len(s.sinks) == 1 and s.sinks[0].fifo else STREAM_DEPTH

    first = by_source[None]
    stream(tag[first.tensor], first.lanes * first.bits, depth(first),
           f"{first.tensor}: input")
    call("archgen::axis_read", [f"{func}_io::IN_W", f"{func}_io::IN_BUS", f"{func}_io::IN_BEATS"],
         ["s_axis", tag[first.tensor]], "AXI4-Stream in -> beat words")
    distribute(first)
    for ly in hw.layers:
        out = ly.node.outputs[0]
        s = next(st for st in hw.streams if st.tensor == out)
        stream(tag[out], s.lanes * s.bits, depth(s), out)
        args = [sink_stream[(ly.name, k)] for k in range(len(ly.node.inputs))] + [tag[out]]
        call(ly.module, [], args, f"{ly.name}: {ly.node.op.summary()}")
        distribute(s)
    call("archgen::axis_write", [f"{func}_io::OUT_W", f"{func}_io::OUT_BUS",
                                 f"{func}_io::OUT_BEATS"],
         [sink_stream[(None, 0)], "m_axis"], "beat words -> AXI4-Stream out")
    need_streams = any(c["func"].startswith(("archgen::fork", "archgen::width")) for c in calls)
    return {"func": func, "streams": streams, "calls": calls, "need_streams": need_streams,
            "layer_headers": [f"{ly.module}.h" for ly in hw.layers]}


def width_steps(lanes: int, target: int) -> list:
    """Lane counts of the width converters from ``lanes`` to ``target`` (none when equal;
    through the gcd when neither divides the other), as the Verilog backend chains them."""
    if lanes == target:
        return []
    if target % lanes == 0 or lanes % target == 0:
        return [target]
    return [math.gcd(lanes, target), target]


def fork_call(width: int, beats: int, src: str, branches: list) -> tuple:
    """(function, template arguments, arguments) of the fork copying ``src`` to ``branches``."""
    return "archgen::fork", [width, len(branches), beats], [src, *branches]


def width_call(bits: int, in_lanes: int, out_lanes: int, elements: int, src: str,
               dst: str) -> tuple:
    """(function, template arguments, arguments) of one width converter."""
    return "archgen::width", [bits, in_lanes, out_lanes, elements], [src, dst]


# -- files ---------------------------------------------------------------------------------

def kernel_files(texts) -> dict:
    """{file name: text} of the hw/hls headers that ``texts`` include, transitively."""
    kdir = kernel_dir()
    out, todo = {}, list(texts)
    while todo:
        for name in _INCLUDE.findall(todo.pop()):
            p = kdir / name
            if name not in out and p.is_file():
                out[name] = p.read_text()
                todo.append(out[name])
    return out


def ap_int_max_w(hw, headers) -> int:
    """AP_INT_MAX_W the design needs: 0 when every ap_int fits ap_types' default 1024 bits,
    else its widest word rounded up to 1024.  The words: the streams, the ports and the
    ap_(u)int<N> of the layer ``headers`` (N a number or one of the header's static const
    ints, e.g. a weight word of PE x SIMD weights)."""
    widest = max([s.lanes * s.bits for s in hw.streams] + [hw.input.bus_width,
                                                              hw.output.bus_width])
    for text in headers:
        consts = {k: int(v) for k, v in _CONST.findall(text)}
        for w in _AP_WIDTH.findall(text):
            widest = max(widest, int(w) if w.isdigit() else consts.get(w, 0))
    return 0 if widest <= AP_INT_DEFAULT_W else -(-widest // 1024) * 1024


def firmware_files(hw, model_name: str) -> dict:
    """{file name: text} of hls/firmware/."""
    func = top_name(hw)
    files = {}
    for ly in hw.layers:
        files.update(layer_files(ly.module, ly.node.op, list(ly.ins), list(ly.outs)))
    ctx = {**top_context(hw, func), "model": model_name, "input": hw.input.to_json(),
           "output": hw.output.to_json(), "input_width": hw.input.width,
           "output_width": hw.output.width, "ap_int_max_w": ap_int_max_w(hw, files.values())}
    files[f"{func}.h"] = render("hls/top.h.j2", **ctx)
    files[f"{func}.cpp"] = render("hls/top.cpp.j2", **ctx)
    files["axis_io.h"] = render("hls/axis_io.h.j2")
    for name, text in kernel_files(list(files.values())).items():
        if name in files:  # a layer header named like a kernel header: top_name prevents it
            raise InternalError(f"hls firmware: {name} is both a layer and a kernel header")
        files[name] = text
    return files


def frames_text(frames) -> str:
    """Beat words of frames as hex, one frame per line (tb/tb_data format)."""
    return "".join(" ".join(f"{w:x}" for w in f) + "\n" for f in frames)


def files(model) -> dict:
    """Every file of the HLS backend, by path in the project folder."""
    from .verilog import layer_table, random_codes, vectors

    hw = model.hardware()
    func = top_name(hw)
    fw = firmware_files(hw, model.path.name)
    out = {f"{FOLDER}/firmware/{k}": v for k, v in fw.items()}
    vec = vectors(hw, random_codes(hw))
    ctx = {"func": func, "model": model.path.name, "input": hw.input.to_json(),
           "output": hw.output.to_json(), "part": model.config.part,
           "clock_mhz": model.config.clock_mhz, "period_ns": f"{1000.0 / model.config.clock_mhz:.3f}",
           "layers": layer_table(hw), "frames": len(vec["inputs"]["s_axis"]),
           "headers": sorted(k for k in fw if k.endswith(".h"))}
    out[f"{FOLDER}/tb/tb.cpp"] = render("hls/tb.cpp.j2", **ctx)
    out[f"{FOLDER}/tb/tb_data/inputs.txt"] = frames_text(vec["inputs"]["s_axis"])
    out[f"{FOLDER}/tb/tb_data/expected.txt"] = frames_text(vec["outputs"]["m_axis"])
    out[f"{FOLDER}/build_prj.tcl"] = render("hls/build_prj.tcl.j2", **ctx)
    out[f"{FOLDER}/README.md"] = render("hls/README.md.j2", **ctx)
    return out
