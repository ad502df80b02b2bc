"""NIR frontend and the spiking golden model: agreement with snnTorch's own spikes on the
committed fixtures, the NIR semantics of the nodes snnTorch does not export (IF, LI,
Scale, SumPool2d, Conv1d, subtractive reset) against a float forward-Euler reference, and
bad input."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest

import archgen
from archgen.cli import main
from archgen.errors import ConfigError, ModelError, UnsupportedOpError

FIX = Path(__file__).parent / "fixtures"
SNN = ("snn_dense", "snn_conv", "snn_cuba")


def _fixture(name):
    d = np.load(FIX / f"{name}.npz")
    return FIX / f"{name}.nir", d["x"], d["y"]


# -- agreement with snnTorch ----------------------------------------------------------------

@pytest.mark.parametrize("name", SNN)
def test_golden_reproduces_snntorch(name):
    """Default precision (membrane fixed<16,6>, weights fixed<16,6>): every spike equal."""
    path, x, y = _fixture(name)
    model = archgen.load(path)
    got = model.golden(x)
    assert got.shape == y.shape
    assert y.mean() > 0.02  # the fixture does spike
    assert np.array_equal(got, y)
    assert np.array_equal(model.reference(x), got)  # the passes change nothing


@pytest.mark.parametrize("name", SNN)
def test_narrow_membrane_agreement(name):
    """12-bit membrane (8 fraction bits): the leak's rounding moves a few membranes across
    the threshold; at least 99.8% of spikes stay equal (the README's table)."""
    path, x, y = _fixture(name)
    model = archgen.load(path, snn={"membrane": "fixed<12,4>"}, weight_precision="fixed<10,3>")
    got = model.golden(x)
    assert (got == y).mean() >= 0.998


def test_any_number_of_time_steps_and_state_reset():
    """golden accepts any T; each sample starts from zero state (a sample run alone gives
    the same spikes as inside a batch)."""
    path, x, y = _fixture("snn_dense")
    model = archgen.load(path, snn={"time_steps": 20})
    assert np.array_equal(model.golden(x[:7]), y[:7])
    assert np.array_equal(model.golden(x[:, 5:6]), y[:, 5:6])


def test_graph_of_the_dense_fixture():
    path, _, _ = _fixture("snn_dense")
    g = archgen.load(path, snn={"time_steps": 20}).graph
    kinds = [n.op.kind() for n in g.nodes]
    assert kinds == ["Quantize", "synapse", "lif", "synapse", "lif"]
    neuron = g.nodes[2].op
    assert neuron.model == "lif" and neuron.steps == 20 and neuron.reset == "zero"
    assert int(neuron.decay.reshape(-1)[0]) == round(0.9 * 2 ** 16)
    assert int(neuron.threshold.reshape(-1)[0]) == 2 ** 10  # 1.0 at 10 fraction bits
    assert neuron.in_shift == 0  # weights and membrane both fixed<16,6>


# -- NIR semantics beyond snnTorch's exporter -------------------------------------------

DT = 1e-4


def _euler(nodes, x):
    """A float forward-Euler run of a NIR chain (the frontend's documented equations)."""
    t_steps, batch = x.shape[:2]
    state = {}
    outs = []
    for t in range(t_steps):
        h = x[t].astype(np.float64)
        for k, n in nodes:
            kind = type(n).__name__
            if kind == "Affine":
                h = h @ n.weight.T + n.bias
            elif kind == "Linear":
                h = h @ n.weight.T
            elif kind == "Scale":
                h = h * n.scale
            elif kind == "SumPool2d":
                b, c, hh, ww = h.shape
                h = h.reshape(b, c, hh // 2, 2, ww // 2, 2).sum(axis=(3, 5))
            elif kind == "Flatten":
                h = h.reshape(h.shape[0], -1)
            elif kind == "Conv1d":
                w = n.weight
                pad = int(np.asarray(n.padding).reshape(-1)[0])
                hp = np.pad(h, ((0, 0), (0, 0), (pad, pad)))
                length = hp.shape[2] - w.shape[2] + 1
                h = np.stack([np.einsum("bck,ock->bo", hp[:, :, i:i + w.shape[2]], w)
                              for i in range(length)], axis=2) + n.bias[None, :, None]
            elif kind in ("LIF", "IF", "LI"):
                v = state.get(k, np.zeros_like(h))
                if kind == "IF":
                    v = v + DT * n.r * h
                else:
                    v = v + DT / n.tau * (n.v_leak - v + n.r * h)
                if kind == "LI":
                    state[k] = v
                    h = v
                    continue
                s = (v > n.v_threshold).astype(np.float64)
                state[k] = np.where(s > 0, v - n.v_threshold, v)  # subtractive reset
                h = s
        outs.append(h)
    return np.stack(outs)


def _write(tmp_path, nodes, name="net"):
    keys = [k for k, _ in nodes]
    graph = nir.NIRGraph(nodes=dict(nodes), edges=list(zip(keys[:-1], keys[1:])))
    path = tmp_path / f"{name}.nir"
    nir.write(str(path), graph)
    return path


def _grid(rng, shape, step=2.0 ** -5, scale=1.0):
    return np.round(rng.normal(0, scale, size=shape) / step) * step


def test_if_scale_subtract_and_li_readout(tmp_path):
    """Input -> Linear -> Scale -> IF (subtract reset) -> Affine -> LI (membrane out)."""
    rng = np.random.default_rng(5)
    n_in, n_h, n_out = 10, 12, 4
    nodes = [("in", nir.Input(input_type=np.array([n_in]))),
             ("fc1", nir.Linear(weight=_grid(rng, (n_h, n_in), scale=0.6))),
             ("sc", nir.Scale(scale=np.full(n_h, 0.5))),
             ("if1", nir.IF(r=np.full(n_h, 1 / DT), v_threshold=np.ones(n_h),
                            v_reset=np.zeros(n_h))),
             ("fc2", nir.Affine(weight=_grid(rng, (n_out, n_h), scale=0.5),
                                bias=_grid(rng, (n_out,), scale=0.1))),
             ("li", nir.LI(tau=np.full(n_out, 8 * DT), r=np.full(n_out, 1.0),
                           v_leak=np.zeros(n_out))),
             ("out", nir.Output(output_type=np.array([n_out])))]
    path = _write(tmp_path, nodes)
    x = (rng.random((15, 6, n_in)) < 0.4).astype(np.float32)
    ref = _euler(nodes[1:-1], x)
    model = archgen.load(path, snn={"reset": "subtract", "membrane": "fixed<20,6>"})
    got = model.golden(x)
    assert got.shape == ref.shape
    step = 2.0 ** -14
    # the LI membrane: equal to the float run within the leak's rounding (0.5 LSB a step)
    assert np.abs(got - ref).max() <= 15 * step
    kinds = [n.op.kind() for n in model.graph.nodes]
    assert kinds.count("lif") == 2


def test_conv1d_sumpool_flatten_lif(tmp_path):
    """Conv1d -> LIF -> Flatten -> Linear -> LIF; and Conv2d -> LIF -> SumPool2d."""
    rng = np.random.default_rng(6)
    c, length, o = 2, 12, 3
    nodes = [("in", nir.Input(input_type=np.array([c, length]))),
             ("conv", nir.Conv1d(input_shape=length, weight=_grid(rng, (o, c, 3), scale=0.7),
                                 stride=1, padding=1, dilation=1, groups=1,
                                 bias=_grid(rng, (o,), scale=0.1))),
             ("lif1", nir.LIF(tau=np.full((o, length), 8 * DT), r=np.full((o, length), 8.0),
                              v_leak=np.zeros((o, length)), v_threshold=np.ones((o, length)),
                              v_reset=np.zeros((o, length)))),
             ("flat", nir.Flatten(input_type={"input": np.array([o, length])}, start_dim=0,
                                  end_dim=-1)),
             ("fc", nir.Linear(weight=_grid(rng, (5, o * length), scale=0.5))),
             ("lif2", nir.LIF(tau=np.full(5, 4 * DT), r=np.full(5, 4.0), v_leak=np.zeros(5),
                              v_threshold=np.ones(5), v_reset=np.zeros(5))),
             ("out", nir.Output(output_type=np.array([5])))]
    path = _write(tmp_path, nodes)
    x = (rng.random((12, 5, c, length)) < 0.4).astype(np.float32)
    ref = _euler(nodes[1:-1], x)
    got = archgen.load(path, snn={"reset": "subtract"}).golden(x)
    assert (got == ref).mean() >= 0.99
    assert ref.mean() > 0.05

    nodes2 = [("in", nir.Input(input_type=np.array([1, 4, 4]))),
              ("conv", nir.Conv2d(input_shape=(4, 4), weight=_grid(rng, (2, 1, 3, 3)),
                                  stride=1, padding=1, dilation=1, groups=1,
                                  bias=np.zeros(2))),
              ("lif", nir.LIF(tau=np.full((2, 4, 4), 2 * DT), r=np.full((2, 4, 4), 2.0),
                              v_leak=np.zeros((2, 4, 4)), v_threshold=np.full((2, 4, 4), 0.5),
                              v_reset=np.zeros((2, 4, 4)))),
              ("pool", nir.SumPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))),
              ("out", nir.Output(output_type=np.array([2, 2, 2])))]
    path2 = _write(tmp_path, nodes2, "conv2d")
    x2 = (rng.random((6, 3, 1, 4, 4)) < 0.5).astype(np.float32)
    model = archgen.load(path2)
    got2 = model.golden(x2)
    assert got2.shape == (6, 3, 2, 2, 2)  # spike counts per 2x2 window, channels first
    assert set(np.unique(got2)) <= {0, 1, 2, 3, 4}


