"""archgen golden vs the source framework's own execution, on every fixture.

Contract (ARCHITECTURE.md, Numbers): >= 99% of output elements exactly equal, the rest
within one output quantization step.  The reference computes in float32, so
differences below 1% of a step count as equal.  Float models are quantized by archgen
at the default precision, so they are measured against the float model in LSBs.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MODELS, fixture_input, fixture_path
from reference import agreement, output_step, run_reference


QUANTIZED = [m for m in MODELS if m != "mlp_float"]


@pytest.mark.parametrize("name", QUANTIZED)
def test_matches_source_framework(name, loaded):
    model = loaded(name)
    x = fixture_input(name)
    ours = model.golden(x)
    ref = run_reference(fixture_path(name), x)
    assert ours.shape == ref.shape
    a = agreement(ours, ref, output_step(model))
    assert a.exact >= 0.99, a
    assert a.within_one == 1.0, a


@pytest.mark.parametrize("name", QUANTIZED)
def test_matches_on_random_inputs(name, loaded):
    """Inputs spread beyond the calibration data (saturating the input quantizer too)."""
    model = loaded(name)
    x = fixture_input(name)
    rng = np.random.default_rng(7)
    # float32, as the reference takes it: archgen must see the same input values
    xr = (rng.normal(size=(64,) + x.shape[1:]) * x.std() * 1.5 + x.mean()).astype(np.float32)
    a = agreement(model.golden(xr), run_reference(fixture_path(name), xr), output_step(model))
    assert a.exact >= 0.99, a
    assert a.within_one == 1.0, a


def test_float_model_within_fixed_point_error(loaded):
    """mlp_float at the default fixed<16,6>: the error is the quantization's.  Weights keep
    10 fractional bits, so each of the 32 products of the last layer errs by up to half
    an LSB times an activation of a few units: a few LSB typical, tens at worst."""
    model = loaded("mlp_float")
    x = fixture_input("mlp_float")
    lsb = 2.0 ** -10
    err = np.abs(model.golden(x) - run_reference(fixture_path("mlp_float"), x)) / lsb
    assert err.max() <= 24, err.max()
    assert err.mean() <= 6, err.mean()
