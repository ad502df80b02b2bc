"""NIR importer: a spiking network graph (.nir, read with the ``nir`` package) -> IR Graph.

Supported nodes: Input, Output, Affine, Linear, Scale, Conv1d, Conv2d, SumPool2d, AvgPool2d,
Flatten, and the neurons LIF, IF, LI, CubaLIF.  Each synapse (Affine/Linear/Conv, with any
Scale and average-pooling factor in front or behind folded into it) becomes a Dense or Conv
on integer codes; the neuron it feeds becomes a ``units.lif`` layer.

Discretization (forward Euler with ``snn.dt``), per NIR's equations:

    LIF  tau dv/dt = (v_leak - v) + r I      ->  v = beta v + g I + (dt/tau) v_leak
    LI   (the same, without spikes)               beta = 1 - dt/tau, g = dt r / tau
    IF   dv/dt = r I                          ->  v = v + g I,        g = dt r
    CubaLIF  tau_syn di/dt = -i + w_in I      ->  i = alpha i + (dt w_in / tau_syn) I
             tau_mem dv/dt = (v_leak - v) + r i   v = beta v + (dt r / tau_mem) i

CubaLIF's current is kept pre-scaled by dt r / tau_mem (a linear change of variable), so
both gains fold into the synapse weights.  snnTorch exports Leaky with r = tau/dt and
v_leak = 0, so g = 1 and v = beta v + I: its own update.  A spike is v > v_threshold,
then the reset (``snn.reset``: to NIR's v_reset, by subtraction, or none) in the same step
(snnTorch's ``reset_delay=False``).

Integers (``snn.membrane`` = fixed<W,I>, membrane LSB 2**-F; weights per
``weight_precision``): weights g*W (times any pooling or Scale factor) rounded to the
weight format, an error if one does not fit; the bias g*b + (dt/tau) v_leak rounded to
the membrane LSB; the threshold floor(v_threshold * 2**F), which keeps "v > threshold"
exact for every membrane code; beta rounded to ``snn.decay_bits`` fraction bits (or, with
``snn.leak: shift``, beta must be 1 - 2**-k exactly).  The graph input is a spike frame per
time step: values 0 or 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import ConfigError, ModelError, UnsupportedOpError
from ..ir import Graph, Node, Tensor, ops
from ..ir.graph import sanitize
from ..ir.types import QuantSpec
from ..units import lif

SYNAPSES = ("Affine", "Linear", "Conv1d", "Conv2d", "Scale")
NEURONS = ("LIF", "IF", "LI", "CubaLIF")
SUPPORTED = ("Input", "Output", *SYNAPSES, *NEURONS, "SumPool2d", "AvgPool2d", "Flatten")


@dataclass
class _Synapse:
    """A synapse waiting for its neuron: float weight (Dense (N, K) or Conv (O, I/g, *k)),
    bias, conv geometry, and the input tensor it reads."""

    name: str
    kind: str  # "dense" | "conv"
    weight: np.ndarray
    bias: np.ndarray | None
    source: str  # input tensor
    conv: dict | None = None


class _Builder:
    def __init__(self, path: Path, config: Config):
        self.path, self.config, self.snn = path, config, config.snn
        self.nodes, self.tensors = [], {}
        self.taken = set()
        self.factor = {}  # tensor -> real value of one code (pooling averages), default 1

    def fresh(self, hint: str) -> str:
        name = sanitize(hint, self.taken)
        self.taken.add(name)
        return name

    def add(self, name, op, inputs) -> str:
        out = self.fresh(name + "_out")
        ins = [self.tensors[i] for i in inputs]
        (shape, quant), = op.infer(ins)
        self.tensors[out] = Tensor(out, tuple(shape), quant)
        self.nodes.append(Node(self.fresh(name), op, tuple(inputs), (out,)))
        return out

    def where(self, key: str) -> str:
        return f"{self.path}: node {key!r}"


def load_nir(path: Path, config: Config) -> Graph:
    import nir

    try:
        g = nir.read(str(path))
    except Exception as e:  # h5py/nir raise many kinds of errors on a bad file
        raise ModelError(f"{path}: not a readable NIR file ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else 'unreadable'})") from None
    return _build(g, Path(path), config)


def _order(g, path: Path) -> list:
    """The node keys in dataflow order; every node but Input has exactly one input."""
    preds = {k: [] for k in g.nodes}
    succs = {k: [] for k in g.nodes}
    for a, b in g.edges:
        if a not in g.nodes or b not in g.nodes:
            raise ModelError(f"{path}: edge {a!r} -> {b!r} names a node that does not exist")
        preds[b].append(a)
        succs[a].append(b)
    for k, node in g.nodes.items():
        kind = type(node).__name__
        if kind not in SUPPORTED:
            raise UnsupportedOpError(f"{path}: node {k!r} is a NIR {kind}, not supported "
                                     f"(supported: {', '.join(SUPPORTED)})")
        if kind != "Input" and len(preds[k]) != 1:
            raise UnsupportedOpError(f"{path}: node {k!r} ({kind}) has {len(preds[k])} inputs; "
                                     "only chains and trees of single-input nodes are supported")
    inputs = [k for k, n in g.nodes.items() if type(n).__name__ == "Input"]
    outputs = [k for k, n in g.nodes.items() if type(n).__name__ == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise UnsupportedOpError(f"{path}: {len(inputs)} Input and {len(outputs)} Output nodes; "
                                 "one of each is supported")
    order, seen, todo = [], set(), list(inputs)
    while todo:
        k = todo.pop(0)
        if k in seen:
            raise UnsupportedOpError(f"{path}: node {k!r} is on a cycle (recurrent connections "
                                     "are not supported)")
        seen.add(k)
        order.append(k)
        todo.extend(succs[k])
    missing = [k for k in g.nodes if k not in seen]
    if missing:
        raise ModelError(f"{path}: node {missing[0]!r} is not reachable from the input")
    return order, preds


def _shape(t, key, path) -> tuple:
    arr = t.get("input") if isinstance(t, dict) else t
    if isinstance(t, dict) and arr is None and t:
        arr = next(iter(t.values()))
    if arr is None:
        raise ModelError(f"{path}: node {key!r} has no input type (shape)")
    return tuple(int(d) for d in np.asarray(arr).reshape(-1))


def _build(g, path: Path, config: Config) -> Graph:
    order, preds = _order(g, path)
    b = _Builder(path, config)
    where = {}  # NIR node key -> IR tensor (or a pending synapse)
    graph_in = graph_out = None
    for key in order:
        node = g.nodes[key]
        kind = type(node).__name__
        src = where.get(preds[key][0]) if preds[key] else None
        if kind == "Input":
            shape = _shape(node.input_type, key, path)
            graph_in = b.fresh(key)
            b.tensors[graph_in] = Tensor(graph_in, shape, None)
            spikes = ops.Quantize(QuantSpec(bits=1, signed=False, scale=(1.0,)))
            where[key] = b.add(f"{key}_spikes", spikes, [graph_in])
        elif kind in ("Affine", "Linear"):
            x = _tensor(b, src, key, kind)
            w = np.asarray(node.weight, dtype=np.float64)
            if w.ndim != 2 or w.shape[1] != b.tensors[x].size or len(b.tensors[x].shape) != 1:
                raise ModelError(f"{b.where(key)}: {kind} weight {w.shape} does not fit its "
                                 f"input {b.tensors[x].shape} (flatten spatial inputs first)")
            bias = np.asarray(node.bias, np.float64).reshape(-1) if kind == "Affine" else None
            where[key] = _Synapse(key, "dense", w * b.factor.get(x, 1.0), bias, x)
        elif kind in ("Conv1d", "Conv2d"):
            x = _tensor(b, src, key, kind)
            where[key] = _conv_synapse(b, node, key, kind, x)
        elif kind == "Scale":
            s = np.asarray(node.scale, np.float64).reshape(-1)
            if isinstance(src, _Synapse):  # a scale behind a synapse scales its rows
                where[key] = _scaled(src, s, b.where(key))
            else:
                x = _tensor(b, src, key, kind)
                if len(b.tensors[x].shape) != 1:
                    raise UnsupportedOpError(f"{b.where(key)}: a Scale of a spatial tensor not "
                                             "behind a convolution is not supported")
                n = b.tensors[x].size
                diag = np.diag(np.broadcast_to(s, (n,)) * b.factor.get(x, 1.0))
                where[key] = _Synapse(key, "dense", diag, None, x)
        elif kind in NEURONS:
            if isinstance(src, _Synapse):
                syn = src
            else:  # a neuron straight on spikes: an identity synapse
                x = _tensor(b, src, key, kind)
                if len(b.tensors[x].shape) != 1:
                    raise UnsupportedOpError(f"{b.where(key)}: a {kind} without a synapse in "
                                             "front of it must read a flat tensor")
                n = b.tensors[x].size
                syn = _Synapse(key, "dense", np.eye(n) * b.factor.get(x, 1.0), None, x)
            where[key] = _neuron(b, node, key, kind, syn)
        elif kind in ("SumPool2d", "AvgPool2d"):
            x = _tensor(b, src, key, kind)
            k = _pair(node.kernel_size)
            s = _pair(node.stride)
            p = _pair(node.padding)
            pool = ops.Pool("sum", k, s, (p[0], p[1], p[0], p[1]))
            out = b.add(key, pool, [x])
            b.factor[out] = b.factor.get(x, 1.0) / (k[0] * k[1] if kind == "AvgPool2d" else 1)
            where[key] = out
        elif kind == "Flatten":
            x = _tensor(b, src, key, kind)
            t = b.tensors[x]
            start, end = int(node.start_dim), int(node.end_dim)
            nd = len(t.shape)
            start, end = start % nd, end % nd
            shape = t.shape[:start] + (int(np.prod(t.shape[start:end + 1])),) + t.shape[end + 1:]
            out = b.add(key, ops.Reshape(shape), [x])
            b.factor[out] = b.factor.get(x, 1.0)
            where[key] = out
        elif kind == "Output":
            x = _tensor(b, src, key, kind)
            if b.factor.get(x, 1.0) != 1.0:
                raise UnsupportedOpError(f"{b.where(key)}: an average pooling straight into the "
                                         "output is not supported (use SumPool2d)")
            graph_out = x
    name = sanitize(path.stem) or "nir"
    return Graph(name, tuple(b.nodes), b.tensors, (graph_in,), (graph_out,))


def _tensor(b: _Builder, src, key, kind) -> str:
    if isinstance(src, _Synapse):
        raise UnsupportedOpError(f"{b.where(key)}: {kind} reads synapse {src.name!r} directly; "
                                 "a synapse must feed a neuron (LIF, IF, LI, CubaLIF) or a Scale")
    return src


def _pair(v) -> tuple:
    a = np.asarray(v).reshape(-1)
    return (int(a[0]), int(a[0])) if a.size == 1 else (int(a[0]), int(a[1]))


def _scaled(syn: _Synapse, s: np.ndarray, where: str) -> _Synapse:
    rows = syn.weight.shape[0]
    if s.size not in (1, rows):
        raise ModelError(f"{where}: Scale of {s.size} values behind a synapse of {rows} outputs")
    shape = (-1,) + (1,) * (syn.weight.ndim - 1)
    bias = None if syn.bias is None else syn.bias * np.broadcast_to(s, (rows,))
    return _Synapse(syn.name, syn.kind, syn.weight * s.reshape(shape), bias, syn.source, syn.conv)


def _conv_synapse(b: _Builder, node, key, kind, x) -> _Synapse:
    t = b.tensors[x]
    nd = 1 if kind == "Conv1d" else 2
    w = np.asarray(node.weight, np.float64)
    if w.ndim != nd + 2 or len(t.shape) != nd + 1:
        raise ModelError(f"{b.where(key)}: {kind} weight {w.shape} on input {t.shape}")
    def tup(v):
        a = np.asarray(v).reshape(-1)
        return tuple(int(a[0]) for _ in range(nd)) if a.size == 1 else tuple(int(i) for i in a)
    stride, dil = tup(node.stride), tup(node.dilation)
    k = w.shape[2:]
    if isinstance(node.padding, str):
        if node.padding == "valid":
            pad = (0,) * nd
        elif node.padding == "same":
            pad = tuple(d * (kk - 1) // 2 for d, kk in zip(dil, k))
        else:
            raise ModelError(f"{b.where(key)}: padding {node.padding!r} (valid, same or numbers)")
    else:
        pad = tup(node.padding)
    bias = np.asarray(node.bias, np.float64).reshape(-1) if node.bias is not None else None
    if bias is not None and not np.any(bias):
        bias = None
    conv = {"strides": stride, "pads": pad + pad, "dilations": dil, "group": int(node.groups)}
    return _Synapse(key, "conv", w * b.factor.get(x, 1.0), bias, x, conv)


def _param(node, name, default=None) -> np.ndarray:
    v = getattr(node, name, None)
    return np.asarray(default if v is None else v, dtype=np.float64)


def _per_output(arr: np.ndarray, syn: _Synapse, what: str, where: str) -> np.ndarray:
    """A neuron parameter (scalar, per neuron or per channel) as the factor of each synapse
    output row (dense: (N,), conv: (O,)); a per-position conv factor is an error."""
    rows = syn.weight.shape[0]
    a = np.asarray(arr, np.float64)
    if a.size == 1:
        return np.full(rows, float(a.reshape(-1)[0]))
    if syn.kind == "dense":
        if a.size != rows:
            raise ModelError(f"{where}: {what} has {a.size} values for {rows} neurons")
        return a.reshape(-1)
    flat = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    if flat.shape[0] != rows or not np.all(flat == flat[:, :1]):
        raise UnsupportedOpError(f"{where}: {what} varies within a channel of a convolution "
                                 "(its gain must be per channel to fold into the weights)")
    return flat[:, 0]


def _neuron(b: _Builder, node, key, kind, syn: _Synapse) -> str:
    snn, where = b.snn, b.where(key)
    dt = float(snn.dt)
    state = snn.state
    frac = -int(round(math.log2(state.scale[0])))
    if kind == "IF":
        r = _param(node, "r", 1.0)
        gain, beta, leak_bias = dt * r, None, 0.0
    elif kind in ("LIF", "LI"):
        tau, r, vl = _param(node, "tau"), _param(node, "r", 1.0), _param(node, "v_leak", 0.0)
        gain, beta, leak_bias = dt * r / tau, 1.0 - dt / tau, dt / tau * vl
    else:  # CubaLIF
        ts, tm = _param(node, "tau_syn"), _param(node, "tau_mem")
        r, w_in, vl = _param(node, "r", 1.0), _param(node, "w_in", 1.0), _param(node, "v_leak", 0.0)
        if np.any(vl != 0):
            raise UnsupportedOpError(f"{where}: CubaLIF with a nonzero v_leak is not supported")
        gain, beta, leak_bias = (dt * w_in / ts) * (dt * r / tm), 1.0 - dt / tm, 0.0
        alpha = 1.0 - dt / ts
    g = _per_output(gain, syn, "the input gain", where)
    w = syn.weight * g.reshape((-1,) + (1,) * (syn.weight.ndim - 1))
    layer = sanitize(syn.name)
    wspec = b.config.weight_precision_for(layer)
    wcodes = _quantize(w, wspec, f"{where}: weights of {syn.name!r}", "weight_precision")
    if syn.kind == "dense":
        op = ops.Dense(wcodes, wspec)
    else:
        op = ops.Conv(wcodes, wspec, **syn.conv)
    cur = b.add(layer if syn.name != key else f"{layer}_syn", op, [syn.source])
    t = b.tensors[cur]
    shape = (-1,) + (1,) * (len(t.shape) - 1)  # per output row, broadcast over positions
    bias = 0.0 if syn.bias is None else (syn.bias * g).reshape(shape)
    bias = bias + _neuron_shaped(leak_bias, t.shape, where, "v_leak")
    bias_codes = _quantize(np.asarray(bias, np.float64), state, f"{where}: bias", "snn.membrane")
    decay, decay_syn, leak = _decays(snn, beta, t.shape, where)
    if kind == "CubaLIF":
        decay_syn, _, _ = _decays(snn, alpha, t.shape, where)
    thr = np.zeros(1)
    reset_value = np.zeros(1, np.int64)
    if kind != "LI":
        thr_real = _neuron_shaped(_param(node, "v_threshold"), t.shape, where, "v_threshold")
        thr = np.floor(thr_real * 2.0 ** frac)
        if thr.max() > state.hi or thr.min() < state.lo - 1:
            raise ConfigError(f"{where}: v_threshold {float(thr_real.max()):g} does not fit "
                              f"snn.membrane {snn.membrane}")
        vr = _neuron_shaped(_param(node, "v_reset", 0.0), t.shape, where, "v_reset")
        reset_value = _quantize(vr, state, f"{where}: v_reset", "snn.membrane")
    model = {"LIF": "lif", "IF": "if", "LI": "li", "CubaLIF": "cuba"}[kind]
    in_shift = frac + int(round(math.log2(wspec.scale[0])))  # acc LSB 2**-Fw -> 2**-F
    p = lif.Params(model, state, decay=decay, bias=bias_codes, threshold=thr.astype(np.int64),
                   reset_value=reset_value, decay_syn=decay_syn if kind == "CubaLIF" else None,
                   leak=leak, decay_bits=snn.decay_bits, reset=snn.reset if kind != "LI" else "none",
                   in_shift=in_shift, steps=snn.time_steps or 0)
    return b.add(key, p, [cur])


def _neuron_shaped(v, shape, where, what) -> np.ndarray:
    """A neuron parameter as an array broadcasting over the channels-first ``shape``."""
    a = np.asarray(v, np.float64)
    if a.size == 1:
        return a.reshape(1)
    if a.shape == tuple(shape):
        return a
    if a.ndim == 1 and a.size == shape[0]:
        return a.reshape((-1,) + (1,) * (len(shape) - 1))
    try:
        np.broadcast_to(a, shape)
    except ValueError:
        raise ModelError(f"{where}: {what} of shape {a.shape} does not fit the layer's "
                         f"{tuple(shape)} neurons") from None
    return a


def _decays(snn, beta, shape, where):
    """(decay codes, None, leak mode) of a decay factor beta (None: no leak)."""
    if beta is None:
        return np.zeros(1, np.int64), None, "none"
    beta = _neuron_shaped(beta, shape, where, "tau")
    if np.any(beta < 0) or np.any(beta > 1):
        raise ModelError(f"{where}: tau below snn.dt={snn.dt:g} (decay {float(beta.min()):g}): "
                         "forward Euler needs tau >= dt")
    if snn.leak == "shift":
        with np.errstate(divide="ignore"):
            k = -np.log2(1.0 - beta)
        if not np.all(np.isfinite(k)) or np.any(np.abs(k - np.round(k)) > 1e-5):  # float32 taus
            raise ConfigError(f"{where}: snn.leak shift needs decay 1 - 2**-k, got "
                              f"{float(beta.reshape(-1)[0]):.6g} (use leak: multiply)")
        return np.round(k).astype(np.int64), None, "shift"
    return np.round(beta * 2.0 ** snn.decay_bits).astype(np.int64), None, "multiply"


def _quantize(v: np.ndarray, spec: QuantSpec, what: str, option: str) -> np.ndarray:
    codes = np.round(np.asarray(v, np.float64) / spec.scale[0])
    if codes.size and (codes.max() > spec.hi or codes.min() < spec.lo):
        worst = float(np.abs(np.asarray(v)).max())
        raise ConfigError(f"{what}: values up to {worst:g} do not fit {option} "
                          f"({spec}: {spec.lo * spec.scale[0]:g}..{spec.hi * spec.scale[0]:g})")
    return codes.astype(np.int64)
