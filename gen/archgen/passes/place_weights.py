"""Spend the part's spare block RAM on the weight ROMs that save the most LUTs per block.

``weight_memory: auto`` places each unit's weight ROM by its own size, as yosys's
memory_libmap does (``estimate.memory.weight_placement``): block RAM once the blocks cost
less than the ROM's bits in logic.  A shallow, very wide ROM (a folded layer with many
lanes: CNV-w1a1's Conv_15, 72 words of 2,048 bits) stays in logic by that rule, at about
two LUTs per bit, even when the part has block RAM to spare.  This pass looks at the whole
design after folding: among the units whose ROM ``auto`` put in logic, it moves to block
RAM, most LUTs saved per BRAM36 first, every one that saves at least ``MIN_SAVING`` LUTs
per BRAM36, while the design's block RAM (the analytic estimate, FIFOs included) stays
within ``FILL`` of the part's.  A layer whose ``weight_memory`` is configured (per layer
or globally, not ``auto``) is left as configured.  The unit's ``weight_mem`` parameter
carries the decision to the RTL, the HLS kernel and the estimate alike.

The block RAM count needs the whole accelerator (``plan``: every unit and FIFO) and the
part's figures.  A graph with no hardware form (the golden model also runs models the
hardware cannot build; ``generate`` reports why) or a part outside the estimate's table
(the HLS backend takes any part) keeps the placement by size.
"""

from __future__ import annotations

import dataclasses
import logging

from ..config import Config
from ..errors import ArchgenError
from ..estimate.model import estimate
from ..estimate.parts import get_part
from ..ir.graph import Graph, Node
from ..units import mvu, synapse, unit_of, vvu

FILL = 0.8  # the share of the part's block RAM the design may take
MIN_SAVING = 128  # LUTs a moved ROM must save per BRAM36 it takes
log = logging.getLogger("archgen.passes")

ROMS = (mvu.Params, vvu.Params, synapse.Params)  # the units with a weight ROM


def place_weights(graph: Graph, config: Config) -> Graph:
    from ..backends.hardware import plan  # it imports passes.lower: not at module level

    if not any(isinstance(n.op, ROMS) and n.op.weight_mem == "auto" for n in graph.nodes):
        return graph
    try:
        part = get_part(config.part)
        hw = plan(graph, config.fifo_depths)
    except ArchgenError as e:  # a part without figures, or a graph with no hardware form
        log.info("place_weights: weight ROMs placed by size (%s)", e)
        return graph
    used = estimate(hw, part).total.bram36
    moves = []
    for ly in hw.layers:
        op = ly.node.op
        if not isinstance(op, ROMS) or \
                op.weight_mem != "auto" or ly.hw.get("weight_mem") != "logic":
            continue
        unit = unit_of(op)
        bram = dataclasses.replace(op, weight_mem="bram")
        d = unit.derive(bram, list(ly.ins), list(ly.outs))
        logic_cost, bram_cost = unit.resources(op, ly.hw, part), unit.resources(bram, d, part)
        blocks = bram_cost.bram36 - logic_cost.bram36
        saved = logic_cost.LUT - bram_cost.LUT
        if blocks > 0 and saved >= MIN_SAVING * blocks:
            moves.append((saved / blocks, blocks, ly.node.name, bram))
    placed = {}
    for ratio, blocks, name, op in sorted(moves, key=lambda m: -m[0]):
        if used + blocks <= FILL * part.BRAM36:
            placed[name] = op
            used += blocks
            log.info("place_weights: %s's weight ROM in block RAM (%.0f LUT saved per BRAM36)",
                     name, ratio)
    if not placed:
        return graph
    return graph.rebuild([Node(n.name, placed[n.name], n.inputs, n.outputs) if n.name in placed
                          else n for n in graph.nodes])
