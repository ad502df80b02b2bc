"""Folding: how many lanes (PE outputs, SIMD inputs) every hardware unit processes per cycle.

Three sources, in order of precedence:

* ``layers.<name>.pe/simd`` in the config (checked: each must divide what it folds);
* ``target_fps`` with ``clock_mhz``: the smallest folding that meets the target, FINN-style:
  SIMD is raised first, then PE, one divisor step at a time; when some layer cannot meet
  the target even fully parallel, the others are balanced to that slowest layer (making
  them faster would only cost area);
* otherwise 1 (fully folded: least area).

Units without their own folding (thresholds, requant, add, concat, argmax, lif, and the
window generators in front of a (deformable) convolution) take lanes from their streams:
a window generator produces what its convolution consumes, an elementwise unit keeps its
producer's lanes (reduced to a divisor of its channels), so no width converter is needed
along a layer.  The pass changes only the pe/simd fields: golden outputs are unchanged.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..config import Config
from ..errors import ConfigError
from ..ir import Graph
from ..units import (add, argmax, chslice, cmvm, concat, dswg, lif, mvu, pool, requant, swg,
                     synapse, thresholds, vvu)

ELEMENTWISE = (thresholds.Params, requant.Params, add.Params, concat.Params, argmax.Params,
               lif.Params)


def divisors(n: int) -> list:
    return [d for d in range(1, n + 1) if n % d == 0]


def _vectors(shape) -> int:
    return int(np.prod(shape[:-1], dtype=np.int64))


class _Layer:
    """A foldable unit: its (pe, simd) choices and cycles per frame for each."""

    def __init__(self, node, graph: Graph):
        self.node = node
        op = node.op
        x = graph.tensors[node.inputs[0]]
        y = graph.tensors[node.outputs[0]]
        self.depthwise = isinstance(op, vvu.Params)
        self.conv = False
        if isinstance(op, (synapse.Params, mvu.Params)):  # a synapse folds like an mvu
            n, k = op.weight.shape
            prod = graph.producer(node.inputs[0])
            self.conv = prod is not None and isinstance(prod.op, (swg.Params, dswg.Params))
            simd_of = graph.tensors[prod.inputs[0]].shape[-1] if self.conv else k
            if prod is not None and isinstance(prod.op, dswg.Params):
                simd_of //= prod.op.offset_group  # a sampled chunk shares its offsets
            self.pe_choices, self.simd_choices = divisors(n), divisors(simd_of)
            self.rows, self.cols, self.simd_of = n, k, simd_of
            self.vectors = _vectors(x.shape)
        elif self.depthwise:
            c, k = op.weight.shape
            self.pe_choices, self.simd_choices = divisors(c), [1]
            self.rows, self.cols, self.simd_of = c, k * c, 1
            self.vectors = _vectors(x.shape)
        else:  # pool: windows of C channels, pe lanes
            c = x.shape[-1]
            self.pe_choices, self.simd_choices = divisors(c), [1]
            k = int(np.prod(op.kernel))
            self.rows, self.cols, self.simd_of = c, 1, 1
            # beats through the reduce stage: every window tap of every output pixel
            self.vectors = max(_vectors(y.shape) * k, _vectors(x.shape))

    def cycles(self, pe: int, simd: int) -> int:
        if isinstance(self.node.op, synapse.Params):  # worst case: every input spikes
            return self.vectors * max(self.cols // simd, (self.cols + 1) * (self.rows // pe))
        if isinstance(self.node.op, mvu.Params):
            return self.vectors * (self.rows // pe) * (self.cols // simd)
        if self.depthwise:  # every tap of every channel group is one beat
            return self.vectors * self.cols // pe
        return self.vectors * (self.rows // pe)

    def check(self, pe: int, simd: int) -> None:
        name = self.node.name
        if pe not in self.pe_choices:
            what = "outputs" if isinstance(self.node.op, (mvu.Params, synapse.Params)) else "channels"
            raise ConfigError(f"layers.{name}.pe: {pe} does not divide the {self.rows} {what} "
                              f"(divisors: {', '.join(map(str, self.pe_choices))})")
        if simd not in self.simd_choices:
            if len(self.simd_choices) == 1:
                raise ConfigError(f"layers.{name}.simd: {simd}: this layer folds by pe only "
                                  "(depthwise convolution or pooling); use simd 1")
            what = "input channels" if self.conv else "inputs"
            raise ConfigError(f"layers.{name}.simd: {simd} does not divide the {self.simd_of} "
                              f"{what} (divisors: {', '.join(map(str, self.simd_choices))})")

    def smallest_within(self, budget: float) -> tuple:
        """The least-parallel (pe, simd) meeting ``budget`` cycles: SIMD first, then PE."""
        pe_i = simd_i = 0
        while True:
            pe, simd = self.pe_choices[pe_i], self.simd_choices[simd_i]
            if self.cycles(pe, simd) <= budget:
                return pe, simd
            if simd_i + 1 < len(self.simd_choices):
                simd_i += 1
            elif pe_i + 1 < len(self.pe_choices):
                pe_i += 1
            else:
                return pe, simd

    def fastest(self) -> int:
        return self.cycles(self.pe_choices[-1], self.simd_choices[-1])


def fold(graph: Graph, config: Config) -> Graph:
    layers = [_Layer(n, graph) for n in graph.nodes
              if isinstance(n.op, (mvu.Params, vvu.Params, pool.Params, synapse.Params))]
    chosen = {}
    auto = [ly for ly in layers if not _configured(config, ly.node.name)]
    for ly in layers:
        if ly.node.name not in {a.node.name for a in auto}:
            lc = config.layers[ly.node.name]
            pe, simd = lc.pe or 1, lc.simd or 1
            ly.check(pe, simd)
            chosen[ly.node.name] = (pe, simd)
    if config.target_fps:
        budget = config.clock_mhz * 1e6 / config.target_fps
        # the slowest layer bounds the interval: balance the others to it
        budget = max([budget] + [ly.fastest() for ly in auto]
                     + [layers_cycles(ly, chosen) for ly in layers if ly.node.name in chosen])
        for ly in auto:
            chosen[ly.node.name] = ly.smallest_within(budget)
    else:
        for ly in auto:
            chosen[ly.node.name] = (1, 1)

    nodes = []
    out_lanes = {}  # tensor -> lanes of the stream carrying it
    consumers_simd = {}
    for n in graph.nodes:  # a window generator feeds exactly one convolution
        if isinstance(n.op, (mvu.Params, vvu.Params, synapse.Params)) and n.name in chosen:
            pe, simd = chosen[n.name]
            consumers_simd[n.inputs[0]] = pe if isinstance(n.op, vvu.Params) else simd
    for n in graph.nodes:
        op = n.op
        if isinstance(op, (mvu.Params, synapse.Params)):
            pe, simd = chosen[n.name]
            op = replace(op, pe=pe, simd=simd)
            lanes = pe
        elif isinstance(op, vvu.Params):
            pe, _ = chosen[n.name]
            op = replace(op, pe=pe, simd=1)
            lanes = pe
        elif isinstance(op, pool.Params):
            op = replace(op, pe=chosen[n.name][0])
            lanes = op.pe
        elif isinstance(op, (swg.Params, dswg.Params)):
            op = replace(op, simd=consumers_simd.get(n.outputs[0], 1))
            lanes = op.simd
        elif isinstance(op, ELEMENTWISE):
            c = graph.tensors[n.inputs[0]].shape[-1]
            lanes = c
            for i in n.inputs:
                lanes = math.gcd(lanes, out_lanes.get(i, 1), graph.tensors[i].shape[-1])
            op = replace(op, pe=lanes)
            if isinstance(op, argmax.Params):
                lanes = 1
        elif isinstance(op, cmvm.Params):  # fully parallel: the whole vector in and out
            lanes = op.weight.shape[0]
        elif isinstance(op, chslice.Params):  # whole lane groups are kept or dropped
            lanes = math.gcd(out_lanes.get(n.inputs[0], 1), graph.tensors[n.inputs[0]].shape[-1],
                             op.start, op.stop - op.start)
            op = replace(op, pe=lanes)
        else:  # wires (Reshape, Relabel) and host ops keep the stream as it is
            lanes = out_lanes.get(n.inputs[0], 1) if n.inputs else 1
        for o in n.outputs:
            out_lanes[o] = lanes
        nodes.append(replace(n, op=op) if op is not n.op else n)
    return graph.rebuild(nodes)


def layers_cycles(ly: _Layer, chosen: dict) -> int:
    return ly.cycles(*chosen[ly.node.name])


def _configured(config: Config, name: str) -> bool:
    lc = config.layers.get(name)
    return lc is not None and (lc.pe is not None or lc.simd is not None)
