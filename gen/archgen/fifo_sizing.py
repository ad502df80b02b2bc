"""FIFO sizing by simulation: how many beats of FIFO each layer input needs so that no
stage of the dataflow waits more than it must.

The plan's rules (backends/hardware.py) put FIFOs only on forked streams (against
deadlock) and in front of a matrix-vector unit fed by a layer that spreads its output
(one vector).  Everywhere else a producer meets its consumer directly, and a consumer
that takes its input in bursts (a sliding-window generator whose line buffer is full
while its convolution works through the last windows of a frame, a matrix-vector unit
between its first row groups) stalls its producer; the stall travels upstream and the
accelerator runs slower than its slowest layer.

Sizing builds the accelerator once with a FIFO of a whole frame in front of every layer
input, with ``ARCHGEN_FIFO_PEAK`` defined (hw/rtl/axis_fifo.v then keeps its highest
occupancy), and simulates it twice with ``frames`` frames:

1. frames back to back: the interval between the last two is the best the design can
   do (no stage waits for room downstream);
2. a frame offered every that many cycles, its beats as fast as the design takes them:
   a source as fast as the design and no faster (a faster one would pile its backlog
   into the FIFOs in front of the slowest layer).  Each FIFO's highest occupancy here,
   plus ``SLACK``, is its depth; one that never held more than ``MIN_PEAK`` beats is
   left out.

Both runs check every output against the golden model.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from .backends.hardware import emits_windows, plan, sink_key

FRAMES = 4  # frames streamed (the first fills the pipeline; peaks settle after it)
SLACK = 2  # beats over the peak (a beat in flight on each side of the FIFO)
MIN_PEAK = 2  # a FIFO that held at most this many beats is not needed
PROBE_SLACK = 8  # beats over a whole frame in the probe's FIFOs


def probed(hw, stream, sink) -> bool:
    """Whether sizing probes the FIFO in front of ``sink`` of ``stream``: every layer input
    but the bench's ports (a top input that is not forked, the top output) and the window
    streams of window generators.  A window stream is the kernel size times its input,
    and a generator that cannot emit holds its input back, so the FIFO goes in front of
    it; a FIFO after it would only fill with windows made early.  Except a generator
    that receives a whole frame before its first window (``receive_cycles``): only a
    FIFO after it lets it finish a frame early and receive the next one meanwhile."""
    if sink.layer is None or (stream.source is None and len(stream.sinks) == 1):
        return False
    if stream.source is None:
        return True
    src = hw.layer(stream.source)
    return not emits_windows(src) or bool(src.hw.get("receive_cycles"))


def probe_plan(hw):
    """``hw`` with a FIFO of a whole frame (plus slack) in front of every probed layer
    input (``probed``)."""
    streams = []
    for s in hw.streams:
        beats = hw.graph.tensors[s.tensor].size // s.lanes + PROBE_SLACK
        sinks = tuple(dataclasses.replace(k, fifo=max(k.fifo, beats)) if probed(hw, s, k)
                      else k for k in s.sinks)
        streams.append(dataclasses.replace(s, sinks=sinks))
    return dataclasses.replace(hw, streams=tuple(streams))


def size_fifos(model, simulator: str | None = None, frames: int = FRAMES, work=None,
               log=None):
    """(``model`` with its config's ``fifo_depths`` set by simulation, the sizing report).

    ``simulator``: verilator (default when installed) or icarus; ``work``: a folder for
    the probe's files (default: a temporary one, removed after unless sizing fails);
    ``log``: the simulator's output (default: ``work``/sizing.log)."""
    from .backends.verilog import random_codes, rtl_files, top_context, vectors
    from .errors import ToolNotFoundError, VerificationError
    from .estimate.model import estimate
    from .estimate.parts import get_part
    from .resources import resource_dir
    from .simulate import Bench, available, run_streams

    simulator = simulator or ("verilator" if available("verilator") is None else "icarus")
    why = available(simulator)
    if why is not None:
        raise ToolNotFoundError(f"FIFO sizing needs a simulator: {why}")
    hw = plan(model.graph)  # the rules alone: sizing replaces the config's depths
    interval = estimate(hw, get_part(model.config.part)).interval
    probe = probe_plan(hw)
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="archgen-fifos-") if own else work)
    log = log or work / "sizing.log"
    done = False
    try:
        rtl, sim = work / "rtl", work / "sim"
        rtl.mkdir(parents=True, exist_ok=True)
        sim.mkdir(parents=True, exist_ok=True)
        for name, text in rtl_files(probe).items():
            (rtl / name).write_text(text)
        cells = resource_dir("sim")
        shutil.copyfile(cells / "cells" / "harness.py", sim / "harness.py")
        shutil.copyfile(cells / "test_accelerator.py", sim / "test_accelerator.py")
        run_dir = sim / "run"
        run_dir.mkdir(exist_ok=True)
        for mem in rtl.glob("*.mem"):
            shutil.copyfile(mem, run_dir / mem.name)
        sized = {(k.layer, k.index) for s in hw.streams for k in s.sinks if probed(hw, s, k)}
        fifos = [f for f in top_context(probe)["fifos"] if (f["layer"], f["index"]) in sized]
        bench = Bench(tuple(sorted(rtl.glob("*.v"))), probe.top, "test_accelerator", sim,
                      defines=(("ARCHGEN_FIFO_PEAK", 1),))
        spec = vectors(hw, random_codes(hw, frames))

        def run(**extra) -> dict:
            res = run_streams(bench, simulator, run_dir, spec["inputs"], spec["outputs"],
                              warmup=frames, timeout_cycles=20 * interval + 100_000, log=log,
                              extra={"verify": False, **extra})
            if res["mismatch"] is not None:
                m = res["mismatch"]
                raise VerificationError(
                    f"FIFO sizing of {model.path}: the probe design ({simulator}) failed at "
                    f"frame {m.get('frame')}: {m.get('reason')} (log: {log})")
            return res

        best = run()  # back to back
        paced = run(frame_period=best["interval_cycles"] or interval,
                    peaks=[f["instance"] for f in fifos])
        done = True
    finally:
        if own and done:
            shutil.rmtree(work, ignore_errors=True)
    peaks = {sink_key(f["layer"], f["index"]): paced["peaks"][f["instance"]] for f in fifos}
    depths = {k: (p + SLACK if p > MIN_PEAK else 0) for k, p in sorted(peaks.items())}
    report = {"simulator": simulator, "frames": frames, "estimated_interval_cycles": interval,
              "best_interval_cycles": best["interval_cycles"],
              "paced_interval_cycles": paced["interval_cycles"],
              "peaks": dict(sorted(peaks.items())), "depths": depths}
    config = dataclasses.replace(model.config, fifo_depths=depths)
    return dataclasses.replace(model, config=config), report
