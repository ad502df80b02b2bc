"""Shared fixtures: the committed models and their inputs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # tests/reference.py, tests/qonnx_models.py

FIXTURES = HERE / "fixtures"
MODELS = sorted(p.stem for p in FIXTURES.glob("*.onnx"))


def fixture_path(name: str) -> Path:
    return FIXTURES / f"{name}.onnx"


def fixture_input(name: str) -> np.ndarray:
    return np.load(FIXTURES / f"{name}.npz")["x"]


@pytest.fixture(scope="session")
def loaded():
    """archgen.load results, cached per session (import + passes run once per model)."""
    import archgen

    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = archgen.load(fixture_path(name))
        return cache[name]

    return get
