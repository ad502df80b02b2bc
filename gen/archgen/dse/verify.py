"""Measuring the final candidates of a search (``archgen dse --verify-best K``).

The search scores every trial with the analytic estimate (a trial costs 0.2 to 1 s; a
yosys run of one design, minutes), so the Pareto front is an analytic one.  After the
search, the K first Pareto points in the order of the choice rule (``output.rank``) and
the baseline are each measured:

- their project is generated into ``DIR/verify/<trial>/`` (``DIR/verify/baseline/``), as
  ``--emit-best`` generates ``DIR/best``;
- it is synthesized with yosys exactly as ``archgen report DIR --synth`` does
  (``estimate.report.report_project``: one yosys run per layer, cached by content);
- it is simulated in RTL on the first ``frames`` inputs of the search's data exactly as
  ``archgen sim`` does (``simulate.simulate_project``), against the golden model of that
  design; a mismatch is recorded as ``"bit_exact": false``.

Each gives a ``measured`` block for pareto.json beside the analytic metrics, with the
estimate's error in percent.  ``measure_project`` is the work of one candidate, run by
the search's executor (in this process, a local pool or Dask workers, which must then
see DIR on a shared filesystem).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path

from ..errors import ArchgenError, ConfigError, ToolNotFoundError, VerificationError
from ..estimate.resources import Cost

FOLDER = "verify"  # DIR/verify/<trial>/
BASELINE = "baseline"
FRAMES = 4  # inputs simulated per design (the first ones of the data)
RESOURCES = ("LUT", "FF", "DSP", "BRAM36", "BRAM18", "CARRY4")
CYCLES = (("interval", "interval_cycles"), ("latency", "latency_cycles"))
# a simulation redirects its process's file descriptors and environment variables: one
# measurement at a time per process (a Dask worker may run several tasks in threads)
_ONE_AT_A_TIME = threading.Lock()


def check_tools(simulator: str, synth: bool) -> None:
    """Raise ToolNotFoundError now (before a search) when a tool the measurement needs is
    missing."""
    from ..simulate import SIMULATORS, check_cocotb, tool_env

    if simulator not in SIMULATORS:
        raise ConfigError(f"--simulator: {simulator!r} is not one of {', '.join(SIMULATORS)}")
    try:
        if synth:
            from ..estimate.synth import yosys_version

            yosys_version()
        check_cocotb()
        tool_env(simulator)
    except ToolNotFoundError as e:
        raise ToolNotFoundError(f"--verify-best: {e}") from None


def check_folder(out_dir: Path) -> None:
    """DIR/verify holds only projects a search wrote (never overwrite a user's files)."""
    from ..project import read_manifest

    root = Path(out_dir) / FOLDER
    if not root.exists():
        return
    if not root.is_dir():
        raise ConfigError(f"{root}: exists and is not a folder; choose another folder")
    for p in sorted(root.iterdir()):
        if p.name.startswith("."):
            continue
        manifest = read_manifest(p) if p.is_dir() else None
        if manifest is None or "dse_trial" not in manifest.get("options", {}):
            raise ConfigError(f"{p}: a search did not write it (no archgen project of a DSE "
                              "trial); move it away or choose another folder")


def label(point) -> str:
    """The folder name of a candidate: its trial number, or 'baseline'."""
    return str(point["trial"])


def measure_project(ctx, project_dir: str, simulator: str, frames: int, synth: bool,
                    jobs: int = 1) -> dict:
    """Simulate and (with ``synth``) synthesize one generated project; what the measured
    block needs: ``{"sim", "synth", "error", "error_class", "bit_exact"}``.  A mismatch or
    a tool failure is returned, not raised, so that the other candidates still run
    (``raise_failures`` raises the first after the outputs are written)."""
    from ..estimate.report import report_project
    from ..simulate import open_project, simulate_project

    project = Path(project_dir)
    if not project.is_dir():
        raise ConfigError(f"{project}: not found where the verification runs (a Dask "
                          "worker needs the DSE folder on a filesystem it shares)")
    out = {"sim": None, "synth": None, "error": None, "error_class": None, "bit_exact": None}
    with _ONE_AT_A_TIME, _no_progress_bars():
        opened = open_project(project, "verilog")
        try:
            simulate_project(project, [ctx.x[:frames]], simulator, opened=opened)
            out["bit_exact"] = True
        except VerificationError as e:
            out["bit_exact"] = False
            out["error"], out["error_class"] = _one_line(e), type(e).__name__
        except ArchgenError as e:
            out["error"], out["error_class"] = _one_line(e), type(e).__name__
        except Exception as e:  # a tool's own failure (cocotb's runner raises RuntimeError)
            out["error"], out["error_class"] = f"{type(e).__name__}: {_one_line(e)}", "InternalError"
        sim_json = project / "reports" / "sim.json"
        if sim_json.is_file() and out["bit_exact"] is not None:
            import json

            out["sim"] = json.loads(sim_json.read_text())
        try:  # the report of the project, with yosys's figures and the simulation's
            data = report_project(project, synth=synth, workers=jobs, progress=False,
                                  opened=opened)
            out["synth"] = data.get("synth")
        except ArchgenError as e:
            if out["error"] is None:
                out["error"], out["error_class"] = _one_line(e), type(e).__name__
    if out["synth"] is not None:
        out["synth"] = {k: out["synth"][k] for k in ("tool", "total")}
    return out


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split()) or type(e).__name__


