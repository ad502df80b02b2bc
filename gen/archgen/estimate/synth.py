"""Synthesis with yosys ``synth_xilinx``: every layer module on its own, and the top level
with the layers as black boxes (the stream plumbing between them: FIFOs, forks, width
converters).  The total is the top plus every layer.

Each run is cached by content (the yosys version, the script and every file it reads), so
a design that changes one layer re-synthesizes only that layer.  Runs go in parallel, one
yosys per core, with a progress bar on a terminal.

Reading yosys's Xilinx cell libraries is 3 of the 4.3 s a minimal synth_xilinx takes, so
jobs run in batches: one yosys process reads the libraries once, saves them, and for each
job restores them, reads the job's files and runs synth_xilinx from its ``prepare`` step
(its ``begin`` step is that library read and the ``hierarchy`` call made here).  The
result is the same as one synth_xilinx per job.

Flags (chosen by measurement, see the README's calibration section): ``-flatten`` so a
layer counts its cells once; ``-noiopad -noclkbuf`` because a layer is not a chip (no
IBUF/OBUF/BUFG); everything else at yosys's defaults.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import InternalError, ToolNotFoundError
from .resources import KEYS

FLAGS = ("-flatten", "-noiopad", "-noclkbuf")

# LUTs taken by a LUT-RAM or shift-register primitive (the slices' LUTs used as memory)
_LUTRAM = {"RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM32X1D": 2,
           "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8, "RAM32M": 4, "RAM64M": 4,
           "RAM32M16": 8, "RAM64M8": 8, "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1}
_LATCH = re.compile(r"LD[CP]E?(_1)?|\$_?DLATCH.*|\$dlatch|\$adlatch")


@dataclass(frozen=True)
class Job:
    """One yosys run: ``top`` from ``sources``, with ``blackboxes`` kept as cells."""

    name: str  # the layer name, or "top"
    top: str
    sources: tuple  # Verilog files
    data: tuple = ()  # files the sources read ($readmemh), found next to them
    blackboxes: tuple = ()

    def commands(self, family: str, stat_file: str) -> str:
        """This job's part of a batch script, the libraries saved as ``__libs``."""
        reads = "\n".join(f"read_verilog {Path(f).name}" for f in self.sources)
        boxes = f"\nblackbox {' '.join(self.blackboxes)}" if self.blackboxes else ""
        return (f"design -load __libs\n{reads}{boxes}\nhierarchy -check -top {self.top}\n"
                f"synth_xilinx -family {family} -top {self.top} {' '.join(FLAGS)} -run prepare:\n"
                f"tee -q -o {stat_file} stat -json\n")

    def key(self, family: str, version: str) -> str:
        h = hashlib.sha256(json.dumps([version, self.top, self.commands(family, "-"), _LIBS,
                                       list(self.blackboxes)]).encode())
        for f in (*self.sources, *self.data):
            h.update(Path(f).name.encode() + b"\0" + Path(f).read_bytes() + b"\0")
        return h.hexdigest()[:24]


def yosys_version() -> str:
    exe = shutil.which("yosys")
    if exe is None:
        raise ToolNotFoundError("yosys not found on PATH (Debian: apt-get install yosys; "
                                "archgen's `make setup` installs it when run as root)")
    out = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=60)
    return out.stdout.strip() or "?"


def counts(cells: dict) -> dict:
    """resources.json keys from yosys's cell counts: LUT counts logic LUTs (and INV, a
    LUT1 to the placer; a LUT6_2, both outputs of one LUT6, as hw/rtl/add3.v instantiates
    it, is one) plus the LUTs of LUT-RAM and shift registers; CARRY4 counts carry chain in
    4-bit units (an UltraScale+ CARRY8 is two)."""
    out = dict.fromkeys(KEYS, 0)
    for cell, n in cells.items():
        if re.fullmatch(r"LUT[1-6]|LUT6_2|INV", cell):
            out["LUT"] += n
        elif cell in _LUTRAM:
            out["LUT"] += n * _LUTRAM[cell]
        elif re.fullmatch(r"FD[RSCP]E(_1)?", cell):
            out["FF"] += n
        elif re.fullmatch(r"DSP48E?\d?|DSP48A\d", cell):
            out["DSP"] += n
        elif re.fullmatch(r"RAMB36E\d|FIFO36E\d", cell):
            out["BRAM36"] += n
        elif re.fullmatch(r"RAMB18E\d|FIFO18E\d", cell):
            out["BRAM18"] += n
        elif cell == "CARRY4":
            out["CARRY4"] += n
        elif cell == "CARRY8":
            out["CARRY4"] += 2 * n
    return out


def latches(cells: dict) -> dict:
    return {c: n for c, n in cells.items() if _LATCH.fullmatch(c)}


_LIBS = ("read_verilog -lib -specify +/xilinx/cells_sim.v\n"
         "read_verilog -lib +/xilinx/cells_xtra.v\n"
         "design -save __libs\n")


def _cache_path(job: Job, family: str, version: str, cache: Path | None) -> Path | None:
    return None if cache is None else cache / f"{job.top}-{family}-{job.key(family, version)}.json"


