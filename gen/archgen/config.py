"""User configuration: the YAML config file and the options that override it.

Unknown keys are errors that name the key and list the valid ones; nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from .errors import ConfigError
from .ir.types import QuantSpec

_PRECISION = re.compile(r"^\s*(u?)(fixed|int)<\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?>\s*$")


def parse_precision(text: str, where: str) -> QuantSpec:
    """``fixed<W,I>``, ``ufixed<W,I>``, ``int<W>``, ``uint<W>`` -> QuantSpec."""
    m = _PRECISION.match(str(text))
    if not m:
        raise ConfigError(f"{where}: precision {text!r} is not one of fixed<W,I>, ufixed<W,I>, "
                          "int<W>, uint<W>")
    unsigned, kind, width, integer = m.groups()
    width = int(width)
    if not 1 <= width <= 32:
        raise ConfigError(f"{where}: precision {text!r} must have 1..32 bits")
    if kind == "int":
        if integer is not None:
            raise ConfigError(f"{where}: precision {text!r}: int<W> takes one number")
        integer = width
    elif integer is None:
        raise ConfigError(f"{where}: precision {text!r}: fixed<W,I> takes two numbers")
    return QuantSpec.fixed(width, int(integer), signed=not unsigned)


@dataclass(frozen=True)
class LayerConfig:
    """Per-layer settings, keyed by the layer's (sanitized) node name."""

    precision: str | None = None  # activation quantizer inserted before this layer
    weight_precision: str | None = None
    pe: int | None = None
    simd: int | None = None
    # deformable convolution: |offset| <= max_offset pixels (offsets beyond it are clamped),
    # so the sampler keeps a line buffer instead of the whole frame (see units/dswg.py)
    max_offset: int | None = None
    weight_memory: str | None = None  # this layer's weight ROM; None: the global option


@dataclass(frozen=True)
class SnnConfig:
    """How a spiking (NIR) model's continuous neurons become integer hardware; see
    frontend/nir.py and the README's spiking section for the semantics."""

    dt: float = 1e-4  # forward-Euler time step (snnTorch's exporter assumes 1e-4)
    membrane: str = "fixed<16,6>"  # membrane (and synaptic current) state precision
    decay_bits: int = 16  # fraction bits of a multiplying leak: beta ~ d / 2**decay_bits
    leak: str = "multiply"  # multiply | shift (beta = 1 - 2**-k exactly)
    reset: str = "zero"  # zero (to NIR's v_reset) | subtract | none
    time_steps: int | None = None  # steps per sample in hardware (state resets after them)
    synapse: str = "event"  # event (skips zero spikes) | dense (the mvu: every input, every step)

    LEAKS = ("multiply", "shift")
    RESETS = ("zero", "subtract", "none")
    SYNAPSES = ("event", "dense")

    def __post_init__(self):
        q = parse_precision(self.membrane, "snn.membrane")
        if not q.signed:
            raise ConfigError(f"snn.membrane: {self.membrane!r} must be signed (fixed<W,I>)")
        if not isinstance(self.dt, (int, float)) or isinstance(self.dt, bool) or not self.dt > 0:
            raise ConfigError(f"snn.dt: {self.dt!r} is not a positive number")
        if not isinstance(self.decay_bits, int) or not 1 <= self.decay_bits <= 24:
            raise ConfigError(f"snn.decay_bits: {self.decay_bits!r} is not an integer in 1..24")
        if self.leak not in self.LEAKS:
            raise ConfigError(f"snn.leak: {self.leak!r} is not one of {', '.join(self.LEAKS)}")
        if self.synapse not in self.SYNAPSES:
            raise ConfigError(f"snn.synapse: {self.synapse!r} is not one of {', '.join(self.SYNAPSES)}")
        if self.reset not in self.RESETS:
            raise ConfigError(f"snn.reset: {self.reset!r} is not one of {', '.join(self.RESETS)}")
        t = self.time_steps
        if t is not None and (not isinstance(t, int) or isinstance(t, bool) or t < 1):
            raise ConfigError(f"snn.time_steps: {t!r} is not a positive integer")

    @property
    def state(self) -> QuantSpec:
        return parse_precision(self.membrane, "snn.membrane")


