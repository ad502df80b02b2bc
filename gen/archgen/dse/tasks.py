"""Design-flow tasks: plain functions ``task(design, cfg) -> Design`` with a frozen,
validated config each, listed in the explicit ``TASKS`` registry.

A Design is a model's source IR with the config it is compiled with.  Tasks that change
numbers (precision of quantized models, pruning) rewrite the IR through
``dse.transforms`` and record each rewrite as an *edit* (a name and JSON arguments), so
that a design can be rebuilt from the model file, its config and its edits
(``replay``); tasks that change how the IR becomes hardware (folding, strategy, the
precision of float models) change the config only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from ..config import Config, LayerConfig, parse_precision
from ..errors import ConfigError
from ..ir import Graph, ops
from . import transforms as T


@dataclass(frozen=True)
class Design:
    """One candidate: the model file, its config, the IR as imported with that config
    (``base``), the IR edits applied to it in order, and the result (``source``)."""

    path: Path
    config: Config
    base: Graph
    edits: tuple = ()  # (name, {argument: value}) of transforms applied to base
    notes: tuple = ()  # what tasks skipped, and why
    float_model: bool = False  # precision comes from the config (float ONNX)
    source: Graph = field(default=None)

    def __post_init__(self):
        if self.source is None:
            object.__setattr__(self, "source", apply_edits(self.base, self.edits))

    def edit(self, name: str, **args) -> "Design":
        """This design with one more IR edit (a no-op edit is not recorded)."""
        new = EDITS[name](self.source, **args)
        if new is self.source:
            return self
        return replace(self, edits=self.edits + ((name, args),), source=new)

    def note(self, text: str) -> "Design":
        return replace(self, notes=self.notes + (text,))

    def with_config(self, config: Config) -> "Design":
        """The same design compiled with ``config``; re-imported when the precision of a
        float model changed (the edits are applied again)."""
        if _precisions(config) != _precisions(self.config):
            from ..frontend import load_model

            base = load_model(self.path, config)
            return replace(self, config=config, base=base, source=None)
        return replace(self, config=config)


def _precisions(c: Config) -> tuple:
    return (c.default_precision, c.weight_precision,
            tuple(sorted((k, v.precision, v.weight_precision) for k, v in c.layers.items())))


EDITS = {
    "requantize_weights": lambda g, layer, bits: T.requantize_weights(g, layer, int(bits)),
    "requantize_activation": lambda g, quantizer, bits: T.requantize_activation(g, quantizer,
                                                                                int(bits)),
    "prune_weights": lambda g, layer, sparsity: T.prune_weights(g, layer, float(sparsity)),
    "remove_channels": lambda g, layer, channels: T.remove_channels(g, layer, channels),
}


def apply_edits(graph: Graph, edits) -> Graph:
    for name, args in edits:
        if name not in EDITS:
            raise ConfigError(f"design edit {name!r} is not one of {', '.join(EDITS)}")
        graph = EDITS[name](graph, **args)
    return graph


def replay(model, edits):
    """An ``archgen.Model`` with the design edits of a DSE project applied to its source
    and the pipeline run again (what ``--emit-best`` wrote)."""
    from .. import Model
    from ..passes import run_pipeline

    source = apply_edits(model.source, [(e[0], e[1]) for e in edits])
    return Model(model.path, model.config, source, run_pipeline(source, model.config))


# -- task configs ------------------------------------------------------------------------------

def _per_layer(value, where: str, kind):
    """A value for every layer (a number) or per layer (a mapping name -> number)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): _per_layer(v, f"{where}.{k}", kind) for k, v in value.items()}
    if kind is int and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
        raise ConfigError(f"{where}: {value!r} is not an integer")
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f"{where}: {value!r} is not a number")
    return kind(value)


def _for(value, layer):
    return value.get(layer) if isinstance(value, dict) else value


def _layers_field(value, where):
    if value in (None, "all"):
        return "all"
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected 'all' or a list of layer names, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class QuantizeConfig:
    """Weight and activation precision per layer.  ``weight_bits``/``act_bits`` (2..16,
    one for all layers or a mapping per layer) re-quantize the IR of any model (never
    above the bits a tensor has); ``weight_precision``/``act_precision`` (``fixed<W,I>``
    strings) set a float model's config."""

    weight_bits: object = None
    act_bits: object = None
    weight_precision: object = None
    act_precision: object = None
    layers: object = "all"

    def __post_init__(self):
        for name in ("weight_bits", "act_bits"):
            v = _per_layer(getattr(self, name), name, int)
            for bits in (v.values() if isinstance(v, dict) else [v]):
                if bits is not None and not 2 <= bits <= 16:
                    raise ConfigError(f"{name}: {bits} is outside 2..16")
            object.__setattr__(self, name, v)
        for name in ("weight_precision", "act_precision"):
            v = getattr(self, name)
            for text in (v.values() if isinstance(v, dict) else [v]):
                if text is not None:
                    parse_precision(text, name)
        object.__setattr__(self, "layers", _layers_field(self.layers, "layers"))


