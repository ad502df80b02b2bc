"""The search: Optuna's multi-objective samplers (NSGA-II, TPE) asking for points of the
flow's space, trials run in the main process, a local process pool or a Dask cluster,
every result told back and kept in the study's SQLite storage (``DIR/study.db``), so
a second run with the same folder resumes and adds trials.  Ctrl-C stops the search,
keeps every finished trial and still writes the outputs.

With ``verify_best`` K, the same executor then measures the K first Pareto points and the
baseline by synthesis and RTL simulation (``verify.py``).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .execute import describe, run_trial
from .flow import Flow, Param, bind, load_flow
from .metrics import make_context, measure
from .verify import check_folder

log = logging.getLogger("archgen.dse")

STUDY = "archgen-dse"
STORAGE = "study.db"
OURS = (STORAGE, "pareto.json", "pareto.html", "best", "verify")  # what a DSE folder holds


@dataclass
class Result:
    out_dir: Path
    complete: int  # finished trials in the study (every run)
    failed: int
    new: int  # trials finished by this run
    interrupted: bool
    pareto: list  # the pareto.json points
    best: dict | None
    measured: dict = field(default_factory=dict)  # --verify-best: the blocks by trial/baseline


def _distribution(free):
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    if free.kind == "choice":
        return CategoricalDistribution(list(free.choices))
    if free.kind == "int":
        return IntDistribution(int(free.low), int(free.high), log=free.log,
                               step=int(free.step or 1))
    return FloatDistribution(float(free.low), float(free.high), log=free.log, step=free.step)


def _gentlest(p: Param):
    """A parameter's least aggressive value: most bits, least pruning, else the first."""
    f = p.free
    if f.kind == "choice":
        return f.choices[0]
    if p.arg.endswith("bits"):
        return f.high
    return f.low


def _seeds(space, most: int = 8) -> list:
    """The least aggressive point, then every bit width lowered together (one point per
    width, nothing else changed): where a front usually starts, for any sampler."""
    if not space:
        return []
    gentle = {p.name: _gentlest(p) for p in space}
    bits = [p for p in space if p.arg.endswith("bits") and p.free.kind == "int"]
    points = [gentle]
    if bits:
        top = max(int(p.free.high) for p in bits)
        low = min(int(p.free.low) for p in bits)
        for v in range(top - 1, low - 1, -1):
            pt = dict(gentle)
            for p in bits:
                pt[p.name] = min(max(v, int(p.free.low)), int(p.free.high))
            if pt not in points:
                points.append(pt)
    return points[:most]


