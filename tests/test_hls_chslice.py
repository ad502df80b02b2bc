"""C simulation of the chslice kernel (hw/hls/chslice.h) through its layer header
(templates/hls/chslice.h.j2): bit-exact against the unit's golden() over the RTL cell's grid
(tests/test_cell_chslice.py: slices at the start, the end and in the middle of 4 to 24
channels, 1, 2 and gcd lanes, signed, unsigned and bipolar elements, (H, W, C) and (C,)
tensors, a slice of the whole pixel), several frames per configuration, silent under
-Wall -Wextra.  One compile per configuration (~2 s of g++): six of them cover the grid's
axes by default, the rest are slow."""

import numpy as np
import pytest

from hlscell import run_kernel
from test_cell_chslice import CASES, build, codes


FAST = ("c4_head_u8_pe1", "c12_tail_s5_pe2", "c24_mid_s8_pe3", "c18_mid_bipolar_pe6",
        "c7_mid_flat_u3_pe1", "c5_whole_s3_pe5")


@pytest.mark.parametrize("case", [c if c in FAST else pytest.param(c, marks=pytest.mark.slow)
                                  for c in CASES])
def test_chslice_csim(tmp_path, case):
    op, ins, outs = build(case)
    rng = np.random.default_rng(7 + len(case))
    xs = [codes(rng, t, 4) for t in ins]
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=4) == ""