@dataclass(frozen=True)
class PruneConfig:
    """Magnitude pruning.  ``unstructured``: the ``sparsity`` fraction of each layer's
    weights with the smallest magnitude become zero (rows left all zero are removed as
    channels when ``compact``).  ``channel``: the ``fraction`` of each layer's output
    channels with the smallest L1 norm are removed from the layer and its consumers."""

    mode: str = "unstructured"
    sparsity: object = None
    fraction: object = None
    layers: object = "all"
    compact: bool = True

    MODES = ("unstructured", "channel")

    def __post_init__(self):
        if self.mode not in self.MODES:
            raise ConfigError(f"mode: {self.mode!r} is not one of {', '.join(self.MODES)}")
        key = "sparsity" if self.mode == "unstructured" else "fraction"
        other = "fraction" if key == "sparsity" else "sparsity"
        if getattr(self, other) is not None:
            raise ConfigError(f"{other}: not a parameter of mode {self.mode} (use {key})")
        v = _per_layer(getattr(self, key), key, float)
        if v is None:
            raise ConfigError(f"{key}: required with mode {self.mode}")
        for f in (v.values() if isinstance(v, dict) else [v]):
            if not 0.0 <= f < 1.0:
                raise ConfigError(f"{key}: {f} is outside [0, 1)")
        object.__setattr__(self, key, v)
        if not isinstance(self.compact, bool):
            raise ConfigError(f"compact: {self.compact!r} is not true or false")
        object.__setattr__(self, "layers", _layers_field(self.layers, "layers"))


@dataclass(frozen=True)
class FoldConfig:
    """Parallelism.  ``folded``: PE = SIMD = 1 (least area); ``parallel``: every layer
    fully parallel (lowest latency); ``target``: the least folding meeting ``target_fps``
    at ``clock_mhz`` (FINN's order); ``pe``/``simd`` mappings set single layers."""

    mode: str = "folded"
    target_fps: float | None = None
    clock_mhz: float | None = None
    pe: object = None
    simd: object = None

    MODES = ("folded", "parallel", "target")

    def __post_init__(self):
        if self.mode not in self.MODES:
            raise ConfigError(f"mode: {self.mode!r} is not one of {', '.join(self.MODES)}")
        for name in ("target_fps", "clock_mhz"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                                  or not v > 0):
                raise ConfigError(f"{name}: {v!r} is not a positive number")
        if self.mode == "target" and self.target_fps is None:
            raise ConfigError("target_fps: required with mode target")
        if self.mode != "target" and self.target_fps is not None:
            raise ConfigError(f"target_fps: only with mode target (mode is {self.mode})")
        for name in ("pe", "simd"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, dict):
                raise ConfigError(f"{name}: expected a mapping of layer name to {name}")
            v = _per_layer(v, name, int)
            for n in (v or {}).values():
                if n < 1:
                    raise ConfigError(f"{name}: {n} is not a positive integer")
            object.__setattr__(self, name, v)


@dataclass(frozen=True)
class StrategyConfig:
    """The implementation strategy: ``dataflow`` or ``latency``."""

    strategy: str = "dataflow"

    def __post_init__(self):
        if self.strategy not in Config.STRATEGIES:
            raise ConfigError(f"strategy: {self.strategy!r} is not one of "
                              f"{', '.join(Config.STRATEGIES)}")


# -- tasks ---------------------------------------------------------------------------------------

def _selected(design: Design, cfg, candidates) -> list:
    if cfg.layers == "all":
        return list(candidates)
    return [name for name in cfg.layers]