@dataclass(frozen=True)
class Config:
    default_precision: str = "fixed<16,6>"
    weight_precision: str | None = None  # defaults to default_precision
    requant: str = "auto"  # auto | thresholds | multiply_shift
    strategy: str = "dataflow"  # dataflow (folded units) | latency (fully parallel, multiplier-free)
    latency_depth: int = 2  # latency strategy: adder levels between pipeline registers
    # latency strategy: operands per adder of the cmvm trees, 3 (ternary adders: a LUT per
    # bit on Xilinx carry chains, as a binary adder) or 2
    latency_arity: int = 3
    clock_mhz: float = 100.0
    target_fps: float | None = None
    part: str = "xc7z020clg400-1"
    # where the weight ROMs of mvu/vvu/synapse layers go: auto (by size, as yosys would
    # place them: estimate.memory.weight_placement; then passes/place_weights spends the
    # part's spare block RAM on the ROMs saving most LUTs) | bram | lutram | logic
    weight_memory: str = "auto"
    # beats of FIFO in front of a layer input ("LAYER", or "LAYER:k" for input k; 0: none),
    # over the plan's own rules (backends/hardware.py); `generate --size-fifos` writes them
    fifo_depths: dict = field(default_factory=dict)
    layers: dict = field(default_factory=dict)
    snn: SnnConfig = field(default_factory=SnnConfig)

    REQUANT = ("auto", "thresholds", "multiply_shift")
    STRATEGIES = ("dataflow", "latency")

    def __post_init__(self):
        parse_precision(self.default_precision, "default_precision")
        if self.weight_precision is not None:
            parse_precision(self.weight_precision, "weight_precision")
        if self.requant not in self.REQUANT:
            raise ConfigError(f"requant: {self.requant!r} is not one of {', '.join(self.REQUANT)}")
        if not isinstance(self.latency_depth, int) or isinstance(self.latency_depth, bool) \
                or self.latency_depth < 1:
            raise ConfigError(f"latency_depth: {self.latency_depth!r} is not a positive integer")
        if self.latency_arity not in (2, 3) or isinstance(self.latency_arity, bool):
            raise ConfigError(f"latency_arity: {self.latency_arity!r} is not 2 or 3")
        if self.strategy not in self.STRATEGIES:
            raise ConfigError(f"strategy: {self.strategy!r} is not one of {', '.join(self.STRATEGIES)}")
        _check_weight_memory(self.weight_memory, "weight_memory")
        if not isinstance(self.fifo_depths, dict):
            raise ConfigError(f"fifo_depths: {self.fifo_depths!r} is not a mapping of layer input "
                              "to FIFO depth")
        for key, v in self.fifo_depths.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v == 1:
                raise ConfigError(f"fifo_depths.{key}: {v!r} is not 0 (no FIFO) or a depth >= 2")
        for name, layer in self.layers.items():
            for key in ("precision", "weight_precision"):
                if getattr(layer, key) is not None:
                    parse_precision(getattr(layer, key), f"layers.{name}.{key}")
            for key in ("pe", "simd"):
                v = getattr(layer, key)
                if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                    raise ConfigError(f"layers.{name}.{key}: {v!r} is not a positive integer")
            if layer.weight_memory is not None:
                _check_weight_memory(layer.weight_memory, f"layers.{name}.weight_memory")
            v = layer.max_offset
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ConfigError(f"layers.{name}.max_offset: {v!r} is not a non-negative integer")

    def precision_for(self, layer: str) -> QuantSpec:
        lc = self.layers.get(layer)
        text = lc.precision if lc and lc.precision else self.default_precision
        return parse_precision(text, f"layers.{layer}.precision")

    def weight_precision_for(self, layer: str) -> QuantSpec:
        lc = self.layers.get(layer)
        text = (lc.weight_precision if lc and lc.weight_precision
                else self.weight_precision or self.default_precision)
        return parse_precision(text, f"layers.{layer}.weight_precision")

    def weight_memory_for(self, layer: str) -> str:
        """The ``weight_memory`` of a layer: its own setting, else the global one."""
        lc = self.layers.get(layer)
        return lc.weight_memory if lc and lc.weight_memory is not None else self.weight_memory

    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("layers", "snn")}
        out["fifo_depths"] = dict(sorted(self.fifo_depths.items()))
        out["snn"] = {f.name: getattr(self.snn, f.name) for f in fields(self.snn)}
        out["layers"] = {k: {f.name: getattr(v, f.name) for f in fields(v)
                             if getattr(v, f.name) is not None}
                         for k, v in sorted(self.layers.items())}
        return out


def _check_weight_memory(value, where: str):
    from .estimate.memory import WEIGHT_MEMORIES

    if value not in WEIGHT_MEMORIES:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(WEIGHT_MEMORIES)} "
                          "(auto: block RAM or logic by size; bram: block RAM; lutram: LUTs as "
                          "distributed ROM; logic: LUTs and registers)")


def _check_keys(data: dict, allowed, where: str):
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r} (valid: {', '.join(sorted(allowed))})")


def config_from_dict(data: dict, where: str = "config") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    top = {f.name for f in fields(Config)}
    _check_keys(data, top, where)
    data = dict(data)
    layers = {}
    raw_layers = data.pop("layers", None)
    raw_layers = {} if raw_layers is None else raw_layers
    if not isinstance(raw_layers, dict):
        raise ConfigError(f"{where}: layers must be a mapping of layer name to settings")
    layer_keys = {f.name for f in fields(LayerConfig)}
    for name, body in raw_layers.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: layers.{name} must be a mapping")
        _check_keys(body, layer_keys, f"{where}: layers.{name}")
        layers[str(name)] = LayerConfig(**body)
    raw_snn = data.pop("snn", None)
    raw_snn = {} if raw_snn is None else raw_snn
    if not isinstance(raw_snn, dict):
        raise ConfigError(f"{where}: snn must be a mapping of spiking-model settings")
    _check_keys(raw_snn, {f.name for f in fields(SnnConfig)}, f"{where}: snn")
    try:
        snn = SnnConfig(**raw_snn)
        return Config(layers=layers, snn=snn, **data)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None


def load_config(path: str | Path | None, **overrides) -> Config:
    """The config file (YAML) if given, with command-line overrides that are not None."""
    data = {}
    if path is not None:
        import yaml

        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            first = str(e).splitlines()[0] if str(e) else "invalid YAML"
            raise ConfigError(f"{p}: not valid YAML ({first})") from None
        where = str(p)
    else:
        where = "options"
    data = merge_options(data, overrides) if isinstance(data, dict) else data
    return config_from_dict(data, where)


def merge_options(data: dict, overrides: dict) -> dict:
    """``data`` (a config mapping) with the options that are not None; an ``snn`` mapping
    updates the config's own key by key."""
    out = dict(data)
    for k, v in overrides.items():
        if v is None:
            continue
        if k == "snn" and isinstance(v, dict) and isinstance(out.get("snn"), dict):
            v = {**out["snn"], **v}
        out[k] = v
    return out
