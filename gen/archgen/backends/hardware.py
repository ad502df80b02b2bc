"""The hardware part of a lowered graph as streams: layers, their ports and lanes, the
edges between them, and the FIFO depths that keep forked branches from deadlocking.

Both backends and the simulators read this plan; nothing here changes the graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import golden
from ..errors import ConfigError, UnsupportedOpError
from ..ir import Graph
from ..ir.graph import Node, Tensor, sanitize
from ..passes.lower import WIRE_OPS, partition
from ..units import dswg, mvu, swg, unit_of

FIFO_SLACK = 8  # beats of extra depth on every branch FIFO (pipeline registers in flight)


@dataclass(frozen=True)
class Port:
    """A stream at the boundary of the accelerator."""

    tensor: str
    shape: tuple  # per frame, channels last
    lanes: int
    bits: int  # element bits (1 for bipolar)
    signed: bool
    bipolar: bool

    @property
    def width(self) -> int:
        return self.lanes * self.bits

    @property
    def bus_width(self) -> int:
        """tdata width on the top level: whole bytes, as AXI4-Stream requires."""
        return 8 * math.ceil(self.width / 8)

    @property
    def beats(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) // self.lanes

    def to_json(self) -> dict:
        return {"tensor": self.tensor, "shape": list(self.shape), "lanes": self.lanes,
                "bits": self.bits, "signed": self.signed, "bipolar": self.bipolar,
                "tdata_bits": self.bus_width, "beats_per_frame": self.beats}


@dataclass(frozen=True)
class Layer:
    node: Node
    module: str  # Verilog module / HLS function name
    ins: tuple  # Tensors on its input streams
    outs: tuple
    hw: dict  # the unit's derive(): widths, lanes, cycles

    @property
    def name(self) -> str:
        return self.node.name


@dataclass(frozen=True)
class Sink:
    """One consumer of a stream: a layer input (layer, index) or the top output (None, 0)."""

    layer: str | None
    index: int
    lanes: int
    fifo: int  # depth in beats of the FIFO in front of it (0: none)


@dataclass(frozen=True)
class Stream:
    tensor: str  # the tensor as its producer names it
    source: str | None  # producing layer, None for the top input
    lanes: int
    bits: int
    sinks: tuple


@dataclass(frozen=True)
class Hardware:
    graph: Graph  # the whole lowered graph
    top: str
    prefix: tuple  # host node names before the accelerator
    suffix: tuple  # host node names after it
    layers: tuple
    streams: tuple
    input: Port
    output: Port

    def layer(self, name: str) -> Layer:
        return next(ly for ly in self.layers if ly.name == name)

    # -- golden model split at the accelerator's boundary ----------------------------------
    def input_codes(self, arrays) -> np.ndarray:
        """Host prefix: float model inputs (batch first) -> int64 codes of the input port."""
        feed = golden.check_inputs(self.graph, list(arrays))
        sub = self._sub(self.prefix, self.graph.inputs, (self.input.tensor,))
        return golden.evaluate(sub, feed)[self.input.tensor]

    def output_codes(self, codes: np.ndarray) -> np.ndarray:
        """Golden model of the accelerator itself: input-port codes -> output-port codes."""
        names = tuple(ly.name for ly in self.layers) + self._wires
        sub = self._sub(names, (self.input.tensor,), (self.output.tensor,))
        return golden.evaluate(sub, {self.input.tensor: codes})[self.output.tensor]

    def outputs(self, codes: np.ndarray) -> list:
        """Host suffix: output-port codes -> the model's float outputs."""
        sub = self._sub(self.suffix, (self.output.tensor,), self.graph.outputs)
        env = golden.evaluate(sub, {self.output.tensor: codes})
        return [golden.real(env[o], self.graph.tensors[o].quant) for o in self.graph.outputs]

    @property
    def _wires(self) -> tuple:
        hw = {ly.name for ly in self.layers}
        return tuple(n.name for n in self.graph.nodes if n.name not in hw
                     and n.name not in self.prefix and n.name not in self.suffix)

    def _sub(self, names, inputs, outputs) -> Graph:
        keep = set(names)
        nodes = [n for n in self.graph.nodes if n.name in keep]
        return self.graph.rebuild(nodes, inputs=inputs, outputs=outputs)