def quantize(design: Design, cfg: QuantizeConfig) -> Design:
    layers = _selected(design, cfg, T.weight_layers(design.source))
    if cfg.weight_precision is not None or cfg.act_precision is not None:
        if not design.float_model:
            raise ConfigError("weight_precision/act_precision set a float model's precision; "
                              "this model is quantized already: use weight_bits/act_bits")
        conf = design.config
        new_layers = dict(conf.layers)
        for name in layers:
            lc = new_layers.get(name, LayerConfig())
            wp, ap = _for(cfg.weight_precision, name), _for(cfg.act_precision, name)
            new_layers[name] = replace(lc, weight_precision=wp or lc.weight_precision,
                                       precision=ap or lc.precision)
        design = design.with_config(replace(conf, layers=new_layers))
    explicit = cfg.layers != "all"
    for name in layers:
        wb, ab = _for(cfg.weight_bits, name), _for(cfg.act_bits, name)
        if wb is not None:
            design = _try(design, explicit, "quantize", "requantize_weights", layer=name, bits=wb)
        if ab is not None:
            q = T.input_quantizer(design.source, name)
            if q is None:
                msg = (f"{name}: its input does not come from a Quantize node (thresholds or "
                       "a layer's output), act_bits ignored")
                if explicit:
                    raise ConfigError(f"quantize: {msg}")
                design = design.note(f"quantize: {msg}")
            else:
                design = _try(design, explicit, "quantize", "requantize_activation",
                              quantizer=q.name, bits=ab)
    return design


def _try(design: Design, explicit: bool, task: str, edit: str, **args) -> Design:
    """The edit, or (for layers not named explicitly) a note of why it does not apply."""
    try:
        return design.edit(edit, **args)
    except T.NotApplicable as e:
        if explicit:
            raise ConfigError(f"{task}: {e}") from None
        return design.note(f"{task}: {e}")


def prune(design: Design, cfg: PruneConfig) -> Design:
    layers = _selected(design, cfg, T.weight_layers(design.source))
    explicit = cfg.layers != "all"
    for name in layers:
        if cfg.mode == "unstructured":
            s = _for(cfg.sparsity, name)
            if s:
                design = _try(design, explicit, "prune", "prune_weights", layer=name, sparsity=s)
            if cfg.compact:
                rows = T.zero_rows(design.source, name)
                if rows:
                    design = _remove(design, name, rows, False)
        else:
            f = _for(cfg.fraction, name)
            if not f:
                continue
            norms = T.channel_norms(design.source, name)
            k = min(int(math.floor(f * norms.size)), norms.size - 1)
            if k <= 0:
                continue
            drop = sorted(int(i) for i in np.argsort(norms, kind="stable")[:k])
            design = _remove(design, name, drop, explicit)
    return design


def _remove(design: Design, layer: str, channels, explicit: bool) -> Design:
    return _try(design, explicit, "prune", "remove_channels", layer=layer,
                channels=list(channels))


def parallel_folding(graph: Graph) -> dict:
    """(pe, simd) of every foldable layer fully parallel, from the source IR: a dense
    layer's outputs and inputs, a convolution's outputs and input channels, the channels
    of a depthwise convolution or a pooling."""
    out = {}
    for n in graph.nodes:
        op = n.op
        if isinstance(op, ops.Dense):
            out[n.name] = tuple(int(d) for d in op.weight.shape)
        elif isinstance(op, ops.Conv):
            if op.group == 1:
                out[n.name] = (int(op.weight.shape[0]), int(op.weight.shape[1]))
            else:
                out[n.name] = (int(op.weight.shape[0]), 1)
        elif isinstance(op, ops.Pool):
            shape = graph.tensors[n.inputs[0]].shape
            c = shape[-1] if op.channels_last else shape[0]
            out[n.name] = (int(c), 1)
    return out


def fold(design: Design, cfg: FoldConfig) -> Design:
    conf = design.config
    layers = {k: replace(v, pe=None, simd=None) for k, v in conf.layers.items()}
    target = None
    if cfg.mode == "parallel":
        for name, (pe, simd) in parallel_folding(design.source).items():
            layers[name] = replace(layers.get(name, LayerConfig()), pe=pe, simd=simd)
    elif cfg.mode == "target":
        target = float(cfg.target_fps)
    for key in ("pe", "simd"):
        for name, v in (getattr(cfg, key) or {}).items():
            lc = layers.get(name, LayerConfig())
            layers[name] = replace(lc, **{key: v})
    changes = {"layers": layers, "target_fps": target}
    if cfg.clock_mhz is not None:
        changes["clock_mhz"] = float(cfg.clock_mhz)
    return design.with_config(replace(conf, **changes))


def strategy(design: Design, cfg: StrategyConfig) -> Design:
    return design.with_config(replace(design.config, strategy=cfg.strategy))


@dataclass(frozen=True)
class Task:
    fn: object
    config: type


TASKS = {
    "quantize": Task(quantize, QuantizeConfig),
    "prune": Task(prune, PruneConfig),
    "fold": Task(fold, FoldConfig),
    "strategy": Task(strategy, StrategyConfig),
}


def task_params(name: str) -> tuple:
    return tuple(f.name for f in fields(TASKS[name].config))
