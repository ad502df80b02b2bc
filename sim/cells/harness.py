"""Shared cocotb harness: drive AXI-Stream inputs, collect outputs, check, measure.

A bench is described by a JSON file named in the environment variable ARCHGEN_BENCH:

    {"clock_ns": 10, "seed": 1, "stall": 0.3, "timeout_cycles": 100000,
     "inputs":  {"s_axis": [[beat, ...], ...]},        # frames of beat words, per port
     "outputs": {"m_axis": [[beat, ...], ...]},        # expected frames, per port
     "warmup": 3,                                      # frames first sent without stalls
     "frame_period": 900,  # optional: phase 1 starts an input frame every 900 cycles
     "verify": true,     # optional: false skips phase 2
     "peaks": ["t3_fifo0", ...]}  # optional: FIFO instances whose `peak` is reported

Phase 1 streams ``warmup`` frames (the port's frames, cycled) back to back with no
stalls and measures latency (first input beat to last output beat of the first frame)
and interval (between the ends of consecutive frames).  Phase 2 streams every frame
with random stalls on both sides (probability ``stall`` per cycle).  Every output beat
is compared with the expected one, tlast must mark exactly the last beat of each frame.
A paced phase 1 (FIFO sizing by simulation, gen/archgen/fifo_sizing.py) offers input
frame i at cycle i * ``frame_period`` (its beats back to back, as fast as the design
takes them), as a source running at the design's interval would; the ``peak`` register
of each FIFO in ``peaks`` (built with ARCHGEN_FIFO_PEAK defined, see hw/rtl/axis_fifo.v)
is read at the end of phase 1.

The bench writes ``bench_result.json`` next to the results: the received frames,
the first mismatch (phase, frame, beat) or null, and the cycle figures.  No data may be
lost or duplicated under any stall pattern: a missing beat ends as a timeout mismatch.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotb.utils import get_sim_steps, get_sim_time
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


def load_spec() -> dict:
    path = os.environ.get("ARCHGEN_BENCH", "bench.json")
    return json.loads(Path(path).read_text())


def _pauses(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


def _no_pauses():
    while True:
        yield False


async def run_streams(dut, spec: dict | None = None) -> dict:
    """Run the bench described by ``spec`` (default: ARCHGEN_BENCH) on ``dut``."""
    spec = spec or load_spec()
    period = float(spec.get("clock_ns", 10))
    cocotb.start_soon(Clock(dut.aclk, period, unit="ns").start())
    dut.aresetn.value = 0
    ins = {name: AxiStreamSource(AxiStreamBus.from_prefix(dut, name), dut.aclk, dut.aresetn,
                                 reset_active_level=False, byte_lanes=1)
           for name in spec["inputs"]}
    outs = {name: AxiStreamSink(AxiStreamBus.from_prefix(dut, name), dut.aclk, dut.aresetn,
                                reset_active_level=False, byte_lanes=1)
            for name in spec["outputs"]}
    for s in ins.values():
        s.log.setLevel("WARNING")
    for s in outs.values():
        s.log.setLevel("WARNING")
    await ClockCycles(dut.aclk, 5)
    dut.aresetn.value = 1
    await ClockCycles(dut.aclk, 2)

    rng = random.Random(int(spec.get("seed", 1)))
    stall = float(spec.get("stall", 0.3))
    timeout = int(spec.get("timeout_cycles", 1_000_000))
    warm = int(spec.get("warmup", 3))
    result = {"mismatch": None, "received": {n: [] for n in outs}, "latency_cycles": None,
              "interval_cycles": None, "cycles_total": None}
    progress = Path(os.environ["ARCHGEN_PROGRESS"]) if os.environ.get("ARCHGEN_PROGRESS") else None
    t0 = get_sim_time("step")
    step = get_sim_steps(period, "ns")  # one clock period in simulator steps (frame times)

    async def phase(name, frames_in, frames_out, pause, frame_period=None):
        for s in ins.values():
            s.set_pause_generator(pause())
        for s in outs.values():
            s.set_pause_generator(pause())
        starts = {}

        async def feed(port, frames):
            for i, f in enumerate(frames):
                if frame_period and i:
                    await ClockCycles(dut.aclk, frame_period)
                await ins[port].send(AxiStreamFrame(tdata=list(f)))

        feeders = [cocotb.start_soon(feed(p, fr)) for p, fr in frames_in.items()]
        got = {}
        for port, frames in frames_out.items():
            got[port] = []
            for i, want in enumerate(frames):
                try:
                    fr = await with_timeout(outs[port].recv(), timeout * period, "ns")
                except Exception:  # a cocotb SimTimeoutError: beats lost or the design hangs
                    result["mismatch"] = {"phase": name, "port": port, "frame": i, "beat": None,
                                          "reason": f"no complete output frame within {timeout} "
                                                    "cycles (data lost or design stuck)"}
                    for t in feeders:
                        t.cancel()
                    return got, starts
                data = [int(v) for v in fr.tdata]
                got[port].append((data, fr.sim_time_end))
                if progress is not None and name == "stalls":
                    progress.write_text(f"{i + 1} {len(frames)}\n")
                result["received"][port].append(data)
                if result["mismatch"] is None and data != list(want):
                    k = next((j for j, (a, b) in enumerate(zip(data, want)) if a != b),
                             min(len(data), len(want)))
                    result["mismatch"] = {"phase": name, "port": port, "frame": i, "beat": k,
                                          "reason": f"{len(data)} beats, expected {len(want)}"
                                          if len(data) != len(want) else "value"}
        for port, src in ins.items():
            starts[port] = src
        return got, starts

    # phase 1: measurement, no stalls
    n_frames = len(next(iter(spec["inputs"].values())))
    if warm and n_frames:
        idx = [i % n_frames for i in range(warm)]
        fin = {p: [fr[i] for i in idx] for p, fr in spec["inputs"].items()}
        fout = {p: [fr[i] for i in idx] for p, fr in spec["outputs"].items()}
        first_beat = {}

        async def watch(port):
            bus = ins[port].bus
            while True:
                await RisingEdge(dut.aclk)
                if int(bus.tvalid.value) and int(bus.tready.value):
                    first_beat[port] = get_sim_time("step")
                    return

        watchers = [cocotb.start_soon(watch(p)) for p in ins]
        got, _ = await phase("measure", fin, fout, _no_pauses, spec.get("frame_period"))
        for w in watchers:
            w.cancel()
        if result["mismatch"] is None:
            port = next(iter(spec["outputs"]))
            ends = [t for _, t in got[port]]
            t_first = min(first_beat.values()) if first_beat else t0
            result["latency_cycles"] = int(round((ends[0] - t_first) / step)) + 1
            if len(ends) > 1:
                result["interval_cycles"] = int(round((ends[-1] - ends[-2]) / step))
                # the mean over the measured frames (data-dependent schedules differ per frame)
                result["mean_interval_cycles"] = round((ends[-1] - ends[0]) / step / (len(ends) - 1), 3)
        if result["mismatch"] is None:  # else keep what came out, for the report
            for p in result["received"]:
                result["received"][p] = []
    if spec.get("peaks"):
        result["peaks"] = {name: int(getattr(dut, name).peak.value) for name in spec["peaks"]}
    # phase 2: verification with random stalls on both sides
    if result["mismatch"] is None and spec.get("verify", True):
        t1 = get_sim_time("step")
        await phase("stalls", spec["inputs"], spec["outputs"],
                    (lambda: _pauses(rng, stall)) if stall > 0 else _no_pauses)
        result["cycles_total"] = int(round((get_sim_time("step") - t1) / step))
        # nothing extra may come out
        await ClockCycles(dut.aclk, 20)
        for port, sink in outs.items():
            if result["mismatch"] is None and not sink.empty():
                result["mismatch"] = {"phase": "stalls", "port": port, "frame": len(spec["outputs"][port]),
                                      "beat": 0, "reason": "extra output beats after the last frame"}
    out = Path(os.environ.get("ARCHGEN_RESULT", "bench_result.json"))
    out.write_text(json.dumps(result))
    return result


async def check(dut) -> dict:
    """Run the bench and fail the cocotb test on any mismatch."""
    result = await run_streams(dut)
    assert result["mismatch"] is None, f"mismatch: {result['mismatch']}"
    return result
