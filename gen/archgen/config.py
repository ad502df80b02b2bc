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


@dataclass(frozen=True)
class Config:
    default_precision: str = "fixed<16,6>"
    weight_precision: str | None = None  # defaults to default_precision
    requant: str = "auto"  # auto | thresholds | multiply_shift
    strategy: str = "dataflow"
    clock_mhz: float = 100.0
    target_fps: float | None = None
    part: str = "xc7z020clg400-1"
    layers: dict = field(default_factory=dict)

    REQUANT = ("auto", "thresholds", "multiply_shift")
    STRATEGIES = ("dataflow", "latency")

    def __post_init__(self):
        parse_precision(self.default_precision, "default_precision")
        if self.weight_precision is not None:
            parse_precision(self.weight_precision, "weight_precision")
        if self.requant not in self.REQUANT:
            raise ConfigError(f"requant: {self.requant!r} is not one of {', '.join(self.REQUANT)}")
        if self.strategy not in self.STRATEGIES:
            raise ConfigError(f"strategy: {self.strategy!r} is not one of {', '.join(self.STRATEGIES)}")
        for name, layer in self.layers.items():
            for key in ("precision", "weight_precision"):
                if getattr(layer, key) is not None:
                    parse_precision(getattr(layer, key), f"layers.{name}.{key}")
            for key in ("pe", "simd"):
                v = getattr(layer, key)
                if v is not None and (not isinstance(v, int) or v < 1):
                    raise ConfigError(f"layers.{name}.{key}: {v!r} is not a positive integer")

    def precision_for(self, layer: str) -> QuantSpec:
        lc = self.layers.get(layer)
        text = lc.precision if lc and lc.precision else self.default_precision
        return parse_precision(text, f"layers.{layer}.precision")

    def weight_precision_for(self, layer: str) -> QuantSpec:
        lc = self.layers.get(layer)
        text = (lc.weight_precision if lc and lc.weight_precision
                else self.weight_precision or self.default_precision)
        return parse_precision(text, f"layers.{layer}.weight_precision")

    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "layers"}
        out["layers"] = {k: {f.name: getattr(v, f.name) for f in fields(v)
                             if getattr(v, f.name) is not None}
                         for k, v in sorted(self.layers.items())}
        return out


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
    try:
        return Config(layers=layers, **data)
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
    data = dict(data) if isinstance(data, dict) else data
    if isinstance(data, dict):
        data.update({k: v for k, v in overrides.items() if v is not None})
    return config_from_dict(data, where)