def plan(graph: Graph, fifo_depths: dict | None = None) -> Hardware:
    """The accelerator of a lowered, folded graph.

    ``fifo_depths`` (the config's, e.g. from FIFO sizing by simulation): {"LAYER" or
    "LAYER:k": beats} sets the FIFO in front of input k (default 0) of a layer; 0 means
    none.  A branch of a forked stream keeps at least the depth that prevents deadlock."""
    part = partition(graph)
    hw_nodes = [n for n in graph.nodes if n.name in set(part.hardware)]
    if not hw_nodes:
        raise UnsupportedOpError(f"model {graph.name}: nothing to put in hardware (no quantized "
                                 "layer between the input and output quantizers)")
    produced = {o for n in hw_nodes for o in n.outputs}
    alias = {}  # tensor -> the tensor whose stream carries it (through wires)
    for n in hw_nodes:
        if isinstance(n.op, WIRE_OPS):
            alias[n.outputs[0]] = alias.get(n.inputs[0], n.inputs[0])
    inputs = sorted({alias.get(i, i) for n in hw_nodes for i in n.inputs
                     if i not in produced and alias.get(i, i) not in produced})
    host_after = set(part.suffix)
    outputs = []
    for n in hw_nodes:
        for o in n.outputs:
            if o in graph.outputs or any(c.name in host_after for c in graph.consumers(o)):
                outputs.append(o)
    if len(inputs) != 1 or len(outputs) != 1:
        raise UnsupportedOpError(
            f"model {graph.name}: the accelerator would have {len(inputs)} input streams "
            f"({', '.join(inputs)}) and {len(outputs)} output streams ({', '.join(outputs)}); "
            "archgen generates accelerators with one input and one output stream")
    top = sanitize(graph.name)
    taken = {top}
    layers = []
    for n in hw_nodes:
        if isinstance(n.op, WIRE_OPS):
            continue
        ins = tuple(graph.tensors[i] for i in n.inputs)
        outs = tuple(graph.tensors[o] for o in n.outputs)
        d = unit_of(n.op).derive(n.op, list(ins), list(outs))
        module = sanitize(f"{top}_{n.name}", taken)
        taken.add(module)
        layers.append(Layer(n, module, ins, outs, d))
    in_t, out_t = inputs[0], alias.get(outputs[0], outputs[0])
    streams = _streams(graph, layers, alias, in_t, out_t, fifo_depths or {})
    first = next(s for s in streams if s.source is None)
    last = next(s for s in streams if any(k.layer is None for k in s.sinks))
    return Hardware(graph, top, part.prefix, part.suffix, tuple(layers), streams,
                    _port(graph.tensors[in_t], first.sinks[0].lanes),
                    _port(graph.tensors[outputs[0]], last.lanes))


def _port(t: Tensor, lanes: int) -> Port:
    q = t.quant
    return Port(t.name, t.shape, lanes, q.bits, q.signed, q.bipolar)


def _streams(graph: Graph, layers, alias, in_t: str, out_t: str, fifo_depths: dict) -> tuple:
    by_name = {ly.name: ly for ly in layers}
    sources = {}  # stream tensor -> (layer or None, lanes)
    for ly in layers:
        for o, lanes in zip(ly.node.outputs, ly.hw["out_lanes"]):
            sources[o] = (ly.name, lanes)
    sinks = {}
    for ly in layers:
        for k, (i, lanes) in enumerate(zip(ly.node.inputs, ly.hw["in_lanes"])):
            sinks.setdefault(alias.get(i, i), []).append([ly.name, k, lanes])
    sinks.setdefault(out_t, []).append([None, 0, sources[out_t][1] if out_t in sources else 1])
    if in_t not in sources:
        sources[in_t] = (None, sinks[in_t][0][2])
    depth = _fifo_depths(graph, by_name, sources, sinks)
    for t, ks in sinks.items():
        src = by_name.get(sources[t][0]) if t in sources else None
        for a, k, _ in ks:
            need = _vector_fifo(by_name.get(a), src, sources[t][1])
            if need:
                depth[(t, a, k)] = max(depth.get((t, a, k), 0), need)
    by_key = {sink_key(a, k): (t, a, k, len(ks)) for t, ks in sinks.items() for a, k, _ in ks
              if a is not None}
    for key, beats in fifo_depths.items():
        if key not in by_key:
            raise ConfigError(f"fifo_depths.{key}: no layer input of that name in the accelerator "
                              f"(its layer inputs: {', '.join(sorted(by_key))})")
        t, a, k, forked = by_key[key]
        # a forked branch keeps its deadlock-free depth
        depth[(t, a, k)] = max(int(beats), depth.get((t, a, k), 0)) if forked > 1 else int(beats)
    out = []
    for t, (src, lanes) in sources.items():
        ks = tuple(Sink(a, k, ln, depth.get((t, a, k), 0)) for a, k, ln in sinks.get(t, []))
        out.append(Stream(t, src, lanes, graph.tensors[t].quant.bits, ks))
    return tuple(out)


