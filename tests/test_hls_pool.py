"""C simulation of the pooling kernels (hw/hls/pool.h: the swg + window reduce in one
DATAFLOW region, or global pooling) through their layer header (templates/hls/pool.h.j2):
bit-exact against the unit's golden() over the RTL cell's grid (tests/test_cell_pool.py: max
and sum, strided windows with padding, ceil mode, global pooling, 1-D, bipolar inputs,
PE 1..C, an explicit pad code), several frames per configuration, silent under -Wall -Wextra."""

import numpy as np
import pytest

from archgen.ir.types import QuantSpec
from archgen.units import pool
from hlscell import run_kernel
from test_cell_pool import CASES, SLOW_CASES, layer


def _codes(x, frames, seed):
    rng = np.random.default_rng(seed)
    q = x.quant
    xs = rng.integers(q.lo, q.hi + 1, size=(frames,) + x.shape)
    return [np.where(xs >= 0, 1, -1) if q.bipolar else xs]


@pytest.mark.parametrize("name", list(CASES))
def test_pool_csim(tmp_path, name):
    op, x, y = layer(CASES[name])
    assert run_kernel(tmp_path, op, [x], [y], _codes(x, 4, 8), frames=4) == ""


def test_pool_csim_explicit_pad_value(tmp_path):
    """A padded sum with an explicit pad code (every padded tap adds it)."""
    op, x, y = layer(((5, 5, 2), "sum", (3, 3), (2, 2), (1, 0, 1, 2), False, 1,
                      QuantSpec(bits=5, signed=True)), pad_value=-3)
    assert pool.context(op, [x], [y])["pad_bits"] == 29
    assert run_kernel(tmp_path, op, [x], [y], _codes(x, 4, 9), frames=4) == ""


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_CASES))
def test_pool_csim_bigger(tmp_path, name):
    op, x, y = layer(SLOW_CASES[name])
    assert run_kernel(tmp_path, op, [x], [y], _codes(x, 3, 10), frames=3) == ""