def _cached(path: Path | None):
    if path is None or not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data["cells"] if "cells" in data else data


def run_job(job: Job, family: str, version: str, cache: Path | None) -> dict:
    """Yosys's cell counts of ``job`` (by primitive), from the cache when present."""
    return run_batch([job], family, version, cache)[job.name]


def run_batch(jobs, family: str, version: str, cache: Path | None) -> dict:
    """{job name: yosys cell counts} for ``jobs``: the cached ones from the cache, the others
    in one yosys process (their files must not clash by name)."""
    out, todo = {}, []
    for job in jobs:
        hit = _cached(_cache_path(job, family, version, cache))
        if hit is not None:
            out[job.name] = hit
        else:
            todo.append(job)
    if not todo:
        return out
    with tempfile.TemporaryDirectory(prefix="archgen-yosys-") as tmp:
        seen = {}
        for job in todo:
            for f in (*job.sources, *job.data):
                data = Path(f).read_bytes()
                name = Path(f).name
                if seen.setdefault(name, data) != data:
                    raise InternalError(f"synthesis batch: two different files named {name}")
                (Path(tmp) / name).write_bytes(data)
        script = _LIBS + "".join(job.commands(family, f"stat{i}.json")
                                 for i, job in enumerate(todo))
        (Path(tmp) / "batch.ys").write_text(script)
        log = Path(tmp) / "yosys.log"
        proc = subprocess.run(["yosys", "-q", "-l", str(log), "-s", "batch.ys"], cwd=tmp,
                              capture_output=True, text=True)
        text = log.read_text() if log.is_file() else proc.stderr
        m = re.search(r"CPU: user ([\d.]+)s system ([\d.]+)s", text)
        cpu = (float(m.group(1)) + float(m.group(2))) / len(todo) if m else None
        for i, job in enumerate(todo):
            stat = Path(tmp) / f"stat{i}.json"
            if proc.returncode != 0 or not stat.is_file():
                raise InternalError(f"yosys synth_xilinx of {job.top} failed "
                                    f"(exit {proc.returncode}):\n{text[-1500:]}")
            mods = json.loads(stat.read_text()).get("modules", {})
            mod = mods.get("\\" + job.top) or mods.get(job.top)
            if mod is None:
                raise InternalError(f"yosys statistics of {job.top} have no module {job.top}")
            cells = {k: int(v) for k, v in mod["num_cells_by_type"].items()
                     if k not in job.blackboxes}
            out[job.name] = cells
            path = _cache_path(job, family, version, cache)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                part = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
                # cpu_seconds: the batch's yosys CPU time shared evenly among its jobs
                part.write_text(json.dumps({"cells": cells, "cpu_seconds": cpu}, sort_keys=True))
                os.replace(part, path)
    return out


def project_jobs(rtl: Path, hw) -> list:
    """The jobs of a generated project's rtl/ folder: one per layer, then the top."""
    from ..units import unit_of

    mems = tuple(sorted(rtl.glob("*.mem")))
    jobs = []
    for ly in hw.layers:
        cells = unit_of(ly.node.op).CELLS
        srcs = (rtl / f"{ly.module}.v", *(rtl / c for c in cells))
        missing = [str(s) for s in srcs if not s.is_file()]
        if missing:
            raise ToolNotFoundError(f"{rtl}: {', '.join(missing)} missing; regenerate the project")
        data = tuple(m for m in mems if m.name.startswith(ly.module + "_"))
        jobs.append(Job(ly.name, ly.module, srcs, data))
    layer_mods = tuple(ly.module for ly in hw.layers)
    srcs = [rtl / f"{hw.top}.v", *(rtl / f"{m}.v" for m in layer_mods)]
    srcs += [p for p in sorted(rtl.glob("axis_*.v"))]
    jobs.append(Job("top", hw.top, tuple(srcs), (), layer_mods))
    return jobs


BATCH = 6  # most jobs per yosys process (smaller batches balance the workers better)


def synthesize(jobs, family: str, workers: int | None = None, cache: Path | None = None,
               progress: bool | None = None) -> dict:
    """{job name: yosys cell counts}, running ``workers`` yosys processes at once, each on
    a batch of jobs (cached jobs cost nothing)."""
    version = yosys_version()
    workers = max(1, workers or os.cpu_count() or 1)
    show = sys.stderr.isatty() if progress is None else progress
    results = {}
    for job in jobs:  # the cached ones, read once
        hit = _cached(_cache_path(job, family, version, cache))
        if hit is not None:
            results[job.name] = hit
    todo = [j for j in jobs if j.name not in results]
    size = max(1, min(BATCH, math.ceil(len(todo) / (2 * workers)))) if todo else 1
    batches = [todo[i:i + size] for i in range(0, len(todo), size)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_batch, b, family, version, cache) for b in batches]
        if show and todo:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task(f"yosys synth_xilinx ({len(todo)} of {len(jobs)} modules "
                                    "not cached)", total=len(todo))
                for fut in futures:
                    results.update(fut.result())
                    bar.update(task, completed=sum(1 for j in todo if j.name in results))
        else:
            for fut in futures:
                results.update(fut.result())
    return {job.name: results[job.name] for job in jobs}