def sink_key(layer: str, index: int) -> str:
    """The name of a layer input in ``fifo_depths``: the layer, with ``:k`` for input k > 0."""
    return layer if index == 0 else f"{layer}:{index}"


def _fifo_depths(graph, layers, sources, sinks) -> dict:
    """Depth of the FIFO on each branch of a forked stream.

    A stream that feeds several layers which later join again (a residual add, a
    concat) deadlocks when the short branch cannot hold what the long branch swallows
    before its first result reaches the join.  Each branch is followed to the join; its
    capacity is what its layers buffer, as a fraction of a frame (a window generator holds
    its line buffer, every other layer a vector and a few pipeline registers).  A branch
    gets a FIFO of (longest branch's capacity - its own) frames' worth of beats, plus slack.
    A join that takes part of one input's frame before the others (the deformable
    sampler: its whole frame, or its line buffer, ``lead_beats``) gives every other
    branch a FIFO of that much.
    """
    out = {}
    for t, ks in sinks.items():
        if len(ks) < 2:
            continue
        beats = graph.tensors[t].size // sources[t][1]
        caps, lead = [], 0.0
        for name, k, _ in ks:
            cap, cur = 0.0, name
            while cur is not None:
                ly = layers[cur]
                if len(ly.node.inputs) > 1:
                    if cur == name and ly.hw.get("frame_buffer_input") == k:
                        # a join that takes this much of this frame before the others
                        cap = lead = ly.hw["lead_beats"] / ly.hw["frame_beats"]
                    break  # the join: what it holds is shared by every branch
                cap += _capacity(ly)
                nxt = [k for o in ly.node.outputs for k in sinks.get(o, [])]
                if len(nxt) != 1 or nxt[0][0] is None:
                    break
                cur = nxt[0][0]
            caps.append(cap)
        longest = max(caps)
        for (name, k, _), cap in zip(ks, caps):
            # the other branches of a leading join must hold its lead themselves (their
            # layers' buffers fill at their own pace: no credit for them)
            need = (int(math.ceil(lead * beats)) if lead and cap < lead
                    else int(math.ceil((longest - cap) * beats)))
            out[(t, name, k)] = need + FIFO_SLACK if need > 0 else 2
    return out


def _vector_fifo(layer, source, lanes: int) -> int:
    """A matrix-vector unit reads each input vector during its first row group, then
    computes the other row groups from its buffer.  Fed by a layer that emits its results
    spread over its own compute time, it would wait for the whole vector in the first row
    group and stall its producer in the others, halving the throughput of both: one
    vector of FIFO in front of it lets the producer run ahead.  (A window generator emits
    whole windows at once and needs none.)  The FIFO sits before the width converter, so
    a vector is counted in beats of the stream's ``lanes``, not of the unit's SIMD."""
    if layer is None or source is None or not isinstance(layer.node.op, mvu.Params):
        return 0
    if emits_windows(source) or layer.node.op.weight.shape[0] == layer.node.op.pe:
        return 0  # one row group: the vector streams straight through
    return -(-layer.node.op.weight.shape[1] // lanes) + 2


def emits_windows(layer: Layer) -> bool:
    """A window generator (swg, dswg): it emits each window at one beat per cycle, and its
    stream is its input's kernel-size times over (a FIFO on it costs that much more than
    one in front of the generator)."""
    return isinstance(layer.node.op, (swg.Params, dswg.Params))


def _capacity(ly: Layer) -> float:
    """What a layer can hold before it must emit, as a fraction of its input frame: a
    window generator (or windowed pool) its line buffer plus the row being written, a
    global pool the whole frame, any other layer a vector and a few pipeline registers."""
    x = ly.ins[0]
    pixels = max(1, int(np.prod(x.shape[:-1], dtype=np.int64)))
    if ly.hw.get("global"):
        return 1.0
    if "buffer_pixels" in ly.hw:
        row = int(np.prod(x.shape[1:-1], dtype=np.int64)) if len(x.shape) == 3 else 1
        return min(1.0, (ly.hw["buffer_pixels"] + row + 1) / pixels)
    return min(1.0, (x.shape[-1] + 16) / max(1, x.size))
