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


# The longest tests (minutes of yosys or a Verilator build and simulation each) go first,
# so pytest-xdist spreads them over the workers instead of leaving one of them at the end
# while the other idles.
# (test_report_synth... stays in place: it synthesizes mlp_w1a1 as the fixture synthesis
# does, and by then finds it in the cache.)
LONG_FIRST = ("test_synthesizes_without_latches", "test_cnns_simulate_bit_exact",
              "test_rtl_equals_golden_and_snntorch",
              "test_mlps_simulate_bit_exact_in_verilator")


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        name = item.name
        for i, prefix in enumerate(LONG_FIRST):
            if name.startswith(prefix):
                return i
        return len(LONG_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
