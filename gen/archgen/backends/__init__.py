"""Backends: render a lowered Graph into files of the project folder.

``get_backend(name)`` returns the backend module; each has ``files(model) -> {path: text}``
(paths relative to the project folder).  The registry is this explicit table.
"""

from __future__ import annotations

from ..errors import ConfigError

BACKENDS = ("verilog", "hls")  # every name the CLI accepts
_AVAILABLE = {"verilog": "verilog", "hls": "hls"}  # name -> module in this package


def available() -> tuple:
    return tuple(b for b in BACKENDS if b in _AVAILABLE)


def get_backend(name: str):
    import importlib

    if name not in BACKENDS:
        raise ConfigError(f"--backend: {name!r} is not one of {', '.join(BACKENDS)}, all")
    if name not in _AVAILABLE:
        raise ConfigError(f"--backend: backend {name!r} is not available yet in this version "
                          f"(available: {', '.join(available())})")
    return importlib.import_module(f"{__name__}.{_AVAILABLE[name]}")
