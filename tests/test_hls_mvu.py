"""C simulation of the mvu kernel (hw/hls/mvu.h) through its layer header
(templates/hls/mvu.h.j2): bit-exact against the unit's golden() over the RTL cell's grid
(tests/test_cell_mvu.py: folding, signed/unsigned/bipolar operands, XNOR-popcount, input
zero points), several frames per configuration, silent under -Wall -Wextra."""

import numpy as np
import pytest

from archgen.backends import hls
from hlscell import run_kernel
from test_cell_mvu import CASES, inputs, layer, random_case


@pytest.mark.parametrize("name", list(CASES))
def test_mvu_csim(tmp_path, name):
    op, ins, outs = layer(*CASES[name], seed=5)
    assert run_kernel(tmp_path, op, ins, outs, inputs(ins, 4, 5), frames=4) == ""


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_mvu_csim_random(tmp_path, seed):
    case = random_case(np.random.default_rng(500 + seed))
    op, ins, outs = layer(*case, seed=seed)
    assert run_kernel(tmp_path, op, ins, outs, inputs(ins, 3, seed), frames=3) == "", case


def test_mvu_header_weight_storage():
    """Small weight memories are LUTRAM ROMs, deep ones block RAM; one word per (nf, sf)."""
    op, ins, outs = layer(*CASES["pe2simd3-u8i4-zx"])
    text = hls.layer_files("small", op, ins, outs)["small.h"]
    assert "impl=lutram" in text and text.count('ap_uint<WW>("') == 4 * 4
    assert "static ap_int<ACC_BITS> bias(int row)" in text  # the zero point's bias table
    op, ins, outs = layer(32, 256, 1, 4, "u4", "i4")  # 2048 words of 16 bits
    text = hls.layer_files("deep", op, ins, outs)["deep.h"]
    assert "impl=bram" in text and text.count('ap_uint<WW>("') == 2048
    assert "return 0;" in text  # no zero point: no bias table