def check_out_dir(out_dir: Path) -> None:
    """A DSE folder is new, empty, or one a previous search wrote (it has the study)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: output path exists and is not a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    if not (out_dir / STORAGE).is_file():
        raise ConfigError(f"{out_dir}: folder is not empty and holds no archgen search "
                          f"({STORAGE}); choose another folder")
    check_folder(out_dir)
    strangers = sorted(p.name for p in out_dir.iterdir() if p.name not in OURS
                       and not p.name.startswith("."))
    if strangers:
        raise ConfigError(f"{out_dir}: holds files a search did not write ({strangers[0]}); "
                          "choose another folder")


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _sampler(flow: Flow, seed: int):
    import optuna

    cons = _constraints(flow) if flow.constraints else None
    if flow.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                          constraints_func=cons)
    return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=cons,
                                         population_size=20)


def _constraints(flow: Flow):
    conds = flow.constraints

    def fn(trial) -> list:
        m = trial.user_attrs.get("metrics")
        if m is None:
            return [1.0] * len(conds)
        return [0.0 if c(m) else 1.0 for c in conds]
    return fn


class _Inline:
    """Trials in this process, one at a time (``--workers 1``)."""

    slots = 1

    def submit(self, fn, *args):
        f = cf.Future()
        try:
            f.set_result(fn(*args))
        except BaseException as e:  # KeyboardInterrupt included: raised by result()
            f.set_exception(e)
        return f

    def wait(self, pending):
        return set(pending)

    def close(self):
        pass


class _Pool:
    """A local process pool."""

    def __init__(self, workers: int, ctx):
        import multiprocessing

        self.slots = workers
        self.ctx = ctx
        self.pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn, *args):
        return self.pool.submit(fn, *args)

    def wait(self, pending):
        return cf.wait(pending, return_when=cf.FIRST_COMPLETED).done

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    """A Dask distributed cluster: the context is scattered to every worker once."""

    def __init__(self, address: str, workers: int | None, ctx):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - a dependency
            raise ConfigError("--scheduler needs the 'distributed' package") from None
        try:
            self.client = Client(address, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise ConfigError(f"--scheduler {address}: cannot connect to a Dask scheduler "
                              f"({type(e).__name__}: {' '.join(str(e).split())})") from None
        nthreads = sum(self.client.nthreads().values()) or 1
        self.slots = workers or nthreads
        self.ctx = self.client.scatter(ctx, broadcast=True)

    def submit(self, fn, ctx, *args):
        return self.client.submit(fn, self.ctx, *args, pure=False)

    def wait(self, pending):
        from distributed import wait

        with self.client.as_current():
            return set(wait(list(pending), return_when="FIRST_COMPLETED").done)

    def close(self):
        self.client.close()


def _progress(enabled: bool | None, total: int, what: str = "dse trials"):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    prog = Progress("[progress.description]{task.description}", BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=False)
    prog.start()
    prog.add_task(what, total=total)
    return prog


def run(model, out_dir, flow=None, data=None, trials: int = 50, workers: int = 1,
        scheduler: str | None = None, emit_best: bool = False,
        min_fidelity: float | None = None, progress: bool | None = None,
        on_trial=None, verify_best: int = 0, simulator: str | None = None,
        synth: bool = True, verify_frames: int | None = None) -> Result:
    """Search the design space of ``model`` along ``flow`` (a YAML file; None: the default
    flow) for ``trials`` more trials; write DIR/pareto.json, DIR/pareto.html and, with
    ``emit_best``, the chosen design's project in DIR/best.  ``on_trial(number, result)``
    is called in this process after each finished trial.

    ``verify_best`` K > 0: then measure the K first Pareto points (in the order of the
    choice rule) and the baseline: projects in DIR/verify/, yosys synthesis (not with
    ``synth=False``) and RTL simulation in ``simulator`` (default: verilator, as
    ``archgen sim``) of ``verify_frames`` inputs; the measured blocks go into pareto.json.
    A design whose simulation differs from its golden model raises VerificationError,
    after the outputs are written."""
    import optuna

    from . import verify
    from .output import write_doc, write_outputs

    out_dir = Path(out_dir)
    if trials is None or trials < 0:
        raise ConfigError(f"--trials: {trials!r} is not a non-negative number of trials")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers: {workers!r} is not a positive number of workers")
    if verify_best is None or isinstance(verify_best, bool) or verify_best < 0:
        raise ConfigError(f"--verify-best: {verify_best!r} is not a non-negative number of "
                          "Pareto points (0: no measurement)")
    frames = verify.FRAMES if verify_frames is None else verify_frames
    if frames < 1:
        raise ConfigError(f"verify_frames: {frames!r} is not a positive number of frames")
    simulator = simulator or "verilator"
    if verify_best:  # before the search, not after it
        verify.check_tools(simulator, synth)
    flow_obj = load_flow(flow)
    model = Path(model)
    if not model.is_file():
        raise ConfigError(f"{model}: model file not found")
    check_out_dir(out_dir)
    ctx = make_context(model, data)
    space = bind(flow_obj, ctx)
    out_dir.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{(out_dir / STORAGE).resolve()}")
    identity = {"model_sha256": _sha(model), "flow": flow_obj.text, "data": ctx.data}
    existing = [s.study_name for s in optuna.study.get_all_study_summaries(storage)]
    if STUDY in existing:
        study = optuna.load_study(study_name=STUDY, storage=storage)
        old = study.user_attrs.get("identity")
        if old != identity:
            what = [k for k in identity if (old or {}).get(k) != identity[k]]
            raise ConfigError(f"{out_dir}: holds a search of another "
                              f"{' and '.join(w.replace('_sha256', '') for w in what)}; "
                              "resume with the same model, flow and data, or choose another folder")
        seed = flow_obj.seed + len(study.trials)
        study = optuna.load_study(study_name=STUDY, storage=storage,
                                  sampler=_sampler(flow_obj, seed))
    else:
        study = optuna.create_study(study_name=STUDY, storage=storage,
                                    directions=flow_obj.directions(),
                                    sampler=_sampler(flow_obj, flow_obj.seed))
        study.set_user_attr("identity", identity)
        base = ctx.design()
        study.set_user_attr("baseline", {"metrics": measure(base, ctx),
                                         "design": describe(base)})
        for point in _seeds(space):  # the high-fidelity end of the front first
            study.enqueue_trial(point)
    dists = {p.name: _distribution(p.free) for p in space}
    if scheduler:
        ex = _Dask(scheduler, workers if workers and workers > 1 else None, ctx)
    elif workers and workers > 1:
        ex = _Pool(workers, ctx)
    else:
        ex = _Inline()
    new = 0
    interrupted = False
    failures = []
    measured = {}
    try:
        prog = _progress(progress, trials)
        pending = {}
        try:
            asked = 0
            while new < trials:
                while asked < trials and len(pending) < ex.slots:
                    trial = study.ask(dists)
                    values = {p.name: trial.params[p.name] for p in space}
                    pending[ex.submit(run_trial, ctx, flow_obj, values)] = trial
                    asked += 1
                for fut in ex.wait(pending):
                    trial = pending.pop(fut)
                    result = fut.result()
                    _tell(study, trial, flow_obj, result)
                    new += 1
                    if prog is not None:
                        prog.advance(prog.task_ids[0])
                    if on_trial is not None:
                        on_trial(trial.number, result)
        except KeyboardInterrupt:
            interrupted = True
            for trial in pending.values():
                trial.set_user_attr("error", "interrupted")
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            pending.clear()
        finally:
            if prog is not None:
                prog.stop()
        out = write_outputs(study, flow_obj, space, ctx, out_dir, emit_best, min_fidelity)
        if verify_best and not interrupted:
            n = 1 + min(verify_best, len(out.doc["pareto"]))
            prog = _progress(progress, n, "dse verify (synthesis, simulation)")
            try:
                measured, failures, interrupted = verify.run_verification(
                    ex, ctx, out.doc, out_dir, verify_best, min_fidelity, simulator, synth,
                    frames, prog)
            finally:
                if prog is not None:
                    prog.stop()
            write_doc(out_dir, out)
    finally:
        if interrupted:
            _close_quietly(ex)
        else:
            ex.close()
    if not interrupted:
        verify.raise_failures(failures, out_dir)
    return Result(out_dir, out.complete, out.failed, new, interrupted, out.doc["pareto"],
                  out.doc["best"], measured)


def _close_quietly(ex) -> None:
    try:
        ex.close()
    except KeyboardInterrupt:  # a second Ctrl-C while the workers stop
        pass


def _tell(study, trial, flow: Flow, result: dict) -> None:
    import optuna

    if "error" in result:
        trial.set_user_attr("error", result["error"])
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        log.info("trial %d failed: %s", trial.number, result["error"])
        return
    for key in ("metrics", "design", "trace"):
        trial.set_user_attr(key, result[key])
    study.tell(trial, [float(result["metrics"][m]) for m in flow.objectives])


__all__ = ["run", "Result", "Param"]
