"""What a design is worth: its fidelity on data and its cost from the analytic estimate.

``Context`` holds what every trial needs (the imported model, the data, the reference
outputs); it is plain data, pickled to the workers.  ``measure`` compiles a design
(the pass pipeline), plans its hardware, estimates it (a few ms) and runs the golden
model on the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import ConfigError, ModelError
from ..estimate.resources import KEYS, Cost
from ..ir import Graph

N_RANDOM = 256  # random inputs when no data is given

# every metric a condition, a reduce or an objective may name; True: larger is better
METRICS = {"LUT": False, "FF": False, "DSP": False, "BRAM": False, "BRAM18": False,
           "BRAM36": False, "CARRY4": False, "interval": False, "latency": False,
           "fps": True, "fidelity": True, "accuracy": True, "agreement": True, "error": False}


@dataclass(frozen=True)
class Context:
    path: Path
    config: Config
    base: Graph  # the model as imported with ``config``
    float_model: bool
    x: np.ndarray
    labels: np.ndarray | None
    reference: np.ndarray  # the unchanged model's outputs on x
    data: str  # where x came from

    def design(self):
        from .tasks import Design

        return Design(self.path, self.config, self.base, float_model=self.float_model)


def make_context(model_path, data_path=None, config: Config | None = None) -> Context:
    """Import the model, read (or draw) the data and compute the reference outputs."""
    from .. import golden
    from ..frontend import load_model
    from ..passes import run_pipeline

    path = Path(model_path)
    config = config or Config()
    base = load_model(path, config)
    other = load_model(path, Config(default_precision="fixed<9,4>"))
    float_model = str(other) != str(base)  # the config quantized it
    if data_path is not None:
        x, labels = read_data(Path(data_path), base)
        data = Path(data_path).name
    else:
        rng = np.random.default_rng(0)
        shape = base.tensors[base.inputs[0]].shape
        x, labels = rng.standard_normal((N_RANDOM,) + shape), None
        data = f"{N_RANDOM} random normal inputs"
    ref = golden.run(run_pipeline(base, config), x)[0]
    return Context(path, config, base, float_model, x, labels, ref, data)


def read_data(path: Path, graph: Graph):
    """``x`` (batch first) and the optional labels ``y`` of a .npz file."""
    if not path.is_file():
        raise ConfigError(f"{path}: data file not found")
    try:
        data = np.load(path, allow_pickle=False)
        keys = set(data.files)
    except Exception as e:  # numpy raises several types for a bad file
        raise ConfigError(f"{path}: not a readable .npz file ({type(e).__name__})") from None
    if "x" not in keys:
        raise ConfigError(f"{path}: no array 'x' (arrays: {', '.join(sorted(keys)) or 'none'})")
    x = np.asarray(data["x"], dtype=np.float64)
    want = graph.tensors[graph.inputs[0]].shape
    if x.shape[1:] != want:
        raise ConfigError(f"{path}: x has shape {x.shape}, the model takes (batch, "
                          f"{', '.join(map(str, want))})")
    labels = None
    if "y" in keys:
        labels = np.asarray(data["y"])
        if labels.ndim == 2:  # one-hot
            labels = labels.argmax(axis=1)
        if labels.shape != (x.shape[0],):
            raise ConfigError(f"{path}: y has shape {data['y'].shape}; expected one label (or "
                              f"one-hot row) per sample of x ({x.shape[0]})")
    return x, labels


def _classes(out: np.ndarray) -> np.ndarray | None:
    if out.ndim >= 2 and out.shape[-1] > 1:
        return out.reshape(out.shape[0], -1).argmax(axis=1)
    return None


def fidelity(out: np.ndarray, ctx: Context) -> dict:
    """accuracy (with labels), agreement with the reference (the same top class, or for a
    single output within 1% of the reference's range), relative L1 error; ``fidelity`` is
    the accuracy when there are labels, otherwise the agreement."""
    ref = ctx.reference
    err = float(np.abs(out - ref).mean() / max(float(np.abs(ref).mean()), 1e-12))
    cls, ref_cls = _classes(out), _classes(ref)
    if cls is not None:
        agreement = float((cls == ref_cls).mean())
    else:
        span = max(float(ref.max() - ref.min()), 1e-12)
        agreement = float((np.abs(out - ref) <= 0.01 * span).mean())
    m = {"agreement": agreement, "error": err}
    if ctx.labels is not None and cls is not None:
        m["accuracy"] = float((cls == ctx.labels).mean())
        m["fidelity"] = m["accuracy"]
    else:
        m["fidelity"] = agreement
    return m


def measure(design, ctx: Context) -> dict:
    """Every metric of ``design`` (a tasks.Design)."""
    from .. import golden
    from ..backends.hardware import plan
    from ..estimate.model import estimate
    from ..estimate.parts import get_part
    from ..passes import run_pipeline

    graph = run_pipeline(design.source, design.config)
    est = estimate(plan(graph, design.config.fifo_depths), get_part(design.config.part))
    tot = est.total.rounded()
    out = golden.run(graph, ctx.x)[0]
    if out.shape != ctx.reference.shape:
        raise ModelError(f"design output shape {out.shape} differs from the model's "
                         f"{ctx.reference.shape}")
    m = {k: tot[k] for k in KEYS}
    m["BRAM"] = Cost.of(tot).bram36
    m["interval"] = int(est.interval)
    m["latency"] = int(est.latency)
    m["fps"] = design.config.clock_mhz * 1e6 / max(1, est.interval)
    m.update(fidelity(out, ctx))
    return m
