"""Model importers: ONNX (QONNX, QDQ, float) and NIR (spiking networks)."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..errors import ModelError


def load_model(path, config: Config | None = None):
    """Import a model file by its extension into an IR Graph."""
    p = Path(path)
    if p.suffix.lower() == ".onnx":
        from .onnx import load_onnx

        return load_onnx(p, config)
    if p.suffix.lower() == ".nir":
        from .nir import load_nir

        if not p.is_file():
            raise ModelError(f"{p}: model file not found")
        return load_nir(p, config or Config())
    raise ModelError(f"{p}: unknown model type {p.suffix or '(no extension)'!r} "
                     "(supported: .onnx, .nir)")
