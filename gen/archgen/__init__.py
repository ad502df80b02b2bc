"""archgen: quantized neural networks to FPGA accelerators.

    >>> import archgen
    >>> model = archgen.load("mlp.onnx")
    >>> y = model.golden(x)          # bit-accurate numpy execution of the hardware
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import Config, load_config
from .errors import (ArchgenError, ConfigError, ModelError, ToolNotFoundError,
                     UnsupportedOpError, VerificationError)
from .ir import Graph

__version__ = "0.1.0"

__all__ = ["load", "Model", "Config", "load_config", "ArchgenError", "ConfigError", "ModelError",
           "ToolNotFoundError", "UnsupportedOpError", "VerificationError", "__version__"]


@dataclass(frozen=True)
class Model:
    """An imported model: its source graph and the graph after the pass pipeline."""

    path: Path
    config: Config
    source: Graph  # as imported
    graph: Graph  # after every pass of the pipeline: what the hardware computes

    @property
    def spiking(self) -> bool:
        """A spiking model (from NIR): inputs and outputs are spike trains (time, batch, ...)."""
        from .spiking import is_spiking

        return is_spiking(self.graph)

    def hardware(self):
        """The accelerator's plan (``backends.hardware.Hardware``) with the config's FIFOs."""
        from .backends.hardware import plan

        return plan(self.graph, self.config.fifo_depths)

    def golden(self, *inputs) -> np.ndarray | list:
        """Float outputs (batch first, dequantized) of the bit-accurate model; spike trains
        (time, batch, ...) for a spiking model, for any number of time steps."""
        return self._run(self.graph, inputs, fixed_steps=False)

    def _run(self, graph, inputs, fixed_steps: bool, fn=None):
        """``fn(graph, *frames)`` (default: the golden model) on the inputs; a spiking
        model's spike trains become frames and back.  ``fixed_steps``: the hardware's
        time steps per sample must match the input's."""
        from . import golden, spiking

        fn = fn or golden.run
        if not self.spiking:
            outs = fn(graph, *inputs)
            return outs[0] if len(outs) == 1 else outs
        if len(inputs) != 1:
            raise ModelError(f"model {graph.name} takes 1 spike train, got {len(inputs)} inputs")
        frames, steps = spiking.to_frames(inputs[0], graph.inputs[0])
        have = spiking.steps_of(graph)
        if have != steps:
            if fixed_steps:
                raise ConfigError(f"snn.time_steps: the hardware is built for {have} time steps "
                                  f"per sample, the input has {steps}")
            graph = spiking.with_steps(graph, steps)
        outs = [spiking.from_frames(o, steps) for o in fn(graph, frames)]
        return outs[0] if len(outs) == 1 else outs

    def simulate(self, *inputs, simulator: str = "verilator", project_dir=None,
                 waves: bool = False) -> np.ndarray | list:
        """Float outputs computed by the generated RTL in simulation (bit-exact with golden,
        or VerificationError).  Generates the Verilog project into ``project_dir`` (a
        temporary folder when None); reports go to its reports/sim.json."""
        import tempfile

        from .project import write_project
        from .simulate import simulate_project

        if project_dir is None:
            with tempfile.TemporaryDirectory(prefix="archgen-sim-") as d:
                return self.simulate(*inputs, simulator=simulator, project_dir=d, waves=waves)
        write_project(self, project_dir, backends=("verilog",))
        outs = simulate_project(project_dir, list(inputs), simulator, waves).outputs
        return outs[0] if len(outs) == 1 else outs

    def csim(self, *inputs, project_dir=None) -> np.ndarray | list:
        """Float outputs computed by the generated HLS C++ in C simulation (bit-exact with
        golden, or VerificationError).  Generates the HLS project into ``project_dir`` (a
        temporary folder when None); reports go to its reports/csim.json."""
        import tempfile

        from .csim import csim_project
        from .project import write_project

        if project_dir is None:
            with tempfile.TemporaryDirectory(prefix="archgen-csim-") as d:
                return self.csim(*inputs, project_dir=d)
        write_project(self, project_dir, backends=("hls",))
        outs = csim_project(project_dir, list(inputs)).outputs
        return outs[0] if len(outs) == 1 else outs

    def reference(self, *inputs) -> np.ndarray | list:
        """Outputs of the imported graph before any pass (for checking passes)."""
        return self._run(self.source, inputs, fixed_steps=False)


def load(path, config: Config | str | Path | None = None, **options) -> Model:
    """Import a model (.onnx) and run the pass pipeline.

    ``config`` is a Config, a path to a YAML config file, or None; keyword ``options``
    (e.g. ``default_precision="fixed<8,3>"``) override it.
    """
    from .frontend import load_model
    from .passes import run_pipeline

    if not isinstance(config, Config):
        config = load_config(config, **options)
    elif options:
        from .config import config_from_dict, merge_options

        config = config_from_dict(merge_options(config.to_json(), options), "options")
    source = load_model(path, config)
    _check_layer_names(config, source)
    graph = run_pipeline(source, config)
    return Model(Path(path), config, source, graph)


def _check_layer_names(config: Config, graph: Graph) -> None:
    names = {n.name for n in graph.nodes}
    for name in config.layers:
        if name not in names:
            layers = sorted(n.name for n in graph.nodes if type(n.op).__name__ in ("Dense", "Conv"))
            raise ConfigError(f"layers.{name}: no layer of that name in the model "
                              f"(layers: {', '.join(layers[:20])})")
