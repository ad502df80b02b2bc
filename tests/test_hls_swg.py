"""C simulation of the swg kernel (hw/hls/swg.h, the line-buffer window generator) through
its layer header (templates/hls/swg.h.j2): bit-exact against the unit's golden() over the
RTL cell's grid (tests/test_cell_swg.py: 1-D and 2-D windows, kernels, strides, asymmetric
and ceil-mode padding with nonzero pad codes, dilation, SIMD 1..C), several frames per
configuration, silent under -Wall -Wextra."""

import numpy as np
import pytest

from hlscell import run_kernel
from test_cell_swg import CASES, SLOW_CASES, layer


def _codes(x, frames, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(x.quant.lo, x.quant.hi + 1, size=(frames,) + x.shape)]


@pytest.mark.parametrize("name", list(CASES))
def test_swg_csim(tmp_path, name):
    op, x, y = layer(CASES[name])
    assert run_kernel(tmp_path, op, [x], [y], _codes(x, 4, 3), frames=4) == ""


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_CASES))
def test_swg_csim_bigger(tmp_path, name):
    op, x, y = layer(SLOW_CASES[name])
    assert run_kernel(tmp_path, op, [x], [y], _codes(x, 3, 4), frames=3) == ""
