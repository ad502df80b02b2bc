"""Model importers: ONNX (QONNX, QDQ, float) and, later, NIR."""

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
    raise ModelError(f"{p}: unknown model type {p.suffix or '(no extension)'!r} (supported: .onnx)")
