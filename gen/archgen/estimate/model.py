"""The analytic estimate of a hardware plan: per layer the unit's ``resources()`` (what
its cell costs once yosys has mapped it) and its cycle figures; the stream plumbing of the
top level (FIFOs, forks, width converters) as its own entry.

It reads the plan and never changes it, and it is cheap: a few microseconds per layer, so
design-space exploration can score thousands of candidates per minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..units import unit_of
from .parts import Part
from .resources import KEYS, Cost

TOP = "top"  # the entry of the top level's stream plumbing


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    unit: str
    module: str
    cost: Cost
    cycles: int  # cycles per frame: the interval this layer alone allows
    pipeline: int  # registers between its input and output


@dataclass(frozen=True)
class Estimate:
    part: Part
    layers: tuple  # LayerEstimate, in dataflow order
    glue: Cost  # the top level's FIFOs, forks and width converters
    interval: int  # cycles per frame of the whole accelerator (its slowest layer)
    latency: int  # cycles from a frame's first input beat to its last output beat
    bottleneck: str  # the layer that sets the interval

    @property
    def total(self) -> Cost:
        return Cost.total([ly.cost for ly in self.layers]) + self.glue

    def utilization(self) -> dict:
        cap = self.part.capacity()
        tot = self.total.rounded()
        return {k: round(100.0 * tot[k] / cap[k], 2) if cap[k] else 0.0 for k in KEYS}

    def to_json(self) -> dict:
        layers = {ly.name: {**ly.cost.rounded(), "unit": ly.unit, "module": ly.module,
                            "cycles": ly.cycles, "pipeline": ly.pipeline}
                  for ly in self.layers}
        layers[TOP] = {**self.glue.rounded(), "unit": "streams", "module": TOP,
                       "cycles": 0, "pipeline": 0}
        return {"total": self.total.rounded(), "layers": layers,
                "utilization_percent": self.utilization(),
                "interval_cycles": self.interval, "latency_cycles": self.latency,
                "bottleneck": self.bottleneck}


def estimate(hw, part: Part) -> Estimate:
    """The analytic estimate of ``hw`` (a ``backends.hardware.Hardware``) on ``part``."""
    from .glue import glue_cost

    layers = []
    for ly in hw.layers:
        unit = unit_of(ly.node.op)
        cost = unit.resources(ly.node.op, ly.hw, part)
        layers.append(LayerEstimate(ly.name, ly.node.op.kind(), ly.module, cost,
                                    int(ly.hw.get("cycles") or 0),
                                    int(ly.hw.get("pipeline_cycles") or 0)))
    slowest = max(layers, key=lambda e: e.cycles)
    return Estimate(part, tuple(layers), glue_cost(hw, part), max(slowest.cycles, hw.input.beats,
                                                                  hw.output.beats),
                    latency(hw, layers), slowest.name)


def latency(hw, layers) -> int:
    """First input beat to last output beat of one frame, through the longest path.

    Each layer starts when its input has brought what its first output needs: a window
    generator its line buffer (``buffer_pixels`` input pixels), a global reduction the
    whole frame, a matrix-vector unit one input vector; it ends no earlier than its own
    cycles per frame after it started (counting the first), nor than its producer ends
    plus its pipeline.  A chain of units of one cycle per frame (the latency strategy)
    comes to the frame's cycle plus the units' pipeline registers, as simulated."""
    by_name = {e.name: e for e in layers}
    start, end = {}, {}
    producer = {o: ly for ly in hw.layers for o in ly.node.outputs}
    alias = {}
    for n in hw.graph.nodes:  # wires (reshapes) pass a stream through unchanged
        if n.name not in by_name and len(n.inputs) == 1 and len(n.outputs) == 1:
            alias[n.outputs[0]] = alias.get(n.inputs[0], n.inputs[0])
    for ly in hw.layers:
        e = by_name[ly.name]
        s, f = 0, 0
        for t in ly.node.inputs:
            src = producer.get(alias.get(t, t))
            if src is None:
                src_start, src_end = 0, hw.input.beats
            else:
                src_start, src_end = start[src.name], end[src.name]
            # the producer's output is spread over the time it runs (its own cycles, or
            # longer when its input throttles it)
            frac = _first_output_fraction(ly)
            s = max(s, src_start + int(frac * (src_end - src_start)))
            f = max(f, src_end)
        # start: its first output beat is out; end: its last (the first is one of its
        # cycles; a unit of one cycle per frame ends when it starts)
        start[ly.name] = s + e.pipeline
        end[ly.name] = max(start[ly.name] + e.cycles - 1, f + e.pipeline)
    return max(end.values()) if end else 0


def _first_output_fraction(ly) -> float:
    """The fraction of its input frame a layer takes in before its first output: a window
    (convolution or pool) its first window's rows, a global reduction the whole frame,
    any other layer one vector."""
    import numpy as np

    x, d = ly.ins[0], ly.hw
    pixels = max(1, int(np.prod(x.shape[:-1], dtype=np.int64)))
    if d.get("global"):
        return 1.0
    if "kh" in d and "w" in d:
        rows = max(0, (d["kh"] - 1) * d["dh"] - d["pt"])
        cols = max(1, (d["kw"] - 1) * d["dw"] + 1 - d["pl"])
        return min(1.0, (rows * d["w"] + cols) / pixels)
    return min(1.0, 1.0 / pixels)
