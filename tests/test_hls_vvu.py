"""C simulation of the vvu kernel (hw/hls/vvu.h, depthwise convolution) through its layer
header (templates/hls/vvu.h.j2): bit-exact against the unit's golden() over the RTL cell's
grid (tests/test_cell_vvu.py: channel folding, tap-major windows, signed/unsigned/bipolar
operands, input zero points), several frames per configuration, silent under -Wall -Wextra."""

import numpy as np
import pytest

from hlscell import run_kernel
from test_cell_mvu import KINDS, inputs
from test_cell_vvu import CASES, layer


@pytest.mark.parametrize("name", list(CASES))
def test_vvu_csim(tmp_path, name):
    op, ins, outs = layer(*CASES[name], seed=5)
    assert run_kernel(tmp_path, op, ins, outs, inputs(ins, 4, 5), frames=4) == ""


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_vvu_csim_random(tmp_path, seed):
    rng = np.random.default_rng(600 + seed)
    channels, taps = int(rng.integers(1, 9)), int(rng.integers(1, 10))
    pe = int(rng.choice([d for d in range(1, channels + 1) if channels % d == 0]))
    xk, wk = str(rng.choice(KINDS)), str(rng.choice(KINDS))
    zx = 0 if xk == "bip" else int(rng.integers(-3, 4))
    lead = [(1,), (3,), (2, 2)][int(rng.integers(0, 3))]
    case = (channels, taps, pe, xk, wk, zx, lead)
    op, ins, outs = layer(*case, seed=seed)
    assert run_kernel(tmp_path, op, ins, outs, inputs(ins, 3, seed), frames=3) == "", case
