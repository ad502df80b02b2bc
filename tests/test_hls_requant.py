"""C simulation of the requant kernel (hw/hls/requant.h) through its layer header
(templates/hls/requant.h.j2): bit-exact against the unit's golden() over the RTL cell's
grid (tests/test_cell_requant.py: lanes, signed/unsigned/bipolar inputs, shared and
per-channel (also negative) multipliers, floor and half-even rounding with ties, clamping
on both sides, a product wider than one DSP, shift 0, a 1-bit output), four frames per
configuration, silent under -Wall -Wextra."""

import pytest

from hlscell import run_kernel
from test_cell_requant import CASES


@pytest.mark.parametrize("name", list(CASES))
def test_requant_csim(tmp_path, name):
    op, ins, outs, xs = CASES[name]()
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=4) == ""
