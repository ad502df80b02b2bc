"""C simulation of the cmvm kernel (hw/hls/cmvm.h) through its layer header
(templates/hls/cmvm.h.j2): bit-exact against the unit's golden() over the RTL cell's grids
(tests/test_cell_cmvm.py: signed/unsigned/bipolar inputs and weights, zero points, all-negative
and zero rows, several vectors per frame, plain CSD; with the output stage: multipliers of
1..6 CSD digits of both signs, both clamps, shifts 0..), the extreme inputs first, silent
under -Wall -Wextra; and the jet MLP under ``strategy: latency`` through the CLI's csim."""

import json
from pathlib import Path

import numpy as np
import pytest

from hlscell import run_kernel
from test_cell_cmvm import CASES, RQ_CASES, inputs, layer, rq_layer

FIX = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name", [n for n in CASES if n != "64x16-i6i6"])
def test_cmvm_csim(tmp_path, name):
    op, ins, outs = layer(*CASES[name])
    xs = inputs(ins, 8, 0, op)
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=8) == ""


@pytest.mark.parametrize("name", list(RQ_CASES))
def test_cmvm_requant_csim(tmp_path, name):
    op, ins, outs = rq_layer(name)
    xs = inputs(ins, 8, 1, op)
    assert run_kernel(tmp_path, op, ins, outs, xs, frames=8) == ""


def test_jet_mlp_latency_strategy_csim(tmp_path):
    """The whole jet MLP as cmvm kernels with their requantizers folded in, C-simulated
    bit-exact against the golden model (the model's own csim)."""
    import archgen
    from hlscell import need

    need()
    model = archgen.load(FIX / "mlp_w6a6.onnx", strategy="latency")
    x = np.load(FIX / "mlp_w6a6.npz")["x"]
    got = model.csim(x, project_dir=tmp_path / "p")
    assert np.array_equal(got, model.golden(x))
    rep = json.loads((tmp_path / "p" / "reports" / "csim.json").read_text())
    assert rep["mismatches"] == 0 and rep["frames"] == len(x)
