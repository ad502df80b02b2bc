"""C simulation of the concat kernel (hw/hls/concat.h) through its layer header
(templates/hls/concat.h.j2): bit-exact against the unit's golden() over the RTL cell's grid
(tests/test_cell_concat.py: 2 and 3 inputs, lanes, sign/zero extension, bipolar inputs made
-1/+1, an all-bipolar output, a cut to a narrower output, one pixel per frame), several
frames per configuration, silent under -Wall -Wextra."""

import numpy as np
import pytest

from hlscell import run_kernel
from test_cell_concat import CASES, build, codes


@pytest.mark.parametrize("case", list(CASES))
def test_concat_csim(tmp_path, case):
    op, ins, outs = build(case)
    rng = np.random.default_rng(7 + len(case))
    xs = [codes(rng, t, 4) for t in ins]
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=4) == ""
