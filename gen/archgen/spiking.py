"""Spike trains at the API boundary.

Users pass and get spike trains shaped (time, batch, *features), as snnTorch does.  Inside,
every frame is one time step of one sample, sample-major (b0t0, b0t1, ..., b1t0, ...): the
golden model, the simulators and the C testbench all stream those frames, and the neuron
layers (units/lif.py) keep their state across the ``steps`` frames of a sample.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import ModelError
from .ir import Graph
from .units import lif


def is_spiking(graph: Graph) -> bool:
    return any(isinstance(n.op, lif.Params) for n in graph.nodes)


def steps_of(graph: Graph) -> int:
    """The time steps per sample the graph's neuron layers are built for (0: any)."""
    steps = {n.op.steps for n in graph.nodes if isinstance(n.op, lif.Params)}
    return max(steps, default=0)


def with_steps(graph: Graph, steps: int) -> Graph:
    """The graph with every neuron layer resetting its state after ``steps`` frames."""
    nodes = [replace(n, op=replace(n.op, steps=steps)) if isinstance(n.op, lif.Params) else n
             for n in graph.nodes]
    return graph.rebuild(nodes)


def to_frames(x, name: str = "input") -> tuple[np.ndarray, int]:
    """(time, batch, *features) spikes -> ((batch * time, *features) frames, time)."""
    x = np.asarray(x)
    if x.ndim < 3:
        raise ModelError(f"{name}: a spiking model takes spike trains shaped (time, batch, "
                         f"features...), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or not np.all((x == 0) | (x == 1)):
        bad = x[~((x == 0) | (x == 1))].reshape(-1)[:1] if np.issubdtype(x.dtype, np.number) else []
        what = f"{float(bad[0]):g}" if len(bad) else f"dtype {x.dtype}"
        raise ModelError(f"{name}: spike trains hold 0 or 1, got {what}")
    t, b = x.shape[:2]
    return np.swapaxes(x, 0, 1).reshape((b * t,) + x.shape[2:]).astype(np.float64), t


def from_frames(y: np.ndarray, steps: int) -> np.ndarray:
    """(batch * time, *features) -> (time, batch, *features)."""
    y = np.asarray(y)
    return np.swapaxes(y.reshape((y.shape[0] // steps, steps) + y.shape[1:]), 0, 1)


def frames_in(graph: Graph, arrays, where) -> tuple[list, int]:
    """A project's inputs as frames: a spiking model's spike train (time, batch, ...) must
    have the time steps its hardware was built for.  Returns (arrays, steps; 0: not
    spiking, arrays unchanged)."""
    from .errors import ConfigError

    if not is_spiking(graph):
        return list(arrays), 0
    if len(arrays) != 1:
        raise ModelError(f"{where}: a spiking model takes 1 spike train, got {len(arrays)} inputs")
    frames, t = to_frames(arrays[0], graph.inputs[0])
    steps = steps_of(graph)
    if t != steps:
        raise ConfigError(f"{where}: the hardware is built for {steps} time steps per sample "
                          f"(snn.time_steps), the input has {t}")
    return [frames], steps


def frames_out(outputs: list, steps: int) -> list:
    return [from_frames(o, steps) for o in outputs] if steps else outputs


def warmup(steps: int, frames: int = 3) -> int:
    """Frames of a simulator's measuring phase: whole samples for a spiking model (its
    neuron state must start each sample at step 0)."""
    return steps * -(-frames // steps) if steps else frames


def report(steps: int, rep: dict) -> dict:
    """sim.json / csim.json fields of a spiking model: a frame is one time step."""
    if not steps:
        return rep
    out = dict(rep, time_steps=steps, samples=rep["frames"] // steps)
    per_step = rep.get("mean_interval_cycles") or rep.get("interval_cycles")
    if per_step:  # the mean over a sample's steps: event-driven synapses vary per step
        out["cycles_per_step"] = per_step
        out["cycles_per_sample"] = round(per_step * steps, 3)
    return out


def summary(hw, interval: int) -> dict | None:
    """The spiking figures of a hardware plan (resources.json "snn"): neurons, synapses
    (nonzero weights times the positions they are applied at), membrane state memory, and
    cycles per time step (the accelerator's interval: a frame is one step)."""
    if not is_spiking(hw.graph):
        return None
    steps = steps_of(hw.graph)
    rows, syn_total = [], 0
    for ly in hw.layers:
        op = ly.node.op
        if isinstance(op, lif.Params):
            d = ly.hw
            rows.append({"layer": ly.name, "model": op.model, "neurons": d["neurons"],
                         "state_bits": d["state_words"] * d["state_words_bits"],
                         "state_words": d["state_words"], "lanes": op.pe})
        elif hasattr(op, "weight"):
            out = hw.graph.tensors[ly.outs[0].name]
            positions = int(np.prod(out.shape[:-1], dtype=np.int64))
            syn_total += int(np.count_nonzero(op.weight)) * positions
    return {"time_steps": steps, "neurons": sum(r["neurons"] for r in rows),
            "synapses": syn_total, "state_bits": sum(r["state_bits"] for r in rows),
            "cycles_per_step": interval, "cycles_per_sample": interval * steps if steps else None,
            "neuron_layers": rows}
