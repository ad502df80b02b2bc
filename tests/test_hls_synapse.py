"""C simulation of the synapse kernel (hw/hls/synapse.h) through its layer header
(templates/hls/synapse.h.j2): bit-exact against the unit's golden() over the RTL cell's
grid (tests/test_cell_synapse.py: folding, signed/unsigned/bipolar weights, spike frames of
every density, all-zero and all-one frames), many frames per compile (the accumulators are
the kernel's state across calls), silent under -Wall -Wextra."""

import pytest

from archgen.backends import hls
from hlscell import run_kernel
from test_cell_synapse import CASES, layer, spikes


HLS_CASES = {
    **{name: CASES[name] for name in ("n4k8-pe1simd1-i4", "n6k12-pe2simd3-u3",
                                      "n12k24-pe3simd8-bip", "n4k32-pe4simd32-i16",
                                      "n3k40-pe1simd5-i2")},
    "n16k24-pe8simd6-i12": (16, 24, 8, 6, "i12"),  # 96-bit weight words (ap_uint table)
}


@pytest.mark.parametrize("name", list(HLS_CASES))
def test_synapse_csim(tmp_path, name):
    op, ins, outs = layer(*HLS_CASES[name], seed=5)
    xs, _ = spikes(op.weight.shape[1], 0.3, 5, extra=3)
    assert run_kernel(tmp_path, op, ins, outs, [xs], frames=len(xs)) == ""


def test_synapse_header_weight_storage():
    """One word per (spike, row group); small ROMs in LUTRAM, deep ones in block RAM."""
    op, ins, outs = layer(*CASES["n6k12-pe2simd3-u3"])
    text = hls.layer_files("small", op, ins, outs)["small.h"]
    assert "impl=lutram" in text and text.count('ap_uint<WW>("') == 12 * 3
    op, ins, outs = layer(8, 512, 1, 8, "i8")  # 4096 words of 8 bits
    text = hls.layer_files("deep", op, ins, outs)["deep.h"]
    assert "impl=bram" in text and text.count('ap_uint<WW>("') == 512 * 8


def test_synapse_csim_vectors_per_frame(tmp_path):
    """A convolution's synapse: 2x3 windows per frame, each walked on its own."""
    import numpy as np

    op, ins, outs = layer(6, 12, 2, 3, "i4", seed=5, positions=(2, 3))
    rng = np.random.default_rng(12)
    xs = np.stack([(rng.random((2, 3, 12)) < d).astype(np.int64)
                   for d in (0.0, 0.05, 0.3, 1.0) for _ in range(2)])
    assert run_kernel(tmp_path, op, ins, outs, [xs], frames=len(xs)) == ""
