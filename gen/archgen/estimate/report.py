"""``archgen report DIR [--synth]``: the analytic estimate (always), yosys synthesis per
layer (with --synth), the simulators' cycle figures and Vitis HLS's own estimates when the
folder has them, written to ``DIR/reports/resources.json`` and ``DIR/reports/report.html``."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConfigError, InternalError
from .model import TOP, estimate
from .parts import get_part
from .resources import KEYS


def report_project(project_dir, synth: bool = False, part: str | None = None,
                   workers: int | None = None, progress: bool | None = None,
                   opened=None) -> dict:
    """Write the project's reports; return what resources.json holds."""
    from ..project import json_text, read_manifest, write_atomic
    from ..simulate import cache_root, open_project

    project_dir = Path(project_dir)
    manifest = read_manifest(project_dir) if project_dir.is_dir() else None
    backends = (manifest or {}).get("backends", [])
    backend = "verilog" if "verilog" in backends or not backends else backends[0]
    model, hw, manifest = opened or open_project(project_dir, backend)
    the_part = get_part(part or model.config.part)
    est = estimate(hw, the_part)
    data = {"model": manifest.get("model", {}).get("file", model.path.name), "top": hw.top,
            "clock_mhz": model.config.clock_mhz,
            "part": the_part.device, "part_name": part or model.config.part,
            "family": the_part.family, "capacity": the_part.capacity(),
            "backends": manifest.get("backends", []),
            "estimate": est.to_json()}
    from ..spiking import summary

    snn = summary(hw, est.interval)
    if snn is not None:
        data["snn"] = snn
    samplers = [{"layer": ly.name, "buffer_pixels": ly.hw["buffer_pixels"],
                 "buffer_bits": ly.hw["buffer_bits"], "taps_per_cycle": ly.hw["taps_per_cycle"],
                 "cycles_per_frame": ly.hw["cycles"]}
                for ly in hw.layers if ly.node.op.kind() == "dswg"]
    if samplers:  # deformable convolutions: the sampler's buffer and throughput
        data["deform"] = {"samplers": samplers, "cycles_per_frame": est.interval}
    if synth:
        if "verilog" not in data["backends"]:
            raise ConfigError(f"{project_dir}: --synth synthesizes the Verilog of the project, "
                              "which was generated without it; regenerate with --backend verilog "
                              "or all (an HLS design is synthesized by Vitis HLS: csynth)")
        data["synth"] = synthesize_project(project_dir, hw, the_part, workers, progress,
                                           cache_root() / "synth")
    for name in ("sim", "csim"):
        f = project_dir / "reports" / f"{name}.json"
        if f.is_file():
            try:
                data[name] = json.loads(f.read_text())
            except ValueError:
                raise ConfigError(f"{f}: not valid JSON; delete it or rerun `archgen {name}`") from None
    hls = find_csynth(project_dir)
    if hls is not None:
        from .vitis import read_csynth

        data["vitis_hls"] = read_csynth(hls)
    reports = project_dir / "reports"
    reports.mkdir(exist_ok=True)
    write_atomic(reports / "resources.json", json_text(data))
    from .html import render_report

    write_atomic(reports / "report.html", render_report(data))
    return data


def synthesize_project(project_dir: Path, hw, part, workers, progress, cache) -> dict:
    """The synth section of resources.json: every layer and the top's plumbing."""
    from .synth import FLAGS, counts, latches, project_jobs, synthesize, yosys_version

    jobs = project_jobs(project_dir / "rtl", hw)
    cells = synthesize(jobs, part.family, workers, cache, progress)
    layers = {name: counts(c) for name, c in cells.items()}
    total = {k: sum(v[k] for v in layers.values()) for k in KEYS}
    bad = {name: latches(c) for name, c in cells.items() if latches(c)}
    if bad:
        raise InternalError(f"{project_dir}: yosys inferred latches in {bad}; archgen's RTL "
                            "must have none (please report)")
    layers = {name: layers[name] for name in [ly.name for ly in hw.layers] + [TOP]}
    return {"tool": f"{yosys_version()} synth_xilinx -family {part.family} {' '.join(FLAGS)}",
            "total": total, "layers": layers, "cells": {n: cells[n] for n in layers}}


def find_csynth(project_dir: Path) -> Path | None:
    """Vitis HLS's top-level synthesis report, when the HLS project was synthesized."""
    hits = sorted((project_dir / "hls").glob("*/solution*/syn/report/csynth.xml")) \
        if (project_dir / "hls").is_dir() else []
    return hits[0] if hits else None
