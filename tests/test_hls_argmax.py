"""C simulation of the argmax kernel (hw/hls/argmax.h) through its layer header
(templates/hls/argmax.h.j2): bit-exact against the unit's golden() over the RTL cell's grid
(tests/test_cell_argmax.py: lanes 1, a divisor, all, not a power of two; signed/unsigned/
bipolar inputs; several vectors per frame; ties, where the first index wins, also against
the tournament's padded leaves; the k best for k 2, 3 and n, with fewer lanes than k, as
many and more, k above the beats per vector), four frames per configuration, silent under
-Wall -Wextra."""

import pytest

from hlscell import run_kernel
from test_cell_argmax import CASES


@pytest.mark.parametrize("name", list(CASES))
def test_argmax_csim(tmp_path, name):
    op, ins, outs, xs = CASES[name]()
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=4) == ""
