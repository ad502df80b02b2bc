"""The ordered pass pipeline: each pass is a pure function (Graph, Config) -> Graph.

Run top to bottom by ``run_pipeline``; every pass is logged by name, and the IR can be
dumped after each one (``dump_dir``).  A pass that needs a fixpoint loops inside itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import Config
from ..ir import Graph, verify
from .absorb_scales import absorb_scales
from .channels_last import channels_last
from .cleanup import cleanup
from .fold import fold
from .fold_batchnorm import fold_batchnorm
from .fuse_requant import fuse_requant
from .infer_precision import infer_precision
from .lower import lower
from .place_weights import place_weights

log = logging.getLogger("archgen.passes")

PIPELINE = (
    cleanup,  # constant/identity cleanup, dead nodes
    fold_batchnorm,  # batch norms, biases, scalar affines -> one float chain per layer
    absorb_scales,  # float chain + quantizer -> integer thresholds / multiply-shift
    infer_precision,  # exact reachable ranges -> smallest widths, dead thresholds dropped
    channels_last,  # streaming layout (H, W, C); transposes only at the host boundary
    lower,  # model ops -> hardware units
    fuse_requant,  # strategy latency: a cmvm's requantizer into its own pipeline (no DSP);
    #               no input register in a cmvm fed by a unit
    fold,  # PE/SIMD lanes of every unit (config, target fps, or streams)
    place_weights,  # weight_memory auto: spare block RAM to the ROMs saving most LUTs
)


def run_pipeline(graph: Graph, config: Config, dump_dir: Path | None = None,
                 until: str | None = None, check: bool = False) -> Graph:
    """Run PIPELINE (up to and including the pass named ``until``)."""
    for k, p in enumerate(PIPELINE):
        graph = p(graph, config)
        log.info("pass %s: %d nodes", p.__name__, len(graph.nodes))
        if check:
            verify(graph)
        if dump_dir is not None:
            Path(dump_dir).mkdir(parents=True, exist_ok=True)
            (Path(dump_dir) / f"{k:02d}_{p.__name__}.txt").write_text(str(graph) + "\n")
        if until == p.__name__:
            break
    return graph


__all__ = ["PIPELINE", "run_pipeline"]
