"""C simulation of the thresholds kernel (hw/hls/thresholds.h) through its layer header
(templates/hls/thresholds.h.j2): bit-exact against the unit's golden() over the RTL cell's
grid (tests/test_cell_thresholds.py: lanes, signed/unsigned/bipolar inputs, shared and
per-channel thresholds, negation, repeated thresholds, a bipolar output, no thresholds,
the 32 x 255 tables the RTL keeps in a ROM), four frames per configuration, silent under
-Wall -Wextra."""

import pytest

from hlscell import run_kernel
from test_cell_thresholds import CASES


@pytest.mark.parametrize("name", list(CASES))
def test_thresholds_csim(tmp_path, name):
    op, ins, outs, xs, _ = CASES[name]()
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=4) == ""
