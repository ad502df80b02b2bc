"""Fuzz the model loader: whatever the bytes, only ArchgenError may escape."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import archgen
from archgen.errors import ArchgenError
from archgen.frontend import load_model

import qonnx_models as qm

# Found by this fuzzer and fixed: non-UTF-8 names (protobuf returns bytes), a Quant node
# with fewer than 4 inputs, a mistyped rounding_mode attribute (tests/test_bad_input.py
# pins each of them).

VALID = qm.mlp_bytes()
X = qm.inputs(n=4)
FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def _load_bytes(data: bytes, full: bool):
    fd, name = tempfile.mkstemp(suffix=".onnx")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if full:
            m = archgen.load(name)
            m.golden(X)
        else:
            load_model(Path(name))
    except ArchgenError:
        pass
    finally:
        os.unlink(name)


@st.composite
def mutated(draw):
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "delete", "insert"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[i] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[i:]
        elif kind == "delete":
            del data[i:i + draw(st.integers(1, 16))]
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    _load_bytes(data, full=False)


@FUZZ
@given(mutated())
def test_mutated_model_frontend(data):
    _load_bytes(data, full=False)


@FUZZ
@given(mutated())
def test_mutated_model_full(data):
    _load_bytes(data, full=True)


def test_valid_model_loads():
    fd, name = tempfile.mkstemp(suffix=".onnx")
    with os.fdopen(fd, "wb") as f:
        f.write(VALID)
    try:
        assert np.asarray(archgen.load(name).golden(X)).shape == (4, 4)
    finally:
        os.unlink(name)