# -- bad input ---------------------------------------------------------------------------

def test_bad_nir_inputs(tmp_path):
    path, x, _ = _fixture("snn_dense")
    model = archgen.load(path)
    with pytest.raises(ModelError, match="spike trains shaped"):
        model.golden(x[0])
    with pytest.raises(ModelError, match="hold 0 or 1, got 0.5"):
        model.golden(x * 0.5)
    with pytest.raises(ConfigError, match="weight_precision"):
        archgen.load(path, weight_precision="fixed<4,0>")
    with pytest.raises(ConfigError, match="snn.leak shift needs decay"):
        archgen.load(path, snn={"leak": "shift"})
    with pytest.raises(ConfigError, match="snn: unknown key 'tau'"):
        archgen.load(path, snn={"tau": 3})
    bad = tmp_path / "bad.nir"
    bad.write_text("not hdf5")
    with pytest.raises(ModelError, match="bad.nir: not a readable NIR file"):
        archgen.load(bad)


def test_unsupported_nir_node_is_named(tmp_path):
    nodes = [("in", nir.Input(input_type=np.array([4]))),
             ("thr", nir.Threshold(threshold=np.ones(4))),
             ("out", nir.Output(output_type=np.array([4])))]
    path = _write(tmp_path, nodes)
    with pytest.raises(UnsupportedOpError, match="node 'thr' is a NIR Threshold"):
        archgen.load(path)


def test_shift_leak_when_exact(tmp_path):
    """snn_conv's betas are 0.875 and 0.75 (1 - 2**-3, 1 - 2**-2): the leak can be a shift."""
    path, x, y = _fixture("snn_conv")
    model = archgen.load(path, snn={"leak": "shift"})
    assert {n.op.leak for n in model.graph.nodes if n.op.kind() == "lif"} == {"shift"}
    assert (model.golden(x) == y).mean() >= 0.998


def test_cli_golden_on_nir(tmp_path, capsys):
    path, x, y = _fixture("snn_dense")
    np.save(tmp_path / "x.npy", x)
    assert main(["golden", str(path), "-i", str(tmp_path / "x.npy"),
                 "-o", str(tmp_path / "y.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "y.npy"), y)
    assert main(["golden", str(path), "-i", str(tmp_path / "x.npy"), "-o",
                 str(tmp_path / "y2.npy"), "--config", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml" in capsys.readouterr().err
