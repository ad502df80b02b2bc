"""C simulation of the add kernel (hw/hls/add.h, residual add) through its layer header
(templates/hls/add.h.j2): bit-exact against the unit's golden() over the RTL cell's grid
(tests/test_cell_add.py: two input streams, weights and zero points of either sign as
canonical signed digits, signed/unsigned/bipolar inputs, lanes, a wide output), four frames
per configuration, silent under -Wall -Wextra."""

import pytest

from hlscell import run_kernel
from test_cell_add import CASES


@pytest.mark.parametrize("name", list(CASES))
def test_add_csim(tmp_path, name):
    op, ins, outs, xs = CASES[name]()
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=4) == ""
