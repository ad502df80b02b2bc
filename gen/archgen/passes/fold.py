"""Folding: how many lanes (PE outputs, SIMD inputs) every hardware unit processes per cycle.

Three sources, in order of precedence:

* ``layers.<name>.pe/simd`` in the config (checked: each must divide what it folds);
* ``target_fps`` with ``clock_mhz``: per layer, among ALL (pe, simd) divisor pairs whose
  cycles per frame meet the budget (clock / target), the one with the least cost on
  ``config.part``; when some layer cannot meet the target even fully parallel, the
  budget is that slowest layer's cycles (making the others faster would only cost area);
* otherwise 1 (fully folded: least area).

The cost of a pair is the sum over LUT, FF, BRAM36 (a BRAM18 counts half) and DSP of the
amount over the part's capacity of that kind (so a scarce kind weighs more), from the
units' own analytic models (``resources(p, derive(p, ins, outs), part)``, as the estimate
computes them).  Counted, for a layer at (pe, simd):

* the layer's own unit (mvu, vvu, synapse, or pool with its built-in window generator);
* the window generator (swg or dswg) in front of a convolution: its simd follows the
  convolution's simd (a depthwise convolution's pe);
* the single-input elementwise units after it, through each other and through reshapes
  (thresholds, requant, argmax, lif): they take the layer's pe lanes (reduced to a divisor
  of their channels);
* the width converter in front of it when its input lanes (simd, or pe for a pool or a
  depthwise convolution) differ from the lanes of the stream feeding it, as the layers
  before it (chosen first, in dataflow order) make them; the accelerator's input port
  takes whatever its first layer reads, so it needs none.

Not counted: the other plumbing of the top level (FIFOs, forks); elementwise units with
several inputs (add, concat), whose lanes also depend on their other producers.  Ties go
to fewer lanes (pe * simd), then to the smaller pe (the earlier pair in the SIMD-first
order FINN raises them in); the choice is deterministic.

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
from ..estimate import glue
from ..estimate.parts import Part, get_part
from ..ir import Graph
from ..units import (add, argmax, chslice, cmvm, concat, dswg, lif, mvu, pool, requant, swg,
                     is_unit, synapse, thresholds, unit_of, vvu)
from .lower import WIRE_OPS

ELEMENTWISE = (thresholds.Params, requant.Params, add.Params, concat.Params, argmax.Params,
               lif.Params)


def divisors(n: int) -> list:
    return [d for d in range(1, n + 1) if n % d == 0]


def _vectors(shape) -> int:
    return int(np.prod(shape[:-1], dtype=np.int64))


def unit_cost(node, graph: Graph, part: Part):
    """The analytic ``Cost`` of ``node`` as it stands (its op's current pe/simd)."""
    unit = unit_of(node.op)
    ins = [graph.tensors[i] for i in node.inputs]
    outs = [graph.tensors[o] for o in node.outputs]
    return unit.resources(node.op, unit.derive(node.op, ins, outs), part)


def objective(cost, part: Part) -> float:
    """The folding objective: the sum over LUT, FF, BRAM36 (a BRAM18 half of one) and DSP
    of the amount over the part's capacity of that kind."""
    return (cost.LUT / part.LUT + cost.FF / part.FF + cost.DSP / part.DSP
            + cost.bram36 / part.BRAM36)


class _Layer:
    """A foldable unit: its (pe, simd) choices, cycles per frame and cost for each."""

    def __init__(self, node, graph: Graph):
        self.node, self.graph = node, graph
        op = node.op
        x = graph.tensors[node.inputs[0]]
        y = graph.tensors[node.outputs[0]]
        self.depthwise = isinstance(op, vvu.Params)
        self.conv = False
        prod = graph.producer(node.inputs[0])
        # the window generator in front of a convolution: its simd follows this layer's
        self.window = prod if prod is not None and isinstance(prod.op, (swg.Params,
                                                                        dswg.Params)) else None
        if isinstance(op, (synapse.Params, mvu.Params)):  # a synapse folds like an mvu
            n, k = op.weight.shape
            self.conv = self.window is not None
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
        self._costs, self._window_costs, self._tail_costs = {}, {}, {}

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

    def fastest(self) -> int:
        return self.cycles(self.pe_choices[-1], self.simd_choices[-1])

    def pairs(self) -> list:
        """Every (pe, simd) choice, in the old SIMD-first order's preference among equal
        lanes: pe ascending, then simd ascending."""
        return [(pe, simd) for pe in self.pe_choices for simd in self.simd_choices]

    def cheapest_within(self, budget: float, part: Part, up_lanes: int | None = None) -> tuple:
        """The (pe, simd) of least ``cost`` among those meeting ``budget`` cycles (the
        fastest when none does); ties to fewer lanes, then the smaller pe.  ``up_lanes``:
        the lanes of the stream feeding the layer (None: the input port, no converter)."""
        meet = [ps for ps in self.pairs() if self.cycles(*ps) <= budget]
        if not meet:
            return self.pe_choices[-1], self.simd_choices[-1]
        return min(meet, key=lambda ps: (self.cost(*ps, part) + self._converter(ps, up_lanes, part),
                                         ps[0] * ps[1], ps[0]))

    def stream_in(self) -> str:
        """The tensor of the stream feeding the layer (its window generator's input)."""
        return (self.window or self.node).inputs[0]

    def _converter(self, ps: tuple, up_lanes: int | None, part: Part) -> float:
        pe, simd = ps
        lanes = pe if self.depthwise or isinstance(self.node.op, pool.Params) else simd
        if up_lanes is None or up_lanes == lanes:
            return 0.0
        q = self.graph.tensors[self.stream_in()].quant
        return objective(glue.width_converter(q.bits, up_lanes, lanes), part)

    def cost(self, pe: int, simd: int, part: Part) -> float:
        """``objective`` of what folding this layer at (pe, simd) puts in hardware: the unit,
        its window generator, the elementwise units after it (see the module docstring)."""
        key = (pe, simd)
        if key not in self._costs:
            op = self.node.op
            if isinstance(op, (mvu.Params, synapse.Params)):
                op = replace(op, pe=pe, simd=simd)
            elif isinstance(op, vvu.Params):
                op = replace(op, pe=pe, simd=1)
            else:
                op = replace(op, pe=pe)
            c = objective(unit_cost(replace(self.node, op=op), self.graph, part), part)
            self._costs[key] = c + self._window_cost(pe if self.depthwise else simd, part) \
                + self._tail_cost(pe, part)
        return self._costs[key]

    def _window_cost(self, simd: int, part: Part) -> float:
        if self.window is None:
            return 0.0
        if simd not in self._window_costs:
            n = self.window
            self._window_costs[simd] = objective(
                unit_cost(replace(n, op=replace(n.op, simd=simd)), self.graph, part), part)
        return self._window_costs[simd]

    def _tail_cost(self, lanes: int, part: Part) -> float:
        """The single-input elementwise units fed by this layer (through each other and
        through reshapes), each at its stream's lanes as ``fold`` gives them."""
        if lanes not in self._tail_costs:
            g, total = self.graph, 0.0
            todo = [(self.node.outputs[0], lanes)]
            seen = set()
            while todo:
                t, ln = todo.pop(0)
                for c in g.consumers(t):
                    if c.name in seen or len(c.inputs) != 1:
                        continue
                    seen.add(c.name)
                    if isinstance(c.op, WIRE_OPS):  # a reshape passes the stream on
                        todo.extend((o, ln) for o in c.outputs)
                        continue
                    if (not isinstance(c.op, ELEMENTWISE)
                            or any(g.tensors[o].quant is None for o in c.outputs)):
                        continue
                    k = math.gcd(ln, g.tensors[t].shape[-1])
                    total += objective(unit_cost(replace(c, op=replace(c.op, pe=k)), g, part), part)
                    todo.extend((o, 1 if isinstance(c.op, argmax.Params) else k)
                                for o in c.outputs)
            self._tail_costs[lanes] = total
        return self._tail_costs[lanes]


def fold(graph: Graph, config: Config) -> Graph:
    layers = [_Layer(n, graph) for n in graph.nodes
              if isinstance(n.op, (mvu.Params, vvu.Params, pool.Params, synapse.Params))]
    chosen = {}
    auto = [ly for ly in layers if not _configured(config, ly.node.name)]
    auto_names = {ly.node.name for ly in auto}
    for ly in layers:
        if ly.node.name not in auto_names:
            lc = config.layers[ly.node.name]
            pe, simd = lc.pe or 1, lc.simd or 1
            ly.check(pe, simd)
            chosen[ly.node.name] = (pe, simd)
    if config.target_fps:
        part = get_part(config.part)
        budget = config.clock_mhz * 1e6 / config.target_fps
        # the slowest layer bounds the interval: balance the others to it
        budget = max([budget] + [ly.fastest() for ly in auto]
                     + [layers_cycles(ly, chosen) for ly in layers if ly.node.name in chosen])
        for ly in auto:  # in dataflow order: the layers feeding this one are chosen
            _, lanes, from_hw = _lanes(graph, {**{n.node.name: (1, 1) for n in layers},
                                               **chosen})
            t = ly.stream_in()
            up = lanes.get(t, 1) if t in from_hw else None
            chosen[ly.node.name] = ly.cheapest_within(budget, part, up)
    else:
        for ly in auto:
            chosen[ly.node.name] = (1, 1)
    nodes, _, _ = _lanes(graph, chosen)
    return graph.rebuild(nodes)


def _lanes(graph: Graph, chosen: dict) -> tuple:
    """(the graph's nodes with the chosen folding, tensor -> lanes of the stream carrying
    it, the tensors that hardware units produce (directly or through wires))."""
    nodes = []
    out_lanes = {}  # tensor -> lanes of the stream carrying it
    from_hw = set()
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
        hw = is_unit(op) or (isinstance(op, WIRE_OPS) and n.inputs[0] in from_hw)
        for o in n.outputs:
            out_lanes[o] = lanes
            if hw:
                from_hw.add(o)
        nodes.append(replace(n, op=op) if op is not n.op else n)
    return nodes, out_lanes, from_hw



def layers_cycles(ly: _Layer, chosen: dict) -> int:
    return ly.cycles(*chosen[ly.node.name])


def _configured(config: Config, name: str) -> bool:
    lc = config.layers.get(name)
    return lc is not None and (lc.pe is not None or lc.simd is not None)