class _NoTTY:
    """stderr as it is, except that it says it is no terminal: no progress bars from the
    simulator or yosys inside a candidate (the search shows one over the candidates)."""

    def __init__(self, stream):
        self._stream = stream

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def _no_progress_bars():
    saved = sys.stderr
    sys.stderr = _NoTTY(saved)
    try:
        yield
    finally:
        sys.stderr = saved


def _error_percent(estimate: float, measured: float):
    """The estimate's error against the measurement, in percent of the measurement."""
    if measured is None or estimate is None:
        return None
    if measured == 0:
        return 0.0 if estimate == 0 else None
    return round(100.0 * (estimate - measured) / measured, 1)


def measured_block(metrics: dict, result: dict, project: str, simulator: str,
                   frames: int) -> dict:
    """The ``measured`` block of a point (or the baseline) in pareto.json: yosys's totals,
    the simulated cycles, bit-exactness and the analytic estimate's error in percent."""
    block = {"project": project, "simulator": simulator, "frames": frames,
             "bit_exact": result["bit_exact"]}
    source = [simulator]
    errors = {}
    synth = result.get("synth")
    if synth is not None:
        source.insert(0, synth["tool"])
        tot = synth["total"]
        for k in RESOURCES:
            block[k] = tot[k]
            errors[k] = _error_percent(metrics.get(k), tot[k])
        block["BRAM"] = Cost.of(tot).bram36
    sim = result.get("sim")
    if sim is not None:
        block["mismatches"] = sim.get("mismatches")
        for metric, key in CYCLES:
            block[key] = sim.get(key)
            errors[metric] = _error_percent(metrics.get(metric), sim.get(key))
    block["source"] = " + ".join(source)
    block["estimate_error_percent"] = errors
    if result.get("error"):
        block["error"] = result["error"]
    return block


def run_verification(ex, ctx, doc: dict, out_dir: Path, k: int, min_fidelity, simulator: str,
                     synth: bool, frames: int = FRAMES, progress=None) -> tuple:
    """Measure the baseline and the first ``k`` points of ``doc["pareto"]`` in the order
    of the choice rule; write their blocks into ``doc``.  Returns (blocks by label,
    failures: [(label, error class name, message)], interrupted)."""
    from .output import emit, rank

    points, _, _ = rank(doc["pareto"], doc["baseline"]["metrics"], min_fidelity)
    chosen = [{"trial": BASELINE, "design": doc["baseline"]["design"],
               "metrics": doc["baseline"]["metrics"]}] + points[:k]
    root = Path(out_dir) / FOLDER
    dirs = {}
    for point in chosen:  # generated here (fast); measured by the executor (slow)
        name = label(point)
        emit(ctx, point, root / name)
        dirs[name] = root / name
    doc["verify"] = {"k": k, "trials": [p["trial"] for p in chosen[1:]],
                     "simulator": simulator, "frames": min(frames, len(ctx.x)),
                     "synthesis": synth, "folder": FOLDER,
                     "order": "the --emit-best rule: Pareto points with fidelity at least "
                              "the floor by fewest LUT (then DSP, FF); then the others by "
                              "highest fidelity (then fewest LUT)"}
    blocks, failures = {}, []
    pending = {}
    slots = max(1, getattr(ex, "slots", 1))
    queue = list(chosen)
    interrupted = False
    try:
        while queue or pending:
            while queue and len(pending) < slots:
                point = queue.pop(0)
                fut = ex.submit(measure_project, ctx, str(dirs[label(point)].resolve()),
                                simulator, frames, synth, 1)
                pending[fut] = point
            for fut in ex.wait(pending):
                point = pending.pop(fut)
                name = label(point)
                result = fut.result()
                if result["error"]:  # the folder as DIR/verify/<trial>, not absolute
                    result["error"] = result["error"].replace(str(dirs[name].resolve()),
                                                              str(dirs[name]))
                block = measured_block(point["metrics"], result, f"{FOLDER}/{name}",
                                       simulator, doc["verify"]["frames"])
                blocks[name] = block
                if result["error"]:
                    failures.append((name, result["error_class"], result["error"]))
                if progress is not None:
                    progress.advance(progress.task_ids[0])
    except KeyboardInterrupt:
        interrupted = True
    blocks = {label(p): blocks[label(p)] for p in chosen if label(p) in blocks}
    for p in doc["pareto"]:
        if label(p) in blocks:
            p["measured"] = blocks[label(p)]
    if BASELINE in blocks:
        doc["baseline"]["measured"] = blocks[BASELINE]
    return blocks, failures, interrupted


def raise_failures(failures: list, out_dir: Path) -> None:
    """One error for the candidates that failed (a mismatch first: exit 1)."""
    if not failures:
        return
    from .. import errors

    failures = sorted(failures, key=lambda f: f[1] != "VerificationError")
    name, cls, msg = failures[0]
    more = f"; {len(failures) - 1} more failed" if len(failures) > 1 else ""
    what = "the baseline" if name == BASELINE else f"trial {name}"
    exc = getattr(errors, cls, None)
    if not (isinstance(exc, type) and issubclass(exc, ArchgenError)):
        exc = errors.InternalError
    raise exc(f"--verify-best: {what} ({Path(out_dir) / FOLDER / name}): {msg}{more}; "
              f"measured results in {Path(out_dir) / 'pareto.json'}")
