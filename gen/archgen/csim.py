"""C simulation of the HLS C++: g++ against Xilinx's open-source ap_types headers.

The headers come from ``$XILINX_HLS/include`` when that is set, else from the ``hls4ml``
wheel (installed from PyPI by the ``hls`` extra; found at run time, never copied into
this repository).  Builds are cached by the hash of their sources and flags.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import ToolNotFoundError

CXXFLAGS = ("-std=c++14", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
            "-Wno-unknown-pragmas")
# Added when the compiler knows them (g++ >= 11).  They are on by default, not part of
# -Wall/-Wextra, and only concern dynamic memory, which the synthesizable C++ never uses
# (tests/test_hls_backend.py enforces it); g++'s pass behind them ("access analysis") is
# quadratic in a function's size and spent ~75% of a build on large weight ROMs' static
# initializers (mlp_w2a2: 68 s -> 17 s).
FAST_FLAGS = ("-Wno-free-nonheap-object", "-Wno-mismatched-new-delete", "-Wno-mismatched-dealloc")


def ap_types_dir() -> Path:
    """The folder holding ap_int.h and hls_stream.h."""
    xilinx = os.environ.get("XILINX_HLS")
    if xilinx:
        inc = Path(xilinx) / "include"
        if (inc / "ap_int.h").is_file():
            return inc
        raise ToolNotFoundError(f"XILINX_HLS={xilinx}: {inc}/ap_int.h not found")
    try:
        import importlib.util

        spec = importlib.util.find_spec("hls4ml")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        inc = Path(spec.origin).parent / "templates" / "vivado" / "ap_types"
        if (inc / "ap_int.h").is_file() and (inc / "hls_stream.h").is_file():
            return inc
    raise ToolNotFoundError("ap_types: set XILINX_HLS to a Vitis HLS installation, or install "
                            "the open-source headers with pip install 'archgen[hls]' (hls4ml)")


def compiler() -> str:
    cxx = os.environ.get("CXX") or "g++"
    if shutil.which(cxx) is None:
        raise ToolNotFoundError(f"{cxx}: C++ compiler not found (Debian: apt-get install g++)")
    return cxx


def available() -> str | None:
    """None when C simulation can run here, else why not (for pytest.skip)."""
    try:
        compiler()
        ap_types_dir()
    except ToolNotFoundError as e:
        return str(e)
    return None


@lru_cache(maxsize=None)
def _accepted(cxx: str, flags: tuple) -> tuple:
    """``flags`` (-Wno-X) if ``cxx`` knows them, else (): it compiles an empty file with their
    positive forms (g++ ignores an unknown -Wno-X, not an unknown -WX) without a diagnostic."""
    probe = [f.replace("-Wno-", "-W", 1) for f in flags]
    try:
        res = subprocess.run([cxx, "-Werror", *probe, "-fsyntax-only", "-x", "c++", "-"],
                             input="", capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return flags if res.returncode == 0 and not res.stderr.strip() else ()


def build(sources, include_dirs=(), flags=CXXFLAGS, name: str = "csim") -> tuple[Path, str]:
    """Compile ``sources`` (the .cpp files; headers found through ``include_dirs``) once;
    returns (executable, compiler warnings)."""
    from .simulate import _lock, cache_root

    cxx = compiler()
    flags = tuple(flags) + _accepted(cxx, FAST_FLAGS)
    incs = [ap_types_dir()] + [Path(d) for d in include_dirs]
    h = hashlib.sha256()
    h.update(" ".join([cxx, *flags, "-isystem"]).encode())
    for d in incs[1:]:
        for f in sorted(Path(d).glob("*.h")):
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    for s in sources:
        h.update(Path(s).name.encode() + b"\0" + Path(s).read_bytes())
    h.update(str(incs[0]).encode())
    key = h.hexdigest()[:24]
    out = cache_root() / "csim" / f"{name}-{key}"
    exe = out / name
    if exe.is_file():
        return exe, (out / "warnings.txt").read_text()
    with _lock(cache_root() / "locks" / f"csim-{key}.lock"):
        if exe.is_file():
            return exe, (out / "warnings.txt").read_text()
        out.mkdir(parents=True, exist_ok=True)
        # the ap_types headers as system headers: their own -Wextra warnings are not ours
        cmd = [cxx, *flags, "-isystem", str(incs[0]), *[f"-I{d}" for d in incs[1:]],
               *map(str, sources), "-o", str(exe) + ".tmp"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise ToolNotFoundError(f"{cxx}: compiling {', '.join(Path(s).name for s in sources)} "
                                    f"failed: {res.stderr.strip()[-1500:]}")
        (out / "warnings.txt").write_text(res.stderr)
        os.replace(str(exe) + ".tmp", exe)
    return exe, res.stderr


# -- C simulation of a generated project ----------------------------------------------------

CSIM_TIMEOUT = 3600  # seconds for one testbench run (C simulation of a large CNN is slow)


@dataclass(frozen=True)
class CsimResult:
    outputs: list  # float model outputs computed from the C simulation's output codes
    report: dict  # what csim.json holds


def project_sources(project_dir: Path) -> tuple[list, list]:
    """(the .cpp files, the include folders) of a project's hls/ folder: the arguments of
    ``build`` for its testbench."""
    from .errors import ConfigError

    hls = Path(project_dir) / "hls"
    tops = sorted((hls / "firmware").glob("*.cpp"))
    tb = hls / "tb" / "tb.cpp"
    if len(tops) != 1 or not tb.is_file():
        raise ConfigError(f"{hls}: expected tb/tb.cpp and one firmware/*.cpp (found "
                          f"{len(tops)}); regenerate the project with --backend hls or all")
    return [tb, tops[0]], [hls / "firmware"]


def estimate_cycles(hw, frames: int) -> dict:
    """Latency, interval and total cycles from the plan's per-layer cycle figures (C
    simulation has no clock).  Interval: the slowest layer (or port) per frame, as in a
    dataflow pipeline; latency: the cycles of the layers on the longest path from the
    input to the output, each plus its pipeline registers (an upper bound: consecutive
    layers overlap)."""

    def cycles(ly) -> int:
        c = ly.hw.get("cycles") or ly.hw.get("cycles_per_frame")
        if not c:  # one beat per cycle
            c = max(t.size // n for t, n in zip(ly.ins, ly.hw["in_lanes"]))
        return int(c)

    interval = max([cycles(ly) for ly in hw.layers] + [hw.input.beats, hw.output.beats])
    done = {}  # stream -> cycles from the first input beat to its last beat
    for ly in hw.layers:  # in topological order
        feeds = [s.tensor for s in hw.streams for k in s.sinks if k.layer == ly.name]
        start = max(done.get(t, 0) for t in feeds)
        done[ly.node.outputs[0]] = start + cycles(ly) + int(ly.hw.get("pipeline_cycles") or 0)
    out = next(s.tensor for s in hw.streams if any(k.layer is None for k in s.sinks))
    latency = done.get(out, interval)
    return {"latency_cycles": latency, "interval_cycles": interval,
            "cycles_total": latency + (frames - 1) * interval}


def csim_project(project_dir, arrays, opened=None) -> CsimResult:
    """C-simulate ``arrays`` (float model inputs) through the project's HLS C++ (g++ and
    the ap_types headers); compare with the golden model; write reports/csim.json.

    ``opened``: the (model, plan, manifest) of ``simulate.open_project`` when the caller
    has it.  Raises VerificationError naming the first differing frame and element."""
    import numpy as np

    from . import spiking
    from .errors import VerificationError
    from .project import json_text, write_atomic
    from .simulate import from_beats, open_project, to_beats

    compiler()
    ap_types_dir()
    project_dir = Path(project_dir)
    model, hw, _ = opened or open_project(project_dir, "hls")
    sources, includes = project_sources(project_dir)
    arrays, steps = spiking.frames_in(hw.graph, arrays, project_dir)
    codes = hw.input_codes(arrays)
    expected = hw.output_codes(codes)
    fin = [to_beats(c, hw.input.lanes, hw.input.bits, hw.input.bipolar) for c in codes]
    fout = [to_beats(c, hw.output.lanes, hw.output.bits, hw.output.bipolar) for c in expected]
    work = project_dir / "hls" / "build" / "archgen-csim"
    work.mkdir(parents=True, exist_ok=True)
    from .backends.hls import frames_text

    (work / "inputs.txt").write_text(frames_text(fin))
    (work / "expected.txt").write_text(frames_text(fout))
    out_file = work / "outputs.txt"
    out_file.unlink(missing_ok=True)
    exe, _ = build(sources, includes, name="tb")
    try:
        res = subprocess.run([str(exe), "inputs.txt", "expected.txt", "outputs.txt"], cwd=work,
                             capture_output=True, text=True, timeout=CSIM_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise VerificationError(f"{project_dir}: C simulation did not finish in "
                                f"{CSIM_TIMEOUT} s") from None
    (work / "csim.log").write_text(res.stdout + res.stderr)
    if res.returncode not in (0, 1) or not out_file.is_file():
        raise VerificationError(f"{project_dir}: C simulation failed (exit {res.returncode}): "
                                f"{(res.stderr or res.stdout).strip()[-500:]} "
                                f"(log: {work / 'csim.log'})")
    lines = out_file.read_text().splitlines()
    n = len(codes)
    shape = expected.shape[1:]
    out_codes = np.zeros_like(expected)
    mismatches, first = 0, None
    for i in range(n):
        got = [int(w, 16) for w in lines[i].split()] if i < len(lines) else []
        if len(got) != hw.output.beats:
            first = first or (i, None, len(got))
            continue
        c = from_beats(got, hw.output.lanes, hw.output.bits, hw.output.signed,
                       hw.output.bipolar).reshape(shape)
        out_codes[i] = c
        bad = np.flatnonzero(c.reshape(-1) != expected[i].reshape(-1))
        mismatches += int(bad.size)
        if bad.size and first is None:
            first = (i, int(bad[0]), None)
    complete = not (first and first[1] is None)
    report = {"frames": n, "mismatches": mismatches if complete else None,
              **estimate_cycles(hw, n), "cycles_source": "estimate", "simulator": "csim",
              "clock_mhz": model.config.clock_mhz}
    report["frames_per_second"] = round(model.config.clock_mhz * 1e6 / report["interval_cycles"], 3)
    report = spiking.report(steps, report)
    reports = project_dir / "reports"
    reports.mkdir(exist_ok=True)
    write_atomic(reports / "csim.json", json_text(report))
    if first is not None:
        frame, elem, beats = first
        if elem is None:
            raise VerificationError(f"{project_dir}: C simulation: frame {frame} has {beats} "
                                    f"output beats, expected {hw.output.beats} "
                                    f"(log: {work / 'csim.log'})")
        idx = np.unravel_index(elem, shape)
        raise VerificationError(
            f"{project_dir}: C simulation differs from the golden model: first at frame "
            f"{frame}, element {elem} (index {tuple(int(v) for v in idx)}): C++ "
            f"{int(out_codes[frame].reshape(-1)[elem])}, golden "
            f"{int(expected[frame].reshape(-1)[elem])}; {mismatches} elements differ in all "
            "(reports/csim.json)")
    if res.returncode != 0:  # the testbench saw what the element comparison did not
        raise VerificationError(f"{project_dir}: C simulation: {res.stdout.strip()[-500:]} "
                                f"(log: {work / 'csim.log'})")
    return CsimResult(spiking.frames_out(hw.outputs(out_codes), steps), report)
